//! Environment variables for a job: validated keys, values of any text but NUL (which no
//! environment can hold), kept in the order they were first given, a later layer's value
//! winning over an earlier one.

use crate::model::joined;
use crate::model::name::Name;
use crate::sanitize::Quoted;
use serde::Serialize;
use smol_str::SmolStr;
use std::collections::HashMap;

/// A variable name: `^[A-Za-z_][A-Za-z0-9_]*$`, the names every shell and init system accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EnvKey(SmolStr);

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
        Ok(Self(SmolStr::new(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A variable's value: any text without NUL. Backends that cannot carry some character
/// (a newline in a systemd environment file) refuse it when they render.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EnvValue(SmolStr);

impl EnvValue {
    pub fn parse(key: &str, text: &str) -> Result<Self, String> {
        if text.contains('\0') {
            return Err(format!("env value of {} contains a NUL byte", Quoted(key)));
        }
        Ok(Self(SmolStr::new(text)))
    }

    /// A number (a job's `PORT`): digits, valid by construction, so not checked.
    pub fn number(number: u64) -> Self {
        Self(joined::join_number(&[], number))
    }

    /// `<name>.<number>` (a job's `PS`, foreman's `web.1`): a name and digits, valid by
    /// construction, so not checked.
    pub fn numbered(name: &Name, number: u64) -> Self {
        Self(joined::join_number(&[name.as_str(), "."], number))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Up to this many variables, a key is found by a scan: most jobs carry a handful, and an
/// index for each of thousands of jobs took more memory than their files.
const SCAN: usize = 16;

/// An ordered set of variables. Past `SCAN` variables the position of each key is indexed,
/// so that setting n variables takes time linear in n (a `.env` of 100,000 keys took 49 s
/// with a scan per key). Keys and values are shared between clones (each job starts from a
/// clone of the app's env).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Env {
    vars: Vec<(EnvKey, EnvValue)>,
    /// Built on the first `set` past `SCAN` variables; dropped by `compact`. Boxed: one
    /// pointer in each of thousands of jobs rather than an empty map's 48 bytes.
    #[serde(skip)]
    #[allow(clippy::box_collection)]
    index: Option<Box<HashMap<EnvKey, usize>>>,
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
        if self.index.is_none() && self.vars.len() >= SCAN {
            let index = self
                .vars
                .iter()
                .enumerate()
                .map(|(at, (k, _))| (k.clone(), at));
            self.index = Some(Box::new(index.collect()));
        }
        let found = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.vars.iter().position(|(k, _)| *k == key),
        };
        if let Some(at) = found {
            self.vars[at].1 = value;
        } else {
            if let Some(index) = &mut self.index {
                index.insert(key.clone(), self.vars.len());
            }
            self.vars.push((key, value));
        }
    }

    /// Where `key` is, if it is set.
    pub fn position(&self, key: &EnvKey) -> Option<usize> {
        self.vars.iter().position(|(k, _)| k == key)
    }

    /// The key at `at` (a `position`).
    pub fn key_at(&self, at: usize) -> &EnvKey {
        &self.vars[at].0
    }

    /// The value at `at` (a `position`).
    pub fn value_at(&self, at: usize) -> &EnvValue {
        &self.vars[at].1
    }

    /// Sets the value at `at` (a `position`), keeping its key and place.
    pub fn set_at(&mut self, at: usize, value: EnvValue) {
        self.vars[at].1 = value;
    }

    /// A copy with room for `more` variables (no doubling as they are set): one allocation.
    /// Keys and values are shared with this set, not copied.
    pub fn with_room(&self, more: usize) -> Env {
        let mut vars = Vec::with_capacity(self.vars.len() + more);
        vars.extend_from_slice(&self.vars);
        Env { vars, index: None }
    }

    /// The number of variables.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Drops the index and spare room once the set is complete (a job's env is kept for
    /// the whole export; the index is rebuilt if a variable is set again).
    pub fn compact(&mut self) {
        self.index = None;
        self.vars.shrink_to_fit();
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
        let value = EnvValue(SmolStr::new(placeholder));
        Env {
            vars: self
                .vars
                .iter()
                .map(|(key, _)| (key.clone(), value.clone()))
                .collect(),
            index: None,
        }
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

    /// Around `SCAN` variables (scan, then index, then compacted), a key set again keeps its
    /// place and takes the new value.
    #[test]
    fn scan_index_and_compact_agree() {
        let names: Vec<String> = (0..SCAN + 4).map(|i| format!("K{i}")).collect();
        let mut many = Env::default();
        for name in &names {
            many.set(
                EnvKey::parse(name).unwrap(),
                EnvValue::parse(name, "a").unwrap(),
            );
        }
        many.set(
            EnvKey::parse("K1").unwrap(),
            EnvValue::parse("K1", "b").unwrap(),
        );
        many.compact();
        many.set(
            EnvKey::parse("K18").unwrap(),
            EnvValue::parse("K18", "c").unwrap(),
        );
        many.set(
            EnvKey::parse("NEW").unwrap(),
            EnvValue::parse("NEW", "d").unwrap(),
        );
        let got: Vec<_> = many
            .iter()
            .map(|(k, v)| format!("{}={}", k.as_str(), v.as_str()))
            .collect();
        let mut want: Vec<String> = names.iter().map(|n| format!("{n}=a")).collect();
        want[1] = "K1=b".to_owned();
        want[18] = "K18=c".to_owned();
        want.push("NEW=d".to_owned());
        assert_eq!(got, want);
        assert_eq!(many.len(), SCAN + 5);
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
