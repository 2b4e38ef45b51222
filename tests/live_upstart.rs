//! Upstart for real: each test starts its own Upstart 1.13 session init on a live sandbox's
//! job directory, and points procexport at it through the config (`upstart_initctl`,
//! `upstart_session`), as the system's init would be reached. The jobs then run for real as
//! the run user: the tests watch them through `initctl`, `procexport status` and /proc. A guard
//! ends the init by its own pid (TERM: it stops every job, then exits), also when the test
//! fails.
//!
//! No archive ships Upstart any more, so the tests take a built one from ONE variable,
//! `PROCEXPORT_TEST_UPSTART`: the prefix holding `sbin/init` and `sbin/initctl` (.ci/run sets
//! it when it could build one). Without it these tests are ignored, with the reason in the
//! summary, and `upstart_is_found_or_the_run_says_why` says so on stderr; the build script
//! turns the variable into the `procexport_test_upstart` cfg they are ignored by.

use crate::support::live::{alive, kill, proc_env, proc_ids, status_rows, wait_for, Row};
use crate::support::{require_root, Outcome, Sandbox, RUN_USER};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable naming the built Upstart.
const VARIABLE: &str = "PROCEXPORT_TEST_UPSTART";

/// What a run without Upstart says, on stderr and as the ignored tests' reason.
const NOT_RUN: &str = "live Upstart tests did not run: PROCEXPORT_TEST_UPSTART is not set (build one with ../shared/tools/upstart/build.sh, which prints the prefix to set it to, or build Upstart 1.13 into a prefix of your own; .ci/run does it when that file exists)";

/// The built Upstart's prefix, as the variable names it (set when the tests were built, so
/// it agrees with which tests are ignored). A prefix without its two programs is a broken
/// setup, not a reason to skip: it fails loudly.
fn prefix() -> &'static Path {
    let Some(prefix) = option_env!("PROCEXPORT_TEST_UPSTART").filter(|p| !p.is_empty()) else {
        panic!("{NOT_RUN}");
    };
    let prefix = Path::new(prefix);
    for program in ["sbin/init", "sbin/initctl"] {
        let path = prefix.join(program);
        let executable =
            fs::metadata(&path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        assert!(
            executable,
            "{VARIABLE}={}: no executable {} (build Upstart into that prefix first)",
            prefix.display(),
            path.display()
        );
    }
    prefix
}

/// Never ignored: with the variable, its prefix holds a working init and initctl; without it,
/// the run says on stderr that the live Upstart tests did not run, and why.
#[test]
fn upstart_is_found_or_the_run_says_why() {
    if cfg!(procexport_test_upstart) {
        let version = Command::new(prefix().join("sbin/initctl"))
            .arg("--version")
            .output()
            .expect("initctl runs");
        let said = String::from_utf8_lossy(&version.stdout);
        assert!(said.contains("upstart 1.13"), "initctl --version: {said}");
    } else {
        eprintln!("{NOT_RUN}");
    }
}

/// A session init on the sandbox's job directory, ended when dropped.
struct Upstart {
    child: Child,
    initctl: PathBuf,
    session: String,
    /// The init's own output: job files it could not parse, respawn limits hit.
    out: PathBuf,
}

