//! The program: parse the command line, settle who is running and what they may ask for,
//! load the trusted config, then hand plain values to the pipeline: read and assemble the
//! Procfile, render it through the backend, and install it (or clean) in one transaction; or
//! start, stop, restart or show the jobs of an app's manifest, or list the apps.
//! `kubernetes` shares the reading and assembling, then renders manifests that it prints or
//! writes for the user, with no transaction: it installs nothing.

use crate::backends::{keys, BackendKind};
use crate::cli::args::{AppArgs, CleanArgs, Cli, Command, ExportArgs, KubernetesArgs, PlanFlags};
use crate::cli::out::Remembered;
use crate::cli::{completions, foreman, gem, init_exporter, manpage};
use crate::error::{Error, LimitKey, Location, Result};
use crate::install::access::{self, Users};
use crate::install::disk::{Disk, Spool};
use crate::install::installer::{Action, Installer, Target};
use crate::install::interrupt::Interrupt;
use crate::install::plan::{Ownership, Rendered, KEEP_BYTES};
use crate::install::preflight;
use crate::install::privilege::Invoker;
use crate::install::transaction::{
    self, print_error, Change, Context, LogDir, Older, Outcome, Unreadable,
};
use crate::kubernetes::{Flags, KubernetesOptions};
use crate::model::account::RunAs;
use crate::model::config::{Accounts, Config, Limits, GEM_PATH, MAIN_PATH};
use crate::model::env::Env;
use crate::model::limits;
use crate::model::name::Name;
use crate::model::text::AbsPath;
use crate::procfile::assemble::{self, assemble, Options};
use crate::procfile::{self, dotenv};
use crate::sanitize::Quoted;
use camino::Utf8Path;
use clap::{CommandFactory, Parser};
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

/// Parses the command line, then runs its one command: each command is one function, which
/// settles what it needs (who runs it, the config, the app) through the shared steps below.
fn run_command(args: Vec<OsString>, out: &mut dyn Write) -> Result<u8> {
    // Installed as the gem's `upstart-export`: the gem's command line and config file.
    let as_gem = args.first().is_some_and(gem::invoked_as_gem);
    let as_init_exporter = args
        .first()
        .is_some_and(init_exporter::invoked_as_init_exporter);
    let args = if as_gem {
        gem::translate(args)
    } else if as_init_exporter {
        init_exporter::translate(args)?
    } else {
        args
    };
    let cli = Cli::try_parse_from(args).map_err(foreman::explain)?;
    let plan = cli.plan_flags().map_err(Error::Usage)?;
    let run = Run {
        cli: &cli,
        plan,
        as_gem,
        as_init_exporter,
    };
    match &cli.command {
        // The manual and completions only print: no identity, config or file is looked at.
        Command::Man(args) => manpage::print(args, Cli::command(), out).map(|()| 0),
        Command::Completions(args) => completions::print(args, Cli::command(), out).map(|()| 0),
        Command::Kubernetes(args) => kubernetes(run, args, out),
        Command::Export {
            backend,
            args,
            location,
        } => export(run, backend, args, location.as_deref(), out),
        Command::Clean(args) => clean(run, args, out),
        Command::Control { action, args, .. } => control(run, *action, args, out),
        Command::Status(args) => status(run, args, out),
        Command::List => list(run, out),
    }
}

/// What the command line settled for every command: the parsed line, its plan flags, and
/// whether procexport runs as the gem's `upstart-export`.
#[derive(Clone, Copy)]
struct Run<'a> {
    cli: &'a Cli,
    plan: PlanFlags,
    as_gem: bool,
    /// Run as init-exporter: its config file gives directories and defaults.
    as_init_exporter: bool,
}

/// Who runs a command that reads the config, and which apps they see.
struct Caller {
    invoker: Invoker,
    /// No `--root`: the files are this system's, and its inits are told.
    live: bool,
    scope: Scope,
}

/// Settles who runs the command, then refuses the flags they may not give.
fn caller(cli: &Cli) -> Result<Caller> {
    let invoker = Invoker::detect()?;
    check_flags(cli, &invoker)?;
    let live = cli.root.is_none();
    Ok(Caller {
        invoker,
        live,
        scope: Scope::of(&invoker, live),
    })
}

