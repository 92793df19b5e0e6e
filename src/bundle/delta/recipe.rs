//! The delta payload of a differential artifact (docs/bundle-format.md
//! §14, [B77]–[B78]): its binary form, written by [`RecipeWriter`] and read
//! by [`RecipeReader`], one operation at a time, so that no recipe is ever
//! held whole whatever its operation count.
//!
//! A payload is a head (magic, base path, operation count) and then, for
//! each operation, its 57-byte record followed, for a shipped chunk, by the
//! chunk's bytes. The reader checks the form as it goes: the kind, the
//! target offset (no gap, no overlap), the chunk length, the running total
//! against the manifest's `size`, and a shipped chunk's SHA-256 as its
//! bytes pass.

use std::io::{self, Read, Write};

use super::super::path::BundlePath;
use crate::io::digest::{Hasher, Sha256Digest};

/// The first 8 bytes of every delta payload.
pub const MAGIC: &[u8; 8] = b"LBOMDLT1";
/// Bytes of one operation record.
pub const OP_BYTES: u64 = 57;
/// Most operations one recipe may hold ([B78]): at the 64 KiB chunks `pack`
/// cuts, a 64 GiB file; the table is never held, so the cap bounds time.
pub const MAX_OPS: u32 = 1 << 20;

/// Where an operation's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Bytes of the base file, at `base_offset` (`B`, 0x42).
    Base,
    /// Bytes shipped in the payload right after the record (`S`, 0x53).
    Shipped,
}

impl OpKind {
    fn byte(self) -> u8 {
        match self {
            OpKind::Base => b'B',
            OpKind::Shipped => b'S',
        }
    }
}

/// One operation: the target range `[target_offset, target_offset +
/// length)` is filled from the base file or from shipped bytes, which must
/// have SHA-256 `sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// Where the bytes come from.
    pub kind: OpKind,
    /// Where they go in the rebuilt file.
    pub target_offset: u64,
    /// How many bytes (at least 1; together, the manifest's `size`).
    pub length: u64,
    /// For [`OpKind::Base`]: where they start in the base file; 0 for a
    /// shipped chunk.
    pub base_offset: u64,
    /// The SHA-256 of the bytes.
    pub sha256: Sha256Digest,
}

impl Op {
    /// The 57-byte record.
    pub fn to_record(self) -> [u8; OP_BYTES as usize] {
        let mut out = [0u8; OP_BYTES as usize];
        let mut at = 0usize;
        let mut put = |bytes: &[u8]| {
            if let Some(dst) = out.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        put(&[self.kind.byte()]);
        put(&self.target_offset.to_be_bytes());
        put(&self.length.to_be_bytes());
        put(&self.base_offset.to_be_bytes());
        put(self.sha256.as_bytes());
        out
    }
}

/// Why a payload is refused: each is a rule of [B78].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeError {
    /// The payload does not start with [`MAGIC`].
    #[error("the delta payload does not start with LBOMDLT1")]
    Magic,
    /// The base path is not a canonical artifact path.
    #[error("the recipe's base path is not a canonical path: {0}")]
    BasePath(String),
    /// More operations than [`MAX_OPS`].
    #[error("the recipe has {0} operations, more than the {MAX_OPS} a reader accepts")]
    TooManyOps(u32),
    /// An operation kind other than `B` and `S`.
    #[error("operation {index}: kind 0x{kind:02x} is neither B (base) nor S (shipped)")]
    Kind {
        /// Which operation (from 0).
        index: u32,
        /// Its kind byte.
        kind: u8,
    },
    /// A base operation in a recipe without a base file.
    #[error("operation {0} takes bytes from the base, but the recipe names no base file")]
    NoBaseFile(u32),
    /// A shipped chunk with a base offset.
    #[error("operation {0} is shipped but has a base offset")]
    ShippedBaseOffset(u32),
    /// An operation that does not start where the one before ended.
    #[error(
        "operation {index} starts at target offset {got}, not at {want} where the one before ended (a gap or an overlap)"
    )]
    Offset {
        /// Which operation.
        index: u32,
        /// Its target offset.
        got: u64,
        /// The end of the operations before it.
        want: u64,
    },
    /// A chunk of length 0.
    #[error("operation {index} has length {length}; an operation covers at least one byte")]
    Length {
        /// Which operation.
        index: u32,
        /// Its length.
        length: u64,
    },
    /// The operations rebuild more or fewer bytes than the manifest's size.
    #[error("the recipe rebuilds {got} bytes, the manifest says {want}")]
    Size {
        /// Bytes the recipe rebuilds (so far, when over).
        got: u64,
        /// The manifest's `size`.
        want: u64,
    },
    /// A base range past the end of the base file.
    #[error(
        "operation {index} reads base bytes {start} to {end}, past the end of the base file {path} ({size} bytes)"
    )]
    PastBase {
        /// Which operation.
        index: u32,
        /// Its first byte in the base file.
        start: u64,
        /// Its end.
        end: u64,
        /// The base file.
        path: String,
        /// Its size.
        size: u64,
    },
    /// A chunk whose bytes have another SHA-256 than its record.
    #[error("operation {index} ({what}): its bytes have SHA-256 {got}, the recipe says {want}")]
    ChunkDigest {
        /// Which operation.
        index: u32,
        /// `shipped` or `base`.
        what: &'static str,
        /// What the bytes hash to.
        got: Sha256Digest,
        /// What the record says.
        want: Sha256Digest,
    },
    /// The payload ends inside its head, a record or a chunk.
    #[error("the delta payload ends inside {0}")]
    Truncated(&'static str),
    /// Bytes after the last operation.
    #[error("the delta payload has bytes after its last operation")]
    Trailing,
}

