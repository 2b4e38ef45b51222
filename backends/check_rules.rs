//! The rules every generated file keeps, and the real checkers of shell scripts (`sh -n`,
//! shellcheck): shared by every backend's `check.rs` and by the fuzz invariants
//! (`testing::invariants`), so a rule is written once. Built only with the `testing` feature.
//! It uses nothing of the test harness, so the backends never import `testing`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `command`; (true when it exited 0, what it printed). A tool that cannot be run fails
/// the check: the tests never pass by skipping a checker.
pub fn run_tool(command: &mut Command, name: &str) -> Result<(bool, String), String> {
    let output = command
        .output()
        .map_err(|e| format!("{name} could not be run ({e}); .ci/run installs it"))?;
    Ok((
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    ))
}

/// Runs `sh -n` and `shellcheck` on one script.
pub fn check_shell_script(path: &Path) -> Result<(), String> {
    let (ok, said) = run_tool(Command::new("sh").arg("-n").arg(path), "sh")?;
    if !ok {
        return Err(format!("sh -n {}: {said}", path.display()));
    }
    let (ok, said) = run_tool(
        Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .arg(path),
        "shellcheck",
    )?;
    if !ok {
        return Err(format!(
            "shellcheck {}:\n{said}\n--- script:\n{}",
            path.display(),
            std::fs::read_to_string(path).unwrap_or_default()
        ));
    }
    Ok(())
}

/// Runs `sh -n` on each script and one `shellcheck` on all of them (the corpus makes thousands
/// of scripts, and one shellcheck per script dominated the run); when shellcheck complains,
/// the scripts are checked one by one to name the culprit with its text.
pub fn check_shell_scripts(paths: &[PathBuf]) -> Result<(), String> {
    if paths.is_empty() {
        return Ok(());
    }
    for path in paths {
        let (ok, said) = run_tool(Command::new("sh").arg("-n").arg(path), "sh")?;
        if !ok {
            return Err(format!("sh -n {}: {said}", path.display()));
        }
    }
    let (ok, said) = run_tool(
        Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .args(paths),
        "shellcheck",
    )?;
    if !ok {
        for path in paths {
            check_shell_script(path)?;
        }
        return Err(format!(
            "shellcheck failed on the scripts together, on none alone:\n{said}"
        ));
    }
    Ok(())
}

/// The scripts among `files` (by their `#!/bin/sh` line).
pub fn scripts(files: &[super::Installed]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| f.contents.starts_with(b"#!/bin/sh"))
        .map(|f| f.host.clone())
        .collect()
}

/// The line after which a script holds the command, and nothing else.
pub const COMMAND_MARKER: &str = "# shellcheck disable=all";

/// The rules every text file keeps: no control character but tab on any line; a script holds
/// the command on one line and each variable on one fully quoted `export` line; a file that
/// exports values is private to root and the run group.
pub fn check_text_file(contents: &str, mode: u32) -> Result<(), String> {
    for (index, line) in contents.split('\n').enumerate() {
        if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
            return Err(format!("line {}: control character {c:?}", index + 1));
        }
    }
    if contents.starts_with("#!") {
        check_script(contents)?;
    }
    if generated_lines(contents).any(|l| l.trim_start().starts_with("export ")) {
        // Env values are secrets: only root and the run group may read them.
        check_secret_mode(mode)?;
    }
    Ok(())
}

pub fn check_secret_mode(mode: u32) -> Result<(), String> {
    if mode % 0o10 == 0 {
        Ok(())
    } else {
        Err(format!("holds env values but has mode {mode:o}"))
    }
}

/// A shell script: the command marker at most once, and when present exactly one non-blank line
/// after it; every `export` line is `export KEY=WORD`, the word literal or counted
/// (`counted_word`).
fn check_script(contents: &str) -> Result<(), String> {
    let lines: Vec<&str> = contents.lines().collect();
    let markers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i] == COMMAND_MARKER)
        .collect();
    match markers[..] {
        [] => {}
        [at] => {
            let after = &lines[at + 1..];
            if after.len() != 1 || after[0].trim().is_empty() {
                return Err(format!(
                    "{} lines after the command marker, not one command: {after:?}",
                    after.len()
                ));
            }
        }
        _ => return Err(format!("{} command markers", markers.len())),
    }
    for line in generated_lines(contents) {
        if line.trim_start().starts_with("export ") {
            // A value a helper computes from its instance number is a counted word.
            if let Err(error) = export_line(line) {
                counted_export(line).map_err(|counted| format!("{error}; {counted}"))?;
            }
        }
    }
    Ok(())
}

/// The key and the parts of an `export KEY=PREFIX"$1"SUFFIX` or `export KEY=PREFIX"$(($1 +
/// N))"SUFFIX` line: a value a helper of several instances computes from its instance
/// number, which the helper has checked to be one of them. The prefix and the suffix are
/// literal words (or nothing), and the expansion is the only one.
pub fn counted_export(line: &str) -> Result<(String, CountedWord), String> {
    let (key, word) = export_parts(line)?;
    let word = counted_word(word).map_err(|e| format!("{e}: {line:?}"))?;
    Ok((key.to_owned(), word))
}

/// A counted word, read back: `prefix`, then the instance number plus `offset`, then `suffix`.
#[derive(Debug, PartialEq)]
pub struct CountedWord {
    pub prefix: String,
    pub offset: u32,
    pub suffix: String,
}

