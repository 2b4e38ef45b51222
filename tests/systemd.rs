//! The systemd backend read back the way systemd reads it. Hostile values go in; the unit and
//! environment file are parsed with the test's own systemd parser (`support::systemd_syntax`,
//! written from the manual pages), cross-checked with systemd's own code (`systemd --test`
//! dumps the unit as the manager loaded it; the environment.d generator reads environment
//! files with the parser `EnvironmentFile=` uses), and the command is run as the run user the
//! way the service would run it: every value must arrive exactly.

use crate::helpers_run::{probe, records, yaml_quote, VALUES};
use crate::support::systemd_syntax::{expand_specifiers, parse_env_file, parse_exec, parse_unit};
use crate::support::{
    check_generated_files, require_root, systemd_verify, Outcome, Sandbox, RUN_USER,
};
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// A value that tries to end its line and add a root command to the unit.
const INJECTION: &str = "a\nExecStartPre=+/bin/sh -c id";
/// The same, also trying to close the quotes around it first.
const QUOTED_INJECTION: &str = "a\"\nExecStartPre=+/bin/sh -c id\n\"";

/// Every directive of a generated service, in order: nothing a value could add.
const SERVICE_KEYS: &[(&str, &str)] = &[
    ("Unit", "Description"),
    ("Unit", "PartOf"),
    ("Unit", "StartLimitIntervalSec"),
    ("Unit", "StartLimitBurst"),
    ("Service", "User"),
    ("Service", "Group"),
    ("Service", "WorkingDirectory"),
    ("Service", "EnvironmentFile"),
    ("Service", "ExecStart"),
    ("Service", "Restart"),
    ("Service", "TimeoutStopSec"),
    ("Service", "KillMode"),
    ("Service", "NoNewPrivileges"),
];

fn export(sandbox: &Sandbox, procfile: &Path, extra: &[&str]) -> Outcome {
    let mut args = vec!["systemd", "-p", procfile.to_str().unwrap(), "-n", "myapp"];
    args.extend(extra);
    sandbox.run(&args)
}

fn read(sandbox: &Sandbox, real: &str) -> String {
    fs::read_to_string(sandbox.host(real)).unwrap()
}

/// The prefix of every live path in a `Sandbox::live` (empty under `--root`).
fn live_root(sandbox: &Sandbox) -> String {
    if sandbox.live {
        sandbox.root().to_str().unwrap().to_owned()
    } else {
        String::new()
    }
}

/// The run user's view of a unit: argv after unquoting and `$$`, working directory, env file.
struct Service {
    keys: Vec<(String, String)>,
    user: String,
    group: String,
    working_directory: String,
    environment_file: String,
    /// The arguments as systemd stores them (`$$` still doubled until it runs the command).
    stored_argv: Vec<String>,
    argv: Vec<String>,
}

