//! The fuzz targets' bodies, shared by the fuzz crate (fuzz/fuzz_targets/*.rs) and the stable
//! regression test (tests/fuzz_regressions.rs), so a saved input is checked the same way in
//! both. Each function takes the bytes as libFuzzer gives them and returns what is wrong.
//! The rules themselves are in `invariants`. It is part of the crate, under the `testing`
//! feature (which brings in `arbitrary`), so both reach it as a plain path.

use crate::testing::invariants::{
    check_invariants, check_values_stay_private, is_env_key, Expected, ExpectedJob,
    ExpectedRespawn, Oracle,
};
use crate::testing::preview;
use arbitrary::{Arbitrary, Unstructured};
use std::fmt::Write as _;

/// Every backend name tried: the registry's.
pub use crate::testing::BACKENDS;

/// The app name the Procfile targets export as.
const APP: &str = "app";

/// A target's body: the input's bytes in, what is wrong with the render out.
pub type Target = fn(&[u8]) -> Result<(), String>;

/// Each target by name, as its regression files are filed under tests/fixtures/fuzz/.
pub const TARGETS: [(&str, Target); 3] = [
    ("parse_v1", parse_v1),
    ("parse_v2", parse_v2),
    ("render", render),
];

/// Arbitrary bytes as a Procfile (mostly v1), through Upstart.
pub fn parse_v1(data: &[u8]) -> Result<(), String> {
    let result = preview::render(data, APP, "upstart", None);
    let expected = v1_expected(data);
    let oracle = expected.as_ref().map_or(Oracle::Unknown, Oracle::IfOk);
    check_invariants("upstart", APP, &result, oracle)
}

/// Arbitrary bytes after `version: 2`, so the YAML reader gets them, through Upstart.
pub fn parse_v2(data: &[u8]) -> Result<(), String> {
    let mut bytes = b"version: 2\n".to_vec();
    bytes.extend_from_slice(data);
    let result = preview::render(&bytes, APP, "upstart", None);
    check_invariants("upstart", APP, &result, Oracle::Unknown)
}

/// A structured input written out as a v2 Procfile, through every backend, with what it
/// must turn into (or that it must be refused).
pub fn render(data: &[u8]) -> Result<(), String> {
    let Ok(input) = RenderInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return Ok(());
    };
    let app = input.app.text(NAMES);
    let yaml = input.yaml();
    let verdict = input.expected(&app);
    let oracle = match &verdict {
        Ok(expected) => Oracle::Valid(expected),
        Err(why) => Oracle::Invalid(why),
    };
    for backend in BACKENDS {
        let result = preview::render(yaml.as_bytes(), &app, backend, None);
        if let Err(crate::Error::Usage(message)) = &result {
            if message.starts_with("no backend") {
                continue;
            }
        }
        let context = |e: String| format!("{backend}: {e}\n--- Procfile (app {app:?}):\n{yaml}");
        check_invariants(backend, &app, &result, oracle).map_err(context)?;
        if let Ok(outputs) = &result {
            // The same Procfile with every env value empty.
            let blank = preview::render(input.yaml_blank_env().as_bytes(), &app, backend, None)
                .map_err(|e| context(format!("with empty env values: {e}")))?;
            check_values_stay_private(outputs, &blank).map_err(context)?;
        }
    }
    Ok(())
}

/// The Procfile and app name a `render` input is written out as, and whether it is valid
/// (for tests, and to look at a saved input).
pub fn render_procfile(data: &[u8]) -> Option<(String, String, Result<usize, String>)> {
    let input = RenderInput::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    let app = input.app.text(NAMES);
    let verdict = input.expected(&app).map(|e| e.jobs.len());
    Some((input.yaml(), app, verdict))
}

/// True when `data` reads as a `render` input that must be accepted.
pub fn render_is_valid(data: &[u8]) -> bool {
    render_procfile(data).is_some_and(|(_, _, verdict)| verdict.is_ok())
}

