//! The trusted configuration, read from `/etc/procexport.yaml` (else the gem's
//! `/etc/upstart-exporter.yaml`, whose keys are accepted as they are). Unknown keys are an
//! error: a typo must not silently fall back to a default.

use crate::error::{Error, Location, Result};
use crate::model::account::{Account, AccountError, RunAs};
use crate::model::kubernetes;
use crate::model::layer::{self, KeyError, Layer, RawRespawn};
use crate::model::name::Name;
use crate::model::policy::{Policy, RawPolicy};
use crate::model::runlevel::Runlevels;
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;
use crate::yaml::{self, key_line, Entries as RawEnv, Loose, Whole};
use serde::Deserialize;
use std::collections::BTreeMap;

/// foreman's and honcho's base port.
pub const DEFAULT_PORT: u16 = 5000;

pub use crate::model::config_files::{GEM_PATH, MAIN_PATH};

/// The keys that say who may act on which app, where ownership is recorded, and how much one
/// export may make. Only procexport's own config sets them: the gem's file, whatever name
/// procexport is run by, may give directories, the run user and the jobs' settings, never
/// loosen who may do what.
pub const POLICY_KEYS: &[&str] = &[
    "apps",
    "allow_unlisted_apps",
    "state_dir",
    "max_jobs",
    "max_rendered_bytes",
    "max_expanded_bytes",
    "max_env_files",
    "max_env_bytes",
    "policy",
];

#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    run_user: Option<String>,
    run_group: Option<String>,
    prefix: Option<String>,
    log_dir: Option<String>,
    kill_timeout: Option<Whole>,
    respawn: Option<RawRespawn>,
    start_on_runlevel: Option<String>,
    stop_on_runlevel: Option<String>,
    state_dir: Option<String>,
    port: Option<Whole>,
    env: Option<RawEnv>,
    apps: Option<BTreeMap<String, RawApp>>,
    allow_unlisted_apps: Option<bool>,
    max_jobs: Option<i64>,
    max_rendered_bytes: Option<i64>,
    max_expanded_bytes: Option<i64>,
    max_env_files: Option<i64>,
    max_env_bytes: Option<i64>,
    /// The Kubernetes export's section (`kubernetes: {image: ..., port: ...}`).
    kubernetes: Option<kubernetes::RawSettings>,
    /// What a Procfile may ask beyond its own processes (`model::policy`).
    policy: Option<RawPolicy>,
    /// Every other key: a backend's (checked against the backends' keys), or a mistake.
    #[serde(flatten)]
    other: BTreeMap<String, Loose>,
}

/// One app's section under `apps:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    run_user: Option<String>,
    run_group: Option<String>,
    managers: Option<Vec<String>>,
}

/// An app the config lists: its own account, and who besides its owner may act on it.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// The app's own run user and group (its secrets are readable by that group only).
    pub run_as: Option<RunAs>,
    /// Sudo users who may export, clean, start and stop it (besides its owner).
    pub managers: Vec<String>,
}

/// Bounds on what one export may read and make, each checked before the memory it bounds
/// is spent (see `model::limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Each field is named as its config key is written.
#[allow(clippy::struct_field_names)]
pub struct Limits {
    pub max_jobs: u32,
    pub max_rendered_bytes: u64,
    /// The bytes a YAML Procfile's values may come to once its aliases are expanded.
    pub max_expanded_bytes: u64,
    /// How many `.env` files (`-e`) one export may read.
    pub max_env_files: u32,
    /// The bytes all the `.env` files of one export may hold together.
    pub max_env_bytes: u64,
}

impl Limits {
    pub const DEFAULT: Self = Self {
        max_jobs: 2000,
        max_rendered_bytes: 64 << 20,
        max_expanded_bytes: crate::yaml::DEFAULT_MAX_EXPANDED,
        max_env_files: 32,
        max_env_bytes: 8 << 20,
    };
}

/// The keys every config has, whatever the backend (for "did you mean").
const COMMON_KEYS: &[&str] = &[
    "apps",
    "allow_unlisted_apps",
    "max_jobs",
    "max_rendered_bytes",
    "max_expanded_bytes",
    "max_env_files",
    "max_env_bytes",
    "run_user",
    "run_group",
    "prefix",
    "log_dir",
    "kill_timeout",
    "respawn",
    "start_on_runlevel",
    "stop_on_runlevel",
    "state_dir",
    "port",
    "env",
    "kubernetes",
    "policy",
];

