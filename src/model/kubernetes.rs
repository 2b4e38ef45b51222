//! The Kubernetes export's own settings, as the config's `kubernetes:` section gives them
//! (`image`, `port`, `listen`, `env_in`, `secret_keys`, `release`, `run_as_user`), and the
//! image references it checks wherever one comes from (the command line, a v2 Procfile's
//! `image:`, this section). The export itself is `src/kubernetes/`; it lays the command
//! line over the Procfile over these.

use crate::model::env::EnvKey;
use crate::model::layer::{in_range, KeyError};
use crate::model::name::Name;
use crate::sanitize::Quoted;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvStore {
    /// Every variable in a Secret.
    #[default]
    Secret,
    /// Every variable in a ConfigMap, but the `secret_keys` in a Secret.
    Configmap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseAs {
    /// A Job, applied with everything else.
    #[default]
    Job,
    /// A Job with Helm's pre-install and pre-upgrade hook annotations.
    Hook,
}

/// The config's `kubernetes:` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    image: Option<String>,
    port: Option<i64>,
    listen: Option<Vec<String>>,
    env_in: Option<EnvStore>,
    secret_keys: Option<Vec<String>>,
    release: Option<ReleaseAs>,
    run_as_user: Option<i64>,
}

/// The config's `kubernetes:` section, checked.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub image: Option<Image>,
    pub port: Option<u16>,
    pub listen: Option<Vec<Name>>,
    pub env_in: Option<EnvStore>,
    pub secret_keys: Vec<EnvKey>,
    pub release: Option<ReleaseAs>,
    pub run_as_user: Option<u32>,
}

impl Settings {
    /// Checks the section; an error names the key it is about.
    pub fn check(raw: Option<&RawSettings>) -> Result<Self, KeyError> {
        let Some(raw) = raw else {
            return Ok(Self::default());
        };
        Ok(Self {
            image: raw
                .image
                .as_deref()
                .map(|i| Image::parse(i).map_err(|m| ("image", m)))
                .transpose()?,
            port: raw.port.map(|p| port("port", p)).transpose()?,
            listen: raw
                .listen
                .as_ref()
                .map(|labels| {
                    labels
                        .iter()
                        .map(|l| Name::parse(l, "listen label").map_err(|m| ("listen", m)))
                        .collect()
                })
                .transpose()?,
            env_in: raw.env_in,
            secret_keys: raw
                .secret_keys
                .iter()
                .flatten()
                .map(|k| EnvKey::parse(k).map_err(|m| ("secret_keys", m)))
                .collect::<Result<_, _>>()?,
            release: raw.release,
            run_as_user: raw.run_as_user.map(run_as_user).transpose()?,
        })
    }
}

pub fn port(key: &'static str, value: i64) -> Result<u16, KeyError> {
    let port = in_range(key, value, 1, 65_535)?;
    Ok(u16::try_from(port).expect("in range"))
}

pub fn run_as_user(value: i64) -> Result<u32, KeyError> {
    in_range("run_as_user", value, 1, u32::MAX).map_err(|(key, message)| {
        (
            key,
            format!("{message}: containers may not run as root (uid 0)"),
        )
    })
}

/// A container image reference: `[host[:port]/]path[:tag][@algorithm:digest]`, with the
/// path in lowercase, as `docker` and the kubelet accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image(String);

impl Image {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| Err(format!("image {} {why}", Quoted(text)));
        if text.is_empty() {
            return bad("is empty");
        }
        if text.len() > 512 {
            return bad("is longer than 512 characters");
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (text, None),
        };
        if let Some(digest) = digest {
            let ok = digest.split_once(':').is_some_and(|(algorithm, hex)| {
                !algorithm.is_empty()
                    && algorithm
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
                    && hex.len() >= 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit())
            });
            if !ok {
                return bad("has a digest that is not \"algorithm:hex\" (such as sha256:...)");
            }
        }
        // A tag is the part after the last ":" that comes after the last "/".
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            let ok = tag.len() <= 128
                && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                return bad("has a tag that is not 1-128 letters, digits, \"_\", \".\" and \"-\"");
            }
        }
        let mut components: Vec<&str> = name.split('/').collect();
        let first = components[0];
        let is_host = components.len() > 1
            && (first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()));
        if is_host {
            let (host, port) = first.split_once(':').unwrap_or((first, "1"));
            let host_ok = !host.is_empty()
                && host.split('.').all(|part| {
                    !part.is_empty()
                        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !part.starts_with('-')
                        && !part.ends_with('-')
                });
            if !host_ok || port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
                return bad("has a registry host that is not \"name[:port]\"");
            }
            components.remove(0);
        }
        for component in components {
            let ok = !component.is_empty()
                && component
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && component.starts_with(|c: char| c.is_ascii_alphanumeric())
                && component.ends_with(|c: char| c.is_ascii_alphanumeric());
            if !ok {
                return bad("is not an image reference: each part of its path holds lowercase letters, digits, \".\", \"_\" and \"-\", and starts and ends with a letter or digit");
            }
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for good in [
            "registry.example/myapp:1.2.3",
            "myapp",
            "library/ruby:3.3-slim",
            "localhost:5000/a/b_c.d-e:latest",
            "ghcr.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(Image::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "MyApp",
            "app:",
            "app:-x",
            "a b",
            "app\n",
            "a//b",
            "app@md5",
            "-app",
            "host:x/app",
        ] {
            assert!(Image::parse(bad).is_err(), "{bad:?}");
        }
    }
}
