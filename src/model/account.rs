//! The run user and group. Jobs run as this account, so it may never be root: a name that is
//! not a plain POSIX name, that does not exist, or that resolves to uid or gid 0 is refused.

use crate::install::disk::accounts;
use crate::sanitize::Quoted;
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
    /// The run user's home directory (`HOME` in every job's env).
    #[serde(skip)]
    pub home: String,
}

/// Which of the two accounts a problem is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    User,
    Group,
}

/// Why an account cannot be used, and which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountError {
    pub account: Account,
    pub message: String,
}

/// An account as the system's database has it: its id, or `None` when there is no such name.
pub type Lookup = fn(Account, &str) -> Result<Option<u32>, String>;

/// Checks the form of a user or group name: `^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`.
pub(crate) fn check_name(text: &str, account: Account) -> Result<(), AccountError> {
    let what = key(account);
    let fail = |message: String| AccountError { account, message };
    let mut chars = text.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || text.len() > 32 {
        return Err(fail(format!(
            "{what} {} is not a valid user or group name",
            Quoted(text)
        )));
    }
    if text == "root" {
        return Err(fail(format!(
            "{what} may not be root: jobs must not run as root"
        )));
    }
    Ok(())
}

fn key(account: Account) -> &'static str {
    match account {
        Account::User => "run_user",
        Account::Group => "run_group",
    }
}

/// An account as the system's database has it: its id and, for a user, its home directory.
struct Entry {
    id: u32,
    home: Option<String>,
}

/// The system's user and group database: one lookup per name, which gives a user's uid and
/// home together.
fn system_entry(account: Account, name: &str) -> Result<Option<Entry>, String> {
    match account {
        Account::User => accounts::user_by_name(name).map(|u| {
            u.map(|u| Entry {
                id: u.uid,
                home: u.home.to_str().map(str::to_owned),
            })
        }),
        Account::Group => {
            accounts::group_by_name(name).map(|gid| gid.map(|id| Entry { id, home: None }))
        }
    }
}

impl RunAs {
    /// Checks the form of an account name (a manager's, say) without looking it up.
    pub fn check_name(name: &str, account: Account) -> Result<(), AccountError> {
        check_name(name, account)
    }

    /// A run user that is not looked up: uid and gid 1000, for rendering without a user
    /// database (property tests, fuzzing). Still refuses root by name.
    pub fn unresolved(user: &str, group: &str) -> Result<Self, AccountError> {
        Self::resolve_with(user, group, |_, _| Ok(Some(1000)))
    }

    /// Resolves `user` and `group` and refuses either one if it is root.
    pub fn resolve(user: &str, group: &str) -> Result<Self, AccountError> {
        Self::resolve_entries(user, group, system_entry)
    }

    /// The account of uid `uid` (the user running procexport, for systemd user units, whose
    /// jobs run as that user whatever a config says): its name, primary group and home from
    /// the user database. Root is refused: its jobs would run as root.
    pub fn of_uid(uid: u32) -> Result<Self, AccountError> {
        let fail = |message: String| AccountError {
            account: Account::User,
            message,
        };
        if uid == 0 {
            return Err(fail(
                "the user running procexport is root, and jobs must not run as root".to_owned(),
            ));
        }
        let user = accounts::user_by_uid(uid)
            .map_err(|e| fail(format!("cannot look up uid {uid}: {e}")))?
            .ok_or_else(|| fail(format!("uid {uid} has no entry in the user database")))?;
        let gid = user.gid;
        let group = accounts::group_by_gid(gid)
            .ok()
            .flatten()
            .unwrap_or_else(|| gid.to_string());
        Ok(Self {
            user: user.name,
            group,
            uid,
            gid,
            home: match user.home.to_str().map(|h| h.trim_end_matches('/')) {
                Some("") => "/".to_owned(),
                Some(home) => home.to_owned(),
                None => "/nonexistent".to_owned(),
            },
        })
    }

    /// As `resolve`, with `lookup` as the account database (tests give one that has a uid-0
    /// alias, without adding one to this machine's).
    pub fn resolve_with(user: &str, group: &str, lookup: Lookup) -> Result<Self, AccountError> {
        Self::resolve_entries(user, group, |account, name| {
            lookup(account, name).map(|id| id.map(|id| Entry { id, home: None }))
        })
    }

    /// As `resolve_with`, with `lookup` giving each account's entry: the user's home comes
    /// with its uid, from the same lookup.
    fn resolve_entries(
        user: &str,
        group: &str,
        lookup: impl Fn(Account, &str) -> Result<Option<Entry>, String>,
    ) -> Result<Self, AccountError> {
        check_name(user, Account::User)?;
        check_name(group, Account::Group)?;
        let id = |account: Account, name: &str| -> Result<Entry, AccountError> {
            let what = key(account);
            let fail = |message: String| AccountError { account, message };
            let entry = lookup(account, name)
                .map_err(|e| fail(format!("cannot look up {what} {}: {e}", Quoted(name))))?
                .ok_or_else(|| {
                    fail(format!(
                        "{what} {} does not exist on this system",
                        Quoted(name)
                    ))
                })?;
            if entry.id == 0 {
                let which = if account == Account::User {
                    "uid"
                } else {
                    "gid"
                };
                return Err(fail(format!(
                    "{what} {} has {which} 0: jobs must not run as root",
                    Quoted(name)
                )));
            }
            Ok(entry)
        };
        let user_entry = id(Account::User, user)?;
        let gid = id(Account::Group, group)?.id;
        Ok(Self {
            user: user.to_owned(),
            group: group.to_owned(),
            uid: user_entry.id,
            gid,
            // What Debian gives an account without a home (and a lookup that gives none).
            home: user_entry.home.unwrap_or_else(|| "/nonexistent".to_owned()),
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
            .message
            .contains("may not be root"));
        assert!(RunAs::resolve("daemon", "root")
            .unwrap_err()
            .message
            .contains("may not be root"));
        assert!(RunAs::resolve("a b", "daemon")
            .unwrap_err()
            .message
            .contains("not a valid"));
        assert!(RunAs::resolve("-x", "daemon").is_err());
    }

    #[test]
    fn refuses_unknown_accounts() {
        assert!(RunAs::resolve("no_such_user_x1", "daemon")
            .unwrap_err()
            .message
            .contains("does not exist"));
    }

    /// A second uid-0 account (`toor`) or a gid-0 group under another name, from a database
    /// that has them: refused by id, not by name, and this machine's database is untouched.
    #[test]
    fn refuses_uid_and_gid_0_aliases() {
        let lookup: Lookup = |account, name| {
            Ok(Some(match (account, name) {
                (Account::User, "toor") | (Account::Group, "wheel0") => 0,
                _ => 1234,
            }))
        };
        let user = RunAs::resolve_with("toor", "app", lookup).unwrap_err();
        assert_eq!(user.account, Account::User);
        assert!(user.message.contains("has uid 0"), "{}", user.message);
        let group = RunAs::resolve_with("app", "wheel0", lookup).unwrap_err();
        assert_eq!(group.account, Account::Group);
        assert!(group.message.contains("has gid 0"), "{}", group.message);
        assert_eq!(RunAs::resolve_with("app", "app", lookup).unwrap().uid, 1234);
    }
}