#[cfg(any(test, feature = "testing"))]
/// Every key a config may hold: the common ones, then the backends' `keys`.
pub fn all_keys(keys: &[Key]) -> Vec<&'static str> {
    COMMON_KEYS
        .iter()
        .copied()
        .chain(keys.iter().map(|k| k.name))
        .collect()
}

/// The home directory of the effective user, from the user database.
fn effective_home() -> Result<String, (String, String)> {
    let uid = nix::unistd::geteuid();
    let fail = |why: String| ("home".to_owned(), why);
    let user = crate::install::disk::accounts::user_by_uid(uid.as_raw())
        .map_err(|e| fail(format!("looking up uid {uid}: {e}")))?
        .ok_or_else(|| fail(format!("uid {uid} has no entry in the user database")))?;
    let home = user.home.to_string_lossy().into_owned();
    if !home.starts_with('/') {
        return Err(fail(format!(
            "the home directory of uid {uid} is not absolute"
        )));
    }
    Ok(home.trim_end_matches('/').to_owned())
}

/// A config key a backend reads, with its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub default: &'static str,
    pub kind: KeyKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An absolute directory.
    Dir,
    /// A directory of the user running procexport: absolute, or `~/...`, below the home
    /// directory the user database gives the effective user (never `$HOME`).
    HomeDir,
    /// One of a few words.
    Choice(&'static [&'static str]),
    /// An absolute path to a file (a program procexport runs).
    File,
    /// Free text on one line; empty means unset.
    Text,
}

impl Key {
    pub const fn dir(name: &'static str, default: &'static str) -> Self {
        Self {
            name,
            default,
            kind: KeyKind::Dir,
        }
    }

    pub const fn file(name: &'static str, default: &'static str) -> Self {
        Self {
            name,
            default,
            kind: KeyKind::File,
        }
    }

    pub const fn text(name: &'static str, default: &'static str) -> Self {
        Self {
            name,
            default,
            kind: KeyKind::Text,
        }
    }

    pub const fn home_dir(name: &'static str, default: &'static str) -> Self {
        Self {
            name,
            default,
            kind: KeyKind::HomeDir,
        }
    }

    pub const fn choice(
        name: &'static str,
        default: &'static str,
        words: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            default,
            kind: KeyKind::Choice(words),
        }
    }
}

/// The checked values of the backends' keys.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    dirs: BTreeMap<&'static str, AbsPath>,
    choices: BTreeMap<&'static str, String>,
}

impl Settings {
    /// The directory `key` names. Every backend's keys are read with the config, so a key
    /// that is missing here is one its backend forgot to list: a bug, found by any test that
    /// builds that backend.
    pub fn dir(&self, key: &Key) -> &AbsPath {
        self.dirs
            .get(key.name)
            .unwrap_or_else(|| panic!("config key {} is not listed by its backend", key.name))
    }

    /// The file `key` names.
    pub fn file(&self, key: &Key) -> &AbsPath {
        self.dir(key)
    }

    /// The text `key` is set to; `None` when it is empty.
    pub fn text(&self, key: &Key) -> Option<&str> {
        Some(self.choice(key)).filter(|t| !t.is_empty())
    }

    /// The word `key` is set to.
    pub fn choice(&self, key: &Key) -> &str {
        self.choices
            .get(key.name)
            .unwrap_or_else(|| panic!("config key {} is not listed by its backend", key.name))
    }
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub run_as: RunAs,
    pub prefix: String,
    pub start_on: Runlevels,
    pub stop_on: Runlevels,
    /// `<log_dir>`: where each app's own log directory is made.
    pub log_dir: AbsPath,
    /// Manifests and locks.
    pub state_dir: AbsPath,
    /// The base port when neither `--port` nor a `.env` file gives one.
    pub port: u16,
    /// The backends' own keys.
    pub settings: Settings,
    /// The config's layer of job settings (kill_timeout, respawn, env).
    pub defaults: Layer,
    /// The apps the config lists, by name.
    pub apps: BTreeMap<String, AppSettings>,
    /// False: only the apps listed may be exported.
    pub allow_unlisted_apps: bool,
    pub limits: Limits,
    /// The `kubernetes:` section, checked (only the Kubernetes export reads it).
    pub kubernetes: kubernetes::Settings,
    /// What a Procfile may ask beyond its own processes: limits, dependencies, devices.
    pub policy: Policy,
}

