//! Which of the files named like app `<full>`'s the upstart-exporter gem provably wrote for
//! it. Names cannot tell: app and label names may hold `-`, so `fb-x-y.conf` is app `x`'s
//! process `y` or app `x-y`'s master. The gem's templates can: a process job says
//! `start on starting <full>` and `stop on stopping <full>` (its master's name), and runs its
//! helper by path on its `exec` line; a master makes `/var/log/<full>`, or is the job such
//! process jobs start on.

use crate::install::installer::LegacyFile;
use std::collections::HashSet;

/// The paths of `found` that are app `full_name`'s, by their contents: process jobs in
/// `jobs_dir` that name `full_name` as their master (and that are no other chain's master,
/// unless the caller's export writes them: `wanted`), the master job, and the helpers those
/// process jobs run.
pub fn proven(
    jobs_dir: &str,
    helpers_dir: &str,
    full_name: &str,
    found: &[LegacyFile],
    wanted: &[&str],
) -> Vec<String> {
    // Each job file once: its stem and the master it names.
    let jobs: Vec<(&str, &LegacyFile, Option<String>)> = found
        .iter()
        .filter_map(|f| {
            let stem = stem_in(&f.path, jobs_dir, ".conf")?;
            Some((stem, f, f.contents.as_deref().and_then(master)))
        })
        .collect();
    let wanted: HashSet<&str> = wanted.iter().copied().collect();
    // A stem some job starts on is that chain's master.
    let masters: HashSet<&str> = jobs.iter().filter_map(|(_, _, m)| m.as_deref()).collect();
    let mut proven = Vec::new();
    // The paths the app's proven process jobs run.
    let mut run: HashSet<String> = HashSet::new();
    for (stem, file, master) in &jobs {
        let Some(label) = stem
            .strip_prefix(full_name)
            .and_then(|rest| rest.strip_prefix('-'))
        else {
            continue;
        };
        let ours = gem_label(label)
            && master.as_deref() == Some(full_name)
            && (wanted.contains(file.path.as_str()) || !masters.contains(stem));
        if ours {
            proven.push(file.path.clone());
            run.extend(file.contents.as_deref().map(runs).unwrap_or_default());
        }
    }
    let has_processes = !proven.is_empty();
    let log_line = format!("mkdir -p /var/log/{full_name}");
    for (stem, file, _) in &jobs {
        let made_log = file
            .contents
            .as_deref()
            .is_some_and(|text| text.lines().any(|l| words(l) == words(&log_line)));
        if *stem == full_name && (made_log || has_processes) {
            proven.push(file.path.clone());
        }
    }
    for file in found {
        let Some(stem) = stem_in(&file.path, helpers_dir, ".sh") else {
            continue;
        };
        let named = stem
            .strip_prefix(full_name)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(gem_label);
        if named && run.contains(&normal(&file.path)) {
            proven.push(file.path.clone());
        }
    }
    proven
}

/// The file name of `path` without `suffix`, when `path` is directly in `dir`.
fn stem_in<'a>(path: &'a str, dir: &str, suffix: &str) -> Option<&'a str> {
    path.strip_prefix(dir.trim_end_matches('/'))?
        .strip_prefix('/')
        .filter(|name| !name.contains('/'))?
        .strip_suffix(suffix)
}

/// The gem's labels: letters, digits and `_`.
fn gem_label(label: &str) -> bool {
    !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The job a process job belongs to: `N` when it says both `start on starting N` and
/// `stop on stopping N`.
fn master(text: &str) -> Option<String> {
    let named = |verb: &str, event: &str| {
        text.lines().find_map(|line| match words(line).as_slice() {
            [v, "on", e, name] if *v == verb && *e == event => Some((*name).to_owned()),
            _ => None,
        })
    };
    let start = named("start", "starting")?;
    (named("stop", "stopping")? == start).then_some(start)
}

/// The absolute paths on the `exec` lines of job `text`, as `normal` writes them.
fn runs(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.trim_start().starts_with("exec "))
        .flat_map(str::split_whitespace)
        .map(|word| word.trim_matches(|c| c == '\'' || c == '"'))
        .filter(|word| word.starts_with('/'))
        .map(normal)
        .collect()
}

/// `path` with its parts joined by one `/` each, so that `/a//b` and `/a/b` compare equal.
fn normal(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty())
        .fold(String::new(), |mut out, part| {
            out.push('/');
            out.push_str(part);
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOBS: &str = "/etc/init";
    const HELPERS: &str = "/var/local/upstart_helpers/";

    /// The gem's process job for `app`, running `helper`.
    fn job(app: &str, helper: &str) -> String {
        format!(
            "start on starting {app}\nstop on stopping {app}\nrespawn\n\nscript\n  exec sudo -u \
             service /bin/sh {helper} >> /var/log/{app}/web.log 2>&1\nend script\n"
        )
    }

    fn file(path: &str, text: &str) -> LegacyFile {
        LegacyFile {
            path: path.to_owned(),
            contents: Some(text.to_owned()),
        }
    }

    #[test]
    fn the_gems_own_files_are_proven() {
        let found = [
            file("/etc/init/fb-x.conf", "pre-start script\nbash << \"EOF\"\n  mkdir -p /var/log/fb-x\nEOF\nend script\n"),
            file("/etc/init/fb-x-web.conf", &job("fb-x", "/var/local/upstart_helpers//fb-x-web.sh")),
            file("/var/local/upstart_helpers/fb-x-web.sh", "#!/bin/bash\nexec puma\n"),
        ];
        let proven = proven(JOBS, HELPERS, "fb-x", &found, &[]);
        assert_eq!(proven.len(), 3, "{proven:?}");
    }

    #[test]
    fn a_neighbours_master_and_a_hand_edited_file_are_not() {
        let found = [
            // App x-y's master and process: the dashed prefix "fb-x-" matches both.
            file("/etc/init/fb-x-y.conf", "pre-start script\n  mkdir -p /var/log/fb-x-y\nend script\n"),
            file("/etc/init/fb-x-y-web.conf", &job("fb-x-y", "/var/local/upstart_helpers/fb-x-y-web.sh")),
            file("/var/local/upstart_helpers/fb-x-y-web.sh", "#!/bin/bash\n"),
            // Hand-written: no chain to fb-x.
            file("/etc/init/fb-x-cron.conf", "start on runlevel [2345]\nexec /usr/local/bin/cron.sh\n"),
            // Not run by any proven job.
            file("/var/local/upstart_helpers/fb-x-cron.sh", "#!/bin/sh\n"),
        ];
        assert!(proven(JOBS, HELPERS, "fb-x", &found, &[]).is_empty());
        // Only the master: nothing proves it either.
        let lone = [file("/etc/init/fb-x.conf", "exec true\n")];
        assert!(proven(JOBS, HELPERS, "fb-x", &lone, &[]).is_empty());
    }

    #[test]
    fn a_process_that_is_also_a_chains_master_needs_the_callers_procfile() {
        let found = [
            file("/etc/init/fb-x-y.conf", &job("fb-x", "/h/fb-x-y.sh")),
            file("/etc/init/fb-x-y-web.conf", &job("fb-x-y", "/h/fb-x-y-web.sh")),
        ];
        assert!(proven(JOBS, HELPERS, "fb-x", &found, &[]).is_empty());
        assert_eq!(
            proven(JOBS, HELPERS, "fb-x", &found, &["/etc/init/fb-x-y.conf"]),
            ["/etc/init/fb-x-y.conf"]
        );
    }
}
