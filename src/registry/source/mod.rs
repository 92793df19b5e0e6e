//! A registry artifact read as its bundle, without the bundle ever being
//! written (docs/registry.md, "Pull and verify", step 5): a
//! [`BundleSource`] whose bytes are exactly those `pack` and `sign` wrote.
//!
//! docs/bundle-format.md §1–2 fixes every header byte, so a bundle follows
//! from its entries in manifest order, its manifest and its links. Those
//! the node already holds, checked ([`Evidence`]): the tar headers, the
//! padding, the SBOMs, the attestation, the manifest, the links and the
//! end marker are served from memory, built with the tar writer's own
//! functions ([`tar::encode_header`], [`tar::padding`],
//! [`tar::END_MARKER`]), so the two cannot drift apart. Each raw
//! artifact's bytes are its layer, read from the registry where they are
//! asked for: one request per layer for a reader that goes through it in
//! order (an answer is kept open per layer and position), a new request
//! (`Range: bytes=OFFSET-`) only on a seek. A registry that ignores the
//! range answers the whole blob, and the bytes before the offset are read
//! and dropped: a seek then costs up to one layer's length, never more. A
//! zstd entry is given back from its raw layer, fetched aside and encoded
//! again (`super::reencode`): those, and only those, are spooled to
//! `$TMPDIR`.
//!
//! The layer bytes are not trusted here: the source hands them on as the
//! registry serves them, and `verify` and `import` check them exactly as
//! they check a bundle file (the chain signs every entry's digests). What
//! the source refuses itself is an answer of the wrong shape: a layer that
//! ends before its size, goes on past it, or a partial answer for another
//! range than the one asked.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::error::RegistryError;
use super::evidence::Evidence;
use super::pull::digest_of;
use crate::bundle::tar::{self, TarError};
use crate::bundle::{BundlePath, Encoding, ManifestEntry, Role};
use crate::io::digest::Sha256Digest;
use crate::io::source::BundleSource;

/// Where layers come from: the registry ([`super::client::Client`],
/// `super::range`), or memory in the tests.
pub trait BlobFetcher: Send + Sync {
    /// Blob `digest` (`size` bytes) read from `offset` to its end. A
    /// registry that ignores the range serves it from an earlier byte: the
    /// reader, and the blob offset of its first byte (at most `offset`).
    fn open_at(
        &self,
        digest: &Sha256Digest,
        size: u64,
        offset: u64,
    ) -> Result<(Box<dyn Read + Send>, u64), RegistryError>;

    /// The whole blob into `out`, refused unless it is `size` bytes with
    /// `digest` (`out` is then to be discarded).
    fn fetch_whole(
        &self,
        digest: &Sha256Digest,
        size: u64,
        out: &mut dyn Write,
    ) -> Result<(), RegistryError>;
}

/// At most this many answers are kept open between reads; beyond it the
/// least recently used is dropped (a reader that comes back to it pays one
/// request). `verify` reads at most four artifacts at once, each through
/// one stream and at times a second one for its header.
pub const MAX_IDLE_STREAMS: usize = 8;

/// One stretch of the bundle.
enum Piece {
    /// Headers, padding, small entries, the end marker.
    Memory(Vec<u8>),
    /// A raw artifact's bytes: its layer.
    Layer { digest: Sha256Digest, size: u64 },
    /// A zstd entry's stored bytes, encoded again into an anonymous file.
    Spooled(File),
}

struct Segment {
    start: u64,
    len: u64,
    piece: Piece,
}

/// An open answer for a layer, `pos` bytes into the blob.
struct Stream {
    segment: usize,
    pos: u64,
    reader: Box<dyn Read + Send>,
    used: u64,
}

#[derive(Default)]
struct Streams {
    idle: Vec<Stream>,
    clock: u64,
}

/// A registry artifact as the bytes of its bundle (module docs).
pub struct RegistrySource {
    segments: Vec<Segment>,
    len: u64,
    fetcher: Arc<dyn BlobFetcher>,
    streams: Mutex<Streams>,
    requests: AtomicU64,
}

impl std::fmt::Debug for RegistrySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RegistrySource({} bytes in {} pieces)",
            self.len,
            self.segments.len()
        )
    }
}

/// Lays the bundle out as `TarWriter` writes it, from offset 0.
#[derive(Default)]
struct Builder {
    segments: Vec<Segment>,
    pending: Vec<u8>,
    offset: u64,
}

