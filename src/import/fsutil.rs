//! Small file-system helpers the store builds on. None of them follows a
//! symbolic link: every open uses `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO
//! swapped in for a file cannot hang `audit`), every walk uses
//! `symlink_metadata`.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::inspect::digest::{Hasher, READ_BUFFER_BYTES, Sha256Digest};

/// Mode of a committed file: read-only for everyone.
pub(crate) const FILE_MODE: u32 = 0o444;
/// Mode of a committed folder: no one may add, remove or rename entries.
pub(crate) const DIR_MODE: u32 = 0o555;
/// Mode of a folder while it is written.
const WRITABLE_DIR_MODE: u32 = 0o755;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Whether `rel` is a relative path of plain segments (no empty, `.`, `..`
/// segment, no NUL, no leading `/`). Bundle paths are already canonical
/// (bundle::path); this is the sink's own last line of defence.
pub(crate) fn plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && !rel.contains('\0')
        && rel
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// Create every missing folder of `rel`'s parents below `root` (which must
/// exist), refusing any existing component that is not a real folder.
/// Returns the full path of `rel`.
pub(crate) fn prepare_parents(root: &Path, rel: &str) -> io::Result<PathBuf> {
    if !plain_relative(rel) {
        return Err(invalid(format!(
            "path {rel:?} is not a plain relative path"
        )));
    }
    let mut segments: Vec<&str> = rel.split('/').collect();
    let file = segments.pop().unwrap_or_default();
    let mut dir = root.to_path_buf();
    for segment in segments {
        dir.push(segment);
        match fs::DirBuilder::new().mode(WRITABLE_DIR_MODE).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        // mkdir never follows a final symlink, but an existing entry could
        // be one: only a real folder may hold the next segment.
        if !fs::symlink_metadata(&dir)?.file_type().is_dir() {
            return Err(invalid(format!(
                "{} exists and is not a folder",
                dir.display()
            )));
        }
    }
    Ok(dir.join(file))
}

/// Create a new file for writing; never opens an existing one or follows a
/// symlink (`O_CREAT | O_EXCL | O_NOFOLLOW`).
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Open an existing regular file for reading, never through a symlink and
/// never blocking on a FIFO. Anything else is `InvalidInput`.
pub(crate) fn open_regular(path: &Path) -> io::Result<(File, fs::Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                invalid(format!("{} is a symbolic link", path.display()))
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(invalid(format!("{} is not a regular file", path.display())));
    }
    Ok((file, meta))
}

/// Read a whole regular file of at most `max` bytes.
pub(crate) fn read_small(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > max {
        return Err(invalid(format!(
            "{} is {} bytes, more than {max}",
            path.display(),
            meta.len()
        )));
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(invalid(format!("{} grew while read", path.display())));
    }
    Ok(out)
}

/// Hash a reader to its end: (bytes, SHA-256).
pub(crate) fn hash_reader(mut reader: impl Read) -> io::Result<(u64, Sha256Digest)> {
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok((hasher.bytes(), hasher.finish()))
}

/// Write `bytes` to a new file, make it read-only, fsync it.
pub(crate) fn write_new_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = create_new(path)?;
    file.write_all(bytes)?;
    seal_file(&file)
}

/// Make an open file read-only and flush it to disk.
pub(crate) fn seal_file(file: &File) -> io::Result<()> {
    make_read_only(file)?;
    file.sync_all()
}

/// Make an open file read-only (the fsync is the caller's).
pub(crate) fn make_read_only(file: &File) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(FILE_MODE))
}

/// fsync a folder, so the entries created, renamed or removed in it last.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Seal a staged tree: every sub-folder 0555 and fsynced, bottom-up. The
/// top folder stays writable: Linux needs write permission on a folder to
/// rename it into another parent (its `..` entry changes), so the caller
/// seals it after the rename.
pub(crate) fn seal_subdirs(top: &Path) -> io::Result<()> {
    for entry in fs::read_dir(top)? {
        let entry = entry?;
        let path = entry.path();
        let kind = fs::symlink_metadata(&path)?.file_type();
        if kind.is_dir() {
            seal_subdirs(&path)?;
            fs::set_permissions(&path, Permissions::from_mode(DIR_MODE))?;
            sync_dir(&path)?;
        }
    }
    sync_dir(top)
}

/// Make a folder read-only and fsync it.
pub(crate) fn seal_dir(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, Permissions::from_mode(DIR_MODE))?;
    sync_dir(path)
}

/// Remove a folder tree the store wrote, read-only folders included. Never
/// follows a symlink (it is removed as an entry).
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(m) if !m.file_type().is_dir() => return fs::remove_file(path),
        Ok(_) => {}
    }
    make_writable(path)?;
    fs::remove_dir_all(path)
}

fn make_writable(dir: &Path) -> io::Result<()> {
    fs::set_permissions(dir, Permissions::from_mode(0o700))?;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if fs::symlink_metadata(&path)?.file_type().is_dir() {
            make_writable(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_refuses_escapes() {
        for bad in ["", "/a", "a/../b", "..", "a//b", "a/", "./a", "a\0b"] {
            assert!(!plain_relative(bad), "{bad:?}");
        }
        assert!(plain_relative("a/b.c/d"));
    }

    #[test]
    fn prepare_parents_refuses_a_symlinked_folder() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::os::unix::fs::symlink(outside.path(), root.path().join("a"))?;
        assert!(prepare_parents(root.path(), "a/b").is_err());
        assert_eq!(fs::read_dir(outside.path())?.count(), 0);
        Ok(())
    }
}
