//! The checks by name: one enum, in the order they run. The names are an
//! interface (scripts read `--format json`; docs/policy.md, "Checks and
//! exit codes", lists them in this order).

use serde::{Deserialize, Serialize};

/// One check of `verify` (and `import`, which adds `drift.accepted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CheckName {
    /// The tar profile, entry names, end marker and file length.
    #[serde(rename = "archive.structure")]
    ArchiveStructure,
    /// The manifest parses strictly and lists exactly the entries before it.
    #[serde(rename = "manifest.form")]
    ManifestForm,
    /// Entry count, sizes and path lengths within the policy's caps.
    #[serde(rename = "policy.caps")]
    PolicyCaps,
    /// Every link well-formed, over this manifest, chained to the one before.
    #[serde(rename = "chain.links")]
    ChainLinks,
    /// Each link's signature verifies under the key it names.
    #[serde(rename = "chain.signatures")]
    ChainSignatures,
    /// Each link's key is trusted for the role it claims.
    #[serde(rename = "chain.signers")]
    ChainSigners,
    /// Each required role has its threshold of distinct keys.
    #[serde(rename = "chain.threshold")]
    ChainThreshold,
    /// Every required role signed.
    #[serde(rename = "chain.required_roles")]
    ChainRequiredRoles,
    /// The bundle has not expired (and has an expiry when required).
    #[serde(rename = "bundle.expiry")]
    BundleExpiry,
    /// The bundle is not older than the policy allows.
    #[serde(rename = "bundle.age")]
    BundleAge,
    /// A public demo key signed (a warning, never a failure).
    #[serde(rename = "trust.demo_key")]
    TrustDemoKey,
    /// The attestation is the manifest's, subject for subject.
    #[serde(rename = "attestation.subjects")]
    AttestationSubjects,
    /// Every entry's size and SHA-256 are the manifest's.
    #[serde(rename = "entries.digests")]
    EntriesDigests,
    /// Each SBOM agrees with a fresh scan of its artifact.
    #[serde(rename = "sbom.consistent")]
    SbomConsistent,
    /// Each artifact's format is allowed.
    #[serde(rename = "policy.formats")]
    PolicyFormats,
    /// Each model's licence is allowed.
    #[serde(rename = "policy.licences")]
    PolicyLicences,
    /// No finding at or above the policy's `fail_on`.
    #[serde(rename = "policy.findings")]
    PolicyFindings,
    /// No rollback or fork of the store's channel.
    #[serde(rename = "store.history")]
    StoreHistory,
    /// Drift from the baseline is accepted where the policy wants it;
    /// `import` only, after every check of `verify`.
    #[serde(rename = "drift.accepted")]
    DriftAccepted,
}

impl CheckName {
    /// Every check, in the order made.
    pub const ALL: [CheckName; 19] = [
        CheckName::ArchiveStructure,
        CheckName::ManifestForm,
        CheckName::PolicyCaps,
        CheckName::ChainLinks,
        CheckName::ChainSignatures,
        CheckName::ChainSigners,
        CheckName::ChainThreshold,
        CheckName::ChainRequiredRoles,
        CheckName::BundleExpiry,
        CheckName::BundleAge,
        CheckName::TrustDemoKey,
        CheckName::AttestationSubjects,
        CheckName::EntriesDigests,
        CheckName::SbomConsistent,
        CheckName::PolicyFormats,
        CheckName::PolicyLicences,
        CheckName::PolicyFindings,
        CheckName::StoreHistory,
        CheckName::DriftAccepted,
    ];

    /// The stable dotted name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::ArchiveStructure => "archive.structure",
            CheckName::ManifestForm => "manifest.form",
            CheckName::PolicyCaps => "policy.caps",
            CheckName::ChainLinks => "chain.links",
            CheckName::ChainSignatures => "chain.signatures",
            CheckName::ChainSigners => "chain.signers",
            CheckName::ChainThreshold => "chain.threshold",
            CheckName::ChainRequiredRoles => "chain.required_roles",
            CheckName::BundleExpiry => "bundle.expiry",
            CheckName::BundleAge => "bundle.age",
            CheckName::TrustDemoKey => "trust.demo_key",
            CheckName::AttestationSubjects => "attestation.subjects",
            CheckName::EntriesDigests => "entries.digests",
            CheckName::SbomConsistent => "sbom.consistent",
            CheckName::PolicyFormats => "policy.formats",
            CheckName::PolicyLicences => "policy.licences",
            CheckName::PolicyFindings => "policy.findings",
            CheckName::StoreHistory => "store.history",
            CheckName::DriftAccepted => "drift.accepted",
        }
    }

    /// Whether `verify` runs this check (every check but `import`'s own).
    pub fn in_verify(self) -> bool {
        match self {
            CheckName::DriftAccepted => false,
            CheckName::ArchiveStructure
            | CheckName::ManifestForm
            | CheckName::PolicyCaps
            | CheckName::ChainLinks
            | CheckName::ChainSignatures
            | CheckName::ChainSigners
            | CheckName::ChainThreshold
            | CheckName::ChainRequiredRoles
            | CheckName::BundleExpiry
            | CheckName::BundleAge
            | CheckName::TrustDemoKey
            | CheckName::AttestationSubjects
            | CheckName::EntriesDigests
            | CheckName::SbomConsistent
            | CheckName::PolicyFormats
            | CheckName::PolicyLicences
            | CheckName::PolicyFindings
            | CheckName::StoreHistory => true,
        }
    }

    /// The checks `verify` makes, in order.
    pub fn verify_checks() -> impl Iterator<Item = CheckName> {
        Self::ALL.into_iter().filter(|c| c.in_verify())
    }
}

impl std::fmt::Display for CheckName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for CheckName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CheckName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serialised name is `as_str`, for every check, and docs/policy.md
    /// lists the checks in the order of `ALL`.
    #[test]
    fn names_are_one_list_in_the_documented_order() -> Result<(), Box<dyn std::error::Error>> {
        for c in CheckName::ALL {
            assert_eq!(serde_json::to_value(c)?, c.as_str());
        }
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/policy.md"))?;
        let start = doc
            .find("## 9. Checks and exit codes")
            .ok_or("no section 9")?;
        let listed: Vec<&str> = doc
            .get(start..)
            .unwrap_or_default()
            .lines()
            .take_while(|l| !l.starts_with("A file that cannot be read"))
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(c, _)| c))
            .collect();
        let all: Vec<&str> = CheckName::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
        Ok(())
    }
}
