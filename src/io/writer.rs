//! The background writer: files written and flushed to disk on a second
//! thread while the caller hashes the next bytes (import stages a version
//! through it), and the two disk helpers pack's writers share with it:
//! the background flush ([`Flusher`]) and the space claimed ahead
//! ([`Allocation`]).
//!
//! Before the writer thread, import's verifier wrote every chunk and
//! fsynced every file (artifacts and each small SBOM) in turn: an import of
//! a 512 MiB bundle of 209 files took 0.85 s against 0.44 s for `openssl
//! dgst` over the same bytes (tests/bench/quarantine_bench.sh). Here the
//! caller only hands over full buffers; writes and size checks happen in
//! order on this thread, each finished file's fsync on a third one, and
//! [`Background::finish`] waits for all of them (and reports the first
//! error) before anything is committed.
//! Buffers come from the one chunk pool (`super::pool`). They are
//! page-aligned, so that a file the caller reopened O_DIRECT is written
//! that way (`super::direct`): `perf` put 64 % of a buffered 1 GiB
//! import's samples in the kernel's page-cache copy.

use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::direct::{self, AlignedChunk};
use super::pool::ChunkPool;

mod flush;

pub(crate) use flush::{Allocation, FlushTrigger, Flusher, write_all_vectored_at};

/// Size of one buffer handed to the thread (the verifier reads 1 MiB).
const CHUNK_BYTES: usize = super::digest::READ_BUFFER_BYTES;
/// Jobs queued before the verifier waits for the writer (bounds memory to
/// about this many chunks, plus the pool).
const JOBS_IN_FLIGHT: usize = 4;
/// Buffers in all: the queued ones, the one being written and the one
/// being filled.
const POOL_MAX: usize = JOBS_IN_FLIGHT + 2;
/// Artifacts from this size on are written with O_DIRECT (whole aligned
/// chunks; the tail buffered). The writes wait on their own thread, not in
/// the hashing pipeline, so a synchronous 1 MiB write costs the verifier
/// nothing, while the page-cache copy it saves costs CPU the hashing needs
/// (`perf`: 26 % of a 1 GiB import's samples with only the files of 16 MiB
/// and more direct). Pack writes every whole page of a raw artifact
/// directly, whatever its size.
pub(crate) const DIRECT_FROM_BYTES: u64 = CHUNK_BYTES as u64;
/// Written files waiting for their fsync (each holds one descriptor).
const SYNCS_IN_FLIGHT: usize = 64;

type Pool = Arc<Mutex<ChunkPool>>;

enum Job {
    /// The next file, with its O_DIRECT handle when the caller opened one;
    /// `Data` goes into it.
    Open { file: File, direct: Option<File> },
    /// The first bytes of the buffer are the next bytes of the open artifact.
    Data(AlignedChunk, usize),
    /// The open artifact is complete: check its size, make it read-only,
    /// fsync it.
    Seal { path: PathBuf, size: u64 },
    /// A whole small file (SBOM, attestation, manifest, link).
    Small { file: File, bytes: Vec<u8> },
}

/// The writer thread of one staged import.
pub(crate) struct Background {
    jobs: Option<SyncSender<Job>>,
    pool: Pool,
    /// Set when the thread ends: a writer waiting for a buffer gives up.
    stopped: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Background {
    /// Start the thread; every finished file is given `mode` (the store's
    /// read-only mode) before its fsync.
    pub(crate) fn start(mode: u32) -> io::Result<Self> {
        let (jobs, incoming) = mpsc::sync_channel(JOBS_IN_FLIGHT);
        let pool = ChunkPool::new(POOL_MAX, CHUNK_BYTES);
        let back = pool.back();
        let stopped = Arc::new(AtomicBool::new(false));
        let on_exit = Arc::clone(&stopped);
        let thread = std::thread::Builder::new()
            .name("lbom-import-writer".into())
            .spawn(move || {
                let result = run(incoming, &back, mode);
                on_exit.store(true, Ordering::Release);
                result
            })?;
        Ok(Self {
            jobs: Some(jobs),
            pool: Arc::new(Mutex::new(pool)),
            stopped,
            thread: Some(thread),
        })
    }

    fn send(&self, job: Job) -> io::Result<()> {
        match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|_| stopped()),
            None => Err(stopped()),
        }
    }

    /// A writer for `file` (new and empty; `direct`, when given, an
    /// O_DIRECT handle on the same file): what is written through it lands
    /// in `file`, in order.
    pub(crate) fn writer(&self, file: File, direct: Option<File>) -> io::Result<ChunkWriter> {
        self.send(Job::Open { file, direct })?;
        let jobs = self.jobs.clone().ok_or_else(stopped)?;
        Ok(ChunkWriter {
            jobs,
            pool: Arc::clone(&self.pool),
            stopped: Arc::clone(&self.stopped),
            buf: None,
            filled: 0,
        })
    }

    /// The artifact last opened is complete with `size` bytes.
    pub(crate) fn seal(&self, path: PathBuf, size: u64) -> io::Result<()> {
        self.send(Job::Seal { path, size })
    }

    /// Write, seal and fsync a small file.
    pub(crate) fn small(&self, file: File, bytes: Vec<u8>) -> io::Result<()> {
        self.send(Job::Small { file, bytes })
    }

    /// Wait until everything queued is on disk; the first error, if any.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        drop(self.jobs.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the import writer thread panicked")),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Background(import writer thread)")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // An import abandoned mid-way: stop the thread; its error, if any,
        // no longer matters (the staged folder is discarded).
        let _ = self.finish();
    }
}

