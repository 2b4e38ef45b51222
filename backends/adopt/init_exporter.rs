//! funbox/init-exporter 0.25.0's Upstart and systemd exports, proven against its Go
//! templates (`export/upstart.go` and `export/systemd.go`, `TEMPLATE_*_APP` and
//! `TEMPLATE_*_SERVICE`). Every file starts with `# This unit generated <date> by
//! init-exporter/<format> for <app> application` and names the app in its log paths; the
//! optional lines the template leaves empty when a key is unset are either empty or that
//! key. An app started after devices or other units (`depends`, `start_on_device`) is not
//! proven: its `start on`/`After=`/`Wants=` reach outside the app. The helpers it wrote in
//! its helper directory are not looked at: procexport does not run them.

use super::{digits, stem, verdicts, Lines, Why};
use crate::install::installer::{Adoption, LegacyFile};

const UPSTART: &str = "init-exporter's upstart export";
const SYSTEMD: &str = "init-exporter's systemd export";

/// systemd's targets for init-exporter's start levels 1, 3, 5 and 6.
const LEVEL_TARGETS: [&str; 4] = [
    "rescue.target",
    "multi-user.target",
    "graphical.target",
    "reboot.target",
];

/// The keys `ResourcesAsString` writes, one line each.
const RESOURCES: [&str; 17] = [
    "CPUWeight=",
    "StartupCPUWeight=",
    "CPUQuota=",
    "CPUAffinity=",
    "MemoryLow=",
    "MemoryHigh=",
    "MemoryMax=",
    "MemorySwapMax=",
    "TasksMax=",
    "IOWeight=",
    "IODeviceWeight=",
    "IOReadBandwidthMax=",
    "IOWriteBandwidthMax=",
    "IOReadIOPSMax=",
    "IOWriteIOPSMax=",
    "IPAddressAllow=",
    "IPAddressDeny=",
];

/// `%Y/%m/%d %H:%M:%S`, as `timeutil.Format` writes the export date.
fn export_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'/',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

impl Lines<'_> {
    /// The first line: `# This unit generated <date> by init-exporter/<format> for <app> application`.
    fn header(&mut self, format: &str, full_name: &str) -> Result<(), Why> {
        let line = self.next()?;
        let fits = line
            .strip_prefix("# This unit generated ")
            .and_then(|l| {
                l.strip_suffix(&format!(
                    " by init-exporter/{format} for {full_name} application"
                ))
            })
            .is_some_and(export_date);
        if fits {
            Ok(())
        } else {
            Err(format!("line 1 is not {{tool}}'s header for {full_name}"))
        }
    }

    /// A line the template leaves empty unless a key is set: empty, or `prefix` and a value.
    fn optional(&mut self, prefix: &str) -> Result<(), Why> {
        let line = self.next()?;
        match line.strip_prefix(prefix) {
            _ if line.is_empty() => Ok(()),
            Some(value) if !value.is_empty() => Ok(()),
            _ => Err(self.differs()),
        }
    }

    /// A line the template leaves empty unless a switch is on: empty, or `want`.
    fn optional_exactly(&mut self, want: &str) -> Result<(), Why> {
        let line = self.next()?;
        if line.is_empty() || line == want {
            Ok(())
        } else {
            Err(self.differs())
        }
    }

    /// A line `prefix` followed by a number.
    fn number(&mut self, prefix: &str) -> Result<(), Why> {
        if digits(self.value(prefix)?) {
            Ok(())
        } else {
            Err(self.differs())
        }
    }
}

/// A value without spaces (a user, group or path as the config gives it).
fn word(text: &str) -> bool {
    !text.is_empty() && !text.contains(' ')
}

/// The service `svc` of the unit or job named `name`: `<full_name>-<svc>` or
/// `<full_name>-<svc><N>`.
fn service_of(full_name: &str, svc: &str, name: &str) -> bool {
    name.strip_prefix(full_name)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.strip_prefix(svc))
        .is_some_and(|index| index.is_empty() || (digits(index) && !index.starts_with('0')))
}

