//! SysV init: one LSB init script per app in `sysv_dir` (`/etc/init.d`), with the headers
//! `insserv`, `update-rc.d` and systemd's sysv generator read, and two scripts per process in
//! `sysv_helper_dir`: a respawn wrapper and the helper it runs.
//!
//! The init script runs as root and only starts, signals and checks the wrappers: each is
//! started by `start-stop-daemon --chuid` (the run user before the wrapper runs its first
//! line), its pid file is kept in `sysv_pid_dir`, a root-owned directory, and `stop` sends TERM
//! with `--retry` (KILL after the kill timeout and a grace). The wrapper, already the run user,
//! runs the helper, restarts it as the respawn settings say (sysvinit has no respawn for
//! daemons: the wrapper carries it, the limit too), and on TERM passes it on, waits the kill
//! timeout and sends KILL. The helper opens its log, changes directory, exports the env (so it
//! is root and the run group only) and execs the command. `start` and `stop` also stop a job an
//! earlier export had and this one dropped (its pid file is still there).

mod escape;
#[cfg(feature = "testing")]
pub mod check;

use super::view::{self, Helper};
use super::{Backend, Escape, Sections, Sink, Spec};
use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs, State};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::app::App;
use crate::model::job::Job;
use crate::model::output::{Group, Output};
use crate::model::runlevel::Runlevels;
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;
use serde::Serialize;

/// Where the init scripts go.
const SYSV_DIR: Key = Key::dir("sysv_dir", "/etc/init.d");
/// Where the wrappers and helpers go (not in `sysv_dir`: everything there is an init script).
const SYSV_HELPER_DIR: Key = Key::dir("sysv_helper_dir", "/etc/procexport/sysv");
/// Where the init scripts keep the wrappers' pid files, one directory per app (made by the
/// script, as root, mode 0755).
const SYSV_PID_DIR: Key = Key::dir("sysv_pid_dir", "/run/procexport/sysv");

#[derive(Debug, Clone)]
pub struct Sysv {
    scripts: AbsPath,
    helpers: AbsPath,
    pids: AbsPath,
}

impl Spec for Sysv {
    const NAME: &'static str = "sysv";
    const ABOUT: &'static str = "Export the Procfile as a SysV (LSB) init script";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[SYSV_DIR, SYSV_HELPER_DIR, SYSV_PID_DIR];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        ("sysv/init", include_str!("../../templates/sysv/init.tera")),
        (
            "sysv/init_job",
            include_str!("../../templates/sysv/init_job.tera"),
        ),
        (
            "sysv/wrapper",
            include_str!("../../templates/sysv/wrapper.tera"),
        ),
    ];
    /// The limits through `prlimit` in the init script, as root, before start-stop-daemon
    /// drops to the run user; the stop signal and the respawn delay in the wrapper; `pre` run
    /// by the helper, as the run user, before the command. Not `post` (nothing runs once the
    /// command has started) nor `reload_signal` (the init script has no reload action).
    const CARRIES: &'static [&'static str] = &[
        "limits.nofile",
        "limits.nproc",
        "limits.memlock",
        "kill_signal",
        "pre",
        "respawn.delay",
    ];
    const FILTERS: &'static [(&'static str, Escape)] = &[("lsb_word", escape::lsb_word)];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            scripts: config.settings.dir(&SYSV_DIR).clone(),
            helpers: config.settings.dir(&SYSV_HELPER_DIR).clone(),
            pids: config.settings.dir(&SYSV_PID_DIR).clone(),
        })
    }
}

/// The lists of jobs in the init script, in order: the part of `sysv/init` before each, and
/// the part of `sysv/init_job` that is a job's line in it (`end` is the text after the last).
const LISTS: [&str; 4] = ["is_job", "start", "stop", "status"];

#[derive(Serialize)]
struct JobView<'a> {
    name: &'a str,
    wrapper: String,
    kill_timeout: u32,
    /// `prlimit`'s options for the job's limits (none: started without prlimit).
    prlimit: Vec<String>,
}

/// The runlevels a set means, as digits 0-6 (`S` is runlevel 1).
fn levels(set: &Runlevels) -> Vec<char> {
    let listed: Vec<char> = set
        .listed()
        .map(|c| if c.is_ascii_digit() { c } else { '1' })
        .collect();
    ('0'..='6')
        .filter(|l| listed.contains(l) != set.negated())
        .collect()
}

