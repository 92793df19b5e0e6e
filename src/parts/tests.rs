//! Part sets end to end on the golden bundle, and the hostile part sets of
//! docs/threat-model.md (G24) each refused with its class.

use std::path::{Path, PathBuf};

use super::check::{PartKind, PartState, SetVerdict};
use super::index::{PartEntry, PartIndex, Trust};
use super::*;
use crate::Class;
use crate::envelope::{Envelope, KeyId, PublicKey};
use crate::io::source::BundleSource;
use crate::sign::SigningKey;

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden() -> PathBuf {
    root().join("tests/vectors/bundle/tiny.lbom")
}

fn transfer_key() -> Res<SigningKey> {
    Ok(SigningKey::load(
        &root().join("keys/demo-transfer.key"),
        None,
    )?)
}

/// Trusts one key for one role.
struct OneKey(PublicKey, &'static str);

impl Trust for OneKey {
    fn key_for(&self, key_id: &KeyId, role: &str) -> Option<PublicKey> {
        (self.0.key_id() == *key_id && role == self.1).then(|| self.0.clone())
    }
}

fn trust(key: &SigningKey) -> OneKey {
    OneKey(key.public_key().clone(), "transfer")
}

fn options(part_size: u64, parity: usize) -> SplitOptions {
    SplitOptions {
        part_size,
        parity,
        role: "transfer".into(),
    }
}

/// The golden bundle cut into 2 KiB parts (6) with 2 parity parts.
fn cut(dir: &Path) -> Res<(SplitOutcome, SigningKey)> {
    let key = transfer_key()?;
    let outcome = split(&golden(), &dir.join("set"), &options(2048, 2), &key)?;
    Ok((outcome, key))
}

fn part_path(outcome: &SplitOutcome, number: u32) -> PathBuf {
    outcome.media[number as usize - 1].join(outcome.index.data_file_name(number))
}

fn read_all(source: &dyn BundleSource) -> Res<Vec<u8>> {
    let mut out = vec![0u8; usize::try_from(source.len())?];
    // Odd-sized reads cross part and stripe edges.
    for (i, chunk) in out.chunks_mut(777).enumerate() {
        source.read_exact_at(chunk, i as u64 * 777)?;
    }
    Ok(out)
}

#[test]
fn a_cut_set_checks_complete_and_reads_back_as_the_bundle() -> Res {
    let dir = tempfile::tempdir()?;
    let (outcome, key) = cut(dir.path())?;
    assert_eq!(outcome.index.parts.len(), 6);
    assert_eq!(outcome.index.parity.len(), 2);
    assert_eq!(outcome.media.len(), 8);
    for medium in &outcome.media {
        assert!(
            medium
                .join(PartIndex::index_file_name(&outcome.index.name))
                .is_file()
        );
    }
    // Media given in any order, from several places.
    let mut paths = outcome.media.clone();
    paths.reverse();
    let report = verify_parts(&paths, &trust(&key))?;
    assert_eq!(report.verdict, SetVerdict::Complete);
    assert_eq!(report.class(), None);
    let reader = PartReader::from_report(&report)?;
    assert_eq!(read_all(&reader)?, std::fs::read(golden())?);
    let joined = dir.path().join("joined.lbom");
    join(&report, &joined)?;
    assert_eq!(std::fs::read(&joined)?, std::fs::read(golden())?);
    Ok(())
}

#[test]
fn a_missing_and_a_damaged_part_are_named_read_through_and_repaired_byte_for_byte() -> Res {
    let dir = tempfile::tempdir()?;
    let (outcome, key) = cut(dir.path())?;
    let gone = part_path(&outcome, 2);
    let hurt = part_path(&outcome, 5);
    let (gone_bytes, hurt_bytes) = (std::fs::read(&gone)?, std::fs::read(&hurt)?);
    std::fs::remove_file(&gone)?;
    let mut flipped = hurt_bytes.clone();
    flipped[100] ^= 1;
    std::fs::write(&hurt, &flipped)?;
    let paths = vec![dir.path().join("set")];
    let report = verify_parts(&paths, &trust(&key))?;
    let state = |n: u32| {
        report
            .parts
            .iter()
            .find(|p| p.kind == PartKind::Data && p.number == n)
            .map(|p| p.state.clone())
    };
    assert_eq!(state(2), Some(PartState::Missing));
    assert_eq!(state(5), Some(PartState::Damaged));
    assert_eq!(state(1), Some(PartState::Present));
    assert_eq!(report.verdict, SetVerdict::Repairable);
    assert_eq!(report.class(), Some(Class::Integrity));
    // Read through without repairing: the bundle's bytes, rebuilt on the fly.
    let reader = PartReader::from_report(&report)?;
    assert_eq!(read_all(&reader)?, std::fs::read(golden())?);
    let out = dir.path().join("repaired");
    let repaired = repair(&report, &out)?;
    assert_eq!(repaired.parts.len(), 2);
    let rebuilt = |n: u32| {
        out.join(format!("medium-{n:04}"))
            .join(outcome.index.data_file_name(n))
    };
    assert_eq!(std::fs::read(rebuilt(2))?, gone_bytes);
    assert_eq!(std::fs::read(rebuilt(5))?, hurt_bytes);
    // The repaired media and the intact ones make a complete set.
    std::fs::remove_file(&hurt)?;
    let report = verify_parts(&[dir.path().join("set"), out], &trust(&key))?;
    assert_eq!(report.verdict, SetVerdict::Complete);
    Ok(())
}

#[test]
fn missing_parity_parts_are_rebuilt_and_too_many_losses_name_what_to_copy_again() -> Res {
    let dir = tempfile::tempdir()?;
    let (outcome, key) = cut(dir.path())?;
    let parity1 = outcome.media[6].join(outcome.index.parity_file_name(1));
    let parity_bytes = std::fs::read(&parity1)?;
    std::fs::remove_file(&parity1)?;
    let paths = vec![dir.path().join("set")];
    let report = verify_parts(&paths, &trust(&key))?;
    assert_eq!(report.verdict, SetVerdict::Repairable);
    assert_eq!(report.class(), Some(Class::Io));
    let out = dir.path().join("out");
    repair(&report, &out)?;
    assert_eq!(
        std::fs::read(
            out.join("medium-0007")
                .join(outcome.index.parity_file_name(1))
        )?,
        parity_bytes
    );
    // Three of eight gone where two parity parts were made.
    for n in [1, 3] {
        std::fs::remove_file(part_path(&outcome, n))?;
    }
    let report = verify_parts(&paths, &trust(&key))?;
    let SetVerdict::CopyAgain { need, parts } = &report.verdict else {
        return Err(format!("{:?}", report.verdict).into());
    };
    assert_eq!((*need, parts.len()), (1, 3));
    let err = join(&report, &dir.path().join("j")).err().ok_or("joined")?;
    assert_eq!(err.class(), Class::Io, "{err}");
    assert!(!dir.path().join("j").exists());
    Ok(())
}

/// The index of `outcome` changed by `change`, signed again by `key` and
/// written over every copy.
fn resign(outcome: &SplitOutcome, key: &SigningKey, change: impl Fn(&mut PartIndex)) -> Res {
    let mut index = outcome.index.clone();
    change(&mut index);
    let bytes = index.sign(key);
    for medium in &outcome.media {
        std::fs::write(
            medium.join(PartIndex::index_file_name(&outcome.index.name)),
            &bytes,
        )?;
    }
    Ok(())
}

type Lie = (&'static str, fn(&mut PartIndex));

/// Indexes that lie about the bundle or its parts, each refused as
/// malformed however well signed ([B68], [B69]).
fn lies() -> Vec<Lie> {
    fn entry(n: u32, offset: u64, size: u64) -> PartEntry {
        PartEntry {
            number: n,
            offset,
            size,
            sha256: crate::io::digest::Sha256Digest([7; 32]),
        }
    }
    vec![
        ("an offset moved", |i: &mut PartIndex| {
            i.parts[2].offset += 1
        }),
        ("a size grown", |i: &mut PartIndex| i.parts[0].size += 2),
        ("the last part shrunk", |i: &mut PartIndex| {
            if let Some(p) = i.parts.last_mut() {
                p.size -= 1;
            }
        }),
        ("the bundle size grown", |i: &mut PartIndex| {
            i.bundle.size += 1
        }),
        ("a part duplicated", |i: &mut PartIndex| {
            let copy = i.parts[1].clone();
            i.parts.insert(1, copy);
        }),
        ("overlapping parts", |i: &mut PartIndex| {
            i.parts[1].offset -= 512;
        }),
        ("parts swapped", |i: &mut PartIndex| i.parts.swap(1, 2)),
        ("a part dropped", |i: &mut PartIndex| {
            i.parts.remove(3);
        }),
        ("a part added", |i: &mut PartIndex| {
            let n = i.parts.len() as u32 + 1;
            i.parts.push(entry(n, i.bundle.size, 10));
        }),
        ("numbers from 0", |i: &mut PartIndex| {
            for p in &mut i.parts {
                p.number -= 1;
            }
        }),
        ("an odd part size", |i: &mut PartIndex| i.part_size += 1),
        ("a part size under the minimum", |i: &mut PartIndex| {
            i.part_size = 2
        }),
        ("an odd stripe", |i: &mut PartIndex| i.stripe_size = 1001),
        (
            "stripes over the budget across the parts",
            |i: &mut PartIndex| i.stripe_size = 1 << 20,
        ),
        ("a stripe over 1 MiB", |i: &mut PartIndex| {
            i.stripe_size = (1 << 20) + 2
        }),
        ("a parity part of another size", |i: &mut PartIndex| {
            i.parity[0].size -= 2
        }),
        ("a parity part with an offset", |i: &mut PartIndex| {
            i.parity[1].offset = 4
        }),
        ("parity parts duplicated", |i: &mut PartIndex| {
            i.parity[1].number = 1
        }),
        ("over the parity limit", |i: &mut PartIndex| {
            let p = i.parity[0].clone();
            i.parity = vec![p; index::MAX_PARITY_PARTS + 1];
        }),
        ("over the data part limit", |i: &mut PartIndex| {
            i.parts = (0..=index::MAX_DATA_PARTS as u32)
                .map(|n| entry(n + 1, u64::from(n) * 1024, 1024))
                .collect();
            i.part_size = 1024;
            i.bundle.size = 1024 * (index::MAX_DATA_PARTS as u64 + 1);
        }),
        ("a name that is no label", |i: &mut PartIndex| {
            i.name = "../x".into()
        }),
        ("a role that is no label", |i: &mut PartIndex| {
            i.role = String::new()
        }),
    ]
}

#[test]
fn hostile_part_sets_are_refused_each_with_its_class() -> Res {
    let dir = tempfile::tempdir()?;
    let (outcome, key) = cut(dir.path())?;
    let paths = vec![dir.path().join("set")];
    let check = |want: Class, what: &str| -> Res {
        match verify_parts(&paths, &trust(&key)) {
            Err(e) => {
                assert_eq!(e.class(), want, "{what}: {e}");
                Ok(())
            }
            Ok(r) => Err(format!("{what}: accepted ({:?})", r.verdict).into()),
        }
    };
    for (what, lie) in lies() {
        resign(&outcome, &key, lie)?;
        check(Class::Malformed, what)?;
    }
    // An index swapped for one signed by another key, or claiming a role
    // the key is not trusted for, or with no signature at all.
    let other = SigningKey::from_seed(&[9; 32])?;
    let other_id = other.key_id();
    resign(&outcome, &other, move |i| i.keyid = other_id)?;
    check(Class::Trust, "signed by an untrusted key")?;
    resign(&outcome, &key, |i| i.role = "maintainer".into())?;
    check(Class::Trust, "a role the key is not trusted for")?;
    let mut unsigned = Envelope::new(
        crate::envelope::PAYLOAD_TYPE_IN_TOTO,
        outcome.index.payload(),
    );
    unsigned.signatures.clear();
    for medium in &outcome.media {
        let path = medium.join(PartIndex::index_file_name(&outcome.index.name));
        std::fs::write(&path, unsigned.encode())?;
    }
    check(Class::Trust, "unsigned")?;
    // A signed index with a byte changed in its payload.
    let mut bytes = outcome.index.sign(&key);
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    for medium in &outcome.media {
        std::fs::write(
            medium.join(PartIndex::index_file_name(&outcome.index.name)),
            &bytes,
        )?;
    }
    verify_parts(&paths, &trust(&key))
        .err()
        .ok_or("a changed index passed")?;
    // An index over the size limit is refused before it is read.
    let big = vec![b' '; index::MAX_INDEX_BYTES as usize + 1];
    for medium in &outcome.media {
        std::fs::write(
            medium.join(PartIndex::index_file_name(&outcome.index.name)),
            &big,
        )?;
    }
    check(Class::Malformed, "over the index size limit")?;
    Ok(())
}

#[test]
fn parts_of_another_bundle_are_foreign_or_damaged_and_two_trusted_sets_are_ambiguous() -> Res {
    let dir = tempfile::tempdir()?;
    let (outcome, key) = cut(dir.path())?;
    // Another bundle: the golden one with a link more.
    let other = dir.path().join("other.lbom");
    std::fs::copy(golden(), &other)?;
    let options_sign = crate::bundle::SignOptions {
        role: "transfer".into(),
        note: None,
        time: None,
    };
    crate::bundle::sign(&other, &key, &options_sign)?;
    let theirs = split(&other, &dir.path().join("theirs"), &options(2048, 1), &key)?;
    // Their sixth part holds the link ours lacks (the first parts agree).
    let stray = theirs.media[5].join(theirs.index.data_file_name(6));
    // Beside ours under its own name: foreign, and the set is still complete.
    let ours = &outcome.media[0];
    std::fs::copy(&stray, ours.join(theirs.index.data_file_name(6)))?;
    let report = verify_parts(&[dir.path().join("set")], &trust(&key))?;
    assert_eq!(report.verdict, SetVerdict::Complete);
    assert_eq!(report.foreign.len(), 1);
    // Under our part's name: damaged.
    std::fs::copy(&stray, part_path(&outcome, 6))?;
    let report = verify_parts(&[dir.path().join("set")], &trust(&key))?;
    assert_eq!(report.class(), Some(Class::Integrity));
    // Both sets' media given at once: which set is meant is not guessed.
    let err = verify_parts(
        &[dir.path().join("set"), dir.path().join("theirs")],
        &trust(&key),
    )
    .err()
    .ok_or("two sets accepted")?;
    assert_eq!(err.class(), Class::Usage, "{err}");
    Ok(())
}

#[test]
fn parity_that_does_not_match_the_data_is_caught_when_it_is_used() -> Res {
    let dir = tempfile::tempdir()?;
    let (outcome, key) = cut(dir.path())?;
    // A signer whose parity is wrong but whose index names it faithfully.
    let mut wrong = outcome.index.clone();
    for (j, entry) in wrong.parity.iter_mut().enumerate() {
        let path = outcome.media[6 + j].join(outcome.index.parity_file_name(entry.number));
        let mut bytes = std::fs::read(&path)?;
        for b in bytes.iter_mut().step_by(97) {
            *b ^= 0x5a;
        }
        entry.sha256 = crate::io::digest::Sha256Digest::of(&bytes);
        std::fs::write(&path, bytes)?;
    }
    resign(&outcome, &key, |i| i.parity.clone_from(&wrong.parity))?;
    std::fs::remove_file(part_path(&outcome, 4))?;
    let report = verify_parts(&[dir.path().join("set")], &trust(&key))?;
    assert_eq!(report.verdict, SetVerdict::Repairable);
    let err = repair(&report, &dir.path().join("out"))
        .err()
        .ok_or("repaired")?;
    assert_eq!(err.class(), Class::Integrity, "{err}");
    let err = join(&report, &dir.path().join("j")).err().ok_or("joined")?;
    assert_eq!(err.class(), Class::Integrity, "{err}");
    assert!(!dir.path().join("j").exists());
    Ok(())
}

#[test]
fn the_committed_vector_is_what_split_writes() -> Res {
    // tests/vectors/parts/set/: the golden bundle in 4 KiB parts with one
    // parity part, signed by the demo transfer key (Ed25519 signatures are
    // deterministic and the index holds no time, so a cut is reproducible).
    let dir = tempfile::tempdir()?;
    let key = transfer_key()?;
    let outcome = split(&golden(), &dir.path().join("set"), &options(4096, 1), &key)?;
    let vector = root().join("tests/vectors/parts/set");
    if std::env::var_os("LBOM_REGENERATE_VECTORS").is_some() {
        let _ = std::fs::remove_dir_all(&vector);
        copy_tree(&dir.path().join("set"), &vector)?;
    }
    for medium in &outcome.media {
        let name = medium.file_name().ok_or("no name")?;
        for entry in std::fs::read_dir(medium)? {
            let path = entry?.path();
            let file = path.file_name().ok_or("no name")?;
            assert_eq!(
                std::fs::read(&path)?,
                std::fs::read(vector.join(name).join(file))?,
                "{}",
                path.display()
            );
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Res {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().ok_or("no name")?);
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}

#[test]
fn the_independent_vector_is_what_split_writes() -> Res {
    // tests/vectors/parts/independent/: written by tests/tools/part_vector.py
    // (Python slicing, hashlib, tarfile, json), not by lbom.
    let dir = tempfile::tempdir()?;
    let key = transfer_key()?;
    let outcome = split(&golden(), &dir.path().join("set"), &options(4096, 0), &key)?;
    let vector = root().join("tests/vectors/parts/independent");
    assert_eq!(
        outcome.index.payload(),
        std::fs::read(vector.join("statement.json"))?
    );
    for part in &outcome.index.parts {
        let name = outcome.index.data_file_name(part.number);
        assert_eq!(
            std::fs::read(part_path(&outcome, part.number))?,
            std::fs::read(vector.join(&name))?,
            "{name}"
        );
    }
    // The index lbom signed is that statement.
    let index =
        std::fs::read(outcome.media[0].join(PartIndex::index_file_name(&outcome.index.name)))?;
    let (parsed, envelope) = PartIndex::parse(&index)?;
    assert_eq!(
        envelope.payload,
        std::fs::read(vector.join("statement.json"))?
    );
    assert!(parsed.is_trusted(&envelope, &trust(&key)));
    Ok(())
}

#[test]
fn split_refuses_what_a_reader_would_refuse() -> Res {
    let dir = tempfile::tempdir()?;
    let key = transfer_key()?;
    for (n, (size, parity)) in [(512, 0), (1, 1), (4096, index::MAX_PARITY_PARTS + 1)]
        .into_iter()
        .enumerate()
    {
        let out = dir.path().join(n.to_string());
        let err = split(&golden(), &out, &options(size, parity), &key)
            .err()
            .ok_or("split accepted")?;
        assert_eq!(err.class(), Class::Usage, "{err}");
        assert!(!out.exists(), "wrote before refusing");
    }
    // An odd size is rounded down to even, and the set it writes passes.
    let outcome = split(&golden(), &dir.path().join("odd"), &options(3001, 3), &key)?;
    assert_eq!(outcome.index.part_size, 3000);
    outcome.index.check()?;
    // Nothing is overwritten.
    let err = split(&golden(), &dir.path().join("odd"), &options(3001, 3), &key)
        .err()
        .ok_or("overwrote")?;
    assert_eq!(err.class(), Class::Io, "{err}");
    Ok(())
}

/// Every command tells each medium's bar its whole size, and no more:
/// split (every data and parity medium), verify-parts (read in parallel),
/// repair (the rebuilt parts) and join (the data parts, one rebuilt on
/// the fly).
#[test]
fn each_medium_is_told_its_whole_size() -> Res {
    use super::progress::Counted;
    let dir = tempfile::tempdir()?;
    let key = transfer_key()?;
    let set = dir.path().join("set");
    let told = Counted::default();
    let outcome = split_with(&golden(), &set, &options(2048, 2), &key, &told)?;
    assert!(told.whole(), "split: {told:?}");
    let labels: Vec<String> = told.media.lock().map_err(|_| "lock")?.iter().map(|(l, _)| l.clone()).collect();
    let want: Vec<String> = (1..=outcome.media.len()).map(|n| format!("medium-{n:04}")).collect();
    assert_eq!(labels, want);
    let told = Counted::default();
    verify_parts_with(std::slice::from_ref(&set), &trust(&key), &told)?;
    assert!(told.whole(), "verify-parts: {told:?}");
    assert_eq!(told.media.lock().map_err(|_| "lock")?.len(), 8);
    std::fs::remove_file(part_path(&outcome, 2))?;
    let report = verify_parts(std::slice::from_ref(&set), &trust(&key))?;
    let told = Counted::default();
    repair_with(&report, &dir.path().join("fixed"), &told)?;
    assert!(told.whole(), "repair: {told:?}");
    assert_eq!(told.media.lock().map_err(|_| "lock")?.len(), 1);
    let told = Counted::default();
    join_with(&report, &dir.path().join("joined.lbom"), &told)?;
    assert!(told.whole(), "join: {told:?}");
    assert_eq!(told.media.lock().map_err(|_| "lock")?.len(), 6);
    Ok(())
}
