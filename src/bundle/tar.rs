//! The bundle's tar profile: POSIX ustar (IEEE 1003.1-1988, as in
//! POSIX.1-2017 `pax` "ustar Interchange Format") with fixed field values,
//! written and read here without a general tar library so that every byte is
//! accounted for. See docs/bundle-format.md, "Tar profile".
//!
//! Writer: regular files only, mode 0644, uid/gid 0, mtime 0, empty
//! uname/gname, devmajor/devminor empty (as Python's tarfile writes them
//! for regular files), no PAX or GNU extension headers ever; names longer than 100
//! bytes use the ustar prefix field; sizes of 8 GiB and more use the
//! base-256 size encoding (GNU tar, bsdtar, Go and Python read it).
//! Reader: accepts exactly what the writer produces and nothing else.

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::ReadLimits;
use super::path::{BundlePath, FoldKeys, FoldKeysTooLong, PathError};
use crate::io::out::{Out, OutCursor};

/// Tar block size.
pub const BLOCK: u64 = 512;
/// End-of-archive marker: two zero blocks.
pub const END_MARKER_LEN: u64 = 2 * BLOCK;
/// Largest size the 11-digit octal field holds: 8^11 − 1.
const OCTAL_SIZE_MAX: u64 = (1 << 33) - 1;

/// Field offsets (POSIX ustar header).
mod field {
    use std::ops::Range;
    pub const NAME: Range<usize> = 0..100;
    pub const MODE: Range<usize> = 100..108;
    pub const UID: Range<usize> = 108..116;
    pub const GID: Range<usize> = 116..124;
    pub const SIZE: Range<usize> = 124..136;
    pub const MTIME: Range<usize> = 136..148;
    pub const CHKSUM: Range<usize> = 148..156;
    pub const TYPEFLAG: usize = 156;
    pub const LINKNAME: Range<usize> = 157..257;
    pub const MAGIC: Range<usize> = 257..263;
    pub const VERSION: Range<usize> = 263..265;
    pub const UNAME: Range<usize> = 265..297;
    pub const GNAME: Range<usize> = 297..329;
    pub const DEVMAJOR: Range<usize> = 329..337;
    pub const DEVMINOR: Range<usize> = 337..345;
    pub const PREFIX: Range<usize> = 345..500;
    pub const PAD: Range<usize> = 500..512;
}

const MODE_0644: &[u8; 8] = b"0000644\0";
const ZERO_7: &[u8; 8] = b"0000000\0";
const ZERO_11: &[u8; 12] = b"00000000000\0";
const MAGIC: &[u8; 6] = b"ustar\0";
const VERSION: &[u8; 2] = b"00";

/// A malformed or refused tar structure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TarError {
    /// The header checksum is wrong or not in canonical form.
    #[error("header at offset {offset}: bad checksum")]
    Checksum {
        /// Header offset.
        offset: u64,
    },
    /// Not a ustar header (magic/version).
    #[error("header at offset {offset}: not a POSIX ustar header")]
    NotUstar {
        /// Header offset.
        offset: u64,
    },
    /// An entry type other than a regular file.
    #[error("entry at offset {offset}: {kind} entries are not allowed")]
    EntryType {
        /// Header offset.
        offset: u64,
        /// What it is.
        kind: &'static str,
    },
    /// A header field differs from the profile's fixed value.
    #[error("entry {name:?}: field {field} is not the fixed profile value")]
    Field {
        /// Entry name (as text, possibly lossy).
        name: String,
        /// Which field.
        field: &'static str,
    },
    /// The entry name is not canonical.
    #[error("entry at offset {offset}")]
    Name {
        /// Header offset.
        offset: u64,
        /// Why.
        #[source]
        source: PathError,
    },
    /// A name cannot be stored in ustar name/prefix fields.
    #[error("name {name:?} does not fit the ustar name and prefix fields")]
    NameTooLong {
        /// The name.
        name: String,
    },
    /// The file ends inside an entry or before the end-of-archive marker.
    #[error("bundle is truncated at offset {offset}: {what}")]
    Truncated {
        /// Where the damage starts (the start of the incomplete entry).
        offset: u64,
        /// What is missing.
        what: Truncation,
    },
    /// Bytes after the end-of-archive marker.
    #[error("bundle has {extra} bytes after the end-of-archive marker at offset {offset}")]
    TrailingData {
        /// Marker offset.
        offset: u64,
        /// How many bytes follow.
        extra: u64,
    },
    /// A zero block not followed by a second one (damaged end marker).
    #[error("bundle has a damaged end-of-archive marker at offset {offset}")]
    BadEndMarker {
        /// Offset.
        offset: u64,
    },
    /// A value does not fit the header field it is written to (a bug in the
    /// writer: names are split to fit before they are written).
    #[error("a {len}-byte value does not fit the header field at byte {offset}")]
    FieldOverflow {
        /// The field's first byte in the header.
        offset: usize,
        /// The value's length.
        len: usize,
    },
    /// The zero padding after an entry's data holds other bytes.
    #[error("entry {name:?}: the padding after its data is not all zero bytes")]
    Padding {
        /// Entry name.
        name: String,
    },
    /// More entries than allowed.
    #[error("bundle has more than {limit} entries")]
    TooManyEntries {
        /// Cap.
        limit: usize,
    },
    /// The entry names are too long in total for the collision check.
    #[error("entry at offset {offset}")]
    NamesTooLong {
        /// Header offset of the entry that went over.
        offset: u64,
        /// The cap.
        #[source]
        source: FoldKeysTooLong,
    },
    /// I/O error.
    #[error("could not read or write the bundle")]
    Io(#[from] io::Error),
}

