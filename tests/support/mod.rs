//! The test harness: a sandbox per test holding a config, Procfiles and the tree procexport
//! writes, the real binary run with a cleared environment, and checks with the real tools
//! (`sh -n`, `shellcheck`, `systemd-analyze verify`) and the Upstart stanza checker.

#![allow(dead_code)]

pub mod init_exporter;
pub mod lab;
pub mod live;
pub mod sudo;

pub use procexport::testing::systemd_syntax;
/// Used by the root tier only (tests/systemd.rs).
#[cfg(feature = "root-tests")]
pub use procexport::testing::{check_systemd_unit, systemd_verify};

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The dedicated system user jobs run as in tests (made by .ci/run; never `nobody`).
pub const RUN_USER: &str = "pxrun";

/// Every backend the shared security and lifecycle tests run against: the registry's list.
pub use procexport::testing::BACKENDS;

/// Where `backend` keeps its manifests on the live system: the config's `state_dir`
/// (`/var/lib/procexport`), or, for systemd-user, the running user's
/// `~/.local/state/procexport`.
pub fn state_dir(backend: &str) -> String {
    if backend == "systemd-user" {
        let uid = nix::unistd::geteuid();
        let user = nix::unistd::User::from_uid(uid).unwrap().unwrap();
        format!("{}/.local/state/procexport", user.dir.display())
    } else {
        "/var/lib/procexport".to_owned()
    }
}

pub fn require_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "these tests check ownership and the sudo boundary and must run as root (CI does)"
    );
}

/// `program` run as the run user and group with no supplementary groups, in a cleared
/// environment: how Upstart (setuid/setgid) and chpst start a job.
pub fn as_run_user(program: &str) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            RUN_USER,
            "--regid",
            RUN_USER,
            "--clear-groups",
            program,
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    command
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_procexport"))
}

/// The result of one run of procexport.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        self
    }

    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// One node of a directory tree, as compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        contents: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Link {
        target: PathBuf,
    },
    Other {
        kind: String,
    },
}

pub type Tree = BTreeMap<String, Node>;

/// A temp dir holding `config.yaml`, `app/` (Procfiles) and `root/` (what procexport writes).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// True: the config points every directory inside the sandbox and no `--root` is passed,
    /// so generated files name real paths and can be run.
    pub live: bool,
}

impl Sandbox {
    /// A sandbox whose files go under `root/` through `--root`.
    pub fn new() -> Self {
        Self::with_config("")
    }

    pub fn with_config(extra: &str) -> Self {
        let sandbox = Self::empty(false);
        sandbox.write_config(&format!(
            "run_user: {RUN_USER}\nrun_group: {RUN_USER}\n{extra}"
        ));
        sandbox
    }

    /// A sandbox whose config points every directory into `root/`, with no `--root`.
    pub fn live(extra: &str) -> Self {
        let sandbox = Self::empty(true);
        let root = sandbox.root();
        let r = root.display();
        // Every directory of every backend, under root/ (the registry's keys and defaults).
        // OpenRC's scripts go where SysV's do by default (both are /etc/init.d on a real host,
        // where one of the two is the init); a sandbox keeps them apart.
        let dirs: String = procexport::testing::dir_keys()
            .into_iter()
            .map(|(key, default)| match key {
                "openrc_dir" => format!("{key}: {r}/etc/openrc/init.d\n"),
                // No space in the sandbox's path, so that tests can name it plainly.
                "launchd_helper_dir" => format!("{key}: {r}/Library/procexport\n"),
                _ => format!("{key}: {r}{default}\n"),
            })
            .collect();
        sandbox.write_config(&format!(
            "run_user: {RUN_USER}\nrun_group: {RUN_USER}\n{dirs}{extra}"
        ));
        fs::create_dir_all(&root).unwrap();
        sandbox
    }

    /// A sandbox like `new`, in memory (/dev/shm) where the machine has it: for tests that
    /// write many files and are about process kills, not power loss.
    pub fn in_memory() -> Self {
        let shm = Path::new("/dev/shm");
        let parent = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("procexport-test")
            .tempdir_in(parent)
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let sandbox = Self { dir, live: false };
        sandbox.write_config(&format!("run_user: {RUN_USER}\nrun_group: {RUN_USER}\n"));
        sandbox
    }

    fn empty(live: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("procexport-test")
            .tempdir()
            .unwrap();
        // The run user must reach Procfiles, probes and working directories in here.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir, live }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn root(&self) -> PathBuf {
        self.path().join("root")
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config.yaml")
    }

    /// Runs procexport `args` (after the binary) with this sandbox's config and root under
    /// `strace -f -qq` and the options `strace_options`; returns the trace (the run must succeed).
    pub fn strace(&self, strace_options: &[&str], args: &[&str]) -> String {
        let trace = self.path().join("procexport.strace");
        let status = Command::new("strace")
            .args(["-f", "-qq"])
            .args(strace_options)
            .arg("-o")
            .arg(&trace)
            .arg(bin())
            .arg("--config")
            .arg(self.config_path())
            .arg("--root")
            .arg(self.root())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir(self.path())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("strace runs (apt-get install strace)");
        assert!(status.success(), "procexport {args:?} failed under strace");
        fs::read_to_string(&trace).unwrap()
    }

    pub fn write_config(&self, text: &str) {
        self.write("config.yaml", text);
    }

