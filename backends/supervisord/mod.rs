//! supervisord (Debian's `supervisor`): one config file per app in `supervisord_dir` (the
//! directory the main `supervisord.conf` includes), `<full_name>.conf`, holding a `[group:...]`
//! for the app and a `[program:]` per process type, and one helper script per process type
//! beside it, `<full_name>-<label>.sh`: 5,000 processes of 20 types are 21 files of 21
//! sections. A type of one process is `[program:<full_name>-<job>]`, with the helper it always
//! had (named like its program), and its command passes no argument. A type of several is
//! `[program:<full_name>-<label>]` with `numprocs`, whose processes supervisord names
//! `<full_name>-<label>_<n>` as every other backend names the instances, and passes each its
//! instance number, which is no secret, as the helper's first argument
//! (`.../fb-app-worker.sh %(process_num)d`, so `... 3`): the helper writes once what every
//! instance shares (command, directory, pre command, the variables whose values no instance
//! changes). It first checks its first argument is one of the type's numbers, written in
//! decimal (`case` on the digits, then `-le` the last), and with any other, or none, says so
//! on stderr and exits 2 before it runs anything. It then computes from the number what is
//! each instance's own, a value `<prefix><offset + n><suffix>` (`Counted`): the log
//! (`.../worker_"$1".log`), PORT (`"$(($1 + 5100))"`), PS (`worker."$(($1 + 1))"`). A helper is
//! the same size for 3 instances or 3,000. Its pre hook is `"$0" <instance> pre`.
//!
//! The manifest lists the helpers, so `Installer::jobs` names process types
//! (`<full_name>:<full_name>-<label>`); `status` and the stop of dropped types read each type's
//! programs from `supervisorctl status <full_name>:*`, and start, stop, restart and reload act
//! on `<full_name>:*`, the app's group.
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

use super::escape::needs_newline;
use super::view::{self, Helper};
use super::{Backend, Escape, Sections, Sink, Spec};
use crate::error::Result;
use crate::install::disk::Disk;
use crate::install::installer::{Action, Capabilities, Installer, JobStatus, Jobs, Target};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::app::App;
use crate::model::job::{Job, Respawn};
use crate::model::process_type::{self, ProcessType};
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

/// The one `[program:]` section of a process type. A type of several instances is one
/// program with `numprocs`: supervisord makes its processes `<program>_0` ... `<program>_<n-1>`
/// (`process_name`), the names the instances have in every other backend, and passes each its
/// number (`%(process_num)d`) as the helper's argument. 5,000 processes of 20 types are 20
/// sections, and supervisorctl lists the same process names as one section per process would.
#[derive(Serialize, PartialEq)]
struct TypeView<'a> {
    /// The section's name: the one job's full name, or `<full_name>-<label>` for several.
    program: &'a str,
    /// How many processes the section makes; none for a type of one (its helper takes no
    /// argument).
    numprocs: Option<u32>,
    /// The helper of the process type.
    helper: &'a str,
    autorestart: bool,
    startsecs: u32,
    startretries: u32,
    kill_timeout: u32,
    /// `stopsignal`: the Procfile's kill_signal, or TERM.
    stopsignal: &'static str,
    /// `prlimit`'s options for the job's limits (none: no prlimit).
    prlimit: Vec<String>,
}

