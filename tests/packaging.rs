//! What the Debian package ships besides the binary: the example config must be every key
//! at its true default (uncommented, it changes nothing), and the package's scripts must pass
//! shellcheck. `packaging/check-deb.sh` (run by CI) builds, installs and removes the package.

use procexport::testing::preview::render;
use std::path::Path;
use std::process::Command;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The example with every `# key: value` line uncommented.
fn example_uncommented() -> String {
    repo_file("packaging/procexport.yaml")
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|line| {
            line.split_once(':').is_some_and(|(key, _)| {
                !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Every key the config accepts.
fn config_keys() -> Vec<&'static str> {
    procexport::testing::config_keys()
}

#[test]
fn example_config_sets_every_key_to_its_default() {
    let example = example_uncommented();
    let keys = config_keys();
    assert!(keys.len() > 10, "{keys:?}");
    for key in &keys {
        assert!(
            example
                .lines()
                .any(|line| line.starts_with(&format!("{key}:"))),
            "packaging/procexport.yaml has no {key}"
        );
    }
    let procfile = repo_file("examples/Procfile");
    for backend in procexport::testing::BACKENDS {
        let defaults = render(procfile.as_bytes(), "myapp", backend, Some("")).unwrap();
        let with_example = render(procfile.as_bytes(), "myapp", backend, Some(&example))
            .unwrap_or_else(|e| panic!("the uncommented example is refused: {e}\n{example}"));
        assert_eq!(defaults, with_example, "{backend}");
    }
}

#[test]
fn example_config_as_shipped_sets_nothing() {
    let shipped = repo_file("packaging/procexport.yaml");
    assert!(shipped
        .lines()
        .all(|line| line.is_empty() || line.starts_with('#')));
}

#[test]
fn sudoers_example_grants_only_the_packaged_binary() {
    let sudoers = repo_file("packaging/sudoers.example");
    let rules = sudoers
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect::<Vec<_>>();
    // One rule, for one binary with any arguments, and no SETENV or env_keep.
    assert_eq!(rules, ["deploy ALL=(root) NOPASSWD: /usr/bin/procexport"]);
}

#[test]
fn packaging_scripts_pass_shellcheck() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("shellcheck")
        .current_dir(dir)
        .args([
            "-x",
            ".ci/cargo",
            ".ci/cargo-env",
            "packaging/build-deb.sh",
            "packaging/check-deb.sh",
            "packaging/check-readme.sh",
            "packaging/debian/postinst",
            "packaging/debian/postrm",
        ])
        .status()
        .expect("shellcheck is installed (.ci/run installs it)");
    assert!(status.success());
}
