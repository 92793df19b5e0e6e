//! A differential artifact when no base version is at hand (`verify`
//! without a store): what the bundle carries is checked, the rebuild is
//! not, and the report says so (docs/bundle-format.md [B80]).

use super::super::report::Outcome;
use super::super::verdict::Verdict;
use super::{Problem, Recording, Window};
use crate::bundle::delta::check_payload;
use crate::bundle::tar::TarEntry;
use crate::bundle::{BundlePath, ManifestEntry};
use crate::io::digest::Hasher;
use crate::io::source::SourceReader;

/// A differential artifact without its base version: its stored bytes
/// against the manifest, and the recipe's form and shipped chunks
/// (docs/bundle-format.md [B78]).
fn check_unrebuilt(file: &SourceReader, t: &TarEntry, m: &ManifestEntry) -> Result<(), Problem> {
    let mut stored = Recording {
        inner: Window {
            file,
            start: t.data_offset,
            len: t.size,
            pos: 0,
        },
        failed: None,
        stored: Some(Hasher::new()),
        frame: None,
        frame_error: None,
    };
    let checked = check_payload(&mut stored, m.size);
    if let Some(disk) = &stored.failed {
        return Err(Problem::Io(disk.clone()));
    }
    checked.map_err(|e| Problem::Integrity(format!("its recipe is refused: {e}")))?;
    let hasher = stored.stored.unwrap_or_default();
    let got = hasher.clone().finish();
    if Some(got) != m.stored_sha256 || hasher.bytes() != m.stored_size {
        return Err(Problem::Integrity(format!(
            "its {} stored bytes have SHA-256 {got}, the manifest says {} bytes",
            hasher.bytes(),
            m.stored_size
        )));
    }
    Ok(())
}

/// The differential artifacts of a walk without the base version.
#[derive(Debug, Default)]
pub(super) struct Unrebuilt {
    names: Vec<String>,
    /// The last artifact was one: its SBOM comes next.
    sbom_pending: bool,
}

impl Unrebuilt {
    /// Check what the bundle carries of the differential artifact `m`.
    pub(super) fn artifact(
        &mut self,
        file: &SourceReader,
        t: &TarEntry,
        m: &ManifestEntry,
        artifact: BundlePath,
    ) -> Result<(), Verdict> {
        check_unrebuilt(file, t, m).map_err(|p| p.verdict(m))?;
        self.names.push(artifact.to_string());
        self.sbom_pending = true;
        Ok(())
    }

    /// Whether the SBOM now read is such an artifact's.
    pub(super) fn take_sbom(&mut self) -> bool {
        std::mem::take(&mut self.sbom_pending)
    }

    /// `entries.digests`' detail, with what was not rebuilt.
    pub(super) fn entries_note(&self, detail: &mut String) {
        if !self.names.is_empty() {
            detail.push_str(&format!(
                "; reconstruction unverified: {} differential artifact(s) ({}) need their base version (verify with the store), only their recipes and shipped chunks were checked",
                self.names.len(),
                self.names.join(", ")
            ));
        }
    }

    /// The `sbom.consistent` verdict, saying which SBOMs were not compared.
    pub(super) fn sbom_note(&self, verdict: Verdict) -> Verdict {
        unrebuilt_note(verdict, &self.names)
    }
}

/// The `sbom.consistent` verdict, saying which SBOMs were not compared.
fn unrebuilt_note(verdict: Verdict, unrebuilt: &[String]) -> Verdict {
    if unrebuilt.is_empty() || matches!(verdict.outcome, Outcome::Fail(_)) {
        return verdict;
    }
    Verdict::warn(format!(
        "{}; reconstruction unverified: the SBOMs of {} differential artifact(s) were not compared, their rebuild needs the base version (verify --store)",
        verdict.detail,
        unrebuilt.len()
    ))
}
