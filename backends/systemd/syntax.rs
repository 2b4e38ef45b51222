//! systemd's syntax, read back the way systemd reads it, written from its manual pages: unit
//! files (systemd.syntax(7): sections, `key=value`, comments, continuation lines, quoting and
//! C escapes), specifiers (systemd.unit(5); only `%%` may appear in what procexport writes),
//! command lines (systemd.service(5) "COMMAND LINES": prefixes, words, `$$` at run time) and
//! environment files (systemd.exec(5) `EnvironmentFile=`). Stricter than systemd where systemd
//! would only warn: anything procexport must never write is an error here.

/// One `[Section]` of a unit, its entries in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub entries: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub sections: Vec<Section>,
}

impl Unit {
    /// Every value of `key` in `section`, in order (raw: specifiers and quotes still in).
    pub fn values(&self, section: &str, key: &str) -> Vec<&str> {
        self.sections
            .iter()
            .filter(|s| s.name == section)
            .flat_map(|s| &s.entries)
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of `key` in `section`; panics when it is missing or given twice.
    #[track_caller]
    pub fn value(&self, section: &str, key: &str) -> &str {
        match self.values(section, key)[..] {
            [one] => one,
            ref other => panic!("[{section}] {key}= is set {} times", other.len()),
        }
    }

    /// Every `(section, key)` in order.
    pub fn keys(&self) -> Vec<(String, String)> {
        self.sections
            .iter()
            .flat_map(|s| s.entries.iter().map(|(k, _)| (s.name.clone(), k.clone())))
            .collect()
    }
}

/// Characters systemd strips around lines and values.
const WHITESPACE: &[char] = &[' ', '\t', '\r'];

/// Parses a unit file: empty lines and lines starting with `#` or `;` are ignored; a line ending
/// in an unescaped backslash goes on on the next line (the backslash becomes a space, comment
/// lines in between are skipped); `[Name]` starts a section; every other line is `key=value`
/// with the whitespace around `=` and at both ends dropped.
pub fn parse_unit(text: &str) -> Result<Unit, String> {
    let mut sections: Vec<Section> = Vec::new();
    let mut pending = String::new();
    let mut continuing = false;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        if let Some(c) = raw.chars().find(|c| is_forbidden_in_unit(*c)) {
            return Err(format!("line {number}: {c:?} in a unit line: {raw:?}"));
        }
        let line = raw.trim_matches(WHITESPACE);
        if line.starts_with(['#', ';']) || (!continuing && line.is_empty()) {
            continue;
        }
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            pending.push_str(&line[..line.len() - 1]);
            pending.push(' ');
            continuing = true;
            continue;
        }
        pending.push_str(line);
        continuing = false;
        let logical = std::mem::take(&mut pending);
        if let Some(name) = logical.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push(Section {
                name: name.to_owned(),
                entries: Vec::new(),
            });
            continue;
        }
        let (key, value) = logical
            .split_once('=')
            .ok_or_else(|| format!("line {number}: not key=value: {logical:?}"))?;
        let section = sections
            .last_mut()
            .ok_or_else(|| format!("line {number}: {key}= outside of any section"))?;
        section.entries.push((
            key.trim_matches(WHITESPACE).to_owned(),
            value.trim_matches(WHITESPACE).to_owned(),
        ));
    }
    if continuing {
        return Err("the last line ends in a backslash".to_owned());
    }
    Ok(Unit { sections })
}

/// Control characters (a tab aside) never stand in a unit; systemd's UTF-8 check refuses
/// Unicode noncharacters.
fn is_forbidden_in_unit(c: char) -> bool {
    (c.is_control() && c != '\t') || is_noncharacter(c)
}

pub fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&u) || u & 0xFFFE == 0xFFFE
}

/// Expands specifiers as systemd does before anything else: `%%` is `%`; any other specifier
/// is an error here, since procexport means every `%` literally.
pub fn expand_specifiers(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            other => {
                return Err(format!(
                    "specifier %{other:?} would be expanded in {value:?}"
                ))
            }
        }
    }
    Ok(out)
}

/// Decodes the C escape after a backslash (systemd.syntax(7)'s table), `chars` just past it.
fn c_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, String> {
    let c = chars.next().ok_or("a backslash at the end")?;
    Ok(match c {
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        's' => ' ',
        '\\' | '"' | '\'' => c,
        'x' => code_point(chars, 2, 16, 0)?,
        'u' => code_point(chars, 4, 16, 0)?,
        'U' => code_point(chars, 8, 16, 0)?,
        '0'..='7' => code_point(chars, 2, 8, c.to_digit(8).unwrap())?,
        other => return Err(format!("unknown escape \\{other}")),
    })
}

