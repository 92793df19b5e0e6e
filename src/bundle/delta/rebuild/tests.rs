//! The rebuild against the base version's files (docs/bundle-format.md
//! [B79]): what a recipe rebuilds is exactly the target, and a recipe or a
//! base that disagree in any byte are refused: a range past the base file,
//! a base file the base version lacks, a base whose bytes are not the
//! recipe's (another version).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use proptest::prelude::*;

use super::super::recipe::{Head, Op, OpKind, RecipeError, RecipeWriter, recipe_error};
use super::*;
use crate::io::digest::Sha256Digest;

/// Base files on disk, by artifact path.
#[derive(Debug)]
struct DiskBase {
    _dir: tempfile::TempDir,
    files: BTreeMap<String, PathBuf>,
}

impl DiskBase {
    fn new(files: &[(&str, &[u8])]) -> io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut map = BTreeMap::new();
        for (i, (name, bytes)) in files.iter().enumerate() {
            let path = dir.path().join(format!("f{i}"));
            std::fs::write(&path, bytes)?;
            map.insert((*name).to_owned(), path);
        }
        Ok(Self {
            _dir: dir,
            files: map,
        })
    }
}

impl BaseFiles for DiskBase {
    fn open(&self, path: &BundlePath) -> io::Result<BaseFile> {
        let p = self
            .files
            .get(path.as_str())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.to_string()))?;
        let file = File::open(p)?;
        let size = file.metadata()?.len();
        Ok(BaseFile {
            file,
            start: 0,
            size,
        })
    }
}

/// A payload for `ops` over `base_path`, shipped bytes taken from `target`.
fn payload(base_path: &str, ops: &[Op], target: &[u8]) -> io::Result<Vec<u8>> {
    let head = Head {
        base_path: BundlePath::new(base_path).ok(),
        op_count: ops.len() as u32,
    };
    let mut out = Vec::new();
    let mut w = RecipeWriter::new(&mut out, &head)?;
    for op in ops {
        w.op(op)?;
        if op.kind == OpKind::Shipped {
            let start = op.target_offset as usize;
            w.chunk(
                target
                    .get(start..start + op.length as usize)
                    .unwrap_or_default(),
            )?;
        }
    }
    Ok(out)
}

fn rebuild(payload: &[u8], size: u64, base: DiskBase) -> io::Result<Vec<u8>> {
    let mut r = Rebuild::new(payload, size, Arc::new(base))?;
    let mut out = Vec::new();
    r.read_to_end(&mut out)?;
    Ok(out)
}

fn base_op(target_offset: u64, base: &[u8], base_offset: u64, length: u64) -> Op {
    let s = base_offset as usize;
    Op {
        kind: OpKind::Base,
        target_offset,
        length,
        base_offset,
        sha256: Sha256Digest::of(base.get(s..s + length as usize).unwrap_or_default()),
    }
}

fn shipped(target_offset: u64, bytes: &[u8]) -> Op {
    Op {
        kind: OpKind::Shipped,
        target_offset,
        length: bytes.len() as u64,
        base_offset: 0,
        sha256: Sha256Digest::of(bytes),
    }
}

