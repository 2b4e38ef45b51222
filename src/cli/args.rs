//! The command line, parsed and nothing more: what each flag means is decided in `run`.

use crate::backends::{ABOUT, NAMES};
use crate::cli::completions::CompletionsArgs;
use crate::cli::manpage::ManArgs;
pub use crate::install::installer::Action;
use crate::model::kubernetes::{EnvStore, ReleaseAs};
use crate::procfile::assemble::Formation;
use camino::Utf8PathBuf;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::error::ErrorKind;
use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  sudo procexport upstart -p /srv/myapp/Procfile -n myapp
  sudo procexport --dry-run systemd -p /srv/myapp/Procfile -n myapp
  sudo procexport runit -p /srv/myapp/Procfile -n myapp
  sudo procexport clean -n myapp
  procexport kubernetes -p Procfile -n myapp --image registry.example/myapp:1.2.3 -o k8s/
  sudo procexport systemd -p /srv/myapp/Procfile -n myapp --restart
  sudo procexport restart -n myapp
  sudo procexport status -n myapp
  sudo procexport list
  procexport --root /tmp/pkg --config ./procexport.yaml upstart -p Procfile -n myapp";

/// Turn a Procfile into init-system jobs, safely through sudo.
#[derive(Debug, Parser)]
#[command(name = "procexport", version = env!("PROCEXPORT_VERSION"), after_help = EXAMPLES)]
pub struct Cli {
    /// Print every file that would be written or removed, with path, mode and contents; write
    /// nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// With --dry-run: exit 0 when nothing would change and 3 when something would (1 and 2
    /// keep their meanings), like `terraform plan -detailed-exitcode`.
    #[arg(long, global = true, requires = "dry_run")]
    pub detailed_exitcode: bool,

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
/// registry; `clean`, the control subcommands and `list` cover them all. `kubernetes` is not a
/// backend of the registry (it installs nothing), so it is a fixed subcommand, as `clean` is.
#[derive(Debug)]
pub enum Command {
    /// Export the Procfile through the backend called `backend`.
    Export { backend: String, args: ExportArgs },
    /// Print (or write to a directory) the Procfile as Kubernetes manifests.
    Kubernetes(KubernetesArgs),
    /// Remove every file an export installed for the app.
    Clean(CleanArgs),
    /// Start, stop or restart the jobs of the app's manifest.
    Control { action: Action, args: AppArgs },
    /// Show each installed job of the app and its live state.
    Status(AppArgs),
    /// Show every app with a manifest (through sudo: the apps you own or manage).
    List,
    /// Print the manual page procexport(1), or procexport.yaml(5), as roff.
    Man(ManArgs),
    /// Print the completion script for a shell.
    Completions(CompletionsArgs),
}

const CLEAN_ABOUT: &str = "Remove every file an export installed for the app";
const KUBERNETES_ABOUT: &str =
    "Print (or write to --output DIR) the Procfile as Kubernetes manifests; never needs sudo";

/// The fixed subcommands besides the exports: name, help line.
const FIXED: &[(&str, &str)] = &[
    ("kubernetes", KUBERNETES_ABOUT),
    ("clean", CLEAN_ABOUT),
    (
        "start",
        "Start every job of the app, through the init that runs it",
    ),
    (
        "stop",
        "Stop every job of the app, through the init that runs it",
    ),
    (
        "restart",
        "Restart every job of the app: each gets a new process",
    ),
    (
        "status",
        "Show each installed job of the app, its backend and its live state",
    ),
    (
        "list",
        "Show every app with a manifest: its backends, job counts and owner (through sudo, \
         only the apps you own or manage)",
    ),
    (
        "man",
        "Print the manual page procexport(1), or procexport.yaml(5), as roff",
    ),
    (
        "completions",
        "Print the completion script for a shell (bash, zsh, fish, elvish, powershell)",
    ),
];

impl FromArgMatches for Command {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let control = |action, sub: &ArgMatches| -> Result<Self, clap::Error> {
            Ok(Self::Control {
                action,
                args: AppArgs::from_arg_matches(sub)?,
            })
        };
        match matches.subcommand() {
            Some(("clean", sub)) => Ok(Self::Clean(CleanArgs::from_arg_matches(sub)?)),
            Some(("kubernetes", sub)) => {
                Ok(Self::Kubernetes(KubernetesArgs::from_arg_matches(sub)?))
            }
            Some(("start", sub)) => control(Action::Start, sub),
            Some(("stop", sub)) => control(Action::Stop, sub),
            Some(("restart", sub)) => control(Action::Restart, sub),
            Some(("status", sub)) => Ok(Self::Status(AppArgs::from_arg_matches(sub)?)),
            Some(("list", _)) => Ok(Self::List),
            Some(("man", sub)) => Ok(Self::Man(ManArgs::from_arg_matches(sub)?)),
            Some(("completions", sub)) => {
                Ok(Self::Completions(CompletionsArgs::from_arg_matches(sub)?))
            }
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
        for (name, about) in FIXED {
            let sub = clap::Command::new(*name).about(*about);
            command = command.subcommand(match *name {
                "clean" => CleanArgs::augment_args(sub),
                "kubernetes" => KubernetesArgs::augment_args(sub),
                "man" => ManArgs::augment_args(sub),
                "completions" => CompletionsArgs::augment_args(sub),
                "list" => sub,
                _ => AppArgs::augment_args(sub),
            });
        }
        command
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        FIXED.iter().any(|(fixed, _)| *fixed == name) || NAMES.contains(&name)
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
    #[arg(long, conflicts_with = "restart")]
    pub no_reload: bool,

    /// Once the files are in place, restart every job of the app through the running init.
    #[arg(long)]
    pub restart: bool,
}

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The app to act on.
    #[arg(short = 'n', long = "app", value_name = "APP")]
    pub app: String,

