//! A structured input written out as a v2 Procfile, rendered through every backend.
//! The checks are in procexport::testing::{fuzz_targets, invariants}.

#![no_main]

use procexport::testing::fuzz_targets as targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(problem) = targets::render(data) {
        panic!("invariant broken: {problem}");
    }
});
