//! The one install transaction, for an export and for a clean alike (a clean is an install
//! of no files): lock the app, read its manifest, find what an older exporter left, plan the
//! change against the disk, then either show it (dry run) or carry it out (new files, stale
//! links, the init's release of stale services, stale files, the final manifest), tell the
//! init, and report. It takes plain values and a backend as an `Installer`; it never names
//! a backend.
//!
//! When the backend's init runs here (and the files are the live system's), the jobs a change
//! removes are stopped before their files go, and an export can restart the app. `control`
//! and `status` act on the jobs of the app's manifest, and on nothing else.
//!
//! A change that has begun always ends cleanly: SIGINT or SIGTERM (`interrupt`) is read
//! between files, and rolls the change back before its commit point (the first rename) or
//! lets it finish after; what it prints cannot fail it (`cli::out`).

use super::collision;
use super::disk::{stale, DirStat, Disk, Lock, Written};
use super::entries::Entries;
use super::installer::{Action, Installer, JobStatus, Jobs, State, Target};
use super::interrupt::Interrupt;
use super::legacy::{self, Legacy};
use super::manifest::{EntryKind, Manifest};
use super::plan::{plan, Existing, Ownership, Plan, Rendered};
use super::report::{self, View};
use crate::error::{Error, Result};
use crate::model::output::Output;
use crate::model::text::AbsPath;
use std::collections::HashSet;
use std::io::Write;

/// What every transaction of one run shares.
pub struct Context<'a> {
    pub disk: &'a mut Disk,
    /// Manifests and locks.
    pub state_dir: &'a AbsPath,
    /// The config's prefix is empty: the gem's file names for an app are not looked for
    /// (an app named like a system job would claim that job's files).
    pub no_prefix: bool,
    /// The owners files get; `None` when not running as root.
    pub ownership: Option<Ownership>,
    /// Who an app that has no owner yet comes to belong to (the sudo user, or 0 for root).
    pub owner: Option<u32>,
    /// The caller may take over or remove files an older exporter left for the app (no
    /// manifest lists them): root, a user without sudo (who can only touch what it could
    /// anyway), or a manager the config lists for this app; never any other sudo user.
    pub may_claim_legacy: bool,
    /// Whose files an older exporter left are looked for: the gem's always, other tools'
    /// (foreman, honcho, init-exporter) with `--adopt`.
    pub older: Older,
    /// The run group's name, for the dry run's owner column.
    pub run_group: &'a str,
    pub dry_run: bool,
    /// For a dry run through sudo, the invoking user's uid and gid: what that user could not
    /// read is not compared or named.
    pub viewer: Option<(u32, u32)>,
    /// For that dry run: whether the installed files the viewer cannot read are still
    /// compared with the new ones (only whether they differ is said, never what they hold).
    pub unreadable: Unreadable,
    /// Where the files go, for the init hooks.
    pub target: Target,
    /// Whether SIGINT or SIGTERM asked to stop: read between files (`Interrupt`).
    pub interrupt: Interrupt,
    /// Never fails a change: `cli::out::Remembered` keeps a print error for after it.
    pub out: &'a mut dyn Write,
}

/// Which older exporters' files a change looks for (no manifest lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Older {
    /// The gem's, whose files are taken over by every export and clean (by root or a manager).
    Gem,
    /// `--adopt`: foreman's, honcho's and init-exporter's too, taken when byte for byte that tool's for the app.
    Adopt,
}

/// What a dry run through sudo does with an installed file the invoking user cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// Compared as root; only the verdict (unchanged, or changed with the new file) is shown.
    Compared,
    /// Not compared: it may hold what the viewer must not confirm by guessing (the config's
    /// env values), so it is shown as written, not compared.
    NotCompared,
}

