//! `attestation.subjects` and `entries.digests` (with the fresh scans that
//! `sbom.consistent` and the content rules judge).
//!
//! Every entry is read once: on the ordered walk, in bundle order, through
//! one 1 MiB buffer (import, and everything verify does not scan ahead);
//! each byte is hashed once, and the same bytes feed the inspector (a tee,
//! as `pack` does) and the sink. zstd entries are decoded by a streaming
//! decoder that is never asked for more than the manifest's `size` plus one
//! byte, so a lying frame or a bomb costs at most one buffer; what follows
//! the one frame is refused (docs/bundle-format.md §4: "one RFC 8878 frame").
//!
//! When the sink keeps no bytes (`lbom verify`), the raw artifacts are
//! scanned ahead on as many threads as there are CPUs (at most four), each with
//! positioned reads of its own entries; the ordered walk then takes their
//! results and reports the first failure in bundle order, as the sequential
//! walk does. One thread read and hashed at openssl's single-core speed,
//! slower than model_signing, which hashes files in parallel (make bench).

use crate::io::source::SourceReader;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::Arc;

use super::ArtifactSink;
use super::report::Failure;
use super::sbom_check;
use super::structure::{Opened, error_text};
use super::verdict::{Step, Verdict};
use crate::bundle::attestation::{self, AttestationError};
use crate::bundle::delta::{BaseFiles, Rebuild};
use crate::bundle::tar::TarEntry;
use crate::bundle::zstd_frame::{self, BlockWalk, FrameError};
use crate::bundle::{
    BundlePath, Caps, Encoding, ManifestEntry, OpenBundle, ReadLimits, Role, layout, read,
};
use crate::inspect::{Format, ModelFacts, ScanOptions, SeekRead};
use crate::io::digest::{Hasher, READ_BUFFER_BYTES, Sha256Digest};
use crate::io::tee::{HashingTee, Stopped, WriteBranch};
use crate::limits::Limits;

mod ahead;
mod delta;

use ahead::scan_ahead;
use delta::Unrebuilt;

/// Largest zstd window accepted (docs/bundle-format.md [B56]): the frame
/// header is refused above it, and the decoder is capped at it too.
const ZSTD_WINDOW_LOG_MAX: u32 = zstd_frame::MAX_WINDOW_LOG;

/// What streaming found.
#[derive(Debug)]
pub(crate) struct Streamed {
    /// Fresh facts per artifact, in manifest order (with the SHA-256 set).
    pub facts: Vec<(BundlePath, ModelFacts)>,
    /// The `sbom.consistent` verdict.
    pub sbom: Verdict,
}

pub(crate) fn integrity(detail: impl Into<String>) -> Verdict {
    Verdict::fail(Failure::Integrity, detail)
}

fn io_fail(what: &str, e: &io::Error) -> Verdict {
    Verdict::fail(Failure::Io, format!("{what}: {e}"))
}

/// Read a small entry whole, bounded; reader errors keep their class.
pub(crate) fn read_small(
    bundle: &OpenBundle,
    file: &mut SourceReader,
    t: &TarEntry,
    max: u64,
) -> Result<Vec<u8>, Verdict> {
    read::read_entry(&bundle.path, file, t, max).map_err(|e| {
        let class = super::structure::classify(&e);
        Verdict::fail(class, error_text(&e))
    })
}

/// Bytes of a small entry against its manifest entry.
pub(crate) fn check_small(m: &ManifestEntry, bytes: &[u8]) -> Result<(), Verdict> {
    let got = Sha256Digest::of(bytes);
    if bytes.len() as u64 != m.size || got != m.sha256 {
        return Err(integrity(format!(
            "entry {}: {} bytes with SHA-256 {got}, the manifest says {} bytes with {}",
            m.path,
            bytes.len(),
            m.size,
            m.sha256
        )));
    }
    Ok(())
}

