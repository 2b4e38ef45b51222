//! The program: parse the command line, settle who is running and what they may ask for,
//! load the trusted config, then hand plain values to the pipeline: read and assemble the
//! Procfile, render it through the backend, and install it (or clean) in one transaction; or
//! start, stop, restart or show the jobs of an app's manifest, or list the apps.
//! `kubernetes` shares the reading and assembling, then renders manifests that it prints or
//! writes for the user, with no transaction: it installs nothing.

use crate::backends::kubernetes::{self, Flags, KubernetesOptions};
use crate::backends::{keys, Backend, BackendKind};
use crate::cli::args::{Action, AppArgs, CleanArgs, Cli, Command, ExportArgs, KubernetesArgs};
use crate::cli::out::Remembered;
use crate::cli::{completions, gem, manpage};
use crate::error::{Error, Location, Result};
use crate::install::access::{self, Users};
use crate::install::disk::Disk;
use crate::install::installer::{Installer, Target};
use crate::install::interrupt::Interrupt;
use crate::install::plan::Ownership;
use crate::install::preflight;
use crate::install::privilege::Invoker;
use crate::install::transaction::{self, print_error, Change, Context, LogDir, Outcome};
use crate::model::account::{AccountError, RunAs};
use crate::model::config::{Config, DEFAULT_PATHS};
use crate::model::env::Env;
use crate::model::limits;
use crate::model::name::Name;
use crate::model::text::AbsPath;
use crate::procfile::assemble::{assemble, Options};
use crate::procfile::{self, dotenv};
use crate::sanitize::Quoted;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;

/// Exit status of a dry run with `--detailed-exitcode` that would change something.
pub const WOULD_CHANGE: u8 = 3;

/// Runs procexport with `args` (the first is the program name), printing to `out`. Returns
/// the exit status: 0, or `WOULD_CHANGE` (see `--detailed-exitcode`).
///
/// An error printing to `out` or to stderr never stops the command (a change that has begun
/// is finished): it is returned once the command is done, unless the command failed on its
/// own.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: &mut dyn Write,
) -> Result<u8> {
    let mut out = Remembered::new(out);
    let status = run_command(args.into_iter().map(Into::into).collect(), &mut out);
    let stdout = out.finish();
    let stderr = crate::error::take_stderr_error();
    let status = status?;
    match (stdout, stderr) {
        (Some(e), _) => Err(print_error(e)),
        (None, Some(error)) => Err(error),
        (None, None) => Ok(status),
    }
}

fn run_command(args: Vec<OsString>, out: &mut dyn Write) -> Result<u8> {
    // Installed as the gem's `upstart-export`: the gem's command line and config file.
    let as_gem = args.first().is_some_and(gem::invoked_as_gem);
    let args = if as_gem { gem::translate(args) } else { args };
    let cli = Cli::try_parse_from(args).map_err(Error::Cli)?;
    // The manual and completions only print: no identity, config or file is looked at.
    if let Some(printed) = print_only(&cli.command, out) {
        return printed.map(|()| 0);
    }
    let invoker = Invoker::detect()?;
    if let Command::Kubernetes(args) = &cli.command {
        export_kubernetes(&cli, args, &invoker, out)?;
        return Ok(0);
    }
    check_flags(&cli, &invoker)?;
    let live = cli.root.is_none();
    let mut disk = Disk::new(cli.root.clone(), invoker.euid);
    // The Procfile is read first, with the invoking user's rights: whether that user may read
    // it is the first thing settled, before anything else can fail or be shown.
    let (procfile, dotenv) = match &cli.command {
        Command::Export { args, .. } => (
            Some(Disk::read_procfile(args.procfile.as_str(), &invoker)?),
            read_env_files(args, &invoker)?,
        ),
        Command::Clean(_)
        | Command::Kubernetes(_)
        | Command::Control { .. }
        | Command::Status(_)
        | Command::List
        | Command::Man(_)
        | Command::Completions(_) => (None, Vec::new()),
    };
    let mut config = load_config(
        &disk,
        cli.config.as_ref().map(|p| p.as_str()),
        RunAs::resolve,
        as_gem,
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
        Command::Control { args, .. } | Command::Status(args) => &args.app,
        Command::List => {
            let mut cx = context(&mut disk, &config, &invoker, cli.dry_run, target, out);
            list(&mut cx, &config)?;
            return Ok(0);
        }
        Command::Kubernetes(_) | Command::Man(_) | Command::Completions(_) => {
            unreachable!("handled above")
        }
    };
    let app = app_name(app)?;
    let installed = authorize(&invoker, &mut disk, &config, &app)?;
    if let Command::Export { backend, .. } = &cli.command {
        warn_other_backends(&config, &app, backend, &installed);
    }
    let config = config.for_app(app.as_str());
    // From here on an export or a clean may change files: SIGINT and SIGTERM only ask the
    // transaction to stop at a point where it can end cleanly.
    let may_write = matches!(&cli.command, Command::Export { .. } | Command::Clean(_));
    let interrupt = if may_write && !cli.dry_run {
        Interrupt::catch()?
    } else {
        Interrupt::NEVER
    };
    let mut cx = context(&mut disk, &config, &invoker, cli.dry_run, target, out);
    cx.interrupt = interrupt;
    let changed = match cli.command {
        Command::Export { backend, args } => {
            let backend = BackendKind::build(&backend, &config)
                .expect("clap only accepts the registry's names")?;
            let bytes = procfile.unwrap_or_default();
            export(&mut cx, &config, &backend, &app, &args, &bytes, dotenv)?
        }
        Command::Clean(args) => clean(&mut cx, &config, &app, &args)?,
        Command::Control { action, args } => {
            control(&mut cx, &config, action, &args)?;
            false
        }
        Command::Status(args) => {
            status(&mut cx, &config, &args)?;
            false
        }
        Command::List | Command::Kubernetes(_) | Command::Man(_) | Command::Completions(_) => {
            unreachable!("handled above")
        }
    };
    Ok(if cli.detailed_exitcode && changed {
        WOULD_CHANGE
    } else {
        0
    })
}

