//! `lbom rollback`: point a channel's `current` back to a kept version.

use serde::Serialize;

use super::commit::switch_current;
use super::error::StoreError;
use super::layout::{BUNDLE_DIR, HISTORY};
use super::lock::LockedStore;
use super::record::{HistoryEntry, append_history};
use crate::bundle::{ReadLimits, layout};
use crate::inspect::digest::Sha256Digest;

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RolledBack {
    /// `current` now points at `to`.
    Switched {
        /// The version current before.
        from: Option<u64>,
        /// The version current now.
        to: u64,
    },
    /// `to` was current already.
    AlreadyCurrent {
        /// The version.
        to: u64,
    },
}

/// Switch `channel`'s `current` to the kept version `to_seq`, atomically
/// (one rename), and record it in the history. Only a committed version
/// whose record and manifest still agree is accepted; anything else is
/// refused and nothing changes.
pub fn rollback(
    store: &LockedStore,
    channel: &str,
    to_seq: u64,
    now: jiff::Timestamp,
) -> Result<RolledBack, StoreError> {
    store.recover(now)?;
    let channel_dir = store.channel_dir(channel)?;
    let version = store.version_dir(channel, to_seq)?;
    if !store.is_committed(channel, to_seq)? || std::fs::symlink_metadata(&version).is_err() {
        let kept: Vec<String> = store
            .channel_state(channel)?
            .versions
            .keys()
            .map(u64::to_string)
            .collect();
        return Err(StoreError::Refused(format!(
            "channel {channel} keeps no version {to_seq} (kept: {})",
            if kept.is_empty() {
                "none".to_owned()
            } else {
                kept.join(", ")
            }
        )));
    }
    let (record, record_sha256) = store.record(channel, to_seq)?;
    let manifest = version.join(BUNDLE_DIR).join(layout::MANIFEST);
    let bytes = super::fsutil::read_small(&manifest, ReadLimits::default().max_json_bytes)
        .map_err(super::error::io_at(&manifest))?;
    if Sha256Digest::of(&bytes) != record.manifest_sha256 {
        return Err(StoreError::damaged(
            &manifest,
            "no longer hashes to the recorded digest; run lbom audit",
        ));
    }
    let from = store.current(channel)?;
    if from == Some(to_seq) {
        return Ok(RolledBack::AlreadyCurrent { to: to_seq });
    }
    switch_current(&channel_dir, to_seq)?;
    append_history(
        &channel_dir.join(HISTORY),
        &HistoryEntry::rollback(&record, record_sha256, from, now),
    )?;
    Ok(RolledBack::Switched { from, to: to_seq })
}
