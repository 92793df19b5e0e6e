//! The quarantine side: check a bundle against a trust policy.
//!
//! [`verify()`](run::verify) runs every check in a fixed order and records each in a
//! [`Report`]: archive structure and manifest first, then the signature
//! chain, and only then any artifact byte (docs/policy.md §9: nothing is
//! trusted before it is checked). The first failing stage stops the run; the checks it
//! did not reach are reported as skipped, so a report never claims a check
//! it did not make.
//!
//! - [`run`]: [`verify()`](run::verify), the order of the stages; [`check`]:
//!   the checks by name ([`CheckName`]); `verdict`: what each stage returns.
//!   The stages are `structure` (archive.structure, manifest.form), `chain`
//!   (chain.*), `rules` (caps, time, demo keys, content rules, history),
//!   `entries` (attestation.subjects, and reading one artifact: hashed,
//!   decoded, scanned), `digests` (entries.digests: the one ordered read of
//!   every byte) and `sbom_check` (sbom.consistent).
//! - [`input`]: what is read ([`BundleInput`]: a file, a part set over
//!   several folders, a named source); `source` opens it.
//! - [`policy`]: the TOML trust policy (docs/policy.md).
//! - [`report`]: checks, outcomes and the failure classes behind exit codes.
//! - [`ChannelState`]: what a store knows about a channel (rollback, fork).
//! - [`ArtifactSink`]: where `import` receives verified bytes as they stream,
//!   so that verifying and extracting read the bundle once.

mod chain;
pub mod check;
mod entries;
pub mod input;
pub mod policy;
pub mod preview;
pub mod report;
mod rules;
pub mod run;
mod sbom_check;
mod sides;
pub mod source;
mod structure;
#[cfg(test)]
mod tests;
mod verdict;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bundle::delta::BaseFiles;
use crate::bundle::{BundlePath, Caps, Manifest, ManifestEntry};
use crate::envelope::KeyId;
use crate::inspect::facts::ModelFacts;
use crate::inspect::side::SideFiles;
use crate::io::digest::Sha256Digest;

pub use check::CheckName;
pub use input::{BundleInput, InputError};
pub use policy::Policy;
pub use report::{Check, Failure, Outcome, Report, VerifyDocument};
pub use run::{scan_unverified, verify};

/// What a store knows about one channel, for the rollback and fork checks.
/// Built by `import` from the store; `verify --store` reads the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelState {
    /// The version `current` points to: sequence, manifest digest and the
    /// manifest's `created` time (the baseline).
    pub current: Option<(u64, Sha256Digest, String)>,
    /// Every kept version: sequence → manifest digest.
    pub versions: BTreeMap<u64, Sha256Digest>,
    /// The bundle name (the model) of the version `current` points to: a
    /// bundle of another name is another model, refused on this channel.
    pub model: Option<String>,
}

/// Everything a verification needs besides the bundle and the policy.
#[derive(Debug, Clone)]
pub struct VerifyContext {
    /// The time checks compare against (expiry, age, link times).
    pub now: jiff::Timestamp,
    /// The channel's state in a store (`--store`, or `import`).
    pub channel: Option<ChannelState>,
    /// The caps the bundle must satisfy, as `pack` was given them (the
    /// policy's caps are checked on top).
    pub caps: Caps,
    /// Threads scanning raw artifacts ahead of the ordered walk; `None`:
    /// one per CPU. At most four either way (each holds a header's worth of
    /// parser memory).
    pub jobs: Option<usize>,
}

/// One chain link whose signature verified, as the report and the import
/// log name it (and read back from the log, strictly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    /// 1-based link index.
    pub index: u32,
    /// The role it signed as.
    pub role: String,
    /// The key that signed it.
    pub key_id: KeyId,
    /// The policy's name for that key; `None` for a key the policy does not
    /// list (only with `unknown_signers = "ignore"`).
    pub key_name: Option<String>,
    /// The signing time it claims.
    pub time: String,
    /// Its note.
    pub note: Option<String>,
}

