//! The drop-in for funbox's init-exporter: procexport installed as (or linked to)
//! `init-exporter` reads that tool's command line, `init-exporter -p Procfile -f systemd APP`
//! to export and `init-exporter -u -f systemd APP` (or `-c`) to uninstall, and its config
//! `/etc/init-exporter.conf` for directories and defaults. As for the gem (`cli/gem.rs`), the
//! line is only rewritten into procexport's own (`systemd -p .. -n ..`, `clean -n ..
//! --backend systemd`), and who may do what comes from `/etc/procexport.yaml` only: a policy
//! key in init-exporter's file is an error, never a grant.

use crate::error::{Error, Location, Result};
use crate::sanitize::Quoted;
use std::ffi::OsString;
use std::path::Path;

/// The name init-exporter's executable has.
pub const NAME: &str = "init-exporter";

/// init-exporter's config file.
pub const CONFIG_PATH: &str = "/etc/init-exporter.conf";

/// True when the program was started under init-exporter's name.
pub fn invoked_as_init_exporter(program: &OsString) -> bool {
    Path::new(program)
        .file_name()
        .is_some_and(|name| name == NAME)
}

/// procexport's command line for init-exporter's `args` (the first is the program name).
/// procexport's own flags (`--config`, `--root`, `--dry-run`) pass through, and anything
/// init-exporter does not know is passed on for clap to name.
pub fn translate(args: Vec<OsString>) -> Result<Vec<OsString>> {
    let mut iter = args.into_iter();
    let program = iter.next().unwrap_or_else(|| NAME.into());
    let mut uninstall = false;
    let mut format = None;
    let mut procfile = None;
    let mut app = None;
    let mut globals = Vec::new();
    let mut rest = Vec::new();
    while let Some(arg) = iter.next() {
        match arg.to_str() {
            Some("-u" | "--uninstall" | "-c" | "--clear") => uninstall = true,
            Some("-f" | "--format") => format = Some(value(&mut iter, "-f")?),
            Some("-p" | "--procfile") => procfile = Some(value(&mut iter, "-p")?),
            Some("-n" | "--appname") => app = Some(value(&mut iter, "-n")?),
            // A dry start parses and checks without exporting: procexport's dry run.
            Some("-d" | "--dry-start" | "--dry-run") => globals.push("--dry-run".into()),
            Some("-D" | "--disable-validation") => crate::error::warn(
                "init-exporter's -D changes nothing here: procexport checks every Procfile",
            ),
            // procexport prints no colours.
            Some("-nc" | "--no-color") => {}
            Some("-v" | "--version") => return Ok(vec![program, "--version".into()]),
            Some("-h" | "--help") => return Ok(vec![program, "--help".into()]),
            Some("--config" | "--root") => {
                globals.push(arg);
                globals.extend(iter.next());
            }
            Some(flag) if flag.starts_with("--config=") || flag.starts_with("--root=") => {
                globals.push(arg);
            }
            Some(text) if !text.starts_with('-') && app.is_none() => app = Some(arg),
            _ => rest.push(arg),
        }
    }
    let format = match format.as_ref().map(|f| f.to_str()) {
        None => None,
        Some(Some(f @ ("upstart" | "systemd"))) => Some(f.to_owned()),
        Some(_) => {
            return Err(Error::Usage(
                "init-exporter's -f takes upstart or systemd".to_owned(),
            ))
        }
    };
    let app = app.ok_or_else(|| {
        Error::Usage(
            "init-exporter needs the app's name: init-exporter -p Procfile -f systemd APP"
                .to_owned(),
        )
    })?;
    let mut line = vec![program];
    line.extend(globals);
    if uninstall {
        line.extend(["clean".into(), "-n".into(), app]);
        if let Some(format) = format {
            line.extend(["--backend".into(), format.into()]);
        }
    } else {
        let format = format.ok_or_else(|| {
            Error::Usage(
                "init-exporter without -f: write -f systemd or -f upstart (procexport does not \
                 guess the init from the programs it finds)"
                    .to_owned(),
            )
        })?;
        line.push(format.into());
        if let Some(procfile) = procfile {
            line.extend(["-p".into(), procfile]);
        }
        line.extend(["-n".into(), app]);
    }
    line.extend(rest);
    Ok(line)
}

fn value(iter: &mut impl Iterator<Item = OsString>, flag: &str) -> Result<OsString> {
    iter.next()
        .ok_or_else(|| Error::Usage(format!("init-exporter's {flag} needs a value")))
}

