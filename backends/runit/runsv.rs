//! Talking to runsv, the supervisor runit starts for each service directory. runsv keeps
//! `supervise/` in each service directory it runs (and in its `log/`): `ok`, a fifo it holds
//! open for as long as it lives, and `control`, a fifo it reads commands from (the protocol
//! `sv` speaks). Before procexport removes a service directory, the runsv in it is asked to
//! stop the service and exit, and waited for: removing the directory under a live runsv
//! would leave its process running with nothing left to stop it.

use crate::error::{Error, Result};
use crate::install::disk::Disk;
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
            return Err(Error::Failed(format!(
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

fn supervise(dir: &str) -> String {
    format!("{dir}/{SUPERVISE}")
}
