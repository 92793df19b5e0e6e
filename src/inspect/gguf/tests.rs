//! Tests of the GGUF reader against files built by the test writer.

use proptest::prelude::*;
use serde_json::json;

use super::writer::Writer;
use super::*;
use crate::inspect::facts::Severity;
use crate::io::digest::Hasher;

const TOKENS: usize = 40;

fn tokens() -> Vec<String> {
    (0..TOKENS).map(|i| format!("tok{i}")).collect()
}
fn scores() -> Vec<f32> {
    (0..TOKENS).map(|i| -(i as f32) / 2.0).collect()
}
fn token_types() -> Vec<i32> {
    (0..TOKENS).map(|i| if i < 3 { 3 } else { 1 }).collect()
}
const TEMPLATE: &str = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}";

/// A small but complete model: every key `inspect` reads, mixed tensor types.
fn sample(version: u32, big: bool) -> Writer {
    let mut w = Writer::new(version, big);
    let toks = tokens();
    let toks: Vec<&str> = toks.iter().map(String::as_str).collect();
    w.kv_str("general.architecture", "llama")
        .kv_str("general.name", "Tiny Test")
        .kv_str("general.size_label", "2.8K")
        .kv_str("general.license", "apache-2.0")
        .kv_u32("general.alignment", 32)
        .kv_u32("general.file_type", 15)
        .kv_str(
            "general.base_model.0.repo_url",
            "https://huggingface.co/example/base",
        )
        .kv_u32("llama.context_length", 2048)
        .kv_u32("llama.vocab_size", TOKENS as u32)
        .kv_f32("llama.rope.freq_base", 10000.0)
        .kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5)
        .kv_f64("test.f64", 0.25)
        .kv_bool("tokenizer.ggml.add_bos_token", true)
        .kv_u8("test.u8", 200)
        .kv_i64("test.i64", -5)
        .kv_u64("test.u64", u64::MAX)
        .kv_u16("split.no", 0)
        .kv_u16("split.count", 1)
        .kv_i32("split.tensors.count", 4)
        .kv_str("tokenizer.ggml.model", "llama")
        .kv_strs("tokenizer.ggml.tokens", &toks)
        .kv_f32s("tokenizer.ggml.scores", &scores())
        .kv_i32s("tokenizer.ggml.token_type", &token_types())
        .kv_strs("tokenizer.ggml.merges", &["t o", "to k"])
        .kv_str("tokenizer.chat_template", TEMPLATE);
    // Nested array [[1, 2], [3]] of uint8.
    let inner: Vec<Vec<u8>> = vec![
        w.array(vt::UINT8, &[vec![1], vec![2]]),
        w.array(vt::UINT8, &[vec![3]]),
    ];
    let nested = w.array(vt::ARRAY, &inner);
    w.kv_raw(b"test.nested", vt::ARRAY, &nested);
    w.tensor("token_embd.weight", &[32, TOKENS as u64], 1) // F16
        .tensor("blk.0.attn_q.weight", &[32, 32], 8) // Q8_0
        .tensor("blk.0.ffn_up.weight", &[256, 2], 12) // Q4_K
        .tensor("output_norm.weight", &[32], 0); // F32
    w
}

fn run(bytes: &[u8], name: &str) -> ModelFacts {
    run_with(bytes, bytes.len() as u64, name, &Limits::default())
}

fn run_with(bytes: &[u8], file_len: u64, name: &str, limits: &Limits) -> ModelFacts {
    let mut reader = bytes;
    // Slices never fail with anything but UnexpectedEof, which is a finding.
    let result = inspect(&mut reader, file_len, name, limits);
    assert!(
        result.is_ok(),
        "unexpected I/O error {:?}",
        result.as_ref().err()
    );
    result.unwrap_or_default()
}

fn codes(facts: &ModelFacts) -> Vec<&str> {
    facts.findings.iter().map(|f| f.code.as_str()).collect()
}

fn has(facts: &ModelFacts, code: &str) -> bool {
    facts.findings.iter().any(|f| f.code == code)
}

fn sha(bytes: &[u8]) -> String {
    Sha256Digest::of(bytes).to_hex()
}

// ---- round trips -----------------------------------------------------------

