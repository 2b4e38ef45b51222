//! runit for real: each test exports into a live sandbox (the config points every directory
//! into it, so generated paths are real) and starts its own `runsvdir` on the sandbox's service
//! directory, then watches what runsv does with `sv status` and /proc. Every wait polls with a
//! deadline. A guard stops the runsvdir with HUP (which makes it send TERM to every runsv: TERM
//! to runsvdir itself would leave them running) and waits for the runsv processes to go, also
//! when the test fails. The tests are independent and run in parallel.

use crate::helpers_run::{yaml_quote, VALUES};
use crate::support::live::{proc_limit, run_user, run_users_dir};
use crate::support::{require_root, Sandbox};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// A `runsvdir` on the sandbox's service directory, stopped when dropped.
struct Runsvdir {
    child: Child,
    /// The sandbox's runit_dir, whose services must all be unsupervised once it is stopped.
    sv_dir: PathBuf,
}

impl Runsvdir {
    fn start(sandbox: &Sandbox) -> Self {
        let service_dir = sandbox.root().join("etc/service");
        fs::create_dir_all(&service_dir).unwrap();
        let log = fs::File::create(sandbox.path().join("runsvdir.log")).unwrap();
        // Every signal at its default, as under a real init: a harness started in the
        // background inherits SIGINT and SIGQUIT ignored, which no service could then trap.
        let child = Command::new("env")
            .args(["--default-signal", "runsvdir"])
            .arg(&service_dir)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // A process group of its own: whatever it signals on its way out (an init ending
            // its session) never reaches the test harness.
            .process_group(0)
            .spawn()
            .expect("runsvdir runs (Debian's runit package; .ci/run installs it)");
        Self {
            child,
            sv_dir: sandbox.root().join("etc/sv"),
        }
    }
}

impl Drop for Runsvdir {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::HUP);
        }
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(20);
        while supervised(&self.sv_dir).is_some() && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
    }
}

/// A service directory under `sv_dir` (or its log) that a runsv still runs, if any.
fn supervised(sv_dir: &Path) -> Option<PathBuf> {
    let services = fs::read_dir(sv_dir).ok()?;
    services
        .flatten()
        .flat_map(|entry| [entry.path(), entry.path().join("log")])
        .find(|dir| runsv_alive(dir))
}

/// True while a runsv holds `<dir>/supervise/ok` open, as `sv` tells.
fn runsv_alive(dir: &Path) -> bool {
    use rustix::fs::{open, Mode, OFlags};
    let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    open(dir.join("supervise/ok"), flags, Mode::empty()).is_ok()
}

/// Polls `check` until it gives a value, for at most `seconds`; panics naming `what`.
#[track_caller]
fn wait_for<T>(what: &str, seconds: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// `sv` with absolute service paths (a bare name would be looked up in $SVDIR).
fn sv(args: &[&str], services: &[&Path]) -> String {
    let output = Command::new("sv")
        .args(args)
        .args(services)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("sv runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn status(service: &Path) -> String {
    sv(&["status"], &[service])
}

/// The pid of the service's process while `sv status` says it runs.
fn running_pid(service: &Path) -> Option<u32> {
    let status = status(service);
    let rest = status.strip_prefix("run: ")?;
    let pid = rest.split("(pid ").nth(1)?.split(')').next()?;
    pid.parse().ok()
}

/// Waits until the service runs `program` (its run script has exec'd into it); its pid.
#[track_caller]
fn wait_running(service: &Path, program: &str) -> u32 {
    wait_for(
        &format!("{} to run {program}", service.display()),
        10,
        || {
            let pid = running_pid(service)?;
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim_end() == program).then_some(pid)
        },
    )
}

#[track_caller]
fn wait_down(service: &Path, seconds: u64) {
    wait_for(
        &format!("{} to be down", service.display()),
        seconds,
        || status(service).starts_with("down: ").then_some(()),
    );
}

fn kill(pid: u32) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
}

/// The live sandbox, with the Procfile written and exported as app `myapp`.
fn exported(procfile: &str) -> Sandbox {
    require_root();
    let sandbox = Sandbox::live("");
    let path = sandbox.procfile(procfile);
    sandbox.export("runit", &path, "myapp").success();
    sandbox
}

