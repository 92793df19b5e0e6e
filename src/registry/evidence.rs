//! The evidence a node checks before it reads any weight byte
//! (docs/registry.md, "Pull"): the station's receipt, signed by a key the
//! node's policy trusts for the role `station`, over this bundle manifest
//! and these file digests; and every chain link over the same manifest,
//! signed by a key of the policy. The full verification (thresholds,
//! roles, expiry, SBOMs, content rules) then runs on the reassembled bundle
//! as `verify` runs it on any bundle.

use std::collections::BTreeMap;

use super::error::RegistryError;
use crate::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO};
use crate::import::receipt::VSA_PREDICATE_TYPE;
use crate::io::digest::Sha256Digest;
use crate::verify::Policy;
use crate::verify::policy::UnknownSigners;

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