/// Prints the manual or the completions; `None` for every other subcommand.
fn print_only(command: &Command, out: &mut dyn Write) -> Option<Result<()>> {
    match command {
        Command::Man(args) => Some(manpage::print(args, out)),
        Command::Completions(args) => Some(completions::print(args, out)),
        Command::Export { .. }
        | Command::Kubernetes(_)
        | Command::Clean(_)
        | Command::Control { .. }
        | Command::Status(_)
        | Command::List => None,
    }
}

/// Refuses the flags that may not be given here: `--root` and `--config` through sudo, a
/// relative `--root`, `--restart` under `--root`.
fn check_flags(cli: &Cli, invoker: &Invoker) -> Result<()> {
    invoker.refuse_through_sudo("--root", cli.root.is_some())?;
    invoker.refuse_through_sudo("--config", cli.config.is_some())?;
    if let Some(root) = cli.root.as_ref().filter(|r| r.is_relative()) {
        return Err(Error::Usage(format!(
            "--root must be an absolute path, not {}: write --root \"$PWD/{root}\" for a \
             directory here",
            Quoted(root.as_str())
        )));
    }
    if cli.root.is_some() && matches!(&cli.command, Command::Export { args, .. } if args.restart) {
        return Err(Error::Usage(
            "--restart acts on the running init, and the files under --root are not this \
             system's"
                .to_owned(),
        ));
    }
    Ok(())
}

/// What every transaction of this run shares.
fn context<'a>(
    disk: &'a mut Disk,
    config: &'a Config,
    invoker: &Invoker,
    dry_run: bool,
    target: Target,
    out: &'a mut dyn Write,
) -> Context<'a> {
    Context {
        disk,
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
        dry_run,
        viewer: invoker.sudo.filter(|_| dry_run),
        target,
        interrupt: Interrupt::NEVER,
        out,
    }
}

