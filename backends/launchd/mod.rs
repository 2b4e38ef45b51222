//! launchd (macOS): one property list per process in `launchd_dir` (`/Library/LaunchDaemons`,
//! root:wheel 0644, as launchd requires), with `UserName`/`GroupName`, `WorkingDirectory`,
//! `ProgramArguments` (`/bin/sh -c` exec of the helper), `KeepAlive`, `ThrottleInterval` and
//! `ExitTimeOut`; and one helper per process in `launchd_helper_dir` (root and the run group,
//! 0750: it holds the env values, which a plist, readable by every user, must not). The helper
//! opens its own log as the run user, so no `StandardOutPath`/`StandardErrorPath` (which
//! launchd opens itself) and no `EnvironmentVariables` (every user can read a plist).
//! It cannot run here (no launchd on Linux): the tests read every plist with a real plist
//! parser (Python's plistlib) and check it against Apple's DTD's structure.

mod escape;
#[cfg(feature = "testing")]
pub mod check;

use super::view::{self, Helper};
use super::{Backend, Escape, Sink, Spec};
use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::app::App;
use crate::model::job::{Job, Respawn};
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;

/// Where the daemons' property lists go.
const LAUNCHD_DIR: Key = Key::dir("launchd_dir", "/Library/LaunchDaemons");
/// Where the helpers go.
const LAUNCHD_HELPER_DIR: Key = Key::dir("launchd_helper_dir", "/Library/Application Support/procexport");

#[derive(Debug, Clone)]
pub struct Launchd {
    plists: AbsPath,
    helpers: AbsPath,
}

impl Spec for Launchd {
    const NAME: &'static str = "launchd";
    const ABOUT: &'static str = "Export the Procfile as launchd daemons (macOS)";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[LAUNCHD_DIR, LAUNCHD_HELPER_DIR];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        (
            "launchd/job.plist",
            include_str!("../../templates/launchd/job.plist.tera"),
        ),
    ];
    /// The limits as `SoftResourceLimits` and `HardResourceLimits` (finite ones only: a
    /// plist limit is a number); `pre` run by the helper, as the run user, before the
    /// command. Not `kill_signal` (launchd always sends TERM), `reload_signal`, `post` nor
    /// `respawn.delay` (`ThrottleInterval` counts from the start, not from the exit).
    const CARRIES: &'static [&'static str] = &["limits.nofile", "limits.nproc", "limits.memlock", "pre"];
    const FILTERS: &'static [(&'static str, Escape)] = &[("xml_text", escape::xml_text)];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            plists: config.settings.dir(&LAUNCHD_DIR).clone(),
            helpers: config.settings.dir(&LAUNCHD_HELPER_DIR).clone(),
        })
    }
}

/// launchd's `ThrottleInterval` for a respawn setting: it has no count of restarts, only the
/// least time between two starts, so "`count` in `interval` seconds" becomes `interval/count`
/// seconds between starts (at least 1); launchd's own default (10) otherwise.
pub fn throttle(respawn: Respawn) -> u32 {
    match respawn {
        Respawn::On(Some(limit)) => (limit.interval / limit.count.max(1)).max(1),
        _ => 10,
    }
}

impl Backend for Launchd {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        for ref job in app.jobs() {
            let helper = self.helpers.join(&format!("{}.sh", job.full_name));
            let mut context = job_context(app, job, &helper)?;
            view::job_and_helper(
                sink,
                view::JobFile {
                    path: self.plists.join(&format!("{}.plist", job.full_name)),
                    template: "launchd/job.plist",
                    mode: 0o644,
                },
                helper,
                &mut context,
                &HELPER,
            )?;
        }
        Ok(())
    }
}

