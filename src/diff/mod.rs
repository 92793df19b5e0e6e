//! Drift: what changed between two versions of a model delivery, in the
//! terms an operator acts on (docs/drift.md is the reference).
//!
//! Both sides are reduced to a neutral [`Side`]: a list of files (path,
//! SHA-256, size) and the [`ModelFacts`] of the models among them. [`diff`]
//! compares two sides into a [`DriftReport`]: file-level changes (added,
//! removed, renamed, changed) and, per model present on both sides, one
//! [`Change`] per [`DriftClass`] that differs. The class names are the
//! policy's (`[drift] require_acceptance`, docs/policy.md).
//!
//! Everything in a [`Side`] may come from an untrusted file: the comparison
//! is linear or `n log n` in the input, every list it copies into the report
//! is capped, and the renderers escape every string they did not write.

mod compare;
mod files;
mod load;
mod pair;
mod render;
mod scan_json;
mod textdiff;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::inspect::facts::{Format, ModelFacts, Severity, TensorTypeStat};
use crate::io::digest::Sha256Digest;

pub use load::side_of_bundle;
pub use render::{render_markdown, render_text};

/// The `schema` id of a [`DriftReport`] JSON document.
pub const SCHEMA: &str = "urn:lbom:drift-report:v1";

/// A kind of drift, with the stable name policies use.
///
/// The declaration order is the order of consequence (most consequential
/// first): reports list changes in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftClass {
    /// The file format (e.g. safetensors → pickle).
    Format,
    /// The model architecture.
    Architecture,
    /// The quantization (llama.cpp file type or dtype summary).
    Quantization,
    /// The tokenizer's digest.
    Tokenizer,
    /// The chat template's digest (with a text diff).
    ChatTemplate,
    /// The licence.
    Licence,
    /// The base model.
    BaseModel,
    /// Tensor names, shapes or types.
    Tensors,
    /// The tensor type histogram.
    TensorTypes,
    /// The parameter count.
    ParameterCount,
    /// The context length.
    ContextLength,
    /// The vocabulary size.
    VocabSize,
    /// The model's name, version, basename or finetune.
    NameVersion,
    /// Other metadata keys added, removed or changed.
    Metadata,
    /// Finding codes that appeared or disappeared.
    Findings,
    /// A file whose bytes changed that no model-level class explains.
    FileChanged,
    /// A file only in the old side.
    FileRemoved,
    /// A file only in the new side.
    FileAdded,
    /// The same bytes under a new path.
    FileRenamed,
}

impl DriftClass {
    /// Every class, in order of consequence.
    pub const ALL: [DriftClass; 19] = [
        DriftClass::Format,
        DriftClass::Architecture,
        DriftClass::Quantization,
        DriftClass::Tokenizer,
        DriftClass::ChatTemplate,
        DriftClass::Licence,
        DriftClass::BaseModel,
        DriftClass::Tensors,
        DriftClass::TensorTypes,
        DriftClass::ParameterCount,
        DriftClass::ContextLength,
        DriftClass::VocabSize,
        DriftClass::NameVersion,
        DriftClass::Metadata,
        DriftClass::Findings,
        DriftClass::FileChanged,
        DriftClass::FileRemoved,
        DriftClass::FileAdded,
        DriftClass::FileRenamed,
    ];

    /// The stable name (`chat_template`, `file_renamed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DriftClass::Format => "format",
            DriftClass::Architecture => "architecture",
            DriftClass::Quantization => "quantization",
            DriftClass::Tokenizer => "tokenizer",
            DriftClass::ChatTemplate => "chat_template",
            DriftClass::Licence => "licence",
            DriftClass::BaseModel => "base_model",
            DriftClass::Tensors => "tensors",
            DriftClass::TensorTypes => "tensor_types",
            DriftClass::ParameterCount => "parameter_count",
            DriftClass::ContextLength => "context_length",
            DriftClass::VocabSize => "vocab_size",
            DriftClass::NameVersion => "name_version",
            DriftClass::Metadata => "metadata",
            DriftClass::Findings => "findings",
            DriftClass::FileChanged => "file_changed",
            DriftClass::FileRemoved => "file_removed",
            DriftClass::FileAdded => "file_added",
            DriftClass::FileRenamed => "file_renamed",
        }
    }

    /// The class with this stable name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Every stable name, in order of consequence.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.into_iter().map(Self::as_str).collect()
    }
}

