//! Committing a staged version (docs/store.md, "Commit protocol").
//!
//! The single commit point is the rename of `current.tmp` over `current`.
//! Before it, readers see the old version; after it, the new one. The
//! history line is written just before it, so `current` never points at a
//! version the history does not record: a crash between the two leaves a
//! history one switch ahead of `current`, which [`LockedStore::recover`]
//! completes (and `audit` notes), while a `current` the history does not
//! explain is damage. Everything is done through folder handles, never
//! following a link (docs/store.md, "No link is ever followed").

use std::collections::BTreeSet;

use serde::Serialize;

use super::error::StoreError;
use super::fsutil;
use super::handle::DirHandle;
use super::lock::LockedStore;
use super::paths::{CURRENT, CURRENT_TMP, RECEIPT, RECORD};
use super::record::{HistoryEntry, ImportInfo, ImportRecord, append_history};
use super::registry;
use super::sink::Staged;
use crate::bundle::manifest::check_label;
use crate::bundle::{Role, layout};
use crate::envelope::Envelope;
use crate::io::digest::Sha256Digest;
use crate::verify::Verified;

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Committed {
    /// The version became current.
    New {
        /// Channel.
        channel: String,
        /// The new current sequence.
        sequence: u64,
        /// The sequence current before, if any.
        previous: Option<u64>,
        /// Artifacts shared with the previous version.
        shared_files: u64,
        /// Artifacts written from the bundle.
        written_files: u64,
        /// Whether a signed receipt was stored.
        receipt: bool,
    },
    /// The bundle is the channel's current version already: nothing changed.
    AlreadyCurrent {
        /// Channel.
        channel: String,
        /// Its sequence.
        sequence: u64,
    },
}

/// Points of the commit protocol where tests inject a crash (a no-op
/// outside tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultPoint {
    /// Staged version complete and fsynced, nothing else changed.
    Staged,
    /// Version folder renamed into the channel, not yet sealed or recorded.
    VersionRenamed,
    /// Version folder sealed, not yet recorded.
    Sealed,
    /// History line appended, `current` not yet switched.
    Recorded,
    /// `current.tmp` written, not yet renamed over `current`.
    TempLinked,
}

#[cfg(test)]
thread_local! {
    pub(crate) static FAULT: std::cell::Cell<Option<FaultPoint>> = const { std::cell::Cell::new(None) };
}

/// A simulated crash: the commit stops here, leaving the disk as it is.
#[cfg(test)]
fn fault(point: FaultPoint) -> Result<(), StoreError> {
    if FAULT.with(std::cell::Cell::get) == Some(point) {
        return Err(StoreError::Refused(format!("injected crash at {point:?}")));
    }
    Ok(())
}

#[cfg(not(test))]
#[inline(always)]
fn fault(_: FaultPoint) -> Result<(), StoreError> {
    Ok(())
}