/// The app's own log directory, made and handed to the run user before its jobs are.
#[derive(Debug, Clone)]
pub struct LogDir {
    pub parent: String,
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// What a transaction installs.
pub enum Change {
    /// An export: exactly these files, and the log directory.
    Export {
        /// The render's outputs; past a budget, files' contents wait in the spool
        /// (`Rendered`).
        rendered: Rendered,
        log_dir: LogDir,
        /// Restart every job of the app once the files are in place (`--restart`).
        restart: bool,
    },
    /// A clean: no files.
    Clean,
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, or shown (dry run); `changed`: something was (or would be) changed.
    Done { changed: bool },
    /// A clean found nothing of the app for this backend.
    NothingInstalled,
}

/// Runs one transaction for app `full_name` through `installer`.
pub fn install(
    cx: &mut Context,
    installer: &dyn Installer,
    full_name: &str,
    change: Change,
) -> Result<Outcome> {
    let verb = match change {
        Change::Export { .. } => "export",
        Change::Clean => "clean",
    };
    let what = format!("{} {verb} of {full_name}", installer.name());
    if cx.older == Older::Adopt && !cx.may_claim_legacy {
        return Err(Error::refused(format!(
            "--adopt: only root, or a manager the config lists for this app \
             (apps.<app>.managers), may take over what an older exporter installed for \
             {full_name}; nothing was changed"
        )));
    }
    if matches!(change, Change::Export { .. }) {
        installer.check_target(cx.target)?;
    }
    let own_state_dir = installer.capabilities().own_state_dir;
    let state_dir = own_state_dir.as_ref().unwrap_or(cx.state_dir);
    // A backend with a state directory of its own that does not exist has installed nothing:
    // a clean of every backend does not make that directory just to lock it.
    if matches!(change, Change::Clean)
        && own_state_dir.is_some()
        && cx.disk.inspect(state_dir.as_str())? == Existing::Missing
    {
        return Ok(Outcome::NothingInstalled);
    }
    let manifest_path = manifest_path(state_dir, installer, full_name);
    // Who may not take the older exporter's files is refused before the app is locked (a
    // lock makes the state directory): a refusal writes nothing. Checked again once locked.
    if !cx.may_claim_legacy {
        let none = Manifest::default();
        scan_legacy(
            cx,
            installer,
            state_dir,
            &manifest_path,
            full_name,
            &change,
            &none,
        )?;
    }
    let mut lock = cx.disk.lock(state_dir.as_str(), full_name, cx.dry_run)?;
    let outcome = install_locked(
        cx,
        installer,
        full_name,
        change,
        state_dir,
        &what,
        lock.as_mut(),
    );
    release(lock, full_name, installer.name(), outcome)
}

/// The log directory: made (or, in a dry run, checked by the same rules) before the jobs that
/// log into it are installed, and recorded in the new manifest when it is procexport's.
/// Returns its path when this run made it (to be removed again on a rollback).
fn ensure_log_dir(
    disk: &mut Disk,
    log_dir: Option<LogDir>,
    plan: &mut Plan,
    dry_run: bool,
) -> Result<Option<String>> {
    let Some(log) = log_dir else {
        return Ok(None);
    };
    let path = format!("{}/{}", log.parent, log.name);
    let recorded = plan.old.log_dir.as_deref() == Some(path.as_str());
    let owner = (log.uid, log.gid);
    let state = disk.ensure_log_dir(&log.parent, &log.name, owner, recorded, dry_run)?;
    let made = state.made.then(|| path.clone());
    if state.ours {
        plan.new.log_dir = Some(path);
    }
    Ok(made)
}

/// Restarts every job of the app's new manifest (`--restart`), once its files are in place.
fn restart_app(
    cx: &mut Context,
    installer: &dyn Installer,
    full_name: &str,
    manifest: &Manifest,
) -> Result<()> {
    let jobs = app_jobs(installer, manifest, full_name);
    require_init(cx.target, cx.disk, installer, "restarted", &jobs)?;
    installer.control(cx.disk, Action::Restart, &jobs)?;
    report_control(cx.out, installer, Action::Restart, full_name, &jobs)
}

/// The steps after the commit point (the first rename), each of which runs: stale links go,
/// the dropped jobs stop (when the init runs here), the init releases stale services, stale
/// files go, the manifest is final, and the init is told.
fn finish_committed(
    disk: &mut Disk,
    installer: &dyn Installer,
    plan: &Plan,
    manifest_path: &str,
    dropped: &Jobs,
    target: Target,
) -> Result<()> {
    let live = target != Target::Root;
    disk.remove_stale_links(plan)?;
    if live && !dropped.is_empty() && installer.init_running(disk) {
        installer.stop_jobs(disk, dropped)?;
    }
    let stale_dirs: Vec<&str> = stale(plan, EntryKind::Dir).collect();
    if !stale_dirs.is_empty() {
        installer.release(disk, &stale_dirs)?;
    }
    disk.remove_stale_files(plan)?;
    disk.finish_manifest(plan, manifest_path)?;
    installer.after_apply(target, dropped)?;
    if let Some(next) = installer.capabilities().next_step.filter(|_| live) {
        crate::error::warn(&next);
    }
    Ok(())
}

/// Releases the app's lock (if taken) whatever `outcome` is, removing its file when the app
/// ends with no manifest; `outcome` comes first, then any failure to release.
fn release<T>(lock: Option<Lock>, full_name: &str, backend: &str, outcome: Result<T>) -> Result<T> {
    let Some(lock) = lock else {
        return outcome;
    };
    let released = lock.release(full_name, backend);
    let value = outcome?;
    released?;
    Ok(value)
}

/// The transaction of `install`, under the app's `lock` (none in a dry run).
fn install_locked(
    cx: &mut Context,
    installer: &dyn Installer,
    full_name: &str,
    change: Change,
    state_dir: &AbsPath,
    what: &str,
    mut lock: Option<&mut Lock>,
) -> Result<Outcome> {
    let manifest_path = manifest_path(state_dir, installer, full_name);
    // The new manifest first: the old one's paths that it has are then held once.
    let new = match &change {
        Change::Export { rendered, .. } => Manifest::of_outputs(rendered.outputs.iter()),
        Change::Clean => Manifest::default(),
    };
    let (old, found) = scan_legacy(
        cx,
        installer,
        state_dir,
        &manifest_path,
        full_name,
        &change,
        &new,
    )?;
    note_legacy(cx, full_name, &found)?;
    let legacy: Vec<(String, EntryKind)> = found
        .proven
        .into_iter()
        .map(|path| (path, EntryKind::File))
        .collect();
    let (rendered, log_dir, restart) = match change {
        Change::Export {
            rendered,
            log_dir,
            restart,
        } => (rendered, Some(log_dir), restart),
        Change::Clean if old.is_empty() && legacy.is_empty() => {
            return Ok(Outcome::NothingInstalled)
        }
        Change::Clean => (Rendered::default(), None, false),
    };
    let listed = &old.entries;
    for output in &rendered.outputs {
        shadow_check(cx.disk, installer, &output.path, listed)?;
    }
    let install_dirs = installer.install_dirs();
    let belongs = |path: &str| belongs_to_app(path, &install_dirs, full_name);
    let disk = &mut *cx.disk;
    let mut plan = plan(
        rendered,
        new,
        old,
        legacy,
        cx.ownership,
        &belongs,
        &mut |p| disk.inspect(p),
    )?;
    // Who the app belongs to: whoever it belonged to, else whoever installs it first; and
    // its log directory, still procexport's when the export keeps the same one.
    plan.new.owner = plan.old.owner.or(cx.owner);
    let log_path = log_dir.as_ref().map(|l| format!("{}/{}", l.parent, l.name));
    plan.new.log_dir = plan
        .old
        .log_dir
        .clone()
        .filter(|p| log_path.as_ref() == Some(p));
    let interrupt = cx.interrupt;
    if !cx.dry_run {
        interrupt.check(|| format!("the {what} did not begin: nothing changed"))?;
    }
    let log_dir = log_dir.filter(|_| installer.capabilities().makes_log_dir);
    let new_log_dir = ensure_log_dir(disk, log_dir, &mut plan, cx.dry_run)?;
    if cx.dry_run {
        return dry_run(cx, what, &mut plan, new_log_dir.as_deref());
    }
    // The jobs whose files go: the plan only removes the app's own paths (`belongs`).
    let dropped = jobs_of(installer, full_name, &plan.removals);
    // Temp files a killed run left are looked for only when the lock's record says one may
    // have (`run_record`); a run that will make its own says so first.
    let backend = installer.name();
    let look_for_temps = lock.as_ref().is_none_or(|l| l.temps_may_remain(backend));
    if plan.changes_anything() {
        if let Some(lock) = lock.as_mut() {
            lock.making_temps()?;
        }
    }
    let stop = || interrupt.caught().is_some();
    let written = disk.write_new(&plan, &manifest_path, cx.ownership, look_for_temps, &stop)?;
    if written == Written::RolledBack {
        // The log directory this run made goes too: the installed set is as it was, and so
        // is the run record (the roll-back removed every temp file the run made).
        if let Some(made) = &new_log_dir {
            disk.unmake_log_dir(made)?;
        }
        if let Some(lock) = lock.as_mut() {
            lock.ended_clean(backend);
        }
        interrupt.check(|| format!("the {what} was rolled back: nothing changed"))?;
    }
    // Past the commit point: every step runs, whatever arrives (a signal, a closed stdout).
    if written == Written::Done {
        let target = cx.target;
        finish_committed(disk, installer, &plan, &manifest_path, &dropped, target)?;
    }
    // Every temp file of this run is renamed or removed, and any a killed run left is gone.
    if let Some(lock) = lock {
        lock.ended_clean(backend);
    }
    report::summary(cx.out, what, &plan).map_err(print_error)?;
    // A signal that came during the change stops the run here, after it: no restart.
    if restart && interrupt.caught().is_none() {
        restart_app(cx, installer, full_name, &plan.new)?;
    }
    Ok(Outcome::Done {
        changed: plan.changes_anything(),
    })
}

/// Prints what the transaction would do, and does nothing; `new_log_dir`: the log directory
/// it would make.
fn dry_run(
    cx: &mut Context,
    what: &str,
    plan: &mut super::plan::Plan,
    new_log_dir: Option<&str>,
) -> Result<Outcome> {
    let (hidden, hidden_removals) = match cx.viewer {
        Some(viewer) => hidden(cx.disk, plan, viewer)?,
        None => Default::default(),
    };
    // The plan compared each of them byte for byte (as root); the report gets the verdict
    // only: what a hidden file holds is dropped before anything is printed.
    for path in &hidden {
        plan.before.remove(path.as_str());
    }
    let view = View {
        run_group: cx.run_group,
        hidden: &hidden,
        compared: cx.unreadable == Unreadable::Compared,
        hidden_removals: &hidden_removals,
        new_log_dir,
    };
    report::dry_run(cx.out, what, plan, &view).map_err(print_error)?;
    let blind = cx.unreadable == Unreadable::NotCompared && !hidden.is_empty();
    let changed = plan.changes_anything() || view.new_log_dir.is_some() || blind;
    Ok(Outcome::Done { changed })
}

/// What a dry run for `viewer` (the sudo user's uid and gid) must not show: installed files
/// that user could not read (never compared), and stale files in directories that user
/// could not list (never named).
fn hidden(
    disk: &mut Disk,
    plan: &super::plan::Plan,
    (uid, gid): (u32, u32),
) -> Result<(HashSet<String>, HashSet<String>)> {
    let allows = |mode: u32, owner: u32, group: u32, bits: u32| {
        mode & bits != 0
            || (owner == uid && mode & (bits << 6) != 0)
            || (group == gid && mode & (bits << 3) != 0)
    };
    let mut files = HashSet::new();
    for output in plan.writes.iter().chain(&plan.unchanged) {
        if let Existing::File {
            mode,
            uid: owner,
            gid: group,
            ..
        } = disk.inspect(&output.path)?
        {
            if !allows(mode, owner, group, 0o004) {
                files.insert(output.path.to_string());
            }
        }
    }
    let mut removals = HashSet::new();
    for (path, _) in &plan.removals {
        let parent = path.rsplit_once('/').map_or("/", |(dir, _)| dir);
        // The directory as the removal itself opens it, with the same checks: never its
        // parent, which the real run does not hold to a target directory's rules.
        let listable = match disk.dir_stat(parent)? {
            Some(DirStat {
                mode,
                uid: owner,
                gid: group,
            }) => allows(mode, owner, group, 0o004) && allows(mode, owner, group, 0o001),
            None => false,
        };
        if !listable {
            removals.insert(path.clone());
        }
    }
    Ok((files, removals))
}

/// Refuses `path` when the init already has something of the same name elsewhere on its
/// search path that this app's manifest does not list (a vendor's unit).
fn shadow_check(
    disk: &mut Disk,
    installer: &dyn Installer,
    path: &str,
    listed: &Entries,
) -> Result<()> {
    if listed.has_path(path) {
        return Ok(());
    }
    for other in installer.capabilities().same_name_elsewhere(path) {
        if disk.inspect(&other)? != Existing::Missing {
            return Err(Error::refused(format!(
                "{} would override {}, which procexport did not install: {} already has a \
                 job of that name; choose another app name or label, or set a prefix in the \
                 config",
                crate::sanitize::Quoted(path),
                crate::sanitize::Quoted(&disk.host(&other)),
                installer.name()
            )));
        }
    }
    Ok(())
}

/// Starts, stops or restarts the jobs of the app's manifest for `installer`'s backend, under
/// the app's lock.
pub fn control(
    cx: &mut Context,
    installer: &dyn Installer,
    full_name: &str,
    action: Action,
) -> Result<Outcome> {
    let own_state_dir = installer.capabilities().own_state_dir;
    let state_dir = own_state_dir.as_ref().unwrap_or(cx.state_dir);
    // As for a clean: a state directory of the backend's own that does not exist holds no
    // app, and is not made just to lock it (a plain user may have no home to make it in).
    if own_state_dir.is_some() && cx.disk.inspect(state_dir.as_str())? == Existing::Missing {
        return Ok(Outcome::NothingInstalled);
    }
    let lock = cx.disk.lock(state_dir.as_str(), full_name, cx.dry_run)?;
    let outcome = control_locked(cx, installer, full_name, action, state_dir);
    release(lock, full_name, installer.name(), outcome)
}

/// The `control` of the app's jobs, under its lock.
fn control_locked(
    cx: &mut Context,
    installer: &dyn Installer,
    full_name: &str,
    action: Action,
    state_dir: &AbsPath,
) -> Result<Outcome> {
    let manifest_path = manifest_path(state_dir, installer, full_name);
    let manifest = cx.disk.read_manifest(&manifest_path)?;
    let jobs = app_jobs(installer, &manifest, full_name);
    if jobs.is_empty() {
        return Ok(Outcome::NothingInstalled);
    }
    if cx.dry_run {
        let names: Vec<&str> = jobs.all().collect();
        writeln!(
            cx.out,
            "{} would {} {full_name}: {}",
            installer.name(),
            action.verb(),
            names.join(" ")
        )
        .map_err(print_error)?;
        return Ok(Outcome::Done { changed: false });
    }
    let verb = match action {
        Action::Start => "started",
        Action::Stop => "stopped",
        Action::Restart => "restarted",
        Action::Reload => "reloaded",
    };
    require_init(cx.target, cx.disk, installer, verb, &jobs)?;
    installer.control(cx.disk, action, &jobs)?;
    report_control(cx.out, installer, action, full_name, &jobs)?;
    Ok(Outcome::Done { changed: true })
}

/// What the init says of each job of the app's manifest for `installer`'s backend; `None`
/// when the app has no manifest there. Where the init is not running (or under `--root`),
/// every job is `Unknown`.
pub fn status(
    cx: &mut Context,
    installer: &dyn Installer,
    full_name: &str,
) -> Result<Option<Vec<JobStatus>>> {
    let own_state_dir = installer.capabilities().own_state_dir;
    let state_dir = own_state_dir.as_ref().unwrap_or(cx.state_dir);
    let manifest_path = manifest_path(state_dir, installer, full_name);
    let manifest = cx.disk.read_manifest(&manifest_path)?;
    let jobs = app_jobs(installer, &manifest, full_name);
    if jobs.is_empty() {
        return Ok(None);
    }
    if cx.target != Target::Root && installer.init_running(cx.disk) {
        return installer.status(cx.disk, &jobs).map(Some);
    }
    let why = if cx.target == Target::Root {
        "under --root: no init to ask".to_owned()
    } else {
        match installer.init_missing(&jobs) {
            Some(hint) => format!("its init is not running here ({hint})"),
            None => "its init is not running here".to_owned(),
        }
    };
    Ok(Some(
        jobs.all()
            .map(|job| JobStatus {
                job: job.to_owned(),
                state: State::Unknown,
                detail: why.clone(),
            })
            .collect(),
    ))
}

/// The jobs of the app's manifest: only the entries that are the app's own names in the
/// backend's directories, so a manifest can never make procexport act on another job.
pub fn app_jobs(installer: &dyn Installer, manifest: &Manifest, full_name: &str) -> Jobs {
    let install_dirs = installer.install_dirs();
    let entries: Vec<(String, EntryKind)> = manifest
        .entries
        .iter()
        .filter(|(path, _)| belongs_to_app(path, &install_dirs, full_name))
        .map(|(path, kind)| (path.to_string(), *kind))
        .collect();
    jobs_of(installer, full_name, &entries)
}

/// The jobs the backend says `entries` of app `full_name` are, with the app's name.
fn jobs_of(installer: &dyn Installer, full_name: &str, entries: &[(String, EntryKind)]) -> Jobs {
    let mut jobs = installer.jobs(full_name, entries);
    full_name.clone_into(&mut jobs.full_name);
    jobs
}

/// Refuses to go on when there is no running init to act through.
fn require_init(
    target: Target,
    disk: &mut Disk,
    installer: &dyn Installer,
    verb: &str,
    jobs: &Jobs,
) -> Result<()> {
    if target == Target::Root {
        return Err(Error::Usage(format!(
            "the app cannot be {verb} under --root: those files are not this system's"
        )));
    }
    if !installer.init_running(disk) {
        let hint = installer
            .init_missing(jobs)
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
        return Err(Error::failed(format!(
            "the app cannot be {verb}: the init that runs {} jobs is not running here{hint}",
            installer.name()
        )));
    }
    Ok(())
}

fn report_control(
    out: &mut dyn Write,
    installer: &dyn Installer,
    action: Action,
    full_name: &str,
    jobs: &Jobs,
) -> Result<()> {
    let names: Vec<&str> = jobs.all().collect();
    writeln!(
        out,
        "{} {} of {full_name}: {}",
        installer.name(),
        action.verb(),
        names.join(" ")
    )
    .map_err(print_error)
}

/// The `note:` lines of a change: each file named like the app's that is left, and why, and
/// each file taken over with `--adopt`, and from which tool.
fn note_legacy(cx: &mut Context, full_name: &str, found: &Legacy) -> Result<()> {
    for path in &found.unproven {
        let shown = crate::sanitize::Quoted(&cx.disk.host(path)).to_string();
        let line = match found.why.get(path) {
            Some(why) => format!(
                "note: {shown} is left as it is: no manifest lists it and it is not what an \
                 older exporter writes for {full_name}: {why}; remove it by hand if it is \
                 {full_name}'s"
            ),
            None => format!(
                "note: {shown} is left as it is: no manifest lists it and nothing in it proves \
                 that an older exporter wrote it for {full_name}; remove it by hand if it is \
                 {full_name}'s"
            ),
        };
        writeln!(cx.out, "{line}").map_err(print_error)?;
    }
    for (path, tool) in &found.adopted {
        if found.proven.contains(path) {
            writeln!(
                cx.out,
                "note: {} is {tool} for {full_name}, byte for byte: taken over",
                crate::sanitize::Quoted(&cx.disk.host(path))
            )
            .map_err(print_error)?;
        }
    }
    Ok(())
}

/// Reads the app's manifest and finds the files an older exporter left for it that no
/// manifest lists; refuses a caller who may not take them (`Context::may_claim_legacy`).
fn scan_legacy(
    cx: &mut Context,
    installer: &dyn Installer,
    state_dir: &AbsPath,
    manifest_path: &str,
    full_name: &str,
    change: &Change,
    new: &Manifest,
) -> Result<(Manifest, Legacy)> {
    let old = cx.disk.read_manifest_sharing(manifest_path, &new.entries)?;
    // The gem's files for this app are replaced or, when the new export has no such job,
    // removed: a gem job left behind would still start with the app. Only those their
    // contents prove to be this app's; the rest are named and left.
    let outputs: &[Output] = match change {
        Change::Export { rendered, .. } => &rendered.outputs,
        Change::Clean => &[],
    };
    let wanted = || -> Vec<&str> { outputs.iter().map(|o| &*o.path).collect() };
    // What the manifest lists is procexport's: not read, not proven, never an older
    // exporter's.
    let listed = &old.entries;
    let found = legacy::files(cx.disk, installer, cx.no_prefix, full_name, &wanted, listed)?;
    // Another app's files (a "-" can make its names and this app's alike) are never taken.
    let mut found = collision::check(
        cx.disk,
        state_dir,
        installer,
        full_name,
        outputs.iter().map(|o| &*o.path),
        found,
    )?;
    if cx.older == Older::Adopt {
        let others = legacy::adoptable(cx.disk, installer, full_name, listed)?;
        let others =
            collision::drop_others(cx.disk, state_dir, installer.name(), full_name, others)?;
        found.merge(others);
    }
    found.retain(|path| !listed.has_path(path));
    if !found.proven.is_empty() && !cx.may_claim_legacy {
        return Err(legacy::refuse(cx.disk, full_name, &found));
    }
    Ok((old, found))
}

/// `<state_dir>/<backend>/<prefix><app>.manifest`.
pub fn manifest_path(state_dir: &AbsPath, installer: &dyn Installer, full_name: &str) -> String {
    state_dir.join(&format!("{}/{full_name}.manifest", installer.name()))
}

/// True when `path` is one of the app's own names directly in, or below, one of the backend's
/// directories: `<full_name>` (a SysV or OpenRC init script), `<full_name>.<suffix>` or
/// `<full_name>-<anything>`. Names hold no `.`, so `fb-myapp` never matches
/// `fb-myapp_staging-web`; they may hold `-`, so `fb-myapp` does match `fb-myapp-staging-web`,
/// and which app such a file is is settled by the manifests (`collision.rs`): no export may
/// install a path another app's manifest lists.
pub fn belongs_to_app(path: &str, install_dirs: &[String], full_name: &str) -> bool {
    install_dirs.iter().any(|dir| {
        let Some(rest) = path
            .strip_prefix(dir.trim_end_matches('/'))
            .and_then(|r| r.strip_prefix('/'))
        else {
            return false;
        };
        let first = rest.split('/').next().unwrap_or("");
        !rest.split('/').any(|c| c == ".." || c.is_empty())
            && first.strip_prefix(full_name).is_some_and(|tail| {
                tail.is_empty() || tail.starts_with('-') || tail.starts_with('.')
            })
    })
}

/// A failed write to stdout.
pub fn print_error(e: std::io::Error) -> Error {
    Error::output(crate::error::Stream::Stdout, e)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn belongs_never_matches_a_neighbour() {
        let dirs = vec!["/etc/init".to_owned(), "/etc/sv/".to_owned()];
        assert!(belongs_to_app("/etc/init/fb-myapp.conf", &dirs, "fb-myapp"));
        assert!(belongs_to_app("/etc/init/fb-myapp", &dirs, "fb-myapp"));
        assert!(!belongs_to_app("/etc/init/fb-myapp_x", &dirs, "fb-myapp"));
        assert!(belongs_to_app(
            "/etc/init/fb-myapp-web.conf",
            &dirs,
            "fb-myapp"
        ));
        assert!(belongs_to_app(
            "/etc/sv/fb-myapp-web/log/run",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app(
            "/etc/init/fb-myapp_staging-web.conf",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app(
            "/etc/init/fb-myapp_staging.conf",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app("/etc/passwd", &dirs, "fb-myapp"));
        assert!(!belongs_to_app(
            "/etc/init/fb-myapp-x/../../passwd",
            &dirs,
            "fb-myapp"
        ));
        assert!(!belongs_to_app(
            "/etc/initx/fb-myapp.conf",
            &dirs,
            "fb-myapp"
        ));
    }
}
