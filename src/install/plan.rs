//! Compares what a backend rendered with what is on disk and in the app's manifest, and
//! decides every step before the first write: what to create or replace, what is already
//! right, what to remove. Anything unsafe (a symlink or fifo where a file goes) stops the
//! export here, while nothing has changed yet.

use crate::error::{Error, Result};
use crate::install::disk::Spool;
use crate::install::manifest::{EntryKind, Manifest};
use crate::model::output::{Group, Kind, Output};
use crate::sanitize::Quoted;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::num::NonZeroU64;

/// The file contents an export keeps in memory between its render and its writes, in all.
/// Past it, a file's contents go to the spool (`disk::Spool`) as soon as it is rendered, and
/// only their length, digest and place stay: a large app (thousands of jobs) never holds all
/// its files at once, and is rendered once.
pub const KEEP_BYTES: usize = 2 << 20;

/// What is kept of a rendered file whose contents were spooled: enough to tell whether the
/// installed file is already the same, to find the contents again, and to check them when
/// they are read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// Where the contents start in the spool.
    pub at: u64,
    pub len: usize,
    /// SipHash with this run's random keys (`RandomState`): not forgeable from outside, so
    /// two different contents match only by a 2^-63 chance. Never zero, so that an
    /// `Option<Digest>` takes no more room than a digest (one per output of a large app).
    hash: NonZeroU64,
}

/// The `Digest::hash` of `bytes`: 0 is counted as 1.
fn sip(keys: &RandomState, bytes: &[u8]) -> NonZeroU64 {
    NonZeroU64::new(keys.hash_one(bytes)).unwrap_or(NonZeroU64::MIN)
}

/// What a render left for the plan: every output in render order, each file's contents kept
/// while they fit in the budget and spooled (a `Digest` kept instead) past it.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Each output, with the digest of a file whose contents were spooled.
    pub outputs: Vec<(Output, Option<Digest>)>,
    /// The size of every file rendered, in all (for `max_rendered_bytes`).
    pub bytes: u64,
    keys: RandomState,
    spool: Option<Spool>,
}

impl Rendered {
    /// Collects what `render` gives, keeping file contents up to `budget` bytes in all and
    /// putting the rest in `spool`; with no spool, keeping them all. The render stops as soon
    /// as the files pass `max_bytes` in all (`max_rendered_bytes`), before they take more
    /// memory or spool.
    pub fn collect(
        budget: usize,
        spool: Option<Spool>,
        max_bytes: u64,
        render: impl FnOnce(&mut crate::backends::Sink) -> Result<()>,
    ) -> Result<Self> {
        let mut rendered = Self {
            spool,
            ..Self::default()
        };
        let mut kept = 0usize;
        render(&mut |mut output: Output| {
            let mut digest = None;
            // Kept until the export ends: without the spare room a string built piece by
            // piece keeps (up to as much again; tens of thousands of paths for runit).
            output.path.shrink_to_fit();
            if let Kind::File { contents, .. } = &mut output.kind {
                rendered.bytes = rendered.bytes.saturating_add(contents.len() as u64);
                crate::model::limits::check_rendered_bytes(rendered.bytes, max_bytes)?;
                kept = kept.saturating_add(contents.len());
                match rendered.spool.as_mut().filter(|_| kept > budget) {
                    Some(spool) => {
                        let at = spool
                            .push(contents.as_bytes())
                            .map_err(|e| Error::io("writing the spool".to_owned(), e))?;
                        digest = Some(Digest {
                            at,
                            len: contents.len(),
                            hash: sip(&rendered.keys, contents.as_bytes()),
                        });
                        *contents = String::new();
                    }
                    None => contents.shrink_to_fit(),
                }
            }
            rendered.outputs.push((output, digest));
            Ok(())
        })?;
        if let Some(spool) = &mut rendered.spool {
            spool
                .finish()
                .map_err(|e| Error::io("writing the spool".to_owned(), e))?;
        }
        Ok(rendered)
    }

    /// Every output as rendered, nothing dropped (tests).
    #[cfg(test)]
    pub fn whole(outputs: Vec<Output>) -> Self {
        Self {
            outputs: outputs.into_iter().map(|o| (o, None)).collect(),
            ..Self::default()
        }
    }
}

