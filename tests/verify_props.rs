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
//! - ANY re-encoding of a zstd entry that decodes to the same content
//!   (another level, the checksum dropped, a dictionary id field, no
//!   content size, a wider content-size field, a skippable frame before or
//!   after, two frames) makes `verify` fail: version 2 binds the stored
//!   bytes (docs/bundle-format.md [B57]). Re-signed by the trusted keys
//!   with the manifest made to match, the re-encodings that break the
//!   frame rules ([B56]) still fail and the valid ones pass.
//!
//! The manifest round-trip property lives with the manifest
//! (src/bundle/manifest.rs); it is not repeated here.

mod common;
mod tamper;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lbom::bundle::{Compression, FirstLink, PackOptions, pack};
use lbom::bundle::{SignOptions, sign};
use lbom::inspect::Format;
use lbom::io::digest::Sha256Digest;
use lbom::sign::SigningKey;
use lbom::verify::policy::{
    Clock, ContentRules, HistoryRules, PolicyCaps, PolicySource, TimeRules, TrustedKey,
    UnknownSigners,
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
                Format::Text,
                Format::Tiktoken,
                Format::Sentencepiece,
                Format::Code,
                Format::Unknown,
            ]
            .into_iter()
            .collect(),
            allowed_licences: None,
            fail_on: None,
        },
        caps: PolicyCaps {
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
        caps: lbom::bundle::Caps::default(),
        jobs: None,
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
            caps: lbom::bundle::Caps::default(),
            jobs: None,
            base: None,
            hash_cache: None,
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

// ---------------------------------------------------------------------------
// Re-encodings of a zstd entry.

/// One way to store the same content as another zstd byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reencoding {
    /// Another compression level, with checksum and content size.
    Level(i32),
    /// The content checksum left out.
    NoChecksum,
    /// A `Dictionary_ID` field (one byte, holding 0) in the header.
    DictionaryIdField,
    /// The `Frame_Content_Size` field left out.
    NoContentSize,
    /// The content size in the 8-byte field form instead of the smallest.
    WideContentSize,
    /// A skippable frame before the frame.
    SkippableBefore,
    /// A skippable frame after the frame.
    SkippableAfter,
    /// The content split over two frames.
    TwoFrames,
}

impl Reencoding {
    /// Whether the frame rules allow it: a signer may store it.
    fn follows_the_frame_rules(self) -> bool {
        matches!(self, Reencoding::Level(_) | Reencoding::WideContentSize)
    }
}

fn reencoding() -> impl Strategy<Value = Reencoding> {
    prop_oneof![
        (2i32..=19).prop_map(Reencoding::Level),
        Just(Reencoding::NoChecksum),
        Just(Reencoding::DictionaryIdField),
        Just(Reencoding::NoContentSize),
        Just(Reencoding::WideContentSize),
        Just(Reencoding::SkippableBefore),
        Just(Reencoding::SkippableAfter),
        Just(Reencoding::TwoFrames),
    ]
}

/// One zstd frame of `content` (RFC 8878) from the zstd library.
fn frame(
    content: &[u8],
    level: i32,
    checksum: bool,
    size: bool,
) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    let mut enc = zstd::stream::write::Encoder::new(&mut out, level)?;
    enc.include_checksum(checksum)?;
    enc.include_contentsize(size)?;
    enc.set_pledged_src_size(Some(content.len() as u64))?;
    std::io::Write::write_all(&mut enc, content)?;
    enc.finish()?;
    Ok(out)
}

/// The header fields of a frame: (descriptor, window descriptor or None,
/// offset of the content-size field, its length).
fn header_layout(f: &[u8]) -> Option<(u8, Option<u8>, usize, usize)> {
    let d = *f.get(4)?;
    let single = d & 0x20 != 0;
    let did = match d & 0x03 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let fcs = match (d >> 6, single) {
        (0, false) => 0,
        (0, true) => 1,
        (1, _) => 2,
        (2, _) => 4,
        _ => 8,
    };
    let window = if single { None } else { Some(*f.get(5)?) };
    Some((d, window, 5 + usize::from(!single) + did, fcs))
}

/// A skippable frame (RFC 8878 §3.1.2) holding `n` zero bytes.
fn skippable(n: u32) -> Vec<u8> {
    let mut s = vec![0x50, 0x2a, 0x4d, 0x18];
    s.extend(n.to_le_bytes());
    s.resize(s.len() + n as usize, 0);
    s
}