impl Upstart {
    fn start(sandbox: &Sandbox) -> Self {
        let prefix = prefix();
        let runtime = sandbox.path().join("xdg");
        fs::create_dir_all(&runtime).unwrap();
        fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
        let confdir = sandbox.root().join("etc/init");
        let logdir = sandbox.path().join("upstart-logs");
        fs::create_dir_all(&confdir).unwrap();
        fs::create_dir_all(&logdir).unwrap();
        let out = sandbox.path().join("init.out");
        let log = fs::File::create(&out).unwrap();
        let child = Command::new(prefix.join("sbin/init"))
            .args(["--user", "--no-dbus", "--no-startup-event", "--confdir"])
            .arg(&confdir)
            .arg("--logdir")
            .arg(&logdir)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("XDG_RUNTIME_DIR", &runtime)
            // Without HOME a session init never opens its socket (and spins).
            .env("HOME", sandbox.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // A process group of its own: whatever it signals on its way out (an init ending
            // its session) never reaches the test harness.
            .process_group(0)
            .spawn()
            .expect("Upstart's init runs");
        let session = format!("unix:abstract=/com/ubuntu/upstart-session/0/{}", child.id());
        let init = Self {
            child,
            initctl: prefix.join("sbin/initctl"),
            session,
            out,
        };
        wait_for("the session init to listen", 10, || {
            init.initctl(&["version"]).status.success().then_some(())
        });
        init
    }

    fn initctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(&self.initctl)
            .args(args)
            .env_clear()
            .env("UPSTART_SESSION", &self.session)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `initctl status JOB`'s line, or its error.
    fn status(&self, job: &str) -> String {
        let output = self.initctl(&["status", job]);
        let text = if output.status.success() {
            output.stdout
        } else {
            output.stderr
        };
        String::from_utf8_lossy(&text).trim().to_owned()
    }

    /// The job's main pid while initctl says it runs.
    fn pid(&self, job: &str) -> Option<u32> {
        let status = self.status(job);
        if !status.contains(" start/running, process ") {
            return None;
        }
        status.rsplit(' ').next()?.parse().ok()
    }

    fn list(&self) -> String {
        String::from_utf8_lossy(&self.initctl(&["list"]).stdout).into_owned()
    }

    fn said(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Upstart {
    fn drop(&mut self) {
        let raw = i32::try_from(self.child.id()).unwrap();
        let pid = rustix::process::Pid::from_raw(raw).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A live sandbox with its own init, its config pointing procexport at it.
fn with_init() -> (Sandbox, Upstart) {
    require_root();
    let sandbox = Sandbox::live("");
    let init = Upstart::start(&sandbox);
    let config = fs::read_to_string(sandbox.config_path()).unwrap();
    sandbox.write_config(&format!(
        "{config}upstart_initctl: {}\nupstart_session: {}\n",
        init.initctl.display(),
        init.session
    ));
    (sandbox, init)
}

fn export(sandbox: &Sandbox, procfile: &Path, app: &str, extra: &[&str]) -> Outcome {
    let mut args = vec!["upstart", "-p", procfile.to_str().unwrap(), "-n", app];
    args.extend(extra);
    sandbox.run(&args)
}

/// `procexport status -n APP`, by job.
fn status(sandbox: &Sandbox, app: &str) -> BTreeMap<String, Row> {
    status_rows(&sandbox.run(&["status", "-n", app]).success().stdout)
}

/// Waits until every one of `jobs` of app `fb-myapp` runs; their pids.
#[track_caller]
fn running(init: &Upstart, jobs: &[&str]) -> BTreeMap<String, u32> {
    jobs.iter()
        .map(|job| {
            let name = format!("fb-myapp-{job}");
            let pid = wait_for(&format!("{name} to run"), 10, || init.pid(&name));
            (name, pid)
        })
        .collect()
}

/// `procexport status` names each job as initctl does, with the same pid.
#[track_caller]
fn status_matches_initctl(sandbox: &Sandbox, init: &Upstart, app: &str) {
    for (job, row) in status(sandbox, app) {
        assert_eq!(row.backend, "upstart");
        let said = init.status(&job);
        match row.state.as_str() {
            "running" => assert_eq!(row.pid, init.pid(&job), "{job}: {said}"),
            "active" => assert!(said.ends_with(" start/running"), "{job}: {said}"),
            "stopped" => assert!(said.ends_with(" stop/waiting"), "{job}: {said}"),
            other => panic!("{job}: state {other}, initctl says {said}"),
        }
    }
}

#[test]
#[cfg_attr(
    not(procexport_test_upstart),
    ignore = "live Upstart tests did not run: PROCEXPORT_TEST_UPSTART is not set (build one with ../shared/tools/upstart/build.sh, see the README's tests section)"
)]
fn jobs_run_as_the_run_user_and_restart_stop_drop_and_clean_act_on_them() {
    let (sandbox, init) = with_init();
    let work = sandbox.path().join("work dir");
    fs::create_dir_all(&work).unwrap();
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\nenv:\n  GREETING: \"it's me\"\ncommands:\n  web:\n    command: echo web up; exec sleep 1000\n  worker:\n    command: exec sleep 1001\n",
        work.display()
    ));
    // A neighbour whose jobs must never be touched.
    let other = sandbox.write("other/Procfile", "web: exec sleep 1002\n");
    export(&sandbox, &other, "other", &["--restart"]).success();
    let neighbour = wait_for("the neighbour to run", 10, || init.pid("fb-other-web"));

    // One command exports and starts the app.
    let out = export(&sandbox, &procfile, "myapp", &["--restart"]).success();
    assert!(
        out.stdout
            .contains("upstart restart of fb-myapp: fb-myapp fb-myapp-web fb-myapp-worker"),
        "{}",
        out.stdout
    );
    let first = running(&init, &["web", "worker"]);
    let web = first["fb-myapp-web"];
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
    assert_eq!(proc_ids(web, "Uid"), [uid; 4]);
    assert_eq!(proc_ids(web, "Gid"), [gid; 4]);
    assert_eq!(fs::read_link(format!("/proc/{web}/cwd")).unwrap(), work);
    assert_eq!(
        proc_env(web).get("GREETING").map(String::as_str),
        Some("it's me")
    );
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    wait_for("web's log", 10, || {
        fs::read_to_string(&log).ok().filter(|t| t == "web up\n")
    });
    status_matches_initctl(&sandbox, &init, "myapp");

    // restart: every job gets a new pid.
    sandbox.run(&["restart", "-n", "myapp"]).success();
    let second = running(&init, &["web", "worker"]);
    for (job, pid) in &first {
        assert_ne!(second[job], *pid, "{job} kept its pid");
        assert!(!alive(*pid), "{job}'s old process {pid} runs on");
    }
    eprintln!("pids before restart {first:?}, after {second:?}");
    status_matches_initctl(&sandbox, &init, "myapp");

    // stop, then start.
    sandbox.run(&["stop", "-n", "myapp"]).success();
    for (job, pid) in &second {
        assert!(!alive(*pid), "{job} runs on after stop");
        assert_eq!(init.status(job), format!("{job} stop/waiting"));
    }
    let rows = status(&sandbox, "myapp");
    assert!(rows.values().all(|r| r.state == "stopped"), "{rows:?}");
    sandbox.run(&["start", "-n", "myapp"]).success();
    let third = running(&init, &["web", "worker"]);
    status_matches_initctl(&sandbox, &init, "myapp");

    // An export that drops a job stops it before removing its file.
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\nenv:\n  GREETING: \"it's me\"\ncommands:\n  web:\n    command: echo web up; exec sleep 1000\n",
        work.display()
    ));
    export(&sandbox, &procfile, "myapp", &[]).success();
    let worker = third["fb-myapp-worker"];
    assert!(!alive(worker), "the dropped worker {worker} runs on");
    wait_for("the dropped job to be forgotten", 10, || {
        init.status("fb-myapp-worker")
            .contains("Unknown job")
            .then_some(())
    });
    assert_eq!(
        init.pid("fb-myapp-web"),
        Some(third["fb-myapp-web"]),
        "web was left alone"
    );
    let rows = status(&sandbox, "myapp");
    assert_eq!(
        rows.keys().collect::<Vec<_>>(),
        ["fb-myapp", "fb-myapp-web"]
    );

    // clean stops every job of the app, and nothing of it stays listed.
    sandbox.run(&["clean", "-n", "myapp"]).success();
    assert!(!alive(third["fb-myapp-web"]));
    wait_for("the app's jobs to be forgotten", 10, || {
        (!init.list().contains("fb-myapp")).then_some(())
    });
    let list = sandbox.run(&["list"]).success().stdout;
    assert!(
        !list.lines().any(|l| l.starts_with("myapp ")) && list.contains("\nother  upstart  1"),
        "{list}"
    );
    // The neighbour never noticed.
    assert_eq!(init.pid("fb-other-web"), Some(neighbour));
    assert!(
        !init.said().contains("fb-other-web main process"),
        "{}",
        init.said()
    );
}