/// What a bundle that passed every check holds, for `import` and `diff`.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The manifest.
    pub manifest: Manifest,
    /// Its exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// Their SHA-256 (the bundle's identity on its channel).
    pub manifest_sha256: Sha256Digest,
    /// Every link, in chain order.
    pub signers: Vec<Signer>,
    /// A fresh scan of each artifact, by artifact path, in manifest order
    /// (what the SBOMs and the content rules are checked against). An
    /// import that compares the bundle with a baseline records them in
    /// `facts.json` and lets them go before describing both sides (its drift
    /// gate): its outcome then holds none.
    pub facts: Vec<(BundlePath, ModelFacts)>,
    /// The side files of the bundle's folder models.
    pub sides: SideFiles,
}

/// Receives verified content while `verify` streams the bundle: `import`
/// writes it into its staging folder; plain `verify` uses [`HashOnly`].
pub trait ArtifactSink {
    /// Before an artifact's decoded bytes stream: a writer for them, or
    /// `None` to only hash (for example, when the store already holds a
    /// file with the manifest's digest and will share it).
    fn begin(
        &mut self,
        artifact: &BundlePath,
        entry: &ManifestEntry,
    ) -> io::Result<Option<Box<dyn Write + Send>>>;

    /// After the artifact's size and SHA-256 matched the manifest; the
    /// writer returned by `begin` has been flushed and dropped.
    fn finish(&mut self, artifact: &BundlePath, entry: &ManifestEntry) -> io::Result<()>;

    /// A small entry (SBOM, attestation, manifest, chain link) whose bytes
    /// passed their checks, by tar entry name.
    fn metadata(&mut self, name: &BundlePath, bytes: &[u8]) -> io::Result<()>;

    /// Whether `begin` may return a writer. A sink that never does lets the
    /// verifier scan artifacts on several threads ahead of the ordered walk.
    fn keeps_bytes(&self) -> bool {
        true
    }

    /// Forget everything received so far: the bundle is about to be read
    /// again from its start (a part set read a second time through its
    /// parity, docs/bundle-format.md, section 13). A sink that keeps bytes
    /// must override this; the default serves only sinks that keep none.
    fn restart(&mut self) -> io::Result<()> {
        if self.keeps_bytes() {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this sink cannot start over",
            ))
        } else {
            Ok(())
        }
    }

    /// The base version's files, for a differential bundle's artifacts
    /// (docs/bundle-format.md §14): `None` checks what the bundle carries
    /// and leaves the rebuild unverified.
    fn base_files(&self) -> Option<Arc<dyn BaseFiles>> {
        None
    }
}

/// The methods of a sink that keeps nothing, shared by [`HashOnly`] and
/// [`HashWithBase`] (which differ only in the base they offer).
macro_rules! keeps_nothing {
    () => {
        fn begin(
            &mut self,
            _: &BundlePath,
            _: &ManifestEntry,
        ) -> io::Result<Option<Box<dyn Write + Send>>> {
            Ok(None)
        }

        fn finish(&mut self, _: &BundlePath, _: &ManifestEntry) -> io::Result<()> {
            Ok(())
        }

        fn metadata(&mut self, _: &BundlePath, _: &[u8]) -> io::Result<()> {
            Ok(())
        }

        fn keeps_bytes(&self) -> bool {
            false
        }
    };
}

/// A sink that keeps nothing and rebuilds differential artifacts from a
/// base version: `lbom verify --store` of a differential bundle.
#[derive(Debug, Clone)]
pub struct HashWithBase(pub Arc<dyn BaseFiles>);

impl ArtifactSink for HashWithBase {
    keeps_nothing!();

    fn base_files(&self) -> Option<Arc<dyn BaseFiles>> {
        Some(Arc::clone(&self.0))
    }
}

/// A sink that keeps nothing: `lbom verify`.
#[derive(Debug, Default, Clone, Copy)]
pub struct HashOnly;

impl ArtifactSink for HashOnly {
    keeps_nothing!();
}
