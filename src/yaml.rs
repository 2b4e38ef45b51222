//! The one module that uses serde_yaml (deprecated upstream, so kept behind this door): YAML
//! text in, serde types out, errors as plain line and message, and no serde_yaml type
//! anywhere else. Before the parser sees a text, its nesting depth is bounded: serde_yaml
//! takes time quadratic in the depth of nested flow collections (`[[[[...]]]]`), and no
//! Procfile or config nests more than a few levels.
//!
//! The other way, `to_tree` turns a serde value into procexport's own `Tree` (the Kubernetes
//! export lays its documents out from it itself: serde_yaml writes YAML 1.2, see
//! `src/kubernetes/yaml.rs`).
//!
//! serde_yaml reports where a syntax or type error is, but not where a value it accepted
//! sits. Errors found after parsing (a label with `-`, a count out of range) still need a line
//! number, so `KeyLines` finds the line of each key path in block-style YAML by its
//! indentation, in one pass over the text.

use crate::error::{Error, LimitKey, Location};
use crate::sanitize::escape_controls;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_yaml::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;

mod budget;

/// The bytes a document's values may come to once its aliases are expanded, unless the
/// config says otherwise (`max_expanded_bytes`): a 4 MiB file without aliases, four times.
pub const DEFAULT_MAX_EXPANDED: u64 = 16 << 20;

/// The deepest nesting of collections accepted (a v2 Procfile needs 4: `commands`, a
/// command, `env` or `respawn`, a value).
pub const MAX_DEPTH: usize = 16;

/// What is wrong with a YAML text: the message (with control characters escaped, and no
/// location in it) and the 1-based line, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: Option<usize>,
    pub message: String,
    /// True when the text was refused by a bound (its depth, before it was parsed, or its
    /// size once aliases are expanded, while it was parsed) rather than for its syntax.
    pub bounded: bool,
    /// The bound on expanded values that the text went past, when that is what stopped it.
    pub expanded_past: Option<u64>,
}

impl YamlError {
    /// The error of file `file`: a limit of the config when the values went past
    /// `max_expanded_bytes`, bad input at the line otherwise.
    pub fn into_error(self, file: &str) -> Error {
        let location = self
            .line
            .map_or_else(|| Location::file(file), |line| Location::line(file, line));
        match self.expanded_past {
            Some(limit) => Error::Limit {
                key: LimitKey::ExpandedBytes,
                limit,
                found: limit.saturating_add(1),
                location: Some(location),
            },
            None => Error::input(location, self.message),
        }
    }
}

/// Parses `text` into `T`, once its nesting is known to be shallow, its values expanding to
/// at most `DEFAULT_MAX_EXPANDED` bytes.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    parse_bounded(text, DEFAULT_MAX_EXPANDED)
}

/// Parses `text` into `T`, once its nesting is known to be shallow, refusing it as soon as
/// its values (every alias expanded) come to more than `max_expanded` bytes, before the
/// value that does not fit is copied.
pub fn parse_bounded<T: DeserializeOwned>(text: &str, max_expanded: u64) -> Result<T, YamlError> {
    check_depth(text)?;
    let budget = budget::Budget::new(max_expanded);
    let parsed = T::deserialize(budget::Counted::new(
        serde_yaml::Deserializer::from_str(text),
        &budget,
    ));
    parsed.map_err(|e| {
        if budget.spent() {
            YamlError {
                line: e.location().map(|l| l.line()),
                message: Error::limit(LimitKey::ExpandedBytes, max_expanded, max_expanded)
                    .to_string(),
                bounded: true,
                expanded_past: Some(max_expanded),
            }
        } else {
            YamlError {
                line: e.location().map(|l| l.line()),
                message: strip_location(&e.to_string()),
                bounded: false,
                expanded_past: None,
            }
        }
    })
}

