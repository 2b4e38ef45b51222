//! The program: parse the command line, settle who is running and what they may ask for,
//! load the trusted config, then hand plain values to the pipeline: read and assemble the
//! Procfile, render it through the backend, and install it (or clean) in one transaction; or
//! start, stop, restart or show the jobs of an app's manifest, or list the apps.
//! `kubernetes` shares the reading and assembling, then renders manifests that it prints or
//! writes for the user, with no transaction: it installs nothing.

use crate::backends::kubernetes::{self, Flags, KubernetesOptions};
use crate::backends::{keys, Backend, BackendKind};
use crate::cli::args::{Action, AppArgs, Cli, Command, ExportArgs, KubernetesArgs, PlanFlags};
use crate::cli::out::Remembered;
use crate::cli::{completions, foreman, gem, manpage};
use crate::error::{Error, Location, Result};
use crate::install::access::{self, Users};
use crate::install::disk::Disk;
use crate::install::installer::{Installer, Target};
use crate::install::interrupt::Interrupt;
use crate::install::plan::Ownership;
use crate::install::preflight;
use crate::install::privilege::Invoker;
use crate::install::transaction::{
    self, print_error, Change, Context, LogDir, Outcome, Unreadable,
};
use crate::model::account::RunAs;
use crate::model::config::{Accounts, Config, Limits, GEM_PATH, MAIN_PATH};
use crate::model::env::Env;
use crate::model::limits;
use crate::model::name::Name;
use crate::model::text::AbsPath;
use crate::procfile::assemble::{assemble, Options};
use crate::procfile::{self, dotenv};
use crate::sanitize::Quoted;
use camino::Utf8Path;
use clap::{CommandFactory, Parser};
use std::ffi::OsString;
use std::io::Write;

/// Exit status of a dry run with `--detailed-exitcode` that would change something.
pub const WOULD_CHANGE: u8 = 3;

