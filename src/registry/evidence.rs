//! The evidence a node checks before it reads any weight byte
//! (docs/registry.md, "Pull"): the station's receipt, signed by a key the
//! node's policy trusts for the role `station`, over this bundle manifest
//! and these file digests; and every chain link over the same manifest,
//! signed by a key of the policy. The full verification (thresholds,
//! roles, expiry, SBOMs, content rules) then runs on the bundle, read in
//! place from the layers (`super::source`), as `verify` runs it on any
//! bundle.

use std::collections::BTreeMap;

use super::error::RegistryError;
use crate::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO};
use crate::import::receipt::VSA_PREDICATE_TYPE;
use crate::io::digest::Sha256Digest;
use crate::verify::Policy;
use crate::verify::policy::UnknownSigners;

/// Everything of an artifact but its weights, checked before any weight
/// byte: what the bundle is given back from ([`super::source`]).
#[derive(Debug)]
pub struct Evidence {
    /// The bundle manifest, parsed.
    pub manifest: crate::bundle::Manifest,
    /// Its exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// The model's layers by artifact path, each the digest and size the
    /// chain signs.
    pub files: BTreeMap<String, super::layout::Descriptor>,
    /// The chain links (`chain/0001.dsse.json`, …) in order, with their bytes.
    pub links: Vec<(String, Vec<u8>)>,
    /// The SBOMs by entry name.
    pub sboms: BTreeMap<String, Vec<u8>>,
    /// The attestation's bytes.
    pub attestation: Vec<u8>,
    /// The station receipt that checked.
    pub receipt: ReceiptCheck,
}

/// The role a node's policy gives the keys whose receipts it trusts.
pub const STATION_ROLE: &str = "station";

/// Who signed a receipt that checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReceiptCheck {
    /// The policy's name for the station key.
    pub station: String,
    /// `timeVerified`.
    pub time_verified: String,
}

/// Check the receipt envelope `bytes`: signed by a `station` key of
/// `policy`, a SLSA VSA that PASSED, whose subjects are exactly the bundle
/// manifest `manifest_sha256` and `files` (artifact path → digest).
pub fn check_receipt(
    bytes: &[u8],
    policy: &Policy,
    manifest_sha256: &Sha256Digest,
    files: &BTreeMap<String, Sha256Digest>,
) -> Result<ReceiptCheck, RegistryError> {
    let refuse = |why: String| RegistryError::Evidence(format!("the station receipt {why}"));
    let envelope =
        Envelope::decode(bytes).map_err(|e| refuse(format!("is not a DSSE envelope: {e}")))?;
    if envelope.payload_type != PAYLOAD_TYPE_IN_TOTO {
        return Err(refuse("is not an in-toto statement".into()));
    }
    let stations: Vec<_> = policy
        .keys
        .iter()
        .filter(|k| k.roles.contains(STATION_ROLE))
        .collect();
    if stations.is_empty() {
        return Err(RegistryError::Evidence(format!(
            "the policy {} trusts no key for the role {STATION_ROLE}: a node needs the station's public key to check its receipt",
            policy.source.path.display()
        )));
    }
    let pae = envelope.pae();
    let signer = envelope
        .signatures
        .iter()
        .find_map(|s| stations.iter().find(|k| k.key.verify(&pae, &s.sig)))
        .ok_or_else(|| {
            refuse(format!(
                "is not signed by a key the policy trusts for the role {STATION_ROLE}"
            ))
        })?;
    let statement: serde_json::Value = serde_json::from_slice(&envelope.payload)
        .map_err(|_| refuse("payload is not JSON".into()))?;
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    if text(statement.get("predicateType")).as_deref() != Some(VSA_PREDICATE_TYPE) {
        return Err(refuse("is not a SLSA verification summary".into()));
    }
    let predicate = statement.get("predicate");
    if text(predicate.and_then(|p| p.get("verificationResult"))).as_deref() != Some("PASSED") {
        return Err(refuse("does not say PASSED".into()));
    }
    let mut named = BTreeMap::new();
    for s in statement
        .get("subject")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        let name =
            text(s.get("name")).ok_or_else(|| refuse("has a subject without a name".into()))?;
        let digest = text(s.get("digest").and_then(|d| d.get("sha256")))
            .and_then(|h| h.parse::<Sha256Digest>().ok())
            .ok_or_else(|| {
                refuse(format!(
                    "names {} without a SHA-256",
                    crate::safe::visible(&name)
                ))
            })?;
        if named.insert(name.clone(), digest).is_some() {
            return Err(refuse(format!(
                "names {} twice",
                crate::safe::visible(&name)
            )));
        }
    }
    if named.remove(crate::bundle::layout::MANIFEST) != Some(*manifest_sha256) {
        return Err(refuse(format!(
            "is not over this bundle manifest (sha256:{})",
            manifest_sha256.to_hex()
        )));
    }
    if named != *files {
        return Err(refuse(
            "names other files or digests than the artifact's layers".into(),
        ));
    }
    Ok(ReceiptCheck {
        station: signer.name.clone(),
        time_verified: text(predicate.and_then(|p| p.get("timeVerified"))).unwrap_or_default(),
    })
}

