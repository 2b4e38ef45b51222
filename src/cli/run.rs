//! The program: parse the command line, settle who is running and what they may ask for,
//! load the trusted config, then hand plain values to the pipeline: read and assemble the
//! Procfile, render it through the backend, and install it (or clean) in one transaction.

use crate::backends::{keys, Backend, BackendKind};
use crate::cli::args::{CleanArgs, Cli, Command, ExportArgs};
use crate::cli::gem;
use crate::error::{Error, Location, Result};
use crate::install::disk::Disk;
use crate::install::installer::Target;
use crate::install::plan::Ownership;
use crate::install::privilege::Invoker;
use crate::install::transaction::{self, print_error, Change, Context, LogDir, Outcome};
use crate::model::config::{Config, DEFAULT_PATHS};
use crate::model::env::Env;
use crate::model::name::Name;
use crate::model::text::AbsPath;
use crate::procfile::assemble::{assemble, Options};
use crate::procfile::{self, dotenv};
use crate::sanitize::Quoted;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;

/// Runs procexport with `args` (the first is the program name), printing to `out`.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: &mut dyn Write,
) -> Result<()> {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Installed as the gem's `upstart-export`: the gem's command line and config file.
    let as_gem = args.first().is_some_and(gem::invoked_as_gem);
    let args = if as_gem { gem::translate(args) } else { args };
    let cli = Cli::try_parse_from(args).map_err(Error::Cli)?;
    let invoker = Invoker::detect()?;
    invoker.refuse_through_sudo("--root", cli.root.is_some())?;
    invoker.refuse_through_sudo("--config", cli.config.is_some())?;
    let live = cli.root.is_none();
    let mut disk = Disk::new(cli.root, invoker.euid);
    // The Procfile is read first, with the invoking user's rights: whether that user may read
    // it is the first thing settled, before anything else can fail or be shown.
    let (procfile, dotenv) = match &cli.command {
        Command::Export { args, .. } => (
            Some(Disk::read_procfile(args.procfile.as_str(), &invoker)?),
            read_env_files(args, &invoker)?,
        ),
        Command::Clean(_) => (None, Vec::new()),
    };
    let mut config = load_config(&disk, cli.config.as_ref().map(|p| p.as_str()), as_gem)?;
    if cli.dry_run && invoker.sudo.is_some() {
        // The config is root's: a dry run shows the invoking user the names of its variables,
        // not their values.
        config.defaults.env = config.defaults.env.redacted("(hidden: set in the config)");
    }
    let no_reload = matches!(&cli.command, Command::Export { args, .. } if args.no_reload);
    let target = match (live, no_reload) {
        (false, _) => Target::Root,
        (true, true) => Target::LiveNoReload,
        (true, false) => Target::Live,
    };
    let ownership = invoker.is_root().then_some(Ownership {
        run_gid: config.run_as.gid,
    });
    let mut cx = Context {
        disk: &mut disk,
        state_dir: &config.state_dir,
        no_prefix: config.prefix.is_empty(),
        ownership,
        run_group: &config.run_as.group,
        dry_run: cli.dry_run,
        target,
        out,
    };
    match cli.command {
        Command::Export { backend, args } => {
            let backend = BackendKind::build(&backend, &config)
                .expect("clap only accepts the registry's names")?;
            export(
                &mut cx,
                &config,
                &backend,
                &args,
                &procfile.unwrap_or_default(),
                dotenv,
            )
        }
        Command::Clean(args) => clean(&mut cx, &config, &args),
    }
}

