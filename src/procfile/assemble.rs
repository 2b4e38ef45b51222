//! Builds the `App` from the config and the Procfile: every setting taken from the command's
//! own entry, else the Procfile's top level, else the config, else the default; env merged in
//! that order, over the `.env` files and the variables every job gets (HOME, USER, PORT, PS,
//! as foreman sets them); `count` (or the formation) kept as a `ProcessType`'s count, each
//! type's instance 0 made whole; every instance's name checked for collisions and length, and
//! its PORT for range, per type.

use super::entry::{Entry, PortSetting, Procfile};
use super::job_names::JobNames;
use crate::error::{Error, Location, Result};
use crate::model::app::App;
use crate::model::command::Command;
use crate::model::config::Config;
use crate::model::depends::Depends;
use crate::model::env::{Env, EnvKey, EnvValue};
use crate::model::job::{Job, Respawn};
use crate::model::layer::{self, Layer};
use crate::model::limits;
use crate::model::name::Name;
use crate::model::process_type::{self, ProcessType};
use crate::model::resources::Resources;
use crate::model::rlimit::Rlimits;
use crate::model::signal::{KillMode, Signal};
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, LazyLock};

/// Room kept in a 255-byte file name for the longest suffix a backend adds (`.service`,
/// `.manifest`, temp-file decorations).
const SUFFIX_ROOM: usize = 16;
const MAX_FILE_NAME: usize = 255;

/// The default kill timeout, in seconds (the gem's).
const DEFAULT_KILL_TIMEOUT: u32 = 30;

/// Heroku's one-off release phase: run at deploy time, never as a daemon.
const RELEASE: &str = "release";

/// `-m web=2,worker=1,all=0`: how many of each process type to run, overriding `count`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Formation {
    /// Each named type's count (each type named once, looked up once per type).
    pub counts: BTreeMap<String, u32>,
    /// `all=N`: the count of every type not named.
    pub all: Option<u32>,
}

/// What the command line and the `.env` files add to the Procfile and the config.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub formation: Formation,
    /// `--port`.
    pub port: Option<u16>,
    /// The `.env` files read, in order, each with its name (a later file's value wins).
    pub dotenv: Vec<(String, Env)>,
    /// For an orchestrator rather than this host's init (the Kubernetes export): Heroku's
    /// `release:` entry stays a job (it becomes a Job there), and the job env gets none of
    /// what only this host knows (HOME and USER of the run user, PS, PORT: the orchestrator
    /// sets its own).
    pub elsewhere: bool,
    /// The Procfile's `env_file`s (`env_file_paths`), read with the invoking user's rights,
    /// each with its absolute path.
    pub env_files: Vec<(String, Env)>,
}

/// The app: its name and log directory, then each entry's process type (`entry_type`), in
/// Procfile order.
pub fn assemble(
    config: &Config,
    procfile: &Procfile,
    app: &Name,
    file: &str,
    default_dir: &AbsPath,
    options: &Options,
) -> Result<App> {
    let full_name = format!("{}{}", config.prefix, app);
    check_length(&full_name, Location::file(file))?;
    let log_dir = AbsPath::parse(&config.log_dir.join(&full_name), "log directory")
        .map_err(Error::refused)?;
    check_formation(&options.formation, procfile, file)?;
    let (dotenv, base_port) = read_dotenv(options, config)?;
    let base_env = base_env(config, &dotenv, !options.elsewhere)?;
    check_planned(config, procfile, options, &base_env, default_dir)?;
    check_policy(config, procfile, file)?;
    let shared = Shared {
        file,
        full_name: &full_name,
        log_dir: &log_dir,
        top: &procfile.top,
        defaults: &config.defaults,
        default_dir,
        base_env: &base_env,
        base_port,
        options,
    };
    let mut types = Vec::with_capacity(procfile.entries.len());
    let mut notes = Vec::new();
    let mut names = JobNames::with_capacity(procfile.entries.len());
    for (type_index, entry) in procfile.entries.iter().enumerate() {
        let Some(count) = instances(entry, &options.formation, options.elsewhere, &mut notes)
        else {
            continue;
        };
        types.push(entry_type(&shared, type_index, entry, count, &mut names)?);
    }
    if types.is_empty() {
        return Err(Error::input(
            Location::file(file),
            "nothing to install: every process type was skipped (count 0, or the release phase); give one a count of 1 or more (-m TYPE=1)",
        ));
    }
    Ok(App {
        name: app.clone(),
        full_name,
        run_as: config.run_as.clone(),
        start_on: procfile
            .start_on
            .clone()
            .unwrap_or_else(|| config.start_on.clone()),
        stop_on: procfile
            .stop_on
            .clone()
            .unwrap_or_else(|| config.stop_on.clone()),
        log_dir,
        depends: depends(procfile),
        start_on_device: procfile.start_on_device.as_ref().map(|(d, _)| d.clone()),
        types,
        notes,
    })
}

