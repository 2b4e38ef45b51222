//! App names and process labels. They become parts of file names joined by `-`
//! (`<prefix><app>-<job>`), so they hold only ASCII letters, digits, `_` and `-`, and start
//! with a letter or digit: no `/` or `.` means no path can escape its directory, no leading
//! `-` means no name is ever read as an option, and no quoting is ever needed where they
//! appear. Because `-` also joins the parts, two apps can make the same file name (app `a`
//! job `b-c`, app `a-b` job `c`); the install refuses that by the other apps' manifests
//! (`install/collision.rs`), never by the names alone.

use crate::model::joined;
use crate::sanitize::Quoted;
use serde::Serialize;
use smol_str::SmolStr;
use std::fmt;

/// A validated app name, label or job name. Held inline when short (as names mostly are), so
/// the thousands of instance names a large app makes, and their clones, allocate nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Name(SmolStr);

impl Name {
    /// Checks `text` as a name; `what` ("label", "app name") goes into the message.
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err(format!("{what} is empty"));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(format!(
                "{what} {} may only contain ASCII letters, digits, \"_\" and \"-\", not {}",
                Quoted(text),
                Quoted(&bad.to_string()),
            ));
        }
        if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "{what} {} must start with an ASCII letter or digit",
                Quoted(text)
            ));
        }
        Ok(Self(SmolStr::new(text)))
    }

    /// The name of instance `index` of a job run `count` times: `<label>_<index>`.
    pub fn instance(&self, index: u32) -> Self {
        Self(joined::join_number(&[&self.0, "_"], u64::from(index)))
    }

    /// What `instance` names, read back from a name (or a name with a prefix, such as a
    /// program `<app>-<label>_<index>`): the part before `_<digits>`, when it ends so. Only the
    /// shape is read: an unnumbered label may end the same way.
    pub fn instance_of(name: &str) -> Option<&str> {
        let (stem, number) = name.rsplit_once('_')?;
        Self::is_instance_number(number).then_some(stem)
    }

    /// True for what `instance` puts after the `_`: decimal digits.
    pub fn is_instance_number(text: &str) -> bool {
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_name_reads_back_to_its_label() {
        let worker = Name::parse("worker", "label").unwrap();
        assert_eq!(
            Name::instance_of(worker.instance(12).as_str()),
            Some("worker")
        );
        assert_eq!(Name::instance_of("fb-a-w_0"), Some("fb-a-w"));
        assert_eq!(Name::instance_of("worker"), None);
        assert_eq!(Name::instance_of("w_2x"), None);
        assert_eq!(Name::instance_of("w_"), None);
    }

    #[test]
    fn accepts_letters_digits_underscore_and_dash() {
        for good in ["web_1", "web-1", "redis-server", "my-app", "1web", "a"] {
            assert_eq!(Name::parse(good, "label").unwrap().as_str(), good);
        }
    }

    #[test]
    fn refuses_every_path_and_shell_character() {
        for bad in ["a`id`", "$(id)", "..", "a/b", "a b", "wéb", "a.b", "a\n"] {
            let message = Name::parse(bad, "label").unwrap_err();
            assert!(message.contains("may only contain"), "{bad}: {message}");
        }
        for bad in ["-web", "_web", "--help"] {
            let message = Name::parse(bad, "label").unwrap_err();
            assert!(message.contains("must start with"), "{bad}: {message}");
        }
        assert_eq!(
            Name::parse("", "app name").unwrap_err(),
            "app name is empty"
        );
    }
}
