//! Drift between fixture pairs written by independent writers
//! (fixtures/tools/gen_drift_pairs.py): each pair differs in one declared
//! change, and `diff` must report exactly the classes the generator
//! recorded in fixtures/drift/expected.json, no more and no fewer.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{TestResult, fail, fixture};
use lbom::diff::{DriftClass, FileRecord, SCHEMA, Side, diff, render_markdown, render_text};
use lbom::inspect::{ScanOptions, inspect_path};
use lbom::limits::Limits;
use serde_json::Value;

/// Scan one fixture into a side named by its file name only, as a bundle
/// or a baseline names its files (relative paths).
fn side(rel: &str) -> Result<Side, Box<dyn std::error::Error>> {
    let path = fixture(&format!("drift/{rel}"));
    let mut facts = inspect_path(&path, &ScanOptions::default(), &Limits::default())?;
    let name = Path::new(rel)
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| fail(format!("{rel} has no file name")))?
        .to_owned();
    facts.model_path = name.clone();
    let sha256 = facts
        .sha256
        .ok_or_else(|| fail(format!("{rel} not hashed")))?;
    let file = FileRecord {
        path: name,
        sha256,
        size: facts.file_size_bytes,
    };
    Ok(Side::from_facts(rel, vec![file], vec![facts]))
}

/// One pair: case name, old file, new file, the classes it must produce.
type Case = (String, String, String, BTreeSet<String>);

fn cases() -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(fixture("drift/expected.json"))?;
    let v: Value = serde_json::from_str(&text)?;
    let map = v
        .as_object()
        .ok_or_else(|| fail("expected.json is not an object"))?;
    let mut out = Vec::new();
    for (case, entry) in map {
        let get = |k: &str| {
            entry
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| fail(format!("{case}: no {k}")))
        };
        let classes = entry
            .get("classes")
            .and_then(Value::as_array)
            .ok_or_else(|| fail(format!("{case}: no classes")))?
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        out.push((case.clone(), get("old")?, get("new")?, classes));
    }
    Ok(out)
}

#[test]
fn each_pair_reports_exactly_its_declared_classes() -> TestResult {
    let cases = cases()?;
    assert!(
        cases.len() >= 15,
        "only {} cases in expected.json",
        cases.len()
    );
    let mut failures = Vec::new();
    for (case, old, new, want) in &cases {
        let report = diff(&side(old)?, &side(new)?);
        let got: BTreeSet<String> = report.classes().iter().map(|c| c.to_string()).collect();
        if &got != want {
            failures.push(format!("{case}: want {want:?}, got {got:?}\n{report:#?}"));
        }
        // Every class named in a fixture is one the policy knows.
        for name in want {
            assert!(
                DriftClass::from_name(name).is_some(),
                "{case}: unknown class {name}"
            );
        }
        // The stored list agrees with the content, in order of consequence.
        let listed: Vec<DriftClass> = report.classes().into_iter().collect();
        assert_eq!(report.classes, listed, "{case}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

#[test]
fn the_base_fixture_is_clean() -> TestResult {
    // A finding in the base would make every pair's findings depend on it.
    let base = side("base/model.gguf")?;
    let findings: Vec<&str> = base
        .models
        .iter()
        .flat_map(|m| m.findings.iter().map(|f| f.code.as_str()))
        .collect();
    assert!(findings.is_empty(), "base findings: {findings:?}");
    Ok(())
}

#[test]
fn identical_sides_give_the_minimal_empty_report() -> TestResult {
    let (a, b) = (side("base/model.gguf")?, side("base/model.gguf")?);
    let report = diff(&a, &b);
    assert!(report.is_empty());
    assert!(report.classes().is_empty());
    let json: Value = serde_json::to_value(&report)?;
    let want = serde_json::json!({
        "schema": SCHEMA,
        "old": "base/model.gguf",
        "new": "base/model.gguf",
        "classes": [],
        "models": [],
        "files": [],
    });
    assert_eq!(json, want);
    let mut text = Vec::new();
    render_text(&report, &mut text)?;
    assert_eq!(
        String::from_utf8(text)?,
        "no drift from base/model.gguf to base/model.gguf\n"
    );
    Ok(())
}

#[test]
fn the_chat_template_pair_carries_the_text_diff() -> TestResult {
    let report = diff(
        &side("base/model.gguf")?,
        &side("chat_template/model.gguf")?,
    );
    let json = serde_json::to_value(&report)?;
    let change = &json["models"][0]["changes"][0];
    assert_eq!(change["class"], "chat_template");
    let lines: Vec<&str> = change["diff"]
        .as_array()
        .ok_or_else(|| fail("no diff"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(lines.contains(&"-{{ m['content'] }}</s>"), "{lines:?}");
    assert!(lines.contains(&"+{{ m['content'] }}<|end|>"), "{lines:?}");
    let mut md = Vec::new();
    render_markdown(&report, &mut md)?;
    let md = String::from_utf8(md)?;
    assert!(md.contains("```diff\n"), "{md}");
    // The JSON round-trips.
    let back: lbom::diff::DriftReport = serde_json::from_value(json)?;
    assert_eq!(back, report);
    Ok(())
}

#[test]
fn scan_json_of_both_sides_gives_the_same_drift() -> TestResult {
    // A scan report written by `lbom scan` (here: the facts as JSON, with
    // lbom's additions) is read back into an equivalent side.
    let (a, b) = (side("base/model.gguf")?, side("licence/model.gguf")?);
    let a_json = serde_json::to_vec(&a.models[0])?;
    let b_json = serde_json::to_vec(&vec![b.models[0].clone()])?;
    let a2 = Side::from_scan_json(&a_json, "old.json")?;
    let b2 = Side::from_scan_json(&b_json, "new.json")?;
    let report = diff(&a2, &b2);
    let got: Vec<DriftClass> = report.classes().into_iter().collect();
    assert_eq!(got, vec![DriftClass::Licence]);
    Ok(())
}
