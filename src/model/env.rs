//! Environment variables for a job: validated keys, values of any text but NUL (which no
//! environment can hold), kept in the order they were first given, a later layer's value
//! winning over an earlier one.

use crate::sanitize::Quoted;
use serde::Serialize;
use std::collections::HashMap;

/// A variable name: `^[A-Za-z_][A-Za-z0-9_]*$`, the names every shell and init system accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EnvKey(String);

impl EnvKey {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut chars = text.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "env key {} must start with a letter or \"_\" and hold only ASCII letters, digits and \"_\"",
                Quoted(text)
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A variable's value: any text without NUL. Backends that cannot carry some character
/// (a newline in a systemd environment file) refuse it when they render.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EnvValue(String);

impl EnvValue {
    pub fn parse(key: &str, text: &str) -> Result<Self, String> {
        if text.contains('\0') {
            return Err(format!("env value of {} contains a NUL byte", Quoted(key)));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ordered set of variables. The position of each key is indexed, so that setting n
/// variables takes time linear in n (a `.env` of 100,000 keys took 49 s with a scan per key).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Env {
    vars: Vec<(EnvKey, EnvValue)>,
    #[serde(skip)]
    index: HashMap<EnvKey, usize>,
}

impl PartialEq for Env {
    fn eq(&self, other: &Self) -> bool {
        self.vars == other.vars
    }
}

impl Eq for Env {}

impl Env {
    /// Sets `key`, keeping its first position if it was already set.
    pub fn set(&mut self, key: EnvKey, value: EnvValue) {
        if let Some(&at) = self.index.get(&key) {
            self.vars[at].1 = value;
        } else {
            self.index.insert(key.clone(), self.vars.len());
            self.vars.push((key, value));
        }
    }

    /// Lays `other` over this set: its values win.
    pub fn merge(&mut self, other: &Env) {
        for (key, value) in &other.vars {
            self.set(key.clone(), value.clone());
        }
    }

    /// The bytes of its names and values, as a bound on what they take in a rendered file.
    pub fn bytes(&self) -> u64 {
        self.vars
            .iter()
            .map(|(k, v)| (k.0.len() + v.0.len()) as u64)
            .sum()
    }

    /// The same keys with every value replaced by `placeholder`.
    pub fn redacted(&self, placeholder: &str) -> Env {
        let mut env = Env::default();
        for (key, _) in &self.vars {
            env.set(key.clone(), EnvValue(placeholder.to_owned()));
        }
        env
    }

    pub fn iter(&self) -> impl Iterator<Item = (&EnvKey, &EnvValue)> {
        self.vars.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let mut env = Env::default();
        for (k, v) in pairs {
            env.set(EnvKey::parse(k).unwrap(), EnvValue::parse(k, v).unwrap());
        }
        env
    }

    #[test]
    fn later_layer_wins_and_first_position_is_kept() {
        let mut merged = env(&[("A", "1"), ("B", "2")]);
        merged.merge(&env(&[("C", "3"), ("A", "9")]));
        let got: Vec<_> = merged
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, [("A", "9"), ("B", "2"), ("C", "3")]);
    }

    #[test]
    fn many_keys_keep_their_order_and_count_their_bytes() {
        let mut many = Env::default();
        for i in 0..100_000 {
            let k = format!("K{i}");
            many.set(
                EnvKey::parse(&k).unwrap(),
                EnvValue::parse(&k, "v").unwrap(),
            );
        }
        many.set(
            EnvKey::parse("K0").unwrap(),
            EnvValue::parse("K0", "w").unwrap(),
        );
        let first = many.iter().next().map(|(k, v)| (k.as_str(), v.as_str()));
        assert_eq!(first, Some(("K0", "w")));
        assert_eq!(many.iter().count(), 100_000);
        assert_eq!(env(&[("AB", "xyz")]).bytes(), 5);
        assert_eq!(many.redacted("-"), many.redacted("-"));
    }

    #[test]
    fn keys_are_identifiers() {
        for bad in ["", "1A", "A-B", "A B", "A=B", "É"] {
            assert!(EnvKey::parse(bad).is_err(), "{bad}");
        }
        assert!(EnvKey::parse("_A1").is_ok());
        assert!(EnvValue::parse("A", "x\0y").is_err());
    }
}
