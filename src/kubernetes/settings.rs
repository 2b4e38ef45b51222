//! What the Kubernetes export is told, and from where: the command line
//! (`procexport kubernetes ...`, parsed by `cli::args` into `Flags`), the v2 Procfile's
//! `image:`, and the config's `kubernetes:` section (`model::kubernetes`), in that order of
//! precedence. Everything is checked here, before rendering.

use crate::error::{Error, Location, Result};
use crate::model::env::EnvKey;
use crate::model::kubernetes::{port, run_as_user, EnvStore, Image, ReleaseAs, Settings};
use crate::model::name::Name;
use crate::procfile::Procfile;
use crate::sanitize::Quoted;

/// The command line's values, as given (the flags of `procexport kubernetes`).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub image: Option<String>,
    pub port: Option<i64>,
    pub listen: Vec<String>,
    pub env_in: Option<EnvStore>,
    pub secret_keys: Vec<String>,
    pub release: Option<ReleaseAs>,
    pub formation: Option<String>,
    pub run_as_user: Option<i64>,
}

/// Everything the render needs besides the job model, resolved and checked.
#[derive(Debug, Clone)]
pub struct KubernetesOptions {
    pub image: Image,
    pub base_port: u16,
    /// The labels that listen; `explicit` when `--listen` named them (an unknown one is an
    /// error), else the config's list or the default `web` (which an app may lack).
    pub listen: Vec<Name>,
    pub listen_explicit: bool,
    pub env_in: EnvStore,
    pub secret_keys: Vec<EnvKey>,
    pub release: ReleaseAs,
    pub run_as_user: Option<u32>,
    /// Replicas per label, from `--formation`.
    pub formation: Vec<(Name, u32)>,
    /// The Procfile's name, for messages.
    pub file: String,
}

impl KubernetesOptions {
    /// Lays the command line over the Procfile's `image:` over the config's section; `file`
    /// is the Procfile's name.
    pub fn resolve(
        flags: &Flags,
        config: &Settings,
        procfile: &Procfile,
        file: &str,
    ) -> Result<Self> {
        let usage = |m: String| Error::Usage(m);
        let image = match (&flags.image, &procfile.image) {
            (Some(image), _) => Image::parse(image).map_err(|m| usage(format!("--image: {m}")))?,
            (None, Some((image, line))) => {
                Image::parse(image).map_err(|m| Error::input(Location::line(file, *line), m))?
            }
            (None, None) => config.image.clone().ok_or_else(|| {
                usage(
                    "no image: give --image, `image:` in the Procfile or `kubernetes: {image: ...}` in the config"
                        .to_owned(),
                )
            })?,
        };
        let base_port = match flags.port {
            Some(p) => port("--port", p).map_err(|(_, m)| usage(m))?,
            None => config.port.unwrap_or(5000),
        };
        let (listen, listen_explicit) = if !flags.listen.is_empty() {
            let labels = flags
                .listen
                .iter()
                .map(|l| Name::parse(l, "--listen label").map_err(usage))
                .collect::<Result<_>>()?;
            (labels, true)
        } else if let Some(labels) = &config.listen {
            // The config's list serves every app: a label some app lacks is no error.
            (labels.clone(), false)
        } else {
            (vec![Name::parse("web", "label").expect("a name")], false)
        };
        let secret_keys = if flags.secret_keys.is_empty() {
            config.secret_keys.clone()
        } else {
            flags
                .secret_keys
                .iter()
                .map(|k| EnvKey::parse(k).map_err(|m| usage(format!("--secret-key: {m}"))))
                .collect::<Result<_>>()?
        };
        let env_in = flags.env_in.or(config.env_in).unwrap_or_default();
        if env_in == EnvStore::Secret && !flags.secret_keys.is_empty() {
            return Err(usage(
                "--secret-key only applies with --env-in configmap: with the default every key is in a Secret"
                    .to_owned(),
            ));
        }
        let run_as_user = match flags.run_as_user {
            Some(uid) => {
                Some(run_as_user(uid).map_err(|(_, m)| usage(format!("--run-as-user: {m}")))?)
            }
            None => config.run_as_user,
        };
        Ok(Self {
            image,
            base_port,
            listen,
            listen_explicit,
            env_in,
            secret_keys,
            release: flags.release.or(config.release).unwrap_or_default(),
            run_as_user,
            formation: parse_formation(flags.formation.as_deref())?,
            file: file.to_owned(),
        })
    }
}

/// `web=3,worker=2`.
fn parse_formation(text: Option<&str>) -> Result<Vec<(Name, u32)>> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let mut formation: Vec<(Name, u32)> = Vec::new();
    for part in text.split(',') {
        let usage = |why: &str| {
            Error::Usage(format!(
                "--formation: {} {why}; write LABEL=N,... such as web=3,worker=2",
                Quoted(part)
            ))
        };
        let (label, count) = part.split_once('=').ok_or_else(|| usage("has no \"=\""))?;
        let label = Name::parse(label.trim(), "label").map_err(|m| usage(&m))?;
        let count = count
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|c| *c <= 1000)
            .ok_or_else(|| usage("does not give a whole number of replicas from 0 to 1000"))?;
        if formation.iter().any(|(l, _)| *l == label) {
            return Err(usage("names a label given before"));
        }
        formation.push((label, count));
    }
    Ok(formation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formation_is_foremans() {
        let got = parse_formation(Some("web=3, worker=0")).unwrap();
        let got: Vec<_> = got.iter().map(|(l, c)| (l.as_str(), *c)).collect();
        assert_eq!(got, [("web", 3), ("worker", 0)]);
        for bad in ["web", "web=x", "we b=2", "web=1,web=2", "web=1001"] {
            assert!(parse_formation(Some(bad)).is_err(), "{bad}");
        }
    }
}