/// What init-exporter's Upstart export wrote for app `full_name` in `dir`, among `found`:
/// the app job `<app>.conf` and each service job `<app>-<service>[<N>].conf`.
pub fn upstart(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    verdicts(found, UPSTART, |file, text| {
        let name = stem(&file.path, dir, ".conf").ok_or("it is not in the job directory")?;
        let mut lines = Lines::new(text);
        lines.header("upstart", full_name)?;
        lines.exactly("")?;
        if name == full_name {
            upstart_app(&mut lines, full_name)
        } else {
            upstart_service(&mut lines, full_name, name)
        }
    })
}

fn runlevel(text: &str) -> bool {
    ["[1]", "[2]", "[3]", "[4]", "[5]", "[6]"]
        .iter()
        .any(|level| text.strip_prefix("runlevel ") == Some(level))
}

fn upstart_app(lines: &mut Lines<'_>, full_name: &str) -> Result<(), Why> {
    for prefix in ["start on ", "stop on "] {
        if !runlevel(lines.value(prefix)?) {
            return Err(format!(
                "line {} is not a runlevel: {{tool}} writes other events only for depends or \
                 start_on_device, which reach outside the app",
                lines.line
            ));
        }
    }
    lines.exactly("")?;
    lines.exactly("pre-start script")?;
    lines.exactly("")?;
    lines.exactly("bash << \"EOF\"")?;
    lines.exactly(&format!("  mkdir -p /var/log/{full_name}"))?;
    let chown = format!(" /var/log/{full_name}");
    for prefix in ["  chown -R ", "  chgrp -R "] {
        let who = lines
            .value(prefix)?
            .strip_suffix(&chown)
            .filter(|w| word(w));
        if who.is_none() {
            return Err(lines.differs());
        }
    }
    lines.exactly(&format!("  chmod -R g+w /var/log/{full_name}"))?;
    lines.exactly("EOF")?;
    lines.exactly("")?;
    lines.exactly("end script")?;
    lines.end()
}

fn upstart_service(lines: &mut Lines<'_>, full_name: &str, name: &str) -> Result<(), Why> {
    lines.exactly(&format!("start on starting {full_name}"))?;
    lines.exactly(&format!("stop on stopping {full_name}"))?;
    lines.exactly("")?;
    lines.optional_exactly("respawn")?;
    lines.optional("respawn limit ")?;
    lines.optional("post-stop exec sleep ")?;
    lines.exactly("")?;
    lines.number("kill timeout ")?;
    lines.optional("kill signal ")?;
    lines.optional("reload signal ")?;
    lines.exactly("")?;
    lines.optional("limit nofile ")?;
    lines.optional("limit nproc ")?;
    lines.optional("limit memlock ")?;
    lines.exactly("")?;
    lines.exactly("script")?;
    let log_dir = format!("/var/log/{full_name}/");
    let svc = lines
        .value(&format!("  touch {log_dir}"))?
        .strip_suffix(".log")
        .filter(|svc| word(svc) && !svc.contains('/'))
        .ok_or_else(|| lines.differs())?;
    if !service_of(full_name, svc, name) {
        return Err(format!(
            "its name is not {full_name}-{svc}[<N>].conf, the service line 18 logs for"
        ));
    }
    let log = format!("{log_dir}{svc}.log");
    let user = lines
        .value("  chown ")?
        .strip_suffix(&format!(" {log}"))
        .filter(|u| word(u))
        .ok_or_else(|| lines.differs())?;
    let group = lines.value("  chgrp ")?.strip_suffix(&format!(" {log}"));
    if !group.is_some_and(word) {
        return Err(lines.differs());
    }
    lines.exactly(&format!("  chmod g+w {log}"))?;
    let helper = lines
        .value(&format!("  exec sudo -u {user} /bin/bash "))?
        .strip_suffix(&format!(" &>>{log}"))
        .filter(|h| word(h) && h.starts_with('/') && h.ends_with(&format!("/{name}.sh")));
    if helper.is_none() {
        return Err(lines.differs());
    }
    lines.exactly("end script")?;
    lines.end()
}

