//! What the store records: the import record inside each version
//! (`import.json`, immutable with it) and the channel history
//! (`history.jsonl`, one JSON line per import or rollback) that
//! `lbom log` prints and `audit` trusts.

use std::collections::BTreeSet;
use std::io::Write as _;

use serde::{Deserialize, Serialize};

use super::error::{StoreError, io_at};
use super::handle::DirHandle;
use super::paths::{HISTORY, RECORD};
use crate::bundle::manifest::Previous;
use crate::io::digest::Sha256Digest;
use crate::verify::{Signer, Verified};

/// `schema` of `import.json`.
pub const IMPORT_RECORD_SCHEMA: &str = "urn:lbom:store-import:v1";
/// Largest `import.json` read back (a record lists every chain link, each
/// well under 1 KiB; 9,999 links fit).
pub const MAX_RECORD_BYTES: u64 = 16 << 20;
/// Largest `history.jsonl` read (about 100,000 imports of 1 KiB).
pub const MAX_HISTORY_BYTES: u64 = 128 << 20;

/// A stored file the manifest does not list (chain links, the receipt),
/// with the digest `audit` checks it against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredFile {
    /// Path inside the version folder (`bundle/chain/0001.dsse.json`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256.
    pub sha256: Sha256Digest,
}

/// What the caller knows about one import besides the verified bundle.
#[derive(Debug, Clone)]
pub struct ImportInfo {
    /// The bundle's file name (no folder), as given.
    pub bundle_file: String,
    /// Its size in bytes.
    pub bundle_bytes: u64,
    /// The policy's file name.
    pub policy_file: String,
    /// SHA-256 of the policy's bytes.
    pub policy_sha256: Sha256Digest,
    /// Drift classes the operator accepted for this import.
    pub accepted_drift: Vec<String>,
    /// The import time.
    pub time: jiff::Timestamp,
}

/// `import.json`: everything `log` and `audit` need about one version,
/// written into the version before it is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRecord {
    /// [`IMPORT_RECORD_SCHEMA`].
    pub schema: String,
    /// Channel.
    pub channel: String,
    /// Bundle name.
    pub name: String,
    /// Sequence on the channel.
    pub sequence: u64,
    /// SHA-256 of `bundle/manifest.json` (the bundle's identity).
    pub manifest_sha256: Sha256Digest,
    /// The previous bundle the manifest names.
    pub previous: Option<Previous>,
    /// The manifest's `created`.
    pub created: String,
    /// The bundle file name.
    pub bundle_file: String,
    /// The bundle file size.
    pub bundle_bytes: u64,
    /// When it was imported (RFC 3339 UTC).
    pub imported_at: String,
    /// Every verified chain link.
    pub signers: Vec<Signer>,
    /// The policy file name.
    pub policy_file: String,
    /// SHA-256 of the policy.
    pub policy_sha256: Sha256Digest,
    /// Drift classes accepted.
    pub accepted_drift: Vec<String>,
    /// The lbom version that imported it.
    pub tool_version: String,
    /// Files under `bundle/` the manifest does not list (chain links).
    pub unlisted: Vec<StoredFile>,
    /// SHA-256 of `receipt.dsse.json`, when a receipt was signed.
    pub receipt_sha256: Option<Sha256Digest>,
    /// SHA-256 of `facts.json`.
    pub facts_sha256: Option<Sha256Digest>,
    /// The base version a differential bundle was rebuilt from
    /// (docs/bundle-format.md §14); absent for a full bundle, so records
    /// of full bundles read and hash as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Previous>,
}

impl ImportRecord {
    /// The record of `verified` imported with `info` (`unlisted` and
    /// `receipt_sha256` are filled in by commit).
    pub fn new(verified: &Verified, info: &ImportInfo) -> Self {
        let m = &verified.manifest;
        Self {
            schema: IMPORT_RECORD_SCHEMA.to_owned(),
            channel: m.channel.clone(),
            name: m.name.clone(),
            sequence: m.sequence,
            manifest_sha256: verified.manifest_sha256,
            previous: m.previous.clone(),
            created: m.created.clone(),
            bundle_file: info.bundle_file.clone(),
            bundle_bytes: info.bundle_bytes,
            imported_at: crate::bundle::manifest::format_time(info.time),
            signers: verified.signers.clone(),
            policy_file: info.policy_file.clone(),
            policy_sha256: info.policy_sha256,
            accepted_drift: info.accepted_drift.clone(),
            tool_version: crate::TOOL_VERSION.to_owned(),
            unlisted: Vec::new(),
            receipt_sha256: None,
            facts_sha256: None,
            base: m.base.clone(),
        }
    }

