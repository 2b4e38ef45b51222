//! Crash consistency: an export of a large app over an earlier one is killed (SIGKILL) at many
//! points while it writes. Every time, each file must be whole (the old version or the new
//! one, never torn or empty), no temp file may be a live job, and the next export must
//! converge to exactly the new set. The sandboxes live in memory (tmpfs): what is tested is a
//! killed process, not a lost disk, and an in-memory filesystem keeps hundreds of exports fast.

use crate::support::{require_root, Node, Sandbox, Tree};
use pretty_assertions::assert_eq;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

pub const JOBS: usize = 500;

/// A v2 Procfile with jobs `j<first>`..: explicit working directory so that two sandboxes
/// render the same bytes.
pub fn procfile(first: usize, tag: &str) -> String {
    let mut text =
        format!("version: 2\nworking_directory: /srv/app\nenv: {{TAG: {tag}}}\ncommands:\n");
    for i in first..first + JOBS {
        text.push_str(&format!("  j{i:03}:\n    command: sleep 1000 {tag}\n"));
    }
    text
}

/// The installed files: everything but the state directory and the (never removed) logs.
pub fn installed(tree: &Tree) -> Tree {
    tree.iter()
        .filter(|(path, _)| {
            let user_state = crate::support::state_dir("systemd-user");
            !path.starts_with("var/lib/procexport")
                && !path.starts_with("var/log")
                && !path.starts_with(user_state.trim_start_matches('/'))
        })
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect()
}

pub fn is_file(node: &Node) -> bool {
    matches!(node, Node::File { .. } | Node::Link { .. })
}

/// When to kill the export.
#[derive(Debug)]
enum KillAt {
    Delay(Duration),
    /// As soon as this path exists (polled without a pause).
    Appears(PathBuf),
    /// As soon as this path is gone.
    Vanishes(PathBuf),
}

impl KillAt {
    /// Waits for the moment, or for the export to end first (then the kill finds it done).
    fn wait(&self, child: &mut Child) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let reached = || match self {
            KillAt::Delay(_) => true,
            KillAt::Appears(path) => path.symlink_metadata().is_ok(),
            KillAt::Vanishes(path) => path.symlink_metadata().is_err(),
        };
        if let KillAt::Delay(delay) = self {
            std::thread::sleep(*delay);
            return;
        }
        while !reached() && Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return;
            }
        }
    }
}

/// A temp entry, or anything inside one (a new directory is made whole under a temp name).
pub fn is_temp(path: &str) -> bool {
    path.split('/')
        .any(|name| name.starts_with(".procexport-") && name.ends_with(".tmp"))
}

fn crash_test(backend: &str) {
    require_root();
    let old_text = procfile(0, "old");
    let new_text = procfile(50, "new"); // 450 replaced, 50 removed, 50 added
                                        // Reference trees, each made by one uninterrupted export.
    let reference = |text: &str| {
        let sandbox = Sandbox::in_memory();
        let procfile = sandbox.procfile(text);
        sandbox.export(backend, &procfile, "big").success();
        installed(&sandbox.snapshot())
    };
    let old_tree = reference(&old_text);
    let new_tree = reference(&new_text);

    let sandbox = Sandbox::in_memory();
    let old = sandbox.write("app/Procfile.old", &old_text);
    let new = sandbox.write("app/Procfile.new", &new_text);
    sandbox.export(backend, &old, "big").success();
    let started = Instant::now();
    sandbox.export(backend, &new, "big").success();
    let full = started.elapsed();

    // Kill points: at times spread over a whole run (reading, rendering, staging temp files),
    // and the moment a given new file appears (renames under way) or an old one vanishes
    // (removals under way), for files spread over the set.
    let appearing: Vec<&String> = new_tree
        .keys()
        .filter(|p| !old_tree.contains_key(*p) && is_file(&new_tree[*p]))
        .collect();
    let vanishing: Vec<&String> = old_tree
        .keys()
        .filter(|p| !new_tree.contains_key(*p) && is_file(&old_tree[*p]))
        .collect();
    let mut kill_points: Vec<KillAt> = (0..8u32)
        .map(|i| KillAt::Delay(full.mul_f64(f64::from(i) / 6.0)))
        .collect();
    for i in 0..6 {
        kill_points.push(KillAt::Appears(
            sandbox.root().join(appearing[i * appearing.len() / 6]),
        ));
    }
    for i in 0..3 {
        kill_points.push(KillAt::Vanishes(
            sandbox.root().join(vanishing[i * vanishing.len() / 3]),
        ));
    }
    let mut points = kill_points.len();
    let mut torn_checks = 0;
    // Kill points that caught the export half way: some files already new, some still old.
    let mut interrupted = 0;
    let trees = (&old_tree, &new_tree);
    for kill_at in &kill_points {
        let (checked, half_way) = kill_once(&sandbox, backend, (&old, &new), trees, kill_at);
        torn_checks += checked;
        interrupted += usize::from(half_way);
    }
    // Where the machine is busy (other tests run beside this one), a kill can miss the few
    // milliseconds the renames take at every fixed point: more points, each while the renames
    // run, until one lands (bounded).
    let mut extra = 0;
    while interrupted == 0 && extra < 40 {
        let at = KillAt::Appears(sandbox.root().join(appearing[extra * 7 % appearing.len()]));
        let (checked, half_way) = kill_once(&sandbox, backend, (&old, &new), trees, &at);
        torn_checks += checked;
        interrupted += usize::from(half_way);
        extra += 1;
        points += 1;
    }
    assert!(torn_checks > 0);
    eprintln!("{backend}: {interrupted} of {points} kills landed half way through the writes");
    assert!(
        interrupted > 0,
        "{backend}: no kill landed while files were being replaced"
    );
}

