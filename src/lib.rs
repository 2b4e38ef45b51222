//! procexport turns a Procfile into Upstart, systemd or runit jobs, and is safe to run
//! through sudo for a user who is not trusted with root.
//!
//! The pipeline (see DESIGN.md): parse the Procfile into raw entries, validate them into the
//! job model (`App`), render that model through a backend into files in memory, plan the
//! change against the app's manifest and the disk, then write all of it or nothing.

mod account;
mod assemble;
#[path = "../backends/mod.rs"]
mod backends;
mod clean;
mod cli;
mod command;
mod completions;
mod config;
mod disk;
mod env;
mod error;
mod export;
#[doc(hidden)]
pub mod invariants;
mod job;
mod layer;
mod manifest;
mod manpage;
mod name;
mod output;
mod plan;
#[doc(hidden)]
pub mod preview;
mod privilege;
mod procfile;
mod procfile_v1;
mod procfile_v2;
mod report;
mod run;
mod runlevel;
mod sanitize;
mod systemctl;
mod text;
mod yaml_locate;

pub use error::Error;
pub use run::run;