fn check_sample_facts(facts: &ModelFacts, version: u32, big: bool) {
    // Version 1 is read, with the warning that llama.cpp no longer loads it.
    let expected: &[&str] = if version == 1 {
        &["gguf.old_version"]
    } else {
        &[]
    };
    assert_eq!(
        codes(facts),
        expected,
        "v{version} big={big}: {:?}",
        facts.findings
    );
    assert!(
        facts
            .findings
            .iter()
            .all(|f| f.severity == Severity::Warning)
    );
    assert_eq!(facts.warnings.len(), expected.len());
    assert_eq!(facts.format, Format::Gguf);
    assert_eq!(facts.format_version, Some(version));
    assert_eq!(
        facts.endianness.as_deref(),
        Some(if big { "big" } else { "little" })
    );
    assert_eq!(facts.alignment, Some(32));
    assert_eq!(facts.tensor_count, Some(4));
    assert_eq!(facts.architecture.as_deref(), Some("llama"));
    assert_eq!(facts.name.as_deref(), Some("Tiny Test"));
    assert_eq!(facts.size_label.as_deref(), Some("2.8K"));
    assert_eq!(facts.license.as_deref(), Some("apache-2.0"));
    assert_eq!(
        facts.base_model.as_deref(),
        Some("https://huggingface.co/example/base")
    );
    assert_eq!(facts.context_length, Some(2048));
    assert_eq!(facts.vocab_size, Some(TOKENS as u64));
    assert_eq!(facts.file_type, Some(15));
    assert_eq!(facts.quantization.as_deref(), Some("Q4_K_M"));
    // 32*40 F16 + 32*32 Q8_0 + 256*2 Q4_K + 32 F32
    assert_eq!(facts.parameter_count, Some(1280 + 1024 + 512 + 32));
    assert_eq!(facts.dtype.as_deref(), Some("F16"));
    assert_eq!(
        facts.split,
        Some(SplitInfo {
            no: 0,
            count: 1,
            tensors_count: Some(4)
        })
    );
    assert_eq!(
        facts.chat_template_sha256,
        Some(Sha256Digest::of(TEMPLATE.as_bytes()))
    );
    assert!(facts.tokenizer_sha256.is_some());

    let names: Vec<(&str, &str, &[u64], Option<u64>)> = facts
        .tensors
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.dtype.as_str(),
                t.shape.as_slice(),
                t.size_bytes,
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("token_embd.weight", "F16", &[32u64, 40][..], Some(2560)),
            ("blk.0.attn_q.weight", "Q8_0", &[32, 32][..], Some(32 * 34)),
            ("blk.0.ffn_up.weight", "Q4_K", &[256, 2][..], Some(2 * 144)),
            ("output_norm.weight", "F32", &[32][..], Some(128)),
        ]
    );
    let offsets: Vec<u64> = facts.tensors.iter().map(|t| t.offset).collect();
    // Each offset is the previous end rounded up to 32 (already aligned here).
    assert_eq!(offsets, vec![0, 2560, 2560 + 1088, 2560 + 1088 + 288]);
    let stat = |n: &str| facts.tensor_types.get(n).map(|s| (s.tensors, s.parameters));
    assert_eq!(stat("F16"), Some((1, 1280)));
    assert_eq!(stat("Q8_0"), Some((1, 1024)));
    assert_eq!(stat("Q4_K"), Some((1, 512)));
    assert_eq!(stat("F32"), Some((1, 32)));

    let m = &facts.metadata;
    assert_eq!(m.get("general.file_type"), Some(&json!(15)));
    assert_eq!(m.get("llama.rope.freq_base"), Some(&json!(10000.0)));
    assert_eq!(
        m.get("llama.attention.layer_norm_rms_epsilon"),
        Some(&json!(1e-5))
    );
    assert_eq!(m.get("test.f64"), Some(&json!(0.25)));
    assert_eq!(m.get("tokenizer.ggml.add_bos_token"), Some(&json!(true)));
    assert_eq!(m.get("test.u8"), Some(&json!(200)));
    assert_eq!(m.get("test.i64"), Some(&json!(-5)));
    assert_eq!(m.get("test.u64"), Some(&json!(u64::MAX)));
    assert_eq!(m.get("split.tensors.count"), Some(&json!(4)));
    assert_eq!(
        m.get("tokenizer.ggml.merges"),
        Some(&json!(["t o", "to k"]))
    );
    assert_eq!(m.get("test.nested"), Some(&json!([[1, 2], [3]])));
    assert_eq!(m.get("tokenizer.chat_template"), Some(&json!(TEMPLATE)));
    assert_eq!(m.len(), 26);

    // Summaries: digest over the canonical (v3 little-endian) element bytes.
    let mut tok_bytes = Vec::new();
    for t in tokens() {
        tok_bytes.extend((t.len() as u64).to_le_bytes());
        tok_bytes.extend(t.as_bytes());
    }
    let score_bytes: Vec<u8> = scores().iter().flat_map(|s| s.to_le_bytes()).collect();
    assert_eq!(
        m.get("tokenizer.ggml.tokens"),
        Some(
            &json!({"type": "array", "element_type": "string", "count": TOKENS, "sha256": sha(&tok_bytes)})
        )
    );
    assert_eq!(
        m.get("tokenizer.ggml.scores"),
        Some(
            &json!({"type": "array", "element_type": "float32", "count": TOKENS, "sha256": sha(&score_bytes)})
        )
    );
}

#[test]
fn round_trip_every_version_and_byte_order() {
    let mut tokenizer_digests = Vec::new();
    for (version, big) in [(3, false), (3, true), (2, false), (2, true), (1, false)] {
        let bytes = sample(version, big).build();
        let facts = run(&bytes, "tiny-Q4_K_M.gguf");
        check_sample_facts(&facts, version, big);
        assert_eq!(facts.model_filename, "tiny-Q4_K_M.gguf");
        assert_eq!(facts.file_size_bytes, bytes.len() as u64);
        tokenizer_digests.push(facts.tokenizer_sha256);
    }
    // The canonical encoding makes the tokenizer digest independent of the
    // byte order and of the GGUF version.
    assert!(tokenizer_digests.windows(2).all(|w| w.first() == w.get(1)));
}

#[test]
fn summary_digest_equals_sha256_of_the_stored_bytes() {
    // In a v3 little-endian file the canonical bytes are the stored bytes:
    // find the scores array in the file and hash that slice directly.
    let bytes = sample(3, false).build();
    let stored: Vec<u8> = scores().iter().flat_map(|s| s.to_le_bytes()).collect();
    let at = bytes
        .windows(stored.len())
        .position(|w| w == stored.as_slice());
    let slice = at.and_then(|a| bytes.get(a..a + stored.len()));
    assert_eq!(slice.map(sha), Some(sha(&stored)));
    let facts = run(&bytes, "m.gguf");
    let summary = facts
        .metadata
        .get("tokenizer.ggml.scores")
        .and_then(|v| v.get("sha256"));
    assert_eq!(summary, Some(&json!(sha(&stored))));
}

#[test]
fn tokenizer_digest_follows_the_documented_construction() {
    let facts = run(&sample(3, false).build(), "m.gguf");
    let canon_str = |s: &str| {
        [
            (s.len() as u64).to_le_bytes().to_vec(),
            s.as_bytes().to_vec(),
        ]
        .concat()
    };
    let array = |elem: u32, n: usize, items: Vec<u8>| {
        [
            vt::ARRAY.to_le_bytes().to_vec(),
            elem.to_le_bytes().to_vec(),
            (n as u64).to_le_bytes().to_vec(),
            items,
        ]
        .concat()
    };
    let parts: Vec<(&str, Vec<u8>)> = vec![
        (
            "tokenizer.ggml.model",
            [vt::STRING.to_le_bytes().to_vec(), canon_str("llama")].concat(),
        ),
        (
            "tokenizer.ggml.tokens",
            array(
                vt::STRING,
                TOKENS,
                tokens().iter().flat_map(|t| canon_str(t)).collect(),
            ),
        ),
        (
            "tokenizer.ggml.scores",
            array(
                vt::FLOAT32,
                TOKENS,
                scores().iter().flat_map(|s| s.to_le_bytes()).collect(),
            ),
        ),
        (
            "tokenizer.ggml.token_type",
            array(
                vt::INT32,
                TOKENS,
                token_types().iter().flat_map(|t| t.to_le_bytes()).collect(),
            ),
        ),
        (
            "tokenizer.ggml.merges",
            array(
                vt::STRING,
                2,
                [canon_str("t o"), canon_str("to k")].concat(),
            ),
        ),
    ];
    let mut h = Hasher::new();
    h.update(b"lbom-gguf-tokenizer-v1\n");
    for (key, canonical) in parts {
        h.update(&(key.len() as u64).to_le_bytes());
        h.update(key.as_bytes());
        h.update(Sha256Digest::of(&canonical).as_bytes());
    }
    assert_eq!(facts.tokenizer_sha256, Some(h.finish()));
}

