//! The root boundary attacked the way a deploy user would, through the real sudo: one host,
//! several apps and deploy users (`pxdeploy`, `pxother`), each allowed `sudo procexport` and
//! nothing else. Each test reproduces a hole an attack run found and shows it closed.

use crate::support::sudo::{
    sudo, sudo_as_gem, sudo_as_init_exporter, sudo_bin, sudo_limited, uid, LiveConfig, DEPLOY,
    OTHER,
};
use crate::support::{
    gem_job, gem_master, init_exporter, require_root, Node, Sandbox, GEM_HELPER, RUN_USER,
};
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

/// `sudo procexport --dry-run --detailed-exitcode systemd -p PROCFILE -n APP` as `user`.
fn plan(user: &str, procfile: &str, app: &str) -> crate::support::Outcome {
    let args = [
        "--dry-run",
        "--detailed-exitcode",
        "systemd",
        "-p",
        procfile,
        "-n",
        app,
    ];
    sudo(user, &args)
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
    // The owner's dry run: the private env file is compared (DESIGN 5: a caller allowed to
    // export the app may learn whether it is unchanged), and nothing of it is shown.
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
        env_line.starts_with("=== unchanged ") && env_line.contains("cannot read"),
        "{env_line}"
    );
    assert!(!own.stdout.contains("sk_live_1"), "{}", own.stdout);
    // A world-readable file is compared as before.
    assert!(own.stdout.contains("=== unchanged "), "{}", own.stdout);
}

/// `--dry-run --detailed-exitcode` through sudo answered 3 for every systemd app, changed or
/// not: its env file (root:run group, 0640) was "not compared". For the app's owner it is
/// compared now; the answer says whether it differs and never what the installed file holds.
#[test]
fn a_dry_run_through_sudo_answers_0_when_nothing_would_change() {
    let first = "version: 2\ncommands:\n  web:\n    command: a\n    env: {TOKEN: first-value}\n";
    let (_sandbox, _config, procfile) = setup("", first);
    export(DEPLOY, "systemd", &procfile, "shop").success();
    let dry_run = || plan(DEPLOY, &procfile, "shop");
    let env_line = |stdout: &str| -> String {
        stdout
            .lines()
            .find(|l| l.starts_with("=== ") && l.contains("/etc/procexport/env/"))
            .unwrap_or_else(|| panic!("no env file in {stdout}"))
            .to_owned()
    };
    let same = dry_run();
    assert_eq!(same.code, 0, "{}\n{}", same.stdout, same.stderr);
    let line = env_line(&same.stdout);
    assert!(
        line.starts_with("=== unchanged ") && line.contains("cannot read"),
        "{line}"
    );
    assert!(!same.stdout.contains("first-value"), "{}", same.stdout);
    assert!(same
        .stdout
        .contains("# everything is already installed as shown"));
    // A new value: a change, shown as the new file; the installed one never.
    fs::write(&procfile, first.replace("first-value", "second-value")).unwrap();
    let next = dry_run();
    assert_eq!(next.code, 3, "{}\n{}", next.stdout, next.stderr);
    let line = env_line(&next.stdout);
    assert!(
        line.starts_with("=== change ") && line.contains("not shown"),
        "{line}"
    );
    assert!(next.stdout.contains("second-value"), "{}", next.stdout);
    assert!(!next.stdout.contains("first-value"), "{}", next.stdout);
    // Another user is refused before anything is compared.
    plan(OTHER, &procfile, "shop")
        .failure(1)
        .stderr_has("belongs to \"pxdeploy\"");
}

/// With env values in the config, the comparison would be an oracle for root's secrets: a
/// Procfile setting the config's key to a guess would hear 0 when the guess is right. Then the
/// owner's dry run does not compare what it cannot read, and answers 3.
#[test]
fn a_dry_run_through_sudo_never_confirms_the_configs_env() {
    let plain = "version: 2\ncommands:\n  web:\n    command: a\n";
    let (_sandbox, _config, procfile) = setup("env:\n  API_TOKEN: s3cr3t\n", plain);
    export(DEPLOY, "systemd", &procfile, "shop").success();
    // The right guess: the rendered env file is byte for byte the installed one.
    fs::write(
        &procfile,
        "version: 2\ncommands:\n  web:\n    command: a\n    env: {API_TOKEN: s3cr3t}\n",
    )
    .unwrap();
    let guess = plan(DEPLOY, &procfile, "shop");
    assert_eq!(guess.code, 3, "{}\n{}", guess.stdout, guess.stderr);
    let line = guess
        .stdout
        .lines()
        .find(|l| l.starts_with("=== ") && l.contains("/etc/procexport/env/"))
        .unwrap_or_else(|| panic!("{}", guess.stdout));
    assert!(
        line.starts_with("=== write ") && line.contains("not compared"),
        "{line}"
    );
}

