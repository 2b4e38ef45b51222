//! What foreman and honcho users rely on: PORT per job, the formation, `.env` files, the
//! default `-p Procfile`, names with `-` (and that a `-` never lets one app take another's
//! files), the release phase. The side-by-side test runs foreman 0.87 and honcho 2 where they
//! are installed (`.ci/run` installs both) on the same Procfile, formation and `.env`, and
//! compares every job's PORT and env with procexport's.

use crate::support::{require_root, Sandbox, BACKENDS};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

const PROCFILE: &str = "web: run-web\nworker: run-worker\nclock: run-clock\nmailer: run-mailer\n";
/// Only syntax foreman 0.87 and honcho 2 read alike (foreman 0.87 skips `export KEY=`, and
/// honcho drops the spaces of an unquoted value, foreman keeps them).
const DOTENV: &str = "# shared settings\nPORT=6000\nPLAIN=a=b,c\nSINGLE='$HOME ${X} stays'\nDOUBLE=\"say \\\"hi\\\"\"\n";
/// Every type named: foreman runs a type the formation leaves out 0 times, honcho once.
const FORMATION: &str = "web=2,worker=0,clock=1,mailer=3";

/// Each job's env (`type.N` -> key -> value) from a runit export tree of foreman or honcho:
/// `<dir>/<app>-<type>-<N>/env/<KEY>`.
fn their_envs(dir: &Path, app: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut jobs = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let rest = name.strip_prefix(&format!("{app}-")).unwrap();
        let (kind, number) = rest.rsplit_once('-').unwrap();
        jobs.insert(
            format!("{kind}.{number}"),
            read_env_dir(&entry.path().join("env")),
        );
    }
    jobs
}

fn read_env_dir(dir: &Path) -> BTreeMap<String, String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let value = fs::read_to_string(e.path()).unwrap();
            let value = value.strip_suffix('\n').unwrap_or(&value).to_owned();
            (e.file_name().into_string().unwrap(), value)
        })
        .collect()
}

/// procexport's job for foreman's `type.N`: `<type>` when it runs once, else `<type>_<N-1>`.
fn our_job(kind: &str, number: u32, count: u32) -> String {
    if count == 1 {
        kind.to_owned()
    } else {
        format!("{kind}_{}", number - 1)
    }
}

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        || Command::new(tool)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
}

#[test]
fn port_and_env_match_foreman_and_honcho() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(PROCFILE);
    sandbox.write("app/.env", DOTENV);
    sandbox
        .run(&[
            "runit",
            "-p",
            procfile.to_str().unwrap(),
            "-n",
            "app",
            "-m",
            FORMATION,
        ])
        .success();
    let counts: BTreeMap<&str, u32> = FORMATION
        .split(',')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    let app_dir = procfile.parent().unwrap();
    let tools: [(&str, &[&str], &str); 2] = [
        (
            "foreman",
            &[
                "export", "runit", "OUT", "-a", "app", "-m", FORMATION, "-e", ".env", "-f",
                "Procfile", "-d", ".", "-u", "pxrun",
            ],
            "PS",
        ),
        (
            "honcho",
            &[
                "export", "runit", "OUT", "-a", "app", "-c", FORMATION, "-e", ".env", "-f",
                "Procfile", "-d", ".", "-u", "pxrun",
            ],
            "HONCHO_PROCESS_NAME",
        ),
    ];
    let mut compared = 0;
    for (tool, args, name_key) in tools {
        if !installed(tool) {
            eprintln!("{tool} is not installed: not compared (.ci/run installs it)");
            continue;
        }
        let out = tempfile::tempdir().unwrap();
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "OUT" {
                    out.path().to_str().unwrap()
                } else {
                    a
                }
            })
            .collect();
        let status = Command::new(tool)
            .args(&args)
            .current_dir(app_dir)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let theirs = their_envs(out.path(), "app");
        let expected_jobs: u32 = counts.values().sum();
        assert_eq!(theirs.len(), expected_jobs as usize, "{tool}: {theirs:?}");
        for (job, env) in &theirs {
            let (kind, number) = job.split_once('.').unwrap();
            let number: u32 = number.parse().unwrap();
            let ours = our_job(kind, number, counts[kind]);
            let our_env = read_env_dir(&sandbox.host(&format!("/etc/sv/fb-app-{ours}/env")));
            for (key, value) in env {
                let our_key = if key == name_key { "PS" } else { key.as_str() };
                assert_eq!(
                    our_env.get(our_key),
                    Some(value),
                    "{tool} {job} ({ours}): {key}"
                );
            }
            assert!(env.contains_key("PORT"), "{tool} {job}: no PORT");
            compared += 1;
        }
    }
    // The ports themselves, foreman's and honcho's rule: base (PORT of .env) + 100 x the
    // type's place in the Procfile (a type run 0 times keeps its place) + the instance.
    let port = |job: &str| {
        fs::read_to_string(sandbox.host(&format!("/etc/sv/fb-app-{job}/env/PORT"))).unwrap()
    };
    assert_eq!(port("web_0"), "6000\n");
    assert_eq!(port("web_1"), "6001\n");
    assert_eq!(port("clock"), "6200\n");
    assert_eq!(port("mailer_2"), "6302\n");
    assert!(!sandbox.host("/etc/sv/fb-app-worker").exists());
    assert!(!sandbox.host("/etc/sv/fb-app-worker_0").exists());
    eprintln!("compared {compared} jobs with foreman and honcho");
}