#[test]
fn default_alignment_and_no_tokenizer() {
    let mut w = Writer::new(3, false);
    w.kv_str("general.architecture", "llama")
        .tensor("a", &[64], 0);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.alignment, Some(32));
    assert_eq!(facts.tokenizer_sha256, None);
    assert_eq!(facts.chat_template_sha256, None);
    // No general.file_type: derived from the tensors, with an info finding.
    assert_eq!(facts.quantization.as_deref(), Some("F32"));
    assert_eq!(codes(&facts), vec!["gguf.file_type_missing"]);
    assert_eq!(
        facts.findings.first().map(|f| f.severity),
        Some(Severity::Info)
    );
}

#[test]
fn derived_quantization_uses_the_matrices() {
    let mut w = Writer::new(3, false);
    w.tensor("norm", &[4096], 0).tensor("w", &[32, 64], 8);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.quantization.as_deref(), Some("Q8_0"));
    assert_eq!(facts.dtype.as_deref(), Some("F32"));
    assert!(has(&facts, "gguf.file_type_missing"));
}

// ---- truncation ------------------------------------------------------------

#[test]
fn truncation_at_every_offset_is_an_error_finding() {
    for (version, big) in [(3, false), (3, true), (1, false)] {
        let w = sample(version, big);
        let bytes = w.build();
        for cut in 0..bytes.len() {
            let prefix = bytes.get(..cut).unwrap_or_default();
            let facts = run(prefix, "m.gguf");
            assert!(
                has(&facts, "gguf.truncated") || has(&facts, "gguf.tensor_out_of_bounds"),
                "v{version} big={big} cut at {cut}: {:?}",
                codes(&facts)
            );
            assert!(facts.worst_severity() == Some(Severity::Error));
        }
    }
}

#[test]
fn a_stream_shorter_than_its_declared_length_is_truncated() {
    let w = sample(3, false);
    let bytes = w.build();
    for cut in [5, 30, w.header_len() - 1] {
        let prefix = bytes.get(..cut).unwrap_or_default();
        let facts = run_with(prefix, bytes.len() as u64, "m.gguf", &Limits::default());
        assert!(
            has(&facts, "gguf.truncated"),
            "cut {cut}: {:?}",
            codes(&facts)
        );
    }
}

#[test]
fn partial_results_are_kept() {
    let w = sample(3, false);
    let bytes = w.build();
    // Cut inside the tensor infos: metadata and the first tensors survive.
    let facts = run(
        bytes.get(..w.header_len() - 10).unwrap_or_default(),
        "m.gguf",
    );
    assert!(has(&facts, "gguf.truncated"));
    assert_eq!(facts.architecture.as_deref(), Some("llama"));
    assert_eq!(facts.tensors.len(), 3);
    assert_eq!(facts.tensor_count, Some(4));
}

// ---- hostile headers -------------------------------------------------------

#[test]
fn bad_magic_and_versions() {
    let mut w = sample(3, false);
    w.magic = *b"GGML";
    assert_eq!(codes(&run(&w.build(), "m.gguf")), vec!["gguf.bad_magic"]);
    for v in [0u32, 4, 0xFFFF, 0x7FFF_FFFF, u32::MAX] {
        let mut w = sample(3, false);
        w.raw_version = Some(v);
        let facts = run(&w.build(), "m.gguf");
        assert_eq!(
            codes(&facts),
            vec!["gguf.unsupported_version"],
            "version {v}"
        );
    }
    // 0x0004_0000 read little-endian is version 4 written big-endian.
    let mut w = sample(3, true);
    w.raw_version = Some(4);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(codes(&facts), vec!["gguf.unsupported_version"]);
    assert_eq!(facts.endianness, None);
}

#[test]
fn huge_counts_are_rejected_before_looping() {
    for (kv, tensors) in [
        (Some(u64::MAX), None),
        (None, Some(u64::MAX)),
        (Some(1 << 40), None),
        (Some(999_999), None),
        (None, Some(999_999)),
    ] {
        let mut w = sample(3, false);
        w.kv_count_override = kv;
        w.tensor_count_override = tensors;
        let facts = run(&w.build(), "m.gguf");
        let c = codes(&facts);
        assert!(
            c == vec!["gguf.limit_exceeded"] || c == vec!["gguf.truncated"],
            "{kv:?} {tensors:?}: {c:?}"
        );
    }
}

#[test]
fn huge_string_lengths() {
    // Key length far past the end of the file and over the string cap.
    let mut w = Writer::new(3, false);
    w.kv_count_override = Some(1);
    w.data(&u64::MAX.to_le_bytes()).data(&[0; 64]);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(codes(&facts), vec!["gguf.bad_string"]);

    // Within the file but over a (lowered) string cap.
    let mut w = Writer::new(3, false);
    w.kv_str("general.name", &"x".repeat(100));
    let limits = Limits {
        gguf_max_string_bytes: 50,
        ..Limits::default()
    };
    let bytes = w.build();
    let facts = run_with(&bytes, bytes.len() as u64, "m.gguf", &limits);
    assert_eq!(codes(&facts), vec!["gguf.limit_exceeded"]);
}

#[test]
fn huge_array_lengths() {
    for count in [u64::MAX, 200_000_000, 1_000_000] {
        let mut w = Writer::new(3, false);
        let mut value = w.u32(vt::UINT32);
        value.extend(w.u64(count));
        w.kv_raw(b"a", vt::ARRAY, &value);
        let facts = run(&w.build(), "m.gguf");
        let c = codes(&facts);
        assert!(
            c == vec!["gguf.limit_exceeded"] || c == vec!["gguf.truncated"],
            "{count}: {c:?}"
        );
    }
}

