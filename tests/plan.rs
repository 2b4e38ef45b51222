//! The dry run as a plan, run as whatever user runs the tests (files go under `--root`, owned
//! by that user): what it would create, change (with a diff) and leave, what it would remove,
//! the log directory it would make, a summary line, and `--detailed-exitcode`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("config.yaml"),
            "run_user: daemon\nrun_group: daemon\n",
        )
        .unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, procfile: &str, extra: &[&str]) -> Output {
        fs::write(self.path().join("Procfile"), procfile).unwrap();
        Command::new(env!("CARGO_BIN_EXE_procexport"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .arg("--config")
            .arg(self.path().join("config.yaml"))
            .arg("--root")
            .arg(self.path().join("root"))
            .args(extra)
            .arg("upstart")
            .arg("-p")
            .arg(self.path().join("Procfile"))
            .args(["-n", "myapp"])
            .output()
            .unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn a_dry_run_shows_what_it_would_create_change_keep_and_remove() {
    let case = Case::new();
    let first = case.run(
        "web: puma\nworker: sidekiq\n",
        &["--dry-run", "--detailed-exitcode"],
    );
    assert_eq!(first.status.code(), Some(3), "{}", stdout(&first));
    let text = stdout(&first);
    assert!(
        text.contains("=== make log directory /var/log/fb-myapp"),
        "{text}"
    );
    assert!(
        text.contains("=== create /etc/init/fb-myapp-web.conf"),
        "{text}"
    );
    assert!(
        text.contains("# plan: 5 to create, 0 to change, 0 unchanged, 0 to remove"),
        "{text}"
    );
    assert!(!case.path().join("root").exists(), "a dry run wrote files");

    let done = case.run("web: puma\nworker: sidekiq\n", &[]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    let same = case.run(
        "web: puma\nworker: sidekiq\n",
        &["--dry-run", "--detailed-exitcode"],
    );
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    assert!(stdout(&same).contains("# everything is already installed as shown"));

    let next = case.run("web: puma -w 4\n", &["--dry-run", "--detailed-exitcode"]);
    assert_eq!(next.status.code(), Some(3));
    let text = stdout(&next);
    assert!(
        text.contains("=== change /var/local/upstart_helpers/fb-myapp-web.sh"),
        "{text}"
    );
    assert!(
        text.contains("-exec puma\n+exec puma -w 4\n"),
        "a unified diff: {text}"
    );
    assert!(
        text.contains("=== unchanged /etc/init/fb-myapp-web.conf"),
        "{text}"
    );
    assert!(
        text.contains("=== remove /etc/init/fb-myapp-worker.conf"),
        "{text}"
    );
    assert!(
        text.contains("# plan: 0 to create, 1 to change, 2 unchanged, 2 to remove"),
        "{text}"
    );
}

#[test]
fn detailed_exitcode_needs_a_dry_run() {
    let case = Case::new();
    let output = case.run("web: puma\n", &["--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(!case.path().join("root").exists());
}

#[test]
fn root_must_be_absolute() {
    let case = Case::new();
    let output = Command::new(env!("CARGO_BIN_EXE_procexport"))
        .env_clear()
        .current_dir(case.path())
        .args(["--root", "relroot", "--config"])
        .arg(case.path().join("config.yaml"))
        .args(["upstart", "-p", "Procfile", "-n", "myapp"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--root must be an absolute path"),
        "{stderr}"
    );
    assert!(!Path::new("/relroot").exists() && !case.path().join("relroot").exists());
}

/// Every file's inode and modification time under `dir`, by path.
fn stamps(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, (u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut found = std::collections::BTreeMap::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(dir) = queue.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                queue.push(entry.path());
            } else {
                found.insert(entry.path(), (meta.ino(), meta.mtime(), meta.mtime_nsec()));
            }
        }
    }
    found
}

/// An app whose files are larger than an export keeps in memory (`plan::KEEP_BYTES`) spools
/// the rest to an unnamed scratch file, each file read back and checked against the digest the
/// plan was made from: the files installed are exactly what a dry run (which keeps every file whole)
/// compares them with, an unchanged re-export compares by digest and writes nothing, and a
/// changed one rewrites them.
#[test]
fn a_large_app_is_written_as_rendered_and_an_unchanged_one_is_left_alone() {
    let case = Case::new();
    // 1,000 jobs whose command is about 2,000 bytes: over 2 MB of files.
    let run = |word: &str, extra: &[&str]| {
        let command = format!(
            "web: run{}\n",
            format!(" {word}").repeat(2000 / (word.len() + 1))
        );
        fs::write(case.path().join("Procfile"), command).unwrap();
        Command::new(env!("CARGO_BIN_EXE_procexport"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .arg("--config")
            .arg(case.path().join("config.yaml"))
            .arg("--root")
            .arg(case.path().join("root"))
            .args(extra)
            .arg("upstart")
            .arg("-p")
            .arg(case.path().join("Procfile"))
            .args(["-n", "myapp", "-m", "web=1000"])
            .output()
            .unwrap()
    };
    let ok = |output: Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let same_as_whole_render = |word: &str| {
        let check = run(word, &["--dry-run", "--detailed-exitcode"]);
        assert_eq!(check.status.code(), Some(0), "{}", &stdout(&check)[..2000]);
    };
    ok(run("alpha", &[]));
    let root = case.path().join("root");
    let first = stamps(&root);
    let jobs = first
        .keys()
        .filter(|p| p.to_string_lossy().contains("/etc/init/fb-myapp-web_"))
        .count();
    assert_eq!(jobs, 1000, "every job file is installed");
    same_as_whole_render("alpha");

    ok(run("alpha", &[]));
    assert_eq!(stamps(&root), first, "an unchanged re-export rewrote files");

    ok(run("beta", &[]));
    let changed = stamps(&root);
    let rewritten = first
        .iter()
        .filter(|(path, stamp)| changed.get(*path) != Some(stamp))
        .count();
    // The command is in each job's helper script.
    assert!(rewritten >= 1000, "only {rewritten} files were rewritten");
    same_as_whole_render("beta");
}

/// A manifest larger than the 4 MiB a file compared for an export is read up to (a runit app
/// of about 10,000 jobs) is read whole, as it is parsed: a clean removes every file it
/// lists, none forgotten past the first 4 MiB and the manifest never refused as cut short.
#[test]
fn a_manifest_past_4_mib_is_read_whole() {
    let case = Case::new();
    let exported = case.run("web: run\n", &[]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let root = case.path().join("root");
    let manifest = root.join("var/lib/procexport/upstart/fb-myapp.manifest");
    let mut text = fs::read_to_string(&manifest).unwrap();
    // Files the app no longer has: listed, missing on disk, so nothing to do for them.
    for n in 0..120_000 {
        text.push_str(&format!("file /etc/init/fb-myapp-gone_{n}.conf\n"));
    }
    // The last entry is a real file: read only if the whole manifest is.
    fs::write(root.join("etc/init/fb-myapp-last.conf"), "x").unwrap();
    text.push_str("file /etc/init/fb-myapp-last.conf\n");
    assert!(text.len() > 4 << 20, "{} bytes", text.len());
    fs::write(&manifest, text).unwrap();
    let clean = Command::new(env!("CARGO_BIN_EXE_procexport"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .arg("--config")
        .arg(case.path().join("config.yaml"))
        .arg("--root")
        .arg(&root)
        .args(["clean", "-n", "myapp"])
        .output()
        .unwrap();
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    let left: Vec<_> = fs::read_dir(root.join("etc/init")).unwrap().collect();
    assert!(left.is_empty(), "left after clean: {left:?}");
    assert!(!manifest.exists(), "the manifest goes with the app");
}
