//! The template engine every backend renders through, set up once: the templates compiled
//! into the binary and the escaping filters. Every template is "autoescaped" with a function
//! that fails, so a value printed without one of the filters (which mark their output safe)
//! stops the render instead of pasting raw text.

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::sync::{Mutex, PoisonError};
use tera::{Kwargs, State, Tera, Value};

/// An escaping function usable as a template filter: the escaped text, or why the value
/// cannot be carried by the format.
pub type Escape = fn(&str) -> Result<String, String>;

/// A template: its name (`<backend>/<file>`) and its text.
pub type Template = (&'static str, &'static str);

thread_local! {
    /// The refusal of the last filter that refused a value on this thread, taken by `render`:
    /// tera only carries a message, and the refusal must come out typed.
    static REFUSAL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Builds the engine once from every backend's templates and filters.
pub fn engine(templates: &[&[Template]], filters: &[&[(&'static str, Escape)]]) -> Tera {
    let mut tera = Tera::new();
    tera.autoescape_on(vec![""]);
    tera.set_escape_fn(|_, _| {
        Err(std::io::Error::other(
            "a value was printed without an escaping filter",
        ))
    });
    for (name, escape) in filters.iter().copied().flatten() {
        register(&mut tera, name, *escape);
    }
    tera.add_raw_templates(templates.iter().copied().flatten().copied())
        .expect("the built-in templates parse");
    tera
}

fn register(tera: &mut Tera, name: &'static str, escape: Escape) {
    tera.register_filter(name, move |value: &Value, _: Kwargs, _: &State| {
        let text = match value.as_str() {
            Some(text) => text.to_owned(),
            None => value.to_string(),
        };
        escape(&text)
            .map(|escaped| Value::safe_string(&escaped))
            .map_err(|refusal| {
                REFUSAL.with(|slot| *slot.borrow_mut() = Some(refusal.clone()));
                tera::Error::message(format!("filter {name}: {refusal}"))
            })
    });
}

/// Renders template `name` of `tera`. A value that an escaping filter refuses (one the format
/// cannot carry) is bad input, reported on one line; anything else is a bug in a template.
pub fn render(tera: &Tera, name: &str, context: &tera::Context) -> Result<String> {
    REFUSAL.with(|slot| slot.borrow_mut().take());
    let rendered = tera.render(name, context).map(|mut text| {
        // tera returns its whole output buffer; a large app keeps thousands of these.
        text.shrink_to_fit();
        text
    });
    rendered.map_err(|e| {
        let format = name.split('/').next().unwrap_or(name);
        match REFUSAL.with(|slot| slot.borrow_mut().take()) {
            Some(refusal) => {
                let refusal = refusal.lines().next().unwrap_or(&refusal).to_owned();
                Error::Format(format!("{format} cannot carry this value: {refusal}"))
            }
            None => Error::Failed(format!(
                "cannot render {name}: {}",
                chain(&e).replace('\n', " ")
            )),
        }
    })
}

/// The error and its sources, as one message.
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        message = format!("{message}: {inner}");
        source = inner.source();
    }
    message
}

/// Renders template `name` through the one engine (`build` makes it, with the filters), which
/// compiles each template the first time it is rendered, from `source`: an export renders a
/// few templates of one backend, and compiling every backend's was half the CPU time of a
/// dry run of 5 jobs.
pub fn render_compiled(
    build: fn() -> Tera,
    source: fn(&str) -> Option<&'static str>,
    name: &str,
    context: &tera::Context,
) -> Result<String> {
    static TERA: Mutex<Option<Tera>> = Mutex::new(None);
    let mut engine = TERA.lock().unwrap_or_else(PoisonError::into_inner);
    let tera = engine.get_or_insert_with(build);
    if !tera.get_template_names().any(|known| known == name) {
        let text = source(name).ok_or_else(|| Error::Failed(format!("no template {name}")))?;
        tera.add_raw_template(name, text)
            .map_err(|e| Error::Failed(format!("cannot compile template {name}: {}", chain(&e))))?;
    }
    render(tera, name, context)
}