/// What a truncated bundle is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// The file ends right after the last entry.
    EndMarkerMissing,
    /// The file ends inside the end-of-archive marker.
    EndMarkerIncomplete,
    /// The file ends inside a header.
    TornHeader,
    /// The file ends inside an entry's data or padding.
    EntryData,
}

impl Truncation {
    /// Whether the end-of-archive marker is what is missing: an append
    /// that wrote its link but not the marker after it never finished.
    pub fn is_end_marker(self) -> bool {
        match self {
            Truncation::EndMarkerMissing | Truncation::EndMarkerIncomplete => true,
            Truncation::TornHeader | Truncation::EntryData => false,
        }
    }
}

impl std::fmt::Display for Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Truncation::EndMarkerMissing => "missing end-of-archive marker",
            Truncation::EndMarkerIncomplete => "end-of-archive marker is incomplete",
            Truncation::TornHeader => "torn header",
            Truncation::EntryData => "entry data is incomplete",
        })
    }
}

impl TarError {
    /// The class of this error: reading failed (I/O), or the bytes break
    /// the profile (malformed).
    pub fn class(&self) -> crate::Class {
        match self {
            TarError::Io(_) => crate::Class::Io,
            TarError::Checksum { .. }
            | TarError::NotUstar { .. }
            | TarError::EntryType { .. }
            | TarError::Field { .. }
            | TarError::Name { .. }
            | TarError::NameTooLong { .. }
            | TarError::Truncated { .. }
            | TarError::TrailingData { .. }
            | TarError::BadEndMarker { .. }
            | TarError::FieldOverflow { .. }
            | TarError::Padding { .. }
            | TarError::TooManyEntries { .. }
            | TarError::NamesTooLong { .. } => crate::Class::Malformed,
        }
    }

    /// Where an incomplete tail starts, when this error is the kind an
    /// interrupted append leaves (a torn header, a short entry, a short
    /// end marker). Used by `sign` to repair, and by readers to say so.
    pub fn incomplete_tail_offset(&self) -> Option<u64> {
        match self {
            TarError::Truncated { offset, .. } | TarError::BadEndMarker { offset } => Some(*offset),
            TarError::Checksum { offset } => Some(*offset),
            _ => None,
        }
    }
}

/// Split a name into ustar (prefix, name) by the format's one rule
/// (docs/bundle-format.md [B6]): a name of at most 100 bytes is not split;
/// a longer one at the LAST `/` among its first 156 bytes (the longest
/// prefix of at most 155 bytes), and the rest must be 1–100 bytes. This is
/// GNU tar's and Go's `archive/tar` split; Python's
/// `tarfile._posix_split_name` takes the shortest prefix instead, and a
/// header split that way is refused.
pub fn ustar_split(name: &str) -> Option<(&str, &str)> {
    if name.len() <= 100 {
        return Some(("", name));
    }
    // Bytes, not `str` slicing: byte 156 may fall inside a multi-byte
    // character, and a `/` (ASCII) is always a character boundary.
    let window = name.as_bytes().get(..name.len().min(156))?;
    let slash = window.iter().rposition(|&b| b == b'/')?;
    let (prefix, rest) = (name.get(..slash)?, name.get(slash + 1..)?);
    (!prefix.is_empty() && !rest.is_empty() && rest.len() <= 100).then_some((prefix, rest))
}

