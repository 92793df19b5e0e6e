//! What both spec versions write alike: untrusted text as bounded values,
//! `bom-ref` characters, and the facts written as `lbom:*` properties.

use crate::describe::text::model_fact_pairs;
use crate::inspect::ModelFacts;
use crate::safe::{shorten, visible};

/// Longest untrusted value written into a name, description or property.
pub(super) const MAX_VALUE_CHARS: usize = 1024;
/// Longest `bom-ref` part taken from an untrusted name.
const MAX_REF_CHARS: usize = 48;

/// An untrusted string as a single-line, bounded value.
pub(super) fn value(raw: &str) -> String {
    shorten(&visible(raw), MAX_VALUE_CHARS)
}

/// A string cut to the characters a CycloneDX `bom-ref` keeps.
pub(super) fn ref_chars(raw: &str) -> String {
    let mut out = String::new();
    for c in raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        if out.len() >= MAX_REF_CHARS {
            break;
        }
        out.push(c);
    }
    out
}

/// Every model fact without a field of its own in either spec version, as
/// `lbom:*` property names and values (the licence has its own field), in
/// the order both versions write them.
pub(super) fn fact_properties(m: &ModelFacts) -> Vec<(String, String)> {
    let mut p = Vec::new();
    let mut put = |name: String, v: &str| p.push((name, value(v)));
    for (key, v) in model_fact_pairs(m) {
        if key != "license" {
            put(format!("lbom:{key}"), &v);
        }
    }
    for (t, stat) in &m.tensor_types {
        put(
            format!("lbom:tensor_type:{}", value(t)),
            &format!("{} tensors, {} parameters", stat.tensors, stat.parameters),
        );
    }
    for import in &m.pickle_imports {
        put("lbom:pickle_import".into(), import);
    }
    for f in &m.findings {
        put(
            format!("lbom:finding:{}", value(&f.code)),
            &format!("{}: {}", f.severity, f.message),
        );
    }
    p
}