/// A command's state once the config is read: the disk, the config and what a dry run
/// compares.
struct Loaded {
    caller: Caller,
    disk: Disk,
    config: Config,
    unreadable: Unreadable,
}

/// The setup of the commands that read no Procfile (`clean`, `start`, `stop`, `restart`,
/// `status`, `list`): who runs them, then the config, with the jobs' account the invoking
/// user's own when they act on their own apps.
fn load(run: Run) -> Result<Loaded> {
    let caller = caller(run.cli)?;
    let accounts = accounts(&caller.invoker, caller.scope == Scope::Own, None)?;
    let disk = Disk::new(run.cli.root.clone(), caller.invoker.euid);
    let (config, unreadable) = trusted_config(run, &disk, &caller, &accounts)?;
    Ok(Loaded {
        caller,
        disk,
        config,
        unreadable,
    })
}

/// Loads the config (see `load_config`), and what a dry run may compare under it. Through
/// sudo a dry run shows the invoking user the names of the config's variables, not their
/// values: the config is root's.
fn trusted_config(
    run: Run,
    disk: &Disk,
    caller: &Caller,
    accounts: &Accounts,
) -> Result<(Config, Unreadable)> {
    let mut config = load_config(
        disk,
        run.cli.config.as_ref().map(|p| p.as_str()),
        accounts,
        run.as_gem,
        run.as_init_exporter,
    )?;
    let unreadable = unreadable(&config);
    if run.plan.dry_run && caller.invoker.sudo.is_some() {
        config.defaults.env = config.defaults.env.redacted("(hidden: set in the config)");
    }
    Ok((config, unreadable))
}

/// An app a command acts on, once the invoking user may act on it.
struct OpenApp {
    name: Name,
    /// The backends the app is installed with.
    installed: Vec<&'static str>,
    /// The config as it applies to this app.
    config: Config,
    may_claim_legacy: bool,
    unreadable: Unreadable,
}

/// Checks the `-n` name and refuses a sudo user the app is not theirs to act on (see
/// `authorize`), then takes the config as it applies to the app.
fn open_app(
    caller: &Caller,
    disk: &mut Disk,
    config: &Config,
    unreadable: Unreadable,
    app: &str,
) -> Result<OpenApp> {
    let name = app_name(app)?;
    let installed = authorize(&caller.invoker, disk, config, caller.scope, &name)?;
    let config = config.for_app(name.as_str());
    let may_claim_legacy =
        access::may_claim_legacy(&caller.invoker, &config, name.as_str(), &Users::SYSTEM);
    Ok(OpenApp {
        name,
        installed,
        config,
        may_claim_legacy,
        unreadable,
    })
}

/// The setup `clean`, `start`, `stop`, `restart` and `status` share: `load`, then `open_app`.
fn load_app(run: Run, app: &str) -> Result<(Caller, Disk, OpenApp)> {
    let Loaded {
        caller,
        mut disk,
        config,
        unreadable,
    } = load(run)?;
    let app = open_app(&caller, &mut disk, &config, unreadable, app)?;
    Ok((caller, disk, app))
}

/// The transaction context of a command on app `app`.
fn app_context<'a>(
    disk: &'a mut Disk,
    app: &'a OpenApp,
    invoker: &Invoker,
    plan: PlanFlags,
    target: Target,
    interrupt: Interrupt,
    out: &'a mut dyn Write,
) -> Context<'a> {
    let mut cx = context(disk, &app.config, invoker, plan, target, out);
    cx.unreadable = app.unreadable;
    cx.may_claim_legacy = app.may_claim_legacy;
    cx.interrupt = interrupt;
    cx
}

/// The exit status of a command that may change files: `WOULD_CHANGE` for a
/// `--detailed-exitcode` plan that would.
fn exit_status(plan: PlanFlags, changed: bool) -> u8 {
    if plan.detailed_exitcode && changed {
        WOULD_CHANGE
    } else {
        0
    }
}

