//! The record of what an export installed, so that a later export can remove what it no
//! longer has and `clean` can remove exactly the app's files, never a neighbour's.
//! One entry a line (`file PATH`, `dir PATH`, `link PATH`); paths hold no control characters,
//! so a line cannot be split or forged. Two more lines say who the app belongs to and what
//! else procexport made for it: `owner UID` (the sudo user who first exported it; 0 for root)
//! and `logdir PATH` (the app's log directory, made by procexport and given to the run user:
//! the only directory procexport ever hands over, and never removed).

use crate::model::output::{Kind, Output};
use std::collections::BTreeSet;
use std::fmt::Write as _;

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
    /// The uid of the user the app belongs to (0: root).
    pub owner: Option<u32>,
    /// The log directory procexport made for the app.
    pub log_dir: Option<String>,
}

const HEADER: &str = "# procexport manifest v1";

impl Manifest {
    #[cfg(test)]
    pub fn of(outputs: &[Output]) -> Self {
        Self::of_outputs(outputs.iter())
    }

    pub fn of_outputs<'a>(outputs: impl Iterator<Item = &'a Output>) -> Self {
        let entries = outputs
            .map(|o| {
                let kind = match o.kind {
                    Kind::File { .. } => EntryKind::File,
                    Kind::Dir { .. } => EntryKind::Dir,
                    Kind::Symlink { .. } => EntryKind::Link,
                };
                (o.path.clone(), kind)
            })
            .collect();
        Self {
            entries,
            ..Self::default()
        }
    }

    #[cfg(test)]
    pub fn union(&self, other: &Self) -> Self {
        Self {
            entries: self.entries.union(&other.entries).cloned().collect(),
            owner: other.owner.or(self.owner),
            log_dir: other.log_dir.clone().or_else(|| self.log_dir.clone()),
        }
    }

    /// True when no file is installed: the manifest is removed, owner and all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when `self.union(other)` equals `target`, which is `self` or `other`: without
    /// building the union (a large app's manifest holds tens of thousands of paths).
    pub fn union_is(&self, other: &Self, target: &Self) -> bool {
        other.owner.or(self.owner) == target.owner
            && other.log_dir.as_ref().or(self.log_dir.as_ref()) == target.log_dir.as_ref()
            && self.entries.is_subset(&target.entries)
            && other.entries.is_subset(&target.entries)
    }

    /// The text of `self.union(other)`, without building the union.
    pub fn union_render(&self, other: &Self) -> String {
        render(
            other.owner.or(self.owner),
            other.log_dir.as_ref().or(self.log_dir.as_ref()),
            self.entries.union(&other.entries),
        )
    }

    pub fn render(&self) -> String {
        render(self.owner, self.log_dir.as_ref(), self.entries.iter())
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err("not a procexport manifest".to_owned());
        }
        let mut manifest = Self::default();
        for (index, line) in lines.enumerate() {
            let (word, path) = line.split_once(' ').unwrap_or((line, ""));
            if word == "owner" {
                let uid = path
                    .parse()
                    .map_err(|_| format!("line {}: bad owner", index + 2))?;
                manifest.owner = Some(uid);
                continue;
            }
            let kind = match word {
                "logdir" => None,
                "file" => Some(EntryKind::File),
                "dir" => Some(EntryKind::Dir),
                "link" => Some(EntryKind::Link),
                _ => return Err(format!("line {}: unknown entry", index + 2)),
            };
            if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
                return Err(format!("line {}: not an absolute path", index + 2));
            }
            match kind {
                Some(kind) => {
                    manifest.entries.insert((path.to_owned(), kind));
                }
                None => manifest.log_dir = Some(path.to_owned()),
            }
        }
        Ok(manifest)
    }
}

/// The text of a manifest of these parts, made in one allocation of its exact size (a large
/// app's manifest is megabytes, and a doubling String would hold up to three times that).
fn render<'a>(
    owner: Option<u32>,
    log_dir: Option<&String>,
    entries: impl Iterator<Item = &'a (String, EntryKind)> + Clone,
) -> String {
    let size: usize = entries
        .clone()
        .map(|(path, kind)| word(*kind).len() + path.len() + 2)
        .sum();
    // `owner UID` and `logdir PATH` lines included.
    let extra = 32 + log_dir.map_or(0, |l| l.len() + 8);
    let mut text = String::with_capacity(HEADER.len() + 1 + extra + size);
    text.push_str(HEADER);
    text.push('\n');
    if let Some(owner) = owner {
        let _ = writeln!(text, "owner {owner}");
    }
    if let Some(log_dir) = log_dir {
        let _ = writeln!(text, "logdir {log_dir}");
    }
    for (path, kind) in entries {
        text.push_str(word(*kind));
        text.push(' ');
        text.push_str(path);
        text.push('\n');
    }
    text
}

/// The first word of an entry's line.
fn word(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Link => "link",
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
        let mut manifest = Manifest::of(&outputs);
        assert_eq!(Manifest::parse(&manifest.render()).unwrap(), manifest);
        manifest.owner = Some(1001);
        manifest.log_dir = Some("/var/log/fb-a".into());
        assert_eq!(Manifest::parse(&manifest.render()).unwrap(), manifest);
    }

    /// The union's text and comparisons, made without building it, agree with the union.
    #[test]
    fn union_without_building_it() {
        let file = |path: &str| Output::file(path.into(), String::new(), 0o644, Group::Root);
        let mut old = Manifest::of(&[file("/i/fb-a.conf"), file("/i/fb-a-old.conf")]);
        old.owner = Some(7);
        let mut new = Manifest::of(&[file("/i/fb-a.conf"), file("/i/fb-a-web.conf")]);
        new.log_dir = Some("/var/log/fb-a".into());
        let cases = [
            (old.clone(), new.clone()),
            (old.clone(), old.clone()),
            (Manifest::default(), new.clone()),
            (new.clone(), Manifest::default()),
        ];
        for (a, b) in cases {
            let union = a.union(&b);
            assert_eq!(a.union_render(&b), union.render());
            assert_eq!(a.union_is(&b, &a), union == a);
            assert_eq!(a.union_is(&b, &b), union == b);
        }
    }

    #[test]
    fn refuses_forged_entries() {
        assert!(Manifest::parse("# procexport manifest v1\nfile ../etc/passwd\n").is_err());
        assert!(Manifest::parse("# procexport manifest v1\nfile /etc/../x\n").is_err());
        assert!(Manifest::parse("garbage\n").is_err());
        assert!(Manifest::parse("# procexport manifest v1\nowner x\n").is_err());
        assert!(Manifest::parse("# procexport manifest v1\nlogdir var/log\n").is_err());
    }
}
