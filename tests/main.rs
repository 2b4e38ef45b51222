//! procexport's integration tests: one binary, running the real procexport on real files.

// Generated names are lowercase by construction, and test text is built for clarity, not speed.
#![allow(
    clippy::case_sensitive_file_extension_comparisons,
    clippy::format_push_string,
    clippy::format_collect,
    clippy::assigning_clones
)]

mod support;

// The root-free tier: plain `cargo test` as any user, on a machine with only Rust (and `sh`).
// Nothing here needs root, a real user, or a tool beyond the binary itself.

/// A clone alone runs its own tests: nothing names a script of a `../shared` checkout.
mod clone_alone;
/// `--version`, `procexport man` and `procexport completions`, as a user runs them.
mod docs_commands;
/// The saved fuzz inputs, checked against the invariants of `procexport::testing`.
mod fuzz_regressions;
/// The Kubernetes export: the objects the job model maps to, options, names, notes,
/// `--output`, hostile values read back by a YAML 1.2 reader.
mod kubernetes;
/// The code's shape: one `#[path]`, Kubernetes beside the backends, commands told apart once.
mod layout;
/// Output goes through the one reporter, the filesystem through disk/ (text checks).
mod one_place;
/// The dry run as a plan: create, change with a diff, unchanged, remove, exit codes.
mod plan;
/// Property tests of rendering: hostile values read back through each format's own rules.
mod properties;
/// The README's shell blocks parse, and its first command does what it says.
mod readme;
/// `--dry-run` output of every golden case through every backend, as reviewed snapshots.
mod snapshots;

// The root tier (`cargo test --features root-tests`, run as root by .ci/run): ownership, the
// sudo boundary, real users, real tools (shellcheck, systemd-analyze, runsvdir), kills and
// races. Each module asserts that it runs as root.

/// Bad input: exit 2, a message naming file and line, nothing on disk changed.
#[cfg(feature = "root-tests")]
mod bad_input;
/// The command line: help, exit statuses, flags refused through sudo.
#[cfg(feature = "root-tests")]
mod cli;
/// Concurrent exports of one app and of several.
#[cfg(feature = "root-tests")]
mod concurrency;
/// Every corpus Procfile through every backend, checked by the real tools.
#[cfg(feature = "root-tests")]
mod corpus;
/// Runs killed at every step leave whole files and converge on the next run.
#[cfg(feature = "root-tests")]
mod crash;
/// Every file of a finished export fsync'd, in a crash-safe order, traced with strace.
#[cfg(feature = "root-tests")]
mod durability;
/// foreman and honcho parity: PORT, formation, .env, dashed names, release; side by side with
/// the real foreman and honcho where installed.
#[cfg(feature = "root-tests")]
mod foreman;
/// Golden trees: the exact files, modes and owners of each case and backend.
#[cfg(feature = "root-tests")]
mod golden;
/// Generated helpers and scripts run for real as the run user.
#[cfg(feature = "root-tests")]
mod helpers_run;
/// A change that has begun ends cleanly: a closed stdout, SIGINT and SIGTERM half way.
#[cfg(feature = "root-tests")]
mod interrupt;
/// The Kubernetes export's manifests (corpus, fixtures, hostile values, options) against the
/// Kubernetes schemas (kubernetes-validate) and a YAML 1.1 reader (PyYAML), as .ci/run
/// installs them.
#[cfg(feature = "root-tests")]
mod kubernetes_schemas;
/// launchd plists through a real plist parser; their helpers run as the run user.
#[cfg(feature = "root-tests")]
mod launchd;
/// Re-export, shrink, clean, and the manifest across them.
#[cfg(feature = "root-tests")]
mod lifecycle;
/// Real systemd as PID 1 of a container per test (tests/lab/boot.sh), with
/// procexport run inside it.
#[cfg(feature = "root-tests")]
mod live_systemd;
/// systemd user units for real: a plain user with lingering, in a container over this
/// machine's root (host-root mode), runs the README's commands against their own manager.
#[cfg(feature = "root-tests")]
mod live_systemd_user;
/// Real Upstart 1.13 (a session init per test): jobs run, respawn, stop, drop, clean,
/// restart and status through procexport.
#[cfg(feature = "root-tests")]
mod live_upstart;
/// Each user and group looked up once per run, traced with strace.
#[cfg(feature = "root-tests")]
mod lookups;
/// OpenRC services run for real by openrc-run, in a private mount namespace.
#[cfg(feature = "root-tests")]
mod openrc;
/// The packaging files: the example config renders as the defaults, the sudoers example, the
/// scripts pass shellcheck (which .ci/run installs).
#[cfg(feature = "root-tests")]
mod packaging;
/// runit under a real runsvdir.
#[cfg(feature = "root-tests")]
mod runit;
/// The root boundary, attacked: symlinks, fifos, foreign files, sudo.
#[cfg(feature = "root-tests")]
mod security;
/// The root boundary through the real sudo: deploy users, owners, the holes of the attack run.
#[cfg(feature = "root-tests")]
mod sudo;
/// supervisord under a real supervisord: processes, env, logs, restarts, stops, its parser.
#[cfg(feature = "root-tests")]
mod supervisord;
/// systemd: systemd-analyze verify, environment files, reload.
#[cfg(feature = "root-tests")]
mod systemd;
/// systemd user units, exported by an unprivileged user; root refused.
#[cfg(feature = "root-tests")]
mod systemd_user;
/// SysV init scripts run for real: start, status, stop, restart, respawn, kill timeout.
#[cfg(feature = "root-tests")]
mod sysv;
