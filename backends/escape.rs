//! Escaping for each format a value can land in, registered once as template filters. A
//! template never pastes a value raw: every `{{ }}` goes through one of these, and the engine
//! is set up so that a value printed without one is an error, not a hole.

use super::Escape;
use shell_quote::Sh;
use std::fmt::Write as _;

/// Every filter, by the name templates use.
pub const FILTERS: &[(&str, Escape)] = &[
    ("sh", sh),
    ("shell_code", shell_code),
    ("upstart_word", upstart_word),
    ("systemd_word", systemd_word),
    ("systemd_exec", systemd_exec),
    ("systemd_path", systemd_path),
    ("systemd_env_value", systemd_env_value),
    ("envdir", envdir),
];

/// Quotes text as one POSIX shell word that stays on one line. A newline in the value is
/// written as `"$nl"` (the helper defines `nl` when any value needs it), and any other control
/// character but tab as `"$(printf '\ooo')"` (its bytes in octal), so no value ever starts a
/// new line of the script or puts a raw control character (an escape sequence, a carriage
/// return) into it.
pub fn sh(value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("a NUL byte cannot be passed through a shell".to_owned());
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

/// A word in a systemd unit that needs no quoting: a unit name, user, group, target or number.
/// Only characters that systemd takes literally in every setting (no `%`, `\`, quote or space).
pub fn systemd_word(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:@-".contains(c));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "{value:?} cannot stand as a word in a systemd unit"
        ))
    }
}

/// One argument of a systemd command line (`ExecStart=`), as one double-quoted word: `\` and
/// `"` are backslash-escaped and a tab written `\t` (systemd.syntax(7) quoting), `%` doubled
/// (specifiers are expanded before unquoting) and `$` doubled (systemd expands `$VAR` when it
/// runs the command). Other control characters are refused: none may reach a unit.
pub fn systemd_exec(value: &str) -> Result<String, String> {
    check_unit_text(value, true)?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// An absolute path in a unit setting that takes it verbatim (`WorkingDirectory=`,
/// `EnvironmentFile=`): no quoting applies there, only `%` specifiers, so `%` is doubled. What
/// systemd would change or refuse is refused instead: control characters, a `..` component, a
/// trailing space or backslash (stripped, or read as a line continuation), over-long names.
pub fn systemd_path(value: &str) -> Result<String, String> {
    check_unit_text(value, false)?;
    let refuse = |why: &str| Err(format!("path {value:?} {why}"));
    if !value.starts_with('/') {
        return refuse("is not absolute");
    }
    if value.split('/').any(|c| c == "..") {
        return refuse("has a \"..\" component, which systemd refuses");
    }
    if value.ends_with([' ', '\\']) {
        return refuse("ends in a space or backslash, which systemd would not keep");
    }
    if value.len() >= 4096 || value.split('/').any(|c| c.len() > 255) {
        return refuse("is too long for systemd");
    }
    Ok(value.replace('%', "%%"))
}

/// A value in a systemd environment file, double-quoted: inside, systemd.exec(5) takes every
/// character verbatim (newlines too) except `\`, which escapes one of `"`, `\`, `` ` ``, `$`.
/// The file is not a unit and a quoted newline stays in the value, so a newline cannot add a
/// directive or a variable. Unicode noncharacters are refused: systemd rejects the whole file.
pub fn systemd_env_value(value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("a NUL byte cannot be in an environment".to_owned());
    }
    if let Some(c) = value.chars().find(|c| is_noncharacter(*c)) {
        return Err(format!(
            "the Unicode noncharacter {c:?} is refused by systemd in an environment file"
        ));
    }
    // systemd's environment files have no escape for other control characters, and written
    // raw they would hide or fake lines for whoever reads the file.
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(format!(
            "the control character {c:?} cannot be written in a systemd environment file"
        ));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// Text that may land on a unit line: no control character (a tab only where `tab` allows it,
/// to be escaped), and no Unicode noncharacter (systemd refuses a line that holds one).
fn check_unit_text(value: &str, tab: bool) -> Result<(), String> {
    if let Some(c) = value
        .chars()
        .find(|c| (c.is_control() && !(tab && *c == '\t')) || is_noncharacter(*c))
    {
        return Err(format!(
            "{value:?} holds {c:?}, which cannot be written in a systemd unit"
        ));
    }
    Ok(())
}

/// U+FDD0..U+FDEF and the last two code points of every plane: systemd's UTF-8 check fails them.
fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&u) || u & 0xFFFE == 0xFFFE
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
    if let Some(c) = value
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(format!(
            "the control character {c:?} is refused in runit's env directory (written raw, it \
             would hide or fake text for whoever reads the file)"
        ));
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
    fn systemd_exec_quotes_escapes_and_doubles_specifiers() {
        assert_eq!(
            systemd_exec("echo \"a b\" 'c' 100% $HOME \\x\tz").unwrap(),
            "\"echo \\\"a b\\\" 'c' 100%% $$HOME \\\\x\\tz\""
        );
        assert_eq!(systemd_exec("").unwrap(), "\"\"");
        for bad in [
            "a\nb",
            "a\rb",
            "a\u{1b}b",
            "a\u{85}b",
            "a\u{fdd0}",
            "a\u{ffff}",
        ] {
            assert!(systemd_exec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn systemd_paths_are_verbatim_but_for_specifiers() {
        assert_eq!(
            systemd_path("/srv/my app/100%/'q'").unwrap(),
            "/srv/my app/100%%/'q'"
        );
        for bad in [
            "srv",
            "/srv/../etc",
            "/srv/app ",
            "/srv/app\\",
            "/srv\n/x",
            "/srv\t/x",
        ] {
            assert!(systemd_path(bad).is_err(), "{bad:?}");
        }
        assert!(systemd_path(&format!("/{}", "a".repeat(256))).is_err());
    }

    #[test]
    fn systemd_env_values_keep_newlines_inside_quotes() {
        assert_eq!(
            systemd_env_value("a\"b\\c`d$e\nf'g").unwrap(),
            "\"a\\\"b\\\\c\\`d\\$e\nf'g\""
        );
        assert!(systemd_env_value("x\u{fffe}").is_err());
        assert!(systemd_env_value("x\u{10ffff}").is_err());
        assert!(systemd_env_value("\u{fffd} \u{feff}").is_ok());
    }

    #[test]
    fn systemd_words_refuse_what_systemd_would_read_specially() {
        for bad in ["a b", "a%i", "a\\b", "a\"", "", "a\n", "a$b", "a;b"] {
            assert!(systemd_word(bad).is_err(), "{bad:?}");
        }
        assert!(systemd_word("fb-my_app-web_0.service").is_ok());
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

        #[test]
        fn systemd_exec_output_is_one_quoted_word_without_controls(value in "\\PC*|[\\x01-\\x7f]*") {
            if let Ok(quoted) = systemd_exec(&value) {
                prop_assert!(!quoted.chars().any(char::is_control));
                prop_assert!(quoted.starts_with('"') && quoted.ends_with('"') && quoted.len() >= 2);
                // Every `%` and `$` comes in pairs; every `"` inside is escaped.
                let inner = &quoted[1..quoted.len() - 1];
                prop_assert_eq!(inner.matches('%').count() % 2, 0);
                prop_assert_eq!(inner.matches('$').count() % 2, 0);
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    prop_assert!(c != '"', "a bare quote in {}", quoted);
                    if c == '\\' {
                        prop_assert!(chars.next().is_some());
                    }
                }
            }
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
                let control = value.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
                prop_assert!(value.ends_with([' ', '\t']) || control);
            }
        }
    }
}
