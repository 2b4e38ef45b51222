//! A process type and its instances, held once however many of them run. `assemble` makes
//! and checks the first instance whole, and checks what differs between instances (names,
//! lengths, ports, bounds) for every one of them by arithmetic; every other instance is made
//! from the first when a backend asks for it, so 5,000 instances are not built, held and freed
//! for a backend that writes a process type once (supervisord's `numprocs`).

use crate::model::env::EnvValue;
use crate::model::job::Job;
use crate::model::name::Name;
use crate::model::text::AbsPath;
use serde::Serialize;

/// One Procfile entry's jobs: instance 0, and how the others differ from it.
#[derive(Debug, Clone)]
pub struct ProcessType {
    /// Instance 0, made and checked whole.
    pub first: Job,
    /// How many instances run: at least 1.
    pub count: u32,
    /// The instances are named `<label>_<n>` (the Procfile gave a `count:`, or more than one
    /// runs); else the one job is named by its label.
    pub numbered: bool,
    /// Where in the env the instance's own `PORT` and `PS` are (foreman's `5000 + n`,
    /// `web.<n + 1>`); `None` where the Procfile set the variable itself (its value then is
    /// every instance's) or where the job gets none (an export for an orchestrator).
    pub own_port: Option<usize>,
    pub own_ps: Option<usize>,
    /// The app's log directory, where a default log is `<name>.log`; `None` when the Procfile
    /// named the log (every instance then appends to that one file).
    pub default_log_dir: Option<AbsPath>,
}

/// A value that differs between the instances of a process type as `<prefix><offset + n>
/// <suffix>` does for instance `n`: `PORT` (`5100` + n), `PS` (`worker.` 1 + n), the default
/// log (`.../worker_` 0 + n `.log`). A backend that runs a type's instances from one file
/// (supervisord's helper) computes each value from the instance number.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Counted<'a> {
    pub key: &'a str,
    pub prefix: &'a str,
    pub offset: u32,
    pub suffix: &'a str,
}

/// The name of instance `n` of the type `label`: `<label>_<n>` when its instances are
/// numbered, else the label itself.
pub fn instance_name(label: &Name, numbered: bool, n: u32) -> Name {
    if numbered {
        label.instance(n)
    } else {
        label.clone()
    }
}

/// A job's full name, `<prefix><app>-<name>`: the stem of every file generated for it.
pub fn full_name(app_full_name: &str, name: &Name) -> String {
    [app_full_name, "-", name.as_str()].concat()
}

/// A job's default log, `<name>.log` in the app's log directory.
pub fn default_log(log_dir: &AbsPath, name: &Name) -> AbsPath {
    log_dir.file_of(name, ".log")
}

impl ProcessType {
    /// Instance `n` (below `count`): the first with its own name, full name, default log,
    /// port and `PORT`/`PS`.
    pub fn instance(&self, n: u32) -> Job {
        assert!(n < self.count, "instance {n} of a type of {}", self.count);
        let first = &self.first;
        if n == 0 {
            return first.clone();
        }
        let name = instance_name(&first.label, self.numbered, n);
        let port = first.port.map(|base| {
            u16::try_from(u32::from(base) + n).expect("assemble checked every instance's port")
        });
        let mut env = first.env.clone();
        if let (Some(at), Some(port)) = (self.own_port, port) {
            env.set_at(at, EnvValue::number(u64::from(port)));
        }
        if let Some(at) = self.own_ps {
            env.set_at(at, EnvValue::numbered(&first.label, u64::from(n) + 1));
        }
        Job {
            full_name: full_name(self.app_full_name(), &name),
            log: match &self.default_log_dir {
                Some(dir) => default_log(dir, &name),
                None => first.log.clone(),
            },
            name,
            label: first.label.clone(),
            command: first.command.clone(),
            env,
            working_directory: first.working_directory.clone(),
            respawn: first.respawn,
            kill_timeout: first.kill_timeout,
            log_given: first.log_given,
            instance: n,
            port,
            once: first.once,
            respawn_delay: first.respawn_delay,
            limits: first.limits,
            kill_signal: first.kill_signal,
            kill_mode: first.kill_mode,
            reload_signal: first.reload_signal,
            pre: first.pre.clone(),
            post: first.post.clone(),
            resources: first.resources.clone(),
        }
    }

    /// `<prefix><app>`, the stem of every instance's full name.
    fn app_full_name(&self) -> &str {
        let first = &self.first;
        &first.full_name[..first.full_name.len() - first.name.as_str().len() - 1]
    }

    /// Every instance's full name, in order, without making the instances (a backend that
    /// lists the jobs before it renders them).
    pub fn full_names(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.count).map(|n| {
            full_name(
                self.app_full_name(),
                &instance_name(&self.first.label, self.numbered, n),
            )
        })
    }

    /// Every instance, in order, each made when it is reached.
    pub fn instances(&self) -> impl Iterator<Item = Job> + '_ {
        (0..self.count).map(|n| self.instance(n))
    }

    /// The bytes of each instance's values (command, env, directory, log), in order, counted
    /// from the first's without making the instances: what differs is the digits of the
    /// instance's number in its name and default log, and of its PORT and PS.
    pub fn value_bytes(&self) -> impl Iterator<Item = u64> + '_ {
        let first = &self.first;
        let bytes = first.command.as_str().len() as u64
            + first.env.bytes()
            + first.working_directory.as_str().len() as u64
            + first.log.as_str().len() as u64;
        let digits = |n: u64| u64::from(n.checked_ilog10().unwrap_or(0) + 1);
        (0..u64::from(self.count)).map(move |n| {
            let mut values = bytes;
            if let (Some(_), Some(port)) = (self.own_port, first.port) {
                values += digits(u64::from(port) + n) - digits(u64::from(port));
            }
            if self.own_ps.is_some() {
                values += digits(n + 1) - 1;
            }
            if self.default_log_dir.is_some() && self.numbered {
                values += digits(n) - 1;
            }
            values
        })
    }

    /// The variables every instance sets to its own value, as `Counted` forms, in the env's
    /// order; none for a type of one.
    pub fn counted_env(&self) -> Vec<Counted<'_>> {
        if self.count < 2 {
            return Vec::new();
        }
        let mut counted: Vec<(usize, Counted)> = Vec::new();
        if let (Some(at), Some(port)) = (self.own_port, self.first.port) {
            let key = key_at(self, at);
            let offset = u32::from(port);
            counted.push((
                at,
                Counted {
                    key,
                    prefix: "",
                    offset,
                    suffix: "",
                },
            ));
        }
        if let Some(at) = self.own_ps {
            let ps = self.first.env.value_at(at).as_str();
            let prefix = &ps[..=self.first.label.as_str().len()];
            counted.push((
                at,
                Counted {
                    key: key_at(self, at),
                    prefix,
                    offset: 1,
                    suffix: "",
                },
            ));
        }
        counted.sort_by_key(|(at, _)| *at);
        counted.into_iter().map(|(_, c)| c).collect()
    }

    /// The default log as a `Counted` form (`<dir>/<label>_` n `.log`), when the instances have
    /// one each.
    pub fn counted_log(&self) -> Option<Counted<'_>> {
        self.default_log_dir.as_ref().filter(|_| self.count > 1)?;
        let log = self.first.log.as_str();
        // Instance 0's log ends `_0.log`.
        let digit = log.len() - ".log".len() - 1;
        Some(Counted {
            key: "log",
            prefix: &log[..digit],
            offset: 0,
            suffix: &log[digit + 1..],
        })
    }
}

fn key_at(ty: &ProcessType, at: usize) -> &str {
    ty.first.env.key_at(at).as_str()
}
