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

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt as _;

use super::report::Failure;
use super::structure::error_text;
use super::verdict::{Step, Verdict};
use crate::bundle::attestation::{self, AttestationError};
use crate::bundle::tar::TarEntry;
use crate::bundle::zstd_frame::{self, BlockWalk, FrameError};
use crate::bundle::{BundlePath, Encoding, ManifestEntry, OpenBundle, ReadLimits, Role, read};
use crate::inspect::digest::{Hasher, READ_BUFFER_BYTES, Sha256Digest};
use crate::inspect::{Format, ModelFacts, ScanOptions, SeekRead};
use crate::limits::Limits;

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

pub(super) fn io_fail(what: &str, e: &io::Error) -> Verdict {
    Verdict::fail(Failure::Io, format!("{what}: {e}"))
}

/// Read a small entry whole, bounded; reader errors keep their class.
pub(crate) fn read_small(
    bundle: &OpenBundle,
    file: &mut File,
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
pub(crate) fn attestation(bundle: &OpenBundle, file: &mut File, limits: &ReadLimits) -> Step<()> {
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

/// An entry's decoded bytes.
enum Source<'f> {
    Raw(Stored<'f>),
    Zstd(Box<zstd::stream::read::Decoder<'static, BufReader<Stored<'f>>>>),
}

impl Source<'_> {
    fn stored(&self) -> &Stored<'_> {
        match self {
            Source::Raw(r) => r,
            Source::Zstd(d) => d.get_ref().get_ref(),
        }
    }

    /// Stored bytes not consumed: data after the zstd frame.
    fn unread(&self) -> u64 {
        match self {
            Source::Raw(r) => r.inner.left(),
            Source::Zstd(d) => (d.get_ref().buffer().len() as u64)
                .saturating_add(d.get_ref().get_ref().inner.left()),
        }
    }
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Raw(r) => r.read(buf),
            Source::Zstd(d) => d.read(buf),
        }
    }
}

/// Why streaming one entry stopped.
pub(super) enum Problem {
    Integrity(String),
    Io(String),
}

/// Hashes every decoded byte once, bounds them by the manifest size, and
/// passes them on to the sink's writer.
struct Tee<'f> {
    source: Source<'f>,
    hasher: Hasher,
    limit: u64,
    writer: Option<Box<dyn Write + Send>>,
    problem: Option<Problem>,
}

impl Read for Tee<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // A problem is final: a reader that swallowed the error must not
        // get the bytes after a gap.
        if self.problem.is_some() {
            return Err(io::Error::other("entry streaming already failed"));
        }
        // Never ask for more than one byte past the manifest size: enough
        // to notice an entry that decodes to more, never more to hold.
        let room = self
            .limit
            .saturating_sub(self.hasher.bytes())
            .saturating_add(1);
        let want = out.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let Some(window) = out.get_mut(..want) else {
            return Ok(0);
        };
        let n = self.source.read(window)?;
        let got = window.get(..n).unwrap_or_default();
        if self.hasher.bytes().saturating_add(n as u64) > self.limit {
            self.problem = Some(Problem::Integrity(format!(
                "decodes to more than the manifest's {} bytes",
                self.limit
            )));
            return Err(io::Error::other("entry is longer than its manifest size"));
        }
        self.hasher.update(got);
        if let Some(w) = self.writer.as_mut()
            && let Err(e) = w.write_all(got)
        {
            self.problem = Some(Problem::Io(format!("the import sink failed: {e}")));
            return Err(e);
        }
        Ok(n)
    }
}

/// A view of one entry's stored bytes by positioned reads: the decoded
/// stream's source, and (seekable) the zip reader's random access into a
/// raw entry (its directory is at the end). Positioned reads share no file
/// position, so streams and threads do not disturb each other.
struct Window<'f> {
    file: &'f File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Window<'_> {
    /// Bytes not read yet.
    fn left(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }
}