/// Heroku's `release` first: procexport installs no job for it (it is no daemon), but it keeps
/// its place in the PORT count, as foreman, which exports it as a job with PORT = base: every
/// other type gets foreman's PORT, never one shifted down by a slot.
#[test]
fn release_first_keeps_foremans_ports() {
    require_root();
    let sandbox = Sandbox::new();
    let text = "release: rake db:migrate\nweb: run-web\nworker: run-worker\n";
    let procfile = sandbox.procfile(text);
    let outcome = sandbox.export("runit", &procfile, "app").success();
    assert!(
        outcome.stdout.contains("\"release\": skipped"),
        "{}",
        outcome.stdout
    );
    assert!(!sandbox.host("/etc/sv/fb-app-release").exists());
    let port = |job: &str| {
        read_env_dir(&sandbox.host(&format!("/etc/sv/fb-app-{job}/env")))["PORT"].clone()
    };
    // foreman's rule, whether or not foreman is here to confirm it.
    assert_eq!(
        (port("web").as_str(), port("worker").as_str()),
        ("5100", "5200")
    );
    if !installed("foreman") {
        eprintln!("foreman is not installed: not compared (.ci/run installs it)");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("foreman")
        .args(["export", "runit"])
        .arg(out.path())
        .args(["-a", "app", "-f", "Procfile", "-d", ".", "-u", "pxrun"])
        .current_dir(procfile.parent().unwrap())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "foreman: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let theirs = their_envs(out.path(), "app");
    assert_eq!(theirs["release.1"]["PORT"], "5000", "{theirs:?}");
    for kind in ["web", "worker"] {
        assert_eq!(
            theirs[&format!("{kind}.1")]["PORT"],
            port(kind),
            "foreman's {kind}"
        );
    }
}

#[test]
fn port_flag_beats_dotenv_and_the_procfile_can_override_the_env() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(
        "version: 2\ncommands:\n  web: a\n  worker:\n    command: b\n    env: {PS: w, HOME: /srv/w, PORT: \"1\"}\n",
    );
    sandbox.write("other.env", "PORT=7000\nA=from-other\n");
    sandbox
        .run(&[
            "runit",
            "-p",
            procfile.to_str().unwrap(),
            "-n",
            "app",
            "--port",
            "8000",
            "-e",
            "other.env",
        ])
        .success();
    let env = |job: &str| read_env_dir(&sandbox.host(&format!("/etc/sv/fb-app-{job}/env")));
    let web = env("web");
    assert_eq!(web["PORT"], "8000");
    assert_eq!(web["PS"], "web.1");
    assert_eq!(web["USER"], "pxrun");
    assert_eq!(web["A"], "from-other");
    let worker = env("worker");
    assert_eq!(
        (
            worker["PS"].as_str(),
            worker["HOME"].as_str(),
            worker["PORT"].as_str()
        ),
        ("w", "/srv/w", "1")
    );
}

#[test]
fn procfile_defaults_to_the_one_in_the_current_directory() {
    require_root();
    let sandbox = Sandbox::new();
    sandbox.write("Procfile", "web: a\nrelease: rake db:migrate\n");
    let outcome = sandbox.run(&["systemd", "-n", "app"]).success();
    assert!(
        outcome
            .stdout
            .contains("note: \"release\": skipped, it is the release phase"),
        "{}",
        outcome.stdout
    );
    assert!(sandbox
        .host("/etc/systemd/system/fb-app-web.service")
        .exists());
    assert!(!sandbox
        .host("/etc/systemd/system/fb-app-release.service")
        .exists());
}

