//! Upstart, at parity with the upstart-exporter gem: a master job per app, a job and a helper
//! script per process. Where the gem ran root shell code in each job (touch, chown, `>>` on
//! the log, `sudo -u`), procexport's jobs use Upstart's own `setuid`/`setgid`, and the helper,
//! already the run user, opens its own log.

mod escape;
pub mod initctl;
mod legacy;
#[cfg(any(test, feature = "testing"))]
pub mod stanza_check;
#[cfg(feature = "testing")]
mod check;

use super::view::{self, Helper};
use super::{render, Backend, Escape, Sink, Spec};
use crate::error::Result;
use crate::install::disk::Disk;
use crate::install::installer::{
    Action, Adoption, Capabilities, Installer, JobStatus, Jobs, LegacyFile, LegacyFiles,
    State, Target,
};
use crate::install::manifest::EntryKind;
use initctl::Initctl;
use crate::model::config::{Config, Key};
use crate::sanitize::Quoted;
use crate::model::app::App;
use crate::model::job::Job;
use crate::model::output::{Group, Output};
use crate::model::text::AbsPath;

/// Where job files go (the gem's key).
const UPSTART_DIR: Key = Key::dir("upstart_dir", "/etc/init");
/// Where the helper scripts go (the gem's key).
const HELPER_DIR: Key = Key::dir("helper_dir", "/var/local/upstart_helpers");
/// The initctl that reaches the running Upstart.
const UPSTART_INITCTL: Key = Key::file("upstart_initctl", "/sbin/initctl");
/// A session init's address (`unix:abstract=...`) to reach instead of the system init; empty
/// for the system init. Read from the config only, never from the (caller's) environment.
const UPSTART_SESSION: Key = Key::text("upstart_session", "");

#[derive(Debug, Clone)]
pub struct Upstart {
    jobs: AbsPath,
    helpers: AbsPath,
    initctl: Initctl,
}

impl Spec for Upstart {
    const NAME: &'static str = "upstart";
    const ABOUT: &'static str = "Export the Procfile as Upstart jobs";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[UPSTART_DIR, HELPER_DIR, UPSTART_INITCTL, UPSTART_SESSION];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        (
            "upstart/master.conf",
            include_str!("../../templates/upstart/master.conf.tera"),
        ),
        (
            "upstart/job.conf",
            include_str!("../../templates/upstart/job.conf.tera"),
        ),
    ];
    /// Not `kill_mode` (Upstart signals the job's whole process group, always), nor
    /// `respawn.delay` (Upstart 1.13 has no such stanza), nor `resources` (no cgroups).
    const CARRIES: &'static [&'static str] = &[
        "limits.nofile",
        "limits.nproc",
        "limits.memlock",
        "kill_signal",
        "reload_signal",
        "pre",
        "post",
        "depends",
        "start_on_device",
    ];
    const FILTERS: &'static [(&'static str, Escape)] = &[("upstart_word", escape::upstart_word)];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            jobs: config.settings.dir(&UPSTART_DIR).clone(),
            helpers: config.settings.dir(&HELPER_DIR).clone(),
            initctl: Initctl {
                program: config.settings.file(&UPSTART_INITCTL).to_string(),
                session: config.settings.text(&UPSTART_SESSION).map(str::to_owned),
            },
        })
    }
}

