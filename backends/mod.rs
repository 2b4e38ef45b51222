//! Backends turn the job model into files for one init system. Each renders purely, in
//! memory, through templates compiled into the binary; only `disk` writes. The templates and
//! their escaping filters are set up once here, shared by every backend.

mod escape;
mod runit;
mod systemd;
mod upstart;

pub use runit::Runit;
pub use systemd::Systemd;
pub use upstart::Upstart;

use crate::config::Dirs;
use crate::disk::Disk;
use crate::error::Result;
use crate::job::App;
use crate::output::Output;
use crate::plan::Plan;
use enum_dispatch::enum_dispatch;
use std::sync::OnceLock;
use tera::{Kwargs, State, Tera, Value};

/// Files that an older exporter (the gem) wrote for an app: in `dir`, named `<stem><suffix>`
/// or `<stem>-<anything><suffix>`. `clean` removes them too.
#[derive(Debug, Clone)]
pub struct LegacyFiles {
    pub dir: String,
    pub suffix: &'static str,
}

#[enum_dispatch]
pub trait Backend {
    /// The backend's name, as on the command line and in the state directory.
    fn name(&self) -> &'static str;

    /// Renders every file, directory and link of the app.
    fn render(&self, app: &App, dirs: &Dirs) -> Result<Vec<Output>>;

    /// The directories this backend installs into; a manifest entry outside them is refused.
    fn install_dirs(&self, dirs: &Dirs) -> Vec<String>;

    /// Where files of this app from an older exporter may be.
    fn legacy_files(&self, _dirs: &Dirs) -> Vec<LegacyFiles> {
        Vec::new()
    }

    /// Runs while a plan is carried out, once the app's stale links are removed and before
    /// the files and directories `dirs` in them are: a supervisor that still runs services
    /// from them stops them and lets go, and the state it made in them is removed.
    fn release(&self, _disk: &mut Disk, _dirs: &[&str]) -> Result<()> {
        Ok(())
    }

    /// Runs after a plan was carried out on disk (e.g. `systemctl daemon-reload`). `live` is
    /// true when the files went to the live system rather than under `--root`.
    fn after_apply(&self, _plan: &Plan, _live: bool) -> Result<()> {
        Ok(())
    }
}

/// An escaping function usable as a template filter.
pub type Escape = fn(&str) -> Result<String, String>;

#[enum_dispatch(Backend)]
#[derive(Debug, Clone)]
pub enum BackendKind {
    Upstart,
    Systemd,
    Runit,
}

/// The template engine with every backend's templates and the escaping filters.
pub fn templates() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = Tera::new();
        // Every template is "autoescaped" with a function that fails: a value printed without
        // one of the filters below (which mark their output safe) stops the render.
        tera.autoescape_on(vec![""]);
        tera.set_escape_fn(|_, _| {
            Err(std::io::Error::other(
                "a value was printed without an escaping filter",
            ))
        });
        for (name, escape) in escape::FILTERS {
            register(&mut tera, name, *escape);
        }
        let all = [upstart::TEMPLATES, systemd::TEMPLATES, runit::TEMPLATES].concat();
        tera.add_raw_templates(all)
            .expect("the built-in templates parse");
        tera
    })
}

fn register(tera: &mut Tera, name: &'static str, escape: Escape) {
    tera.register_filter(name, move |value: &Value, _: Kwargs, _: &State| {
        let text = match value.as_str() {
            Some(text) => text.to_owned(),
            None => value.to_string(),
        };
        escape(&text)
            .map(|escaped| Value::safe_string(&escaped))
            .map_err(|message| tera::Error::message(format!("filter {name}: {message}")))
    });
}

/// Renders a template. A value that an escaping filter refuses (one the format cannot carry)
/// is bad input, reported on one line; anything else is a bug in a template.
pub fn render(name: &str, context: &tera::Context) -> Result<String> {
    let rendered = templates().render(name, context).map(|mut text| {
        // tera returns its whole output buffer; a large app keeps thousands of these.
        text.shrink_to_fit();
        text
    });
    rendered.map_err(|e| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            message = format!("{message}: {inner}");
            source = inner.source();
        }
        let format = name.split('/').next().unwrap_or(name);
        match message
            .split_once("filter ")
            .and_then(|(_, rest)| rest.split_once(": "))
        {
            Some((_, refusal)) => {
                let refusal = refusal.lines().next().unwrap_or(refusal);
                crate::error::Error::Format(format!("{format} cannot carry this value: {refusal}"))
            }
            None => crate::error::Error::Unsafe(format!(
                "cannot render {name}: {}",
                message.replace('\n', " ")
            )),
        }
    })
}