#[test]
fn nested_arrays_beyond_the_depth_limit() {
    let mut w = Writer::new(3, false);
    let mut value = w.array(vt::UINT8, &[vec![7]]);
    for _ in 0..5 {
        value = w.array(vt::ARRAY, &[value]);
    }
    w.kv_raw(b"deep", vt::ARRAY, &value); // 6 levels
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(codes(&facts), vec!["gguf.limit_exceeded"]);

    let mut w = Writer::new(3, false);
    let mut value = w.array(vt::UINT8, &[vec![7]]);
    for _ in 0..3 {
        value = w.array(vt::ARRAY, &[value]);
    }
    w.kv_raw(b"deep", vt::ARRAY, &value); // 4 levels: allowed
    let facts = run(&w.build(), "m.gguf");
    assert!(
        facts
            .findings
            .iter()
            .all(|f| f.code == "gguf.file_type_missing"),
        "{:?}",
        codes(&facts)
    );
    assert_eq!(facts.metadata.get("deep"), Some(&json!([[[[7]]]])));
}

#[test]
fn unknown_value_types() {
    let mut w = Writer::new(3, false);
    w.kv_str("general.name", "x")
        .kv_raw(b"bad", 13, &[0; 8])
        .kv_str("after", "y");
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(codes(&facts), vec!["gguf.bad_value_type"]);
    assert_eq!(facts.name.as_deref(), Some("x"));

    let mut w = Writer::new(3, false);
    let mut value = w.u32(99);
    value.extend(w.u64(0));
    w.kv_raw(b"bad_array", vt::ARRAY, &value);
    assert_eq!(
        codes(&run(&w.build(), "m.gguf")),
        vec!["gguf.bad_value_type"]
    );
}

#[test]
fn bad_dims() {
    for (n_dims, dims) in [
        (5u32, vec![1u64, 1, 1, 1, 1]),
        (0, vec![]),
        (2, vec![u64::MAX, 2]),
        (3, vec![1 << 32, 1 << 32, 1 << 32]),
    ] {
        let mut w = Writer::new(3, false);
        w.tensor_info("t", n_dims, &dims, 0, 0).data(&[0; 64]);
        let facts = run(&w.build(), "m.gguf");
        assert!(
            has(&facts, "gguf.bad_dims"),
            "{n_dims} {dims:?}: {:?}",
            codes(&facts)
        );
        assert_eq!(facts.tensors.first().and_then(|t| t.size_bytes), None);
    }
}

#[test]
fn n_dims_past_the_file_is_truncation() {
    let mut w = Writer::new(3, false);
    w.tensor_info("t", u32::MAX, &[], 0, 0);
    assert_eq!(codes(&run(&w.build(), "m.gguf")), vec!["gguf.truncated"]);
}

#[test]
fn tensor_extents_are_checked_against_the_file() {
    // Offset beyond the file.
    let mut w = Writer::new(3, false);
    w.tensor_info("far", 1, &[8], 0, 1 << 40).data(&[0; 32]);
    assert!(has(&run(&w.build(), "m.gguf"), "gguf.tensor_out_of_bounds"));
    // Offset + size overflows.
    let mut w = Writer::new(3, false);
    w.tensor_info("wrap", 1, &[8], 0, u64::MAX - 4)
        .data(&[0; 32]);
    assert!(has(&run(&w.build(), "m.gguf"), "gguf.tensor_out_of_bounds"));
}

#[test]
fn overlap_gap_misalignment_trailing() {
    let mut w = Writer::new(3, false);
    w.tensor_info("a", 1, &[16], 0, 0)
        .tensor_info("b", 1, &[16], 0, 32)
        .data(&[0; 96]);
    assert!(has(&run(&w.build(), "m.gguf"), "gguf.tensors_overlap"));

    let mut w = Writer::new(3, false);
    w.tensor_info("a", 1, &[8], 0, 0)
        .tensor_info("b", 1, &[8], 0, 128)
        .data(&[0; 160]);
    let facts = run(&w.build(), "m.gguf");
    assert!(has(&facts, "gguf.gap"), "{:?}", codes(&facts));
    // gguf.cpp wants each tensor at the previous one's padded end: a gap is
    // refused by the loader, so it is an error.
    assert_eq!(facts.worst_severity(), Some(Severity::Error));
    assert!(!has(&facts, "gguf.tensors_overlap"));

    let mut w = Writer::new(3, false);
    w.tensor_info("a", 1, &[8], 0, 4).data(&[0; 64]);
    assert!(has(&run(&w.build(), "m.gguf"), "gguf.tensor_misaligned"));

    let mut w = sample(3, false);
    w.trailing = vec![0xAB; 100];
    assert_eq!(
        codes(&run(&w.build(), "m.gguf")),
        vec!["gguf.trailing_bytes"]
    );
    // Padding after the last tensor up to the alignment is not trailing data;
    // one byte more is.
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 0).tensor("a", &[5], 0); // 20 bytes
    w.trailing = vec![0; 12];
    assert!(run(&w.build(), "m.gguf").findings.is_empty());
    w.trailing = vec![0; 13];
    assert_eq!(
        codes(&run(&w.build(), "m.gguf")),
        vec!["gguf.trailing_bytes"]
    );
}

#[test]
fn bad_alignment_values() {
    for (ty, value) in [(vt::UINT32, 0u64), (vt::UINT32, 3), (vt::UINT64, 32)] {
        let mut w = Writer::new(3, false);
        let bytes = if ty == vt::UINT32 {
            w.u32(value as u32)
        } else {
            w.u64(value)
        };
        w.kv_raw(b"general.alignment", ty, &bytes)
            .tensor("a", &[8], 0);
        let facts = run(&w.build(), "m.gguf");
        assert!(
            has(&facts, "gguf.bad_alignment"),
            "{ty} {value}: {:?}",
            codes(&facts)
        );
        assert_eq!(facts.alignment, Some(value));
    }
    let mut w = Writer::new(3, false);
    w.alignment = 64;
    w.kv_u32("general.alignment", 64)
        .tensor("a", &[8], 0)
        .tensor("b", &[8], 0);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.alignment, Some(64));
    assert_eq!(facts.tensors.get(1).map(|t| t.offset), Some(64));
    assert_eq!(codes(&facts), vec!["gguf.file_type_missing"]);
}

