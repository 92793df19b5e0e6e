//! One SPDX 2.3 document for all scanned models, as tag-value or JSON.
//!
//! Each model is a package (SPDX 2.3 §7) with `FilesAnalyzed: false`: lbom
//! does not list files inside a model, and SPDX 2.3 files need a SHA-1
//! checksum lbom does not compute. A sharded model's shards are packages
//! of their own, contained by the model's package. The document namespace
//! is derived from a SHA-256 of the facts and the creation info, so the
//! same scan gives the same bytes (SPDX 2.3 §6.5 only asks for uniqueness).
//!
//! Model facts go into `PackageComment`; untrusted strings are escaped so
//! they cannot end a `<text>` block or start a tag-value token, and the
//! local `model_path` is never written.

use std::fmt::Write as _;
use std::io::Write;

use serde_json::{Value, json};

use super::licence::{self, LicenceId};
use super::text::{file_name, is_plain_https, model_fact_pairs};
use super::{DocumentInfo, Error};
use crate::inspect::ModelFacts;
use crate::io::digest::Sha256Digest;
use crate::safe::{shorten, visible};

/// Longest single-line value written (names, licence names).
const MAX_LINE_CHARS: usize = 200;
/// Longest value inside a comment line.
const MAX_FACT_CHARS: usize = 256;
/// Longest name part of an SPDXID (the index keeps ids unique).
const MAX_ID_NAME_CHARS: usize = 48;
/// Facts lists (tensor types, imports, findings) longer than this are cut
/// in the comment; the JSON report has them all.
const MAX_LIST_ITEMS: usize = 64;

