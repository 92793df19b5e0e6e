//! End-to-end tests of `verify`: real bundles packed and signed in a
//! temporary folder, each check failed by a real mutation.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::policy::{
    Clock, ContentRules, HistoryRules, Policy, PolicyCaps, PolicySource, TimeRules, TrustedKey,
    UnknownSigners,
};
use super::{
    ArtifactSink, ChannelState, CheckName, Failure, HashOnly, Outcome, Report, VerifyContext,
    verify,
};
use crate::bundle::pack::Compression;
use crate::bundle::pack::tests::{options, pack_test};
use crate::bundle::tar::{self, END_MARKER_LEN};
use crate::bundle::{BundlePath, Encoding, Manifest, ManifestEntry, ReadLimits};
use crate::bundle::{SignOptions, sign};
use crate::inspect::Format;
use crate::io::digest::Sha256Digest;
use crate::sign::SigningKey;

type R = Result<(), Box<dyn std::error::Error>>;

const DAY: i64 = 86_400;

/// A minimal GGUF v3 (ggml docs/gguf.md): header, two string KVs, no tensors.
fn gguf(arch: &str, licence: &str) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(2u64.to_le_bytes());
    for (k, v) in [("general.architecture", arch), ("general.license", licence)] {
        b.extend((k.len() as u64).to_le_bytes());
        b.extend(k.as_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend((v.len() as u64).to_le_bytes());
        b.extend(v.as_bytes());
    }
    b
}

/// `model/m.gguf` (raw: too small to compress well) and `model/z.dat`
/// (zeros: stored zstd under `auto`).
fn inputs(dir: &Path) -> io::Result<PathBuf> {
    let root = dir.join("model");
    std::fs::create_dir_all(&root)?;
    std::fs::write(root.join("m.gguf"), gguf("llama", "MIT"))?;
    std::fs::write(root.join("z.dat"), vec![0u8; 300_000])?;
    Ok(root)
}

fn key(n: u8) -> Result<SigningKey, crate::sign::Error> {
    SigningKey::from_seed(&[n; 32])
}

fn sign_as(bundle: &Path, k: &SigningKey, role: &str) -> Result<(), crate::bundle::Error> {
    sign(
        bundle,
        k,
        &SignOptions {
            role: role.into(),
            note: None,
            time: Some(jiff::Timestamp::UNIX_EPOCH),
        },
    )
    .map(|_| ())
}

/// A bundle packed at the epoch (expires after 30 days), signed in turn by
/// each (key, role).
fn bundle(
    dir: &Path,
    name: &str,
    signers: &[(&SigningKey, &str)],
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let root = inputs(dir)?;
    let out = dir.join(name);
    pack_test(&options(vec![root], out.clone(), Compression::Auto))?;
    for (k, role) in signers {
        sign_as(&out, k, role)?;
    }
    Ok(out)
}

