//! Opening directories safely: one component at a time, never following a symlink, checking
//! each one's owner and mode, creating the missing ones when asked.

use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{
    fstat, mkdirat, openat, readlinkat, statat, AtFlags, FileType, Mode, OFlags, Stat, CWD,
};
use rustix::io::Errno;
use std::collections::VecDeque;

/// How many symlinks one path may go through.
const MAX_LINKS: usize = 8;

/// The components of a path, `..` refused (a symlink's target included).
fn components(path: &str) -> Result<VecDeque<String>> {
    let mut out = VecDeque::new();
    for component in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if component == ".." {
            return Err(Error::refused_at(
                path,
                format!("{} contains \"..\"", Quoted(path)),
            ));
        }
        out.push_back(component.to_owned());
    }
    Ok(out)
}

/// The directories a walk opened on the way, by host path.
type Passed = Vec<(String, OwnedFd)>;

/// Where a walk ended: the directory, opened, with its stat; or the host path of the first
/// directory on the way that is missing.
type Walked = std::result::Result<(OwnedFd, Stat), String>;

/// Where a walk is: a directory of the cache (borrowed: no descriptor of its own is made to
/// start from it) or one the walk opened.
enum At<'a> {
    Cached(BorrowedFd<'a>),
    Owned(OwnedFd),
}

