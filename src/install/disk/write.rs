//! Writes, all symlink-safe and atomic: each file is made as a new temp file next to its
//! target (`O_CREAT|O_EXCL|O_NOFOLLOW`), written, given owner and mode, flushed, and renamed
//! over the target, so a reader (or a crash) only ever sees the old file or the new one. A
//! directory that is not there yet is made under a temp name, filled (its files straight under
//! their own names), flushed, and renamed into place once: a reader sees no directory or the
//! whole one, and a runit service directory costs one rename, not one per file.
//!
//! The files, and after the renames the directories, are flushed the cheaper of two ways for
//! the run (`flush::Scheme`): each fsync'd, from several threads, or their filesystem flushed
//! whole with one `syncfs` when little else is dirty there.
//!
//! What a crash guarantees: when `write_new` returns `Done`, every
//! new file's data, mode and owner, every rename and every directory made are on stable
//! storage (both calls return only once the device has flushed its cache, and report a
//! writeback error); before the first rename, each target is the old file or missing; a
//! crash between the renames leaves each target the old file or the whole new one, never a
//! torn file, and the pending manifest (durable before the first rename) lists every path
//! the run may have written, so the next export or clean finds them.

use super::flush::{Flush, Scheme};
use super::spool::Spool;
use super::{Disk, Strictness};
use crate::error::{Error, Result};
use crate::install::manifest::{EntryKind, Manifest};
use crate::install::plan::{Existing, Ownership, Plan};
use crate::model::contents::Contents;
use crate::model::output::{split_path, Group, Kind, Output};
use crate::sanitize::Quoted;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{
    fadvise, fchmod, fchown, fstat, fsync, mkdirat, openat, renameat, renameat_with, symlinkat,
    unlinkat, Advice, AtFlags, Dir, Gid, Mode, OFlags, RenameFlags, Uid,
};
use rustix::io::{fcntl_dupfd_cloexec, Errno};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Disk {
    /// Writes a plan's new files: a pending manifest that covers old and new files first (so
    /// a run killed half way still knows every file it may have written), then every new
    /// file.
    ///
    /// New files are staged as temp files (each file's writeback started as soon as it is
    /// written), fsync'd together from several threads, and only then renamed into place: a
    /// crash at any point leaves each target the old file or the whole new one. The touched
    /// directories are fsync'd the same way after the renames, before this returns.
    ///
    /// The files whose contents wait in the plan's spool (`Contents::Spooled`) are read back
    /// from it, and checked, as they are staged; once every file is staged, the spool's pages
    /// are dropped before anything is flushed.
    ///
    /// `stop` is asked before each file is staged and once more before the first rename (the
    /// commit point): when it says yes, what was staged is undone (`roll_back`) and nothing
    /// of the installed set has changed. Once the renames have begun they all run.
    ///
    /// With `look`, the temp files a killed run left in the app's directories go first.
    pub fn write_new(
        &mut self,
        plan: &Plan,
        manifest_path: &str,
        ownership: Option<Ownership>,
        look: bool,
        stop: &dyn Fn() -> bool,
    ) -> Result<Written> {
        if look {
            let mut dirs: BTreeSet<&str> = BTreeSet::new();
            for output in plan.writes.iter().chain(&plan.unchanged) {
                dirs.insert(split_path(&output.path).0);
            }
            for dir in dirs {
                self.remove_stale_temps(dir)?;
            }
        }
        if !plan.changes_anything() {
            return self.flush_made_log_dir().map(|()| Written::Nothing);
        }
        if stop() {
            return Ok(Written::RolledBack);
        }
        // Everything fsync'd before the first rename: the staged files, the pending manifest
        // (when it changed) with its directory, and every directory made on the way. A batch
        // that fills up is flushed early.
        let spooled = plan.spool.as_ref().map_or(0, Spool::end);
        let mut flush = Flush::new(Scheme::for_writes(plan.writes.len(), spooled));
        let mut early = BTreeSet::new();
        let mut undo = Undo {
            manifest: !plan.old.union_is(&plan.new, &plan.old),
            ..Undo::default()
        };
        if undo.manifest {
            let text = |out: &mut File| plan.old.write_union(&plan.new, out);
            let fd = self.write_manifest_at(manifest_path, &text)?;
            flush.push(fd, self.host(manifest_path))?;
            early.insert(split_path(manifest_path).0);
        }
        let mut staged = Vec::with_capacity(plan.writes.len());
        let mut trees = Trees::default();
        let staging = self.stage_all(
            plan,
            ownership,
            stop,
            (&mut staged, &mut trees),
            &mut flush,
            &mut undo,
        );
        let discarded = match &plan.spool {
            Some(spool) => spool
                .discard()
                .map_err(|e| Error::io("emptying the spool".to_owned(), e)),
            None => Ok(()),
        };
        match staging.and_then(|go| discarded.map(|()| go)) {
            Ok(true) => {}
            Ok(false) => {
                self.roll_back(plan, manifest_path, &staged, &undo)?;
                return Ok(Written::RolledBack);
            }
            Err(error) => {
                self.discard(plan, &staged);
                return Err(error);
            }
        }
        // The directories the renames go into are fsync'd after them; the others whose
        // entries may have changed (those made, those above) are done changing now.
        // Inserted one by one: `collect` would hold every write's directory and a sort's
        // scratch copy first (tens of thousands for a large app, a few thousand distinct).
        // What went into a new directory made under a temp name is flushed already (by `flush`,
        // before the renames): only the directory the rename puts it in changes.
        let mut touched: BTreeSet<&str> = BTreeSet::new();
        for output in plan.writes.iter().filter(|o| !trees.holds(&o.path)) {
            touched.insert(split_path(&output.path).0);
        }
        let made = plan.writes.iter().filter(|o| {
            matches!(o.kind, Kind::Dir { .. })
                && !trees.holds(&o.path)
                && !trees.tops.contains_key(&*o.path)
        });
        early.extend(made.map(|o| &*o.path));
        early.retain(|dir| !touched.contains(dir));
        let flushed = self
            .flush_trees(&mut flush, &trees.dirs)
            .and_then(|()| self.flush_dirs(&mut flush, &early, &touched));
        if let Err(error) = flushed.and_then(|()| flush.run()) {
            self.discard(plan, &staged);
            return Err(error);
        }
        // The commit point: the last moment the change can be undone.
        if stop() {
            self.roll_back(plan, manifest_path, &staged, &undo)?;
            return Ok(Written::RolledBack);
        }
        self.rename_staged(plan, &staged, &touched, flush)?;
        Ok(Written::Done)
    }

    /// A plan that changes nothing: only a log directory made just now can need flushing.
    fn flush_made_log_dir(&mut self) -> Result<()> {
        let mut flush = Flush::new(Scheme::EachFile);
        if !self.unflushed.is_empty() {
            self.flush_dirs(&mut flush, &BTreeSet::new(), &BTreeSet::new())?;
            self.unflushed.clear();
        }
        flush.run()
    }

    /// Past the commit point: renames each staged file into place, then fsyncs the
    /// directories the renames went into (`touched`).
    fn rename_staged(
        &mut self,
        plan: &Plan,
        staged: &[(u32, Temp)],
        touched: &BTreeSet<&str>,
        mut flush: Flush,
    ) -> Result<()> {
        for (at, temp) in staged {
            let output = &plan.writes[*at as usize];
            let (dir, name) = split_path(&output.path);
            let host = self.host(&output.path);
            let temp = self.temp_file(*temp);
            let dir_fd = self.target_dir(dir)?;
            let renamed = if matches!(output.kind, Kind::Dir { .. }) {
                // A tree: its place was empty when planned, and is not taken over now.
                renameat_with(dir_fd, &temp, dir_fd, name, RenameFlags::NOREPLACE)
            } else {
                renameat(dir_fd, &temp, dir_fd, name)
            };
            renamed.map_err(|e| {
                Error::io(format!("renaming into place {}", Quoted(&host)), e.into())
            })?;
            if matches!(output.kind, Kind::Dir { .. }) {
                // Its directories were cached by their temp paths.
                let (dir, _) = split_path(&output.path);
                self.forget_dirs(&format!("{}/{temp}", self.host(dir)));
            }
        }
        // The renames: entries of the touched directories (with `Scheme::Filesystem`, on the
        // filesystems `flush` holds already).
        if flush.scheme() == Scheme::EachFile {
            for dir in touched {
                let fd = self.dup_dir(dir)?;
                flush.push(fd, self.host(dir))?;
            }
        }
        flush.run()?;
        self.unflushed.clear();
        Ok(())
    }

    /// Stages the plan's outputs, in order (directories first), the spooled files read back
    /// as they come, adding them to `staged`, `flush` and `undo`; false when `stop` said to
    /// stop.
    ///
    /// A directory that is not there yet is made whole under a temp name (`Trees`): what goes
    /// in it is written straight under its own name, and the one rename of the directory puts
    /// all of it in place at once (a runit service directory: one rename, not one per file).
    fn stage_all<'p>(
        &mut self,
        plan: &'p Plan,
        ownership: Option<Ownership>,
        stop: &dyn Fn() -> bool,
        (staged, trees): (&mut Vec<(u32, Temp)>, &mut Trees<'p>),
        flush: &mut Flush,
        undo: &mut Undo<'p>,
    ) -> Result<bool> {
        let mut covered = String::new();
        let mut spooled = Vec::new();
        for at in write_order(&plan.writes)? {
            let output = &plan.writes[at as usize];
            if stop() {
                return Ok(false);
            }
            let bytes = match &output.kind {
                Kind::File {
                    contents: Contents::Spooled(digest),
                    ..
                } => {
                    plan.spooled(*digest, &mut spooled)?;
                    spooled.as_slice()
                }
                Kind::File {
                    contents: Contents::Kept(text),
                    ..
                } => text.as_bytes(),
                Kind::Dir { .. } | Kind::Symlink { .. } => &[],
            };
            let fill = |out: &mut File| out.write_all(bytes);
            let inside = trees.staged_path(&output.path, |temp| self.temp_file(temp));
            let new_tree = inside.is_none()
                && matches!(output.kind, Kind::Dir { mode, .. } if mode & 0o022 == 0)
                && !plan.before.contains_key(&output.path);
            let placement = match inside {
                Some(path) => Placement::InTree(path),
                None if new_tree => Placement::NewTree(self.temp_name()),
                None => Placement::Replace,
            };
            if matches!(placement, Placement::Replace) && matches!(output.kind, Kind::Dir { .. }) {
                undo.dirs.push(output);
            }
            let made = match self.stage(output, &placement, &fill, ownership, flush.scheme()) {
                Ok(made) => made,
                Err(error) => {
                    if let Placement::NewTree(temp) = placement {
                        // Whatever of it was made goes with the rest (`discard`).
                        staged.push((at, temp));
                    }
                    return Err(error);
                }
            };
            if let Some(temp) = made.temp {
                staged.push((at, temp));
                if let Placement::NewTree(_) = placement {
                    trees.tops.insert(&output.path, temp);
                }
            }
            if let Some(fd) = made.fd {
                flush.push(fd, self.host(&output.path))?;
            }
            // A tree is on its top's filesystem (a directory just made is no mount point),
            // which was covered when the top was made.
            if !matches!(placement, Placement::InTree(_)) {
                self.cover(flush, split_path(&output.path).0, &mut covered)?;
            }
            // With `Scheme::EachFile`, a tree's directories are fsync'd once all of it is made,
            // before the renames (`write_new`): by their paths through the temp name.
            if flush.scheme() == Scheme::EachFile && matches!(output.kind, Kind::Dir { .. }) {
                match placement {
                    Placement::InTree(path) => trees.dirs.push(path),
                    Placement::NewTree(temp) => trees.dirs.push(format!(
                        "{}/{}",
                        split_path(&output.path).0,
                        self.temp_file(temp)
                    )),
                    Placement::Replace => {}
                }
            }
        }
        Ok(true)
    }

    /// Undoes `write_new` before its commit point: removes the staged temp files and the
    /// directories it made (deepest first), puts back the mode and owner of those it changed,
    /// and records the old manifest again, so the installed set is exactly as it was.
    fn roll_back(
        &mut self,
        plan: &Plan,
        manifest_path: &str,
        staged: &[(u32, Temp)],
        undo: &Undo,
    ) -> Result<()> {
        self.discard(plan, staged);
        for output in undo.dirs.iter().rev() {
            match plan.before.get(&output.path) {
                Some(Existing::Dir { mode, uid, gid }) => {
                    let host = self.host(&output.path);
                    let io = |what: &str, e: Errno| {
                        Error::io(format!("{what} {}", Quoted(&host)), e.into())
                    };
                    let path = output.path.clone();
                    if let Some(fd) = self.open_dir(&path, Strictness::Target, false)? {
                        fchown(fd, Some(Uid::from_raw(*uid)), Some(Gid::from_raw(*gid)))
                            .map_err(|e| io("restoring the owner of", e))?;
                        fchmod(fd, Mode::from_raw_mode(*mode & 0o7777))
                            .map_err(|e| io("restoring the mode of", e))?;
                    }
                }
                // Missing before: this run made it.
                None => self.remove(&output.path, EntryKind::Dir)?,
                // The plan refuses anything else where a directory goes.
                Some(_) => {}
            }
        }
        if undo.manifest {
            self.write_manifest(manifest_path, &plan.old, true)?;
        }
        Ok(())
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
        let pending_flushed = !plan.old.union_is(&plan.new, &plan.old) && !plan.writes.is_empty();
        if !(pending_flushed && plan.old.union_is(&plan.new, &plan.new)) {
            self.write_manifest(manifest_path, &plan.new, true)?;
        }
        Ok(())
    }

    /// With `Scheme::Filesystem`, adds the filesystem of the directory `dir` (one a write just
    /// went into) to `flush`, once: `last` is the directory covered last, and writes come
    /// directory by directory (`write_order`).
    fn cover(&mut self, flush: &mut Flush, dir: &str, last: &mut String) -> Result<()> {
        if flush.scheme() != Scheme::Filesystem || last == dir {
            return Ok(());
        }
        dir.clone_into(last);
        let host = self.host(dir);
        let fd = self.target_dir(dir)?;
        let device = fstat(fd)
            .map_err(|e| Error::io(format!("checking {}", Quoted(&host)), e.into()))?
            .st_dev;
        if !flush.covers(device) {
            let fd = fcntl_dupfd_cloexec(fd, 0)
                .map_err(|e| Error::io(format!("opening {}", Quoted(&host)), e.into()))?;
            flush.push(fd, host)?;
        }
        Ok(())
    }

    /// Writes one output where `placement` says: directories are made in place (a new one
    /// that starts a tree under a temp name); files and links are made as a temp entry beside
    /// the target, or, inside a tree, under their own name. Gives the temp entry to rename
    /// (if any) and, for a file and `Scheme::EachFile`, its descriptor, writeback started,
    /// to fsync before the renames.
    fn stage(
        &mut self,
        output: &Output,
        placement: &Placement,
        fill: &Fill,
        ownership: Option<Ownership>,
        scheme: Scheme,
    ) -> Result<Made> {
        let host = self.host(&output.path);
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(&host)), e.into());
        let each_file = scheme == Scheme::EachFile;
        let (temp_id, at) = match placement {
            Placement::Replace => (Some(self.temp_name()), output.path.to_string()),
            Placement::NewTree(temp) => {
                let at = format!("{}/{}", split_path(&output.path).0, self.temp_file(*temp));
                (Some(*temp), at)
            }
            Placement::InTree(path) => (None, path.clone()),
        };
        let (dir, own_name) = split_path(&at);
        let temp = temp_id.map(|t| self.temp_file(t));
        let egid = self.egid;
        let dir_fd = self.target_dir(dir)?;
        match &output.kind {
            Kind::Dir { mode, group } => {
                // A replaced directory is changed in place; a tree's top is made under its
                // temp name, and must not be there yet.
                let name = match placement {
                    Placement::NewTree(_) => temp.as_deref().expect("named above"),
                    Placement::Replace | Placement::InTree(_) => own_name,
                };
                let made = match mkdirat(dir_fd, name, Mode::from_raw_mode(*mode)) {
                    Ok(()) => true,
                    Err(Errno::EXIST) if matches!(placement, Placement::Replace) => false,
                    Err(e) => return Err(io("creating", e)),
                };
                let path = match placement {
                    Placement::NewTree(_) => format!("{dir}/{name}"),
                    Placement::Replace | Placement::InTree(_) => at.clone(),
                };
                // One this run just made, in a directory only root (or this user) can write,
                // is this user's with the mode asked for: it passes the checks of a target
                // without another stat, unless that mode is open to group or others.
                let opened = if made && *mode & 0o022 == 0 {
                    let fd = openat(dir_fd, name, DIR_FLAGS, Mode::empty())
                        .map_err(|e| io("opening", e))?;
                    Some(fd)
                } else {
                    None
                };
                self.missing.clear();
                if let Some(fd) = opened {
                    self.remember_dir(self.host(&path), fd, Some(Strictness::Target));
                }
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
                Ok(Made {
                    temp: temp_id.filter(|_| matches!(placement, Placement::NewTree(_))),
                    fd: None,
                })
            }
            Kind::File { mode, group, .. } => {
                // A new file already has this process's group: change only a different one.
                let gid = ownership.map(|o| o.gid(*group)).filter(|gid| *gid != egid);
                let name = temp.as_deref().unwrap_or(own_name);
                let fd = write_file(dir_fd, name, fill, *mode, gid, each_file)
                    .inspect_err(|_| {
                        let _ = unlinkat(dir_fd, name, AtFlags::empty());
                    })
                    .map_err(|e| io("writing", e))?;
                // With `Scheme::Filesystem` it is closed here: its filesystem is flushed whole.
                Ok(Made {
                    temp: temp_id,
                    fd: each_file.then_some(fd),
                })
            }
            Kind::Symlink { target } => {
                let name = temp.as_deref().unwrap_or(own_name);
                symlinkat(target, dir_fd, name).map_err(|e| io("linking", e))?;
                Ok(Made {
                    temp: temp_id,
                    fd: None,
                })
            }
        }
    }

    /// Removes staged temp entries after a failure, so nothing of the run is left behind: a
    /// tree made under a temp name goes with everything in it.
    fn discard(&mut self, plan: &Plan, staged: &[(u32, Temp)]) {
        for (at, temp) in staged {
            let output = &plan.writes[*at as usize];
            let (dir, _) = split_path(&output.path);
            let temp = self.temp_file(*temp);
            let tree = matches!(output.kind, Kind::Dir { .. });
            if tree {
                self.forget_dirs(&format!("{}/{temp}", self.host(dir)));
            }
            if let Ok(Some(fd)) = self.open_dir(dir, Strictness::Target, false) {
                if tree {
                    let _ = remove_tree(fd, &temp, TREE_DEPTH);
                } else {
                    let _ = unlinkat(fd, temp.as_str(), AtFlags::empty());
                }
            }
        }
    }

    /// Adds to `flush` the directories of the trees made under temp names (`Trees::dirs`),
    /// now that everything in them is made.
    fn flush_trees(&mut self, flush: &mut Flush, dirs: &[String]) -> Result<()> {
        for dir in dirs {
            let fd = self.dup_dir(dir)?;
            flush.push(fd, self.host(dir))?;
        }
        Ok(())
    }

    /// A descriptor of its own for the directory at live path `dir`, to fsync.
    fn dup_dir(&mut self, dir: &str) -> Result<OwnedFd> {
        let host = self.host(dir);
        let fd = self.target_dir(dir)?;
        fcntl_dupfd_cloexec(fd, 0)
            .map_err(|e| Error::io(format!("opening {}", Quoted(&host)), e.into()))
    }

    /// Adds to `flush` the install directories `dirs` (live paths), and every directory above
    /// them, above `later` (flushed by the caller) and above the log directory made before
    /// `apply`, and with `--root` above the root (on its filesystem): this run may have made
    /// any of those. The ones above are only ever fsync'd, never written into, so they are
    /// opened by path, without the checks of a directory files go into (`/tmp` above a root
    /// is writable by all, the log directory is the run user's); one that cannot be opened
    /// was not made by this run.
    fn flush_dirs(
        &mut self,
        flush: &mut Flush,
        dirs: &BTreeSet<&str>,
        later: &BTreeSet<&str>,
    ) -> Result<()> {
        // With `Scheme::Filesystem`, each of `dirs` was made in a directory a write went into
        // (`cover`), so its filesystem is one `flush` holds already.
        if flush.scheme() == Scheme::EachFile {
            for dir in dirs {
                let fd = self.dup_dir(dir)?;
                flush.push(fd, self.host(dir))?;
            }
        }
        let made_before = self.unflushed.iter().map(String::as_str);
        let all = with_ancestors(dirs.iter().chain(later).copied().chain(made_before));
        let above: BTreeSet<String> = all
            .iter()
            .filter(|dir| !dirs.contains(*dir) && !later.contains(*dir))
            .map(|dir| self.host(dir))
            .collect();
        for host in above {
            if !flush.covers_path(&host) {
                if let Ok(fd) = rustix::fs::open(host.as_str(), DIR_FLAGS, Mode::empty()) {
                    flush.push(fd, host)?;
                }
            }
        }
        // Above the root, only those on the root's filesystem: a directory on another one
        // (the mount point's side) got no entry from this run, and an fsync there would wait
        // for a commit of that filesystem's journal for nothing.
        let Some(root) = self.root.clone() else {
            return Ok(());
        };
        let root_dev = fstat(self.target_dir("/")?).map(|stat| stat.st_dev);
        for dir in root
            .ancestors()
            .skip(1)
            .filter(|dir| !dir.as_str().is_empty())
        {
            if flush.covers_path(dir.as_str()) {
                continue;
            }
            let Ok(fd) = rustix::fs::open(dir.as_str(), DIR_FLAGS, Mode::empty()) else {
                continue;
            };
            if fstat(&fd).map(|stat| stat.st_dev) == root_dev {
                flush.push(fd, dir.to_string())?;
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
                let removed = match unlinkat(fd, name.as_str(), AtFlags::empty()) {
                    // A tree made under a temp name, whose rename never came.
                    Err(Errno::ISDIR) => remove_tree(fd, &name, TREE_DEPTH),
                    other => other,
                };
                match removed {
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
    fn temp_name(&mut self) -> Temp {
        self.temp_counter += 1;
        Temp(self.temp_counter)
    }

    /// The file name of temp entry `temp` (only its number is kept while an export runs).
    fn temp_file(&self, temp: Temp) -> String {
        format!(".procexport-{}-{}.tmp", self.pid, temp.0)
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
            Err(Errno::NOTEMPTY) => Err(Error::refused_at(
                &host,
                format!(
                    "{} holds files procexport did not install; remove them by hand, then run the \
                 same command again",
                    Quoted(&host)
                ),
            )),
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
                    return Err(Error::refused_at(
                        &host,
                        format!(
                            "{} holds a directory {}, which procexport does not remove; remove it \
                         by hand",
                            Quoted(&host),
                            Quoted(&entry_name.to_string_lossy())
                        ),
                    ))
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
        let (dir, name) = split_path(real);
        let (temp, fd) = self.stage_manifest(real, &|out: &mut File| manifest.write(out))?;
        if durable {
            fsync(&fd).map_err(|e| Error::io(format!("syncing {}", Quoted(real)), e.into()))?;
        }
        let dir_fd = self.target_dir(dir)?;
        renameat(dir_fd, &temp, dir_fd, name)
            .map_err(|e| Error::io(format!("renaming into place {}", Quoted(real)), e.into()))?;
        if durable {
            self.sync_dir(dir)?;
        }
        Ok(())
    }

    /// Puts a (non-empty) manifest in place at live path `real` without flushing it, and
    /// returns its descriptor for the caller to fsync.
    fn write_manifest_at(&mut self, real: &str, text: &Fill) -> Result<OwnedFd> {
        let (dir, name) = split_path(real);
        let (temp, fd) = self.stage_manifest(real, text)?;
        let dir_fd = self.target_dir(dir)?;
        renameat(dir_fd, &temp, dir_fd, name)
            .map_err(|e| Error::io(format!("renaming into place {}", Quoted(real)), e.into()))?;
        Ok(fd)
    }

    fn stage_manifest(&mut self, real: &str, text: &Fill) -> Result<(String, OwnedFd)> {
        // Root's alone: a manifest names every file of the app, its env keys among them.
        // `stage` writes what `text` gives, not the output's own contents.
        let output = Output::file(real.to_owned(), String::new(), 0o600, Group::Root);
        let ownership = Some(Ownership { run_gid: 0 }).filter(|_| self.euid == 0);
        match self.stage(
            &output,
            &Placement::Replace,
            text,
            ownership,
            Scheme::EachFile,
        )? {
            Made {
                temp: Some(temp),
                fd: Some(fd),
            } => Ok((self.temp_file(temp), fd)),
            _ => unreachable!("a file is staged"),
        }
    }

    /// Takes back the log directory `path` that this run made, when a signal rolled the change
    /// back: no manifest records it, and the next export makes it again and records it (left
    /// in place, it would be refused as one procexport did not make). Only an empty directory
    /// goes (`rmdir`, which never follows a link); one that holds anything is left as it is.
    pub fn unmake_log_dir(&mut self, path: &str) -> Result<()> {
        let (parent, name) = split_path(path);
        self.unflushed.retain(|made| made != path);
        let Some(parent_fd) = self.open_dir(parent, Strictness::LogParent, false)? else {
            return Ok(());
        };
        match unlinkat(parent_fd, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT | Errno::NOTEMPTY | Errno::EXIST | Errno::NOTDIR) => Ok(()),
            Err(e) => Err(Error::io(
                format!("removing {}", Quoted(&self.host(path))),
                e.into(),
            )),
        }
    }

    /// Makes the app's log directory `<parent>/<name>` and gives that directory, and nothing
    /// in it, to the run user. Only a directory procexport makes here (or made before:
    /// `recorded`, from the app's manifest) is handed over: an existing directory of someone
    /// else's (`/var/log/apt` under an empty prefix) is refused, never given away. One that
    /// is the run user's already is left as it is. Done by descriptor: a symlink in its place
    /// is refused. With `dry_run`, the same checks and nothing made or changed, so a dry run
    /// refuses exactly what the real run refuses and passes what it passes.
    pub fn ensure_log_dir(
        &mut self,
        parent: &str,
        name: &str,
        (uid, gid): (u32, u32),
        recorded: bool,
        dry_run: bool,
    ) -> Result<LogDirState> {
        let path = format!("{parent}/{name}");
        let host = self.host(&path);
        let io = |what: &str, e: Errno| Error::io(format!("{what} {}", Quoted(&host)), e.into());
        let euid = self.euid;
        let would_make = LogDirState {
            made: true,
            ours: true,
        };
        let Some(parent_fd) = self.open_dir(parent, Strictness::LogParent, !dry_run)? else {
            // Only a dry run gets here: the real run made the parent.
            return Ok(would_make);
        };
        let made = !dry_run
            && match mkdirat(parent_fd, name, Mode::from_raw_mode(0o750)) {
                Ok(()) => true,
                Err(Errno::EXIST) => false,
                Err(e) => return Err(io("creating", e)),
            };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match openat(parent_fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if dry_run => return Ok(would_make),
            Err(Errno::LOOP | Errno::NOTDIR) => {
                return Err(Error::refused_at(
                    &host,
                    format!(
                        "log directory {} is a symlink or not a directory; refusing it",
                        Quoted(&host)
                    ),
                ))
            }
            Err(e) => return Err(io("opening", e)),
        };
        if made {
            // Made durable with the export's own directories, by `apply`.
            self.unflushed.push(path);
        }
        let stat = fstat(&fd).map_err(|e| io("checking", e))?;
        let ours = made || recorded;
        let state = LogDirState { made, ours };
        if stat.st_uid == uid || euid != 0 {
            return Ok(state);
        }
        if !ours {
            return Err(Error::refused_at(
                &host,
                format!(
                "log directory {} already exists and procexport did not make it (it belongs to \
                 uid {}); procexport only gives the run user a directory it made for the app: \
                 set log_dir or prefix in the config so the app gets a directory of its own, or \
                 give this one to the run user by hand if it is the app's",
                Quoted(&host),
                stat.st_uid
            ),
            ));
        }
        if stat.st_uid != 0 {
            return Err(Error::refused_at(
                &host,
                format!(
                    "log directory {} belongs to uid {}, neither root nor the run user",
                    Quoted(&host),
                    stat.st_uid
                ),
            ));
        }
        if !dry_run {
            fchown(&fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
                .map_err(|e| io("giving the run user", e))?;
            fchmod(&fd, Mode::from_raw_mode(0o750)).map_err(|e| io("setting the mode of", e))?;
        }
        Ok(state)
    }
}

/// What `ensure_log_dir` did (or, in a dry run, would do) to the app's log directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogDirState {
    /// It was made now (would be made).
    pub made: bool,
    /// It is procexport's: made now, or recorded in the app's manifest.
    pub ours: bool,
}

/// What `write_new` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The plan changes nothing: nothing was written.
    Nothing,
    /// Every new file is in place.
    Done,
    /// Stopped before the commit point and undone: the installed set is as it was.
    RolledBack,
}

/// A staged temp entry, by number (`Disk::temp_file` names it): an export may stage tens of
/// thousands, and a number is all it needs to keep of each.
#[derive(Debug, Clone, Copy)]
struct Temp(u32);

/// What `roll_back` must undo: the directories staged so far, in the order they were made,
/// and whether the pending manifest replaced the old one.
#[derive(Default)]
struct Undo<'a> {
    dirs: Vec<&'a Output>,
    manifest: bool,
}

