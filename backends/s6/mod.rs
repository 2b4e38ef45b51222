//! s6: a service directory per process under `s6_dir`, enabled by a link in `s6_scan_dir`
//! (s6-svscan supervises what it finds there). `run` is the only code s6-supervise starts as
//! root before the job: its one command is `s6-setuidgid`, which runs the shared helper as the
//! run user. `finish` carries out `respawn: false` (exit 125), `timeout-kill` the kill timeout.

#[cfg(feature = "testing")]
mod check;

use super::view::{self, Helper};
use super::{render, Backend, Escape, Sink, Spec};
use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::job::App;
use crate::model::output::{Group, Output};
use crate::model::text::AbsPath;

/// Where the service directories go.
const S6_DIR: Key = Key::dir("s6_dir", "/etc/s6/sv");
/// Where enabled services are linked (s6-svscan's scan directory).
const S6_SCAN_DIR: Key = Key::dir("s6_scan_dir", "/etc/s6/service");

/// s6's words in the shared helper.
const HELPER: Helper = Helper {
    role: ", supervised by s6",
    runs_as: "s6-setuidgid started this as the run user: every line below runs as that user.",
};

#[derive(Debug, Clone)]
pub struct S6 {
    services: AbsPath,
    enabled: AbsPath,
}

impl Spec for S6 {
    const NAME: &'static str = "s6";
    const ABOUT: &'static str = "Export the Procfile as s6 service directories";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[S6_DIR, S6_SCAN_DIR];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        ("s6/run", include_str!("../../templates/s6/run.tera")),
        ("s6/finish", include_str!("../../templates/s6/finish.tera")),
    ];
    const CARRIES: &'static [&'static str] = &[];
    const FILTERS: &'static [(&'static str, Escape)] = &[];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            services: config.settings.dir(&S6_DIR).clone(),
            enabled: config.settings.dir(&S6_SCAN_DIR).clone(),
        })
    }
}

impl Backend for S6 {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        for job in &app.jobs {
            let service = self.services.join(&job.full_name);
            let helper = format!("{service}/helper.sh");
            let mut context = view::job_context(app, job);
            context.insert("helper", &helper);
            for output in [
                Output::dir(service.clone(), 0o755),
                Output::file(
                    format!("{service}/run"),
                    render("s6/run", &context)?,
                    0o755,
                    Group::Root,
                ),
                Output::file(
                    format!("{service}/finish"),
                    render("s6/finish", &context)?,
                    0o755,
                    Group::Root,
                ),
                // s6-supervise sends KILL this many milliseconds after TERM on `s6-svc -d`.
                Output::file(
                    format!("{service}/timeout-kill"),
                    format!("{}\n", u64::from(job.kill_timeout) * 1000),
                    0o644,
                    Group::Root,
                ),
                // The helper holds the env values: root and the run group only.
                Output::file(
                    helper,
                    view::helper(&mut context, &HELPER)?,
                    0o750,
                    Group::Run,
                ),
                Output::symlink(self.enabled.join(&job.full_name), service),
            ] {
                sink(output)?;
            }
        }
        Ok(())
    }
}

/// Files only: procexport does not yet drive s6-svscan, so no init counts as running and
/// `start`, `stop`, `restart` and `status` say so.
impl Installer for S6 {
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

    /// Each service directory `<s6_dir>/<full_name>-<job>` is a job, named by its path.
    fn jobs(&self, _full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let mut jobs = Jobs::default();
        for (path, kind) in entries {
            if *kind == EntryKind::Dir
                && super::file_in(self.services.as_str(), path, EntryKind::File).is_some()
            {
                jobs.processes.push(path.clone());
            }
        }
        jobs
    }

    fn init_running(&self, _disk: &mut Disk) -> bool {
        false
    }

    fn stop_jobs(&self, _disk: &mut Disk, _jobs: &Jobs) -> Result<()> {
        Ok(())
    }

    fn control(&self, _disk: &mut Disk, _action: Action, _jobs: &Jobs) -> Result<()> {
        Err(Error::failed(
            "procexport does not drive s6-svscan yet: use s6-svc on the service directories"
        ))
    }

    fn status(&self, _disk: &mut Disk, _jobs: &Jobs) -> Result<Vec<JobStatus>> {
        Err(Error::failed(
            "procexport does not drive s6-svscan yet: use s6-svstat on the service directories"
        ))
    }

    fn init_missing(&self, _jobs: &Jobs) -> Option<String> {
        Some("procexport does not drive s6-svscan yet".to_owned())
    }
}
