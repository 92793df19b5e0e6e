//! The executor: every input read once, in bundle order, its entries
//! written where the plan (`super::plan`) puts them.
//!
//! The calling thread (the planner) walks the inputs in bundle order and
//! parses each header. A raw artifact's entries are placed at once (its
//! size is the file's, its SBOM's size is known from the parse) and the
//! rest of the file is hashed and written by worker threads, several files
//! at once (`super::raw`). A zstd artifact is packed here (`super::stream`),
//! through a tee whose every byte goes to the encoder while the inspector
//! parses; its header is written last, over a placeholder, once the stored
//! size is known. Disk space is claimed ahead and the bundle flushed in the
//! background (`crate::io::writer`).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt as _, MetadataExt as _};
use std::path::Path;
use std::sync::mpsc;

use super::super::manifest::{Encoding, ManifestEntry};
use super::super::path::BundlePath;
use super::super::tar::{TarEntry, TarWriter};
use super::super::{Error, UnsafeInput};
use super::plan::{Kind, Placed, Plan};
use super::walk::Input;
use super::{
    AUTO_MAX_RATIO, AUTO_SAMPLE_BYTES, CHUNK_BYTES, CHUNKS_IN_FLIGHT, Compression,
    DEFAULT_ZSTD_LEVEL, MAX_PACK_WORKERS, artifact_entry_name, raw, sbom_entry_name, stream,
};
use crate::describe::DocumentInfo;
use crate::inspect::{ModelFacts, ScanOptions};
use crate::io::digest::{Hasher, Sha256Digest};
use crate::io::direct::BUFFER_ALIGN;
use crate::io::pool::{ChunkPool, POLL};
use crate::io::tee::HashingTee;
use crate::io::writer::{Allocation, FlushTrigger, Flusher};
use crate::limits::Limits;

/// What every input needs besides the input.
pub(super) struct Context<'a> {
    /// The bundle being written, for messages about writing it.
    pub(super) output: &'a Path,
    pub(super) compress: Compression,
    pub(super) limits: &'a Limits,
    pub(super) info: &'a DocumentInfo,
    pub(super) workers: usize,
}

/// The bundle being written: the tar writer, the plan it follows, and the
/// handles the workers write through.
pub(super) struct Bundle {
    pub(super) tw: TarWriter,
    pub(super) plan: Plan,
    pub(super) out: raw::Output,
}

impl Bundle {
    /// The tar writer and the plan, borrowed together.
    pub(super) fn layout(&mut self) -> Layout<'_> {
        Layout {
            tw: &mut self.tw,
            plan: &mut self.plan,
        }
    }
}

/// The tar writer and the plan it follows, borrowed apart from the output
/// handles (which the workers hold meanwhile).
pub(super) struct Layout<'b> {
    pub(super) tw: &'b mut TarWriter,
    pub(super) plan: &'b mut Plan,
}

impl Layout<'_> {
    /// Place the next entry and move the tar writer past it (its bytes are
    /// written by other handles).
    fn place(
        &mut self,
        kind: Kind,
        name: &BundlePath,
        artifact: Option<&BundlePath>,
        size: u64,
        input: &Path,
    ) -> Result<Placed, Error> {
        let placed = self
            .plan
            .place(kind, name, artifact, size)
            .map_err(|e| plan_error(input, &e))?;
        self.tw
            .skip_to(placed.entry.end_offset())
            .map_err(|source| Error::Io {
                path: input.to_path_buf(),
                source,
            })?;
        Ok(placed)
    }

    /// Write a whole small entry (an SBOM of a zstd artifact, the
    /// attestation, the manifest) where the plan puts it.
    pub(super) fn add_small(
        &mut self,
        kind: Kind,
        name: &BundlePath,
        bytes: &[u8],
        input: &Path,
    ) -> Result<(), Error> {
        self.plan
            .check(kind, None, bytes.len() as u64)
            .map_err(|e| plan_error(input, &e))?;
        let written = self
            .tw
            .add_bytes(name, bytes)
            .map_err(|source| Error::Tar {
                path: input.to_path_buf(),
                source,
            })?;
        self.placed_as_written(kind, name, None, &written, input)
    }

    /// Record in the plan an entry the tar writer wrote itself, and check
    /// they agree on where it lies.
    pub(super) fn placed_as_written(
        &mut self,
        kind: Kind,
        name: &BundlePath,
        artifact: Option<&BundlePath>,
        written: &TarEntry,
        input: &Path,
    ) -> Result<(), Error> {
        let placed = self
            .plan
            .place(kind, name, artifact, written.size)
            .map_err(|e| plan_error(input, &e))?;
        if placed.entry != *written {
            return Err(Error::Layout {
                path: input.to_path_buf(),
                message: "the bundle was written elsewhere than planned (a bug in lbom)".into(),
            });
        }
        Ok(())
    }

    /// Check that an entry may come next before writing it.
    pub(super) fn check(
        &self,
        kind: Kind,
        artifact: Option<&BundlePath>,
        size: u64,
        input: &Path,
    ) -> Result<(), Error> {
        self.plan
            .check(kind, artifact, size)
            .map_err(|e| plan_error(input, &e))
    }
}

