//! The record of what an export installed, so that a later export can remove what it no
//! longer has and `clean` can remove exactly the app's files, never a neighbour's.
//! One entry a line (`file PATH`, `dir PATH`, `link PATH`); paths hold no control characters,
//! so a line cannot be split or forged. Two more lines say who the app belongs to and what
//! else procexport made for it: `owner UID` (the sudo user who first exported it; 0 for root)
//! and `logdir PATH` (the app's log directory, made by procexport and given to the run user:
//! the only directory procexport ever hands over, and never removed).

pub use crate::install::entries::EntryKind;
use crate::install::entries::{Entries, Entry};
use crate::model::output::{Kind, Output};
use std::io::{self, Write as _};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Every installed path with its kind, sorted (directories come before their contents).
    pub entries: Entries,
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

    /// Writes the text of `self.union(other)` to `out`, without building the union.
    pub fn write_union(&self, other: &Self, out: &mut dyn io::Write) -> io::Result<()> {
        write(
            other.owner.or(self.owner),
            other.log_dir.as_ref().or(self.log_dir.as_ref()),
            self.entries.union(&other.entries),
            out,
        )
    }

    /// Writes the manifest's text to `out`.
    pub fn write(&self, out: &mut dyn io::Write) -> io::Result<()> {
        write(self.owner, self.log_dir.as_ref(), self.entries.iter(), out)
    }

    #[cfg(test)]
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        self.write(&mut text).unwrap();
        String::from_utf8(text).unwrap()
    }

    #[cfg(test)]
    pub fn union_render(&self, other: &Self) -> String {
        let mut text = Vec::new();
        self.write_union(other, &mut text).unwrap();
        String::from_utf8(text).unwrap()
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_sharing(text, &Entries::default())
    }

    /// `parse`, holding each path that `shared` has (the new export's, for a re-export) as
    /// that same path rather than a copy: a large app's tens of thousands of paths once.
    pub fn parse_sharing(text: &str, shared: &Entries) -> Result<Self, String> {
        Self::read_sharing(text.as_bytes(), shared, u64::MAX)
    }

    /// `parse_sharing` of what `text` gives, a line at a time (a large app's manifest is
    /// megabytes, never held whole); more than `max` bytes is an error, never a manifest cut
    /// short.
    pub fn read_sharing(
        mut text: impl io::BufRead,
        shared: &Entries,
        max: u64,
    ) -> Result<Self, String> {
        let mut manifest = Self::default();
        let mut entries = SoFar::Matching(0);
        let mut line = String::new();
        let mut read = 0u64;
        for number in 1usize.. {
            line.clear();
            let got = text.read_line(&mut line).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData => "not UTF-8".to_owned(),
                _ => format!("line {number}: {e}"),
            })?;
            read = read.saturating_add(got as u64);
            if read > max {
                return Err(format!("larger than {max} bytes"));
            }
            if got == 0 {
                break;
            }
            let line = line.strip_suffix('\n').unwrap_or(&line);
            let line = line.strip_suffix('\r').unwrap_or(line);
            if number == 1 {
                if line != HEADER {
                    return Err("not a procexport manifest".to_owned());
                }
                continue;
            }
            manifest.read_line(line, number, shared, &mut entries)?;
        }
        if read == 0 {
            return Err("not a procexport manifest".to_owned());
        }
        manifest.entries = match entries {
            SoFar::Matching(n) if n == shared.len() => shared.clone(),
            SoFar::Matching(n) => shared.as_slice()[..n].iter().cloned().collect(),
            SoFar::Apart(entries) => entries.into_iter().collect(),
        };
        if manifest.entries == *shared {
            manifest.entries = shared.clone();
        }
        Ok(manifest)
    }

    /// One line after the header: `owner` and `logdir` go to the manifest, entries to
    /// `entries`, each path held as `shared`'s when it has it.
    fn read_line(
        &mut self,
        line: &str,
        number: usize,
        shared: &Entries,
        entries: &mut SoFar,
    ) -> Result<(), String> {
        let (word, path) = line.split_once(' ').unwrap_or((line, ""));
        if word == "owner" {
            let uid = path
                .parse()
                .map_err(|_| format!("line {number}: bad owner"))?;
            self.owner = Some(uid);
            return Ok(());
        }
        let kind = match word {
            "logdir" => None,
            "file" => Some(EntryKind::File),
            "dir" => Some(EntryKind::Dir),
            "link" => Some(EntryKind::Link),
            _ => return Err(format!("line {number}: unknown entry")),
        };
        if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(format!("line {number}: not an absolute path"));
        }
        match kind {
            Some(kind) => {
                if let SoFar::Matching(n) = entries {
                    if let Some((same, k)) = shared.as_slice().get(*n) {
                        if **same == *path && *k == kind {
                            *n += 1;
                            return Ok(());
                        }
                    }
                    *entries = SoFar::Apart(shared.as_slice()[..*n].to_vec());
                }
                if let SoFar::Apart(entries) = entries {
                    let path = shared.shared(path).unwrap_or_else(|| path.into());
                    entries.push((path, kind));
                }
            }
            None => self.log_dir = Some(path.to_owned()),
        }
        Ok(())
    }
}

