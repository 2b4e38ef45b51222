//! One error type for the whole program, and the one place that picks the exit status:
//! 2 for bad input or usage (the caller can fix it), 130 or 143 for a run that SIGINT or
//! SIGTERM stopped, 141 for a closed stdout, 1 for everything else.

use std::fmt;
use std::io;
use std::sync::{Mutex, PoisonError};

/// Where in an input file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Location {
    pub fn file(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
        }
    }

    pub fn line(file: &str, line: usize) -> Self {
        Self {
            file: file.to_owned(),
            line: Some(line),
            column: None,
        }
    }

    pub fn at(file: &str, line: usize, column: usize) -> Self {
        Self {
            file: file.to_owned(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.escape_debug())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum Error {
    /// The command line could not be parsed, or asked for help.
    Cli(clap::Error),
    /// A flag or combination of flags that is not allowed, or an export the chosen backend
    /// cannot carry out exactly (a value its files cannot hold).
    Usage(String),
    /// A Procfile or config file that is wrong; the message names what and where.
    Input { location: Location, message: String },
    /// A value the chosen backend's format cannot carry exactly (a runit env value ending in a
    /// space, a systemd path with a trailing backslash): bad input for that backend.
    Format(String),
    /// Refused: the system is in a state procexport will not work in (a symlink where a file
    /// should be, a directory others can write, a config owned by someone else).
    Refused(String),
    /// Failed: a tool procexport ran, or procexport itself, did not do its part (a reload
    /// that failed, a supervisor that did not stop, a template bug).
    Failed(String),
    /// An operating system call failed.
    Io { action: String, source: io::Error },
    /// SIGINT or SIGTERM arrived during a change, which was rolled back or finished first;
    /// `what` says which, and what was left undone.
    Interrupted { signal: Signal, what: String },
}

/// The signals that stop a change cleanly (`install::interrupt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Self::Int => "SIGINT",
            Self::Term => "SIGTERM",
        }
    }

    /// 128 plus the signal's number, as a shell reports a command that the signal ended.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Int => 130,
            Self::Term => 143,
        }
    }
}

impl Error {
    pub fn input(location: Location, message: impl Into<String>) -> Self {
        Self::Input {
            location,
            message: message.into(),
        }
    }

    pub fn io(action: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }

    /// The process exit status for this error. A closed stdout or stderr (`procexport ... |
    /// head`) is 141, as a shell reports a command that SIGPIPE ended.
    pub fn exit_code(&self) -> u8 {
        if self.is_closed_pipe() {
            return 141;
        }
        match self {
            Self::Cli(error) => u8::try_from(error.exit_code()).unwrap_or(2),
            Self::Usage(_) | Self::Input { .. } | Self::Format(_) => 2,
            Self::Refused(_) | Self::Failed(_) | Self::Io { .. } => 1,
            Self::Interrupted { signal, .. } => signal.exit_code(),
        }
    }

    /// True when the error is stdout or stderr closed by its reader: not worth a message.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, Self::Io { action, source }
            if (action == STDOUT || action == STDERR)
                && source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// Prints the error the way a user should see it: clap's own format for usage errors and
    /// help, `procexport: <message>` on stderr for the rest.
    pub fn print(&self) {
        match self {
            Self::Cli(error) => {
                let _ = error.print();
            }
            closed if closed.is_closed_pipe() => {}
            other => warn(&other.to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cli(error) => write!(f, "{error}"),
            Self::Usage(message)
            | Self::Format(message)
            | Self::Refused(message)
            | Self::Failed(message) => f.write_str(message),
            Self::Input { location, message } => write!(f, "{location}: {message}"),
            Self::Io { action, source } if source.kind() == io::ErrorKind::PermissionDenied => {
                write!(
                    f,
                    "{action}: {source}: procexport installs system files and needs root; run it through sudo"
                )
            }
            Self::Io { action, source } => write!(f, "{action}: {source}"),
            Self::Interrupted { signal, what } => write!(f, "stopped by {}: {what}", signal.name()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Cli(error) => Some(error),
            Self::Io { source, .. } => Some(source),
            Self::Usage(_)
            | Self::Input { .. }
            | Self::Format(_)
            | Self::Refused(_)
            | Self::Failed(_)
            | Self::Interrupted { .. } => None,
        }
    }
}

/// The action of an error writing to stdout.
pub const STDOUT: &str = "writing to stdout";
/// The action of an error writing to stderr.
pub const STDERR: &str = "writing to stderr";

/// The first error writing to stderr, kept for `run` to report once the command is done.
static STDERR_ERROR: Mutex<Option<io::Error>> = Mutex::new(None);

/// Prints `message` on stderr as `procexport: <message>`. A closed stderr never stops (or
/// panics) a change that has begun: the first error is kept, and `run` reports it after the
/// command (`take_stderr_error`).
pub fn warn(message: &str) {
    use std::io::Write as _;
    if let Err(e) = writeln!(std::io::stderr(), "procexport: {message}") {
        let mut kept = STDERR_ERROR.lock().unwrap_or_else(PoisonError::into_inner);
        kept.get_or_insert(e);
    }
}

/// The first error `warn` met since the last call, as the error that ends the run.
pub fn take_stderr_error() -> Option<Error> {
    let mut kept = STDERR_ERROR.lock().unwrap_or_else(PoisonError::into_inner);
    kept.take().map(|e| Error::io(STDERR, e))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
