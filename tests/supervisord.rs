//! supervisord for real: each test exports into a live sandbox (the config points every
//! directory into it) and runs its own `supervisord` (Debian's `supervisor`) on a main config
//! in the sandbox that includes the sandbox's `supervisord_dir`, then watches it with
//! `supervisorctl status` and /proc. A guard stops supervisord (TERM: it stops its programs
//! first) and waits for it, also when the test fails. Every wait polls with a deadline.

use crate::helpers_run::{yaml_quote, VALUES};
use crate::support::live::{proc_ids, proc_limit, run_user, run_users_dir};
use crate::support::{require_root, Sandbox, RUN_USER};
use procexport::testing::{supervisord_parse, supervisord_parser_command};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// A supervisord on the sandbox's main config, stopped when dropped.
struct Supervisord {
    child: Child,
    conf: PathBuf,
}

/// Writes the sandbox's main supervisord.conf (socket, pid file and its own log in the
/// sandbox; `[include]` of the sandbox's `supervisord_dir`).
fn main_conf(sandbox: &Sandbox, confs: &Path) -> PathBuf {
    let dir = sandbox.root().join("etc/supervisor");
    fs::create_dir_all(confs).unwrap();
    fs::create_dir_all(&dir).unwrap();
    let p = sandbox.path().display();
    let conf = dir.join("supervisord.conf");
    fs::write(
        &conf,
        format!(
            "[unix_http_server]\nfile={p}/s.sock\nchmod=0700\n[supervisord]\nlogfile={p}/supervisord.log\n\
             pidfile={p}/supervisord.pid\nchildlogdir={p}\n[rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
             [supervisorctl]\nserverurl=unix://{p}/s.sock\n[include]\nfiles = {}/*.conf\n",
            confs.display()
        ),
    )
    .unwrap();
    conf
}

impl Supervisord {
    fn start(sandbox: &Sandbox) -> Self {
        let conf = main_conf(sandbox, &sandbox.root().join("etc/supervisor/conf.d"));
        let child = Command::new("supervisord")
            .args(["-n", "-c"])
            .arg(&conf)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("supervisord runs (Debian's supervisor package; .ci/run installs it)");
        let started = Self { child, conf };
        wait_for("supervisord to answer", 15, || {
            started.ctl(&["pid"]).0.then_some(())
        });
        started
    }

