//! What `inspect` learns about one model file: [`ModelFacts`] and its findings.
//!
//! Field names follow l-bom's JSON report so that its users' scripts keep
//! working; everything lbom adds comes after l-bom's fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::io::digest::Sha256Digest;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, nothing wrong.
    Info,
    /// Suspicious content: the file parses but something disagrees.
    Warning,
    /// Structural damage or a file able to run code on load.
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One anomaly, with a stable machine code (`gguf.truncated`), a severity and
/// a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable dotted code, `<area>.<what>`; never changes once released.
    pub code: String,
    /// How bad it is.
    pub severity: Severity,
    /// One sentence, lowercase start, no trailing period.
    pub message: String,
}

impl Finding {
    /// A finding of any severity.
    pub fn new(code: &str, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            severity,
            message: message.into(),
        }
    }
    /// An error finding (structural damage).
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }
    /// A warning finding (suspicious content).
    pub fn warning(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }
    /// An informational finding.
    pub fn info(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Info, message)
    }
}

/// The file format, decided from the bytes (magic), never from the name alone.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// GGUF v1–v3 (llama.cpp / ggml).
    Gguf,
    /// safetensors (Hugging Face).
    Safetensors,
    /// A raw pickle stream (`.pkl`, old-style `.bin`/`.pt`).
    Pickle,
    /// A PyTorch zip archive holding `data.pkl`.
    PytorchZip,
    /// A JSON side file of a model folder (config.json, tokenizer.json, …).
    Json,
    /// A NumPy `.npy` array (its data a pickle when the dtype holds objects).
    Numpy,
    /// A 7z archive: not read, so refused (`pickle.archive_not_scanned`).
    #[serde(rename = "7z")]
    SevenZip,
    /// UTF-8 text without control characters: a model card, a licence,
    /// `.gitattributes`, `vocab.txt`, `merges.txt`, a chat template
    /// (`side_format`).
    Text,
    /// A tiktoken BPE file: lines of a base64 token and its rank.
    Tiktoken,
    /// A SentencePiece model (`tokenizer.model`): protobuf `ModelProto`.
    Sentencepiece,
    /// Text under a script's file name (`*.py`, `*.sh`, …): code a loader
    /// may run (`trust_remote_code`).
    Code,
    /// Anything else.
    #[default]
    Unknown,
}

impl Format {
    /// The lowercase name used in reports (`gguf`, `safetensors`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Gguf => "gguf",
            Format::Safetensors => "safetensors",
            Format::Pickle => "pickle",
            Format::PytorchZip => "pytorch-zip",
            Format::Json => "json",
            Format::Numpy => "numpy",
            Format::SevenZip => "7z",
            Format::Text => "text",
            Format::Tiktoken => "tiktoken",
            Format::Sentencepiece => "sentencepiece",
            Format::Code => "code",
            Format::Unknown => "unknown",
        }
    }
    /// Whether loading a file of this format can run arbitrary code. A 7z
    /// archive is unread, so it counts as able to (it may hold pickles);
    /// NumPy's loader refuses object arrays unless asked (`allow_pickle`),
    /// and their pickle is judged on its own.
    pub fn is_code_capable(self) -> bool {
        matches!(
            self,
            Format::Pickle | Format::PytorchZip | Format::SevenZip | Format::Code
        )
    }
}

/// How many tensors of one type, and how many parameters they hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorTypeStat {
    /// Number of tensors of this type.
    pub tensors: u64,
    /// Sum of their element counts.
    pub parameters: u64,
}

/// One row of a tensor table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSummary {
    /// Tensor name as stored in the file.
    pub name: String,
    /// Type name (`Q4_K`, `F16`, `BF16`, …; `unknown(N)` for an unknown ggml id).
    #[serde(rename = "type")]
    pub dtype: String,
    /// Shape as stored (GGUF: ggml order, innermost first; safetensors: row-major).
    pub shape: Vec<u64>,
    /// Offset of the tensor data, relative to the start of the data section.
    pub offset: u64,
    /// Size of the tensor data in bytes, when the type's block size is known.
    pub size_bytes: Option<u64>,
}

/// GGUF split information (`split.no`, `split.count`, `split.tensors.count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// 0-based shard number.
    pub no: u64,
    /// Number of shards.
    pub count: u64,
    /// Total tensor count over all shards, when recorded.
    pub tensors_count: Option<u64>,
}

