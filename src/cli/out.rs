//! Stdout that never stops a change (DESIGN section 6): a clean of every backend with its
//! reader gone (`procexport clean -n app | head -0`) must still clean every backend. Every
//! write "succeeds"; the first error is kept and the rest of the output dropped, and `run`
//! reports that error once the command is done (a closed pipe: a quiet exit 141).

use std::io::{self, Write};

/// A writer that keeps its first error instead of returning it.
pub struct Remembered<'a> {
    inner: &'a mut dyn Write,
    error: Option<io::Error>,
}

impl<'a> Remembered<'a> {
    pub fn new(inner: &'a mut dyn Write) -> Self {
        Self { inner, error: None }
    }

    /// Flushes what is buffered, then hands over the first error, if any.
    pub fn finish(mut self) -> Option<io::Error> {
        if self.error.is_none() {
            if let Err(e) = self.inner.flush() {
                self.error = Some(e);
            }
        }
        self.error
    }
}

impl Write for Remembered<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_none() {
            if let Err(e) = self.inner.write_all(buf) {
                self.error = Some(e);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_none() {
            if let Err(e) = self.inner.flush() {
                self.error = Some(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then fails every write as a closed pipe does.
    struct Closing {
        room: usize,
        taken: Vec<u8>,
        tries: usize,
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.tries += 1;
            if self.room == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_first_error_is_kept_and_later_output_dropped() {
        let mut inner = Closing {
            room: 4,
            taken: Vec::new(),
            tries: 0,
        };
        let mut out = Remembered::new(&mut inner);
        writeln!(out, "first line").unwrap();
        writeln!(out, "second line").unwrap();
        let error = out.finish().expect("the closed pipe is remembered");
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(inner.taken, b"firs");
        assert_eq!(inner.tries, 2, "nothing is written after the first error");
    }

    #[test]
    fn no_error_means_none() {
        let mut inner = Vec::new();
        let mut out = Remembered::new(&mut inner);
        writeln!(out, "all of it").unwrap();
        assert!(out.finish().is_none());
        assert_eq!(inner, b"all of it\n");
    }
}
