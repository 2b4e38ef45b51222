//! The account database, from the outside: a run looks each account up once, however many
//! places need its uid, gid or home. `strace` counts the opens of /etc/passwd and /etc/group
//! (this machine's `files` source): the run user's entry (uid and home in one `getpwnam`),
//! the home of the user running procexport (for the `~/` keys) and the run group's entry.

use crate::support::{bin, require_root, Sandbox};
use std::process::Command;

/// How many times `args` (after the binary) opens /etc/passwd and /etc/group, traced.
fn account_reads(sandbox: &Sandbox, args: &[&str]) -> (usize, usize) {
    let trace = sandbox.path().join("lookups.strace");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat", "-o"])
        .arg(&trace)
        .arg(bin())
        .arg("--config")
        .arg(sandbox.config_path())
        .arg("--root")
        .arg(sandbox.root())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .current_dir(sandbox.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("strace runs (apt-get install strace)");
    assert!(status.success(), "procexport {args:?} failed under strace");
    let text = std::fs::read_to_string(&trace).unwrap();
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
