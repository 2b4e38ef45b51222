//! Text that may appear on a line of a generated file: no control characters (tab aside), so
//! it can never end a line, start a new stanza or directive, or hide itself from a reader.

use crate::model::joined;
use crate::model::name::Name;
use crate::sanitize::Quoted;
use serde::Serialize;
use smol_str::SmolStr;
use std::fmt;

/// One line of untrusted text with no control characters except tab. Shared, not copied,
/// when cloned: every instance of a process type holds the same command and directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LineText(SmolStr);

impl LineText {
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        if let Some(bad) = text.chars().find(|c| c.is_control() && *c != '\t') {
            return Err(format!(
                "{what} {} contains the control character {}",
                Quoted(text),
                Quoted(&bad.to_string())
            ));
        }
        Ok(Self(SmolStr::new(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LineText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An absolute path with no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AbsPath(LineText);

impl AbsPath {
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        let line = LineText::parse(text, what)?;
        if !text.starts_with('/') {
            return Err(format!("{what} {} must be an absolute path", Quoted(text)));
        }
        if text.split('/').any(|component| component == "..") {
            return Err(format!("{what} {} may not contain \"..\"", Quoted(text)));
        }
        Ok(Self(line))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The file `<name><suffix>` in this directory (a job's default log, `<job>.log`): valid
    /// by construction, so not parsed again, which a large app would do for every instance.
    /// A name is letters, digits, `_` and `-`, never `..`; `suffix` is a fixed extension.
    pub fn file_of(&self, name: &Name, suffix: &'static str) -> AbsPath {
        assert!(
            !suffix.contains('/') && !suffix.chars().any(char::is_control),
            "a file suffix is an extension"
        );
        let dir = self.as_str().trim_end_matches('/');
        Self(LineText(joined::join(&[dir, "/", name.as_str(), suffix])))
    }

    /// This path with `name` appended as one more component.
    pub fn join(&self, name: &str) -> String {
        format!("{}/{name}", self.as_str().trim_end_matches('/'))
    }
}

impl fmt::Display for AbsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A path a v2 Procfile gives for a job's own file (`log`, `env_file`): absolute, or relative
/// to the job's working directory (init-exporter's reading), resolved by `assemble` once the
/// working directory is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobPath {
    Absolute(AbsPath),
    /// Not starting with `/`, without `..`.
    Relative(LineText),
}

impl JobPath {
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        if text.starts_with('/') {
            return AbsPath::parse(text, what).map(Self::Absolute);
        }
        let line = LineText::parse(text, what)?;
        if text.is_empty() {
            return Err(format!("{what} is empty: write a path, or remove the key"));
        }
        if text.split('/').any(|component| component == "..") {
            return Err(format!("{what} {} may not contain \"..\"", Quoted(text)));
        }
        Ok(Self::Relative(line))
    }

    /// The absolute path: as written, or under `dir`.
    pub fn resolve(&self, dir: &AbsPath, what: &str) -> Result<AbsPath, String> {
        match self {
            Self::Absolute(path) => Ok(path.clone()),
            Self::Relative(path) => AbsPath::parse(&dir.join(path.as_str()), what),
        }
    }

    /// Its length as written, for the bound on rendered bytes.
    pub fn written_len(&self) -> usize {
        match self {
            Self::Absolute(path) => path.as_str().len(),
            Self::Relative(path) => path.as_str().len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_a_directory_is_the_path_parse_would_make() {
        let name = Name::parse("web_3", "label").unwrap();
        for dir in ["/", "/var/log/fb-app", "/var/log/fb-app/", "/srv/a b"] {
            let dir = AbsPath::parse(dir, "dir").unwrap();
            let made = dir.file_of(&name, ".log");
            assert_eq!(made, AbsPath::parse(&dir.join("web_3.log"), "log").unwrap());
        }
    }

    #[test]
    fn refuses_newline_and_carriage_return() {
        assert!(LineText::parse("a\nb", "command")
            .unwrap_err()
            .contains("control character"));
        assert!(LineText::parse("a\rb", "command").is_err());
        assert!(LineText::parse("a\u{0}b", "command").is_err());
        assert!(LineText::parse("a\tb ü $x", "command").is_ok());
    }

    #[test]
    fn paths_must_be_absolute() {
        assert!(AbsPath::parse("srv/app", "working_directory")
            .unwrap_err()
            .contains("absolute"));
        assert_eq!(
            AbsPath::parse("/var/log/", "log_dir").unwrap().join("x"),
            "/var/log/x"
        );
    }

    #[test]
    fn job_paths_resolve_under_the_working_directory() {
        let dir = AbsPath::parse("/srv/app", "working_directory").unwrap();
        let env = JobPath::parse("shared/env.file", "env_file").unwrap();
        assert_eq!(
            env.resolve(&dir, "env_file").unwrap().as_str(),
            "/srv/app/shared/env.file"
        );
        assert!(JobPath::parse("../etc/shadow", "env_file").is_err());
        assert!(JobPath::parse("a/../../b", "env_file").is_err());
        let abs = JobPath::parse("/etc/app.env", "env_file").unwrap();
        assert_eq!(
            abs.resolve(&dir, "env_file").unwrap().as_str(),
            "/etc/app.env"
        );
    }
}
