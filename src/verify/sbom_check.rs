//! `sbom.consistent`: each artifact's SBOM must say what a fresh scan of
//! the artifact's bytes says.
//!
//! The expected component is rebuilt with the very writer `pack` uses
//! ([`crate::describe::cyclonedx::write_json`]) from the fresh facts, and
//! compared with the SBOM's component (CycloneDX 1.6: `metadata.component`,
//! with `components` and `dependencies` compared whole; 1.5: the one entry
//! of `components`, docs/bundle-format.md, "Per-file SBOMs") as JSON
//! values: the name, model card,
//! licence and every `lbom:` property (format, architecture, parameter
//! count, quantization and file type, context length, vocabulary size,
//! tokenizer and chat-template digests, tensor types, findings). Nothing an
//! SBOM adds, drops or changes in its component passes. Document metadata
//! (time, tool version, serial number) is not a claim about the model and
//! is not compared.

use serde_json::{Map, Value};

use crate::bundle::summary::Shown;
use crate::describe::DocumentInfo;
use crate::describe::cyclonedx::SpecVersion;
use crate::inspect::ModelFacts;
use crate::io::digest::Sha256Digest;
use crate::safe::visible;

/// The longest SBOM value quoted in a report detail, in characters.
const MAX_QUOTE_CHARS: usize = 80;

/// How much larger than the SBOM `pack` would write for the fresh facts (in
/// the CycloneDX version the SBOM claims) an SBOM may be before it is
/// refused unparsed: room for document metadata
/// (times, tool versions, serial numbers) of other lbom versions. The SBOM
/// is parsed into a JSON tree, several times its size in memory, so its
/// size is bounded by what the scan justifies, not only by the reader's
/// per-entry limit (docs/bundle-format.md, "Reader limits").
const MAX_SBOM_SLACK_BYTES: usize = 64 << 10;

/// Properties that can be re-checked on a zip whose pickles could not be
/// re-scanned (a zstd-encoded entry gives no random access).
const ZIP_STREAM_PROPERTIES: [&str; 2] = ["lbom:format", "lbom:file_size_bytes"];

/// Compare `sbom` with the fresh scan of its artifact (whose bytes have
/// SHA-256 `digest`). `Err` says what disagrees.
pub(crate) fn compare(
    sbom: &[u8],
    fresh: &ModelFacts,
    digest: &Sha256Digest,
    created: jiff::Timestamp,
    zip_unscanned: bool,
) -> Result<(), String> {
    let version = claimed_version(sbom)?;
    // The one rendering of the fresh facts: the bound on the SBOM's size
    // and the document it must agree with.
    let expected_bytes = expected_document(fresh, created, version)?;
    let bound = expected_bytes.len();
    if sbom.len() > bound.saturating_add(MAX_SBOM_SLACK_BYTES) {
        return Err(format!(
            "the SBOM is {} bytes, more than {MAX_SBOM_SLACK_BYTES} bytes over the {bound} of the SBOM a fresh scan gives",
            sbom.len(),
        ));
    }
    let value: Value =
        serde_json::from_slice(sbom).map_err(|e| format!("the SBOM is not JSON: {e}"))?;
    let expected: Value = serde_json::from_slice(&expected_bytes)
        .map_err(|e| format!("cannot describe the fresh scan: {e}"))?;
    let mut have = subject(&value, version)?.clone();
    check_hashes(have.remove("hashes"), digest)?;
    let mut want = subject(&expected, version)?.clone();
    want.remove("hashes");
    if zip_unscanned {
        return compare_stream_facts(&want, &have);
    }
    if let Some(d) = first_difference(&want, &have) {
        // Only an SBOM of before the side-file formats (lbom wrote 1.5 then)
        // may call a side file `unknown`.
        if !(version == SpecVersion::V1_5 && written_before_side_formats(fresh, &have, created)) {
            return Err(d);
        }
    }
    // 1.6: the files the model is made of, and what depends on what.
    if version == SpecVersion::V1_6 {
        for key in ["components", "dependencies"] {
            if value.get(key) != expected.get(key) {
                return Err(format!(
                    "the SBOM's {key} differ from what the artifact's scan gives"
                ));
            }
        }
    }
    Ok(())
}

