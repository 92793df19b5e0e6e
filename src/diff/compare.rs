//! The per-model comparison: one [`Change`] per class that differs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::textdiff;
use super::{
    Capped, Change, DriftClass, FINDINGS_MAX, FieldDelta, FindingRef, KeyChange, KeyDelta,
    KeyValue, METADATA_KEYS_MAX, TEMPLATE_DIFF_MAX_LINES, TENSOR_NAMES_MAX, TypeDelta,
    WeightChange,
};
use crate::inspect::facts::{Finding, ModelFacts, TensorSummary, capped_chat_template};
use crate::inspect::side::{self, Feeds};
use crate::safe::shorten;

/// Every class in which `b` differs from `a`, most consequential first.
///
/// A class fires when its own fact differs or when a metadata key it owns
/// ([`owners`]) was added, removed or changed; those keys are listed with
/// the class, and only keys no class owns are `metadata` drift
/// (docs/drift.md, "What each class is computed from").
///
/// Files of different formats are different kinds of thing: their tensor
/// tables and metadata are not comparable, so only the format and the
/// findings (what the new file can do on load) are reported then.
pub(super) fn model(a: &ModelFacts, b: &ModelFacts) -> Vec<Change> {
    let mut out = Vec::new();
    if a.format != b.format {
        out.push(Change::Format {
            old: a.format,
            new: b.format,
        });
        out.extend(findings(a, b));
        return out;
    }
    let keys = KeyChanges::between(a, b);
    let owned = |class: DriftClass, primary_changed: bool| keys.of(class, primary_changed);
    let arch = owned(DriftClass::Architecture, a.architecture != b.architecture);
    if a.architecture != b.architecture || !arch.is_empty() {
        out.push(Change::Architecture {
            old: a.architecture.clone(),
            new: b.architecture.clone(),
            keys: arch,
        });
    }
    let label_changed = a.quantization != b.quantization || a.file_type != b.file_type;
    let quant = owned(DriftClass::Quantization, label_changed);
    let weights = weights(a, b);
    if label_changed || !quant.is_empty() || weights.is_some() {
        out.push(Change::Quantization {
            old: a.quantization.clone(),
            new: b.quantization.clone(),
            old_file_type: a.file_type,
            new_file_type: b.file_type,
            weights,
            keys: quant,
        });
    }
    let tok = owned(
        DriftClass::Tokenizer,
        a.tokenizer_sha256 != b.tokenizer_sha256,
    );
    if a.tokenizer_sha256 != b.tokenizer_sha256 || !tok.is_empty() {
        out.push(Change::Tokenizer {
            old: a.tokenizer_sha256,
            new: b.tokenizer_sha256,
            keys: tok,
        });
    }
    let primary = a.chat_template_sha256 != b.chat_template_sha256;
    let templates = owned(DriftClass::ChatTemplate, primary);
    if primary || !templates.is_empty() {
        out.push(chat_template(a, b, templates));
    }
    let licence = owned(DriftClass::Licence, a.license != b.license);
    if a.license != b.license || !licence.is_empty() {
        out.push(Change::Licence {
            old: a.license.clone(),
            new: b.license.clone(),
            keys: licence,
        });
    }
    let base = owned(DriftClass::BaseModel, a.base_model != b.base_model);
    if a.base_model != b.base_model || !base.is_empty() {
        out.push(Change::BaseModel {
            old: a.base_model.clone(),
            new: b.base_model.clone(),
            keys: base,
        });
    }
    out.extend(tensors(&a.tensors, &b.tensors));
    out.extend(tensor_types(a, b));
    if a.parameter_count != b.parameter_count {
        out.push(Change::ParameterCount {
            old: a.parameter_count,
            new: b.parameter_count,
        });
    }
    let context = owned(
        DriftClass::ContextLength,
        a.context_length != b.context_length,
    );
    if a.context_length != b.context_length || !context.is_empty() {
        out.push(Change::ContextLength {
            old: a.context_length,
            new: b.context_length,
            keys: context,
        });
    }
    let vocab = owned(DriftClass::VocabSize, a.vocab_size != b.vocab_size);
    if a.vocab_size != b.vocab_size || !vocab.is_empty() {
        out.push(Change::VocabSize {
            old: a.vocab_size,
            new: b.vocab_size,
            keys: vocab,
        });
    }
    out.extend(name_version(a, b));
    out.extend(keys.unowned());
    out.extend(findings(a, b));
    out
}

