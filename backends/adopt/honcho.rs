//! honcho 2.0's `export upstart` and `export systemd`, proven against its Jinja2 templates
//! (`honcho/export/templates/{upstart,systemd}/`). Jinja drops a template's last newline, so
//! honcho's files never end with one. Every process job carries `HONCHO_PROCESS_NAME=<type>.<N>`
//! first in its env: with the job's name, it pins the app (`fb-a-web-1` is app `fb-a`'s
//! `web.1` or app `fb`'s `a-web.1`; only that line tells which).

use super::{instance_number, stem, upstart_process_head, verdicts, Lines, Why};
use crate::install::installer::{Adoption, LegacyFile};

const HONCHO_UPSTART: &str = "honcho's upstart export";
const HONCHO_SYSTEMD: &str = "honcho's systemd export";

/// `master.conf`: the same for every app.
const UPSTART_MASTER: &str = "start on (started network-interface\n          \
    or started network-manager\n          or started networking)\n\n\
    stop on (stopping network-interface\n         or stopping network-manager\n         \
    or stopping networking)";

/// A process type as honcho's Procfile reader takes it (`[A-Za-z0-9_-]+`).
fn process_type(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What Python's `shlex.quote` writes: the value bare when every character is safe, else in
/// `'...'` with each `'` written `'"'"'`.
fn shell_quoted(value: &str) -> bool {
    let safe = |c: char| c.is_alphanumeric() || "_@%+=:,./-".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        return true;
    }
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .is_some_and(|v| v.split("'\"'\"'").all(|part| !part.contains('\'')))
}

