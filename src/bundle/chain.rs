//! Signature-chain link statements (docs/bundle-format.md, "Signature
//! chain"). Link N is a DSSE envelope over an in-toto Statement v1 whose one
//! subject is the manifest entry and whose predicate names link N−1.
//! Building and parsing live here, away from secret keys, so `verify` can
//! use them without `sign`.

use serde::{Deserialize, Serialize};

use super::layout;
use crate::envelope::{Envelope, KeyId, PAYLOAD_TYPE_IN_TOTO};
use crate::io::digest::Sha256Digest;

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
    /// Free text from the signer: omitted when there is none, never `null`
    /// or empty (docs/bundle-format.md [B35]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null"
    )]
    pub note: Option<String>,
    /// Link N−1: omitted for link 1, never `null` ([B34]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "not_null"
    )]
    pub previous: Option<PreviousLink>,
}

/// An optional field that, when present, holds a value: `null` is refused
/// (the writer omits the field instead), so each predicate has one form.
fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
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

/// Whether a note may hold `c` (docs/bundle-format.md [B35]): every
/// character but the C0 controls U+0000–U+001F, DEL U+007F, the C1
/// controls U+0080–U+009F, the line and paragraph separators U+2028 and
/// U+2029, and the bidirectional formatting characters U+061C, U+200E,
/// U+200F, U+202A–U+202E and U+2066–U+2069. The note is shown by `inspect`
/// and `verify`; these are the characters that forge lines or reorder
/// what a reader sees.
pub fn note_allows(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        ))
}

/// Check a role and note before signing, and when reading a link: the role
/// is a label, the note 1–1024 bytes of characters [`note_allows`].
pub fn check_role_and_note(role: &str, note: Option<&str>) -> Result<(), String> {
    super::manifest::check_label("role", role)?;
    if let Some(n) = note
        && (n.is_empty() || n.len() > MAX_NOTE_BYTES || !n.chars().all(note_allows))
    {
        return Err(format!(
            "note must be 1 to {MAX_NOTE_BYTES} bytes without control, line-separator or bidirectional formatting characters (no note: leave it out)"
        ));
    }
    Ok(())
}

/// One link as [`read_info`](super::read_info) shows it: every field as
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
    /// Not exactly one signature ([B31]).
    #[error("envelope carries {0} signatures; a link carries exactly one")]
    SignatureCount(usize),
    /// The signature's `keyid` hint is not the signed key id ([B38]).
    #[error("the signature's keyid hint {0:?} is not the predicate's key id {1}")]
    Hint(String, KeyId),
}

