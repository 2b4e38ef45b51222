//! Procfile v1: `label: command` lines. Blank lines and `#` comments are skipped; every other
//! line must be an entry, so no line is ever dropped silently. The command is everything after
//! the first `:`, as written.

use super::entry::{Entry, Procfile};
use crate::error::{Error, Location, Result};
use crate::model::command::Command;
use crate::model::layer::Layer;
use crate::model::name::Name;
use crate::sanitize::Quoted;
use std::collections::HashMap;

/// The Procfile `file` with text `text`: one entry a line (`parse_line`), at least one.
pub fn parse(file: &str, text: &str) -> Result<Procfile> {
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let lines: Vec<&str> = text.split('\n').collect();
    for index in 0..lines.len() {
        if let Some(entry) = parse_line(file, &lines, index, &mut seen)? {
            entries.push(entry);
        }
    }
    if entries.is_empty() {
        return Err(Error::input(
            Location::file(file),
            "no process entries found",
        ));
    }
    Ok(Procfile {
        entries,
        ..Procfile::default()
    })
}

/// One line of a Procfile: where it is, and its text without the indentation.
struct Line<'a> {
    file: &'a str,
    number: usize,
    indent: usize,
    trimmed: &'a str,
}

/// Line `index` of `lines` as an entry; `None` for a blank line or a comment. `seen` holds
/// each label given so far, with its line.
fn parse_line(
    file: &str,
    lines: &[&str],
    index: usize,
    seen: &mut HashMap<String, usize>,
) -> Result<Option<Entry>> {
    let number = index + 1;
    let raw_line = lines[index];
    // Tolerate CRLF line ends; a carriage return anywhere else is refused below.
    let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let indent = line.len() - line.trim_start().len();
    let Some((label, command)) = trimmed.split_once(':') else {
        return Err(Error::input(
            Location::at(file, number, indent + 1),
            format!(
                "line {} is not a \"label: command\" entry: write it as \"label: command\", or put \"#\" in front of it to make it a comment (a template or a merge conflict must be resolved first)",
                Quoted(trimmed)
            ),
        ));
    };
    let label = label.trim_end();
    let at = Line {
        file,
        number,
        indent,
        trimmed,
    };
    refuse_non_entry(&at, label, command, &lines[index + 1..], seen.is_empty())?;
    let name = Name::parse(label, "label")
        .map_err(|m| Error::input(Location::at(file, number, indent + 1), m))?;
    if let Some(first) = seen.insert(label.to_owned(), number) {
        return Err(Error::input(
            Location::line(file, number),
            format!(
                "label {} is already defined on line {first}: rename one of them, or remove the one not wanted",
                Quoted(label)
            ),
        ));
    }
    let after = &trimmed[trimmed.find(':').map_or(0, |c| c + 1)..];
    let command_column =
        indent + (trimmed.len() - after.len()) + (after.len() - after.trim_start().len()) + 1;
    let command = Command::parse(command, label)
        .map_err(|m| Error::input(Location::at(file, number, command_column), m))?;
    Ok(Some(Entry {
        label: name,
        line: number,
        command,
        layer: Layer::default(),
        count: None,
        count_line: None,
        port: None,
        once: false,
        limits_line: None,
    }))
}

/// Refuses a line split at its `:` into `label` and `command` that is no entry: a version line
/// before the `first` entry, the key of a YAML mapping (`rest` are the lines after it), a line
/// continued with `\`, an empty label.
fn refuse_non_entry(
    line: &Line,
    label: &str,
    command: &str,
    rest: &[&str],
    first: bool,
) -> Result<()> {
    let Line {
        file,
        number,
        indent,
        trimmed,
    } = *line;
    if first && label == "version" {
        return Err(Error::input(
            Location::line(file, number),
            format!(
                "version {} is not a Procfile version procexport reads: write \"version: 2\" for the YAML format, or remove the line for a v1 Procfile",
                Quoted(command.trim())
            ),
        ));
    }
    if command.trim().is_empty() && looks_like_yaml(label, rest) {
        return Err(Error::input(
            Location::line(file, number),
            format!(
                "{} starts a YAML mapping: a v2 (YAML) Procfile needs \"version: 2\" as its first line; a v1 Procfile has one \"label: command\" a line",
                Quoted(label)
            ),
        ));
    }
    if trimmed.ends_with('\\') {
        return Err(Error::input(
            Location::line(file, number),
            "the line ends with \"\\\": a v1 Procfile entry cannot continue on the next line; join the lines into one (or use a v2 Procfile with a YAML folded string, \"command: >-\")",
        ));
    }
    if label.is_empty() {
        return Err(Error::input(
            Location::at(file, number, indent + 1),
            "label is empty: write the process type's name before the \":\", such as \"web: ...\"",
        ));
    }
    Ok(())
}

/// True when `label:` with no command opens a YAML mapping: it is a v2 key, or the next line
/// that is not blank or a comment is indented.
fn looks_like_yaml(label: &str, rest: &[&str]) -> bool {
    const V2_KEYS: [&str; 4] = ["commands", "env", "respawn", "version"];
    V2_KEYS.contains(&label)
        || rest
            .iter()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .is_some_and(|l| l.starts_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse("Procfile", text).unwrap_err().to_string()
    }

    #[test]
    fn parses_entries_skipping_comments_and_blank_lines() {
        let procfile = parse("P", "\n# c\nweb:  bundle exec puma \r\nworker: a: b\n").unwrap();
        let got: Vec<_> = procfile
            .entries
            .iter()
            .map(|e| (e.label.as_str(), e.command.as_str(), e.line))
            .collect();
        assert_eq!(got, [("web", "bundle exec puma", 3), ("worker", "a: b", 4)]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases = [
            ("web: a\nweb.1: b\n", "Procfile:2:1: label \"web.1\" may only contain ASCII letters, digits, \"_\" and \"-\", not \".\""),
            ("version: 3\nweb: a\n", "Procfile:1: version \"3\" is not a Procfile version procexport reads: write \"version: 2\" for the YAML format, or remove the line for a v1 Procfile"),
            ("commands:\n  web:\n    command: a\n", "Procfile:1: \"commands\" starts a YAML mapping: a v2 (YAML) Procfile needs \"version: 2\" as its first line; a v1 Procfile has one \"label: command\" a line"),
            ("web: a \\\n  --port 1\n", "Procfile:1: the line ends with \"\\\": a v1 Procfile entry cannot continue on the next line; join the lines into one (or use a v2 Procfile with a YAML folded string, \"command: >-\")"),
            ("web: a\n{%- if x %}\n", "Procfile:2:1: line \"{%- if x %}\" is not a \"label: command\" entry: write it as \"label: command\", or put \"#\" in front of it to make it a comment (a template or a merge conflict must be resolved first)"),
            ("web: a\nweb: b\n", "Procfile:2: label \"web\" is already defined on line 1: rename one of them, or remove the one not wanted"),
            (": nokey\n", "Procfile:1:1: label is empty: write the process type's name before the \":\", such as \"web: ...\""),
            ("web:\n", "Procfile:1:5: label \"web\" has no command: write the command after the \":\", or remove the line"),
            ("web: a\rb\n", "Procfile:1:6: command \"a\\rb\" contains the control character \"\\r\""),
            ("# only comments\n", "Procfile: no process entries found"),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text), expected, "{text:?}");
        }
    }
}
