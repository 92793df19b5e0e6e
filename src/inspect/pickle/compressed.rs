//! Compressed pickles: what joblib writes with `compress=` (zlib, gzip,
//! bz2, lzma, xz), found by the compressed stream's magic and by the
//! decompressed bytes starting like a pickle, never by the file name.
//!
//! Decompression is bounded: the pickle walker reads at most
//! `Limits::pickle_max_scan_bytes` of decompressed output and stops at
//! STOP, and the LZMA decoders get a dictionary memory cap, so a bomb is
//! never inflated past those budgets (a pickle cut by the budget makes the
//! verdict an error: fail closed).

use std::io::{self, Read};

use super::scan::{Report, Source};
use super::{finish, scan_stream};
use crate::inspect::facts::{Finding, Format, ModelFacts};
use crate::limits::Limits;

/// Memory the LZMA decoders may use for their dictionary (xz's preset 9
/// uses 64 MiB).
const LZMA_MEMORY_KIB: u32 = 64 << 10;

/// A compressed stream format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// zlib (RFC 1950), joblib's default `compress=True`.
    Zlib,
    /// gzip (RFC 1952).
    Gzip,
    Bzip2,
    /// LZMA "alone" (`.lzma`).
    Lzma,
    Xz,
}

impl Compression {
    fn name(self) -> &'static str {
        match self {
            Compression::Zlib => "zlib",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Lzma => "lzma",
            Compression::Xz => "xz",
        }
    }
}

/// The compressed format the first bytes start, if any (the magic numbers
/// joblib's `compressor` module checks, made stricter where they are short).
pub fn sniff(head: &[u8]) -> Option<Compression> {
    match head {
        // CMF 0x78 (deflate, 32 KiB window) and a valid FCHECK, no preset dictionary.
        [0x78, flg, ..] if (0x7800u16 | u16::from(*flg)).is_multiple_of(31) && flg & 0x20 == 0 => {
            Some(Compression::Zlib)
        }
        [0x1f, 0x8b, 0x08, ..] => Some(Compression::Gzip),
        _ if crate::inspect::hidden::is_bzip2(head) => Some(Compression::Bzip2),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Compression::Xz),
        // Properties byte lc=3 lp=0 pb=2 (every encoder's default), then a
        // dictionary size of at least 4 KiB.
        [0x5d, d0, d1, d2, d3, ..] if u32::from_le_bytes([*d0, *d1, *d2, *d3]) >= 4096 => {
            Some(Compression::Lzma)
        }
        _ => None,
    }
}

/// A reader that remembers the first error the file itself returned, so a
/// device failure is never mistaken for a damaged stream (decoders report
/// damage as I/O errors too).
struct Watch<R> {
    inner: R,
    failure: Option<io::Error>,
}

impl<R: Read> Read for Watch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if self.failure.is_none() && e.kind() != io::ErrorKind::Interrupted {
                self.failure = Some(io::Error::new(e.kind(), e.to_string()));
            }
        })
    }
}

fn decoder<'a, R: Read + 'a>(kind: Compression, inner: R) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match kind {
        Compression::Zlib => Box::new(flate2::read::ZlibDecoder::new(inner)),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(inner)),
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            inner,
            true,
            LZMA_MEMORY_KIB,
        )),
        Compression::Lzma => Box::new(lzma_rust2::LzmaReader::new_mem_limit(
            inner,
            LZMA_MEMORY_KIB,
            None,
        )?),
    })
}

/// Inspect a compressed stream: `Ok(None)` when its decompressed start is
/// not a pickle (then the file is not described as one), else the pickle's
/// facts (format `pickle`, with a `pickle.compressed` note). `Err` only for
/// errors of `reader` itself.
pub fn inspect<R: Read>(
    reader: &mut R,
    kind: Compression,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> io::Result<Option<ModelFacts>> {
    let mut watched = Watch {
        inner: reader,
        failure: None,
    };
    let outcome = scan(&mut watched, kind, file_len, file_name, limits);
    if let Some(failure) = watched.failure {
        return Err(failure);
    }
    Ok(outcome)
}

fn scan<R: Read>(
    watched: &mut Watch<R>,
    kind: Compression,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> Option<ModelFacts> {
    let mut stream = decoder(kind, &mut *watched).ok()?;
    let mut head = Vec::with_capacity(64);
    stream.by_ref().take(64).read_to_end(&mut head).ok()?;
    if !super::is_pickle_start(&head) {
        return None;
    }
    let mut facts = ModelFacts::new(Format::Pickle, file_name, file_len);
    facts.push(Finding::info(
        "pickle.compressed",
        format!(
            "a {}-compressed pickle (how joblib stores compressed files); scanned decompressed",
            kind.name()
        ),
    ));
    let mut report = Report::default();
    let mut cut_short = None;
    let place = format!(" (decompressed {})", kind.name());
    let chained = io::Cursor::new(head).chain(stream);
    let mut src = Source::new(chained, limits.pickle_max_scan_bytes, None);
    if let Err(e) = scan_stream(&mut src, &mut report, &mut facts, &mut cut_short, &place) {
        // The decoder's own damage report (the file's errors are kept by
        // `Watch` and returned by the caller).
        facts.push(Finding::error(
            "pickle.malformed",
            format!("the {} stream is damaged: {e}", kind.name()),
        ));
    }
    finish(&mut facts, report, cut_short);
    Some(facts)
}
