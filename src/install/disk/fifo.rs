//! Opening a supervisor's control fifo by descriptor (runsv's `supervise/control` and `ok`):
//! the directory walk is the same as for every other path, a symlink anywhere is refused,
//! and the fifo is opened for writing without blocking, so a fifo nobody reads says so at
//! once instead of hanging.

use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use rustix::fd::OwnedFd;
use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

impl Disk {
    /// Opens the fifo `name` in directory `dir` (a live path) for writing. `None` when the
    /// directory or the fifo is missing, when `name` is not a fifo, or when nothing reads it
    /// (no supervisor runs there).
    pub fn open_fifo(&mut self, dir: &str, name: &str) -> Result<Option<OwnedFd>> {
        let path = format!("{}/{name}", self.host(dir));
        let io = |e: Errno| Error::io(format!("opening {}", Quoted(&path)), e.into());
        let Some(dir_fd) = self.open_dir(dir, Strictness::Target, false)? else {
            return Ok(None);
        };
        match statat(dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Fifo => {}
            Ok(_) | Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match openat(dir_fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            // ENXIO: a fifo nobody reads.
            Err(Errno::NXIO | Errno::NOENT) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// True when `real` is a directory on the live system (never under `--root`), looked at
    /// without following a symlink: how an init that is running is told from one that is
    /// only installed (`/run/systemd/system`).
    pub fn live_dir_exists(real: &str) -> bool {
        statat(rustix::fs::CWD, real, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Directory)
    }

    /// True when `real` (a live path, never under `--root`) exists, whatever it is (a socket),
    /// not followed if a symlink.
    pub fn live_exists(real: &str) -> bool {
        statat(rustix::fs::CWD, real, AtFlags::SYMLINK_NOFOLLOW).is_ok()
    }

    /// True when `real` (a live path, never under `--root`) leads to something, a symlink
    /// followed: a program or a config an init's own tool opens by that name, as the tool
    /// itself would find it.
    pub fn live_leads_somewhere(real: &str) -> bool {
        statat(rustix::fs::CWD, real, AtFlags::empty()).is_ok()
    }

    /// True when `real` (a live path, never under `--root`) leads to a regular file, a
    /// symlink followed: an init's program that procexport runs by that name.
    pub fn live_leads_to_file(real: &str) -> bool {
        statat(rustix::fs::CWD, real, AtFlags::empty())
            .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
    }

    /// True when `real` (a live path, never under `--root`) is a regular file, not followed if
    /// a symlink.
    pub fn live_file_exists(real: &str) -> bool {
        statat(rustix::fs::CWD, real, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
    }
}
