//! Strict checker for Upstart job files (`/etc/init/*.conf`), written from the init(5) grammar
//! of Upstart 1.x and the Upstart cookbook. Upstart cannot be installed in the test environment,
//! so integration tests run every generated `.conf` through [`check`] to prove it is well formed:
//! known stanzas only, balanced `script` blocks, valid `start on`/`stop on` event expressions,
//! numbers in range, no duplicated single-valued stanzas and no control characters.
//! It is deliberately stricter than init(8) where init(8) would silently accept a likely bug
//! (an indented stanza, which procexport never writes, is refused).
//! It is the one Upstart checker: the integration tests run it on every installed job file
//! and the fuzz targets' invariants on every rendered one.

use std::collections::HashMap;
use std::fmt::Display;

const SIGNALS: &str = "HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM \
                       STKFLT CHLD CLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH \
                       IO POLL PWR SYS";
const RESOURCES: &str = "as core cpu data fsize memlock msgqueue nice nofile nproc rss rtprio \
                         sigpending stack";
const PROCESSES: &[&str] = &["pre-start", "post-start", "pre-stop", "post-stop"];
/// Stanzas that may appear once (keyed by their first two words where they have sub-stanzas).
const SINGLE: &str = "description author version usage instance manual task respawn kill reload \
                      expect console umask nice oom limit chroot chdir setuid setgid start stop \
                      pre-start post-start pre-stop post-stop";
type Res = Result<(), String>;
const LONE_BACKSLASH: &str = "lone backslash at the end of the file";

/// Checks one Upstart job file; returns every problem found, each as "line N: what is wrong".
pub fn check(text: &str) -> Result<(), Vec<String>> {
    check_with(text, false)
}

/// `check`, plus the layout procexport always writes: every stanza on one line at the first
/// column. init(8) would join a line ending in `\` with the next and take an indented stanza,
/// but in a generated file either one is a line a value started.
pub fn check_generated(text: &str) -> Result<(), Vec<String>> {
    check_with(text, true)
}

fn check_with(text: &str, generated: bool) -> Result<(), Vec<String>> {
    let mut c = Checker::default();
    for (i, raw) in text.split('\n').enumerate() {
        let bad = |ch: char| ch.is_control() && ch != '\t';
        if let Some(ch) = raw.chars().find(|&ch| bad(ch)) {
            let code = u32::from(ch);
            c.err(
                i + 1,
                format!("control character U+{code:04X} is not allowed"),
            );
        }
        // Parsing goes on with such characters blanked, to avoid follow-up errors.
        c.lines.push(raw.replace(bad, " "));
    }
    while c.pos < c.lines.len() {
        let line = c.pos + 1;
        let text = c.logical();
        if generated && c.pos > line {
            c.err(line, "a stanza continued onto the next line".to_owned());
        }
        match tokenize(&text, false) {
            Err(e) => c.err(line, e),
            Ok(toks) if toks.is_empty() => {}
            Ok(_) if generated && text.starts_with([' ', '\t']) => {
                c.err(line, "a stanza that does not start at the first column".to_owned());
            }
            Ok(toks) => {
                let words: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
                if let Err(e) = c.stanza(line, &text, &words) {
                    c.err(line, e);
                }
            }
        }
    }
    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(c.errors)
    }
}

#[derive(Default)]
struct Checker {
    lines: Vec<String>,
    pos: usize,
    errors: Vec<String>,
    seen: HashMap<String, usize>,
    main: Option<(usize, String)>,
}

/// One word of a stanza line, with quotes and backslash escapes removed.
#[derive(Default)]
struct Tok {
    text: String,
    quoted: bool,
}

