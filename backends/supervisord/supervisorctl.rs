//! `supervisorctl reread` and `update`, so that a running supervisord applies what an export
//! or clean changed; `pid` (does it answer), `start`, `stop`, `restart` and `signal` of an
//! app's programs or its group (`<group>:*`), and `status` of its group, read by process type.
//! Run by absolute path, with an empty environment and no input; program names go after the
//! options (supervisorctl has no `--`, and a name never starts with `-`).

use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::State;
use crate::model::name::Name;
use crate::sanitize::Quoted;
use std::process::{Command, Stdio};

/// Where Debian's `supervisor` package puts supervisorctl.
const SUPERVISORCTL: &str = "/usr/bin/supervisorctl";

fn run(conf: &str, args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(conf)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .output()
}

/// Applies the change when supervisord runs; says so and succeeds when it does not (or is not
/// installed): the files are in place and supervisord reads them when it starts.
pub fn update(conf: &str) -> Result<()> {
    if !Disk::live_leads_somewhere(SUPERVISORCTL) || !Disk::live_leads_somewhere(conf) {
        crate::error::warn(&format!(
            "did not run supervisorctl update: supervisord is not installed here \
             (no {SUPERVISORCTL} or {})",
            Quoted(conf)
        ));
        return Ok(());
    }
    if !answers(conf) {
        crate::error::warn(
            "did not run supervisorctl update: supervisord is not running; it reads the files \
             when it starts",
        );
        return Ok(());
    }
    for args in [&["reread"][..], &["update"][..]] {
        let output = run(conf, args).map_err(|e| {
            Error::io(
                format!("the files are installed, but running {SUPERVISORCTL} {args:?} failed"),
                e,
            )
        })?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() || said.contains("ERROR") {
            return Err(Error::tool(SUPERVISORCTL, args.join(" "), &output, &said).after_install());
        }
    }
    Ok(())
}

/// True when supervisorctl is installed and supervisord answers on the socket of `conf`
/// (`pid` succeeds only then).
pub fn answers(conf: &str) -> bool {
    Disk::live_leads_somewhere(SUPERVISORCTL)
        && Disk::live_leads_somewhere(conf)
        && run(conf, &["pid"]).is_ok_and(|o| o.status.success())
}

fn said(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `supervisorctl start|stop|restart|signal NAMES...` (`group:program`, or `group:*` for every
/// program of the group), which waits until each got there (or gave up: a program that cannot
/// start is an error).
pub fn act(conf: &str, verb: &str, names: &[&str]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut args = vec![verb];
    args.extend(names);
    let output = run(conf, &args).map_err(|e| Error::io(format!("running {SUPERVISORCTL} {verb}"), e))?;
    let said = said(&output);
    // An already stopped program is no failure of a stop, nor a running one of a start.
    let failed = said.lines().any(|line| {
        line.contains("ERROR") && !line.contains("(not running)") && !line.contains("(already started)")
    });
    if failed || (!output.status.success() && !said.contains(": ")) {
        return Err(Error::tool(SUPERVISORCTL, args.join(" "), &output, &said));
    }
    Ok(())
}

/// What `supervisorctl status` says of one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramState {
    pub name: String,
    pub state: State,
    /// The line as supervisorctl printed it, without the name.
    pub line: String,
    /// False when supervisorctl did not list it (`name` is then the process type's).
    pub listed: bool,
}

/// `supervisorctl status <group>:*` for process types `types` (`group:<full_name>-<label>`,
/// all of one group): each program of each type, in the order asked (its exit status is 3 when
/// one does not run, so it is read, not trusted).
pub fn type_status(conf: &str, types: &[&str]) -> Result<Vec<ProgramState>> {
    Ok(group_status(conf, types)?.map_or_else(Vec::new, |(states, ..)| states))
}

/// The programs of process types `types` that supervisord lists, to stop before their files
/// go: an error when supervisorctl said nothing of the app's group (it could not reach
/// supervisord), so that no process is left without the file that could stop it.
pub fn programs_of(conf: &str, types: &[&str]) -> Result<Vec<String>> {
    let Some((states, output, said)) = group_status(conf, types)? else {
        return Ok(Vec::new());
    };
    let group = types[0].split_once(':').map_or("", |(g, _)| g);
    let prefix = format!("{group}:");
    if !said.lines().any(|l| l.starts_with(&prefix)) {
        return Err(Error::tool(SUPERVISORCTL, format!("status {group}:*"), &output, &said));
    }
    Ok(states
        .into_iter()
        .filter(|p| p.listed)
        .map(|p| p.name)
        .collect())
}

/// `supervisorctl status <group>:*` read for `types`, with its output; `None` for no types.
fn group_status(
    conf: &str,
    types: &[&str],
) -> Result<Option<(Vec<ProgramState>, std::process::Output, String)>> {
    let Some((group, _)) = types.first().and_then(|t| t.split_once(':')) else {
        return Ok(None);
    };
    let all = format!("{group}:*");
    let output = run(conf, &["status", &all])
        .map_err(|e| Error::io(format!("running {SUPERVISORCTL} status"), e))?;
    let said = said(&output);
    Ok(Some((parse_type_status(&said, types), output, said)))
}

/// The process type of program `name` (`group:program`) among `types`: the one it is, else
/// the one it is an instance of (`<type>_<n>`).
fn type_of<'a>(name: &str, types: &[&'a str]) -> Option<&'a str> {
    if let Some(t) = types.iter().find(|t| **t == name) {
        return Some(t);
    }
    let stem = Name::instance_of(name)?;
    types.iter().find(|t| **t == stem).copied()
}

