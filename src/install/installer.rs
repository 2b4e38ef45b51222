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

    /// The other paths the init would read under the same name as the rendered `path`: a
    /// unit in `/etc/systemd/system` is one name on systemd's whole search path, so one of
    /// the same name in `/usr/lib/systemd/system` is a vendor's unit the new file would
    /// override. An export refuses a name that exists at any of them unless the app's
    /// manifest lists it.
    fn same_name_elsewhere(&self, _path: &str) -> Vec<String> {
        Vec::new()
    }

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