/// `attestation.subjects` (docs/bundle-format.md §6, docs/policy.md §9):
/// the attestation's bytes match its manifest entry (exit 4); it is the
/// statement of §6 in its one byte form (exit 3); and it is exactly the
/// document the manifest gives — its subjects the manifest's artifacts in
/// bundle order, each once, with their SHA-256, and every other value the
/// manifest's (exit 4). Its bytes are not kept: [`stream`] reads them
/// again for a sink that keeps them (docs/bundle-format.md, "Reader
/// limits": nothing is held through the stream that it does not need).
pub(crate) fn attestation(
    bundle: &OpenBundle,
    file: &mut SourceReader,
    limits: &ReadLimits,
) -> Step<()> {
    let found = bundle
        .manifest
        .entries
        .iter()
        .zip(&bundle.layout.entries)
        .find(|(m, _)| m.role == Role::Attestation);
    let Some((m, t)) = found else {
        return Err(Verdict::fail(
            Failure::Malformed,
            "the bundle has no attestation",
        ));
    };
    let bytes = read_small(bundle, file, t, limits.max_attestation_bytes)?;
    check_small(m, &bytes)?;
    attestation::check(&bytes, &bundle.manifest).map_err(|e| match e {
        AttestationError::Form(why) => Verdict::fail(Failure::Malformed, why),
        AttestationError::Disagrees(why) => integrity(why),
    })?;
    let artifacts = bundle
        .manifest
        .entries
        .iter()
        .filter(|e| e.role == Role::Artifact)
        .count();
    let detail = format!(
        "in-toto Statement v1 (SLSA provenance v1) names exactly the {artifacts} artifact(s) of the manifest, in bundle order"
    );
    Ok(((), Verdict::pass(detail)))
}

/// A reader that remembers whether the file itself failed, so a decoder's
/// error can be told from the disk's.
struct Recording<R> {
    inner: R,
    failed: Option<String>,
    /// The stored bytes' SHA-256, for an encoded entry (a raw entry's
    /// stored bytes are its decoded bytes, hashed once by the tee).
    stored: Option<Hasher>,
    /// A zstd entry's frame, walked block by block as its bytes pass
    /// (docs/bundle-format.md [B56] rule 5), and what it found wrong.
    frame: Option<Box<BlockWalk>>,
    frame_error: Option<FrameError>,
}

impl<R: Read> Read for Recording<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).inspect_err(|e| {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failed = Some(e.to_string());
            }
        })?;
        let got = buf.get(..n).unwrap_or_default();
        if let Some(h) = self.stored.as_mut() {
            h.update(got);
        }
        if let Some(walk) = self.frame.as_mut() {
            let checked = if n == 0 {
                walk.finish()
            } else {
                walk.feed(got)
            };
            if let Err(e) = checked {
                self.frame_error = Some(e);
                return Err(io::Error::new(io::ErrorKind::InvalidData, "zstd frame"));
            }
        }
        Ok(n)
    }
}

/// The stored bytes of one entry, read with positioned reads ([`Window`]),
/// so that several threads can read entries of one open bundle at once.
type Stored<'f> = Recording<Window<'f>>;

/// An entry's decoded bytes: a differential artifact's are rebuilt from
/// the base version and its payload (docs/bundle-format.md [B79]).
enum Source<'f> {
    Raw(Stored<'f>),
    Zstd(Box<zstd::stream::read::Decoder<'static, BufReader<Stored<'f>>>>),
    Delta(Box<Rebuild<Stored<'f>>>),
}

impl Source<'_> {
    fn stored(&self) -> &Stored<'_> {
        match self {
            Source::Raw(r) => r,
            Source::Zstd(d) => d.get_ref().get_ref(),
            Source::Delta(d) => d.payload(),
        }
    }

    /// Stored bytes not consumed: data after the zstd frame.
    fn unread(&self) -> u64 {
        match self {
            Source::Raw(r) => r.inner.left(),
            Source::Zstd(d) => (d.get_ref().buffer().len() as u64)
                .saturating_add(d.get_ref().get_ref().inner.left()),
            Source::Delta(d) => d.payload().inner.left(),
        }
    }
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Raw(r) => r.read(buf),
            Source::Zstd(d) => d.read(buf),
            Source::Delta(d) => d.read(buf),
        }
    }
}

/// Why streaming one entry stopped.
enum Problem {
    Integrity(String),
    Io(String),
}

/// Hashes every decoded byte once, bounds them by the manifest size, and
/// passes them on to the sink's writer: the one hashing tee
/// (`crate::io::tee`), whose failures are final.
type Tee<'f> = HashingTee<Source<'f>, WriteBranch<Box<dyn Write + Send>>>;

