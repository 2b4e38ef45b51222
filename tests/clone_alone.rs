//! A clone alone runs its own tests: what CI and the tests need lives in the project. The
//! systemd lab is tests/lab/boot.sh, never a script from a `../shared` checkout beside this
//! one (which only the project's own machines have); the one exception is the optional
//! Upstart build, which .ci/run runs only when it is there.

use std::fs;
use std::path::{Path, PathBuf};

fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, recursively.
fn files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, into);
        } else {
            into.push(path);
        }
    }
}

/// The old home of the systemd lab, spelled in two pieces so this file does not name it.
const OLD_LAB: &str = concat!("shared/tools/", "systemd");

#[test]
fn nothing_ci_or_the_tests_use_names_the_shared_systemd_lab() {
    let root = checkout();
    let mut all = vec![root.join("build.rs")];
    for dir in [".ci", "tests", "packaging"] {
        files(&root.join(dir), &mut all);
    }
    assert!(all.len() > 20, "{all:?}");
    let naming: Vec<String> = all
        .iter()
        .filter(|path| {
            fs::read(path)
                .unwrap()
                .windows(OLD_LAB.len())
                .any(|window| window == OLD_LAB.as_bytes())
        })
        .map(|path| path.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(
        naming.is_empty(),
        "{naming:?} name {OLD_LAB}: use tests/lab/boot.sh, the project's own"
    );
    assert!(root.join("tests/lab/boot.sh").is_file());
}

/// .ci/run reaches into `../shared` for one thing only, the Upstart build, and only after
/// checking it is there: a fresh clone with nothing beside it runs CI to the end.
#[test]
fn ci_runs_without_a_shared_checkout_beside_it() {
    let run = fs::read_to_string(checkout().join(".ci/run")).unwrap();
    let code: Vec<&str> = run
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && line.contains("../shared"))
        .collect();
    assert_eq!(code, ["upstart_build=../shared/tools/upstart/build.sh"]);
    assert!(
        run.contains("if [ -f \"$upstart_build\" ]; then"),
        ".ci/run must build Upstart only when the build script is there"
    );
    assert!(run.contains("bash tests/lab/boot.sh prepare"));
}
