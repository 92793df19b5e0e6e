//! Where every entry of a bundle goes: pure arithmetic over names and
//! sizes, no files and no threads.
//!
//! The executor (`super::execute`) asks the plan for each entry's place in
//! bundle order (an artifact, then its SBOM; at the end the attestation and
//! the manifest) and writes the bytes there. A raw artifact's SBOM is
//! placed as soon as its header is parsed, with the size reserved for it
//! (the SBOM rendered with a placeholder digest of the real one's length),
//! which is what lets workers fill several artifacts at once. A zstd
//! artifact is placed once its stored size is known.
//!
//! The plan refuses what a reader would refuse (docs/bundle-format.md,
//! "Reader limits"): more artifacts than [`ReadLimits::max_artifacts`],
//! an SBOM, attestation or manifest over its cap, artifacts out of
//! ascending path order, an SBOM that does not follow its artifact.

use super::super::ReadLimits;
use super::super::path::BundlePath;
use super::super::tar::{TarEntry, TarError, encode_header};

/// What kind of entry is placed: each has its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An artifact: `path` is its artifact path (the input's name).
    Artifact,
    /// The SBOM of the artifact placed just before.
    Sbom,
    /// The attestation.
    Attestation,
    /// The manifest.
    Manifest,
}

/// Why an entry cannot be placed.
#[derive(Debug, thiserror::Error)]
pub(super) enum PlanError {
    /// More artifacts than a reader accepts.
    #[error("more than {0} artifacts: a reader refuses the bundle")]
    TooManyArtifacts(usize),
    /// An entry over its reader cap.
    #[error("its {what} would be {size} bytes, more than the {cap} a reader accepts")]
    TooLarge {
        /// Which entry.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The reader's cap.
        cap: u64,
    },
    /// Artifacts out of ascending path order (a bug in the caller).
    #[error("artifact {0} is out of ascending path order")]
    OutOfOrder(String),
    /// An SBOM with no artifact before it (a bug in the caller).
    #[error("an SBOM entry without its artifact")]
    Orphan,
    /// The tar header cannot hold the name or size.
    #[error(transparent)]
    Tar(#[from] TarError),
}

/// An entry placed: where it lies and its tar header.
#[derive(Debug, Clone)]
pub(super) struct Placed {
    pub(super) entry: TarEntry,
    pub(super) header: [u8; 512],
}

/// The layout so far.
#[derive(Debug)]
pub(super) struct Plan {
    /// Where the next entry's header goes.
    offset: u64,
    /// The last artifact's path, until its SBOM is placed.
    open_artifact: Option<BundlePath>,
    last_artifact: Option<BundlePath>,
    artifacts: usize,
    caps: ReadLimits,
}

impl Plan {
    /// A bundle whose first entry starts at `offset`, for readers with
    /// `caps`.
    pub(super) fn new(offset: u64, caps: &ReadLimits) -> Self {
        Self {
            offset,
            open_artifact: None,
            last_artifact: None,
            artifacts: 0,
            caps: caps.clone(),
        }
    }

    /// Where the next entry's header goes.
    #[cfg(test)]
    fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the next entry's data would start.
    pub(super) fn next_data_offset(&self) -> u64 {
        self.offset.saturating_add(super::super::tar::BLOCK)
    }

    /// Check that an entry of `kind` named `name` (for an artifact: its
    /// artifact path `path`) with `size` bytes may come next.
    pub(super) fn check(
        &self,
        kind: Kind,
        path: Option<&BundlePath>,
        size: u64,
    ) -> Result<(), PlanError> {
        let cap = |what, cap: u64| {
            if size > cap {
                Err(PlanError::TooLarge { what, size, cap })
            } else {
                Ok(())
            }
        };
        match kind {
            Kind::Artifact => {
                if self.artifacts >= self.caps.max_artifacts {
                    return Err(PlanError::TooManyArtifacts(self.caps.max_artifacts));
                }
                let path = path.ok_or(PlanError::Orphan)?;
                if self.last_artifact.as_ref().is_some_and(|last| last >= path) {
                    return Err(PlanError::OutOfOrder(path.as_str().to_owned()));
                }
                Ok(())
            }
            Kind::Sbom => {
                if self.open_artifact.is_none() {
                    return Err(PlanError::Orphan);
                }
                cap("SBOM", self.caps.max_sbom_bytes)
            }
            Kind::Attestation => cap("attestation", self.caps.max_attestation_bytes),
            Kind::Manifest => cap("manifest", self.caps.max_manifest_bytes),
        }
    }