    /// Writes `rel` (relative to the sandbox), making its directories; returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        path
    }

    /// Writes `app/Procfile`.
    pub fn procfile(&self, text: impl AsRef<[u8]>) -> PathBuf {
        self.write("app/Procfile", text)
    }

    /// Where live path `real` is in this sandbox.
    pub fn host(&self, real: &str) -> PathBuf {
        if self.live {
            PathBuf::from(real)
        } else {
            self.root().join(real.trim_start_matches('/'))
        }
    }

    /// procexport with the sandbox's config (and `--root`), in a cleared environment.
    /// An export of `app` started in the background, its output discarded: for tests that
    /// watch it or signal it half way.
    pub fn spawn_export(&self, backend: &str, procfile: &Path, app: &str) -> std::process::Child {
        self.command()
            .args([backend, "-p", procfile.to_str().unwrap(), "-n", app])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(bin());
        command
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir(self.path());
        command.arg("--config").arg(self.config_path());
        if !self.live {
            command.arg("--root").arg(self.root());
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Outcome {
        run(self.command().args(args))
    }

    pub fn export(&self, backend: &str, procfile: &Path, app: &str) -> Outcome {
        self.run(&[backend, "-p", procfile.to_str().unwrap(), "-n", app])
    }

    /// Every node under `root/`, for byte-for-byte before/after comparisons.
    pub fn snapshot(&self) -> Tree {
        let mut tree = Tree::new();
        if self.root().exists() {
            walk(&self.root(), &self.root(), &mut tree);
        }
        tree
    }

    /// The paths (relative to `root/`) of regular files in the snapshot.
    pub fn files(&self) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .filter(|(_, n)| matches!(n, Node::File { .. }))
            .map(|(p, _)| p)
            .collect()
    }
}

pub fn run(command: &mut Command) -> Outcome {
    let output = command.output().expect("procexport runs");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn walk(base: &Path, dir: &Path, tree: &mut Tree) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let rel = path
            .strip_prefix(base)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let mode = meta.mode() & 0o7777;
        let node = if meta.file_type().is_symlink() {
            Node::Link {
                target: fs::read_link(&path).unwrap(),
            }
        } else if meta.is_dir() {
            walk(base, &path, tree);
            Node::Dir {
                mode,
                uid: meta.uid(),
                gid: meta.gid(),
            }
        } else if meta.is_file() {
            Node::File {
                contents: fs::read(&path).unwrap(),
                mode,
                uid: meta.uid(),
                gid: meta.gid(),
            }
        } else {
            let kind = if meta.file_type().is_fifo() {
                "fifo"
            } else {
                "special"
            };
            Node::Other {
                kind: kind.to_owned(),
            }
        };
        tree.insert(rel, node);
    }
}

/// The paths a dry run lists, with their kind word (`file`, `directory`, `symlink`).
pub fn dry_run_paths(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            line.strip_prefix("=== create ")
                .or_else(|| line.strip_prefix("=== change "))
                .or_else(|| line.strip_prefix("=== write "))
                .or_else(|| line.strip_prefix("=== unchanged "))
        })
        .map(|rest| {
            let (path, info) = rest.split_once(" (").unwrap();
            let kind = info.split([',', ' ']).next().unwrap().to_owned();
            (path.to_owned(), kind)
        })
        .collect()
}

/// Checks every generated file under the sandbox with the checks of the backend that wrote
/// it (the real tool for each format); returns how many files were checked.
#[track_caller]
pub fn check_generated_files(sandbox: &Sandbox) -> usize {
    let config = fs::read_to_string(sandbox.config_path()).unwrap();
    let files: Vec<procexport::testing::Installed> = sandbox
        .snapshot()
        .into_iter()
        .filter_map(|(rel, node)| match node {
            Node::File { contents, .. } => Some(procexport::testing::Installed {
                live: if sandbox.live {
                    sandbox.root().join(&rel).display().to_string()
                } else {
                    format!("/{rel}")
                },
                host: sandbox.root().join(&rel),
                contents,
            }),
            _ => None,
        })
        .collect();
    procexport::testing::check_installed(Some(&config), &files).unwrap_or_else(|e| panic!("{e}"))
}

/// The variables every job gets from procexport itself (HOME, USER, PORT, PS), left out of
/// `env` so that a test can compare the rest with the Procfile's env.
pub fn without_generated(env: Vec<(String, String)>) -> Vec<(String, String)> {
    env.into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "HOME" | "USER" | "PORT" | "PS"))
        .collect()
}

/// The upstart-exporter gem's master job for app `full` (its template: a pre-start that
/// makes `/var/log/<full>`).
pub fn gem_master(full: &str) -> String {
    format!(
        "pre-start script\n\nbash << \"EOF\"\n  mkdir -p /var/log/{full}\n  chown -R service \
         /var/log/{full}\nEOF\n\nend script\n"
    )
}

/// The gem's process job `label` of app `full`, which starts with the master and runs
/// `helper` (its template).
pub fn gem_job(full: &str, label: &str, helper: &str) -> String {
    format!(
        "start on starting {full}\nstop on stopping {full}\nrespawn\nrespawn limit 5 10\n\n\
         script\n  touch /var/log/{full}/{label}.log\n  exec sudo -u service /bin/sh {helper} \
         >> /var/log/{full}/{label}.log 2>&1\nend script\n"
    )
}

/// The gem's helper script.
pub const GEM_HELPER: &str =
    "#!/bin/bash\nif [ -f /etc/profile.d/rbenv.sh ]; then\n  source /etc/profile.d/rbenv.sh\nfi\ncd '/srv' && exec sleep 1\n";