impl<'a> TypeView<'a> {
    /// The view of process type `ty`, sharing `helper` (named `<program>.sh`): its settings
    /// are every instance's (the model holds them once).
    fn of(ty: &'a ProcessType, program: &'a str, helper: &'a str) -> Self {
        let job = &ty.first;
        let (autorestart, startsecs, startretries) = restart_settings(job.respawn);
        TypeView {
            program,
            numprocs: (ty.count > 1).then_some(ty.count),
            helper,
            autorestart,
            startsecs,
            startretries,
            kill_timeout: job.kill_timeout,
            stopsignal: job.kill_signal.map_or("TERM", |s| s.name()),
            prlimit: view::prlimit_options(job),
        }
    }
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
        // once, then each process type's section from a context of the app's header and that
        // one type, replaced in place for the next.
        let names: Vec<String> = app.types.iter().map(|ty| program_of(app, ty)).collect();
        let mut context = tera::Context::new();
        context.insert("app", app);
        context.insert("programs", &names.join(","));
        let mut conf = Sections::new(names.len());
        conf.piece("supervisord/app.conf", &context)?;
        context.remove("programs");
        for (ty, program) in app.types.iter().zip(&names) {
            let helper = self.helper(app, &ty.first);
            context.insert("job", &TypeView::of(ty, program, &helper));
            conf.section("supervisord/program.conf", &context)?;
        }
        drop(context);
        sink(Output::file(
            self.confs.join(&format!("{}.conf", app.full_name)),
            conf.finish()?,
            0o644,
            Group::Root,
        ))?;
        for ty in &app.types {
            // The helper holds the env values: root and the run group only.
            sink(Output::file(
                self.helper(app, &ty.first),
                view::helper(&mut helper_context(app, ty), &HELPER)?,
                0o750,
                Group::Run,
            ))?;
        }
        Ok(())
    }
}

/// A process type's name, `<full_name>-<label>`: the stem of its helper, and the
/// `[program:]` of a type of several (whose processes supervisord names `<stem>_<n>`).
fn type_name(app: &App, job: &Job) -> String {
    process_type::full_name(&app.full_name, &job.label)
}

/// The `[program:]` name of a process type: its one job's full name, or its `type_name` for
/// several.
fn program_of(app: &App, ty: &ProcessType) -> String {
    if ty.count == 1 {
        ty.first.full_name.clone()
    } else {
        type_name(app, &ty.first)
    }
}

impl Supervisord {
    /// The helper script of a process type: beside the config (the `[include]` reads `*.conf`
    /// only), named by the type, `<full_name>-<label>.sh` (for a type of one unnumbered
    /// process, its program's name). Two apps whose names a `-` makes alike (app `a` type
    /// `b-c`, app `a-b` type `c`) would share this path, and app `a-b`'s type `c` with a
    /// count would name its programs as app `a`'s unnumbered type `b-c_0` does: the second
    /// export is refused (`install/collision.rs`, through `Installer::instance_stem`).
    fn helper(&self, app: &App, job: &Job) -> String {
        self.confs.join(&format!("{}.sh", type_name(app, job)))
    }
}

