//! The drop-in for the upstart-exporter gem: procexport installed as (or linked to)
//! `upstart-export` reads the gem's command line, `upstart-export -p Procfile -n app` to export
//! and `upstart-export -c -n app` to clean, and prefers the gem's config file, so scripts and
//! sudo rules written for the gem keep working, with procexport's checks. The gem's line is
//! only rewritten into procexport's (`upstart -p .. -n ..`, `clean -n .. --backend upstart`):
//! nothing the program name selects grants anything procexport's own flags would not.

use std::ffi::OsString;
use std::path::Path;

/// The name the gem's executable has.
pub const GEM_NAME: &str = "upstart-export";

/// True when the program was started under the gem's name.
pub fn invoked_as_gem(program: &OsString) -> bool {
    Path::new(program)
        .file_name()
        .is_some_and(|name| name == GEM_NAME)
}

/// procexport's command line for the gem's `args` (the first is the program name). Flags
/// the gem does not know are passed on, so clap names them.
pub fn translate(args: Vec<OsString>) -> Vec<OsString> {
    let mut iter = args.into_iter();
    let program = iter.next().unwrap_or_else(|| GEM_NAME.into());
    let mut clean = false;
    let mut globals = Vec::new();
    let mut rest = Vec::new();
    while let Some(arg) = iter.next() {
        match arg.to_str() {
            Some("-c" | "--clear" | "--clean") => clean = true,
            Some("-n" | "--app-name" | "--app") => {
                rest.push(OsString::from("-n"));
                rest.extend(iter.next());
            }
            Some("-p" | "--procfile") => {
                rest.push(OsString::from("-p"));
                rest.extend(iter.next());
            }
            Some("--dry-run") => globals.push(arg),
            _ => rest.push(arg),
        }
    }
    let mut line = vec![program];
    line.extend(globals);
    if clean {
        line.push("clean".into());
        // The gem's clean takes no Procfile; a `-p` given anyway is dropped.
        let mut args = rest.into_iter();
        while let Some(arg) = args.next() {
            if arg == "-p" {
                args.next();
            } else {
                line.push(arg);
            }
        }
        line.extend(["--backend".into(), "upstart".into()]);
    } else {
        line.push("upstart".into());
        line.extend(rest);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> Vec<String> {
        translate(args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_gems_command_line_becomes_procexports() {
        assert_eq!(
            line(&[
                "/usr/local/bin/upstart-export",
                "-p",
                "/srv/a/Procfile",
                "-n",
                "a"
            ]),
            [
                "/usr/local/bin/upstart-export",
                "upstart",
                "-p",
                "/srv/a/Procfile",
                "-n",
                "a"
            ]
        );
        assert_eq!(
            line(&["upstart-export", "-c", "-n", "a"]),
            ["upstart-export", "clean", "-n", "a", "--backend", "upstart"]
        );
        assert_eq!(
            line(&["upstart-export", "--app-name", "a", "--clear", "-p", "P"]),
            ["upstart-export", "clean", "-n", "a", "--backend", "upstart"]
        );
        assert_eq!(
            line(&["upstart-export", "-n", "a", "--dry-run"]),
            ["upstart-export", "--dry-run", "upstart", "-n", "a"]
        );
        assert!(invoked_as_gem(&"/usr/bin/upstart-export".into()));
        assert!(!invoked_as_gem(&"/usr/bin/procexport".into()));
    }
}
