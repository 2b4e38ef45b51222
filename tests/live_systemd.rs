//! systemd for real: each test boots a container whose PID 1 is Debian's own systemd
//! (tests/lab/boot.sh through `support::lab`: `prepare` makes the root filesystem once, `up` boots it
//! in about a second), copies the procexport binary in and runs it there, so that
//! /run/systemd/system exists and systemctl reaches that PID 1, exactly as on a server. The
//! jobs run for real as the run user; the tests watch them through systemctl, `procexport
//! status` and the container's /proc. A guard halts the container, also when the test fails.

use crate::support::lab;
use crate::support::live::{proc_env, proc_ids, status_rows, wait_for, Row};
use crate::support::{bin, Outcome, RUN_USER};
use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

/// A booted container (`support::lab`) with procexport, its run user and a config, as a
/// package and an admin would set them up; halted when dropped.
struct Container(lab::Container);

impl std::ops::Deref for Container {
    type Target = lab::Container;

    fn deref(&self) -> &lab::Container {
        &self.0
    }
}

impl Container {
    fn up(test: &str) -> Self {
        let container = Self(lab::Container::up(test));
        let target = container.path("/usr/local/bin/procexport");
        fs::copy(bin(), &target).unwrap();
        container.exec(&[
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            RUN_USER,
        ]);
        fs::write(
            container.path("/etc/procexport.yaml"),
            format!("run_user: {RUN_USER}\nrun_group: {RUN_USER}\n"),
        )
        .unwrap();
        container
    }

    /// procexport run inside the container, as root.
    fn procexport(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["/usr/local/bin/procexport"];
        all.extend(args);
        self.exec(&all)
    }

    /// Writes `/srv/APP/Procfile` in the container; returns its path there.
    fn procfile(&self, app: &str, text: &str) -> String {
        let real = format!("/srv/{app}/Procfile");
        fs::create_dir_all(self.path(&format!("/srv/{app}"))).unwrap();
        fs::write(self.path(&real), text).unwrap();
        real
    }

    fn export(&self, app: &str, text: &str, extra: &[&str]) -> Outcome {
        let procfile = self.procfile(app, text);
        let mut args = vec!["systemd", "-p", &procfile, "-n", app];
        args.extend(extra);
        self.procexport(&args)
    }

