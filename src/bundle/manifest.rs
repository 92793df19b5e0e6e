//! The hash manifest (docs/bundle-format.md §5): its types, its one byte
//! form, and the strict reader that accepts nothing else.
//!
//! Reading is strict in three layers, each closing what the one before
//! leaves open: [`Manifest`]'s `Deserialize` takes the fields in the
//! table's order, every one present (`null` where the format allows
//! "none"), none unknown, none twice; [`check_fields`] holds the ranges and
//! forms a type cannot (labels, times, sequences, the tool); and [`parse`]
//! re-serialises the value with the writer and compares bytes, so
//! whitespace, escapes and number spellings have one form too ([B1]).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::layout;
use super::path::BundlePath;
use crate::io::digest::Sha256Digest;

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
    /// One zstd frame (RFC 8878) under the rules of docs/bundle-format.md §4.
    Zstd,
    /// A delta payload: a recipe that rebuilds the file from the base
    /// version and shipped chunks (docs/bundle-format.md §14). Only in a
    /// differential manifest, only for artifacts.
    Delta,
}

/// A manifest format version this reader knows (docs/bundle-format.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormatVersion {
    /// `urn:lbom:bundle-manifest:v1`: entries bind their decoded bytes only.
    V1,
    /// `urn:lbom:bundle-manifest:v2`: entries also bind their stored bytes
    /// (`stored_sha256`). What `pack` writes.
    V2,
}

impl FormatVersion {
    /// The version `pack` writes.
    pub const CURRENT: Self = Self::V2;

    /// The manifest `schema` of this version.
    pub fn schema(self) -> &'static str {
        match self {
            Self::V1 => layout::MANIFEST_SCHEMA_V1,
            Self::V2 => layout::MANIFEST_SCHEMA,
        }
    }

    /// The version a `schema` names, when this reader knows it.
    pub fn of_schema(schema: &str) -> Option<Self> {
        [Self::V1, Self::V2]
            .into_iter()
            .find(|v| v.schema() == schema)
    }
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// SHA-256 of the bytes as stored in the tar (= `sha256` when raw).
    /// Always set in a version 2 manifest, never in a version 1 one (whose
    /// entries have no such field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_sha256: Option<Sha256Digest>,
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
            Encoding::Delta => rest.strip_suffix(super::delta::DELTA_SUFFIX)?,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// The format version's schema ([`FormatVersion::schema`]).
    pub schema: String,
    /// Bundle name.
    pub name: String,
    /// Channel.
    pub channel: String,
    /// Sequence number on the channel, from 1, strictly increasing.
    pub sequence: u64,
    /// The previous bundle; `null` for the first of a channel.
    pub previous: Option<Previous>,
    /// A differential bundle's base version (docs/bundle-format.md §14):
    /// the field is absent, not `null`, from a full bundle's manifest, so
    /// that every full bundle keeps its bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<Previous>,
    /// Creation time, RFC 3339 UTC whole seconds (`2026-01-02T03:04:05Z`).
    pub created: String,
    /// Expiry time in the same form; `null` for none.
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

    /// For a differential manifest: what its artifacts ship and rebuild.
    pub fn differential_totals(&self) -> Option<DifferentialTotals> {
        self.base.as_ref()?;
        let mut t = DifferentialTotals::default();
        for e in self.entries.iter().filter(|e| e.role == Role::Artifact) {
            t.artifact_bytes = t.artifact_bytes.saturating_add(e.size);
            t.shipped_bytes = t.shipped_bytes.saturating_add(e.stored_size);
            if e.encoding == Encoding::Delta {
                t.rebuilt_bytes = t.rebuilt_bytes.saturating_add(e.size);
            }
        }
        Some(t)
    }

    /// The format version its `schema` names (`None`: not one this reader
    /// knows; [`parse`] never returns such a manifest).
    pub fn version(&self) -> Option<FormatVersion> {
        FormatVersion::of_schema(&self.schema)
    }
}

/// What a differential bundle's artifacts ship and rebuild
/// (docs/bundle-format.md §14), as `inspect` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DifferentialTotals {
    /// Bytes of every artifact of the target version.
    pub artifact_bytes: u64,
    /// Bytes stored for the artifacts in the bundle (whole files and delta
    /// payloads).
    pub shipped_bytes: u64,
    /// Bytes of the artifacts rebuilt from a recipe.
    pub rebuilt_bytes: u64,
}

