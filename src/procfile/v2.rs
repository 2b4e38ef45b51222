//! Procfile v2: the gem's YAML format (`version: 2`, top-level settings, `commands:`).
//! serde reads it with unknown keys refused; values are then checked into a `Layer` per
//! command, each error carrying the line of the key it is about.

use super::entry::{Entry, PortSetting, Procfile};
use crate::error::{Error, Location, Result};
use crate::model::command::Command;
use crate::model::depends::{self, DeviceName, UnitName};
use crate::model::layer::{self, KeyError, Layer, RawRespawn};
use crate::model::name::Name;
use crate::model::resources::{RawResources, Resources};
use crate::model::rlimit::{RawLimits, Rlimits};
use crate::model::runlevel::Runlevels;
use crate::model::signal::{KillMode, Signal};
use crate::sanitize::Quoted;
use crate::yaml::{self, key_line, Entries, KeyLines, Loose, Whole};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::HashSet;
use std::fmt;

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with \"version: 2\" and \"commands:\""
)]
struct RawV2 {
    #[allow(dead_code)]
    version: Loose,
    start_on_runlevel: Option<String>,
    stop_on_runlevel: Option<String>,
    env: Option<Entries>,
    working_directory: Option<String>,
    respawn: Option<RawRespawn>,
    kill_timeout: Option<Whole>,
    log: Option<String>,
    env_file: Option<String>,
    limits: Option<RawLimits>,
    kill_signal: Option<String>,
    kill_mode: Option<String>,
    reload_signal: Option<String>,
    pre: Option<String>,
    post: Option<String>,
    resources: Option<RawResources>,
    depends: Option<String>,
    strong_dependencies: Option<bool>,
    start_on_device: Option<String>,
    image: Option<String>,
    commands: Commands,
}

/// The settings a command and the top level share, moved out of either.
macro_rules! settings_of {
    ($raw:ident) => {
        RawSettings {
            env: $raw.env,
            working_directory: $raw.working_directory,
            respawn: $raw.respawn,
            kill_timeout: $raw.kill_timeout,
            log: $raw.log,
            env_file: $raw.env_file,
            limits: $raw.limits,
            kill_signal: $raw.kill_signal,
            kill_mode: $raw.kill_mode,
            reload_signal: $raw.reload_signal,
            pre: $raw.pre,
            post: $raw.post,
            resources: $raw.resources,
        }
    };
}

/// A top-level key's value with its line.
type WithLine<T> = Option<(T, usize)>;

/// `depends` and `start_on_device`, each with its line.
fn app_units(
    raw: &RawV2,
    lines: &KeyLines,
) -> Result<(WithLine<Vec<UnitName>>, WithLine<DeviceName>), KeyError> {
    let depends = raw
        .depends
        .as_deref()
        .map(depends::parse_depends)
        .transpose()
        .map_err(|m| ("depends", m))?
        .map(|units| (units, lines.get(&["depends"]).unwrap_or(1)));
    let device = raw
        .start_on_device
        .as_deref()
        .map(|d| DeviceName::parse(d.trim(), "start_on_device"))
        .transpose()
        .map_err(|m| ("start_on_device", m))?
        .map(|device| (device, lines.get(&["start_on_device"]).unwrap_or(1)));
    Ok((depends, device))
}

/// The settings a command and the top level share.
#[derive(Debug, Default)]
struct RawSettings {
    env: Option<Entries>,
    working_directory: Option<String>,
    respawn: Option<RawRespawn>,
    kill_timeout: Option<Whole>,
    log: Option<String>,
    env_file: Option<String>,
    limits: Option<RawLimits>,
    kill_signal: Option<String>,
    kill_mode: Option<String>,
    reload_signal: Option<String>,
    pre: Option<String>,
    post: Option<String>,
    resources: Option<RawResources>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a command's settings, such as {command: bundle exec puma, count: 2}"
)]
struct RawCommand {
    command: String,
    env: Option<Entries>,
    working_directory: Option<String>,
    respawn: Option<RawRespawn>,
    kill_timeout: Option<Whole>,
    log: Option<String>,
    env_file: Option<String>,
    limits: Option<RawLimits>,
    kill_signal: Option<String>,
    kill_mode: Option<String>,
    reload_signal: Option<String>,
    pre: Option<String>,
    post: Option<String>,
    resources: Option<RawResources>,
    count: Option<Whole>,
    port: Option<RawPort>,
    once: Option<bool>,
}