fn read_service(text: &str) -> Service {
    let unit = parse_unit(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let exec = parse_exec(unit.value("Service", "ExecStart")).unwrap();
    assert_eq!(exec.prefixes, "", "ExecStart runs with a prefix");
    Service {
        keys: unit.keys(),
        user: expand_specifiers(unit.value("Service", "User")).unwrap(),
        group: expand_specifiers(unit.value("Service", "Group")).unwrap(),
        working_directory: expand_specifiers(unit.value("Service", "WorkingDirectory")).unwrap(),
        environment_file: expand_specifiers(unit.value("Service", "EnvironmentFile")).unwrap(),
        argv: exec.run_time_argv().unwrap(),
        stored_argv: exec.argv,
    }
}

fn expected_keys() -> Vec<(String, String)> {
    SERVICE_KEYS
        .iter()
        .map(|(s, k)| ((*s).to_owned(), (*k).to_owned()))
        .collect()
}

/// The hostile values plus the injection attempts, as the env file must give them back.
fn hostile_env() -> Vec<(String, String)> {
    VALUES
        .iter()
        .map(|(k, v)| (*k, *v))
        .chain([
            ("INJECTION", INJECTION),
            ("QUOTED_INJECTION", QUOTED_INJECTION),
        ])
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn env_yaml(env: &[(String, String)]) -> String {
    let mut yaml = String::new();
    for (key, value) in env {
        yaml.push_str("      ");
        yaml.push_str(key);
        yaml.push_str(": ");
        yaml.push_str(&yaml_quote(value));
        yaml.push('\n');
    }
    yaml
}

/// What `systemd --test` says about `unit` loaded from `dir`: each `Key: value` line of its
/// dump, by key. systemd refuses test mode as root, so it runs as the run user.
fn systemd_dump(dir: &Path, unit: &str) -> BTreeMap<String, Vec<String>> {
    let systemd = ["/lib/systemd/systemd", "/usr/lib/systemd/systemd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("systemd is installed (.ci/run)");
    let output = Command::new("setpriv")
        .args(["--reuid", RUN_USER, "--regid", RUN_USER, "--clear-groups"])
        .args([systemd, "--test", "--system", "--no-pager"])
        .arg(format!("--unit={unit}"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()))
        .env("SYSTEMD_LOG_LEVEL", "err")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "systemd --test failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let header = format!("\t-> Unit {unit}:");
    let mut lines = stdout.lines().skip_while(|l| *l != header).skip(1);
    for line in lines.by_ref().take_while(|l| !l.starts_with("\t-> Unit ")) {
        if let Some((key, value)) = line.trim_start_matches('\t').split_once(": ") {
            fields
                .entry(key.to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }
    assert!(!fields.is_empty(), "{unit} is not in the dump");
    fields
}

/// Splits a command line as systemd prints it (`quote_command_line`): plain words, or
/// double-quoted ones with systemd's C escapes.
fn dumped_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while chars.peek().is_some() {
        let mut word = String::new();
        if chars.next_if(|c| *c == '"').is_some() {
            let mut raw = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => {
                        raw.push(c);
                        raw.push(chars.next().unwrap());
                    }
                    c => raw.push(c),
                }
            }
            word = c_unescape(&raw);
        } else {
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                word.push(c);
            }
        }
        chars.next_if(|c| *c == ' ');
        words.push(word);
    }
    words
}

/// Reads an environment file with systemd's own parser: the environment.d generator loads
/// files with the code `EnvironmentFile=` uses, then expands `$NAME` and `${NAME}` (which
/// `EnvironmentFile=` does not), skips empty values (the keys in `empty`, which it names on
/// stderr) and prints every variable C-escaped in double quotes.
fn systemd_reads_env_file(text: &str, empty: &[&str]) -> BTreeMap<String, String> {
    let home = tempfile::tempdir().unwrap();
    fs::create_dir_all(home.path().join("environment.d")).unwrap();
    fs::write(home.path().join("environment.d/10-app.conf"), text).unwrap();
    let generator = [
        "/lib/systemd/user-environment-generators/30-systemd-environment-d-generator",
        "/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("systemd is installed (.ci/run)");
    let generate = |config_home: &Path| {
        Command::new(generator)
            .env_clear()
            .env("XDG_CONFIG_HOME", config_home)
            .env("HOME", "/nonexistent")
            .output()
            .unwrap()
    };
    // What the system's own environment.d files set, to leave out of the answer.
    let empty_home = tempfile::tempdir().unwrap();
    let baseline = String::from_utf8(generate(empty_home.path()).stdout).unwrap();
    let output = generate(home.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let explained = |line: &str| {
        empty
            .iter()
            .any(|key| line.ends_with(&format!("invalid syntax (around \"{key}\"), ignoring.")))
    };
    assert!(
        output.status.success() && stderr.lines().all(explained),
        "the generator refused the file: {stderr}"
    );
    let mut vars = BTreeMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        if baseline.lines().any(|l| l == line) {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => c_unescape(quoted),
            None => value.to_owned(),
        };
        vars.insert(key.to_owned(), value);
    }
    vars
}

/// Undoes the escapes systemd prints (`cescape`, `shell_maybe_quote`): `\n`-style letters,
/// `\NNN` octal, and a backslash before any other character (`\\`, `\"`, `\$`, ...).
fn c_unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let next = chars.next().unwrap();
        out.push(match next {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            '0'..='7' => {
                let digits: String = [next, chars.next().unwrap(), chars.next().unwrap()]
                    .iter()
                    .collect();
                char::from_u32(u32::from_str_radix(&digits, 8).unwrap()).unwrap()
            }
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            other => other,
        });
    }
    out
}