/// What a v1 Procfile must turn into if it is accepted; `None` when it may be a v2 one.
fn v1_expected(data: &[u8]) -> Option<Expected> {
    let text = std::str::from_utf8(data).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains("version") {
        return None;
    }
    let mut jobs = Vec::new();
    let mut entries = 0;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (label, command) = line.split_once(':')?;
        let name = label.trim_end().to_owned();
        let index = entries;
        entries += 1;
        // The release phase is not installed as a daemon.
        if name == "release" {
            continue;
        }
        let env = vec![
            ("HOME".to_owned(), "/nonexistent".to_owned()),
            ("USER".to_owned(), "pxrun".to_owned()),
            ("PORT".to_owned(), (5000 + 100 * index).to_string()),
            ("PS".to_owned(), format!("{name}.1")),
        ];
        jobs.push(ExpectedJob {
            log: format!("/var/log/fb-{APP}/{name}.log"),
            name,
            command: command.trim().to_owned(),
            env,
            working_directory: "/srv/app".to_owned(),
            kill_timeout: 30,
            respawn: DEFAULT_RESPAWN,
        });
    }
    Some(Expected {
        start_on: "[2345]".to_owned(),
        stop_on: "[!2345]".to_owned(),
        jobs,
    })
}

const DEFAULT_RESPAWN: ExpectedRespawn = ExpectedRespawn::On {
    count: 5,
    interval: 10,
};

/// Names a test would pick; the fuzzer also builds its own and sends raw text.
const NAMES: &[&str] = &[
    "web", "worker", "worker_1", "w", "_", "app", "A9", "web_0", "x-y", "",
];
const KEYS: &[&str] = &["PORT", "A", "_", "RAILS_ENV", "A1", "1A", "A-B", "", "PATH"];
/// Pieces of text that are hard to carry: quotes, shell syntax, line and control characters.
const PIECES: &[&str] = &[
    "a",
    " ",
    "'",
    "\"",
    "\\",
    "$",
    "`",
    "$(id)",
    "${X}",
    "#",
    ";",
    "&&",
    "||",
    "|",
    "&",
    "(",
    ")",
    "{",
    "}",
    "exec",
    "env",
    "FOO=1",
    "\n",
    "\r",
    "\t",
    "\0",
    "\u{1b}[2J",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{feff}",
    "%",
    "%n",
    "ü",
    "-",
    "..",
    "/",
    "=",
    ":",
    "start on",
    "script",
    "end script",
    "[Service]",
    "ExecStart=",
    "2>&1",
    ">>",
    "*",
    "~",
];
const COMMANDS: &[&str] = &[
    "bundle exec puma -p $PORT",
    "cd jobs && QUEUE=critical rake work",
    "a | b",
    "(a)",
    "a &",
    "python app.py # a && b",
    "if a; then b; fi",
    "sh -c 'a && b'",
    "echo \"$(a && b)\"",
];
const PATHS: &[&str] = &[
    "/srv/app",
    "/srv/my app",
    "/var/log/x.log",
    "/tmp/../etc",
    "/a b/'c'\"d\"",
    "/",
    "relative",
    "/x\ny",
];
const LEVELS: &[&str] = &[
    "[2345]", "[!2345]", "[016]", "[S]", "[3]", "[!S]", "[]", "2345",
];

fn pick<'a>(list: &[&'a str], index: u8) -> &'a str {
    list[usize::from(index) % list.len()]
}

/// A name, label or env key: picked, built from name-like characters, or any text.
#[derive(Debug, Arbitrary)]
enum Word {
    Pick(u8),
    Build(Vec<u8>),
    Raw(String),
}

impl Word {
    fn text(&self, list: &[&str]) -> String {
        const ALPHABET: &[u8] = b"abcxyzABZ0129______-. /:";
        match self {
            Self::Pick(i) => pick(list, *i).to_owned(),
            Self::Build(bytes) => bytes
                .iter()
                .take(300)
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect(),
            Self::Raw(text) => text.clone(),
        }
    }
}

