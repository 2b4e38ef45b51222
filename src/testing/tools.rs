//! The real checkers of shell scripts, run on generated files: `sh -n` (dash here) and
//! `shellcheck`. Shared by every backend's checks: all of them write POSIX shell.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `command`; (true when it exited 0, what it printed). A tool that cannot be run fails
/// the check: the tests never pass by skipping a checker.
pub fn run_tool(command: &mut Command, name: &str) -> Result<(bool, String), String> {
    let output = command
        .output()
        .map_err(|e| format!("{name} could not be run ({e}); .ci/run installs it"))?;
    Ok((
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    ))
}

/// Runs `sh -n` and `shellcheck` on one script.
pub fn check_shell_script(path: &Path) -> Result<(), String> {
    let (ok, said) = run_tool(Command::new("sh").arg("-n").arg(path), "sh")?;
    if !ok {
        return Err(format!("sh -n {}: {said}", path.display()));
    }
    let (ok, said) = run_tool(
        Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .arg(path),
        "shellcheck",
    )?;
    if !ok {
        return Err(format!(
            "shellcheck {}:\n{said}\n--- script:\n{}",
            path.display(),
            std::fs::read_to_string(path).unwrap_or_default()
        ));
    }
    Ok(())
}

/// Runs `sh -n` on each script and one `shellcheck` on all of them (the corpus makes thousands
/// of scripts, and one shellcheck per script dominated the run); when shellcheck complains,
/// the scripts are checked one by one to name the culprit with its text.
pub fn check_shell_scripts(paths: &[PathBuf]) -> Result<(), String> {
    if paths.is_empty() {
        return Ok(());
    }
    for path in paths {
        let (ok, said) = run_tool(Command::new("sh").arg("-n").arg(path), "sh")?;
        if !ok {
            return Err(format!("sh -n {}: {said}", path.display()));
        }
    }
    let (ok, said) = run_tool(
        Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .args(paths),
        "shellcheck",
    )?;
    if !ok {
        for path in paths {
            check_shell_script(path)?;
        }
        return Err(format!(
            "shellcheck failed on the scripts together, on none alone:\n{said}"
        ));
    }
    Ok(())
}

/// The scripts among `files` (by their `#!/bin/sh` line).
pub fn scripts(files: &[crate::backends::Installed]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| f.contents.starts_with(b"#!/bin/sh"))
        .map(|f| f.host.clone())
        .collect()
}
