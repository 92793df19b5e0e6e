//! Raw artifacts hashed and written on worker threads, several files at once.
//!
//! Why: with one thread hashing, pack could at best match `openssl dgst`
//! (the same SHA-256 on one core) and stayed below it on a folder
//! (0.69–0.82× on 2 GiB in 414 files), while model_signing hashes on every
//! CPU. Hashing several files at once needs every file's place in the
//! bundle before its bytes are read, and the layout is sequential: each
//! artifact is followed by its SBOM. Both sizes are known early, though: a
//! raw entry's size is the file's size, and the SBOM's size is known as soon
//! as the header is parsed, because everything in it that depends on the
//! digest has a fixed length (64 hex digits, and a serial number that is a
//! UUID). So the calling thread (the planner, `super::execute`) walks the
//! inputs in bundle order, parses each header and places the artifact's
//! and the SBOM's entries (`super::plan`); the workers here write them: the
//! artifact's tar header, the rest of the artifact, hashed in the same pass,
//! then the SBOM's entry once the digest is known (rendered again and
//! checked to have the size laid out). Disk space is claimed ahead (`fallocate`, see
//! `crate::io::writer::Allocation`).
//!
//! One read per byte still holds: the bytes the parser read are handed to
//! the worker in the buffer they were read into (the head), unhashed and
//! unwritten, and the worker hashes them first, then reads on from the same
//! handle. A header larger than the head buffer is hashed and written by
//! the planner itself from the point it overflows ([`HeadBranch`]), and the
//! hasher's state goes to the worker, so memory stays bounded whatever the
//! header size. The planner reads through the one hashing tee
//! (`crate::io::tee`) in counting mode, with a [`HeadBranch`] as its branch.
//!
//! O_DIRECT with several writers: a direct write and a buffered one to the
//! same page can lose bytes (the page cache copy, written back later,
//! carries stale data over the direct write). So a direct write only ever
//! covers whole pages that lie inside one artifact's data region and that no
//! other thread writes: `[align_up(start), align_down(end))` of the bytes
//! the worker writes itself. Everything else (region edges, tar headers,
//! SBOMs, padding) is written buffered. Buffers are laid out so that a byte
//! at bundle offset `o` sits at a buffer address congruent to `o` modulo the
//! page size, which makes every page-aligned piece of a buffer usable for
//! O_DIRECT as it is.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};

use super::super::Error;
use super::super::manifest::{Encoding, ManifestEntry, Role};
use super::super::path::BundlePath;
use super::super::tar::padded;
use super::{CHUNK_BYTES, CHUNKS_IN_FLIGHT};
use crate::describe::DocumentInfo;
use crate::inspect::ModelFacts;
use crate::io::digest::Hasher;
use crate::io::direct::{self, AlignedChunk, BUFFER_ALIGN};
use crate::io::out::Out;
use crate::io::pool::ChunkPool;
use crate::io::tee::Branch;
use crate::io::writer::{FlushTrigger, write_all_vectored_at};

/// The page: the unit a direct write must own whole (see the module doc).
const PAGE: u64 = BUFFER_ALIGN as u64;

/// The bundle being written: the ordinary handle (a file, or a part set's
/// span: `pack --split`) and, when the filesystem allows it, an O_DIRECT
/// one on the same file.
pub(super) struct Output {
    pub(super) buffered: Out,
    pub(super) direct: Option<File>,
}

/// Bytes the planner read while parsing, not yet hashed nor written: `len`
/// bytes from the buffer's byte `skew`, which is the artifact's first byte.
pub(super) struct Head {
    pub(super) chunk: AlignedChunk,
    pub(super) skew: usize,
    pub(super) len: usize,
    /// Where the planner's head buffers go back to once written.
    pub(super) back: mpsc::Sender<AlignedChunk>,
}

/// The SBOM entry reserved for an artifact.
pub(super) struct SbomSlot {
    pub(super) name: BundlePath,
    /// Its tar header; the entry follows the artifact's padding.
    pub(super) header: [u8; 512],
    pub(super) size: u64,
    pub(super) info: DocumentInfo,
}

