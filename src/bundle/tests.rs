//! End-to-end tests of pack → read → sign, with external tools as judges
//! (GNU tar, zstd, the Python DSSE/in-toto validators).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::pack::Compression;
use super::pack::tests::{options, pack_test};
use super::{Error, layout, read};
use crate::bundle::{SignOptions, sign};
use crate::envelope::Envelope;
use crate::io::digest::Sha256Digest;
use crate::sign::SigningKey;

type R = Result<(), Box<dyn std::error::Error>>;

fn inputs(dir: &Path) -> std::io::Result<PathBuf> {
    let root = dir.join("model");
    std::fs::create_dir_all(root.join("sub"))?;
    std::fs::write(root.join("config.json"), br#"{"model_type":"llama"}"#)?;
    // Long enough that its entry names need the ustar prefix field.
    std::fs::write(
        root.join(format!("sub/{}.txt", "n".repeat(80))),
        b"long name",
    )?;
    std::fs::write(root.join("weights.bin"), vec![0u8; 300_000])?;
    let noise: Vec<u8> = (0..6250u32)
        .flat_map(|i| Sha256Digest::of(&i.to_le_bytes()).0)
        .collect();
    std::fs::write(root.join("sub/noise.dat"), noise)?;
    Ok(root)
}

fn key(n: u8) -> Result<SigningKey, crate::sign::Error> {
    SigningKey::from_seed(&[n; 32])
}

fn sign_opts(role: &str) -> SignOptions {
    SignOptions {
        role: role.into(),
        note: Some("test".into()),
        time: Some(jiff::Timestamp::UNIX_EPOCH),
    }
}

#[test]
fn pack_is_deterministic_and_gnu_tar_reads_it() -> R {
    let dir = tempfile::tempdir()?;
    let root = inputs(dir.path())?;
    let a = dir.path().join("a.lbom");
    let b = dir.path().join("b.lbom");
    pack_test(&options(vec![root.clone()], a.clone(), Compression::Auto))?;
    pack_test(&options(vec![root.clone()], b.clone(), Compression::Auto))?;
    assert_eq!(
        Sha256Digest::of(&std::fs::read(&a)?),
        Sha256Digest::of(&std::fs::read(&b)?)
    );
    assert!(matches!(
        pack_test(&options(vec![root.clone()], a.clone(), Compression::Auto)),
        Err(Error::OutputExists { .. })
    ));

    let listing = Command::new("tar").arg("-tvf").arg(&a).output()?;
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let text = String::from_utf8(listing.stdout)?;
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert_eq!(
        names,
        [
            "artifacts/config.json",
            "sboms/config.json.cdx.json",
            &format!("artifacts/sub/{}.txt", "n".repeat(80)),
            &format!("sboms/sub/{}.txt.cdx.json", "n".repeat(80)),
            "artifacts/sub/noise.dat",
            "sboms/sub/noise.dat.cdx.json",
            "artifacts/weights.bin.zst",
            "sboms/weights.bin.cdx.json",
            "attestation.intoto.json",
            "manifest.json"
        ]
    );
    assert!(
        text.lines().all(|l| l.starts_with("-rw-r--r-- 0/0")),
        "{text}"
    );

    let out = dir.path().join("x");
    std::fs::create_dir(&out)?;
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&a)
        .arg("-C")
        .arg(&out)
        .status()?;
    assert!(status.success());
    assert_eq!(
        std::fs::read(out.join("artifacts/sub/noise.dat"))?,
        std::fs::read(root.join("sub/noise.dat"))?
    );
    let zst = out.join("artifacts/weights.bin.zst");
    let decoded = Command::new("zstd")
        .arg("-d")
        .arg("-c")
        .arg(&zst)
        .output()?;
    assert!(decoded.status.success());
    assert_eq!(decoded.stdout, std::fs::read(root.join("weights.bin"))?);

    let info = read::read_info(&a)?;
    assert_eq!(info.trust, "untrusted");
    assert_eq!(info.sboms.len(), 4);
    assert!(
        info.sboms
            .iter()
            .all(|s| s.format.as_deref() == Some("CycloneDX 1.6")),
        "{:?}",
        info.sboms
    );
    assert_eq!(info.manifest.sequence, 1);
    assert_eq!(
        info.manifest.expires.as_deref(),
        Some("1970-01-31T00:00:00Z")
    );
    let weights = info
        .manifest
        .entries
        .iter()
        .find(|e| e.path.as_str() == "artifacts/weights.bin.zst");
    assert_eq!(
        weights.map(|e| (e.size, e.sha256)),
        Some((300_000, Sha256Digest::of(&[0u8; 300_000])))
    );
    Ok(())
}

