//! Upstart's checks of its own files, for the tests: every job file through the stanza
//! checker, every helper through `sh -n` and shellcheck; and the rules a rendered file keeps
//! (a job file is stanzas only, a helper is the template's lines and one command line, and
//! is private to root and the run group).

use super::{stanza_check, Upstart};
use crate::backends::check_rules::in_dir_with;
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file, unquote_sh, COMMAND_MARKER};
use crate::backends::check_rules::{check_shell_scripts, scripts};
use std::collections::HashSet;

impl Checks for Upstart {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let mut checked = 0;
        for file in files {
            if self.is_job_file(&file.live) {
                let text = String::from_utf8_lossy(&file.contents);
                stanza_check::check_generated(&text).map_err(|problems| {
                    format!(
                        "{} is not a valid Upstart job:\n{}\n--- file:\n{text}",
                        file.live,
                        problems.join("\n")
                    )
                })?;
                checked += 1;
            }
        }
        let scripts = scripts(files);
        check_shell_scripts(&scripts)?;
        Ok(checked + scripts.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if self.is_job_file(path) {
            stanza_check::check_generated(contents).map_err(|problems| problems.join("; "))?;
        } else if in_dir(path, self.helpers.as_str()) && has_extension(path, "sh") {
            check_helper(contents)?;
            check_secret_mode(mode)?;
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        in_dir_with(self.helpers.as_str(), path, "sh").then_some(Secret::ShellHelper)
    }

    fn root_format(&self, path: &str) -> Option<RootFormat> {
        self.is_job_file(path).then_some(RootFormat::UpstartJob)
    }

    fn app_job_name(&self, full_name: &str) -> Option<String> {
        Some(full_name.to_owned())
    }
}

impl Upstart {
    fn is_job_file(&self, path: &str) -> bool {
        in_dir(path, self.jobs.as_str()) && has_extension(path, "conf")
    }
}

fn has_extension(path: &str, extension: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .is_some_and(|e| e == extension)
}

fn in_dir(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// The Upstart helper: the template's own lines, then one command line.
fn check_helper(contents: &str) -> Result<(), String> {
    const FIXED: &[&str] = &[
        "#!/bin/sh",
        "if [ -r /etc/profile.d/rbenv.sh ]; then",
        "  # shellcheck source=/dev/null",
        "  . /etc/profile.d/rbenv.sh",
        "fi",
        "nl=$(printf '\\nx'); nl=${nl%x}",
    ];
    if !contents.lines().any(|l| l == COMMAND_MARKER) {
        return Err("no command marker".to_owned());
    }
    let fixed: HashSet<&str> = FIXED.iter().copied().collect();
    for line in contents.lines().take_while(|l| *l != COMMAND_MARKER) {
        let shaped = fixed.contains(line)
            || line.starts_with('#')
            || line.starts_with("export ")
            || helper_word(line, "exec >> ", " 2>&1").is_some()
            || helper_word(line, "cd ", " || exit 1").is_some();
        if !shaped {
            return Err(format!("unexpected helper line {line:?}"));
        }
    }
    for (prefix, suffix) in [("exec >> ", " 2>&1"), ("cd ", " || exit 1")] {
        if let Some(word) = contents
            .lines()
            .find_map(|l| helper_word(l, prefix, suffix))
        {
            unquote_sh(word).map_err(|e| format!("{prefix}...: {e}"))?;
        }
    }
    Ok(())
}

fn helper_word<'a>(line: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    line.strip_prefix(prefix)?.strip_suffix(suffix)
}

#[cfg(test)]
mod tests {
    use super::stanza_check::check_generated as check;

    /// The rules a rendered job file keeps, through the one Upstart checker.
    #[test]
    fn upstart_conf_lines_must_be_stanzas() {
        assert!(check("# c\ndescription \"x\"\nexec x\npre-start script\n  anything\nend script\n").is_ok());
        assert!(check("exec x\nrm -rf /\n").is_err());
        assert!(check(" exec x\n").is_err());
        assert!(check("exec x \\\n").is_err());
        assert!(check("exec x\npre-start script\n").is_err());
    }
}