/// True when the environment.d generator gives this value back unchanged: it expands
/// variables, and skips empty values.
fn generator_keeps(value: &str) -> bool {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$'
            && chars
                .peek()
                .is_some_and(|n| n.is_alphanumeric() || "_{$".contains(*n))
        {
            return false;
        }
    }
    !value.is_empty()
}

/// Checks what the test's parser read against systemd's own reading of the same files.
fn systemd_agrees(sandbox: &Sandbox, service: &Service, env_text: &str, env: &[(String, String)]) {
    let dump = systemd_dump(
        &sandbox.root().join("etc/systemd/system"),
        "fb-myapp-web.service",
    );
    assert_eq!(dump["User"], [service.user.as_str()]);
    assert_eq!(dump["Group"], [service.group.as_str()]);
    assert_eq!(
        dump["WorkingDirectory"],
        [service.working_directory.as_str()]
    );
    assert_eq!(dump["EnvironmentFile"], [service.environment_file.as_str()]);
    assert_eq!(dumped_words(&dump["Command Line"][0]), service.stored_argv);
    let empty: Vec<&str> = env
        .iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k.as_str())
        .collect();
    let by_systemd = systemd_reads_env_file(env_text, &empty);
    for (key, value) in env.iter().filter(|(_, v)| generator_keeps(v)) {
        assert_eq!(
            by_systemd.get(key),
            Some(value),
            "{key} as systemd reads it"
        );
    }
    assert!(!by_systemd.contains_key("ExecStartPre"));
}

/// Runs a service's command as systemd would: as the run user, in its working directory, with
/// the environment file's variables. Returns the pid it started with.
fn run_as_the_service(service: &Service, env: &[(String, String)]) -> u32 {
    let mut child = Command::new("setpriv")
        .args([
            "--reuid",
            &service.user,
            "--regid",
            &service.group,
            "--clear-groups",
        ])
        .args(&service.argv)
        .current_dir(&service.working_directory)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    pid
}

