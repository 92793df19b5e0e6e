//! The inputs of a pack, listed: folders walked recursively (sorted by
//! name), symlinks followed only to files inside an input, no special
//! files, every name canonical, distinct and fit for every entry name it
//! can get. Each file's identity is kept so that the executor can check
//! that the file it opens is the one listed (docs/bundle-format.md [B18]).

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use super::super::path::BundlePath;
use super::super::{Error, UnsafeInput};
use super::names::check_input_names;
use super::{artifact_entry_name, sbom_entry_name};
use crate::bundle::Encoding;

/// One file to pack.
#[derive(Debug, Clone)]
pub(super) struct Input {
    /// Its path in the bundle.
    pub(super) name: BundlePath,
    /// Where to open it (a symlink's resolved target).
    pub(super) source: PathBuf,
    /// (device, inode) seen when listing, re-checked after opening.
    pub(super) identity: (u64, u64),
}

/// Walk inputs: folders recursively (sorted by name), symlinks only to
/// files inside an input, no special files; names canonical and distinct.
pub(super) fn collect_inputs(inputs: &[PathBuf], max_files: u64) -> Result<Vec<Input>, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let roots: Vec<PathBuf> = inputs
        .iter()
        .map(|p| std::fs::canonicalize(p).map_err(io(p)))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (input, root) in inputs.iter().zip(&roots) {
        let meta = std::fs::metadata(input).map_err(io(input))?;
        if meta.is_dir() {
            walk_dir(input, "", &roots, &mut out, max_files)?;
        } else {
            // A file named on the command line: the user chose it, so a
            // symlink here is followed.
            let name = file_name(input)?;
            add_file(input, root, &name, &mut out, max_files)?;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    check_input_names(&out)?;
    if out.is_empty() {
        return Err(Error::NoInputs);
    }
    Ok(out)
}

fn file_name(path: &Path) -> Result<String, Error> {
    let unsafe_input = |reason| Error::UnsafeInput {
        path: path.to_path_buf(),
        reason,
    };
    let name = path
        .file_name()
        .ok_or_else(|| unsafe_input(UnsafeInput::Special("no file name")))?;
    name.to_str()
        .map(str::to_owned)
        .ok_or_else(|| unsafe_input(UnsafeInput::NotUtf8))
}

fn walk_dir(
    dir: &Path,
    prefix: &str,
    roots: &[PathBuf],
    out: &mut Vec<Input>,
    max_files: u64,
) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut children: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        children.push((file_name(&path)?, path));
    }
    children.sort();
    for (name, path) in children {
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = std::fs::symlink_metadata(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let unsafe_input = |reason| Error::UnsafeInput {
            path: path.clone(),
            reason,
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            walk_dir(&path, &rel, roots, out, max_files)?;
        } else if ft.is_file() {
            add_file(&path, &path, &rel, out, max_files)?;
        } else if ft.is_symlink() {
            let target = std::fs::canonicalize(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            if !roots.iter().any(|r| target.starts_with(r)) {
                return Err(unsafe_input(UnsafeInput::SymlinkEscapes));
            }
            if target.is_dir() {
                return Err(unsafe_input(UnsafeInput::SymlinkToFolder));
            }
            add_file(&path, &target, &rel, out, max_files)?;
        } else {
            return Err(unsafe_input(UnsafeInput::Special(special_kind(&ft))));
        }
    }
    Ok(())
}

fn special_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "unknown type"
    }
}

fn add_file(
    shown: &Path,
    source: &Path,
    rel: &str,
    out: &mut Vec<Input>,
    max_files: u64,
) -> Result<(), Error> {
    let meta = std::fs::metadata(source).map_err(|e| Error::Io {
        path: source.to_path_buf(),
        source: e,
    })?;
    if !meta.is_file() {
        let kind = special_kind(&meta.file_type());
        return Err(Error::UnsafeInput {
            path: shown.to_path_buf(),
            reason: UnsafeInput::Special(kind),
        });
    }
    if out.len() as u64 >= max_files {
        return Err(Error::UnsafeInput {
            path: shown.to_path_buf(),
            reason: UnsafeInput::TooManyFiles(max_files),
        });
    }
    let name = BundlePath::new(rel).map_err(|source| Error::InputName {
        path: shown.to_path_buf(),
        source,
    })?;
    // Every derived entry name must fit the tar profile too.
    for derived in [
        artifact_entry_name(&name, Encoding::Zstd),
        sbom_entry_name(&name),
    ] {
        let derived = derived.map_err(|source| Error::InputName {
            path: shown.to_path_buf(),
            source,
        })?;
        super::super::tar::encode_header(&derived, 0).map_err(|source| Error::Tar {
            path: shown.to_path_buf(),
            source,
        })?;
    }
    out.push(Input {
        name,
        source: source.to_path_buf(),
        identity: (meta.dev(), meta.ino()),
    });
    Ok(())
}
