//! The one view of a job that every backend's templates take, built here once: the app's
//! header (`App` serializes without its jobs, so a job's context stays the same size in a
//! 1,000-job app as in a 2-job one), the job, its env in order, its command and its respawn
//! setting as the templates test it. A backend adds only the values its own formats need.
//! The helper script that Upstart, sysv, OpenRC, supervisord and launchd run as the run user is
//! one template, `templates/shared/helper.sh.tera`; what differs per init is a `Helper`.

use super::escape::needs_newline;
use crate::error::Result;
use crate::model::job::{App, Job, Respawn};

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
    context.insert("job", job);
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
    context
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

/// Renders the helper script of a job whose context is `context` (from `job_context`).
pub fn helper(context: &mut tera::Context, init: &Helper) -> Result<String> {
    context.insert("init_role", init.role);
    context.insert("init_runs_as", init.runs_as);
    super::render("shared/helper.sh", context)
}
