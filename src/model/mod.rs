//! The job model and the validated values it is made of. Each type here can only hold a value
//! that is safe to render: parsing checks, and everything after it trusts the type.

pub mod account;
pub mod app;
pub mod capability;
pub mod command;
pub mod config;
pub mod config_files;
pub mod contents;
pub mod depends;
pub mod env;
pub mod job;
pub mod joined;
pub mod key_error;
pub mod kubernetes;
pub mod layer;
pub mod limits;
pub mod name;
pub mod output;
pub mod policy;
pub mod process_type;
pub mod resources;
pub mod rlimit;
pub mod runlevel;
pub mod signal;
pub mod text;
