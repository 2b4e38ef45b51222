//! `clean`: removes exactly what the app's manifests list, plus the files an older exporter
//! (the gem) wrote under the app's names. Logs are never removed.

use crate::backends::{Backend, BackendKind};
use crate::error::{Error, Result};
use crate::export::{belongs_to_app, legacy_files, manifest_path, ownership, print_error};
use crate::name::Name;
use crate::plan::plan;
use crate::report;
use crate::run::Session;

pub fn clean(session: &mut Session, backends: &[BackendKind], app: &str) -> Result<()> {
    let app_name = Name::parse(app, "app name").map_err(Error::Usage)?;
    let full_name = format!("{}{}", session.config.prefix, app_name);
    let _lock = if session.dry_run {
        None
    } else {
        Some(
            session
                .disk
                .lock(session.config.dirs.state.as_str(), &full_name)?,
        )
    };
    let ownership = ownership(session, session.config.run_as.gid);
    let mut found = false;
    for backend in backends {
        let dirs = &session.config.dirs;
        let manifest_path = manifest_path(session, backend, &full_name);
        let disk = &mut session.disk;
        let old = disk.read_manifest(&manifest_path)?;
        let legacy = legacy_files(disk, backend, &session.config, &full_name)?;
        if old.is_empty() && legacy.is_empty() {
            continue;
        }
        found = true;
        let install_dirs = backend.install_dirs(dirs);
        let belongs = |path: &str| belongs_to_app(path, &install_dirs, &full_name);
        let plan = plan(Vec::new(), &old, legacy, ownership, &belongs, &mut |p| {
            disk.inspect(p)
        })?;
        let what = format!("{} clean of {full_name}", backend.name());
        if session.dry_run {
            report::dry_run(session.out, &what, &plan, &session.config.run_as.group)
                .map_err(print_error)?;
        } else {
            disk.apply(&plan, &manifest_path, ownership, &mut |disk, dirs| {
                backend.release(disk, dirs)
            })?;
            backend.after_apply(&plan, session.live)?;
            report::summary(session.out, &what, &plan).map_err(print_error)?;
        }
    }
    if !found {
        writeln!(session.out, "nothing is installed for {full_name}").map_err(print_error)?;
    }
    Ok(())
}
