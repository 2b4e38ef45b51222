//! Durability, from the outside: an export runs under `strace -f -y` (every descriptor argument
//! printed with its path) and the trace is checked for the order of the calls that make it
//! survive a power loss: each file flushed before it is renamed into place, the pending
//! manifest flushed before the first job file goes in, every directory whose entries changed
//! (a rename, a new directory or a new file in it) flushed after its last change and before the process
//! exits. "Flushed" is an `fsync` of that path, or a `syncfs` of its filesystem, which
//! procexport uses only when little other data is dirty (`disk::flush::Scheme`); never a
//! `sync` of every filesystem.
//!
//! What this proves: procexport asks the kernel for everything POSIX requires for the
//! finished export to be on stable storage when it exits, in an order under which any crash
//! leaves each file old or whole-new. What it cannot prove: that the kernel, the filesystem
//! and the disk keep that promise (a drive that acknowledges a cache flush it did not do, a
//! filesystem bug); that needs a power cut, a VM or a block device that drops unflushed
//! writes (dm-log-writes, dm-flakey), which this test tier does not have. Symlinks cannot be
//! fsync'd: their durability is that of the directory holding them, which is checked.

use crate::support::{require_root, Sandbox, BACKENDS};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// The two tests here one at a time: one writes 64 MB of dirty data on purpose, which would
/// decide the other's flush.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// One completed system call of the trace.
#[derive(Debug)]
struct Call {
    /// Where it started and where it returned, in trace order.
    start: usize,
    end: usize,
    name: String,
    args: String,
    ok: bool,
}

/// Runs `args` (a procexport command line after the binary) under strace; returns the calls.
fn traced(sandbox: &Sandbox, args: &[&str]) -> Vec<Call> {
    let options = [
        "-y",
        "-s",
        "8192",
        "-e",
        "trace=fsync,fdatasync,sync,syncfs,sync_file_range,rename,renameat,renameat2,mkdir,mkdirat,openat,read",
    ];
    parse(&sandbox.strace(&options, args))
}

/// Parses `strace -f -o` lines (`PID name(args) = result`, with calls split over
/// `<unfinished ...>` and `<... name resumed>` when threads interleave).
fn parse(text: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut open: BTreeMap<&str, (usize, &str, String)> = BTreeMap::new();
    for (at, line) in text.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let (_, tail) = resumed.split_once(" resumed>").expect("a resumed call");
            let (start, name, head) = open.remove(pid).expect("resumes a started call");
            let (args, result) = split_result(&format!("{head}{tail}"));
            calls.push(Call {
                start,
                end: at,
                name: name.to_owned(),
                ok: succeeded(name, &result),
                args,
            });
            continue;
        }
        let (name, tail) = rest.split_once('(').expect("a call");
        if let Some(head) = tail.strip_suffix(" <unfinished ...>") {
            open.insert(pid, (at, name, head.to_owned()));
            continue;
        }
        let (args, result) = split_result(tail);
        calls.push(Call {
            start: at,
            end: at,
            name: name.to_owned(),
            ok: succeeded(name, &result),
            args,
        });
    }
    assert!(open.is_empty(), "calls that never returned: {open:?}");
    calls
}

/// Whether a call with this result succeeded: 0, or for `openat` a descriptor.
fn succeeded(name: &str, result: &str) -> bool {
    result == "0" || (name == "openat" && result.parse::<u32>().is_ok())
}

/// `args) = result` into its arguments and result.
fn split_result(tail: &str) -> (String, String) {
    let (args, result) = tail.rsplit_once(" = ").expect("a returned call");
    let args = args.trim_end().strip_suffix(')').expect("a returned call");
    let result = result.split_whitespace().next().unwrap_or_default();
    (args.to_owned(), result.to_owned())
}

/// The paths of the `fd</path>` arguments and the plain `"name"` arguments, in order.
fn fd_path(arg: &str) -> String {
    let (_, path) = arg.split_once('<').expect("strace -y prints the path");
    path.trim_end_matches('>').to_owned()
}

fn name_arg(arg: &str) -> String {
    arg.trim().trim_matches('"').to_owned()
}

/// `renameat(3</d>, "temp", 3</d>, "name", ...)` into (from, to) host paths.
fn rename_paths(call: &Call) -> (String, String) {
    let args: Vec<&str> = call.args.split(", ").collect();
    (
        format!("{}/{}", fd_path(args[0]), name_arg(args[1])),
        format!("{}/{}", fd_path(args[2]), name_arg(args[3])),
    )
}

/// The device of `path`, or of the nearest directory above it that exists (a temp file is
/// gone once renamed): the filesystem a `syncfs` would have flushed it with.
fn device(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    Path::new(path)
        .ancestors()
        .find_map(|p| std::fs::symlink_metadata(p).ok())
        .map(|m| m.dev())
        .expect("/ exists")
}