/// Runs procexport with `args` (the first is the program name), printing to `out`. Returns
/// The export's own arguments, when the command is an export: the inputs read before
/// anything else (the Procfile, then the `.env` files) are an export's only.
fn export_args(command: &Command) -> Option<&ExportArgs> {
    match command {
        Command::Export { args, .. } => Some(args),
        Command::Clean(_)
        | Command::Kubernetes(_)
        | Command::Control { .. }
        | Command::Status(_)
        | Command::List
        | Command::Man(_)
        | Command::Completions(_) => None,
    }
}

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
    let cli = Cli::try_parse_from(args).map_err(foreman::explain)?;
    let plan = cli.plan_flags().map_err(Error::Usage)?;
    // The manual and completions only print: no identity, config or file is looked at.
    if let Some(printed) = print_only(&cli.command, out) {
        return printed.map(|()| 0);
    }
    let invoker = Invoker::detect()?;
    if let Command::Kubernetes(args) = &cli.command {
        export_kubernetes(&cli, args, plan.dry_run, &invoker, out)?;
        return Ok(0);
    }
    check_flags(&cli, &invoker)?;
    let live = cli.root.is_none();
    let scope = Scope::of(&invoker, live);
    let accounts = accounts(&cli.command, scope, &invoker)?;
    let mut disk = Disk::new(cli.root.clone(), invoker.euid);
    // The Procfile is read first, with the invoking user's rights: whether that user may read
    // it is the first thing settled, before anything else can fail or be shown.
    let procfile = export_args(&cli.command)
        .map(|args| Disk::read_procfile(args.procfile.as_str(), &invoker))
        .transpose()?;
    let mut config = load_config(
        &disk,
        cli.config.as_ref().map(|p| p.as_str()),
        &accounts,
        as_gem,
    )?;
    let unreadable = unreadable(&config);
    // The `.env` files come after the config: how many, and how many bytes, it bounds.
    let dotenv = export_args(&cli.command)
        .map(|args| read_env_files(args, &invoker, &config.limits))
        .transpose()?
        .unwrap_or_default();
    if plan.dry_run && invoker.sudo.is_some() {
        // The config is root's: a dry run shows the invoking user the names of its variables,
        // not their values.
        config.defaults.env = config.defaults.env.redacted("(hidden: set in the config)");
    }
    let target = target(live, &cli.command);
    let app = match &cli.command {
        Command::Export { args, .. } => &args.app,
        Command::Clean(args) => &args.app,
        Command::Control { args, .. } | Command::Status(args) => &args.app,
        Command::List => {
            let mut cx = context(&mut disk, &config, &invoker, plan, target, out);
            list(&mut cx, &config, scope, &invoker)?;
            return Ok(0);
        }
        Command::Kubernetes(_) | Command::Man(_) | Command::Completions(_) => {
            unreachable!("handled above")
        }
    };
    let app = app_name(app)?;
    let installed = authorize(&invoker, &mut disk, &config, scope, &app)?;
    if let Command::Export { backend, .. } = &cli.command {
        warn_other_backends(&config, &app, backend, &installed);
    }
    let config = config.for_app(app.as_str());
    let may_claim_legacy =
        access::may_claim_legacy(&invoker, &config, app.as_str(), &Users::SYSTEM);
    let interrupt = interrupt(&cli.command, plan)?;
    let mut cx = context(&mut disk, &config, &invoker, plan, target, out);
    cx.unreadable = unreadable;
    cx.may_claim_legacy = may_claim_legacy;
    cx.adopt = match &cli.command {
        Command::Export { args, .. } => args.adopt,
        Command::Clean(args) => args.adopt,
        _ => false,
    };
    cx.interrupt = interrupt;
    let changed = match cli.command {
        Command::Export {
            backend,
            args,
            location,
        } => {
            let backend = BackendKind::build(&backend, &config)
                .expect("clap only accepts the registry's names")?;
            check_location(&backend, location.as_deref())?;
            let bytes = procfile.unwrap_or_default();
            export(&mut cx, &config, &backend, &app, &args, &bytes, dotenv)?
        }
        Command::Clean(args) => clean(&mut cx, &config, scope, &app, args.backend.as_deref())?,
        Command::Control { action, args, .. } => {
            control(&mut cx, &config, scope, action, &args)?;
            false
        }
        Command::Status(args) => {
            status(&mut cx, &config, scope, &args)?;
            false
        }
        Command::List | Command::Kubernetes(_) | Command::Man(_) | Command::Completions(_) => {
            unreachable!("handled above")
        }
    };
    Ok(if plan.detailed_exitcode && changed {
        WOULD_CHANGE
    } else {
        0
    })
}

/// Whether a dry run through sudo compares installed files the invoking user cannot read:
/// only when the config sets no env. An installed env file holds the config's values, and a
/// Procfile that sets the same key to a guess would learn from the answer whether the guess
/// was root's secret.
fn unreadable(config: &Config) -> Unreadable {
    if config.defaults.env.iter().next().is_none() {
        Unreadable::Compared
    } else {
        Unreadable::NotCompared
    }
}

/// Where the files go: under `--root`, or to the live system (told to reload unless
/// `--no-reload`).
fn target(live: bool, command: &Command) -> Target {
    let no_reload = matches!(command, Command::Export { args, .. } if args.no_reload);
    match (live, no_reload) {
        (false, _) => Target::Root,
        (true, true) => Target::LiveNoReload,
        (true, false) => Target::Live,
    }
}

/// From here on an export or a clean may change files: SIGINT and SIGTERM only ask the
/// transaction to stop at a point where it can end cleanly. Anything else keeps the signals'
/// default (it changes nothing).
fn interrupt(command: &Command, plan: PlanFlags) -> Result<Interrupt> {
    let may_write = matches!(command, Command::Export { .. } | Command::Clean(_));
    if may_write && !plan.dry_run {
        Interrupt::catch()
    } else {
        Ok(Interrupt::NEVER)
    }
}

