//! What the install transaction needs to know of a backend: where its files go, where an
//! older exporter left files for the app, which jobs an app's manifest entries are, and how
//! to tell, start, stop and ask the init that runs them. Every backend implements it; the
//! transaction never names a backend.

use super::disk::Disk;
use super::manifest::EntryKind;
use crate::error::Result;
use crate::model::text::AbsPath;
use enum_dispatch::enum_dispatch;
use std::fmt;

/// Where files that an older exporter (the gem) wrote for an app may be: in `dir`, named
/// `<stem><suffix>` or `<stem>-<anything><suffix>`. A name only makes a file a candidate:
/// `Installer::legacy_proven` says which ones their contents prove to be the app's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyFiles {
    pub dir: String,
    pub suffix: &'static str,
}

/// A file found under an app's name in a `LegacyFiles` place, with what it holds (`None`
/// when it is no regular UTF-8 file: such a file proves nothing).
#[derive(Debug, Clone)]
pub struct LegacyFile {
    pub path: String,
    pub contents: Option<String>,
}

/// `--adopt`'s answer for one file an older tool may have written: the tool and format its
/// content proves (`Ok`), or why it is not proven (`Err`, said in a `note:` line).
#[derive(Debug, Clone)]
pub struct Adoption {
    pub path: String,
    pub proof: Result<&'static str, String>,
}

/// What a backend's init does and where its names reach, as plain data. Every backend sets
/// every field in its `Installer::capabilities` (the struct has no `Default`), so a new
/// backend states each one instead of inheriting a quiet default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Its jobs log into `<log_dir>/<prefix><app>`, which the transaction makes (false for
    /// systemd user units, which log to the journal or their own `log:` file).
    pub makes_log_dir: bool,
    /// Where it keeps its manifests and locks, when not in the config's `state_dir` (a
    /// backend that installs into the running user's home keeps them there too).
    pub own_state_dir: Option<AbsPath>,
    /// Where files of an app from an older exporter (the gem) may be.
    pub legacy_files: Vec<LegacyFiles>,
    /// A directory whose file names the init also reads from other directories.
    pub shared_names: Option<SharedNames>,
    /// What the user runs next, where procexport does not tell the init itself: printed
    /// after a change on the live system.
    pub next_step: Option<String>,
}

impl Capabilities {
    /// The other paths the init would read under the same name as the installed `path`: a
    /// unit in `/etc/systemd/system` is one name on systemd's whole search path, so one of
    /// the same name in `/usr/lib/systemd/system` is a vendor's unit the new file would
    /// override. An export refuses a name that exists at any of them unless the app's
    /// manifest lists it.
    pub fn same_name_elsewhere(&self, path: &str) -> Vec<String> {
        let Some(shared) = &self.shared_names else {
            return Vec::new();
        };
        let Some(name) = path
            .strip_prefix(shared.dir.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|name| !name.contains('/'))
        else {
            return Vec::new();
        };
        shared
            .elsewhere
            .iter()
            .filter(|dir| **dir != shared.dir)
            .map(|dir| format!("{dir}/{name}"))
            .collect()
    }
}

/// A file directly in `dir` has the same name, to the init, as one in each of `elsewhere`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedNames {
    pub dir: String,
    pub elsewhere: Vec<String>,
}

#[enum_dispatch]
pub trait Installer {
    /// The backend's name, as on the command line and in the state directory.
    fn name(&self) -> &'static str;

    /// The directories this backend installs into; a manifest entry outside them is refused.
    fn install_dirs(&self) -> Vec<String>;

    /// What the init does and where its names reach (`Capabilities`).
    fn capabilities(&self) -> Capabilities;

    /// The paths of `found` (every file named `<full_name>` or `<full_name>-...` in the
    /// `legacy_files` places) whose contents prove the older exporter wrote them for app
    /// `full_name` and for no other app; `wanted` are the paths the caller's export writes
    /// (empty for a clean). A name alone proves nothing: what is not returned is left.
    fn legacy_proven(
        &self,
        _full_name: &str,
        _found: &[LegacyFile],
        _wanted: &[&str],
    ) -> Vec<String> {
        Vec::new()
    }

    /// Where `--adopt` looks for files other exporters (foreman, ...) wrote for an app.
    fn adopt_places(&self) -> Vec<LegacyFiles> {
        Vec::new()
    }

    /// `--adopt`'s verdict on each of `found` (every file named `<full_name>` or
    /// `<full_name>-...` in the `adopt_places`): proven only when it is byte for byte what
    /// one of those tools writes for app `full_name` (`backends/adopt.rs`).
    fn adopt_proven(&self, _full_name: &str, _found: &[LegacyFile]) -> Vec<Adoption> {
        Vec::new()
    }

    /// Runs once the app's stale links are removed and before the stale directories `dirs`
    /// are: a supervisor that still runs services from them stops them and lets go, and the
    /// state it made in them is removed.
    fn release(&self, _disk: &mut Disk, _dirs: &[&str]) -> Result<()> {
        Ok(())
    }

