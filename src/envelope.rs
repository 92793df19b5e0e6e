//! DSSE envelopes (secure-systems-lab/dsse, protocol.md v1.0.0 and
//! envelope.md), the public half of Ed25519 keys, and key ids.
//!
//! This module holds everything a verifier needs and nothing secret: the
//! signing side lives in [`crate::sign`]. The payload is kept exactly as it
//! was decoded from base64, never re-serialised, so a signature is always
//! checked over the bytes that were read.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{
    STANDARD, STANDARD_NO_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT,
};
use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use serde::{Deserialize, Serialize};

use crate::io::digest::Sha256Digest;

/// The payload type of every lbom envelope: an in-toto Statement (in-toto
/// attestation framework, spec v1, "Envelope layer").
pub const PAYLOAD_TYPE_IN_TOTO: &str = "application/vnd.in-toto+json";

/// Largest envelope JSON lbom decodes: 1 MiB (a link statement is < 2 KiB).
pub const MAX_ENVELOPE_BYTES: usize = 1 << 20;

/// Most signatures one envelope may carry (lbom writes exactly one).
pub const MAX_SIGNATURES: usize = 16;

/// Longest `keyid` hint kept from an envelope: 256 bytes (lbom writes a
/// 64-digit key id). Readers keep every hint of every link they show, so a
/// hint's length is bounded like any other untrusted length
/// (docs/bundle-format.md, "Reader limits").
pub const MAX_KEYID_HINT_BYTES: usize = 256;

/// Errors decoding or checking an envelope or a public key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope is larger than `MAX_ENVELOPE_BYTES`.
    #[error("envelope is {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// The envelope is not the DSSE JSON shape.
    #[error("envelope is not valid DSSE JSON")]
    Json(#[source] serde_json::Error),
    /// A base64 field does not decode.
    #[error("envelope field {field} is not valid base64")]
    Base64 {
        /// `payload` or `sig`.
        field: &'static str,
    },
    /// No signatures, or more than `MAX_SIGNATURES`.
    #[error("envelope has {count} signatures, expected 1 to {MAX_SIGNATURES}")]
    SignatureCount {
        /// How many it has.
        count: usize,
    },
    /// A `keyid` hint longer than `MAX_KEYID_HINT_BYTES`.
    #[error("keyid hint is {len} bytes, more than the {MAX_KEYID_HINT_BYTES}-byte limit")]
    KeyIdHintTooLong {
        /// Its length.
        len: usize,
    },
    /// A signature is not 64 bytes.
    #[error("signature is {len} bytes, an Ed25519 signature is 64")]
    SignatureLength {
        /// Its length.
        len: usize,
    },
    /// A public key file or PEM is not an Ed25519 SubjectPublicKeyInfo.
    #[error("not an Ed25519 public key (SPKI PEM): {0}")]
    PublicKey(String),
}

impl Error {
    /// The class of this error: a malformed envelope or key. (A signing
    /// key's public half that fails here is a trust failure of
    /// `crate::sign::Error`, which wraps it.)
    pub fn class(&self) -> crate::Class {
        match self {
            Error::TooLarge { .. }
            | Error::Json(_)
            | Error::Base64 { .. }
            | Error::SignatureCount { .. }
            | Error::KeyIdHintTooLong { .. }
            | Error::SignatureLength { .. }
            | Error::PublicKey(_) => crate::Class::Malformed,
        }
    }
}

/// A key id: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo
/// (RFC 8410 §4) of an Ed25519 public key. Always computed from key bytes,
/// never taken from input; the `keyid` an envelope carries is only a hint.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(Sha256Digest);

