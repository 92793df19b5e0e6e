//! The hash manifest and the pack attestation (docs/bundle-format.md,
//! "Manifest" and "Attestation").

use serde::{Deserialize, Serialize};

use super::layout;
use super::path::BundlePath;
use crate::inspect::digest::Sha256Digest;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A packed file, byte for byte.
    Artifact,
    /// The CycloneDX SBOM of one artifact.
    Sbom,
    /// The in-toto attestation.
    Attestation,
}

/// How an entry's bytes are stored in the tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// As is.
    Raw,
    /// One zstd frame (RFC 8878) with content size and checksum.
    Zstd,
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The tar entry name.
    pub path: BundlePath,
    /// What it is.
    pub role: Role,
    /// Size of the decoded content.
    pub size: u64,
    /// SHA-256 of the decoded content.
    pub sha256: Sha256Digest,
    /// Stored encoding.
    pub encoding: Encoding,
    /// Size in the tar (= `size` when raw).
    pub stored_size: u64,
}

impl ManifestEntry {
    /// For an artifact: its path as packed (the entry name without
    /// `artifacts/` and, when zstd-encoded, without `.zst`).
    pub fn artifact_path(&self) -> Option<BundlePath> {
        if self.role != Role::Artifact {
            return None;
        }
        let rest = self
            .path
            .as_str()
            .strip_prefix(layout::ARTIFACTS_DIR)?
            .strip_prefix('/')?;
        let rest = match self.encoding {
            Encoding::Raw => rest,
            Encoding::Zstd => rest.strip_suffix(layout::ZSTD_SUFFIX)?,
        };
        BundlePath::new(rest).ok()
    }
}

/// The previous bundle on the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Previous {
    /// Its sequence number.
    pub sequence: u64,
    /// SHA-256 of its manifest entry bytes.
    pub manifest_sha256: Sha256Digest,
}

/// The tool that packed the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// `lbom`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The hash manifest: the document every chain link signs (by digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`layout::MANIFEST_SCHEMA`].
    pub schema: String,
    /// Bundle name.
    pub name: String,
    /// Channel.
    pub channel: String,
    /// Sequence number on the channel, from 1, strictly increasing.
    pub sequence: u64,
    /// The previous bundle, absent for the first of a channel.
    pub previous: Option<Previous>,
    /// Creation time, RFC 3339 UTC whole seconds (`2026-01-02T03:04:05Z`).
    pub created: String,
    /// Expiry time in the same form, if any.
    pub expires: Option<String>,
    /// The packing tool.
    pub tool: Tool,
    /// Every entry before the manifest, in bundle order.
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// The exact bytes stored: pretty JSON (2-space indent, fields in the
    /// order declared here) and a final LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising these plain types cannot fail.
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Format a timestamp as RFC 3339 UTC whole seconds.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parse a manifest or link time in the one form the format allows,
/// `YYYY-MM-DDTHH:MM:SSZ` (docs/bundle-format.md §5): whatever else jiff
/// would accept (offsets, fractions, a space) is refused.
pub fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    let t: jiff::Timestamp = text.parse().ok()?;
    (format_time(t) == text).then_some(t)
}

/// A manifest's times, parsed (by [`check_fields`], once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestTimes {
    /// `created`.
    pub created: jiff::Timestamp,
    /// `expires`, when set.
    pub expires: Option<jiff::Timestamp>,
}

/// The field rules of docs/bundle-format.md §5 ([B24]) that a typed parse
/// does not hold: labels, the time form, `expires` not before `created`,
/// `sequence` at least 1 and above `previous.sequence`. Returns the times
/// it parsed, so nobody parses them again.
pub fn check_fields(m: &Manifest) -> Result<ManifestTimes, String> {
    check_label("name", &m.name)?;
    check_label("channel", &m.channel)?;
    let time = |what: &str, text: &str| {
        parse_time(text).ok_or_else(|| {
            let shown = crate::describe::text::shorten(text, SHOWN_CHARS);
            format!("manifest {what} {shown:?} is not a time of the form YYYY-MM-DDTHH:MM:SSZ")
        })
    };
    let created = time("created", &m.created)?;
    let expires = m
        .expires
        .as_deref()
        .map(|t| time("expires", t))
        .transpose()?;
    if expires.is_some_and(|e| e < created) {
        return Err("manifest expires before it was created".into());
    }
    if m.sequence == 0
        || m.previous
            .as_ref()
            .is_some_and(|p| p.sequence >= m.sequence)
    {
        return Err(format!(
            "manifest sequence {} is not at least 1 and above its previous sequence",
            m.sequence
        ));
    }
    Ok(ManifestTimes { created, expires })
}

/// How much of a refused untrusted value an error message shows: enough to
/// recognise it (a label is at most 128), not a manifest's worth.
const SHOWN_CHARS: usize = 160;

/// Check a bundle name, channel or role: 1–128 bytes of `[A-Za-z0-9._-]`,
/// starting with a letter or digit.
pub fn check_label(what: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        // The value may be untrusted and as long as a manifest: shown cut.
        let shown = crate::describe::text::shorten(value, SHOWN_CHARS);
        Err(format!(
            "{what} {shown:?} must be 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit"
        ))
    }
}