/// The CycloneDX version `sbom` claims (`bomFormat` and `specVersion`),
/// read as a stream: nothing of the document is kept, so this may run
/// before its size is judged. A repeated key counts as its last
/// occurrence, as in the JSON tree the comparison reads.
fn claimed_version(sbom: &[u8]) -> Result<SpecVersion, String> {
    use serde::Deserializer as _;
    let not_json = |e: serde_json::Error| format!("the SBOM is not JSON: {e}");
    let mut de = serde_json::Deserializer::from_slice(sbom);
    let head = match de.deserialize_any(HeadVisitor) {
        Ok(head) => head,
        Err(e) if e.classify() == serde_json::error::Category::Data => None,
        Err(e) => return Err(not_json(e)),
    };
    de.end().map_err(not_json)?;
    head.filter(|(format, _)| format.as_deref() == Some("CycloneDX"))
        .and_then(|(_, version)| SpecVersion::parse(version.as_deref()?))
        .ok_or_else(|| "the SBOM is not a CycloneDX 1.5 or 1.6 document".to_owned())
}

/// A document's `bomFormat` and `specVersion` when it is an object (each
/// `None` unless a string); `None` for a list. Any other top-level value is
/// a type error (category `Data`): no CycloneDX document either.
struct HeadVisitor;

type Head = Option<(Option<String>, Option<String>)>;

impl<'de> serde::de::Visitor<'de> for HeadVisitor {
    type Value = Head;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
        use serde::de::IgnoredAny;
        let (mut format, mut version) = (None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "bomFormat" => format = map.next_value_seed(Shown)?,
                "specVersion" => version = map.next_value_seed(Shown)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some((format, version)))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Head, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// The component a bundle SBOM describes: 1.6 `metadata.component`, 1.5
/// the one entry of `components`.
fn subject(bom: &Value, version: SpecVersion) -> Result<&Map<String, Value>, String> {
    match version {
        SpecVersion::V1_5 => only_component(bom),
        SpecVersion::V1_6 => bom
            .get("metadata")
            .and_then(|m| m.get("component"))
            .and_then(Value::as_object)
            .ok_or_else(|| "the SBOM names no metadata.component".to_owned()),
    }
}

/// An SBOM written before lbom told side files apart (`text`,
/// `tiktoken`, `sentencepiece`, `code`; docs/scan-report.md) calls such a
/// file `unknown`. That is a lesser claim, not a false one: the SBOM
/// passes when it is exactly what the fresh scan gives with the format
/// `unknown`. The policy still judges the fresh format.
fn written_before_side_formats(
    fresh: &ModelFacts,
    have: &Map<String, Value>,
    created: jiff::Timestamp,
) -> bool {
    use crate::inspect::Format;
    if !matches!(
        fresh.format,
        Format::Text | Format::Tiktoken | Format::Sentencepiece | Format::Code
    ) {
        return false;
    }
    let mut older = fresh.clone();
    older.format = Format::Unknown;
    let Ok(doc) = expected_document(&older, created, SpecVersion::V1_5) else {
        return false;
    };
    let Ok(doc) = serde_json::from_slice::<Value>(&doc) else {
        return false;
    };
    subject(&doc, SpecVersion::V1_5).is_ok_and(|want| {
        let mut want = want.clone();
        want.remove("hashes");
        first_difference(&want, have).is_none()
    })
}

fn only_component(bom: &Value) -> Result<&Map<String, Value>, String> {
    match bom
        .get("components")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([c]) => c
            .as_object()
            .ok_or_else(|| "the SBOM's component is not an object".to_owned()),
        Some(list) => Err(format!(
            "the SBOM describes {} components; a bundle SBOM describes exactly one",
            list.len()
        )),
        None => Err("the SBOM describes no component".into()),
    }
}

