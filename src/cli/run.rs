//! The program: parse the command line, settle who is running and what they may ask for,
//! load the trusted config, then hand plain values to the pipeline: read and assemble the
//! Procfile, render it through the backend, and install it (or clean) in one transaction.
//! `kubernetes` shares the reading and assembling, then renders manifests that it prints or
//! writes for the user, with no transaction: it installs nothing.

use crate::backends::kubernetes::{self, Flags, KubernetesOptions};
use crate::backends::{keys, Backend, BackendKind};
use crate::cli::args::{CleanArgs, Cli, Command, ExportArgs, KubernetesArgs};
use crate::error::{Error, Location, Result};
use crate::install::access::{self, Users};
use crate::install::disk::Disk;
use crate::install::installer::{Installer, Target};
use crate::install::plan::Ownership;
use crate::install::preflight;
use crate::install::privilege::Invoker;
use crate::install::transaction::{self, print_error, Change, Context, LogDir, Outcome};
use crate::model::account::{AccountError, RunAs};
use crate::model::config::{Config, DEFAULT_PATHS};
use crate::model::limits;
use crate::model::name::Name;
use crate::model::text::AbsPath;
use crate::procfile::{self, assemble::assemble};
use crate::sanitize::Quoted;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;

/// Exit status of a dry run with `--detailed-exitcode` that would change something.
pub const WOULD_CHANGE: u8 = 3;

/// Runs procexport with `args` (the first is the program name), printing to `out`. Returns
/// the exit status: 0, or `WOULD_CHANGE` (see `--detailed-exitcode`).
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: &mut dyn Write,
) -> Result<u8> {
    let cli = Cli::try_parse_from(args).map_err(Error::Cli)?;
    let invoker = Invoker::detect()?;
    if let Command::Kubernetes(args) = &cli.command {
        export_kubernetes(&cli, args, &invoker, out)?;
        return Ok(0);
    }
    invoker.refuse_through_sudo("--root", cli.root.is_some())?;
    invoker.refuse_through_sudo("--config", cli.config.is_some())?;
    if let Some(root) = cli.root.as_ref().filter(|r| r.is_relative()) {
        return Err(Error::Usage(format!(
            "--root must be an absolute path, not {}: write --root \"$PWD/{root}\" for a \
             directory here",
            Quoted(root.as_str())
        )));
    }
    let live = cli.root.is_none();
    let mut disk = Disk::new(cli.root, invoker.euid);
    // The Procfile is read first, with the invoking user's rights: whether that user may read
    // it is the first thing settled, before anything else can fail or be shown.
    let procfile = match &cli.command {
        Command::Export { args, .. } => {
            Some(Disk::read_procfile(args.procfile.as_str(), &invoker)?)
        }
        Command::Clean(_) | Command::Kubernetes(_) => None,
    };
    let mut config = load_config(
        &disk,
        cli.config.as_ref().map(|p| p.as_str()),
        RunAs::resolve,
    )?;
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
    let app = match &cli.command {
        Command::Export { args, .. } => &args.app,
        Command::Clean(args) => &args.app,
        Command::Kubernetes(args) => &args.app,
    };
    let app = app_name(app)?;
    let installed = authorize(&invoker, &mut disk, &config, &app)?;
    if let Command::Export { backend, .. } = &cli.command {
        for other in installed.iter().filter(|b| *b != backend) {
            crate::error::warn(&format!(
                "{}{app} is also installed with {other}: each process would run twice; remove \
                 that with `procexport clean -n {app} --backend {other}`",
                config.prefix
            ));
        }
    }
    let config = config.for_app(app.as_str());
    let mut cx = Context {
        disk: &mut disk,
        state_dir: &config.state_dir,
        no_prefix: config.prefix.is_empty(),
        ownership: invoker.is_root().then_some(Ownership {
            run_gid: config.run_as.gid,
        }),
        owner: invoker
            .sudo
            .map(|(uid, _)| uid)
            .or(invoker.is_root().then_some(0)),
        run_group: &config.run_as.group,
        dry_run: cli.dry_run,
        viewer: invoker.sudo.filter(|_| cli.dry_run),
        target,
        out,
    };
    let changed = match cli.command {
        Command::Export { backend, args } => {
            let backend = BackendKind::build(&backend, &config)
                .expect("clap only accepts the registry's names")?;
            let bytes = procfile.unwrap_or_default();
            export(&mut cx, &config, &backend, &app, &args, &bytes)?
        }
        Command::Clean(args) => clean(&mut cx, &config, &app, &args)?,
        Command::Kubernetes(_) => unreachable!("exported above"),
    };
    Ok(if cli.detailed_exitcode && changed {
        WOULD_CHANGE
    } else {
        0
    })
}

/// The longest app name: its generated names (`<prefix><app>-<job>.<suffix>`, the manifest's)
/// must still fit in a 255-byte file name with room for the jobs' own names.
const MAX_APP_NAME: usize = 100;

/// The `-n` app name, checked.
fn app_name(text: &str) -> Result<Name> {
    let name = Name::parse(text, "app name").map_err(Error::Usage)?;
    if text.len() > MAX_APP_NAME {
        return Err(Error::Usage(format!(
            "app name {}... is {} bytes; it may have at most {MAX_APP_NAME}",
            Quoted(&text[..20]),
            text.len()
        )));
    }
    Ok(name)
}

