//! Properties of the one-pass inspect path over arbitrary input: no byte
//! string makes it panic, the digest is always the SHA-256 of exactly the
//! input, and every finding has a well-formed code.

use std::io::Cursor;

use lbom::inspect::{ScanOptions, SeekRead, inspect_reader};
use lbom::io::digest::Sha256Digest;
use lbom::limits::Limits;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "m.gguf",
    "m.safetensors",
    "m.bin",
    "m.pt",
    "m.pkl",
    "m-Q4_K_M.gguf",
    "m",
];

/// Magic prefixes so that random tails reach deep into each parser.
fn prefixed_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefixes: Vec<Vec<u8>> = vec![
        b"GGUF\x03\x00\x00\x00".to_vec(),
        b"GGUF\x00\x00\x00\x02".to_vec(),
        b"GGUF\x01\x00\x00\x00".to_vec(),
        vec![0x40, 0, 0, 0, 0, 0, 0, 0, b'{'],
        vec![0x80, 0x02],
        vec![0x80, 0x05, 0x95],
        b"PK\x03\x04".to_vec(),
        Vec::new(),
    ];
    (
        prop::sample::select(prefixes),
        prop::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(|(mut p, tail)| {
            p.extend(tail);
            p
        })
}

fn inspect(bytes: &[u8], name: &str) -> Result<lbom::inspect::ModelFacts, std::io::Error> {
    let mut cursor = Cursor::new(bytes);
    let random_access: Option<&mut dyn SeekRead> = Some(&mut cursor);
    inspect_reader(
        bytes,
        bytes.len() as u64,
        name,
        random_access,
        &ScanOptions::default(),
        &Limits::default(),
        &mut |_| {},
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_hash_exactly(bytes in prefixed_bytes(), name in prop::sample::select(NAMES)) {
        let facts = inspect(&bytes, name)?;
        prop_assert_eq!(facts.sha256, Some(Sha256Digest::of(&bytes)));
        prop_assert_eq!(facts.file_size_bytes, bytes.len() as u64);
        prop_assert_eq!(facts.warnings.len(), facts.findings.len());
        for f in &facts.findings {
            prop_assert!(f.code.contains('.') && f.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "bad finding code {:?}", f.code);
        }
        // The facts always serialise (serde_json refuses nothing, but a
        // report that cannot be read back would be useless to diff).
        let json = serde_json::to_string(&facts).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: lbom::inspect::ModelFacts =
            serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.findings, facts.findings);
    }
}

#[test]
fn a_file_named_gguf_that_is_not_gguf_is_an_error() -> Result<(), std::io::Error> {
    use lbom::inspect::{Format, Severity};
    // The format comes from the bytes, never the name: bytes that are not
    // GGUF under a `.gguf` name are what the bytes are (`text` here,
    // `unknown` for bytes of no format), and the name is a mismatch.
    let facts = inspect(b"hello, I am plain text", "model.gguf")?;
    let has = |facts: &lbom::inspect::ModelFacts, code: &str| {
        facts
            .findings
            .iter()
            .any(|f| f.code == code && f.severity == Severity::Error)
    };
    assert_eq!(facts.format, Format::Text);
    assert!(has(&facts, "format.name_mismatch"), "{:?}", facts.findings);
    let binary = inspect(&[0x00, 0x9f, 0x13, 0x07, 0xff, 0x00, 0x42], "model.gguf")?;
    assert_eq!(binary.format, Format::Unknown);
    assert!(
        has(&binary, "format.name_mismatch"),
        "{:?}",
        binary.findings
    );
    assert!(
        !facts.findings.iter().any(|f| f.code.starts_with("gguf.")),
        "{:?}",
        facts.findings
    );
    // Bytes of another known format under the name are a disguise.
    let mut safetensors = 2u64.to_le_bytes().to_vec();
    safetensors.extend(b"{}");
    let facts = inspect(&safetensors, "model.gguf")?;
    assert_eq!(facts.format, Format::Safetensors);
    assert!(has(&facts, "format.name_mismatch"), "{:?}", facts.findings);
    Ok(())
}

#[test]
fn the_length_the_caller_promised_is_enforced() {
    // A file that is shorter than its stat said (changed under us) must not
    // get a digest that pretends to cover it.
    let bytes = b"GGUF\x03\x00\x00\x00";
    let result = inspect_reader(
        &bytes[..],
        100,
        "m.gguf",
        None,
        &ScanOptions::default(),
        &Limits::default(),
        &mut |_| {},
    );
    assert!(result.is_err());
}