/// One shard of a grouped model (split GGUF or sharded safetensors).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSummary {
    /// File name of the shard.
    pub filename: String,
    /// Size in bytes.
    pub file_size_bytes: u64,
    /// SHA-256, unless hashing was turned off.
    pub sha256: Option<Sha256Digest>,
}

/// Everything `inspect` learns about one model file (or one grouped model).
///
/// The first block of fields are l-bom's, with its names; the rest are lbom's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelFacts {
    /// The path as the user named it (relative paths stay relative).
    pub model_path: String,
    /// The file name (for a Hub cache symlink: the name it is known by).
    pub model_filename: String,
    /// Size in bytes (for a grouped model: all shards).
    pub file_size_bytes: u64,
    /// SHA-256 of the file's bytes; `None` with `--no-hash`.
    pub sha256: Option<Sha256Digest>,
    /// Format decided from the bytes.
    pub format: Format,
    /// Model architecture (`llama`, `LlamaForCausalLM`, …).
    pub architecture: Option<String>,
    /// Number of parameters, summed from tensor shapes.
    pub parameter_count: Option<u64>,
    /// llama.cpp file-type name without `MOSTLY_` (`Q4_K_M`), or a dtype summary.
    pub quantization: Option<String>,
    /// Dominant tensor dtype (by parameters).
    pub dtype: Option<String>,
    /// Context length the model was trained for.
    pub context_length: Option<u64>,
    /// Vocabulary size.
    pub vocab_size: Option<u64>,
    /// Licence as written in the file (SPDX id when it is one).
    pub license: Option<String>,
    /// Base model: a public name or URL, never a local path.
    pub base_model: Option<String>,
    /// Training or export framework, when recorded.
    pub training_framework: Option<String>,
    /// Every metadata key; arrays over `Limits::metadata_array_inline_max`
    /// items are summarised as `{"type":"array","count":N,"sha256":…}`.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The findings' messages, kept as plain strings for l-bom compatibility.
    pub warnings: Vec<String>,

    // ---- lbom additions ------------------------------------------------
    /// Every anomaly with code and severity.
    pub findings: Vec<Finding>,
    /// Tensor type name → tensor count and parameter count.
    pub tensor_types: BTreeMap<String, TensorTypeStat>,
    /// SHA-256 of the chat template text, when there is one.
    pub chat_template_sha256: Option<Sha256Digest>,
    /// The chat template text (lossy UTF-8), so that `diff` can show what
    /// changed. Capped at [`CHAT_TEMPLATE_TEXT_MAX`] bytes with a note
    /// appended; `chat_template_sha256` always covers the whole template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    /// SHA-256 of the tokenizer (GGUF token arrays, or tokenizer.json).
    pub tokenizer_sha256: Option<Sha256Digest>,
    /// The raw `general.file_type` code.
    pub file_type: Option<u64>,
    /// The model's own name (`general.name`, …).
    pub name: Option<String>,
    /// The size label (`general.size_label`, e.g. `7B`).
    pub size_label: Option<String>,
    /// Format version (GGUF 1–3).
    pub format_version: Option<u32>,
    /// Byte order of a GGUF file (`little` or `big`).
    pub endianness: Option<String>,
    /// Data alignment of a GGUF file.
    pub alignment: Option<u64>,
    /// Number of tensors.
    pub tensor_count: Option<u64>,
    /// The tensor table.
    pub tensors: Vec<TensorSummary>,
    /// GGUF split keys of this file.
    pub split: Option<SplitInfo>,
    /// Shards grouped into this model, in order.
    pub shards: Vec<ShardSummary>,
    /// Callables a pickle imports (`module.name`), for pickle-based files.
    pub pickle_imports: Vec<String>,
}

/// Most bytes of chat template text kept in [`ModelFacts::chat_template`].
pub const CHAT_TEMPLATE_TEXT_MAX: usize = 64 * 1024;

/// The template text to keep: at most [`CHAT_TEMPLATE_TEXT_MAX`] bytes, cut
/// on a character boundary, with a note saying how long the whole text was.
pub fn capped_chat_template(text: &str) -> String {
    if text.len() <= CHAT_TEMPLATE_TEXT_MAX {
        return text.to_owned();
    }
    let mut cut = CHAT_TEMPLATE_TEXT_MAX;
    while !text.is_char_boundary(cut) {
        cut = cut.saturating_sub(1);
    }
    let mut out = text.get(..cut).unwrap_or_default().to_owned();
    out.push_str(&format!(
        "\n[lbom: template cut at {cut} of {} bytes; chat_template_sha256 covers all of it]",
        text.len()
    ));
    out
}

