//! OpenRC for real, without taking over this machine's init: each test runs a scenario script
//! under `unshare --mount`, which puts a private tmpfs on /run/openrc (OpenRC's state, with the
//! `softlevel` that tells openrc-run OpenRC booted) and binds the sandbox's `openrc_dir` on
//! /etc/init.d, both visible to that namespace only; then openrc-run (Debian's `openrc`) starts,
//! checks and stops the app's services, with supervise-daemon supervising them. What the
//! script saw is printed and checked here.

use crate::helpers_run::{yaml_quote, VALUES};
use crate::support::{require_root, Sandbox, RUN_USER};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

/// Runs `steps` (shell) in a private mount namespace set up for openrc-run; what it printed.
fn in_openrc(sandbox: &Sandbox, app: &str, steps: &str) -> String {
    let init_d = sandbox.root().join("etc/openrc/init.d");
    let script = format!(
        "set -u\nmount -t tmpfs tmpfs /run/openrc\n\
         for d in daemons exclusive failed hotplugged inactive options scheduled started starting stopping tmp wasinactive; do mkdir -p /run/openrc/$d; done\n\
         touch /run/openrc/softlevel\nmount --bind '{}' /etc/init.d\n\
         child_of() {{ pgrep -P \"$(pgrep -f \"^supervise-daemon $1 \")\"; }}\n{steps}\n\
         /etc/init.d/fb-{app} stop >/dev/null 2>&1\n",
        init_d.display()
    );
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("unshare runs (util-linux)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn services_run_as_the_run_user_with_env_cwd_logs_restart_and_stop() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = sandbox.path().join("work dir ü 'x' 100% ;y #z");
    fs::create_dir_all(&work).unwrap();
    let mut env = String::new();
    for (key, value) in VALUES {
        writeln!(env, "  {key}: {}", yaml_quote(value)).unwrap();
    }
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\nenv:\n{env}commands:\n  web:\n    command: echo web up; exec sleep 1000\n  once:\n    command: echo ran; exec sleep 1001\n    respawn: false\n",
        yaml_quote(work.to_str().unwrap()),
    ));
    sandbox.export("openrc", &procfile, "orcone").success();
    let said = in_openrc(
        &sandbox,
        "orcone",
        "/etc/init.d/fb-orcone start; echo \"start=$?\"\nsleep 2\n\
         web=$(child_of fb-orcone-web)\necho \"uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' /proc/$web/status)\"\n\
         echo \"cwd=$(readlink /proc/$web/cwd)\"\ntr '\\0' '\\n' < /proc/$web/environ | grep -c '^SPACES=a b  c$' | sed 's/^/spaces=/'\n\
         once=$(cat /run/fb-orcone-once.pid)\necho \"once=$(cat /proc/$once/comm)\"\n\
         /etc/init.d/fb-orcone-web status; echo \"status=$?\"\n\
         kill -KILL $web; sleep 3\nagain=$(child_of fb-orcone-web)\n[ -n \"$again\" ] && [ \"$again\" != \"$web\" ] && echo restarted\n\
         /etc/init.d/fb-orcone stop; echo \"stop=$?\"\nsleep 1\n\
         for p in $again $once; do [ -e /proc/$p ] && grep -q '^State:.[^Z]' /proc/$p/status && echo \"alive=$p\"; done\necho checked\n\
         /etc/init.d/fb-orcone-web status; echo \"status_after=$?\"\n",
    );
    let user = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap();
    let uid = user.uid.as_raw();
    for want in [
        "start=0".to_owned(),
        format!("uid={uid}{uid}{uid}{uid}"),
        format!("cwd={}", work.display()),
        "spaces=1".to_owned(),
        "once=sleep".to_owned(),
        "status=0".to_owned(),
        "restarted".to_owned(),
        "stop=0".to_owned(),
        "checked".to_owned(),
        "status_after=3".to_owned(),
    ] {
        assert!(said.lines().any(|l| l == want), "no {want:?} in:\n{said}");
    }
    let log = sandbox.root().join("var/log/fb-orcone/web.log");
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("web up\n").count(), 2, "{text}");
    assert_eq!(fs::metadata(&log).unwrap().uid(), uid);
    assert!(!said.contains("alive="), "{said}");
}

#[test]
fn stop_sends_kill_after_the_kill_timeout() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile(
        "version: 2\nkill_timeout: 2\ncommands:\n  stubborn:\n    command: trap '' TERM; exec sleep 1002\n",
    );
    sandbox.export("openrc", &procfile, "orctwo").success();
    let said = in_openrc(
        &sandbox,
        "orctwo",
        "/etc/init.d/fb-orctwo start; sleep 1\nsh_pid=$(child_of fb-orctwo-stubborn)\nstart=$(date +%s)\n/etc/init.d/fb-orctwo stop; echo \"stop=$?\"\n\
         echo \"took=$(( $(date +%s) - start ))\"\n[ -e /proc/$sh_pid ] && grep -q '^State:.[^Z]' /proc/$sh_pid/status || echo gone\n",
    );
    assert!(said.lines().any(|l| l == "stop=0"), "{said}");
    assert!(said.lines().any(|l| l == "gone"), "{said}");
    let took: u64 = said
        .lines()
        .find_map(|l| l.strip_prefix("took="))
        .unwrap()
        .parse()
        .unwrap();
    assert!((2..10).contains(&took), "stop took {took} s:\n{said}");
}

