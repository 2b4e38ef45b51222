//! `resources:`: a job's cgroup settings (init-exporter's keys, systemd.resource-control(5)'s
//! meaning). Each value is checked into a type that holds only what systemd accepts, and is
//! printed from that type: the Procfile's text never reaches a unit.

use crate::model::key_error::KeyError;
use crate::sanitize::Quoted;
use crate::yaml::Loose;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `resources:` as written: every value a scalar, read as its text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of resource settings, such as {cpu_weight: 50, memory_max: 8G}"
)]
pub struct RawResources {
    cpu_weight: Option<Loose>,
    startup_cpu_weight: Option<Loose>,
    cpu_quota: Option<Loose>,
    cpu_affinity: Option<Loose>,
    memory_low: Option<Loose>,
    memory_high: Option<Loose>,
    memory_max: Option<Loose>,
    memory_swap_max: Option<Loose>,
    task_max: Option<Loose>,
    io_weight: Option<Loose>,
    startup_io_weight: Option<Loose>,
    io_device_weight: Option<Loose>,
    io_read_bandwidth_max: Option<Loose>,
    io_write_bandwidth_max: Option<Loose>,
    io_read_iops_max: Option<Loose>,
    io_write_iops_max: Option<Loose>,
    ip_address_allow: Option<Loose>,
    ip_address_deny: Option<Loose>,
}

/// A cgroup weight, 1 to 10000 (systemd's `CPUWeight=`, `IOWeight=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Weight(u16);

/// A CPU list such as `1,3,5-7`: each range `(first, last)`, CPUs 0 to 4095.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuSet(Vec<(u16, u16)>);

/// A device node under `/dev/` (letters, digits, `/`, `_`, `-`, `.`, `:`; no `..`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevicePath(String);

/// `/dev/x N`: a device and a number (a weight, bytes per second, or operations per second).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceValue {
    pub device: DevicePath,
    pub value: u64,
}

/// One entry of an IP address list: an address with an optional prefix length, or one of
/// systemd's words (`any`, `localhost`, `link-local`, `multicast`), kept as checked text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpEntry(String);

/// The checked `resources:`; `None` leaves the init's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub cpu_weight: Option<Weight>,
    pub startup_cpu_weight: Option<Weight>,
    /// Percent of one CPU, 1 to 100000.
    pub cpu_quota: Option<u32>,
    pub cpu_affinity: Option<CpuSet>,
    /// Bytes.
    pub memory_low: Option<u64>,
    pub memory_high: Option<u64>,
    pub memory_max: Option<u64>,
    pub memory_swap_max: Option<u64>,
    pub task_max: Option<u32>,
    pub io_weight: Option<Weight>,
    pub startup_io_weight: Option<Weight>,
    pub io_device_weight: Option<DeviceValue>,
    pub io_read_bandwidth_max: Option<DeviceValue>,
    pub io_write_bandwidth_max: Option<DeviceValue>,
    pub io_read_iops_max: Option<DeviceValue>,
    pub io_write_iops_max: Option<DeviceValue>,
    pub ip_address_allow: Option<Vec<IpEntry>>,
    pub ip_address_deny: Option<Vec<IpEntry>>,
}

/// Whether a resource key only tunes a job's share of the machine (a weight, dropped with a
/// warning where an init cannot carry it) or bounds it (refused where it cannot be carried:
/// the app may count on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Tunes,
    Bounds,
}

/// The resource keys that only tune a job's share of the machine: weights, and the memory
/// the job keeps under pressure (`memory_low`). Every other key bounds it.
pub const TUNES: &[&str] = &[
    "cpu_weight",
    "startup_cpu_weight",
    "memory_low",
    "io_weight",
    "startup_io_weight",
    "io_device_weight",
];

/// Whether resource key `key` (without `resources.`) only tunes.
pub fn effect(key: &str) -> Effect {
    if TUNES.contains(&key) {
        Effect::Tunes
    } else {
        Effect::Bounds
    }
}

impl Resources {
    /// Checks `resources:` as written; errors are said of `resources`, whose line the parser
    /// finds.
    pub fn parse(raw: &RawResources) -> Result<Self, KeyError> {
        Self::parse_keys(raw).map_err(|(_, m)| ("resources", m))
    }

