//! Real-world Procfiles (tests/fixtures/corpus/, sources in SOURCES.tsv): each one either
//! exports, with every generated file passing the real checkers and one job per entry (no line
//! skipped silently), or fails with an error a user can act on. None may panic.

use crate::support::{check_generated_files, require_root, Sandbox};
use std::fs;
use std::path::Path;

/// Jobs a v1 Procfile makes: every line that is not blank or a comment, but `release:` (the
/// release phase, skipped with a note).
fn v1_entries(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("release:"))
        .count()
}

/// The specific message expected of each corpus file that must fail, by a part of its name
/// (the Kubernetes export refuses the same ones, tests/kubernetes_schemas.rs).
pub const EXPECTED_FAILURES: &[(&str, &str)] = &[
    ("0c0de__heroku-url-shorter", ":1: file is UTF-16 encoded"),
    ("Alex-proktor__DjangoChat", "label \"web\" is already defined on line 1"),
    ("Karanveer13__django_money_splitter", "label \"web\" is already defined on line"),
    ("surenm__css.markupwand.com", ":8: label \"screenshot\" is already defined on line 4"),
    ("dokku__dokku__tests_apps_dockerfile-procfile-bad", ":8:1: line \"<<<<<<< HEAD=0\" is not a \"label: command\" entry"),
    ("cookiecutter__cookiecutter-django", ":3:1: line \"{%- if cookiecutter.use_celery == \\\"y\\\" %}\" is not a \"label: command\" entry"),
    ("frappe__bench__bench_config_templates", ":1:1: line \"{% if not skip_redis %}\" is not a \"label: command\" entry"),
    ("strongloop__node-foreman__test_fixtures_nocmd", "has no command"),
    ("strongloop__node-foreman__test_fixtures_nokey", ":1:1: label is empty"),
    // Its depends (and device, and limits) need the admin's policy: none is set here.
    // tests/golden.rs exports it with one.
    ("funbox__init-exporter__testdata_procfile_v2", ":7: depends names \"postgresql-11.service\", which the admin does not allow an app to depend on: remove it, or ask the admin to add it to policy.depends in /etc/procexport.yaml"),
];

/// One test per backend, so that they run in parallel.
macro_rules! corpus_tests {
    ($($backend:ident),*) => {
        $(
            mod $backend {
                #[test]
                fn every_corpus_procfile_exports_or_fails_clearly() {
                    super::every_corpus_procfile_exports_or_fails_clearly(
                        procexport::testing::backend_name(stringify!($backend)),
                    );
                }
            }
        )*
    };
}

procexport::for_each_backend!(corpus_tests);

fn every_corpus_procfile_exports_or_fails_clearly(backend: &str) {
    require_root();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "Procfile"))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "the corpus is missing: {}", files.len());
    let (mut exported, mut refused) = (0, 0);
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let bytes = fs::read(file).unwrap();
        {
            let sandbox = Sandbox::new();
            let procfile = sandbox.procfile(&bytes);
            let outcome = sandbox.export(backend, &procfile, "app");
            assert!(
                !outcome.stderr.contains("panicked"),
                "{name}: {}",
                outcome.stderr
            );
            let expected = EXPECTED_FAILURES
                .iter()
                .find(|(part, _)| name.starts_with(part));
            match (outcome.code, expected) {
                (0, None) => {
                    let checked = check_generated_files(&sandbox);
                    assert!(checked > 0, "{name}: nothing was checked");
                    let text = String::from_utf8(bytes.clone()).unwrap();
                    let manifest = fs::read_to_string(sandbox.host(&format!(
                        "{}/{backend}/fb-app.manifest",
                        crate::support::state_dir(backend)
                    )))
                    .unwrap();
                    if !text.contains("version: 2") {
                        let jobs = job_count(backend, &manifest);
                        assert_eq!(
                            jobs,
                            v1_entries(&text),
                            "{name}: a line was skipped or doubled"
                        );
                    }
                    exported += 1;
                }
                (2, Some((_, message))) => {
                    let stderr = outcome.stderr.replace(sandbox.path().to_str().unwrap(), "");
                    assert!(
                        stderr.starts_with("procexport: /app/Procfile"),
                        "{name}: no file named: {stderr}"
                    );
                    assert!(
                        stderr.contains(message),
                        "{name}: {stderr:?} lacks {message:?}"
                    );
                    refused += 1;
                }
                (code, _) => panic!(
                    "{name} ({backend}): unexpected exit {code}: {}{}",
                    outcome.stdout, outcome.stderr
                ),
            }
        }
    }
    eprintln!(
        "corpus: {exported} of {} files export through {backend}",
        files.len()
    );
    assert_eq!(refused, EXPECTED_FAILURES.len());
    assert_eq!(exported + refused, files.len());
}

/// Jobs in a manifest: one per process file the backend's facts name.
fn job_count(backend: &str, manifest: &str) -> usize {
    let facts = procexport::testing::facts(backend);
    manifest
        .lines()
        .filter_map(|l| l.strip_prefix("file "))
        .filter(|path| facts.is_process_file(path))
        .count()
}