/// What changed in the weights' encoding: the types of the tensors kept
/// under the same name, and the set of types the matrices (tensors of two
/// or more dimensions) are stored in. `None` when neither changed.
fn weights(a: &ModelFacts, b: &ModelFacts) -> Option<WeightChange> {
    let old = tensor_index(&a.tensors);
    let retyped = b
        .tensors
        .iter()
        .filter(|t| old.get(t.name.as_str()).is_some_and(|o| o.dtype != t.dtype))
        .map(|t| t.name.as_str())
        .collect::<BTreeSet<_>>()
        .len() as u64;
    let matrix_types = |m: &ModelFacts| -> Vec<String> {
        m.tensors
            .iter()
            .filter(|t| t.shape.len() >= 2)
            .map(|t| t.dtype.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let (old_types, new_types) = (matrix_types(a), matrix_types(b));
    if retyped == 0 && old_types == new_types {
        return None;
    }
    Some(WeightChange {
        retyped,
        old_types,
        new_types,
    })
}

fn chat_template(a: &ModelFacts, b: &ModelFacts, keys: Capped<KeyChange>) -> Change {
    // Facts read from a JSON file may carry a template of any length: cap
    // it again before the quadratic part of the diff sees it.
    let (diff, diff_truncated) = match (&a.chat_template, &b.chat_template) {
        (Some(x), Some(y)) => textdiff::unified(
            &capped_chat_template(x),
            &capped_chat_template(y),
            TEMPLATE_DIFF_MAX_LINES,
        ),
        (None, Some(y)) => textdiff::unified("", &capped_chat_template(y), TEMPLATE_DIFF_MAX_LINES),
        (Some(x), None) => textdiff::unified(&capped_chat_template(x), "", TEMPLATE_DIFF_MAX_LINES),
        (None, None) => (Vec::new(), false),
    };
    Change::ChatTemplate {
        old: a.chat_template_sha256,
        new: b.chat_template_sha256,
        diff,
        diff_truncated,
        keys,
    }
}

fn tensor_index(list: &[TensorSummary]) -> HashMap<&str, &TensorSummary> {
    let mut map = HashMap::with_capacity(list.len());
    for t in list {
        map.entry(t.name.as_str()).or_insert(t);
    }
    map
}

/// Tensors by name (the first of a duplicated name counts).
fn tensors(a: &[TensorSummary], b: &[TensorSummary]) -> Option<Change> {
    let (old, new) = (tensor_index(a), tensor_index(b));
    let names = |list: &[TensorSummary], keep: &dyn Fn(&TensorSummary) -> bool| {
        let mut seen = BTreeSet::new();
        let kept = list
            .iter()
            .filter(|t| seen.insert(t.name.as_str()) && keep(t))
            .map(|t| t.name.clone());
        Capped::collect(kept, TENSOR_NAMES_MAX)
    };
    let added = names(b, &|t| !old.contains_key(t.name.as_str()));
    let removed = names(a, &|t| !new.contains_key(t.name.as_str()));
    let reshaped = names(b, &|t| {
        old.get(t.name.as_str()).is_some_and(|o| o.shape != t.shape)
    });
    let retyped = names(b, &|t| {
        old.get(t.name.as_str()).is_some_and(|o| o.dtype != t.dtype)
    });
    if added.is_empty() && removed.is_empty() && reshaped.is_empty() && retyped.is_empty() {
        return None;
    }
    Some(Change::Tensors {
        added,
        removed,
        reshaped,
        retyped,
    })
}

fn tensor_types(a: &ModelFacts, b: &ModelFacts) -> Option<Change> {
    let names: BTreeSet<&String> = a.tensor_types.keys().chain(b.tensor_types.keys()).collect();
    let types: Vec<TypeDelta> = names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (a.tensor_types.get(name), b.tensor_types.get(name));
            (old != new).then(|| TypeDelta {
                type_name: name.clone(),
                old: old.copied(),
                new: new.copied(),
            })
        })
        .collect();
    (!types.is_empty()).then_some(Change::TensorTypes { types })
}

