//! One way to read a bundle's bytes wherever they are: a single file, or a
//! part set read through as one stream (docs/bundle-format.md, section 13).
//! Readers that take a [`BundleSource`] never learn which.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Bytes at positions, shared between threads: a bundle file, or the parts
/// of one read as if joined.
pub trait BundleSource: Sync + Send {
    /// How many bytes the source holds.
    fn len(&self) -> u64;

    /// Whether it holds none.
    #[cfg(any(test, feature = "internals"))]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read up to `buf.len()` bytes at `offset`; 0 only at or past the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Fill `buf` from `offset`, or fail with `UnexpectedEof`.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = buf.get_mut(n..).unwrap_or_default();
                    offset = offset.saturating_add(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A file and the length it had when opened (a file that grows later is
/// read only up to it).
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Wrap an open file of `len` bytes.
    pub fn new(file: File, len: u64) -> Self {
        Self { file, len }
    }
}

impl BundleSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let left = self.len.saturating_sub(offset);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        match buf.get_mut(..want) {
            Some(window) if !window.is_empty() => FileExt::read_at(&self.file, window, offset),
            _ => Ok(0),
        }
    }
}

/// A [`BundleSource`] with a position: what the tar walker and the small
/// entry readers read through (`Read + Seek`), while positioned reads
/// ([`SourceReader::read_at`]) share it between threads.
#[derive(Clone)]
pub struct SourceReader {
    source: Arc<dyn BundleSource>,
    pos: u64,
}

impl std::fmt::Debug for SourceReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SourceReader({} bytes at {})",
            self.source.len(),
            self.pos
        )
    }
}

impl SourceReader {
    /// Read `source` from its start.
    pub fn new(source: Arc<dyn BundleSource>) -> Self {
        Self { source, pos: 0 }
    }

    /// A file of `len` bytes.
    pub fn file(file: File, len: u64) -> Self {
        Self::new(Arc::new(FileSource::new(file, len)))
    }

    /// How many bytes the source holds.
    pub fn len(&self) -> u64 {
        self.source.len()
    }

    /// Whether it holds none.
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// A positioned read; the position is not moved.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.source.read_at(buf, offset)
    }
}

impl io::Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read_at(buf, self.pos)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl io::Seek for SourceReader {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let target = match to {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => self.len().checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_file_source_reads_up_to_its_length_and_no_further()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut file = tempfile::tempfile()?;
        file.write_all(b"0123456789")?;
        let source = FileSource::new(file, 8);
        let mut buf = [0u8; 4];
        source.read_exact_at(&mut buf, 2)?;
        assert_eq!(&buf, b"2345");
        assert_eq!(source.read_at(&mut buf, 6)?, 2);
        assert_eq!(source.read_at(&mut buf, 8)?, 0);
        assert!(source.read_exact_at(&mut buf, 6).is_err());
        // Read and Seek over the same bytes.
        use std::io::{Read as _, Seek as _};
        let mut reader = SourceReader::new(Arc::new(source));
        reader.seek(std::io::SeekFrom::Start(5))?;
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest)?;
        assert_eq!(rest, b"567");
        assert_eq!(reader.seek(std::io::SeekFrom::End(-8))?, 0);
        assert!(reader.seek(std::io::SeekFrom::Current(-1)).is_err());
        Ok(())
    }
}

/// Positioned reads that move no shared position: a file, or a bundle source.
pub trait ReadAt {
    /// Read into `buf` from `offset`.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

impl ReadAt for SourceReader {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        SourceReader::read_at(self, buf, offset)
    }
}

/// One range of a positioned source read as a stream of its own: a tar
/// entry's stored bytes. Positioned reads share no file position, so
/// several windows and threads do not disturb each other.
#[derive(Debug)]
pub struct Window<'f, F: ReadAt + ?Sized> {
    /// The source.
    pub file: &'f F,
    /// Where the range starts in it.
    pub start: u64,
    /// How long the range is.
    pub len: u64,
    /// How far into the range the stream is.
    pub pos: u64,
}

impl<F: ReadAt + ?Sized> Window<'_, F> {
    /// Bytes not read yet.
    pub fn left(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }
}

impl<F: ReadAt + ?Sized> io::Read for Window<'_, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left()).unwrap_or(usize::MAX));
        let Some(dst) = buf.get_mut(..want) else {
            return Ok(0);
        };
        if dst.is_empty() {
            return Ok(0);
        }
        let n = self
            .file
            .read_at(dst, self.start.saturating_add(self.pos))?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl<F: ReadAt + ?Sized> io::Seek for Window<'_, F> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let target = match to {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek before the entry start")
        })?;
        self.pos = target;
        Ok(target)
    }
}
