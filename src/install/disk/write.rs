//! Writes, all symlink-safe and atomic: each file is made as a new temp file next to its
//! target (`O_CREAT|O_EXCL|O_NOFOLLOW`), written, given owner and mode, fsync'd, and renamed
//! over the target, so a reader (or a crash) only ever sees the old file or the new one.

use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::install::manifest::{EntryKind, Manifest};
use crate::install::plan::{Ownership, Plan};
use crate::model::output::{split_path, Group, Kind, Output};
use crate::sanitize::Quoted;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{
    fchmod, fchown, fstat, fsync, mkdirat, openat, renameat, symlinkat, syncfs, unlinkat, AtFlags,
    Dir, Gid, Mode, OFlags, Uid,
};
use rustix::io::Errno;
use std::collections::BTreeSet;
use std::io::Write;

impl Disk {
    /// Writes a plan's new files: a pending manifest that covers old and new files first (so
    /// a run killed half way still knows every file it may have written), then every new
    /// file. Returns false when the plan changes nothing (and nothing was done).
    ///
    /// New files are staged as temp files, flushed to disk together (one `syncfs` per
    /// filesystem rather than one fsync per file), and only then renamed into place: a crash
    /// at any point leaves each target the old file or the whole new one.
    pub fn write_new(
        &mut self,
        plan: &Plan,
        manifest_path: &str,
        ownership: Option<Ownership>,
    ) -> Result<bool> {
        let mut dirs: BTreeSet<&str> = BTreeSet::new();
        for output in plan.writes.iter().chain(&plan.unchanged) {
            dirs.insert(split_path(&output.path).0);
        }
        for dir in dirs {
            self.remove_stale_temps(dir)?;
        }
        if !plan.changes_anything() {
            return Ok(false);
        }
        let pending = plan.old.union(&plan.new);
        if pending != plan.old {
            // Flushed by the syncfs before the renames below: the files it covers cannot be in
            // place before it is on disk.
            self.write_manifest(manifest_path, &pending, false)?;
        }
        let mut staged = Vec::new();
        for output in &plan.writes {
            match self.stage(output, ownership) {
                Ok(Some(temp)) => staged.push((output, temp)),
                Ok(None) => {}
                Err(error) => {
                    self.discard(&staged);
                    return Err(error);
                }
            }
        }
        let touched: BTreeSet<&str> = plan.writes.iter().map(|o| split_path(&o.path).0).collect();
        self.sync_filesystems(&touched)?;
        for (output, temp) in &staged {
            let (dir, name) = split_path(&output.path);
            let host = self.host(&output.path);
            let dir_fd = self.target_dir(dir)?;
            renameat(dir_fd, temp, dir_fd, name).map_err(|e| {
                Error::io(format!("renaming into place {}", Quoted(&host)), e.into())
            })?;
        }
        // The renames themselves (directory entries), made durable the same way.
        self.sync_filesystems(&touched)?;
        Ok(true)
    }

    /// Removes the plan's stale links: what enables a service goes first, so a supervisor
    /// lets go of a service before its directory is removed.
    pub fn remove_stale_links(&mut self, plan: &Plan) -> Result<()> {
        for path in stale(plan, EntryKind::Link) {
            self.remove(path, EntryKind::Link)?;
        }
        Ok(())
    }

    /// Removes the plan's stale files, then its stale directories, deepest first.
    pub fn remove_stale_files(&mut self, plan: &Plan) -> Result<()> {
        for path in stale(plan, EntryKind::File) {
            self.remove(path, EntryKind::File)?;
        }
        for path in stale(plan, EntryKind::Dir) {
            self.remove(path, EntryKind::Dir)?;
        }
        Ok(())
    }

    /// Records the plan's new manifest as final. Written again only when it differs from the
    /// pending one, which `write_new` already flushed with the renames.
    pub fn finish_manifest(&mut self, plan: &Plan, manifest_path: &str) -> Result<()> {
        let pending = plan.old.union(&plan.new);
        let pending_flushed = pending != plan.old && !plan.writes.is_empty();
        if !(pending_flushed && plan.new == pending) {
            self.write_manifest(manifest_path, &plan.new, true)?;
        }
        Ok(())
    }