/// Prints the manual or the completions; `None` for every other subcommand.
fn print_only(command: &Command, out: &mut dyn Write) -> Option<Result<()>> {
    match command {
        Command::Man(args) => Some(manpage::print(args, Cli::command(), out)),
        Command::Completions(args) => Some(completions::print(args, Cli::command(), out)),
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

/// foreman's `export <format> <location>`: procexport writes where its root-owned config says,
/// so a location is accepted only when it is one of the directories this export writes to
/// anyway (then it changes nothing), and refused otherwise, through sudo or not: a location
/// the invoking user picks must never become a place root writes to. `--root` is the way to
/// install under another tree (and is refused through sudo).
fn check_location(backend: &BackendKind, location: Option<&Utf8Path>) -> Result<()> {
    let Some(location) = location else {
        return Ok(());
    };
    let dirs = Installer::install_dirs(backend);
    let given = location.as_str().trim_end_matches('/');
    if dirs.iter().any(|dir| dir.trim_end_matches('/') == given) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "the location {} is not where procexport writes {} jobs: it writes to {}, as the \
         config says (see procexport.yaml(5)); leave the location out, or give one of those. \
         To install under another tree, use --root DIR (refused through sudo)",
        Quoted(location.as_str()),
        Installer::name(backend),
        dirs.join(", ")
    )))
}

/// Whose apps a run sees. On the live system root (through sudo or not) sees the system's
/// apps, and a plain user their own: those of the backends whose jobs the user's own manager
/// runs (`Spec::FOR_INVOKING_USER`, manifests and locks in the user's home), so that
/// `procexport start -n app` works without sudo and never touches the system's state
/// directory. Under `--root` the files are for another system: every backend's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    System,
    Own,
    All,
}

impl Scope {
    fn of(invoker: &Invoker, live: bool) -> Self {
        match (live, invoker.is_root()) {
            (false, _) => Self::All,
            (true, true) => Self::System,
            (true, false) => Self::Own,
        }
    }

    fn includes(self, backend: &BackendKind) -> bool {
        match self {
            Self::All => true,
            Self::System => !backend.for_invoking_user(),
            Self::Own => backend.for_invoking_user(),
        }
    }
}

/// Whose account the jobs run as: for a plain user's export through a backend that the user's
/// own manager runs, and for a plain user acting on their own apps, that user (no config
/// needed, and a `run_user` naming someone else refused on export); else the config's. (Root
/// exporting such a backend to the live system is refused by the backend's `check_target`.)
fn accounts(command: &Command, scope: Scope, invoker: &Invoker) -> Result<Accounts> {
    let me = || RunAs::of_uid(invoker.euid).map_err(|e| Error::Refused(e.message));
    Ok(match (command, scope) {
        (Command::Export { backend, args, .. }, Scope::Own)
            if BackendKind::for_invoking_user_by_name(backend) =>
        {
            Accounts::Invoking {
                me: me()?,
                exporting: Some(args.app.clone()),
            }
        }
        (
            Command::Clean(_) | Command::Control { .. } | Command::Status(_) | Command::List,
            Scope::Own,
        ) => Accounts::Invoking {
            me: me()?,
            exporting: None,
        },
        (
            Command::Export { .. }
            | Command::Clean(_)
            | Command::Control { .. }
            | Command::Status(_)
            | Command::List
            | Command::Kubernetes(_)
            | Command::Man(_)
            | Command::Completions(_),
            _,
        ) => Accounts::Configured(RunAs::resolve),
    })
}

/// What every transaction of this run shares.
fn context<'a>(
    disk: &'a mut Disk,
    config: &'a Config,
    invoker: &Invoker,
    plan: PlanFlags,
    target: Target,
    out: &'a mut dyn Write,
) -> Context<'a> {
    let dry_run = plan.dry_run;
    Context {
        disk,
        state_dir: &config.state_dir,
        no_prefix: config.prefix.is_empty(),
        ownership: invoker.is_root().then_some(Ownership {
            run_gid: config.run_as.gid,
        }),
        // A plain user's own apps are theirs (`list` shows them as the user's).
        owner: Some(invoker.sudo.map_or(invoker.euid, |(uid, _)| uid)),
        may_claim_legacy: false,
        adopt: false,
        run_group: &config.run_as.group,
        dry_run,
        viewer: invoker.sudo.filter(|_| dry_run),
        unreadable: Unreadable::NotCompared,
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
    scope: Scope,
    app: &Name,
) -> Result<Vec<&'static str>> {
    let full_name = format!("{}{app}", config.prefix);
    let mut owners = Vec::new();
    let mut installed = Vec::new();
    for backend in in_scope(config, scope)? {
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
    let parsed = procfile::parse_bounded(file, bytes, &config.limits)?;
    let formation = args.formation.clone().unwrap_or_default();
    let asked: u64 = parsed
        .entries
        .iter()
        .map(|e| {
            let named = formation.counts.get(e.label.as_str()).copied();
            let count = named.or(formation.all).or(e.count);
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
    dry_run: bool,
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
        &Accounts::Configured(RunAs::unresolved),
        false,
    )?;
    let app_name = app_name(&args.app)?;
    let parsed = procfile::parse_bounded(file, &bytes, &config.limits)?;
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
        dry_run,
    )
}