/// Encode one header for a regular file of `size` bytes.
pub fn encode_header(name: &BundlePath, size: u64) -> Result<[u8; 512], TarError> {
    let too_long = || TarError::NameTooLong {
        name: name.as_str().to_owned(),
    };
    let (prefix, short) = ustar_split(name.as_str()).ok_or_else(too_long)?;
    let mut h = [0u8; 512];
    put(&mut h, field::NAME, short.as_bytes())?;
    put(&mut h, field::MODE, MODE_0644)?;
    put(&mut h, field::UID, ZERO_7)?;
    put(&mut h, field::GID, ZERO_7)?;
    put(&mut h, field::SIZE, &encode_size(size))?;
    put(&mut h, field::MTIME, ZERO_11)?;
    put(&mut h, field::CHKSUM, b"        ")?;
    put(&mut h, field::TYPEFLAG..field::TYPEFLAG + 1, b"0")?;
    put(&mut h, field::MAGIC, MAGIC)?;
    put(&mut h, field::VERSION, VERSION)?;
    put(&mut h, field::PREFIX, prefix.as_bytes())?;
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    // Six octal digits, NUL, space: the 8th byte keeps the space it was summed with.
    put(&mut h, field::CHKSUM, format!("{sum:06o}\0").as_bytes())?;
    Ok(h)
}

/// Write `bytes` at the start of header field `range`; a value longer than
/// its field is refused, never cut.
fn put(h: &mut [u8; 512], range: std::ops::Range<usize>, bytes: &[u8]) -> Result<(), TarError> {
    let overflow = || TarError::FieldOverflow {
        offset: range.start,
        len: bytes.len(),
    };
    if bytes.len() > range.len() {
        return Err(overflow());
    }
    let dst = h
        .get_mut(range.start..range.start.saturating_add(bytes.len()))
        .ok_or_else(overflow)?;
    dst.copy_from_slice(bytes);
    Ok(())
}

fn encode_size(size: u64) -> [u8; 12] {
    let mut out = [0u8; 12];
    if size <= OCTAL_SIZE_MAX {
        out.copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        // Base-256: high bit of the first byte set, big-endian value.
        out[0] = 0x80;
        out[4..].copy_from_slice(&size.to_be_bytes());
    }
    out
}

fn decode_size(f: &[u8]) -> Option<u64> {
    let first = *f.first()?;
    if first == 0x80 {
        // Canonical only: the high bytes are zero and the value needs base-256.
        if f.get(1..4)? != [0, 0, 0] {
            return None;
        }
        let v = u64::from_be_bytes(f.get(4..12)?.try_into().ok()?);
        return (v > OCTAL_SIZE_MAX).then_some(v);
    }
    parse_octal_exact(f, 11)
}

/// `digits` octal digits then NUL, nothing else.
fn parse_octal_exact(f: &[u8], digits: usize) -> Option<u64> {
    if f.len() != digits + 1 || f.last() != Some(&0) {
        return None;
    }
    let mut v: u64 = 0;
    for &b in f.get(..digits)? {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Text of a NUL-padded field: bytes before the first NUL; all following
/// bytes must be NUL too.
fn nul_field(f: &[u8]) -> Option<&[u8]> {
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    let (text, rest) = f.split_at(end);
    rest.iter().all(|&b| b == 0).then_some(text)
}

/// One regular-file entry found by [`walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// The entry name.
    pub name: BundlePath,
    /// Offset of its header.
    pub header_offset: u64,
    /// Offset of its data.
    pub data_offset: u64,
    /// Data size.
    pub size: u64,
}

impl TarEntry {
    /// Offset just after its data padding.
    pub fn end_offset(&self) -> u64 {
        self.data_offset.saturating_add(padded(self.size))
    }
}

/// `size` rounded up to a whole block.
pub fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK).saturating_mul(BLOCK)
}

/// The zero bytes that follow `size` bytes of entry data up to the next
/// block: what [`TarWriter`] writes after an entry's data, and what a
/// reader presenting a bundle without writing it (a registry's layers
/// read in place) gives there.
pub fn padding(size: u64) -> &'static [u8] {
    const ZEROS: [u8; BLOCK as usize] = [0; BLOCK as usize];
    let pad = usize::try_from(padded(size) - size).unwrap_or(0);
    ZEROS.get(..pad).unwrap_or_default()
}

/// The end-of-archive marker's bytes.
pub const END_MARKER: [u8; END_MARKER_LEN as usize] = [0; END_MARKER_LEN as usize];

