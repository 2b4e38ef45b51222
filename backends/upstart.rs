//! Upstart, at parity with the upstart-exporter gem: a master job per app, a job and a helper
//! script per process. Where the gem ran root shell code in each job (touch, chown, `>>` on
//! the log, `sudo -u`), procexport's jobs use Upstart's own `setuid`/`setgid`, and the helper,
//! already the run user, opens its own log.

use super::{render, Backend, LegacyFiles};
use crate::account::RunAs;
use crate::config::Dirs;
use crate::error::Result;
use crate::job::{App, Job, Respawn};
use crate::name::Name;
use crate::output::{Group, Output};
use serde::Serialize;

/// The templates, compiled into the binary.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "upstart/master.conf",
        include_str!("../templates/upstart/master.conf.tera"),
    ),
    (
        "upstart/job.conf",
        include_str!("../templates/upstart/job.conf.tera"),
    ),
    (
        "upstart/helper.sh",
        include_str!("../templates/upstart/helper.sh.tera"),
    ),
];

#[derive(Debug, Clone, Default)]
pub struct Upstart;

#[derive(Serialize)]
struct EnvVar<'a> {
    key: &'a str,
    value: &'a str,
}

impl Backend for Upstart {
    fn name(&self) -> &'static str {
        "upstart"
    }

    fn render(&self, app: &App, dirs: &Dirs) -> Result<Vec<Output>> {
        let mut context = tera::Context::new();
        context.insert("app", app);
        let mut outputs = vec![Output::file(
            dirs.upstart.join(&format!("{}.conf", app.full_name)),
            render("upstart/master.conf", &context)?,
            0o644,
            Group::Root,
        )];
        for job in &app.jobs {
            let helper = dirs.helper.join(&format!("{}.sh", job.full_name));
            let context = job_context(app, job, &helper);
            outputs.push(Output::file(
                dirs.upstart.join(&format!("{}.conf", job.full_name)),
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

    fn install_dirs(&self, dirs: &Dirs) -> Vec<String> {
        vec![dirs.upstart.to_string(), dirs.helper.to_string()]
    }

    fn legacy_files(&self, dirs: &Dirs) -> Vec<LegacyFiles> {
        vec![
            LegacyFiles {
                dir: dirs.upstart.to_string(),
                suffix: ".conf",
            },
            LegacyFiles {
                dir: dirs.helper.to_string(),
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

    /// The size (in bytes of its debug form) of each job's template context, for an app of
    /// `count` instances of one job: the work every render of that job starts from.
    fn context_sizes(count: u32) -> Vec<usize> {
        let procfile =
            format!("version: 2\ncommands:\n  web:\n    command: a\n    count: {count}\n");
        let config = crate::config::Config::parse_with(
            "config",
            Some("run_user: pxrun\nrun_group: pxrun\n"),
            crate::account::RunAs::unresolved,
        )
        .unwrap();
        let parsed = crate::procfile::parse("Procfile", procfile.as_bytes()).unwrap();
        let name = crate::name::Name::parse("app", "app name").unwrap();
        let dir = crate::text::AbsPath::parse("/srv/app", "dir").unwrap();
        let app = crate::assemble::assemble(&config, &parsed, &name, "Procfile", &dir).unwrap();
        assert_eq!(app.jobs.len(), count as usize);
        app.jobs
            .iter()
            .map(|job| format!("{:?}", super::job_context(&app, job, "/h/x.sh")).len())
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
            widest(&large) <= widest(&small) + 8,
            "200 jobs: {} bytes, 1000 jobs: {} bytes",
            widest(&small),
            widest(&large)
        );
        let outputs = crate::preview::render(
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
        let outputs = crate::preview::render(procfile.as_bytes(), "app", "upstart", None).unwrap();
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