/// What is at a path now (read without following a symlink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    Missing,
    File {
        contents: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Symlink {
        target: String,
    },
    /// A fifo, socket or device: never written to, never followed.
    Other(&'static str),
}

/// The owners files must have when procexport runs as root: uid 0, and the run group's gid
/// for files that carry secrets.
#[derive(Debug, Clone, Copy)]
pub struct Ownership {
    pub run_gid: u32,
}

impl Ownership {
    pub fn gid(self, group: Group) -> u32 {
        match group {
            Group::Root => 0,
            Group::Run => self.run_gid,
        }
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    /// New or changed outputs, in the order they must be written (dirs, files, links).
    pub writes: Vec<Output>,
    /// What is on disk now at each of `writes` that exists (a change rather than a creation).
    pub before: HashMap<String, Existing>,
    /// Outputs already on disk exactly as rendered.
    pub unchanged: Vec<Output>,
    /// Paths of the previous install that the new one no longer has, contents first.
    pub removals: Vec<(String, EntryKind)>,
    /// The manifest before and after.
    pub old: Manifest,
    pub new: Manifest,
    /// For each of `writes`, the digest of a file whose contents were spooled after the
    /// render (`Rendered`): read back from `spool` when it is written, and checked.
    pub digests: Vec<Option<Digest>>,
    keys: RandomState,
    /// The spooled contents (an open scratch file, the only one a plan holds).
    pub spool: Option<Spool>,
}

impl Plan {
    pub fn changes_anything(&self) -> bool {
        !self.writes.is_empty() || !self.removals.is_empty() || self.old != self.new
    }

    /// The contents of a spooled file, read back into `into` and checked against `digest`.
    pub fn spooled(&self, digest: Digest, into: &mut Vec<u8>) -> Result<()> {
        let spool = self
            .spool
            .as_ref()
            .ok_or_else(|| Error::failed("a file was spooled with no spool".to_owned()))?;
        spool
            .read(digest.at, digest.len, into)
            .map_err(|e| Error::io("reading the spool".to_owned(), e))?;
        if sip(&self.keys, into) != digest.hash {
            return Err(Error::failed(
                "the spool changed under the export; nothing was installed".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Builds the plan. `belongs` says whether a path may be removed as one of this app's files:
/// a manifest naming anything else is refused rather than trusted.
pub fn plan(
    rendered: Rendered,
    old: &Manifest,
    legacy: Vec<(String, EntryKind)>,
    ownership: Option<Ownership>,
    belongs: &dyn Fn(&str) -> bool,
    inspect: &mut dyn FnMut(&str) -> Result<Existing>,
) -> Result<Plan> {
    let Rendered {
        outputs: mut ordered,
        keys,
        spool,
        ..
    } = rendered;
    let new = Manifest::of_outputs(ordered.iter().map(|(o, _)| o));
    let mut plan = Plan::default();
    (plan.old, plan.new, plan.keys, plan.spool) = (old.clone(), new, keys, spool);
    ordered.sort_by_key(|(o, _)| match o.kind {
        Kind::Dir { .. } => 0,
        Kind::File { .. } => 1,
        Kind::Symlink { .. } => 2,
    });
    let known: HashSet<&str> = old
        .entries
        .iter()
        .map(|(p, _)| p.as_str())
        .chain(legacy.iter().map(|(p, _)| p.as_str()))
        .collect();
    let foreign = plan_outputs(&mut plan, ordered, &known, ownership, inspect)?;
    refuse_foreign(&foreign)?;
    plan_removals(&mut plan, old, legacy, belongs, inspect)?;
    Ok(plan)
}

/// Sorts each rendered output into `plan.unchanged` or `plan.writes` (with what stands there
/// now in `plan.before`). Returns every path that is someone else's, named together: one
/// refusal, not one a run. The outputs to write stay where they are and the rendered list
/// becomes `plan.writes` in place: a copy would hold every output twice at the export's peak
/// (tens of thousands of them for a large runit app).
fn plan_outputs(
    plan: &mut Plan,
    mut ordered: Vec<(Output, Option<Digest>)>,
    known: &HashSet<&str>,
    ownership: Option<Ownership>,
    inspect: &mut dyn FnMut(&str) -> Result<Existing>,
) -> Result<Vec<String>> {
    let mut foreign: Vec<String> = Vec::new();
    // Whether each of `ordered` is to be written.
    let mut written: Vec<bool> = Vec::with_capacity(ordered.len());
    for (output, digest) in &mut ordered {
        let digest = *digest;
        written.push(false); // until it is found to be written
        if foreign.iter().any(|dir| {
            output
                .path
                .strip_prefix(dir.as_str())
                .is_some_and(|r| r.starts_with('/'))
        }) {
            continue; // inside a directory already named
        }
        let mut existing = inspect(&output.path)?;
        let current = match digest {
            Some(digest) => is_current_digest(output, digest, &existing, ownership, &plan.keys)?,
            None => is_current(output, &existing, ownership)?,
        };
        // A directory counts even when it already looks right: one that procexport did not
        // make (a vendor's service directory) would otherwise be adopted, filled and, on the
        // next clean, removed.
        let foreign_dir = matches!(output.kind, Kind::Dir { .. });
        if (!current || foreign_dir)
            && existing != Existing::Missing
            && !known.contains(output.path.as_str())
        {
            foreign.push(output.path.clone());
            continue;
        }
        if current {
            // Moved out; what is left in its place (no allocation) is dropped below.
            let placeholder = Output::dir(String::new(), 0);
            plan.unchanged.push(std::mem::replace(output, placeholder));
        } else {
            // Of a dropped file, only whether it existed is needed (a dry run drops none).
            match &mut existing {
                Existing::File { contents, .. } if digest.is_some() => *contents = Vec::new(),
                _ => {}
            }
            if existing != Existing::Missing {
                plan.before.insert(output.path.clone(), existing);
            }
            if let Some(last) = written.last_mut() {
                *last = true;
            }
        }
    }
    // `retain` visits each element once, in order.
    let mut keep = written.into_iter();
    ordered.retain(|_| keep.next().unwrap_or(false));
    plan.digests = ordered.iter().map(|(_, digest)| *digest).collect();
    // Collected in place (the same allocation), then trimmed to its length.
    plan.writes = ordered.into_iter().map(|(output, _)| output).collect();
    plan.writes.shrink_to_fit();
    Ok(foreign)
}

/// Fills `plan.removals` with the old manifest's (and legacy) paths the new render no longer
/// has, refusing a path that is not this app's or that changed kind since it was installed.
fn plan_removals(
    plan: &mut Plan,
    old: &Manifest,
    legacy: Vec<(String, EntryKind)>,
    belongs: &dyn Fn(&str) -> bool,
    inspect: &mut dyn FnMut(&str) -> Result<Existing>,
) -> Result<()> {
    if old.entries.is_empty() && legacy.is_empty() {
        return Ok(()); // nothing installed before: nothing to remove, no set of new paths
    }
    let wanted: HashSet<&str> = plan.new.entries.iter().map(|(p, _)| p.as_str()).collect();
    let mut stale: Vec<(String, EntryKind)> = old
        .entries
        .iter()
        .cloned()
        .chain(legacy)
        .filter(|(path, _)| !wanted.contains(path.as_str()))
        .collect();
    stale.sort();
    stale.dedup();
    for (path, kind) in stale {
        if !belongs(&path) {
            return Err(Error::refused_at(&path, format!(
                "the manifest lists {}, which is not one of this app's files; refusing to remove it",
                Quoted(&path)
            )));
        }
        match (inspect(&path)?, kind) {
            (Existing::Missing, _) => {}
            (Existing::Dir { .. }, EntryKind::Dir)
            | (
                Existing::File { .. } | Existing::Symlink { .. },
                EntryKind::File | EntryKind::Link,
            ) => {
                plan.removals.push((path, kind));
            }
            (found, _) => {
                return Err(Error::refused_at(
                    &path,
                    format!(
                        "{} was installed as a {} but is now {}; refusing to remove it",
                        Quoted(&path),
                        kind_word(kind),
                        describe(&found)
                    ),
                ))
            }
        }
    }
    // Contents before their directories: files and links first, then the deepest dirs.
    plan.removals.sort_by_key(|(path, kind)| {
        (
            *kind == EntryKind::Dir,
            std::cmp::Reverse(path.matches('/').count()),
        )
    });
    Ok(())
}

/// `is_current` for a file whose contents were dropped after the render: compared by digest.
fn is_current_digest(
    output: &Output,
    digest: Digest,
    existing: &Existing,
    ownership: Option<Ownership>,
    keys: &RandomState,
) -> Result<bool> {
    let Existing::File {
        contents,
        mode,
        uid,
        gid,
    } = existing
    else {
        return is_current(output, existing, ownership);
    };
    if digest.len != contents.len() || digest.hash != sip(keys, contents) {
        return Ok(false);
    }
    // The contents match: the rest (mode, owner) as for any file; both sides empty.
    let without = Existing::File {
        contents: Vec::new(),
        mode: *mode,
        uid: *uid,
        gid: *gid,
    };
    is_current(output, &without, ownership)
}

/// Refuses the paths an export would take over from someone else, all named in one message.
fn refuse_foreign(foreign: &[String]) -> Result<()> {
    match foreign {
        [] => Ok(()),
        [one] => Err(Error::refused_at(
            one,
            format!(
                "{} exists and was not installed by procexport for this app (no manifest lists \
                 it); refusing to replace it: move it away if it is stale",
                Quoted(one)
            ),
        )),
        many => {
            let list: Vec<String> = many.iter().map(|p| Quoted(p).to_string()).collect();
            Err(Error::refused(format!(
                "{} paths exist that procexport did not install for this app (no manifest lists \
                 them), so they were not installed by procexport for this app: {}; refusing to \
                 replace them: move them away if they are stale (another tool's files for the \
                 app, such as foreman's, must be removed first)",
                many.len(),
                list.join(", ")
            )))
        }
    }
}

/// True when the path already holds exactly the output; an error when it holds something that
/// must not be replaced.
fn is_current(output: &Output, existing: &Existing, ownership: Option<Ownership>) -> Result<bool> {
    let refuse = || {
        Err(Error::refused_at(
            &output.path,
            format!(
                "{} is {}, not a {}; refusing to replace it (remove it by hand if it is stale)",
                Quoted(&output.path),
                describe(existing),
                match output.kind {
                    Kind::File { .. } => "regular file",
                    Kind::Dir { .. } => "directory",
                    Kind::Symlink { .. } => "symlink",
                }
            ),
        ))
    };
    match (&output.kind, existing) {
        // A missing path is written; so is a stale link of ours (renaming over a link never
        // follows it).
        (_, Existing::Missing) | (Kind::Symlink { .. }, Existing::File { .. }) => Ok(false),
        (
            Kind::File {
                contents,
                mode,
                group,
            },
            Existing::File {
                contents: now,
                mode: m,
                uid,
                gid,
            },
        ) => {
            let owner_ok = ownership.is_none_or(|o| *uid == 0 && *gid == o.gid(*group));
            Ok(now == contents.as_bytes() && m & 0o7777 == *mode && owner_ok)
        }
        // Refused here, before the first write, rather than when the writer opens it.
        (Kind::Dir { .. }, Existing::Dir { mode: m, .. }) if m & 0o022 != 0 => {
            Err(Error::refused_at(
                &output.path,
                format!(
                "{} is writable by group or others (mode {m:04o}); procexport only writes into \
                 directories that only their owner can write",
                Quoted(&output.path)
            ),
            ))
        }
        (Kind::Dir { mode, group }, Existing::Dir { mode: m, uid, gid }) => {
            let owner_ok = ownership.is_none_or(|o| *uid == 0 && *gid == o.gid(*group));
            Ok(m & 0o7777 == *mode && owner_ok)
        }
        (Kind::Symlink { target }, Existing::Symlink { target: now }) => Ok(now == target),
        _ => refuse(),
    }
}

fn kind_word(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "file",
        EntryKind::Dir => "directory",
        EntryKind::Link => "link",
    }
}

fn describe(existing: &Existing) -> String {
    match existing {
        Existing::Missing => "missing".to_owned(),
        Existing::File { .. } => "a regular file".to_owned(),
        Existing::Dir { .. } => "a directory".to_owned(),
        Existing::Symlink { target } => format!("a symlink to {}", Quoted(target)),
        Existing::Other(what) => format!("a {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> Output {
        Output::file(path.into(), text.into(), 0o644, Group::Root)
    }

    fn run(outputs: Vec<Output>, old: &Manifest, disk: &HashMap<&str, Existing>) -> Result<Plan> {
        let mut inspect = |p: &str| Ok(disk.get(p).cloned().unwrap_or(Existing::Missing));
        plan(
            Rendered::whole(outputs),
            old,
            Vec::new(),
            None,
            &|p: &str| p.starts_with("/i/fb-a"),
            &mut inspect,
        )
    }

    #[test]
    fn unchanged_files_are_not_rewritten_and_stale_ones_are_removed() {
        let old = Manifest::of(&[file("/i/fb-a-web.conf", "x"), file("/i/fb-a-old.conf", "y")]);
        let disk = HashMap::from([
            (
                "/i/fb-a-web.conf",
                Existing::File {
                    contents: b"x".to_vec(),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
            ),
            (
                "/i/fb-a-old.conf",
                Existing::File {
                    contents: b"y".to_vec(),
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
            ),
        ]);
        let plan = run(
            vec![file("/i/fb-a-web.conf", "x"), file("/i/fb-a.conf", "m")],
            &old,
            &disk,
        )
        .unwrap();
        assert_eq!(plan.unchanged.len(), 1);
        assert_eq!(plan.writes, vec![file("/i/fb-a.conf", "m")]);
        assert_eq!(
            plan.removals,
            vec![("/i/fb-a-old.conf".to_owned(), EntryKind::File)]
        );
    }

    #[test]
    fn symlinks_and_fifos_at_targets_are_refused() {
        for existing in [
            Existing::Symlink {
                target: "/etc/shadow".into(),
            },
            Existing::Other("fifo"),
        ] {
            let disk = HashMap::from([("/i/fb-a.conf", existing)]);
            let error =
                run(vec![file("/i/fb-a.conf", "m")], &Manifest::default(), &disk).unwrap_err();
            assert!(error.to_string().contains("refusing to replace"), "{error}");
        }
    }

    #[test]
    fn directories_are_checked_for_mode_and_owner() {
        let env = || Output::dir_with_group("/i/fb-a-web/env".into(), 0o750, Group::Run);
        let ownership = Some(Ownership { run_gid: 7 });
        let dir = |mode, gid| Existing::Dir { mode, uid: 0, gid };
        assert!(is_current(&env(), &dir(0o750, 7), ownership).unwrap());
        assert!(!is_current(&env(), &dir(0o755, 7), ownership).unwrap());
        assert!(!is_current(&env(), &dir(0o750, 0), ownership).unwrap());
        for loose in [0o770, 0o752] {
            let error = is_current(&env(), &dir(loose, 7), ownership).unwrap_err();
            assert!(error.to_string().contains("writable by group"), "{error}");
        }
    }

    #[test]
    fn every_foreign_path_is_named_at_once() {
        let existing = |text: &str| Existing::File {
            contents: text.as_bytes().to_vec(),
            mode: 0o644,
            uid: 0,
            gid: 0,
        };
        let disk = HashMap::from([
            ("/i/fb-a.conf", existing("foreman's")),
            ("/i/fb-a-web.conf", existing("foreman's too")),
        ]);
        let error = run(
            vec![file("/i/fb-a.conf", "m"), file("/i/fb-a-web.conf", "w")],
            &Manifest::default(),
            &disk,
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("2 paths exist")
                && error.contains("\"/i/fb-a.conf\", \"/i/fb-a-web.conf\""),
            "{error}"
        );
    }

    #[test]
    fn a_manifest_naming_another_apps_file_is_refused() {
        let old = Manifest::of(&[file("/i/fb-b-web.conf", "x")]);
        let error = run(Vec::new(), &old, &HashMap::new()).unwrap_err();
        assert!(
            error.to_string().contains("not one of this app's files"),
            "{error}"
        );
    }
}