/// The line that makes an entry's jobs: its `count:` when it has one, else its label's.
fn made_on(entry: &super::entry::Entry) -> usize {
    entry
        .count_line
        .filter(|_| entry.count.is_some())
        .unwrap_or(entry.line)
}

/// The app's `depends` as the Procfile gives them.
fn depends(procfile: &Procfile) -> Depends {
    Depends {
        units: procfile
            .depends
            .as_ref()
            .map(|(units, _)| units.clone())
            .unwrap_or_default(),
        strong: procfile.strong_dependencies,
    }
}

/// The settings of one process type, each from the most specific layer that sets it
/// (limits and resources key by key).
struct Tuning {
    kill_timeout: u32,
    respawn: Respawn,
    working_directory: AbsPath,
    limits: Rlimits,
    resources: Arc<Resources>,
    kill_signal: Option<Signal>,
    kill_mode: Option<KillMode>,
    reload_signal: Option<Signal>,
    pre: Option<Command>,
    post: Option<Command>,
    respawn_delay: Option<u32>,
}

impl Tuning {
    fn resolve(layers: &[&Layer; 3], once: bool, default_dir: &AbsPath) -> Self {
        Self {
            kill_timeout: layers
                .iter()
                .find_map(|l| l.kill_timeout)
                .unwrap_or(DEFAULT_KILL_TIMEOUT),
            // A one-shot job is never restarted (runit's finish keeps it down after its run).
            respawn: if once {
                Respawn::Off
            } else {
                layer::resolve_respawn(&layers.map(|l| l.respawn))
            },
            working_directory: layers
                .iter()
                .find_map(|l| l.working_directory.clone())
                .unwrap_or_else(|| default_dir.clone()),
            limits: layers
                .iter()
                .fold(Rlimits::default(), |upper, l| upper.over(l.limits)),
            resources: Arc::new(layers.iter().fold(Resources::default(), |upper, l| {
                upper.over(l.resources.clone())
            })),
            kill_signal: layers.iter().find_map(|l| l.kill_signal),
            kill_mode: layers.iter().find_map(|l| l.kill_mode),
            reload_signal: layers.iter().find_map(|l| l.reload_signal),
            pre: layers.iter().find_map(|l| l.pre.clone()),
            post: layers.iter().find_map(|l| l.post.clone()),
            respawn_delay: layers.iter().find_map(|l| l.respawn_delay),
        }
    }

    /// Instance 0 of `entry` with these settings: the one instance `assemble` makes whole.
    fn instance_0(
        self,
        entry: &Entry,
        name: Name,
        full_name: String,
        env: Env,
        (log, log_given): (AbsPath, bool),
        port: Option<u16>,
    ) -> Job {
        Job {
            name,
            label: entry.label.clone(),
            full_name,
            command: entry.command.clone(),
            env,
            working_directory: self.working_directory,
            respawn: self.respawn,
            kill_timeout: self.kill_timeout,
            log,
            log_given,
            instance: 0,
            port,
            once: entry.once,
            respawn_delay: self.respawn_delay,
            limits: self.limits,
            kill_signal: self.kill_signal,
            kill_mode: self.kill_mode,
            reload_signal: self.reload_signal,
            pre: self.pre,
            post: self.post,
            resources: self.resources,
        }
    }
}

