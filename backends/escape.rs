//! Escaping for each format a value can land in, registered once as template filters. A
//! template never pastes a value raw: every `{{ }}` goes through one of these, and the engine
//! is set up so that a value printed without one is an error, not a hole.

use super::Escape;
use shell_quote::Sh;

/// Every filter, by the name templates use.
pub const FILTERS: &[(&str, Escape)] = &[
    ("sh", sh),
    ("shell_code", shell_code),
    ("upstart_word", upstart_word),
    ("envdir", envdir),
];

/// Quotes text as one POSIX shell word that stays on one line. A newline in the value is
/// written as `"$nl"` (the helper defines `nl` when any value needs it), so no value ever
/// starts a new line of the script.
pub fn sh(value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("a NUL byte cannot be passed through a shell".to_owned());
    }
    let quote = |part: &str| -> String {
        if part.is_empty() {
            return "''".to_owned();
        }
        let bytes: Vec<u8> = Sh::quote_vec(part);
        String::from_utf8(bytes).expect("Sh quotes UTF-8 into UTF-8")
    };
    Ok(value
        .split('\n')
        .map(quote)
        .collect::<Vec<_>>()
        .join("\"$nl\""))
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

/// A word in an Upstart stanza (a job name, user, runlevel set): only characters that need no
/// quoting and cannot start an expression or a comment.
pub fn upstart_word(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,:/@+=[]!-".contains(c));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} cannot stand in an Upstart stanza"))
    }
}

/// A value as the first line of a file in runit's env directory, which `chpst -e` reads
/// back exactly: it takes the first line, strips trailing spaces and tabs, and turns NUL into
/// newline. So a newline is written as NUL, and a value that ends in a space or tab, which
/// would come back without it, is refused.
pub fn envdir(value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("a NUL byte cannot be held in an environment variable".to_owned());
    }
    if value.ends_with([' ', '\t']) {
        return Err(
            "a value that ends in a space or tab cannot be held in runit's env directory \
             (chpst strips them)"
                .to_owned(),
        );
    }
    Ok(value.replace('\n', "\0"))
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
    fn upstart_words_refuse_spaces_quotes_and_hashes() {
        for bad in ["a b", "a\"", "#x", "a\n", "", "$(id)", "a`b`"] {
            assert!(upstart_word(bad).is_err(), "{bad:?}");
        }
        assert!(upstart_word("[!2345]").is_ok());
    }

    #[test]
    fn envdir_writes_newlines_as_nul_and_refuses_trailing_blanks() {
        assert_eq!(envdir("a\nb\n").unwrap(), "a\0b\0");
        assert_eq!(envdir("").unwrap(), "");
        assert_eq!(envdir("a \nb").unwrap(), "a \0b");
        for bad in ["a ", "a\t", "a\n ", "x\0"] {
            assert!(envdir(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn sh_output_is_one_line(value in "\\PC*|[\\x01-\\x7f]*") {
            let quoted = sh(&value).unwrap();
            prop_assert!(!quoted.contains('\n'));
        }

        /// What chpst makes of an env file: its first line, trailing blanks stripped, NUL
        /// turned into newline.
        #[test]
        fn envdir_round_trips_through_chpsts_rules(value in "[ \\t\\na-z\\x01-\\x1f]*|[^\\x00]*") {
            if let Ok(written) = envdir(&value) {
                let file = format!("{written}\n");
                let line = file.split('\n').next().unwrap();
                let read = line.trim_end_matches([' ', '\t']).replace('\0', "\n");
                prop_assert_eq!(read, value);
            } else {
                prop_assert!(value.ends_with([' ', '\t']));
            }
        }
    }
}