/// The tee's own problem, when it stopped for good: the entry decoded to
/// more than its manifest size, or the import sink failed.
fn tee_problem(tee: &Tee<'_>, limit: u64) -> Option<Problem> {
    match tee.stopped()? {
        Stopped::Overran => Some(Problem::Integrity(format!(
            "decodes to more than the manifest's {limit} bytes"
        ))),
        Stopped::Branch => Some(Problem::Io(format!(
            "the import sink failed: {}",
            tee.branch().failure().unwrap_or("unknown error")
        ))),
    }
}

/// A view of one entry's stored bytes by positioned reads: the decoded
/// stream's source, and (seekable) the zip reader's random access into a
/// raw entry (its directory is at the end). Positioned reads share no file
/// position, so streams and threads do not disturb each other.
type Window<'f> = crate::io::source::Window<'f, SourceReader>;

/// One artifact, streamed: fresh facts, and whether a zip's pickles could
/// not be scanned (no random access into a zstd entry).
struct Scanned {
    facts: ModelFacts,
    digest: Sha256Digest,
    zip_unscanned: bool,
    /// What `facts` take in memory ([`ModelFacts::memory_bytes`]): what it
    /// counts against [`ReadLimits::max_facts_bytes`].
    facts_bytes: u64,
}

/// Open an entry's decoded stream; a delta entry's needs the base files.
fn open_source<'f>(
    file: &'f SourceReader,
    t: &TarEntry,
    m: &ManifestEntry,
    base: Option<&Arc<dyn BaseFiles>>,
) -> Result<Source<'f>, Problem> {
    let stored = Recording {
        inner: Window {
            file,
            start: t.data_offset,
            len: t.size,
            pos: 0,
        },
        failed: None,
        stored: (m.encoding != Encoding::Raw).then(Hasher::new),
        frame: (m.encoding == Encoding::Zstd).then(Box::default),
        frame_error: None,
    };
    match m.encoding {
        Encoding::Raw => Ok(Source::Raw(stored)),
        Encoding::Delta => {
            let base = base.ok_or_else(|| {
                Problem::Integrity("is differential, and no base version was given".into())
            })?;
            Rebuild::new(stored, m.size, Arc::clone(base))
                .map(|r| Source::Delta(Box::new(r)))
                .map_err(|e| Problem::Integrity(e.to_string()))
        }
        Encoding::Zstd => {
            let mut buffered = BufReader::with_capacity(READ_BUFFER_BYTES, stored);
            if let Err(e) = buffered.fill_buf() {
                // The frame walk reads the header as it passes.
                return Err(match &buffered.get_ref().frame_error {
                    Some(frame) => Problem::Integrity(frame.to_string()),
                    None => Problem::Io(e.to_string()),
                });
            }
            let head = buffered.buffer();
            // The frame header rules (docs/bundle-format.md [B56]) before a
            // byte is decoded; its content size must be the manifest's.
            let header =
                zstd_frame::check_header(head).map_err(|e| Problem::Integrity(e.to_string()))?;
            if header.content_size != m.size {
                return Err(Problem::Integrity(format!(
                    "its zstd frame claims {} bytes, the manifest {}",
                    header.content_size, m.size
                )));
            }
            let mut decoder = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| Problem::Io(e.to_string()))?
                .single_frame();
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| Problem::Io(e.to_string()))?;
            Ok(Source::Zstd(Box::new(decoder)))
        }
    }
}

/// What a failed read means: the sink's or the limit's own problem, the
/// disk, or (for zstd) data that does not decode.
fn classify(tee: &Tee<'_>, limit: u64, e: &io::Error) -> Problem {
    if let Some(p) = tee_problem(tee, limit) {
        return p;
    }
    let source = tee.inner();
    if let Some(disk) = &source.stored().failed {
        return Problem::Io(disk.clone());
    }
    if let Some(frame) = &source.stored().frame_error {
        return Problem::Integrity(frame.to_string());
    }
    match source {
        Source::Zstd(_) => Problem::Integrity(format!("does not decode as zstd: {e}")),
        Source::Delta(_) if e.kind() == io::ErrorKind::InvalidData => {
            Problem::Integrity(format!("does not rebuild: {e}"))
        }
        Source::Raw(_) | Source::Delta(_) => Problem::Io(e.to_string()),
    }
}