/// Refuses what the admin's policy does not allow: a `depends` or `start_on_device` outside
/// its lists, a limit above its `max_limits`. Checked before anything else is read (the
/// Procfile's env files) or built.
pub fn check_policy(config: &Config, procfile: &Procfile, file: &str) -> Result<()> {
    if let Some((units, line)) = &procfile.depends {
        config
            .policy
            .check_depends(units)
            .map_err(|m| Error::input(Location::line(file, *line), m))?;
    }
    if let Some((device, line)) = &procfile.start_on_device {
        config
            .policy
            .check_device(device)
            .map_err(|m| Error::input(Location::line(file, *line), m))?;
    }
    for entry in &procfile.entries {
        let limits = entry
            .layer
            .limits
            .over(procfile.top.limits)
            .over(config.defaults.limits);
        config.policy.check_limits(&limits).map_err(|m| {
            let line = entry
                .limits_line
                .filter(|_| !entry.layer.limits.is_empty())
                .or(procfile.limits_line)
                .unwrap_or(entry.line);
            Error::input(Location::line(file, line), m)
        })?;
    }
    Ok(())
}

/// The absolute paths of the Procfile's `env_file`s, in order, each once: the caller reads
/// them with the invoking user's rights and passes them in `Options::env_files`.
pub fn env_file_paths(procfile: &Procfile, default_dir: &AbsPath) -> Result<Vec<String>> {
    let mut paths = Vec::new();
    for entry in &procfile.entries {
        let layers = [&entry.layer, &procfile.top];
        let Some(given) = layers.iter().find_map(|l| l.env_file.as_ref()) else {
            continue;
        };
        let dir = layers
            .iter()
            .find_map(|l| l.working_directory.as_ref())
            .unwrap_or(default_dir);
        let path = given
            .resolve(dir, "env_file")
            .map_err(Error::Usage)?
            .to_string();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    Ok(paths)
}

/// The env of the layers' `env_file`, read by the caller; empty when none is set.
fn env_file<'a>(
    layers: &[&Layer; 3],
    dir: &AbsPath,
    options: &'a Options,
    file: &str,
    line: usize,
) -> Result<&'a Env> {
    static EMPTY: std::sync::OnceLock<Env> = std::sync::OnceLock::new();
    let Some(given) = layers.iter().take(2).find_map(|l| l.env_file.as_ref()) else {
        return Ok(EMPTY.get_or_init(Env::default));
    };
    if options.elsewhere {
        // The working directory is the image's, not this machine's: nothing here to read.
        return Err(crate::model::capability::refuse_key(
            "kubernetes",
            "env_file",
            "its path is in the image, not on this machine; set its variables under env: \
             instead",
        ));
    }
    let path = given
        .resolve(dir, "env_file")
        .map_err(|m| Error::input(Location::line(file, line), m))?;
    options
        .env_files
        .iter()
        .find(|(p, _)| p == path.as_str())
        .map(|(_, env)| env)
        .ok_or_else(|| {
            Error::input(
                Location::line(file, line),
                format!(
                    "env_file {} was not read: it is read only for an export on this machine, \
                     with your rights; remove env_file, or set its variables under env:",
                    Quoted(path.as_str())
                ),
            )
        })
}

/// What every entry's jobs are built from: the app's own values, settled once.
struct Shared<'a> {
    file: &'a str,
    full_name: &'a str,
    log_dir: &'a AbsPath,
    /// The Procfile's top-level settings, then the config's.
    top: &'a Layer,
    defaults: &'a Layer,
    default_dir: &'a AbsPath,
    /// The env every job starts from (see `base_env`).
    base_env: &'a Env,
    base_port: u16,
    options: &'a Options,
}

