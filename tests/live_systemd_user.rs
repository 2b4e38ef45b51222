//! systemd user units end to end, as a plain user runs them: a container booted in host-root
//! mode (`support::lab`: an overlay over this machine's `/`, so the users, the tools and the
//! built procexport are inside, and nothing the test does reaches the host), a user made for
//! the test with lingering on (so systemd starts that user's manager), no config file
//! anywhere, and the README's commands run as that user without sudo and without
//! `--backend`: export, start, status, restart, stop, list, clean. The jobs run for real under
//! the user's own manager; the test watches them through `systemctl --user` and /proc.
//! A guard removes the user inside the container, and the container guard halts it; the host
//! is compared before and after.

use crate::support::lab::Container;
use crate::support::live::{proc_env, proc_ids, status_rows, wait_for};
use crate::support::{bin, Outcome};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The user made for the test, inside the container only.
const USER: &str = "pxunits";

/// The user, with lingering on, removed again (lingering off, which ends its manager, then the
/// account and its home) when dropped, also when the test fails.
struct PlainUser<'a> {
    ct: &'a Container,
    uid: u32,
    gid: u32,
    home: String,
}

impl<'a> PlainUser<'a> {
    fn new(ct: &'a Container) -> Self {
        ct.exec(&["useradd", "--create-home", "--shell", "/bin/sh", USER])
            .success();
        let id = |flag: &str| -> u32 {
            ct.exec(&["id", flag, USER])
                .success()
                .stdout
                .trim()
                .parse()
                .unwrap()
        };
        let user = Self {
            ct,
            uid: id("-u"),
            gid: id("-g"),
            home: format!("/home/{USER}"),
        };
        ct.exec(&["loginctl", "enable-linger", USER]).success();
        let private = ct.path(&format!("/run/user/{}/systemd/private", user.uid));
        wait_for("the user's manager to run", 30, || {
            private.exists().then_some(())
        });
        user
    }

    /// `args` run as the user: no sudo, the environment a login gives, in `~/app`.
    fn run(&self, args: &[&str]) -> Outcome {
        let uid = self.uid.to_string();
        let mut all = vec![
            "setpriv".to_owned(),
            format!("--reuid={uid}"),
            format!("--regid={}", self.gid),
            "--init-groups".to_owned(),
            "env".to_owned(),
            "-i".to_owned(),
            format!("--chdir={}/app", self.home),
            format!("HOME={}", self.home),
            format!("USER={USER}"),
            format!("LOGNAME={USER}"),
            "PATH=/usr/local/bin:/usr/bin:/bin".to_owned(),
            format!("XDG_RUNTIME_DIR=/run/user/{uid}"),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        self.ct.exec(&all)
    }

    fn procexport(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["procexport"];
        all.extend(args);
        self.run(&all)
    }

    fn systemctl(&self, args: &[&str]) -> String {
        let mut all = vec!["systemctl", "--user"];
        all.extend(args);
        self.run(&all).stdout
    }

    fn show(&self, unit: &str, property: &str) -> String {
        self.systemctl(&["show", "-p", property, "--value", unit])
            .trim()
            .to_owned()
    }

    /// The unit's main pid (in the container) while it runs.
    fn pid(&self, unit: &str) -> Option<u32> {
        let pid: u32 = self.show(unit, "MainPID").parse().ok()?;
        (pid != 0 && self.show(unit, "ActiveState") == "active").then_some(pid)
    }

    /// Waits until both jobs run; their pids by unit.
    #[track_caller]
    fn running(&self) -> BTreeMap<String, u32> {
        ["fb-app-web.service", "fb-app-clock.service"]
            .iter()
            .map(|unit| {
                let pid = wait_for(&format!("{unit} to run"), 15, || self.pid(unit));
                ((*unit).to_owned(), pid)
            })
            .collect()
    }

    /// `procexport status` agrees with the user's manager on every unit of the app.
    #[track_caller]
    fn status_matches_systemctl(&self) -> Vec<String> {
        let out = self.procexport(&["status", "-n", "app"]).success();
        let rows = status_rows(&out.stdout);
        for (unit, row) in &rows {
            assert_eq!(row.backend, "systemd-user", "{unit}");
            let active = self.show(unit, "ActiveState");
            match row.state.as_str() {
                "running" => assert_eq!(row.pid, self.pid(unit), "{unit}"),
                "active" => assert_eq!(active, "active", "{unit}"),
                "stopped" => assert_eq!(active, "inactive", "{unit}"),
                other => panic!("{unit}: state {other}, systemd says {active}"),
            }
        }
        rows.into_values().map(|r| r.state).collect()
    }
}

impl Drop for PlainUser<'_> {
    fn drop(&mut self) {
        for args in [
            vec!["loginctl", "disable-linger", USER],
            vec!["userdel", "--force", "--remove", USER],
        ] {
            let out = self.ct.exec(&args);
            if out.code != 0 {
                eprintln!("{args:?}: {}", out.stderr);
            }
        }
    }
}

