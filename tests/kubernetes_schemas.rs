//! The Kubernetes export checked by outside readers: every manifest of every corpus Procfile
//! and golden fixture, and of the hostile and option-laden exports, passes the Kubernetes
//! OpenAPI schemas (kubernetes-validate, offline and strict), and a YAML 1.1 reader (PyYAML,
//! which reads the way kubectl's go-yaml does) reads back exactly what a YAML 1.2 one does.
//! In the root tier for the tools .ci/run installs (pip: kubernetes-validate, which brings
//! PyYAML), not for root itself; a missing validator fails the test.

use crate::corpus::EXPECTED_FAILURES;
use crate::kubernetes::{
    documents, export, files_in, hostile_procfile, kubernetes, IMAGE, PROCFILE,
};
use crate::support::Sandbox;
use serde_yaml::{Mapping, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned validator (.ci/run installs it with pip).
const VALIDATOR: &str = "kubernetes_validate";

/// Runs the validator, strict (unknown fields are errors), on every file; panics when it is
/// missing or any object fails. Returns the number of objects it passed.
#[track_caller]
fn validate(files: &[PathBuf]) -> usize {
    assert!(!files.is_empty(), "nothing to validate");
    let output = Command::new("python3")
        .args(["-m", VALIDATOR, "--strict"])
        .args(files)
        .output()
        .expect("python3 runs (.ci/run installs kubernetes-validate with pip)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !said.contains("No module named"),
        "kubernetes-validate is not installed: .ci/run installs it (pip install kubernetes-validate==1.37.0)\n{said}"
    );
    let failed: Vec<&str> = said
        .lines()
        .filter(|l| !l.starts_with("INFO ") || !l.contains(" passed for resource "))
        .collect();
    assert!(
        output.status.success() && failed.is_empty(),
        "kubernetes-validate: {}\n{}",
        output.status,
        failed.join("\n")
    );
    said.lines()
        .filter(|l| l.contains(" passed for resource "))
        .count()
}

/// Reads each file with PyYAML, a YAML 1.1 reader like kubectl's go-yaml, and returns its
/// documents. Strings cross over hex-coded, so the comparison is byte for byte; anything
/// PyYAML read as another type (a boolean, date, float or null) comes back as a marker that
/// cannot equal what was written.
fn read_with_yaml_1_1(files: &[PathBuf]) -> Vec<Vec<Value>> {
    const SCRIPT: &str = r#"
import json, sys, yaml
def enc(x):
    if isinstance(x, bool): return x
    if isinstance(x, str): return "s" + x.encode("utf-8").hex()
    if isinstance(x, int): return x
    if isinstance(x, dict): return {str(enc(k)): enc(v) for k, v in x.items()}
    if isinstance(x, list): return [enc(v) for v in x]
    return "type:" + type(x).__name__ + ":" + str(x)
out = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        out.append([enc(d) for d in yaml.safe_load_all(f)])
print(json.dumps(out))
"#;
    let output = Command::new("python3")
        .args(["-c", SCRIPT])
        .args(files)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "PyYAML could not read the manifests: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let coded: Vec<Vec<Value>> = serde_yaml::from_slice(&output.stdout).unwrap();
    coded
        .into_iter()
        .map(|docs| docs.into_iter().map(decode).collect())
        .collect()
}

fn decode(value: Value) -> Value {
    let string = |s: &str| match s.strip_prefix('s') {
        Some(hex) => {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            Value::String(String::from_utf8(bytes).unwrap())
        }
        None => Value::String(format!("<PyYAML read {s}>")),
    };
    match value {
        Value::String(s) => string(&s),
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(decode).collect()),
        Value::Mapping(map) => Value::Mapping(
            map.into_iter()
                .map(|(k, v)| (decode(k), decode(v)))
                .collect::<Mapping>(),
        ),
        other => other,
    }
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

/// Every name in an object that Kubernetes checks as a DNS-1123 label is one.
#[track_caller]
fn check_names(document: &Value) {
    let is_label = |s: &str| {
        s.len() <= 63
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let name = text(&document["metadata"]["name"]);
    assert!(is_label(name), "object name {name:?}");
    if document["kind"] == "Service" {
        assert!(name.starts_with(|c: char| c.is_ascii_lowercase()), "{name}");
    }
    if let Some(containers) = document["spec"]["template"]["spec"]["containers"].as_sequence() {
        for c in containers {
            assert!(is_label(text(&c["name"])), "container {:?}", c["name"]);
        }
    }
    for (_, value) in document["metadata"]["labels"].as_mapping().unwrap() {
        assert!(is_label(text(value)), "label value {value:?}");
    }
}

fn v1_entries(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// Every corpus Procfile and every golden fixture: (name, Procfile bytes, extra config
/// lines), sorted, and how many of them are from the corpus.
fn inputs() -> (Vec<(String, Vec<u8>, String)>, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // (name, Procfile bytes, extra config lines)
    let mut inputs: Vec<(String, Vec<u8>, String)> = Vec::new();
    for entry in fs::read_dir(root.join("corpus")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "Procfile") {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            inputs.push((name, fs::read(&path).unwrap(), String::new()));
        }
    }
    let corpus = inputs.len();
    assert!(corpus >= 50, "the corpus is missing: {corpus}");
    for entry in fs::read_dir(root.join("golden")).unwrap() {
        let dir = entry.unwrap().path();
        let name = format!("golden/{}", dir.file_name().unwrap().to_str().unwrap());
        let extra = fs::read_to_string(dir.join("config.yaml")).unwrap_or_default();
        inputs.push((name, fs::read(dir.join("Procfile")).unwrap(), extra));
    }
    inputs.sort();
    (inputs, corpus)
}

/// The golden fixtures the Kubernetes export refuses, and why (each a prefix of two fixtures):
/// init-exporter's env_file is a path on this machine, which an image does not have; the
/// limits the init backends carry are a pod's resources, not a process's rlimits.
const GOLDEN_REFUSED: &[(&str, &str)] = &[
    (
        "golden/v2_init_exporter",
        "kubernetes cannot carry env_file",
    ),
    ("golden/v2_carried", "kubernetes cannot carry limits.nofile"),
];

/// How many of `inputs` `GOLDEN_REFUSED` names.
fn golden_refused(inputs: &[(String, Vec<u8>, String)]) -> usize {
    inputs
        .iter()
        .filter(|(name, ..)| {
            GOLDEN_REFUSED
                .iter()
                .any(|(part, _)| name.starts_with(part))
        })
        .count()
}

#[test]
fn every_corpus_procfile_and_fixture_validates_against_the_kubernetes_schemas() {
    let (inputs, corpus) = inputs();
    let sandbox = Sandbox::new();
    fs::create_dir(sandbox.path().join("out")).unwrap();
    let (mut exported, mut refused) = (0, 0);
    let mut all_files = Vec::new();
    for (index, (name, bytes, extra)) in inputs.iter().enumerate() {
        sandbox.write_config(&format!("run_user: pxrun\nrun_group: pxrun\n{extra}"));
        let out = sandbox.path().join(format!("out/{index}"));
        let path = sandbox.procfile(bytes);
        let outcome = kubernetes(
            &sandbox,
            &[
                "-p",
                path.to_str().unwrap(),
                "-n",
                "myapp",
                "--image",
                IMAGE,
                "--output",
                out.to_str().unwrap(),
            ],
        );
        assert!(
            !outcome.stderr.contains("panicked"),
            "{name}: {}",
            outcome.stderr
        );
        let expected = EXPECTED_FAILURES
            .iter()
            .chain(GOLDEN_REFUSED)
            .find(|(part, _)| name.starts_with(part));
        match (outcome.code, expected) {
            (0, None) => {
                let files = files_in(&out);
                let mut workloads = 0;
                for file in &files {
                    let docs = documents(&fs::read_to_string(file).unwrap());
                    assert_eq!(
                        docs.len(),
                        1,
                        "{name}: {}: one object per file",
                        file.display()
                    );
                    check_names(&docs[0]);
                    if docs[0]["kind"] == "Deployment" || docs[0]["kind"] == "Job" {
                        workloads += 1;
                    }
                }
                let text = String::from_utf8_lossy(bytes);
                if !text.contains("version: 2") {
                    assert_eq!(
                        workloads,
                        v1_entries(&text),
                        "{name}: a process type was lost"
                    );
                }
                all_files.extend(files);
                exported += 1;
            }
            (2, Some((_, message))) => {
                assert!(
                    outcome.stderr.contains(message),
                    "{name}: {:?} lacks {message:?}",
                    outcome.stderr
                );
                assert!(
                    !out.exists(),
                    "{name}: a refused export wrote {}",
                    out.display()
                );
                refused += 1;
            }
            (code, _) => panic!("{name}: unexpected exit {code}: {}", outcome.stderr),
        }
    }
    assert_eq!(refused, EXPECTED_FAILURES.len() + golden_refused(&inputs));
    assert_eq!(exported + refused, inputs.len());
    let passed = validate(&all_files);
    assert_eq!(passed, all_files.len(), "every object was validated");
    // What a YAML 1.1 reader (kubectl's kind) makes of each file is what serde_yaml does.
    let read_back = read_with_yaml_1_1(&all_files);
    for (file, docs) in all_files.iter().zip(read_back) {
        assert_eq!(
            docs,
            documents(&fs::read_to_string(file).unwrap()),
            "{}",
            file.display()
        );
    }
    eprintln!(
        "kubernetes: {exported} of {} inputs exported ({} corpus Procfiles), {passed} objects validated",
        inputs.len(),
        corpus
    );
}

#[test]
fn hostile_values_read_back_exactly_in_yaml_1_1_and_pass_the_schemas() {
    let (procfile, _) = hostile_procfile();
    let sandbox = Sandbox::new();
    let out = sandbox.path().join("out");
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
    let files = files_in(&out);
    // A YAML 1.1 reader sees the very same strings.
    for (file, read) in files.iter().zip(read_with_yaml_1_1(&files)) {
        assert_eq!(
            read,
            documents(&fs::read_to_string(file).unwrap()),
            "{}",
            file.display()
        );
    }
    assert_eq!(validate(&files), files.len());
}

#[test]
fn a_helm_hook_export_with_a_configmap_passes_the_schemas() {
    let sandbox = Sandbox::new();
    let procfile = PROCFILE;
    let out = sandbox.path().join("hook");
    export(
        &sandbox,
        procfile,
        &[
            "--release",
            "hook",
            "--env-in",
            "configmap",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .success();
    assert_eq!(validate(&files_in(&out)), files_in(&out).len());
}
