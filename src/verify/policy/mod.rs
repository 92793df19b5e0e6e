//! The trust policy: one TOML file saying whom a station trusts, for what,
//! and what content it accepts (docs/policy.md is the reference).
//!
//! Everything here is loaded and validated before any bundle byte is read:
//! a policy that names an unreadable key, an unknown role in a threshold or
//! an unknown drift class is an error, never a silently weaker policy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::envelope::PublicKey;
use crate::inspect::digest::Sha256Digest;
use crate::inspect::facts::{Format, Severity};

/// A loaded, validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy file, and the SHA-256 of its bytes (named in receipts).
    pub source: PolicySource,
    /// Trusted keys with the roles each may sign as.
    pub keys: Vec<TrustedKey>,
    /// Signatures needed per role, counted in unique public keys. A role
    /// absent here needs 1 when it is required.
    pub thresholds: BTreeMap<String, u32>,
    /// Roles every bundle must carry (each at its threshold).
    pub required_roles: BTreeSet<String>,
    /// What to do with a link signed by a key the policy does not list.
    pub unknown_signers: UnknownSigners,
    /// Rules on the artifacts' content.
    pub content: ContentRules,
    /// Size and count caps, checked against the manifest before streaming.
    pub caps: Caps,
    /// Age, expiry, and whether the station's clock is trusted.
    pub time: TimeRules,
    /// Rollback and fork handling.
    pub history: HistoryRules,
    /// Drift classes an import refuses unless accepted by name.
    pub drift_needs_acceptance: BTreeSet<String>,
}

/// Where a policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of its bytes.
    pub sha256: Sha256Digest,
}

/// One trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The name the policy gives it (shown in reports and the import log).
    pub name: String,
    /// The key.
    pub key: PublicKey,
    /// Roles it may sign as.
    pub roles: BTreeSet<String>,
}

/// A link signed by a key that is not in the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownSigners {
    /// Refuse the bundle (default).
    #[default]
    Refuse,
    /// Ignore the link for thresholds, but still check that it is
    /// well-formed and chained.
    Ignore,
}

/// Rules on content, applied to a fresh scan of each artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRules {
    /// Formats allowed (default: gguf, safetensors, json; pickles off).
    pub allowed_formats: BTreeSet<Format>,
    /// SPDX licence ids allowed; `None` allows any.
    pub allowed_licences: Option<BTreeSet<String>>,
    /// Findings at or above this severity fail; `None` never fails.
    pub fail_on: Option<Severity>,
}

/// Caps on what a bundle may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Most manifest entries.
    pub max_entries: u64,
    /// Largest decoded entry, in bytes.
    pub max_entry_bytes: u64,
    /// Largest sum of decoded entry sizes, in bytes.
    pub max_total_bytes: u64,
    /// Longest entry path, in bytes.
    pub max_path_bytes: u64,
}

/// Whether the station's clock can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// Compare `created`, `expires` and link times with the clock (default).
    #[default]
    Trusted,
    /// An air-gapped station whose clock may be wrong: skip the checks
    /// against the clock (reported as warnings) and instead require that a
    /// bundle is not older than the channel's baseline.
    Untrusted,
}

/// Time rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRules {
    /// Refuse bundles created longer ago than this; `None`: no limit.
    pub max_age: Option<jiff::SignedDuration>,
    /// Refuse bundles without an `expires`.
    pub require_expiry: bool,
    /// See [`Clock`].
    pub clock: Clock,
}

/// Rollback and fork handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HistoryRules {
    /// Accept a sequence lower than the channel's newest.
    pub allow_rollback: bool,
    /// Accept a different bundle with a known sequence, or one whose
    /// `previous` is not the channel's newest.
    pub allow_fork: bool,
}

/// The stable drift class names (issue "Drift"; docs/policy.md lists them).
pub const DRIFT_CLASSES: &[&str] = &[
    "file_added",
    "file_removed",
    "file_renamed",
    "file_changed",
    "format",
    "architecture",
    "parameter_count",
    "quantization",
    "tensor_types",
    "tensors",
    "context_length",
    "vocab_size",
    "tokenizer",
    "chat_template",
    "licence",
    "base_model",
    "name_version",
    "metadata",
    "findings",
];