/// Reads `n` more digits in `radix` after a leading value `lead` (an octal escape's first digit).
fn code_point(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    n: u32,
    radix: u32,
    lead: u32,
) -> Result<char, String> {
    let digits: String = (0..n).filter_map(|_| chars.next()).collect();
    u32::from_str_radix(&digits, radix)
        .ok()
        .filter(|_| digits.chars().count() == n as usize)
        .and_then(|v| char::from_u32(lead * radix.pow(n) + v))
        .ok_or_else(|| format!("bad escape digits {digits:?}"))
}

/// Splits a setting into words as systemd.syntax(7) says: separated by whitespace; a word may
/// be wrapped whole in double or single quotes (the opening quote at the word's start, the
/// closing one followed by whitespace or the end); C escapes work inside and outside quotes.
pub fn split_words(value: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| WHITESPACE.contains(c)).is_some() {}
        let Some(&first) = chars.peek() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("unbalanced quoting in {value:?}")),
                    Some(c) if c == first => break,
                    Some('\\') => word.push(c_escape(&mut chars)?),
                    Some(c) => word.push(c),
                }
            }
            if chars.peek().is_some_and(|c| !WHITESPACE.contains(c)) {
                return Err(format!(
                    "a closing quote is not followed by a space in {value:?}"
                ));
            }
        } else {
            while let Some(c) = chars.next_if(|c| !WHITESPACE.contains(c)) {
                match c {
                    '\\' => word.push(c_escape(&mut chars)?),
                    '"' | '\'' => return Err(format!("a quote inside a word in {value:?}")),
                    c => word.push(c),
                }
            }
        }
        words.push(word);
    }
}

/// A command of an `Exec*=` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCommand {
    /// The special prefixes of the first word (`@`, `-`, `:`, `+`, `!`, `!!`).
    pub prefixes: String,
    /// The arguments as stored in the unit, before `$` substitution at run time.
    pub argv: Vec<String>,
}

impl ExecCommand {
    /// True when systemd runs it with full privileges regardless of `User=`.
    pub fn privileged(&self) -> bool {
        self.prefixes.contains(['+', '!'])
    }

    /// The arguments as the process gets them, with no variable set: systemd replaces `$$` with
    /// `$` when it runs the command, and would expand any other `$`, which is an error here.
    pub fn run_time_argv(&self) -> Result<Vec<String>, String> {
        self.argv.iter().map(|word| no_variables(word)).collect()
    }
}

fn no_variables(word: &str) -> Result<String, String> {
    // `ExecReload=/bin/kill -s SIG $MAINPID`: systemd's own variable, a whole word, which no
    // value can make (the escaping doubles every `$` of a value).
    if word == "$MAINPID" {
        return Ok(word.to_owned());
    }
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('$') => out.push('$'),
            other => {
                return Err(format!(
                    "${} would be expanded by systemd in {word:?}",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

/// Parses the raw value of an `Exec*=` setting: specifiers, then words, then the first word's
/// prefixes. Several commands separated by a `;` word are an error here.
pub fn parse_exec(raw: &str) -> Result<ExecCommand, String> {
    let expanded = expand_specifiers(raw)?;
    let mut argv = split_words(&expanded)?;
    if argv.iter().any(|w| w == ";") {
        return Err(format!("more than one command in {raw:?}"));
    }
    let first = argv.first_mut().ok_or("an empty command")?;
    let body = first.trim_start_matches(['@', '-', ':', '+', '!']);
    let prefixes = first[..first.len() - body.len()].to_owned();
    *first = body.to_owned();
    if !first.starts_with('/') {
        return Err(format!("the command {first:?} is not an absolute path"));
    }
    Ok(ExecCommand { prefixes, argv })
}

/// Parses an environment file as systemd.exec(5) describes `EnvironmentFile=`: `KEY=VALUE`
/// lines; empty lines, lines without `=` and lines starting with `#` or `;` ignored. A value
/// may be unquoted (shell-like backslash escapes, a trailing backslash continues the line,
/// whitespace at both ends dropped), single-quoted (everything verbatim up to the next `'`,
/// across lines) or double-quoted (across lines; a backslash keeps the one of `"`, `\`, `` ` ``
/// or `$` after it, drops a newline after it, and stays before anything else). Later assignments of a key win; order is kept.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars
            .next_if(|c| WHITESPACE.contains(c) || *c == '\n')
            .is_some()
        {}
        let Some(first) = chars.next() else {
            return Ok(vars);
        };
        if first == '#' || first == ';' {
            // A comment ends at a newline that no backslash escapes.
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '\n' => break,
                    _ => {}
                }
            }
            continue;
        }
        let mut key = String::from(first);
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != '\n') {
            key.push(c);
        }
        if chars.next() != Some('=') {
            continue; // a line without "=" is ignored
        }
        let key = key.trim_matches(WHITESPACE).to_owned();
        while chars.next_if(|c| WHITESPACE.contains(c)).is_some() {}
        let mut value = String::new();
        // Length of `value` up to its last character that was quoted or escaped: trailing
        // whitespace is dropped only after that.
        let mut kept = 0;
        loop {
            match chars.next() {
                None | Some('\n') => break,
                Some('\'') if value.is_empty() && kept == 0 => {
                    loop {
                        match chars.next() {
                            None => return Err(format!("unterminated ' in {key}")),
                            Some('\'') => break,
                            Some(c) => value.push(c),
                        }
                    }
                    kept = value.len();
                }
                Some('"') if value.is_empty() && kept == 0 => {
                    loop {
                        match chars.next() {
                            None => return Err(format!("unterminated \" in {key}")),
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some('\n') => {}
                                Some(c) if "\"\\`$".contains(c) => value.push(c),
                                Some(c) => {
                                    value.push('\\');
                                    value.push(c);
                                }
                                None => return Err(format!("unterminated \" in {key}")),
                            },
                            Some(c) => value.push(c),
                        }
                    }
                    kept = value.len();
                    // An empty quoted value is still a value.
                    if value.is_empty() {
                        kept = usize::MAX;
                    }
                }
                Some('\\') => match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => {
                        value.push(c);
                        kept = value.len();
                    }
                },
                Some(c) => value.push(c),
            }
        }
        let end = if kept == usize::MAX {
            0
        } else {
            kept.max(value.trim_end_matches(WHITESPACE).len())
        };
        value.truncate(end);
        set_var(&mut vars, key, value)?;
    }
}