/// Decode and check one non-zero header block at `offset`.
fn decode_header(h: &[u8; 512], offset: u64) -> Result<(BundlePath, u64), TarError> {
    let stored = h.get(field::CHKSUM).ok_or(TarError::Checksum { offset })?;
    let canonical = stored.get(6..) == Some(b"\0 ");
    let want = stored.get(..7).and_then(|f| parse_octal_exact(f, 6));
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if field::CHKSUM.contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    if !canonical || want != Some(sum) {
        return Err(TarError::Checksum { offset });
    }
    let kind = match h.get(field::TYPEFLAG).copied().unwrap_or(0) {
        b'0' => None,
        0 => Some("old-style regular file (typeflag NUL)"),
        b'1' => Some("hard link"),
        b'2' => Some("symbolic link"),
        b'3' => Some("character device"),
        b'4' => Some("block device"),
        b'5' => Some("directory"),
        b'6' => Some("FIFO"),
        b'7' => Some("contiguous file"),
        b'x' | b'g' => Some("PAX extended header"),
        b'L' | b'K' => Some("GNU long name"),
        b'S' => Some("GNU sparse file"),
        _ => Some("unknown-type"),
    };
    if let Some(kind) = kind {
        return Err(TarError::EntryType { offset, kind });
    }
    if h.get(field::MAGIC) != Some(MAGIC) || h.get(field::VERSION) != Some(VERSION) {
        return Err(TarError::NotUstar { offset });
    }
    let name_err = |source| TarError::Name { offset, source };
    let short =
        nul_field(h.get(field::NAME).unwrap_or_default()).ok_or(name_err(PathError::NotUtf8))?;
    let prefix =
        nul_field(h.get(field::PREFIX).unwrap_or_default()).ok_or(name_err(PathError::NotUtf8))?;
    let mut full = Vec::with_capacity(prefix.len() + 1 + short.len());
    if !prefix.is_empty() {
        full.extend_from_slice(prefix);
        full.push(b'/');
    }
    full.extend_from_slice(short);
    let name = BundlePath::from_bytes(&full).map_err(name_err)?;
    let field_err = |field| TarError::Field {
        name: name.as_str().to_owned(),
        field,
    };
    if ustar_split(name.as_str())
        != std::str::from_utf8(prefix)
            .ok()
            .zip(std::str::from_utf8(short).ok())
    {
        return Err(field_err("name/prefix split"));
    }
    let fixed: [(&str, std::ops::Range<usize>, &[u8]); 4] = [
        ("mode", field::MODE, MODE_0644),
        ("uid", field::UID, ZERO_7),
        ("gid", field::GID, ZERO_7),
        ("mtime", field::MTIME, ZERO_11),
    ];
    for (label, range, value) in fixed {
        if h.get(range) != Some(value) {
            return Err(field_err(label));
        }
    }
    let zero = |r: std::ops::Range<usize>| h.get(r).is_some_and(|f| f.iter().all(|&b| b == 0));
    for (label, range) in [
        ("linkname", field::LINKNAME),
        ("uname", field::UNAME),
        ("gname", field::GNAME),
        ("devmajor", field::DEVMAJOR),
        ("devminor", field::DEVMINOR),
        ("padding", field::PAD),
    ] {
        if !zero(range) {
            return Err(field_err(label));
        }
    }
    let size = h
        .get(field::SIZE)
        .and_then(decode_size)
        .ok_or_else(|| field_err("size"))?;
    Ok((name, size))
}

/// The structure of a bundle file: its entries in order and where its end
/// marker is. Seeks over data; reads only 512-byte headers.
#[derive(Debug)]
pub struct TarLayout {
    /// Entries in file order.
    pub entries: Vec<TarEntry>,
    /// Offset of the end-of-archive marker (= where an append writes).
    pub end_offset: u64,
}

/// Walk every header of `file` (length `file_len`), checking the profile,
/// canonical and collision-free names, sizes against the file length, the
/// end marker, and that nothing follows it. At most
/// [`ReadLimits::max_entries`] entries, whose names' fold keys total at most
/// [`ReadLimits::max_folded_name_bytes`].
#[cfg(any(test, feature = "internals"))]
pub fn walk<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    limits: &ReadLimits,
) -> Result<TarLayout, TarError> {
    let (entries, end) = walk_entries(file, file_len, limits);
    end.map(|end_offset| TarLayout {
        entries,
        end_offset,
    })
}

/// [`walk`], returning the entries read before any error too (what `sign`
/// needs to repair a torn tail).
///
/// Collisions are checked once over every entry read (docs/bundle-format.md
/// [B16]), keeping one fold key per entry (see [`FoldKeys`]); a collision
/// is damage before any torn tail, so it is the error when there is one,
/// and the entries returned are those before the later of the pair.
pub fn walk_entries<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    limits: &ReadLimits,
) -> (Vec<TarEntry>, Result<u64, TarError>) {
    let mut entries: Vec<TarEntry> = Vec::new();
    let mut keys = FoldKeys::new(limits.max_folded_name_bytes);
    let result = walk_into(
        file,
        file_len,
        limits.max_entries(),
        &mut entries,
        &mut keys,
    );
    if let Some((earlier, later)) = keys.first_collision() {
        let name = |i: usize| {
            entries
                .get(i)
                .map(|e| e.name.as_str().to_owned())
                .unwrap_or_default()
        };
        let error = TarError::Name {
            offset: entries.get(later).map_or(0, |e| e.header_offset),
            source: PathError::Collision {
                path: name(later),
                other: name(earlier),
            },
        };
        entries.truncate(later);
        return (entries, Err(error));
    }
    (entries, result)
}