/// The enabled service (its link in runit_service_dir) of job `job` of app `app`.
fn service(sandbox: &Sandbox, app: &str, job: &str) -> PathBuf {
    sandbox.root().join(format!("etc/service/fb-{app}-{job}"))
}

fn log_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Waits until the file at `path` holds `text`; returns all of it.
#[track_caller]
fn wait_for_log(path: &Path, text: &str) -> String {
    wait_for(&format!("{text:?} in {}", path.display()), 10, || {
        let log = log_text(path);
        log.contains(text).then_some(log)
    })
}

/// The ids on line `field` of /proc/<pid>/status (Uid, Gid: real, effective, saved, fs).
fn proc_ids(pid: u32, field: &str) -> Vec<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap();
    line.split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

fn proc_env(pid: u32) -> BTreeMap<String, String> {
    let bytes = fs::read(format!("/proc/{pid}/environ")).unwrap();
    bytes
        .split(|b| *b == 0)
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let kv = String::from_utf8(kv.to_vec()).unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn service_runs_as_the_run_user_in_its_directory_with_its_env_and_logs() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = sandbox.path().join("work dir ü 'x'");
    fs::create_dir_all(&work).unwrap();
    let own_log_dir = sandbox.path().join("applog");
    fs::create_dir_all(&own_log_dir).unwrap();
    let (uid, gid) = run_user();
    std::os::unix::fs::chown(&own_log_dir, Some(uid), Some(gid)).unwrap();
    let own_log = own_log_dir.join("worker.log");
    let mut env = String::new();
    for (key, value) in VALUES {
        writeln!(env, "  {key}: {}", yaml_quote(value)).unwrap();
    }
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\nenv:\n{env}commands:\n  web:\n    command: echo web up; exec sleep 1000\n  worker:\n    command: echo worker up; exec sleep 1000\n    log: {}\n",
        yaml_quote(work.to_str().unwrap()),
        yaml_quote(own_log.to_str().unwrap()),
    ));
    sandbox.export("runit", &procfile, "myapp").success();
    let _runsvdir = Runsvdir::start(&sandbox);

    let pid = wait_running(&service(&sandbox, "myapp", "web"), "sleep");
    for field in ["Uid", "Gid"] {
        let want = if field == "Uid" { uid } else { gid };
        assert_eq!(proc_ids(pid, field), [want; 4], "{field} of the process");
    }
    assert_eq!(proc_ids(pid, "Groups"), [gid], "supplementary groups");
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), work);
    let got = proc_env(pid);
    for (key, value) in VALUES {
        assert_eq!(got.get(*key).map(String::as_str), Some(*value), "env {key}");
    }

    // The default log: svlogd's directory <log_dir>/fb-myapp/web/, made and written by the
    // run user.
    let svlogd_dir = sandbox.root().join("var/log/fb-myapp/web");
    let current = svlogd_dir.join("current");
    let text = wait_for_log(&current, "web up\n");
    assert!(
        text.lines()
            .all(|l| l.len() > 20 && l.as_bytes()[4] == b'-'),
        "svlogd -tt stamps every line: {text:?}"
    );
    for path in [&svlogd_dir, &current] {
        assert_eq!(fs::metadata(path).unwrap().uid(), uid, "{}", path.display());
    }
    // A `log:` file: appended to as the run user, as written.
    wait_running(&service(&sandbox, "myapp", "worker"), "sleep");
    assert_eq!(wait_for_log(&own_log, "worker up\n"), "worker up\n");
    assert_eq!(fs::metadata(&own_log).unwrap().uid(), uid);
}

#[test]
fn a_killed_process_is_restarted() {
    let sandbox = exported("web: sleep 1000\n");
    let _runsvdir = Runsvdir::start(&sandbox);
    let web = service(&sandbox, "myapp", "web");
    let first = wait_running(&web, "sleep");
    kill(first);
    wait_for("a new process", 10, || {
        running_pid(&web).filter(|pid| *pid != first)
    });
    wait_running(&web, "sleep");
}

