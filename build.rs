//! Puts the git commit into `--version` when procexport is built from a checkout:
//! `procexport 0.1.0 (abc1234)`. Built from a crate tarball or without git, it is the plain
//! package version. The commit is only taken from this package's own repository, never from
//! a repository that happens to contain the source (a vendored copy inside another project).
//!
//! It links GCC's unwinder statically (`link_unwinder_statically`), and sets the
//! `procexport_test_upstart` cfg when `PROCEXPORT_TEST_UPSTART` names a built
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
    link_unwinder_statically();
}

/// Links GCC's unwinder into the binary (libgcc_eh.a) instead of loading libgcc_s.so.1 at
/// every start: loading and relocating that library was 0.12-0.17 ms of each run here, a
/// tenth of a 5-job dry run. rustc asks the linker for `-lgcc_s`, and the linker takes the
/// first file of that name on its search path: an archive put first is linked in. It is what
/// `gcc -static-libgcc` does for C++ programs. For another target, or without a C compiler
/// that has libgcc_eh.a, the shared library is used as before.
fn link_unwinder_statically() {
    println!("cargo:rerun-if-env-changed=CC");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    if !native || var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let Some(archive) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .filter(|found| found.status.success())
        .map(|found| String::from_utf8_lossy(&found.stdout).trim().to_owned())
        .filter(|path| Path::new(path).is_absolute() && Path::new(path).is_file())
    else {
        return;
    };
    let dir = Path::new(&var("OUT_DIR")).join("unwinder");
    let copied = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::copy(&archive, dir.join("libgcc_s.a")));
    if copied.is_ok() {
        println!("cargo:rustc-link-search=native={}", dir.display());
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