fn walk_into<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    max_entries: usize,
    entries: &mut Vec<TarEntry>,
    keys: &mut FoldKeys,
) -> Result<u64, TarError> {
    let mut offset = 0u64;
    loop {
        let mut block = [0u8; 512];
        if offset.saturating_add(BLOCK) > file_len {
            return Err(TarError::Truncated {
                offset,
                what: short_tail(file, offset, file_len)?,
            });
        }
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut block)?;
        if block.iter().all(|&b| b == 0) {
            return end_marker(file, offset, file_len).map(|()| offset);
        }
        let (name, size) = decode_header(&block, offset)?;
        if entries.len() >= max_entries {
            return Err(TarError::TooManyEntries { limit: max_entries });
        }
        let data_offset = offset.saturating_add(BLOCK);
        let entry = TarEntry {
            name,
            header_offset: offset,
            data_offset,
            size,
        };
        let end = data_offset
            .checked_add(padded(size))
            .filter(|&e| e <= file_len);
        let Some(end) = end else {
            return Err(TarError::Truncated {
                offset,
                what: Truncation::EntryData,
            });
        };
        check_padding(file, &entry)?;
        keys.push(&entry.name)
            .map_err(|source| TarError::NamesTooLong { offset, source })?;
        entries.push(entry);
        offset = end;
    }
}

/// The bytes between an entry's data and the next block must be zero: a
/// reader accepts exactly the bytes a writer produces, so no byte of a
/// bundle is free to change (the padding is covered by no digest). One
/// read of at most 511 bytes per entry.
fn check_padding<R: Read + Seek>(file: &mut R, entry: &TarEntry) -> Result<(), TarError> {
    let pad = padded(entry.size) - entry.size;
    if pad == 0 {
        return Ok(());
    }
    let mut buf = [0u8; 512];
    let window = buf
        .get_mut(..usize::try_from(pad).unwrap_or(0))
        .unwrap_or_default();
    file.seek(SeekFrom::Start(
        entry.data_offset.saturating_add(entry.size),
    ))?;
    file.read_exact(window)?;
    if window.iter().any(|&b| b != 0) {
        return Err(TarError::Padding {
            name: entry.name.as_str().to_owned(),
        });
    }
    Ok(())
}

/// Name what a tail shorter than one block is: nothing, zeros (a short end
/// marker), or the start of a header.
fn short_tail<R: Read + Seek>(
    file: &mut R,
    offset: u64,
    file_len: u64,
) -> Result<Truncation, TarError> {
    if offset == file_len {
        return Ok(Truncation::EndMarkerMissing);
    }
    let mut rest = Vec::with_capacity(512);
    file.seek(SeekFrom::Start(offset))?;
    file.take(BLOCK).read_to_end(&mut rest)?;
    Ok(if rest.iter().all(|&b| b == 0) {
        Truncation::EndMarkerIncomplete
    } else {
        Truncation::TornHeader
    })
}

fn end_marker<R: Read + Seek>(file: &mut R, offset: u64, file_len: u64) -> Result<(), TarError> {
    let marker_end = offset.saturating_add(END_MARKER_LEN);
    if marker_end > file_len {
        // A short tail of zeros: only what an interrupted append leaves.
        return Err(TarError::Truncated {
            offset,
            what: Truncation::EndMarkerIncomplete,
        });
    }
    let mut second = [0u8; 512];
    file.read_exact(&mut second)?;
    if second.iter().any(|&b| b != 0) {
        return Err(TarError::BadEndMarker { offset });
    }
    if marker_end < file_len {
        return Err(TarError::TrailingData {
            offset,
            extra: file_len - marker_end,
        });
    }
    Ok(())
}

/// Writes entries into a seekable file. Each entry is written as a
/// placeholder header, its data, its padding; then the real header (now that
/// the size is known) is written over the placeholder.
pub struct TarWriter {
    file: io::BufWriter<OutCursor>,
    offset: u64,
}

/// An entry being written: where its header goes.
#[must_use = "finish the entry with TarWriter::finish_entry"]
pub struct OpenEntry {
    name: BundlePath,
    header_offset: u64,
}