/// A command or env value: picked, put together from hard pieces, or any text.
#[derive(Debug, Arbitrary)]
enum Text {
    Pick(u8),
    Pieces(Vec<u8>),
    Raw(String),
}

impl Text {
    fn text(&self, list: &[&str]) -> String {
        match self {
            Self::Pick(i) => pick(list, *i).to_owned(),
            Self::Pieces(indexes) => indexes.iter().take(24).map(|i| pick(PIECES, *i)).collect(),
            Self::Raw(text) => text.clone(),
        }
    }
}

/// A number: small (often in range), or any.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Num {
    Small(u8),
    Any(i64),
}

impl Num {
    fn value(self) -> i64 {
        match self {
            Self::Small(n) => i64::from(n % 8),
            Self::Any(n) => n,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum RespawnIn {
    Switch(bool),
    Limit(Num, Num),
}

#[derive(Debug, Arbitrary)]
struct Settings {
    env: Vec<(Word, Text)>,
    working_directory: Option<Text>,
    log: Option<Text>,
    kill_timeout: Option<Num>,
    respawn: Option<RespawnIn>,
}

#[derive(Debug, Arbitrary)]
struct CommandIn {
    label: Word,
    command: Text,
    settings: Settings,
    count: Option<Num>,
}

/// What the `render` target is given.
#[derive(Debug, Arbitrary)]
pub struct RenderInput {
    app: Word,
    start_on: Option<Text>,
    stop_on: Option<Text>,
    top: Settings,
    commands: Vec<CommandIn>,
}

/// A YAML double-quoted scalar that reads back as exactly `text`.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const MAX_COMMANDS: usize = 4;
const MAX_ENV: usize = 6;

impl Settings {
    fn env(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .take(MAX_ENV)
            .map(|(k, v)| (k.text(KEYS), v.text(PIECES)))
            .collect()
    }

    fn write(&self, out: &mut String, indent: &str, blank_env: bool) {
        let env = self.env();
        if !env.is_empty() {
            let _ = writeln!(out, "{indent}env:");
            for (key, value) in &env {
                let value = if blank_env { "" } else { value };
                let _ = writeln!(out, "{indent}  {}: {}", quoted(key), quoted(value));
            }
        }
        if let Some(dir) = &self.working_directory {
            let _ = writeln!(
                out,
                "{indent}working_directory: {}",
                quoted(&dir.text(PATHS))
            );
        }
        if let Some(log) = &self.log {
            let _ = writeln!(out, "{indent}log: {}", quoted(&log.text(PATHS)));
        }
        if let Some(n) = self.kill_timeout {
            let _ = writeln!(out, "{indent}kill_timeout: {}", n.value());
        }
        match &self.respawn {
            None => {}
            Some(RespawnIn::Switch(on)) => {
                let _ = writeln!(out, "{indent}respawn: {on}");
            }
            Some(RespawnIn::Limit(count, interval)) => {
                let _ = writeln!(
                    out,
                    "{indent}respawn: {{count: {}, interval: {}}}",
                    count.value(),
                    interval.value()
                );
            }
        }
    }

    /// The checked settings of this layer, or why they are refused.
    fn check(&self) -> Result<Layer, String> {
        let mut env: Vec<(String, String)> = Vec::new();
        for (key, value) in self.env() {
            if !is_env_key(&key) {
                return Err(format!("env key {key:?}"));
            }
            if value.contains('\0') {
                return Err(format!("NUL in the value of {key}"));
            }
            if env.iter().any(|(k, _)| *k == key) {
                return Err(format!("env key {key} given twice"));
            }
            env.push((key, value));
        }
        let path = |text: &Option<Text>, what: &str| -> Result<Option<String>, String> {
            let Some(text) = text else { return Ok(None) };
            let path = text.text(PATHS);
            if !path.starts_with('/') || has_control(&path) || path.split('/').any(|c| c == "..") {
                return Err(format!("{what} {path:?}"));
            }
            Ok(Some(path))
        };
        let respawn = match &self.respawn {
            None => None,
            Some(RespawnIn::Switch(false)) => Some(RespawnSetting::Off),
            Some(RespawnIn::Switch(true)) => Some(RespawnSetting::On),
            Some(RespawnIn::Limit(count, interval)) => Some(RespawnSetting::Limit(
                in_range(count.value(), 10_000, "respawn count")?,
                in_range(interval.value(), 86_400, "respawn interval")?,
            )),
        };
        Ok(Layer {
            env,
            working_directory: path(&self.working_directory, "working_directory")?,
            log: path(&self.log, "log")?,
            kill_timeout: self
                .kill_timeout
                .map(|n| in_range(n.value(), 86_400, "kill_timeout"))
                .transpose()?,
            respawn,
        })
    }
}

/// One layer of settings as the Procfile gives it.
struct Layer {
    env: Vec<(String, String)>,
    working_directory: Option<String>,
    log: Option<String>,
    kill_timeout: Option<u32>,
    respawn: Option<RespawnSetting>,
}

/// `respawn:` as one layer gives it: `false`, `true` (the limit from a lower layer), a limit.
#[derive(Clone, Copy)]
enum RespawnSetting {
    Off,
    On,
    Limit(u32, u32),
}

fn in_range(value: i64, max: u32, what: &str) -> Result<u32, String> {
    u32::try_from(value)
        .ok()
        .filter(|v| (1..=max).contains(v))
        .ok_or_else(|| format!("{what} {value} out of range"))
}

fn is_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// HOME and USER of the preview's run user, PORT and PS as foreman sets them, then the
/// Procfile's env `layers` over them.
fn expected_env(
    index: usize,
    instance: usize,
    label: &str,
    layers: [&Vec<(String, String)>; 2],
) -> Vec<(String, String)> {
    let mut env = vec![
        ("HOME".to_owned(), "/nonexistent".to_owned()),
        ("USER".to_owned(), "pxrun".to_owned()),
    ];
    set_env(
        &mut env,
        "PORT",
        &(5000 + 100 * index + instance).to_string(),
    );
    set_env(&mut env, "PS", &format!("{label}.{}", instance + 1));
    for (key, value) in layers.into_iter().flatten() {
        set_env(&mut env, key, value);
    }
    env
}

/// Sets `key` in `env`, keeping its first position (procexport's `Env::set`).
fn set_env(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    match env.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => value.clone_into(&mut slot.1),
        None => env.push((key.to_owned(), value.to_owned())),
    }
}

fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\t')
}

fn is_runlevels(text: &str) -> bool {
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .map(|t| t.strip_prefix('!').unwrap_or(t))
        .is_some_and(|t| !t.is_empty() && t.chars().all(|c| matches!(c, '0'..='6' | 'S' | 's')))
}

impl RenderInput {
    fn commands(&self) -> &[CommandIn] {
        &self.commands[..self.commands.len().min(MAX_COMMANDS)]
    }