/// What init-exporter's systemd export wrote for app `full_name` in `dir`, among `found`:
/// each service `<app>-<service>[<N>].service` (part of `<app>.service`) and the app unit
/// `<app>.service`, whose `Wants=` lists only services proven.
pub fn systemd(dir: &str, full_name: &str, found: &[LegacyFile]) -> Vec<Adoption> {
    let mut out = verdicts(found, SYSTEMD, |file, text| {
        match stem(&file.path, dir, ".service") {
            Some(name) if name != full_name => {
                let mut lines = Lines::new(text);
                lines.header("systemd", full_name)?;
                lines.exactly("")?;
                systemd_service(&mut lines, full_name, name)
            }
            _ => Err(String::new()),
        }
    });
    let services: Vec<String> = out
        .iter()
        .filter(|a| a.proof.is_ok())
        .filter_map(|a| stem(&a.path, dir, ""))
        .map(str::to_owned)
        .collect();
    let app = verdicts(found, SYSTEMD, |file, text| {
        match stem(&file.path, dir, ".service") {
            Some(name) if name == full_name => {
                let mut lines = Lines::new(text);
                lines.header("systemd", full_name)?;
                lines.exactly("")?;
                systemd_app(&mut lines, full_name, &services)
            }
            _ => Err(String::new()),
        }
    });
    for (verdict, app) in out.iter_mut().zip(app) {
        if stem(&verdict.path, dir, ".service") == Some(full_name) {
            *verdict = app;
        }
    }
    out
}

fn systemd_app(lines: &mut Lines<'_>, full_name: &str, services: &[String]) -> Result<(), Why> {
    lines.exactly("[Unit]")?;
    lines.exactly("")?;
    lines.exactly(&format!("Description=Unit for {full_name} application"))?;
    if !LEVEL_TARGETS.contains(&lines.value("After=")?) {
        return Err(format!(
            "line {} orders it after more than a start level: {{tool}} writes that only for \
             depends or start_on_device, which reach outside the app",
            lines.line
        ));
    }
    // `Wants=` lines (split at 1536 bytes), naming only the app's services proven.
    let mut wanted = 0;
    while let Some(wants) = lines.peek().and_then(|l| l.strip_prefix("Wants=")) {
        lines.next()?;
        if !wants
            .split(' ')
            .all(|unit| services.iter().any(|s| *s == unit))
        {
            return Err(format!(
                "line {} names units that are not {{tool}}'s services for this app: {}",
                lines.line,
                crate::sanitize::Quoted(wants)
            ));
        }
        wanted += 1;
    }
    if wanted == 0 {
        return Err(format!(
            "line {} differs from what {{tool}} writes there",
            lines.line + 1
        ));
    }
    lines.exactly("")?;
    lines.exactly("[Service]")?;
    lines.exactly("Type=oneshot")?;
    lines.exactly("RemainAfterExit=true")?;
    lines.exactly("")?;
    let log_dir = format!("/var/log/{full_name}");
    lines.exactly(&format!("ExecStartPre=/bin/mkdir -p {log_dir}"))?;
    for prefix in ["ExecStartPre=/bin/chown -R ", "ExecStartPre=/bin/chgrp -R "] {
        let who = lines.value(prefix)?.strip_suffix(&format!(" {log_dir}"));
        if !who.is_some_and(word) {
            return Err(lines.differs());
        }
    }
    lines.exactly(&format!("ExecStartPre=/bin/chmod -R g+w {log_dir}"))?;
    lines.exactly(&format!("ExecStart=/bin/echo \"{full_name} started\""))?;
    lines.exactly(&format!("ExecStop=/bin/echo \"{full_name} stopped\""))?;
    lines.optional("ExecReload=/bin/sh -c '/bin/bash ")?;
    lines.exactly("")?;
    lines.exactly("[Install]")?;
    if !LEVEL_TARGETS.contains(&lines.value("WantedBy=")?) {
        return Err(lines.differs());
    }
    lines.end()
}