fn trusted(name: &str, k: &SigningKey, roles: &[&str]) -> TrustedKey {
    TrustedKey {
        name: name.into(),
        key: k.public_key().clone(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

/// Requires one maintainer; allows every format; no content rules.
fn policy(keys: Vec<TrustedKey>) -> Policy {
    Policy {
        source: PolicySource {
            path: PathBuf::from("policy.toml"),
            sha256: Sha256Digest::of(b"policy"),
        },
        keys,
        thresholds: BTreeMap::new(),
        required_roles: BTreeSet::from(["maintainer".to_owned()]),
        unknown_signers: UnknownSigners::Refuse,
        content: ContentRules {
            allowed_formats: [
                Format::Gguf,
                Format::Safetensors,
                Format::Json,
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

fn ctx_at(seconds: i64) -> Result<VerifyContext, jiff::Error> {
    Ok(VerifyContext {
        now: jiff::Timestamp::from_second(seconds)?,
        channel: None,
        caps: crate::bundle::Caps::default(),
        jobs: None,
    })
}

/// One day after packing: valid.
fn ctx() -> Result<VerifyContext, jiff::Error> {
    ctx_at(DAY)
}

fn run(bundle: &Path, p: &Policy, c: &VerifyContext) -> Report {
    verify(bundle, p, c, &mut HashOnly).0
}

fn outcome(r: &Report, name: &str) -> Option<Outcome> {
    r.checks.iter().find(|c| c.name == *name).map(|c| c.outcome)
}

fn detail<'a>(r: &'a Report, name: &str) -> &'a str {
    r.checks
        .iter()
        .find(|c| c.name == *name)
        .map_or("", |c| c.detail.as_str())
}

/// The report names every check in order; `name` failed with `failure`,
/// every check before it passed or warned, every later one was skipped.
fn assert_fails(r: &Report, name: &str, failure: Failure) {
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    let all: Vec<&str> = CheckName::verify_checks().map(CheckName::as_str).collect();
    assert_eq!(names, all, "{r:#?}");
    let at = all.iter().position(|n| *n == name);
    assert!(at.is_some(), "no check {name}");
    let at = at.unwrap_or(0);
    for (i, c) in r.checks.iter().enumerate() {
        if i < at {
            assert!(
                matches!(c.outcome, Outcome::Pass | Outcome::Warn),
                "{} should pass before {name}: {r:#?}",
                c.name
            );
        } else if i == at {
            assert_eq!(c.outcome, Outcome::Fail(failure), "{r:#?}");
        } else {
            assert_eq!(c.outcome, Outcome::Skipped, "{r:#?}");
        }
    }
    assert_eq!(r.failure(), Some(failure));
}

fn assert_passes(r: &Report) {
    assert!(r.passed(), "{r:#?}");
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    let all: Vec<&str> = CheckName::verify_checks().map(CheckName::as_str).collect();
    assert_eq!(names, all);
    for c in &r.checks {
        if c.name == "store.history" {
            continue;
        }
        assert!(matches!(c.outcome, Outcome::Pass | Outcome::Warn), "{r:#?}");
    }
}

// --- rewriting bundles ---------------------------------------------------

/// Every tar entry: name and stored bytes.
/// Tar entries by name, with their stored bytes.
type Entries = Vec<(String, Vec<u8>)>;

fn entries_of(path: &Path) -> Result<Entries, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path)?;
    let mut file = std::fs::File::open(path)?;
    let layout = tar::walk(&mut file, bytes.len() as u64, &ReadLimits::default())?;
    let mut out = Vec::new();
    for e in layout.entries {
        let start = usize::try_from(e.data_offset)?;
        let end = usize::try_from(e.data_offset + e.size)?;
        out.push((
            e.name.to_string(),
            bytes.get(start..end).unwrap_or_default().to_vec(),
        ));
    }
    Ok(out)
}

/// Write entries as a profile tar (valid headers and checksums).
fn write_tar(path: &Path, entries: &[(String, Vec<u8>)]) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    for (name, data) in entries {
        out.extend(tar::encode_header(
            &BundlePath::new(name)?,
            data.len() as u64,
        )?);
        out.extend(data);
        let pad = usize::try_from(tar::padded(data.len() as u64))? - data.len();
        out.extend(vec![0u8; pad]);
    }
    out.extend(vec![0u8; usize::try_from(END_MARKER_LEN)?]);
    std::fs::write(path, out)?;
    Ok(())
}

/// Rewrite `src` into `dst` with `edit` applied to the entries and the
/// manifest (a closure over the parsed manifest), the manifest's sizes and
/// digests of raw entries recomputed, and the chain dropped: the result is
/// an unsigned bundle an attacker could make from `src`.
fn reseal(
    src: &Path,
    dst: &Path,
    edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>),
    edit_manifest: impl FnOnce(&mut Manifest),
) -> R {
    let mut entries: Vec<(String, Vec<u8>)> = entries_of(src)?
        .into_iter()
        .filter(|(n, _)| !n.starts_with("chain/"))
        .collect();
    edit(&mut entries);
    let mut manifest: Manifest = serde_json::from_slice(
        &entries
            .iter()
            .find(|(n, _)| n == "manifest.json")
            .map(|(_, b)| b.clone())
            .unwrap_or_default(),
    )?;
    for m in &mut manifest.entries {
        let Some((_, bytes)) = entries.iter().find(|(n, _)| n == m.path.as_str()) else {
            continue;
        };
        m.stored_size = bytes.len() as u64;
        m.stored_sha256 = m.stored_sha256.map(|_| Sha256Digest::of(bytes));
        if m.encoding == Encoding::Raw {
            m.size = bytes.len() as u64;
            m.sha256 = Sha256Digest::of(bytes);
        }
    }
    edit_manifest(&mut manifest);
    for (n, b) in &mut entries {
        if n == "manifest.json" {
            *b = manifest.to_bytes();
        }
    }
    write_tar(dst, &entries)
}

fn replace_in(entries: &mut [(String, Vec<u8>)], name: &str, from: &str, to: &str) {
    for (n, b) in entries.iter_mut() {
        if n == name {
            let text = String::from_utf8_lossy(b).replace(from, to);
            *b = text.into_bytes();
        }
    }
}

/// Remove the component's `hashes` from an SBOM entry (as JSON).
fn drop_hashes(entries: &mut [(String, Vec<u8>)], name: &str) {
    for (n, b) in entries.iter_mut() {
        if n == name
            && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(b)
        {
            // CycloneDX 1.6: the model is the document's subject.
            if let Some(c) = v
                .get_mut("metadata")
                .and_then(|m| m.get_mut("component"))
                .and_then(|c| c.as_object_mut())
            {
                c.remove("hashes");
            }
            *b = serde_json::to_vec_pretty(&v).unwrap_or_default();
        }
    }
}

// --- the tests -----------------------------------------------------------

/// Keeps what the sink receives.
#[derive(Default, Clone)]
struct Recorder {
    artifacts: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    finished: Vec<String>,
    metadata: Vec<String>,
}

struct Into_(Arc<Mutex<BTreeMap<String, Vec<u8>>>>, String);

impl Write for Into_ {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut map = self.0.lock().map_err(|_| io::Error::other("poisoned"))?;
        map.entry(self.1.clone())
            .or_default()
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ArtifactSink for Recorder {
    fn begin(
        &mut self,
        artifact: &BundlePath,
        _: &ManifestEntry,
    ) -> io::Result<Option<Box<dyn Write + Send>>> {
        Ok(Some(Box::new(Into_(
            self.artifacts.clone(),
            artifact.to_string(),
        ))))
    }
    fn finish(&mut self, artifact: &BundlePath, _: &ManifestEntry) -> io::Result<()> {
        self.finished.push(artifact.to_string());
        Ok(())
    }
    fn metadata(&mut self, name: &BundlePath, _: &[u8]) -> io::Result<()> {
        self.metadata.push(name.to_string());
        Ok(())
    }
}

#[test]
fn a_good_bundle_passes_every_check_and_streams_into_the_sink() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "good.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let mut sink = Recorder::default();
    let (report, verified) = verify(&b, &p, &ctx()?, &mut sink);
    assert_passes(&report);
    assert_eq!(outcome(&report, "store.history"), Some(Outcome::Skipped));
    assert_eq!(
        detail(&report, "store.history"),
        crate::verify::run::NO_STORE
    );
    let v = verified.ok_or("no Verified")?;
    assert_eq!(v.signers.len(), 1);
    assert_eq!(
        v.signers.first().and_then(|s| s.key_name.as_deref()),
        Some("alice")
    );
    let gguf_facts = v
        .facts
        .iter()
        .find(|(p, _)| p.as_str() == "m.gguf")
        .map(|(_, f)| f);
    assert_eq!(
        gguf_facts.and_then(|f| f.architecture.as_deref()),
        Some("llama")
    );
    assert_eq!(v.manifest_sha256, Sha256Digest::of(&v.manifest_bytes));
    // The sink got each artifact's decoded bytes, then a finish for it.
    let got = sink.artifacts.lock().map_err(|_| "poisoned")?.clone();
    assert_eq!(got.get("m.gguf"), Some(&gguf("llama", "MIT")));
    assert_eq!(got.get("z.dat"), Some(&vec![0u8; 300_000]));
    assert_eq!(sink.finished, ["m.gguf", "z.dat"]);
    assert_eq!(
        sink.metadata,
        [
            "sboms/m.gguf.cdx.json",
            "sboms/z.dat.cdx.json",
            "attestation.intoto.json",
            "manifest.json",
            "chain/0001.dsse.json"
        ]
    );
    // z.dat went zstd: the decoder path ran.
    assert!(
        v.manifest
            .entries
            .iter()
            .any(|e| e.encoding == Encoding::Zstd)
    );
    Ok(())
}

#[test]
fn a_flipped_artifact_byte_fails_entries_digests() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    // Raw entries (the raw path), then the default (zstd) ones.
    let raw = dir.path().join("raw.lbom");
    pack_test(&options(
        vec![inputs(dir.path())?],
        raw.clone(),
        Compression::None,
    ))?;
    sign_as(&raw, &a, "maintainer")?;
    assert_passes(&run(&raw, &p, &ctx()?));
    let zstd = bundle(&dir.path().join("z"), "z.lbom", &[(&a, "maintainer")])?;
    for (b, name) in [(raw, "artifacts/m.gguf"), (zstd, "artifacts/z.dat.zst")] {
        let mut entries = entries_of(&b)?;
        let mut flipped = false;
        for (n, data) in &mut entries {
            if n == name
                && let Some(byte) = data.get_mut(20)
            {
                *byte ^= 1;
                flipped = true;
            }
        }
        assert!(flipped, "no entry {name}");
        write_tar(&b, &entries)?;
        let r = run(&b, &p, &ctx()?);
        assert_fails(&r, "entries.digests", Failure::Integrity);
        assert!(detail(&r, "entries.digests").contains(name), "{r:#?}");
    }
    Ok(())
}

/// `verify` scans artifacts on several threads (HashOnly keeps no bytes);
/// a sink that keeps bytes walks them in order on one. Both must give the
/// same report, and with two damaged artifacts both must name the first in
/// bundle order, however the threads were scheduled.
#[test]
fn scanning_ahead_in_parallel_reports_what_the_ordered_walk_reports() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let root = dir.path().join("many");
    std::fs::create_dir_all(&root)?;
    for i in 0..12u8 {
        // Distinct GGUF headers plus enough bytes for several reads.
        let mut bytes = gguf(&format!("arch{i}"), "MIT");
        bytes.extend(vec![i; 200_000 + usize::from(i) * 4099]);
        std::fs::write(root.join(format!("f{i:02}.gguf")), bytes)?;
    }
    let good = dir.path().join("good.lbom");
    pack_test(&options(vec![root], good.clone(), Compression::None))?;
    sign_as(&good, &a, "maintainer")?;
    let parallel = run(&good, &p, &ctx()?);
    let ordered = verify(&good, &p, &ctx()?, &mut Recorder::default()).0;
    assert_passes(&parallel);
    assert_eq!(
        format!("{:?}", parallel.checks),
        format!("{:?}", ordered.checks)
    );
    let bad = dir.path().join("bad.lbom");
    let mut entries = entries_of(&good)?;
    for (n, data) in &mut entries {
        if (n == "artifacts/f03.gguf" || n == "artifacts/f09.gguf")
            && let Some(byte) = data.get_mut(100_000)
        {
            *byte ^= 0x40;
        }
    }
    write_tar(&bad, &entries)?;
    for _ in 0..20 {
        let r = run(&bad, &p, &ctx()?);
        assert_fails(&r, "entries.digests", Failure::Integrity);
        let why = detail(&r, "entries.digests");
        assert!(why.contains("artifacts/f03.gguf"), "{why}");
        let ordered = verify(&bad, &p, &ctx()?, &mut Recorder::default()).0;
        assert_eq!(format!("{:?}", r.checks), format!("{:?}", ordered.checks));
    }
    Ok(())
}

