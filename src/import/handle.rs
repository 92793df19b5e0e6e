//! Store folders opened by handle, so that no store path is ever resolved
//! through a symbolic link (docs/store.md, "No link is ever followed").
//!
//! Every operation on a store entry names **one** entry relative to an open
//! folder handle ([`DirHandle`]), with no-follow semantics: `openat` with
//! `O_NOFOLLOW` (and `O_DIRECTORY` for folders, `O_NONBLOCK` so a FIFO can
//! never hang lbom), `fstatat`/`unlinkat`/`renameat`/`linkat` without
//! `AT_SYMLINK_FOLLOW`, `mkdirat`, `symlinkat`, `readlinkat`. A folder is
//! entered by opening it from its parent's handle, so a link swapped in for
//! any folder *after* it was opened redirects nothing: lbom keeps working
//! in the folder it opened. A link or a non-folder where a folder is
//! expected, or a link or non-regular file where a file is expected, is a
//! damaged store ([`StoreError::Damaged`], exit 4), refused before anything
//! is read or written through it. Trees are removed entry by entry through
//! handles, a link being removed as the link it is.
//!
//! Why rustix rather than cap-std: rustix is already a dependency (model
//! files are opened with `O_NOFOLLOW | O_NONBLOCK` through it); cap-std
//! would add its own crate tree, and its `Dir` is a sandbox that still
//! follows links *inside* the sandbox, while the store wants none at all,
//! plus flags cap-std does not expose in one call (`O_NONBLOCK` on every
//! open, `O_DIRECT` reopening, `RENAME_NOREPLACE`, `fchmod` on a folder
//! handle). Walking one name at a time with rustix is what cap-std does
//! internally, minus the following.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::error::StoreError;
use super::paths::EntryKind;

/// Deepest folder tree lbom removes or walks: a bundle path has at most
/// 255 bytes (so at most 128 segments) and a version adds three levels.
/// Anything deeper was not written by lbom and is refused rather than
/// recursed into.
pub(crate) const MAX_TREE_DEPTH: u32 = 160;

/// What a store entry is, as `fstatat(AT_SYMLINK_NOFOLLOW)` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryType {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symbolic link (never followed).
    Link,
    /// A FIFO.
    Fifo,
    /// A socket.
    Socket,
    /// A block or character device.
    Device,
    /// Anything else.
    Other,
}

impl EntryType {
    fn of(kind: FileType) -> Self {
        match kind {
            FileType::RegularFile => EntryType::File,
            FileType::Directory => EntryType::Folder,
            FileType::Symlink => EntryType::Link,
            FileType::Fifo => EntryType::Fifo,
            FileType::Socket => EntryType::Socket,
            FileType::CharacterDevice | FileType::BlockDevice => EntryType::Device,
            _ => EntryType::Other,
        }
    }

    /// With an article, for messages: "a symbolic link".
    pub(crate) fn described(self) -> &'static str {
        match self {
            EntryType::File => "a regular file",
            EntryType::Folder => "a folder",
            EntryType::Link => "a symbolic link",
            EntryType::Fifo => "a FIFO",
            EntryType::Socket => "a socket",
            EntryType::Device => "a device",
            EntryType::Other => "an unknown kind of entry",
        }
    }
}

/// Whether `found` is what `want` asks for.
fn kind_matches(want: EntryKind, found: EntryType) -> bool {
    matches!(
        (want, found),
        (EntryKind::File, EntryType::File)
            | (EntryKind::Folder, EntryType::Folder)
            | (EntryKind::Link, EntryType::Link)
    )
}

/// The part of `fstatat` lbom looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryStat {
    /// The entry's type.
    pub kind: EntryType,
    /// Permission bits, setuid/setgid/sticky included (`st_mode & 0o7777`).
    pub mode: u32,
    /// Hard links.
    pub nlink: u64,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
}