/// The component's hashes are exactly one SHA-256: the manifest's (and the
/// streamed bytes') digest. An SBOM without it does not say which bytes it
/// describes.
fn check_hashes(hashes: Option<Value>, digest: &Sha256Digest) -> Result<(), String> {
    let Some(hashes) = hashes else {
        return Err("the SBOM gives no SHA-256 for its component".into());
    };
    let want = serde_json::json!([{"alg": "SHA-256", "content": digest.to_hex()}]);
    if hashes == want {
        Ok(())
    } else {
        Err(format!(
            "the SBOM's hashes are not the artifact's SHA-256 {digest}"
        ))
    }
}

/// The SBOM `pack` would write for these facts in this spec version.
fn expected_document(
    fresh: &ModelFacts,
    created: jiff::Timestamp,
    version: SpecVersion,
) -> Result<Vec<u8>, String> {
    let mut facts = fresh.clone();
    facts.sha256 = None;
    let info = DocumentInfo {
        created,
        tool_name: crate::TOOL_NAME,
        tool_version: crate::TOOL_VERSION,
    };
    let mut out = Vec::new();
    crate::describe::cyclonedx::write_json_version(
        std::slice::from_ref(&facts),
        &info,
        version,
        &mut out,
    )
    .map_err(|e| format!("cannot describe the fresh scan: {e}"))?;
    Ok(out)
}

fn quote(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(Value::String(s)) => {
            let shown = visible(s);
            match shown.char_indices().nth(MAX_QUOTE_CHARS) {
                Some((cut, _)) => format!("{:?}…", shown.get(..cut).unwrap_or_default()),
                None => format!("{shown:?}"),
            }
        }
        Some(other) => {
            let text = other.to_string();
            if text.chars().count() > MAX_QUOTE_CHARS {
                "a different value".into()
            } else {
                visible(&text)
            }
        }
    }
}

