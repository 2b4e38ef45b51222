//! The trusted configuration, read from `/etc/procexport.yaml` (else the gem's
//! `/etc/upstart-exporter.yaml`, whose keys are accepted as they are). Unknown keys are an
//! error: a typo must not silently fall back to a default.

use crate::account::RunAs;
use crate::error::{Error, Location, Result};
use crate::layer::{self, KeyError, Layer, RawRespawn};
use crate::runlevel::Runlevels;
use crate::sanitize::{escape_controls, Quoted};
use crate::text::AbsPath;
use crate::yaml_locate::key_line;
use serde::Deserialize;

pub const DEFAULT_PATHS: [&str; 2] = ["/etc/procexport.yaml", "/etc/upstart-exporter.yaml"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    run_user: Option<String>,
    run_group: Option<String>,
    prefix: Option<String>,
    log_dir: Option<String>,
    kill_timeout: Option<i64>,
    respawn: Option<RawRespawn>,
    start_on_runlevel: Option<String>,
    stop_on_runlevel: Option<String>,
    upstart_dir: Option<String>,
    helper_dir: Option<String>,
    systemd_dir: Option<String>,
    systemd_env_dir: Option<String>,
    systemd_log: Option<SystemdLog>,
    runit_dir: Option<String>,
    runit_service_dir: Option<String>,
    state_dir: Option<String>,
    env: Option<serde_yaml::Mapping>,
}

/// The directories procexport writes to, as they are on the live system.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub log: AbsPath,
    pub upstart: AbsPath,
    pub helper: AbsPath,
    pub systemd: AbsPath,
    /// The systemd jobs' environment files (they hold the env values, so not in the unit).
    pub systemd_env: AbsPath,
    pub runit: AbsPath,
    pub runit_service: AbsPath,
    pub state: AbsPath,
}

/// Where systemd jobs send their output (`systemd_log`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemdLog {
    /// Appended to the job's log file, as under Upstart, opened by the job itself.
    #[default]
    File,
    /// Left to systemd's journal (`journalctl -u <unit>`); `log:` is not used.
    Journal,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub run_as: RunAs,
    pub prefix: String,
    pub start_on: Runlevels,
    pub stop_on: Runlevels,
    pub dirs: Dirs,
    pub systemd_log: SystemdLog,
    /// The config's layer of job settings (kill_timeout, respawn, env).
    pub defaults: Layer,
}

impl Config {
    /// Builds the config from the text of `file` (`None`: no config file, all defaults).
    pub fn parse(file: &str, text: Option<&str>) -> Result<Self> {
        Self::parse_with(file, text, RunAs::resolve)
    }

    /// As `parse`, with `resolve` looking up the run user and group.
    pub fn parse_with(
        file: &str,
        text: Option<&str>,
        resolve: fn(&str, &str) -> Result<RunAs, String>,
    ) -> Result<Self> {
        let raw: RawConfig = match text {
            Some(text) if !text.trim().is_empty() => serde_yaml::from_str(text).map_err(|e| {
                let location = e
                    .location()
                    .map_or_else(|| Location::file(file), |l| Location::line(file, l.line()));
                Error::input(location, strip_location(&e.to_string()))
            })?,
            _ => RawConfig::default(),
        };
        let text = text.unwrap_or("");
        let at = |(key, message): KeyError| {
            let location = key_line(text, &[key])
                .map_or_else(|| Location::file(file), |line| Location::line(file, line));
            Error::input(location, message)
        };
        let path = |key: &'static str, value: &Option<String>, default: &str| {
            layer::path(key, value.as_deref().unwrap_or(default)).map_err(at)
        };
        let dirs = Dirs {
            log: path("log_dir", &raw.log_dir, "/var/log")?,
            upstart: path("upstart_dir", &raw.upstart_dir, "/etc/init")?,
            helper: path("helper_dir", &raw.helper_dir, "/var/local/upstart_helpers")?,
            systemd: path("systemd_dir", &raw.systemd_dir, "/etc/systemd/system")?,
            systemd_env: path(
                "systemd_env_dir",
                &raw.systemd_env_dir,
                "/etc/procexport/env",
            )?,
            runit: path("runit_dir", &raw.runit_dir, "/etc/sv")?,
            runit_service: path("runit_service_dir", &raw.runit_service_dir, "/etc/service")?,
            state: path("state_dir", &raw.state_dir, "/var/lib/procexport")?,
        };
        let prefix = raw.prefix.unwrap_or_else(|| "fb-".to_owned());
        check_prefix(&prefix).map_err(|m| at(("prefix", m)))?;
        let run_as = resolve(
            raw.run_user.as_deref().unwrap_or("service"),
            raw.run_group.as_deref().unwrap_or("service"),
        )
        .map_err(|m| {
            let key = if m.contains("run_group") {
                "run_group"
            } else {
                "run_user"
            };
            at((key, m))
        })?;
        let runlevels = |key: &'static str, value: &Option<String>, default: &str| {
            Runlevels::parse(value.as_deref().unwrap_or(default), key).map_err(|m| at((key, m)))
        };
        let defaults = Layer {
            kill_timeout: raw
                .kill_timeout
                .map(layer::kill_timeout)
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
            working_directory: None,
            log: None,
        };
        Ok(Self {
            run_as,
            prefix,
            start_on: runlevels("start_on_runlevel", &raw.start_on_runlevel, "[2345]")?,
            stop_on: runlevels("stop_on_runlevel", &raw.stop_on_runlevel, "[!2345]")?,
            dirs,
            systemd_log: raw.systemd_log.unwrap_or_default(),
            defaults,
        })
    }
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

/// serde_yaml appends " at line L column C" to its messages; the location is printed in front.
/// Its messages also quote keys from the input as they are (`unknown field \`a<TAB>b\``,
/// `commands.<ESC>...`), so control characters are escaped here, before any is printed.
pub fn strip_location(message: &str) -> String {
    let mut message = message.to_owned();
    while let Some(at) = message.find(" at line ") {
        let rest = &message[at + " at line ".len()..];
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let rest = rest.strip_prefix(" column ").unwrap_or(rest);
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        message = format!("{}{rest}", &message[..at]);
    }
    escape_controls(&message)
}
