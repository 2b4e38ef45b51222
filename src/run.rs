//! The program: parse the command line, settle who is running and what they may ask for,
//! load the trusted config, then export or clean.

use crate::backends::{BackendKind, Runit, Systemd, Upstart};
use crate::cli::{BackendName, Cli, Command, ExportArgs};
use crate::config::{Config, SystemdLog, DEFAULT_PATHS};
use crate::disk::Disk;
use crate::error::{Error, Result};
use crate::privilege::Invoker;
use crate::{clean, export};
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;

/// What every subcommand works with.
pub struct Session<'a> {
    pub invoker: Invoker,
    pub disk: Disk,
    pub config: Config,
    pub dry_run: bool,
    /// True when files go to the live system (no `--root`).
    pub live: bool,
    pub out: &'a mut dyn Write,
}

/// Runs procexport with `args` (the first is the program name), printing to `out`.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: &mut dyn Write,
) -> Result<()> {
    let cli = Cli::try_parse_from(args).map_err(Error::Cli)?;
    // The manual and completions only print: no identity, config or file is looked at.
    match &cli.command {
        Command::Man(args) => return crate::manpage::print(args, out),
        Command::Completions(args) => return crate::completions::print(args, out),
        Command::Upstart(_) | Command::Systemd(_) | Command::Runit(_) | Command::Clean(_) => {}
    }
    let invoker = Invoker::detect()?;
    invoker.refuse_through_sudo("--root", cli.root.is_some())?;
    invoker.refuse_through_sudo("--config", cli.config.is_some())?;
    let live = cli.root.is_none();
    let disk = Disk::new(cli.root, invoker.euid);
    // The Procfile is read first, with the invoking user's rights: whether that user may read
    // it is the first thing settled, before anything else can fail or be shown.
    let procfile = match &cli.command {
        Command::Upstart(args) | Command::Runit(args) => Some(read_procfile(args, &invoker)?),
        Command::Systemd(args) => Some(read_procfile(&args.export, &invoker)?),
        Command::Clean(_) | Command::Man(_) | Command::Completions(_) => None,
    };
    let mut config = load_config(&disk, cli.config.as_ref().map(|p| p.as_str()))?;
    if cli.dry_run && invoker.sudo.is_some() {
        // The config is root's: a dry run shows the invoking user the names of its variables,
        // not their values.
        config.defaults.env = config.defaults.env.redacted("(hidden: set in the config)");
    }
    let mut session = Session {
        invoker,
        disk,
        config,
        dry_run: cli.dry_run,
        live,
        out,
    };
    match cli.command {
        Command::Upstart(args) => export::export(
            &mut session,
            &BackendKind::from(Upstart),
            &args,
            &procfile.unwrap_or_default(),
        ),
        Command::Systemd(args) => {
            let backend = Systemd {
                reload: !args.no_reload,
                log: session.config.systemd_log,
            };
            export::export(
                &mut session,
                &BackendKind::from(backend),
                &args.export,
                &procfile.unwrap_or_default(),
            )
        }
        Command::Runit(args) => export::export(
            &mut session,
            &BackendKind::from(Runit),
            &args,
            &procfile.unwrap_or_default(),
        ),
        Command::Clean(args) => {
            let backends = all_backends()
                .into_iter()
                .filter(|(name, _)| args.backend.is_none_or(|wanted| wanted == *name))
                .map(|(_, backend)| backend)
                .collect::<Vec<_>>();
            clean::clean(&mut session, &backends, &args.app)
        }
        // Printed before the session was set up.
        Command::Man(_) | Command::Completions(_) => Ok(()),
    }
}

fn read_procfile(args: &ExportArgs, invoker: &Invoker) -> Result<Vec<u8>> {
    Disk::read_procfile(args.procfile.as_str(), invoker)
}

/// The backends `clean` covers. Cleaning renders nothing, so the log choice does not matter.
pub(crate) fn all_backends() -> Vec<(BackendName, BackendKind)> {
    let systemd = Systemd {
        reload: true,
        log: SystemdLog::default(),
    };
    vec![
        (BackendName::Upstart, BackendKind::from(Upstart)),
        (BackendName::Systemd, BackendKind::from(systemd)),
        (BackendName::Runit, BackendKind::from(Runit)),
    ]
}

/// Reads `--config`, else the first of the default config files that exists, else defaults.
fn load_config(disk: &Disk, flag: Option<&str>) -> Result<Config> {
    if let Some(path) = flag {
        let text = disk.read_config(path)?.ok_or_else(|| {
            Error::Usage(format!(
                "config file {} does not exist",
                crate::sanitize::Quoted(path)
            ))
        })?;
        return Config::parse(path, Some(&text));
    }
    for path in DEFAULT_PATHS {
        if let Some(text) = disk.read_config(path)? {
            return Config::parse(path, Some(&text));
        }
    }
    Config::parse("(built-in defaults)", None)
}
