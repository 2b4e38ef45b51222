//! Test oracles, built only with the `testing` feature (the tests, the fuzz targets and the
//! benchmarks enable it; a release build never does): the pure pipeline on its own
//! (`preview`), the rules every render must keep (`invariants`), the fuzz targets' bodies
//! (`fuzz_targets`, shared by fuzz/ and tests/fuzz_regressions.rs), the shell checkers all
//! backends share (`tools`), and the way in to each backend's own checks, which live in its
//! folder (`backends/<name>/check.rs`).

pub mod fuzz_targets;
pub mod invariants;
pub mod preview;
pub use crate::backends::check_rules as tools;

pub use crate::backends::launchd::check::parse_plists;
pub use crate::backends::supervisord::check::parse_with_supervisord as supervisord_parse;
pub use crate::backends::supervisord::check::parser_command as supervisord_parser_command;
pub use crate::backends::systemd::check::{
    check_systemd_unit, check_systemd_units, systemd_verify,
};
pub use crate::backends::systemd::syntax as systemd_syntax;
pub use crate::backends::systemd_user::check::systemd_verify_user;
pub use crate::backends::upstart::stanza_check as upstart_check;
pub use crate::backends::{Checks, Installed, RootFormat, Secret, NAMES as BACKENDS};

use crate::backends::{keys, BackendKind};
use crate::install::installer::Installer;
use crate::model::account::RunAs;
use crate::model::config::Config;

/// Checks every file of `files` with the checks of the backend that wrote it, under the
/// config `config` (its text; `None` for the defaults). Returns how many files were checked.
pub fn check_installed(config: Option<&str>, files: &[Installed]) -> Result<usize, String> {
    let config = Config::parse_with("config", config, &keys(), RunAs::unresolved)
        .map_err(|e| e.to_string())?;
    let mut checked = 0;
    for backend in BackendKind::all(&config).map_err(|e| e.to_string())? {
        let dirs = backend.install_dirs();
        let own: Vec<Installed> = files
            .iter()
            .filter(|f| {
                dirs.iter().any(|d| {
                    f.live
                        .strip_prefix(d.as_str())
                        .is_some_and(|r| r.starts_with('/'))
                })
            })
            .cloned()
            .collect();
        checked += backend.checks().check_installed(&own)?;
    }
    Ok(checked)
}

/// The name of the backend whose module is `module` (as `for_each_backend!` gives it).
/// docs/BACKENDS.md's table of the Procfile v2 job keys each backend carries: `yes`,
/// `dropped` (a key that only tunes, dropped with a warning) or `refused` (exit 2).
pub fn carries_table() -> String {
    use crate::model::resources::{effect, Effect};
    use std::fmt::Write as _;
    let mut table = String::from("| key |");
    for (name, _) in crate::backends::CARRIES {
        let _ = write!(table, " {name} |");
    }
    table.push_str("\n|---|");
    table.push_str(&"---|".repeat(crate::backends::CARRIES.len()));
    table.push('\n');
    for key in crate::model::capability::KEYS {
        let _ = write!(table, "| `{key}` |");
        for (_, carries) in crate::backends::CARRIES {
            let mark = if carries.contains(key) {
                "yes"
            } else {
                match key.strip_prefix("resources.").map(effect) {
                    Some(Effect::Tunes) => "dropped",
                    Some(Effect::Bounds) | None => "refused",
                }
            };
            let _ = write!(table, " {mark} |");
        }
        table.push('\n');
    }
    table
}

/// Every backend's name with the Procfile v2 job keys it carries.
pub use crate::backends::CARRIES;
/// Every Procfile v2 job key a backend may carry.
pub use crate::model::capability::KEYS as JOB_KEYS;

pub fn backend_name(module: &str) -> &'static str {
    crate::backends::MODULES
        .iter()
        .find(|(m, _)| *m == module)
        .map_or_else(|| panic!("no backend module {module}"), |(_, name)| *name)
}

/// Every key a config may hold.
pub fn config_keys() -> Vec<&'static str> {
    crate::model::config::all_keys(&keys())
}

/// Every directory key a config may hold (the common `log_dir` and `state_dir`, then each
/// backend's directories), with its default: what a test moves under a sandbox.
pub fn dir_keys() -> Vec<(&'static str, &'static str)> {
    let common = [
        ("log_dir", "/var/log"),
        ("state_dir", "/var/lib/procexport"),
    ];
    common
        .into_iter()
        .chain(
            keys()
                .into_iter()
                .filter(|k| k.kind == crate::model::config::KeyKind::Dir)
                .map(|k| (k.name, k.default)),
        )
        .collect()
}

/// A backend's facts and checks (its `Checks`), under the default config: what a generic suite
/// asks of each backend instead of matching on its name.
pub struct Facts(BackendKind);

impl std::ops::Deref for Facts {
    type Target = dyn Checks;

    fn deref(&self) -> &(dyn Checks + 'static) {
        self.0.checks()
    }
}

/// The facts of the backend called `name`. Panics for a name the registry does not hold: a
/// suite that meets a backend it cannot ask fails, it never skips it.
pub fn facts(name: &str) -> Facts {
    let config = Config::parse_with("config", None, &keys(), RunAs::unresolved)
        .expect("the default config parses");
    match BackendKind::build(name, &config) {
        Some(Ok(backend)) => Facts(backend),
        Some(Err(e)) => panic!("backend {name}: {e}"),
        None => panic!("no backend {name} in the registry"),
    }
}
