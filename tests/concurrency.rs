//! Many exports and cleans at once, of one app and of its neighbours: at the end each app has
//! exactly one complete set of files (or none after a clean), matching its manifest, and an
//! app nobody touched is byte-identical.

use crate::support::{require_root, Node, Sandbox, BACKENDS};
use pretty_assertions::assert_eq;
use procexport::testing::preview::render;
use std::collections::BTreeMap;

const X: &str = "version: 2\nworking_directory: /srv/app\ncommands:\n  web:\n    command: puma\n  worker:\n    command: rake work\n    count: 2\n";
const Y: &str =
    "version: 2\nworking_directory: /srv/app\ncommands:\n  web:\n    command: puma -w 4\n";

/// The files of `app` in the sandbox (relative to root/), with their contents.
fn app_files(sandbox: &Sandbox, app: &str) -> BTreeMap<String, Vec<u8>> {
    let stem = format!("fb-{app}");
    sandbox
        .snapshot()
        .into_iter()
        .filter(|(path, _)| {
            let user_state = crate::support::state_dir("systemd-user");
            !path.starts_with("var/lib")
                && !path.starts_with("var/log")
                && !path.starts_with(user_state.trim_start_matches('/'))
        })
        .filter(|(path, _)| {
            path.split('/').any(|c| {
                c == stem
                    || c.starts_with(&format!("{stem}-"))
                    || c.starts_with(&format!("{stem}."))
            })
        })
        .filter_map(|(path, node)| match node {
            Node::File { contents, .. } => Some((path, contents)),
            Node::Link { target } => Some((path, target.to_str().unwrap().as_bytes().to_vec())),
            _ => None,
        })
        .collect()
}

/// What one export of `procfile` installs for `app`, rendered in memory (where the run user
/// is not looked up, so its HOME is put in here).
fn expected(procfile: &str, app: &str, backend: &str) -> BTreeMap<String, Vec<u8>> {
    let home = nix::unistd::User::from_name(crate::support::RUN_USER)
        .unwrap()
        .unwrap()
        .dir;
    render(procfile.as_bytes(), app, backend, None)
        .unwrap()
        .into_iter()
        .filter_map(|r| {
            let text = r.contents.or(r.link_target)?;
            let bytes = text
                .replace("/nonexistent", home.to_str().unwrap())
                .into_bytes();
            Some((r.path.trim_start_matches('/').to_owned(), bytes))
        })
        .collect()
}

fn concurrency_test(backend: &str) {
    require_root();
    let sandbox = Sandbox::new();
    let x = sandbox.write("app/Procfile.x", X);
    let y = sandbox.write("app/Procfile.y", Y);
    sandbox.export(backend, &x, "quiet").success();
    let quiet_before = app_files(&sandbox, "quiet");
    let export = |procfile: &std::path::Path, app: &str| {
        sandbox
            .command()
            .args([backend, "-p", procfile.to_str().unwrap(), "-n", app])
            .spawn()
            .unwrap()
    };
    let clean = |app: &str| {
        sandbox
            .command()
            .args(["clean", "-n", app, "--backend", backend])
            .spawn()
            .unwrap()
    };
    for round in 0..3 {
        let mut children = Vec::new();
        for i in 0..4 {
            children.push(export(if i % 2 == 0 { &x } else { &y }, "busy"));
            children.push(export(&y, "busy_neighbour"));
            if i == round {
                children.push(clean("busy"));
                children.push(clean("busy_neighbour"));
            }
        }
        for mut child in children {
            assert!(
                child.wait().unwrap().success(),
                "{backend}: a concurrent run failed"
            );
        }
        for app in ["busy", "busy_neighbour"] {
            let files = app_files(&sandbox, app);
            let sets = [
                BTreeMap::new(),
                expected(X, app, backend),
                expected(Y, app, backend),
            ];
            assert!(
                sets.contains(&files),
                "{backend} round {round}: {app} is not one whole set: {:?}",
                files.keys()
            );
        }
        assert_eq!(
            app_files(&sandbox, "quiet"),
            quiet_before,
            "{backend}: an untouched app changed"
        );
    }
}

#[test]
fn concurrent_exports_and_cleans_leave_one_whole_set_per_app() {
    for backend in BACKENDS {
        concurrency_test(backend);
    }
}
