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

pub fn parse(file: &str, text: &str) -> Result<Procfile> {
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, raw_line) in text.split('\n').enumerate() {
        let number = index + 1;
        // Tolerate CRLF line ends; a carriage return anywhere else is refused below.
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let Some((label, command)) = trimmed.split_once(':') else {
            return Err(Error::input(
                Location::at(file, number, indent + 1),
                format!("line {} is not a \"label: command\" entry", Quoted(trimmed)),
            ));
        };
        let label = label.trim_end();
        let name = Name::parse(label, "label")
            .map_err(|m| Error::input(Location::at(file, number, indent + 1), m))?;
        if let Some(first) = seen.insert(label.to_owned(), number) {
            return Err(Error::input(
                Location::line(file, number),
                format!("label {} is already defined on line {first}", Quoted(label)),
            ));
        }
        let after = &trimmed[trimmed.find(':').map_or(0, |c| c + 1)..];
        let command_column =
            indent + (trimmed.len() - after.len()) + (after.len() - after.trim_start().len()) + 1;
        let command = Command::parse(command, label)
            .map_err(|m| Error::input(Location::at(file, number, command_column), m))?;
        entries.push(Entry {
            label: name,
            line: number,
            command,
            layer: Layer::default(),
            count: None,
            count_line: None,
        });
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
            ("web: a\nweb-1: b\n", "Procfile:2:1: label \"web-1\" may only contain ASCII letters, digits and \"_\", not \"-\" (\"-\" separates the parts of generated names)"),
            ("web: a\n{%- if x %}\n", "Procfile:2:1: line \"{%- if x %}\" is not a \"label: command\" entry"),
            ("web: a\nweb: b\n", "Procfile:2: label \"web\" is already defined on line 1"),
            (": nokey\n", "Procfile:1:1: label is empty"),
            ("web:\n", "Procfile:1:5: label \"web\" has no command"),
            ("web: a\rb\n", "Procfile:1:6: command \"a\\rb\" contains the control character \"\\r\""),
            ("# only comments\n", "Procfile: no process entries found"),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text), expected, "{text:?}");
        }
    }
}
