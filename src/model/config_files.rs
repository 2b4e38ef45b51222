//! Where the configs are: a leaf, so the policy's messages can name the root config without
//! importing the config module that reads the policy.

/// procexport's own config file.
pub const MAIN_PATH: &str = "/etc/procexport.yaml";
/// The upstart-exporter gem's config file.
pub const GEM_PATH: &str = "/etc/upstart-exporter.yaml";
