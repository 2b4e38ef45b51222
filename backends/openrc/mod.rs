//! OpenRC: one `openrc-run` service script per process in `openrc_dir` (`/etc/init.d`) and a
//! meta service per app that needs them all, with one helper per process in
//! `openrc_helper_dir`. A process runs under `supervise-daemon` (`supervisor=`), which
//! restarts it up to `respawn_max` times in `respawn_period` seconds; one with `respawn: false`
//! has no supervisor (start-stop-daemon starts it once). `command_user` makes the helper the
//! run user before it runs; the helper opens its own log (no `output_log`, which OpenRC opens
//! as root), changes directory and exports the env (so it is root and the run group only).
//! `retry` is TERM (or the Procfile's kill_signal), the kill timeout, then KILL.

#[cfg(feature = "testing")]
pub mod check;

use super::view::{self, Helper};
use super::{render, Backend, Escape, Sink, Spec};
use crate::error::Result;
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs, State};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::app::App;
use crate::model::job::Job;
use crate::model::output::{Group, Output};
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;

/// Where the service scripts go.
const OPENRC_DIR: Key = Key::dir("openrc_dir", "/etc/init.d");
/// Where the helpers go (not in `openrc_dir`: everything there is a service).
const OPENRC_HELPER_DIR: Key = Key::dir("openrc_helper_dir", "/etc/procexport/openrc");

#[derive(Debug, Clone)]
pub struct Openrc {
    scripts: AbsPath,
    helpers: AbsPath,
}

impl Spec for Openrc {
    const NAME: &'static str = "openrc";
    const ABOUT: &'static str = "Export the Procfile as OpenRC services";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[OPENRC_DIR, OPENRC_HELPER_DIR];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        ("openrc/job", include_str!("../../templates/openrc/job.tera")),
        ("openrc/meta", include_str!("../../templates/openrc/meta.tera")),
    ];
    /// The limits through `prlimit` on openrc-run's own shell in `start_pre`, as root, so
    /// that the run user's process keeps them; the stop signal in `retry`; the respawn delay
    /// as supervise-daemon's `respawn_delay`; `pre` run by the helper, as the run user, before
    /// the command. Not `post` (nothing runs once the command has started) nor
    /// `reload_signal` (no reload command sends it yet).
    const CARRIES: &'static [&'static str] = &[
        "limits.nofile",
        "limits.nproc",
        "limits.memlock",
        "kill_signal",
        "pre",
        "respawn.delay",
    ];
    const FILTERS: &'static [(&'static str, Escape)] = &[];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            scripts: config.settings.dir(&OPENRC_DIR).clone(),
            helpers: config.settings.dir(&OPENRC_HELPER_DIR).clone(),
        })
    }
}

impl Backend for Openrc {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        // The app's script first, from the jobs' names alone; each job's files then stream out.
        let names: Vec<String> = app.job_full_names().collect();
        let mut context = tera::Context::new();
        context.insert("app", app);
        context.insert(
            "description",
            &format!("App {} ({})", app.name, app.full_name),
        );
        context.insert("job_names", &names);
        context.insert("jobs", &names.join(" "));
        context.insert("dir", &self.scripts);
        sink(Output::file(
            self.scripts.join(&app.full_name),
            render("openrc/meta", &context)?,
            0o755,
            Group::Root,
        ))?;
        drop(context);
        for ref job in app.jobs() {
            let helper = self.helpers.join(&format!("{}.sh", job.full_name));
            let mut context = job_context(app, job, &helper)?;
            view::job_and_helper(
                sink,
                view::JobFile {
                    path: self.scripts.join(&job.full_name),
                    template: "openrc/job",
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

impl Installer for Openrc {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![self.scripts.to_string(), self.helpers.to_string()]
    }

    /// OpenRC reads a service script when it runs it: nothing to reload; the next step says
    /// how to start the app.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            makes_log_dir: true,
            own_state_dir: None,
            legacy_files: Vec::new(),
            shared_names: None,
            next_step: Some(format!(
                "the services are in {}; start the app with rc-service <app> start, \
                 and at boot with rc-update add <app> default",
                Quoted(self.scripts.as_str())
            )),
        }
    }

    /// `<openrc_dir>/<full_name>` is the meta service, each `<full_name>-<job>` a process's.
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let mut jobs = Jobs::default();
        for (path, kind) in entries {
            let Some(name) = super::file_in(self.scripts.as_str(), path, *kind) else {
                continue;
            };
            if name == full_name {
                jobs.app = Some(name.to_owned());
            } else if name.strip_prefix(full_name).is_some_and(|t| t.starts_with('-')) {
                jobs.processes.push(name.to_owned());
            }
        }
        jobs
    }