impl Config {
    /// The config as it applies to app `name`: its own account when the config lists one.
    #[must_use]
    pub fn for_app(&self, name: &str) -> Self {
        let mut config = self.clone();
        if let Some(run_as) = self.apps.get(name).and_then(|a| a.run_as.clone()) {
            config.run_as = run_as;
        }
        config
    }

    /// This config with `policy`'s `POLICY_KEYS` values: the gem's file read under the gem's
    /// name still obeys procexport's own config.
    #[must_use]
    pub fn with_policy_of(mut self, policy: &Self) -> Self {
        self.apps.clone_from(&policy.apps);
        self.allow_unlisted_apps = policy.allow_unlisted_apps;
        self.state_dir = policy.state_dir.clone();
        self.limits = policy.limits;
        self.policy.clone_from(&policy.policy);
        self
    }

    /// Refuses the gem's config `file` (text `text`) when it sets one of `POLICY_KEYS`.
    pub fn refuse_policy_keys(file: &str, text: &str) -> Result<()> {
        // A file that does not parse is reported by `parse_with`, with its line.
        let Ok(raw) = yaml::parse::<RawConfig>(text) else {
            return Ok(());
        };
        let set = [
            raw.apps.is_some(),
            raw.allow_unlisted_apps.is_some(),
            raw.state_dir.is_some(),
            raw.max_jobs.is_some(),
            raw.max_rendered_bytes.is_some(),
            raw.max_expanded_bytes.is_some(),
            raw.max_env_files.is_some(),
            raw.max_env_bytes.is_some(),
            raw.policy.is_some(),
        ];
        let Some(key) = POLICY_KEYS
            .iter()
            .zip(set)
            .find_map(|(k, set)| set.then_some(*k))
        else {
            return Ok(());
        };
        let location = key_line(text, &[key])
            .map_or_else(|| Location::file(file), |line| Location::line(file, line));
        Err(Error::input(
            location,
            format!(
                "{key} may only be set in {MAIN_PATH}: the gem's config gives directories, the \
                 run user and the jobs' settings, never who may do what; move {key} to \
                 {MAIN_PATH}"
            ),
        ))
    }

    #[cfg(any(test, feature = "testing"))]
    /// Builds the config from the text of `file` (`None`: no config file, all defaults);
    /// `keys` are the backends' keys, and `resolve` looks up the run user and group
    /// (`RunAs::resolve`; `RunAs::unresolved` where no job runs on this machine, as for the
    /// Kubernetes export, and in the tests).
    pub fn parse_with(
        file: &str,
        text: Option<&str>,
        keys: &[Key],
        resolve: fn(&str, &str) -> Result<RunAs, AccountError>,
    ) -> Result<Self> {
        Self::parse_for(file, text, keys, &Accounts::Configured(resolve))
    }

    /// As `parse_with`, with the run user chosen by `accounts`.
    pub fn parse_for(
        file: &str,
        text: Option<&str>,
        keys: &[Key],
        accounts: &Accounts,
    ) -> Result<Self> {
        let raw = parse_raw(file, text)?;
        let text = text.unwrap_or("");
        let at_key = |key: &str, message: String| {
            let location = key_line(text, &[key])
                .map_or_else(|| Location::file(file), |line| Location::line(file, line));
            Error::input(location, message)
        };
        let at = |(key, message): KeyError| at_key(key, message);
        let path = |key: &'static str, value: &Option<String>, default: &str| {
            layer::path(key, value.as_deref().unwrap_or(default)).map_err(at)
        };
        let limits = parse_limits(&raw).map_err(at)?;
        let log_dir = path("log_dir", &raw.log_dir, "/var/log")?;
        let state_dir = path("state_dir", &raw.state_dir, "/var/lib/procexport")?;
        let settings = settings(&raw.other, keys).map_err(|(key, m)| at_key(&key, m))?;
        let prefix = raw.prefix.clone().unwrap_or_else(|| "fb-".to_owned());
        check_prefix(&prefix).map_err(|m| at(("prefix", m)))?;
        let run_as = run_as(&raw, accounts, &at)?;
        let runlevels = |key: &'static str, value: &Option<String>, default: &str| {
            Runlevels::parse(value.as_deref().unwrap_or(default), key).map_err(|m| at((key, m)))
        };
        let defaults = defaults(&raw, &at)?;
        let apps = parse_apps(file, text, raw.apps.unwrap_or_default(), &run_as, accounts)?;
        let kubernetes = kubernetes_settings(file, text, raw.kubernetes.as_ref())?;
        Ok(Self {
            apps,
            allow_unlisted_apps: raw.allow_unlisted_apps.unwrap_or(true),
            limits,
            run_as,
            prefix,
            start_on: runlevels("start_on_runlevel", &raw.start_on_runlevel, "[2345]")?,
            stop_on: runlevels("stop_on_runlevel", &raw.stop_on_runlevel, "[!2345]")?,
            log_dir,
            state_dir,
            port: match raw.port {
                Some(port) => {
                    u16::try_from(layer::in_range("port", port.0, 1, 65_535).map_err(at)?)
                        .expect("in range")
                }
                None => DEFAULT_PORT,
            },
            settings,
            defaults,
            kubernetes,
            policy: Policy::parse(raw.policy.as_ref()).map_err(at)?,
        })
    }
}

