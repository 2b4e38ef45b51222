//! Property tests over the parser and every backend: for arbitrary Procfiles, names, env
//! values and commands, procexport gives either a clear error or output in which (a) no value
//! adds a line of its own, (b) every value round-trips exactly through the format's own
//! parsing, (c) every generated path stays inside its target directory. The case count is
//! bounded for CI (PROPTEST_CASES raises it).

use crate::support::BACKENDS;
use procexport::testing::preview::{default_dirs, render, Rendered};
use procexport::testing::{Facts, Secret};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::process::Command;

/// Text the way it arrives from a Procfile: printable, plus the characters that break quoting.
fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<char>().prop_filter("no NUL", |c| *c != '\0'),
            3 => prop::sample::select(vec!['\'', '"', '\\', '$', '%', '`', ' ', '\n', '#', ';', '&', '|', '*', '{', '}', 'é', '✓', '\t', '\r']),
            3 => prop::char::range('a', 'z'),
        ],
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z][a-z0-9_]{0,11}",
        1 => hostile_text(),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    app: String,
    env: Vec<(String, String)>,
    commands: Vec<(String, String, Option<u32>)>,
    working_directory: String,
    log: Option<String>,
    respawn: Option<bool>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        name(),
        prop::collection::vec(("[A-Z_][A-Z0-9_]{0,7}", hostile_text()), 0..5),
        prop::collection::vec((name(), hostile_text(), prop::option::of(1u32..4)), 1..4),
        hostile_text(),
        prop::option::of(hostile_text()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(app, env, commands, dir, log, respawn)| Case {
            app,
            env,
            commands,
            working_directory: format!("/{dir}"),
            log: log.map(|l| format!("/{l}")),
            respawn,
        })
}

/// The case as a v2 Procfile, written by serde_yaml so every value arrives as intended. With
/// `scrub`, every value is replaced by plain text: "x", or "x\nx" for a value with a newline
/// (a helper defines `$nl`, on one line of its own, when some value holds a newline).
fn procfile(case: &Case, scrub: bool) -> String {
    let text = |t: &str| match (scrub, t.contains('\n')) {
        (false, _) => t.to_owned(),
        (true, false) => "x".to_owned(),
        (true, true) => "x\nx".to_owned(),
    };
    let mut top = serde_yaml::Mapping::new();
    top.insert("version".into(), 2.into());
    let env: serde_yaml::Mapping = case
        .env
        .iter()
        .map(|(k, v)| (k.as_str().into(), text(v).into()))
        .collect();
    top.insert("env".into(), env.into());
    top.insert(
        "working_directory".into(),
        format!("/{}", text(&case.working_directory)).into(),
    );
    if let Some(respawn) = case.respawn {
        top.insert("respawn".into(), respawn.into());
    }
    let mut commands = serde_yaml::Mapping::new();
    for (label, command, count) in &case.commands {
        let mut entry = serde_yaml::Mapping::new();
        entry.insert(
            "command".into(),
            if scrub {
                "x".into()
            } else {
                command.as_str().into()
            },
        );
        if let Some(count) = count {
            entry.insert("count".into(), (*count).into());
        }
        if let Some(log) = &case.log {
            entry.insert("log".into(), format!("/{}", text(log)).into());
        }
        commands.insert(label.as_str().into(), entry.into());
    }
    top.insert("commands".into(), commands.into());
    serde_yaml::to_string(&top).unwrap()
}

/// Lines per file, but for systemd environment files: there a value's newlines stay inside its
/// double quotes (systemd has no escape for a newline), so those are checked by parsing them.
fn lines_per_file(rendered: &[Rendered]) -> BTreeMap<String, usize> {
    rendered
        .iter()
        .filter(|r| !r.path.ends_with(".env"))
        .filter_map(|r| Some((r.path.clone(), r.contents.as_ref()?.lines().count())))
        .collect()
}

/// Every systemd environment file, read the way systemd reads it, holds exactly the case's
/// variables with their exact values: no value added a variable or lost a character.
fn check_systemd_env_files(case: &Case, rendered: &[Rendered], facts: &Facts) {
    let mut expected: Vec<(String, String)> = Vec::new();
    for (key, value) in &case.env {
        match expected.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1.clone_from(value),
            None => expected.push((key.clone(), value.clone())),
        }
    }
    for file in rendered
        .iter()
        .filter(|r| facts.secret(&r.path) == Some(Secret::EnvFile))
    {
        let text = file.contents.as_ref().unwrap();
        let parsed = crate::support::systemd_syntax::parse_env_file(text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", file.path));
        assert_eq!(
            crate::support::without_generated(parsed),
            crate::support::without_generated(expected.clone()),
            "{}",
            file.path
        );
    }
}

/// Every runit env directory, read the way `chpst -e` reads it (first line, trailing blanks
/// stripped, NUL back to newline), holds exactly the case's variables with their values.
fn check_runit_env_dirs(case: &Case, rendered: &[Rendered], facts: &Facts) {
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in &case.env {
        expected.insert(key.clone(), value.clone());
    }
    let mut by_service: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for file in rendered
        .iter()
        .filter(|r| facts.secret(&r.path) == Some(Secret::EnvDirEntry))
    {
        let Some((service, key)) = file.path.rsplit_once("/env/") else {
            continue;
        };
        let text = file.contents.as_ref().unwrap();
        let line = text.split('\n').next().unwrap();
        let value = line.trim_end_matches([' ', '\t']).replace('\0', "\n");
        by_service
            .entry(service)
            .or_default()
            .insert(key.to_owned(), value);
    }
    let generated = ["HOME", "USER", "PORT", "PS"];
    expected.retain(|k, _| !generated.contains(&k.as_str()));
    for (service, mut env) in by_service {
        env.retain(|k, _| !generated.contains(&k.as_str()));
        assert_eq!(env, expected, "{service}");
    }
}

