//! What a backend renders: files, directories and links with their real paths (as on the
//! live system, before any `--root`), contents, modes and owners. Pure data: nothing here
//! touches the disk.

use crate::model::contents::Contents;
use serde::Serialize;
use std::sync::Arc;

/// Who owns a file: always root; the group is root, or the run group for files the job must
/// read but other users must not (they hold env values, which are often secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Group {
    Root,
    Run,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File {
        contents: Contents,
        mode: u32,
        group: Group,
    },
    /// A directory that belongs to the app (removed by `clean` once empty). Owned by root;
    /// the group is the run group for a directory only the job may read (runit's `env/`).
    Dir {
        mode: u32,
        group: Group,
    },
    Symlink {
        target: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Absolute path on the live system. Shared with the manifest's entry for it (a large
    /// app has tens of thousands of paths; each is held once).
    pub path: Arc<str>,
    pub kind: Kind,
}

impl Output {
    pub fn file(path: String, contents: String, mode: u32, group: Group) -> Self {
        Self {
            path: path.into(),
            kind: Kind::File {
                contents: Contents::Kept(contents),
                mode,
                group,
            },
        }
    }

    pub fn dir(path: String, mode: u32) -> Self {
        Self::dir_with_group(path, mode, Group::Root)
    }

    pub fn dir_with_group(path: String, mode: u32, group: Group) -> Self {
        Self {
            path: path.into(),
            kind: Kind::Dir { mode, group },
        }
    }

    pub fn symlink(path: String, target: String) -> Self {
        Self {
            path: path.into(),
            kind: Kind::Symlink { target },
        }
    }
}

/// Splits an absolute path into its directory and last component.
pub fn split_path(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(at) => (&path[..at], &path[at + 1..]),
        None => ("/", path),
    }
}
