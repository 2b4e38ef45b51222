//! The life of an app's install: shrinking re-exports, failed exports, clean, and exports
//! that race. Runs against every backend.

use crate::support::{require_root, Node, Sandbox, Tree};
use pretty_assertions::assert_eq;
use std::collections::BTreeSet;
use std::fs;

const THREE: &str = "web: bundle exec puma\nworker: rake jobs:work\nclock: clockwork clock.rb\n";
const TWO: &str = "web: bundle exec puma\nworker: rake jobs:work\n";

/// The live paths the app's manifest lists for `backend`.
fn manifest(sandbox: &Sandbox, backend: &str, app: &str) -> BTreeSet<String> {
    let path = sandbox.host(&format!(
        "{}/{backend}/fb-{app}.manifest",
        crate::support::state_dir(backend)
    ));
    fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|l| l.split_once(' '))
                .filter(|(kind, _)| matches!(*kind, "file" | "dir" | "link"))
                .map(|(_, path)| path.to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The snapshot keys (relative to root/) of the given live paths.
fn keys(sandbox: &Sandbox, paths: &BTreeSet<String>) -> BTreeSet<String> {
    paths
        .iter()
        .map(|p| p.trim_start_matches('/').to_owned())
        .filter(|_| !sandbox.live)
        .collect()
}

fn without(tree: &Tree, gone: &BTreeSet<String>) -> Tree {
    tree.iter()
        .filter(|(k, _)| !gone.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn reexport_with_fewer_jobs_removes_the_old_ones(backend: &str) {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(THREE);
    sandbox.export(backend, &procfile, "myapp").success();
    let three = manifest(&sandbox, backend, "myapp");
    assert!(three.iter().any(|p| p.contains("-clock")), "{three:?}");
    sandbox.procfile(TWO);
    sandbox.export(backend, &procfile, "myapp").success();
    let two = manifest(&sandbox, backend, "myapp");
    assert!(!two.iter().any(|p| p.contains("clock")), "{two:?}");
    let after = sandbox.snapshot();
    assert!(
        !after.keys().any(|p| p.contains("myapp-clock")),
        "clock's files are left: {:?}",
        after.keys()
    );
    for path in &two {
        assert!(
            sandbox.host(path).symlink_metadata().is_ok(),
            "{path} is missing"
        );
    }
    // The manifest names exactly the app's files on disk.
    let on_disk: BTreeSet<String> = after
        .keys()
        .filter(|k| {
            k.contains("fb-myapp")
                && !k.starts_with("var/lib/procexport")
                && !k.starts_with(crate::support::state_dir(backend).trim_start_matches('/'))
                && !k.starts_with("var/log")
        })
        .cloned()
        .collect();
    assert_eq!(on_disk, keys(&sandbox, &two));
}

pub fn failed_export_changes_nothing(backend: &str) {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(THREE);
    sandbox.export(backend, &procfile, "myapp").success();
    let before = sandbox.snapshot();
    sandbox.procfile("web: a\nworker.2: b\n");
    sandbox.export(backend, &procfile, "myapp").failure(2);
    assert_eq!(sandbox.snapshot(), before);
}

pub fn clean_removes_exactly_the_apps_files(backend: &str) {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(THREE);
    sandbox.export(backend, &procfile, "myapp").success();
    sandbox
        .export(backend, &procfile, "myapp_staging")
        .success();
    // Files the gem wrote for both apps before procexport, and logs the jobs wrote.
    let gem_files = [
        "/etc/init/fb-myapp-oldjob.conf",
        "/var/local/upstart_helpers/fb-myapp-oldjob.sh",
        "/etc/init/fb-myapp.conf",
    ];
    let neighbour_gem_file = "/etc/init/fb-myapp_staging-oldjob.conf";
    if backend == "upstart" {
        // What the gem's templates wrote: the jobs chain to their app's master and run their
        // helpers, which is what proves them each app's.
        let oldjob = |full: &str| {
            let helper = format!("/var/local/upstart_helpers/{full}-oldjob.sh");
            crate::support::gem_job(full, "oldjob", &helper)
        };
        for (path, text) in [
            (gem_files[0], oldjob("fb-myapp")),
            (gem_files[1], crate::support::GEM_HELPER.to_owned()),
            (gem_files[2], crate::support::gem_master("fb-myapp")),
            (neighbour_gem_file, oldjob("fb-myapp_staging")),
        ] {
            let host = sandbox.host(path);
            if !host.exists() {
                fs::write(host, text).unwrap();
            }
        }
    }
    for log in [
        "/var/log/fb-myapp/web.log",
        "/var/log/fb-myapp_staging/web.log",
    ] {
        // (systemd-user's jobs log to the journal: no log directory was made for them.)
        fs::create_dir_all(sandbox.host(log).parent().unwrap()).unwrap();
        fs::write(sandbox.host(log), "a log line\n").unwrap();
    }
    let mut expected_gone = manifest(&sandbox, backend, "myapp");
    if backend == "upstart" {
        expected_gone.extend(gem_files.iter().map(|s| (*s).to_owned()));
    }
    expected_gone.insert(format!(
        "{}/{backend}/fb-myapp.manifest",
        crate::support::state_dir(backend)
    ));
    // The app holds nothing any more: its lock file goes too.
    expected_gone.insert(format!(
        "{}/fb-myapp.lock",
        crate::support::state_dir(backend)
    ));
    let before = sandbox.snapshot();
    // A clean of every backend takes each one's lock in its state directory; systemd-user's
    // is not /var/lib/procexport, which this tree then gains: it cleans its own backend only.
    let clean: &[&str] = if backend == "systemd-user" {
        &["clean", "-n", "myapp", "--backend", "systemd-user"]
    } else {
        &["clean", "-n", "myapp"]
    };
    let out = sandbox.run(clean).success();
    assert!(out.stdout.contains("removed"), "{}", out.stdout);
    let after = sandbox.snapshot();
    assert_eq!(after, without(&before, &keys(&sandbox, &expected_gone)));
    assert!(
        matches!(
            after.get("var/log/fb-myapp/web.log"),
            Some(Node::File { .. })
        ),
        "logs are kept"
    );
    if backend == "upstart" {
        assert!(after.contains_key(neighbour_gem_file.trim_start_matches('/')));
    }
    assert!(!manifest(&sandbox, backend, "myapp_staging").is_empty());
    // A second clean finds nothing and changes nothing.
    let again = sandbox.run(clean).success();
    assert!(
        again.stdout.contains("nothing is installed for fb-myapp"),
        "{}",
        again.stdout
    );
    assert_eq!(sandbox.snapshot(), after);
}

pub fn concurrent_exports_of_one_app_both_succeed(backend: &str) {
    require_root();
    let sandbox = Sandbox::new();
    let a = sandbox.write("app/Procfile.a", THREE);
    let b = sandbox.write("app/Procfile.b", TWO);
    let spawn = |procfile: &std::path::Path| {
        sandbox
            .command()
            .args([backend, "-p", procfile.to_str().unwrap(), "-n", "myapp"])
            .spawn()
            .unwrap()
    };
    for _ in 0..5 {
        let (mut first, mut second) = (spawn(&a), spawn(&b));
        assert!(first.wait().unwrap().success() && second.wait().unwrap().success());
        let listed = manifest(&sandbox, backend, "myapp");
        let jobs = listed.iter().filter(|p| p.contains("-clock")).count();
        // Whichever ran last wins, whole: with clock (THREE) or without it (TWO).
        let on_disk = sandbox
            .snapshot()
            .keys()
            .filter(|k| k.contains("myapp-clock"))
            .count();
        assert_eq!(
            jobs > 0,
            on_disk > 0,
            "manifest and disk disagree: {listed:?}"
        );
        for path in &listed {
            assert!(
                sandbox.host(path).symlink_metadata().is_ok(),
                "{path} is missing"
            );
        }
    }
}

/// Two exports of a new app, both started while another run holds the app's lock: the one
/// granted the lock second finds the manifest the first one wrote (what a run found missing
/// before it waited for the lock is looked for again), and both succeed. Before, the second
/// one refused the first one's files as installed by no one.
#[test]
fn an_export_that_waited_for_the_lock_sees_what_the_run_before_installed() {
    require_root();
    let sandbox = Sandbox::new();
    let three = sandbox.write("app/Procfile.a", THREE);
    let two = sandbox.write("app/Procfile.b", TWO);
    let state = sandbox.host("/var/lib/procexport");
    fs::create_dir_all(&state).unwrap();
    let held = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state.join("fb-myapp.lock"))
        .unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let spawn = |procfile: &std::path::Path| {
        sandbox
            .command()
            .args(["runit", "-p", procfile.to_str().unwrap(), "-n", "myapp"])
            .spawn()
            .unwrap()
    };
    let (mut first, mut second) = (spawn(&three), spawn(&two));
    // Both wait in flock before the lock is let go.
    for child in [&first, &second] {
        let wchan = format!("/proc/{}/wchan", child.id());
        crate::support::live::wait_for("the export to wait for the lock", 30, || {
            fs::read_to_string(&wchan)
                .ok()
                .filter(|w| w.contains("lock"))
        });
    }
    drop(held);
    let first = first.wait().unwrap();
    let second = second.wait().unwrap();
    assert!(first.success() && second.success(), "{first:?} {second:?}");
    let listed = manifest(&sandbox, "runit", "myapp");
    assert!(listed.iter().any(|p| p.contains("-web")), "{listed:?}");
}

/// Security round 3, item 2: 20 `clean -n ghostN` of apps that were never installed left 20
/// lock files in the state directory. A name that holds nothing leaves nothing behind, and an
/// app's lock file goes with its last manifest (not before: a clean of one of its two
/// backends keeps it).
#[test]
fn names_that_hold_nothing_leave_no_lock_file() {
    require_root();
    let sandbox = Sandbox::new();
    let locks = || -> Vec<String> {
        sandbox
            .snapshot()
            .into_keys()
            .filter(|k| k.ends_with(".lock"))
            .collect()
    };
    for i in 0..20 {
        let ghost = format!("ghost{i}");
        let out = sandbox.run(&["clean", "-n", &ghost]).success();
        assert!(
            out.stdout.contains("nothing is installed"),
            "{}",
            out.stdout
        );
        sandbox.run(&["start", "-n", &ghost]).failure(2);
        sandbox
            .run(&["clean", "-n", &ghost, "--backend", "runit"])
            .success();
    }
    assert_eq!(locks(), Vec::<String>::new());
    let procfile = sandbox.procfile(TWO);
    sandbox.export("runit", &procfile, "myapp").success();
    sandbox.export("upstart", &procfile, "myapp").success();
    assert_eq!(locks(), ["var/lib/procexport/fb-myapp.lock"]);
    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "runit"])
        .success();
    assert_eq!(locks(), ["var/lib/procexport/fb-myapp.lock"]);
    sandbox.run(&["clean", "-n", "myapp"]).success();
    assert_eq!(locks(), Vec::<String>::new());
}

