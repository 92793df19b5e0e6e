//! The GGUF header reader: magic, version, counts, metadata key/values and
//! tensor infos, read sequentially up to the start of the data section.
//!
//! Layout (ggml `docs/gguf.md`, "File Structure"): magic `GGUF`, `u32`
//! version, tensor count, key/value count, the key/values, the tensor infos,
//! padding to `general.alignment`, tensor data. Version 1 stores counts,
//! string lengths, array lengths and dimensions as `u32`; versions 2 and 3
//! as `u64` ("v2: most countable values (lengths, etc) were changed from
//! uint32 to uint64"); tensor offsets are `u64` in every version. A
//! big-endian file (v3 "adds big-endian support") is recognised as gguf-py
//! and ggml do: its version read little-endian has zero low 16 bits.
//!
//! Every length is checked against the bytes left in the file and against
//! [`Limits`] before anything is allocated or read; a structural problem
//! stops the header walk with an error finding ([`Stop::Fatal`]) and keeps
//! what was learnt so far.

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde_json::{Map, Number, Value as Json};

use super::types::{ggml_type, value_type as vt};
use crate::inspect::facts::{Finding, Severity};
use crate::inspect::keys::KeySet;
use crate::io::digest::{Hasher, Sha256Digest};
use crate::limits::Limits;
use strings::long_string_summary;

mod keys;
mod strings;
mod tensors;

/// Hard cap on array nesting, whatever `Limits` says: the value reader
/// recurses once per level, and the stack must stay small.
const MAX_ARRAY_DEPTH_CAP: u32 = 64;
/// ggml's `GGML_MAX_DIMS`.
pub(super) const MAX_DIMS: u32 = 4;
/// Dimensions kept for a tensor whose `n_dims` is out of range.
const MAX_DIMS_KEPT: usize = 8;
/// Findings of one code listed before the rest are only counted.
const MAX_FINDINGS_PER_CODE: usize = 32;
/// Bytes read at once when skimming an array of fixed-size elements.
const SKIM_BLOCK_BYTES: u64 = 64 * 1024;
/// Canonical bytes staged before they are hashed.
const STAGING_BYTES: usize = 64 * 1024;
/// What keeping one value costs besides its bytes (the map entry, the JSON
/// value, the list slot), charged to `Limits::header_max_kept_bytes`.
const KEPT_VALUE_COST: u64 = 64;

/// Keys whose values make up [`Header::tokenizer_parts`], in hashing order.
pub(super) const TOKENIZER_KEYS: [&str; 5] = [
    "tokenizer.ggml.model",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.scores",
    "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges",
];

/// Why the header walk stopped early.
pub(super) enum Stop {
    /// A structural error; its finding is already recorded.
    Fatal,
    /// A real I/O error (not end of file): returned to the caller.
    Io(io::Error),
}

/// One tensor info as read.
pub(super) struct TensorInfo {
    pub name: String,
    /// Dimensions in ggml order (innermost first); at most `MAX_DIMS_KEPT`.
    pub dims: Vec<u64>,
    pub type_id: u32,
    pub offset: u64,
    /// Element count, when the dimensions are valid and do not overflow.
    pub elements: Option<u64>,
    /// Data size in bytes, when the type and element count are known.
    pub size: Option<u64>,
}

/// What the header walk learnt.
#[derive(Default)]
pub(super) struct Header {
    pub version: Option<u32>,
    pub big_endian: bool,
    pub tensor_count: Option<u64>,
    pub kv_count: Option<u64>,
    pub metadata: Map<String, Json>,
    /// Value type of `general.alignment`, when present.
    pub alignment_type: Option<u32>,
    /// Number of elements of `tokenizer.ggml.tokens`.
    pub token_count: Option<u64>,
    /// Raw bytes of `tokenizer.chat_template`.
    pub chat_template: Option<Vec<u8>>,
    /// The findings of every template-like string value
    /// (`tokenizer.chat_template`, `tokenizer.chat_template.<name>`, and
    /// keys that look like them), shadowed ones included: each is judged
    /// as it is read and its text not kept (src/inspect/template/).
    pub template_findings: Vec<Finding>,
    /// Digest of each tokenizer key's canonical encoding (see `mod.rs`).
    pub tokenizer_parts: BTreeMap<&'static str, Sha256Digest>,
    pub tensors: Vec<TensorInfo>,
    /// Byte offset just past the last tensor info, when the walk finished.
    pub header_end: Option<u64>,
}

