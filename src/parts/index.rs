//! The part index (docs/bundle-format.md, section 13): a DSSE envelope over
//! an in-toto statement whose subject is the bundle and whose predicate
//! lists every part. Parsed strictly and within limits ([B68], [B69]) before
//! anything it says is used; its signature checked against the keys a
//! caller trusts ([B70]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Error;
use crate::envelope::{Envelope, KeyId, PAYLOAD_TYPE_IN_TOTO, PublicKey, Signature};
use crate::io::digest::Sha256Digest;
use crate::sign::SigningKey;

/// The statement type (in-toto Statement v1).
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a part index.
pub const PREDICATE_TYPE: &str = "urn:lbom:predicate:part-index:v1";
/// Most data parts one set may have.
pub const MAX_DATA_PARTS: usize = 4096;
/// Most parity parts one set may have.
pub const MAX_PARITY_PARTS: usize = 256;
/// Largest index file read: the envelope limit.
pub const MAX_INDEX_BYTES: u64 = crate::envelope::MAX_ENVELOPE_BYTES as u64;
/// Widest stripe: 1 MiB of each part.
pub const MAX_STRIPE_BYTES: u64 = 1 << 20;
/// Most bytes one stripe may span over all parts, data and parity: what a
/// reader repairing a stripe holds at once.
pub const MAX_STRIPE_SPAN_BYTES: u64 = 4 << 20;
/// Smallest part: 1 KiB.
pub const MIN_PART_BYTES: u64 = 1 << 10;

/// One part as the index lists it. Parity parts have offset 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartEntry {
    /// 1, 2, … in order.
    pub number: u32,
    /// Where the part's bytes start in the bundle (data parts).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes.
    pub sha256: Sha256Digest,
}

fn no_digest() -> Sha256Digest {
    Sha256Digest([0; 32])
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// What the index says about the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleFacts {
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its `manifest.json` (what its chain signs).
    pub manifest_sha256: Sha256Digest,
}

