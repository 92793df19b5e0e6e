//! The verification report: every check by a stable name, with its outcome.
//! The names are an interface (scripts read `--format json`); they are
//! listed in docs/policy.md, "Checks".

use serde::Serialize;

use super::check::CheckName;

/// Why a bundle was refused. Each has its own [`crate::Class`] and exit code
/// (docs/policy.md, "Checks and exit codes"), so a script can tell
/// "tampered" from "not allowed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The archive, manifest, attestation or a link is malformed (exit 3).
    Malformed,
    /// A hash or size differs from what the manifest says, or an SBOM
    /// disagrees with its artifact (exit 4).
    Integrity,
    /// A signature does not verify, a signer is not trusted for its role, a
    /// threshold or required role is not met, or the bundle expired (exit 5).
    Trust,
    /// The content breaks a policy rule: format, licence, findings, caps,
    /// age (exit 6).
    Policy,
    /// The bundle would roll the channel back or fork it (exit 7).
    Rollback,
    /// The bundle drifts from the channel's baseline in a class the policy
    /// wants accepted, and `--accept-drift` did not name it (exit 8; only
    /// `import` checks this).
    Drift,
    /// The bundle or the store could not be read or written (exit 10).
    Io,
}

impl Failure {
    /// The failure of a check whose reading of the bundle failed with
    /// `class` (a [`crate::bundle::Error`]'s): the reader's own refusals
    /// are malformed input.
    pub fn of_reading(class: crate::Class) -> Failure {
        use crate::Class;
        match class {
            Class::Io => Failure::Io,
            Class::Usage | Class::Malformed => Failure::Malformed,
            Class::Integrity => Failure::Integrity,
            Class::Trust => Failure::Trust,
            Class::Policy => Failure::Policy,
            Class::Rollback => Failure::Rollback,
            Class::Drift => Failure::Drift,
            // A base is judged before verify reads the bundle (the store
            // does it); a reader never refuses with this class.
            Class::Base => Failure::Integrity,
        }
    }

    /// The class behind the exit code.
    pub fn class(self) -> crate::Class {
        use crate::Class;
        match self {
            Failure::Malformed => Class::Malformed,
            Failure::Integrity => Class::Integrity,
            Failure::Trust => Class::Trust,
            Failure::Policy => Class::Policy,
            Failure::Rollback => Class::Rollback,
            Failure::Drift => Class::Drift,
            Failure::Io => Class::Io,
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "failure", rename_all = "snake_case")]
pub enum Outcome {
    /// Checked and fine.
    Pass,
    /// Checked and fine, with something the operator should know (a demo
    /// key trusted, a clock not trusted).
    Warn,
    /// Checked and refused.
    Fail(Failure),
    /// Not checked: an earlier stage failed, or the check does not apply
    /// (no `--store`). The detail says which.
    Skipped,
}

/// One named check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable dotted name (`archive.structure`, `chain.threshold`, …).
    pub name: CheckName,
    /// Its outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// One sentence: what was checked, or what is wrong and where.
    pub detail: String,
}

/// Every check of one run, in the order made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Record a check.
    pub fn push(&mut self, name: CheckName, outcome: Outcome, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            outcome,
            detail: detail.into(),
        });
    }

    /// The first failure, which decides the exit code.
    pub fn failure(&self) -> Option<Failure> {
        self.checks.iter().find_map(|c| match c.outcome {
            Outcome::Fail(f) => Some(f),
            _ => None,
        })
    }

    /// Whether every check passed (warnings and skips do not fail).
    pub fn passed(&self) -> bool {
        self.failure().is_none()
    }

    /// The checks that warned.
    pub fn warnings(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Warn)
    }
}

/// The document `lbom verify --format json` prints: the bundle, the
/// policy, every check and, when verified, what the bundle is and who
/// signed it. The exit code is the caller's (the binary's table).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyDocument<'a> {
    /// The bundle as named.
    pub bundle: &'a std::path::Path,
    /// The policy file and its digest.
    pub policy: &'a super::policy::PolicySource,
    /// Whether every check passed.
    pub verified: bool,
    /// The process's exit code.
    pub exit_code: u8,
    /// The manifest's SHA-256, when verified.
    pub manifest_sha256: Option<crate::io::digest::Sha256Digest>,
    /// Every link's signer, when verified.
    pub signers: Option<&'a [super::Signer]>,
    /// Every check.
    pub checks: &'a [Check],
}

impl<'a> VerifyDocument<'a> {
    /// The document of one run of `verify`.
    pub fn new(
        bundle: &'a std::path::Path,
        policy: &'a super::Policy,
        report: &'a Report,
        verified: Option<&'a super::Verified>,
        exit_code: u8,
    ) -> Self {
        Self {
            bundle,
            policy: &policy.source,
            verified: report.passed(),
            exit_code,
            manifest_sha256: verified.map(|v| v.manifest_sha256),
            signers: verified.map(|v| v.signers.as_slice()),
            checks: &report.checks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_decides_and_warnings_do_not_fail() {
        let mut r = Report::default();
        r.push(CheckName::ArchiveStructure, Outcome::Pass, "fine");
        r.push(CheckName::TrustDemoKey, Outcome::Warn, "demo key");
        assert!(r.passed());
        r.push(
            CheckName::ChainSignatures,
            Outcome::Fail(Failure::Trust),
            "bad signature",
        );
        r.push(
            CheckName::EntriesDigests,
            Outcome::Fail(Failure::Integrity),
            "bad hash",
        );
        assert_eq!(r.failure(), Some(Failure::Trust));
        assert_eq!(r.failure().map(Failure::class), Some(crate::Class::Trust));
        assert_eq!(r.warnings().count(), 1);
    }

    #[test]
    fn json_names_the_status_and_class() -> Result<(), serde_json::Error> {
        let mut r = Report::default();
        r.push(
            CheckName::ChainSignatures,
            Outcome::Fail(Failure::Trust),
            "x",
        );
        r.push(CheckName::ArchiveStructure, Outcome::Pass, "y");
        let v = serde_json::to_value(&r)?;
        assert_eq!(v["checks"][0]["status"], "fail");
        assert_eq!(v["checks"][0]["failure"], "trust");
        assert_eq!(v["checks"][1]["status"], "pass");
        Ok(())
    }
}
