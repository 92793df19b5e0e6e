use super::*;
use crate::inspect::Severity;
use proptest::prelude::*;

/// A file: 8-byte length, `header` bytes as given, then `data_len` zero bytes.
fn file(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}

fn run(bytes: &[u8]) -> ModelFacts {
    run_with(bytes, &Limits::default())
}

fn run_with(bytes: &[u8], limits: &Limits) -> ModelFacts {
    let mut reader = bytes;
    match inspect(&mut reader, bytes.len() as u64, "m.safetensors", limits) {
        Ok(facts) => facts,
        Err(e) => unreachable!("in-memory reads cannot fail: {e}"),
    }
}

fn codes(facts: &ModelFacts) -> Vec<&str> {
    facts.findings.iter().map(|f| f.code.as_str()).collect()
}

/// Written by the Python `safetensors` 0.8.0 package (`safetensors.numpy.save`
/// of an F16 [2,3] tensor "a" and an I32 [3] tensor "b", metadata format=pt).
const UPSTREAM_FILE: &[u8] = b"\x90\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]},\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[12,24]}} \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00<\x00@\x00B\x00D\x00E";

#[test]
fn upstream_written_file_has_no_findings_and_full_facts() {
    let facts = run(UPSTREAM_FILE);
    assert!(facts.findings.is_empty(), "{:?}", facts.findings);
    assert_eq!(facts.format, Format::Safetensors);
    assert_eq!(facts.tensor_count, Some(2));
    assert_eq!(facts.parameter_count, Some(9));
    assert_eq!(facts.dtype.as_deref(), Some("mixed"));
    assert_eq!(facts.quantization.as_deref(), Some("F16"));
    assert_eq!(facts.training_framework.as_deref(), Some("pytorch"));
    assert_eq!(
        facts.metadata.get("format"),
        Some(&Value::String("pt".into()))
    );
    let names: Vec<&str> = facts.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["b", "a"], "tensors are listed in offset order");
    assert_eq!(
        facts
            .tensors
            .get(1)
            .map(|t| (t.offset, t.size_bytes, t.shape.clone())),
        Some((12, Some(12), vec![2, 3]))
    );
    assert_eq!(
        facts.tensor_types.get("I32"),
        Some(&TensorTypeStat {
            tensors: 1,
            parameters: 3
        })
    );
    assert!(looks_like_safetensors(
        UPSTREAM_FILE,
        UPSTREAM_FILE.len() as u64
    ));
}

#[test]
fn empty_header_without_data_is_valid() {
    let facts = run(&file("{}", 0));
    assert!(facts.findings.is_empty());
    assert_eq!(facts.tensor_count, Some(0));
    assert_eq!(facts.parameter_count, Some(0));
    assert_eq!(facts.quantization, None);
}

