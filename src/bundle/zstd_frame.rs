//! The zstd frame header rules of docs/bundle-format.md §4 ([B56]): what a
//! reader checks in a zstd entry's first bytes before it decodes anything.
//!
//! RFC 8878 §3.1.1 lets a frame say many things a bundle has no use for
//! and some decoders treat differently: a dictionary id (even 0), no
//! content size, no checksum, reserved bits, a window larger than any
//! level `pack` offers, or a skippable frame first. The header is parsed
//! here by hand, field by field, so the rules do not depend on what a zstd
//! library happens to tolerate.

/// RFC 8878 §3.1.1: `Magic_Number` of a Zstandard frame, little-endian.
const MAGIC: u32 = 0xFD2F_B528;

/// Largest window a reader allows: 8 MiB (2^23), the largest that levels
/// 1–19 use (zstd's parameter table gives level 19 `windowLog` 23 for
/// large inputs, and less for inputs that fit a smaller window). A
/// decoder holds about one window plus one 128 KiB block, so this keeps a
/// zstd entry's decoding far under the reader's memory target
/// (docs/bundle-format.md, "Reader limits").
pub const MAX_WINDOW_BYTES: u64 = 1 << 23;

/// `log2` of [`MAX_WINDOW_BYTES`], for the decoder's own cap.
pub const MAX_WINDOW_LOG: u32 = 23;

/// Longest frame header: magic 4, descriptor 1, window 1, dictionary id 4,
/// content size 8.
pub const MAX_HEADER_BYTES: usize = 18;

/// What a frame header says, once it passed the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// `Frame_Content_Size`.
    pub content_size: u64,
    /// The window the decoder needs.
    pub window_size: u64,
    /// Length of the header in bytes.
    pub header_len: usize,
}

/// Why a frame header breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Fewer bytes than the header needs.
    #[error("its zstd frame header is incomplete")]
    Short,
    /// The first four bytes are not the Zstandard magic number (a skippable
    /// frame, another format, or nothing).
    #[error(
        "does not start with a Zstandard frame (magic {0:#010x}; a skippable frame or other data first is refused)"
    )]
    Magic(u32),
    /// The reserved or unused bit of the descriptor is set.
    #[error("its zstd frame header sets a reserved or unused bit")]
    ReservedBit,
    /// `Content_Checksum_flag` is 0.
    #[error("its zstd frame has no content checksum")]
    NoChecksum,
    /// `Dictionary_ID_flag` is not 0: a dictionary id field, even 0.
    #[error("its zstd frame header has a dictionary id field")]
    DictionaryId,
    /// No `Frame_Content_Size` field.
    #[error("its zstd frame header does not record the content size")]
    NoContentSize,
    /// The window is larger than [`MAX_WINDOW_BYTES`].
    #[error("its zstd frame needs a {0}-byte window, more than the {MAX_WINDOW_BYTES}-byte limit")]
    Window(u64),
    /// A block of the reserved type 3.
    #[error("its zstd frame has a block of the reserved type")]
    ReservedBlock,
    /// A block larger than `Block_Maximum_Size`.
    #[error(
        "its zstd frame has a {size}-byte block, more than the frame's Block_Maximum_Size of {max} bytes"
    )]
    BlockTooLarge {
        /// The block's size.
        size: u64,
        /// `Block_Maximum_Size`: the window, at most 128 KiB.
        max: u64,
    },
    /// The entry ends inside the frame.
    #[error("its zstd frame is cut short")]
    Truncated,
}

/// RFC 8878 §3.1.1.2.3: no block is larger than 128 KiB.
const BLOCK_SIZE_MAX: u64 = 128 << 10;

/// The length of the frame header that `head` starts, once its descriptor
/// byte is there (§3.1.1.1): magic, descriptor, window descriptor unless
/// single-segment, dictionary id, content size.
fn header_len(head: &[u8]) -> Option<usize> {
    let descriptor = *head.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    let fcs_len = match (descriptor >> 6, single_segment) {
        (0, false) => 0,
        (0, true) => 1,
        (1, _) => 2,
        (2, _) => 4,
        _ => 8,
    };
    let dict_len = match descriptor & 0x03 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };
    Some(5 + usize::from(!single_segment) + dict_len + fcs_len)
}

