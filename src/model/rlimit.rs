//! `limits: {nofile, nproc, memlock}`: the resource limits a job starts with (init-exporter's
//! Procfile v2). Each is a count (bytes for memlock) or unlimited (`-1`), and every layer
//! may set each one alone: a command's `nofile` is laid over the app's `nproc`.

use crate::model::key_error::KeyError;
use crate::yaml::Whole;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The highest finite limit accepted: larger values are what `-1` (unlimited) is for.
const MAX_LIMIT: i64 = 1 << 40;

/// One resource limit, soft and hard alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Rlimit {
    /// A finite limit (a count, or bytes for memlock).
    Value(u64),
    /// `-1`: no limit (`infinity` to systemd, `unlimited` to Upstart and the shell).
    Unlimited,
}

impl Rlimit {
    /// Reads `-1` (unlimited) or a whole number from 0 to 2^40.
    pub fn parse(key: &'static str, value: i64) -> Result<Self, KeyError> {
        match value {
            -1 => Ok(Self::Unlimited),
            0..=MAX_LIMIT => Ok(Self::Value(value.unsigned_abs())),
            _ => Err((
                key,
                format!(
                    "limits.{key} {value} is out of range: write a whole number from 0 to \
                     {MAX_LIMIT}, or -1 for unlimited"
                ),
            )),
        }
    }

    /// systemd's spelling (`LimitNOFILE=`).
    pub fn systemd(self) -> String {
        match self {
            Self::Value(n) => n.to_string(),
            Self::Unlimited => "infinity".to_owned(),
        }
    }

    /// Upstart's and the shell's `ulimit` spelling.
    pub fn unix(self) -> String {
        match self {
            Self::Value(n) => n.to_string(),
            Self::Unlimited => "unlimited".to_owned(),
        }
    }
}

impl fmt::Display for Rlimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(n) => write!(f, "{n}"),
            Self::Unlimited => f.write_str("-1 (unlimited)"),
        }
    }
}

/// The three limits a Procfile may set; `None` keeps the init's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rlimits {
    pub nofile: Option<Rlimit>,
    pub nproc: Option<Rlimit>,
    pub memlock: Option<Rlimit>,
}

/// `limits:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of limits, such as {nofile: 4096, nproc: 4096, memlock: -1}"
)]
pub struct RawLimits {
    nofile: Option<Whole>,
    nproc: Option<Whole>,
    memlock: Option<Whole>,
}

impl Rlimits {
    /// Checks `limits:` as written.
    pub fn parse(raw: &RawLimits) -> Result<Self, KeyError> {
        // Errors are said of `limits`, whose line the parser finds.
        let one = |key, value: Option<Whole>| {
            value
                .map(|w| Rlimit::parse(key, w.0).map_err(|(_, m)| ("limits", m)))
                .transpose()
        };
        Ok(Self {
            nofile: one("nofile", raw.nofile)?,
            nproc: one("nproc", raw.nproc)?,
            memlock: one("memlock", raw.memlock)?,
        })
    }

    /// Each limit of `self`, else of `lower`.
    #[must_use]
    pub fn over(self, lower: Self) -> Self {
        Self {
            nofile: self.nofile.or(lower.nofile),
            nproc: self.nproc.or(lower.nproc),
            memlock: self.memlock.or(lower.memlock),
        }
    }

    /// The limits set, each with its key, in a fixed order.
    pub fn set(&self) -> impl Iterator<Item = (&'static str, Rlimit)> {
        [
            ("nofile", self.nofile),
            ("nproc", self.nproc),
            ("memlock", self.memlock),
        ]
        .into_iter()
        .filter_map(|(key, limit)| limit.map(|l| (key, l)))
    }

    pub fn is_empty(&self) -> bool {
        self.set().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_one_is_unlimited_and_other_negatives_are_refused() {
        assert_eq!(Rlimit::parse("nofile", -1), Ok(Rlimit::Unlimited));
        assert_eq!(Rlimit::parse("nofile", 4096), Ok(Rlimit::Value(4096)));
        let (key, message) = Rlimit::parse("nproc", -2).unwrap_err();
        assert_eq!(key, "nproc");
        assert!(message.contains("or -1 for unlimited"), "{message}");
        assert!(Rlimit::parse("nofile", MAX_LIMIT + 1).is_err());
        assert!(Rlimit::Unlimited > Rlimit::Value(u64::MAX));
    }

    #[test]
    fn a_command_limit_is_laid_over_the_app_one_key_by_key() {
        let app = Rlimits {
            nofile: Some(Rlimit::Value(10)),
            nproc: Some(Rlimit::Value(20)),
            memlock: None,
        };
        let command = Rlimits {
            nofile: Some(Rlimit::Value(5)),
            ..Rlimits::default()
        };
        let got = command.over(app);
        assert_eq!(got.nofile, Some(Rlimit::Value(5)));
        assert_eq!(got.nproc, Some(Rlimit::Value(20)));
        assert_eq!(got.memlock, None);
    }
}