/// Commit `staged` (filled by verifying `verified`'s bundle) as the
/// channel's new current version, with `receipt` stored beside it.
///
/// Steps (docs/store.md, "Commit protocol"): check the staged version is
/// complete; write the receipt and `import.json`; seal and fsync the staged
/// tree; create and register the channel folder if new; rename the staged
/// folder to `<channel>/<seq>` (replacing a folder of that number that was
/// never recorded), checking it is the folder this import wrote; seal it;
/// append the history line; switch `current` (the commit point). The
/// caller holds the lock and ran [`LockedStore::recover`] before staging
/// (as [`super::import`] does). Re-committing the current bundle returns
/// [`Committed::AlreadyCurrent`] and removes the staged copy.
pub fn commit(
    store: &LockedStore,
    mut staged: Staged,
    verified: &Verified,
    info: &ImportInfo,
    receipt: Option<&Envelope>,
) -> Result<Committed, StoreError> {
    let manifest = &verified.manifest;
    let channel = manifest.channel.as_str();
    check_label("channel", channel).map_err(StoreError::Refused)?;
    let sequence = manifest.sequence;
    if sequence == 0 {
        return Err(StoreError::Refused(
            "sequence 0 is not a valid version (sequences start at 1)".into(),
        ));
    }
    let previous = store.current(channel)?;
    if previous == Some(sequence) {
        let (record, _) = store.record(channel, sequence)?;
        if record.manifest_sha256 == verified.manifest_sha256 {
            staged.discard()?;
            return Ok(Committed::AlreadyCurrent {
                channel: channel.to_owned(),
                sequence,
            });
        }
    }
    if let Err(e) = check_complete(&staged, verified) {
        staged.discard()?;
        return Err(e);
    }
    let (shared_files, written_files) = staged.counts();
    let record = write_record(&mut staged, verified, info, receipt)?;
    fsutil::seal_subdirs(staged.handle())?;
    fault(FaultPoint::Staged)?;

    let channel_dir = ensure_channel(store, channel)?;
    let name = sequence.to_string();
    if channel_dir.stat(&name)?.is_some() {
        if store.is_committed(channel, sequence)? {
            return reuse_kept(store, &channel_dir, staged, verified, previous, record);
        }
        // A version renamed in but never recorded (a crash before the
        // history line): it never was a baseline; the fresh staged copy,
        // verified just now, replaces it. Removed as what it is, never
        // followed.
        channel_dir.remove_entry(&name)?;
        channel_dir.sync()?;
    }
    staged.move_into(&channel_dir, &name)?;
    channel_dir.sync()?;
    if let Some(staging) = store.staging()? {
        staging.sync()?;
    }
    fault(FaultPoint::VersionRenamed)?;
    fsutil::seal_dir(staged.handle())?;
    fault(FaultPoint::Sealed)?;

    let record_sha256 = Sha256Digest::of(&record.to_bytes());
    append_history(
        &channel_dir,
        &HistoryEntry::import(&record, record_sha256, previous),
    )?;
    fault(FaultPoint::Recorded)?;
    switch_current(&channel_dir, sequence).map_err(|e| pending(channel, sequence, e))?;
    Ok(Committed::New {
        channel: channel.to_owned(),
        sequence,
        previous,
        shared_files,
        written_files,
        receipt: receipt.is_some(),
    })
}

/// The channel's folder, created (0755, the store folder fsynced) and then
/// registered in `.channels` when new. A crash between the two leaves an
/// empty unregistered folder, which recovery removes.
fn ensure_channel(store: &LockedStore, channel: &str) -> Result<DirHandle, StoreError> {
    let root = store.handle();
    let (dir, created) = root.ensure_dir(channel, fsutil::WRITABLE_DIR_MODE)?;
    if created {
        root.sync()?;
    }
    if !registry::read(root)?.has(channel) {
        registry::register(root, channel)?;
    }
    Ok(dir)
}

/// The sequence is a kept version already. The same bundle (an older
/// version re-imported, which the verifier let through because the policy
/// allows rollback) is switched to; a different one cannot be stored under
/// the same number.
fn reuse_kept(
    store: &LockedStore,
    channel_dir: &DirHandle,
    staged: Staged,
    verified: &Verified,
    previous: Option<u64>,
    record: ImportRecord,
) -> Result<Committed, StoreError> {
    let channel = record.channel.as_str();
    let (kept, kept_sha256) = store.record(channel, record.sequence)?;
    if kept.manifest_sha256 != verified.manifest_sha256 {
        staged.discard()?;
        return Err(StoreError::Conflict(format!(
            "channel {channel} already keeps version {} with manifest {}; a different bundle with the same sequence cannot be stored beside it",
            record.sequence, kept.manifest_sha256
        )));
    }
    staged.discard()?;
    let mut entry = HistoryEntry::import(&kept, kept_sha256, previous);
    entry.time = record.imported_at.clone();
    entry.accepted_drift = record.accepted_drift.clone();
    append_history(channel_dir, &entry)?;
    switch_current(channel_dir, record.sequence)
        .map_err(|e| pending(channel, record.sequence, e))?;
    Ok(Committed::New {
        channel: channel.to_owned(),
        sequence: record.sequence,
        previous,
        shared_files: 0,
        written_files: 0,
        receipt: kept.receipt_sha256.is_some(),
    })
}

pub(crate) fn pending(channel: &str, sequence: u64, e: StoreError) -> StoreError {
    StoreError::SwitchPending {
        channel: channel.to_owned(),
        sequence,
        source: Box::new(e),
    }
}

