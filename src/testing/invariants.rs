//! The rules every render must keep (docs/ARCHITECTURE.md, "Names and values" and "Secrets"), as one checker that the fuzz
//! targets (fuzz/) and the regression test (tests/fuzz_regressions.rs) both call, so a rule
//! is written once. Checks the output of [`crate::testing::preview::render`]:
//!
//! - every path (and link target) stays inside one of [`crate::testing::preview::default_dirs`], with
//!   no `.`, `..` or empty component, and names the app it was made for;
//! - no line of any file holds a control character other than tab, and no line of a job or
//!   unit file can start a stanza or directive that came from a value;
//! - every shell script holds the command on exactly one line (the one after
//!   `# shellcheck disable=all`), and each env variable on one `export KEY=WORD` line whose
//!   word is a single, fully quoted shell word, or a counted word around the checked instance
//!   number (`"$(($1 + N))"`); supervisord's helpers give each job exactly its env, log and
//!   directory, counted words worked out for its instance;
//! - an error's message is not empty and holds no raw control character.
//!
//! With an [`Oracle`] the caller adds what it knows of the input: whether it is valid, and the
//! jobs it must turn into.

use crate::backends::{keys, BackendKind};
use crate::error::Error;
use crate::install::installer::Installer;
use crate::model::account::RunAs;
use crate::model::config::Config;
use crate::testing::preview::{default_dirs, Rendered};
use std::collections::HashSet;

pub use crate::backends::check_rules::{
    check_secret_mode, check_text_file, counted_word, export_line, generated_lines, is_env_key,
    printf_octal, unquote_sh, COMMAND_MARKER,
};
use std::sync::OnceLock;

/// Respawn as a job must end up with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedRespawn {
    Off,
    On { count: u32, interval: u32 },
}

/// One job the input must turn into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedJob {
    /// The job's name within the app (`web`, `worker_0`).
    pub name: String,
    /// The command as written (trimmed).
    pub command: String,
    /// The merged env, in order.
    pub env: Vec<(String, String)>,
    pub working_directory: String,
    pub log: String,
    pub kill_timeout: u32,
    pub respawn: ExpectedRespawn,
}

/// Everything an app must turn into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub start_on: String,
    pub stop_on: String,
    pub jobs: Vec<ExpectedJob>,
}

