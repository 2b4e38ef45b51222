//! Which entry made each job name, to refuse a name made twice, checked per process type rather
//! than per name. An unnumbered label is one name; a numbered type makes `<label>_0` ...
//! `<label>_<count - 1>`, the number written as `Name::instance` writes it (decimal, no leading
//! zero). Two numbered types of different labels never make the same name (what follows a
//! name's last `_` is its number; a label's own `_`s come before it), so a name is made twice
//! only by two equal labels, or by an unnumbered label that reads as an instance of a numbered
//! type: found by lookups, whatever the counts.

use crate::model::name::Name;
use std::collections::HashMap;

/// The entry that made a name: the line of its label (or `count:`), and its count if it gave
/// one.
pub type Maker = (usize, Option<u32>);

/// A name made twice: by instance `instance` of the type being added, and earlier by `other`.
#[derive(Debug, PartialEq, Eq)]
pub struct MadeTwice {
    pub instance: u32,
    pub name: Name,
    pub other: Maker,
}

/// The names made so far.
#[derive(Default)]
pub struct JobNames<'a> {
    /// Unnumbered labels, each its one job's name.
    single: HashMap<&'a str, Maker>,
    /// Numbered labels and their counts.
    numbered: HashMap<&'a str, (u32, Maker)>,
    /// The unnumbered labels that read as an instance name, by the label they would be an
    /// instance of: (number, label, maker).
    single_instances: HashMap<&'a str, Vec<(u32, &'a Name, Maker)>>,
}

impl<'a> JobNames<'a> {
    pub fn with_capacity(types: usize) -> Self {
        Self {
            single: HashMap::with_capacity(types),
            numbered: HashMap::with_capacity(types),
            single_instances: HashMap::new(),
        }
    }

    /// Adds the names of a type (`label`, numbered or not, `count` instances, made by
    /// `maker`); returns the first of them in instance order that an earlier type made.
    pub fn add(
        &mut self,
        label: &'a Name,
        numbered: bool,
        count: u32,
        maker: Maker,
    ) -> Option<MadeTwice> {
        let text = label.as_str();
        if !numbered {
            let earlier = self.single.get(text).copied().or_else(|| {
                let (stem, n) = instance_of(text)?;
                let (stem_count, other) = self.numbered.get(stem)?;
                (n < *stem_count).then_some(*other)
            });
            if let Some(other) = earlier {
                return Some(MadeTwice {
                    instance: 0,
                    name: label.clone(),
                    other,
                });
            }
            self.single.insert(text, maker);
            if let Some((stem, n)) = instance_of(text) {
                self.single_instances
                    .entry(stem)
                    .or_default()
                    .push((n, label, maker));
            }
            return None;
        }
        let same_label = self.numbered.get(text).map(|(_, other)| (0, *other));
        let as_single = self
            .single_instances
            .get(text)
            .into_iter()
            .flatten()
            .filter(|(n, _, _)| *n < count)
            .map(|(n, _, other)| (*n, *other))
            .min_by_key(|(n, _)| *n);
        if let Some((instance, other)) = same_label
            .into_iter()
            .chain(as_single)
            .min_by_key(|(n, _)| *n)
        {
            return Some(MadeTwice {
                instance,
                name: label.instance(instance),
                other,
            });
        }
        self.numbered.insert(text, (count, maker));
        None
    }
}

/// `<stem>_<n>` read back as `Name::instance` writes it, else `None`.
fn instance_of(name: &str) -> Option<(&str, u32)> {
    let (stem, number) = name.rsplit_once('_')?;
    let canonical = Name::is_instance_number(number) && (number == "0" || !number.starts_with('0'));
    Some((stem, number.parse().ok().filter(|_| canonical)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn name(text: &str) -> Name {
        Name::parse(text, "label").unwrap()
    }

    /// Every name made, one at a time: what the check stands in for.
    fn by_names(types: &[(Name, bool, u32)]) -> Option<(usize, MadeTwice)> {
        let mut made: HashMap<Name, Maker> = HashMap::new();
        for (i, (label, numbered, count)) in types.iter().enumerate() {
            for n in 0..*count {
                let job = if *numbered {
                    label.instance(n)
                } else {
                    label.clone()
                };
                if let Some(other) = made.get(&job) {
                    return Some((
                        i,
                        MadeTwice {
                            instance: n,
                            name: job,
                            other: *other,
                        },
                    ));
                }
                made.insert(job, (i, numbered.then_some(*count)));
            }
        }
        None
    }

    fn by_types(types: &[(Name, bool, u32)]) -> Option<(usize, MadeTwice)> {
        let mut names = JobNames::default();
        for (i, (label, numbered, count)) in types.iter().enumerate() {
            if let Some(twice) =
                names.add(label, *numbered, *count, (i, numbered.then_some(*count)))
            {
                return Some((i, twice));
            }
        }
        None
    }

    #[test]
    fn the_same_name_is_found_as_by_making_every_name() {
        let labels = [
            "a",
            "a_0",
            "a_1",
            "a_01",
            "a_10",
            "a_1_0",
            "a_1_1",
            "b",
            "a_4294967296",
        ];
        let mut cases = 0;
        for first in labels {
            for second in labels {
                for third in ["c", "a_3", "a"] {
                    for numbered in 0..8u32 {
                        for count in [1, 2, 11] {
                            let types: Vec<(Name, bool, u32)> = [first, second, third]
                                .iter()
                                .enumerate()
                                .map(|(i, l)| {
                                    let numbered = numbered & (1 << i) != 0;
                                    (name(l), numbered, if numbered { count } else { 1 })
                                })
                                .collect();
                            assert_eq!(by_types(&types), by_names(&types), "{types:?}");
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert!(cases > 1000);
    }
}
