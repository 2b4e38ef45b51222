//! systemd: a target per app that wants one service per process, enabled into the targets its
//! start runlevels map to by the `.wants/` link `systemctl enable` would make.
//!
//! No line of a unit runs as root: every service has `User=`, and its one command is a shell
//! that, already the run user, opens its own log and execs the Procfile's command (never
//! `StandardOutput=append:`, which systemd opens as root). Env values are secrets, so the unit,
//! which every user can read, names an environment file (root and the run group only) and never
//! holds a value; a newline in a value stays inside that file's quotes and can add no directive.

mod escape;
pub mod init;
#[cfg(any(test, feature = "testing"))]
pub mod syntax;
pub mod systemctl;
#[cfg(feature = "testing")]
pub mod check;

use super::view;
use super::{render, Backend, Escape, Sink, Spec};
use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::{
    Action, Adoption, Capabilities, Installer, JobStatus, Jobs, LegacyFile, LegacyFiles,
    SharedNames, Target,
};
use crate::install::manifest::EntryKind;
use crate::model::config::{Config, Key};
use crate::model::app::App;
use crate::model::job::Job;
use crate::model::output::{Group, Output};
use crate::model::runlevel::Runlevels;
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;

/// The job keys a unit carries: all of them (systemd.exec(5), systemd.kill(5),
/// systemd.resource-control(5), systemd.unit(5)).
pub(super) const CARRIES: &[&str] = crate::model::capability::KEYS;

/// Where units go.
const SYSTEMD_DIR: Key = Key::dir("systemd_dir", "/etc/systemd/system");
/// Where the jobs' environment files go (they hold the env values, so not in the unit).
const SYSTEMD_ENV_DIR: Key = Key::dir("systemd_env_dir", "/etc/procexport/env");
/// Where jobs send their output: `file` (appended to the job's log file, as under Upstart,
/// opened by the job itself) or `journal` (`journalctl -u <unit>`; `log:` is not used).
const SYSTEMD_LOG: Key = Key::choice("systemd_log", "file", &["file", "journal"]);

/// systemd's unit search path for the system manager (systemd.unit(5)), highest priority
/// first.
const UNIT_PATH: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The targets an app can be installed into (see `runlevel_targets`): one `.wants/` directory
/// each, all of them directories `clean` may remove the app's links from.
const INSTALL_TARGETS: [&str; 3] = ["multi-user.target", "graphical.target", "rescue.target"];

#[derive(Debug, Clone)]
pub struct Systemd {
    units: AbsPath,
    env_files: AbsPath,
    /// Output to the journal rather than the job's log file.
    journal: bool,
}

impl Spec for Systemd {
    const NAME: &'static str = "systemd";
    const ABOUT: &'static str = "Export the Procfile as systemd units";
    const FOR_INVOKING_USER: bool = false;
    const KEYS: &'static [Key] = &[SYSTEMD_DIR, SYSTEMD_ENV_DIR, SYSTEMD_LOG];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        (
            "systemd/app.target",
            include_str!("../../templates/systemd/app.target.tera"),
        ),
        (
            "systemd/job.service",
            include_str!("../../templates/systemd/job.service.tera"),
        ),
        (
            "systemd/job.env",
            include_str!("../../templates/systemd/job.env.tera"),
        ),
        (
            "systemd/start.sh",
            include_str!("../../templates/systemd/start.sh.tera"),
        ),
    ];
    const CARRIES: &'static [&'static str] = CARRIES;
    const FILTERS: &'static [(&'static str, Escape)] = &[
        ("systemd_word", escape::systemd_word),
        ("systemd_exec", escape::systemd_exec),
        ("systemd_path", escape::systemd_path),
        ("systemd_env_value", escape::systemd_env_value),
        ("systemd_setting", escape::systemd_setting),
    ];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            units: config.settings.dir(&SYSTEMD_DIR).clone(),
            env_files: config.settings.dir(&SYSTEMD_ENV_DIR).clone(),
            journal: config.settings.choice(&SYSTEMD_LOG) == "journal",
        })
    }
}