/// The caller's sink stopped taking bytes; the reason comes from
/// [`Background::finish`].
fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the import writer stopped")
}

/// Each written file's fsync runs on a third thread, so the writer goes on
/// with the next file while the disk catches up: with the fsync on the
/// writer, the bounded queue stalled the verifier for the whole writeback
/// of every large artifact. `finish` still waits for every fsync.
fn run(incoming: Receiver<Job>, back: &mpsc::Sender<AlignedChunk>, mode: u32) -> io::Result<()> {
    let (to_sync, syncs) = mpsc::sync_channel::<File>(SYNCS_IN_FLIGHT);
    let syncer = std::thread::Builder::new()
        .name("lbom-import-sync".into())
        .spawn(move || -> io::Result<()> {
            for file in syncs {
                file.sync_all()?;
            }
            Ok(())
        })?;
    let written = write_all_jobs(incoming, back, mode, &to_sync);
    drop(to_sync);
    let synced = syncer
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the import sync thread panicked")));
    // A failed fsync ends the sync thread, after which the writer only saw
    // "the import sync thread stopped": the fsync's own error is the cause.
    synced.and(written)
}

fn write_all_jobs(
    incoming: Receiver<Job>,
    back: &mpsc::Sender<AlignedChunk>,
    mode: u32,
    to_sync: &SyncSender<File>,
) -> io::Result<()> {
    let seal = |file: &File| file.set_permissions(Permissions::from_mode(mode));
    let sync = |file: File| {
        to_sync
            .send(file)
            .map_err(|_| io::Error::other("the import sync thread stopped"))
    };
    let mut current: Option<Artifact> = None;
    let no_file = || io::Error::other("import writer: data for no open file");
    for job in incoming {
        match job {
            Job::Open { file, direct } => {
                current = Some(Artifact {
                    file,
                    direct,
                    offset: 0,
                });
            }
            Job::Data(buf, n) => {
                let a = current.as_mut().ok_or_else(no_file)?;
                let bytes = buf.filled(n);
                direct::write_all_at(&mut a.direct, &a.file, bytes, a.offset)?;
                a.offset = a.offset.saturating_add(bytes.len() as u64);
                // The caller may be gone (it failed): nothing to reuse then.
                let _ = back.send(buf);
            }
            Job::Seal { path, size } => {
                let Artifact { file, direct, .. } = current.take().ok_or_else(no_file)?;
                drop(direct);
                let len = file.metadata()?.len();
                if len != size {
                    return Err(io::Error::other(format!(
                        "{} holds {len} bytes, the manifest says {size}",
                        path.display()
                    )));
                }
                seal(&file)?;
                sync(file)?;
            }
            Job::Small { mut file, bytes } => {
                file.write_all(&bytes)?;
                seal(&file)?;
                sync(file)?;
            }
        }
    }
    Ok(())
}

/// The artifact being written: its file, the O_DIRECT handle on it (large
/// files on a filesystem that allows it) and where the next bytes go.
struct Artifact {
    file: File,
    direct: Option<File>,
    offset: u64,
}

/// Collects what the caller writes into pooled 1 MiB buffers and hands
/// each full one to the thread.
pub(crate) struct ChunkWriter {
    jobs: SyncSender<Job>,
    pool: Pool,
    stopped: Arc<AtomicBool>,
    /// The buffer being filled (taken from the pool at the first byte).
    buf: Option<AlignedChunk>,
    /// How many of its bytes are filled.
    filled: usize,
}

