//! The root boundary attacked the way a deploy user would, through the real sudo: one host,
//! several apps and deploy users (`pxdeploy`, `pxother`), each allowed `sudo procexport` and
//! nothing else. Each test reproduces a hole an attack run found and shows it closed.

use crate::support::sudo::{sudo, sudo_as_gem, uid, LiveConfig, DEPLOY, OTHER, SUDO_BIN};
use crate::support::{gem_job, gem_master, require_root, Node, Sandbox, GEM_HELPER, RUN_USER};
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
        &format!(
            "apps:\n  billing:\n    run_user: {DEPLOY}\n    run_group: {DEPLOY}\n    \
             managers: [{DEPLOY}]\n"
        ),
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

/// What the upstart-exporter gem wrote for app `full` under the sandbox, from its templates:
/// the master job, and for each label a process job that starts with the master and runs its
/// helper. Returns the paths, relative to the sandbox's root.
fn gem_files(sandbox: &Sandbox, full: &str, labels: &[&str]) -> Vec<String> {
    let root = sandbox.root();
    let init = root.join("etc/init");
    let helpers = root.join("var/local/upstart_helpers");
    fs::create_dir_all(&init).unwrap();
    fs::create_dir_all(&helpers).unwrap();
    let mut written = vec![format!("etc/init/{full}.conf")];
    fs::write(init.join(format!("{full}.conf")), gem_master(full)).unwrap();
    for label in labels {
        let helper = helpers.join(format!("{full}-{label}.sh"));
        fs::write(&helper, GEM_HELPER).unwrap();
        fs::write(
            init.join(format!("{full}-{label}.conf")),
            gem_job(full, label, helper.to_str().unwrap()),
        )
        .unwrap();
        written.push(format!("etc/init/{full}-{label}.conf"));
        written.push(format!("var/local/upstart_helpers/{full}-{label}.sh"));
    }
    written
}

/// Round 3, item 1: even root's `clean -n x` removed app `x-y`'s gem files (`fb-x-y.conf`
/// matches the prefix `fb-x-`). A name is no proof: only files whose contents chain them
/// to `fb-x` are `x`'s.
#[test]
fn roots_clean_leaves_a_dashed_neighbours_gem_files() {
    require_root();
    let sandbox = Sandbox::live("");
    let mine = gem_files(&sandbox, "fb-x", &["web"]);
    let neighbour = gem_files(&sandbox, "fb-x-y", &["web", "worker"]);
    sandbox.run(&["clean", "-n", "x"]).success();
    let files = sandbox.files();
    for path in &neighbour {
        assert!(files.contains(path), "clean of x removed {path}");
    }
    for path in &mine {
        assert!(!files.contains(path), "clean of x left its own {path}");
    }
}

/// Round 3, item 1: `sudo procexport clean -n shop` by a deploy user who is no manager of
/// `shop` removed the gem's files for it. Files with no manifest record no owner: only root
/// and the app's managers may take them; anyone else is refused, the files named.
#[test]
fn a_deploy_user_who_is_no_manager_may_not_take_gem_era_files() {
    let (sandbox, _config, procfile) = setup("", BASELINE);
    gem_files(&sandbox, "fb-shop", &["web"]);
    let before = sandbox.snapshot();
    sudo(DEPLOY, &["clean", "-n", "shop"])
        .failure(1)
        .stderr_has("older exporter installed")
        .stderr_has("fb-shop.conf")
        .stderr_has("fb-shop-web.conf")
        .stderr_has("fb-shop-web.sh");
    export(DEPLOY, "upstart", &procfile, "shop")
        .failure(1)
        .stderr_has("older exporter installed");
    sudo(DEPLOY, &["--dry-run", "clean", "-n", "shop"])
        .failure(1)
        .stderr_has("older exporter installed");
    assert_eq!(
        sandbox.snapshot(),
        before,
        "a refused user changed something"
    );
}

/// Round 3, item 1: a manager of the app takes the gem's files over (export) and removes
/// them (clean); a file named like the app's that nothing proves the gem wrote for it (here
/// written by hand) is named and left, by every command.
#[test]
fn a_manager_takes_gem_era_files_and_an_unproven_file_is_listed_and_left() {
    let (sandbox, _config, procfile) = setup(
        &format!("apps:\n  shop:\n    managers: [{DEPLOY}]\n"),
        BASELINE,
    );
    gem_files(&sandbox, "fb-shop", &["web", "clock"]);
    let by_hand = sandbox.root().join("etc/init/fb-shop-cron.conf");
    fs::write(
        &by_hand,
        "# written by hand\nstart on runlevel [2345]\nexec /usr/local/bin/cron\n",
    )
    .unwrap();
    let exported = export(DEPLOY, "upstart", &procfile, "shop").success();
    assert!(
        exported
            .stdout
            .contains("fb-shop-cron.conf\" is left as it is"),
        "{}",
        exported.stdout
    );
    let files = sandbox.files();
    assert!(!files.contains(&"etc/init/fb-shop-clock.conf".to_owned()));
    assert!(!files.contains(&"var/local/upstart_helpers/fb-shop-clock.sh".to_owned()));
    let web = fs::read_to_string(sandbox.root().join("etc/init/fb-shop-web.conf")).unwrap();
    assert!(web.contains("Generated by procexport"), "{web}");
    let cleaned = sudo(DEPLOY, &["clean", "-n", "shop"]).success();
    assert!(
        cleaned
            .stdout
            .contains("fb-shop-cron.conf\" is left as it is"),
        "{}",
        cleaned.stdout
    );
    let left: Vec<String> = sandbox
        .files()
        .into_iter()
        .filter(|p| p.starts_with("etc/") || p.starts_with("var/local/"))
        .collect();
    assert_eq!(left, ["etc/init/fb-shop-cron.conf"]);
}

