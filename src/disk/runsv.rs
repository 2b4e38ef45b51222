//! A runsv's own files in a service directory, used by descriptor like everything else here.
//! runsv keeps `supervise/` in each service directory it runs (and in its `log/`): `ok`, a fifo
//! it holds open for as long as it lives, and `control`, a fifo it reads commands from (the
//! protocol `sv` speaks). Before procexport removes a service directory, the runsv in it is
//! asked to stop the service and exit, and waited for: removing the directory under a live
//! runsv would leave its process running with nothing left to stop it.

use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use rustix::fd::OwnedFd;
use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags};
use rustix::io::{write, Errno};
use std::time::{Duration, Instant};

/// The directory runsv makes in each service directory it runs.
pub const SUPERVISE: &str = "supervise";

/// How often a stopping runsv is looked at.
const POLL: Duration = Duration::from_millis(100);

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// A service directory's `supervise/`, open by descriptor.
struct Supervise {
    /// The service directory, for messages.
    dir: String,
    fd: OwnedFd,
}

impl Disk {
    /// Asks the runsv of each of `dirs` that has one to stop its service and exit (`sv exit`),
    /// then waits until none is left, for at most `timeout`.
    pub fn stop_runsv(&mut self, dirs: &[&str], timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut running = Vec::new();
        for dir in dirs {
            let Some(supervise) = self.supervise_dir(dir)? else {
                continue;
            };
            if supervise.alive()? {
                supervise.command(b'x')?;
                running.push(supervise);
            }
        }
        loop {
            let mut still = Vec::new();
            for supervise in running {
                if supervise.alive()? {
                    still.push(supervise);
                }
            }
            running = still;
            // A service's directory rather than its log's, which the same runsv runs.
            let Some(dir) = running.iter().map(|s| &s.dir).min_by_key(|d| d.len()) else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(Error::Unsafe(format!(
                    "runsv still runs {} {} s after it was asked to stop it (a process that \
                     ignores SIGTERM is killed after its kill_timeout); its link is removed and \
                     its directory kept: run the same command again to remove it",
                    Quoted(dir),
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// `<dir>/supervise`, opened without following a symlink; `None` when there is none.
    fn supervise_dir(&mut self, dir: &str) -> Result<Option<Supervise>> {
        let host = self.host(dir);
        let Some(dir_fd) = self.open_dir(dir, Strictness::Target, false)? else {
            return Ok(None);
        };
        let path = format!("{host}/{SUPERVISE}");
        match openat(dir_fd, SUPERVISE, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => Ok(Some(Supervise { dir: host, fd })),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::LOOP | Errno::NOTDIR) => Err(Error::Unsafe(format!(
                "{} is a symlink or not a directory; procexport never follows symlinks: stop \
                 that service with sv and remove it by hand",
                Quoted(&path)
            ))),
            Err(e) => Err(Error::io(format!("opening {}", Quoted(&path)), e.into())),
        }
    }
}

impl Supervise {
    /// True while a runsv holds `ok` open (how `sv` tells that one runs).
    fn alive(&self) -> Result<bool> {
        Ok(self.open_fifo("ok")?.is_some())
    }

    /// Sends runsv the one-letter command `letter` through `control`.
    fn command(&self, letter: u8) -> Result<()> {
        let Some(fd) = self.open_fifo("control")? else {
            return Ok(());
        };
        match write(&fd, &[letter]) {
            Ok(_) | Err(Errno::PIPE) => Ok(()),
            Err(e) => Err(Error::io(
                format!("writing to {}", Quoted(&self.path("control"))),
                e.into(),
            )),
        }
    }

    /// Opens the fifo `name` for writing without blocking: `None` when no runsv reads it (or
    /// it is not a fifo, which no runsv would have made).
    fn open_fifo(&self, name: &str) -> Result<Option<OwnedFd>> {
        let io = |e: Errno| Error::io(format!("opening {}", Quoted(&self.path(name))), e.into());
        match statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Fifo => {}
            Ok(_) | Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            // ENXIO: a fifo nobody reads, so no runsv.
            Err(Errno::NXIO | Errno::NOENT) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{SUPERVISE}/{name}", self.dir)
    }
}
