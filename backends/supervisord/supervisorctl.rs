//! `supervisorctl reread` and `update`, so that a running supervisord applies what an export
//! or clean changed. Run by absolute path, with an empty environment and no input.

use crate::error::{Error, Result};
use crate::sanitize::Quoted;
use std::process::{Command, Stdio};

/// Where Debian's `supervisor` package puts supervisorctl.
const SUPERVISORCTL: &str = "/usr/bin/supervisorctl";

fn run(conf: &str, args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new(SUPERVISORCTL)
        .arg("-c")
        .arg(conf)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .output()
}

/// Applies the change when supervisord runs; says so and succeeds when it does not (or is not
/// installed): the files are in place and supervisord reads them when it starts.
pub fn update(conf: &str) -> Result<()> {
    if !std::path::Path::new(SUPERVISORCTL).exists() || !std::path::Path::new(conf).exists() {
        eprintln!(
            "procexport: did not run supervisorctl update: supervisord is not installed here \
             (no {SUPERVISORCTL} or {})",
            Quoted(conf)
        );
        return Ok(());
    }
    // `pid` succeeds only when supervisord answers on the config's socket.
    let running = run(conf, &["pid"]).is_ok_and(|o| o.status.success());
    if !running {
        eprintln!(
            "procexport: did not run supervisorctl update: supervisord is not running; it reads \
             the files when it starts"
        );
        return Ok(());
    }
    for args in [&["reread"][..], &["update"][..]] {
        let output = run(conf, args).map_err(|e| {
            Error::io(
                format!("the files are installed, but running {SUPERVISORCTL} {args:?} failed"),
                e,
            )
        })?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if !output.status.success() || said.contains("ERROR") {
            return Err(Error::Failed(format!(
                "the files are installed, but {SUPERVISORCTL} {} failed ({}): {}; run it by hand",
                args.join(" "),
                output.status,
                Quoted(said.trim())
            )));
        }
    }
    Ok(())
}
