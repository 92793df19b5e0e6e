//! `lbom rollback`: point a channel's `current` back to a kept version.

use serde::Serialize;

use super::audit::audit_version;
use super::commit::{pending, switch_current};
use super::error::StoreError;
use super::lock::LockedStore;
use super::record::{HistoryEntry, append_history, kept_versions, pruned_versions};

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
/// that still matches its records (re-hashed in full, as `audit` does) is
/// accepted; anything else is refused and nothing changes.
pub fn rollback(
    store: &LockedStore,
    channel: &str,
    to_seq: u64,
    now: jiff::Timestamp,
) -> Result<RolledBack, StoreError> {
    store.recover()?;
    let version = store.version_dir(channel, to_seq)?;
    let history = store.history(channel)?;
    if pruned_versions(&history).contains(&to_seq) {
        return Err(StoreError::Refused(format!(
            "version {to_seq} of channel {channel} was pruned (lbom prune): it can no longer be rolled back to (kept: {})",
            kept_list(&history)
        )));
    }
    let exists = store.open_version(channel, to_seq)?.is_some();
    if !store.is_committed(channel, to_seq)? || !exists {
        return Err(StoreError::Refused(format!(
            "channel {channel} keeps no version {to_seq} (kept: {})",
            kept_list(&history)
        )));
    }
    // Never switch to a version that no longer matches its records: re-hash
    // it all first (rollback is rare; a damaged target is worse).
    let recorded = history
        .iter()
        .rev()
        .find(|e| e.sequence == to_seq)
        .map(|e| e.record_sha256);
    let checked = audit_version(store, channel, to_seq, recorded)?;
    if let Some(p) = checked.problems.first() {
        return Err(StoreError::damaged(
            &version,
            format!(
                "version {to_seq} differs from its records ({} {}: {})",
                p.kind.code(),
                crate::safe::visible(&p.path),
                crate::safe::visible(&p.detail)
            ),
        ));
    }
    let (record, record_sha256) = store.record(channel, to_seq)?;
    let from = store.current(channel)?;
    if from == Some(to_seq) {
        return Ok(RolledBack::AlreadyCurrent { to: to_seq });
    }
    // History first, then the switch (docs/store.md, "Commit protocol"): a
    // crash between them is completed by the next writer's recovery.
    let channel_dir = store
        .open_channel(channel)?
        .ok_or_else(|| StoreError::Refused(format!("no channel {channel} in this store")))?;
    append_history(
        &channel_dir,
        &HistoryEntry::rollback(&record, record_sha256, from, now),
    )?;
    switch_current(&channel_dir, to_seq).map_err(|e| pending(channel, to_seq, e))?;
    Ok(RolledBack::Switched { from, to: to_seq })
}

/// The versions a history keeps, for a refusal's message.
fn kept_list(history: &[HistoryEntry]) -> String {
    let kept: Vec<String> = kept_versions(history).iter().map(u64::to_string).collect();
    if kept.is_empty() {
        "none".to_owned()
    } else {
        kept.join(", ")
    }
}