/// Stream one artifact through the inspector and the hash, into `writer`.
#[allow(
    clippy::too_many_arguments,
    reason = "two call sites, each argument its own"
)]
fn scan_artifact(
    file: &SourceReader,
    t: &TarEntry,
    m: &ManifestEntry,
    artifact: &BundlePath,
    writer: Option<Box<dyn Write + Send>>,
    buf: &mut [u8],
    limits: &Limits,
    base: Option<&Arc<dyn BaseFiles>>,
) -> Result<Scanned, Problem> {
    let source = open_source(file, t, m, base)?;
    let raw = matches!(source, Source::Raw(_));
    let mut tee: Tee<'_> =
        HashingTee::with_branch(source, true, WriteBranch::new(writer)).limited(m.size);
    let file_name = artifact
        .as_str()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut window = raw.then_some(Window {
        file,
        start: t.data_offset,
        len: t.size,
        pos: 0,
    });
    // The tee hashes; the inspector only parses the header.
    let options = ScanOptions {
        hash: false,
        jobs: Some(1),
    };
    let scanned = crate::inspect::inspect_reader(
        &mut tee,
        m.size,
        &file_name,
        window.as_mut().map(|w| w as &mut dyn SeekRead),
        &options,
        limits,
        &mut |_| {},
    );
    let mut facts = match scanned {
        Ok(f) => f,
        Err(e) => return Err(classify(&tee, m.size, &e)),
    };
    if let Some(p) = tee_problem(&tee, m.size) {
        return Err(p);
    }
    loop {
        match tee.read(buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(classify(&tee, m.size, &e)),
        }
    }
    let digest = finish_entry(tee, m)?;
    let zip_unscanned = !raw && facts.format == Format::PytorchZip;
    facts.model_path = artifact.as_str().to_owned();
    facts.model_filename = file_name;
    facts.sha256 = Some(digest);
    let facts_bytes = facts.memory_bytes();
    Ok(Scanned {
        facts,
        digest,
        zip_unscanned,
        facts_bytes,
    })
}

/// An entry streamed to its end: its decoded size, what is stored after
/// its frame, its stored digest (version 2) and its digest must all be the
/// manifest's; the sink's writer is flushed. Returns the digest.
fn finish_entry(tee: Tee<'_>, m: &ManifestEntry) -> Result<Sha256Digest, Problem> {
    let read = tee.position();
    if read != m.size {
        return Err(Problem::Integrity(format!(
            "decodes to {read} bytes, the manifest says {}",
            m.size
        )));
    }
    let unread = tee.inner().unread();
    if unread > 0 {
        return Err(Problem::Integrity(format!(
            "has {unread} stored bytes after its one zstd frame"
        )));
    }
    // Version 2 binds the bytes as stored: a re-encoding that decodes to
    // the same content is still another file (docs/bundle-format.md [B57]).
    if let (Some(hasher), Some(want)) = (&tee.inner().stored().stored, m.stored_sha256) {
        let got = hasher.clone().finish();
        if hasher.bytes() != m.stored_size || got != want {
            return Err(Problem::Integrity(format!(
                "its {} stored bytes have SHA-256 {got}, the manifest says {} bytes with {want}",
                hasher.bytes(),
                m.stored_size
            )));
        }
    }
    let (_, hasher, branch) = tee.into_parts();
    if let Some(mut w) = branch.into_inner() {
        w.flush()
            .map_err(|e| Problem::Io(format!("the import sink failed: {e}")))?;
    }
    let digest = hasher.map_or_else(|| Hasher::new().finish(), Hasher::finish);
    if digest != m.sha256 {
        return Err(Problem::Integrity(format!(
            "SHA-256 is {digest}, the manifest says {}",
            m.sha256
        )));
    }
    Ok(digest)
}

/// The facts kept so far, against [`ReadLimits::max_facts_bytes`]: each
/// artifact's [`ModelFacts::memory_bytes`] and its place in the list.
#[derive(Debug, Default)]
struct FactsBudget {
    used: u64,
}

