//! CycloneDX JSON ML-BOM: 1.6 by default ([`v1_6`], lbom's own serde
//! types), 1.5 on request ([`v1_5`], the `cyclonedx-bom` crate).
//!
//! `pack` writes each artifact's SBOM with [`write_json`]; `verify`
//! rebuilds the SBOM a bundle holds with the writer of the version it
//! declares ([`write_json_version`]), so bundles packed when 1.5 was the
//! default still verify (docs/bundle-format.md, "Per-file SBOMs").

mod facts;
mod model;
mod v1_5;
mod v1_6;

use std::io::Write;

use super::{DocumentInfo, Error};
use crate::inspect::ModelFacts;
use crate::io::digest::Sha256Digest;

/// A CycloneDX spec version lbom writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SpecVersion {
    /// 1.5: the facts as `lbom:` properties, a model card with the
    /// architecture only.
    V1_5,
    /// 1.6: the facts in first-class fields.
    #[default]
    V1_6,
}

impl SpecVersion {
    /// `1.5`, `1.6`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1_5 => "1.5",
            SpecVersion::V1_6 => "1.6",
        }
    }

    /// The version a document's `specVersion` names, if lbom writes it.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "1.5" => Some(SpecVersion::V1_5),
            "1.6" => Some(SpecVersion::V1_6),
            _ => None,
        }
    }
}

/// Write a CycloneDX 1.6 BOM, pretty-printed with a trailing newline.
pub fn write_json(
    facts: &[ModelFacts],
    info: &DocumentInfo,
    out: &mut dyn Write,
) -> Result<(), Error> {
    write_json_version(facts, info, SpecVersion::default(), out)
}

/// Write a BOM of the given spec version.
pub fn write_json_version(
    facts: &[ModelFacts],
    info: &DocumentInfo,
    version: SpecVersion,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match version {
        SpecVersion::V1_5 => v1_5::write_json(facts, info, out),
        SpecVersion::V1_6 => v1_6::write_json(facts, info, out),
    }
}

/// `urn:uuid:` with the digest's first 16 bytes, version and variant bits
/// set as RFC 9562 §5.5 (version 5, name-based with SHA-1) does, though the
/// name here is hashed with SHA-256.
fn serial_urn(digest: &Sha256Digest) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(digest.as_bytes().get(..16).unwrap_or(&[0u8; 16]));
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or_default();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}
