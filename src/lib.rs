//! procexport turns a Procfile into init-system jobs and is safe to run through sudo for a
//! user who is not trusted with root.
//!
//! The modules are the pipeline, in order (docs/ARCHITECTURE.md walks through it):
//! `procfile` parses a Procfile and assembles it with the config into the job model;
//! `model` holds the validated values that model is made of; `backends` render the model
//! into files, purely, and talk to the running init; `install` plans the change against
//! the app's manifest and carries it out, all or nothing (`install::disk` is the only code
//! that touches the filesystem); `cli` reads the command line and runs a subcommand.
//! `kubernetes` sits beside `backends`, not among them: it renders the same job model into
//! Kubernetes objects and installs nothing, so it has no registry line and no `Installer`.

// `install` comes before `backends`: the backend enum implements `install::installer::Installer`
// through enum_dispatch, which must have read the trait before it reads the enum.
mod install;

#[path = "../backends/mod.rs"]
mod backends;
mod cli;
mod error;
pub mod kubernetes;
mod model;
mod procfile;
mod sanitize;
#[cfg(feature = "testing")]
pub mod testing;
mod yaml;

pub use cli::run::run;
pub use error::Error;
