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
            ".ci/run",
            "tests/lab/boot.sh",
            "tests/lab/systemd-user.sh",
        ])
        .status()
        .expect("shellcheck is installed (.ci/run installs it)");
    assert!(status.success());
}

/// The .deb's description names every init procexport exports to (it once named three of
/// eight), and the package points at what loads its bash completion.
#[test]
fn deb_metadata_names_every_backend_and_suggests_bash_completion() {
    let manifest = repo_file("Cargo.toml");
    let (_, deb) = manifest
        .split_once("[package.metadata.deb]")
        .expect("Cargo.toml has [package.metadata.deb]");
    let (_, extended) = deb
        .split_once("extended-description = \"\"\"")
        .expect("the package has an extended description");
    let extended = extended.split("\"\"\"").next().unwrap().to_lowercase();
    for backend in crate::support::BACKENDS.iter().chain(&["kubernetes"]) {
        assert!(
            extended.contains(backend),
            "the .deb's extended description does not name {backend}: {extended}"
        );
    }
    let wanted: Vec<&str> = deb
        .lines()
        .filter_map(|line| {
            line.strip_prefix("suggests = ")
                .or_else(|| line.strip_prefix("recommends = "))
        })
        .collect();
    assert!(
        wanted.iter().any(|list| list.contains("bash-completion")),
        "the .deb neither suggests nor recommends bash-completion: {wanted:?}"
    );
}

/// Purge removes the state directory once it lists no jobs, whichever backends left their
/// (empty) directory in it: it once knew only upstart, systemd and runit, and said a
/// supervisord directory held "files procexport did not make". Run in a private mount
/// namespace with a tmpfs on /var/lib, so the machine's own /var/lib is never touched.
#[test]
fn purge_removes_every_backends_empty_state_directory() {
    crate::support::require_root();
    let global: Vec<&str> = crate::support::BACKENDS
        .iter()
        .copied()
        .filter(|backend| crate::support::state_dir(backend) == "/var/lib/procexport")
        .collect();
    assert!(global.contains(&"supervisord"), "{global:?}");
    let script = r#"
        set -e
        mount -t tmpfs -o mode=0755 procexport-postrm /var/lib
        mkdir /var/lib/procexport
        for backend in "$@"; do mkdir "/var/lib/procexport/$backend"; done
        touch /var/lib/procexport/fb-myapp.lock
        sh "$0" purge
        if [ -e /var/lib/procexport ]; then
            echo "purge left: $(find /var/lib/procexport | tr '\n' ' ')"
            exit 1
        fi
    "#;
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/debian/postrm"))
        .args(&global)
        .output()
        .expect("unshare runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert_eq!(
        said, "",
        "purge of a state directory with no jobs said something"
    );
}
