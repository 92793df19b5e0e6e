//! safetensors reader: the 8-byte header length, the JSON header, and the
//! upstream validation rules, without reading tensor data.
//!
//! The rules are those of the upstream `safetensors` crate
//! (huggingface/safetensors, `safetensors/src/tensor.rs`:
//! `SafeTensors::read_metadata`, `Metadata::validate`, `Dtype`):
//!
//! * header length N ≤ 100,000,000 and 8 + N ≤ file length;
//! * the header is UTF-8 JSON (trailing whitespace allowed: the writer pads
//!   it with spaces to a multiple of 8) holding one object;
//! * `__metadata__` is optional (absent or `null`), a map of string → string;
//! * every other key is a tensor `{dtype, shape, data_offsets: [begin, end]}`;
//! * sorted by `data_offsets`, the tensors start at 0 and each begins where
//!   the previous one ended, `begin ≤ end`, and
//!   `end − begin == product(shape) × bits(dtype) / 8`, computed with
//!   overflow checks, where a sub-byte dtype's total bit count must be a
//!   multiple of 8 (upstream `MisalignedSlice`);
//! * the last `end` plus 8 plus N is exactly the file length.
//!
//! The header is parsed as a stream (`stream`): never read whole, never
//! built into a JSON tree, and what is kept of it is capped
//! (`Limits::header_max_kept_bytes`), so a 100 MB header costs what it
//! describes, not its size.
//!
//! lbom is stricter than upstream in three places, each reported as a
//! finding: a key repeated in any JSON object (serde_json silently keeps the
//! last one, so two readers could disagree) is an error, the header still
//! described with the last value as upstream reads it, and keys holding a
//! NUL or looking like another key are errors (`key.nul`, `key.confusable`,
//! docs/findings.md "Key shadowing"); a tensor written as a
//! JSON array instead of an object (serde's derive would accept it, no writer
//! produces it) is an error; fields of a tensor entry that upstream ignores
//! are a warning, since loaders never look at them.
//!
//! Finding codes: every one is an error except `safetensors.unknown_field`
//! (a warning) and `safetensors.keys_unchecked` (info).
//!
//! | code | meaning |
//! |---|---|
//! | `safetensors.truncated` | file ends inside the length prefix, the header, or before the last tensor's end |
//! | `safetensors.header_too_large` | N above the 100 MB rule (or `Limits`) |
//! | `safetensors.invalid_json` | header not UTF-8, not JSON, or not an object |
//! | `safetensors.duplicate_key` | a key repeated in one JSON object |
//! | `safetensors.bad_metadata` | `__metadata__` not a string → string map |
//! | `safetensors.bad_tensor_info` | a tensor entry not an object, or `dtype`/`shape` missing or ill-typed |
//! | `safetensors.unknown_dtype` | dtype not in upstream's list |
//! | `safetensors.bad_offsets` | `data_offsets` not two integers, or begin > end |
//! | `safetensors.overflow` | shape product or byte size overflows 64 bits |
//! | `safetensors.size_mismatch` | byte range disagrees with dtype × shape |
//! | `safetensors.offsets_not_covering` | the first tensor does not start at offset 0 |
//! | `safetensors.offsets_gap` | bytes between two tensors belong to neither |
//! | `safetensors.offsets_overlap` | two tensors share bytes |
//! | `safetensors.trailing_bytes` | bytes after the last tensor's end |
//! | `safetensors.unknown_field` | (warning) a tensor entry field upstream ignores |
//! | `safetensors.limit_exceeded` | entries and metadata beyond `Limits::header_max_kept_bytes`, or a string longer than it |
//! | `safetensors.keys_unchecked` | (info) keys past the most one header has checked for shadowing |

mod key_findings;
mod stream;

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde_json::Value;

use super::facts::{Finding, Format, ModelFacts, TensorSummary, TensorTypeStat};
use crate::limits::Limits;
use stream::{Field, Item, ParseFailure, RawTensor, StreamError};

/// Bytes of the little-endian header length prefix.
const PREFIX_BYTES: u64 = 8;
/// Upstream's `MAX_HEADER_SIZE`: headers above 100 MB are rejected.
pub const UPSTREAM_MAX_HEADER_BYTES: u64 = 100_000_000;
/// The reserved key holding string → string metadata.
const METADATA_KEY: &str = "__metadata__";
/// At most this many findings of one code are listed; the rest are counted.
const MAX_FINDINGS_PER_CODE: u64 = 16;

