//! Escaping for launchd's property lists: XML character data.

/// Text as XML character data (a `<string>`, `<integer>` or a comment's words): `&`, `<`, `>`,
/// `"` and `'` as entities, and `--` broken up (it may not appear in a comment). A control
/// character is refused: XML 1.0 cannot hold most of them, and none may start a new line.
pub fn xml_text(value: &str) -> Result<String, String> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the control character {c:?} cannot be held in a launchd property list"
        ));
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '-' if out.ends_with('-') => out.push_str("&#45;"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_control_characters_refused() {
        assert_eq!(xml_text("a<b>&\"'").unwrap(), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(xml_text("a--b").unwrap(), "a-&#45;b");
        assert!(xml_text("a\nb").is_err());
    }
}
