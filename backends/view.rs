//! The one view of a job that every backend's templates take, built here once: the app's
//! header (`App` serializes without its jobs, so a job's context stays the same size in a
//! 1,000-job app as in a 2-job one), the job, its env in order, its command and its respawn
//! setting as the templates test it. A backend adds only the values its own formats need.
//! The helper script that Upstart, sysv, OpenRC, supervisord and launchd run as the run user is
//! one template, `templates/shared/helper.sh.tera`; what differs per init is a `Helper`.

use super::escape::needs_newline;
use crate::error::Result;
use crate::model::app::App;
use crate::model::job::{Job, Respawn};

/// One variable of a job's env, as every backend's templates take it.
#[derive(serde::Serialize)]
pub struct EnvVar<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

/// The job's env, in order, for a template context.
pub fn env_vars(job: &Job) -> Vec<EnvVar<'_>> {
    job.env
        .iter()
        .map(|(k, v)| EnvVar {
            key: k.as_str(),
            value: v.as_str(),
        })
        .collect()
}

/// The context of a job's templates: `app` (its header), `job`, `env`, `needs_newline` (a
/// value holds a newline, so the script defines `$nl`), `command` (the exec form), `respawn`
/// (on or off) and `limit` (the respawn limit, if any).
pub fn job_context(app: &App, job: &Job) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("app", app);
    context.insert("job", &JobView::of(job));
    let env = env_vars(job);
    context.insert("needs_newline", &env.iter().any(|v| needs_newline(v.value)));
    context.insert("env", &env);
    context.insert("command", &job.command.exec_form());
    context.insert("respawn", &matches!(job.respawn, Respawn::On(_)));
    let limit = match job.respawn {
        Respawn::On(limit) => limit,
        Respawn::Off => None,
    };
    context.insert("limit", &limit);
    insert_tuning(&mut context, app, job);
    context
}

/// The job as its templates print it: only the fields they read. The whole `Job` (its
/// command, env, limits and resources, which the context carries in their own forms) made
/// a quarter of a large export's CPU time, serialized into every job's context.
#[derive(serde::Serialize)]
struct JobView<'a> {
    name: &'a str,
    full_name: &'a str,
    working_directory: &'a str,
    log: &'a str,
    log_given: bool,
    kill_timeout: u32,
    once: bool,
}

impl<'a> JobView<'a> {
    fn of(job: &'a Job) -> Self {
        Self {
            name: job.name.as_str(),
            full_name: &job.full_name,
            working_directory: job.working_directory.as_str(),
            log: job.log.as_str(),
            log_given: job.log_given,
            kill_timeout: job.kill_timeout,
            once: job.once,
        }
    }
}

/// One resource limit, as each init spells it.
#[derive(serde::Serialize)]
struct LimitView {
    /// `nofile`, as Upstart's `limit` stanza names it.
    key: &'static str,
    /// `NOFILE`, as systemd's `Limit<KEY>=` names it.
    systemd_key: &'static str,
    /// `4096` or `infinity`.
    systemd: String,
    /// `4096` or `unlimited`.
    unix: String,
}

/// A signal, as each init spells it.
#[derive(serde::Serialize)]
struct SignalView {
    /// `QUIT`.
    name: &'static str,
    /// `SIGQUIT`.
    full_name: String,
}

/// `resources`: the job's systemd resource-control settings that `carries` lists (a tuning
/// key it does not list was dropped with a warning by `capability::check`).
pub fn insert_resources(context: &mut tera::Context, job: &Job, carries: &[&str]) {
    let resources: Vec<ResourceView> = job
        .resources
        .systemd()
        .into_iter()
        .filter(|(key, ..)| carries.contains(&format!("resources.{key}").as_str()))
        .map(|(_, directive, value, _)| ResourceView { directive, value })
        .collect();
    context.insert("resources", &resources);
}

/// One systemd resource-control setting: `directive=value`, the value made from typed
/// values only (digits, letters, `/`, `.`, `:`, `-`, `%`, `,` and spaces).
#[derive(serde::Serialize)]
struct ResourceView {
    directive: &'static str,
    value: String,
}

/// `prlimit`'s options that set the job's limits, soft and hard alike (`--nofile=N:N`),
/// for the inits that start a job as root and drop to the run user after: run as root, it
/// may raise a limit, and the run user keeps it. Typed values only (a key, digits or
/// `unlimited`).
pub fn prlimit_options(job: &Job) -> Vec<String> {
    job.limits
        .set()
        .map(|(key, limit)| format!("--{key}={}:{}", limit.unix(), limit.unix()))
        .collect()
}

