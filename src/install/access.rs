//! Who may act on an app. Root without sudo always may (it could do anything anyway), and so
//! may a user running procexport without sudo (it can only write what that user can). Through
//! sudo, the app belongs to the user who first installed it (recorded in its manifests as
//! `owner`), and only that user and the `managers` the config lists for the app may export,
//! clean, start or stop it. A config may also forbid apps it does not list.

use crate::error::{Error, Result};
use crate::install::disk::accounts;
use crate::install::privilege::Invoker;
use crate::model::config::Config;
use crate::sanitize::Quoted;

/// The account database, as far as this needs it: a user's uid by name, and a name by uid.
pub struct Users {
    pub uid_of: fn(&str) -> Option<u32>,
    pub name_of: fn(u32) -> Option<String>,
}

impl Users {
    /// This system's database.
    pub const SYSTEM: Self = Self {
        uid_of: |name| accounts::user_by_name(name).ok().flatten().map(|u| u.uid),
        name_of: |uid| accounts::user_by_uid(uid).ok().flatten().map(|u| u.name),
    };
}

/// Refuses `invoker` acting on app `app` (its name without prefix), whose installed manifests
/// record `owners` (one entry per backend it is installed with; `None` for a manifest from
/// before owners were recorded).
pub fn authorize(
    invoker: &Invoker,
    config: &Config,
    app: &str,
    owners: &[Option<u32>],
    users: &Users,
) -> Result<()> {
    let Some((uid, _)) = invoker.sudo else {
        return Ok(());
    };
    let listed = config.apps.get(app);
    if listed.is_none() && !config.allow_unlisted_apps {
        return Err(Error::refused(format!(
            "app {} is not listed under apps: in the config, and the config sets \
             allow_unlisted_apps: false; ask an administrator to list it",
            Quoted(app)
        )));
    }
    let managers = listed.map(|a| a.managers.as_slice()).unwrap_or_default();
    if managers.iter().any(|m| (users.uid_of)(m) == Some(uid)) {
        return Ok(());
    }
    let who = |uid: u32| match (users.name_of)(uid) {
        Some(name) => format!("{} (uid {uid})", Quoted(&name)),
        None => format!("uid {uid}"),
    };
    let managers_hint = if managers.is_empty() {
        "no managers are listed for it".to_owned()
    } else {
        format!("its managers are {}", managers.join(", "))
    };
    for owner in owners {
        match owner {
            Some(owner) if *owner == uid => {}
            Some(owner) => {
                return Err(Error::refused(format!(
                    "app {} belongs to {}; only its owner and the managers the config lists \
                     for it may act on it ({managers_hint})",
                    Quoted(app),
                    who(*owner)
                )))
            }
            None => {
                return Err(Error::refused(format!(
                    "app {} was installed before procexport recorded owners, so no sudo user \
                     may act on it yet: an administrator can list {} under apps.{app}.managers \
                     in the config (or act as root without sudo)",
                    Quoted(app),
                    who(uid)
                )))
            }
        }
    }
    if owners.is_empty() && listed.is_some() {
        // A listed app is claimed by its managers only: with none, by root only (without
        // sudo). `allow_unlisted_apps` is about the apps the config does not list.
        return Err(Error::refused(if managers.is_empty() {
            format!(
                "app {} is listed under apps: in the config with no managers, so only root \
                 may install it; an administrator can list {} under apps.{app}.managers",
                Quoted(app),
                who(uid)
            )
        } else {
            format!(
                "app {} may only be installed by its managers ({})",
                Quoted(app),
                managers.join(", ")
            )
        }));
    }
    Ok(())
}

/// True when `invoker` may take over or remove the files an older exporter left for app
/// `app` (no manifest lists them, so they record no owner): root or a user without sudo,
/// or, through sudo, a manager the config lists for that very app. An owner is not enough:
/// owning the app's manifests says nothing of files from before them.
pub fn may_claim_legacy(invoker: &Invoker, config: &Config, app: &str, users: &Users) -> bool {
    let Some((uid, _)) = invoker.sudo else {
        return true;
    };
    config.apps.get(app).is_some_and(|listed| {
        listed
            .managers
            .iter()
            .any(|m| (users.uid_of)(m) == Some(uid))
    })
}

