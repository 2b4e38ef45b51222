//! Escaping for supervisord's config files: an INI file read by Python's `RawConfigParser`
//! (with `;` and `#` as inline comments after whitespace), whose `command=` is expanded with
//! `%(name)s` (Python `%` formatting) and then split into words by `shlex.split` (POSIX).

/// One word of a `command=` line: single-quoted for `shlex`, with `;` and `#` written outside
/// the quotes as `\;` and `\#` (so no whitespace ever stands right before one: the parser
/// would take the rest of the line for a comment), and every `%` doubled (supervisord's
/// expansion turns `%%` back into `%`). Control characters are refused: a value must stay on
/// its line.
pub fn supervisord_word(value: &str) -> Result<String, String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the control character {c:?} cannot be held in a supervisord config line"
        ));
    }
    let mut out = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            ';' | '#' | '\'' => {
                if quoted {
                    out.push('\'');
                    quoted = false;
                }
                out.push('\\');
                out.push(c);
            }
            _ => {
                if !quoted {
                    out.push('\'');
                    quoted = true;
                }
                if c == '%' {
                    out.push_str("%%");
                } else {
                    out.push(c);
                }
            }
        }
    }
    if quoted {
        out.push('\'');
    }
    if out.is_empty() {
        out.push_str("''");
    }
    Ok(out)
}

/// A plain value (a program or group name, a number) on a supervisord config line: only
/// letters, digits and `_.:/-`, which neither the INI parser nor the expansion treat specially.
pub fn supervisord_name(value: &str) -> Result<String, String> {
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-' | ','))
    {
        return Err(format!(
            "{value:?} is not a plain name or number for a supervisord config line"
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_comment_characters_out_of_the_parsers_reach() {
        assert_eq!(supervisord_word("/a b").unwrap(), "'/a b'");
        assert_eq!(supervisord_word("a ;b").unwrap(), "'a '\\;'b'");
        assert_eq!(supervisord_word("100%").unwrap(), "'100%%'");
        assert_eq!(supervisord_word("it's").unwrap(), "'it'\\''s'");
        assert_eq!(supervisord_word("").unwrap(), "''");
        assert!(supervisord_word("a\nb").is_err());
        assert!(supervisord_name("a b").is_err());
        assert!(supervisord_name("%(here)s").is_err());
    }
}
