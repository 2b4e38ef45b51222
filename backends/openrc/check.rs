//! OpenRC's checks of its own files, for the tests: every service script and helper through
//! `sh -n` and shellcheck (a service script as the sh that openrc-run sources it with); and
//! the rules a rendered file keeps (the helper is private to root and the run group).

use super::Openrc;
use crate::backends::check_rules::{in_dir_with, name_in};
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file};
use crate::backends::check_rules::{check_shell_scripts, scripts};

impl Checks for Openrc {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let mut all = scripts(files);
        all.extend(
            files
                .iter()
                .filter(|f| f.contents.starts_with(b"#!/sbin/openrc-run"))
                .map(|f| f.host.clone()),
        );
        check_shell_scripts(&all)?;
        Ok(all.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e == "sh")
        {
            check_secret_mode(mode)?;
        } else if !contents.starts_with("#!/sbin/openrc-run\n") {
            return Err("an OpenRC service without #!/sbin/openrc-run".to_owned());
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        in_dir_with(self.helpers.as_str(), path, "sh").then_some(Secret::ShellHelper)
    }

    /// openrc-run sources each service script as root.
    fn root_format(&self, path: &str) -> Option<RootFormat> {
        name_in(self.scripts.as_str(), path).map(|_| RootFormat::InitScript)
    }

    fn app_job_name(&self, full_name: &str) -> Option<String> {
        Some(full_name.to_owned())
    }
}