#[test]
fn with_respawn_false_it_stays_down_after_it_exits() {
    let sandbox = exported(
        "version: 2\ncommands:\n  once:\n    command: echo ran; exit 3\n    respawn: false\n",
    );
    let _runsvdir = Runsvdir::start(&sandbox);
    let once = service(&sandbox, "myapp", "once");
    let log = sandbox.root().join("var/log/fb-myapp/once/current");
    wait_for_log(&log, "respawn is off: it stays down");
    wait_down(&once, 10);
    // runsv would have started it again within a second: it stays down.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert!(status(&once).starts_with("down: "), "{}", status(&once));
        std::thread::sleep(POLL);
    }
    assert_eq!(log_text(&log).matches(" ran\n").count(), 1);
    // Started by hand, it runs once more (`sv up`: `sv start` would wait 7 s for it to be up).
    sv(&["up"], &[&once]);
    wait_for("a second run", 10, || {
        (log_text(&log).matches(" ran\n").count() == 2).then_some(())
    });
    wait_down(&once, 10);
}

#[test]
fn with_a_respawn_limit_of_2_in_10_s_the_third_quick_crash_leaves_it_down() {
    let sandbox = exported(
        "version: 2\ncommands:\n  crash:\n    command: echo crashing; exit 1\n    respawn: {count: 2, interval: 10}\n",
    );
    let _runsvdir = Runsvdir::start(&sandbox);
    let crash = service(&sandbox, "myapp", "crash");
    let log = sandbox.root().join("var/log/fb-myapp/crash/current");
    let text = wait_for_log(
        &log,
        "exited 3 times in 10 seconds, more than its respawn limit of 2: it stays down",
    );
    wait_down(&crash, 10);
    assert_eq!(text.matches(" crashing\n").count(), 3, "{text}");
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        assert!(status(&crash).starts_with("down: "), "{}", status(&crash));
        std::thread::sleep(POLL);
    }
    assert_eq!(log_text(&log).matches(" crashing\n").count(), 3);
}

#[test]
fn asked_for_restarts_do_not_count_towards_the_respawn_limit() {
    let sandbox = exported(
        "version: 2\ncommands:\n  web:\n    command: sleep 1000\n    respawn: {count: 1, interval: 60}\n",
    );
    let _runsvdir = Runsvdir::start(&sandbox);
    let web = service(&sandbox, "myapp", "web");
    let mut pid = wait_running(&web, "sleep");
    for _ in 0..3 {
        sv(&["restart"], &[&web]);
        let before = pid;
        pid = wait_for("the restart", 10, || {
            running_pid(&web).filter(|p| *p != before)
        });
    }
    // Crashes do count: the first is restarted, the second within the minute takes it down.
    let first = wait_running(&web, "sleep");
    kill(first);
    let second = wait_for("a restart after the crash", 10, || {
        running_pid(&web).filter(|p| *p != first)
    });
    wait_running(&web, "sleep");
    kill(second);
    wait_down(&web, 10);
    let log = sandbox.root().join("var/log/fb-myapp/web/current");
    wait_for_log(
        &log,
        "exited 2 times in 60 seconds, more than its respawn limit of 1",
    );
}

#[test]
fn sv_down_ends_a_process_that_ignores_term_after_kill_timeout() {
    let sandbox = exported(
        "version: 2\ncommands:\n  stubborn:\n    command: trap '' TERM; exec sleep 1000\n    kill_timeout: 2\n",
    );
    let _runsvdir = Runsvdir::start(&sandbox);
    let stubborn = service(&sandbox, "myapp", "stubborn");
    wait_running(&stubborn, "sleep");
    let asked = Instant::now();
    sv(&["down"], &[&stubborn]);
    wait_down(&stubborn, 10);
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "it went down after {took:?}: TERM was not ignored, or KILL came early"
    );
    let log = sandbox.root().join("var/log/fb-myapp/stubborn/current");
    wait_for_log(&log, "still runs 2 seconds after TERM: sending KILL");
}