/// The helper context of process type `ty`: the view of its first instance and `pre_first`
/// (supervisord has no hook before the command: the helper runs `pre` itself). For several
/// instances, also what the helper needs to check its instance number (`counted`, `last`,
/// `digits`) and to compute each instance's own values from it (`counted_log`,
/// `counted_env`: the model's `Counted` forms); `env` then holds only the variables every
/// instance shares.
fn helper_context(app: &App, ty: &ProcessType) -> tera::Context {
    let first = &ty.first;
    let mut context = view::job_context(app, first);
    context.insert("pre_first", &first.pre.is_some());
    if ty.count == 1 {
        return context;
    }
    let counted = ty.counted_env();
    let counted_log = ty.counted_log();
    let shared: Vec<view::EnvVar> = view::env_vars(first)
        .into_iter()
        .enumerate()
        .filter(|(at, _)| Some(*at) != ty.own_port && Some(*at) != ty.own_ps)
        .map(|(_, var)| var)
        .collect();
    let needs_newline = shared.iter().any(|var| needs_newline(var.value))
        || counted
            .iter()
            .chain(&counted_log)
            .any(|c| needs_newline(c.prefix) || needs_newline(c.suffix));
    context.insert("needs_newline", &needs_newline);
    context.insert("env", &shared);
    context.insert("counted", &true);
    let last = ty.count - 1;
    context.insert("last", &last);
    // The `case` pattern of the numbers the helper takes: decimal, no leading zero, at most as
    // many digits as the last (`0|[1-9]|[1-9][0-9]|[1-9][0-9][0-9]` for 250); it then checks
    // the number is at most the last.
    context.insert("digits", &(last.checked_ilog10().unwrap_or(0) + 1));
    context.insert("counted_env", &counted);
    context.insert("counted_log", &counted_log);
    context.insert("type_name", &type_name(app, first));
    context.insert("label", &first.label);
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

    /// Each helper `<supervisord_dir>/<full_name>-<label>.sh` is process type `<label>` of the
    /// app's group, named `<full_name>:<full_name>-<label>`: the name of its one program when
    /// it has one process, and of its programs `<full_name>-<label>_<n>` when it has several
    /// (supervisord's own list of the group says which, `supervisorctl::type_status`). The
    /// group itself has no process, so no app job.
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let processes = entries
            .iter()
            .filter_map(|(path, kind)| super::file_in(self.confs.as_str(), path, *kind))
            .filter_map(|name| name.strip_suffix(".sh"))
            .filter(|stem| stem.strip_prefix(full_name).is_some_and(|t| t.starts_with('-')))
            .map(|stem| format!("{full_name}:{stem}"))
            .collect();
        Jobs {
            processes,
            ..Jobs::default()
        }
    }

    /// A helper names the programs `<stem>` and `<stem>_<n>`: another app's helper whose
    /// stem is this one's with `_<n>`, or this one's without it, may hold a program of the
    /// same name.
    fn instance_stem<'a>(&self, path: &'a str) -> Option<&'a str> {
        super::file_in(self.confs.as_str(), path, EntryKind::File)
            .and_then(|_| path.strip_suffix(".sh"))
    }

    /// supervisord answers on the socket `supervisord_conf` names.
    fn init_running(&self, _disk: &mut Disk) -> bool {
        supervisorctl::answers(self.main_conf.as_str())
    }

    /// `supervisorctl stop` of the programs of `jobs`' process types that supervisord runs (a
    /// type's programs as its list of the group names them), which waits up to each
    /// program's `stopwaitsecs` and then kills its process group; run before `update`
    /// forgets the programs. An error when supervisorctl says nothing of the app's group.
    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        let types: Vec<&str> = jobs.all().collect();
        let programs = supervisorctl::programs_of(self.main_conf.as_str(), &types)?;
        let names: Vec<&str> = programs.iter().map(String::as_str).collect();
        supervisorctl::act(self.main_conf.as_str(), "stop", &names)
    }

    /// `supervisorctl start|stop|restart <group>:*`, every program of the app's group (a
    /// restart stops each, then starts it: a new pid each). `jobs` are always every process
    /// type of the app, and the group is the app's alone.
    fn control(&self, _disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        let group = format!("{}:*", group_of(jobs));
        let names = [group.as_str()];
        match action {
            Action::Start | Action::Stop | Action::Restart => {
                supervisorctl::act(self.main_conf.as_str(), action.verb(), &names)
            }
            // `supervisorctl reload` would restart supervisord itself: a signal to each
            // program of the app's group instead.
            Action::Reload => {
                supervisorctl::act(self.main_conf.as_str(), "signal", &["HUP", &group])
            }
        }
    }

    /// Each program of each process type, as `supervisorctl status <group>:*` lists it; a
    /// type with none listed is one row of its own, unknown.
    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let types: Vec<&str> = jobs.all().collect();
        Ok(supervisorctl::type_status(self.main_conf.as_str(), &types)?
            .into_iter()
            .map(|p| JobStatus {
                job: p.name,
                state: p.state,
                detail: p.line,
            })
            .collect())
    }
}

