//! Bad input, one test each: a clear message naming the file and line where there is one,
//! exit status 2, nothing written, and an earlier export of the same app left byte-identical.

use crate::support::{require_root, Sandbox, BACKENDS};
use pretty_assertions::assert_eq;
use std::path::PathBuf;

const GOOD: &str = "web: bundle exec puma\nworker: rake jobs:work\n";

#[derive(Clone, Copy)]
enum Bad {
    /// This Procfile in place of the good one.
    Procfile(&'static [u8]),
    /// The good Procfile, exported under this app name.
    App(&'static str),
    /// These lines added to the config.
    Config(&'static str),
    /// The Procfile path is this (relative to the sandbox), made by the closure.
    Path(fn(&Sandbox) -> PathBuf),
    /// The good Procfile, exported with these arguments added.
    Args(&'static [&'static str]),
    /// The good Procfile, with this `.env` beside it.
    DotEnv(&'static [u8]),
}

fn refused(bad: Bad, expected: &str) {
    require_root();
    for backend in BACKENDS {
        let sandbox = Sandbox::new();
        let good = sandbox.procfile(GOOD);
        sandbox.export(backend, &good, "myapp").success();
        let before = sandbox.snapshot();
        let (procfile, app) = match bad {
            Bad::Procfile(bytes) => (sandbox.write("app/Procfile", bytes), "myapp"),
            Bad::App(app) => (good.clone(), app),
            Bad::Config(lines) if lines.contains("run_user:") => {
                sandbox.write_config(&format!("run_group: pxrun\n{lines}"));
                (good.clone(), "myapp")
            }
            Bad::Config(lines) => {
                sandbox.write_config(&format!("run_user: pxrun\nrun_group: pxrun\n{lines}"));
                (good.clone(), "myapp")
            }
            Bad::Path(make) => (make(&sandbox), "myapp"),
            Bad::Args(_) => (good.clone(), "myapp"),
            Bad::DotEnv(bytes) => {
                sandbox.write("app/.env", bytes);
                (good.clone(), "myapp")
            }
        };
        let extra: &[&str] = match bad {
            Bad::Args(args) => args,
            Bad::Procfile(_) | Bad::App(_) | Bad::Config(_) | Bad::Path(_) | Bad::DotEnv(_) => &[],
        };
        let mut args = vec![backend, "-p", procfile.to_str().unwrap(), "-n", app];
        args.extend(extra);
        let outcome = sandbox.run(&args).failure(2);
        let stderr = outcome
            .stderr
            .replace(sandbox.path().to_str().unwrap(), "SANDBOX");
        assert!(
            stderr.contains(expected),
            "{backend}: stderr {stderr:?} lacks {expected:?}"
        );
        assert_eq!(
            sandbox.snapshot(),
            before,
            "{backend}: the earlier export changed"
        );
    }
}

macro_rules! bad_input {
    ($($name:ident: $bad:expr => $expected:expr;)*) => {
        $(
            #[test]
            fn $name() {
                refused($bad, $expected);
            }
        )*
    };
}

const LABEL_RULE: &str = "may only contain ASCII letters, digits, \"_\" and \"-\"";

bad_input! {
    label_with_leading_dash: Bad::Procfile(b"web: a\n-web: b\n") => "SANDBOX/app/Procfile:2:1: label \"-web\" must start with an ASCII letter or digit";
    label_with_dot: Bad::Procfile(b"web: a\nweb.1: b\n") => "SANDBOX/app/Procfile:2:1: label \"web.1\" may only contain ASCII letters, digits, \"_\" and \"-\", not \".\"";
    label_with_backtick: Bad::Procfile(b"a`id`: x\n") => "Procfile:1:1: label \"a`id`\" may only contain";
    label_with_command_substitution: Bad::Procfile(b"$(id): x\n") => "Procfile:1:1: label \"$(id)\" may only contain";
    label_with_dot_dot: Bad::Procfile(b"..: x\n") => "Procfile:1:1: label \"..\" may only contain";
    label_with_slash: Bad::Procfile(b"a/b: x\n") => "Procfile:1:1: label \"a/b\" may only contain";
    label_with_space: Bad::Procfile(b"a b: x\n") => "Procfile:1:1: label \"a b\" may only contain";
    label_with_unicode: Bad::Procfile("w\u{e9}b: x\n".as_bytes()) => "Procfile:1:1: label \"w\u{e9}b\" may only contain";
    label_empty: Bad::Procfile(b"web: a\n: x\n") => "Procfile:2:1: label is empty";
    v2_label_with_backtick: Bad::Procfile(b"version: 2\ncommands:\n  \"a`id`\":\n    command: x\n") => "Procfile:3: label \"a`id`\" may only contain";
    app_with_leading_underscore: Bad::App("_my-app") => "app name \"_my-app\" must start with an ASCII letter or digit";
    app_with_backtick: Bad::App("a`id`") => LABEL_RULE;
    app_with_command_substitution: Bad::App("$(id)") => LABEL_RULE;
    app_with_dot_dot: Bad::App("..") => LABEL_RULE;
    app_with_slash: Bad::App("a/b") => LABEL_RULE;
    app_with_space: Bad::App("a b") => LABEL_RULE;
    app_with_unicode: Bad::App("\u{e9}") => LABEL_RULE;
    app_empty: Bad::App("") => "app name is empty";
    label_collides_with_count_instance: Bad::Procfile(b"version: 2\ncommands:\n  worker_1:\n    command: a\n  worker:\n    command: b\n    count: 2\n") => "Procfile:7: job name \"worker_1\" is made twice: by the label on line 3 and by an instance of a label with count 2 (line 7); rename one of the labels";
    count_not_integer: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    count: two\n") => "Procfile:5: commands.web.count: invalid type: string \"two\", expected a whole number written in digits, such as 2";
    count_fraction: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    count: 1.5\n") => "Procfile:5: commands.web.count: invalid type: floating point `1.5`, expected a whole number written in digits, such as 2";
    count_zero_everywhere: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    count: 0\n") => "Procfile: nothing to install: every process type was skipped (count 0, or the release phase); give one a count of 1 or more (-m TYPE=1)";
    only_release: Bad::Procfile(b"release: rake db:migrate\n") => "Procfile: nothing to install";
    version_3: Bad::Procfile(b"version: 3\nweb: a\n") => "Procfile:1: version \"3\" is not a Procfile version procexport reads: write \"version: 2\"";
    yaml_without_version: Bad::Procfile(b"commands:\n  web:\n    command: a\n") => "Procfile:1: \"commands\" starts a YAML mapping: a v2 (YAML) Procfile needs \"version: 2\" as its first line";
    v1_line_continuation: Bad::Procfile(b"web: puma \\\n  -p 5000\n") => "Procfile:1: the line ends with \"\\\": a v1 Procfile entry cannot continue on the next line; join the lines into one";
    tab_in_yaml: Bad::Procfile(b"version: 2\ncommands:\n\tweb: a\n") => "Procfile:3:1: the line is indented with a tab; YAML indents with spaces only: replace the tab with spaces";
    port_out_of_range: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    port: 0\n") => "Procfile:5: port 0 is out of range (1 to 65535)";
    dotenv_bad_line: Bad::Path(|s| { s.write("app/.env", "A=1\nnot an assignment\n"); s.procfile(GOOD) }) => "SANDBOX/app/.env:2: line \"not an assignment\" is not a \"KEY=value\" assignment";
    dotenv_bad_port: Bad::Path(|s| { s.write("app/.env", "PORT=http\n"); s.procfile(GOOD) }) => "SANDBOX/app/.env: PORT \"http\" is not a port number";
    count_too_large: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    count: 100000\n") => "Procfile:5: count 100000 is out of range (0 to 1000)";
    kill_timeout_negative: Bad::Procfile(b"version: 2\nkill_timeout: -1\ncommands:\n  web:\n    command: a\n") => "Procfile:2: kill_timeout -1 is out of range (1 to 86400)";
    kill_timeout_not_integer: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    kill_timeout: 30s\n") => "Procfile:5: commands.web.kill_timeout: invalid type: string \"30s\", expected a whole number written in digits, such as 2";
    kill_timeout_huge: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    kill_timeout: 99999999999999999999\n") => "Procfile:5:";
    respawn_count_not_integer: Bad::Procfile(b"version: 2\nrespawn: {count: many, interval: 10}\ncommands:\n  web:\n    command: a\n") => "Procfile:2:";
    respawn_interval_out_of_range: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    respawn:\n      count: 5\n      interval: 0\n") => "Procfile:5: respawn 0 is out of range (1 to 86400): respawn interval";
    runlevel_malformed: Bad::Procfile(b"version: 2\nstart_on_runlevel: \"[23\"\ncommands:\n  web:\n    command: a\n") => "Procfile:2: start_on_runlevel \"[23\" is not a runlevel set";
    runlevel_malformed_in_config: Bad::Config("stop_on_runlevel: \"[2x]\"\n") => "config.yaml:3: stop_on_runlevel \"[2x]\" is not a runlevel set";
    unknown_top_key_v2: Bad::Procfile(b"version: 2\ndepend: redis\ncommands:\n  web:\n    command: a\n") => "Procfile:2: unknown key \"depend\"";
    unknown_command_key_v2: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    stop_signal: QUIT\n") => "Procfile:5: commands.web: unknown field `stop_signal`";
    limit_above_the_policy: Bad::Procfile(b"version: 2\nlimits:\n  nofile: 10241\ncommands:\n  web:\n    command: a\n") => "Procfile:2: limits.nofile 10241 is above the most the admin allows, 10240 (policy.max_limits.nofile in /etc/procexport.yaml): lower it, or ask the admin to raise policy.max_limits.nofile";
    limit_unlimited_above_the_policy: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    limits: {nproc: -1}\n") => "Procfile:5: limits.nproc -1 (unlimited) is above the most the admin allows, 10240 (policy.max_limits.nproc in /etc/procexport.yaml)";
    memlock_raised_without_the_policy: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    limits: {memlock: 65537}\n") => "Procfile:5: limits.memlock 65537 is above the most the admin allows, 65536 (policy.max_limits.memlock";
    limit_above_the_configured_policy: Bad::Path(|s| { s.write_config("run_user: pxrun\nrun_group: pxrun\npolicy: {max_limits: {nofile: 100}}\n"); s.write("app/Procfile", "version: 2\ncommands:\n  web:\n    command: a\n    limits: {nofile: 101}\n") }) => "Procfile:5: limits.nofile 101 is above the most the admin allows, 100";
    limit_negative: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    limits: {nofile: -2}\n") => "Procfile:5: limits.nofile -2 is out of range: write a whole number from 0 to 1099511627776, or -1 for unlimited";
    depends_outside_the_policy: Bad::Procfile(b"version: 2\ndepends: ssh\ncommands:\n  web:\n    command: a\n") => "Procfile:2: depends names \"ssh.service\", which the admin does not allow an app to depend on: remove it, or ask the admin to add it to policy.depends in /etc/procexport.yaml";
    depends_on_a_target_outside_the_policy: Bad::Path(|s| { s.write_config("run_user: pxrun\nrun_group: pxrun\npolicy: {depends: [postgresql]}\n"); s.write("app/Procfile", "version: 2\ndepends: postgresql rescue.target\ncommands:\n  web:\n    command: a\n") }) => "Procfile:2: depends names \"rescue.target\", which the admin does not allow";
    depends_not_a_unit_name: Bad::Procfile(b"version: 2\ndepends: \"redis $(id)\"\ncommands:\n  web:\n    command: a\n") => "Procfile:2: depends \"$(id)\" is not a unit name (\"$\" is not allowed): write names such as postgresql or redis-server.service";
    device_outside_the_policy: Bad::Procfile(b"version: 2\nstart_on_device: eth0\ncommands:\n  web:\n    command: a\n") => "Procfile:2: start_on_device names \"eth0\", which the admin does not allow an app to wait for: remove it, or ask the admin to add it to policy.devices in /etc/procexport.yaml";
    policy_not_a_mapping: Bad::Config("policy: [nofile]\n") => "config.yaml:3: policy: invalid type: sequence, expected a mapping with max_limits, depends and devices";
    policy_limit_out_of_range: Bad::Config("policy: {max_limits: {nproc: -7}}\n") => "config.yaml:3: policy.max_limits.nproc -7 is out of range";
    kill_signal_unknown: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    kill_signal: SIGTERM; reboot\n") => "Procfile:5: kill_signal \"SIGTERM; reboot\" is not a signal procexport knows: write one of SIGHUP";
    kill_mode_unknown: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    kill_mode: everything\n") => "Procfile:5: kill_mode \"everything\" is not a kill mode: write control-group, mixed, process or none";
    pre_with_a_newline: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    pre: \"true\\nExecStart=/bin/id\"\n") => "Procfile:5: command \"true\\nExecStart=/bin/id\" contains the control character \"\\n\"";
    respawn_delay_zero: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    respawn: {count: 5, interval: 10, delay: 0}\n") => "Procfile:5: respawn 0 is out of range (1 to 86400): respawn delay, in seconds";
    resource_weight_out_of_range: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    resources: {cpu_weight: 20000}\n") => "Procfile:5: resources.cpu_weight \"20000\" is not a weight: write a whole number from 1 to 10000";
    resource_size_unknown_unit: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    resources: {memory_max: 8Gb}\n") => "Procfile:5: resources.memory_max \"8Gb\" is not a size: write a whole number with an optional K, M, G or T, such as 512M";
    resource_device_outside_dev: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    resources: {io_read_bandwidth_max: /etc/shadow 1M}\n") => "Procfile:5: resources.io_read_bandwidth_max \"/etc/shadow 1M\": \"/etc/shadow\" is not a device path under /dev/";
    resource_ip_list_with_a_directive: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    resources: {ip_address_deny: \"any\\nUser=root\"}\n") => "Procfile:5: resources.ip_address_deny: \"User=root\" is not an IP address or prefix";
    resource_unknown: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    resources: {cpu_shares: 5}\n") => "Procfile:5: commands.web.resources: unknown field `cpu_shares`";
    env_file_outside_the_working_directory: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    env_file: ../../../etc/shadow\n") => "Procfile:5: env_file \"../../../etc/shadow\" may not contain \"..\"";
    env_file_missing: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    env_file: shared/none.env\n") => "SANDBOX/app/shared/none.env: no such file";
    env_file_bad_line: Bad::Path(|s| { s.write("app/shared/app.env", "not an assignment\n"); s.write("app/Procfile", "version: 2\ncommands:\n  web:\n    command: a\n    env_file: shared/app.env\n") }) => "SANDBOX/app/shared/app.env:1: line \"not an assignment\" is not a \"KEY=value\" assignment";
    env_file_beyond_max_env_files: Bad::Path(|s| { s.write("app/shared/app.env", "A=1\n"); s.write_config("run_user: pxrun\nrun_group: pxrun\nmax_env_files: 1\n"); s.write("app/.env", "B=2\n"); s.write("app/Procfile", "version: 2\ncommands:\n  web:\n    command: a\n    env_file: shared/app.env\n") }) => "the Procfile's env_files and the .env files come to 2 files; the config allows at most 1 per export (max_env_files)";
    env_file_beyond_max_env_bytes: Bad::Path(|s| { s.write("app/shared/app.env", "A=123456789\n"); s.write_config("run_user: pxrun\nrun_group: pxrun\nmax_env_bytes: 8\n"); s.write("app/Procfile", "version: 2\ncommands:\n  web:\n    command: a\n    env_file: shared/app.env\n") }) => "SANDBOX/app/shared/app.env: the .env files come to more than 0 KiB with this one; the config allows at most 0 KiB in all (max_env_bytes)";
    unknown_config_key: Bad::Config("run_usr: x\n") => "config.yaml:3: unknown config key \"run_usr\" (did you mean run_user?)";
    control_character_in_command: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: \"a\\x07b\"\n") => "Procfile:4: command \"a\\u{7}b\" contains the control character";
    newline_in_command: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: \"a\\nstart on startup\"\n") => "Procfile:4: command \"a\\nstart on startup\" contains the control character \"\\n\"";
    carriage_return_in_v1_command: Bad::Procfile(b"web: a\rexec id\n") => "Procfile:1:6: command \"a\\rexec id\" contains the control character \"\\r\"";
    newline_in_working_directory: Bad::Procfile(b"version: 2\nworking_directory: \"/srv\\nrespawn\"\ncommands:\n  web:\n    command: a\n") => "Procfile:2: working_directory \"/srv\\nrespawn\" contains the control character";
    control_character_in_log: Bad::Procfile(b"version: 2\ncommands:\n  web:\n    command: a\n    log: \"/var/log/x\\r.log\"\n") => "Procfile:5: log \"/var/log/x\\r.log\" contains the control character";
    newline_in_config_helper_dir: Bad::Config("helper_dir: \"/var/x\\nstart on startup\"\n") => "config.yaml:3: helper_dir \"/var/x\\nstart on startup\" contains the control character";
    newline_in_config_run_user: Bad::Config("run_user: \"pxrun\\nexec id\"\n") => "run_user \"pxrun\\nexec id\" is not a valid user or group name";
    generated_name_too_long: Bad::Path(|s| s.write("app/Procfile", format!("{}: x\n", "a".repeat(250)))) => "Procfile:1: generated name \"fb-myapp-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... is 259 bytes; with its suffix it must fit in a 255-byte file name";
    missing_file: Bad::Path(|s| s.path().join("app/NoSuchProcfile")) => "NoSuchProcfile: no such file";
    directory: Bad::Path(|s| { let d = s.path().join("app/dir"); std::fs::create_dir_all(&d).unwrap(); d }) => "app/dir: is a directory, not a regular file";
    non_utf8: Bad::Procfile(b"web: a\nworker: caf\xe9\n") => "Procfile:2: line is not valid UTF-8";
    utf16: Bad::Procfile(b"\xff\xfew\0e\0b\0:\0 \0x\0") => "Procfile:1: file is UTF-16 encoded";
    invalid_yaml: Bad::Procfile(b"version: 2\ncommands:\n  web:\n\tcommand: a\n") => "Procfile:4:";
    duplicate_label: Bad::Procfile(b"web: a\nworker: b\nweb: c\n") => "Procfile:3: label \"web\" is already defined on line 1";
    not_an_entry: Bad::Procfile(b"web: a\n<<<<<<< HEAD\n") => "Procfile:2:1: line \"<<<<<<< HEAD\" is not a \"label: command\" entry";
    empty_command: Bad::Procfile(b"web:\n") => "Procfile:1:5: label \"web\" has no command";
    nesting_too_deep: Bad::Procfile(b"version: 2\nenv: {A: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}\ncommands:\n  web:\n    command: a\n") => "Procfile:2: collections nest more than 16 levels deep here";
    too_many_jobs: Bad::Procfile(b"version: 2\ncommands:\n  a:\n    command: x\n    count: 1000\n  b:\n    command: x\n    count: 1000\n  c:\n    command: x\n    count: 1\n") => "the Procfile makes 2001 jobs (counting every `count` instance); the config allows at most 2000 per app (max_jobs)";
    too_many_jobs_for_the_config: Bad::Config("max_jobs: 1\n") => "the Procfile makes 2 jobs (counting every `count` instance); the config allows at most 1 per app (max_jobs)";
    too_many_bytes_for_the_config: Bad::Config("max_rendered_bytes: 4096\n") => "KiB per app (max_rendered_bytes)";
    app_name_too_long: Bad::App("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") => "app name \"aaaaaaaaaaaaaaaaaaaa\"... is 105 bytes; it may have at most 100";
    max_jobs_out_of_range: Bad::Config("max_jobs: 0\n") => "config.yaml:3: max_jobs 0 is out of range (1 to 100000)";
    port_zero: Bad::Args(&["--port", "0"]) => "0 is not a port a job can be reached on: give the first port of the app, from 1 to 65535, such as --port 5000";
    port_zero_in_dotenv: Bad::DotEnv(b"PORT=0\n") => "app/.env: PORT \"0\" is not a port number (1 to 65535)";
    formation_names_a_type_twice: Bad::Args(&["-m", "web=1,web=2"]) => "\"web\" is given twice: name each process type once, with the count you want (for example web=2)";
    formation_names_all_twice: Bad::Args(&["-m", "all=1,worker=0,all=2"]) => "\"all\" is given twice";
    too_many_env_files: Bad::Args(&["-e", "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32"]) => "33 .env files are given (-e); the config allows at most 32 per export (max_env_files): merge them into fewer files, or raise max_env_files";
    max_env_bytes_out_of_range: Bad::Config("max_env_bytes: 0\n") => "config.yaml:3: max_env_bytes 0 is out of range (1 to 1073741824)";
}

/// Preflight against the live system (no `--root`): a job that could not start is refused
/// before anything is written, naming the path and the user.
fn refused_live(procfile: &str, expected: &str) {
    require_root();
    for backend in BACKENDS {
        let sandbox = Sandbox::live("");
        let locked = sandbox.path().join("locked");
        std::fs::create_dir_all(locked.join("inside")).unwrap();
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let text = procfile.replace("SANDBOX", sandbox.path().to_str().unwrap());
        let path = sandbox.procfile(text);
        let before = sandbox.snapshot();
        let outcome = sandbox.export(backend, &path, "myapp").failure(2);
        let stderr = outcome
            .stderr
            .replace(sandbox.path().to_str().unwrap(), "SANDBOX");
        assert!(
            stderr.contains(expected),
            "{backend}: stderr {stderr:?} lacks {expected:?}"
        );
        assert_eq!(
            sandbox.snapshot(),
            before,
            "{backend}: something was written"
        );
    }
}

#[test]
fn working_directory_that_does_not_exist() {
    refused_live(
        "version: 2\nworking_directory: SANDBOX/gone\ncommands:\n  web:\n    command: a\n",
        "run user \"pxrun\" cannot reach working directory \"SANDBOX/gone\" of job \"web\": it does not exist, or \"pxrun\" may not enter it",
    );
}

#[test]
fn working_directory_the_run_user_cannot_enter() {
    refused_live(
        "version: 2\nworking_directory: SANDBOX/locked/inside\ncommands:\n  web:\n    command: a\n",
        "run user \"pxrun\" cannot reach working directory \"SANDBOX/locked/inside\" of job \"web\": it does not exist, or \"pxrun\" may not enter it",
    );
}

#[test]
fn log_file_the_run_user_cannot_create() {
    refused_live(
        "version: 2\ncommands:\n  web:\n    command: a\n    log: SANDBOX/locked/web.log\n",
        "run user \"pxrun\" cannot create or append to log file \"SANDBOX/locked/web.log\" of job \"web\"",
    );
}

/// One line of a v2 command's settings that sets `key` (of `procexport::testing::JOB_KEYS`),
/// and whether it goes at the top level rather than under the command.
fn setting(key: &str) -> (&'static str, bool) {
    match key {
        "limits.nofile" => ("limits: {nofile: 100}", false),
        "limits.nproc" => ("limits: {nproc: 100}", false),
        "limits.memlock" => ("limits: {memlock: 4096}", false),
        "kill_signal" => ("kill_signal: SIGQUIT", false),
        "kill_mode" => ("kill_mode: process", false),
        "reload_signal" => ("reload_signal: SIGUSR2", false),
        "pre" => ("pre: /bin/true", false),
        "post" => ("post: /bin/true", false),
        "respawn.delay" => ("respawn: {count: 5, interval: 10, delay: 3}", false),
        "depends" => ("depends: redis", true),
        "start_on_device" => ("start_on_device: bond0", true),
        "resources.cpu_weight" => ("resources: {cpu_weight: 50}", false),
        "resources.startup_cpu_weight" => ("resources: {startup_cpu_weight: 50}", false),
        "resources.cpu_quota" => ("resources: {cpu_quota: 40}", false),
        "resources.cpu_affinity" => ("resources: {cpu_affinity: 0}", false),
        "resources.memory_low" => ("resources: {memory_low: 1G}", false),
        "resources.memory_high" => ("resources: {memory_high: 1G}", false),
        "resources.memory_max" => ("resources: {memory_max: 1G}", false),
        "resources.memory_swap_max" => ("resources: {memory_swap_max: 1G}", false),
        "resources.task_max" => ("resources: {task_max: 10}", false),
        "resources.io_weight" => ("resources: {io_weight: 10}", false),
        "resources.startup_io_weight" => ("resources: {startup_io_weight: 10}", false),
        "resources.io_device_weight" => ("resources: {io_device_weight: /dev/sda 10}", false),
        "resources.io_read_bandwidth_max" => {
            ("resources: {io_read_bandwidth_max: /dev/sda 1M}", false)
        }
        "resources.io_write_bandwidth_max" => {
            ("resources: {io_write_bandwidth_max: /dev/sda 1M}", false)
        }
        "resources.io_read_iops_max" => ("resources: {io_read_iops_max: /dev/sda 1K}", false),
        "resources.io_write_iops_max" => ("resources: {io_write_iops_max: /dev/sda 1K}", false),
        "resources.ip_address_allow" => ("resources: {ip_address_allow: 10.0.0.0/8}", false),
        "resources.ip_address_deny" => ("resources: {ip_address_deny: any}", false),
        other => panic!("no sample value for job key {other}: add one here"),
    }
}

/// Every init-exporter key through every backend: carried (the export succeeds and the
/// backend's checkers pass its files), or refused with exit 2 naming the key and the backend
/// and writing nothing, or, for a key that only tunes, dropped with a warning naming it.
/// Never dropped silently.
#[test]
fn a_key_a_backend_cannot_carry_is_refused_or_warned_never_dropped_silently() {
    require_root();
    let policy = "policy: {depends: [redis], devices: [bond0]}\n";
    for (backend, carries) in procexport::testing::CARRIES {
        for key in procexport::testing::JOB_KEYS {
            let (line, top) = setting(key);
            let procfile = if top {
                format!("version: 2\n{line}\ncommands:\n  web:\n    command: a\n")
            } else {
                format!("version: 2\ncommands:\n  web:\n    command: a\n    {line}\n")
            };
            let sandbox = Sandbox::with_config(policy);
            let path = sandbox.procfile(&procfile);
            let before = sandbox.snapshot();
            let outcome = sandbox.export(backend, &path, "myapp");
            let warning = format!("{key} is not written for the {backend} backend");
            if carries.contains(key) {
                assert_eq!(outcome.code, 0, "{backend} {key}: {}", outcome.stderr);
                assert!(!outcome.stderr.contains(&warning), "{backend} {key}");
                crate::support::check_generated_files(&sandbox);
            } else if key.starts_with("resources.")
                && [
                    "cpu_weight",
                    "startup_cpu_weight",
                    "memory_low",
                    "io_weight",
                    "startup_io_weight",
                    "io_device_weight",
                ]
                .iter()
                .any(|k| key.ends_with(k))
            {
                assert_eq!(outcome.code, 0, "{backend} {key}: {}", outcome.stderr);
                assert!(
                    outcome.stderr.contains(&warning),
                    "{backend} {key}: no warning in {:?}",
                    outcome.stderr
                );
            } else {
                assert_eq!(outcome.code, 2, "{backend} {key}: {}", outcome.stderr);
                let refusal = format!("{backend} cannot carry {key}: ");
                assert!(
                    outcome.stderr.contains(&refusal),
                    "{backend} {key}: {:?} lacks {refusal:?}",
                    outcome.stderr
                );
                assert_eq!(sandbox.snapshot(), before, "{backend} {key}: files written");
            }
        }
    }
}

/// launchd carries finite limits only: `-1` (unlimited) has no plist spelling, so it is
/// refused (exit 2) naming the key and the backend, and nothing is written.
#[test]
fn an_unlimited_limit_is_refused_by_launchd() {
    require_root();
    let sandbox = Sandbox::with_config("policy: {max_limits: {nofile: -1}}\n");
    let path = sandbox
        .procfile("version: 2\ncommands:\n  web:\n    command: a\n    limits: {nofile: -1}\n");
    let before = sandbox.snapshot();
    let outcome = sandbox.export("launchd", &path, "myapp").failure(2);
    assert!(
        outcome
            .stderr
            .contains("launchd cannot carry limits.nofile -1 (unlimited): job \"web\" sets it"),
        "{}",
        outcome.stderr
    );
    assert_eq!(sandbox.snapshot(), before, "something was written");
}
