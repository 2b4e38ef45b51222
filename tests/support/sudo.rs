//! Real sudo for the tests of the root boundary: two deploy users (`pxdeploy`, `pxother`,
//! made by .ci/run, which also writes the sudoers rule that lets them run
//! `SUDO_BIN` as root and nothing else), the binary under test copied to that root-owned
//! path, and the one config sudo'd procexport reads, `/etc/procexport.yaml`, put in place for
//! one test at a time and put back as it was afterwards, even when the test fails.

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

const CONFIG: &str = "/etc/procexport.yaml";

/// `SUDO_BIN`, with the binary under test copied there (once per test run): the one way a
/// test names the path sudo runs.
pub fn sudo_bin() -> &'static str {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let target = Path::new(SUDO_BIN);
        let dir = target.parent().unwrap();
        assert!(
            dir.is_dir() && Path::new("/etc/sudoers.d/procexport-tests").is_file(),
            "the sudo tests need .ci/run's setup: {DEPLOY} and {OTHER}, {} and the sudoers rule",
            dir.display()
        );
        let temp = dir.join(".procexport.tmp");
        fs::copy(super::bin(), &temp).unwrap();
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o755)).unwrap();
        fs::rename(&temp, target).unwrap();
    });
    SUDO_BIN
}

/// `/etc/procexport.yaml` for one test: tests that need it take turns, and whatever was
/// there before (nothing, on a test machine) is put back when the guard goes, panic or not.
pub struct LiveConfig {
    before: Option<Vec<u8>>,
    _turn: MutexGuard<'static, ()>,
}

impl LiveConfig {
    pub fn install(text: &str) -> Self {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = fs::read(CONFIG).ok();
        let guard = Self {
            before,
            _turn: turn,
        };
        let temp = format!("{CONFIG}.procexport-test");
        fs::write(&temp, text).unwrap();
        fs::set_permissions(&temp, fs::Permissions::from_mode(0o600)).unwrap();
        fs::rename(&temp, CONFIG).unwrap();
        guard
    }
}

impl Drop for LiveConfig {
    fn drop(&mut self) {
        match &self.before {
            Some(bytes) => {
                let _ = fs::write(CONFIG, bytes);
            }
            None => {
                let _ = fs::remove_file(CONFIG);
            }
        }
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

/// The uid of `user`.
pub fn uid(user: &str) -> u32 {
    nix::unistd::User::from_name(user)
        .unwrap()
        .unwrap_or_else(|| panic!("{user} is missing: .ci/run makes it"))
        .uid
        .as_raw()
}