#[test]
fn previous_bundle_sets_sequence_and_digest() -> R {
    let dir = tempfile::tempdir()?;
    let root = inputs(dir.path())?;
    let first = dir.path().join("1.lbom");
    let s1 = pack_test(&options(
        vec![root.clone()],
        first.clone(),
        Compression::None,
    ))?;
    let mut o = options(vec![root], dir.path().join("2.lbom"), Compression::None);
    o.previous = Some(first);
    let s2 = pack_test(&o)?;
    assert_eq!(s2.manifest.sequence, 2);
    assert_eq!(
        s2.manifest.previous.map(|p| p.manifest_sha256),
        Some(s1.manifest_sha256)
    );
    Ok(())
}

fn prefix_digest(path: &Path, len: u64) -> std::io::Result<Sha256Digest> {
    let bytes = std::fs::read(path)?;
    Ok(Sha256Digest::of(
        bytes
            .get(..usize::try_from(len).unwrap_or(0))
            .unwrap_or_default(),
    ))
}

/// Every link's envelope, decoded one at a time as the verifier does
/// (the reader keeps none).
fn link_envelopes(bundle: &Path) -> Result<Vec<Envelope>, Box<dyn std::error::Error>> {
    let limits = super::ReadLimits::default();
    let opened = read::open(bundle, &limits)?;
    let mut file = std::fs::File::open(bundle)?;
    let mut out = Vec::new();
    for (entry, _) in &opened.links {
        out.push(read::read_link(bundle, &mut file, entry, &limits)?.0);
    }
    Ok(out)
}

