//! Golden trees: each case under tests/fixtures/golden/ holds a Procfile (and optionally extra
//! config lines and a `.env`); the exact tree procexport writes for it through each backend
//! (every entry's kind, mode, owner and path, then every file's text) is an insta snapshot,
//! `tests/snapshots/main__golden__<case>__<backend>.snap`. `INSTA_UPDATE=always` (or
//! `cargo insta review`) rewrites them; review the diff like code.

use crate::support::{Node, Sandbox, BACKENDS};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

/// Renders a tree as a listing (kind, mode, owner, path) plus each file's text, with the
/// sandbox's own path replaced by /SANDBOX so the result does not depend on where it ran.
fn render(sandbox: &Sandbox) -> (String, Vec<(String, String)>) {
    let sandbox_path = sandbox.path().to_str().unwrap().to_owned();
    let mut listing = String::new();
    let mut files = Vec::new();
    for (path, node) in sandbox.snapshot() {
        let line = match node {
            Node::File {
                contents,
                mode,
                uid,
                gid,
            } => {
                let text = String::from_utf8(contents)
                    .unwrap()
                    .replace(&sandbox_path, "/SANDBOX");
                files.push((path.clone(), text));
                format!("file {mode:04o} {}:{} {path}", owner(uid), group(gid))
            }
            Node::Dir { mode, uid, gid } => {
                format!("dir  {mode:04o} {}:{} {path}", owner(uid), group(gid))
            }
            Node::Link { target } => format!("link {path} -> {}", target.display()),
            Node::Other { kind } => format!("{kind} {path}"),
        };
        listing.push_str(&line);
        listing.push('\n');
    }
    (listing, files)
}

fn owner(id: u32) -> String {
    if id == 0 {
        return "root".to_owned();
    }
    nix::unistd::User::from_uid(id.into())
        .ok()
        .flatten()
        .map_or_else(|| id.to_string(), |u| u.name)
}

fn group(id: u32) -> String {
    if id == 0 {
        return "root".to_owned();
    }
    nix::unistd::Group::from_gid(id.into())
        .ok()
        .flatten()
        .map_or_else(|| id.to_string(), |g| g.name)
}

fn check_case(case: &str, backend: &str) {
    crate::support::require_root();
    let dir = fixtures().join(case);
    let extra = fs::read_to_string(dir.join("config.yaml")).unwrap_or_default();
    let sandbox = Sandbox::with_config(&extra);
    let procfile = sandbox.procfile(fs::read(dir.join("Procfile")).unwrap());
    if let Ok(dotenv) = fs::read(dir.join(".env")) {
        sandbox.write("app/.env", dotenv);
    }
    // A Procfile's `env_file: shared/env.file`, relative to its working directory.
    if let Ok(env_file) = fs::read(dir.join("shared/env.file")) {
        sandbox.write("app/shared/env.file", env_file);
    }
    sandbox.export(backend, &procfile, "myapp").success();
    crate::support::check_generated_files(&sandbox);
    let (listing, files) = render(&sandbox);
    let mut tree = listing;
    for (path, text) in files {
        let _ = write!(tree, "\n=== {path}\n{text}");
    }
    // The app's lock file holds its run record, which names this boot.
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let tree = tree.replace(boot.trim(), "[boot id]");
    insta::assert_snapshot!(format!("{case}__{backend}"), tree);
}

macro_rules! golden {
    ($($case:ident),*) => {
        $(
            #[test]
            fn $case() {
                for backend in BACKENDS {
                    check_case(stringify!($case), backend);
                }
            }
        )*
    };
}

/// Init-exporter's own v2 test file, through the backends that carry its keys; its files go
/// through `check_generated_files` (systemd-analyze verify, the Upstart stanza checker).
#[test]
fn v2_init_exporter() {
    check_case("v2_init_exporter", "systemd");
}

#[test]
fn v2_init_exporter_upstart() {
    check_case("v2_init_exporter_upstart", "upstart");
}

golden!(
    v2_gem_example,
    v1_basic,
    v2_every_option,
    v2_runlevels,
    v2_single_user,
    v2_foreman
);
