//! The store lock, atomic store creation, and the recovery every writer
//! runs under the lock.
//!
//! Writers (import, rollback) hold an exclusive `flock` on `STORE/.lock`
//! (`crate::io::lock::ExclusiveLock`, as `lbom sign` locks a bundle) for their whole
//! run; a second writer is refused at once rather than queued. Readers
//! (`audit`, `log`, `channel_state`) take no lock: every state a writer can
//! leave is a consistent one (docs/store.md, "Commit protocol").

use std::ops::Deref;
use std::path::Path;

use super::error::StoreError;
use super::handle::DirHandle;
use super::layout::{Marker, Store, current_in, open_root, read_marker, record_in};
use super::paths::{
    CURRENT, CURRENT_TMP, LOCK, MARKER, MARKER_CONTENT, MARKER_TMP, is_channel_name,
};
use super::record::{read_history, truncate_torn};
use super::registry;
use crate::io::lock::ExclusiveLock;

/// A store held under its exclusive lock; released on drop.
#[derive(Debug)]
pub struct LockedStore {
    store: Store,
    _lock: ExclusiveLock,
    made: Made,
}

/// What opening a store made of its folder, so that an import that
/// commits nothing can take a store it created back (docs/store.md,
/// "Creating a store", [S18]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Made {
    /// Nothing: it was a store already.
    Nothing,
    /// The store, in an empty folder that was there.
    Store,
    /// The folder and the store in it.
    Folder,
}

impl Deref for LockedStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Take the exclusive lock of the store folder `dir` (creating `.lock`,
/// never through a link), or fail at once with [`StoreError::Locked`].
fn take_lock(dir: &DirHandle) -> Result<ExclusiveLock, StoreError> {
    let file = dir.open_or_create_rw(LOCK)?;
    let path = dir.child(LOCK);
    match ExclusiveLock::try_new(file).map_err(|source| StoreError::Io {
        path: path.clone(),
        source,
    })? {
        Some(lock) => Ok(lock),
        None => Err(StoreError::Locked {
            path: dir.path().to_path_buf(),
        }),
    }
}

/// What [`Store::create`] does with a folder that is a store already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfStore {
    /// Open it (import).
    Open,
    /// Refuse (an explicit creation).
    Refuse,
}

impl Store {
    /// Take the store's exclusive lock, or fail at once with
    /// [`StoreError::Locked`] when another process holds it.
    pub fn lock(&self) -> Result<LockedStore, StoreError> {
        Ok(LockedStore {
            store: self.clone(),
            _lock: take_lock(self.handle())?,
            made: Made::Nothing,
        })
    }

    /// Open an existing store and lock it. A missing folder, or one without
    /// a store marker, is [`StoreError::NoStore`]: `import` creates a store
    /// only when asked (`--create`, [`Store::open_or_create`]).
    pub fn open_existing(path: &Path) -> Result<LockedStore, StoreError> {
        let no_store = || StoreError::NoStore {
            path: path.to_path_buf(),
        };
        let dir = open_root(path).map_err(|e| match e {
            StoreError::NotAStore { .. } if !path.exists() => no_store(),
            other => other,
        })?;
        match read_marker(&dir)? {
            Marker::Store => Store::from_handle(path, dir).lock(),
            Marker::Missing => Err(no_store()),
        }
    }

    /// Open a store and lock it, creating it when `path` is missing or an
    /// empty folder (see [`Store::create`] for how). A folder holding
    /// anything else is refused, never taken over.
    pub fn open_or_create(path: &Path) -> Result<LockedStore, StoreError> {
        create_locked(path, IfStore::Open)
    }

    /// Create a new store at `path` (missing or an empty folder) and return
    /// it locked. Atomic and covered by the lock (docs/store.md, "Creating
    /// a store"): the folder is made if missing, its lock taken, then the
    /// marker is written whole under a temporary name and renamed into
    /// place — the one step that makes the folder a store. Two creators of
    /// one store cannot both pass the lock: the second is refused with
    /// [`StoreError::Locked`] (or, once the first is done, finds a store).
    pub fn create(path: &Path) -> Result<LockedStore, StoreError> {
        create_locked(path, IfStore::Refuse)
    }
}

