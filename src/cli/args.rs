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
  sudo procexport export upstart /etc/init -a myapp -f /srv/myapp/Procfile -c web=2
  procexport --root /tmp/pkg --config ./procexport.yaml upstart -p Procfile -n myapp";

/// Turn a Procfile into init-system jobs, safely through sudo.
#[derive(Debug, Parser)]
#[command(name = "procexport", version = env!("PROCEXPORT_VERSION"), after_help = EXAMPLES)]
pub struct Cli {
    /// Before the subcommand, as after it: --dry-run for an export, clean, start, stop,
    /// restart or kubernetes.
    #[arg(long)]
    pub dry_run: bool,

    /// Before the subcommand, as after it: --detailed-exitcode for an export or clean.
    #[arg(long)]
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

impl Cli {
    /// The dry-run flags of this run, given before the subcommand or after it. A flag given
    /// before a subcommand that has no use for it is refused, as clap refuses it after one.
    pub fn plan_flags(&self) -> Result<PlanFlags, String> {
        // What the subcommand took itself, and which of the two flags it has.
        let (own, takes_dry_run, takes_detailed) = match &self.command {
            Command::Export { args, .. } => (args.plan, true, true),
            Command::Clean(args) => (args.plan, true, true),
            Command::Control { dry_run, .. } => (own_dry_run(*dry_run), true, false),
            Command::Kubernetes(args) => (own_dry_run(args.dry_run), true, false),
            Command::Status(_) | Command::List | Command::Man(_) | Command::Completions(_) => {
                (PlanFlags::default(), false, false)
            }
        };
        let name = self.command.name();
        if self.dry_run && !takes_dry_run {
            return Err(format!(
                "--dry-run does not apply to {name}: it changes nothing"
            ));
        }
        if self.detailed_exitcode && !takes_detailed {
            return Err(format!(
                "--detailed-exitcode does not apply to {name}: only an export or a clean can \
                 say whether it would change something"
            ));
        }
        let flags = PlanFlags {
            dry_run: own.dry_run || self.dry_run,
            detailed_exitcode: own.detailed_exitcode || self.detailed_exitcode,
        };
        if flags.detailed_exitcode && !flags.dry_run {
            return Err("--detailed-exitcode needs --dry-run: add --dry-run".to_owned());
        }
        Ok(flags)
    }
}

fn own_dry_run(flag: DryRun) -> PlanFlags {
    PlanFlags {
        dry_run: flag.dry_run,
        detailed_exitcode: false,
    }
}

impl Command {
    /// The subcommand's name, for messages.
    fn name(&self) -> &str {
        match self {
            Self::Export { backend, .. } => backend,
            Self::Kubernetes(_) => "kubernetes",
            Self::Clean(_) => "clean",
            Self::Control { action, .. } => action.verb(),
            Self::Status(_) => "status",
            Self::List => "list",
            Self::Man(_) => "man",
            Self::Completions(_) => "completions",
        }
    }
}

/// What to do. The export subcommands are the backends' names, one per backend of the
/// registry; `clean`, the control subcommands and `list` cover them all. `kubernetes` is not a
/// backend of the registry (it installs nothing), so it is a fixed subcommand, as `clean` is.
#[derive(Debug)]
pub enum Command {
    /// Export the Procfile through the backend called `backend`; `location` is foreman's
    /// `export <format> <location>` argument (see `ForemanExport`).
    Export {
        backend: String,
        args: ExportArgs,
        location: Option<Utf8PathBuf>,
    },
    /// Print (or write to a directory) the Procfile as Kubernetes manifests.
    Kubernetes(KubernetesArgs),
    /// Remove every file an export installed for the app.
    Clean(CleanArgs),
    /// Start, stop or restart the jobs of the app's manifest.
    Control {
        action: Action,
        args: AppArgs,
        dry_run: DryRun,
    },
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
const EXPORT_ABOUT: &str =
    "foreman's spelling of an export: `export <FORMAT> [LOCATION]` is the <FORMAT> subcommand";
const KUBERNETES_ABOUT: &str =
    "Print (or write to --output DIR) the Procfile as Kubernetes manifests; never needs sudo";

/// The fixed subcommands besides the exports: name, help line.
const FIXED: &[(&str, &str)] = &[
    ("export", EXPORT_ABOUT),
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
        "reload",
        "Tell every job of the app to reload, through the init that runs it: its \
         reload_signal (systemd, Upstart), SIGHUP (runit, supervisord)",
    ),
    (
        "status",
        "Show each installed job of the app, its backend and its live state",
    ),
    (
        "list",
        "Show every app with a manifest, by the name -n takes: its backends, job counts and \
         owner (through sudo, only the apps you own or manage)",
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
                dry_run: DryRun::from_arg_matches(sub)?,
            })
        };
        match matches.subcommand() {
            Some(("export", sub)) => {
                let foreman = ForemanExport::from_arg_matches(sub)?;
                Ok(Self::Export {
                    backend: foreman.format,
                    args: foreman.args,
                    location: foreman.location,
                })
            }
            Some(("clean", sub)) => Ok(Self::Clean(CleanArgs::from_arg_matches(sub)?)),
            Some(("kubernetes", sub)) => {
                Ok(Self::Kubernetes(KubernetesArgs::from_arg_matches(sub)?))
            }
            Some(("start", sub)) => control(Action::Start, sub),
            Some(("stop", sub)) => control(Action::Stop, sub),
            Some(("restart", sub)) => control(Action::Restart, sub),
            Some(("reload", sub)) => control(Action::Reload, sub),
            Some(("status", sub)) => Ok(Self::Status(AppArgs::from_arg_matches(sub)?)),
            Some(("list", _)) => Ok(Self::List),
            Some(("man", sub)) => Ok(Self::Man(ManArgs::from_arg_matches(sub)?)),
            Some(("completions", sub)) => {
                Ok(Self::Completions(CompletionsArgs::from_arg_matches(sub)?))
            }
            Some((name, sub)) if NAMES.contains(&name) => Ok(Self::Export {
                backend: name.to_owned(),
                args: ExportArgs::from_arg_matches(sub)?,
                location: None,
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
        // Each subcommand's arguments are built only when that subcommand is used (or help,
        // completions or a manual page needs them all): a run pays for one subcommand's
        // arguments, not for twenty.
        for (name, about) in ABOUT {
            command = command.subcommand(
                clap::Command::new(*name)
                    .about(*about)
                    .defer(ExportArgs::augment_args),
            );
        }
        for (name, about) in FIXED {
            let sub = clap::Command::new(*name).about(*about);
            command = command.subcommand(match *name {
                "export" => sub.defer(ForemanExport::augment_args),
                "clean" => sub.defer(CleanArgs::augment_args),
                "kubernetes" => sub.defer(KubernetesArgs::augment_args),
                "man" => sub.defer(ManArgs::augment_args),
                "completions" => sub.defer(CompletionsArgs::augment_args),
                "list" => sub,
                "status" => sub.defer(AppArgs::augment_args),
                // start, stop, restart, reload
                _ => sub.defer(control_args),
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

/// The arguments of start, stop, restart and reload.
fn control_args(command: clap::Command) -> clap::Command {
    DryRun::augment_args(AppArgs::augment_args(command))
}

// `--dry-run` and `--detailed-exitcode`, on the subcommands whose exit status can say whether
// something would change: the exports and clean. (A `//` comment: clap would take a `///` one
// on a struct it augments as the subcommand's help text.)
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Args)]
pub struct PlanFlags {
    /// Print every file that would be written or removed, with path, mode and contents; write
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// With --dry-run: exit 0 when nothing would change and 3 when something would (1 and 2
    /// keep their meanings), like `terraform plan -detailed-exitcode`.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

// `--dry-run` alone, for start, stop, restart and kubernetes: they print what they would do,
// and their exit status never says whether anything would change.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Args)]
pub struct DryRun {
    /// Print what would be done; do nothing.
    #[arg(long)]
    pub dry_run: bool,
}

// foreman's `export <format> [location] -a app -f Procfile -c web=2`: the same export as the
// <format> subcommand. foreman writes to the location it is given; procexport writes where its
// root-owned config says, so a location is accepted only when it is one of those directories
// (it changes nothing) and refused otherwise, through sudo or not (`cli::run`).
#[derive(Debug, Args)]
pub struct ForemanExport {
    /// The init system, as foreman names it: one of procexport's export subcommands.
    #[arg(value_name = "FORMAT", value_parser = PossibleValuesParser::new(NAMES.iter().copied()))]
    pub format: String,

    /// foreman's target directory: accepted only when it is a directory this export writes to
    /// anyway (e.g. /etc/init for upstart); procexport never writes elsewhere because of it.
    #[arg(value_name = "LOCATION")]
    pub location: Option<Utf8PathBuf>,

    #[command(flatten)]
    pub args: ExportArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The Procfile to export (read with the invoking user's rights). foreman's -f works too;
    /// a port is --port here.
    #[arg(
        short,
        long,
        short_alias = 'f',
        value_name = "PROCFILE",
        default_value = "Procfile",
        value_parser = parse_procfile
    )]
    pub procfile: Utf8PathBuf,

    /// The app's name: ASCII letters, digits, "_" and "-", starting with a letter or digit.
    /// foreman's -a works too.
    #[arg(short = 'n', long = "app", short_alias = 'a', value_name = "APP")]
    pub app: String,

    /// How many of each process type to run, overriding `count`: `web=2,worker=1`; `all=N`
    /// sets every type not named; 0 installs none of a type. honcho's -c and foreman's
    /// --concurrency work too.
    #[arg(
        short = 'm',
        long,
        short_alias = 'c',
        alias = "concurrency",
        value_name = "TYPE=N,...",
        value_parser = parse_formation
    )]
    pub formation: Option<Formation>,

    /// The base port: process type i's instance j gets PORT = base + 100 x i + j (default:
    /// PORT from the .env files, else the config's `port`, else 5000).
    #[arg(long, value_name = "PORT", value_parser = parse_port)]
    pub port: Option<u16>,

    /// The .env files to read, comma-separated (read with the invoking user's rights);
    /// default: `.env` beside the Procfile, when there is one.
    #[arg(
        short = 'e',
        long = "env-file",
        alias = "env",
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

    /// Take over the files foreman, honcho or init-exporter exported for the app when each is byte for
    /// byte what that tool writes for it (root or the app's managers only); anything else
    /// is named and left.
    #[arg(long)]
    pub adopt: bool,

    #[command(flatten)]
    pub plan: PlanFlags,
}

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The app to act on.
    #[arg(short = 'n', long = "app", short_alias = 'a', value_name = "APP")]
    pub app: String,

    /// Only the jobs this backend installed.
    #[arg(long, value_parser = PossibleValuesParser::new(NAMES.iter().copied()))]
    pub backend: Option<String>,
}

// `procexport kubernetes`: the Procfile and app as for every export, and what only this export
// takes; each value is checked later (src/kubernetes/settings.rs). A `//` comment, not a
// doc comment: clap would print a doc comment here as the subcommand's help.
#[derive(Debug, Args)]
pub struct KubernetesArgs {
    /// The Procfile to export. foreman's -f works too.
    #[arg(
        short,
        long,
        short_alias = 'f',
        value_name = "PROCFILE",
        value_parser = parse_procfile
    )]
    pub procfile: Utf8PathBuf,

    /// The app's name: ASCII letters, digits, "_" and "-", starting with a letter or digit. Its
    /// Kubernetes form is lowercased, with "_" as "-". foreman's -a works too.
    #[arg(short = 'n', long = "app", short_alias = 'a', value_name = "APP")]
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
    #[arg(
        short = 'm',
        long,
        short_alias = 'c',
        alias = "concurrency",
        value_name = "LABEL=N,..."
    )]
    pub formation: Option<String>,

    /// The uid the containers run as (default: the image's own user, which must not be root).
    #[arg(long, value_name = "UID")]
    pub run_as_user: Option<i64>,

    #[command(flatten)]
    pub dry_run: DryRun,
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