/// `procexport <backend>` (and foreman's `export <backend> [location]`): reads the Procfile,
/// then the config, then the `.env` files, and installs the app's jobs in one transaction.
fn export(
    run: Run,
    backend: &str,
    args: &ExportArgs,
    location: Option<&Utf8Path>,
    out: &mut dyn Write,
) -> Result<u8> {
    let caller = caller(run.cli)?;
    check_restart(&caller, args)?;
    let own = caller.scope == Scope::Own && BackendKind::for_invoking_user_by_name(backend);
    let accounts = accounts(&caller.invoker, own, Some(&args.app))?;
    let mut disk = Disk::new(run.cli.root.clone(), caller.invoker.euid);
    // The Procfile is read first, with the invoking user's rights: whether that user may read
    // it is the first thing settled, before anything else can fail or be shown.
    let procfile = Disk::read_procfile(args.procfile.as_str(), &caller.invoker)?;
    let (config, unreadable) = trusted_config(run, &disk, &caller, &accounts)?;
    // The `.env` files come after the config: how many, and how many bytes, it bounds.
    let dotenv = read_env_files(args, &caller.invoker, &config.limits)?;
    let app = open_app(&caller, &mut disk, &config, unreadable, &args.app)?;
    warn_other_backends(&config, &app.name, backend, &app.installed);
    let interrupt = interrupt(run.plan)?;
    let target = target(caller.live, args.no_reload);
    let mut cx = app_context(
        &mut disk,
        &app,
        &caller.invoker,
        run.plan,
        target,
        interrupt,
        out,
    );
    let backend = BackendKind::build(backend, &app.config)
        .expect("clap only accepts the registry's names")?;
    check_location(&backend, location)?;
    cx.older = if args.adopt { Older::Adopt } else { Older::Gem };
    let changed = install_export(
        &mut cx,
        &app.config,
        &backend,
        &app.name,
        args,
        &procfile,
        dotenv,
        &caller.invoker,
    )?;
    Ok(exit_status(run.plan, changed))
}

/// `procexport clean`: removes what the app's manifests list.
fn clean(run: Run, args: &CleanArgs, out: &mut dyn Write) -> Result<u8> {
    let (caller, mut disk, app) = load_app(run, &args.app)?;
    let interrupt = interrupt(run.plan)?;
    let target = target(caller.live, false);
    let mut cx = app_context(
        &mut disk,
        &app,
        &caller.invoker,
        run.plan,
        target,
        interrupt,
        out,
    );
    cx.older = if args.adopt { Older::Adopt } else { Older::Gem };
    let backend = args.backend.as_deref();
    let changed = clean_app(&mut cx, &app.config, caller.scope, &app.name, backend)?;
    Ok(exit_status(run.plan, changed))
}

/// `procexport start`, `stop`, `restart` and `reload`: asks the init of each of the app's manifests.
fn control(run: Run, action: Action, args: &AppArgs, out: &mut dyn Write) -> Result<u8> {
    on_installed_app(run, args, out, |cx, config, scope| {
        control_app(cx, config, scope, action, args)
    })
}

/// `procexport status`: the app's jobs and what their inits say.
fn status(run: Run, args: &AppArgs, out: &mut dyn Write) -> Result<u8> {
    on_installed_app(run, args, out, |cx, config, scope| {
        print_status(cx, config, scope, args)
    })
}

/// Loads the app of `args` and runs `act` on its installed jobs, with the live system as the
/// target unless `--root` says otherwise and no interrupt handling (nothing is written).
fn on_installed_app(
    run: Run,
    args: &AppArgs,
    out: &mut dyn Write,
    act: impl FnOnce(&mut Context, &Config, Scope) -> Result<()>,
) -> Result<u8> {
    let (caller, mut disk, app) = load_app(run, &args.app)?;
    let target = target(caller.live, false);
    let mut cx = app_context(
        &mut disk,
        &app,
        &caller.invoker,
        run.plan,
        target,
        Interrupt::NEVER,
        out,
    );
    act(&mut cx, &app.config, caller.scope)?;
    Ok(0)
}