/// `Default-Start` and `Default-Stop`: the start set's runlevels 1-5 (0 and 6 are halt and
/// reboot, where nothing starts), and the stop set's runlevels that are not start runlevels
/// (insserv refuses a runlevel in both).
pub fn lsb_runlevels(start: &Runlevels, stop: &Runlevels) -> Result<(String, String)> {
    let start_levels: Vec<char> = levels(start)
        .into_iter()
        .filter(|l| ('1'..='5').contains(l))
        .collect();
    if start_levels.is_empty() {
        return Err(Error::unsupported(
            "sysv",
            format!("start_on_runlevel {}", Quoted(start.as_str())),
            "an init script starts nothing on runlevels 0 and 6 (halt and reboot); give a set \
             with at least one runlevel from 1 to 5",
        ));
    }
    let stop_levels: Vec<char> = levels(stop)
        .into_iter()
        .filter(|l| !start_levels.contains(l))
        .collect();
    let join = |levels: &[char]| {
        levels
            .iter()
            .map(char::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok((join(&start_levels), join(&stop_levels)))
}

impl Backend for Sysv {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        let (default_start, stop) =
            lsb_runlevels(&app.start_on, &app.stop_on)?;
        // An empty header value is not valid LSB; 0 and 6 stop everything anyway.
        let default_stop = if stop.is_empty() { "0 6".to_owned() } else { stop };
        // The init script first, rendered a piece at a time (`Sections`): it lists every job
        // four times (`is_job`, `do_start`, `do_stop`, `do_status`), so each list is the
        // fixed text before it, then a line per job from a context of the app's header and
        // that one job, replaced in place for the next. Each job's files then stream out as
        // they are rendered.
        let script = self.scripts.join(&app.full_name);
        let mut context = tera::Context::new();
        context.insert("app", app);
        context.insert("script", &script);
        context.insert("default_start", &default_start);
        context.insert("default_stop", &default_stop);
        context.insert("pid_dir", &self.pids.join(&app.full_name));
        context.insert(
            "user_group",
            &format!("{}:{}", app.run_as.user, app.run_as.group),
        );
        let mut init = Sections::new(
            LISTS
                .len()
                .saturating_mul(usize::try_from(app.job_count()).unwrap_or(usize::MAX)),
        );
        for list in LISTS {
            context.insert("part", list);
            init.piece("sysv/init", &context)?;
            for ref job in app.jobs() {
                context.insert(
                    "job",
                    &JobView {
                        name: job.name.as_str(),
                        wrapper: self.wrapper(job),
                        kill_timeout: job.kill_timeout,
                        prlimit: view::prlimit_options(job),
                    },
                );
                init.section("sysv/init_job", &context)?;
            }
        }
        context.insert("part", "end");
        init.piece("sysv/init", &context)?;
        drop(context);
        sink(Output::file(script, init.finish()?, 0o755, Group::Root))?;
        for ref job in app.jobs() {
            let helper = self.helpers.join(&format!("{}.sh", job.full_name));
            let mut context = view::job_context(app, job);
            context.insert("helper", &helper);
            context.insert("pre_first", &job.pre.is_some());
            view::job_and_helper(
                sink,
                view::JobFile {
                    path: self.wrapper(job),
                    template: "sysv/wrapper",
                    mode: 0o755,
                },
                helper,
                &mut context,
                &HELPER,
            )?;
        }
        Ok(())
    }
}

impl Installer for Sysv {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![self.scripts.to_string(), self.helpers.to_string()]
    }

    /// An init script needs no reload; it is started at boot once it is enabled, which
    /// procexport leaves to the admin (it writes no links into `/etc/rc?.d`): the next step
    /// says how.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            makes_log_dir: true,
            own_state_dir: None,
            legacy_files: Vec::new(),
            shared_names: None,
            next_step: Some(format!(
                "the init script is in {}; enable it at boot with update-rc.d \
                 <name> defaults, and (re)start it with procexport restart -n <app> (or {}/<name> \
                 restart)",
                Quoted(self.scripts.as_str()),
                self.scripts.as_str().trim_end_matches('/')
            )),
        }
    }

    /// The init script `<sysv_dir>/<full_name>` is the app's job (it starts, stops and asks of
    /// every process); each wrapper `<sysv_helper_dir>/<full_name>-<job>.respawn` is a process.
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let mut jobs = Jobs::default();
        for (path, kind) in entries {
            if super::file_in(self.scripts.as_str(), path, *kind) == Some(full_name) {
                jobs.app = Some(full_name.to_owned());
            }
            let wrapper = super::file_in(self.helpers.as_str(), path, *kind)
                .and_then(|name| name.strip_suffix(".respawn"))
                .filter(|name| name.strip_prefix(full_name).is_some_and(|t| t.starts_with('-')));
            if let Some(name) = wrapper {
                jobs.processes.push(name.to_owned());
            }
        }
        jobs
    }

    /// The init script is what runs the jobs, and it runs wherever the files are the live
    /// system's.
    fn init_running(&self, _disk: &mut Disk) -> bool {
        true
    }

    /// A clean (the script goes too): `<script> stop`, every job and every pid file left by an
    /// earlier export. A shrinking export (the new script is in place): `<script>
    /// stop-dropped`, the jobs whose pid files no job of the new script has.
    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        let Some(script) = self.script_of(jobs) else {
            return Ok(());
        };
        if !Disk::live_file_exists(&script) {
            return Ok(());
        }
        let verb = if jobs.app.is_some() { "stop" } else { "stop-dropped" };
        Self::run(&script, verb).map(drop)
    }

    /// `<script> start|stop|restart` (a restart stops every wrapper and starts it again: a new
    /// pid each).
    fn control(&self, _disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        let Some(script) = jobs.app.as_ref().map(|app| self.scripts.join(app)) else {
            return Err(Error::failed(
                "the app's manifest lists no init script".to_owned(),
            ));
        };
        match action {
            Action::Start | Action::Stop | Action::Restart => {
                Self::run(&script, action.verb()).map(drop)
            }
            Action::Reload => Err(super::no_reload("sysv")),
        }
    }

    /// `<script> status`: a line per process (`web: running (pid N)`, `web: not running`);
    /// the app is active when every process runs (exit 0), stopped otherwise (LSB 3).
    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let Some(app) = &jobs.app else {
            return Ok(Vec::new());
        };
        let script = self.scripts.join(app);
        if !Disk::live_file_exists(&script) {
            return Ok(jobs
                .all()
                .map(|job| JobStatus {
                    job: job.to_owned(),
                    state: State::Unknown,
                    detail: format!("no init script {}", Quoted(&script)),
                })
                .collect());
        }
        let args = ["status"];
        let output = super::run_init_tool(&script, &args)?;
        let code = output.status.code();
        if !matches!(code, Some(0 | 3)) {
            return Err(super::tool_failed(&script, &args, &output));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let mut lines = vec![JobStatus {
            job: app.clone(),
            state: if code == Some(0) {
                State::Active
            } else {
                State::Stopped
            },
            detail: format!("{} status: exit {}", Quoted(&script), code.unwrap_or(-1)),
        }];
        for job in &jobs.processes {
            let name = job
                .strip_prefix(app.as_str())
                .and_then(|t| t.strip_prefix('-'))
                .unwrap_or(job);
            lines.push(status_line(job, name, &text));
        }
        Ok(lines)
    }
}

