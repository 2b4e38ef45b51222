//! `--version`, `procexport man` and `procexport completions`: what the Debian package and a
//! `cargo install` user get from the binary itself. These print only, so they must work for
//! anyone, through sudo too, whatever the config says.

use crate::support::{bin, run};
use std::process::Command;

/// The commands run with a cleared environment, as sudo would leave it for an invoking user
/// with uid 1000, and with flags that are refused through sudo for any other subcommand.
fn as_through_sudo(args: &[&str]) -> Command {
    let mut command = Command::new(bin());
    command
        .env_clear()
        .env("SUDO_UID", "1000")
        .env("SUDO_GID", "1000")
        .args(["--config", "/nonexistent/procexport.yaml"])
        .args(args);
    command
}

#[test]
fn version_names_the_package_version_and_the_commit_in_a_checkout() {
    let outcome = run(Command::new(bin()).arg("--version")).success();
    let line = outcome.stdout.trim_end();
    let version = concat!("procexport ", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(version), "{line}");
    let rest = &line[version.len()..];
    let in_checkout = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .is_ok_and(|o| o.status.success());
    // A user other than the checkout's owner gets no answer from git here (its safe.directory
    // rule), though the build did: then a commit shown must still be well formed.
    if in_checkout || !rest.is_empty() {
        let commit = rest.trim_start_matches(" (").trim_end_matches(')');
        assert!(
            rest.starts_with(" (")
                && commit.len() >= 7
                && commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{line}"
        );
    }
}

#[test]
fn man_prints_both_pages_and_needs_no_config_or_rights() {
    let command = run(&mut as_through_sudo(&["man"])).success();
    assert!(command.stdout.contains("\n.TH procexport 1 "));
    assert!(command.stdout.contains(".SS clean\n"));
    let config = run(&mut as_through_sudo(&["man", "procexport.yaml"])).success();
    assert!(config.stdout.starts_with(".TH PROCEXPORT.YAML 5"));
    assert!(config.stdout.contains(".B state_dir\n"));
    run(&mut as_through_sudo(&["man", "procexport.conf"])).failure(2);
}

#[test]
fn completions_print_for_each_packaged_shell_and_refuse_others() {
    for (shell, marker) in [
        ("bash", "complete -F _procexport"),
        ("zsh", "#compdef procexport"),
        ("fish", "complete -c procexport"),
    ] {
        let outcome = run(&mut as_through_sudo(&["completions", shell])).success();
        assert!(
            outcome.stdout.contains(marker),
            "{shell}: {}",
            outcome.stdout
        );
        assert_eq!(outcome.stderr, "", "{shell}");
    }
    run(&mut as_through_sudo(&["completions", "tcsh"])).failure(2);
    run(&mut as_through_sudo(&["completions"])).failure(2);
}

#[test]
fn bash_completion_completes_subcommands_in_a_real_bash() {
    let script = run(Command::new(bin()).args(["completions", "bash"])).success();
    // What bash-completion does on <TAB> after `procexport cl`.
    let probe = format!(
        "{}\nCOMP_WORDS=(procexport cl); COMP_CWORD=1; COMP_LINE='procexport cl'; \
         COMP_POINT=${{#COMP_LINE}}\n_procexport procexport cl procexport\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\ncomplete -p procexport\n",
        script.stdout
    );
    let outcome = run(Command::new("bash").args(["--norc", "-c", &probe])).success();
    assert_eq!(
        outcome.stdout,
        "clean\ncomplete -o bashdefault -o default -o nosort -F _procexport procexport\n",
        "{}",
        outcome.stderr
    );
}