    /// `supervisorctl -c <conf> args`: (exit 0, what it printed).
    fn ctl(&self, args: &[&str]) -> (bool, String) {
        let output = Command::new("supervisorctl")
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .expect("supervisorctl runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }

    /// The state word and pid of program `job` of app `myapp`.
    fn state(&self, job: &str) -> (String, Option<u32>) {
        let (_, out) = self.ctl(&["status", &format!("fb-myapp:fb-myapp-{job}")]);
        let mut words = out.split_whitespace().skip(1);
        let state = words.next().unwrap_or("").to_owned();
        let pid = out
            .split("pid ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|p| p.parse().ok());
        (state, pid)
    }

    /// Waits until program `job` runs `program` (the helper has exec'd into it); its pid.
    #[track_caller]
    fn wait_running(&self, job: &str, program: &str) -> u32 {
        wait_for(&format!("{job} to run {program}"), 15, || {
            let (state, pid) = self.state(job);
            let pid = pid.filter(|_| state == "RUNNING")?;
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim_end() == program).then_some(pid)
        })
    }

    #[track_caller]
    fn wait_state(&self, job: &str, want: &str, seconds: u64) {
        wait_for(&format!("{job} to be {want}"), seconds, || {
            (self.state(job).0 == want).then_some(())
        });
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.child.wait();
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

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_default()
            .contains("State:\tZ")
}

#[test]
fn programs_run_as_the_run_user_in_their_directory_with_their_env_and_logs() {
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
    // supervisord runs first: the export's `supervisorctl update` starts the new group.
    let supervisord = Supervisord::start(&sandbox);
    sandbox.export("supervisord", &procfile, "myapp").success();

    let pid = supervisord.wait_running("web", "sleep");
    for field in ["Uid", "Gid"] {
        let want = if field == "Uid" { uid } else { gid };
        assert_eq!(proc_ids(pid, field), [want; 4], "{field} of the process");
    }
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), work);
    let got = proc_env(pid);
    for (key, value) in VALUES {
        assert_eq!(got.get(*key).map(String::as_str), Some(*value), "env {key}");
    }
    // The default log, made and appended to by the run user.
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    assert_eq!(wait_for_log(&log, "web up\n"), "web up\n");
    assert_eq!(fs::metadata(&log).unwrap().uid(), uid);
    // A `log:` file: appended to as the run user, as written.
    supervisord.wait_running("worker", "sleep");
    assert_eq!(wait_for_log(&own_log, "worker up\n"), "worker up\n");
    assert_eq!(fs::metadata(&own_log).unwrap().uid(), uid);
    // supervisord opened no log of its own for them.
    let stray: Vec<_> = fs::read_dir(sandbox.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("fb-myapp"))
        .collect();
    assert!(stray.is_empty(), "supervisord child logs: {stray:?}");
}

#[test]
fn a_killed_program_is_restarted_and_one_with_respawn_false_stays_down() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile(
        "version: 2\ncommands:\n  web:\n    command: exec sleep 1000\n  once:\n    command: echo ran; sh -c 'exit 3'\n    respawn: false\n",
    );
    sandbox.export("supervisord", &procfile, "myapp").success();
    let supervisord = Supervisord::start(&sandbox);
    let first = supervisord.wait_running("web", "sleep");
    kill(first);
    wait_for("a new web process", 15, || {
        let (state, pid) = supervisord.state("web");
        pid.filter(|p| *p != first && state == "RUNNING")
    });
    let once_log = sandbox.root().join("var/log/fb-myapp/once.log");
    wait_for_log(&once_log, "ran\n");
    supervisord.wait_state("once", "EXITED", 10);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(supervisord.state("once").0, "EXITED");
    assert_eq!(log_text(&once_log), "ran\n", "it ran once");
}

#[test]
fn past_its_respawn_limit_a_crashing_program_is_given_up() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile(
        "version: 2\ncommands:\n  crash:\n    command: echo crashing; exit 1\n    respawn: {count: 2, interval: 10}\n",
    );
    sandbox.export("supervisord", &procfile, "myapp").success();
    let supervisord = Supervisord::start(&sandbox);
    // The first start and 2 retries (supervisord waits 1 s, then 2 s between them).
    supervisord.wait_state("crash", "FATAL", 30);
    let log = sandbox.root().join("var/log/fb-myapp/crash.log");
    assert_eq!(log_text(&log).matches("crashing\n").count(), 3);
}

#[test]
fn stop_waits_kill_timeout_then_kills_and_the_group_acts_on_every_program() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile(
        "version: 2\nkill_timeout: 2\ncommands:\n  stubborn:\n    command: trap '' TERM; exec sleep 1002\n  web:\n    command: exec sleep 1000\n",
    );
    sandbox.export("supervisord", &procfile, "myapp").success();
    let supervisord = Supervisord::start(&sandbox);
    let stubborn = supervisord.wait_running("stubborn", "sleep");
    let web = supervisord.wait_running("web", "sleep");
    let start = Instant::now();
    let (ok, said) = supervisord.ctl(&["stop", "fb-myapp:*"]);
    assert!(ok, "{said}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "stop took {took:?}"
    );
    assert!(!alive(stubborn) && !alive(web));
    supervisord.wait_state("web", "STOPPED", 5);
    supervisord.wait_state("stubborn", "STOPPED", 5);
    let (ok, said) = supervisord.ctl(&["start", "fb-myapp:*"]);
    assert!(ok, "{said}");
    let again = supervisord.wait_running("web", "sleep");
    let (ok, said) = supervisord.ctl(&["restart", "fb-myapp:*"]);
    assert!(ok, "{said}");
    let restarted = supervisord.wait_running("web", "sleep");
    assert_ne!(again, restarted);
}

