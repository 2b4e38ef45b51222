//! Runlevel sets as Upstart writes them (`[2345]`, `[!2345]`, `[016]`, `[S]`). Kept in that
//! form because it is what the gem's config and Procfiles hold; systemd and runit read the
//! digits out of it.

use crate::sanitize::Quoted;
use serde::Serialize;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Runlevels(String);

// `negated`, `listed` and `as_str` are for the systemd backend, which maps runlevels to targets.
#[allow(dead_code)]
impl Runlevels {
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        // init-exporter writes one runlevel bare (`start_on_runlevel: 2`): the set `[2]`.
        if let [level @ b'0'..=b'6'] = text.as_bytes() {
            return Ok(Self(format!("[{}]", char::from(*level))));
        }
        let inner = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .map(|t| t.strip_prefix('!').unwrap_or(t));
        match inner {
            Some(levels)
                if !levels.is_empty()
                    && levels.chars().all(|c| matches!(c, '0'..='6' | 'S' | 's')) =>
            {
                Ok(Self(text.to_owned()))
            }
            _ => Err(format!(
                "{what} {} is not a runlevel set such as \"[2345]\", \"[!2345]\" or \"[S]\"",
                Quoted(text)
            )),
        }
    }

    /// True for a `[!...]` set: every runlevel except those listed.
    pub fn negated(&self) -> bool {
        self.0.starts_with("[!")
    }

    /// The runlevels written in the set, in order, without the `!`.
    pub fn listed(&self) -> impl Iterator<Item = char> + '_ {
        self.0
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'S' || *c == 's')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Runlevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_upstart_sets() {
        for good in ["[2345]", "[!2345]", "[016]", "[S]", "[3]"] {
            assert!(
                Runlevels::parse(good, "start_on_runlevel").is_ok(),
                "{good}"
            );
        }
        assert!(Runlevels::parse("[!2345]", "x").unwrap().negated());
        assert_eq!(Runlevels::parse("2", "x").unwrap().as_str(), "[2]");
    }

    #[test]
    fn refuses_malformed_sets() {
        for bad in [
            "2345",
            "[23",
            "[2x]",
            "[]",
            "[!]",
            "[7]",
            "[2345] and x",
            "[2\n]",
        ] {
            let message = Runlevels::parse(bad, "start_on_runlevel").unwrap_err();
            assert!(message.contains("not a runlevel set"), "{bad}: {message}");
        }
    }
}
