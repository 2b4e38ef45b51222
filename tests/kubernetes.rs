//! The Kubernetes export (`procexport kubernetes`), as any user: the job model maps to the
//! objects the README promises; hostile values read back exactly with a YAML 1.2 reader
//! (serde_yaml); names map to DNS-1123 labels or are refused with the Procfile's line;
//! `--root` does not apply; `--output` takes only a new or empty directory of the user's.
//! The checks by outside tools (the Kubernetes schemas, a YAML 1.1 reader) are in
//! `kubernetes_schemas`, in the root tier; the refusal through sudo is in `security`.

use crate::support::{bin, run, Outcome, Sandbox};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const IMAGE: &str = "registry.example/myapp:1.2.3";

/// procexport kubernetes with the sandbox's config and `args`, in a cleared environment.
pub(crate) fn kubernetes(sandbox: &Sandbox, args: &[&str]) -> Outcome {
    let mut command = Command::new(bin());
    command
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .current_dir(sandbox.path())
        .arg("--config")
        .arg(sandbox.config_path())
        .arg("kubernetes")
        .args(args);
    run(&mut command)
}

/// Writes the Procfile and exports it as app `myapp` with `IMAGE` and `extra` arguments.
pub(crate) fn export(sandbox: &Sandbox, procfile: &str, extra: &[&str]) -> Outcome {
    let path = sandbox.procfile(procfile);
    let path = path.to_str().unwrap();
    let mut args = vec!["-p", path, "-n", "myapp", "--image", IMAGE];
    args.extend_from_slice(extra);
    kubernetes(sandbox, &args)
}

pub(crate) fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .collect()
}

/// The object of `kind` named `name`.
#[track_caller]
pub(crate) fn object<'a>(documents: &'a [Value], kind: &str, name: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {documents:#?}"))
}

