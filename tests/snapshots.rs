//! The root-free tier's snapshots: the `--dry-run` output of every golden case through every
//! backend, which shows every file an export would install, with its path, mode, owner and
//! contents. Any contributor regenerates them without root (`INSTA_UPDATE=always cargo test
//! snapshots`, or `cargo insta review`), and the diff is reviewed like code. The run user is
//! `daemon`, which every Debian, Ubuntu and Fedora system has.

use crate::support::BACKENDS;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

/// The dry run of `case` through `backend`, with the checkout's path made neutral.
fn dry_run(case: &str, backend: &str) -> String {
    let dir = fixtures().join(case);
    let work = tempfile::tempdir().unwrap();
    let extra = fs::read_to_string(dir.join("config.yaml")).unwrap_or_default();
    let config = work.path().join("config.yaml");
    fs::write(
        &config,
        format!("run_user: daemon\nrun_group: daemon\n{extra}"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_procexport"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .arg("--dry-run")
        .arg("--config")
        .arg(&config)
        .arg("--root")
        .arg(work.path().join("root"))
        .args([backend, "-p"])
        .arg(dir.join("Procfile"))
        .args(["-n", "myapp"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{case}/{backend}: {stderr}");
    assert!(
        !work.path().join("root").exists(),
        "{case}/{backend}: a dry run wrote files"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stdout = stdout.replace(dir.to_str().unwrap(), "[CASE]");
    // systemd-user's files are in the home of whoever runs the tests.
    let own_home = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .map(|u| u.dir.display().to_string())
        .unwrap_or_default();
    let stdout = if own_home.len() > 1 {
        stdout.replace(&format!("{own_home}/"), "[HOME]/")
    } else {
        stdout
    };
    // HOME is the run user's home, which differs between systems (daemon's is /usr/sbin on
    // Debian, /sbin on Fedora).
    match nix::unistd::User::from_name("daemon").ok().flatten() {
        Some(user) if user.dir.as_os_str().len() > 1 => {
            let home = user.dir.to_str().unwrap();
            stdout
                .replace(&format!("HOME={home}\n"), "HOME=[HOME]\n")
                .replace(&format!("HOME=\"{home}\"\n"), "HOME=\"[HOME]\"\n")
                .replace(
                    &format!("env/HOME (file, mode 0640, owner root:daemon)\n{home}\n"),
                    "env/HOME (file, mode 0640, owner root:daemon)\n[HOME]\n",
                )
        }
        _ => stdout,
    }
}

macro_rules! snapshots {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                for backend in BACKENDS {
                    let name = format!("{}__{backend}", stringify!($case));
                    insta::assert_snapshot!(name, dry_run(stringify!($case), backend));
                }
            }
        )*
    };
}

/// Snapshots of a case through the named backends only: init-exporter's own v2 test file
/// sets keys the other backends refuse (`tests/bad_input.rs` checks they do).
macro_rules! snapshots_for {
    ($($case:ident: [$($backend:literal),+]),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                for backend in [$($backend),+] {
                    let name = format!("{}__{backend}", stringify!($case));
                    insta::assert_snapshot!(name, dry_run(stringify!($case), backend));
                }
            }
        )*
    };
}

// init-exporter's testdata/procfile_v2 with its policy; for Upstart without kill_mode and the
// resource limits, which Upstart cannot carry.
snapshots_for!(
    v2_init_exporter: ["systemd"],
    v2_init_exporter_upstart: ["upstart"],
    v2_carried: ["runit", "supervisord", "sysv", "openrc"],
    v2_carried_launchd: ["launchd"],
);

snapshots!(
    v2_gem_example,
    v1_basic,
    v2_every_option,
    v2_runlevels,
    v2_single_user,
    v2_foreman,
);
