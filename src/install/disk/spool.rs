//! The spool: where a large app's rendered files wait between the render and their writes,
//! so that the export holds only a bounded part of them in memory and renders the app once.
//!
//! It is an unnamed file (`O_TMPFILE | O_EXCL`, mode 0600) in `/var/tmp`, or in `/tmp` where
//! that fails: no other user can open it, nothing can give it a name, and it is gone when
//! procexport exits, however it exits. Its pages are dropped (`discard`) before the export
//! flushes: a `syncfs` of the same filesystem would otherwise write them to the disk for
//! nothing.

use rustix::fs::{ftruncate, openat, Mode, OFlags, CWD};
use std::fs::File;
use std::os::unix::fs::FileExt;

/// The directories tried, in order: `/var/tmp` is on a disk where `/tmp` may be memory.
const PLACES: [&str; 2] = ["/var/tmp", "/tmp"];

/// What the spool gathers in memory before it writes: one call per 64 KiB, not per file.
const CHUNK: usize = 64 << 10;

/// An unnamed scratch file, written once (`push`, then `finish`) and read back by offset.
#[derive(Debug)]
pub struct Spool {
    file: File,
    /// Bytes written to the file.
    written: u64,
    /// Bytes pushed and not yet written, which follow `written`.
    pending: Vec<u8>,
}

impl Spool {
    /// A new, empty spool; `None` when no place takes one (no `O_TMPFILE` there): the
    /// caller then keeps every file in memory.
    pub fn open() -> Option<Self> {
        let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::EXCL | OFlags::CLOEXEC;
        PLACES.iter().find_map(|place| {
            let fd = openat(CWD, *place, flags, Mode::RUSR | Mode::WUSR).ok()?;
            Some(Self {
                file: File::from(fd),
                written: 0,
                pending: Vec::new(),
            })
        })
    }

    /// Where the next bytes pushed will start.
    pub fn end(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    /// Appends `bytes`; returns where they start.
    pub fn push(&mut self, bytes: &[u8]) -> std::io::Result<u64> {
        let at = self.end();
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= CHUNK {
            self.finish()?;
        }
        Ok(at)
    }

    /// Writes what was pushed: before the first `read`.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.file.write_all_at(&self.pending, self.written)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Reads the `len` bytes pushed at `at` into `into` (replacing what it held); `finish`
    /// came first.
    pub fn read(&self, at: u64, len: usize, into: &mut Vec<u8>) -> std::io::Result<()> {
        into.clear();
        into.resize(len, 0);
        self.file.read_exact_at(into, at)
    }

    /// Drops every page of it, unwritten: once its files are staged it is not read again.
    pub fn discard(&self) -> std::io::Result<()> {
        ftruncate(&self.file, 0).map_err(std::io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_pushed_is_read_back_at_its_place() {
        let mut spool = Spool::open().expect("/var/tmp or /tmp takes an O_TMPFILE");
        let first = spool.push(b"first file\n").unwrap();
        let second = spool.push(b"second\n").unwrap();
        assert_eq!((first, second), (0, 11));
        spool.finish().unwrap();
        let mut bytes = Vec::new();
        spool.read(second, 7, &mut bytes).unwrap();
        assert_eq!(bytes, b"second\n");
        spool.read(first, 11, &mut bytes).unwrap();
        assert_eq!(bytes, b"first file\n");
        spool.discard().unwrap();
        assert!(spool.read(first, 11, &mut bytes).is_err(), "discarded");
    }

    /// The spool holds env values (secrets): no path names it, none can be made for it
    /// (`O_EXCL`), and only its owner could open it through /proc.
    #[test]
    fn the_spool_has_no_name_and_can_never_be_given_one() {
        use std::os::fd::AsRawFd;
        let spool = Spool::open().expect("/var/tmp or /tmp takes an O_TMPFILE");
        let stat = rustix::fs::fstat(&spool.file).unwrap();
        assert_eq!(stat.st_mode & 0o7777, 0o600);
        assert_eq!(stat.st_nlink, 0, "no directory entry");
        let dir = tempfile::tempdir().unwrap();
        let fd_path = format!("/proc/self/fd/{}", spool.file.as_raw_fd());
        let linked = rustix::fs::linkat(
            CWD,
            fd_path.as_str(),
            CWD,
            dir.path().join("spool"),
            rustix::fs::AtFlags::SYMLINK_FOLLOW,
        );
        assert!(
            linked.is_err(),
            "an O_TMPFILE made with O_EXCL cannot be linked"
        );
        assert!(!dir.path().join("spool").exists());
    }
}
