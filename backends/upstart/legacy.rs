//! Which of the files named like app `<full>`'s the upstart-exporter gem provably wrote for
//! it. Names cannot tell: app and label names may hold `-`, so `fb-x-y.conf` is app `x`'s
//! process `y` or app `x-y`'s master. The gem's templates can: a process job says
//! `start on starting <full>` and `stop on stopping <full>` (its master's name), and runs its
//! helper by path on its `exec` line; a master makes `/var/log/<full>`, or is the job such
//! process jobs start on.

use crate::install::installer::LegacyFile;

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
    let jobs: Vec<(&str, &LegacyFile)> = found
        .iter()
        .filter_map(|f| Some((stem_in(&f.path, jobs_dir, ".conf")?, f)))
        .collect();
    let master_of = |file: &LegacyFile| file.contents.as_deref().and_then(master);
    // A stem some job starts on is that chain's master.
    let is_a_master = |stem: &str| jobs.iter().any(|(_, f)| master_of(f).as_deref() == Some(stem));
    let mut proven = Vec::new();
    let mut processes = Vec::new();
    for (stem, file) in &jobs {
        let Some(label) = stem
            .strip_prefix(full_name)
            .and_then(|rest| rest.strip_prefix('-'))
        else {
            continue;
        };
        let ours = gem_label(label)
            && master_of(file).as_deref() == Some(full_name)
            && (wanted.contains(&file.path.as_str()) || !is_a_master(stem));
        if ours {
            proven.push(file.path.clone());
            processes.push(*file);
        }
    }
    let log_line = format!("mkdir -p /var/log/{full_name}");
    for (stem, file) in &jobs {
        let made_log = file
            .contents
            .as_deref()
            .is_some_and(|text| text.lines().any(|l| words(l) == words(&log_line)));
        if *stem == full_name && (made_log || !processes.is_empty()) {
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
        let run = processes
            .iter()
            .any(|job| job.contents.as_deref().is_some_and(|t| runs(t, &file.path)));
        if named && run {
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

/// True when an `exec` line of job `text` runs the file at `path`.
fn runs(text: &str, path: &str) -> bool {
    text.lines()
        .filter(|line| line.trim_start().starts_with("exec "))
        .flat_map(str::split_whitespace)
        .any(|word| same_path(word.trim_matches(|c| c == '\'' || c == '"'), path))
}

/// `a` and `b` name the same path, however many `/` join their parts.
fn same_path(a: &str, b: &str) -> bool {
    let parts = |p: &str| -> Vec<String> {
        p.split('/').filter(|c| !c.is_empty()).map(str::to_owned).collect()
    };
    a.starts_with('/') && parts(a) == parts(b)
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
