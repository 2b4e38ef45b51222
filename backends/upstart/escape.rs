//! Escaping for Upstart job files: a word in a stanza.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstart_words_refuse_spaces_quotes_and_hashes() {
        for bad in ["a b", "a\"", "#x", "a\n", "", "$(id)", "a`b`"] {
            assert!(upstart_word(bad).is_err(), "{bad:?}");
        }
        assert!(upstart_word("[!2345]").is_ok());
    }
}