fn reencode(
    original: &[u8],
    content: &[u8],
    how: Reencoding,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    Ok(match how {
        Reencoding::Level(l) => frame(content, l, true, true)?,
        Reencoding::NoChecksum => frame(content, 3, false, true)?,
        Reencoding::NoContentSize => frame(content, 3, true, false)?,
        Reencoding::DictionaryIdField => {
            let (d, window, fcs_at, _) = header_layout(original).ok_or("short frame")?;
            let mut f = original.to_vec();
            *f.get_mut(4).ok_or("short")? = d | 0x01;
            f.insert(fcs_at, 0);
            let _ = window;
            f
        }
        Reencoding::WideContentSize => {
            let (d, window, fcs_at, fcs_len) = header_layout(original).ok_or("short frame")?;
            let mut f = original.get(..4).ok_or("short")?.to_vec();
            // FCS flag 3 (8 bytes); keep single-segment and the rest.
            f.push(d | 0xc0);
            if let Some(w) = window {
                f.push(w);
            }
            f.extend((content.len() as u64).to_le_bytes());
            f.extend(original.get(fcs_at + fcs_len..).ok_or("short")?);
            f
        }
        Reencoding::SkippableBefore => [skippable(3), original.to_vec()].concat(),
        Reencoding::SkippableAfter => [original.to_vec(), skippable(3)].concat(),
        Reencoding::TwoFrames => {
            let (a, b) = content.split_at(content.len() / 2);
            [frame(a, 3, true, true)?, frame(b, 3, true, true)?].concat()
        }
    })
}

/// Files that compress (so `zstd:1` stores them as zstd) with names that
/// do not collide.
fn compressible_folder() -> impl Strategy<Value = Vec<Input>> {
    prop::collection::vec(("[a-z]{1,8}", 1usize..4000, any::<u8>()), 1..=3).prop_map(|files| {
        let mut seen = BTreeSet::new();
        files
            .into_iter()
            .filter(|(n, _, _)| seen.insert(n.clone()))
            .map(|(name, len, seed)| Input {
                name: format!("{name}.json"),
                bytes: (0..len)
                    .map(|i| {
                        let text = b"{\"weights\": [0, 1, 2]}\n";
                        text.get((i + usize::from(seed)) % text.len())
                            .copied()
                            .unwrap_or(b' ')
                    })
                    .collect(),
            })
            .collect()
    })
}

/// The bundle with entry `name`'s stored bytes replaced.
fn with_entry(
    bundle: &[u8],
    name: &str,
    data: Vec<u8>,
) -> Result<Vec<tamper::Entry>, Box<dyn std::error::Error>> {
    let mut entries = tamper::entries(bundle)?;
    let e = entries
        .iter_mut()
        .find(|e| e.name == name)
        .ok_or("no such entry")?;
    e.data = data;
    Ok(entries)
}

/// The first zstd entry of a bundle: its name, stored and decoded bytes.
/// A zstd entry: its name, stored bytes and decoded bytes.
type ZstdEntry = (String, Vec<u8>, Vec<u8>);

fn first_zstd(bundle: &[u8]) -> Result<ZstdEntry, Box<dyn std::error::Error>> {
    let e = tamper::entries(bundle)?
        .into_iter()
        .find(|e| e.name.ends_with(".zst"))
        .ok_or("no zstd entry")?;
    let content = zstd::decode_all(e.data.as_slice())?;
    Ok((e.name, e.data, content))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Without the signer: any re-encoding fails, whatever else is fixed
    /// up around it (the tar header's size).
    #[test]
    fn any_reencoding_of_a_zstd_entry_fails_verify(
        files in compressible_folder(),
        countersign in any::<bool>(),
        how in reencoding(),
    ) {
        let dir = tempfile::tempdir().map_err(err)?;
        let bundle = make_bundle(dir.path(), &files, Compression::Zstd(1), countersign).map_err(err)?;
        prop_assert!(run_verify(&dir.path().join("b.lbom")).map_err(err)?.passed());
        let (name, stored, content) = first_zstd(&bundle).map_err(err)?;
        let again = reencode(&stored, &content, how).map_err(err)?;
        prop_assume!(again != stored, "{:?} gave the same bytes", how);
        prop_assert_eq!(zstd::decode_all(again.as_slice()).map_err(err)?, content, "{:?} changes the content", how);
        let bytes = tamper::assemble(&with_entry(&bundle, &name, again).map_err(err)?).map_err(err)?;
        let edited = dir.path().join("reencoded.lbom");
        std::fs::write(&edited, &bytes).map_err(err)?;
        let report = run_verify(&edited).map_err(err)?;
        prop_assert!(!report.passed(), "{:?} of {} still verifies", how, name);
    }
}

