//! One lock per app, so that two exports or cleans of the same app run one after the other
//! instead of interleaving their writes.

use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use rustix::fd::OwnedFd;
use rustix::fs::{flock, openat, FlockOperation, Mode, OFlags};

/// Held for as long as it lives; closing the file releases the lock.
pub struct Lock {
    _fd: OwnedFd,
}

impl Disk {
    /// Takes the app's lock `<state_dir>/<name>.lock`, waiting for another run to finish.
    pub fn lock(&mut self, state_dir: &str, name: &str) -> Result<Lock> {
        let path = format!("{state_dir}/{name}.lock");
        let dir = self
            .open_dir(state_dir, Strictness::Target, true)?
            .expect("created when missing");
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat(
            dir,
            format!("{name}.lock"),
            flags,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| Error::io(format!("opening the lock {}", Quoted(&path)), e.into()))?;
        flock(&fd, FlockOperation::LockExclusive)
            .map_err(|e| Error::io(format!("locking {}", Quoted(&path)), e.into()))?;
        Ok(Lock { _fd: fd })
    }
}
