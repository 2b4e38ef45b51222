//! SIGINT and SIGTERM during a change (DESIGN section 6): a change that has begun always ends
//! cleanly. While an export or a clean runs, the two signals only set a flag, which the
//! transaction reads between files: before its commit point (the first rename into place) it
//! rolls the change back, after it the change is finished; then procexport exits 130 or 143.
//! A SIGKILL cannot be caught: the next run removes the temp files it left (`disk::write`).
//!
//! signal-hook's flag API is the whole handler (it stores a number), so no code of
//! procexport runs in signal context, and no `unsafe` is needed here.

use crate::error::{Error, Result, Signal};
use signal_hook::consts::signal::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The signal caught (`INT` or `TERM`), or 0. A static: the handler outlives every caller.
static CAUGHT: AtomicUsize = AtomicUsize::new(0);
const INT: usize = 1;
const TERM: usize = 2;

/// Whether a stop was asked, for the transaction to read between files.
#[derive(Debug, Clone, Copy)]
pub struct Interrupt {
    armed: bool,
}

impl Interrupt {
    /// Never stops: what a dry run, a listing or a command that only asks the init uses
    /// (their SIGINT keeps its default action: it ends the process at once).
    pub const NEVER: Self = Self { armed: false };

    /// From now until the process ends, SIGINT and SIGTERM only set the flag. The default
    /// actions are not put back (signal-hook cannot): the process ends after its change.
    pub fn catch() -> Result<Self> {
        static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
        let registered = REGISTERED.get_or_init(|| {
            for (signal, value) in [(SIGINT, INT), (SIGTERM, TERM)] {
                signal_hook::flag::register_usize(signal, &CAUGHT, value)
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        match registered {
            Ok(()) => Ok(Self { armed: true }),
            Err(e) => Err(Error::failed(format!("catching SIGINT and SIGTERM: {e}"))),
        }
    }

    /// The signal that asked to stop, if one did.
    pub fn caught(self) -> Option<Signal> {
        if !self.armed {
            return None;
        }
        match CAUGHT.load(Ordering::SeqCst) {
            INT => Some(Signal::Int),
            TERM => Some(Signal::Term),
            _ => None,
        }
    }

    /// Ok while no signal asked to stop; else the error that ends the run, saying `what`
    /// became of the change.
    pub fn check(self, what: impl FnOnce() -> String) -> Result<()> {
        match self.caught() {
            Some(signal) => Err(Error::Interrupted {
                signal,
                what: what(),
            }),
            None => Ok(()),
        }
    }
}
