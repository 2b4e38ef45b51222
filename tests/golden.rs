//! Golden files: each case under tests/fixtures/golden/ holds a Procfile (and optionally extra
//! config lines) and, per backend, the exact tree procexport must write. `BLESS=1 cargo test`
//! rewrites the expected files; review the diff like code.

use crate::support::{Node, Sandbox, BACKENDS};
use pretty_assertions::assert_eq;
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
    sandbox.export(backend, &procfile, "myapp").success();
    crate::support::check_generated_files(&sandbox);
    let (listing, files) = render(&sandbox);
    let expected = dir.join("expected").join(backend);
    if std::env::var_os("BLESS").is_some() {
        let _ = fs::remove_dir_all(&expected);
        for (path, text) in &files {
            let target = expected.join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(target, text).unwrap();
        }
        fs::create_dir_all(&expected).unwrap();
        fs::write(
            dir.join("expected").join(format!("{backend}.tree")),
            &listing,
        )
        .unwrap();
    }
    let want_listing = fs::read_to_string(dir.join("expected").join(format!("{backend}.tree")))
        .unwrap_or_else(|_| panic!("no golden listing for {case}/{backend}; run with BLESS=1"));
    assert_eq!(listing, want_listing, "{case}/{backend}: tree differs");
    for (path, text) in files {
        let want = fs::read_to_string(expected.join(&path)).unwrap_or_default();
        assert_eq!(text, want, "{case}/{backend}: {path} differs");
    }
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

golden!(
    v2_gem_example,
    v1_basic,
    v2_every_option,
    v2_runlevels,
    v2_single_user,
    v2_foreman
);
