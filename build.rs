//! Puts the git commit into `--version` when procexport is built from a checkout:
//! `procexport 0.1.0 (abc1234)`. Built from a crate tarball or without git, it is the plain
//! package version. The commit is only taken from this package's own repository, never from
//! a repository that happens to contain the source (a vendored copy inside another project).
//!
//! It also sets the `procexport_test_upstart` cfg when `PROCEXPORT_TEST_UPSTART` names a built
//! Upstart: the live Upstart tests are ignored without it, with their reason in the summary
//! (a cfg, because whether a test is ignored is decided when it is compiled).

use std::path::Path;
use std::process::Command;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let full = match commit() {
        Some(commit) => format!("{version} ({commit})"),
        None => version,
    };
    println!("cargo:rustc-env=PROCEXPORT_VERSION={full}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(procexport_test_upstart)");
    println!("cargo:rerun-if-env-changed=PROCEXPORT_TEST_UPSTART");
    if std::env::var_os("PROCEXPORT_TEST_UPSTART").is_some_and(|prefix| !prefix.is_empty()) {
        println!("cargo:rustc-cfg=procexport_test_upstart");
    }
}

/// The short commit of HEAD, and the files whose change means another commit.
fn commit() -> Option<String> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let toplevel = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&toplevel).canonicalize().ok()? != Path::new(&manifest_dir).canonicalize().ok()? {
        return None;
    }
    // In a worktree `.git` is a file: ask git where HEAD and the branch's ref really are.
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])?];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch])?);
    }
    watched.push(git(&["rev-parse", "--git-path", "packed-refs"])?);
    for path in watched {
        let path = Path::new(&manifest_dir).join(path);
        // A path that does not exist would make cargo rerun this script on every build.
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    git(&["rev-parse", "--short=7", "HEAD"])
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