#[test]
fn hostile_values_round_trip_through_the_unit_and_env_file_and_reach_the_job() {
    require_root();
    let sandbox = Sandbox::live("");
    let probe = probe(&sandbox);
    let workdir = sandbox.path().join("work dir ü 'x' 100% $HOME \"q\"");
    fs::create_dir_all(&workdir).unwrap();
    let env = hostile_env();
    let command = format!(
        "{} plain 'with space' \"dq'sq\" '100% %n %%' '$HOME ${{PATH}} $(id) `id`' 'back\\slash \\n' 'ü ✓ 日本' 'tab\there' ''",
        probe.script.display()
    );
    let procfile = sandbox.procfile(format!(
        "version: 2\ncommands:\n  web:\n    command: {}\n    working_directory: {}\n    env:\n{}",
        yaml_quote(&command),
        yaml_quote(workdir.to_str().unwrap()),
        env_yaml(&env)
    ));
    export(&sandbox, &procfile, &["--no-reload"]).success();
    let root = live_root(&sandbox);
    let unit_path = format!("{root}/etc/systemd/system/fb-myapp-web.service");
    let text = read(&sandbox, &unit_path);
    check_generated_files(&sandbox);

    // The unit, read the way systemd reads it.
    let service = read_service(&text);
    assert_eq!(service.keys, expected_keys(), "{text}");
    assert_eq!(
        (service.user.as_str(), service.group.as_str()),
        (RUN_USER, RUN_USER)
    );
    assert_eq!(service.working_directory, workdir.to_str().unwrap());
    let env_file = format!("{root}/etc/procexport/env/fb-myapp-web.env");
    assert_eq!(service.environment_file, env_file);
    assert_eq!(service.argv[..2], ["/bin/sh", "-c"]);
    for (key, _) in &env {
        assert!(!text.contains(key.as_str()), "the unit names {key}: {text}");
    }

    // The environment file, read the way systemd reads it: exactly the values, in order.
    let env_text = read(&sandbox, &env_file);
    assert_eq!(
        crate::support::without_generated(parse_env_file(&env_text).unwrap()),
        crate::support::without_generated(env.clone())
    );

    // systemd's own reading agrees with the test's parser.
    systemd_agrees(&sandbox, &service, &env_text, &env);

    // The command, run as the service would run it.
    let pid = run_as_the_service(&service, &env);
    let (cwd, argv, got_env, probe_pid) = records(&probe);
    assert_eq!(cwd, workdir.to_str().unwrap());
    assert_eq!(
        argv,
        [
            "plain",
            "with space",
            "dq'sq",
            "100% %n %%",
            "$HOME ${PATH} $(id) `id`",
            "back\\slash \\n",
            "ü ✓ 日本",
            "tab\there",
        ]
    );
    for (key, value) in &env {
        assert_eq!(got_env.get(key), Some(value), "env {key}");
    }
    assert_eq!(probe_pid, pid, "the command was not exec'd");
    let log = sandbox.host(&format!("{root}/var/log/fb-myapp/web.log"));
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "probe stdout\nprobe stderr\n"
    );
    let run_uid = nix::unistd::User::from_name(RUN_USER).unwrap().unwrap().uid;
    assert_eq!(
        fs::metadata(&log).unwrap().uid(),
        run_uid.as_raw(),
        "the log must be opened by the run user"
    );
}

#[test]
fn a_newline_in_an_env_value_never_adds_a_directive() {
    require_root();
    let sandbox = Sandbox::new();
    let env = vec![
        ("X".to_owned(), INJECTION.to_owned()),
        ("Y".to_owned(), QUOTED_INJECTION.to_owned()),
    ];
    let procfile = sandbox.procfile(format!(
        "version: 2\ncommands:\n  web:\n    command: bundle exec puma\n    env:\n{}",
        env_yaml(&env)
    ));
    export(&sandbox, &procfile, &[]).success();
    check_generated_files(&sandbox);
    let text = read(&sandbox, "/etc/systemd/system/fb-myapp-web.service");
    assert!(!text.contains("ExecStartPre"), "{text}");
    assert_eq!(read_service(&text).keys, expected_keys());
    let env_text = read(&sandbox, "/etc/procexport/env/fb-myapp-web.env");
    assert_eq!(
        crate::support::without_generated(parse_env_file(&env_text).unwrap()),
        crate::support::without_generated(env.clone())
    );
    let by_systemd = systemd_reads_env_file(&env_text, &[]);
    assert_eq!(
        crate::support::without_generated(by_systemd.into_iter().collect::<Vec<_>>()),
        env,
        "systemd reads exactly X and Y"
    );
}

/// A unit `check_systemd_unit` must fail, and a piece of what `systemd-analyze` says about it.
const BROKEN_UNITS: &[(&str, &str)] = &[
    ("Frobnicate=yes\n", "Unknown key 'Frobnicate'"),
    (
        "Restart=sometimes\n",
        "Failed to parse service restart specifier",
    ),
    (
        "ExecStartPre=/bin/sh -c \"unbalanced\n",
        "Unbalanced quoting",
    ),
    (
        "TimeoutStopSec=soon\n",
        "Failed to parse time value, ignoring: soon",
    ),
    // Exits 0 even with --recursive-errors=no: only the rule "no unexplained line" catches it.
    ("User=nobody\n", "Special user nobody configured"),
];