/// The process type the Procfile's `type_index`th entry makes, `count` instances: each setting
/// from the entry, else the top level, else the config. Instance 0 is made whole; every check
/// that can fail for some instance (a name made twice, a name too long, a PORT past 65535) is
/// made for each instance it first fails at, in instance order, so the error is the one making
/// every instance in turn would meet first.
fn entry_type<'a>(
    shared: &Shared,
    type_index: usize,
    entry: &'a Entry,
    count: u32,
    names: &mut JobNames<'a>,
) -> Result<ProcessType> {
    let Shared {
        file,
        full_name,
        log_dir,
        top,
        defaults,
        default_dir,
        base_env,
        base_port,
        options,
    } = *shared;
    let layers = [&entry.layer, top, defaults];
    let tuning = Tuning::resolve(&layers, entry.once, default_dir);
    let working_directory = &tuning.working_directory;
    let env_file = env_file(&layers, working_directory, options, file, entry.line)?;
    // One instance keeps the label as its name unless the Procfile asked for `count:`.
    let numbered = entry.count.is_some() || count > 1;
    let type_base = type_base(entry.port, base_port, type_index);
    let this = (made_on(entry), entry.count);
    let location = Location::line(file, entry.line);
    let name_of = |instance| process_type::instance_name(&entry.label, numbered, instance);
    let twice = names.add(&entry.label, numbered, count, this);
    // The instances at which a check first fails, if any: each is checked as it would be.
    let mut suspects: Vec<u32> = [
        Some(0),
        twice.as_ref().map(|t| t.instance),
        first_too_long(full_name.len() + 1, &entry.label, numbered, count),
        first_past_port(type_base, count),
    ]
    .into_iter()
    .flatten()
    .collect();
    suspects.sort_unstable();
    suspects.dedup();
    for instance in suspects {
        if let Some(twice) = twice.as_ref().filter(|t| t.instance == instance) {
            return Err(made_twice(&twice.name, twice.other, this, file));
        }
        let name = name_of(instance);
        check_length(&process_type::full_name(full_name, &name), location.clone())?;
        job_log(&layers, log_dir, &name, working_directory)
            .map_err(|m| Error::input(location.clone(), m))?;
        instance_port(type_base, instance, &name, &location)?;
    }
    let name = name_of(0);
    let (log, log_given) = job_log(&layers, log_dir, &name, working_directory)
        .map_err(|m| Error::input(location.clone(), m))?;
    let port = instance_port(type_base, 0, &name, &location)?;
    let own_env = [env_file, &top.env, &entry.layer.env];
    let env = instance_env(
        base_env,
        port.filter(|_| !options.elsewhere),
        (!options.elsewhere).then_some((&entry.label, 0)),
        own_env,
    );
    // Where the instance's own PORT and PS are: not where the Procfile set them itself.
    let own = |key: &EnvKey, set: bool| {
        (set && own_env.iter().all(|layer| layer.position(key).is_none()))
            .then(|| env.position(key))
            .flatten()
    };
    let own_port = own(&PORT, port.is_some() && !options.elsewhere);
    let own_ps = own(&PS, !options.elsewhere);
    let full_name = process_type::full_name(full_name, &name);
    let first = tuning.instance_0(entry, name, full_name, env, (log, log_given), port);
    Ok(ProcessType {
        default_log_dir: (!first.log_given).then(|| log_dir.clone()),
        first,
        count,
        numbered,
        own_port,
        own_ps,
    })
}

/// The first instance whose full name (`stem_len` bytes, then its name) is too long for a
/// file name, if one is: names grow with their number's digits, so the first of each length
/// (0, 10, 100, ...) is the one to try.
fn first_too_long(stem_len: usize, label: &Name, numbered: bool, count: u32) -> Option<u32> {
    if !numbered {
        return None;
    }
    let mut first_of_width = 0u32;
    let mut width = 1;
    while first_of_width < count {
        if stem_len + label.as_str().len() + 1 + width + SUFFIX_ROOM > MAX_FILE_NAME {
            return Some(first_of_width);
        }
        first_of_width = first_of_width.max(1).saturating_mul(10);
        width += 1;
    }
    None
}

/// The first instance whose PORT (`type_base` + its number) would be past 65535, if one is.
fn first_past_port(type_base: Option<u32>, count: u32) -> Option<u32> {
    let past = 65_536u32.saturating_sub(type_base?);
    (past < count).then_some(past)
}

