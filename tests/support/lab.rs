//! The systemd lab: a container whose PID 1 is a real systemd, booted by the lab script
//! (`prepare`, `up NAME`, `exec NAME CMD...`, `hostpid NAME PID`, `down NAME`). Every test
//! reaches the script through `lab_script`, the one place its path is named. A container
//! boots either from the lab's own Debian tree (`Container::up`) or in host-root mode
//! (`Container::up_host_root`: an overlay over this machine's `/`, so its users, binaries and
//! the built procexport are inside, and whatever the test changes stays in the overlay). A
//! guard halts the container, also when the test fails.

use super::{require_root, run, Outcome};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// The lab script, the project's own `tests/lab/boot.sh`.
pub fn lab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/boot.sh")
}

/// The lab script run with `args` in a cleared environment (plus `LAB_ROOTFS=/` in
/// host-root mode).
fn lab(args: &[&str], host_root: bool) -> Command {
    let mut command = Command::new(lab_script());
    command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null());
    if host_root {
        command.env("LAB_ROOTFS", "/");
    }
    command
}

fn output(args: &[&str], host_root: bool) -> std::process::Output {
    lab(args, host_root).output().expect("the lab script runs")
}

/// Makes the lab's root filesystem once (debootstrap; a no-op when it is there).
fn prepare() {
    static PREPARED: OnceLock<()> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let output = output(&["prepare"], false);
        assert!(
            output.status.success(),
            "lab prepare: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// A booted container, halted when dropped.
pub struct Container {
    pub name: String,
    /// Its `/`, seen from the host (`/proc/<its PID 1>/root`).
    pub root: PathBuf,
    host_root: bool,
}

impl Container {
    /// Boots a container from the lab's own Debian tree.
    pub fn up(test: &str) -> Self {
        require_root();
        prepare();
        Self::boot(test, false)
    }

    /// Boots a container over this machine's own root filesystem (an overlay: writes stay in
    /// the container).
    pub fn up_host_root(test: &str) -> Self {
        require_root();
        Self::boot(test, true)
    }

    fn boot(test: &str, host_root: bool) -> Self {
        let name = format!("px{}-{test}", std::process::id());
        let started = Instant::now();
        let output = output(&["up", &name], host_root);
        // The guard exists before the boot is checked: a failed boot is still halted.
        let mut container = Self {
            name: name.clone(),
            root: PathBuf::new(),
            host_root,
        };
        assert!(
            output.status.success(),
            "lab up {name}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("{name} booted in {:?}", started.elapsed());
        let stdout = String::from_utf8_lossy(&output.stdout);
        let root = stdout
            .lines()
            .find_map(|l| l.strip_prefix("ROOT="))
            .expect("lab up prints ROOT=");
        container.root = PathBuf::from(root);
        container
    }

    /// Where `/PATH` of the container is on the host.
    pub fn path(&self, real: &str) -> PathBuf {
        self.root.join(real.trim_start_matches('/'))
    }

    /// Runs `args` in the container, as root.
    pub fn exec(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["exec", &self.name];
        all.extend(args);
        run(&mut lab(&all, self.host_root))
    }

    /// The host pid of container process `pid` (for /proc reads from the host).
    pub fn host_pid(&self, pid: u32) -> u32 {
        let out = output(&["hostpid", &self.name, &pid.to_string()], self.host_root);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let output = output(&["down", &self.name, "--kill"], self.host_root);
        if !output.status.success() {
            eprintln!(
                "lab down {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}
