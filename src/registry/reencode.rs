//! A zstd entry of the bundle, given back from its raw layer
//! (docs/registry.md, "zstd entries"). A registry layer is the decoded file;
//! the bundle's manifest also signs the entry's stored bytes ([B57]). `pack`
//! writes a zstd entry as one frame with a checksum, the content size
//! pledged and a fixed worker count ≥ 1, whose output does not depend on
//! the worker count or on how the input is fed ([B19], [B21]): the same
//! content, level and zstd library give the same bytes. So the node encodes
//! the layer again — level 3 (`auto` and `zstd`'s default) first, then 1 to
//! 19 — and keeps the encoding whose length and SHA-256 are the signed
//! ones. None matching (another zstd build, or bytes `pack` did not write)
//! is refused.

use std::io::{Read, Seek, SeekFrom, Write};

use super::error::RegistryError;
use crate::bundle::ManifestEntry;
use crate::io::digest::Hasher;
use crate::io::tee::HashingWriter;

/// The levels tried, in order.
fn levels() -> impl Iterator<Item = i32> {
    std::iter::once(3).chain((1..=19).filter(|l| *l != 3))
}

/// Encode `source` (from its start) at `level` into `out`, as `pack` does;
/// the stored length and SHA-256.
fn encode(
    source: &mut std::fs::File,
    len: u64,
    level: i32,
    out: &mut dyn Write,
) -> std::io::Result<(u64, crate::io::digest::Sha256Digest)> {
    source.seek(SeekFrom::Start(0))?;
    let mut sink = HashingWriter::new(out);
    let mut enc = zstd::stream::write::Encoder::new(&mut sink, level)?;
    enc.multithread(1)?;
    enc.include_checksum(true)?;
    enc.set_pledged_src_size(Some(len))?;
    std::io::copy(&mut source.take(len), &mut enc)?;
    enc.finish()?;
    let (_, hasher): (_, Hasher) = sink.into_parts();
    Ok((hasher.bytes(), hasher.finish()))
}

/// The level at which `raw` (the decoded file, `entry.size` bytes) encodes
/// to the entry's signed stored bytes.
pub fn find_level(raw: &mut std::fs::File, entry: &ManifestEntry) -> Result<i32, RegistryError> {
    // A version 1 manifest signs no stored bytes ([B58]): the stored
    // length, which its tar header carries, is all an encoding must match.
    let want = entry.stored_sha256;
    let io = |e: std::io::Error| RegistryError::Http {
        url: entry.path.as_str().to_owned(),
        reason: format!("re-encoding: {e}"),
    };
    for level in levels() {
        let (n, digest) = encode(raw, entry.size, level, &mut std::io::sink()).map_err(io)?;
        if n == entry.stored_size && want.is_none_or(|w| digest == w) {
            return Ok(level);
        }
    }
    Err(RegistryError::Digest {
        what: format!(
            "{} re-encoded with zstd",
            crate::safe::visible(entry.path.as_str())
        ),
        want: format!(
            "{} stored bytes{} (signed in the bundle manifest)",
            entry.stored_size,
            want.map_or(String::new(), |w| format!(", sha256:{}", w.to_hex()))
        ),
        got: "no zstd level 1-19 of this build gives them".into(),
    })
}

/// Write `raw` encoded at `level` into `out`; the stored length.
pub fn write(
    raw: &mut std::fs::File,
    entry: &ManifestEntry,
    level: i32,
    out: &mut dyn Write,
) -> Result<u64, RegistryError> {
    let io = |e: std::io::Error| RegistryError::Http {
        url: entry.path.as_str().to_owned(),
        reason: format!("re-encoding: {e}"),
    };
    let (n, _) = encode(raw, entry.size, level, out).map_err(io)?;
    Ok(n)
}