fn parent(path: &str) -> String {
    Path::new(path).parent().unwrap().display().to_string()
}

/// Checks the durability rules (see the module comment) on one traced export.
fn check(backend: &str, sandbox: &Sandbox, calls: &[Call]) {
    let banned: Vec<&Call> = calls.iter().filter(|c| c.name == "sync").collect();
    assert!(
        banned.is_empty(),
        "{backend}: flushes every filesystem: {banned:?}"
    );
    // When each path was last fsync'd (call completed), by host path.
    let mut fsynced: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for call in calls.iter().filter(|c| c.ok && c.name == "fsync") {
        fsynced
            .entry(fd_path(&call.args))
            .or_default()
            .push(call.end);
    }
    // When each filesystem was flushed whole, by device.
    let mut syncfs: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for call in calls.iter().filter(|c| c.ok && c.name == "syncfs") {
        syncfs
            .entry(device(&fd_path(&call.args)))
            .or_default()
            .push(call.end);
    }
    let synced_between = |path: &str, after: usize, before: usize| -> bool {
        let within = |ends: &Vec<usize>| ends.iter().any(|&e| e > after && e < before);
        fsynced.get(path).is_some_and(within)
            || (!syncfs.is_empty() && syncfs.get(&device(path)).is_some_and(within))
    };
    let exit = usize::MAX;
    let state_dir = sandbox.host("/var/lib/procexport").display().to_string();
    // In the state directory, or wherever a backend keeps its own (systemd-user: a home).
    let is_manifest = |path: &str| path.starts_with(&state_dir) || path.ends_with(".manifest");
    // Directories changed, with when each last changed.
    let mut changed: BTreeMap<String, usize> = BTreeMap::new();
    let mut first_job_rename = exit;
    let mut renamed = 0;
    for call in calls.iter().filter(|c| c.ok) {
        match call.name.as_str() {
            "renameat" | "renameat2" => {
                let (from, to) = rename_paths(call);
                changed.insert(parent(&to), call.end);
                renamed += 1;
                if std::fs::symlink_metadata(&to).is_ok_and(|m| m.file_type().is_symlink()) {
                    continue; // no fsync of a link itself: its directory's is checked below
                }
                if is_manifest(&to) {
                    assert!(
                        synced_between(&from, 0, call.start) || synced_between(&to, call.end, exit),
                        "{backend}: manifest {to} never fsync'd"
                    );
                } else {
                    first_job_rename = first_job_rename.min(call.start);
                    assert!(
                        synced_between(&from, 0, call.start),
                        "{backend}: {to} renamed into place before its data was fsync'd"
                    );
                }
            }
            // A file made in a directory (staged beside its target, or straight into a new
            // directory made under a temp name): that directory changed.
            "openat" if call.args.contains("O_CREAT|O_EXCL") && call.args.contains('<') => {
                let args: Vec<&str> = call.args.split(", ").collect();
                let made = format!("{}/{}", fd_path(args[0]), name_arg(args[1]));
                changed.insert(parent(&made), call.end);
            }
            "mkdirat" | "mkdir" => {
                let args: Vec<&str> = call.args.split(", ").collect();
                let made = if call.name == "mkdirat" {
                    format!("{}/{}", fd_path(args[0]), name_arg(args[1]))
                } else {
                    name_arg(args[0])
                };
                changed.insert(parent(&made), call.end);
            }
            _ => {}
        }
    }
    assert!(renamed > 0, "{backend}: nothing renamed into place");
    // The manifest in place when the first job file goes in covers it: flushed by then.
    let manifest = calls
        .iter()
        .filter(|c| c.ok && c.name.starts_with("renameat") && c.start < first_job_rename)
        .map(|c| rename_paths(c).1)
        .find(|to| is_manifest(to));
    if let Some(manifest) = manifest {
        assert!(
            synced_between(&manifest, 0, first_job_rename),
            "{backend}: the pending manifest is not flushed before the first job file goes in"
        );
        assert!(
            synced_between(&parent(&manifest), 0, first_job_rename),
            "{backend}: the pending manifest's directory is not flushed before the first job \
             file goes in"
        );
    }
    let unsynced: BTreeSet<&String> = changed
        .iter()
        .filter(|(dir, &when)| !synced_between(dir, when, exit))
        .map(|(dir, _)| dir)
        .collect();
    assert!(
        unsynced.is_empty(),
        "{backend}: directories changed and not fsync'd afterwards: {unsynced:?}"
    );
}

fn procfile(labels: &[&str]) -> String {
    labels
        .iter()
        .map(|label| format!("{label}: bundle exec {label} --port $PORT\n"))
        .collect()
}

