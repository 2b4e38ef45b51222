//! The app a Procfile makes: its header (name, run user, runlevels, log directory, what it
//! depends on) and its process types, which every backend renders.

use crate::model::account::RunAs;
use crate::model::depends::{Depends, DeviceName};
use crate::model::job::Job;
use crate::model::name::Name;
use crate::model::process_type::ProcessType;
use crate::model::runlevel::Runlevels;
use crate::model::text::AbsPath;
use serde::Serialize;

/// An app: everything one export installs.
#[derive(Debug, Clone, Serialize)]
pub struct App {
    pub name: Name,
    /// `<prefix><app>`: the stem of the app's own files and of every job's name.
    pub full_name: String,
    pub run_as: RunAs,
    pub start_on: Runlevels,
    pub stop_on: Runlevels,
    /// `<log_dir>/<prefix><app>`, the one directory given to the run user.
    pub log_dir: AbsPath,
    /// The units the app starts after (within the admin's `policy.depends`).
    pub depends: Depends,
    /// The network device the app waits for (within the admin's `policy.devices`).
    pub start_on_device: Option<DeviceName>,
    /// Its process types, each held once with its count (`ProcessType`), in Procfile order.
    /// Not serialized: templates get the app's header with each job, and serializing every
    /// job into every job's template context made rendering quadratic in the number of jobs.
    #[serde(skip)]
    pub types: Vec<ProcessType>,
    /// What of the Procfile is not installed, and why (a `release:` entry, `count: 0`), for
    /// the user to read.
    #[serde(skip)]
    pub notes: Vec<String>,
}

impl App {
    /// Every job: each type's instances in turn, each made when it is reached.
    pub fn jobs(&self) -> impl Iterator<Item = Job> + '_ {
        self.types.iter().flat_map(ProcessType::instances)
    }

    /// Every job's full name, in order, without making the jobs.
    pub fn job_full_names(&self) -> impl Iterator<Item = String> + '_ {
        self.types.iter().flat_map(ProcessType::full_names)
    }

    /// How many jobs the app runs.
    pub fn job_count(&self) -> u64 {
        self.types.iter().map(|t| u64::from(t.count)).sum()
    }
}
