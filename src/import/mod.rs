//! The model store: `import` (verify while extracting, commit atomically),
//! `audit`, `rollback`, `log`, and the channel baselines they keep.
//! docs/store.md is the reference; this is its summary.
//!
//! # Layout
//!
//! ```text
//! STORE/
//!   .lbom-store                 marker: {"format":"lbom-store","version":1}
//!   .lock                       flock'ed by every writer (import, rollback, prune)
//!   .channels                   every channel created, one name per line
//!   .staging/import-<random>/   an import in progress (emptied by every writer)
//!   <channel>/
//!     current -> <seq>          relative symlink: the channel's baseline
//!     history.jsonl             one JSON line per import, rollback or prune
//!     <seq>/                    one version, immutable (folders 0555, files 0444)
//!       files/<artifact path>   the artifacts (hard-linked when unchanged)
//!       bundle/manifest.json    the bundle's metadata entries, by entry name:
//!       bundle/attestation.intoto.json, bundle/sboms/…, bundle/chain/NNNN.dsse.json
//!       import.json             the import record (ImportRecord)
//!       facts.json              the fresh scan of each artifact (what diff compares)
//!       receipt.dsse.json       the station's signed receipt (with --key)
//! ```
//!
//! # Commit protocol
//!
//! The one commit point is the rename of `<channel>/current.tmp` over
//! `<channel>/current`. Everything before it is invisible to readers (the
//! staging folder; a version folder `current` does not point at); the
//! history line is written just before it, and a switch it records but a
//! crash kept from happening is completed by [`LockedStore::recover`],
//! which every writer runs under the lock before changing anything. No
//! store path is ever resolved through a link: every entry is reached from
//! an open folder handle with no-follow semantics. See [`commit()`] for the
//! steps.
//!
//! # Modules
//!
//! - [`paths`]: every path a store holds, in one list, with its type.
//! - `handle`: folders opened by handle; nothing is ever followed.
//! - [`layout`]: [`Store`], reading what is committed.
//! - `structure`: the skeleton every command checks and `audit` reports.
//! - `registry`: `.channels`, the channels the store created.
//! - [`lock`]: [`LockedStore`] (the exclusive lock), atomic creation and
//!   recovery.
//! - [`sink`]: `ImportSink`, the [`ArtifactSink`] writing a staged version.
//! - [`commit`](mod@commit): [`commit()`].
//! - [`record`]: `import.json` and `history.jsonl`.
//! - [`receipt`](mod@receipt): the signed SLSA verification summary.
//! - [`audit`](mod@audit): [`audit()`] checks the structure and re-hashes
//!   versions.
//! - [`rollback`](mod@rollback): [`rollback()`].
//! - [`prune`](mod@prune): [`prune()`], removing old versions.
//! - [`sides`]: the drift sides read from disk (a store's version, a
//!   bundle, a scan JSON) for `diff` and the import's drift gate.

pub mod audit;
pub mod base;
pub mod commit;
pub mod error;
mod fsutil;
mod handle;
pub mod layout;
pub mod lock;
pub mod paths;
pub mod prune;
pub mod receipt;
pub mod record;
mod registry;
pub mod rollback;
pub mod sides;
pub mod sink;
mod structure;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use audit::{AuditDocument, AuditReport, ChannelAudit, Problem, ProblemKind, VersionAudit};
// The functions named as their modules, for the tests (the facade takes
// each from its module, so as not to export the module too).
#[cfg(any(test, feature = "internals"))]
pub use {audit::audit, prune::prune, rollback::rollback};
pub use commit::{Committed, commit};
pub use error::{StoreError, StoreErrorKind};
pub use layout::{Baseline, Store};
pub use lock::LockedStore;
pub use prune::Pruned;
pub use receipt::{ReceiptInputs, receipt};
pub use record::{HistoryAction, HistoryEntry, ImportInfo};
pub use rollback::RolledBack;
pub use sides::{LoadError, load_side, load_side_against};
pub use sink::Staged;

use crate::bundle::manifest::Previous;
use crate::bundle::{Caps, manifest::check_label};
use crate::diff::{DriftClass, DriftReport};
use crate::sign::SigningKey;
use crate::verify::{
    ArtifactSink, BundleInput, CheckName, Failure, Outcome, Policy, Report, Verified,
    VerifyContext,
};

