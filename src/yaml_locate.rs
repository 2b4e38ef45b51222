//! serde_yaml reports where a syntax or type error is, but not where a value it accepted
//! sits. Errors found after parsing (a label with `-`, a count out of range) still need a line
//! number, so this finds the line of each key path in block-style YAML by its indentation,
//! in one pass over the text.

use std::collections::HashMap;

/// The line of every key path (first occurrence), e.g. `commands/web/count`.
pub struct KeyLines(HashMap<String, usize>);

impl KeyLines {
    pub fn index(text: &str) -> Self {
        let mut lines = HashMap::new();
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            let Some((key, _)) = trimmed.split_once(':') else {
                continue;
            };
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, key.to_owned()));
            let path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            lines.entry(path.join("\n")).or_insert(index + 1);
        }
        Self(lines)
    }

    /// The 1-based line of the key at `path` (e.g. `["commands", "web", "count"]`), if found.
    pub fn get(&self, path: &[&str]) -> Option<usize> {
        self.0.get(&path.join("\n")).copied()
    }
}

/// The line of one key path; for a single lookup (an error message).
pub fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    KeyLines::index(text).get(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_by_indentation() {
        let text =
            "version: 2\ncount: 1\ncommands:\n  web:\n    count: 3\n  \"bad-1\":\n    command: x\n";
        assert_eq!(key_line(text, &["commands", "web", "count"]), Some(5));
        assert_eq!(key_line(text, &["count"]), Some(2));
        assert_eq!(key_line(text, &["commands", "bad-1"]), Some(6));
        assert_eq!(key_line(text, &["commands", "nope"]), None);
    }
}