#[test]
fn a_shrinking_export_stops_dropped_programs_and_clean_stops_every_one() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile("web: exec sleep 1000\nclock: exec sleep 1001\n");
    sandbox.export("supervisord", &procfile, "myapp").success();
    let supervisord = Supervisord::start(&sandbox);
    let web = supervisord.wait_running("web", "sleep");
    let clock = supervisord.wait_running("clock", "sleep");
    sandbox.procfile("web: exec sleep 1000\n");
    sandbox.export("supervisord", &procfile, "myapp").success();
    wait_for("the dropped clock to stop", 15, || {
        (!alive(clock)).then_some(())
    });
    let (_, status) = supervisord.ctl(&["status"]);
    assert!(!status.contains("clock"), "{status}");
    // The group changed, so supervisord restarted it: web runs again.
    let web_again = supervisord.wait_running("web", "sleep");
    assert!(web_again == web || !alive(web));
    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "supervisord"])
        .success();
    wait_for("web to stop", 15, || (!alive(web_again)).then_some(()));
    let (_, status) = supervisord.ctl(&["status"]);
    assert!(!status.contains("fb-myapp"), "{status}");
    assert!(!sandbox
        .root()
        .join("etc/supervisor/conf.d/fb-myapp.conf")
        .exists());
    assert!(!sandbox
        .root()
        .join("etc/supervisor/conf.d/fb-myapp-web.sh")
        .exists());
}

/// Exports into a `supervisord_dir` named `dir` (under the sandbox's root).
fn export_into(sandbox: &Sandbox, dir: &str) -> PathBuf {
    let confs = sandbox.root().join(dir);
    fs::create_dir_all(&confs).unwrap();
    let config = fs::read_to_string(sandbox.config_path()).unwrap();
    sandbox.write_config(&format!(
        "{config}supervisord_dir: {}\n",
        yaml_quote(confs.to_str().unwrap())
    ));
    let procfile = sandbox.procfile(
        "version: 2\nenv: {PCT: \"100% %(here)s ;x #y\"}\ncommands:\n  web:\n    command: echo \"$PCT\"; exec sleep 1000\n",
    );
    sandbox.export("supervisord", &procfile, "myapp").success();
    confs
}

