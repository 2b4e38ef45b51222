//! The fixed part of a run, from the outside (`strace` counting opens): each account is
//! looked up once, however many places need its uid, gid or home (this machine's `files`
//! source: the run user's entry, uid and home in one `getpwnam`; the home of the user running
//! procexport, for the `~/` keys; the run group's entry), and the walk from `/` is made once,
//! every later directory opened from one already checked on the way.

use crate::support::{require_root, Sandbox};

/// The opens `args` (after the binary) makes, traced.
fn opens(sandbox: &Sandbox, args: &[&str]) -> String {
    sandbox.strace(&["-e", "trace=open,openat"], args)
}

/// How many times `args` opens /etc/passwd and /etc/group.
fn account_reads(sandbox: &Sandbox, args: &[&str]) -> (usize, usize) {
    let text = opens(sandbox, args);
    let count = |path: &str| text.lines().filter(|l| l.contains(path)).count();
    (count("\"/etc/passwd\""), count("\"/etc/group\""))
}

#[test]
fn each_account_is_looked_up_once_per_run() {
    require_root();
    for backend in ["upstart", "runit", "systemd"] {
        let sandbox = Sandbox::new();
        let procfile = sandbox.procfile("web: ./web\nworker: ./worker\nclock: ./clock\n");
        let export = [backend, "-p", procfile.to_str().unwrap(), "-n", "app"];
        let dry_run = [&["--dry-run"][..], &export[..]].concat();
        // Fresh, a dry run of the installed app, an unchanged re-export.
        for args in [&export[..], &dry_run[..], &export[..]] {
            let (passwd, group) = account_reads(&sandbox, args);
            assert!(
                passwd <= 2 && group <= 1,
                "{args:?}: /etc/passwd read {passwd} times (at most 2: the run user, the \
                 home of the user running procexport), /etc/group {group} (at most 1)"
            );
        }
        assert!(
            sandbox.files().iter().any(|f| f.contains("worker")),
            "{:?}",
            sandbox.files()
        );
    }
}

/// Every backend's manifest is read (to tell which backends the app is installed with), then
/// the jobs' directories: each walk starts from a directory an earlier one opened and checked,
/// so `/` is opened once, and every component still with `O_NOFOLLOW`.
#[test]
fn the_walk_from_the_root_is_made_once_per_run() {
    require_root();
    for backend in ["upstart", "runit", "systemd"] {
        let sandbox = Sandbox::new();
        let procfile = sandbox.procfile("web: ./web\nworker: ./worker\n");
        let export = [backend, "-p", procfile.to_str().unwrap(), "-n", "app"];
        let dry_run = [&["--dry-run"][..], &export[..]].concat();
        for args in [&export[..], &dry_run[..], &export[..]] {
            let text = opens(&sandbox, args);
            let from_root = text
                .lines()
                .filter(|l| l.contains("(AT_FDCWD, \"/\","))
                .count();
            assert_eq!(from_root, 1, "{args:?} opened / {from_root} times:\n{text}");
            let unsafe_dirs: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("O_DIRECTORY") && !l.contains("O_NOFOLLOW"))
                .collect();
            assert!(unsafe_dirs.is_empty(), "{args:?}: {unsafe_dirs:?}");
        }
        assert!(
            sandbox.files().iter().any(|f| f.contains("worker")),
            "{:?}",
            sandbox.files()
        );
    }
}
