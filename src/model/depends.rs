//! `depends`, `strong_dependencies` and `start_on_device`: the units an app starts after and
//! the network device it waits for. Names are checked into `UnitName` and `DeviceName`; which
//! ones a Procfile may name is the admin's (`policy.depends`, `policy.devices`, in
//! `model::policy`).

use crate::sanitize::Quoted;
use serde::Serialize;
use std::fmt;

/// The unit types a dependency may name; a name without one is a service.
const UNIT_TYPES: [&str; 6] = ["service", "target", "socket", "mount", "path", "timer"];

/// A unit name: `postgresql-11` (a service) or `name.type`, of letters, digits and
/// `:_.@-`, not starting with `-` or `.`, at most 255 bytes with its type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UnitName(String);

impl UnitName {
    /// Reads a unit name; `what` names the key for messages.
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "{what} {} is not a unit name ({why}): write names such as postgresql or \
                 redis-server.service",
                Quoted(text)
            )
        };
        if text.is_empty() || text.starts_with(['-', '.']) {
            return Err(bad("it must start with a letter or digit"));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ":_.@-".contains(*c)))
        {
            return Err(bad(&format!("{} is not allowed", Quoted(&c.to_string()))));
        }
        let full = match text.rsplit_once('.') {
            Some((_, kind)) if UNIT_TYPES.contains(&kind) => text.to_owned(),
            _ => format!("{text}.service"),
        };
        if full.len() > 255 {
            return Err(bad("longer than 255 bytes"));
        }
        Ok(Self(full))
    }

    /// The full unit name, with its type (`postgresql-11.service`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without `.service`, as an Upstart job is named; `None` for another type.
    pub fn service_stem(&self) -> Option<&str> {
        self.0.strip_suffix(".service")
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A network interface name: 1 to 15 bytes of letters, digits, `_` and `.` (not `.` or `..`
/// alone). No `-`: systemd escapes it in the device unit's name (`\x2d`), which no unit
/// setting could then carry as a plain word.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DeviceName(String);

impl DeviceName {
    pub fn parse(text: &str, what: &str) -> Result<Self, String> {
        let ok = (1..=15).contains(&text.len())
            && text != "."
            && text != ".."
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.".contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "{what} {} is not a network device name: write an interface name of 1 to 15 \
                 letters, digits, _ or ., such as bond0",
                Quoted(text)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// systemd's device unit for the interface (`sys-subsystem-net-devices-bond0.device`).
    pub fn systemd_unit(&self) -> String {
        format!("sys-subsystem-net-devices-{}.device", self.0)
    }
}

/// The units an app depends on, and whether it needs them (`Requires=`) or only wants them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Depends {
    pub units: Vec<UnitName>,
    /// `strong_dependencies: true`: the app is stopped when one of them stops or fails.
    pub strong: bool,
}

/// Reads `depends:` (names separated by spaces).
pub fn parse_depends(text: &str) -> Result<Vec<UnitName>, String> {
    let mut units: Vec<UnitName> = Vec::new();
    for word in text.split_whitespace() {
        let unit = UnitName::parse(word, "depends")?;
        if !units.contains(&unit) {
            units.push(unit);
        }
        if units.len() > 256 {
            return Err("depends names more than 256 units: name fewer".to_owned());
        }
    }
    if units.is_empty() {
        return Err(
            "depends is empty: name the units separated by spaces, such as \"postgresql redis\", or remove it"
                .to_owned(),
        );
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_get_their_type_and_refuse_what_is_not_a_name() {
        assert_eq!(
            UnitName::parse("postgresql-11", "depends")
                .unwrap()
                .as_str(),
            "postgresql-11.service"
        );
        assert_eq!(
            UnitName::parse("rescue.target", "depends")
                .unwrap()
                .as_str(),
            "rescue.target"
        );
        assert!(UnitName::parse("-x", "depends").is_err());
        assert!(UnitName::parse("a b", "depends").is_err());
        assert!(UnitName::parse("a/b", "depends").is_err());
        assert_eq!(parse_depends("redis redis.service").unwrap().len(), 1);
    }

    #[test]
    fn device_names_are_interface_names() {
        let bond = DeviceName::parse("bond0", "start_on_device").unwrap();
        assert_eq!(
            bond.systemd_unit(),
            "sys-subsystem-net-devices-bond0.device"
        );
        assert!(DeviceName::parse("br-lan", "d").is_err());
        assert!(DeviceName::parse("eth0.100", "d").is_ok());
        assert!(DeviceName::parse("../sda", "start_on_device").is_err());
        assert!(DeviceName::parse("averyveryverylongname", "start_on_device").is_err());
    }
}
