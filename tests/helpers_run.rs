//! The generated helpers really run: each is executed with `sh` as the run user (the way
//! Upstart runs it after setuid/setgid), its command a probe that records its working
//! directory, argv, environment and pid. Every value must arrive exactly, the output must
//! land in the job's log, and a simple command must be exec'd (the probe has the helper's pid).

use crate::support::{as_run_user, require_root, run, Sandbox, RUN_USER};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Hostile env values: spaces, both quotes, `$`, backslashes, `%`, unicode, a newline.
pub const VALUES: &[(&str, &str)] = &[
    ("SPACES", "a b  c"),
    ("QUOTES", "it's \"quoted\""),
    ("DOLLAR", "$HOME ${PATH} $(id) `id`"),
    ("BACKSLASH", "back\\slash \\n \\\\"),
    ("PERCENT", "100% %s %n %%"),
    ("UNICODE", "héllo wörld ✓ 日本"),
    ("NEWLINE", "line one\nline two\n"),
    ("EMPTY", ""),
];

pub struct Probe {
    pub script: PathBuf,
    pub out: PathBuf,
}

/// Writes a probe script the run user can run, and a directory it can write its records to.
pub fn probe(sandbox: &Sandbox) -> Probe {
    let out = sandbox.path().join("probe-out");
    fs::create_dir_all(&out).unwrap();
    let user = nix::unistd::User::from_name(RUN_USER)
        .unwrap()
        .expect("run user exists");
    std::os::unix::fs::chown(&out, Some(user.uid.as_raw()), Some(user.gid.as_raw())).unwrap();
    let script = sandbox.write(
        "probe.sh",
        format!(
            "#!/bin/sh\nout='{}'\npwd -P > \"$out/cwd\"\necho $$ > \"$out/pid\"\n\
             for a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$out/argv\"\nenv -0 > \"$out/env\"\n\
             echo 'probe stdout'\necho 'probe stderr' >&2\n",
            out.display()
        ),
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    Probe { script, out }
}

/// Runs a helper as the run user, as Upstart would; returns the pid it started with.
fn run_helper(helper: &Path) -> u32 {
    let mut child = as_run_user("sh")
        .arg(helper)
        .spawn()
        .expect("setpriv (util-linux) runs");
    let pid = child.id();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "helper {} failed: {status}",
        helper.display()
    );
    pid
}

pub fn records(probe: &Probe) -> (String, Vec<String>, BTreeMap<String, String>, u32) {
    let read = |name: &str| fs::read(probe.out.join(name)).unwrap();
    let cwd = String::from_utf8(read("cwd"))
        .unwrap()
        .trim_end()
        .to_owned();
    let split = |bytes: Vec<u8>| -> Vec<String> {
        bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8(s.to_vec()).unwrap())
            .collect()
    };
    let argv = split(read("argv"));
    let env = split(read("env"))
        .into_iter()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let pid = String::from_utf8(read("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (cwd, argv, env, pid)
}

pub fn yaml_quote(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

#[test]
fn upstart_helper_delivers_cwd_argv_env_and_log_exactly() {
    require_root();
    let sandbox = Sandbox::live("");
    let probe = probe(&sandbox);
    let workdir = sandbox.path().join("work dir ü 'x'");
    fs::create_dir_all(&workdir).unwrap();
    let mut env = String::new();
    for (key, value) in VALUES {
        writeln!(env, "      {key}: {}", yaml_quote(value)).unwrap();
    }
    let procfile = sandbox.procfile(format!(
        "version: 2\ncommands:\n  web:\n    command: {}\n    working_directory: {}\n    env:\n{env}",
        yaml_quote(&format!("{} plain 'with space' \"dq'sq\"", probe.script.display())),
        yaml_quote(&workdir.display().to_string()),
    ));
    sandbox.export("upstart", &procfile, "myapp").success();
    let helper = sandbox
        .root()
        .join("var/local/upstart_helpers/fb-myapp-web.sh");
    let pid = run_helper(&helper);
    let (cwd, argv, got_env, probe_pid) = records(&probe);
    assert_eq!(cwd, workdir.to_str().unwrap());
    assert_eq!(argv, ["plain", "with space", "dq'sq"]);
    for (key, value) in VALUES {
        assert_eq!(
            got_env.get(*key).map(String::as_str),
            Some(*value),
            "env {key}"
        );
    }
    assert_eq!(
        probe_pid, pid,
        "the command was not exec'd: it has another pid than the helper"
    );
    let log = sandbox.root().join("var/log/fb-myapp/web.log");
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "probe stdout\nprobe stderr\n"
    );
    let run_uid = nix::unistd::User::from_name(RUN_USER)
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    assert_eq!(
        fs::metadata(&log).unwrap().uid(),
        run_uid,
        "the log must be opened by the run user"
    );
}

#[test]
fn v1_helpers_exec_the_last_command_and_keep_env_prefixes() {
    require_root();
    let sandbox = Sandbox::live("");
    let probe = probe(&sandbox);
    fs::create_dir_all(sandbox.path().join("app/sub")).unwrap();
    let script = probe.script.display();
    let procfile = sandbox.procfile(format!(
        "prefixed: FOO='x y' {script} a\nchained: cd sub && BAR=1 {script} b\n"
    ));
    sandbox.export("upstart", &procfile, "myapp").success();
    let helpers = sandbox.root().join("var/local/upstart_helpers");

    let pid = run_helper(&helpers.join("fb-myapp-prefixed.sh"));
    let (cwd, argv, env, probe_pid) = records(&probe);
    assert_eq!(
        (cwd.as_str(), argv, env["FOO"].as_str()),
        (
            sandbox.path().join("app").to_str().unwrap(),
            vec!["a".to_owned()],
            "x y"
        )
    );
    assert_eq!(probe_pid, pid);

    let pid = run_helper(&helpers.join("fb-myapp-chained.sh"));
    let (cwd, argv, env, probe_pid) = records(&probe);
    assert_eq!(
        (cwd.as_str(), argv, env["BAR"].as_str()),
        (
            sandbox.path().join("app/sub").to_str().unwrap(),
            vec!["b".to_owned()],
            "1"
        )
    );
    assert_eq!(probe_pid, pid);
}

/// A working directory removed after the export (a deploy's old release): the helper stops
/// rather than run the command elsewhere. (A missing one at export time is refused by the
/// export itself: see `bad_input`.)
#[test]
fn helper_fails_when_the_working_directory_is_missing() {
    require_root();
    let sandbox = Sandbox::live("");
    let probe = probe(&sandbox);
    let gone = sandbox.path().join("release-1");
    std::fs::create_dir(&gone).unwrap();
    let procfile = sandbox.procfile(format!(
        "version: 2\ncommands:\n  web:\n    command: {}\n    working_directory: {}\n",
        probe.script.display(),
        gone.display()
    ));
    sandbox.export("upstart", &procfile, "myapp").success();
    std::fs::remove_dir(&gone).unwrap();
    let helper = sandbox
        .root()
        .join("var/local/upstart_helpers/fb-myapp-web.sh");
    let status = run(as_run_user("sh").arg(&helper));
    assert_ne!(
        status.code, 0,
        "the helper must stop when it cannot change directory"
    );
    assert!(
        !probe.out.join("pid").exists(),
        "the command ran in the wrong directory"
    );
}
