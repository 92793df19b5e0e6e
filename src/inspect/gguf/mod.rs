//! lbom's own GGUF reader: the header only (magic, version, counts,
//! metadata key/values, tensor infos), never the tensor data.
//!
//! [`inspect`] reads sequentially from byte 0 and stops at the end of the
//! tensor infos; the caller hashes and drains the rest. Damage is never an
//! `Err`: every structural problem becomes an error [`Finding`] and what was
//! read before it is kept. See `parse.rs` for the wire format and bounds,
//! `layout.rs` for the data-section checks and `checks.rs` for label checks.
//!
//! # Digests
//!
//! Both digests below use a *canonical encoding* of GGUF values that does
//! not depend on the file's byte order or GGUF version: integers and floats
//! as their little-endian bytes (floats bit for bit), bools as their byte, a
//! string as its `u64` little-endian byte length then its bytes, an array as
//! its `u32` LE element type, `u64` LE count, then its elements. For a v2
//! or v3 little-endian file this is exactly the bytes as stored, so
//! anyone can recompute a digest from the file with `dd | sha256sum`.
//!
//! - **Array summaries** in `metadata` (arrays longer than
//!   `Limits::metadata_array_inline_max`): `sha256` is over the canonical
//!   encoding of the elements only (not the array's type and count).
//! - **`tokenizer_sha256`**: for each of `tokenizer.ggml.model`, `.tokens`,
//!   `.scores`, `.token_type`, `.merges` present, `d(key)` = SHA-256 of the
//!   value type (`u32` LE) followed by the canonical value. Then
//!   `tokenizer_sha256` = SHA-256 of `"lbom-gguf-tokenizer-v1\n"` followed,
//!   for each present key in that fixed order, by the key's length (`u64`
//!   LE), the key bytes and `d(key)`. Key order in the file does not matter;
//!   absent keys contribute nothing; `None` when none is present.
//! - **`chat_template_sha256`**: SHA-256 of the raw bytes of
//!   `tokenizer.chat_template` (no length prefix).
//!
//! # Findings
//!
//! Errors stop the header walk unless noted: `gguf.bad_magic`,
//! `gguf.unsupported_version` (not 1-3), `gguf.truncated` (the file ends
//! before a field, or a count or a length not above its cap runs past the
//! end), `gguf.bad_string` (a string length above the string cap *and* past
//! the end of the file: a forged length rather than a cut file),
//! `gguf.limit_exceeded` (a count, length, nesting depth or header size over
//! [`Limits`]), `gguf.bad_value_type`; and, without stopping:
//! `gguf.duplicate_key` (first value kept), `gguf.duplicate_tensor`,
//! `key.nul`, `key.shadowed`, `key.confusable` (keys that hide behind one
//! another: the value llama.cpp reads, the first with a given C string, is
//! the one described; docs/findings.md "Key shadowing"),
//! `gguf.bad_alignment` (not a non-zero power of two, or not a uint32),
//! `gguf.bad_dims` (`n_dims` 0 or over 4, element count over `i64::MAX`),
//! `gguf.tensor_size_mismatch` (row not a multiple of the block size),
//! `gguf.tensor_misaligned`, `gguf.tensor_out_of_bounds`,
//! `gguf.tensors_overlap`, `gguf.gap`, `gguf.unknown_tensor_type`,
//! `gguf.tensor_name_too_long` (each refused by llama.cpp), and, found by
//! the caller in the bytes [`inspect_with_unclaimed`] lists,
//! `gguf.polyglot` and `gguf.unclaimed_unscanned`.
//! Warnings: `gguf.invalid_utf8` (the spec makes every string UTF-8,
//! llama.cpp loads it anyway; converted lossily for the report),
//! `gguf.old_version`, `gguf.trailing_bytes`,
//! `gguf.bad_bool` (a bool byte other than 0/1, read as
//! true), `quant.label_mismatch` (rule in `checks::label_mismatch`; also an
//! unknown `general.file_type` code), `quant.filename_mismatch`,
//! `model.size_label_mismatch` (a factor of two either way, see
//! `checks::size_label_range`), `model.vocab_mismatch`,
//! `model.unknown_architecture`, `model.local_path_leak`,
//! `template.*` (docs/findings.md, "Chat templates"). Info: `gguf.file_type_missing`,
//! `gguf.non_finite_float`. Whole-model checks (size label, file type
//! against tensor types) are skipped for a shard of a split model and after
//! a damaged header. At most 32 findings of one code are listed; one more
//! finding of that code counts the rest.

pub(crate) mod checks;
mod layout;
mod parse;
mod types;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod writer;

use std::collections::BTreeMap;
use std::io::{self, Read};

use serde_json::Value as Json;

pub use types::{file_type_name, ggml_type};