/// One raw artifact for a worker to finish.
pub(super) struct RawJob {
    /// Its place among the inputs (results are put back in this order).
    pub(super) index: usize,
    /// The file, for messages.
    pub(super) path: PathBuf,
    /// The artifact's entry name.
    pub(super) entry_name: BundlePath,
    /// The bytes not read yet (at most one more than expected).
    pub(super) source: Box<dyn Read + Send>,
    /// The bytes the parser read, when they fit the head buffer.
    pub(super) head: Option<Head>,
    /// The digest so far: empty unless the header overflowed the head, in
    /// which case the planner wrote (from the start of the data region)
    /// exactly the bytes it hashed, and the tar header too.
    pub(super) hasher: Hasher,
    /// The artifact's tar header, written with its first bytes unless the
    /// planner wrote some.
    pub(super) header: [u8; 512],
    /// Where the artifact's data starts in the bundle.
    pub(super) data_offset: u64,
    /// The file's size at open.
    pub(super) len: u64,
    /// What the parser found; the digest is filled in here.
    pub(super) facts: ModelFacts,
    /// Where its SBOM goes.
    pub(super) sbom: SbomSlot,
}

/// What a finished job adds to the manifest (and, by the artifact's
/// digest, to the attestation).
pub(super) struct RawDone {
    pub(super) artifact: ManifestEntry,
    pub(super) sbom: ManifestEntry,
}

/// A job's outcome, tagged with its input index.
/// `Ok(None)`: stopped because another job failed.
pub(super) type Outcome = (usize, Result<Option<RawDone>, Error>);

/// The worker threads' shared state.
pub(super) struct Shared<'a> {
    pub(super) out: &'a Output,
    jobs: Mutex<mpsc::Receiver<RawJob>>,
    /// Bytes read by workers, not yet reported (the planner reports them:
    /// the progress callback is not `Send`).
    pub(super) read: AtomicU64,
    /// Set on the first failure: the others stop early.
    pub(super) abort: AtomicBool,
}

impl<'a> Shared<'a> {
    /// The state, and the sender the planner submits jobs on (at most
    /// `queued` waiting, so a slow disk holds the planner back).
    pub(super) fn new(out: &'a Output, queued: usize) -> (Self, mpsc::SyncSender<RawJob>) {
        let (tx, rx) = mpsc::sync_channel(queued);
        (
            Self {
                out,
                jobs: Mutex::new(rx),
                read: AtomicU64::new(0),
                abort: AtomicBool::new(false),
            },
            tx,
        )
    }

    fn next_job(&self) -> Option<RawJob> {
        // A poisoned lock means another worker panicked; stop.
        let jobs = self.jobs.lock().ok()?;
        jobs.recv().ok()
    }
}

/// One worker: take jobs until the planner closes the queue, each finished
/// by [`fill`]; its writes go to its own writer thread, so reading and
/// hashing go on while the disk works. Returns the writer's first error.
pub(super) fn worker(
    shared: &Shared<'_>,
    done: &mpsc::Sender<Outcome>,
    flush: FlushTrigger,
) -> io::Result<()> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Piece>(CHUNKS_IN_FLIGHT);
    let writer_stopped = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let result = write_pieces(shared.out, full_rx, flush);
            writer_stopped.store(true, Ordering::Release);
            result
        });
        let mut pool = ChunkPool::new(CHUNKS_IN_FLIGHT, CHUNK_BYTES);
        let mut filler = Filler {
            shared,
            pool: &mut pool,
            writer_stopped: &writer_stopped,
            pieces: &full_tx,
        };
        while let Some(job) = shared.next_job() {
            let index = job.index;
            let result = if shared.abort.load(Ordering::Relaxed) {
                Ok(None)
            } else {
                fill(job, &mut filler)
            };
            if result.is_err() {
                shared.abort.store(true, Ordering::Relaxed);
            }
            if done.send((index, result)).is_err() {
                break;
            }
        }
        drop(full_tx);
        writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("bundle writer thread panicked")))
    })
}

