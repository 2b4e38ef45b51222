//! systemd user units (`procexport systemd-user`), for a deploy user without sudo: the same
//! units as the systemd backend, without `User=`/`Group=` (the user's own manager runs them as
//! that user), in the invoking user's `~/.config/systemd/user`, enabled into `default.target`,
//! with the env in `~/.config/procexport/env` (the user's alone, 0600) and the manifests in
//! `~/.local/state/procexport`. No root is involved: it is refused as root (through sudo or not)
//! unless the files go under `--root`, and `run_user` must be the user running it (checked
//! before anything is written, by `check_target`). Output goes
//! to the user's journal, or to the `log:` file when one is given. After a change,
//! `systemctl --user daemon-reload` when that user's manager runs.

#[cfg(feature = "testing")]
pub mod check;

use super::view;
use super::{render, Backend, Escape, Sink, Spec};
use crate::error::{Error, Result};
use crate::backends::systemd::systemctl::{self, Manager};
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs, Target};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::app::App;
use crate::model::job::Job;
use crate::model::output::{Group, Output};
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;
use std::process::{Command, Stdio};

/// Where the user units go.
const SYSTEMD_USER_DIR: Key = Key::home_dir("systemd_user_dir", "~/.config/systemd/user");
/// Where the jobs' environment files go.
const SYSTEMD_USER_ENV_DIR: Key =
    Key::home_dir("systemd_user_env_dir", "~/.config/procexport/env");
/// Where this backend keeps its manifests and locks (the config's `state_dir` is root's).
const SYSTEMD_USER_STATE_DIR: Key =
    Key::home_dir("systemd_user_state_dir", "~/.local/state/procexport");

const SYSTEMCTL: &str = "/bin/systemctl";

#[derive(Debug, Clone)]
pub struct SystemdUser {
    units: AbsPath,
    env_files: AbsPath,
    state: AbsPath,
    /// The user running procexport, whose manager runs the units.
    euid: u32,
    /// The config's run user (name, uid), which must be that user for a live install.
    run_user: (String, u32),
}

impl Spec for SystemdUser {
    const NAME: &'static str = "systemd-user";
    const ABOUT: &'static str =
        "Export the Procfile as systemd user units of the user running procexport (no sudo)";
    const KEYS: &'static [Key] = &[SYSTEMD_USER_DIR, SYSTEMD_USER_ENV_DIR, SYSTEMD_USER_STATE_DIR];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        (
            "systemd_user/app.target",
            include_str!("../../templates/systemd_user/app.target.tera"),
        ),
        (
            "systemd_user/job.service",
            include_str!("../../templates/systemd_user/job.service.tera"),
        ),
    ];
    /// systemd's own filters (`systemd_word`, `systemd_exec`, ...) serve: the format is the same.
    /// Not `depends` (a user manager cannot see the system's units), nor the IP lists (they
    /// need privileges a user manager lacks) nor the io limits (the io controller is not
    /// delegated to user managers by default): those are refused, the io weights dropped.
    const CARRIES: &'static [&'static str] = &[
        "limits.nofile",
        "limits.nproc",
        "limits.memlock",
        "kill_signal",
        "kill_mode",
        "reload_signal",
        "pre",
        "post",
        "respawn.delay",
        "start_on_device",
        "resources.cpu_weight",
        "resources.startup_cpu_weight",
        "resources.cpu_quota",
        "resources.cpu_affinity",
        "resources.memory_low",
        "resources.memory_high",
        "resources.memory_max",
        "resources.memory_swap_max",
        "resources.task_max",
    ];
    const FILTERS: &'static [(&'static str, Escape)] = &[];
    const FOR_INVOKING_USER: bool = true;

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            units: config.settings.dir(&SYSTEMD_USER_DIR).clone(),
            env_files: config.settings.dir(&SYSTEMD_USER_ENV_DIR).clone(),
            state: config.settings.dir(&SYSTEMD_USER_STATE_DIR).clone(),
            euid: rustix::process::geteuid().as_raw(),
            run_user: (config.run_as.user.clone(), config.run_as.uid),
        })
    }
}

