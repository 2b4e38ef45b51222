//! An export: read and check everything, render everything, plan everything, and only then
//! write, under the app's lock.

use crate::assemble::assemble;
use crate::backends::{Backend, BackendKind};
use crate::cli::ExportArgs;
use crate::config::Config;
use crate::disk::Disk;
use crate::error::{Error, Location, Result};
use crate::manifest::EntryKind;
use crate::name::Name;
use crate::plan::{plan, Ownership};
use crate::procfile;
use crate::report;
use crate::run::Session;
use crate::sanitize::Quoted;
use crate::text::AbsPath;

/// Exports the Procfile whose contents `bytes` were read from `args.procfile`.
pub fn export(
    session: &mut Session,
    backend: &BackendKind,
    args: &ExportArgs,
    bytes: &[u8],
) -> Result<()> {
    let app_name = Name::parse(&args.app, "app name").map_err(Error::Usage)?;
    let file = args.procfile.as_str();
    let procfile = procfile::parse(file, bytes)?;
    let default_dir = procfile_dir(file)?;
    let config = &session.config;
    let app = assemble(config, &procfile, &app_name, file, &default_dir)?;
    let outputs = backend.render(&app, &config.dirs)?;
    let what = format!("{} export of {}", backend.name(), app.full_name);
    let manifest_path = manifest_path(session, backend, &app.full_name);
    let _lock = if session.dry_run {
        None
    } else {
        Some(
            session
                .disk
                .lock(config.dirs.state.as_str(), &app.full_name)?,
        )
    };
    let ownership = ownership(session, app.run_as.gid);
    let disk = &mut session.disk;
    let old = disk.read_manifest(&manifest_path)?;
    let install_dirs = backend.install_dirs(&config.dirs);
    let belongs = |path: &str| belongs_to_app(path, &install_dirs, &app.full_name);
    // The gem's files for this app are replaced or, when the new export has no such job,
    // removed: a gem job left behind would still start with the app.
    let legacy = legacy_files(disk, backend, config, &app.full_name)?;
    let plan = plan(outputs, &old, legacy, ownership, &belongs, &mut |p| {
        disk.inspect(p)
    })?;
    if session.dry_run {
        report::dry_run(session.out, &what, &plan, &app.run_as.group).map_err(print_error)?;
        return Ok(());
    }
    let log_parent = config.dirs.log.as_str();
    disk.ensure_log_dir(log_parent, &app.full_name, app.run_as.uid, app.run_as.gid)?;
    disk.apply(&plan, &manifest_path, ownership, &mut |disk, dirs| {
        backend.release(disk, dirs)
    })?;
    backend.after_apply(&plan, session.live)?;
    report::summary(session.out, &what, &plan).map_err(print_error)
}

/// The files an older exporter (the gem) wrote for the app `full_name`, found by their names:
/// `<full_name><suffix>` or `<full_name>-<anything><suffix>` in the backend's legacy places.
/// Only with a prefix: without one, an app named like a system job (`rsyslog`) would claim
/// that job's file.
pub fn legacy_files(
    disk: &mut Disk,
    backend: &BackendKind,
    config: &Config,
    full_name: &str,
) -> Result<Vec<(String, EntryKind)>> {
    let mut legacy = Vec::new();
    if config.prefix.is_empty() {
        return Ok(legacy);
    }
    let dirs = &config.dirs;
    for place in backend.legacy_files(dirs) {
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
pub fn manifest_path(session: &Session, backend: &BackendKind, full_name: &str) -> String {
    let state = &session.config.dirs.state;
    state.join(&format!("{}/{full_name}.manifest", backend.name()))
}

/// The owners to give files: only when running as root can files be given to root and the
/// run group.
pub fn ownership(session: &Session, run_gid: u32) -> Option<Ownership> {
    session.invoker.is_root().then_some(Ownership { run_gid })
}

/// True when `path` is one of the app's own names directly in, or below, one of the backend's
/// directories: `<full_name>.<suffix>` or `<full_name>-<anything>`. App names hold no `-` or
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
            && first
                .strip_prefix(full_name)
                .is_some_and(|tail| tail.starts_with('-') || tail.starts_with('.'))
    })
}

/// The directory of the Procfile, the default working directory.
fn procfile_dir(file: &str) -> Result<AbsPath> {
    let absolute = std::path::absolute(file)
        .map_err(|e| Error::io(format!("resolving {}", Quoted(file)), e))?;
    let dir = absolute.parent().unwrap_or(&absolute);
    let text = dir.to_str().ok_or_else(|| {
        Error::input(
            Location::file(file),
            "the Procfile's directory is not valid UTF-8",
        )
    })?;
    AbsPath::parse(text, "the Procfile's directory")
        .map_err(|m| Error::input(Location::file(file), m))
}

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