/// A job stopped because another failed.
pub(super) fn stopped_by_failure() -> io::Error {
    io::Error::other("pack stopped by an earlier failure")
}

fn writer_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "bundle writer stopped")
}

/// Bytes for the writer thread: `chunk`'s window from `skew`, `len` bytes,
/// go to bundle offset `offset`; pages inside `direct` may go O_DIRECT.
/// `lead` is written just before them (the artifact's tar header, with its
/// first bytes) and `trail` just after (padding, then the SBOM's header,
/// data and padding, with its last bytes): each neighbour goes out in the
/// same buffered write as the edge it touches. Fewer buffered writes
/// matter here: each takes the inode lock exclusively, so it waits for
/// every direct write in flight (strace: 1 ms per header write when the
/// planner wrote headers on its own).
struct Piece {
    chunk: AlignedChunk,
    skew: usize,
    len: usize,
    offset: u64,
    direct: (u64, u64),
    lead: Option<[u8; 512]>,
    trail: Vec<u8>,
    back: mpsc::Sender<AlignedChunk>,
}

/// A worker's side of its writer thread: where pieces go and the buffers
/// they are made of.
struct Filler<'w, 's> {
    shared: &'w Shared<'s>,
    pool: &'w mut ChunkPool,
    writer_stopped: &'w AtomicBool,
    pieces: &'w mpsc::SyncSender<Piece>,
}

impl Filler<'_, '_> {
    fn send(&self, piece: Piece) -> io::Result<()> {
        self.pieces.send(piece).map_err(|_| writer_gone())
    }

    /// Hash and hand on the rest of `job`'s artifact, from its head on.
    /// Each buffer is filled before it goes to the writer (the head's
    /// buffer too: a 1 MiB file is then one piece, three writes in all),
    /// and the last piece is held back and returned, unclamped: it carries
    /// the padding and the SBOM once the end of the file is confirmed (see
    /// `Piece`). `None`: stopped because another job failed.
    fn read_rest(&mut self, job: &mut RawJob) -> io::Result<Option<Piece>> {
        let (data_offset, len) = (job.data_offset, job.len);
        let end = data_offset.saturating_add(len);
        let written_by_planner = job.hasher.bytes();
        // Whole pages of the region that only this worker writes.
        let direct = (
            data_offset
                .saturating_add(written_by_planner)
                .next_multiple_of(PAGE),
            end - end % PAGE,
        );
        let mut pos = written_by_planner;
        let mut lead = (written_by_planner == 0).then_some(job.header);
        let mut pending = job.head.take().map(|head| {
            job.hasher.update(
                head.chunk
                    .filled(head.skew.saturating_add(head.len))
                    .get(head.skew..)
                    .unwrap_or_default(),
            );
            let piece = Piece {
                chunk: head.chunk,
                skew: head.skew,
                len: head.len,
                offset: data_offset.saturating_add(pos),
                direct,
                lead: lead.take(),
                trail: Vec::new(),
                back: head.back,
            };
            pos = pos.saturating_add(head.len as u64);
            piece
        });
        loop {
            if self.shared.abort.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let mut piece = match pending.take() {
                Some(p) if p.skew.saturating_add(p.len) < p.chunk.len() => p,
                other => {
                    if let Some(full) = other {
                        self.send(clamp(full, data_offset, len))?;
                    }
                    let at = data_offset.saturating_add(pos);
                    Piece {
                        chunk: self.pool.get(self.writer_stopped, writer_gone)?,
                        skew: usize::try_from(at % PAGE).unwrap_or(0),
                        len: 0,
                        offset: at,
                        direct,
                        lead: lead.take(),
                        trail: Vec::new(),
                        back: self.pool.back(),
                    }
                }
            };
            let from = piece.skew.saturating_add(piece.len);
            let window = piece.chunk.window().get_mut(from..).unwrap_or_default();
            let n = loop {
                match job.source.read(window) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                return Ok(Some(piece));
            }
            job.hasher.update(window.get(..n).unwrap_or_default());
            self.shared.read.fetch_add(n as u64, Ordering::Relaxed);
            piece.len = piece.len.saturating_add(n);
            pos = pos.saturating_add(n as u64);
            pending = Some(piece);
        }
    }
}