/// The entries read so far: while they are `shared`'s first ones, in order (a re-export
/// that changes nothing), only how many; from the first that differs, every one.
enum SoFar {
    Matching(usize),
    Apart(Vec<Entry>),
}

/// Writes the text of a manifest of these parts to `out` as it goes, through a 64 KiB buffer:
/// a large app's manifest is megabytes, never held whole.
fn write<'a>(
    owner: Option<u32>,
    log_dir: Option<&String>,
    entries: impl Iterator<Item = &'a Entry>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 << 10, out);
    writeln!(out, "{HEADER}")?;
    if let Some(owner) = owner {
        writeln!(out, "owner {owner}")?;
    }
    if let Some(log_dir) = log_dir {
        writeln!(out, "logdir {log_dir}")?;
    }
    for (path, kind) in entries {
        out.write_all(word(*kind).as_bytes())?;
        out.write_all(b" ")?;
        out.write_all(path.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
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
    use std::sync::Arc;

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

    /// Read a line at a time: a path the new export has is held as that same path, and a
    /// manifest past the bound is refused, never read in part.
    #[test]
    fn reads_as_it_parses_sharing_paths_and_refuses_past_its_bound() {
        let file = |path: &str| Output::file(path.into(), String::new(), 0o644, Group::Root);
        let new = Manifest::of(&[file("/i/fb-a.conf")]);
        let text = "# procexport manifest v1\nowner 7\nfile /i/fb-a.conf\nfile /i/fb-a-old.conf\n";
        let old = Manifest::read_sharing(text.as_bytes(), &new.entries, 1 << 20).unwrap();
        assert_eq!(old, Manifest::parse(text).unwrap());
        let (shared, _) = old
            .entries
            .iter()
            .find(|(p, _)| &**p == "/i/fb-a.conf")
            .unwrap();
        let (theirs, _) = new.entries.iter().next().unwrap();
        assert!(Arc::ptr_eq(shared, theirs), "the path is held once");
        let cut = text.len() as u64 - 1;
        let error = Manifest::read_sharing(text.as_bytes(), &new.entries, cut).unwrap_err();
        assert!(error.contains("larger than"), "{error}");
        assert!(Manifest::read_sharing(&b"\xff\n"[..], &new.entries, 99).is_err());
    }

    /// A manifest that lists the new export's entries, or the first of them, in order is
    /// read without a list of its own: the same entries, held once. One that differs
    /// anywhere reads as if nothing were shared.
    #[test]
    fn a_manifest_like_the_new_one_is_read_as_the_new_ones_entries() {
        let file = |path: &str| Output::file(path.into(), String::new(), 0o644, Group::Root);
        let new = Manifest::of(&[file("/i/a.conf"), file("/i/b.conf"), file("/i/c.conf")]);
        let read = |lines: &str| {
            let text = format!("# procexport manifest v1\n{lines}");
            let old = Manifest::read_sharing(text.as_bytes(), &new.entries, 1 << 20).unwrap();
            assert_eq!(old, Manifest::parse(&text).unwrap(), "{lines}");
            old
        };
        let same = read("file /i/a.conf\nfile /i/b.conf\nfile /i/c.conf\n");
        assert_eq!(same.entries, new.entries);
        let ours = same.entries.as_slice().as_ptr();
        assert_eq!(ours, new.entries.as_slice().as_ptr(), "held once");
        let first = read("file /i/a.conf\nfile /i/b.conf\n");
        assert_eq!(first.entries.len(), 2);
        let apart = read("file /i/a.conf\nfile /i/z.conf\nfile /i/b.conf\n");
        let paths: Vec<&str> = apart.entries.iter().map(|(p, _)| &**p).collect();
        assert_eq!(paths, ["/i/a.conf", "/i/b.conf", "/i/z.conf"]);
        let kind = read("file /i/a.conf\ndir /i/b.conf\nfile /i/c.conf\n");
        assert_ne!(kind.entries, new.entries);
        let more = read("file /i/a.conf\nfile /i/b.conf\nfile /i/c.conf\nfile /i/d.conf\n");
        assert_eq!(more.entries.len(), 4);
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
