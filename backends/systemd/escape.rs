//! Escaping for systemd's formats: unit words, command lines, verbatim paths (all with `%`
//! specifiers doubled) and environment-file values.

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

/// A resource-control value made by the model from checked values (`CPUQuota=40%`,
/// `IODeviceWeight=/dev/sda 200`, `IPAddressDeny=0.0.0.0/0 ::/0`): only the characters those
/// values are made of; anything else is refused, never escaped.
pub fn systemd_setting(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " /_.:%,-".contains(c));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is not a systemd resource setting"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
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
    }
}
