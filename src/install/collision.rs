//! Names shared between apps. App names and labels may hold `-`, which also joins the parts
//! of every generated name, so app `a` with job `b-c` and app `a-b` with job `c` make the same
//! file (`fb-a-b-c.conf`). Names alone cannot tell whose such a file is; the manifests can:
//! every file procexport installed is listed in exactly one app's manifest
//! (`<state_dir>/<backend>/<full name>.manifest`). So before anything is written, an export is
//! refused when one of its paths is in another app's manifest (naming that app), and the
//! gem's file names found for this app drop every path another app's manifest lists, and
//! every name the gem itself could not have made for it (the gem's names never held `-`).
//!
//! A file may stand for several jobs: supervisord's helper `<dir>/<stem>.sh` of a process type
//! is the process `<stem>` for a type of one process and the processes `<stem>_<n>` (of
//! `[program:<stem>]` with `numprocs`) for a counted one. App `a` type `w` with a count
//! (`fb-a-w.sh`, processes `fb-a-w_0`, ...) and app `a-w` type `0` hold no path in common, but
//! app `a` type `b-c` with a count and app `a-b` type `c_0` without one (`fb-a-b-c.sh` and
//! `fb-a-b-c_0.sh`) would both make a process `fb-a-b-c_0`. For such a file (`Installer::instance_stem`) the export is also
//! refused when another app's manifest lists the file whose stem is this one's with `_<n>`, or
//! this one's without it (the manifests do not say which types have a count, so the second
//! app of such a pair is refused whether or not their processes meet).

use super::disk::Disk;
use super::installer::Installer;
use super::legacy::Legacy;
use crate::error::{Error, Result};
use crate::model::name::Name;
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
    installer: &dyn Installer,
    full_name: &str,
    outputs: impl Iterator<Item = &'a str>,
    mut legacy: Legacy,
) -> Result<Legacy> {
    let owners = other_owners(disk, state_dir, installer.name(), full_name)?;
    refuse_taken(&owners, full_name, outputs, |path| {
        installer.instance_stem(path)
    })?;
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

/// The first of `paths` another app owns, or whose jobs' names another app's file may hold
/// (`instance_stem`: the path without its extension when it names the jobs `<stem>` and
/// `<stem>_<n>`), as an error naming that app.
fn refuse_taken<'a, 'b>(
    owners: &BTreeMap<Arc<str>, String>,
    full_name: &str,
    paths: impl Iterator<Item = &'a str>,
    instance_stem: impl Fn(&'a str) -> Option<&'a str>,
) -> Result<()> {
    for path in paths {
        let taken = owners.get(path).or_else(|| {
            let stem = instance_stem(path)?;
            let extension = &path[stem.len()..];
            instance_neighbour(owners, stem, extension)
        });
        if let Some(other) = taken {
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

/// The owner of another app's `<stem without _<n>><extension>` or `<stem>_<n><extension>`:
/// files whose jobs (`<stem>`, `<stem>_<n>`) may have a name in common with this one's. One
/// lookup, and one walk of the names that start `<stem>_`.
fn instance_neighbour<'m>(
    owners: &'m BTreeMap<Arc<str>, String>,
    stem: &str,
    extension: &str,
) -> Option<&'m String> {
    let shorter =
        Name::instance_of(stem).and_then(|base| owners.get(format!("{base}{extension}").as_str()));
    if shorter.is_some() {
        return shorter;
    }
    let prefix = format!("{stem}_");
    owners
        .range::<str, _>((
            std::ops::Bound::Included(prefix.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|(path, _)| path.starts_with(&prefix))
        .find(|(path, _)| {
            path[prefix.len()..]
                .strip_suffix(extension)
                .is_some_and(Name::is_instance_number)
        })
        .map(|(_, owner)| owner)
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
        let error = refuse_taken(
            &taken,
            "fb-a",
            ["/etc/init/fb-a-b-c.conf"].into_iter(),
            none,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("another app, \"fb-a-b\""), "{error}");
        assert!(error.contains("rename the label or the app"), "{error}");
        assert!(refuse_taken(&taken, "fb-a", ["/etc/init/fb-a-c.conf"].into_iter(), none).is_ok());
    }

    fn none(_: &str) -> Option<&str> {
        None
    }

    /// supervisord's helpers: `<stem>.sh` names the processes `<stem>` or `<stem>_<n>`.
    fn helper_stem(path: &str) -> Option<&str> {
        path.strip_suffix(".sh")
    }

    /// Is `path` of app `full_name` refused beside `taken` (path, owner)?
    fn refused(taken: &[(&str, &str)], full_name: &str, path: &str) -> bool {
        refuse_taken(&owners(taken), full_name, [path].into_iter(), helper_stem).is_err()
    }

    #[test]
    fn a_helper_of_a_process_type_is_refused_where_its_programs_may_meet_another_apps() {
        let d = "/etc/supervisor/conf.d";
        // App "a" type "b-c" and app "a-b" type "c": one helper path, whatever the counts.
        let bc = format!("{d}/fb-a-b-c.sh");
        assert!(refused(&[(&bc, "fb-a-b")], "fb-a", &bc));
        // App "a" type "b-c" with a count (programs fb-a-b-c_0, ...) and app "a-b" type "c_0"
        // without one (program fb-a-b-c_0), in either order.
        let c0 = format!("{d}/fb-a-b-c_0.sh");
        assert!(refused(&[(&c0, "fb-a-b")], "fb-a", &bc));
        assert!(refused(&[(&bc, "fb-a")], "fb-a-b", &c0));
        let c12 = format!("{d}/fb-a-b-c_12.sh");
        assert!(refused(&[(&c12, "fb-a-b")], "fb-a", &bc));
        // App "a" type "w" with a count (fb-a-w.sh: fb-a-w_0, ...) beside app "a-w"
        // (fb-a-w.conf, fb-a-w-web.sh: fb-a-w-web) or app "a-w_1" (fb-a-w_1-web.sh): no
        // program in common.
        let w = format!("{d}/fb-a-w.sh");
        let neighbours = [
            (format!("{d}/fb-a-w.conf"), "fb-a-w"),
            (format!("{d}/fb-a-w-web.sh"), "fb-a-w"),
            (format!("{d}/fb-a-w_1-web.sh"), "fb-a-w_1"),
            (format!("{d}/fb-a-w_.sh"), "fb-a-w_"),
            (format!("{d}/fb-a-wx_1.sh"), "fb-a-wx"),
        ];
        let neighbours: Vec<(&str, &str)> =
            neighbours.iter().map(|(p, o)| (p.as_str(), *o)).collect();
        assert!(!refused(&neighbours, "fb-a", &w));
        // Another backend's file of the same names is not a helper: its own path only.
        let taken = owners(&[("/etc/init/fb-a-b-c_0.conf", "fb-a-b")]);
        assert!(refuse_taken(
            &taken,
            "fb-a",
            ["/etc/init/fb-a-b-c.conf"].into_iter(),
            none
        )
        .is_ok());
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