impl Installer for Launchd {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![self.plists.to_string(), self.helpers.to_string()]
    }

    /// procexport does not run launchctl: the next step says how to load the daemons.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            makes_log_dir: true,
            own_state_dir: None,
            legacy_files: Vec::new(),
            shared_names: None,
            next_step: Some(format!(
                "load the daemons with launchctl bootstrap system {}/<app>-<job>.plist \
                 (procexport does not run launchctl)",
                self.plists.as_str().trim_end_matches('/')
            )),
        }
    }

    /// Each `<launchd_dir>/<full_name>-<job>.plist` is a daemon, named by its `Label` (the
    /// file's stem). launchd has no job for the whole app.
    fn jobs(&self, _full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let processes = entries
            .iter()
            .filter_map(|(path, kind)| super::file_in(self.plists.as_str(), path, *kind))
            .filter_map(|name| name.strip_suffix(".plist"))
            .filter(|label| !label.is_empty())
            .map(str::to_owned)
            .collect();
        Jobs {
            processes,
            ..Jobs::default()
        }
    }

    /// launchd is macOS's init: under Linux it never runs.
    fn init_running(&self, _disk: &mut Disk) -> bool {
        false
    }

    /// Never reached (`init_running` is false): a launchd daemon is stopped on the Mac.
    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        Err(self.not_here(jobs))
    }

    fn control(&self, _disk: &mut Disk, _action: Action, jobs: &Jobs) -> Result<()> {
        Err(self.not_here(jobs))
    }

    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        Err(self.not_here(jobs))
    }

    fn init_missing(&self, jobs: &Jobs) -> Option<String> {
        Some(format!(
            "launchd is not running here (it is macOS's init; there is none on Linux): {}",
            self.on_the_mac(jobs)
        ))
    }
}

impl Launchd {
    /// The `launchctl` commands that act on `jobs` on the Mac.
    fn on_the_mac(&self, jobs: &Jobs) -> String {
        let dir = self.plists.as_str().trim_end_matches('/');
        let plists: Vec<String> = jobs
            .processes
            .iter()
            .map(|label| format!("{dir}/{label}.plist"))
            .collect();
        let one = plists
            .first()
            .cloned()
            .unwrap_or_else(|| format!("{dir}/<label>.plist"));
        format!(
            "on the Mac, stop a daemon with sudo launchctl bootout system {one} and start it with \
             sudo launchctl bootstrap system {one} (the app's daemons: {}); sudo launchctl print \
             system/<label> shows its state",
            if plists.is_empty() {
                "none".to_owned()
            } else {
                plists.join(" ")
            }
        )
    }

    fn not_here(&self, jobs: &Jobs) -> Error {
        Error::failed(self.init_missing(jobs).unwrap_or_default())
    }
}

/// launchd's words in the shared helper.
const HELPER: Helper = Helper {
    role: ", a launchd daemon",
    runs_as: "launchd starts this as UserName and GroupName: every line below runs as them.",
};

fn job_context(app: &App, job: &Job, helper: &str) -> Result<tera::Context> {
    let mut context = view::job_context(app, job);
    let quoted = super::escape::sh(helper)
        .map_err(|why| Error::unsupported("launchd", "the helper path", why))?;
    context.insert("exec_helper", &format!("exec /bin/sh {quoted}"));
    context.insert("throttle", &throttle(job.respawn));
    context.insert("pre_first", &job.pre.is_some());
    context.insert("resource_limits", &resource_limits(job)?);
    Ok(context)
}

/// One limit in a plist's `SoftResourceLimits`/`HardResourceLimits`.
#[derive(serde::Serialize)]
struct PlistLimit {
    key: &'static str,
    value: u64,
}

/// The job's limits as launchd's `SoftResourceLimits`/`HardResourceLimits` keys, with their
/// values; `-1` (unlimited) is refused, as a plist limit is a number.
fn resource_limits(job: &Job) -> Result<Vec<PlistLimit>> {
    job.limits
        .set()
        .map(|(key, limit)| {
            let plist_key = match key {
                "nofile" => "NumberOfFiles",
                "nproc" => "NumberOfProcesses",
                _ => "MemoryLock",
            };
            match limit {
                crate::model::rlimit::Rlimit::Value(value) => Ok(PlistLimit {
                    key: plist_key,
                    value,
                }),
                crate::model::rlimit::Rlimit::Unlimited => Err(crate::model::capability::refuse_key(
                    Launchd::NAME,
                    &format!("limits.{key} -1 (unlimited)"),
                    &format!(
                        "job {} sets it, and a launchd limit ({plist_key}) is a number; write \
                         the number of the limit instead",
                        Quoted(job.name.as_str())
                    ),
                )),
            }
        })
        .collect()
}
