//! Each thing has one place, checked as text over the product's source. All output goes
//! through one reporter: `error::warn` for messages on stderr, the `out` a command is handed
//! for stdout; a backend or the installer that printed directly would bypass the
//! closed-pipe handling (a `procexport ... | head` that panics half way through a change)
//! and the `procexport: ` prefix. Every read of the filesystem, the live system's probes
//! included, goes through `src/install/disk/`, where symlinks and ownership are checked.

use std::fs;
use std::path::{Path, PathBuf};

fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The product's source: the crate and its backends (wherever the backends live).
fn product_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["src", "backends"] {
        let dir = checkout().join(dir);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
    }
    assert!(
        files.len() > 20,
        "the product's source was not found: {files:?}"
    );
    files
}

/// The lines of `files` that contain one of `words`, comments left out, as `path:line: text`;
/// a file is skipped when its path starts with one of `allowed`.
fn lines_naming(files: &[PathBuf], words: &[&str], allowed: &[&str]) -> Vec<String> {
    lines_naming_in(files, words, allowed, false)
}

/// `lines_naming`, and with `product_only` a file's unit tests (from its `#[cfg(test)]`
/// module on) are left out too.
fn lines_naming_in(
    files: &[PathBuf],
    words: &[&str],
    allowed: &[&str],
    product_only: bool,
) -> Vec<String> {
    let mut found = Vec::new();
    for path in files {
        let relative = path
            .strip_prefix(checkout())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if allowed.iter().any(|a| relative.starts_with(a)) {
            continue;
        }
        let text = fs::read_to_string(path).unwrap();
        for (index, line) in text.lines().enumerate() {
            if product_only && line == "#[cfg(test)]" {
                break;
            }
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if words.iter().any(|word| code.contains(word)) {
                found.push(format!("{relative}:{}: {}", index + 1, code));
            }
        }
    }
    found
}

/// What prints without the reporter.
const DIRECT_OUTPUT: [&str; 9] = [
    "println!",
    "print!(",
    "eprint!(",
    "eprintln!",
    "dbg!(",
    "stdout()",
    "stderr()",
    "/dev/stdout",
    "/dev/stderr",
];

/// The reporter (`warn`), and `main`, which hands stdout to the command it runs.
const REPORTERS: [&str; 2] = ["src/error.rs", "src/main.rs"];

#[test]
fn only_the_reporter_writes_to_stdout_or_stderr() {
    let found = lines_naming(&product_files(), &DIRECT_OUTPUT, &REPORTERS);
    assert!(
        found.is_empty(),
        "these print directly; report through crate::error::warn (stderr) or the command's \
         `out` (stdout) instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_reporter_is_where_this_test_looks_for_it() {
    // If the reporter moved, the allowance above would silently cover nothing.
    let reporter = fs::read_to_string(checkout().join(REPORTERS[0])).unwrap();
    assert!(
        reporter.contains("pub fn warn("),
        "no `warn` in {}",
        REPORTERS[0]
    );
    assert!(reporter.contains("std::io::stderr()"));
}

#[test]
fn no_error_travels_through_a_thread_local() {
    // A template refusal once reached `render` through a per-thread slot; it is typed now.
    let found = lines_naming(&product_files(), &["thread_local!"], &[]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// What reads or writes the filesystem without `Disk`.
const DIRECT_FILESYSTEM: [&str; 12] = [
    "std::fs",
    "fs::",
    "File::open",
    "File::create",
    "OpenOptions",
    ".exists()",
    ".is_file()",
    ".is_dir()",
    "read_to_string",
    "read_dir",
    "canonicalize",
    "symlink_metadata",
];

/// `Disk` itself; the tests' helpers and the backends' checkers of rendered files (their
/// `check.rs` and `check_rules.rs`, built only with the `testing` feature), which read what
/// the tests wrote.
const FILESYSTEM_CODE: [&str; 3] = [
    "src/install/disk/",
    "src/testing/",
    "backends/check_rules.rs",
];

#[test]
fn only_disk_touches_the_filesystem() {
    let files: Vec<PathBuf> = product_files()
        .into_iter()
        .filter(|path| !path.ends_with("check.rs"))
        .collect();
    let found = lines_naming_in(&files, &DIRECT_FILESYSTEM, &FILESYSTEM_CODE, true);
    assert!(
        found.is_empty(),
        "these reach the filesystem without src/install/disk/; add what they need to Disk \
         (Disk::live_exists, Disk::live_leads_to_file, ...):\n{}",
        found.join("\n")
    );
}