/// Removes what every backend in scope (or the one asked for) installed for the app.
fn clean(
    cx: &mut Context,
    config: &Config,
    scope: Scope,
    app_name: &Name,
    backend: Option<&str>,
) -> Result<bool> {
    let full_name = format!("{}{}", config.prefix, app_name);
    let mut found = false;
    let mut any_change = false;
    let mut done: Vec<&str> = Vec::new();
    for backend in chosen(config, scope, backend)? {
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
    let elsewhere = elsewhere(cx.disk, config, scope, backend, &full_name)?;
    if !found {
        if let Some(refusal) = only_elsewhere(&elsewhere, "clean", app_name.as_str(), &full_name) {
            return Err(refusal);
        }
        writeln!(cx.out, "{}", nothing_installed(config, app_name.as_str()))
            .map_err(print_error)?;
    }
    note_elsewhere(&elsewhere, "clean", app_name.as_str(), &full_name);
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

/// Every backend whose apps `scope` sees.
fn in_scope(config: &Config, scope: Scope) -> Result<Vec<BackendKind>> {
    Ok(BackendKind::all(config)?
        .into_iter()
        .filter(|b| scope.includes(b))
        .collect())
}

/// "nothing is installed" for app `app` (as `-n` gave it); when `app` already starts with the
/// prefix, the hint that `-n` takes the name `list` prints, without the prefix.
fn nothing_installed(config: &Config, app: &str) -> String {
    let full_name = format!("{}{app}", config.prefix);
    match app.strip_prefix(config.prefix.as_str()) {
        Some(bare) if !config.prefix.is_empty() && !bare.is_empty() => format!(
            "nothing is installed for {full_name}; -n takes the app's name as `procexport \
             list` prints it, without the prefix {}: -n {bare}",
            Quoted(&config.prefix)
        ),
        _ => format!("nothing is installed for {full_name}"),
    }
}

/// The backends the app's jobs are asked of: every one in scope, or the one `--backend`
/// names. A plain user may name a system backend (root's files then refuse them, as
/// ever); root may not name one whose jobs a user's own manager runs.
fn chosen(config: &Config, scope: Scope, backend: Option<&str>) -> Result<Vec<BackendKind>> {
    let Some(wanted) = backend else {
        return in_scope(config, scope);
    };
    let chosen: Vec<BackendKind> = BackendKind::all(config)?
        .into_iter()
        .filter(|b| wanted == b.name())
        .collect();
    if scope == Scope::System && chosen.iter().any(BackendKind::for_invoking_user) {
        return Err(Error::Refused(format!(
            "{wanted} acts on the user manager of the user running procexport, and root has \
             no apps there: run it as the deploy user, without sudo"
        )));
    }
    Ok(chosen)
}

/// For a plain user acting on their own app without `--backend`: the system backends that
/// have a manifest of the same app too (seen, not read: it is root's). Empty otherwise.
fn elsewhere(
    disk: &mut Disk,
    config: &Config,
    scope: Scope,
    backend: Option<&str>,
    full_name: &str,
) -> Result<Vec<&'static str>> {
    let mut found = Vec::new();
    if scope != Scope::Own || backend.is_some() {
        return Ok(found);
    }
    for system in in_scope(config, Scope::System)? {
        if disk.present(&transaction::manifest_path(
            &config.state_dir,
            &system,
            full_name,
        ))? {
            found.push(system.name());
        }
    }
    Ok(found)
}

/// The refusal when the app is not the user's own but the system has it: it says how to reach
/// that one.
fn only_elsewhere(elsewhere: &[&str], verb: &str, app: &str, full_name: &str) -> Option<Error> {
    let first = elsewhere.first()?;
    Some(Error::Usage(format!(
        "nothing of yours is installed for {full_name}; it is installed for the system with \
         {}: run `sudo procexport {verb} -n {app}` (or --backend {first} through sudo)",
        elsewhere.join(", ")
    )))
}

/// Says which app a plain user's command acted on when the system has one of the same name.
fn note_elsewhere(elsewhere: &[&str], verb: &str, app: &str, full_name: &str) {
    if !elsewhere.is_empty() {
        crate::error::warn(&format!(
            "note: this acted on your own {full_name}; the system's {full_name} ({}) was left \
             alone: `sudo procexport {verb} -n {app}` acts on that one",
            elsewhere.join(", ")
        ));
    }
}

fn full_name(config: &Config, app: &str) -> Result<String> {
    Ok(format!("{}{}", config.prefix, app_name(app)?))
}

/// Starts, stops or restarts the jobs of every backend's manifest of the app.
fn control(
    cx: &mut Context,
    config: &Config,
    scope: Scope,
    action: Action,
    args: &AppArgs,
) -> Result<()> {
    let full_name = full_name(config, &args.app)?;
    let backend = args.backend.as_deref();
    let elsewhere = elsewhere(cx.disk, config, scope, backend, &full_name)?;
    let mut found = false;
    for backend in chosen(config, scope, backend)? {
        let outcome = transaction::control(cx, &backend, &full_name, action)?;
        found |= matches!(outcome, Outcome::Done { .. });
    }
    if !found {
        return Err(
            only_elsewhere(&elsewhere, action.verb(), &args.app, &full_name)
                .unwrap_or_else(|| Error::Usage(nothing_installed(config, &args.app))),
        );
    }
    note_elsewhere(&elsewhere, action.verb(), &args.app, &full_name);
    Ok(())
}

/// Prints each installed job of the app, its backend and what its init says of it.
fn status(cx: &mut Context, config: &Config, scope: Scope, args: &AppArgs) -> Result<()> {
    let full_name = full_name(config, &args.app)?;
    let backend = args.backend.as_deref();
    let elsewhere = elsewhere(cx.disk, config, scope, backend, &full_name)?;
    let mut rows = Vec::new();
    for backend in chosen(config, scope, backend)? {
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
        return Err(only_elsewhere(&elsewhere, "status", &args.app, &full_name)
            .unwrap_or_else(|| Error::Usage(nothing_installed(config, &args.app))));
    }
    note_elsewhere(&elsewhere, "status", &args.app, &full_name);
    print_table(cx.out, ["JOB", "BACKEND", "STATE", "INIT SAYS"], &rows)
}

/// Prints every app with a manifest: one row per app and backend, with its job count. The
/// APP column is the app's name as `-n` takes it (`myapp`, not the file names' `fb-myapp`),
/// so that every name printed is one `status`, `start`, `stop`, `restart` and `clean`
/// accept, and no `-n` is read with the prefix twice. A manifest whose name does not carry
/// the config's prefix (installed under another prefix) names no app `-n` can reach: it is
/// reported on stderr, not listed. Through sudo, only the apps the invoking user owns or
/// manages: who else deploys what is not its business.
fn list(cx: &mut Context, config: &Config, scope: Scope, invoker: &Invoker) -> Result<()> {
    let mut rows = Vec::new();
    for backend in in_scope(config, scope)? {
        let own_state_dir = backend.state_dir();
        let dir = own_state_dir
            .as_ref()
            .unwrap_or(&config.state_dir)
            .join(backend.name());
        for file in cx.disk.list_dir(&dir)? {
            let Some(full_name) = file.strip_suffix(".manifest") else {
                continue;
            };
            let Some(app) = full_name
                .strip_prefix(config.prefix.as_str())
                .filter(|app| app_name(app).is_ok())
            else {
                crate::error::warn(&format!(
                    "manifest {} names no app under the config's prefix {}: it was installed \
                     with another prefix; set that prefix again to act on it",
                    Quoted(&format!("{dir}/{file}")),
                    Quoted(&config.prefix)
                ));
                continue;
            };
            let manifest = cx.disk.read_manifest(&format!("{dir}/{file}"))?;
            if !access::may_see(invoker, config, Some(app), manifest.owner, &Users::SYSTEM) {
                continue;
            }
            let jobs = transaction::app_jobs(&backend, &manifest, full_name);
            rows.push([
                app.to_owned(),
                backend.name().to_owned(),
                jobs.processes.len().to_string(),
                owner(&manifest),
            ]);
        }
    }
    rows.sort();
    print_table(cx.out, ["APP", "BACKEND", "JOBS", "OWNER"], &rows)?;
    if scope == Scope::Own {
        let mut system = false;
        for backend in in_scope(config, Scope::System)? {
            let names = match cx.disk.list_dir(&config.state_dir.join(backend.name())) {
                Ok(names) => names,
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::PermissionDenied =>
                {
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            system |= names.iter().any(|n| n.ends_with(".manifest"));
        }
        if system {
            crate::error::warn(
                "note: these are your own apps; `sudo procexport list` lists the system's",
            );
        }
    }
    Ok(())
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
/// there is one; each with the invoking user's rights, as the Procfile. No more files than
/// `max_env_files` are read, and no more bytes in all than `max_env_bytes`: the count is
/// checked before the first file is opened, and each file is read only as far as the bytes
/// left allow (2,000 files of 2,000 keys took minutes and 1.8 GB).
fn read_env_files(
    args: &ExportArgs,
    invoker: &Invoker,
    limits: &Limits,
) -> Result<Vec<(String, Env)>> {
    let paths: Vec<String> = if args.env_files.is_empty() {
        let beside = args
            .procfile
            .parent()
            .filter(|p| !p.as_str().is_empty())
            .map_or_else(|| ".env".into(), |dir| dir.join(".env"));
        vec![beside.to_string()]
    } else {
        args.env_files.iter().map(ToString::to_string).collect()
    };
    if paths.len() as u64 > u64::from(limits.max_env_files) {
        return Err(Error::Usage(format!(
            "{} .env files are given (-e); the config allows at most {} per export \
             (max_env_files): merge them into fewer files, or raise max_env_files",
            paths.len(),
            limits.max_env_files
        )));
    }
    let mut left = limits.max_env_bytes;
    let mut files = Vec::new();
    for path in paths {
        let Some(bytes) = Disk::read_env_file(&path, invoker, left)? else {
            if args.env_files.is_empty() {
                continue;
            }
            return Err(Error::input(Location::file(&path), "no such file"));
        };
        left = left.checked_sub(bytes.len() as u64).ok_or_else(|| {
            Error::input(
                Location::file(&path),
                format!(
                    "the .env files come to more than {} KiB with this one; the config allows \
                     at most {} KiB in all (max_env_bytes): make them smaller, or raise \
                     max_env_bytes",
                    limits.max_env_bytes >> 10,
                    limits.max_env_bytes >> 10
                ),
            )
        })?;
        let env = dotenv::parse(&path, &bytes)?;
        files.push((path, env));
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
    accounts: &Accounts,
    as_gem: bool,
) -> Result<Config> {
    let keys = keys();
    if let Some(path) = flag {
        let text = disk
            .read_config(path)?
            .ok_or_else(|| Error::Usage(format!("config file {} does not exist", Quoted(path))))?;
        return Config::parse_for(path, Some(&text), &keys, accounts);
    }
    let parse = |path: &str, text: Option<&str>| Config::parse_for(path, text, &keys, accounts);
    let main = disk.read_config(MAIN_PATH)?;
    // The gem's file is read only where it is used.
    let gem = if as_gem || main.is_none() {
        disk.read_config(GEM_PATH)?
    } else {
        None
    };
    if let Some(text) = &gem {
        Config::refuse_policy_keys(GEM_PATH, text)?;
    }
    match (main, gem) {
        // One policy whatever the program's name: the gem's file, preferred under its name,
        // takes who may do what from procexport's own.
        (Some(main), Some(gem)) => {
            let policy = parse(MAIN_PATH, Some(&main))?;
            Ok(parse(GEM_PATH, Some(&gem))?.with_policy_of(&policy))
        }
        (Some(main), None) => parse(MAIN_PATH, Some(&main)),
        (None, Some(gem)) => parse(GEM_PATH, Some(&gem)),
        (None, None) => parse("(built-in defaults)", None),
    }
}