#[test]
fn an_sbom_that_lies_about_its_model_fails_even_when_re_signed() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    for (from, to) in [
        ("\"llama\"", "\"mistral\""),
        ("\"gguf\"", "\"safetensors\""),
    ] {
        let lie = dir.path().join(format!("lie-{to}.lbom"));
        reseal(
            &b,
            &lie,
            |e| replace_in(e, "sboms/m.gguf.cdx.json", from, to),
            |_| {},
        )?;
        sign_as(&lie, &a, "maintainer")?;
        let r = run(&lie, &p, &ctx()?);
        assert_fails(&r, "sbom.consistent", Failure::Integrity);
        assert!(
            detail(&r, "sbom.consistent").contains("sboms/m.gguf.cdx.json"),
            "{r:#?}"
        );
    }
    // The SBOM's hash must be the artifact's, and must be there.
    let manifest: Manifest = entries_of(&b)?
        .into_iter()
        .find(|(n, _)| n == "manifest.json")
        .map(|(_, bytes)| serde_json::from_slice(&bytes))
        .transpose()?
        .ok_or("no manifest")?;
    let real = manifest
        .entries
        .iter()
        .find(|e| e.path.as_str().starts_with("artifacts/m.gguf"))
        .map(|e| e.sha256.to_hex())
        .unwrap_or_default();
    assert_eq!(real.len(), 64);
    let wrong = Sha256Digest::of(b"other").to_hex();
    for (name, to) in [("hash.lbom", wrong.as_str()), ("nohash.lbom", "")] {
        let lie = dir.path().join(name);
        reseal(
            &b,
            &lie,
            |e| {
                if to.is_empty() {
                    drop_hashes(e, "sboms/m.gguf.cdx.json");
                } else {
                    replace_in(e, "sboms/m.gguf.cdx.json", &real, to);
                }
            },
            |_| {},
        )?;
        sign_as(&lie, &a, "maintainer")?;
        let r = run(&lie, &p, &ctx()?);
        assert_fails(&r, "sbom.consistent", Failure::Integrity);
        assert!(detail(&r, "sbom.consistent").contains("SHA-256"), "{r:#?}");
    }
    Ok(())
}

#[test]
fn unsigned_and_untrusted_chains_fail_with_trust() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let mallory = key(9)?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let unsigned = bundle(dir.path(), "u.lbom", &[])?;
    assert_fails(&run(&unsigned, &p, &ctx()?), "chain.links", Failure::Trust);

    // The manifest edited (sequence) and re-signed by a key the policy does not list.
    let signed = bundle(&dir.path().join("s"), "s.lbom", &[(&a, "maintainer")])?;
    let edited = dir.path().join("edited.lbom");
    reseal(&signed, &edited, |_| {}, |m| m.sequence = 7)?;
    sign_as(&edited, &mallory, "maintainer")?;
    assert_fails(&run(&edited, &p, &ctx()?), "chain.signers", Failure::Trust);
    let mut ignore = p.clone();
    ignore.unknown_signers = UnknownSigners::Ignore;
    let r = run(&edited, &ignore, &ctx()?);
    assert_fails(&r, "chain.required_roles", Failure::Trust);
    Ok(())
}

#[test]
fn unknown_signer_is_refused_or_ignored_as_the_policy_says() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let stranger = key(7)?;
    let b = bundle(
        dir.path(),
        "b.lbom",
        &[(&a, "maintainer"), (&stranger, "transfer")],
    )?;
    let mut p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let r = run(&b, &p, &ctx()?);
    assert_fails(&r, "chain.signers", Failure::Trust);
    assert!(detail(&r, "chain.signers").contains("does not list"));
    p.unknown_signers = UnknownSigners::Ignore;
    let (r, v) = verify(&b, &p, &ctx()?, &mut HashOnly);
    assert_passes(&r);
    let signers = v.ok_or("no Verified")?.signers;
    assert_eq!(signers.len(), 2);
    assert_eq!(signers.get(1).map(|s| s.key_name.clone()), Some(None));
    Ok(())
}

#[test]
fn a_key_not_allowed_the_role_fails_chain_signers() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let t = key(2)?;
    let b = bundle(
        dir.path(),
        "b.lbom",
        &[(&a, "maintainer"), (&t, "maintainer")],
    )?;
    let p = policy(vec![
        trusted("alice", &a, &["maintainer"]),
        trusted("truck", &t, &["transfer"]),
    ]);
    let r = run(&b, &p, &ctx()?);
    assert_fails(&r, "chain.signers", Failure::Trust);
    assert!(detail(&r, "chain.signers").contains("truck"));
    Ok(())
}

#[test]
fn thresholds_count_unique_keys_not_links_or_policy_names() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let c = key(3)?;
    let twice = bundle(
        dir.path(),
        "twice.lbom",
        &[(&a, "maintainer"), (&a, "maintainer")],
    )?;
    let mut p = policy(vec![
        trusted("alice", &a, &["maintainer"]),
        trusted("carol", &c, &["maintainer"]),
    ]);
    p.thresholds.insert("maintainer".into(), 2);
    assert_fails(&run(&twice, &p, &ctx()?), "chain.threshold", Failure::Trust);

    // One key listed twice under two names is still one key.
    let mut dup = policy(vec![
        trusted("alice", &a, &["maintainer"]),
        trusted("alice-again", &a, &["maintainer"]),
    ]);
    dup.thresholds.insert("maintainer".into(), 2);
    assert_fails(
        &run(&twice, &dup, &ctx()?),
        "chain.threshold",
        Failure::Trust,
    );

    // Two keys meet it.
    let two = bundle(
        &dir.path().join("2"),
        "two.lbom",
        &[(&a, "maintainer"), (&c, "maintainer")],
    )?;
    assert_passes(&run(&two, &p, &ctx()?));

    // A required role nobody signed.
    let mut need = policy(vec![trusted("alice", &a, &["maintainer", "transfer"])]);
    need.required_roles.insert("transfer".into());
    assert_fails(&run(&two, &need, &ctx()?), "chain.signers", Failure::Trust);
    let one = bundle(&dir.path().join("1"), "one.lbom", &[(&a, "maintainer")])?;
    assert_fails(
        &run(&one, &need, &ctx()?),
        "chain.required_roles",
        Failure::Trust,
    );
    Ok(())
}

#[test]
fn a_bad_signature_fails_chain_signatures() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let mut entries = entries_of(&b)?;
    for (n, data) in &mut entries {
        if n == "chain/0001.dsse.json" {
            // Re-encode the envelope with one signature bit flipped.
            let mut env = crate::envelope::Envelope::decode(data)?;
            if let Some(s) = env.signatures.first_mut().and_then(|s| s.sig.first_mut()) {
                *s ^= 1;
            }
            *data = env.encode();
        }
    }
    write_tar(&b, &entries)?;
    let r = run(
        &b,
        &policy(vec![trusted("alice", &a, &["maintainer"])]),
        &ctx()?,
    );
    assert_fails(&r, "chain.signatures", Failure::Trust);
    Ok(())
}

#[test]
fn expiry_and_clock_rules() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    // Expired (30 days after the epoch).
    assert_fails(
        &run(&b, &p, &ctx_at(31 * DAY)?),
        "bundle.expiry",
        Failure::Trust,
    );
    // Created in the future, beyond five minutes of skew; within is fine.
    assert_fails(
        &run(&b, &p, &ctx_at(-3600)?),
        "bundle.expiry",
        Failure::Trust,
    );
    assert_passes(&run(&b, &p, &ctx_at(-60)?));
    // Too old.
    let mut old = p.clone();
    old.time.max_age = Some(jiff::SignedDuration::from_hours(1));
    assert_fails(&run(&b, &old, &ctx()?), "bundle.age", Failure::Policy);
    // Untrusted clock: warnings, but never older than the baseline.
    let mut untrusted = old.clone();
    untrusted.time.clock = Clock::Untrusted;
    let r = run(&b, &untrusted, &ctx_at(31 * DAY)?);
    assert_passes(&r);
    assert_eq!(outcome(&r, "bundle.expiry"), Some(Outcome::Warn));
    assert!(detail(&r, "bundle.expiry").contains("not trusted"));
    let mut c = ctx()?;
    c.channel = Some(ChannelState {
        current: Some((0, Sha256Digest::of(b"x"), "1970-01-02T00:00:00Z".into())),
        versions: BTreeMap::new(),
        model: None,
    });
    // Created before the baseline (a day after this bundle): too old
    // whatever the clock says [P30].
    assert_fails(&run(&b, &untrusted, &c), "bundle.age", Failure::Policy);
    // Expired (30 days) before the baseline was created (45 days): certainly
    // expired [P30].
    c.channel = Some(ChannelState {
        current: Some((0, Sha256Digest::of(b"x"), "1970-02-15T00:00:00Z".into())),
        versions: BTreeMap::new(),
        model: None,
    });
    assert_fails(&run(&b, &untrusted, &c), "bundle.expiry", Failure::Trust);
    // Without a baseline both time checks only warn.
    let r = run(&b, &untrusted, &ctx_at(400 * DAY)?);
    assert_passes(&r);
    assert_eq!(outcome(&r, "bundle.age"), Some(Outcome::Warn));
    // Required expiry missing.
    let mut o = options(
        vec![inputs(&dir.path().join("n"))?],
        dir.path().join("n.lbom"),
        Compression::Auto,
    );
    o.expires = None;
    pack_test(&o)?;
    sign_as(&o.output, &a, "maintainer")?;
    let mut need = p.clone();
    need.time.require_expiry = true;
    assert_fails(
        &run(&o.output, &need, &ctx()?),
        "bundle.expiry",
        Failure::Trust,
    );
    Ok(())
}

