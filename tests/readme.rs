//! The README's commands work as written. Here: its shell blocks parse, its first command
//! (the dry run of the bundled example) does what the README says, and every `procexport`
//! command in it names real subcommands and flags. `packaging/check-readme.sh` (run by CI
//! after the .deb check) runs the install, setup and first-export blocks for real, on a
//! throwaway overlay of the machine.

use crate::support::{bin, run};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents whose shell blocks are checked: the README and the reference in docs/.
const DOCUMENTS: [&str; 4] = [
    "README.md",
    "docs/PROCFILE.md",
    "docs/BACKENDS.md",
    "docs/KUBERNETES.md",
];

/// The README's ```sh blocks, each with the line its fence is on.
fn sh_blocks() -> Vec<(usize, Vec<String>)> {
    sh_blocks_of("README.md")
}

/// One document's ```sh blocks, each with the line its fence is on.
fn sh_blocks_of(document: &str) -> Vec<(usize, Vec<String>)> {
    let readme = std::fs::read_to_string(checkout().join(document)).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for (index, line) in readme.lines().enumerate() {
        match (&mut current, line) {
            (None, "```sh") => current = Some((index + 1, Vec::new())),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some((_, lines)), line) => lines.push(line.to_owned()),
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block");
    blocks
}

/// The words of one simple command, with `'...'` quotes taken off; a line's comment, its
/// redirections and everything after a `|`, `&&` or `;` are not part of it.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '\'' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// Every `procexport ARGS` in the documents' shell blocks (after an optional `sudo`), with
/// the document and line it is on.
fn procexport_commands() -> Vec<(String, Vec<String>)> {
    let mut commands = Vec::new();
    for document in DOCUMENTS {
        commands.extend(
            commands_of(document)
                .into_iter()
                .map(|(line, args)| (format!("{document}:{line}"), args)),
        );
    }
    commands
}

/// Every `procexport ARGS` in one document's shell blocks (after an optional `sudo`).
fn commands_of(document: &str) -> Vec<(usize, Vec<String>)> {
    let mut commands = Vec::new();
    for (fence, lines) in sh_blocks_of(document) {
        for (offset, line) in lines.iter().enumerate() {
            let line = line.split(" #").next().unwrap();
            for segment in line.split(['|', ';']).flat_map(|s| s.split("&&")) {
                let mut args = words(segment);
                args.retain(|word| !word.starts_with('>'));
                if args.first().is_some_and(|w| w == "sudo") {
                    args.remove(0);
                }
                if args.first().is_some_and(|w| w == "procexport") {
                    commands.push((fence + 1 + offset, args[1..].to_vec()));
                }
            }
        }
    }
    commands
}

#[test]
fn every_shell_block_parses() {
    let blocks = sh_blocks();
    assert!(blocks.len() >= 10, "{} blocks", blocks.len());
    for document in DOCUMENTS {
        for (line, lines) in sh_blocks_of(document) {
            let outcome = run(Command::new("bash").args(["-n", "-c", &lines.join("\n")]));
            assert_eq!(outcome.code, 0, "{document}:{line}: {}", outcome.stderr);
        }
    }
}

/// What a newcomer was once told and could not do: each of these came back wrong once.
#[test]
fn the_readme_keeps_no_stale_advice() {
    let readme = std::fs::read_to_string(checkout().join("README.md")).unwrap();
    for stale in [
        "until those rules land",
        "sudo systemctl start fb-myapp.target",
        "tail -f /var/log/fb-myapp/web_0.log",
        "is not built yet",
        concat!("shared/tools/", "systemd"),
    ] {
        assert!(!readme.contains(stale), "README.md says {stale:?} again");
    }
    let lines = readme.lines().count();
    assert!(
        lines < 450,
        "README.md has {lines} lines: move reference to docs/"
    );
}

#[test]
fn every_procexport_command_names_real_subcommands_and_flags() {
    let commands = procexport_commands();
    assert!(commands.len() >= 12, "{commands:?}");
    for (place, args) in commands {
        // clap reads the words in order and stops at --help: a wrong subcommand, an unknown
        // flag or a bad value for a choice fails before it gets there.
        let outcome = run(Command::new(bin()).args(&args).arg("--help"));
        assert_eq!(
            outcome.code,
            0,
            "{place}: procexport {}: {}",
            args.join(" "),
            outcome.stderr
        );
    }
}

#[test]
fn first_command_dry_runs_the_bundled_example_and_writes_nothing() {
    let (line, lines) = sh_blocks().into_iter().next().unwrap();
    let first = &lines[0];
    let args = first
        .strip_prefix("bash .ci/cargo run -- ")
        .unwrap_or_else(|| panic!("README.md:{}: {first}", line + 1));
    let mut args = words(args);
    let demo_root = Path::new("/tmp/procexport-demo");
    let existed = demo_root.exists();
    // .ci/cargo builds and runs it as the checkout's owner; root testing someone else's
    // checkout (through sudo) reads a copy of the example config that root owns instead,
    // since procexport rightly refuses a config that another user can change.
    let config = checkout().join("examples/procexport.yaml");
    let copy = tempfile::tempdir().unwrap();
    if std::fs::metadata(&config).unwrap().uid() != rustix::process::geteuid().as_raw() {
        let copied = copy.path().join("procexport.yaml");
        std::fs::copy(&config, &copied).unwrap();
        let at = args.iter().position(|a| a == "--config").unwrap() + 1;
        args[at] = copied.to_str().unwrap().to_owned();
    }
    let outcome = run(Command::new(bin())
        .args(&args)
        .current_dir(checkout())
        .env_clear())
    .success();
    for file in [
        "/etc/init/fb-myapp.conf",
        "/etc/init/fb-myapp-web_0.conf",
        "/var/local/upstart_helpers/fb-myapp-worker.sh",
    ] {
        assert!(
            outcome
                .stdout
                .contains(&format!("=== create {file} (file, mode")),
            "{file}: {}",
            outcome.stdout
        );
    }
    assert!(outcome
        .stdout
        .contains("exec bundle exec puma -C config/puma.rb"));
    assert_eq!(
        demo_root.exists(),
        existed,
        "the dry run wrote {demo_root:?}"
    );
}

/// docs/BACKENDS.md's table of the init-exporter keys is the one each backend declares.
#[test]
fn backends_md_lists_the_keys_each_backend_carries() {
    let text = std::fs::read_to_string(checkout().join("docs/BACKENDS.md")).unwrap();
    let table = procexport::testing::carries_table();
    assert!(
        text.contains(&table),
        "docs/BACKENDS.md lacks the table of job keys; write it as:\n{table}"
    );
}