impl Backend for Systemd {
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
        let targets = runlevel_targets(&app.start_on, &app.stop_on)?;
        let target = self.units.join(&format!("{}.target", app.full_name));
        let mut context = tera::Context::new();
        context.insert("app", app);
        let services: Vec<String> = app.job_full_names().collect();
        context.insert("services", &services);
        context.insert("wanted_by", &targets.wanted_by);
        context.insert("conflicts", &targets.conflicts);
        sink(Output::file(
            target.clone(),
            render("systemd/app.target", &context)?,
            0o644,
            Group::Root,
        ))?;
        for wanted_by in &targets.wanted_by {
            let link = self.units.join(&format!("{wanted_by}.wants/{}.target", app.full_name));
            sink(Output::symlink(link, target.clone()))?;
        }
        let journal = self.journal;
        for ref job in app.jobs() {
            let env_file = self.env_files.join(&format!("{}.env", job.full_name));
            let context = job_context(app, job, &env_file, journal)?;
            sink(Output::file(
                self.units.join(&format!("{}.service", job.full_name)),
                render("systemd/job.service", &context)?,
                0o644,
                Group::Root,
            ))?;
            // The env values are secrets: readable by root (systemd) and the run group only.
            sink(Output::file(
                env_file,
                render("systemd/job.env", &context)?,
                0o640,
                Group::Run,
            ))?;
        }
        Ok(())
    }

}

impl Installer for Systemd {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        let mut install = vec![self.units.to_string(), self.env_files.to_string()];
        install.extend(
            INSTALL_TARGETS
                .iter()
                .map(|t| self.units.join(&format!("{t}.wants"))),
        );
        install
    }

    fn adopt_places(&self) -> Vec<LegacyFiles> {
        [".service", ".target"]
            .into_iter()
            .map(|suffix| LegacyFiles {
                dir: self.units.to_string(),
                suffix,
            })
            .collect()
    }

    /// foreman's and honcho's systemd exports (`backends/adopt.rs`).
    fn adopt_proven(&self, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
        super::adopt::systemd(self.units.as_str(), full_name, found)
    }

    /// A unit is one name on systemd's whole search path (`UNIT_PATH`).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            makes_log_dir: true,
            own_state_dir: None,
            legacy_files: Vec::new(),
            shared_names: Some(SharedNames {
                dir: self.units.to_string(),
                elsewhere: UNIT_PATH.iter().map(|dir| (*dir).to_owned()).collect(),
            }),
            next_step: None,
        }
    }

    /// Reloads, then forgets the failed state of the units whose files went, so that none
    /// stays listed.
    fn after_apply(&self, target: Target, dropped: &Jobs) -> Result<()> {
        if let Some(why) = reload_skipped(target, init::systemd_is_init) {
            crate::error::warn(&format!("did not run systemctl daemon-reload: {why}"));
            return Ok(());
        }
        systemctl::daemon_reload()?;
        let units: Vec<&str> = dropped.all().collect();
        let failed: Vec<String> = systemctl::show(&units)?
            .into_iter()
            .filter(|u| u.active == "failed")
            .map(|u| u.id)
            .collect();
        let failed: Vec<&str> = failed.iter().map(String::as_str).collect();
        systemctl::act("reset-failed", &failed)
    }

    /// `<systemd_dir>/<full_name>.target` is the app, each `<full_name>-<job>.service` a
    /// process.
    fn jobs(&self, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
        let mut jobs = Jobs::default();
        for (path, kind) in entries {
            let Some(name) = path
                .strip_prefix(self.units.as_str().trim_end_matches('/'))
                .and_then(|r| r.strip_prefix('/'))
            else {
                continue;
            };
            if *kind != EntryKind::File || name.contains('/') {
                continue;
            }
            if name == format!("{full_name}.target") {
                jobs.app = Some(name.to_owned());
            } else if name.ends_with(".service") {
                jobs.processes.push(name.to_owned());
            }
        }
        jobs
    }

    fn init_running(&self, _disk: &mut Disk) -> bool {
        init::systemd_is_init()
    }

    fn stop_jobs(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<()> {
        let units: Vec<&str> = jobs.all().collect();
        systemctl::act("stop", &units)
    }

    /// Every unit is named, so a process stopped on its own is started again with its app;
    /// a start or restart first forgets failures, so a unit that hit its start limit can
    /// start again.
    fn control(&self, disk: &mut Disk, action: Action, jobs: &Jobs) -> Result<()> {
        let units: Vec<&str> = jobs.all().collect();
        match action {
            Action::Stop => self.stop_jobs(disk, jobs),
            // Each service's ExecReload= sends its reload_signal; the target has none.
            Action::Reload => {
                let services: Vec<&str> = jobs.processes.iter().map(String::as_str).collect();
                systemctl::act("reload", &services)
            }
            Action::Start | Action::Restart => {
                let failed: Vec<String> = systemctl::show(&units)?
                    .into_iter()
                    .filter(|u| u.active == "failed")
                    .map(|u| u.id)
                    .collect();
                let failed: Vec<&str> = failed.iter().map(String::as_str).collect();
                systemctl::act("reset-failed", &failed)?;
                if action == Action::Start {
                    return systemctl::act("start", &units);
                }
                // The target alone: its restart restarts every service (PartOf=) and starts
                // those that were down (Wants=), each once. Naming the services too would
                // restart them twice, and use up a start limit.
                match &jobs.app {
                    Some(target) => systemctl::act("restart", &[target]),
                    None => systemctl::act("restart", &units),
                }
            }
        }
    }

    fn status(&self, _disk: &mut Disk, jobs: &Jobs) -> Result<Vec<JobStatus>> {
        let units: Vec<&str> = jobs.all().collect();
        Ok(systemctl::show(&units)?
            .into_iter()
            .map(|unit| JobStatus {
                state: unit.live_state(),
                detail: unit.detail(),
                job: unit.id,
            })
            .collect())
    }
}

