//! The formats of a model folder's side files that are neither a model nor
//! JSON, decided from their bytes (docs/scan-report.md, "format"):
//!
//! - `sentencepiece`: a SentencePiece `ModelProto` (`tokenizer.model`,
//!   `spiece.model`): protobuf whose every field, at the top and in each
//!   piece, is one the schema defines, with at least one piece;
//! - `tiktoken`: a tiktoken BPE file (`*.tiktoken`, Llama 3's original
//!   `tokenizer.model`): lines of a base64 token, a space and a rank;
//! - `text`: UTF-8 text without control characters other than tab, line
//!   feed, form feed and carriage return (a model card, a licence,
//!   `.gitattributes`, `vocab.txt`, `merges.txt`, a `.jinja` chat template);
//! - `code`: text under a script's file name (`modeling_x.py`, `run.sh`):
//!   a loader may run it (`trust_remote_code`), so it is not `text` whatever
//!   it holds. This is the one place a name decides, and it only ever makes
//!   a file less trusted.
//!
//! Everything else is `unknown`. The bytes are observed as they stream past
//! the hasher ([`SideSniffer::feed`]); nothing is kept but a few counters,
//! so a file costs no memory whatever its size, and files over
//! [`MAX_SIDE_SNIFF_BYTES`] are `unknown` without being judged.

use super::facts::Format;

/// Largest file judged as a side file (a 250k-token `tokenizer.json` is
/// about 20 MiB; SentencePiece and tiktoken files are a few MiB).
pub(crate) const MAX_SIDE_SNIFF_BYTES: u64 = 64 << 20;

/// File name extensions of scripts: text under these names is `code`.
const SCRIPT_EXTENSIONS: &[&str] = &[
    "py", "pyw", "pyi", "sh", "bash", "zsh", "js", "mjs", "cjs", "ts", "rb", "pl", "lua", "ps1",
    "bat", "cmd",
];

/// Whether `file_name` is a script's name (case-insensitive extension).
pub fn is_script_name(file_name: &str) -> bool {
    std::path::Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SCRIPT_EXTENSIONS.iter().any(|s| s.eq_ignore_ascii_case(e)))
}

/// Watches a file's bytes, in order, for the side-file formats.
#[derive(Debug)]
pub(crate) struct SideSniffer {
    seen: u64,
    text: TextCheck,
    tiktoken: TiktokenCheck,
    proto: ProtoCheck,
}

impl SideSniffer {
    /// A sniffer for a file of `file_len` bytes.
    pub(crate) fn new(file_len: u64) -> Self {
        Self {
            seen: 0,
            text: TextCheck::default(),
            tiktoken: TiktokenCheck::default(),
            proto: ProtoCheck::new(file_len),
        }
    }

    /// The next bytes of the file.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.seen = self.seen.saturating_add(bytes.len() as u64);
        self.text.feed(bytes);
        self.tiktoken.feed(bytes);
        self.proto.feed(bytes);
    }

    /// The format, once every byte was fed; `file_name` only turns text
    /// into `code`.
    pub(crate) fn verdict(self, file_name: &str) -> Format {
        if self.proto.complete() {
            return Format::Sentencepiece;
        }
        if !self.text.complete() {
            return Format::Unknown;
        }
        if is_script_name(file_name) {
            Format::Code
        } else if self.tiktoken.complete() {
            Format::Tiktoken
        } else {
            Format::Text
        }
    }
}

/// A check that reads a file one byte at a time and stops at its first
/// failure.
trait ByteCheck {
    fn failed(&self) -> bool;
    fn byte(&mut self, b: u8);

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.failed() {
                return;
            }
            self.byte(b);
        }
    }
}

/// UTF-8 (RFC 3629: no overlong forms, surrogates or code points above
/// U+10FFFF) without C0 controls other than `\t \n \x0c \r`, DEL or C1
/// controls.
#[derive(Debug, Default)]
struct TextCheck {
    failed: bool,
    /// Continuation bytes still expected.
    need: u8,
    /// Allowed range of the next continuation byte.
    lo: u8,
    hi: u8,
    /// The lead byte was 0xC2: the code point is U+0080–U+00BF, and
    /// U+0080–U+009F are C1 controls.
    c2: bool,
}

impl ByteCheck for TextCheck {
    fn failed(&self) -> bool {
        self.failed
    }

    fn byte(&mut self, b: u8) {
        if self.need > 0 {
            let c1 = self.c2 && b <= 0x9F;
            if b < self.lo || b > self.hi || c1 {
                self.failed = true;
                return;
            }
            self.need -= 1;
            (self.lo, self.hi, self.c2) = (0x80, 0xBF, false);
            return;
        }
        let (need, lo, hi) = match b {
            b'\t' | b'\n' | 0x0C | b'\r' | 0x20..=0x7E => return,
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            _ => {
                self.failed = true;
                return;
            }
        };
        (self.need, self.lo, self.hi, self.c2) = (need, lo, hi, b == 0xC2);
    }
}