/// What the caller knows of the input.
#[derive(Debug, Clone, Copy)]
pub enum Oracle<'a> {
    /// Nothing: only the rules that hold for every input are checked.
    Unknown,
    /// If the render succeeds, it must hold exactly these jobs.
    IfOk(&'a Expected),
    /// The input is valid: the render must succeed (a backend other than Upstart may still
    /// refuse a value it has no way to carry, with `Error::Refused`) and hold these jobs.
    Valid(&'a Expected),
    /// The input is invalid (for the reason given): the render must fail.
    Invalid(&'a str),
}

/// The prefix of the config `preview::render` uses by default.
const PREFIX: &str = "fb-";

/// Checks one result of `preview::render(_, app, backend, None)`; returns what is wrong.
pub fn check_invariants(
    backend: &str,
    app: &str,
    result: &Result<Vec<Rendered>, Error>,
    oracle: Oracle<'_>,
) -> Result<(), String> {
    match result {
        Err(error) => {
            check_error(error)?;
            match oracle {
                Oracle::Valid(_)
                    if matches!(
                        error,
                        Error::Refused { .. } | Error::Format(_) | Error::Unsupported { .. }
                    ) && backend != "upstart" =>
                {
                    Ok(())
                }
                Oracle::Valid(_) => Err(format!("valid input refused: {error}")),
                // Validation, which names the line, must refuse whatever Upstart cannot carry.
                _ if backend == "upstart"
                    && matches!(
                        error,
                        Error::Refused { .. } | Error::Format(_) | Error::Unsupported { .. }
                    ) =>
                {
                    Err(format!("refused at render, not validation: {error}"))
                }
                _ => Ok(()),
            }
        }
        Ok(outputs) => {
            if let Oracle::Invalid(why) = oracle {
                return Err(format!("invalid input accepted ({why})"));
            }
            check_outputs(backend, app, outputs)?;
            match oracle {
                Oracle::IfOk(expected) | Oracle::Valid(expected) => {
                    check_expected(backend, app, outputs, expected)
                }
                Oracle::Unknown | Oracle::Invalid(_) => Ok(()),
            }
        }
    }
}

/// An error a user sees: something to read, and nothing that a terminal would act on.
fn check_error(error: &Error) -> Result<(), String> {
    let message = error.to_string();
    if message.trim().is_empty() {
        return Err(format!("empty error message: {error:?}"));
    }
    if message.chars().any(char::is_control) {
        return Err(format!(
            "error message holds a raw control character: {message:?}"
        ));
    }
    if matches!(
        error,
        Error::Io { .. } | Error::Output { .. } | Error::Cli(_)
    ) {
        return Err(format!("a render without disk failed with {error:?}"));
    }
    Ok(())
}

fn check_outputs(backend: &str, app: &str, outputs: &[Rendered]) -> Result<(), String> {
    static DIRS: OnceLock<Vec<String>> = OnceLock::new();
    let dirs = DIRS.get_or_init(default_dirs);
    let mut seen = HashSet::new();
    for output in outputs {
        let path = &output.path;
        let fail = |what: String| Err(format!("{path}: {what}"));
        if !seen.insert(path.as_str()) {
            return fail("rendered twice".to_owned());
        }
        check_path(path, dirs)?;
        check_belongs_to_app(path, app, dirs)?;
        if let Some(target) = &output.link_target {
            check_path(target, dirs).map_err(|e| format!("{path} links to {e}"))?;
        }
        let Some(contents) = &output.contents else {
            continue;
        };
        let mode = output.mode.unwrap_or(0o777);
        check_file(backend, path, contents, mode).or_else(fail)?;
    }
    Ok(())
}

/// An absolute, normal path (no empty, `.` or `..` component, no control character, no
/// component over 255 bytes) inside one of `dirs`.
fn check_path(path: &str, dirs: &[String]) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{path:?}: {what}"));
    if path.chars().any(char::is_control) {
        return fail("control character in a path");
    }
    let Some(rest) = path.strip_prefix('/') else {
        return fail("not absolute");
    };
    for component in rest.split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return fail("empty, \".\" or \"..\" component");
        }
        if component.len() > 255 {
            return fail("component longer than 255 bytes");
        }
    }
    let inside = dirs.iter().any(|dir| {
        path.strip_prefix(dir.as_str())
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
    });
    if !inside {
        return fail("outside every install directory");
    }
    Ok(())
}

/// Some component below the install directory is the app's own (`fb-app`, `fb-app-web...`,
/// `fb-app.target`), so one app's files never touch another's.
fn check_belongs_to_app(path: &str, app: &str, dirs: &[String]) -> Result<(), String> {
    let own = format!("{PREFIX}{app}");
    let rest = dirs
        .iter()
        .filter_map(|dir| path.strip_prefix(dir.as_str()))
        .min_by_key(|rest| rest.len())
        .unwrap_or(path);
    let ok = rest.split('/').any(|component| {
        component
            .strip_prefix(own.as_str())
            .is_some_and(|tail| tail.is_empty() || tail.starts_with(['-', '.']))
    });
    if ok {
        Ok(())
    } else {
        Err(format!("{path:?} does not belong to app {app:?}"))
    }
}

/// One rendered file, checked by its own backend's rules (`Checks::check_rendered`), which
/// call `check_text_file` for the rules that hold for every text file.
fn check_file(backend: &str, path: &str, contents: &str, mode: u32) -> Result<(), String> {
    static BACKENDS: OnceLock<Vec<BackendKind>> = OnceLock::new();
    let backends = BACKENDS.get_or_init(|| {
        let config = Config::parse_with("config", None, &keys(), RunAs::unresolved)
            .expect("the built-in defaults are valid");
        BackendKind::all(&config).expect("the built-in defaults are valid")
    });
    let backend = backends
        .iter()
        .find(|b| b.name() == backend)
        .ok_or_else(|| format!("no backend {backend}"))?;
    backend.checks().check_rendered(path, contents, mode)
}

/// Env values are secrets (docs/ARCHITECTURE.md, "Secrets"): a file that others may read must not
/// change when they do. `with` and `blank` are renders of one Procfile, with its env values
/// as given and with every one of them empty.
pub fn check_values_stay_private(with: &[Rendered], blank: &[Rendered]) -> Result<(), String> {
    let public = |outputs: &[Rendered]| -> Vec<(String, Option<String>)> {
        outputs
            .iter()
            .filter(|o| o.mode.is_some_and(|m| m & 0o004 != 0) || o.link_target.is_some())
            .map(|o| (o.path.clone(), o.contents.clone()))
            .collect()
    };
    let (with, blank) = (public(with), public(blank));
    if with == blank {
        return Ok(());
    }
    let differ = with
        .iter()
        .find(|o| !blank.contains(o))
        .map_or("a file", |(path, _)| path.as_str());
    Err(format!(
        "{differ}, readable by others, changes with the env values"
    ))
}