/// Refuses a text whose collections nest deeper than `MAX_DEPTH`, counted both ways YAML
/// nests: flow brackets (`[`, `{` outside quotes and comments) and block indentation.
fn check_depth(text: &str) -> Result<(), YamlError> {
    let too_deep = |line: usize| YamlError {
        line: Some(line),
        bounded: true,
        expanded_past: None,
        message: format!(
            "collections nest more than {MAX_DEPTH} levels deep here; a Procfile never needs \
             more than a few: flatten it"
        ),
    };
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if flow == 0 {
            let indent = line.len() - trimmed.len();
            while indents.last().is_some_and(|i| *i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - - x` nests a sequence per dash on one line.
            let dashes = trimmed
                .split_inclusive(' ')
                .take_while(|w| w.trim_end() == "-")
                .count();
            if indents.len() + dashes > MAX_DEPTH + 1 {
                return Err(too_deep(index + 1));
            }
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q && !(q == '"' && previous == '\\') => quote = None,
                (None, '#') if previous == ' ' || previous == '\t' => break,
                (None, '"' | '\'') => quote = Some(c),
                (None, '[' | '{') => {
                    flow += 1;
                    if indents.len() + flow > MAX_DEPTH + 1 {
                        return Err(too_deep(index + 1));
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                // Anything inside quotes, and any other character.
                _ => {}
            }
            previous = if previous == '\\' && c == '\\' {
                ' '
            } else {
                c
            };
        }
    }
    Ok(())
}

/// serde_yaml appends " at line L column C" to its messages; the location is printed in front.
/// Its messages also quote keys from the input as they are (`unknown field \`a<TAB>b\``,
/// `commands.<ESC>...`), so control characters are escaped here, before any is printed.
pub fn strip_location(message: &str) -> String {
    let mut message = message.to_owned();
    while let Some(at) = message.find(" at line ") {
        let rest = &message[at + " at line ".len()..];
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let rest = rest.strip_prefix(" column ").unwrap_or(rest);
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        message = format!("{}{rest}", &message[..at]);
    }
    escape_controls(&message)
}

/// Any YAML value, kept only as far as a caller may need it: a scalar's text (`true`, `5`,
/// and "" for null), or `Other` for a sequence or mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loose {
    Text(String),
    Other,
}

impl Loose {
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Other => None,
        }
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Loose, E> {
        // As YAML writes them (serde_yaml's own Display).
        let text = if v.is_nan() {
            ".nan".to_owned()
        } else if v.is_infinite() {
            if v > 0.0 { ".inf" } else { "-.inf" }.to_owned()
        } else {
            format!("{v:?}")
        };
        Ok(Loose::Text(text))
    }
    fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Text(v))
    }
    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose::Text(String::new()))
    }
    fn visit_none<E>(self) -> Result<Loose, E> {
        Ok(Loose::Text(String::new()))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
        Loose::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
}

/// A mapping in the order written, its keys and values kept loosely (`env:`, a top level).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entries(Vec<(Loose, Loose)>);

