//! Builds the `App` from the config and the Procfile: every setting taken from the command's
//! own entry, else the Procfile's top level, else the config, else the default; env merged in
//! that order; `count` expanded into instances; every generated name checked for collisions
//! and length.

use super::entry::Procfile;
use crate::error::{Error, Location, Result};
use crate::model::config::Config;
use crate::model::job::{App, Job};
use crate::model::layer;
use crate::model::name::Name;
use crate::model::text::AbsPath;
use crate::sanitize::Quoted;
use std::collections::HashMap;

/// Room kept in a 255-byte file name for the longest suffix a backend adds (`.service`,
/// `.manifest`, temp-file decorations).
const SUFFIX_ROOM: usize = 16;
const MAX_FILE_NAME: usize = 255;

/// The default kill timeout, in seconds (the gem's).
const DEFAULT_KILL_TIMEOUT: u32 = 30;

pub fn assemble(
    config: &Config,
    procfile: &Procfile,
    app: &Name,
    file: &str,
    default_dir: &AbsPath,
) -> Result<App> {
    let full_name = format!("{}{}", config.prefix, app);
    check_length(&full_name, Location::file(file))?;
    let log_dir = AbsPath::parse(&config.log_dir.join(&full_name), "log directory")
        .map_err(Error::Refused)?;
    let top = &procfile.top;
    let defaults = &config.defaults;
    let mut jobs = Vec::new();
    // Which entry made each job name, to report a collision with both lines.
    let mut made_by: HashMap<Name, (usize, Option<u32>)> = HashMap::new();
    for entry in &procfile.entries {
        let layers = [&entry.layer, top, defaults];
        let kill_timeout = layers
            .iter()
            .find_map(|l| l.kill_timeout)
            .unwrap_or(DEFAULT_KILL_TIMEOUT);
        let respawn = layer::resolve_respawn(&layers.map(|l| l.respawn));
        let working_directory = layers
            .iter()
            .find_map(|l| l.working_directory.clone())
            .unwrap_or_else(|| default_dir.clone());
        let mut env = defaults.env.clone();
        env.merge(&top.env);
        env.merge(&entry.layer.env);
        let names: Vec<Name> = match entry.count {
            None => vec![entry.label.clone()],
            Some(count) => (0..count).map(|i| entry.label.instance(i)).collect(),
        };
        for name in names {
            let line = entry
                .count_line
                .filter(|_| entry.count.is_some())
                .unwrap_or(entry.line);
            if let Some((other_line, other_count)) = made_by.get(&name) {
                let how = |count: &Option<u32>, line: usize| match count {
                    Some(c) => format!("an instance of a label with count {c} (line {line})"),
                    None => format!("the label on line {line}"),
                };
                return Err(Error::input(
                    Location::line(file, line.max(*other_line)),
                    format!(
                        "job name {} is made twice: by {} and by {}",
                        Quoted(name.as_str()),
                        how(other_count, *other_line),
                        how(&entry.count, line)
                    ),
                ));
            }
            made_by.insert(name.clone(), (line, entry.count));
            let job_full_name = format!("{full_name}-{name}");
            check_length(&job_full_name, Location::line(file, entry.line))?;
            let given = layers.iter().find_map(|l| l.log.clone());
            let log_given = given.is_some();
            let log = match given {
                Some(log) => log,
                None => AbsPath::parse(&log_dir.join(&format!("{name}.log")), "log")
                    .map_err(Error::Refused)?,
            };
            jobs.push(Job {
                name,
                full_name: job_full_name,
                command: entry.command.clone(),
                env: env.clone(),
                working_directory: working_directory.clone(),
                respawn,
                kill_timeout,
                log,
                log_given,
            });
        }
    }
    Ok(App {
        name: app.clone(),
        full_name,
        run_as: config.run_as.clone(),
        start_on: procfile
            .start_on
            .clone()
            .unwrap_or_else(|| config.start_on.clone()),
        stop_on: procfile
            .stop_on
            .clone()
            .unwrap_or_else(|| config.stop_on.clone()),
        log_dir,
        jobs,
    })
}

fn check_length(name: &str, location: Location) -> Result<()> {
    if name.len() + SUFFIX_ROOM > MAX_FILE_NAME {
        return Err(Error::input(
            location,
            format!(
                "generated name {}... is {} bytes; with its suffix it must fit in a {MAX_FILE_NAME}-byte file name (at most {} bytes)",
                Quoted(&name[..40]),
                name.len(),
                MAX_FILE_NAME - SUFFIX_ROOM
            ),
        ));
    }
    Ok(())
}
