//! Proofs for `--adopt`: whether a file found under an app's name is exactly what an older
//! exporter writes for that app. Each proof follows the tool's own template line by line: the
//! text the template fixes must be there byte for byte, the app's name wherever the template
//! puts it, and the values the template leaves open (run user, directory, port, env, the
//! command) only where it puts them, one line each. A file with anything more, less or
//! different is not proven, and the answer says at which line.
//!
//! Covered: foreman 0.87's `export upstart` (master, process master and process jobs) and
//! `export systemd` (the app's target and its services), here; honcho 2.0's `export upstart`
//! and `export systemd` (`honcho.rs`); init-exporter 0.25.0's Upstart and systemd exports
//! (`init_exporter.rs`).

mod honcho;
mod init_exporter;

use crate::install::installer::{Adoption, LegacyFile};

/// Every proof an upstart job directory has, for app `full_name`: a file is adopted when one
/// tool's proof holds; else the answer gives each tool's reason.
pub fn upstart(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    any_of([
        foreman_upstart(dir, full_name, found),
        honcho::upstart(dir, full_name, found),
        init_exporter::upstart(dir, full_name, found),
    ])
}

/// Every proof a systemd unit directory has, for app `full_name` (see `upstart`).
pub fn systemd(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    any_of([
        foreman_systemd(dir, full_name, found),
        honcho::systemd(dir, full_name, found),
        init_exporter::systemd(dir, full_name, found),
    ])
}

/// Per file (each list holds one verdict per found file, in the same order): the first proof
/// that holds, else every tool's reason.
fn any_of<const N: usize>(lists: [Vec<Adoption>; N]) -> Vec<Adoption> {
    let mut lists = lists.map(Vec::into_iter);
    let mut out = Vec::new();
    loop {
        let row: Vec<Adoption> = lists.iter_mut().filter_map(Iterator::next).collect();
        let Some(first) = row.first() else {
            return out;
        };
        let path = first.path.clone();
        let proof = match row.iter().find_map(|a| a.proof.as_ref().ok().copied()) {
            Some(tool) => Ok(tool),
            None => Err(row
                .iter()
                .filter_map(|a| a.proof.as_ref().err())
                .filter(|why| !why.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")),
        };
        out.push(Adoption { path, proof });
    }
}

/// The tool and format each proof stands for, as the notes name them.
const FOREMAN_UPSTART: &str = "foreman's upstart export";
const FOREMAN_SYSTEMD: &str = "foreman's systemd export";

/// A file's text read line by line, each line ended by `\n`, counting lines for the answer.
struct Lines<'a> {
    rest: &'a str,
    line: usize,
}

/// Why a file is not the tool's: the line where it differs.
type Why = String;

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            rest: text,
            line: 0,
        }
    }

    fn differs(&self) -> Why {
        format!(
            "line {} differs from what {{tool}} writes there",
            self.line.max(1)
        )
    }

    /// The next whole line, without its `\n`.
    fn next(&mut self) -> Result<&'a str, Why> {
        self.line += 1;
        let (line, rest) = self.rest.split_once('\n').ok_or_else(|| self.differs())?;
        self.rest = rest;
        Ok(line)
    }

    /// The next line, without `\n`, without consuming it.
    fn peek(&self) -> Option<&'a str> {
        self.rest.split_once('\n').map(|(line, _)| line)
    }

    /// The next line, which must be `want`.
    fn exactly(&mut self, want: &str) -> Result<(), Why> {
        if self.next()? == want {
            Ok(())
        } else {
            Err(self.differs())
        }
    }

    /// The value of the next line, which must be `prefix` followed by a non-empty value.
    fn value(&mut self, prefix: &str) -> Result<&'a str, Why> {
        let line = self.next()?;
        match line.strip_prefix(prefix) {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(self.differs()),
        }
    }

    /// Nothing may follow.
    fn end(&mut self) -> Result<(), Why> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            self.line += 1;
            Err(self.differs())
        }
    }
}

/// The name of `path` without `suffix`, when it is directly in `dir`.
fn stem<'a>(path: &'a str, dir: &str, suffix: &str) -> Option<&'a str> {
    path.strip_prefix(dir.trim_end_matches('/'))?
        .strip_prefix('/')
        .filter(|name| !name.contains('/'))?
        .strip_suffix(suffix)
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// An instance number as foreman and honcho write it: counted from 1, no leading 0.
fn instance_number(text: &str) -> bool {
    digits(text) && !text.starts_with('0')
}

