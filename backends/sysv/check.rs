//! SysV's checks of its own files, for the tests: every script (the init script, the wrappers,
//! the helpers) through `sh -n` and shellcheck, the init script's LSB header as insserv reads
//! it; and the rules a rendered file keeps (the helper, which holds the env, is private to root
//! and the run group).

use super::Sysv;
use crate::backends::check_rules::{in_dir_with, name_in};
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file};
use crate::backends::check_rules::{check_shell_scripts, scripts};

/// The LSB keys an init script of procexport has, in order.
const LSB_KEYS: [&str; 7] = [
    "Provides",
    "Required-Start",
    "Required-Stop",
    "Default-Start",
    "Default-Stop",
    "Short-Description",
    "Description",
];

/// Checks the LSB header block: present once, each line `# Key: value` with a known key.
pub fn check_lsb_header(text: &str) -> Result<(), String> {
    let lines: Vec<&str> = text.lines().collect();
    let begin = lines
        .iter()
        .position(|l| *l == "### BEGIN INIT INFO")
        .ok_or("no LSB header")?;
    let end = lines
        .iter()
        .position(|l| *l == "### END INIT INFO")
        .ok_or("no end of the LSB header")?;
    if end <= begin || text.matches("### BEGIN INIT INFO").count() != 1 {
        return Err("a broken LSB header".to_owned());
    }
    for line in &lines[begin + 1..end] {
        let Some((key, value)) = line.strip_prefix("# ").and_then(|l| l.split_once(':')) else {
            return Err(format!("not an LSB header line: {line:?}"));
        };
        if !LSB_KEYS.contains(&key) || key.is_empty() || value.trim().is_empty() {
            return Err(format!("unknown or empty LSB key: {line:?}"));
        }
    }
    Ok(())
}

impl Checks for Sysv {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let mut checked = 0;
        // (OpenRC's services share /etc/init.d.)
        let files: Vec<Installed> = files
            .iter()
            .filter(|f| !f.contents.starts_with(b"#!/sbin/openrc-run"))
            .cloned()
            .collect();
        for file in files.iter().filter(|f| self.is_init_script(&f.live)) {
            check_lsb_header(&String::from_utf8_lossy(&file.contents))
                .map_err(|e| format!("{}: {e}", file.live))?;
            checked += 1;
        }
        let scripts = scripts(&files);
        check_shell_scripts(&scripts)?;
        Ok(checked + scripts.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if self.is_init_script(path) && !contents.starts_with("#!/sbin/openrc-run") {
            check_lsb_header(contents)?;
        } else if std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e == "sh")
        {
            check_secret_mode(mode)?;
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        in_dir_with(self.helpers.as_str(), path, "sh").then_some(Secret::ShellHelper)
    }

    /// The init script runs as root; the wrapper and the helper start as the run user
    /// (start-stop-daemon --chuid).
    fn root_format(&self, path: &str) -> Option<RootFormat> {
        name_in(self.scripts.as_str(), path).map(|_| RootFormat::InitScript)
    }

    fn app_job_name(&self, full_name: &str) -> Option<String> {
        Some(full_name.to_owned())
    }
}

impl Sysv {
    fn is_init_script(&self, path: &str) -> bool {
        path.strip_prefix(self.scripts.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|r| !r.contains('/'))
    }
}