/// The metadata keys that carry a model's name and version.
const NAME_VERSION_KEYS: &[(&str, &str)] = &[
    ("version", "general.version"),
    ("basename", "general.basename"),
    ("finetune", "general.finetune"),
    ("size_label", "general.size_label"),
];

fn name_version(a: &ModelFacts, b: &ModelFacts) -> Option<Change> {
    let mut fields = Vec::new();
    if a.name != b.name {
        fields.push(FieldDelta {
            field: "name".into(),
            old: a.name.clone(),
            new: b.name.clone(),
        });
    }
    // `general.name` is the name fact itself; listed as a key only when the
    // fact did not change (a value that is not a string).
    let name_key = (a.name == b.name).then_some(("name", "general.name"));
    for (field, key) in NAME_VERSION_KEYS.iter().chain(name_key.as_ref()) {
        let (old, new) = (a.metadata.get(*key), b.metadata.get(*key));
        if old != new {
            fields.push(FieldDelta {
                field: (*field).into(),
                old: old.map(summarise),
                new: new.map(summarise),
            });
        }
    }
    (!fields.is_empty()).then_some(Change::NameVersion { fields })
}

/// The classes that own a metadata key: a change of the key is a change
/// of each of them. `key` is normalised: the architecture prefix is
/// written `<arch>.`. Side-file keys (`side:…`) are owned as
/// [`side::feeds`] says.
fn owners(key: &str) -> Vec<DriftClass> {
    let one = |c: DriftClass| vec![c];
    match key {
        // config.json's class (`architectures[0]`) is the architecture
        // as much as its `model_type` (docs/scan-report.md).
        "general.architecture" | "config.model_type" | "architecture_class" => {
            one(DriftClass::Architecture)
        }
        "general.file_type"
        | "general.quantization_version"
        | "config.torch_dtype"
        | "quantization_config" => one(DriftClass::Quantization),
        "<arch>.context_length" => one(DriftClass::ContextLength),
        "<arch>.vocab_size" => one(DriftClass::VocabSize),
        "general.name" | "general.version" | "general.basename" | "general.finetune"
        | "general.size_label" => one(DriftClass::NameVersion),
        "general.license" => one(DriftClass::Licence),
        // The default template, each named one, and the list of names.
        "tokenizer.chat_template" | "tokenizer.chat_templates" => one(DriftClass::ChatTemplate),
        k if k.starts_with("tokenizer.chat_template.") => one(DriftClass::ChatTemplate),
        // Every other tokenizer key changes the ids of some text: the
        // vocabulary, scores, types, merges, the pre-tokenizer, special
        // token ids, add-BOS/EOS flags, the normaliser (charsmap, space
        // prefix), an embedded tokenizer.json.
        k if k.starts_with("tokenizer.") => one(DriftClass::Tokenizer),
        k if k.starts_with("general.license.") => one(DriftClass::Licence),
        k if k.starts_with("general.base_model.") || k == "general.base_model" => {
            one(DriftClass::BaseModel)
        }
        k => side::feeds(k)
            .iter()
            .map(|f| match f {
                Feeds::Architecture => DriftClass::Architecture,
                Feeds::Quantization => DriftClass::Quantization,
                Feeds::Tokenizer => DriftClass::Tokenizer,
                Feeds::ChatTemplate => DriftClass::ChatTemplate,
                Feeds::Licence => DriftClass::Licence,
                Feeds::BaseModel => DriftClass::BaseModel,
                Feeds::ContextLength => DriftClass::ContextLength,
                Feeds::VocabSize => DriftClass::VocabSize,
            })
            .collect(),
    }
}

