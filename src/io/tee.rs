//! The one hashing tee: every byte read through it is hashed exactly once
//! and handed on to a [`Branch`].
//!
//! Every stage that both reads and checks bytes goes through it: `inspect`
//! (the parser reads the header through it and `drain` hashes the rest),
//! `pack` (the branch copies the bytes into the bundle pipeline, or keeps a
//! raw artifact's head for a worker), `verify` (bounded by the manifest
//! size, the branch is the import's writer) and the store (a baseline file
//! copied while hashed). One place decides how a byte is counted, hashed,
//! bounded and passed on, so the five copies that did this before cannot
//! drift apart.

use std::io::{self, Read, Write};

use super::digest::{Hasher, READ_BUFFER_BYTES, Sha256Digest};

/// Where a tee hands the bytes it read (and hashed, when hashing).
pub(crate) trait Branch {
    /// Take `bytes`: the next bytes of the stream, in order.
    fn take(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// A branch that drops the bytes: the tee only hashes and counts.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Discard;

impl Branch for Discard {
    fn take(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

/// A branch that writes every byte to `W` (the import's writer, say); no
/// writer: the bytes are dropped. A failed write is kept, in words, for
/// the report: the error itself goes back through whoever was reading.
pub(crate) struct WriteBranch<W> {
    writer: Option<W>,
    failure: Option<String>,
}

impl<W: Write> WriteBranch<W> {
    pub(crate) fn new(writer: Option<W>) -> Self {
        Self {
            writer,
            failure: None,
        }
    }

    /// Why the writer failed, if it did.
    pub(crate) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The writer.
    pub(crate) fn into_inner(self) -> Option<W> {
        self.writer
    }
}

impl<W: Write> Branch for WriteBranch<W> {
    fn take(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        w.write_all(bytes).inspect_err(|e| {
            self.failure = Some(e.to_string());
        })
    }
}

/// Why a tee stopped for good: a failure is final, so a reader that
/// swallowed an error never gets the bytes after a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The stream yielded more than its limit.
    Overran,
    /// The branch refused the bytes.
    Branch,
}

/// Hashes (or only counts) every byte read from `R`, bounds the stream by
/// an optional limit, and hands each byte to the branch `B` once.
pub(crate) struct HashingTee<R, B = Discard> {
    inner: R,
    hasher: Option<Hasher>,
    position: u64,
    limit: Option<u64>,
    stopped: Option<Stopped>,
    branch: B,
}

thread_local! {
    static DRAIN_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<R: Read> HashingTee<R, Discard> {
    /// Wrap `inner`; with `hash == false` it only counts bytes.
    pub(crate) fn new(inner: R, hash: bool) -> Self {
        Self::with_branch(inner, hash, Discard)
    }
}

impl<R: Read, B: Branch> HashingTee<R, B> {
    /// Wrap `inner`, handing every byte read to `branch`.
    pub(crate) fn with_branch(inner: R, hash: bool, branch: B) -> Self {
        Self {
            inner,
            hasher: hash.then(Hasher::new),
            position: 0,
            limit: None,
            stopped: None,
            branch,
        }
    }

    /// Refuse a stream longer than `limit` bytes: never ask for more than
    /// one byte past it (enough to notice, never more to hold), and stop
    /// with [`Stopped::Overran`] when it comes.
    pub(crate) fn limited(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Why the tee stopped for good, if it did.
    pub(crate) fn stopped(&self) -> Option<Stopped> {
        self.stopped
    }

    /// The source.
    pub(crate) fn inner(&self) -> &R {
        &self.inner
    }

    /// The branch.
    pub(crate) fn branch(&self) -> &B {
        &self.branch
    }

    /// The source, the hasher (when hashing) and the branch.
    pub(crate) fn into_parts(self) -> (R, Option<Hasher>, B) {
        (self.inner, self.hasher, self.branch)
    }

    /// Hash everything left, calling `progress` with each chunk's length.
    /// Returns the byte count and the digest. A tee that only counts reads
    /// nothing more: a parse that does not hash stops after the header
    /// (pack and verify hash in their own pipelines).
    pub(crate) fn drain(
        mut self,
        mut progress: impl FnMut(u64),
    ) -> io::Result<(u64, Option<Sha256Digest>)> {
        if self.hasher.is_none() {
            return Ok((self.position, None));
        }
        // One buffer per thread for the life of the process: a fresh 1 MiB
        // allocation per file cost ~1 ms of page faults each, which
        // dominated folders of many small files.
        DRAIN_BUFFER.with(|cell| {
            let mut buf = cell.borrow_mut();
            buf.resize(READ_BUFFER_BYTES, 0);
            self.drain_with(&mut buf, &mut progress)
        })?;
        Ok((self.position, self.hasher.map(Hasher::finish)))
    }

    /// Read everything left through `buf` (the caller's buffer).
    pub(crate) fn drain_with(
        &mut self,
        buf: &mut [u8],
        progress: &mut dyn FnMut(u64),
    ) -> io::Result<()> {
        loop {
            match self.read(buf) {
                Ok(0) => return Ok(()),
                Ok(n) => progress(n as u64),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Hash, count and hand on `n` bytes just read into `got`.
    fn pass_on(&mut self, got: &[u8]) -> io::Result<()> {
        let n = got.len() as u64;
        if let Some(limit) = self.limit
            && self.position.saturating_add(n) > limit
        {
            self.stopped = Some(Stopped::Overran);
            return Err(io::Error::other("the stream is longer than its size"));
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(got);
        }
        self.position = self.position.saturating_add(n);
        if let Err(e) = self.branch.take(got) {
            self.stopped = Some(Stopped::Branch);
            return Err(e);
        }
        Ok(())
    }

    /// How many bytes one read may ask for.
    fn room(&self, want: usize) -> usize {
        match self.limit {
            Some(limit) => {
                let room = limit.saturating_sub(self.position).saturating_add(1);
                want.min(usize::try_from(room).unwrap_or(usize::MAX))
            }
            None => want,
        }
    }
}

impl<R: Read, B: Branch> Read for HashingTee<R, B> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.stopped.is_some() {
            return Err(io::Error::other("the stream already failed"));
        }
        let want = self.room(out.len());
        let Some(window) = out.get_mut(..want) else {
            return Ok(0);
        };
        let n = self.inner.read(window)?;
        self.pass_on(window.get(..n).unwrap_or_default())?;
        Ok(n)
    }
}

/// Hash a reader to its end: (bytes, SHA-256).
pub(crate) fn hash_to_end(reader: impl Read) -> io::Result<(u64, Sha256Digest)> {
    let (n, digest) = HashingTee::new(reader, true).drain(|_| {})?;
    Ok((n, digest.unwrap_or_else(|| Hasher::new().finish())))
}

/// A branch that lends its own buffers, so the rest of a stream can be read
/// straight into them instead of being copied (pack's bundle pipeline).
pub(crate) trait Lending: Branch {
    /// A buffer to read into.
    fn lend(&mut self) -> io::Result<super::direct::AlignedChunk>;
    /// The buffer, its first `n` bytes read and hashed: hand it on.
    fn give(&mut self, chunk: super::direct::AlignedChunk, n: usize) -> io::Result<()>;
    /// A buffer lent and not used (the stream had ended).
    fn unused(&mut self, chunk: super::direct::AlignedChunk);
}

impl<R: Read, B: Lending> HashingTee<R, B> {
    /// Read, hash and hand on everything left, straight into the branch's
    /// own buffers (no copy).
    pub(crate) fn drain_lent(&mut self) -> io::Result<()> {
        if self.stopped.is_some() {
            return Err(io::Error::other("the stream already failed"));
        }
        loop {
            let mut chunk = self.branch.lend()?;
            let want = self.room(chunk.len());
            let window = chunk.window().get_mut(..want).unwrap_or_default();
            let n = loop {
                match self.inner.read(window) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                self.branch.unused(chunk);
                return Ok(());
            }
            let got = chunk.filled(n);
            if let Some(limit) = self.limit
                && self.position.saturating_add(n as u64) > limit
            {
                self.stopped = Some(Stopped::Overran);
                return Err(io::Error::other("the stream is longer than its size"));
            }
            if let Some(h) = self.hasher.as_mut() {
                h.update(got);
            }
            self.position = self.position.saturating_add(n as u64);
            if let Err(e) = self.branch.give(chunk, n) {
                self.stopped = Some(Stopped::Branch);
                return Err(e);
            }
        }
    }
}

/// The tee's other direction: hashes and counts every byte written
/// through it (a zstd entry's stored bytes, a store's `facts.json`).
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Hasher::new(),
        }
    }

    /// The writer and the hasher of what it took.
    pub(crate) fn into_parts(self) -> (W, Hasher) {
        (self.inner, self.hasher)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A branch that records what it was given, and fails after `fail_at`
    /// bytes.
    struct Recording {
        got: Vec<u8>,
        fail_at: usize,
    }

    impl Branch for Recording {
        fn take(&mut self, bytes: &[u8]) -> io::Result<()> {
            if self.got.len() + bytes.len() > self.fail_at {
                return Err(io::Error::other("full"));
            }
            self.got.extend_from_slice(bytes);
            Ok(())
        }
    }

    fn noise(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// Whatever the read sizes, the branch sees every byte once, in order,
    /// and the digest is the digest of the whole stream.
    #[test]
    fn every_byte_is_hashed_and_handed_on_once() -> io::Result<()> {
        let data = noise(3 * READ_BUFFER_BYTES + 17);
        for piece in [1usize, 7, 4096, READ_BUFFER_BYTES + 3] {
            let mut tee = HashingTee::with_branch(
                &data[..],
                true,
                Recording {
                    got: Vec::new(),
                    fail_at: usize::MAX,
                },
            );
            let mut buf = vec![0u8; piece];
            tee.drain_with(&mut buf, &mut |_| {})?;
            assert_eq!(tee.position(), data.len() as u64);
            let (_, hasher, branch) = tee.into_parts();
            assert_eq!(hasher.map(Hasher::finish), Some(Sha256Digest::of(&data)));
            assert!(
                branch.got == data,
                "branch bytes differ for reads of {piece}"
            );
        }
        Ok(())
    }

    /// A counting tee's drain reads nothing: the parse that used it stops
    /// at the header (reading on here once made pack read every raw
    /// artifact twice over, on the planner).
    #[test]
    fn a_counting_drain_reads_no_further() -> io::Result<()> {
        let mut tee = HashingTee::new(&b"abcdef"[..], false);
        let mut two = [0u8; 2];
        tee.read_exact(&mut two)?;
        let (n, digest) = tee.drain(|_| {})?;
        assert_eq!((n, digest), (2, None));
        let (n, digest) = HashingTee::new(&b"abc"[..], true).drain(|_| {})?;
        assert_eq!((n, digest), (3, Some(Sha256Digest::of(b"abc"))));
        assert_eq!(hash_to_end(&b""[..])?, (0, Sha256Digest::of(b"")));
        Ok(())
    }

    /// A stream one byte longer than its limit stops the tee for good; one
    /// exactly as long does not.
    #[test]
    fn a_limit_is_enforced_and_a_failure_is_final() {
        let data = noise(100);
        let mut exact = HashingTee::new(&data[..], true).limited(100);
        let mut buf = [0u8; 64];
        assert!(exact.drain_with(&mut buf, &mut |_| {}).is_ok());
        assert_eq!(exact.stopped(), None);

        let mut long = HashingTee::new(&data[..], true).limited(99);
        assert!(long.drain_with(&mut buf, &mut |_| {}).is_err());
        assert_eq!(long.stopped(), Some(Stopped::Overran));
        assert!(long.read(&mut buf).is_err(), "a read after the failure");
        assert!(long.position() <= 99);

        let mut refused = HashingTee::with_branch(
            &data[..],
            true,
            Recording {
                got: Vec::new(),
                fail_at: 10,
            },
        );
        assert!(refused.read(&mut buf).is_err());
        assert_eq!(refused.stopped(), Some(Stopped::Branch));
        assert!(refused.read(&mut buf).is_err());
    }
}