#[test]
fn a_demo_key_warns() -> R {
    let dir = tempfile::tempdir()?;
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys");
    let demo = SigningKey::load(&keys.join("demo-maintainer.key"), None)?;
    let b = bundle(dir.path(), "b.lbom", &[(&demo, "maintainer")])?;
    let r = run(
        &b,
        &policy(vec![trusted("demo", &demo, &["maintainer"])]),
        &ctx()?,
    );
    assert_passes(&r);
    assert_eq!(outcome(&r, "trust.demo_key"), Some(Outcome::Warn));
    assert!(detail(&r, "trust.demo_key").contains("demo"));
    let a = key(1)?;
    let plain = bundle(&dir.path().join("p"), "p.lbom", &[(&a, "maintainer")])?;
    let r = run(
        &plain,
        &policy(vec![trusted("alice", &a, &["maintainer"])]),
        &ctx()?,
    );
    assert_eq!(outcome(&r, "trust.demo_key"), Some(Outcome::Pass));
    Ok(())
}

/// A zstd frame of `len` zeros whose header records `claimed` as its
/// content size (RFC 8878 §3.1.1.1.1: FCS_Field_Size flag 1 = 2 bytes,
/// value − 256), built from a frame without one.
fn lying_frame(len: usize, claimed: u16) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3)?;
    enc.include_contentsize(false)?;
    enc.include_checksum(true)?;
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..len / zeros.len() {
        enc.write_all(&zeros)?;
    }
    let frame = enc.finish()?;
    let fhd = *frame.get(4).ok_or("short frame")?;
    if fhd & 0xE0 != 0 {
        return Err("unexpected frame header".into());
    }
    let mut out = frame.get(..4).unwrap_or_default().to_vec();
    out.push(fhd | 0x40);
    out.push(*frame.get(5).ok_or("short frame")?);
    out.extend((claimed - 256).to_le_bytes());
    out.extend(frame.get(6..).unwrap_or_default());
    Ok(out)
}

#[test]
fn a_zstd_bomb_is_stopped_at_the_manifest_size() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let claimed: u16 = 1000;
    let bomb = lying_frame(64 << 20, claimed)?;
    assert_eq!(
        zstd::zstd_safe::get_frame_content_size(&bomb)
            .ok()
            .flatten(),
        Some(u64::from(claimed))
    );
    let evil = dir.path().join("bomb.lbom");
    reseal(
        &b,
        &evil,
        |e| {
            for (n, data) in e.iter_mut() {
                if n == "artifacts/z.dat.zst" {
                    *data = bomb.clone();
                }
            }
        },
        |m| {
            for e in &mut m.entries {
                if e.path.as_str() == "artifacts/z.dat.zst" {
                    e.size = u64::from(claimed);
                }
            }
        },
    )?;
    sign_as(&evil, &a, "maintainer")?;
    let mut sink = Recorder::default();
    let (r, v) = verify(&evil, &p, &ctx()?, &mut sink);
    assert!(v.is_none());
    assert_fails(&r, "entries.digests", Failure::Integrity);
    assert!(
        detail(&r, "entries.digests").contains("artifacts/z.dat.zst"),
        "{r:#?}"
    );
    let written = sink
        .artifacts
        .lock()
        .map_err(|_| "poisoned")?
        .get("z.dat")
        .map_or(0, Vec::len);
    assert!(
        written <= usize::from(claimed),
        "{written} bytes reached the sink"
    );
    assert!(!sink.finished.contains(&"z.dat".to_owned()));

    // Garbage after the one frame is refused too.
    let tail = dir.path().join("tail.lbom");
    reseal(
        &b,
        &tail,
        |e| {
            for (n, data) in e.iter_mut() {
                if n == "artifacts/z.dat.zst" {
                    data.extend_from_slice(b"trailing");
                }
            }
        },
        |_| {},
    )?;
    sign_as(&tail, &a, "maintainer")?;
    let r = run(&tail, &p, &ctx()?);
    assert_fails(&r, "entries.digests", Failure::Integrity);
    assert!(
        detail(&r, "entries.digests").contains("after its one zstd frame"),
        "{r:#?}"
    );
    Ok(())
}

#[test]
fn attestation_subjects_must_be_exactly_the_artifacts() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let gguf_digest = Sha256Digest::of(&gguf("llama", "MIT")).to_hex();
    let other = Sha256Digest::of(b"other").to_hex();
    for (from, to) in [
        (gguf_digest.as_str(), other.as_str()),
        ("\"name\":\"m.gguf\"", "\"name\":\"n.gguf\""),
    ] {
        let evil = dir.path().join("evil.lbom");
        let _ = std::fs::remove_file(&evil);
        reseal(
            &b,
            &evil,
            |e| replace_in(e, "attestation.intoto.json", from, to),
            |_| {},
        )?;
        sign_as(&evil, &a, "maintainer")?;
        assert_fails(
            &run(&evil, &p, &ctx()?),
            "attestation.subjects",
            Failure::Integrity,
        );
    }
    let evil = dir.path().join("broken.lbom");
    reseal(
        &b,
        &evil,
        |e| replace_in(e, "attestation.intoto.json", "{", "["),
        |_| {},
    )?;
    sign_as(&evil, &a, "maintainer")?;
    assert_fails(
        &run(&evil, &p, &ctx()?),
        "attestation.subjects",
        Failure::Malformed,
    );
    Ok(())
}