impl EntryStat {
    #[allow(
        clippy::useless_conversion,
        reason = "st_nlink and st_dev are u64 on x86_64 but u32 on other targets"
    )]
    fn of(st: &rustix::fs::Stat) -> Self {
        EntryStat {
            kind: EntryType::of(FileType::from_raw_mode(st.st_mode)),
            mode: st.st_mode & 0o7777,
            nlink: u64::from(st.st_nlink),
            dev: u64::from(st.st_dev),
            ino: u64::from(st.st_ino),
            size: u64::try_from(st.st_size).unwrap_or(0),
        }
    }

    /// Whether both name the same object.
    pub(crate) fn same_object(&self, other: &EntryStat) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }
}

/// The message of a damaged store entry: what was found where lbom keeps
/// something else. One sentence; the path is the error's.
pub(crate) fn wrong_type_reason(found: EntryType, expected: EntryKind) -> String {
    let hint = if found == EntryType::Link {
        " (lbom never follows a link inside a store)"
    } else {
        ""
    };
    format!(
        "{} where lbom keeps {}{hint}",
        found.described(),
        expected.described()
    )
}

/// An open store folder. Cheap to share (`Arc`); `Send + Sync`.
#[derive(Debug)]
pub(crate) struct DirHandle {
    fd: OwnedFd,
    /// Where this folder is, for messages only (never opened by path).
    path: PathBuf,
}

fn io_error(errno: Errno) -> io::Error {
    io::Error::from_raw_os_error(errno.raw_os_error())
}

/// Whether `name` is one plain entry name (what every handle operation
/// takes): not empty, no `/`, no NUL, not `.` or `..`.
pub(crate) fn is_single_name(name: &OsStr) -> bool {
    let b = name.as_bytes();
    !b.is_empty() && b != b"." && b != b".." && !b.contains(&b'/') && !b.contains(&0)
}

/// Flags of every open: never follow, never block, never leak to children.
fn base_flags() -> OFlags {
    OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC
}

impl DirHandle {
    /// Open the store folder the operator named. This is the one path lbom
    /// resolves as given (links in it are the operator's choice); every
    /// entry below it is opened through this handle, never by path.
    pub(crate) fn open_root(path: &Path) -> io::Result<DirHandle> {
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_error)?;
        Ok(DirHandle {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Where this folder is (for messages).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The display path of an entry.
    pub(crate) fn child(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.path.join(name.as_ref())
    }

    fn name<'a>(&self, name: &'a OsStr) -> Result<&'a OsStr, StoreError> {
        if is_single_name(name) {
            Ok(name)
        } else {
            Err(StoreError::Refused(format!(
                "{}: {:?} is not a single entry name",
                self.path.display(),
                name
            )))
        }
    }

    fn io(&self, name: &OsStr, errno: Errno) -> StoreError {
        StoreError::Io {
            path: self.child(name),
            source: io_error(errno),
        }
    }

    /// The damaged-store error for `name`, found to be `found`.
    pub(crate) fn wrong_type(&self, name: &OsStr, found: EntryType, want: EntryKind) -> StoreError {
        StoreError::damaged(&self.child(name), wrong_type_reason(found, want))
    }

    /// After a refused open (`ELOOP`, `ENOTDIR`, `EISDIR`, `ENXIO`…): when
    /// the entry is not what was wanted, say what is there (a damaged
    /// store); else it is an I/O error.
    fn refused_open(&self, name: &OsStr, errno: Errno, want: EntryKind) -> StoreError {
        match self.stat(name) {
            Ok(Some(s)) if !kind_matches(want, s.kind) => self.wrong_type(name, s.kind, want),
            _ => self.io(name, errno),
        }
    }

    /// `fstat` of this folder itself.
    pub(crate) fn stat_self(&self) -> Result<EntryStat, StoreError> {
        rustix::fs::fstat(&self.fd)
            .map(|s| EntryStat::of(&s))
            .map_err(|e| StoreError::Io {
                path: self.path.clone(),
                source: io_error(e),
            })
    }

