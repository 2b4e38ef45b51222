//! supervisord (Debian's `supervisor`): one config file per app in `supervisord_dir` (the
//! directory the main `supervisord.conf` includes), holding a `[group:...]` for the app and a
//! `[program:...]` per process, and one helper script per process beside it (`<program>.sh`).
//!
//! supervisord runs as root and opens a program's log files as root, and its `user=` sets only
//! the user's own login group: so no `user=`, no `stdout_logfile` and no `environment=`. Each
//! command is `setpriv`, which becomes the run user and group (exactly, as systemd's `User=` and
//! `Group=` do) before anything runs; the helper it starts, already that user, opens its own
//! log, changes directory and execs the Procfile's command. The env values are secrets, so they
//! are in the helper (root and the run group only), never in the config file, which every user
//! can read, nor on a command line.
//!
//! supervisord's respawn limit is `startretries` quick failures (runs shorter than `startsecs`)
//! in a row; the closest it has to "`count` restarts in `interval` seconds" is
//! `startretries=count` with `startsecs=interval/count` (see `restart_settings`).

mod escape;
#[cfg(feature = "testing")]
pub mod check;
pub mod supervisorctl;

use super::view::{self, Helper};
use super::{Backend, Escape, Sections, Sink, Spec};
use crate::error::Result;
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs, Target};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::job::{App, Job, Respawn};
use crate::model::output::{Group, Output};
use crate::model::text::AbsPath;
use serde::Serialize;

/// Where the app config files go: the directory the main config's `[include]` reads
/// (Debian's `files = /etc/supervisor/conf.d/*.conf`).
const SUPERVISORD_DIR: Key = Key::dir("supervisord_dir", "/etc/supervisor/conf.d");
/// The main config `supervisorctl` is pointed at (`-c`) to reach the running supervisord.
const SUPERVISORD_CONF: Key = Key::dir("supervisord_conf", "/etc/supervisor/supervisord.conf");

/// `startretries` for a respawn with no limit: supervisord has no "forever" for quick failures.
const NO_LIMIT_RETRIES: u32 = 1_000_000;

#[derive(Debug, Clone)]
pub struct Supervisord {
    confs: AbsPath,
    main_conf: AbsPath,
}

impl Spec for Supervisord {
    const NAME: &'static str = "supervisord";
    const ABOUT: &'static str = "Export the Procfile as supervisord programs";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[SUPERVISORD_DIR, SUPERVISORD_CONF];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        (
            "supervisord/app.conf",
            include_str!("../../templates/supervisord/app.conf.tera"),
        ),
        (
            "supervisord/program.conf",
            include_str!("../../templates/supervisord/program.conf.tera"),
        ),
    ];
    /// The limits through `prlimit`, as root, before `setpriv` drops to the run user (the
    /// daemon's own `minfds`/`minprocs` are supervisord's, not a program's); the stop signal
    /// as `stopsignal`; `pre` run by the helper, as the run user, before the command. Not
    /// `post` (no hook once the command has started), not `reload_signal` (no reload action
    /// to send it), not `respawn.delay` (supervisord restarts at once).
    const CARRIES: &'static [&'static str] = &[
        "limits.nofile",
        "limits.nproc",
        "limits.memlock",
        "kill_signal",
        "pre",
    ];
    const FILTERS: &'static [(&'static str, Escape)] = &[
        ("supervisord_word", escape::supervisord_word),
        ("supervisord_name", escape::supervisord_name),
    ];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            confs: config.settings.dir(&SUPERVISORD_DIR).clone(),
            main_conf: config.settings.dir(&SUPERVISORD_CONF).clone(),
        })
    }
}

#[derive(Serialize)]
struct ProgramView<'a> {
    full_name: &'a str,
    helper: String,
    autorestart: bool,
    startsecs: u32,
    startretries: u32,
    kill_timeout: u32,
    /// `stopsignal`: the Procfile's kill_signal, or TERM.
    stopsignal: &'static str,
    /// `prlimit`'s options for the job's limits (none: no prlimit).
    prlimit: Vec<String>,
}

/// supervisord's `autorestart`, `startsecs` and `startretries` for a respawn setting.
/// - off: never restarted, and a failed first start is not retried either;
/// - on, no limit: always restarted, quick failures retried (practically) forever;
/// - on, at most `count` in `interval` s: a run shorter than `interval/count` seconds (at
///   least 1) counts as a failed start, and after `count` of them in a row supervisord gives
///   up (state FATAL); `count` quick exits take under `interval` seconds, the same point at
///   which the limit of the other backends stops a crash loop. A run that lasted longer
///   restarts and resets the count.
pub fn restart_settings(respawn: Respawn) -> (bool, u32, u32) {
    match respawn {
        Respawn::Off => (false, 0, 0),
        Respawn::On(None) => (true, 1, NO_LIMIT_RETRIES),
        Respawn::On(Some(limit)) => {
            let startsecs = (limit.interval / limit.count.max(1)).max(1);
            (true, startsecs, limit.count)
        }
    }
}