impl ModelFacts {
    /// The facts a parser starts from: the file's name, size and format.
    pub fn new(format: Format, file_name: &str, file_len: u64) -> Self {
        ModelFacts {
            model_filename: file_name.to_owned(),
            file_size_bytes: file_len,
            format,
            ..ModelFacts::default()
        }
    }

    /// Add a finding and keep `warnings` (l-bom's plain strings) in step.
    pub fn push(&mut self, finding: Finding) {
        self.warnings.push(finding.message.clone());
        self.findings.push(finding);
    }

    /// The worst severity among the findings, if any.
    pub fn worst_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// What these facts take in memory, as lbom counts it against
    /// `ReadLimits::max_facts_bytes` (docs/bundle-format.md, "Reader
    /// limits"): the struct, the capacity of every string and list, every
    /// metadata entry and JSON value, and [`ALLOCATION_OVERHEAD`] bytes per
    /// allocation. Their JSON size would not do: a metadata key of one
    /// letter takes six bytes of JSON and a hundred of memory.
    pub fn memory_bytes(&self) -> u64 {
        let strings = [
            Some(&self.model_path),
            Some(&self.model_filename),
            self.architecture.as_ref(),
            self.quantization.as_ref(),
            self.dtype.as_ref(),
            self.license.as_ref(),
            self.base_model.as_ref(),
            self.training_framework.as_ref(),
            self.chat_template.as_ref(),
            self.name.as_ref(),
            self.size_label.as_ref(),
            self.endianness.as_ref(),
        ];
        let mut n = size_of::<Self>() as u64;
        n += strings.into_iter().flatten().map(string_bytes).sum::<u64>();
        n += json_map_bytes(&self.metadata);
        n += list_bytes(&self.warnings) + self.warnings.iter().map(string_bytes).sum::<u64>();
        n += list_bytes(&self.findings)
            + self
                .findings
                .iter()
                .map(|f| string_bytes(&f.code) + string_bytes(&f.message))
                .sum::<u64>();
        // A B-tree entry: key, value and a share of its node.
        let tree_entry = (size_of::<String>() + size_of::<TensorTypeStat>() + 16) as u64;
        n += self
            .tensor_types
            .keys()
            .map(|k| tree_entry + string_bytes(k))
            .sum::<u64>();
        n += list_bytes(&self.tensors)
            + self
                .tensors
                .iter()
                .map(|t| string_bytes(&t.name) + string_bytes(&t.dtype) + list_bytes(&t.shape))
                .sum::<u64>();
        n += list_bytes(&self.shards)
            + self
                .shards
                .iter()
                .map(|s| string_bytes(&s.filename))
                .sum::<u64>();
        n += list_bytes(&self.pickle_imports)
            + self.pickle_imports.iter().map(string_bytes).sum::<u64>();
        n
    }
}

/// Bytes the allocator spends on each allocation besides its contents, as
/// [`ModelFacts::memory_bytes`] counts them.
pub const ALLOCATION_OVERHEAD: u64 = 16;

fn heap_bytes(capacity: usize) -> u64 {
    if capacity == 0 {
        0
    } else {
        capacity as u64 + ALLOCATION_OVERHEAD
    }
}

fn string_bytes(s: &String) -> u64 {
    heap_bytes(s.capacity())
}

fn list_bytes<T>(list: &Vec<T>) -> u64 {
    heap_bytes(list.capacity().saturating_mul(size_of::<T>()))
}

/// A JSON object's entries: each key, value and index slot, and what the
/// values hold.
fn json_map_bytes(map: &serde_json::Map<String, serde_json::Value>) -> u64 {
    let entry =
        (size_of::<u64>() + size_of::<String>() + size_of::<serde_json::Value>() + 16) as u64;
    let entries = heap_bytes(
        map.len()
            .saturating_mul(usize::try_from(entry).unwrap_or(usize::MAX)),
    );
    entries
        + map
            .iter()
            .map(|(k, v)| string_bytes(k) + json_heap_bytes(v))
            .sum::<u64>()
}

/// What a JSON value holds outside itself.
fn json_heap_bytes(value: &serde_json::Value) -> u64 {
    match value {
        serde_json::Value::String(s) => string_bytes(s),
        serde_json::Value::Array(items) => {
            list_bytes(items) + items.iter().map(json_heap_bytes).sum::<u64>()
        }
        serde_json::Value::Object(map) => json_map_bytes(map),
        _ => 0,
    }
}
