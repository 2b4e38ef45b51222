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
        let escaped = match value.as_str() {
            Some(text) => escape(text),
            None => escape(&value.to_string()),
        };
        escaped
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
    rendered.map_err(|e| render_error(name, &e))
}

/// Renders template `name` of `tera` at the end of `into`, as `render` would return it: how a
/// file with a section per job is built in one buffer, a section at a time, with no context
/// or rendered copy holding every job. On an error, `into` may hold part of the section.
pub fn append(
    tera: &Tera,
    name: &'static str,
    context: &tera::Context,
    into: &mut Vec<u8>,
) -> Result<()> {
    tera.render_to(name, context, into)
        .map_err(|e| render_error(name, &e))
}

/// A filter's refusal as bad input, anything else as a bug in template `name`.
fn render_error(name: &'static str, e: &tera::Error) -> Error {
    match refusal(e) {
        Some(refusal) => {
            let backend = name.split('/').next().unwrap_or(name);
            let refusal = refusal.lines().next().unwrap_or(refusal);
            Error::unsupported(backend, "this value", refusal)
        }
        None => Error::failed(format!(
            "cannot render {name}: {}",
            chain(e).replace('\n', " ")
        )),
    }
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
    with_compiled(build, source, name, |tera| render(tera, name, context))
}

/// `append` through the one engine, as `render_compiled` renders.
pub fn append_compiled(
    build: fn() -> Tera,
    source: fn(&str) -> Option<&'static str>,
    name: &'static str,
    context: &tera::Context,
    into: &mut Vec<u8>,
) -> Result<()> {
    with_compiled(build, source, name, |tera| {
        append(tera, name, context, into)
    })
}

/// Runs `use_it` with the one engine once template `name` is compiled in it.
fn with_compiled<T>(
    build: fn() -> Tera,
    source: fn(&str) -> Option<&'static str>,
    name: &'static str,
    use_it: impl FnOnce(&Tera) -> Result<T>,
) -> Result<T> {
    static TERA: Mutex<Option<Tera>> = Mutex::new(None);
    let mut engine = TERA.lock().unwrap_or_else(PoisonError::into_inner);
    let tera = engine.get_or_insert_with(build);
    if !tera.get_template_names().any(|known| known == name) {
        let text = source(name).ok_or_else(|| Error::failed(format!("no template {name}")))?;
        tera.add_raw_template(name, text)
            .map_err(|e| Error::failed(format!("cannot compile template {name}: {}", chain(&e))))?;
    }
    use_it(tera)
}

/// A file with a section per job or process type (sysv's init script, supervisord's app
/// config), rendered into one buffer a piece at a time, each from a context holding the app's
/// header and one job or type: a
/// context of every job, and a whole-file render beside its copy, were most of the memory a
/// 5,000-job export of these backends used. Room for the sections still to come is reserved
/// from the longest so far (and an eighth more), so the buffer is rarely moved; what is
/// reserved but never written is given back by `finish`.
pub struct Sections {
    bytes: Vec<u8>,
    /// The sections not yet rendered.
    left: usize,
    /// The longest section so far, in bytes.
    longest: usize,
}

impl Sections {
    /// A file that will hold `sections` job sections, among its fixed pieces.
    pub fn new(sections: usize) -> Self {
        Self {
            bytes: Vec::new(),
            left: sections,
            longest: 0,
        }
    }

    /// Appends template `name` rendered with `context`: a fixed piece (a header, the text
    /// between two lists of jobs).
    pub fn piece(&mut self, name: &'static str, context: &tera::Context) -> Result<()> {
        super::append(name, context, &mut self.bytes)
    }

    /// Appends template `name` rendered with `context`: one job's section.
    pub fn section(&mut self, name: &'static str, context: &tera::Context) -> Result<()> {
        self.section_by(|into| super::append(name, context, into))
    }

    /// Appends the section `append` writes at the end of the buffer.
    fn section_by(&mut self, append: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
        if self.bytes.capacity() - self.bytes.len() < self.longest {
            let rest = self.longest.saturating_mul(self.left);
            self.bytes.reserve(rest.saturating_add(rest / 8));
        }
        let start = self.bytes.len();
        append(&mut self.bytes)?;
        self.longest = self.longest.max(self.bytes.len() - start);
        self.left = self.left.saturating_sub(1);
        Ok(())
    }

    /// The whole file.
    pub fn finish(mut self) -> Result<String> {
        self.bytes.shrink_to_fit();
        String::from_utf8(self.bytes)
            .map_err(|e| Error::failed(format!("a template rendered text that is not UTF-8: {e}")))
    }
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
    fn sections_of_any_lengths_make_the_whole_text_and_keep_no_spare_room() {
        let tera = engine_of(&[("demo/line", "{{ value | word }}\n")]);
        // Lines that grow past every reservation made from the longest so far.
        let values: Vec<String> = (0..200).map(|i| "x".repeat(i * i % 997)).collect();
        let mut sections = Sections::new(values.len());
        let mut whole = String::new();
        for value in &values {
            let mut context = tera::Context::new();
            context.insert("value", value);
            sections
                .section_by(|into| append(&tera, "demo/line", &context, into))
                .unwrap();
            whole.push_str(&render(&tera, "demo/line", &context).unwrap());
        }
        let text = sections.finish().unwrap();
        assert_eq!(text, whole);
        assert_eq!(text.capacity(), text.len());
    }

    #[test]
    fn a_refusal_in_a_section_comes_out_typed() {
        let tera = engine_of(&[("demo/line", "{{ value | word }}\n")]);
        let mut context = tera::Context::new();
        context.insert("value", "a\tb");
        match Sections::new(1).section_by(|into| append(&tera, "demo/line", &context, into)) {
            Err(Error::Unsupported { backend, why, .. }) => {
                assert_eq!(
                    (backend, why.as_str()),
                    ("demo", "a tab cannot be written here")
                );
            }
            other => panic!("{other:?}"),
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