/// Each process would run twice when the app is installed with another backend too.
fn warn_other_backends(config: &Config, app: &Name, backend: &str, installed: &[&str]) {
    for other in installed.iter().filter(|b| **b != backend) {
        crate::error::warn(&format!(
            "{}{app} is also installed with {other}: each process would run twice; remove \
             that with `procexport clean -n {app} --backend {other}`",
            config.prefix
        ));
    }
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
    dotenv: Vec<(String, Env)>,
) -> Result<bool> {
    let file = args.procfile.as_str();
    let parsed = procfile::parse(file, bytes)?;
    let formation = args.formation.clone().unwrap_or_default();
    let asked: u64 = parsed
        .entries
        .iter()
        .map(|e| {
            let named = formation
                .counts
                .iter()
                .find(|(label, _)| label == e.label.as_str());
            let count = named.map(|(_, n)| *n).or(formation.all).or(e.count);
            u64::from(count.unwrap_or(1))
        })
        .sum();
    limits::check_job_count(asked, &config.limits)?;
    let default_dir = procfile_dir(file)?;
    let options = Options {
        formation,
        port: args.port,
        dotenv,
        elsewhere: false,
    };
    let app = assemble(config, &parsed, app_name, file, &default_dir, &options)?;
    limits::check_jobs(&app, &config.limits)?;
    let outputs = backend.render(&app)?;
    limits::check_rendered(&app, &outputs, &config.limits)?;
    if cx.target != Target::Root && cx.ownership.is_some() {
        preflight::check(&app, &config.log_dir.join(&app.full_name))?;
    }
    for note in &app.notes {
        writeln!(cx.out, "note: {note}").map_err(print_error)?;
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
        Change::Export {
            outputs,
            log_dir,
            restart: args.restart,
        },
    )?;
    cx.interrupt.check(|| {
        let restart = if args.restart {
            "; --restart is skipped once a signal has come"
        } else {
            ""
        };
        format!(
            "the {} export of {} was finished first{restart}",
            backend.name(),
            app.full_name
        )
    })?;
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
        false,
    )?;
    let app_name = app_name(&args.app)?;
    let parsed = procfile::parse(file, &bytes)?;
    // Only a working directory the Procfile gives is used (the Procfile's own directory on
    // this machine means nothing in the image), so the default passed here is never read.
    let unused = AbsPath::parse("/", "working directory").map_err(Error::Failed)?;
    let app = assemble(
        &config,
        &parsed,
        &app_name,
        file,
        &unused,
        &Options {
            elsewhere: true,
            ..Options::default()
        },
    )?;
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
    let mut done: Vec<&str> = Vec::new();
    for backend in BackendKind::all(config)? {
        if args
            .backend
            .as_deref()
            .is_some_and(|wanted| wanted != Installer::name(&backend))
        {
            continue;
        }
        // A signal stops the clean between backends, each one's change whole.
        cx.interrupt.check(|| {
            format!(
                "the clean of {full_name} stopped before its {} part{}",
                Installer::name(&backend),
                finished(&done)
            )
        })?;
        let outcome = transaction::install(cx, &backend, &full_name, Change::Clean)?;
        if let Outcome::Done { changed } = outcome {
            done.push(Installer::name(&backend));
            found = true;
            any_change |= changed;
        }
    }
    if !found {
        writeln!(cx.out, "nothing is installed for {full_name}").map_err(print_error)?;
    }
    cx.interrupt
        .check(|| format!("the clean of {full_name} was finished first"))?;
    Ok(any_change)
}

/// `; the <backends> parts were finished`, or nothing when none was.
fn finished(done: &[&str]) -> String {
    if done.is_empty() {
        String::new()
    } else {
        format!("; its {} parts were finished", done.join(", "))
    }
}

/// The backends the app's jobs are asked of: every one, or the one `--backend` names.
fn chosen(config: &Config, backend: Option<&str>) -> Result<Vec<BackendKind>> {
    Ok(BackendKind::all(config)?
        .into_iter()
        .filter(|b| backend.is_none_or(|wanted| wanted == b.name()))
        .collect())
}

fn full_name(config: &Config, app: &str) -> Result<String> {
    Ok(format!("{}{}", config.prefix, app_name(app)?))
}

/// Starts, stops or restarts the jobs of every backend's manifest of the app.
fn control(cx: &mut Context, config: &Config, action: Action, args: &AppArgs) -> Result<()> {
    let full_name = full_name(config, &args.app)?;
    let mut found = false;
    for backend in chosen(config, args.backend.as_deref())? {
        let outcome = transaction::control(cx, &backend, &full_name, action)?;
        found |= matches!(outcome, Outcome::Done { .. });
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

/// Who owns the app, as its manifest records it: a user name where the system knows the
/// uid, else the uid; `-` for a manifest from before owners were recorded.
fn owner(manifest: &crate::install::manifest::Manifest) -> String {
    match manifest.owner {
        Some(uid) => (Users::SYSTEM.name_of)(uid).unwrap_or_else(|| uid.to_string()),
        None => "-".to_owned(),
    }
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
/// when installed as `upstart-export`), else defaults; `resolve` looks up the run user and
/// group.
fn load_config(
    disk: &Disk,
    flag: Option<&str>,
    resolve: fn(&str, &str) -> Result<RunAs, AccountError>,
    as_gem: bool,
) -> Result<Config> {
    let keys = keys();
    if let Some(path) = flag {
        let text = disk
            .read_config(path)?
            .ok_or_else(|| Error::Usage(format!("config file {} does not exist", Quoted(path))))?;
        return Config::parse_with(path, Some(&text), &keys, resolve);
    }
    let mut paths = DEFAULT_PATHS;
    if as_gem {
        paths.reverse();
    }
    for path in paths {
        if let Some(text) = disk.read_config(path)? {
            return Config::parse_with(path, Some(&text), &keys, resolve);
        }
    }
    Config::parse_with("(built-in defaults)", None, &keys, resolve)
}