/// The parser the checks run on every supervisord config leaves nothing behind in the temp
/// directory (it writes each file as a main config in a scratch directory first): the tests
/// leave the machine as they found it.
#[test]
fn supervisords_parser_leaves_no_scratch_file() {
    require_root();
    let sandbox = Sandbox::live("");
    let confs = export_into(&sandbox, "etc/supervisor/conf.d");
    let temp = sandbox.path().join("tmp");
    fs::create_dir_all(&temp).unwrap();
    let done = supervisord_parser_command(&[confs.join("fb-myapp.conf")])
        .env("TMPDIR", &temp)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("\"fb-myapp\""),
        "the parser read no program: {}",
        String::from_utf8_lossy(&done.stdout)
    );
    let left: Vec<_> = fs::read_dir(&temp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

/// A `supervisord_dir` full of what supervisord's config syntax treats specially (`%`
/// expansion, `;` and `#` comments after a blank, quotes): its own parser reads the helper
/// path back exactly, as one word, and opens no log for the program.
#[test]
fn hostile_paths_round_trip_through_supervisords_parser() {
    require_root();
    let sandbox = Sandbox::live("");
    let confs = export_into(
        &sandbox,
        "etc/super 100%(here)s %% ;x #y 'q' \"d\" \\ /conf.d",
    );
    let parsed =
        supervisord_parse(&[confs.join("fb-myapp.conf")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.len(), 1, "{parsed:?}");
    let helper = confs.join("fb-myapp-web.sh");
    // JSON lines, read as YAML (a superset of JSON).
    let program: serde_yaml::Value = serde_yaml::from_str(&parsed[0]).unwrap();
    let argv: Vec<String> = serde_yaml::from_value(program["argv"].clone()).unwrap();
    assert_eq!(
        argv,
        [
            "/usr/bin/setpriv".to_owned(),
            format!("--reuid={RUN_USER}"),
            format!("--regid={RUN_USER}"),
            "--init-groups".to_owned(),
            "/bin/sh".to_owned(),
            helper.to_str().unwrap().to_owned()
        ]
    );
    assert_eq!(program["stdout"].as_str(), Some("None"));
    assert_eq!(program["stderr"].as_str(), Some("None"));
    assert!(program["user"].is_null(), "{program:?}");
    assert_eq!(program["stopwaitsecs"].as_u64(), Some(30));
    assert_eq!(program["group"].as_str(), Some("fb-myapp"));
}

/// The same for real, from a directory supervisord's `[include]` can name (its `files` is a
/// list split at blanks, and its own `%` expansion mangles `%%`): the program runs, and the env
/// value with `%` arrives as written.
#[test]
fn a_program_from_a_hostile_directory_runs() {
    require_root();
    let sandbox = Sandbox::live("");
    let confs = export_into(&sandbox, "etc/super;x#y'q'\"d\"/conf.d");
    let main = main_conf(&sandbox, &confs);
    let child = Command::new("supervisord")
        .args(["-n", "-c"])
        .arg(&main)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let supervisord = Supervisord { child, conf: main };
    wait_for("supervisord to answer", 15, || {
        supervisord.ctl(&["pid"]).0.then_some(())
    });
    supervisord.wait_running("web", "sleep");
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    assert_eq!(
        wait_for_log(&log, "100% %(here)s ;x #y\n"),
        "100% %(here)s ;x #y\n"
    );
}

/// `procexport status -n myapp`, by job (`group:program`).
fn status(sandbox: &Sandbox) -> BTreeMap<String, crate::support::live::Row> {
    crate::support::live::status_rows(&sandbox.run(&["status", "-n", "myapp"]).success().stdout)
}

/// Every row of `procexport status` says what `supervisorctl status` says: the same state and
/// the same pid.
#[track_caller]
fn status_matches_supervisorctl(sandbox: &Sandbox, supervisord: &Supervisord, jobs: &[&str]) {
    let rows = status(sandbox);
    let names: Vec<String> = jobs
        .iter()
        .map(|j| format!("fb-myapp:fb-myapp-{j}"))
        .collect();
    assert_eq!(rows.keys().cloned().collect::<Vec<_>>(), names, "{rows:?}");
    for job in jobs {
        let row = &rows[&format!("fb-myapp:fb-myapp-{job}")];
        assert_eq!(row.backend, "supervisord");
        let (state, pid) = supervisord.state(job);
        match row.state.as_str() {
            "running" => assert!(
                state == "RUNNING" && row.pid == pid,
                "{job}: {row:?} vs {state} {pid:?}"
            ),
            "stopped" => assert!(state == "STOPPED" || state == "EXITED", "{job}: {state}"),
            other => panic!("{job}: state {other}, supervisorctl says {state}"),
        }
    }
}

/// The lifecycle through procexport's own subcommands: stop, start (pids), a shrinking export
/// (the dropped program's process gone), restart (new pids), status as supervisorctl says,
/// clean (no process left).
#[test]
fn start_stop_restart_status_drop_and_clean_through_procexport() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile("web: exec sleep 1000\nclock: exec sleep 1001\n");
    let supervisord = Supervisord::start(&sandbox);
    sandbox.export("supervisord", &procfile, "myapp").success();
    supervisord.wait_running("web", "sleep");
    supervisord.wait_running("clock", "sleep");

    let out = sandbox.run(&["stop", "-n", "myapp"]).success();
    assert!(
        out.stdout
            .contains("supervisord stop of fb-myapp: fb-myapp:fb-myapp-"),
        "{}",
        out.stdout
    );
    supervisord.wait_state("web", "STOPPED", 5);
    supervisord.wait_state("clock", "STOPPED", 5);
    status_matches_supervisorctl(&sandbox, &supervisord, &["clock", "web"]);

    sandbox.run(&["start", "-n", "myapp"]).success();
    let web = supervisord.wait_running("web", "sleep");
    let clock = supervisord.wait_running("clock", "sleep");
    eprintln!("started: web {web}, clock {clock}");
    status_matches_supervisorctl(&sandbox, &supervisord, &["clock", "web"]);

    // clock is dropped: stopped before its helper goes, then forgotten by `update`.
    sandbox.procfile("web: exec sleep 1000\n");
    sandbox.export("supervisord", &procfile, "myapp").success();
    assert!(!alive(clock), "the dropped clock {clock} runs on");
    let (_, listed) = supervisord.ctl(&["status"]);
    assert!(!listed.contains("clock"), "{listed}");
    let web = supervisord.wait_running("web", "sleep");

    sandbox.run(&["restart", "-n", "myapp"]).success();
    let restarted = supervisord.wait_running("web", "sleep");
    eprintln!("restart: web {web} -> {restarted}");
    assert_ne!(restarted, web, "web kept its pid");
    assert!(!alive(web), "web's old process {web} runs on");
    status_matches_supervisorctl(&sandbox, &supervisord, &["web"]);

    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "supervisord"])
        .success();
    assert!(!alive(restarted), "clean left web {restarted} running");
    let (_, listed) = supervisord.ctl(&["status"]);
    assert!(!listed.contains("fb-myapp"), "{listed}");
}

