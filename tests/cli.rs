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
