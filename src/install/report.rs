//! What procexport prints on stdout: for a dry run, the plan (every file to create in full,
//! every change as a diff, what is unchanged, what would be removed, a summary line);
//! otherwise one summary line.

use crate::install::plan::{Existing, Plan};
use crate::model::output::{Group, Kind, Output};
use crate::sanitize::for_terminal;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};

/// What a dry run may show, and what else it announces.
pub struct View<'a> {
    /// The run group's name, for the owner column.
    pub run_group: &'a str,
    /// Installed files the invoking user could not read: never shown or diffed.
    pub hidden: &'a HashSet<String>,
    /// Whether the `hidden` files were compared: then each is said to be unchanged or to
    /// differ, and nothing more (DESIGN 5: a caller allowed to export the app may learn
    /// whether it is unchanged); else each is written without comparing.
    pub compared: bool,
    /// Stale files in directories the invoking user could not list: counted, not named.
    pub hidden_removals: &'a HashSet<String>,
    /// The log directory the export would make, when it is missing.
    pub new_log_dir: Option<&'a str>,
}

/// Prints a dry run of `plan` for `what` (e.g. "upstart export of fb-myapp"): each file to
/// create (in full), to change (a unified diff against the installed one) or unchanged; each
/// to remove; then a summary line. Printed through a buffer: a line per file was a write per
/// line to the terminal.
pub fn dry_run(out: &mut dyn Write, what: &str, plan: &Plan, view: &View) -> io::Result<()> {
    let mut buffered = io::BufWriter::with_capacity(16 << 10, out);
    print_dry_run(&mut buffered, what, plan, view)?;
    buffered.flush()
}

fn print_dry_run(out: &mut dyn Write, what: &str, plan: &Plan, view: &View) -> io::Result<()> {
    writeln!(out, "# dry run of the {what}: nothing is written")?;
    let (mut create, mut change, mut unchanged, mut blind) = (0, 0, 0, 0);
    if let Some(dir) = view.new_log_dir {
        writeln!(
            out,
            "=== make log directory {} (directory, mode 0750, owner the run user)",
            for_terminal(dir)
        )?;
    }
    for output in &plan.writes {
        if view.hidden.contains(&*output.path) && view.compared {
            change += 1;
            print_output(out, "change", output, view.run_group, DIFFERS_UNSEEN)?;
        } else if view.hidden.contains(&*output.path) {
            blind += 1;
            print_output(out, "write", output, view.run_group, NOT_COMPARED)?;
        } else if let Some(before) = plan.before.get(&output.path) {
            change += 1;
            print_change(out, output, before, view.run_group)?;
        } else {
            create += 1;
            print_output(out, "create", output, view.run_group, "")?;
        }
    }
    for output in &plan.unchanged {
        if view.hidden.contains(&*output.path) && !view.compared {
            blind += 1;
            print_output(out, "write", output, view.run_group, NOT_COMPARED)?;
        } else {
            unchanged += 1;
            let unseen = if view.hidden.contains(&*output.path) {
                SAME_UNSEEN
            } else {
                ""
            };
            writeln!(
                out,
                "=== unchanged {} ({}{unseen})",
                for_terminal(&output.path),
                describe(output, view.run_group)
            )?;
        }
    }
    let mut remove = 0;
    for (path, _) in &plan.removals {
        if !view.hidden_removals.contains(path) {
            remove += 1;
            writeln!(out, "=== remove {}", for_terminal(path))?;
        }
    }
    if !view.hidden_removals.is_empty() {
        writeln!(
            out,
            "=== remove {} more, in directories the invoking user cannot list",
            view.hidden_removals.len()
        )?;
    }
    let mut summary = format!(
        "# plan: {create} to create, {change} to change, {unchanged} unchanged, {} to remove",
        remove + view.hidden_removals.len()
    );
    if blind > 0 {
        let _ = write!(summary, ", {blind} to write without comparing");
    }
    writeln!(out, "{summary}")?;
    if !plan.changes_anything() && blind == 0 && view.new_log_dir.is_none() {
        writeln!(out, "# everything is already installed as shown")?;
    }
    Ok(())
}