impl Read for Window<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left()).unwrap_or(usize::MAX));
        let Some(dst) = buf.get_mut(..want) else {
            return Ok(0);
        };
        if dst.is_empty() {
            return Ok(0);
        }
        let n = self
            .file
            .read_at(dst, self.start.saturating_add(self.pos))?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for Window<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before the entry start")
        })?;
        self.pos = target;
        Ok(target)
    }
}

/// One artifact, streamed: fresh facts, and whether a zip's pickles could
/// not be scanned (no random access into a zstd entry).
pub(super) struct Scanned {
    pub facts: ModelFacts,
    pub digest: Sha256Digest,
    pub zip_unscanned: bool,
    /// What `facts` take in memory ([`ModelFacts::memory_bytes`]): what it
    /// counts against [`ReadLimits::max_facts_bytes`].
    pub facts_bytes: u64,
}

/// Open an entry's decoded stream.
fn open_source<'f>(file: &'f File, t: &TarEntry, m: &ManifestEntry) -> Result<Source<'f>, Problem> {
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
fn classify(tee: &mut Tee<'_>, e: &io::Error) -> Problem {
    if let Some(p) = tee.problem.take() {
        return p;
    }
    if let Some(disk) = &tee.source.stored().failed {
        return Problem::Io(disk.clone());
    }
    if let Some(frame) = &tee.source.stored().frame_error {
        return Problem::Integrity(frame.to_string());
    }
    match tee.source {
        Source::Zstd(_) => Problem::Integrity(format!("does not decode as zstd: {e}")),
        Source::Raw(_) => Problem::Io(e.to_string()),
    }
}

/// Stream one artifact through the inspector and the hash, into `writer`.
#[allow(
    clippy::too_many_arguments,
    reason = "two call sites, each argument its own"
)]
pub(super) fn scan_artifact(
    file: &File,
    t: &TarEntry,
    m: &ManifestEntry,
    artifact: &BundlePath,
    writer: Option<Box<dyn Write + Send>>,
    buf: &mut [u8],
    limits: &Limits,
) -> Result<Scanned, Problem> {
    let source = open_source(file, t, m)?;
    let raw = matches!(source, Source::Raw(_));
    let mut tee = Tee {
        source,
        hasher: Hasher::new(),
        limit: m.size,
        writer,
        problem: None,
    };
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
        Err(e) => return Err(classify(&mut tee, &e)),
    };
    if let Some(p) = tee.problem.take() {
        return Err(p);
    }
    loop {
        match tee.read(buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(classify(&mut tee, &e)),
        }
    }
    let digest = check_drained(&mut tee, m)?;
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

