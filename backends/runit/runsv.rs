//! Talking to runsv, the supervisor runit starts for each service directory. runsv keeps
//! `supervise/` in each service directory it runs (and in its `log/`): `ok`, a fifo it holds
//! open for as long as it lives, and `control`, a fifo it reads commands from (the protocol
//! `sv` speaks). Before procexport removes a service directory, the runsv in it is asked to
//! stop the service and exit, and waited for: removing the directory under a live runsv
//! would leave its process running with nothing left to stop it.

use crate::error::{Error, Result};
use crate::install::disk::Disk;
use crate::install::installer::State;
use crate::install::plan::Existing;
use crate::sanitize::Quoted;
use rustix::io::{write, Errno};
use std::time::{Duration, Instant};

/// The directory runsv makes in each service directory it runs.
pub const SUPERVISE: &str = "supervise";

/// How often a stopping runsv is looked at.
const POLL: Duration = Duration::from_millis(100);

/// True while a runsv runs service directory `dir` (it holds `supervise/ok` open).
pub fn alive(disk: &mut Disk, dir: &str) -> Result<bool> {
    Ok(disk.open_fifo(&supervise(dir), "ok")?.is_some())
}

/// Sends the runsv of `dir` the one-letter command `letter` (`x`: stop and exit).
pub fn command(disk: &mut Disk, dir: &str, letter: u8) -> Result<()> {
    let Some(fd) = disk.open_fifo(&supervise(dir), "control")? else {
        return Ok(());
    };
    match write(&fd, &[letter]) {
        Ok(_) | Err(Errno::PIPE) => Ok(()),
        Err(e) => Err(Error::io(
            format!("writing to {}", Quoted(&format!("{dir}/{SUPERVISE}/control"))),
            e.into(),
        )),
    }
}

/// Asks the runsv of each of `dirs` that has one to stop its service and exit (`sv exit`),
/// then waits until none is left, for at most `timeout`.
pub fn stop(disk: &mut Disk, dirs: &[&str], timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut running = Vec::new();
    for dir in dirs {
        if alive(disk, dir)? {
            command(disk, dir, b'x')?;
            running.push(*dir);
        }
    }
    loop {
        let mut still = Vec::new();
        for dir in running {
            if alive(disk, dir)? {
                still.push(dir);
            }
        }
        running = still;
        // A service's directory rather than its log's, which the same runsv runs.
        let Some(dir) = running.iter().min_by_key(|d| d.len()) else {
            return Ok(());
        };
        if Instant::now() >= deadline {
            return Err(Error::failed_at(&disk.host(dir), format!(
                "runsv still runs {} {} s after it was asked to stop it (a process that \
                 ignores SIGTERM is killed after its kill_timeout); its link is removed and \
                 its directory kept: run the same command again to remove it",
                Quoted(&disk.host(dir)),
                timeout.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// What runsv records of its service in `supervise/status` (the 20 bytes `sv status` reads):
/// the pid (little-endian, bytes 12..16), what is wanted (`u`/`d`, byte 17) and the state
/// (0 down, 1 run, 2 finish; byte 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supervised {
    pub pid: u32,
    pub want_up: bool,
    pub state: u8,
}

impl Supervised {
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < 20 {
            return None;
        }
        Some(Self {
            pid: u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]),
            want_up: bytes[17] == b'u',
            state: bytes[19],
        })
    }

    pub fn live_state(self) -> State {
        match (self.state, self.want_up) {
            (1, _) if self.pid != 0 => State::Running { pid: self.pid },
            (1, _) => State::Starting,
            (0, false) => State::Stopped,
            (_, true) => State::Respawning,
            _ => State::Stopping,
        }
    }

    /// As `sv status` words it.
    pub fn detail(self) -> String {
        let state = match self.state {
            0 => "down",
            1 => "run",
            _ => "finish",
        };
        let want = if self.want_up { "want up" } else { "want down" };
        format!("{state} (pid {}), {want}", self.pid)
    }
}

/// What the runsv of `dir` records; `None` when no runsv runs it.
pub fn status(disk: &mut Disk, dir: &str) -> Result<Option<Supervised>> {
    if !alive(disk, dir)? {
        return Ok(None);
    }
    match disk.inspect(&format!("{}/status", supervise(dir)))? {
        Existing::File { contents, .. } => Ok(Supervised::parse(&contents)),
        _ => Ok(None),
    }
}

/// Waits until `done` holds for the status of every one of `dirs`, for at most `timeout`.
pub fn wait(
    disk: &mut Disk,
    dirs: &[&str],
    timeout: Duration,
    what: &str,
    done: impl Fn(&str, Option<Supervised>) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut waiting = None;
        for dir in dirs {
            if !done(dir, status(disk, dir)?) {
                waiting = Some(*dir);
                break;
            }
        }
        let Some(dir) = waiting else {
            return Ok(());
        };
        if Instant::now() >= deadline {
            return Err(Error::failed_at(&disk.host(dir), format!(
                "{} is not {what} {} s after it was asked to be",
                Quoted(&disk.host(dir)),
                timeout.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

fn supervise(dir: &str) -> String {
    format!("{dir}/{SUPERVISE}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_runsv_status() {
        let mut bytes = [0u8; 20];
        bytes[12..16].copy_from_slice(&4242u32.to_le_bytes());
        bytes[17] = b'u';
        bytes[19] = 1;
        let status = Supervised::parse(&bytes).unwrap();
        assert_eq!(status.live_state(), State::Running { pid: 4242 });
        bytes[12..16].copy_from_slice(&0u32.to_le_bytes());
        bytes[17] = b'd';
        bytes[19] = 0;
        assert_eq!(Supervised::parse(&bytes).unwrap().live_state(), State::Stopped);
        bytes[17] = b'u';
        assert_eq!(
            Supervised::parse(&bytes).unwrap().live_state(),
            State::Respawning
        );
        assert!(Supervised::parse(&bytes[..19]).is_none());
    }
}