/// Asks `sh` what the quoted words of a helper's `export` and `cd` lines hold.
fn shell_values(helper: &str) -> (BTreeMap<String, String>, String) {
    let mut script = String::new();
    for line in helper.lines() {
        if line.starts_with("nl=") || line.starts_with("export ") {
            script.push_str(line);
            script.push('\n');
        } else if let Some(dir) = line
            .strip_prefix("cd ")
            .and_then(|l| l.strip_suffix(" || exit 1"))
        {
            script.push_str(&format!("printf 'DIR=%s\\0' {dir}\n"));
        }
    }
    script.push_str("env -0\n");
    let output = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env_clear()
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut vars = BTreeMap::new();
    let mut dir = String::new();
    for item in output.stdout.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let item = String::from_utf8(item.to_vec()).unwrap();
        let (k, v) = item.split_once('=').unwrap();
        if k == "DIR" && dir.is_empty() {
            dir = v.to_owned();
        } else {
            vars.insert(k.to_owned(), v.to_owned());
        }
    }
    (vars, dir)
}

fn check_upstart_round_trip(case: &Case, rendered: &[Rendered], facts: &Facts) {
    let expected_env: BTreeMap<String, String> = case.env.iter().cloned().collect();
    for helper in rendered
        .iter()
        .filter(|r| facts.secret(&r.path) == Some(Secret::ShellHelper))
    {
        let text = helper.contents.as_ref().unwrap();
        let (vars, dir) = shell_values(text);
        for (key, value) in &expected_env {
            assert_eq!(vars.get(key), Some(value), "{key} in {}", helper.path);
        }
        assert_eq!(
            dir,
            format!("/{}", case.working_directory),
            "{}",
            helper.path
        );
        // The command line is the command as written (with `exec` in front), nothing else.
        let after = text
            .lines()
            .skip_while(|l| *l != "# shellcheck disable=all")
            .nth(1)
            .unwrap();
        assert!(
            case.commands
                .iter()
                .any(|(_, command, _)| is_command_with_exec(after, command.trim())),
            "{after:?} is not one of the commands"
        );
    }
}

/// True when `line` is `command`, or `command` with one `exec ` or `exec env ` put in.
fn is_command_with_exec(line: &str, command: &str) -> bool {
    line == command
        || ["exec env ", "exec "].iter().any(|insert| {
            line.match_indices(insert)
                .any(|(at, _)| format!("{}{}", &line[..at], &line[at + insert.len()..]) == command)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn output_is_safe_or_the_error_is_clear(case in case()) {
        let text = procfile(&case, false);
        for backend in BACKENDS {
            match render(text.as_bytes(), &case.app, backend, None) {
                Err(error) => {
                    let message = error.to_string();
                    prop_assert!(!message.is_empty());
                    prop_assert!(!message.chars().any(char::is_control), "raw control character in {message:?}");
                }
                Ok(rendered) => {
                    // (c) every path stays in its directory.
                    let dirs = default_dirs();
                    for output in &rendered {
                        let inside = dirs.iter().any(|d| output.path.strip_prefix(d.as_str()).is_some_and(|rest| rest.starts_with('/')));
                        prop_assert!(inside, "{} is outside {dirs:?}", output.path);
                        prop_assert!(!output.path.split('/').any(|c| c == ".." || c == "."), "{}", output.path);
                        prop_assert!(output.path.split('/').all(|c| c.len() <= 255));
                    }
                    // (a) no value adds a line: the same case with every value replaced by "x"
                    // renders the same files with the same number of lines each.
                    let plain = render(procfile(&case, true).as_bytes(), &case.app, backend, None).unwrap();
                    prop_assert_eq!(lines_per_file(&rendered), lines_per_file(&plain));
                    // (b) values round-trip through the format's own parser.
                    // Each file that holds the env is read back the way its own init reads it.
                    let facts = procexport::testing::facts(backend);
                    let mut carriers: Vec<Secret> = Vec::new();
                    for carrier in rendered.iter().filter_map(|r| facts.secret(&r.path)) {
                        if !carriers.contains(&carrier) {
                            carriers.push(carrier);
                        }
                    }
                    prop_assert!(!carriers.is_empty() || case.env.is_empty(), "{backend}: no file holds the env");
                    for carrier in carriers {
                        match carrier {
                            Secret::ShellHelper => check_upstart_round_trip(&case, &rendered, &facts),
                            Secret::EnvFile => check_systemd_env_files(&case, &rendered, &facts),
                            Secret::EnvDirEntry => check_runit_env_dirs(&case, &rendered, &facts),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn v1_parsing_never_panics_and_keeps_every_line(lines in prop::collection::vec((name(), hostile_text()), 1..8)) {
        let text: String = lines.iter().map(|(l, c)| format!("{l}: {c}\n")).collect();
        match render(text.as_bytes(), "app", "upstart", None) {
            Ok(rendered) => {
                let jobs = rendered.iter().filter(|r| r.path.ends_with(".sh")).count();
                let entries = text.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).count();
                prop_assert_eq!(jobs, entries);
            }
            Err(error) => prop_assert!(error.to_string().starts_with("Procfile:"), "{}", error),
        }
    }
}
