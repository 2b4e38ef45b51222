//! Escaping for runit's env directory, as `chpst -e` reads it back.

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
    fn envdir_writes_newlines_as_nul_and_refuses_trailing_blanks() {
        assert_eq!(envdir("a\nb\n").unwrap(), "a\0b\0");
        assert_eq!(envdir("").unwrap(), "");
        assert_eq!(envdir("a \nb").unwrap(), "a \0b");
        for bad in ["a ", "a\t", "a\n ", "x\0"] {
            assert!(envdir(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
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