#[test]
fn the_unit_check_fails_on_a_broken_unit() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        "[Unit]\nDescription=x\n\n[Service]\nUser=pxrun\nExecStart=/bin/sh -c \"exec true\"\n";
    let path = dir.path().join("fb-check.service");
    fs::write(&path, good).unwrap();
    assert_eq!(systemd_verify(&[&path], dir.path()), Ok(()));
    for (line, said) in BROKEN_UNITS {
        fs::write(&path, format!("{good}{line}")).unwrap();
        let problem = systemd_verify(&[&path], dir.path()).expect_err(line);
        assert!(problem.contains(said), "{line}: {problem}");
        let caught = std::panic::catch_unwind(|| {
            crate::support::check_systemd_unit(&path, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        });
        assert!(caught.is_err(), "check_systemd_unit passed {line:?}");
    }
}

#[test]
fn values_systemd_cannot_carry_are_refused_clearly() {
    require_root();
    let cases: &[(&str, i32, &str)] = &[
        (
            "version: 2\nworking_directory: /srv/../etc\ncommands:\n  web:\n    command: a\n",
            2,
            "Procfile:2: working_directory \"/srv/../etc\" may not contain \"..\"",
        ),
        (
            "version: 2\nworking_directory: \"/srv/app \"\ncommands:\n  web:\n    command: a\n",
            2,
            "ends in a space or backslash",
        ),
        (
            "version: 2\nenv:\n  A: \"x\\uFFFE\"\ncommands:\n  web:\n    command: a\n",
            2,
            "noncharacter '\\u{fffe}' is refused by systemd",
        ),
        (
            "version: 2\nstart_on_runlevel: \"[06]\"\ncommands:\n  web:\n    command: a\n",
            2,
            "start_on_runlevel \"[06]\": systemd starts nothing on runlevels 0 and 6",
        ),
    ];
    for (procfile_text, code, message) in cases {
        let sandbox = Sandbox::new();
        let procfile = sandbox.procfile(procfile_text);
        export(&sandbox, &procfile, &[])
            .failure(*code)
            .stderr_has(message);
        assert!(sandbox.snapshot().is_empty(), "{procfile_text}");
    }
}

#[test]
fn daemon_reload_runs_only_for_a_live_change_under_systemd() {
    require_root();
    let procfile_text = "web: bundle exec puma\n";
    // Under --root: skipped, and said why.
    let packaged = Sandbox::new();
    let procfile = packaged.procfile(procfile_text);
    export(&packaged, &procfile, &[])
        .success()
        .stderr_has("did not run systemctl daemon-reload: the files went under --root");
    // Nothing changed: nothing to reload, nothing said.
    let again = export(&packaged, &procfile, &[]).success();
    assert_eq!(again.stderr, "");

    // Live, with --no-reload.
    let live = Sandbox::live("");
    let procfile = live.procfile(procfile_text);
    export(&live, &procfile, &["--no-reload"])
        .success()
        .stderr_has("did not run systemctl daemon-reload: --no-reload was given");

    // Live, asked to reload: where systemd is not PID 1 (CI) it is skipped and said so; on a
    // machine that runs systemd the reload runs and nothing is said. clean does the same.
    let said = |outcome: Outcome| {
        if Path::new("/run/systemd/system").is_dir() {
            assert_eq!(outcome.stderr, "");
        } else {
            assert!(
                outcome.stderr.contains(
                    "did not run systemctl daemon-reload: systemd is not the running init here"
                ),
                "{}",
                outcome.stderr
            );
        }
    };
    live.procfile("web: bundle exec puma -p 5000\n");
    said(export(&live, &procfile, &[]).success());
    said(live.run(&["clean", "-n", "myapp"]).success());
}

