//! The pure part of the pipeline on its own: parse, validate and render a Procfile in memory,
//! with no disk, no lock and no user database. Property tests, fuzz targets and benchmarks
//! drive procexport through this; the binary never uses it.

use crate::backends::{keys, BackendKind};
use crate::error::{Error, Result};
use crate::install::installer::Installer;
use crate::model::account::RunAs;
use crate::model::config::Config;
use crate::model::name::Name;
use crate::model::output::Kind;
use crate::model::text::AbsPath;
use crate::procfile;
use crate::procfile::assemble::{assemble, Options};

/// One rendered output: its live path and, for files, contents and mode; for links the
/// target; directories have neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub path: String,
    pub contents: Option<String>,
    pub mode: Option<u32>,
    pub link_target: Option<String>,
}

/// The directories the default config installs into (every backend's), for checks that
/// every path stays in one of them.
pub fn default_dirs() -> Vec<String> {
    let config = preview_config(None).expect("the built-in defaults are valid");
    let mut dirs: Vec<String> = BackendKind::all(&config)
        .expect("the built-in defaults are valid")
        .iter()
        .flat_map(Installer::install_dirs)
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

fn preview_config(config: Option<&str>) -> Result<Config> {
    Config::parse_with("config", config, &keys(), RunAs::unresolved)
}

/// Renders the Procfile `bytes` for app `app` through `backend` (`upstart`, `systemd`,
/// `runit`), with the built-in defaults overlaid by `config` (YAML) and run user `pxrun`.
pub fn render(
    bytes: &[u8],
    app: &str,
    backend: &str,
    config: Option<&str>,
) -> Result<Vec<Rendered>> {
    let config = preview_config(Some(
        config.unwrap_or("run_user: pxrun\nrun_group: pxrun\n"),
    ))?;
    let backend = BackendKind::build(backend, &config)
        .ok_or_else(|| Error::Usage(format!("no backend {backend}")))??;
    let name = Name::parse(app, "app name").map_err(Error::Usage)?;
    let parsed = procfile::parse("Procfile", bytes)?;
    let dir = AbsPath::parse("/srv/app", "dir").map_err(Error::Usage)?;
    let app = assemble(
        &config,
        &parsed,
        &name,
        "Procfile",
        &dir,
        &Options::default(),
    )?;
    let outputs = crate::backends::render_all(&backend, &app)?;
    Ok(outputs
        .into_iter()
        .map(|o| match o.kind {
            Kind::File { contents, mode, .. } => Rendered {
                path: o.path.to_string(),
                // `render_all` spools nothing: every file's text is here.
                contents: Some(contents.kept().unwrap_or_default().to_owned()),
                mode: Some(mode),
                link_target: None,
            },
            Kind::Dir { mode, .. } => Rendered {
                path: o.path.to_string(),
                contents: None,
                mode: Some(mode),
                link_target: None,
            },
            Kind::Symlink { target } => Rendered {
                path: o.path.to_string(),
                contents: None,
                mode: None,
                link_target: Some(target),
            },
        })
        .collect())
}
