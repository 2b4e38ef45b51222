//! `.env` files, in foreman's syntax: `KEY=value` lines, `export KEY=value` too; blank lines
//! and `#` comments skipped; a value in single quotes is taken literally, one in double
//! quotes has `\n` turned into a newline and any other `\x` into `x`, and an unquoted value is
//! taken as written, to the end of the line. foreman skips a line it cannot read; here it is
//! an error with its file and line, so a typo never silently drops a variable.
//! Pure: the bytes are read (with the invoking user's rights) by `install::disk`.

use crate::error::{Error, Location, Result};
use crate::model::env::{Env, EnvKey, EnvValue};
use crate::sanitize::Quoted;

/// Parses the `.env` file `file` whose contents are `bytes`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Env> {
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            Error::input(Location::line(file, line), "line is not valid UTF-8")
        })?;
    let mut env = Env::default();
    for (index, raw) in text.split('\n').enumerate() {
        let at = |message: String| Error::input(Location::line(file, index + 1), message);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.trim_end().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let assignment = trimmed
            .strip_prefix("export ")
            .map_or(trimmed, str::trim_start);
        let Some((key, value)) = assignment.split_once('=') else {
            return Err(at(format!(
                "line {} is not a \"KEY=value\" assignment",
                Quoted(trimmed.trim_end())
            )));
        };
        if key.ends_with(char::is_whitespace) || value.starts_with([' ', '\t']) {
            return Err(at(format!(
                "no spaces around \"=\": write {}",
                Quoted(&format!("{}={}", key.trim_end(), value.trim_start()))
            )));
        }
        let key_checked = EnvKey::parse(key).map_err(at)?;
        let value = unquote(value).map_err(at)?;
        env.set(key_checked, EnvValue::parse(key, &value).map_err(at)?);
    }
    Ok(env)
}

/// A value as foreman reads it: `'literal'`, `"with \n escapes"`, or as written.
fn unquote(value: &str) -> Result<String, String> {
    for quote in ['\'', '"'] {
        if !value.starts_with(quote) {
            continue;
        }
        let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.trim_end().strip_suffix(quote))
        else {
            return Err(format!(
                "the {} that opens the value is not closed on its line (a value cannot span lines; write \"\\n\" in double quotes for a newline)",
                if quote == '"' { "double quote" } else { "single quote" }
            ));
        };
        if quote == '\'' {
            return Ok(inner.to_owned());
        }
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return Ok(out);
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        parse(".env", text.as_bytes())
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
            .collect()
    }

    #[test]
    fn reads_foremans_syntax() {
        let text = "# c\n\nA=1\r\nexport B=two words\nC='$HOME \\n'\nD=\"l1\\nl2 \\\"q\\\" \\\\\"\nE=\nA=3\n  F=x=y # not a comment\n";
        let pairs = [
            ("A", "3"),
            ("B", "two words"),
            ("C", "$HOME \\n"),
            ("D", "l1\nl2 \"q\" \\"),
            ("E", ""),
            ("F", "x=y # not a comment"),
        ];
        let expected: Vec<_> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(vars(text), expected);
    }

    #[test]
    fn errors_name_file_and_line_and_say_what_to_write() {
        let cases = [
            ("A=1\nB\n", ".env:2: line \"B\" is not a \"KEY=value\" assignment"),
            ("A = 1\n", ".env:1: no spaces around \"=\": write \"A=1\""),
            ("1A=x\n", ".env:1: env key \"1A\" must start with a letter or \"_\" and hold only ASCII letters, digits and \"_\""),
            ("A='x\n", ".env:1: the single quote that opens the value is not closed on its line (a value cannot span lines; write \"\\n\" in double quotes for a newline)"),
            ("A=\"x\0\"\n", ".env:1: env value of \"A\" contains a NUL byte"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse(".env", text.as_bytes()).unwrap_err().to_string(),
                expected,
                "{text:?}"
            );
        }
        assert_eq!(
            parse(".env", b"A=1\nB=\xff\n").unwrap_err().to_string(),
            ".env:2: line is not valid UTF-8"
        );
    }
}
