//! The shape of the code that docs/ARCHITECTURE.md promises, read from the source: the one
//! `#[path]` (the backends' folder, wired into the crate), the Kubernetes export beside the
//! backends and not among them, one place where `cli::run` tells the commands apart, and no
//! import circles.

use std::fs;
use std::path::{Path, PathBuf};

fn checkout() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively, but build output.
fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, into);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The attribute, spelled in two pieces so this file does not hold it.
const PATH_ATTRIBUTE: &str = concat!("#[", "path");

/// Code is shared by modules and features, not by pointing a module at another folder's
/// file: the fuzz targets and tests/fuzz_regressions.rs reach the targets' bodies as
/// `procexport::testing::fuzz_targets`. The one `#[path]` left puts `backends/` into the crate.
#[test]
fn the_backends_folder_is_the_only_path_attribute() {
    let root = checkout();
    let mut files = Vec::new();
    for dir in ["src", "backends", "tests", "fuzz", "bench"] {
        if root.join(dir).is_dir() {
            rust_files(&root.join(dir), &mut files);
        }
    }
    files.sort();
    let found: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = fs::read_to_string(file).unwrap();
            let name = file.strip_prefix(&root).unwrap().display().to_string();
            text.lines()
                .filter(|line| line.trim_start().starts_with(PATH_ATTRIBUTE))
                .map(|line| format!("{name}: {}", line.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(found, [r#"src/lib.rs: #[path = "../backends/mod.rs"]"#]);
}

/// The Kubernetes export installs nothing and is no registry backend: it is its own module of
/// the crate, declared in src/lib.rs, not a folder of `backends/`.
#[test]
fn kubernetes_sits_beside_the_backends() {
    let root = checkout();
    assert!(root.join("src/kubernetes/mod.rs").is_file());
    assert!(!root.join("backends/kubernetes").exists());
    let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
    assert!(lib.lines().any(|line| line == "pub mod kubernetes;"));
    let registry = fs::read_to_string(root.join("backends/mod.rs")).unwrap();
    assert!(!registry.contains("mod kubernetes"));
}

/// `cli::run` matches the command once, one arm per command, so no arm is "handled above":
/// every variant of `Command` (read from src/cli/args.rs) is named once in src/cli/run.rs.
#[test]
fn cli_run_names_each_command_once() {
    let root = checkout();
    let args = fs::read_to_string(root.join("src/cli/args.rs")).unwrap();
    let body = args
        .split_once("pub enum Command {\n")
        .and_then(|(_, rest)| rest.split_once("\n}\n"))
        .expect("src/cli/args.rs declares `pub enum Command`")
        .0;
    let variants: Vec<&str> = body
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap()
        })
        .collect();
    assert!(variants.len() >= 8, "{variants:?}");
    let run = fs::read_to_string(root.join("src/cli/run.rs")).unwrap();
    assert!(!run.contains("unreachable!"));
    for variant in variants {
        let named = run
            .match_indices(&format!("Command::{variant}"))
            .filter(|(at, _)| {
                !run[at + "Command::".len() + variant.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric())
            })
            .count();
        assert_eq!(
            named, 1,
            "src/cli/run.rs names Command::{variant} {named} times"
        );
    }
}

/// Each module imports only modules that do not import it back, directly or through others
/// (`tools/import_circles.py`, which names each circle it finds and exits 1).
#[test]
fn no_module_imports_itself_through_others() {
    let out = std::process::Command::new("python3")
        .arg(checkout().join("tools/import_circles.py"))
        .current_dir(checkout())
        .output()
        .expect("python3 runs tools/import_circles.py");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "import circles:\n{said}");
    assert!(said.contains("import circles: 0"), "{said}");
}