/// The config file's YAML, read (an empty or absent file reads as no key set).
fn parse_raw(file: &str, text: Option<&str>) -> Result<RawConfig> {
    Ok(match text {
        Some(text) if !text.trim().is_empty() => {
            yaml::parse(text).map_err(|e| e.into_error(file))?
        }
        _ => RawConfig::default(),
    })
}

/// The run user and group as `accounts` says; `at` places an error at its key.
fn run_as(raw: &RawConfig, accounts: &Accounts, at: &dyn Fn(KeyError) -> Error) -> Result<RunAs> {
    Ok(match accounts {
        Accounts::Configured(resolve) => resolve(
            raw.run_user.as_deref().unwrap_or("service"),
            raw.run_group.as_deref().unwrap_or("service"),
        )
        .map_err(|e| {
            let key = match e.account {
                Account::User => "run_user",
                Account::Group => "run_group",
            };
            at((key, e.message))
        })?,
        Accounts::Invoking { me, exporting } => {
            if exporting.is_some() {
                not_someone_else(me, raw.run_user.as_deref(), raw.run_group.as_deref(), "")
                    .map_err(at)?;
            }
            me.clone()
        }
    })
}

/// The jobs' settings the config gives every app (under the Procfile's own).
fn defaults(raw: &RawConfig, at: &dyn Fn(KeyError) -> Error) -> Result<Layer> {
    Ok(Layer {
        kill_timeout: raw
            .kill_timeout
            .map(|w| layer::kill_timeout(w.0))
            .transpose()
            .map_err(at)?,
        respawn: raw
            .respawn
            .as_ref()
            .map(layer::respawn)
            .transpose()
            .map_err(at)?,
        env: raw
            .env
            .as_ref()
            .map(layer::env)
            .transpose()
            .map_err(at)?
            .unwrap_or_default(),
        ..Layer::default()
    })
}

/// The `kubernetes:` section, checked; an error is placed at its key, else at the section.
fn kubernetes_settings(
    file: &str,
    text: &str,
    raw: Option<&kubernetes::RawSettings>,
) -> Result<kubernetes::Settings> {
    kubernetes::Settings::check(raw).map_err(|(key, m)| {
        let line = key_line(text, &["kubernetes", key]).or_else(|| key_line(text, &["kubernetes"]));
        let location = line.map_or_else(|| Location::file(file), |l| Location::line(file, l));
        Error::input(location, m)
    })
}

/// Whose account an app's jobs run as.
#[derive(Debug, Clone)]
pub enum Accounts {
    /// `run_user` and `run_group` (`service` unless set), looked up with this function.
    Configured(fn(&str, &str) -> Result<RunAs, AccountError>),
    /// The user running procexport, always (systemd user units: that user's own manager runs
    /// the jobs, so no other account could be meant and no config is needed). For an export
    /// of app `exporting`, a `run_user` or `run_group` (top level or in that app's section)
    /// naming another account is an error: the config asks for something that cannot be.
    Invoking {
        me: RunAs,
        exporting: Option<String>,
    },
}

