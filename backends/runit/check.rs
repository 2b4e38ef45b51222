//! runit's checks of its own files, for the tests: every script (`run`, `finish`, `log/run`,
//! `control/t`) through `sh -n` and shellcheck; and the rules a rendered file keeps (an
//! `env/` file is one value as `chpst -e` reads it, private to root and the run group).

use super::Runit;
use crate::backends::check_rules::under;
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file};
use crate::backends::check_rules::{check_shell_scripts, scripts};

impl Checks for Runit {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let scripts = scripts(files);
        check_shell_scripts(&scripts)?;
        Ok(scripts.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        let in_services = path
            .strip_prefix(self.services.as_str())
            .is_some_and(|r| r.starts_with('/'));
        if in_services && path.rsplit('/').nth(1) == Some("env") {
            // chpst reads the first line, a NUL standing for a newline.
            let body = contents.strip_suffix('\n').unwrap_or(contents);
            if let Some(c) = body
                .chars()
                .find(|&c| c.is_control() && c != '\t' && c != '\0')
            {
                return Err(format!("control character {c:?} in an env file"));
            }
            return check_secret_mode(mode);
        }
        check_text_file(contents, mode)
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        under(self.services.as_str(), path)
            .and_then(|rest| rest.split_once('/'))
            .filter(|(_, file)| file.strip_prefix("env/").is_some_and(|k| !k.contains('/')))
            .map(|_| Secret::EnvDirEntry)
    }

    fn is_process_file(&self, path: &str) -> bool {
        under(self.services.as_str(), path)
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(_, file)| file == "run")
    }

    /// runsv starts every script of a service directory (`run`, `finish`, `log/run`,
    /// `control/t`) as root.
    fn root_format(&self, path: &str) -> Option<RootFormat> {
        under(self.services.as_str(), path).map(|_| RootFormat::RunitService)
    }

    /// runit has no app job: the app is its service directories.
    fn app_job_name(&self, _full_name: &str) -> Option<String> {
        None
    }

    /// A service is named by its directory.
    fn process_name(&self, full_name: &str, job: &str) -> String {
        self.services.join(&format!("{full_name}-{job}"))
    }
}