/// Properties as (name, value) in order.
fn properties(c: &Map<String, Value>) -> Vec<(String, Option<Value>)> {
    c.get("properties")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|p| {
                    let name = p
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    (name, p.get("value").cloned())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn first_difference(want: &Map<String, Value>, have: &Map<String, Value>) -> Option<String> {
    let keys = want
        .keys()
        .chain(have.keys().filter(|k| !want.contains_key(*k)));
    for key in keys {
        let (w, h) = (want.get(key), have.get(key));
        if w == h {
            continue;
        }
        if key == "properties" {
            return Some(property_difference(&properties(want), &properties(have)));
        }
        return Some(format!(
            "the SBOM's {} is {}, the artifact's scan gives {}",
            visible(key),
            quote(h),
            quote(w)
        ));
    }
    None
}

fn property_difference(
    want: &[(String, Option<Value>)],
    have: &[(String, Option<Value>)],
) -> String {
    let mut w = want.iter();
    let mut h = have.iter();
    loop {
        match (w.next(), h.next()) {
            (Some(a), Some(b)) if a == b => {}
            (Some((wn, wv)), Some((hn, hv))) if wn == hn => {
                return format!(
                    "the SBOM's property {} is {}, the artifact's scan gives {}",
                    visible(wn),
                    quote(hv.as_ref()),
                    quote(wv.as_ref())
                );
            }
            (Some((wn, _)), Some((hn, _))) => {
                return format!(
                    "the SBOM has property {} where the artifact's scan gives {}",
                    visible(hn),
                    visible(wn)
                );
            }
            (Some((wn, _)), None) => {
                return format!("the SBOM lacks property {}", visible(wn));
            }
            (None, Some((hn, _))) => {
                return format!(
                    "the SBOM has property {} that the artifact's scan does not give",
                    visible(hn)
                );
            }
            (None, None) => return "the SBOM's properties differ".into(),
        }
    }
}

/// A zip read as a stream: only its name, type, format and size are
/// re-checked.
fn compare_stream_facts(
    want: &Map<String, Value>,
    have: &Map<String, Value>,
) -> Result<(), String> {
    for key in ["type", "name", "bom-ref"] {
        if want.get(key) != have.get(key) {
            return Err(format!(
                "the SBOM's {key} is {}, the artifact's scan gives {}",
                quote(have.get(key)),
                quote(want.get(key))
            ));
        }
    }
    let (w, h) = (properties(want), properties(have));
    for name in ZIP_STREAM_PROPERTIES {
        let get = |list: &[(String, Option<Value>)]| {
            list.iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.clone())
        };
        if get(&w) != get(&h) {
            return Err(format!(
                "the SBOM's property {name} is {}, the artifact's scan gives {}",
                quote(get(&h).as_ref()),
                quote(get(&w).as_ref())
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::cyclonedx::write_json_version;
    use crate::inspect::{Format, inspect_bytes};

    fn facts(bytes: &[u8], name: &str) -> ModelFacts {
        let mut f = inspect_bytes(bytes, name).unwrap_or_default();
        f.model_path = name.to_owned();
        f
    }

    fn document(facts: &ModelFacts, created: jiff::Timestamp, v: SpecVersion) -> Vec<u8> {
        let info = DocumentInfo {
            created,
            tool_name: crate::TOOL_NAME,
            tool_version: crate::TOOL_VERSION,
        };
        let mut out = Vec::new();
        let _ = write_json_version(std::slice::from_ref(facts), &info, v, &mut out);
        out
    }

    /// A GGUF llama's facts and the digest of its bytes.
    fn llama() -> (Sha256Digest, ModelFacts) {
        let digest = Sha256Digest::of(b"weights");
        let facts = ModelFacts {
            model_filename: "m.gguf".into(),
            architecture: Some("llama".into()),
            sha256: Some(digest),
            ..ModelFacts::default()
        };
        (digest, facts)
    }

    /// Bundles packed when 1.5 was the default still verify; 1.6 is what
    /// pack writes now; a lie in either fails; other versions are refused.
    #[test]
    fn both_spec_versions_are_checked_and_others_refused() {
        let (digest, facts) = llama();
        let created = jiff::Timestamp::UNIX_EPOCH;
        for v in [SpecVersion::V1_5, SpecVersion::V1_6] {
            let sbom = document(&facts, created, v);
            assert_eq!(compare(&sbom, &facts, &digest, created, false), Ok(()));
            let lie = String::from_utf8_lossy(&sbom).replace("\"llama\"", "\"mistral\"");
            assert!(compare(lie.as_bytes(), &facts, &digest, created, false).is_err());
        }
        let sbom = document(&facts, created, SpecVersion::V1_6);
        let old = String::from_utf8_lossy(&sbom).replace("\"1.6\"", "\"1.4\"");
        assert!(
            compare(old.as_bytes(), &facts, &digest, created, false)
                .is_err_and(|e| e.contains("1.5 or 1.6"))
        );
    }

    /// The version is read before the document is parsed; a repeated key
    /// counts as its last occurrence (as the JSON tree reads it); what is
    /// not JSON, and JSON that is not a CycloneDX object, is refused with
    /// its own reason.
    #[test]
    fn the_claimed_version_is_read_as_a_stream_as_the_tree_reads_it() {
        let v = |text: &str| claimed_version(text.as_bytes());
        assert_eq!(
            v(r#"{"x":[{"y":1}],"bomFormat":"CycloneDX","specVersion":"1.5"}"#),
            Ok(SpecVersion::V1_5)
        );
        assert_eq!(
            v(r#"{"specVersion":"1.4","bomFormat":"CycloneDX","specVersion":"1.6"}"#),
            Ok(SpecVersion::V1_6)
        );
        for not_cyclonedx in [
            r#"{"specVersion":"1.6","bomFormat":"CycloneDX","specVersion":"1.4"}"#,
            r#"{"bomFormat":"SPDX","specVersion":"1.6"}"#,
            r#"{"bomFormat":["CycloneDX"],"specVersion":"1.6"}"#,
            r#"{"bomFormat":"CycloneDX","specVersion":1.6}"#,
            r#"[{"bomFormat":"CycloneDX","specVersion":"1.6"}]"#,
            r#""CycloneDX""#,
            "16",
        ] {
            assert!(
                v(not_cyclonedx).is_err_and(|e| e.contains("1.5 or 1.6")),
                "{not_cyclonedx}"
            );
        }
        for not_json in [
            r#"{"bomFormat":"CycloneDX","specVersion":"1.6""#,
            r#"{"bomFormat":"CycloneDX","specVersion":"1.6"} {}"#,
            "",
        ] {
            assert!(
                v(not_json).is_err_and(|e| e.contains("not JSON")),
                "{not_json}"
            );
        }
    }

    /// The size bound is the SBOM `pack` writes in the version the SBOM
    /// claims, plus the slack: an SBOM padded to exactly that still
    /// agrees, one byte more is refused before it is parsed.
    #[test]
    fn an_sbom_is_bounded_by_the_document_of_its_own_version() {
        let (digest, facts) = llama();
        let created = jiff::Timestamp::UNIX_EPOCH;
        for v in [SpecVersion::V1_5, SpecVersion::V1_6] {
            // The expected document names no digest (the manifest's is
            // compared on its own).
            let unhashed = ModelFacts {
                sha256: None,
                ..facts.clone()
            };
            let bound = document(&unhashed, created, v).len() + MAX_SBOM_SLACK_BYTES;
            let mut sbom = document(&facts, created, v);
            sbom.resize(bound, b' ');
            assert_eq!(compare(&sbom, &facts, &digest, created, false), Ok(()));
            sbom.push(b' ');
            assert!(
                compare(&sbom, &facts, &digest, created, false)
                    .is_err_and(|e| e.contains(&format!("{} bytes, more than", bound + 1))),
                "{v:?}"
            );
        }
    }

    /// An SBOM an earlier lbom wrote, calling a side file `unknown`, still
    /// agrees with a scan that now names its format; no other claim does.
    #[test]
    fn an_sbom_from_before_side_formats_passes_and_nothing_else_does() {
        let created = jiff::Timestamp::UNIX_EPOCH;
        for (bytes, name, now) in [
            (&b"hello\n"[..], "a.txt", Format::Text),
            (b"IQ== 0\nIg== 1\n", "x.tiktoken", Format::Tiktoken),
            (b"import os\n", "modeling_x.py", Format::Code),
        ] {
            let fresh = facts(bytes, name);
            assert_eq!(fresh.format, now);
            let digest = fresh.sha256.unwrap_or(Sha256Digest([0; 32]));
            let mut old = fresh.clone();
            old.format = Format::Unknown;
            assert_eq!(
                compare(
                    &document(&old, created, SpecVersion::V1_5),
                    &fresh,
                    &digest,
                    created,
                    false
                ),
                Ok(())
            );
            assert_eq!(
                compare(
                    &document(&fresh, created, SpecVersion::V1_6),
                    &fresh,
                    &digest,
                    created,
                    false
                ),
                Ok(())
            );
            let mut lie = fresh.clone();
            lie.format = Format::Json;
            for v in [SpecVersion::V1_5, SpecVersion::V1_6] {
                assert!(
                    compare(&document(&lie, created, v), &fresh, &digest, created, false).is_err()
                );
            }
        }
        // A binary that is still unknown may not be called text.
        let fresh = facts(b"\x00\x01\x02", "blob.dat");
        assert_eq!(fresh.format, Format::Unknown);
        let digest = fresh.sha256.unwrap_or(Sha256Digest([0; 32]));
        let mut lie = fresh.clone();
        lie.format = Format::Text;
        assert!(
            compare(
                &document(&lie, created, SpecVersion::V1_5),
                &fresh,
                &digest,
                created,
                false
            )
            .is_err()
        );
    }
}
