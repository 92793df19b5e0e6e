//! Keeping the disk busy while a writer works: the background flush, the
//! space claimed ahead, and positioned vectored writes.

use std::io;

use crate::io::out::Out;
use std::sync::mpsc;

/// Claim disk space ahead of the regions laid out for writers, with
/// `fallocate`. Why: a direct write into a hole or past the end of the file
/// takes the inode lock exclusively and holds it until the write is done,
/// so pack's workers' direct writes went one at a time and every buffered
/// write waited behind them. Pack none of the 2 GiB bench folder, three
/// runs each: 1.72–2.04 s without, 1.48–1.57 s with (openssl 1.82–1.84 s).
/// Claimed in steps of `ALLOCATE_STEP` (one call per step, not per file);
/// the writer cuts the file to its length at the end.
#[derive(Debug, Default)]
pub(crate) struct Allocation {
    to: u64,
    unsupported: bool,
}

/// How far ahead space is claimed.
const ALLOCATE_STEP: u64 = 64 << 20;

impl Allocation {
    /// Make sure `file` has space claimed up to `end`. A span of parts
    /// (`pack --split`) claims nothing: its files are cut at the part size.
    pub(crate) fn up_to(&mut self, out: &Out, end: u64) -> io::Result<()> {
        if self.unsupported || end <= self.to {
            return Ok(());
        }
        let Some(file) = out.as_file() else {
            self.unsupported = true;
            return Ok(());
        };
        let claim = |to: u64| {
            rustix::fs::fallocate(
                file,
                rustix::fs::FallocateFlags::empty(),
                self.to,
                to.saturating_sub(self.to),
            )
        };
        let ahead = end.saturating_add(ALLOCATE_STEP);
        match claim(ahead) {
            Ok(()) => self.to = ahead,
            // Near a full disk, claim only what is laid out: failing then
            // means the file does not fit, and saying so now is kinder.
            Err(rustix::io::Errno::NOSPC) => {
                claim(end)?;
                self.to = end;
            }
            // A filesystem without fallocate: the writes work, slower.
            Err(_) => self.unsupported = true,
        }
        Ok(())
    }
}

/// Bytes written between two background `fdatasync` calls. Measured on a
/// 1 GiB pack of 209 files (3 interleaved runs, 2 vCPUs, shared machine):
/// final fsync only 1.42–1.67 s; every 16 MiB 1.07–1.26 s; every 64 MiB
/// 1.06–1.51 s; every 256 MiB 1.24–1.43 s (openssl 0.82–0.94 s).
const SYNC_EVERY_BYTES: u64 = 64 << 20;

/// Flushes a file to disk in the background while writing goes on.
///
/// Pack fsyncs the bundle once at the end; done only there, that fsync
/// wrote the whole bundle while nothing else happened: 0.41–0.54 s of a
/// 2.0–2.2 s raw pack of 1 GiB (strace -T). Asking for the flush early, on
/// its own thread, overlaps the disk with the hashing and leaves the final
/// fsync only the tail (0.4–6 ms for the same pack, which took 1.30 s
/// instead of 2.05 s). With O_DIRECT most bytes no longer pass through the
/// page cache; the flush still covers the buffered rest.
/// std has no `sync_file_range`, so this is `fdatasync` on a duplicate
/// handle, from a thread that does nothing else.
///
/// The duplicate shares the open file description, so an error it reports
/// is not reported again to the final fsync: [`Flusher::finish`] returns
/// it, and the caller fails with it.
#[derive(Debug)]
pub(crate) struct Flusher {
    requests: mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

/// A writer's handle on the flusher: counts what it wrote and asks for a
/// flush every `SYNC_EVERY_BYTES`.
#[derive(Debug)]
pub(crate) struct FlushTrigger {
    requests: mpsc::SyncSender<()>,
    since: u64,
}

impl Flusher {
    /// Start the thread, flushing `file` (a duplicate handle).
    pub(crate) fn start(file: Out) -> io::Result<Self> {
        let (requests, incoming) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("lbom-flush".into())
            .spawn(move || {
                for () in incoming {
                    file.sync_data()?;
                }
                Ok(())
            })?;
        Ok(Self { requests, thread })
    }

    /// A handle for one writer.
    pub(crate) fn trigger(&self) -> FlushTrigger {
        FlushTrigger {
            requests: self.requests.clone(),
            since: 0,
        }
    }

    /// Stop the thread (once every trigger is dropped) and return its
    /// first error.
    pub(crate) fn finish(self) -> io::Result<()> {
        drop(self.requests);
        match self.thread.join() {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("bundle flush thread panicked")),
        }
    }
}

impl FlushTrigger {
    /// A trigger that flushes nothing (its requests go nowhere): for tests
    /// of a writer alone.
    #[cfg(test)]
    pub(crate) fn detached() -> Self {
        let (requests, _) = mpsc::sync_channel(1);
        Self { requests, since: 0 }
    }

    /// Count written bytes; past `SYNC_EVERY_BYTES`, ask for a flush.
    pub(crate) fn wrote(&mut self, n: u64) {
        self.since = self.since.saturating_add(n);
        if self.since >= SYNC_EVERY_BYTES {
            self.since = 0;
            // Busy: the next flush covers these bytes too. Gone: it
            // failed, and `Flusher::finish` reports why.
            let _ = self.requests.try_send(());
        }
    }
}

/// `pwritev` of `parts` at `offset` until every byte is written.
pub(crate) fn write_all_vectored_at(out: &Out, parts: &[&[u8]], offset: u64) -> io::Result<()> {
    let file = match out {
        Out::File(file) => file,
        Out::Span(span) => {
            // A span cuts writes at part boundaries itself: one at a time.
            let mut at = offset;
            for part in parts {
                span.write_all_at(part, at)?;
                at = at.saturating_add(part.len() as u64);
            }
            return Ok(());
        }
    };
    let mut parts: Vec<&[u8]> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    let mut offset = offset;
    while !parts.is_empty() {
        let slices: Vec<io::IoSlice<'_>> = parts.iter().map(|p| io::IoSlice::new(p)).collect();
        let mut n = rustix::io::pwritev(file, &slices, offset).map_err(io::Error::from)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the file took no more bytes",
            ));
        }
        offset = offset.saturating_add(n as u64);
        // Drop what was written.
        let mut rest = Vec::with_capacity(parts.len());
        for p in parts {
            if n >= p.len() {
                n -= p.len();
            } else {
                rest.push(p.get(n..).unwrap_or_default());
                n = 0;
            }
        }
        parts = rest;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts of every size, written in one call, land one after another
    /// from the offset.
    #[test]
    fn vectored_parts_land_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = Out::File(std::fs::File::create_new(dir.path().join("f"))?);
        let big = vec![7u8; 3 << 20];
        write_all_vectored_at(&file, &[b"ab", b"", &big, b"z"], 5)?;
        let got = std::fs::read(dir.path().join("f"))?;
        let mut want = vec![0u8; 5];
        want.extend_from_slice(b"ab");
        want.extend_from_slice(&big);
        want.push(b'z');
        assert!(got == want, "bytes differ");
        Ok(())
    }
}
