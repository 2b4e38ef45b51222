//! Untrusted text (labels, paths, values from a Procfile) is printed to a terminal in error
//! messages and dry runs. Escaping it first keeps a crafted value from sending terminal control
//! sequences or faking extra lines of output.

use std::fmt;

/// Displays text quoted, with control characters, quotes and backslashes escaped.
pub(crate) struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_debug())
    }
}

/// Escapes control characters but keeps newlines and tabs, for printing whole files.
pub(crate) fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes every control character (tab and newline too) the way `escape_debug` writes it and
/// leaves the rest as it is: for messages from libraries (serde_yaml) that quote input raw.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes_control_characters() {
        assert_eq!(
            Quoted("a\u{1b}[2J\nb\"").to_string(),
            r#""a\u{1b}[2J\nb\"""#
        );
    }

    #[test]
    fn for_terminal_keeps_lines_but_not_escape_sequences() {
        assert_eq!(for_terminal("a\nb\u{1b}c\r"), "a\nb\\u{1b}c\\r");
    }

    #[test]
    fn escape_controls_escapes_tabs_and_newlines_too() {
        assert_eq!(
            escape_controls("`a\tb\n\u{1}` ü \"q\""),
            "`a\\tb\\n\\u{1}` ü \"q\""
        );
    }
}