    fn parse_keys(raw: &RawResources) -> Result<Self, KeyError> {
        let text = |key: &'static str, value: &Option<Loose>| -> Result<Option<String>, KeyError> {
            value
                .as_ref()
                .map(|v| {
                    v.text().map(|t| t.trim().to_owned()).ok_or_else(|| {
                        (
                            key,
                            format!(
                                "resources.{key} must be a single value, not a list or mapping"
                            ),
                        )
                    })
                })
                .transpose()
        };
        macro_rules! field {
            ($key:ident, $parse:expr) => {
                text(stringify!($key), &raw.$key)?
                    .map(|t| $parse(stringify!($key), &t))
                    .transpose()?
            };
        }
        Ok(Self {
            cpu_weight: field!(cpu_weight, weight),
            startup_cpu_weight: field!(startup_cpu_weight, weight),
            cpu_quota: field!(cpu_quota, percent),
            cpu_affinity: field!(cpu_affinity, cpu_set),
            memory_low: field!(memory_low, |k, t| size(k, t, 1024)),
            memory_high: field!(memory_high, |k, t| size(k, t, 1024)),
            memory_max: field!(memory_max, |k, t| size(k, t, 1024)),
            memory_swap_max: field!(memory_swap_max, |k, t| size(k, t, 1024)),
            task_max: field!(task_max, task_max),
            io_weight: field!(io_weight, weight),
            startup_io_weight: field!(startup_io_weight, weight),
            io_device_weight: field!(io_device_weight, |k, t| device_value(
                k,
                t,
                DeviceUnit::Weight
            )),
            io_read_bandwidth_max: field!(io_read_bandwidth_max, |k, t| device_value(
                k,
                t,
                DeviceUnit::Bytes
            )),
            io_write_bandwidth_max: field!(io_write_bandwidth_max, |k, t| device_value(
                k,
                t,
                DeviceUnit::Bytes
            )),
            io_read_iops_max: field!(io_read_iops_max, |k, t| device_value(
                k,
                t,
                DeviceUnit::Count
            )),
            io_write_iops_max: field!(io_write_iops_max, |k, t| device_value(
                k,
                t,
                DeviceUnit::Count
            )),
            ip_address_allow: field!(ip_address_allow, ip_list),
            ip_address_deny: field!(ip_address_deny, ip_list),
        })
    }

    /// Each setting of `self`, else of `lower`.
    #[must_use]
    pub fn over(self, lower: Self) -> Self {
        macro_rules! over {
            ($($f:ident),*) => { Self { $($f: self.$f.or(lower.$f)),* } };
        }
        over!(
            cpu_weight,
            startup_cpu_weight,
            cpu_quota,
            cpu_affinity,
            memory_low,
            memory_high,
            memory_max,
            memory_swap_max,
            task_max,
            io_weight,
            startup_io_weight,
            io_device_weight,
            io_read_bandwidth_max,
            io_write_bandwidth_max,
            io_read_iops_max,
            io_write_iops_max,
            ip_address_allow,
            ip_address_deny
        )
    }

    /// Each setting given: its Procfile key, systemd's directive, its value as systemd reads
    /// it, and whether it only tunes. The value holds only digits, letters, `/`, `.`, `:`,
    /// `-`, `%`, `,` and spaces.
    pub fn systemd(&self) -> Vec<(&'static str, &'static str, String, Effect)> {
        let mut out = Vec::new();
        let mut push = |key: &'static str, directive, value: Option<String>| {
            if let Some(value) = value {
                out.push((key, directive, value, effect(key)));
            }
        };
        let w = |w: &Option<Weight>| w.map(|w| w.0.to_string());
        let n = |n: &Option<u64>| n.map(|n| n.to_string());
        let d = |d: &Option<DeviceValue>| d.as_ref().map(|d| format!("{} {}", d.device.0, d.value));
        let ips = |l: &Option<Vec<IpEntry>>| {
            l.as_ref()
                .map(|l| l.iter().map(|e| e.0.as_str()).collect::<Vec<_>>().join(" "))
        };
        push("cpu_weight", "CPUWeight", w(&self.cpu_weight));
        push(
            "startup_cpu_weight",
            "StartupCPUWeight",
            w(&self.startup_cpu_weight),
        );
        push(
            "cpu_quota",
            "CPUQuota",
            self.cpu_quota.map(|q| format!("{q}%")),
        );
        push(
            "cpu_affinity",
            "CPUAffinity",
            self.cpu_affinity.as_ref().map(CpuSet::text),
        );
        push("memory_low", "MemoryLow", n(&self.memory_low));
        push("memory_high", "MemoryHigh", n(&self.memory_high));
        push("memory_max", "MemoryMax", n(&self.memory_max));
        push("memory_swap_max", "MemorySwapMax", n(&self.memory_swap_max));
        push("task_max", "TasksMax", self.task_max.map(|t| t.to_string()));
        push("io_weight", "IOWeight", w(&self.io_weight));
        push(
            "startup_io_weight",
            "StartupIOWeight",
            w(&self.startup_io_weight),
        );
        push(
            "io_device_weight",
            "IODeviceWeight",
            d(&self.io_device_weight),
        );
        push(
            "io_read_bandwidth_max",
            "IOReadBandwidthMax",
            d(&self.io_read_bandwidth_max),
        );
        push(
            "io_write_bandwidth_max",
            "IOWriteBandwidthMax",
            d(&self.io_write_bandwidth_max),
        );
        push(
            "io_read_iops_max",
            "IOReadIOPSMax",
            d(&self.io_read_iops_max),
        );
        push(
            "io_write_iops_max",
            "IOWriteIOPSMax",
            d(&self.io_write_iops_max),
        );
        push(
            "ip_address_allow",
            "IPAddressAllow",
            ips(&self.ip_address_allow),
        );
        push(
            "ip_address_deny",
            "IPAddressDeny",
            ips(&self.ip_address_deny),
        );
        out
    }
}