/// The keys of init-exporter's config procexport reads (`section:key` -> procexport's key).
const MAPPED: &[(&str, &str)] = &[
    ("main:run-user", "run_user"),
    ("main:run-group", "run_group"),
    ("main:prefix", "prefix"),
    ("paths:helper-dir", "helper_dir"),
    ("paths:systemd-dir", "systemd_dir"),
    ("paths:upstart-dir", "upstart_dir"),
    ("defaults:kill-timeout", "kill_timeout"),
];

/// The keys of init-exporter's config that procexport accepts and does not read: its own
/// log, its Procfile versions, the working directory of v1 Procfiles (procexport runs jobs
/// in the Procfile's directory, or a v2 Procfile's `working_directory`), and the default
/// limits (a Procfile's `limits:` are bounded by `policy.max_limits` in procexport's config).
const UNREAD: &[&str] = &[
    "procfile:version1",
    "procfile:version2",
    "paths:working-dir",
    "defaults:nproc",
    "defaults:nofile",
    "log:enabled",
    "log:dir",
    "log:file",
    "log:perms",
    "log:level",
];

/// init-exporter's config `text` (its KNF format: `[section]` lines, then `key: value`
/// lines, `#` comments) as procexport's YAML, each key on the line it has in `text`, so that
/// the YAML parser's errors name the right line of `CONFIG_PATH`. A key that sets who may do
/// what (`crate::model::config::POLICY_KEYS`) is refused; so is any key init-exporter does
/// not have.
pub fn config_yaml(text: &str) -> Result<String> {
    let mut section = String::new();
    let mut lines: Vec<String> = Vec::new();
    // `defaults:respawn*`: one `respawn:` on the last of their lines.
    let mut respawn: (Option<bool>, Option<String>, Option<String>) = (None, None, None);
    let mut respawn_line = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let at = |message: String| Error::input(Location::line(CONFIG_PATH, number), message);
        let line = raw.trim();
        lines.push(String::new());
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            name.trim().clone_into(&mut section);
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(at(format!(
                "{} is neither a [section] nor a key: value line",
                Quoted(line)
            )));
        };
        let (key, value) = (key.trim(), value.trim());
        let full = format!("{section}:{key}");
        if let Some(refusal) = policy_refusal(&section, key) {
            return Err(at(refusal));
        }
        match full.as_str() {
            "defaults:respawn" => {
                respawn.0 = Some(boolean(value).ok_or_else(|| {
                    at(format!("respawn is true or false, not {}", Quoted(value)))
                })?);
                respawn_line = Some(index);
            }
            "defaults:respawn-count" => {
                respawn.1 = Some(whole(value).ok_or_else(|| at(not_whole(key, value)))?);
                respawn_line = Some(index);
            }
            "defaults:respawn-interval" => {
                respawn.2 = Some(whole(value).ok_or_else(|| at(not_whole(key, value)))?);
                respawn_line = Some(index);
            }
            "defaults:kill-timeout" => {
                let seconds = whole(value).ok_or_else(|| at(not_whole(key, value)))?;
                // 0 is init-exporter's "no timeout": procexport's default then.
                if seconds != "0" {
                    lines[index] = format!("kill_timeout: {seconds}");
                }
            }
            _ => {
                if let Some((_, ours)) = MAPPED.iter().find(|(theirs, _)| *theirs == full) {
                    lines[index] = format!("{ours}: {}", quoted(value).map_err(at)?);
                } else if !UNREAD.contains(&full.as_str()) {
                    return Err(at(format!(
                        "{} is not a key of init-exporter's config",
                        Quoted(&full)
                    )));
                }
            }
        }
    }
    if let Some(index) = respawn_line {
        lines[index] = respawn_yaml(respawn);
    }
    let mut yaml = lines.join("\n");
    yaml.push('\n');
    Ok(yaml)
}

/// Why `key` of `section` may not be set in init-exporter's config: it says who may do what
/// (`crate::model::config::POLICY_KEYS`), which only the root config does.
fn policy_refusal(section: &str, key: &str) -> Option<String> {
    let policy = crate::model::config::POLICY_KEYS
        .iter()
        .find(|p| key.replace('-', "_") == **p || section.replace('-', "_") == **p)?;
    Some(format!(
        "{policy} may only be set in {}: init-exporter's config gives directories and \
         defaults, never who may do what; move {policy} to {}",
        crate::model::config::MAIN_PATH,
        crate::model::config::MAIN_PATH
    ))
}

