//! `lbom prune`: remove a channel's old versions, keeping the newest N and
//! `current` (docs/store.md, "Prune").
//!
//! The prune line is appended to the history first, then each removed
//! version folder is moved into `.staging/` through folder handles and
//! deleted there: a crash leaves either folders the history calls pruned
//! (the next writer's recovery finishes the job, `finish_prune`) or
//! entries in `.staging/` (every writer empties it). Nothing is followed.

use std::collections::BTreeSet;
use std::ffi::OsStr;

use serde::Serialize;

use super::error::StoreError;
use super::fsutil;
use super::handle::{DirHandle, EntryType};
use super::lock::LockedStore;
use super::paths::EntryKind;
use super::record::{HistoryEntry, append_history, kept_versions, pruned_versions, read_history};

/// Prefix of a pruned version's folder while it is deleted in `.staging/`.
const PRUNED_PREFIX: &str = "prune-";

/// What a prune did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// The channel.
    pub channel: String,
    /// The current version (kept, unchanged).
    pub current: u64,
    /// The versions kept, oldest first.
    pub kept: Vec<u64>,
    /// The versions removed, oldest first (empty: nothing to do, and no
    /// history line written).
    pub removed: Vec<u64>,
}

/// Remove `channel`'s kept versions but the newest `keep` and `current`,
/// under the store lock: recover first, append one `prune` history line
/// naming the removed sequences, then move each removed folder into
/// `.staging/` and delete it there.
pub fn prune(
    store: &LockedStore,
    channel: &str,
    keep: usize,
    now: jiff::Timestamp,
) -> Result<Pruned, StoreError> {
    store.recover()?;
    let dir = store
        .open_channel(channel)?
        .ok_or_else(|| StoreError::Refused(format!("no channel {channel} in this store")))?;
    let current = store.current(channel)?.ok_or_else(|| {
        StoreError::Refused(format!("channel {channel} has no current version to keep"))
    })?;
    let history = read_history(&dir)?;
    let stored = kept_versions(&history.entries);
    let newest: BTreeSet<u64> = stored.iter().rev().take(keep).copied().collect();
    let (kept, removed): (Vec<u64>, Vec<u64>) = stored
        .iter()
        .copied()
        .chain(std::iter::once(current))
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .partition(|s| *s == current || newest.contains(s));
    if removed.is_empty() {
        return Ok(Pruned {
            channel: channel.to_owned(),
            current,
            kept,
            removed,
        });
    }
    // Every folder to remove must be a real folder before anything is
    // recorded (recovery's structure check has refused links already; this
    // also catches a folder that is missing).
    for seq in &removed {
        let name = seq.to_string();
        match dir.stat(&name)? {
            Some(s) if s.kind == EntryType::Folder => {}
            Some(s) => {
                return Err(dir.wrong_type(OsStr::new(&name), s.kind, EntryKind::Folder));
            }
            None => {
                return Err(StoreError::damaged(
                    &dir.child(&name),
                    "recorded in the history, but its folder is missing",
                ));
            }
        }
    }
    let (record, record_sha256) = store.record(channel, current)?;
    append_history(
        &dir,
        &HistoryEntry::prune(&record, record_sha256, removed.clone(), now),
    )?;
    for seq in &removed {
        remove_version(store, &dir, *seq)?;
    }
    Ok(Pruned {
        channel: channel.to_owned(),
        current,
        kept,
        removed,
    })
}

/// Finish an interrupted prune (recovery, under the lock): remove every
/// folder of `dir` the history says was pruned.
pub(crate) fn finish_prune(store: &LockedStore, dir: &DirHandle) -> Result<(), StoreError> {
    let history = read_history(dir)?;
    let current = super::layout::current_in(dir)?;
    for seq in pruned_versions(&history.entries) {
        if current == Some(seq) {
            // lbom never prunes current: a history that says so was not
            // written by it, and nothing is removed on its word.
            return Err(StoreError::damaged(
                &dir.child(super::paths::HISTORY),
                format!("says version {seq} was pruned, but current names it"),
            ));
        }
        if dir.stat(seq.to_string())?.is_some() {
            remove_version(store, dir, seq)?;
        }
    }
    Ok(())
}

/// Move the version folder `seq` of the channel `dir` into `.staging/`
/// (one rename between folder handles; the entry moved is checked to be
/// the folder seen before), then delete it there, entry by entry and never
/// following a link.
fn remove_version(store: &LockedStore, dir: &DirHandle, seq: u64) -> Result<(), StoreError> {
    let name = seq.to_string();
    let Some(before) = dir.stat(&name)? else {
        return Ok(());
    };
    if before.kind != EntryType::Folder {
        return Err(dir.wrong_type(OsStr::new(&name), before.kind, EntryKind::Folder));
    }
    // Linux needs write permission on a folder to move it to another
    // parent (its `..` changes); a sealed version is 0555.
    if let Some(version) = dir.open_dir(&name)? {
        version.set_mode(fsutil::WRITABLE_DIR_MODE)?;
    }
    let (staging, staged) = store.staging_slot(PRUNED_PREFIX)?;
    dir.rename(&name, &staging, &staged)?;
    let moved = staging.stat(&staged)?;
    if !moved.is_some_and(|m| m.same_object(&before)) {
        return Err(StoreError::damaged(
            &staging.child(&staged),
            format!(
                "is not the folder {} that was moved",
                dir.child(&name).display()
            ),
        ));
    }
    dir.sync()?;
    staging.sync()?;
    staging.remove_entry(&staged)?;
    staging.sync()
}
