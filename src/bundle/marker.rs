//! The marker `lbom sign` keeps beside a bundle while it appends a link
//! (docs/bundle-format.md, "Appending a link"): `NAME.lbom.signing`,
//! holding the offset the new link starts at. It is written and synced
//! before the first byte of the link and removed after the link is synced.
//!
//! It tells two damages apart that look the same inside the file: a tail
//! torn by an interrupted `sign` (the marker is there, and names where the
//! tail starts: the next `sign` cuts it off there and nowhere else), and a
//! bundle cut short in a copy (no marker travels with a copy: nothing is
//! cut, and the user is told to copy it again). A complete link is never
//! removed: only bytes from the marker's offset on, which the interrupted
//! append wrote.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The suffix added to the bundle's file name.
pub const MARKER_SUFFIX: &str = ".signing";

/// Largest marker read (its text is one short line).
const MAX_MARKER_BYTES: u64 = 256;

/// The first line of a marker.
const MARKER_HEAD: &str = "lbom sign in progress; link starts at offset ";

/// `NAME.lbom.signing` beside `bundle`.
pub fn marker_path(bundle: &Path) -> PathBuf {
    let mut name: OsString = bundle.file_name().map(OsString::from).unwrap_or_default();
    name.push(MARKER_SUFFIX);
    bundle.with_file_name(name)
}

/// The offset an interrupted append started at, when its marker is there
/// and well-formed. A marker that is not a regular file, too large or not
/// in the form `sign` writes is no marker.
pub fn read_marker(bundle: &Path) -> Option<u64> {
    let path = marker_path(bundle);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.file_type().is_file() || meta.len() > MAX_MARKER_BYTES {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .ok()?
        .take(MAX_MARKER_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    let digits = text.strip_prefix(MARKER_HEAD)?.strip_suffix('\n')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Write the marker for an append starting at `offset`, synced (file and
/// folder) before the caller writes the link.
pub fn write_marker(bundle: &Path, offset: u64) -> io::Result<()> {
    let path = marker_path(bundle);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)?;
    file.write_all(format!("{MARKER_HEAD}{offset}\n").as_bytes())?;
    file.sync_all()?;
    sync_folder(&path)
}

/// Remove the marker once the link is synced; a missing marker is fine.
pub fn remove_marker(bundle: &Path) -> io::Result<()> {
    let path = marker_path(bundle);
    match std::fs::remove_file(&path) {
        Ok(()) => sync_folder(&path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn sync_folder(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip_and_malformed_markers_are_none() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let bundle = dir.path().join("b.lbom");
        assert_eq!(marker_path(&bundle), dir.path().join("b.lbom.signing"));
        assert_eq!(read_marker(&bundle), None);
        write_marker(&bundle, 12_800)?;
        assert_eq!(read_marker(&bundle), Some(12_800));
        remove_marker(&bundle)?;
        remove_marker(&bundle)?;
        assert_eq!(read_marker(&bundle), None);
        for bad in [
            "",
            "12800\n",
            "lbom sign in progress; link starts at offset \n",
            "lbom sign in progress; link starts at offset 12x\n",
            "lbom sign in progress; link starts at offset 1",
            "lbom sign in progress; link starts at offset 99999999999999999999999\n",
        ] {
            std::fs::write(marker_path(&bundle), bad)?;
            assert_eq!(read_marker(&bundle), None, "{bad:?}");
        }
        std::fs::remove_file(marker_path(&bundle))?;
        std::os::unix::fs::symlink("/etc/hostname", marker_path(&bundle))?;
        assert_eq!(read_marker(&bundle), None);
        Ok(())
    }
}
