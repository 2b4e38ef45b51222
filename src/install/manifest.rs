//! The record of what an export installed, so that a later export can remove what it no
//! longer has and `clean` can remove exactly the app's files, never a neighbour's.
//! One entry a line (`file PATH`, `dir PATH`, `link PATH`); paths hold no control characters,
//! so a line cannot be split or forged.

use crate::model::output::{Kind, Output};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    File,
    Dir,
    Link,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Every installed path with its kind, sorted (directories come before their contents).
    pub entries: BTreeSet<(String, EntryKind)>,
}

const HEADER: &str = "# procexport manifest v1";

impl Manifest {
    pub fn of(outputs: &[Output]) -> Self {
        let entries = outputs
            .iter()
            .map(|o| {
                let kind = match o.kind {
                    Kind::File { .. } => EntryKind::File,
                    Kind::Dir { .. } => EntryKind::Dir,
                    Kind::Symlink { .. } => EntryKind::Link,
                };
                (o.path.clone(), kind)
            })
            .collect();
        Self { entries }
    }

    pub fn union(&self, other: &Self) -> Self {
        Self {
            entries: self.entries.union(&other.entries).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn render(&self) -> String {
        let mut text = format!("{HEADER}\n");
        for (path, kind) in &self.entries {
            let word = match kind {
                EntryKind::File => "file",
                EntryKind::Dir => "dir",
                EntryKind::Link => "link",
            };
            text.push_str(word);
            text.push(' ');
            text.push_str(path);
            text.push('\n');
        }
        text
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err("not a procexport manifest".to_owned());
        }
        let mut entries = BTreeSet::new();
        for (index, line) in lines.enumerate() {
            let (word, path) = line.split_once(' ').unwrap_or((line, ""));
            let kind = match word {
                "file" => EntryKind::File,
                "dir" => EntryKind::Dir,
                "link" => EntryKind::Link,
                _ => return Err(format!("line {}: unknown entry", index + 2)),
            };
            if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
                return Err(format!("line {}: not an absolute path", index + 2));
            }
            entries.insert((path.to_owned(), kind));
        }
        Ok(Self { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::output::Group;

    #[test]
    fn round_trips() {
        let outputs = [
            Output::file(
                "/etc/init/fb-a.conf".into(),
                String::new(),
                0o644,
                Group::Root,
            ),
            Output::dir("/etc/sv/fb-a-web".into(), 0o755),
            Output::symlink("/etc/service/fb-a-web".into(), "/etc/sv/fb-a-web".into()),
        ];
        let manifest = Manifest::of(&outputs);
        assert_eq!(Manifest::parse(&manifest.render()).unwrap(), manifest);
    }

    #[test]
    fn refuses_forged_entries() {
        assert!(Manifest::parse("# procexport manifest v1\nfile ../etc/passwd\n").is_err());
        assert!(Manifest::parse("# procexport manifest v1\nfile /etc/../x\n").is_err());
        assert!(Manifest::parse("garbage\n").is_err());
    }
}