/// Issue 23: `procexport reload` has supervisord signal each program of the app SIGHUP
/// (`supervisorctl signal`, never `supervisorctl reload`, which would restart supervisord):
/// the program's trap writes to its log, and it keeps its process.
#[test]
fn reload_signals_each_program_through_supervisorctl() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile =
        sandbox.procfile("web: trap 'echo reloaded' HUP; echo up; while :; do sleep 0.2; done\n");
    let supervisord = Supervisord::start(&sandbox);
    sandbox.export("supervisord", &procfile, "myapp").success();
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    wait_for_log(&log, "up\n");
    let before = supervisord.wait_running("web", "sh");
    let out = sandbox.run(&["reload", "-n", "myapp"]).success();
    assert!(
        out.stdout
            .contains("supervisord reload of fb-myapp: fb-myapp:fb-myapp-web"),
        "{}",
        out.stdout
    );
    wait_for_log(&log, "reloaded\n");
    assert_eq!(supervisord.wait_running("web", "sh"), before);
}

/// init-exporter's keys, carried by supervisord: the limits (soft and hard, set by prlimit as
/// root before setpriv drops), the pre command as the run user before the command, and the
/// kill signal as `stopsignal`. The limits are below this machine's hard limits: a test root
/// without CAP_SYS_RESOURCE (a container) cannot raise them.
#[test]
fn limits_pre_and_kill_signal_are_carried() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = run_users_dir(&sandbox);
    let (uid, _) = run_user();
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\ncommands:\n  web:\n    pre: id -u > pre.uid\n    command: trap 'echo quit > quit.got; exit 0' QUIT; echo up > up.got; while :; do sleep 1; done\n    limits: {{nofile: 4321, nproc: 321, memlock: 65536}}\n    kill_signal: SIGQUIT\n",
        yaml_quote(work.to_str().unwrap()),
    ));
    sandbox.export("supervisord", &procfile, "myapp").success();
    let supervisord = Supervisord::start(&sandbox);
    let pid = supervisord.wait_running("web", "sh");
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
    let (ok, said) = supervisord.ctl(&["stop", "fb-myapp:fb-myapp-web"]);
    assert!(ok, "{said}");
    wait_for_log(&work.join("quit.got"), "quit\n");
    supervisord.wait_state("web", "STOPPED", 10);
}

