//! `procexport man`: the manual pages. procexport(1) is rendered from the clap definition, so
//! the page and `--help` never disagree; every subcommand gets its own synopsis and options.
//! procexport.yaml(5), the config file's page, is written by hand in `docs/` (a test keeps it
//! listing every key `config.rs` accepts) and compiled in, so `cargo install` users have it too.
//!
//! It reads nothing and needs no rights: through sudo it only prints.

use crate::error::{Error, Result};
use clap::{Args, ValueEnum};
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;
use std::io::Write;

/// procexport.yaml(5), as shipped.
pub const CONFIG_PAGE: &str = include_str!("../../docs/procexport.yaml.5");

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Which page to print.
    #[arg(value_enum, default_value_t = Page::Procexport, value_name = "PAGE")]
    pub page: Page,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Page {
    /// procexport(1), the command.
    #[value(name = "procexport")]
    Procexport,
    /// procexport.yaml(5), the config file.
    #[value(name = "procexport.yaml")]
    Config,
}

/// Writes the page `args.page` asks for, as roff, to `out`; `cli` is the command line the
/// caller defines (so this leaf never imports the definition that names it).
pub fn print(args: &ManArgs, cli: clap::Command, out: &mut dyn Write) -> Result<()> {
    let page = match args.page {
        Page::Procexport => command_page(cli),
        Page::Config => CONFIG_PAGE.as_bytes().to_vec(),
    };
    out.write_all(&page)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("writing the manual page", e))
}

/// procexport(1).
pub fn command_page(cli: clap::Command) -> Vec<u8> {
    // `procexport help` is `--help` again: the page has no use for it.
    let mut cmd = cli.disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone()).manual("procexport manual");
    let mut page = Vec::new();
    man.render_title(&mut page)
        .and_then(|()| man.render_name_section(&mut page))
        .and_then(|()| man.render_synopsis_section(&mut page))
        .and_then(|()| man.render_description_section(&mut page))
        .and_then(|()| man.render_options_section(&mut page))
        .expect("writing to memory");
    page.extend_from_slice(&subcommand_sections(&cmd));
    page.extend_from_slice(fixed_sections().render().as_bytes());
    page.extend_from_slice(examples(&cmd).render().as_bytes());
    man.render_version_section(&mut page)
        .expect("writing to memory");
    page
}

/// One `.SS` per subcommand: its synopsis, what it does, and its own options.
fn subcommand_sections(cmd: &clap::Command) -> Vec<u8> {
    let mut text = Roff::new()
        .control("SH", ["COMMANDS"])
        .render()
        .into_bytes();
    let globals = cmd
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .map(|arg| arg.get_id().clone())
        .collect::<Vec<_>>();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // The global flags are described once, under OPTIONS.
        let sub = globals
            .iter()
            .filter(|id| sub.get_arguments().any(|arg| arg.get_id() == *id))
            .fold(sub.clone(), |sub, id| sub.mut_arg(id, |arg| arg.hide(true)));
        let sub_man = Man::new(sub.clone());
        let mut roff = Roff::new();
        roff.control("SS", [sub.get_name()]);
        text.extend_from_slice(roff.render().as_bytes());
        let mut body = Vec::new();
        sub_man
            .render_synopsis_section(&mut body)
            .and_then(|()| sub_man.render_description_section(&mut body))
            .and_then(|()| sub_man.render_options_section(&mut body))
            .expect("writing to memory");
        // The sections clap_mangen heads with `.SH` are parts of this subsection here.
        let body = String::from_utf8(body).expect("roff is UTF-8");
        for line in body.lines() {
            let line = if line.starts_with(".SH ") {
                ".PP"
            } else {
                line
            };
            text.extend_from_slice(line.as_bytes());
            text.push(b'\n');
        }
    }
    text
}

/// The examples `--help` ends with, one a line as they are typed.
fn examples(cmd: &clap::Command) -> Roff {
    let text = cmd
        .get_after_help()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES"]).control("nf", []);
    for line in text.lines().filter(|line| line.starts_with(' ')) {
        roff.text([roman(line.trim())]);
    }
    roff.control("fi", []);
    roff
}

