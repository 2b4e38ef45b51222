//! The only module that touches the disk. Everything procexport reads or writes goes through
//! directory file descriptors opened one component at a time with `O_NOFOLLOW`, so no symlink
//! anywhere on a path is ever followed, and every directory is checked for who may write it
//! before anything is put in it.
//!
//! Paths handed in are the real, live-system paths (`/etc/init/...`); with `--root DIR` they
//! are looked up under DIR instead, the way DESTDIR works. Two exceptions: an output
//! directory (`output.rs`, the Kubernetes export's `--output DIR`), the user's own path, for
//! files that are not installed; and the account files (`accounts.rs`: `/etc/nsswitch.conf`,
//! `/etc/passwd`, `/etc/group`), opened by path as glibc opens them, since each answer must be
//! glibc's own (a symlinked `/etc/passwd` is followed by both), and only read.

pub mod accounts;
mod dir;
mod fifo;
mod flush;
mod lock;
mod output;
mod probe;
mod read;
mod run_record;
mod spool;
mod write;

pub use lock::Lock;
pub use output::NewFile;
pub use probe::Account;
pub use read::DirStat;
pub use spool::Spool;
pub use write::{stale, Written};

use camino::Utf8PathBuf;
use rustix::fd::OwnedFd;
use std::collections::{HashMap, HashSet};

/// The directory cache's hasher: looked up several times for every file, with keys that are
/// paths; ahash, keyed at random, is several times cheaper than the default SipHash.
type RandomState = ahash::RandomState;

/// How strictly a directory is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Files go into it: owned by root (or the unprivileged user running procexport) and not
    /// writable by group or others.
    Target,
    /// The log directory's parent: `/var/log` is group-writable on some distributions
    /// (root:syslog 0775). procexport only makes one directory in it, by descriptor.
    LogParent,
}

/// Access to the disk, rooted at `/` or at `--root`.
pub struct Disk {
    root: Option<Utf8PathBuf>,
    euid: u32,
    /// Directories already opened, by host path, with the strictness they passed (if any).
    open: HashMap<String, (OwnedFd, Option<Strictness>), RandomState>,
    /// Directories found missing (forgotten when one is created).
    missing: HashSet<String, RandomState>,
    temp_counter: u32,
    /// This process's id, in temp file names.
    pid: u32,
    /// The group new files get.
    egid: u32,
    /// Live directories made outside `apply` (the log directory), fsync'd with its own.
    unflushed: Vec<String>,
}

impl Disk {
    /// Access to the disk. Clears the process umask: every file and directory is created with
    /// the exact mode it must have, not one a caller's umask changed.
    pub fn new(root: Option<Utf8PathBuf>, euid: u32) -> Self {
        rustix::process::umask(rustix::fs::Mode::empty());
        Self {
            root,
            euid,
            open: HashMap::default(),
            missing: HashSet::default(),
            temp_counter: 0,
            pid: std::process::id(),
            egid: rustix::process::getegid().as_raw(),
            unflushed: Vec::new(),
        }
    }

    /// The path on this machine for a live-system path. Joined by hand: it is made for every
    /// lookup, and `format!` costs ten times as much.
    pub fn host(&self, real: &str) -> String {
        match &self.root {
            Some(root) => {
                let root = root.as_str().trim_end_matches('/');
                let real = real.trim_start_matches('/');
                let mut host = String::with_capacity(root.len() + 1 + real.len());
                host.push_str(root);
                host.push('/');
                host.push_str(real);
                host
            }
            None => real.to_owned(),
        }
    }
}
