//! Where a bundle being packed goes: one file, or the data parts of a part
//! set through a [`SpanFile`] (`pack --split`, docs/bundle-format.md,
//! section 13). Pack's writers (the tar writer, the workers' positioned
//! writes, the background flush, the first link's append) take an [`Out`]
//! and never learn which.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::span::SpanFile;

/// A bundle's output: a file, or a span of part files.
#[derive(Debug)]
pub enum Out {
    /// One file.
    File(File),
    /// The data parts of a part set, written as one file.
    Span(Arc<SpanFile>),
}

impl From<File> for Out {
    fn from(file: File) -> Self {
        Out::File(file)
    }
}

impl Out {
    /// Another handle on the same output.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(match self {
            Out::File(f) => Out::File(f.try_clone()?),
            Out::Span(s) => Out::Span(Arc::clone(s)),
        })
    }

    /// The file, when the output is one (for O_DIRECT and `fallocate`,
    /// which a span goes without).
    pub fn as_file(&self) -> Option<&File> {
        match self {
            Out::File(f) => Some(f),
            Out::Span(_) => None,
        }
    }

    /// Its length now.
    pub fn byte_len(&self) -> io::Result<u64> {
        match self {
            Out::File(f) => Ok(f.metadata()?.len()),
            Out::Span(s) => Ok(s.len()),
        }
    }

    /// Cut or extend it to `len` bytes.
    pub fn set_len(&self, len: u64) -> io::Result<()> {
        match self {
            Out::File(f) => f.set_len(len),
            Out::Span(s) => s.set_len(len),
        }
    }

    /// `fdatasync`.
    pub fn sync_data(&self) -> io::Result<()> {
        match self {
            Out::File(f) => f.sync_data(),
            Out::Span(s) => s.sync_data(),
        }
    }

    /// `fsync`.
    pub fn sync_all(&self) -> io::Result<()> {
        match self {
            Out::File(f) => f.sync_all(),
            Out::Span(s) => s.sync_all(),
        }
    }

    /// A reader and writer with a position over it (`Read + Write +
    /// Seek`), for the tar writer and the tar walker.
    pub fn cursor(self, pos: u64) -> OutCursor {
        OutCursor { out: self, pos }
    }
}

impl FileExt for Out {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self {
            Out::File(f) => f.read_at(buf, offset),
            Out::Span(s) => s.read_at(buf, offset),
        }
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        match self {
            Out::File(f) => f.write_at(buf, offset),
            Out::Span(s) => s.write_all_at(buf, offset).map(|()| buf.len()),
        }
    }
}

/// An [`Out`] with a position: reads and writes are positioned ones at
/// it, so handles cloned from one output never share a position.
#[derive(Debug)]
pub struct OutCursor {
    out: Out,
    pos: u64,
}

impl OutCursor {
    /// The output, given back.
    pub fn into_inner(self) -> Out {
        self.out
    }
}

impl Write for OutCursor {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write_at(buf, self.pos)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for OutCursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.out.read_at(buf, self.pos)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for OutCursor {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let base = |b: u64, d: i64| {
            b.checked_add_signed(d).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")
            })
        };
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(d) => base(self.pos, d)?,
            SeekFrom::End(d) => base(self.out.byte_len()?, d)?,
        };
        Ok(self.pos)
    }
}
