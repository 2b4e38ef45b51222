//! The root boundary attacked the way a deploy user would, through the real sudo: one host,
//! several apps and deploy users (`pxdeploy`, `pxother`), each allowed `sudo procexport` and
//! nothing else. Each test reproduces a hole an attack run found and shows it closed.

use crate::support::sudo::{sudo, sudo_limited, uid, LiveConfig, DEPLOY, OTHER, SUDO_BIN};
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
    let script =
        format!("exec 2>&1; exec sudo -n {SUDO_BIN} --dry-run upstart -p {procfile} -n pipe");
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

// Security round 3: memory was spent before the bounds were checked. Each run below is
// made under an address-space limit of 256 MiB: the old code died there of a failed
// allocation (exit 134); a bound that holds refuses with exit 2 and names its config key.

/// The address-space limit every refused input must stay within.
const MEMORY: &str = "--as=268435456";

/// Writes `text` into the sandbox as `rel`, readable by the deploy users.
fn readable(sandbox: &Sandbox, rel: &str, text: &[u8]) -> String {
    let path = sandbox.write(rel, text);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Round 3, item 1: a 1 MiB value aliased 50 times with `count: 1000` made a dry run
/// allocate about 8 GB. The values are counted as the aliases expand, and the run stops
/// before the value that does not fit is copied.
#[test]
fn yaml_aliases_are_bounded_while_they_expand() {
    let aliases: String = (0..50).map(|i| format!("      K{i}: *big\n")).collect();
    let bomb = format!(
        "version: 2\nenv:\n  BIG: &big {}\ncommands:\n  web:\n    command: run\n    \
         count: 1000\n    env:\n{aliases}",
        "x".repeat(1 << 20)
    );
    let (sandbox, _config, procfile) = setup("", &bomb);
    let dry = ["--dry-run", "systemd", "-p", &procfile, "-n", "bomb"];
    sudo_limited(&[MEMORY], DEPLOY, &dry)
        .failure(2)
        .stderr_has("Procfile:")
        .stderr_has("once its aliases (*name) are expanded")
        .stderr_has("at most 16384 KiB (max_expanded_bytes)");
    // The same without `count`: the expansion alone is past the bound.
    let single = bomb.replace("    count: 1000\n", "");
    let single = readable(&sandbox, "app/Single", single.as_bytes());
    let dry = ["--dry-run", "systemd", "-p", &single, "-n", "bomb"];
    sudo_limited(&[MEMORY], DEPLOY, &dry)
        .failure(2)
        .stderr_has("(max_expanded_bytes)");
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
}

/// Round 3, item 1: a 3 MB `.env` value with `count: 1000` reached 3 GB, because the
/// output was estimated only once every job (each with its own copy of the env) was built.
/// The estimate is made from each type's values times its instances, before any job is.
#[test]
fn env_bytes_times_instances_are_bounded_before_jobs_are_built() {
    let many = "version: 2\ncommands:\n  web:\n    command: run\n    count: 1000\n";
    let (sandbox, _config, procfile) = setup("", many);
    let value = format!("BIG={}\n", "y".repeat(3_000_000));
    let env = readable(&sandbox, "app/.env", value.as_bytes());
    let args = ["systemd", "-p", &procfile, "-n", "bomb", "-e", &env];
    for dry in [&["--dry-run"][..], &[]] {
        let args: Vec<&str> = dry.iter().chain(&args).copied().collect();
        sudo_limited(&[MEMORY], DEPLOY, &args)
            .failure(2)
            .stderr_has("would render about")
            .stderr_has("KiB per app (max_rendered_bytes)");
    }
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
}

/// Round 3, item 2: 2,000 `-e` files of 2,000 keys took minutes and 1.8 GB. The files are
/// capped in number before the first is opened, and in bytes as they are read.
#[test]
fn env_files_are_capped_in_number_and_bytes() {
    let (sandbox, _config, procfile) = setup("", BASELINE);
    let files: Vec<String> = (0..2000)
        .map(|i| readable(&sandbox, &format!("env/{i}.env"), b"A=1\n"))
        .collect();
    let list = files.join(",");
    let args = [
        "--dry-run",
        "runit",
        "-p",
        &procfile,
        "-n",
        "many",
        "-e",
        &list,
    ];
    sudo_limited(&[MEMORY], DEPLOY, &args)
        .failure(2)
        .stderr_has("2000 .env files are given (-e)")
        .stderr_has("at most 32 per export (max_env_files)");
    let big = format!("V={}\n", "z".repeat(3 << 20));
    let big: Vec<String> = (0..3)
        .map(|i| readable(&sandbox, &format!("big/{i}.env"), big.as_bytes()))
        .collect();
    let list = big.join(",");
    let args = [
        "--dry-run",
        "runit",
        "-p",
        &procfile,
        "-n",
        "many",
        "-e",
        &list,
    ];
    sudo_limited(&[MEMORY], DEPLOY, &args)
        .failure(2)
        .stderr_has("big/2.env: the .env files come to more than 8192 KiB")
        .stderr_has("(max_env_bytes)");
    // Within the bounds, the same files are read.
    let two = big[..2].join(",");
    let args = [
        "--dry-run",
        "runit",
        "-p",
        &procfile,
        "-n",
        "many",
        "-e",
        &two,
    ];
    sudo_limited(&[MEMORY], DEPLOY, &args).success();
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
}

/// Round 3, item 2: a `.env` of 100,000 keys took 49 s (a scan of every key set so far for
/// each new one). Read in linear time now: under a CPU-time limit of 60 s, which the old
/// code ran past (SIGXCPU) and this reads in about a second.
#[test]
fn a_dotenv_of_many_keys_is_read_in_linear_time() {
    let (sandbox, _config, procfile) = setup("", "web: run\n");
    let keys: String = (0..100_000).map(|i| format!("K{i}=v{i}\n")).collect();
    let env = readable(&sandbox, "app/keys.env", keys.as_bytes());
    let args = [
        "--dry-run",
        "systemd",
        "-p",
        &procfile,
        "-n",
        "keys",
        "-e",
        &env,
    ];
    let out = sudo_limited(&["--cpu=60", MEMORY], DEPLOY, &args).success();
    assert!(
        out.stdout.contains("K99999=\"v99999\""),
        "the last key is missing"
    );
}