/// Said of a file a dry run through sudo does not compare.
const NOT_COMPARED: &str = "; not compared: it may hold the config's env values, which a dry \
     run through sudo never confirms to the invoking user";

/// Said of an installed file the invoking user cannot read that the new one would replace.
const DIFFERS_UNSEEN: &str =
    "; differs from the installed file, which the invoking user cannot read: not shown";

/// Said of an installed file the invoking user cannot read that is already as rendered.
const SAME_UNSEEN: &str =
    "; compared with the installed file, which the invoking user cannot read: not shown";

/// A file that exists and will be replaced: what differs, as a unified diff of the contents
/// (when both are text) and the mode and owner when they change.
fn print_change(
    out: &mut dyn Write,
    output: &Output,
    before: &Existing,
    run_group: &str,
) -> io::Result<()> {
    let path = for_terminal(&output.path);
    writeln!(out, "=== change {path} ({})", describe(output, run_group))?;
    match (&output.kind, before) {
        (
            Kind::File { contents, mode, .. },
            Existing::File {
                contents: old,
                mode: m,
                uid,
                gid,
            },
        ) => {
            if m & 0o7777 != *mode {
                writeln!(out, "mode {:04o} -> {mode:04o}", m & 0o7777)?;
            }
            if *uid != 0 {
                writeln!(out, "owner uid {uid} -> root")?;
            }
            let _ = gid;
            let old = String::from_utf8_lossy(old);
            // A dry run holds every file whole (it spools none).
            let contents = contents.kept().unwrap_or_default();
            if old != contents {
                let diff = similar::TextDiff::from_lines(old.as_ref(), contents);
                let text = diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("{path} (installed)"), &format!("{path} (new)"))
                    .to_string();
                write!(out, "{}", for_terminal(&text))?;
                if !text.ends_with('\n') {
                    writeln!(out)?;
                }
            }
            Ok(())
        }
        (_, before) => writeln!(out, "replaces {}", existing_word(before)),
    }
}

fn existing_word(existing: &Existing) -> &'static str {
    match existing {
        Existing::Missing => "nothing",
        Existing::File { .. } => "a file",
        Existing::Dir { .. } => "a directory",
        Existing::Symlink { .. } => "a symlink",
        Existing::Other(_) => "a special file",
    }
}

/// `file, mode 0644, owner root:root` and the like.
fn describe(output: &Output, run_group: &str) -> String {
    match &output.kind {
        Kind::File { mode, group, .. } => format!(
            "file, mode {mode:04o}, owner root:{}",
            group_name(*group, run_group)
        ),
        Kind::Dir { mode, group } => format!(
            "directory, mode {mode:04o}, owner root:{}",
            group_name(*group, run_group)
        ),
        Kind::Symlink { target } => format!("symlink to {}", for_terminal(target)),
    }
}

fn print_output(
    out: &mut dyn Write,
    verb: &str,
    output: &Output,
    run_group: &str,
    note: &str,
) -> io::Result<()> {
    let path = for_terminal(&output.path);
    writeln!(
        out,
        "=== {verb} {path} ({}{note})",
        describe(output, run_group)
    )?;
    if let Some(contents) = match &output.kind {
        Kind::File { contents, .. } => contents.kept(),
        Kind::Dir { .. } | Kind::Symlink { .. } => None,
    } {
        write!(out, "{}", for_terminal(contents))?;
        if !contents.ends_with('\n') {
            writeln!(out)?;
        }
    }
    Ok(())
}

fn group_name(group: Group, run_group: &str) -> &str {
    match group {
        Group::Root => "root",
        Group::Run => run_group,
    }
}

/// The one line a real run prints.
pub fn summary(out: &mut dyn Write, what: &str, plan: &Plan) -> io::Result<()> {
    writeln!(
        out,
        "{what}: {} written, {} unchanged, {} removed",
        plan.writes.len(),
        plan.unchanged.len(),
        plan.removals.len()
    )
}
