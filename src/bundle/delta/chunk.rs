//! Content-defined chunks (FastCDC, the `fastcdc` crate's 2020 variant):
//! where a writer cuts a file so that an edit moves only the chunks around
//! it. Readers never cut anything: a recipe names its ranges, and how they
//! were chosen is the writer's business (docs/bundle-format.md §14).

use std::io::{self, Read};

use super::recipe::MAX_OPS;
use crate::io::digest::Sha256Digest;

/// One chunk of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Where it starts.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// The SHA-256 of its bytes.
    pub sha256: Sha256Digest,
}

/// FastCDC's (minimum, average, maximum) chunk sizes for a file of `size`
/// bytes: 16/64/256 KiB, larger for files that would need more than half
/// of [`MAX_OPS`] chunks, up to the crate's 4 MiB average.
pub fn chunk_sizes(size: u64) -> (usize, usize, usize) {
    let mut average: u64 = 64 << 10;
    let most = u64::from(MAX_OPS / 2);
    while size / average > most && average < (4 << 20) {
        average *= 2;
    }
    let average = usize::try_from(average).unwrap_or(4 << 20);
    (
        average / 4,
        average,
        average.saturating_mul(4).min(16 << 20),
    )
}

/// Cut `reader` (`size` bytes) into chunks, in order, giving each to
/// `on_chunk`.
pub fn chunks(
    reader: impl Read,
    size: u64,
    on_chunk: &mut dyn FnMut(Chunk) -> io::Result<()>,
) -> io::Result<()> {
    let (min, avg, max) = chunk_sizes(size);
    let cdc = fastcdc::v2020::StreamCDC::new(reader, min, avg, max);
    for chunk in cdc {
        let chunk = chunk.map_err(|e| match e {
            fastcdc::v2020::Error::IoError(e) => e,
            other => io::Error::other(other.to_string()),
        })?;
        on_chunk(Chunk {
            offset: chunk.offset,
            length: chunk.length as u64,
            sha256: Sha256Digest::of(&chunk.data),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_file_in_order_and_an_edit_moves_few() -> io::Result<()> {
        // A deterministic pseudo-random file of 1 MiB.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..(1 << 20))
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        let cut = |d: &[u8]| -> io::Result<Vec<Chunk>> {
            let mut out = Vec::new();
            chunks(d, d.len() as u64, &mut |c| {
                out.push(c);
                Ok(())
            })?;
            Ok(out)
        };
        let a = cut(&data)?;
        let mut end = 0;
        for c in &a {
            assert_eq!(c.offset, end);
            end += c.length;
        }
        assert_eq!(end, data.len() as u64);
        let mut edited = data.clone();
        edited.splice(1000..1000, b"an inserted line\n".iter().copied());
        let b = cut(&edited)?;
        let old: std::collections::HashSet<_> = a.iter().map(|c| c.sha256).collect();
        let new_chunks = b.iter().filter(|c| !old.contains(&c.sha256)).count();
        assert!(
            new_chunks <= 2,
            "{new_chunks} chunks changed for one insert"
        );
        Ok(())
    }

    #[test]
    fn chunk_sizes_keep_the_count_under_the_reader_limit() {
        for size in [0u64, 1 << 20, 1 << 30, 64 << 30, 1 << 40, 1 << 42] {
            let (min, avg, max) = chunk_sizes(size);
            assert!(min < avg && avg < max);
            if size <= 1 << 42 {
                assert!(size / min as u64 <= u64::from(MAX_OPS) * 4);
                assert!(size / avg as u64 <= u64::from(MAX_OPS));
            }
        }
    }
}
