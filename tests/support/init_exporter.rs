//! init-exporter's output for an app, rendered from its own templates: funbox/init-exporter
//! 0.25.0 (commit 04dfcf9aec247f0c30715d5a49b0d3b28077360a), `export/upstart.go` and
//! `export/systemd.go`, `TEMPLATE_UPSTART_APP`, `TEMPLATE_UPSTART_SERVICE`,
//! `TEMPLATE_SYSTEMD_APP` and `TEMPLATE_SYSTEMD_SERVICE`, copied below byte for byte. The
//! tool itself is not installed in CI; `render` does what Go's text/template does with these
//! four (fields, and `if`s that are never nested).

use std::fs;
use std::path::Path;

const TEMPLATE_UPSTART_APP: &str = r#"# This unit generated {{.ExportDate}} by init-exporter/upstart for {{.Application.Name}} application

start on {{.StartLevel}}
stop on {{.StopLevel}}

pre-start script

bash << "EOF"
  mkdir -p /var/log/{{.Application.Name}}
  chown -R {{.Application.User}} /var/log/{{.Application.Name}}
  chgrp -R {{.Application.Group}} /var/log/{{.Application.Name}}
  chmod -R g+w /var/log/{{.Application.Name}}
EOF

end script
"#;

const TEMPLATE_UPSTART_SERVICE: &str = r"# This unit generated {{.ExportDate}} by init-exporter/upstart for {{.Application.Name}} application

start on {{.StartLevel}}
stop on {{.StopLevel}}

{{ if .Service.Options.IsRespawnEnabled }}respawn{{ end }}
{{ if .Service.Options.IsRespawnLimitSet }}respawn limit {{.Service.Options.RespawnCount}} {{.Service.Options.RespawnInterval}}{{ end }}
{{ if and .Service.Options.IsRespawnLimitSet (gt .Service.Options.RespawnDelay 0) }}post-stop exec sleep {{.Service.Options.RespawnDelay}}{{ end }}

kill timeout {{.Service.Options.KillTimeout}}
{{ if .Service.Options.IsKillSignalSet }}kill signal {{.Service.Options.KillSignal}}{{ end }}
{{ if .Service.Options.IsReloadSignalSet }}reload signal {{.Service.Options.ReloadSignal}}{{ end }}

{{ if .Service.Options.IsFileLimitSet }}limit nofile {{.Service.Options.LimitFile}} {{.Service.Options.LimitFile}}{{ end }}
{{ if .Service.Options.IsProcLimitSet }}limit nproc {{.Service.Options.LimitProc}} {{.Service.Options.LimitProc}}{{ end }}
{{ if .Service.Options.IsMemlockLimitSet }}limit memlock {{.GetMemlockLimit}} {{.GetMemlockLimit}}{{ end }}

script
  touch /var/log/{{.Application.Name}}/{{.Service.Name}}.log
  chown {{.Application.User}} /var/log/{{.Application.Name}}/{{.Service.Name}}.log
  chgrp {{.Application.Group}} /var/log/{{.Application.Name}}/{{.Service.Name}}.log
  chmod g+w /var/log/{{.Application.Name}}/{{.Service.Name}}.log
  exec sudo -u {{.Application.User}} /bin/bash {{.Service.HelperPath}} &>>/var/log/{{.Application.Name}}/{{.Service.Name}}.log
end script
";

const TEMPLATE_SYSTEMD_APP: &str = r#"# This unit generated {{.ExportDate}} by init-exporter/systemd for {{.Application.Name}} application

[Unit]

Description=Unit for {{.Application.Name}} application
After={{.After}}
{{.Wants}}

[Service]
Type=oneshot
RemainAfterExit=true

ExecStartPre=/bin/mkdir -p /var/log/{{.Application.Name}}
ExecStartPre=/bin/chown -R {{.Application.User}} /var/log/{{.Application.Name}}
ExecStartPre=/bin/chgrp -R {{.Application.Group}} /var/log/{{.Application.Name}}
ExecStartPre=/bin/chmod -R g+w /var/log/{{.Application.Name}}
ExecStart=/bin/echo "{{.Application.Name}} started"
ExecStop=/bin/echo "{{.Application.Name}} stopped"
{{ if .Application.IsReloadSignalSet }}ExecReload=/bin/sh -c '/bin/bash {{.ReloadHelper}}'{{end}}

[Install]
WantedBy={{.StartLevel}}
"#;

const TEMPLATE_SYSTEMD_SERVICE: &str = r"# This unit generated {{.ExportDate}} by init-exporter/systemd for {{.Application.Name}} application

[Unit]

Description=Unit for {{.Service.Name}} service (part of {{.Application.Name}} application)
PartOf={{.Application.Name}}.service

[Service]
Type=simple

{{ if .Service.Options.IsKillModeSet }}KillMode={{.Service.Options.KillMode}}{{ end }}
{{ if .Service.Options.IsKillSignalSet }}KillSignal={{.Service.Options.KillSignal}}{{ end }}
TimeoutStopSec={{.Service.Options.KillTimeout}}
{{ if .Service.Options.IsRespawnEnabled }}Restart=on-failure{{ end }}
{{ if .Service.Options.IsRespawnLimitSet }}StartLimitInterval={{.Service.Options.RespawnInterval}}{{ end }}
{{ if .Service.Options.IsRespawnLimitSet }}StartLimitBurst={{.Service.Options.RespawnCount}}{{ end }}
{{ if and .Service.Options.IsRespawnLimitSet (gt .Service.Options.RespawnDelay 0) }}RestartSec={{.Service.Options.RespawnDelay}}{{ end }}