#[test]
fn unknown_tensor_types_are_errors_but_not_fatal() {
    let mut w = Writer::new(3, false);
    w.tensor_info("mystery", 2, &[32, 2], 200, 0)
        .data(&[0; 64])
        .tensor_info("b", 1, &[8], 0, 64)
        .data(&[0; 32]);
    let facts = run(&w.build(), "m.gguf");
    // gguf.cpp refuses a type outside ggml's enum: an error, and the rest
    // of the header is still described.
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.code == "gguf.unknown_tensor_type" && f.severity == Severity::Error)
    );
    assert_eq!(
        facts
            .tensors
            .first()
            .map(|t| (t.dtype.as_str(), t.size_bytes)),
        Some(("unknown(200)", None))
    );
    assert_eq!(facts.tensors.get(1).map(|t| t.size_bytes), Some(Some(32)));
    assert_eq!(facts.parameter_count, Some(64 + 8));
}

#[test]
fn block_size_mismatch() {
    let mut w = Writer::new(3, false);
    w.tensor_info("q", 2, &[100, 2], 12, 0).data(&[0; 512]);
    assert!(has(&run(&w.build(), "m.gguf"), "gguf.tensor_size_mismatch"));
}

#[test]
fn duplicates() {
    let mut w = Writer::new(3, false);
    w.kv_str("general.name", "first")
        .kv_str("general.name", "second");
    let facts = run(&w.build(), "m.gguf");
    assert!(has(&facts, "gguf.duplicate_key"));
    assert_eq!(facts.name.as_deref(), Some("first"));

    let mut w = Writer::new(3, false);
    w.tensor("t", &[8], 0).tensor("t", &[8], 0);
    assert!(has(&run(&w.build(), "m.gguf"), "gguf.duplicate_tensor"));
}

#[test]
fn findings_of_one_kind_are_capped() {
    let mut w = Writer::new(3, false);
    for i in 0..100 {
        w.tensor_info(&format!("t{i}"), 1, &[8], 300, 0);
    }
    let facts = run(&w.build(), "m.gguf");
    let unknown = facts
        .findings
        .iter()
        .filter(|f| f.code == "gguf.unknown_tensor_type")
        .count();
    assert_eq!(unknown, 33); // 32 listed + one summary
    assert!(facts.warnings.iter().any(|m| m.contains("68 more")));
}

// ---- content checks --------------------------------------------------------

#[test]
fn non_finite_floats_become_strings() {
    let mut w = Writer::new(3, false);
    w.kv_f32("a", f32::NAN)
        .kv_f64("b", f64::INFINITY)
        .kv_f32("c", f32::NEG_INFINITY)
        .kv_f32s("d", &[1.5, f32::NAN]);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.metadata.get("a"), Some(&json!("NaN")));
    assert_eq!(facts.metadata.get("b"), Some(&json!("inf")));
    assert_eq!(facts.metadata.get("c"), Some(&json!("-inf")));
    assert_eq!(facts.metadata.get("d"), Some(&json!([1.5, "NaN"])));
    let n = facts
        .findings
        .iter()
        .filter(|f| f.code == "gguf.non_finite_float" && f.severity == Severity::Info)
        .count();
    assert_eq!(n, 4);
    assert!(serde_json::to_string(&facts).is_ok_and(|s| !s.contains("NaN,")));
}

#[test]
fn tensor_names_of_ggml_max_name_bytes_or_more_are_refused() {
    // gguf.cpp refuses `name.length() >= GGML_MAX_NAME` (64): every length
    // around the limit and far past it.
    for len in [1usize, 62, 63, 64, 65, 255, 4096] {
        let mut w = Writer::new(3, false);
        w.kv_u32("general.file_type", 0)
            .tensor(&"n".repeat(len), &[8], 0);
        let facts = run(&w.build(), "m.gguf");
        let flagged = facts
            .findings
            .iter()
            .any(|f| f.code == "gguf.tensor_name_too_long" && f.severity == Severity::Error);
        assert_eq!(
            flagged,
            len >= 64,
            "name of {len} bytes: {:?}",
            codes(&facts)
        );
    }
}

#[test]
fn q8_1_tensors_are_sized_as_ggml_sizes_them() {
    // Two Q8_1 tensors back to back, each 2 rows of 32 elements: ggml's
    // block_q8_1 is 36 bytes, so the second starts at 72 padded to 96. With
    // gguf-py's 40-byte block the first would end at 80 and "overlap".
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 0)
        .tensor_info("a", 2, &[32, 2], 9, 0)
        .tensor_info("b", 2, &[32, 2], 9, 96)
        .data(&[1; 72])
        .data(&[0; 24])
        .data(&[2; 72]);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(
        facts
            .tensors
            .iter()
            .map(|t| t.size_bytes)
            .collect::<Vec<_>>(),
        vec![Some(72), Some(72)]
    );
    assert!(
        facts.worst_severity() < Some(Severity::Error),
        "{:?}",
        facts.findings
    );
}

#[test]
fn invalid_utf8_is_converted_lossily() {
    let mut w = Writer::new(3, false);
    let value = w.string(b"ab\xffcd");
    w.kv_raw(b"general.name", vt::STRING, &value)
        .kv_raw(b"k\xfe", vt::UINT8, &[1]);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.name.as_deref(), Some("ab\u{fffd}cd"));
    assert!(facts.metadata.contains_key("k\u{fffd}"));
    assert_eq!(
        facts
            .findings
            .iter()
            .filter(|f| f.code == "gguf.invalid_utf8" && f.severity == Severity::Warning)
            .count(),
        2
    );
}

#[test]
fn local_paths_never_become_the_base_model() {
    let mut w = Writer::new(3, false);
    w.kv_str("general.base_model.0.repo_url", "/home/alice/models/llama")
        .kv_str("general.base_model.0.organization", "Meta")
        .kv_str("general.base_model.0.name", "Llama 3");
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.base_model.as_deref(), Some("Meta/Llama 3"));
    assert!(has(&facts, "model.local_path_leak"));

    let mut w = Writer::new(3, false);
    w.kv_str("general.base_model.0.name", "C:\\Users\\bob\\llama");
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.base_model, None);
    assert!(has(&facts, "model.local_path_leak"));
}