#[test]
#[cfg_attr(
    not(procexport_test_upstart),
    ignore = "live Upstart tests did not run: PROCEXPORT_TEST_UPSTART is not set (build one with ../shared/tools/upstart/build.sh, see the README's tests section)"
)]
fn a_killed_process_is_respawned_and_a_crash_loop_stops_at_its_limit() {
    let (sandbox, init) = with_init();
    let procfile = sandbox.procfile(
        "version: 2\ncommands:\n  web:\n    command: exec sleep 1000\n  crash:\n    command: echo crashing; exec false\n    respawn: {count: 2, interval: 10}\n  once:\n    command: echo ran; exec false\n    respawn: false\n",
    );
    export(&sandbox, &procfile, "myapp", &["--restart"]).success();
    let web = running(&init, &["web"])["fb-myapp-web"];
    kill(web);
    let again = wait_for("web to be respawned", 10, || {
        init.pid("fb-myapp-web").filter(|p| *p != web)
    });
    assert!(alive(again));

    // Respawn limit 2 in 10 s: the first run and two respawns, then it stays down.
    let crash_log = sandbox.root().join("var/log/fb-myapp/crash.log");
    wait_for("the crash loop to stop", 10, || {
        init.said()
            .contains("fb-myapp-crash respawning too fast, stopped")
            .then_some(())
    });
    assert_eq!(init.status("fb-myapp-crash"), "fb-myapp-crash stop/waiting");
    assert_eq!(
        fs::read_to_string(&crash_log)
            .unwrap()
            .matches("crashing\n")
            .count(),
        3
    );

    // respawn: false: it ran once and stays down.
    let once_log = sandbox.root().join("var/log/fb-myapp/once.log");
    wait_for(
        &format!("once to run; init said {}", init.said()),
        10,
        || fs::read_to_string(&once_log).ok().filter(|t| t == "ran\n"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(init.status("fb-myapp-once"), "fb-myapp-once stop/waiting");
    assert_eq!(fs::read_to_string(&once_log).unwrap(), "ran\n");

    let rows = status(&sandbox, "myapp");
    assert_eq!(rows["fb-myapp-web"].pid, Some(again));
    assert_eq!(rows["fb-myapp-crash"].state, "stopped");
    assert_eq!(rows["fb-myapp-once"].state, "stopped");
    assert_eq!(rows["fb-myapp"].state, "active");

    // `start` starts what is down while the app runs.
    sandbox.run(&["start", "-n", "myapp"]).success();
    wait_for("once to run again", 10, || {
        fs::read_to_string(&once_log)
            .ok()
            .filter(|t| t == "ran\nran\n")
    });
}

#[test]
#[cfg_attr(
    not(procexport_test_upstart),
    ignore = "live Upstart tests did not run: PROCEXPORT_TEST_UPSTART is not set (build one with ../shared/tools/upstart/build.sh, see the README's tests section)"
)]
fn stop_waits_for_kill_timeout_to_end_a_process_that_ignores_term() {
    let (sandbox, init) = with_init();
    let procfile = sandbox.procfile(
        "version: 2\ncommands:\n  stubborn:\n    command: trap '' TERM; exec sleep 1000\n    kill_timeout: 2\n",
    );
    export(&sandbox, &procfile, "myapp", &["--restart"]).success();
    let pid = running(&init, &["stubborn"])["fb-myapp-stubborn"];
    // TERM is ignored once the shell has run `trap` and exec'd sleep, which keeps it ignored.
    wait_for("the job to exec sleep", 10, || {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim_end() == "sleep").then_some(())
    });
    let asked = Instant::now();
    sandbox.run(&["stop", "-n", "myapp"]).success();
    let took = asked.elapsed();
    assert!(
        (Duration::from_millis(1900)..Duration::from_secs(10)).contains(&took),
        "stop took {took:?}: TERM was not ignored, or KILL came early or late"
    );
    assert!(!alive(pid));
    assert!(
        init.said().contains("fb-myapp-stubborn main process")
            && init.said().contains("killed by KILL signal"),
        "{}",
        init.said()
    );
}