/// Check one chain link before any weight byte: over `manifest_sha256`,
/// and signed by a key of the policy (unless the policy ignores unknown
/// signers, as `chain.signers` does).
pub fn check_link(
    name: &str,
    bytes: &[u8],
    policy: &Policy,
    manifest_sha256: &Sha256Digest,
) -> Result<(), RegistryError> {
    let refuse = |why: String| RegistryError::Evidence(format!("chain link {name} {why}"));
    let (envelope, info) = crate::bundle::chain::parse_link(name, bytes)
        .map_err(|e| refuse(format!("is malformed: {e}")))?;
    if info.manifest_sha256 != *manifest_sha256 {
        return Err(refuse(format!(
            "signs manifest {}, not this bundle's",
            info.manifest_sha256
        )));
    }
    let pae = envelope.pae();
    let signed = envelope
        .signatures
        .iter()
        .any(|s| policy.keys.iter().any(|k| k.key.verify(&pae, &s.sig)));
    if !signed && policy.unknown_signers != UnknownSigners::Ignore {
        return Err(refuse("is not signed by a key the policy trusts".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::envelope::Signature;
    use crate::sign::SigningKey;
    use serde_json::json;

    type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

    /// A node policy: `maintainer` for the chain, `station` for receipts,
    /// and `other` trusted, but for another role.
    fn node_policy(
        station: &SigningKey,
        maintainer: &SigningKey,
        other: &SigningKey,
    ) -> Res<Policy> {
        let entry = |name: &str, key: &SigningKey, role: &str| -> Res<String> {
            Ok(format!(
                "[[keys]]\nname = \"{name}\"\npem = \"\"\"\n{}\"\"\"\nroles = [\"{role}\"]\n\n",
                key.public_key().to_pem()?
            ))
        };
        let text = format!(
            "version = 1\n\n{}{}{}[signatures]\nrequired_roles = [\"maintainer\"]\n",
            entry("station-1", station, STATION_ROLE)?,
            entry("alice", maintainer, "maintainer")?,
            entry("other", other, "transfer")?,
        );
        Ok(Policy::from_toml(&text, std::path::Path::new("node.toml"))?)
    }

    fn statement(
        manifest: &Sha256Digest,
        files: &BTreeMap<String, Sha256Digest>,
    ) -> serde_json::Value {
        let mut subject =
            vec![json!({"name": "manifest.json", "digest": {"sha256": manifest.to_hex()}})];
        for (p, d) in files {
            subject.push(json!({"name": p, "digest": {"sha256": d.to_hex()}}));
        }
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subject,
            "predicateType": VSA_PREDICATE_TYPE,
            "predicate": {"verificationResult": "PASSED", "timeVerified": "2026-12-06T00:00:00Z"},
        })
    }

    fn subjects(v: &mut serde_json::Value) -> Option<&mut Vec<serde_json::Value>> {
        v.get_mut("subject").and_then(|s| s.as_array_mut())
    }

    fn signed(statement: &serde_json::Value, key: &SigningKey, payload_type: &str) -> Vec<u8> {
        let mut envelope = Envelope::new(
            payload_type,
            serde_json::to_vec(statement).unwrap_or_default(),
        );
        let sig = key.sign(&envelope.pae());
        envelope.signatures.push(Signature {
            keyid: key.key_id().to_string(),
            sig,
        });
        envelope.encode()
    }

    /// Every way a receipt can fail to vouch for this artifact — another
    /// signer, another manifest, a file more, less or with another digest,
    /// a subject named twice, not PASSED, not a VSA, not in-toto, not DSSE —
    /// is refused with the trust class (exit 5); the genuine one passes.
    #[test]
    fn a_receipt_vouches_only_for_exactly_this_artifact() -> Res {
        let (station, maintainer, other) = (
            SigningKey::generate()?,
            SigningKey::generate()?,
            SigningKey::generate()?,
        );
        let policy = node_policy(&station, &maintainer, &other)?;
        let manifest = Sha256Digest::of(b"manifest");
        let files: BTreeMap<String, Sha256Digest> = [
            ("model.gguf".to_owned(), Sha256Digest::of(b"weights")),
            ("tokenizer.json".to_owned(), Sha256Digest::of(b"tokenizer")),
        ]
        .into();
        let good = statement(&manifest, &files);
        let ok = check_receipt(
            &signed(&good, &station, PAYLOAD_TYPE_IN_TOTO),
            &policy,
            &manifest,
            &files,
        )?;
        assert_eq!(ok.station, "station-1");

        // The good statement changed by `f`, signed by the trusted station.
        let edit = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            signed(&v, &station, PAYLOAD_TYPE_IN_TOTO)
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "signed by the maintainer",
                signed(&good, &maintainer, PAYLOAD_TYPE_IN_TOTO),
            ),
            (
                "signed by a key trusted for another role",
                signed(&good, &other, PAYLOAD_TYPE_IN_TOTO),
            ),
            (
                "signed by an unknown key",
                signed(&good, &SigningKey::generate()?, PAYLOAD_TYPE_IN_TOTO),
            ),
            (
                "another payload type",
                signed(&good, &station, "application/json"),
            ),
            (
                "another manifest",
                signed(
                    &statement(&Sha256Digest::of(b"other"), &files),
                    &station,
                    PAYLOAD_TYPE_IN_TOTO,
                ),
            ),
            (
                "a file more",
                edit(&|v| {
                    if let Some(s) = subjects(v) {
                        s.push(json!({"name": "extra.bin", "digest": {"sha256": Sha256Digest::of(b"x").to_hex()}}))
                    }
                }),
            ),
            (
                "a file less",
                edit(&|v| {
                    if let Some(s) = subjects(v) {
                        s.pop();
                    }
                }),
            ),
            (
                "another digest",
                edit(&|v| {
                    if let Some(d) = v.pointer_mut("/subject/1/digest/sha256") {
                        *d = json!(Sha256Digest::of(b"evil").to_hex())
                    }
                }),
            ),
            (
                "a subject twice",
                edit(&|v| {
                    if let Some(s) = subjects(v) {
                        let first = s.get(1).cloned().unwrap_or_default();
                        s.push(first)
                    }
                }),
            ),
            (
                "the manifest subject left out",
                edit(&|v| {
                    if let Some(s) = subjects(v) {
                        s.remove(0);
                    }
                }),
            ),
            (
                "not PASSED",
                edit(&|v| {
                    if let Some(r) = v.pointer_mut("/predicate/verificationResult") {
                        *r = json!("FAILED")
                    }
                }),
            ),
            (
                "not a VSA",
                edit(&|v| {
                    if let Some(t) = v.get_mut("predicateType") {
                        *t = json!("https://slsa.dev/provenance/v1")
                    }
                }),
            ),
            ("not DSSE", b"{\"receipt\":true}".to_vec()),
        ];
        for (name, bytes) in cases {
            match check_receipt(&bytes, &policy, &manifest, &files) {
                Ok(_) => panic!("{name}: accepted"),
                Err(e) => assert_eq!(e.class(), Class::Trust, "{name}: {e}"),
            }
        }
        // A policy with no station key cannot check a receipt at all.
        let mut no_station = policy.clone();
        no_station.keys.retain(|k| !k.roles.contains(STATION_ROLE));
        let refused = check_receipt(
            &signed(&good, &station, PAYLOAD_TYPE_IN_TOTO),
            &no_station,
            &manifest,
            &files,
        );
        assert!(
            refused.is_err_and(|e| e.to_string().contains("trusts no key for the role station"))
        );
        Ok(())
    }
}