#[test]
fn quant_label_checks() {
    // File type Q8_0 but no Q8_0 tensor.
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 7).tensor("w", &[32, 4], 1);
    let facts = run(&w.build(), "model-Q8_0.gguf");
    assert!(has(&facts, "quant.label_mismatch"));
    assert!(!has(&facts, "quant.filename_mismatch"));
    // F16 file type whose dominant type is F32.
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 1)
        .tensor("w", &[32, 4], 0)
        .tensor("n", &[4], 1);
    assert!(has(&run(&w.build(), "m.gguf"), "quant.label_mismatch"));
    // The file name says something else.
    let facts = run(&sample(3, false).build(), "tiny.q8_0.gguf");
    assert_eq!(codes(&facts), vec!["quant.filename_mismatch"]);
    // Unknown file type code.
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 999).tensor("w", &[32, 4], 8);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.file_type, Some(999));
    assert_eq!(facts.quantization.as_deref(), Some("Q8_0"));
    assert!(has(&facts, "quant.label_mismatch"));
}

#[test]
fn mxfp4_moe_expects_mxfp4_only_on_expert_tensors() {
    // What llama.cpp's quantizer writes for a dense model asked for
    // MXFP4_MOE (file type 38): everything Q8_0 (ggml 8), no MXFP4 (39).
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 38)
        .tensor("blk.0.ffn_up.weight", &[32, 4], 8)
        .tensor("output_norm.weight", &[32], 0);
    assert!(!has(&run(&w.build(), "m.gguf"), "quant.label_mismatch"));
    // With expert tensors (ne[2] = experts > 1), MXFP4 must be there.
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 38)
        .tensor("blk.0.ffn_up_exps.weight", &[32, 4, 8], 8);
    assert!(has(&run(&w.build(), "m.gguf"), "quant.label_mismatch"));
}

#[test]
fn size_label_vocab_architecture_and_template_checks() {
    let mut w = sample(3, false);
    w.kv_str("general.size_label", "7B"); // duplicate key: first value kept
    let facts = run(&w.build(), "m.gguf");
    assert!(!has(&facts, "model.size_label_mismatch"));

    let mut w = Writer::new(3, false);
    w.kv_str("general.architecture", "notanarch")
        .kv_str("general.size_label", "7B")
        .kv_u32("notanarch.vocab_size", 41)
        .kv_strs("tokenizer.ggml.tokens", &["a", "b"])
        .kv_str(
            "tokenizer.chat_template",
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        )
        .kv_str("tokenizer.chat_template.tool_use", "{{ messages }}")
        .tensor("token_embd.weight", &[8, 40], 0);
    let facts = run(&w.build(), "m.gguf");
    for code in [
        "model.unknown_architecture",
        "model.size_label_mismatch",
        "model.vocab_mismatch",
        "template.code_execution",
    ] {
        assert!(has(&facts, code), "{code}: {:?}", codes(&facts));
    }
    assert_eq!(
        facts
            .findings
            .iter()
            .filter(|f| f.code == "template.code_execution")
            .count(),
        1
    );
    assert_eq!(facts.vocab_size, Some(41));
}

/// A payload at the end of a multi-megabyte named template is judged (the
/// templates have their own budget, `Limits::template_max_bytes`), and the
/// default template's bytes still give its digest; past the budget the
/// header is refused.
#[test]
fn a_payload_at_the_end_of_a_multi_megabyte_named_template_is_judged() {
    let big = format!(
        "{}{{{{ cycler.__init__.__globals__.os.popen('id').read() }}}}",
        "x".repeat(5 << 20)
    );
    let mut w = sample(3, false);
    // `sample` carries TEMPLATE as tokenizer.chat_template.
    w.kv_str("tokenizer.chat_template.rag", &big);
    let facts = run(&w.build(), "m.gguf");
    let found: Vec<&str> = facts
        .findings
        .iter()
        .filter(|f| f.code == "template.code_execution")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(found.len(), 1, "{:?}", codes(&facts));
    assert!(
        found
            .iter()
            .all(|m| m.contains("tokenizer.chat_template.rag"))
    );
    assert!(has(&facts, "template.very_long"));
    assert!(!has(&facts, "gguf.limit_exceeded"), "{:?}", codes(&facts));
    assert_eq!(
        facts.chat_template_sha256,
        Some(Sha256Digest::of(TEMPLATE.as_bytes()))
    );

    let mut w = sample(3, false);
    w.kv_str("tokenizer.chat_template.d", &big)
        .kv_str("tokenizer.chat_template.a", &big)
        .kv_str("tokenizer.chat_template.b", &big)
        .kv_str("tokenizer.chat_template.c", &big);
    let facts = run(&w.build(), "m.gguf");
    assert!(has(&facts, "gguf.limit_exceeded"), "{:?}", codes(&facts));
}

#[test]
fn bool_bytes_other_than_zero_and_one() {
    let mut w = Writer::new(3, false);
    w.kv_raw(b"b", vt::BOOL, &[7]);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.metadata.get("b"), Some(&json!(true)));
    assert!(has(&facts, "gguf.bad_bool"));
}

#[test]
fn magic_sniffing() {
    assert!(is_gguf_magic(b"GGUF\x03\0\0\0"));
    assert!(is_gguf_magic(b"GGUF"));
    assert!(!is_gguf_magic(b"GGU"));
    assert!(!is_gguf_magic(b"GGML...."));
    assert!(!is_gguf_magic(b""));
}

#[test]
fn large_vocabulary_is_summarised_not_listed() {
    let toks: Vec<String> = (0..20_000).map(|i| format!("token-{i}")).collect();
    let refs: Vec<&str> = toks.iter().map(String::as_str).collect();
    let mut w = Writer::new(3, false);
    w.kv_strs("tokenizer.ggml.tokens", &refs)
        .tensor("a", &[8], 0);
    let facts = run(&w.build(), "m.gguf");
    assert_eq!(facts.vocab_size, Some(20_000));
    let summary = facts.metadata.get("tokenizer.ggml.tokens");
    assert_eq!(summary.and_then(|s| s.get("count")), Some(&json!(20_000)));
    assert!(serde_json::to_string(&facts).is_ok_and(|s| s.len() < 10_000));
}

