//! Content checks: labels that disagree with the tensors, and metadata
//! values that should not be there (local paths, code in chat templates).

use std::collections::BTreeMap;

use super::types::{self, FILENAME_LABELS};
use crate::inspect::facts::{Finding, TensorSummary, TensorTypeStat};

// ---- quantization label -----------------------------------------------

/// `quant.label_mismatch`, when `general.file_type` disagrees with the tensors.
///
/// Rule: a float file type (F32, F16, BF16) must be the dominant tensor type
/// by parameter count; any other file type's main ggml type (the
/// `default_type` llama.cpp's quantizer uses, e.g. Q4_K for Q4_K_M) must be
/// among the tensor types. Mixed recipes keep a few tensors in other types
/// (norms in F32, output in Q6_K), so nothing stricter holds in general.
/// `MXFP4_MOE` quantizes only expert tensors (ggml `ne[2] > 1`) to MXFP4 and
/// everything else to Q8_0 (llama.cpp `src/llama-quant.cpp`), so a model
/// without expert tensors legitimately has no MXFP4 at all.
pub(super) fn label_mismatch(
    code: u64,
    types_: &BTreeMap<String, TensorTypeStat>,
    dominant: Option<&str>,
    tensors: &[TensorSummary],
) -> Option<Finding> {
    let (label, Some(main_id)) = types::file_type(code)? else {
        return None;
    };
    let main = types::ggml_type(main_id)?.name;
    if types_.is_empty() {
        return None;
    }
    let has_experts = tensors
        .iter()
        .any(|t| t.shape.get(2).is_some_and(|&n| n > 1));
    if label == "MXFP4_MOE" && !has_experts {
        return None;
    }
    let ok = if matches!(label, "F32" | "F16" | "BF16") {
        dominant == Some(main)
    } else {
        types_.contains_key(main)
    };
    if ok {
        return None;
    }
    let found: Vec<&str> = types_.keys().map(String::as_str).collect();
    Some(Finding::warning(
        "quant.label_mismatch",
        format!(
            "general.file_type {code} ({label}) expects mostly {main} tensors, but the tensors are {} (dominant {})",
            found.join(", "),
            dominant.unwrap_or("none")
        ),
    ))
}

/// Quant labels in a file name (`Q4_K_M`, `q8_0`, `IQ4_XS`, `F16`, `BF16`, …),
/// matched case-insensitively and only on token boundaries (the characters
/// around a label are not ASCII letters or digits), longest label first.
/// Returns the canonical file-type names.
pub(super) fn filename_labels(file_name: &str) -> Vec<&'static str> {
    let upper = file_name.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary_before =
            i == 0 || bytes.get(i - 1).is_some_and(|b| !b.is_ascii_alphanumeric());
        let hit = boundary_before
            .then(|| {
                FILENAME_LABELS
                    .iter()
                    .filter(|(l, _)| {
                        bytes
                            .get(i..)
                            .is_some_and(|rest| rest.starts_with(l.as_bytes()))
                    })
                    .find(|(l, _)| {
                        bytes
                            .get(i + l.len())
                            .is_none_or(|b| !b.is_ascii_alphanumeric())
                    })
            })
            .flatten();
        match hit {
            Some((label, canonical)) => {
                if !found.contains(canonical) {
                    found.push(*canonical);
                }
                i += label.len();
            }
            None => i += 1,
        }
    }
    found
}

/// `quant.filename_mismatch`: the file name carries quant labels and none of
/// them is the file type's name.
pub(super) fn filename_mismatch(file_name: &str, file_type_name: &str) -> Option<Finding> {
    let labels = filename_labels(file_name);
    if labels.is_empty() || labels.contains(&file_type_name) {
        return None;
    }
    Some(Finding::warning(
        "quant.filename_mismatch",
        format!(
            "file name '{file_name}' says {} but general.file_type says {file_type_name}",
            labels.join("/")
        ),
    ))
}

// ---- size label ------------------------------------------------------------