impl TextCheck {
    fn complete(&self) -> bool {
        !self.failed && self.need == 0
    }
}

/// Lines `BASE64 RANK`, as tiktoken's `load_tiktoken_bpe` reads them: the
/// token in the standard base64 alphabet with padding (a multiple of four
/// characters), one space, a decimal rank; `\n` line ends, the last one
/// optional. At least one line.
#[derive(Debug, Default)]
struct TiktokenCheck {
    failed: bool,
    lines: u64,
    state: TiktokenState,
    token_chars: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum TiktokenState {
    /// At the start of a line.
    #[default]
    LineStart,
    /// In the token.
    Token,
    /// After the space, before any digit.
    Space,
    /// In the rank.
    Rank,
}

impl ByteCheck for TiktokenCheck {
    fn failed(&self) -> bool {
        self.failed
    }

    fn byte(&mut self, b: u8) {
        use TiktokenState::*;
        let base64 = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
        self.state = match (self.state, b) {
            (LineStart | Token, _) if base64 => {
                self.token_chars = self.token_chars.saturating_add(1);
                Token
            }
            (Token, b' ') if self.token_chars.is_multiple_of(4) => Space,
            (Space | Rank, b'0'..=b'9') => Rank,
            (Rank, b'\n') => {
                self.lines = self.lines.saturating_add(1);
                self.token_chars = 0;
                LineStart
            }
            _ => {
                self.failed = true;
                return;
            }
        };
    }
}

impl TiktokenCheck {
    fn complete(&self) -> bool {
        let ended = match self.state {
            TiktokenState::LineStart => true,
            TiktokenState::Rank => true,
            TiktokenState::Token | TiktokenState::Space => false,
        };
        let lines = self.lines + u64::from(self.state == TiktokenState::Rank);
        !self.failed && ended && lines > 0
    }
}

/// A SentencePiece `ModelProto` (sentencepiece_model.proto): top-level
/// fields 1 `pieces` (repeated message), 2 `trainer_spec`, 3
/// `normalizer_spec`, 4 `self_test_data`, 5 `denormalizer_spec` (messages,
/// skipped); each piece's fields 1 `piece` (string), 2 `score` (float),
/// 3 `type` (enum). Any other field or wire type, a length past its
/// message or the file, or a file ending inside a field is not one.
#[derive(Debug)]
struct ProtoCheck {
    failed: bool,
    file_len: u64,
    pos: u64,
    /// End of the piece being read, when inside one.
    piece_end: Option<u64>,
    pieces: u64,
    state: ProtoState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProtoState {
    /// Reading a tag varint.
    Tag { value: u64, shift: u32 },
    /// Reading a length varint; `piece`: it opens a piece.
    Len { value: u64, shift: u32, piece: bool },
    /// Reading a varint value.
    Varint { shift: u32 },
    /// Skipping bytes up to this offset.
    Skip { until: u64 },
}

const TAG_START: ProtoState = ProtoState::Tag { value: 0, shift: 0 };

/// A varint holds at most 64 bits: ten bytes.
const MAX_VARINT_SHIFT: u32 = 63;

impl ProtoCheck {
    fn new(file_len: u64) -> Self {
        Self {
            failed: false,
            file_len,
            pos: 0,
            piece_end: None,
            pieces: 0,
            state: TAG_START,
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !self.failed && !bytes.is_empty() {
            if let ProtoState::Skip { until } = self.state {
                // Skipped spans are jumped over, not walked byte by byte.
                let left = until.saturating_sub(self.pos);
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
                self.pos = self.pos.saturating_add(take as u64);
                bytes = bytes.get(take..).unwrap_or_default();
                if self.pos == until {
                    self.state = TAG_START;
                    self.close_piece();
                }
                continue;
            }
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            bytes = rest;
            self.pos = self.pos.saturating_add(1);
            self.byte(b);
        }
    }

    /// Leave the piece that ends here, if any.
    fn close_piece(&mut self) {
        if self.piece_end == Some(self.pos) {
            self.piece_end = None;
        }
    }

    /// The end of the message being read: the piece's, or the file's.
    fn message_end(&self) -> u64 {
        self.piece_end.unwrap_or(self.file_len)
    }

    fn byte(&mut self, b: u8) {
        let more = b & 0x80 != 0;
        let bits = u64::from(b & 0x7F);
        match self.state {
            ProtoState::Tag { value, shift } => {
                let value = value | bits.checked_shl(shift).unwrap_or(0);
                if more {
                    self.state = self.next_shift(shift, |shift| ProtoState::Tag { value, shift });
                } else {
                    self.tag(value);
                }
            }
            ProtoState::Len {
                value,
                shift,
                piece,
            } => {
                let value = value | bits.checked_shl(shift).unwrap_or(0);
                if more {
                    self.state = self.next_shift(shift, |shift| ProtoState::Len {
                        value,
                        shift,
                        piece,
                    });
                } else {
                    self.length(value, piece);
                }
            }
            ProtoState::Varint { shift } => {
                if more {
                    self.state = self.next_shift(shift, |shift| ProtoState::Varint { shift });
                } else {
                    self.state = TAG_START;
                    self.close_piece();
                }
            }
            ProtoState::Skip { .. } => {}
        }
        if self.pos > self.message_end() {
            self.failed = true;
        }
    }

    fn next_shift(&mut self, shift: u32, state: impl Fn(u32) -> ProtoState) -> ProtoState {
        let next = shift.saturating_add(7);
        if next > MAX_VARINT_SHIFT {
            self.failed = true;
        }
        state(next)
    }

    fn tag(&mut self, tag: u64) {
        let (field, wire) = (tag >> 3, tag & 7);
        self.state = match (self.piece_end.is_some(), field, wire) {
            // ModelProto.pieces
            (false, 1, 2) => ProtoState::Len {
                value: 0,
                shift: 0,
                piece: true,
            },
            // trainer_spec, normalizer_spec, self_test_data, denormalizer_spec
            (false, 2..=5, 2) | (true, 1, 2) => ProtoState::Len {
                value: 0,
                shift: 0,
                piece: false,
            },
            // SentencePiece.score: a 32-bit float.
            (true, 2, 5) => ProtoState::Skip {
                until: self.pos.saturating_add(4),
            },
            // SentencePiece.type: an enum.
            (true, 3, 0) => ProtoState::Varint { shift: 0 },
            _ => {
                self.failed = true;
                return;
            }
        };
        if let ProtoState::Skip { until } = self.state
            && until > self.message_end()
        {
            self.failed = true;
        }
    }

    fn length(&mut self, len: u64, piece: bool) {
        let Some(until) = self
            .pos
            .checked_add(len)
            .filter(|&u| u <= self.message_end())
        else {
            self.failed = true;
            return;
        };
        if piece {
            self.pieces = self.pieces.saturating_add(1);
            self.piece_end = Some(until);
            self.state = TAG_START;
            self.close_piece();
        } else if until == self.pos {
            self.state = TAG_START;
            self.close_piece();
        } else {
            self.state = ProtoState::Skip { until };
        }
    }

    fn complete(&self) -> bool {
        !self.failed
            && self.pieces > 0
            && self.pos == self.file_len
            && self.piece_end.is_none()
            && self.state == TAG_START
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed in chunks of every size from 1 to 7, so no state depends on
    /// where a read happens to end.
    fn judge(bytes: &[u8], name: &str) -> Format {
        let mut verdicts = Vec::new();
        for chunk in 1..=7 {
            let mut s = SideSniffer::new(bytes.len() as u64);
            for part in bytes.chunks(chunk) {
                s.feed(part);
            }
            verdicts.push(s.verdict(name));
        }
        let first = verdicts.first().copied().unwrap_or(Format::Unknown);
        assert!(verdicts.iter().all(|v| *v == first), "{verdicts:?}");
        first
    }

    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8 & 0x7F) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    fn field(out: &mut Vec<u8>, number: u64, wire: u64, body: &[u8]) {
        varint(number << 3 | wire, out);
        if wire == 2 {
            varint(body.len() as u64, out);
        }
        out.extend_from_slice(body);
    }

    fn piece(text: &str, score: f32, kind: Option<u64>) -> Vec<u8> {
        let mut p = Vec::new();
        field(&mut p, 1, 2, text.as_bytes());
        field(&mut p, 2, 5, &score.to_le_bytes());
        if let Some(k) = kind {
            varint(3 << 3, &mut p);
            varint(k, &mut p);
        }
        p
    }

    fn model(pieces: &[Vec<u8>]) -> Vec<u8> {
        let mut m = Vec::new();
        for p in pieces {
            field(&mut m, 1, 2, p);
        }
        field(&mut m, 2, 2, b"\x0a\x03abc"); // trainer_spec, opaque
        field(&mut m, 3, 2, b""); // normalizer_spec, empty
        m
    }

    #[test]
    fn sentencepiece_models_by_structure() {
        let good_pieces = [
            piece("<unk>", 0.0, Some(2)),
            piece("\u{2581}the", -3.5, None),
            piece("", 0.0, Some(300)),
        ];
        let good = model(&good_pieces);
        assert_eq!(judge(&good, "tokenizer.model"), Format::Sentencepiece);
        assert_eq!(judge(&good, "anything"), Format::Sentencepiece);
        // A prefix is a model only where it ends between top-level fields
        // after the first piece (protobuf has no end marker); anywhere
        // else it ends inside a field.
        let mut boundaries = Vec::new();
        let mut at = 0;
        for p in &good_pieces {
            let mut f = Vec::new();
            field(&mut f, 1, 2, p);
            at += f.len();
            boundaries.push(at);
        }
        boundaries.push(good.len() - 2); // after trainer_spec
        for cut in 0..good.len() {
            let prefix = judge(good.get(..cut).unwrap_or_default(), "tokenizer.model");
            assert_eq!(
                prefix == Format::Sentencepiece,
                boundaries.contains(&cut),
                "cut at {cut}"
            );
        }
        // A length past the file, an unknown field, a wrong wire type.
        let mut long = good.clone();
        long.extend_from_slice(&[0x0A, 0x7F, 0x0A]);
        let mut unknown_top = good.clone();
        field(&mut unknown_top, 9, 2, b"x");
        let mut unknown_in_piece = Vec::new();
        field(&mut unknown_in_piece, 1, 2, b"\x20\x01");
        let mut wrong_wire = Vec::new();
        field(&mut wrong_wire, 1, 2, b"\x10\x01");
        // A piece whose inner string runs past the piece.
        let mut overrun = Vec::new();
        field(&mut overrun, 1, 2, b"\x0a\x05ab");
        overrun.extend_from_slice(b"cdefgh");
        for bad in [long, unknown_top, unknown_in_piece, wrong_wire, overrun] {
            assert_ne!(
                judge(&bad, "tokenizer.model"),
                Format::Sentencepiece,
                "{bad:?}"
            );
        }
        // No piece at all.
        let mut empty = Vec::new();
        field(&mut empty, 2, 2, b"abc");
        assert_ne!(judge(&empty, "tokenizer.model"), Format::Sentencepiece);
        // An over-long varint.
        let mut huge = vec![0x0A];
        huge.extend_from_slice(&[0xFF; 11]);
        assert_eq!(judge(&huge, "tokenizer.model"), Format::Unknown);
    }

    #[test]
    fn text_is_utf8_without_controls() {
        for good in [
            &b""[..],
            b"# Model card\n\nApache-2.0\r\n",
            "\u{feff}Ünïcödé — ✓ 𝄞\tok\x0c".as_bytes(),
            b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
            b"#version: 0.2\n\xc4\xa0 t\n",
            b"{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}",
        ] {
            assert_eq!(judge(good, "README.md"), Format::Text, "{good:?}");
        }
        for bad in [
            &b"\x00"[..],
            b"text\x1b[31m",
            b"\x7f",
            b"\xc2\x85",         // C1 control NEL
            b"\xc0\xaf",         // overlong '/'
            b"\xe0\x80\xaf",     // overlong
            b"\xed\xa0\x80",     // surrogate
            b"\xf4\x90\x80\x80", // above U+10FFFF
            b"abc\xe2\x82",      // cut inside a character
            b"\xff\xfe",
            b"PK\x03\x04",
        ] {
            assert_eq!(judge(bad, "README.md"), Format::Unknown, "{bad:?}");
        }
    }

    #[test]
    fn tiktoken_lines() {
        assert_eq!(
            judge(b"IQ== 0\nIg== 1\nIw== 2\n", "o200k.tiktoken"),
            Format::Tiktoken
        );
        assert_eq!(
            judge(b"IQ== 0\nIg== 1", "tokenizer.model"),
            Format::Tiktoken
        );
        for text_only in [
            &b"IQ= 0\n"[..],
            b"IQ== \n",
            b"IQ==  1\n",
            b"IQ== 1\n\n",
            b"hello world\n",
        ] {
            assert_eq!(
                judge(text_only, "x.tiktoken"),
                Format::Text,
                "{text_only:?}"
            );
        }
    }

    #[test]
    fn scripts_are_code_by_name_whatever_they_hold() {
        assert_eq!(judge(b"import os\n", "modeling_evil.py"), Format::Code);
        assert_eq!(judge(b"", "__init__.py"), Format::Code);
        assert_eq!(judge(b"IQ== 0\n", "run.SH"), Format::Code);
        assert_eq!(judge(b"import os\n", "modeling.py.txt"), Format::Text);
        // Binary under a script name is unknown, never code or text.
        assert_eq!(judge(b"\x7fELF\x02", "x.py"), Format::Unknown);
    }
}