/// The lifecycle through procexport inside the namespace (where OpenRC counts as booted):
/// start (pids), status, a shrinking export (the dropped service's process gone), restart (a
/// new pid), clean (no process left).
#[test]
fn start_status_drop_restart_and_clean_through_procexport() {
    require_root();
    let sandbox = Sandbox::live("");
    let procfile = sandbox.procfile("web: exec sleep 1000\nclock: exec sleep 1001\n");
    let shrunk = sandbox.write("app2/Procfile", "web: exec sleep 1000\n");
    sandbox.export("openrc", &procfile, "orcthree").success();
    let px = format!(
        "'{}' --config '{}'",
        crate::support::bin().display(),
        sandbox.config_path().display()
    );
    let alive = "[ -e /proc/$p ] && grep -q '^State:.[^Z]' /proc/$p/status";
    let said = in_openrc(
        &sandbox,
        "orcthree",
        &format!(
            "{px} start -n orcthree; echo \"start=$?\"\nsleep 1\n\
             web=$(child_of fb-orcthree-web); clock=$(child_of fb-orcthree-clock)\n\
             echo \"pids web=$web clock=$clock\"\n\
             {px} status -n orcthree | sed 's/^/status1 /'\n\
             {px} openrc -p '{}' -n orcthree; echo \"shrink=$?\"\n\
             p=$clock; {alive} && echo \"alive=clock\"\n\
             p=$web; {alive} && echo \"web_kept\"\n\
             {px} restart -n orcthree; echo \"restart=$?\"\nsleep 1\n\
             web2=$(child_of fb-orcthree-web); echo \"pids web2=$web2\"\n\
             [ -n \"$web2\" ] && [ \"$web2\" != \"$web\" ] && echo restarted\n\
             {px} status -n orcthree | sed 's/^/status2 /'\n\
             {px} clean -n orcthree --backend openrc; echo \"clean=$?\"\nsleep 1\n\
             for p in $web $web2 $clock; do {alive} && echo \"alive=$p\"; done\necho checked\n",
            shrunk.display()
        ),
    );
    eprintln!("{said}");
    for want in [
        "start=0",
        "shrink=0",
        "web_kept",
        "restart=0",
        "restarted",
        "clean=0",
        "checked",
    ] {
        assert!(said.lines().any(|l| l == want), "no {want:?} in:\n{said}");
    }
    assert!(!said.contains("alive="), "{said}");
    let status = |tag: &str| -> Vec<String> {
        said.lines()
            .filter_map(|l| l.strip_prefix(tag))
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        status("status1 ")[1..],
        [
            "fb-orcthree openrc active",
            "fb-orcthree-clock openrc active",
            "fb-orcthree-web openrc active"
        ],
        "{said}"
    );
    assert_eq!(
        status("status2 ")[1..],
        ["fb-orcthree openrc active", "fb-orcthree-web openrc active"],
        "{said}"
    );
}

/// init-exporter's keys, carried by OpenRC: the limits (soft and hard, set by prlimit as root
/// in start_pre, kept by the run user's process), the pre command as the run user before the
/// command, and the kill signal in `retry`. The limits are below this machine's hard limits:
/// a test root without CAP_SYS_RESOURCE (a container) cannot raise them.
#[test]
fn limits_pre_and_kill_signal_are_carried() {
    require_root();
    let sandbox = Sandbox::live("");
    let work = crate::support::live::run_users_dir(&sandbox);
    let (uid, _) = crate::support::live::run_user();
    let procfile = sandbox.procfile(format!(
        "version: 2\nworking_directory: {}\ncommands:\n  web:\n    pre: id -u > pre.uid\n    command: trap 'echo quit > quit.got; exit 0' QUIT; echo up > up.got; while :; do sleep 1; done\n    limits: {{nofile: 4321, nproc: 321, memlock: 65536}}\n    kill_signal: SIGQUIT\n    respawn: {{count: 5, interval: 10, delay: 2}}\n",
        yaml_quote(work.to_str().unwrap()),
    ));
    sandbox.export("openrc", &procfile, "orcfour").success();
    // The stop goes only once the command has set its trap (it writes up.got after it).
    let said = in_openrc(
        &sandbox,
        "orcfour",
        &format!(
            "/etc/init.d/fb-orcfour start; echo \"start=$?\"\nsleep 2\n\
             web=$(child_of fb-orcfour-web)\necho \"uid=$(awk '/^Uid:/ {{print $2}}' /proc/$web/status)\"\n\
             awk '/^Max open files/ {{print \"nofile=\" $4 \":\" $5}} /^Max processes/ {{print \"nproc=\" $3 \":\" $4}} /^Max locked memory/ {{print \"memlock=\" $4 \":\" $5}}' /proc/$web/limits\n\
             for i in $(seq 100); do [ -s '{up}' ] && break; sleep 0.1; done\n\
             [ -s '{up}' ] || echo 'the command wrote no up.got in 10 s: its trap may not be set'\n\
             /etc/init.d/fb-orcfour stop; echo \"stop=$?\"\nsleep 1\n",
            up = work.join("up.got").display(),
        ),
    );
    for want in [
        "start=0".to_owned(),
        format!("uid={uid}"),
        "nofile=4321:4321".to_owned(),
        "nproc=321:321".to_owned(),
        "memlock=65536:65536".to_owned(),
        "stop=0".to_owned(),
    ] {
        assert!(said.lines().any(|l| l == want), "no {want:?} in:\n{said}");
    }
    assert_eq!(
        crate::support::live::wait_for_line(&work.join("pre.uid")),
        uid.to_string()
    );
    assert_eq!(fs::metadata(work.join("pre.uid")).unwrap().uid(), uid);
    assert_eq!(
        fs::read_to_string(work.join("quit.got")).unwrap_or_default(),
        "quit\n",
        "{said}"
    );
}
