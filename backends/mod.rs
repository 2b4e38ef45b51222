//! Backends turn the job model into files for one init system, and talk to that init. Each
//! is one folder here (and one under `templates/`) and one line of the registry below: the
//! enum it makes is the only list of backends, and the CLI subcommands, the config keys, the
//! template engine and the test matrices are all derived from it. A backend implements
//! `Spec` (what the registry needs), `Backend` (pure rendering: model in, files out) and
//! `install::installer::Installer` (its directories and its init hooks); a new variant
//! without one of them does not compile.

mod adopt;
#[cfg(feature = "testing")]
pub mod check_rules;
mod escape;
mod template;
pub mod view;

pub use template::{Escape, Sections};

/// The refusal of `reload` by a backend whose files have no reload (its scripts take
/// start, stop, restart and status only).
fn no_reload(backend: &str) -> crate::error::Error {
    crate::error::Error::failed(format!(
        "{backend}'s scripts have no reload: use `procexport restart` (the jobs get new \
         processes), or a backend whose init reloads (systemd, upstart, runit, supervisord)"
    ))
}

use crate::error::Result;
use crate::install::disk::Disk;
use crate::install::installer::{
    Action, Adoption, Capabilities, Installer, JobStatus, Jobs, LegacyFile, LegacyFiles, Target,
};
use crate::install::manifest::EntryKind;
use crate::model::app::App;
use crate::model::config::{Config, Key};
use crate::model::output::Output;
use enum_dispatch::enum_dispatch;
use template::Template;

/// What the registry needs to know of a backend, before one is built.
pub trait Spec: Sized {
    /// The subcommand and state-directory name.
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// The config keys this backend reads (its directories and settings), with defaults.
    const KEYS: &'static [Key];
    /// Its templates, compiled into the binary.
    const TEMPLATES: &'static [Template];
    /// The Procfile v2 job keys (`model::capability::KEYS`) its files carry; any other key
    /// an app sets is refused, or, if it only tunes, dropped with a warning.
    const CARRIES: &'static [&'static str];
    /// The escaping filters of its own formats (the shell's are shared by all).
    const FILTERS: &'static [(&'static str, Escape)];
    /// True for a backend whose jobs the invoking user's own service manager runs (systemd
    /// user units): its run user is always that user, its apps are that user's (manifests in
    /// their home), and root has none. Every other backend installs for the system, as root.
    /// No default: each backend says which it is.
    const FOR_INVOKING_USER: bool;
    /// The backend as the checked config sets it up.
    fn from_config(config: &Config) -> Result<Self>;
}

/// Where a render puts each output as it is made: the install transaction stages it (or
/// keeps only its path and a digest), so an app's files are never all held at once.
pub type Sink<'a> = dyn FnMut(Output) -> Result<()> + 'a;

/// Rendering: pure, in memory, no disk and no init.
#[enum_dispatch]
pub trait Backend {
    /// Renders every file, directory and link of the app, one at a time into `sink`, each
    /// directory before what it holds; the same app always renders the same outputs in the
    /// same order (the transaction may render it twice). An error of `sink` ends the render.
    fn render(&self, app: &App, sink: &mut Sink) -> Result<()>;
}

/// Every output of `backend` for `app`, collected (previews and tests: an export streams).
#[cfg(any(test, feature = "testing"))]
pub fn render_all(backend: &impl Backend, app: &App) -> Result<Vec<Output>> {
    let mut outputs = Vec::new();
    backend.render(app, &mut |output| {
        outputs.push(output);
        Ok(())
    })?;
    Ok(outputs)
}

/// The registry: the enum, written once, with one `Variant(module::Type)` per backend. It is
/// emitted exactly as written (enum_dispatch needs its tokens untouched) and read a second
/// time for everything that lists backends.
macro_rules! registry {
    ($($enum:tt)*) => {
        $($enum)*
        registry_items! { [$] $($enum)* }
    };
}