/// Round 3, item 2: `sudo upstart-export -p P -n unlisted` read only the gem's config and
/// ignored `allow_unlisted_apps: false` in /etc/procexport.yaml. One policy, whatever the
/// name: the gem's file gives directories, never who may do what.
#[test]
fn the_gems_name_obeys_procexports_tenancy() {
    let main = format!("allow_unlisted_apps: false\napps:\n  shop:\n    managers: [{DEPLOY}]\n");
    let (sandbox, config, procfile) = setup(&main, BASELINE);
    let gem: String = fs::read_to_string(sandbox.config_path())
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("allow_unlisted_apps"))
        .filter(|l| !l.starts_with("state_dir:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let config = config.with_gem_config(&gem);
    sudo_as_gem(DEPLOY, &["-p", &procfile, "-n", "unlisted"])
        .failure(1)
        .stderr_has("allow_unlisted_apps: false");
    sudo_as_gem(DEPLOY, &["-c", "-n", "unlisted"])
        .failure(1)
        .stderr_has("allow_unlisted_apps: false");
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
    // The app procexport's config lets pxdeploy manage: exported under the gem's name.
    sudo_as_gem(DEPLOY, &["-p", &procfile, "-n", "shop"]).success();
    assert!(sandbox.root().join("etc/init/fb-shop-web.conf").is_file());
    // The gem's file may not set who may do what.
    drop(config);
    let _config = LiveConfig::install(&fs::read_to_string(sandbox.config_path()).unwrap())
        .with_gem_config(&format!("{gem}allow_unlisted_apps: true\n"));
    sudo_as_gem(DEPLOY, &["-p", &procfile, "-n", "unlisted"])
        .failure(2)
        .stderr_has("/etc/upstart-exporter.yaml:")
        .stderr_has("allow_unlisted_apps may only be set in /etc/procexport.yaml");
    assert!(!sandbox.root().join("etc/init/fb-unlisted.conf").exists());
}

/// Round 3, item 3: `sudo procexport list` showed every app and owner to every deploy user.
/// Through sudo, a user sees the apps it owns or manages; root sees all.
#[test]
fn list_through_sudo_shows_only_ones_own_apps() {
    let (sandbox, config, procfile) = setup("", BASELINE);
    export(DEPLOY, "upstart", &procfile, "shop").success();
    export(OTHER, "runit", &procfile, "billing").success();
    let mine = sudo(DEPLOY, &["list"]).success().stdout;
    assert!(mine.contains("fb-shop"), "{mine}");
    assert!(!mine.contains("billing") && !mine.contains(OTHER), "{mine}");
    let all = sandbox.run(&["list"]).success().stdout;
    assert!(
        all.contains("fb-shop") && all.contains("fb-billing"),
        "{all}"
    );
    // A manager sees the app it manages.
    let listed = format!(
        "{}apps:\n  billing:\n    managers: [{DEPLOY}]\n",
        fs::read_to_string(sandbox.config_path()).unwrap()
    );
    drop(config);
    let _config = LiveConfig::install(&listed);
    let managed = sudo(DEPLOY, &["list"]).success().stdout;
    assert!(managed.contains("fb-billing"), "{managed}");
}

/// Round 3, item 4: `apps: {x: {}}` fell to the first deploy user who exported `x`. A listed
/// app without managers is root's: no sudo user may claim it, `allow_unlisted_apps` or not.
#[test]
fn a_listed_app_without_managers_is_roots_alone() {
    let (sandbox, _config, procfile) = setup("apps:\n  x: {}\n", BASELINE);
    export(DEPLOY, "upstart", &procfile, "x")
        .failure(1)
        .stderr_has("listed under apps: in the config with no managers, so only root");
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
    sandbox
        .export("upstart", Path::new(&procfile), "x")
        .success();
    sudo(DEPLOY, &["clean", "-n", "x"]).failure(1);
    assert!(sandbox.root().join("etc/init/fb-x-web.conf").is_file());
}
