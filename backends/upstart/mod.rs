//! Upstart, at parity with the upstart-exporter gem: a master job per app, a job and a helper
//! script per process. Where the gem ran root shell code in each job (touch, chown, `>>` on
//! the log, `sudo -u`), procexport's jobs use Upstart's own `setuid`/`setgid`, and the helper,
//! already the run user, opens its own log.

mod escape;
#[cfg(any(test, feature = "testing"))]
pub mod stanza_check;
#[cfg(feature = "testing")]
mod check;

use super::{render, Backend, Escape, Spec};
use crate::error::Result;
use crate::install::installer::{Installer, LegacyFiles};
use crate::model::account::RunAs;
use crate::model::config::{Config, Key};
use crate::model::job::{App, Job, Respawn};
use crate::model::name::Name;
use crate::model::output::{Group, Output};
use crate::model::text::AbsPath;
use serde::Serialize;

/// Where job files go (the gem's key).
const UPSTART_DIR: Key = Key::dir("upstart_dir", "/etc/init");
/// Where the helper scripts go (the gem's key).
const HELPER_DIR: Key = Key::dir("helper_dir", "/var/local/upstart_helpers");

#[derive(Debug, Clone)]
pub struct Upstart {
    jobs: AbsPath,
    helpers: AbsPath,
}

impl Spec for Upstart {
    const NAME: &'static str = "upstart";
    const ABOUT: &'static str = "Export the Procfile as Upstart jobs";
    const KEYS: &'static [Key] = &[UPSTART_DIR, HELPER_DIR];
    const TEMPLATES: &'static [(&'static str, &'static str)] = &[
        (
            "upstart/master.conf",
            include_str!("../../templates/upstart/master.conf.tera"),
        ),
        (
            "upstart/job.conf",
            include_str!("../../templates/upstart/job.conf.tera"),
        ),
        (
            "upstart/helper.sh",
            include_str!("../../templates/upstart/helper.sh.tera"),
        ),
    ];
    const FILTERS: &'static [(&'static str, Escape)] = &[("upstart_word", escape::upstart_word)];

    fn from_config(config: &Config) -> Result<Self> {
        Ok(Self {
            jobs: config.settings.dir(&UPSTART_DIR).clone(),
            helpers: config.settings.dir(&HELPER_DIR).clone(),
        })
    }
}

#[derive(Serialize)]
struct EnvVar<'a> {
    key: &'a str,
    value: &'a str,
}

impl Backend for Upstart {
    fn render(&self, app: &App) -> Result<Vec<Output>> {
        let mut context = tera::Context::new();
        context.insert("app", app);
        let mut outputs = vec![Output::file(
            self.jobs.join(&format!("{}.conf", app.full_name)),
            render("upstart/master.conf", &context)?,
            0o644,
            Group::Root,
        )];
        for job in &app.jobs {
            let helper = self.helpers.join(&format!("{}.sh", job.full_name));
            let context = job_context(app, job, &helper);
            outputs.push(Output::file(
                self.jobs.join(&format!("{}.conf", job.full_name)),
                render("upstart/job.conf", &context)?,
                0o644,
                Group::Root,
            ));
            // The helper holds the env values: readable by root and the run group only.
            outputs.push(Output::file(
                helper,
                render("upstart/helper.sh", &context)?,
                0o750,
                Group::Run,
            ));
        }
        Ok(outputs)
    }
}

/// Upstart reads a changed job file by itself (inotify), so there is nothing to reload.
impl Installer for Upstart {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn install_dirs(&self) -> Vec<String> {
        vec![self.jobs.to_string(), self.helpers.to_string()]
    }

    fn legacy_files(&self) -> Vec<LegacyFiles> {
        vec![
            LegacyFiles {
                dir: self.jobs.to_string(),
                suffix: ".conf",
            },
            LegacyFiles {
                dir: self.helpers.to_string(),
                suffix: ".sh",
            },
        ]
    }
}

/// What a job's templates use of its app. Not the whole `App`: that holds every job, and
/// serializing it into each job's context made rendering N jobs cost N² (a `count: 1000`
/// took seconds).
#[derive(Serialize)]
struct AppView<'a> {
    name: &'a Name,
    full_name: &'a str,
    run_as: &'a RunAs,
}

fn job_context(app: &App, job: &Job, helper: &str) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert(
        "app",
        &AppView {
            name: &app.name,
            full_name: &app.full_name,
            run_as: &app.run_as,
        },
    );
    context.insert("job", job);
    context.insert("helper", helper);
    let env: Vec<EnvVar> = job
        .env
        .iter()
        .map(|(k, v)| EnvVar {
            key: k.as_str(),
            value: v.as_str(),
        })
        .collect();
    context.insert(
        "needs_newline",
        &env.iter().any(|v| super::escape::needs_newline(v.value)),
    );
    context.insert("env", &env);
    context.insert("respawn", &matches!(job.respawn, Respawn::On(_)));
    let limit = match job.respawn {
        Respawn::On(limit) => limit,
        Respawn::Off => None,
    };
    context.insert("limit", &limit);
    context.insert("command", &job.command.exec_form());
    context
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// The fastest of three renders of `count` instances of one job.
    fn render_time(count: u32) -> Duration {
        let procfile =
            format!("version: 2\ncommands:\n  web:\n    command: a\n    count: {count}\n");
        (0..3)
            .map(|_| {
                let start = Instant::now();
                let outputs =
                    crate::testing::preview::render(procfile.as_bytes(), "app", "upstart", None).unwrap();
                assert_eq!(outputs.len(), 1 + 2 * count as usize);
                start.elapsed()
            })
            .min()
            .unwrap()
    }

    /// Rendering grows with the number of jobs, not with its square: 5 times the jobs may
    /// take 5 times as long (15 allowed for noise), not 25.
    #[test]
    fn render_time_is_linear_in_the_number_of_jobs() {
        let (small, large) = (render_time(200), render_time(1000));
        assert!(
            large < small * 15,
            "200 jobs: {small:?}, 1000 jobs: {large:?}"
        );
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
