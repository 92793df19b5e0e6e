//! Large artifact bytes written with O_DIRECT, by `pack` (into the bundle)
//! and by `import` (into the staged version).
//!
//! Why: a buffered write copies every byte into the page cache
//! (`copy_folio_from_iter_atomic`) and ext4 does per-page bookkeeping, on
//! the same two CPUs that hash. Measured for pack on one 1 GiB file
//! (3 interleaved runs, 2-vCPU machine): buffered 1.07–1.09 s with
//! 0.50–0.57 s of system time; O_DIRECT 0.93–1.06 s with 0.23–0.27 s;
//! openssl 0.93–0.94 s. For import, `perf` put 64 % of the samples of a
//! 1 GiB import in that page-cache copy (docs/performance.md). It also
//! keeps a multi-GB bundle or store from evicting the page cache.
//!
//! O_DIRECT needs the buffer, the file offset and the length aligned; a
//! write that is not (the tail of a file, an odd-sized piece) goes through
//! the ordinary handle, and a filesystem that refuses O_DIRECT (tmpfs:
//! EINVAL) makes the rest of the file go buffered too. The bytes on disk are
//! the same either way.

use std::borrow::Borrow;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// File offsets and lengths: the 512-byte logical block of most disks
/// (which tar's 512-byte blocks keep). A device that wants more answers
/// EINVAL and the write goes buffered.
pub const DIRECT_ALIGN: u64 = 512;

/// Buffer addresses: a page, more than any device's logical block.
pub const BUFFER_ALIGN: usize = 4096;

/// A buffer whose usable window starts on a page boundary (the Vec is
/// `BUFFER_ALIGN` longer to make room).
pub struct AlignedChunk {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedChunk {
    /// A zeroed window of `len` bytes.
    pub fn new(len: usize) -> Self {
        let buf = vec![0u8; len.saturating_add(BUFFER_ALIGN)];
        // `align_offset` may give up (usize::MAX): then unaligned, which
        // only means buffered writes.
        let start = buf.as_ptr().align_offset(BUFFER_ALIGN);
        let start = if start < BUFFER_ALIGN { start } else { 0 };
        Self { buf, start, len }
    }

    /// The usable window.
    pub fn window(&mut self) -> &mut [u8] {
        self.buf
            .get_mut(self.start..self.start.saturating_add(self.len))
            .unwrap_or_default()
    }

    /// The first `n` bytes of the window.
    pub fn filled(&self, n: usize) -> &[u8] {
        self.buf
            .get(self.start..self.start.saturating_add(n.min(self.len)))
            .unwrap_or_default()
    }

    /// The window's length.
    pub fn len(&self) -> usize {
        self.len
    }
}

/// A second handle on `file` (created at `path`), opened O_DIRECT, when the
/// filesystem allows it. The path is reopened, so the handle is checked to
/// be the same file (device and inode) as `file`.
pub fn open_direct(path: &Path, file: &File) -> Option<File> {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let direct = std::fs::OpenOptions::new()
        .write(true)
        // O_NONBLOCK: should the path have become a FIFO since it was
        // created, the open returns instead of waiting (and the identity
        // check below refuses it); regular files ignore the flag.
        .custom_flags(libc::O_DIRECT | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let (a, b) = (direct.metadata().ok()?, file.metadata().ok()?);
    ((a.dev(), a.ino()) == (b.dev(), b.ino())).then_some(direct)
}

/// Write `buf` at `offset`: through `direct` when buffer, offset and length
/// are aligned, else through `buffered`. An EINVAL from the direct handle
/// (nothing written) drops it, so the rest of the file goes buffered.
pub fn write_at<D: Borrow<File>, B: FileExt>(
    direct: &mut Option<D>,
    buffered: &B,
    buf: &[u8],
    offset: u64,
) -> io::Result<usize> {
    let aligned = buf.as_ptr().align_offset(BUFFER_ALIGN) == 0
        && offset.is_multiple_of(DIRECT_ALIGN)
        && (buf.len() as u64).is_multiple_of(DIRECT_ALIGN);
    match direct.as_ref().filter(|_| aligned) {
        Some(d) => match d.borrow().write_at(buf, offset) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                *direct = None;
                buffered.write_at(buf, offset)
            }
            other => other,
        },
        None => buffered.write_at(buf, offset),
    }
}

/// [`write_at`] until every byte of `buf` is written.
pub fn write_all_at<D: Borrow<File>, B: FileExt>(
    direct: &mut Option<D>,
    buffered: &B,
    mut buf: &[u8],
    mut offset: u64,
) -> io::Result<()> {
    while !buf.is_empty() {
        let n = write_at(direct, buffered, buf, offset)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the file took no more bytes",
            ));
        }
        buf = buf.get(n..).unwrap_or_default();
        offset = offset.saturating_add(n as u64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_unaligned_pieces_land_at_their_offsets() -> Result<(), Box<dyn std::error::Error>>
    {
        // /tmp may be tmpfs (no O_DIRECT: the fallback) or a disk (direct):
        // the bytes must be the same either way. The target folder is on
        // the disk the repository is on.
        for dir in [
            tempfile::tempdir()?,
            tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR"))?,
        ] {
            let path = dir.path().join("f");
            let file = std::fs::File::create_new(&path)?;
            let mut direct = open_direct(&path, &file);
            let mut chunk = AlignedChunk::new(1 << 16);
            for (i, b) in chunk.window().iter_mut().enumerate() {
                *b = (i % 251) as u8;
            }
            let mut expected = Vec::new();
            write_all_at(&mut direct, &file, chunk.filled(1 << 16), 0)?;
            expected.extend_from_slice(chunk.filled(1 << 16));
            // An odd tail: buffered.
            write_all_at(&mut direct, &file, b"tail", 1 << 16)?;
            expected.extend_from_slice(b"tail");
            drop(direct);
            assert_eq!(std::fs::read(&path)?, expected);
        }
        Ok(())
    }

    #[test]
    fn the_window_is_page_aligned() {
        let mut c = AlignedChunk::new(4096);
        assert_eq!(c.window().as_ptr().align_offset(BUFFER_ALIGN), 0);
        assert_eq!(c.filled(10_000).len(), 4096);
    }
}