/// Splits a logical line into words: blanks separate words, quotes group, a backslash escapes
/// the next character and an unquoted `#` starts a comment. With `parens`, unquoted `(` and `)`
/// are words of their own (as in `start on` expressions).
fn tokenize(line: &str, parens: bool) -> Result<Vec<Tok>, String> {
    let (mut toks, mut cur, mut quote) = (Vec::new(), None::<Tok>, None);
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        if ch == '\\' {
            let next = chars.next().ok_or(LONE_BACKSLASH)?;
            cur.get_or_insert_with(Tok::default).text.push(next);
        } else if quote == Some(ch) {
            quote = None;
        } else if quote.is_some() {
            cur.get_or_insert_with(Tok::default).text.push(ch);
        } else if ch == '"' || ch == '\'' {
            quote = Some(ch);
            cur.get_or_insert_with(Tok::default).quoted = true;
        } else if ch == ' ' || ch == '\t' {
            toks.extend(cur.take());
        } else if ch == '#' {
            if let Some(t) = cur {
                let word = t.text;
                return Err(format!("`#` after `{word}` starts a comment; quote it"));
            }
            break;
        } else if parens && (ch == '(' || ch == ')') {
            toks.extend(cur.take());
            let text = ch.into();
            toks.push(Tok {
                text,
                quoted: false,
            });
        } else {
            cur.get_or_insert_with(Tok::default).text.push(ch);
        }
    }
    if let Some(q) = quote {
        return Err(format!(
            "unterminated {q} quote (must close on the same line)"
        ));
    }
    toks.extend(cur);
    Ok(toks)
}

/// Starts with a letter, `_` (or a digit if `digit_first`); then alphanumerics, `_` or `extra`.
fn is_name(s: &str, digit_first: bool, extra: &str) -> bool {
    let first = |c: char| c.is_ascii_alphabetic() || c == '_' || digit_first && c.is_ascii_digit();
    let rest = |c: char| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c);
    s.starts_with(first) && s.chars().all(rest)
}

fn is_ident(s: &str) -> bool {
    is_name(s, false, "")
}

fn is_signal_name(s: &str) -> bool {
    let name = s.strip_prefix("SIG").unwrap_or(s);
    SIGNALS.split(' ').any(|n| n == name)
}

/// Returns `Err(format!(...))` from the enclosing function unless the condition holds.
macro_rules! ensure {
    ($ok:expr, $($msg:tt)+) => {
        if !$ok {
            return Err(format!($($msg)+));
        }
    };
}

/// Exactly one non-empty argument.
fn one<'a>(name: &str, args: &[&'a str]) -> Result<&'a str, String> {
    match args {
        [""] => Err(format!("`{name}` has an empty argument")),
        [arg] => Ok(arg),
        _ => Err(format!("`{name}` takes one argument, found {}", args.len())),
    }
}

/// A decimal integer within `lo..=hi`.
fn int(name: &str, v: &str, lo: i64, hi: i64) -> Res {
    let ok = !v.starts_with('+') && v.parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n));
    ensure!(ok, "`{name}`: `{v}` is not an integer in {lo}..={hi}");
    Ok(())
}

fn choice(name: &str, args: &[&str], allowed: &[&str]) -> Res {
    let v = one(name, args)?;
    let (ok, all) = (allowed.contains(&v), allowed.join("|"));
    ensure!(ok, "`{name}`: `{v}` is not one of {all}");
    Ok(())
}

impl Checker {
    fn err(&mut self, line: usize, msg: impl Display) {
        self.errors.push(format!("line {line}: {msg}"));
    }

    /// Reads one logical line (joining backslash continuations) and advances past it.
    fn logical(&mut self) -> String {
        let mut text = self.lines[self.pos].clone();
        self.pos += 1;
        while self.pos < self.lines.len()
            && tokenize(&text, false).is_err_and(|e| e == LONE_BACKSLASH)
        {
            text.pop();
            text.push(' ');
            text.push_str(&self.lines[self.pos]);
            self.pos += 1;
        }
        text
    }