    /// The input as a v2 Procfile, every string double-quoted.
    pub fn yaml(&self) -> String {
        self.write_yaml(false)
    }

    /// As `yaml`, with every env value empty.
    pub fn yaml_blank_env(&self) -> String {
        self.write_yaml(true)
    }

    fn write_yaml(&self, blank_env: bool) -> String {
        let mut out = String::from("version: 2\n");
        if let Some(levels) = &self.start_on {
            let _ = writeln!(out, "start_on_runlevel: {}", quoted(&levels.text(LEVELS)));
        }
        if let Some(levels) = &self.stop_on {
            let _ = writeln!(out, "stop_on_runlevel: {}", quoted(&levels.text(LEVELS)));
        }
        self.top.write(&mut out, "", blank_env);
        if self.commands().is_empty() {
            out.push_str("commands: {}\n");
        } else {
            out.push_str("commands:\n");
        }
        for command in self.commands() {
            let _ = writeln!(out, "  {}:", quoted(&command.label.text(NAMES)));
            let _ = writeln!(
                out,
                "    command: {}",
                quoted(&command.command.text(COMMANDS))
            );
            command.settings.write(&mut out, "    ", blank_env);
            if let Some(n) = command.count {
                let _ = writeln!(out, "    count: {}", n.value());
            }
        }
        out
    }

