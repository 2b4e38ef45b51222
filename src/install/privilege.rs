//! Who is running procexport, and the one place it takes on another user's rights.
//!
//! Through sudo, procexport is root but acts for the invoking user (SUDO_UID/SUDO_GID), who is
//! not trusted with root: flags that redirect reads or writes are refused, and the Procfile is
//! read with that user's rights so it cannot be used to read a file the user could not.

use crate::error::{Error, Result};
use rustix::process::{getegid, geteuid, getgroups, Gid, Uid};
use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};

/// The identity procexport runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invoker {
    /// Effective uid of this process.
    pub euid: u32,
    /// The invoking user's uid and gid, when root runs procexport for someone through sudo.
    pub sudo: Option<(u32, u32)>,
}

impl Invoker {
    /// Reads the effective uid and, when it is root, SUDO_UID and SUDO_GID. These are the only
    /// environment variables procexport reads. A sudo by root itself (SUDO_UID=0) is plain root.
    pub fn detect() -> Result<Self> {
        let euid = geteuid().as_raw();
        if euid != 0 {
            return Ok(Self { euid, sudo: None });
        }
        let read = |name: &str| -> Result<Option<u32>> {
            match std::env::var_os(name) {
                None => Ok(None),
                Some(value) => value
                    .to_str()
                    .and_then(|v| v.parse::<u32>().ok())
                    .map(Some)
                    .ok_or_else(|| Error::refused(format!("{name} is set but is not a number"))),
            }
        };
        let sudo = match (read("SUDO_UID")?, read("SUDO_GID")?) {
            (Some(0) | None, _) => None,
            (Some(uid), Some(gid)) => Some((uid, gid)),
            (Some(_), None) => {
                return Err(Error::refused(
                    "SUDO_UID is set but SUDO_GID is not".to_owned(),
                ))
            }
        };
        Ok(Self { euid, sudo })
    }

    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// Refuses a flag that would let the sudo'ing user choose what root reads or writes.
    pub fn refuse_through_sudo(&self, flag: &str, given: bool) -> Result<()> {
        if given && self.sudo.is_some() {
            return Err(Error::Usage(format!(
                "{flag} is refused when procexport runs through sudo: it would let the invoking \
                 user choose what root reads or writes"
            )));
        }
        Ok(())
    }

    /// Runs `read` with the invoking user's uid, gid and only their primary group, then takes
    /// root back. Without sudo, runs it as is. Only the calling thread changes identity (Linux
    /// keeps credentials per thread at the syscall level), and procexport has one thread.
    pub fn as_invoking_user<T>(&self, read: impl FnOnce() -> T) -> Result<T> {
        let Some((uid, gid)) = self.sudo else {
            return Ok(read());
        };
        as_account(uid, gid, &[gid], read)
    }
}

/// Runs `read` as uid `uid` with primary group `gid` and supplementary groups `with`, then
/// takes root back. Only the calling thread changes identity (Linux keeps credentials per
/// thread at the syscall level), and procexport runs this on its one thread.
pub fn as_account<T>(uid: u32, gid: u32, with: &[u32], read: impl FnOnce() -> T) -> Result<T> {
    let groups = getgroups().map_err(|e| Error::io("reading supplementary groups", e.into()))?;
    let root_gid = getegid();
    let drop = || -> rustix::io::Result<()> {
        let with: Vec<Gid> = with.iter().map(|g| Gid::from_raw(*g)).collect();
        set_thread_groups(&with)?;
        set_thread_res_gid(None, Gid::from_raw(gid), None)?;
        set_thread_res_uid(None, Uid::from_raw(uid), None)
    };
    let dropped = drop();
    let result = dropped.is_ok().then(read);
    // Take root back whatever happened; if that fails, stop rather than go on as the user.
    let restored = set_thread_res_uid(None, Uid::ROOT, None)
        .and_then(|()| set_thread_res_gid(None, root_gid, None))
        .and_then(|()| set_thread_groups(&groups));
    if let Err(e) = restored {
        return Err(Error::io(
            "taking back root after reading as the invoking user",
            e.into(),
        ));
    }
    dropped.map_err(|e| Error::io("taking on the invoking user's rights", e.into()))?;
    Ok(result.expect("read ran when the drop succeeded"))
}