    #[allow(clippy::too_many_lines)] // one flat arm per stanza form reads best
    fn stanza(&mut self, line: usize, text: &str, w: &[&str]) -> Res {
        let (name, args) = (w[0], &w[1..]);
        if SINGLE.split_whitespace().any(|s| s == name) {
            let key = match (name, args) {
                ("respawn" | "kill" | "reload" | "oom" | "limit" | "start" | "stop", [sub, ..]) => {
                    format!("{name} {sub}")
                }
                _ => name.to_owned(),
            };
            match self.seen.get(&key) {
                Some(first) => self.err(line, format!("duplicate `{key}` (first at line {first})")),
                None => drop(self.seen.insert(key, line)),
            }
        }
        let max = i32::MAX.into();
        match (name, args) {
            ("description" | "author" | "version" | "usage" | "instance", _) => {
                one(name, args).map(drop)
            }
            ("manual" | "task" | "respawn", [])
            | ("emits", [_, ..])
            | ("respawn", ["limit", "unlimited"])
            | ("oom", ["score", "never"]) => Ok(()),
            ("manual" | "task", _) => Err(format!("`{name}` takes no arguments")),
            ("emits", []) => Err("`emits` needs at least one event name".into()),
            ("respawn", ["limit", count, interval]) => {
                int("respawn limit", count, 0, max).and(int("respawn limit", interval, 0, max))
            }
            ("respawn", _) => Err("expected `respawn limit COUNT INTERVAL` or `unlimited`".into()),
            ("normal", ["exit", codes @ ..]) if !codes.is_empty() => {
                for c in codes.iter().filter(|c| !is_signal_name(c)) {
                    let ok = int("", c, 0, 255).is_ok();
                    ensure!(ok, "`normal exit`: `{c}` is not a status 0-255 or a signal");
                }
                Ok(())
            }
            ("normal", _) => Err("expected `normal exit STATUS|SIGNAL...`".into()),
            ("kill", ["timeout", rest @ ..]) => {
                int("kill timeout", one("kill timeout", rest)?, 0, max)
            }
            ("kill" | "reload", ["signal", rest @ ..]) => {
                let sig = one(&format!("{name} signal"), rest)?;
                let ok = is_signal_name(sig) || int("", sig, 1, 64).is_ok();
                ensure!(ok, "`{name} signal`: unknown signal `{sig}`");
                Ok(())
            }
            ("kill", _) => Err("expected `kill timeout N` or `kill signal SIGNAL`".into()),
            ("reload", _) => Err("expected `reload signal SIGNAL`".into()),
            ("expect", _) => choice(name, args, &["fork", "daemon", "stop"]),
            ("console", _) => choice(name, args, &["none", "log", "output", "owner"]),
            ("exec" | "script", _) => {
                match self.main.clone() {
                    Some((first, kind)) if kind == name => {
                        self.err(line, format!("duplicate `{name}` (first at line {first})"));
                    }
                    Some((first, kind)) => {
                        let msg = format!("`{kind}` (line {first}) and `{name}`");
                        self.err(line, format!("{msg} both define the main process"));
                    }
                    None => self.main = Some((line, name.to_owned())),
                }
                self.process(line, name, name, args)
            }
            (p, [kind, rest @ ..]) if PROCESSES.contains(&p) => {
                self.process(line, &format!("{p} {kind}"), kind, rest)
            }
            (p, []) if PROCESSES.contains(&p) => self.process(line, p, "", args),
            ("start" | "stop", ["on", ..]) => self.on(text, &format!("{name} on")),
            ("env" | "export", _) => {
                let arg = one(name, args)?;
                let key = arg
                    .split_once('=')
                    .filter(|_| name == "env")
                    .map_or(arg, |(k, _)| k);
                ensure!(is_ident(key), "`{name}`: invalid variable name `{key}`");
                Ok(())
            }
            ("umask", _) => {
                let v = one(name, args)?;
                let ok = !v.starts_with('+') && u32::from_str_radix(v, 8).is_ok_and(|m| m <= 0o777);
                ensure!(ok, "`umask` must be octal 000-777, found `{v}`");
                Ok(())
            }
            ("nice", _) => int(name, one(name, args)?, -20, 19),
            ("oom", ["score", rest @ ..]) => int("oom score", one("oom score", rest)?, -999, 1000),
            ("oom", _) => Err("expected `oom score ADJUSTMENT|never`".into()),
            ("limit", [res, soft, hard]) if RESOURCES.split_whitespace().any(|r| r == *res) => {
                let value = |v: &str| (v == "unlimited").then_some(u64::MAX).or(v.parse().ok());
                match (value(soft), value(hard)) {
                    (Some(s), Some(h)) if s > h => Err(format!("`limit {res}`: {soft} > {hard}")),
                    (Some(_), Some(_)) => Ok(()),
                    _ => Err(format!("`limit {res}`: want integers or `unlimited`")),
                }
            }
            ("limit", _) => Err(format!("expected `limit RESOURCE SOFT HARD` ({RESOURCES})")),
            ("chroot" | "chdir", _) => {
                let dir = one(name, args)?;
                ensure!(dir.starts_with('/'), "`{name}`: `{dir}` is not absolute");
                Ok(())
            }
            ("setuid" | "setgid", _) => {
                let user = one(name, args)?;
                let ok = is_name(user.strip_suffix('$').unwrap_or(user), false, ".-");
                ensure!(ok, "`{name}`: invalid user/group name `{user}`");
                Ok(())
            }
            ("apparmor", [kind @ ("load" | "switch"), rest @ ..]) => {
                one(&format!("apparmor {kind}"), rest).map(drop)
            }
            ("apparmor", _) => Err("expected `apparmor load|switch NAME`".into()),
            ("cgroup", [_, ..]) if args.len() <= 4 => Ok(()),
            ("cgroup", _) => Err("expected `cgroup CONTROLLER [NAME] [KEY VALUE]`".into()),
            ("end", ["script"]) => Err("`end script` without an open script block".into()),
            _ => Err(format!("unknown stanza `{}`", w.join(" "))),
        }
    }