/// Upstream's dtype list with each element's size in bits
/// (`Dtype::bitsize` in safetensors/src/tensor.rs), and whether it is a
/// floating-point type (used for the `quantization` summary).
const DTYPES: &[(&str, u64, bool)] = &[
    ("BOOL", 8, false),
    ("F4", 4, true),
    ("F6_E2M3", 6, true),
    ("F6_E3M2", 6, true),
    ("U8", 8, false),
    ("I8", 8, false),
    ("F8_E5M2", 8, true),
    ("F8_E4M3", 8, true),
    ("F8_E8M0", 8, true),
    ("I16", 16, false),
    ("U16", 16, false),
    ("F16", 16, true),
    ("BF16", 16, true),
    ("I32", 32, false),
    ("U32", 32, false),
    ("F32", 32, true),
    ("C64", 64, true),
    ("F64", 64, true),
    ("I64", 64, false),
    ("U64", 64, false),
];

/// Element size in bits and float-ness of a dtype name, if upstream knows it.
fn dtype_info(name: &str) -> Option<(u64, bool)> {
    DTYPES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, bits, float)| (bits, float))
}

/// Whether the first bytes look like a safetensors file: a header length the
/// upstream rule allows and the file can hold, followed by `{`.
pub fn looks_like_safetensors(first_bytes: &[u8], file_len: u64) -> bool {
    let Some(prefix) = first_bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
    else {
        return false;
    };
    let n = u64::from_le_bytes(prefix);
    // "{}" is the shortest valid header.
    (2..=UPSTREAM_MAX_HEADER_BYTES).contains(&n)
        && n.checked_add(PREFIX_BYTES)
            .is_some_and(|end| end <= file_len)
        && first_bytes.get(8) == Some(&b'{')
}

