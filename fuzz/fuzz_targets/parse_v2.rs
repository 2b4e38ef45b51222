//! Arbitrary bytes after `version: 2\n`, so the YAML reader gets them, rendered through Upstart.
//! The checks are in fuzz/common/targets.rs and procexport::testing::invariants.

#![no_main]

#[path = "../common/targets.rs"]
#[allow(dead_code)]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(problem) = targets::parse_v2(data) {
        panic!("invariant broken: {problem}");
    }
});
