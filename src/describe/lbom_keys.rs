//! The metadata keys l-bom's JSON report carries besides the file's own
//! (CHKDSKLabs/l-bom, `llm_sbom/parsers/gguf.py`, `parsers/safetensors.py`
//! and `cli.py`), added to the report's `metadata` object as l-bom names
//! them, so that scripts reading l-bom's report keep working:
//!
//! - GGUF: `gguf_version`, `endianness`, `metadata_keys` (the file's own
//!   keys, in file order), `tensor_count`, `tensor_type_counts` and
//!   `tensor_type_parameter_counts` (type → tensors, type → parameters);
//! - safetensors: `layer_names` (the tensor names in header order) and
//!   `tensor_dtypes` (name → dtype);
//! - both: `sidecar_config`, what the folder's side files said (the keys
//!   lbom records from config.json, the model card and the other side
//!   files, docs/scan-report.md, "Folder models").
//!
//! They are derived from the facts when the report is written, never
//! stored in them: drift and the bundle SBOMs compare the facts themselves.

use serde_json::{Map, Value};

use crate::inspect::{Format, ModelFacts};

/// Metadata keys lbom adds from a model's folder, not from the file.
fn from_folder(key: &str) -> bool {
    ["side:", "card.", "config.", "hf_"]
        .iter()
        .any(|p| key.starts_with(p))
        || matches!(
            key,
            "architecture_class" | "quantization_config" | "generation_config.json" | "shard_index"
        )
}

/// The facts with l-bom's derived keys in `metadata`.
pub fn with_lbom_keys(m: &ModelFacts) -> ModelFacts {
    let mut out = m.clone();
    let meta = &mut out.metadata;
    let sidecar: Map<String, Value> = m
        .metadata
        .iter()
        .filter(|(k, _)| from_folder(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match m.format {
        Format::Gguf => {
            let own: Vec<Value> = m
                .metadata
                .keys()
                .filter(|k| !from_folder(k))
                .map(|k| Value::String(k.clone()))
                .collect();
            if let Some(v) = m.format_version {
                meta.insert("gguf_version".into(), Value::from(v));
            }
            if let Some(e) = &m.endianness {
                meta.insert("endianness".into(), Value::String(e.clone()));
            }
            meta.insert("metadata_keys".into(), Value::Array(own));
            if let Some(n) = m.tensor_count {
                meta.insert("tensor_count".into(), Value::from(n));
            }
            let counts: Map<String, Value> = m
                .tensor_types
                .iter()
                .map(|(t, s)| (t.clone(), Value::from(s.tensors)))
                .collect();
            let params: Map<String, Value> = m
                .tensor_types
                .iter()
                .map(|(t, s)| (t.clone(), Value::from(s.parameters)))
                .collect();
            meta.insert("tensor_type_counts".into(), Value::Object(counts));
            meta.insert("tensor_type_parameter_counts".into(), Value::Object(params));
        }
        Format::Safetensors => {
            let names: Vec<Value> = m
                .tensors
                .iter()
                .map(|t| Value::String(t.name.clone()))
                .collect();
            let dtypes: Map<String, Value> = m
                .tensors
                .iter()
                .map(|t| (t.name.clone(), Value::String(t.dtype.clone())))
                .collect();
            meta.insert("layer_names".into(), Value::Array(names));
            meta.insert("tensor_dtypes".into(), Value::Object(dtypes));
        }
        _ => {}
    }
    if !sidecar.is_empty() {
        meta.insert("sidecar_config".into(), Value::Object(sidecar));
    }
    out
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::describe::fixtures;

    #[test]
    fn gguf_and_safetensors_keys_as_l_bom_names_them() {
        let g = with_lbom_keys(&fixtures::gguf_llama());
        let m = Value::Object(g.metadata.clone());
        assert_eq!(m["tensor_type_counts"]["Q6_K"], 17);
        assert_eq!(m["tensor_type_parameter_counts"]["Q6_K"], 235_681_280u64);
        assert!(m["metadata_keys"].as_array().is_some_and(|k| !k.is_empty()));
        assert_eq!(m["tensor_count"], Value::from(g.tensor_count));
        let all = fixtures::all();
        let s = all
            .iter()
            .find(|f| f.format == Format::Safetensors)
            .map(with_lbom_keys)
            .unwrap_or_default();
        let m = Value::Object(s.metadata.clone());
        assert_eq!(
            m["layer_names"].as_array().map(Vec::len),
            Some(s.tensors.len())
        );
        for t in &s.tensors {
            assert_eq!(m["tensor_dtypes"][&t.name], t.dtype.as_str());
        }
    }
}
