//! All output goes through one reporter: `error::warn` for messages on stderr, the `out` a
//! command is handed for stdout. A backend or the installer that printed directly would
//! bypass the closed-pipe handling (a `procexport ... | head` that panics half way through a
//! change) and the `procexport: ` prefix, so the product's source is checked as text here.

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

/// The lines of `files` that contain one of `words`, comments left out, as `path:line: text`.
fn lines_naming(files: &[PathBuf], words: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for path in files {
        let relative = path
            .strip_prefix(checkout())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if allowed.contains(&relative.as_str()) {
            continue;
        }
        let text = fs::read_to_string(path).unwrap();
        for (index, line) in text.lines().enumerate() {
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
