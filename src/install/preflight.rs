//! Checks against the live system before anything is written, so an export does not install
//! jobs that cannot start: the run user can enter each job's working directory; each log
//! file can be created or appended to by the run user (the app's own log directory is made
//! by the export itself). Every check is one try made with the run user's rights, never a
//! look as root, and a path that is missing and one the run user may not reach get the same
//! answer: a Procfile is no way to ask root what exists where its writer cannot look. Skipped under `--root` (not this system's
//! files) and when procexport does not run as root (it cannot try things as the run user).

use super::disk::{Account, Disk};
use crate::error::{Error, Result};
use crate::model::app::App;
use crate::sanitize::Quoted;
use std::collections::BTreeSet;

/// Refuses what the run user will not be able to do; `own_log_dir` is the app's log
/// directory, which the export makes.
pub fn check(app: &App, own_log_dir: &str) -> Result<()> {
    let user = &app.run_as.user;
    let groups = nix::unistd::getgrouplist(
        &std::ffi::CString::new(user.as_str()).expect("account names hold no NUL"),
        nix::unistd::Gid::from_raw(app.run_as.gid),
    )
    .map_or_else(
        |_| vec![app.run_as.gid],
        |groups| groups.iter().map(|g| g.as_raw()).collect(),
    );
    let account = Account {
        uid: app.run_as.uid,
        gid: app.run_as.gid,
        groups,
    };
    let mut dirs = BTreeSet::new();
    // Every instance of a type has its directory, and a log in the app's own directory or the
    // one file the Procfile named: its first stands for all.
    for job in app.types.iter().map(|t| &t.first) {
        let dir = job.working_directory.as_str();
        // One try, as the run user: "missing" and "there, but not the run user's to reach"
        // get one answer, so a Procfile cannot ask root whether a path it cannot see exists.
        if dirs.insert(dir) && !Disk::can_enter(&account, dir)? {
            return Err(Error::Usage(format!(
                "run user {} cannot reach working directory {} of job {}: it does not exist, \
                 or {} may not enter it; create it and give {} search (x) permission on it \
                 and on each directory above it, or set working_directory in the Procfile",
                Quoted(user),
                Quoted(dir),
                Quoted(job.name.as_str()),
                Quoted(user),
                Quoted(user)
            )));
        }
        let log = job.log.as_str();
        let in_own = log
            .strip_prefix(own_log_dir)
            .is_some_and(|rest| rest.starts_with('/') && !rest[1..].contains('/'));
        if !in_own && !Disk::can_write_log(&account, log)? {
            return Err(Error::Usage(format!(
                "run user {} cannot create or append to log file {} of job {}: the job opens \
                 its log as that user; log to a file under {} (the app's own log directory, \
                 which procexport makes), or make the file's directory writable by {}",
                Quoted(user),
                Quoted(log),
                Quoted(job.name.as_str()),
                Quoted(own_log_dir),
                Quoted(user)
            )));
        }
    }
    Ok(())
}