    /// Writes one output: directories are made in place; files and links are made as a temp
    /// entry beside the target, whose name is returned for the rename.
    fn stage(&mut self, output: &Output, ownership: Option<Ownership>) -> Result<Option<String>> {
        let (dir, name) = split_path(&output.path);
        let host = self.host(&output.path);
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(&host)), e.into());
        let temp = self.temp_name();
        let egid = self.egid;
        let dir_fd = self.target_dir(dir)?;
        match &output.kind {
            Kind::Dir { mode, group } => {
                let made = match mkdirat(dir_fd, name, Mode::from_raw_mode(*mode)) {
                    Ok(()) => true,
                    Err(Errno::EXIST) => false,
                    Err(e) => return Err(io("creating", e)),
                };
                self.missing.clear();
                let path = output.path.clone();
                let fd = self
                    .open_dir(&path, Strictness::Target, false)?
                    .expect("just made");
                // A directory just made has its mode (the umask is 0) and this process's
                // group; one that was there already is given both.
                let gid = ownership
                    .map(|o| o.gid(*group))
                    .filter(|gid| !made || *gid != egid);
                if let Some(gid) = gid {
                    fchown(fd, Some(Uid::ROOT), Some(Gid::from_raw(gid)))
                        .map_err(|e| io("setting the owner of", e))?;
                }
                if !made {
                    fchmod(fd, Mode::from_raw_mode(*mode))
                        .map_err(|e| io("setting the mode of", e))?;
                }
                Ok(None)
            }
            Kind::File {
                contents,
                mode,
                group,
            } => {
                // A new file already has this process's group: change only a different one.
                let gid = ownership.map(|o| o.gid(*group)).filter(|gid| *gid != egid);
                write_file(dir_fd, &temp, contents.as_bytes(), *mode, gid)
                    .inspect_err(|_| {
                        let _ = unlinkat(dir_fd, &temp, AtFlags::empty());
                    })
                    .map_err(|e| io("writing", e))?;
                Ok(Some(temp))
            }
            Kind::Symlink { target } => {
                symlinkat(target, dir_fd, &temp).map_err(|e| io("linking", e))?;
                Ok(Some(temp))
            }
        }
    }

    /// Removes staged temp entries after a failure, so nothing of the run is left behind.
    fn discard(&mut self, staged: &[(&Output, String)]) {
        for (output, temp) in staged {
            let (dir, _) = split_path(&output.path);
            if let Ok(Some(fd)) = self.open_dir(dir, Strictness::Target, false) {
                let _ = unlinkat(fd, temp.as_str(), AtFlags::empty());
            }
        }
    }

    /// Flushes every filesystem the directories `dirs` are on, once each.
    fn sync_filesystems(&mut self, dirs: &BTreeSet<&str>) -> Result<()> {
        let mut synced = BTreeSet::new();
        for dir in dirs {
            let host = self.host(dir);
            let fd = self.target_dir(dir)?;
            let io = |e: Errno| Error::io(format!("syncing {}", Quoted(&host)), e.into());
            if synced.insert(fstat(fd).map_err(io)?.st_dev) {
                syncfs(fd).map_err(io)?;
            }
        }
        Ok(())
    }

    /// Removes temp files that a killed run left in `dir` (their pid is gone). A live run's
    /// temp files, another app's among them, are left alone.
    fn remove_stale_temps(&mut self, dir: &str) -> Result<()> {
        let names = self.list_dir(dir)?;
        let own = self.pid;
        let Some(fd) = self.open_dir(dir, Strictness::Target, false)? else {
            return Ok(());
        };
        for name in names {
            let pid = name
                .strip_prefix(".procexport-")
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            let Some(pid) = pid else { continue };
            if pid != own && !process_alive(pid) {
                match unlinkat(fd, name.as_str(), AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => {
                        return Err(Error::io(
                            format!("removing stale {}", Quoted(&name)),
                            e.into(),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// A name for a temp file that no live job picks up: a dot file ending in `.tmp` (Upstart
    /// reads `*.conf`, systemd unit suffixes, runsvdir skips dot entries).
    fn temp_name(&mut self) -> String {
        self.temp_counter += 1;
        format!(".procexport-{}-{}.tmp", self.pid, self.temp_counter)
    }

    fn target_dir(&mut self, dir: &str) -> Result<BorrowedFd<'_>> {
        Ok(self
            .open_dir(dir, Strictness::Target, true)?
            .expect("created when missing"))
    }

    fn sync_dir(&mut self, dir: &str) -> Result<()> {
        let host = self.host(dir);
        let fd = self.target_dir(dir)?;
        fsync(fd).map_err(|e| Error::io(format!("syncing {}", Quoted(&host)), e.into()))
    }

    fn remove(&mut self, path: &str, kind: EntryKind) -> Result<()> {
        let (dir, name) = split_path(path);
        let host = self.host(path);
        if kind == EntryKind::Dir {
            self.open.remove(&host);
            self.missing.clear();
        }
        let Some(dir_fd) = self.open_dir(dir, Strictness::Target, false)? else {
            return Ok(());
        };
        let flags = if kind == EntryKind::Dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        match unlinkat(dir_fd, name, flags) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(Errno::NOTEMPTY) => Err(Error::Refused(format!(
                "{} holds files procexport did not install; remove them by hand, then run the \
                 same command again",
                Quoted(&host)
            ))),
            Err(e) => Err(Error::io(format!("removing {}", Quoted(&host)), e.into())),
        }
    }

    /// Removes `name` from the app's directory `dir`, with what is in it: state a supervisor
    /// made there at run time (runsv's `supervise/`), which no manifest lists. By descriptor,
    /// never following a symlink: a link in its place is removed itself. Nothing deeper is
    /// expected, so a directory inside is refused rather than searched.
    pub fn remove_runtime(&mut self, dir: &str, name: &str) -> Result<()> {
        let host = format!("{}/{name}", self.host(dir));
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(&host)), e.into());
        let Some(dir_fd) = self.open_dir(dir, Strictness::Target, false)? else {
            return Ok(());
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let inner = match openat(dir_fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(Errno::LOOP | Errno::NOTDIR) => {
                return match unlinkat(dir_fd, name, AtFlags::empty()) {
                    Ok(()) | Err(Errno::NOENT) => Ok(()),
                    Err(e) => Err(io("removing", e)),
                }
            }
            Err(e) => return Err(io("opening", e)),
        };
        for entry in Dir::read_from(&inner).map_err(|e| io("listing", e))? {
            let entry = entry.map_err(|e| io("listing", e))?;
            let entry_name = entry.file_name();
            if entry_name == c"." || entry_name == c".." {
                continue;
            }
            match unlinkat(&inner, entry_name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(Errno::ISDIR) => {
                    return Err(Error::Refused(format!(
                        "{} holds a directory {}, which procexport does not remove; remove it \
                         by hand",
                        Quoted(&host),
                        Quoted(&entry_name.to_string_lossy())
                    )))
                }
                Err(e) => return Err(io("emptying", e)),
            }
        }
        match unlinkat(dir_fd, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(io("removing", e)),
        }
    }

    /// Writes (or, when empty, removes) the manifest at live path `real`; with `durable`, it is
    /// flushed to disk before this returns.
    pub fn write_manifest(&mut self, real: &str, manifest: &Manifest, durable: bool) -> Result<()> {
        if manifest.is_empty() {
            return self.remove(real, EntryKind::File);
        }
        // Root's alone: a manifest names every file of the app, its env keys among them.
        let output = Output::file(real.to_owned(), manifest.render(), 0o600, Group::Root);
        let ownership = Some(Ownership { run_gid: 0 }).filter(|_| self.euid == 0);
        let (dir, name) = split_path(real);
        let temp = self.stage(&output, ownership)?.expect("a file is staged");
        let fd = self.target_dir(dir)?;
        if durable {
            fsync_file_at(fd, &temp)?;
        }
        renameat(fd, &temp, fd, name)
            .map_err(|e| Error::io(format!("renaming into place {}", Quoted(real)), e.into()))?;
        if durable {
            self.sync_dir(dir)?;
        }
        Ok(())
    }

    /// Makes the app's log directory `<parent>/<name>` and gives that directory, and nothing
    /// in it, to the run user. Only a directory procexport makes here (or made before:
    /// `recorded`, from the app's manifest) is handed over: an existing directory of someone
    /// else's (`/var/log/apt` under an empty prefix) is refused, never given away. One that
    /// is the run user's already is left as it is. Done by descriptor: a symlink in its place
    /// is refused. Returns true when the directory is procexport's (made now, or recorded).
    pub fn ensure_log_dir(
        &mut self,
        parent: &str,
        name: &str,
        (uid, gid): (u32, u32),
        recorded: bool,
    ) -> Result<bool> {
        let path = format!("{parent}/{name}");
        let host = self.host(&path);
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(&host)), e.into());
        let euid = self.euid;
        let Some(parent_fd) = self.open_dir(parent, Strictness::LogParent, true)? else {
            unreachable!("created when missing")
        };
        let made = match mkdirat(parent_fd, name, Mode::from_raw_mode(0o750)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(io("creating", e)),
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat(parent_fd, name, flags, Mode::empty()).map_err(|e| match e {
            Errno::LOOP | Errno::NOTDIR => Error::Refused(format!(
                "log directory {} is a symlink or not a directory; refusing it",
                Quoted(&host)
            )),
            e => io("opening", e),
        })?;
        let stat = fstat(&fd).map_err(|e| io("checking", e))?;
        let ours = made || recorded;
        if stat.st_uid == uid || euid != 0 {
            return Ok(ours);
        }
        if !ours {
            return Err(Error::Refused(format!(
                "log directory {} already exists and procexport did not make it (it belongs to \
                 uid {}); procexport only gives the run user a directory it made for the app: \
                 set log_dir or prefix in the config so the app gets a directory of its own, or \
                 give this one to the run user by hand if it is the app's",
                Quoted(&host),
                stat.st_uid
            )));
        }
        if stat.st_uid != 0 {
            return Err(Error::Refused(format!(
                "log directory {} belongs to uid {}, neither root nor the run user",
                Quoted(&host),
                stat.st_uid
            )));
        }
        fchown(&fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
            .map_err(|e| io("giving the run user", e))?;
        fchmod(&fd, Mode::from_raw_mode(0o750)).map_err(|e| io("setting the mode of", e))?;
        Ok(true)
    }
}

/// The plan's stale entries of one kind, in removal order.
pub fn stale(plan: &Plan, wanted: EntryKind) -> impl Iterator<Item = &str> {
    plan.removals
        .iter()
        .filter(move |(_, kind)| *kind == wanted)
        .map(|(path, _)| path.as_str())
}

/// True when process `pid` exists (or when that cannot be told: /proc is not mounted).
fn process_alive(pid: u32) -> bool {
    let proc_mounted = rustix::fs::stat("/proc/self").is_ok();
    !proc_mounted || rustix::fs::stat(format!("/proc/{pid}")).is_ok()
}

/// Creates `temp` in `dir` exclusively with `mode`, writes it whole and, when `gid` is given,
/// gives it that group; the caller flushes it.
fn write_file(
    dir: BorrowedFd<'_>,
    temp: &str,
    contents: &[u8],
    mode: u32,
    gid: Option<u32>,
) -> rustix::io::Result<()> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // Made with its final mode (the umask is 0, see `Disk::new`) and this process's group,
    // root's when root runs it: never more open than the file it becomes.
    let fd = openat(dir, temp, flags, Mode::from_raw_mode(mode))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(contents)
        .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
    if let Some(gid) = gid {
        fchown(file.as_fd(), Some(Uid::ROOT), Some(Gid::from_raw(gid)))?;
    }
    Ok(())
}

/// Flushes one file (the manifest, written on its own) before it is renamed into place.
fn fsync_file_at(dir: BorrowedFd<'_>, name: &str) -> Result<()> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = openat(dir, name, flags, Mode::empty())
        .map_err(|e| Error::io(format!("opening {}", Quoted(name)), e.into()))?;
    fsync(&fd).map_err(|e| Error::io(format!("syncing {}", Quoted(name)), e.into()))
}
