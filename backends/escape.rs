//! Escaping into POSIX shell, shared by every backend's scripts, registered once as template
//! filters. A template never pastes a value raw: every `{{ }}` goes through a filter (these,
//! or the backend's own in its `escape.rs`), and the engine is set up so that a value printed
//! without one is an error, not a hole.

use super::Escape;
use shell_quote::Sh;
use std::fmt::Write as _;

/// The filters every backend's templates share: shell quoting.
pub const FILTERS: &[(&str, Escape)] =
    &[("sh", sh), ("shell_code", shell_code), ("comment", comment)];

/// Quotes text as one POSIX shell word that stays on one line. A newline in the value is
/// written as `"$nl"` (the helper defines `nl` when any value needs it), and any other control
/// character but tab as `"$(printf '\ooo')"` (its bytes in octal), so no value ever starts a
/// new line of the script or puts a raw control character (an escape sequence, a carriage
/// return) into it.
pub fn sh(value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("a NUL byte cannot be passed through a shell".to_owned());
    }
    // Almost every value has no control character: one word, quoted at once.
    if !value.chars().any(|c| c.is_control() && c != '\t') {
        return Ok(if value.is_empty() {
            "''".to_owned()
        } else {
            quote_plain(value)
        });
    }
    let quote = |part: &str| -> String {
        if part.is_empty() {
            return "''".to_owned();
        }
        let mut out = String::new();
        let mut run_start = 0;
        for (at, c) in part.char_indices() {
            if c.is_control() && c != '\t' {
                out.push_str(&quote_plain(&part[run_start..at]));
                out.push_str("\"$(printf '");
                for byte in c.to_string().bytes() {
                    let _ = write!(out, "\\{byte:03o}");
                }
                out.push_str("')\"");
                run_start = at + c.len_utf8();
            }
        }
        out.push_str(&quote_plain(&part[run_start..]));
        out
    };
    Ok(value
        .split('\n')
        .map(quote)
        .collect::<Vec<_>>()
        .join("\"$nl\""))
}

/// `Sh`'s quoting of text with no control character but tab; nothing for no text.
fn quote_plain(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let bytes: Vec<u8> = Sh::quote_vec(text);
    String::from_utf8(bytes).expect("Sh quotes UTF-8 into UTF-8")
}

/// True when `sh` of this value refers to `$nl`.
pub fn needs_newline(value: &str) -> bool {
    value.contains('\n')
}

/// Shell code that is run as written (a Procfile command): passed through, but only when it
/// is one line.
pub fn shell_code(value: &str) -> Result<String, String> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err("shell code with a control character".to_owned());
    }
    Ok(value.to_owned())
}

/// Text that goes on a comment line of a script as written (a backend's own words, such as
/// the helper's note on who starts it): passed through, but only when it is one line.
pub fn comment(value: &str) -> Result<String, String> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err("a comment with a control character".to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn newline_never_reaches_the_output() {
        assert_eq!(sh("a\nb").unwrap(), "a\"$nl\"b");
        assert_eq!(sh("").unwrap(), "''");
        assert!(sh("it's $HOME").unwrap().contains('\''));
    }

    #[test]
    fn control_characters_are_written_with_printf() {
        assert_eq!(sh("a\u{1b}[2J").unwrap(), "a\"$(printf '\\033')\"'[2J'");
        assert_eq!(sh("\r").unwrap(), "\"$(printf '\\015')\"");
        assert_eq!(
            sh("x\u{85}\ty").unwrap(),
            "x\"$(printf '\\302\\205')\"'\ty'"
        );
    }

    /// What `sh` writes reads back, through a real shell, as the value it was given.
    #[test]
    fn a_real_shell_reads_back_every_value() {
        let values = [
            "plain",
            "it's \"q\" $HOME `id` \\ 100%",
            "line one\nline two\n",
            "\u{1b}[2J\r\u{7f}\u{1}\u{85}ü\t",
            "",
            "\n",
        ];
        for value in values {
            let script = format!(
                "nl=$(printf '\\nx'); nl=${{nl%x}}; v={}; printf %s \"$v\"",
                sh(value).unwrap()
            );
            let output = std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .expect("sh runs");
            assert!(output.status.success(), "{script}");
            assert_eq!(String::from_utf8(output.stdout).unwrap(), value, "{script}");
        }
    }

    proptest! {
        #[test]
        fn sh_output_is_one_line(value in "\\PC*|[\\x01-\\x7f]*") {
            let quoted = sh(&value).unwrap();
            prop_assert!(!quoted.contains('\n'));
            prop_assert!(!quoted.chars().any(|c| c.is_control() && c != '\t'));
        }

    }
}