/// What of the host the test would change if the overlay leaked: the account databases,
/// lingering and the user's home. (The system's state directory is not compared: the other
/// root-tier tests share it.)
fn host_state() -> Vec<(String, Option<Vec<u8>>)> {
    let linger = fs::read_dir("/var/lib/systemd/linger")
        .map(|d| {
            let mut names: Vec<String> = d
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names.join("\n").into_bytes()
        })
        .ok();
    let mut state: Vec<(String, Option<Vec<u8>>)> = ["/etc/passwd", "/etc/group", "/etc/shadow"]
        .iter()
        .map(|p| ((*p).to_owned(), fs::read(p).ok()))
        .collect();
    state.push(("linger".to_owned(), linger));
    let home = format!("/home/{USER}");
    let exists = Path::new(&home).exists().then(Vec::new);
    state.push((home, exists));
    state
}

#[test]
fn a_plain_user_exports_starts_restarts_stops_lists_and_cleans_with_the_readme_commands() {
    let before = host_state();
    assert!(
        nix::unistd::User::from_name(USER).unwrap().is_none(),
        "{USER} exists on the host"
    );
    {
        let ct = Container::up_host_root("user");
        run_as_plain_user(&ct);
    }
    assert_eq!(host_state(), before, "the container changed the host");
}