impl KeyId {
    /// The digest behind the id.
    pub fn digest(&self) -> &Sha256Digest {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl FromStr for KeyId {
    type Err = crate::io::digest::ParseDigestError;
    /// Parses a key id for *comparison* (e.g. against `DEMO_KEY_IDS`); a
    /// parsed id proves nothing about any key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(KeyId)
    }
}

/// Key ids of the demo keys in the repository's `keys/` folder. They are
/// public on purpose; a verifier warns loudly when one of them signed.
pub const DEMO_KEY_IDS: [&str; 2] = [
    // keys/demo-maintainer.pub
    "81e324cce32845156df3047844289e7e700731982fe2b2fed3f48ebcb8e32e33",
    // keys/demo-transfer.pub
    "2c5843d04c1069d768fa26da43e041e12e041a53e002f956dbeb53012d3fd1db",
];

/// Whether `key_id` is one of the public demo keys (`DEMO_KEY_IDS`).
pub fn is_demo_key(key_id: &KeyId) -> bool {
    let hex = key_id.to_string();
    DEMO_KEY_IDS.iter().any(|d| *d == hex)
}

/// An Ed25519 public key with its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
    id: KeyId,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.id)
    }
}

impl PublicKey {
    /// Wrap a dalek key, computing its key id from its SPKI DER.
    pub fn from_verifying_key(key: ed25519_dalek::VerifyingKey) -> Result<Self, Error> {
        let der = key
            .to_public_key_der()
            .map_err(|e| Error::PublicKey(e.to_string()))?;
        Ok(Self {
            key,
            id: KeyId(Sha256Digest::of(der.as_bytes())),
        })
    }