pub(crate) fn has(documents: &[Value], kind: &str, name: &str) -> bool {
    documents
        .iter()
        .any(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

pub(crate) fn container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

/// The files of an `--output` directory, sorted.
pub(crate) fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Values a YAML writer must quote or escape to keep them what they are.
pub(crate) const HOSTILE: &[&str] = &[
    "it's \"quoted\"",
    "a\nb\n",
    "line\r\nwindows",
    "$HOME ${X} $(id) `id`",
    "*alias",
    "&anchor x",
    "key: value",
    "---",
    "...",
    "--- !tag\nkind: Secret",
    "- item",
    "# comment",
    "!tag",
    "%YAML 1.2",
    "@x",
    "|",
    "> folded",
    "{a: b}",
    "[1, 2]",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "~",
    "null",
    "",
    "0777",
    "1_000",
    "0x1F",
    "1e3",
    ".inf",
    "12:30:00",
    "2001-12-14",
    "=",
    "<<",
    " leading",
    "trailing ",
    "\ttab",
    "back\\slash\\",
    "ü € 𝄞",
    "\u{1b}[2J",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\u{feff}bom",
    "\u{fffe}",
    "?",
    ":",
    "-",
    "a #b",
    "'",
    "\"",
    "100%",
];

/// The commands of the hostile Procfile, by label (labels YAML 1.1 reads as booleans too).
pub(crate) const HOSTILE_COMMANDS: [(&str, &str); 3] = [
    (
        "web",
        "printf '%s: %s\\n' \"yes\" '*a' --- '&b' \"{x}\" \"$HOME\" # no",
    ),
    ("on", "cd /tmp && echo '---' \"a: b\" ~ 0777"),
    ("y", "yes"),
];

/// A v2 Procfile (written by serde_yaml, so every value arrives as intended) whose env holds
/// every `HOSTILE` value and keys YAML 1.1 would read as booleans or null, whose commands
/// are `HOSTILE_COMMANDS`, and whose working directory looks like YAML; and its env.
pub(crate) fn hostile_procfile() -> (String, Mapping) {
    let mut env = Mapping::new();
    for (i, value) in HOSTILE.iter().enumerate() {
        env.insert(format!("K{i}").into(), (*value).into());
    }
    // Env keys that YAML 1.1 would read as booleans or null.
    for key in ["on", "y", "NO", "True", "null"] {
        env.insert(key.into(), key.into());
    }
    let mut commands_map = Mapping::new();
    for (label, command) in HOSTILE_COMMANDS {
        let mut entry = Mapping::new();
        entry.insert("command".into(), command.into());
        commands_map.insert(label.into(), entry.into());
    }
    let mut procfile = Mapping::new();
    procfile.insert("version".into(), 2.into());
    procfile.insert("working_directory".into(), "/srv/a: b/--- #x/yes".into());
    procfile.insert("env".into(), env.clone().into());
    procfile.insert("commands".into(), commands_map.into());
    let procfile = serde_yaml::to_string(&procfile).unwrap();
    (procfile, env)
}

#[test]
fn hostile_values_read_back_exactly_in_yaml_1_2() {
    let (procfile, env) = hostile_procfile();
    let sandbox = Sandbox::new();
    let out = sandbox.path().join("out");
    let stdout = export(&sandbox, &procfile, &["--listen", "web", "--listen", "on"])
        .success()
        .stdout;
    export(
        &sandbox,
        &procfile,
        &[
            "--listen",
            "web",
            "--listen",
            "on",
            "--output",
            out.to_str().unwrap(),
        ],
    )
    .success();
    let docs = documents(&stdout);
    for (label, command) in HOSTILE_COMMANDS {
        let component = label;
        let name = format!("myapp-{component}");
        let secret = object(&docs, "Secret", &format!("{name}-env"));
        let data = secret["stringData"].as_mapping().unwrap();
        assert_eq!(data.len(), env.len());
        for (key, value) in &env {
            assert_eq!(&data[key], value, "{label}: env {key:?}");
        }
        let deployment = object(&docs, "Deployment", &name);
        let c = container(deployment);
        let expected = match label {
            // The gem's rule: exec in front of the last simple command.
            "on" => "cd /tmp && exec echo '---' \"a: b\" ~ 0777".to_owned(),
            _ => format!("exec {command}"),
        };
        assert_eq!(
            c["command"],
            Value::from(vec!["/bin/sh", "-c", expected.as_str()])
        );
        assert_eq!(c["workingDir"], "/srv/a: b/--- #x/yes");
        assert_eq!(c["name"], component);
        assert_eq!(
            deployment["metadata"]["labels"]["app.kubernetes.io/component"],
            component
        );
    }
    // The same text on stdout and in the files.
    let files = files_in(&out);
    let from_files: Vec<Value> = files
        .iter()
        .flat_map(|f| documents(&fs::read_to_string(f).unwrap()))
        .collect();
    assert_eq!(from_files.len(), docs.len());
    for doc in &docs {
        assert!(from_files.contains(doc), "{doc:?} is not in the files");
    }
    // No raw control character reaches the text.
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout}"
    );
}

/// Every setting the model has for a process type, and the two ways to run once.
pub(crate) const PROCFILE: &str = "version: 2\n\
        kill_timeout: 20\n\
        env: {SHARED: top, DATABASE_URL: \"postgres://u:p@h/db\"}\n\
        commands:\n  \
          web:\n    command: bundle exec puma -p $PORT\n    count: 3\n    kill_timeout: 45\n  \
          worker:\n    command: QUEUE=* rake work\n    env: {SHARED: worker}\n  \
          release:\n    command: rake db:migrate\n    respawn: {count: 2, interval: 60}\n  \
          once:\n    command: ./bin/backfill\n    respawn: false\n    count: 2\n";