impl Builder {
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        let len = bytes.len() as u64;
        self.segments.push(Segment {
            start: self.offset,
            len,
            piece: Piece::Memory(bytes),
        });
        self.offset = self.offset.saturating_add(len);
    }

    fn piece(&mut self, piece: Piece, len: u64) {
        self.flush();
        if len > 0 {
            self.segments.push(Segment {
                start: self.offset,
                len,
                piece,
            });
            self.offset = self.offset.saturating_add(len);
        }
    }

    /// An entry whose bytes are held: header, data, padding.
    fn small(&mut self, name: &BundlePath, data: &[u8]) -> Result<(), TarError> {
        let size = data.len() as u64;
        self.pending
            .extend_from_slice(&tar::encode_header(name, size)?);
        self.pending.extend_from_slice(data);
        self.pending.extend_from_slice(tar::padding(size));
        Ok(())
    }

    /// An entry whose `size` bytes are read elsewhere.
    fn large(&mut self, name: &BundlePath, piece: Piece, size: u64) -> Result<(), TarError> {
        self.pending
            .extend_from_slice(&tar::encode_header(name, size)?);
        self.piece(piece, size);
        self.pending.extend_from_slice(tar::padding(size));
        Ok(())
    }

    fn finish(mut self) -> (Vec<Segment>, u64) {
        self.pending.extend_from_slice(&tar::END_MARKER);
        self.flush();
        (self.segments, self.offset)
    }
}

fn to_io(e: RegistryError) -> io::Error {
    io::Error::other(e.to_string())
}

impl RegistrySource {
    /// The bundle of the artifact whose checked evidence is `ev`, its
    /// layers read through `fetcher`; zstd entries are fetched and encoded
    /// again now (refused, as `pull` refuses them, when no level gives the
    /// signed stored bytes).
    pub fn new(ev: &Evidence, fetcher: Arc<dyn BlobFetcher>) -> Result<Self, RegistryError> {
        let manifest = &ev.manifest;
        let shown = PathBuf::from(format!("{}-{}.lbom", manifest.name, manifest.sequence));
        let tar_error = |e: TarError| {
            RegistryError::Bundle(crate::bundle::Error::Tar {
                path: shown.clone(),
                source: e,
            })
        };
        let mut b = Builder::default();
        for entry in &manifest.entries {
            match entry.role {
                Role::Artifact => {
                    let p = entry
                        .artifact_path()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_default();
                    let layer = ev.files.get(&p).ok_or_else(|| {
                        RegistryError::Artifact(format!(
                            "no layer for {}",
                            crate::safe::visible(&p)
                        ))
                    })?;
                    let digest = digest_of(layer)?;
                    let (piece, size) = if entry.encoding == Encoding::Zstd {
                        let (file, len) = spool_zstd(&*fetcher, &digest, layer.size, entry)?;
                        (Piece::Spooled(file), len)
                    } else {
                        let size = layer.size;
                        (Piece::Layer { digest, size }, size)
                    };
                    b.large(&entry.path, piece, size).map_err(tar_error)?;
                }
                Role::Sbom => {
                    let bytes = ev.sboms.get(entry.path.as_str()).ok_or_else(|| {
                        RegistryError::Evidence(format!(
                            "no SBOM layer for {}",
                            entry.path.as_str()
                        ))
                    })?;
                    b.small(&entry.path, bytes).map_err(tar_error)?;
                }
                Role::Attestation => b.small(&entry.path, &ev.attestation).map_err(tar_error)?,
            }
        }
        let name = |s: &str| BundlePath::new(s).map_err(|e| RegistryError::Artifact(e.to_string()));
        b.small(&name(crate::bundle::layout::MANIFEST)?, &ev.manifest_bytes)
            .map_err(tar_error)?;
        for (link, bytes) in &ev.links {
            b.small(&name(link)?, bytes).map_err(tar_error)?;
        }
        let (segments, len) = b.finish();
        Ok(RegistrySource {
            segments,
            len,
            fetcher,
            streams: Mutex::new(Streams::default()),
            requests: AtomicU64::new(0),
        })
    }

    /// How many layer requests the reads so far have made.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// An idle answer of `segment` at blob offset `at`, taken out of the pool.
    fn take_stream(&self, segment: usize, at: u64) -> Option<Stream> {
        let mut streams = self.streams.lock().ok()?;
        let i = streams
            .idle
            .iter()
            .position(|s| s.segment == segment && s.pos == at)?;
        Some(streams.idle.swap_remove(i))
    }