/// A plan's refusal, about one input.
fn plan_error(input: &Path, e: &super::plan::PlanError) -> Error {
    Error::Layout {
        path: input.to_path_buf(),
        message: e.to_string(),
    }
}

/// What carries over from one input to the next on the planner: the zstd
/// path's buffers and handle on the background flush, the raw path's head
/// buffers, and the disk space claimed so far.
pub(super) struct Stream {
    pub(super) pool: ChunkPool,
    pub(super) flusher: FlushTrigger,
    pub(super) allocated: Allocation,
    /// Heads in jobs waiting, in jobs being worked on, and in writers'
    /// queues; they come back as they are written.
    pub(super) heads: ChunkPool,
}

/// Hashing threads for raw artifacts: one per CPU, at most
/// `MAX_PACK_WORKERS` (more would only queue on the disk).
pub(super) fn worker_count(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
        .clamp(1, usize::from(MAX_PACK_WORKERS))
}

pub(super) type Written = (Vec<ManifestEntry>, Vec<(BundlePath, Sha256Digest)>);

/// The outcomes of every input, in bundle order, as they arrive from the
/// planner and the workers.
struct Outcomes {
    done: mpsc::Receiver<raw::Outcome>,
    slots: Vec<Option<raw::RawDone>>,
    failures: Vec<(usize, Error)>,
}

impl Outcomes {
    fn record(&mut self, (index, outcome): raw::Outcome) {
        match outcome {
            Ok(Some(done)) => self.finished(index, done),
            Ok(None) => {}
            Err(e) => self.failures.push((index, e)),
        }
    }

    fn finished(&mut self, index: usize, done: raw::RawDone) {
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = Some(done);
        }
    }

    fn take_arrived(&mut self) {
        while let Ok(outcome) = self.done.try_recv() {
            self.record(outcome);
        }
    }

    /// The manifest entries and the attestation's subjects, in order; the
    /// failure of the earliest input in bundle order, whichever thread saw
    /// it first.
    fn into_written(self, inputs: &[Input]) -> Result<Written, Error> {
        if let Some((_, first)) = self.failures.into_iter().min_by_key(|(i, _)| *i) {
            return Err(first);
        }
        let mut entries = Vec::with_capacity(inputs.len().saturating_mul(2).saturating_add(2));
        let mut subjects = Vec::with_capacity(inputs.len());
        for (input, slot) in inputs.iter().zip(self.slots) {
            let done = slot.ok_or_else(|| worker_lost(&input.source))?;
            subjects.push((input.name.clone(), done.artifact.sha256));
            entries.push(done.artifact);
            entries.push(done.sbom);
        }
        Ok((entries, subjects))
    }
}

/// Report what the workers read since the last report (the progress
/// callback is not `Send`, so the planner calls it).
fn report(shared: &raw::Shared<'_>, progress: &mut dyn FnMut(u64)) {
    let n = shared.read.swap(0, std::sync::atomic::Ordering::Relaxed);
    if n > 0 {
        progress(n);
    }
}

