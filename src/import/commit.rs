//! Committing a staged version (docs/store.md, "Commit protocol").
//!
//! The single commit point is the rename of `current.tmp` over `current`.
//! Before it, readers see the old version; after it, the new one. Every
//! other step is either invisible (staging, the version folder that is not
//! yet current) or derivable from what the commit point made visible (the
//! history line is re-derived from the version's `import.json` by
//! [`LockedStore::recover`]).

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::Path;

use serde::Serialize;

use super::error::{StoreError, io_at};
use super::fsutil;
use super::layout::{BUNDLE_DIR, CURRENT, CURRENT_TMP, FACTS, HISTORY, RECEIPT, RECORD};
use super::lock::LockedStore;
use super::record::{HistoryEntry, ImportInfo, ImportRecord, append_history};
use super::sink::Staged;
use crate::bundle::manifest::check_label;
use crate::bundle::{Role, layout};
use crate::envelope::Envelope;
use crate::inspect::digest::Sha256Digest;
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
    /// Version folder renamed into the channel, not yet sealed or current.
    VersionRenamed,
    /// Version folder sealed, not yet current.
    Sealed,
    /// `current.tmp` written, not yet renamed over `current`.
    TempLinked,
    /// `current` switched (committed), history line not yet appended.
    Switched,
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
/// tree; rename it to `<channel>/<seq>` (replacing a folder of that number
/// that was never current); seal it; switch `current` (the commit point);
/// append the history line. The caller holds the lock and ran
/// [`LockedStore::recover`] before staging (as [`super::import`] does).
/// Re-committing the current bundle returns [`Committed::AlreadyCurrent`]
/// and removes the staged copy.
pub fn commit(
    store: &LockedStore,
    staged: Staged,
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
    let channel_dir = store.channel_dir(channel)?;
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
    let record = write_record(&staged, verified, info, receipt)?;
    fsutil::seal_subdirs(staged.dir()).map_err(io_at(staged.dir()))?;
    fault(FaultPoint::Staged)?;

    ensure_dir(store.root(), &channel_dir)?;
    let target = channel_dir.join(sequence.to_string());
    if fs::symlink_metadata(&target).is_ok() {
        if store.is_committed(channel, sequence)? {
            return reuse_kept(store, staged, verified, previous, record);
        }
        // A version renamed in but never made current (a crash before the
        // commit point): it never was a baseline; the fresh staged copy,
        // verified just now, replaces it.
        fsutil::remove_tree(&target).map_err(io_at(&target))?;
        fsutil::sync_dir(&channel_dir).map_err(io_at(&channel_dir))?;
    }
    fs::rename(staged.dir(), &target).map_err(io_at(&target))?;
    fsutil::sync_dir(&channel_dir).map_err(io_at(&channel_dir))?;
    let staging = store.staging_dir();
    fsutil::sync_dir(&staging).map_err(io_at(&staging))?;
    fault(FaultPoint::VersionRenamed)?;
    fsutil::seal_dir(&target).map_err(io_at(&target))?;
    fault(FaultPoint::Sealed)?;

    switch_current(&channel_dir, sequence)?;
    fault(FaultPoint::Switched)?;
    let record_sha256 = Sha256Digest::of(&record.to_bytes());
    append_history(
        &channel_dir.join(HISTORY),
        &HistoryEntry::import(&record, record_sha256, previous),
    )
    .map_err(|e| unrecorded(channel, sequence, e))?;
    Ok(Committed::New {
        channel: channel.to_owned(),
        sequence,
        previous,
        shared_files,
        written_files,
        receipt: receipt.is_some(),
    })
}

/// The sequence is a kept version already. The same bundle (an older
/// version re-imported, which the verifier let through because the policy
/// allows rollback) is switched to; a different one cannot be stored under
/// the same number.
fn reuse_kept(
    store: &LockedStore,
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
    let channel_dir = store.channel_dir(channel)?;
    switch_current(&channel_dir, record.sequence)?;
    let mut entry = HistoryEntry::import(&kept, kept_sha256, previous);
    entry.time = record.imported_at.clone();
    entry.accepted_drift = record.accepted_drift.clone();
    append_history(&channel_dir.join(HISTORY), &entry)
        .map_err(|e| unrecorded(channel, record.sequence, e))?;
    Ok(Committed::New {
        channel: channel.to_owned(),
        sequence: record.sequence,
        previous,
        shared_files: 0,
        written_files: 0,
        receipt: kept.receipt_sha256.is_some(),
    })
}