#[test]
fn one_sv_command_stops_and_starts_the_whole_app() {
    let sandbox = exported("web: sleep 1000\nworker: sleep 1000\n");
    let _runsvdir = Runsvdir::start(&sandbox);
    let jobs = [
        service(&sandbox, "myapp", "web"),
        service(&sandbox, "myapp", "worker"),
    ];
    for job in &jobs {
        wait_running(job, "sleep");
    }
    let glob = format!(
        "{}/fb-myapp-*",
        sandbox.root().join("etc/service").display()
    );
    let shell = |verb: &str| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("sv {verb} {glob}"))
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "sv {verb} {glob}");
    };
    shell("stop");
    for job in &jobs {
        wait_down(job, 10);
    }
    shell("start");
    for job in &jobs {
        wait_running(job, "sleep");
    }
}

#[test]
fn clean_stops_the_running_app_and_removes_everything_while_another_app_runs_on() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile(
        "version: 2\ncommands:\n  web:\n    command: sleep 1000\n  stubborn:\n    command: trap '' TERM; exec sleep 1000\n    kill_timeout: 2\n",
    );
    sandbox.export("runit", &procfile, "myapp").success();
    let other = sandbox.write("other/Procfile", "web: sleep 1000\n");
    sandbox.export("runit", &other, "other").success();
    let _runsvdir = Runsvdir::start(&sandbox);
    let web = service(&sandbox, "myapp", "web");
    let stubborn = service(&sandbox, "myapp", "stubborn");
    let neighbour = service(&sandbox, "other", "web");
    let pids = [
        wait_running(&web, "sleep"),
        wait_running(&stubborn, "sleep"),
    ];
    let neighbour_pid = wait_running(&neighbour, "sleep");

    let started = Instant::now();
    let out = sandbox.run(&["clean", "-n", "myapp"]).success();
    let took = started.elapsed();
    assert!(
        out.stdout.contains("runit clean of fb-myapp"),
        "{}",
        out.stdout
    );
    // It waited for the process that ignores TERM to be killed after its kill_timeout.
    assert!(took >= Duration::from_millis(1900), "clean took {took:?}");
    // (Listed by name: a snapshot would race the other app's runsv and svlogd.)
    for dir in ["etc/sv", "etc/service", "var/lib/procexport/runit"] {
        let left: Vec<_> = fs::read_dir(sandbox.root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with("fb-myapp"))
            .collect();
        assert!(left.is_empty(), "left behind in {dir}: {left:?}");
    }
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} still runs"
        );
    }
    assert!(status(&web).starts_with("fail: "), "{}", status(&web));
    // The neighbour never noticed.
    assert_eq!(running_pid(&neighbour), Some(neighbour_pid));
    assert!(runsv_alive(&sandbox.root().join("etc/sv/fb-other-web")));
}

#[test]
fn clean_waits_a_bounded_time_and_a_second_clean_finishes_the_job() {
    let sandbox = exported(
        "version: 2\ncommands:\n  stubborn:\n    command: trap '' TERM; exec sleep 1000\n    kill_timeout: 600\n",
    );
    let _runsvdir = Runsvdir::start(&sandbox);
    let stubborn = service(&sandbox, "myapp", "stubborn");
    let pid = wait_running(&stubborn, "sleep");
    let started = Instant::now();
    sandbox
        .run(&["clean", "-n", "myapp"])
        .failure(1)
        .stderr_has("10 s after it was asked to stop it")
        .stderr_has("run the same command again");
    let took = started.elapsed();
    assert!(
        (Duration::from_secs(10)..Duration::from_secs(15)).contains(&took),
        "clean gave up after {took:?}"
    );
    // The link is gone, the directory and the manifest that lists it are kept.
    let dir = sandbox.root().join("etc/sv/fb-myapp-stubborn");
    assert!(!stubborn.exists() && dir.join("run").exists());
    let manifest = sandbox
        .root()
        .join("var/lib/procexport/runit/fb-myapp.manifest");
    assert!(log_text(&manifest).contains("dir /"));
    assert_eq!(
        running_pid(&dir),
        Some(pid),
        "still within its kill_timeout"
    );
    // Once the process is gone, the same command finishes.
    kill(pid);
    wait_for("runsv to exit", 10, || (!runsv_alive(&dir)).then_some(()));
    sandbox.run(&["clean", "-n", "myapp"]).success();
    assert!(!dir.exists() && !manifest.exists());
}

