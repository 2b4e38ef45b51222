//! App names and process labels. They become parts of file names joined by `-`
//! (`<prefix><app>-<job>`), so they may only hold ASCII letters, digits and `_`: no `-` means
//! one app's names can never match another app's, no `/` or `.` means no path can escape its
//! directory, and no quoting is ever needed where they appear.

use crate::sanitize::Quoted;
use serde::Serialize;
use std::fmt;

/// A validated app name, label or job name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Checks `text` as a name; `what` ("label", "app name") goes into the message.
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err(format!("{what} is empty"));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        {
            let why = if bad == '-' {
                " (\"-\" separates the parts of generated names)"
            } else {
                ""
            };
            return Err(format!(
                "{what} {} may only contain ASCII letters, digits and \"_\", not {}{why}",
                Quoted(text),
                Quoted(&bad.to_string()),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The name of instance `index` of a job run `count` times: `<label>_<index>`.
    pub fn instance(&self, index: u32) -> Self {
        Self(format!("{}_{index}", self.0))
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
    fn accepts_letters_digits_underscore() {
        assert_eq!(Name::parse("web_1", "label").unwrap().as_str(), "web_1");
    }

    #[test]
    fn refuses_every_separator_and_shell_character() {
        for bad in [
            "web-1", "a`id`", "$(id)", "..", "a/b", "a b", "wéb", "a.b", "a\n",
        ] {
            let message = Name::parse(bad, "label").unwrap_err();
            assert!(message.contains("may only contain"), "{bad}: {message}");
        }
        assert!(Name::parse("web-1", "label")
            .unwrap_err()
            .contains("separates"));
        assert_eq!(
            Name::parse("", "app name").unwrap_err(),
            "app name is empty"
        );
    }
}
