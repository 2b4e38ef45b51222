//! Files an older exporter (the upstart-exporter gem) installed for an app, which no manifest
//! lists: found under the app's names in the backend's legacy places, then split by their
//! content into those the backend proves the app's (`Installer::legacy_proven`) and the rest.
//! Only the proven ones may be taken over or removed, and only by root or a manager of that
//! exact app (the transaction asks); the rest are named and left. With `--adopt`, the files
//! other tools (foreman, honcho, init-exporter) wrote are looked for too (`adoptable`), and taken only when they are
//! byte for byte what that tool writes for the app (`Installer::adopt_proven`).

use super::disk::Disk;
use super::entries::Entries;
use super::installer::{Installer, LegacyFile, LegacyFiles};
use super::plan::Existing;
use crate::error::Error;
use crate::error::Result;
use std::collections::{BTreeMap, HashSet};

/// The files found under an app's name that no manifest lists.
#[derive(Debug, Default)]
pub struct Legacy {
    /// Proven by their contents to be the app's (`Installer::legacy_proven`).
    pub proven: Vec<String>,
    /// Named like the app's, and nothing more: never taken, never removed.
    pub unproven: Vec<String>,
    /// For `--adopt`: the tool each adopted file is proven to come from.
    pub adopted: BTreeMap<String, &'static str>,
    /// For `--adopt`: why a file is not proven, for its note.
    pub why: BTreeMap<String, String>,
}

impl Legacy {
    /// Keeps only the paths `keep` holds, in both lists.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.proven.retain(|p| keep(p));
        self.unproven.retain(|p| keep(p));
    }
}

/// The files an older exporter (the gem) may have written for the app `full_name`: named
/// `<full_name><suffix>` or `<full_name>-<anything><suffix>` in the backend's legacy places,
/// split into those the backend finds proven by their contents and the rest. `wanted` gives
/// the paths the export writes (asked for only when there is a file to prove: a large app
/// has tens of thousands); `listed` those the app's manifest lists, which are procexport's,
/// not an older exporter's, and are not read.
pub fn files<'a>(
    disk: &mut Disk,
    installer: &dyn Installer,
    no_prefix: bool,
    full_name: &str,
    wanted: &dyn Fn() -> Vec<&'a str>,
    listed: &Entries,
) -> Result<Legacy> {
    if no_prefix {
        return Ok(Legacy::default());
    }
    let places = &installer.capabilities().legacy_files;
    let found = candidates(disk, places, full_name, listed)?;
    if found.is_empty() {
        return Ok(Legacy::default());
    }
    let proven: HashSet<String> = installer
        .legacy_proven(full_name, &found, &wanted())
        .into_iter()
        .collect();
    let (proven, unproven) = found
        .into_iter()
        .map(|f| f.path)
        .partition(|path| proven.contains(path));
    Ok(Legacy {
        proven,
        unproven,
        ..Legacy::default()
    })
}

/// For `--adopt`: the files other tools (foreman, honcho, init-exporter) may have written for app `full_name` in
/// the backend's `adopt_places`, split by `Installer::adopt_proven`. The proof is the whole
/// content, the app's name in it included, so an empty prefix does not stop the search.
pub fn adoptable(
    disk: &mut Disk,
    installer: &dyn Installer,
    full_name: &str,
    listed: &Entries,
) -> Result<Legacy> {
    let found = candidates(disk, &installer.adopt_places(), full_name, listed)?;
    let mut legacy = Legacy::default();
    for verdict in installer.adopt_proven(full_name, &found) {
        match verdict.proof {
            Ok(tool) => {
                legacy.adopted.insert(verdict.path.clone(), tool);
                legacy.proven.push(verdict.path);
            }
            Err(why) => {
                legacy.why.insert(verdict.path.clone(), why);
                legacy.unproven.push(verdict.path);
            }
        }
    }
    Ok(legacy)
}

/// Adds `other`'s files to these: a file proven by either is proven.
impl Legacy {
    pub fn merge(&mut self, other: Legacy) {
        for path in other.proven {
            self.unproven.retain(|p| *p != path);
            if !self.proven.contains(&path) {
                self.proven.push(path);
            }
        }
        for path in other.unproven {
            if !self.proven.contains(&path) && !self.unproven.contains(&path) {
                self.unproven.push(path);
            }
        }
        self.adopted.extend(other.adopted);
        self.why.extend(other.why);
    }
}

/// Every file named `<full_name><suffix>` or `<full_name>-<anything><suffix>` in `places`
/// that `listed` does not hold, with its contents when it is a regular UTF-8 file.
fn candidates(
    disk: &mut Disk,
    places: &[LegacyFiles],
    full_name: &str,
    listed: &Entries,
) -> Result<Vec<LegacyFile>> {
    let mut found = Vec::new();
    for place in places {
        for name in disk.list_dir(&place.dir)? {
            let matches = name.strip_suffix(place.suffix).is_some_and(|stem| {
                stem == full_name
                    || stem
                        .strip_prefix(full_name)
                        .is_some_and(|t| t.starts_with('-'))
            });
            if matches {
                let path = format!("{}/{name}", place.dir.trim_end_matches('/'));
                if listed.has_path(&path) {
                    continue;
                }
                let contents = match disk.inspect(&path)? {
                    Existing::File { contents, .. } => String::from_utf8(contents).ok(),
                    Existing::Missing
                    | Existing::Dir { .. }
                    | Existing::Symlink { .. }
                    | Existing::Other(_) => None,
                };
                found.push(LegacyFile { path, contents });
            }
        }
    }
    Ok(found)
}

/// The refusal of a sudo user who may not take over the older exporter's files `found`.
pub fn refuse(disk: &Disk, full_name: &str, found: &Legacy) -> Error {
    let names: Vec<String> = found
        .proven
        .iter()
        .map(|p| crate::sanitize::Quoted(&disk.host(p)).to_string())
        .collect();
    Error::refused(format!(
        "{full_name} has files an older exporter installed, which no manifest lists: {}; only \
         root, or a manager the config lists for this app (apps.<app>.managers), may take them \
         over or remove them; nothing was changed",
        names.join(", ")
    ))
}