macro_rules! registry_items {
    ([$d:tt] $(#[$($attr:tt)*])* pub enum $kind:ident { $($variant:ident($module:ident :: $backend:ident)),+ $(,)? }) => {
        $(pub mod $module;)+
        $(pub use $module::$backend;)+

        /// Calls `callback!(upstart, systemd, ...)` with every backend's module name, so that
        /// a test can be made per backend (`#[test]` functions cannot come from a list at run
        /// time); `procexport::testing::backend_name` turns a module name into the backend's.
        #[macro_export]
        macro_rules! for_each_backend {
            ($d callback:ident) => {
                $d callback!($($module),+);
            };
        }

        #[cfg(any(test, feature = "testing"))]
        /// Every backend's module name and name.
        pub const MODULES: &[(&str, &str)] = &[$((stringify!($module), <$backend as Spec>::NAME)),+];

        /// Every backend's name, in registry order.
        pub const NAMES: &[&str] = &[$(<$backend as Spec>::NAME),+];

        /// Every backend's `--help` line, by name.
        pub const ABOUT: &[(&str, &str)] = &[$((<$backend as Spec>::NAME, <$backend as Spec>::ABOUT)),+];

        #[cfg(any(test, feature = "testing"))]
        /// Every backend's name and the job keys it carries, for docs/BACKENDS.md's table.
        pub const CARRIES: &[(&str, &[&str])] = &[$((<$backend as Spec>::NAME, <$backend as Spec>::CARRIES)),+];

        /// Every backend's config keys.
        pub fn keys() -> Vec<Key> {
            [$(<$backend as Spec>::KEYS),+].concat()
        }

        impl $kind {
            /// Renders every file of `app`, after `model::capability::check` has refused the
            /// job keys this backend does not carry (or warned for those that only tune). An
            /// inherent method, so `backend.render(app)` on any backend comes here first: the
            /// check is made in this one place, never left to each backend to remember.
            pub fn render(&self, app: &App, sink: &mut Sink) -> Result<()> {
                match self {
                    $(Self::$variant(_) => crate::model::capability::check(
                        <$backend as Spec>::NAME,
                        <$backend as Spec>::CARRIES,
                        app,
                    )?,)+
                }
                Backend::render(self, app, sink)
            }

            /// The backend called `name`, set up from `config`; `None` for no such backend.
            pub fn build(name: &str, config: &Config) -> Option<Result<Self>> {
                $(
                    if name == <$backend as Spec>::NAME {
                        return Some($backend::from_config(config).map(Self::from));
                    }
                )+
                None
            }

            /// True when backend `name` is `Spec::FOR_INVOKING_USER`.
            pub fn for_invoking_user_by_name(name: &str) -> bool {
                $(
                    if name == <$backend as Spec>::NAME {
                        return <$backend as Spec>::FOR_INVOKING_USER;
                    }
                )+
                false
            }

            /// `Spec::FOR_INVOKING_USER` of this backend.
            pub fn for_invoking_user(&self) -> bool {
                match self {
                    $(Self::$variant(_) => <$backend as Spec>::FOR_INVOKING_USER,)+
                }
            }

            /// Every backend, set up from `config`.
            pub fn all(config: &Config) -> Result<Vec<Self>> {
                Ok(vec![$(Self::from($backend::from_config(config)?)),+])
            }

            /// The backend's own checks of its files, for the tests.
            #[cfg(feature = "testing")]
            pub fn checks(&self) -> &(dyn Checks + 'static) {
                match self {
                    $(Self::$variant(backend) => backend,)+
                }
            }
        }

        /// The template engine with every backend's filters and no template yet: each is
        /// compiled when first rendered (`template_source`).
        fn engine() -> tera::Tera {
            template::engine(&[], &[escape::FILTERS, $(<$backend as Spec>::FILTERS),+])
        }

        /// The text of built-in template `name`.
        fn template_source(name: &str) -> Option<&'static str> {
            [view::TEMPLATES, $(<$backend as Spec>::TEMPLATES),+]
                .iter()
                .copied()
                .flatten()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| *text)
        }
    };
}

registry! {
    /// One of the backends, set up from the config.
    #[enum_dispatch(Backend, Installer)]
    #[derive(Debug, Clone)]
    pub enum BackendKind {
        Upstart(upstart::Upstart),
        Systemd(systemd::Systemd),
        Runit(runit::Runit),
        Supervisord(supervisord::Supervisord),
        Sysv(sysv::Sysv),
        SystemdUser(systemd_user::SystemdUser),
        Openrc(openrc::Openrc),
        Launchd(launchd::Launchd),
    }
}

/// Runs `program` (an absolute path) with `args`, an empty environment but a fixed `PATH`, and
/// no input; what it printed and how it ended.
pub fn run_init_tool(program: &str, args: &[&str]) -> Result<std::process::Output> {
    std::process::Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            crate::error::Error::io(
                format!(
                    "running {} {}",
                    crate::sanitize::Quoted(program),
                    args.join(" ")
                ),
                e,
            )
        })
}

/// The error for a run of `program` `args` that failed: its status and what it said.
pub fn tool_failed(
    program: &str,
    args: &[&str],
    output: &std::process::Output,
) -> crate::error::Error {
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    crate::error::Error::tool(
        crate::sanitize::Quoted(program).to_string(),
        args.join(" "),
        output,
        &said,
    )
}