/// Options of one import.
#[derive(Debug, Clone)]
pub struct ImportOptions<'a> {
    /// The time checks and records use.
    pub now: jiff::Timestamp,
    /// The caps the bundle must satisfy, as `pack` was given them.
    pub caps: Caps,
    /// Threads scanning raw artifacts while verifying; `None`: one per CPU.
    pub jobs: Option<usize>,
    /// Drift classes the operator accepted (recorded in the history).
    pub accepted_drift: Vec<DriftClass>,
    /// Sign a receipt with this key (`--key STATION.key`).
    pub receipt_key: Option<&'a SigningKey>,
    /// Create the store when the folder is missing or empty (`--create`);
    /// otherwise such a folder is [`StoreError::NoStore`].
    pub create_store: bool,
}

/// What an import did.
#[derive(Debug)]
pub enum ImportOutcome {
    /// A check failed: nothing in the store changed (the staging folder was
    /// removed).
    Refused {
        /// Every check.
        report: Report,
        /// The drift from the channel's baseline, when verification passed
        /// and the drift gate refused it.
        drift: Option<DriftReport>,
    },
    /// Every check passed and the version is committed (or was current).
    Imported {
        /// Every check.
        report: Report,
        /// The verified bundle.
        verified: Box<Verified>,
        /// What the commit did.
        committed: Committed,
        /// The drift from the version that was current before (none on a
        /// channel's first import).
        drift: Option<DriftReport>,
    },
}

impl ImportOutcome {
    /// Every check.
    pub fn report(&self) -> &Report {
        match self {
            ImportOutcome::Refused { report, .. } | ImportOutcome::Imported { report, .. } => {
                report
            }
        }
    }

    /// The drift from the channel's baseline, when it was computed.
    pub fn drift(&self) -> Option<&DriftReport> {
        match self {
            ImportOutcome::Refused { drift, .. } | ImportOutcome::Imported { drift, .. } => {
                drift.as_ref()
            }
        }
    }

    /// What the commit did, when the bundle was imported.
    pub fn committed(&self) -> Option<&Committed> {
        match self {
            ImportOutcome::Refused { .. } => None,
            ImportOutcome::Imported { committed, .. } => Some(committed),
        }
    }
}

/// The document `lbom import --format json` prints. The exit code is the
/// caller's (the binary's table).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportDocument<'a> {
    /// The bundle as named.
    pub bundle: &'a Path,
    /// The store as named.
    pub store: &'a Path,
    /// Whether the bundle is now in the store.
    pub imported: bool,
    /// The process's exit code.
    pub exit_code: u8,
    /// What the commit did (`null` when refused).
    pub committed: Option<&'a Committed>,
    /// The drift from the channel's baseline (`null` when not computed).
    pub drift: Option<&'a DriftReport>,
    /// Every check.
    pub checks: &'a [crate::verify::Check],
}

impl<'a> ImportDocument<'a> {
    /// The document of one import.
    pub fn new(
        bundle: &'a Path,
        store: &'a Path,
        outcome: &'a ImportOutcome,
        exit_code: u8,
    ) -> Self {
        Self {
            bundle,
            store,
            imported: outcome.committed().is_some(),
            exit_code,
            committed: outcome.committed(),
            drift: outcome.drift(),
            checks: &outcome.report().checks,
        }
    }
}