/// Reads `group:program STATE  pid N, uptime ...` lines (and `group: ERROR (no such group)`):
/// the programs of each of `types`, each type with none listed as one unknown row.
fn parse_type_status(text: &str, types: &[&str]) -> Vec<ProgramState> {
    let mut by_type: Vec<Vec<ProgramState>> = types.iter().map(|_| Vec::new()).collect();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(' ') else {
            continue;
        };
        let name = name.trim_end_matches(':');
        let Some(t) = type_of(name, types) else {
            continue;
        };
        let Some(slot) = types.iter().position(|x| *x == t) else {
            continue;
        };
        by_type[slot].push(program_state(name, rest));
    }
    let mut states = Vec::new();
    for (t, programs) in types.iter().zip(by_type) {
        if programs.is_empty() {
            // The group's own error (`no such group`), if supervisorctl said one.
            let group = t.split_once(':').map_or(*t, |(g, _)| g);
            let said = text
                .lines()
                .find_map(|l| l.strip_prefix(group)?.strip_prefix(": "))
                .map_or("not listed by supervisorctl status", str::trim);
            states.push(ProgramState {
                name: (*t).to_owned(),
                state: State::Unknown,
                line: said.to_owned(),
                listed: false,
            });
        } else {
            states.extend(programs);
        }
    }
    states
}

/// One program's state from the rest of its status line.
fn program_state(name: &str, rest: &str) -> ProgramState {
    let rest = rest.trim_start_matches(':').trim();
    let word = rest.split_whitespace().next().unwrap_or("");
    let pid = rest
        .split("pid ")
        .nth(1)
        .and_then(|p| p.split(',').next())
        .and_then(|p| p.trim().parse().ok());
    let state = match (word, pid) {
        ("RUNNING", Some(pid)) => State::Running { pid },
        ("RUNNING" | "STARTING", _) => State::Starting,
        ("BACKOFF", _) => State::Respawning,
        ("STOPPING", _) => State::Stopping,
        ("STOPPED" | "EXITED", _) => State::Stopped,
        ("FATAL", _) => State::Failed,
        _ => State::Unknown,
    };
    let listed = state != State::Unknown || !rest.starts_with("ERROR");
    ProgramState {
        name: name.to_owned(),
        state,
        line: rest.split_whitespace().collect::<Vec<_>>().join(" "),
        listed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_supervisorctl_status_lines_by_process_type() {
        let text = "fb-a:fb-a-clock                  STOPPED   Dec 01 04:05 PM\n\
                    fb-a:fb-a-crash                  FATAL     Exited too quickly (process log may have details)\n\
                    fb-a:fb-a-retry                  BACKOFF   Exited too quickly (process log may have details)\n\
                    fb-a:fb-a-web                    RUNNING   pid 4242, uptime 0:00:05\n\
                    fb-a:fb-a-w_0                    RUNNING   pid 10, uptime 0:00:05\n\
                    fb-a:fb-a-w_1                    STARTING  \n\
                    fb-a:fb-a-w_2x                   RUNNING   pid 12, uptime 0:00:05\n\
                    fb-a:fb-a-w_5                    RUNNING   pid 15, uptime 0:00:05\n";
        let types = [
            "fb-a:fb-a-web",
            "fb-a:fb-a-clock",
            "fb-a:fb-a-crash",
            "fb-a:fb-a-retry",
            "fb-a:fb-a-w",
            "fb-a:fb-a-w_5",
            "fb-a:fb-a-gone",
        ];
        let got: Vec<(String, State, bool)> = parse_type_status(text, &types)
            .into_iter()
            .map(|p| (p.name, p.state, p.listed))
            .collect();
        let row = |name: &str, state, listed| (name.to_owned(), state, listed);
        assert_eq!(
            got,
            [
                row("fb-a:fb-a-web", State::Running { pid: 4242 }, true),
                row("fb-a:fb-a-clock", State::Stopped, true),
                row("fb-a:fb-a-crash", State::Failed, true),
                row("fb-a:fb-a-retry", State::Respawning, true),
                // Type w's instances, not w_2x (no instance number) nor w_5 (a type of its own).
                row("fb-a:fb-a-w_0", State::Running { pid: 10 }, true),
                row("fb-a:fb-a-w_1", State::Starting, true),
                row("fb-a:fb-a-w_5", State::Running { pid: 15 }, true),
                row("fb-a:fb-a-gone", State::Unknown, false),
            ]
        );
        let web = &parse_type_status(text, &["fb-a:fb-a-web"])[0];
        assert_eq!(web.line, "RUNNING pid 4242, uptime 0:00:05");
        let gone = &parse_type_status(text, &["fb-a:fb-a-gone"])[0];
        assert_eq!(gone.line, "not listed by supervisorctl status");
    }

    #[test]
    fn a_group_supervisord_does_not_know_is_every_type_unknown_with_its_error() {
        let text = "fb-a: ERROR (no such group)\n";
        let got = parse_type_status(text, &["fb-a:fb-a-web", "fb-a:fb-a-w"]);
        assert_eq!(got.len(), 2);
        for (state, name) in got.iter().zip(["fb-a:fb-a-web", "fb-a:fb-a-w"]) {
            assert_eq!(state.name, name);
            assert_eq!(state.state, State::Unknown);
            assert!(!state.listed);
            assert_eq!(state.line, "ERROR (no such group)");
        }
    }

    #[test]
    fn another_groups_programs_are_never_this_apps() {
        let text = "fb-a-b:fb-a-b-c                  RUNNING   pid 7, uptime 0:00:05\n";
        let got = parse_type_status(text, &["fb-a:fb-a-b-c"]);
        assert_eq!(got.len(), 1);
        assert!(!got[0].listed);
    }
}
