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
    /// A flag or combination of flags that is not allowed.
    Usage(String),
    /// A Procfile or config file that is wrong; the message names what and where.
    Input { location: Location, message: String },
    /// An export larger than a bound of the config allows (`key`, such as `max_jobs`).
    Limit {
        key: LimitKey,
        limit: u64,
        found: u64,
        location: Option<Location>,
    },
    /// A value the chosen backend's files cannot carry exactly: `backend` cannot carry `key`
    /// (a Procfile key, or a value named by where it is), and `why` says what to write instead;
    /// `location` is where the value is written, when known (`Error::at`).
    Unsupported {
        backend: &'static str,
        key: String,
        why: String,
        location: Option<Location>,
    },
    /// A value the chosen backend cannot carry, in the backend's own words (kept where users
    /// and tests know the wording).
    Format(String),
    /// Refused: the system is in a state procexport will not work in (a symlink where a file
    /// should be, a directory others can write, a config owned by someone else). `path` is the
    /// file or directory it is about, when there is one.
    Refused {
        path: Option<String>,
        message: String,
    },
    /// Failed: procexport did not do its part (a supervisor that did not stop, a template
    /// bug). `path` is the file or directory it is about, when there is one.
    Failed {
        path: Option<String>,
        message: String,
    },
    /// An init's program ran and failed. `installed` says the files are already in place
    /// (the program only had to tell the init), so the user is told to run it by hand.
    Tool {
        program: String,
        args: String,
        status: std::process::ExitStatus,
        said: String,
        installed: bool,
    },
    /// An operating system call failed.
    Io { action: String, source: io::Error },
    /// Writing to stdout or stderr failed (a closed pipe is 141, not worth a message).
    Output { stream: Stream, source: io::Error },
    /// SIGINT or SIGTERM arrived during a change, which was rolled back or finished first;
    /// `what` says which, and what was left undone.
    Interrupted { signal: Signal, what: String },
}

/// The bounds of the config (`Limits`) an export can go past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKey {
    /// `max_jobs`: jobs per app, every `count` instance counted.
    Jobs,
    /// `max_rendered_bytes`, estimated before rendering.
    PlannedBytes,
    /// `max_rendered_bytes`, measured after rendering.
    RenderedBytes,
    /// `max_env_files`: `-e` files per export.
    EnvFiles,
    /// `max_env_bytes`: the `.env` files of one export together.
    EnvBytes,
    /// `max_expanded_bytes`: a YAML file's values once its aliases are expanded.
    ExpandedBytes,
}

impl LimitKey {
    /// The config key that sets the bound.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jobs => "max_jobs",
            Self::PlannedBytes | Self::RenderedBytes => "max_rendered_bytes",
            Self::EnvFiles => "max_env_files",
            Self::EnvBytes => "max_env_bytes",
            Self::ExpandedBytes => "max_expanded_bytes",
        }
    }
}