#[test]
fn sign_appends_one_link_and_keeps_every_earlier_byte() -> R {
    let dir = tempfile::tempdir()?;
    let root = inputs(dir.path())?;
    let bundle = dir.path().join("b.lbom");
    pack_test(&options(vec![root], bundle.clone(), Compression::Auto))?;
    let before = read::open(&bundle, &super::ReadLimits::default())?;
    let keep = before.layout.end_offset;
    let digest_before = prefix_digest(&bundle, keep)?;

    let maintainer = key(1)?;
    let first = sign(&bundle, &maintainer, &sign_opts("maintainer"))?;
    assert_eq!(prefix_digest(&bundle, keep)?, digest_before);
    let transfer = key(2)?;
    let second = sign(&bundle, &transfer, &sign_opts("transfer"))?;

    let after = read::open(&bundle, &super::ReadLimits::default())?;
    assert_eq!(after.links.len(), 2);
    let envelopes = link_envelopes(&bundle)?;
    let (e1, l1) = after.links.first().ok_or("link 1")?;
    let (_, l2) = after.links.get(1).ok_or("link 2")?;
    let (env1, env2) = (
        envelopes.first().ok_or("link 1")?,
        envelopes.get(1).ok_or("link 2")?,
    );
    assert_eq!(l1, &first.link);
    assert_eq!(l2, &second.link);
    assert_eq!(l1.predicate.previous, None);
    assert_eq!(
        l2.predicate.previous.as_ref().map(|p| p.sha256),
        Some(l1.entry_sha256)
    );
    assert_eq!(l1.manifest_sha256, after.manifest_sha256);
    assert_eq!(e1.header_offset, keep);
    assert!(
        env1.is_signed_by(maintainer.public_key()) && !env1.is_signed_by(transfer.public_key())
    );
    assert!(env2.is_signed_by(transfer.public_key()));
    assert_eq!(l2.predicate.keyid, transfer.key_id());

    // Interop: the Python reference tools accept each link.
    let python = venv_python()?;
    for (env, k) in envelopes.iter().zip([&maintainer, &transfer]) {
        let env_path = dir.path().join("link.json");
        std::fs::write(&env_path, env.encode())?;
        let pub_path = dir.path().join("key.pub");
        std::fs::write(&pub_path, k.public_key().to_pem()?)?;
        let out = Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/verify_dsse.py"))
            .arg(&env_path)
            .arg(&pub_path)
            .output()?;
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The Python venv with securesystemslib and in-toto-attestation: LBOM_VENV
/// or ./.venv (`make test` creates it). Missing is a failure, not a skip.
fn venv_python() -> Result<PathBuf, String> {
    let candidates = [
        std::env::var("LBOM_VENV").ok(),
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv").into()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|v| Path::new(&v).join("bin/python"))
        .find(|p| p.exists())
        .ok_or_else(|| {
            "interop check needs a Python venv: run tests/tools/setup-venv.sh or set LBOM_VENV"
                .into()
        })
}

#[test]
fn attestation_is_a_valid_in_toto_statement() -> R {
    let dir = tempfile::tempdir()?;
    let root = inputs(dir.path())?;
    let bundle = dir.path().join("b.lbom");
    pack_test(&options(vec![root], bundle.clone(), Compression::None))?;
    let opened = read::open(&bundle, &super::ReadLimits::default())?;
    let entry = opened
        .layout
        .entries
        .iter()
        .find(|e| e.name.as_str() == layout::ATTESTATION)
        .ok_or("attestation")?;
    let mut file = std::fs::File::open(&bundle)?;
    let bytes = read::read_entry(&bundle, &mut file, entry, 1 << 20)?;
    let path = dir.path().join("statement.json");
    std::fs::write(&path, &bytes)?;
    let script = "import json,sys\nimport google.protobuf.json_format as pbj\nfrom in_toto_attestation.v1 import statement_pb2\nfrom in_toto_attestation.v1.statement import Statement\npb=statement_pb2.Statement()\npbj.ParseDict(json.load(open(sys.argv[1])),pb)\nStatement.copy_from_pb(pb).validate()\n";
    let out = Command::new(venv_python()?)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn concurrent_signer_is_refused() -> R {
    let dir = tempfile::tempdir()?;
    let root = inputs(dir.path())?;
    let bundle = dir.path().join("b.lbom");
    pack_test(&options(vec![root], bundle.clone(), Compression::None))?;
    let holder = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&bundle)?;
    holder.lock()?;
    let refused = sign(&bundle, &key(1)?, &sign_opts("maintainer"));
    assert!(matches!(&refused, Err(Error::Locked { .. })), "{refused:?}");
    holder.unlock()?;
    sign(&bundle, &key(1)?, &sign_opts("maintainer"))?;
    Ok(())
}

#[test]
fn interrupted_sign_is_refused_by_readers_and_repaired_by_retry() -> R {
    let dir = tempfile::tempdir()?;
    let root = inputs(dir.path())?;
    let bundle = dir.path().join("b.lbom");
    pack_test(&options(vec![root], bundle.clone(), Compression::None))?;
    sign(&bundle, &key(1)?, &sign_opts("maintainer"))?;
    let good_len = std::fs::metadata(&bundle)?.len();
    let keep = read::open(&bundle, &super::ReadLimits::default())?
        .layout
        .end_offset;
    let prefix = prefix_digest(&bundle, keep)?;
    let signed = sign(&bundle, &key(2)?, &sign_opts("transfer"))?;
    // Simulate a crash in the middle of the second link's data: the file
    // cut short, and the marker the interrupted sign wrote first.
    for cut in [keep + 100, keep + 700, signed.bundle_bytes - 600] {
        let f = std::fs::OpenOptions::new().write(true).open(&bundle)?;
        f.set_len(cut)?;
        drop(f);
        // Without the marker, the same bytes are a copy cut short: refused
        // as such, and sign does not touch them.
        let refused = read::open(&bundle, &super::ReadLimits::default());
        assert!(
            matches!(refused, Err(Error::CutShort { .. })),
            "cut {cut}: {refused:?}"
        );
        assert!(sign(&bundle, &key(2)?, &sign_opts("transfer")).is_err());
        assert_eq!(std::fs::metadata(&bundle)?.len(), cut);
        super::marker::write_marker(&bundle, keep)?;
        let refused = read::open(&bundle, &super::ReadLimits::default());
        assert!(
            matches!(refused, Err(Error::IncompleteTail { offset, .. }) if offset == keep),
            "cut {cut} keep {keep}: {refused:?}"
        );
        let retry = sign(&bundle, &key(2)?, &sign_opts("transfer"))?;
        assert_eq!(retry.repaired_at, Some(keep));
        assert_eq!(retry.link.predicate.index, 2);
        assert_eq!(prefix_digest(&bundle, keep)?, prefix);
        assert_eq!(
            read::open(&bundle, &super::ReadLimits::default())?
                .links
                .len(),
            2
        );
    }
    assert!(good_len < signed.bundle_bytes);
    // Damage before the chain is never "repaired".
    let f = std::fs::OpenOptions::new().write(true).open(&bundle)?;
    f.set_len(1000)?;
    drop(f);
    assert!(sign(&bundle, &key(2)?, &sign_opts("transfer")).is_err());
    Ok(())
}

#[test]
fn hostile_inputs_are_refused() -> R {
    let dir = tempfile::tempdir()?;
    let outside = dir.path().join("secret.txt");
    std::fs::write(&outside, b"secret")?;
    type Setup = fn(&Path, &Path) -> std::io::Result<()>;
    type Check = fn(&Error) -> bool;
    let cases: [(&str, Setup, Check); 4] = [
        (
            "symlink",
            |root, outside| std::os::unix::fs::symlink(outside, root.join("link")),
            |e| {
                matches!(
                    e,
                    Error::UnsafeInput {
                        reason: super::UnsafeInput::SymlinkEscapes,
                        ..
                    }
                )
            },
        ),
        (
            "fifo",
            |root, _| {
                Command::new("mkfifo")
                    .arg(root.join("pipe"))
                    .status()
                    .map(|_| ())
            },
            |e| {
                matches!(
                    e,
                    Error::UnsafeInput {
                        reason: super::UnsafeInput::Special("FIFO"),
                        ..
                    }
                )
            },
        ),
        (
            "nfd",
            |root, _| std::fs::write(root.join("cafe\u{301}.txt"), b"x"),
            |e| {
                matches!(
                    e,
                    Error::InputName {
                        source: super::PathError::NotNfc { .. },
                        ..
                    }
                )
            },
        ),
        (
            "case",
            |root, _| {
                std::fs::write(root.join("A.TXT"), b"x")
                    .and_then(|()| std::fs::write(root.join("a.txt"), b"y"))
            },
            |e| {
                matches!(
                    e,
                    Error::InputName {
                        source: super::PathError::Collision { .. },
                        ..
                    }
                )
            },
        ),
    ];
    for (label, setup, expected) in cases {
        let root = dir.path().join(label);
        std::fs::create_dir(&root)?;
        std::fs::write(root.join("ok.txt"), b"fine")?;
        setup(&root, &outside)?;
        let got = pack_test(&options(
            vec![root],
            dir.path().join(format!("{label}.lbom")),
            Compression::None,
        ));
        assert!(got.as_ref().is_err_and(expected), "{label}: {got:?}");
        assert!(!dir.path().join(format!("{label}.lbom")).exists());
    }
    Ok(())
}

/// The error and its sources, as `{:#}` prints them at the CLI.
fn chain_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// tests/vectors/bundle/hostile/*.tar, made by Python's tarfile
/// (gen_hostile.py): each has an `.expect` file naming the rejection.
#[test]
fn hostile_tars_are_refused() -> R {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/bundle/hostile");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "tar") {
            continue;
        }
        let expect = std::fs::read_to_string(path.with_extension("expect"))?;
        let want = expect
            .trim()
            .strip_prefix("expect: rejected: ")
            .ok_or("expect line")?
            .to_lowercase();
        let got = read::open(&path, &super::ReadLimits::default());
        let message = match &got {
            Err(e) => chain_text(e).to_lowercase(),
            Ok(_) => String::from("accepted"),
        };
        assert!(
            message.contains(&want),
            "{}: wanted {want:?}, got {message}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} hostile vectors");
    Ok(())
}

/// A bundle packed from fixed inputs has the checked-in SHA-256
/// (tests/vectors/bundle/tiny.sha256); any format change must update it on purpose.
#[test]
fn golden_bundle_digest() -> R {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("in");
    std::fs::create_dir(&root)?;
    std::fs::write(root.join("a.txt"), b"hello\n")?;
    std::fs::write(root.join("b.bin"), vec![0u8; 4096])?;
    let bundle = dir.path().join("tiny.lbom");
    let mut o = options(vec![root], bundle.clone(), Compression::Auto);
    let k = key(9)?;
    o.first_link = Some(super::pack::FirstLink {
        key: &k,
        role: "maintainer".into(),
        note: None,
    });
    pack_test(&o)?;
    let got = Sha256Digest::of(&std::fs::read(&bundle)?).to_hex();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/bundle");
    if std::env::var_os("LBOM_UPDATE_VECTORS").is_some() {
        std::fs::copy(&bundle, vectors.join("tiny.lbom"))?;
        std::fs::write(vectors.join("tiny.sha256"), format!("{got}  tiny.lbom\n"))?;
    }
    let want = std::fs::read_to_string(vectors.join("tiny.sha256"))?;
    assert_eq!(want.split_whitespace().next(), Some(got.as_str()));
    let env = link_envelopes(&bundle)?.into_iter().next().ok_or("link")?;
    assert!(Envelope::decode(&env.encode())?.is_signed_by(k.public_key()));
    Ok(())
}

/// tests/vectors/bundle/independent/: written by gen_vectors.py with Python's
/// tarfile and `cryptography`, not with lbom.
#[test]
fn independent_vectors_match() -> R {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/bundle/independent");
    let short = super::BundlePath::new("artifacts/model.gguf")?;
    assert_eq!(
        super::tar::encode_header(&short, 1234)?.to_vec(),
        std::fs::read(dir.join("header-short.bin"))?
    );
    let long = super::BundlePath::new(&std::fs::read_to_string(dir.join("header-long.name"))?)?;
    assert_eq!(
        super::tar::encode_header(&long, 5)?.to_vec(),
        std::fs::read(dir.join("header-long.bin"))?
    );
    // [B6]: a name with two possible splits is written with the longest
    // prefix; the header Python's tarfile writes (shortest prefix) is
    // refused by the reader.
    let split = super::BundlePath::new(&std::fs::read_to_string(dir.join("header-split.name"))?)?;
    assert_eq!(
        super::tar::encode_header(&split, 5)?.to_vec(),
        std::fs::read(dir.join("header-split-longest.bin"))?
    );
    for (file, ok) in [
        ("header-split-longest.bin", true),
        ("header-split-shortest.bin", false),
    ] {
        let mut tar = std::fs::read(dir.join(file))?;
        tar.extend_from_slice(b"hello");
        tar.resize(512 * 2 + 1024, 0);
        let len = tar.len() as u64;
        let walked = super::tar::walk(
            &mut std::io::Cursor::new(tar),
            len,
            &super::ReadLimits::default(),
        );
        assert_eq!(walked.is_ok(), ok, "{file}: {walked:?}");
    }

    let k = key(9)?;
    assert_eq!(
        std::fs::read_to_string(dir.join("link-0002.keyid"))?.trim(),
        k.key_id().to_string()
    );
    let predicate = super::chain::LinkPredicate {
        index: 2,
        role: "transfer".into(),
        keyid: k.key_id(),
        time: "2026-01-02T03:04:05Z".into(),
        note: Some("carried on USB stick 7".into()),
        previous: Some(super::chain::PreviousLink {
            path: "chain/0001.dsse.json".into(),
            sha256: Sha256Digest::of(b"link1"),
        }),
    };
    let payload = super::chain::link_payload(&Sha256Digest::of(b"manifest"), &predicate);
    let mut env = Envelope::new(crate::envelope::PAYLOAD_TYPE_IN_TOTO, payload);
    assert_eq!(env.pae(), std::fs::read(dir.join("link-0002.pae"))?);
    let sig = k.sign(&env.pae());
    env.signatures.push(crate::envelope::Signature {
        keyid: k.key_id().to_string(),
        sig,
    });
    assert_eq!(
        env.encode(),
        std::fs::read(dir.join("link-0002.dsse.json"))?
    );
    Ok(())
}

/// Throughput harness (not a test): `LBOM_BENCH_FILE=/path cargo test
/// --release --lib bench_pack_and_sign -- --ignored --nocapture`.
#[test]
#[ignore = "measurement harness; needs LBOM_BENCH_FILE"]
fn bench_pack_and_sign() -> R {
    let input = PathBuf::from(std::env::var("LBOM_BENCH_FILE")?);
    let out = input.with_extension("bench.lbom");
    let _ = std::fs::remove_file(&out);
    let start = std::time::Instant::now();
    let summary = super::pack(
        &options(vec![input.clone()], out.clone(), Compression::None),
        &mut |_| {},
    )?;
    let pack_secs = start.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    sign(&out, &key(1)?, &sign_opts("maintainer"))?;
    let sign_secs = start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "a rate")]
    let rate = summary.bytes as f64 / pack_secs / 1e9;
    println!(
        "pack: {} bytes in {pack_secs:.3} s = {rate:.3} GB/s; sign: {sign_secs:.4} s",
        summary.bytes
    );
    std::fs::remove_file(&out)?;
    Ok(())
}

