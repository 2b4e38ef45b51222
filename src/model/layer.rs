//! The settings a job can take from several places (its own v2 entry, the v2 top level, the
//! config, the built-in default): read from YAML as written, then checked into a `Layer` whose
//! values are in range. `assemble` lays the layers over each other.

use crate::model::command::Command;
use crate::model::env::{Env, EnvKey, EnvValue};
use crate::model::job::{Respawn, RespawnLimit};
use crate::model::resources::Resources;
use crate::model::rlimit::Rlimits;
use crate::model::signal::{KillMode, Signal};
use crate::model::text::{AbsPath, JobPath};
use crate::sanitize::Quoted;
use crate::yaml::{Entries, Whole};
use serde::Deserialize;

/// `respawn:` as written: `false`, `true`, or `{count: C, interval: I}`. Read by a visitor
/// rather than serde's untagged enums, whose errors lose the line and say nothing useful.
#[derive(Debug, Clone)]
pub enum RawRespawn {
    Switch(bool),
    Limit(RawRespawnLimit),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "{count: C, interval: I} with whole numbers, and optionally delay: D"
)]
pub struct RawRespawnLimit {
    count: Whole,
    interval: Whole,
    /// Seconds to wait before a restart (init-exporter's `respawn.delay`).
    delay: Option<Whole>,
}

impl<'de> Deserialize<'de> for RawRespawn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Respawn;
        impl<'de> serde::de::Visitor<'de> for Respawn {
            type Value = RawRespawn;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("false, true, or {count: C, interval: I} with whole numbers")
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<RawRespawn, E> {
                Ok(RawRespawn::Switch(value))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawRespawn, A::Error> {
                let limit = RawRespawnLimit::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(RawRespawn::Limit(limit))
            }
        }
        deserializer.deserialize_any(Respawn)
    }
}

/// A respawn setting as one layer gives it; `On(None)` (`respawn: true`) takes its limit from
/// a lower layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespawnSetting {
    Off,
    On(Option<RespawnLimit>),
}

/// One layer of settings, checked.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    pub kill_timeout: Option<u32>,
    pub respawn: Option<RespawnSetting>,
    /// Seconds between a job's exit and its restart (`respawn: {delay: D}`).
    pub respawn_delay: Option<u32>,
    pub env: Env,
    pub working_directory: Option<AbsPath>,
    pub log: Option<JobPath>,
    /// Each limit laid over the lower layers' one by one.
    pub limits: Rlimits,
    pub kill_signal: Option<Signal>,
    pub kill_mode: Option<KillMode>,
    pub reload_signal: Option<Signal>,
    /// Run as the run user before the command (`pre:`), and after it has started (`post:`).
    pub pre: Option<Command>,
    pub post: Option<Command>,
    /// An env file read with the invoking user's rights, merged into the job's env.
    pub env_file: Option<JobPath>,
    /// Each setting laid over the lower layers' one by one.
    pub resources: Resources,
}

/// A problem with one key of a layer: the key (for finding its line) and the message.
pub use crate::model::key_error::KeyError;

/// Checks an integer against an inclusive range.
pub fn in_range(key: &'static str, value: i64, min: u32, max: u32) -> Result<u32, KeyError> {
    u32::try_from(value)
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            (
                key,
                format!("{key} {value} is out of range ({min} to {max})"),
            )
        })
}

pub fn kill_timeout(value: i64) -> Result<u32, KeyError> {
    in_range("kill_timeout", value, 1, 86_400)
}

pub fn respawn(raw: &RawRespawn) -> Result<RespawnSetting, KeyError> {
    Ok(match raw {
        RawRespawn::Switch(false) => RespawnSetting::Off,
        RawRespawn::Switch(true) => RespawnSetting::On(None),
        RawRespawn::Limit(limit) => RespawnSetting::On(Some(RespawnLimit {
            count: in_range("respawn", limit.count.0, 1, 10_000)
                .map_err(|(k, m)| (k, format!("{m}: respawn count")))?,
            interval: in_range("respawn", limit.interval.0, 1, 86_400)
                .map_err(|(k, m)| (k, format!("{m}: respawn interval")))?,
        })),
    })
}

/// Resolves a respawn setting over its layers, most specific first.
pub fn resolve_respawn(layers: &[Option<RespawnSetting>]) -> Respawn {
    let mut wanted = false;
    for setting in layers.iter().flatten() {
        match setting {
            RespawnSetting::Off if !wanted => return Respawn::Off,
            RespawnSetting::On(Some(limit)) => return Respawn::On(Some(*limit)),
            RespawnSetting::On(None) => wanted = true,
            RespawnSetting::Off => {}
        }
    }
    Respawn::On(Some(RespawnLimit::DEFAULT))
}

/// Reads an `env:` mapping; YAML scalars become their text (`true`, `5`), null becomes "".
pub fn env(mapping: &Entries) -> Result<Env, KeyError> {
    let mut env = Env::default();
    for (key, value) in mapping.iter() {
        let key = key
            .text()
            .map(str::to_owned)
            .ok_or(("env", "env keys must be plain names".to_owned()))?;
        let key_checked = EnvKey::parse(&key).map_err(|m| ("env", m))?;
        let value = value.text().map(str::to_owned).ok_or_else(|| {
            (
                "env",
                format!(
                    "env value of {} must be a string, number or boolean",
                    Quoted(&key)
                ),
            )
        })?;
        env.set(
            key_checked,
            EnvValue::parse(&key, &value).map_err(|m| ("env", m))?,
        );
    }
    Ok(env)
}

/// `respawn: {delay: D}`: 1 to 86400 seconds.
pub fn respawn_delay(raw: &RawRespawn) -> Result<Option<u32>, KeyError> {
    match raw {
        RawRespawn::Limit(RawRespawnLimit {
            delay: Some(delay), ..
        }) => in_range("respawn", delay.0, 1, 86_400)
            .map(Some)
            .map_err(|(k, m)| (k, format!("{m}: respawn delay, in seconds"))),
        RawRespawn::Limit(_) | RawRespawn::Switch(_) => Ok(None),
    }
}

/// A job's own file: absolute, or relative to its working directory.
pub fn job_path(key: &'static str, text: &str) -> Result<JobPath, KeyError> {
    JobPath::parse(text, key).map_err(|m| (key, m))
}

pub fn path(key: &'static str, text: &str) -> Result<AbsPath, KeyError> {
    AbsPath::parse(text, key).map_err(|m| (key, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(count: u32, interval: u32) -> RespawnSetting {
        RespawnSetting::On(Some(RespawnLimit { count, interval }))
    }

    #[test]
    fn respawn_true_takes_the_limit_of_a_lower_layer() {
        let got = resolve_respawn(&[Some(RespawnSetting::On(None)), None, Some(limit(7, 22))]);
        assert_eq!(
            got,
            Respawn::On(Some(RespawnLimit {
                count: 7,
                interval: 22
            }))
        );
        assert_eq!(
            resolve_respawn(&[Some(RespawnSetting::On(None)), Some(RespawnSetting::Off)]),
            Respawn::On(Some(RespawnLimit::DEFAULT))
        );
        assert_eq!(
            resolve_respawn(&[None, Some(RespawnSetting::Off)]),
            Respawn::Off
        );
        assert_eq!(
            resolve_respawn(&[]),
            Respawn::On(Some(RespawnLimit::DEFAULT))
        );
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        assert!(kill_timeout(0).unwrap_err().1.contains("out of range"));
        assert!(kill_timeout(86_401).is_err());
        assert!(kill_timeout(-5).is_err());
        assert_eq!(kill_timeout(30), Ok(30));
    }
}
