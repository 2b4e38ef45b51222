//! The template engine every backend renders through, set up once: the templates compiled
//! into the binary and the escaping filters. Every template is "autoescaped" with a function
//! that fails, so a value printed without one of the filters (which mark their output safe)
//! stops the render instead of pasting raw text.

use crate::error::{Error, Result};
use std::sync::{Mutex, PoisonError};
use tera::{ErrorKind, Kwargs, State, Tera, Value};

/// An escaping function usable as a template filter: the escaped text, or why the value
/// cannot be carried by the format.
pub type Escape = fn(&str) -> Result<String, String>;

/// A template: its name (`<backend>/<file>`) and its text.
pub type Template = (&'static str, &'static str);

/// Opens the message of a filter's refusal. tera keeps only the text of a filter's error
/// (its source is dropped when the render error is made), so the refusal travels in that
/// text behind this mark, which no tera message starts with, and `render` reads it back.
const REFUSAL: &str = "\u{0}refused by an escaping filter\u{0}";

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
            .map_err(|refusal| tera::Error::message(format!("{REFUSAL}{refusal}")))
    });
}

/// Renders template `name` (`<backend>/<file>`) of `tera`. A value that an escaping filter
/// refuses (one the format cannot carry) is bad input, reported on one line; anything else
/// is a bug in a template.
pub fn render(tera: &Tera, name: &'static str, context: &tera::Context) -> Result<String> {
    let rendered = tera.render(name, context).map(|mut text| {
        // tera returns its whole output buffer; a large app keeps thousands of these.
        text.shrink_to_fit();
        text
    });
    rendered.map_err(|e| match refusal(&e) {
        Some(refusal) => {
            let backend = name.split('/').next().unwrap_or(name);
            let refusal = refusal.lines().next().unwrap_or(refusal);
            Error::unsupported(backend, "this value", refusal)
        }
        None => Error::failed(format!(
            "cannot render {name}: {}",
            chain(&e).replace('\n', " ")
        )),
    })
}

/// The refusal an escaping filter made, when that is what stopped the render.
fn refusal(error: &tera::Error) -> Option<&str> {
    let ErrorKind::RenderingError(report) = error.kind() else {
        return None;
    };
    report.message().strip_prefix(REFUSAL)
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
    name: &'static str,
    context: &tera::Context,
) -> Result<String> {
    static TERA: Mutex<Option<Tera>> = Mutex::new(None);
    let mut engine = TERA.lock().unwrap_or_else(PoisonError::into_inner);
    let tera = engine.get_or_insert_with(build);
    if !tera.get_template_names().any(|known| known == name) {
        let text = source(name).ok_or_else(|| Error::failed(format!("no template {name}")))?;
        tera.add_raw_template(name, text)
            .map_err(|e| Error::failed(format!("cannot compile template {name}: {}", chain(&e))))?;
    }
    render(tera, name, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_tabs(text: &str) -> Result<String, String> {
        if text.contains('\t') {
            Err("a tab cannot be written here\nsecond line".to_owned())
        } else {
            Ok(text.to_owned())
        }
    }

    fn engine_of(templates: &[Template]) -> Tera {
        engine(&[templates], &[&[("word", no_tabs as Escape)]])
    }

    fn render_value(tera: &Tera, name: &'static str, value: &str) -> Result<String> {
        let mut context = tera::Context::new();
        context.insert("value", value);
        render(tera, name, &context)
    }

    #[test]
    fn a_filter_refusal_comes_out_typed_with_its_backend() {
        let tera = engine_of(&[("demo/file", "x={{ value | word }}\n")]);
        assert_eq!(render_value(&tera, "demo/file", "ok").unwrap(), "x=ok\n");
        match render_value(&tera, "demo/file", "a\tb") {
            Err(Error::Unsupported {
                backend, key, why, ..
            }) => {
                assert_eq!((backend, key.as_str()), ("demo", "this value"));
                assert_eq!(why, "a tab cannot be written here");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_value_printed_without_a_filter_is_a_template_bug_even_if_it_looks_like_a_refusal() {
        let tera = engine_of(&[("demo/raw", "x={{ value }}\n")]);
        for value in ["plain", REFUSAL, "\u{0}refused"] {
            match render_value(&tera, "demo/raw", value) {
                Err(Error::Failed { message, .. }) => {
                    assert!(message.starts_with("cannot render demo/raw: "), "{message}");
                }
                other => panic!("{value:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn refusals_on_threads_rendering_at_once_reach_their_own_render() {
        let tera = engine_of(&[("demo/file", "x={{ value | word }}\n")]);
        std::thread::scope(|scope| {
            let refused = scope.spawn(|| {
                (0..200).all(|_| {
                    matches!(
                        render_value(&tera, "demo/file", "\t"),
                        Err(Error::Unsupported { .. })
                    )
                })
            });
            let fine =
                scope.spawn(|| (0..200).all(|_| render_value(&tera, "demo/file", "y").is_ok()));
            assert!(refused.join().unwrap_or(false));
            assert!(fine.join().unwrap_or(false));
        });
    }
}
