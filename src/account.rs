//! The run user and group. Jobs run as this account, so it may never be root: a name that is
//! not a plain POSIX name, that does not exist, or that resolves to uid or gid 0 is refused.

use crate::sanitize::Quoted;
use nix::unistd::{Group, User};
use serde::Serialize;

/// The account every job of an app runs as, resolved on this system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunAs {
    pub user: String,
    pub group: String,
    #[serde(skip)]
    pub uid: u32,
    #[serde(skip)]
    pub gid: u32,
}

/// Checks the form of a user or group name: `^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`.
fn check_name(text: &str, what: &str) -> Result<(), String> {
    let mut chars = text.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || text.len() > 32 {
        return Err(format!(
            "{what} {} is not a valid user or group name",
            Quoted(text)
        ));
    }
    if text == "root" {
        return Err(format!("{what} may not be root: jobs must not run as root"));
    }
    Ok(())
}

impl RunAs {
    /// A run user that is not looked up: `pxrun` with uid and gid 1000, for rendering without
    /// a user database (property tests, fuzzing). Still refuses root by name.
    pub fn unresolved(user: &str, group: &str) -> Result<Self, String> {
        check_name(user, "run_user")?;
        check_name(group, "run_group")?;
        Ok(Self {
            user: user.to_owned(),
            group: group.to_owned(),
            uid: 1000,
            gid: 1000,
        })
    }

    /// Resolves `user` and `group` and refuses either one if it is root.
    pub fn resolve(user: &str, group: &str) -> Result<Self, String> {
        check_name(user, "run_user")?;
        check_name(group, "run_group")?;
        let found_user = User::from_name(user)
            .map_err(|e| format!("cannot look up run_user {}: {e}", Quoted(user)))?
            .ok_or_else(|| format!("run_user {} does not exist on this system", Quoted(user)))?;
        let found_group = Group::from_name(group)
            .map_err(|e| format!("cannot look up run_group {}: {e}", Quoted(group)))?
            .ok_or_else(|| format!("run_group {} does not exist on this system", Quoted(group)))?;
        if found_user.uid.is_root() {
            return Err(format!(
                "run_user {} has uid 0: jobs must not run as root",
                Quoted(user)
            ));
        }
        if found_group.gid.as_raw() == 0 {
            return Err(format!(
                "run_group {} has gid 0: jobs must not run as root",
                Quoted(group)
            ));
        }
        Ok(Self {
            user: user.to_owned(),
            group: group.to_owned(),
            uid: found_user.uid.as_raw(),
            gid: found_group.gid.as_raw(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_root_by_name_and_malformed_names() {
        assert!(RunAs::resolve("root", "daemon")
            .unwrap_err()
            .contains("may not be root"));
        assert!(RunAs::resolve("daemon", "root")
            .unwrap_err()
            .contains("may not be root"));
        assert!(RunAs::resolve("a b", "daemon")
            .unwrap_err()
            .contains("not a valid"));
        assert!(RunAs::resolve("-x", "daemon").is_err());
    }

    #[test]
    fn refuses_unknown_accounts() {
        assert!(RunAs::resolve("no_such_user_x1", "daemon")
            .unwrap_err()
            .contains("does not exist"));
    }
}
