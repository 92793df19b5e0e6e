//! No key can hide behind another (docs/threat-model.md G14,
//! docs/findings.md "Key shadowing").
//!
//! tests/tools/key_shadow.py writes, with gguf-py's GGUFWriter and a raw
//! writer where GGUFWriter cannot (v2, exact repeats), every key class ×
//! every shadowing variant × both value orders × GGUF v2/v3 × both byte
//! orders, plus safetensors headers and Hugging Face side files. It also
//! says, computed from llama.cpp's lookup rule (first C-string match) or
//! Python's json (last repeat wins), which value the loader reads. lbom must
//! report the finding and describe, digest and check that value.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::{TestResult, fail, field, findings, python_tool, scan_json};
use serde_json::Value;

/// Generate the corpus once per test binary.
fn corpus() -> Result<(tempfile::TempDir, Value), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    python_tool("key_shadow.py", &[dir.path()])?;
    let index: Value = serde_json::from_slice(&std::fs::read(dir.path().join("index.json"))?)?;
    Ok((dir, index))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The problems of one report against its case; empty when it passes.
fn judge(case: &Value, report: &Value, reference: Option<&Value>) -> Vec<String> {
    let mut problems = vec![];
    let codes: Vec<String> = findings(report).into_iter().map(|(c, _, _)| c).collect();
    for code in strings(field(case, "require")) {
        if !codes.iter().any(|c| c == code) {
            problems.push(format!("no {code} finding (found {codes:?})"));
        }
    }
    for code in strings(field(case, "forbid")) {
        if codes.iter().any(|c| c == code) {
            problems.push(format!("unexpected {code} finding"));
        }
    }
    let metadata = field(report, "metadata");
    for (key, want) in field(case, "metadata").as_object().into_iter().flatten() {
        let got = field(metadata, key);
        if got != want {
            problems.push(format!(
                "metadata {key:?} is {got}, the loader reads {want}"
            ));
        }
    }
    for (name, want) in field(case, "facts").as_object().into_iter().flatten() {
        let got = field(report, name);
        if got != want {
            problems.push(format!("{name} is {got}, want {want}"));
        }
    }
    for (name, dtype) in field(case, "tensors").as_object().into_iter().flatten() {
        let got = field(report, "tensors")
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| field(t, "name").as_str() == Some(name))
            .map(|t| field(t, "type").clone());
        if got.as_ref() != Some(dtype) {
            problems.push(format!("tensor {name:?} has dtype {got:?}, want {dtype}"));
        }
    }
    if let Some(reference) = reference {
        let (got, want) = (
            field(report, "tokenizer_sha256"),
            field(reference, "tokenizer_sha256"),
        );
        if got != want || want.is_null() {
            problems.push(format!(
                "tokenizer_sha256 {got}, but the file holding only the keys the loader reads gives {want}"
            ));
        }
    }
    problems
}

/// Scan every case of `list` (and its reference) in one run; check each.
fn check(dir: &Path, list: &[Value], by_name: fn(&Value) -> String) -> TestResult {
    let mut paths: Vec<PathBuf> = vec![];
    for case in list {
        paths.push(dir.join(field(case, "path").as_str().unwrap_or_default()));
        if let Some(r) = field(case, "reference").as_str() {
            paths.push(dir.join(r));
        }
    }
    let args: Vec<&OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
    let reports = scan_json(&args)?;
    let find = |rel: &str| {
        let name = by_name(&Value::from(rel));
        reports
            .iter()
            .find(|r| by_name(field(r, "model_path")) == name)
    };
    let mut failures = vec![];
    for case in list {
        let rel = field(case, "path").as_str().unwrap_or_default();
        let Some(report) = find(rel) else {
            failures.push(format!("{rel}: no report"));
            continue;
        };
        let reference = field(case, "reference").as_str().and_then(find);
        for p in judge(case, report, reference) {
            failures.push(format!("{rel}: {p}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} problems in {} cases:\n{}",
            failures.len(),
            list.len(),
            failures.join("\n")
        )))
    }
}

/// The file name of a GGUF case (unique in the corpus).
fn file_key(path: &Value) -> String {
    let p = path.as_str().unwrap_or_default();
    p.rsplit('/').next().unwrap_or(p).to_owned()
}

/// The folder name of a JSON case (each folder is one case).
fn folder_key(path: &Value) -> String {
    let p = path.as_str().unwrap_or_default();
    let p = p.strip_suffix("/model.safetensors").unwrap_or(p);
    p.rsplit('/').next().unwrap_or(p).to_owned()
}

#[test]
fn every_gguf_key_class_variant_version_and_byte_order() -> TestResult {
    let (dir, index) = corpus()?;
    let list = field(&index, "gguf")
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.len() < 500 {
        return Err(fail(format!("only {} GGUF cases generated", list.len())));
    }
    check(dir.path(), &list, file_key)
}

#[test]
fn safetensors_headers_and_hugging_face_side_files() -> TestResult {
    let (dir, index) = corpus()?;
    let list = field(&index, "json")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let list: Vec<Value> = list
        .into_iter()
        .map(|mut c| {
            // Each folder holds one model.safetensors: scan that file.
            let rel = format!(
                "{}/model.safetensors",
                field(&c, "path").as_str().unwrap_or_default()
            );
            if let Some(o) = c.as_object_mut() {
                o.insert("path".into(), Value::from(rel));
            }
            c
        })
        .collect();
    if list.len() < 15 {
        return Err(fail(format!("only {} JSON cases generated", list.len())));
    }
    check(dir.path(), &list, folder_key)
}
