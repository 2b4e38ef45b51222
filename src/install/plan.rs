//! Compares what a backend rendered with what is on disk and in the app's manifest, and
//! decides every step before the first write: what to create or replace, what is already
//! right, what to remove. Anything unsafe (a symlink or fifo where a file goes) stops the
//! export here, while nothing has changed yet.

use crate::error::{Error, Result};
use crate::install::disk::Spool;
use crate::install::manifest::{EntryKind, Manifest};
use crate::model::contents::{Contents, Digest};
use crate::model::output::{Group, Kind, Output};
use crate::sanitize::Quoted;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::num::NonZeroU64;
use std::sync::Arc;

/// The file contents an export keeps in memory between its render and its writes, in all.
/// Past it, a file's contents go to the spool (`disk::Spool`) as soon as it is rendered, and
/// only their length, digest and place stay: a large app (thousands of jobs) never holds all
/// its files at once, and is rendered once.
pub const KEEP_BYTES: usize = 1 << 19;

/// The `Digest::hash` of `bytes`: SipHash with this run's random keys (`RandomState`), not
/// forgeable from outside, so two different contents match only by a 2^-63 chance; 0 is
/// counted as 1.
fn sip(keys: &RandomState, bytes: &[u8]) -> NonZeroU64 {
    NonZeroU64::new(keys.hash_one(bytes)).unwrap_or(NonZeroU64::MIN)
}

/// What a render left for the plan: every output in render order, each file's contents kept
/// while they fit in the budget and spooled (`Contents::Spooled`) past it.
#[derive(Debug, Default)]
pub struct Rendered {
    pub outputs: Vec<Output>,
    /// The size of every file rendered, in all (for `max_rendered_bytes`).
    pub bytes: u64,
    keys: RandomState,
    spool: Option<Spool>,
}

impl Rendered {
    /// Collects what `render` gives, keeping file contents up to `budget` bytes in all and
    /// putting the rest in a spool that `open_spool` makes the first time the budget is
    /// passed (a small app never makes one); with no spool, keeping them all. The render
    /// stops as soon as the files pass `max_bytes` in all (`max_rendered_bytes`), before they
    /// take more memory or spool.
    pub fn collect(
        budget: usize,
        open_spool: impl FnOnce() -> Option<Spool>,
        max_bytes: u64,
        render: impl FnOnce(&mut crate::backends::Sink) -> Result<()>,
    ) -> Result<Self> {
        let mut rendered = Self::default();
        let mut open_spool = Some(open_spool);
        let mut kept = 0usize;
        render(&mut |mut output: Output| {
            if let Kind::File { contents, .. } = &mut output.kind {
                let Contents::Kept(text) = contents else {
                    return Err(Error::failed("a file was rendered spooled".to_owned()));
                };
                rendered.bytes = rendered.bytes.saturating_add(text.len() as u64);
                crate::model::limits::check_rendered_bytes(rendered.bytes, max_bytes)?;
                kept = kept.saturating_add(text.len());
                if kept > budget {
                    if let Some(open) = open_spool.take() {
                        rendered.spool = open();
                    }
                }
                let spool = rendered.spool.as_mut().filter(|_| kept > budget);
                let digest = spool.and_then(|spool| {
                    let digest = Digest::new(
                        spool.end(),
                        text.len(),
                        sip(&rendered.keys, text.as_bytes()),
                    )?;
                    Some((spool, digest))
                });
                match digest {
                    Some((spool, digest)) => {
                        spool
                            .push(text.as_bytes())
                            .map_err(|e| Error::io("writing the spool".to_owned(), e))?;
                        *contents = Contents::Spooled(digest);
                    }
                    None => text.shrink_to_fit(),
                }
            }
            rendered.outputs.push(output);
            Ok(())
        })?;
        if let Some(spool) = &mut rendered.spool {
            spool
                .finish()
                .map_err(|e| Error::io("writing the spool".to_owned(), e))?;
        }
        Ok(rendered)
    }