/// Decode a link entry: the envelope, then its statement (untrusted), and
/// check its form (docs/bundle-format.md §7: [B30]–[B32], [B34] presence,
/// [B35], [B38], [B53]). Nothing here is a signature check.
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
    // One signature: a second one (even a valid one) would be bytes of the
    // last link that no check needs, hence free to change.
    let [signature] = envelope.signatures.as_slice() else {
        return Err(LinkError::SignatureCount(envelope.signatures.len()));
    };
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
            crate::safe::visible(&subject.name),
            layout::MANIFEST
        )));
    }
    let p = &statement.predicate;
    check_role_and_note(&p.role, p.note.as_deref()).map_err(LinkError::Statement)?;
    if super::manifest::parse_time(&p.time).is_none() {
        return Err(LinkError::Statement(format!(
            "time {:?} is not a valid time of the form YYYY-MM-DDTHH:MM:SSZ",
            crate::safe::shorten(&p.time, 40)
        )));
    }
    if (p.index == 1) != p.previous.is_none() {
        return Err(LinkError::Statement(
            "link 1 must not name a previous link, and every later link must".into(),
        ));
    }
    // The payload's one byte form ([B52]): the writer's bytes of the value read.
    super::manifest::check_canonical(
        "link statement",
        &link_payload(&subject.digest.sha256, p),
        &envelope.payload,
    )
    .map_err(LinkError::Statement)?;
    // The hint is a function of the signed predicate ([B38]): not a second
    // claim, and not a byte free to change.
    if signature.keyid != p.keyid.to_string() {
        return Err(LinkError::Hint(
            crate::safe::shorten(&signature.keyid, 80),
            p.keyid,
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    type R = Result<(), Box<dyn std::error::Error>>;

    fn predicate() -> Result<LinkPredicate, Box<dyn std::error::Error>> {
        Ok(LinkPredicate {
            index: 2,
            role: "transfer".into(),
            keyid: "aa".repeat(32).parse()?,
            time: "2026-01-01T00:00:00Z".into(),
            note: Some("usb 7".into()),
            previous: Some(PreviousLink {
                path: "chain/0001.dsse.json".into(),
                sha256: Sha256Digest::of(b"link1"),
            }),
        })
    }

    /// An envelope over `payload` with one all-0xff signature, so its
    /// standard base64 has `/` (and the URL-safe alphabet would differ).
    fn envelope(payload_type: &str, payload: Vec<u8>) -> Envelope {
        let mut env = Envelope::new(payload_type, payload);
        env.signatures.push(crate::envelope::Signature {
            keyid: "aa".repeat(32),
            sig: vec![0xff; 64],
        });
        env
    }

    fn link_bytes() -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let payload = link_payload(&Sha256Digest::of(b"manifest"), &predicate()?);
        Ok(envelope(PAYLOAD_TYPE_IN_TOTO, payload).encode())
    }

    /// docs/bundle-format.md [B30]: the one canonical encoding is accepted;
    /// every other encoding of the same envelope is refused.
    #[test]
    fn only_the_canonical_encoding_of_a_link_is_accepted() -> R {
        let good = link_bytes()?;
        let (env, info) = parse_link("chain/0002.dsse.json", &good)?;
        assert_eq!(info.predicate, predicate()?);
        assert_eq!(info.entry_sha256, Sha256Digest::of(&good));
        assert_eq!(env.encode(), good);
        let text = String::from_utf8(good.clone())?;
        let body = text.strip_suffix('\n').ok_or("no final LF")?;
        let value: serde_json::Value = serde_json::from_str(body)?;
        let reordered = format!(
            r#"{{"payloadType":{},"payload":{},"signatures":{}}}"#,
            value["payloadType"], value["payload"], value["signatures"]
        ) + "\n";
        let variants = [
            ("no final LF", body.to_owned()),
            ("CRLF", format!("{body}\r\n")),
            ("two LFs", format!("{body}\n\n")),
            ("leading space", format!(" {body}\n")),
            ("pretty", serde_json::to_string_pretty(&value)? + "\n"),
            ("key order", reordered),
            ("url-safe base64", text.replace('/', "_")),
            ("unpadded base64", text.replace("==\"", "\"")),
        ];
        for (what, bytes) in variants {
            assert_ne!(bytes.as_bytes(), good.as_slice(), "{what}: no change");
            // Each variant decodes as DSSE (the generic decoder is lenient,
            // as protocol.md asks) ...
            if !matches!(what, "two LFs" | "CRLF" | "leading space") {
                assert!(Envelope::decode(bytes.as_bytes()).is_ok(), "{what}");
            }
            // ... but the link reader refuses it.
            assert!(
                parse_link("chain/0002.dsse.json", bytes.as_bytes()).is_err(),
                "{what} accepted"
            );
        }
        Ok(())
    }

    /// docs/bundle-format.md [B32], [B34], [B35], [B52], [B53]: the payload
    /// type, the statement shape, the one subject, the role, the note, the
    /// presence of `previous`, the time and the payload's byte form are all
    /// checked.
    #[test]
    fn link_statements_outside_the_profile_are_rejected() -> R {
        let digest = Sha256Digest::of(b"manifest");
        let good = serde_json::to_value(serde_json::from_slice::<serde_json::Value>(
            &link_payload(&digest, &predicate()?),
        )?)?;
        type Edit = fn(&mut serde_json::Value);
        let edits: [(&str, Edit); 24] = [
            ("statement type", |v| {
                v["_type"] = "https://in-toto.io/Statement/v0.1".into();
            }),
            ("predicate type", |v| {
                v["predicateType"] = "https://slsa.dev/provenance/v1".into();
            }),
            ("two subjects", |v| {
                let s = v["subject"][0].clone();
                v["subject"] = serde_json::json!([s.clone(), s]);
            }),
            ("no subject", |v| v["subject"] = serde_json::json!([])),
            ("subject name", |v| {
                v["subject"][0]["name"] = "attestation.intoto.json".into();
            }),
            ("second digest algorithm", |v| {
                v["subject"][0]["digest"]["sha512"] = "00".into();
            }),
            ("unknown predicate field", |v| {
                v["predicate"]["trusted"] = true.into();
            }),
            ("unknown statement field", |v| v["extra"] = 1.into()),
            ("role outside the label syntax", |v| {
                v["predicate"]["role"] = "main tainer".into();
            }),
            ("note too long", |v| {
                v["predicate"]["note"] = "n".repeat(MAX_NOTE_BYTES + 1).into();
            }),
            ("note with a control character", |v| {
                v["predicate"]["note"] = "line\u{1b}[2J".into();
            }),
            ("note with DEL", |v| {
                v["predicate"]["note"] = "a\u{7f}".into()
            }),
            ("note with a C1 control", |v| {
                v["predicate"]["note"] = "a\u{85}b".into();
            }),
            ("note with a line separator", |v| {
                v["predicate"]["note"] = "ok\u{2028}chain.signatures pass".into();
            }),
            ("note with a bidi override", |v| {
                v["predicate"]["note"] = "a\u{202e}b".into();
            }),
            ("note with a bidi isolate", |v| {
                v["predicate"]["note"] = "a\u{2067}b".into();
            }),
            ("note null", |v| {
                v["predicate"]["note"] = serde_json::Value::Null
            }),
            ("note empty", |v| v["predicate"]["note"] = "".into()),
            ("previous null", |v| {
                v["predicate"]["previous"] = serde_json::Value::Null;
            }),
            ("previous missing on link 2", |v| {
                if let Some(p) = v["predicate"].as_object_mut() {
                    p.remove("previous");
                }
            }),
            ("time not calendar-valid", |v| {
                v["predicate"]["time"] = "2026-02-30T00:00:00Z".into();
            }),
            ("upper-case key id", |v| {
                v["predicate"]["keyid"] = "AA".repeat(32).into();
            }),
            ("index as a float", |v| v["predicate"]["index"] = 2.0.into()),
            ("keys reordered", |v| {
                if let Some(p) = v["predicate"].as_object_mut() {
                    let role = p.shift_remove("role");
                    if let Some(role) = role {
                        p.insert("role".into(), role);
                    }
                }
            }),
        ];
        for (what, edit) in edits {
            let mut v = good.clone();
            edit(&mut v);
            assert_ne!(
                serde_json::to_vec(&v)?,
                serde_json::to_vec(&good)?,
                "{what}: no change"
            );
            let bytes = envelope(PAYLOAD_TYPE_IN_TOTO, serde_json::to_vec(&v)?).encode();
            assert!(
                parse_link("chain/0002.dsse.json", &bytes).is_err(),
                "{what} accepted"
            );
        }
        // The same statement pretty-printed, or with a space after a colon.
        let text = String::from_utf8(link_payload(&digest, &predicate()?))?;
        for (what, payload) in [
            ("pretty", serde_json::to_string_pretty(&good)?),
            ("space", text.replacen(":", ": ", 1)),
            ("escaped", text.replace("usb 7", "usb\\u00207")),
        ] {
            let bytes = envelope(PAYLOAD_TYPE_IN_TOTO, payload.into_bytes()).encode();
            assert!(
                parse_link("chain/0002.dsse.json", &bytes).is_err(),
                "{what} accepted"
            );
        }
        // A note of exactly the limit, or of any other Unicode, is fine; so
        // is link 1 without a previous link, and only without one.
        for note in ["n".repeat(MAX_NOTE_BYTES), "désk 7 — ✓ \"q\"".to_owned()] {
            let mut v = good.clone();
            v["predicate"]["note"] = note.clone().into();
            let ok = envelope(PAYLOAD_TYPE_IN_TOTO, serde_json::to_vec(&v)?).encode();
            assert!(parse_link("chain/0002.dsse.json", &ok).is_ok(), "{note}");
        }
        let mut first = good.clone();
        first["predicate"]["index"] = 1.into();
        if let Some(p) = first["predicate"].as_object_mut() {
            p.remove("previous");
        }
        let ok = envelope(PAYLOAD_TYPE_IN_TOTO, serde_json::to_vec(&first)?).encode();
        assert!(parse_link("chain/0001.dsse.json", &ok).is_ok());
        first["predicate"]["previous"] = good["predicate"]["previous"].clone();
        let bad = envelope(PAYLOAD_TYPE_IN_TOTO, serde_json::to_vec(&first)?).encode();
        assert!(parse_link("chain/0001.dsse.json", &bad).is_err());
        let other_type = envelope("application/json", serde_json::to_vec(&good)?).encode();
        assert!(matches!(
            parse_link("chain/0002.dsse.json", &other_type),
            Err(LinkError::PayloadType(_))
        ));
        Ok(())
    }

    /// docs/bundle-format.md [B31], [B38]: exactly one signature, whose
    /// `keyid` hint is the signed key id in its one spelling.
    #[test]
    fn a_link_carries_one_signature_hinted_by_the_signed_key_id() -> R {
        let payload = link_payload(&Sha256Digest::of(b"manifest"), &predicate()?);
        let good = envelope(PAYLOAD_TYPE_IN_TOTO, payload);
        assert!(parse_link("chain/0002.dsse.json", &good.encode()).is_ok());
        let mut two = good.clone();
        two.signatures.push(crate::envelope::Signature {
            keyid: "aa".repeat(32),
            sig: vec![0x01; 64],
        });
        assert!(matches!(
            parse_link("chain/0002.dsse.json", &two.encode()),
            Err(LinkError::SignatureCount(2))
        ));
        for hint in [
            String::new(),
            "AA".repeat(32),
            "bb".repeat(32),
            "aa".repeat(31),
        ] {
            let mut other = good.clone();
            if let Some(s) = other.signatures.first_mut() {
                s.keyid = hint.clone();
            }
            assert!(
                matches!(
                    parse_link("chain/0002.dsse.json", &other.encode()),
                    Err(LinkError::Hint(..))
                ),
                "hint {hint:?} accepted"
            );
        }
        // No keyid field at all: decodes as DSSE (the field is optional
        // there) but is not the link's one form.
        let text = String::from_utf8(good.encode())?;
        let without = text.replace(&format!("\"keyid\":\"{}\",", "aa".repeat(32)), "");
        assert_ne!(without, text);
        assert!(parse_link("chain/0002.dsse.json", without.as_bytes()).is_err());
        Ok(())
    }
}
