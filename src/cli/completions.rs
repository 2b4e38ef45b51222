//! `procexport completions <shell>`: the shell completion script, generated from the clap
//! definition so it always knows every subcommand and flag. The Debian package ships the
//! bash, zsh and fish scripts made this way; after `cargo install` a user makes their own.
//!
//! It reads nothing and needs no rights: through sudo it only prints.

use crate::error::{Error, Result};
use clap::Args;
use clap_complete::Shell;
use std::io::Write;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Writes the completion script for `args.shell` and the command line `cli` (given by the
/// caller, so this leaf never imports the definition that names it) to `out`.
pub fn print(args: &CompletionsArgs, mut cli: clap::Command, out: &mut dyn Write) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cli, "procexport", &mut script);
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing the completion script", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Cli;
    use clap::CommandFactory;

    fn script(shell: Shell) -> String {
        let mut out = Vec::new();
        print(&CompletionsArgs { shell }, Cli::command(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bash_script_registers_procexport_and_knows_every_subcommand() {
        let bash = script(Shell::Bash);
        assert!(bash.contains("complete -F _procexport"), "{bash}");
        for sub in ["upstart", "systemd", "runit", "clean", "man", "completions"] {
            assert!(bash.contains(sub), "bash completion lacks {sub}");
        }
        assert!(bash.contains("--no-reload") && bash.contains("--dry-run"));
    }

    #[test]
    fn zsh_and_fish_scripts_are_for_procexport() {
        assert!(script(Shell::Zsh).starts_with("#compdef procexport"));
        let fish = script(Shell::Fish);
        assert!(fish.contains("complete -c procexport"), "{fish}");
        assert!(fish.contains("clean"));
    }
}