    /// `fstatat(name, AT_SYMLINK_NOFOLLOW)`; `None` when missing.
    pub(crate) fn stat(&self, name: impl AsRef<OsStr>) -> Result<Option<EntryStat>, StoreError> {
        let name = self.name(name.as_ref())?;
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(s) => Ok(Some(EntryStat::of(&s))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(self.io(name, e)),
        }
    }

    /// Open the folder `name`; `None` when missing. A link, a file, a FIFO
    /// or anything but a real folder is [`StoreError::Damaged`].
    pub(crate) fn open_dir(
        &self,
        name: impl AsRef<OsStr>,
    ) -> Result<Option<DirHandle>, StoreError> {
        let name = self.name(name.as_ref())?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | base_flags();
        match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(DirHandle {
                fd,
                path: self.child(name),
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(self.refused_open(name, e, EntryKind::Folder)),
        }
    }

    /// [`Self::open_dir`], a missing folder being damage too.
    pub(crate) fn dir(&self, name: impl AsRef<OsStr>) -> Result<DirHandle, StoreError> {
        let name = name.as_ref();
        self.open_dir(name)?
            .ok_or_else(|| StoreError::damaged(&self.child(name), "is missing"))
    }

    /// Open the folder at `rel` (`a/b/c`), one segment at a time.
    pub(crate) fn open_dir_path(&self, rel: &str) -> Result<Option<DirHandle>, StoreError> {
        let mut segments = rel.split('/');
        let Some(first) = segments.next() else {
            return Ok(None);
        };
        let Some(mut here) = self.open_dir(first)? else {
            return Ok(None);
        };
        for segment in segments {
            match here.open_dir(segment)? {
                Some(next) => here = next,
                None => return Ok(None),
            }
        }
        Ok(Some(here))
    }

    /// The folder holding `rel`'s last segment, and that segment: `None`
    /// when a folder on the way is missing.
    pub(crate) fn open_parent<'a>(
        &self,
        rel: &'a str,
    ) -> Result<Option<(DirHandle, &'a str)>, StoreError> {
        match rel.rsplit_once('/') {
            None => Ok(Some((self.try_clone()?, rel))),
            Some((dirs, last)) => Ok(self.open_dir_path(dirs)?.map(|d| (d, last))),
        }
    }

    /// A second handle on the same folder.
    pub(crate) fn try_clone(&self) -> Result<DirHandle, StoreError> {
        let fd = self.fd.try_clone().map_err(|source| StoreError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(DirHandle {
            fd,
            path: self.path.clone(),
        })
    }

    /// Open the regular file `name` for reading; `None` when missing. A
    /// link, FIFO, folder or device is [`StoreError::Damaged`] (the FIFO is
    /// opened non-blocking, so it cannot hang).
    pub(crate) fn open_file(
        &self,
        name: impl AsRef<OsStr>,
    ) -> Result<Option<(File, EntryStat)>, StoreError> {
        let name = self.name(name.as_ref())?;
        let fd = match rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | base_flags(),
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(self.refused_open(name, e, EntryKind::File)),
        };
        let stat = rustix::fs::fstat(&fd)
            .map(|s| EntryStat::of(&s))
            .map_err(|e| self.io(name, e))?;
        if stat.kind != EntryType::File {
            return Err(self.wrong_type(name, stat.kind, EntryKind::File));
        }
        Ok(Some((File::from(fd), stat)))
    }

    /// Read the whole regular file `name` of at most `max` bytes; `None`
    /// when missing.
    pub(crate) fn read_file(
        &self,
        name: impl AsRef<OsStr>,
        max: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        use std::io::Read as _;
        let name = name.as_ref();
        let Some((file, stat)) = self.open_file(name)? else {
            return Ok(None);
        };
        let too_big = |len: u64| {
            StoreError::damaged(
                &self.child(name),
                format!("is {len} bytes, more than the {max} lbom reads"),
            )
        };
        if stat.size > max {
            return Err(too_big(stat.size));
        }
        let mut out = Vec::with_capacity(usize::try_from(stat.size).unwrap_or(0));
        file.take(max.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|source| StoreError::Io {
                path: self.child(name),
                source,
            })?;
        if out.len() as u64 > max {
            return Err(too_big(out.len() as u64));
        }
        Ok(Some(out))
    }