#[test]
fn a_recipe_rebuilds_its_target_and_every_disagreement_is_refused() -> io::Result<()> {
    let base: &[u8] = b"the base file: header, then tensor data";
    let target: Vec<u8> = [&base[..15], b"NEW HEADER, ".as_slice(), &base[15..]].concat();
    let ops = [
        base_op(0, base, 0, 15),
        shipped(15, b"NEW HEADER, "),
        base_op(27, base, 15, base.len() as u64 - 15),
    ];
    let bytes = payload("m.gguf", &ops, &target)?;
    let size = target.len() as u64;
    assert_eq!(
        rebuild(&bytes, size, DiskBase::new(&[("m.gguf", base)])?)?,
        target
    );

    let refusal = |bytes: &[u8], base: DiskBase| -> String {
        match rebuild(bytes, size, base) {
            Ok(_) => "accepted".into(),
            Err(e) => recipe_error(&e).map_or_else(|| e.to_string(), ToString::to_string),
        }
    };
    // The base version's file is another one (same length, one byte off).
    let mut other = base.to_vec();
    other[30] ^= 1;
    let why = refusal(&bytes, DiskBase::new(&[("m.gguf", &other)])?);
    assert!(why.contains("operation 2 (base)"), "{why}");
    // The base version has no such file.
    let why = refusal(&bytes, DiskBase::new(&[("other.gguf", base)])?);
    assert!(why.contains("not in the base version"), "{why}");
    // A range past the end of the base file.
    let short = &base[..20];
    let why = refusal(&bytes, DiskBase::new(&[("m.gguf", short)])?);
    assert!(why.contains("past the end of the base file"), "{why}");
    let mut past = ops;
    past[2].base_offset = u64::MAX - 3;
    let why = refusal(
        &payload("m.gguf", &past, &target)?,
        DiskBase::new(&[("m.gguf", base)])?,
    );
    assert!(why.contains("past the end of the base file"), "{why}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever mix of base ranges and shipped chunks: the rebuild is the
    /// target; one byte changed in a base range any operation reads makes
    /// it refused, never a different file.
    #[test]
    fn rebuilds_are_exact_and_a_changed_base_is_refused(
        base in prop::collection::vec(any::<u8>(), 1..300),
        pieces in prop::collection::vec((any::<bool>(), any::<prop::sample::Index>(), 1usize..40), 1..10),
        flip in any::<prop::sample::Index>(),
    ) {
        let mut target = Vec::new();
        let mut ops = Vec::new();
        for (from_base, at, len) in &pieces {
            let offset = target.len() as u64;
            if *from_base {
                let start = at.index(base.len());
                let len = (*len).min(base.len() - start);
                ops.push(base_op(offset, &base, start as u64, len as u64));
                target.extend_from_slice(&base[start..start + len]);
            } else {
                let bytes: Vec<u8> = (0..*len).map(|i| (i * 31 + at.index(256)) as u8).collect();
                ops.push(shipped(offset, &bytes));
                target.extend_from_slice(&bytes);
            }
        }
        let bytes = payload("w.bin", &ops, &target).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let size = target.len() as u64;
        let good = DiskBase::new(&[("w.bin", &base)]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let rebuilt = rebuild(&bytes, size, good).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&rebuilt, &target);
        let i = flip.index(base.len()) as u64;
        let read = ops.iter().any(|o| o.kind == OpKind::Base && o.base_offset <= i && i < o.base_offset + o.length);
        let mut changed = base.clone();
        changed[i as usize] ^= 0x80;
        let other = DiskBase::new(&[("w.bin", &changed)]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match rebuild(&bytes, size, other) {
            Ok(out) => {
                prop_assert!(!read, "a changed base byte that a recipe reads was accepted");
                prop_assert_eq!(out, target);
            }
            Err(e) => {
                prop_assert!(read);
                let base_digest = matches!(
                    recipe_error(&e),
                    Some(RecipeError::ChunkDigest { what: "base", .. })
                );
                prop_assert!(base_digest, "refused for another reason: {}", e);
            }
        }
    }
}

/// The vectors tests/tools/delta_vectors.py writes from the spec with
/// Python's `struct` and `hashlib`: each payload rebuilds `target.bin` from
/// `base.bin`, or is refused by the rule its index names.
#[test]
fn the_independent_vectors_give_their_outcomes() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/delta");
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)?;
    let base = std::fs::read(dir.join("base.bin"))?;
    let target = std::fs::read(dir.join("target.bin"))?;
    let cases = index["cases"].as_object().ok_or("no cases")?;
    assert!(cases.len() >= 15);
    for (name, case) in cases {
        let size = case["size"].as_u64().ok_or("no size")?;
        let expect = case["expect"].as_str().ok_or("no expect")?;
        let payload = std::fs::read(dir.join(format!("{name}.payload")))?;
        let got = rebuild(&payload, size, DiskBase::new(&[("model.gguf", &base)])?);
        let outcome = match &got {
            Ok(_) => "ok",
            Err(e) => match recipe_error(e) {
                Some(RecipeError::Magic) => "magic",
                Some(RecipeError::BasePath(_)) => "base-path",
                Some(RecipeError::TooManyOps(_)) => "too-many-ops",
                Some(RecipeError::Kind { .. }) => "kind",
                Some(RecipeError::NoBaseFile(_)) => "no-base-file",
                Some(RecipeError::ShippedBaseOffset(_)) => "shipped-base-offset",
                Some(RecipeError::Offset { .. }) => "offset",
                Some(RecipeError::Length { .. }) => "length",
                Some(RecipeError::Size { .. }) => "size",
                Some(RecipeError::PastBase { .. }) => "past-base",
                Some(RecipeError::ChunkDigest { what: "base", .. }) => "base-digest",
                Some(RecipeError::ChunkDigest { .. }) => "chunk-digest",
                Some(RecipeError::Truncated(_)) => "truncated",
                Some(RecipeError::Trailing) => "trailing",
                None => "other",
            },
        };
        assert_eq!(outcome, expect, "{name}: {got:?}");
        if let Ok(bytes) = got {
            if name == "valid-insert" || name == "valid-all-shipped" {
                assert_eq!(bytes, target, "{name}");
            }
            assert_eq!(bytes.len() as u64, size, "{name}");
        }
    }
    Ok(())
}