impl At<'_> {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            At::Cached(fd) => *fd,
            At::Owned(fd) => fd.as_fd(),
        }
    }
}

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
        let cached = self.open.get(&host).map(|(_, passed)| *passed);
        if cached.is_none() {
            if !create && self.is_missing(&host) {
                return Ok(None);
            }
            let (found, passed) = self.walk(&host, create)?;
            // The directories on the way, checked as ancestors: a later walk below one of
            // them starts there instead of at `/` (the state directory of every backend, the
            // jobs' directories beside it).
            for (dir, fd) in passed {
                self.remember_dir(dir, fd, None);
            }
            let (fd, stat) = match found {
                Ok(found) => found,
                Err(missing) => {
                    // The first directory missing on the way: every path below it is too.
                    self.missing.insert(missing);
                    return Ok(None);
                }
            };
            // Checked with the walk's own stat of it: no second one.
            check_strictness(&host, &stat, strictness)?;
            self.remember_dir(host.clone(), fd, Some(strictness));
            return Ok(Some(self.open[&host].0.as_fd()));
        }
        let passed = cached.expect("checked above");
        if passed == Some(strictness) || passed == Some(Strictness::Target) {
            return Ok(Some(self.open[&host].0.as_fd()));
        }
        let fd = &self.open[&host].0;
        let stat =
            fstat(fd).map_err(|e| Error::io(format!("checking {}", Quoted(&host)), e.into()))?;
        check_strictness(&host, &stat, strictness)?;
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

    /// Forgets the directory `host` and those below it: they were renamed or removed.
    pub(super) fn forget_dirs(&mut self, host: &str) {
        self.open.retain(|dir, _| {
            dir.strip_prefix(host)
                .is_none_or(|rest| !rest.is_empty() && !rest.starts_with('/'))
        });
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
    ///
    /// A symlink on the way is followed only when root owns it and every directory it leads
    /// through is owned by root and writable by no one else, group included (Debian's
    /// `/etc/service -> /etc/runit/runsvdir/default`, merged `/lib -> usr/lib`): no one but
    /// root can have made it or can change where it goes. Any other symlink is refused.
    ///
    /// Also gives the directories it opened on the way before any symlink, each by the host
    /// path it stands for, checked as above (a missing `host` gives them too).
    fn walk(&self, host: &str, create: bool) -> Result<(Walked, Passed)> {
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(host)), e.into());
        // Start from the deepest directory already opened (and checked) on the way, if any.
        let start = host
            .rmatch_indices('/')
            .map(|(at, _)| &host[..at])
            .find(|dir| self.open.contains_key(*dir));
        let mut checked = None;
        let (mut fd, mut walked, rest) = if let Some(dir) = start {
            let fd = At::Cached(self.open[dir].0.as_fd());
            (fd, dir.to_owned(), &host[dir.len()..])
        } else {
            let fd = openat(CWD, "/", DIR_FLAGS, Mode::empty()).map_err(|e| io("opening /", e))?;
            checked = Some(self.check_ancestor(fd.as_fd(), "/", false)?);
            (At::Owned(fd), String::new(), host)
        };
        let mut queue: VecDeque<String> = components(rest)?;
        let mut passed: Passed = Vec::new();
        let mut hops = 0;
        // True once a symlink was followed: from there on, group-writable is refused too.
        let mut through_link = false;
        while let Some(component) = queue.pop_front() {
            let next = match openat(fd.fd(), component.as_str(), DIR_FLAGS, Mode::empty()) {
                Err(Errno::NOENT) if create => {
                    match mkdirat(fd.fd(), component.as_str(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io("creating", e)),
                    }
                    openat(fd.fd(), component.as_str(), DIR_FLAGS, Mode::empty())
                }
                other => other,
            };
            let mut here = String::with_capacity(walked.len() + 1 + component.len());
            here.push_str(&walked);
            here.push('/');
            here.push_str(&component);
            let next = match next {
                Ok(next) => next,
                Err(Errno::NOENT) => {
                    // The deepest directory there is, kept too: the state directories of
                    // the backends not installed are each looked for in the same one.
                    if let At::Owned(at) = fd {
                        if !through_link && !walked.is_empty() {
                            passed.push((walked, at));
                        }
                    }
                    return Ok((Err(here), passed));
                }
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let target = Self::root_link(fd.fd(), &component, &here)?;
                    hops += 1;
                    if hops > MAX_LINKS {
                        return Err(Error::refused_at(
                            host,
                            format!(
                                "{} goes through more than {MAX_LINKS} symlinks",
                                Quoted(host)
                            ),
                        ));
                    }
                    through_link = true;
                    let mut followed = components(&target)?;
                    followed.extend(queue);
                    queue = followed;
                    if target.starts_with('/') {
                        let root = self.host("/");
                        let opened = openat(CWD, root.as_str(), DIR_FLAGS, Mode::empty())
                            .map_err(|e| io("opening", e))?;
                        checked = Some(self.check_ancestor(opened.as_fd(), &root, through_link)?);
                        fd = At::Owned(opened);
                        root.trim_end_matches('/').clone_into(&mut walked);
                    }
                    continue;
                }
                Err(e) => return Err(io("opening", e)),
            };
            // `walked` names the directory `fd` is until a symlink is followed; past one, a
            // directory stands for a path that is not its own, and is not kept.
            let above = std::mem::replace(&mut fd, At::Owned(next));
            if let At::Owned(above) = above {
                if !through_link && !walked.is_empty() && !self.open.contains_key(walked.as_str()) {
                    passed.push((std::mem::take(&mut walked), above));
                }
            }
            walked = here;
            checked = Some(self.check_ancestor(fd.fd(), &walked, through_link)?);
        }
        let fd = match fd {
            At::Owned(fd) => fd,
            // Nothing below the cached directory: a descriptor of its own.
            At::Cached(fd) => {
                openat(fd, ".", DIR_FLAGS, Mode::empty()).map_err(|e| io("opening", e))?
            }
        };
        let found = match checked {
            Some(found) => found,
            None => fstat(&fd).map_err(|e| io("checking", e))?,
        };
        Ok((Ok((fd, found)), passed))
    }

    /// The target of the symlink `name` in `dir` (at `path`), when root owns it; otherwise
    /// the refusal, which says what to change.
    fn root_link(dir: BorrowedFd<'_>, name: &str, path: &str) -> Result<String> {
        let not_followed = || {
            Error::refused_at(
                path,
                format!(
                    "{} is a symlink or not a directory; procexport follows a symlink only when \
                 root owns it and every directory it leads to is root's and writable by no one \
                 else: point the config at the real directory, or give the link to root",
                    Quoted(path)
                ),
            )
        };
        let stat = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| Error::io(format!("checking {}", Quoted(path)), e.into()))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::Symlink || stat.st_uid != 0 {
            return Err(not_followed());
        }
        let target = readlinkat(dir, name, Vec::new())
            .map_err(|e| Error::io(format!("reading the link {}", Quoted(path)), e.into()))?;
        target.into_string().map_err(|_| not_followed())
    }

    /// Checks a directory on the way; `strict` (past a symlink) refuses group-writable ones
    /// and sticky ones too.
    fn check_ancestor(&self, fd: BorrowedFd<'_>, path: &str, strict: bool) -> Result<Stat> {
        let stat =
            fstat(fd).map_err(|e| Error::io(format!("checking {}", Quoted(path)), e.into()))?;
        if stat.st_uid != 0 && stat.st_uid != self.euid {
            return Err(Error::refused_at(
                path,
                format!(
                    "{} is owned by uid {}; procexport only works in directories owned by root{}",
                    Quoted(path),
                    stat.st_uid,
                    if self.euid == 0 {
                        ""
                    } else {
                        " or by the user running it"
                    }
                ),
            ));
        }
        if strict && (stat.st_uid != 0 || stat.st_mode & 0o022 != 0) {
            return Err(Error::refused_at(
                path,
                format!(
                "{} is reached through a symlink and is not root's alone (uid {}, mode {:04o}); \
                 procexport follows a symlink only into directories that only root can write",
                Quoted(path),
                stat.st_uid,
                stat.st_mode & 0o7777
            ),
            ));
        }
        let sticky = stat.st_mode & 0o1000 != 0;
        if stat.st_mode & 0o002 != 0 && !sticky {
            return Err(Error::refused_at(
                path,
                format!(
                    "{} is writable by others (mode {:04o})",
                    Quoted(path),
                    stat.st_mode & 0o7777
                ),
            ));
        }
        Ok(stat)
    }
}

/// Refuses a directory files go into (or the log directory's parent) that others may write,
/// as `strictness` says.
fn check_strictness(host: &str, stat: &Stat, strictness: Strictness) -> Result<()> {
    let writable_by_others = match strictness {
        Strictness::Target => stat.st_mode & 0o022 != 0,
        Strictness::LogParent => stat.st_mode & 0o002 != 0 && stat.st_mode & 0o1000 == 0,
    };
    if writable_by_others {
        return Err(Error::refused_at(
            host,
            format!(
                "{} is writable by group or others (mode {:04o}); procexport only writes into \
                 directories that only their owner can write",
                Quoted(host),
                stat.st_mode & 0o7777
            ),
        ));
    }
    Ok(())
}
