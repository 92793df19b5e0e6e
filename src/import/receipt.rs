//! The station's signed receipt: a DSSE envelope over an in-toto Statement
//! v1 with a SLSA Verification Summary Attestation predicate
//! (<https://slsa.dev/spec/v1.0/verification_summary>), stored as
//! `receipt.dsse.json` inside the version, written before the version is
//! committed so it is as immutable as the files it names.

use serde_json::json;

use super::error::StoreError;
use super::record::StoredFile;
use crate::bundle::{Role, layout};
use crate::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO, Signature};
use crate::io::digest::Sha256Digest;
use crate::sign::SigningKey;
use crate::verify::{Report, Verified};

/// SLSA VSA v1 `predicateType`.
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// `verifier.id` prefix (followed by `@VERSION`).
pub const VERIFIER_ID: &str = "urn:lbom:verifier:lbom";
/// The one level lbom claims. Custom (VSA v1: custom values MAY be used but
/// MUST NOT start with `SLSA_`): lbom checks a bundle against the station's
/// policy and signature chain; it does not evaluate SLSA build tracks, so
/// it claims no `SLSA_BUILD_LEVEL_*`.
pub const VERIFIED_LEVEL: &str = "LBOM_POLICY_PASSED";

/// What the receipt names besides the verified bundle.
#[derive(Debug, Clone)]
pub struct ReceiptInputs {
    /// The policy's file name (`policy.uri`).
    pub policy_file: String,
    /// SHA-256 of the policy's bytes.
    pub policy_sha256: Sha256Digest,
    /// The chain links verified, as staged ([`super::Staged::chain_links`]).
    pub chain_links: Vec<StoredFile>,
    /// `timeVerified`.
    pub time: jiff::Timestamp,
    /// Drift classes the operator accepted (`--accept-drift`), recorded as
    /// an annotation of the manifest subject (`lbom:acceptedDrift`): VSA v1
    /// has no field for it, and in-toto resource descriptors carry
    /// annotations.
    pub accepted_drift: Vec<String>,
}

/// The URN naming a bundle version: `urn:lbom:bundle:NAME:CHANNEL:SEQ`.
/// Names and channels are `[A-Za-z0-9._-]` (bundle::manifest::check_label),
/// all valid in a URN's specific string (RFC 8141).
pub fn resource_urn(verified: &Verified) -> String {
    let m = &verified.manifest;
    format!("urn:lbom:bundle:{}:{}:{}", m.name, m.channel, m.sequence)
}

/// The in-toto Statement of a receipt (compact JSON, no final newline).
pub fn receipt_statement(verified: &Verified, inputs: &ReceiptInputs) -> Vec<u8> {
    let digest = |d: &Sha256Digest| json!({"sha256": d.to_hex()});
    let mut manifest_subject = json!({
        "name": layout::MANIFEST,
        "digest": digest(&verified.manifest_sha256),
    });
    if !inputs.accepted_drift.is_empty()
        && let Some(m) = manifest_subject.as_object_mut()
    {
        m.insert(
            "annotations".into(),
            json!({"lbom:acceptedDrift": inputs.accepted_drift}),
        );
    }
    let mut subject = vec![manifest_subject];
    let mut attestations = Vec::new();
    for entry in &verified.manifest.entries {
        match entry.role {
            Role::Artifact => {
                if let Some(path) = entry.artifact_path() {
                    subject.push(json!({"name": path.as_str(), "digest": digest(&entry.sha256)}));
                }
            }
            Role::Attestation => attestations
                .push(json!({"uri": entry.path.as_str(), "digest": digest(&entry.sha256)})),
            Role::Sbom => {}
        }
    }
    for link in &inputs.chain_links {
        let uri = link
            .path
            .strip_prefix(&format!("{}/", super::layout::BUNDLE_DIR))
            .unwrap_or(&link.path);
        attestations.push(json!({"uri": uri, "digest": digest(&link.sha256)}));
    }
    let statement = json!({
        "_type": layout::STATEMENT_TYPE,
        "subject": subject,
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": {
            // The version is in the id. VSA v1 allows an optional
            // `verifier.version` map, but the in-toto-attestation reference
            // protobuf (predicates/vsa/v1) has only `id` and rejects it.
            "verifier": {"id": format!("{VERIFIER_ID}@{}", crate::TOOL_VERSION)},
            "timeVerified": crate::bundle::manifest::format_time(inputs.time),
            "resourceUri": resource_urn(verified),
            "policy": {"uri": inputs.policy_file, "digest": digest(&inputs.policy_sha256)},
            "inputAttestations": attestations,
            "verificationResult": "PASSED",
            "verifiedLevels": [VERIFIED_LEVEL],
            "slsaVersion": "1.0",
        },
    });
    serde_json::to_vec(&statement).unwrap_or_default()
}

/// Sign a receipt for a bundle that passed every check. A report with a
/// failure gets none: a receipt only ever says PASSED.
pub fn receipt(
    verified: &Verified,
    report: &Report,
    inputs: &ReceiptInputs,
    key: &SigningKey,
) -> Result<Envelope, StoreError> {
    if !report.passed() {
        return Err(StoreError::Refused(
            "no receipt for a bundle that failed verification".into(),
        ));
    }
    let mut envelope = Envelope::new(PAYLOAD_TYPE_IN_TOTO, receipt_statement(verified, inputs));
    let sig = key.sign(&envelope.pae());
    envelope.signatures.push(Signature {
        keyid: key.key_id().to_string(),
        sig,
    });
    Ok(envelope)
}