/// How deep a tree made under a temp name may go when it is removed (a runit service
/// directory is two levels): anything deeper was not made by procexport, and its removal
/// stops there with an error that names the tree, rather than search further as root.
const TREE_DEPTH: u32 = 4;

/// Where `stage` makes an output.
enum Placement {
    /// Beside the target under a temp name, renamed over it after the flush (a directory:
    /// made, or given its mode and owner, in place).
    Replace,
    /// A directory that is not there yet: made under this temp name, filled, then renamed.
    NewTree(Temp),
    /// Inside such a directory, at this live path (through the temp name), under its own
    /// name: no one sees it before the directory's rename.
    InTree(String),
}

/// What `stage` made: the temp entry to rename, and a descriptor to fsync before renaming.
struct Made {
    temp: Option<Temp>,
    fd: Option<OwnedFd>,
}

/// The new directories made whole under a temp name, by live path.
#[derive(Default)]
struct Trees<'p> {
    tops: HashMap<&'p str, Temp, super::RandomState>,
    /// With `Scheme::EachFile`: every directory of the trees, by its path through the temp
    /// name, to fsync once the trees are whole.
    dirs: Vec<String>,
}

impl Trees<'_> {
    /// True when `path` is inside one of the trees (below its top).
    fn holds(&self, path: &str) -> bool {
        !self.tops.is_empty() && self.top_of(path).is_some()
    }

    /// The tree `path` is inside (below its top), with its temp entry.
    fn top_of<'a>(&self, path: &'a str) -> Option<(&'a str, Temp)> {
        path.rmatch_indices('/')
            .map(|(at, _)| &path[..at])
            .find_map(|dir| self.tops.get(dir).map(|temp| (dir, *temp)))
    }

    /// Where `path`, inside a tree, is until the tree's rename: through its top's temp name
    /// (`name` gives it).
    fn staged_path(&self, path: &str, name: impl Fn(Temp) -> String) -> Option<String> {
        if self.tops.is_empty() {
            return None;
        }
        let (top, temp) = self.top_of(path)?;
        Some(format!(
            "{}/{}{}",
            split_path(top).0,
            name(temp),
            &path[top.len()..]
        ))
    }
}

