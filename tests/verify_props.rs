//! Property: a signed bundle verifies, and no single-byte edit of it does.
//!
//! For random small model folders (1–4 files, random names and bytes, some
//! GGUF-like), `pack` + `sign` with a trusted key, then through the library:
//! - `verify` of the untouched bundle passes;
//! - ANY single-byte change, insertion or deletion at any offset makes
//!   `verify` fail. Every byte of a bundle is covered by something: a digest
//!   (artifacts, SBOMs, attestation, manifest, earlier links), a signature
//!   (the last link's payload), the canonical-encoding rule (the last link's
//!   envelope bytes, docs/bundle-format.md §7) or the tar profile (headers,
//!   padding, the end marker, the file length; §2). A byte that can change
//!   without failing is a second file that verifies as the same bundle.
//!
//! The manifest round-trip property lives with the manifest
//! (src/bundle/manifest.rs); it is not repeated here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lbom::bundle::{Compression, FirstLink, PackOptions, ReadLimits, pack};
use lbom::inspect::Format;
use lbom::inspect::digest::Sha256Digest;
use lbom::limits::Limits;
use lbom::sign::{SignOptions, SigningKey, sign};
use lbom::verify::policy::{
    Caps, Clock, ContentRules, HistoryRules, PolicySource, TimeRules, TrustedKey, UnknownSigners,
};
use lbom::verify::{HashOnly, Policy, Report, VerifyContext, verify};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// One file of the model folder.
#[derive(Debug, Clone)]
struct Input {
    name: String,
    bytes: Vec<u8>,
}

/// A single-byte edit at `offset` (taken modulo the bundle length).
#[derive(Debug, Clone, Copy)]
enum Edit {
    /// XOR the byte with a non-zero mask: always a different byte.
    Change { offset: usize, mask: u8 },
    /// Insert `byte` before the byte at the offset (or at the end).
    Insert { offset: usize, byte: u8 },
    /// Delete the byte at the offset.
    Delete { offset: usize },
}

impl Edit {
    fn apply(self, bundle: &[u8]) -> (Vec<u8>, String) {
        let mut out = bundle.to_vec();
        let len = bundle.len().max(1);
        match self {
            Edit::Change { offset, mask } => {
                let at = offset % len;
                if let Some(b) = out.get_mut(at) {
                    *b ^= mask;
                }
                (out, format!("change at {at} (xor {mask:#04x})"))
            }
            Edit::Insert { offset, byte } => {
                let at = offset % (bundle.len().saturating_add(1));
                out.insert(at, byte);
                (out, format!("insert {byte:#04x} at {at}"))
            }
            Edit::Delete { offset } => {
                let at = offset % len;
                if at < out.len() {
                    out.remove(at);
                }
                (out, format!("delete at {at}"))
            }
        }
    }
}

/// A minimal GGUF v3 header (ggml docs/gguf.md: magic, version, tensor
/// count 0, one string KV) followed by random bytes, so some inputs are
/// scanned as models with findings rather than as unknown blobs.
fn gguf_like(arch: &str, tail: &[u8]) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(1u64.to_le_bytes());
    let key = "general.architecture";
    b.extend((key.len() as u64).to_le_bytes());
    b.extend(key.as_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend((arch.len() as u64).to_le_bytes());
    b.extend(arch.as_bytes());
    b.extend(tail);
    b
}

fn input() -> impl Strategy<Value = Input> {
    (
        "[a-z][a-z0-9_-]{0,11}",
        prop::sample::select(vec!["", ".gguf", ".safetensors", ".bin", ".json", ".txt"]),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..1500),
    )
        .prop_map(|(stem, ext, gguf, tail)| {
            let bytes = if gguf && ext == ".gguf" {
                gguf_like("llama", &tail)
            } else {
                tail
            };
            Input {
                name: format!("{stem}{ext}"),
                bytes,
            }
        })
}

