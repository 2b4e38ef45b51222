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

/// Every backend's manifest is looked for (to tell which backends the app is installed with), then
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

/// The directories `args` lists (`getdents64`, each descriptor shown as its path), below the
/// sandbox's root.
fn listed(sandbox: &Sandbox, args: &[&str]) -> Vec<String> {
    let text = sandbox.strace(&["-y", "-e", "trace=getdents64"], args);
    let root = sandbox.root().to_string_lossy().into_owned();
    let mut dirs: Vec<String> = text
        .lines()
        .filter_map(|l| {
            l.split_once('<')?
                .1
                .split_once('>')
                .map(|(p, _)| p.to_owned())
        })
        .filter(|p| p.starts_with(&root))
        .collect();
    dirs.dedup();
    dirs
}

/// A killed run's temp files are looked for in the app's directories only when the app's run
/// record (in its lock file) says one may have been left: after a run that ended well, an
/// unchanged re-export lists none of the jobs' directories; with no record (a lock file an
/// older build left empty), it lists them and removes a temp file of a process that is gone,
/// and a directory it was making under a temp name, with what is in it.
/// (A record spoilt by a run killed half way is the crash tests' case.)
#[test]
fn a_killed_runs_temp_files_are_looked_for_only_when_the_record_says_so() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: ./web\nworker: ./worker\n");
    let export = ["runit", "-p", procfile.to_str().unwrap(), "-n", "app"];
    sandbox.export("runit", &procfile, "app").success();
    let jobs = sandbox.root().join("etc/sv");
    let in_jobs = |dirs: &[String]| {
        let jobs = jobs.to_string_lossy().into_owned();
        dirs.iter().filter(|d| d.starts_with(&jobs)).count()
    };
    let unchanged = listed(&sandbox, &export);
    assert_eq!(
        in_jobs(&unchanged),
        0,
        "listed after a clean run: {unchanged:?}"
    );

    let state = sandbox.root().join("var/lib/procexport");
    let lock = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "lock"))
        .expect("the app's lock file");
    let record = std::fs::read_to_string(&lock).unwrap();
    assert!(record.starts_with("clean "), "{record:?}");
    std::fs::write(&lock, "").unwrap();
    let dead = (900_000..1_000_000)
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
        .unwrap();
    let web = std::fs::read_dir(&jobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-web"))
        .expect("the web job's directory");
    let left = web.join(format!(".procexport-{dead}-1.tmp"));
    std::fs::write(&left, "left by a killed run").unwrap();
    // A new service directory it was making whole under a temp name, with a link in it to
    // a file and one to a directory elsewhere: the links go, never what they point to.
    let tree = jobs.join(format!(".procexport-{dead}-2.tmp"));
    let elsewhere = sandbox.root().join("elsewhere");
    std::fs::create_dir_all(tree.join("env")).unwrap();
    std::fs::create_dir_all(elsewhere.join("dir")).unwrap();
    std::fs::write(tree.join("env/PORT"), "5000\n").unwrap();
    std::fs::write(tree.join("run"), "#!/bin/sh\n").unwrap();
    std::fs::write(elsewhere.join("file"), "kept").unwrap();
    std::fs::write(elsewhere.join("dir/inside"), "kept").unwrap();
    std::os::unix::fs::symlink(elsewhere.join("file"), tree.join("env/file")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("dir"), tree.join("dir")).unwrap();
    let looked = listed(&sandbox, &export);
    assert!(in_jobs(&looked) >= 2, "not looked for: {looked:?}");
    assert!(!left.exists(), "a dead process's temp file was left");
    assert!(
        tree.symlink_metadata().is_err(),
        "a dead process's temp directory was left"
    );
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("file")).unwrap(),
        "kept"
    );
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("dir/inside")).unwrap(),
        "kept"
    );
    let record = std::fs::read_to_string(&lock).unwrap();
    assert!(
        record.starts_with("clean ") && record.contains("runit"),
        "{record:?}"
    );
}