/// `procexport list`: every app the caller may see.
fn list(run: Run, out: &mut dyn Write) -> Result<u8> {
    let Loaded {
        caller,
        mut disk,
        config,
        ..
    } = load(run)?;
    let target = target(caller.live, false);
    let mut cx = context(&mut disk, &config, &caller.invoker, run.plan, target, out);
    print_list(&mut cx, &config, caller.scope, &caller.invoker)?;
    Ok(0)
}

/// `procexport kubernetes`: see `export_kubernetes`. Who runs it is settled first, as for
/// every other command that is more than printing.
fn kubernetes(run: Run, args: &KubernetesArgs, out: &mut dyn Write) -> Result<u8> {
    let invoker = Invoker::detect()?;
    export_kubernetes(run.cli, args, run.plan.dry_run, &invoker, out)?;
    Ok(0)
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
/// Where the files go: under `--root`, or to the live system (told to reload unless
/// `--no-reload`).
fn target(live: bool, no_reload: bool) -> Target {
    match (live, no_reload) {
        (false, _) => Target::Root,
        (true, true) => Target::LiveNoReload,
        (true, false) => Target::Live,
    }
}

/// From here on an export or a clean may change files: SIGINT and SIGTERM only ask the
/// transaction to stop at a point where it can end cleanly. A dry run keeps the signals'
/// default (it changes nothing), as does every other command.
fn interrupt(plan: PlanFlags) -> Result<Interrupt> {
    if plan.dry_run {
        Ok(Interrupt::NEVER)
    } else {
        Interrupt::catch()
    }
}

/// Refuses the flags that may not be given here: `--root` and `--config` through sudo, a
/// relative `--root` (and, for an export, `check_restart`).
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
    Ok(())
}