/// 1–4 files with distinct names (names that collide under the fold rule
/// of §3 are all lowercase ASCII here, so distinct means non-colliding,
/// except a name that is a prefix folder of another: none have a `/`).
fn folder() -> impl Strategy<Value = Vec<Input>> {
    prop::collection::vec(input(), 1..=4).prop_map(|files| {
        let mut seen = BTreeSet::new();
        files
            .into_iter()
            .filter(|f| seen.insert(f.name.clone()))
            .collect()
    })
}

fn compression() -> impl Strategy<Value = Compression> {
    prop::sample::select(vec![
        Compression::None,
        Compression::Auto,
        Compression::Zstd(1),
    ])
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(offset, mask)| Edit::Change { offset, mask }),
        (any::<usize>(), any::<u8>()).prop_map(|(offset, byte)| Edit::Insert { offset, byte }),
        any::<usize>().prop_map(|offset| Edit::Delete { offset }),
    ]
}

fn maintainer() -> Result<SigningKey, lbom::sign::Error> {
    SigningKey::from_seed(&[7; 32])
}

fn transfer() -> Result<SigningKey, lbom::sign::Error> {
    SigningKey::from_seed(&[8; 32])
}

/// Trusts both keys; requires a maintainer; allows every format and has no
/// content, age or history rules, so only integrity decides.
fn policy(m: &SigningKey, t: &SigningKey) -> Policy {
    let trusted = |name: &str, k: &SigningKey, role: &str| TrustedKey {
        name: name.into(),
        key: k.public_key().clone(),
        roles: BTreeSet::from([role.to_owned()]),
    };
    Policy {
        source: PolicySource {
            path: PathBuf::from("props.toml"),
            sha256: Sha256Digest::of(b"props"),
        },
        keys: vec![
            trusted("maintainer", m, "maintainer"),
            trusted("transfer", t, "transfer"),
        ],
        thresholds: BTreeMap::new(),
        required_roles: BTreeSet::from(["maintainer".to_owned()]),
        unknown_signers: UnknownSigners::Refuse,
        content: ContentRules {
            allowed_formats: [
                Format::Gguf,
                Format::Safetensors,
                Format::Pickle,
                Format::PytorchZip,
                Format::Json,
                Format::Unknown,
            ]
            .into_iter()
            .collect(),
            allowed_licences: None,
            fail_on: None,
        },
        caps: Caps {
            max_entries: 1000,
            max_entry_bytes: 1 << 30,
            max_total_bytes: 1 << 32,
            max_path_bytes: 255,
        },
        time: TimeRules {
            max_age: None,
            require_expiry: false,
            clock: Clock::Trusted,
        },
        history: HistoryRules::default(),
        drift_needs_acceptance: BTreeSet::new(),
    }
}

fn context() -> Result<VerifyContext, jiff::Error> {
    Ok(VerifyContext {
        now: jiff::Timestamp::from_second(86_400)?,
        channel: None,
        limits: ReadLimits::default(),
    })
}

/// Pack `files` under `dir/model`, first link by the maintainer, and when
/// `countersign` a second link by the transfer desk.
fn make_bundle(
    dir: &Path,
    files: &[Input],
    compress: Compression,
    countersign: bool,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let root = dir.join("model");
    std::fs::create_dir_all(&root)?;
    for f in files {
        std::fs::write(root.join(&f.name), &f.bytes)?;
    }
    let m = maintainer()?;
    let out = dir.join("b.lbom");
    pack(
        &PackOptions {
            inputs: vec![root],
            output: out.clone(),
            name: "props".into(),
            channel: "stable".into(),
            sequence: None,
            previous: None,
            expires: Some(jiff::SignedDuration::from_hours(24 * 30)),
            compress,
            created: Some(jiff::Timestamp::UNIX_EPOCH),
            first_link: Some(FirstLink {
                key: &m,
                role: "maintainer".into(),
                note: None,
            }),
            limits: Limits::default(),
            jobs: None,
        },
        &mut |_| {},
    )?;
    if countersign {
        sign(
            &out,
            &transfer()?,
            &SignOptions {
                role: "transfer".into(),
                note: Some("desk".into()),
                time: Some(jiff::Timestamp::from_second(60)?),
            },
        )?;
    }
    Ok(std::fs::read(&out)?)
}

