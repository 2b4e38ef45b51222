//! Opening directories safely: one component at a time, never following a symlink, checking
//! each one's owner and mode, creating the missing ones when asked.

use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{fstat, mkdirat, openat, Mode, OFlags, CWD};
use rustix::io::Errno;

/// How many directories stay open at once.
const MAX_OPEN_DIRS: usize = 256;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Disk {
    /// Opens the directory at live path `real`, checked as `strictness` asks. With `create`,
    /// missing directories are made (root-owned, 0755); without, a missing one gives `None`.
    pub fn open_dir(
        &mut self,
        real: &str,
        strictness: Strictness,
        create: bool,
    ) -> Result<Option<BorrowedFd<'_>>> {
        let host = self.host(real);
        if !self.open.contains_key(&host) {
            if !create && self.is_missing(&host) {
                return Ok(None);
            }
            let Some(fd) = self.walk(&host, create)? else {
                self.missing.insert(host);
                return Ok(None);
            };
            self.remember_dir(host.clone(), fd, None);
        }
        let (fd, passed) = &self.open[&host];
        if *passed == Some(strictness) || *passed == Some(Strictness::Target) {
            return Ok(Some(self.open[&host].0.as_fd()));
        }
        let stat =
            fstat(fd).map_err(|e| Error::io(format!("checking {}", Quoted(&host)), e.into()))?;
        let writable_by_others = match strictness {
            Strictness::Target => stat.st_mode & 0o022 != 0,
            Strictness::LogParent => stat.st_mode & 0o002 != 0 && stat.st_mode & 0o1000 == 0,
        };
        if writable_by_others {
            return Err(Error::Unsafe(format!(
                "{} is writable by group or others (mode {:04o}); procexport only writes into \
                 directories that only their owner can write",
                Quoted(&host),
                stat.st_mode & 0o7777
            )));
        }
        let entry = self.open.get_mut(&host).expect("opened above");
        entry.1 = Some(strictness);
        Ok(Some(entry.0.as_fd()))
    }

    /// Keeps `fd`, the directory at `host`, open for later lookups, as having passed the
    /// `passed` checks (if any).
    pub(super) fn remember_dir(&mut self, host: String, fd: OwnedFd, passed: Option<Strictness>) {
        self.missing.clear();
        // Keep far fewer descriptors open than any limit allows (a runit app has several
        // directories per job); past the bound, keep only this directory's ancestors.
        if self.open.len() >= MAX_OPEN_DIRS {
            self.open.retain(|dir, _| {
                host.strip_prefix(dir.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            });
        }
        self.open.insert(host, (fd, passed));
    }

    /// True when `host` or a directory above it was found missing.
    fn is_missing(&self, host: &str) -> bool {
        self.missing.contains(host)
            || host
                .rmatch_indices('/')
                .any(|(at, _)| self.missing.contains(&host[..at]))
    }

    /// Walks from `/` to `host`, checking every directory on the way: owned by root (or by
    /// the user running procexport) and, unless sticky like /tmp, not writable by others.
    fn walk(&self, host: &str, create: bool) -> Result<Option<OwnedFd>> {
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(host)), e.into());
        // Start from the deepest directory already opened (and checked) on the way, if any.
        let start = host
            .rmatch_indices('/')
            .map(|(at, _)| &host[..at])
            .find(|dir| self.open.contains_key(*dir));
        // The walk goes on from a directory already open (borrowed, not reopened) or from /.
        let (start_fd, mut walked, rest) = if let Some(dir) = start {
            (None, dir.to_owned(), &host[dir.len()..])
        } else {
            let fd = openat(CWD, "/", DIR_FLAGS, Mode::empty()).map_err(|e| io("opening /", e))?;
            self.check_ancestor(&fd, "/")?;
            (Some(fd), String::new(), host)
        };
        let mut fd: Option<OwnedFd> = start_fd;
        for component in rest.split('/').filter(|c| !c.is_empty() && *c != ".") {
            if component == ".." {
                return Err(Error::Unsafe(format!("{} contains \"..\"", Quoted(host))));
            }
            let parent = match (&fd, start) {
                (Some(fd), _) => fd.as_fd(),
                (None, Some(dir)) => self.open[dir].0.as_fd(),
                (None, None) => unreachable!("a walk from / opens it first"),
            };
            walked.push('/');
            walked.push_str(component);
            let next = match openat(parent, component, DIR_FLAGS, Mode::empty()) {
                Err(Errno::NOENT) if create => {
                    match mkdirat(parent, component, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io("creating", e)),
                    }
                    openat(parent, component, DIR_FLAGS, Mode::empty())
                }
                other => other,
            };
            let next = match next {
                Ok(next) => next,
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    return Err(Error::Unsafe(format!(
                        "{} is a symlink or not a directory; procexport never follows symlinks",
                        Quoted(&walked)
                    )))
                }
                Err(e) => return Err(io("opening", e)),
            };
            // Checked even when just made: a parent checked only as an ancestor may be
            // group-writable, and the new directory swapped between mkdirat and openat.
            self.check_ancestor(&next, &walked)?;
            fd = Some(next);
        }
        match (fd, start) {
            (Some(fd), _) => Ok(Some(fd)),
            // Nothing left to walk: the start itself, in a descriptor of its own.
            (None, Some(dir)) => openat(&self.open[dir].0, ".", DIR_FLAGS, Mode::empty())
                .map(Some)
                .map_err(|e| io("opening", e)),
            (None, None) => unreachable!("a walk from / opens it first"),
        }
    }

    fn check_ancestor(&self, fd: &OwnedFd, path: &str) -> Result<()> {
        let stat =
            fstat(fd).map_err(|e| Error::io(format!("checking {}", Quoted(path)), e.into()))?;
        if stat.st_uid != 0 && stat.st_uid != self.euid {
            return Err(Error::Unsafe(format!(
                "{} is owned by uid {}; procexport only works in directories owned by root{}",
                Quoted(path),
                stat.st_uid,
                if self.euid == 0 {
                    ""
                } else {
                    " or by the user running it"
                }
            )));
        }
        let sticky = stat.st_mode & 0o1000 != 0;
        if stat.st_mode & 0o002 != 0 && !sticky {
            return Err(Error::Unsafe(format!(
                "{} is writable by others (mode {:04o})",
                Quoted(path),
                stat.st_mode & 0o7777
            )));
        }
        Ok(())
    }
}