#[test]
fn reexport_drops_a_removed_variable_and_stops_a_removed_job() {
    let sandbox = exported(
        "version: 2\ncommands:\n  web:\n    command: sleep 1000\n    env: {KEPT: one, DROPPED: two}\n  worker:\n    command: sleep 1000\n",
    );
    let _runsvdir = Runsvdir::start(&sandbox);
    let web = service(&sandbox, "myapp", "web");
    let worker = service(&sandbox, "myapp", "worker");
    let pid = wait_running(&web, "sleep");
    assert_eq!(
        proc_env(pid).get("DROPPED").map(String::as_str),
        Some("two")
    );
    let worker_pid = wait_running(&worker, "sleep");

    let procfile = sandbox
        .procfile("version: 2\ncommands:\n  web:\n    command: sleep 1000\n    env: {KEPT: one}\n");
    sandbox.export("runit", &procfile, "myapp").success();
    let env_dir = sandbox.root().join("etc/sv/fb-myapp-web/env");
    let mut names: Vec<_> = fs::read_dir(&env_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["HOME", "KEPT", "PORT", "PS", "USER"]);
    // The dropped job was stopped and its directory removed, supervise/ and all.
    assert!(!sandbox.root().join("etc/sv/fb-myapp-worker").exists());
    assert!(!worker.exists());
    assert!(!Path::new(&format!("/proc/{worker_pid}")).exists());
    // A restart reads the env afresh: the variable is gone.
    sv(&["restart"], &[&web]);
    wait_for("the restart", 10, || {
        running_pid(&web).filter(|p| *p != pid)
    });
    let pid = wait_running(&web, "sleep");
    let env = proc_env(pid);
    assert_eq!(env.get("KEPT").map(String::as_str), Some("one"));
    assert_eq!(env.get("DROPPED"), None);
}

#[test]
fn env_values_runit_cannot_hold_are_refused() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox
        .procfile("version: 2\ncommands:\n  web:\n    command: x\n    env: {PADDED: \"value \"}\n");
    sandbox
        .export("runit", &procfile, "myapp")
        .failure(2)
        .stderr_has("env value of \"PADDED\" in \"fb-myapp-web\" cannot be exported to runit: a value that ends in a space or tab");
    assert!(sandbox.snapshot().is_empty());
}

#[test]
fn start_stop_restart_and_status_act_through_each_runsv() {
    use crate::support::live::status_rows;
    let sandbox = exported("web: sleep 1000\nworker: sleep 1000\n");
    let status_of = || status_rows(&sandbox.run(&["status", "-n", "myapp"]).success().stdout);
    // No runsv yet: status cannot tell, and start says why.
    let rows = status_of();
    assert!(rows.values().all(|r| r.state == "unknown"), "{rows:?}");
    sandbox
        .run(&["start", "-n", "myapp"])
        .failure(1)
        .stderr_has("no runsv runs");
    let _runsvdir = Runsvdir::start(&sandbox);
    let jobs = [
        service(&sandbox, "myapp", "web"),
        service(&sandbox, "myapp", "worker"),
    ];
    let first: Vec<u32> = jobs.iter().map(|j| wait_running(j, "sleep")).collect();
    let rows = status_of();
    assert_eq!(rows["fb-myapp-web"].pid, Some(first[0]), "{rows:?}");
    assert_eq!(rows["fb-myapp-worker"].pid, Some(first[1]), "{rows:?}");
    assert!(rows.values().all(|r| r.backend == "runit"));

    sandbox.run(&["restart", "-n", "myapp"]).success();
    let second: Vec<u32> = jobs.iter().map(|j| wait_running(j, "sleep")).collect();
    for (old, new) in first.iter().zip(&second) {
        assert_ne!(old, new, "restart kept pid {old}");
        assert!(!Path::new(&format!("/proc/{old}")).exists());
    }

    sandbox.run(&["stop", "-n", "myapp"]).success();
    for job in &jobs {
        assert!(status(job).starts_with("down: "), "{}", status(job));
    }
    assert!(status_of().values().all(|r| r.state == "stopped"));
    // Down stays down (runsv would otherwise have started it again within a second).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(status_of().values().all(|r| r.state == "stopped"));

    sandbox.run(&["start", "-n", "myapp"]).success();
    for job in &jobs {
        wait_running(job, "sleep");
    }
}

