//! Talking to a running Upstart through `initctl`: is it there, what does it say of a job,
//! start, stop and restart one. initctl is run by the absolute path the config gives
//! (`upstart_initctl`), with an empty environment and no input. It reaches the system init
//! (PID 1) by default; with `upstart_session` set in the config it reaches that session init
//! instead (the tests' own init). The address comes from the trusted config only: under sudo
//! the environment is the invoking user's, so `UPSTART_SESSION` is never read from it.

use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::State;
use crate::sanitize::Quoted;
use std::process::{Command, Output, Stdio};

/// How to reach one Upstart.
#[derive(Debug, Clone)]
pub struct Initctl {
    /// initctl's absolute path.
    pub program: String,
    /// A session init's address (`unix:abstract=...`), or `None` for the system init.
    pub session: Option<String>,
}

/// What `initctl status JOB` says: its goal (`start`/`stop`), its state and its main pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    pub goal: String,
    pub state: String,
    pub pid: Option<u32>,
    /// The line as initctl printed it.
    pub line: String,
}

impl JobState {
    /// True while the job is wanted up (running, starting or respawning).
    pub fn wanted(&self) -> bool {
        self.goal == "start"
    }

    pub fn live_state(&self, has_process: bool) -> State {
        match (self.goal.as_str(), self.state.as_str()) {
            ("start", "running") => match self.pid {
                Some(pid) => State::Running { pid },
                None if has_process => State::Starting,
                None => State::Active,
            },
            ("start", "stopping" | "killed" | "post-stop") => State::Respawning,
            ("start", _) => State::Starting,
            (_, "waiting") => State::Stopped,
            _ => State::Stopping,
        }
    }
}

impl Initctl {
    fn run(&self, args: &[&str]) -> Result<Output> {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null());
        if let Some(session) = &self.session {
            command.env("UPSTART_SESSION", session);
        }
        command.output().map_err(|e| {
            Error::io(
                format!("running {} {}", Quoted(&self.program), args.join(" ")),
                e,
            )
        })
    }

    /// True when initctl is there and reaches the init.
    pub fn reachable(&self) -> bool {
        Disk::live_leads_to_file(&self.program)
            && self.run(&["version"]).is_ok_and(|o| o.status.success())
    }

    /// The job's state; `None` when the init does not know the job.
    pub fn status(&self, job: &str) -> Result<Option<JobState>> {
        let output = self.run(&["status", "--", job])?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            if said.contains("Unknown job") {
                return Ok(None);
            }
            return Err(self.failed(&["status", job], &output));
        }
        let line = stdout.lines().next().unwrap_or("").trim().to_owned();
        parse_status(&line)
            .map(Some)
            .ok_or_else(|| Error::failed(format!("initctl status said {}", Quoted(&line))))
    }

    /// `initctl start|stop|restart JOB`, which waits until the job got there.
    pub fn act(&self, verb: &str, job: &str) -> Result<()> {
        let output = self.run(&[verb, "--", job])?;
        if output.status.success() {
            return Ok(());
        }
        Err(self.failed(&[verb, job], &output))
    }

    /// `initctl reload-configuration`: read the job files now.
    pub fn reload_configuration(&self) -> Result<()> {
        let output = self.run(&["reload-configuration"])?;
        if output.status.success() {
            return Ok(());
        }
        Err(self.failed(&["reload-configuration"], &output))
    }

    fn failed(&self, args: &[&str], output: &Output) -> Error {
        let said = String::from_utf8_lossy(&output.stderr);
        Error::tool(self.program.clone(), args.join(" "), output, &said)
    }
}

/// Reads `NAME GOAL/STATE[, process PID]`.
fn parse_status(line: &str) -> Option<JobState> {
    let (_, rest) = line.split_once(' ')?;
    let (goal_state, process) = match rest.split_once(", ") {
        Some((g, p)) => (g, Some(p)),
        None => (rest, None),
    };
    let (goal, state) = goal_state.split_once('/')?;
    let pid = process
        .and_then(|p| p.strip_prefix("process "))
        .and_then(|p| p.trim().parse().ok());
    Some(JobState {
        goal: goal.to_owned(),
        state: state.to_owned(),
        pid,
        line: line.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_initctl_status_lines() {
        let running = parse_status("fb-a-web start/running, process 1234").unwrap();
        assert_eq!(running.live_state(true), State::Running { pid: 1234 });
        let master = parse_status("fb-a start/running").unwrap();
        assert_eq!(master.live_state(false), State::Active);
        let stopped = parse_status("fb-a-web stop/waiting").unwrap();
        assert!(!stopped.wanted());
        assert_eq!(stopped.live_state(true), State::Stopped);
        let respawning = parse_status("fb-a-web start/post-stop, process 77").unwrap();
        assert_eq!(respawning.live_state(true), State::Respawning);
        assert_eq!(
            parse_status("fb-a-web stop/killed, process 9")
                .unwrap()
                .live_state(true),
            State::Stopping
        );
        assert!(parse_status("garbage").is_none());
    }
}