/// Parse a manifest entry's bytes strictly: the ordered typed parse, the
/// field rules, and the byte comparison with the writer's form
/// (docs/bundle-format.md [B23], [B24], [B51], [B52]). Returns the manifest
/// and its parsed times.
pub fn parse(bytes: &[u8]) -> Result<(Manifest, ManifestTimes), String> {
    let manifest: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| format!("entry manifest.json is not valid: {e}"))?;
    let times = check_fields(&manifest)?;
    check_written_form("manifest", &manifest, Form::Pretty, bytes)?;
    Ok((manifest, times))
}

/// The two byte forms of a bundle's JSON documents (docs/bundle-format.md
/// §5, "JSON forms"), each followed by a final LF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `serde_json::to_vec_pretty`: the manifest.
    Pretty,
    /// `serde_json::to_vec`: the attestation.
    Compact,
}

/// [`check_canonical`] without writing the document out: `value` is
/// serialised in `form`, then a final LF, straight into a comparison with
/// `read` that stops at the first differing byte. A document of the
/// reader's largest size is never held twice (docs/bundle-format.md,
/// "Reader limits").
pub fn check_written_form<T: Serialize>(
    what: &str,
    value: &T,
    form: Form,
    read: &[u8],
) -> Result<(), String> {
    let mut against = Compare { read, at: 0 };
    let written = match form {
        Form::Pretty => serde_json::to_writer_pretty(&mut against, value),
        Form::Compact => serde_json::to_writer(&mut against, value),
    }
    .map_err(std::io::Error::from)
    .and_then(|()| std::io::Write::write_all(&mut against, b"\n"));
    match written {
        Ok(()) if against.at == read.len() => Ok(()),
        _ => Err(format!(
            "{what} is not in its one byte form (docs/bundle-format.md §5, JSON forms): it differs from the writer's form of the same value at byte {}",
            against.at
        )),
    }
}

/// A writer that compares what is written with `read`; `at` is the number
/// of bytes that agreed (the first differing offset once a write fails).
struct Compare<'a> {
    read: &'a [u8],
    at: usize,
}

impl std::io::Write for Compare<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let rest = self.read.get(self.at..).unwrap_or_default();
        let same = buf.iter().zip(rest).take_while(|(a, b)| a == b).count();
        self.at += same;
        if same < buf.len() {
            return Err(std::io::Error::other("differs from the bytes read"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `Err` naming the first differing byte unless `written` (the writer's
/// form of the parsed value) is exactly `read`: what makes a JSON document
/// of the bundle have one byte form (docs/bundle-format.md §5, "JSON forms").
pub fn check_canonical(what: &str, written: &[u8], read: &[u8]) -> Result<(), String> {
    if written == read {
        return Ok(());
    }
    let at = written
        .iter()
        .zip(read)
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| written.len().min(read.len()));
    Err(format!(
        "{what} is not in its one byte form (docs/bundle-format.md §5, JSON forms): it differs from the writer's form of the same value at byte {at}"
    ))
}

// ---------------------------------------------------------------------------
// The ordered, version-aware parse.

/// Take the next key of a JSON object, which must be `name`.
fn expect_key<'de, A: MapAccess<'de>>(map: &mut A, what: &str, name: &str) -> Result<(), A::Error> {
    match map.next_key::<String>()? {
        Some(k) if k == name => Ok(()),
        Some(k) => Err(de::Error::custom(format!(
            "{what}: found field `{}` where the format has `{name}` (every field, in the table's order)",
            crate::safe::shorten(&k, SHOWN_CHARS)
        ))),
        None => Err(de::Error::custom(format!("{what}: missing field `{name}`"))),
    }
}

/// The next field, which must be `name`, and its value.
fn field<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    what: &str,
    name: &str,
) -> Result<T, A::Error> {
    expect_key(map, what, name)?;
    map.next_value()
}

/// The object must end here.
fn end<'de, A: MapAccess<'de>>(map: &mut A, what: &str) -> Result<(), A::Error> {
    match map.next_key::<String>()? {
        None => Ok(()),
        Some(k) => Err(de::Error::custom(format!(
            "{what}: unknown field `{}`",
            crate::safe::shorten(&k, SHOWN_CHARS)
        ))),
    }
}

impl<'de> Deserialize<'de> for Manifest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ManifestVisitor)
    }
}

struct ManifestVisitor;