/// A piece cut to the artifact's end: a file that grew is refused, and its
/// extra bytes are not written over the next entry.
fn clamp(mut piece: Piece, data_offset: u64, len: u64) -> Piece {
    piece.len = writable(piece.offset.saturating_sub(data_offset), piece.len, len);
    piece
}

/// Hash and write the rest of one artifact, then its padding and its SBOM.
/// `None`: stopped because another job failed.
fn fill(mut job: RawJob, filler: &mut Filler<'_, '_>) -> Result<Option<RawDone>, Error> {
    let path = job.path.clone();
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let Some(last) = filler.read_rest(&mut job).map_err(io)? else {
        return Ok(None);
    };
    let RawJob {
        entry_name,
        hasher,
        data_offset,
        len,
        mut facts,
        sbom,
        ..
    } = job;
    read_whole(&path, len, hasher.bytes())?;
    let sha256 = hasher.finish();

    // The SBOM names the artifact by the digest just computed
    // (docs/bundle-format.md: each per-file SBOM names its artifact's
    // SHA-256), in the size reserved for it.
    facts.sha256 = Some(sha256);
    let bytes = render_sbom(&facts, &sbom.info).map_err(|source| Error::Sbom {
        path: path.clone(),
        source,
    })?;
    if bytes.len() as u64 != sbom.size {
        return Err(Error::SbomSizeChanged {
            path,
            reserved: sbom.size,
            actual: bytes.len() as u64,
        });
    }
    let mut trail = zeros(padded(len) - len);
    trail.extend_from_slice(&sbom.header);
    trail.extend_from_slice(&bytes);
    trail.extend(zeros(padded(sbom.size) - sbom.size));
    let mut last = clamp(last, data_offset, len);
    last.trail = trail;
    filler.send(last).map_err(io)?;
    Ok(Some(RawDone {
        artifact: ManifestEntry {
            path: entry_name,
            role: Role::Artifact,
            size: len,
            sha256,
            encoding: Encoding::Raw,
            stored_size: len,
            stored_sha256: Some(sha256),
        },
        sbom: super::small_entry(sbom.name, Role::Sbom, &bytes),
    }))
}

/// An input read to its end must have been `len` bytes, as when it was
/// opened: one that grew or shrank while it was read is refused
/// (docs/bundle-format.md [B18]).
pub(super) fn read_whole(path: &std::path::Path, len: u64, read: u64) -> Result<(), Error> {
    if read != len {
        return Err(Error::InputChanged {
            path: path.to_path_buf(),
            expected: len,
            actual: read,
        });
    }
    Ok(())
}

/// Tar padding: fewer than 512 zero bytes.
fn zeros(n: u64) -> Vec<u8> {
    vec![0u8; usize::try_from(n).unwrap_or(0).min(511)]
}

/// Of `n` bytes read at artifact offset `pos`, how many lie inside an
/// artifact of `len` bytes.
fn writable(pos: u64, n: usize, len: u64) -> usize {
    let room = len.saturating_sub(pos);
    usize::try_from(room).map_or(n, |room| n.min(room))
}

/// The per-file SBOM: CycloneDX JSON of one file's facts.
pub(super) fn render_sbom(
    facts: &ModelFacts,
    info: &DocumentInfo,
) -> Result<Vec<u8>, crate::describe::Error> {
    let mut out = Vec::new();
    crate::describe::cyclonedx::write_json(std::slice::from_ref(facts), info, &mut out)?;
    Ok(out)
}