#[test]
fn store_history_rules() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let (_, v) = verify(&b, &p, &ctx()?, &mut HashOnly);
    let digest = v.ok_or("no Verified")?.manifest_sha256;
    let other = Sha256Digest::of(b"other");
    let with = |current: Option<(u64, Sha256Digest)>,
                versions: &[(u64, Sha256Digest)]|
     -> Result<VerifyContext, jiff::Error> {
        let mut c = ctx()?;
        c.channel = Some(ChannelState {
            current: current.map(|(s, d)| (s, d, "1970-01-01T00:00:00Z".to_owned())),
            versions: versions.iter().copied().collect(),
            model: None,
        });
        Ok(c)
    };
    // b is sequence 1 with no previous.
    let r = run(&b, &p, &with(None, &[])?);
    assert_passes(&r);
    assert!(detail(&r, "store.history").contains("first import"));
    let r = run(&b, &p, &with(Some((1, digest)), &[(1, digest)])?);
    assert_passes(&r);
    assert!(detail(&r, "store.history").contains("already imported"));
    // Kept but no longer current: rollback.
    let r = run(&b, &p, &with(Some((2, other)), &[(1, digest), (2, other)])?);
    assert_fails(&r, "store.history", Failure::Rollback);
    assert!(detail(&r, "store.history").starts_with("rollback"));
    let mut allow = p.clone();
    allow.history.allow_rollback = true;
    let r = run(
        &b,
        &allow,
        &with(Some((2, other)), &[(1, digest), (2, other)])?,
    );
    assert_eq!(outcome(&r, "store.history"), Some(Outcome::Warn));
    // Below the newest: rollback.
    let r = run(&b, &p, &with(Some((5, other)), &[(5, other)])?);
    assert_fails(&r, "store.history", Failure::Rollback);
    // Same sequence, another manifest: fork.
    let r = run(&b, &p, &with(Some((1, other)), &[(1, other)])?);
    assert_fails(&r, "store.history", Failure::Rollback);
    assert!(detail(&r, "store.history").starts_with("fork"));
    // A next bundle naming the newest passes; naming another one forks.
    let mut o = options(
        vec![inputs(&dir.path().join("n"))?],
        dir.path().join("next.lbom"),
        Compression::Auto,
    );
    o.previous = Some(b.clone());
    pack_test(&o)?;
    sign_as(&o.output, &a, "maintainer")?;
    let r = run(&o.output, &p, &with(Some((1, digest)), &[(1, digest)])?);
    assert_passes(&r);
    let r = run(&o.output, &p, &with(Some((1, other)), &[(1, other)])?);
    assert_fails(&r, "store.history", Failure::Rollback);
    assert!(detail(&r, "store.history").starts_with("fork"));
    // No previous on a non-empty channel: fork.
    let r = run(&b, &p, &with(None, &[(0, other)])?);
    assert!(detail(&r, "store.history").starts_with("fork"), "{r:#?}");
    let mut forks = p.clone();
    forks.history.allow_fork = true;
    assert_eq!(
        outcome(
            &run(&b, &forks, &with(None, &[(0, other)])?),
            "store.history"
        ),
        Some(Outcome::Warn)
    );
    Ok(())
}

#[test]
fn structure_caps_and_content_rules() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);

    let mut caps = p.clone();
    caps.caps.max_entries = 2;
    assert_fails(&run(&b, &caps, &ctx()?), "policy.caps", Failure::Policy);
    let mut caps = p.clone();
    caps.caps.max_entry_bytes = 1000;
    assert_fails(&run(&b, &caps, &ctx()?), "policy.caps", Failure::Policy);

    let mut formats = p.clone();
    formats.content.allowed_formats = BTreeSet::from([Format::Gguf]);
    let r = run(&b, &formats, &ctx()?);
    assert_fails(&r, "policy.formats", Failure::Policy);
    assert!(detail(&r, "policy.formats").contains("z.dat"));

    let mut licences = p.clone();
    licences.content.allowed_licences = Some(BTreeSet::from(["Apache-2.0".to_owned()]));
    let r = run(&b, &licences, &ctx()?);
    assert_fails(&r, "policy.licences", Failure::Policy);
    assert!(detail(&r, "policy.licences").contains("MIT"), "{r:#?}");
    licences.content.allowed_licences = Some(BTreeSet::from(["MIT".to_owned()]));
    assert_passes(&run(&b, &licences, &ctx()?));

    // Bytes after the end marker.
    let mut bytes = std::fs::read(&b)?;
    bytes.extend([0u8; 512]);
    let trailing = dir.path().join("trailing.lbom");
    std::fs::write(&trailing, &bytes)?;
    assert_fails(
        &run(&trailing, &p, &ctx()?),
        "archive.structure",
        Failure::Malformed,
    );
    assert_fails(
        &run(&dir.path().join("missing.lbom"), &p, &ctx()?),
        "archive.structure",
        Failure::Io,
    );
    let fifo = dir.path().join("fifo.lbom");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success());
    assert_fails(&run(&fifo, &p, &ctx()?), "archive.structure", Failure::Io);

    // A manifest that is not the format's.
    let bad = dir.path().join("schema.lbom");
    reseal(&b, &bad, |_| {}, |m| m.schema = "urn:other".into())?;
    sign_as(&bad, &a, "maintainer").ok();
    assert_fails(&run(&bad, &p, &ctx()?), "manifest.form", Failure::Malformed);
    Ok(())
}

#[test]
fn findings_at_or_above_fail_on_fail() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let root = dir.path().join("model");
    std::fs::create_dir_all(&root)?;
    // Not safetensors bytes under a safetensors name: an error finding.
    std::fs::write(root.join("x.safetensors"), b"this is not a model")?;
    let out = dir.path().join("f.lbom");
    pack_test(&options(vec![root], out.clone(), Compression::None))?;
    sign_as(&out, &a, "maintainer")?;
    let mut p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    assert_passes(&run(&out, &p, &ctx()?));
    p.content.fail_on = Some(crate::inspect::Severity::Error);
    let r = run(&out, &p, &ctx()?);
    assert_fails(&r, "policy.findings", Failure::Policy);
    assert!(
        detail(&r, "policy.findings").contains("x.safetensors"),
        "{r:#?}"
    );
    Ok(())
}

/// Throughput of `verify` over a real bundle (release build):
/// `LBOM_VERIFY_BENCH=B.lbom cargo test --release --lib verify::tests::bench -- --ignored --nocapture`.
/// `B.lbom` must be signed by keys/demo-maintainer as maintainer.
#[test]
#[ignore = "benchmark: needs a large bundle"]
fn bench_verify_throughput() -> R {
    let Some(path) = std::env::var_os("LBOM_VERIFY_BENCH") else {
        return Err("set LBOM_VERIFY_BENCH".into());
    };
    let path = PathBuf::from(path);
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys");
    let demo = SigningKey::load(&keys.join("demo-maintainer.key"), None)?;
    let mut p = policy(vec![trusted("demo", &demo, &["maintainer"])]);
    p.caps.max_total_bytes = u64::MAX;
    let c = VerifyContext {
        now: jiff::Timestamp::now(),
        channel: None,
        caps: crate::bundle::Caps::default(),
        jobs: None,
    };
    let bytes = std::fs::metadata(&path)?.len();
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let r = run(&path, &p, &c);
        let secs = start.elapsed().as_secs_f64();
        assert_passes(&r);
        println!(
            "verify: {bytes} bytes in {secs:.3} s = {:.3} GB/s",
            bytes as f64 / secs / 1e9
        );
    }
    Ok(())
}

/// A torch.save-style zip whose `data.pkl` calls `posix.system`.
fn torch_zip() -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use ::zip::write::{SimpleFileOptions, ZipWriter};
    let pickle: &[u8] =
        b"\x80\x02cposix\x0asystem\x0aq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.";
    let mut w = ZipWriter::new(io::Cursor::new(Vec::new()));
    w.start_file(
        "archive/data.pkl",
        SimpleFileOptions::default().compression_method(::zip::CompressionMethod::Stored),
    )?;
    w.write_all(pickle)?;
    // Padding so `auto` finds the entry worth compressing.
    w.start_file(
        "archive/data/0",
        SimpleFileOptions::default().compression_method(::zip::CompressionMethod::Stored),
    )?;
    w.write_all(&[0u8; 200_000])?;
    Ok(w.finish()?.into_inner())
}

#[test]
fn zip_pickles_are_rescanned_through_random_access_when_raw() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let root = dir.path().join("model");
    std::fs::create_dir_all(&root)?;
    std::fs::write(root.join("model.pt"), torch_zip()?)?;
    let mut p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    p.content.allowed_formats.insert(Format::PytorchZip);
    for (name, compress) in [
        ("raw.lbom", Compression::None),
        ("zstd.lbom", Compression::Zstd(3)),
    ] {
        let out = dir.path().join(name);
        pack_test(&options(vec![root.clone()], out.clone(), compress))?;
        sign_as(&out, &a, "maintainer")?;
        let (r, v) = verify(&out, &p, &ctx()?, &mut HashOnly);
        assert_passes(&r);
        let facts = v.ok_or("no Verified")?.facts;
        let (_, f) = facts.first().ok_or("no facts")?;
        assert_eq!(f.format, Format::PytorchZip);
        let unscanned = f
            .findings
            .iter()
            .any(|x| x.code == "pickle.zip_not_scanned");
        if compress == Compression::None {
            // The pickle was read through the seekable view of the entry.
            assert!(!unscanned, "{f:#?}");
            assert!(
                f.pickle_imports.iter().any(|i| i.contains("system")),
                "{f:#?}"
            );
            assert!(!detail(&r, "sbom.consistent").contains("not re-checked"));
        } else {
            // A zstd entry gives no random access: said, not faked.
            assert!(unscanned, "{f:#?}");
            assert!(
                detail(&r, "sbom.consistent").contains("not re-checked"),
                "{r:#?}"
            );
        }
        // The fresh scan's findings feed policy.findings.
        let mut strict = p.clone();
        strict.content.fail_on = Some(crate::inspect::Severity::Error);
        assert_fails(
            &run(&out, &strict, &ctx()?),
            "policy.findings",
            Failure::Policy,
        );
    }
    Ok(())
}