/// The files the input must turn into: for Upstart in full, for other backends the jobs'
/// commands.
fn check_expected(
    backend: &str,
    app: &str,
    outputs: &[Rendered],
    expected: &Expected,
) -> Result<(), String> {
    let full = format!("{PREFIX}{app}");
    // Sets, not lists: an app may have a thousand jobs (`count`).
    let commands: HashSet<&str> = outputs
        .iter()
        .filter_map(|o| o.contents.as_deref())
        .filter_map(command_line)
        .collect();
    // Every path component, and its stem before the first `.` (`fb-app-web.service`); and
    // the processes of a supervisord config (its helpers are named by process type).
    let stems: HashSet<&str> = outputs
        .iter()
        .flat_map(|o| o.path.split('/'))
        .flat_map(|c| [c, c.split('.').next().unwrap_or(c)])
        .collect();
    let processes: HashSet<String> = outputs
        .iter()
        .filter(|_| backend == "supervisord")
        .filter_map(|o| o.contents.as_deref())
        .flat_map(supervisord_processes)
        .collect();
    let mut checked = HashSet::new();
    for job in &expected.jobs {
        if !commands.is_empty()
            && checked.insert(job.command.as_str())
            && !commands.iter().any(|line| is_exec_form(line, &job.command))
        {
            return Err(format!(
                "job {}: command {:?} is on no script's command line: {commands:?}",
                job.name, job.command
            ));
        }
        let stem = format!("{full}-{}", job.name);
        if !stems.contains(stem.as_str()) && !processes.contains(&stem) {
            return Err(format!("job {}: no file named {stem}", job.name));
        }
    }
    if backend == "upstart" {
        check_upstart_expected(&full, outputs, expected)?;
    }
    if backend == "supervisord" {
        check_supervisord_env(&full, outputs, expected)?;
    }
    Ok(())
}

/// supervisord's helpers give each job exactly its env, log and directory: a job's own helper
/// `<full>-<name>.sh`, or for instance `n` of a counted type (`<label>_<n>`) the type's
/// `<full>-<label>.sh` with its counted words (`counted_word`) worked out for `n`.
fn check_supervisord_env(
    full: &str,
    outputs: &[Rendered],
    expected: &Expected,
) -> Result<(), String> {
    let helper = |stem: &str| {
        let name = format!("/{full}-{stem}.sh");
        outputs
            .iter()
            .find(|o| o.path.ends_with(&name))
            .and_then(|o| o.contents.as_deref())
    };
    for job in &expected.jobs {
        let counted = job
            .name
            .rsplit_once('_')
            .and_then(|(label, n)| Some((label, n.parse::<u64>().ok()?)));
        let (text, n) = match (helper(&job.name), counted) {
            (Some(text), _) => (text, None),
            (None, Some((label, n))) => match helper(label) {
                Some(text) => (text, Some(n)),
                None => return Err(format!("job {}: no helper", job.name)),
            },
            (None, None) => return Err(format!("job {}: no helper", job.name)),
        };
        let value = |word: &str| -> Result<String, String> {
            match (unquote_sh(word), n) {
                (Ok(value), _) => Ok(value),
                (Err(_), Some(n)) => {
                    let w = counted_word(word)?;
                    Ok(format!(
                        "{}{}{}",
                        w.prefix,
                        u64::from(w.offset) + n,
                        w.suffix
                    ))
                }
                (Err(e), None) => Err(e),
            }
        };
        let fail = |what: String| Err(format!("job {}: {what}", job.name));
        let mut env = Vec::new();
        for line in generated_lines(text).filter(|l| l.starts_with("export ")) {
            let (key, word) = line["export ".len()..].split_once('=').unwrap_or_default();
            env.push((key.to_owned(), value(word)?));
        }
        let mut want = job.env.clone();
        env.sort();
        want.sort();
        if env != want {
            return fail(format!("env {env:?}, expected {want:?}"));
        }
        check_dir_and_log(text, job, value)?;
    }
    Ok(())
}

