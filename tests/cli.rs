//! The command line as a user meets it: help, exit statuses, flags before or after the
//! subcommand.

use crate::support::{bin, require_root, run, Sandbox};
use std::process::Command;

#[test]
fn help_shows_examples_and_exits_0() {
    let outcome = run(Command::new(bin()).arg("--help"));
    assert_eq!(outcome.code, 0);
    assert!(
        outcome.stdout.contains("Examples:")
            && outcome.stdout.contains("sudo procexport upstart -p")
    );
    for sub in ["upstart", "systemd", "runit", "clean"] {
        let outcome = run(Command::new(bin()).args([sub, "--help"]));
        assert_eq!(outcome.code, 0, "{sub}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["upstart"][..],
        &["upstart", "-p", "P"],
        &["frobnicate"],
        &["clean"],
    ] {
        let outcome = run(Command::new(bin()).args(args));
        assert_eq!(outcome.code, 2, "{args:?}: {}", outcome.stderr);
    }
}

#[test]
fn dry_run_is_accepted_before_or_after_the_subcommand_and_writes_nothing() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: bundle exec puma\n");
    let p = procfile.to_str().unwrap();
    let before = sandbox
        .run(&["--dry-run", "upstart", "-p", p, "-n", "myapp"])
        .success();
    let after = sandbox
        .run(&["upstart", "-p", p, "-n", "myapp", "--dry-run"])
        .success();
    assert_eq!(before.stdout, after.stdout);
    assert!(before
        .stdout
        .contains("=== create /etc/init/fb-myapp-web.conf (file, mode 0644, owner root:root)"));
    assert!(
        before.stdout.contains("exec bundle exec puma"),
        "full contents are shown"
    );
    assert!(
        sandbox.snapshot().is_empty(),
        "a dry run wrote {:?}",
        sandbox.snapshot().keys()
    );
}

#[test]
fn io_failures_exit_1() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: a\n");
    // The root is a file: the writer cannot make directories in it.
    std::fs::write(sandbox.root(), "not a dir").unwrap();
    sandbox.export("upstart", &procfile, "myapp").failure(1);
}

/// The backends whose init procexport does not tell after a change print what to run next,
/// once, on the live system; under `--root` the files are not this system's and they do not.
#[test]
fn the_next_step_is_printed_once_after_a_live_change_and_not_under_root() {
    require_root();
    for (backend, next) in [
        ("sysv", "enable it at boot with update-rc.d <name> defaults"),
        ("openrc", "start the app with rc-service <app> start"),
        (
            "launchd",
            "load the daemons with launchctl bootstrap system",
        ),
    ] {
        let live = Sandbox::live("");
        let procfile = live.procfile("web: sleep 1000\n");
        let outcome = live.export(backend, &procfile, "myapp").success();
        assert_eq!(
            outcome.stderr.matches(next).count(),
            1,
            "{backend}: {}",
            outcome.stderr
        );
        let rooted = Sandbox::new();
        let procfile = rooted.procfile("web: sleep 1000\n");
        let outcome = rooted.export(backend, &procfile, "myapp").success();
        assert!(
            !outcome.stderr.contains(next),
            "{backend}: {}",
            outcome.stderr
        );
    }
}