    /// OpenRC booted this machine: it made `/run/openrc/softlevel`.
    fn init_running(&self, _disk: &mut Disk) -> bool {
        Disk::live_file_exists(OPENRC_SOFTLEVEL)
    }

    /// The meta service (whose stop stops the processes it lists), then each process that
    /// still runs (`--nodeps`: the meta service needs them); a service is stopped only when
    /// started.
    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        if let Some(app) = &jobs.app {
            if self.started(app)? {
                self.service(app, &["stop"])?;
            }
        }
        for job in &jobs.processes {
            if self.started(job)? {
                self.service(job, &["--nodeps", "stop"])?;
            }
        }
        Ok(())
    }

    /// Starting the meta service starts every process (it `need`s them), then any process
    /// still down is started; a restart stops everything first, so every process gets a new
    /// pid.
    fn control(&self, disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        match action {
            Action::Stop => return self.stop_jobs(disk, jobs),
            Action::Restart => self.stop_jobs(disk, jobs)?,
            Action::Start => {}
            Action::Reload => return Err(super::no_reload("openrc")),
        }
        if let Some(app) = &jobs.app {
            if !self.started(app)? {
                self.service(app, &["start"])?;
            }
        }
        for job in &jobs.processes {
            if !self.started(job)? {
                self.service(job, &["--nodeps", "start"])?;
            }
        }
        Ok(())
    }

    /// `<service> status`: 0 started, 3 stopped, 32 crashed (OpenRC's exit codes).
    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let mut lines = Vec::new();
        for job in jobs.all() {
            let script = self.scripts.join(job);
            let (state, detail) = if Disk::live_file_exists(&script) {
                let output = super::run_init_tool(&script, &["status"])?;
                let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                let state = match output.status.code() {
                    Some(0) => State::Active,
                    Some(3) => State::Stopped,
                    Some(32) => State::Failed,
                    _ => State::Unknown,
                };
                (state, said)
            } else {
                (State::Unknown, format!("no {}", Quoted(&script)))
            };
            lines.push(JobStatus {
                job: job.to_owned(),
                state,
                detail,
            });
        }
        Ok(lines)
    }
}

/// The file only a booted OpenRC makes (`rc-status` and openrc-run read it).
const OPENRC_SOFTLEVEL: &str = "/run/openrc/softlevel";

impl Openrc {
    /// True when service `job` is started (`status` exits 0); false when stopped, crashed or
    /// gone.
    fn started(&self, job: &str) -> Result<bool> {
        let script = self.scripts.join(job);
        if !Disk::live_file_exists(&script) {
            return Ok(false);
        }
        Ok(super::run_init_tool(&script, &["status"])?.status.success())
    }

    /// Runs service script `job` (by its absolute path: openrc-run reads it) with `args`.
    fn service(&self, job: &str, args: &[&str]) -> Result<()> {
        let script = self.scripts.join(job);
        let output = super::run_init_tool(&script, args)?;
        if output.status.success() {
            return Ok(());
        }
        Err(super::tool_failed(&script, args, &output))
    }
}

/// OpenRC's words in the shared helper.
const HELPER: Helper = Helper {
    role: ", an OpenRC service",
    runs_as: "openrc-run starts this as the run user (command_user): every line below runs as that user.",
};

fn job_context(app: &App, job: &Job, helper: &str) -> Result<tera::Context> {
    let mut context = view::job_context(app, job);
    context.insert(
        "description",
        &format!("Process {} of app {} ({})", job.name, app.name, job.full_name),
    );
    // openrc-run passes command_args and directory through eval: one word each, quoted for
    // that second reading.
    context.insert(
        "helper_word",
        &super::escape::sh(helper)
            .map_err(|why| crate::error::Error::unsupported("openrc", "the helper path", why))?,
    );
    context.insert(
        "directory_word",
        &super::escape::sh(job.working_directory.as_str()).map_err(|why| {
            crate::error::Error::unsupported("openrc", "the working directory", why)
        })?,
    );
    context.insert("helper", helper);
    context.insert("pidfile", &format!("/run/{}.pid", job.full_name));
    context.insert(
        "user_group",
        &format!("{}:{}", app.run_as.user, app.run_as.group),
    );
    let signal = job.kill_signal.map_or("TERM", |s| s.name());
    context.insert("retry", &format!("{signal}/{}/KILL/5", job.kill_timeout));
    context.insert("pre_first", &job.pre.is_some());
    context.insert("prlimit", &view::prlimit_options(job));
    Ok(context)
}
