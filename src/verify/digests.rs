//! `entries.digests`: the ordered walk over every entry, in bundle order.
//! Each artifact is scanned and hashed (or its scan taken from those made
//! ahead, `entries::scan_ahead`), each SBOM compared with the fresh scan of
//! the artifact before it, and every verified byte passed to the sink; the
//! small entries follow (see `entries` for how one artifact is read).

use std::collections::BTreeMap;
use std::fs::File;

use super::ArtifactSink;
use super::entries::{
    FactsBudget, Problem, Scanned, Streamed, check_small, integrity, io_fail, read_small,
    scan_ahead, scan_artifact,
};
use super::report::Failure;
use super::sbom_check;
use super::structure::Opened;
use super::verdict::{Step, Verdict};
use crate::bundle::tar::TarEntry;
use crate::bundle::{BundlePath, ManifestEntry, OpenBundle, ReadLimits, Role, layout};
use crate::inspect::ModelFacts;
use crate::inspect::digest::{READ_BUFFER_BYTES, Sha256Digest};
use crate::limits::Limits;

/// `entries.digests`: every entry's decoded size and SHA-256 equal the
/// manifest; verified bytes reach `sink`. The fresh scans come back with
/// the `sbom.consistent` verdict.
pub(crate) fn stream(
    opened: &Opened,
    file: &mut File,
    limits: &ReadLimits,
    sink: &mut dyn ArtifactSink,
) -> Step<Streamed> {
    let bundle = &opened.bundle;
    let inspect_limits = Limits::default();
    let ahead = if sink.keeps_bytes() {
        BTreeMap::new()
    } else {
        scan_ahead(bundle, file, &inspect_limits, limits.max_facts_bytes)
    };
    // Sized once: a list doubled while it grows holds both copies.
    let artifacts = bundle
        .manifest
        .entries
        .iter()
        .filter(|m| m.role == Role::Artifact)
        .count();
    let mut run = Streaming {
        opened,
        limits,
        inspect_limits,
        ahead,
        budget: FactsBudget::default(),
        buf: vec![0u8; READ_BUFFER_BYTES],
        facts: Vec::with_capacity(artifacts),
        pending: None,
        sbom_problem: None,
        unscanned_zips: Vec::new(),
        decoded: 0,
    };
    let mut attestation_entry = None;
    for (i, (m, t)) in bundle
        .manifest
        .entries
        .iter()
        .zip(&bundle.layout.entries)
        .enumerate()
    {
        match m.role {
            Role::Artifact => run.artifact(i, m, t, file, sink)?,
            Role::Sbom => run.sbom(m, t, file, sink)?,
            // Checked by `attestation.subjects`; read again below only
            // for a sink that keeps it.
            Role::Attestation => attestation_entry = Some((m, t)),
        }
    }
    send_metadata(bundle, file, limits, sink, attestation_entry)?;
    let detail = format!(
        "{} artifact(s) ({} bytes decoded), their SBOMs, the attestation and {} link(s) match the manifest",
        run.facts.len(),
        run.decoded,
        bundle.links.len()
    );
    let sbom = run.sbom_verdict();
    Ok((
        Streamed {
            facts: run.facts,
            sbom,
        },
        Verdict::pass(detail),
    ))
}

/// The state of one [`stream`]: what was scanned, and what the SBOMs
/// read so far said.
struct Streaming<'a> {
    opened: &'a Opened,
    limits: &'a ReadLimits,
    inspect_limits: Limits,
    /// Artifacts scanned ahead, by entry index.
    ahead: BTreeMap<usize, Result<Box<Scanned>, Problem>>,
    budget: FactsBudget,
    buf: Vec<u8>,
    facts: Vec<(BundlePath, ModelFacts)>,
    /// The artifact whose SBOM comes next.
    pending: Option<(BundlePath, Box<Scanned>)>,
    sbom_problem: Option<String>,
    unscanned_zips: Vec<String>,
    decoded: u64,
}