#[test]
#[cfg_attr(
    not(procexport_test_upstart),
    ignore = "live Upstart tests did not run: PROCEXPORT_TEST_UPSTART is not set (build one with ../shared/tools/upstart/build.sh, see the README's tests section)"
)]
fn without_a_reachable_init_an_export_writes_files_only_and_control_says_why() {
    require_root();
    // initctl is there, but no session is configured and no Upstart is PID 1 here.
    let sandbox = Sandbox::live(&format!(
        "upstart_initctl: {}\n",
        prefix().join("sbin/initctl").display()
    ));
    let procfile = sandbox.procfile("web: exec sleep 1000\nworker: exec sleep 1000\n");
    export(&sandbox, &procfile, "myapp", &[]).success();
    sandbox.procfile("web: exec sleep 1000\n");
    export(&sandbox, &procfile, "myapp", &[]).success();
    assert!(!sandbox
        .root()
        .join("etc/init/fb-myapp-worker.conf")
        .exists());
    export(&sandbox, &procfile, "myapp", &["--restart"])
        .failure(1)
        .stderr_has(
            "the app cannot be restarted: the init that runs upstart jobs is not running here",
        );
    sandbox
        .run(&["start", "-n", "myapp"])
        .failure(1)
        .stderr_has("not running here");
    let rows = status(&sandbox, "myapp");
    assert!(rows.values().all(|r| r.state == "unknown"), "{rows:?}");
    sandbox.run(&["clean", "-n", "myapp"]).success();
    sandbox
        .run(&["status", "-n", "myapp"])
        .failure(2)
        .stderr_has("nothing is installed for fb-myapp");
    // Under --root there is no init to restart through: refused before anything is written.
    let packaging = Sandbox::new();
    let procfile = packaging.procfile(
        "web: exec sleep 1000
",
    );
    export(&packaging, &procfile, "myapp", &["--restart"])
        .failure(2)
        .stderr_has("--restart acts on the running init");
    assert!(packaging.snapshot().is_empty());
}