/// Exports the Procfile whose contents `bytes` were read from `args.procfile`.
fn export(
    cx: &mut Context,
    config: &Config,
    backend: &BackendKind,
    args: &ExportArgs,
    bytes: &[u8],
    dotenv: Vec<(String, Env)>,
) -> Result<()> {
    let app_name = Name::parse(&args.app, "app name").map_err(Error::Usage)?;
    let file = args.procfile.as_str();
    let parsed = procfile::parse(file, bytes)?;
    let default_dir = procfile_dir(file)?;
    let options = Options {
        formation: args.formation.clone().unwrap_or_default(),
        port: args.port,
        dotenv,
    };
    let app = assemble(config, &parsed, &app_name, file, &default_dir, &options)?;
    let outputs = backend.render(&app)?;
    for note in &app.notes {
        writeln!(cx.out, "note: {note}").map_err(print_error)?;
    }
    let log_dir = LogDir {
        parent: config.log_dir.to_string(),
        name: app.full_name.clone(),
        uid: app.run_as.uid,
        gid: app.run_as.gid,
    };
    transaction::install(
        cx,
        backend,
        &app.full_name,
        Change::Export { outputs, log_dir },
    )?;
    Ok(())
}

/// Removes what every backend (or the one asked for) installed for the app.
fn clean(cx: &mut Context, config: &Config, args: &CleanArgs) -> Result<()> {
    let app_name = Name::parse(&args.app, "app name").map_err(Error::Usage)?;
    let full_name = format!("{}{}", config.prefix, app_name);
    let mut found = false;
    for backend in BackendKind::all(config)? {
        if args
            .backend
            .as_deref()
            .is_some_and(|wanted| wanted != crate::install::installer::Installer::name(&backend))
        {
            continue;
        }
        let outcome = transaction::install(cx, &backend, &full_name, Change::Clean)?;
        found |= outcome == Outcome::Done;
    }
    if !found {
        writeln!(cx.out, "nothing is installed for {full_name}").map_err(print_error)?;
    }
    Ok(())
}

/// Reads and parses the `.env` files: those of `-e`, else `.env` beside the Procfile when
/// there is one; each with the invoking user's rights, as the Procfile.
fn read_env_files(args: &ExportArgs, invoker: &Invoker) -> Result<Vec<(String, Env)>> {
    let mut files = Vec::new();
    if args.env_files.is_empty() {
        let beside = args
            .procfile
            .parent()
            .filter(|p| !p.as_str().is_empty())
            .map_or_else(|| ".env".into(), |dir| dir.join(".env"));
        if let Some(bytes) = Disk::read_env_file(beside.as_str(), invoker)? {
            files.push((beside.to_string(), dotenv::parse(beside.as_str(), &bytes)?));
        }
    }
    for path in &args.env_files {
        let bytes = Disk::read_env_file(path.as_str(), invoker)?
            .ok_or_else(|| Error::input(Location::file(path.as_str()), "no such file"))?;
        files.push((path.to_string(), dotenv::parse(path.as_str(), &bytes)?));
    }
    Ok(files)
}

/// The directory of the Procfile, the default working directory.
fn procfile_dir(file: &str) -> Result<AbsPath> {
    let absolute = std::path::absolute(file)
        .map_err(|e| Error::io(format!("resolving {}", Quoted(file)), e))?;
    let dir = absolute.parent().unwrap_or(&absolute);
    let text = dir.to_str().ok_or_else(|| {
        Error::input(
            Location::file(file),
            "the Procfile's directory is not valid UTF-8",
        )
    })?;
    AbsPath::parse(text, "the Procfile's directory")
        .map_err(|m| Error::input(Location::file(file), m))
}

/// Reads `--config`, else the first of the default config files that exists (the gem's first
/// when running as the gem), else defaults.
fn load_config(disk: &Disk, flag: Option<&str>, as_gem: bool) -> Result<Config> {
    let keys = keys();
    if let Some(path) = flag {
        let text = disk
            .read_config(path)?
            .ok_or_else(|| Error::Usage(format!("config file {} does not exist", Quoted(path))))?;
        return Config::parse(path, Some(&text), &keys);
    }
    let mut paths = DEFAULT_PATHS;
    if as_gem {
        paths.reverse();
    }
    for path in paths {
        if let Some(text) = disk.read_config(path)? {
            return Config::parse(path, Some(&text), &keys);
        }
    }
    Config::parse("(built-in defaults)", None, &keys)
}
