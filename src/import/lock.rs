//! The store lock and the recovery every writer runs under it.
//!
//! Writers (import, rollback) hold an exclusive `flock` on `STORE/.lock`
//! (`filelock::ExclusiveLock`, as `lbom sign` locks a bundle) for their whole
//! run; a second writer is refused at once rather than queued. Readers
//! (`audit`, `log`, `channel_state`) take no lock: every state a writer can
//! leave is a consistent one (docs/store.md, "Commit protocol").

use std::fs::{self, OpenOptions};
use std::io;
use std::ops::Deref;
use std::os::unix::fs::OpenOptionsExt as _;

use super::error::{StoreError, io_at};
use super::fsutil;
use super::layout::{CURRENT_TMP, HISTORY, LOCK, RECORD, Store};
use super::record::{
    HistoryAction, HistoryEntry, ImportRecord, append_history, read_history, truncate_torn,
};
use crate::filelock::ExclusiveLock;

/// A store held under its exclusive lock; released on drop.
#[derive(Debug)]
pub struct LockedStore {
    store: Store,
    _lock: ExclusiveLock,
}

impl Deref for LockedStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Store {
    /// Take the store's exclusive lock, or fail at once with
    /// [`StoreError::Locked`] when another process holds it.
    pub fn lock(&self) -> Result<LockedStore, StoreError> {
        let path = self.root().join(LOCK);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io_at(&path))?;
        match ExclusiveLock::try_new(file).map_err(io_at(&path))? {
            Some(lock) => Ok(LockedStore {
                store: self.clone(),
                _lock: lock,
            }),
            None => Err(StoreError::Locked {
                path: self.root().to_path_buf(),
            }),
        }
    }
}

impl LockedStore {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Remove whatever interrupted imports left in `STORE/.staging/`
    /// (nothing there was ever committed). Returns how many were removed.
    pub fn cleanup_staging(&self) -> Result<usize, StoreError> {
        let staging = self.staging_dir();
        let entries = match fs::read_dir(&staging) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io_at(&staging)(e)),
        };
        let mut removed = 0usize;
        for entry in entries {
            let path = entry.map_err(io_at(&staging))?.path();
            fsutil::remove_tree(&path).map_err(io_at(&path))?;
            removed = removed.saturating_add(1);
        }
        if removed > 0 {
            fsutil::sync_dir(&staging).map_err(io_at(&staging))?;
        }
        Ok(removed)
    }

    /// Finish or undo what an interrupted writer left: empty the staging
    /// folder, and in each channel remove a stray `current.tmp`, cut a torn
    /// history line, and append the history line of a switch of `current`
    /// that a crash kept from being recorded (derived from the version's
    /// own `import.json`). Run by every writer before it changes anything.
    pub fn recover(&self, now: jiff::Timestamp) -> Result<(), StoreError> {
        self.cleanup_staging()?;
        for channel in self.channels()? {
            self.recover_channel(&channel, now)?;
        }
        Ok(())
    }

    fn recover_channel(&self, channel: &str, now: jiff::Timestamp) -> Result<(), StoreError> {
        let dir = self.channel_dir(channel)?;
        fsutil::remove_tree(&dir.join(CURRENT_TMP)).map_err(io_at(&dir))?;
        let history_path = dir.join(HISTORY);
        let history = read_history(&history_path)?;
        if history.torn {
            truncate_torn(&history_path, history.complete_len)?;
        }
        let Some(current) = self.current(channel)? else {
            return Ok(());
        };
        let last = history.entries.last().map(|e| e.sequence);
        if last == Some(current) {
            return Ok(());
        }
        // `current` was switched (the commit point) but the history line
        // was not written. A version imported before makes it a rollback.
        let (record, record_sha256) =
            ImportRecord::read(&dir.join(current.to_string()).join(RECORD))?;
        let imported_before = history
            .entries
            .iter()
            .any(|e| e.action == HistoryAction::Import && e.sequence == current);
        let mut entry = if imported_before {
            HistoryEntry::rollback(&record, record_sha256, last, now)
        } else {
            HistoryEntry::import(&record, record_sha256, last)
        };
        entry.recovered = true;
        append_history(&history_path, &entry)
    }
}
