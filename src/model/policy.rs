//! `policy:`: what a Procfile may ask beyond its own processes, set by the admin in the root
//! config only (a deploy user writes the Procfile and may run procexport through sudo). A
//! Procfile may lower its limits freely and raise them up to `max_limits`; it may depend
//! only on the units in `depends` and wait only for the devices in `devices`, both empty by
//! default, so that it cannot pull `ssh.service` or `rescue.target` into its app.

use crate::model::depends::{DeviceName, UnitName};
use crate::model::layer::KeyError;
use crate::model::rlimit::{Rlimit, Rlimits};
use crate::sanitize::Quoted;
use crate::yaml::Whole;
use serde::Deserialize;

/// init-exporter's default limits (its `/etc/init-exporter.conf`): the most a Procfile may
/// ask for when the admin says nothing.
pub const DEFAULT_MAX_NOFILE: u64 = 10_240;
pub const DEFAULT_MAX_NPROC: u64 = 10_240;
/// The kernel's smallest default `RLIMIT_MEMLOCK` (64 KiB): no raise above what any system
/// gives by default unless the admin allows it.
pub const DEFAULT_MAX_MEMLOCK: u64 = 64 << 10;

/// `policy:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with max_limits, depends and devices"
)]
pub struct RawPolicy {
    max_limits: Option<RawMaxLimits>,
    depends: Option<Vec<String>>,
    devices: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as {nofile: 65536, nproc: 4096, memlock: -1}"
)]
struct RawMaxLimits {
    nofile: Option<Whole>,
    nproc: Option<Whole>,
    memlock: Option<Whole>,
}

/// The checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The highest limits a Procfile may set, each (`Unlimited`: any).
    pub max_limits: MaxLimits,
    /// The units a Procfile may name in `depends:`.
    pub depends: Vec<UnitName>,
    /// The network devices a Procfile may name in `start_on_device:`.
    pub devices: Vec<DeviceName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxLimits {
    pub nofile: Rlimit,
    pub nproc: Rlimit,
    pub memlock: Rlimit,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_limits: MaxLimits {
                nofile: Rlimit::Value(DEFAULT_MAX_NOFILE),
                nproc: Rlimit::Value(DEFAULT_MAX_NPROC),
                memlock: Rlimit::Value(DEFAULT_MAX_MEMLOCK),
            },
            depends: Vec::new(),
            devices: Vec::new(),
        }
    }
}

impl Policy {
    /// Checks `policy:`; errors name the key under `policy`.
    pub fn parse(raw: Option<&RawPolicy>) -> Result<Self, KeyError> {
        let mut policy = Self::default();
        let Some(raw) = raw else {
            return Ok(policy);
        };
        if let Some(max) = &raw.max_limits {
            let one = |key: &'static str, value: Option<Whole>, default: Rlimit| {
                value.map_or(Ok(default), |w| {
                    Rlimit::parse(key, w.0).map_err(|(_, m)| ("policy", format!("policy.max_{m}")))
                })
            };
            let d = policy.max_limits;
            policy.max_limits = MaxLimits {
                nofile: one("nofile", max.nofile, d.nofile)?,
                nproc: one("nproc", max.nproc, d.nproc)?,
                memlock: one("memlock", max.memlock, d.memlock)?,
            };
        }
        for name in raw.depends.iter().flatten() {
            policy
                .depends
                .push(UnitName::parse(name, "policy.depends").map_err(|m| ("policy", m))?);
        }
        for name in raw.devices.iter().flatten() {
            policy
                .devices
                .push(DeviceName::parse(name, "policy.devices").map_err(|m| ("policy", m))?);
        }
        Ok(policy)
    }

    /// Refuses a limit above `max_limits` (unlimited is above any finite maximum), naming
    /// the key that would allow it.
    pub fn check_limits(&self, limits: &Rlimits) -> Result<(), String> {
        for (key, wanted) in limits.set() {
            let max = match key {
                "nofile" => self.max_limits.nofile,
                "nproc" => self.max_limits.nproc,
                _ => self.max_limits.memlock,
            };
            if wanted > max {
                return Err(format!(
                    "limits.{key} {wanted} is above the most the admin allows, {max} \
                     (policy.max_limits.{key} in {}): lower it, or ask the admin to raise \
                     policy.max_limits.{key}",
                    crate::model::config_files::MAIN_PATH
                ));
            }
        }
        Ok(())
    }

    /// Refuses a unit the admin does not list in `policy.depends`.
    pub fn check_depends(&self, units: &[UnitName]) -> Result<(), String> {
        match units.iter().find(|u| !self.depends.contains(u)) {
            None => Ok(()),
            Some(unit) => Err(format!(
                "depends names {}, which the admin does not allow an app to depend on: \
                 remove it, or ask the admin to add it to policy.depends in {}",
                Quoted(unit.as_str()),
                crate::model::config_files::MAIN_PATH
            )),
        }
    }

    /// Refuses a device the admin does not list in `policy.devices`.
    pub fn check_device(&self, device: &DeviceName) -> Result<(), String> {
        if self.devices.contains(device) {
            return Ok(());
        }
        Err(format!(
            "start_on_device names {}, which the admin does not allow an app to wait for: \
             remove it, or ask the admin to add it to policy.devices in {}",
            Quoted(device.as_str()),
            crate::model::config_files::MAIN_PATH
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str) -> UnitName {
        UnitName::parse(name, "depends").unwrap()
    }

    #[test]
    fn limits_may_be_lowered_freely_and_raised_up_to_the_maximum() {
        let policy = Policy::default();
        let mut limits = Rlimits {
            nofile: Some(Rlimit::Value(10_240)),
            nproc: Some(Rlimit::Value(1)),
            memlock: None,
        };
        assert_eq!(policy.check_limits(&limits), Ok(()));
        limits.nofile = Some(Rlimit::Value(10_241));
        let message = policy.check_limits(&limits).unwrap_err();
        assert!(message.contains("policy.max_limits.nofile"), "{message}");
        limits.nofile = Some(Rlimit::Unlimited);
        assert!(policy.check_limits(&limits).is_err());
        limits.nofile = None;
        limits.memlock = Some(Rlimit::Value(DEFAULT_MAX_MEMLOCK + 1));
        assert!(policy
            .check_limits(&limits)
            .unwrap_err()
            .contains("policy.max_limits.memlock"));
    }

    #[test]
    fn depends_and_devices_are_allow_lists_empty_by_default() {
        let mut policy = Policy::default();
        let message = policy.check_depends(&[unit("ssh")]).unwrap_err();
        assert!(message.contains("\"ssh.service\""), "{message}");
        assert!(message.contains("policy.depends"), "{message}");
        policy.depends.push(unit("postgresql"));
        assert_eq!(policy.check_depends(&[unit("postgresql.service")]), Ok(()));
        assert!(policy.check_depends(&[unit("rescue.target")]).is_err());
        let bond = DeviceName::parse("bond0", "d").unwrap();
        assert!(policy
            .check_device(&bond)
            .unwrap_err()
            .contains("policy.devices"));
    }
}
