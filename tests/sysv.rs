//! SysV init scripts for real: each test exports into a live sandbox (the config points every
//! directory, the pid directory too, into it) and runs the app's init script as the init would
//! (`start`, `status`, `stop`, `restart`), then watches the processes in /proc. A guard runs
//! `stop` when the test ends, also when it fails. Every wait polls with a deadline.

use crate::helpers_run::{yaml_quote, VALUES};
use crate::support::live::{proc_ids, proc_limit, run_user, run_users_dir};
use crate::support::{require_root, Sandbox};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// The app's init script, stopped when dropped.
struct Script {
    path: PathBuf,
    pids: PathBuf,
}

impl Script {
    fn of(sandbox: &Sandbox) -> Self {
        Self {
            path: sandbox.root().join("etc/init.d/fb-myapp"),
            pids: sandbox.root().join("run/procexport/sysv/fb-myapp"),
        }
    }

    /// Runs the script with `action` as the init does: as root, in a clean environment.
    fn run(&self, action: &str) -> (i32, String) {
        let output = Command::new(&self.path)
            .arg(action)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir("/")
            .output()
            .expect("the init script runs");
        (
            output.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    }

    /// The wrapper's pid, from its pid file.
    fn wrapper(&self, job: &str) -> Option<u32> {
        fs::read_to_string(self.pids.join(format!("{job}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
            .filter(|pid| alive(*pid))
    }

    /// Waits until job's wrapper runs a child running `program`; the child's pid.
    #[track_caller]
    fn wait_running(&self, job: &str, program: &str) -> u32 {
        wait_for(&format!("{job} to run {program}"), 15, || {
            let wrapper = self.wrapper(job)?;
            children(wrapper).into_iter().find(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim_end() == program)
            })
        })
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if self.path.exists() {
            let _ = self.run("stop");
        }
    }
}

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

/// True while `pid` runs (a zombie does not: nothing here reaps the daemons' parents).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| !s.contains("State:\tZ"))
}

/// The live children of `parent`.
fn children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or("");
        let of = after.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if of == Some(parent) && alive(child) {
            found.push(child);
        }
    }
    found
}

fn proc_env(pid: u32) -> BTreeMap<String, String> {
    let raw = fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let s = String::from_utf8(s.to_vec()).ok()?;
            let (k, v) = s.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

fn log_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

#[track_caller]
fn wait_for_log(path: &Path, text: &str) -> String {
    wait_for(&format!("{text:?} in {}", path.display()), 15, || {
        let got = log_text(path);
        got.contains(text).then_some(got)
    })
}

fn kill(pid: u32) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
}

fn exported(procfile: &str) -> (Sandbox, Script) {
    require_root();
    let sandbox = Sandbox::live("");
    let path = sandbox.procfile(procfile);
    sandbox.export("sysv", &path, "myapp").success();
    let script = Script::of(&sandbox);
    (sandbox, script)
}

#[test]
fn jobs_run_as_the_run_user_in_their_directory_with_their_env_and_logs() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = sandbox.path().join("work dir ü 'x' 100% ;y #z");
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
    sandbox.export("sysv", &procfile, "myapp").success();
    let script = Script::of(&sandbox);
    let (code, said) = script.run("start");
    assert_eq!(code, 0, "{said}");
    let pid = script.wait_running("web", "sleep");
    let wrapper = script.wrapper("web").unwrap();
    for process in [pid, wrapper] {
        for field in ["Uid", "Gid"] {
            let want = if field == "Uid" { uid } else { gid };
            assert_eq!(proc_ids(process, field), [want; 4], "{field} of {process}");
        }
    }
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), work);
    let got = proc_env(pid);
    for (key, value) in VALUES {
        assert_eq!(got.get(*key).map(String::as_str), Some(*value), "env {key}");
    }
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    assert_eq!(wait_for_log(&log, "web up\n"), "web up\n");
    assert_eq!(fs::metadata(&log).unwrap().uid(), uid);
    script.wait_running("worker", "sleep");
    assert_eq!(wait_for_log(&own_log, "worker up\n"), "worker up\n");
    assert_eq!(fs::metadata(&own_log).unwrap().uid(), uid);
    // The pid files: root's, in a root-owned directory.
    let meta = fs::metadata(&script.pids).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o755));
    assert_eq!(fs::metadata(script.pids.join("web.pid")).unwrap().uid(), 0);
    let (code, said) = script.run("status");
    assert_eq!(code, 0, "{said}");
    assert!(
        said.contains("web: running") && said.contains("worker: running"),
        "{said}"
    );
    // start again: already running, nothing new.
    let (code, said) = script.run("start");
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("web: already running"), "{said}");
    assert_eq!(script.wrapper("web"), Some(wrapper));
}