/// What a creator that crashed may leave in a folder that is not yet a
/// store: its lock file and the marker it was writing.
fn is_creation_leftover(name: &std::ffi::OsStr) -> bool {
    name == LOCK || name == MARKER_TMP
}

/// Refuse a folder that holds anything but creation leftovers.
fn check_empty(dir: &DirHandle, path: &Path) -> Result<(), StoreError> {
    if let Some(first) = dir
        .entries()?
        .into_iter()
        .find(|n| !is_creation_leftover(n))
    {
        return Err(StoreError::NotAStore {
            path: path.to_path_buf(),
            reason: format!(
                "folder is not empty and not an lbom store (it holds {}); refusing to use it",
                crate::safe::visible(&first.to_string_lossy())
            ),
        });
    }
    Ok(())
}

fn already_a_store(path: &Path) -> StoreError {
    StoreError::Refused(format!("{}: is an lbom store already", path.display()))
}

#[cfg(test)]
thread_local! {
    /// Run once between the first marker read and the emptiness check: a
    /// test finishes a concurrent creation there.
    pub(crate) static BETWEEN_READS: std::cell::Cell<Option<fn(&Path)>> =
        const { std::cell::Cell::new(None) };
}

/// The one creation routine (import's implicit creation and, later, an
/// explicit `store init`).
fn create_locked(path: &Path, if_store: IfStore) -> Result<LockedStore, StoreError> {
    let mut made = Made::Store;
    match std::fs::create_dir(path) {
        Ok(()) => {
            made = Made::Folder;
            sync_parent(path)?;
        }
        // Another creator made it a moment ago, or it existed.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    let dir = open_root(path)?;
    let open_existing = |dir: DirHandle| {
        if if_store == IfStore::Refuse {
            return Err(already_a_store(path));
        }
        Store::from_handle(path, dir).lock()
    };
    if let Marker::Store = read_marker(&dir)? {
        return open_existing(dir);
    }
    #[cfg(test)]
    if let Some(hook) = BETWEEN_READS.with(std::cell::Cell::take) {
        hook(path);
    }
    // Nothing of the operator's is touched before this check, not even a
    // lock file created.
    if let Err(e) = check_empty(&dir, path) {
        // A concurrent creator renames the marker into place before it
        // writes anything else: what made the folder look taken may be a
        // store made a moment ago, which it then is.
        if let Marker::Store = read_marker(&dir)? {
            return open_existing(dir);
        }
        return Err(e);
    }
    let lock = take_lock(&dir)?;
    // Under the lock: another creator may have finished in between.
    if let Marker::Store = read_marker(&dir)? {
        if if_store == IfStore::Refuse {
            return Err(already_a_store(path));
        }
        return Ok(LockedStore {
            store: Store::from_handle(path, dir),
            _lock: lock,
            made: Made::Nothing,
        });
    }
    check_empty(&dir, path)?;
    // A crashed creator's marker, removed as the entry it is.
    dir.remove_entry(MARKER_TMP)?;
    dir.write_new_synced(MARKER_TMP, MARKER_CONTENT.as_bytes())?;
    if !dir.rename_no_replace(MARKER_TMP, &dir, MARKER)? {
        // Only something that ignores the lock can have put it there.
        return Err(StoreError::damaged(
            &dir.child(MARKER),
            "appeared while this store was created under its lock",
        ));
    }
    dir.sync()?;
    Ok(LockedStore {
        store: Store::from_handle(path, dir),
        _lock: lock,
        made,
    })
}

/// Sync the folder holding `path` (after `path` was made or removed in it).
fn sync_parent(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => open_root(parent)?.sync(),
        None => open_root(Path::new("."))?.sync(),
    }
}