/// The Procfile v2 keys of a job, for the templates of the backends that carry them (each
/// lists in `Spec::CARRIES` what it writes): `limits`, `kill_signal`, `reload_signal`,
/// `kill_mode`, `pre`/`post` (exec forms), `respawn_delay`, `depends` (full unit
/// names), `depends_stems` (their names without `.service`, Upstart's jobs), `strong`,
/// `device` and `device_unit`.
fn insert_tuning(context: &mut tera::Context, app: &App, job: &Job) {
    let limits: Vec<LimitView> = job
        .limits
        .set()
        .map(|(key, limit)| LimitView {
            key,
            systemd_key: match key {
                "nofile" => "NOFILE",
                "nproc" => "NPROC",
                _ => "MEMLOCK",
            },
            systemd: limit.systemd(),
            unix: limit.unix(),
        })
        .collect();
    context.insert("prlimit", &prlimit_options(job));
    context.insert("limits", &limits);
    let signal = |s: Option<crate::model::signal::Signal>| {
        s.map(|s| SignalView {
            name: s.name(),
            full_name: s.full_name(),
        })
    };
    context.insert("kill_signal", &signal(job.kill_signal));
    context.insert("reload_signal", &signal(job.reload_signal));
    context.insert(
        "kill_mode",
        &job.kill_mode
            .map(super::super::model::signal::KillMode::word),
    );
    context.insert(
        "pre",
        &job.pre
            .as_ref()
            .map(super::super::model::command::Command::exec_form),
    );
    context.insert(
        "post",
        &job.post
            .as_ref()
            .map(super::super::model::command::Command::exec_form),
    );
    context.insert("respawn_delay", &job.respawn_delay);
    context.insert("pre_first", &false);
    // One helper per job: no instance argument (supervisord's helper of a process type with
    // several instances sets these).
    context.insert("counted", &false);
    context.insert("counted_env", &[(); 0]);
    context.insert("counted_log", &None::<()>);
    let depends: Vec<&str> = app
        .depends
        .units
        .iter()
        .map(super::super::model::depends::UnitName::as_str)
        .collect();
    context.insert("depends", &depends);
    let stems: Vec<&str> = app
        .depends
        .units
        .iter()
        .filter_map(|u| u.service_stem())
        .collect();
    context.insert("depends_stems", &stems);
    context.insert("strong", &app.depends.strong);
    context.insert(
        "device",
        &app.start_on_device
            .as_ref()
            .map(super::super::model::depends::DeviceName::as_str),
    );
    context.insert(
        "device_unit",
        &app.start_on_device
            .as_ref()
            .map(super::super::model::depends::DeviceName::systemd_unit),
    );
}

/// What the shared helper script says of the init that starts it: the only lines that
/// differ between the inits whose jobs run a helper.
pub struct Helper {
    /// Follows "process P of app A" on the helper's first comment line (`, a launchd daemon`).
    pub role: &'static str,
    /// The comment line saying how the init made the script the run user before its first line.
    pub runs_as: &'static str,
}

/// The shared template `shared/helper.sh`.
pub const TEMPLATES: &[super::template::Template] = &[(
    "shared/helper.sh",
    include_str!("../templates/shared/helper.sh.tera"),
)];

/// Renders the helper script of a job whose context is `context` (from `job_context`). With
/// `pre_first` in the context (an init with no "before the command" hook of its own), the
/// helper runs the job's pre command itself, to its end, before the command.
pub fn helper(context: &mut tera::Context, init: &Helper) -> Result<String> {
    context.insert("init_role", init.role);
    context.insert("init_runs_as", init.runs_as);
    super::render("shared/helper.sh", context)
}

/// A job's own file for its init: where it goes, its template and its mode (root's).
pub struct JobFile {
    pub path: String,
    pub template: &'static str,
    pub mode: u32,
}

/// Emits a job's own file, then its helper script at `helper_path`: the pair every init that
/// runs its jobs through the shared helper writes, in this order. The helper holds the env
/// values: root and the run group only.
pub fn job_and_helper(
    sink: &mut super::Sink,
    file: JobFile,
    helper_path: String,
    context: &mut tera::Context,
    init: &Helper,
) -> Result<()> {
    let contents = super::render(file.template, context)?;
    sink(crate::model::output::Output::file(
        file.path,
        contents,
        file.mode,
        crate::model::output::Group::Root,
    ))?;
    sink(crate::model::output::Output::file(
        helper_path,
        helper(context, init)?,
        0o750,
        crate::model::output::Group::Run,
    ))
}
