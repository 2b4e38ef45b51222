//! The command line, parsed and nothing more: what each flag means is decided in `run`.

use crate::backends::{ABOUT, NAMES};
use crate::procfile::assemble::Formation;
use camino::Utf8PathBuf;
use clap::builder::PossibleValuesParser;
use clap::error::ErrorKind;
use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  sudo procexport upstart -p /srv/myapp/Procfile -n myapp
  sudo procexport --dry-run systemd -p /srv/myapp/Procfile -n myapp
  sudo procexport runit -p /srv/myapp/Procfile -n myapp
  sudo procexport clean -n myapp
  procexport --root /tmp/pkg --config ./procexport.yaml upstart -p Procfile -n myapp";

/// Turn a Procfile into init-system jobs, safely through sudo.
#[derive(Debug, Parser)]
#[command(name = "procexport", version, after_help = EXAMPLES)]
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

/// What to do. The export subcommands are the backends' names, one per backend of the
/// registry; `clean` covers them all.
#[derive(Debug)]
pub enum Command {
    /// Export the Procfile through the backend called `backend`.
    Export { backend: String, args: ExportArgs },
    /// Remove every file an export installed for the app.
    Clean(CleanArgs),
}

const CLEAN_ABOUT: &str = "Remove every file an export installed for the app";

impl FromArgMatches for Command {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand() {
            Some(("clean", sub)) => Ok(Self::Clean(CleanArgs::from_arg_matches(sub)?)),
            Some((name, sub)) if NAMES.contains(&name) => Ok(Self::Export {
                backend: name.to_owned(),
                args: ExportArgs::from_arg_matches(sub)?,
            }),
            Some((name, _)) => Err(clap::Error::raw(
                ErrorKind::InvalidSubcommand,
                format!("unknown subcommand {name}"),
            )),
            None => Err(clap::Error::raw(
                ErrorKind::MissingSubcommand,
                "a subcommand is required",
            )),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for Command {
    fn augment_subcommands(mut command: clap::Command) -> clap::Command {
        for (name, about) in ABOUT {
            command = command.subcommand(ExportArgs::augment_args(
                clap::Command::new(*name).about(*about),
            ));
        }
        command.subcommand(CleanArgs::augment_args(
            clap::Command::new("clean").about(CLEAN_ABOUT),
        ))
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        name == "clean" || NAMES.contains(&name)
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The Procfile to export (read with the invoking user's rights).
    #[arg(short, long, value_name = "PROCFILE", default_value = "Procfile")]
    pub procfile: Utf8PathBuf,

    /// The app's name: ASCII letters, digits, "_" and "-", starting with a letter or digit.
    #[arg(short = 'n', long = "app", value_name = "APP")]
    pub app: String,

    /// How many of each process type to run, overriding `count`: `web=2,worker=1`; `all=N`
    /// sets every type not named; 0 installs none of a type.
    #[arg(short = 'm', long, value_name = "TYPE=N,...", value_parser = parse_formation)]
    pub formation: Option<Formation>,

    /// The base port: process type i's instance j gets PORT = base + 100 x i + j (default:
    /// PORT from the .env files, else the config's `port`, else 5000).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// The .env files to read, comma-separated (read with the invoking user's rights);
    /// default: `.env` beside the Procfile, when there is one.
    #[arg(
        short = 'e',
        long = "env-file",
        value_name = "FILE[,FILE]",
        value_delimiter = ','
    )]
    pub env_files: Vec<Utf8PathBuf>,

    /// Do not tell the running init about the change (no `systemctl daemon-reload`).
    #[arg(long)]
    pub no_reload: bool,
}

/// The most instances of one type (as for `count:`).
const MAX_INSTANCES: u32 = 1000;

fn parse_formation(text: &str) -> Result<Formation, String> {
    let mut formation = Formation::default();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, count) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not TYPE=N (for example web=2,worker=1)"))?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|c| *c <= MAX_INSTANCES)
            .ok_or_else(|| {
                format!("{pair:?}: the count must be a whole number from 0 to {MAX_INSTANCES}")
            })?;
        match name.trim() {
            "all" => formation.all = Some(count),
            name => formation.counts.push((name.to_owned(), count)),
        }
    }
    Ok(formation)
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The app whose files to remove.
    #[arg(short = 'n', long = "app", value_name = "APP")]
    pub app: String,

    /// Only remove what this backend installed.
    #[arg(long, value_parser = PossibleValuesParser::new(NAMES.iter().copied()))]
    pub backend: Option<String>,
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
    fn every_backend_is_a_subcommand_and_a_clean_choice() {
        for name in NAMES {
            let cli = Cli::try_parse_from(["p", name, "-p", "P", "-n", "a"]).unwrap();
            assert!(matches!(cli.command, Command::Export { backend, .. } if backend == *name));
            let cli = Cli::try_parse_from(["p", "clean", "-n", "a", "--backend", name]).unwrap();
            assert!(
                matches!(cli.command, Command::Clean(args) if args.backend.as_deref() == Some(name))
            );
        }
        assert!(Cli::try_parse_from(["p", "clean", "-n", "a", "--backend", "nope"]).is_err());
    }

    #[test]
    fn dry_run_is_accepted_before_and_after_the_subcommand() {
        let before = Cli::try_parse_from(["p", "--dry-run", "upstart", "-p", "P", "-n", "a"]);
        let after = Cli::try_parse_from(["p", "upstart", "-p", "P", "-n", "a", "--dry-run"]);
        assert!(before.unwrap().dry_run);
        assert!(after.unwrap().dry_run);
    }

    #[test]
    fn procfile_defaults_and_formation_env_files_and_port_parse() {
        let cli = Cli::try_parse_from([
            "p",
            "systemd",
            "-n",
            "a",
            "-m",
            "web=2, worker=0,all=1",
            "-e",
            "a.env,b.env",
            "--port",
            "6000",
        ])
        .unwrap();
        let Command::Export { args, .. } = cli.command else {
            panic!("not an export")
        };
        assert_eq!(args.procfile, "Procfile");
        assert_eq!(
            args.formation,
            Some(Formation {
                counts: vec![("web".into(), 2), ("worker".into(), 0)],
                all: Some(1)
            })
        );
        assert_eq!(args.env_files, ["a.env", "b.env"]);
        assert_eq!(args.port, Some(6000));
        for bad in ["web", "web=two", "web=-1", "web=1001"] {
            let error = Cli::try_parse_from(["p", "systemd", "-n", "a", "-m", bad]).unwrap_err();
            assert!(error.to_string().contains("web"), "{bad}: {error}");
        }
    }
}
