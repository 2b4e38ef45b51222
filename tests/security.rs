//! Every rule of the root boundary (docs/ARCHITECTURE.md, "The root boundary"), each with a test that tries to break
//! it. The backend-independent ones run against every backend through `backend_tests!`.

use crate::support::systemd_syntax::{parse_exec, parse_unit};
use crate::support::{dry_run_paths, require_root, run, Node, Sandbox, RUN_USER};
use pretty_assertions::assert_eq;
use procexport::testing::RootFormat;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const BASELINE: &str = "web: bundle exec puma\nworker: rake jobs:work\n";
const WIDER: &str = "web: bundle exec puma\nworker: rake jobs:work\nclock: clockwork clock.rb\n";

/// A sandbox with a first export done, and the paths a second, wider export would write.
fn exported(backend: &str) -> (Sandbox, std::path::PathBuf, Vec<(String, String)>) {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(BASELINE);
    sandbox.export(backend, &procfile, "myapp").success();
    let wider = sandbox.write("app/Procfile.wider", WIDER);
    let dry = sandbox
        .run(&[
            "--dry-run",
            backend,
            "-p",
            wider.to_str().unwrap(),
            "-n",
            "myapp",
        ])
        .success();
    let paths = dry_run_paths(&dry.stdout);
    assert!(
        paths.len() >= 4,
        "the dry run lists the files: {}",
        dry.stdout
    );
    (sandbox, wider, paths)
}

/// Puts `make` at each target path in turn; every export must be refused with `expected` and
/// leave the tree (with the planted node) exactly as it was.
fn refused_at_every_target(backend: &str, make: fn(&Path, &Path), expected: &str) {
    let (sandbox, wider, paths) = exported(backend);
    let victim = sandbox.write("victim", "victim's secret\n");
    let mut tried = 0;
    for (path, kind) in paths {
        if kind == "symlink" {
            continue; // a link of ours is replaced by rename, which never follows it
        }
        let host = sandbox.host(&path);
        let saved = (kind == "file" && host.exists()).then(|| fs::read(&host).unwrap());
        if kind == "directory" && host.exists() {
            continue; // an existing service directory is not re-created
        }
        // A directory the test has to make for a target (a new job's service directory) is
        // not procexport's: the export is refused there, never adopting it, before it gets to
        // the planted node. It is removed again after the try.
        let made_dir = host
            .ancestors()
            .skip(1)
            .take_while(|dir| !dir.exists())
            .last()
            .map(Path::to_path_buf);
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        let _ = fs::remove_file(&host);
        make(&victim, &host);
        let before = sandbox.snapshot();
        let outcome = sandbox.export(backend, &wider, "myapp").failure(1);
        let expected = if made_dir.is_some() {
            "exists and was not installed by procexport for this app"
        } else {
            expected
        };
        assert!(
            outcome.stderr.contains(expected),
            "{path}: {}",
            outcome.stderr
        );
        assert_eq!(sandbox.snapshot(), before, "{path}: something changed");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "victim's secret\n");
        fs::remove_file(&host).unwrap();
        if let Some(contents) = saved {
            fs::write(&host, contents).unwrap();
        }
        if let Some(made) = made_dir {
            fs::remove_dir_all(made).unwrap();
        }
        tried += 1;
    }
    assert!(tried >= 4, "only {tried} targets were tried");
}

pub fn symlink_at_every_target_is_refused(backend: &str) {
    refused_at_every_target(
        backend,
        |victim, at| std::os::unix::fs::symlink(victim, at).unwrap(),
        "symlink",
    );
}

pub fn fifo_at_every_target_is_refused(backend: &str) {
    refused_at_every_target(
        backend,
        |_, at| assert!(Command::new("mkfifo").arg(at).status().unwrap().success()),
        "fifo",
    );
}

