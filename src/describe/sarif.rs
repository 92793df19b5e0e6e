//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format) of the
//! scan's findings, so that a CI system shows them next to other scanners'
//! (`lbom scan --format sarif`).
//!
//! One run; its tool is lbom with one rule per finding code the scan
//! produced (docs/findings.md lists them); one result per finding, at the
//! model file it concerns; each scanned file is an artifact with its
//! SHA-256 and size. Severities map to SARIF levels: error → `error`,
//! warning → `warning`, info → `note`. A file's location is the path as
//! named when it is relative and stays below the current directory (what
//! a CI checkout scans), else only its file name, so no local path leaves
//! the machine. The suite validates every document against the SARIF
//! 2.1.0 schema (tests/schemas/).

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use super::text::file_name;
use super::{DocumentInfo, Error};
use crate::inspect::{ModelFacts, Severity};
use crate::safe::{shorten, visible};

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";
/// The schema the document names (OASIS Standard, errata 01).
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// Longest untrusted message.
const MAX_MESSAGE_CHARS: usize = 2000;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A URI reference for the file: the relative path as named (no `..`, no
/// leading `/`), else the file name; every byte outside RFC 3986's
/// unreserved set and `/` percent-encoded.
pub(crate) fn artifact_uri(model_path: &str, model_filename: &str) -> String {
    let relative = !model_path.is_empty()
        && !model_path.starts_with(['/', '\\'])
        && !model_path.contains('\\')
        && !model_path.split('/').any(|part| part == "..")
        && !model_path.contains(':');
    let raw = if relative {
        model_path.strip_prefix("./").unwrap_or(model_path)
    } else {
        file_name(model_filename)
    };
    let mut out = String::new();
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Write the SARIF log, pretty-printed with a trailing newline.
pub fn write(facts: &[ModelFacts], info: &DocumentInfo, out: &mut dyn Write) -> Result<(), Error> {
    // Rules: one per code, in code order, with the worst severity seen.
    let mut rules: BTreeMap<String, Severity> = BTreeMap::new();
    for f in facts.iter().flat_map(|m| &m.findings) {
        let code = visible(&f.code);
        let e = rules.entry(code).or_insert(f.severity);
        *e = (*e).max(f.severity);
    }
    let index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let rule_list: Vec<Value> = rules
        .iter()
        .map(|(code, severity)| {
            json!({
                "id": code,
                "name": code,
                "shortDescription": { "text": format!("lbom finding {code}") },
                "help": { "text": format!("See docs/findings.md in lbom for {code}.") },
                "defaultConfiguration": { "level": level(*severity) },
            })
        })
        .collect();
    let mut artifacts = Vec::new();
    let mut results = Vec::new();
    for m in facts {
        let uri = artifact_uri(&m.model_path, &m.model_filename);
        let mut artifact = json!({
            "location": { "uri": uri },
            "length": m.file_size_bytes,
        });
        if let (Some(d), Some(obj)) = (m.sha256, artifact.as_object_mut()) {
            obj.insert("hashes".into(), json!({ "sha-256": d.to_hex() }));
        }
        // SARIF's artifacts are unique (§3.14.15): files of the same name
        // and bytes, named by file name only, are one artifact.
        let i = match artifacts.iter().position(|a| *a == artifact) {
            Some(i) => i,
            None => {
                artifacts.push(artifact);
                artifacts.len().saturating_sub(1)
            }
        };
        for f in &m.findings {
            let code = visible(&f.code);
            let mut result = json!({
                "ruleId": code,
                "level": level(f.severity),
                "message": { "text": shorten(&visible(&f.message), MAX_MESSAGE_CHARS) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri, "index": i }
                    }
                }],
            });
            if let (Some(n), Some(obj)) = (index.get(code.as_str()), result.as_object_mut()) {
                obj.insert("ruleIndex".into(), json!(n));
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {
                "driver": {
                    "name": info.tool_name,
                    "version": info.tool_version,
                    "rules": rule_list,
                }
            },
            "invocations": [{
                "executionSuccessful": true,
                "endTimeUtc": info.created_utc(),
            }],
            "artifacts": artifacts,
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::describe::fixtures::{self, LOCAL_DIR, info, render};

    fn log(facts: &[ModelFacts]) -> Value {
        let text = render(|o| write(facts, &info(), o)).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    #[test]
    fn every_finding_is_a_result_with_its_rule_and_level() {
        let all = fixtures::all();
        let v = log(&all);
        let run = &v["runs"][0];
        assert_eq!(v["version"], "2.1.0");
        let results = run["results"].as_array().cloned().unwrap_or_default();
        let findings: usize = all.iter().map(|m| m.findings.len()).sum();
        assert_eq!(results.len(), findings);
        let rules = run["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for r in &results {
            let i = r["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
            assert_eq!(rules.get(i).map(|rule| &rule["id"]), Some(&r["ruleId"]));
            assert!(matches!(
                r["level"].as_str(),
                Some("error" | "warning" | "note")
            ));
        }
        assert_eq!(run["artifacts"].as_array().map(Vec::len), Some(all.len()));
    }

    #[test]
    fn no_local_path_and_uris_are_encoded() {
        let text = render(|o| write(&fixtures::all(), &info(), o)).unwrap_or_default();
        assert!(!text.contains(LOCAL_DIR) && !text.contains("/home/"));
        assert_eq!(
            artifact_uri("models/a b.gguf", "a b.gguf"),
            "models/a%20b.gguf"
        );
        assert_eq!(artifact_uri("./m.gguf", "m.gguf"), "m.gguf");
        assert_eq!(artifact_uri("/home/me/m.gguf", "m.gguf"), "m.gguf");
        assert_eq!(artifact_uri("../x/m.gguf", "m.gguf"), "m.gguf");
        assert_eq!(artifact_uri("C:x", "C:x"), "C%3Ax");
    }
}