/// Refuses a `run_user` or `run_group` (keys under `prefix`) that is not `me`'s own.
fn not_someone_else(
    me: &RunAs,
    user: Option<&str>,
    group: Option<&str>,
    prefix: &str,
) -> Result<(), KeyError> {
    let given = [
        ("run_user", user, &me.user, "the user running procexport"),
        (
            "run_group",
            group,
            &me.group,
            "the primary group of the user running procexport",
        ),
    ];
    for (key, value, own, whose) in given {
        if let Some(value) = value.filter(|v| v != own) {
            return Err((
                key,
                format!(
                    "{prefix}{key} {} is not {whose} ({}): systemd user units always run as \
                     the user whose manager runs them; remove {prefix}{key} (no config is \
                     needed) or write {key}: {own}",
                    Quoted(value),
                    Quoted(own),
                ),
            ));
        }
    }
    Ok(())
}

/// The prefix stands in front of every generated name, so it holds only name characters.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok = prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "prefix {} may only contain ASCII letters, digits, \"_\" and \"-\" (at most 64)",
            Quoted(prefix)
        ))
    }
}

/// Reads the `apps:` section: each app's own account (resolved now, so a missing one is a
/// config error with its line) and its managers.
fn parse_apps(
    file: &str,
    text: &str,
    raw: BTreeMap<String, RawApp>,
    run_as: &RunAs,
    accounts: &Accounts,
) -> Result<BTreeMap<String, AppSettings>> {
    let mut apps = BTreeMap::new();
    for (name, app) in raw {
        let at_app = |key: &str, message: String| {
            let location = key_line(text, &["apps", &name, key])
                .or_else(|| key_line(text, &["apps", &name]))
                .map_or_else(|| Location::file(file), |line| Location::line(file, line));
            Error::input(location, message)
        };
        Name::parse(&name, "app name in apps").map_err(|m| at_app("", m))?;
        let run_as = match (&app.run_user, &app.run_group, accounts) {
            (None, None, _) => None,
            // The jobs run as the invoking user; only the app being exported must not name
            // someone else (another app's section may be written for the system backends).
            (user, group, Accounts::Invoking { me, exporting }) => {
                if exporting.as_deref() == Some(name.as_str()) {
                    let prefix = format!("apps.{name}.");
                    not_someone_else(me, user.as_deref(), group.as_deref(), &prefix)
                        .map_err(|(key, m)| at_app(key, m))?;
                }
                None
            }
            (user, group, Accounts::Configured(resolve)) => {
                let user = user.as_deref().unwrap_or(&run_as.user);
                let group = group.as_deref().unwrap_or(user);
                Some(resolve(user, group).map_err(|e| {
                    let key = match e.account {
                        Account::User => "run_user",
                        Account::Group => "run_group",
                    };
                    at_app(key, format!("apps.{name}: {}", e.message))
                })?)
            }
        };
        let managers = app.managers.unwrap_or_default();
        for manager in &managers {
            RunAs::check_name(manager, Account::User)
                .map_err(|e| at_app("managers", format!("apps.{name}.managers: {}", e.message)))?;
        }
        apps.insert(name, AppSettings { run_as, managers });
    }
    Ok(apps)
}

/// Reads the bounds (`max_jobs`, `max_rendered_bytes`, `max_expanded_bytes`,
/// `max_env_files`, `max_env_bytes`), each from 1 to a ceiling.
fn parse_limits(raw: &RawConfig) -> Result<Limits, KeyError> {
    let limit = |key: &'static str, value: Option<i64>, default: u64, max: u64| {
        value.map_or(Ok(default), |v| {
            u64::try_from(v)
                .ok()
                .filter(|v| (1..=max).contains(v))
                .ok_or_else(|| (key, format!("{key} {v} is out of range (1 to {max})")))
        })
    };
    let count = |key: &'static str, value: Option<i64>, default: u32, max: u32| {
        limit(key, value, default.into(), max.into()).map(|v| u32::try_from(v).unwrap_or(max))
    };
    let d = Limits::DEFAULT;
    Ok(Limits {
        max_jobs: count("max_jobs", raw.max_jobs, d.max_jobs, 100_000)?,
        max_rendered_bytes: limit(
            "max_rendered_bytes",
            raw.max_rendered_bytes,
            d.max_rendered_bytes,
            16 << 30,
        )?,
        max_expanded_bytes: limit(
            "max_expanded_bytes",
            raw.max_expanded_bytes,
            d.max_expanded_bytes,
            1 << 30,
        )?,
        max_env_files: count("max_env_files", raw.max_env_files, d.max_env_files, 10_000)?,
        max_env_bytes: limit("max_env_bytes", raw.max_env_bytes, d.max_env_bytes, 1 << 30)?,
    })
}