/// The writer thread of one worker: every piece, in order; whole pages
/// inside the piece's direct range through O_DIRECT, the rest buffered.
fn write_pieces(
    out: &Output,
    pieces: mpsc::Receiver<Piece>,
    mut flush: FlushTrigger,
) -> io::Result<()> {
    let mut direct = out.direct.as_ref();
    for piece in pieces {
        let result = write_piece(&mut direct, &out.buffered, &piece);
        // The reader may be gone (it failed): nothing to reuse then.
        let _ = piece.back.send(piece.chunk);
        result?;
        flush.wrote(piece.len as u64);
    }
    Ok(())
}

fn write_piece(direct: &mut Option<&File>, buffered: &Out, piece: &Piece) -> io::Result<()> {
    let bytes = piece
        .chunk
        .filled(piece.skew.saturating_add(piece.len))
        .get(piece.skew..)
        .unwrap_or_default();
    let start = piece.offset;
    let end = start.saturating_add(bytes.len() as u64);
    // [a, b): the whole pages of this piece inside the direct range. The
    // buffer's layout (byte at offset o at an address ≡ o mod PAGE) makes
    // them page-aligned in memory too.
    let (lo, hi) = piece.direct;
    let a = start.max(lo).next_multiple_of(PAGE).min(end);
    let b = end.min(hi);
    let b = (b - b % PAGE).max(a);
    let at = |o: u64| usize::try_from(o - start).unwrap_or(0);
    let (before, rest) = bytes.split_at(at(a).min(bytes.len()));
    let (middle, after) = rest.split_at(at(b).saturating_sub(at(a)).min(rest.len()));
    let lead: &[u8] = piece.lead.as_ref().map_or(&[], |h| &h[..]);
    let lead_at = start.saturating_sub(lead.len() as u64);
    if middle.is_empty() {
        // Everything is contiguous: one buffered write.
        return write_all_vectored_at(buffered, &[lead, before, after, &piece.trail], lead_at);
    }
    write_all_vectored_at(buffered, &[lead, before], lead_at)?;
    direct::write_all_at(direct, buffered, middle, a)?;
    write_all_vectored_at(buffered, &[after, &piece.trail], b)
}

/// The branch of the planner's tee while it parses a raw artifact's
/// header: what the parser reads is kept, unhashed, in the head buffer for
/// the worker; past the buffer's size the planner hashes and writes
/// (buffered) itself, so a header of any size costs bounded memory.
pub(super) struct HeadBranch<'a> {
    pub(super) head: AlignedChunk,
    pub(super) skew: usize,
    pub(super) kept: usize,
    /// Set once the head overflowed: everything so far is hashed and written.
    pub(super) spilled: Option<Hasher>,
    pub(super) out: &'a Out,
    pub(super) data_offset: u64,
    pub(super) progress: &'a mut dyn FnMut(u64),
}

impl HeadBranch<'_> {
    fn spill(&mut self, more: &[u8]) -> io::Result<()> {
        let hasher = match &mut self.spilled {
            Some(h) => h,
            None => {
                let mut h = Hasher::new();
                let kept = self
                    .head
                    .filled(self.skew.saturating_add(self.kept))
                    .get(self.skew..)
                    .unwrap_or_default();
                h.update(kept);
                self.out.write_all_at(kept, self.data_offset)?;
                self.spilled.insert(h)
            }
        };
        let at = self.data_offset.saturating_add(hasher.bytes());
        hasher.update(more);
        self.out.write_all_at(more, at)
    }
}