/// A part index, checked for form and consistency (not yet for trust).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartIndex {
    /// The role the signer claims.
    pub role: String,
    /// The signer's key id.
    pub keyid: KeyId,
    /// The bundle.
    pub bundle: BundleFacts,
    /// The size of every data part but the last.
    pub part_size: u64,
    /// Bytes of each part per parity stripe.
    pub stripe_size: u64,
    /// The data parts.
    pub parts: Vec<PartEntry>,
    /// The parity parts.
    pub parity: Vec<PartEntry>,
    /// The set's name (the statement's subject name).
    #[serde(skip, default)]
    pub name: String,
    /// The bundle's SHA-256 (the statement's subject digest).
    #[serde(skip, default = "no_digest")]
    pub bundle_sha256: Sha256Digest,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: PartIndex,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subject {
    name: String,
    digest: DigestSet,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestSet {
    sha256: Sha256Digest,
}

/// Who may sign an index: the key a caller trusts for `role`, by id (a
/// station passes its policy's keys).
pub trait Trust {
    /// The key with this id if it may sign as `role`.
    fn key_for(&self, key_id: &KeyId, role: &str) -> Option<PublicKey>;
}

impl PartIndex {
    /// The file name of the index copy on every medium.
    pub fn index_file_name(name: &str) -> String {
        format!("{name}.index.dsse.json")
    }

    /// The file name of data part `number`.
    pub fn data_file_name(&self, number: u32) -> String {
        format!("{}.part{number:04}", self.name)
    }

    /// The file name of parity part `number`.
    pub fn parity_file_name(&self, number: u32) -> String {
        format!("{}.parity{number:04}", self.name)
    }

    /// The payload: the statement in its one byte form.
    pub fn payload(&self) -> Vec<u8> {
        let statement = Statement {
            type_: STATEMENT_TYPE.to_owned(),
            subject: vec![Subject {
                name: self.name.clone(),
                digest: DigestSet {
                    sha256: self.bundle_sha256,
                },
            }],
            predicate_type: PREDICATE_TYPE.to_owned(),
            predicate: self.clone(),
        };
        serde_json::to_vec(&statement).unwrap_or_default()
    }

    /// The signed envelope's file bytes.
    pub fn sign(&self, key: &SigningKey) -> Vec<u8> {
        let mut envelope = Envelope::new(PAYLOAD_TYPE_IN_TOTO, self.payload());
        let sig = key.sign(&envelope.pae());
        envelope.signatures.push(Signature {
            keyid: key.key_id().to_string(),
            sig,
        });
        envelope.encode()
    }

    /// Parse an index file's bytes: the envelope in its one encoding with
    /// one signature, the statement in its one byte form, and the
    /// consistency rules of [B68] and [B69]. The signature is not checked.
    pub fn parse(bytes: &[u8]) -> Result<(Self, Envelope), String> {
        if bytes.len() as u64 > MAX_INDEX_BYTES {
            return Err(format!(
                "{} bytes, more than the {MAX_INDEX_BYTES}-byte limit",
                bytes.len()
            ));
        }
        let envelope = Envelope::decode(bytes).map_err(|e| e.to_string())?;
        if envelope.encode() != bytes {
            return Err("the envelope is not in its one encoding".into());
        }
        if envelope.payload_type != PAYLOAD_TYPE_IN_TOTO || envelope.signatures.len() != 1 {
            return Err("the envelope must be an in-toto payload with one signature".into());
        }
        let statement: Statement =
            serde_json::from_slice(&envelope.payload).map_err(|e| format!("statement: {e}"))?;
        let (name, bundle_sha256) = match statement.subject.as_slice() {
            [one] => (one.name.clone(), one.digest.sha256),
            _ => return Err("the statement must have one subject".into()),
        };
        if statement.type_ != STATEMENT_TYPE || statement.predicate_type != PREDICATE_TYPE {
            return Err("not a part index statement".into());
        }
        let mut index = statement.predicate;
        index.name = name;
        index.bundle_sha256 = bundle_sha256;
        if index.payload() != envelope.payload {
            return Err("the statement is not in its one byte form".into());
        }
        let hint = envelope.signatures.first().map(|s| s.keyid.as_str());
        if hint != Some(index.keyid.to_string().as_str()) {
            return Err("the signature's keyid is not the signed keyid".into());
        }
        index.check()?;
        Ok((index, envelope))
    }

    /// Read and parse an index file, within the size limit before reading.
    pub fn read(path: &Path) -> Result<(Self, Envelope), Error> {
        let malformed = |what: String| Error::MalformedIndex {
            path: path.to_path_buf(),
            what,
        };
        let (file, len) = crate::io::open::open_regular(path).map_err(super::io_err(path))?;
        if len > MAX_INDEX_BYTES {
            return Err(malformed(format!(
                "{len} bytes, more than the {MAX_INDEX_BYTES}-byte limit"
            )));
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_INDEX_BYTES + 1),
            &mut bytes,
        )
        .map_err(super::io_err(path))?;
        // An envelope without a signature is unsigned, not malformed: a
        // trust failure ([B71]).
        if let Err(crate::envelope::Error::SignatureCount { count: 0 }) = Envelope::decode(&bytes) {
            return Err(Error::Untrusted {
                what: format!("{} is unsigned", path.display()),
            });
        }
        Self::parse(&bytes).map_err(malformed)
    }

    /// Whether the envelope is signed by the key `trust` gives for this
    /// index's key id and role ([B70]).
    pub fn is_trusted(&self, envelope: &Envelope, trust: &dyn Trust) -> bool {
        trust
            .key_for(&self.keyid, &self.role)
            .is_some_and(|key| key.key_id() == self.keyid && envelope.is_signed_by(&key))
    }

    /// The consistency rules of [B68] and the limits of [B69].
    pub fn check(&self) -> Result<(), String> {
        crate::bundle::manifest::check_label("part set name", &self.name)?;
        crate::bundle::manifest::check_label("role", &self.role)?;
        let data = self.parts.len();
        if data == 0 || data > MAX_DATA_PARTS || self.parity.len() > MAX_PARITY_PARTS {
            return Err(format!(
                "{data} data and {} parity parts: 1 to {MAX_DATA_PARTS} and 0 to {MAX_PARITY_PARTS} allowed",
                self.parity.len()
            ));
        }
        if self.part_size < MIN_PART_BYTES || !self.part_size.is_multiple_of(2) {
            return Err(format!(
                "part size {} is not an even number of at least {MIN_PART_BYTES} bytes",
                self.part_size
            ));
        }
        let expected = self.bundle.size.div_ceil(self.part_size);
        if self.bundle.size == 0 || expected != data as u64 {
            return Err(format!(
                "a {}-byte bundle in parts of {} makes {expected} parts, not {data}",
                self.bundle.size, self.part_size
            ));
        }
        let mut offset = 0u64;
        for (i, part) in self.parts.iter().enumerate() {
            let want = self.part_size.min(self.bundle.size - offset);
            if part.number as usize != i + 1 || part.offset != offset || part.size != want {
                return Err(format!(
                    "data part {} (offset {}, size {}) is not part {} at offset {offset} of size {want}",
                    part.number,
                    part.offset,
                    part.size,
                    i + 1
                ));
            }
            offset += want;
        }
        let stripe_span = self.stripe_span();
        let stripe = self.stripe_size;
        let span_bytes = stripe.saturating_mul((data + self.parity.len()) as u64);
        if stripe < 2
            || !stripe.is_multiple_of(2)
            || stripe > MAX_STRIPE_BYTES
            || span_bytes > MAX_STRIPE_SPAN_BYTES
            || stripe > stripe_span.max(2)
        {
            return Err(format!(
                "stripe size {stripe} must be even, 2 to {MAX_STRIPE_BYTES}, at most the span {stripe_span} and at most {MAX_STRIPE_SPAN_BYTES} bytes over all parts"
            ));
        }
        for (i, part) in self.parity.iter().enumerate() {
            if part.number as usize != i + 1 || part.offset != 0 || part.size != stripe_span {
                return Err(format!(
                    "parity part {} (size {}) is not parity part {} of size {stripe_span}",
                    part.number,
                    part.size,
                    i + 1
                ));
            }
        }
        Ok(())
    }

    /// Bytes of each part the parity covers: the first part's size rounded
    /// up to even (every other part is shorter or as long).
    pub fn stripe_span(&self) -> u64 {
        let first = self.parts.first().map_or(0, |p| p.size);
        first + first % 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> SigningKey {
        SigningKey::from_seed(&[3; 32]).unwrap_or_else(|_| unreachable!())
    }

    fn index_of(size: u64, part_size: u64, parity: usize) -> PartIndex {
        let count = size.div_ceil(part_size);
        let parts: Vec<PartEntry> = (0..count)
            .map(|k| PartEntry {
                number: k as u32 + 1,
                offset: k * part_size,
                size: part_size.min(size - k * part_size),
                sha256: Sha256Digest([k as u8; 32]),
            })
            .collect();
        let mut index = PartIndex {
            role: "transfer".into(),
            keyid: key().key_id(),
            bundle: BundleFacts {
                size,
                manifest_sha256: Sha256Digest([1; 32]),
            },
            part_size,
            stripe_size: 2,
            parts,
            parity: Vec::new(),
            name: "m-0123456789ab".into(),
            bundle_sha256: Sha256Digest([2; 32]),
        };
        let span = index.stripe_span();
        index.stripe_size = crate::parts::parity::stripe_size_for(count as usize + parity, span);
        index.parity = (1..=parity as u32)
            .map(|number| PartEntry {
                number,
                offset: 0,
                size: span,
                sha256: Sha256Digest([9; 32]),
            })
            .collect();
        index
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever bytes it is given, the parser either refuses them or
        /// returns an index that checks and that a writer writes to the
        /// same payload; a changed byte of a signed index never parses to
        /// a trusted index of other content.
        #[test]
        fn any_index_a_parser_accepts_is_one_a_writer_writes(
            size in 1u64..200_000,
            part_kib in 1u64..64,
            parity in 0usize..4,
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let index = index_of(size, part_kib * 1024, parity);
            prop_assert!(index.check().is_ok());
            let bytes = index.sign(&key());
            let (parsed, envelope) = PartIndex::parse(&bytes).map_err(TestCaseError::fail)?;
            prop_assert_eq!(&parsed, &index);
            prop_assert!(envelope.is_signed_by(key().public_key()));
            let mut bent = bytes.clone();
            let at = flip.index(bent.len());
            bent[at] ^= 1 << bit;
            if let Ok((other, envelope)) = PartIndex::parse(&bent) {
                prop_assert!(other.check().is_ok());
                prop_assert_eq!(other.payload(), envelope.payload.clone());
                prop_assert!(other == index || !envelope.is_signed_by(key().public_key()));
            }
        }
    }
}
