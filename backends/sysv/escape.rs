//! Escaping for the LSB header of an init script, as `insserv`, `update-rc.d` and systemd's
//! sysv generator read it: a comment line `# Key: words`.

/// Words on an LSB header line: letters, digits, `_.-` and single spaces only (names are
/// validated and runlevels are digits, so this refuses nothing procexport writes; it keeps a
/// value from ending the header or adding a key).
pub fn lsb_word(value: &str) -> Result<String, String> {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ' ' | '$'));
    if value.trim().is_empty() || !plain {
        return Err(format!("{value:?} cannot be written in an LSB init script header"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_words_are_plain() {
        assert_eq!(lsb_word("2 3 4 5").unwrap(), "2 3 4 5");
        assert_eq!(lsb_word("fb-my_app").unwrap(), "fb-my_app");
        for bad in ["", "a\nb", "a:b", "x#", "a\tb"] {
            assert!(lsb_word(bad).is_err(), "{bad:?}");
        }
    }
}