/// Walks a zstd entry's stored bytes as they stream past, one frame:
/// header, blocks, checksum (RFC 8878 §3.1.1). It checks what a decoder
/// may tolerate and [B56] rule 5 forbids: no block of the reserved type,
/// no block (its stored size, which is also its decoded size for raw and
/// RLE blocks) larger than `Block_Maximum_Size`, the smaller of the window
/// and 128 KiB. Bytes after the frame are left to the caller, which
/// refuses them with its own count.
#[derive(Debug, Clone)]
pub struct BlockWalk {
    state: Walk,
    /// `Block_Maximum_Size`, once the header is known.
    block_max: u64,
}

#[derive(Debug, Clone)]
enum Walk {
    /// Collecting the header.
    Header(Vec<u8>),
    /// Collecting a 3-byte block header.
    BlockHeader([u8; 3], usize),
    /// Inside a block's content: bytes left, and whether it is the last.
    Content(u64, bool),
    /// Inside the 4-byte checksum: bytes left.
    Checksum(u64),
    /// After the frame.
    Done,
}

impl Default for BlockWalk {
    fn default() -> Self {
        Self {
            state: Walk::Header(Vec::with_capacity(MAX_HEADER_BYTES)),
            block_max: 0,
        }
    }
}

impl BlockWalk {
    /// Take the next stored bytes.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), FrameError> {
        while !bytes.is_empty() {
            match &mut self.state {
                Walk::Header(head) => {
                    let want = header_len(head).unwrap_or(5);
                    let take = want.saturating_sub(head.len()).min(bytes.len());
                    let (now, rest) = bytes.split_at(take);
                    head.extend_from_slice(now);
                    bytes = rest;
                    if head.len() >= 5 && header_len(head) == Some(head.len()) {
                        let header = check_header(head)?;
                        self.block_max = header.window_size.min(BLOCK_SIZE_MAX);
                        self.state = Walk::BlockHeader([0; 3], 0);
                    }
                }
                Walk::BlockHeader(buf, have) => {
                    let take = (3 - *have).min(bytes.len());
                    let (now, rest) = bytes.split_at(take);
                    for (dst, byte) in buf.iter_mut().skip(*have).zip(now) {
                        *dst = *byte;
                    }
                    *have += take;
                    bytes = rest;
                    if *have == 3 {
                        let [b0, b1, b2] = *buf;
                        let h = u32::from_le_bytes([b0, b1, b2, 0]);
                        let last = h & 1 == 1;
                        let size = u64::from(h >> 3);
                        let stored = match (h >> 1) & 0x03 {
                            // Raw: the size is the data; RLE: one byte
                            // repeated `size` times; compressed: the size
                            // is the stored content.
                            0 | 2 => size,
                            1 => 1,
                            _ => return Err(FrameError::ReservedBlock),
                        };
                        if size > self.block_max {
                            return Err(FrameError::BlockTooLarge {
                                size,
                                max: self.block_max,
                            });
                        }
                        self.state = Walk::Content(stored, last);
                        self.settle();
                    }
                }
                Walk::Content(left, _) | Walk::Checksum(left) => {
                    let take = (*left).min(bytes.len() as u64);
                    *left -= take;
                    bytes = bytes
                        .get(usize::try_from(take).unwrap_or(usize::MAX)..)
                        .unwrap_or_default();
                    self.settle();
                }
                Walk::Done => return Ok(()),
            }
        }
        Ok(())
    }

    /// Move past a finished block or checksum.
    fn settle(&mut self) {
        self.state = match self.state {
            Walk::Content(0, true) => Walk::Checksum(4),
            Walk::Content(0, false) => Walk::BlockHeader([0; 3], 0),
            Walk::Checksum(0) => Walk::Done,
            ref other => other.clone(),
        };
    }

    /// The stored bytes ended: the frame must be complete.
    pub fn finish(&self) -> Result<(), FrameError> {
        match self.state {
            Walk::Done => Ok(()),
            Walk::Header(ref head) if header_len(head).is_none_or(|n| head.len() < n) => {
                Err(FrameError::Short)
            }
            _ => Err(FrameError::Truncated),
        }
    }
}