/// Refuses, before a single job is built (each holds its own copy of the env), a Procfile
/// whose jobs would render to more than `max_rendered_bytes`: each type's instances times
/// the bytes of the values one instance carries, at most.
fn check_planned(
    config: &Config,
    procfile: &Procfile,
    options: &Options,
    base_env: &Env,
    default_dir: &AbsPath,
) -> Result<()> {
    // PORT and PS, and the `<name>.log` of a default log path.
    const SET_PER_JOB: u64 = 64;
    let top = &procfile.top;
    let types = procfile.entries.iter().map(|entry| {
        let count = instances(
            entry,
            &options.formation,
            options.elsewhere,
            &mut Vec::new(),
        );
        let layers = [&entry.layer, top, &config.defaults];
        let dir = layers
            .iter()
            .find_map(|l| l.working_directory.as_ref())
            .unwrap_or(default_dir);
        let log = layers
            .iter()
            .find_map(|l| l.log.as_ref())
            // `<log_dir>/<full name>/<label>-<n>.log`, the full name within a file name.
            .map_or(
                config.log_dir.as_str().len() + MAX_FILE_NAME + entry.label.as_str().len(),
                |l| l.written_len() + dir.as_str().len(),
            );
        let values = entry.command.as_str().len() as u64
            + base_env.bytes()
            + top.env.bytes()
            + entry.layer.env.bytes()
            + dir.as_str().len() as u64
            + log as u64
            + SET_PER_JOB;
        (u64::from(count.unwrap_or(0)), values)
    });
    limits::check_planned(types, &config.limits)
}

/// How many instances of `entry` to install, or `None` (with a note why) for none.
fn instances(
    entry: &Entry,
    formation: &Formation,
    keep_release: bool,
    notes: &mut Vec<String>,
) -> Option<u32> {
    let label = entry.label.as_str();
    let wanted = formation.counts.get(label).copied().or(formation.all);
    let count = wanted.or(entry.count).unwrap_or(1);
    if count == 0 {
        notes.push(format!(
            "{}: count 0, nothing of it is installed",
            Quoted(label)
        ));
        return None;
    }
    if label == RELEASE && !entry.once && !keep_release {
        notes.push(format!(
            "{}: skipped, it is the release phase (a command run once per deploy, not a daemon); run it yourself before restarting the app, or in a v2 Procfile give it \"once: true\" for a one-shot job",
            Quoted(label)
        ));
        return None;
    }
    Some(count)
}

/// The error for a job name an earlier entry already made (`other`: its line and count),
/// naming both.
fn made_twice(
    name: &Name,
    other: (usize, Option<u32>),
    this: (usize, Option<u32>),
    file: &str,
) -> Error {
    let ((other_line, other_count), (line, count)) = (other, this);
    let how = |count: &Option<u32>, line: usize| match count {
        Some(c) => format!("an instance of a label with count {c} (line {line})"),
        None => format!("the label on line {line}"),
    };
    Error::input(
        Location::line(file, line.max(other_line)),
        format!(
            "job name {} is made twice: by {} and by {}; rename one of the labels",
            Quoted(name.as_str()),
            how(&other_count, other_line),
            how(&count, line)
        ),
    )
}

/// The PORT of instance `instance` of a type whose first port is `type_base`.
fn instance_port(
    type_base: Option<u32>,
    instance: u32,
    name: &Name,
    location: &Location,
) -> Result<Option<u16>> {
    type_base
        .map(|base| {
            let port = base.saturating_add(instance);
            u16::try_from(port).map_err(|_| {
                Error::input(
                    location.clone(),
                    format!(
                        "the PORT of job {} would be {port}, above 65535: give a lower base port (--port, PORT in .env, or port in the config)",
                        Quoted(name.as_str())
                    ),
                )
            })
        })
        .transpose()
}

/// What every job's env starts from: HOME and USER as a login would set them, then the
/// config's env, then the .env files; the Procfile's env is laid over these (and may change
/// them).
fn base_env(config: &Config, dotenv: &Env, host: bool) -> Result<Env> {
    let mut env = Env::default();
    if host {
        env.set(key("HOME"), value("HOME", &config.run_as.home)?);
        env.set(key("USER"), value("USER", &config.run_as.user)?);
    }
    env.merge(&config.defaults.env);
    env.merge(dotenv);
    env.compact();
    Ok(env)
}

