//! A Procfile's entries as the parsers return them: each label with its line, its command and
//! its own settings, before the config and defaults are laid under them.

use crate::model::command::Command;
use crate::model::depends::{DeviceName, UnitName};
use crate::model::layer::Layer;
use crate::model::name::Name;
use crate::model::runlevel::Runlevels;

/// One process entry of a Procfile.
#[derive(Debug, Clone)]
pub struct Entry {
    pub label: Name,
    /// 1-based line of the entry, for messages.
    pub line: usize,
    pub command: Command,
    /// The entry's own settings (v2 only; empty for v1).
    pub layer: Layer,
    /// `count: N` (v2 only).
    pub count: Option<u32>,
    /// Line of the `count:` key, for messages about the instances it makes.
    pub count_line: Option<usize>,
    /// `port:` (v2 only): the command's own base port, or off; `None` takes the app's.
    pub port: Option<PortSetting>,
    /// `once: true` (v2 only): a one-shot job.
    pub once: bool,
    /// Line of the entry's `limits:` key, for the policy's refusals.
    pub limits_line: Option<usize>,
}

/// A v2 command's `port:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSetting {
    /// `port: false`: no `PORT` is set.
    Off,
    /// `port: N`: instance j gets N + j.
    Base(u16),
}

#[derive(Debug, Clone, Default)]
pub struct Procfile {
    /// The v2 top-level settings (empty for v1).
    pub top: Layer,
    pub start_on: Option<Runlevels>,
    pub stop_on: Option<Runlevels>,
    pub entries: Vec<Entry>,
    /// The v2 top-level `image:` and its line, unchecked: only the Kubernetes export reads it
    /// (and checks it); the init-system exports ignore it.
    pub image: Option<(String, usize)>,
    /// `depends:` (v2 only) and its line.
    pub depends: Option<(Vec<UnitName>, usize)>,
    /// `strong_dependencies: true`: `Requires=` rather than `Wants=`.
    pub strong_dependencies: bool,
    /// `start_on_device:` (v2 only) and its line.
    pub start_on_device: Option<(DeviceName, usize)>,
    /// Line of the top-level `limits:` key.
    pub limits_line: Option<usize>,
}