impl CpuSet {
    /// `1,3,5-7`.
    pub fn text(&self) -> String {
        self.0
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn weight(key: &'static str, text: &str) -> Result<Weight, KeyError> {
    text.parse::<u16>()
        .ok()
        .filter(|w| (1..=10_000).contains(w))
        .map(Weight)
        .ok_or_else(|| {
            (
                key,
                format!(
                    "resources.{key} {} is not a weight: write a whole number from 1 to 10000",
                    Quoted(text)
                ),
            )
        })
}

fn percent(key: &'static str, text: &str) -> Result<u32, KeyError> {
    text.strip_suffix('%')
        .unwrap_or(text)
        .parse::<u32>()
        .ok()
        .filter(|p| (1..=100_000).contains(p))
        .ok_or_else(|| {
            (
                key,
                format!(
                    "resources.{key} {} is not a CPU quota: write a percentage of one CPU from 1 to 100000, such as 40",
                    Quoted(text)
                ),
            )
        })
}

fn task_max(key: &'static str, text: &str) -> Result<u32, KeyError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=4_194_304).contains(n))
        .ok_or_else(|| {
            (
                key,
                format!("resources.{key} {} is not a task count: write a whole number from 1 to 4194304", Quoted(text)),
            )
        })
}

fn cpu_set(key: &'static str, text: &str) -> Result<CpuSet, KeyError> {
    let bad = || {
        (
            key,
            format!(
                "resources.{key} {} is not a CPU list: write CPU numbers (0 to 4095) and ranges separated by commas, such as 1,3,5-7",
                Quoted(text)
            ),
        )
    };
    let cpu = |t: &str| t.trim().parse::<u16>().ok().filter(|c| *c < 4096);
    let mut ranges = Vec::new();
    for part in text.split([',', ' ']).filter(|p| !p.is_empty()) {
        let range = if let Some((a, b)) = part.split_once('-') {
            (cpu(a).ok_or_else(bad)?, cpu(b).ok_or_else(bad)?)
        } else {
            let c = cpu(part).ok_or_else(bad)?;
            (c, c)
        };
        if range.0 > range.1 || ranges.len() >= 4096 {
            return Err(bad());
        }
        ranges.push(range);
    }
    if ranges.is_empty() {
        return Err(bad());
    }
    Ok(CpuSet(ranges))
}

/// `N`, `NK`, `NM`, `NG` or `NT`, the suffixes powers of `base`; the result at most 2^62.
fn size(key: &'static str, text: &str, base: u64) -> Result<u64, KeyError> {
    let bad = || {
        (
            key,
            format!(
                "resources.{key} {} is not a size: write a whole number with an optional K, M, G or T, such as 512M",
                Quoted(text)
            ),
        )
    };
    let (digits, power) = match text.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => {
            let power = match unit.to_ascii_uppercase() {
                'K' => 1,
                'M' => 2,
                'G' => 3,
                'T' => 4,
                _ => return Err(bad()),
            };
            (&text[..at], power)
        }
        _ => (text, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(base.checked_pow(power)?))
        .filter(|n| *n <= 1 << 62)
        .ok_or_else(bad)
}

#[derive(Clone, Copy)]
enum DeviceUnit {
    Weight,
    Bytes,
    Count,
}

fn device_value(key: &'static str, text: &str, unit: DeviceUnit) -> Result<DeviceValue, KeyError> {
    let example = match unit {
        DeviceUnit::Weight => "/dev/sda 200",
        DeviceUnit::Bytes => "/dev/sda 200M",
        DeviceUnit::Count => "/dev/sda 1K",
    };
    let bad = |why: String| {
        (
            key,
            format!(
                "resources.{key} {}: {why}; write a device and a value, such as {example}",
                Quoted(text)
            ),
        )
    };
    let mut words = text.split_whitespace();
    let (Some(device), Some(value), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad("not a device and one value".to_owned()));
    };
    let device = DevicePath::parse(device).map_err(bad)?;
    let value = match unit {
        DeviceUnit::Weight => u64::from(weight(key, value)?.0),
        DeviceUnit::Bytes => size(key, value, 1024)?,
        DeviceUnit::Count => size(key, value, 1000)?,
    };
    Ok(DeviceValue { device, value })
}

impl DevicePath {
    fn parse(text: &str) -> Result<Self, String> {
        let ok = text.starts_with("/dev/")
            && text.len() <= 255
            && text.len() > "/dev/".len()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-.:".contains(&b))
            && !text.split('/').any(|c| c == "..");
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "{} is not a device path under /dev/ (letters, digits, /, _, -, . and :)",
                Quoted(text)
            ))
        }
    }
}

