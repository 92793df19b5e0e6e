//! The recipe reader against every rule of docs/bundle-format.md [B78]: a
//! generator of valid recipes, each broken one rule at a time, and a
//! property that any bytes give a recipe or an error, never a panic, and
//! that what is accepted rebuilds exactly the size asked for.

use super::*;
use proptest::prelude::*;

fn digest(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest::of(bytes)
}

/// A valid payload: `parts` are (is_base, bytes), the base bytes taken
/// from offset `base_at` of some base file.
fn payload(base_path: Option<&str>, parts: &[(bool, Vec<u8>)]) -> (Vec<u8>, u64) {
    let head = Head {
        base_path: base_path.and_then(|p| BundlePath::new(p).ok()),
        op_count: parts.len() as u32,
    };
    let mut out = Vec::new();
    let mut w = match RecipeWriter::new(&mut out, &head) {
        Ok(w) => w,
        Err(_) => return (Vec::new(), 0),
    };
    let mut at = 0u64;
    for (i, (is_base, bytes)) in parts.iter().enumerate() {
        let op = Op {
            kind: if *is_base {
                OpKind::Base
            } else {
                OpKind::Shipped
            },
            target_offset: at,
            length: bytes.len() as u64,
            base_offset: if *is_base { i as u64 * 7 } else { 0 },
            sha256: digest(bytes),
        };
        let _ = w.op(&op);
        if !*is_base {
            let _ = w.chunk(bytes);
        }
        at += bytes.len() as u64;
    }
    (out, at)
}

fn refused(bytes: &[u8], size: u64) -> Option<RecipeError> {
    match check_payload(bytes, size) {
        Ok(_) => None,
        Err(e) => Some(recipe_error(&e).cloned().unwrap_or(RecipeError::Trailing)),
    }
}

/// Offset of operation `index`'s record in a payload made by [`payload`].
fn record_at(base_path: Option<&str>, parts: &[(bool, Vec<u8>)], index: usize) -> usize {
    let mut at = 14 + base_path.map_or(0, str::len);
    for (is_base, bytes) in parts.iter().take(index) {
        at += OP_BYTES as usize;
        if !*is_base {
            at += bytes.len();
        }
    }
    at
}

#[test]
fn a_valid_recipe_is_read_and_summed() -> io::Result<()> {
    let parts = vec![
        (true, b"from the base".to_vec()),
        (false, b"shipped".to_vec()),
        (true, b"more".to_vec()),
    ];
    let (bytes, size) = payload(Some("model.gguf"), &parts);
    assert_eq!(
        bytes.len() as u64,
        payload_size(
            &Head {
                base_path: BundlePath::new("model.gguf").ok(),
                op_count: 3
            },
            &[
                Op {
                    kind: OpKind::Base,
                    target_offset: 0,
                    length: 13,
                    base_offset: 0,
                    sha256: digest(b"")
                },
                Op {
                    kind: OpKind::Shipped,
                    target_offset: 13,
                    length: 7,
                    base_offset: 0,
                    sha256: digest(b"")
                },
                Op {
                    kind: OpKind::Base,
                    target_offset: 20,
                    length: 4,
                    base_offset: 0,
                    sha256: digest(b"")
                },
            ],
        )
    );
    let (head, summary) = check_payload(bytes.as_slice(), size)?;
    assert_eq!(
        head.base_path.as_ref().map(BundlePath::as_str),
        Some("model.gguf")
    );
    assert_eq!(
        summary,
        PayloadSummary {
            ops: 3,
            shipped_bytes: 7,
            base_bytes: 17
        }
    );
    // An empty file: no operation, no base.
    let (empty, size) = payload(None, &[]);
    assert_eq!(check_payload(empty.as_slice(), size)?.1.ops, 0);
    Ok(())
}