    fn open_with(
        &self,
        name: &OsStr,
        flags: OFlags,
        mode: u32,
    ) -> Result<(File, EntryStat), StoreError> {
        let name = self.name(name)?;
        let fd = match rustix::fs::openat(
            &self.fd,
            name,
            flags | base_flags(),
            Mode::from_raw_mode(mode),
        ) {
            Ok(fd) => fd,
            // ELOOP, EISDIR, ENXIO (a FIFO without a reader, opened for
            // writing without blocking)…: say what is there.
            Err(e) => return Err(self.refused_open(name, e, EntryKind::File)),
        };
        let stat = rustix::fs::fstat(&fd)
            .map(|s| EntryStat::of(&s))
            .map_err(|e| self.io(name, e))?;
        if stat.kind != EntryType::File {
            return Err(self.wrong_type(name, stat.kind, EntryKind::File));
        }
        Ok((File::from(fd), stat))
    }

    /// Create the new file `name` (`O_CREAT | O_EXCL | O_NOFOLLOW`) for
    /// writing; an existing entry of any kind is an error, never opened.
    pub(crate) fn create_file(&self, name: impl AsRef<OsStr>) -> Result<File, StoreError> {
        self.open_with(
            name.as_ref(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            0o644,
        )
        .map(|(f, _)| f)
    }

    /// Create the new file `name`, write `bytes`, make it read-only (0444)
    /// and fsync it.
    pub(crate) fn write_new_synced(
        &self,
        name: impl AsRef<OsStr>,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        use std::io::Write as _;
        let name = name.as_ref();
        let mut file = self.create_file(name)?;
        let at = |source| StoreError::Io {
            path: self.child(name),
            source,
        };
        file.write_all(bytes).map_err(at)?;
        super::fsutil::seal_file(&file).map_err(at)
    }

    /// Open the regular file `name` for appending, creating it (0644) when
    /// missing. Returns the file and whether it was created.
    pub(crate) fn open_append(&self, name: impl AsRef<OsStr>) -> Result<(File, bool), StoreError> {
        let name = name.as_ref();
        let existed = self.stat(name)?.is_some();
        let (file, _) = self.open_with(
            name,
            OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE,
            0o644,
        )?;
        Ok((file, !existed))
    }

    /// Open the existing regular file `name` for writing (no truncation).
    pub(crate) fn open_write(&self, name: impl AsRef<OsStr>) -> Result<File, StoreError> {
        self.open_with(name.as_ref(), OFlags::WRONLY, 0)
            .map(|(f, _)| f)
    }

    /// Open (creating it, 0644) the regular file `name` for reading and
    /// writing: the lock file.
    pub(crate) fn open_or_create_rw(&self, name: impl AsRef<OsStr>) -> Result<File, StoreError> {
        self.open_with(name.as_ref(), OFlags::RDWR | OFlags::CREATE, 0o644)
            .map(|(f, _)| f)
    }

    /// A second, `O_DIRECT` handle on `file`, just created here as `name`,
    /// when the filesystem allows it: reopened through this folder (never
    /// by path, never through a link) and checked to be the same inode.
    pub(crate) fn reopen_direct(&self, name: &OsStr, file: &File) -> Option<File> {
        use std::os::unix::fs::MetadataExt as _;
        if !is_single_name(name) {
            return None;
        }
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::DIRECT | base_flags(),
            Mode::empty(),
        )
        .ok()?;
        let direct = File::from(fd);
        let (a, b) = (direct.metadata().ok()?, file.metadata().ok()?);
        ((a.dev(), a.ino()) == (b.dev(), b.ino())).then_some(direct)
    }

