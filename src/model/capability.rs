//! Which of the Procfile v2 job keys a backend carries. Each backend lists the keys it
//! writes into its files (`CARRIES`); `check` goes over an app's jobs before rendering and
//! refuses a key the backend would lose (exit 2, naming the key and the backend), or, for a
//! key that only tunes a job's share of the machine (a weight), warns that it is dropped and
//! why. Nothing is dropped silently.

use crate::error::{Error, Result};
use crate::model::app::App;
use crate::model::job::Job;
use crate::model::resources::Effect;
use crate::sanitize::Quoted;

/// Every job key a backend may or may not carry, in the order docs/BACKENDS.md lists them.
pub const KEYS: &[&str] = &[
    "limits.nofile",
    "limits.nproc",
    "limits.memlock",
    "kill_signal",
    "kill_mode",
    "reload_signal",
    "pre",
    "post",
    "respawn.delay",
    "depends",
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
    "resources.io_weight",
    "resources.startup_io_weight",
    "resources.io_device_weight",
    "resources.io_read_bandwidth_max",
    "resources.io_write_bandwidth_max",
    "resources.io_read_iops_max",
    "resources.io_write_iops_max",
    "resources.ip_address_allow",
    "resources.ip_address_deny",
];

/// The error for a key `backend` cannot carry: exit 2, naming both, and what to do instead.
/// The one place that builds it.
pub fn refuse_key(backend: &'static str, key: &str, instead: &str) -> Error {
    Error::unsupported(backend, key, instead)
}

/// The keys `job` (of `app`) sets, each with whether it only tunes.
pub fn used_keys(app: &App, job: &Job) -> Vec<(String, Effect)> {
    let mut keys: Vec<(String, Effect)> = job
        .limits
        .set()
        .map(|(key, _)| (format!("limits.{key}"), Effect::Bounds))
        .collect();
    let mut flag = |set: bool, key: &str| {
        if set {
            keys.push((key.to_owned(), Effect::Bounds));
        }
    };
    flag(job.kill_signal.is_some(), "kill_signal");
    flag(job.kill_mode.is_some(), "kill_mode");
    flag(job.reload_signal.is_some(), "reload_signal");
    flag(job.pre.is_some(), "pre");
    flag(job.post.is_some(), "post");
    flag(job.respawn_delay.is_some(), "respawn.delay");
    flag(!app.depends.units.is_empty(), "depends");
    flag(app.start_on_device.is_some(), "start_on_device");
    keys.extend(
        job.resources
            .systemd()
            .into_iter()
            .map(|(key, _, _, effect)| (format!("resources.{key}"), effect)),
    );
    keys
}

/// Refuses the first key of `app` that `backend` does not list in `carries` and that bounds
/// a job; warns once for each such key that only tunes.
pub fn check(backend: &'static str, carries: &[&str], app: &App) -> Result<()> {
    let mut warned: Vec<String> = Vec::new();
    // A type's instances set the same keys: its first stands for all.
    for job in app.types.iter().map(|t| &t.first) {
        for (key, effect) in used_keys(app, job) {
            if carries.contains(&key.as_str()) {
                continue;
            }
            match effect {
                Effect::Bounds => {
                    return Err(refuse_key(
                        backend,
                        &key,
                        &format!(
                            "job {} sets it; remove {key} from the Procfile, or export with a \
                             backend that carries it (docs/BACKENDS.md lists them)",
                            Quoted(job.name.as_str())
                        ),
                    ))
                }
                Effect::Tunes if !warned.contains(&key) => {
                    crate::error::warn(&format!(
                        "{key} is not written for the {backend} backend, which has no such \
                         setting: it only tunes the job's share of the machine, so the jobs \
                         run without it"
                    ));
                    warned.push(key);
                }
                Effect::Tunes => {}
            }
        }
    }
    Ok(())
}