    /// Pretty JSON and a final LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain strings and numbers: serialising cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Read and parse the `import.json` of an opened version folder.
    pub(crate) fn read(version: &DirHandle) -> Result<(Self, Sha256Digest), StoreError> {
        let path = version.child(RECORD);
        let bytes = version
            .read_file(RECORD, MAX_RECORD_BYTES)?
            .ok_or_else(|| StoreError::damaged(&path, "is missing"))?;
        let record: Self = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::damaged(&path, format!("import record does not parse: {e}"))
        })?;
        if record.schema != IMPORT_RECORD_SCHEMA {
            return Err(StoreError::damaged(
                &path,
                format!(
                    "unknown import record schema {}",
                    crate::safe::visible(&record.schema)
                ),
            ));
        }
        Ok((record, Sha256Digest::of(&bytes)))
    }
}

/// What a history line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    /// A bundle was imported and became current.
    Import,
    /// `current` was switched back to a kept version.
    Rollback,
    /// Old versions were removed (`removed`); `current` did not change
    /// (docs/store.md, "Prune").
    Prune,
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// What happened.
    pub action: HistoryAction,
    /// The version current afterwards.
    pub sequence: u64,
    /// The version current before, if any.
    pub from: Option<u64>,
    /// That version's manifest SHA-256.
    pub manifest_sha256: Sha256Digest,
    /// SHA-256 of that version's `import.json` (what `audit` checks the
    /// record against).
    pub record_sha256: Sha256Digest,
    /// When (RFC 3339 UTC).
    pub time: String,
    /// The bundle name.
    pub name: String,
    /// The bundle file name.
    pub bundle_file: String,
    /// The verified signers (imports only).
    #[serde(default)]
    pub signers: Vec<Signer>,
    /// Drift classes accepted (imports only).
    #[serde(default)]
    pub accepted_drift: Vec<String>,
    /// Written by the recovery of an interrupted operation. Always false
    /// since the history line is written before the switch it records
    /// (docs/store.md, "Commit protocol"): recovery completes the switch
    /// instead of writing a line. Kept so that every history reads the same.
    #[serde(default)]
    pub recovered: bool,
    /// The versions a prune removed (prune lines only; absent otherwise, so
    /// import and rollback lines read as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<u64>,
    /// For the import of a differential bundle: the sequence of the base
    /// version it was rebuilt from (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential_base: Option<u64>,
}

impl HistoryEntry {
    /// The history line of an import of `record`.
    pub fn import(
        record: &ImportRecord,
        record_sha256: Sha256Digest,
        from: Option<u64>,
    ) -> HistoryEntry {
        HistoryEntry {
            action: HistoryAction::Import,
            sequence: record.sequence,
            from,
            manifest_sha256: record.manifest_sha256,
            record_sha256,
            time: record.imported_at.clone(),
            name: record.name.clone(),
            bundle_file: record.bundle_file.clone(),
            signers: record.signers.clone(),
            accepted_drift: record.accepted_drift.clone(),
            recovered: false,
            removed: Vec::new(),
            differential_base: record.base.as_ref().map(|b| b.sequence),
        }
    }

    /// The history line of a rollback to `record`'s version.
    pub fn rollback(
        record: &ImportRecord,
        record_sha256: Sha256Digest,
        from: Option<u64>,
        time: jiff::Timestamp,
    ) -> HistoryEntry {
        Self::of_record(
            HistoryAction::Rollback,
            record,
            record_sha256,
            from,
            time,
            Vec::new(),
        )
    }

    /// A history line about an already stored version `record` (a rollback
    /// to it, a prune that kept it current): no signers, no drift accepted.
    fn of_record(
        action: HistoryAction,
        record: &ImportRecord,
        record_sha256: Sha256Digest,
        from: Option<u64>,
        time: jiff::Timestamp,
        removed: Vec<u64>,
    ) -> HistoryEntry {
        HistoryEntry {
            action,
            sequence: record.sequence,
            from,
            manifest_sha256: record.manifest_sha256,
            record_sha256,
            time: crate::bundle::manifest::format_time(time),
            name: record.name.clone(),
            bundle_file: record.bundle_file.clone(),
            signers: Vec::new(),
            accepted_drift: Vec::new(),
            recovered: false,
            removed,
            differential_base: None,
        }
    }

