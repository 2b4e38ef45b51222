//! A manifest's entries: every installed path with its kind, sorted (by path, then kind) in
//! one array. A large app has tens of thousands; a tree would add a node for every eleven,
//! and building one from a list first makes a sorted copy of the list.

use std::cmp::Ordering;
use std::sync::Arc;

/// What an entry is: the first word of its manifest line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    File,
    Dir,
    Link,
}

/// One entry: the path is shared with the rendered output it comes from.
pub type Entry = (Arc<str>, EntryKind);

/// Shared (`Arc`): a re-export's old manifest usually lists exactly the new one's entries,
/// and then holds them once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries(Arc<Vec<Entry>>);

impl Entries {
    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The entries, in order.
    pub fn as_slice(&self) -> &[Entry] {
        &self.0
    }

    /// True when some entry is at `path`, whatever its kind.
    pub fn has_path(&self, path: &str) -> bool {
        self.shared(path).is_some()
    }

    /// The path of the entry at `path`, to hold it once more without a copy.
    pub fn shared(&self, path: &str) -> Option<Arc<str>> {
        let at = self.0.binary_search_by(|(p, _)| (**p).cmp(path)).ok()?;
        Some(self.0[at].0.clone())
    }

    /// True when every entry of `self` is one of `other`'s.
    pub fn is_subset(&self, other: &Self) -> bool {
        let mut theirs = other.0.iter().peekable();
        self.0.iter().all(|mine| {
            while theirs.next_if(|t| *t < mine).is_some() {}
            theirs.next_if(|t| *t == mine).is_some()
        })
    }

    /// The entries of either, in order, each once: without building the union.
    pub fn union<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = &'a Entry> + 'a {
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        std::iter::from_fn(move || match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.cmp(y) {
                Ordering::Less => a.next(),
                Ordering::Greater => b.next(),
                Ordering::Equal => {
                    b.next();
                    a.next()
                }
            },
            (Some(_), None) => a.next(),
            (None, _) => b.next(),
        })
    }
}

impl FromIterator<Entry> for Entries {
    /// Sorted in place, without a scratch copy (no two entries are equal once deduplicated,
    /// so an unstable sort gives the one order).
    fn from_iter<I: IntoIterator<Item = Entry>>(entries: I) -> Self {
        let mut entries: Vec<Entry> = entries.into_iter().collect();
        entries.sort_unstable();
        entries.dedup();
        entries.shrink_to_fit();
        Self(Arc::new(entries))
    }
}

impl Extend<Entry> for Entries {
    fn extend<I: IntoIterator<Item = Entry>>(&mut self, more: I) {
        let entries = Arc::make_mut(&mut self.0);
        entries.extend(more);
        entries.sort_unstable();
        entries.dedup();
    }
}

impl IntoIterator for Entries {
    type Item = Entry;
    type IntoIter = std::vec::IntoIter<Entry>;

    fn into_iter(self) -> Self::IntoIter {
        Arc::unwrap_or_clone(self.0).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Union, subset and lookups agree with a sorted set's, over every pair of small sets.
    #[test]
    fn agrees_with_a_sorted_set() {
        let all: Vec<Entry> = ["/a", "/a/b", "/b", "/c"]
            .iter()
            .flat_map(|p| {
                [
                    ((*p).into(), EntryKind::File),
                    ((*p).into(), EntryKind::Dir),
                ]
            })
            .collect();
        let subsets: Vec<Vec<Entry>> = (0u32..1 << all.len())
            .step_by(7)
            .map(|bits| {
                let picked = all.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0);
                picked.map(|(_, e)| e.clone()).collect()
            })
            .collect();
        for a in &subsets {
            for b in &subsets {
                let (ea, eb): (Entries, Entries) = (
                    a.iter().rev().cloned().collect(),
                    b.iter().cloned().collect(),
                );
                let (sa, sb): (BTreeSet<Entry>, BTreeSet<Entry>) =
                    (a.iter().cloned().collect(), b.iter().cloned().collect());
                let union: Vec<&Entry> = ea.union(&eb).collect();
                assert_eq!(union, sa.union(&sb).collect::<Vec<_>>());
                assert_eq!(ea.is_subset(&eb), sa.is_subset(&sb));
                assert_eq!(ea.iter().collect::<Vec<_>>(), sa.iter().collect::<Vec<_>>());
                for path in ["/a", "/a/b", "/b", "/c", "/d"] {
                    assert_eq!(ea.has_path(path), sa.iter().any(|(p, _)| &**p == path));
                }
            }
        }
    }
}