/// Refuses a sudo user who is neither the app's owner nor one of its managers (see
/// `install::access`), going by the owners the app's manifests record.
/// Returns the names of the backends the app is installed with.
fn authorize(
    invoker: &Invoker,
    disk: &mut Disk,
    config: &Config,
    app: &Name,
) -> Result<Vec<&'static str>> {
    let full_name = format!("{}{app}", config.prefix);
    let mut owners = Vec::new();
    let mut installed = Vec::new();
    for backend in BackendKind::all(config)? {
        let path = transaction::manifest_path(&config.state_dir, &backend, &full_name);
        let manifest = disk.read_manifest(&path)?;
        if !manifest.is_empty() {
            owners.push(manifest.owner);
            installed.push(Installer::name(&backend));
        }
    }
    access::authorize(invoker, config, app.as_str(), &owners, &Users::SYSTEM)?;
    Ok(installed)
}

/// Exports the Procfile whose contents `bytes` were read from `args.procfile`.
fn export(
    cx: &mut Context,
    config: &Config,
    backend: &BackendKind,
    app_name: &Name,
    args: &ExportArgs,
    bytes: &[u8],
) -> Result<bool> {
    let file = args.procfile.as_str();
    let parsed = procfile::parse(file, bytes)?;
    let asked: u64 = parsed
        .entries
        .iter()
        .map(|e| u64::from(e.count.unwrap_or(1)))
        .sum();
    limits::check_job_count(asked, &config.limits)?;
    let default_dir = procfile_dir(file)?;
    let app = assemble(config, &parsed, app_name, file, &default_dir)?;
    limits::check_jobs(&app, &config.limits)?;
    let outputs = backend.render(&app)?;
    limits::check_rendered(&app, &outputs, &config.limits)?;
    if cx.target != Target::Root && cx.ownership.is_some() {
        preflight::check(&app, &config.log_dir.join(&app.full_name))?;
    }
    let log_dir = LogDir {
        parent: config.log_dir.to_string(),
        name: app.full_name.clone(),
        uid: app.run_as.uid,
        gid: app.run_as.gid,
    };
    let outcome = transaction::install(
        cx,
        backend,
        &app.full_name,
        Change::Export { outputs, log_dir },
    )?;
    Ok(matches!(outcome, Outcome::Done { changed: true }))
}

/// `procexport kubernetes`: the Procfile read and assembled as for any export, rendered as
/// Kubernetes manifests and printed (or written to `--output DIR`). It installs nothing, so
/// it is refused through sudo (it never needs root) and with `--root`, and the run user is not
/// looked up (no job runs on this machine).
fn export_kubernetes(
    cli: &Cli,
    args: &KubernetesArgs,
    invoker: &Invoker,
    out: &mut dyn Write,
) -> Result<()> {
    if invoker.sudo.is_some() {
        return Err(Error::Usage(
            "procexport kubernetes is refused through sudo: it installs nothing on this machine and never needs root; run it as yourself"
                .to_owned(),
        ));
    }
    if cli.root.is_some() {
        return Err(Error::Usage(
            "--root does not apply to kubernetes: its manifests go to stdout or to --output DIR"
                .to_owned(),
        ));
    }
    let file = args.procfile.as_str();
    let bytes = Disk::read_procfile(file, invoker)?;
    let disk = Disk::new(None, invoker.euid);
    let config = load_config(
        &disk,
        cli.config.as_ref().map(|p| p.as_str()),
        RunAs::unresolved,
    )?;
    let app_name = app_name(&args.app)?;
    let parsed = procfile::parse(file, &bytes)?;
    // Only a working directory the Procfile gives is used (the Procfile's own directory on
    // this machine means nothing in the image), so the default passed here is never read.
    let unused = AbsPath::parse("/", "working directory").map_err(Error::Failed)?;
    let app = assemble(&config, &parsed, &app_name, file, &unused)?;
    let flags = Flags {
        image: args.image.clone(),
        port: args.port,
        listen: args.listen.clone(),
        env_in: args.env_in,
        secret_keys: args.secret_keys.clone(),
        release: args.release,
        formation: args.formation.clone(),
        run_as_user: args.run_as_user,
    };
    let options = KubernetesOptions::resolve(&flags, &config.kubernetes, &parsed, file)?;
    kubernetes::export(
        out,
        &disk,
        &app,
        &parsed,
        &options,
        args.output.as_ref().map(|d| d.as_str()),
        cli.dry_run,
    )
}

/// Removes what every backend (or the one asked for) installed for the app.
fn clean(cx: &mut Context, config: &Config, app_name: &Name, args: &CleanArgs) -> Result<bool> {
    let full_name = format!("{}{}", config.prefix, app_name);
    let mut found = false;
    let mut any_change = false;
    for backend in BackendKind::all(config)? {
        if args
            .backend
            .as_deref()
            .is_some_and(|wanted| wanted != Installer::name(&backend))
        {
            continue;
        }
        let outcome = transaction::install(cx, &backend, &full_name, Change::Clean)?;
        if let Outcome::Done { changed } = outcome {
            found = true;
            any_change |= changed;
        }
    }
    if !found {
        writeln!(cx.out, "nothing is installed for {full_name}").map_err(print_error)?;
    }
    Ok(any_change)
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

/// Reads `--config`, else the first of the default config files that exists, else defaults;
/// `resolve` looks up the run user and group.
fn load_config(
    disk: &Disk,
    flag: Option<&str>,
    resolve: fn(&str, &str) -> Result<RunAs, AccountError>,
) -> Result<Config> {
    let keys = keys();
    if let Some(path) = flag {
        let text = disk
            .read_config(path)?
            .ok_or_else(|| Error::Usage(format!("config file {} does not exist", Quoted(path))))?;
        return Config::parse_with(path, Some(&text), &keys, resolve);
    }
    for path in DEFAULT_PATHS {
        if let Some(text) = disk.read_config(path)? {
            return Config::parse_with(path, Some(&text), &keys, resolve);
        }
    }
    Config::parse_with("(built-in defaults)", None, &keys, resolve)
}