/// Refuses an export's `--restart` under `--root` (checked right after `check_flags`).
fn check_restart(caller: &Caller, args: &ExportArgs) -> Result<()> {
    if !caller.live && args.restart {
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
/// own manager runs, and for a plain user acting on their own apps (`own`), that user (no
/// config needed, and a `run_user` naming someone else refused on export: `exporting` is the
/// app exported); else the config's. (Root exporting such a backend to the live system is
/// refused by the backend's `check_target`.)
fn accounts(invoker: &Invoker, own: bool, exporting: Option<&str>) -> Result<Accounts> {
    if !own {
        return Ok(Accounts::Configured(RunAs::resolve));
    }
    let me = RunAs::of_uid(invoker.euid).map_err(|e| Error::refused(e.message))?;
    Ok(Accounts::Invoking {
        me,
        exporting: exporting.map(str::to_owned),
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
        older: Older::Gem,
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
        // Only a sudo user is held to the owners: anyone else needs to know where it is.
        if invoker.sudo.is_none() {
            if disk.present(&path)? {
                installed.push(Installer::name(&backend));
            }
            continue;
        }
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
#[allow(clippy::too_many_arguments)]
fn install_export(
    cx: &mut Context,
    config: &Config,
    backend: &BackendKind,
    app_name: &Name,
    args: &ExportArgs,
    bytes: &[u8],
    dotenv: EnvFiles,
    invoker: &Invoker,
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
    assemble::check_policy(config, &parsed, file)?;
    // The Procfile's own env files count against the same bounds as `-e`'s.
    let paths = assemble::env_file_paths(&parsed, &default_dir)?;
    let env_files = read_bounded(paths, invoker, &config.limits, &dotenv, "env_file")?;
    let options = Options {
        formation,
        port: args.port,
        dotenv: dotenv.files,
        elsewhere: false,
        env_files: env_files.files,
    };
    let app = assemble(config, &parsed, app_name, file, &default_dir, &options)?;
    limits::check_jobs(&app, &config.limits)?;
    // A dry run shows every file whole; an export keeps only so much in memory, the rest
    // in the spool.
    let dry_run = cx.dry_run;
    let spool = || if dry_run { None } else { Spool::open() };
    let max_bytes = config.limits.max_rendered_bytes;
    let rendered = Rendered::collect(KEEP_BYTES, spool, max_bytes, |sink| {
        backend.render(&app, sink)
    })?;
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
    // The jobs are in the rendered files now: a large app's thousands of them are not held
    // through the install.
    let full_name = app.full_name.clone();
    drop(app);
    let outcome = transaction::install(
        cx,
        backend,
        &full_name,
        Change::Export {
            rendered,
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
            full_name
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
        false,
    )?;
    let app_name = app_name(&args.app)?;
    let parsed = procfile::parse_bounded(file, &bytes, &config.limits)?;
    // Only a working directory the Procfile gives is used (the Procfile's own directory on
    // this machine means nothing in the image), so the default passed here is never read.
    let unused = AbsPath::parse("/", "working directory").map_err(Error::failed)?;
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
    crate::kubernetes::export(
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
fn clean_app(
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
        return Err(Error::refused(format!(
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
fn control_app(
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
fn print_status(cx: &mut Context, config: &Config, scope: Scope, args: &AppArgs) -> Result<()> {
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
fn print_list(cx: &mut Context, config: &Config, scope: Scope, invoker: &Invoker) -> Result<()> {
    let mut rows = Vec::new();
    for backend in in_scope(config, scope)? {
        let own_state_dir = backend.capabilities().own_state_dir;
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
fn read_env_files(args: &ExportArgs, invoker: &Invoker, limits: &Limits) -> Result<EnvFiles> {
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
        return Err(Error::limit(
            LimitKey::EnvFiles,
            u64::from(limits.max_env_files),
            paths.len() as u64,
        ));
    }
    let optional = args.env_files.is_empty();
    read_files(paths, invoker, limits, &EnvFiles::default(), optional)
}

/// `.env` files read, and the bytes they held.
#[derive(Debug, Default)]
struct EnvFiles {
    files: Vec<(String, Env)>,
    bytes: u64,
}

/// Reads the Procfile's `env_file`s (`key`) as `-e` files are read, within what `before` (the
/// `-e` files) left of `max_env_files` and `max_env_bytes`; a missing one is refused.
fn read_bounded(
    paths: Vec<String>,
    invoker: &Invoker,
    limits: &Limits,
    before: &EnvFiles,
    key: &str,
) -> Result<EnvFiles> {
    let count = (before.files.len() + paths.len()) as u64;
    if count > u64::from(limits.max_env_files) {
        return Err(Error::Usage(format!(
            "the Procfile's {key}s and the .env files come to {count} files; the config \
             allows at most {} per export (max_env_files): merge them into fewer files, or \
             raise max_env_files",
            limits.max_env_files
        )));
    }
    read_files(paths, invoker, limits, before, false)
}

/// Reads `paths` with the invoking user's rights within the bytes `before` left; a missing
/// file is skipped when `optional`, else refused.
fn read_files(
    paths: Vec<String>,
    invoker: &Invoker,
    limits: &Limits,
    before: &EnvFiles,
    optional: bool,
) -> Result<EnvFiles> {
    let mut left = limits.max_env_bytes.saturating_sub(before.bytes);
    let mut files = Vec::new();
    for path in paths {
        let Some(bytes) = Disk::read_env_file(&path, invoker, left)? else {
            if optional {
                continue;
            }
            return Err(Error::input(Location::file(&path), "no such file"));
        };
        left = left
            .checked_sub(bytes.len() as u64)
            .ok_or_else(|| Error::Limit {
                key: LimitKey::EnvBytes,
                limit: limits.max_env_bytes,
                found: (limits.max_env_bytes - left).saturating_add(bytes.len() as u64),
                location: Some(Location::file(&path)),
            })?;
        let env = dotenv::parse(&path, &bytes)?;
        files.push((path, env));
    }
    Ok(EnvFiles {
        files,
        bytes: limits.max_env_bytes.saturating_sub(left),
    })
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
    as_init_exporter: bool,
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
    if as_init_exporter {
        // init-exporter's file, as YAML on the same lines; procexport's decides who may do what.
        let Some(theirs) = disk.read_config(init_exporter::CONFIG_PATH)? else {
            return parse(MAIN_PATH, main.as_deref());
        };
        let theirs = parse(
            init_exporter::CONFIG_PATH,
            Some(&init_exporter::config_yaml(&theirs)?),
        )?;
        let policy = parse(MAIN_PATH, main.as_deref())?;
        return Ok(theirs.with_policy_of(&policy));
    }
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
