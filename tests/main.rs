//! procexport's integration tests: one binary, running the real procexport on real files.

mod support;

mod bad_input;
mod cli;
mod corpus;
mod fuzz_regressions;
mod golden;
mod helpers_run;
mod lifecycle;
mod security;
