//! Crash consistency: an export of a large app over an earlier one is killed (SIGKILL) at many
//! points while it writes. Every time, each file must be whole (the old version or the new
//! one, never torn or empty), no temp file may be a live job, and the next export must
//! converge to exactly the new set.

use crate::support::{require_root, Node, Sandbox, Tree, BACKENDS};
use pretty_assertions::assert_eq;
use std::process::Stdio;
use std::time::{Duration, Instant};

const JOBS: usize = 500;

/// A v2 Procfile with jobs `j<first>`..: explicit working directory so that two sandboxes
/// render the same bytes.
fn procfile(first: usize, tag: &str) -> String {
    let mut text =
        format!("version: 2\nworking_directory: /srv/app\nenv: {{TAG: {tag}}}\ncommands:\n");
    for i in first..first + JOBS {
        text.push_str(&format!("  j{i:03}:\n    command: sleep 1000 {tag}\n"));
    }
    text
}

/// The installed files: everything but the state directory and the (never removed) logs.
fn installed(tree: &Tree) -> Tree {
    tree.iter()
        .filter(|(path, _)| !path.starts_with("var/lib/procexport") && !path.starts_with("var/log"))
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect()
}

fn is_temp(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with(".procexport-") && name.ends_with(".tmp"))
}

fn crash_test(backend: &str) {
    require_root();
    let old_text = procfile(0, "old");
    let new_text = procfile(50, "new"); // 450 replaced, 50 removed, 50 added
                                        // Reference trees, each made by one uninterrupted export.
    let reference = |text: &str| {
        let sandbox = Sandbox::new();
        let procfile = sandbox.procfile(text);
        sandbox.export(backend, &procfile, "big").success();
        installed(&sandbox.snapshot())
    };
    let old_tree = reference(&old_text);
    let new_tree = reference(&new_text);

    let sandbox = Sandbox::new();
    let old = sandbox.write("app/Procfile.old", &old_text);
    let new = sandbox.write("app/Procfile.new", &new_text);
    sandbox.export(backend, &old, "big").success();
    let started = Instant::now();
    sandbox.export(backend, &new, "big").success();
    let full = started.elapsed();

    let points = 16u32;
    let mut torn_checks = 0;
    for point in 0..points {
        sandbox.export(backend, &old, "big").success();
        assert_eq!(
            installed(&sandbox.snapshot()),
            old_tree,
            "{backend}: did not converge back to the old set"
        );
        let delay = full.mul_f64(f64::from(point) / f64::from(points - 2));
        let mut child = sandbox
            .command()
            .args([backend, "-p", new.to_str().unwrap(), "-n", "big"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        for (path, node) in installed(&sandbox.snapshot()) {
            if is_temp(&path) {
                continue; // a dot file ending .tmp: no init system reads it as a job
            }
            let whole = old_tree.get(&path) == Some(&node) || new_tree.get(&path) == Some(&node);
            let is_dir = matches!(node, Node::Dir { .. });
            assert!(
                whole || is_dir,
                "{backend} at {delay:?}: {path} is neither the old nor the new version: {node:?}"
            );
            torn_checks += 1;
        }
        sandbox.export(backend, &new, "big").success();
        let after = installed(&sandbox.snapshot());
        assert!(
            !after.keys().any(|p| is_temp(p)),
            "{backend}: temp files left after a full run"
        );
        assert_eq!(
            after, new_tree,
            "{backend} at {delay:?}: the next export did not converge"
        );
    }
    assert!(torn_checks > 0);
}

#[test]
fn killed_exports_leave_whole_files_and_the_next_run_converges() {
    for backend in BACKENDS {
        crash_test(backend);
    }
}