/// What the script's `status` said of process `name` (job `job`).
fn status_line(job: &str, name: &str, text: &str) -> JobStatus {
    let said = text
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")));
    let state = match said {
        Some(s) if s.starts_with("running") => s
            .split("(pid ")
            .nth(1)
            .and_then(|p| p.trim_end_matches(')').parse().ok())
            .map_or(State::Starting, |pid| State::Running { pid }),
        Some("not running") => State::Stopped,
        _ => State::Unknown,
    };
    JobStatus {
        job: job.to_owned(),
        state,
        detail: said.map_or_else(|| "not in the script's status".to_owned(), str::to_owned),
    }
}

impl Sysv {
    /// A job's respawn wrapper.
    fn wrapper(&self, job: &Job) -> String {
        self.helpers.join(&format!("{}.respawn", job.full_name))
    }

    /// The app's init script: the one `jobs` names, else the one of the app's full name.
    fn script_of(&self, jobs: &Jobs) -> Option<String> {
        let app = jobs.app.as_deref().unwrap_or(&jobs.full_name);
        (!app.is_empty()).then(|| self.scripts.join(app))
    }

    /// Runs the init script with `verb` (as root, by its absolute path, with an empty
    /// environment); what it printed.
    fn run(script: &str, verb: &str) -> Result<String> {
        let output = super::run_init_tool(script, &[verb])?;
        if !output.status.success() {
            return Err(super::tool_failed(script, &[verb], &output));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// sysv's words in the shared helper.
const HELPER: Helper = Helper {
    role: ", run by its respawn wrapper",
    runs_as: "The respawn wrapper runs this as the run user (start-stop-daemon --chuid started it): every line below runs as that user.",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn map(start: &str, stop: &str) -> Result<(String, String), String> {
        let parse = |s: &str| Runlevels::parse(s, "runlevel").unwrap();
        lsb_runlevels(&parse(start), &parse(stop)).map_err(|e| e.to_string())
    }

    #[test]
    fn runlevel_sets_become_lsb_headers() {
        assert_eq!(map("[2345]", "[!2345]").unwrap(), ("2 3 4 5".into(), "0 1 6".into()));
        assert_eq!(map("[35]", "[016]").unwrap(), ("3 5".into(), "0 1 6".into()));
        assert_eq!(map("[2345]", "[2345]").unwrap(), ("2 3 4 5".into(), String::new()));
        assert_eq!(map("[S]", "[!S]").unwrap(), ("1".into(), "0 2 3 4 5 6".into()));
        assert!(map("[06]", "[2345]").is_err());
    }
}