/// A file at a target path that no manifest of the app lists (another tool's, a system unit
/// an unlucky name would shadow) is never replaced; one identical to what would be written is
/// taken over as it is.
/// With no prefix, as here, such a clash is what an app named like a system job would cause.
pub fn foreign_file_at_a_target_is_refused(backend: &str) {
    require_root();
    let sandbox = Sandbox::with_config("prefix: \"\"\n");
    // A first export without job web (so the app's lock and state exist), then one with it.
    let first = sandbox.write("app/Procfile.first", "worker: rake jobs:work\n");
    sandbox.export(backend, &first, "myapp").success();
    // An explicit working directory, so that two sandboxes render the same bytes.
    let text = "version: 2\nworking_directory: /srv/app\ncommands:\n  web:\n    command: puma\n";
    let procfile = sandbox.procfile(text);
    let dry = sandbox
        .run(&[
            "--dry-run",
            backend,
            "-p",
            procfile.to_str().unwrap(),
            "-n",
            "myapp",
        ])
        .success();
    let (path, _) = dry_run_paths(&dry.stdout)
        .into_iter()
        .find(|(p, kind)| kind == "file" && p.contains("myapp-web"))
        .expect("a file of job web");
    let host = sandbox.host(&path);
    let parent_is_new = !host.parent().unwrap().exists();
    fs::create_dir_all(host.parent().unwrap()).unwrap();
    fs::write(&host, "installed by someone else\n").unwrap();
    let before = sandbox.snapshot();
    sandbox
        .export(backend, &procfile, "myapp")
        .failure(1)
        .stderr_has("was not installed by procexport for this app");
    assert_eq!(sandbox.snapshot(), before);
    if parent_is_new {
        // The file sits in a directory procexport did not make (runit's service directory):
        // that directory is never adopted, whatever is in it.
        return;
    }
    // The same file with exactly the contents procexport would write is adopted.
    let reference = Sandbox::with_config("prefix: \"\"\n");
    let reference_procfile = reference.procfile(text);
    reference
        .export(backend, &reference_procfile, "myapp")
        .success();
    fs::copy(reference.host(&path), &host).unwrap();
    // With its owner too (a helper's group is the run group).
    let meta = fs::metadata(reference.host(&path)).unwrap();
    std::os::unix::fs::chown(
        &host,
        Some(std::os::unix::fs::MetadataExt::uid(&meta)),
        Some(std::os::unix::fs::MetadataExt::gid(&meta)),
    )
    .unwrap();
    fs::set_permissions(&host, meta.permissions()).unwrap();
    let adopted = sandbox.export(backend, &procfile, "myapp").success();
    assert!(adopted.stdout.contains("unchanged"), "{}", adopted.stdout);
}

pub fn target_dir_writable_by_group_or_others_is_refused(backend: &str) {
    let (sandbox, wider, paths) = exported(backend);
    let mut dirs: Vec<String> = paths
        .iter()
        .map(|(p, _)| Path::new(p).parent().unwrap().to_str().unwrap().to_owned())
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let host = sandbox.host(&dir);
        if !host.exists() {
            continue;
        }
        let mode = fs::metadata(&host).unwrap().permissions().mode() & 0o7777;
        for loose in [0o020, 0o002] {
            fs::set_permissions(&host, fs::Permissions::from_mode(mode | loose)).unwrap();
            let before = sandbox.snapshot();
            let outcome = sandbox.export(backend, &wider, "myapp").failure(1);
            assert!(
                outcome.stderr.contains("writable by"),
                "{dir}: {}",
                outcome.stderr
            );
            assert_eq!(sandbox.snapshot(), before, "{dir}");
        }
        fs::set_permissions(&host, fs::Permissions::from_mode(mode)).unwrap();
    }
    sandbox.export(backend, &wider, "myapp").success();
}

/// Lines a backend's files run as root, as (file, line) pairs.
fn root_shell_lines(backend: &str, sandbox: &Sandbox) -> Vec<(String, String)> {
    let facts = procexport::testing::facts(backend);
    let mut lines = Vec::new();
    for (rel, node) in sandbox.snapshot() {
        let Node::File { contents, .. } = node else {
            continue;
        };
        let text = String::from_utf8_lossy(&contents).into_owned();
        // The backend's facts say which of its files its init runs as root, in which format;
        // a format this test cannot read does not compile.
        let found = match facts.root_format(&format!("/{rel}")) {
            Some(RootFormat::UpstartJob) => upstart_root_lines(&text),
            Some(RootFormat::SystemdUnit) => systemd_root_lines(&text),
            Some(RootFormat::RunitService) => runit_root_lines(&rel, &text),
            Some(RootFormat::SupervisordConf) => supervisord_root_lines(&text),
            Some(RootFormat::InitScript) => sysv_root_lines(&text),
            Some(RootFormat::LaunchdPlist) => launchd_root_lines(&text),
            // A file its init runs nothing of as root (an env file, a helper or wrapper that
            // starts as the run user, a user unit).
            None => Vec::new(),
        };
        lines.extend(found.into_iter().map(|l| (rel.clone(), l)));
    }
    lines
}