/// Checks the keys that are not common ones against the backends' `keys`, and reads each
/// backend key (its default when absent). An unknown key is an error that names the closest
/// known one.
fn settings(other: &BTreeMap<String, Loose>, keys: &[Key]) -> Result<Settings, (String, String)> {
    for name in other.keys() {
        if !keys.iter().any(|k| k.name == name) {
            let known = COMMON_KEYS
                .iter()
                .copied()
                .chain(keys.iter().map(|k| k.name));
            let hint = closest(name, known)
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            return Err((
                name.clone(),
                format!("unknown config key {}{hint}", Quoted(name)),
            ));
        }
    }
    let mut settings = Settings::default();
    // Looked up once for every `~/` key, and only when one is read.
    let mut home: Option<String> = None;
    for key in keys {
        let text = match other.get(key.name) {
            None => key.default,
            Some(Loose::Text(text)) => text,
            Some(Loose::Other) => {
                return Err((
                    key.name.to_owned(),
                    format!("{} must be a single value", key.name),
                ))
            }
        };
        match key.kind {
            KeyKind::Dir | KeyKind::File => {
                let dir = layer::path(key.name, text).map_err(|(k, m)| (k.to_owned(), m))?;
                settings.dirs.insert(key.name, dir);
            }
            KeyKind::HomeDir => {
                let resolved = match text.strip_prefix("~/") {
                    Some(rest) => {
                        if home.is_none() {
                            home = Some(effective_home()?);
                        }
                        format!("{}/{rest}", home.as_deref().unwrap_or_default())
                    }
                    None => text.to_owned(),
                };
                let dir = layer::path(key.name, &resolved).map_err(|(k, m)| (k.to_owned(), m))?;
                settings.dirs.insert(key.name, dir);
            }
            KeyKind::Choice(words) => {
                if !words.contains(&text) {
                    return Err((
                        key.name.to_owned(),
                        format!(
                            "{} {} is not one of: {}",
                            key.name,
                            Quoted(text),
                            words.join(", ")
                        ),
                    ));
                }
                settings.choices.insert(key.name, text.to_owned());
            }
            KeyKind::Text => {
                if text.chars().any(char::is_control) || text.len() > 4096 {
                    return Err((
                        key.name.to_owned(),
                        format!(
                            "{} must be one line of text without control characters",
                            key.name
                        ),
                    ));
                }
                settings.choices.insert(key.name, text.to_owned());
            }
        }
    }
    Ok(settings)
}

/// The known name closest to `name` by edit distance, if it is close enough to be a typo.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> RunAs {
        RunAs {
            user: "alice".to_owned(),
            group: "alice".to_owned(),
            uid: 1001,
            gid: 1001,
            home: "/home/alice".to_owned(),
        }
    }

    fn invoking(text: &str, exporting: Option<&str>) -> Result<Config> {
        let accounts = Accounts::Invoking {
            me: me(),
            exporting: exporting.map(str::to_owned),
        };
        Config::parse_for("c.yaml", Some(text), &[], &accounts)
    }

    /// The invoking user's account, whatever the config says, and no lookup of `service`;
    /// an export refuses a config naming someone else for the app, at the key's line.
    #[test]
    fn the_invoking_user_runs_the_jobs_and_a_config_naming_someone_else_is_refused() {
        let config = invoking("", Some("web")).unwrap();
        assert_eq!(config.run_as, me());
        let mine = invoking("run_user: alice\nrun_group: alice\n", Some("web")).unwrap();
        assert_eq!(mine.run_as, me());
        let cases = [
            (
                "prefix: x-\nrun_user: bob\n",
                "c.yaml:2: run_user \"bob\" is not",
            ),
            ("run_group: staff\n", "c.yaml:1: run_group \"staff\" is not"),
            (
                "apps:\n  web:\n    run_user: bob\n",
                "c.yaml:3: apps.web.run_user \"bob\" is not",
            ),
        ];
        for (text, expected) in cases {
            let error = invoking(text, Some("web")).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{text}: {error}");
            assert!(error.contains("or write run_"), "{error}");
            // Not exporting (start, stop, status, clean, list): the jobs' account is moot.
            assert_eq!(invoking(text, None).unwrap().run_as, me());
        }
        // Another app's section is for the system backends, and is left alone.
        let other = invoking("apps:\n  billing:\n    run_user: bob\n", Some("web")).unwrap();
        assert!(other.for_app("billing").run_as == me());
    }
}
