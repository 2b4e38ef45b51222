//! runit: a service directory per process under `runit_dir`, enabled by a link in
//! `runit_service_dir` (runsvdir starts what it finds there), the way foreman and honcho lay it
//! out, without their holes. Every script runsv starts as root drops to the run user with
//! `chpst` before it does anything else, so the app's log and working directories are only
//! ever touched by that user (foreman's `log/run` chowns the log directory as root). The env
//! lives in `env/`, one file a variable, root:run group 0640, read by `chpst -e`; it is part of
//! the manifest, so a variable dropped from the Procfile loses its file on the next export.
//!
//! runit has no respawn limit and never sends KILL by itself: `finish` (run as root after each
//! exit) keeps the times of recent exits in runsv's root-only `supervise/` and takes the service
//! down past the limit, and `control/t` (run by runsv before it sends TERM) leaves a watcher
//! that sends KILL after `kill_timeout`. Before a service directory is removed, its runsv is
//! asked to exit and waited for, then its `supervise/` is removed with it.

mod escape;
#[cfg(feature = "testing")]
mod check;
pub mod runsv;

use super::view;
use super::{render, Backend, Escape, Sink, Spec};
use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs, State};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::app::App;
use crate::model::job::Job;
use crate::model::output::{Group, Output};
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;
use runsv::SUPERVISE;
use std::time::Duration;

/// Where the service directories go.
const RUNIT_DIR: Key = Key::dir("runit_dir", "/etc/sv");
/// Where enabled services are linked (runsvdir starts what it finds there).
const RUNIT_SERVICE_DIR: Key = Key::dir("runit_service_dir", "/etc/service");

/// How long a removed service's runsv gets to stop it and exit before its directory is
/// removed (runsv itself waits 7 s in `sv stop`).
const STOP_WAIT: Duration = Duration::from_secs(10);

/// The longest file name in `env/`.
const MAX_FILE_NAME: usize = 255;

#[derive(Debug, Clone)]
pub struct Runit {
    services: AbsPath,
    enabled: AbsPath,
}

impl Spec for Runit {
    const NAME: &'static str = "runit";
    const ABOUT: &'static str = "Export the Procfile as runit services";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[RUNIT_DIR, RUNIT_SERVICE_DIR];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        ("runit/run", include_str!("../../templates/runit/run.tera")),
        (
            "runit/log_run",
            include_str!("../../templates/runit/log_run.tera"),
        ),
        (
            "runit/finish",
            include_str!("../../templates/runit/finish.tera"),
        ),
        (
            "runit/control_t",
            include_str!("../../templates/runit/control_t.tera"),
        ),
        (
            "runit/control_h",
            include_str!("../../templates/runit/control_h.tera"),
        ),
        ("runit/env", include_str!("../../templates/runit/env.tera")),
    ];
    /// Limits through `prlimit` as root before `chpst` drops to the run user; the signals
    /// through runsv's custom control (`control/t`, `control/h`); `pre` in `run` as the run
    /// user; the delay in `finish`. Not `post`: `run` execs the command, so nothing of it runs
    /// once the command has started. Not `kill_mode`: runsv signals the process alone.
    const CARRIES: &'static [&'static str] = &[
        "limits.nofile",
        "limits.nproc",
        "limits.memlock",
        "kill_signal",
        "reload_signal",
        "pre",
        "respawn.delay",
    ];
    const FILTERS: &'static [(&'static str, Escape)] = &[("envdir", escape::envdir)];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            services: config.settings.dir(&RUNIT_DIR).clone(),
            enabled: config.settings.dir(&RUNIT_SERVICE_DIR).clone(),
        })
    }
}

impl Backend for Runit {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        for ref job in app.jobs() {
            let service = self.services.join(&job.full_name);
            let mut context = job_context(app, job);
            // By its path: `run` has left the service directory for the job's own.
            context.insert("run_script", &format!("{service}/run"));
            let script = |name: &'static str| -> Result<String> { render(name, &context) };
            for output in [
                Output::dir(service.clone(), 0o755),
                Output::file(
                    format!("{service}/run"),
                    script("runit/run")?,
                    0o755,
                    Group::Root,
                ),
                Output::file(
                    format!("{service}/finish"),
                    script("runit/finish")?,
                    0o755,
                    Group::Root,
                ),
                Output::dir(format!("{service}/control"), 0o755),
                Output::file(
                    format!("{service}/control/t"),
                    script("runit/control_t")?,
                    0o755,
                    Group::Root,
                ),
            ] {
                sink(output)?;
            }
            if job.reload_signal.is_some() {
                sink(Output::file(
                    format!("{service}/control/h"),
                    script("runit/control_h")?,
                    0o755,
                    Group::Root,
                ))?;
            }
            for output in [
                Output::dir(format!("{service}/log"), 0o755),
                Output::file(
                    format!("{service}/log/run"),
                    script("runit/log_run")?,
                    0o755,
                    Group::Root,
                ),
                // The values are often secrets: root and the run group only.
                Output::dir_with_group(format!("{service}/env"), 0o750, Group::Run),
            ] {
                sink(output)?;
            }
            for (key, value) in job.env.iter() {
                sink(Output::file(
                    format!("{service}/env/{}", key.as_str()),
                    env_file(job, key.as_str(), value.as_str())?,
                    0o640,
                    Group::Run,
                ))?;
            }
            sink(Output::symlink(
                self.enabled.join(&job.full_name),
                service,
            ))?;
        }
        Ok(())
    }
}