impl Entries {
    pub fn iter(&self) -> impl Iterator<Item = (&Loose, &Loose)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The value of the key whose text is `key`.
    pub fn get(&self, key: &str) -> Option<&Loose> {
        self.iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries: Vec<(Loose, Loose)> = Vec::new();
                // The keys seen, so that a mapping of n keys is checked in linear time.
                let mut seen: HashSet<String> = HashSet::new();
                while let Some((key, value)) = map.next_entry::<Loose, Loose>()? {
                    if let Loose::Text(text) = &key {
                        if !seen.insert(text.clone()) {
                            return Err(serde::de::Error::custom(format_args!(
                                "duplicate entry with key {text:?}"
                            )));
                        }
                    }
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// A YAML value as procexport writes one: mappings (string keys, in order), sequences,
/// strings, integers and booleans. It is how a serde value reaches a writer outside this
/// module without a serde_yaml type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    Mapping(Vec<(String, Tree)>),
    Sequence(Vec<Tree>),
    String(String),
    Integer(i128),
    Bool(bool),
}

/// `value` as a `Tree`. Nulls, floats, tags and mapping keys that are not strings are
/// refused: no object procexport writes holds one.
pub fn to_tree<T: Serialize + ?Sized>(value: &T) -> Result<Tree, String> {
    let value =
        serde_yaml::to_value(value).map_err(|e| format!("cannot represent it as YAML: {e}"))?;
    from_value(value)
}

/// Parses a YAML text (one document) into a `Tree`, for the tests of a writer.
#[cfg(test)]
pub fn parse_tree(text: &str) -> Result<Tree, String> {
    let value: Value = parse(text).map_err(|e| e.message)?;
    from_value(value)
}

fn from_value(value: Value) -> Result<Tree, String> {
    Ok(match value {
        Value::Mapping(map) => Tree::Mapping(
            map.into_iter()
                .map(|(key, value)| match key {
                    Value::String(key) => Ok((key, from_value(value)?)),
                    other => Err(format!("a mapping key is not a string: {other:?}")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Sequence(items) => Tree::Sequence(
            items
                .into_iter()
                .map(from_value)
                .collect::<Result<_, _>>()?,
        ),
        Value::String(text) => Tree::String(text),
        Value::Bool(flag) => Tree::Bool(flag),
        Value::Number(number) => match (number.as_i64(), number.as_u64()) {
            (Some(n), _) => Tree::Integer(i128::from(n)),
            (None, Some(n)) => Tree::Integer(i128::from(n)),
            (None, None) => return Err(format!("procexport writes no such YAML value: {number}")),
        },
        other => return Err(format!("procexport writes no such YAML value: {other:?}")),
    })
}

/// The line of every key path (first occurrence), e.g. `commands/web/count`.
pub struct KeyLines(HashMap<String, usize>);

impl KeyLines {
    pub fn index(text: &str) -> Self {
        let mut lines = HashMap::new();
        let mut stack: Vec<(usize, String)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            let Some((key, _)) = trimmed.split_once(':') else {
                continue;
            };
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            stack.push((indent, key.to_owned()));
            let path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
            lines.entry(path.join("\n")).or_insert(index + 1);
        }
        Self(lines)
    }

    /// The 1-based line of the key at `path` (e.g. `["commands", "web", "count"]`), if found.
    pub fn get(&self, path: &[&str]) -> Option<usize> {
        self.0.get(&path.join("\n")).copied()
    }
}

/// The line of one key path; for a single lookup (an error message).
pub fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    KeyLines::index(text).get(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!(
            "version: 2\nenv: {}{}\n",
            "[".repeat(80_000),
            "]".repeat(80_000)
        );
        let error = parse::<Loose>(&deep).unwrap_err();
        assert_eq!(error.line, Some(2));
        assert!(
            error.message.contains("nest more than"),
            "{}",
            error.message
        );
        let block: String = (0..40)
            .map(|i| {
                " ".repeat(i)
                    + &format!(
                        "k{i}:
"
                    )
            })
            .collect();
        assert!(parse::<Loose>(&block).is_err());
        let dashes = format!("{}x\n", "- ".repeat(40));
        assert!(parse::<Loose>(&dashes).is_err());
        // Brackets inside quotes and comments do not count.
        let quoted = format!("a: \"{}\" # {}\n", "[".repeat(100), "{".repeat(100));
        assert_eq!(parse::<Loose>(&quoted), Ok(Loose::Other));
        let ok = "version: 2\ncommands:\n  web:\n    env: {A: [1, {b: c}]}\n";
        assert_eq!(parse::<Loose>(ok), Ok(Loose::Other));
    }

    #[test]
    fn aliases_are_counted_as_they_expand() {
        let text = format!("a: &v {}\nb: *v\nc: *v\nd: *v\n", "x".repeat(100));
        // Four copies of 100 bytes, four keys of one byte, a node each and the mapping's.
        let exact = 4 * 100 + 4 + 8 + 1;
        let entries: Entries = parse_bounded(&text, exact).unwrap();
        assert_eq!(entries.iter().count(), 4);
        let error = parse_bounded::<Entries>(&text, exact - 1).unwrap_err();
        assert!(error.bounded, "{error:?}");
        assert!(
            error.message.contains("(max_expanded_bytes)"),
            "{}",
            error.message
        );
        // A syntax error is not said to be a bound.
        assert!(
            !parse_bounded::<Entries>("a: [\n", 1 << 20)
                .unwrap_err()
                .bounded
        );
    }

    #[test]
    fn loose_values_keep_scalar_text() {
        let entries: Entries = parse("a: 5\nb: true\nc:\nd: x\ne: [1]\nf: 1.5\n").unwrap();
        let texts: Vec<Option<&str>> = entries.iter().map(|(_, v)| v.text()).collect();
        assert_eq!(
            texts,
            [
                Some("5"),
                Some("true"),
                Some(""),
                Some("x"),
                None,
                Some("1.5")
            ]
        );
        assert_eq!(entries.get("d"), Some(&Loose::Text("x".to_owned())));
    }

    #[test]
    fn finds_nested_keys_by_indentation() {
        let text =
            "version: 2\ncount: 1\ncommands:\n  web:\n    count: 3\n  \"bad-1\":\n    command: x\n";
        assert_eq!(key_line(text, &["commands", "web", "count"]), Some(5));
        assert_eq!(key_line(text, &["count"]), Some(2));
        assert_eq!(key_line(text, &["commands", "bad-1"]), Some(6));
        assert_eq!(key_line(text, &["commands", "nope"]), None);
    }

    #[test]
    fn serde_yaml_writes_yaml_1_1_booleans_plain() {
        // Why the Kubernetes export lays out its own YAML from a `Tree`: kubectl reads YAML
        // 1.1, where this plain `yes` is the boolean true.
        assert_eq!(serde_yaml::to_string(&["yes"]).unwrap(), "- yes\n");
        assert_eq!(
            to_tree(&["yes"]),
            Ok(Tree::Sequence(vec![Tree::String("yes".to_owned())]))
        );
    }

    #[test]
    fn trees_keep_order_and_refuse_what_is_never_written() {
        #[derive(Serialize)]
        struct S {
            b: u32,
            a: Vec<bool>,
            c: i64,
        }
        let tree = to_tree(&S {
            b: 1,
            a: vec![true],
            c: -2,
        })
        .unwrap();
        assert_eq!(
            tree,
            Tree::Mapping(vec![
                ("b".to_owned(), Tree::Integer(1)),
                ("a".to_owned(), Tree::Sequence(vec![Tree::Bool(true)])),
                ("c".to_owned(), Tree::Integer(-2)),
            ])
        );
        assert!(to_tree(&1.5).is_err());
        assert!(to_tree(&None::<u32>).is_err());
        assert!(to_tree(&std::collections::BTreeMap::from([(1, 2)])).is_err());
        assert_eq!(
            parse_tree("a: [1, x]\n"),
            Ok(Tree::Mapping(vec![(
                "a".to_owned(),
                Tree::Sequence(vec![Tree::Integer(1), Tree::String("x".to_owned())])
            )]))
        );
    }
}

/// A whole number as written in YAML, read with a message a person can act on ("expected a
/// whole number, such as 30") rather than serde's type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WholeVisitor;
        impl Visitor<'_> for WholeVisitor {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a whole number written in digits, such as 2")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Whole, E> {
                Ok(Whole(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Whole, E> {
                Ok(Whole(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        deserializer.deserialize_any(WholeVisitor)
    }
}