/// foreman's `export <format> <location>` through sudo: the location is the invoking user's
/// choice, so it never becomes a place root writes to. A location that is one of the
/// directories the config names changes nothing and is accepted; any other is refused.
#[test]
fn a_foreman_export_location_never_moves_where_root_writes() {
    let (sandbox, _config, procfile) = setup("", BASELINE);
    let elsewhere = sandbox.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o777)).unwrap();
    let elsewhere = elsewhere.to_str().unwrap();
    for location in [elsewhere, "/etc/init", "/etc/cron.d"] {
        sudo(
            DEPLOY,
            &["export", "upstart", location, "-a", "shop", "-f", &procfile],
        )
        .failure(2)
        .stderr_has("is not where procexport writes upstart jobs");
    }
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
    assert_eq!(fs::read_dir(elsewhere).unwrap().count(), 0);
    // The configured directory, as foreman would be given it: the same export as `upstart`.
    let init = sandbox.root().join("etc/init/");
    sudo(
        DEPLOY,
        &[
            "export",
            "upstart",
            init.to_str().unwrap(),
            "-a",
            "shop",
            "-f",
            &procfile,
            "-c",
            "web=2",
        ],
    )
    .success();
    assert!(init.join("fb-shop-web_1.conf").is_file());
    assert!(init.join("fb-shop-worker.conf").is_file());
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