/// Compare the verified bundle with the channel's baseline and record the
/// `drift.accepted` check. `Some(report)` is the drift (possibly empty).
fn drift_gate(
    report: &mut Report,
    verified: &mut Verified,
    staged: &mut Staged,
    baseline: Option<&Baseline>,
    policy: &Policy,
    accepted: &[DriftClass],
) -> Result<Option<DriftReport>, StoreError> {
    let Some(base) = baseline else {
        report.push(
            CheckName::DriftAccepted,
            Outcome::Pass,
            "first import on the channel: no baseline to drift from",
        );
        return Ok(None);
    };
    if base.record.manifest_sha256 == verified.manifest_sha256 {
        report.push(
            CheckName::DriftAccepted,
            Outcome::Pass,
            "the bundle is the baseline itself",
        );
        return Ok(Some(crate::diff::diff(
            &crate::diff::Side::default(),
            &crate::diff::Side::default(),
        )));
    }
    // What an import holds at once is bounded by holding the fewest of
    // its largest structures together (docs/bundle-format.md, "Reader
    // limits"): the bundle's facts are recorded in the staged `facts.json`
    // and let go; the baseline is described (its stored side files read,
    // a changed one stood in for by the bundle's verified copy of the same
    // bytes: docs/drift.md); then the bundle is described from the facts
    // read back, as the baseline was from its own `facts.json`, so both
    // sides of the drift come from the same kind of input.
    staged.write_facts(&verified.facts)?;
    verified.facts = Vec::new();
    let old = sides::side_of_version_with(
        format!("{}@{}", base.record.channel, base.sequence),
        base,
        &verified.sides,
    )?;
    let files = staged
        .read_facts()?
        .into_iter()
        .map(|f| (f.model_path.clone(), f))
        .collect();
    let limit = crate::limits::Limits::default().folder_context_max_bytes;
    let models = crate::inspect::delivery::describe_files(files, &verified.sides, limit)
        .map_err(|e| StoreError::Refused(format!("the bundle cannot be described: {e}")))?;
    let label = format!(
        "{}@{}",
        verified.manifest.channel, verified.manifest.sequence
    );
    let new = crate::diff::side_of_bundle(label, &verified.manifest, models);
    let drift = crate::diff::diff(&old, &new);
    drop(old);
    drop(new);
    let refused = crate::diff::unaccepted(&drift, &policy.drift_needs_acceptance, accepted);
    let names = |classes: &mut dyn Iterator<Item = DriftClass>| {
        classes.map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
    };
    if refused.is_empty() {
        let all = names(&mut drift.classes().into_iter());
        report.push(
            CheckName::DriftAccepted,
            Outcome::Pass,
            if all.is_empty() {
                format!("no drift from version {}", base.sequence)
            } else {
                format!(
                    "drift from version {}: {all} (accepted or not gated by the policy)",
                    base.sequence
                )
            },
        );
    } else {
        report.push(
            CheckName::DriftAccepted,
            Outcome::Fail(Failure::Drift),
            format!(
                "drift from version {} needs acceptance: {} (accept each class by name after review)",
                base.sequence,
                names(&mut refused.into_iter())
            ),
        );
    }
    Ok(Some(drift))
}

/// `lbom import`: open (or, when asked, create) the store, lock it, recover what an
/// interrupted writer left, run `verifier` with an `ImportSink` so the
/// bundle is read once, and commit only when every check passed. `bundle`
/// is what the verifier reads ([`BundleInput`]: a file, a part set over one
/// or more folders, a source; a path converts): its headers are peeked at
/// here and its name recorded.
///
/// The verifier is a parameter so the engine (`verify::verify`) is wired in
/// by the caller and tests can use a fake. The channel whose state the
/// verifier checks rollback and fork against is read from the bundle's
/// manifest first (headers only); if the verified manifest names another
/// channel (the file changed in between), nothing is committed.
pub fn import(
    bundle: impl Into<BundleInput>,
    store_path: &Path,
    policy: &Policy,
    options: &ImportOptions<'_>,
    verifier: impl FnOnce(&mut dyn ArtifactSink, &VerifyContext) -> (Report, Option<Verified>),
) -> Result<ImportOutcome, StoreError> {
    let locked = if options.create_store {
        Store::open_or_create(store_path)?
    } else {
        Store::open_existing(store_path)?
    };
    let input = bundle.into();
    // A store this run created and commits nothing into is taken back
    // (docs/store.md [S18]). The refusal or the first error is what the
    // caller needs to see; a store the removal fails to take back is a
    // valid, empty one, as it was before this rule.
    let ready = match admit(&locked, &input, policy, options, verifier) {
        Ok(Prepared::Commit(ready)) => ready,
        Ok(Prepared::Refused(refused)) => {
            let _ = locked.discard_if_created();
            return Ok(*refused);
        }
        Err(e) => {
            let _ = locked.discard_if_created();
            return Err(e);
        }
    };
    let Ready {
        bundle_bytes,
        staged,
        report,
        verified,
        drift,
    } = *ready;
    let accepted_drift: Vec<String> = options
        .accepted_drift
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let policy_file = file_name(&policy.source.path);
    let envelope = match options.receipt_key {
        Some(key) => Some(receipt(
            &verified,
            &report,
            &ReceiptInputs {
                policy_file: policy_file.clone(),
                policy_sha256: policy.source.sha256,
                chain_links: staged.chain_links(),
                time: options.now,
                accepted_drift: accepted_drift.clone(),
            },
            key,
        )?),
        None => None,
    };
    let info = ImportInfo {
        bundle_file: input.record_name(),
        bundle_bytes,
        policy_file,
        policy_sha256: policy.source.sha256,
        accepted_drift,
        time: options.now,
    };
    let committed = commit(&locked, staged, &verified, &info, envelope.as_ref())?;
    Ok(ImportOutcome::Imported {
        report,
        verified,
        committed,
        drift,
    })
}

/// What the steps before the commit decided.
enum Prepared {
    /// Commit this.
    Commit(Box<Ready>),
    /// Report this refusal (the staged folder removed).
    Refused(Box<ImportOutcome>),
}