#[test]
fn every_known_dtype_is_accepted_with_its_bit_size() {
    for &(dtype, bits, _) in DTYPES {
        // 16 elements fill whole bytes for every bit size (4, 6, 8, …).
        let bytes = 16 * bits / 8;
        let header =
            format!(r#"{{"t":{{"dtype":"{dtype}","shape":[4,4],"data_offsets":[0,{bytes}]}}}}"#);
        let facts = run(&file(&header, bytes as usize));
        assert!(facts.findings.is_empty(), "{dtype}: {:?}", facts.findings);
        assert_eq!(
            facts.tensors.first().and_then(|t| t.size_bytes),
            Some(bytes)
        );
    }
}

#[test]
fn sub_byte_total_must_fill_whole_bytes() {
    // 3 F4 elements = 12 bits: upstream MisalignedSlice.
    let facts = run(&file(
        r#"{"t":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
        2,
    ));
    assert_eq!(codes(&facts), ["safetensors.size_mismatch"]);
    // 4 F6 elements = 24 bits = 3 bytes.
    let facts = run(&file(
        r#"{"t":{"dtype":"F6_E3M2","shape":[4],"data_offsets":[0,3]}}"#,
        3,
    ));
    assert!(facts.findings.is_empty(), "{:?}", facts.findings);
}

#[test]
fn scalar_and_zero_sized_tensors() {
    let header = r#"{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]},"y":{"dtype":"BF16","shape":[0],"data_offsets":[4,4]}}"#;
    let facts = run(&file(header, 4));
    assert!(facts.findings.is_empty(), "{:?}", facts.findings);
    assert_eq!(facts.parameter_count, Some(1));
    assert_eq!(facts.quantization.as_deref(), Some("mixed"));
    // l-bom's dtype: several dtypes are `mixed`.
    assert_eq!(facts.dtype.as_deref(), Some("mixed"));
}

#[test]
fn quantization_ignores_integer_tensors_when_a_float_exists() {
    let header = r#"{"q":{"dtype":"I32","shape":[4],"data_offsets":[0,16]},"s":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]}}"#;
    let facts = run(&file(header, 20));
    assert_eq!(facts.quantization.as_deref(), Some("BF16"));
    assert_eq!(facts.dtype.as_deref(), Some("mixed"));
    let one = r#"{"q":{"dtype":"I32","shape":[4],"data_offsets":[0,16]}}"#;
    assert_eq!(run(&file(one, 16)).dtype.as_deref(), Some("I32"));
    let header = r#"{"q":{"dtype":"I8","shape":[4],"data_offsets":[0,4]},"s":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}"#;
    assert_eq!(run(&file(header, 6)).quantization.as_deref(), Some("mixed"));
}

#[test]
fn framework_names() {
    for (written, expected) in [
        ("pt", "pytorch"),
        ("tf", "tensorflow"),
        ("flax", "flax"),
        ("mlx", "mlx"),
        ("np", "numpy"),
        ("numpy", "numpy"),
        ("paddle", "paddle"),
    ] {
        let header = format!(r#"{{"__metadata__":{{"format":"{written}"}}}}"#);
        assert_eq!(
            run(&file(&header, 0)).training_framework.as_deref(),
            Some(expected)
        );
    }
}

#[test]
fn short_files_are_truncated() {
    for len in 0..8 {
        assert_eq!(
            codes(&run(&vec![0u8; len])),
            ["safetensors.truncated"],
            "length {len}"
        );
    }
    let mut bytes = file(
        r#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        4,
    );
    // Cut inside the header, then inside the data.
    bytes.truncate(20);
    assert_eq!(codes(&run(&bytes)), ["safetensors.truncated"]);
    let facts = run(&file(
        r#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        3,
    ));
    assert_eq!(codes(&facts), ["safetensors.truncated"]);
}

#[test]
fn reader_shorter_than_declared_length_is_truncated_not_an_error() {
    let bytes = file("{}", 0);
    let mut reader = bytes.get(..9).unwrap_or_default();
    let facts = inspect(&mut reader, bytes.len() as u64, "m", &Limits::default());
    assert!(facts.is_ok_and(|f| codes(&f) == ["safetensors.truncated"]));
}

#[test]
fn header_length_limits() {
    let mut bytes = (UPSTREAM_MAX_HEADER_BYTES + 1).to_le_bytes().to_vec();
    bytes.push(b'{');
    assert_eq!(codes(&run(&bytes)), ["safetensors.header_too_large"]);
    assert_eq!(
        codes(&run(&u64::MAX.to_le_bytes())),
        ["safetensors.header_too_large"]
    );
    // Within the rule but beyond the file: never allocated, reported as truncated.
    let bytes = 50_000_000u64.to_le_bytes();
    assert_eq!(codes(&run(&bytes)), ["safetensors.truncated"]);
    // A stricter configured limit applies too.
    let limits = Limits {
        safetensors_max_header_bytes: 4,
        ..Limits::default()
    };
    assert_eq!(
        codes(&run_with(&file(r#"{"a":1}"#, 0), &limits)),
        ["safetensors.header_too_large"]
    );
}

#[test]
fn header_must_be_utf8_json_object() {
    let mut bytes = 4u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{\xff}\x20");
    assert_eq!(codes(&run(&bytes)), ["safetensors.invalid_json"]);
    assert_eq!(codes(&run(&file("[1,2]", 0))), ["safetensors.invalid_json"]);
    assert_eq!(codes(&run(&file("{", 0))), ["safetensors.invalid_json"]);
    assert_eq!(
        codes(&run(&file("{}\0\0\0\0\0\0", 0))),
        ["safetensors.invalid_json"]
    );
    assert_eq!(codes(&run(&file("{}x", 0))), ["safetensors.invalid_json"]);
    // Space padding is what upstream writes.
    assert!(run(&file("{}      ", 0)).findings.is_empty());
}

#[test]
fn duplicate_keys_anywhere_are_errors() {
    let tensor = r#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
    assert_eq!(
        codes(&run(&file(&format!(r#"{{"t":{tensor},"t":{tensor}}}"#), 4))),
        ["safetensors.duplicate_key"]
    );
    let header = r#"{"__metadata__":{"a":"1","a":"2"}}"#;
    let facts = run(&file(header, 0));
    assert_eq!(codes(&facts), ["safetensors.duplicate_key"]);
    // What the safetensors crate and Python's json read: the last value.
    assert_eq!(facts.metadata.get("a"), Some(&serde_json::json!("2")));
    let header = r#"{"t":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}"#;
    let facts = run(&file(header, 4));
    // Described with the last dtype, whose size then disagrees.
    assert_eq!(
        codes(&facts),
        ["safetensors.duplicate_key", "safetensors.size_mismatch"]
    );
    assert_eq!(facts.tensors.first().map(|t| t.dtype.as_str()), Some("F16"));
}

#[test]
fn metadata_must_map_strings_to_strings() {
    assert!(
        run(&file(r#"{"__metadata__":null}"#, 0))
            .findings
            .is_empty()
    );
    assert_eq!(
        codes(&run(&file(r#"{"__metadata__":{"a":1}}"#, 0))),
        ["safetensors.bad_metadata"]
    );
    assert_eq!(
        codes(&run(&file(r#"{"__metadata__":{"a":null}}"#, 0))),
        ["safetensors.bad_metadata"]
    );
    assert_eq!(
        codes(&run(&file(r#"{"__metadata__":"x"}"#, 0))),
        ["safetensors.bad_metadata"]
    );
    assert_eq!(
        codes(&run(&file(r#"{"__metadata__":{"a":{"b":"c"}}}"#, 0))),
        ["safetensors.bad_metadata"]
    );
}

#[test]
fn tensor_entries_must_be_well_formed() {
    let cases = [
        (
            r#"{"t":[ "F32", [1], [0,4] ]}"#,
            "safetensors.bad_tensor_info",
        ),
        (
            r#"{"t":{"shape":[1],"data_offsets":[0,4]}}"#,
            "safetensors.bad_tensor_info",
        ),
        (
            r#"{"t":{"dtype":"F32","data_offsets":[0,4]}}"#,
            "safetensors.bad_tensor_info",
        ),
        (
            r#"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            "safetensors.bad_tensor_info",
        ),
        (
            r#"{"t":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
            "safetensors.bad_tensor_info",
        ),
        (
            r#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            "safetensors.bad_offsets",
        ),
        (
            r#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
            "safetensors.bad_offsets",
        ),
        (
            r#"{"t":{"dtype":"F32","shape":[1]}}"#,
            "safetensors.bad_offsets",
        ),
        (
            r#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            "safetensors.bad_offsets",
        ),
        (
            r#"{"t":{"dtype":"Q4_0","shape":[1],"data_offsets":[0,4]}}"#,
            "safetensors.unknown_dtype",
        ),
        (
            r#"{"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}"#,
            "safetensors.unknown_dtype",
        ),
    ];
    for (header, code) in cases {
        let facts = run(&file(header, 4));
        assert!(
            codes(&facts).contains(&code),
            "{header}: {:?}",
            facts.findings
        );
        assert!(
            facts.findings.iter().all(|f| f.severity == Severity::Error),
            "{header}"
        );
    }
}

#[test]
fn unknown_tensor_fields_are_warnings() {
    let header = r#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":"hidden"}}"#;
    let facts = run(&file(header, 4));
    assert_eq!(codes(&facts), ["safetensors.unknown_field"]);
    assert_eq!(facts.worst_severity(), Some(Severity::Warning));
}

#[test]
fn size_must_match_dtype_times_shape() {
    let facts = run(&file(
        r#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
        4,
    ));
    assert_eq!(codes(&facts), ["safetensors.size_mismatch"]);
}

#[test]
fn overflowing_shapes_are_reported() {
    let header = r#"{"t":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,4]}}"#;
    assert!(codes(&run(&file(header, 4))).contains(&"safetensors.overflow"));
    // Fits in elements, overflows in bits.
    let header = r#"{"t":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,4]}}"#;
    assert!(codes(&run(&file(header, 4))).contains(&"safetensors.overflow"));
    // Offsets near u64::MAX never wrap.
    let header = r#"{"t":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]}}"#;
    let facts = run(&file(header, 1));
    assert!(codes(&facts).contains(&"safetensors.offsets_not_covering"));
    assert!(codes(&facts).contains(&"safetensors.truncated"));
}

#[test]
fn layout_gaps_overlaps_and_coverage() {
    let t = |name: &str, b: u64, e: u64| {
        format!(
            r#""{name}":{{"dtype":"U8","shape":[{}],"data_offsets":[{b},{e}]}}"#,
            e - b
        )
    };
    let facts = run(&file(&format!("{{{},{}}}", t("a", 0, 4), t("b", 6, 8)), 8));
    assert_eq!(codes(&facts), ["safetensors.offsets_gap"]);
    let facts = run(&file(&format!("{{{},{}}}", t("a", 0, 4), t("b", 2, 6)), 6));
    assert_eq!(codes(&facts), ["safetensors.offsets_overlap"]);
    let facts = run(&file(&format!("{{{}}}", t("a", 2, 4)), 4));
    assert_eq!(codes(&facts), ["safetensors.offsets_not_covering"]);
    let facts = run(&file(&format!("{{{}}}", t("a", 0, 4)), 5));
    assert_eq!(codes(&facts), ["safetensors.trailing_bytes"]);
    assert_eq!(facts.worst_severity(), Some(Severity::Error));
    // Header order does not matter: sorted by offsets as upstream does.
    let facts = run(&file(&format!("{{{},{}}}", t("b", 4, 8), t("a", 0, 4)), 8));
    assert!(facts.findings.is_empty(), "{:?}", facts.findings);
    // Data but no tensors.
    assert_eq!(codes(&run(&file("{}", 3))), ["safetensors.trailing_bytes"]);
}

#[test]
fn many_bad_tensors_give_a_bounded_report() {
    let entries: Vec<String> = (0..100)
        .map(|i| {
            format!(
                r#""t{i}":{{"dtype":"XX","shape":[1],"data_offsets":[{i},{}]}}"#,
                i + 1
            )
        })
        .collect();
    let facts = run(&file(&format!("{{{}}}", entries.join(",")), 100));
    let unknown = facts
        .findings
        .iter()
        .filter(|f| f.code == "safetensors.unknown_dtype")
        .count();
    assert_eq!(unknown as u64, MAX_FINDINGS_PER_CODE + 1);
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.message.starts_with("84 more"))
    );
    assert_eq!(facts.warnings.len(), facts.findings.len());
}

#[test]
fn sniffing() {
    assert!(looks_like_safetensors(&file("{}", 0), 10));
    assert!(
        !looks_like_safetensors(&file("{}", 0), 9),
        "header longer than the file"
    );
    assert!(!looks_like_safetensors(&file("[]", 0), 10));
    assert!(!looks_like_safetensors(b"GGUF\x03\0\0\0\0\0", 100));
    assert!(!looks_like_safetensors(&u64::MAX.to_le_bytes(), u64::MAX));
    assert!(!looks_like_safetensors(b"{", 1));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let facts = run(&bytes);
        prop_assert_eq!(facts.warnings.len(), facts.findings.len());
    }

    #[test]
    fn arbitrary_headers_never_panic(header in "\\{(\"[a-z_]{0,3}\":(\\{\"dtype\":\"(F32|U8|F4|XX)\",\"shape\":\\[[0-9]{0,3}(,[0-9]{1,20})?\\],\"data_offsets\":\\[[0-9]{1,3},[0-9]{1,20}\\]\\}|null|\"x\"),?){0,4}\\}", data in 0usize..64) {
        let facts = run(&file(&header, data));
        prop_assert_eq!(facts.format, Format::Safetensors);
    }

    #[test]
    fn any_prefix_of_a_valid_file_is_reported_not_panicked(cut in 0usize..176) {
        let bytes = UPSTREAM_FILE.get(..cut).unwrap_or_default();
        let facts = run(bytes);
        prop_assert!(facts.worst_severity() == Some(Severity::Error));
    }
}

/// The header is parsed as a stream: a value no check reads (a huge
/// unknown field) costs nothing to keep, and what is kept (tensor entries,
/// metadata) stops at `header_max_kept_bytes` with its own finding.
#[test]
fn what_a_header_makes_the_parser_keep_is_bounded() {
    let filler = vec!["0"; 200_000].join(",");
    let header =
        format!(r#"{{"t":{{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[{filler}]}}}}"#);
    let facts = run(&file(&header, 4));
    assert_eq!(codes(&facts), ["safetensors.unknown_field"]);
    assert_eq!(facts.tensor_count, Some(1));
    let limits = Limits {
        header_max_kept_bytes: 16 * 1024,
        ..Limits::default()
    };
    let entries: Vec<String> = (0..1_000)
        .map(|i| {
            format!(
                r#""t{i:04}":{{"dtype":"F32","shape":[1],"data_offsets":[{},{}]}}"#,
                4 * i,
                4 * i + 4
            )
        })
        .collect();
    let header = format!("{{{}}}", entries.join(","));
    let facts = run_with(&file(&header, 4_000), &limits);
    assert_eq!(codes(&facts), ["safetensors.limit_exceeded"]);
    assert!(facts.tensors.is_empty());
    assert!(run(&file(&header, 4_000)).findings.is_empty());
}
