//! The one pool of page-aligned chunks that the bundle and store writers
//! recycle their buffers through.
//!
//! Why a pool: allocating a fresh 1 MiB buffer per chunk or per file cost a
//! 1 GiB pack of 209 files ~0.25 s of system time (page faults on fresh
//! memory, 859 `brk` calls; strace -c). Why bounded: the buffers in flight
//! between a reader and a writer thread are the memory a pack or an import
//! holds, and tests/memory_bounds.rs caps it. Why page-aligned: every
//! chunk's window may go to disk with O_DIRECT as it is (`super::direct`).
//!
//! A chunk handed to another thread comes back through [`ChunkPool::back`],
//! a sender every writer thread holds. The pool keeps a sender of its own
//! channel, so waiting for a chunk never ends by itself: it gives up once a
//! `stop` flag is set (a writer that failed drops the chunks queued to it),
//! or a disk error would hang the caller.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::direct::AlignedChunk;

/// How long a wait for a returned chunk lasts before the stop flag is
/// checked again.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// Page-aligned chunks of one size, made on demand up to a bound and then
/// reused.
pub(crate) struct ChunkPool {
    returned: mpsc::Receiver<AlignedChunk>,
    back: mpsc::Sender<AlignedChunk>,
    spare: Vec<AlignedChunk>,
    allocated: usize,
    max: usize,
    chunk_bytes: usize,
}

impl ChunkPool {
    /// At most `max` chunks of `chunk_bytes` each.
    pub(crate) fn new(max: usize, chunk_bytes: usize) -> Self {
        let (back, returned) = mpsc::channel();
        Self {
            returned,
            back,
            spare: Vec::new(),
            allocated: 0,
            max,
            chunk_bytes,
        }
    }

    /// A chunk: a spare or returned one, a new one while fewer than `max`
    /// exist, else wait for one to come back, giving up with `why()` once
    /// `stop` is set.
    pub(crate) fn get(
        &mut self,
        stop: &AtomicBool,
        why: fn() -> io::Error,
    ) -> io::Result<AlignedChunk> {
        if let Some(c) = self.spare.pop() {
            return Ok(c);
        }
        if let Ok(c) = self.returned.try_recv() {
            return Ok(c);
        }
        if self.allocated < self.max {
            self.allocated += 1;
            return Ok(AlignedChunk::new(self.chunk_bytes));
        }
        loop {
            if let Ok(c) = self.returned.recv_timeout(POLL) {
                return Ok(c);
            }
            if stop.load(Ordering::Acquire) {
                return Err(why());
            }
        }
    }

    /// A chunk that was not handed on.
    pub(crate) fn put(&mut self, chunk: AlignedChunk) {
        self.spare.push(chunk);
    }

    /// Where written chunks go back to.
    pub(crate) fn back(&self) -> mpsc::Sender<AlignedChunk> {
        self.back.clone()
    }

    /// Once no chunk is out (every thread it was lent to has ended): take
    /// back what was returned and forget what was lost on an error path, so
    /// the count stays true and a later `get` never waits for a chunk that
    /// will not come.
    pub(crate) fn settle(&mut self) {
        self.spare.extend(self.returned.try_iter());
        self.allocated = self.spare.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gone() -> io::Error {
        io::Error::other("stopped")
    }

    /// The pool never makes more than `max` chunks: past it, `get` waits
    /// for one to come back, and gives up once told to stop.
    #[test]
    fn the_pool_is_bounded_and_a_stop_ends_the_wait() -> io::Result<()> {
        let mut pool = ChunkPool::new(2, 4096);
        let stop = AtomicBool::new(false);
        let a = pool.get(&stop, gone)?;
        let b = pool.get(&stop, gone)?;
        let back = pool.back();
        std::thread::scope(|s| {
            s.spawn(move || {
                std::thread::sleep(POLL);
                let _ = back.send(a);
            });
        });
        let c = pool.get(&stop, gone)?;
        assert_eq!(c.len(), 4096);
        stop.store(true, Ordering::Release);
        assert!(pool.get(&stop, gone).is_err(), "a third chunk was made");
        drop((b, c));
        pool.settle();
        assert!(
            pool.get(&stop, gone).is_ok(),
            "settled: lost chunks forgotten"
        );
        Ok(())
    }
}