impl<'de> Visitor<'de> for ManifestVisitor {
    type Value = Manifest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an lbom bundle manifest (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Manifest, A::Error> {
        const WHAT: &str = "manifest";
        let schema: String = field(&mut map, WHAT, "schema")?;
        let version = FormatVersion::of_schema(&schema).ok_or_else(|| {
            de::Error::custom(format!(
                "manifest schema {:?} is not one this reader knows",
                crate::safe::shorten(&schema, SHOWN_CHARS)
            ))
        })?;
        let name = field(&mut map, WHAT, "name")?;
        let channel = field(&mut map, WHAT, "channel")?;
        let sequence = field(&mut map, WHAT, "sequence")?;
        let previous = field(&mut map, WHAT, "previous")?;
        // `base` is there only in a differential manifest, between
        // `previous` and `created` ([B74]).
        let (base, created) = match map.next_key::<String>()? {
            Some(k) if k == "base" => {
                let base: Previous = map.next_value()?;
                (Some(base), field(&mut map, WHAT, "created")?)
            }
            Some(k) if k == "created" => (None, map.next_value()?),
            Some(k) => {
                return Err(de::Error::custom(format!(
                    "{WHAT}: found field `{}` where the format has `created` (every field, in the table's order)",
                    crate::safe::shorten(&k, SHOWN_CHARS)
                )));
            }
            None => {
                return Err(de::Error::custom(format!(
                    "{WHAT}: missing field `created`"
                )));
            }
        };
        let expires = field(&mut map, WHAT, "expires")?;
        let tool = field(&mut map, WHAT, "tool")?;
        expect_key(&mut map, WHAT, "entries")?;
        let entries = map.next_value_seed(EntriesSeed(version))?;
        end(&mut map, WHAT)?;
        Ok(Manifest {
            schema,
            name,
            channel,
            sequence,
            previous,
            base,
            created,
            expires,
            tool,
            entries,
        })
    }
}

/// The `entries` array of a manifest of `version`.
struct EntriesSeed(FormatVersion);

impl<'de> DeserializeSeed<'de> for EntriesSeed {
    type Value = Vec<ManifestEntry>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed {
    type Value = Vec<ManifestEntry>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the manifest's entries (a JSON array)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // No capacity from the input: the count is untrusted.
        let mut out = Vec::new();
        while let Some(entry) = seq.next_element_seed(EntrySeed(self.0))? {
            out.push(entry);
        }
        Ok(out)
    }
}

/// One entry of a manifest of `version`.
#[derive(Clone, Copy)]
struct EntrySeed(FormatVersion);

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = ManifestEntry;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = ManifestEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a manifest entry (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ManifestEntry, A::Error> {
        const WHAT: &str = "manifest entry";
        let path = field(&mut map, WHAT, "path")?;
        let role = field(&mut map, WHAT, "role")?;
        let size = field(&mut map, WHAT, "size")?;
        let sha256 = field(&mut map, WHAT, "sha256")?;
        let encoding = field(&mut map, WHAT, "encoding")?;
        let stored_size = field(&mut map, WHAT, "stored_size")?;
        let stored_sha256 = match self.0 {
            FormatVersion::V1 => None,
            FormatVersion::V2 => Some(field(&mut map, WHAT, "stored_sha256")?),
        };
        end(&mut map, WHAT)?;
        Ok(ManifestEntry {
            path,
            role,
            size,
            sha256,
            encoding,
            stored_size,
            stored_sha256,
        })
    }
}

// ---------------------------------------------------------------------------
// Field rules.

/// Format a timestamp as RFC 3339 UTC whole seconds.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The years a time may have: 1970 to 9998 (every instant of them is a
/// timestamp jiff holds; 9999 is not whole).
const YEARS: std::ops::RangeInclusive<i16> = 1970..=9998;

/// Parse a manifest or link time in the one form the format allows
/// (docs/bundle-format.md [B53]): `YYYY-MM-DDTHH:MM:SSZ`, a valid date of
/// the proleptic Gregorian calendar in the years 1970 to 9998, hours 00–23,
/// minutes and seconds 00–59 (no leap second). Whatever else jiff would
/// accept (offsets, fractions, a space, lower-case letters) is refused.
pub fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    let b = text.as_bytes();
    let shape = b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let number = |r: std::ops::Range<usize>| -> Option<i16> { text.get(r)?.parse().ok() };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !YEARS.contains(&year) {
        return None;
    }
    let date =
        jiff::civil::Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()?;
    let time = jiff::civil::Time::new(
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()?;
    let t = date
        .to_datetime(time)
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
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

/// The field rules of docs/bundle-format.md §5 ([B24], [B53], [B54]) that
/// a typed parse does not hold: labels, the tool, the time form, `expires`
/// not before `created`, `sequence` at least 1 and above
/// `previous.sequence` (itself at least 1), and for version 2 the stored
/// size and digest of a raw entry equal to its decoded ones. Returns the
/// times it parsed, so nobody parses them again.
pub fn check_fields(m: &Manifest) -> Result<ManifestTimes, String> {
    let version = m.version().ok_or_else(|| {
        format!(
            "manifest schema {:?} is not one this reader knows",
            crate::safe::shorten(&m.schema, SHOWN_CHARS)
        )
    })?;
    check_label("name", &m.name)?;
    check_label("channel", &m.channel)?;
    check_tool(&m.tool)?;
    let time = |what: &str, text: &str| {
        parse_time(text).ok_or_else(|| {
            let shown = crate::safe::shorten(text, SHOWN_CHARS);
            format!(
                "manifest {what} {shown:?} is not a valid time of the form YYYY-MM-DDTHH:MM:SSZ (years 1970 to 9998, no leap second)"
            )
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
    if m.sequence == 0 {
        return Err("manifest sequence is 0; sequences start at 1".into());
    }
    if let Some(p) = &m.previous
        && (p.sequence == 0 || p.sequence >= m.sequence)
    {
        return Err(format!(
            "manifest previous.sequence {} is not from 1 to {} (below the manifest's sequence)",
            p.sequence,
            m.sequence.saturating_sub(1)
        ));
    }
    check_differential(m, version)?;
    for e in &m.entries {
        let stored_matches = match (version, e.stored_sha256) {
            (FormatVersion::V1, None) => true,
            (FormatVersion::V2, Some(stored)) => {
                e.encoding != Encoding::Raw || (stored == e.sha256 && e.stored_size == e.size)
            }
            _ => false,
        };
        if !stored_matches {
            return Err(format!(
                "manifest entry {}: a raw entry's stored_size and stored_sha256 must equal its size and sha256",
                e.path
            ));
        }
    }
    Ok(ManifestTimes { created, expires })
}

/// The differential rules of docs/bundle-format.md [B74]–[B75]: `base`
/// only in version 2, its sequence from 1 to below `sequence`; a delta
/// entry only for an artifact of a manifest with `base`.
fn check_differential(m: &Manifest, version: FormatVersion) -> Result<(), String> {
    if let Some(b) = &m.base {
        if version != FormatVersion::V2 {
            return Err(
                "a version 1 manifest has no base: differential bundles are version 2".into(),
            );
        }
        if b.sequence == 0 || b.sequence >= m.sequence {
            return Err(format!(
                "manifest base.sequence {} is not from 1 to {} (below the manifest's sequence)",
                b.sequence,
                m.sequence.saturating_sub(1)
            ));
        }
    }
    for e in &m.entries {
        if e.encoding != Encoding::Delta {
            continue;
        }
        if e.role != Role::Artifact {
            return Err(format!(
                "manifest entry {}: only an artifact may be delta-encoded",
                e.path
            ));
        }
        if m.base.is_none() {
            return Err(format!(
                "manifest entry {} is delta-encoded, but the manifest names no base",
                e.path
            ));
        }
    }
    Ok(())
}

/// How much of a refused untrusted value an error message shows: enough to
/// recognise it (a label is at most 128), not a manifest's worth.
const SHOWN_CHARS: usize = 160;

/// Whether `value` is 1–128 bytes of `[A-Za-z0-9]` and `extra`, starting
/// with a letter or digit.
fn label_like(value: &str, extra: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Check a bundle name, channel or role: 1–128 bytes of `[A-Za-z0-9._-]`,
/// starting with a letter or digit.
pub fn check_label(what: &str, value: &str) -> Result<(), String> {
    if label_like(value, b"._-") {
        Ok(())
    } else {
        // The value may be untrusted and as long as a manifest: shown cut.
        let shown = crate::safe::shorten(value, SHOWN_CHARS);
        Err(format!(
            "{what} {shown:?} must be 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit"
        ))
    }
}

/// The manifest's `tool` (docs/bundle-format.md [B54]): `name` a label,
/// `version` 1–128 characters of `[A-Za-z0-9._+-]` starting with a letter
/// or digit (a SemVer version with pre-release and build parts fits).
pub fn check_tool(tool: &Tool) -> Result<(), String> {
    check_label("tool.name", &tool.name)?;
    if label_like(&tool.version, b"._+-") {
        Ok(())
    } else {
        let shown = crate::safe::shorten(&tool.version, SHOWN_CHARS);
        Err(format!(
            "tool.version {shown:?} must be 1 to 128 characters of A-Z a-z 0-9 . _ + - starting with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn sample(version: FormatVersion) -> Result<Manifest, Box<dyn std::error::Error>> {
        let stored = |d: Sha256Digest| (version == FormatVersion::V2).then_some(d);
        Ok(Manifest {
            schema: version.schema().into(),
            name: "n".into(),
            channel: "c".into(),
            sequence: 2,
            previous: Some(Previous {
                sequence: 1,
                manifest_sha256: Sha256Digest::of(b"one"),
            }),
            base: None,
            created: format_time(jiff::Timestamp::UNIX_EPOCH),
            expires: None,
            tool: Tool {
                name: "lbom".into(),
                version: "0.2.0-rc.1+b5".into(),
            },
            entries: vec![
                ManifestEntry {
                    path: BundlePath::new("artifacts/a.zst")?,
                    role: Role::Artifact,
                    size: 3,
                    sha256: Sha256Digest::of(b"abc"),
                    encoding: Encoding::Zstd,
                    stored_size: 12,
                    stored_sha256: stored(Sha256Digest::of(b"frame")),
                },
                ManifestEntry {
                    path: BundlePath::new("sboms/\"q\"é.cdx.json")?,
                    role: Role::Sbom,
                    size: 4,
                    sha256: Sha256Digest::of(b"sbom"),
                    encoding: Encoding::Raw,
                    stored_size: 4,
                    stored_sha256: stored(Sha256Digest::of(b"sbom")),
                },
            ],
        })
    }

    /// docs/bundle-format.md [B74], [B75]: `base` between `previous` and
    /// `created`, only in a differential manifest, never `null`; a delta
    /// entry only for an artifact of a manifest with a base; a full
    /// manifest's bytes are those it always had.
    #[test]
    fn differential_fields_appear_only_where_the_format_allows_them() -> R {
        let full = sample(FormatVersion::V2)?;
        let full_bytes = full.to_bytes();
        assert!(!String::from_utf8_lossy(&full_bytes).contains("base"));
        parse(&full_bytes)?;
        let mut diff = full.clone();
        diff.base = diff.previous.clone();
        diff.entries[0] = ManifestEntry {
            path: BundlePath::new("artifacts/a.dlt")?,
            encoding: Encoding::Delta,
            ..diff.entries[0].clone()
        };
        let bytes = diff.to_bytes();
        let text = String::from_utf8(bytes.clone())?;
        let (at_previous, at_base, at_created) = (
            text.find("\"previous\"").unwrap_or(usize::MAX),
            text.find("\"base\"").unwrap_or(usize::MAX),
            text.find("\"created\"").unwrap_or(usize::MAX),
        );
        assert!(at_previous < at_base && at_base < at_created, "{text}");
        let (back, _) = parse(&bytes)?;
        assert_eq!(back, diff);
        assert_eq!(
            back.entries[0].artifact_path().map(|p| p.to_string()),
            Some("a".into())
        );
        let refused = |m: &Manifest| parse(&m.to_bytes()).is_err();
        // A delta entry without a base; a delta SBOM.
        let mut no_base = diff.clone();
        no_base.base = None;
        assert!(refused(&no_base));
        let mut delta_sbom = diff.clone();
        delta_sbom.entries[1].encoding = Encoding::Delta;
        assert!(refused(&delta_sbom));
        // A base sequence of 0 or not below the sequence.
        for seq in [0, 2, 3] {
            let mut m = diff.clone();
            m.base = Some(Previous {
                sequence: seq,
                manifest_sha256: Sha256Digest::of(b"b"),
            });
            assert!(refused(&m), "base.sequence {seq}");
        }
        // `null`, another place, an unknown field inside: refused as text.
        let edits = [
            text.replace("\"base\": {", "\"base\": null, \"x\": {"),
            text.replacen(
                "  \"base\": {\n    \"sequence\": 1,\n",
                "  \"base\": {\n    \"sequence\": 1,\n    \"extra\": 1,\n",
                1,
            ),
        ];
        for edited in edits {
            assert!(parse(edited.as_bytes()).is_err(), "{edited}");
        }
        let null_base = text.replacen(&text[at_base..at_created], "\"base\": null,\n  ", 1);
        assert!(parse(null_base.as_bytes()).is_err(), "{null_base}");
        let moved = {
            let base_field = &text[at_base..at_created];
            let without = text.replacen(base_field, "", 1);
            without.replacen("  \"tool\"", &format!("{base_field}\"tool\""), 1)
        };
        assert!(parse(moved.as_bytes()).is_err(), "{moved}");
        // Version 1 has no base.
        let mut v1 = sample(FormatVersion::V1)?;
        v1.base = v1.previous.clone();
        assert!(refused(&v1));
        Ok(())
    }

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
            base: None,
            created: "1970-01-01T00:00:00Z".into(),
            expires: None,
            tool: Tool {
                name: "lbom".into(),
                version: "0".into(),
            },
            entries: vec![],
        };
        let text = String::from_utf8(m.to_bytes()).unwrap_or_default();
        let want = "{\n  \"schema\": \"urn:lbom:bundle-manifest:v2\",\n  \"name\": \"n\",\n  \"channel\": \"c\",\n  \"sequence\": 1,\n  \"previous\": null,\n  \"created\": \"1970-01-01T00:00:00Z\",\n  \"expires\": null,\n  \"tool\": {\n    \"name\": \"lbom\",\n    \"version\": \"0\"\n  },\n  \"entries\": []\n}\n";
        assert_eq!(text, want);
    }

    #[test]
    fn labels() {
        assert!(check_label("name", "llama-3.1_8b").is_ok());
        for bad in ["", "-x", "a/b", "a b", &"x".repeat(129)] {
            assert!(check_label("name", bad).is_err(), "{bad:?}");
        }
        for ok in ["0.1.0", "1.2.3-rc.1+build.5", "v2"] {
            let tool = Tool {
                name: "lbom".into(),
                version: ok.into(),
            };
            assert!(check_tool(&tool).is_ok(), "{ok}");
        }
        for (name, version) in [
            ("lbom", ""),
            ("lbom", "+1"),
            ("lb om", "1"),
            ("lbom", "1\u{2028}"),
        ] {
            let tool = Tool {
                name: name.into(),
                version: version.into(),
            };
            assert!(check_tool(&tool).is_err(), "{name:?} {version:?}");
        }
    }

    /// docs/bundle-format.md [B23], [B51]: both versions round-trip through
    /// the strict parse; every field of the manifest and of an entry,
    /// removed, set to null, given the wrong type, or joined by an unknown
    /// sibling, is refused by the typed parse itself (not only by the byte
    /// comparison after it).
    #[test]
    fn the_typed_parse_refuses_every_missing_null_mistyped_or_unknown_field() -> R {
        for version in [FormatVersion::V1, FormatVersion::V2] {
            let m = sample(version)?;
            let bytes = m.to_bytes();
            let (back, _) = parse(&bytes).map_err(|e| format!("{version:?}: {e}"))?;
            assert_eq!(back, m);
            let value: serde_json::Value = serde_json::from_slice(&bytes)?;
            let nullable = ["previous", "expires"];
            let mut objects: Vec<(Vec<&str>, Vec<String>)> = vec![
                (vec![], keys(&value)),
                (vec!["previous"], keys(&value["previous"])),
                (vec!["tool"], keys(&value["tool"])),
                (vec!["entries", "0"], keys(&value["entries"][0])),
            ];
            objects.retain(|(_, k)| !k.is_empty());
            for (at, fields) in &objects {
                for field in fields {
                    let edits: [(&str, serde_json::Value); 3] = [
                        ("null", serde_json::Value::Null),
                        ("wrong type", serde_json::json!([1])),
                        ("removed", serde_json::Value::Bool(false)),
                    ];
                    for (what, replacement) in edits {
                        if what == "null" && at.is_empty() && nullable.contains(&field.as_str()) {
                            continue;
                        }
                        let mut v = value.clone();
                        let obj = pointer(&mut v, at).ok_or("no object")?;
                        if what == "removed" {
                            obj.remove(field);
                        } else {
                            obj.insert(field.clone(), replacement);
                        }
                        let edited = serde_json::to_vec(&v)?;
                        assert!(
                            serde_json::from_slice::<Manifest>(&edited).is_err(),
                            "{version:?} {at:?}.{field} {what} parsed"
                        );
                    }
                }
                let mut v = value.clone();
                pointer(&mut v, at)
                    .ok_or("no object")?
                    .insert("zz_unknown".into(), 1.into());
                assert!(
                    serde_json::from_slice::<Manifest>(&serde_json::to_vec(&v)?).is_err(),
                    "{version:?} unknown field in {at:?} parsed"
                );
            }
        }
        // A version 1 entry with a stored_sha256, and a version 2 entry
        // without one, are each the other version's field: refused.
        let mut v1: serde_json::Value =
            serde_json::from_slice(&sample(FormatVersion::V1)?.to_bytes())?;
        v1["entries"][0]["stored_sha256"] = Sha256Digest::of(b"x").to_hex().into();
        assert!(serde_json::from_slice::<Manifest>(&serde_json::to_vec(&v1)?).is_err());
        Ok(())
    }

    fn keys(v: &serde_json::Value) -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn pointer<'a>(
        v: &'a mut serde_json::Value,
        at: &[&str],
    ) -> Option<&'a mut serde_json::Map<String, serde_json::Value>> {
        let mut cur = v;
        for step in at {
            cur = match step.parse::<usize>() {
                Ok(i) => cur.get_mut(i)?,
                Err(_) => cur.get_mut(*step)?,
            };
        }
        cur.as_object_mut()
    }

    /// docs/bundle-format.md [B52]: the same value in any other byte form
    /// (compact, reordered, escaped, other number spellings, a duplicate
    /// key, no final LF) is refused.
    #[test]
    fn the_streamed_comparison_is_the_byte_comparison() -> R {
        let m = sample(FormatVersion::V2)?;
        let good = m.to_bytes();
        assert_eq!(check_written_form("m", &m, Form::Pretty, &good), Ok(()));
        let mut longer = good.clone();
        longer.push(b'\n');
        let mut other = good.clone();
        if let Some(b) = other.get_mut(40) {
            *b ^= 1;
        }
        let compact = {
            let mut v = serde_json::to_vec(&m)?;
            v.push(b'\n');
            v
        };
        for read in [
            longer,
            good.get(..good.len() - 1).unwrap_or_default().to_vec(),
            other,
            Vec::new(),
        ] {
            assert_eq!(
                check_written_form("m", &m, Form::Pretty, &read),
                check_canonical("m", &good, &read)
            );
        }
        assert_eq!(check_written_form("m", &m, Form::Compact, &compact), Ok(()));
        assert!(check_written_form("m", &m, Form::Compact, &good).is_err());
        Ok(())
    }

    #[test]
    fn only_the_writers_byte_form_is_accepted() -> R {
        let good = sample(FormatVersion::V2)?.to_bytes();
        assert!(parse(&good).is_ok());
        let text = String::from_utf8(good.clone())?;
        let value: serde_json::Value = serde_json::from_slice(&good)?;
        let variants = [
            ("compact", serde_json::to_string(&value)? + "\n"),
            ("no final LF", text.trim_end().to_owned()),
            ("CRLF", text.replace('\n', "\r\n")),
            ("4-space indent", text.replace("\n  ", "\n    ")),
            ("escaped non-ASCII", text.replace('é', "\\u00e9")),
            ("escaped slash", text.replace("sboms/", "sboms\\/")),
            (
                "number with exponent",
                text.replace("\"size\": 3,", "\"size\": 3e0,"),
            ),
            (
                "number with fraction",
                text.replace("\"sequence\": 2,", "\"sequence\": 2.0,"),
            ),
            (
                "leading zero",
                text.replace("\"stored_size\": 12,", "\"stored_size\": 012,"),
            ),
            ("upper-case hex", {
                let hex = Sha256Digest::of(b"abc").to_hex();
                text.replace(&hex, &hex.to_uppercase())
            }),
            (
                "duplicate key",
                text.replacen(
                    "\"name\": \"n\",",
                    "\"name\": \"n\",\n  \"name\": \"n\",",
                    1,
                ),
            ),
            (
                "reordered",
                text.replacen(
                    "  \"name\": \"n\",\n  \"channel\": \"c\",",
                    "  \"channel\": \"c\",\n  \"name\": \"n\",",
                    1,
                ),
            ),
            ("byte-order mark", format!("\u{feff}{text}")),
        ];
        for (what, bytes) in variants {
            assert_ne!(bytes.as_bytes(), good.as_slice(), "{what}: no change");
            assert!(parse(bytes.as_bytes()).is_err(), "{what} accepted");
        }
        Ok(())
    }

    /// docs/bundle-format.md [B24], [B53]: ranges and forms a type does not hold.
    #[test]
    fn field_rules() -> R {
        let base = sample(FormatVersion::V2)?;
        type Edit = fn(&mut Manifest);
        let refused: [(&str, Edit); 12] = [
            ("sequence 0", |m| {
                m.sequence = 0;
                m.previous = None;
            }),
            ("previous.sequence 0", |m| {
                if let Some(p) = m.previous.as_mut() {
                    p.sequence = 0;
                }
            }),
            ("previous.sequence = sequence", |m| {
                if let Some(p) = m.previous.as_mut() {
                    p.sequence = 2;
                }
            }),
            ("created 2026-02-30", |m| {
                m.created = "2026-02-30T00:00:00Z".into()
            }),
            ("created leap second", |m| {
                m.created = "2016-12-31T23:59:60Z".into()
            }),
            ("created before 1970", |m| {
                m.created = "1969-12-31T23:59:59Z".into()
            }),
            ("created with offset", |m| {
                m.created = "2026-01-01T00:00:00+00:00".into()
            }),
            ("created lower-case", |m| {
                m.created = "2026-01-01t00:00:00z".into()
            }),
            ("expires before created", |m| {
                m.created = "2026-01-02T00:00:00Z".into();
                m.expires = Some("2026-01-01T00:00:00Z".into());
            }),
            ("tool name", |m| m.tool.name = "lbom\u{2028}".into()),
            ("raw entry stored digest", |m| {
                if let Some(e) = m.entries.get_mut(1) {
                    e.stored_sha256 = Some(Sha256Digest::of(b"other"));
                }
            }),
            ("v2 entry without stored digest", |m| {
                if let Some(e) = m.entries.get_mut(0) {
                    e.stored_sha256 = None;
                }
            }),
        ];
        for (what, edit) in refused {
            let mut m = base.clone();
            edit(&mut m);
            assert!(check_fields(&m).is_err(), "{what} accepted");
        }
        let mut leap_day = base.clone();
        leap_day.created = "2024-02-29T23:59:59Z".into();
        leap_day.expires = Some("9998-12-31T23:59:59Z".into());
        assert!(check_fields(&leap_day).is_ok());
        assert_eq!(
            parse_time("1970-01-01T00:00:00Z"),
            Some(jiff::Timestamp::UNIX_EPOCH)
        );
        assert_eq!(parse_time("2025-02-29T00:00:00Z"), None);
        assert_eq!(parse_time("2026-01-01T24:00:00Z"), None);
        assert_eq!(parse_time("9999-01-01T00:00:00Z"), None);
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
            any::<[u8; 32]>(),
        )
            .prop_filter_map(
                "canonical path",
                |(p, role, size, d, encoding, stored, sd)| {
                    let sha256 = Sha256Digest::of(&d);
                    let raw = encoding == Encoding::Raw;
                    Some(ManifestEntry {
                        path: BundlePath::new(&p).ok()?,
                        role,
                        size,
                        sha256,
                        encoding,
                        stored_size: if raw { size } else { stored },
                        stored_sha256: Some(if raw { sha256 } else { Sha256Digest::of(&sd) }),
                    })
                },
            )
    }

    proptest! {
        /// Any manifest survives its own byte form unchanged, and the byte
        /// form is a function of the value (what signing relies on).
        #[test]
        fn manifests_round_trip(
            name in "[a-z0-9][a-z0-9._-]{0,20}",
            sequence in 2u64..,
            previous in proptest::option::of(any::<[u8; 32]>()),
            secs in 0i64..253_370_764_799,
            expires in proptest::option::of(0i64..253_370_764_799),
            entries in prop::collection::vec(entry(), 0..8),
        ) {
            let time = |s: i64| jiff::Timestamp::from_second(s).map(format_time).unwrap_or_default();
            let m = Manifest {
                schema: layout::MANIFEST_SCHEMA.into(),
                name: name.clone(),
                channel: name,
                sequence,
                previous: previous.map(|d| Previous { sequence: sequence - 1, manifest_sha256: Sha256Digest::of(&d) }),
                base: None,
                created: time(secs),
                expires: expires.map(|e| time(e.max(secs))),
                tool: Tool { name: "lbom".into(), version: crate::TOOL_VERSION.into() },
                entries,
            };
            let bytes = m.to_bytes();
            let (back, _) = parse(&bytes).map_err(TestCaseError::fail)?;
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(back.to_bytes(), bytes);
        }
    }
}
