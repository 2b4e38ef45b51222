//! What the tests against real inits share: polling with a deadline, a process's ids, env,
//! limits and working directory from /proc, a line a job writes, and `procexport status` read back.

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

/// How often a wait looks again.
pub const POLL: Duration = Duration::from_millis(100);

/// Polls `check` until it gives a value, for at most `seconds`; panics naming `what`.
#[track_caller]
pub fn wait_for<T>(what: &str, seconds: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {seconds} s waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// The soft and hard values of line `name` of /proc/<pid>/limits (what a job's limits became).
pub fn proc_limit(pid: u32, name: &str) -> (String, String) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {limits}"));
    let mut words = line.split_whitespace().map(str::to_owned);
    (words.next().unwrap(), words.next().unwrap())
}

/// The first line of the file at `path` once a job has written it whole (a `pre` command may
/// still be running when the init reports the job up).
#[track_caller]
pub fn wait_for_line(path: &std::path::Path) -> String {
    wait_for(&format!("a line in {}", path.display()), 10, || {
        fs::read_to_string(path)
            .ok()
            .and_then(|text| text.split_once('\n').map(|(line, _)| line.to_owned()))
    })
}

/// The ids on line `field` of /proc/<pid>/status (Uid, Gid: real, effective, saved, fs).
pub fn proc_ids(pid: u32, field: &str) -> Vec<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap();
    line.split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

pub fn proc_env(pid: u32) -> BTreeMap<String, String> {
    let bytes = fs::read(format!("/proc/{pid}/environ")).unwrap();
    bytes
        .split(|b| *b == 0)
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let kv = String::from_utf8(kv.to_vec()).ok()?;
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// True while process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

pub fn kill(pid: u32) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
}

/// One row of `procexport status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub job: String,
    pub backend: String,
    /// The first word of the state: running, active, stopped, failed, respawning, ...
    pub state: String,
    pub pid: Option<u32>,
}

/// Reads `procexport status` output, by job.
pub fn status_rows(stdout: &str) -> BTreeMap<String, Row> {
    let mut lines = stdout.lines();
    let header = lines.next().expect("a header");
    let state_at = header.find("STATE").expect("a STATE column");
    let says_at = header.find("INIT SAYS").expect("an INIT SAYS column");
    lines
        .map(|line| {
            let mut words = line.split_whitespace();
            let job = words.next().unwrap().to_owned();
            let backend = words.next().unwrap().to_owned();
            let state_text = line.get(state_at..says_at).unwrap_or("").trim();
            let state = state_text.split(' ').next().unwrap_or("").to_owned();
            let pid = state_text
                .split("(pid ")
                .nth(1)
                .and_then(|p| p.trim_end_matches(')').parse().ok());
            (
                job.clone(),
                Row {
                    job,
                    backend,
                    state,
                    pid,
                },
            )
        })
        .collect()
}

/// The run user's uid and gid.
pub fn run_user() -> (u32, u32) {
    let user = nix::unistd::User::from_name(super::RUN_USER)
        .unwrap()
        .unwrap();
    (user.uid.as_raw(), user.gid.as_raw())
}

/// A directory `work` in `sandbox`, the run user's: where a job's commands may write.
pub fn run_users_dir(sandbox: &super::Sandbox) -> std::path::PathBuf {
    let work = sandbox.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let (uid, gid) = run_user();
    std::os::unix::fs::chown(&work, Some(uid), Some(gid)).unwrap();
    work
}
