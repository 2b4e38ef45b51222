//! The run record: what an app's lock file says of the runs before this one, so that a run
//! looks for the temp files a killed run left (`remove_stale_temps`, a listing of every
//! directory the app writes to) only when one may have been left.
//!
//! The lock file holds one line, `clean <boot id> <backend>...`: since that boot, every run of
//! those backends for the app ended with none of its temp files left. A run that is about to
//! make temp files first spoils the line (`-` over its first byte), and writes it again, with
//! its backend added, once it has ended well (done, or rolled back with its temp files
//! removed). A run killed in between leaves the line spoilt,
//! and a crash or power loss changes the boot id, whatever reached the disk: either way the
//! next run looks. Anything else in the file (it is empty when first made) means "look".
//!
//! The file is root's (the state directory's rules), so only who could remove the temp files
//! anyway can make a run skip the look.

use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{ftruncate, openat, Mode, OFlags, CWD};
use rustix::io::{pread, pwrite, read, Errno};
use std::cell::OnceCell;

/// Where the kernel says which boot this is: a new random id at every boot.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The longest record read: one line naming every backend fits well within it.
const MAX_RECORD: usize = 512;

/// What the lock file said when the lock was taken, and what this run did to it.
#[derive(Debug, Default)]
pub struct Record {
    /// This boot's id, once read (`None` where /proc cannot tell it: every run then looks).
    boot: OnceCell<Option<String>>,
    /// The backends the file named clean, when its boot is this one.
    clean: Vec<String>,
    /// The file's length as read or last written.
    len: u64,
    /// True once this run spoilt the line.
    spoilt: bool,
}

impl Record {
    /// Reads the record from the lock file `fd`, once the lock is held.
    pub fn read(fd: BorrowedFd<'_>) -> Self {
        let mut bytes = [0u8; MAX_RECORD];
        let len = pread(fd, &mut bytes, 0).unwrap_or(0);
        let mut record = Self {
            len: len as u64,
            ..Self::default()
        };
        let text = std::str::from_utf8(&bytes[..len]).unwrap_or("");
        let Some(line) = text
            .strip_prefix("clean ")
            .and_then(|t| t.strip_suffix('\n'))
        else {
            return record;
        };
        let mut words = line.split(' ');
        let boot = words.next();
        if boot.is_some() && boot == record.boot_id() {
            record.clean = words.map(str::to_owned).collect();
        }
        record
    }

    /// True unless every run of `backend` since this boot ended with its temp files gone.
    pub fn temps_may_remain(&self, backend: &str) -> bool {
        !self.clean.iter().any(|b| b == backend)
    }

    /// Spoils the line before this run makes its first temp file: were it killed, the next
    /// run would look. A line already spoilt (or never written) is left as it is.
    pub fn spoil(&mut self, fd: BorrowedFd<'_>) -> std::io::Result<()> {
        if self.spoilt || self.len == 0 {
            return Ok(());
        }
        pwrite(fd, b"-", 0)?;
        self.spoilt = true;
        Ok(())
    }

    /// Writes the line again, with `backend` clean, once this run ended with none of its temp
    /// files left (and any a killed run left removed).
    pub fn ended_clean(&mut self, fd: BorrowedFd<'_>, backend: &str) -> std::io::Result<()> {
        if !self.spoilt && !self.temps_may_remain(backend) {
            return Ok(());
        }
        let Some(boot) = self.boot_id().map(str::to_owned) else {
            return Ok(());
        };
        if self.temps_may_remain(backend) {
            self.clean.push(backend.to_owned());
        }
        let mut line = format!("clean {boot}");
        for clean in &self.clean {
            line.push(' ');
            line.push_str(clean);
        }
        line.push('\n');
        write_all_at(fd.as_fd(), line.as_bytes())?;
        let len = line.len() as u64;
        if len < self.len {
            ftruncate(fd, len)?;
        }
        self.len = len;
        self.spoilt = false;
        Ok(())
    }

    /// This boot's id, read once.
    fn boot_id(&self) -> Option<&str> {
        self.boot.get_or_init(read_boot_id).as_deref()
    }
}

/// Writes all of `bytes` at offset 0 of `fd`.
fn write_all_at(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> std::io::Result<()> {
    let mut at = 0;
    while !bytes.is_empty() {
        match pwrite(fd, bytes, at) {
            Ok(0) => return Err(Errno::IO.into()),
            Ok(n) => {
                bytes = &bytes[n..];
                at += n as u64;
            }
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The kernel's id of this boot: 36 characters of hex digits and dashes, or `None`.
fn read_boot_id() -> Option<String> {
    let fd = openat(
        CWD,
        BOOT_ID,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut bytes = [0u8; 64];
    let len = read(&fd, &mut bytes).ok()?;
    let id = std::str::from_utf8(&bytes[..len]).ok()?.trim_end();
    let well_formed = id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    well_formed.then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fd::AsFd;

    fn file() -> std::fs::File {
        tempfile::tempfile().unwrap()
    }

    fn text(f: &std::fs::File) -> String {
        let mut bytes = [0u8; MAX_RECORD];
        let len = pread(f, &mut bytes, 0).unwrap();
        String::from_utf8(bytes[..len].to_vec()).unwrap()
    }

    /// A new lock file means "look"; a run that ended well says it need not, for its own
    /// backend only; one that spoilt the line and stopped (killed) makes every backend look.
    #[test]
    fn only_a_run_that_ended_well_lets_the_next_skip_the_look() {
        let f = file();
        let mut record = Record::read(f.as_fd());
        assert!(
            record.temps_may_remain("runit"),
            "an empty file says nothing"
        );
        record.spoil(f.as_fd()).unwrap();
        record.ended_clean(f.as_fd(), "runit").unwrap();
        let boot = read_boot_id().expect("/proc tells the boot id");
        assert_eq!(text(&f), format!("clean {boot} runit\n"));
        let mut record = Record::read(f.as_fd());
        assert!(!record.temps_may_remain("runit"));
        assert!(
            record.temps_may_remain("upstart"),
            "another backend still looks"
        );
        record.spoil(f.as_fd()).unwrap();
        assert!(
            Record::read(f.as_fd()).temps_may_remain("runit"),
            "a run killed after spoiling the line makes the next one look"
        );
        record.ended_clean(f.as_fd(), "upstart").unwrap();
        assert_eq!(text(&f), format!("clean {boot} runit upstart\n"));
    }

    /// A line from another boot (a crash came between) is no proof: the next run looks, and
    /// its own line drops the backends the old one named.
    #[test]
    fn a_line_from_another_boot_proves_nothing() {
        let f = file();
        let other = "00000000-0000-4000-8000-000000000000";
        write_all_at(
            f.as_fd(),
            format!("clean {other} runit upstart systemd\n").as_bytes(),
        )
        .unwrap();
        let mut record = Record::read(f.as_fd());
        assert!(record.temps_may_remain("runit"));
        record.spoil(f.as_fd()).unwrap();
        record.ended_clean(f.as_fd(), "runit").unwrap();
        let boot = read_boot_id().unwrap();
        assert_eq!(text(&f), format!("clean {boot} runit\n"), "shortened");
    }
}