/// The app's group: `jobs`' full name (which the transaction sets), else the group of its
/// first process type.
fn group_of(jobs: &Jobs) -> &str {
    if jobs.full_name.is_empty() {
        jobs.all()
            .next()
            .and_then(|t| t.split_once(':'))
            .map_or("", |(group, _)| group)
    } else {
        &jobs.full_name
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

    /// The files an export of `procfile` (app `myapp`) renders: (file name, contents).
    fn rendered(procfile: &str) -> Vec<(String, String)> {
        crate::testing::preview::render(procfile.as_bytes(), "myapp", "supervisord", None)
            .unwrap()
            .into_iter()
            .map(|r| {
                let name = r.path.rsplit('/').next().unwrap().to_owned();
                (name, r.contents.unwrap())
            })
            .collect()
    }

    fn lines_with<'a>(text: &'a str, part: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.contains(part)).collect()
    }

    #[test]
    fn a_counted_type_has_one_helper_with_what_its_instances_share_written_once() {
        let files = rendered(
            "version: 2\nenv: {SHARED: \"it's\"}\ncommands:\n  web:\n    command: a\n  worker:\n    command: b\n    count: 3\n    log: /srv/worker.log\n  one:\n    command: c\n    count: 1\n",
        );
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["fb-myapp.conf", "fb-myapp-web.sh", "fb-myapp-worker.sh", "fb-myapp-one.sh"]
        );
        let conf = &files[0].1;
        // A type of one keeps its program's name and passes no argument; a type of several
        // is one program whose processes supervisord numbers from 0, each passing its number.
        let sections: Vec<&str> = conf.split("\n[program:").skip(1).collect();
        assert_eq!(sections.len(), 3, "{conf}");
        for (section, (program, lines)) in sections.iter().zip([
            ("fb-myapp-web]", vec!["fb-myapp-web.sh'"]),
            (
                "fb-myapp-worker]",
                vec![
                    "process_name=%(program_name)s_%(process_num)d",
                    "numprocs=3",
                    "fb-myapp-worker.sh' %(process_num)d",
                ],
            ),
            ("fb-myapp-one_0]", vec!["fb-myapp-one.sh'"]),
        ]) {
            let mut section = section.lines();
            assert_eq!(section.next(), Some(program));
            let section: Vec<&str> = section.collect();
            for (line, want) in section.iter().zip(&lines) {
                assert!(line.ends_with(want), "{line} does not end with {want}");
            }
            assert!(section[lines.len() - 1].starts_with("command="), "{section:?}");
            assert_eq!(
                section.iter().filter(|l| l.contains("numprocs")).count(),
                usize::from(lines.len() > 1)
            );
        }
        assert!(conf.contains("\nprograms=fb-myapp-web,fb-myapp-worker,fb-myapp-one_0\n"));
        let worker = &files[2].1;
        // The log all three share, the variable they share: once. PORT and PS: computed from
        // the instance number, which only 0, 1 and 2 pass.
        assert_eq!(
            lines_with(worker, "exec >> "),
            ["exec >> /srv/worker.log 2>&1"]
        );
        assert_eq!(lines_with(worker, "SHARED"), ["export SHARED=it\\'s"]);
        assert_eq!(
            lines_with(worker, "export P"),
            ["export PORT=\"$(($1 + 5100))\"", "export PS=worker.\"$(($1 + 1))\""]
        );
        assert_eq!(
            lines_with(worker, "-le"),
            ["  0|[1-9]) [ \"$1\" -le 2 ] ;;"]
        );
        // A type of one process: no case, no argument, as every other backend's helper.
        for (_, helper) in [&files[1], &files[3]] {
            assert!(!helper.contains("case \"${1-}\" in\n  0|"), "{helper}");
            assert!(!helper.contains("no instance"), "{helper}");
            assert_eq!(lines_with(helper, "export PORT").len(), 1, "{helper}");
        }
    }

    #[test]
    fn a_default_log_is_computed_from_the_instance_number() {
        let files = rendered("version: 2\ncommands:\n  worker:\n    command: b\n    count: 12\n");
        assert_eq!(
            lines_with(&files[1].1, "exec >> "),
            ["exec >> /var/log/fb-myapp/worker_\"$1\".log 2>&1"]
        );
        assert_eq!(
            lines_with(&files[1].1, "-le"),
            ["  0|[1-9]|[1-9][0-9]) [ \"$1\" -le 11 ] ;;"]
        );
    }

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