#[test]
fn a_killed_process_is_restarted_and_one_with_respawn_false_stays_down() {
    let (sandbox, script) = exported(
        "version: 2\ncommands:\n  web:\n    command: exec sleep 1000\n  once:\n    command: echo ran; sh -c 'exit 3'\n    respawn: false\n",
    );
    script.run("start");
    let first = script.wait_running("web", "sleep");
    kill(first);
    wait_for("a new web process", 15, || {
        let pid = script.wait_running("web", "sleep");
        (pid != first).then_some(())
    });
    let log = sandbox.root().join("var/log/fb-myapp/once.log");
    wait_for_log(&log, "respawn is off: it stays down");
    wait_for("once's wrapper to exit", 10, || {
        script.wrapper("once").is_none().then_some(())
    });
    assert_eq!(log_text(&log).matches("ran\n").count(), 1);
    let (code, said) = script.run("status");
    assert_eq!(code, 3, "{said}");
    assert!(said.contains("once: not running"), "{said}");
}

#[test]
fn past_its_respawn_limit_a_crashing_process_stays_down() {
    let (sandbox, script) = exported(
        "version: 2\ncommands:\n  crash:\n    command: echo crashing; exit 1\n    respawn: {count: 2, interval: 10}\n",
    );
    script.run("start");
    let log = sandbox.root().join("var/log/fb-myapp/crash.log");
    wait_for_log(&log, "more than its respawn limit of 2: it stays down");
    assert_eq!(log_text(&log).matches("crashing\n").count(), 3);
}

#[test]
fn stop_waits_kill_timeout_then_kills_and_restart_starts_again() {
    let (sandbox, script) = exported(
        "version: 2\nkill_timeout: 2\ncommands:\n  stubborn:\n    command: trap '' TERM; exec sleep 1002\n  web:\n    command: exec sleep 1000\n",
    );
    script.run("start");
    let stubborn = script.wait_running("stubborn", "sleep");
    let web = script.wait_running("web", "sleep");
    let start = Instant::now();
    let (code, said) = script.run("stop");
    let took = start.elapsed();
    assert_eq!(code, 0, "{said}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "stop took {took:?}"
    );
    assert!(!alive(stubborn) && !alive(web));
    let log = sandbox.root().join("var/log/fb-myapp/stubborn.log");
    assert!(log_text(&log).contains("still runs 2 seconds after TERM: sending KILL"));
    let (code, said) = script.run("status");
    assert_eq!(code, 3, "{said}");
    let (code, said) = script.run("restart");
    assert_eq!(code, 0, "{said}");
    let again = script.wait_running("web", "sleep");
    let (code, said) = script.run("restart");
    assert_eq!(code, 0, "{said}");
    let restarted = script.wait_running("web", "sleep");
    assert_ne!(again, restarted);
    assert!(!alive(again));
}

#[test]
fn a_shrinking_export_stops_the_dropped_job_and_clean_removes_the_script() {
    let (sandbox, script) = exported("web: exec sleep 1000\nclock: exec sleep 1001\n");
    script.run("start");
    script.wait_running("web", "sleep");
    let clock = script.wait_running("clock", "sleep");
    let procfile = sandbox.procfile("web: exec sleep 1000\n");
    // The export runs the new script's stop-dropped before the clock's files go.
    sandbox.export("sysv", &procfile, "myapp").success();
    assert!(!alive(clock));
    assert!(!script.pids.join("clock.pid").exists());
    let (code, said) = script.run("restart");
    assert_eq!(code, 0, "{said}");
    assert!(!said.contains("clock"), "{said}");
    let web = script.wait_running("web", "sleep");
    script.run("stop");
    assert!(!alive(web));
    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "sysv"])
        .success();
    assert!(!script.path.exists());
    let helpers = sandbox.root().join("etc/procexport/sysv");
    assert!(fs::read_dir(&helpers).map_or(true, |mut d| d.next().is_none()));
}