/// docs/bundle-format.md [B19]: a zstd artifact is one RFC 8878 frame that
/// carries the content size and the content checksum (frame header
/// descriptor, RFC 8878 §3.1.1.1.1), and decodes to the input.
#[test]
fn zstd_artifacts_are_one_frame_with_size_and_checksum() -> R {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("in");
    std::fs::create_dir(&root)?;
    let input: Vec<u8> = (0..200_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    std::fs::write(root.join("w.bin"), &input)?;
    for level in [1, 3, 19] {
        let out = dir.path().join(format!("z{level}.lbom"));
        pack_test(&options(
            vec![root.clone()],
            out.clone(),
            Compression::Zstd(level),
        ))?;
        let bytes = std::fs::read(&out)?;
        let walked = super::tar::walk(
            &mut std::io::Cursor::new(&bytes),
            bytes.len() as u64,
            &super::ReadLimits::default(),
        )?;
        let entry = walked
            .entries
            .iter()
            .find(|e| e.name.as_str() == "artifacts/w.bin.zst")
            .ok_or("no zstd artifact")?;
        let start = usize::try_from(entry.data_offset)?;
        let frame = bytes
            .get(start..start + usize::try_from(entry.size)?)
            .ok_or("range")?;
        assert_eq!(frame.get(..4), Some(&[0x28, 0xb5, 0x2f, 0xfd][..]), "magic");
        let descriptor = *frame.get(4).ok_or("no descriptor")?;
        let single_segment = descriptor & 0x20 != 0;
        let size_flag = descriptor >> 6;
        assert!(single_segment || size_flag != 0, "no content size");
        assert!(descriptor & 0x04 != 0, "no content checksum");
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(frame)
                .ok()
                .flatten(),
            Some(input.len() as u64)
        );
        assert_eq!(
            zstd::zstd_safe::find_frame_compressed_size(frame).ok(),
            Some(frame.len()),
            "exactly one frame"
        );
        assert_eq!(zstd::decode_all(frame)?, input);
    }
    Ok(())
}