/// The sandbox's tree without the per-app lock files (state, not an install) and the log
/// directories (never removed).
/// The tree without locks, logs and the state directory itself (a clean's lock makes it where
/// only systemd-user, which keeps its state in the home, had installed anything).
fn installed_files(sandbox: &Sandbox) -> crate::support::Tree {
    sandbox
        .snapshot()
        .into_iter()
        .filter(|(path, node)| {
            let state_dir = matches!(node, crate::support::Node::Dir { .. })
                && "var/lib/procexport".starts_with(path.as_str());
            !path.ends_with(".lock") && !path.starts_with("var/log/") && !state_dir
        })
        .collect()
}

#[test]
fn a_dash_never_lets_one_app_take_anothers_files() {
    require_root();
    for backend in BACKENDS {
        // Both orders: whichever app came first keeps its files, the other is refused.
        for (first, second) in [
            (("a", "b-c: x\n"), ("a-b", "c: y\n")),
            (("a-b", "c: y\n"), ("a", "b-c: x\n")),
        ] {
            let sandbox = Sandbox::new();
            let p1 = sandbox.write("one/Procfile", first.1);
            let p2 = sandbox.write("two/Procfile", second.1);
            sandbox.export(backend, &p1, first.0).success();
            let before = installed_files(&sandbox);
            sandbox
                .export(backend, &p2, second.0)
                .failure(1)
                .stderr_has(&format!("belongs to another app, \"fb-{}\"", first.0))
                .stderr_has("rename the label or the app");
            assert!(
                installed_files(&sandbox) == before,
                "{backend}: something changed"
            );
        }
    }
}

#[test]
fn clean_and_the_gems_names_never_match_a_dashed_neighbour() {
    require_root();
    for backend in BACKENDS {
        let sandbox = Sandbox::new();
        let neighbour = sandbox.write("one/Procfile", "web: x\nb-web: y\n");
        sandbox.export(backend, &neighbour, "a-b").success();
        let before = installed_files(&sandbox);
        let changed = |now: &crate::support::Tree| -> Vec<String> {
            before
                .keys()
                .chain(now.keys())
                .filter(|p| before.get(*p) != now.get(*p))
                .cloned()
                .collect()
        };
        // App "a" was never installed: the names "fb-a-b.conf" and "fb-a-b-web.conf" look like
        // the gem's for "a", but they are app "a-b"'s.
        let outcome = sandbox.run(&["clean", "-n", "a"]).success();
        assert!(
            outcome.stdout.contains("nothing is installed for fb-a"),
            "{}",
            outcome.stdout
        );
        let touched = changed(&installed_files(&sandbox));
        assert!(
            touched.is_empty(),
            "{backend}: clean of a touched {touched:?}"
        );
        // Installed and cleaned, app "a" removes its own files only.
        let mine = sandbox.write("two/Procfile", "web: z\n");
        sandbox.export(backend, &mine, "a").success();
        sandbox.run(&["clean", "-n", "a"]).success();
        let touched = changed(&installed_files(&sandbox));
        assert!(
            touched.is_empty(),
            "{backend}: export and clean of a touched {touched:?}"
        );
    }
}

#[test]
fn linked_as_upstart_export_it_takes_the_gems_command_line() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: a\nworker: b\n");
    let link = sandbox.path().join("upstart-export");
    std::os::unix::fs::symlink(crate::support::bin(), &link).unwrap();
    let gem = |args: &[&str]| {
        let mut command = Command::new(&link);
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("--config")
            .arg(sandbox.config_path())
            .arg("--root")
            .arg(sandbox.root())
            .args(args);
        crate::support::run(&mut command)
    };
    gem(&["-p", procfile.to_str().unwrap(), "-n", "myapp"]).success();
    assert!(sandbox.host("/etc/init/fb-myapp-worker.conf").exists());
    gem(&["-c", "-n", "myapp"]).success();
    assert!(!sandbox.host("/etc/init/fb-myapp-worker.conf").exists());
    assert!(!sandbox.host("/etc/init/fb-myapp.conf").exists());
}