#[test]
fn the_job_model_maps_to_deployments_jobs_services_and_env() {
    let procfile = PROCFILE;
    let sandbox = Sandbox::new();
    let docs = documents(
        &export(&sandbox, procfile, &["--port", "6000"])
            .success()
            .stdout,
    );
    let web = object(&docs, "Deployment", "myapp-web");
    assert_eq!(web["spec"]["replicas"], 3);
    let pod = &web["spec"]["template"]["spec"];
    assert_eq!(pod["terminationGracePeriodSeconds"], 45);
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let c = container(web);
    assert_eq!(c["image"], IMAGE);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(c["ports"][0]["containerPort"], 6000);
    assert_eq!(c["env"][0]["name"], "PORT");
    assert_eq!(c["env"][0]["value"], "6000");
    assert_eq!(c["envFrom"][0]["secretRef"]["name"], "myapp-web-env");
    assert!(
        c.get("workingDir").is_none(),
        "the Procfile's own directory means nothing in the image"
    );
    let selector = &web["spec"]["selector"]["matchLabels"];
    for (key, value) in selector.as_mapping().unwrap() {
        assert_eq!(&web["spec"]["template"]["metadata"]["labels"][key], value);
    }
    assert_eq!(selector["app.kubernetes.io/component"], "web");
    assert_eq!(
        web["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "procexport"
    );
    let service = object(&docs, "Service", "myapp-web");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], 6000);
    assert_eq!(&service["spec"]["selector"], selector);
    // The second type: PORT is 100 higher; it does not listen, so no port and no Service.
    let worker = object(&docs, "Deployment", "myapp-worker");
    assert_eq!(worker["spec"]["replicas"], 1);
    assert_eq!(
        worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
        20
    );
    assert_eq!(container(worker)["env"][0]["value"], "6100");
    assert!(container(worker).get("ports").is_none());
    assert!(!has(&docs, "Service", "myapp-worker"));
    assert_eq!(
        container(worker)["command"][2],
        "exec env QUEUE=* rake work"
    );
    let secret = object(&docs, "Secret", "myapp-worker-env");
    assert_eq!(secret["stringData"]["SHARED"], "worker");
    assert_eq!(secret["stringData"]["DATABASE_URL"], "postgres://u:p@h/db");
    // release is a Job that retries as often as its respawn limit allows.
    let release = object(&docs, "Job", "myapp-release");
    assert!(!has(&docs, "Deployment", "myapp-release"));
    assert_eq!(release["spec"]["backoffLimit"], 2);
    assert_eq!(
        release["spec"]["template"]["spec"]["restartPolicy"],
        "OnFailure"
    );
    assert!(release["metadata"].get("annotations").is_none());
    // respawn: false is a Job run once per instance, never restarted.
    let once = object(&docs, "Job", "myapp-once");
    assert_eq!(once["spec"]["backoffLimit"], 0);
    assert_eq!(once["spec"]["completions"], 2);
    assert_eq!(once["spec"]["parallelism"], 2);
    assert_eq!(once["spec"]["template"]["spec"]["restartPolicy"], "Never");
    assert_eq!(docs.len(), 4 + 4 + 1, "4 workloads, 4 Secrets, 1 Service");
}

#[test]
fn formation_configmap_env_and_helm_hooks_are_options() {
    let sandbox = Sandbox::new();
    let procfile = PROCFILE;
    // Formation, the env in a ConfigMap but for one secret key, release as a Helm hook.
    let docs = documents(
        &export(
            &sandbox,
            procfile,
            &[
                "-m",
                "web=5,worker=0",
                "--env-in",
                "configmap",
                "--secret-key",
                "DATABASE_URL",
                "--release",
                "hook",
                "--run-as-user",
                "1001",
            ],
        )
        .success()
        .stdout,
    );
    assert_eq!(
        object(&docs, "Deployment", "myapp-web")["spec"]["replicas"],
        5
    );
    assert_eq!(
        object(&docs, "Deployment", "myapp-worker")["spec"]["replicas"],
        0
    );
    let config_map = object(&docs, "ConfigMap", "myapp-web-env");
    assert_eq!(config_map["data"]["SHARED"], "top");
    assert!(config_map["data"].get("DATABASE_URL").is_none());
    let secret = object(&docs, "Secret", "myapp-web-env");
    assert_eq!(secret["stringData"].as_mapping().unwrap().len(), 1);
    let web = object(&docs, "Deployment", "myapp-web");
    assert_eq!(
        web["spec"]["template"]["spec"]["securityContext"]["runAsUser"],
        1001
    );
    let refs = &container(web)["envFrom"];
    assert_eq!(refs[0]["configMapRef"]["name"], "myapp-web-env");
    assert_eq!(refs[1]["secretRef"]["name"], "myapp-web-env");
    let release = object(&docs, "Job", "myapp-release");
    let annotations = &release["metadata"]["annotations"];
    assert_eq!(annotations["helm.sh/hook"], "pre-install,pre-upgrade");
    assert_eq!(annotations["helm.sh/hook-weight"], "0");
    let release_env = object(&docs, "ConfigMap", "myapp-release-env");
    assert_eq!(
        release_env["metadata"]["annotations"]["helm.sh/hook-weight"],
        "-5"
    );
    assert!(object(&docs, "Job", "myapp-once")["metadata"]
        .get("annotations")
        .is_none());
}