/// With the signer: the manifest made to match the re-encoded entry and the
/// chain re-signed by the trusted key. Only the frame rules are left to
/// refuse a re-encoding, and they refuse exactly those that break them
/// (under `entries.digests`, exit 4); the others are a valid bundle.
#[test]
fn resigned_reencodings_pass_exactly_when_they_follow_the_frame_rules()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // Compressible but not trivial, so levels 1 and 19 give other bytes.
    let mut x: u32 = 7;
    let text: String = (0..3000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            format!("{}, ", (x >> 16) % 97)
        })
        .collect();
    let files = vec![Input {
        name: "config.json".into(),
        bytes: format!("{{\"weights\": [{text}0]}}\n").into_bytes(),
    }];
    let bundle = make_bundle(dir.path(), &files, Compression::Zstd(1), false)?;
    let (name, stored, content) = first_zstd(&bundle)?;
    let m = maintainer()?;
    let all = [
        Reencoding::Level(19),
        Reencoding::NoChecksum,
        Reencoding::DictionaryIdField,
        Reencoding::NoContentSize,
        Reencoding::WideContentSize,
        Reencoding::SkippableBefore,
        Reencoding::SkippableAfter,
        Reencoding::TwoFrames,
    ];
    let mut problems = Vec::new();
    for how in all {
        let again = reencode(&stored, &content, how)?;
        assert_ne!(again, stored, "{how:?}");
        let mut entries = with_entry(&bundle, &name, again)?;
        tamper::restamp(&mut entries, |_| {})?;
        tamper::resign(
            &mut entries,
            &[tamper::LinkSpec {
                key: &m,
                role: "maintainer",
                time: jiff::Timestamp::from_second(60)?,
            }],
        )?;
        let path = dir.path().join("resigned.lbom");
        std::fs::write(&path, tamper::assemble(&entries)?)?;
        let report = run_verify(&path)?;
        let failed = report
            .checks
            .iter()
            .find(|c| matches!(c.outcome, lbom::verify::Outcome::Fail(_)));
        match (how.follows_the_frame_rules(), failed) {
            (true, None) => {}
            (false, Some(c))
                if c.name == "entries.digests"
                    && report.failure().map(|f| common::codes::of(f.class())) == Some(4) => {}
            (_, other) => problems.push(format!(
                "{how:?}: {:?}",
                other.map(|c| (c.name, c.detail.clone()))
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The re-encoding the issue found: same stored size, same decoded bytes.
/// A frame with a window descriptor (content larger than level 1's window)
/// gets a larger window mantissa: still one valid frame under the rules,
/// with its size and content unchanged, so the manifest's stored size and
/// decoded digest both still match. Only `stored_sha256` can see it
/// (docs/bundle-format.md [B57]): `entries.digests`, exit 4.
#[test]
fn a_same_size_reencoding_is_caught_by_the_stored_digest() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let mut x: u32 = 11;
    let bytes: Vec<u8> = (0..700_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b"0123456789,\n"[((x >> 16) % 12) as usize]
        })
        .collect();
    let files = vec![Input {
        name: "big.json".into(),
        bytes,
    }];
    let bundle = make_bundle(dir.path(), &files, Compression::Zstd(1), false)?;
    let (name, stored, content) = first_zstd(&bundle)?;
    let (_, window, _, _) = header_layout(&stored).ok_or("short frame")?;
    let window = window.ok_or("the frame has no window descriptor")?;
    assert_eq!(window & 0x07, 0, "mantissa already set");
    let mut again = stored.clone();
    *again.get_mut(5).ok_or("short")? = window | 0x01;
    assert_eq!(again.len(), stored.len());
    assert_eq!(zstd::decode_all(again.as_slice())?, content);
    let path = dir.path().join("same-size.lbom");
    std::fs::write(
        &path,
        tamper::assemble(&with_entry(&bundle, &name, again)?)?,
    )?;
    let report = run_verify(&path)?;
    let failed = report
        .checks
        .iter()
        .find(|c| matches!(c.outcome, lbom::verify::Outcome::Fail(_)))
        .ok_or("the same-size re-encoding verifies")?;
    assert_eq!(failed.name, "entries.digests", "{}", failed.detail);
    assert!(failed.detail.contains("stored bytes"), "{}", failed.detail);
    assert_eq!(
        report.failure().map(|f| common::codes::of(f.class())),
        Some(4)
    );
    Ok(())
}
