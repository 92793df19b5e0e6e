//! The import's writer thread: staged files are written and flushed to disk
//! on a second thread while the verifier hashes the next bytes.
//!
//! Before it, the verifier's own thread wrote every chunk and fsynced every
//! file (artifacts and each small SBOM) in turn: an import of a 512 MiB
//! bundle of 209 files took 0.85 s against 0.44 s for `openssl dgst` over
//! the same bytes (tests/bench/quarantine_bench.sh). Here the verifier only
//! hands over full buffers; writes and size checks happen in order on this
//! thread, each finished file's fsync on a third one, and
//! [`Background::finish`] waits for all of them (and reports the first
//! error) before anything is committed.
//! Buffers are recycled through a small pool: fresh 1 MiB allocations cost
//! page faults on every chunk (pack measured 0.25 s for that on 1 GiB).
//! They are page-aligned, so that an artifact of 1 MiB or more is written
//! with O_DIRECT (`crate::directio`): `perf` put 64 % of a buffered 1 GiB
//! import's samples in the kernel's page-cache copy.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::fsutil;
use super::handle::DirHandle;
use crate::directio::{self, AlignedChunk};

/// Size of one buffer handed to the thread (the verifier reads 1 MiB).
const CHUNK_BYTES: usize = 1 << 20;
/// Jobs queued before the verifier waits for the writer (bounds memory to
/// about this many chunks, plus the pool).
const JOBS_IN_FLIGHT: usize = 4;
/// Spare buffers kept for reuse.
const POOL_MAX: usize = JOBS_IN_FLIGHT + 2;
/// Artifacts from this size on are written with O_DIRECT (whole aligned
/// chunks; the tail buffered). The writes wait on their own thread, not in
/// the hashing pipeline, so a synchronous 1 MiB write costs the verifier
/// nothing, while the page-cache copy it saves costs CPU the hashing needs
/// (`perf`: 26 % of a 1 GiB import's samples with only the files of 16 MiB
/// and more direct). Pack writes every whole page of a raw artifact
/// directly, whatever its size (`bundle::pack::raw`).
const DIRECT_FROM_BYTES: u64 = CHUNK_BYTES as u64;
/// Written files waiting for their fsync (each holds one descriptor).
const SYNCS_IN_FLIGHT: usize = 64;

type Pool = Arc<Mutex<Vec<AlignedChunk>>>;