/// The process names a supervisord config's `[program:]` sections make, as supervisord names
/// them: the section's own name, or with `numprocs=N` (and the `process_name` procexport
/// writes) `<name>_0` ... `<name>_<N-1>`.
fn supervisord_processes(conf: &str) -> Vec<String> {
    let mut processes = Vec::new();
    let mut lines = conf.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(program) = line
            .strip_prefix("[program:")
            .and_then(|l| l.strip_suffix(']'))
        else {
            continue;
        };
        let count = std::iter::from_fn(|| lines.next_if(|l| !l.starts_with('[')))
            .find_map(|l| l.strip_prefix("numprocs=")?.parse::<usize>().ok());
        match count {
            Some(n) => processes.extend((0..n).map(|i| format!("{program}_{i}"))),
            None => processes.push(program.to_owned()),
        }
    }
    processes
}

/// The line after the command marker.
pub fn command_line(contents: &str) -> Option<&str> {
    let mut lines = contents.lines();
    lines.find(|l| *l == COMMAND_MARKER)?;
    lines.next()
}

/// True when `line` is `command` with nothing but `exec ` or `exec env ` put in somewhere.
pub fn is_exec_form(line: &str, command: &str) -> bool {
    if line == command {
        return true;
    }
    ["exec ", "exec env "].iter().any(|insert| {
        line.len() == command.len() + insert.len()
            && (0..=command.len()).any(|at| {
                command.is_char_boundary(at)
                    && line.starts_with(&command[..at])
                    && line[at..].starts_with(insert)
                    && line[at + insert.len()..] == command[at..]
            })
    })
}

fn check_upstart_expected(
    full: &str,
    outputs: &[Rendered],
    expected: &Expected,
) -> Result<(), String> {
    let (upstart_dir, helper_dir) = upstart_dirs();
    let files: std::collections::HashMap<&str, &str> = outputs
        .iter()
        .filter_map(|o| Some((o.path.as_str(), o.contents.as_deref()?)))
        .collect();
    let file = |path: String| -> Result<&str, String> {
        files
            .get(path.as_str())
            .copied()
            .ok_or(format!("{path} is missing"))
    };
    if outputs.len() != 1 + 2 * expected.jobs.len() {
        return Err(format!(
            "{} files for {} jobs",
            outputs.len(),
            expected.jobs.len()
        ));
    }
    let master = file(format!("{upstart_dir}/{full}.conf"))?;
    for line in [
        format!("start on runlevel {}", expected.start_on),
        format!("stop on runlevel {}", expected.stop_on),
    ] {
        if !master.lines().any(|l| l == line) {
            return Err(format!("master job lacks {line:?}"));
        }
    }
    for job in &expected.jobs {
        let stem = format!("{full}-{}", job.name);
        let conf = file(format!("{upstart_dir}/{stem}.conf"))?;
        let helper = file(format!("{helper_dir}/{stem}.sh"))?;
        let fail = |what: String| Err(format!("job {}: {what}", job.name));
        let exec = format!("{helper_dir}/{stem}.sh");
        let words: Vec<&str> = conf
            .lines()
            .filter_map(|l| l.strip_prefix("exec /bin/sh "))
            .collect();
        if words.len() != 1 || unquote_sh(words[0])? != exec {
            return fail(format!("exec stanza {words:?}, expected {exec:?}"));
        }
        let line = command_line(helper).unwrap_or("");
        if !is_exec_form(line, &job.command) {
            return fail(format!("command line {line:?} for {:?}", job.command));
        }
        let exports: Vec<(String, String)> = generated_lines(helper)
            .filter(|l| l.starts_with("export "))
            .map(export_line)
            .collect::<Result<_, _>>()?;
        if exports != job.env {
            return fail(format!("env {exports:?}, expected {:?}", job.env));
        }
        check_dir_and_log(helper, job, unquote_sh)?;
        let mut want = Vec::new();
        if let ExpectedRespawn::On { count, interval } = job.respawn {
            want.push("respawn".to_owned());
            want.push(format!("respawn limit {count} {interval}"));
        }
        want.push(format!("kill timeout {}", job.kill_timeout));
        want.push(format!("start on starting {full}"));
        let mut got: Vec<&str> = conf
            .lines()
            .filter(|l| {
                l.starts_with("respawn") || l.starts_with("kill ") || l.starts_with("start ")
            })
            .collect();
        got.sort_unstable();
        want.sort_unstable();
        if got != want {
            return fail(format!("stanzas {got:?}, expected {want:?}"));
        }
    }
    Ok(())
}

