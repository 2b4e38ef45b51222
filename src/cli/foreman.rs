//! foreman's and honcho's habits. The flags of theirs that cannot be misread are aliases in
//! `args` (`-a`, `-f`, `-c`, `--env`, `export <format>`); the ones procexport will not take,
//! because they would let the caller choose what root runs or where it writes (the run user,
//! templates, the log and run directories), get an answer that names what procexport does
//! instead, rather than clap's bare "unexpected argument".

use crate::error::Error;
use clap::error::{ContextKind, ContextValue, ErrorKind};

/// What procexport says to foreman's flag `flag`, or `None` for a flag foreman does not have.
fn hint(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "-u" | "--user" => {
            "foreman's --user: procexport takes the run user from its root-owned config \
             (run_user, or apps.<app>.run_user in /etc/procexport.yaml), never from the \
             command line"
        }
        "-l" | "--log" => {
            "foreman's --log: the logs go under the config's log_dir, in <log_dir>/<prefix><app>/ \
             (or where `log:` in a v2 Procfile says)"
        }
        "-t" | "--template" => {
            "foreman's --template: procexport's templates are built in; it reads none from disk"
        }
        "-d" => {
            "foreman's -d (the app root): the jobs run in the Procfile's directory, or in the \
             `working_directory:` of a v2 Procfile"
        }
        "-r" | "--run" => {
            "foreman's --run: procexport keeps no pid files; the init system tracks the jobs"
        }
        _ => return None,
    })
}

/// clap's error, or for one of foreman's flags a usage error (exit 2) that names what to
/// write instead.
pub fn explain(error: clap::Error) -> Error {
    if error.kind() != ErrorKind::UnknownArgument {
        return Error::Cli(error);
    }
    let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg) else {
        return Error::Cli(error);
    };
    let flag = flag.split_once('=').map_or(flag.as_str(), |(name, _)| name);
    match hint(flag) {
        Some(hint) => Error::Usage(format!("unexpected argument '{flag}': {hint}")),
        None => Error::Cli(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Cli;
    use clap::Parser;

    fn message(args: &[&str]) -> (u8, String) {
        let error = explain(Cli::try_parse_from(args).unwrap_err());
        (error.exit_code(), error.to_string())
    }

    #[test]
    fn foremans_other_flags_are_answered_with_what_procexport_does() {
        for (flag, says) in [
            ("-u", "run_user"),
            ("--user", "run_user"),
            ("-l", "log_dir"),
            ("-t", "built in"),
            ("-d", "working_directory"),
            ("--run", "pid files"),
        ] {
            let (code, text) = message(&["p", "export", "upstart", "-a", "x", flag, "v"]);
            assert_eq!(code, 2, "{flag}: {text}");
            assert!(text.contains(says), "{flag}: {text}");
            assert!(text.contains(&format!("'{flag}'")), "{flag}: {text}");
        }
        // Anything else keeps clap's own message.
        let (code, text) = message(&["p", "upstart", "-n", "x", "--bogus"]);
        assert_eq!(code, 2);
        assert!(text.contains("unexpected argument '--bogus'"), "{text}");
    }
}