impl Branch for HeadBranch<'_> {
    fn take(&mut self, got: &[u8]) -> io::Result<()> {
        let n = got.len();
        (self.progress)(n as u64);
        let room = self.head.len().saturating_sub(self.skew + self.kept);
        if self.spilled.is_none() && n <= room {
            let at = self.skew + self.kept;
            let dst = self.head.window().get_mut(at..at + n).ok_or_else(|| {
                io::Error::other("pack: the head buffer is shorter than laid out")
            })?;
            dst.copy_from_slice(got);
            self.kept += n;
            return Ok(());
        }
        self.spill(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle that refuses writes (opened read-only here: EBADF, as a
    /// full disk gives ENOSPC) fails the job and ends the worker with the
    /// writer's error, instead of leaving it waiting for buffers the
    /// failed writer dropped. The file is larger than the worker's buffer
    /// pool, so the worker must wait for buffers to come back.
    #[test]
    fn a_failing_bundle_write_fails_the_job_and_ends_the_worker()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let bundle = dir.path().join("bundle");
        std::fs::write(&bundle, b"")?;
        let out = Output {
            buffered: Out::File(File::open(&bundle)?),
            direct: None,
        };
        let input = dir.path().join("input");
        let len = (CHUNKS_IN_FLIGHT as u64 + 3) * CHUNK_BYTES as u64;
        std::fs::write(&input, vec![1u8; usize::try_from(len)?])?;
        let (shared, jobs) = Shared::new(&out, 1);
        let (done_tx, done_rx) = mpsc::channel();
        let trigger = FlushTrigger::detached();
        jobs.send(RawJob {
            index: 0,
            path: input.clone(),
            entry_name: BundlePath::new("artifacts/input")?,
            source: Box::new(File::open(&input)?.take(len + 1)),
            head: None,
            hasher: Hasher::new(),
            header: [0; 512],
            data_offset: 512,
            len,
            facts: ModelFacts::default(),
            sbom: SbomSlot {
                name: BundlePath::new("sboms/input.cdx.json")?,
                header: [0; 512],
                size: 0,
                info: DocumentInfo {
                    created: jiff::Timestamp::UNIX_EPOCH,
                    tool_name: "lbom",
                    tool_version: "test",
                },
            },
        })?;
        drop(jobs);
        let ended = std::thread::scope(|s| s.spawn(|| worker(&shared, &done_tx, trigger)).join());
        assert!(matches!(ended, Ok(Err(_))), "{ended:?}");
        let (index, outcome) = done_rx.recv()?;
        assert_eq!(index, 0);
        assert!(outcome.is_err(), "the job succeeded without its bytes");
        Ok(())
    }

    #[test]
    fn writable_never_passes_the_artifact_end() {
        assert_eq!(writable(0, 10, 100), 10);
        assert_eq!(writable(95, 10, 100), 5);
        assert_eq!(writable(100, 1, 100), 0);
        assert_eq!(writable(120, 1, 100), 0);
    }

    /// A piece that starts and ends off page boundaries, with a lead and a
    /// trail: the whole pages in the direct range go O_DIRECT (where the
    /// filesystem allows), the edges buffered with their neighbours; the
    /// file holds exactly the bytes either way.
    #[test]
    fn a_piece_lands_byte_for_byte() -> Result<(), Box<dyn std::error::Error>> {
        for dir in [
            tempfile::tempdir()?,
            tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR"))?,
        ] {
            let path = dir.path().join("f");
            let file = File::create_new(&path)?;
            let direct = direct::open_direct(&path, &file);
            let file = Out::File(file);
            let out = Output {
                buffered: file,
                direct,
            };
            let offset = 3 * 512u64;
            let skew = usize::try_from(offset % PAGE)?;
            let mut chunk = AlignedChunk::new(3 * BUFFER_ALIGN + 512);
            let len = chunk.len() - skew - 100;
            for (i, b) in chunk.window().iter_mut().enumerate() {
                *b = (i % 253) as u8;
            }
            let expected = chunk
                .filled(skew + len)
                .get(skew..)
                .ok_or("slice")?
                .to_vec();
            let (back, _returned) = mpsc::channel();
            let piece = Piece {
                chunk,
                skew,
                len,
                offset,
                direct: (offset.next_multiple_of(PAGE), 4 * PAGE),
                lead: Some([0xab; 512]),
                trail: b"trail".to_vec(),
                back,
            };
            let mut d = out.direct.as_ref();
            write_piece(&mut d, &out.buffered, &piece)?;
            let mut want = vec![0u8; usize::try_from(offset)? - 512];
            want.extend_from_slice(&[0xab; 512]);
            want.extend_from_slice(&expected);
            want.extend_from_slice(b"trail");
            assert!(std::fs::read(&path)? == want, "bytes differ");
        }
        Ok(())
    }
}