/// Removes the directory `name` in `dir` with everything in it, by descriptor, never
/// following a symlink (one is removed itself), at most `depth` levels down.
fn remove_tree(dir: BorrowedFd<'_>, name: &str, depth: u32) -> rustix::io::Result<()> {
    let inner = openat(dir, name, DIR_FLAGS, Mode::empty())?;
    for entry in Dir::read_from(&inner)? {
        let entry = entry?;
        let entry_name = entry.file_name();
        if entry_name == c"." || entry_name == c".." {
            continue;
        }
        match unlinkat(&inner, entry_name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(Errno::ISDIR) if depth > 0 => {
                let entry_name = entry_name.to_str().map_err(|_| Errno::INVAL)?;
                remove_tree(inner.as_fd(), entry_name, depth - 1)?;
            }
            Err(e) => return Err(e),
        }
    }
    unlinkat(dir, name, AtFlags::REMOVEDIR)
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

/// What writes a staged file's contents: its bytes, or a manifest's text as it is made.
type Fill<'a> = dyn Fn(&mut File) -> std::io::Result<()> + 'a;

/// Creates `temp` in `dir` exclusively with `mode`, writes it whole, when `gid` is given gives
/// it that group, and with `start_writeback` starts its writeback, for the caller to fsync the
/// descriptor returned.
fn write_file(
    dir: BorrowedFd<'_>,
    temp: &str,
    contents: &Fill,
    mode: u32,
    gid: Option<u32>,
    start_writeback: bool,
) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // Made with its final mode (the umask is 0, see `Disk::new`) and this process's group,
    // root's when root runs it: never more open than the file it becomes.
    let fd = openat(dir, temp, flags, Mode::from_raw_mode(mode))?;
    let mut file = File::from(fd);
    contents(&mut file).map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
    if let Some(gid) = gid {
        fchown(file.as_fd(), Some(Uid::ROOT), Some(Gid::from_raw(gid)))?;
    }
    // Start writing the data out now, without waiting (what `sync_file_range(WRITE)` does;
    // neither rustix nor nix wraps that call safely): on Linux, POSIX_FADV_DONTNEED starts
    // writeback of the file's dirty pages, so by the time the file is fsync'd its data is on
    // its way. Only advice: a filesystem that ignores it is still fsync'd.
    if start_writeback {
        let _ = fadvise(&file, 0, None, Advice::DontNeed);
    }
    Ok(OwnedFd::from(file))
}

/// The live directory `dirs` and every directory above each, `/` included.
fn with_ancestors<'a>(dirs: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut all = BTreeSet::new();
    for dir in dirs {
        let mut dir = dir;
        while all.insert(dir) && !dir.is_empty() && dir != "/" {
            dir = split_path(dir).0;
        }
    }
    all
}

/// The order `write_new` stages the writes in: directory by directory (by path, so a directory
/// comes before what goes in it, and the directories a run opens are reused while they are
/// cached), links last (a link enables a service: it goes in once everything it points to is
/// in place).
fn write_order(writes: &[Output]) -> Result<Vec<u32>> {
    let len = u32::try_from(writes.len())
        .map_err(|_| Error::failed(format!("{} files are too many to write", writes.len())))?;
    let mut order: Vec<u32> = (0..len).collect();
    // Unstable is exact here (no two writes share a path) and makes no scratch copy.
    order.sort_unstable_by_key(|&at| {
        let output = &writes[at as usize];
        (matches!(output.kind, Kind::Symlink { .. }), &*output.path)
    });
    Ok(order)
}