/// One hostile payload: its name, bytes, the manifest size, and the rule
/// that must refuse it.
type Hostile = (&'static str, Vec<u8>, u64, fn(&RecipeError) -> bool);

fn hostile_payloads() -> Vec<Hostile> {
    let parts = vec![
        (true, b"0123456789".to_vec()),
        (false, b"shipped chunk".to_vec()),
        (true, b"abcdef".to_vec()),
    ];
    let path = Some("m.gguf");
    let (good, size) = payload(path, &parts);
    let at = |i: usize| record_at(path, &parts, i);
    let with = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        edit(&mut b);
        b
    };
    let put_u64 = |b: &mut Vec<u8>, at: usize, v: u64| {
        if let Some(dst) = b.get_mut(at..at + 8) {
            dst.copy_from_slice(&v.to_be_bytes());
        }
    };
    let mut out: Vec<Hostile> = vec![
        ("magic", with(&|b| b[0] = b'X'), size, |e| {
            matches!(e, RecipeError::Magic)
        }),
        ("empty", Vec::new(), size, |e| {
            matches!(e, RecipeError::Magic)
        }),
        ("kind", with(&|b| b[at(1)] = b'Z'), size, |e| {
            matches!(
                e,
                RecipeError::Kind {
                    index: 1,
                    kind: b'Z'
                }
            )
        }),
        (
            "shipped base offset",
            with(&|b| put_u64(b, at(1) + 17, 5)),
            size,
            |e| matches!(e, RecipeError::ShippedBaseOffset(1)),
        ),
        ("gap", with(&|b| put_u64(b, at(1) + 1, 11)), size, |e| {
            matches!(
                e,
                RecipeError::Offset {
                    index: 1,
                    got: 11,
                    want: 10
                }
            )
        }),
        ("overlap", with(&|b| put_u64(b, at(2) + 1, 3)), size, |e| {
            matches!(e, RecipeError::Offset { index: 2, .. })
        }),
        (
            "zero length",
            with(&|b| put_u64(b, at(0) + 9, 0)),
            size,
            |e| {
                matches!(
                    e,
                    RecipeError::Length {
                        index: 0,
                        length: 0
                    }
                )
            },
        ),
        ("manifest larger", good.clone(), size + 1, |e| {
            matches!(e, RecipeError::Size { .. })
        }),
        ("manifest smaller", good.clone(), size - 1, |e| {
            matches!(e, RecipeError::Size { .. })
        }),
        (
            "huge length",
            with(&|b| put_u64(b, at(0) + 9, u64::MAX)),
            size,
            |e| matches!(e, RecipeError::Size { .. }),
        ),
        (
            "shipped digest",
            with(&|b| b[at(1) + OP_BYTES as usize] ^= 1),
            size,
            |e| {
                matches!(
                    e,
                    RecipeError::ChunkDigest {
                        index: 1,
                        what: "shipped",
                        ..
                    }
                )
            },
        ),
        ("trailing byte", with(&|b| b.push(0)), size, |e| {
            matches!(e, RecipeError::Trailing)
        }),
        ("count too low", with(&|b| b[19] = 2), size, |e| {
            matches!(e, RecipeError::Trailing)
        }),
        ("count too high", with(&|b| b[19] = 4), size, |e| {
            matches!(e, RecipeError::Truncated(_))
        }),
        (
            "huge count",
            with(&|b| b[16..20].copy_from_slice(&u32::MAX.to_be_bytes())),
            size,
            |e| matches!(e, RecipeError::TooManyOps(_)),
        ),
    ];
    // A base operation without a base file.
    let (no_base, _) = payload(None, &[(false, b"x".to_vec())]);
    let mut b = no_base;
    b[14] = b'B';
    out.push(("base op without base path", b, 1, |e| {
        matches!(e, RecipeError::NoBaseFile(0))
    }));
    // "m.gguf" (bytes 10 to 16) made "a/../b".
    let mut b = good.clone();
    if let Some(dst) = b.get_mut(10..16) {
        dst.copy_from_slice(b"a/../b");
    }
    out.push(("base path not canonical", b, size, |e| {
        matches!(e, RecipeError::BasePath(_))
    }));
    // Cut short anywhere.
    for cut in [
        4,
        12,
        17,
        at(0) + 20,
        at(1) + OP_BYTES as usize + 3,
        good.len() - 1,
    ] {
        out.push((
            "cut short",
            good.get(..cut).unwrap_or_default().to_vec(),
            size,
            |e| matches!(e, RecipeError::Truncated(_) | RecipeError::Magic),
        ));
    }
    out
}

#[test]
fn every_hostile_recipe_is_refused_by_its_rule() {
    for (name, bytes, size, rule) in hostile_payloads() {
        match refused(&bytes, size) {
            Some(e) => assert!(rule(&e), "{name}: refused for another reason: {e}"),
            None => panic!("{name}: accepted"),
        }
    }
}

proptest! {
    /// Any bytes: an error or a recipe whose operations cover exactly the
    /// size asked for; never a panic.
    #[test]
    fn any_bytes_give_a_recipe_or_an_error(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        size in 0u64..1000,
    ) {
        if let Ok((_, summary)) = check_payload(bytes.as_slice(), size) {
            prop_assert_eq!(summary.shipped_bytes + summary.base_bytes, size);
        }
    }

    /// Valid recipes round-trip, and flipping any one byte of one is either
    /// refused or still a recipe of the same size (a base offset or a base
    /// chunk's digest, which only the rebuild can judge).
    #[test]
    fn written_recipes_are_read_back_and_any_flip_is_judged(
        parts in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 1..40)), 0..8),
        flip in any::<prop::sample::Index>(),
    ) {
        let (bytes, size) = payload(Some("a/b.bin"), &parts);
        let (_, summary) = check_payload(bytes.as_slice(), size)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(summary.ops as usize, parts.len());
        if !bytes.is_empty() {
            let mut bad = bytes.clone();
            let i = flip.index(bad.len());
            bad[i] ^= 0x01;
            if let Ok((_, s)) = check_payload(bad.as_slice(), size) {
                prop_assert_eq!(s.shipped_bytes + s.base_bytes, size);
                prop_assert_eq!(s.shipped_bytes, summary.shipped_bytes);
            }
        }
    }
}