/// The first lines of an upstart process job as foreman and honcho both write it: started and
/// stopped with its process master `<full_name>-<type>` (one of `masters`: the types proven),
/// respawned, then a blank line. `name` must be `<full_name>-<type>-<N>`. Returns the type and
/// the instance number.
fn upstart_process_head<'a, 'n>(
    lines: &mut Lines<'a>,
    full_name: &str,
    name: &'n str,
    masters: &[&str],
) -> Result<(&'a str, &'n str), Why> {
    let kind = lines
        .value(&format!("start on starting {full_name}-"))
        .map_err(|_| {
            format!("line 1 does not start it on a job of {full_name} as {{tool}} does")
        })?;
    let number = name
        .strip_prefix(&format!("{full_name}-{kind}-"))
        .filter(|n| instance_number(n))
        .ok_or_else(|| {
            format!("its name is not {full_name}-{kind}-<N>.conf, the job line 1 names")
        })?;
    if !masters.contains(&kind) {
        return Err(format!(
            "its process master {full_name}-{kind}.conf is not {{tool}}'s for {full_name}"
        ));
    }
    lines.exactly(&format!("stop on stopping {full_name}-{kind}"))?;
    lines.exactly("respawn")?;
    lines.exactly("")?;
    Ok((kind, number))
}

/// One verdict per file of `found`, in the order found.
fn verdicts(
    found: &[LegacyFile],
    tool: &'static str,
    mut prove: impl FnMut(&LegacyFile, &str) -> Result<(), Why>,
) -> Vec<Adoption> {
    found
        .iter()
        .map(|file| {
            let proof = match file.contents.as_deref() {
                None => Err("it is no regular text file".to_owned()),
                Some(text) => prove(file, text).map(|()| tool),
            };
            Adoption {
                path: file.path.clone(),
                proof: proof.map_err(|why| why.replace("{tool}", tool)),
            }
        })
        .collect()
}

/// What foreman 0.87's `export upstart` wrote for app `full_name` in `dir`, among `found`
/// (the `.conf` files there named `<full_name>` or `<full_name>-...`): the master
/// `<app>.conf` (the same two lines for every app: proven only with a process master of the
/// app beside it), each process master `<app>-<type>.conf` (starts on the app's master), and
/// each process job `<app>-<type>-<N>.conf` (starts on its process master, which must be
/// proven too: the name alone could be app `<app>-<type>`'s).
pub fn foreman_upstart(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    let process_master = format!("start on starting {full_name}\nstop on stopping {full_name}\n");
    let masters: Vec<&str> = found
        .iter()
        .filter(|f| f.contents.as_deref() == Some(process_master.as_str()))
        .filter_map(|f| stem(&f.path, dir, ".conf"))
        .filter_map(|s| s.strip_prefix(full_name)?.strip_prefix('-'))
        .collect();
    verdicts(found, FOREMAN_UPSTART, |file, text| {
        let name = stem(&file.path, dir, ".conf").ok_or("it is not in the job directory")?;
        if name == full_name {
            if text != "start on runlevel [2345]\nstop on runlevel [!2345]\n" {
                return Err(Lines::new(text)
                    .first_difference(&["start on runlevel [2345]", "stop on runlevel [!2345]"]));
            }
            if masters.is_empty() {
                return Err(format!(
                    "its two lines are any app's master in {{tool}}, and no process job of \
                     {full_name} starts on it"
                ));
            }
            return Ok(());
        }
        if text == process_master {
            return Ok(());
        }
        foreman_upstart_process(full_name, name, text, &masters)
    })
}

/// Proves a foreman process job `<full_name>-<type>-<N>` (`name`) whose process master is one
/// of `masters` (the types proven).
fn foreman_upstart_process(
    full_name: &str,
    name: &str,
    text: &str,
    masters: &[&str],
) -> Result<(), Why> {
    let mut lines = Lines::new(text);
    upstart_process_head(&mut lines, full_name, name, masters)?;
    let port = lines.value("env PORT=")?;
    if !digits(port) {
        return Err(lines.differs());
    }
    // `env NAME='value'`, each `'` of the value written `'"'"'`; never PORT again.
    while let Some(line) = lines.peek().filter(|l| !l.is_empty()) {
        lines.next()?;
        let (key, value) = line
            .strip_prefix("env ")
            .and_then(|l| l.split_once('='))
            .ok_or_else(|| lines.differs())?;
        let quoted = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .filter(|v| v.split("'\"'\"'").all(|part| !part.contains('\'')));
        if quoted.is_none() || key.eq_ignore_ascii_case("PORT") || key.is_empty() {
            return Err(lines.differs());
        }
    }
    lines.exactly("")?;
    lines.value("setuid ")?;
    lines.exactly("")?;
    lines.value("chdir ")?;
    lines.exactly("")?;
    lines.value("exec ")?;
    lines.end()
}

