//! What a progress bar needs to know, for commands whose reading happens
//! deep inside the library (verify, import, audit): how many bytes this
//! process has read so far, and how many it will read.
//!
//! The count is the kernel's (`rchar` in `/proc/self/io`: every byte any
//! thread of this process read with `read`/`pread`; lbom maps no file), so
//! the bar follows the real reading without a callback threaded through
//! the verifier. Nothing here decides anything: a wrong estimate only
//! moves a bar.

use std::path::{Path, PathBuf};

use crate::import::Store;

/// Bytes this process has read so far (`rchar`), or `None` where the
/// kernel does not say (not Linux, no `/proc`).
pub fn process_bytes_read() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/io").ok()?;
    parse_rchar(&text)
}

fn parse_rchar(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The bytes of the regular files at or below `paths`, symbolic links not
/// followed below the named paths (what `pack` will read, near enough).
pub fn tree_bytes(paths: &[PathBuf]) -> u64 {
    let mut total = 0u64;
    let mut stack: Vec<(PathBuf, bool)> = paths.iter().map(|p| (p.clone(), true)).collect();
    while let Some((path, named)) = stack.pop() {
        let meta = if named {
            std::fs::metadata(&path)
        } else {
            std::fs::symlink_metadata(&path)
        };
        let Ok(meta) = meta else { continue };
        if meta.is_file() {
            total = total.saturating_add(meta.len());
        } else if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&path)
        {
            stack.extend(entries.flatten().map(|e| (e.path(), false)));
        }
    }
    total
}

/// The bytes `audit` re-hashes: the files of each audited channel's
/// current version, or of every kept version with `all`.
pub fn audit_bytes(store: &Store, channel: Option<&str>, all: bool) -> u64 {
    let channels = match channel {
        Some(c) => vec![c.to_owned()],
        None => store.channels().unwrap_or_default(),
    };
    let mut folders = Vec::new();
    for c in &channels {
        let mut seqs: Vec<u64> = if all {
            store
                .history(c)
                .unwrap_or_default()
                .iter()
                .map(|h| h.sequence)
                .collect()
        } else {
            store.current(c).ok().flatten().into_iter().collect()
        };
        seqs.sort_unstable();
        seqs.dedup();
        folders.extend(seqs.iter().filter_map(|s| store.version_dir(c, *s).ok()));
    }
    tree_bytes(&folders)
}

/// The size of one file, 0 when it cannot be read.
pub fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rchar_is_read_from_the_kernels_format_and_grows_with_reading() -> std::io::Result<()> {
        assert_eq!(parse_rchar("rchar: 4096\nwchar: 1\n"), Some(4096));
        assert_eq!(parse_rchar("wchar: 1\n"), None);
        assert_eq!(parse_rchar("rchar: x\n"), None);
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("f");
        std::fs::write(&file, vec![7u8; 1 << 20])?;
        if let Some(before) = process_bytes_read() {
            let _ = std::fs::read(&file)?;
            let after = process_bytes_read().unwrap_or(0);
            assert!(after >= before + (1 << 20), "{before} -> {after}");
        }
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("sub/g"), b"abc")?;
        std::os::unix::fs::symlink(&file, dir.path().join("sub/link"))?;
        assert_eq!(tree_bytes(&[dir.path().to_path_buf()]), (1 << 20) + 3);
        assert_eq!(tree_bytes(&[dir.path().join("sub/link")]), 1 << 20);
        Ok(())
    }
}
