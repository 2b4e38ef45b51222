//! `kill_signal`, `reload_signal` and `kill_mode`: how a job is stopped and told to reload.
//! A signal is one of a fixed list of names (written `SIGQUIT` or `QUIT`), so a template
//! prints only a name it knows, never the Procfile's text.

use crate::model::key_error::KeyError;
use crate::sanitize::Quoted;
use serde::Serialize;

/// The signals a job may be stopped or reloaded with: name (without `SIG`) and Linux number.
const SIGNALS: &[(&str, u8)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ABRT", 6),
    ("KILL", 9),
    ("USR1", 10),
    ("USR2", 12),
    ("ALRM", 14),
    ("TERM", 15),
    ("WINCH", 28),
    ("PWR", 30),
];

/// A signal from `SIGNALS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "&'static str")]
pub struct Signal(&'static str, u8);

impl Signal {
    /// Reads `SIGQUIT`, `QUIT` or `quit`.
    pub fn parse(key: &'static str, text: &str) -> Result<Self, KeyError> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        SIGNALS
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(name, number)| Self(name, *number))
            .ok_or_else(|| {
                let names: Vec<String> = SIGNALS.iter().map(|(n, _)| format!("SIG{n}")).collect();
                (
                    key,
                    format!(
                        "{key} {} is not a signal procexport knows: write one of {}",
                        Quoted(text),
                        names.join(", ")
                    ),
                )
            })
    }

    /// The name without `SIG` (`QUIT`), as Upstart, `kill -s` and supervisord write it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The name with `SIG` (`SIGQUIT`), as systemd writes it.
    pub fn full_name(self) -> String {
        format!("SIG{}", self.0)
    }

    /// The Linux signal number.
    pub fn number(self) -> u8 {
        self.1
    }
}

impl From<Signal> for &'static str {
    fn from(signal: Signal) -> Self {
        signal.0
    }
}

/// `kill_mode`: which processes the stop signal goes to (systemd's `KillMode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KillMode {
    /// Every process of the job's control group.
    ControlGroup,
    /// The stop signal to the main process, SIGKILL to the rest of the group.
    Mixed,
    /// The main process only.
    Process,
    /// No process: only the stop command (procexport writes none, so nothing is stopped).
    None,
}

impl KillMode {
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        Ok(match text.trim() {
            "control-group" => Self::ControlGroup,
            "mixed" => Self::Mixed,
            "process" => Self::Process,
            "none" => Self::None,
            other => {
                return Err((
                    "kill_mode",
                    format!(
                        "kill_mode {} is not a kill mode: write control-group, mixed, process \
                         or none",
                        Quoted(other)
                    ),
                ))
            }
        })
    }

    /// systemd's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Self::ControlGroup => "control-group",
            Self::Mixed => "mixed",
            Self::Process => "process",
            Self::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_read_with_or_without_sig() {
        let quit = Signal::parse("kill_signal", "SIGQUIT").unwrap();
        assert_eq!((quit.name(), quit.number()), ("QUIT", 3));
        assert_eq!(
            Signal::parse("kill_signal", "usr2").unwrap().full_name(),
            "SIGUSR2"
        );
        let (key, message) = Signal::parse("reload_signal", "SIGFOO; rm -rf /").unwrap_err();
        assert_eq!(key, "reload_signal");
        assert!(message.contains("write one of SIGHUP"), "{message}");
    }

    #[test]
    fn kill_modes_are_systemds_four() {
        assert_eq!(KillMode::parse("process"), Ok(KillMode::Process));
        assert_eq!(
            KillMode::parse("control-group").unwrap().word(),
            "control-group"
        );
        assert!(KillMode::parse("all")
            .unwrap_err()
            .1
            .contains("write control-group"));
    }
}