    fn systemctl(&self, args: &[&str]) -> String {
        let mut all = vec!["systemctl"];
        all.extend(args);
        self.exec(&all).stdout
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

    /// True while container process `pid` exists and is not a zombie.
    fn alive(&self, pid: u32) -> bool {
        fs::read_to_string(self.path(&format!("/proc/{pid}/stat"))).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    }

    /// The pids of every process the run user has in the container.
    fn run_user_processes(&self) -> String {
        self.exec(&["pgrep", "-a", "-u", RUN_USER]).stdout
    }

    fn log(&self, real: &str) -> String {
        fs::read_to_string(self.path(real)).unwrap_or_default()
    }

    fn status(&self, app: &str) -> BTreeMap<String, Row> {
        status_rows(&self.procexport(&["status", "-n", app]).success().stdout)
    }

    /// `procexport status` agrees with systemctl on every unit of the app.
    #[track_caller]
    fn status_matches_systemctl(&self, app: &str) {
        for (unit, row) in self.status(app) {
            assert_eq!(row.backend, "systemd");
            let active = self.show(&unit, "ActiveState");
            match row.state.as_str() {
                "running" => assert_eq!(row.pid, self.pid(&unit), "{unit}"),
                "active" => assert_eq!(active, "active", "{unit}"),
                "stopped" => assert_eq!(active, "inactive", "{unit}"),
                "failed" => assert_eq!(active, "failed", "{unit}"),
                other => panic!("{unit}: state {other}, systemd says {active}"),
            }
        }
    }

    /// Waits until every one of `jobs` of app `myapp` runs; their pids.
    #[track_caller]
    fn running(&self, jobs: &[&str]) -> BTreeMap<String, u32> {
        jobs.iter()
            .map(|job| {
                let unit = format!("fb-myapp-{job}.service");
                let pid = wait_for(&format!("{unit} to run"), 10, || self.pid(&unit));
                (unit, pid)
            })
            .collect()
    }

    /// Every unit systemd lists, loaded or not, active or not.
    fn listed(&self) -> String {
        self.systemctl(&["list-units", "--all", "--no-legend", "--plain"])
    }
}

#[test]
fn jobs_run_as_the_run_user_and_restart_stop_drop_and_clean_act_on_them() {
    let ct = Container::up("main");
    fs::create_dir_all(ct.path("/srv/work dir")).unwrap();
    let procfile = "version: 2\nworking_directory: /srv/work dir\nenv:\n  GREETING: \"it's me\"\ncommands:\n  web:\n    command: echo web up; exec sleep 1000\n  worker:\n    command: exec sleep 1001\n";
    ct.export("other", "web: exec sleep 1002\n", &["--restart"])
        .success();
    let neighbour = wait_for("the neighbour to run", 10, || {
        ct.pid("fb-other-web.service")
    });

    // One command exports and starts the app.
    let started = Instant::now();
    let out = ct.export("myapp", procfile, &["--restart"]).success();
    eprintln!("export --restart took {:?}", started.elapsed());
    assert!(
        out.stdout.contains("systemd restart of fb-myapp: fb-myapp.target fb-myapp-web.service fb-myapp-worker.service"),
        "{}",
        out.stdout
    );
    let first = ct.running(&["web", "worker"]);
    let web = ct.host_pid(first["fb-myapp-web.service"]);
    let uid: u32 = ct
        .exec(&["id", "-u", RUN_USER])
        .stdout
        .trim()
        .parse()
        .unwrap();
    let gid: u32 = ct
        .exec(&["id", "-g", RUN_USER])
        .stdout
        .trim()
        .parse()
        .unwrap();
    assert_eq!(proc_ids(web, "Uid"), [uid; 4]);
    assert_eq!(proc_ids(web, "Gid"), [gid; 4]);
    let ct_web = first["fb-myapp-web.service"].to_string();
    let cwd = ct
        .exec(&["readlink", &format!("/proc/{ct_web}/cwd")])
        .stdout;
    assert_eq!(cwd.trim_end(), "/srv/work dir");
    assert_eq!(
        proc_env(web).get("GREETING").map(String::as_str),
        Some("it's me")
    );
    wait_for("web's log", 10, || {
        Some(()).filter(|()| ct.log("/var/log/fb-myapp/web.log") == "web up\n")
    });
    ct.status_matches_systemctl("myapp");

    // restart: every job gets a new pid.
    ct.procexport(&["restart", "-n", "myapp"]).success();
    let second = ct.running(&["web", "worker"]);
    for (unit, pid) in &first {
        assert_ne!(second[unit], *pid, "{unit} kept its pid");
        assert!(!ct.alive(*pid), "{unit}'s old process {pid} runs on");
    }
    eprintln!("pids before restart {first:?}, after {second:?}");
    ct.status_matches_systemctl("myapp");

    // stop, then start.
    ct.procexport(&["stop", "-n", "myapp"]).success();
    for (unit, pid) in &second {
        assert!(!ct.alive(*pid), "{unit} runs on after stop");
        assert_eq!(ct.show(unit, "ActiveState"), "inactive");
    }
    let rows = ct.status("myapp");
    assert!(rows.values().all(|r| r.state == "stopped"), "{rows:?}");
    ct.procexport(&["start", "-n", "myapp"]).success();
    let third = ct.running(&["web", "worker"]);
    ct.status_matches_systemctl("myapp");

    // An export that drops a job stops it before removing its unit.
    let one = "version: 2\nworking_directory: /srv/work dir\nenv:\n  GREETING: \"it's me\"\ncommands:\n  web:\n    command: echo web up; exec sleep 1000\n";
    ct.export("myapp", one, &[]).success();
    let worker = third["fb-myapp-worker.service"];
    assert!(!ct.alive(worker), "the dropped worker {worker} runs on");
    assert!(!ct.listed().contains("fb-myapp-worker"), "{}", ct.listed());
    assert_eq!(
        ct.pid("fb-myapp-web.service"),
        Some(third["fb-myapp-web.service"]),
        "web was left alone"
    );
    let rows = ct.status("myapp");
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        ["fb-myapp-web.service", "fb-myapp.target"]
    );

