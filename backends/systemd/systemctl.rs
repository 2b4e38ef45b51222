//! The one place procexport runs another program: `systemctl daemon-reload`, so that a running
//! systemd reads the units an export or clean changed. It is run by its absolute path, with an
//! empty environment and no input, so nothing of the caller's environment can change what runs.

use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use std::process::{Command, Stdio};

/// Where systemctl is on every distribution with systemd (`/bin` is `/usr/bin` where they are
/// merged).
const SYSTEMCTL: &str = "/bin/systemctl";

/// Runs `systemctl daemon-reload`. The files are already in place when it runs, so a failure
/// says so: the change is installed, only the reload is left to do.
pub fn daemon_reload() -> Result<()> {
    let output = Command::new(SYSTEMCTL)
        .arg("daemon-reload")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::io(
                format!("the files are installed, but running {SYSTEMCTL} daemon-reload failed"),
                e,
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    Err(Error::Failed(format!(
        "the files are installed, but {SYSTEMCTL} daemon-reload failed ({}): {}; run it by hand",
        output.status,
        Quoted(said.trim())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::systemd::init::systemd_is_init;

    #[test]
    fn a_failed_reload_says_the_files_are_installed() {
        // Only where systemctl is installed but systemd is not PID 1 (CI): it then fails.
        if systemd_is_init() || !std::path::Path::new(SYSTEMCTL).exists() {
            return;
        }
        let message = daemon_reload().unwrap_err().to_string();
        assert!(
            message.starts_with(
                "the files are installed, but /bin/systemctl daemon-reload failed (exit status: "
            ) && message.ends_with("; run it by hand"),
            "{message}"
        );
    }
}
