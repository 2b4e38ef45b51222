//! Short text made from parts with at most one allocation. A large app builds several names,
//! paths and values for each of thousands of instances, and allocating each one (and freeing
//! it at the end) was most of the time such an export took. Names and numbers fit inline, in
//! the value itself; a longer one is gathered on the stack and copied to the heap once.

use smol_str::SmolStr;

/// Texts up to this long are gathered on the stack before their one copy (none when they fit
/// inline); a job's log path is well within it.
const STACK: usize = 128;

/// `parts` joined: inline when short, else one shared heap copy, so a clone never copies.
pub fn join(parts: &[&str]) -> SmolStr {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > STACK {
        return SmolStr::new(parts.concat());
    }
    let mut buf = [0u8; STACK];
    let mut at = 0;
    for part in parts {
        buf[at..at + part.len()].copy_from_slice(part.as_bytes());
        at += part.len();
    }
    SmolStr::new(std::str::from_utf8(&buf[..len]).expect("joined from whole strs"))
}

/// `parts` joined, then the decimal `number`: a name's instance, a port.
pub fn join_number(parts: &[&str], number: u64) -> SmolStr {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(number);
    match parts {
        [] => join(&[digits]),
        [a] => join(&[a, digits]),
        [a, b] => join(&[a, b, digits]),
        _ => join(&[&parts.concat(), digits]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_joins_to_the_concatenation() {
        for len in [0, 1, 22, 23, 24, 100, 127, 128, 129, 130, 5000] {
            let a = "a".repeat(len / 2);
            let b = "é".repeat((len - len / 2) / 2);
            let joined = join(&[&a, "", &b]);
            assert_eq!(joined.as_str(), [a.as_str(), &b].concat());
        }
    }

    #[test]
    fn a_number_follows_its_parts() {
        assert_eq!(join_number(&["worker", "_"], 12).as_str(), "worker_12");
        assert_eq!(join_number(&[], 5000).as_str(), "5000");
        assert_eq!(
            join_number(&["w", "."], u64::MAX).as_str(),
            "w.18446744073709551615"
        );
        assert_eq!(join_number(&["a", "b", "c"], 0).as_str(), "abc0");
    }
}
