//! The binary: hands the arguments to the library and turns its outcome into an exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match procexport::run(std::env::args_os(), &mut stdout) {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            error.print();
            ExitCode::from(error.exit_code())
        }
    }
}