/// Findings with a per-code cap, so that a hostile file with a million bad
/// tensors yields a readable report.
#[derive(Default)]
pub(super) struct Findings {
    pub list: Vec<Finding>,
    counts: BTreeMap<String, (usize, Severity)>,
}

impl Findings {
    pub fn push(&mut self, finding: Finding) {
        let entry = self
            .counts
            .entry(finding.code.clone())
            .or_insert((0, finding.severity));
        entry.0 += 1;
        if entry.0 <= MAX_FINDINGS_PER_CODE {
            self.list.push(finding);
        }
    }

    /// The findings, with one summary per code whose findings were capped.
    pub fn finish(mut self) -> Vec<Finding> {
        for (code, (count, severity)) in &self.counts {
            if *count > MAX_FINDINGS_PER_CODE {
                let more = count - MAX_FINDINGS_PER_CODE;
                self.list.push(Finding::new(
                    code,
                    *severity,
                    format!("{code}: {more} more findings of this kind not listed"),
                ));
            }
        }
        self.list
    }
}

/// Whether a value is being turned into JSON or only hashed (elements of an
/// array too long to list).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Skim,
}

/// Per-key flags raised while reading one value, reported once per key.
#[derive(Default)]
struct ValueFlags {
    non_finite: bool,
    invalid_utf8: bool,
    bad_bool: bool,
}

pub(super) struct Parser<'a, R> {
    reader: &'a mut R,
    limits: &'a Limits,
    file_len: u64,
    pos: u64,
    big_endian: bool,
    version: u32,
    max_depth: u32,
    pub findings: Findings,
    pub header: Header,
    /// Reused buffer for strings, so a 250k-token vocabulary costs no
    /// allocation per token.
    scratch: Vec<u8>,
    /// Canonical bytes not yet fed to `summary` and `tokenizer`.
    staging: Vec<u8>,
    /// Hasher of the array being summarised (its elements' canonical bytes).
    summary: Option<Hasher>,
    /// Hasher of the tokenizer key being read.
    tokenizer: Option<Hasher>,
    /// Keep the raw bytes of the next string value.
    capture_string: bool,
    captured: Option<Vec<u8>>,
    /// Element count of the last top-level array read.
    last_array_count: Option<u64>,
    flags: ValueFlags,
    /// The metadata keys so far, for the shadowing checks.
    keys: KeySet,
    /// Bytes kept so far, against `Limits::header_max_kept_bytes`.
    kept: u64,
    /// Template bytes read so far, against `Limits::template_max_bytes`.
    template_bytes: u64,
}

/// Whether llama.cpp reads `key` as a chat template (docs/drift.md).
fn is_template_key(key: &str) -> bool {
    key == "tokenizer.chat_template" || key.starts_with("tokenizer.chat_template.")
}

impl<'a, R: Read> Parser<'a, R> {
    pub fn new(reader: &'a mut R, file_len: u64, limits: &'a Limits) -> Self {
        Self {
            reader,
            limits,
            file_len,
            pos: 0,
            big_endian: false,
            version: 0,
            max_depth: limits.gguf_max_array_depth.min(MAX_ARRAY_DEPTH_CAP),
            findings: Findings::default(),
            header: Header::default(),
            scratch: Vec::new(),
            staging: Vec::new(),
            summary: None,
            tokenizer: None,
            capture_string: false,
            captured: None,
            last_array_count: None,
            flags: ValueFlags::default(),
            keys: KeySet::default(),
            kept: 0,
            template_bytes: 0,
        }
    }

    /// Walk the whole header. `Err(Stop::Fatal)` leaves partial results in
    /// `self.header`.
    pub fn run(&mut self) -> Result<(), Stop> {
        self.read_preamble()?;
        self.read_kvs()?;
        self.read_tensor_infos()?;
        self.header.header_end = Some(self.pos);
        Ok(())
    }