impl std::fmt::Display for DriftClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors reading a side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not JSON.
    #[error("{label} is not valid JSON")]
    Json {
        /// The side's label.
        label: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON is not a scan report (an object or an array of objects).
    #[error("{label} is not a scan report: {what}")]
    NotScan {
        /// The side's label.
        label: String,
        /// What is wrong.
        what: String,
    },
}

impl Error {
    /// The class of this error: the scan JSON is malformed.
    pub fn class(&self) -> crate::Class {
        match self {
            Error::Json { .. } | Error::NotScan { .. } => crate::Class::Malformed,
        }
    }
}

/// One file of a side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Path relative to the delivery's root (`/`-separated).
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub sha256: Sha256Digest,
    /// Size in bytes.
    pub size: u64,
}

/// One side of a comparison: what a bundle, a store baseline or a scan says.
///
/// Files with a path already listed are ignored (the first one counts);
/// models are matched by `model_path`, so both lists should use the same,
/// relative, paths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    /// How reports name this side (a file name, `store:channel@seq`, …).
    pub label: String,
    /// The files.
    pub files: Vec<FileRecord>,
    /// The models among them.
    pub models: Vec<ModelFacts>,
}

impl Side {
    /// A side from files and model facts built elsewhere (a bundle, a baseline).
    pub fn from_facts(
        label: impl Into<String>,
        files: Vec<FileRecord>,
        models: Vec<ModelFacts>,
    ) -> Self {
        Self {
            label: label.into(),
            files,
            models,
        }
    }

    /// A side from `lbom scan` or `l-bom scan` JSON: one object, or an array
    /// of objects. Fields lbom added to l-bom's report may be absent (or
    /// null) and take their defaults; a format name lbom does not know is
    /// `unknown`. The files are the models' own (path, SHA-256, size) when
    /// hashed, else their shards'. Paths are made relative to the folder
    /// all the models share, so that scans of two copies of a delivery in
    /// different folders (`old/…`, `new/…`) pair up.
    pub fn from_scan_json(bytes: &[u8], label: impl Into<String>) -> Result<Self, Error> {
        let label = label.into();
        let value: Value = serde_json::from_slice(bytes).map_err(|source| Error::Json {
            label: label.clone(),
            source,
        })?;
        let items = match value {
            Value::Array(items) => items,
            one @ Value::Object(_) => vec![one],
            _ => {
                return Err(Error::NotScan {
                    label,
                    what: "neither an object nor an array".into(),
                });
            }
        };
        let defaults = match serde_json::to_value(ModelFacts::default()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let mut models = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let Value::Object(object) = item else {
                return Err(Error::NotScan {
                    label,
                    what: format!("item {index} is not an object"),
                });
            };
            let object = scan_json::with_defaults(object, &defaults);
            let facts: ModelFacts =
                serde_json::from_value(Value::Object(object)).map_err(|e| Error::NotScan {
                    label: label.clone(),
                    what: format!("item {index}: {e}"),
                })?;
            models.push(facts);
        }
        scan_json::strip_common_dir(&mut models);
        let files = models.iter().flat_map(scan_json::model_files).collect();
        Ok(Self {
            label,
            files,
            models,
        })
    }
}

/// At most a few items of a longer list, with the full count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capped<T> {
    /// How many there are.
    pub count: u64,
    /// The first of them (at most the cap of the list).
    pub items: Vec<T>,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Self {
            count: 0,
            items: Vec::new(),
        }
    }
}

