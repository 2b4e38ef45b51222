//! The binary: hands the arguments to the library and turns its outcome into an exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    // The release build aborts on a panic (Cargo.toml): a core file of a run as root would
    // hold the app's environment, secrets included. Only advice: without it a panic is rare
    // and cores are off by default.
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