    // clean stops every job of the app, and nothing of it stays listed.
    ct.procexport(&["clean", "-n", "myapp"]).success();
    assert!(!ct.alive(third["fb-myapp-web.service"]));
    let listed = ct.listed();
    assert!(!listed.contains("fb-myapp"), "{listed}");
    let processes = ct.run_user_processes();
    assert!(
        !processes.contains("sleep 1000") && !processes.contains("sleep 1001"),
        "{processes}"
    );
    let list = ct.procexport(&["list"]).success().stdout;
    assert!(
        !list.lines().any(|l| l.starts_with("myapp ")) && list.contains("\nother  systemd  1"),
        "{list}"
    );
    // The neighbour never noticed.
    assert_eq!(ct.pid("fb-other-web.service"), Some(neighbour));
}

#[test]
fn respawn_limits_respawn_false_and_kill_timeout_then_clean_leaves_nothing_listed() {
    let ct = Container::up("respawn");
    let procfile = "version: 2\ncommands:\n  web:\n    command: exec sleep 1000\n  crash:\n    command: echo crashing; exec false\n    respawn: {count: 2, interval: 10}\n  once:\n    command: echo ran; exec false\n    respawn: false\n  stubborn:\n    command: trap '' TERM; exec sleep 1003\n    kill_timeout: 2\n";
    ct.export("myapp", procfile, &["--restart"]).success();

    // A killed process is respawned.
    let web = ct.running(&["web"])["fb-myapp-web.service"];
    ct.exec(&["kill", "-KILL", &web.to_string()]).success();
    let again = wait_for("web to be respawned", 10, || {
        ct.pid("fb-myapp-web.service").filter(|p| *p != web)
    });

    // Past its start limit the crashing job stays failed.
    wait_for("the crash loop to stop", 15, || {
        (ct.show("fb-myapp-crash.service", "ActiveState") == "failed").then_some(())
    });
    let crashes = ct
        .log("/var/log/fb-myapp/crash.log")
        .matches("crashing\n")
        .count();
    eprintln!("the crashing job ran {crashes} times");
    assert!((2..=3).contains(&crashes), "ran {crashes} times");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        ct.log("/var/log/fb-myapp/crash.log")
            .matches("crashing\n")
            .count(),
        crashes
    );

    // respawn: false: it ran once and stays down.
    wait_for("once to run", 10, || {
        Some(()).filter(|()| ct.log("/var/log/fb-myapp/once.log") == "ran\n")
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ct.log("/var/log/fb-myapp/once.log"), "ran\n");
    assert_ne!(ct.show("fb-myapp-once.service", "ActiveState"), "active");

    let rows = ct.status("myapp");
    assert_eq!(rows["fb-myapp-web.service"].pid, Some(again));
    assert_eq!(rows["fb-myapp-crash.service"].state, "failed");
    assert_eq!(rows["fb-myapp.target"].state, "active");
    ct.status_matches_systemctl("myapp");

    // stop waits out the kill timeout of the job that ignores TERM.
    let stubborn = ct.running(&["stubborn"])["fb-myapp-stubborn.service"];
    let asked = Instant::now();
    ct.procexport(&["stop", "-n", "myapp"]).success();
    let took = asked.elapsed();
    assert!(
        (Duration::from_millis(1900)..Duration::from_secs(10)).contains(&took),
        "stop took {took:?}"
    );
    assert!(!ct.alive(stubborn));
    assert_eq!(ct.show("fb-myapp-stubborn.service", "Result"), "timeout");

    // start forgets the failures: the crashing job is started again, and the others run.
    // (Whether systemctl sees the crash before its start job ends is a race: if it does, the
    // start fails with its message.)
    let out = ct.procexport(&["start", "-n", "myapp"]);
    assert!(
        out.code == 0
            || (out.code == 1 && out.stderr.contains("Job for fb-myapp-crash.service failed")),
        "{out:?}"
    );
    ct.running(&["web", "stubborn"]);
    wait_for("the crashing job to run again", 10, || {
        (ct.log("/var/log/fb-myapp/crash.log")
            .matches("crashing\n")
            .count()
            > crashes)
            .then_some(())
    });

    // clean: no process of the app, and nothing listed, failed units included.
    ct.procexport(&["clean", "-n", "myapp"]).success();
    let listed = ct.listed();
    assert!(!listed.contains("fb-myapp"), "{listed}");
    let processes = ct.run_user_processes();
    assert!(processes.trim().is_empty(), "{processes}");
}