/// docs/bundle-format.md [B3] and the reader limit on links: a bundle with
/// as many well-formed links as the limit opens; one more is refused, and
/// `sign` refuses to append it. Only the reader is exercised: links are
/// parsed, not verified, so their signatures need not be real.
#[test]
fn the_chain_stops_at_the_link_limit() -> R {
    use super::chain::{LinkPredicate, link_payload};
    use super::tar::{END_MARKER_LEN, encode_header, padded};
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("in");
    std::fs::create_dir(&root)?;
    std::fs::write(root.join("a.txt"), b"a")?;
    let packed = dir.path().join("p.lbom");
    pack_test(&options(vec![root], packed.clone(), Compression::None))?;
    let mut bytes = std::fs::read(&packed)?;
    let marker = usize::try_from(END_MARKER_LEN)?;
    bytes.truncate(bytes.len() - marker);
    let manifest = read::open(&packed, &super::ReadLimits::default())?.manifest_sha256;
    let keyid = SigningKey::from_seed(&[3; 32])?.key_id();
    let link = |index: u32| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let predicate = LinkPredicate {
            index,
            role: "r".into(),
            keyid,
            time: "1970-01-01T00:00:00Z".into(),
            note: None,
            // The form asks for a previous link from link 2 on; whether it
            // names the right bytes is verify's question, not the reader's.
            previous: (index > 1).then(|| super::chain::PreviousLink {
                path: layout::link_name(index - 1),
                sha256: crate::io::digest::Sha256Digest::of(b"link"),
            }),
        };
        let mut env = Envelope::new(
            crate::envelope::PAYLOAD_TYPE_IN_TOTO,
            link_payload(&manifest, &predicate),
        );
        env.signatures.push(crate::envelope::Signature {
            keyid: keyid.to_string(),
            sig: vec![0; 64],
        });
        let data = env.encode();
        let mut out = encode_header(
            &super::BundlePath::new(&layout::link_name(index))?,
            data.len() as u64,
        )?
        .to_vec();
        out.extend_from_slice(&data);
        out.resize(512 + usize::try_from(padded(data.len() as u64))?, 0);
        Ok(out)
    };
    let most = u32::try_from(super::ReadLimits::default().max_links)?;
    for index in 1..=most {
        bytes.extend(link(index)?);
    }
    let at_cap = dir.path().join("at-cap.lbom");
    let mut full = bytes.clone();
    full.resize(full.len() + marker, 0);
    std::fs::write(&at_cap, &full)?;
    let opened = read::open(&at_cap, &super::ReadLimits::default())?;
    assert_eq!(opened.links.len(), usize::try_from(most)?);
    let refused = sign(&at_cap, &key(3)?, &sign_opts("maintainer"));
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("the most a reader accepts")),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read(&at_cap)?,
        full,
        "sign changed a bundle it refused"
    );
    bytes.extend(link(most + 1)?);
    bytes.resize(bytes.len() + marker, 0);
    let over = dir.path().join("over.lbom");
    std::fs::write(&over, &bytes)?;
    let err = read::open(&over, &super::ReadLimits::default())
        .err()
        .ok_or("one link more than the limit accepted")?;
    let text = err.to_string();
    let name = layout::link_name(most + 1);
    assert!(
        text.contains(&name) && text.contains(&format!("at most {most} links")),
        "{text}"
    );
    Ok(())
}