/// True when `invoker` may see app `app`, whose manifests record `owner`, in `list`: root or
/// a user without sudo sees every app; a sudo user the apps it owns or manages.
pub fn may_see(
    invoker: &Invoker,
    config: &Config,
    app: Option<&str>,
    owner: Option<u32>,
    users: &Users,
) -> bool {
    let Some((uid, _)) = invoker.sudo else {
        return true;
    };
    owner == Some(uid) || app.is_some_and(|app| may_claim_legacy(invoker, config, app, users))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: Users = Users {
        uid_of: |name| match name {
            "alice" => Some(1001),
            "bob" => Some(1002),
            _ => None,
        },
        name_of: |uid| Some(format!("user{uid}")),
    };

    fn config(text: &str) -> Config {
        Config::parse_with(
            "c",
            Some(text),
            &[],
            crate::model::account::RunAs::unresolved,
        )
        .unwrap()
    }

    fn sudo(uid: u32) -> Invoker {
        Invoker {
            euid: 0,
            sudo: Some((uid, uid)),
        }
    }

    #[test]
    fn the_owner_and_managers_may_act_and_no_one_else() {
        let config = config("apps:\n  billing:\n    managers: [alice]\n");
        let root = Invoker {
            euid: 0,
            sudo: None,
        };
        assert!(authorize(&root, &config, "billing", &[Some(1002)], &USERS).is_ok());
        assert!(authorize(&sudo(1002), &config, "billing", &[Some(1002)], &USERS).is_ok());
        assert!(authorize(&sudo(1001), &config, "billing", &[Some(1002)], &USERS).is_ok());
        let error = authorize(&sudo(1003), &config, "billing", &[Some(1002)], &USERS)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("belongs to \"user1002\" (uid 1002)"),
            "{error}"
        );
        // Not installed yet: only a manager may install a listed app that has managers.
        assert!(authorize(&sudo(1001), &config, "billing", &[], &USERS).is_ok());
        assert!(authorize(&sudo(1002), &config, "billing", &[], &USERS).is_err());
        // A manifest from before owners: refused through sudo unless a manager.
        assert!(authorize(&sudo(1002), &config, "billing", &[None], &USERS).is_err());
        assert!(authorize(&sudo(1001), &config, "billing", &[None], &USERS).is_ok());
        // The older exporter's files: root and the managers only, never the owner.
        assert!(may_claim_legacy(&root, &config, "billing", &USERS));
        assert!(may_claim_legacy(&sudo(1001), &config, "billing", &USERS));
        assert!(!may_claim_legacy(&sudo(1002), &config, "billing", &USERS));
    }

    #[test]
    fn a_listed_app_without_managers_is_roots() {
        for text in [
            "apps:\n  x: {}\n",
            "apps:\n  x: {}\nallow_unlisted_apps: true\n",
        ] {
            let config = config(text);
            let error = authorize(&sudo(1002), &config, "x", &[], &USERS)
                .unwrap_err()
                .to_string();
            assert!(error.contains("with no managers, so only root"), "{error}");
            let root = Invoker {
                euid: 0,
                sudo: None,
            };
            assert!(authorize(&root, &config, "x", &[], &USERS).is_ok());
            // Once root installed it (owner 0), still no sudo user may.
            assert!(authorize(&sudo(1002), &config, "x", &[Some(0)], &USERS).is_err());
        }
    }

    #[test]
    fn unlisted_apps_follow_the_config() {
        let open = config("");
        assert!(authorize(&sudo(1002), &open, "shop", &[], &USERS).is_ok());
        assert!(authorize(&sudo(1002), &open, "shop", &[Some(1001)], &USERS).is_err());
        let closed = config("allow_unlisted_apps: false\n");
        let error = authorize(&sudo(1002), &closed, "shop", &[], &USERS)
            .unwrap_err()
            .to_string();
        assert!(error.contains("allow_unlisted_apps: false"), "{error}");
    }
}