fn job_context(app: &App, job: &Job, env_file: &str, journal: bool) -> Result<tera::Context> {
    let mut context = view::job_context(app, job);
    context.insert("journal", &journal);
    // The shell code the service runs, rendered with shell escaping first; the unit then
    // prints it as one systemd-quoted argument of `/bin/sh -c`.
    let script = render("systemd/start.sh", &context)?;
    context.insert("script", script.trim_end_matches('\n'));
    context.insert("env_file", env_file);
    insert_hook_scripts(&mut context, job)?;
    view::insert_resources(&mut context, job, CARRIES);
    Ok(context)
}

/// `pre_script` and `post_script`: the job's `pre` and `post` run exactly as its command is
/// (the same shell line, as the unit's `User=`, with its log and env), for `ExecStartPre=`
/// and `ExecStartPost=`.
pub(super) fn insert_hook_scripts(context: &mut tera::Context, job: &Job) -> Result<()> {
    for (name, hook) in [("pre_script", &job.pre), ("post_script", &job.post)] {
        let script = match hook {
            Some(command) => {
                let mut hook_context = context.clone();
                hook_context.insert("command", &command.exec_form());
                Some(render("systemd/start.sh", &hook_context)?)
            }
            None => None,
        };
        context.insert(name, &script.as_deref().map(|s| s.trim_end_matches('\n')));
    }
    Ok(())
}

/// Why `systemctl daemon-reload` is not run after a change, or `None` when it is: only when
/// asked to, when the files went to the live system, and when systemd is the running init.
fn reload_skipped(
    target: Target,
    systemd_is_init: impl FnOnce() -> bool,
) -> Option<&'static str> {
    if target == Target::LiveNoReload {
        Some("--no-reload was given; run it before starting the changed units")
    } else if target == Target::Root {
        Some("the files went under --root, not to this system")
    } else if !systemd_is_init() {
        Some("systemd is not the running init here (no /run/systemd/system)")
    } else {
        None
    }
}

/// Where an app is installed and what stops it, from its Upstart runlevel sets.
#[derive(Debug, PartialEq, Eq)]
struct Targets {
    /// `WantedBy=`: the targets whose `.wants/` link starts the app.
    wanted_by: Vec<&'static str>,
    /// `Conflicts=`: the targets whose start stops the app.
    conflicts: Vec<&'static str>,
}

/// The target systemd itself maps runlevel `level` to (its `runlevelN.target` aliases).
fn target_of(level: char) -> &'static str {
    match level {
        '0' => "poweroff.target",
        '1' => "rescue.target",
        '2'..='4' => "multi-user.target",
        '5' => "graphical.target",
        _ => "reboot.target",
    }
}

/// The runlevels a set means, as digits (`S` is runlevel 1).
fn levels(set: &Runlevels) -> Vec<char> {
    let listed: Vec<char> = set
        .listed()
        .map(|c| if c.is_ascii_digit() { c } else { '1' })
        .collect();
    ('0'..='6')
        .filter(|l| listed.contains(l) != set.negated())
        .collect()
}