impl Backend for Supervisord {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        // The config names every program, so it is emitted first; each helper then streams
        // out as it is rendered. It is rendered a piece at a time (`Sections`): the header
        // once, then each program's section from a context of the app's header and that one
        // program, replaced in place for the next.
        let mut programs = String::new();
        for (i, job) in app.jobs.iter().enumerate() {
            if i > 0 {
                programs.push(',');
            }
            programs.push_str(&job.full_name);
        }
        let mut context = tera::Context::new();
        context.insert("app", app);
        context.insert("programs", &programs);
        drop(programs);
        let mut conf = Sections::new(app.jobs.len());
        conf.piece("supervisord/app.conf", &context)?;
        context.remove("programs");
        for job in &app.jobs {
            let (autorestart, startsecs, startretries) = restart_settings(job.respawn);
            context.insert(
                "job",
                &ProgramView {
                    full_name: &job.full_name,
                    helper: self.helper(job),
                    autorestart,
                    startsecs,
                    startretries,
                    kill_timeout: job.kill_timeout,
                    stopsignal: job.kill_signal.map_or("TERM", |s| s.name()),
                    prlimit: view::prlimit_options(job),
                },
            );
            conf.section("supervisord/program.conf", &context)?;
        }
        drop(context);
        sink(Output::file(
            self.confs.join(&format!("{}.conf", app.full_name)),
            conf.finish()?,
            0o644,
            Group::Root,
        ))?;
        for job in &app.jobs {
            // The helper holds the env values: root and the run group only.
            sink(Output::file(
                self.helper(job),
                view::helper(&mut helper_context(app, job), &HELPER)?,
                0o750,
                Group::Run,
            ))?;
        }
        Ok(())
    }
}

impl Supervisord {
    /// A job's helper script: beside the config (the `[include]` reads `*.conf` only), named
    /// by the program. Two apps whose names a `-` makes alike (app `a` job `b-c`, app `a-b`
    /// job `c`) would both define `[program:fb-a-b-c]`, and share this path, so the second
    /// export is refused (`install/collision.rs`).
    fn helper(&self, job: &Job) -> String {
        self.confs.join(&format!("{}.sh", job.full_name))
    }
}

/// A job's helper context: the shared view, and `pre_first` (supervisord has no hook before
/// the command: the helper runs `pre` itself).
fn helper_context(app: &App, job: &Job) -> tera::Context {
    let mut context = view::job_context(app, job);
    context.insert("pre_first", &job.pre.is_some());
    context
}

impl Installer for Supervisord {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![self.confs.to_string()]
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

    /// `supervisorctl reread` and `update` when supervisord runs: it then starts added
    /// programs, restarts the groups whose programs changed and stops and removes the groups
    /// and programs that are gone.
    fn after_apply(&self, target: Target, _dropped: &Jobs) -> Result<()> {
        match target {
            Target::LiveNoReload => {
                crate::error::warn(
                    "did not run supervisorctl update: --no-reload was given; run it to apply \
                     the change",
                );
                Ok(())
            }
            Target::Root => {
                crate::error::warn(
                    "did not run supervisorctl update: the files went under --root, not to this \
                     system",
                );
                Ok(())
            }
            Target::Live => supervisorctl::update(self.main_conf.as_str()),
        }
    }

    /// Each helper `<supervisord_dir>/<full_name>-<job>.sh` is program
    /// `<full_name>:<full_name>-<job>` of the app's group. The group itself has no process, so
    /// no app job: the programs are named one by one.
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let processes = entries
            .iter()
            .filter_map(|(path, kind)| super::file_in(self.confs.as_str(), path, *kind))
            .filter_map(|name| name.strip_suffix(".sh"))
            .filter(|program| program.strip_prefix(full_name).is_some_and(|t| t.starts_with('-')))
            .map(|program| format!("{full_name}:{program}"))
            .collect();
        Jobs {
            processes,
            ..Jobs::default()
        }
    }

    /// supervisord answers on the socket `supervisord_conf` names.
    fn init_running(&self, _disk: &mut Disk) -> bool {
        supervisorctl::answers(self.main_conf.as_str())
    }

    /// `supervisorctl stop`, which waits up to each program's `stopwaitsecs` and then kills
    /// its process group; run before `update` forgets the programs.
    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        let names: Vec<&str> = jobs.all().collect();
        supervisorctl::act(self.main_conf.as_str(), "stop", &names)
    }

    /// `supervisorctl start|stop|restart` of every program (a restart stops each, then starts
    /// it: a new pid each).
    fn control(&self, _disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        let names: Vec<&str> = jobs.all().collect();
        match action {
            Action::Start | Action::Stop | Action::Restart => {
                supervisorctl::act(self.main_conf.as_str(), action.verb(), &names)
            }
            // `supervisorctl reload` would restart supervisord itself: a signal to each
            // program of the app's group instead.
            Action::Reload => {
                let mut args = vec!["HUP"];
                args.extend(&names);
                supervisorctl::act(self.main_conf.as_str(), "signal", &args)
            }
        }
    }

    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let names: Vec<&str> = jobs.all().collect();
        Ok(supervisorctl::status(self.main_conf.as_str(), &names)?
            .into_iter()
            .map(|p| JobStatus {
                job: p.name,
                state: p.state,
                detail: p.line,
            })
            .collect())
    }
}

/// supervisord's words in the shared helper.
const HELPER: Helper = Helper {
    role: ", run by supervisord",
    runs_as: "supervisord starts this through setpriv, already the run user and group: every line below runs as them.",
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::job::RespawnLimit;

    #[test]
    fn the_respawn_limit_becomes_quick_failures_in_a_row() {
        assert_eq!(restart_settings(Respawn::Off), (false, 0, 0));
        assert_eq!(
            restart_settings(Respawn::On(None)),
            (true, 1, NO_LIMIT_RETRIES)
        );
        let limit = |count, interval| Respawn::On(Some(RespawnLimit { count, interval }));
        assert_eq!(restart_settings(limit(5, 10)), (true, 2, 5));
        assert_eq!(restart_settings(limit(10, 5)), (true, 1, 10));
        assert_eq!(restart_settings(limit(3, 60)), (true, 20, 3));
    }
}