impl Streaming<'_> {
    /// One artifact entry: scanned (or its scan taken from those made
    /// ahead), hashed, checked, and its bytes passed to the sink.
    fn artifact(
        &mut self,
        index: usize,
        m: &ManifestEntry,
        t: &TarEntry,
        file: &File,
        sink: &mut dyn ArtifactSink,
    ) -> Result<(), Verdict> {
        let artifact = m.artifact_path().ok_or_else(|| {
            Verdict::fail(
                Failure::Malformed,
                format!("entry {} is not an artifact name", m.path),
            )
        })?;
        let writer = sink
            .begin(&artifact, m)
            .map_err(|e| io_fail(&format!("the import sink refused {artifact}"), &e))?;
        // A result scanned ahead stands only where no writer waits for the
        // bytes.
        let early = match writer {
            None => self.ahead.remove(&index),
            Some(_) => None,
        };
        let scanned = match early {
            Some(result) => result,
            None => scan_artifact(
                file,
                t,
                m,
                &artifact,
                writer,
                &mut self.buf,
                &self.inspect_limits,
            )
            .map(Box::new),
        };
        let scanned = scanned.map_err(|p| match p {
            Problem::Integrity(why) => integrity(format!("entry {}: {why}", m.path)),
            Problem::Io(why) => Verdict::fail(Failure::Io, format!("entry {}: {why}", m.path)),
        })?;
        sink.finish(&artifact, m)
            .map_err(|e| io_fail(&format!("the import sink failed on {artifact}"), &e))?;
        let max = self.limits.max_facts_bytes;
        self.budget.add(scanned.facts_bytes, max).map_err(|used| {
            Verdict::fail(
                Failure::Malformed,
                format!(
                    "entry {}: the scan facts of the artifacts up to it take {used} bytes, more than the {max}-byte reader limit",
                    m.path
                ),
            )
        })?;
        self.decoded = self.decoded.saturating_add(m.size);
        self.pending = Some((artifact, scanned));
        Ok(())
    }

    /// One SBOM entry: read, passed to the sink, and compared with the
    /// fresh scan of the artifact before it.
    fn sbom(
        &mut self,
        m: &ManifestEntry,
        t: &TarEntry,
        file: &mut File,
        sink: &mut dyn ArtifactSink,
    ) -> Result<(), Verdict> {
        let bundle = &self.opened.bundle;
        let bytes = read_small(bundle, file, t, self.limits.max_sbom_bytes)?;
        check_small(m, &bytes)?;
        sink.metadata(&m.path, &bytes)
            .map_err(|e| io_fail(&format!("the import sink failed on {}", m.path), &e))?;
        let Some((artifact, scanned)) = self.pending.take() else {
            return Err(Verdict::fail(
                Failure::Malformed,
                format!("entry {} follows no artifact", m.path),
            ));
        };
        if self.sbom_problem.is_none()
            && let Err(why) = sbom_check::compare(
                &bytes,
                &scanned.facts,
                &scanned.digest,
                bundle.times.created,
                scanned.zip_unscanned,
            )
        {
            self.sbom_problem = Some(format!("{}: {why}", m.path));
        }
        if scanned.zip_unscanned {
            self.unscanned_zips.push(artifact.to_string());
        }
        let scanned = *scanned;
        self.facts.push((artifact, scanned.facts));
        Ok(())
    }

    /// The `sbom.consistent` verdict of the SBOMs read.
    fn sbom_verdict(&mut self) -> Verdict {
        match self.sbom_problem.take() {
            Some(why) => integrity(why),
            None if self.unscanned_zips.is_empty() => Verdict::pass(format!(
                "{} SBOM(s) agree with a fresh scan of their artifacts",
                self.facts.len()
            )),
            None => Verdict::pass(format!(
                "{} SBOM(s) agree with a fresh scan of their artifacts; not re-checked: the pickle contents of zstd-encoded zip archive(s) {} (no random access into a compressed entry), only their name, format and size",
                self.facts.len(),
                self.unscanned_zips.join(", ")
            )),
        }
    }
}

/// The small entries reach the sink one at a time, as read: the manifest
/// bytes already held, the attestation and each link read again (each must
/// still be the bytes checked). A sink that keeps nothing gets nothing:
/// `verify` holds no attestation while it streams.
fn send_metadata(
    bundle: &OpenBundle,
    file: &mut File,
    limits: &ReadLimits,
    sink: &mut dyn ArtifactSink,
    attestation_entry: Option<(&ManifestEntry, &TarEntry)>,
) -> Result<(), Verdict> {
    if sink.keeps_bytes() {
        let (m, t) = attestation_entry
            .ok_or_else(|| Verdict::fail(Failure::Malformed, "the bundle has no attestation"))?;
        let bytes = read_small(bundle, file, t, limits.max_attestation_bytes)?;
        check_small(m, &bytes)?;
        sink.metadata(&m.path, &bytes)
            .map_err(|e| io_fail(&format!("the import sink failed on {}", m.path), &e))?;
    }
    let name = BundlePath::new(layout::MANIFEST)
        .map_err(|e| Verdict::fail(Failure::Malformed, e.to_string()))?;
    sink.metadata(&name, &bundle.manifest_bytes)
        .map_err(|e| io_fail(&format!("the import sink failed on {name}"), &e))?;
    for (t, info) in &bundle.links {
        let bytes = read_small(bundle, file, t, limits.max_link_bytes)?;
        if Sha256Digest::of(&bytes) != info.entry_sha256 {
            return Err(integrity(format!(
                "entry {} changed while it was read",
                t.name
            )));
        }
        sink.metadata(&t.name, &bytes)
            .map_err(|e| io_fail(&format!("the import sink failed on {}", t.name), &e))?;
    }
    Ok(())
}
