//! Inputs saved from the fuzz targets (fuzz/, see fuzz/README.md), replayed on every test run
//! through the same code the targets run (`procexport::testing::fuzz_targets`) and so the same
//! invariant checks (`procexport::testing::invariants`).
//!
//! tests/fixtures/fuzz/<target>/ holds, for each target, the minimized inputs that once broke
//! an invariant (named after what they found) and a few seed inputs (`seed-*`) kept so that
//! every target is exercised here even when nothing is left to reproduce. A file holds the
//! bytes exactly as the target was given them: for `parse_v2` without the `version: 2` line
//! the target puts in front, for `render` the raw bytes its structured input is read from.

use procexport::testing::fuzz_targets as targets;
use std::fs;
use std::path::Path;

#[test]
fn every_saved_fuzz_input_keeps_the_invariants() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut failures = Vec::new();
    for (target, run) in targets::TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 2,
            "{target}: too few saved inputs in {}",
            dir.display()
        );
        for file in files {
            let bytes = fs::read(&file).unwrap();
            if let Err(problem) = run(&bytes) {
                failures.push(format!(
                    "{target}/{}: {problem}",
                    file.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_render_target_writes_what_it_means() {
    // A structured input must reach the Procfile as meant: a valid one renders with the
    // expected jobs, so a harness bug cannot make the target check nothing.
    let seed = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/render/seed-valid"),
    )
    .unwrap();
    assert_eq!(targets::render(&seed), Ok(()));
    assert!(
        targets::render_is_valid(&seed),
        "the seed is no longer a valid input: {:?}",
        targets::render_procfile(&seed)
    );
}