/// systemd's sysv generator reads the LSB header and makes a unit of the script.
#[test]
fn systemds_sysv_generator_makes_a_unit_of_the_script() {
    let (sandbox, script) =
        exported("version: 2\ncommands:\n  web:\n    command: exec sleep 1000\n");
    let rcd = sandbox.path().join("rc.d");
    fs::create_dir_all(rcd.join("rc2.d")).unwrap();
    std::os::unix::fs::symlink(&script.path, rcd.join("rc2.d/S01fb-myapp")).unwrap();
    let out = sandbox.path().join("generated");
    for dir in ["a", "b", "c"] {
        fs::create_dir_all(out.join(dir)).unwrap();
    }
    let status = Command::new("/lib/systemd/system-generators/systemd-sysv-generator")
        .args([out.join("a"), out.join("b"), out.join("c")])
        .env("SYSTEMD_SYSVINIT_PATH", script.path.parent().unwrap())
        .env("SYSTEMD_SYSVRCND_PATH", &rcd)
        .status()
        .expect("systemd's sysv generator runs (Debian's systemd package)");
    assert!(status.success());
    let unit = fs::read_to_string(out.join("c/fb-myapp.service")).unwrap();
    assert!(
        unit.contains("Description=LSB: App myapp (fb-myapp)"),
        "{unit}"
    );
    assert!(
        unit.contains(&format!("ExecStart={} start", script.path.display())),
        "{unit}"
    );
    assert!(out
        .join("c/multi-user.target.wants/fb-myapp.service")
        .symlink_metadata()
        .is_ok());
}

/// insserv (what update-rc.d runs on Debian) reads the header and orders the script into the
/// runlevels of the app's start and stop sets.
#[test]
fn insserv_orders_the_script_into_its_runlevels() {
    let (sandbox, script) = exported(
        "version: 2\nstart_on_runlevel: \"[35]\"\nstop_on_runlevel: \"[016]\"\ncommands:\n  web:\n    command: exec sleep 1000\n",
    );
    let output = Command::new("insserv")
        .args(["--dry-run", "--show-all", "--path"])
        .arg(script.path.parent().unwrap())
        .arg("fb-myapp")
        .current_dir(sandbox.path())
        .output()
        .expect("insserv runs (Debian's insserv package; .ci/run installs it)");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = said.lines().filter(|l| l.ends_with(":fb-myapp")).collect();
    assert_eq!(lines.len(), 2, "{said}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("S:") && l.contains(":3 5:")),
        "{said}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("K:") && l.contains(":0 1 6:")),
        "{said}"
    );
}

/// Every process seen, killed when dropped if one still runs (a failed test leaves none).
#[derive(Default)]
struct Seen(std::cell::RefCell<Vec<u32>>);

impl Seen {
    fn add(&self, pids: impl IntoIterator<Item = u32>) {
        self.0.borrow_mut().extend(pids);
    }
}

impl Drop for Seen {
    fn drop(&mut self) {
        for pid in self.0.borrow().iter().copied().filter(|p| alive(*p)) {
            let _ = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap())
                .map(|p| rustix::process::kill_process(p, rustix::process::Signal::KILL));
        }
    }
}

/// `procexport status -n myapp`, by job.
fn status(sandbox: &Sandbox) -> BTreeMap<String, crate::support::live::Row> {
    crate::support::live::status_rows(&sandbox.run(&["status", "-n", "myapp"]).success().stdout)
}

/// Every row of `procexport status` says what the script's own `status` says: the app active
/// when it exits 0, each process running with its wrapper's pid, or not running.
#[track_caller]
fn status_matches_the_script(sandbox: &Sandbox, script: &Script, jobs: &[&str]) {
    let rows = status(sandbox);
    let mut want = vec!["fb-myapp".to_owned()];
    want.extend(jobs.iter().map(|j| format!("fb-myapp-{j}")));
    want.sort();
    assert_eq!(rows.keys().cloned().collect::<Vec<_>>(), want, "{rows:?}");
    let (code, said) = script.run("status");
    let app = &rows["fb-myapp"];
    assert_eq!(app.backend, "sysv");
    assert_eq!(
        app.state,
        if code == 0 { "active" } else { "stopped" },
        "{said}"
    );
    for job in jobs {
        let row = &rows[&format!("fb-myapp-{job}")];
        if let Some(pid) = script.wrapper(job) {
            assert_eq!(
                (row.state.as_str(), row.pid),
                ("running", Some(pid)),
                "{said}"
            );
            assert!(
                said.contains(&format!("{job}: running (pid {pid})")),
                "{said}"
            );
        } else {
            assert_eq!(row.state, "stopped", "{said}");
            assert!(said.contains(&format!("{job}: not running")), "{said}");
        }
    }
}