/// The head of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The base file the base operations read, by its artifact path in the
    /// base version; `None` when the recipe uses no base file.
    pub base_path: Option<BundlePath>,
    /// How many operations follow.
    pub op_count: u32,
}

impl Head {
    /// The head's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let path = self.base_path.as_ref().map_or("", BundlePath::as_str);
        let mut out = Vec::with_capacity(14 + path.len());
        out.extend_from_slice(MAGIC);
        // A canonical path is at most 255 bytes ([B14]).
        out.extend_from_slice(&u16::try_from(path.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&self.op_count.to_be_bytes());
        out
    }
}

/// What a payload held, once read to its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadSummary {
    /// Operations.
    pub ops: u32,
    /// Bytes shipped in the payload.
    pub shipped_bytes: u64,
    /// Bytes taken from the base file.
    pub base_bytes: u64,
}

/// Fill `buf` from `r`; `Ok(false)` when `r` ended before the first byte,
/// an error naming `what` when it ended inside.
fn read_exact_or_end(r: &mut impl Read, buf: &mut [u8], what: &'static str) -> io::Result<bool> {
    let mut got = 0usize;
    while let Some(rest) = buf.get_mut(got..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(invalid(RecipeError::Truncated(what))),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// A recipe error carried through `io::Error` (the rebuild is a reader).
pub fn invalid(e: RecipeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The recipe error inside an `io::Error` from [`RecipeReader`] or the
/// rebuild, if it is one.
#[cfg(any(test, feature = "internals"))]
pub fn recipe_error(e: &io::Error) -> Option<&RecipeError> {
    e.get_ref()?.downcast_ref::<RecipeError>()
}

fn be_u64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    if let Some(src) = bytes.get(..8) {
        b.copy_from_slice(src);
    }
    u64::from_be_bytes(b)
}

/// Reads a payload's head and then its operations in order, checking the
/// form of each ([B78]) against the manifest's `size`. A shipped chunk's
/// bytes are read with [`Self::read_shipped`] before the next operation.
#[derive(Debug)]
pub struct RecipeReader<R> {
    inner: R,
    head: Head,
    size: u64,
    next: u32,
    rebuilt: u64,
    summary: PayloadSummary,
}

impl<R: Read> RecipeReader<R> {
    /// Read the head of the payload `inner`, for a file of `size` bytes.
    pub fn new(mut inner: R, size: u64) -> io::Result<Self> {
        let mut magic = [0u8; 8];
        if !read_exact_or_end(&mut inner, &mut magic, "its head")? || &magic != MAGIC {
            return Err(invalid(RecipeError::Magic));
        }
        let mut len = [0u8; 2];
        if !read_exact_or_end(&mut inner, &mut len, "its head")? {
            return Err(invalid(RecipeError::Truncated("its head")));
        }
        let len = usize::from(u16::from_be_bytes(len));
        let base_path = if len == 0 {
            None
        } else {
            // The length is at most 65,535: read, then judged (a canonical
            // path is at most 255 bytes).
            let mut path = vec![0u8; len];
            if !read_exact_or_end(&mut inner, &mut path, "its head")? {
                return Err(invalid(RecipeError::Truncated("its head")));
            }
            let text = String::from_utf8(path)
                .map_err(|_| invalid(RecipeError::BasePath("not UTF-8".into())))?;
            Some(
                BundlePath::new(&text)
                    .map_err(|e| invalid(RecipeError::BasePath(e.to_string())))?,
            )
        };
        let mut count = [0u8; 4];
        if !read_exact_or_end(&mut inner, &mut count, "its head")? {
            return Err(invalid(RecipeError::Truncated("its head")));
        }
        let op_count = u32::from_be_bytes(count);
        if op_count > MAX_OPS {
            return Err(invalid(RecipeError::TooManyOps(op_count)));
        }
        Ok(Self {
            inner,
            head: Head {
                base_path,
                op_count,
            },
            size,
            next: 0,
            rebuilt: 0,
            summary: PayloadSummary::default(),
        })
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The next operation, checked; `None` after the last, once the payload
    /// is seen to end there and the operations to rebuild exactly `size`
    /// bytes.
    pub fn next_op(&mut self) -> io::Result<Option<Op>> {
        let index = self.next;
        if index == self.head.op_count {
            let mut probe = [0u8; 1];
            if read_exact_or_end(&mut self.inner, &mut probe, "its end")? {
                return Err(invalid(RecipeError::Trailing));
            }
            if self.rebuilt != self.size {
                return Err(invalid(RecipeError::Size {
                    got: self.rebuilt,
                    want: self.size,
                }));
            }
            return Ok(None);
        }
        let mut record = [0u8; OP_BYTES as usize];
        if !read_exact_or_end(&mut self.inner, &mut record, "an operation record")? {
            return Err(invalid(RecipeError::Truncated("an operation record")));
        }
        let op = decode_record(index, &record, self.head.base_path.is_some())?;
        if op.target_offset != self.rebuilt {
            return Err(invalid(RecipeError::Offset {
                index,
                got: op.target_offset,
                want: self.rebuilt,
            }));
        }
        self.rebuilt = self.rebuilt.saturating_add(op.length);
        if self.rebuilt > self.size {
            return Err(invalid(RecipeError::Size {
                got: self.rebuilt,
                want: self.size,
            }));
        }
        self.next = index.saturating_add(1);
        self.summary.ops = self.next;
        match op.kind {
            OpKind::Base => {
                self.summary.base_bytes = self.summary.base_bytes.saturating_add(op.length);
            }
            OpKind::Shipped => {
                self.summary.shipped_bytes = self.summary.shipped_bytes.saturating_add(op.length);
            }
        }
        Ok(Some(op))
    }

    /// Read a shipped chunk's bytes (the operation `next_op` just gave),
    /// into `out`, checking their SHA-256; `buf` is the copy buffer.
    pub fn read_shipped(&mut self, op: &Op, out: &mut dyn Write, buf: &mut [u8]) -> io::Result<()> {
        let index = self.next.saturating_sub(1);
        let mut hasher = Hasher::new();
        let mut left = op.length;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let chunk = buf.get_mut(..want).unwrap_or_default();
            if !read_exact_or_end(&mut self.inner, chunk, "a shipped chunk")? {
                return Err(invalid(RecipeError::Truncated("a shipped chunk")));
            }
            hasher.update(chunk);
            out.write_all(chunk)?;
            left = left.saturating_sub(want as u64);
        }
        let got = hasher.finish();
        if got != op.sha256 {
            return Err(invalid(RecipeError::ChunkDigest {
                index,
                what: "shipped",
                got,
                want: op.sha256,
            }));
        }
        Ok(())
    }

    /// Read shipped bytes straight from the payload: the rebuild checks
    /// their digest itself.
    pub(super) fn read_raw(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return r,
            }
        }
    }

    /// What was read so far.
    pub fn summary(&self) -> &PayloadSummary {
        &self.summary
    }

    /// The reader of the payload.
    #[cfg(any(test, feature = "internals"))]
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The reader of the payload, borrowed.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

fn decode_record(index: u32, record: &[u8], has_base: bool) -> io::Result<Op> {
    let kind = match record.first().copied().unwrap_or(0) {
        b'B' => OpKind::Base,
        b'S' => OpKind::Shipped,
        other => return Err(invalid(RecipeError::Kind { index, kind: other })),
    };
    let target_offset = be_u64(record.get(1..9).unwrap_or_default());
    let length = be_u64(record.get(9..17).unwrap_or_default());
    let base_offset = be_u64(record.get(17..25).unwrap_or_default());
    let mut digest = [0u8; 32];
    if let Some(src) = record.get(25..57) {
        digest.copy_from_slice(src);
    }
    if kind == OpKind::Base && !has_base {
        return Err(invalid(RecipeError::NoBaseFile(index)));
    }
    if kind == OpKind::Shipped && base_offset != 0 {
        return Err(invalid(RecipeError::ShippedBaseOffset(index)));
    }
    if length == 0 {
        return Err(invalid(RecipeError::Length { index, length }));
    }
    Ok(Op {
        kind,
        target_offset,
        length,
        base_offset,
        sha256: Sha256Digest(digest),
    })
}

/// Check a whole payload without a base ([B78]): its form, the operations
/// against `size`, and every shipped chunk's SHA-256. Base operations are
/// only checked for form: rebuilding them needs the base version.
pub fn check_payload(payload: impl Read, size: u64) -> io::Result<(Head, PayloadSummary)> {
    let mut reader = RecipeReader::new(payload, size)?;
    let mut buf = vec![0u8; 64 << 10];
    while let Some(op) = reader.next_op()? {
        if op.kind == OpKind::Shipped {
            reader.read_shipped(&op, &mut io::sink(), &mut buf)?;
        }
    }
    Ok((reader.head().clone(), reader.summary().clone()))
}

/// Writes a payload: the head, then each operation (a shipped chunk's bytes
/// right after its record). The caller knows the operations beforehand
/// (the plan), so the payload's size is known before a byte is written.
#[derive(Debug)]
pub struct RecipeWriter<W> {
    out: W,
}

impl<W: Write> RecipeWriter<W> {
    /// Start a payload with `head`.
    pub fn new(mut out: W, head: &Head) -> io::Result<Self> {
        out.write_all(&head.to_bytes())?;
        Ok(Self { out })
    }

    /// Write one operation's record; a shipped chunk's bytes follow with
    /// [`Self::chunk`].
    pub fn op(&mut self, op: &Op) -> io::Result<()> {
        self.out.write_all(&op.to_record())
    }

    /// Write shipped bytes.
    pub fn chunk(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// The writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The payload size of a recipe with `head` and `ops`.
pub fn payload_size<'a>(head: &Head, ops: impl IntoIterator<Item = &'a Op>) -> u64 {
    let mut size = head.to_bytes().len() as u64;
    for op in ops {
        size = size.saturating_add(OP_BYTES);
        if op.kind == OpKind::Shipped {
            size = size.saturating_add(op.length);
        }
    }
    size
}

#[cfg(test)]
mod tests;
