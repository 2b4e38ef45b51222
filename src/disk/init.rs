//! Which init runs this machine: systemd is the running init when /run/systemd/system exists,
//! a directory only a booted systemd makes (the check `sd_booted()` does).

use super::Disk;
use rustix::fs::{statat, AtFlags, FileType, CWD};

impl Disk {
    /// True when systemd is PID 1 here. Always the live system, never under `--root`.
    pub fn systemd_is_init() -> bool {
        statat(CWD, "/run/systemd/system", AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Directory)
    }
}