/// The name of manifest entry `path` when it is a file directly in `dir` (no `/` in it): how a
/// backend finds its job files among the app's entries.
pub fn file_in<'a>(dir: &str, path: &'a str, kind: EntryKind) -> Option<&'a str> {
    path.strip_prefix(dir.trim_end_matches('/'))
        .and_then(|r| r.strip_prefix('/'))
        .filter(|name| kind == EntryKind::File && !name.is_empty() && !name.contains('/'))
}

/// Renders template `name` (`<backend>/<file>`) with `context`.
pub fn render(name: &'static str, context: &tera::Context) -> Result<String> {
    template::render_compiled(engine, template_source, name, context)
}

/// Renders template `name` (`<backend>/<file>`) with `context` at the end of `into`
/// (`template::Sections`).
fn append(name: &'static str, context: &tera::Context, into: &mut Vec<u8>) -> Result<()> {
    template::append_compiled(engine, template_source, name, context, into)
}

/// One file an export wrote, as a test found it.
#[cfg(feature = "testing")]
#[derive(Debug, Clone)]
pub struct Installed {
    /// Its live-system path (`/etc/init/fb-a.conf`).
    pub live: String,
    /// Where it is on this machine (under `--root`).
    pub host: std::path::PathBuf,
    pub contents: Vec<u8>,
}

/// A backend's checks of what it generated, with the real tools for its formats. Built only
/// for the tests (feature `testing`).
#[cfg(feature = "testing")]
pub trait Checks {
    /// Checks the files this backend wrote (its own among `files`) with the real checkers of
    /// its formats. Returns how many it checked.
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String>;

    /// The rules one rendered file must keep (the fuzz targets' invariants): no line that a
    /// value could have started, secrets only in private files.
    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String>;

    /// How the file at live path `path` holds a job's env values, if it holds them: which
    /// reader the tests read them back with (tests/properties.rs).
    fn secret(&self, path: &str) -> Option<Secret>;

    /// True for the one file every process of an app has (every process type, where the env
    /// file is the type's: see `env_file_stem`; tests/corpus.rs counts them): by default the
    /// file that holds its env.
    fn is_process_file(&self, path: &str) -> bool {
        self.secret(path).is_some()
    }

    /// In which format the init runs the file at live path `path` as root; `None` when it
    /// runs nothing of it as root (tests/security.rs reads those lines).
    fn root_format(&self, path: &str) -> Option<RootFormat>;

    /// The init's name for app `full_name`'s own job, when it has one.
    fn app_job_name(&self, full_name: &str) -> Option<String>;

    /// The init's name for process `job` of app `full_name`: by default its file name's stem.
    fn process_name(&self, full_name: &str, job: &str) -> String {
        format!("{full_name}-{job}")
    }

    /// What `Installer::jobs` names process `job` (of type `label`) of app `full_name` by: by
    /// default the process itself; supervisord's manifest knows its process types only.
    fn listed_name(&self, full_name: &str, label: &str, job: &str) -> String {
        let _ = label;
        self.process_name(full_name, job)
    }

    /// The stem of the file that holds the env of process `job` (of type `label`): by default
    /// the process's own, `<full_name>-<job>`; supervisord's helper is its type's.
    fn env_file_stem(&self, full_name: &str, label: &str, job: &str) -> String {
        let _ = label;
        format!("{full_name}-{job}")
    }
}

/// How a file carries a job's env. A test matches on it, never on backend names, so a backend
/// that carries the env in a new way does not compile until a test reads that way back.
#[cfg(feature = "testing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// A shell script, run as the run user, that exports each value (single-quoted).
    ShellHelper,
    /// A systemd `EnvironmentFile=`.
    EnvFile,
    /// One file of an envdir, one value each (`chpst -e`, `s6-envdir`).
    EnvDirEntry,
}