/// Write every input's entries (artifact, then SBOM) in bundle order; raw
/// artifacts are finished on worker threads (`raw`), zstd ones here.
/// Returns the manifest entries and the attestation's subjects, in order.
pub(super) fn write_inputs(
    bundle: &mut Bundle,
    flusher: &Flusher,
    inputs: &[Input],
    ctx: &Context<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Written, Error> {
    let (shared, jobs) = raw::Shared::new(&bundle.out, ctx.workers);
    let (done_tx, done_rx) = mpsc::channel::<raw::Outcome>();
    let mut outcomes = Outcomes {
        done: done_rx,
        slots: inputs.iter().map(|_| None).collect(),
        failures: Vec::new(),
    };
    let mut disk_failure: Option<Error> = None;
    let mut stream = Stream {
        pool: ChunkPool::new(CHUNKS_IN_FLIGHT, CHUNK_BYTES),
        flusher: flusher.trigger(),
        allocated: Allocation::default(),
        heads: ChunkPool::new(2 * ctx.workers + 2, CHUNK_BYTES + BUFFER_ALIGN),
    };
    std::thread::scope(|scope| {
        let shared = &shared;
        let workers: Vec<_> = (0..ctx.workers)
            .map(|_| {
                let done = done_tx.clone();
                let trigger = flusher.trigger();
                scope.spawn(move || raw::worker(shared, &done, trigger))
            })
            .collect();
        drop(done_tx);
        let mut planner = Planner {
            layout: Layout {
                tw: &mut bundle.tw,
                plan: &mut bundle.plan,
            },
            stream: &mut stream,
            ctx,
            shared,
        };
        planner.run(inputs, &jobs, &workers, &mut outcomes, progress);
        // No more jobs: the workers finish what they hold, then stop.
        drop(jobs);
        loop {
            match outcomes.done.recv_timeout(POLL) {
                Ok(outcome) => outcomes.record(outcome),
                Err(mpsc::RecvTimeoutError::Timeout) => report(shared, progress),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        report(shared, progress);
        for worker in workers {
            let result = worker
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("pack worker thread panicked")));
            if let (Err(source), None) = (result, &disk_failure) {
                disk_failure = Some(Error::Io {
                    path: ctx.output.to_path_buf(),
                    source,
                });
            }
        }
    });
    drop(stream);
    // A failed write to the bundle (a full disk, say) is the cause; the
    // jobs it stopped only saw their writer go.
    if let Some(cause) = disk_failure {
        return Err(cause);
    }
    outcomes.into_written(inputs)
}

/// The calling thread's side of the executor: opens, parses and places
/// each input, then hands raw ones to the workers.
struct Planner<'p, 's> {
    layout: Layout<'p>,
    stream: &'p mut Stream,
    ctx: &'p Context<'p>,
    shared: &'s raw::Shared<'s>,
}

impl Planner<'_, '_> {
    /// Every input in order, until the first failure.
    fn run(
        &mut self,
        inputs: &[Input],
        jobs: &mpsc::SyncSender<raw::RawJob>,
        workers: &[std::thread::ScopedJoinHandle<'_, io::Result<()>>],
        outcomes: &mut Outcomes,
        progress: &mut dyn FnMut(u64),
    ) {
        for (index, input) in inputs.iter().enumerate() {
            outcomes.take_arrived();
            report(self.shared, progress);
            if !outcomes.failures.is_empty() {
                return;
            }
            match self.input(input, index, progress) {
                Ok(Planned::Done(done)) => outcomes.finished(index, *done),
                Ok(Planned::Job(job)) => {
                    submit(*job, jobs, workers, outcomes, self.shared, progress);
                }
                Err(e) => {
                    self.shared
                        .abort
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    outcomes.failures.push((index, e));
                    return;
                }
            }
        }
    }

    /// Open one input, check it is the file listed, choose its encoding and
    /// either pack it here (zstd) or place its entries and parse its header
    /// for a worker to finish (raw).
    fn input(
        &mut self,
        input: &Input,
        index: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Planned, Error> {
        let (opened, source, encoding, level) = open_input(input, self.ctx.compress)?;
        match encoding {
            Encoding::Raw => {
                let job = self.raw(opened, source, index, progress)?;
                Ok(Planned::Job(Box::new(job)))
            }
            Encoding::Zstd => {
                let done = stream::write_zstd(
                    &mut self.layout,
                    self.stream,
                    opened,
                    source,
                    level,
                    self.ctx,
                    progress,
                )?;
                Ok(Planned::Done(Box::new(done)))
            }
            // A full bundle stores no recipe: `pack --base` writes them
            // after a full pack (`super::differential`).
            Encoding::Delta => Err(Error::Layout {
                path: input.source.clone(),
                message: "a full pack chose a delta encoding (a bug in lbom)".into(),
            }),
        }
    }

    /// A raw artifact: place its entry, parse its header through a
    /// [`raw::HeadBranch`], place its SBOM's entry (sized with a placeholder
    /// digest of the same length as the real one), claim the disk space,
    /// and return the job that writes them.
    fn raw<R: Read + Send + 'static>(
        &mut self,
        mut opened: Opened<'_>,
        source: R,
        index: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<raw::RawJob, Error> {
        let path = opened.input.source.clone();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let shared = self.shared;
        let artifact = self.layout.place(
            Kind::Artifact,
            &opened.entry_name,
            Some(&opened.input.name),
            opened.len,
            &path,
        )?;
        let data_offset = artifact.entry.data_offset;
        let (facts, source, head, hasher) =
            self.parse_head(&mut opened, source, &artifact, progress)?;
        let mut facts = opened.take_facts(facts)?;
        facts.sha256 = Some(Sha256Digest([0; 32]));
        let placeholder =
            raw::render_sbom(&facts, self.ctx.info).map_err(|source| Error::Sbom {
                path: path.clone(),
                source,
            })?;
        let sbom = self.layout.place(
            Kind::Sbom,
            &opened.sbom_name,
            None,
            placeholder.len() as u64,
            &path,
        )?;
        self.stream
            .allocated
            .up_to(&shared.out.buffered, sbom.entry.end_offset())
            .map_err(io)?;
        Ok(raw::RawJob {
            index,
            path: path.clone(),
            entry_name: opened.entry_name,
            source: Box::new(source),
            head,
            header: artifact.header,
            hasher,
            data_offset,
            len: opened.len,
            facts,
            sbom: raw::SbomSlot {
                name: opened.sbom_name,
                header: sbom.header,
                size: sbom.entry.size,
                info: *self.ctx.info,
            },
        })
    }

    /// Parse a raw artifact's header through the tee, its bytes kept in a
    /// head buffer for the worker (or, past the buffer, hashed and written
    /// here). Returns the facts, the rest of the source, the head and the
    /// digest so far.
    fn parse_head<R: Read>(
        &mut self,
        opened: &mut Opened<'_>,
        source: R,
        artifact: &Placed,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(ModelFacts, R, Option<raw::Head>, Hasher), Error> {
        let shared = self.shared;
        let io = |source| Error::Io {
            path: opened.input.source.clone(),
            source,
        };
        let data_offset = artifact.entry.data_offset;
        let skew = usize::try_from(data_offset % BUFFER_ALIGN as u64).unwrap_or(0);
        let head = self
            .stream
            .heads
            .get(&shared.abort, raw::stopped_by_failure)
            .map_err(io)?;
        let branch = raw::HeadBranch {
            head,
            skew,
            kept: 0,
            spilled: None,
            out: &shared.out.buffered,
            data_offset,
            progress,
        };
        let mut tee = HashingTee::with_branch(source, false, branch);
        let facts = opened.parse(&mut tee, self.ctx.limits).map_err(io)?;
        let (source, _, branch) = tee.into_parts();
        match branch.spilled {
            Some(hasher) => {
                self.stream.heads.put(branch.head);
                // The planner wrote the first bytes itself; the header goes
                // with them.
                shared
                    .out
                    .buffered
                    .write_all_at(&artifact.header, artifact.entry.header_offset)
                    .map_err(io)?;
                Ok((facts, source, None, hasher))
            }
            None => {
                let head = raw::Head {
                    chunk: branch.head,
                    skew,
                    len: branch.kept,
                    back: self.stream.heads.back(),
                };
                Ok((facts, source, Some(head), Hasher::new()))
            }
        }
    }
}

/// Hand a job to the workers: wait for room in the queue, taking outcomes
/// meanwhile.
fn submit(
    mut job: raw::RawJob,
    jobs: &mpsc::SyncSender<raw::RawJob>,
    workers: &[std::thread::ScopedJoinHandle<'_, io::Result<()>>],
    outcomes: &mut Outcomes,
    shared: &raw::Shared<'_>,
    progress: &mut dyn FnMut(u64),
) {
    let index = job.index;
    loop {
        // The receiver lives in `shared`: the queue is only ever full,
        // never closed.
        match jobs.try_send(job) {
            Ok(()) => return,
            Err(mpsc::TrySendError::Full(back) | mpsc::TrySendError::Disconnected(back)) => {
                job = back;
            }
        }
        if workers
            .iter()
            .all(std::thread::ScopedJoinHandle::is_finished)
        {
            outcomes.failures.push((index, worker_lost(&job.path)));
            return;
        }
        if let Ok(outcome) = outcomes.done.recv_timeout(POLL) {
            outcomes.record(outcome);
        }
        report(shared, progress);
    }
}

/// A file whose identity changed between listing and opening.
fn replaced(path: &Path) -> Error {
    Error::UnsafeInput {
        path: path.to_path_buf(),
        reason: UnsafeInput::Replaced,
    }
}

/// Every worker stopped with jobs left (only a panic does that).
fn worker_lost(path: &Path) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::other("pack worker stopped before finishing this file"),
    }
}

/// An input, planned: finished here (zstd) or handed to a worker (raw).
enum Planned {
    Done(Box<raw::RawDone>),
    Job(Box<raw::RawJob>),
}

/// The input's bytes not read yet: the sample read to choose the encoding,
/// then the rest of the file (at most one byte more than expected, so a
/// growing file is noticed).
type Source = io::Chain<io::Cursor<Vec<u8>>, io::Take<File>>;

/// Open one input and check it is the file listed; read the sample and
/// choose its encoding.
fn open_input(
    input: &Input,
    compress: Compression,
) -> Result<(Opened<'_>, Source, Encoding, i32), Error> {
    let path = &input.source;
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() || (meta.dev(), meta.ino()) != input.identity {
        return Err(replaced(path));
    }
    let len = meta.len();
    let mut file = file.take(len.saturating_add(1));
    let mut sample = Vec::with_capacity(
        AUTO_SAMPLE_BYTES.min(usize::try_from(len).unwrap_or(AUTO_SAMPLE_BYTES)),
    );
    if compress == Compression::Auto {
        (&mut file)
            .take(AUTO_SAMPLE_BYTES as u64)
            .read_to_end(&mut sample)
            .map_err(io)?;
    }
    let (encoding, level) = decide_encoding(compress, &sample);
    let name_error = |source| Error::InputName {
        path: path.clone(),
        source,
    };
    let entry_name = artifact_entry_name(&input.name, encoding).map_err(name_error)?;
    // A second handle, read only if the file turns out to be a zip archive
    // (its directory is at the end; inspect reads it nowhere else). Opening
    // it costs one syscall per file; it is checked to be the same file.
    let random_access = File::open(path).map_err(io)?;
    let same = random_access
        .metadata()
        .map(|m| (m.dev(), m.ino()) == input.identity)
        .map_err(io)?;
    if !same {
        return Err(replaced(path));
    }
    let sbom_name = sbom_entry_name(&input.name).map_err(name_error)?;
    let opened = Opened {
        input,
        len,
        entry_name,
        sbom_name,
        random_access,
    };
    Ok((opened, io::Cursor::new(sample).chain(file), encoding, level))
}

/// An input opened and checked, with its entry names.
pub(super) struct Opened<'a> {
    pub(super) input: &'a Input,
    pub(super) len: u64,
    pub(super) entry_name: BundlePath,
    pub(super) sbom_name: BundlePath,
    /// For the zip reader (see `open_input`).
    pub(super) random_access: File,
}

impl Opened<'_> {
    /// The file's own name, which the SBOM reports.
    pub(super) fn file_name(&self) -> String {
        self.input
            .name
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Parse the file's header from `reader` (parse only: the caller's
    /// pipeline hashes).
    pub(super) fn parse(&mut self, reader: impl Read, limits: &Limits) -> io::Result<ModelFacts> {
        let file_name = self.file_name();
        crate::inspect::inspect_reader(
            reader,
            self.len,
            &file_name,
            Some(&mut self.random_access),
            &PARSE_ONLY,
            limits,
            &mut |_| {},
        )
    }

    /// Facts from an inspector run that hashed nothing (the pack pipeline
    /// hashes): checked to describe a file of the size opened, then named
    /// as the bundle names it.
    pub(super) fn take_facts(&self, facts: ModelFacts) -> Result<ModelFacts, Error> {
        if facts.file_size_bytes != self.len || facts.sha256.is_some() {
            return Err(Error::InspectIncomplete {
                path: self.input.source.clone(),
            });
        }
        let mut facts = facts;
        facts.model_path = self.input.name.as_str().to_owned();
        facts.model_filename = self.file_name();
        Ok(facts)
    }
}

/// The inspector's options inside pack: parse only. The pipeline hashes,
/// so the inspector stops reading once it has the header.
pub(super) const PARSE_ONLY: ScanOptions = ScanOptions {
    hash: false,
    jobs: Some(1),
};

pub(super) fn decide_encoding(compress: Compression, sample: &[u8]) -> (Encoding, i32) {
    match compress {
        Compression::None => (Encoding::Raw, 0),
        Compression::Zstd(level) => (Encoding::Zstd, level),
        Compression::Auto => {
            if sample.is_empty() {
                return (Encoding::Raw, 0);
            }
            let compressed =
                zstd::bulk::compress(sample, DEFAULT_ZSTD_LEVEL).map_or(usize::MAX, |c| c.len());
            #[allow(
                clippy::cast_precision_loss,
                reason = "a ratio; sizes ≤ 1 MiB are exact in f64"
            )]
            let ratio = compressed as f64 / sample.len() as f64;
            if ratio > AUTO_MAX_RATIO {
                (Encoding::Raw, 0)
            } else {
                (Encoding::Zstd, DEFAULT_ZSTD_LEVEL)
            }
        }
    }
}
