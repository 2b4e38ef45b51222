//! The program: parse the command line, settle who is running and what they may ask for,
//! load the trusted config, then hand plain values to the pipeline: read and assemble the
//! Procfile, render it through the backend, and install it (or clean) in one transaction; or
//! start, stop, restart or show the jobs of an app's manifest, or list the apps.

use crate::backends::{keys, Backend, BackendKind};
use crate::cli::args::{Action, AppArgs, CleanArgs, Cli, Command, ExportArgs};
use crate::error::{Error, Location, Result};
use crate::install::disk::Disk;
use crate::install::installer::{Installer, Target};
use crate::install::plan::Ownership;
use crate::install::privilege::Invoker;
use crate::install::transaction::{self, print_error, Change, Context, LogDir, Outcome};
use crate::model::config::{Config, DEFAULT_PATHS};
use crate::model::name::Name;
use crate::model::text::AbsPath;
use crate::procfile::{self, assemble::assemble};
use crate::sanitize::Quoted;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;

/// Runs procexport with `args` (the first is the program name), printing to `out`.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: &mut dyn Write,
) -> Result<()> {
    let cli = Cli::try_parse_from(args).map_err(Error::Cli)?;
    let invoker = Invoker::detect()?;
    invoker.refuse_through_sudo("--root", cli.root.is_some())?;
    invoker.refuse_through_sudo("--config", cli.config.is_some())?;
    let live = cli.root.is_none();
    if !live && matches!(&cli.command, Command::Export { args, .. } if args.restart) {
        return Err(Error::Usage(
            "--restart acts on the running init, and the files under --root are not this \
             system's"
                .to_owned(),
        ));
    }
    let mut disk = Disk::new(cli.root, invoker.euid);
    // The Procfile is read first, with the invoking user's rights: whether that user may read
    // it is the first thing settled, before anything else can fail or be shown.
    let procfile = match &cli.command {
        Command::Export { args, .. } => {
            Some(Disk::read_procfile(args.procfile.as_str(), &invoker)?)
        }
        _ => None,
    };
    let mut config = load_config(&disk, cli.config.as_ref().map(|p| p.as_str()))?;
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
            authorize(&invoker, &config, &args.app)?;
            let backend = BackendKind::build(&backend, &config)
                .expect("clap only accepts the registry's names")?;
            export(
                &mut cx,
                &config,
                &backend,
                &args,
                &procfile.unwrap_or_default(),
            )
        }
        Command::Clean(args) => {
            authorize(&invoker, &config, &args.app)?;
            clean(&mut cx, &config, &args)
        }
        Command::Control { action, args } => {
            authorize(&invoker, &config, &args.app)?;
            control(&mut cx, &config, action, &args)
        }
        Command::Status(args) => {
            authorize(&invoker, &config, &args.app)?;
            status(&mut cx, &config, &args)
        }
        Command::List => list(&mut cx, &config),
    }
}

/// Whether the invoking user may act on app `app`.
#[allow(clippy::unnecessary_wraps)]
fn authorize(_invoker: &Invoker, _config: &Config, _app: &str) -> Result<()> {
    // owner rules: see the multi-tenancy change (root without sudo always; through sudo, the
    // user who first exported the app and its `managers`). Until then, allowed.
    Ok(())
}