/// Security round 3, item 1: the preflight told a deploy user whether a directory it cannot
/// see exists (`working_directory: /home/alice/secret-project` said "does not exist" for one
/// path and "cannot enter" for another). A path checked on the caller's behalf now gets one
/// answer for "missing" and "not yours to see", naming the path and the account that must
/// reach it; the same holds for a job's log file and for the Procfile and `-e` files, which
/// are read with the caller's own rights.
#[test]
fn a_path_the_caller_cannot_see_is_answered_as_a_missing_one() {
    let (sandbox, _config, _) = setup("", BASELINE);
    let secret = sandbox.path().join("secret");
    fs::create_dir_all(secret.join("project")).unwrap();
    fs::write(secret.join("project/Procfile"), BASELINE).unwrap();
    fs::write(secret.join("project/.env"), "A=1\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
    let secret = secret.to_str().unwrap().to_owned();
    // What the deploy user is told about `<secret>/<dir>`, the path itself replaced by DIR.
    let ask = |case: &str, procfile: &str, extra: &[&str], dir: &str| {
        let path = sandbox.write(&format!("ask/{case}-{dir}/Procfile"), procfile);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let mut args = vec!["runit", "-p", path.to_str().unwrap(), "-n", "probe"];
        args.extend(extra);
        let outcome = sudo(DEPLOY, &args).failure(2);
        outcome.stderr.replace(&format!("{secret}/{dir}"), "DIR")
    };
    let both = |case: &str, procfile: &str, extra: &[&str]| {
        let [there, missing] = ["project", "nothere"].map(|dir| {
            let fill = |text: &str| text.replace("DIR", &format!("{secret}/{dir}"));
            let extra: Vec<String> = extra.iter().map(|a| fill(a)).collect();
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            ask(case, &fill(procfile), &extra, dir)
        });
        assert_eq!(there, missing, "{case}: the answers differ");
        there
    };
    let workdir = both(
        "workdir",
        "version: 2\nworking_directory: DIR\ncommands:\n  web:\n    command: a\n",
        &[],
    );
    assert!(
        workdir.contains(
            "run user \"pxrun\" cannot reach working directory \"DIR\" of job \"web\": it does \
             not exist, or \"pxrun\" may not enter it"
        ),
        "{workdir}"
    );
    let log = both(
        "log",
        "version: 2\ncommands:\n  web:\n    command: a\n    log: DIR/web.log\n",
        &[],
    );
    assert!(
        log.contains("run user \"pxrun\" cannot create or append to log file \"DIR/web.log\""),
        "{log}"
    );
    let env = both("env", BASELINE, &["-e", "DIR/.env"]);
    assert!(env.contains("DIR/.env: permission denied"), "{env}");
    let [there, missing] = ["project", "nothere"].map(|dir| {
        let path = format!("{secret}/{dir}/Procfile");
        sudo(DEPLOY, &["runit", "-p", &path, "-n", "probe"])
            .failure(2)
            .stderr
            .replace(&format!("{secret}/{dir}"), "DIR")
    });
    assert_eq!(there, missing, "the Procfile: the answers differ");
    assert!(there.contains("DIR/Procfile: permission denied"), "{there}");
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
}

/// Security round 3, item 3: on Debian's `/var/local` (root:staff, mode 2775) a dry run
/// through sudo refused an export and a clean that the real run carried out: it looked at
/// the parent of the log directory and of each removed file's directory as if files went
/// into it. And where the real run refused (a state directory that is group-writable), the
/// dry run said nothing was wrong. The dry run now goes through the real run's checks.
#[test]
fn a_dry_run_applies_the_real_runs_rules() {
    require_root();
    let sandbox = Sandbox::live("");
    let root = sandbox.root();
    let r = root.to_str().unwrap();
    let local = root.join("var/local");
    fs::create_dir_all(&local).unwrap();
    let staff = nix::unistd::Group::from_name("staff")
        .unwrap()
        .expect("Debian's group staff");
    std::os::unix::fs::chown(&local, None, Some(staff.gid.as_raw())).unwrap();
    fs::set_permissions(&local, fs::Permissions::from_mode(0o2775)).unwrap();
    let config = fs::read_to_string(sandbox.config_path())
        .unwrap()
        .replace(
            &format!("systemd_dir: {r}/etc/systemd/system\n"),
            &format!("systemd_dir: {r}/var/local/system\n"),
        )
        .replace(
            &format!("log_dir: {r}/var/log\n"),
            &format!("log_dir: {r}/var/local\n"),
        );
    assert!(
        config.contains(&format!("systemd_dir: {r}/var/local/system\n"))
            && config.contains(&format!("log_dir: {r}/var/local\n")),
        "{config}"
    );
    let procfile = sandbox.procfile(BASELINE);
    fs::set_permissions(&procfile, fs::Permissions::from_mode(0o644)).unwrap();
    let procfile = procfile.to_str().unwrap();
    let export = ["systemd", "-p", procfile, "-n", "local", "--no-reload"];
    {
        let _config = LiveConfig::install(&config);
        let dry = sudo(DEPLOY, &[&["--dry-run"], &export[..]].concat()).success();
        assert!(
            dry.stdout
                .contains(&format!("{r}/var/local/system/fb-local-web.service")),
            "{}",
            dry.stdout
        );
        sudo(DEPLOY, &export).success();
        let dry = sudo(DEPLOY, &["--dry-run", "clean", "-n", "local"]).success();
        assert!(
            dry.stdout.contains(&format!(
                "=== remove {r}/var/local/system/fb-local-web.service"
            )),
            "{}",
            dry.stdout
        );
        sudo(DEPLOY, &["clean", "-n", "local"]).success();
        assert!(!local.join("system/fb-local-web.service").exists());
    }
    // A state directory that is group-writable: refused by both, in the same words.
    let config = config.replace(
        &format!("state_dir: {r}/var/lib/procexport\n"),
        &format!("state_dir: {r}/var/local\n"),
    );
    let _config = LiveConfig::install(&config);
    let dry = sudo(DEPLOY, &["--dry-run", "clean", "-n", "ghost"]).failure(1);
    let real = sudo(DEPLOY, &["clean", "-n", "ghost"]).failure(1);
    assert_eq!(dry.stderr, real.stderr);
    assert!(
        real.stderr
            .contains("is writable by group or others (mode 2775)"),
        "{}",
        real.stderr
    );
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
    // A dry run of app `many` with the `-e` files `files`, as the deploy user.
    let dry_run = |files: &[String]| {
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
    };
    let files: Vec<String> = (0..2000)
        .map(|i| readable(&sandbox, &format!("env/{i}.env"), b"A=1\n"))
        .collect();
    dry_run(&files)
        .failure(2)
        .stderr_has("2000 .env files are given (-e)")
        .stderr_has("at most 32 per export (max_env_files)");
    let big = format!("V={}\n", "z".repeat(3 << 20));
    let big: Vec<String> = (0..3)
        .map(|i| readable(&sandbox, &format!("big/{i}.env"), big.as_bytes()))
        .collect();
    dry_run(&big)
        .failure(2)
        .stderr_has("big/2.env: the .env files come to more than 8192 KiB")
        .stderr_has("(max_env_bytes)");
    // Within the bounds, the same files are read.
    dry_run(&big[..2]).success();
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
    // The APP column: the name `-n` takes.
    let lists = |out: &str, app: &str| {
        out.lines()
            .any(|l| l.split_whitespace().next() == Some(app))
    };
    let mine = sudo(DEPLOY, &["list"]).success().stdout;
    assert!(lists(&mine, "shop"), "{mine}");
    assert!(!mine.contains("billing") && !mine.contains(OTHER), "{mine}");
    let all = sandbox.run(&["list"]).success().stdout;
    assert!(lists(&all, "shop") && lists(&all, "billing"), "{all}");
    // A manager sees the app it manages.
    let listed = format!(
        "{}apps:\n  billing:\n    managers: [{DEPLOY}]\n",
        fs::read_to_string(sandbox.config_path()).unwrap()
    );
    drop(config);
    let _config = LiveConfig::install(&listed);
    let managed = sudo(DEPLOY, &["list"]).success().stdout;
    assert!(lists(&managed, "billing"), "{managed}");
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

/// Runs the real foreman (.ci/run installs Debian's ruby-foreman 0.87) to export the
/// sandbox's Procfile for app `full` as `format` into `dir` under the sandbox's root, the way
/// an admin did before procexport: `foreman export FORMAT DIR -a APP -u RUN_USER`.
fn foreman_export(sandbox: &Sandbox, format: &str, dir: &str, full: &str) {
    let app = sandbox.path().join("app");
    let out = sandbox.root().join(dir);
    fs::create_dir_all(&out).unwrap();
    let status = std::process::Command::new("foreman")
        .args(["export", format])
        .arg(&out)
        .args(["-a", full, "-u", RUN_USER, "-f", "Procfile", "-d", "."])
        .current_dir(&app)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("foreman is needed (.ci/run installs ruby-foreman)");
    assert!(status.success(), "foreman export {format} failed");
}

/// Issue 23: `--adopt` takes over what foreman exported for the app, through sudo, when a
/// manager asks: each file that is byte for byte foreman's for the app is replaced or
/// removed, and one edited by hand afterwards is named and left, for upstart (export) and
/// systemd (clean) alike.
#[test]
fn a_manager_adopts_foremans_exports_and_a_hand_edited_file_is_left() {
    let (sandbox, _config, procfile) = setup(
        &format!("apps:\n  shop:\n    managers: [{DEPLOY}]\n  mall:\n    managers: [{DEPLOY}]\n"),
        BASELINE,
    );
    foreman_export(&sandbox, "upstart", "etc/init", "fb-shop");
    foreman_export(&sandbox, "systemd", "etc/systemd/system", "fb-mall");
    let edited = sandbox.root().join("etc/init/fb-shop-worker-1.conf");
    let mut text = fs::read_to_string(&edited).unwrap();
    text.push_str("exec /bin/sh -c 'rm -rf /'\n");
    fs::write(&edited, text).unwrap();
    let foremans = sandbox.files();
    assert!(foremans.contains(&"etc/init/fb-shop-web-1.conf".to_owned()));

    let exported = sudo(
        DEPLOY,
        &["upstart", "-p", &procfile, "-n", "shop", "--adopt"],
    )
    .success();
    assert!(
        exported
            .stdout
            .contains("fb-shop-worker-1.conf\" is left as it is")
            && exported
                .stdout
                .contains("line 12 differs from what foreman"),
        "{}",
        exported.stdout
    );
    assert!(
        exported
            .stdout
            .contains("fb-shop-web-1.conf\" is foreman's upstart export for fb-shop"),
        "{}",
        exported.stdout
    );
    let files = sandbox.files();
    assert!(!files.contains(&"etc/init/fb-shop-web-1.conf".to_owned()));
    assert!(files.contains(&"etc/init/fb-shop-worker-1.conf".to_owned()));
    for ours in ["fb-shop.conf", "fb-shop-web.conf"] {
        let text = fs::read_to_string(sandbox.root().join("etc/init").join(ours)).unwrap();
        assert!(text.contains("Generated by procexport"), "{ours}: {text}");
    }

    // foreman's systemd units of app mall, removed by a clean.
    let units: Vec<&String> = foremans
        .iter()
        .filter(|p| p.starts_with("etc/systemd/system/fb-mall"))
        .collect();
    assert_eq!(units.len(), 3, "{units:?}");
    // Without --adopt a clean leaves them: no manifest lists them.
    sudo(DEPLOY, &["clean", "-n", "mall"]).success();
    assert_eq!(
        sandbox
            .files()
            .iter()
            .filter(|p| p.contains("fb-mall"))
            .count(),
        3
    );
    sudo(DEPLOY, &["clean", "-n", "mall", "--adopt"]).success();
    let left: Vec<String> = sandbox
        .files()
        .into_iter()
        .filter(|p| p.contains("fb-mall"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Runs the real honcho (2.0, `pip install honcho[export]`) to export the sandbox's Procfile
/// for app `full` as `format` into `dir` under the sandbox's root, with an env file whose
/// values honcho must quote: `honcho export -a APP -u RUN_USER -e ENV -c web=2 FORMAT DIR`.
fn honcho_export(sandbox: &Sandbox, format: &str, dir: &str, full: &str) {
    let app = sandbox.path().join("app");
    let out = sandbox.root().join(dir);
    fs::create_dir_all(&out).unwrap();
    let env = sandbox.path().join("honcho.env");
    fs::write(&env, "GREETING='it is'\nMODE=plain\n").unwrap();
    let status = std::process::Command::new("honcho")
        .args(["export", "-a", full, "-u", RUN_USER, "-c", "web=2", "-e"])
        .arg(&env)
        .arg(format)
        .arg(&out)
        .current_dir(&app)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("honcho is needed (pip install honcho[export])");
    assert!(status.success(), "honcho export {format} failed");
}

/// Issue 23: `--adopt` takes over what honcho exported for the app, through sudo, when a
/// manager asks: each file byte for byte honcho's for the app is replaced or removed, and
/// one edited by hand afterwards is named and left, for upstart (export) and systemd
/// (clean) alike.
#[test]
fn a_manager_adopts_honchos_exports_and_a_hand_edited_file_is_left() {
    let (sandbox, _config, procfile) = setup(
        &format!("apps:\n  shop:\n    managers: [{DEPLOY}]\n  mall:\n    managers: [{DEPLOY}]\n"),
        BASELINE,
    );
    honcho_export(&sandbox, "upstart", "etc/init", "fb-shop");
    honcho_export(&sandbox, "systemd", "etc/systemd/system", "fb-mall");
    let edited = sandbox.root().join("etc/init/fb-shop-web-2.conf");
    let text = fs::read_to_string(&edited).unwrap();
    fs::write(
        &edited,
        text.replace("\n\nexec su", "\nexec /bin/rm -rf /\n\nexec su"),
    )
    .unwrap();
    let honchos = sandbox.files();
    assert!(
        honchos.contains(&"etc/init/fb-shop-web-1.conf".to_owned()),
        "{honchos:?}"
    );

    let exported = sudo(
        DEPLOY,
        &["upstart", "-p", &procfile, "-n", "shop", "--adopt"],
    )
    .success();
    let said = |what: &str| {
        assert!(
            exported.stdout.contains(what),
            "{what}: {}",
            exported.stdout
        );
    };
    said("fb-shop-web-2.conf\" is left as it is");
    said("line 9 differs from what honcho's upstart export writes there");
    said("fb-shop-web-1.conf\" is honcho's upstart export for fb-shop");
    said("fb-shop-worker-1.conf\" is honcho's upstart export for fb-shop");
    let files = sandbox.files();
    for gone in ["fb-shop-web-1.conf", "fb-shop-worker-1.conf"] {
        assert!(
            !files.contains(&format!("etc/init/{gone}")),
            "{gone}: {files:?}"
        );
    }
    assert!(files.contains(&"etc/init/fb-shop-web-2.conf".to_owned()));
    for ours in ["fb-shop.conf", "fb-shop-web.conf", "fb-shop-worker.conf"] {
        let text = fs::read_to_string(sandbox.root().join("etc/init").join(ours)).unwrap();
        assert!(text.contains("Generated by procexport"), "{ours}: {text}");
    }

    // honcho's systemd units of app mall: the target, two process masters, three services.
    let units = |files: Vec<String>| -> Vec<String> {
        files
            .into_iter()
            .filter(|p| p.contains("fb-mall"))
            .collect()
    };
    assert_eq!(units(honchos.clone()).len(), 6, "{honchos:?}");
    // Without --adopt a clean leaves them: no manifest lists them.
    sudo(DEPLOY, &["clean", "-n", "mall"]).success();
    assert_eq!(units(sandbox.files()).len(), 6);
    sudo(DEPLOY, &["clean", "-n", "mall", "--adopt"]).success();
    let left = units(sandbox.files());
    assert!(left.is_empty(), "{left:?}");
}

/// Issue 23: `--adopt` through sudo by a deploy user who is no manager of the app is refused,
/// whatever is there, and changes nothing.
#[test]
fn a_non_manager_may_not_adopt() {
    let (sandbox, _config, procfile) = setup("", BASELINE);
    foreman_export(&sandbox, "systemd", "etc/systemd/system", "fb-shop");
    let before = sandbox.snapshot();
    sudo(
        DEPLOY,
        &["systemd", "-p", &procfile, "-n", "shop", "--adopt"],
    )
    .failure(1)
    .stderr_has("--adopt: only root, or a manager");
    sudo(DEPLOY, &["clean", "-n", "shop", "--adopt"])
        .failure(1)
        .stderr_has("--adopt: only root, or a manager");
    assert_eq!(
        sandbox.snapshot(),
        before,
        "a refused user changed something"
    );
}

/// Issue 23: `--adopt` takes over what init-exporter (0.25.0, its templates rendered by
/// `support::init_exporter`) wrote for the app, through sudo, when a manager asks: its Upstart
/// jobs by an export, its systemd units by a clean. A unit edited by hand afterwards is named
/// and left, and so is the app unit that wants it (its `Wants=` names a unit not proven).
#[test]
fn a_manager_adopts_init_exporters_files_and_a_hand_edited_one_is_left() {
    let (sandbox, _config, procfile) = setup(
        &format!("apps:\n  shop:\n    managers: [{DEPLOY}]\n  mall:\n    managers: [{DEPLOY}]\n"),
        BASELINE,
    );
    let services = [("web", 2), ("worker", 0)];
    let jobs = sandbox.root().join("etc/init");
    init_exporter::export("upstart", &jobs, "fb-shop", RUN_USER, &services);
    let units = sandbox.root().join("etc/systemd/system");
    init_exporter::export("systemd", &units, "fb-mall", RUN_USER, &services);
    let edited = units.join("fb-mall-web2.service");
    let text = fs::read_to_string(&edited).unwrap();
    let text = text.replace(
        "Type=simple\n",
        "Type=simple\nExecStartPre=/bin/sh -c 'rm -rf /'\n",
    );
    fs::write(&edited, text).unwrap();

    let exported = sudo(
        DEPLOY,
        &["upstart", "-p", &procfile, "-n", "shop", "--adopt"],
    )
    .success();
    for job in ["fb-shop.conf", "fb-shop-web1.conf", "fb-shop-worker.conf"] {
        let said = format!("{job}\" is init-exporter's upstart export for fb-shop");
        assert!(
            exported.stdout.contains(&said),
            "{said}: {}",
            exported.stdout
        );
    }
    let files = sandbox.files();
    for gone in ["fb-shop-web1.conf", "fb-shop-web2.conf"] {
        assert!(
            !files.contains(&format!("etc/init/{gone}")),
            "{gone}: {files:?}"
        );
    }
    for ours in ["fb-shop.conf", "fb-shop-web.conf", "fb-shop-worker.conf"] {
        let text = fs::read_to_string(jobs.join(ours)).unwrap();
        assert!(text.contains("Generated by procexport"), "{ours}: {text}");
    }

    // init-exporter's systemd units of app mall: the app unit and three services.
    let mall = || -> Vec<String> {
        sandbox
            .files()
            .into_iter()
            .filter(|p| p.contains("fb-mall"))
            .collect()
    };
    assert_eq!(mall().len(), 4, "{:?}", mall());
    sudo(DEPLOY, &["clean", "-n", "mall"]).success();
    assert_eq!(mall().len(), 4, "{:?}", mall());
    let cleaned = sudo(DEPLOY, &["clean", "-n", "mall", "--adopt"]).success();
    for said in [
        "fb-mall-web2.service\" is left as it is",
        "line 10 differs from what init-exporter's systemd export writes there",
        "fb-mall.service\" is left as it is",
        "names units that are not init-exporter's systemd export's services for this app",
    ] {
        assert!(cleaned.stdout.contains(said), "{said}: {}", cleaned.stdout);
    }
    assert_eq!(
        mall(),
        [
            "etc/systemd/system/fb-mall-web2.service",
            "etc/systemd/system/fb-mall.service"
        ]
    );
}

/// Issue 23: a deploy user who is no manager of the app may not adopt init-exporter's files
/// through sudo (export or clean): refused, nothing changed.
#[test]
fn a_non_manager_may_not_adopt_init_exporters_files() {
    let (sandbox, _config, procfile) = setup("", BASELINE);
    let units = sandbox.root().join("etc/systemd/system");
    init_exporter::export("systemd", &units, "fb-shop", RUN_USER, &[("web", 1)]);
    let before = sandbox.snapshot();
    sudo(
        DEPLOY,
        &["systemd", "-p", &procfile, "-n", "shop", "--adopt"],
    )
    .failure(1)
    .stderr_has("--adopt: only root, or a manager");
    sudo(DEPLOY, &["clean", "-n", "shop", "--adopt"])
        .failure(1)
        .stderr_has("--adopt: only root, or a manager");
    assert_eq!(
        sandbox.snapshot(),
        before,
        "a refused user changed something"
    );
}

/// Issue 23: procexport called as `init-exporter` through sudo obeys procexport's tenancy:
/// under `allow_unlisted_apps: false` an unlisted app is refused (export and uninstall),
/// whether or not /etc/init-exporter.conf is there; init-exporter's file may not set who may
/// do what; procexport's --config is refused through sudo under that name too.
#[test]
fn init_exporters_name_obeys_procexports_tenancy() {
    let main = format!("allow_unlisted_apps: false\napps:\n  shop:\n    managers: [{DEPLOY}]\n");
    let (sandbox, config, procfile) = setup(&main, BASELINE);
    let refused = |args: &[&str]| {
        sudo_as_init_exporter(DEPLOY, args)
            .failure(1)
            .stderr_has("allow_unlisted_apps: false");
    };
    refused(&["-p", &procfile, "-f", "systemd", "unlisted"]);
    refused(&["-u", "-f", "systemd", "unlisted"]);
    sudo_as_init_exporter(
        DEPLOY,
        &[
            "--config",
            "/tmp/x.yaml",
            "-f",
            "systemd",
            "-p",
            &procfile,
            "shop",
        ],
    )
    .failure(2)
    .stderr_has("--config");
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
    // The app procexport's config lets pxdeploy manage: installed and uninstalled by name.
    sudo_as_init_exporter(DEPLOY, &["-p", &procfile, "-f", "systemd", "shop"]).success();
    let unit = sandbox
        .root()
        .join("etc/systemd/system/fb-shop-web.service");
    assert!(unit.is_file());
    sudo_as_init_exporter(DEPLOY, &["-u", "-f", "systemd", "shop"]).success();
    assert!(!unit.exists());
    // With init-exporter's own file in place, the policy is still procexport's.
    let root = sandbox.root();
    let knf = format!(
        "[main]\n  run-user: {RUN_USER}\n  run-group: {RUN_USER}\n[paths]\n  upstart-dir: \
         {r}/etc/init\n  helper-dir: {r}/helpers\n",
        r = root.display()
    );
    let config = config.with_init_exporter_config(&knf);
    refused(&["-p", &procfile, "-f", "upstart", "unlisted"]);
    drop(config);
    // init-exporter's file may not set who may do what.
    let _config = LiveConfig::install(&fs::read_to_string(sandbox.config_path()).unwrap())
        .with_init_exporter_config(&format!("{knf}  allow-unlisted-apps: true\n"));
    sudo_as_init_exporter(DEPLOY, &["-p", &procfile, "-f", "upstart", "unlisted"])
        .failure(2)
        .stderr_has("/etc/init-exporter.conf:7")
        .stderr_has("allow_unlisted_apps may only be set in /etc/procexport.yaml");
    let left: Vec<String> = sandbox
        .files()
        .into_iter()
        .filter(|p| !p.starts_with("var/lib/procexport/"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Issue 23: a Procfile v2 may ask for more than its own processes (higher limits, other
/// units pulled in, a device waited for) only as far as the admin's `policy:` allows. A deploy
/// user tries each past the policy through sudo: refused, exit 2, naming the policy key that
/// would allow it, nothing written; within it the export goes through.
#[test]
fn a_deploy_user_gets_no_more_than_the_policy_allows() {
    let policy = "policy:\n  max_limits: {nofile: 4096, nproc: 512}\n  depends: [redis]\n";
    let (sandbox, _config, _) = setup(policy, BASELINE);
    let try_export = |case: &str, text: &str| {
        let path = readable(&sandbox, &format!("{case}/Procfile"), text.as_bytes());
        export(DEPLOY, "systemd", &path, "shop")
    };
    let command = "commands:\n  web:\n    command: sleep 100\n";
    let refusals = [
        ("nofile", format!("version: 2\nlimits: {{nofile: 65536}}\n{command}"), "limits.nofile 65536 is above the most the admin allows, 4096 (policy.max_limits.nofile in /etc/procexport.yaml)"),
        ("unlimited", format!("version: 2\n{command}    limits: {{nproc: -1}}\n"), "limits.nproc -1 (unlimited) is above the most the admin allows, 512 (policy.max_limits.nproc"),
        ("memlock", format!("version: 2\n{command}    limits: {{memlock: -1}}\n"), "(policy.max_limits.memlock"),
        ("ssh", format!("version: 2\ndepends: redis ssh\n{command}"), "depends names \"ssh.service\", which the admin does not allow an app to depend on: remove it, or ask the admin to add it to policy.depends"),
        ("rescue", format!("version: 2\ndepends: rescue.target\nstrong_dependencies: true\n{command}"), "depends names \"rescue.target\""),
        ("device", format!("version: 2\nstart_on_device: eth0\n{command}"), "start_on_device names \"eth0\", which the admin does not allow an app to wait for: remove it, or ask the admin to add it to policy.devices"),
    ];
    for (case, text, message) in &refusals {
        try_export(case, text).failure(2).stderr_has(message);
        assert!(sandbox.files().is_empty(), "{case}: {:?}", sandbox.files());
    }
    // Lowering is free, raising up to the maximum and the listed unit are allowed.
    let within = format!(
        "version: 2\nlimits: {{nofile: 4096, nproc: 10}}\ndepends: redis\n{command}    limits: {{memlock: 1024}}\n"
    );
    try_export("within", &within).success();
    let unit = fs::read_to_string(
        sandbox
            .root()
            .join("etc/systemd/system/fb-shop-web.service"),
    )
    .unwrap();
    for line in [
        "LimitNOFILE=4096\n",
        "LimitNPROC=10\n",
        "LimitMEMLOCK=1024\n",
        "After=redis.service\n",
        "Wants=redis.service\n",
    ] {
        assert!(unit.contains(line), "{line}: {unit}");
    }
}

/// Issue 23: the policy is root's. The gem's config, whatever name procexport runs by, may
/// not set it.
#[test]
fn the_gems_config_may_not_set_the_policy() {
    let (sandbox, config, procfile) = setup("", BASELINE);
    let gem: String = fs::read_to_string(sandbox.config_path())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("state_dir:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let _config = config.with_gem_config(&format!("{gem}policy: {{depends: [ssh]}}\n"));
    sudo_as_gem(DEPLOY, &["-p", &procfile, "-n", "shop"])
        .failure(2)
        .stderr_has("/etc/upstart-exporter.yaml:")
        .stderr_has("policy may only be set in /etc/procexport.yaml");
    assert!(sandbox.files().is_empty(), "{:?}", sandbox.files());
}

/// Issue 23: `pre` and `post` run as the run user, never as root: under systemd in the same
/// unprivileged `/bin/sh -c` line as the command (no `+` or `!` prefix, with `User=`), under
/// Upstart by the job's helper after `setuid`. And `env_file` is read with the deploy user's
/// rights, like `-e`: root's `/etc/shadow` is refused, as if missing would leak nothing more.
#[test]
fn pre_and_post_run_as_the_run_user_and_env_file_is_read_as_the_caller() {
    let (sandbox, _config, _) = setup("", BASELINE);
    fs::write(sandbox.path().join("app/app.env"), "FROM_ENV_FILE=1\n").unwrap();
    fs::set_permissions(
        sandbox.path().join("app/app.env"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let text = "version: 2\ncommands:\n  web:\n    pre: id -u > pre.out\n    command: sleep 100\n    post: id -u > post.out\n    env_file: app.env\n";
    let path = readable(&sandbox, "app/hooks/Procfile", text.as_bytes());
    fs::copy(
        sandbox.path().join("app/app.env"),
        sandbox.path().join("app/hooks/app.env"),
    )
    .unwrap();
    fs::set_permissions(
        sandbox.path().join("app/hooks/app.env"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    export(DEPLOY, "systemd", &path, "shop").success();
    let unit_path = sandbox
        .root()
        .join("etc/systemd/system/fb-shop-web.service");
    let unit =
        procexport::testing::systemd_syntax::parse_unit(&fs::read_to_string(&unit_path).unwrap())
            .unwrap();
    assert_eq!(unit.values("Service", "User"), [RUN_USER]);
    for key in ["ExecStartPre", "ExecStart", "ExecStartPost"] {
        let values = unit.values("Service", key);
        assert_eq!(values.len(), 1, "{key}");
        let exec = procexport::testing::systemd_syntax::parse_exec(values[0]).unwrap();
        assert!(!exec.privileged(), "{key} runs as root: {values:?}");
        assert_eq!(exec.argv[..2], ["/bin/sh", "-c"], "{key}");
    }
    let env =
        fs::read_to_string(sandbox.root().join("etc/procexport/env/fb-shop-web.env")).unwrap();
    assert!(env.contains("FROM_ENV_FILE=\"1\"\n"), "{env}");
    export(DEPLOY, "upstart", &path, "hooks").success();
    let job = fs::read_to_string(sandbox.root().join("etc/init/fb-hooks-web.conf")).unwrap();
    let setuid = job.find(&format!("setuid {RUN_USER}\n")).expect("setuid");
    let pre = job.find("pre-start exec /bin/sh ").expect("pre-start");
    let post = job.find("post-start exec /bin/sh ").expect("post-start");
    assert!(setuid < pre && setuid < post, "{job}");
    assert!(
        !job.contains("pre-start script") && !job.contains("post-start script"),
        "{job}"
    );
    // Root's file, named by the deploy user: refused with the deploy user's rights.
    let shadow =
        "version: 2\ncommands:\n  web:\n    command: sleep 100\n    env_file: /etc/shadow\n";
    let path = readable(&sandbox, "shadow/Procfile", shadow.as_bytes());
    export(DEPLOY, "systemd", &path, "spy")
        .failure(2)
        .stderr_has("/etc/shadow: permission denied: the invoking user cannot read it");
    assert!(!sandbox
        .root()
        .join("etc/procexport/env/fb-spy-web.env")
        .exists());
}

/// Issue 23: `reload` through sudo follows restart's tenancy: a deploy user who neither owns
/// nor manages the app is refused, naming its owner; its owner gets through to the init (here
/// runit with no runsv running, which says so).
#[test]
fn reload_through_sudo_is_the_owners_and_managers_only() {
    let (sandbox, _config, procfile) = setup("", BASELINE);
    export(DEPLOY, "runit", &procfile, "billing").success();
    let before = sandbox.snapshot();
    sudo(OTHER, &["reload", "-n", "billing"])
        .failure(1)
        .stderr_has("belongs to \"pxdeploy\"");
    let owner = sudo(DEPLOY, &["reload", "-n", "billing"]).failure(1);
    assert!(
        owner.stderr.contains("no runsv runs") && !owner.stderr.contains("belongs to"),
        "{}",
        owner.stderr
    );
    assert_eq!(sandbox.snapshot(), before, "a reload changed files");
}