/// The attestation: an in-toto Statement v1 whose subjects are the artifacts,
/// with a SLSA provenance v1 predicate. Compact JSON + LF.
pub fn attestation_bytes(
    subjects: &[(BundlePath, Sha256Digest)],
    external_parameters: serde_json::Value,
    created: &str,
) -> Vec<u8> {
    let described: Vec<serde_json::Value> = subjects
        .iter()
        .map(|(name, digest)| serde_json::json!({"name": name.as_str(), "digest": {"sha256": digest.to_hex()}}))
        .collect();
    let statement = serde_json::json!({
        "_type": layout::STATEMENT_TYPE,
        "subject": described,
        "predicateType": layout::SLSA_PROVENANCE,
        "predicate": {
            "buildDefinition": {
                "buildType": layout::BUILD_TYPE,
                "externalParameters": external_parameters,
                "resolvedDependencies": described,
            },
            "runDetails": {
                "builder": {"id": format!("{}@{}", layout::BUILDER_ID, crate::TOOL_VERSION)},
                "metadata": {"startedOn": created, "finishedOn": created},
            },
        },
    });
    let mut out = serde_json::to_vec(&statement).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/bundle-format.md [B22]: pretty JSON, 2-space indent, the
    /// fields in the table's order, one final LF.
    #[test]
    fn manifest_bytes_are_pretty_json_in_table_order() {
        let m = Manifest {
            schema: layout::MANIFEST_SCHEMA.into(),
            name: "n".into(),
            channel: "c".into(),
            sequence: 1,
            previous: None,
            created: "1970-01-01T00:00:00Z".into(),
            expires: None,
            tool: Tool {
                name: "lbom".into(),
                version: "0".into(),
            },
            entries: vec![],
        };
        let text = String::from_utf8(m.to_bytes()).unwrap_or_default();
        let want = "{\n  \"schema\": \"urn:lbom:bundle-manifest:v1\",\n  \"name\": \"n\",\n  \"channel\": \"c\",\n  \"sequence\": 1,\n  \"previous\": null,\n  \"created\": \"1970-01-01T00:00:00Z\",\n  \"expires\": null,\n  \"tool\": {\n    \"name\": \"lbom\",\n    \"version\": \"0\"\n  },\n  \"entries\": []\n}\n";
        assert_eq!(text, want);
    }

    #[test]
    fn labels() {
        assert!(check_label("name", "llama-3.1_8b").is_ok());
        for bad in ["", "-x", "a/b", "a b", &"x".repeat(129)] {
            assert!(check_label("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn manifest_round_trips_and_rejects_unknown_fields() -> Result<(), Box<dyn std::error::Error>> {
        let m = Manifest {
            schema: layout::MANIFEST_SCHEMA.into(),
            name: "n".into(),
            channel: "c".into(),
            sequence: 1,
            previous: None,
            created: format_time(jiff::Timestamp::UNIX_EPOCH),
            expires: None,
            tool: Tool {
                name: "lbom".into(),
                version: "0".into(),
            },
            entries: vec![ManifestEntry {
                path: BundlePath::new("artifacts/a.zst")?,
                role: Role::Artifact,
                size: 3,
                sha256: Sha256Digest::of(b"abc"),
                encoding: Encoding::Zstd,
                stored_size: 12,
            }],
        };
        assert_eq!(m.created, "1970-01-01T00:00:00Z");
        let bytes = m.to_bytes();
        assert_eq!(serde_json::from_slice::<Manifest>(&bytes)?, m);
        assert_eq!(
            m.entries.first().and_then(ManifestEntry::artifact_path),
            Some(BundlePath::new("a")?)
        );
        let mut v: serde_json::Value = serde_json::from_slice(&bytes)?;
        if let Some(map) = v.as_object_mut() {
            map.insert("extra".into(), 1.into());
        }
        assert!(serde_json::from_value::<Manifest>(v).is_err());
        Ok(())
    }

    use proptest::prelude::*;

    fn entry() -> impl Strategy<Value = ManifestEntry> {
        (
            "[a-z0-9._-]{1,12}(/[a-z0-9._-]{1,12}){0,2}",
            prop::sample::select(vec![Role::Artifact, Role::Sbom, Role::Attestation]),
            any::<u64>(),
            any::<[u8; 32]>(),
            prop::sample::select(vec![Encoding::Raw, Encoding::Zstd]),
            any::<u64>(),
        )
            .prop_filter_map("canonical path", |(p, role, size, d, encoding, stored)| {
                Some(ManifestEntry {
                    path: BundlePath::new(&p).ok()?,
                    role,
                    size,
                    sha256: Sha256Digest::of(&d),
                    encoding,
                    stored_size: stored,
                })
            })
    }

    proptest! {
        /// Any manifest survives its own byte form unchanged, and the byte
        /// form is a function of the value (what signing relies on).
        #[test]
        fn manifests_round_trip(
            name in "[a-z0-9][a-z0-9._-]{0,20}",
            sequence in 1u64..,
            previous in proptest::option::of((any::<u64>(), any::<[u8; 32]>())),
            secs in 0i64..253_402_300_799,
            expires in proptest::option::of(0i64..253_402_300_799),
            entries in prop::collection::vec(entry(), 0..8),
        ) {
            let time = |s: i64| jiff::Timestamp::from_second(s).map(format_time).unwrap_or_default();
            let m = Manifest {
                schema: layout::MANIFEST_SCHEMA.into(),
                name: name.clone(),
                channel: name,
                sequence,
                previous: previous.map(|(s, d)| Previous { sequence: s, manifest_sha256: Sha256Digest::of(&d) }),
                created: time(secs),
                expires: expires.map(time),
                tool: Tool { name: "lbom".into(), version: crate::TOOL_VERSION.into() },
                entries,
            };
            let bytes = m.to_bytes();
            let back: Manifest = serde_json::from_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(back.to_bytes(), bytes);
        }
    }
}