    /// Every output as rendered, nothing spooled (tests).
    #[cfg(test)]
    pub fn whole(outputs: Vec<Output>) -> Self {
        Self {
            outputs,
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
    pub before: HashMap<Arc<str>, Existing>,
    /// Outputs already on disk exactly as rendered.
    pub unchanged: Vec<Output>,
    /// Paths of the previous install that the new one no longer has, contents first.
    pub removals: Vec<(String, EntryKind)>,
    /// The manifest before and after.
    pub old: Manifest,
    pub new: Manifest,
    keys: RandomState,
    /// The spooled contents (an open scratch file, the only one a plan holds): each
    /// `Contents::Spooled` of `writes` is read back from it when it is written, and checked.
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
            .read(digest.at(), digest.len(), into)
            .map_err(|e| Error::io("reading the spool".to_owned(), e))?;
        if sip(&self.keys, into) != digest.hash() {
            return Err(Error::failed(
                "the spool changed under the export; nothing was installed".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Builds the plan from what was rendered, its manifest (`new`, `Manifest::of_outputs` of
/// the same outputs) and the installed one (`old`). `belongs` says whether a path may be
/// removed as one of this app's files: a manifest naming anything else is refused rather
/// than trusted.
pub fn plan(
    rendered: Rendered,
    new: Manifest,
    old: Manifest,
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
    let mut plan = Plan::default();
    (plan.new, plan.keys, plan.spool) = (new, keys, spool);
    by_kind(&mut ordered);
    // A path the old manifest or the gem's files name: binary search, no set of them.
    let known = |path: &str| old.entries.has_path(path) || legacy.iter().any(|(p, _)| p == path);
    let foreign = plan_outputs(&mut plan, ordered, &known, ownership, inspect)?;
    refuse_foreign(&foreign)?;
    plan_removals(&mut plan, &old, legacy, belongs, inspect)?;
    plan.old = old;
    Ok(plan)
}

/// Puts directories first, then files, then links, each in render order: a stable sort
/// without the scratch copy `sort_by_key` makes (half the list, megabytes for a large app).
/// The order is sorted as indices, then applied in place one cycle at a time.
fn by_kind(ordered: &mut [Output]) {
    let rank = |o: &Output| match o.kind {
        Kind::Dir { .. } => 0u8,
        Kind::File { .. } => 1,
        Kind::Symlink { .. } => 2,
    };
    let Ok(len) = u32::try_from(ordered.len()) else {
        ordered.sort_by_key(rank); // past any bound an admin would set: the plain sort
        return;
    };
    let mut from: Vec<u32> = (0..len).collect();
    from.sort_unstable_by_key(|&at| (rank(&ordered[at as usize]), at));
    // `from[at]` is where the output that belongs at `at` is now; a done place points at itself.
    for start in 0..len {
        let mut at = start;
        while from[at as usize] != start {
            let next = from[at as usize];
            ordered.swap(at as usize, next as usize);
            from[at as usize] = at;
            at = next;
        }
        from[at as usize] = at;
    }
}

/// Sorts each rendered output into `plan.unchanged` or `plan.writes` (with what stands there
/// now in `plan.before`). Returns every path that is someone else's, named together: one
/// refusal, not one a run. The rendered list becomes `plan.writes` or `plan.unchanged` in
/// place, whichever is larger: a copy would hold every output twice at the export's peak
/// (tens of thousands of them for a large runit app).
fn plan_outputs(
    plan: &mut Plan,
    mut ordered: Vec<Output>,
    known: &dyn Fn(&str) -> bool,
    ownership: Option<Ownership>,
    inspect: &mut dyn FnMut(&str) -> Result<Existing>,
) -> Result<Vec<String>> {
    let mut foreign: Vec<String> = Vec::new();
    // What becomes of each of `ordered`.
    let mut fates: Vec<Fate> = Vec::with_capacity(ordered.len());
    for output in &ordered {
        let spooled = matches!(
            output.kind,
            Kind::File {
                contents: Contents::Spooled(_),
                ..
            }
        );
        fates.push(Fate::Skipped); // until it is found to be written or unchanged
        if foreign.iter().any(|dir| {
            output
                .path
                .strip_prefix(dir.as_str())
                .is_some_and(|r| r.starts_with('/'))
        }) {
            continue; // inside a directory already named
        }
        let mut existing = inspect(&output.path)?;
        let current = is_current(output, &existing, ownership, &plan.keys)?;
        // A directory counts even when it already looks right: one that procexport did not
        // make (a vendor's service directory) would otherwise be adopted, filled and, on the
        // next clean, removed.
        let foreign_dir = matches!(output.kind, Kind::Dir { .. });
        if (!current || foreign_dir) && existing != Existing::Missing && !known(&output.path) {
            foreign.push(output.path.to_string());
            continue;
        }
        let fate = if current {
            Fate::Unchanged
        } else {
            // Of a spooled file, only whether it existed is needed (a dry run spools none).
            match &mut existing {
                Existing::File { contents, .. } if spooled => *contents = Vec::new(),
                _ => {}
            }
            if existing != Existing::Missing {
                plan.before.insert(output.path.clone(), existing);
            }
            Fate::Written
        };
        if let Some(last) = fates.last_mut() {
            *last = fate;
        }
    }
    // The larger of the two sets stays where it is; the smaller is moved out to a list of its
    // exact size, so at most half the outputs are ever held twice.
    let unchanged = fates.iter().filter(|f| **f == Fate::Unchanged).count();
    let written = fates.iter().filter(|f| **f == Fate::Written).count();
    let (stays, moves) = if written >= unchanged {
        (Fate::Written, Fate::Unchanged)
    } else {
        (Fate::Unchanged, Fate::Written)
    };
    let mut taken_out = Vec::with_capacity(unchanged.min(written));
    let empty: Arc<str> = Arc::from("");
    // `retain_mut` visits each element once, in order.
    let mut fate = fates.into_iter();
    ordered.retain_mut(|output| {
        let this = fate.next().unwrap_or(Fate::Skipped);
        if this == moves {
            // What is left in its place is dropped by `retain_mut`: one shared empty path.
            let placeholder = Output {
                path: empty.clone(),
                kind: Kind::Dir {
                    mode: 0,
                    group: Group::Root,
                },
            };
            taken_out.push(std::mem::replace(output, placeholder));
        }
        this == stays
    });
    ordered.shrink_to_fit();
    (plan.writes, plan.unchanged) = if stays == Fate::Written {
        (ordered, taken_out)
    } else {
        (taken_out, ordered)
    };
    Ok(foreign)
}

/// What the plan does with one rendered output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Written,
    Unchanged,
    /// Inside a directory that is someone else's: refused with it.
    Skipped,
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
    let wanted = |path: &str| plan.new.entries.has_path(path);
    let mut stale: Vec<(String, EntryKind)> = old
        .entries
        .iter()
        .filter(|(path, _)| !wanted(path))
        .map(|(path, kind)| (path.to_string(), *kind))
        .chain(legacy.into_iter().filter(|(path, _)| !wanted(path)))
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

/// True when the path already holds exactly the output (a spooled file compared by its digest,
/// with this run's `keys`); an error when it holds something that must not be replaced.
fn is_current(
    output: &Output,
    existing: &Existing,
    ownership: Option<Ownership>,
    keys: &RandomState,
) -> Result<bool> {
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
            let same = match contents {
                Contents::Kept(text) => now == text.as_bytes(),
                Contents::Spooled(digest) => {
                    digest.len() == now.len() && digest.hash() == sip(keys, now)
                }
            };
            Ok(same && m & 0o7777 == *mode && owner_ok)
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

    /// The in-place order is the stable sort's, for lists whose kinds come in any order.
    #[test]
    fn by_kind_is_a_stable_sort() {
        for len in [0usize, 1, 2, 3, 7, 64, 1000] {
            let mut seed = len as u64 * 2_654_435_761 + 1;
            let mut ordered: Vec<Output> = (0..len)
                .map(|at| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let path = format!("/p{at}");
                    match seed >> 62 {
                        0 => Output::dir(path, 0o755),
                        1 => Output::symlink(path, "/t".into()),
                        _ => file(&path, ""),
                    }
                })
                .collect();
            let mut expected = ordered.clone();
            expected.sort_by_key(|o| match o.kind {
                Kind::Dir { .. } => 0,
                Kind::File { .. } => 1,
                Kind::Symlink { .. } => 2,
            });
            by_kind(&mut ordered);
            assert_eq!(ordered, expected, "{len} outputs");
        }
    }

    fn run(outputs: Vec<Output>, old: &Manifest, disk: &HashMap<&str, Existing>) -> Result<Plan> {
        let mut inspect = |p: &str| Ok(disk.get(p).cloned().unwrap_or(Existing::Missing));
        let new = Manifest::of(&outputs);
        plan(
            Rendered::whole(outputs),
            new,
            old.clone(),
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

    /// A spooled file is compared by its length and keyed hash, mode and owner as any file.
    #[test]
    fn a_spooled_file_is_current_only_when_its_digest_matches() {
        let keys = RandomState::new();
        let mut output = file("/i/fb-a.conf", "");
        let digest = Digest::new(0, 5, sip(&keys, b"hello")).unwrap();
        if let Kind::File { contents, .. } = &mut output.kind {
            *contents = Contents::Spooled(digest);
        }
        let on_disk = |text: &[u8], mode| Existing::File {
            contents: text.to_vec(),
            mode,
            uid: 0,
            gid: 0,
        };
        let current = |existing| is_current(&output, &existing, None, &keys).unwrap();
        assert!(current(on_disk(b"hello", 0o644)));
        assert!(!current(on_disk(b"hellO", 0o644)));
        assert!(!current(on_disk(b"hello!", 0o644)));
        assert!(!current(on_disk(b"hello", 0o600)));
    }

    #[test]
    fn directories_are_checked_for_mode_and_owner() {
        let env = || Output::dir_with_group("/i/fb-a-web/env".into(), 0o750, Group::Run);
        let ownership = Some(Ownership { run_gid: 7 });
        let dir = |mode, gid| Existing::Dir { mode, uid: 0, gid };
        let keys = RandomState::new();
        assert!(is_current(&env(), &dir(0o750, 7), ownership, &keys).unwrap());
        assert!(!is_current(&env(), &dir(0o755, 7), ownership, &keys).unwrap());
        assert!(!is_current(&env(), &dir(0o750, 0), ownership, &keys).unwrap());
        for loose in [0o770, 0o752] {
            let error = is_current(&env(), &dir(loose, 7), ownership, &keys).unwrap_err();
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