#[test]
fn the_image_comes_from_the_flag_the_procfile_or_the_config() {
    let sandbox = Sandbox::with_config(
        "kubernetes: {image: \"config.example/app:1\", port: 7000, listen: [api]}\n",
    );
    let path = sandbox.procfile("api: ./api\nweb: ./web\n");
    let path = path.to_str().unwrap();
    let docs = documents(
        &kubernetes(&sandbox, &["-p", path, "-n", "myapp"])
            .success()
            .stdout,
    );
    let api = object(&docs, "Deployment", "myapp-api");
    assert_eq!(container(api)["image"], "config.example/app:1");
    assert_eq!(container(api)["ports"][0]["containerPort"], 7000);
    assert!(has(&docs, "Service", "myapp-api"));
    assert!(
        !has(&docs, "Service", "myapp-web"),
        "the config's listen replaces the default"
    );
    let v2 = "version: 2\nimage: procfile.example/app:2\ncommands:\n  web:\n    command: ./web\n";
    let path = sandbox.procfile(v2);
    let path = path.to_str().unwrap();
    let docs = documents(
        &kubernetes(&sandbox, &["-p", path, "-n", "myapp"])
            .success()
            .stdout,
    );
    assert_eq!(
        container(object(&docs, "Deployment", "myapp-web"))["image"],
        "procfile.example/app:2"
    );
    let docs = documents(
        &kubernetes(&sandbox, &["-p", path, "-n", "myapp", "--image", IMAGE])
            .success()
            .stdout,
    );
    assert_eq!(
        container(object(&docs, "Deployment", "myapp-web"))["image"],
        IMAGE
    );

    let bare = Sandbox::new();
    let path = bare.procfile("web: ./web\n");
    kubernetes(&bare, &["-p", path.to_str().unwrap(), "-n", "myapp"])
        .failure(2)
        .stderr_has("no image: give --image");
    let bad = Sandbox::with_config("kubernetes: {listen: [web], imag: x}\n");
    kubernetes(&bad, &["-p", path.to_str().unwrap(), "-n", "myapp"])
        .failure(2)
        .stderr_has("config.yaml:3: kubernetes: unknown field `imag`");
    let bad = Sandbox::with_config("kubernetes:\n  port: 70000\n");
    kubernetes(&bad, &["-p", path.to_str().unwrap(), "-n", "myapp"])
        .failure(2)
        .stderr_has("config.yaml:4: port 70000 is out of range (1 to 65535)");
}