/// The job's log: `log:` of the first layer that gives one, relative to the working
/// directory `dir` unless absolute (and true), else `<log_dir>/<job>.log`.
fn job_log(
    layers: &[&Layer; 3],
    log_dir: &AbsPath,
    name: &Name,
    dir: &AbsPath,
) -> std::result::Result<(AbsPath, bool), String> {
    match layers.iter().find_map(|l| l.log.as_ref()) {
        Some(log) => Ok((log.resolve(dir, "log")?, true)),
        None => Ok((process_type::default_log(log_dir, name), false)),
    }
}

/// The first PORT of the type at `type_index`: its own `port:`, or the base + 100 x its place.
fn type_base(setting: Option<PortSetting>, base_port: u16, type_index: usize) -> Option<u32> {
    match setting {
        Some(PortSetting::Off) => None,
        Some(PortSetting::Base(port)) => Some(u32::from(port)),
        None => {
            Some(u32::from(base_port).saturating_add(
                100u32.saturating_mul(u32::try_from(type_index).unwrap_or(u32::MAX)),
            ))
        }
    }
}

/// One instance's env: the base, its PORT and PS, then the Procfile's `layers` over them.
fn instance_env(base: &Env, port: Option<u16>, ps: Option<(&Name, u32)>, layers: [&Env; 3]) -> Env {
    // PORT, PS and the layers' keys, at most: set without doubling, then kept exactly.
    let mut env = base.with_room(2 + layers.iter().map(|l| l.len()).sum::<usize>());
    if let Some(port) = port {
        env.set(PORT.clone(), EnvValue::number(u64::from(port)));
    }
    if let Some((label, instance)) = ps {
        env.set(
            PS.clone(),
            EnvValue::numbered(label, u64::from(instance) + 1),
        );
    }
    for layer in layers {
        env.merge(layer);
    }
    env.compact();
    env
}

/// The keys every instance sets, parsed once.
static PORT: LazyLock<EnvKey> = LazyLock::new(|| key("PORT"));
static PS: LazyLock<EnvKey> = LazyLock::new(|| key("PS"));

fn key(name: &str) -> EnvKey {
    EnvKey::parse(name).expect("a fixed variable name")
}

fn value(name: &str, text: &str) -> Result<EnvValue> {
    EnvValue::parse(name, text).map_err(Error::Usage)
}

/// A formation may only name the Procfile's labels (a typo would silently run none of it).
fn check_formation(formation: &Formation, procfile: &Procfile, file: &str) -> Result<()> {
    let labels: HashSet<&str> = procfile.entries.iter().map(|e| e.label.as_str()).collect();
    for name in formation.counts.keys() {
        if !labels.contains(name.as_str()) {
            let labels: Vec<&str> = procfile.entries.iter().map(|e| e.label.as_str()).collect();
            return Err(Error::Usage(format!(
                "the formation (-m) names {}, which is not a process type of {file}; its types are: {}",
                Quoted(name),
                labels.join(", ")
            )));
        }
    }
    Ok(())
}

/// The `.env` files merged (without PORT, which is the base port and not passed on), and the
/// base port: `--port`, else PORT from the `.env` files, else the config's, else 5000.
fn read_dotenv(options: &Options, config: &Config) -> Result<(Env, u16)> {
    let mut merged = Env::default();
    let mut dotenv_port = None;
    for (file, env) in &options.dotenv {
        for (k, v) in env.iter() {
            if k.as_str() == "PORT" {
                let port = v.as_str().trim().parse::<u16>().ok().filter(|p| *p != 0);
                let port = port.ok_or_else(|| {
                    Error::input(
                        Location::file(file),
                        format!(
                            "PORT {} is not a port number (1 to 65535)",
                            Quoted(v.as_str())
                        ),
                    )
                })?;
                dotenv_port = Some(port);
            } else {
                merged.set(k.clone(), v.clone());
            }
        }
    }
    let base = options.port.or(dotenv_port).unwrap_or(config.port);
    Ok((merged, base))
}

