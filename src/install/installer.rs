//! What the install transaction needs to know of a backend: where its files go, where an
//! older exporter left files for the app, and how to tell the init that runs the jobs.
//! Every backend implements it; the transaction never names a backend.

use super::disk::Disk;
use crate::error::Result;
use enum_dispatch::enum_dispatch;

/// Files that an older exporter (the gem) wrote for an app: in `dir`, named `<stem><suffix>`
/// or `<stem>-<anything><suffix>`. An export replaces them and `clean` removes them.
#[derive(Debug, Clone)]
pub struct LegacyFiles {
    pub dir: String,
    pub suffix: &'static str,
}

#[enum_dispatch]
pub trait Installer {
    /// The backend's name, as on the command line and in the state directory.
    fn name(&self) -> &'static str;

    /// The directories this backend installs into; a manifest entry outside them is refused.
    fn install_dirs(&self) -> Vec<String>;

    /// Where files of this app from an older exporter may be.
    fn legacy_files(&self) -> Vec<LegacyFiles> {
        Vec::new()
    }

    /// Runs once the app's stale links are removed and before the stale directories `dirs`
    /// are: a supervisor that still runs services from them stops them and lets go, and the
    /// state it made in them is removed.
    fn release(&self, _disk: &mut Disk, _dirs: &[&str]) -> Result<()> {
        Ok(())
    }

    /// Where this backend keeps its manifests and locks, when not in the config's `state_dir`
    /// (a backend that installs into the running user's home keeps them there too).
    fn state_dir(&self) -> Option<crate::model::text::AbsPath> {
        None
    }

    /// False for a backend whose jobs do not log into `<log_dir>/<prefix><app>` (the
    /// transaction then does not make that directory).
    fn makes_log_dir(&self) -> bool {
        true
    }

    /// Refuses an install that must not happen where the files go (`target`), before anything
    /// is read or written.
    fn check_target(&self, _target: Target) -> Result<()> {
        Ok(())
    }

    /// Runs after a change was carried out on disk (e.g. `systemctl daemon-reload`).
    fn after_apply(&self, _target: Target) -> Result<()> {
        Ok(())
    }
}

/// Where an install's files went, as far as the running init is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The live system, and the init may be told.
    Live,
    /// The live system, but `--no-reload` says not to tell the init.
    LiveNoReload,
    /// Under `--root`: not this system's files, so its init is never told.
    Root,
}