impl Backend for SystemdUser {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        let target = self.units.join(&format!("{}.target", app.full_name));
        let mut context = tera::Context::new();
        context.insert("app", app);
        let services: Vec<String> = app.job_full_names().collect();
        context.insert("services", &services);
        sink(Output::file(
            target.clone(),
            render("systemd_user/app.target", &context)?,
            0o644,
            Group::Root,
        ))?;
        sink(Output::symlink(
            self.units
                .join(&format!("default.target.wants/{}.target", app.full_name)),
            target,
        ))?;
        for ref job in app.jobs() {
            let env_file = self.env_files.join(&format!("{}.env", job.full_name));
            let context = job_context(app, job, &env_file)?;
            sink(Output::file(
                self.units.join(&format!("{}.service", job.full_name)),
                render("systemd_user/job.service", &context)?,
                0o644,
                Group::Root,
            ))?;
            // The env values: the user's alone.
            sink(Output::file(
                env_file,
                render("systemd/job.env", &context)?,
                0o600,
                Group::Root,
            ))?;
        }
        Ok(())
    }
}

impl Installer for SystemdUser {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![
            self.units.to_string(),
            self.env_files.to_string(),
            self.units.join("default.target.wants"),
        ]
    }

    /// The manifests are in the user's home; the jobs log to the journal or to their own
    /// `log:` file (`<log_dir>` is root's).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            makes_log_dir: false,
            own_state_dir: Some(self.state.clone()),
            legacy_files: Vec::new(),
            shared_names: None,
            next_step: None,
        }
    }

    /// Refused as root on the live system (root's own user manager would run the jobs as
    /// root), and when `run_user` is not the user running procexport (the units have no
    /// `User=`: they run as the user whose manager runs them). Under `--root` both are
    /// allowed: the files are for another system (packaging, the tests' dry runs).
    fn check_target(&self, target: Target) -> Result<()> {
        if target == Target::Root {
            return Ok(());
        }
        if self.euid == 0 {
            return Err(Error::refused(
                "systemd-user installs user units for the user running procexport, and root's \
                 own user manager would run the jobs as root: run it as the deploy user, \
                 without sudo"
                    .to_owned(),
            ));
        }
        let (name, uid) = &self.run_user;
        if *uid != self.euid {
            return Err(Error::refused(format!(
                "run_user {} (uid {uid}) is not the user running procexport (uid {}): systemd \
                 user units run as the user whose manager runs them; set run_user and run_group \
                 to your own account",
                Quoted(name),
                self.euid
            )));
        }
        Ok(())
    }

    /// `systemctl --user daemon-reload`, then forgets the failed state of the units whose
    /// files went, as the systemd backend does.
    fn after_apply(&self, target: Target, dropped: &Jobs) -> Result<()> {
        let runtime = self.runtime();
        let skipped = match target {
            Target::LiveNoReload => Some("--no-reload was given".to_owned()),
            Target::Root => Some("the files went under --root, not to this system".to_owned()),
            Target::Live if !Disk::live_exists(&format!("{runtime}/systemd/private")) => {
                Some(format!(
                    "your user manager is not running (no {runtime}/systemd/private); it reads \
                     the units when it starts (loginctl enable-linger starts it at boot)"
                ))
            }
            Target::Live => None,
        };
        if let Some(why) = skipped {
            crate::error::warn(&format!("did not run systemctl --user daemon-reload: {why}"));
            return Ok(());
        }
        let output = Command::new(SYSTEMCTL)
            .args(["--user", "daemon-reload"])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                Error::io(
                    format!("the files are installed, but running {SYSTEMCTL} --user daemon-reload failed"),
                    e,
                )
            })?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            return Err(
                Error::tool(SYSTEMCTL, "--user daemon-reload", &output, &said).after_install(),
            );
        }
        let manager = Manager::User { runtime: &runtime };
        let units: Vec<&str> = dropped.all().collect();
        let failed: Vec<String> = systemctl::show_in(manager, &units)?
            .into_iter()
            .filter(|u| u.active == "failed")
            .map(|u| u.id)
            .collect();
        let failed: Vec<&str> = failed.iter().map(String::as_str).collect();
        systemctl::act_in(manager, "reset-failed", &failed)
    }

    /// `<systemd_user_dir>/<full_name>.target` is the app, each `<full_name>-<job>.service` a
    /// process (as for the systemd backend).
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let mut jobs = Jobs::default();
        for (path, kind) in entries {
            let Some(name) = super::file_in(self.units.as_str(), path, *kind) else {
                continue;
            };
            if name == format!("{full_name}.target") {
                jobs.app = Some(name.to_owned());
            } else if name.ends_with(".service") {
                jobs.processes.push(name.to_owned());
            }
        }
        jobs
    }

    /// The running user's manager answers (its private socket is there); never root's (this
    /// backend is refused as root).
    fn init_running(&self, _disk: &mut Disk) -> bool {
        self.euid != 0 && Disk::live_exists(&format!("{}/systemd/private", self.runtime()))
    }

    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        let units: Vec<&str> = jobs.all().collect();
        systemctl::act_in(Manager::User { runtime: &self.runtime() }, "stop", &units)
    }

    /// As the systemd backend: failures forgotten first, every unit started, a restart of
    /// the target alone (PartOf= restarts each service once).
    fn control(&self, disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        let runtime = self.runtime();
        let manager = Manager::User { runtime: &runtime };
        let units: Vec<&str> = jobs.all().collect();
        if action == Action::Stop {
            return self.stop_jobs(disk, jobs);
        }
        if action == Action::Reload {
            // Each service's ExecReload= sends its reload_signal; the target has none.
            let services: Vec<&str> = jobs.processes.iter().map(String::as_str).collect();
            return systemctl::act_in(manager, "reload", &services);
        }
        let failed: Vec<String> = systemctl::show_in(manager, &units)?
            .into_iter()
            .filter(|u| u.active == "failed")
            .map(|u| u.id)
            .collect();
        let failed: Vec<&str> = failed.iter().map(String::as_str).collect();
        systemctl::act_in(manager, "reset-failed", &failed)?;
        match (action, &jobs.app) {
            (Action::Restart, Some(target)) => systemctl::act_in(manager, "restart", &[target]),
            (Action::Restart, None) => systemctl::act_in(manager, "restart", &units),
            _ => systemctl::act_in(manager, "start", &units),
        }
    }

    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let units: Vec<&str> = jobs.all().collect();
        Ok(systemctl::show_in(Manager::User { runtime: &self.runtime() }, &units)?
            .into_iter()
            .map(|unit| JobStatus {
                state: unit.live_state(),
                detail: unit.detail(),
                job: unit.id,
            })
            .collect())
    }

    fn init_missing(&self, _jobs: &Jobs) -> Option<String> {
        Some(if self.euid == 0 {
            "systemd-user acts on the user manager of the user running procexport: run it as \
             the deploy user, without sudo"
                .to_owned()
        } else {
            format!(
                "your user manager is not running (no {}/systemd/private): log in, or ask an \
                 admin for loginctl enable-linger",
                self.runtime()
            )
        })
    }
}

impl SystemdUser {
    /// The running user's runtime directory, where its manager's sockets are.
    fn runtime(&self) -> String {
        format!("/run/user/{}", self.euid)
    }

}

fn job_context(app: &App, job: &Job, env_file: &str) -> Result<tera::Context> {
    let mut context = view::job_context(app, job);
    // The journal unless `log:` names a file.
    context.insert("journal", &!job.log_given);
    let script = render("systemd/start.sh", &context)?;
    context.insert("script", script.trim_end_matches('\n'));
    context.insert("env_file", env_file);
    super::systemd::insert_hook_scripts(&mut context, job)?;
    view::insert_resources(&mut context, job, <SystemdUser as Spec>::CARRIES);
    Ok(context)
}