/// A verified, staged bundle the checks and the drift gate admitted, ready
/// to commit.
struct Ready {
    bundle_bytes: u64,
    staged: Staged,
    report: Report,
    verified: Box<Verified>,
    drift: Option<DriftReport>,
}

/// Everything of an import before its commit, under the lock: recover,
/// read the channel's state from the peeked manifest, verify into a staged
/// folder, and admit.
fn admit(
    locked: &LockedStore,
    input: &BundleInput,
    policy: &Policy,
    options: &ImportOptions<'_>,
    verifier: impl FnOnce(&mut dyn ArtifactSink, &VerifyContext) -> (Report, Option<Verified>),
) -> Result<Prepared, StoreError> {
    locked.recover()?;
    let (bundle_bytes, peeked, peeked_base) = peek_bundle(input, policy, options)?;
    let channel_state = match &peeked {
        // The structure was checked by `recover`, under the lock held since.
        Some(c) => Some(locked.channel_state_checked(c)?),
        None => None,
    };
    let context = VerifyContext {
        now: options.now,
        channel: channel_state,
        caps: options.caps.clone(),
        jobs: options.jobs,
    };
    // Read under the lock, like the channel state: the drift is computed
    // against the version that is current when this import commits.
    let baseline = match &peeked {
        Some(c) => locked.baseline_checked(c)?,
        None => None,
    };
    let mut sink = stage_with_base(locked, &peeked, &peeked_base, &baseline)?;
    let (report, verified) = verifier(&mut sink, &context);
    let (staged, written) = sink.into_staged();
    let mut staging = Staging(Some(staged));
    if let Err(e) = base_unchanged(verified.as_ref(), &peeked_base) {
        staging.discard()?;
        return Err(e);
    }
    let admission = Admission {
        bundle: input.name(),
        policy,
        options,
        peeked: peeked.as_deref(),
        baseline: baseline.as_ref(),
    };
    match admission.admit(report, verified, written, &mut staging) {
        Ok(Admitted::Commit {
            report,
            verified,
            drift,
        }) => Ok(Prepared::Commit(Box::new(Ready {
            bundle_bytes,
            staged: staging.keep()?,
            report,
            verified,
            drift,
        }))),
        refused => {
            staging.discard()?;
            refused.map(|r| Prepared::Refused(Box::new(r.into_refusal())))
        }
    }
}

/// What the headers of `bundle` (a file, a part set read through:
/// docs/bundle-format.md section 13, or a source) say before it is verified, read
/// without trust (the verified manifest must say the same): its size, its
/// channel when that is a valid label, and a differential bundle's base,
/// which is checked against the store before anything is read.
fn peek_bundle(
    bundle: &BundleInput,
    policy: &Policy,
    options: &ImportOptions<'_>,
) -> Result<(u64, Option<String>, Option<Previous>), StoreError> {
    let (bundle_bytes, manifest) = crate::verify::source::peek(bundle, policy, &options.caps.read)
        .map_err(error::io_at(bundle.name()))?;
    let base = manifest.as_ref().and_then(|m| m.base.clone());
    let channel = manifest
        .map(|m| m.channel)
        .filter(|c| check_label("channel", c).is_ok());
    Ok((bundle_bytes, channel, base))
}

/// The import's sink; a differential bundle's rebuilds from the channel's
/// current version, which must be its base (docs/bundle-format.md [B80]).
fn stage_with_base(
    locked: &LockedStore,
    channel: &Option<String>,
    base: &Option<Previous>,
    current: &Option<Baseline>,
) -> Result<sink::ImportSink, StoreError> {
    let base = match (channel, base) {
        (Some(c), Some(b)) => Some(base::check_base(current.as_ref(), c, b)?),
        _ => None,
    };
    let mut sink = locked.stage(channel.as_deref())?;
    if let Some(base) = base {
        sink.set_base(std::sync::Arc::new(base));
    }
    Ok(sink)
}

/// The verified manifest names the base the sink rebuilt from (the file
/// could have changed between the peek and the verification).
fn base_unchanged(
    verified: Option<&Verified>,
    peeked: &Option<Previous>,
) -> Result<(), StoreError> {
    match verified {
        Some(v) if v.manifest.base != *peeked => Err(StoreError::Base(
            "the bundle's base changed while it was imported".into(),
        )),
        _ => Ok(()),
    }
}