impl Backend for Upstart {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        check_upstart_keys(app)?;
        let mut context = tera::Context::new();
        context.insert("app", app);
        // The master job starts after the app's dependencies (Upstart jobs: services only)
        // and its device, and with `strong_dependencies` stops when one of them stops.
        let stems: Vec<&str> = app
            .depends
            .units
            .iter()
            .filter_map(|u| u.service_stem())
            .collect();
        context.insert("depends_stems", &stems);
        context.insert("strong", &app.depends.strong);
        context.insert("device", &app.start_on_device.as_ref().map(super::super::model::depends::DeviceName::as_str));
        sink(Output::file(
            self.jobs.join(&format!("{}.conf", app.full_name)),
            render("upstart/master.conf", &context)?,
            0o644,
            Group::Root,
        ))?;
        for ref job in app.jobs() {
            let helper = self.helpers.join(&format!("{}.sh", job.full_name));
            let mut context = job_context(app, job, &helper);
            view::job_and_helper(
                sink,
                view::JobFile {
                    path: self.jobs.join(&format!("{}.conf", job.full_name)),
                    template: "upstart/job.conf",
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

/// Upstart reads a changed job file by itself (inotify), so there is nothing to reload. Its
/// jobs are started, stopped and asked about through initctl.
impl Installer for Upstart {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![self.jobs.to_string(), self.helpers.to_string()]
    }

    /// The gem wrote `<app>.conf` and `<app>-<job>.conf` jobs, and helpers beside them.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            makes_log_dir: true,
            own_state_dir: None,
            legacy_files: vec![
                LegacyFiles {
                    dir: self.jobs.to_string(),
                    suffix: ".conf",
                },
                LegacyFiles {
                    dir: self.helpers.to_string(),
                    suffix: ".sh",
                },
            ],
            shared_names: None,
            next_step: None,
        }
    }

    /// The gem's templates prove its files (see `legacy.rs`): the chain each process job names.
    fn legacy_proven(&self, full_name: &str, found: &[LegacyFile], wanted: &[&str]) -> Vec<String> {
        legacy::proven(
            self.jobs.as_str(),
            self.helpers.as_str(),
            full_name,
            found,
            wanted,
        )
    }

    fn adopt_places(&self) -> Vec<LegacyFiles> {
        vec![LegacyFiles {
            dir: self.jobs.to_string(),
            suffix: ".conf",
        }]
    }

    /// foreman's and honcho's upstart exports (`backends/adopt.rs`).
    fn adopt_proven(&self, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
        super::adopt::upstart(self.jobs.as_str(), full_name, found)
    }

    /// `<upstart_dir>/<full_name>.conf` is the master job, `<full_name>-<job>.conf` a process.
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let mut jobs = Jobs::default();
        for (path, kind) in entries {
            let Some(name) = path
                .strip_prefix(self.jobs.as_str().trim_end_matches('/'))
                .and_then(|r| r.strip_prefix('/'))
                .and_then(|r| r.strip_suffix(".conf"))
            else {
                continue;
            };
            if *kind != EntryKind::File || name.contains('/') {
                continue;
            }
            if name == full_name {
                jobs.app = Some(name.to_owned());
            } else {
                jobs.processes.push(name.to_owned());
            }
        }
        jobs
    }

    fn init_running(&self, _disk: &mut Disk) -> bool {
        self.initctl.reachable()
    }

    /// Upstart sees changed job files by itself (inotify) a moment later; a reload makes it
    /// read them now, so that a start right after the export finds the new jobs.
    fn after_apply(&self, target: Target, _dropped: &Jobs) -> Result<()> {
        if target == Target::Live && self.initctl.reachable() {
            self.initctl.reload_configuration()?;
        }
        Ok(())
    }

