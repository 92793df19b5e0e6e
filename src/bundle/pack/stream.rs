//! A zstd artifact, packed on the planner's thread: its stored size is
//! known only once it is compressed, so nothing after it can be placed
//! before. The encoder itself runs on `zstd_workers()` threads.
//!
//! Every byte read from the input is hashed once by the hashing tee
//! (`crate::io::tee`), whose branch ([`Pipe`]) hands the same buffer to a
//! writer thread that writes it into the bundle through zstd. Before this,
//! one thread read, hashed and wrote in turn: a 1 GiB raw pack spent
//! ~0.72 s hashing plus ~0.49 s in `write(2)` back to back (strace -c: 1035
//! writes, 470 µs each); with the writes on a second thread they overlap
//! the hashing.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::super::Error;
use super::super::manifest::{Encoding, ManifestEntry, Role};
use super::execute::{Context, Layout, Opened, Stream};
use super::plan::Kind;
use super::{CHUNKS_IN_FLIGHT, raw, small_entry};
use crate::inspect::ModelFacts;
use crate::io::digest::{Hasher, Sha256Digest};
use crate::io::direct::AlignedChunk;
use crate::io::pool::ChunkPool;
use crate::io::tee::{Branch, HashingTee, HashingWriter, Lending};
use crate::io::writer::FlushTrigger;
use crate::limits::Limits;

/// Pack one zstd artifact and its SBOM.
pub(super) fn write_zstd<R: Read>(
    layout: &mut Layout<'_>,
    stream: &mut Stream,
    mut opened: Opened<'_>,
    source: R,
    level: i32,
    ctx: &Context<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<raw::RawDone, Error> {
    let path = opened.input.source.clone();
    let len = opened.len;
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let tar_err = |source| Error::Tar {
        path: path.clone(),
        source,
    };
    // Refused before a byte is written, not after.
    layout.check(Kind::Artifact, Some(&opened.input.name), 0, &path)?;
    let open = layout.tw.begin_entry(&opened.entry_name).map_err(tar_err)?;
    // The stored bytes' SHA-256, which a version 2 manifest binds
    // (docs/bundle-format.md [B57]).
    let mut sink = HashingWriter::new(layout.tw.data());
    let mut enc = zstd::stream::write::Encoder::new(&mut sink, level).map_err(io)?;
    enc.multithread(zstd_workers()).map_err(io)?;
    enc.include_checksum(true).map_err(io)?;
    enc.set_pledged_src_size(Some(len)).map_err(io)?;
    let (facts, read, sha256, enc) =
        inspect_through_pipe(source, enc, stream, &mut opened, ctx.limits, progress).map_err(io)?;
    enc.finish().map_err(io)?;
    let (_, stored) = sink.into_parts();
    let stored_size = stored.bytes();
    let stored_sha256 = stored.finish();
    raw::read_whole(&path, len, read)?;
    let mut facts = opened.take_facts(facts)?;
    let written = layout.tw.finish_entry(open, stored_size).map_err(tar_err)?;
    layout.placed_as_written(
        Kind::Artifact,
        &opened.entry_name,
        Some(&opened.input.name),
        &written,
        &path,
    )?;
    // The SBOM names the artifact by the digest the pipeline computed
    // (docs/bundle-format.md: each per-file SBOM names its artifact's SHA-256).
    facts.sha256 = Some(sha256);
    let sbom = raw::render_sbom(&facts, ctx.info).map_err(|source| Error::Sbom {
        path: path.clone(),
        source,
    })?;
    layout.add_small(Kind::Sbom, &opened.sbom_name, &sbom, &path)?;
    Ok(raw::RawDone {
        artifact: ManifestEntry {
            path: opened.entry_name,
            role: Role::Artifact,
            size: len,
            sha256,
            encoding: Encoding::Zstd,
            stored_size,
            stored_sha256: Some(stored_sha256),
        },
        sbom: small_entry(opened.sbom_name, Role::Sbom, &sbom),
    })
}

/// Inspect `source` while a second thread writes every byte of it into
/// `sink`; returns the facts, the bytes read, their SHA-256 and the sink.
fn inspect_through_pipe<R: Read, W: Write + Send>(
    source: R,
    sink: W,
    stream: &mut Stream,
    opened: &mut Opened<'_>,
    limits: &Limits,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(ModelFacts, u64, Sha256Digest, W)> {
    let (full_tx, full_rx) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
    let writer_stopped = AtomicBool::new(false);
    let back = stream.pool.back();
    let flusher = &mut stream.flusher;
    let result = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let result = write_chunks(sink, full_rx, &back, flusher);
            writer_stopped.store(true, Ordering::Release);
            result
        });
        let pipe = Pipe {
            full: full_tx,
            pool: &mut stream.pool,
            writer_stopped: &writer_stopped,
            progress,
        };
        let mut tee = HashingTee::with_branch(source, true, pipe);
        let facts = opened
            .parse(&mut tee, limits)
            .and_then(|facts| tee.drain_lent().map(|()| facts));
        let read = tee.position();
        let (_, hasher, pipe) = tee.into_parts();
        // Closing the channel ends the writer's loop.
        drop(pipe);
        let sink = writer
            .join()
            .map_err(|_| io::Error::other("bundle writer thread panicked"));
        // The writer's own error first: the reader only saw a closed channel.
        let sink = sink??;
        let facts = facts?;
        let digest = hasher.map_or_else(|| Hasher::new().finish(), Hasher::finish);
        Ok((facts, read, digest, sink))
    });
    // Every buffer back into the pool; one lost on an error path is
    // forgotten, so the count stays true.
    stream.pool.settle();
    result
}

