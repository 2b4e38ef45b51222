//! `supervisorctl reread` and `update`, so that a running supervisord applies what an export
//! or clean changed; `pid` (does it answer), and `start`, `stop`, `restart` and `status` of an
//! app's programs. Run by absolute path, with an empty environment and no input; program names
//! go after the options (supervisorctl has no `--`, and a name never starts with `-`).

use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::State;
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

/// `supervisorctl start|stop|restart NAMES...` (`group:program`), which waits until each got
/// there (or gave up: a program that cannot start is an error).
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
}

/// `supervisorctl status NAMES...`, in the order asked (its exit status is 3 when one does not
/// run, so it is read, not trusted).
pub fn status(conf: &str, names: &[&str]) -> Result<Vec<ProgramState>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["status"];
    args.extend(names);
    let output =
        run(conf, &args).map_err(|e| Error::io(format!("running {SUPERVISORCTL} status"), e))?;
    Ok(parse_status(&said(&output), names))
}

/// Reads `NAME STATE  pid N, uptime ...` lines (and `NAME: ERROR (no such process)`).
fn parse_status(text: &str, names: &[&str]) -> Vec<ProgramState> {
    names
        .iter()
        .map(|name| {
            let line = text.lines().find_map(|l| {
                let rest = l.strip_prefix(name)?;
                (rest.starts_with(' ') || rest.starts_with(':')).then_some(rest)
            });
            let Some(rest) = line else {
                return ProgramState {
                    name: (*name).to_owned(),
                    state: State::Unknown,
                    line: "not listed by supervisorctl status".to_owned(),
                };
            };
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
            ProgramState {
                name: (*name).to_owned(),
                state,
                line: rest.split_whitespace().collect::<Vec<_>>().join(" "),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_supervisorctl_status_lines() {
        let text = "fb-a:fb-a-web                    RUNNING   pid 4242, uptime 0:00:05\n\
                    fb-a:fb-a-clock                  STOPPED   Dec 01 04:05 PM\n\
                    fb-a:fb-a-crash                  FATAL     Exited too quickly (process log may have details)\n\
                    fb-a:fb-a-retry                  BACKOFF   Exited too quickly (process log may have details)\n\
                    fb-a:fb-a-gone: ERROR (no such process)\n";
        let states: Vec<State> = parse_status(
            text,
            &["fb-a:fb-a-web", "fb-a:fb-a-clock", "fb-a:fb-a-crash", "fb-a:fb-a-retry", "fb-a:fb-a-gone", "fb-a:fb-a-w"],
        )
        .into_iter()
        .map(|p| p.state)
        .collect();
        assert_eq!(
            states,
            [
                State::Running { pid: 4242 },
                State::Stopped,
                State::Failed,
                State::Respawning,
                State::Unknown,
                State::Unknown
            ]
        );
        let web = &parse_status(text, &["fb-a:fb-a-web"])[0];
        assert_eq!(web.line, "RUNNING pid 4242, uptime 0:00:05");
    }
}