#[test]
fn every_file_and_changed_directory_is_fsynced_before_exit() {
    require_root();
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    // 64 MB of dirty data that is not the export's: far over the bound for a 3-job app (32 KiB
    // per write), so each file is fsync'd on its own rather than the filesystem flushed whole.
    let ballast = Sandbox::new();
    ballast.write("ballast", vec![b'x'; 64 << 20]);
    for backend in BACKENDS {
        // --root not made yet: the export makes it, and every directory below.
        let sandbox = Sandbox::new();
        let first = sandbox.write("app/Procfile.1", procfile(&["web", "worker", "clock"]));
        let second = sandbox.write("app/Procfile.2", procfile(&["web", "worker", "mailer"]));
        for procfile in [&first, &second] {
            let calls = traced(
                &sandbox,
                &[backend, "-p", procfile.to_str().unwrap(), "-n", "app"],
            );
            check(backend, &sandbox, &calls);
            // A 3-job app makes far fewer than 256 writes: past 8 MB, fsyncs are certain.
            let dirty = dirty_seen(&calls);
            if dirty > 8 << 20 {
                let whole: Vec<&Call> = calls.iter().filter(|c| c.name == "syncfs").collect();
                assert!(
                    whole.is_empty(),
                    "{backend}: {dirty} bytes dirty: {whole:?}"
                );
            }
        }
        // What the traced runs installed is what an untraced run installs.
        let files = sandbox.files();
        assert!(files.iter().any(|f| f.contains("mailer")), "{files:?}");
        assert!(!files.iter().any(|f| f.contains("clock")), "{files:?}");
    }
}

/// The dirty data procexport saw when it chose how to flush, in bytes: `Dirty` + `Writeback`
/// of the /proc/meminfo it read (the trace holds what `read` returned). Tests run in parallel
/// and write files of their own, so only this, not a reading of the test's, tells the choice.
fn dirty_seen(calls: &[Call]) -> u64 {
    let text = &calls
        .iter()
        .find(|c| c.name == "read" && c.args.contains("</proc/meminfo>"))
        .expect("procexport read /proc/meminfo")
        .args;
    let field = |name: &str| -> u64 {
        let at = text.find(name).expect("the field is there") + name.len();
        let kib: String = text[at..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        kib.parse::<u64>().unwrap() * 1024
    };
    field("Dirty:") + field("Writeback:")
}

#[test]
fn a_large_export_flushed_by_filesystem_keeps_the_same_order() {
    require_root();
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    // 60 runit services: 60 x 13 files, directories and links. One syncfs is chosen while the
    // kernel holds no more than 32 KiB of dirty data per write (about 24 MB here).
    let sandbox = Sandbox::new();
    let procfile = sandbox.write("app/Procfile", procfile(&["web", "worker"]));
    let args = |formation: &'static str| {
        let procfile = procfile.to_str().unwrap().to_owned();
        [
            "runit".to_owned(),
            "-p".to_owned(),
            procfile,
            "-n".to_owned(),
            "app".to_owned(),
        ]
        .into_iter()
        .chain(["-m".to_owned(), formation.to_owned()])
        .collect::<Vec<String>>()
    };
    for formation in ["web=30,worker=30", "web=20,worker=35"] {
        let synced = Command::new("sync").status().expect("sync runs");
        assert!(synced.success());
        let args = args(formation);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let calls = traced(&sandbox, &args);
        check("runit", &sandbox, &calls);
        let flushed_whole = calls.iter().filter(|c| c.ok && c.name == "syncfs").count();
        let fsyncs = calls.iter().filter(|c| c.ok && c.name == "fsync").count();
        // The writes of this run: each file and link renamed into place, each directory made
        // (off by the manifest and the directories made on the way: hence the margins below).
        let writes = calls
            .iter()
            .filter(|c| c.ok && (c.name.starts_with("renameat") || c.name == "mkdirat"))
            .count();
        let bound = u64::try_from(writes).unwrap() * (32 << 10);
        let dirty = dirty_seen(&calls);
        if dirty < bound / 2 {
            // One syncfs before the renames and one after, instead of hundreds of fsyncs.
            assert_eq!(
                flushed_whole, 2,
                "{formation}: {dirty} dirty, {fsyncs} fsyncs"
            );
            assert!(
                fsyncs < 10,
                "{formation}: {fsyncs} fsyncs besides the syncfs"
            );
        } else if dirty > bound * 2 {
            assert_eq!(
                flushed_whole, 0,
                "{formation}: {dirty} dirty, {writes} writes"
            );
        }
    }
    // The fresh export, at least, ran with little dirty data (just after a `sync`) and so took
    // the syncfs path: checked above when `dirty < bound / 2`, about 12 MB here.
    let files = sandbox.files();
    assert!(
        files.iter().any(|f| f.ends_with("fb-app-worker_34/run")),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.contains("web_25")), "{files:?}");
}
