//! s6's checks of its own files, for the tests: `run`, `finish` and the helper through `sh -n`
//! and shellcheck; the helper private to root and the run group.

use super::S6;
use crate::backends::check_rules::{check_secret_mode, check_text_file, under};
use crate::backends::check_rules::{check_shell_scripts, scripts};
use crate::backends::{Checks, Installed, RootFormat, Secret};

impl Checks for S6 {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let scripts = scripts(files);
        check_shell_scripts(&scripts)?;
        Ok(scripts.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if self.secret(path).is_some() {
            check_secret_mode(mode)?;
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        self.service_file(path)
            .filter(|f| *f == "helper.sh")
            .map(|_| Secret::ShellHelper)
    }

    fn is_process_file(&self, path: &str) -> bool {
        self.service_file(path) == Some("run")
    }

    /// s6-supervise starts `run` and `finish` as root.
    fn root_format(&self, path: &str) -> Option<RootFormat> {
        self.service_file(path)
            .filter(|f| matches!(*f, "run" | "finish"))
            .map(|_| RootFormat::RunitService)
    }

    /// s6 has no app job: the app is its service directories.
    fn app_job_name(&self, _full_name: &str) -> Option<String> {
        None
    }

    fn process_name(&self, full_name: &str, job: &str) -> String {
        self.services.join(&format!("{full_name}-{job}"))
    }
}

impl S6 {
    /// The name of a file directly in one of the service directories.
    fn service_file<'a>(&self, path: &'a str) -> Option<&'a str> {
        under(self.services.as_str(), path)
            .and_then(|rest| rest.split_once('/'))
            .map(|(_, file)| file)
            .filter(|f| !f.contains('/'))
    }
}
