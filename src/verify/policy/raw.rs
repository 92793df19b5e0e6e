//! The policy file as TOML shapes, before validation (docs/policy.md,
//! "Layout"). Every table denies unknown keys, so a misspelt option is an
//! error rather than a default silently kept. Values that need checking
//! beyond their TOML type keep their span for the error's line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// Read first, alone, so that a policy of another version is refused as
/// such instead of by the first key this version does not know.
#[derive(Deserialize)]
pub(super) struct VersionOnly {
    pub version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    #[allow(dead_code)] // checked through `VersionOnly`
    pub version: toml::Value,
    #[serde(default)]
    pub keys: Vec<Spanned<RawKey>>,
    pub signatures: Option<Spanned<RawSignatures>>,
    #[serde(default)]
    pub content: RawContent,
    #[serde(default)]
    pub caps: RawCaps,
    #[serde(default)]
    pub time: RawTime,
    #[serde(default)]
    pub history: RawHistory,
    #[serde(default)]
    pub drift: RawDrift,
}

/// `[[keys]]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKey {
    pub name: Option<Spanned<String>>,
    pub public_key: Option<Spanned<String>>,
    pub pem: Option<Spanned<String>>,
    pub key_id: Option<Spanned<String>>,
    pub roles: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[signatures]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignatures {
    pub required_roles: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub thresholds: BTreeMap<String, Spanned<i64>>,
    pub unknown_signers: Option<Spanned<String>>,
}

/// `[content]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContent {
    pub allowed_formats: Option<Spanned<Vec<Spanned<String>>>>,
    pub allowed_licences: Option<Spanned<Vec<Spanned<String>>>>,
    pub fail_on: Option<Spanned<String>>,
}

/// `[caps]`: each an integer or a size string (`"256 GiB"`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCaps {
    pub max_entries: Option<Spanned<toml::Value>>,
    pub max_entry_bytes: Option<Spanned<toml::Value>>,
    pub max_total_bytes: Option<Spanned<toml::Value>>,
    pub max_path_bytes: Option<Spanned<toml::Value>>,
}

/// `[time]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTime {
    pub max_age: Option<Spanned<String>>,
    pub require_expiry: Option<bool>,
    pub clock: Option<Spanned<String>>,
}

/// `[history]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHistory {
    pub allow_rollback: Option<bool>,
    pub allow_fork: Option<bool>,
}

/// `[drift]`
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDrift {
    pub require_acceptance: Option<Spanned<Vec<Spanned<String>>>>,
}
