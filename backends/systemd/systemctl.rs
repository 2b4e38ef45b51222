//! Where procexport runs systemctl: `daemon-reload`, so that a running systemd reads the units
//! an export or clean changed, and `start`, `stop`, `restart`, `reset-failed` and `show` on the
//! units of one app's manifest. It is run by its absolute path, with an empty environment and
//! no input, so nothing of the caller's environment can change what runs. Unit names are
//! passed after `--`, so none can be read as an option.

use crate::error::{Error, Result};
use crate::install::installer::State;
use std::process::{Command, Output, Stdio};

/// Where systemctl is on every distribution with systemd (`/bin` is `/usr/bin` where they are
/// merged).
const SYSTEMCTL: &str = "/bin/systemctl";

/// Which manager systemctl talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager<'a> {
    /// PID 1.
    System,
    /// The running user's own manager (`--user`), reached through its runtime directory
    /// (`/run/user/<uid>`, given as `XDG_RUNTIME_DIR`: the environment is otherwise empty).
    User { runtime: &'a str },
}

fn systemctl(manager: Manager, args: &[&str], units: &[&str]) -> Result<Output> {
    let mut command = Command::new(SYSTEMCTL);
    command
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null());
    if let Manager::User { runtime } = manager {
        command.arg("--user").env("XDG_RUNTIME_DIR", runtime);
    }
    command
        .args(args)
        .arg("--")
        .args(units)
        .output()
        .map_err(|e| Error::io(format!("running {SYSTEMCTL} {}", args.join(" ")), e))
}

/// `systemctl VERB UNITS...` (`start`, `stop`, `restart`, `reset-failed`), which waits for the
/// jobs it queues.
pub fn act(verb: &str, units: &[&str]) -> Result<()> {
    act_in(Manager::System, verb, units)
}

/// `act` of `manager`.
pub fn act_in(manager: Manager, verb: &str, units: &[&str]) -> Result<()> {
    if units.is_empty() {
        return Ok(());
    }
    let output = systemctl(manager, &[verb], units)?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let user = if manager == Manager::System { "" } else { "--user " };
    Err(Error::tool(
        SYSTEMCTL,
        format!("{user}{verb} {}", units.join(" ")),
        &output,
        &said,
    ))
}

/// What systemd says of one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    pub load: String,
    pub active: String,
    pub sub: String,
    pub pid: u32,
}

impl UnitState {
    pub fn live_state(&self) -> State {
        match (self.active.as_str(), self.sub.as_str()) {
            ("active", _) if self.pid != 0 => State::Running { pid: self.pid },
            ("active" | "reloading", _) => State::Active,
            ("activating", "auto-restart") => State::Respawning,
            ("activating", _) => State::Starting,
            ("deactivating", _) => State::Stopping,
            ("failed", _) => State::Failed,
            _ if self.load == "not-found" => State::Unknown,
            _ => State::Stopped,
        }
    }

    /// `load/active/sub`, as systemctl shows it.
    pub fn detail(&self) -> String {
        format!("{} {} ({})", self.load, self.active, self.sub)
    }
}

/// `systemctl show` of each of `units`, in order.
pub fn show(units: &[&str]) -> Result<Vec<UnitState>> {
    show_in(Manager::System, units)
}

/// `show` of `manager`.
pub fn show_in(manager: Manager, units: &[&str]) -> Result<Vec<UnitState>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let output = systemctl(
        manager,
        &["show", "--property=Id,LoadState,ActiveState,SubState,MainPID"],
        units,
    )?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        return Err(Error::tool(SYSTEMCTL, "show", &output, &said));
    }
    Ok(parse_show(&String::from_utf8_lossy(&output.stdout), units))
}

/// Reads `show`'s blocks (one per unit, in the order asked, separated by a blank line).
fn parse_show(text: &str, units: &[&str]) -> Vec<UnitState> {
    let blocks: Vec<&str> = text.split("\n\n").collect();
    units
        .iter()
        .enumerate()
        .map(|(i, unit)| {
            let mut state = UnitState {
                id: (*unit).to_owned(),
                load: String::new(),
                active: String::new(),
                sub: String::new(),
                pid: 0,
            };
            for line in blocks.get(i).copied().unwrap_or("").lines() {
                match line.split_once('=') {
                    Some(("LoadState", v)) => v.clone_into(&mut state.load),
                    Some(("ActiveState", v)) => v.clone_into(&mut state.active),
                    Some(("SubState", v)) => v.clone_into(&mut state.sub),
                    Some(("MainPID", v)) => state.pid = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            state
        })
        .collect()
}

/// Runs `systemctl daemon-reload`. The files are already in place when it runs, so a failure
/// says so: the change is installed, only the reload is left to do.
pub fn daemon_reload() -> Result<()> {
    let output = Command::new(SYSTEMCTL)
        .arg("daemon-reload")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::io(
                format!("the files are installed, but running {SYSTEMCTL} daemon-reload failed"),
                e,
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    Err(Error::tool(SYSTEMCTL, "daemon-reload", &output, &said).after_install())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_show_blocks_in_order() {
        let text = "MainPID=42\nId=a.service\nLoadState=loaded\nActiveState=active\nSubState=running\n\n\
                    MainPID=0\nId=b.service\nLoadState=loaded\nActiveState=activating\nSubState=auto-restart\n\n\
                    MainPID=0\nId=c.target\nLoadState=loaded\nActiveState=active\nSubState=active\n\n\
                    MainPID=0\nId=d.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n";
        let states: Vec<State> = parse_show(text, &["a.service", "b.service", "c.target", "d.service"])
            .iter()
            .map(UnitState::live_state)
            .collect();
        assert_eq!(
            states,
            [
                State::Running { pid: 42 },
                State::Respawning,
                State::Active,
                State::Unknown
            ]
        );
    }
    use crate::backends::systemd::init::systemd_is_init;

    #[test]
    fn a_failed_reload_says_the_files_are_installed() {
        // Only where systemctl is installed but systemd is not PID 1 (CI): it then fails.
        if systemd_is_init() || !std::path::Path::new(SYSTEMCTL).exists() {
            return;
        }
        let message = daemon_reload().unwrap_err().to_string();
        assert!(
            message.starts_with(
                "the files are installed, but /bin/systemctl daemon-reload failed (exit status: "
            ) && message.ends_with("; run it by hand"),
            "{message}"
        );
    }
}