/// The lifecycle through procexport's own subcommands: start (pids), a shrinking export (the
/// dropped job's processes gone), restart (new pids), status as the script says, stop, clean
/// (no process left).
#[test]
fn start_stop_restart_status_drop_and_clean_through_procexport() {
    let (sandbox, script) = exported("web: exec sleep 1000\nclock: exec sleep 1001\n");
    let seen = Seen::default();
    status_matches_the_script(&sandbox, &script, &["clock", "web"]);
    let out = sandbox.run(&["start", "-n", "myapp"]).success();
    assert!(
        out.stdout
            .contains("sysv start of fb-myapp: fb-myapp fb-myapp-"),
        "{}",
        out.stdout
    );
    let web = script.wait_running("web", "sleep");
    let clock = script.wait_running("clock", "sleep");
    let wrappers = (
        script.wrapper("web").unwrap(),
        script.wrapper("clock").unwrap(),
    );
    seen.add([web, clock, wrappers.0, wrappers.1]);
    eprintln!(
        "started: web {web} (wrapper {}), clock {clock} (wrapper {})",
        wrappers.0, wrappers.1
    );
    status_matches_the_script(&sandbox, &script, &["clock", "web"]);

    // clock is dropped: stopped before its wrapper and helper go; web is left alone.
    let procfile = sandbox.procfile("web: exec sleep 1000\n");
    sandbox.export("sysv", &procfile, "myapp").success();
    assert!(
        !alive(clock) && !alive(wrappers.1),
        "the dropped clock runs on"
    );
    assert!(!script.pids.join("clock.pid").exists());
    assert!(alive(web), "web was stopped by the shrink");
    status_matches_the_script(&sandbox, &script, &["web"]);

    sandbox.run(&["restart", "-n", "myapp"]).success();
    let restarted = script.wait_running("web", "sleep");
    let wrapper = script.wrapper("web").unwrap();
    seen.add([restarted, wrapper]);
    eprintln!(
        "restart: web {web} -> {restarted} (wrapper {} -> {wrapper})",
        wrappers.0
    );
    assert_ne!(restarted, web);
    assert_ne!(wrapper, wrappers.0);
    assert!(!alive(web) && !alive(wrappers.0), "the old web runs on");
    status_matches_the_script(&sandbox, &script, &["web"]);

    sandbox.run(&["stop", "-n", "myapp"]).success();
    assert!(!alive(restarted) && !alive(wrapper));
    status_matches_the_script(&sandbox, &script, &["web"]);
    sandbox.run(&["start", "-n", "myapp"]).success();
    let last = script.wait_running("web", "sleep");
    seen.add([last, script.wrapper("web").unwrap()]);

    // clean stops every job first.
    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "sysv"])
        .success();
    assert!(!script.path.exists());
    for pid in seen.0.borrow().iter() {
        assert!(!alive(*pid), "clean left {pid} running");
    }
    let left = fs::read_dir(&script.pids).map_or(0, Iterator::count);
    assert_eq!(left, 0, "pid files left");
}

/// init-exporter's keys, carried by sysv: the limits (soft and hard, set by prlimit as root
/// before start-stop-daemon drops), the pre command as the run user before the command, and
/// the kill signal passed on by the wrapper on stop. The limits are below this machine's
/// hard limits: a test root without CAP_SYS_RESOURCE (a container) cannot raise them.
#[test]
fn limits_pre_and_kill_signal_are_carried() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = run_users_dir(&sandbox);
    let (uid, _) = run_user();
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\ncommands:\n  web:\n    pre: id -u > pre.uid\n    command: trap 'echo quit > quit.got; exit 0' QUIT; echo up > up.got; while :; do sleep 1; done\n    limits: {{nofile: 4321, nproc: 321, memlock: 65536}}\n    kill_signal: SIGQUIT\n    respawn: {{count: 5, interval: 10, delay: 2}}\n",
        yaml_quote(work.to_str().unwrap()),
    ));
    sandbox.export("sysv", &procfile, "myapp").success();
    let script = Script::of(&sandbox);
    let (code, said) = script.run("start");
    assert_eq!(code, 0, "{said}");
    let pid = script.wait_running("web", "sh");
    assert_eq!(
        crate::support::live::wait_for_line(&work.join("pre.uid")),
        uid.to_string()
    );
    assert_eq!(fs::metadata(work.join("pre.uid")).unwrap().uid(), uid);
    assert_eq!(proc_ids(pid, "Uid"), [uid; 4]);
    for (name, want) in [
        ("Max open files", "4321"),
        ("Max processes", "321"),
        ("Max locked memory", "65536"),
    ] {
        assert_eq!(
            proc_limit(pid, name),
            (want.to_owned(), want.to_owned()),
            "{name}"
        );
    }
    // The stop signal goes only once the command's trap is set.
    wait_for_log(&work.join("up.got"), "up\n");
    let (code, said) = script.run("stop");
    assert_eq!(code, 0, "{said}");
    wait_for_log(&work.join("quit.got"), "quit\n");
    assert!(!alive(pid));
}