/// The key a class's own fact is read from: listed with the class only
/// when the fact itself did not change (the fact already says it).
fn primary_key(class: DriftClass) -> Option<&'static str> {
    Some(match class {
        DriftClass::Architecture => "general.architecture",
        DriftClass::Quantization => "general.file_type",
        DriftClass::ChatTemplate => "tokenizer.chat_template",
        DriftClass::Licence => "general.license",
        DriftClass::ContextLength => "<arch>.context_length",
        DriftClass::VocabSize => "<arch>.vocab_size",
        _ => return None,
    })
}

/// Key prefixes never read as `<architecture>.…` hyper-parameters.
const RESERVED_NAMESPACES: &[&str] = &["general.", "tokenizer.", "split.", "config.", "side:"];

/// Metadata keyed by normalised key (hyper-parameters under the model's own
/// architecture written `<arch>.`, so that `llama.block_count` and
/// `qwen2.block_count` compare), with the key as written.
fn normalised(m: &ModelFacts) -> BTreeMap<String, (&str, &Value)> {
    let prefix = m.architecture.as_deref().map(|a| format!("{a}."));
    let mut out = BTreeMap::new();
    for (key, value) in &m.metadata {
        // Keys of the namespaces classes own keep their names whatever the
        // architecture is called: a GGUF claiming to be architecture
        // `tokenizer` or `general` must not turn `tokenizer.ggml.pre` or
        // `general.license.link` into hyper-parameters.
        let reserved = RESERVED_NAMESPACES.iter().any(|ns| key.starts_with(ns));
        let norm = match prefix.as_deref().and_then(|p| key.strip_prefix(p)) {
            Some(rest) if !reserved => format!("<arch>.{rest}"),
            _ => key.clone(),
        };
        out.entry(norm).or_insert((key.as_str(), value));
    }
    out
}

/// One metadata key that differs, by normalised key.
struct KeyDiff {
    norm: String,
    change: KeyChange,
}

/// Every metadata key that differs between two models, with its owners.
struct KeyChanges {
    diffs: Vec<(KeyDiff, Vec<DriftClass>)>,
}

impl KeyChanges {
    fn between(a: &ModelFacts, b: &ModelFacts) -> Self {
        let (old, new) = (normalised(a), normalised(b));
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        let mut diffs = Vec::new();
        for norm in names {
            let (o, n) = (old.get(norm), new.get(norm));
            if o.map(|(_, v)| *v) == n.map(|(_, v)| *v) {
                continue;
            }
            let key = n.or(o).map_or(norm.as_str(), |(k, _)| *k).to_owned();
            let change = KeyChange {
                key,
                old: o.map(|(_, v)| summarise(v)),
                new: n.map(|(_, v)| summarise(v)),
            };
            diffs.push((
                KeyDiff {
                    norm: norm.clone(),
                    change,
                },
                owners(norm),
            ));
        }
        Self { diffs }
    }

    /// The keys `class` owns that changed, without its primary key when
    /// the primary fact changed too.
    fn of(&self, class: DriftClass, primary_changed: bool) -> Capped<KeyChange> {
        let keys = self
            .diffs
            .iter()
            .filter(|(_, owners)| owners.contains(&class))
            .filter(|(d, _)| !(primary_changed && primary_key(class) == Some(d.norm.as_str())))
            .map(|(d, _)| d.change.clone());
        Capped::collect(keys, METADATA_KEYS_MAX)
    }

