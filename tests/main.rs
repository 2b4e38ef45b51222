//! procexport's integration tests: one binary, running the real procexport on real files.

// Generated names are lowercase by construction, and test text is built for clarity, not speed.
#![allow(
    clippy::case_sensitive_file_extension_comparisons,
    clippy::format_push_string,
    clippy::format_collect,
    clippy::assigning_clones
)]

mod support;

mod bad_input;
mod cli;
mod concurrency;
mod corpus;
mod crash;
mod durability;
mod fuzz_regressions;
mod golden;
mod helpers_run;
mod lifecycle;
mod properties;
mod runit;
mod security;
mod systemd;
