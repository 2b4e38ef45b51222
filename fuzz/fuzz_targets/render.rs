//! A structured input written out as a v2 Procfile, rendered through every backend.
//! The checks are in fuzz/common/targets.rs and procexport::testing::invariants.

#![no_main]

#[path = "../common/targets.rs"]
#[allow(dead_code)]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(problem) = targets::render(data) {
        panic!("invariant broken: {problem}");
    }
});