/// Exports the old set, then the new one killed at `kill_at`; checks that every file is whole
/// and that the next export converges. Returns how many files it checked, and whether the
/// kill landed half way (some files already new, some still old).
fn kill_once(
    sandbox: &Sandbox,
    backend: &str,
    (old, new): (&PathBuf, &PathBuf),
    (old_tree, new_tree): (&Tree, &Tree),
    kill_at: &KillAt,
) -> (usize, bool) {
    sandbox.export(backend, old, "big").success();
    assert_eq!(
        &installed(&sandbox.snapshot()),
        old_tree,
        "{backend}: did not converge back to the old set"
    );
    let mut child = sandbox.spawn_export(backend, new, "big");
    kill_at.wait(&mut child);
    let _ = child.kill();
    child.wait().unwrap();
    let (mut old_versions, mut new_versions, mut checked) = (0, 0, 0);
    for (path, node) in installed(&sandbox.snapshot()) {
        if old_tree.get(&path) != new_tree.get(&path) {
            old_versions += usize::from(old_tree.get(&path) == Some(&node));
            new_versions += usize::from(new_tree.get(&path) == Some(&node));
        }
        if is_temp(&path) {
            continue; // a dot file ending .tmp: no init system reads it as a job
        }
        let whole = old_tree.get(&path) == Some(&node) || new_tree.get(&path) == Some(&node);
        let is_dir = matches!(node, Node::Dir { .. });
        assert!(
            whole || is_dir,
            "{backend} at {kill_at:?}: {path} is neither the old nor the new version: {node:?}"
        );
        checked += 1;
    }
    sandbox.export(backend, new, "big").success();
    let after = installed(&sandbox.snapshot());
    assert!(
        !after.keys().any(|p| is_temp(p)),
        "{backend}: temp files left after a full run"
    );
    assert_eq!(
        &after, new_tree,
        "{backend} at {kill_at:?}: the next export did not converge"
    );
    (checked, old_versions > 0 && new_versions > 0)
}

/// One test per backend, so that they run in parallel.
macro_rules! crash_tests {
    ($($backend:ident),*) => {
        $(
            mod $backend {
                #[test]
                fn killed_exports_leave_whole_files_and_the_next_run_converges() {
                    super::crash_test(procexport::testing::backend_name(stringify!($backend)));
                }
            }
        )*
    };
}

procexport::for_each_backend!(crash_tests);

/// A run killed by a signal that dumps core writes no core file, whatever limits it inherits:
/// a core of a run as root would hold the app's environment, secrets included, and the release
/// build aborts on a panic. Cores are allowed and the file size is capped at one byte, so the
/// export's first write past it ends the run with SIGXFSZ, in a directory the kernel would put
/// the core in; procexport makes itself undumpable before it reads anything.
#[test]
fn a_run_killed_by_a_core_dumping_signal_leaves_no_core() {
    use std::os::unix::process::ExitStatusExt;
    require_root();
    let sandbox = Sandbox::new();
    let procfile = sandbox.procfile("web: bundle exec puma\n");
    let cwd = sandbox.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let export = sandbox.command();
    let args: Vec<_> = export.get_args().map(ToOwned::to_owned).collect();
    let status = std::process::Command::new("/usr/bin/prlimit")
        .args(["--core=unlimited", "--fsize=1", "--"])
        .arg(export.get_program())
        .args(args)
        .args(["upstart", "-p", procfile.to_str().unwrap(), "-n", "cored"])
        .env_clear()
        .current_dir(&cwd)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    // SIGXFSZ: 25 on Linux.
    assert_eq!(status.signal(), Some(25), "{status:?}");
    assert!(
        !status.core_dumped(),
        "the kernel dumped a core: {status:?}"
    );
    let left: Vec<_> = std::fs::read_dir(&cwd)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "a core was written: {left:?}");
}