/// A command under `commands:`: `label: "command"` (the short form) or its settings.
#[derive(Debug)]
struct RawEntry(RawCommand);

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = RawEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command, as `web: bundle exec puma` or `web: {command: bundle exec puma, count: 2}`")
            }
            fn visit_str<E: serde::de::Error>(self, command: &str) -> Result<RawEntry, E> {
                Ok(RawEntry(RawCommand {
                    command: command.to_owned(),
                    ..RawCommand::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEntry, A::Error> {
                RawCommand::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawEntry)
            }
        }
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// `port:` as written: a number, or `false` (no PORT), or `true` (the app's).
#[derive(Debug, Clone, Copy)]
enum RawPort {
    Switch(bool),
    Number(i64),
}

impl<'de> Deserialize<'de> for RawPort {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = RawPort;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number such as 6000, or false for no PORT")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawPort, E> {
                Ok(RawPort::Switch(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawPort, E> {
                Ok(RawPort::Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawPort, E> {
                Ok(RawPort::Number(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

/// `commands:` in the order written (the order jobs are listed in everywhere).
#[derive(Debug)]
struct Commands(Vec<(String, RawEntry)>);

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Commands;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of labels to commands")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Commands, A::Error> {
                let mut commands = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    commands.push(entry);
                }
                Ok(Commands(commands))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}

/// Parses a YAML Procfile whose values, aliases expanded, come to at most `max_expanded`
/// bytes.
pub fn parse(file: &str, text: &str, max_expanded: u64) -> Result<Procfile> {
    check_tabs(file, text)?;
    check_top_keys(file, text, max_expanded)?;
    let raw: RawV2 = yaml::parse_bounded(text, max_expanded).map_err(|e| e.into_error(file))?;
    let lines = KeyLines::index(text);
    let at = |path: &[&str], error: KeyError| at_key(file, &lines, path, error);
    let runlevels = |key: &'static str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| Runlevels::parse(v, key))
            .transpose()
            .map_err(|m| at(&[], (key, m)))
    };
    let start_on = runlevels("start_on_runlevel", &raw.start_on_runlevel)?;
    let stop_on = runlevels("stop_on_runlevel", &raw.stop_on_runlevel)?;
    let (depends, start_on_device) = app_units(&raw, &lines).map_err(|e| at(&[], e))?;
    let top_limits_line = lines.get(&["limits"]);
    let top = settings_layer(&settings_of!(raw)).map_err(|e| at(&[], e))?;
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for (label, RawEntry(command)) in raw.commands.0 {
        entries.push(parse_entry(file, &lines, &label, command, &mut seen)?);
    }
    if entries.is_empty() {
        return Err(Error::input(
            Location::file(file),
            "no commands found under \"commands:\"",
        ));
    }
    Ok(Procfile {
        top,
        start_on,
        stop_on,
        entries,
        image: raw
            .image
            .map(|image| (image, lines.get(&["image"]).unwrap_or(1))),
        depends,
        strong_dependencies: raw.strong_dependencies.unwrap_or(false),
        start_on_device,
        limits_line: top_limits_line,
    })
}

/// The error `message` of `key` under `path`, at the line of that key, else of `path`.
fn at_key(file: &str, lines: &KeyLines, path: &[&str], (key, message): KeyError) -> Error {
    let mut full: Vec<&str> = path.to_vec();
    full.push(key);
    let line = lines.get(&full).or_else(|| lines.get(path));
    let location = line.map_or_else(|| Location::file(file), |l| Location::line(file, l));
    Error::input(location, message)
}

/// The entry `label` under `commands:`; `seen` holds the labels given so far.
fn parse_entry(
    file: &str,
    lines: &KeyLines,
    label: &str,
    command: RawCommand,
    seen: &mut HashSet<String>,
) -> Result<Entry> {
    let at = |path: &[&str], error: KeyError| at_key(file, lines, path, error);
    let path = ["commands", label];
    let line = lines.get(&path).unwrap_or(1);
    let here = |column: Option<usize>, message: String| {
        let location = match column {
            Some(c) => Location::at(file, line, c),
            None => Location::line(file, line),
        };
        Error::input(location, message)
    };
    let name = Name::parse(label, "label").map_err(|m| here(None, m))?;
    if !seen.insert(label.to_owned()) {
        return Err(here(
            None,
            format!(
                "label {} is defined twice: rename one of them, or remove the one not wanted",
                Quoted(label)
            ),
        ));
    }
    let layer = settings_layer(&settings_of!(command)).map_err(|e| at(&path, e))?;
    let count = command
        .count
        .map(|c| layer::in_range("count", c.0, 0, 1000))
        .transpose()
        .map_err(|e| at(&path, e))?;
    let port = port_setting(command.port).map_err(|e| at(&path, e))?;
    let parsed = Command::parse(&command.command, label).map_err(|m| at(&path, ("command", m)))?;
    let mut count_path = path.to_vec();
    count_path.push("count");
    let mut limits_path = path.to_vec();
    limits_path.push("limits");
    Ok(Entry {
        label: name,
        line,
        command: parsed,
        layer,
        count,
        count_line: lines.get(&count_path),
        port,
        once: command.once.unwrap_or(false),
        limits_line: lines.get(&limits_path),
    })
}

fn port_setting(raw: Option<RawPort>) -> Result<Option<PortSetting>, KeyError> {
    Ok(match raw {
        None | Some(RawPort::Switch(true)) => None,
        Some(RawPort::Switch(false)) => Some(PortSetting::Off),
        Some(RawPort::Number(n)) => Some(PortSetting::Base(
            u16::try_from(layer::in_range("port", n, 1, 65_535)?).expect("in range"),
        )),
    })
}

fn settings_layer(raw: &RawSettings) -> Result<Layer, KeyError> {
    let signal = |key: &'static str, value: &Option<String>| {
        value.as_deref().map(|s| Signal::parse(key, s)).transpose()
    };
    let command = |key: &'static str, value: &Option<String>| {
        value
            .as_deref()
            .map(|c| Command::parse(c, key).map_err(|m| (key, m)))
            .transpose()
    };
    Ok(Layer {
        respawn_delay: raw
            .respawn
            .as_ref()
            .map(layer::respawn_delay)
            .transpose()?
            .flatten(),
        limits: raw
            .limits
            .as_ref()
            .map(Rlimits::parse)
            .transpose()?
            .unwrap_or_default(),
        kill_signal: signal("kill_signal", &raw.kill_signal)?,
        reload_signal: signal("reload_signal", &raw.reload_signal)?,
        kill_mode: raw.kill_mode.as_deref().map(KillMode::parse).transpose()?,
        pre: command("pre", &raw.pre)?,
        post: command("post", &raw.post)?,
        env_file: raw
            .env_file
            .as_deref()
            .map(|p| layer::job_path("env_file", p))
            .transpose()?,
        resources: raw
            .resources
            .as_ref()
            .map(Resources::parse)
            .transpose()?
            .unwrap_or_default(),
        kill_timeout: raw
            .kill_timeout
            .map(|w| layer::kill_timeout(w.0))
            .transpose()?,
        respawn: raw.respawn.as_ref().map(layer::respawn).transpose()?,
        env: raw
            .env
            .as_ref()
            .map(layer::env)
            .transpose()?
            .unwrap_or_default(),
        working_directory: raw
            .working_directory
            .as_deref()
            .map(|p| layer::path("working_directory", p))
            .transpose()?,
        log: raw
            .log
            .as_deref()
            .map(|p| layer::job_path("log", p))
            .transpose()?,
    })
}

/// YAML forbids tabs in indentation, and serde_yaml's message for one ("found character that
/// cannot start any token") does not say so.
fn check_tabs(file: &str, text: &str) -> Result<()> {
    for (index, line) in text.lines().enumerate() {
        let indent = &line[..line.len() - line.trim_start().len()];
        if let Some(column) = indent.find('\t') {
            return Err(Error::input(
                Location::at(file, index + 1, column + 1),
                "the line is indented with a tab; YAML indents with spaces only: replace the tab with spaces",
            ));
        }
    }
    Ok(())
}

const TOP_KEYS: [&str; 21] = [
    "version",
    "start_on_runlevel",
    "stop_on_runlevel",
    "env",
    "working_directory",
    "respawn",
    "kill_timeout",
    "log",
    "env_file",
    "limits",
    "kill_signal",
    "kill_mode",
    "reload_signal",
    "pre",
    "post",
    "resources",
    "depends",
    "strong_dependencies",
    "start_on_device",
    "image",
    "commands",
];

/// Names an unknown top-level key with its line, and refuses any version but 2, before the
/// typed parse (whose message for an unknown key would list serde's field names).
fn check_top_keys(file: &str, text: &str, max_expanded: u64) -> Result<()> {
    let map: Entries = match yaml::parse_bounded(text, max_expanded) {
        Ok(map) => map,
        // Too deep or too big to read: said with its line; anything else the typed parse reports.
        Err(e) if e.bounded => return Err(e.into_error(file)),
        Err(_) => return Ok(()),
    };
    for (key, _) in map.iter() {
        let name = key.text().unwrap_or("");
        if !TOP_KEYS.contains(&name) {
            let line = key_line(text, &[name]);
            let location = line.map_or_else(|| Location::file(file), |l| Location::line(file, l));
            return Err(Error::input(
                location,
                format!(
                    "unknown key {}, expected one of: {} (remove it, or correct its name)",
                    Quoted(name),
                    TOP_KEYS.join(", ")
                ),
            ));
        }
    }
    if map
        .get("version")
        .and_then(Loose::text)
        .and_then(|v| v.parse::<u64>().ok())
        != Some(2)
    {
        let line = key_line(text, &["version"]).unwrap_or(1);
        return Err(Error::input(
            Location::line(file, line),
            "only \"version: 2\" is supported: write \"version: 2\", or remove the line for a v1 Procfile",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse("Procfile", text, crate::yaml::DEFAULT_MAX_EXPANDED)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_commands_in_order_with_their_settings() {
        let text = "version: 2\nkill_timeout: 5\ncommands:\n  web:\n    command: a\n    count: 2\n  job:\n    command: b\n    respawn: false\n";
        let procfile = parse("P", text, crate::yaml::DEFAULT_MAX_EXPANDED).unwrap();
        assert_eq!(procfile.top.kill_timeout, Some(5));
        let labels: Vec<_> = procfile
            .entries
            .iter()
            .map(|e| (e.label.as_str(), e.line))
            .collect();
        assert_eq!(labels, [("web", 4), ("job", 7)]);
        assert_eq!(procfile.entries[0].count, Some(2));
        assert_eq!(procfile.entries[0].count_line, Some(6));
    }

    #[test]
    fn short_form_count_zero_port_and_once() {
        let text = "version: 2\ncommands:\n  web: bundle exec puma\n  redis-server:\n    command: b\n    count: 0\n    port: false\n  migrate:\n    command: c\n    once: true\n    port: 7000\n";
        let procfile = parse("P", text, crate::yaml::DEFAULT_MAX_EXPANDED).unwrap();
        let got: Vec<_> = procfile
            .entries
            .iter()
            .map(|e| {
                (
                    e.label.as_str(),
                    e.command.as_str(),
                    e.count,
                    e.port,
                    e.once,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("web", "bundle exec puma", None, None, false),
                ("redis-server", "b", Some(0), Some(PortSetting::Off), false),
                ("migrate", "c", None, Some(PortSetting::Base(7000)), true),
            ]
        );
    }

    #[test]
    fn errors_name_the_line_of_the_key() {
        let base = "version: 2\ncommands:\n  web:\n    command: a\n";
        let cases = [
            (format!("{base}    count: -1\n"), "Procfile:5: count -1 is out of range (0 to 1000)"),
            (format!("{base}    count: two\n"), "Procfile:5: commands.web.count: invalid type: string \"two\", expected a whole number written in digits, such as 2"),
            (format!("{base}    port: 70000\n"), "Procfile:5: port 70000 is out of range (1 to 65535)"),
            (format!("{base}    port: http\n"), "Procfile:5: commands.web.port: invalid type: string \"http\", expected a port number such as 6000, or false for no PORT"),
            ("version: 2\ncommands:\n  web: [a]\n".to_owned(), "Procfile:3: commands.web: invalid type: sequence, expected a command, as `web: bundle exec puma` or `web: {command: bundle exec puma, count: 2}`"),
            ("version: 2\ncommands:\n  web:\n\tcommand: a\n".to_owned(), "Procfile:4:1: the line is indented with a tab; YAML indents with spaces only: replace the tab with spaces"),
            (format!("{base}    count: 1.5\n"), "Procfile:5: commands.web.count: invalid type: floating point `1.5`, expected a whole number written in digits, such as 2"),
            (format!("{base}    kill_timeout: x\n"), "Procfile:5: commands.web.kill_timeout: invalid type: string \"x\", expected a whole number written in digits, such as 2"),
            (format!("{base}    prestart: x\n"), "Procfile:5: commands.web: unknown field `prestart`, expected one of `command`, `env`, `working_directory`, `respawn`, `kill_timeout`, `log`, `env_file`, `limits`, `kill_signal`, `kill_mode`, `reload_signal`, `pre`, `post`, `resources`, `count`, `port`, `once`"),
            (format!("{base}depend: x\n"), "Procfile:5: unknown key \"depend\", expected one of: version, start_on_runlevel, stop_on_runlevel, env, working_directory, respawn, kill_timeout, log, env_file, limits, kill_signal, kill_mode, reload_signal, pre, post, resources, depends, strong_dependencies, start_on_device, image, commands (remove it, or correct its name)"),
            ("version: 2\nstart_on_runlevel: 23\ncommands:\n  web:\n    command: a\n".to_owned(), "Procfile:2: start_on_runlevel \"23\" is not a runlevel set such as \"[2345]\", \"[!2345]\" or \"[S]\""),
            ("version: 2\ncommands:\n  web.1:\n    command: a\n".to_owned(), "Procfile:3: label \"web.1\" may only contain ASCII letters, digits, \"_\" and \"-\", not \".\""),
            ("version: 2\ncommands:\n  web:\n    command: \"a\n".to_owned(), "Procfile:5: found unexpected end of stream, while scanning a quoted scalar"),
            (format!("{base}    env:\n      A-B: x\n"), "Procfile:5: env key \"A-B\" must start with a letter or \"_\" and hold only ASCII letters, digits and \"_\""),
            // serde_yaml quotes keys raw; found by the parse_v2 and render fuzz targets.
            ("version: 2\nm\t0:\nr".to_owned(), "Procfile:2: unknown field `m\\t0`, expected one of `version`, `start_on_runlevel`, `stop_on_runlevel`, `env`, `working_directory`, `respawn`, `kill_timeout`, `log`, `env_file`, `limits`, `kill_signal`, `kill_mode`, `reload_signal`, `pre`, `post`, `resources`, `depends`, `strong_dependencies`, `start_on_device`, `image`, `commands`"),
            ("version: 2\ncommands:\n  \"\\x1b[2J\":\n    command: a\n    env: {A: x, A: y}\n".to_owned(), "Procfile:5: commands.\\u{1b}[2J.env: duplicate entry with key \"A\""),
        ];
        for (text, expected) in cases {
            assert_eq!(error(&text), expected, "{text}");
        }
    }

    #[test]
    fn the_init_exporter_keys_are_read_into_typed_values() {
        let text = "version: 2\ndepends: postgresql-11 redis\nstrong_dependencies: true\nstart_on_device: bond0\nlimits:\n  nofile: 4096\ncommands:\n  web:\n    pre: /usr/bin/echo pre\n    command: a\n    post: /usr/bin/echo post\n    limits: {nproc: 8192, memlock: -1}\n    kill_mode: process\n    kill_signal: SIGQUIT\n    reload_signal: SIGUSR2\n    env_file: shared/env.file\n    respawn: {count: 5, interval: 10, delay: 3}\n    resources:\n      cpu_weight: 50\n      memory_max: 8G\n      ip_address_deny: 0.0.0.0/0 ::/0\n";
        let procfile = parse("P", text, crate::yaml::DEFAULT_MAX_EXPANDED).unwrap();
        let (units, line) = procfile.depends.clone().unwrap();
        assert_eq!(line, 2);
        let names: Vec<&str> = units
            .iter()
            .map(crate::model::depends::UnitName::as_str)
            .collect();
        assert_eq!(names, ["postgresql-11.service", "redis.service"]);
        assert!(procfile.strong_dependencies);
        assert_eq!(procfile.start_on_device.unwrap().0.as_str(), "bond0");
        assert_eq!(procfile.limits_line, Some(5));
        let layer = &procfile.entries[0].layer;
        assert_eq!(
            layer.limits.memlock,
            Some(crate::model::rlimit::Rlimit::Unlimited)
        );
        assert_eq!(layer.kill_signal.unwrap().name(), "QUIT");
        assert_eq!(layer.reload_signal.unwrap().number(), 12);
        assert_eq!(layer.kill_mode, Some(KillMode::Process));
        assert_eq!(layer.pre.as_ref().unwrap().as_str(), "/usr/bin/echo pre");
        assert_eq!(layer.respawn_delay, Some(3));
        assert_eq!(layer.resources.memory_max, Some(8 << 30));
        assert_eq!(procfile.entries[0].limits_line, Some(12));
    }

    #[test]
    fn bad_init_exporter_values_name_their_line_and_what_to_write() {
        let base = "version: 2\ncommands:\n  web:\n    command: a\n";
        let cases = [
            (format!("{base}    limits: {{nofile: -5}}\n"), "Procfile:5: limits.nofile -5 is out of range: write a whole number from 0 to 1099511627776, or -1 for unlimited"),
            (format!("{base}    limits: {{files: 5}}\n"), "Procfile:5: commands.web.limits: unknown field `files`, expected one of `nofile`, `nproc`, `memlock`"),
            (format!("{base}    kill_signal: SIGFOO\n"), "Procfile:5: kill_signal \"SIGFOO\" is not a signal procexport knows: write one of SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGKILL, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGWINCH, SIGPWR"),
            (format!("{base}    kill_mode: all\n"), "Procfile:5: kill_mode \"all\" is not a kill mode: write control-group, mixed, process or none"),
            (format!("{base}    pre: \"\"\n"), "Procfile:5: label \"pre\" has no command: write the command after the \":\", or remove the line"),
            (format!("{base}    env_file: ../../etc/shadow\n"), "Procfile:5: env_file \"../../etc/shadow\" may not contain \"..\""),
            (format!("{base}    respawn: {{count: 1, interval: 1, delay: 0}}\n"), "Procfile:5: respawn 0 is out of range (1 to 86400): respawn delay, in seconds"),
            (format!("{base}    resources:\n      cpu_weight: 0\n"), "Procfile:5: resources.cpu_weight \"0\" is not a weight: write a whole number from 1 to 10000"),
            (format!("{base}    resources:\n      memory_max: 8X\n"), "Procfile:5: resources.memory_max \"8X\" is not a size: write a whole number with an optional K, M, G or T, such as 512M"),
            (format!("{base}    resources:\n      io_device_weight: /etc/passwd 5\n"), "Procfile:5: resources.io_device_weight \"/etc/passwd 5\": \"/etc/passwd\" is not a device path under /dev/ (letters, digits, /, _, -, . and :); write a device and a value, such as /dev/sda 200"),
            (format!("{base}    resources:\n      ip_address_allow: 10.0.0.0/99\n"), "Procfile:5: resources.ip_address_allow: \"10.0.0.0/99\" is not an IP address or prefix: write addresses such as 127.0.0.0/8 ::1/128, or any, localhost, link-local, multicast"),
            (format!("{base}    resources:\n      swap: 1G\n"), "Procfile:6: commands.web.resources: unknown field `swap`, expected one of `cpu_weight`, `startup_cpu_weight`, `cpu_quota`, `cpu_affinity`, `memory_low`, `memory_high`, `memory_max`, `memory_swap_max`, `task_max`, `io_weight`, `startup_io_weight`, `io_device_weight`, `io_read_bandwidth_max`, `io_write_bandwidth_max`, `io_read_iops_max`, `io_write_iops_max`, `ip_address_allow`, `ip_address_deny`"),
            (format!("depends: ssh;reboot\n{base}"), "Procfile:2: depends \"ssh;reboot\" is not a unit name (\";\" is not allowed): write names such as postgresql or redis-server.service"),
            (format!("start_on_device: ../sda\n{base}"), "Procfile:2: start_on_device \"../sda\" is not a network device name: write an interface name of 1 to 15 letters, digits, _ or ., such as bond0"),
        ];
        for (text, expected) in cases {
            let text = if text.starts_with("version") {
                text
            } else {
                format!("version: 2\n{}", text.replacen("version: 2\n", "", 1))
            };
            assert_eq!(error(&text), expected, "{text}");
        }
    }
}