impl FactsBudget {
    /// Count one artifact's facts; `Err` once the total is over `max`.
    fn add(&mut self, bytes: u64, max: u64) -> Result<(), u64> {
        let slot = size_of::<(BundlePath, ModelFacts)>() as u64;
        self.used = self.used.saturating_add(bytes).saturating_add(slot);
        if self.used > max {
            Err(self.used)
        } else {
            Ok(())
        }
    }
}

/// The artifact path of an artifact entry.
fn artifact_of(m: &ManifestEntry) -> Result<BundlePath, Verdict> {
    m.artifact_path().ok_or_else(|| {
        Verdict::fail(
            Failure::Malformed,
            format!("entry {} is not an artifact name", m.path),
        )
    })
}

impl Problem {
    /// The verdict on entry `m`.
    fn verdict(self, m: &ManifestEntry) -> Verdict {
        match self {
            Problem::Integrity(why) => integrity(format!("entry {}: {why}", m.path)),
            Problem::Io(why) => Verdict::fail(Failure::Io, format!("entry {}: {why}", m.path)),
        }
    }
}

impl FactsBudget {
    /// [`Self::add`] for entry `m`, as a verdict.
    fn charge(&mut self, m: &ManifestEntry, bytes: u64, max: u64) -> Result<(), Verdict> {
        self.add(bytes, max).map_err(|used| {
            Verdict::fail(
                Failure::Malformed,
                format!(
                    "entry {}: the scan facts of the artifacts up to it take {used} bytes, more than the {max}-byte reader limit",
                    m.path
                ),
            )
        })
    }
}

/// What the SBOM entry `m` (its `bytes`) says that the fresh scan does not.
fn compare_sbom(
    m: &ManifestEntry,
    bytes: &[u8],
    scanned: &Scanned,
    opened: &Opened,
) -> Option<String> {
    sbom_check::compare(
        bytes,
        &scanned.facts,
        &scanned.digest,
        opened.bundle.times.created,
        scanned.zip_unscanned,
    )
    .err()
    .map(|why| format!("{}: {why}", m.path))
}

