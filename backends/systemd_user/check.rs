//! systemd-user's checks of its own files, for the tests: every unit through `systemd-analyze
//! verify --user` and read back by the tests' systemd parser, every environment file parsed
//! the way systemd reads it; and the rules a rendered file keeps.

use super::SystemdUser;
use crate::backends::systemd::syntax;
use crate::backends::check_rules::in_dir_with;
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file};
use std::path::Path;
use std::process::Command;

/// `systemd-analyze verify --user` on units (by path), with `search_path` in front of the user
/// unit path; any line it prints fails the check, as for system units.
pub fn systemd_verify_user<P: AsRef<Path>>(paths: &[P], search_path: &Path) -> Result<(), String> {
    // A user manager's runtime directory, which verify --user needs to exist.
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let runtime = std::env::temp_dir().join(format!("procexport-verify-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&runtime).map_err(|e| format!("a runtime directory: {e}"))?;
    let output = Command::new("systemd-analyze")
        .args(["verify", "--user", "--recursive-errors=no", "--man=no", "--no-pager"])
        .args(paths.iter().map(AsRef::as_ref))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SYSTEMD_UNIT_PATH", format!("{}:", search_path.display()))
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .map_err(|e| format!("systemd-analyze could not be run ({e}); .ci/run installs systemd"))?;
    let _ = std::fs::remove_dir_all(&runtime);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        let texts: Vec<String> = paths
            .iter()
            .map(|p| {
                let p = p.as_ref();
                format!("--- {}:\n{}", p.display(), std::fs::read_to_string(p).unwrap_or_default())
            })
            .collect();
        Err(format!(
            "systemd-analyze verify --user: exit {}:\n{said}\n{}",
            output.status,
            texts.join("")
        ))
    }
}

impl Checks for SystemdUser {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let mut units = Vec::new();
        let mut search_path = None;
        let mut checked = 0;
        for file in files {
            let text = String::from_utf8_lossy(&file.contents);
            if self.is_unit(&file.live) {
                syntax::parse_unit(&text).map_err(|e| format!("{}: {e}", file.live))?;
                search_path = file.host.parent().map(Path::to_path_buf);
                units.push(file.host.clone());
            } else if in_dir(&file.live, self.env_files.as_str()) {
                syntax::parse_env_file(&text).map_err(|e| format!("{}: {e}", file.live))?;
                checked += 1;
            }
        }
        if let Some(search_path) = search_path {
            systemd_verify_user(&units, &search_path)?;
        }
        Ok(checked + units.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if in_dir(path, self.env_files.as_str()) {
            syntax::parse_env_file(contents)?;
            check_secret_mode(mode)?;
        } else if self.is_unit(path) {
            let unit = syntax::parse_unit(contents)?;
            if !unit.values("Service", "User").is_empty() {
                return Err("a user unit with User=".to_owned());
            }
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        in_dir_with(self.env_files.as_str(), path, "env").then_some(Secret::EnvFile)
    }

    fn is_process_file(&self, path: &str) -> bool {
        in_dir_with(self.units.as_str(), path, "service")
    }

    /// The user's own manager runs every line of a user unit as that user: none as root.
    fn root_format(&self, _path: &str) -> Option<RootFormat> {
        None
    }

    fn app_job_name(&self, full_name: &str) -> Option<String> {
        Some(format!("{full_name}.target"))
    }

    fn process_name(&self, full_name: &str, job: &str) -> String {
        format!("{full_name}-{job}.service")
    }
}

impl SystemdUser {
    fn is_unit(&self, path: &str) -> bool {
        path.strip_prefix(self.units.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|name| {
                let ext = Path::new(name).extension();
                !name.contains('/') && ext.is_some_and(|e| e == "service" || e == "target")
            })
    }
}

fn in_dir(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}