/// docs/bundle-format.md [B6], [B14], [B15]: pack refuses an input whose
/// derived entry names the ustar profile cannot hold, before writing: a
/// 95-byte file name (its SBOM segment `NAME.cdx.json` is over 100 bytes)
/// and four 50-byte folders deep (no `/` splits it into a prefix of at most
/// 155 bytes and a name of at most 100).
#[test]
fn pack_refuses_names_the_tar_profile_cannot_hold() -> R {
    let long_file = "f".repeat(95);
    let deep = ["a", "b", "c"].map(|c| c.repeat(50)).join("/");
    for (what, rel) in [
        ("long file name", long_file),
        ("deep path", format!("{deep}/{}", "d".repeat(50))),
    ] {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("in");
        let file = root.join(&rel);
        std::fs::create_dir_all(file.parent().ok_or("no parent")?)?;
        std::fs::write(&file, b"x")?;
        let out = dir.path().join("o.lbom");
        let got = pack_test(&options(vec![root], out.clone(), Compression::None));
        assert!(
            matches!(got, Err(Error::InputName { .. } | Error::Tar { .. })),
            "{what}: {got:?}"
        );
        assert!(!out.exists(), "{what}: output written");
    }
    Ok(())
}

/// docs/bundle-format.md [B60]: the writer refuses inputs two of whose
/// possible entry names collide, whichever encoding each would get; inputs
/// whose names only look alike pass.
#[test]
fn pack_refuses_inputs_whose_entry_names_could_collide() -> R {
    for (what, files, refused) in [
        ("a and a.zst", &["a", "a.zst"][..], true),
        ("a and a.zst/b", &["a", "a.zst/b"][..], true),
        ("a and a.cdx.json/b", &["a", "a.cdx.json/b"][..], true),
        ("a and A.ZST", &["a", "A.ZST"][..], true),
        ("a and a.zs", &["a", "a.zs"][..], false),
    ] {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("in");
        for f in files {
            let file = root.join(f);
            std::fs::create_dir_all(file.parent().ok_or("no parent")?)?;
            std::fs::write(&file, b"x")?;
        }
        let out = dir.path().join("o.lbom");
        let got = pack_test(&options(vec![root], out, Compression::Auto));
        assert_eq!(
            matches!(got, Err(Error::InputName { .. })),
            refused,
            "{what}: {got:?}"
        );
    }
    Ok(())
}

/// docs/bundle-format.md [B63]: pack never writes a bundle a reader would
/// refuse for its limits: one file more than the reader's artifact limit
/// is refused before anything is written.
#[test]
fn pack_refuses_more_files_than_a_reader_accepts() -> R {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("in");
    std::fs::create_dir(&root)?;
    let most = super::ReadLimits::default().max_artifacts;
    for i in 0..=most {
        std::fs::write(root.join(format!("{i:05}")), b"")?;
    }
    let out = dir.path().join("o.lbom");
    let got = pack_test(&options(vec![root.clone()], out.clone(), Compression::None));
    assert!(
        matches!(
            &got,
            Err(Error::UnsafeInput {
                reason: super::UnsafeInput::TooManyFiles(n),
                ..
            }) if *n == most as u64
        ),
        "{got:?}"
    );
    assert!(!out.exists());
    Ok(())
}