/// Inspect a safetensors file read sequentially from byte 0.
///
/// Reads only the length prefix and the JSON header. `Err` only for I/O
/// errors; damaged content becomes findings in the returned facts.
pub fn inspect<R: Read>(
    reader: &mut R,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> io::Result<ModelFacts> {
    let mut facts = ModelFacts::new(Format::Safetensors, file_name, file_len);
    let mut report = Reporter::default();
    if let Some(n) = read_header_len(reader, file_len, limits, &mut report, &mut facts)? {
        check_header(reader.take(n), n, file_len, limits, &mut report, &mut facts)?;
    }
    report.finish(&mut facts);
    Ok(facts)
}

/// Read the length prefix and check N against the caps and the file.
/// Returns `None` (with a finding) when there is no header to parse.
fn read_header_len<R: Read>(
    reader: &mut R,
    file_len: u64,
    limits: &Limits,
    report: &mut Reporter,
    facts: &mut ModelFacts,
) -> io::Result<Option<u64>> {
    let mut prefix = [0u8; 8];
    let got = read_up_to(reader, &mut prefix)?;
    if got < prefix.len() {
        report.push(
            facts,
            Finding::error(
                "safetensors.truncated",
                format!("file ends after {got} bytes, inside the 8-byte header length"),
            ),
        );
        return Ok(None);
    }
    let n = u64::from_le_bytes(prefix);
    let cap = limits
        .safetensors_max_header_bytes
        .min(UPSTREAM_MAX_HEADER_BYTES);
    if n > cap {
        report.push(
            facts,
            Finding::error(
                "safetensors.header_too_large",
                format!("header length {n} exceeds the {cap}-byte limit"),
            ),
        );
        return Ok(None);
    }
    let available = file_len.saturating_sub(PREFIX_BYTES);
    if n > available {
        report.push(
            facts,
            Finding::error(
                "safetensors.truncated",
                format!("header length {n} exceeds the {available} bytes after the length prefix"),
            ),
        );
        return Ok(None);
    }
    Ok(Some(n))
}

/// Fill `buf` from `reader` until it is full or the input ends; the count read.
fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// One tensor entry as far as it could be understood.
#[derive(Debug)]
struct Entry {
    name: String,
    dtype: String,
    /// Bits per element, when the dtype is known.
    bits: Option<u64>,
    shape: Option<Vec<u64>>,
    offsets: Option<(u64, u64)>,
}

/// Parse the `n`-byte header `reader` yields as a stream ([`stream`]) and
/// check every rule, recording facts on the way. What is kept of each
/// entry is charged to `Limits::header_max_kept_bytes` before it is kept.
/// A repeated key is described as the safetensors crate reads it: the last
/// value, in the place of the first (serde_json's map keeps insertion
/// order), after the key findings.
fn check_header<R: Read>(
    reader: R,
    n: u64,
    file_len: u64,
    limits: &Limits,
    report: &mut Reporter,
    facts: &mut ModelFacts,
) -> io::Result<()> {
    // Each top-level entry as read (the last value of a repeated name),
    // and where each name is.
    let mut items: Vec<Item> = Vec::new();
    let mut place: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut counted = Counted {
        inner: reader,
        read: 0,
        ended: false,
    };
    let (parsed, checks) = stream::parse(
        &mut counted,
        limits.header_max_kept_bytes,
        // A name seen before is a repeat (listed by the key checks, when
        // they had not stopped): its last value takes the first's place.
        &mut |item, _repeated| {
            let name = match &item {
                Item::Metadata(_) => METADATA_KEY,
                Item::Tensor(name, _) => name.as_str(),
            };
            match place.get(name) {
                Some(&at) => {
                    let slot = items
                        .get_mut(at)
                        .ok_or_else(|| format!("lost the first place of {name:?}"))?;
                    *slot = item;
                }
                None => {
                    place.insert(name.to_owned(), items.len());
                    items.push(item);
                }
            }
            Ok(())
        },
    );
    drop(place);
    // The file ended inside the header: that, not the JSON it cut, is
    // what is wrong.
    if counted.ended && counted.read < n && !matches!(parsed, Err(ParseFailure::Io(_))) {
        report.push(
            facts,
            Finding::error(
                "safetensors.truncated",
                format!("file ends {} bytes into a {n}-byte header", counted.read),
            ),
        );
        return Ok(());
    }
    let limit = match parsed {
        Ok(()) => None,
        Err(ParseFailure::Io(e)) => return Err(e),
        Err(ParseFailure::Stream(StreamError::Refused(message))) => Some(message),
        Err(ParseFailure::Stream(StreamError::Syntax(message))) => {
            let finding = if message.starts_with(stream::NOT_AN_OBJECT) {
                Finding::error("safetensors.invalid_json", stream::NOT_AN_OBJECT)
            } else {
                Finding::error(
                    "safetensors.invalid_json",
                    format!("header is not valid JSON: {message}"),
                )
            };
            report.push(facts, finding);
            return Ok(());
        }
    };
    key_findings::report_key_checks(&checks, report, facts);
    if let Some(message) = limit {
        report.push(facts, Finding::error("safetensors.limit_exceeded", message));
        return Ok(());
    }

    let mut entries = Vec::new();
    for item in items {
        match item {
            Item::Metadata(field) => read_metadata(field, report, facts),
            Item::Tensor(name, raw) => {
                if let Some(entry) = read_entry(name, raw, report, facts) {
                    entries.push(entry);
                }
            }
        }
    }
    // Upstream sorts by (begin, end); the name makes the order total.
    entries.sort_by(|a, b| a.offsets.cmp(&b.offsets).then_with(|| a.name.cmp(&b.name)));

    // The header fit in the file, so this cannot underflow.
    let data_len = file_len.saturating_sub(PREFIX_BYTES).saturating_sub(n);
    check_data_section(&entries, data_len, report, facts);
    fill_summary(&entries, report, facts);
    Ok(())
}

/// The tensors' byte ranges against a data section of `data_len` bytes.
fn check_data_section(
    entries: &[Entry],
    data_len: u64,
    report: &mut Reporter,
    facts: &mut ModelFacts,
) {
    let data_end = check_layout(entries, report, facts);
    if data_end > data_len {
        report.push(facts, Finding::error("safetensors.truncated", format!("tensor data ends at byte {data_end} of the data section, which holds only {data_len} bytes")));
    } else if data_end < data_len {
        let extra = data_len - data_end;
        report.push(
            facts,
            Finding::error(
                "safetensors.trailing_bytes",
                format!("{extra} bytes after the last tensor's data"),
            ),
        );
    }
}

/// A reader that counts the bytes it gave and notes when its input ended.
struct Counted<R> {
    inner: R,
    read: u64,
    ended: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        self.ended |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

/// `__metadata__`: absent or null, else an object of strings.
fn read_metadata(
    field: Field<Vec<(String, Result<String, &'static str>)>>,
    report: &mut Reporter,
    facts: &mut ModelFacts,
) {
    let map = match field {
        Field::Missing => return,
        Field::Found(map) => map,
        Field::Wrong(_) => {
            report.push(
                facts,
                Finding::error("safetensors.bad_metadata", "__metadata__ is not an object"),
            );
            return;
        }
    };
    for (key, value) in map {
        match value {
            Ok(s) => {
                if key == "format" {
                    facts.training_framework = Some(framework_name(&s));
                }
                facts.metadata.insert(key, Value::String(s));
            }
            Err(kind) => report.push(
                facts,
                Finding::error(
                    "safetensors.bad_metadata",
                    format!("__metadata__ value of {key:?} is a {kind}, not a string"),
                ),
            ),
        }
    }
}

/// `__metadata__["format"]` → framework name.
fn framework_name(format: &str) -> String {
    match format {
        "pt" => "pytorch",
        "tf" => "tensorflow",
        "flax" => "flax",
        "mlx" => "mlx",
        "np" | "numpy" => "numpy",
        other => other,
    }
    .to_owned()
}

/// One tensor entry; `None` when not even its dtype could be read.
fn read_entry(
    name: String,
    raw: Result<RawTensor, &'static str>,
    report: &mut Reporter,
    facts: &mut ModelFacts,
) -> Option<Entry> {
    let raw = match raw {
        Ok(raw) => raw,
        Err(kind) => {
            report.push(
                facts,
                Finding::error(
                    "safetensors.bad_tensor_info",
                    format!("tensor {name:?} is a {kind}, not an object"),
                ),
            );
            return None;
        }
    };
    let Field::Found(dtype) = raw.dtype else {
        report.push(
            facts,
            Finding::error(
                "safetensors.bad_tensor_info",
                format!("tensor {name:?} has no string dtype"),
            ),
        );
        return None;
    };
    let bits = dtype_info(&dtype).map(|(bits, _)| bits);
    if bits.is_none() {
        report.push(
            facts,
            Finding::error(
                "safetensors.unknown_dtype",
                format!("tensor {name:?} has unknown dtype {dtype:?}"),
            ),
        );
    }
    let shape = match raw.shape {
        Field::Found(dims) => Some(dims),
        _ => None,
    };
    if shape.is_none() {
        report.push(
            facts,
            Finding::error(
                "safetensors.bad_tensor_info",
                format!("tensor {name:?} has no shape made of non-negative integers"),
            ),
        );
    }
    let offsets = match raw.offsets {
        Field::Found(pair) => Some(pair),
        _ => None,
    };
    match offsets {
        None => report.push(
            facts,
            Finding::error(
                "safetensors.bad_offsets",
                format!("tensor {name:?} has no data_offsets pair of non-negative integers"),
            ),
        ),
        Some((begin, end)) if begin > end => report.push(
            facts,
            Finding::error(
                "safetensors.bad_offsets",
                format!("tensor {name:?} begins at {begin}, after its end {end}"),
            ),
        ),
        Some(_) => {}
    }
    if !raw.unknown.is_empty() {
        report.push(
            facts,
            Finding::warning(
                "safetensors.unknown_field",
                format!(
                    "tensor {name:?} has fields loaders ignore: {}",
                    raw.unknown.join(", ")
                ),
            ),
        );
    }
    Some(Entry {
        name,
        dtype,
        bits,
        shape,
        offsets,
    })
}

/// Walk the entries in offset order: contiguity from 0 and dtype × shape
/// against each byte range. Returns the end of the covered data.
fn check_layout(entries: &[Entry], report: &mut Reporter, facts: &mut ModelFacts) -> u64 {
    let mut covered: u64 = 0;
    let mut first = true;
    for entry in entries {
        let Some((begin, end)) = entry.offsets.filter(|(b, e)| b <= e) else {
            continue;
        };
        if begin > covered {
            let (code, what) = if first {
                (
                    "safetensors.offsets_not_covering",
                    "the data section starts".to_owned(),
                )
            } else {
                (
                    "safetensors.offsets_gap",
                    format!("the previous tensor ends at {covered}"),
                )
            };
            report.push(
                facts,
                Finding::error(
                    code,
                    format!("tensor {:?} begins at {begin}, but {what}", entry.name),
                ),
            );
        } else if begin < covered {
            report.push(
                facts,
                Finding::error(
                    "safetensors.offsets_overlap",
                    format!(
                        "tensor {:?} begins at {begin}, inside data that ends at {covered}",
                        entry.name
                    ),
                ),
            );
        }
        first = false;
        covered = covered.max(end);
        if let (Some(bits), Some(shape)) = (entry.bits, &entry.shape) {
            check_size(entry, bits, shape, end - begin, report, facts);
        }
    }
    covered
}

/// `end − begin == product(shape) × bits / 8`, upstream's rule.
fn check_size(
    entry: &Entry,
    bits: u64,
    shape: &[u64],
    len: u64,
    report: &mut Reporter,
    facts: &mut ModelFacts,
) {
    let name = &entry.name;
    let Some(total_bits) = element_count(shape).and_then(|n| n.checked_mul(bits)) else {
        report.push(
            facts,
            Finding::error(
                "safetensors.overflow",
                format!("tensor {name:?}: size of shape {shape:?} overflows"),
            ),
        );
        return;
    };
    if total_bits % 8 != 0 {
        report.push(
            facts,
            Finding::error(
                "safetensors.size_mismatch",
                format!(
                    "tensor {name:?}: {total_bits} bits of {} do not fill whole bytes",
                    entry.dtype
                ),
            ),
        );
    } else if total_bits / 8 != len {
        report.push(
            facts,
            Finding::error(
                "safetensors.size_mismatch",
                format!(
                    "tensor {name:?}: {} × {shape:?} needs {} bytes, data_offsets span {len}",
                    entry.dtype,
                    total_bits / 8
                ),
            ),
        );
    }
}

/// Product of the dimensions (1 for a scalar), `None` on overflow.
fn element_count(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

/// Tensor table, dtype histogram, parameter count, dominant dtype, quantization.
fn fill_summary(entries: &[Entry], report: &mut Reporter, facts: &mut ModelFacts) {
    let mut parameters: Option<u64> = Some(0);
    for entry in entries {
        let count = entry.shape.as_deref().and_then(element_count);
        if let (Some(total), Some(n)) = (parameters, count) {
            parameters = total.checked_add(n);
            if parameters.is_none() {
                report.push(
                    facts,
                    Finding::error("safetensors.overflow", "total parameter count overflows"),
                );
            }
        }
        if entry.bits.is_some()
            && let Some(n) = count
        {
            let stat = facts.tensor_types.entry(entry.dtype.clone()).or_default();
            stat.tensors = stat.tensors.saturating_add(1);
            stat.parameters = stat.parameters.saturating_add(n);
        }
        facts.tensors.push(TensorSummary {
            name: entry.name.clone(),
            dtype: entry.dtype.clone(),
            shape: entry.shape.clone().unwrap_or_default(),
            offset: entry.offsets.map_or(0, |(begin, _)| begin),
            size_bytes: entry.offsets.filter(|(b, e)| b <= e).map(|(b, e)| e - b),
        });
    }
    facts.tensor_count = Some(entries.len() as u64);
    facts.parameter_count = parameters;
    facts.dtype = dtype(&facts.tensors);
    facts.quantization = quantization(&facts.tensor_types);
}

/// l-bom's `dtype` of a safetensors model: the tensors' one dtype, or
/// `mixed` when they have several (l-bom `parsers/safetensors.py`).
pub(crate) fn dtype(tensors: &[TensorSummary]) -> Option<String> {
    let mut first: Option<&str> = None;
    for t in tensors {
        match first {
            None => first = Some(&t.dtype),
            Some(d) if d != t.dtype => return Some("mixed".to_owned()),
            Some(_) => {}
        }
    }
    first.map(str::to_owned)
}

/// The quantization summary: safetensors has no quantization label, so this
/// is the single floating-point dtype of the weights (`F16`, `BF16`, …);
/// `mixed` when several float dtypes hold weights. Integer and bool tensors
/// (masks, position ids, packed quantized blocks) are not "the weights'
/// dtype" unless nothing is a float: then the single dtype, or `mixed`.
fn quantization(types: &BTreeMap<String, TensorTypeStat>) -> Option<String> {
    let floats: Vec<&String> = types
        .keys()
        .filter(|name| dtype_info(name).is_some_and(|(_, float)| float))
        .collect();
    let candidates: Vec<&String> = if floats.is_empty() {
        types.keys().collect()
    } else {
        floats
    };
    match candidates.as_slice() {
        [] => None,
        [only] => Some((*only).clone()),
        _ => Some("mixed".to_owned()),
    }
}

/// Pushes findings, at most [`MAX_FINDINGS_PER_CODE`] per code, so a header
/// with a million bad tensors gives a readable report and bounded memory.
#[derive(Debug, Default)]
struct Reporter {
    seen: BTreeMap<String, u64>,
}

impl Reporter {
    fn push(&mut self, facts: &mut ModelFacts, finding: Finding) {
        let seen = self.seen.entry(finding.code.clone()).or_default();
        *seen = seen.saturating_add(1);
        if *seen <= MAX_FINDINGS_PER_CODE {
            facts.push(finding);
        }
    }

    /// Add one finding per code whose findings were cut short.
    fn finish(self, facts: &mut ModelFacts) {
        for (code, seen) in self.seen {
            if seen > MAX_FINDINGS_PER_CODE {
                let hidden = seen - MAX_FINDINGS_PER_CODE;
                let severity = facts
                    .findings
                    .iter()
                    .find(|f| f.code == code)
                    .map(|f| f.severity)
                    .unwrap_or(super::Severity::Error);
                facts.push(Finding::new(
                    &code,
                    severity,
                    format!("{hidden} more {code} findings not listed"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests;