/// A helper's `cd` and `exec >>` lines: each there once, its word (read by `value`) the job's
/// directory and log.
fn check_dir_and_log(
    helper: &str,
    job: &ExpectedJob,
    value: impl Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    for (prefix, suffix, want) in [
        ("cd ", " || exit 1", &job.working_directory),
        ("exec >> ", " 2>&1", &job.log),
    ] {
        let words: Vec<&str> = helper
            .lines()
            .filter_map(|l| helper_word(l, prefix, suffix))
            .collect();
        let [word] = words[..] else {
            return Err(format!(
                "job {}: {} {prefix:?} lines",
                job.name,
                words.len()
            ));
        };
        if value(word)? != *want {
            return Err(format!(
                "job {}: {prefix:?} {word}, expected {want:?}",
                job.name
            ));
        }
    }
    Ok(())
}

fn helper_word<'a>(line: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix(suffix)
}

/// Where the default config puts Upstart jobs and their helpers (worked out once: a render
/// of a thousand jobs checks two thousand files).
fn upstart_dirs() -> (&'static str, &'static str) {
    static DIRS: OnceLock<(String, String)> = OnceLock::new();
    let (upstart, helper) = DIRS.get_or_init(|| {
        let config = Config::parse_with("config", None, &keys(), RunAs::unresolved)
            .expect("the built-in defaults are valid");
        let upstart = BackendKind::build("upstart", &config)
            .expect("upstart is a backend")
            .expect("the built-in defaults are valid");
        let [jobs, helpers] = &upstart.install_dirs()[..] else {
            unreachable!("Upstart installs into its job and helper directories")
        };
        (jobs.clone(), helpers.clone())
    });
    (upstart, helper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_reads_back_what_the_sh_filter_writes() {
        assert_eq!(unquote_sh("a/b").unwrap(), "a/b");
        assert_eq!(
            unquote_sh("it\\'s' \"q\" $HOME'").unwrap(),
            "it's \"q\" $HOME"
        );
        assert_eq!(unquote_sh("line' one'\"$nl\"two").unwrap(), "line one\ntwo");
        assert_eq!(unquote_sh("''").unwrap(), "");
        assert_eq!(
            unquote_sh("a\"$(printf '\\033')\"'[2J'\"$(printf '\\302\\205')\"").unwrap(),
            "a\u{1b}[2J\u{85}"
        );
        for bad in [
            "",
            "a b",
            "$HOME",
            "'open",
            "a;b",
            "\"x\"",
            "a\\",
            "\"$(printf '%s' x)\"",
            "\"$(printf 'x')\"",
        ] {
            assert!(unquote_sh(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exec_form_is_the_command_with_exec_put_in() {
        assert!(is_exec_form("exec a", "a"));
        assert!(is_exec_form("cd x && exec env A=1 b", "cd x && A=1 b"));
        assert!(is_exec_form("a | b", "a | b"));
        assert!(!is_exec_form("exec a; b", "a"));
    }

    #[test]
    fn files_others_read_do_not_change_with_env_values() {
        let file = |path: &str, contents: &str, mode: u32| Rendered {
            path: path.to_owned(),
            contents: Some(contents.to_owned()),
            mode: Some(mode),
            link_target: None,
        };
        let with = [
            file("/a.conf", "x", 0o644),
            file("/a.sh", "export A=s3cret", 0o750),
        ];
        let blank = [
            file("/a.conf", "x", 0o644),
            file("/a.sh", "export A=''", 0o750),
        ];
        assert!(check_values_stay_private(&with, &blank).is_ok());
        let leaky = [file("/a.conf", "Environment=A=s3cret", 0o644)];
        let clean = [file("/a.conf", "Environment=A=", 0o644)];
        assert!(check_values_stay_private(&leaky, &clean).is_err());
    }

    #[test]
    fn paths_stay_inside_the_install_directories() {
        let dirs = default_dirs();
        assert!(check_path("/etc/init/fb-a.conf", &dirs).is_ok());
        for bad in [
            "/etc/init/../passwd",
            "/etc/init//x",
            "/etc/initx/a",
            "/etc/init",
            "etc/init/a",
            "/tmp/a",
        ] {
            assert!(check_path(bad, &dirs).is_err(), "{bad}");
        }
        assert!(check_belongs_to_app("/etc/init/fb-a-web.conf", "a", &dirs).is_ok());
        assert!(check_belongs_to_app("/etc/init/fb-ab-web.conf", "a", &dirs).is_err());
    }
}