/// The parameter range a size label allows: `7B` → 3.5e9..=14e9 (a factor
/// of two either way: labels are rounded, e.g. "7B" for 6.7e9 parameters,
/// and may leave out or include embeddings and vision towers). `8x7B` (an
/// expert count times a per-expert size, as gguf-py writes it for MoE
/// models) allows half of one expert's size up to twice the product. Only
/// the first `-`-separated part is read (`30B-A3B` → `30B`). `None` when
/// the label is not of this form.
pub(super) fn size_label_range(label: &str) -> Option<(f64, f64)> {
    let first = label.trim().split(['-', ',', ' ', '_']).next()?;
    let (experts, size) = match first.split_once(['x', 'X']) {
        Some((n, rest)) => (n.parse::<u32>().ok().filter(|&n| n > 0)?, rest),
        None => (1, first),
    };
    let suffix = size.chars().last()?;
    let scale = match suffix.to_ascii_uppercase() {
        'K' => 1e3,
        'M' => 1e6,
        'B' => 1e9,
        'T' => 1e12,
        _ => return None,
    };
    let number = size.get(..size.len() - 1)?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let per = number.parse::<f64>().ok()? * scale;
    if !per.is_finite() || per <= 0.0 {
        return None;
    }
    Some((per * 0.5, per * f64::from(experts) * 2.0))
}

pub(crate) fn size_label_mismatch(label: &str, parameters: u64) -> Option<Finding> {
    let (low, high) = size_label_range(label)?;
    let p = parameters as f64;
    if p >= low && p <= high {
        return None;
    }
    Some(Finding::warning(
        "model.size_label_mismatch",
        format!(
            "general.size_label '{label}' is far from the {parameters} parameters counted from the tensor shapes"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filename_labels_match_on_token_boundaries() {
        assert_eq!(
            filename_labels("Meta-Llama-3-8B-Instruct-Q4_K_M.gguf"),
            vec!["Q4_K_M"]
        );
        assert_eq!(filename_labels("model.q8_0.gguf"), vec!["Q8_0"]);
        assert_eq!(filename_labels("llama_iq4_xs.gguf"), vec!["IQ4_XS"]);
        assert_eq!(filename_labels("tiny-f16.gguf"), vec!["F16"]);
        assert_eq!(filename_labels("tiny-BF16.gguf"), vec!["BF16"]);
        assert_eq!(filename_labels("gpt-oss-20b-mxfp4.gguf"), vec!["MXFP4_MOE"]);
        // Not on a boundary, or not a label at all.
        assert!(filename_labels("BF16x.gguf").is_empty());
        assert!(filename_labels("xq4_k_m.gguf").is_empty());
        assert!(filename_labels("model-Q4_K.gguf").is_empty());
        assert!(filename_labels("tinyllama.gguf").is_empty());
    }

    #[test]
    fn filename_mismatch_only_when_no_label_agrees() {
        assert!(filename_mismatch("m-Q4_K_M.gguf", "Q4_K_M").is_none());
        assert!(filename_mismatch("m.gguf", "Q4_K_M").is_none());
        let f = filename_mismatch("m-Q8_0.gguf", "Q4_K_M");
        assert_eq!(
            f.map(|f| f.code),
            Some("quant.filename_mismatch".to_owned())
        );
    }

    #[test]
    fn size_labels_parse_with_tolerance() {
        assert_eq!(size_label_range("7B"), Some((3.5e9, 14e9)));
        assert_eq!(size_label_range("135M"), Some((67.5e6, 270e6)));
        assert_eq!(size_label_range("8x7B"), Some((3.5e9, 112e9)));
        assert!(size_label_range("1.5M").is_some());
        assert!(size_label_range("30B-A3B").is_some());
        assert_eq!(size_label_range("large"), None);
        assert_eq!(size_label_range("B"), None);
        assert_eq!(size_label_range("0x7B"), None);
        assert_eq!(size_label_range(""), None);
        assert!(size_label_mismatch("7B", 6_738_415_616).is_none());
        assert!(size_label_mismatch("7B", 1_000_000).is_some());
        assert!(size_label_mismatch("2M", 1_574_144).is_none());
        assert!(size_label_mismatch("8x7B", 46_702_792_704).is_none());
    }
}
