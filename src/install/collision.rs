//! Names shared between apps. App names and labels may hold `-`, which also joins the parts
//! of every generated name, so app `a` with job `b-c` and app `a-b` with job `c` make the same
//! file (`fb-a-b-c.conf`). Names alone cannot tell whose such a file is; the manifests can:
//! every file procexport installed is listed in exactly one app's manifest
//! (`<state_dir>/<backend>/<full name>.manifest`). So before anything is written, an export is
//! refused when one of its paths is in another app's manifest (naming that app), and the
//! gem's file names found for this app drop every path another app's manifest lists, and
//! every name the gem itself could not have made for it (the gem's names never held `-`).

use super::disk::Disk;
use super::legacy::Legacy;
use crate::error::{Error, Result};
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Refuses the paths `outputs` of an export of app `full_name` (none for a clean) that another
/// app of backend `backend` installed, and returns `legacy` (the gem's file names found for
/// this app) without any file that is another app's or that the gem could not have written
/// for this app.
pub fn check<'a>(
    disk: &mut Disk,
    state_dir: &AbsPath,
    backend: &str,
    full_name: &str,
    outputs: impl Iterator<Item = &'a str>,
    mut legacy: Legacy,
) -> Result<Legacy> {
    let owners = other_owners(disk, state_dir, backend, full_name)?;
    refuse_taken(&owners, full_name, outputs)?;
    legacy.retain(|path| !owners.contains_key(path) && gem_could_have_made(path, full_name));
    Ok(legacy)
}

/// `legacy` (files `--adopt` found for app `full_name`) without any path another app of
/// backend `backend` installed.
pub fn drop_others(
    disk: &mut Disk,
    state_dir: &AbsPath,
    backend: &str,
    full_name: &str,
    mut legacy: Legacy,
) -> Result<Legacy> {
    let owners = other_owners(disk, state_dir, backend, full_name)?;
    legacy.retain(|path| !owners.contains_key(path));
    Ok(legacy)
}

/// Every path another app's manifest lists, with that app's full name.
fn other_owners(
    disk: &mut Disk,
    state_dir: &AbsPath,
    backend: &str,
    full_name: &str,
) -> Result<BTreeMap<Arc<str>, String>> {
    let dir = state_dir.join(backend);
    let mut owners = BTreeMap::new();
    for name in disk.list_dir(&dir)? {
        let Some(other) = name.strip_suffix(".manifest") else {
            continue;
        };
        if other == full_name || other.starts_with('.') {
            continue;
        }
        let manifest = disk.read_manifest(&format!("{dir}/{name}"))?;
        for (path, _) in manifest.entries {
            owners.entry(path).or_insert_with(|| other.to_owned());
        }
    }
    Ok(owners)
}

/// The first of `paths` another app owns, as an error naming that app.
fn refuse_taken<'a>(
    owners: &BTreeMap<Arc<str>, String>,
    full_name: &str,
    paths: impl Iterator<Item = &'a str>,
) -> Result<()> {
    for path in paths {
        if let Some(other) = owners.get(path) {
            return Err(Error::refused(format!(
                "{} would be installed for {}, but it belongs to another app, {}, which \
                 installed it: a \"-\" in an app name or label makes the same name twice \
                 (app \"a\" job \"b-c\" and app \"a-b\" job \"c\"); rename the label or the app",
                Quoted(path),
                Quoted(full_name),
                Quoted(other)
            )));
        }
    }
    Ok(())
}

/// True when the gem could have written `path` for `full_name`: its stem is `<full_name>` or
/// `<full_name>-<label>` with a label of letters, digits and `_` (the gem's only names).
fn gem_could_have_made(path: &str, full_name: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    stem == full_name
        || stem
            .strip_prefix(full_name)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owners(pairs: &[(&str, &str)]) -> BTreeMap<Arc<str>, String> {
        pairs
            .iter()
            .map(|(p, o)| ((*p).into(), (*o).to_owned()))
            .collect()
    }

    #[test]
    fn a_path_of_another_app_is_refused_naming_it() {
        let taken = owners(&[("/etc/init/fb-a-b-c.conf", "fb-a-b")]);
        let error = refuse_taken(&taken, "fb-a", ["/etc/init/fb-a-b-c.conf"].into_iter())
            .unwrap_err()
            .to_string();
        assert!(error.contains("another app, \"fb-a-b\""), "{error}");
        assert!(error.contains("rename the label or the app"), "{error}");
        assert!(refuse_taken(&taken, "fb-a", ["/etc/init/fb-a-c.conf"].into_iter()).is_ok());
    }

    #[test]
    fn the_gems_names_never_match_a_dashed_neighbour() {
        assert!(gem_could_have_made("/etc/init/fb-a.conf", "fb-a"));
        assert!(gem_could_have_made("/etc/init/fb-a-web.conf", "fb-a"));
        assert!(gem_could_have_made(
            "/var/local/upstart_helpers/fb-a-web_1.sh",
            "fb-a"
        ));
        // App "a-b"'s files, or a job "b-c" the gem could not have named.
        assert!(!gem_could_have_made("/etc/init/fb-a-b-c.conf", "fb-a"));
        assert!(!gem_could_have_made("/etc/init/fb-a-.conf", "fb-a"));
        assert!(!gem_could_have_made("/etc/init/fb-ab.conf", "fb-a"));
    }
}