#[test]
fn clean_of_the_systemd_backend_removes_the_wants_link_and_nothing_else() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: bundle exec puma\nworker: rake jobs:work\n");
    sandbox.export("upstart", &procfile, "myapp").success();
    export(&sandbox, &procfile, &[]).success();
    let link = "etc/systemd/system/multi-user.target.wants/fb-myapp.target";
    let before = sandbox.snapshot();
    assert!(
        matches!(before.get(link), Some(crate::support::Node::Link { target }) if target == Path::new("/etc/systemd/system/fb-myapp.target")),
        "{:?}",
        before.keys()
    );
    sandbox
        .run(&["clean", "-n", "myapp", "--backend", "systemd"])
        .success();
    let after = sandbox.snapshot();
    let gone: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert_eq!(
        gone,
        [
            "etc/procexport/env/fb-myapp-web.env",
            "etc/procexport/env/fb-myapp-worker.env",
            "etc/systemd/system/fb-myapp-web.service",
            "etc/systemd/system/fb-myapp-worker.service",
            "etc/systemd/system/fb-myapp.target",
            link,
            "var/lib/procexport/systemd/fb-myapp.manifest",
        ]
    );
    assert!(after.keys().all(|k| before.contains_key(k)));
    assert!(
        after.contains_key("etc/init/fb-myapp-web.conf"),
        "upstart's files stay"
    );
}

#[test]
fn a_new_start_runlevel_moves_the_wants_link() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("version: 2\ncommands:\n  web:\n    command: a\n");
    export(&sandbox, &procfile, &[]).success();
    sandbox.procfile(
        "version: 2\nstart_on_runlevel: \"[!2345]\"\nstop_on_runlevel: \"[2345]\"\ncommands:\n  web:\n    command: a\n",
    );
    export(&sandbox, &procfile, &[]).success();
    let tree = sandbox.snapshot();
    let links: Vec<&String> = tree
        .iter()
        .filter(|(_, n)| matches!(n, crate::support::Node::Link { .. }))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        links,
        ["etc/systemd/system/rescue.target.wants/fb-myapp.target"]
    );
    let target = read(&sandbox, "/etc/systemd/system/fb-myapp.target");
    assert!(target.contains("WantedBy=rescue.target\n") && !target.contains("Conflicts="));
}

#[test]
fn journal_logging_leaves_the_output_to_systemd() {
    require_root();
    let sandbox = Sandbox::with_config("systemd_log: journal\n");
    let procfile = sandbox.procfile("web: bundle exec puma\n");
    export(&sandbox, &procfile, &[]).success();
    check_generated_files(&sandbox);
    let text = read(&sandbox, "/etc/systemd/system/fb-myapp-web.service");
    let unit = parse_unit(&text).unwrap();
    assert_eq!(unit.value("Service", "SyslogIdentifier"), "fb-myapp-web");
    let argv = parse_exec(unit.value("Service", "ExecStart"))
        .unwrap()
        .run_time_argv()
        .unwrap();
    assert_eq!(
        argv,
        [
            "/bin/sh",
            "-c",
            "if [ -r /etc/profile.d/rbenv.sh ]; then . /etc/profile.d/rbenv.sh; fi; exec bundle exec puma"
        ]
    );
    assert!(!unit.keys().iter().any(|(_, k)| k.starts_with("Standard")));
    let wrong = Sandbox::with_config("systemd_log: syslog\n");
    let procfile = wrong.procfile("web: a\n");
    export(&wrong, &procfile, &[])
        .failure(2)
        .stderr_has("systemd_log \"syslog\" is not one of: file, journal");
}

#[test]
fn dry_run_shows_the_link_and_the_env_file_owner() {
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: bundle exec puma\n");
    let outcome = sandbox
        .run(&[
            "--dry-run",
            "systemd",
            "-p",
            procfile.to_str().unwrap(),
            "-n",
            "myapp",
        ])
        .success();
    for line in [
        "=== create /etc/systemd/system/multi-user.target.wants/fb-myapp.target (symlink to /etc/systemd/system/fb-myapp.target)",
        "=== create /etc/procexport/env/fb-myapp-web.env (file, mode 0640, owner root:pxrun)",
        "=== create /etc/systemd/system/fb-myapp-web.service (file, mode 0644, owner root:root)",
    ] {
        assert!(outcome.stdout.contains(line), "{}", outcome.stdout);
    }
    assert!(sandbox.snapshot().is_empty());
}
