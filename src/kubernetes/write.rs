//! Where the manifests go: stdout, or one file per object in `--output DIR`.
//!
//! The directory and its files are made by `install::disk` (the only code that touches the
//! filesystem; `output.rs` says what DIR must be). Secrets are 0600 and a new DIR 0700, since
//! they hold env values.

use crate::error::{Error, Result};
use crate::install::disk::{Disk, NewFile};
use crate::sanitize::for_terminal;
use std::io::Write;

/// One object as text, with the file it goes to under `--output`.
#[derive(Debug)]
pub struct Document {
    pub file_name: String,
    pub mode: u32,
    pub text: String,
}

const DIR_MODE: u32 = 0o700;

/// Prints every document, each introduced by `---`. A dry run shows the same, marked.
pub fn to_stdout(
    out: &mut dyn Write,
    documents: &[Document],
    dry_run: bool,
    what: &str,
) -> Result<()> {
    let io = |e| Error::io("writing to stdout", e);
    if dry_run {
        writeln!(
            out,
            "# dry run of the {what}: nothing is written; without --dry-run this goes to stdout"
        )
        .map_err(io)?;
        for document in documents {
            writeln!(out, "=== write stdout: {}", document.file_name).map_err(io)?;
            write!(out, "{}", for_terminal(&document.text)).map_err(io)?;
        }
        return Ok(());
    }
    let texts: Vec<String> = documents.iter().map(|d| d.text.clone()).collect();
    out.write_all(super::yaml::stream(&texts).as_bytes())
        .map_err(io)?;
    out.flush().map_err(io)
}

/// Writes one file per document into `dir` (made when missing), or in a dry run shows what
/// it would write.
pub fn to_dir(
    out: &mut dyn Write,
    disk: &Disk,
    dir: &str,
    documents: &[Document],
    dry_run: bool,
    what: &str,
) -> Result<()> {
    let print = |e| Error::io("writing to stdout", e);
    if dry_run {
        let exists = disk.check_output_dir(dir)?;
        writeln!(out, "# dry run of the {what}: nothing is written").map_err(print)?;
        if !exists {
            writeln!(
                out,
                "=== write {} (directory, mode {DIR_MODE:04o})",
                for_terminal(dir)
            )
            .map_err(print)?;
        }
        for document in documents {
            writeln!(
                out,
                "=== write {}/{} (file, mode {:04o})",
                for_terminal(dir.trim_end_matches('/')),
                document.file_name,
                document.mode
            )
            .map_err(print)?;
            write!(out, "{}", for_terminal(&document.text)).map_err(print)?;
        }
        return Ok(());
    }
    let files: Vec<NewFile> = documents
        .iter()
        .map(|d| NewFile {
            name: &d.file_name,
            mode: d.mode,
            contents: d.text.as_bytes(),
        })
        .collect();
    disk.write_output_dir(dir, DIR_MODE, &files)?;
    writeln!(
        out,
        "{what}: {} objects written to {}",
        documents.len(),
        for_terminal(dir)
    )
    .map_err(print)
}
