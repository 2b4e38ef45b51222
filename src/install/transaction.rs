//! The one install transaction, for an export and for a clean alike (a clean is an install
//! of no files): lock the app, read its manifest, find what an older exporter left, plan the
//! change against the disk, then either show it (dry run) or carry it out (new files, stale
//! links, the init's release of stale services, stale files, the final manifest), tell the
//! init, and report. It takes plain values and a backend as an `Installer`; it never names
//! a backend.

use super::disk::{stale, Disk};
use super::installer::{Installer, Target};
use super::manifest::EntryKind;
use super::plan::{plan, Existing, Ownership};
use super::report;
use crate::error::{Error, Result};
use crate::model::output::Output;
use crate::model::text::AbsPath;
use std::io::Write;

/// What every transaction of one run shares.
pub struct Context<'a> {
    pub disk: &'a mut Disk,
    /// Manifests and locks.
    pub state_dir: &'a AbsPath,
    /// The config's prefix is empty: the gem's file names for an app are not looked for
    /// (an app named like a system job would claim that job's files).
    pub no_prefix: bool,
    /// The owners files get; `None` when not running as root.
    pub ownership: Option<Ownership>,
    /// The run group's name, for the dry run's owner column.
    pub run_group: &'a str,
    pub dry_run: bool,
    /// Where the files go, for the init hooks.
    pub target: Target,
    pub out: &'a mut dyn Write,
}