use self::parse::{Header, Parser, Stop, TOKENIZER_KEYS};
use self::types::{FILE_TYPE_GUESSED, KNOWN_ARCHITECTURES, value_type as vt};
use crate::inspect::facts::{
    Finding, Format, ModelFacts, SplitInfo, TensorSummary, TensorTypeStat, capped_chat_template,
};
use crate::io::digest::{Hasher, Sha256Digest};
use crate::limits::Limits;

/// The four magic bytes every GGUF file starts with.
pub const GGUF_MAGIC: &[u8; 4] = b"GGUF";
/// `general.alignment` when the key is absent (ggml `GGUF_DEFAULT_ALIGNMENT`).
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Domain tag of `tokenizer_sha256` (see the module docs).
const TOKENIZER_DIGEST_TAG: &[u8] = b"lbom-gguf-tokenizer-v1\n";

/// Whether `first_bytes` starts with the GGUF magic.
pub fn is_gguf_magic(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(GGUF_MAGIC)
}

/// Read a GGUF header from `reader` (positioned at byte 0 of a file of
/// `file_len` bytes) into [`ModelFacts`].
///
/// Reads only up to the end of the tensor infos, sequentially, never
/// seeking. Returns `Err` only for I/O errors other than an unexpected end
/// of file; truncation and every structural problem are error findings.
#[cfg(any(test, feature = "internals"))]
pub fn inspect<R: Read>(
    reader: &mut R,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> io::Result<ModelFacts> {
    inspect_with_unclaimed(reader, file_len, file_name, limits).map(|(facts, _)| facts)
}

/// [`inspect`], also returning the byte ranges `[start, end)` that no tensor
/// claims (docs/findings.md, "Bytes no tensor claims"), for the caller to
/// scan once it reads past the header. Empty when the header is damaged:
/// its error says more than any content found after it.
pub fn inspect_with_unclaimed<R: Read>(
    reader: &mut R,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> io::Result<(ModelFacts, Vec<(u64, u64)>)> {
    let mut parser = Parser::new(reader, file_len, limits);
    let complete = match parser.run() {
        Ok(()) => true,
        Err(Stop::Fatal) => false,
        Err(Stop::Io(e)) => return Err(e),
    };
    let Parser {
        header,
        mut findings,
        ..
    } = parser;

    let mut facts = ModelFacts {
        format_version: header.version,
        endianness: header
            .version
            .map(|_| if header.big_endian { "big" } else { "little" }.to_owned()),
        tensor_count: header.tensor_count,
        ..ModelFacts::new(Format::Gguf, file_name, file_len)
    };

    let alignment = alignment(&header, &mut findings);
    facts.alignment = alignment.raw;
    fill_tensors(&mut facts, &header, &mut findings);
    let mut unclaimed = Vec::new();
    if complete && let Some(header_end) = header.header_end {
        layout::check(
            &header.tensors,
            header_end,
            alignment.valid,
            file_len,
            &mut findings,
        );
        unclaimed = layout::unclaimed(&header.tensors, header_end, alignment.valid, file_len);
    }
    fill_metadata(&mut facts, &header, file_name, complete, &mut findings);
    facts.metadata = header.metadata;
    for finding in findings.finish() {
        facts.push(finding);
    }
    Ok((facts, unclaimed))
}

/// `general.alignment` as found (`raw`) and as usable for layout checks.
struct Alignment {
    raw: Option<u64>,
    valid: Option<u64>,
}

fn alignment(header: &Header, findings: &mut parse::Findings) -> Alignment {
    let Some(value) = header.metadata.get("general.alignment") else {
        return Alignment {
            raw: Some(DEFAULT_ALIGNMENT),
            valid: Some(DEFAULT_ALIGNMENT),
        };
    };
    let raw = value.as_u64();
    if header.alignment_type != Some(vt::UINT32) {
        // ggml gguf.cpp refuses any other type for this key.
        findings.push(Finding::error(
            "gguf.bad_alignment",
            format!("gguf metadata: general.alignment must be a uint32, found {value}"),
        ));
    }
    match raw {
        Some(a) if a.is_power_of_two() => Alignment {
            raw,
            valid: Some(a),
        },
        _ => {
            findings.push(Finding::error(
                "gguf.bad_alignment",
                format!("gguf metadata: general.alignment {value} is not a non-zero power of two; alignment checks skipped"),
            ));
            Alignment { raw, valid: None }
        }
    }
}

fn fill_tensors(facts: &mut ModelFacts, header: &Header, findings: &mut parse::Findings) {
    let mut total: Option<u64> = Some(0);
    let mut types: BTreeMap<String, TensorTypeStat> = BTreeMap::new();
    let mut matrix_types: BTreeMap<String, u64> = BTreeMap::new();
    for t in &header.tensors {
        let type_name = match ggml_type(t.type_id) {
            Some(ty) => ty.name.to_owned(),
            None => format!("unknown({})", t.type_id),
        };
        let stat = types.entry(type_name.clone()).or_default();
        stat.tensors = stat.tensors.saturating_add(1);
        if let Some(n) = t.elements {
            stat.parameters = stat.parameters.saturating_add(n);
            total = total.and_then(|s| s.checked_add(n));
            if t.dims.len() >= 2 {
                let m = matrix_types.entry(type_name.clone()).or_default();
                *m = m.saturating_add(n);
            }
        }
        facts.tensors.push(TensorSummary {
            name: t.name.clone(),
            dtype: type_name,
            shape: t.dims.clone(),
            offset: t.offset,
            size_bytes: t.size,
        });
    }
    if total.is_none() {
        findings.push(Finding::error(
            "gguf.bad_dims",
            "gguf tensors: the total parameter count overflows a u64",
        ));
    }
    facts.parameter_count = total.filter(|_| !header.tensors.is_empty());
    facts.dtype = dominant(types.iter().map(|(k, s)| (k.as_str(), s.parameters)));
    facts.tensor_types = types;
    // Remember the dominant type of the matrices for the derived quantization.
    facts.quantization = dominant(matrix_types.iter().map(|(k, n)| (k.as_str(), *n)))
        .or_else(|| facts.dtype.clone());
}

/// The name with the largest count; ties go to the smallest name, so the
/// result does not depend on tensor order.
fn dominant<'a>(items: impl Iterator<Item = (&'a str, u64)>) -> Option<String> {
    items
        .fold(None, |best: Option<(&str, u64)>, (name, n)| match best {
            Some((_, bn)) if bn >= n => best,
            _ => Some((name, n)),
        })
        .map(|(name, _)| name.to_owned())
}