#[test]
fn bad_names_and_values_are_refused_with_where_and_why() {
    let long = "a".repeat(60);
    let cases: Vec<(String, Vec<&str>, String)> = vec![
        ("_web: a\n".into(), vec![], "Procfile:1:1: label \"_web\" must start with an ASCII letter or digit".into()),
        ("web: a\nworker_: b\n".into(), vec![], "Procfile:2: label \"worker_\" would be the Kubernetes name \"worker-\"".into()),
        ("Web: a\nweb: b\n".into(), vec![], "Procfile:2: label \"web\" would be the Kubernetes name \"web\", as label \"Web\" on line 1 is".into()),
        (format!("{long}: a\n"), vec![], format!("Procfile:1: label \"{long}\" of app \"myapp\" would be the Kubernetes name \"myapp-{long}\", 66 characters long; a DNS-1123 label has at most 63")),
        ("web: a\n".into(), vec!["--listen", "api"], "the labels to listen name label \"api\", which the Procfile does not have".into()),
        ("web: a\n".into(), vec!["-m", "api=2"], "--formation names label \"api\", which the Procfile does not have".into()),
        ("web: a\n".into(), vec!["-m", "web"], "--formation: \"web\" has no \"=\"".into()),
        ("web: a\nworker: b\n".into(), vec!["--port", "65500"], "Procfile:2: PORT would be 65600 (base port 65500 + 100 x 1), past 65535: give a lower --port".into()),
        ("web: a\n".into(), vec!["--port", "0"], "--port 0 is out of range (1 to 65535)".into()),
        ("version: 2\ncommands:\n  web:\n    command: a\n    env: {PORT: http}\n".into(), vec![], "Procfile:3: env PORT \"http\" is not a port number (1 to 65535)".into()),
        ("web: a\n".into(), vec!["--run-as-user", "0"], "--run-as-user: run_as_user 0 is out of range (1 to 4294967295): containers may not run as root (uid 0)".into()),
        ("web: a\n".into(), vec!["--secret-key", "A"], "--secret-key only applies with --env-in configmap".into()),
        ("web: a\n".into(), vec!["--env-in", "configmap", "--secret-key", "TOKEN"], "secret key \"TOKEN\" is in no process type's env".into()),
    ];
    let sandbox = Sandbox::new();
    for (procfile, extra, message) in &cases {
        let outcome = export(&sandbox, procfile, extra).failure(2);
        assert!(
            outcome.stderr.contains(message.as_str()),
            "{procfile:?} {extra:?}:\n{}\nlacks {message}",
            outcome.stderr
        );
        assert!(
            outcome.stdout.is_empty(),
            "nothing is printed on a refusal: {}",
            outcome.stdout
        );
    }
    // The image of a v2 Procfile is refused with its line.
    let path =
        sandbox.procfile("version: 2\nimage: \"Bad Image\"\ncommands:\n  web:\n    command: a\n");
    kubernetes(&sandbox, &["-p", path.to_str().unwrap(), "-n", "myapp"])
        .failure(2)
        .stderr_has("app/Procfile:2: image \"Bad Image\" is not an image reference");
    // A Service name must start with a letter; a Deployment's need not.
    let path = sandbox.procfile("web: a\n");
    let path = path.to_str().unwrap();
    kubernetes(&sandbox, &["-p", path, "-n", "2fa", "--image", IMAGE])
        .failure(2)
        .stderr_has("Procfile:1: label \"web\" of app \"2fa\" would be the Kubernetes name \"2fa-web\", which starts with a digit; a Service name is a DNS-1035 label");
    let worker = sandbox.procfile("worker: a\n");
    kubernetes(
        &sandbox,
        &[
            "-p",
            worker.to_str().unwrap(),
            "-n",
            "2fa",
            "--image",
            IMAGE,
        ],
    )
    .success();
    kubernetes(&sandbox, &["-p", path, "-n", "_x", "--image", IMAGE])
        .failure(2)
        .stderr_has("app name \"_x\" must start with an ASCII letter or digit");
}

#[test]
fn renamed_names_are_reported_and_what_does_not_map_is_said() {
    let sandbox = Sandbox::new();
    let procfile = "version: 2\nstart_on_runlevel: \"[35]\"\ncommands:\n  Web_Main:\n    command: a\n    log: /var/log/web.log\n  worker:\n    command: b\n    respawn: {count: 3, interval: 9}\n";
    let outcome = export(&sandbox, procfile, &["--listen", "Web_Main"]).success();
    for note in [
        "procexport: note: label \"Web_Main\" is \"web-main\" in Kubernetes",
        "procexport: note: start_on_runlevel and stop_on_runlevel do not apply",
        "procexport: note: the log file of label \"Web_Main\" is not used: in Kubernetes a process logs to stdout and stderr",
        "procexport: note: the respawn limit of label \"worker\" does not map",
    ] {
        assert!(outcome.stderr.contains(note), "{} lacks {note}", outcome.stderr);
    }
    let docs = documents(&outcome.stdout);
    assert!(has(&docs, "Deployment", "myapp-web-main"));
    assert!(has(&docs, "Service", "myapp-web-main"));
    assert_eq!(
        container(object(&docs, "Deployment", "myapp-web-main"))["name"],
        "web-main"
    );
    let path = sandbox.procfile("web: a\n");
    let outcome = kubernetes(
        &sandbox,
        &[
            "-p",
            path.to_str().unwrap(),
            "-n",
            "My_App",
            "--image",
            IMAGE,
        ],
    )
    .success();
    assert!(
        outcome
            .stderr
            .contains("note: app name \"My_App\" is \"my-app\" in Kubernetes"),
        "{}",
        outcome.stderr
    );
    assert!(has(&documents(&outcome.stdout), "Deployment", "my-app-web"));
}