#[test]
fn hostile_tars_fail_archive_structure() -> R {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/bundle/hostile");
    let a = key(1)?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let mut seen = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "tar") {
            let r = run(&path, &p, &ctx()?);
            assert_fails(&r, "archive.structure", Failure::Malformed);
            seen += 1;
        }
    }
    assert!(seen >= 14, "only {seen} hostile vectors");
    Ok(())
}

/// A link envelope signed by `k` over `predicate` for `manifest`; `hint`
/// replaces the keyid hint, `twice` adds a second signature.
fn craft_link(
    manifest: &Sha256Digest,
    predicate: &crate::bundle::chain::LinkPredicate,
    k: &SigningKey,
    hint: Option<&str>,
    twice: bool,
) -> Vec<u8> {
    use crate::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO, Signature};
    let payload = crate::bundle::chain::link_payload(manifest, predicate);
    let mut env = Envelope::new(PAYLOAD_TYPE_IN_TOTO, payload);
    let sig = Signature {
        keyid: hint.map_or_else(|| k.key_id().to_string(), str::to_owned),
        sig: k.sign(&env.pae()),
    };
    if twice {
        env.signatures.push(sig.clone());
    }
    env.signatures.push(sig);
    env.encode()
}

#[test]
fn links_must_chain_to_this_manifest_and_each_other() -> R {
    use crate::bundle::chain::{LinkPredicate, PreviousLink};
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let base = entries_of(&b)?;
    let manifest = base
        .iter()
        .find(|(n, _)| n == "manifest.json")
        .map(|(_, m)| Sha256Digest::of(m))
        .ok_or("no manifest")?;
    let link1 = base
        .iter()
        .find(|(n, _)| n == "chain/0001.dsse.json")
        .map(|(_, l)| l.clone())
        .ok_or("no link")?;
    let predicate = |index: u32, previous: Option<PreviousLink>| LinkPredicate {
        index,
        role: "maintainer".into(),
        keyid: a.key_id(),
        time: "1970-01-01T00:00:00Z".into(),
        note: None,
        previous,
    };
    let good_previous = PreviousLink {
        path: "chain/0001.dsse.json".into(),
        sha256: Sha256Digest::of(&link1),
    };
    let other = Sha256Digest::of(b"other");
    let cases: Vec<(Vec<u8>, &str, Failure)> = vec![
        // Link 2 signs another manifest.
        (
            craft_link(
                &other,
                &predicate(2, Some(good_previous.clone())),
                &a,
                None,
                false,
            ),
            "chain.links",
            Failure::Trust,
        ),
        // Link 2 names other bytes as link 1.
        (
            craft_link(
                &manifest,
                &predicate(
                    2,
                    Some(PreviousLink {
                        sha256: other,
                        ..good_previous.clone()
                    }),
                ),
                &a,
                None,
                false,
            ),
            "chain.links",
            Failure::Trust,
        ),
        // Link 2 names no previous link: the link's form ([B34]).
        (
            craft_link(&manifest, &predicate(2, None), &a, None, false),
            "chain.links",
            Failure::Malformed,
        ),
        // A keyid hint that is not the signed key id: the link's form
        // ([B38]), so no byte of the last link is free to change.
        (
            craft_link(
                &manifest,
                &predicate(2, Some(good_previous.clone())),
                &a,
                Some("alice"),
                false,
            ),
            "chain.links",
            Failure::Malformed,
        ),
        // Two signatures on one link ([B31]).
        (
            craft_link(
                &manifest,
                &predicate(2, Some(good_previous.clone())),
                &a,
                None,
                true,
            ),
            "chain.links",
            Failure::Malformed,
        ),
    ];
    for (i, (link2, check, failure)) in cases.into_iter().enumerate() {
        let mut entries = base.clone();
        entries.push(("chain/0002.dsse.json".into(), link2));
        let path = dir.path().join(format!("case-{i}.lbom"));
        write_tar(&path, &entries)?;
        let r = run(&path, &p, &ctx()?);
        assert_fails(&r, check, failure);
    }
    // A correct link 2 passes; link 1 naming a previous link fails.
    let mut entries = base.clone();
    entries.push((
        "chain/0002.dsse.json".into(),
        craft_link(
            &manifest,
            &predicate(2, Some(good_previous.clone())),
            &a,
            None,
            false,
        ),
    ));
    let path = dir.path().join("good.lbom");
    write_tar(&path, &entries)?;
    assert_passes(&run(&path, &p, &ctx()?));
    let mut entries = base.clone();
    for (n, l) in &mut entries {
        if n == "chain/0001.dsse.json" {
            *l = craft_link(
                &manifest,
                &predicate(1, Some(good_previous.clone())),
                &a,
                None,
                false,
            );
        }
    }
    let path = dir.path().join("first.lbom");
    write_tar(&path, &entries)?;
    assert_fails(&run(&path, &p, &ctx()?), "chain.links", Failure::Malformed);
    Ok(())
}

/// A sink whose disk is full.
struct Full;

impl ArtifactSink for Full {
    fn begin(
        &mut self,
        _: &BundlePath,
        _: &ManifestEntry,
    ) -> io::Result<Option<Box<dyn Write + Send>>> {
        Ok(Some(Box::new(FullWriter)))
    }
    fn finish(&mut self, _: &BundlePath, _: &ManifestEntry) -> io::Result<()> {
        Ok(())
    }
    fn metadata(&mut self, _: &BundlePath, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

struct FullWriter;

impl Write for FullWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::StorageFull))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_sink_is_an_io_failure_not_an_integrity_one() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let (r, v) = verify(&b, &p, &ctx()?, &mut Full);
    assert!(v.is_none());
    assert_fails(&r, "entries.digests", Failure::Io);
    assert!(detail(&r, "entries.digests").contains("sink"), "{r:#?}");
    Ok(())
}

/// Write `src`'s entries to `dst` with the manifest's text edited by `edit`
/// (for edits the typed manifest cannot express: unknown fields, wrong
/// types, upper-case hex).
fn with_manifest_text(src: &Path, dst: &Path, edit: impl FnOnce(&str) -> String) -> R {
    let mut entries = entries_of(src)?;
    let (_, b) = entries
        .iter_mut()
        .find(|(n, _)| n == "manifest.json")
        .ok_or("no manifest.json")?;
    *b = edit(&String::from_utf8(b.clone())?).into_bytes();
    write_tar(dst, &entries)
}

/// `manifest.form` fails, and the library's reader (what `inspect` and
/// `sign` use) refuses the bundle too.
fn assert_manifest_refused(bundle: &Path, p: &Policy, what: &str) -> R {
    let r = run(bundle, p, &ctx()?);
    assert_eq!(
        outcome(&r, "manifest.form"),
        Some(Outcome::Fail(Failure::Malformed)),
        "{what}: {r:#?}"
    );
    assert_fails(&r, "manifest.form", Failure::Malformed);
    assert!(
        crate::bundle::read::open(bundle, &ReadLimits::default()).is_err(),
        "{what}: bundle::read::open accepted it"
    );
    Ok(())
}

