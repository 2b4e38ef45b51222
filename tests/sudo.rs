//! The root boundary attacked the way a deploy user would, through the real sudo: one host,
//! several apps and deploy users (`pxdeploy`, `pxother`), each allowed `sudo procexport` and
//! nothing else. Each test reproduces a hole an attack run found and shows it closed.

use crate::support::sudo::{sudo, sudo_bin, uid, LiveConfig, DEPLOY, OTHER};
use crate::support::{require_root, Node, Sandbox, RUN_USER};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

const BASELINE: &str = "web: bundle exec puma\nworker: rake jobs:work\n";

/// A sandbox whose config (also installed as /etc/procexport.yaml, the only one sudo'd
/// procexport reads) points every directory inside it; its Procfile readable by everyone.
fn setup(extra: &str, procfile: &str) -> (Sandbox, LiveConfig, String) {
    require_root();
    let sandbox = Sandbox::live(extra);
    let path = sandbox.procfile(procfile);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let config = LiveConfig::install(&fs::read_to_string(sandbox.config_path()).unwrap());
    (sandbox, config, path.to_str().unwrap().to_owned())
}

fn export(user: &str, backend: &str, procfile: &str, app: &str) -> crate::support::Outcome {
    sudo(user, &[backend, "-p", procfile, "-n", app])
}

/// Item 1: with an empty prefix, an existing root-owned `<log_dir>/<name>` (`/var/log/apt`)
/// was handed to the run user. Only a directory procexport made for the app is.
#[test]
fn an_existing_log_directory_is_never_handed_over() {
    let (sandbox, _config, procfile) = setup("prefix: \"\"\n", BASELINE);
    let apt = sandbox.root().join("var/log/apt");
    fs::create_dir_all(&apt).unwrap();
    fs::write(apt.join("history.log"), "root's log\n").unwrap();
    export(DEPLOY, "upstart", &procfile, "apt")
        .failure(1)
        .stderr_has("already exists and procexport did not make it");
    let meta = fs::metadata(&apt).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o755));
    assert!(!sandbox.root().join("etc/init/apt.conf").exists());
    // A directory procexport makes is the run user's, and stays so on the next export.
    export(DEPLOY, "upstart", &procfile, "shop").success();
    let shop = fs::metadata(sandbox.root().join("var/log/shop")).unwrap();
    assert_eq!(shop.uid(), uid(RUN_USER));
    export(DEPLOY, "upstart", &procfile, "shop").success();
}

/// Item 2: `-n systemd` with a label `journald` wrote `systemd-journald.service`, which
/// overrides the vendor's unit. A name anywhere on systemd's unit path is refused.
#[test]
fn a_name_on_systemds_unit_path_is_refused() {
    let vendor = Path::new("/lib/systemd/system/systemd-journald.service");
    assert!(
        vendor.exists(),
        "this test needs systemd installed (.ci/run)"
    );
    let (sandbox, _config, procfile) = setup("prefix: \"\"\n", "journald: sleep 1\n");
    export(DEPLOY, "systemd", &procfile, "systemd")
        .failure(1)
        .stderr_has("would override");
    assert!(!sandbox
        .root()
        .join("etc/systemd/system/systemd-journald.service")
        .exists());
}

/// Item 3: 160 KB of nested flow sequences took 75 s of root CPU. Refused before parsing.
#[test]
fn deeply_nested_yaml_is_refused_at_once() {
    let deep = format!(
        "version: 2\nenv: {}{}\ncommands:\n  web:\n    command: a\n",
        "[".repeat(80_000),
        "]".repeat(80_000)
    );
    let (_sandbox, _config, procfile) = setup("", &deep);
    let start = Instant::now();
    export(DEPLOY, "upstart", &procfile, "deep")
        .failure(2)
        .stderr_has("Procfile:2: collections nest more than 16 levels deep");
    // Not a timing assertion of speed, a bound on a hang: the old parser took 75 s.
    assert!(start.elapsed() < Duration::from_secs(30));
}

/// Item 4: a 391-byte Procfile made root write 20,001 files. Jobs per app are capped
/// before anything is built.
#[test]
fn jobs_per_app_are_capped_before_rendering() {
    let labels: String = (0..30)
        .map(|i| format!("  w{i}:\n    command: a\n    count: 1000\n"))
        .collect();
    let (sandbox, _config, procfile) = setup("", &format!("version: 2\ncommands:\n{labels}"));
    export(DEPLOY, "runit", &procfile, "bomb")
        .failure(2)
        .stderr_has("makes 30000 jobs")
        .stderr_has("at most 2000 per app (max_jobs)");
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
}

/// Item 5: a dry run through sudo marked another app's helper `unchanged` for a guessed
/// Procfile (confirming its secrets) and named its env files. Now another user's app is
/// refused outright, and the owner's own dry run never compares a file it cannot read.
#[test]
fn a_dry_run_through_sudo_is_no_oracle() {
    let secret =
        "version: 2\ncommands:\n  web:\n    command: a\n    env: {STRIPE_KEY: sk_live_1}\n";
    let (sandbox, _config, procfile) = setup("", secret);
    export(DEPLOY, "runit", &procfile, "billing").success();
    let guess = sandbox.write(
        "guess/Procfile",
        "version: 2\ncommands:\n  web:\n    command: a\n    env: {STRIPE_KEY: sk_live_1}\n",
    );
    fs::set_permissions(&guess, fs::Permissions::from_mode(0o644)).unwrap();
    let guess = guess.to_str().unwrap();
    let other = sudo(OTHER, &["--dry-run", "runit", "-p", guess, "-n", "billing"]).failure(1);
    assert!(
        other.stderr.contains("belongs to \"pxdeploy\""),
        "{}",
        other.stderr
    );
    assert!(!other.stdout.contains("unchanged") && !other.stdout.contains("STRIPE"));
    // The owner's dry run: the private env file is written, not compared.
    let own = sudo(
        DEPLOY,
        &["--dry-run", "runit", "-p", &procfile, "-n", "billing"],
    )
    .success();
    let env_line = own
        .stdout
        .lines()
        .find(|l| l.contains("/env/STRIPE_KEY"))
        .unwrap_or_else(|| panic!("{}", own.stdout));
    assert!(
        env_line.starts_with("=== write ") && env_line.contains("not compared"),
        "{env_line}"
    );
    // A world-readable file is compared as before.
    assert!(own.stdout.contains("=== unchanged "), "{}", own.stdout);
}

