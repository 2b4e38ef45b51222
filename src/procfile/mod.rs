//! A Procfile read into raw entries with their line numbers: v1 (`label: command` lines) or,
//! when its first entry is `version: 2`, the YAML format. Decoding problems (UTF-16, bytes
//! that are not UTF-8) are named with the line they are on.

pub mod assemble;
pub mod dotenv;
mod entry;
mod job_names;
mod v1;
mod v2;

pub use entry::{Entry, Procfile};

use crate::error::{Error, Location, Result};
use crate::model::config::Limits;

#[cfg(any(test, feature = "testing"))]
/// Decodes and parses a Procfile; `file` is its name for messages. A YAML one may expand
/// (its aliases) to at most the default `max_expanded_bytes`.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Procfile> {
    parse_bounded(file, bytes, &Limits::DEFAULT)
}

/// Decodes and parses a Procfile within the config's `limits` (a YAML one's values, its
/// aliases expanded, to `max_expanded_bytes`).
pub fn parse_bounded(file: &str, bytes: &[u8], limits: &Limits) -> Result<Procfile> {
    let text = decode(file, bytes)?;
    if is_v2(text) {
        v2::parse(file, text, limits.max_expanded_bytes)
    } else {
        v1::parse(file, text)
    }
}

fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Error::input(
            Location::line(file, 1),
            "file is UTF-16 encoded (it starts with a UTF-16 byte order mark); save it as UTF-8",
        ));
    }
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err(Error::input(
            Location::line(file, line_of(bytes, at)),
            "file contains NUL bytes (is it UTF-16?); save it as UTF-8",
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        Error::input(
            Location::line(file, line_of(bytes, e.valid_up_to())),
            "line is not valid UTF-8",
        )
    })
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1
}

/// A v2 Procfile's first entry is `version: 2`.
fn is_v2(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#') && *line != "---");
    first.is_some_and(|line| {
        let line = line.split(" #").next().unwrap_or(line).trim();
        matches!(
            line,
            "version: 2" | "version: \"2\"" | "version: '2'" | "version:2"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_and_bad_utf8_are_named() {
        let utf16 = b"\xFF\xFEw\0e\0b\0:\0";
        assert!(parse("P", utf16)
            .unwrap_err()
            .to_string()
            .contains("UTF-16"));
        let error = parse("P", b"web: a\nworker: \xFF\n")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "P:2: line is not valid UTF-8");
    }

    #[test]
    fn version_2_switches_to_yaml() {
        assert!(is_v2("# comment\n\nversion: 2\ncommands: {}\n"));
        assert!(!is_v2("web: version: 2\n"));
    }
}