    /// Only the jobs this backend installed.
    #[arg(long, value_parser = PossibleValuesParser::new(NAMES.iter().copied()))]
    pub backend: Option<String>,
}

/// `procexport kubernetes`: the Procfile and app as for every export, and what only this
/// export takes. Each value is checked later (`backends/kubernetes/settings.rs`).
#[derive(Debug, Args)]
pub struct KubernetesArgs {
    /// The Procfile to export.
    #[arg(short, long, value_name = "PROCFILE")]
    pub procfile: Utf8PathBuf,

    /// The app's name: ASCII letters, digits and "_".
    #[arg(short = 'n', long = "app", value_name = "APP")]
    pub app: String,

    /// The container image every process runs (else `image:` in the Procfile, else
    /// `kubernetes.image` in the config).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// Write one file per object into DIR, a new or empty directory of yours (default: all
    /// objects to stdout).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<Utf8PathBuf>,

    /// The base port: PORT is this plus 100 times the process type's index (default 5000).
    #[arg(long, value_name = "PORT")]
    pub port: Option<i64>,

    /// A process type that listens on PORT and gets a Service (repeatable; default: web).
    #[arg(long = "listen", value_name = "LABEL")]
    pub listen: Vec<String>,

    /// Where the env goes: a Secret (the default) or a ConfigMap.
    #[arg(long = "env-in", value_enum, value_name = "KIND")]
    pub env_in: Option<EnvStore>,

    /// With `--env-in configmap`: an env key that still goes to a Secret (repeatable).
    #[arg(long = "secret-key", value_name = "KEY")]
    pub secret_keys: Vec<String>,

    /// The `release` process type as a plain Job (the default) or as a Helm hook.
    #[arg(long, value_enum, value_name = "AS")]
    pub release: Option<ReleaseAs>,

    /// Replicas per process type, as foreman's -m: `web=3,worker=2` (overrides `count`).
    #[arg(short = 'm', long, value_name = "LABEL=N,...")]
    pub formation: Option<String>,

    /// The uid the containers run as (default: the image's own user, which must not be root).
    #[arg(long, value_name = "UID")]
    pub run_as_user: Option<i64>,
}

impl ValueEnum for EnvStore {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Secret, Self::Configmap]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Self::Secret => PossibleValue::new("secret").help("Every variable in a Secret"),
            Self::Configmap => PossibleValue::new("configmap")
                .help("Every variable in a ConfigMap, but the --secret-key ones in a Secret"),
        })
    }
}

impl ValueEnum for ReleaseAs {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Job, Self::Hook]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Self::Job => PossibleValue::new("job").help("A Job, applied with everything else"),
            Self::Hook => PossibleValue::new("hook")
                .help("A Job with Helm's pre-install and pre-upgrade hook annotations"),
        })
    }
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
    fn kubernetes_is_a_subcommand_of_its_own() {
        let cli = Cli::try_parse_from([
            "p",
            "kubernetes",
            "-p",
            "P",
            "-n",
            "a",
            "--env-in",
            "configmap",
            "--release",
            "hook",
            "--listen",
            "web",
            "--listen",
            "api",
        ])
        .unwrap();
        let Command::Kubernetes(args) = cli.command else {
            panic!("not kubernetes: {:?}", cli.command);
        };
        assert_eq!(args.env_in, Some(EnvStore::Configmap));
        assert_eq!(args.release, Some(ReleaseAs::Hook));
        assert_eq!(args.listen, ["web", "api"]);
        assert!(!NAMES.contains(&"kubernetes"), "not a registry backend");
        assert!(
            Cli::try_parse_from(["p", "kubernetes", "-p", "P", "-n", "a", "--no-reload"]).is_err()
        );
        assert!(Cli::try_parse_from(["p", "clean", "-n", "a", "--backend", "kubernetes"]).is_err());
    }

    #[test]
    fn control_subcommands_take_an_app_and_list_takes_nothing() {
        for (verb, action) in [
            ("start", Action::Start),
            ("stop", Action::Stop),
            ("restart", Action::Restart),
        ] {
            let cli = Cli::try_parse_from(["p", verb, "-n", "a", "--backend", "upstart"]).unwrap();
            assert!(
                matches!(cli.command, Command::Control { action: a, args } if a == action && args.app == "a")
            );
        }
        let cli = Cli::try_parse_from(["p", "status", "-n", "a"]).unwrap();
        assert!(matches!(cli.command, Command::Status(args) if args.backend.is_none()));
        assert!(matches!(
            Cli::try_parse_from(["p", "list"]).unwrap().command,
            Command::List
        ));
        assert!(Cli::try_parse_from(["p", "start"]).is_err());
        let cli = Cli::try_parse_from(["p", "systemd", "-p", "P", "-n", "a", "--restart"]).unwrap();
        assert!(matches!(cli.command, Command::Export { args, .. } if args.restart));
        assert!(Cli::try_parse_from([
            "p",
            "systemd",
            "-p",
            "P",
            "-n",
            "a",
            "--restart",
            "--no-reload"
        ])
        .is_err());
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
