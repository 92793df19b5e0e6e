//! `lbom scan` on GGUF files written by llama.cpp's own quantizer.
//!
//! The files in `fixtures/gguf/llama-cpp/` come from `llama_model_quantize`
//! (llama.cpp's src/llama-quant.cpp, through llama-cpp-python), not from
//! gguf-py's writer: llama.cpp chooses the per-tensor type mixture of each file
//! type itself. `fixtures/gguf/llama-cpp/expected.json` holds what gguf-py's
//! GGUFReader read back from them, cross-checked with llama.cpp's own loader
//! (fixtures/tools/quantize_with_llama_cpp.py, PROVENANCE.md there).

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::PathBuf;

use common::{TestResult, fail, field, findings, fixture, scan_json};
use serde_json::Value;

/// File types the fixtures must cover (include/llama.h `LLAMA_FTYPE_MOSTLY_*`
/// names). llama.cpp also quantizes F16, BF16, Q8_0, Q4_1, Q5_0, Q5_1, Q5_K_S,
/// IQ3_S, IQ3_M and Q2_0 without an importance matrix; those are left out
/// to bound the fixtures' size (PROVENANCE.md says why for each). MXFP4_MOE
/// is kept: on a dense model llama.cpp writes no MXFP4 tensor at all, which
/// once made lbom warn falsely.
const REQUIRED: &[&str] = &[
    "Q4_0",
    "Q2_K",
    "Q3_K_S",
    "Q3_K_M",
    "Q3_K_L",
    "Q4_K_S",
    "Q4_K_M",
    "Q5_K_M",
    "Q6_K",
    "IQ4_NL",
    "IQ4_XS",
    "TQ1_0",
    "TQ2_0",
    "Q1_0",
    "MXFP4_MOE",
];

fn dir() -> PathBuf {
    fixture("gguf/llama-cpp")
}

fn load_expected() -> Result<BTreeMap<String, Value>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(dir().join("expected.json"))?;
    let v: Value = serde_json::from_str(&text)?;
    let files = field(&v, "files")
        .as_object()
        .ok_or_else(|| fail("llama-cpp/expected.json has no \"files\""))?;
    Ok(files.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// One fixture: its file name, what expected.json says, what lbom reported.
struct Case {
    key: String,
    want: Value,
    got: Value,
}

/// Scan every expected file in one run.
fn scan_all() -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let expected = load_expected()?;
    let paths: Vec<PathBuf> = expected.keys().map(|k| dir().join(k)).collect();
    let args: Vec<&OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
    let reports = scan_json(&args)?;
    let mut out = vec![];
    for (key, want) in expected {
        let got = reports
            .iter()
            .find(|r| field(r, "model_filename").as_str() == Some(key.as_str()))
            .ok_or_else(|| fail(format!("{key}: no report")))?;
        out.push(Case {
            key,
            want,
            got: got.clone(),
        });
    }
    Ok(out)
}

#[test]
fn fixtures_cover_the_file_types_llama_cpp_quantizes_without_an_imatrix() -> TestResult {
    let expected = load_expected()?;
    let names: Vec<&str> = expected
        .values()
        .filter_map(|v| field(v, "quantization").as_str())
        .collect();
    let missing: Vec<&&str> = REQUIRED.iter().filter(|q| !names.contains(q)).collect();
    assert!(missing.is_empty(), "no llama.cpp fixture for {missing:?}");
    Ok(())
}

#[test]
fn llama_cpp_quantized_files_report_what_llama_cpp_wrote() -> TestResult {
    let mut problems = vec![];
    for Case { key, want, got } in scan_all()? {
        if field(&got, "format").as_str() != Some("gguf") {
            problems.push(format!("{key}: format {}", field(&got, "format")));
        }
        for fact in common::GGUF_FACTS {
            let (w, g) = (field(&want, fact), field(&got, fact));
            if w.is_null() {
                problems.push(format!("{key}: expected.json has no {fact}"));
            } else if w != g {
                problems.push(format!("{key}: {fact} is {g}, llama.cpp wrote {w}"));
            }
        }
        for (code, severity, message) in findings(&got) {
            if severity == "error" {
                problems.push(format!("{key}: error finding {code}: {message}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

/// These files are exactly what llama.cpp writes for a well-formed model, so
/// any warning on them is a false positive a user would learn to ignore.
#[test]
fn llama_cpp_quantized_files_raise_no_warning() -> TestResult {
    let mut problems = vec![];
    for Case { key, got, .. } in scan_all()? {
        for (code, severity, message) in findings(&got) {
            if severity == "warning" {
                problems.push(format!("{key}: warning {code}: {message}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} warnings on genuine llama.cpp output:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}
