//! Carrying out an export or a clean: plan the change against the app's manifest and what is
//! on disk, then write all of it or nothing, under the app's lock, with the backend's init
//! told what it must know. `disk` is the only code in procexport that touches the filesystem.

pub mod access;
pub mod collision;
pub mod disk;
pub mod entries;
pub mod installer;
pub mod interrupt;
pub mod legacy;
pub mod manifest;
pub mod plan;
pub mod preflight;
pub mod privilege;
pub mod report;
pub mod transaction;
