//! Arbitrary bytes after `version: 2\n`, so the YAML reader gets them, rendered through Upstart.
//! The checks are in procexport::testing::{fuzz_targets, invariants}.

#![no_main]

use procexport::testing::fuzz_targets as targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(problem) = targets::parse_v2(data) {
        panic!("invariant broken: {problem}");
    }
});