fn ip_list(key: &'static str, text: &str) -> Result<Vec<IpEntry>, KeyError> {
    const WORDS: [&str; 4] = ["any", "localhost", "link-local", "multicast"];
    let bad = |entry: &str| {
        (
            key,
            format!(
                "resources.{key}: {} is not an IP address or prefix: write addresses such as 127.0.0.0/8 ::1/128, or any, localhost, link-local, multicast",
                Quoted(entry)
            ),
        )
    };
    let mut entries = Vec::new();
    for entry in text.split_whitespace() {
        if entries.len() >= 1024 {
            return Err(bad(entry));
        }
        if WORDS.contains(&entry) {
            entries.push(IpEntry(entry.to_owned()));
            continue;
        }
        let (address, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let address: IpAddr = address.parse().map_err(|_| bad(entry))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix
            .map(|p| {
                p.parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| bad(entry))
            })
            .transpose()?;
        entries.push(IpEntry(match prefix {
            Some(p) => format!("{address}/{p}"),
            None => address.to_string(),
        }));
    }
    if entries.is_empty() {
        return Err(bad(text));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes_and_iops_decimal_ones() {
        assert_eq!(size("memory_max", "8G", 1024), Ok(8 << 30));
        assert_eq!(size("memory_max", "512", 1024), Ok(512));
        assert_eq!(size("io_read_iops_max", "1K", 1000), Ok(1000));
        assert!(size("memory_max", "8X", 1024).is_err());
        assert!(size("memory_max", "-1", 1024).is_err());
        assert!(size("memory_max", "99999999T", 1024).is_err());
    }

    #[test]
    fn values_are_checked_into_what_systemd_reads() {
        assert_eq!(
            cpu_set("cpu_affinity", "1,3,5-7").unwrap().text(),
            "1,3,5-7"
        );
        assert!(cpu_set("cpu_affinity", "7-5").is_err());
        assert!(cpu_set("cpu_affinity", "1;reboot").is_err());
        assert!(weight("cpu_weight", "0").is_err());
        assert!(weight("cpu_weight", "10001").is_err());
        let d = device_value("io_read_bandwidth_max", "/dev/sda 200M", DeviceUnit::Bytes).unwrap();
        assert_eq!((d.device.0.as_str(), d.value), ("/dev/sda", 200 << 20));
        assert!(device_value("io_device_weight", "/etc/passwd 1", DeviceUnit::Weight).is_err());
        assert!(device_value("io_device_weight", "/dev/../etc 1", DeviceUnit::Weight).is_err());
        let ips = ip_list("ip_address_allow", "127.0.0.0/8 ::1/128 localhost").unwrap();
        assert_eq!(ips.len(), 3);
        assert!(ip_list("ip_address_deny", "0.0.0.0/33").is_err());
        assert!(ip_list("ip_address_deny", "10.0.0.0/8\nExecStart=x").is_err());
    }
}
