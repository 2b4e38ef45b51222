//! One lock per app, so that two exports or cleans of the same app run one after the other
//! instead of interleaving their writes.
//!
//! An app that holds nothing leaves no lock file behind: the run that ends with no manifest of
//! the app removes the file, while it still holds the lock. A run that opened the file before
//! that removal then holds a lock on a file no one else can find, so every run checks, once
//! its `flock` is granted, that the file at the path is still the one it locked (same device
//! and inode), and starts again if not.

use super::run_record::Record;
use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{flock, fstat, openat, statat, unlinkat, AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

/// Held for as long as it lives; closing the file releases the lock.
pub struct Lock {
    fd: OwnedFd,
    /// The state directory the lock file is in.
    dir: OwnedFd,
    /// The lock file's name in `dir`, and its path for messages.
    name: String,
    path: String,
    /// What the lock file says of the runs before (`run_record`).
    record: Record,
}

impl Disk {
    /// Takes the app's lock `<state_dir>/<name>.lock`, waiting for another run to finish.
    /// A `dry_run` takes no lock (`None`) but holds the state directory to the same rules, so
    /// that it fails exactly where the real run would.
    pub fn lock(&mut self, state_dir: &str, name: &str, dry_run: bool) -> Result<Option<Lock>> {
        let path = format!("{state_dir}/{name}.lock");
        let file = format!("{name}.lock");
        let Some(dir) = self.open_dir(state_dir, Strictness::Target, !dry_run)? else {
            // Only a dry run gets here: the real run makes the directory.
            return Ok(None);
        };
        if dry_run {
            return Ok(None);
        }
        let dir = dir
            .try_clone_to_owned()
            .map_err(|e| Error::io(format!("opening {}", Quoted(state_dir)), e))?;
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(&path)), e.into());
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        loop {
            let fd = openat(&dir, file.as_str(), flags, Mode::from_raw_mode(0o600))
                .map_err(|e| io("opening the lock", e))?;
            flock(&fd, FlockOperation::LockExclusive).map_err(|e| io("locking", e))?;
            let held = fstat(&fd).map_err(|e| io("checking", e))?;
            match statat(&dir, file.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(now) if (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino) => {
                    // The run this one waited for may have made what was found missing
                    // before (the app's manifest directory): found again from here on.
                    self.missing.clear();
                    let record = Record::read(fd.as_fd());
                    return Ok(Some(Lock {
                        fd,
                        dir,
                        name: file,
                        path,
                        record,
                    }));
                }
                // The run before removed it (and another may have made a new one): this lock
                // serialises no one.
                Ok(_) | Err(Errno::NOENT) => {}
                Err(e) => return Err(io("checking", e)),
            }
        }
    }
}

impl Lock {
    /// True when a killed run of `backend` may have left temp files: the app's directories
    /// are then looked through for them.
    pub fn temps_may_remain(&self, backend: &str) -> bool {
        self.record.temps_may_remain(backend)
    }

    /// Says, before this run makes its first temp file, that it may leave some.
    pub fn making_temps(&mut self) -> Result<()> {
        self.record
            .spoil(self.fd.as_fd())
            .map_err(|e| Error::io(format!("writing the lock {}", Quoted(&self.path)), e))
    }

    /// Says that this run of `backend` ended with none of its temp files left, nor any a
    /// killed run left. Not written is only a look the next run takes for nothing.
    pub fn ended_clean(&mut self, backend: &str) {
        let _ = self.record.ended_clean(self.fd.as_fd(), backend);
    }

    /// Releases the lock, first removing its file when no backend keeps a manifest of the app
    /// `name` in the state directory (`<state_dir>/<backend>/<name>.manifest`): an app that
    /// holds nothing leaves nothing behind. The file goes while the lock is still held, so
    /// no run can be holding it then. `backend`'s manifest is looked for first.
    pub fn release(self, name: &str, backend: &str) -> Result<()> {
        if !holds_manifest(&self.dir, name, &self.path, backend)? {
            match unlinkat(&self.dir, self.name.as_str(), AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => {
                    return Err(Error::io(
                        format!("removing the lock {}", Quoted(&self.path)),
                        e.into(),
                    ))
                }
            }
        }
        drop(self.fd);
        Ok(())
    }
}

/// True when a directory of `dir` (a state directory) holds `<name>.manifest`; `first`'s is
/// looked for first (the backend that ran, whose manifest an export leaves).
fn holds_manifest(dir: &OwnedFd, name: &str, path: &str, first: &str) -> Result<bool> {
    let io = |e: Errno| {
        Error::io(
            format!("listing the state directory of {}", Quoted(path)),
            e.into(),
        )
    };
    let manifest = format!("{name}.manifest");
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if let Ok(sub) = openat(dir, first, flags, Mode::empty()) {
        if statat(&sub, manifest.as_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok() {
            return Ok(true);
        }
    }
    for entry in rustix::fs::Dir::read_from(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Ok(sub) = entry.file_name().to_str() else {
            continue;
        };
        if sub == "." || sub == ".." {
            continue;
        }
        let Ok(sub) = openat(dir, sub, flags, Mode::empty()) else {
            continue;
        };
        match statat(&sub, manifest.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => return Ok(true),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Runs that remove the lock file as they finish never let two runs hold the app's lock
    /// at once: one that locked a file a finishing run removed starts again. Without the
    /// device and inode check, a waiting run and a new one each hold a lock, on two files.
    #[test]
    fn removing_the_lock_file_never_lets_two_runs_in() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().to_str().unwrap().to_owned();
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    let mut disk = Disk::new(None, rustix::process::geteuid().as_raw());
                    for _ in 0..300 {
                        let lock = disk.lock(&state_dir, "app", false).unwrap().unwrap();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        lock.release("app", "upstart").unwrap();
                    }
                });
            }
        });
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "two runs held the lock at once"
        );
        assert!(
            !dir.path().join("app.lock").exists(),
            "an app with no manifest keeps its lock file"
        );
    }
}