/// What foreman 0.87's `export systemd` wrote for app `full_name` in `dir`, among `found`
/// (the `.service` and `.target` files there named `<full_name>` or `<full_name>-...`): each
/// service `<app>-<type>.<N>.service` (part of `<app>.target`, its name on its `exec -a`),
/// and the target `<app>.target`, whose `Wants=` lists only services proven.
pub fn foreman_systemd(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    let services: Vec<Adoption> = verdicts(found, FOREMAN_SYSTEMD, |file, text| {
        match stem(&file.path, dir, ".service") {
            Some(name) => foreman_systemd_service(full_name, name, text),
            None if file.path.ends_with(".service") => {
                Err("it is not in the unit directory".to_owned())
            }
            None => Ok(()),
        }
    });
    let proven: Vec<&str> = services
        .iter()
        .filter(|a| a.proof.is_ok() && a.path.ends_with(".service"))
        .filter_map(|a| stem(&a.path, dir, ""))
        .collect();
    let targets = verdicts(found, FOREMAN_SYSTEMD, |file, text| {
        match stem(&file.path, dir, ".target") {
            Some(name) if name == full_name => foreman_systemd_target(text, &proven),
            Some(_) => Err(format!("only {full_name}.target is {{tool}}'s target")),
            None if file.path.ends_with(".target") => {
                Err("it is not in the unit directory".to_owned())
            }
            None => Ok(()),
        }
    });
    services
        .into_iter()
        .zip(targets)
        .map(|(service, target)| {
            if service.path.ends_with(".service") {
                service
            } else {
                target
            }
        })
        .collect()
}

fn foreman_systemd_target(text: &str, proven: &[&str]) -> Result<(), Why> {
    let mut lines = Lines::new(text);
    lines.exactly("[Unit]")?;
    let wants = lines.value("Wants=")?;
    if !wants.split(' ').all(|unit| proven.contains(&unit)) {
        return Err(format!(
            "line 2 names units that are not {{tool}}'s services for this app: {}",
            crate::sanitize::Quoted(wants)
        ));
    }
    lines.exactly("")?;
    lines.exactly("[Install]")?;
    lines.exactly("WantedBy=multi-user.target")?;
    lines.end()
}

/// Proves a foreman service `<full_name>-<type>.<N>` (`name`).
fn foreman_systemd_service(full_name: &str, name: &str, text: &str) -> Result<(), Why> {
    let process = name
        .strip_prefix(full_name)
        .and_then(|rest| rest.strip_prefix('-'))
        .filter(|p| {
            p.rsplit_once('.')
                .is_some_and(|(t, n)| !t.is_empty() && digits(n))
        })
        .ok_or_else(|| format!("its name is not {full_name}-<type>.<N>.service"))?;
    let mut lines = Lines::new(text);
    lines.exactly("[Unit]")?;
    lines.exactly(&format!("PartOf={full_name}.target"))?;
    lines.exactly("StopWhenUnneeded=yes")?;
    lines.exactly("")?;
    lines.exactly("[Service]")?;
    lines.value("User=")?;
    lines.value("WorkingDirectory=")?;
    if !digits(lines.value("Environment=PORT=")?) {
        return Err(lines.differs());
    }
    lines.exactly(&format!("Environment=PS={process}"))?;
    // `Environment="KEY=value"`, as many as the env has, then the command.
    let exec = format!("ExecStart=/bin/bash -lc 'exec -a \"{full_name}-{process}\" ");
    loop {
        let line = lines.next()?;
        if let Some(command) = line.strip_prefix(&exec) {
            if command.len() < 2 || !command.ends_with('\'') {
                return Err(lines.differs());
            }
            break;
        }
        let env = line
            .strip_prefix("Environment=\"")
            .and_then(|l| l.strip_suffix('"'))
            .and_then(|l| l.split_once('='));
        if env.is_none_or(|(key, _)| key.is_empty()) {
            return Err(lines.differs());
        }
    }
    for fixed in [
        "Restart=always",
        "RestartSec=14s",
        "StandardInput=null",
        "StandardOutput=syslog",
        "StandardError=syslog",
        "SyslogIdentifier=%n",
        "KillMode=mixed",
    ] {
        lines.exactly(fixed)?;
    }
    if !digits(lines.value("TimeoutStopSec=")?) {
        return Err(lines.differs());
    }
    lines.end()
}

impl Lines<'_> {
    /// The first line of the text that is not `want`'s, for a file that must be exactly
    /// `want` (each line ended by `\n`).
    fn first_difference(mut self, want: &[&str]) -> Why {
        for line in want {
            if let Err(why) = self.exactly(line) {
                return why;
            }
        }
        self.end().err().unwrap_or_else(|| self.differs())
    }
}