fn run_as_plain_user(ct: &Container) {
    // No config anywhere, and no system state: what a new user of procexport has.
    fs::copy(bin(), ct.path("/usr/local/bin/procexport")).unwrap();
    ct.exec(&[
        "rm",
        "-rf",
        "/etc/procexport.yaml",
        "/etc/upstart-exporter.yaml",
        "/var/lib/procexport",
    ])
    .success();
    let user = PlainUser::new(ct);
    let home = user.home.clone();
    let system_state = ct.path("/var/lib/procexport");
    fs::create_dir_all(ct.path(&format!("{home}/app"))).unwrap();
    fs::write(
        ct.path(&format!("{home}/app/Procfile")),
        "version: 2\nenv:\n  SECRET: \"s3cr3t 100% $HOME q\"\ncommands:\n  web:\n    command: exec sleep 1000\n  clock:\n    command: exec sleep 1001\n",
    )
    .unwrap();
    ct.exec(&["chown", "-R", &format!("{USER}:"), &format!("{home}/app")])
        .success();

    // Export: the units go to the user's own directories, and the manager reads them.
    let out = user
        .procexport(&["systemd-user", "-p", "Procfile", "-n", "app"])
        .success();
    assert!(
        !out.stderr
            .contains("did not run systemctl --user daemon-reload"),
        "{}",
        out.stderr
    );
    let units = format!("{home}/.config/systemd/user");
    for file in [
        format!("{units}/fb-app.target"),
        format!("{units}/fb-app-web.service"),
        format!("{home}/.config/procexport/env/fb-app-web.env"),
        format!("{home}/.local/state/procexport/systemd-user/fb-app.manifest"),
    ] {
        let meta = fs::metadata(ct.path(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(meta.uid(), user.uid, "{file}");
    }

    the_jobs_run_as_the_user(&user);
    // Not one of these commands touched the system's state directory.
    assert!(!system_state.exists(), "a plain user's command made it");
    the_same_app_for_the_system_too(ct, &user);
}

/// start, status, restart, stop and list, as the user, without `--backend`.
fn the_jobs_run_as_the_user(user: &PlainUser) {
    let (ct, home) = (user.ct, &user.home);
    // start: both jobs run as the user, in the Procfile's directory, with the env.
    let out = user.procexport(&["start", "-n", "app"]).success();
    assert!(
        out.stdout.contains("systemd-user start of fb-app:"),
        "{}",
        out.stdout
    );
    let first = user.running();
    for (unit, pid) in &first {
        let host = ct.host_pid(*pid);
        assert_eq!(proc_ids(host, "Uid"), [user.uid; 4], "{unit}");
        let cwd = ct
            .exec(&["readlink", &format!("/proc/{pid}/cwd")])
            .success()
            .stdout;
        assert_eq!(cwd.trim_end(), format!("{home}/app"), "{unit}");
        assert_eq!(
            proc_env(host).get("SECRET").map(String::as_str),
            Some("s3cr3t 100% $HOME q"),
            "{unit}"
        );
    }
    // The lock is the user's, in the user's state directory.
    let lock = ct.path(&format!("{home}/.local/state/procexport/fb-app.lock"));
    assert_eq!(fs::metadata(&lock).unwrap().uid(), user.uid);
    let states = user.status_matches_systemctl();
    assert!(states.iter().any(|s| s == "running"), "{states:?}");

    // restart: every job gets a new process.
    user.procexport(&["restart", "-n", "app"]).success();
    let second = user.running();
    for (unit, pid) in &first {
        assert_ne!(second[unit], *pid, "{unit} kept its pid");
    }
    user.status_matches_systemctl();

    // stop.
    user.procexport(&["stop", "-n", "app"]).success();
    for unit in first.keys() {
        assert_eq!(user.show(unit, "ActiveState"), "inactive", "{unit}");
    }
    let states = user.status_matches_systemctl();
    assert!(
        states.iter().all(|s| s == "stopped"),
        "{states:?} after stop"
    );

    // list: the user's own app, as theirs.
    let list = user.procexport(&["list"]).success();
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [["app", "systemd-user", "2", USER]],
        "{}",
        list.stdout
    );
}

/// The same app for the system too (rare): the user's commands say which one they act on,
/// and leave the system's alone; once the user's is cleaned, they say how to reach it.
fn the_same_app_for_the_system_too(ct: &Container, user: &PlainUser) {
    let home = &user.home;
    let units = format!("{home}/.config/systemd/user");
    fs::write(
        ct.path("/root/system.yaml"),
        format!("run_user: {USER}\nrun_group: {USER}\n"),
    )
    .unwrap();
    ct.exec(&[
        "/usr/local/bin/procexport",
        "--config",
        "/root/system.yaml",
        "systemd",
        "-p",
        &format!("{home}/app/Procfile"),
        "-n",
        "app",
    ])
    .success();
    let system_manifest = ct.path("/var/lib/procexport/systemd/fb-app.manifest");
    assert!(system_manifest.exists());
    let out = user.procexport(&["start", "-n", "app"]).success();
    assert!(
        out.stderr.contains("this acted on your own fb-app")
            && out.stderr.contains("`sudo procexport start -n app`"),
        "{}",
        out.stderr
    );
    let third = user.running();
    let out = user.procexport(&["status", "-n", "app"]).success();
    assert!(
        out.stderr.contains("(systemd) was left alone"),
        "{}",
        out.stderr
    );
    assert!(
        status_rows(&out.stdout)
            .values()
            .all(|r| r.backend == "systemd-user"),
        "{}",
        out.stdout
    );

    // clean: the user's app is stopped and gone, the system's is left.
    let out = user.procexport(&["clean", "-n", "app"]).success();
    assert!(
        out.stderr.contains("this acted on your own fb-app"),
        "{}",
        out.stderr
    );
    for gone in [
        format!("{units}/fb-app.target"),
        format!("{units}/fb-app-web.service"),
        format!("{units}/default.target.wants/fb-app.target"),
        format!("{home}/.config/procexport/env/fb-app-web.env"),
        format!("{home}/.local/state/procexport/systemd-user/fb-app.manifest"),
    ] {
        assert!(ct.path(&gone).symlink_metadata().is_err(), "{gone} is left");
    }
    let listed = user.systemctl(&["list-units", "--all", "--no-legend", "--plain"]);
    assert!(!listed.contains("fb-app"), "{listed}");
    let left = user.running_pids_of(&third);
    assert!(left.is_empty(), "{left:?} run on after clean");
    assert!(
        system_manifest.exists(),
        "the user's clean took the system's app"
    );

    // Now only the system has the app: the user is told how to reach it.
    user.procexport(&["start", "-n", "app"])
        .failure(2)
        .stderr_has("nothing of yours is installed for fb-app")
        .stderr_has("sudo procexport start -n app");
    ct.exec(&[
        "/usr/local/bin/procexport",
        "--config",
        "/root/system.yaml",
        "clean",
        "-n",
        "app",
    ])
    .success();
}

impl PlainUser<'_> {
    /// Those of `pids` whose processes still exist in the container.
    fn running_pids_of(&self, pids: &BTreeMap<String, u32>) -> Vec<(String, u32)> {
        pids.iter()
            .filter(|(_, pid)| {
                fs::read_to_string(self.ct.path(&format!("/proc/{pid}/stat"))).is_ok_and(|stat| {
                    stat.rsplit_once(") ")
                        .is_some_and(|(_, rest)| !rest.starts_with('Z'))
                })
            })
            .map(|(unit, pid)| (unit.clone(), *pid))
            .collect()
    }
}