/// Refuse to commit what the verifier did not fully stage: every manifest
/// artifact, SBOM and attestation, every chain link, nothing more. The
/// manifest itself is written from the verified bytes when the verifier did
/// not hand it over, and must equal them when it did.
fn check_complete(staged: &Staged, verified: &Verified) -> Result<(), StoreError> {
    let incomplete = |what: String| {
        StoreError::Refused(format!(
            "the verifier did not stage the whole bundle ({what}); nothing was committed"
        ))
    };
    let mut artifacts = BTreeSet::new();
    for entry in &verified.manifest.entries {
        match entry.role {
            Role::Artifact => {
                let path = entry
                    .artifact_path()
                    .ok_or_else(|| incomplete(format!("bad artifact entry {}", entry.path)))?;
                artifacts.insert(path.as_str().to_owned());
            }
            Role::Sbom | Role::Attestation => {
                if !staged.has_metadata(entry.path.as_str()) {
                    return Err(incomplete(format!("{} missing", entry.path)));
                }
            }
        }
    }
    if &artifacts != staged.artifacts() {
        return Err(incomplete("artifacts differ from the manifest".into()));
    }
    if staged.chain_links().len() != verified.signers.len() {
        return Err(incomplete(format!(
            "{} chain links staged, {} verified",
            staged.chain_links().len(),
            verified.signers.len()
        )));
    }
    let listed: BTreeSet<&str> = verified
        .manifest
        .entries
        .iter()
        .filter(|e| e.role != Role::Artifact)
        .map(|e| e.path.as_str())
        .collect();
    let chain_prefix = format!("{}/", layout::CHAIN_DIR);
    if let Some(stray) = staged
        .metadata_names()
        .find(|n| *n != layout::MANIFEST && !listed.contains(n) && !n.starts_with(&chain_prefix))
    {
        return Err(incomplete(format!("{stray} is not a bundle entry")));
    }
    if Sha256Digest::of(&verified.manifest_bytes) != verified.manifest_sha256 {
        return Err(incomplete(
            "manifest bytes do not match their digest".into(),
        ));
    }
    let bundle = staged.bundle();
    if staged.has_metadata(layout::MANIFEST) {
        let limit = verified.manifest_bytes.len() as u64;
        let bytes = bundle.read_file(layout::MANIFEST, limit)?;
        if bytes.as_deref() != Some(verified.manifest_bytes.as_slice()) {
            return Err(incomplete("staged manifest differs".into()));
        }
    } else {
        bundle.write_new_synced(layout::MANIFEST, &verified.manifest_bytes)?;
    }
    Ok(())
}

/// Write the receipt (if any) and then `import.json` naming its digest.
fn write_record(
    staged: &mut Staged,
    verified: &Verified,
    info: &ImportInfo,
    receipt: Option<&Envelope>,
) -> Result<ImportRecord, StoreError> {
    let mut record = ImportRecord::new(verified, info);
    record.unlisted = staged.chain_links();
    // Written before the drift gate, which then took the facts
    // (`Staged::write_facts`); written here when no gate ran first.
    let facts_sha256 = match staged.facts_sha256() {
        Some(d) => d,
        None => staged.write_facts(&verified.facts)?,
    };
    let dir = staged.handle();
    if let Some(envelope) = receipt {
        let bytes = envelope.encode();
        dir.write_new_synced(RECEIPT, &bytes)?;
        record.receipt_sha256 = Some(Sha256Digest::of(&bytes));
    }
    record.facts_sha256 = Some(facts_sha256);
    dir.write_new_synced(RECORD, &record.to_bytes())?;
    Ok(record)
}

/// Point `current` at `sequence` in one rename: a new relative symlink
/// `current.tmp` → `<seq>`, renamed over `current`, then the channel folder
/// fsynced, all through the channel folder's handle. rename(2) replaces the
/// old link atomically; a crash before it leaves only a stray `current.tmp`,
/// which recovery removes. `current` is read back: a link swapped in between
/// is refused, not served.
pub(crate) fn switch_current(channel_dir: &DirHandle, sequence: u64) -> Result<(), StoreError> {
    let target = sequence.to_string();
    channel_dir.remove_entry(CURRENT_TMP)?;
    channel_dir.symlink(&target, CURRENT_TMP)?;
    fault(FaultPoint::TempLinked)?;
    channel_dir.rename(CURRENT_TMP, channel_dir, CURRENT)?;
    channel_dir.sync()?;
    if channel_dir.read_link(CURRENT)?.as_deref() != Some(std::ffi::OsStr::new(&target)) {
        return Err(StoreError::damaged(
            &channel_dir.child(CURRENT),
            format!("does not point at {target} right after lbom switched it"),
        ));
    }
    Ok(())
}