/// Issue 23: `procexport reload` sends each runsv's process SIGHUP through its control fifo:
/// the job's own process gets it (its trap writes to its log), and no new process is started.
#[test]
fn reload_sends_each_job_sighup_through_its_runsv() {
    let sandbox = exported("web: trap 'echo reloaded' HUP; echo up; while :; do sleep 0.2; done\n");
    let _runsvdir = Runsvdir::start(&sandbox);
    let web = service(&sandbox, "myapp", "web");
    let log = sandbox.root().join("var/log/fb-myapp/web/current");
    wait_for_log(&log, "up\n");
    let before = running_pid(&web).unwrap();
    let out = sandbox.run(&["reload", "-n", "myapp"]).success();
    assert!(
        out.stdout.contains("runit reload of fb-myapp: ") && out.stdout.contains("fb-myapp-web"),
        "{}",
        out.stdout
    );
    wait_for_log(&log, "reloaded\n");
    assert_eq!(
        running_pid(&web),
        Some(before),
        "reload started a new process"
    );
}

/// init-exporter's keys, carried by runit: the limits (soft and hard, set as root before the
/// drop), the pre command as the run user before the command, the reload signal for `sv hup`,
/// the kill signal for `sv down`, and the respawn delay in `finish`.
#[test]
fn limits_pre_signals_and_respawn_delay_are_carried() {
    require_root();
    let sandbox = Sandbox::live("policy: {max_limits: {nofile: 8192, nproc: 8192, memlock: -1}}\n");
    let work = run_users_dir(&sandbox);
    let (uid, _) = run_user();
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\ncommands:\n  web:\n    pre: id -u > pre.uid\n    command: trap 'echo quit > quit.got; exit 0' QUIT; trap 'echo usr2 >> usr2.got' USR2; echo up >> up.got; while :; do sleep 1; done\n    limits: {{nofile: 4321, nproc: 321, memlock: 65536}}\n    kill_signal: SIGQUIT\n    reload_signal: SIGUSR2\n    respawn: {{count: 5, interval: 10, delay: 4}}\n",
        yaml_quote(work.to_str().unwrap()),
    ));
    sandbox.export("runit", &procfile, "myapp").success();
    let _runsvdir = Runsvdir::start(&sandbox);
    let web = service(&sandbox, "myapp", "web");
    let pid = wait_running(&web, "run");

    // The pre command ran to its end as the run user, before the command.
    assert_eq!(
        crate::support::live::wait_for_line(&work.join("pre.uid")),
        uid.to_string()
    );
    assert_eq!(fs::metadata(work.join("pre.uid")).unwrap().uid(), uid);
    assert_eq!(proc_ids(pid, "Uid"), [uid; 4]);
    assert_eq!(
        proc_limit(pid, "Max open files"),
        ("4321".to_owned(), "4321".to_owned())
    );
    assert_eq!(
        proc_limit(pid, "Max processes"),
        ("321".to_owned(), "321".to_owned())
    );
    assert_eq!(
        proc_limit(pid, "Max locked memory"),
        ("65536".to_owned(), "65536".to_owned())
    );

    // sv hup sends the reload signal, and the process runs on (once its traps are set).
    wait_for_log(&work.join("up.got"), "up\n");
    sv(&["hup"], &[&web]);
    wait_for_log(&work.join("usr2.got"), "usr2\n");
    assert_eq!(running_pid(&web), Some(pid));

    // A crash: finish holds the restart for the delay (runsv shows it in "finish").
    kill(pid);
    wait_for("the respawn delay in finish", 10, || {
        status(&web).starts_with("finish: ").then_some(())
    });
    let pid = wait_for("a new process", 20, || {
        running_pid(&web).filter(|new| *new != pid)
    });
    wait_running(&web, "run");
    wait_for_log(&work.join("up.got"), "up\nup\n");

    // sv down sends the kill signal, which the command traps and answers.
    sv(&["down"], &[&web]);
    wait_for_log(&work.join("quit.got"), "quit\n");
    wait_down(&web, 10);
    assert!(running_pid(&web).is_none(), "{pid} still runs");
}