impl LockedStore {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Take back the store this run created (`Store::open_or_create` on a
    /// missing or empty folder) when nothing was committed into it: an
    /// import refused or failed before its commit leaves the disk as it
    /// found it (docs/store.md, "Creating a store", [S18]). A store that
    /// was there is left alone, as is a created one holding anything but
    /// what creation and a staged import write (only something that
    /// ignored the lock can have put it there). The marker goes last but
    /// the lock file: until then the folder is a store, after it an empty
    /// folder with at most a creator's leftovers, either a state the next
    /// `--create` takes; the folder itself is removed when this run made
    /// it. The lock is released when this returns.
    pub fn discard_if_created(self) -> Result<(), StoreError> {
        if self.made == Made::Nothing {
            return Ok(());
        }
        let root = self.handle();
        root.remove_entry(super::paths::STAGING)?;
        if root.entries()?.iter().any(|n| n != MARKER && n != LOCK) {
            return Ok(());
        }
        root.unlink(MARKER)?;
        root.unlink(LOCK)?;
        root.sync()?;
        if self.made == Made::Folder {
            let path = self.root().to_path_buf();
            match std::fs::remove_dir(&path) {
                Ok(()) => sync_parent(&path)?,
                // Not empty: something was put there past the lock; it stays.
                Err(e) if e.kind() == std::io::ErrorKind::DirectoryNotEmpty => {}
                Err(source) => return Err(StoreError::Io { path, source }),
            }
        }
        Ok(())
    }

    /// Remove whatever interrupted imports left in `STORE/.staging/`
    /// (nothing there was ever committed), each entry as what it is: a link
    /// is removed, never followed. Returns how many were removed.
    pub fn cleanup_staging(&self) -> Result<usize, StoreError> {
        let Some(staging) = self.staging()? else {
            return Ok(0);
        };
        let mut removed = 0usize;
        for name in staging.entries()? {
            staging.remove_entry(&name)?;
            removed = removed.saturating_add(1);
        }
        if removed > 0 {
            staging.sync()?;
        }
        Ok(removed)
    }

    /// Finish or undo what an interrupted writer left, after checking the
    /// store's structure (a damaged store is refused before anything is
    /// changed): empty the staging folder; cut a torn registry line and
    /// remove an empty channel folder the registry does not list (a crash
    /// between its creation and its registration); in each channel remove
    /// a stray `current.tmp`, cut a torn history line, and complete a switch
    /// of `current` the history records but a crash kept from happening, and
    /// remove the folders of versions the history says were pruned.
    /// Run by every writer before it changes anything.
    pub fn recover(&self) -> Result<(), StoreError> {
        self.check_structure()?;
        self.cleanup_staging()?;
        let root = self.handle();
        let registry = registry::read(root)?;
        if registry.torn {
            registry::cut_torn(root, registry.complete_len)?;
        }
        let mut removed_any = false;
        for name in root.entries()? {
            let Some(name) = name.to_str().filter(|n| is_channel_name(n)) else {
                continue;
            };
            let is_folder = root
                .stat(name)?
                .is_some_and(|s| s.kind == super::handle::EntryType::Folder);
            if is_folder && !registry.has(name) && root.remove_empty_dir(name)? {
                removed_any = true;
            }
        }
        if removed_any {
            root.sync()?;
        }
        for channel in &registry.channels {
            self.recover_channel(channel)?;
        }
        Ok(())
    }

    fn recover_channel(&self, channel: &str) -> Result<(), StoreError> {
        let Some(dir) = self.open_channel(channel)? else {
            return Ok(());
        };
        dir.remove_entry(CURRENT_TMP)?;
        let history = read_history(&dir)?;
        if history.torn {
            truncate_torn(&dir, history.complete_len)?;
        }
        // A prune the history records but a crash cut short.
        super::prune::finish_prune(self, &dir)?;
        let current = current_in(&dir)?;
        let Some(last) = history.entries.last() else {
            return match current {
                None => Ok(()),
                Some(seq) => Err(StoreError::damaged(
                    &dir.child(CURRENT),
                    format!("points at version {seq}, which the history does not record"),
                )),
            };
        };
        if current == Some(last.sequence) {
            return Ok(());
        }
        if current != last.from {
            return Err(StoreError::damaged(
                &dir.child(CURRENT),
                format!(
                    "points at version {}, but the history's last line made version {} current",
                    current.map_or("none".to_owned(), |s| s.to_string()),
                    last.sequence
                ),
            ));
        }
        // The history records a switch from the version that is current to
        // `last.sequence`, and a crash kept it from happening: complete it,
        // once that version is the one the line recorded.
        let version = self.version_handle(channel, last.sequence)?;
        let (_, record_sha256) = record_in(&version, channel, last.sequence)?;
        if record_sha256 != last.record_sha256 {
            return Err(StoreError::damaged(
                version.path(),
                "its import record differs from the one the history's last line names",
            ));
        }
        super::commit::switch_current(&dir, last.sequence)
    }
}