/// What systemd runs or opens as root for a service: every command when it has no `User=` (or
/// root), commands prefixed `+` or `!` whatever `User=` says, the commands besides `ExecStart=`
/// under `PermissionsStartOnly=yes`, and output files (`StandardOutput=append:...`), which
/// systemd opens before it drops to the user (given as `>> PATH`). A command is its words
/// joined by spaces, so `sh -c` shell code reads as shell code.
fn systemd_root_lines(text: &str) -> Vec<String> {
    let unit = parse_unit(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let as_root = unit
        .values("Service", "User")
        .last()
        .is_none_or(|u| *u == "root" || *u == "0");
    let start_only = unit.values("Service", "PermissionsStartOnly").last() == Some(&"yes");
    let mut lines = Vec::new();
    for section in unit.sections.iter().filter(|s| s.name == "Service") {
        for (key, value) in &section.entries {
            if key.starts_with("Exec") {
                let command = parse_exec(value).unwrap();
                if as_root || command.privileged() || (start_only && key != "ExecStart") {
                    lines.push(command.argv.join(" "));
                }
            } else if key == "StandardOutput" || key == "StandardError" {
                let file = ["append:", "file:", "truncate:"]
                    .iter()
                    .find_map(|how| value.strip_prefix(how));
                if let Some(path) = file {
                    lines.push(format!(">> {path}"));
                }
            }
        }
    }
    lines
}

/// What supervisord (root) does as root for each program: it opens `stdout_logfile` and
/// `stderr_logfile` itself (given as `>> PATH`; `NONE` opens nothing, `AUTO` is in its own
/// root-only `childlogdir`), and runs the whole `command` as root unless `user=` names another
/// user. A command that is `setpriv --reuid=...` becomes the run user before it runs anything,
/// so only setpriv itself runs as root.
fn supervisord_root_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut programs: Vec<Vec<(String, String)>> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("[program:") {
            programs.push(Vec::new());
        } else if line.starts_with('[') {
            programs.push(Vec::new()); // a section that is not a program: ignored below
            programs
                .last_mut()
                .unwrap()
                .push(("#not-a-program".to_owned(), String::new()));
        } else if let (Some(program), Some((key, value))) =
            (programs.last_mut(), line.split_once('='))
        {
            program.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    for program in programs {
        if program.iter().any(|(k, _)| k == "#not-a-program") {
            continue;
        }
        let get = |key: &str| {
            program
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        for key in ["stdout_logfile", "stderr_logfile"] {
            // None is AUTO.
            if let Some(path) = get(key).filter(|p| !matches!(*p, "NONE" | "AUTO")) {
                lines.push(format!(">> {path}"));
            }
        }
        let as_root = get("user").is_none_or(|u| u == "root" || u == "0");
        let command = get("command").unwrap_or_default();
        let drops = command.starts_with("/usr/bin/setpriv --reuid=")
            && !command.starts_with("/usr/bin/setpriv --reuid=root ");
        if drops {
            lines.push(command.split(" /bin/sh").next().unwrap().to_owned());
        } else if as_root {
            lines.push(command.to_owned());
        }
    }
    lines
}

#[test]
fn the_root_write_check_catches_a_supervisord_log_opened_as_root() {
    require_root();
    let sandbox = Sandbox::new();
    let log_dir = sandbox.host("/var/log/fb-myapp");
    fs::create_dir_all(&log_dir).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(&log_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    // The usual supervisord program: user= for the process, but the log opened by supervisord.
    let conf = "[group:fb-myapp]\nprograms=fb-myapp-web\n[program:fb-myapp-web]\ncommand=puma\nuser=pxrun\nstdout_logfile=/var/log/fb-myapp/web.log\n[program:fb-myapp-clock]\ncommand=/bin/sh -c \"exec clock >> /var/log/fb-myapp/clock.log\"\n";
    let lines: Vec<_> = supervisord_root_lines(conf)
        .into_iter()
        .map(|l| ("fb-myapp.conf".to_owned(), l))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let caught = std::panic::catch_unwind(|| {
        assert_no_root_writes_in_run_user_dirs("supervisord", &sandbox, &lines);
    });
    assert!(
        caught.is_err(),
        "the check must flag a log supervisord opens as root"
    );
}

/// The lines of a SysV init script, all run as root, with `$piddir` replaced by its value; and
/// for each `--pidfile P`, the write of P (start-stop-daemon --make-pidfile writes it as root).
fn sysv_root_lines(text: &str) -> Vec<String> {
    let piddir = text
        .lines()
        .find_map(|l| l.strip_prefix("piddir="))
        .map(|v| v.trim_matches('\'').to_owned())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let line = line.replace("$piddir", &piddir);
        if let Some(at) = line.find("--pidfile ") {
            let file = line[at + "--pidfile ".len()..]
                .split_whitespace()
                .next()
                .unwrap_or("");
            lines.push(format!("> {file}"));
        }
        lines.push(line);
    }
    lines
}

#[test]
fn the_root_write_check_catches_a_pid_file_in_the_run_users_directory() {
    require_root();
    let sandbox = Sandbox::new();
    let log_dir = sandbox.host("/var/log/fb-myapp");
    fs::create_dir_all(&log_dir).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(&log_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    let script = "#!/bin/sh\npiddir=/var/log/fb-myapp\nstart-stop-daemon --start --make-pidfile --pidfile \"$piddir/web.pid\" --exec /bin/sh -- w\n";
    let lines: Vec<_> = sysv_root_lines(script)
        .into_iter()
        .map(|l| ("fb-myapp".to_owned(), l))
        .collect();
    let caught = std::panic::catch_unwind(|| {
        assert_no_root_writes_in_run_user_dirs("sysv", &sandbox, &lines);
    });
    assert!(
        caught.is_err(),
        "the check must flag a root pid file in the run user's directory"
    );
}

/// What launchd does as root for a daemon: it opens `StandardOutPath`/`StandardErrorPath`
/// itself (given as `>> PATH`), and runs `ProgramArguments` as root when there is no
/// `UserName` (or it is root).
fn launchd_root_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let value = |key: &str| -> Option<String> {
        let at = lines
            .iter()
            .position(|l| *l == format!("<key>{key}</key>"))?;
        let next = lines.get(at + 1)?;
        next.strip_prefix("<string>")?
            .strip_suffix("</string>")
            .map(str::to_owned)
    };
    let mut root = Vec::new();
    for key in ["StandardOutPath", "StandardErrorPath"] {
        if let Some(path) = value(key) {
            root.push(format!(">> {path}"));
        }
    }
    if value("UserName").is_none_or(|u| u == "root") {
        let program: Vec<&str> = lines
            .iter()
            .skip_while(|l| **l != "<key>ProgramArguments</key>")
            .skip(2)
            .take_while(|l| **l != "</array>")
            .filter_map(|l| l.strip_prefix("<string>")?.strip_suffix("</string>"))
            .collect();
        root.push(program.join(" "));
    }
    root
}

#[test]
fn the_root_write_check_catches_a_launchd_log_path() {
    require_root();
    let sandbox = Sandbox::new();
    let log_dir = sandbox.host("/var/log/fb-myapp");
    fs::create_dir_all(&log_dir).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(&log_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    let plist = "<dict>\n<key>UserName</key>\n<string>pxrun</string>\n<key>StandardOutPath</key>\n<string>/var/log/fb-myapp/web.log</string>\n</dict>\n";
    let lines: Vec<_> = launchd_root_lines(plist)
        .into_iter()
        .map(|l| ("fb-myapp-web.plist".to_owned(), l))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let caught = std::panic::catch_unwind(|| {
        assert_no_root_writes_in_run_user_dirs("launchd", &sandbox, &lines);
    });
    assert!(
        caught.is_err(),
        "the check must flag a log launchd opens as root"
    );
}

/// The shell lines Upstart runs as root: all of a job without `setuid`, none of one with it.
fn upstart_root_lines(text: &str) -> Vec<String> {
    if text.lines().any(|l| l.trim_start().starts_with("setuid ")) {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let mut in_script = false;
    for line in text.lines().map(str::trim) {
        if line.ends_with("script") && !line.starts_with("end") && !line.starts_with('#') {
            in_script = true;
        } else if line == "end script" {
            in_script = false;
        } else if in_script || line.starts_with("exec ") {
            lines.push(line.to_owned());
        }
    }
    lines
}

/// The shell lines runsv runs as root: `run` and `log/run` up to the line that drops to the
/// run user with `chpst -u`, all of `finish` and of `control/*`. A script without such a line
/// counts as root throughout.
fn runit_root_lines(rel: &str, text: &str) -> Vec<String> {
    if !text.starts_with("#!") {
        return Vec::new(); // env/ files: values, not code
    }
    let code = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let drops = rel.ends_with("/run");
    let mut lines = Vec::new();
    for line in code {
        lines.push(line.to_owned());
        if drops && line.contains("chpst -u") {
            break;
        }
    }
    lines
}

#[test]
fn the_root_write_check_catches_foremans_runit_log_run() {
    require_root();
    let sandbox = Sandbox::new();
    let log_dir = sandbox.host("/var/log/fb-myapp");
    fs::create_dir_all(&log_dir).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(&log_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    // foreman's log/run template, filled in: root makes and chowns the log directory.
    let foreman = "#!/bin/sh\nset -e\n\nLOG=/var/log/fb-myapp/web\n\ntest -d /var/log/fb-myapp/web || mkdir -p -m 2750 /var/log/fb-myapp/web && chown pxrun /var/log/fb-myapp/web\nexec chpst -u pxrun svlogd /var/log/fb-myapp/web\n";
    let lines: Vec<_> = runit_root_lines("etc/sv/fb-myapp-web/log/run", foreman)
        .into_iter()
        .map(|l| ("log/run".to_owned(), l))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    let caught = std::panic::catch_unwind(|| {
        assert_no_root_writes_in_run_user_dirs("runit", &sandbox, &lines);
    });
    assert!(caught.is_err(), "the check must flag foreman's root chown");
}

/// Paths a root shell line touches, chowns, chmods or redirects output to.
fn touched_paths(line: &str) -> Vec<String> {
    let clean = |w: &str| {
        w.trim_matches(|c| matches!(c, '\'' | '"' | ';' | '{' | '}'))
            .to_owned()
    };
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut paths = Vec::new();
    let mut in_file_command = false;
    for (i, word) in words.iter().enumerate() {
        let bare = clean(word);
        if matches!(
            bare.as_str(),
            "touch" | "chown" | "chgrp" | "chmod" | "mkdir" | "rm" | "ln" | "mv" | "cp"
        ) {
            in_file_command = true;
            continue;
        }
        if matches!(*word, "&&" | "||" | "|") {
            in_file_command = false;
            continue;
        }
        if let Some(target) = word.strip_prefix(">>").or_else(|| word.strip_prefix('>')) {
            let target = if target.is_empty() {
                words.get(i + 1).copied().unwrap_or("")
            } else {
                target
            };
            if !target.starts_with('&') {
                paths.push(clean(target));
            }
            continue;
        }
        if in_file_command && bare.starts_with('/') {
            paths.push(bare);
        }
        if word.ends_with(';') {
            in_file_command = false;
        }
    }
    paths.retain(|p| p.starts_with('/'));
    paths
}

/// True when the run user can create or replace entries in `dir`.
fn run_user_can_write(dir: &Path) -> bool {
    crate::support::as_run_user("test")
        .arg("-w")
        .arg(dir)
        .status()
        .unwrap()
        .success()
}

fn assert_no_root_writes_in_run_user_dirs(
    backend: &str,
    sandbox: &Sandbox,
    lines: &[(String, String)],
) {
    for (file, line) in lines {
        for path in touched_paths(line) {
            let parent = sandbox.host(Path::new(&path).parent().unwrap().to_str().unwrap());
            fs::create_dir_all(&parent).ok();
            assert!(
                !run_user_can_write(&parent),
                "{backend}: {file} runs as root `{line}` on {path}, inside a directory the run user can write"
            );
        }
    }
}

pub fn no_root_file_operations_inside_run_user_writable_dirs(backend: &str) {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(
        "version: 2\nlog: /srv/app/log/all.log\nworking_directory: /srv/app\ncommands:\n  web:\n    command: a\n  worker:\n    command: b\n    log: /var/log/worker.log\n",
    );
    sandbox.export(backend, &procfile, "myapp").success();
    // The directories a run user could have: its app log dir and its working directory.
    let srv = sandbox.host("/srv/app/log");
    fs::create_dir_all(&srv).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    for dir in [srv.clone(), sandbox.host("/var/log/fb-myapp")] {
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    }
    let lines = root_shell_lines(backend, &sandbox);
    assert_no_root_writes_in_run_user_dirs(backend, &sandbox, &lines);
}

#[test]
fn the_root_write_check_catches_the_gems_job_file() {
    require_root();
    let sandbox = Sandbox::new();
    let log_dir = sandbox.host("/var/log/fb-myapp");
    fs::create_dir_all(&log_dir).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(&log_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    let gem = "start on starting fb-myapp\nscript\n  touch /var/log/fb-myapp/web.log\n  chown service /var/log/fb-myapp/web.log\n  exec sudo -u service /bin/sh /h/fb-myapp-web.sh >> /var/log/fb-myapp/web.log 2>&1\nend script\n";
    let lines: Vec<_> = upstart_root_lines(gem)
        .into_iter()
        .map(|l| ("gem.conf".to_owned(), l))
        .collect();
    assert_eq!(lines.len(), 3);
    let caught = std::panic::catch_unwind(|| {
        assert_no_root_writes_in_run_user_dirs("upstart", &sandbox, &lines);
    });
    assert!(
        caught.is_err(),
        "the check must flag the gem's root touch/chown/>>"
    );
    assert_eq!(
        touched_paths("exec x >> /var/log/fb-myapp/web.log 2>&1"),
        ["/var/log/fb-myapp/web.log"]
    );
}

#[test]
fn the_root_write_check_catches_root_lines_in_a_unit() {
    require_root();
    let sandbox = Sandbox::new();
    let log_dir = sandbox.host("/var/log/fb-myapp");
    fs::create_dir_all(&log_dir).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(&log_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    // The holes of other exporters: a root `+` pre-start that touches and chowns the log, and
    // an output file systemd opens as root.
    let unit = "[Service]\nUser=pxrun\nExecStartPre=+/bin/sh -c \"touch /var/log/fb-myapp/web.log && chown pxrun /var/log/fb-myapp/web.log\"\nStandardOutput=append:/var/log/fb-myapp/web.log\nExecStart=/bin/sh -c \"exec app\"\n";
    let lines: Vec<_> = systemd_root_lines(unit)
        .into_iter()
        .map(|l| ("fb-myapp-web.service".to_owned(), l))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let caught = std::panic::catch_unwind(|| {
        assert_no_root_writes_in_run_user_dirs("systemd", &sandbox, &lines);
    });
    assert!(
        caught.is_err(),
        "the check must flag the root touch/chown and append:"
    );
    // Without User=, ExecStart itself runs as root.
    let no_user = "[Service]\nExecStart=/bin/sh -c \"exec app >> /var/log/fb-myapp/web.log\"\n";
    assert_eq!(
        systemd_root_lines(no_user),
        ["/bin/sh -c exec app >> /var/log/fb-myapp/web.log"]
    );
}

#[test]
fn config_not_owned_by_root_is_refused() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(BASELINE);
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::chown(sandbox.config_path(), Some(user.uid.as_raw()), None).unwrap();
    sandbox
        .export("upstart", &procfile, "myapp")
        .failure(1)
        .stderr_has("is owned by uid");
    assert!(sandbox.snapshot().is_empty());
}

#[test]
fn config_writable_by_group_or_others_is_refused() {
    require_root();
    for mode in [0o664, 0o646] {
        let sandbox = Sandbox::new();
        let procfile = sandbox.procfile(BASELINE);
        fs::set_permissions(sandbox.config_path(), fs::Permissions::from_mode(mode)).unwrap();
        sandbox
            .export("upstart", &procfile, "myapp")
            .failure(1)
            .stderr_has("writable by group or others");
        assert!(sandbox.snapshot().is_empty());
    }
}

#[test]
fn config_that_is_a_symlink_is_refused() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(BASELINE);
    let real = sandbox.write("real.yaml", "run_user: pxrun\nrun_group: pxrun\n");
    fs::remove_file(sandbox.config_path()).unwrap();
    std::os::unix::fs::symlink(real, sandbox.config_path()).unwrap();
    sandbox
        .export("upstart", &procfile, "myapp")
        .failure(1)
        .stderr_has("is a symlink");
}

#[test]
fn run_user_root_is_refused() {
    require_root();
    for (config, expected) in [
        (
            "run_user: root\nrun_group: pxrun\n",
            "run_user may not be root",
        ),
        (
            "run_user: pxrun\nrun_group: root\n",
            "run_group may not be root",
        ),
    ] {
        let sandbox = Sandbox::new();
        sandbox.write_config(config);
        let procfile = sandbox.procfile(BASELINE);
        sandbox
            .export("upstart", &procfile, "myapp")
            .failure(2)
            .stderr_has(expected);
        assert!(sandbox.snapshot().is_empty());
    }
}

// A run user that is uid 0 under another name (`toor`) is refused by id: the unit test
// `model::account::tests::refuses_uid_and_gid_0_aliases` gives the lookup such an alias,
// so no second uid-0 account is ever added to this machine.

/// procexport as root with the variables sudo sets for user `pxrun`.
fn through_sudo(args: &[&str]) -> crate::support::Outcome {
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    run(Command::new(crate::support::bin())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SUDO_UID", user.uid.to_string())
        .env("SUDO_GID", user.gid.to_string())
        .env("SUDO_USER", RUN_USER))
}

#[test]
fn root_flag_is_refused_through_sudo() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(BASELINE);
    let root = sandbox.root();
    through_sudo(&[
        "--root",
        root.to_str().unwrap(),
        "upstart",
        "-p",
        procfile.to_str().unwrap(),
        "-n",
        "myapp",
    ])
    .failure(2)
    .stderr_has("--root is refused when procexport runs through sudo");
    through_sudo(&["clean", "-n", "myapp", "--root", root.to_str().unwrap()])
        .failure(2)
        .stderr_has("--root is refused");
    assert!(!root.exists());
}

#[test]
fn kubernetes_is_refused_through_sudo() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(BASELINE);
    let out = sandbox.path().join("k8s");
    through_sudo(&[
        "kubernetes",
        "-p",
        procfile.to_str().unwrap(),
        "-n",
        "myapp",
        "--image",
        "registry.example/myapp:1.2.3",
        "-o",
        out.to_str().unwrap(),
    ])
    .failure(2)
    .stderr_has("procexport kubernetes is refused through sudo: it installs nothing on this machine and never needs root; run it as yourself");
    assert!(!out.exists());
}

#[test]
fn config_flag_is_refused_through_sudo() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(BASELINE);
    through_sudo(&[
        "upstart",
        "--config",
        sandbox.config_path().to_str().unwrap(),
        "-p",
        procfile.to_str().unwrap(),
        "-n",
        "myapp",
    ])
    .failure(2)
    .stderr_has("--config is refused when procexport runs through sudo");
}

#[test]
fn procfile_the_invoking_user_cannot_read_is_refused_unshown() {
    require_root();
    let sandbox = Sandbox::new();
    let secret_dir = sandbox.path().join("secret");
    fs::create_dir_all(&secret_dir).unwrap();
    let secret = secret_dir.join("Procfile");
    fs::write(&secret, "web: echo TOP_SECRET_VALUE\nbad.label: x\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let link = sandbox.path().join("link-to-shadow");
    std::os::unix::fs::symlink("/etc/shadow", &link).unwrap();
    for path in [&secret, &link] {
        let outcome =
            through_sudo(&["upstart", "-p", path.to_str().unwrap(), "-n", "myapp"]).failure(2);
        assert!(
            outcome
                .stderr
                .contains("permission denied: the invoking user cannot read it"),
            "{}",
            outcome.stderr
        );
        let all = format!("{}{}", outcome.stdout, outcome.stderr);
        assert!(
            !all.contains("TOP_SECRET") && !all.contains("root:"),
            "contents leaked: {all}"
        );
    }
    // The same file is read fine by root itself: the refusal is the invoking user's rights.
    let sandbox_ok = sandbox.export("upstart", &secret, "myapp").failure(2);
    assert!(
        sandbox_ok.stderr.contains("label \"bad.label\""),
        "{}",
        sandbox_ok.stderr
    );
}

macro_rules! backend_tests {
    ($($backend:ident),*) => {
        $(
            mod $backend {
                fn name() -> &'static str {
                    procexport::testing::backend_name(stringify!($backend))
                }

                #[test]
                fn symlink_at_every_target_is_refused() {
                    super::symlink_at_every_target_is_refused(name());
                }

                #[test]
                fn fifo_at_every_target_is_refused() {
                    super::fifo_at_every_target_is_refused(name());
                }

                #[test]
                fn foreign_file_at_a_target_is_refused() {
                    super::foreign_file_at_a_target_is_refused(name());
                }

                #[test]
                fn target_dir_writable_by_group_or_others_is_refused() {
                    super::target_dir_writable_by_group_or_others_is_refused(name());
                }

                #[test]
                fn no_root_file_operations_inside_run_user_writable_dirs() {
                    super::no_root_file_operations_inside_run_user_writable_dirs(name());
                }
            }
        )*
    };
}

procexport::for_each_backend!(backend_tests);

/// /etc/procexport.yaml for one test, taking turns with tests/sudo.rs (one config for every
/// sudo'd run: two tests writing it at once would read each other's).
use crate::support::sudo::LiveConfig;

#[test]
fn dry_run_through_sudo_hides_the_configs_env_values() {
    require_root();
    let sandbox = Sandbox::new();
    let root = sandbox.root();
    let r = root.display();
    let _config = LiveConfig::install(&format!(
        "run_user: {RUN_USER}\nrun_group: {RUN_USER}\nupstart_dir: {r}/init\nhelper_dir: {r}/helpers\n\
         log_dir: {r}/log\nstate_dir: {r}/state\nenv:\n  API_TOKEN: s3cr3t-from-root\n"
    ));
    let procfile = sandbox
        .procfile("version: 2\nenv: {MINE: user-visible}\ncommands:\n  web:\n    command: puma\n");
    let outcome = through_sudo(&[
        "--dry-run",
        "upstart",
        "-p",
        procfile.to_str().unwrap(),
        "-n",
        "myapp",
    ])
    .success();
    assert!(
        outcome
            .stdout
            .contains("export API_TOKEN='(hidden: set in the config)'"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("export MINE=user-visible"),
        "{}",
        outcome.stdout
    );
    assert!(
        !outcome.stdout.contains("s3cr3t"),
        "the config's secret was shown"
    );
    assert!(!root.exists(), "a dry run wrote something");
}

/// Debian's runit makes `/etc/service` a root-owned symlink to
/// `/etc/runit/runsvdir/default`: followed. The same link owned by anyone else, or leading
/// into a directory others can write, is refused, and the refusal says what to change.
#[test]
fn root_owned_symlinks_along_configured_directories_are_followed() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile(BASELINE);
    let runsvdir = sandbox.root().join("etc/runit/runsvdir/default");
    fs::create_dir_all(&runsvdir).unwrap();
    let link = sandbox.root().join("etc/service");
    std::os::unix::fs::symlink("/etc/runit/runsvdir/default", &link).unwrap();
    sandbox.export("runit", &procfile, "myapp").success();
    let enabled = runsvdir.join("fb-myapp-web");
    assert_eq!(
        fs::read_link(&enabled).unwrap(),
        Path::new("/etc/sv/fb-myapp-web")
    );
    sandbox.run(&["clean", "-n", "myapp"]).success();
    assert!(enabled.symlink_metadata().is_err());

    // Owned by the run user: refused.
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    std::os::unix::fs::lchown(&link, Some(user.uid.as_raw()), None).unwrap();
    sandbox
        .export("runit", &procfile, "myapp")
        .failure(1)
        .stderr_has("follows a symlink only when root owns it");
    std::os::unix::fs::lchown(&link, Some(0), None).unwrap();

    // Leading into a group-writable directory: refused.
    fs::set_permissions(&runsvdir, fs::Permissions::from_mode(0o775)).unwrap();
    sandbox
        .export("runit", &procfile, "myapp")
        .failure(1)
        .stderr_has("is reached through a symlink and is not root's alone");
    assert!(!runsvdir.join("fb-myapp-web").exists());
}
