//! The pickle opcode table, protocols 0–5, as CPython's `Lib/pickletools.py`
//! defines it (`opcodes`, 68 entries), with each opcode's argument encoding.

/// How an opcode's argument is encoded after the opcode byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    /// No argument.
    None,
    /// A fixed number of bytes (uint1, uint2, int4, uint4, float8, uint8).
    Fixed(u8),
    /// One newline-terminated line (decimalnl_*, floatnl, stringnl*, unicodestringnl).
    Line,
    /// Two newline-terminated lines (stringnl_noescape_pair: GLOBAL, INST).
    LinePair,
    /// A u8 length, then that many bytes (long1, string1, bytes1, unicodestring1).
    Len1,
    /// A signed little-endian i32 length (long4, string4): negative is malformed.
    Len4Signed,
    /// An unsigned little-endian u32 length (bytes4, unicodestring4).
    Len4,
    /// An unsigned little-endian u64 length (bytes8, unicodestring8, bytearray8).
    Len8,
}

/// Every opcode the scanner distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub(crate) enum Op {
    Int,
    BinInt,
    BinInt1,
    BinInt2,
    Long,
    Long1,
    Long4,
    String,
    BinString,
    ShortBinString,
    BinBytes,
    ShortBinBytes,
    BinBytes8,
    ByteArray8,
    NextBuffer,
    ReadonlyBuffer,
    None,
    NewTrue,
    NewFalse,
    Unicode,
    ShortBinUnicode,
    BinUnicode,
    BinUnicode8,
    Float,
    BinFloat,
    EmptyList,
    Append,
    Appends,
    List,
    EmptyTuple,
    Tuple,
    Tuple1,
    Tuple2,
    Tuple3,
    EmptyDict,
    Dict,
    SetItem,
    SetItems,
    EmptySet,
    AddItems,
    FrozenSet,
    Pop,
    Dup,
    Mark,
    PopMark,
    Get,
    BinGet,
    LongBinGet,
    Put,
    BinPut,
    LongBinPut,
    Memoize,
    Ext1,
    Ext2,
    Ext4,
    Global,
    StackGlobal,
    Reduce,
    Build,
    Inst,
    Obj,
    NewObj,
    NewObjEx,
    Proto,
    Stop,
    Frame,
    PersId,
    BinPersId,
}

/// The opcode for a byte and its argument encoding; `None` for a byte that
/// is no opcode in any protocol.
pub(crate) fn decode(byte: u8) -> Option<(Op, Arg)> {
    use Arg::{Fixed, Len1, Len4, Len4Signed, Len8, Line, LinePair};
    Some(match byte {
        b'I' => (Op::Int, Line),
        b'J' => (Op::BinInt, Fixed(4)),
        b'K' => (Op::BinInt1, Fixed(1)),
        b'M' => (Op::BinInt2, Fixed(2)),
        b'L' => (Op::Long, Line),
        0x8a => (Op::Long1, Len1),
        0x8b => (Op::Long4, Len4Signed),
        b'S' => (Op::String, Line),
        b'T' => (Op::BinString, Len4Signed),
        b'U' => (Op::ShortBinString, Len1),
        b'B' => (Op::BinBytes, Len4),
        b'C' => (Op::ShortBinBytes, Len1),
        0x8e => (Op::BinBytes8, Len8),
        0x96 => (Op::ByteArray8, Len8),
        0x97 => (Op::NextBuffer, Arg::None),
        0x98 => (Op::ReadonlyBuffer, Arg::None),
        b'N' => (Op::None, Arg::None),
        0x88 => (Op::NewTrue, Arg::None),
        0x89 => (Op::NewFalse, Arg::None),
        b'V' => (Op::Unicode, Line),
        0x8c => (Op::ShortBinUnicode, Len1),
        b'X' => (Op::BinUnicode, Len4),
        0x8d => (Op::BinUnicode8, Len8),
        b'F' => (Op::Float, Line),
        b'G' => (Op::BinFloat, Fixed(8)),
        b']' => (Op::EmptyList, Arg::None),
        b'a' => (Op::Append, Arg::None),
        b'e' => (Op::Appends, Arg::None),
        b'l' => (Op::List, Arg::None),
        b')' => (Op::EmptyTuple, Arg::None),
        b't' => (Op::Tuple, Arg::None),
        0x85 => (Op::Tuple1, Arg::None),
        0x86 => (Op::Tuple2, Arg::None),
        0x87 => (Op::Tuple3, Arg::None),
        b'}' => (Op::EmptyDict, Arg::None),
        b'd' => (Op::Dict, Arg::None),
        b's' => (Op::SetItem, Arg::None),
        b'u' => (Op::SetItems, Arg::None),
        0x8f => (Op::EmptySet, Arg::None),
        0x90 => (Op::AddItems, Arg::None),
        0x91 => (Op::FrozenSet, Arg::None),
        b'0' => (Op::Pop, Arg::None),
        b'2' => (Op::Dup, Arg::None),
        b'(' => (Op::Mark, Arg::None),
        b'1' => (Op::PopMark, Arg::None),
        b'g' => (Op::Get, Line),
        b'h' => (Op::BinGet, Fixed(1)),
        b'j' => (Op::LongBinGet, Fixed(4)),
        b'p' => (Op::Put, Line),
        b'q' => (Op::BinPut, Fixed(1)),
        b'r' => (Op::LongBinPut, Fixed(4)),
        0x94 => (Op::Memoize, Arg::None),
        0x82 => (Op::Ext1, Fixed(1)),
        0x83 => (Op::Ext2, Fixed(2)),
        0x84 => (Op::Ext4, Fixed(4)),
        b'c' => (Op::Global, LinePair),
        0x93 => (Op::StackGlobal, Arg::None),
        b'R' => (Op::Reduce, Arg::None),
        b'b' => (Op::Build, Arg::None),
        b'i' => (Op::Inst, LinePair),
        b'o' => (Op::Obj, Arg::None),
        0x81 => (Op::NewObj, Arg::None),
        0x92 => (Op::NewObjEx, Arg::None),
        0x80 => (Op::Proto, Fixed(1)),
        b'.' => (Op::Stop, Arg::None),
        0x95 => (Op::Frame, Fixed(8)),
        b'P' => (Op::PersId, Line),
        b'Q' => (Op::BinPersId, Arg::None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The opcode bytes of CPython's pickletools.opcodes, in its order.
    const PICKLETOOLS_CODES: &[u8] = b"IJKML\x8a\x8bSTUBC\x8e\x96\x97\x98N\x88\x89V\x8cX\x8dFG]ael)t\x85\x86\x87}dsu\x8f\x90\x9102(1ghjpqr\x94\x82\x83\x84c\x93Rbio\x81\x92\x80.\x95PQ";

    #[test]
    fn table_matches_pickletools_exactly() {
        assert_eq!(PICKLETOOLS_CODES.len(), 68);
        let known: Vec<u8> = (0..=255u8).filter(|&b| decode(b).is_some()).collect();
        let mut expected: Vec<u8> = PICKLETOOLS_CODES.to_vec();
        expected.sort_unstable();
        assert_eq!(known, expected);
    }
}