/// Item 6: any deploy user could re-export or clean any app (hijack of `billing`), and all
/// apps shared one run group, so one app's job could read another's env files.
#[test]
fn an_app_belongs_to_its_owner_and_its_managers() {
    let (sandbox, config, procfile) = setup("", BASELINE);
    export(DEPLOY, "upstart", &procfile, "billing").success();
    let manifest = sandbox
        .root()
        .join("var/lib/procexport/upstart/fb-billing.manifest");
    let text = fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(&format!("owner {}\n", uid(DEPLOY))), "{text}");
    let before = sandbox.snapshot();
    export(OTHER, "upstart", &procfile, "billing")
        .failure(1)
        .stderr_has("belongs to \"pxdeploy\"");
    sudo(OTHER, &["clean", "-n", "billing"])
        .failure(1)
        .stderr_has("belongs to \"pxdeploy\"");
    assert_eq!(sandbox.snapshot(), before, "a refused user changed the app");
    // The owner may; so may a manager the config lists.
    export(DEPLOY, "upstart", &procfile, "billing").success();
    let listed = format!(
        "{}apps:\n  billing:\n    managers: [{OTHER}]\n",
        fs::read_to_string(sandbox.config_path()).unwrap()
    );
    drop(config);
    let _config = LiveConfig::install(&listed);
    export(OTHER, "upstart", &procfile, "billing").success();
    sudo(OTHER, &["clean", "-n", "billing"]).success();
}

/// Item 6: per-app accounts. Each app's secrets are readable by its own group only.
#[test]
fn per_app_accounts_keep_each_apps_secrets_to_itself() {
    let env = "version: 2\ncommands:\n  web:\n    command: a\n    env: {TOKEN: t}\n";
    let (sandbox, _config, procfile) = setup(
        &format!("apps:\n  billing:\n    run_user: {DEPLOY}\n    run_group: {DEPLOY}\n"),
        env,
    );
    export(DEPLOY, "runit", &procfile, "billing").success();
    export(DEPLOY, "runit", &procfile, "shop").success();
    let group_of = |rel: &str| match &sandbox.snapshot()[rel] {
        Node::File { gid, mode, .. } => (*gid, *mode),
        other => panic!("{rel}: {other:?}"),
    };
    let deploy_gid = nix::unistd::Group::from_name(DEPLOY)
        .unwrap()
        .unwrap()
        .gid
        .as_raw();
    let run_gid = nix::unistd::Group::from_name(RUN_USER)
        .unwrap()
        .unwrap()
        .gid
        .as_raw();
    assert_eq!(
        group_of("etc/sv/fb-billing-web/env/TOKEN"),
        (deploy_gid, 0o640)
    );
    assert_eq!(group_of("etc/sv/fb-shop-web/env/TOKEN"), (run_gid, 0o640));
    // The billing job, as its own user, cannot read shop's env file.
    let shop_env = sandbox.root().join("etc/sv/fb-shop-web/env/TOKEN");
    let read = std::process::Command::new("setpriv")
        .args(["--reuid", DEPLOY, "--regid", DEPLOY, "--init-groups", "cat"])
        .arg(&shop_env)
        .output()
        .unwrap();
    assert!(!read.status.success(), "billing's user read shop's secret");
}

/// Item 6: a config can forbid apps it does not list.
#[test]
fn unlisted_apps_can_be_forbidden() {
    let (sandbox, _config, procfile) = setup("allow_unlisted_apps: false\n", BASELINE);
    export(DEPLOY, "upstart", &procfile, "rogue")
        .failure(1)
        .stderr_has("allow_unlisted_apps: false");
    assert!(sandbox.files().is_empty());
}

/// Item 7: a closed stdout and stderr (`... 2>&1 | head -c 10`) ended in a panic, exit 101.
/// Now the run ends quietly, with the exit status the README gives (141).
#[test]
fn a_closed_pipe_ends_quietly() {
    // Far more output than a pipe holds, so the writer is still writing when it closes.
    let many = "version: 2\ncommands:\n  web:\n    command: puma\n    count: 500\n";
    let (_sandbox, _config, procfile) = setup("", many);
    let script = format!(
        "exec 2>&1; exec sudo -n {} --dry-run upstart -p {procfile} -n pipe",
        sudo_bin()
    );
    let mut child = std::process::Command::new("/usr/sbin/runuser")
        .args(["-u", DEPLOY, "--", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut pipe, &mut first).unwrap();
    drop(pipe);
    let status = child.wait().unwrap();
    assert_eq!(&first, b"# dry run ");
    assert_eq!(status.code(), Some(141), "{status:?}");
}