    // ---- findings ------------------------------------------------------

    fn fatal(&mut self, code: &str, message: String) -> Stop {
        self.findings.push(Finding::error(code, message));
        Stop::Fatal
    }

    // ---- primitive reads -------------------------------------------------

    fn remaining(&self) -> u64 {
        self.file_len.saturating_sub(self.pos)
    }

    /// Check that `n` more bytes exist in the file and fit the header cap.
    fn need(&mut self, n: u64, what: &str) -> Result<(), Stop> {
        let remaining = self.remaining();
        if n > remaining {
            let pos = self.pos;
            return Err(self.fatal(
                "gguf.truncated",
                format!("gguf header: {what} at offset {pos} needs {n} bytes but only {remaining} remain in the file"),
            ));
        }
        let max = self.limits.gguf_max_header_bytes;
        if self.pos.saturating_add(n) > max {
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!(
                    "gguf header: {what} at offset {} goes past the {max}-byte header limit",
                    self.pos
                ),
            ));
        }
        Ok(())
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), Stop> {
        match self.reader.read_exact(buf) {
            Ok(()) => {
                self.pos = self.pos.saturating_add(buf.len() as u64);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let pos = self.pos;
                Err(self.fatal(
                    "gguf.truncated",
                    format!("gguf header: the file ends inside the {what} at offset {pos}, before its declared size"),
                ))
            }
            Err(e) => Err(Stop::Io(e)),
        }
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Stop> {
        self.need(N as u64, what)?;
        let mut buf = [0u8; N];
        self.read_exact(&mut buf, what)?;
        Ok(buf)
    }

    fn u16(&mut self, what: &str) -> Result<u16, Stop> {
        let b = self.bytes::<2>(what)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&mut self, what: &str) -> Result<u32, Stop> {
        let b = self.bytes::<4>(what)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&mut self, what: &str) -> Result<u64, Stop> {
        let b = self.bytes::<8>(what)?;
        Ok(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A count or length: `u32` in GGUF v1, `u64` from v2 on.
    fn len(&mut self, what: &str) -> Result<u64, Stop> {
        if self.version == 1 {
            self.u32(what).map(u64::from)
        } else {
            self.u64(what)
        }
    }

    /// Bytes a count or length field takes in this version.
    fn len_size(&self) -> u64 {
        if self.version == 1 { 4 } else { 8 }
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        self.scratch = buf;
    }

    /// Feed canonical bytes to the active digests. Small pieces (a length
    /// prefix, a token) are staged and hashed in blocks: one `update` per
    /// piece made a 250k-token vocabulary cost a million hasher calls.
    fn canon(&mut self, bytes: &[u8]) {
        if self.summary.is_none() && self.tokenizer.is_none() {
            return;
        }
        if bytes.len() >= STAGING_BYTES {
            self.flush();
            self.update_digests(bytes);
            return;
        }
        self.staging.extend_from_slice(bytes);
        if self.staging.len() >= STAGING_BYTES {
            self.flush();
        }
    }

    /// Hash the staged bytes; call before a digest starts or ends.
    fn flush(&mut self) {
        if self.staging.is_empty() {
            return;
        }
        let staged = std::mem::take(&mut self.staging);
        self.update_digests(&staged);
        self.staging = staged;
        self.staging.clear();
    }

    fn update_digests(&mut self, bytes: &[u8]) {
        if let Some(h) = self.summary.as_mut() {
            h.update(bytes);
        }
        if let Some(h) = self.tokenizer.as_mut() {
            h.update(bytes);
        }
    }

    fn lossy(&mut self, bytes: &[u8], what: &str) -> String {
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                // The GGUF spec makes every string UTF-8, but llama.cpp
                // loads strings as bytes and does not check: a warning
                // (severity follows the loader, docs/findings.md), with
                // the lossy conversion shown so a reader sees the text
                // was changed for the report.
                self.findings.push(Finding::warning(
                    "gguf.invalid_utf8",
                    format!("gguf header: {what} is not valid UTF-8 (converted lossily)"),
                ));
                String::from_utf8_lossy(bytes).into_owned()
            }
        }
    }

    // ---- preamble ------------------------------------------------------

    fn read_preamble(&mut self) -> Result<(), Stop> {
        let magic = self.bytes::<4>("magic")?;
        if !super::is_gguf_magic(&magic) {
            return Err(self.fatal(
                "gguf.bad_magic",
                format!(
                    "gguf header: magic is {} (hex), not \"GGUF\"",
                    hex::encode(magic)
                ),
            ));
        }
        let raw = self.bytes::<4>("version")?;
        let le = u32::from_le_bytes(raw);
        // ggml gguf.cpp / gguf-py GGUFReader: a version whose low 16 bits
        // are zero was written in the other byte order.
        let version = if le != 0 && le & 0xFFFF == 0 {
            self.big_endian = true;
            u32::from_be_bytes(raw)
        } else {
            le
        };
        self.header.big_endian = self.big_endian;
        if !(1..=3).contains(&version) {
            return Err(self.fatal(
                "gguf.unsupported_version",
                format!(
                    "gguf header: version {version} is not one of the known versions 1, 2 and 3"
                ),
            ));
        }
        self.version = version;
        self.header.version = Some(version);
        if version == 1 {
            // gguf.cpp: "GGUFv1 is no longer supported"; lbom still reads
            // it (its layout is documented), so it is described, not refused.
            self.findings.push(Finding::warning(
                "gguf.old_version",
                "gguf header: version 1, which llama.cpp no longer loads",
            ));
        }

        let tensor_count = self.len("tensor count")?;
        self.header.tensor_count = Some(tensor_count);
        let kv_count = self.len("metadata key/value count")?;
        self.header.kv_count = Some(kv_count);

        // Smallest key/value: empty key, type, one-byte value. Smallest
        // tensor info: empty name, n_dims, type, offset.
        let min_kv = self.len_size() + 4 + 1;
        let min_tensor = self.len_size() + 4 + 4 + 8;
        self.check_count(
            kv_count,
            self.limits.gguf_max_kv_count,
            min_kv,
            "metadata key/value pairs",
        )?;
        self.check_count(
            tensor_count,
            self.limits.gguf_max_tensor_count,
            min_tensor,
            "tensors",
        )?;
        Ok(())
    }

    /// A count is within its cap and the rest of the file could hold that many items.
    fn check_count(&mut self, count: u64, cap: u64, min_item: u64, what: &str) -> Result<(), Stop> {
        if count > cap {
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!("gguf header: {count} {what} declared, over the limit of {cap}"),
            ));
        }
        let remaining = self.remaining();
        if count.saturating_mul(min_item) > remaining {
            return Err(self.fatal(
                "gguf.truncated",
                format!("gguf header: {count} {what} declared but only {remaining} bytes remain in the file"),
            ));
        }
        Ok(())
    }

    /// Read one value of type `ty` nested in `depth` arrays. Every value's
    /// canonical bytes go to the active digests; in `Mode::Json` the value
    /// is also returned as JSON.
    fn value(&mut self, ty: u32, depth: u32, mode: Mode, key: &str) -> Result<Option<Json>, Stop> {
        let json = mode == Mode::Json;
        Ok(match ty {
            vt::UINT8 => {
                let b = self.bytes::<1>("uint8 value")?;
                self.canon(&b);
                json.then(|| Json::from(b[0]))
            }
            vt::INT8 => {
                let b = self.bytes::<1>("int8 value")?;
                self.canon(&b);
                json.then(|| Json::from(i8::from_le_bytes(b)))
            }
            vt::BOOL => {
                let b = self.bytes::<1>("bool value")?;
                self.canon(&b);
                if b[0] > 1 {
                    self.flags.bad_bool = true;
                }
                json.then(|| Json::Bool(b[0] != 0))
            }
            vt::UINT16 => {
                let v = self.u16("uint16 value")?;
                self.canon(&v.to_le_bytes());
                json.then(|| Json::from(v))
            }
            vt::INT16 => {
                let v = self.u16("int16 value")? as i16;
                self.canon(&v.to_le_bytes());
                json.then(|| Json::from(v))
            }
            vt::UINT32 => {
                let v = self.u32("uint32 value")?;
                self.canon(&v.to_le_bytes());
                json.then(|| Json::from(v))
            }
            vt::INT32 => {
                let v = self.u32("int32 value")? as i32;
                self.canon(&v.to_le_bytes());
                json.then(|| Json::from(v))
            }
            vt::UINT64 => {
                let v = self.u64("uint64 value")?;
                self.canon(&v.to_le_bytes());
                json.then(|| Json::from(v))
            }
            vt::INT64 => {
                let v = self.u64("int64 value")? as i64;
                self.canon(&v.to_le_bytes());
                json.then(|| Json::from(v))
            }
            vt::FLOAT32 => {
                let bits = self.u32("float32 value")?;
                self.canon(&bits.to_le_bytes());
                let v = f32::from_bits(bits);
                if !v.is_finite() {
                    self.flags.non_finite = true;
                }
                json.then(|| json_f32(v))
            }
            vt::FLOAT64 => {
                let bits = self.u64("float64 value")?;
                self.canon(&bits.to_le_bytes());
                let v = f64::from_bits(bits);
                if !v.is_finite() {
                    self.flags.non_finite = true;
                }
                json.then(|| json_f64(v))
            }
            vt::STRING => {
                let len = self.string_len("string value")?;
                self.canon(&len.to_le_bytes());
                let capture = self.capture_string && depth == 0;
                let inline = len <= self.limits.metadata_string_inline_max;
                let kept = capture || (json && inline);
                if !kept {
                    // Not kept: hashed while streamed, summarised when it
                    // is a metadata value (like a long array).
                    let digest = self.skim_string(len, json, "string value")?;
                    return Ok(digest.map(|d| long_string_summary(len, &d)));
                }
                // A captured template is held once, judged and dropped
                // (the default one kept as its raw bytes): its own budget,
                // so that a multi-megabyte template is still judged.
                if capture {
                    self.keep_template(len)?;
                } else {
                    self.keep(len, "string value")?;
                }
                let bytes = self.string_body(len, "string value")?;
                self.canon(&bytes);
                let out = if json && capture && !inline {
                    Some(long_string_summary(len, &Sha256Digest::of(&bytes)))
                } else if json {
                    let text = match std::str::from_utf8(&bytes) {
                        Ok(s) => s.to_owned(),
                        Err(_) => {
                            self.flags.invalid_utf8 = true;
                            String::from_utf8_lossy(&bytes).into_owned()
                        }
                    };
                    Some(Json::String(text))
                } else {
                    None
                };
                if capture {
                    self.captured = Some(bytes);
                } else {
                    self.recycle(bytes);
                }
                out
            }
            vt::ARRAY => self.array(depth, mode, key)?,
            other => {
                let pos = self.pos;
                return Err(self.fatal(
                    "gguf.bad_value_type",
                    format!("gguf metadata: key '{key}' has unknown value type {other} (before offset {pos})"),
                ));
            }
        })
    }

    fn array(&mut self, depth: u32, mode: Mode, key: &str) -> Result<Option<Json>, Stop> {
        let level = depth.saturating_add(1);
        if level > self.max_depth {
            let max = self.max_depth;
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!(
                    "gguf metadata: key '{key}' nests arrays {level} deep, over the limit of {max}"
                ),
            ));
        }
        let elem = self.u32("array element type")?;
        let count = self.len("array length")?;
        let Some(elem_name) = vt::name(elem) else {
            return Err(self.fatal(
                "gguf.bad_value_type",
                format!("gguf metadata: key '{key}' is an array of unknown value type {elem}"),
            ));
        };
        let max = self.limits.gguf_max_array_len;
        if count > max {
            return Err(self.fatal(
                "gguf.limit_exceeded",
                format!("gguf metadata: key '{key}' is an array of {count} elements, over the limit of {max}"),
            ));
        }
        let min_elem = match vt::fixed_size(elem) {
            Some(n) => n,
            None if elem == vt::STRING => self.len_size(),
            None => 4 + self.len_size(),
        };
        let remaining = self.remaining();
        if count.saturating_mul(min_elem) > remaining {
            return Err(self.fatal(
                "gguf.truncated",
                format!("gguf metadata: key '{key}' declares {count} {elem_name} elements but only {remaining} bytes remain in the file"),
            ));
        }
        if depth == 0 {
            self.last_array_count = Some(count);
        }
        self.canon(&elem.to_le_bytes());
        self.canon(&count.to_le_bytes());

        let inline = mode == Mode::Json
            && usize::try_from(count).is_ok_and(|n| n <= self.limits.metadata_array_inline_max);
        if inline {
            let mut items = Vec::new();
            for _ in 0..count {
                self.keep(0, "array element")?;
                items.push(
                    self.value(elem, level, Mode::Json, key)?
                        .unwrap_or(Json::Null),
                );
            }
            return Ok(Some(Json::Array(items)));
        }
        // Too long to list (or inside an array too long to list): hash the
        // elements' canonical bytes while streaming; at the outermost such
        // array, summarise with that digest.
        let summarise = mode == Mode::Json;
        if summarise {
            self.flush();
            self.summary = Some(Hasher::new());
        }
        let result = self.skim_elements(elem, count, level, key);
        if summarise {
            self.flush();
        }
        let digest = if summarise {
            self.summary.take().map(Hasher::finish)
        } else {
            None
        };
        result?;
        if !summarise {
            return Ok(None);
        }
        let mut summary = Map::new();
        summary.insert("type".into(), Json::from("array"));
        summary.insert("element_type".into(), Json::from(elem_name));
        summary.insert("count".into(), Json::from(count));
        summary.insert(
            "sha256".into(),
            Json::from(digest.map(|d| d.to_hex()).unwrap_or_default()),
        );
        Ok(Some(Json::Object(summary)))
    }

    /// Read `count` elements without building JSON. Fixed-size elements
    /// are read in blocks (a 250k-entry scores array is one read, not 250k);
    /// big-endian ones are byte-swapped to the canonical little-endian form.
    /// Non-finite floats in such arrays raise no finding: nothing is
    /// converted, the digest covers their exact bits.
    fn skim_elements(&mut self, elem: u32, count: u64, level: u32, key: &str) -> Result<(), Stop> {
        let Some(size) = vt::fixed_size(elem) else {
            for _ in 0..count {
                self.value(elem, level, Mode::Skim, key)?;
            }
            return Ok(());
        };
        // `array` checked count * size against the bytes left, so no overflow.
        let mut left = count.saturating_mul(size);
        let block = SKIM_BLOCK_BYTES - SKIM_BLOCK_BYTES % size;
        while left > 0 {
            let n = left.min(block);
            self.need(n, "array elements")?;
            let mut buf = std::mem::take(&mut self.scratch);
            buf.clear();
            buf.resize(usize::try_from(n).unwrap_or(0), 0);
            self.read_exact(&mut buf, "array elements")?;
            if self.big_endian && size > 1 {
                for element in buf.chunks_exact_mut(usize::try_from(size).unwrap_or(1)) {
                    element.reverse();
                }
            }
            self.canon(&buf);
            self.recycle(buf);
            left -= n;
        }
        Ok(())
    }
}

/// Product of the dimensions, `None` on overflow or above `i64::MAX`
/// (ggml keeps element counts in `int64_t`).
pub(super) fn element_count(dims: &[u64]) -> Option<u64> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= i64::MAX as u64)
}

/// An `f32` as JSON: its shortest decimal form (0.1, not 0.10000000149),
/// or the strings `"NaN"`, `"inf"`, `"-inf"`, which JSON cannot hold as numbers.
fn json_f32(v: f32) -> Json {
    if !v.is_finite() {
        return non_finite(f64::from(v));
    }
    let shortest = v.to_string().parse::<f64>().unwrap_or(f64::from(v));
    json_f64(shortest)
}

fn json_f64(v: f64) -> Json {
    match Number::from_f64(v) {
        Some(n) => Json::Number(n),
        None => non_finite(v),
    }
}

fn non_finite(v: f64) -> Json {
    Json::from(if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    })
}