/// The staged folder of an import, discarded unless the import commits it
/// ([`Staging::keep`]): on every refusal and error path by
/// [`Staging::discard`], which reports a failure to remove it; on any other
/// way out (a panic) when dropped, best effort, what remains being removed
/// by the next writer's recovery (docs/store.md, "Recovery").
struct Staging(Option<Staged>);

impl Staging {
    fn staged(&mut self) -> Result<&mut Staged, StoreError> {
        self.0.as_mut().ok_or_else(gone)
    }

    /// The staged folder, no longer discarded when this is dropped.
    fn keep(mut self) -> Result<Staged, StoreError> {
        self.0.take().ok_or_else(gone)
    }

    /// Remove the staged folder now.
    fn discard(mut self) -> Result<(), StoreError> {
        match self.0.take() {
            Some(staged) => staged.discard(),
            None => Ok(()),
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(staged) = self.0.take() {
            let _ = staged.discard();
        }
    }
}

fn gone() -> StoreError {
    StoreError::Refused("the staged import was already kept or discarded".into())
}

/// What decides whether a verified, staged bundle may be committed.
struct Admission<'a> {
    bundle: &'a Path,
    policy: &'a Policy,
    options: &'a ImportOptions<'a>,
    /// The channel read from the manifest before verifying.
    peeked: Option<&'a str>,
    baseline: Option<&'a Baseline>,
}

/// The decision: commit, or refuse with the outcome to report.
enum Admitted {
    Commit {
        report: Report,
        verified: Box<Verified>,
        drift: Option<DriftReport>,
    },
    Refused(ImportOutcome),
}

impl Admitted {
    /// The outcome of a refusal (a commit is never passed here).
    fn into_refusal(self) -> ImportOutcome {
        match self {
            Admitted::Refused(outcome) => outcome,
            Admitted::Commit { report, drift, .. } => ImportOutcome::Refused { report, drift },
        }
    }
}

impl Admission<'_> {
    /// Every check passed and the staged copy is complete; the drift gate
    /// passed; the verified bundle is on the channel that was checked.
    fn admit(
        &self,
        mut report: Report,
        verified: Option<Verified>,
        written: Result<(), StoreError>,
        staging: &mut Staging,
    ) -> Result<Admitted, StoreError> {
        let mut verified = match (verified, written) {
            (Some(v), Ok(())) if report.passed() => v,
            // Every check passed but the staged copy could not be written:
            // an I/O failure, not a verdict on the bundle.
            (_, Err(e)) if report.passed() => return Err(e),
            _ => {
                return Ok(Admitted::Refused(ImportOutcome::Refused {
                    report,
                    drift: None,
                }));
            }
        };
        let drift = drift_gate(
            &mut report,
            &mut verified,
            staging.staged()?,
            self.baseline,
            self.policy,
            &self.options.accepted_drift,
        )?;
        if !report.passed() {
            return Ok(Admitted::Refused(ImportOutcome::Refused { report, drift }));
        }
        if self.peeked != Some(verified.manifest.channel.as_str()) {
            return Err(StoreError::Refused(format!(
                "{}: the bundle changed while it was imported (its channel was not the one checked); nothing was committed",
                self.bundle.display()
            )));
        }
        Ok(Admitted::Commit {
            report,
            verified: Box::new(verified),
            drift,
        })
    }
}

/// `lbom log`: the channel's import and rollback history, oldest first,
/// from a store whose structure is sound (docs/store.md, "Structure").
pub fn history(store: &Store, channel: &str) -> Result<Vec<HistoryEntry>, StoreError> {
    store.check_structure()?;
    let channel = store.resolve_channel(Some(channel))?;
    store.history(&channel)
}

impl Store {
    /// The channel a command names, checked against the store's channels:
    /// a named channel must exist (a typo is not an empty history); with
    /// none named, the store's only channel. The errors list the channels
    /// there are.
    pub fn resolve_channel(&self, requested: Option<&str>) -> Result<String, StoreError> {
        let channels = self.channels()?;
        let listed = || {
            if channels.is_empty() {
                "it has no channel yet".to_owned()
            } else {
                format!("its channels: {}", channels.join(", "))
            }
        };
        match (requested, channels.as_slice()) {
            (Some(c), known) if known.iter().any(|k| k == c) => Ok(c.to_owned()),
            (Some(c), _) => Err(StoreError::Refused(format!(
                "{}: no channel {:?} in this store; {}",
                self.root().display(),
                crate::safe::visible(c),
                listed()
            ))),
            (None, [only]) => Ok(only.clone()),
            (None, _) => Err(StoreError::Refused(format!(
                "{}: name a channel with --channel; {}",
                self.root().display(),
                listed()
            ))),
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
