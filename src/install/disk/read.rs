//! Reads: the trusted config (checked for who may have written it), the Procfile and `.env`
//! files (with the invoking user's rights), manifests, and what is at a target path now.

use super::{Disk, Strictness};
use crate::error::{Error, Location, Result};
use crate::install::entries::Entries;
use crate::install::manifest::Manifest;
use crate::install::plan::Existing;
use crate::install::privilege::Invoker;
use crate::sanitize::Quoted;
use rustix::fd::OwnedFd;
use rustix::fs::{fstat, openat, readlinkat, statat, AtFlags, Dir, FileType, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::io::Read;

/// Procfiles and configs larger than this are refused rather than read.
const MAX_INPUT: u64 = 4 << 20;

/// The largest manifest read: 64 MiB, over a million entries (a 10,000-job runit app's is
/// about 9 MB).
const MAX_MANIFEST: u64 = 64 << 20;

const READ_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC);

/// Reads at most `cap + 1` bytes: one more than a caller accepts tells it the file is larger.
/// `size`, the file's size when it was stat'd, sizes the buffer: a file read from an empty
/// buffer takes a read call per doubling (eight for a 1.5 KiB script), from this one two.
fn read_all(fd: OwnedFd, size: u64, cap: u64) -> std::io::Result<Vec<u8>> {
    let limit = cap.saturating_add(1);
    let room = usize::try_from(size.saturating_add(1).min(limit)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(room);
    std::fs::File::from(fd)
        .take(limit)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `read_all` for an installed file, which is only compared: one call asks for a byte more
/// than `size`, and when it gives fewer the file is taken to end there (a local file's read
/// is short only at its end) without the second call that would say so. Were a read short
/// anyway, the file would only look changed, and be written again.
fn read_installed(fd: OwnedFd, size: u64, cap: u64) -> std::io::Result<Vec<u8>> {
    let limit = cap.saturating_add(1);
    let room = usize::try_from(size.saturating_add(1).min(limit)).unwrap_or(0);
    let mut bytes = vec![0u8; room];
    let mut file = std::fs::File::from(fd);
    let first = loop {
        match file.read(&mut bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            other => break other?,
        }
    };
    bytes.truncate(first);
    if first < room {
        return Ok(bytes);
    }
    file.take(limit - first as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn type_word(file_type: FileType) -> &'static str {
    match file_type {
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "fifo",
        FileType::Socket => "socket",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        _ => "special file",
    }
}

/// A directory's owner and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirStat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Disk {
    /// Reads the config at `path`: a regular file, not a symlink, owned by root (or by the
    /// unprivileged user running procexport), writable by no one else. `Ok(None)` if absent.
    pub fn read_config(&self, path: &str) -> Result<Option<String>> {
        let location = Location::file(path);
        let fd = match openat(CWD, path, READ_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => {
                return Err(Error::refused_at(
                    path,
                    format!("config {} is a symlink; refusing it", Quoted(path)),
                ))
            }
            Err(e) => {
                return Err(Error::io(
                    format!("reading config {}", Quoted(path)),
                    e.into(),
                ))
            }
        };
        let stat =
            fstat(&fd).map_err(|e| Error::io(format!("checking {}", Quoted(path)), e.into()))?;
        let file_type = FileType::from_raw_mode(stat.st_mode);
        if file_type != FileType::RegularFile {
            return Err(Error::refused_at(
                path,
                format!(
                    "config {} is a {}, not a regular file",
                    Quoted(path),
                    type_word(file_type)
                ),
            ));
        }
        if stat.st_uid != 0 && stat.st_uid != self.euid {
            return Err(Error::refused_at(
                path,
                format!(
                    "config {} is owned by uid {}, not root; refusing it",
                    Quoted(path),
                    stat.st_uid
                ),
            ));
        }
        if stat.st_mode & 0o022 != 0 {
            return Err(Error::refused_at(
                path,
                format!(
                    "config {} is writable by group or others (mode {:04o}); refusing it",
                    Quoted(path),
                    stat.st_mode & 0o7777
                ),
            ));
        }
        let bytes = read_all(fd, stat.st_size.unsigned_abs(), MAX_INPUT)
            .map_err(|e| Error::io(format!("reading {}", Quoted(path)), e))?;
        if bytes.len() as u64 > MAX_INPUT {
            return Err(Error::input(location, "file is larger than 4 MiB"));
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::input(location, "file is not valid UTF-8"))
    }

    /// Reads the Procfile as the invoking user. A file that user cannot read is refused as
    /// permission denied, and nothing of it is ever shown.
    pub fn read_procfile(path: &str, invoker: &Invoker) -> Result<Vec<u8>> {
        Self::read_as_invoker(path, invoker, MAX_INPUT)?
            .ok_or_else(|| Error::input(Location::file(path), "no such file"))
    }

    /// Reads a `.env` file as the invoking user, as the Procfile is read; `Ok(None)` when
    /// there is no such file (the default `.env` is optional). At most `at_most + 1` bytes
    /// are read, so that the `.env` files of one export are bounded together: the caller
    /// refuses a file longer than `at_most`, without having read the rest of it.
    pub fn read_env_file(path: &str, invoker: &Invoker, at_most: u64) -> Result<Option<Vec<u8>>> {
        Self::read_as_invoker(path, invoker, at_most)
    }

    /// Reads a file of the invoking user's with that user's rights, at most `cap + 1` bytes
    /// of it (and never more than 4 MiB); `Ok(None)` if absent.
    fn read_as_invoker(path: &str, invoker: &Invoker, cap: u64) -> Result<Option<Vec<u8>>> {
        let location = || Location::file(path);
        // Follows a symlink given as the path: it is read with the user's own rights.
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let opened = invoker.as_invoking_user(|| {
            let fd = openat(CWD, path, flags, Mode::empty())?;
            let stat = fstat(&fd)?;
            let size = stat.st_size.unsigned_abs();
            Ok::<_, Errno>((fd, FileType::from_raw_mode(stat.st_mode), size))
        })?;
        let (fd, file_type, size) = match opened {
            Ok(opened) => opened,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::ACCESS | Errno::PERM) => {
                return Err(Error::input(
                    location(),
                    "permission denied: the invoking user cannot read it",
                ))
            }
            Err(Errno::NOTDIR) => {
                return Err(Error::input(
                    location(),
                    "a component of the path is not a directory",
                ))
            }
            Err(other) => return Err(Error::io(format!("reading {}", Quoted(path)), other.into())),
        };
        if file_type != FileType::RegularFile {
            return Err(Error::input(
                location(),
                format!("is a {}, not a regular file", type_word(file_type)),
            ));
        }
        let bytes = read_all(fd, size, cap.min(MAX_INPUT))
            .map_err(|e| Error::io(format!("reading {}", Quoted(path)), e))?;
        if bytes.len() as u64 > MAX_INPUT {
            return Err(Error::input(location(), "file is larger than 4 MiB"));
        }
        Ok(Some(bytes))
    }

    /// What is at live path `real` now, without following a symlink.
    pub fn inspect(&mut self, real: &str) -> Result<Existing> {
        let (dir, name) = crate::model::output::split_path(real);
        let host = self.host(real);
        let io = |e: Errno| Error::io(format!("inspecting {}", Quoted(&host)), e.into());
        let Some(dir_fd) = self.open_dir(dir, Strictness::Target, false)? else {
            return Ok(Existing::Missing);
        };
        let stat = match statat(dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::NOENT) => return Ok(Existing::Missing),
            Err(e) => return Err(io(e)),
        };
        Ok(match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => {
                // Another app's run may remove its own file (a manifest a collision check
                // reads) between the stat and the open: then it is missing, not an error.
                let fd = match openat(dir_fd, name, READ_FLAGS, Mode::empty()) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT) => return Ok(Existing::Missing),
                    Err(e) => return Err(io(e)),
                };
                let contents = read_installed(fd, stat.st_size.unsigned_abs(), MAX_INPUT)
                    .map_err(|e| Error::io(format!("reading {}", Quoted(&host)), e))?;
                Existing::File {
                    contents,
                    mode: stat.st_mode & 0o7777,
                    uid: stat.st_uid,
                    gid: stat.st_gid,
                }
            }
            FileType::Directory => Existing::Dir {
                mode: stat.st_mode & 0o7777,
                uid: stat.st_uid,
                gid: stat.st_gid,
            },
            FileType::Symlink => {
                let target = match readlinkat(dir_fd, name, Vec::new()) {
                    Ok(target) => target,
                    Err(Errno::NOENT) => return Ok(Existing::Missing),
                    Err(e) => return Err(io(e)),
                };
                Existing::Symlink {
                    target: target.to_string_lossy().into_owned(),
                }
            }
            other => Existing::Other(type_word(other)),
        })
    }

    /// The owner and mode of directory `real` (`None` when it is missing), opened and checked
    /// as a target directory, the way a write or removal in it opens it.
    pub fn dir_stat(&mut self, real: &str) -> Result<Option<DirStat>> {
        let host = self.host(real);
        let Some(fd) = self.open_dir(real, Strictness::Target, false)? else {
            return Ok(None);
        };
        let stat =
            fstat(fd).map_err(|e| Error::io(format!("checking {}", Quoted(&host)), e.into()))?;
        Ok(Some(DirStat {
            mode: stat.st_mode & 0o7777,
            uid: stat.st_uid,
            gid: stat.st_gid,
        }))
    }

    /// True when something is at live path `real`, found without opening it: a plain user may
    /// see that root has a manifest of an app (its directory is 0755) but not read it (0600).
    /// A directory on the way that this user may not search counts as nothing there.
    pub fn present(&mut self, real: &str) -> Result<bool> {
        let (dir, name) = crate::model::output::split_path(real);
        let host = self.host(real);
        let dir_fd = match self.open_dir(dir, Strictness::Target, false) {
            Ok(Some(fd)) => fd,
            Ok(None) => return Ok(false),
            Err(Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                return Ok(false)
            }
            Err(e) => return Err(e),
        };
        match statat(dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT | Errno::ACCESS) => Ok(false),
            Err(e) => Err(Error::io(format!("inspecting {}", Quoted(&host)), e.into())),
        }
    }

    /// Reads a manifest; a missing one is empty.
    pub fn read_manifest(&mut self, real: &str) -> Result<Manifest> {
        self.read_manifest_sharing(real, &Entries::default())
    }

    /// `read_manifest`, holding the paths `shared` has once (`Manifest::read_sharing`). The
    /// file is opened as `inspect` opens one and parsed as it is read, through a 64 KiB
    /// buffer: never held whole, and past `MAX_MANIFEST` refused, never read in part.
    pub fn read_manifest_sharing(&mut self, real: &str, shared: &Entries) -> Result<Manifest> {
        let (dir, name) = crate::model::output::split_path(real);
        let host = self.host(real);
        let io = |e: Errno| Error::io(format!("inspecting {}", Quoted(&host)), e.into());
        let Some(dir_fd) = self.open_dir(dir, Strictness::Target, false)? else {
            return Ok(Manifest::default());
        };
        let stat = match statat(dir_fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(Errno::NOENT) => return Ok(Manifest::default()),
            Err(e) => return Err(io(e)),
        };
        let kind = FileType::from_raw_mode(stat.st_mode);
        if kind != FileType::RegularFile {
            return Err(Error::refused_at(
                real,
                format!(
                    "manifest {} is not a regular file ({})",
                    Quoted(real),
                    type_word(kind)
                ),
            ));
        }
        // Another app's run may remove its own manifest (one a collision check reads)
        // between the stat and the open: then it is missing, not an error.
        let fd = match openat(dir_fd, name, READ_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Manifest::default()),
            Err(e) => return Err(io(e)),
        };
        let file = std::fs::File::from(fd).take(MAX_MANIFEST.saturating_add(1));
        let text = std::io::BufReader::with_capacity(64 << 10, file);
        Manifest::read_sharing(text, shared, MAX_MANIFEST).map_err(|m| {
            Error::refused_at(real, format!("manifest {} is damaged: {m}", Quoted(real)))
        })
    }

    /// The names in directory `real` (empty if it does not exist), for finding the files an
    /// older exporter left under the app's name.
    pub fn list_dir(&mut self, real: &str) -> Result<Vec<String>> {
        let host = self.host(real);
        let Some(fd) = self.open_dir(real, Strictness::Target, false)? else {
            return Ok(Vec::new());
        };
        let io = |e: Errno| Error::io(format!("listing {}", Quoted(&host)), e.into());
        let mut names = Vec::new();
        for entry in Dir::read_from(fd).map_err(io)? {
            let entry = entry.map_err(io)?;
            if let Ok(name) = entry.file_name().to_str() {
                if name != "." && name != ".." {
                    names.push(name.to_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }
}