/// Exports the Procfile whose contents `bytes` were read from `args.procfile`.
fn export(
    cx: &mut Context,
    config: &Config,
    backend: &BackendKind,
    args: &ExportArgs,
    bytes: &[u8],
) -> Result<()> {
    let app_name = Name::parse(&args.app, "app name").map_err(Error::Usage)?;
    let file = args.procfile.as_str();
    let parsed = procfile::parse(file, bytes)?;
    let default_dir = procfile_dir(file)?;
    let app = assemble(config, &parsed, &app_name, file, &default_dir)?;
    let outputs = backend.render(&app)?;
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
        Change::Export {
            outputs,
            log_dir,
            restart: args.restart,
        },
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
            .is_some_and(|wanted| wanted != backend.name())
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

/// The backends the app's jobs are asked of: every one, or the one `--backend` names.
fn chosen(config: &Config, backend: Option<&str>) -> Result<Vec<BackendKind>> {
    Ok(BackendKind::all(config)?
        .into_iter()
        .filter(|b| backend.is_none_or(|wanted| wanted == b.name()))
        .collect())
}

fn full_name(config: &Config, app: &str) -> Result<String> {
    let app_name = Name::parse(app, "app name").map_err(Error::Usage)?;
    Ok(format!("{}{}", config.prefix, app_name))
}

/// Starts, stops or restarts the jobs of every backend's manifest of the app.
fn control(cx: &mut Context, config: &Config, action: Action, args: &AppArgs) -> Result<()> {
    let full_name = full_name(config, &args.app)?;
    let mut found = false;
    for backend in chosen(config, args.backend.as_deref())? {
        let outcome = transaction::control(cx, &backend, &full_name, action)?;
        found |= outcome == Outcome::Done;
    }
    if !found {
        return Err(Error::Usage(format!(
            "nothing is installed for {full_name}"
        )));
    }
    Ok(())
}

/// Prints each installed job of the app, its backend and what its init says of it.
fn status(cx: &mut Context, config: &Config, args: &AppArgs) -> Result<()> {
    let full_name = full_name(config, &args.app)?;
    let mut rows = Vec::new();
    for backend in chosen(config, args.backend.as_deref())? {
        for line in transaction::status(cx, &backend, &full_name)?.unwrap_or_default() {
            rows.push([
                line.job,
                backend.name().to_owned(),
                line.state.to_string(),
                line.detail,
            ]);
        }
    }
    if rows.is_empty() {
        return Err(Error::Usage(format!(
            "nothing is installed for {full_name}"
        )));
    }
    print_table(cx.out, ["JOB", "BACKEND", "STATE", "INIT SAYS"], &rows)
}

/// Prints every app with a manifest: one row per app and backend, with its job count.
fn list(cx: &mut Context, config: &Config) -> Result<()> {
    let mut rows = Vec::new();
    for backend in BackendKind::all(config)? {
        let dir = config.state_dir.join(backend.name());
        for file in cx.disk.list_dir(&dir)? {
            let Some(full_name) = file.strip_suffix(".manifest") else {
                continue;
            };
            let manifest = cx.disk.read_manifest(&format!("{dir}/{file}"))?;
            let jobs = transaction::app_jobs(&backend, &manifest, full_name);
            rows.push([
                full_name.to_owned(),
                backend.name().to_owned(),
                jobs.processes.len().to_string(),
                owner(&manifest),
            ]);
        }
    }
    rows.sort();
    print_table(cx.out, ["APP", "BACKEND", "JOBS", "OWNER"], &rows)
}

/// Who owns the app, as its manifest records it.
fn owner(_manifest: &crate::install::manifest::Manifest) -> String {
    // owner rules: see the multi-tenancy change, which records the first exporter in the
    // manifest; until then the owner is not known.
    "-".to_owned()
}

/// Prints rows under a header, each column as wide as its widest cell.
fn print_table<const N: usize>(
    out: &mut dyn Write,
    header: [&str; N],
    rows: &[[String; N]],
) -> Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                let pad = widths[i] + 2 - cell.chars().count();
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end()).map_err(print_error)?;
    }
    Ok(())
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

/// Reads `--config`, else the first of the default config files that exists, else defaults.
fn load_config(disk: &Disk, flag: Option<&str>) -> Result<Config> {
    let keys = keys();
    if let Some(path) = flag {
        let text = disk
            .read_config(path)?
            .ok_or_else(|| Error::Usage(format!("config file {} does not exist", Quoted(path))))?;
        return Config::parse(path, Some(&text), &keys);
    }
    for path in DEFAULT_PATHS {
        if let Some(text) = disk.read_config(path)? {
            return Config::parse(path, Some(&text), &keys);
        }
    }
    Config::parse("(built-in defaults)", None, &keys)
}