fn set_var(vars: &mut Vec<(String, String)>, key: String, value: String) -> Result<(), String> {
    let valid = key.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("{key:?} is not a variable name"));
    }
    if let Some(c) = value.chars().find(|c| is_noncharacter(*c)) {
        return Err(format!(
            "{c:?} in the value of {key} fails systemd's UTF-8 check"
        ));
    }
    match vars.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => vars.push((key, value)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lines_continue_and_comments_are_skipped() {
        let unit = parse_unit(
            "# c\n[Unit]\nDescription = a \\\n# skipped\n  b\n; c\n[Service]\nExecStart=/bin/x \\\\\n",
        )
        .unwrap();
        assert_eq!(unit.value("Unit", "Description"), "a  b");
        assert_eq!(unit.value("Service", "ExecStart"), "/bin/x \\\\");
        assert!(parse_unit("[Unit]\nA=b\u{1b}\n").is_err());
    }

    #[test]
    fn command_lines_unquote_unescape_and_keep_dollars_for_run_time() {
        let exec =
            parse_exec("+/bin/sh -c \"a \\\"b\\\" 'c' 100%% $$X \\\\ \\t\" 'x y' \\x41").unwrap();
        assert_eq!(exec.prefixes, "+");
        assert!(exec.privileged());
        assert_eq!(
            exec.run_time_argv().unwrap(),
            ["/bin/sh", "-c", "a \"b\" 'c' 100% $X \\ \t", "x y", "A"]
        );
        assert!(parse_exec("/bin/sh -c \"$X\"")
            .unwrap()
            .run_time_argv()
            .is_err());
        assert!(parse_exec("/bin/sh -c \"%n\"").is_err());
        assert!(parse_exec("/bin/sh -c \"a").is_err());
        assert!(parse_exec("/bin/a ; /bin/b").is_err());
    }

    #[test]
    fn environment_files_follow_the_manual() {
        let text = "# c \\\nstill comment\nA=plain value  \nB=\"q \\\" \\$ \\\\ \\z\nnext\"\nC='s \\n\nx'\n  D = \" \" \nE=\"\"\nF=a\\\nb\nnot an assignment\nA=again\n";
        let vars = parse_env_file(text).unwrap();
        let get = |k: &str| vars.iter().find(|(key, _)| key == k).unwrap().1.as_str();
        assert_eq!(get("A"), "again");
        assert_eq!(get("B"), "q \" $ \\ \\z\nnext");
        assert_eq!(get("C"), "s \\n\nx");
        assert_eq!(get("D"), " ");
        assert_eq!(get("E"), "");
        assert_eq!(get("F"), "ab");
        assert_eq!(vars.len(), 6, "{vars:?}");
    }
}
