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
}
