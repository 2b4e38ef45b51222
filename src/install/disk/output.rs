//! An output directory: where an export that installs nothing (the Kubernetes export's
//! `--output DIR`) puts one file per object, for the user running procexport and never as
//! root for someone else (that export is refused through sudo).
//!
//! DIR must be new or empty (so `kubectl apply -f DIR` applies exactly this export, nothing
//! left from another), a real directory (not a symlink) owned by the user running procexport
//! and writable by no one else. Files are created with `O_CREAT|O_EXCL|O_NOFOLLOW`, so nothing
//! put there meanwhile is followed or overwritten. A failed write removes what this run
//! wrote, and DIR when this run made it. DIR is the user's own path, relative to the working
//! directory: `--root` does not apply to it.

use super::Disk;
use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use rustix::fd::OwnedFd;
use rustix::fs::{
    fstat, fsync, mkdirat, openat, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags, CWD,
};
use rustix::io::Errno;
use std::io::Write;

/// One file to create in an output directory.
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    pub name: &'a str,
    pub mode: u32,
    pub contents: &'a [u8],
}

impl Disk {
    /// Checks output directory `dir`: `Ok(false)` when it does not exist, `Ok(true)` when it
    /// exists and is fit (see the module docs); an error says why it is not.
    pub fn check_output_dir(&self, dir: &str) -> Result<bool> {
        Ok(open_checked(dir, self.euid)?.is_some())
    }

    /// Creates every file in `dir`, made with `dir_mode` when missing. All or nothing: on a
    /// failure what this call wrote is removed again.
    pub fn write_output_dir(&self, dir: &str, dir_mode: u32, files: &[NewFile]) -> Result<()> {
        let existing = open_checked(dir, self.euid)?;
        let created = existing.is_none();
        let dir_fd = if let Some(fd) = existing {
            fd
        } else {
            mkdirat(CWD, dir, Mode::from_raw_mode(dir_mode)).map_err(|e| {
                Error::io(
                    format!("creating output directory {}", Quoted(dir)),
                    e.into(),
                )
            })?;
            open_checked(dir, self.euid)?.ok_or_else(|| {
                Error::refused_at(
                    dir,
                    format!(
                        "output directory {} vanished after it was made",
                        Quoted(dir)
                    ),
                )
            })?
        };
        let mut written: Vec<&str> = Vec::new();
        for file in files {
            if let Err(error) = write_file(&dir_fd, dir, file) {
                for name in &written {
                    let _ = unlinkat(&dir_fd, *name, AtFlags::empty());
                }
                if created {
                    let _ = unlinkat(CWD, dir, AtFlags::REMOVEDIR);
                }
                return Err(error);
            }
            written.push(file.name);
        }
        fsync(&dir_fd).map_err(|e| Error::io(format!("syncing {}", Quoted(dir)), e.into()))
    }
}

fn write_file(dir_fd: &OwnedFd, dir: &str, file: &NewFile) -> Result<()> {
    let shown = format!("{}/{}", dir.trim_end_matches('/'), file.name);
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd =
        openat(dir_fd, file.name, flags, Mode::from_raw_mode(file.mode)).map_err(|e| match e {
            Errno::EXIST => Error::refused_at(
                &shown,
                format!(
                    "{} appeared while procexport was writing; refusing to replace it",
                    Quoted(&shown)
                ),
            ),
            other => Error::io(format!("creating {}", Quoted(&shown)), other.into()),
        })?;
    let mut handle = std::fs::File::from(fd);
    handle
        .write_all(file.contents)
        .and_then(|()| handle.sync_all())
        .map_err(|e| Error::io(format!("writing {}", Quoted(&shown)), e))
}

fn is_symlink(path: &str) -> bool {
    statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Symlink)
}

/// Opens `dir` when it exists and checks it: a directory, not a symlink, owned by `euid`,
/// writable by no one else, empty. `None` when it does not exist.
fn open_checked(dir: &str, euid: u32) -> Result<Option<OwnedFd>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = match openat(CWD, dir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR (or ELOOP).
        Err(Errno::LOOP | Errno::NOTDIR) if is_symlink(dir) => {
            return Err(Error::refused_at(
                dir,
                format!("output directory {} is a symlink; refusing it", Quoted(dir)),
            ))
        }
        Err(Errno::NOTDIR) => {
            return Err(Error::Usage(format!(
                "output {} is not a directory: --output takes a new or empty directory",
                Quoted(dir)
            )))
        }
        Err(e) => {
            return Err(Error::io(
                format!("opening output directory {}", Quoted(dir)),
                e.into(),
            ))
        }
    };
    let stat = fstat(&fd).map_err(|e| Error::io(format!("checking {}", Quoted(dir)), e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
        return Err(Error::Usage(format!(
            "output {} is not a directory",
            Quoted(dir)
        )));
    }
    if stat.st_uid != euid {
        return Err(Error::refused_at(
            dir,
            format!(
                "output directory {} is owned by uid {}, not by you (uid {euid}); refusing it",
                Quoted(dir),
                stat.st_uid
            ),
        ));
    }
    if stat.st_mode & 0o022 != 0 {
        return Err(Error::refused_at(
            dir,
            format!(
                "output directory {} is writable by group or others (mode {:04o}); refusing it",
                Quoted(dir),
                stat.st_mode & 0o7777
            ),
        ));
    }
    let listing = rustix::io::dup(&fd)
        .and_then(Dir::read_from)
        .map_err(|e| Error::io(format!("listing {}", Quoted(dir)), e.into()))?;
    for entry in listing {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", Quoted(dir)), e.into()))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            return Err(Error::Usage(format!(
                "output directory {} is not empty: it must be new or empty, so that `kubectl apply -f` on it applies this export and nothing else",
                Quoted(dir)
            )));
        }
    }
    Ok(Some(fd))
}
