//! The trust policy: one TOML file saying whom a station trusts, for what,
//! and what content it accepts (docs/policy.md is the reference).
//!
//! Everything here is loaded and validated before any bundle byte is read:
//! a policy that names an unreadable key, an unknown role in a threshold or
//! an unknown drift class is an error, never a silently weaker policy.
//!
//! - [`Policy::load`] / [`Policy::from_toml`]: read and validate a policy.
//! - [`init()`]: the commented policy `lbom policy init` writes.
//! - [`PolicyError`]: one sentence naming the file, the TOML key and the
//!   problem, with line and column where they are known.

mod error;
mod init;
mod load;
mod raw;
mod values;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use crate::diff::DriftClass;
use crate::envelope::{KeyId, PublicKey, is_demo_key};
use crate::inspect::facts::{Format, Severity};
use crate::io::digest::Sha256Digest;

pub use error::{At, PolicyError};
pub use init::{InitSpec, TrustSpec, init, key_path_from, parse_threshold_arg, parse_trust_arg};
pub use load::{MAX_KEYS, MAX_ROLES};
pub use values::NO_LICENCE;

/// The only policy format version this lbom reads (`version = 1`).
pub const POLICY_VERSION: i64 = 1;

/// Largest policy file read: 1 MiB (a policy with a hundred inline keys is
/// about 30 KiB). Checked before parsing.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// Drift classes an import refuses unless accepted, when the policy does not
/// say: the changes that silently alter what a deployment runs or may run
/// (docs/policy.md, "Drift").
pub const DEFAULT_DRIFT_NEEDS_ACCEPTANCE: &[DriftClass] = &[
    DriftClass::Format,
    DriftClass::Architecture,
    DriftClass::Quantization,
    DriftClass::Tokenizer,
    DriftClass::ChatTemplate,
    DriftClass::Licence,
    DriftClass::BaseModel,
];

/// Formats allowed when the policy does not say: the model formats and the
/// harmless side files a real model folder carries (docs/policy.md,
/// section 4.4); no pickle-based format, no code, nothing `unknown`.
pub const DEFAULT_ALLOWED_FORMATS: &[Format] = &[
    Format::Gguf,
    Format::Safetensors,
    Format::Json,
    Format::Text,
    Format::Tiktoken,
    Format::Sentencepiece,
];

/// Default `max_age`: 90 days.
pub const DEFAULT_MAX_AGE_SECS: i64 = 90 * 24 * 3600;

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
    pub caps: PolicyCaps,
    /// Age, expiry, and whether the station's clock is trusted.
    pub time: TimeRules,
    /// Rollback and fork handling.
    pub history: HistoryRules,
    /// Drift classes an import refuses unless accepted by name.
    pub drift_needs_acceptance: BTreeSet<DriftClass>,
}

/// Where a policy came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
    /// Roles it may sign as. When the policy lists one key under several
    /// names, every entry carries the union of their roles: the key may sign
    /// as any of them, whichever name it is looked up by.
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
    /// SPDX licence ids allowed, canonical (`Apache-2.0`, `LicenseRef-x`,
    /// [`NO_LICENCE`] for none declared); `None` allows any.
    pub allowed_licences: Option<BTreeSet<String>>,
    /// Findings at or above this severity fail; `None` never fails.
    pub fail_on: Option<Severity>,
}

/// The operator's caps on what a bundle may hold (the policy's `[caps]`,
/// checked by `policy.caps` against the manifest before any artifact is
/// read). Not [`crate::bundle::Caps`]: those are what lbom itself can read
/// safely, the same for every policy (docs/bundle-format.md, "Reader
/// limits"); these are what one station accepts, and may be lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyCaps {
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

impl Default for PolicyCaps {
    /// 10 000 entries, 256 GiB per entry, 1 TiB in all, 255-byte paths.
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_entry_bytes: 256 << 30,
            max_total_bytes: 1 << 40,
            max_path_bytes: 255,
        }
    }
}

impl Default for ContentRules {
    /// gguf, safetensors and json; any licence; errors fail.
    fn default() -> Self {
        Self {
            allowed_formats: DEFAULT_ALLOWED_FORMATS.iter().copied().collect(),
            allowed_licences: None,
            fail_on: Some(Severity::Error),
        }
    }
}

