//! Arbitrary bytes as a Procfile (most inputs are v1), rendered through Upstart.
//! The checks are in fuzz/common/targets.rs and procexport::testing::invariants.

#![no_main]

#[path = "../common/targets.rs"]
#[allow(dead_code)]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(problem) = targets::parse_v1(data) {
        panic!("invariant broken: {problem}");
    }
});
