//! Signature-chain link statements (docs/bundle-format.md, "Signature
//! chain"). Link N is a DSSE envelope over an in-toto Statement v1 whose one
//! subject is the manifest entry and whose predicate names link N−1.
//! Building and parsing live here, away from secret keys, so `verify` can
//! use them without `sign`.

use serde::{Deserialize, Serialize};

use super::layout;
use crate::envelope::{Envelope, KeyId, PAYLOAD_TYPE_IN_TOTO};
use crate::inspect::digest::Sha256Digest;

/// Longest note, in bytes: 1024.
pub const MAX_NOTE_BYTES: usize = 1024;

/// The previous link, as named by a link's predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousLink {
    /// Its entry name.
    pub path: String,
    /// SHA-256 of its entry bytes.
    pub sha256: Sha256Digest,
}

/// The predicate of a link statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPredicate {
    /// 1-based position in the chain.
    pub index: u32,
    /// The signer's role (`maintainer`, `transfer`, …).
    pub role: String,
    /// The signer's key id.
    pub keyid: KeyId,
    /// Signing time, RFC 3339 UTC whole seconds.
    pub time: String,
    /// Free text from the signer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Link N−1; absent for link 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousLink>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subject {
    name: String,
    digest: SubjectDigest,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectDigest {
    sha256: Sha256Digest,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: LinkPredicate,
}

/// The statement payload (compact JSON, no final newline) for a link over
/// the manifest with digest `manifest_sha256`.
pub fn link_payload(manifest_sha256: &Sha256Digest, predicate: &LinkPredicate) -> Vec<u8> {
    let statement = LinkStatement {
        statement_type: layout::STATEMENT_TYPE.to_owned(),
        subject: vec![Subject {
            name: layout::MANIFEST.to_owned(),
            digest: SubjectDigest {
                sha256: *manifest_sha256,
            },
        }],
        predicate_type: layout::LINK_PREDICATE_TYPE.to_owned(),
        predicate: predicate.clone(),
    };
    serde_json::to_vec(&statement).unwrap_or_default()
}

/// Check a role and note before signing.
pub fn check_role_and_note(role: &str, note: Option<&str>) -> Result<(), String> {
    super::manifest::check_label("role", role)?;
    if let Some(n) = note
        && (n.len() > MAX_NOTE_BYTES || n.chars().any(char::is_control))
    {
        return Err(format!(
            "note must be at most {MAX_NOTE_BYTES} bytes without control characters"
        ));
    }
    Ok(())
}

/// One link as [`inspect`](super::inspect) shows it: every field as
/// claimed, nothing verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkInfo {
    /// Entry name.
    pub path: String,
    /// SHA-256 of the entry bytes (what link N+1 names).
    pub entry_sha256: Sha256Digest,
    /// The envelope's `payloadType`.
    pub payload_type: String,
    /// The keyid hints of its signatures.
    pub signature_keyids: Vec<String>,
    /// The manifest digest the statement claims to sign.
    pub manifest_sha256: Sha256Digest,
    /// The predicate: index, role, key id, time, note, previous link.
    #[serde(flatten)]
    pub predicate: LinkPredicate,
}

/// Why a link is malformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Envelope decoding failed.
    #[error(transparent)]
    Envelope(#[from] crate::envelope::Error),
    /// Not the in-toto payload type.
    #[error("payload type {0:?} is not {PAYLOAD_TYPE_IN_TOTO}")]
    PayloadType(String),
    /// Not a link statement.
    #[error("statement is not an lbom chain link: {0}")]
    Statement(String),
    /// The envelope decodes but is not byte for byte the form lbom writes.
    #[error(
        "envelope is not in its one canonical form (compact JSON in field order, standard padded base64, final LF)"
    )]
    NotCanonical,
}

/// Decode a link entry: the envelope, then its statement (untrusted).
pub fn parse_link(path: &str, bytes: &[u8]) -> Result<(Envelope, LinkInfo), LinkError> {
    let envelope = Envelope::decode(bytes)?;
    // One encoding only: the last link is covered by no later link, so any
    // leniency here (base64 alphabets, padding, whitespace, the final LF)
    // would let its bytes change without verify noticing.
    if envelope.encode() != bytes {
        return Err(LinkError::NotCanonical);
    }
    if envelope.payload_type != PAYLOAD_TYPE_IN_TOTO {
        return Err(LinkError::PayloadType(envelope.payload_type));
    }
    let statement: LinkStatement = serde_json::from_slice(&envelope.payload)
        .map_err(|e| LinkError::Statement(e.to_string()))?;
    if statement.statement_type != layout::STATEMENT_TYPE
        || statement.predicate_type != layout::LINK_PREDICATE_TYPE
    {
        return Err(LinkError::Statement("wrong _type or predicateType".into()));
    }
    let [subject] = statement.subject.as_slice() else {
        return Err(LinkError::Statement("expected exactly one subject".into()));
    };
    if subject.name != layout::MANIFEST {
        return Err(LinkError::Statement(format!(
            "subject is {:?}, not {}",
            subject.name,
            layout::MANIFEST
        )));
    }
    check_role_and_note(
        &statement.predicate.role,
        statement.predicate.note.as_deref(),
    )
    .map_err(LinkError::Statement)?;
    let info = LinkInfo {
        path: path.to_owned(),
        entry_sha256: Sha256Digest::of(bytes),
        payload_type: envelope.payload_type.clone(),
        signature_keyids: envelope
            .signatures
            .iter()
            .map(|s| s.keyid.clone())
            .collect(),
        manifest_sha256: subject.digest.sha256,
        predicate: statement.predicate,
    };
    Ok((envelope, info))
}
