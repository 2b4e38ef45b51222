//! A rendered file's contents: held in memory, or written to the export's spool with only a
//! digest kept. A large app's files would not fit in memory all at once; a spooled file is
//! found again by its place and checked by its hash when it is read back.

use std::num::NonZeroU64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    Kept(String),
    Spooled(Digest),
}

impl Contents {
    /// The text, when it is held in memory (always, for a dry run: it spools nothing).
    pub fn kept(&self) -> Option<&str> {
        match self {
            Self::Kept(text) => Some(text),
            Self::Spooled(_) => None,
        }
    }
}

/// Where a spooled file's contents are and what they hash to: 16 bytes, so that `Contents`
/// takes no more room than a `String` (one per output of a large app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// The offset in the spool (high 40 bits) and the length (low 24 bits).
    place: u64,
    /// A keyed hash of the contents (`plan::sip`), never zero.
    hash: NonZeroU64,
}

const LEN_BITS: u32 = 24;

impl Digest {
    /// None when the place does not fit (past 1 TiB of spool, or a file of 16 MiB or more):
    /// such a file is kept in memory instead.
    pub fn new(at: u64, len: usize, hash: NonZeroU64) -> Option<Self> {
        let len = u64::try_from(len).ok().filter(|len| *len < 1 << LEN_BITS)?;
        let at = at.checked_mul(1 << LEN_BITS)?;
        Some(Self {
            place: at | len,
            hash,
        })
    }

    pub fn at(self) -> u64 {
        self.place >> LEN_BITS
    }

    pub fn len(self) -> usize {
        // Below 2^24: fits any usize this builds for.
        usize::try_from(self.place & ((1 << LEN_BITS) - 1)).unwrap_or(usize::MAX)
    }

    pub fn hash(self) -> NonZeroU64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_keeps_its_place_or_refuses_one_that_does_not_fit() {
        let hash = NonZeroU64::MIN;
        let digest = Digest::new(123_456_789, 70_000, hash).unwrap();
        assert_eq!(
            (digest.at(), digest.len(), digest.hash()),
            (123_456_789, 70_000, hash)
        );
        let last = Digest::new((1 << 40) - 1, (1 << 24) - 1, hash).unwrap();
        assert_eq!((last.at(), last.len()), ((1 << 40) - 1, (1 << 24) - 1));
        assert_eq!(Digest::new(1 << 40, 1, hash), None);
        assert_eq!(Digest::new(0, 1 << 24, hash), None);
        assert_eq!(
            std::mem::size_of::<Contents>(),
            std::mem::size_of::<String>()
        );
    }
}
