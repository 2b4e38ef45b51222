//! A job's command, kept exactly as written, and the gem's rule for running it: `exec` in front
//! of the last simple command so the process replaces the shell (stop signals then reach it,
//! and no child is left behind), and `env` in front of a leading `VAR=value` so the assignment
//! survives the `exec`. The command's own shell syntax is never rewritten otherwise.

use crate::model::text::LineText;
use crate::sanitize::Quoted;
use serde::Serialize;

/// A validated command: one line of text, not blank.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Command(LineText);

impl Command {
    pub fn parse(text: &str, label: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err(format!(
                "label {} has no command: write the command after the \":\", or remove the line",
                Quoted(label)
            ));
        }
        Ok(Self(LineText::parse(text.trim(), "command")?))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The command with `exec` (and `env` where needed) in front of its last simple command.
    /// Left as written when the last part is not a simple command (a pipeline, a background
    /// job, a compound command) or already starts with `exec`.
    pub fn exec_form(&self) -> String {
        let text = self.as_str();
        let scan = scan(text);
        let start = scan.last_list_start;
        let tail = &text[start..scan.end];
        let lead = tail.len() - tail.trim_start().len();
        let body = tail.trim_start();
        let first_word = body.split([' ', '\t']).next().unwrap_or("");
        let whole_first = text.split([' ', '\t']).next().unwrap_or("");
        let compound = [first_word, whole_first]
            .iter()
            .any(|word| is_compound_keyword(word))
            || body.starts_with(['(', '{', ')', '}'])
            || text.starts_with(['(', '{']);
        if body.is_empty() || scan.last_has_pipe_or_background || compound {
            return text.to_owned();
        }
        let insert = if is_assignment(first_word) {
            "exec env "
        } else {
            "exec "
        };
        let at = start + lead;
        format!("{}{insert}{}", &text[..at], &text[at..])
    }
}

/// Words that open or close a compound command: `exec` cannot go in front of them.
fn is_compound_keyword(word: &str) -> bool {
    matches!(
        word,
        "exec"
            | "if"
            | "then"
            | "else"
            | "elif"
            | "fi"
            | "while"
            | "until"
            | "for"
            | "do"
            | "done"
            | "case"
            | "esac"
            | "!"
            | "function"
    )
}

/// True for a word of the form `NAME=...`.
fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

struct Scan {
    /// Byte offset where the last `&&` / `||` / `;` list element starts.
    last_list_start: usize,
    /// Byte offset where the command ends (a trailing `# comment` is not part of it).
    end: usize,
    last_has_pipe_or_background: bool,
}

/// Walks the command as the shell would, outside quotes, `$(...)`, `${...}` and backticks,
/// to find the top-level list separators.
fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut result = Scan {
        last_list_start: 0,
        end: text.len(),
        last_has_pipe_or_background: false,
    };
    let mut i = 0;
    let mut depth = 0usize; // nesting of $( ), ${ }, ( )
    let mut word_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\\' => {
                i += 2;
                word_start = false;
                continue;
            }
            b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'$' if matches!(bytes.get(i + 1), Some(b'(' | b'{')) => {
                depth += 1;
                i += 1;
            }
            b'(' | b'{' => depth += 1,
            b')' | b'}' => depth = depth.saturating_sub(1),
            b'#' if word_start && depth == 0 => {
                result.end = text[..i].trim_end().len();
                break;
            }
            b'&' | b'|' if depth == 0 => {
                if bytes.get(i + 1) == Some(&c) {
                    i += 2;
                    result.last_list_start = i;
                    result.last_has_pipe_or_background = false;
                    word_start = true;
                    continue;
                }
                // A lone `&` after `>` or `<` is a redirection (`2>&1`), not a background job.
                let redirect = i > 0 && matches!(bytes[i - 1], b'>' | b'<');
                if !redirect {
                    result.last_has_pipe_or_background = true;
                }
            }
            b';' if depth == 0 => {
                result.last_list_start = i + 1;
                result.last_has_pipe_or_background = false;
            }
            _ => {}
        }
        word_start = matches!(c, b' ' | b'\t' | b';' | b'&' | b'|' | b'(' | b')');
        i += 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(text: &str) -> String {
        Command::parse(text, "t").unwrap().exec_form()
    }

    #[test]
    fn exec_goes_before_the_last_simple_command() {
        let cases = [
            ("bundle exec puma", "exec bundle exec puma"),
            (
                "cd backend && gunicorn app",
                "cd backend && exec gunicorn app",
            ),
            ("a || b", "a || exec b"),
            ("a; b", "a; exec b"),
            ("FOO=1 bar", "exec env FOO=1 bar"),
            ("cd x && FOO=1 bar", "cd x && exec env FOO=1 bar"),
            ("exec foo", "exec foo"),
            ("env A=1 foo", "exec env A=1 foo"),
            ("tail -F x >> log 2>&1", "exec tail -F x >> log 2>&1"),
            ("sh -c 'a && b'", "exec sh -c 'a && b'"),
            ("python app.py # a && b", "exec python app.py # a && b"),
            ("echo \"$(a && b)\"", "exec echo \"$(a && b)\""),
            ("run ${X:-a&&b}", "exec run ${X:-a&&b}"),
        ];
        for (input, expected) in cases {
            assert_eq!(exec(input), expected, "{input}");
        }
    }

    #[test]
    fn non_simple_last_commands_are_left_alone() {
        for text in [
            "a | b",
            "a && b | c",
            "a &",
            "(a)",
            "{ a; }",
            "if a; then b; fi",
            "a; { b; }",
        ] {
            assert_eq!(exec(text), text);
        }
    }

    #[test]
    fn empty_and_multiline_commands_are_refused() {
        assert!(Command::parse("  ", "web")
            .unwrap_err()
            .contains("has no command"));
        assert!(Command::parse("a\nb", "web")
            .unwrap_err()
            .contains("control character"));
    }
}