    /// Refuses an install that must not happen where the files go (`target`), before anything
    /// is read or written.
    fn check_target(&self, _target: Target) -> Result<()> {
        Ok(())
    }

    /// Runs after a change was carried out on disk, to tell the init (e.g. `systemctl
    /// daemon-reload`); `dropped` are the jobs whose files it removed (systemd forgets their
    /// failed state). A backend that tells the init nothing says so in `next_step`.
    fn after_apply(&self, _target: Target, _dropped: &Jobs) -> Result<()> {
        Ok(())
    }

    /// The jobs that manifest entries `entries` of app `full_name` install, as the init names
    /// them. Only the backend knows its file naming; entries that are no job file give no job.
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs;

    /// For a file `path` of an export that stands for the jobs named `<stem>` and `<stem>_<n>`
    /// (supervisord's helper of a process type, whatever its count): that path without its
    /// extension, `<dir>/<stem>`. Another app's file of the same kind whose stem is this one's
    /// with `_<n>`, or this one's without it, may then name a job the same, and the export is
    /// refused (`install/collision.rs`). `None` (the default): the path names its jobs alone.
    fn instance_stem<'a>(&self, _path: &'a str) -> Option<&'a str> {
        None
    }

    /// True when the init that runs this backend's jobs runs here and can be told (the live
    /// system: the transaction never asks under `--root`).
    fn init_running(&self, disk: &mut Disk) -> bool;

    /// Stops those of `jobs` that run, and waits for them: run before their files are removed,
    /// so that no process outlives the file that could stop it.
    fn stop_jobs(&self, disk: &mut Disk, jobs: &Jobs) -> Result<()>;

    /// Starts, stops or restarts every one of `jobs` through the running init.
    fn control(&self, disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()>;

    /// What the running init says of each of `jobs`.
    fn status(&self, disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>>;

    /// Where `init_running` is false: what to do instead, where the backend can say (launchd:
    /// the `launchctl` commands to run on the Mac). Added to the refusal of a control
    /// subcommand and to each line of `status`.
    fn init_missing(&self, _jobs: &Jobs) -> Option<String> {
        None
    }
}

/// An app's jobs as its init names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jobs {
    /// The job that stands for the whole app (Upstart's master job, systemd's target), if the
    /// backend has one.
    pub app: Option<String>,
    /// One job per process.
    pub processes: Vec<String>,
    /// The app's full name (`<prefix><app>`), which the transaction sets: how a backend whose
    /// processes are reached through the app's own file (a SysV init script) finds it when the
    /// app job is not among these jobs.
    pub full_name: String,
}

impl Jobs {
    pub fn is_empty(&self) -> bool {
        self.app.is_none() && self.processes.is_empty()
    }

    /// The app job first, then the processes.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.app.iter().chain(&self.processes).map(String::as_str)
    }
}

/// What a control subcommand asks of the init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    /// Tell each process job to reload (its `reload_signal`, SIGHUP where its init's files
    /// cannot say another), with no new process.
    Reload,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Reload => "reload",
        }
    }
}

/// A job's live state, as far as its init can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Its process runs.
    Running {
        pid: u32,
    },
    /// Up, with no process of its own (a systemd target, Upstart's master job).
    Active,
    Stopped,
    /// Stopped by a failure the init remembers (systemd).
    Failed,
    /// Its process ended and the init is about to start it again.
    Respawning,
    Starting,
    Stopping,
    /// The init does not know the job.
    Unknown,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Running { pid } => write!(f, "running (pid {pid})"),
            Self::Active => f.write_str("active"),
            Self::Stopped => f.write_str("stopped"),
            Self::Failed => f.write_str("failed"),
            Self::Respawning => f.write_str("respawning"),
            Self::Starting => f.write_str("starting"),
            Self::Stopping => f.write_str("stopping"),
            Self::Unknown => f.write_str("unknown to the init"),
        }
    }
}

/// One line of `status`: a job, its state, and the init's own words for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    pub job: String,
    pub state: State,
    pub detail: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn of(shared_names: Option<SharedNames>) -> Capabilities {
        Capabilities {
            makes_log_dir: true,
            own_state_dir: None,
            legacy_files: Vec::new(),
            shared_names,
            next_step: None,
        }
    }

    #[test]
    fn a_shared_name_is_the_same_file_name_in_each_other_directory() {
        let shared = of(Some(SharedNames {
            dir: "/etc/u".into(),
            elsewhere: vec!["/etc/u".into(), "/usr/lib/u".into(), "/lib/u".into()],
        }));
        assert_eq!(
            shared.same_name_elsewhere("/etc/u/a.service"),
            ["/usr/lib/u/a.service", "/lib/u/a.service"]
        );
        // Only a file directly in the directory has its name on the search path.
        assert!(shared
            .same_name_elsewhere("/etc/u/a.wants/b.service")
            .is_empty());
        assert!(shared.same_name_elsewhere("/etc/unit/a.service").is_empty());
        assert!(shared.same_name_elsewhere("/etc/u").is_empty());
        assert!(of(None).same_name_elsewhere("/etc/u/a.service").is_empty());
    }
}