impl<T> Capped<T> {
    fn collect(all: impl Iterator<Item = T>, cap: usize) -> Self {
        let mut out = Self {
            count: 0,
            items: Vec::new(),
        };
        for item in all {
            if out.items.len() < cap {
                out.items.push(item);
            }
            out.count = out.count.saturating_add(1);
        }
        out
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// One tensor type's statistics on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDelta {
    /// The type name (`Q4_K`, `F16`, …).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Before; absent when the type is new.
    pub old: Option<TensorTypeStat>,
    /// After; absent when the type is gone.
    pub new: Option<TensorTypeStat>,
}

/// One named field on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDelta {
    /// The field (`name`, `version`, `basename`, `finetune`).
    pub field: String,
    /// Before.
    pub old: Option<String>,
    /// After.
    pub new: Option<String>,
}

/// A metadata key owned by a class that was added, removed or changed
/// (values summarised; `None`: absent on that side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChange {
    /// The key, as written on the new side (else the old).
    pub key: String,
    /// Before, summarised; `None` when the key is new.
    pub old: Option<String>,
    /// After, summarised; `None` when the key is gone.
    pub new: Option<String>,
}

/// How the weights' encoding changed, whatever the label says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightChange {
    /// Tensors kept under the same name but stored in another type.
    pub retyped: u64,
    /// The types the old matrices (tensors of 2+ dimensions) are stored in.
    pub old_types: Vec<String>,
    /// The types the new matrices are stored in.
    pub new_types: Vec<String>,
}

/// A metadata key with its value summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value, summarised (long strings cut, arrays counted).
    pub value: String,
}

/// A metadata key whose value changed, both values summarised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDelta {
    /// The key.
    pub key: String,
    /// Before, summarised.
    pub old: String,
    /// After, summarised.
    pub new: String,
}

/// A finding that appeared or disappeared (its first occurrence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRef {
    /// The finding code.
    pub code: String,
    /// Its severity.
    pub severity: Severity,
    /// Its sentence.
    pub message: String,
}