impl TarWriter {
    /// Write into `file` (a file, or a part set's span: `pack --split`)
    /// from offset `offset` (0 for a new bundle).
    pub fn new(file: impl Into<Out>, offset: u64) -> io::Result<Self> {
        let file = io::BufWriter::with_capacity(
            crate::io::digest::READ_BUFFER_BYTES,
            file.into().cursor(offset),
        );
        Ok(Self { file, offset })
    }

    /// Start an entry: reserve its header block.
    pub fn begin_entry(&mut self, name: &BundlePath) -> Result<OpenEntry, TarError> {
        // Checks the name fits now, so the final header cannot fail on it.
        encode_header(name, 0)?;
        let header_offset = self.offset;
        self.file.write_all(&[0u8; 512])?;
        self.offset = self.offset.saturating_add(BLOCK);
        Ok(OpenEntry {
            name: name.clone(),
            header_offset,
        })
    }

    /// The sink for the entry's data; count what you write.
    pub fn data(&mut self) -> &mut io::BufWriter<OutCursor> {
        &mut self.file
    }

    /// Finish an entry whose data (`size` bytes) was written through [`Self::data`].
    pub fn finish_entry(&mut self, entry: OpenEntry, size: u64) -> Result<TarEntry, TarError> {
        let data_offset = entry.header_offset.saturating_add(BLOCK);
        // The padding goes right after `size` bytes of data, wherever the
        // caller's writes left the position.
        self.file
            .seek(SeekFrom::Start(data_offset.saturating_add(size)))?;
        self.file.write_all(padding(size))?;
        let end = data_offset.saturating_add(padded(size));
        let header = encode_header(&entry.name, size)?;
        self.file.seek(SeekFrom::Start(entry.header_offset))?;
        self.file.write_all(&header)?;
        self.file.seek(SeekFrom::Start(end))?;
        self.offset = end;
        Ok(TarEntry {
            name: entry.name,
            header_offset: entry.header_offset,
            data_offset,
            size,
        })
    }

    /// Move past entries other handles write (header, data and padding,
    /// with positioned writes): the next entry starts at `offset`. Pack
    /// places raw artifacts and their SBOMs this way, by its plan, so that
    /// workers can fill several at once.
    pub fn skip_to(&mut self, offset: u64) -> io::Result<()> {
        self.offset = offset;
        self.file.seek(SeekFrom::Start(offset))?;
        Ok(())
    }

    /// Write a whole small entry.
    pub fn add_bytes(&mut self, name: &BundlePath, bytes: &[u8]) -> Result<TarEntry, TarError> {
        let entry = self.begin_entry(name)?;
        self.file.write_all(bytes)?;
        self.finish_entry(entry, bytes.len() as u64)
    }

    /// Write the end marker, flush and fsync; returns the file and its length.
    pub fn finish(mut self) -> Result<(Out, u64), TarError> {
        self.file.write_all(&END_MARKER)?;
        let len = self.offset.saturating_add(END_MARKER_LEN);
        let file = self
            .file
            .into_inner()
            .map_err(|e| TarError::Io(e.into_error()))?
            .into_inner();
        file.set_len(len)?;
        file.sync_all()?;
        Ok((file, len))
    }
}