/// The `respawn:` line for init-exporter's `respawn`, `respawn-count` and `respawn-interval`.
fn respawn_yaml(respawn: (Option<bool>, Option<String>, Option<String>)) -> String {
    match respawn {
        (Some(false), _, _) => "respawn: false".to_owned(),
        (_, Some(count), Some(interval)) => {
            format!("respawn: {{count: {count}, interval: {interval}}}")
        }
        _ => "respawn: true".to_owned(),
    }
}

fn boolean(value: &str) -> Option<bool> {
    match value {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

fn whole(value: &str) -> Option<String> {
    (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())).then(|| value.to_owned())
}

fn not_whole(key: &str, value: &str) -> String {
    format!(
        "{key} is a whole number of seconds or times, not {}",
        Quoted(value)
    )
}

/// `value` as a YAML double-quoted string.
fn quoted(value: &str) -> std::result::Result<String, String> {
    if value.chars().any(char::is_control) {
        return Err(format!("{} holds a control character", Quoted(value)));
    }
    Ok(format!(
        "\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> Vec<String> {
        translate(args.iter().map(OsString::from).collect())
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    fn refused(args: &[&str]) -> String {
        translate(args.iter().map(OsString::from).collect())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn init_exporters_command_line_becomes_procexports() {
        assert_eq!(
            line(&[
                "/usr/sbin/init-exporter",
                "-p",
                "./P",
                "-f",
                "systemd",
                "myapp"
            ]),
            [
                "/usr/sbin/init-exporter",
                "systemd",
                "-p",
                "./P",
                "-n",
                "myapp"
            ]
        );
        assert_eq!(
            line(&["init-exporter", "-u", "-f", "upstart", "myapp"]),
            [
                "init-exporter",
                "clean",
                "-n",
                "myapp",
                "--backend",
                "upstart"
            ]
        );
        assert_eq!(
            line(&["init-exporter", "--clear", "-n", "myapp"]),
            ["init-exporter", "clean", "-n", "myapp"]
        );
        assert_eq!(
            line(&[
                "init-exporter",
                "--config",
                "/c.yaml",
                "--root",
                "/r",
                "-d",
                "-nc",
                "-f",
                "systemd",
                "-p",
                "P",
                "a"
            ]),
            [
                "init-exporter",
                "--config",
                "/c.yaml",
                "--root",
                "/r",
                "--dry-run",
                "systemd",
                "-p",
                "P",
                "-n",
                "a"
            ]
        );
        assert_eq!(
            line(&["init-exporter", "-v"]),
            ["init-exporter", "--version"]
        );
        assert!(refused(&["init-exporter", "-p", "P", "a"]).contains("-f systemd"));
        assert!(refused(&["init-exporter", "-f", "runit", "a"]).contains("upstart or systemd"));
        assert!(refused(&["init-exporter", "-f", "systemd"]).contains("app's name"));
        assert!(invoked_as_init_exporter(&"/usr/sbin/init-exporter".into()));
        assert!(!invoked_as_init_exporter(&"/usr/bin/procexport".into()));
    }

    #[test]
    fn init_exporters_config_gives_directories_and_defaults_on_their_lines() {
        let knf = "# init-exporter\n[main]\n  run-user: web\n  run-group: web\n  prefix: fb-\n\
            [paths]\n  working-dir: /tmp\n  helper-dir: /var/local/init-exporter/helpers\n\
            systemd-dir: /etc/systemd/system\n[defaults]\n  nofile: 10240\n  respawn: true\n\
            respawn-count: 10\n  respawn-interval: 15\n  kill-timeout: 60\n[log]\n  level: info\n";
        let yaml = config_yaml(knf).unwrap();
        let lines: Vec<&str> = yaml.lines().collect();
        assert_eq!(lines[2], "run_user: \"web\"");
        assert_eq!(lines[7], "helper_dir: \"/var/local/init-exporter/helpers\"");
        assert_eq!(lines[13], "respawn: {count: 10, interval: 15}");
        assert_eq!(lines[14], "kill_timeout: 60");
        assert_eq!(lines.len(), knf.lines().count());
        // Who may do what is never init-exporter's to say.
        let error = config_yaml("[main]\n  allow_unlisted_apps: true\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("/etc/init-exporter.conf:2"), "{error}");
        assert!(
            error.contains("may only be set in /etc/procexport.yaml"),
            "{error}"
        );
        assert!(config_yaml("[apps]\n  shop: x\n").is_err());
        let error = config_yaml("[main]\n  run-usr: web\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"main:run-usr\" is not a key"), "{error}");
    }
}
