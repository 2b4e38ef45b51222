//! Kubernetes names from procexport names. App names and labels are `[A-Za-z0-9_-]+`; object
//! and container names must be DNS-1123 labels (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63
//! characters), and a Service name a DNS-1035 label (the same, starting with a letter).
//!
//! The mapping is fixed and visible: letters are lowercased and `_` becomes `-`, nothing
//! else. A name that the mapping changes is reported (so `worker_1` is known to be
//! `worker-1`), and a name that still is not valid after it (`_web` would start with `-`, a
//! name past 63 characters) is refused rather than cut or hashed: a name the user cannot
//! predict is one they cannot `kubectl get`.

use crate::sanitize::Quoted;

/// The longest DNS-1123 or DNS-1035 label.
pub const MAX_LABEL: usize = 63;

/// The Kubernetes form of an app name or label.
pub fn map(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Which rule a name must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// DNS-1123 label: Deployments, Jobs, ConfigMaps, Secrets, containers, label values.
    Dns1123,
    /// DNS-1035 label: Services.
    Dns1035,
}

/// Checks `name` (already mapped) against `rule`; `what` says whose name it is.
pub fn check(name: &str, rule: Rule, what: &str) -> Result<(), String> {
    let standard = match rule {
        Rule::Dns1123 => "DNS-1123",
        Rule::Dns1035 => "DNS-1035",
    };
    if name.len() > MAX_LABEL {
        return Err(format!(
            "{what} would be the Kubernetes name {}, {} characters long; a {standard} label has at most {MAX_LABEL}",
            Quoted(name),
            name.len()
        ));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return Err(format!(
            "{what} would be the Kubernetes name {}, which does not start and end with a letter or digit, as a {standard} label must (\"_\" becomes \"-\")",
            Quoted(name)
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{what} would be the Kubernetes name {}, which holds {}; a {standard} label holds only lowercase letters, digits and \"-\"",
            Quoted(name),
            Quoted(&bad.to_string())
        ));
    }
    if rule == Rule::Dns1035 && !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "{what} would be the Kubernetes name {}, which starts with a digit; a Service name is a DNS-1035 label and must start with a letter",
            Quoted(name)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_case_and_underscores_only() {
        assert_eq!(map("Worker_1"), "worker-1");
        assert_eq!(map("web"), "web");
        assert_eq!(map("a__b"), "a--b");
    }

    #[test]
    fn refuses_what_no_mapping_can_fix() {
        let long = "a".repeat(64);
        let cases = [
            (
                "-web",
                Rule::Dns1123,
                "does not start and end with a letter or digit",
            ),
            (
                "web-",
                Rule::Dns1123,
                "does not start and end with a letter or digit",
            ),
            (
                long.as_str(),
                Rule::Dns1123,
                "64 characters long; a DNS-1123 label has at most 63",
            ),
            ("2fa-web", Rule::Dns1035, "must start with a letter"),
            ("a.b", Rule::Dns1123, "holds \".\""),
        ];
        for (name, rule, message) in cases {
            let error = check(name, rule, "label \"x\"").unwrap_err();
            assert!(error.contains(message), "{name}: {error}");
        }
        assert!(check("2fa-web", Rule::Dns1123, "x").is_ok());
        assert!(check(&"a".repeat(63), Rule::Dns1035, "x").is_ok());
        assert!(check("a--b", Rule::Dns1035, "x").is_ok());
    }
}