    /// Place the next entry: `name` is its entry name, `path` an artifact's
    /// artifact path (`None` for the others).
    pub(super) fn place(
        &mut self,
        kind: Kind,
        name: &BundlePath,
        path: Option<&BundlePath>,
        size: u64,
    ) -> Result<Placed, PlanError> {
        self.check(kind, path, size)?;
        let header = encode_header(name, size)?;
        let entry = TarEntry {
            name: name.clone(),
            header_offset: self.offset,
            data_offset: self.next_data_offset(),
            size,
        };
        match kind {
            Kind::Artifact => {
                self.artifacts = self.artifacts.saturating_add(1);
                self.last_artifact = path.cloned();
                self.open_artifact = path.cloned();
            }
            Kind::Sbom => self.open_artifact = None,
            Kind::Attestation | Kind::Manifest => {}
        }
        self.offset = entry.end_offset();
        Ok(Placed { entry, header })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::tar::padded;
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<BundlePath, TestCaseError> {
        BundlePath::new(s).map_err(|e| TestCaseError::fail(e.to_string()))
    }

    /// One input as the generator makes it: a name, an artifact size and an
    /// SBOM size.
    fn inputs() -> impl Strategy<Value = Vec<(String, u64, u64)>> {
        prop::collection::btree_map(
            "[a-z]{1,6}(/[a-z]{1,6}){0,2}\\.(gguf|bin)",
            (0u64..(1 << 33), 0u64..(6 << 20)),
            0..40,
        )
        .prop_map(|m| m.into_iter().map(|(k, (a, s))| (k, a, s)).collect())
    }

    proptest! {
        /// Whatever the inputs: the entries placed never overlap, start on
        /// block boundaries, follow one another in ascending artifact path
        /// order, and every one the plan accepts fits the reader's caps;
        /// one it refuses is over a cap.
        #[test]
        fn plans_never_overlap_stay_in_order_and_fit_the_reader(
            inputs in inputs(),
            start in 0u64..64,
            max_artifacts in 0usize..50,
        ) {
            let caps = ReadLimits { max_artifacts, ..ReadLimits::default() };
            let mut plan = Plan::new(start * 512, &caps);
            let mut placed: Vec<TarEntry> = Vec::new();
            let mut artifacts = 0usize;
            for (name, size, sbom_size) in &inputs {
                let path = p(name)?;
                let artifact = plan.place(
                    Kind::Artifact,
                    &p(&format!("artifacts/{name}"))?,
                    Some(&path),
                    *size,
                );
                let artifact = match artifact {
                    Ok(a) => a,
                    Err(PlanError::TooManyArtifacts(n)) => {
                        prop_assert_eq!(n, max_artifacts);
                        prop_assert_eq!(artifacts, max_artifacts);
                        break;
                    }
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                };
                artifacts += 1;
                placed.push(artifact.entry);
                match plan.place(Kind::Sbom, &p(&format!("sboms/{name}.cdx.json"))?, None, *sbom_size) {
                    Ok(s) => {
                        prop_assert!(*sbom_size <= caps.max_sbom_bytes);
                        placed.push(s.entry);
                    }
                    Err(PlanError::TooLarge { size, cap, .. }) => {
                        prop_assert!(size > cap);
                        prop_assert_eq!(cap, caps.max_sbom_bytes);
                        break;
                    }
                    Err(e) => return Err(TestCaseError::fail(e.to_string())),
                }
            }
            prop_assert!(artifacts <= caps.max_artifacts);
            let mut end = start * 512;
            for e in &placed {
                prop_assert_eq!(e.header_offset, end, "a gap or an overlap before {}", e.name.as_str());
                prop_assert_eq!(e.header_offset % 512, 0);
                prop_assert_eq!(e.data_offset, e.header_offset + 512);
                prop_assert_eq!(e.end_offset(), e.data_offset + padded(e.size));
                end = e.end_offset();
            }
            prop_assert_eq!(plan.offset(), end);
            let names: Vec<&str> = placed
                .iter()
                .filter_map(|e| e.name.as_str().strip_prefix("artifacts/"))
                .collect();
            prop_assert!(names.windows(2).all(|w| w[0] < w[1]), "artifacts out of order");
        }
    }

    #[test]
    fn out_of_order_orphans_and_large_entries_are_refused() -> Result<(), TestCaseError> {
        let mut plan = Plan::new(0, &ReadLimits::default());
        assert!(matches!(
            plan.place(Kind::Sbom, &p("sboms/a.cdx.json")?, None, 1),
            Err(PlanError::Orphan)
        ));
        plan.place(Kind::Artifact, &p("artifacts/b")?, Some(&p("b")?), 1)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        assert!(matches!(
            plan.place(Kind::Artifact, &p("artifacts/a")?, Some(&p("a")?), 1),
            Err(PlanError::OutOfOrder(_))
        ));
        let caps = ReadLimits::default();
        assert!(matches!(
            plan.place(
                Kind::Manifest,
                &p("manifest.json")?,
                None,
                caps.max_manifest_bytes + 1
            ),
            Err(PlanError::TooLarge {
                what: "manifest",
                ..
            })
        ));
        assert!(matches!(
            plan.place(
                Kind::Attestation,
                &p("attestation.json")?,
                None,
                caps.max_attestation_bytes + 1
            ),
            Err(PlanError::TooLarge {
                what: "attestation",
                ..
            })
        ));
        Ok(())
    }
}