// ---- property tests --------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let facts = run(&bytes, "m.gguf");
        prop_assert!(!facts.findings.is_empty());
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_preamble_never_panic(
        version in 1u32..4,
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend(version.to_le_bytes());
        bytes.extend(tail);
        let _facts = run(&bytes, "m.gguf");
    }

    #[test]
    fn mutated_valid_files_never_panic(
        version in prop_oneof![Just(1u32), Just(2), Just(3)],
        big in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = sample(version, big && version > 1).build();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            if let Some(b) = bytes.get_mut(i) {
                *b = value;
            }
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let facts = run(&bytes, "m.gguf");
        prop_assert_eq!(facts.warnings.len(), facts.findings.len());
    }
}

// ---- real files ------------------------------------------------------------

/// Inspect real files: `LBOM_GGUF_PATHS=a.gguf:b.gguf cargo test --release
/// --lib inspect::gguf::tests::real_files -- --ignored --nocapture`.
#[test]
#[ignore = "needs LBOM_GGUF_PATHS"]
fn real_files() -> std::io::Result<()> {
    let paths = std::env::var("LBOM_GGUF_PATHS").unwrap_or_default();
    for path in paths.split(':').filter(|p| !p.is_empty()) {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let name = std::path::Path::new(path)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let start = std::time::Instant::now();
        let facts = inspect(&mut reader, len, name, &Limits::default())?;
        let elapsed = start.elapsed();
        println!("{path}: header parsed in {elapsed:?}");
        println!("{}", serde_json::to_string(&facts).unwrap_or_default());
    }
    Ok(())
}

#[test]
fn split_shards_skip_whole_model_checks() {
    // A later shard: split keys only, a part of the tensors.
    let mut w = Writer::new(3, false);
    w.kv_u16("split.no", 1)
        .kv_u16("split.count", 3)
        .kv_i32("split.tensors.count", 30)
        .tensor("w", &[32, 4], 8);
    let facts = run(&w.build(), "m-00002-of-00003.gguf");
    assert_eq!(
        facts.split,
        Some(SplitInfo {
            no: 1,
            count: 3,
            tensors_count: Some(30)
        })
    );
    assert!(facts.findings.is_empty(), "{:?}", facts.findings);
    // The first shard: labels for the whole model, tensors for a part.
    let mut w = Writer::new(3, false);
    w.kv_str("general.size_label", "7B")
        .kv_u32("general.file_type", 15)
        .kv_u16("split.no", 0)
        .kv_u16("split.count", 3)
        .tensor("w", &[32, 4], 8);
    let facts = run(&w.build(), "m-00001-of-00003.gguf");
    assert!(facts.findings.is_empty(), "{:?}", facts.findings);
}

#[test]
fn long_fixed_size_arrays_are_hashed_in_blocks_in_either_byte_order() {
    // 50,000 floats = 200,000 bytes: several 64 KiB blocks.
    let values: Vec<f32> = (0..50_000).map(|i| i as f32 * 0.5).collect();
    let expected = sha(&values
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect::<Vec<u8>>());
    for big in [false, true] {
        let mut w = Writer::new(3, big);
        w.kv_f32s("big", &values).kv_str("after", "still read");
        let facts = run(&w.build(), "m.gguf");
        let summary = facts.metadata.get("big");
        assert_eq!(
            summary.and_then(|s| s.get("sha256")),
            Some(&json!(expected)),
            "big={big}"
        );
        assert_eq!(facts.metadata.get("after"), Some(&json!("still read")));
    }
    // A summarised array is hashed bit for bit: a NaN in it converts nothing.
    let mut with_nan = values.clone();
    with_nan.push(f32::NAN);
    let mut w = Writer::new(3, false);
    w.kv_f32s("big", &with_nan);
    assert!(!has(&run(&w.build(), "m.gguf"), "gguf.non_finite_float"));
}

#[test]
fn lowered_limits_are_enforced() {
    let bytes = sample(3, false).build();
    let len = bytes.len() as u64;
    let cases = [
        Limits {
            gguf_max_header_bytes: 500,
            ..Limits::default()
        },
        Limits {
            gguf_max_kv_count: 3,
            ..Limits::default()
        },
        Limits {
            gguf_max_tensor_count: 3,
            ..Limits::default()
        },
        Limits {
            gguf_max_array_len: 39,
            ..Limits::default()
        },
        Limits {
            gguf_max_array_depth: 1,
            ..Limits::default()
        },
    ];
    for limits in cases {
        let facts = run_with(&bytes, len, "m.gguf", &limits);
        assert_eq!(codes(&facts), vec!["gguf.limit_exceeded"], "{limits:?}");
    }
    // A lower inline threshold summarises the merges too.
    let limits = Limits {
        metadata_array_inline_max: 1,
        ..Limits::default()
    };
    let facts = run_with(&bytes, len, "m.gguf", &limits);
    let merges = facts.metadata.get("tokenizer.ggml.merges");
    assert_eq!(merges.and_then(|m| m.get("count")), Some(&json!(2)));
    assert_eq!(
        facts
            .metadata
            .get("test.nested")
            .and_then(|m| m.get("element_type")),
        Some(&json!("array"))
    );
}