    /// A process definition: `exec COMMAND...` or `script` followed by a block.
    fn process(&mut self, line: usize, label: &str, kind: &str, rest: &[&str]) -> Res {
        match (kind, rest) {
            ("exec", []) => Err(format!("`{label}` needs a command")),
            ("exec", _) => Ok(()),
            ("script", _) => {
                if !rest.is_empty() {
                    let extra = rest.join(" ");
                    self.err(line, format!("unexpected `{extra}` after `{label}`"));
                }
                self.block(line, label);
                Ok(())
            }
            _ => Err(format!("`{label}` needs `exec COMMAND` or `script`")),
        }
    }

    /// Skips the shell text of a script block opened at `open`, up to its `end script`.
    fn block(&mut self, open: usize, label: &str) {
        while let Some(text) = self.lines.get(self.pos) {
            self.pos += 1;
            let code = text.split('#').next().unwrap_or("");
            let words: Vec<&str> = code.split_whitespace().collect();
            let nested = match words[..] {
                ["end", "script"] => return,
                ["end", "script", ..] => return self.err(self.pos, "`end script` must be alone"),
                ["script"] => true,
                [p, "script"] => PROCESSES.contains(&p),
                _ => false,
            };
            if nested {
                let what = words.join(" ");
                let msg = format!("nested `{what}`: `{label}` (line {open}) not closed");
                self.err(self.pos, msg);
            }
        }
        self.err(open, format!("`{label}` is not closed by `end script`"));
    }

    /// `start on` / `stop on`; the expression goes on over the following lines while
    /// parentheses are open.
    fn on(&mut self, text: &str, what: &str) -> Res {
        let mut toks = tokenize(text, true)?;
        toks.drain(..2);
        let depth = |toks: &[Tok]| {
            let open = toks.iter().filter(|t| kind(t) == "(").count();
            open > toks.iter().filter(|t| kind(t) == ")").count()
        };
        while depth(&toks) && self.pos < self.lines.len() {
            let n = self.pos + 1;
            match tokenize(&self.logical(), true) {
                Ok(more) => toks.extend(more),
                Err(e) => self.err(n, e),
            }
        }
        parse_expr(&toks).map_err(|e| format!("`{what}`: {e}"))
    }
}

/// Classifies an expression word as `(`, `)`, `op` (`and`/`or`) or `word`.
fn kind(t: &Tok) -> &str {
    match t.text.as_str() {
        "(" | ")" if !t.quoted => &t.text,
        "and" | "or" if !t.quoted => "op",
        _ => "word",
    }
}