pub(crate) fn unrecorded(channel: &str, sequence: u64, e: StoreError) -> StoreError {
    StoreError::CommittedUnrecorded {
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
    let manifest_path = staged.dir().join(BUNDLE_DIR).join(layout::MANIFEST);
    if Sha256Digest::of(&verified.manifest_bytes) != verified.manifest_sha256 {
        return Err(incomplete(
            "manifest bytes do not match their digest".into(),
        ));
    }
    if staged.has_metadata(layout::MANIFEST) {
        let limit = verified.manifest_bytes.len() as u64;
        let bytes = fsutil::read_small(&manifest_path, limit).map_err(io_at(&manifest_path))?;
        if bytes != verified.manifest_bytes {
            return Err(incomplete("staged manifest differs".into()));
        }
    } else {
        fsutil::write_new_synced(&manifest_path, &verified.manifest_bytes)
            .map_err(io_at(&manifest_path))?;
    }
    Ok(())
}

/// Write the receipt (if any) and then `import.json` naming its digest.
fn write_record(
    staged: &Staged,
    verified: &Verified,
    info: &ImportInfo,
    receipt: Option<&Envelope>,
) -> Result<ImportRecord, StoreError> {
    let mut record = ImportRecord::new(verified, info);
    record.unlisted = staged.chain_links();
    if let Some(envelope) = receipt {
        let bytes = envelope.encode();
        let path = staged.dir().join(RECEIPT);
        fsutil::write_new_synced(&path, &bytes).map_err(io_at(&path))?;
        record.receipt_sha256 = Some(Sha256Digest::of(&bytes));
    }
    let facts: Vec<&crate::inspect::facts::ModelFacts> =
        verified.facts.iter().map(|(_, f)| f).collect();
    // Streamed into the file and hashed on the way: the facts may take
    // `ReadLimits::max_facts_bytes` in memory, and their JSON several times
    // that (escaped control characters), so it is never held whole.
    let path = staged.dir().join(FACTS);
    let digest = write_facts(&path, &facts).map_err(io_at(&path))?;
    record.facts_sha256 = Some(digest);
    let path = staged.dir().join(RECORD);
    fsutil::write_new_synced(&path, &record.to_bytes()).map_err(io_at(&path))?;
    Ok(record)
}

fn ensure_dir(parent: &Path, dir: &Path) -> Result<(), StoreError> {
    match fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => fsutil::sync_dir(parent).map_err(io_at(parent))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_at(dir)(e)),
    }
    if !fs::symlink_metadata(dir).map_err(io_at(dir))?.is_dir() {
        return Err(StoreError::damaged(dir, "is not a folder"));
    }
    Ok(())
}

/// Point `current` at `sequence` in one rename: a new relative symlink
/// `current.tmp` → `<seq>`, renamed over `current`, then the channel folder
/// fsynced. rename(2) replaces the old link atomically; a crash before it
/// leaves only a stray `current.tmp`, which recovery removes.
pub(crate) fn switch_current(channel_dir: &Path, sequence: u64) -> Result<(), StoreError> {
    let tmp = channel_dir.join(CURRENT_TMP);
    fsutil::remove_tree(&tmp).map_err(io_at(&tmp))?;
    std::os::unix::fs::symlink(sequence.to_string(), &tmp).map_err(io_at(&tmp))?;
    fault(FaultPoint::TempLinked)?;
    let current = channel_dir.join(CURRENT);
    fs::rename(&tmp, &current).map_err(io_at(&current))?;
    fsutil::sync_dir(channel_dir).map_err(io_at(channel_dir))
}

/// Write `facts` as compact JSON and a final LF into a new file, fsynced and
/// read-only; returns the SHA-256 of the bytes written.
fn write_facts(
    path: &std::path::Path,
    facts: &[&crate::inspect::facts::ModelFacts],
) -> std::io::Result<Sha256Digest> {
    struct Hashing<W> {
        inner: W,
        hasher: crate::inspect::digest::Hasher,
    }
    impl<W: std::io::Write> std::io::Write for Hashing<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.hasher.update(buf.get(..n).unwrap_or_default());
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    let file = fsutil::create_new(path)?;
    let mut out = Hashing {
        inner: std::io::BufWriter::new(file),
        hasher: crate::inspect::digest::Hasher::new(),
    };
    serde_json::to_writer(&mut out, facts).map_err(std::io::Error::from)?;
    std::io::Write::write_all(&mut out, b"\n")?;
    let file = out.inner.into_inner().map_err(|e| e.into_error())?;
    fsutil::seal_file(&file)?;
    Ok(out.hasher.finish())
}