    /// Parse an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let key = ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|e| Error::PublicKey(e.to_string()))?;
        Self::from_verifying_key(key)
    }

    /// The SPKI PEM, LF line endings.
    pub fn to_pem(&self) -> Result<String, Error> {
        self.key
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|e| Error::PublicKey(e.to_string()))
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The dalek key.
    pub fn verifying_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` by this
    /// key, with RFC 8032's strict checks (`verify_strict`: no small-order
    /// keys or non-canonical `R`).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        self.key.verify_strict(message, &sig).is_ok()
    }
}

/// DSSE pre-authentication encoding (protocol.md "Signature Definition"):
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII
/// decimal without leading zeros.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        9 + type_len.len() + payload_type.len() + body_len.len() + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    /// The unauthenticated key id hint, as written.
    pub keyid: String,
    /// The raw signature bytes.
    pub sig: Vec<u8>,
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature(keyid={}, {} bytes)",
            self.keyid,
            self.sig.len()
        )
    }
}

/// A DSSE envelope (envelope.md). The payload bytes are exactly the decoded
/// base64 of the `payload` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `payloadType`.
    pub payload_type: String,
    /// The serialized body, as signed.
    pub payload: Vec<u8>,
    /// The signatures.
    pub signatures: Vec<Signature>,
}

/// The wire shape; field order is the output order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEnvelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<WireSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSignature {
    // Optional in DSSE; lbom always writes it (securesystemslib only tries
    // a key whose id equals it).
    #[serde(default)]
    keyid: String,
    sig: String,
}

impl Envelope {
    /// An unsigned envelope.
    pub fn new(payload_type: &str, payload: Vec<u8>) -> Self {
        Self {
            payload_type: payload_type.to_owned(),
            payload,
            signatures: Vec::new(),
        }
    }

    /// The bytes a signer signs: [`pae`] of this envelope.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Encode as compact JSON with keys `payload`, `payloadType`,
    /// `signatures` (each `keyid`, `sig`), standard padded base64 (RFC 4648
    /// §4), and a final LF.
    pub fn encode(&self) -> Vec<u8> {
        let wire = WireEnvelope {
            payload: STANDARD.encode(&self.payload),
            payload_type: self.payload_type.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|s| WireSignature {
                    keyid: s.keyid.clone(),
                    sig: STANDARD.encode(&s.sig),
                })
                .collect(),
        };
        // Serialising plain strings into a Vec cannot fail.
        let mut out = serde_json::to_vec(&wire).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Decode envelope JSON. Base64 may be standard or URL-safe, padded or
    /// not, as protocol.md requires of verifiers.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(Error::TooLarge {
                size: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let wire: WireEnvelope = serde_json::from_slice(bytes).map_err(Error::Json)?;
        let count = wire.signatures.len();
        if count == 0 || count > MAX_SIGNATURES {
            return Err(Error::SignatureCount { count });
        }
        let payload = decode_base64(&wire.payload).ok_or(Error::Base64 { field: "payload" })?;
        let mut signatures = Vec::with_capacity(count);
        for s in wire.signatures {
            if s.keyid.len() > MAX_KEYID_HINT_BYTES {
                return Err(Error::KeyIdHintTooLong { len: s.keyid.len() });
            }
            let sig = decode_base64(&s.sig).ok_or(Error::Base64 { field: "sig" })?;
            if sig.len() != 64 {
                return Err(Error::SignatureLength { len: sig.len() });
            }
            signatures.push(Signature {
                keyid: s.keyid,
                sig,
            });
        }
        Ok(Self {
            payload_type: wire.payload_type,
            payload,
            signatures,
        })
    }

    /// Whether any signature verifies under `key` (strict Ed25519 over the
    /// PAE). The keyid hint is not consulted: it is unauthenticated.
    pub fn is_signed_by(&self, key: &PublicKey) -> bool {
        let message = self.pae();
        self.signatures.iter().any(|s| key.verify(&message, &s.sig))
    }
}

/// Standard or URL-safe alphabet, padding optional; never both alphabets in
/// one string.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let url_safe = s.bytes().any(|b| b == b'-' || b == b'_');
    let engine = if url_safe {
        &URL_SAFE_NO_PAD_INDIFFERENT
    } else {
        &STANDARD_NO_PAD_INDIFFERENT
    };
    engine.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// secure-systems-lab/dsse protocol.md, "Test Vectors": the literal PAE
    /// and envelope from the spec.
    #[test]
    fn demo_key_ids_match_the_demo_key_files() -> Result<(), Box<dyn std::error::Error>> {
        let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("keys");
        for name in ["demo-maintainer.pub", "demo-transfer.pub"] {
            let key = PublicKey::from_pem(&std::fs::read_to_string(keys.join(name))?)?;
            assert!(is_demo_key(&key.key_id()), "{name}");
        }
        Ok(())
    }

    #[test]
    fn pae_matches_spec_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn decodes_spec_envelope_keeping_payload_bytes() -> Result<(), Error> {
        let json = br#"{"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}"#;
        let env = Envelope::decode(json)?;
        assert_eq!(env.payload, b"hello world");
        assert_eq!(env.payload_type, "http://example.com/HelloWorld");
        assert_eq!(env.signatures.len(), 1);
        assert_eq!(
            env.pae(),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        Ok(())
    }

    #[test]
    fn accepts_url_safe_and_unpadded() -> Result<(), Error> {
        let sig64 = "A".repeat(86); // 64 zero bytes, unpadded
        let json = format!(
            r#"{{"payload":"_-8","payloadType":"t","signatures":[{{"keyid":"k","sig":"{sig64}"}}]}}"#
        );
        let env = Envelope::decode(json.as_bytes())?;
        assert_eq!(env.payload, vec![0xff, 0xef]);
        Ok(())
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(matches!(
            Envelope::decode(br#"{"payload":"","payloadType":"t","signatures":[]}"#),
            Err(Error::SignatureCount { count: 0 })
        ));
        assert!(matches!(
            Envelope::decode(br#"{"payload":"","payloadType":"t","signatures":[{"sig":"AAAA"}]}"#),
            Err(Error::SignatureLength { len: 3 })
        ));
        assert!(matches!(
            Envelope::decode(
                br#"{"payload":"!!","payloadType":"t","signatures":[{"sig":"AAAA"}]}"#
            ),
            Err(Error::Base64 { field: "payload" })
        ));
        assert!(matches!(
            Envelope::decode(br#"{"payload":"","payloadType":"t","signatures":[],"x":1}"#),
            Err(Error::Json(_))
        ));
    }

    /// docs/bundle-format.md [B31]: 1 to 16 signatures, at most 1 MiB.
    #[test]
    fn signature_count_and_envelope_size_are_bounded() -> Result<(), Error> {
        let sig = format!(r#"{{"keyid":"k","sig":"{}"}}"#, "A".repeat(86) + "==");
        let with = |n: usize| {
            format!(
                r#"{{"payload":"","payloadType":"t","signatures":[{}]}}"#,
                vec![sig.as_str(); n].join(",")
            )
        };
        assert_eq!(Envelope::decode(with(1).as_bytes())?.signatures.len(), 1);
        assert_eq!(Envelope::decode(with(16).as_bytes())?.signatures.len(), 16);
        assert!(matches!(
            Envelope::decode(with(17).as_bytes()),
            Err(Error::SignatureCount { count: 17 })
        ));
        // One byte over the cap is refused before it is parsed; at the cap
        // it parses (padded with JSON whitespace).
        let mut big = with(1).into_bytes();
        big.resize(MAX_ENVELOPE_BYTES, b' ');
        assert!(Envelope::decode(&big).is_ok());
        big.push(b' ');
        assert!(matches!(
            Envelope::decode(&big),
            Err(Error::TooLarge { size, .. }) if size == MAX_ENVELOPE_BYTES + 1
        ));
        Ok(())
    }

    /// docs/bundle-format.md, "Reader limits": a `keyid` hint is at most
    /// `MAX_KEYID_HINT_BYTES`; one byte more is refused before anything
    /// else of the signature is decoded.
    #[test]
    fn keyid_hints_are_bounded() -> Result<(), Error> {
        let with_hint = |len: usize| {
            format!(
                r#"{{"payload":"","payloadType":"t","signatures":[{{"keyid":"{}","sig":"{}=="}}]}}"#,
                "k".repeat(len),
                "A".repeat(86)
            )
        };
        let env = Envelope::decode(with_hint(MAX_KEYID_HINT_BYTES).as_bytes())?;
        assert_eq!(
            env.signatures.first().map(|s| s.keyid.len()),
            Some(MAX_KEYID_HINT_BYTES)
        );
        assert!(matches!(
            Envelope::decode(with_hint(MAX_KEYID_HINT_BYTES + 1).as_bytes()),
            Err(Error::KeyIdHintTooLong { len }) if len == MAX_KEYID_HINT_BYTES + 1
        ));
        Ok(())
    }

    /// docs/bundle-format.md [B37]: verification is strict. The identity
    /// point as a public key with R = identity and S = 0 satisfies the
    /// plain (cofactorless) equation for every message; `verify_strict`
    /// refuses the small-order key, and so must lbom.
    #[test]
    fn small_order_keys_never_verify() -> Result<(), Box<dyn std::error::Error>> {
        use ed25519_dalek::Verifier;
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity)?;
        let mut forged = [0u8; 64];
        forged[0] = 1;
        let message = b"any message at all";
        // The lax check accepts the forgery: the test is not vacuous.
        assert!(
            weak.verify(message, &ed25519_dalek::Signature::from_bytes(&forged))
                .is_ok()
        );
        let key = PublicKey::from_verifying_key(weak)?;
        assert!(!key.verify(message, &forged));
        let mut env = Envelope::new(PAYLOAD_TYPE_IN_TOTO, message.to_vec());
        env.signatures.push(Signature {
            keyid: key.key_id().to_string(),
            sig: forged.to_vec(),
        });
        assert!(!env.is_signed_by(&key));
        Ok(())
    }

    #[test]
    fn encode_is_standard_padded_and_round_trips() -> Result<(), Error> {
        let mut env = Envelope::new(PAYLOAD_TYPE_IN_TOTO, vec![0xfb, 0xff]);
        env.signatures.push(Signature {
            keyid: "k".into(),
            sig: vec![0xff; 64],
        });
        let bytes = env.encode();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with(r#"{"payload":"+/8=","payloadType":"application/vnd.in-toto+json""#)
        );
        assert!(text.contains("=="), "64-byte signature is padded: {text}");
        assert_eq!(Envelope::decode(&bytes)?, env);
        Ok(())
    }
}
