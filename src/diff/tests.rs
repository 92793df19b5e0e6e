//! Unit tests of the drift engine: class names, file-level matching,
//! pairing, ordering, caps, escaping, scan JSON input, and scale.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};

use super::*;
use crate::inspect::facts::{Finding, ShardSummary, TensorSummary};

fn digest(n: u64) -> Sha256Digest {
    Sha256Digest::of(&n.to_le_bytes())
}

fn file(path: &str, n: u64) -> FileRecord {
    FileRecord {
        path: path.to_owned(),
        sha256: digest(n),
        size: n,
    }
}

fn facts(path: &str, n: u64) -> ModelFacts {
    ModelFacts {
        model_path: path.to_owned(),
        sha256: Some(digest(n)),
        format: Format::Gguf,
        architecture: Some("llama".into()),
        license: Some("apache-2.0".into()),
        ..ModelFacts::default()
    }
}

fn side(files: Vec<FileRecord>, models: Vec<ModelFacts>) -> Side {
    Side::from_facts("side", files, models)
}

fn classes(r: &DriftReport) -> Vec<DriftClass> {
    r.classes().into_iter().collect()
}

fn text(r: &DriftReport) -> String {
    let mut out = Vec::new();
    assert!(render_text(r, &mut out).is_ok());
    String::from_utf8(out).unwrap_or_default()
}

fn markdown(r: &DriftReport) -> String {
    let mut out = Vec::new();
    assert!(render_markdown(r, &mut out).is_ok());
    String::from_utf8(out).unwrap_or_default()
}

#[test]
fn class_names_are_stable_and_distinct() {
    let ours: BTreeSet<&str> = DriftClass::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(ours.len(), DriftClass::ALL.len());
    for c in DriftClass::ALL {
        // The serde name is the stable name, and names round-trip.
        assert_eq!(serde_json::to_value(c).ok(), Some(json!(c.as_str())));
        assert_eq!(DriftClass::from_name(c.as_str()), Some(c));
    }
    // ALL is in declaration (consequence) order.
    let sorted: Vec<DriftClass> = DriftClass::ALL
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(sorted, DriftClass::ALL.to_vec());
}

#[test]
fn a_rename_is_not_also_an_add_and_a_remove() {
    let old = side(vec![file("a", 1), file("b", 2)], vec![]);
    let new = side(vec![file("c", 1), file("b", 2)], vec![]);
    let r = diff(&old, &new);
    assert_eq!(classes(&r), vec![DriftClass::FileRenamed]);
    assert_eq!(
        r.files,
        vec![FileDrift::FileRenamed {
            old_path: "a".into(),
            new_path: "c".into(),
            sha256: digest(1),
            size: 1
        }]
    );
}

#[test]
fn a_copy_beside_the_original_is_an_add() {
    let old = side(vec![file("a", 1)], vec![]);
    let new = side(vec![file("a", 1), file("copy", 1)], vec![]);
    let r = diff(&old, &new);
    assert_eq!(classes(&r), vec![DriftClass::FileAdded]);
}

