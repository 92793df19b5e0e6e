//! One logical file over a row of files of a fixed size each: byte `o` of
//! the logical file is byte `o mod S` of file `o div S + 1` (numbered from
//! 1). `pack --split` writes a bundle through it straight into the data
//! parts of a part set (docs/bundle-format.md, section 13, [B66]), so no
//! file as large as the bundle is ever written: the largest file is one
//! part. Writes are positioned and may come from several threads at once
//! (pack's workers); a write that straddles a boundary is cut in two.
//! Files are created on first write, by the caller's `create` (which
//! decides their names and folders), and opened again for reading.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Creates file `n` (from 1) of a span, writable and readable.
pub type CreatePart = Box<dyn Fn(u32) -> io::Result<(File, PathBuf)> + Send + Sync>;

/// The logical file: its files as they are created, the size of each,
/// and how far bytes were written or the length set.
pub struct SpanFile {
    part_size: u64,
    parts: Vec<OnceLock<(File, PathBuf)>>,
    create: CreatePart,
    /// Serialises creation (two threads writing into a new part at once).
    creating: Mutex<()>,
    len: Mutex<u64>,
}

impl std::fmt::Debug for SpanFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SpanFile({} bytes in parts of {})",
            self.len(),
            self.part_size
        )
    }
}