    /// The keys no class owns, as a `metadata` change.
    fn unowned(&self) -> Option<Change> {
        let free = || {
            self.diffs
                .iter()
                .filter(|(_, owners)| owners.is_empty())
                .map(|(d, _)| &d.change)
        };
        let added = Capped::collect(
            free().filter(|c| c.old.is_none()).map(|c| KeyValue {
                key: c.key.clone(),
                value: c.new.clone().unwrap_or_default(),
            }),
            METADATA_KEYS_MAX,
        );
        let removed = Capped::collect(
            free().filter(|c| c.new.is_none()).map(|c| KeyValue {
                key: c.key.clone(),
                value: c.old.clone().unwrap_or_default(),
            }),
            METADATA_KEYS_MAX,
        );
        let changed = Capped::collect(
            free().filter_map(|c| {
                Some(KeyDelta {
                    key: c.key.clone(),
                    old: c.old.clone()?,
                    new: c.new.clone()?,
                })
            }),
            METADATA_KEYS_MAX,
        );
        if added.is_empty() && removed.is_empty() && changed.is_empty() {
            return None;
        }
        Some(Change::Metadata {
            added,
            removed,
            changed,
        })
    }
}

fn finding_index(list: &[Finding]) -> BTreeMap<&str, &Finding> {
    let mut map = BTreeMap::new();
    for f in list {
        map.entry(f.code.as_str()).or_insert(f);
    }
    map
}

/// Finding codes that appeared or disappeared (compared by code: messages
/// carry sizes and offsets that change with any edit).
fn findings(a: &ModelFacts, b: &ModelFacts) -> Option<Change> {
    let (old, new) = (finding_index(&a.findings), finding_index(&b.findings));
    let only = |x: &BTreeMap<&str, &Finding>, y: &BTreeMap<&str, &Finding>| {
        let refs = x
            .iter()
            .filter(|(code, _)| !y.contains_key(*code))
            .map(|(_, f)| FindingRef {
                code: f.code.clone(),
                severity: f.severity,
                message: shorten(&f.message, SUMMARY_CHARS),
            });
        Capped::collect(refs, FINDINGS_MAX)
    };
    let appeared = only(&new, &old);
    let disappeared = only(&old, &new);
    if appeared.is_empty() && disappeared.is_empty() {
        return None;
    }
    Some(Change::Findings {
        appeared,
        disappeared,
    })
}

/// Longest summary of one value, in characters.
const SUMMARY_CHARS: usize = 120;
/// Arrays and objects longer than this are counted, not listed.
const SUMMARY_ITEMS: usize = 8;

/// A short, bounded description of a metadata value: strings quoted and
/// cut, small arrays listed, large ones (and lbom's array summaries)
/// counted. Never walks more than [`SUMMARY_ITEMS`] items of a level.
pub(super) fn summarise(v: &Value) -> String {
    let mut out = String::new();
    write_summary(v, 0, &mut out);
    shorten(&out, SUMMARY_CHARS)
}

fn write_summary(v: &Value, depth: usize, out: &mut String) {
    if out.len() > SUMMARY_CHARS.saturating_mul(4) {
        return;
    }
    match v {
        Value::String(s) => {
            out.push('"');
            out.push_str(&shorten(s, SUMMARY_CHARS));
            out.push('"');
        }
        Value::Array(items) if items.len() > SUMMARY_ITEMS || depth > 2 => {
            out.push_str(&format!("[{} items]", items.len()));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_summary(item, depth.saturating_add(1), out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // lbom's summary of a large array: {"type":"array","count":N,"sha256":…}
            let count = map.get("count").and_then(Value::as_u64);
            let digest = map.get("sha256").and_then(Value::as_str);
            if let (Some(Value::String(t)), Some(n)) = (map.get("type"), count)
                && t == "array"
            {
                out.push_str(&format!("[{n} items"));
                if let Some(d) = digest {
                    out.push_str(", sha256 ");
                    out.push_str(&shorten(d, 12));
                }
                out.push(']');
            } else {
                out.push_str(&format!("{{{} keys}}", map.len()));
            }
        }
        other => out.push_str(&other.to_string()),
    }
}