#[test]
fn root_does_not_apply() {
    let sandbox = Sandbox::new();
    let path = sandbox.procfile("web: a\n");
    let root = sandbox.path().join("root");
    let mut command = Command::new(bin());
    command.env_clear().arg("--root").arg(&root).args([
        "kubernetes",
        "-p",
        path.to_str().unwrap(),
        "-n",
        "myapp",
        "--image",
        IMAGE,
    ]);
    run(&mut command)
        .failure(2)
        .stderr_has("--root does not apply to kubernetes");
    assert!(!root.exists());
}

#[test]
fn output_takes_only_a_new_or_empty_directory_of_the_users() {
    let sandbox = Sandbox::with_config("env: {SECRET: s3cr3t}\n");
    let procfile = "web: a\nworker: b\n";
    let out = sandbox.path().join("k8s");
    let arg = out.to_str().unwrap();
    // A dry run shows every file and writes nothing.
    let dry = export(&sandbox, procfile, &["--dry-run", "-o", arg])
        .success()
        .stdout;
    assert!(
        dry.starts_with("# dry run of the kubernetes export of myapp: nothing is written\n"),
        "{dry}"
    );
    assert!(
        dry.contains(&format!("=== write {arg} (directory, mode 0700)")),
        "{dry}"
    );
    assert!(
        dry.contains(&format!(
            "=== write {arg}/myapp-web-env.secret.yaml (file, mode 0600)"
        )),
        "{dry}"
    );
    assert!(
        dry.contains(&format!(
            "=== write {arg}/myapp-web.deployment.yaml (file, mode 0644)"
        )),
        "{dry}"
    );
    assert!(!out.exists(), "a dry run wrote");
    let dry = export(&sandbox, procfile, &["--dry-run"]).success().stdout;
    assert!(
        dry.starts_with("# dry run of the kubernetes export of myapp: nothing is written"),
        "{dry}"
    );
    assert!(
        dry.contains("=== write stdout: myapp-web.deployment.yaml\napiVersion: apps/v1\n"),
        "{dry}"
    );
    let outcome = export(&sandbox, procfile, &["-o", arg]).success();
    assert!(
        outcome.stdout.contains("5 objects written"),
        "{}",
        outcome.stdout
    );
    let names: Vec<String> = files_in(&out)
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "myapp-web-env.secret.yaml",
            "myapp-web.deployment.yaml",
            "myapp-web.service.yaml",
            "myapp-worker-env.secret.yaml",
            "myapp-worker.deployment.yaml"
        ]
    );
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("myapp-web-env.secret.yaml")), 0o600);
    assert_eq!(mode(&out.join("myapp-web.service.yaml")), 0o644);
    // The same objects as on stdout.
    let stdout = documents(&export(&sandbox, procfile, &[]).success().stdout);
    let written: Vec<Value> = files_in(&out)
        .iter()
        .flat_map(|f| documents(&fs::read_to_string(f).unwrap()))
        .collect();
    assert_eq!(written.len(), stdout.len());
    assert!(stdout.iter().all(|d| written.contains(d)));
    // Not again into the same directory, nor through a symlink, nor into a file.
    export(&sandbox, procfile, &["-o", arg])
        .failure(2)
        .stderr_has("is not empty: it must be new or empty");
    let link = sandbox.path().join("link");
    let empty = sandbox.path().join("empty");
    fs::create_dir(&empty).unwrap();
    std::os::unix::fs::symlink(&empty, &link).unwrap();
    export(&sandbox, procfile, &["-o", link.to_str().unwrap()])
        .failure(1)
        .stderr_has("is a symlink; refusing it");
    let file = sandbox.write("file", "x");
    export(&sandbox, procfile, &["-o", file.to_str().unwrap()])
        .failure(2)
        .stderr_has("is not a directory");
    fs::set_permissions(&empty, fs::Permissions::from_mode(0o777)).unwrap();
    export(&sandbox, procfile, &["-o", empty.to_str().unwrap()])
        .failure(1)
        .stderr_has("is writable by group or others");
    fs::set_permissions(&empty, fs::Permissions::from_mode(0o755)).unwrap();
    export(&sandbox, procfile, &["-o", empty.to_str().unwrap()]).success();
    assert_eq!(files_in(&empty).len(), 5);
}