/// The newcomer issue: `list` printed `fb-myapp`, and `status -n fb-myapp` answered "nothing
/// is installed for fb-fb-myapp". `list` prints the name `-n` takes, and every name it prints
/// is one `status`, `start`, `stop`, `restart` and `clean` act on; an app whose own name
/// starts with the prefix (`fb-other`, files `fb-fb-other*`) is listed and reached as itself.
#[test]
fn every_name_list_prints_is_one_the_app_commands_take() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(TWO);
    for app in ["myapp", "fb-other"] {
        sandbox.export("runit", &procfile, app).success();
    }
    let list = sandbox.run(&["list"]).success().stdout;
    let names: Vec<&str> = list
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(names, ["fb-other", "myapp"], "{list}");
    for name in names {
        let status = sandbox.run(&["status", "-n", name]).success().stdout;
        assert!(status.contains(&format!("fb-{name}-web")), "{status}");
        for action in ["start", "stop", "restart"] {
            let out = sandbox.run(&[action, "-n", name, "--dry-run"]).success();
            assert!(
                out.stdout.contains(&format!("would {action} fb-{name}:")),
                "{}",
                out.stdout
            );
        }
        let clean = sandbox.run(&["clean", "-n", name, "--dry-run"]).success();
        assert!(clean.stdout.contains("=== remove "), "{}", clean.stdout);
    }
    // A file name given where the app's name belongs is pointed to the name, not guessed at.
    sandbox
        .run(&["status", "-n", "fb-myapp"])
        .failure(2)
        .stderr_has("nothing is installed for fb-fb-myapp; -n takes the app's name as")
        .stderr_has(": -n myapp");
}