    fn put_back(&self, mut stream: Stream) {
        // A poisoned pool only costs a request later: the stream is dropped.
        let Ok(mut streams) = self.streams.lock() else {
            return;
        };
        streams.clock = streams.clock.wrapping_add(1);
        stream.used = streams.clock;
        streams.idle.push(stream);
        if streams.idle.len() > MAX_IDLE_STREAMS
            && let Some(oldest) = streams
                .idle
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| s.used)
                .map(|(i, _)| i)
        {
            streams.idle.swap_remove(oldest);
        }
    }

    /// A new answer for `segment`'s layer, positioned at `at`.
    fn open(
        &self,
        segment: usize,
        digest: &Sha256Digest,
        size: u64,
        at: u64,
    ) -> io::Result<Stream> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let (mut reader, start) = self.fetcher.open_at(digest, size, at).map_err(to_io)?;
        let skip = at.checked_sub(start).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "blob sha256:{}: asked from byte {at}, served from byte {start}",
                    digest.to_hex()
                ),
            )
        })?;
        // A registry that ignored the range: the bytes before `at` are
        // read and dropped (at most the layer's length).
        let skipped = io::copy(&mut reader.by_ref().take(skip), &mut io::sink())?;
        if skipped != skip {
            return Err(ended(digest, start.saturating_add(skipped), size));
        }
        Ok(Stream {
            segment,
            pos: at,
            reader,
            used: 0,
        })
    }

    /// Read layer bytes at blob offset `at` (`buf` ends at the layer's end
    /// at most).
    fn read_layer(
        &self,
        segment: usize,
        digest: &Sha256Digest,
        size: u64,
        buf: &mut [u8],
        at: u64,
    ) -> io::Result<usize> {
        let mut stream = match self.take_stream(segment, at) {
            Some(s) => s,
            None => self.open(segment, digest, size, at)?,
        };
        let n = read_retrying(&mut stream.reader, buf)?;
        if n == 0 {
            return Err(ended(digest, at, size));
        }
        stream.pos = at.saturating_add(n as u64);
        if stream.pos < size {
            self.put_back(stream);
        } else {
            // The layer's last byte: the answer must end here.
            let mut probe = [0u8; 1];
            if read_retrying(&mut stream.reader, &mut probe)? > 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob sha256:{}: the registry serves more than its {size} bytes",
                        digest.to_hex()
                    ),
                ));
            }
        }
        Ok(n)
    }
}

fn ended(digest: &Sha256Digest, at: u64, size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "blob sha256:{}: the registry's answer ends at byte {at} of {size}",
            digest.to_hex()
        ),
    )
}

fn read_retrying(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// A zstd entry's stored bytes: its raw layer fetched (and checked) into
/// an anonymous file in `$TMPDIR`, encoded again into another; the first
/// is gone when this returns.
fn spool_zstd(
    fetcher: &dyn BlobFetcher,
    digest: &Sha256Digest,
    size: u64,
    entry: &ManifestEntry,
) -> Result<(File, u64), RegistryError> {
    let tmp = std::env::temp_dir();
    let mut raw = tempfile::tempfile().map_err(RegistryError::io(&tmp))?;
    fetcher.fetch_whole(digest, size, &mut raw)?;
    let level = super::reencode::find_level(&mut raw, entry)?;
    let mut stored = BufWriter::new(tempfile::tempfile().map_err(RegistryError::io(&tmp))?);
    let len = super::reencode::write(&mut raw, entry, level, &mut stored)?;
    let stored = stored
        .into_inner()
        .map_err(|e| RegistryError::Io {
            path: tmp.clone(),
            source: e.into_error(),
        })?;
    Ok((stored, len))
}

impl BundleSource for RegistrySource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        // The last segment starting at or before `offset` (the first starts at 0).
        let i = self
            .segments
            .partition_point(|s| s.start <= offset)
            .saturating_sub(1);
        let Some(seg) = self.segments.get(i) else {
            return Ok(0);
        };
        let within = offset.saturating_sub(seg.start);
        let left = seg.len.saturating_sub(within);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let Some(dst) = buf.get_mut(..want) else {
            return Ok(0);
        };
        match &seg.piece {
            Piece::Memory(bytes) => {
                let from = usize::try_from(within).unwrap_or(usize::MAX);
                let src = bytes
                    .get(from..from.saturating_add(want))
                    .unwrap_or_default();
                let n = src.len();
                dst.get_mut(..n).unwrap_or_default().copy_from_slice(src);
                Ok(n)
            }
            Piece::Spooled(file) => FileExt::read_at(file, dst, within),
            Piece::Layer { digest, size } => self.read_layer(i, digest, *size, dst, within),
        }
    }
}

#[cfg(test)]
mod tests;