impl SpanFile {
    /// A span of at most `max_parts` files of `part_size` bytes each.
    pub fn new(part_size: u64, max_parts: usize, create: CreatePart) -> io::Result<Self> {
        if part_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a span's part size must not be 0",
            ));
        }
        Ok(Self {
            part_size,
            parts: (0..max_parts).map(|_| OnceLock::new()).collect(),
            create,
            creating: Mutex::new(()),
            len: Mutex::new(0),
        })
    }

    /// The logical length: the end of the furthest write, or what
    /// [`Self::set_len`] set.
    pub fn len(&self) -> u64 {
        self.len.lock().map_or(0, |l| *l)
    }

    /// Whether nothing was written.
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The files created so far, in number order, with their paths.
    pub fn files(&self) -> Vec<(u32, &File, &std::path::Path)> {
        self.parts
            .iter()
            .zip(1u32..)
            .filter_map(|(p, n)| p.get().map(|(f, path)| (n, f, path.as_path())))
            .collect()
    }

    /// File `k` (from 0), created when `create` is set and it does not
    /// exist yet.
    fn part(&self, k: u64, create: bool) -> io::Result<Option<&File>> {
        let slot = usize::try_from(k)
            .ok()
            .and_then(|k| self.parts.get(k))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!(
                        "more than {} parts of {} bytes",
                        self.parts.len(),
                        self.part_size
                    ),
                )
            })?;
        if let Some((file, _)) = slot.get() {
            return Ok(Some(file));
        }
        if !create {
            return Ok(None);
        }
        let _guard = self
            .creating
            .lock()
            .map_err(|_| io::Error::other("a thread creating a part panicked"))?;
        if slot.get().is_none() {
            let number = u32::try_from(k + 1).map_err(io::Error::other)?;
            let made = (self.create)(number)?;
            let _ = slot.set(made);
        }
        Ok(slot.get().map(|(f, _)| f))
    }

    /// The pieces `[offset, offset + len)` falls into: (part index, offset
    /// in the part, length).
    fn pieces(&self, offset: u64, len: usize) -> impl Iterator<Item = (u64, u64, usize)> + '_ {
        let mut at = offset;
        let end = offset.saturating_add(len as u64);
        std::iter::from_fn(move || {
            if at >= end {
                return None;
            }
            let k = at / self.part_size;
            let inside = at % self.part_size;
            let n = (self.part_size - inside).min(end - at);
            at += n;
            Some((k, inside, usize::try_from(n).unwrap_or(0)))
        })
    }

    /// Write all of `buf` at `offset`, across files as needed.
    pub fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut done = 0usize;
        for (k, inside, n) in self.pieces(offset, buf.len()) {
            let piece = buf.get(done..done + n).unwrap_or_default();
            if let Some(file) = self.part(k, true)? {
                file.write_all_at(piece, inside)?;
            }
            done += n;
        }
        let end = offset.saturating_add(buf.len() as u64);
        let mut len = self
            .len
            .lock()
            .map_err(|_| io::Error::other("a thread writing a part panicked"))?;
        *len = (*len).max(end);
        Ok(())
    }

    /// Read up to `buf.len()` bytes at `offset` (within one file); 0 at
    /// or past the end. A file never written reads as zeros, as a hole.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let left = self.len().saturating_sub(offset);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let Some((k, inside, n)) = self.pieces(offset, want).next() else {
            return Ok(0);
        };
        let window = buf.get_mut(..n).unwrap_or_default();
        match self.part(k, false)? {
            Some(file) => {
                let got = file.read_at(window, inside)?;
                if got == 0 {
                    // Inside the logical length but past this file's end:
                    // never written (a hole the length was set across).
                    window.fill(0);
                    return Ok(n);
                }
                Ok(got)
            }
            None => {
                window.fill(0);
                Ok(n)
            }
        }
    }

    /// Set the logical length: each file cut (or extended) to its share,
    /// files past the end removed. Every file before the end exists
    /// afterwards.
    pub fn set_len(&self, new_len: u64) -> io::Result<()> {
        let mut len = self
            .len
            .lock()
            .map_err(|_| io::Error::other("a thread writing a part panicked"))?;
        let first_past = new_len.div_ceil(self.part_size);
        if let Some((n, _, _)) = self.files().into_iter().find(|(n, _, _)| u64::from(*n) > first_past) {
            return Err(io::Error::other(format!(
                "part {n} lies past the new end at {new_len}"
            )));
        }
        for k in 0..first_past {
            let start = k.saturating_mul(self.part_size);
            let share = new_len.saturating_sub(start).min(self.part_size);
            if let Some(file) = self.part(k, true)? {
                file.set_len(share)?;
            }
        }
        *len = new_len;
        Ok(())
    }

    /// `fdatasync` every file.
    pub fn sync_data(&self) -> io::Result<()> {
        for (_, file, _) in self.files() {
            file.sync_data()?;
        }
        Ok(())
    }

    /// `fsync` every file.
    pub fn sync_all(&self) -> io::Result<()> {
        for (_, file, _) in self.files() {
            file.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn span(dir: &std::path::Path, part: u64) -> Result<SpanFile, Box<dyn std::error::Error>> {
        let dir = dir.to_path_buf();
        Ok(SpanFile::new(
            part,
            64,
            Box::new(move |n| {
                let path = dir.join(format!("p{n:04}"));
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                Ok((file, path))
            }),
        )?)
    }

    /// Writes of every length at every offset around the boundaries, in
    /// any order and from several threads, give files that concatenate
    /// to the logical file, none over the part size; reads give it back.
    #[test]
    fn positioned_writes_tile_the_parts() -> Result<(), Box<dyn std::error::Error>> {
        for part in [2u64, 7, 512, 1000] {
            let dir = tempfile::tempdir()?;
            let file = Arc::new(span(dir.path(), part)?);
            let total = 5 * part as usize + 3;
            let want: Vec<u8> = (0..total).map(|i| (i * 31 % 251) as u8).collect();
            // Chunks of odd sizes, written back to front, then a patch of
            // every header-sized window, as the tar writer does.
            let chunks: Vec<(usize, usize)> = (0..total)
                .step_by(13)
                .map(|s| (s, (s + 13).min(total)))
                .collect();
            std::thread::scope(|s| {
                for half in chunks.chunks(chunks.len().div_ceil(2)) {
                    let file = Arc::clone(&file);
                    let want = &want;
                    s.spawn(move || {
                        for &(a, b) in half.iter().rev() {
                            file.write_all_at(&want[a..b], a as u64)
                                .unwrap_or_else(|e| unreachable!("{e}"));
                        }
                    });
                }
            });
            file.write_all_at(&want[1..9.min(total)], 1)?;
            assert_eq!(file.len(), total as u64);
            let mut joined = Vec::new();
            for (_, _, path) in file.files() {
                let bytes = std::fs::read(path)?;
                assert!(bytes.len() as u64 <= part);
                joined.extend(bytes);
            }
            assert_eq!(joined, want);
            let mut back = vec![0u8; total];
            let mut at = 0;
            while at < total {
                at += file.read_at(&mut back[at..], at as u64)?;
            }
            assert_eq!(back, want);
            // A cut that would leave a written part past the end is
            // refused (pack only ever cuts its own tail).
            assert!(file.set_len(part / 2).is_err());
            assert_eq!(file.len(), total as u64);
        }
        Ok(())
    }

    /// Setting the length across parts never written creates them at
    /// their share (zeros), as a file's hole reads; a too-far write is
    /// refused, not wrapped.
    #[test]
    fn holes_and_limits() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = span(dir.path(), 10)?;
        file.write_all_at(b"ab", 0)?;
        file.set_len(25)?;
        let sizes: Vec<u64> = file
            .files()
            .iter()
            .map(|(_, f, _)| f.metadata().map(|m| m.len()).unwrap_or(0))
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
        let mut buf = [9u8; 4];
        assert_eq!(file.read_at(&mut buf, 12)?, 4);
        assert_eq!(buf, [0; 4]);
        assert!(file.write_all_at(b"x", 64 * 10).is_err());
        assert!(file.write_all_at(b"x", 64 * 10 - 1).is_ok());
        Ok(())
    }
}