fn meta_str<'a>(header: &'a Header, key: &str) -> Option<&'a str> {
    header.metadata.get(key).and_then(Json::as_str)
}

fn meta_u64(header: &Header, key: &str) -> Option<u64> {
    header.metadata.get(key).and_then(Json::as_u64)
}

fn fill_metadata(
    facts: &mut ModelFacts,
    header: &Header,
    file_name: &str,
    complete: bool,
    findings: &mut parse::Findings,
) {
    facts.architecture = meta_str(header, "general.architecture").map(str::to_owned);
    facts.name = meta_str(header, "general.name").map(str::to_owned);
    facts.size_label = meta_str(header, "general.size_label").map(str::to_owned);
    facts.license = meta_str(header, "general.license").map(str::to_owned);
    facts.base_model = base_model(header, findings);
    if let Some(arch) = facts.architecture.as_deref() {
        facts.context_length = meta_u64(header, &format!("{arch}.context_length"));
        facts.vocab_size = meta_u64(header, &format!("{arch}.vocab_size"));
        if !KNOWN_ARCHITECTURES.contains(&arch) {
            findings.push(Finding::warning(
                "model.unknown_architecture",
                format!("general.architecture '{arch}' is not an architecture llama.cpp knows"),
            ));
        }
    }
    facts.vocab_size = facts.vocab_size.or(header.token_count);
    facts.chat_template_sha256 = header.chat_template.as_deref().map(Sha256Digest::of);
    facts.chat_template = header
        .chat_template
        .as_deref()
        .map(|raw| capped_chat_template(&String::from_utf8_lossy(raw)));
    facts.tokenizer_sha256 = tokenizer_digest(header);
    facts.split = split(header);
    fill_quantization(facts, header, file_name, complete, findings);

    // One shard of a split model holds only part of the parameters.
    if let (Some(label), Some(params), false, true) = (
        facts.size_label.as_deref(),
        facts.parameter_count,
        is_partial_shard(facts),
        complete,
    ) && let Some(f) = checks::size_label_mismatch(label, params)
    {
        findings.push(f);
    }
    if let Some(f) = vocab_mismatch(facts, header) {
        findings.push(f);
    }
    for f in &header.template_findings {
        findings.push(f.clone());
    }
}