fn check_length(name: &str, location: Location) -> Result<()> {
    if name.len() + SUFFIX_ROOM > MAX_FILE_NAME {
        return Err(Error::input(
            location,
            format!(
                "generated name {}... is {} bytes; with its suffix it must fit in a {MAX_FILE_NAME}-byte file name (at most {} bytes)",
                Quoted(&name[..40]),
                name.len(),
                MAX_FILE_NAME - SUFFIX_ROOM
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::model::app::App;
    use crate::model::process_type::{Counted, ProcessType};

    fn app(procfile: &str) -> App {
        let config = crate::model::config::Config::parse_with(
            "config",
            Some("run_user: pxrun\nrun_group: pxrun\n"),
            &[],
            crate::model::account::RunAs::unresolved,
        )
        .unwrap();
        let parsed = crate::procfile::parse("Procfile", procfile.as_bytes()).unwrap();
        super::assemble(
            &config,
            &parsed,
            &crate::model::name::Name::parse("app", "app name").unwrap(),
            "Procfile",
            &crate::model::text::AbsPath::parse("/srv/app", "dir").unwrap(),
            &super::Options::default(),
        )
        .unwrap()
    }

    fn value(job: &crate::model::job::Job, key: &str) -> Option<String> {
        job.env
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.as_str().to_owned())
    }

    /// The keys of a type's counted variables, in order.
    fn keys(ty: &ProcessType) -> Vec<&str> {
        ty.counted_env().iter().map(|f| f.key).collect()
    }

    /// Every instance is the one its forms and byte count describe: the forms give back each
    /// instance's PORT, PS and log, `value_bytes` each instance's values, and `full_names`
    /// each instance's full name.
    #[test]
    fn the_forms_and_the_bytes_describe_every_instance() {
        let app = app(
            "version: 2\nenv: {A: x}\ncommands:\n  w9:\n    command: a\n    count: 120\n  \
             set:\n    command: b\n    count: 11\n    env: {PORT: \"80\"}\n    log: /srv/s.log\n  \
             one:\n    command: c\n",
        );
        assert_eq!(app.job_count(), 132);
        let mut seen = 0;
        for ty in &app.types {
            let forms = ty.counted_env();
            let log = ty.counted_log();
            let bytes: Vec<u64> = ty.value_bytes().collect();
            assert!(ty.full_names().eq(ty.instances().map(|job| job.full_name)));
            for (n, job) in ty.instances().enumerate() {
                let counted = |form: &Counted| {
                    format!(
                        "{}{}{}",
                        form.prefix,
                        u64::from(form.offset) + n as u64,
                        form.suffix
                    )
                };
                for form in &forms {
                    assert_eq!(value(&job, form.key), Some(counted(form)), "{}", job.name);
                }
                if let Some(form) = &log {
                    assert_eq!(job.log.as_str(), counted(form));
                }
                let values = job.command.as_str().len()
                    + usize::try_from(job.env.bytes()).unwrap()
                    + job.working_directory.as_str().len()
                    + job.log.as_str().len();
                assert_eq!(bytes[n], values as u64, "{}", job.name);
                assert_eq!(job.instance as usize, n);
                seen += 1;
            }
        }
        assert_eq!(seen, 132);
        let [w9, set, one] = &app.types[..] else {
            panic!("three types")
        };
        assert_eq!(keys(w9), ["PORT", "PS"]);
        assert_eq!(w9.instance(119).name.as_str(), "w9_119");
        assert_eq!(value(&w9.instance(119), "PORT").as_deref(), Some("5119"));
        // The Procfile's own PORT is every instance's; its log file, every instance's.
        assert_eq!(keys(set), ["PS"]);
        assert_eq!(value(&set.instance(10), "PORT").as_deref(), Some("80"));
        assert!(set.counted_log().is_none());
        assert!(keys(one).is_empty() && one.counted_log().is_none());
        assert_eq!(one.first.name.as_str(), "one");
    }
}