/// An env name as a `.env` file gives it.
fn env_name(key: &str) -> bool {
    key.bytes().next().is_some_and(|b| !b.is_ascii_digit())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `text` with the newline honcho's files lack, for `Lines`; a file that has one is not
/// honcho's.
fn closed(text: &str) -> Result<String, Why> {
    if text.ends_with('\n') || text.is_empty() {
        return Err("it ends with a newline (or is empty), which {tool} never writes".to_owned());
    }
    Ok(format!("{text}\n"))
}

/// The env lines `<prefix>KEY=<shlex-quoted value>` up to the first line that is not one;
/// the first must be `<prefix>HONCHO_PROCESS_NAME=<process>`.
fn env_lines(lines: &mut Lines<'_>, prefix: &str, process: &str) -> Result<(), Why> {
    lines.exactly(&format!("{prefix}HONCHO_PROCESS_NAME={process}"))?;
    while let Some(line) = lines.peek().and_then(|l| l.strip_prefix(prefix)) {
        lines.next()?;
        let fits = line
            .split_once('=')
            .is_some_and(|(key, value)| env_name(key) && shell_quoted(value));
        if !fits {
            return Err(lines.differs());
        }
    }
    Ok(())
}

/// What honcho's `export upstart` wrote for app `full_name` in `dir`, among `found`: the
/// master `<app>.conf` (the same for every app: proven only with a process master of the
/// app beside it), each process master `<app>-<type>.conf` and each process job
/// `<app>-<type>-<N>.conf`, whose process master must be proven too.
pub fn upstart(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    let process_master = format!("start on starting {full_name}\nstop on stopping {full_name}");
    let masters: Vec<&str> = found
        .iter()
        .filter(|f| f.contents.as_deref() == Some(process_master.as_str()))
        .filter_map(|f| stem(&f.path, dir, ".conf"))
        .filter_map(|s| s.strip_prefix(full_name)?.strip_prefix('-'))
        .filter(|kind| process_type(kind))
        .collect();
    verdicts(found, HONCHO_UPSTART, |file, text| {
        let name = stem(&file.path, dir, ".conf").ok_or("it is not in the job directory")?;
        if name == full_name {
            if text != UPSTART_MASTER {
                let text = closed(text)?;
                let want: Vec<&str> = UPSTART_MASTER.split('\n').collect();
                return Err(Lines::new(&text).first_difference(&want));
            }
            if masters.is_empty() {
                return Err(format!(
                    "it is any app's master in {{tool}}, and no process job of {full_name} \
                     starts on it"
                ));
            }
            return Ok(());
        }
        if text == process_master {
            return Ok(());
        }
        upstart_process(full_name, name, &closed(text)?, &masters)
    })
}

/// Proves a honcho process job `<full_name>-<type>-<N>` (`name`) whose process master is one
/// of `masters`.
fn upstart_process(full_name: &str, name: &str, text: &str, masters: &[&str]) -> Result<(), Why> {
    let mut lines = Lines::new(text);
    let (kind, n) = upstart_process_head(&mut lines, full_name, name, masters)?;
    env_lines(&mut lines, "env ", &format!("{kind}.{n}"))?;
    lines.exactly("")?;
    // `exec su - USER -m -s SHELL -c 'cd APP_ROOT; exec COMMAND'`
    let exec = lines.value("exec su - ")?;
    let fits = exec
        .split_once(" -m -s ")
        .and_then(|(user, rest)| Some((user, rest.split_once(" -c 'cd ")?)))
        .is_some_and(|(user, (shell, run))| {
            !user.is_empty()
                && !user.contains(' ')
                && !shell.is_empty()
                && !shell.contains(' ')
                && run.contains("; exec ")
                && run.ends_with('\'')
        });
    if !fits {
        return Err(lines.differs());
    }
    lines.end()
}

/// What honcho's `export systemd` wrote for app `full_name` in `dir`, among `found`: each
/// service `<app>-<type>-<N>.service` (part of `<app>-<type>.target`), each process master
/// `<app>-<type>.target` (part of `<app>.target`, wanting only services proven), and the
/// master `<app>.target`, wanting only process masters proven.
pub fn systemd(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    let mut out = verdicts(found, HONCHO_SYSTEMD, |file, text| {
        match stem(&file.path, dir, ".service") {
            Some(name) => systemd_service(full_name, name, &closed(text)?),
            None if file.path.ends_with(".service") => {
                Err("it is not in the unit directory".to_owned())
            }
            None => Err(String::new()),
        }
    });
    let services = proven_units(&out, dir, ".service");
    let groups = verdicts(found, HONCHO_SYSTEMD, |file, text| {
        match stem(&file.path, dir, ".target") {
            Some(name) if name != full_name => {
                systemd_group(full_name, name, &closed(text)?, &services)
            }
            _ => Err(String::new()),
        }
    });
    merge(&mut out, groups, |path| {
        stem(path, dir, ".target").is_some_and(|name| name != full_name)
    });
    let groups = proven_units(&out, dir, ".target");
    let master = verdicts(found, HONCHO_SYSTEMD, |file, text| {
        match stem(&file.path, dir, ".target") {
            Some(name) if name == full_name => systemd_master(&closed(text)?, &groups),
            _ => Err(String::new()),
        }
    });
    merge(&mut out, master, |path| {
        stem(path, dir, ".target") == Some(full_name)
    });
    out
}

/// The unit names (with `suffix`) among `verdicts` proven so far.
fn proven_units(verdicts: &[Adoption], dir: &str, suffix: &str) -> Vec<String> {
    verdicts
        .iter()
        .filter(|a| a.proof.is_ok())
        .filter_map(|a| stem(&a.path, dir, suffix))
        .map(|name| format!("{name}{suffix}"))
        .collect()
}

/// Takes `later`'s verdict for each file `mine` says is its.
fn merge(out: &mut [Adoption], later: Vec<Adoption>, mine: impl Fn(&str) -> bool) {
    for (verdict, later) in out.iter_mut().zip(later) {
        if mine(&verdict.path) {
            *verdict = later;
        }
    }
}

/// `Wants=` naming only units of `proven`, one or more, space-separated.
fn wants_only(lines: &mut Lines<'_>, proven: &[String]) -> Result<(), Why> {
    let wants = lines.value("Wants=")?;
    if !wants
        .split(' ')
        .all(|unit| proven.iter().any(|p| p == unit))
    {
        return Err(format!(
            "line {} names units that are not {{tool}}'s for this app: {}",
            lines.line,
            crate::sanitize::Quoted(wants)
        ));
    }
    Ok(())
}

fn systemd_master(text: &str, groups: &[String]) -> Result<(), Why> {
    let mut lines = Lines::new(text);
    lines.exactly("[Unit]")?;
    wants_only(&mut lines, groups)?;
    lines.exactly("")?;
    lines.exactly("[Install]")?;
    lines.exactly("WantedBy=multi-user.target")?;
    lines.end()
}

/// A process master `<full_name>-<type>.target` (`name`).
fn systemd_group(full_name: &str, name: &str, text: &str, services: &[String]) -> Result<(), Why> {
    let kind = name
        .strip_prefix(full_name)
        .and_then(|rest| rest.strip_prefix('-'))
        .filter(|kind| process_type(kind))
        .ok_or_else(|| format!("its name is not {full_name}-<type>.target"))?;
    let mine: Vec<String> = services
        .iter()
        .filter(|s| {
            s.strip_prefix(&format!("{full_name}-{kind}-"))
                .and_then(|s| s.strip_suffix(".service"))
                .is_some_and(instance_number)
        })
        .cloned()
        .collect();
    let mut lines = Lines::new(text);
    lines.exactly("[Unit]")?;
    lines.exactly(&format!("PartOf={full_name}.target"))?;
    wants_only(&mut lines, &mine)?;
    lines.end()
}

/// A service `<full_name>-<type>-<N>` (`name`).
fn systemd_service(full_name: &str, name: &str, text: &str) -> Result<(), Why> {
    let mut lines = Lines::new(text);
    lines.exactly("[Unit]")?;
    let kind = lines
        .value(&format!("PartOf={full_name}-"))
        .ok()
        .and_then(|group| group.strip_suffix(".target"))
        .filter(|kind| process_type(kind))
        .ok_or_else(|| {
            format!("line 2 does not make it part of a target of {full_name} as {{tool}} does")
        })?;
    let n = name
        .strip_prefix(&format!("{full_name}-{kind}-"))
        .filter(|n| instance_number(n))
        .ok_or_else(|| {
            format!("its name is not {full_name}-{kind}-<N>.service, the target line 2 names")
        })?;
    lines.exactly("")?;
    lines.exactly("[Service]")?;
    lines.value("User=")?;
    lines.value("WorkingDirectory=")?;
    env_lines(&mut lines, "Environment=", &format!("{kind}.{n}"))?;
    // `ExecStart=SHELL -lc 'COMMAND'`
    let fits = lines
        .value("ExecStart=")?
        .split_once(" -lc '")
        .is_some_and(|(shell, command)| {
            !shell.is_empty()
                && !shell.contains(' ')
                && command.len() > 1
                && command.ends_with('\'')
        });
    if !fits {
        return Err(lines.differs());
    }
    for fixed in [
        "Restart=always",
        "StandardInput=null",
        "StandardOutput=journal",
        "StandardError=journal",
        "SyslogIdentifier=%n",
        "KillMode=process",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ] {
        lines.exactly(fixed)?;
    }
    lines.end()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{file, proven};
    use super::*;

    /// What honcho 2.0.0 wrote (`honcho export -a fb-a -u pxrun upstart`, `.env`: `A='it s'`).
    const JOB: &str = "start on starting fb-a-web\nstop on stopping fb-a-web\nrespawn\n\n\
        env HONCHO_PROCESS_NAME=web.1\nenv A='it s'\nenv B=plain\nenv PORT=5000\n\n\
        exec su - pxrun -m -s /bin/sh -c 'cd /srv/a; exec python3 -m http.server $PORT'";

    #[test]
    fn honchos_upstart_chain_is_proven_and_nothing_else() {
        let found = [
            file("/etc/init/fb-a.conf", UPSTART_MASTER),
            file(
                "/etc/init/fb-a-web.conf",
                "start on starting fb-a\nstop on stopping fb-a",
            ),
            file("/etc/init/fb-a-web-1.conf", JOB),
            // A newline at the end, as an editor adds: not byte for byte honcho's.
            file(
                "/etc/init/fb-a-web-2.conf",
                &format!("{}\n", JOB.replace("web.1", "web.2")),
            ),
            // A line added.
            file(
                "/etc/init/fb-a-web-3.conf",
                &JOB.replace("web.1", "web.3")
                    .replace("\n\nexec", "\nexec rm -rf /\n\nexec"),
            ),
            // App fb's process a-web.1 is not app fb-a's web.1.
            file(
                "/etc/init/fb-a-web-4.conf",
                &JOB.replace("web.1", "a-web.4"),
            ),
        ];
        let verdicts = upstart("/etc/init", "fb-a", &found);
        assert_eq!(
            proven(&verdicts),
            [
                "/etc/init/fb-a.conf",
                "/etc/init/fb-a-web.conf",
                "/etc/init/fb-a-web-1.conf"
            ]
        );
        let why = |i: usize| verdicts[i].proof.clone().unwrap_err();
        assert!(why(3).contains("ends with a newline"), "{}", why(3));
        assert!(
            why(4).contains("line 9 differs from what honcho's upstart"),
            "{}",
            why(4)
        );
        assert!(why(5).contains("line 5"), "{}", why(5));
        // The master alone proves nothing; another app's names prove nothing.
        assert!(proven(&upstart("/etc/init", "fb-a", &found[..1])).is_empty());
        assert!(proven(&upstart("/etc/init", "fb", &found)).is_empty());
    }

    const SERVICE: &str = "[Unit]\nPartOf=fb-a-web.target\n\n[Service]\nUser=pxrun\n\
        WorkingDirectory=/srv/a\nEnvironment=HONCHO_PROCESS_NAME=web.1\nEnvironment=A='it s'\n\
        Environment=PORT=5000\nExecStart=/bin/sh -lc 'python3 -m http.server $PORT'\n\
        Restart=always\nStandardInput=null\nStandardOutput=journal\nStandardError=journal\n\
        SyslogIdentifier=%n\nKillMode=process\n\n[Install]\nWantedBy=multi-user.target";

    #[test]
    fn honchos_systemd_units_are_proven_and_nothing_else() {
        let dir = "/etc/systemd/system";
        let found = [
            file(
                &format!("{dir}/fb-a.target"),
                "[Unit]\nWants=fb-a-web.target\n\n[Install]\nWantedBy=multi-user.target",
            ),
            file(
                &format!("{dir}/fb-a-web.target"),
                "[Unit]\nPartOf=fb-a.target\nWants=fb-a-web-1.service",
            ),
            file(&format!("{dir}/fb-a-web-1.service"), SERVICE),
            file(
                &format!("{dir}/fb-a-web-2.service"),
                &SERVICE
                    .replace("web.1", "web.2")
                    .replace("User=pxrun", "User=root\nExecStartPre=/bin/sh"),
            ),
        ];
        let verdicts = systemd(dir, "fb-a", &found);
        assert_eq!(
            proven(&verdicts),
            [found[0].path.as_str(), &found[1].path, &found[2].path]
        );
        let why = verdicts[3].proof.clone().unwrap_err();
        assert!(
            why.contains("line 6 differs from what honcho's systemd"),
            "{why}"
        );
        // A process master that wants a unit not proven is not proven, nor its master.
        let greedy = [
            found[0].clone(),
            file(
                &found[1].path,
                "[Unit]\nPartOf=fb-a.target\nWants=fb-a-web-1.service ssh.service",
            ),
            found[2].clone(),
        ];
        assert_eq!(
            proven(&systemd(dir, "fb-a", &greedy)),
            [found[2].path.as_str()]
        );
        // App fb's names are not app fb-a's.
        assert!(proven(&systemd(dir, "fb", &found)).is_empty());
    }
}