/// The standard streams procexport writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
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

    /// `backend` cannot carry `key` (a Procfile key, or a value named by where it is);
    /// `what_to_write` tells the user what to write instead.
    pub fn unsupported(
        backend: &'static str,
        key: impl Into<String>,
        what_to_write: impl Into<String>,
    ) -> Self {
        Self::Unsupported {
            backend,
            key: key.into(),
            why: what_to_write.into(),
            location: None,
        }
    }

    /// The same error, said of the value written at `at` (a Procfile's line): for a limit or
    /// an unsupported value; any other error is returned as it is.
    #[must_use]
    pub fn at(mut self, at: Location) -> Self {
        if let Self::Unsupported { location, .. } | Self::Limit { location, .. } = &mut self {
            *location = Some(at);
        }
        self
    }

    /// `found` is more than the config's `key` allows (`limit`).
    pub fn limit(key: LimitKey, limit: u64, found: u64) -> Self {
        Self::Limit {
            key,
            limit,
            found,
            location: None,
        }
    }

    /// A refusal about no one path.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Refused {
            path: None,
            message: message.into(),
        }
    }

    /// A refusal about `path` (the message names it too).
    pub fn refused_at(path: &str, message: impl Into<String>) -> Self {
        Self::Refused {
            path: Some(path.to_owned()),
            message: message.into(),
        }
    }

    /// A failure about no one path.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            path: None,
            message: message.into(),
        }
    }

    /// A failure about `path` (the message names it too).
    pub fn failed_at(path: &str, message: impl Into<String>) -> Self {
        Self::Failed {
            path: Some(path.to_owned()),
            message: message.into(),
        }
    }

    /// `program` `args` ran and failed with `output`; `said` is what it printed.
    pub fn tool(
        program: impl Into<String>,
        args: impl Into<String>,
        output: &std::process::Output,
        said: &str,
    ) -> Self {
        Self::Tool {
            program: program.into(),
            args: args.into(),
            status: output.status,
            said: said.trim().to_owned(),
            installed: false,
        }
    }

    /// The same error, saying the files are installed and the tool is to be run by hand.
    #[must_use]
    pub fn after_install(mut self) -> Self {
        if let Self::Tool { installed, .. } = &mut self {
            *installed = true;
        }
        self
    }

    /// An error writing to `stream`.
    pub fn output(stream: Stream, source: io::Error) -> Self {
        Self::Output { stream, source }
    }

    /// The process exit status for this error. A closed stdout or stderr (`procexport ... |
    /// head`) is 141, as a shell reports a command that SIGPIPE ended.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Cli(error) => u8::try_from(error.exit_code()).unwrap_or(2),
            Self::Usage(_)
            | Self::Input { .. }
            | Self::Limit { .. }
            | Self::Unsupported { .. }
            | Self::Format(_) => 2,
            Self::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe => 141,
            Self::Refused { .. }
            | Self::Failed { .. }
            | Self::Tool { .. }
            | Self::Io { .. }
            | Self::Output { .. } => 1,
            Self::Interrupted { signal, .. } => signal.exit_code(),
        }
    }

    /// True when the error is stdout or stderr closed by its reader: not worth a message.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, Self::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
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
            | Self::Refused { message, .. }
            | Self::Failed { message, .. } => f.write_str(message),
            Self::Input { location, message } => write!(f, "{location}: {message}"),
            Self::Limit {
                key,
                limit,
                found,
                location,
            } => {
                if let Some(location) = location {
                    write!(f, "{location}: ")?;
                }
                write_limit(f, *key, *limit, *found)
            }
            Self::Unsupported {
                backend,
                key,
                why,
                location,
            } => {
                if let Some(location) = location {
                    write!(f, "{location}: ")?;
                }
                write!(f, "{backend} cannot carry {key}: {why}")
            }
            Self::Tool {
                program,
                args,
                status,
                said,
                installed,
            } => {
                let (before, after) = if *installed {
                    ("the files are installed, but ", "; run it by hand")
                } else {
                    ("", "")
                };
                write!(
                    f,
                    "{before}{program} {args} failed ({status}): {}{after}",
                    crate::sanitize::Quoted(said)
                )
            }
            Self::Io { action, source } if source.kind() == io::ErrorKind::PermissionDenied => {
                write!(
                    f,
                    "{action}: {source}: procexport installs system files and needs root; run it through sudo"
                )
            }
            Self::Io { action, source } => write!(f, "{action}: {source}"),
            Self::Output { stream, source } => {
                let name = match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                };
                write!(f, "writing to {name}: {source}")
            }
            Self::Interrupted { signal, what } => write!(f, "stopped by {}: {what}", signal.name()),
        }
    }
}