/// Checks `EVENT [[KEY[!]=]VALUE]... [and|or ...]` with balanced parentheses.
fn parse_expr(toks: &[Tok]) -> Res {
    let (mut depth, mut i, mut prev) = (0, 0, "");
    while let Some(t) = toks.get(i) {
        i += 1;
        let (k, after_event) = (kind(t), prev == "word" || prev == ")");
        match k {
            "(" if !after_event => depth += 1,
            ")" if after_event && depth > 0 => depth -= 1,
            ")" if prev == "(" => return Err("empty parentheses `()`".into()),
            ")" if prev == "op" => return Err(format!("dangling `{}`", toks[i - 2].text)),
            ")" => return Err("unbalanced parentheses: unexpected `)`".into()),
            "op" if after_event => {}
            "op" => return Err(format!("`{}` without an event before it", t.text)),
            "word" if !after_event => {
                let start = i;
                while toks.get(i).is_some_and(|t| kind(t) == "word") {
                    i += 1;
                }
                check_event(&t.text, &toks[start..i])?;
            }
            _ => return Err(format!("expected `and` or `or`, found `{}`", t.text)),
        }
        prev = k;
    }
    match toks.last() {
        None => Err("empty event expression".into()),
        Some(t) if prev == "op" => Err(format!("dangling `{}`", t.text)),
        _ if depth > 0 => Err("unbalanced parentheses: `(` is never closed".into()),
        _ => Ok(()),
    }
}

fn check_event(name: &str, args: &[Tok]) -> Res {
    ensure!(is_name(name, true, "-.:/+"), "invalid event name `{name}`");
    let mut positional = 0;
    for arg in args {
        if let Some((key, value)) = arg.text.split_once('=') {
            let key = key.strip_suffix('!').unwrap_or(key);
            ensure!(is_ident(key), "invalid variable name in `{}`", arg.text);
            if name == "runlevel" && (key == "RUNLEVEL" || key == "PREVLEVEL") {
                runlevel(value, key == "PREVLEVEL")?;
            }
        } else if name == "runlevel" {
            ensure!(
                positional < 2,
                "`runlevel` takes at most two positional arguments"
            );
            runlevel(&arg.text, positional == 1)?;
            positional += 1;
        }
    }
    Ok(())
}

