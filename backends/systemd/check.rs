//! systemd's checks of its own files, for the tests: every unit through `systemd-analyze
//! verify` and read back by the tests' own systemd parser (`syntax`), every environment file
//! parsed the way systemd reads it; and the rules a rendered file keeps.

use super::{syntax, Systemd};
use crate::backends::check_rules::in_dir_with;
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file};
use std::fs;
use std::path::Path;
use std::process::Command;

impl Checks for Systemd {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let mut units = Vec::new();
        let mut search_path = None;
        let mut checked = 0;
        for file in files {
            if self.is_unit(&file.live) {
                search_path = file.host.parent().map(Path::to_path_buf);
                units.push(file.host.clone());
            } else if in_dir(&file.live, self.env_files.as_str()) {
                let text = String::from_utf8_lossy(&file.contents);
                syntax::parse_env_file(&text).map_err(|problem| {
                    format!(
                        "{} is not a valid environment file: {problem}\n--- file:\n{text}",
                        file.live
                    )
                })?;
                checked += 1;
            }
        }
        if let Some(search_path) = search_path {
            check_systemd_units(&units, &search_path)?;
        }
        Ok(checked + units.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if in_dir(path, self.env_files.as_str()) {
            syntax::parse_env_file(contents)?;
            check_secret_mode(mode)?;
        } else if self.is_unit(path) {
            syntax::parse_unit(contents)?;
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        in_dir_with(self.env_files.as_str(), path, "env").then_some(Secret::EnvFile)
    }

    fn is_process_file(&self, path: &str) -> bool {
        in_dir_with(self.units.as_str(), path, "service")
    }

    fn root_format(&self, path: &str) -> Option<RootFormat> {
        self.is_process_file(path).then_some(RootFormat::SystemdUnit)
    }

    fn app_job_name(&self, full_name: &str) -> Option<String> {
        Some(format!("{full_name}.target"))
    }

    fn process_name(&self, full_name: &str, job: &str) -> String {
        format!("{full_name}-{job}.service")
    }
}

impl Systemd {
    /// A unit directly in the unit directory (not a `.wants/` link).
    fn is_unit(&self, path: &str) -> bool {
        path.strip_prefix(self.units.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|name| {
                !name.contains('/')
                    && (name.ends_with(".service") || name.ends_with(".target"))
            })
    }
}

fn in_dir(path: &str, dir: &str) -> bool {
    path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// Lines `systemd-analyze verify` may print about a unit procexport wrote that are not a
/// problem with it. None so far: every line it prints fails the check.
const EXPLAINED_VERIFY_LINES: &[&str] = &[];

/// Runs `systemd-analyze verify` on units (given by path: a bare name would be looked up as a
/// unit name), with `search_path` (where their sibling units are) in front of systemd's own
/// unit path. `--recursive-errors=no` makes it exit non-zero on a
/// warning about this unit (unknown keys, bad values, bad quoting only warn otherwise); the
/// warnings that do not change its exit status (`User=nobody`, ...) are caught by failing on
/// any line it prints. Returns what it said when it did not pass.
pub fn systemd_verify<P: AsRef<Path>>(paths: &[P], search_path: &Path) -> Result<(), String> {
    assert!(paths.iter().all(|p| p.as_ref().is_absolute()));
    let output = Command::new("systemd-analyze")
        .args(["verify", "--recursive-errors=no", "--man=no", "--no-pager"])
        .args(paths.iter().map(AsRef::as_ref))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("SYSTEMD_UNIT_PATH", format!("{}:", search_path.display()))
        .output()
        .map_err(|e| format!("systemd-analyze could not be run ({e}); .ci/run installs systemd"))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let unexplained: Vec<&str> = said
        .lines()
        .filter(|l| !EXPLAINED_VERIFY_LINES.iter().any(|e| l.contains(e)))
        .collect();
    if output.status.success() && unexplained.is_empty() {
        Ok(())
    } else {
        Err(format!("exit {}:\n{said}", output.status))
    }
}

/// Checks a generated unit with `systemd-analyze verify`, then reads it back with the test's
/// own systemd parser: every command line unquotes and runs without a variable expanded, the
/// shell code given to `sh -c` passes `sh -n`, and every unit a target wants exists.
pub fn check_systemd_unit(path: &Path, search_path: &Path) -> Result<(), String> {
    check_systemd_units(&[path], search_path)
}

/// `check_systemd_unit` for several units, with one run of `systemd-analyze` for all of them.
pub fn check_systemd_units<P: AsRef<Path>>(paths: &[P], search_path: &Path) -> Result<(), String> {
    if let Err(said) = systemd_verify(paths, search_path) {
        let units: Vec<String> = paths
            .iter()
            .map(|p| {
                let p = p.as_ref();
                format!("--- {}:\n{}", p.display(), fs::read_to_string(p).unwrap())
            })
            .collect();
        return Err(format!(
            "systemd-analyze verify failed: {said}\n{}",
            units.join("")
        ));
    }
    for path in paths {
        read_back_systemd_unit(path.as_ref(), search_path)?;
    }
    Ok(())
}

fn read_back_systemd_unit(path: &Path, search_path: &Path) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let unit = syntax::parse_unit(&text)
        .map_err(|e| format!("{}: {e}\n--- unit:\n{text}", path.display()))?;
    for (section, key) in unit.keys() {
        if !key.starts_with("Exec") {
            continue;
        }
        for raw in unit.values(&section, &key) {
            let argv = syntax::parse_exec(raw)
                .and_then(|c| c.run_time_argv())
                .map_err(|e| format!("{}: {key}: {e}", path.display()))?;
            if let [sh, flag, script] = &argv[..] {
                if sh == "/bin/sh" && flag == "-c" {
                    let output = Command::new("sh")
                        .args(["-n", "-c", script])
                        .output()
                        .map_err(|e| format!("sh could not be run: {e}"))?;
                    if !output.status.success() {
                        return Err(format!(
                            "{}: sh -n of {script:?}: {}",
                            path.display(),
                            String::from_utf8_lossy(&output.stderr)
                        ));
                    }
                }
            }
        }
    }
    // The app's target wants its services; a service's own `Wants=` are its `depends`, units
    // of the system's that the admin's policy allowed.
    let is_target = path.extension().is_some_and(|e| e == "target");
    for wanted in unit.values("Unit", "Wants").into_iter().filter(|_| is_target) {
        if !search_path.join(wanted).is_file() {
            return Err(format!(
                "{}: wants {wanted}, which was not generated",
                path.display()
            ));
        }
    }
    Ok(())
}
