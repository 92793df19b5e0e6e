//! The per-model comparison: one [`Change`] per class that differs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::textdiff;
use super::{
    Capped, Change, DriftClass, FINDINGS_MAX, FieldDelta, FindingRef, KeyDelta, KeyValue,
    METADATA_KEYS_MAX, TEMPLATE_DIFF_MAX_LINES, TENSOR_NAMES_MAX, TypeDelta,
};
use crate::describe::text::shorten;
use crate::inspect::facts::{Finding, ModelFacts, TensorSummary, capped_chat_template};

/// Every class in which `b` differs from `a`, most consequential first.
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
    if a.architecture != b.architecture {
        out.push(Change::Architecture {
            old: a.architecture.clone(),
            new: b.architecture.clone(),
        });
    }
    if a.quantization != b.quantization || a.file_type != b.file_type {
        out.push(Change::Quantization {
            old: a.quantization.clone(),
            new: b.quantization.clone(),
            old_file_type: a.file_type,
            new_file_type: b.file_type,
        });
    }
    if a.tokenizer_sha256 != b.tokenizer_sha256 {
        out.push(Change::Tokenizer {
            old: a.tokenizer_sha256,
            new: b.tokenizer_sha256,
        });
    }
    if a.chat_template_sha256 != b.chat_template_sha256 {
        out.push(chat_template(a, b));
    }
    if a.license != b.license {
        out.push(Change::Licence {
            old: a.license.clone(),
            new: b.license.clone(),
        });
    }
    if a.base_model != b.base_model {
        out.push(Change::BaseModel {
            old: a.base_model.clone(),
            new: b.base_model.clone(),
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
    if a.context_length != b.context_length {
        out.push(Change::ContextLength {
            old: a.context_length,
            new: b.context_length,
        });
    }
    if a.vocab_size != b.vocab_size {
        out.push(Change::VocabSize {
            old: a.vocab_size,
            new: b.vocab_size,
        });
    }
    out.extend(name_version(a, b));
    let fired: BTreeSet<DriftClass> = out.iter().map(Change::class).collect();
    out.extend(metadata(a, b, &fired));
    out.extend(findings(a, b));
    out
}

fn chat_template(a: &ModelFacts, b: &ModelFacts) -> Change {
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
    for (field, key) in NAME_VERSION_KEYS {
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

/// The class whose change already reports a metadata key, if any. `key`
/// is normalised: the architecture prefix is written `<arch>.`.
fn owner(key: &str) -> Option<DriftClass> {
    const TOKENIZER: &[&str] = &[
        "tokenizer.ggml.model",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.scores",
        "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges",
    ];
    let class = match key {
        "general.architecture" | "config.model_type" => DriftClass::Architecture,
        "general.file_type" | "config.torch_dtype" => DriftClass::Quantization,
        "<arch>.context_length" => DriftClass::ContextLength,
        "<arch>.vocab_size" => DriftClass::VocabSize,
        "general.name" | "general.version" | "general.basename" | "general.finetune" => {
            DriftClass::NameVersion
        }
        "general.license" => DriftClass::Licence,
        "tokenizer.chat_template" => DriftClass::ChatTemplate,
        k if TOKENIZER.contains(&k) => DriftClass::Tokenizer,
        k if k.starts_with("tokenizer.chat_template.") => DriftClass::ChatTemplate,
        k if k.starts_with("general.license.") => DriftClass::Licence,
        k if k.starts_with("general.base_model.") => DriftClass::BaseModel,
        _ => return None,
    };
    Some(class)
}

/// Metadata keyed by normalised key (hyper-parameters under the model's own
/// architecture written `<arch>.`, so that `llama.block_count` and
/// `qwen2.block_count` compare), with the key as written.
fn normalised(m: &ModelFacts) -> BTreeMap<String, (&str, &Value)> {
    let prefix = m.architecture.as_deref().map(|a| format!("{a}."));
    let mut out = BTreeMap::new();
    for (key, value) in &m.metadata {
        let norm = match prefix.as_deref().and_then(|p| key.strip_prefix(p)) {
            Some(rest) if key.as_str() != "general.architecture" => format!("<arch>.{rest}"),
            _ => key.clone(),
        };
        out.entry(norm).or_insert((key.as_str(), value));
    }
    out
}

/// Keys added, removed or changed, except those a class in `fired` already
/// reports (a key whose class did not fire is still listed here).
fn metadata(a: &ModelFacts, b: &ModelFacts, fired: &BTreeSet<DriftClass>) -> Option<Change> {
    let (old, new) = (normalised(a), normalised(b));
    let reported = |norm: &str| owner(norm).is_some_and(|c| fired.contains(&c));
    let added = new
        .iter()
        .filter(|(k, _)| !old.contains_key(*k) && !reported(k))
        .map(|(_, (key, v))| KeyValue {
            key: (*key).to_owned(),
            value: summarise(v),
        });
    let added = Capped::collect(added, METADATA_KEYS_MAX);
    let removed = old
        .iter()
        .filter(|(k, _)| !new.contains_key(*k) && !reported(k))
        .map(|(_, (key, v))| KeyValue {
            key: (*key).to_owned(),
            value: summarise(v),
        });
    let removed = Capped::collect(removed, METADATA_KEYS_MAX);
    let changed = new.iter().filter_map(|(k, (key, v))| {
        let (_, o) = old.get(k)?;
        (o != v && !reported(k)).then(|| KeyDelta {
            key: (*key).to_owned(),
            old: summarise(o),
            new: summarise(v),
        })
    });
    let changed = Capped::collect(changed, METADATA_KEYS_MAX);
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        return None;
    }
    Some(Change::Metadata {
        added,
        removed,
        changed,
    })
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
