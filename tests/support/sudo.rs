//! Real sudo for the tests of the root boundary: two deploy users (`pxdeploy`, `pxother`,
//! made by .ci/run, which also writes the sudoers rule that lets them run `SUDO_BIN` and
//! `SUDO_GEM_BIN` and `SUDO_INIT_EXPORTER_BIN` as root and nothing else), the binary under
//! test copied to those root-owned paths, and the configs sudo'd procexport reads,
//! `/etc/procexport.yaml` (and the gem's `/etc/upstart-exporter.yaml`, init-exporter's
//! `/etc/init-exporter.conf`), put in place for one test at a time and put back as they
//! were afterwards, even when the test fails.

use super::{run, Outcome};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The deploy users: untrusted, allowed `sudo SUDO_BIN` only.
pub const DEPLOY: &str = "pxdeploy";
pub const OTHER: &str = "pxother";

/// Where the sudoers rule (.ci/run) lets the deploy users run procexport as root. Private: a
/// test reaches it through `sudo_bin()` or `sudo()`, which copy the binary under test there
/// first, so every test works alone, first, or after the path was emptied.
const SUDO_BIN: &str = "/var/lib/procexport-tests/bin/procexport";

/// The same binary under the gem's name, which the sudoers rule also allows: procexport run
/// as `upstart-export` takes the gem's command line.
pub const SUDO_GEM_BIN: &str = "/var/lib/procexport-tests/bin/upstart-export";

/// The same binary under init-exporter's name, which the sudoers rule also allows.
pub const SUDO_INIT_EXPORTER_BIN: &str = "/var/lib/procexport-tests/bin/init-exporter";

const CONFIG: &str = "/etc/procexport.yaml";
const GEM_CONFIG: &str = "/etc/upstart-exporter.yaml";
const INIT_EXPORTER_CONFIG: &str = "/etc/init-exporter.conf";

/// `SUDO_BIN`, with the binary under test copied there and to `SUDO_GEM_BIN` (once per test
/// run): the one way a test names the path sudo runs.
pub fn sudo_bin() -> &'static str {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        for path in [SUDO_BIN, SUDO_GEM_BIN, SUDO_INIT_EXPORTER_BIN] {
            let target = Path::new(path);
            let dir = target.parent().unwrap();
            assert!(
                dir.is_dir() && Path::new("/etc/sudoers.d/procexport-tests").is_file(),
                "the sudo tests need .ci/run's setup: {DEPLOY} and {OTHER}, {} and the sudoers \
                 rule",
                dir.display()
            );
            let temp = dir.join(".procexport.tmp");
            fs::copy(super::bin(), &temp).unwrap();
            fs::set_permissions(&temp, fs::Permissions::from_mode(0o755)).unwrap();
            fs::rename(&temp, target).unwrap();
        }
    });
    SUDO_BIN
}

/// A root-owned file of `/etc` as it was before a test, put back when this goes.
struct Restore {
    path: &'static str,
    before: Option<Vec<u8>>,
}

impl Restore {
    fn install(path: &'static str, text: &str) -> Self {
        let guard = Self {
            path,
            before: fs::read(path).ok(),
        };
        let temp = format!("{path}.procexport-test");
        fs::write(&temp, text).unwrap();
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o600)).unwrap();
        fs::rename(&temp, path).unwrap();
        guard
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        match &self.before {
            Some(bytes) => {
                let _ = fs::write(self.path, bytes);
            }
            None => {
                let _ = fs::remove_file(self.path);
            }
        }
    }
}

/// `/etc/procexport.yaml` (and, when a test asks, the gem's `/etc/upstart-exporter.yaml`)
/// for one test: tests that need them take turns, and whatever was there before (nothing,
/// on a test machine) is put back when the guard goes, panic or not.
pub struct LiveConfig {
    // Dropped in this order: the files are put back before the next test's turn.
    files: Vec<Restore>,
    _turn: MutexGuard<'static, ()>,
}

impl LiveConfig {
    pub fn install(text: &str) -> Self {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut guard = Self {
            files: Vec::new(),
            _turn: turn,
        };
        guard.files.push(Restore::install(CONFIG, text));
        guard
    }

    /// Also puts `text` in place as the gem's config, for this test only.
    pub fn with_gem_config(mut self, text: &str) -> Self {
        self.files.push(Restore::install(GEM_CONFIG, text));
        self
    }

    /// Also puts `text` in place as init-exporter's config, for this test only.
    pub fn with_init_exporter_config(mut self, text: &str) -> Self {
        self.files
            .push(Restore::install(INIT_EXPORTER_CONFIG, text));
        self
    }
}

/// `sudo -n SUDO_BIN args...` run by `user`, through the real sudo, with a clean
/// environment as a login would have.
pub fn sudo(user: &str, args: &[&str]) -> Outcome {
    run(Command::new("/usr/sbin/runuser")
        .args(["-u", user, "--", "sudo", "-n", sudo_bin()])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/"))
}

/// As `sudo`, under the resource limits `limits` (prlimit's options, such as
/// `--as=268435456`): sudo passes them on to procexport, so a bound that does not hold ends
/// the run (a failed allocation, SIGXCPU) instead of filling the machine.
pub fn sudo_limited(limits: &[&str], user: &str, args: &[&str]) -> Outcome {
    run(Command::new("/usr/bin/prlimit")
        .args(limits)
        .args([
            "--",
            "/usr/sbin/runuser",
            "-u",
            user,
            "--",
            "sudo",
            "-n",
            sudo_bin(),
        ])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/"))
}

/// `sudo -n SUDO_GEM_BIN args...` run by `user`: procexport under the gem's name.
pub fn sudo_as_gem(user: &str, args: &[&str]) -> Outcome {
    sudo_bin();
    run(Command::new("/usr/sbin/runuser")
        .args(["-u", user, "--", "sudo", "-n", SUDO_GEM_BIN])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/"))
}

/// `sudo -n SUDO_INIT_EXPORTER_BIN args...` run by `user`: procexport under init-exporter's
/// name.
pub fn sudo_as_init_exporter(user: &str, args: &[&str]) -> Outcome {
    sudo_bin();
    run(Command::new("/usr/sbin/runuser")
        .args(["-u", user, "--", "sudo", "-n", SUDO_INIT_EXPORTER_BIN])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir("/"))
}

/// The uid of `user`.
pub fn uid(user: &str) -> u32 {
    nix::unistd::User::from_name(user)
        .unwrap()
        .unwrap_or_else(|| panic!("{user} is missing: .ci/run makes it"))
        .uid
        .as_raw()
}
