//! The binary: hands the arguments to the library and turns its outcome into an exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Undumpable before anything is read: a core of a run as root (an abort, as the release
    // build makes of a panic, or a signal such as SIGXFSZ) would hold the app's environment,
    // secrets included. Setting it for oneself cannot fail.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let mut stdout = std::io::stdout().lock();
    match procexport::run(std::env::args_os(), &mut stdout) {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            error.print();
            ExitCode::from(error.exit_code())
        }
    }
}