/// One drift of one model, tagged by its class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Change {
    /// The format changed; nothing else but findings is compared then.
    Format {
        /// Before.
        old: Format,
        /// After.
        new: Format,
    },
    /// The architecture changed.
    Architecture {
        /// Before.
        old: Option<String>,
        /// After.
        new: Option<String>,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// The quantization label, the raw file type, an owned key or the
    /// weights' types changed.
    Quantization {
        /// Before.
        old: Option<String>,
        /// After.
        new: Option<String>,
        /// Raw `general.file_type` before.
        old_file_type: Option<u64>,
        /// Raw `general.file_type` after.
        new_file_type: Option<u64>,
        /// How the tensors' types changed, when they did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weights: Option<WeightChange>,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// The tokenizer digest or an owned key changed.
    Tokenizer {
        /// Before.
        old: Option<Sha256Digest>,
        /// After.
        new: Option<Sha256Digest>,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// The chat template digest changed.
    ChatTemplate {
        /// Before.
        old: Option<Sha256Digest>,
        /// After.
        new: Option<Sha256Digest>,
        /// Unified diff of the texts (when both sides carry them), without
        /// the `---`/`+++` header lines.
        diff: Vec<String>,
        /// Whether `diff` was cut at [`TEMPLATE_DIFF_MAX_LINES`].
        diff_truncated: bool,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// The licence changed.
    Licence {
        /// Before.
        old: Option<String>,
        /// After.
        new: Option<String>,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// The base model changed.
    BaseModel {
        /// Before.
        old: Option<String>,
        /// After.
        new: Option<String>,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// Tensors added, removed, reshaped or retyped (by name).
    Tensors {
        /// Names only in the new tensor table.
        added: Capped<String>,
        /// Names only in the old tensor table.
        removed: Capped<String>,
        /// Names in both with another shape.
        reshaped: Capped<String>,
        /// Names in both with another type.
        retyped: Capped<String>,
    },
    /// The tensor type histogram changed.
    TensorTypes {
        /// The types whose statistics differ.
        types: Vec<TypeDelta>,
    },
    /// The parameter count changed.
    ParameterCount {
        /// Before.
        old: Option<u64>,
        /// After.
        new: Option<u64>,
    },
    /// The context length changed.
    ContextLength {
        /// Before.
        old: Option<u64>,
        /// After.
        new: Option<u64>,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// The vocabulary size changed.
    VocabSize {
        /// Before.
        old: Option<u64>,
        /// After.
        new: Option<u64>,
        /// Owned metadata keys that changed (docs/drift.md).
        #[serde(default, skip_serializing_if = "Capped::is_empty")]
        keys: Capped<KeyChange>,
    },
    /// Name, version, basename or finetune changed.
    NameVersion {
        /// The fields that differ.
        fields: Vec<FieldDelta>,
    },
    /// Other metadata keys changed.
    Metadata {
        /// Keys only in the new file.
        added: Capped<KeyValue>,
        /// Keys only in the old file.
        removed: Capped<KeyValue>,
        /// Keys in both with another value.
        changed: Capped<KeyDelta>,
    },
    /// Finding codes appeared or disappeared.
    Findings {
        /// Codes only in the new scan.
        appeared: Capped<FindingRef>,
        /// Codes only in the old scan.
        disappeared: Capped<FindingRef>,
    },
}

impl Change {
    /// The change's class.
    pub fn class(&self) -> DriftClass {
        match self {
            Change::Format { .. } => DriftClass::Format,
            Change::Architecture { .. } => DriftClass::Architecture,
            Change::Quantization { .. } => DriftClass::Quantization,
            Change::Tokenizer { .. } => DriftClass::Tokenizer,
            Change::ChatTemplate { .. } => DriftClass::ChatTemplate,
            Change::Licence { .. } => DriftClass::Licence,
            Change::BaseModel { .. } => DriftClass::BaseModel,
            Change::Tensors { .. } => DriftClass::Tensors,
            Change::TensorTypes { .. } => DriftClass::TensorTypes,
            Change::ParameterCount { .. } => DriftClass::ParameterCount,
            Change::ContextLength { .. } => DriftClass::ContextLength,
            Change::VocabSize { .. } => DriftClass::VocabSize,
            Change::NameVersion { .. } => DriftClass::NameVersion,
            Change::Metadata { .. } => DriftClass::Metadata,
            Change::Findings { .. } => DriftClass::Findings,
        }
    }

    /// The owned metadata keys listed with the change, if it lists any.
    pub fn keys(&self) -> Option<&Capped<KeyChange>> {
        match self {
            Change::Architecture { keys, .. }
            | Change::Quantization { keys, .. }
            | Change::Tokenizer { keys, .. }
            | Change::ChatTemplate { keys, .. }
            | Change::Licence { keys, .. }
            | Change::BaseModel { keys, .. }
            | Change::ContextLength { keys, .. }
            | Change::VocabSize { keys, .. } => Some(keys),
            _ => None,
        }
    }
}

/// The drift of one model present on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDrift {
    /// The model's path on the old side.
    pub old_path: String,
    /// The model's path on the new side.
    pub new_path: String,
    /// Its SHA-256 on the old side, when hashed.
    pub old_sha256: Option<Sha256Digest>,
    /// Its SHA-256 on the new side, when hashed.
    pub new_sha256: Option<Sha256Digest>,
    /// What changed, most consequential first; never empty.
    pub changes: Vec<Change>,
}

/// A file-level change, tagged by its class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
#[allow(
    clippy::enum_variant_names,
    reason = "the variants are the drift classes' names in the report (`file_changed`…, docs/drift.md)"
)]
pub enum FileDrift {
    /// Same path, other bytes, and no model-level change explains it.
    FileChanged {
        /// The path.
        path: String,
        /// SHA-256 before.
        old_sha256: Sha256Digest,
        /// SHA-256 after.
        new_sha256: Sha256Digest,
        /// Size before.
        old_size: u64,
        /// Size after.
        new_size: u64,
    },
    /// Only on the old side.
    FileRemoved {
        /// The path.
        path: String,
        /// Its SHA-256.
        sha256: Sha256Digest,
        /// Its size.
        size: u64,
    },
    /// Only on the new side.
    FileAdded {
        /// The path.
        path: String,
        /// Its SHA-256.
        sha256: Sha256Digest,
        /// Its size.
        size: u64,
    },
    /// The same bytes under another path.
    FileRenamed {
        /// The old path.
        old_path: String,
        /// The new path.
        new_path: String,
        /// Its SHA-256.
        sha256: Sha256Digest,
        /// Its size.
        size: u64,
    },
}

impl FileDrift {
    /// The change's class.
    pub fn class(&self) -> DriftClass {
        match self {
            FileDrift::FileChanged { .. } => DriftClass::FileChanged,
            FileDrift::FileRemoved { .. } => DriftClass::FileRemoved,
            FileDrift::FileAdded { .. } => DriftClass::FileAdded,
            FileDrift::FileRenamed { .. } => DriftClass::FileRenamed,
        }
    }

    /// The path it sorts by (the new path of a rename).
    fn sort_path(&self) -> &str {
        match self {
            FileDrift::FileChanged { path, .. }
            | FileDrift::FileRemoved { path, .. }
            | FileDrift::FileAdded { path, .. } => path,
            FileDrift::FileRenamed { new_path, .. } => new_path,
        }
    }
}

/// Everything that drifted from one side to the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Always `SCHEMA`.
    pub schema: String,
    /// The old side's label.
    pub old: String,
    /// The new side's label.
    pub new: String,
    /// Every class present, in order of consequence.
    pub classes: Vec<DriftClass>,
    /// Per-model drift, the model with the most consequential change first.
    pub models: Vec<ModelDrift>,
    /// File-level drift, by class then path.
    pub files: Vec<FileDrift>,
}

impl DriftReport {
    /// Every class present in the report's content.
    pub fn classes(&self) -> BTreeSet<DriftClass> {
        let models = self
            .models
            .iter()
            .flat_map(|m| m.changes.iter().map(Change::class));
        models
            .chain(self.files.iter().map(FileDrift::class))
            .collect()
    }

    /// Whether nothing drifted.
    pub fn is_empty(&self) -> bool {
        self.models.iter().all(|m| m.changes.is_empty()) && self.files.is_empty()
    }
}

/// Most lines of a chat template diff kept in a report.
pub const TEMPLATE_DIFF_MAX_LINES: usize = 200;
/// Most tensor names listed per kind (added, removed, …).
pub const TENSOR_NAMES_MAX: usize = 5;
/// Most metadata keys listed per kind (added, removed, changed).
pub const METADATA_KEYS_MAX: usize = 50;
/// Most findings listed per direction (appeared, disappeared).
pub const FINDINGS_MAX: usize = 50;

/// The drift classes of `report` that the policy lists as needing
/// acceptance (`needs`) and that `accepted` (`--accept-drift`) does not
/// name, most consequential first. Empty: the import may proceed.
pub fn unaccepted(
    report: &DriftReport,
    needs: &BTreeSet<DriftClass>,
    accepted: &[DriftClass],
) -> Vec<DriftClass> {
    report
        .classes()
        .into_iter()
        .filter(|c| needs.contains(c) && !accepted.contains(c))
        .collect()
}

/// Compare two sides.
pub fn diff(old: &Side, new: &Side) -> DriftReport {
    let mut models = Vec::new();
    let mut explained = files::Explained::default();
    for (a, b) in pair::pair_models(&old.models, &new.models) {
        let changes = compare::model(a, b);
        if changes.is_empty() {
            continue;
        }
        explained.add(a, b, models.len());
        explained.add_side_files(a, b, &changes);
        models.push(ModelDrift {
            old_path: a.model_path.clone(),
            new_path: b.model_path.clone(),
            old_sha256: a.sha256,
            new_sha256: b.sha256,
            changes,
        });
    }
    models.sort_by(|x, y| {
        let first = |m: &ModelDrift| m.changes.first().map(Change::class);
        first(x)
            .cmp(&first(y))
            .then_with(|| x.new_path.cmp(&y.new_path))
            .then_with(|| x.old_path.cmp(&y.old_path))
    });
    let files = files::compare_files(&old.files, &new.files, &explained);
    let mut report = DriftReport {
        schema: SCHEMA.to_owned(),
        old: old.label.clone(),
        new: new.label.clone(),
        classes: Vec::new(),
        models,
        files,
    };
    report.classes = report.classes().into_iter().collect();
    report
}