/// The small entries reach the sink one at a time, as read: the manifest
/// bytes already held, the attestation and each link read again (each must
/// still be the bytes checked). A sink that keeps nothing gets nothing:
/// `verify` holds no attestation while it streams.
fn hand_small_entries(
    bundle: &OpenBundle,
    file: &mut SourceReader,
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

/// The `sbom.consistent` verdict over `artifacts` SBOMs.
fn sbom_verdict(problem: Option<String>, unscanned_zips: &[String], artifacts: usize) -> Verdict {
    match problem {
        Some(why) => integrity(why),
        None if unscanned_zips.is_empty() => Verdict::pass(format!(
            "{artifacts} SBOM(s) agree with a fresh scan of their artifacts"
        )),
        None => Verdict::pass(format!(
            "{artifacts} SBOM(s) agree with a fresh scan of their artifacts; not re-checked: the pickle contents of zstd-encoded zip archive(s) {} (no random access into a compressed entry), only their name, format and size",
            unscanned_zips.join(", ")
        )),
    }
}

/// `entries.digests`: every entry's decoded size and SHA-256 equal the
/// manifest; verified bytes reach `sink`. The fresh scans come back with
/// the `sbom.consistent` verdict.
pub(crate) fn stream(
    opened: &Opened,
    file: &mut SourceReader,
    caps: &Caps,
    jobs: Option<usize>,
    sink: &mut dyn ArtifactSink,
) -> Step<Streamed> {
    let bundle = &opened.bundle;
    let limits = &caps.read;
    let inspect_limits = &caps.scan;
    let mut ahead = if sink.keeps_bytes() {
        BTreeMap::new()
    } else {
        scan_ahead(bundle, file, inspect_limits, limits.max_facts_bytes, jobs)
    };
    let mut budget = FactsBudget::default();
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    // Sized once: a list doubled while it grows holds both copies.
    let artifacts = bundle
        .manifest
        .entries
        .iter()
        .filter(|m| m.role == Role::Artifact)
        .count();
    let mut got = Collected {
        facts: Vec::with_capacity(artifacts),
        pending: None,
        sbom_problem: None,
        unscanned_zips: Vec::new(),
        unrebuilt: Unrebuilt::default(),
    };
    let mut decoded: u64 = 0;
    let mut attestation_entry = None;
    let base = sink.base_files();
    for (i, (m, t)) in bundle
        .manifest
        .entries
        .iter()
        .zip(&bundle.layout.entries)
        .enumerate()
    {
        match m.role {
            Role::Artifact if m.encoding == Encoding::Delta && base.is_none() => {
                got.unrebuilt.artifact(file, t, m, artifact_of(m)?)?;
            }
            Role::Artifact => {
                let artifact = artifact_of(m)?;
                let writer = sink
                    .begin(&artifact, m)
                    .map_err(|e| io_fail(&format!("the import sink refused {artifact}"), &e))?;
                // A result scanned ahead stands only where no writer waits
                // for the bytes.
                let early = match writer {
                    None => ahead.remove(&i),
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
                        &mut buf,
                        inspect_limits,
                        base.as_ref(),
                    )
                    .map(Box::new),
                };
                let scanned = scanned.map_err(|p| p.verdict(m))?;
                sink.finish(&artifact, m)
                    .map_err(|e| io_fail(&format!("the import sink failed on {artifact}"), &e))?;
                budget.charge(m, scanned.facts_bytes, limits.max_facts_bytes)?;
                decoded = decoded.saturating_add(m.size);
                got.pending = Some((artifact, scanned));
            }
            Role::Sbom => {
                let bytes = read_small(bundle, file, t, limits.max_sbom_bytes)?;
                check_small(m, &bytes)?;
                sink.metadata(&m.path, &bytes)
                    .map_err(|e| io_fail(&format!("the import sink failed on {}", m.path), &e))?;
                got.sbom(m, &bytes, opened)?;
            }
            Role::Attestation => {
                // Checked by `attestation.subjects`; read again below only
                // for a sink that keeps it.
                attestation_entry = Some((m, t));
            }
        }
    }
    hand_small_entries(bundle, file, limits, sink, attestation_entry)?;
    Ok(got.finish(decoded, bundle.links.len()))
}

/// What the ordered walk keeps: the fresh facts in manifest order, the
/// artifact whose SBOM comes next, what the SBOMs showed, and the
/// differential artifacts not rebuilt.
struct Collected {
    facts: Vec<(BundlePath, ModelFacts)>,
    pending: Option<(BundlePath, Box<Scanned>)>,
    sbom_problem: Option<String>,
    unscanned_zips: Vec<String>,
    unrebuilt: Unrebuilt,
}

impl Collected {
    /// The SBOM entry `m` (its checked `bytes`), of the artifact before it.
    fn sbom(&mut self, m: &ManifestEntry, bytes: &[u8], opened: &Opened) -> Result<(), Verdict> {
        if self.unrebuilt.take_sbom() {
            // Bound by its digest; nothing rebuilt to compare it with.
            return Ok(());
        }
        let Some((artifact, scanned)) = self.pending.take() else {
            return Err(Verdict::fail(
                Failure::Malformed,
                format!("entry {} follows no artifact", m.path),
            ));
        };
        if self.sbom_problem.is_none() {
            self.sbom_problem = compare_sbom(m, bytes, &scanned, opened);
        }
        if scanned.zip_unscanned {
            self.unscanned_zips.push(artifact.to_string());
        }
        let scanned = *scanned;
        self.facts.push((artifact, scanned.facts));
        Ok(())
    }

    /// The facts, the `sbom.consistent` verdict and `entries.digests`'.
    fn finish(self, decoded: u64, links: usize) -> (Streamed, Verdict) {
        let sbom = self.unrebuilt.sbom_note(sbom_verdict(
            self.sbom_problem,
            &self.unscanned_zips,
            self.facts.len(),
        ));
        let mut detail = format!(
            "{} artifact(s) ({decoded} bytes decoded), their SBOMs, the attestation and {links} link(s) match the manifest",
            self.facts.len(),
        );
        self.unrebuilt.entries_note(&mut detail);
        let streamed = Streamed {
            facts: self.facts,
            sbom,
        };
        (streamed, Verdict::pass(detail))
    }
}