/// `general.file_type` → `file_type` and `quantization`, with the label checks.
/// Without a usable file type, `quantization` stays the dominant ggml type
/// of the matrices (tensors with two or more dimensions) set by `fill_tensors`.
///
/// After a damaged header, a missing key may just be unread: no finding then.
fn fill_quantization(
    facts: &mut ModelFacts,
    header: &Header,
    file_name: &str,
    complete: bool,
    findings: &mut parse::Findings,
) {
    let code = meta_u64(header, "general.file_type");
    facts.file_type = code;
    let derived = facts
        .quantization
        .clone()
        .unwrap_or_else(|| "none".to_owned());
    match code.map(|c| (c, file_type_name(c))) {
        // Shards after the first carry only the split keys: their own
        // tensors say nothing of the model's quantization, so none is
        // invented (the grouped model takes the first shard's).
        None if facts.split.is_some_and(|s| s.no > 0) => facts.quantization = None,
        None if !complete => {}
        None => findings.push(Finding::info(
            "gguf.file_type_missing",
            format!("general.file_type is absent or not a non-negative integer; quantization {derived} is derived from the tensor types"),
        )),
        Some((FILE_TYPE_GUESSED, _)) => findings.push(Finding::info(
            "gguf.file_type_missing",
            format!("general.file_type is GUESSED (1024); quantization {derived} is derived from the tensor types"),
        )),
        Some((c, None)) => findings.push(Finding::warning(
            "quant.label_mismatch",
            format!("general.file_type {c} is not a llama.cpp file type; quantization {derived} is derived from the tensor types"),
        )),
        Some((c, Some(name))) => {
            facts.quantization = Some(name.to_owned());
            if is_partial_shard(facts) || !complete {
                // The types of one shard (or of a damaged header's first
                // tensors) need not reflect the whole model.
            } else if let Some(f) = checks::label_mismatch(c, &facts.tensor_types, facts.dtype.as_deref(), &facts.tensors) {
                findings.push(f);
            }
            if let Some(f) = checks::filename_mismatch(file_name, name) {
                findings.push(f);
            }
        }
    }
}

/// `general.base_model.0.repo_url`, else `organization/name` of base model 0;
/// values that look like local paths are dropped with `model.local_path_leak`.
fn base_model(header: &Header, findings: &mut parse::Findings) -> Option<String> {
    let mut public = |key: &str| -> Option<String> {
        let v = meta_str(header, key)?.trim();
        if v.is_empty() {
            return None;
        }
        if super::reference::is_local_path(v) {
            findings.push(Finding::warning(
                "model.local_path_leak",
                format!(
                    "metadata key '{key}' holds a local path; it is not used as the base model"
                ),
            ));
            return None;
        }
        Some(v.to_owned())
    };
    if let Some(url) = public("general.base_model.0.repo_url") {
        return Some(url);
    }
    let org = public("general.base_model.0.organization");
    let name = public("general.base_model.0.name");
    match (org, name) {
        (Some(org), Some(name)) => Some(format!("{org}/{name}")),
        (None, Some(name)) => Some(name),
        _ => None,
    }
}

fn tokenizer_digest(header: &Header) -> Option<Sha256Digest> {
    if header.tokenizer_parts.is_empty() {
        return None;
    }
    let mut h = Hasher::new();
    h.update(TOKENIZER_DIGEST_TAG);
    for key in TOKENIZER_KEYS {
        if let Some(d) = header.tokenizer_parts.get(key) {
            h.update(&(key.len() as u64).to_le_bytes());
            h.update(key.as_bytes());
            h.update(d.as_bytes());
        }
    }
    Some(h.finish())
}

/// Whether this file is one shard of a model split into several files.
fn is_partial_shard(facts: &ModelFacts) -> bool {
    facts.split.is_some_and(|s| s.count > 1)
}

fn split(header: &Header) -> Option<SplitInfo> {
    let no = meta_u64(header, "split.no")?;
    let count = meta_u64(header, "split.count")?;
    Some(SplitInfo {
        no,
        count,
        tensors_count: meta_u64(header, "split.tensors.count"),
    })
}

/// `model.vocab_mismatch` when `<arch>.vocab_size`, the token count and the
/// rows of `token_embd.weight` (ggml shape `[n_embd, n_vocab]`) disagree.
fn vocab_mismatch(facts: &ModelFacts, header: &Header) -> Option<Finding> {
    let arch_key = facts
        .architecture
        .as_deref()
        .map(|a| format!("{a}.vocab_size"));
    let mut seen: Vec<(String, u64)> = Vec::new();
    if let Some(key) = arch_key
        && let Some(v) = meta_u64(header, &key)
    {
        seen.push((key, v));
    }
    if let Some(n) = header.token_count {
        seen.push(("tokenizer.ggml.tokens count".to_owned(), n));
    }
    if let Some(rows) = header
        .tensors
        .iter()
        .find(|t| t.name == "token_embd.weight")
        .and_then(|t| t.dims.get(1))
    {
        seen.push(("token_embd.weight rows".to_owned(), *rows));
    }
    let first = seen.first()?.1;
    if seen.iter().all(|(_, v)| *v == first) {
        return None;
    }
    let list: Vec<String> = seen.iter().map(|(k, v)| format!("{k} {v}")).collect();
    Some(Finding::warning(
        "model.vocab_mismatch",
        format!("vocabulary sizes disagree: {}", list.join(", ")),
    ))
}
