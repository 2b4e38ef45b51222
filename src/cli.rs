//! The command line, parsed and nothing more: what each flag means is decided in `run`.

use camino::Utf8PathBuf;
use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  sudo procexport upstart -p /srv/myapp/Procfile -n myapp
  sudo procexport --dry-run systemd -p /srv/myapp/Procfile -n myapp
  sudo procexport runit -p /srv/myapp/Procfile -n myapp
  sudo procexport clean -n myapp
  procexport --root /tmp/pkg --config ./procexport.yaml upstart -p Procfile -n myapp";

/// Turn a Procfile into init-system jobs, safely through sudo.
#[derive(Debug, Parser)]
#[command(name = "procexport", version = env!("PROCEXPORT_VERSION"), after_help = EXAMPLES)]
pub struct Cli {
    /// Print every file that would be written or removed, with path, mode and contents; write
    /// nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Read this config file instead of /etc/procexport.yaml (refused through sudo).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<Utf8PathBuf>,

    /// Install under DIR, as with DESTDIR (refused through sudo).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<Utf8PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export the Procfile as Upstart jobs.
    Upstart(ExportArgs),
    /// Export the Procfile as systemd units.
    Systemd(SystemdArgs),
    /// Export the Procfile as runit services.
    Runit(ExportArgs),
    /// Remove every file an export installed for the app.
    Clean(CleanArgs),
    /// Print the manual page procexport(1), or procexport.yaml(5), as roff.
    Man(crate::manpage::ManArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(crate::completions::CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The Procfile to export (read with the invoking user's rights).
    #[arg(short, long, value_name = "PROCFILE")]
    pub procfile: Utf8PathBuf,

    /// The app's name: ASCII letters, digits and "_".
    #[arg(short = 'n', long = "app", value_name = "APP")]
    pub app: String,
}

#[derive(Debug, Args)]
pub struct SystemdArgs {
    #[command(flatten)]
    pub export: ExportArgs,

    /// Do not run `systemctl daemon-reload` after a change.
    #[arg(long)]
    pub no_reload: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The app whose files to remove.
    #[arg(short = 'n', long = "app", value_name = "APP")]
    pub app: String,

    /// Only remove what this backend installed.
    #[arg(long, value_enum)]
    pub backend: Option<BackendName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendName {
    Upstart,
    Systemd,
    Runit,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dry_run_is_accepted_before_and_after_the_subcommand() {
        let before = Cli::try_parse_from(["p", "--dry-run", "upstart", "-p", "P", "-n", "a"]);
        let after = Cli::try_parse_from(["p", "upstart", "-p", "P", "-n", "a", "--dry-run"]);
        assert!(before.unwrap().dry_run);
        assert!(after.unwrap().dry_run);
    }
}