/// The app's own log directory, made and handed to the run user before its jobs are.
#[derive(Debug, Clone)]
pub struct LogDir {
    pub parent: String,
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// What a transaction installs.
#[derive(Debug)]
pub enum Change {
    /// An export: exactly these files, and the log directory.
    Export {
        outputs: Vec<Output>,
        log_dir: LogDir,
    },
    /// A clean: no files.
    Clean,
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, or shown (dry run).
    Done,
    /// A clean found nothing of the app for this backend.
    NothingInstalled,
}

/// Runs one transaction for app `full_name` through `installer`.
pub fn install(
    cx: &mut Context,
    installer: &dyn Installer,
    full_name: &str,
    change: Change,
) -> Result<Outcome> {
    let verb = match change {
        Change::Export { .. } => "export",
        Change::Clean => "clean",
    };
    let what = format!("{} {verb} of {full_name}", installer.name());
    if matches!(change, Change::Export { .. }) {
        installer.check_target(cx.target)?;
    }
    let own_state_dir = installer.state_dir();
    let state_dir = own_state_dir.as_ref().unwrap_or(cx.state_dir);
    // A backend with a state directory of its own that does not exist has installed nothing:
    // a clean of every backend does not make that directory just to lock it.
    if matches!(change, Change::Clean)
        && own_state_dir.is_some()
        && cx.disk.inspect(state_dir.as_str())? == Existing::Missing
    {
        return Ok(Outcome::NothingInstalled);
    }
    let manifest_path = manifest_path(state_dir, installer, full_name);
    let _lock = if cx.dry_run {
        None
    } else {
        Some(cx.disk.lock(state_dir.as_str(), full_name)?)
    };
    let old = cx.disk.read_manifest(&manifest_path)?;
    // The gem's files for this app are replaced or, when the new export has no such job,
    // removed: a gem job left behind would still start with the app.
    let legacy = legacy_files(cx.disk, installer, cx.no_prefix, full_name)?;
    let (outputs, log_dir) = match change {
        Change::Export { outputs, log_dir } => (outputs, Some(log_dir)),
        Change::Clean if old.is_empty() && legacy.is_empty() => {
            return Ok(Outcome::NothingInstalled)
        }
        Change::Clean => (Vec::new(), None),
    };
    let install_dirs = installer.install_dirs();
    let belongs = |path: &str| belongs_to_app(path, &install_dirs, full_name);
    let disk = &mut *cx.disk;
    let plan = plan(outputs, &old, legacy, cx.ownership, &belongs, &mut |p| {
        disk.inspect(p)
    })?;
    if cx.dry_run {
        report::dry_run(cx.out, &what, &plan, cx.run_group).map_err(print_error)?;
        return Ok(Outcome::Done);
    }
    if let Some(log) = log_dir.filter(|_| installer.makes_log_dir()) {
        disk.ensure_log_dir(&log.parent, &log.name, log.uid, log.gid)?;
    }
    if disk.write_new(&plan, &manifest_path, cx.ownership)? {
        disk.remove_stale_links(&plan)?;
        let stale_dirs: Vec<&str> = stale(&plan, EntryKind::Dir).collect();
        if !stale_dirs.is_empty() {
            installer.release(disk, &stale_dirs)?;
        }
        disk.remove_stale_files(&plan)?;
        disk.finish_manifest(&plan, &manifest_path)?;
        installer.after_apply(cx.target)?;
    }
    report::summary(cx.out, &what, &plan).map_err(print_error)?;
    Ok(Outcome::Done)
}

/// The files an older exporter (the gem) wrote for the app `full_name`, found by their names:
/// `<full_name><suffix>` or `<full_name>-<anything><suffix>` in the backend's legacy places.
fn legacy_files(
    disk: &mut Disk,
    installer: &dyn Installer,
    no_prefix: bool,
    full_name: &str,
) -> Result<Vec<(String, EntryKind)>> {
    let mut legacy = Vec::new();
    if no_prefix {
        return Ok(legacy);
    }
    for place in installer.legacy_files() {
        for name in disk.list_dir(&place.dir)? {
            let matches = name.strip_suffix(place.suffix).is_some_and(|stem| {
                stem == full_name
                    || stem
                        .strip_prefix(full_name)
                        .is_some_and(|t| t.starts_with('-'))
            });
            if matches {
                legacy.push((
                    format!("{}/{name}", place.dir.trim_end_matches('/')),
                    EntryKind::File,
                ));
            }
        }
    }
    Ok(legacy)
}

/// `<state_dir>/<backend>/<prefix><app>.manifest`.
pub fn manifest_path(state_dir: &AbsPath, installer: &dyn Installer, full_name: &str) -> String {
    state_dir.join(&format!("{}/{full_name}.manifest", installer.name()))
}

/// True when `path` is one of the app's own names directly in, or below, one of the backend's
/// directories: `<full_name>` (a SysV or OpenRC init script), `<full_name>.<suffix>` or
/// `<full_name>-<anything>`. App names hold no `-` or
/// `.`, so this never matches another app (`fb-myapp` never matches `fb-myapp_staging-web`).
pub fn belongs_to_app(path: &str, install_dirs: &[String], full_name: &str) -> bool {
    install_dirs.iter().any(|dir| {
        let Some(rest) = path
            .strip_prefix(dir.trim_end_matches('/'))
            .and_then(|r| r.strip_prefix('/'))
        else {
            return false;
        };
        let first = rest.split('/').next().unwrap_or("");
        !rest.split('/').any(|c| c == ".." || c.is_empty())
            && first.strip_prefix(full_name).is_some_and(|tail| {
                tail.is_empty() || tail.starts_with('-') || tail.starts_with('.')
            })
    })
}

/// A failed write to stdout.
pub fn print_error(e: std::io::Error) -> Error {
    Error::io("writing to stdout", e)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn belongs_never_matches_a_neighbour() {
        let dirs = vec!["/etc/init".to_owned(), "/etc/sv/".to_owned()];
        assert!(belongs_to_app("/etc/init/fb-myapp.conf", &dirs, "fb-myapp"));
        assert!(belongs_to_app("/etc/init/fb-myapp", &dirs, "fb-myapp"));
        assert!(!belongs_to_app("/etc/init/fb-myapp_x", &dirs, "fb-myapp"));
        assert!(belongs_to_app(
            "/etc/init/fb-myapp-web.conf",
            &dirs,
            "fb-myapp"
        ));
        assert!(belongs_to_app(
            "/etc/sv/fb-myapp-web/log/run",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app(
            "/etc/init/fb-myapp_staging-web.conf",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app(
            "/etc/init/fb-myapp_staging.conf",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app("/etc/passwd", &dirs, "fb-myapp"));
        assert!(!belongs_to_app(
            "/etc/init/fb-myapp-x/../../passwd",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app(
            "/etc/initx/fb-myapp.conf",
            &dirs,
            "fb-myapp"
        ));
    }
}