/// The files in the sandbox's `supervisord_dir`, by name.
fn conf_dir_files(sandbox: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(sandbox.root().join("etc/supervisor/conf.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A type with a count is one program (`numprocs`) and one helper for all its instances, each
/// process passing its number: under a real supervisord each instance runs with its own PORT,
/// PS and log (and the pre command with them), and the env the instances share. A shrink stops the dropped instance
/// only; status, stop and clean act on every instance.
#[test]
fn each_instance_of_a_counted_type_runs_with_its_own_port_and_log_from_one_helper() {
    require_root();
    let sandbox = Sandbox::live("");
    // The hostile values every instance shares, and one more.
    let mut env = String::new();
    for (key, value) in VALUES {
        writeln!(env, "  {key}: {}", yaml_quote(value)).unwrap();
    }
    let procfile = sandbox.procfile(format!(
        "version: 2\nenv:\n{env}  SHARED: \"one ' value\"\ncommands:\n  web:\n    command: exec sleep 1000\n  worker:\n    command: echo \"up $PORT $PS $SHARED\"; exec sleep 1001\n    pre: echo \"pre $PS\"\n    count: 3\n",
    ));
    let supervisord = Supervisord::start(&sandbox);
    sandbox.export("supervisord", &procfile, "myapp").success();
    assert_eq!(
        conf_dir_files(&sandbox),
        ["fb-myapp-web.sh", "fb-myapp-worker.sh", "fb-myapp.conf"]
    );
    let mut pids = Vec::new();
    for i in 0..3u32 {
        let job = format!("worker_{i}");
        let pid = supervisord.wait_running(&job, "sleep");
        let env = proc_env(pid);
        let (port, ps) = ((5100 + i).to_string(), format!("worker.{}", i + 1));
        assert_eq!(env.get("PORT"), Some(&port), "{job}");
        assert_eq!(env.get("PS"), Some(&ps), "{job}");
        assert_eq!(env.get("SHARED").map(String::as_str), Some("one ' value"));
        for (key, value) in VALUES {
            assert_eq!(
                env.get(*key).map(String::as_str),
                Some(*value),
                "{job}: {key}"
            );
        }
        let log = sandbox.root().join(format!("var/log/fb-myapp/{job}.log"));
        let want = format!("pre {ps}\nup {port} {ps} one ' value\n");
        assert_eq!(wait_for_log(&log, &want), want, "{job}");
        pids.push(pid);
    }
    let web = supervisord.wait_running("web", "sleep");
    assert_eq!(proc_env(web).get("PORT").map(String::as_str), Some("5000"));
    status_matches_supervisorctl(
        &sandbox,
        &supervisord,
        &["web", "worker_0", "worker_1", "worker_2"],
    );

    let out = sandbox.run(&["stop", "-n", "myapp"]).success();
    assert!(
        out.stdout.contains("fb-myapp:fb-myapp-worker"),
        "{}",
        out.stdout
    );
    for job in ["web", "worker_0", "worker_1", "worker_2"] {
        supervisord.wait_state(job, "STOPPED", 10);
    }
    assert!(pids.iter().all(|p| !alive(*p)));
    sandbox.run(&["start", "-n", "myapp"]).success();
    for job in ["web", "worker_0", "worker_1", "worker_2"] {
        supervisord.wait_running(job, "sleep");
    }

    // Two workers: the third's program is gone, the others run on from the same helper.
    sandbox.procfile(format!(
        "version: 2\nenv:\n{env}  SHARED: \"one ' value\"\ncommands:\n  web:\n    command: exec sleep 1000\n  worker:\n    command: echo \"up $PORT $PS $SHARED\"; exec sleep 1001\n    pre: echo \"pre $PS\"\n    count: 2\n",
    ));
    sandbox.export("supervisord", &procfile, "myapp").success();
    let (_, listed) = supervisord.ctl(&["status"]);
    assert!(!listed.contains("worker_2"), "{listed}");
    let second = supervisord.wait_running("worker_1", "sleep");
    assert_eq!(
        proc_env(second).get("PORT").map(String::as_str),
        Some("5101")
    );
    status_matches_supervisorctl(&sandbox, &supervisord, &["web", "worker_0", "worker_1"]);

    // No worker at all: its helper goes, and every instance stops with it.
    let workers = [
        supervisord.wait_running("worker_0", "sleep"),
        supervisord.wait_running("worker_1", "sleep"),
    ];
    sandbox.procfile("web: exec sleep 1000\n");
    sandbox.export("supervisord", &procfile, "myapp").success();
    for pid in workers {
        assert!(!alive(pid), "the dropped worker {pid} runs on");
    }
    assert_eq!(
        conf_dir_files(&sandbox),
        ["fb-myapp-web.sh", "fb-myapp.conf"]
    );
    let web = supervisord.wait_running("web", "sleep");
    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "supervisord"])
        .success();
    assert!(!alive(web), "clean left web {web} running");
    assert!(conf_dir_files(&sandbox).is_empty());
}

/// The helper of a counted type runs an instance only when its first argument is one of the
/// type's instance numbers: with none, another number, `pre` (the hook word of a helper of
/// one process), a number written otherwise or anything its arithmetic would evaluate, it says
/// so on stderr and exits non-zero before it opens a log, runs the pre command or the command.
#[test]
fn a_helper_given_no_instance_of_its_type_runs_nothing_and_fails() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = run_users_dir(&sandbox);
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\ncommands:\n  worker:\n    pre: echo \"$PS\" >> pre.ran\n    command: echo \"$PS\" >> command.ran\n    count: 2\n",
        yaml_quote(work.to_str().unwrap()),
    ));
    sandbox.export("supervisord", &procfile, "myapp").success();
    let helper = sandbox
        .root()
        .join("etc/supervisor/conf.d/fb-myapp-worker.sh");
    let log_dir = sandbox.root().join("var/log/fb-myapp");
    // As supervisord runs it: setpriv to the run user, then the helper with the arguments.
    let run = |args: &[&str]| {
        Command::new("/usr/bin/setpriv")
            .arg(format!("--reuid={RUN_USER}"))
            .arg(format!("--regid={RUN_USER}"))
            .arg("--init-groups")
            .arg("/bin/sh")
            .arg(&helper)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for args in [
        &[][..],
        &[""],
        &["2"],
        &["pre"],
        &["post"],
        &["01"],
        &[" 1"],
        &["1 "],
        &["*"],
        &["pre", "0"],
        // The helper computes PORT, PS and the log from the number: nothing but the
        // decimal instance numbers may reach its arithmetic or the log's path.
        &["+1"],
        &["-1"],
        &["1+1"],
        &["0x1"],
        &["1e0"],
        &["$((1))"],
        &["a[$(id)]"],
        &["10"],
        &["99999999999999999999999"],
        &["../1"],
    ] {
        let done = run(args);
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("no instance"), "{args:?}: {stderr}");
        assert!(
            !work.join("pre.ran").exists(),
            "{args:?} ran the pre command"
        );
        assert!(
            !work.join("command.ran").exists(),
            "{args:?} ran the command"
        );
        let logs: Vec<_> = fs::read_dir(&log_dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(logs.is_empty(), "{args:?} opened a log: {logs:?}");
    }
    // Instance 1 runs its pre command, then the command, with its own env and log.
    let done = run(&["1"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(
        fs::read_to_string(work.join("pre.ran")).unwrap(),
        "worker.2\n"
    );
    assert_eq!(
        fs::read_to_string(work.join("command.ran")).unwrap(),
        "worker.2\n"
    );
    assert!(log_dir.join("worker_1.log").exists());
    assert!(!log_dir.join("worker_0.log").exists());
}