    /// The processes first, then the master job (whose stop would stop them too).
    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        for job in jobs.processes.iter().chain(&jobs.app) {
            if self.initctl.status(job)?.is_some_and(|s| s.wanted()) {
                self.initctl.act("stop", job)?;
            }
        }
        Ok(())
    }

    /// Starting the master job starts every process (`start on starting`); when it already
    /// runs, the processes that do not are started one by one. A restart stops everything
    /// first, so every process gets a new pid.
    fn control(&self, disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        match action {
            Action::Stop => return self.stop_jobs(disk, jobs),
            Action::Restart => self.stop_jobs(disk, jobs)?,
            Action::Start => {}
            // `initctl reload` sends each process job its `reload signal` (SIGHUP by default).
            Action::Reload => {
                for job in &jobs.processes {
                    self.initctl.act("reload", job)?;
                }
                return Ok(());
            }
        }
        let master_was_up = match &jobs.app {
            Some(app) => {
                let up = self.initctl.status(app)?.is_some_and(|s| s.wanted());
                if !up {
                    self.initctl.act("start", app)?;
                }
                up
            }
            None => true,
        };
        if master_was_up {
            for job in &jobs.processes {
                if self.initctl.status(job)?.is_some_and(|s| !s.wanted()) {
                    self.initctl.act("start", job)?;
                }
            }
        }
        Ok(())
    }

    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let mut lines = Vec::new();
        for job in jobs.all() {
            let has_process = jobs.app.as_deref() != Some(job);
            let (state, detail) = match self.initctl.status(job)? {
                Some(s) => (s.live_state(has_process), s.line),
                None => (State::Unknown, "initctl: Unknown job".to_owned()),
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

/// Upstart's words in the shared helper.
const HELPER: Helper = Helper {
    role: "",
    runs_as: "Upstart runs this after setuid/setgid: every line below runs as the run user.",
};

/// Refuses what the Upstart backend carries only in part: `kill_mode` other than
/// `control-group` (what Upstart does: it signals the process group) is left out of
/// `CARRIES`; a dependency that is not a service has no Upstart job to wait for.
fn check_upstart_keys(app: &App) -> Result<()> {
    if let Some(unit) = app.depends.units.iter().find(|u| u.service_stem().is_none()) {
        return Err(crate::model::capability::refuse_key(
            Upstart::NAME,
            "depends",
            &format!(
                "{} is not a service, and Upstart waits only for jobs (\"started NAME\"): \
                 name services only, or export with systemd",
                Quoted(unit.as_str())
            ),
        ));
    }
    Ok(())
}

fn job_context(app: &App, job: &Job, helper: &str) -> tera::Context {
    let mut context = view::job_context(app, job);
    context.insert("helper", helper);
    context
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// The size (in bytes of its debug form) of each job's template context, for an app of
    /// `count` instances of one job: the work every render of that job starts from.
    fn context_sizes(count: u32) -> Vec<usize> {
        let procfile =
            format!("version: 2\ncommands:\n  web:\n    command: a\n    count: {count}\n");
        let config = crate::model::config::Config::parse_with(
            "config",
            Some("run_user: pxrun\nrun_group: pxrun\n"),
            &crate::backends::keys(),
            crate::model::account::RunAs::unresolved,
        )
        .unwrap();
        let parsed = crate::procfile::parse("Procfile", procfile.as_bytes()).unwrap();
        let name = crate::model::name::Name::parse("app", "app name").unwrap();
        let dir = crate::model::text::AbsPath::parse("/srv/app", "dir").unwrap();
        let app = crate::procfile::assemble::assemble(
            &config,
            &parsed,
            &name,
            "Procfile",
            &dir,
            &crate::procfile::assemble::Options::default(),
        )
        .unwrap();
        assert_eq!(app.job_count(), u64::from(count));
        app.jobs()
            .map(|job| format!("{:?}", super::job_context(&app, &job, "/h/x.sh")).len())
            .collect()
    }

    /// Rendering grows with the number of jobs, not with its square: a job's context holds
    /// that job and what it needs of the app, never every job, so it is as big in a 1,000-job
    /// app as in a 200-job one (counted in bytes, not timed).
    #[test]
    fn a_job_context_does_not_grow_with_the_number_of_jobs() {
        let (small, large) = (context_sizes(200), context_sizes(1000));
        let widest = |sizes: &[usize]| sizes.iter().copied().max().unwrap();
        assert!(
            widest(&large) <= widest(&small) + 16,
            "200 jobs: {} bytes, 1000 jobs: {} bytes",
            widest(&small),
            widest(&large)
        );
        let outputs = crate::testing::preview::render(
            b"version: 2\ncommands:\n  web:\n    command: a\n    count: 1000\n",
            "app",
            "upstart",
            None,
        )
        .unwrap();
        assert_eq!(outputs.len(), 1 + 2 * 1000);
    }

    /// A helper whose env values need `printf` still passes `sh -n` and shellcheck.
    #[test]
    fn helper_with_control_characters_passes_shellcheck() {
        let procfile = "version: 2\ncommands:\n  web:\n    command: a\n    env: {A: \"\\e[2J\\r\", B: \"x\\ny\"}\n";
        let outputs = crate::testing::preview::render(procfile.as_bytes(), "app", "upstart", None).unwrap();
        let helper = outputs
            .iter()
            .find(|o| o.path.starts_with("/var/local/upstart_helpers/"))
            .unwrap();
        let contents = helper.contents.as_deref().unwrap();
        assert!(contents.contains("# shellcheck disable=SC2016,SC2155\n"));
        assert!(
            contents.contains("export A=\"$(printf '\\033')\""),
            "{contents}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("helper.sh");
        std::fs::write(&path, contents).unwrap();
        for (tool, args) in [
            ("sh", vec!["-n"]),
            ("shellcheck", vec!["--shell=sh", "--severity=style"]),
        ] {
            let output = Command::new(tool)
                .args(args)
                .arg(&path)
                .output()
                .expect(tool);
            assert!(
                output.status.success(),
                "{tool}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