/// What `--help` has no room for: exit status, files, the sudo boundary, related pages.
fn fixed_sections() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"])
        .control("TP", [])
        .text([bold("0")])
        .text([roman("Success.")])
        .control("TP", [])
        .text([bold("2")])
        .text([roman(
            "Bad input or usage: the message names the file, line and column.",
        )])
        .control("TP", [])
        .text([bold("1")])
        .text([roman("Anything else: an unsafe target, an I/O error.")])
        .control("TP", [])
        .text([bold("3")])
        .text([roman(
            "With --detailed-exitcode: the run (or dry run) changed, or would change, \
             something.",
        )])
        .control("TP", [])
        .text([bold("130, 143")])
        .text([roman(
            "Stopped by SIGINT (130) or SIGTERM (143) during an export or clean. A change \
             that had not reached its first rename was rolled back (its temp files removed, \
             the installed files and manifest as they were); one that had was finished \
             first. A clean of several backends stops between two of them.",
        )])
        .control("TP", [])
        .text([bold("141")])
        .text([roman(
            "Standard output was closed (its reader went away), reported quietly once the \
             command had done all of its work: a closed stdout never stops a change.",
        )]);
    roff.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/etc/procexport.yaml",
            "The config file, see procexport.yaml(5). When it is absent, the gem's \
             /etc/upstart-exporter.yaml is read (run as upstart-export, that file first); when \
             neither is there, the built-in defaults apply. Who may do what (apps, \
             allow_unlisted_apps, state_dir and the limits) comes from /etc/procexport.yaml \
             only, whatever name procexport is run by.",
        ),
        (
            "/var/lib/procexport",
            "Manifests (<backend>/<prefix><app>.manifest) and locks (state_dir).",
        ),
        (
            "/usr/share/doc/procexport/examples/",
            "A commented example config and a sudoers example, in the Debian package.",
        ),
    ] {
        roff.control("TP", [])
            .text([bold(path)])
            .text([roman(what)]);
    }
    roff.control("SH", ["SECURITY"]).text([roman(
        "procexport is made to be run through sudo by a deploy user who is not trusted with \
         root. Through sudo it refuses --root and --config (and foreman's export location, unless \
         it is a directory the config already names), reads the Procfile with the invoking \
         user's rights, reads no environment variable but SUDO_UID and SUDO_GID, and writes \
         only the app's own files into root-owned directories, each atomically and never \
         through a symlink. Every job runs as the config's run user, never root. \
         The man and completions commands read nothing and only print.",
    )]);
    roff.control("SH", ["SEE ALSO"]).text([roman(
        "procexport.yaml(5), sudoers(5), init(5), systemd.service(5), runsv(8), chpst(8)",
    )]);
    roff
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Cli;
    use clap::CommandFactory;

    fn page() -> String {
        String::from_utf8(command_page(Cli::command())).unwrap()
    }

    #[test]
    fn command_page_is_section_1_with_every_subcommand_and_its_flags() {
        let page = page();
        assert!(page.contains("\n.TH procexport 1 "), "{}", &page[..200]);
        for sub in ["upstart", "systemd", "runit", "clean", "man", "completions"] {
            assert!(
                page.contains(&format!(".SS {sub}\n")),
                "no subsection {sub}"
            );
        }
        // Flags of subcommands, not only the global ones, are documented.
        for flag in ["no\\-reload", "backend", "dry\\-run", "procfile"] {
            assert!(page.contains(flag), "no {flag} in the page");
        }
        assert!(page.contains(".SH \"EXIT STATUS\"") && page.contains(".SH FILES"));
        for status in ["3", "130, 143", "141"] {
            assert!(
                page.contains(&format!(".TP\n\\fB{status}\\fR\n")),
                "exit status {status} is not in the page"
            );
        }
        assert!(
            page.contains(".SH EXAMPLES\n.nf\nsudo procexport upstart \\-p /srv/myapp/Procfile")
        );
        assert!(
            !page.contains(".SH OPTIONS\n.SS"),
            "subsections carry no .SH of their own"
        );
        assert!(page.contains(env!("PROCEXPORT_VERSION")));
    }

    #[test]
    fn config_page_documents_every_key_the_config_accepts() {
        let keys = crate::model::config::all_keys(&crate::backends::keys());
        assert!(keys.len() > 10, "{keys:?}");
        assert!(CONFIG_PAGE.starts_with(".TH PROCEXPORT.YAML 5"));
        for key in keys {
            assert!(
                CONFIG_PAGE.contains(&format!(".B {key}\n")),
                "procexport.yaml(5) does not document {key}"
            );
        }
    }
}
