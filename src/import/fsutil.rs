//! Small file-system helpers the store builds on, all through folder
//! handles ([`super::handle`]): none of them follows a symbolic link.

use std::fs::{File, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt as _;

use super::error::StoreError;
use super::handle::{DirHandle, EntryType, MAX_TREE_DEPTH};

/// Mode of a committed file: read-only for everyone.
pub(crate) const FILE_MODE: u32 = 0o444;
/// Mode of a committed folder: no one may add, remove or rename entries.
pub(crate) const DIR_MODE: u32 = 0o555;
/// Mode of a folder while it is written.
pub(crate) const WRITABLE_DIR_MODE: u32 = 0o755;

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

/// Every missing folder of a path's parents created below a root, one
/// segment at a time through handles: an existing component that is not a
/// real folder (a link above all) is refused, never entered.
///
/// The folders of the last path prepared are kept open: paths come in
/// sorted order (a bundle's entries), and consecutive paths share their
/// leading folders. Each
/// folder is then created and opened once, not once per file below it, so
/// staging N files D folders deep costs about N + (distinct folders) system
/// calls instead of N × D. The handles were opened without following links,
/// like every other; at most one per segment of a path (128) is held.
#[derive(Debug, Default)]
pub(crate) struct OpenFolders {
    open: Vec<(String, DirHandle)>,
}

impl OpenFolders {
    /// The folder that holds `rel`'s last segment below `root` (always the
    /// same root), created as needed, and that segment.
    pub(crate) fn prepare<'a>(
        &mut self,
        root: &DirHandle,
        rel: &'a str,
    ) -> Result<(DirHandle, &'a str), StoreError> {
        if !plain_relative(rel) {
            return Err(StoreError::Refused(format!(
                "path {} is not a plain relative path",
                crate::safe::visible(rel)
            )));
        }
        let (dirs, file) = match rel.rsplit_once('/') {
            Some((dirs, file)) => (Some(dirs), file),
            None => (None, rel),
        };
        let wanted: Vec<&str> = dirs.map(|d| d.split('/').collect()).unwrap_or_default();
        let kept = self
            .open
            .iter()
            .zip(&wanted)
            .take_while(|((have, _), want)| have == *want)
            .count();
        self.open.truncate(kept);
        for segment in wanted.get(kept..).unwrap_or_default() {
            let parent = self.open.last().map_or(root, |(_, h)| h);
            let (next, _) = parent.ensure_dir(segment, WRITABLE_DIR_MODE)?;
            self.open.push(((*segment).to_owned(), next));
        }
        let here = match self.open.last() {
            Some((_, h)) => h.try_clone()?,
            None => root.try_clone()?,
        };
        Ok((here, file))
    }
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

/// Seal a staged tree: every sub-folder 0555 and fsynced, bottom-up, all
/// through handles. The top folder stays writable: Linux needs write
/// permission on a folder to rename it into another parent (its `..` entry
/// changes), so the caller seals it after the rename.
pub(crate) fn seal_subdirs(top: &DirHandle) -> Result<(), StoreError> {
    seal_below(top, 0)?;
    top.sync()
}

fn seal_below(dir: &DirHandle, depth: u32) -> Result<(), StoreError> {
    if depth >= MAX_TREE_DEPTH {
        return Err(StoreError::damaged(
            dir.path(),
            format!("holds folders nested more than {MAX_TREE_DEPTH} deep"),
        ));
    }
    for name in dir.entries()? {
        if dir
            .stat(&name)?
            .is_some_and(|s| s.kind == EntryType::Folder)
        {
            let child = dir.dir(&name)?;
            seal_below(&child, depth.saturating_add(1))?;
            seal_dir(&child)?;
        }
    }
    Ok(())
}

/// Make an opened folder read-only (0555) and fsync it.
pub(crate) fn seal_dir(dir: &DirHandle) -> Result<(), StoreError> {
    dir.set_mode(DIR_MODE)?;
    dir.sync()
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
    fn open_folders_create_each_parent_once_for_sorted_paths()
    -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let dir = DirHandle::open_root(tmp.path())?;
        let mut open = OpenFolders::default();
        for rel in ["a/b/c/f1", "a/b/c/f2", "a/b/d/f3", "a/e/f4", "f5", "g/h/f6"] {
            let (parent, last) = open.prepare(&dir, rel)?;
            parent.create_file(last)?;
        }
        for rel in ["a/b/c/f1", "a/b/c/f2", "a/b/d/f3", "a/e/f4", "f5", "g/h/f6"] {
            assert!(tmp.path().join(rel).is_file(), "{rel}");
        }
        // A link where a folder was is refused, not entered.
        std::os::unix::fs::symlink(tmp.path().join("a"), tmp.path().join("l"))?;
        assert!(open.prepare(&dir, "l/x").is_err());
        assert!(open.prepare(&dir, "../x").is_err());
        Ok(())
    }

    #[test]
    fn open_folders_refuse_a_symlinked_folder() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::os::unix::fs::symlink(outside.path(), root.path().join("a"))?;
        let dir = DirHandle::open_root(root.path())?;
        assert!(matches!(
            OpenFolders::default().prepare(&dir, "a/b"),
            Err(StoreError::Damaged { .. })
        ));
        assert_eq!(std::fs::read_dir(outside.path())?.count(), 0);
        let (parent, last) = OpenFolders::default().prepare(&dir, "x/y/z")?;
        assert_eq!(last, "z");
        assert_eq!(parent.path(), root.path().join("x/y"));
        Ok(())
    }
}