/// After an artifact was read to its end: its decoded size, what follows
/// its zstd frame, its stored bytes (format version 2) and its SHA-256
/// against the manifest; the writer flushed. Returns the digest.
fn check_drained(tee: &mut Tee<'_>, m: &ManifestEntry) -> Result<Sha256Digest, Problem> {
    let read = tee.hasher.bytes();
    if read != m.size {
        return Err(Problem::Integrity(format!(
            "decodes to {read} bytes, the manifest says {}",
            m.size
        )));
    }
    let unread = tee.source.unread();
    if unread > 0 {
        return Err(Problem::Integrity(format!(
            "has {unread} stored bytes after its one zstd frame"
        )));
    }
    // Version 2 binds the bytes as stored: a re-encoding that decodes to
    // the same content is still another file (docs/bundle-format.md [B57]).
    if let (Some(hasher), Some(want)) = (&tee.source.stored().stored, m.stored_sha256) {
        let got = hasher.clone().finish();
        if hasher.bytes() != m.stored_size || got != want {
            return Err(Problem::Integrity(format!(
                "its {} stored bytes have SHA-256 {got}, the manifest says {} bytes with {want}",
                hasher.bytes(),
                m.stored_size
            )));
        }
    }
    if let Some(mut w) = tee.writer.take() {
        w.flush()
            .map_err(|e| Problem::Io(format!("the import sink failed: {e}")))?;
    }
    let digest = std::mem::take(&mut tee.hasher).finish();
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
pub(super) struct FactsBudget {
    used: u64,
}

impl FactsBudget {
    /// Count one artifact's facts; `Err` once the total is over `max`.
    pub(super) fn add(&mut self, bytes: u64, max: u64) -> Result<(), u64> {
        let slot = size_of::<(BundlePath, ModelFacts)>() as u64;
        self.used = self.used.saturating_add(bytes).saturating_add(slot);
        if self.used > max {
            Err(self.used)
        } else {
            Ok(())
        }
    }
}

/// The artifacts scanned on several threads, by index of their manifest
/// entry. Missing: other entries, and artifacts no thread took because an
/// earlier one had failed or the facts held went over
/// `max_facts_bytes` (the ordered walk stops at that point before it needs
/// them, and scans any it does need itself).
pub(super) fn scan_ahead(
    bundle: &OpenBundle,
    file: &File,
    limits: &Limits,
    max_facts_bytes: u64,
) -> BTreeMap<usize, Result<Box<Scanned>, Problem>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    let work: Vec<(usize, &ManifestEntry, &TarEntry, BundlePath)> = bundle
        .manifest
        .entries
        .iter()
        .zip(&bundle.layout.entries)
        .enumerate()
        // Raw entries only: a zstd decoder may hold a window of up to
        // 2^ZSTD_WINDOW_LOG_MAX bytes, and a hostile bundle must not get one
        // per thread; zstd entries stay on the ordered walk, one at a time.
        // A raw artifact's header is inspected here too, so up to four
        // headers' worth of parser memory (each within `Limits`, and each
        // made of bytes the bundle really holds) can be live at once
        // instead of one: the price of hashing on every CPU.
        .filter(|(_, (m, _))| m.role == Role::Artifact && m.encoding == Encoding::Raw)
        .filter_map(|(i, (m, t))| m.artifact_path().map(|p| (i, m, t, p)))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_SCAN_THREADS)
        .min(work.len());
    if threads < 2 {
        return BTreeMap::new();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // The facts the threads hold, against the same cap as the ordered walk:
    // a thread stops once the total is over it, so what waits here for the
    // walk is at most the cap and one artifact per thread.
    let facts_held = AtomicU64::new(0);
    // Each result goes straight into the one map the walk takes it from:
    // no per-thread list to gather and copy.
    // Boxed: the map's nodes stay small, and each result's memory is
    // given back as the walk takes it.
    let results: Mutex<BTreeMap<usize, Result<Box<Scanned>, Problem>>> =
        Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = vec![0u8; READ_BUFFER_BYTES];
                    // Items are taken in bundle order, so every artifact before
                    // a failed one was taken (and finished) before the stop.
                    while !failed.load(Ordering::Acquire) {
                        let Some((i, m, t, artifact)) =
                            work.get(next.fetch_add(1, Ordering::AcqRel))
                        else {
                            break;
                        };
                        let result = scan_artifact(file, t, m, artifact, None, &mut buf, limits)
                            .map(Box::new);
                        let over = match &result {
                            Ok(s) => {
                                let add = s.facts_bytes;
                                facts_held
                                    .fetch_add(add, Ordering::AcqRel)
                                    .saturating_add(add)
                                    > max_facts_bytes
                            }
                            Err(_) => true,
                        };
                        if over {
                            failed.store(true, Ordering::Release);
                        }
                        // A poisoned map (a thread panicked holding it) keeps
                        // what it has; the walk scans anything missing itself.
                        match results.lock() {
                            Ok(mut map) => map.insert(*i, result),
                            Err(poisoned) => poisoned.into_inner().insert(*i, result),
                        };
                    }
                })
            })
            .collect();
        // Joined by hand: a thread that panicked leaves its artifacts to
        // the ordered walk instead of taking the verifier down.
        for h in handles {
            let _ = h.join();
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// At most this many threads scan ahead: beyond it the disk, not SHA-256,
/// bounds a verify on the machines lbom targets.
const MAX_SCAN_THREADS: usize = 4;
