//! One job of the model every backend renders (`App`, `ProcessType`), built only by `assemble`
//! from checked values, so a backend never sees a name, number or path that was not validated.

use crate::model::command::Command;
use crate::model::env::Env;
use crate::model::name::Name;
use crate::model::resources::Resources;
use crate::model::rlimit::Rlimits;
use crate::model::signal::{KillMode, Signal};
use crate::model::text::AbsPath;
use serde::Serialize;
use std::sync::Arc;

/// At most `count` restarts in `interval` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RespawnLimit {
    pub count: u32,
    pub interval: u32,
}

impl RespawnLimit {
    /// The gem's default: 5 restarts in 10 seconds.
    pub const DEFAULT: Self = Self {
        count: 5,
        interval: 10,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Respawn {
    Off,
    On(Option<RespawnLimit>),
}

/// One process to supervise (one instance, when the label has a `count`).
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// The job's name within the app: the label, or `<label>_<i>` for an instance.
    pub name: Name,
    /// The job's process type: its Procfile label (the name, or the name without `_<i>`
    /// for an instance). A type's instances are consecutive in `App::jobs`.
    pub label: Name,
    /// `<prefix><app>-<name>`: the stem of every file generated for this job.
    pub full_name: String,
    pub command: Command,
    pub env: Env,
    pub working_directory: AbsPath,
    pub respawn: Respawn,
    /// Seconds between the stop signal and SIGKILL.
    pub kill_timeout: u32,
    /// The file the job's stdout and stderr are appended to.
    pub log: AbsPath,
    /// True when `log:` named that file, false for the default
    /// `<log_dir>/<prefix><app>/<job>.log` (which runit replaces by an svlogd directory).
    pub log_given: bool,
    /// Which instance of its process type this job is, from 0 (foreman's `web.1` is 0).
    pub instance: u32,
    /// The job's `PORT` (also in `env`), or `None` when the Procfile turned it off.
    pub port: Option<u16>,
    /// A one-shot job (`once: true`): run once when the app starts, never respawned.
    pub once: bool,
    /// Seconds between an exit and the restart; `None`: the init's default.
    pub respawn_delay: Option<u32>,
    /// The resource limits the job starts with, within the admin's `policy.max_limits`.
    pub limits: Rlimits,
    /// The stop signal; `None`: SIGTERM.
    pub kill_signal: Option<Signal>,
    /// Which processes the stop signal goes to; `None`: the backend's default.
    pub kill_mode: Option<KillMode>,
    /// The signal `reload` sends; `None`: the job cannot be reloaded.
    pub reload_signal: Option<Signal>,
    /// Run as the run user, in the job's directory and env, before the command starts.
    pub pre: Option<Command>,
    /// Run as the run user, in the job's directory and env, once the command has started.
    pub post: Option<Command>,
    /// cgroup settings (systemd only carries them all): one value shared by every instance
    /// of a process type (it is the largest part of a job, and a backend may make thousands
    /// of instances).
    pub resources: Arc<Resources>,
}
