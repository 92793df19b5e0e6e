//! The decoded bytes of a full bundle's artifact entry, as `pack --base`
//! reads the base bundle and the target: raw bytes or one zstd frame, held
//! to the manifest's size, and hashed so that [`Content::finish`] can say
//! whether they were the bytes the manifest names.

use std::fs::File;
use std::io::{self, BufReader, Read};

use super::super::manifest::{Encoding, ManifestEntry};
use super::super::tar::TarEntry;
use crate::io::digest::{Hasher, Sha256Digest};

/// Positioned reads of one entry's stored bytes.
type Stored<'f> = crate::io::source::Window<'f, File>;

/// The decoded bytes of one artifact entry, hashed as they pass.
pub struct Content<'f> {
    inner: Box<dyn Read + 'f>,
    hasher: Hasher,
    want: (u64, Sha256Digest),
}

impl std::fmt::Debug for Content<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content").finish_non_exhaustive()
    }
}

impl<'f> Content<'f> {
    /// Open entry `t` of `file` as the manifest entry `m` describes it. A
    /// delta entry has no content of its own: `InvalidInput`.
    pub fn open(file: &'f File, t: &TarEntry, m: &ManifestEntry) -> io::Result<Self> {
        let stored = Stored {
            file,
            start: t.data_offset,
            len: t.size,
            pos: 0,
        };
        let inner: Box<dyn Read + 'f> = match m.encoding {
            Encoding::Raw => Box::new(stored),
            Encoding::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(BufReader::new(stored))?
                    .single_frame();
                decoder.window_log_max(super::super::zstd_frame::MAX_WINDOW_LOG)?;
                Box::new(decoder.take(m.size.saturating_add(1)))
            }
            Encoding::Delta => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is itself a differential entry: its content is not in the bundle",
                        m.path
                    ),
                ));
            }
        };
        Ok(Self {
            inner,
            hasher: Hasher::new(),
            want: (m.size, m.sha256),
        })
    }

    /// After the last byte: whether they were the manifest's size and
    /// SHA-256.
    pub fn finish(self) -> io::Result<()> {
        let size = self.hasher.bytes();
        let digest = self.hasher.finish();
        if (size, digest) == self.want {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "its {size} bytes with SHA-256 {digest} are not the manifest's {} bytes with {}",
                    self.want.0, self.want.1
                ),
            ))
        }
    }
}

impl Read for Content<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}