/// The bytes an append writes at the end marker: one entry (header, data,
/// padding) and a new end marker.
pub fn entry_with_end_marker(name: &BundlePath, data: &[u8]) -> Result<Vec<u8>, TarError> {
    let header = encode_header(name, data.len() as u64)?;
    let size = data.len() as u64;
    let mut out =
        Vec::with_capacity(usize::try_from(BLOCK + padded(size) + END_MARKER_LEN).unwrap_or(0));
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    out.extend_from_slice(padding(size));
    out.extend_from_slice(&END_MARKER);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn p(s: &str) -> BundlePath {
        BundlePath::new(s).unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// [B6] counts bytes: wherever a multi-byte character falls around
    /// byte 156 (the window's edge) or byte 100, the split is the last `/`
    /// among the first 156 bytes, as a byte-wise reference computes it.
    #[test]
    fn split_counts_bytes_around_multibyte_characters() {
        let reference = |name: &str| -> Option<(usize, usize)> {
            let b = name.as_bytes();
            if b.len() <= 100 {
                return Some((0, b.len()));
            }
            let cut = b.iter().take(156).rposition(|&c| c == b'/')?;
            let rest = b.len() - cut - 1;
            (cut > 0 && (1..=100).contains(&rest)).then_some((cut, rest))
        };
        let mut checked = 0;
        for wide in ["é", "€", "𝄞"] {
            for head in 90..=160 {
                for tail in [1usize, 40, 95] {
                    let name = format!(
                        "{}/{}{}",
                        "d".repeat(head),
                        wide.repeat(3),
                        "f".repeat(tail)
                    );
                    let alt = format!(
                        "{}{}/{}",
                        "d".repeat(head),
                        wide.repeat(3),
                        "f".repeat(tail)
                    );
                    for n in [name, alt] {
                        let got = ustar_split(&n).map(|(a, b)| (a.len(), b.len()));
                        assert_eq!(got, reference(&n), "{n}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000);
    }

    /// docs/bundle-format.md [B6]: the longest prefix, also where a
    /// shorter one (Python tarfile's choice) would fit; the reader refuses
    /// the shorter split.
    #[test]
    fn split_takes_the_longest_prefix() -> Result<(), TarError> {
        assert_eq!(ustar_split("a/b"), Some(("", "a/b")));
        assert_eq!(
            ustar_split(&"x".repeat(100)),
            Some(("", "x".repeat(100).as_str()))
        );
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        assert_eq!(
            ustar_split(&long).map(|(a, b)| (a.len(), b.len())),
            Some((120, 90))
        );
        assert_eq!(ustar_split(&"x".repeat(101)), None);
        // Two splits fit: d60 | e60/f (shortest) and d60/e60 | f (longest).
        let two = format!("{}/{}/config.json.zst", "d".repeat(60), "e".repeat(60));
        assert_eq!(
            ustar_split(&two).map(|(a, b)| (a.len(), b)),
            Some((121, "config.json.zst"))
        );
        // The last `/` within 156 bytes, even one at byte 155 (a prefix of
        // exactly 155 bytes).
        let edge = format!("{}/{}", "p".repeat(155), "n".repeat(99));
        assert_eq!(
            ustar_split(&edge).map(|(a, b)| (a.len(), b.len())),
            Some((155, 99))
        );
        let mut shortest = encode_header(&p(&two), 5)?;
        put(&mut shortest, field::NAME, &[0u8; 100]);
        put(&mut shortest, field::PREFIX, &[0u8; 155]);
        put(
            &mut shortest,
            field::NAME,
            format!("{}/config.json.zst", "e".repeat(60)).as_bytes(),
        );
        put(&mut shortest, field::PREFIX, "d".repeat(60).as_bytes());
        resum(&mut shortest);
        assert!(matches!(
            decode_header(&shortest, 0),
            Err(TarError::Field {
                field: "name/prefix split",
                ..
            })
        ));
        Ok(())
    }

    #[test]
    fn size_encodings() {
        assert_eq!(&encode_size(5), b"00000000005\0");
        assert_eq!(
            decode_size(&encode_size(OCTAL_SIZE_MAX)),
            Some(OCTAL_SIZE_MAX)
        );
        let big = OCTAL_SIZE_MAX + 1;
        assert_eq!(encode_size(big)[0], 0x80);
        assert_eq!(decode_size(&encode_size(big)), Some(big));
        // Base-256 for a value octal can hold is not canonical.
        let mut small = [0u8; 12];
        small[0] = 0x80;
        small[11] = 5;
        assert_eq!(decode_size(&small), None);
    }

    #[test]
    fn header_round_trips() -> Result<(), TarError> {
        let name = p(&format!(
            "{}/{}/{}",
            "d".repeat(60),
            "e".repeat(60),
            "f".repeat(90)
        ));
        let h = encode_header(&name, 1234)?;
        assert_eq!(decode_header(&h, 0)?, (name, 1234));
        Ok(())
    }

    /// [`super::put`] for edits that fit (each test's own values).
    fn put(h: &mut [u8; 512], range: std::ops::Range<usize>, bytes: &[u8]) {
        assert!(
            super::put(h, range, bytes).is_ok(),
            "{bytes:?} does not fit"
        );
    }

    /// Recompute the checksum after an edit (6 octal digits, NUL, space),
    /// so the edit itself is what the reader sees.
    fn resum(h: &mut [u8; 512]) {
        put(h, field::CHKSUM, b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        put(h, field::CHKSUM, format!("{sum:06o}\0 ").as_bytes());
    }

    /// docs/bundle-format.md [B5]–[B11]: every header field the profile
    /// fixes, edited one at a time with a correct checksum, is refused; so
    /// are a wrong or non-canonical checksum, every other typeflag, a
    /// non-canonical size or name split, and bytes after a field's NUL.
    #[test]
    fn every_header_field_outside_the_profile_is_refused() -> Result<(), TarError> {
        let base = encode_header(&p("models/a.bin"), 5)?;
        assert!(decode_header(&base, 0).is_ok());
        type Edit = fn(&mut [u8; 512]);
        let edits: [(&str, Edit); 20] = [
            ("setuid mode", |h| put(h, field::MODE, b"0004755\0")),
            ("mode without NUL", |h| put(h, field::MODE, b"00006440")),
            ("uid", |h| put(h, field::UID, b"0001750\0")),
            ("gid", |h| put(h, field::GID, b"0001750\0")),
            ("mtime", |h| put(h, field::MTIME, b"14000000000\0")),
            ("linkname", |h| put(h, field::LINKNAME, b"/etc/passwd")),
            ("uname", |h| put(h, field::UNAME, b"root")),
            ("gname", |h| put(h, field::GNAME, b"wheel")),
            ("devmajor", |h| put(h, field::DEVMAJOR, b"0000001\0")),
            ("devminor", |h| put(h, field::DEVMINOR, b"0000001\0")),
            ("padding", |h| put(h, field::PAD, b"x")),
            ("gnu magic", |h| {
                put(h, field::MAGIC, b"ustar ");
                put(h, field::VERSION, b" \0");
            }),
            ("version", |h| put(h, field::VERSION, b"01")),
            ("name byte after its NUL", |h| {
                if let Some(b) = h.get_mut(99) {
                    *b = b'x';
                }
            }),
            ("prefix byte after its NUL", |h| {
                if let Some(b) = h.get_mut(field::PREFIX.end - 1) {
                    *b = b'x';
                }
            }),
            // A short name split into prefix + name: tarfile never does.
            ("non-canonical split", |h| {
                put(h, field::NAME, &[0u8; 100]);
                put(h, field::NAME, b"a.bin");
                put(h, field::PREFIX, b"models");
            }),
            ("base-256 size below 8 GiB", |h| {
                let mut f = [0u8; 12];
                f[0] = 0x80;
                f[11] = 5;
                put(h, field::SIZE, &f);
            }),
            ("base-256 size with high bytes", |h| {
                let mut f = [0u8; 12];
                f[0] = 0x80;
                f[1] = 1;
                f[4..].copy_from_slice(&(OCTAL_SIZE_MAX + 1).to_be_bytes());
                put(h, field::SIZE, &f);
            }),
            ("size with a space", |h| {
                put(h, field::SIZE, b"0000000005 \0")
            }),
            ("size without NUL", |h| put(h, field::SIZE, b"000000000005")),
        ];
        for (what, edit) in edits {
            let mut h = base;
            edit(&mut h);
            assert_ne!(h, base, "{what}: the edit changed nothing");
            resum(&mut h);
            assert!(decode_header(&h, 0).is_err(), "{what} accepted");
        }
        // Every typeflag but '0': links, devices, FIFOs, directories,
        // contiguous files, PAX and GNU extension headers, NUL, unknown.
        for flag in [
            0u8, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'x', b'g', b'L', b'K', b'S', b'A',
            b'V', b'M', b'N',
        ] {
            let mut h = base;
            if let Some(t) = h.get_mut(field::TYPEFLAG) {
                *t = flag;
            }
            resum(&mut h);
            assert!(
                matches!(decode_header(&h, 0), Err(TarError::EntryType { .. })),
                "typeflag {flag:#x} accepted"
            );
        }
        // The checksum: wrong, and right but in another spelling (7 digits
        // and NUL, or a space before the NUL, as old tars write it).
        let mut wrong = base;
        put(&mut wrong, field::CHKSUM, b"000001\0 ");
        assert!(matches!(
            decode_header(&wrong, 0),
            Err(TarError::Checksum { .. })
        ));
        let stored = base.get(field::CHKSUM).unwrap_or_default().to_vec();
        let digits = stored.get(..6).unwrap_or_default();
        for spelling in [
            [b"0".as_slice(), digits, b"\0"].concat(),
            [digits, b" \0"].concat(),
            [digits, b"\0\0"].concat(),
        ] {
            let mut h = base;
            put(&mut h, field::CHKSUM, &spelling);
            assert!(
                matches!(decode_header(&h, 0), Err(TarError::Checksum { .. })),
                "checksum spelt {spelling:?} accepted"
            );
        }
        Ok(())
    }

    #[test]
    fn walk_reads_what_append_writes() -> Result<(), TarError> {
        let mut bytes = entry_with_end_marker(&p("a"), b"hello")?;
        bytes.truncate(bytes.len() - END_MARKER_LEN as usize);
        bytes.extend(entry_with_end_marker(&p("b/c"), &[7u8; 600])?);
        let len = bytes.len() as u64;
        let layout = walk(&mut Cursor::new(bytes), len, &ReadLimits::default())?;
        let names: Vec<_> = layout
            .entries
            .iter()
            .map(|e| (e.name.as_str().to_owned(), e.size))
            .collect();
        assert_eq!(names, [("a".to_owned(), 5), ("b/c".to_owned(), 600)]);
        assert_eq!(layout.end_offset, 512 + 512 + 512 + 1024);
        Ok(())
    }
}