    /// Create the folder `name` with `mode` and open it; an existing entry
    /// is an error.
    pub(crate) fn make_dir(
        &self,
        name: impl AsRef<OsStr>,
        mode: u32,
    ) -> Result<DirHandle, StoreError> {
        let name = self.name(name.as_ref())?;
        rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode))
            .map_err(|e| self.io(name, e))?;
        self.dir(name)
    }

    /// Open the folder `name`, creating it (with `mode`) when missing.
    /// Returns it and whether it was created (the caller fsyncs this folder
    /// then). An existing link or non-folder is [`StoreError::Damaged`].
    pub(crate) fn ensure_dir(
        &self,
        name: impl AsRef<OsStr>,
        mode: u32,
    ) -> Result<(DirHandle, bool), StoreError> {
        let name = self.name(name.as_ref())?;
        let created = match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(self.io(name, e)),
        };
        Ok((self.dir(name)?, created))
    }

    /// `symlinkat(target, self, name)`: a new link (never replaces).
    pub(crate) fn symlink(&self, target: &str, name: impl AsRef<OsStr>) -> Result<(), StoreError> {
        let name = self.name(name.as_ref())?;
        rustix::fs::symlinkat(target, &self.fd, name).map_err(|e| self.io(name, e))
    }

    /// The target of the link `name`; `None` when missing. Anything but a
    /// link is [`StoreError::Damaged`].
    pub(crate) fn read_link(
        &self,
        name: impl AsRef<OsStr>,
    ) -> Result<Option<OsString>, StoreError> {
        let name = self.name(name.as_ref())?;
        match rustix::fs::readlinkat(&self.fd, name, Vec::new()) {
            Ok(target) => Ok(Some(OsString::from_vec(target.into_bytes()))),
            Err(Errno::NOENT) => Ok(None),
            Err(e @ Errno::INVAL) => Err(self.refused_open(name, e, EntryKind::Link)),
            Err(e) => Err(self.io(name, e)),
        }
    }

    /// `renameat(self/name, to/to_name)`: moves the entry itself (a link is
    /// moved as a link); replaces `to_name` as rename(2) does.
    pub(crate) fn rename(
        &self,
        name: impl AsRef<OsStr>,
        to: &DirHandle,
        to_name: impl AsRef<OsStr>,
    ) -> Result<(), StoreError> {
        let name = self.name(name.as_ref())?;
        let to_name = to.name(to_name.as_ref())?;
        rustix::fs::renameat(&self.fd, name, &to.fd, to_name).map_err(|e| to.io(to_name, e))
    }

    /// [`Self::rename`] that never replaces an existing `to_name`
    /// (`RENAME_NOREPLACE`): `Ok(false)` when it exists.
    pub(crate) fn rename_no_replace(
        &self,
        name: impl AsRef<OsStr>,
        to: &DirHandle,
        to_name: impl AsRef<OsStr>,
    ) -> Result<bool, StoreError> {
        let name = self.name(name.as_ref())?;
        let to_name = to.name(to_name.as_ref())?;
        match rustix::fs::renameat_with(&self.fd, name, &to.fd, to_name, RenameFlags::NOREPLACE) {
            Ok(()) => Ok(true),
            Err(Errno::EXIST) => Ok(false),
            Err(e) => Err(to.io(to_name, e)),
        }
    }

    /// Hard-link `from/from_name` as `name` here (`linkat` without
    /// `AT_SYMLINK_FOLLOW`: a link would be linked as itself, and the
    /// caller checks the inode).
    pub(crate) fn hard_link_from(
        &self,
        from: &DirHandle,
        from_name: &OsStr,
        name: &OsStr,
    ) -> io::Result<()> {
        if !is_single_name(from_name) || !is_single_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a single entry name",
            ));
        }
        rustix::fs::linkat(&from.fd, from_name, &self.fd, name, AtFlags::empty()).map_err(io_error)
    }

    /// Remove the non-folder entry `name` (a link is removed, never its
    /// target); missing is fine.
    pub(crate) fn unlink(&self, name: impl AsRef<OsStr>) -> Result<(), StoreError> {
        let name = self.name(name.as_ref())?;
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(self.io(name, e)),
        }
    }

    /// Remove the entry `name` whatever it is: a folder with everything
    /// below it (through handles, made writable first), anything else as
    /// the entry it is. Never follows a link; missing is fine.
    pub(crate) fn remove_entry(&self, name: impl AsRef<OsStr>) -> Result<(), StoreError> {
        self.remove_entry_at_depth(name.as_ref(), 0)
    }

    fn remove_entry_at_depth(&self, name: &OsStr, depth: u32) -> Result<(), StoreError> {
        let name = self.name(name)?;
        let Some(stat) = self.stat(name)? else {
            return Ok(());
        };
        if stat.kind != EntryType::Folder {
            return self.unlink(name);
        }
        if depth >= MAX_TREE_DEPTH {
            return Err(StoreError::damaged(
                &self.child(name),
                format!(
                    "holds folders nested more than {MAX_TREE_DEPTH} deep, which lbom never writes"
                ),
            ));
        }
        let child = match self.open_dir(name) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(()),
            // Replaced by a non-folder since the stat: remove that entry.
            Err(StoreError::Damaged { .. }) => return self.unlink(name),
            Err(e) => return Err(e),
        };
        // A sealed folder (0555) must be writable to lose its entries. Best
        // effort: a folder lbom does not own fails at the unlink instead.
        let _ = child.set_mode(0o700);
        for entry in child.entries()? {
            child.remove_entry_at_depth(&entry, depth.saturating_add(1))?;
        }
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(self.io(name, e)),
        }
    }

    /// Remove the empty folder `name`: `Ok(false)` when it is not empty.
    pub(crate) fn remove_empty_dir(&self, name: impl AsRef<OsStr>) -> Result<bool, StoreError> {
        let name = self.name(name.as_ref())?;
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(true),
            Err(Errno::NOTEMPTY | Errno::EXIST) => Ok(false),
            Err(e @ Errno::NOTDIR) => Err(self.refused_open(name, e, EntryKind::Folder)),
            Err(e) => Err(self.io(name, e)),
        }
    }

    /// Every entry name of this folder but `.` and `..`, sorted.
    pub(crate) fn entries(&self) -> Result<Vec<OsString>, StoreError> {
        let at = |e: Errno| StoreError::Io {
            path: self.path.clone(),
            source: io_error(e),
        };
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd).map_err(at)? {
            let entry = entry.map_err(at)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                out.push(OsString::from_vec(name.to_vec()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// fsync this folder, so that entries created, renamed or removed in it
    /// last.
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
        rustix::fs::fsync(&self.fd).map_err(|e| StoreError::Io {
            path: self.path.clone(),
            source: io_error(e),
        })
    }

    /// `fchmod` this folder.
    pub(crate) fn set_mode(&self, mode: u32) -> Result<(), StoreError> {
        rustix::fs::fchmod(&self.fd, Mode::from_raw_mode(mode)).map_err(|e| StoreError::Io {
            path: self.path.clone(),
            source: io_error(e),
        })
    }
}

impl AsFd for DirHandle {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn fifo(path: &Path) -> R {
        rustix::fs::mkfifoat(rustix::fs::CWD, path, Mode::from_raw_mode(0o644))?;
        Ok(())
    }

    /// Every way of reaching an entry refuses a link, whatever it points
    /// at, and a wrong type; nothing outside is touched.
    #[test]
    fn no_operation_follows_a_link_or_accepts_a_wrong_type() -> R {
        let root = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::fs::write(outside.path().join("keep"), b"canary")?;
        symlink(outside.path(), root.path().join("dirlink"))?;
        symlink(outside.path().join("keep"), root.path().join("filelink"))?;
        symlink("nowhere", root.path().join("dangling"))?;
        std::fs::write(root.path().join("file"), b"x")?;
        std::fs::create_dir(root.path().join("folder"))?;
        fifo(&root.path().join("fifo"))?;
        let dir = DirHandle::open_root(root.path())?;
        let damaged = |r: Result<(), StoreError>, what: &str| match r {
            Err(StoreError::Damaged { .. }) => Ok(()),
            other => Err(format!("{what}: {other:?}")),
        };
        for name in ["dirlink", "filelink", "dangling", "file", "fifo"] {
            damaged(dir.open_dir(name).map(|_| ()), &format!("open_dir {name}"))?;
            damaged(
                dir.ensure_dir(name, 0o755).map(|_| ()),
                &format!("ensure_dir {name}"),
            )?;
        }
        for name in ["dirlink", "filelink", "dangling", "folder", "fifo"] {
            damaged(
                dir.open_file(name).map(|_| ()),
                &format!("open_file {name}"),
            )?;
            damaged(
                dir.open_append(name).map(|_| ()),
                &format!("open_append {name}"),
            )?;
            damaged(
                dir.open_write(name).map(|_| ()),
                &format!("open_write {name}"),
            )?;
            damaged(
                dir.open_or_create_rw(name).map(|_| ()),
                &format!("open_or_create_rw {name}"),
            )?;
        }
        for name in ["file", "folder", "fifo"] {
            damaged(
                dir.read_link(name).map(|_| ()),
                &format!("read_link {name}"),
            )?;
        }
        for name in ["dirlink", "filelink", "dangling", "file", "folder", "fifo"] {
            assert!(dir.create_file(name).is_err(), "create_file {name}");
        }
        // Removing a link removes the link only.
        for name in ["dirlink", "filelink", "dangling", "fifo"] {
            dir.remove_entry(name)?;
            assert!(dir.stat(name)?.is_none(), "{name} removed");
        }
        assert_eq!(std::fs::read(outside.path().join("keep"))?, b"canary");
        Ok(())
    }

    /// A tree with read-only folders and links to the outside inside is
    /// removed; the outside is not.
    #[test]
    fn remove_entry_removes_a_sealed_tree_and_never_what_links_point_at() -> R {
        let root = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::fs::write(outside.path().join("keep"), b"canary")?;
        let top = root.path().join("top");
        std::fs::create_dir_all(top.join("a/b"))?;
        std::fs::write(top.join("a/b/f"), b"x")?;
        symlink(outside.path(), top.join("a/out"))?;
        fifo(&top.join("a/b/fifo"))?;
        use std::os::unix::fs::PermissionsExt as _;
        for d in ["a/b", "a", ""] {
            std::fs::set_permissions(top.join(d), std::fs::Permissions::from_mode(0o555))?;
        }
        let dir = DirHandle::open_root(root.path())?;
        dir.remove_entry("top")?;
        assert!(!top.exists());
        assert_eq!(std::fs::read(outside.path().join("keep"))?, b"canary");
        Ok(())
    }

    #[test]
    fn a_folder_opened_keeps_its_identity_when_a_link_is_swapped_in() -> R {
        let root = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        std::fs::create_dir(root.path().join("d"))?;
        let dir = DirHandle::open_root(root.path())?;
        let d = dir.dir("d")?;
        std::fs::rename(root.path().join("d"), root.path().join("moved"))?;
        symlink(outside.path(), root.path().join("d"))?;
        d.write_new_synced("new", b"x")?;
        assert!(root.path().join("moved/new").exists());
        assert_eq!(std::fs::read_dir(outside.path())?.count(), 0);
        Ok(())
    }

    #[test]
    fn names_must_be_single_entries() {
        for bad in ["", ".", "..", "a/b", "/a", "a\0b"] {
            assert!(!is_single_name(OsStr::new(bad)), "{bad:?}");
        }
        assert!(is_single_name(OsStr::new(".staging")));
    }
}
