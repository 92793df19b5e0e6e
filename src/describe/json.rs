//! l-bom's JSON report: one object per model (an object for one model, an
//! array for several), l-bom's fields first and in its order, then lbom's.
//!
//! l-bom (CHKDSKLabs/l-bom, `llm_sbom/schema.py` and `output.py`) writes
//! `sbom_version: "1.0"` and `generated_at` from Python's
//! `datetime.isoformat()` (`…+00:00`); scripts written against it keep
//! working. Unlike l-bom, no NaN or infinity can appear: metadata values are
//! `serde_json::Value`s, which cannot hold them.

use std::io::Write;

use serde::Serialize;

use super::lbom_keys::with_lbom_keys;
use super::{DocumentInfo, Error};
use crate::inspect::ModelFacts;

/// The report format version l-bom writes.
pub const SBOM_VERSION: &str = "1.0";

#[derive(Serialize)]
struct Report<'a> {
    sbom_version: &'static str,
    generated_at: &'a str,
    tool_name: &'static str,
    tool_version: &'static str,
    #[serde(flatten)]
    facts: &'a ModelFacts,
}

/// Write the report, pretty-printed with a trailing newline.
pub fn write(facts: &[ModelFacts], info: &DocumentInfo, out: &mut dyn Write) -> Result<(), Error> {
    let generated_at = info.created_lbom();
    let report = |facts| Report {
        sbom_version: SBOM_VERSION,
        generated_at: &generated_at,
        tool_name: info.tool_name,
        tool_version: info.tool_version,
        facts,
    };
    let facts: Vec<ModelFacts> = facts.iter().map(with_lbom_keys).collect();
    match facts.as_slice() {
        [one] => serde_json::to_writer_pretty(&mut *out, &report(one))?,
        many => {
            serde_json::to_writer_pretty(&mut *out, &many.iter().map(report).collect::<Vec<_>>())?
        }
    }
    out.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::describe::fixtures::{self, info, render};

    fn keys(v: &Value) -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn one_model_is_an_object_with_lbom_fields_first() {
        let text = render(|o| write(&[fixtures::gguf_llama()], &info(), o));
        let v: Value = text
            .as_deref()
            .map(serde_json::from_str)
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .unwrap_or_default();
        let want_prefix = [
            "sbom_version",
            "generated_at",
            "tool_name",
            "tool_version",
            "model_path",
            "model_filename",
            "file_size_bytes",
            "sha256",
            "format",
            "architecture",
            "parameter_count",
            "quantization",
            "dtype",
            "context_length",
            "vocab_size",
            "license",
            "base_model",
            "training_framework",
            "metadata",
            "warnings",
            "findings",
        ];
        assert_eq!(
            keys(&v).get(..want_prefix.len()),
            Some(&want_prefix.map(String::from)[..])
        );
        assert_eq!(v["sbom_version"], "1.0");
        assert_eq!(v["generated_at"], "2023-11-14T22:13:20+00:00");
        assert_eq!(v["tool_name"], "lbom");
        assert_eq!(v["format"], "gguf");
        assert_eq!(v["quantization"], "Q4_K_M");
        assert_eq!(v["parameter_count"], 1_235_814_400u64);
        assert_eq!(
            v["sha256"],
            fixtures::gguf_llama()
                .sha256
                .map(|d| d.to_hex())
                .unwrap_or_default()
        );
        assert_eq!(v["findings"][0]["severity"], "info");
        assert!(text.is_ok_and(|t| t.ends_with("}\n") && t.contains("\n  \"sbom_version\"")));
    }

    #[test]
    fn several_models_are_an_array_and_none_is_empty() {
        let text = render(|o| write(&fixtures::all(), &info(), o)).unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(v.as_array().map(Vec::len), Some(5));
        assert_eq!(v[2]["format"], "pytorch-zip");
        assert_eq!(v[2]["warnings"][1], "pickle imports os.system");
        assert_eq!(v[3]["sha256"], Value::Null);
        assert_eq!(render(|o| write(&[], &info(), o)).as_deref(), Ok("[]\n"));
    }

    #[test]
    fn hostile_strings_round_trip_and_output_is_deterministic() {
        let a = render(|o| write(&fixtures::all(), &info(), o));
        let b = render(|o| write(&fixtures::all(), &info(), o));
        assert_eq!(a, b);
        let text = a.unwrap_or_default();
        assert!(!text.contains("NaN") && !text.contains("Infinity"));
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(v[4]["architecture"], fixtures::HOSTILE);
        assert_eq!(v[4]["metadata"]["nan"], Value::Null);
        assert!(!text.contains('\x1b'));
    }
}