/// Moving an app from the gem: its job files for this app are replaced, and those of jobs the
/// Procfile no longer has are removed (a gem job left behind would still start with the app);
/// another app's gem files stay.
#[test]
fn export_takes_over_the_gems_files_for_the_app() {
    require_root();
    let sandbox = Sandbox::new();
    // What the gem's templates wrote: the jobs chain to their app's master and run their
    // helpers, which is what proves them each app's.
    let helper = |full: &str, label: &str| format!("/var/local/upstart_helpers/{full}-{label}.sh");
    let job = |full: &str, label: &str| crate::support::gem_job(full, label, &helper(full, label));
    let gem = [
        (
            "/etc/init/fb-myapp.conf".to_owned(),
            crate::support::gem_master("fb-myapp"),
        ),
        (
            "/etc/init/fb-myapp-web.conf".to_owned(),
            job("fb-myapp", "web"),
        ),
        (
            "/etc/init/fb-myapp-oldjob.conf".to_owned(),
            job("fb-myapp", "oldjob"),
        ),
        (
            helper("fb-myapp", "web"),
            crate::support::GEM_HELPER.to_owned(),
        ),
        (
            helper("fb-myapp", "oldjob"),
            crate::support::GEM_HELPER.to_owned(),
        ),
        (
            "/etc/init/fb-myapp_staging-web.conf".to_owned(),
            job("fb-myapp_staging", "web"),
        ),
    ];
    for (path, text) in gem {
        let host = sandbox.host(&path);
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        fs::write(host, text).unwrap();
    }
    let procfile = sandbox.procfile(TWO);
    sandbox.export("upstart", &procfile, "myapp").success();
    let tree = sandbox.snapshot();
    assert!(!tree.contains_key("etc/init/fb-myapp-oldjob.conf"));
    assert!(!tree.contains_key("var/local/upstart_helpers/fb-myapp-oldjob.sh"));
    let Some(Node::File { contents, .. }) = tree.get("etc/init/fb-myapp-web.conf") else {
        panic!("fb-myapp-web.conf is missing")
    };
    assert!(String::from_utf8_lossy(contents).contains("setuid pxrun"));
    assert!(
        tree.contains_key("etc/init/fb-myapp_staging-web.conf"),
        "another app's file was touched"
    );
}

macro_rules! backend_tests {
    ($($backend:ident),*) => {
        $(
            mod $backend {
                fn name() -> &'static str {
                    procexport::testing::backend_name(stringify!($backend))
                }

                #[test]
                fn reexport_with_fewer_jobs_removes_the_old_ones() {
                    super::reexport_with_fewer_jobs_removes_the_old_ones(name());
                }

                #[test]
                fn failed_export_changes_nothing() {
                    super::failed_export_changes_nothing(name());
                }

                #[test]
                fn clean_removes_exactly_the_apps_files() {
                    super::clean_removes_exactly_the_apps_files(name());
                }

                #[test]
                fn concurrent_exports_of_one_app_both_succeed() {
                    super::concurrent_exports_of_one_app_both_succeed(name());
                }
            }
        )*
    };
}

procexport::for_each_backend!(backend_tests);