/// What a header makes the parser keep is bounded, whatever its counts and
/// lengths: a string longer than the inline limit is summarised (length and
/// SHA-256 of its bytes) and streamed, never held whole, and the kept keys,
/// strings and tensor names together stop at `header_max_kept_bytes`.
#[test]
fn what_a_header_makes_the_parser_keep_is_bounded() {
    let long = "x".repeat(100_000);
    let mut w = Writer::new(3, false);
    w.kv_str("general.name", "n").kv_str("general.long", &long);
    let facts = run(&w.build(), "m.gguf");
    let worst = |f: &ModelFacts| f.worst_severity().unwrap_or(Severity::Info);
    assert_eq!(worst(&facts), Severity::Info, "{:?}", facts.findings);
    let digest = Sha256Digest::of(long.as_bytes()).to_hex();
    assert_eq!(
        facts.metadata.get("general.long"),
        Some(&json!({"type": "string", "bytes": 100_000, "sha256": digest}))
    );
    assert_eq!(facts.name.as_deref(), Some("n"));
    // The same string as a token (never listed) costs nothing to keep, and
    // the tokenizer digest still covers its bytes.
    let mut a = Writer::new(3, false);
    a.kv_strs("tokenizer.ggml.tokens", &[long.as_str(), "b"]);
    let mut b = Writer::new(3, false);
    b.kv_strs("tokenizer.ggml.tokens", &[&long[1..], "b"]);
    let (fa, fb) = (run(&a.build(), "m.gguf"), run(&b.build(), "m.gguf"));
    assert_eq!(worst(&fa), Severity::Info, "{:?}", fa.findings);
    assert_ne!(fa.tokenizer_sha256, fb.tokenizer_sha256);
    // Many short keys, each within every cap, past the kept-bytes budget.
    let limits = Limits {
        header_max_kept_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut w = Writer::new(3, false);
    for i in 0..2_000 {
        w.kv_u32(&format!("k{i:05}"), 1);
    }
    let bytes = w.build();
    let facts = run_with(&bytes, bytes.len() as u64, "m.gguf", &limits);
    assert_eq!(codes(&facts), vec!["gguf.limit_exceeded"]);
    assert!(facts.metadata.len() < 2_000);
}

// ---- bytes no tensor claims (docs/findings.md) -------------------------------

/// `posix.system("echo")` at protocol 2, as CPython writes it.
const HIDDEN_PICKLE: &[u8] =
    b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.";

/// A GGUF with `payload` in each place no tensor claims: the padding before
/// the data section, a gap between tensors, after the last tensor, and as
/// the bytes of a tensor of unknown type.
fn with_hidden(payload: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    // Padding before the data section (alignment 4096).
    let mut w = Writer::new(3, false);
    w.alignment = 4096;
    w.kv_u32("general.alignment", 4096)
        .kv_u32("general.file_type", 0)
        .tensor("a", &[8], 0);
    let mut bytes = w.build();
    let at = w.header_len() + 7;
    if let Some(slot) = bytes.get_mut(at..at + payload.len()) {
        slot.copy_from_slice(payload);
    }
    out.push(("alignment padding", bytes));
    // A gap between two tensors (itself an error: llama.cpp refuses it).
    let mut w = Writer::new(3, false);
    let mut gap = payload.to_vec();
    gap.resize(256 - 32, 0);
    w.kv_u32("general.file_type", 0)
        .tensor_info("a", 1, &[8], 0, 0)
        .tensor_info("b", 1, &[8], 0, 256)
        .data(&[1; 32])
        .data(&gap)
        .data(&[2; 32]);
    out.push(("gap", w.build()));
    // After the last tensor.
    let mut w = Writer::new(3, false);
    w.kv_u32("general.file_type", 0).tensor("a", &[8], 0);
    w.trailing = payload.to_vec();
    out.push(("tail", w.build()));
    // The bytes of a tensor of unknown type.
    let mut w = Writer::new(3, false);
    let mut hidden = payload.to_vec();
    hidden.resize(hidden.len().div_ceil(32) * 32, 0);
    w.kv_u32("general.file_type", 0)
        .tensor_info("mystery", 1, &[hidden.len() as u64], 200, 0)
        .tensor_info("b", 1, &[8], 0, hidden.len() as u64)
        .data(&hidden)
        .data(&[2; 32]);
    out.push(("unknown-type tensor", w.build()));
    out
}

/// Every way `inspect_reader` reads: hashing the stream, not hashing with
/// a second handle to seek, not hashing without one.
fn every_read(bytes: &[u8]) -> Vec<ModelFacts> {
    let mut out = Vec::new();
    for (hash, seek) in [(true, false), (false, true), (false, false)] {
        let mut cursor = std::io::Cursor::new(bytes);
        let random: Option<&mut dyn crate::inspect::SeekRead> =
            if seek { Some(&mut cursor) } else { None };
        let options = crate::inspect::ScanOptions {
            hash,
            jobs: Some(1),
        };
        match crate::inspect::inspect_reader(
            bytes,
            bytes.len() as u64,
            "m.gguf",
            random,
            &options,
            &Limits::default(),
            &mut |_| {},
        ) {
            Ok(facts) => out.push(facts),
            Err(e) => unreachable!("in-memory reads cannot fail: {e}"),
        }
    }
    out
}

#[test]
fn content_hidden_where_no_tensor_claims_is_an_error_wherever_it_is() {
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x00\x00archive/data.pkl".to_vec();
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        ("pickle", HIDDEN_PICKLE.to_vec()),
        (
            "pickle after junk",
            [&b"\x01\x02junk"[..], HIDDEN_PICKLE].concat(),
        ),
        ("zip", zip),
        ("elf", b"\x7fELF\x02\x01\x01\x00".to_vec()),
        ("gguf", b"GGUF\x03\x00\x00\x00".to_vec()),
        ("7z", b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec()),
    ];
    for (what, payload) in &payloads {
        for (place, bytes) in with_hidden(payload) {
            for facts in every_read(&bytes) {
                assert!(
                    facts
                        .findings
                        .iter()
                        .any(|f| f.code == "gguf.polyglot" && f.severity == Severity::Error),
                    "{what} in the {place}: {:?}",
                    facts.findings
                );
            }
        }
        // The same bytes inside a tensor's data are weights: never judged.
        let mut w = Writer::new(3, false);
        let mut data = payload.clone();
        data.resize(64, 0);
        w.kv_u32("general.file_type", 0)
            .tensor_info("t", 1, &[16], 0, 0)
            .data(&data);
        for facts in every_read(&w.build()) {
            assert!(
                facts.findings.is_empty(),
                "{what} as weights: {:?}",
                facts.findings
            );
        }
    }
    // Zeros in the same places hold nothing (the gap and the unknown type
    // are errors of their own, but not polyglots).
    for (place, bytes) in with_hidden(&[0; 40]) {
        for facts in every_read(&bytes) {
            assert!(
                !facts.findings.iter().any(|f| f.code == "gguf.polyglot"),
                "zeros in the {place}: {:?}",
                facts.findings
            );
        }
    }
}