/// A runlevel pattern: `[2345]`, `[!2345]`, `[S]` or one runlevel (`N` allowed for PREVLEVEL).
fn runlevel(v: &str, prev: bool) -> Res {
    let level = |c: char| matches!(c, '0'..='6' | 'S' | 's') || (prev && c == 'N');
    let ok = match v.strip_prefix('[').map(|r| r.strip_suffix(']')) {
        Some(Some(set)) => {
            let set = set.strip_prefix('!').unwrap_or(set);
            !set.is_empty() && set.chars().all(level)
        }
        Some(None) => false,
        None => v.chars().count() == 1 && v.chars().all(level),
    };
    ensure!(ok, "malformed runlevel `{v}` (e.g. `[2345]`, `[!2345]`)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;
    use pretty_assertions::assert_eq;

    const MASTER: &str = "\
# fb-myapp: master job of app myapp
description \"fb-myapp\"
start on runlevel [2345]
stop on runlevel [!2345]

pre-start script
  [ -d /var/log/fb-myapp ] || { mkdir -m 0750 /var/log/fb-myapp && \
chown pxrun:pxrun /var/log/fb-myapp; }
end script
";

    const PROCESS: &str = "\
description \"fb-myapp-web\"
start on starting fb-myapp
stop on stopping fb-myapp
respawn
respawn limit 5 10
kill timeout 30
setuid pxrun
setgid pxrun
exec /bin/sh /var/local/upstart_helpers/fb-myapp-web.sh
";

    /// Asserts that `job` is rejected with exactly the `expected` problems (one per line).
    fn rejects(job: &str, expected: &str) {
        let expected = expected.lines().map(|e| e.trim().to_owned()).collect();
        assert_eq!(check(job), Err(expected), "for {job:?}");
    }

    /// For each `JOB => REASON` row, asserts that JOB (`⏎` standing for a newline) gets exactly
    /// one problem, starting with REASON, which is prefixed with `line 1: ` unless it names a line.
    fn rejects_each(table: &str) {
        for row in table.lines().map(str::trim).filter(|row| !row.is_empty()) {
            let (job, reason) = row.split_once(" => ").expect("a `JOB => REASON` row");
            let job = job.trim_end().replace('⏎', "\n");
            let want = if reason.starts_with("line ") {
                reason.into()
            } else {
                format!("line 1: {reason}")
            };
            let errors = check(&job).expect_err(&job);
            let ok = errors.len() == 1 && errors[0].starts_with(&want);
            assert!(ok, "for {job:?} expected `{want}`, got {errors:?}");
        }
    }

    #[test]
    fn accepts_master_job() {
        assert_eq!(check(MASTER), Ok(()));
    }

    #[test]
    fn accepts_process_job() {
        assert_eq!(check(PROCESS), Ok(()));
    }

    #[test]
    fn accepts_the_rest_of_the_grammar() {
        let job = r##"author "Jane Doe <jane@example.com>"   # trailing comment
version 1.2
usage "start fb-myapp-web PORT=N"
emits fb-myapp-ready fb-myapp-gone
instance $PORT
manual
task
start on (filesystem and net-device-up IFACE!=lo) or runlevel RUNLEVEL=[S] \
    or startup
stop on (stopped fb-myapp   # a comment inside the expression
         or runlevel [016] N or "and")
normal exit 0 1 TERM SIGHUP
kill signal SIGINT
reload signal 10
expect daemon
console log
env PORT=5000
env GREETING="hello world"
env HOME
export PORT
umask 0027
nice -5
oom score never
limit nofile 4096 8192
limit core unlimited unlimited
chroot /srv/jail
chdir /srv/app
apparmor switch /usr/bin/fb-myapp
cgroup memory $UPSTART_CGROUP limit_in_bytes 52428800
script
  echo "# not a comment for upstart" \
  exec /usr/bin/app --port "$PORT"
end script   # done
post-stop exec rm -f /run/fb-myapp.pid
pre-stop script
end script
"##;
        assert_eq!(check(job), Ok(()));
        assert_eq!(
            check("start on runlevel [S] N\nstop on runlevel PREVLEVEL!=[N2]\n"),
            Ok(())
        );
    }

    #[test]
    fn rejects_unknown_stanzas() {
        rejects_each(
            "
            respawn⏎restart always => line 2: unknown stanza `restart always`
            Description \"x\"      => unknown stanza `Description x`
            debug                  => unknown stanza `debug`
            start at startup       => unknown stanza `start at startup`
            ",
        );
    }

    #[test]
    fn rejects_unbalanced_script_blocks() {
        rejects_each(
            "
            author x⏎script⏎  echo hi        => line 2: `script` is not closed by `end script`
            post-stop script⏎  rm -f /run/x => `post-stop script` is not closed by `end script`
            pre-start script⏎end script now => line 2: `end script` must be alone
            exec /bin/true⏎end script       => line 2: `end script` without an open script block
            pre-start script⏎script⏎end script => line 2: nested `script`: `pre-start script`
            script⏎post-stop script⏎end script => line 2: nested `post-stop script`: `script` (
            ",
        );
    }

    #[test]
    fn rejects_malformed_runlevels() {
        for bad in ["[23", "[2x]", "2345", "[]", "[!]", "23]", "[7]", "N"] {
            let job = format!("description x\nstart on runlevel {bad}\n");
            let reason = format!("malformed runlevel `{bad}` (e.g. `[2345]`, `[!2345]`)");
            rejects(&job, &format!("line 2: `start on`: {reason}"));
        }
        rejects_each(
            "
            stop on runlevel RUNLEVEL=2345 => `stop on`: malformed runlevel `2345`
            stop on runlevel [06] [2] 3    => `stop on`: `runlevel` takes at most two positional
            ",
        );
    }

    #[test]
    fn rejects_malformed_event_expressions() {
        rejects_each(
            "
            start on starting fb-myapp and => `start on`: dangling `and`
            start on or startup            => `start on`: `or` without an event before it
            start on a and or b            => `start on`: `or` without an event before it
            start on (startup or)          => `start on`: dangling `or`
            start on                       => `start on`: empty event expression
            stop on # nothing              => `stop on`: empty event expression
            start on ()                    => `start on`: empty parentheses `()`
            start on filesystem)           => `start on`: unbalanced parentheses: unexpected `)`
            start on (a) b                 => `start on`: expected `and` or `or`, found `b`
            start on a (b)                 => `start on`: expected `and` or `or`, found `(`
            start on a FOO=1 1X=2          => `start on`: invalid variable name in `1X=2`
            start on =x                    => `start on`: invalid event name `=x`
            task⏎start on (a and⏎ b        => line 2: `start on`: unbalanced parentheses: `(` is
            start on (a or⏎ b) and⏎task    => `start on`: dangling `and`
            ",
        );
    }

    #[test]
    fn rejects_non_numeric_or_out_of_range_numbers() {
        rejects_each(
            "
            kill timeout soon     => `kill timeout`: `soon` is not an integer in 0..=2147483647
            kill timeout -1       => `kill timeout`: `-1` is not an integer in 0..=2147483647
            respawn limit 5       => expected `respawn limit COUNT INTERVAL` or `unlimited`
            respawn limit 5 ten   => `respawn limit`: `ten` is not an integer in 0..=2147483647
            nice 20               => `nice`: `20` is not an integer in -20..=19
            umask 0899            => `umask` must be octal 000-777, found `0899`
            umask 1777            => `umask` must be octal 000-777, found `1777`
            oom score -1000       => `oom score`: `-1000` is not an integer in -999..=1000
            oom -5                => expected `oom score ADJUSTMENT|never`
            limit nofile lots 10  => `limit nofile`: want integers or `unlimited`
            limit nofile 10 5     => `limit nofile`: 10 > 5
            limit files 1 2       => expected `limit RESOURCE SOFT HARD`
            normal exit 0 256     => `normal exit`: `256` is not a status 0-255 or a signal
            normal exit 0 FOO     => `normal exit`: `FOO` is not a status 0-255 or a signal
            normal exit           => expected `normal exit STATUS|SIGNAL...`
            kill signal TERMINATE => `kill signal`: unknown signal `TERMINATE`
            ",
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        rejects_each(
            r#"
            setuid pxrun staff        => `setuid` takes one argument, found 2
            setgid                    => `setgid` takes one argument, found 0
            setuid 0day!              => `setuid`: invalid user/group name `0day!`
            exec                      => `exec` needs a command
            exec   # just a comment   => `exec` needs a command
            pre-start exec            => `pre-start exec` needs a command
            post-stop                 => `post-stop` needs `exec COMMAND` or `script`
            description fb myapp      => `description` takes one argument, found 2
            description "fb-myapp     => unterminated " quote (must close on the same line)
            author ''                 => `author` has an empty argument
            env 1PORT=5000            => `env`: invalid variable name `1PORT`
            env PORT=5000 HOST=x      => `env` takes one argument, found 2
            export PORT=1             => `export`: invalid variable name `PORT=1`
            expect forks              => `expect`: `forks` is not one of fork|daemon|stop
            console syslog            => `console`: `syslog` is not one of none|log|output|owner
            chdir srv/app             => `chdir`: `srv/app` is not absolute
            task now                  => `task` takes no arguments
            emits                     => `emits` needs at least one event name
            exec /bin/app --tag=a#b   => `#` after `--tag=a` starts a comment; quote it
            script echo hi⏎end script => unexpected `echo hi` after `script`
            exec /bin/app \           => lone backslash at the end of the file
            "#,
        );
    }

    #[test]
    fn rejects_duplicate_single_valued_stanzas() {
        rejects(
            &format!("{PROCESS}setuid other\n"),
            "line 10: duplicate `setuid` (first at line 7)",
        );
        let job = "start on a\nstop on b\nstart on c\nauthor x\nauthor y\nkill timeout 5\n\
                   respawn limit 1 2\nkill timeout 6\nrespawn limit unlimited\nexec a\nexec b\n";
        rejects(
            job,
            "line 3: duplicate `start on` (first at line 1)
             line 5: duplicate `author` (first at line 4)
             line 8: duplicate `kill timeout` (first at line 6)
             line 9: duplicate `respawn limit` (first at line 7)
             line 11: duplicate `exec` (first at line 10)",
        );
    }

    #[test]
    fn rejects_exec_and_script_together_and_control_characters() {
        rejects_each(
            "
            exec /bin/app⏎script⏎end script => line 2: `exec` (line 1) and `script` both
            description x\r⏎respawn => control character U+000D is not allowed
            script⏎  echo \u{1b}[1m⏎end script => line 2: control character U+001B is not
            ",
        );
        assert_eq!(check("exec\t/bin/true\n"), Ok(()));
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        rejects(
            "description x\nfoo\nkill timeout x\nstart on (a\n",
            "line 2: unknown stanza `foo`
             line 3: `kill timeout`: `x` is not an integer in 0..=2147483647
             line 4: `start on`: unbalanced parentheses: `(` is never closed",
        );
    }
}