impl Installer for Runit {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![self.services.to_string(), self.enabled.to_string()]
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            makes_log_dir: true,
            own_state_dir: None,
            legacy_files: Vec::new(),
            shared_names: None,
            next_step: None,
        }
    }

    /// The links are gone, so runsvdir lets the services go on its own within seconds;
    /// asking each runsv to exit now spares the wait, and waiting for it keeps its process
    /// from outliving its directory.
    fn release(&self, disk: &mut Disk, dirs: &[&str]) -> Result<()> {
        runsv::stop(disk, dirs, STOP_WAIT)?;
        for dir in dirs {
            disk.remove_runtime(dir, SUPERVISE)?;
        }
        Ok(())
    }

    /// Each service directory `<runit_dir>/<full_name>-<job>` is a job, named by its path.
    fn jobs(&self, _full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let mut jobs = Jobs::default();
        for (path, kind) in entries {
            let is_service = path
                .strip_prefix(self.services.as_str().trim_end_matches('/'))
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|name| !name.is_empty() && !name.contains('/'));
            if *kind == EntryKind::Dir && is_service {
                jobs.processes.push(path.clone());
            }
        }
        jobs
    }

    /// runsv is asked service by service (a service no runsv runs is left alone), so runit
    /// counts as running wherever the files are the live system's.
    fn init_running(&self, _disk: &mut Disk) -> bool {
        true
    }

    /// Its link is gone: the runsv is asked to stop the service and exit (see `release`).
    fn stop_jobs(&self, disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        let dirs: Vec<&str> = jobs.all().collect();
        runsv::stop(disk, &dirs, STOP_WAIT)
    }

    /// `sv up`, `sv down` (waited for) and `sv restart` (waited for a new pid), through
    /// each service's control fifo.
    fn control(&self, disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        let dirs: Vec<&str> = jobs.all().collect();
        let mut before = Vec::new();
        for dir in &dirs {
            let Some(status) = runsv::status(disk, dir)? else {
                return Err(Error::failed_at(&disk.host(dir), format!(
                    "no runsv runs {} (is runsvdir running on {}?)",
                    Quoted(&disk.host(dir)),
                    Quoted(&disk.host(self.enabled.as_str()))
                )));
            };
            before.push((dir.to_owned(), status.pid));
        }
        let letters: &[u8] = match action {
            Action::Start => b"u",
            Action::Stop => b"d",
            Action::Restart => b"tcu",
            // SIGHUP (runsv runs the service's control/h instead, where there is one).
            Action::Reload => b"h",
        };
        for dir in &dirs {
            for letter in letters {
                runsv::command(disk, dir, *letter)?;
            }
        }
        match action {
            Action::Start | Action::Reload => Ok(()),
            Action::Stop => runsv::wait(disk, &dirs, STOP_WAIT, "down", |_, s| {
                s.is_none_or(|s| s.state == 0)
            }),
            Action::Restart => runsv::wait(disk, &dirs, STOP_WAIT, "restarted", |dir, s| {
                let old = before.iter().find(|(d, _)| *d == dir).map_or(0, |(_, p)| *p);
                s.is_none_or(|s| s.state == 1 && s.pid != 0 && s.pid != old)
            }),
        }
    }

    fn status(&self, disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let mut lines = Vec::new();
        for dir in jobs.all() {
            let (state, detail) = match runsv::status(disk, dir)? {
                Some(s) => (s.live_state(), s.detail()),
                None => (State::Unknown, "no runsv runs it".to_owned()),
            };
            lines.push(JobStatus {
                job: dir.rsplit('/').next().unwrap_or(dir).to_owned(),
                state,
                detail,
            });
        }
        Ok(lines)
    }
}

/// The file `env/<key>`: the value as `chpst -e` reads it back exactly, or a clear refusal.
fn env_file(job: &Job, key: &str, value: &str) -> Result<String> {
    if key.len() > MAX_FILE_NAME {
        return Err(Error::unsupported(
            "runit",
            format!("env key {}... of {}", Quoted(&key[..40]), Quoted(&job.full_name)),
            format!(
                "it is {} bytes, and runit keeps each variable in a file named after it, whose \
                 name has at most {MAX_FILE_NAME}; use a shorter key",
                key.len()
            ),
        ));
    }
    let mut context = tera::Context::new();
    context.insert("value", value);
    escape::envdir(value).map_err(|why| {
        Error::Format(format!(
            "env value of {} in {} cannot be exported to runit: {why}",
            Quoted(key),
            Quoted(&job.full_name)
        ))
    })?;
    render("runit/env", &context)
}

/// The shared job view, and what runit's scripts add: `chpst`'s user and group, svlogd's directory.
fn job_context(app: &App, job: &Job) -> tera::Context {
    let mut context = view::job_context(app, job);
    context.insert(
        "user_group",
        &format!("{}:{}", app.run_as.user, app.run_as.group),
    );
    context.insert("svlogd_dir", &app.log_dir.join(job.name.as_str()));
    context
}