/// docs/bundle-format.md [B23]–[B25]: manifest fields outside the format
/// (label syntax, time form, sequence order, types, unknown fields, hex
/// case) are refused by verify and by the reader, signed or not.
#[test]
fn manifest_fields_outside_the_format_are_refused() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let p = policy(vec![trusted("a", &a, &["maintainer"])]);
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    assert_passes(&run(&b, &p, &ctx()?));
    let previous = |sequence| {
        Some(crate::bundle::manifest::Previous {
            sequence,
            manifest_sha256: Sha256Digest::of(b"older"),
        })
    };
    type Edit = Box<dyn Fn(&mut Manifest)>;
    let typed: Vec<(&str, Edit)> = vec![
        ("sequence 0", Box::new(|m| m.sequence = 0)),
        (
            "sequence equal to previous",
            Box::new(move |m| {
                m.sequence = 4;
                m.previous = previous(4);
            }),
        ),
        (
            "sequence below previous",
            Box::new(move |m| {
                m.sequence = 4;
                m.previous = previous(9);
            }),
        ),
        ("name", Box::new(|m| m.name = "two words".into())),
        ("channel", Box::new(|m| m.channel = "-stable".into())),
        (
            "created with a space",
            Box::new(|m| m.created = "1970-01-01 00:00:00Z".into()),
        ),
        (
            "created with an offset",
            Box::new(|m| m.created = "1970-01-01T00:00:00+00:00".into()),
        ),
        (
            "created with fractions",
            Box::new(|m| m.created = "1970-01-01T00:00:00.5Z".into()),
        ),
        (
            "expires not a time",
            Box::new(|m| m.expires = Some("30d".into())),
        ),
        (
            "expires before created",
            Box::new(|m| {
                m.created = "1970-01-02T00:00:00Z".into();
                m.expires = Some("1970-01-01T00:00:00Z".into());
            }),
        ),
    ];
    for (i, (what, edit)) in typed.into_iter().enumerate() {
        let out = dir.path().join(format!("typed-{i}.lbom"));
        reseal(&b, &out, |_| {}, |m| edit(m))?;
        // Signing may already refuse it (sign checks the bundle first);
        // unsigned, manifest.form still comes before every chain check.
        sign_as(&out, &a, "maintainer").ok();
        assert_manifest_refused(&out, &p, what)?;
    }
    type TextEdit = fn(&str) -> String;
    let textual: [(&str, TextEdit); 6] = [
        ("unknown top-level field", |t| {
            t.replacen("{\n", "{\n  \"merkle_root\": \"00\",\n", 1)
        }),
        ("unknown entry field", |t| {
            t.replacen("\"role\":", "\"mode\": 420,\n      \"role\":", 1)
        }),
        ("missing tool", |t| {
            let start = t.find("  \"tool\"").unwrap_or(0);
            let end = t.find("  \"entries\"").unwrap_or(0);
            format!(
                "{}{}",
                t.get(..start).unwrap_or(""),
                t.get(end..).unwrap_or("")
            )
        }),
        ("sequence as a string", |t| {
            t.replacen("\"sequence\": 1,", "\"sequence\": \"1\",", 1)
        }),
        ("upper-case sha256", |t| {
            let at = t.find("\"sha256\": \"").unwrap_or(0) + 11;
            let hex = t.get(at..at + 64).unwrap_or("");
            t.replacen(hex, &hex.to_uppercase(), 1)
        }),
        ("short sha256", |t| {
            let at = t.find("\"sha256\": \"").unwrap_or(0) + 11;
            let hex = t.get(at..at + 64).unwrap_or("");
            t.replacen(hex, hex.get(..63).unwrap_or(""), 1)
        }),
    ];
    let unsigned = dir.path().join("unsigned.lbom");
    reseal(&b, &unsigned, |_| {}, |_| {})?;
    for (i, (what, edit)) in textual.into_iter().enumerate() {
        let out = dir.path().join(format!("text-{i}.lbom"));
        let mut changed = false;
        with_manifest_text(&unsigned, &out, |t| {
            let e = edit(t);
            changed = e != t;
            e
        })?;
        assert!(changed, "{what}: the edit changed nothing");
        assert_manifest_refused(&out, &p, what)?;
    }
    Ok(())
}

/// docs/bundle-format.md [B27]: the manifest describes the layout exactly:
/// SBOM and attestation raw, each SBOM right after its artifact, the
/// attestation last, artifacts in ascending byte order of their paths.
#[test]
fn the_manifest_must_describe_the_bundle_layout() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let p = policy(vec![trusted("a", &a, &["maintainer"])]);
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let names: Vec<String> = entries_of(&b)?.into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names.get(..5).unwrap_or_default(),
        [
            "artifacts/m.gguf.zst",
            "sboms/m.gguf.cdx.json",
            "artifacts/z.dat.zst",
            "sboms/z.dat.cdx.json",
            "attestation.intoto.json"
        ]
    );
    let set_encoding = |m: &mut Manifest, path: &str, e: Encoding| {
        for entry in &mut m.entries {
            if entry.path.as_str() == path {
                entry.encoding = e;
            }
        }
    };
    // Reorder the first five entries (tar and manifest alike) by `order`.
    let reorder = |order: [usize; 5]| {
        move |list: &mut Vec<(String, Vec<u8>)>| {
            let head: Vec<_> = order.iter().filter_map(|&i| list.get(i).cloned()).collect();
            list.splice(..5, head);
        }
    };
    let reorder_manifest = |order: [usize; 5]| {
        move |m: &mut Manifest| {
            let head: Vec<_> = order
                .iter()
                .filter_map(|&i| m.entries.get(i).cloned())
                .collect();
            m.entries.splice(..5, head);
        }
    };
    type Case = (
        &'static str,
        Box<dyn Fn(&mut Vec<(String, Vec<u8>)>)>,
        Box<dyn Fn(&mut Manifest)>,
    );
    let cases: Vec<Case> = vec![
        (
            "zstd sbom",
            Box::new(|_| {}),
            Box::new(move |m| set_encoding(m, "sboms/m.gguf.cdx.json", Encoding::Zstd)),
        ),
        (
            "zstd attestation",
            Box::new(|_| {}),
            Box::new(move |m| set_encoding(m, "attestation.intoto.json", Encoding::Zstd)),
        ),
        (
            "sbom before its artifact",
            Box::new(reorder([1, 0, 2, 3, 4])),
            Box::new(reorder_manifest([1, 0, 2, 3, 4])),
        ),
        (
            "attestation first",
            Box::new(reorder([4, 0, 1, 2, 3])),
            Box::new(reorder_manifest([4, 0, 1, 2, 3])),
        ),
        (
            "artifacts in descending order",
            Box::new(reorder([2, 3, 0, 1, 4])),
            Box::new(reorder_manifest([2, 3, 0, 1, 4])),
        ),
    ];
    for (i, (what, edit, edit_manifest)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("layout-{i}.lbom"));
        reseal(&b, &out, |e| edit(e), |m| edit_manifest(m))?;
        sign_as(&out, &a, "maintainer").ok();
        assert_manifest_refused(&out, &p, what)?;
    }
    // The control: the same rewrite without an edit passes once re-signed.
    let control = dir.path().join("control.lbom");
    reseal(&b, &control, |_| {}, |_| {})?;
    sign_as(&control, &a, "maintainer")?;
    assert_passes(&run(&control, &p, &ctx()?));
    Ok(())
}