#[test]
fn same_content_under_several_names_pairs_in_path_order() {
    let old = side(vec![file("x1", 7), file("x2", 7), file("gone", 3)], vec![]);
    let new = side(vec![file("y2", 7), file("y1", 7), file("new", 4)], vec![]);
    let r = diff(&old, &new);
    let renames: Vec<(&str, &str)> = r
        .files
        .iter()
        .filter_map(|f| match f {
            FileDrift::FileRenamed {
                old_path, new_path, ..
            } => Some((old_path.as_str(), new_path.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(renames, vec![("x1", "y1"), ("x2", "y2")]);
    assert_eq!(
        classes(&r),
        vec![
            DriftClass::FileRemoved,
            DriftClass::FileAdded,
            DriftClass::FileRenamed
        ]
    );
}

#[test]
fn a_changed_file_is_explained_by_its_models_drift() {
    // The model's licence changed: that is the drift, not "file changed".
    let a = facts("m.gguf", 1);
    let mut b = facts("m.gguf", 2);
    b.license = Some("mit".into());
    let r = diff(
        &side(
            vec![file("m.gguf", 1), file("notes.txt", 5)],
            vec![a.clone()],
        ),
        &side(vec![file("m.gguf", 2), file("notes.txt", 6)], vec![b]),
    );
    assert_eq!(
        classes(&r),
        vec![DriftClass::Licence, DriftClass::FileChanged]
    );
    assert!(matches!(&r.files[..], [FileDrift::FileChanged { path, .. }] if path == "notes.txt"));

    // Same facts, other bytes (new weights): only file_changed says so.
    let same = facts("m.gguf", 2);
    let r = diff(
        &side(vec![file("m.gguf", 1)], vec![a]),
        &side(vec![file("m.gguf", 2)], vec![same]),
    );
    assert_eq!(classes(&r), vec![DriftClass::FileChanged]);
}

#[test]
fn shards_of_a_changed_model_are_explained_by_digest() {
    let shard = |name: &str, n: u64| ShardSummary {
        filename: name.into(),
        file_size_bytes: n,
        sha256: Some(digest(n)),
    };
    let mut a = facts("split/m-00001-of-00002.gguf", 0);
    a.sha256 = None;
    a.shards = vec![
        shard("m-00001-of-00002.gguf", 1),
        shard("m-00002-of-00002.gguf", 2),
    ];
    let mut b = a.clone();
    b.shards = vec![
        shard("m-00001-of-00002.gguf", 3),
        shard("m-00002-of-00002.gguf", 4),
    ];
    b.context_length = Some(4096);
    let files = |x: u64, y: u64| {
        vec![
            file("split/m-00001-of-00002.gguf", x),
            file("split/m-00002-of-00002.gguf", y),
        ]
    };
    let r = diff(&side(files(1, 2), vec![a]), &side(files(3, 4), vec![b]));
    assert_eq!(classes(&r), vec![DriftClass::ContextLength]);
}

#[test]
fn a_renamed_model_is_paired_by_digest_and_has_no_model_drift() {
    let r = diff(
        &side(vec![file("old.gguf", 1)], vec![facts("old.gguf", 1)]),
        &side(vec![file("new.gguf", 1)], vec![facts("new.gguf", 1)]),
    );
    assert_eq!(classes(&r), vec![DriftClass::FileRenamed]);
    assert!(r.models.is_empty());
}

#[test]
fn a_single_model_replaced_under_another_name_is_still_compared() {
    let a = facts("model.safetensors", 1);
    let mut b = facts("pytorch_model.bin", 2);
    b.format = Format::Pickle;
    b.findings = vec![Finding::warning("pickle.code_execution", "runs code")];
    let r = diff(
        &side(vec![file("model.safetensors", 1)], vec![a]),
        &side(vec![file("pytorch_model.bin", 2)], vec![b]),
    );
    assert_eq!(
        classes(&r),
        vec![
            DriftClass::Format,
            DriftClass::Findings,
            DriftClass::FileRemoved,
            DriftClass::FileAdded
        ]
    );
}

#[test]
fn models_and_changes_come_most_consequential_first() {
    let mut a1 = facts("a.gguf", 1);
    let mut b1 = facts("a.gguf", 1);
    a1.context_length = Some(1);
    b1.context_length = Some(2);
    b1.metadata.insert("x".into(), json!(1));
    let a2 = facts("z.gguf", 2);
    let mut b2 = facts("z.gguf", 2);
    b2.architecture = Some("qwen2".into());
    b2.license = Some("mit".into());
    let r = diff(&side(vec![], vec![a1, a2]), &side(vec![], vec![b2, b1]));
    let order: Vec<(&str, Vec<DriftClass>)> = r
        .models
        .iter()
        .map(|m| {
            (
                m.new_path.as_str(),
                m.changes.iter().map(Change::class).collect(),
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (
                "z.gguf",
                vec![DriftClass::Architecture, DriftClass::Licence]
            ),
            (
                "a.gguf",
                vec![DriftClass::ContextLength, DriftClass::Metadata]
            ),
        ]
    );
    assert_eq!(
        r.classes,
        vec![
            DriftClass::Architecture,
            DriftClass::Licence,
            DriftClass::ContextLength,
            DriftClass::Metadata
        ]
    );
    let t = text(&r);
    let z = t.find("model z.gguf").unwrap_or(usize::MAX);
    let a = t.find("model a.gguf").unwrap_or(0);
    assert!(z < a, "{t}");
}

#[test]
fn an_owned_key_fires_its_class_even_when_the_fact_did_not_change() {
    // general.license edited but the licence fact unchanged (e.g. facts
    // from an older scan): the licence class fires and lists the key.
    let mut a = facts("m", 1);
    let mut b = facts("m", 1);
    a.metadata
        .insert("general.license".into(), json!("apache-2.0"));
    b.metadata
        .insert("general.license".into(), json!("Apache-2.0"));
    let r = diff(
        &side(vec![], vec![a.clone()]),
        &side(vec![], vec![b.clone()]),
    );
    assert_eq!(classes(&r), vec![DriftClass::Licence]);
    let keys = r
        .models
        .first()
        .and_then(|m| m.changes.first())
        .and_then(Change::keys)
        .map(|k| k.items.clone())
        .unwrap_or_default();
    assert_eq!(
        keys,
        vec![KeyChange {
            key: "general.license".into(),
            old: Some("\"apache-2.0\"".into()),
            new: Some("\"Apache-2.0\"".into()),
        }]
    );
    assert!(text(&r).contains("~ general.license: \"apache-2.0\" → \"Apache-2.0\""));
    // When the fact changes too, the key that carries it is not repeated.
    b.license = Some("Apache-2.0".into());
    let r = diff(&side(vec![], vec![a]), &side(vec![], vec![b]));
    assert_eq!(classes(&r), vec![DriftClass::Licence]);
    let keys = r
        .models
        .first()
        .and_then(|m| m.changes.first())
        .and_then(Change::keys)
        .map(|k| k.count);
    assert_eq!(keys, Some(0));
    // A key no class owns is metadata drift.
    let mut c = facts("m", 1);
    c.metadata.insert("general.url".into(), json!("https://x"));
    let r = diff(&side(vec![], vec![facts("m", 1)]), &side(vec![], vec![c]));
    assert_eq!(classes(&r), vec![DriftClass::Metadata]);
}

#[test]
fn tensor_lists_are_counted_and_capped() {
    let t = |name: String, dtype: &str, shape: Vec<u64>| TensorSummary {
        name,
        dtype: dtype.into(),
        shape,
        offset: 0,
        size_bytes: None,
    };
    let a = ModelFacts {
        tensors: (0..10)
            .map(|i| t(format!("keep.{i}"), "F16", vec![4, 4]))
            .collect(),
        ..facts("m", 1)
    };
    let mut b = a.clone();
    b.tensors
        .extend((0..100).map(|i| t(format!("new.{i}"), "F16", vec![4])));
    if let Some(x) = b.tensors.get_mut(0) {
        x.shape = vec![16];
        x.dtype = "Q8_0".into();
    }
    let r = diff(&side(vec![], vec![a]), &side(vec![], vec![b]));
    let tensors = r
        .models
        .first()
        .and_then(|m| m.changes.iter().find(|c| c.class() == DriftClass::Tensors));
    let Some(Change::Tensors {
        added,
        removed,
        reshaped,
        retyped,
    }) = tensors
    else {
        panic!("no tensors change: {r:?}");
    };
    assert_eq!((added.count, added.items.len()), (100, TENSOR_NAMES_MAX));
    assert_eq!(added.items.first().map(String::as_str), Some("new.0"));
    assert!(removed.is_empty());
    assert_eq!(reshaped.items, vec!["keep.0".to_owned()]);
    assert_eq!(retyped.items, vec!["keep.0".to_owned()]);
    assert!(text(&r).contains("100 added (new.0, new.1, new.2, new.3, new.4, …)"));
}

#[test]
fn metadata_values_are_summarised_and_lists_capped() {
    let mut a = facts("m", 1);
    let mut b = facts("m", 1);
    let big: Vec<Value> = (0..250_000).map(|i| json!(i)).collect();
    a.metadata.insert("big".into(), Value::Array(big));
    b.metadata.insert(
        "big".into(),
        json!({"type": "array", "count": 250_001, "sha256": "ab".repeat(32)}),
    );
    b.metadata
        .insert("a_long".into(), json!("x".repeat(10_000)));
    for i in 0..1000 {
        b.metadata.insert(format!("k{i:04}"), json!(i));
    }
    let r = diff(&side(vec![], vec![a]), &side(vec![], vec![b]));
    let Some(Change::Metadata { added, changed, .. }) =
        r.models.first().and_then(|m| m.changes.first())
    else {
        panic!("no metadata change: {r:?}");
    };
    assert_eq!((added.count, added.items.len()), (1001, METADATA_KEYS_MAX));
    let delta = changed
        .items
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("no change"));
    assert_eq!(delta.old, "[250000 items]");
    assert_eq!(delta.new, "[250001 items, sha256 abababababab…]");
    let long = added
        .items
        .iter()
        .find(|kv| kv.key == "a_long")
        .map(|kv| kv.value.chars().count());
    assert!(long.is_some_and(|n| n <= 121), "{long:?}");
    assert!(text(&r).contains("… 951 more not listed"));
}

#[test]
fn summaries_of_small_values() {
    use super::compare::summarise;
    assert_eq!(summarise(&json!([1, "a", true])), "[1, \"a\", true]");
    assert_eq!(summarise(&json!({"a": 1})), "{1 keys}");
    assert_eq!(summarise(&json!(null)), "null");
}

#[test]
fn the_template_diff_is_capped_and_says_so() {
    let mut a = facts("m", 1);
    let mut b = facts("m", 1);
    let old: String = (0..500).map(|i| format!("line {i}\n")).collect();
    let new: String = (0..500).map(|i| format!("LINE {i}\n")).collect();
    a.chat_template_sha256 = Some(Sha256Digest::of(old.as_bytes()));
    b.chat_template_sha256 = Some(Sha256Digest::of(new.as_bytes()));
    a.chat_template = Some(old);
    b.chat_template = Some(new);
    let r = diff(&side(vec![], vec![a]), &side(vec![], vec![b]));
    let Some(Change::ChatTemplate {
        diff,
        diff_truncated,
        ..
    }) = r.models.first().and_then(|m| m.changes.first())
    else {
        panic!("no template change");
    };
    assert_eq!(diff.len(), TEMPLATE_DIFF_MAX_LINES);
    assert!(diff_truncated);
    assert!(text(&r).contains("(diff cut here)"));
}

#[test]
fn text_escapes_control_and_bidi_characters() {
    let a = facts("m", 1);
    let mut b = facts("m", 1);
    b.license = Some("mit\u{202E}\x1b[31m\nfake: line".into());
    let r = diff(&side(vec![], vec![a]), &side(vec![], vec![b]));
    let t = text(&r);
    assert!(!t.contains('\u{202E}') && !t.contains('\x1b'), "{t:?}");
    assert!(t.contains("mit\\u{202e}\\u{1b}[31m\\u{a}fake: line"), "{t}");
    assert_eq!(t.lines().count(), 3, "{t}");
}

#[test]
fn markdown_escapes_untrusted_text_and_fences_the_diff() {
    let mut a = facts("m", 1);
    let mut b = facts("[x](javascript:alert) *b*", 1);
    a.model_path = b.model_path.clone();
    a.chat_template = Some("a\n````\nb".into());
    b.chat_template = Some("a\n`````x\nb".into());
    a.chat_template_sha256 = Some(digest(10));
    b.chat_template_sha256 = Some(digest(11));
    b.license = Some("<script>|@admin".into());
    b.findings = vec![Finding::warning("t.x", "- not a list")];
    let r = diff(&side(vec![], vec![a]), &side(vec![], vec![b]));
    let md = markdown(&r);
    assert!(
        md.contains("\\[x\\]\\(javascript\\:alert\\) \\*b\\*"),
        "{md}"
    );
    assert!(md.contains("\\<script\\>\\|\\@admin"), "{md}");
    assert!(md.contains("  - \\+ warning t\\.x: \\- not a list"), "{md}");
    // Longest backtick run inside is 5: the fence is 6.
    assert!(md.contains("\n``````diff\n"), "{md}");
    assert!(md.contains("\n``````\n"), "{md}");
    assert!(!md.contains("```````"), "{md}");
}

#[test]
fn the_empty_report_is_the_minimal_document() {
    let s = side(vec![file("a", 1)], vec![facts("a", 1)]);
    let r = diff(&s, &s);
    assert!(r.is_empty());
    let v = serde_json::to_value(&r).unwrap_or_default();
    assert_eq!(
        v,
        json!({"schema": SCHEMA, "old": "side", "new": "side", "classes": [], "models": [], "files": []})
    );
    assert_eq!(markdown(&r), "**No drift** from side to side\\.\n");
}

#[test]
fn lbom_style_scan_json_without_lbom_fields_is_read() {
    // l-bom's fields only, some null, l-bom's own header fields, an
    // unknown format name.
    let lbom_less = json!({
        "sbom_version": "1.0", "generated_at": "2026-01-01T00:00:00+00:00",
        "tool_name": "l-bom", "tool_version": "0.1",
        "model_path": "models/a.gguf", "model_filename": "a.gguf",
        "file_size_bytes": 10, "sha256": digest(1).to_hex(), "format": "GGUF",
        "architecture": "llama", "parameter_count": null, "quantization": "Q4_K_M",
        "dtype": null, "context_length": 4096, "vocab_size": 32000,
        "license": "mit", "base_model": null, "training_framework": null,
        "metadata": null, "warnings": []
    });
    let mut other = lbom_less.clone();
    other["model_path"] = json!("models/b.st");
    other["format"] = json!("tensorflow");
    other["sha256"] = Value::Null;
    let bytes = serde_json::to_vec(&json!([lbom_less, other])).unwrap_or_default();
    let s = Side::from_scan_json(&bytes, "old.json");
    let s = s.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.models.len(), 2);
    assert_eq!(s.models.first().map(|m| m.format), Some(Format::Gguf));
    assert_eq!(s.models.get(1).map(|m| m.format), Some(Format::Unknown));
    // Paths are relative to the folder both models share.
    assert_eq!(s.models.get(1).map(|m| m.model_path.as_str()), Some("b.st"));
    assert_eq!(
        s.files,
        vec![FileRecord {
            path: "a.gguf".into(),
            sha256: digest(1),
            size: 10
        }]
    );
}

#[test]
fn scans_of_two_folders_pair_by_relative_path() {
    let scan = |dir: &str, n: u64| {
        let models: Vec<Value> = ["a.gguf", "sub/b.gguf"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"model_path": format!("{dir}/{name}"), "file_size_bytes": 1,
                       "sha256": digest(n + i as u64).to_hex(), "format": "gguf"})
            })
            .collect();
        Side::from_scan_json(&serde_json::to_vec(&models).unwrap_or_default(), dir)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (old, new) = (scan("/srv/old", 1), scan("C:\\new", 1));
    assert_eq!(
        old.files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        vec!["a.gguf", "sub/b.gguf"]
    );
    assert!(diff(&old, &new).is_empty());
    let changed = scan("/srv/new", 5);
    assert_eq!(
        classes(&diff(&old, &changed)),
        vec![DriftClass::FileChanged]
    );
}

#[test]
fn a_long_chat_template_is_cut_on_a_character_boundary_with_a_note() {
    use crate::inspect::facts::{CHAT_TEMPLATE_TEXT_MAX, capped_chat_template};
    let short = "{{ x }}";
    assert_eq!(capped_chat_template(short), short);
    // 'é' is two bytes: the limit falls inside one.
    let long = format!("a{}", "é".repeat(CHAT_TEMPLATE_TEXT_MAX));
    let kept = capped_chat_template(&long);
    let (text, note) = kept
        .split_once("\n[lbom: template cut at ")
        .unwrap_or_default();
    assert_eq!(text.len(), CHAT_TEMPLATE_TEXT_MAX - 1);
    assert!(note.ends_with(&format!(
        "of {} bytes; chat_template_sha256 covers all of it]",
        long.len()
    )));
}

#[test]
fn scan_json_that_is_not_a_scan_is_an_error() {
    assert!(matches!(
        Side::from_scan_json(b"{", "x"),
        Err(Error::Json { .. })
    ));
    assert!(matches!(
        Side::from_scan_json(b"42", "x"),
        Err(Error::NotScan { .. })
    ));
    assert!(matches!(
        Side::from_scan_json(b"[1]", "x"),
        Err(Error::NotScan { .. })
    ));
    let bad_sha = br#"{"model_path":"a","sha256":"zz"}"#;
    assert!(matches!(
        Side::from_scan_json(bad_sha, "x"),
        Err(Error::NotScan { .. })
    ));
    let deep = "[".repeat(100_000);
    assert!(Side::from_scan_json(deep.as_bytes(), "x").is_err());
}

#[test]
fn shard_files_of_an_unhashed_group_sit_beside_the_first_shard() {
    let json = json!([{
        "model_path": "top/dir/m-00001-of-00002.gguf", "file_size_bytes": 3, "sha256": null,
        "shards": [
            {"filename": "m-00001-of-00002.gguf", "file_size_bytes": 1, "sha256": digest(1).to_hex()},
            {"filename": "m-00002-of-00002.gguf", "file_size_bytes": 2, "sha256": digest(2).to_hex()}
        ]
    }, {"model_path": "top/other.gguf", "file_size_bytes": 0, "sha256": null}]);
    let s = Side::from_scan_json(&serde_json::to_vec(&json).unwrap_or_default(), "x");
    let paths: Vec<String> = s
        .map(|s| s.files.into_iter().map(|f| f.path).collect())
        .unwrap_or_default();
    assert_eq!(
        paths,
        vec!["dir/m-00001-of-00002.gguf", "dir/m-00002-of-00002.gguf"]
    );
}

#[test]
fn five_thousand_files_a_side() {
    // 4000 unchanged, 400 changed, 300 renamed, 300 removed, 300 added.
    let mut old = Vec::new();
    let mut new = Vec::new();
    for i in 0..4000u64 {
        old.push(file(&format!("same/{i:05}"), i));
        new.push(file(&format!("same/{i:05}"), i));
    }
    for i in 0..400u64 {
        old.push(file(&format!("changed/{i:05}"), 10_000 + i));
        new.push(file(&format!("changed/{i:05}"), 20_000 + i));
    }
    for i in 0..300u64 {
        old.push(file(&format!("renamed-from/{i:05}"), 30_000 + i));
        new.push(file(&format!("renamed-to/{i:05}"), 30_000 + i));
        old.push(file(&format!("removed/{i:05}"), 40_000 + i));
        new.push(file(&format!("added/{i:05}"), 50_000 + i));
    }
    assert_eq!((old.len(), new.len()), (5000, 5000));
    new.reverse();
    let started = Instant::now();
    let r = diff(&side(old, vec![]), &side(new, vec![]));
    eprintln!("diff of 5000 + 5000 files: {:?}", started.elapsed());
    let count = |c: DriftClass| r.files.iter().filter(|f| f.class() == c).count();
    assert_eq!(count(DriftClass::FileChanged), 400);
    assert_eq!(count(DriftClass::FileRenamed), 300);
    assert_eq!(count(DriftClass::FileRemoved), 300);
    assert_eq!(count(DriftClass::FileAdded), 300);
    assert_eq!(r.files.len(), 1300);
    // Renames pair in path order: renamed-from/00042 → renamed-to/00042.
    assert!(r.files.iter().all(|f| match f {
        FileDrift::FileRenamed {
            old_path, new_path, ..
        } => old_path.strip_prefix("renamed-from/") == new_path.strip_prefix("renamed-to/"),
        _ => true,
    }));
}

fn tensor(name: &str, dtype: &str, shape: &[u64]) -> TensorSummary {
    TensorSummary {
        name: name.into(),
        dtype: dtype.into(),
        shape: shape.to_vec(),
        offset: 0,
        size_bytes: None,
    }
}

fn with_tensors(path: &str, n: u64, tensors: &[(&str, &str, &[u64])]) -> ModelFacts {
    ModelFacts {
        tensors: tensors
            .iter()
            .map(|(name, t, shape)| tensor(name, t, shape))
            .collect(),
        ..facts(path, n)
    }
}

#[test]
fn a_renamed_model_is_compared_beside_an_added_one() {
    let layout: &[(&str, &str, &[u64])] = &[("blk.0.attn_q.weight", "F16", &[32, 32])];
    let other: &[(&str, &str, &[u64])] = &[("blk.0.attn_qkv.weight", "F32", &[8, 24])];
    let old = with_tensors("model.gguf", 1, layout);
    let mut renamed = with_tensors("renamed.gguf", 2, layout);
    renamed.chat_template_sha256 = Some(digest(99));
    let mut extra = with_tensors("extra.gguf", 3, other);
    extra.architecture = Some("gpt2".into());
    // In every order of the lists, and whichever path sorts first, the
    // renamed model is the one compared.
    for new_models in [
        vec![renamed.clone(), extra.clone()],
        vec![extra.clone(), renamed.clone()],
    ] {
        let r = diff(
            &side(vec![file("model.gguf", 1)], vec![old.clone()]),
            &side(
                vec![file("renamed.gguf", 2), file("extra.gguf", 3)],
                new_models,
            ),
        );
        let pairs: Vec<(&str, &str)> = r
            .models
            .iter()
            .map(|m| (m.old_path.as_str(), m.new_path.as_str()))
            .collect();
        assert_eq!(pairs, [("model.gguf", "renamed.gguf")]);
        assert!(r.classes().contains(&DriftClass::ChatTemplate), "{r:?}");
    }
    // Re-quantized and renamed: the layout (names and shapes) still pairs.
    let requant = with_tensors("q8.gguf", 4, &[("blk.0.attn_q.weight", "Q8_0", &[32, 32])]);
    let r = diff(
        &side(vec![], vec![old.clone(), with_tensors("b.gguf", 5, other)]),
        &side(vec![], vec![requant, with_tensors("c.gguf", 5, other)]),
    );
    assert!(r.classes().contains(&DriftClass::Quantization), "{r:?}");
    // Changed beyond recognition: still compared with the model that left.
    let mut stranger = with_tensors("new-name.gguf", 6, other);
    stranger.architecture = Some("gpt2".into());
    stranger.license = Some("mit".into());
    let r = diff(&side(vec![], vec![old]), &side(vec![], vec![stranger]));
    assert!(r.classes().contains(&DriftClass::Licence), "{r:?}");
}

#[test]
fn re_encoded_weights_are_quantization_whatever_the_label_says() {
    let old = with_tensors(
        "m",
        1,
        &[("a.weight", "F16", &[4, 4]), ("norm.weight", "F32", &[4])],
    );
    let mut new = with_tensors(
        "m",
        2,
        &[("a.weight", "Q8_0", &[4, 4]), ("norm.weight", "F32", &[4])],
    );
    new.quantization = old.quantization.clone();
    new.file_type = old.file_type;
    let r = diff(&side(vec![], vec![old.clone()]), &side(vec![], vec![new]));
    let q = r.models.first().and_then(|m| {
        m.changes
            .iter()
            .find(|c| c.class() == DriftClass::Quantization)
    });
    let Some(Change::Quantization {
        weights: Some(w), ..
    }) = q
    else {
        panic!("no quantization change from the weights: {r:?}");
    };
    assert_eq!(w.retyped, 1);
    assert_eq!(
        (w.old_types.clone(), w.new_types.clone()),
        (vec!["F16".to_owned()], vec!["Q8_0".to_owned()])
    );
    assert!(text(&r).contains("weights: 1 tensor(s) retyped; matrix types F16 → Q8_0"));
    // A vector retyped alone is still a re-encoding of a tensor.
    let mut norm = old.clone();
    if let Some(t) = norm.tensors.get_mut(1) {
        t.dtype = "F16".into();
    }
    let r = diff(&side(vec![], vec![old]), &side(vec![], vec![norm]));
    assert!(r.classes().contains(&DriftClass::Quantization));
}

#[test]
fn every_tokenizer_and_template_key_fires_its_class() {
    for (key, class) in [
        ("tokenizer.ggml.pre", DriftClass::Tokenizer),
        ("tokenizer.ggml.bos_token_id", DriftClass::Tokenizer),
        ("tokenizer.ggml.add_space_prefix", DriftClass::Tokenizer),
        ("tokenizer.ggml.precompiled_charsmap", DriftClass::Tokenizer),
        ("tokenizer.huggingface.json", DriftClass::Tokenizer),
        ("tokenizer.chat_template.tool_use", DriftClass::ChatTemplate),
        ("tokenizer.chat_templates", DriftClass::ChatTemplate),
        ("general.license.link", DriftClass::Licence),
        ("general.base_model.0.name", DriftClass::BaseModel),
        ("general.quantization_version", DriftClass::Quantization),
        ("side:special_tokens_map.json", DriftClass::Tokenizer),
        (
            "side:tokenizer_config.json#chat_template",
            DriftClass::ChatTemplate,
        ),
        (
            "side:additional_chat_templates/rag.jinja",
            DriftClass::ChatTemplate,
        ),
        ("side:README.md#license_link", DriftClass::Licence),
        ("side:LICENSE", DriftClass::Licence),
    ] {
        for (a, b) in [(Some("x"), Some("y")), (None, Some("y")), (Some("x"), None)] {
            let mut old = facts("m", 1);
            let mut new = facts("m", 1);
            if let Some(v) = a {
                old.metadata.insert(key.into(), json!(v));
            }
            if let Some(v) = b {
                new.metadata.insert(key.into(), json!(v));
            }
            let r = diff(&side(vec![], vec![old]), &side(vec![], vec![new]));
            assert_eq!(classes(&r), vec![class], "{key} {a:?} → {b:?}");
        }
    }
    // An unread config counts for every class it feeds.
    let mut new = facts("m", 1);
    new.metadata
        .insert("side:config.json#unread".into(), json!("ab"));
    let r = diff(&side(vec![], vec![facts("m", 1)]), &side(vec![], vec![new]));
    for class in [
        DriftClass::Architecture,
        DriftClass::Quantization,
        DriftClass::ContextLength,
        DriftClass::VocabSize,
    ] {
        assert!(r.classes().contains(&class), "{class}: {r:?}");
    }
}

#[test]
fn a_side_file_listed_by_a_class_is_explained() {
    let mut old = facts("model/model.safetensors", 1);
    let mut new = facts("model/model.safetensors", 1);
    old.metadata
        .insert("side:tokenizer.json".into(), json!(digest(7).to_hex()));
    new.metadata
        .insert("side:tokenizer.json".into(), json!(digest(8).to_hex()));
    let files_old = vec![
        file("model/model.safetensors", 1),
        file("model/tokenizer.json", 7),
        file("model/README.md", 3),
    ];
    let files_new = vec![
        file("model/model.safetensors", 1),
        file("model/tokenizer.json", 8),
        file("model/README.md", 4),
    ];
    let r = diff(&side(files_old, vec![old]), &side(files_new, vec![new]));
    // tokenizer.json is what the tokenizer change is about; the README edit
    // is not explained by anything.
    assert_eq!(
        classes(&r),
        vec![DriftClass::Tokenizer, DriftClass::FileChanged]
    );
    assert!(
        matches!(r.files.as_slice(), [FileDrift::FileChanged { path, .. }] if path == "model/README.md")
    );
}

#[test]
fn an_architecture_named_like_a_namespace_hides_no_key() {
    for arch in ["tokenizer", "general", "tokenizer.ggml", "general.license"] {
        for (key, class) in [
            ("tokenizer.ggml.pre", DriftClass::Tokenizer),
            ("general.license.link", DriftClass::Licence),
            ("tokenizer.chat_template.rag", DriftClass::ChatTemplate),
        ] {
            let mut old = facts("m", 1);
            old.architecture = Some(arch.into());
            let mut new = old.clone();
            old.metadata.insert(key.into(), json!("a"));
            new.metadata.insert(key.into(), json!("b"));
            let r = diff(&side(vec![], vec![old]), &side(vec![], vec![new]));
            assert_eq!(classes(&r), vec![class], "architecture {arch}, key {key}");
        }
    }
}