/// What the adoption proofs' unit tests share: a found file, and the paths a proof took.
#[cfg(test)]
mod fixtures {
    use super::{Adoption, LegacyFile};

    pub fn file(path: &str, text: &str) -> LegacyFile {
        LegacyFile {
            path: path.to_owned(),
            contents: Some(text.to_owned()),
        }
    }

    pub fn proven(verdicts: &[Adoption]) -> Vec<&str> {
        verdicts
            .iter()
            .filter(|v| v.proof.is_ok())
            .map(|v| v.path.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{file, proven};
    use super::*;

    const PROCESS: &str = "start on starting fb-a-web\nstop on stopping fb-a-web\nrespawn\n\n\
        env PORT=5000\nenv A='it'\"'\"'s'\n\nsetuid pxrun\n\nchdir /srv/a\n\nexec run-web -p $PORT\n";

    #[test]
    fn foremans_upstart_chain_is_proven_and_nothing_else() {
        let master = "start on runlevel [2345]\nstop on runlevel [!2345]\n";
        let found = [
            file("/etc/init/fb-a.conf", master),
            file(
                "/etc/init/fb-a-web.conf",
                "start on starting fb-a\nstop on stopping fb-a\n",
            ),
            file("/etc/init/fb-a-web-1.conf", PROCESS),
            // One more line than foreman writes.
            file("/etc/init/fb-a-web-2.conf", &format!("{PROCESS}exec rm\n")),
            // App fb-a-b's master is not app fb-a's.
            file("/etc/init/fb-a-b.conf", master),
            // A process job whose process master is missing.
            file(
                "/etc/init/fb-a-api-1.conf",
                &PROCESS.replace("fb-a-web", "fb-a-api"),
            ),
        ];
        let verdicts = foreman_upstart("/etc/init", "fb-a", &found);
        assert_eq!(
            proven(&verdicts),
            [
                "/etc/init/fb-a.conf",
                "/etc/init/fb-a-web.conf",
                "/etc/init/fb-a-web-1.conf"
            ]
        );
        let why = verdicts[3].proof.as_ref().unwrap_err();
        assert!(why.contains("line 13"), "{why}");
        assert!(why.contains("foreman's upstart export"), "{why}");
        // Another app's jobs are never this app's, whatever their names.
        assert!(proven(&foreman_upstart("/etc/init", "fb-a-web", &found)).is_empty());
        // The master alone proves nothing.
        assert!(proven(&foreman_upstart("/etc/init", "fb-a", &found[..1])).is_empty());
    }

    const SERVICE: &str = "[Unit]\nPartOf=fb-a.target\nStopWhenUnneeded=yes\n\n[Service]\n\
        User=pxrun\nWorkingDirectory=/srv/a\nEnvironment=PORT=5000\nEnvironment=PS=web.1\n\
        Environment=\"A=it's\"\nExecStart=/bin/bash -lc 'exec -a \"fb-a-web.1\" run-web'\n\
        Restart=always\nRestartSec=14s\nStandardInput=null\nStandardOutput=syslog\n\
        StandardError=syslog\nSyslogIdentifier=%n\nKillMode=mixed\nTimeoutStopSec=5\n";

    #[test]
    fn foremans_systemd_units_are_proven_and_nothing_else() {
        let target = "[Unit]\nWants=fb-a-web.1.service\n\n[Install]\nWantedBy=multi-user.target\n";
        let found = [
            file("/etc/systemd/system/fb-a-web.1.service", SERVICE),
            file("/etc/systemd/system/fb-a.target", target),
            file(
                "/etc/systemd/system/fb-a-api.1.service",
                &SERVICE
                    .replace("web.1", "api.1")
                    .replace("User=pxrun", "User=root\nExecStartPre=/bin/sh"),
            ),
        ];
        let verdicts = foreman_systemd("/etc/systemd/system", "fb-a", &found);
        assert_eq!(
            proven(&verdicts),
            [
                "/etc/systemd/system/fb-a-web.1.service",
                "/etc/systemd/system/fb-a.target"
            ]
        );
        assert!(verdicts[2].proof.as_ref().unwrap_err().contains("line 7"));
        // A target that wants more than the proven services is not proven.
        let greedy = target.replace("web.1.service", "web.1.service ssh.service");
        let found = [
            found[0].clone(),
            file("/etc/systemd/system/fb-a.target", &greedy),
        ];
        assert_eq!(
            proven(&foreman_systemd("/etc/systemd/system", "fb-a", &found)),
            ["/etc/systemd/system/fb-a-web.1.service"]
        );
        // App fb's process a-web is not app fb-a's.
        assert!(proven(&foreman_systemd("/etc/systemd/system", "fb", &found)).is_empty());
    }
}
