//! Which init runs this machine: systemd is the running init when /run/systemd/system exists,
//! a directory only a booted systemd makes (the check `sd_booted()` does).

use crate::install::disk::Disk;

/// True when systemd is PID 1 here. Always the live system, never under `--root`.
pub fn systemd_is_init() -> bool {
    Disk::live_dir_exists("/run/systemd/system")
}