    /// The history line of a prune that removed `removed` while `record`'s
    /// version (`current`, unchanged) stayed current.
    pub fn prune(
        record: &ImportRecord,
        record_sha256: Sha256Digest,
        removed: Vec<u64>,
        time: jiff::Timestamp,
    ) -> HistoryEntry {
        let from = Some(record.sequence);
        Self::of_record(
            HistoryAction::Prune,
            record,
            record_sha256,
            from,
            time,
            removed,
        )
    }
}

/// The versions a history keeps: every imported sequence, less those a
/// later prune line removed (a pruned sequence imported again is kept
/// again). docs/store.md, "Prune".
pub fn kept_versions(entries: &[HistoryEntry]) -> BTreeSet<u64> {
    let mut kept = BTreeSet::new();
    for e in entries {
        match e.action {
            HistoryAction::Import => {
                kept.insert(e.sequence);
            }
            HistoryAction::Rollback => {}
            HistoryAction::Prune => {
                for seq in &e.removed {
                    kept.remove(seq);
                }
            }
        }
    }
    kept
}

/// The versions a history says were pruned and not imported again.
pub fn pruned_versions(entries: &[HistoryEntry]) -> BTreeSet<u64> {
    let mut pruned = BTreeSet::new();
    for e in entries {
        match e.action {
            HistoryAction::Import => {
                pruned.remove(&e.sequence);
            }
            HistoryAction::Rollback => {}
            HistoryAction::Prune => pruned.extend(e.removed.iter().copied()),
        }
    }
    pruned
}

/// A history file as read: its complete lines, and the length of a torn
/// last line (an append cut by a crash) if any.
#[derive(Debug, Default)]
pub(crate) struct HistoryFile {
    pub entries: Vec<HistoryEntry>,
    /// Bytes up to the end of the last complete line.
    pub complete_len: u64,
    /// Whether bytes follow the last complete line.
    pub torn: bool,
}

/// Read a channel's `history.jsonl` (through the channel folder's handle);
/// a missing file is an empty history.
pub(crate) fn read_history(channel: &DirHandle) -> Result<HistoryFile, StoreError> {
    let Some(bytes) = channel.read_file(HISTORY, MAX_HISTORY_BYTES)? else {
        return Ok(HistoryFile::default());
    };
    let path = channel.child(HISTORY);
    let complete = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i.saturating_add(1));
    let mut entries = Vec::new();
    for (n, line) in bytes
        .get(..complete)
        .unwrap_or_default()
        .split(|b| *b == b'\n')
        .enumerate()
    {
        if line.is_empty() {
            continue;
        }
        let entry = serde_json::from_slice(line).map_err(|e| {
            StoreError::damaged(
                &path,
                format!("line {} does not parse: {e}", n.saturating_add(1)),
            )
        })?;
        entries.push(entry);
    }
    Ok(HistoryFile {
        entries,
        complete_len: complete as u64,
        torn: complete < bytes.len(),
    })
}

/// Append one line to a channel's `history.jsonl` in one write, then fsync
/// it (and the channel folder when the file is new).
pub(crate) fn append_history(channel: &DirHandle, entry: &HistoryEntry) -> Result<(), StoreError> {
    let mut line = serde_json::to_vec(entry).unwrap_or_default();
    line.push(b'\n');
    let (mut file, created) = channel.open_append(HISTORY)?;
    let path = channel.child(HISTORY);
    file.write_all(&line).map_err(io_at(&path))?;
    file.sync_all().map_err(io_at(&path))?;
    if created {
        channel.sync()?;
    }
    Ok(())
}

/// Cut a torn last line off (under the store lock only).
pub(crate) fn truncate_torn(channel: &DirHandle, complete_len: u64) -> Result<(), StoreError> {
    let file = channel.open_write(HISTORY)?;
    let path = channel.child(HISTORY);
    file.set_len(complete_len).map_err(io_at(&path))?;
    file.sync_all().map_err(io_at(&path))
}