/// docs/policy.md [P38]: with `unknown_signers = "ignore"`, a link by a key
/// the policy does not list counts for nothing and its signature is not
/// checked, but it must still be a well-formed link chained to this
/// manifest and to the link before it.
#[test]
fn ignored_unknown_signers_must_still_be_chained() -> R {
    use crate::bundle::chain::{LinkPredicate, PreviousLink};
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let stranger = key(7)?;
    let mut p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    p.unknown_signers = UnknownSigners::Ignore;
    let b = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let base = entries_of(&b)?;
    let digest_of = |name: &str| {
        base.iter()
            .find(|(n, _)| n == name)
            .map(|(_, data)| Sha256Digest::of(data))
            .ok_or_else(|| format!("no {name}"))
    };
    let manifest = digest_of("manifest.json")?;
    let previous = PreviousLink {
        path: "chain/0001.dsse.json".into(),
        sha256: digest_of("chain/0001.dsse.json")?,
    };
    let predicate = |previous: Option<PreviousLink>| LinkPredicate {
        index: 2,
        role: "transfer".into(),
        keyid: stranger.key_id(),
        time: "1970-01-01T00:00:00Z".into(),
        note: None,
        previous,
    };
    let with_link2 = |name: &str, link2: Vec<u8>| -> Result<PathBuf, Box<dyn std::error::Error>> {
        let mut entries = base.clone();
        entries.push(("chain/0002.dsse.json".into(), link2));
        let path = dir.path().join(name);
        write_tar(&path, &entries)?;
        Ok(path)
    };
    // Well chained: ignored, and the bundle passes on alice's link alone.
    let good = with_link2(
        "good.lbom",
        craft_link(
            &manifest,
            &predicate(Some(previous.clone())),
            &stranger,
            None,
            false,
        ),
    )?;
    assert_passes(&run(&good, &p, &ctx()?));
    // A bad signature by the unknown key is not checked ("ignore")...
    let mut forged = craft_link(
        &manifest,
        &predicate(Some(previous.clone())),
        &stranger,
        None,
        false,
    );
    let text = String::from_utf8(forged.clone())?;
    let at = text.find("\"sig\":\"").ok_or("no sig")? + 10;
    if let Some(c) = forged.get_mut(at) {
        *c = if *c == b'A' { b'B' } else { b'A' };
    }
    assert_passes(&run(&with_link2("forged.lbom", forged)?, &p, &ctx()?));
    // ... but chaining is: another manifest, another previous, none.
    let other = Sha256Digest::of(b"other");
    let cases = [
        (
            "another manifest",
            craft_link(
                &other,
                &predicate(Some(previous.clone())),
                &stranger,
                None,
                false,
            ),
        ),
        (
            "another previous link",
            craft_link(
                &manifest,
                &predicate(Some(PreviousLink {
                    sha256: other,
                    ..previous.clone()
                })),
                &stranger,
                None,
                false,
            ),
        ),
        (
            "no previous link",
            craft_link(&manifest, &predicate(None), &stranger, None, false),
        ),
    ];
    for (i, (what, link2)) in cases.into_iter().enumerate() {
        let path = with_link2(&format!("case-{i}.lbom"), link2)?;
        let r = run(&path, &p, &ctx()?);
        // A missing previous link is the link's form (exit 3), a wrong one
        // its chaining (exit 5): both `chain.links` (docs/policy.md §9).
        let failure = if what == "no previous link" {
            Failure::Malformed
        } else {
            Failure::Trust
        };
        assert_eq!(
            outcome(&r, "chain.links"),
            Some(Outcome::Fail(failure)),
            "{what}: {r:#?}"
        );
        assert_fails(&r, "chain.links", failure);
    }
    Ok(())
}

/// The caps travel with the bundle (`bundle::Caps`): a GGUF packed under a
/// caller's scan caps that its header exceeds carries a finding in its
/// SBOM. A verifier under the same caps finds the same and passes; one
/// under other caps sees other facts and fails `sbom.consistent`, which is
/// why pack and verify take one `Caps`, not one each.
#[test]
fn pack_and_verify_under_the_same_caps_agree() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let root = inputs(dir.path())?;
    let mut caps = crate::bundle::Caps::default();
    caps.scan.gguf_max_kv_count = 1;
    let out = dir.path().join("capped.lbom");
    let mut o = options(vec![root], out.clone(), Compression::None);
    o.caps = caps.clone();
    pack_test(&o)?;
    sign_as(&out, &a, "maintainer")?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let mut same = ctx()?;
    same.caps = caps;
    assert_passes(&run(&out, &p, &same));
    let other = run(&out, &p, &ctx()?);
    assert_fails(&other, "sbom.consistent", Failure::Integrity);
    Ok(())
}

/// A verifier told to scan on one thread (`VerifyContext::jobs`) reports
/// what one on several threads reports.
#[test]
fn verify_honours_its_thread_count() -> R {
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let b = bundle(dir.path(), "jobs.lbom", &[(&a, "maintainer")])?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    for jobs in [Some(1), Some(4), None] {
        let mut c = ctx()?;
        c.jobs = jobs;
        assert_passes(&run(&b, &p, &c));
    }
    Ok(())
}

/// A bundle read through a named source (bytes with no file of their own:
/// a registry's blobs) gets the report its file gets, check by check, for
/// the good bundle and for each kind of damage (a flipped artifact byte, a
/// cut, a start that is no tar), the source's name standing where the file
/// is named; and nothing beside the name is looked at: a `sign` marker
/// beside a file of that name does not turn a cut into a torn tail.
#[test]
fn a_source_is_verified_as_its_file_is() -> R {
    use super::input::BundleInput;
    use super::input::tests::Bytes;
    let dir = tempfile::tempdir()?;
    let a = key(1)?;
    let p = policy(vec![trusted("alice", &a, &["maintainer"])]);
    let good = bundle(dir.path(), "b.lbom", &[(&a, "maintainer")])?;
    let bytes = std::fs::read(&good)?;
    let name = "oci://registry.test:5000/team/b@sha256:00ff";
    let through_source = |bytes: &[u8], name: &str| -> Result<Report, jiff::Error> {
        let input = BundleInput::source(name, Arc::new(Bytes(bytes.to_vec())));
        Ok(verify(&input, &p, &ctx()?, &mut HashOnly).0)
    };
    let from_file = run(&good, &p, &ctx()?);
    assert_passes(&from_file);
    assert_eq!(through_source(&bytes, name)?, from_file);

    let (start, _) = entry_data(&good, |n| n == "artifacts/m.gguf.zst")?;
    let mut flipped = bytes.clone();
    if let Some(b) = flipped.get_mut(start + 20) {
        *b ^= 1;
    }
    // Cut inside the last link, whose header a `sign` marker may name.
    let (last_link, _) = entry_data(&good, |n| n.starts_with("chain/"))?;
    let cut = bytes.get(..last_link + 10).ok_or("short bundle")?.to_vec();
    let mut not_tar = bytes.clone();
    if let Some(head) = not_tar.get_mut(..8) {
        head.copy_from_slice(b"GGUF\x03\0\0\0");
    }
    for (what, damaged, check) in [
        ("flipped", flipped, "entries.digests"),
        ("cut", cut, "archive.structure"),
        ("not a tar", not_tar, "archive.structure"),
    ] {
        let file = dir.path().join(format!("{}.lbom", what.replace(' ', "-")));
        std::fs::write(&file, &damaged)?;
        let from_file = run(&file, &p, &ctx()?);
        let failure = from_file.failure().ok_or("damage must fail")?;
        assert_fails(&from_file, check, failure);
        let from_source = through_source(&damaged, name)?;
        let renamed: Vec<_> = from_file
            .checks
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.detail = c.detail.replace(&file.display().to_string(), name);
                c
            })
            .collect();
        assert_eq!(from_source.checks, renamed, "{what}");
        if what == "not a tar" {
            assert!(detail(&from_source, check).contains("GGUF"), "{from_source:#?}");
        }
        // A source named as the file, with a `sign` marker beside the file:
        // the file's reader takes the marker, the source's reader never.
        if what == "cut" {
            crate::bundle::marker::write_marker(&file, (last_link - 512) as u64)?;
            let marked = run(&file, &p, &ctx()?);
            let named = through_source(&damaged, &file.display().to_string())?;
            assert_ne!(marked.checks, from_file.checks, "the marker changes the file's report");
            assert_eq!(named.checks, from_file.checks, "{named:#?}");
        }
    }
    Ok(())
}

/// Where the data of the last entry of the tar at `path` whose name
/// `wanted` starts, and its size.
fn entry_data(
    path: &Path,
    wanted: impl Fn(&str) -> bool,
) -> Result<(usize, u64), Box<dyn std::error::Error>> {
    let mut archive = ::tar::Archive::new(std::fs::File::open(path)?);
    let mut found = None;
    for entry in archive.entries()? {
        let entry = entry?;
        if wanted(&entry.path()?.to_string_lossy()) {
            found = Some((usize::try_from(entry.raw_file_position())?, entry.size()));
        }
    }
    found.ok_or_else(|| format!("no such entry in {path:?}").into())
}