/// The one wording of every limit: what went past it, the bound, its config key, and what
/// to change.
fn write_limit(f: &mut fmt::Formatter<'_>, key: LimitKey, limit: u64, found: u64) -> fmt::Result {
    let name = key.name();
    match key {
        LimitKey::Jobs => write!(
            f,
            "the Procfile makes {found} jobs (counting every `count` instance); the \
             config allows at most {limit} per app ({name}): lower the counts, or \
             raise {name}"
        ),
        LimitKey::PlannedBytes | LimitKey::RenderedBytes => write!(
            f,
            "the Procfile {} about {} KiB of files; the config allows at most {} KiB \
             per app ({name}): make its env values or counts smaller, or raise {name}",
            if key == LimitKey::PlannedBytes {
                "would render"
            } else {
                "renders"
            },
            found >> 10,
            limit >> 10
        ),
        LimitKey::EnvFiles => write!(
            f,
            "{found} .env files are given (-e); the config allows at most {limit} per \
             export ({name}): merge them into fewer files, or raise {name}"
        ),
        LimitKey::EnvBytes => write!(
            f,
            "the .env files come to more than {} KiB with this one; the config \
             allows at most {} KiB in all ({name}): make them smaller, or raise {name}",
            limit >> 10,
            limit >> 10
        ),
        LimitKey::ExpandedBytes => write!(
            f,
            "the values in this file come to more than {} KiB once its aliases \
             (*name) are expanded; the config allows at most {} KiB ({name}): write \
             the value out once instead of aliasing it, make it smaller, or raise \
             {name}",
            limit >> 10,
            limit >> 10
        ),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Cli(error) => Some(error),
            Self::Io { source, .. } | Self::Output { source, .. } => Some(source),
            Self::Usage(_)
            | Self::Input { .. }
            | Self::Limit { .. }
            | Self::Unsupported { .. }
            | Self::Format(_)
            | Self::Refused { .. }
            | Self::Failed { .. }
            | Self::Tool { .. }
            | Self::Interrupted { .. } => None,
        }
    }
}

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
    kept.take().map(|e| Error::output(Stream::Stderr, e))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt as _;

    fn pipe() -> io::Error {
        io::Error::from(io::ErrorKind::BrokenPipe)
    }

    #[test]
    fn the_exit_code_follows_from_the_variant_not_the_text() {
        assert_eq!(Error::output(Stream::Stdout, pipe()).exit_code(), 141);
        assert_eq!(Error::output(Stream::Stderr, pipe()).exit_code(), 141);
        assert!(Error::output(Stream::Stdout, pipe()).is_closed_pipe());
        // A broken pipe to a program procexport runs is a failure, whatever its action says.
        let io = Error::io("writing to stdout", pipe());
        assert_eq!((io.exit_code(), io.is_closed_pipe()), (1, false));
        let other = Error::output(Stream::Stdout, io::Error::other("disk full"));
        assert_eq!(other.exit_code(), 1);
        assert_eq!(other.to_string(), "writing to stdout: disk full");
        assert_eq!(Error::limit(LimitKey::Jobs, 1, 2).exit_code(), 2);
        assert_eq!(Error::unsupported("runit", "x", "y").exit_code(), 2);
        assert_eq!(Error::refused_at("/etc/x", "no").exit_code(), 1);
    }

    #[test]
    fn a_limit_names_its_config_key_and_what_to_change() {
        let jobs = Error::limit(LimitKey::Jobs, 2000, 2001).to_string();
        assert_eq!(
            jobs,
            "the Procfile makes 2001 jobs (counting every `count` instance); the config allows \
             at most 2000 per app (max_jobs): lower the counts, or raise max_jobs"
        );
        let bytes = Error::limit(LimitKey::PlannedBytes, 4096, 10240).to_string();
        assert_eq!(
            bytes,
            "the Procfile would render about 10 KiB of files; the config allows at most 4 KiB \
             per app (max_rendered_bytes): make its env values or counts smaller, or raise \
             max_rendered_bytes"
        );
        assert_eq!(
            Error::limit(LimitKey::EnvFiles, 32, 33).to_string(),
            "33 .env files are given (-e); the config allows at most 32 per export \
             (max_env_files): merge them into fewer files, or raise max_env_files"
        );
        let expanded = Error::limit(LimitKey::ExpandedBytes, 16 << 20, 17 << 20)
            .at(Location::line("Procfile", 3))
            .to_string();
        assert_eq!(
            expanded,
            "Procfile:3: the values in this file come to more than 16384 KiB once its aliases \
             (*name) are expanded; the config allows at most 16384 KiB (max_expanded_bytes): \
             write the value out once instead of aliasing it, make it smaller, or raise \
             max_expanded_bytes"
        );
        let env = Error::Limit {
            key: LimitKey::EnvBytes,
            limit: 2048,
            found: 3000,
            location: Some(Location::file(".env")),
        };
        assert!(
            env.to_string()
                .starts_with(".env: the .env files come to more than 2 KiB with this one;"),
            "{env}"
        );
    }

    #[test]
    fn an_unsupported_value_says_which_backend_and_what_to_write() {
        let error = Error::unsupported("launchd", "stop_signal", "leave it out for launchd");
        assert_eq!(
            error.to_string(),
            "launchd cannot carry stop_signal: leave it out for launchd"
        );
        let at = error.at(Location::line("Procfile", 4));
        assert_eq!(
            at.to_string(),
            "Procfile:4: launchd cannot carry stop_signal: leave it out for launchd"
        );
        assert_eq!(at.exit_code(), 2);
    }

    #[test]
    fn a_failed_tool_says_what_it_ran_and_whether_the_files_are_in_place() {
        let output = std::process::Output {
            status: std::process::ExitStatus::from_raw(1 << 8),
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        let error = Error::tool("/bin/systemctl", "daemon-reload", &output, " no bus\n");
        assert_eq!(
            error.to_string(),
            "/bin/systemctl daemon-reload failed (exit status: 1): \"no bus\""
        );
        assert_eq!(
            error.after_install().to_string(),
            "the files are installed, but /bin/systemctl daemon-reload failed (exit status: 1): \
             \"no bus\"; run it by hand"
        );
    }
}