/// A gem-era app moved over as its deploy recipe already does it, `upstart-export -p Procfile
/// -n myapp` (procexport installed under the gem's name): the gem's own job files for the app
/// are taken over (the one the Procfile no longer has is stopped and removed) and the app runs
/// under the real init, as the run user.
#[test]
#[cfg_attr(
    not(procexport_test_upstart),
    ignore = "live Upstart tests did not run: PROCEXPORT_TEST_UPSTART is not set (build one with ../shared/tools/upstart/build.sh, see the README's tests section)"
)]
fn a_gem_era_app_migrated_with_upstart_export_runs() {
    let (sandbox, init) = with_init();
    let confdir = sandbox.root().join("etc/init");
    let helpers = sandbox.root().join("var/local/upstart_helpers");
    fs::create_dir_all(&helpers).unwrap();
    // What the gem left: a master job and two process jobs, one of them running.
    fs::write(
        confdir.join("fb-myapp.conf"),
        "pre-start script\n  true\nend script\n",
    )
    .unwrap();
    // The web job runs its helper, as the gem's jobs do: that is what proves the helper the
    // app's (procexport takes over only what the gem's files prove to be the app's).
    fs::write(
        confdir.join("fb-myapp-web.conf"),
        format!(
            "start on starting fb-myapp\nstop on stopping fb-myapp\nexec /bin/sh {}\n",
            helpers.join("fb-myapp-web.sh").display()
        ),
    )
    .unwrap();
    fs::write(
        confdir.join("fb-myapp-clock.conf"),
        "start on starting fb-myapp\nstop on stopping fb-myapp\nexec sleep 1011\n",
    )
    .unwrap();
    fs::write(
        helpers.join("fb-myapp-web.sh"),
        "#!/bin/sh\nexec sleep 1010\n",
    )
    .unwrap();
    wait_for("the gem's clock job to start", 10, || {
        init.initctl(&["start", "fb-myapp-clock"])
            .status
            .success()
            .then_some(())
    });
    let clock = wait_for("the gem's clock job to run", 10, || {
        init.pid("fb-myapp-clock")
    });

    // The deploy recipe's own command line, unchanged.
    let link = sandbox.path().join("upstart-export");
    std::os::unix::fs::symlink(crate::support::bin(), &link).unwrap();
    let procfile = sandbox.procfile("web: exec sleep 1012\n");
    let outcome = crate::support::run(
        Command::new(&link)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("--config")
            .arg(sandbox.config_path())
            .args(["-p", procfile.to_str().unwrap(), "-n", "myapp"]),
    )
    .success();
    assert!(
        outcome.stdout.contains("upstart export of fb-myapp"),
        "{}",
        outcome.stdout
    );
    // The gem's job the Procfile no longer has: stopped, and its file gone.
    wait_for("the gem's clock job to stop", 10, || {
        (!alive(clock)).then_some(())
    });
    assert!(!confdir.join("fb-myapp-clock.conf").exists());

    // The app runs under the init, as the run user.
    sandbox.run(&["start", "-n", "myapp"]).success();
    let web = wait_for("web to run", 10, || init.pid("fb-myapp-web"));
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    assert_eq!(proc_ids(web, "Uid"), [user.uid.as_raw(); 4]);
    assert!(fs::read_to_string(format!("/proc/{web}/cmdline"))
        .unwrap()
        .contains("1012"));
    sandbox.run(&["clean", "-n", "myapp"]).success();
    wait_for("web to stop", 10, || (!alive(web)).then_some(()));
}

