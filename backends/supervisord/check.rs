//! supervisord's checks of its own files, for the tests: every helper through `sh -n` and
//! shellcheck, every app config through supervisord's own parser (Python's `supervisor.options`
//! reading it as the real daemon does); and the rules a rendered file keeps (the config holds
//! no value, the helper is private to root and the run group).

use super::Supervisord;
use crate::backends::check_rules::in_dir_with;
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file};
use crate::backends::check_rules::{check_shell_scripts, run_tool, scripts};
use std::process::Command;

/// Parses supervisord config files with supervisord's own code and prints, per program, its
/// command words as supervisord will exec them (one JSON object a line).
const PARSE_PY: &str = r#"
import json, os, shlex, sys, tempfile
from supervisor.options import ServerOptions
# Each file as the main config's [include] would add it (read as it is, whatever its path),
# written in a scratch directory that is removed when the parse ends.
with tempfile.TemporaryDirectory() as scratch:
    main = os.path.join(scratch, "main.conf")
    for path in sys.argv[1:]:
        with open(path) as f, open(main, "w") as out:
            out.write("[supervisord]\n" + f.read())
        options = ServerOptions()
        options.configfile = main
        options.process_config(do_usage=False)
        for group in options.process_group_configs:
            for program in group.process_configs:
                print(json.dumps({"group": group.name, "name": program.name,
                    "argv": shlex.split(program.command), "autorestart": str(program.autorestart),
                    "startsecs": program.startsecs, "startretries": program.startretries,
                    "stopwaitsecs": program.stopwaitsecs, "user": program.uid,
                    "stdout": str(program.stdout_logfile), "stderr": str(program.stderr_logfile),
                    "environment": program.environment, "directory": program.directory}))
"#;

/// The Python with Debian's `supervisor` module.
const PYTHON: &str = "/usr/bin/python3";

/// The command that runs supervisord's parser on `paths` (`PARSE_PY`).
pub fn parser_command(paths: &[std::path::PathBuf]) -> Command {
    let mut command = Command::new(PYTHON);
    command.arg("-c").arg(PARSE_PY).args(paths);
    command
}

/// Runs supervisord's parser on `paths`; its JSON lines.
pub fn parse_with_supervisord(paths: &[std::path::PathBuf]) -> Result<Vec<String>, String> {
    let (ok, said) = run_tool(&mut parser_command(paths), "python3 with supervisor")?;
    if !ok {
        return Err(format!("supervisord's parser refused {paths:?}:\n{said}"));
    }
    Ok(said.lines().map(str::to_owned).collect())
}

impl Checks for Supervisord {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let confs: Vec<_> = files
            .iter()
            .filter(|f| self.is_app_conf(&f.live))
            .map(|f| f.host.clone())
            .collect();
        if !confs.is_empty() {
            parse_with_supervisord(&confs)?;
        }
        let scripts = scripts(files);
        check_shell_scripts(&scripts)?;
        Ok(confs.len() + scripts.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if self.is_app_conf(path) {
            for line in contents.lines() {
                let line = line.trim_end();
                let ok = line.is_empty()
                    || line.starts_with(';')
                    || (line.starts_with('[') && line.ends_with(']'))
                    || line.split_once('=').is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    });
                if !ok {
                    return Err(format!("not a line procexport writes: {line:?}"));
                }
            }
        } else if contents.starts_with("#!") {
            check_secret_mode(mode)?;
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        in_dir_with(self.confs.as_str(), path, "sh").then_some(Secret::ShellHelper)
    }

    /// The helpers are started through setpriv, already the run user; the app's section is
    /// what supervisord itself acts on as root.
    fn root_format(&self, path: &str) -> Option<RootFormat> {
        in_dir_with(self.confs.as_str(), path, "conf").then_some(RootFormat::SupervisordConf)
    }

    /// The app is a group, not a job of its own.
    fn app_job_name(&self, _full_name: &str) -> Option<String> {
        None
    }

    fn process_name(&self, full_name: &str, job: &str) -> String {
        format!("{full_name}:{full_name}-{job}")
    }

    /// The manifest lists a helper per process type: `Installer::jobs` names the types.
    fn listed_name(&self, full_name: &str, label: &str, _job: &str) -> String {
        format!("{full_name}:{full_name}-{label}")
    }

    /// The helper of the process type holds the env of every instance.
    fn env_file_stem(&self, full_name: &str, label: &str, _job: &str) -> String {
        format!("{full_name}-{label}")
    }
}

impl Supervisord {
    fn is_app_conf(&self, path: &str) -> bool {
        path.strip_prefix(self.confs.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|r| {
                !r.contains('/')
                    && std::path::Path::new(r).extension().is_some_and(|e| e == "conf")
            })
    }
}