/// Reads back `PREFIX"$1"SUFFIX` or `PREFIX"$(($1 + N))"SUFFIX` (the parts as `unquote_sh`
/// reads them, each may be empty).
pub fn counted_word(word: &str) -> Result<CountedWord, String> {
    let literal = |part: &str| {
        if part.is_empty() {
            Ok(String::new())
        } else {
            unquote_sh(part)
        }
    };
    if let Some((prefix, suffix)) = word.split_once("\"$1\"") {
        return Ok(CountedWord {
            prefix: literal(prefix)?,
            offset: 0,
            suffix: literal(suffix)?,
        });
    }
    let (prefix, rest) = word
        .split_once("\"$(($1 + ")
        .ok_or_else(|| format!("not a literal or counted word: {word:?}"))?;
    let (offset, suffix) = rest
        .split_once("))\"")
        .ok_or_else(|| format!("unclosed arithmetic in {word:?}"))?;
    let offset = offset
        .parse()
        .ok()
        .filter(|_| offset.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("not a number added to the instance in {word:?}"))?;
    Ok(CountedWord {
        prefix: literal(prefix)?,
        offset,
        suffix: literal(suffix)?,
    })
}

/// The lines of a file that procexport wrote itself: all but the command after the marker.
pub fn generated_lines(contents: &str) -> impl Iterator<Item = &str> {
    contents.lines().take_while(|l| *l != COMMAND_MARKER)
}

/// The key and the value of an `export KEY=WORD` line.
pub fn export_line(line: &str) -> Result<(String, String), String> {
    let (key, word) = export_parts(line)?;
    let value = unquote_sh(word).map_err(|e| format!("{e}: {line:?}"))?;
    Ok((key.to_owned(), value))
}

/// The key and the word of an `export KEY=WORD` line, the key a variable name.
fn export_parts(line: &str) -> Result<(&str, &str), String> {
    let fail = |what: &str| format!("{what}: {line:?}");
    let rest = line
        .strip_prefix("export ")
        .ok_or_else(|| fail("indented export"))?;
    let (key, word) = rest
        .split_once('=')
        .ok_or_else(|| fail("export without ="))?;
    if !is_env_key(key) {
        return Err(fail("export of a key that is not a variable name"));
    }
    Ok((key, word))
}

/// True for a valid env key (the same rule the oracle of the fuzz targets applies).
pub fn is_env_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads back one shell word as the `sh` escaping filter writes it: bare inert characters,
/// `'...'` runs, `\x` escapes, and `"$nl"` for a newline. Anything else (a space, a `$`, a
/// quote left open) means the word is not one literal word, and is an error.
pub fn unquote_sh(word: &str) -> Result<String, String> {
    if word.is_empty() {
        return Err("empty word".to_owned());
    }
    let mut out = String::new();
    let mut rest = word;
    while let Some(c) = rest.chars().next() {
        if let Some(tail) = rest.strip_prefix("\"$nl\"") {
            out.push('\n');
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("\"$(printf '") {
            let end = tail
                .find("')\"")
                .ok_or_else(|| format!("unclosed printf in {word:?}"))?;
            out.push_str(&printf_octal(&tail[..end])?);
            rest = &tail[end + 3..];
        } else if let Some(tail) = rest.strip_prefix('\'') {
            let end = tail
                .find('\'')
                .ok_or_else(|| format!("unclosed quote in {word:?}"))?;
            out.push_str(&tail[..end]);
            rest = &tail[end + 1..];
        } else if let Some(tail) = rest.strip_prefix('\\') {
            let next = tail
                .chars()
                .next()
                .ok_or_else(|| format!("trailing backslash in {word:?}"))?;
            if next == '\n' {
                return Err(format!("line continuation in {word:?}"));
            }
            out.push(next);
            rest = &tail[next.len_utf8()..];
        } else if c.is_ascii_alphanumeric() || ",./_-:@+".contains(c) || !c.is_ascii() {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            return Err(format!("unquoted {c:?} in {word:?}"));
        }
    }
    Ok(out)
}

/// The text of a printf format made only of `\ooo` octal escapes.
pub fn printf_octal(format: &str) -> Result<String, String> {
    let bytes = format
        .split('\\')
        .skip(1)
        .map(|digits| {
            u8::from_str_radix(digits, 8)
                .ok()
                .filter(|_| digits.len() == 3)
                .ok_or_else(|| format!("not an octal escape in printf {format:?}"))
        })
        .collect::<Result<Vec<u8>, String>>()?;
    if !format.starts_with('\\') {
        return Err(format!("printf {format:?} is not only octal escapes"));
    }
    String::from_utf8(bytes).map_err(|_| format!("printf {format:?} is not UTF-8"))
}

/// The name of `path` when it is a file directly in `dir` (`/etc/init`, `/etc/init/a.conf`:
/// `a.conf`): how a backend's facts pick out its own files.
pub fn name_in<'a>(dir: &str, path: &'a str) -> Option<&'a str> {
    path.strip_prefix(dir.trim_end_matches('/'))
        .and_then(|r| r.strip_prefix('/'))
        .filter(|name| !name.is_empty() && !name.contains('/'))
}

/// The part of `path` below `dir` (anywhere under it), if it is under it.
pub fn under<'a>(dir: &str, path: &'a str) -> Option<&'a str> {
    path.strip_prefix(dir.trim_end_matches('/'))
        .and_then(|r| r.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
}

/// True when `path` is a file directly in `dir` with extension `extension` (no dot).
pub fn in_dir_with(dir: &str, path: &str, extension: &str) -> bool {
    name_in(dir, path).is_some_and(|n| Path::new(n).extension().is_some_and(|e| e == extension))
}
