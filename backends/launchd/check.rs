//! launchd's checks of its own files, for the tests: every property list read by a real plist
//! parser (Python's plistlib) and its structure checked against Apple's PropertyList-1.0 DTD
//! (the elements and nesting it allows, the keys launchd knows), every helper through `sh -n`
//! and shellcheck; and the rules a rendered file keeps.

use super::Launchd;
use crate::backends::check_rules::in_dir_with;
use crate::backends::{Checks, Installed, RootFormat, Secret};
use crate::backends::check_rules::{check_secret_mode, check_text_file};
use crate::backends::check_rules::{check_shell_scripts, run_tool, scripts};
use std::process::Command;

/// Reads each plist with plistlib, checks the DTD's structure (xml.dom: only the DTD's
/// elements, `dict` as key/value pairs) and prints each as JSON.
pub const PLIST_PY: &str = r#"
import json, plistlib, sys
from xml.dom import minidom
ELEMENTS = {"plist", "array", "dict", "key", "string", "data", "date", "true", "false", "real", "integer"}
def walk(node):
    for child in node.childNodes:
        if child.nodeType == child.ELEMENT_NODE:
            if child.tagName not in ELEMENTS:
                raise SystemExit("element %s is not in the plist DTD" % child.tagName)
            if child.tagName == "dict":
                tags = [c.tagName for c in child.childNodes if c.nodeType == c.ELEMENT_NODE]
                if any(t != "key" for t in tags[0::2]) or len(tags) % 2:
                    raise SystemExit("a dict that is not key/value pairs")
            walk(child)
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        raw = f.read()
    doc = minidom.parseString(raw)
    if doc.doctype is None or doc.doctype.publicId != "-//Apple//DTD PLIST 1.0//EN":
        raise SystemExit("%s: no Apple plist DOCTYPE" % path)
    walk(doc)
    print(json.dumps(plistlib.loads(raw)))
"#;

/// Parses plists with plistlib; one JSON line each.
pub fn parse_plists(paths: &[std::path::PathBuf]) -> Result<Vec<String>, String> {
    let (ok, said) = run_tool(
        Command::new("/usr/bin/python3").arg("-c").arg(PLIST_PY).args(paths),
        "python3",
    )?;
    if !ok {
        return Err(format!("the plist parser refused {paths:?}:\n{said}"));
    }
    Ok(said.lines().map(str::to_owned).collect())
}

impl Checks for Launchd {
    fn check_installed(&self, files: &[Installed]) -> Result<usize, String> {
        let plists: Vec<_> = files
            .iter()
            .filter(|f| {
                std::path::Path::new(&f.live)
                    .extension()
                    .is_some_and(|e| e == "plist")
            })
            .map(|f| f.host.clone())
            .collect();
        if !plists.is_empty() {
            parse_plists(&plists)?;
        }
        let scripts = scripts(files);
        check_shell_scripts(&scripts)?;
        Ok(plists.len() + scripts.len())
    }

    fn check_rendered(&self, path: &str, contents: &str, mode: u32) -> Result<(), String> {
        check_text_file(contents, mode)?;
        if std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e == "sh")
        {
            check_secret_mode(mode)?;
        } else if !contents.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") {
            return Err("a plist without its XML declaration".to_owned());
        }
        Ok(())
    }

    fn secret(&self, path: &str) -> Option<Secret> {
        in_dir_with(self.helpers.as_str(), path, "sh").then_some(Secret::ShellHelper)
    }

    fn root_format(&self, path: &str) -> Option<RootFormat> {
        in_dir_with(self.plists.as_str(), path, "plist").then_some(RootFormat::LaunchdPlist)
    }

    /// launchd has no app job: each process is a daemon of its own.
    fn app_job_name(&self, _full_name: &str) -> Option<String> {
        None
    }
}