impl Default for TimeRules {
    /// At most 90 days old, expiry optional, clock trusted.
    fn default() -> Self {
        Self {
            max_age: Some(jiff::SignedDuration::from_secs(DEFAULT_MAX_AGE_SECS)),
            require_expiry: false,
            clock: Clock::Trusted,
        }
    }
}

/// A part index is trusted when its signer's key is trusted for the role
/// it claims (docs/bundle-format.md [B70]).
impl crate::parts::Trust for Policy {
    fn key_for(&self, key_id: &KeyId, role: &str) -> Option<PublicKey> {
        self.trusted(key_id)
            .filter(|k| k.roles.contains(role))
            .map(|k| k.key.clone())
    }
}

impl Policy {
    /// The key the policy calls `name`.
    pub fn key_named(&self, name: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The policy's entry for a key, by id: the first name it is listed
    /// under (its roles are the union over all its names). `None` for a key
    /// the policy does not trust.
    pub fn trusted(&self, key_id: &KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key.key_id() == *key_id)
    }

    /// Whether the key may sign as `role`.
    pub fn may_sign_as(&self, key_id: &KeyId, role: &str) -> bool {
        self.trusted(key_id).is_some_and(|k| k.roles.contains(role))
    }

    /// The distinct keys trusted for `role`. Thresholds count these: one key
    /// listed under two names, or in two encodings, is one key.
    pub fn keys_for_role(&self, role: &str) -> BTreeSet<KeyId> {
        self.keys
            .iter()
            .filter(|k| k.roles.contains(role))
            .map(|k| k.key.key_id())
            .collect()
    }

    /// Distinct trusted keys that must sign as `role`: its threshold, or 1.
    pub fn threshold(&self, role: &str) -> u32 {
        self.thresholds.get(role).copied().unwrap_or(1)
    }

    /// Things the operator should know about this policy, which do not
    /// make it invalid (shown by `lbom policy` commands and in verify
    /// reports): keys listed twice, demo keys, one key able to fill
    /// several required roles.
    pub fn notes(&self) -> Vec<PolicyNote> {
        let mut notes = Vec::new();
        // Entries by key id, in file order: the first is the one `trusted`
        // returns, and all carry the same merged roles.
        let mut by_id: BTreeMap<KeyId, Vec<&TrustedKey>> = BTreeMap::new();
        for k in &self.keys {
            by_id.entry(k.key.key_id()).or_default().push(k);
        }
        for (key_id, entries) in &by_id {
            let Some(first) = entries.first() else {
                continue;
            };
            if entries.len() > 1 {
                notes.push(PolicyNote::SameKeyTwice {
                    key_id: *key_id,
                    names: entries.iter().map(|k| k.name.clone()).collect(),
                });
            }
            if is_demo_key(key_id) {
                notes.push(PolicyNote::DemoKey {
                    name: first.name.clone(),
                    key_id: *key_id,
                });
            }
            let roles: Vec<String> = first
                .roles
                .intersection(&self.required_roles)
                .cloned()
                .collect();
            if roles.len() > 1 {
                notes.push(PolicyNote::SeveralRequiredRoles {
                    name: first.name.clone(),
                    roles,
                });
            }
        }
        notes
    }
}

/// Something worth telling the operator about a valid policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyNote {
    /// One key is listed under several names; it counts once.
    SameKeyTwice {
        /// The key.
        key_id: KeyId,
        /// Its names, in file order.
        names: Vec<String>,
    },
    /// A public demo key (keys/README.md) is trusted: anyone can sign with it.
    DemoKey {
        /// Its (first) name.
        name: String,
        /// The key.
        key_id: KeyId,
    },
    /// One key may sign as several required roles, so one person holding it
    /// can meet them all: no separation of duties between those roles.
    SeveralRequiredRoles {
        /// Its (first) name.
        name: String,
        /// The required roles it may sign as.
        roles: Vec<String>,
    },
}

impl fmt::Display for PolicyNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyNote::SameKeyTwice { key_id, names } => write!(
                f,
                "key {key_id} is listed as {}; it counts once towards any threshold",
                names.join(" and ")
            ),
            PolicyNote::DemoKey { name, key_id } => write!(
                f,
                "key {name} ({key_id}) is a public demo key: anyone can sign with it"
            ),
            PolicyNote::SeveralRequiredRoles { name, roles } => write!(
                f,
                "key {name} may sign as {}: one holder can meet all of these roles",
                roles.join(" and ")
            ),
        }
    }
}
