//! systemd user units: exported by an unprivileged user (the run user, through setpriv, as a
//! deploy user without sudo would), into directories of that user, with no root involved;
//! refused as root; the units checked by `systemd-analyze verify --user`.
//! (A real user manager is not started here: see the README's systemd-user section.)

use crate::support::{require_root, run, Node, Outcome, Sandbox, RUN_USER};
use procexport::testing::systemd_verify_user;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A sandbox whose `home/` belongs to the run user, with a config (root's, readable by all)
/// that puts systemd-user's directories in it and makes the run user the app's run user.
fn user_sandbox() -> (Sandbox, PathBuf) {
    require_root();
    let sandbox = Sandbox::new();
    let home = sandbox.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(&home, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    let h = home.display();
    sandbox.write_config(&format!(
        "run_user: {RUN_USER}\nrun_group: {RUN_USER}\nsystemd_user_dir: {h}/.config/systemd/user\n\
         systemd_user_env_dir: {h}/.config/procexport/env\nsystemd_user_state_dir: {h}/.local/state/procexport\n"
    ));
    fs::set_permissions(sandbox.config_path(), fs::Permissions::from_mode(0o644)).unwrap();
    (sandbox, home)
}

/// procexport run as the run user, with no sudo in sight.
fn as_user(sandbox: &Sandbox, args: &[&str]) -> Outcome {
    run(
        crate::support::as_run_user(crate::support::bin().to_str().unwrap())
            .arg("--config")
            .arg(sandbox.config_path())
            .args(args)
            .current_dir(sandbox.path()),
    )
}

#[test]
fn a_user_without_sudo_exports_into_their_own_directories() {
    let (sandbox, home) = user_sandbox();
    let procfile = sandbox.procfile(
        "version: 2\nenv: {SECRET: \"s3cr3t 100% $HOME\"}\ncommands:\n  web:\n    command: exec sleep 1000\n  clock:\n    command: exec sleep 1001\n    log: /tmp/clock.log\n",
    );
    fs::set_permissions(&procfile, fs::Permissions::from_mode(0o644)).unwrap();
    let p = procfile.to_str().unwrap();
    let outcome = as_user(&sandbox, &["systemd-user", "-p", p, "-n", "myapp"]).success();
    assert!(
        outcome
            .stderr
            .contains("did not run systemctl --user daemon-reload"),
        "{}",
        outcome.stderr
    );
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    let units = home.join(".config/systemd/user");
    let env = home.join(".config/procexport/env/fb-myapp-web.env");
    for path in [
        units.join("fb-myapp.target"),
        units.join("fb-myapp-web.service"),
        env.clone(),
        home.join(".local/state/procexport/systemd-user/fb-myapp.manifest"),
    ] {
        let meta = fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(meta.uid(), user.uid.as_raw(), "{}", path.display());
    }
    assert_eq!(fs::metadata(&env).unwrap().mode() & 0o777, 0o600);
    assert!(fs::read_to_string(&env).unwrap().contains("s3cr3t"));
    let link = units.join("default.target.wants/fb-myapp.target");
    assert_eq!(fs::read_link(&link).unwrap(), units.join("fb-myapp.target"));
    let web = fs::read_to_string(units.join("fb-myapp-web.service")).unwrap();
    assert!(
        !web.lines().any(|l| l.starts_with("User=")) && !web.contains("s3cr3t"),
        "{web}"
    );
    assert!(web.contains("SyslogIdentifier=fb-myapp-web"), "{web}");
    let clock = fs::read_to_string(units.join("fb-myapp-clock.service")).unwrap();
    assert!(clock.contains(">>/tmp/clock.log"), "{clock}");
    // Nothing outside the user's home.
    assert!(!sandbox.root().exists());
    let service_files: Vec<PathBuf> = [
        "fb-myapp.target",
        "fb-myapp-web.service",
        "fb-myapp-clock.service",
    ]
    .iter()
    .map(|n| units.join(n))
    .collect();
    systemd_verify_user(&service_files, &units).unwrap_or_else(|e| panic!("{e}"));
    // A shrinking export and a clean, as the user.
    sandbox.procfile("web: exec sleep 1000\n");
    as_user(&sandbox, &["systemd-user", "-p", p, "-n", "myapp"]).success();
    assert!(!units.join("fb-myapp-clock.service").exists());
    as_user(
        &sandbox,
        &["clean", "-n", "myapp", "--backend", "systemd-user"],
    )
    .success();
    for gone in [
        units.join("fb-myapp.target"),
        units.join("fb-myapp-web.service"),
        link,
        env,
    ] {
        assert!(
            gone.symlink_metadata().is_err(),
            "{} is left",
            gone.display()
        );
    }
}

#[test]
fn a_run_user_that_is_not_the_invoking_user_is_refused() {
    let (sandbox, home) = user_sandbox();
    let config = fs::read_to_string(sandbox.config_path()).unwrap();
    let procfile = sandbox.procfile("web: exec sleep 1000\n");
    fs::set_permissions(&procfile, fs::Permissions::from_mode(0o644)).unwrap();
    let p = procfile.to_str().unwrap();
    let mine = format!("run_user: {RUN_USER}\nrun_group: {RUN_USER}\n");
    // At the top level, and in the exported app's own section: bad input (exit 2) naming the
    // file, the line and the key, and what to write instead.
    for (text, line, key) in [
        (config.replace(&mine, "run_user: daemon\n"), 1, "run_user"),
        (
            config.replace(&mine, &format!("run_user: {RUN_USER}\nrun_group: daemon\n")),
            2,
            "run_group",
        ),
        (
            format!("{config}apps:\n  myapp:\n    run_user: daemon\n"),
            8,
            "apps.myapp.run_user",
        ),
    ] {
        sandbox.write_config(&text);
        fs::set_permissions(sandbox.config_path(), fs::Permissions::from_mode(0o644)).unwrap();
        let out = as_user(&sandbox, &["systemd-user", "-p", p, "-n", "myapp"])
            .failure(2)
            .stderr_has(&format!("config.yaml:{line}: {key} \"daemon\" is not "))
            .stderr_has(&format!("remove {key} (no config is needed) or write "))
            .stderr_has(&format!(": {RUN_USER}"));
        assert!(out.stdout.is_empty(), "{text}");
        assert!(
            !home.join(".config").exists() && !home.join(".local").exists(),
            "{text}: something was written"
        );
    }
}

/// No config is needed: the run user is the user running procexport. A config may still set
/// directories, and another app's section may name its own run user (it is for the system
/// backends).
#[test]
fn without_run_user_the_jobs_run_as_the_invoking_user() {
    let (sandbox, home) = user_sandbox();
    let config = fs::read_to_string(sandbox.config_path()).unwrap();
    sandbox.write_config(&format!(
        "{}apps:\n  billing:\n    run_user: daemon\n",
        config.replace(
            &format!("run_user: {RUN_USER}\nrun_group: {RUN_USER}\n"),
            ""
        )
    ));
    fs::set_permissions(sandbox.config_path(), fs::Permissions::from_mode(0o644)).unwrap();
    // Nothing installed yet: the commands say so, and make no state directory to lock in.
    for command in [&["start", "-n", "myapp"][..], &["status", "-n", "myapp"]] {
        as_user(&sandbox, command)
            .failure(2)
            .stderr_has("nothing is installed for fb-myapp");
    }
    assert!(!home.join(".local").exists(), "a state directory was made");
    let procfile = sandbox.procfile("web: exec sleep 1000\n");
    fs::set_permissions(&procfile, fs::Permissions::from_mode(0o644)).unwrap();
    as_user(
        &sandbox,
        &[
            "systemd-user",
            "-p",
            procfile.to_str().unwrap(),
            "-n",
            "myapp",
        ],
    )
    .success();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    let env = fs::read_to_string(home.join(".config/procexport/env/fb-myapp-web.env")).unwrap();
    assert!(env.contains(&format!("USER=\"{RUN_USER}\"\n")), "{env}");
    assert!(
        env.contains(&format!("HOME=\"{}\"\n", user.dir.display())),
        "{env}"
    );
    // status, list and clean as the user, without --backend: the user's own app.
    let list = as_user(&sandbox, &["list"]).success().stdout;
    assert!(
        list.contains(&format!("myapp  systemd-user  1     {RUN_USER}")),
        "{list}"
    );
    as_user(&sandbox, &["clean", "-n", "myapp"]).success();
    assert!(!home
        .join(".config/systemd/user/fb-myapp-web.service")
        .exists());
}

#[test]
fn root_is_refused_through_sudo_and_without_it() {
    let (sandbox, home) = user_sandbox();
    let procfile = sandbox.procfile("web: exec sleep 1000\n");
    let p = procfile.to_str().unwrap();
    // Plain root, files to the live system.
    let plain = run(Command::new(crate::support::bin())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .arg("--config")
        .arg(sandbox.config_path())
        .args(["systemd-user", "-p", p, "-n", "myapp"]));
    let plain = plain
        .failure(1)
        .stderr_has("run it as the deploy user, without sudo");
    assert!(plain.stdout.is_empty());
    // Root has no user apps to act on: naming the backend is refused, before any lock.
    let control = run(Command::new(crate::support::bin())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .arg("--config")
        .arg(sandbox.config_path())
        .args(["start", "-n", "myapp", "--backend", "systemd-user"]));
    control
        .failure(1)
        .stderr_has("run it as the deploy user, without sudo");
    // Through sudo procexport is root too (the check is on the effective uid), and --config
    // is refused there anyway; with /etc/procexport.yaml it meets the same refusal.
    // Nothing was written anywhere.
    assert!(fs::read_dir(&home).unwrap().next().is_none());
    let snapshot = sandbox.snapshot();
    assert!(snapshot.values().all(|n| !matches!(n, Node::File { .. })));
    assert!(!Path::new("/root/.config/systemd/user/fb-myapp.target").exists());
}