fn run_verify(path: &Path) -> Result<Report, Box<dyn std::error::Error>> {
    let p = policy(&maintainer()?, &transfer()?);
    Ok(verify(path, &p, &context()?, &mut HashOnly).0)
}

/// Which entry (by tar header walk over the original bundle) holds `offset`,
/// for the failure message.
fn locate(bundle: &[u8], offset: usize) -> String {
    let mut at = 0usize;
    while let Some(header) = bundle.get(at..at.saturating_add(512)) {
        if header.iter().all(|b| *b == 0) {
            return format!("end marker (starts at {at})");
        }
        let name_end = header.iter().take(100).position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(header.get(..name_end).unwrap_or_default());
        let size = header
            .get(124..135)
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| usize::from_str_radix(s, 8).ok())
            .unwrap_or(0);
        let data_end = at.saturating_add(512).saturating_add(size);
        let next = at
            .saturating_add(512)
            .saturating_add(size.div_ceil(512).saturating_mul(512));
        if offset < next {
            let part = if offset < at.saturating_add(512) {
                "header"
            } else if offset < data_end {
                "data"
            } else {
                "padding"
            };
            return format!("{part} of {name} (entry at {at})");
        }
        at = next;
    }
    "past the end".into()
}

fn err(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_edit_fails_verify(
        files in folder(),
        compress in compression(),
        countersign in any::<bool>(),
        edits in prop::collection::vec(edit(), 12),
    ) {
        let dir = tempfile::tempdir().map_err(err)?;
        let bundle = make_bundle(dir.path(), &files, compress, countersign).map_err(err)?;
        let report = run_verify(&dir.path().join("b.lbom")).map_err(err)?;
        prop_assert!(
            report.passed(),
            "the untouched bundle fails: {}",
            serde_json::to_string(&report).unwrap_or_default()
        );
        let edited = dir.path().join("edited.lbom");
        for e in edits {
            let (bytes, what) = e.apply(&bundle);
            std::fs::write(&edited, &bytes).map_err(err)?;
            let report = run_verify(&edited).map_err(err)?;
            let offset = match e {
                Edit::Change { offset, .. } | Edit::Delete { offset } => offset % bundle.len().max(1),
                Edit::Insert { offset, .. } => offset % bundle.len().saturating_add(1),
            };
            prop_assert!(
                !report.passed(),
                "{what} ({}) still verifies",
                locate(&bundle, offset)
            );
        }
    }
}

/// Exhaustive over one bundle: every offset changed, and a deletion at
/// every offset. Deterministic, so a gap in coverage cannot hide behind
/// the sampling above.
#[test]
fn every_offset_of_one_bundle_is_covered() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let files = vec![
        Input {
            name: "m.gguf".into(),
            bytes: gguf_like("llama", b"tail"),
        },
        Input {
            name: "w.bin".into(),
            bytes: vec![0u8; 700],
        },
    ];
    let bundle = make_bundle(dir.path(), &files, Compression::Auto, true)?;
    assert!(run_verify(&dir.path().join("b.lbom"))?.passed());
    let edited = dir.path().join("edited.lbom");
    let mut survivors = Vec::new();
    for offset in 0..bundle.len() {
        for e in [Edit::Change { offset, mask: 0x01 }, Edit::Delete { offset }] {
            let (bytes, what) = e.apply(&bundle);
            std::fs::write(&edited, &bytes)?;
            if run_verify(&edited)?.passed() {
                survivors.push(format!("{what} ({})", locate(&bundle, offset)));
            }
        }
    }
    assert!(
        survivors.is_empty(),
        "{} edits still verify:\n{}",
        survivors.len(),
        survivors.join("\n")
    );
    Ok(())
}