/// The format of a file an init reads and runs lines of as root. A test matches on it, so a
/// new format does not compile until a test says what runs as root in it.
#[cfg(feature = "testing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootFormat {
    /// An Upstart job file: its script and exec stanzas, before `setuid` applies.
    UpstartJob,
    /// A systemd unit: commands without `User=`, `+`/`!` commands, output files.
    SystemdUnit,
    /// A runit service directory's scripts, which runsv starts as root.
    RunitService,
    /// A supervisord program section: its command and the log files supervisord opens.
    SupervisordConf,
    /// An init script (sysv or OpenRC), run as root.
    InitScript,
    /// A launchd plist: its program arguments without `UserName`.
    LaunchdPlist,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::manifest::Manifest;
    use crate::install::transaction::app_jobs;
    use crate::model::account::RunAs;

    /// The jobs of the Procfile of `entries`: (label, name).
    const JOBS: [(&str, &str); 3] = [
        ("web", "web"),
        ("worker", "worker_0"),
        ("worker", "worker_1"),
    ];

    /// The manifest entries an export of `app` through `backend` records.
    fn entries(backend: &str, app: &str) -> Vec<(std::sync::Arc<str>, EntryKind)> {
        let procfile = b"version: 2\ncommands:\n  web:\n    command: a\n  worker:\n    command: b\n    count: 2\n";
        crate::testing::preview::render(procfile, app, backend, None)
            .unwrap()
            .into_iter()
            .map(|r| {
                let kind = if r.contents.is_some() {
                    EntryKind::File
                } else if r.link_target.is_some() {
                    EntryKind::Link
                } else {
                    EntryKind::Dir
                };
                (r.path.into(), kind)
            })
            .collect()
    }

    /// Every backend finds exactly the app's jobs in its manifest, and none of a neighbour
    /// whose entries a forged manifest lists.
    #[test]
    fn the_jobs_of_a_manifest_are_the_apps_own() {
        let config = Config::parse_with("config", None, &keys(), RunAs::unresolved).unwrap();
        for backend in BackendKind::all(&config).unwrap() {
            let name = backend.name();
            let mut manifest = Manifest::default();
            manifest.entries.extend(entries(name, "myapp"));
            let jobs = app_jobs(&backend, &manifest, "fb-myapp");
            let mut processes = jobs.processes.clone();
            processes.sort();
            let mut want: Vec<String> = JOBS
                .iter()
                .map(|(label, j)| backend.checks().listed_name("fb-myapp", label, j))
                .collect();
            want.dedup();
            assert_eq!(processes, want, "{name}");
            manifest.entries.extend(entries(name, "myapp_staging"));
            manifest
                .entries
                .extend([("/etc/passwd".into(), EntryKind::File)]);
            assert_eq!(app_jobs(&backend, &manifest, "fb-myapp"), jobs, "{name}");
        }
    }

    /// The jobs as each init names them: the app job (if the init has one) and the processes.
    #[test]
    fn jobs_are_named_as_their_init_names_them() {
        let config = Config::parse_with("config", None, &keys(), RunAs::unresolved).unwrap();
        for backend in BackendKind::all(&config).unwrap() {
            let name = backend.name();
            let facts = backend.checks();
            let app = facts.app_job_name("fb-myapp");
            let mut processes: Vec<String> = JOBS
                .iter()
                .map(|(label, j)| facts.listed_name("fb-myapp", label, j))
                .collect();
            processes.dedup();
            let mut manifest = Manifest::default();
            manifest.entries.extend(entries(name, "myapp"));
            let jobs = app_jobs(&backend, &manifest, "fb-myapp");
            let mut got = jobs.processes.clone();
            got.sort();
            assert_eq!(jobs.app, app, "{name}");
            assert_eq!(got, processes, "{name}");
            assert_eq!(jobs.full_name, "fb-myapp", "{name}");
            // A shrink drops a process type: its jobs alone, never the app's.
            let dropped: Vec<(String, EntryKind)> = entries(name, "myapp")
                .into_iter()
                .filter(|(p, _)| p.contains("-worker"))
                .map(|(p, k)| (p.to_string(), k))
                .collect();
            let dropped = backend.jobs("fb-myapp", &dropped);
            assert_eq!(dropped.app, None, "{name}");
            let mut got = dropped.processes.clone();
            got.sort();
            assert_eq!(got, processes[1..], "{name}");
        }
    }

    /// Every registered backend's facts name its own files in what it renders: one process
    /// file per process, a file holding each process's env, names its manifest gives back; and
    /// a helper that holds the env is never a file its init runs as root. A backend whose
    /// facts miss its files fails here instead of passing the generic suites untested.
    #[test]
    fn every_backends_facts_name_its_own_files() {
        let config = Config::parse_with("config", None, &keys(), RunAs::unresolved).unwrap();
        for backend in BackendKind::all(&config).unwrap() {
            let name = backend.name();
            let facts = backend.checks();
            let paths: Vec<String> = entries(name, "myapp")
                .into_iter()
                .map(|e| e.0.to_string())
                .collect();
            let mut stems: Vec<String> = JOBS
                .iter()
                .map(|(label, job)| facts.env_file_stem("fb-myapp", label, job))
                .collect();
            stems.dedup();
            let process_files = paths.iter().filter(|p| facts.is_process_file(p)).count();
            assert_eq!(process_files, stems.len(), "{name}: process files");
            for own in stems {
                assert!(
                    paths
                        .iter()
                        .any(|p| p.contains(&own) && facts.secret(p).is_some()),
                    "{name}: no file holds the env of {own}"
                );
            }
            for path in paths
                .iter()
                .filter(|p| facts.secret(p) == Some(Secret::ShellHelper))
            {
                assert_eq!(facts.root_format(path), None, "{name}: {path}");
            }
        }
    }
}