fn systemd_service(lines: &mut Lines<'_>, full_name: &str, name: &str) -> Result<(), Why> {
    lines.exactly("[Unit]")?;
    lines.exactly("")?;
    let svc = lines
        .value("Description=Unit for ")?
        .strip_suffix(&format!(" service (part of {full_name} application)"))
        .filter(|svc| word(svc) && !svc.contains('/'))
        .ok_or_else(|| lines.differs())?;
    if !service_of(full_name, svc, name) {
        return Err(format!(
            "its name is not {full_name}-{svc}[<N>].service, the service line 5 describes"
        ));
    }
    lines.exactly(&format!("PartOf={full_name}.service"))?;
    lines.exactly("")?;
    lines.exactly("[Service]")?;
    lines.exactly("Type=simple")?;
    lines.exactly("")?;
    lines.optional("KillMode=")?;
    lines.optional("KillSignal=")?;
    lines.number("TimeoutStopSec=")?;
    lines.optional_exactly("Restart=on-failure")?;
    lines.optional("StartLimitInterval=")?;
    lines.optional("StartLimitBurst=")?;
    lines.optional("RestartSec=")?;
    lines.exactly("")?;
    lines.optional("LimitNOFILE=")?;
    lines.optional("LimitNPROC=")?;
    lines.optional("LimitMEMLOCK=")?;
    lines.exactly("")?;
    while let Some(line) = lines.peek() {
        let resource = RESOURCES
            .iter()
            .any(|key| line.strip_prefix(key).is_some_and(|v| !v.is_empty()));
        if !resource {
            break;
        }
        lines.next()?;
    }
    lines.exactly("")?;
    let log = format!("/var/log/{full_name}/{svc}.log");
    lines.exactly(&format!("ExecStartPre=/bin/touch {log}"))?;
    let user = lines
        .value("ExecStartPre=/bin/chown ")?
        .strip_suffix(&format!(" {log}"))
        .filter(|u| word(u))
        .ok_or_else(|| lines.differs())?;
    let group = lines
        .value("ExecStartPre=/bin/chgrp ")?
        .strip_suffix(&format!(" {log}"))
        .filter(|g| word(g))
        .ok_or_else(|| lines.differs())?;
    lines.exactly(&format!("ExecStartPre=/bin/chmod g+w {log}"))?;
    lines.exactly("")?;
    lines.exactly(&format!("User={user}"))?;
    lines.exactly(&format!("Group={group}"))?;
    if !word(lines.value("WorkingDirectory=")?) {
        return Err(lines.differs());
    }
    let helper = lines
        .value("ExecStart=/bin/sh -c '/bin/bash ")?
        .strip_suffix(&format!(" &>>{log}'"))
        .filter(|h| word(h) && h.starts_with('/') && h.ends_with(&format!("/{name}.sh")));
    if helper.is_none() {
        return Err(lines.differs());
    }
    lines.optional("ExecReload=/bin/pkill -")?;
    lines.end()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{file, proven};
    use super::*;

    /// init-exporter 0.25.0's `TEMPLATE_UPSTART_*` for app fb-a, service web (count 1),
    /// with its default config's respawn and limits.
    const HEADER: &str = "# This unit generated 2026/12/07 01:02:03 by init-exporter/upstart \
        for fb-a application\n\n";
    const APP_JOB: &str = "start on runlevel [3]\nstop on runlevel [3]\n\npre-start script\n\n\
        bash << \"EOF\"\n  mkdir -p /var/log/fb-a\n  chown -R pxrun /var/log/fb-a\n  \
        chgrp -R pxrun /var/log/fb-a\n  chmod -R g+w /var/log/fb-a\nEOF\n\nend script\n";
    const JOB: &str = "start on starting fb-a\nstop on stopping fb-a\n\nrespawn\n\
        respawn limit 10 15\n\n\nkill timeout 10\n\n\n\nlimit nofile 10240 10240\n\
        limit nproc 10240 10240\n\n\nscript\n  touch /var/log/fb-a/web.log\n  \
        chown pxrun /var/log/fb-a/web.log\n  chgrp pxrun /var/log/fb-a/web.log\n  \
        chmod g+w /var/log/fb-a/web.log\n  exec sudo -u pxrun /bin/bash \
        /var/local/init-exporter/helpers/fb-a-web1.sh &>>/var/log/fb-a/web.log\nend script\n";

    #[test]
    fn init_exporters_upstart_jobs_are_proven_and_nothing_else() {
        let found = [
            file("/etc/init/fb-a.conf", &format!("{HEADER}{APP_JOB}")),
            file("/etc/init/fb-a-web1.conf", &format!("{HEADER}{JOB}")),
            // A helper of another job.
            file(
                "/etc/init/fb-a-web2.conf",
                &format!("{HEADER}{JOB}").replace("web1.sh", "web3.sh"),
            ),
        ];
        let verdicts = upstart("/etc/init", "fb-a", &found);
        assert_eq!(
            proven(&verdicts),
            ["/etc/init/fb-a.conf", "/etc/init/fb-a-web1.conf"]
        );
        let why = verdicts[2].proof.clone().unwrap_err();
        assert!(
            why.contains("line 23 differs from what init-exporter's"),
            "{why}"
        );
        // Started after another job: reaches outside the app.
        let after_ssh =
            format!("{HEADER}{APP_JOB}").replace("start on runlevel [3]", "start on started ssh");
        let verdicts = upstart(
            "/etc/init",
            "fb-a",
            &[file("/etc/init/fb-a.conf", &after_ssh), found[1].clone()],
        );
        let why = verdicts[0].proof.clone().unwrap_err();
        assert!(why.contains("line 3 is not a runlevel"), "{why}");
        // Another app's names prove nothing: the header names fb-a.
        assert!(proven(&upstart("/etc/init", "fb", &found)).is_empty());
    }

    #[test]
    fn init_exporters_app_unit_wants_only_its_proven_services() {
        let dir = "/etc/systemd/system";
        let header = HEADER.replace("init-exporter/upstart", "init-exporter/systemd");
        let service = format!(
            "{header}[Unit]\n\nDescription=Unit for web service (part of fb-a application)\n\
             PartOf=fb-a.service\n\n[Service]\nType=simple\n\n\n\nTimeoutStopSec=10\n\
             Restart=on-failure\nStartLimitInterval=15\nStartLimitBurst=10\n\n\n\
             LimitNOFILE=10240\nLimitNPROC=10240\n\n\n\n\
             ExecStartPre=/bin/touch /var/log/fb-a/web.log\n\
             ExecStartPre=/bin/chown pxrun /var/log/fb-a/web.log\n\
             ExecStartPre=/bin/chgrp pxrun /var/log/fb-a/web.log\n\
             ExecStartPre=/bin/chmod g+w /var/log/fb-a/web.log\n\nUser=pxrun\nGroup=pxrun\n\
             WorkingDirectory=/srv/a\nExecStart=/bin/sh -c '/bin/bash \
             /var/local/init-exporter/helpers/fb-a-web.sh &>>/var/log/fb-a/web.log'\n\n"
        );
        let app = |wants: &str| {
            format!(
                "{header}[Unit]\n\nDescription=Unit for fb-a application\n\
                 After=multi-user.target\nWants={wants}\n\n[Service]\nType=oneshot\n\
                 RemainAfterExit=true\n\nExecStartPre=/bin/mkdir -p /var/log/fb-a\n\
                 ExecStartPre=/bin/chown -R pxrun /var/log/fb-a\n\
                 ExecStartPre=/bin/chgrp -R pxrun /var/log/fb-a\n\
                 ExecStartPre=/bin/chmod -R g+w /var/log/fb-a\n\
                 ExecStart=/bin/echo \"fb-a started\"\nExecStop=/bin/echo \"fb-a stopped\"\n\n\n\
                 [Install]\nWantedBy=multi-user.target\n"
            )
        };
        let found = [
            file(&format!("{dir}/fb-a-web.service"), &service),
            file(&format!("{dir}/fb-a.service"), &app("fb-a-web.service")),
        ];
        assert_eq!(proven(&systemd(dir, "fb-a", &found)).len(), 2);
        // Wanting a unit outside the app: the app unit is not proven.
        let greedy = [
            found[0].clone(),
            file(
                &format!("{dir}/fb-a.service"),
                &app("ssh.service fb-a-web.service"),
            ),
        ];
        assert_eq!(
            proven(&systemd(dir, "fb-a", &greedy)),
            [found[0].path.as_str()]
        );
        assert!(proven(&systemd(dir, "fb", &found)).is_empty());
    }
}