/// Parse and check the frame header at the start of `head`.
pub fn check_header(head: &[u8]) -> Result<FrameHeader, FrameError> {
    let magic = head
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(FrameError::Short)?;
    if magic != MAGIC {
        return Err(FrameError::Magic(magic));
    }
    let descriptor = *head.get(4).ok_or(FrameError::Short)?;
    let fcs_flag = descriptor >> 6;
    let single_segment = descriptor & 0x20 != 0;
    if descriptor & 0x18 != 0 {
        return Err(FrameError::ReservedBit);
    }
    if descriptor & 0x04 == 0 {
        return Err(FrameError::NoChecksum);
    }
    if descriptor & 0x03 != 0 {
        return Err(FrameError::DictionaryId);
    }
    let fcs_len = match (fcs_flag, single_segment) {
        (0, false) => return Err(FrameError::NoContentSize),
        (0, true) => 1,
        (1, _) => 2,
        (2, _) => 4,
        _ => 8,
    };
    let mut at = 5;
    let window_descriptor = if single_segment {
        None
    } else {
        let w = *head.get(at).ok_or(FrameError::Short)?;
        at += 1;
        Some(w)
    };
    let field = head.get(at..at + fcs_len).ok_or(FrameError::Short)?;
    let mut le = [0u8; 8];
    le.get_mut(..fcs_len)
        .ok_or(FrameError::Short)?
        .copy_from_slice(field);
    let mut content_size = u64::from_le_bytes(le);
    if fcs_len == 2 {
        // RFC 8878 §3.1.1.1.4: the 2-byte form is offset by 256.
        content_size += 256;
    }
    let window_size = match window_descriptor {
        // §3.1.1.1.2: Window_Size = windowBase + windowBase / 8 * Mantissa,
        // windowBase = 2^(10 + Exponent).
        Some(w) => {
            let base = 1u64 << (10 + u32::from(w >> 3));
            base + (base / 8) * u64::from(w & 0x07)
        }
        // §3.1.1.1.2: a single-segment frame's window is its content.
        None => content_size,
    };
    if window_size > MAX_WINDOW_BYTES {
        return Err(FrameError::Window(window_size));
    }
    Ok(FrameHeader {
        content_size,
        window_size,
        header_len: at + fcs_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(content: &[u8], level: i32, checksum: bool, size: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = zstd::stream::write::Encoder::new(&mut out, level)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let _ = enc.include_checksum(checksum);
        let _ = enc.include_contentsize(size);
        let _ = enc.set_pledged_src_size(Some(content.len() as u64));
        let _ = std::io::Write::write_all(&mut enc, content);
        let _ = enc.finish();
        out
    }

    /// What lbom's writer produces passes, whatever the content size.
    #[test]
    fn frames_pack_writes_pass() {
        for len in [0usize, 1, 255, 256, 65_791, 65_792, 300_000] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for level in [1, 3, 19] {
                let f = frame(&content, level, true, true);
                let h = check_header(&f);
                assert!(
                    matches!(h, Ok(FrameHeader { content_size, .. }) if content_size == len as u64),
                    "{len} bytes at level {level}: {h:?}"
                );
            }
        }
    }

    /// docs/bundle-format.md [B56]: each rule, broken alone, is refused.
    #[test]
    fn every_rule_is_enforced() {
        let good = frame(b"hello hello hello hello", 3, true, true);
        assert!(check_header(&good).is_ok());
        assert_eq!(
            check_header(&frame(b"hello", 3, false, true)),
            Err(FrameError::NoChecksum)
        );
        assert_eq!(
            check_header(&frame(b"hello", 3, true, false)),
            Err(FrameError::NoContentSize)
        );
        let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0];
        skippable.extend(&good);
        assert!(matches!(
            check_header(&skippable),
            Err(FrameError::Magic(_))
        ));
        for bit in [0x08u8, 0x10] {
            let mut f = good.clone();
            if let Some(d) = f.get_mut(4) {
                *d |= bit;
            }
            assert_eq!(check_header(&f), Err(FrameError::ReservedBit), "{bit:#x}");
        }
        // A dictionary id field holding 0 (flag 1, one byte after the
        // descriptor of this single-segment frame).
        let mut dict = good.clone();
        if let Some(d) = dict.get_mut(4) {
            *d |= 0x01;
        }
        dict.insert(5, 0);
        assert_eq!(check_header(&dict), Err(FrameError::DictionaryId));
        // A header with a window descriptor: 4-byte content size (flag 2),
        // not single-segment, checksum on; window 2^24 (exponent 14) is
        // refused, 2^23 (exponent 13) allowed.
        let header = |window: u8| {
            let mut h = MAGIC.to_le_bytes().to_vec();
            h.extend([0x84, window]);
            h.extend(5u32.to_le_bytes());
            h
        };
        assert_eq!(
            check_header(&header(14 << 3)),
            Err(FrameError::Window(1 << 24))
        );
        assert_eq!(
            check_header(&header(13 << 3)),
            Ok(FrameHeader {
                content_size: 5,
                window_size: 1 << 23,
                header_len: 10
            })
        );
        // Exponent 12, mantissa 7: 2^22 + 7 * 2^19 = 7.5 MiB.
        assert!(check_header(&header((12 << 3) | 7)).is_ok());
        assert_eq!(check_header(&good[..5]), Err(FrameError::Short));
    }

    fn walk(bytes: &[u8], chunk: usize) -> Result<(), FrameError> {
        let mut w = BlockWalk::default();
        for piece in bytes.chunks(chunk.max(1)) {
            w.feed(piece)?;
        }
        w.finish()
    }

    /// Every frame lbom's writer makes walks clean, fed in any chunk size;
    /// cut anywhere, it is refused.
    #[test]
    fn frames_walk_block_by_block() {
        for len in [0usize, 1, 300_000] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            for level in [1, 19] {
                let f = frame(&content, level, true, true);
                for chunk in [1, 3, 7, 4096, f.len()] {
                    assert_eq!(
                        walk(&f, chunk),
                        Ok(()),
                        "{len} at {level}, chunks of {chunk}"
                    );
                }
                for cut in [5, f.len() / 2, f.len() - 1] {
                    assert!(
                        walk(f.get(..cut).unwrap_or_default(), 64).is_err(),
                        "cut at {cut}"
                    );
                }
            }
        }
    }

    /// A single-segment frame of `content` in one raw block, its window
    /// `window` (not single-segment when given).
    fn raw_frame(content: &[u8], block_type: u32, window: Option<u8>) -> Vec<u8> {
        let mut f = MAGIC.to_le_bytes().to_vec();
        match window {
            // 4-byte content size, checksum, window descriptor.
            Some(w) => {
                f.extend([0x84, w]);
                f.extend((content.len() as u32).to_le_bytes());
            }
            // Single segment, 4-byte content size, checksum.
            None => {
                f.push(0xA4);
                f.extend((content.len() as u32).to_le_bytes());
            }
        }
        let h = 1 | block_type << 1 | (content.len() as u32) << 3;
        f.extend(&h.to_le_bytes()[..3]);
        f.extend(content);
        f.extend([0; 4]);
        f
    }

    /// [B56] rule 5: no block over Block_Maximum_Size (the window, at
    /// most 128 KiB), no reserved block type.
    #[test]
    fn blocks_over_the_maximum_or_reserved_are_refused() {
        let small = vec![7u8; 7904];
        // Window 1 KiB (exponent 0): a 7904-byte raw block is too large.
        assert_eq!(
            walk(&raw_frame(&small, 0, Some(0)), 100),
            Err(FrameError::BlockTooLarge {
                size: 7904,
                max: 1024
            })
        );
        // Window 8 KiB (exponent 3) holds it.
        assert_eq!(walk(&raw_frame(&small, 0, Some(3 << 3)), 100), Ok(()));
        // Single segment: the window is the content; 128 KiB caps blocks.
        let big = vec![7u8; (128 << 10) + 1];
        assert_eq!(
            walk(&raw_frame(&big, 0, None), 4096),
            Err(FrameError::BlockTooLarge {
                size: (128 << 10) + 1,
                max: 128 << 10
            })
        );
        assert_eq!(
            walk(&raw_frame(&small, 3, None), 100),
            Err(FrameError::ReservedBlock)
        );
    }
}
