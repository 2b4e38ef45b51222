//! procexport's integration tests: one binary, running the real procexport on real files.

mod support;

mod bad_input;
mod cli;
mod concurrency;
mod corpus;
mod crash;
mod golden;
mod helpers_run;
mod lifecycle;
mod properties;
mod runit;
mod security;
mod systemd;