impl ChunkWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        let Some(full) = self.buf.take().filter(|_| self.filled > 0) else {
            return Ok(());
        };
        let n = std::mem::take(&mut self.filled);
        self.jobs.send(Job::Data(full, n)).map_err(|_| stopped())
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let buf = match &mut self.buf {
            Some(buf) => buf,
            None => {
                // A poisoned pool: another writer of this import panicked.
                let mut pool = self.pool.lock().map_err(|_| stopped())?;
                self.buf.insert(pool.get(&self.stopped, stopped)?)
            }
        };
        let room = buf.window().get_mut(self.filled..).unwrap_or_default();
        let take = room.len().min(data.len());
        if let (Some(dst), Some(src)) = (room.get_mut(..take), data.get(..take)) {
            dst.copy_from_slice(src);
        }
        self.filled = self.filled.saturating_add(take);
        if self.filled >= CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

impl Drop for ChunkWriter {
    fn drop(&mut self) {
        // The last partial buffer; a failure here shows in
        // `Background::finish`, which every import calls.
        let _ = self.send_buffer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new file in `dir`, and its O_DIRECT handle when `direct` and the
    /// filesystem allows it.
    fn create(
        dir: &std::path::Path,
        name: &str,
        direct: bool,
    ) -> Result<(File, Option<File>), Box<dyn std::error::Error>> {
        let path = dir.join(name);
        let file = File::create_new(&path)?;
        let handle = if direct {
            direct::open_direct(&path, &file)
        } else {
            None
        };
        Ok((file, handle))
    }

    type R = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn files_arrive_whole_and_in_order() -> R {
        let dir = tempfile::tempdir()?;
        let mut bg = Background::start(0o444)?;
        let big: Vec<u8> = (0..3 * CHUNK_BYTES + 17).map(|i| (i % 251) as u8).collect();
        for (name, data) in [("a", big.as_slice()), ("b", b"small".as_slice())] {
            let path = dir.path().join(name);
            let (file, direct) = create(dir.path(), name, false)?;
            let mut w = bg.writer(file, direct)?;
            // Odd write sizes cross buffer boundaries.
            for piece in data.chunks(4099) {
                w.write_all(piece)?;
            }
            drop(w);
            bg.seal(path, data.len() as u64)?;
        }
        let small = dir.path().join("c");
        bg.small(create(dir.path(), "c", false)?.0, b"sbom".to_vec())?;
        bg.finish()?;
        assert_eq!(std::fs::read(dir.path().join("a"))?, big);
        assert_eq!(std::fs::read(dir.path().join("b"))?, b"small");
        assert_eq!(std::fs::read(&small)?, b"sbom");
        let mode = std::fs::metadata(&small)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o444);
        Ok(())
    }

    /// A file large enough for O_DIRECT, on the disk the repository is on
    /// (not /tmp, which may be tmpfs), written in odd pieces: the file holds
    /// exactly the bytes, the unaligned tail included. More chunks than the
    /// pool holds: the writer waits for buffers to come back.
    #[test]
    fn a_large_file_written_direct_holds_exactly_its_bytes() -> R {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR"))?;
        let len = usize::try_from(DIRECT_FROM_BYTES)? * (POOL_MAX + 3) + CHUNK_BYTES / 2 + 77;
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let path = dir.path().join("large");
        let mut bg = Background::start(0o444)?;
        let (file, direct) = create(dir.path(), "large", true)?;
        let mut w = bg.writer(file, direct)?;
        for piece in data.chunks(65_537) {
            w.write_all(piece)?;
        }
        drop(w);
        bg.seal(path.clone(), len as u64)?;
        bg.finish()?;
        assert!(std::fs::read(&path)? == data, "large file bytes differ");
        Ok(())
    }

    /// A write that fails (a read-only handle here, as a full disk fails)
    /// ends the thread; a writer with more to write than the pool holds
    /// then gives up instead of waiting for buffers the thread dropped, and
    /// `finish` reports the cause. So does a file shorter than sealed.
    #[test]
    fn a_failed_write_or_a_size_lie_is_reported_by_finish() -> R {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ro");
        std::fs::write(&path, b"")?;
        let mut bg = Background::start(0o444)?;
        let mut w = bg.writer(File::open(&path)?, None)?;
        let refused = w.write_all(&vec![1u8; (POOL_MAX + JOBS_IN_FLIGHT + 2) * CHUNK_BYTES]);
        assert!(refused.is_err(), "every byte was taken by a failed writer");
        drop(w);
        let _ = bg.seal(path.clone(), CHUNK_BYTES as u64);
        assert!(bg.finish().is_err());
        // Fewer bytes than the size sealed.
        let mut bg = Background::start(0o444)?;
        let path = dir.path().join("short");
        let (file, direct) = create(dir.path(), "short", false)?;
        let mut w = bg.writer(file, direct)?;
        w.write_all(b"abc")?;
        drop(w);
        bg.seal(path, 4)?;
        let err = bg.finish().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("holds 3 bytes, the manifest says 4"), "{err}");
        Ok(())
    }
}