/// A base port: 1 to 65535. Port 0 would hand every job PORT=0, which a server takes as
/// "any free port", so nothing in front of it could find it.
fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(0) => Err(
            "0 is not a port a job can be reached on: give the first port of the app, from 1 \
             to 65535, such as --port 5000"
                .to_owned(),
        ),
        Ok(port) => Ok(port),
        Err(_) => Err(format!(
            "{text:?} is not a port number: give one from 1 to 65535, such as --port 5000"
        )),
    }
}

/// `TYPE=N,...`, each type named once (`web=1,web=2` says two things of one type).
fn parse_formation(text: &str) -> Result<Formation, String> {
    let mut formation = Formation::default();
    let mut named = std::collections::HashSet::new();
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
        let name = name.trim();
        if !named.insert(name) {
            return Err(format!(
                "{name:?} is given twice: name each process type once, with the count you \
                 want (for example {name}={count})"
            ));
        }
        match name {
            "all" => formation.all = Some(count),
            name => {
                formation.counts.insert(name.to_owned(), count);
            }
        }
    }
    Ok(formation)
}

/// A Procfile path. foreman's and honcho's `-p` is the port: a value that is only digits is
/// taken for one, and answered with the flag to use (a Procfile named so is `./5000`).
fn parse_procfile(text: &str) -> Result<Utf8PathBuf, String> {
    if !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "-p is the Procfile here; for a port write --port {text} (a Procfile named {text} \
             is ./{text})"
        ));
    }
    Ok(Utf8PathBuf::from(text))
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The app whose files to remove.
    #[arg(short = 'n', long = "app", short_alias = 'a', value_name = "APP")]
    pub app: String,

    /// Only remove what this backend installed.
    #[arg(long, value_parser = PossibleValuesParser::new(NAMES.iter().copied()))]
    pub backend: Option<String>,

    /// Remove the files foreman, honcho or init-exporter exported for the app too, when each is byte for
    /// byte what that tool writes for it (root or the app's managers only); anything else
    /// is named and left.
    #[arg(long)]
    pub adopt: bool,

    #[command(flatten)]
    pub plan: PlanFlags,
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
                matches!(cli.command, Command::Control { action: a, args, .. } if a == action && args.app == "a")
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
        assert!(before.unwrap().plan_flags().unwrap().dry_run);
        assert!(after.unwrap().plan_flags().unwrap().dry_run);
        let both =
            Cli::try_parse_from(["p", "--dry-run", "clean", "-n", "a", "--detailed-exitcode"]);
        assert_eq!(
            both.unwrap().plan_flags(),
            Ok(PlanFlags {
                dry_run: true,
                detailed_exitcode: true
            })
        );
        let alone = Cli::try_parse_from(["p", "systemd", "-n", "a", "--detailed-exitcode"]);
        assert!(alone
            .unwrap()
            .plan_flags()
            .unwrap_err()
            .contains("needs --dry-run"));
    }

    /// `list` and `status` change nothing: `--dry-run` and `--detailed-exitcode` are not
    /// theirs, neither in their help nor on their command line, before or after the name.
    #[test]
    fn list_and_status_take_no_dry_run_flags() {
        let mut cli = Cli::command();
        for name in ["list", "status"] {
            let help = cli
                .find_subcommand_mut(name)
                .unwrap()
                .render_help()
                .to_string();
            assert!(
                !help.contains("--dry-run") && !help.contains("--detailed-exitcode"),
                "{name}: {help}"
            );
        }
        for line in [
            &["p", "list", "--dry-run"][..],
            &["p", "status", "-n", "a", "--detailed-exitcode"],
            &["p", "start", "-n", "a", "--detailed-exitcode"],
        ] {
            assert!(Cli::try_parse_from(line).is_err(), "{line:?}");
        }
        for (line, says) in [
            (
                &["p", "--dry-run", "list"][..],
                "--dry-run does not apply to list",
            ),
            (
                &["p", "--dry-run", "--detailed-exitcode", "status", "-n", "a"],
                "--dry-run does not apply to status",
            ),
            (
                &["p", "--dry-run", "--detailed-exitcode", "stop", "-n", "a"],
                "--detailed-exitcode does not apply to stop",
            ),
        ] {
            let error = Cli::try_parse_from(line).unwrap().plan_flags().unwrap_err();
            assert!(error.contains(says), "{line:?}: {error}");
        }
        // The subcommands that use them still show them.
        for name in ["upstart", "clean", "restart", "kubernetes", "export"] {
            let help = cli
                .find_subcommand_mut(name)
                .unwrap()
                .render_help()
                .to_string();
            assert!(help.contains("--dry-run"), "{name}: {help}");
        }
        let start = Cli::try_parse_from(["p", "start", "-n", "a", "--dry-run"]).unwrap();
        assert!(start.plan_flags().unwrap().dry_run);
    }

    /// `kubernetes --help` is user text: it named `backends/kubernetes/settings.rs` and said
    /// app names allow no dash.
    #[test]
    fn kubernetes_help_reads_as_user_text() {
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut("kubernetes")
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.starts_with(KUBERNETES_ABOUT), "{help}");
        assert!(!help.contains(".rs"), "{help}");
        assert!(
            help.contains(r#"ASCII letters, digits, "_" and "-""#),
            "{help}"
        );
        // What the help says is what the checks accept.
        assert!(crate::model::name::Name::parse("my-app_2", "app name").is_ok());
        for sub in cli.get_subcommands_mut() {
            let help = sub.render_help().to_string();
            assert!(!help.contains(".rs`") && !help.contains(".rs)"), "{help}");
        }
    }

    /// foreman's and honcho's spellings: `export <format> [location]`, `-a`, `-f`, `-c`,
    /// `--env`, `--concurrency`.
    #[test]
    fn foremans_spellings_are_accepted() {
        let cli = Cli::try_parse_from([
            "p",
            "export",
            "upstart",
            "/etc/init",
            "-a",
            "app",
            "-f",
            "Procfile.prod",
            "-c",
            "web=2",
            "--env",
            "a.env",
        ])
        .unwrap();
        let Command::Export {
            backend,
            args,
            location,
        } = cli.command
        else {
            panic!("not an export: {:?}", cli.command)
        };
        assert_eq!(backend, "upstart");
        assert_eq!(
            location.as_deref(),
            Some(camino::Utf8Path::new("/etc/init"))
        );
        assert_eq!(args.app, "app");
        assert_eq!(args.procfile, "Procfile.prod");
        assert_eq!(args.env_files, ["a.env"]);
        let counts = args.formation.unwrap().counts;
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            [("web".to_owned(), 2)]
        );
        let cli = Cli::try_parse_from([
            "p",
            "systemd",
            "-a",
            "app",
            "-f",
            "P",
            "--concurrency",
            "all=2",
        ])
        .unwrap();
        let Command::Export { args, location, .. } = cli.command else {
            panic!("not an export")
        };
        assert_eq!((args.app.as_str(), args.procfile.as_str()), ("app", "P"));
        assert_eq!(args.formation.unwrap().all, Some(2));
        assert!(location.is_none());
        for line in [
            &["p", "clean", "-a", "app"][..],
            &["p", "status", "-a", "app"],
            &["p", "kubernetes", "-a", "app", "-f", "P", "-c", "web=2"],
        ] {
            Cli::try_parse_from(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        }
        // A format procexport does not have is named with the ones it has.
        let error = Cli::try_parse_from(["p", "export", "bluepill", "-a", "app"]).unwrap_err();
        assert!(error.to_string().contains("upstart"), "{error}");
    }

    /// foreman's `-p` is the port: here it is the Procfile, and a number is answered with the
    /// flag to write.
    #[test]
    fn a_port_given_as_dash_p_is_answered_with_dash_dash_port() {
        for line in [
            &["p", "upstart", "-n", "a", "-p", "5000"][..],
            &["p", "export", "upstart", "-a", "a", "-p", "5000"],
            &["p", "kubernetes", "-n", "a", "-p", "5000"],
        ] {
            let error = Cli::try_parse_from(line).unwrap_err().to_string();
            assert!(
                error.contains("-p is the Procfile here; for a port write --port 5000"),
                "{line:?}: {error}"
            );
        }
        let cli = Cli::try_parse_from(["p", "upstart", "-n", "a", "-p", "./5000"]).unwrap();
        assert!(matches!(cli.command, Command::Export { args, .. } if args.procfile == "./5000"));
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
                counts: [("web".into(), 2), ("worker".into(), 0)].into(),
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
