//! Writes the objects as YAML documents that every YAML reader takes the same way.
//!
//! serde turns each object into a tree (`crate::yaml::to_tree`: no text is built by hand);
//! this module only lays that tree out in block style. It does not use serde_yaml's writer
//! because serde_yaml writes YAML 1.2, where `yes`, `on`, `n`, `1_000`, `12:30:00`, `=` or
//! `2001-12-14` are plain strings: it leaves them unquoted, and YAML 1.1 readers (kubectl's
//! go-yaml, PyYAML) read them back as booleans, numbers, dates or merge keys, so an env value
//! `yes` would reach the API server as `true`, or fail (`crate::yaml`'s test
//! `serde_yaml_writes_yaml_1_1_booleans_plain` shows it). Here a string is left plain only
//! when it can be nothing but that string in YAML 1.1 and 1.2 alike; every other one is
//! written double-quoted, with every character that is not printable in both versions (or
//! that YAML 1.1 treats as a line break: U+0085, U+2028, U+2029) escaped.

use crate::error::{Error, Result};
use crate::yaml::{to_tree, Tree};
use serde::Serialize;
use std::fmt::Write;

/// The YAML document (without the `---` that separates documents) of `value`.
pub fn document<T: Serialize>(value: &T) -> Result<String> {
    let tree = to_tree(value)
        .map_err(|e| Error::failed(format!("cannot write an object as YAML: {e}")))?;
    layout(&tree)
}

/// The document of `tree`, which must be a mapping that is not empty.
fn layout(tree: &Tree) -> Result<String> {
    let mut out = String::new();
    match tree {
        Tree::Mapping(map) if !map.is_empty() => mapping(&mut out, map, 0),
        other => {
            return Err(Error::failed(format!(
                "a document must be a mapping, not {other:?}"
            )))
        }
    }
    Ok(out)
}

/// Several documents, each introduced by `---`.
pub fn stream(documents: &[String]) -> String {
    documents
        .iter()
        .flat_map(|d| ["---\n", d.as_str()])
        .collect()
}

fn mapping(out: &mut String, map: &[(String, Tree)], indent: usize) {
    for (index, (key, value)) in map.iter().enumerate() {
        // The first key of a mapping inside a sequence follows its `- ` on the same line.
        if index > 0 || indent == 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str(&scalar(key));
        out.push(':');
        nested(out, value, indent);
    }
}

/// Writes what follows `key:` (or `-`): a scalar on the same line, or a block below it.
fn nested(out: &mut String, value: &Tree, indent: usize) {
    match value {
        Tree::Mapping(map) if !map.is_empty() => {
            out.push('\n');
            mapping(out, map, indent + 2);
        }
        Tree::Mapping(_) => out.push_str(" {}\n"),
        Tree::Sequence(items) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                pad(out, indent);
                out.push('-');
                match item {
                    Tree::Mapping(map) if !map.is_empty() => {
                        out.push(' ');
                        mapping(out, map, indent + 2);
                    }
                    other => nested(out, other, indent + 2),
                }
            }
        }
        Tree::Sequence(_) => out.push_str(" []\n"),
        Tree::String(text) => {
            out.push(' ');
            out.push_str(&scalar(text));
            out.push('\n');
        }
        Tree::Integer(number) => {
            let _ = writeln!(out, " {number}");
        }
        Tree::Bool(flag) => {
            let _ = writeln!(out, " {flag}");
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Words YAML 1.1 resolves to a boolean or null when they stand plain (go-yaml also takes
/// `y` and `n`), in any case.
const RESERVED_WORDS: [&str; 10] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan",
];

/// A string as a YAML scalar: plain when that is unambiguous, else double-quoted.
pub fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// True when `text` written plain reads back as this same string in YAML 1.1 and 1.2: it
/// starts with a letter, `_` or `/`, holds only ASCII letters, digits and `_ . / -`, and is no
/// reserved word. That rules out numbers, dates, times, `~`, `=`, `<<`, indicators (`*`, `&`,
/// `!`, `-`, `?`, `:`, `#`, ...), spaces and every character YAML treats specially.
fn is_plain_safe(text: &str) -> bool {
    let mut chars = text.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !RESERVED_WORDS
            .iter()
            .any(|word| text.eq_ignore_ascii_case(word))
}

/// A double-quoted scalar: `"` and `\` escaped, tab, newline and carriage return as `\t`,
/// `\n`, `\r`, and every character outside YAML 1.1's printable set, or that YAML 1.1 reads
/// as a line break or a byte order mark, as `\uXXXX` (or `\UXXXXXXXX`). Every other
/// character stands as it is.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) => out.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// YAML 1.1's printable characters (the narrower of the two versions' sets), less U+0085,
/// U+2028 and U+2029 (line breaks to YAML 1.1) and U+FEFF (a byte order mark).
fn is_printable(c: char) -> bool {
    matches!(u32::from(c),
        0x20..=0x7E | 0xA0..=0x2027 | 0x202A..=0xD7FF | 0xE000..=0xFEFE | 0xFF00..=0xFFFD | 0x1_0000..=0x10_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unambiguous_strings_stay_plain() {
        for plain in [
            "web",
            "apps/v1",
            "/srv/my-app",
            "app.kubernetes.io/name",
            "_x",
            "yesterday",
        ] {
            assert_eq!(scalar(plain), plain);
        }
        for word in [
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "true",
            "False",
            "null",
            "~",
            "",
            "=",
            "<<",
            "1_000",
            "12:30:00",
            "2001-12-14",
            "0777",
            "0x1F",
            ".inf",
            "-1",
            "1e3",
            "*a",
            "&a",
            "a: b",
            "---",
            "- x",
            "#c",
            "!x",
            "%x",
            "@x",
            "a b",
            "nan",
            "NaN",
            "?",
            "|",
            ">",
        ] {
            assert!(scalar(word).starts_with('"'), "{word:?} must be quoted");
        }
    }

    #[test]
    fn quoting_escapes_what_yaml_would_change() {
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted("l1\nl2\r\t"), r#""l1\nl2\r\t""#);
        assert_eq!(
            quoted("\u{1b}\u{7f}\u{85}\u{2028}\u{feff}\u{fffe}"),
            r#""\u001B\u007F\u0085\u2028\uFEFF\uFFFE""#
        );
        assert_eq!(quoted("ü € 𝄞"), "\"ü € 𝄞\"");
    }

    #[test]
    fn documents_read_back_as_the_tree_they_came_from() {
        let tree = crate::yaml::parse_tree(
            "a: {b: [1, {c: \"yes\", d: []}, \"x: y\"], e: {}, f: true}\ng: [[h]]\n",
        )
        .unwrap();
        let text = layout(&tree).unwrap();
        assert_eq!(crate::yaml::parse_tree(&text).unwrap(), tree, "{text}");
    }

    #[test]
    fn only_mappings_are_documents() {
        assert!(document(&["a"]).is_err());
        assert!(document(&std::collections::BTreeMap::<String, String>::new()).is_err());
        assert_eq!(
            document(&std::collections::BTreeMap::from([("on", "yes")])).unwrap(),
            "\"on\": \"yes\"\n"
        );
    }
}
