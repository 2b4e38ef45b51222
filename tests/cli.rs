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

/// Issue 23: procexport called as `init-exporter` takes init-exporter's command line:
/// `init-exporter -p Procfile -f systemd myapp` installs the same files as `procexport
/// systemd -p Procfile -n myapp`, and `init-exporter -u -f systemd myapp` leaves the same
/// tree as `procexport clean -n myapp`; procexport's own --config and --root keep working.
#[test]
fn init_exporters_command_line_installs_and_uninstalls_as_procexport_does() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: bundle exec puma\nworker: rake jobs:work\n");
    let procfile = procfile.to_str().unwrap();
    let link = sandbox.path().join("init-exporter");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let as_init_exporter = |args: &[&str]| {
        // sandbox.command()'s flags (--config, --root), under the other name.
        let flags: Vec<_> = sandbox
            .command()
            .get_args()
            .map(ToOwned::to_owned)
            .collect();
        let mut command = Command::new(&link);
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir(sandbox.path())
            .args(flags)
            .args(args);
        run(&mut command)
    };
    for format in ["systemd", "upstart"] {
        sandbox
            .export(format, std::path::Path::new(procfile), "myapp")
            .success();
        let ours = sandbox.snapshot();
        sandbox.run(&["clean", "-n", "myapp"]).success();
        // A clean keeps the logs; a log directory procexport did not make is not recorded
        // as its own, so the next export starts as the first did.
        std::fs::remove_dir(sandbox.root().join("var/log/fb-myapp")).unwrap();
        let cleaned = sandbox.snapshot();
        assert!(ours != cleaned, "{format}: the clean changed nothing");
        as_init_exporter(&["-p", procfile, "-f", format, "myapp"]).success();
        assert!(sandbox.snapshot() == ours, "{format}: the exports differ");
        as_init_exporter(&["-u", "-f", format, "myapp"]).success();
        std::fs::remove_dir(sandbox.root().join("var/log/fb-myapp")).unwrap();
        assert!(
            sandbox.snapshot() == cleaned,
            "{format}: the uninstalls differ"
        );
    }
    // Without -f it does not guess the init; with a wrong one it says which it takes.
    as_init_exporter(&["-p", procfile, "myapp"])
        .failure(2)
        .stderr_has("-f systemd");
    as_init_exporter(&["-p", procfile, "-f", "runit", "myapp"])
        .failure(2)
        .stderr_has("upstart or systemd");
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
