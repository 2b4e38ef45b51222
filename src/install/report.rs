//! What procexport prints on stdout: for a dry run, every file that would be written or
//! removed with its path, mode, owner and full contents; otherwise one summary line.

use crate::install::plan::Plan;
use crate::model::output::{Group, Kind, Output};
use crate::sanitize::for_terminal;
use std::io::{self, Write};

/// Prints a dry run of `plan` for `what` (e.g. "upstart export of fb-myapp").
pub fn dry_run(out: &mut dyn Write, what: &str, plan: &Plan, run_group: &str) -> io::Result<()> {
    writeln!(out, "# dry run of the {what}: nothing is written")?;
    for output in &plan.writes {
        print_output(out, "write", output, run_group)?;
    }
    for output in &plan.unchanged {
        print_output(out, "unchanged", output, run_group)?;
    }
    for (path, _) in &plan.removals {
        writeln!(out, "=== remove {}", for_terminal(path))?;
    }
    if !plan.changes_anything() {
        writeln!(out, "# everything is already installed as shown")?;
    }
    Ok(())
}

fn print_output(
    out: &mut dyn Write,
    verb: &str,
    output: &Output,
    run_group: &str,
) -> io::Result<()> {
    let path = for_terminal(&output.path);
    match &output.kind {
        Kind::File {
            contents,
            mode,
            group,
        } => {
            let group = group_name(*group, run_group);
            writeln!(
                out,
                "=== {verb} {path} (file, mode {mode:04o}, owner root:{group})"
            )?;
            write!(out, "{}", for_terminal(contents))?;
            if !contents.ends_with('\n') {
                writeln!(out)?;
            }
        }
        Kind::Dir { mode, group } => writeln!(
            out,
            "=== {verb} {path} (directory, mode {mode:04o}, owner root:{})",
            group_name(*group, run_group)
        )?,
        Kind::Symlink { target } => {
            writeln!(
                out,
                "=== {verb} {path} (symlink to {})",
                for_terminal(target)
            )?;
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