struct Document {
    name: String,
    namespace: String,
    created: String,
    creator: String,
    packages: Vec<Package>,
    relationships: Vec<(String, &'static str, String)>,
    extracted: Vec<Extracted>,
}

struct Package {
    id: String,
    name: String,
    checksum: Option<Sha256Digest>,
    licence_declared: String,
    comment: Option<String>,
}

struct Extracted {
    id: String,
    name: String,
    text: String,
    see_also: Option<String>,
}

/// Write the document as SPDX 2.3 tag-value.
pub fn write_tag_value(
    facts: &[ModelFacts],
    info: &DocumentInfo,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let doc = build(facts, info)?;
    out.write_all(tag_value(&doc).as_bytes())?;
    Ok(())
}

/// Write the document as SPDX 2.3 JSON, pretty-printed with a trailing newline.
pub fn write_json(
    facts: &[ModelFacts],
    info: &DocumentInfo,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let doc = build(facts, info)?;
    serde_json::to_writer_pretty(&mut *out, &to_json(&doc))?;
    out.write_all(b"\n")?;
    Ok(())
}

fn build(facts: &[ModelFacts], info: &DocumentInfo) -> Result<Document, Error> {
    let first = facts.first().ok_or(Error::NoModels { format: "SPDX" })?;
    let name = match facts {
        [_] => format!("lbom-{}", file_name(&first.model_filename)),
        many => format!("lbom-{}-models", many.len()),
    };
    let mut doc = Document {
        name: line(&name),
        namespace: format!(
            "https://spdx.org/spdxdocs/lbom-{}",
            content_digest(facts, info)?
        ),
        created: info.created_utc(),
        creator: format!(
            "Tool: {}-{}",
            id_chars(info.tool_name),
            id_chars(info.tool_version)
        ),
        packages: Vec::new(),
        relationships: Vec::new(),
        extracted: Vec::new(),
    };
    for (i, model) in facts.iter().enumerate() {
        add_model(&mut doc, i.saturating_add(1), model);
    }
    Ok(doc)
}

/// SHA-256 over the facts (without the local path) and the creation info.
fn content_digest(facts: &[ModelFacts], info: &DocumentInfo) -> Result<String, Error> {
    let mut hasher = crate::io::digest::Hasher::new();
    hasher.update(info.created_utc().as_bytes());
    hasher.update(info.tool_name.as_bytes());
    hasher.update(info.tool_version.as_bytes());
    for model in facts {
        let mut public = model.clone();
        public.model_path.clear();
        hasher.update(&serde_json::to_vec(&public)?);
    }
    Ok(hasher.finish().to_hex())
}

fn add_model(doc: &mut Document, index: usize, m: &ModelFacts) {
    let file = file_name(&m.model_filename);
    let id = format!("SPDXRef-Model-{index}-{}", id_chars(file));
    let licence_declared = match licence::declared(m) {
        None => "NOASSERTION".to_owned(),
        Some(declared) => {
            let id = licence::spdx_id(&declared.raw);
            if let LicenceId::Ref(ref_id) = &id {
                add_extracted(doc, ref_id, &declared);
            }
            id.as_str().to_owned()
        }
    };
    doc.relationships
        .push(("SPDXRef-DOCUMENT".to_owned(), "DESCRIBES", id.clone()));
    for (j, shard) in m.shards.iter().enumerate() {
        let shard_name = file_name(&shard.filename);
        let shard_id = format!(
            "SPDXRef-Model-{index}-Shard-{}-{}",
            j.saturating_add(1),
            id_chars(shard_name)
        );
        doc.relationships
            .push((id.clone(), "CONTAINS", shard_id.clone()));
        doc.packages.push(Package {
            id: shard_id,
            name: line(shard_name),
            checksum: shard.sha256,
            licence_declared: licence_declared.clone(),
            comment: Some(format!(
                "shard {} of {}; file_size_bytes: {}",
                j.saturating_add(1),
                m.shards.len(),
                shard.file_size_bytes
            )),
        });
    }
    let package = Package {
        id,
        name: line(file),
        checksum: m.sha256,
        licence_declared,
        comment: Some(comment(m)),
    };
    // The model's package first, then its shards.
    let at = doc.packages.len().saturating_sub(m.shards.len());
    doc.packages.insert(at, package);
}

fn add_extracted(doc: &mut Document, ref_id: &str, declared: &licence::Declared) {
    if doc.extracted.iter().any(|e| e.id == ref_id) {
        return;
    }
    let see_also = declared
        .link
        .as_deref()
        .filter(|l| is_plain_https(l))
        .map(str::to_owned);
    doc.extracted.push(Extracted {
        id: ref_id.to_owned(),
        name: line(&declared.raw),
        text: text_block(&format!(
            "The model file names this licence \"{}\"; the licence text is not part of the file.",
            fact(&declared.raw)
        )),
        see_also,
    });
}

/// The model facts, one `key: value` per line.
fn comment(m: &ModelFacts) -> String {
    let mut out = String::new();
    let mut put = |key: &str, value: &str| {
        let _ = writeln!(out, "{key}: {}", fact(value));
    };
    for (key, value) in model_fact_pairs(m) {
        put(key, &value);
    }
    for (name, stat) in m.tensor_types.iter().take(MAX_LIST_ITEMS) {
        put(
            &format!("tensor_type {}", fact(name)),
            &format!("{} tensors, {} parameters", stat.tensors, stat.parameters),
        );
    }
    for import in m.pickle_imports.iter().take(MAX_LIST_ITEMS) {
        put("pickle_import", import);
    }
    for f in m.findings.iter().take(MAX_LIST_ITEMS) {
        put(
            &format!("finding {} {}", f.severity, fact(&f.code)),
            &f.message,
        );
    }
    text_block(out.trim_end())
}

/// One untrusted value inside a comment: single line, bounded.
fn fact(raw: &str) -> String {
    shorten(&visible(raw), MAX_FACT_CHARS)
}

/// Text for a `<text>` block: `</text>` would end the block early in
/// tag-value (spdx-tools' lexer matches it anywhere), so it is defused.
fn text_block(raw: &str) -> String {
    raw.replace("</text>", "&lt;/text>")
}

/// A single-line tag-value value. spdx-tools' lexer (tagvalue/lexer.py)
/// reads a value that starts with `<text>`, `SHA1:`-style checksums,
/// `Tool:`/`Organization:`/`Person:` or a timestamp as its own token, not as
/// a line, so such a value gets a leading `_`.
fn line(raw: &str) -> String {
    let v = text_block(&shorten(visible(raw).trim(), MAX_LINE_CHARS));
    if v.is_empty() {
        return "unnamed".to_owned();
    }
    const TOKENS: &[&str] = &[
        "<text>",
        "Tool:",
        "Organization:",
        "Person:",
        "ADLER32:",
        "BLAKE2b-256:",
        "BLAKE2b-384:",
        "BLAKE2b-512:",
        "BLAKE3:",
        "MD2:",
        "MD4:",
        "MD5:",
        "MD6:",
        "SHA1:",
        "SHA224:",
        "SHA256:",
        "SHA384:",
        "SHA512:",
        "SHA3-256:",
        "SHA3-384:",
        "SHA3-512:",
    ];
    let timestamp = v.len() >= 20
        && v.bytes().take(20).enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if timestamp || TOKENS.iter().any(|t| v.starts_with(t)) {
        format!("_{v}")
    } else {
        v
    }
}

/// `[A-Za-z0-9.-]` for SPDXIDs (SPDX 2.3 §3.2), bounded.
fn id_chars(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if out.len() >= MAX_ID_NAME_CHARS {
            break;
        }
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "x".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn tag_value(doc: &Document) -> String {
    let mut s = String::new();
    let tag = |s: &mut String, key: &str, value: &str| {
        let _ = writeln!(s, "{key}: {value}");
    };
    tag(&mut s, "SPDXVersion", "SPDX-2.3");
    tag(&mut s, "DataLicense", "CC0-1.0");
    tag(&mut s, "SPDXID", "SPDXRef-DOCUMENT");
    tag(&mut s, "DocumentName", &doc.name);
    tag(&mut s, "DocumentNamespace", &doc.namespace);
    tag(&mut s, "Creator", &doc.creator);
    tag(&mut s, "Created", &doc.created);
    s.push('\n');
    for (a, kind, b) in &doc.relationships {
        tag(&mut s, "Relationship", &format!("{a} {kind} {b}"));
    }
    for p in &doc.packages {
        s.push('\n');
        tag(&mut s, "PackageName", &p.name);
        tag(&mut s, "SPDXID", &p.id);
        tag(&mut s, "PackageFileName", &p.name);
        tag(&mut s, "PackageDownloadLocation", "NOASSERTION");
        tag(&mut s, "FilesAnalyzed", "false");
        if let Some(digest) = &p.checksum {
            tag(&mut s, "PackageChecksum", &format!("SHA256: {digest}"));
        }
        tag(&mut s, "PackageLicenseConcluded", "NOASSERTION");
        tag(&mut s, "PackageLicenseDeclared", &p.licence_declared);
        tag(&mut s, "PackageCopyrightText", "NOASSERTION");
        if let Some(comment) = &p.comment {
            tag(&mut s, "PackageComment", &format!("<text>{comment}</text>"));
        }
    }
    for e in &doc.extracted {
        s.push('\n');
        tag(&mut s, "LicenseID", &e.id);
        tag(&mut s, "ExtractedText", &format!("<text>{}</text>", e.text));
        tag(&mut s, "LicenseName", &e.name);
        if let Some(url) = &e.see_also {
            tag(&mut s, "LicenseCrossReference", url);
        }
    }
    s
}

fn to_json(doc: &Document) -> Value {
    let packages: Vec<Value> = doc
        .packages
        .iter()
        .map(|p| {
            let mut v = json!({
                "SPDXID": p.id,
                "name": p.name,
                "packageFileName": p.name,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
            });
            if let (Some(digest), Some(map)) = (&p.checksum, v.as_object_mut()) {
                map.insert(
                    "checksums".into(),
                    json!([{ "algorithm": "SHA256", "checksumValue": digest.to_hex() }]),
                );
            }
            if let Some(map) = v.as_object_mut() {
                map.insert("licenseConcluded".into(), "NOASSERTION".into());
                map.insert("licenseDeclared".into(), p.licence_declared.clone().into());
                map.insert("copyrightText".into(), "NOASSERTION".into());
                if let Some(comment) = &p.comment {
                    map.insert("comment".into(), comment.clone().into());
                }
            }
            v
        })
        .collect();
    let relationships: Vec<Value> = doc
        .relationships
        .iter()
        .map(|(a, kind, b)| json!({ "spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b }))
        .collect();
    let mut v = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": doc.name,
        "documentNamespace": doc.namespace,
        "creationInfo": { "created": doc.created, "creators": [doc.creator] },
        "packages": packages,
        "relationships": relationships,
    });
    if !doc.extracted.is_empty() {
        let extracted: Vec<Value> = doc
            .extracted
            .iter()
            .map(|e| {
                let mut x = json!({ "licenseId": e.id, "extractedText": e.text, "name": e.name });
                if let (Some(url), Some(map)) = (&e.see_also, x.as_object_mut()) {
                    map.insert("seeAlsos".into(), json!([url]));
                }
                x
            })
            .collect();
        if let Some(map) = v.as_object_mut() {
            map.insert("hasExtractedLicensingInfos".into(), extracted.into());
        }
    }
    v
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::describe::fixtures::{self, LOCAL_DIR, info, render};

    fn tv(facts: &[ModelFacts]) -> String {
        render(|o| write_tag_value(facts, &info(), o)).unwrap_or_default()
    }

    fn js(facts: &[ModelFacts]) -> Value {
        let text = render(|o| write_json(facts, &info(), o)).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    /// The values of `tag` in tag-value text, in order.
    fn values<'a>(text: &'a str, tag: &str) -> Vec<&'a str> {
        let prefix = format!("{tag}: ");
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .collect()
    }

    #[test]
    fn document_header_is_valid_and_deterministic() {
        let text = tv(&fixtures::all());
        assert_eq!(values(&text, "SPDXVersion"), ["SPDX-2.3"]);
        assert_eq!(values(&text, "Created"), ["2023-11-14T22:13:20Z"]);
        assert_eq!(values(&text, "Creator"), ["Tool: lbom-0.1.0"]);
        assert_eq!(values(&text, "DocumentName"), ["lbom-5-models"]);
        let ns = values(&text, "DocumentNamespace");
        let digest = ns
            .first()
            .and_then(|n| n.strip_prefix("https://spdx.org/spdxdocs/lbom-"))
            .unwrap_or("");
        assert!(
            digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
            "{ns:?}"
        );
        assert_eq!(text, tv(&fixtures::all()));
        let v = js(&fixtures::all());
        assert_eq!(v["documentNamespace"].as_str(), ns.first().copied());
        // Another scan time is another document.
        let later = DocumentInfo {
            created: jiff::Timestamp::UNIX_EPOCH,
            ..info()
        };
        let other = render(|o| write_tag_value(&fixtures::all(), &later, o)).unwrap_or_default();
        assert_ne!(values(&other, "DocumentNamespace"), ns);
    }

    #[test]
    fn one_package_per_model_and_shard_with_checksums_and_licences() {
        let text = tv(&fixtures::all());
        let ids = values(&text, "SPDXID");
        assert_eq!(
            ids.get(..5),
            Some(
                &[
                    "SPDXRef-DOCUMENT",
                    "SPDXRef-Model-1-Llama-3.2-1B-Instruct-Q4-K-M.gguf",
                    "SPDXRef-Model-2-SmolLM2-135M",
                    "SPDXRef-Model-2-Shard-1-model-00001-of-00002.safetensors",
                    "SPDXRef-Model-2-Shard-2-model-00002-of-00002.safetensors",
                ][..]
            )
        );
        assert_eq!(ids.len(), 1 + 5 + 3);
        assert!(ids.iter().all(|id| {
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }));
        let describes = values(&text, "Relationship")
            .into_iter()
            .filter(|r| r.contains(" DESCRIBES "))
            .count();
        assert_eq!(describes, 5);
        assert!(text.contains(
            "Relationship: SPDXRef-Model-2-SmolLM2-135M CONTAINS SPDXRef-Model-2-Shard-1-"
        ));
        let declared = values(&text, "PackageLicenseDeclared");
        assert_eq!(declared.first(), Some(&"LicenseRef-llama3.2"));
        assert_eq!(declared.get(1), Some(&"Apache-2.0"));
        assert!(declared.contains(&"MIT") && declared.contains(&"NOASSERTION"));
        assert_eq!(
            values(&text, "LicenseID").first(),
            Some(&"LicenseRef-llama3.2")
        );
        let sum = fixtures::gguf_llama()
            .sha256
            .map(|d| format!("SHA256: {d}"))
            .unwrap_or_default();
        assert_eq!(
            values(&text, "PackageChecksum").first(),
            Some(&sum.as_str())
        );
        // The safetensors folder was not hashed: no checksum for it, but its shards have one.
        let v = js(&fixtures::all());
        assert_eq!(v["packages"][1]["checksums"], Value::Null);
        assert_eq!(v["packages"][2]["checksums"][0]["algorithm"], "SHA256");
        assert_eq!(v["packages"][0]["licenseDeclared"], "LicenseRef-llama3.2");
        assert_eq!(
            v["hasExtractedLicensingInfos"][0]["licenseId"],
            "LicenseRef-llama3.2"
        );
    }

    #[test]
    fn model_facts_are_in_the_comment() {
        let v = js(&[fixtures::gguf_llama(), fixtures::pickle_with_findings()]);
        let comment = v["packages"][0]["comment"].as_str().unwrap_or_default();
        for want in [
            "format: gguf",
            "quantization: Q4_K_M",
            "parameter_count: 1235814400",
            "file_type: 15",
            "context_length: 131072",
            "base_model: meta-llama/Llama-3.2-1B-Instruct",
            "tensor_type Q4_K: 96 tensors, 1000000000 parameters",
        ] {
            assert!(
                comment.lines().any(|l| l == want),
                "{want} missing from {comment}"
            );
        }
        let pickle = v["packages"][1]["comment"].as_str().unwrap_or_default();
        assert!(
            pickle.lines().any(|l| l
                == "finding error pickle.code_capable: loading this file can run arbitrary code")
        );
        assert!(pickle.lines().any(|l| l == "pickle_import: os.system"));
    }

    #[test]
    fn hostile_strings_cannot_break_the_syntax_or_leak_paths() {
        let text = tv(&fixtures::all());
        assert!(!text.contains(LOCAL_DIR) && !text.contains("/home/"));
        let json = render(|o| write_json(&fixtures::all(), &info(), o)).unwrap_or_default();
        assert!(!json.contains(LOCAL_DIR) && !json.contains("NaN"));
        // Every line is a tag, blank, or inside a <text> block.
        let mut in_text = false;
        for l in text.lines() {
            if !in_text {
                assert!(
                    l.is_empty()
                        || l.split_once(": ")
                            .is_some_and(|(t, _)| t.bytes().all(|b| b.is_ascii_alphabetic())),
                    "{l:?}"
                );
            }
            if let Some(pos) = l.rfind("<text>") {
                in_text = !l.get(pos..).unwrap_or_default().contains("</text>");
            } else if l.contains("</text>") {
                in_text = false;
            }
        }
        let names = values(&text, "PackageName");
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("_SHA1: evil\"name': x\\u{a}---")),
            "{names:?}"
        );
        assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\u{202E}'));
        assert_eq!(
            text.matches("</text>").count(),
            text.matches("<text>").count()
        );
        assert!(
            matches!(render(|o| write_tag_value(&[], &info(), o)), Err(e) if e.contains("at least one model"))
        );
    }

    #[test]
    fn line_values_never_start_a_lexer_token() {
        assert_eq!(line("SHA256: abc"), "_SHA256: abc");
        assert_eq!(line("Tool: x"), "_Tool: x");
        assert_eq!(line("<text>x"), "_<text>x");
        assert_eq!(
            line("2024-01-01T00:00:00Z model"),
            "_2024-01-01T00:00:00Z model"
        );
        assert_eq!(line("model.gguf"), "model.gguf");
        assert_eq!(line(" \n "), "\\u{a}");
        assert_eq!(line(""), "unnamed");
    }
}