/// Issue 23: init-exporter's keys on a real Upstart 1.13: the job's `limit` stanzas are the
/// process's limits (/proc/PID/limits), `pre` and `post` ran as the run user, `reload signal`
/// and `kill signal` are the signals the job gets, and the env_file's variables reach it.
#[test]
#[cfg_attr(
    not(procexport_test_upstart),
    ignore = "live Upstart tests did not run: PROCEXPORT_TEST_UPSTART is not set (build one with ../shared/tools/upstart/build.sh, see the README's tests section)"
)]
fn init_exporter_keys_take_effect() {
    let (sandbox, init) = with_init();
    sandbox.write("app/app.env", "FROM_ENV_FILE=yes\n");
    let procfile = sandbox.procfile(
        "version: 2\ncommands:\n  web:\n    pre: echo \"pre as $(id -un)\"\n    command: trap 'echo got USR2' USR2; trap 'echo got QUIT; exit 0' QUIT; echo \"env_file says $FROM_ENV_FILE\"; while :; do sleep 0.2; done\n    post: echo \"post as $(id -un)\"\n    limits: {nofile: 4096, nproc: 300, memlock: 65536}\n    kill_signal: SIGQUIT\n    reload_signal: SIGUSR2\n    env_file: app.env\n",
    );
    export(&sandbox, &procfile, "myapp", &["--restart"]).success();
    let pid = running(&init, &["web"])["fb-myapp-web"];
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    for (name, value) in [
        ("Max open files", "4096"),
        ("Max processes", "300"),
        ("Max locked memory", "65536"),
    ] {
        let line = limits.lines().find(|l| l.starts_with(name)).unwrap();
        let words: Vec<&str> = line[name.len()..].split_whitespace().collect();
        assert_eq!(words[..2], [value, value], "{line}");
    }
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    let read = || fs::read_to_string(&log).unwrap_or_default();
    wait_for("pre and post to have run", 10, || {
        let text = read();
        (text.contains(&format!("pre as {RUN_USER}\n"))
            && text.contains(&format!("post as {RUN_USER}\n"))
            && text.contains("env_file says yes\n"))
        .then_some(())
    });
    let reload = init.initctl(&["reload", "fb-myapp-web"]);
    assert!(reload.status.success(), "{reload:?}");
    wait_for("the reload signal to arrive", 10, || {
        read().contains("got USR2\n").then_some(())
    });
    assert_eq!(
        init.pid("fb-myapp-web"),
        Some(pid),
        "a reload restarted the job"
    );
    sandbox.run(&["stop", "-n", "myapp"]).success();
    wait_for("the kill signal to arrive", 10, || {
        read().contains("got QUIT\n").then_some(())
    });
    assert!(!read().contains("as root"), "{}", read());
    sandbox.run(&["clean", "-n", "myapp"]).success();
}