enum Job {
    /// The next artifact's file, created as `name` in `dir`, `size` bytes long when complete; `Data` goes into it.
    Open {
        file: File,
        dir: DirHandle,
        name: OsString,
        size: u64,
    },
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
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Background {
    /// Start the thread.
    pub(crate) fn start() -> io::Result<Self> {
        let (jobs, incoming) = mpsc::sync_channel(JOBS_IN_FLIGHT);
        let pool: Pool = Arc::new(Mutex::new(Vec::new()));
        let returned = Arc::clone(&pool);
        let thread = std::thread::Builder::new()
            .name("lbom-import-writer".into())
            .spawn(move || run(incoming, &returned))?;
        Ok(Self {
            jobs: Some(jobs),
            pool,
            thread: Some(thread),
        })
    }

    fn send(&self, job: Job) -> io::Result<()> {
        match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|_| stopped()),
            None => Err(stopped()),
        }
    }

    /// A writer for the artifact `file`, just created as `name` in `dir`,
    /// which the manifest says holds `size` bytes: what is written through
    /// it lands in `file`, in order.
    pub(crate) fn writer(
        &self,
        file: File,
        dir: DirHandle,
        name: OsString,
        size: u64,
    ) -> io::Result<ChunkWriter> {
        self.send(Job::Open {
            file,
            dir,
            name,
            size,
        })?;
        let jobs = self.jobs.clone().ok_or_else(stopped)?;
        Ok(ChunkWriter {
            jobs,
            pool: Arc::clone(&self.pool),
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

/// The verifier's sink stopped taking bytes; the reason comes from
/// [`Background::finish`].
fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the import writer stopped")
}

/// Each written file's fsync runs on a third thread, so the writer goes on
/// with the next file while the disk catches up: with the fsync on the
/// writer, the bounded queue stalled the verifier for the whole writeback
/// of every large artifact. `finish` still waits for every fsync.
fn run(incoming: Receiver<Job>, pool: &Pool) -> io::Result<()> {
    let (to_sync, syncs) = mpsc::sync_channel::<File>(SYNCS_IN_FLIGHT);
    let syncer = std::thread::Builder::new()
        .name("lbom-import-sync".into())
        .spawn(move || -> io::Result<()> {
            for file in syncs {
                file.sync_all()?;
            }
            Ok(())
        })?;
    let written = write_all_jobs(incoming, pool, &to_sync);
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
    pool: &Pool,
    to_sync: &SyncSender<File>,
) -> io::Result<()> {
    let sync = |file: File| {
        to_sync
            .send(file)
            .map_err(|_| io::Error::other("the import sync thread stopped"))
    };
    let mut current: Option<Artifact> = None;
    let no_file = || io::Error::other("import writer: data for no open file");
    for job in incoming {
        match job {
            Job::Open {
                file,
                dir,
                name,
                size,
            } => {
                // Reopened O_DIRECT through the folder's handle, never by
                // path (docs/store.md, "No link is ever followed").
                let direct = if size >= DIRECT_FROM_BYTES {
                    dir.reopen_direct(&name, &file)
                } else {
                    None
                };
                current = Some(Artifact {
                    file,
                    direct,
                    offset: 0,
                });
            }
            Job::Data(buf, n) => {
                let a = current.as_mut().ok_or_else(no_file)?;
                let bytes = buf.filled(n);
                directio::write_all_at(&mut a.direct, &a.file, bytes, a.offset)?;
                a.offset = a.offset.saturating_add(bytes.len() as u64);
                if let Ok(mut spare) = pool.lock()
                    && spare.len() < POOL_MAX
                {
                    spare.push(buf);
                }
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
                fsutil::make_read_only(&file)?;
                sync(file)?;
            }
            Job::Small { mut file, bytes } => {
                file.write_all(&bytes)?;
                fsutil::make_read_only(&file)?;
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

/// Collects what the verifier writes into pooled 1 MiB buffers and hands
/// each full one to the thread.
pub(crate) struct ChunkWriter {
    jobs: SyncSender<Job>,
    pool: Pool,
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

/// A spare buffer from the pool, or a new one.
fn pooled(pool: &Pool) -> AlignedChunk {
    pool.lock()
        .ok()
        .and_then(|mut p| p.pop())
        .unwrap_or_else(|| AlignedChunk::new(CHUNK_BYTES))
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let buf = self.buf.get_or_insert_with(|| pooled(&self.pool));
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

    /// The folder's handle and a new file in it.
    fn create(
        dir: &std::path::Path,
        name: &str,
    ) -> Result<(DirHandle, File), Box<dyn std::error::Error>> {
        let handle = DirHandle::open_root(dir)?;
        let file = handle.create_file(name)?;
        Ok((handle, file))
    }

    type R = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn files_arrive_whole_and_in_order() -> R {
        let dir = tempfile::tempdir()?;
        let mut bg = Background::start()?;
        let big: Vec<u8> = (0..3 * CHUNK_BYTES + 17).map(|i| (i % 251) as u8).collect();
        for (name, data) in [("a", big.as_slice()), ("b", b"small".as_slice())] {
            let path = dir.path().join(name);
            let (handle, file) = create(dir.path(), name)?;
            let mut w = bg.writer(file, handle, name.into(), data.len() as u64)?;
            // Odd write sizes cross buffer boundaries.
            for piece in data.chunks(4099) {
                w.write_all(piece)?;
            }
            drop(w);
            bg.seal(path, data.len() as u64)?;
        }
        let small = dir.path().join("c");
        bg.small(create(dir.path(), "c")?.1, b"sbom".to_vec())?;
        bg.finish()?;
        assert_eq!(std::fs::read(dir.path().join("a"))?, big);
        assert_eq!(std::fs::read(dir.path().join("b"))?, b"small");
        assert_eq!(std::fs::read(&small)?, b"sbom");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&small)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o444);
        Ok(())
    }

    /// An artifact large enough for O_DIRECT, on the disk the repository
    /// is on (not /tmp, which may be tmpfs), written in odd pieces: the
    /// file holds exactly the bytes, the unaligned tail included.
    #[test]
    fn a_large_artifact_written_direct_holds_exactly_its_bytes() -> R {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR"))?;
        let len = usize::try_from(DIRECT_FROM_BYTES)? * 3 + CHUNK_BYTES / 2 + 77;
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let path = dir.path().join("large");
        let mut bg = Background::start()?;
        let (handle, file) = create(dir.path(), "large")?;
        let mut w = bg.writer(file, handle, "large".into(), len as u64)?;
        for piece in data.chunks(65_537) {
            w.write_all(piece)?;
        }
        drop(w);
        bg.seal(path.clone(), len as u64)?;
        bg.finish()?;
        assert!(std::fs::read(&path)? == data, "large artifact bytes differ");
        Ok(())
    }

    #[test]
    fn a_failed_write_or_a_size_lie_is_reported_by_finish() -> R {
        let dir = tempfile::tempdir()?;
        // A file opened read-only: the thread's write fails.
        let path = dir.path().join("ro");
        std::fs::write(&path, b"")?;
        let mut bg = Background::start()?;
        // Announced small, so no O_DIRECT handle (opened by path, writable)
        // stands in for the read-only one.
        let handle = DirHandle::open_root(dir.path())?;
        let mut w = bg.writer(File::open(&path)?, handle, "ro".into(), 1)?;
        let _ = w.write_all(&vec![1u8; CHUNK_BYTES]);
        drop(w);
        let _ = bg.seal(path.clone(), CHUNK_BYTES as u64);
        assert!(bg.finish().is_err());
        // Fewer bytes than the size sealed.
        let mut bg = Background::start()?;
        let path = dir.path().join("short");
        let (handle, file) = create(dir.path(), "short")?;
        let mut w = bg.writer(file, handle, "short".into(), 4)?;
        w.write_all(b"abc")?;
        drop(w);
        bg.seal(path, 4)?;
        let err = bg.finish().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("holds 3 bytes, the manifest says 4"), "{err}");
        Ok(())
    }
}