/// Maps runlevel sets to targets. Runlevels 2, 3 and 4 are all `multi-user.target` to systemd,
/// so `[35]` and `[2345]` both install into it; `graphical.target` pulls in
/// `multi-user.target`, so it is only used when no runlevel 2-4 is in the set. Runlevels 0 and
/// 6 are poweroff and reboot: nothing is started for them.
///
/// Of the stop runlevels only 1 (and `S`) means something: `Conflicts=rescue.target`, so that
/// entering rescue mode stops the app. 0 and 6 need nothing (every service already has
/// `Conflicts=shutdown.target`). 2-5 are left out on purpose: a conflict with
/// `graphical.target` would keep a `[3]` app from ever running on the many servers whose
/// default target is graphical, and `isolate` already stops what a new target does not want.
fn runlevel_targets(start: &Runlevels, stop: &Runlevels) -> Result<Targets> {
    let start_levels = levels(start);
    let running: Vec<&str> = start_levels.iter().map(|l| target_of(*l)).collect();
    let mut wanted_by: Vec<&'static str> = INSTALL_TARGETS
        .into_iter()
        .filter(|t| running.contains(t))
        .collect();
    if wanted_by.contains(&"multi-user.target") {
        wanted_by.retain(|t| *t != "graphical.target");
    }
    if wanted_by.is_empty() {
        return Err(Error::unsupported(
            "systemd",
            format!("start_on_runlevel {}", Quoted(start.as_str())),
            "systemd starts nothing on runlevels 0 and 6 (poweroff and reboot); give a set \
             with at least one runlevel from 1 to 5",
        ));
    }
    let conflicts = if levels(stop).contains(&'1') && !start_levels.contains(&'1') {
        vec!["rescue.target"]
    } else {
        Vec::new()
    };
    Ok(Targets {
        wanted_by,
        conflicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(start: &str, stop: &str) -> Result<(Vec<&'static str>, Vec<&'static str>), String> {
        let parse = |s: &str| Runlevels::parse(s, "runlevel").unwrap();
        runlevel_targets(&parse(start), &parse(stop))
            .map(|t| (t.wanted_by, t.conflicts))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn runlevels_map_to_the_targets_systemd_aliases_them_to() {
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            (
                "[2345]",
                "[!2345]",
                &["multi-user.target"],
                &["rescue.target"],
            ),
            ("[2345]", "[06]", &["multi-user.target"], &[]),
            ("[35]", "[!35]", &["multi-user.target"], &["rescue.target"]),
            ("[3]", "[!3]", &["multi-user.target"], &["rescue.target"]),
            ("[5]", "[!5]", &["graphical.target"], &["rescue.target"]),
            ("[!2345]", "[2345]", &["rescue.target"], &[]),
            ("[S]", "[!S]", &["rescue.target"], &[]),
            ("[2345]", "[S]", &["multi-user.target"], &["rescue.target"]),
            (
                "[12345]",
                "[06]",
                &["multi-user.target", "rescue.target"],
                &[],
            ),
            ("[!1]", "[1]", &["multi-user.target"], &["rescue.target"]),
        ];
        for (start, stop, wanted_by, conflicts) in cases {
            assert_eq!(
                map(start, stop).unwrap(),
                (wanted_by.to_vec(), conflicts.to_vec()),
                "{start} {stop}"
            );
        }
    }

    #[test]
    fn a_start_set_of_only_shutdown_runlevels_is_refused() {
        for start in ["[06]", "[0]", "[!12345]"] {
            let message = map(start, "[2345]").unwrap_err();
            assert!(message.contains("systemd starts nothing"), "{message}");
        }
    }

    #[test]
    fn reload_runs_only_when_asked_live_and_under_systemd() {
        assert_eq!(reload_skipped(Target::Live, || true), None);
        assert!(reload_skipped(Target::LiveNoReload, || true)
            .unwrap()
            .contains("--no-reload"));
        assert!(reload_skipped(Target::Root, || true)
            .unwrap()
            .contains("--root"));
        assert!(reload_skipped(Target::Live, || false)
            .unwrap()
            .contains("not the running init"));
    }
}
