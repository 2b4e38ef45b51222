//! The command line: `args` parses it (clap, nothing more), `run` settles who is running and
//! what they may ask for, loads the config, and hands plain values to the pipeline.

pub mod args;
pub mod completions;
pub mod foreman;
pub mod gem;
pub mod init_exporter;
pub mod manpage;
pub mod out;
pub mod run;
