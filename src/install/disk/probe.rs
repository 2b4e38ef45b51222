//! What the run user will be able to do, tried with its rights before anything is written:
//! enter a job's working directory, create or append to its log file. procexport takes on
//! the run user's uid and groups for the try (on its one thread), so the answer is the
//! kernel's, not a guess from mode bits.

use super::Disk;
use crate::error::Result;
use crate::install::privilege::as_account;
use rustix::fs::{openat, Mode, OFlags, CWD};

/// An account to try things as.
#[derive(Debug, Clone)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    /// Its supplementary groups.
    pub groups: Vec<u32>,
}

impl Disk {
    /// True when `account` can change into directory `dir` (a live path), symlinks followed
    /// as the job's `cd` follows them (a deploy's `current -> releases/N`). False alike when
    /// `dir` is missing, is not a directory, or is out of the account's reach: the kernel
    /// answers as the account, so nothing root alone could see shows.
    pub fn can_enter(account: &Account, dir: &str) -> Result<bool> {
        let path = format!("{}/.", dir.trim_end_matches('/'));
        as_account(account.uid, account.gid, &account.groups, || {
            openat(
                CWD,
                path.as_str(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .is_ok()
        })
    }

    /// True when `account` can append to `file` (a live path), or create it when it is
    /// missing. Nothing is created: an existing file is opened for appending and closed, a
    /// missing one is checked for by opening its directory for writing entries.
    pub fn can_write_log(account: &Account, file: &str) -> Result<bool> {
        let dir = file
            .rsplit_once('/')
            .map_or("/", |(dir, _)| if dir.is_empty() { "/" } else { dir });
        let dir = dir.to_owned();
        let file = file.to_owned();
        as_account(account.uid, account.gid, &account.groups, || {
            let flags = OFlags::WRONLY
                | OFlags::APPEND
                | OFlags::NOCTTY
                | OFlags::NONBLOCK
                | OFlags::CLOEXEC;
            match openat(CWD, file.as_str(), flags, Mode::empty()) {
                Ok(_) => true,
                Err(rustix::io::Errno::NOENT) => rustix::fs::accessat(
                    CWD,
                    dir.as_str(),
                    rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
                    rustix::fs::AtFlags::EACCESS,
                )
                .is_ok(),
                Err(_) => false,
            }
        })
    }
}