{{ if .Service.Options.IsFileLimitSet }}LimitNOFILE={{.Service.Options.LimitFile}}{{ end }}
{{ if .Service.Options.IsProcLimitSet }}LimitNPROC={{.Service.Options.LimitProc}}{{ end }}
{{ if .Service.Options.IsMemlockLimitSet }}LimitMEMLOCK={{.GetMemlockLimit}}{{ end }}

{{ if .Service.Options.IsResourcesSet }}{{.ResourcesAsString}}{{ end }}
ExecStartPre=/bin/touch /var/log/{{.Application.Name}}/{{.Service.Name}}.log
ExecStartPre=/bin/chown {{.Application.User}} /var/log/{{.Application.Name}}/{{.Service.Name}}.log
ExecStartPre=/bin/chgrp {{.Application.Group}} /var/log/{{.Application.Name}}/{{.Service.Name}}.log
ExecStartPre=/bin/chmod g+w /var/log/{{.Application.Name}}/{{.Service.Name}}.log

User={{.Application.User}}
Group={{.Application.Group}}
WorkingDirectory={{.Service.Options.WorkingDir}}
ExecStart=/bin/sh -c '/bin/bash {{.Service.HelperPath}} &>>/var/log/{{.Application.Name}}/{{.Service.Name}}.log'
{{ if .Service.Options.IsReloadSignalSet }}ExecReload=/bin/pkill -{{.Service.Options.ReloadSignal}} -P $MAINPID{{ end }}
";

/// The options of init-exporter's default config (`common/init-exporter.conf`): respawn on
/// with a limit, the nofile and nproc limits set; nothing else.
const ON: [&str; 4] = [
    ".Service.Options.IsRespawnEnabled",
    ".Service.Options.IsRespawnLimitSet",
    ".Service.Options.IsFileLimitSet",
    ".Service.Options.IsProcLimitSet",
];

/// `template` with each `{{ if X }}...{{ end }}` kept when `X` is in `ON`, and each
/// `{{.Field}}` replaced by its value in `fields`.
fn render(template: &str, fields: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{ if ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{ if ".len()..];
        let (cond, after) = after.split_once(" }}").unwrap();
        let (end, len) = ["{{ end }}", "{{end}}"]
            .iter()
            .filter_map(|e| after.find(e).map(|i| (i, e.len())))
            .min()
            .unwrap();
        if ON.contains(&cond) {
            out.push_str(&after[..end]);
        }
        rest = &after[end + len..];
    }
    out.push_str(rest);
    for (field, value) in fields {
        out = out.replace(&format!("{{{{{field}}}}}"), value);
    }
    assert!(!out.contains("{{"), "a field left: {out}");
    out
}

/// Writes what `init-exporter -f <format> <app>` writes into the job or unit directory
/// `dir` for app `full` (prefix included) run by `user`: the app's unit or job, and one per
/// service of `services` (name, count: 0 is one unit without a number, as for a v1
/// Procfile).
pub fn export(format: &str, dir: &Path, full: &str, user: &str, services: &[(&str, u32)]) {
    fs::create_dir_all(dir).unwrap();
    let app = |field: &'static str, value: &str| (field, value.to_owned());
    let common = [
        app(".ExportDate", "2026/12/07 01:02:03"),
        app(".Application.Name", full),
        app(".Application.User", user),
        app(".Application.Group", user),
    ];
    let mut names = Vec::new();
    for (service, count) in services {
        let indexes: Vec<String> = match count {
            0 => vec![String::new()],
            n => (1..=*n).map(|i| i.to_string()).collect(),
        };
        for index in indexes {
            let name = format!("{full}-{service}{index}");
            let mut fields = common.to_vec();
            fields.extend([
                app(".Service.Name", service),
                app(".Service.Options.RespawnCount", "10"),
                app(".Service.Options.RespawnInterval", "15"),
                app(".Service.Options.KillTimeout", "10"),
                app(".Service.Options.LimitFile", "10240"),
                app(".Service.Options.LimitProc", "10240"),
                app(".Service.Options.WorkingDir", "/srv/app"),
                app(
                    ".Service.HelperPath",
                    &format!("/var/local/init-exporter/helpers/{name}.sh"),
                ),
                app(".StartLevel", &format!("starting {full}")),
                app(".StopLevel", &format!("stopping {full}")),
            ]);
            let (template, suffix) = if format == "upstart" {
                (TEMPLATE_UPSTART_SERVICE, ".conf")
            } else {
                (TEMPLATE_SYSTEMD_SERVICE, ".service")
            };
            fs::write(
                dir.join(format!("{name}{suffix}")),
                render(template, &fields),
            )
            .unwrap();
            names.push(format!("{name}.service"));
        }
    }
    let mut fields = common.to_vec();
    let (template, suffix) = if format == "upstart" {
        fields.push(app(".StartLevel", "runlevel [3]"));
        fields.push(app(".StopLevel", "runlevel [3]"));
        (TEMPLATE_UPSTART_APP, ".conf")
    } else {
        fields.push(app(".After", "multi-user.target"));
        fields.push(app(".Wants", &format!("Wants={}", names.join(" "))));
        fields.push(app(".StartLevel", "multi-user.target"));
        (TEMPLATE_SYSTEMD_APP, ".service")
    };
    fs::write(
        dir.join(format!("{full}{suffix}")),
        render(template, &fields),
    )
    .unwrap();
}