/// The tee's branch on the zstd path: full buffers go to the writer thread
/// (with their filled length) and come back to the pool once written.
struct Pipe<'a> {
    full: mpsc::SyncSender<(AlignedChunk, usize)>,
    pool: &'a mut ChunkPool,
    writer_stopped: &'a AtomicBool,
    progress: &'a mut dyn FnMut(u64),
}

impl Branch for Pipe<'_> {
    /// What the inspector reads (the header, in small pieces): copied into
    /// pooled buffers so the writer thread can own them.
    fn take(&mut self, mut rest: &[u8]) -> io::Result<()> {
        while !rest.is_empty() {
            let mut buf = self.lend()?;
            let window = buf.window();
            let take = rest.len().min(window.len());
            let (head, tail) = rest.split_at(take);
            window
                .get_mut(..take)
                .ok_or_else(|| io::Error::other("pack: a pooled buffer is shorter than its size"))?
                .copy_from_slice(head);
            self.give(buf, take)?;
            rest = tail;
        }
        Ok(())
    }
}

impl Lending for Pipe<'_> {
    fn lend(&mut self) -> io::Result<AlignedChunk> {
        self.pool.get(self.writer_stopped, writer_gone)
    }

    fn give(&mut self, chunk: AlignedChunk, n: usize) -> io::Result<()> {
        (self.progress)(n as u64);
        self.full.send((chunk, n)).map_err(|_| writer_gone())
    }

    fn unused(&mut self, chunk: AlignedChunk) {
        self.pool.put(chunk);
    }
}

/// The writer thread stopped early; its own error is reported on join.
fn writer_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "bundle writer stopped")
}

/// The writer thread: write every full buffer, in order, tell the flusher,
/// then return the sink.
fn write_chunks<W: Write>(
    mut sink: W,
    full: mpsc::Receiver<(AlignedChunk, usize)>,
    back: &mpsc::Sender<AlignedChunk>,
    flusher: &mut FlushTrigger,
) -> io::Result<W> {
    for (buf, n) in full {
        sink.write_all(buf.filled(n))?;
        // The reader may have finished and dropped its end: nothing to reuse.
        let _ = back.send(buf);
        flusher.wrote(n as u64);
    }
    Ok(sink)
}

/// zstd worker threads: fixed ≥ 1 so output never depends on the machine
/// (zstd's output is the same for any worker count ≥ 1, not for 0).
fn zstd_workers() -> u32 {
    std::thread::available_parallelism()
        .map_or(1, |n| u32::try_from(n.get().min(8)).unwrap_or(1))
        .max(1)
}