/// Issue 23: init-exporter's keys take effect on a real systemd: `systemctl show` reports the
/// limits, signals, kill mode, restart delay and resources; the process has the limits; `pre`
/// and `post` ran as the run user; `systemctl reload` delivered the reload signal; the
/// env_file's variables reached the process.
#[test]
fn init_exporter_keys_take_effect() {
    let ct = Container::up("v2keys");
    fs::write(
        ct.path("/etc/procexport.yaml"),
        format!(
            "run_user: {RUN_USER}\nrun_group: {RUN_USER}\npolicy:\n  max_limits: {{nofile: 8192, nproc: 8192, memlock: -1}}\n"
        ),
    )
    .unwrap();
    fs::create_dir_all(ct.path("/srv/myapp")).unwrap();
    fs::write(ct.path("/srv/myapp/app.env"), "FROM_ENV_FILE=yes\n").unwrap();
    let procfile = "version: 2\ncommands:\n  web:\n    pre: echo \"pre as $(id -un)\"\n    command: trap 'echo got USR2' USR2; echo up; while :; do sleep 0.2; done\n    post: echo \"post as $(id -un)\"\n    limits: {nofile: 4096, nproc: 300, memlock: -1}\n    kill_signal: SIGQUIT\n    kill_mode: control-group\n    reload_signal: SIGUSR2\n    env_file: app.env\n    respawn: {count: 5, interval: 10, delay: 2}\n    resources: {cpu_weight: 50, memory_max: 512M, task_max: 150}\n";
    ct.export("myapp", procfile, &["--restart"]).success();
    let unit = "fb-myapp-web.service";
    let pid = ct.running(&["web"])[unit];
    for (property, value) in [
        ("LimitNOFILE", "4096"),
        ("LimitNPROC", "300"),
        ("LimitMEMLOCK", "infinity"),
        ("KillSignal", "3"),
        ("KillMode", "control-group"),
        ("RestartUSec", "2s"),
        ("CPUWeight", "50"),
        ("MemoryMax", "536870912"),
        ("TasksMax", "150"),
    ] {
        assert_eq!(ct.show(unit, property), value, "{property}");
    }
    let limits = fs::read_to_string(ct.path(&format!("/proc/{pid}/limits"))).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().collect::<Vec<_>>()[3..5],
        ["4096", "4096"],
        "{open_files}"
    );
    let environ = fs::read(ct.path(&format!("/proc/{pid}/environ"))).unwrap();
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|kv| kv == b"FROM_ENV_FILE=yes"),
        "the env_file's variable is not in the process's env"
    );
    let log = "/var/log/fb-myapp/web.log";
    wait_for("pre and post to have run", 10, || {
        let text = ct.log(log);
        (text.contains(&format!("pre as {RUN_USER}\n"))
            && text.contains(&format!("post as {RUN_USER}\n"))
            && text.contains("\nup\n"))
        .then_some(())
    });
    assert!(!ct.log(log).contains("as root"), "{}", ct.log(log));
    ct.exec(&["systemctl", "reload", unit]).success();
    wait_for("the reload signal to arrive", 10, || {
        ct.log(log).contains("got USR2\n").then_some(())
    });
    assert_eq!(ct.pid(unit), Some(pid), "a reload restarted the job");
    ct.procexport(&["clean", "-n", "myapp"]).success();
}