    /// What the Procfile must turn into for app `app`, or why it must be refused.
    pub fn expected(&self, app: &str) -> Result<Expected, String> {
        if !is_name(app) || app.len() > 236 {
            return Err(format!("app name {app:?}"));
        }
        let levels = |text: &Option<Text>, default: &str| -> Result<String, String> {
            let Some(text) = text else {
                return Ok(default.to_owned());
            };
            let text = text.text(LEVELS);
            if is_runlevels(&text) {
                Ok(text)
            } else {
                Err(format!("runlevels {text:?}"))
            }
        };
        let start_on = levels(&self.start_on, "[2345]")?;
        let stop_on = levels(&self.stop_on, "[!2345]")?;
        let top = self.top.check()?;
        if self.commands().is_empty() {
            return Err("no commands".to_owned());
        }
        let mut labels = Vec::new();
        let mut jobs: Vec<ExpectedJob> = Vec::new();
        let mut made = std::collections::HashSet::new();
        for (index, command) in self.commands().iter().enumerate() {
            let label = command.label.text(NAMES);
            if !is_name(&label) {
                return Err(format!("label {label:?}"));
            }
            if labels.contains(&label) {
                return Err(format!("label {label} given twice"));
            }
            labels.push(label.clone());
            let own = command.settings.check()?;
            let count = command
                .count
                .map(|n| {
                    if n.value() == 0 {
                        Ok(0)
                    } else {
                        in_range(n.value(), 1000, "count")
                    }
                })
                .transpose()?;
            let text = command.command.text(COMMANDS);
            let text = text.trim();
            if text.is_empty() || has_control(text) {
                return Err(format!("command {text:?}"));
            }
            // The release phase is not a daemon; a count of 0 installs nothing.
            if label == "release" {
                continue;
            }
            let names: Vec<String> = match count {
                None => vec![label.clone()],
                Some(n) => (0..n).map(|i| format!("{label}_{i}")).collect(),
            };
            for (instance, name) in names.into_iter().enumerate() {
                let env = expected_env(index, instance, &label, [&top.env, &own.env]);
                if !made.insert(name.clone()) {
                    return Err(format!("job name {name} made twice"));
                }
                if format!("fb-{app}-{name}").len() > 239 {
                    return Err(format!("job name {name} too long"));
                }
                jobs.push(ExpectedJob {
                    log: own
                        .log
                        .clone()
                        .or_else(|| top.log.clone())
                        .unwrap_or_else(|| format!("/var/log/fb-{app}/{name}.log")),
                    name,
                    command: text.to_owned(),
                    env,
                    working_directory: own
                        .working_directory
                        .clone()
                        .or_else(|| top.working_directory.clone())
                        .unwrap_or_else(|| "/srv/app".to_owned()),
                    kill_timeout: own.kill_timeout.or(top.kill_timeout).unwrap_or(30),
                    respawn: resolve_respawn(&[own.respawn, top.respawn]),
                });
            }
        }
        if jobs.is_empty() {
            return Err("nothing to install".to_owned());
        }
        Ok(Expected {
            start_on,
            stop_on,
            jobs,
        })
    }
}

/// `respawn: true` takes its limit from a lower layer; `false` under a `true` is ignored.
fn resolve_respawn(layers: &[Option<RespawnSetting>]) -> ExpectedRespawn {
    let mut wanted = false;
    for setting in layers.iter().flatten() {
        match setting {
            RespawnSetting::Off if !wanted => return ExpectedRespawn::Off,
            RespawnSetting::Limit(count, interval) => {
                return ExpectedRespawn::On {
                    count: *count,
                    interval: *interval,
                }
            }
            RespawnSetting::On => wanted = true,
            RespawnSetting::Off => {}
        }
    }
    DEFAULT_RESPAWN
}
