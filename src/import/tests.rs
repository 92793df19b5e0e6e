//! Store tests: real bundles (packed raw, signed once) streamed into the
//! store by a fake verifier that reads the tar with the `tar` crate, so the
//! store is tested without the verification engine.

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::commit::{FAULT, FaultPoint};
use super::*;
use crate::bundle::pack::Compression;
use crate::bundle::pack::tests::{options, pack_test};
use crate::bundle::{BundlePath, FirstLink, Manifest, Role, chain};
use crate::envelope::Envelope;
use crate::inspect::side::{SideFiles, read_capturing, role_of};
use crate::io::digest::Sha256Digest;
use crate::verify::policy::{
    ContentRules, HistoryRules, PolicyCaps, PolicySource, TimeRules, UnknownSigners,
};
use crate::verify::{ChannelState, Failure, Outcome, Signer};

type R = Result<(), Box<dyn std::error::Error>>;
type BoxError = Box<dyn std::error::Error>;

fn key() -> Result<SigningKey, crate::sign::Error> {
    SigningKey::from_seed(&[7; 32])
}

/// Pack `files` (path, bytes) as sequence `sequence` of channel `stable`,
/// signed by one maintainer link.
fn make_bundle(
    dir: &Path,
    tag: &str,
    files: &[(&str, &[u8])],
    sequence: u64,
    previous: Option<&Path>,
) -> Result<PathBuf, BoxError> {
    let input = dir.join(format!("in-{tag}"));
    for (rel, bytes) in files {
        let path = input.join(rel);
        fs::create_dir_all(path.parent().ok_or("parent")?)?;
        fs::write(path, bytes)?;
    }
    let out = dir.join(format!("{tag}.lbom"));
    let key = key()?;
    let mut o = options(vec![input], out.clone(), Compression::None);
    o.sequence = Some(sequence);
    o.previous = previous.map(Path::to_path_buf);
    o.first_link = Some(FirstLink {
        key: &key,
        role: "maintainer".into(),
        note: None,
    });
    pack_test(&o)?;
    Ok(out)
}

fn tar_entries(bundle: &Path) -> Result<Vec<(String, Vec<u8>)>, BoxError> {
    let mut archive = ::tar::Archive::new(fs::File::open(bundle)?);
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        out.push((name, bytes));
    }
    Ok(out)
}

/// What a verifier does with a sink: artifacts through begin/write/finish,
/// every other entry through metadata.
fn stream(bundle: &Path, sink: &mut dyn ArtifactSink) -> Result<Verified, BoxError> {
    let entries = tar_entries(bundle)?;
    let (_, manifest_bytes) = entries
        .iter()
        .find(|(n, _)| n == crate::bundle::layout::MANIFEST)
        .ok_or("no manifest")?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)?;
    let mut signers = Vec::new();
    let mut sides = SideFiles::default();
    let limits = crate::limits::Limits::default();
    for (name, bytes) in &entries {
        let artifact = manifest
            .entries
            .iter()
            .find(|e| e.path.as_str() == name && e.role == Role::Artifact);
        if let Some(entry) = artifact {
            let path = entry.artifact_path().ok_or("artifact path")?;
            if let Some(mut w) = sink.begin(&path, entry)? {
                w.write_all(bytes)?;
                w.flush()?;
            }
            sink.finish(&path, entry)?;
            // The side files, as the real verifier collects them.
            let at = std::path::Path::new(path.as_str());
            if let Some((_, name, role)) = role_of(at) {
                let (digest, kept) =
                    read_capturing(&bytes[..], bytes.len() as u64, role.capture(&name, &limits))?;
                sides.add(at, digest, kept.as_capture(), &limits);
            }
        } else {
            sink.metadata(&BundlePath::new(name)?, bytes)?;
            if name.starts_with("chain/") {
                let (_, info) = chain::parse_link(name, bytes)?;
                signers.push(Signer {
                    index: info.predicate.index,
                    role: info.predicate.role,
                    key_id: info.predicate.keyid,
                    key_name: Some("maintainer-key".into()),
                    time: info.predicate.time,
                    note: info.predicate.note,
                });
            }
        }
    }
    Ok(Verified {
        manifest,
        manifest_bytes: manifest_bytes.clone(),
        manifest_sha256: Sha256Digest::of(manifest_bytes),
        signers,
        facts: Vec::new(),
        sides,
    })
}

/// A verifier that passes whatever streams; it reports the channel state
/// it was given into `seen`.
fn passing<'a>(
    bundle: &'a Path,
    seen: &'a mut Option<ChannelState>,
) -> impl FnOnce(&mut dyn ArtifactSink, &VerifyContext) -> (Report, Option<Verified>) + 'a {
    move |sink, ctx| {
        *seen = ctx.channel.clone();
        let mut report = Report::default();
        match stream(bundle, sink) {
            Ok(v) => {
                report.push(
                    crate::verify::CheckName::EntriesDigests,
                    Outcome::Pass,
                    "streamed",
                );
                (report, Some(v))
            }
            Err(e) => {
                report.push(
                    crate::verify::CheckName::EntriesDigests,
                    Outcome::Fail(Failure::Io),
                    e.to_string(),
                );
                (report, None)
            }
        }
    }
}

fn policy() -> Policy {
    Policy {
        source: PolicySource {
            path: PathBuf::from("/etc/lbom/station.toml"),
            sha256: Sha256Digest::of(b"policy"),
        },
        keys: Vec::new(),
        thresholds: Default::default(),
        required_roles: Default::default(),
        unknown_signers: UnknownSigners::Refuse,
        content: ContentRules {
            allowed_formats: Default::default(),
            allowed_licences: None,
            fail_on: None,
        },
        caps: PolicyCaps {
            max_entries: 100,
            max_entry_bytes: 1 << 20,
            max_total_bytes: 1 << 24,
            max_path_bytes: 255,
        },
        time: TimeRules {
            max_age: None,
            require_expiry: false,
            clock: Default::default(),
        },
        history: HistoryRules::default(),
        drift_needs_acceptance: Default::default(),
    }
}

fn opts(receipt_key: Option<&SigningKey>) -> ImportOptions<'_> {
    ImportOptions {
        now: jiff::Timestamp::from_second(1_800_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        caps: crate::bundle::Caps::default(),
        jobs: None,
        accepted_drift: vec![crate::diff::DriftClass::FileChanged],
        receipt_key,
        create_store: true,
    }
}

fn run_import(bundle: &Path, store: &Path) -> Result<ImportOutcome, StoreError> {
    let mut seen = None;
    import(
        bundle,
        store,
        &policy(),
        &opts(None),
        passing(bundle, &mut seen),
    )
}

fn committed(outcome: ImportOutcome) -> Result<Committed, BoxError> {
    match outcome {
        ImportOutcome::Imported { committed, .. } => Ok(committed),
        ImportOutcome::Refused { report, .. } => Err(format!("refused: {report:?}").into()),
    }
}

fn staging_is_empty(store: &Path) -> Result<bool, BoxError> {
    Ok(fs::read_dir(store.join(layout::STAGING))?.next().is_none())
}

fn seqs(history: &[HistoryEntry]) -> Vec<u64> {
    history.iter().map(|e| e.sequence).collect()
}

/// Two bundles: v1 {config.json, weights.bin}, v2 with the same config and
/// changed weights, naming v1 as previous.
fn two_versions(dir: &Path) -> Result<(PathBuf, PathBuf), BoxError> {
    let v1 = make_bundle(
        dir,
        "v1",
        &[
            ("config.json", b"{\"a\":1}"),
            ("sub/weights.bin", &[1u8; 5000]),
        ],
        1,
        None,
    )?;
    let v2 = make_bundle(
        dir,
        "v2",
        &[
            ("config.json", b"{\"a\":1}"),
            ("sub/weights.bin", &[2u8; 6000]),
        ],
        2,
        Some(&v1),
    )?;
    Ok((v1, v2))
}

/// docs/store.md [S13]: a missing or empty folder is no store unless the
/// import asks to create one; nothing is created, and the error names it.
#[test]
fn import_never_creates_a_store_unless_asked() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let empty = dir.path().join("empty");
    fs::create_dir(&empty)?;
    for root in [
        dir.path().join("typo/store"),
        dir.path().join("missing"),
        empty.clone(),
    ] {
        let existed = root.exists();
        let mut seen = None;
        let options = ImportOptions {
            create_store: false,
            ..opts(None)
        };
        let result = import(&v1, &root, &policy(), &options, passing(&v1, &mut seen));
        assert!(
            matches!(&result, Err(StoreError::NoStore { path }) if *path == root),
            "{root:?}: {result:?}"
        );
        assert_eq!(
            result.err().map(|e| e.kind()),
            Some(StoreErrorKind::NotAStore)
        );
        assert_eq!(seen, None, "the verifier ran");
        assert_eq!(root.exists(), existed, "{root:?} was created");
        if existed {
            assert_eq!(fs::read_dir(&root)?.count(), 0, "something was written");
        }
    }
    // Asked, it is created; then an import without --create finds it.
    committed(run_import(&v1, &empty)?)?;
    let mut seen = None;
    let options = ImportOptions {
        create_store: false,
        ..opts(None)
    };
    let again = import(&v1, &empty, &policy(), &options, passing(&v1, &mut seen))?;
    assert!(matches!(
        committed(again)?,
        Committed::AlreadyCurrent { .. }
    ));
    // `store init` refuses a store.
    assert!(Store::create(&empty).is_err());
    Ok(())
}

#[test]
fn import_commits_a_read_only_version_and_switches_current() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    let mut seen = Some(ChannelState::default());
    let outcome = import(&v1, &root, &policy(), &opts(None), passing(&v1, &mut seen))?;
    // A new channel: the verifier saw an empty state, not "no store".
    assert_eq!(seen, Some(ChannelState::default()));
    let c = committed(outcome)?;
    assert!(matches!(
        c,
        Committed::New {
            sequence: 1,
            previous: None,
            written_files: 2,
            ..
        }
    ));

    let store = Store::open(&root)?;
    assert_eq!(store.current("stable")?, Some(1));
    assert_eq!(
        fs::read_link(root.join("stable/current"))?,
        PathBuf::from("1")
    );
    let version = root.join("stable/1");
    assert_eq!(
        fs::read(version.join("files/sub/weights.bin"))?,
        vec![1u8; 5000]
    );
    assert!(version.join("bundle/manifest.json").is_file());
    assert!(version.join("bundle/chain/0001.dsse.json").is_file());
    assert!(version.join("bundle/attestation.intoto.json").is_file());
    assert!(version.join("bundle/sboms/config.json.cdx.json").is_file());
    for (path, mode) in [
        (version.clone(), 0o555),
        (version.join("files/sub"), 0o555),
        (version.join("files/sub/weights.bin"), 0o444),
        (version.join("import.json"), 0o444),
    ] {
        assert_eq!(
            fs::metadata(&path)?.permissions().mode() & 0o777,
            mode,
            "{path:?}"
        );
    }
    assert!(staging_is_empty(&root)?);

    let state = store.channel_state("stable")?;
    let (seq, digest, created) = state.current.clone().ok_or("current")?;
    assert_eq!((seq, created.as_str()), (1, "1970-01-01T00:00:00Z"));
    assert_eq!(state.versions.get(&1), Some(&digest));
    let history = history(&store, "stable")?;
    assert_eq!(seqs(&history), [1]);
    let entry = history.first().ok_or("entry")?;
    assert_eq!(entry.action, HistoryAction::Import);
    assert_eq!(entry.manifest_sha256, digest);
    assert_eq!(entry.bundle_file, "v1.lbom");
    assert_eq!(entry.accepted_drift, ["file_changed"]);
    assert_eq!(
        entry.signers.first().map(|s| s.role.as_str()),
        Some("maintainer")
    );
    let (record, _) = store.record("stable", 1)?;
    assert_eq!(record.policy_file, "station.toml");
    let baseline = store.baseline("stable")?.ok_or("baseline")?;
    assert_eq!(
        (baseline.sequence, baseline.dir.clone()),
        (1, version.clone())
    );
    assert_eq!(Sha256Digest::of(&baseline.manifest_bytes), digest);
    assert_eq!(baseline.manifest.sequence, 1);
    assert!(store.baseline("nightly")?.is_none());
    assert_eq!(record.unlisted.len(), 1);
    assert!(audit(&store, None, true)?.passed());

    // The second import sees the baseline.
    let (_, v2) = (v1.clone(), dir.path().join("v2.lbom"));
    let mut seen = None;
    committed(import(
        &v2,
        &root,
        &policy(),
        &opts(None),
        passing(&v2, &mut seen),
    )?)?;
    assert_eq!(seen.and_then(|s| s.current).map(|c| c.0), Some(1));
    assert_eq!(store.current("stable")?, Some(2));
    assert_eq!(seqs(&store.history("stable")?), [1, 2]);
    Ok(())
}

#[test]
fn reimporting_the_current_bundle_changes_nothing() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    let again = committed(run_import(&v1, &root)?)?;
    assert_eq!(
        again,
        Committed::AlreadyCurrent {
            channel: "stable".into(),
            sequence: 1
        }
    );
    assert_eq!(seqs(&Store::open(&root)?.history("stable")?), [1]);
    assert!(staging_is_empty(&root)?);
    Ok(())
}

#[test]
fn unchanged_files_share_the_baseline_inode() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    let c = committed(run_import(&v2, &root)?)?;
    assert!(matches!(
        c,
        Committed::New {
            sequence: 2,
            previous: Some(1),
            shared_files: 1,
            written_files: 1,
            ..
        }
    ));
    let ino = |p: &str| fs::symlink_metadata(root.join(p)).map(|m| m.ino());
    assert_eq!(
        ino("stable/1/files/config.json")?,
        ino("stable/2/files/config.json")?
    );
    assert_ne!(
        ino("stable/1/files/sub/weights.bin")?,
        ino("stable/2/files/sub/weights.bin")?
    );
    assert!(audit(&Store::open(&root)?, Some("stable"), true)?.passed());
    Ok(())
}

#[test]
fn a_tampered_baseline_file_is_not_shared() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    let config = root.join("stable/1/files/config.json");
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644))?;
    fs::write(&config, b"{\"a\":2}")?;
    let c = committed(run_import(&v2, &root)?)?;
    assert!(matches!(
        c,
        Committed::New {
            shared_files: 0,
            written_files: 2,
            ..
        }
    ));
    assert_eq!(
        fs::read(root.join("stable/2/files/config.json"))?,
        b"{\"a\":1}"
    );
    let store = Store::open(&root)?;
    assert!(audit(&store, None, false)?.passed());
    assert!(!audit(&store, None, true)?.passed());
    Ok(())
}

#[test]
fn a_refused_verification_leaves_the_store_unchanged() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    let outcome = import(&v2, &root, &policy(), &opts(None), |sink, _| {
        let _ = stream(&v2, sink);
        let mut r = Report::default();
        r.push(
            crate::verify::CheckName::ChainSignatures,
            Outcome::Fail(Failure::Trust),
            "bad",
        );
        (r, None)
    })?;
    assert!(matches!(outcome, ImportOutcome::Refused { .. }));
    assert!(staging_is_empty(&root)?);
    assert!(!root.join("stable/2").exists());
    assert_eq!(Store::open(&root)?.current("stable")?, Some(1));
    Ok(())
}

#[test]
fn the_next_writer_removes_what_an_interrupted_import_staged() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    let left = root.join(".staging/import-dead/files/sub");
    fs::create_dir_all(&left)?;
    fs::write(left.join("half.bin"), b"half")?;
    fs::set_permissions(&left, fs::Permissions::from_mode(0o555))?;
    committed(run_import(&v2, &root)?)?;
    assert!(staging_is_empty(&root)?);
    // The lock-holder API does the same.
    fs::create_dir_all(root.join(".staging/import-x"))?;
    let store = Store::open(&root)?;
    assert_eq!(store.lock()?.cleanup_staging()?, 1);
    Ok(())
}

/// A crash at every step of the commit: the store reads as the old version
/// (the commit point is the last step), audits clean, every path left
/// matches the list of store paths, and the next import completes: from
/// scratch when the history had not recorded the new version yet, by
/// completing the recorded switch when it had.
#[test]
fn a_crash_at_any_commit_step_leaves_the_old_or_the_new_version() -> R {
    let points = [
        (FaultPoint::Staged, false),
        (FaultPoint::VersionRenamed, false),
        (FaultPoint::Sealed, false),
        (FaultPoint::Recorded, true),
        (FaultPoint::TempLinked, true),
    ];
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    for (point, recorded) in points {
        let root = dir.path().join(format!("store-{point:?}"));
        committed(run_import(&v1, &root)?)?;
        FAULT.with(|f| f.set(Some(point)));
        let crashed = run_import(&v2, &root);
        FAULT.with(|f| f.set(None));
        assert!(crashed.is_err(), "{point:?}");
        every_path_is_listed(&root)?;

        let store = Store::open(&root)?;
        assert_eq!(store.current("stable")?, Some(1), "{point:?}");
        let state = store.channel_state("stable")?;
        assert_eq!(state.current.map(|c| c.0), Some(1), "{point:?}");
        let report = audit(&store, None, true)?;
        assert!(report.passed(), "{point:?}: {}", report.render_text());
        let expected: &[u64] = if recorded { &[1, 2] } else { &[1] };
        assert_eq!(seqs(&store.history("stable")?), expected, "{point:?}");

        // The next import (the same bundle, retried) completes.
        let c = committed(run_import(&v2, &root)?)?;
        if recorded {
            assert!(
                matches!(c, Committed::AlreadyCurrent { sequence: 2, .. }),
                "{point:?}: {c:?}"
            );
        } else {
            assert!(matches!(c, Committed::New { sequence: 2, .. }), "{point:?}");
        }
        assert_eq!(store.current("stable")?, Some(2), "{point:?}");
        assert_eq!(seqs(&store.history("stable")?), [1, 2], "{point:?}");
        assert!(!root.join("stable/current.tmp").exists(), "{point:?}");
        assert!(staging_is_empty(&root)?, "{point:?}");
        assert!(audit(&store, None, true)?.passed(), "{point:?}");
    }
    Ok(())
}

/// Every entry of a store, relative, with its kind (links never followed).
fn store_entries(root: &Path) -> Result<Vec<(String, paths::EntryKind)>, BoxError> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let kind = fs::symlink_metadata(&path)?.file_type();
            let rel = path
                .strip_prefix(root)?
                .to_str()
                .ok_or("non-UTF-8 store path")?
                .to_owned();
            let kind = if kind.is_dir() {
                todo.push(path);
                paths::EntryKind::Folder
            } else if kind.is_symlink() {
                paths::EntryKind::Link
            } else if kind.is_file() {
                paths::EntryKind::File
            } else {
                return Err(format!("{rel}: lbom made neither a file, a folder nor a link").into());
            };
            out.push((rel, kind));
        }
    }
    Ok(out)
}

/// Every path lbom left in `root` is one `paths::STORE_PATHS` lists, with
/// the type it lists: a path the code creates cannot be missing from the
/// list the hostile-store generator attacks.
fn every_path_is_listed(root: &Path) -> R {
    for (rel, kind) in store_entries(root)? {
        if paths::classify(&rel, kind).is_none() {
            return Err(format!(
                "{}: {rel} ({kind:?}) is not in paths::STORE_PATHS",
                root.display()
            )
            .into());
        }
    }
    Ok(())
}

#[test]
fn a_torn_history_line_is_ignored_then_cut() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    let path = root.join("stable/history.jsonl");
    let whole = fs::read(&path)?;
    fs::OpenOptions::new()
        .append(true)
        .open(&path)?
        .write_all(b"{\"action\":\"imp")?;
    let store = Store::open(&root)?;
    assert_eq!(seqs(&store.history("stable")?), [1]);
    store.lock()?.recover()?;
    assert_eq!(fs::read(&path)?, whole);
    Ok(())
}

/// Import v1 into a fresh store and return the store and its version path.
fn imported(dir: &Path) -> Result<(Store, PathBuf), BoxError> {
    let (v1, _) = two_versions(dir)?;
    let root = dir.join("store");
    committed(run_import(&v1, &root)?)?;
    let version = root.join("stable/1");
    // The owner may bypass the modes: that is what audit is for.
    for d in ["", "files", "files/sub", "bundle"] {
        fs::set_permissions(version.join(d), fs::Permissions::from_mode(0o755))?;
    }
    Ok((Store::open(&root)?, version))
}

/// Seal every version folder of `root`'s channel `stable` again (folders
/// 0555, files 0444), as a tamperer who knows about the mode check would:
/// what is left for audit to find is the tampering itself.
fn reseal(root: &Path) -> R {
    let mut todo = vec![root.join("stable")];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let kind = fs::symlink_metadata(&path)?.file_type();
            let in_version = path.strip_prefix(root.join("stable"))?.components().count() > 0
                && path
                    .strip_prefix(root.join("stable"))?
                    .components()
                    .next()
                    .and_then(|c| c.as_os_str().to_str())
                    .is_some_and(|c| c.parse::<u64>().is_ok());
            if !in_version {
                continue;
            }
            if kind.is_dir() {
                todo.push(path.clone());
                fs::set_permissions(&path, fs::Permissions::from_mode(0o555))?;
            } else if kind.is_file() {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o444))?;
            }
        }
    }
    Ok(())
}

fn only_problem(store: &Store) -> Result<Problem, BoxError> {
    reseal(store.root())?;
    let report = audit(store, Some("stable"), false)?;
    assert!(!report.passed());
    let problems: Vec<Problem> = report.problems().cloned().collect();
    assert_eq!(problems.len(), 1, "{}", report.render_text());
    problems
        .into_iter()
        .next()
        .ok_or_else(|| "no problem".into())
}

#[test]
fn audit_names_a_flipped_byte() -> R {
    let dir = tempfile::tempdir()?;
    let (store, version) = imported(dir.path())?;
    let file = version.join("files/sub/weights.bin");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644))?;
    let mut bytes = fs::read(&file)?;
    *bytes.get_mut(4321).ok_or("short")? ^= 0x01;
    fs::write(&file, bytes)?;
    let p = only_problem(&store)?;
    assert_eq!(
        (p.kind, p.path.as_str()),
        (ProblemKind::Changed, "stable/1/files/sub/weights.bin")
    );
    Ok(())
}

#[test]
fn audit_names_a_missing_file() -> R {
    let dir = tempfile::tempdir()?;
    let (store, version) = imported(dir.path())?;
    fs::remove_file(version.join("bundle/sboms/config.json.cdx.json"))?;
    let p = only_problem(&store)?;
    assert_eq!(
        (p.kind, p.path.as_str()),
        (
            ProblemKind::Missing,
            "stable/1/bundle/sboms/config.json.cdx.json"
        )
    );
    Ok(())
}

#[test]
fn audit_names_an_extra_file() -> R {
    let dir = tempfile::tempdir()?;
    let (store, version) = imported(dir.path())?;
    fs::write(version.join("bundle/chain/0002.dsse.json"), b"{}")?;
    let p = only_problem(&store)?;
    assert_eq!(
        (p.kind, p.path.as_str()),
        (ProblemKind::Extra, "stable/1/bundle/chain/0002.dsse.json")
    );
    Ok(())
}

#[test]
fn audit_names_a_file_replaced_by_a_symlink_without_following_it() -> R {
    let dir = tempfile::tempdir()?;
    let (store, version) = imported(dir.path())?;
    let file = version.join("files/config.json");
    let copy = dir.path().join("same-content.json");
    fs::copy(&file, &copy)?;
    fs::remove_file(&file)?;
    std::os::unix::fs::symlink(&copy, &file)?;
    let p = only_problem(&store)?;
    assert_eq!(
        (p.kind, p.path.as_str()),
        (ProblemKind::NotAFile, "stable/1/files/config.json")
    );
    Ok(())
}

#[test]
fn audit_names_a_changed_manifest_and_a_bad_current() -> R {
    let dir = tempfile::tempdir()?;
    let (store, version) = imported(dir.path())?;
    let manifest = version.join("bundle/manifest.json");
    fs::set_permissions(&manifest, fs::Permissions::from_mode(0o644))?;
    fs::OpenOptions::new()
        .append(true)
        .open(&manifest)?
        .write_all(b" ")?;
    assert_eq!(only_problem(&store)?.kind, ProblemKind::Manifest);

    let current = store.root().join("stable/current");
    fs::remove_file(&current)?;
    std::os::unix::fs::symlink("../elsewhere", &current)?;
    assert_eq!(only_problem(&store)?.kind, ProblemKind::Current);
    Ok(())
}

#[test]
fn rollback_switches_to_kept_versions_only() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    committed(run_import(&v2, &root)?)?;
    let store = Store::open(&root)?;
    let now = jiff::Timestamp::UNIX_EPOCH;
    let locked = store.lock()?;
    assert_eq!(
        rollback(&locked, "stable", 1, now)?,
        RolledBack::Switched {
            from: Some(2),
            to: 1
        }
    );
    assert_eq!(store.current("stable")?, Some(1));
    let last = store.history("stable")?.pop().ok_or("history")?;
    assert_eq!(
        (last.action, last.sequence, last.from),
        (HistoryAction::Rollback, 1, Some(2))
    );
    assert_eq!(
        rollback(&locked, "stable", 1, now)?,
        RolledBack::AlreadyCurrent { to: 1 }
    );
    let refused = rollback(&locked, "stable", 7, now);
    assert!(
        matches!(&refused, Err(e) if e.kind() == StoreErrorKind::Refused),
        "{refused:?}"
    );
    assert!(rollback(&locked, "../x", 1, now).is_err());
    assert_eq!(store.current("stable")?, Some(1));
    // Versions stay kept after a rollback.
    assert_eq!(store.channel_state("stable")?.versions.len(), 2);
    drop(locked);
    assert!(audit(&store, None, true)?.passed());
    Ok(())
}

#[test]
fn a_second_writer_is_refused_while_the_lock_is_held() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    let held = Store::open_or_create(&root)?;
    let store = held.store().clone();
    let second = Store::open(&root)?.lock();
    assert!(
        matches!(&second, Err(StoreError::Locked { .. })),
        "{second:?}"
    );
    let import_err = run_import(&v1, &root)
        .err()
        .ok_or("import ran while locked")?;
    assert_eq!(import_err.kind(), StoreErrorKind::Locked);
    assert!(import_err.to_string().contains("store is locked"));
    drop(held);
    assert!(store.lock().is_ok());
    Ok(())
}

#[test]
fn the_store_folder_must_be_empty_or_a_store() -> R {
    let dir = tempfile::tempdir()?;
    let busy = dir.path().join("busy");
    fs::create_dir(&busy)?;
    fs::write(busy.join("notes.txt"), b"mine")?;
    let err = Store::open_or_create(&busy)
        .err()
        .ok_or("took over a folder")?;
    assert_eq!(err.kind(), StoreErrorKind::NotAStore);
    assert_eq!(
        Store::open(&busy).err().map(|e| e.kind()),
        Some(StoreErrorKind::NotAStore)
    );
    let empty = dir.path().join("empty");
    fs::create_dir(&empty)?;
    drop(Store::open_or_create(&empty)?);
    drop(Store::open_or_create(&empty)?);
    Store::open(&empty)?;
    assert_eq!(
        Store::create(&empty).err().map(|e| e.kind()),
        Some(StoreErrorKind::Refused)
    );
    fs::write(
        empty.join(layout::MARKER),
        b"{\"format\":\"lbom-store\",\"version\":9}\n",
    )?;
    assert!(Store::open(&empty).is_err());
    Ok(())
}

#[test]
fn the_sink_never_writes_through_a_symlink() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let locked = Store::open_or_create(&dir.path().join("store"))?;
    let mut sink = locked.stage(None)?;
    let outside = dir.path().join("outside");
    fs::create_dir(&outside)?;
    let files = sink.staged().dir().join("files");
    std::os::unix::fs::symlink(&outside, files.join("sub"))?;
    std::os::unix::fs::symlink(outside.join("x"), files.join("config.json"))?;
    std::os::unix::fs::symlink(&outside, sink.staged().dir().join("bundle/sboms"))?;
    let err = stream(&v1, &mut sink)
        .err()
        .ok_or("streamed through symlinks")?;
    assert!(!err.to_string().is_empty());
    let entry = ManifestEntryFixture::artifact("sub/weights.bin", b"x")?;
    let path = BundlePath::new("sub/weights.bin")?;
    assert!(sink.begin(&path, &entry).is_err());
    assert!(
        sink.metadata(&BundlePath::new("sboms/a.cdx.json")?, b"{}")
            .is_err()
    );
    let config = BundlePath::new("config.json")?;
    let entry = ManifestEntryFixture::artifact("config.json", b"x")?;
    assert!(sink.begin(&config, &entry).is_err());
    assert_eq!(fs::read_dir(&outside)?.count(), 0);
    sink.into_staged().0.discard()?;
    Ok(())
}

struct ManifestEntryFixture;

impl ManifestEntryFixture {
    fn artifact(path: &str, bytes: &[u8]) -> Result<crate::bundle::ManifestEntry, BoxError> {
        Ok(crate::bundle::ManifestEntry {
            path: BundlePath::new(&format!("artifacts/{path}"))?,
            role: Role::Artifact,
            size: bytes.len() as u64,
            sha256: Sha256Digest::of(bytes),
            encoding: crate::bundle::Encoding::Raw,
            stored_size: bytes.len() as u64,
            stored_sha256: Some(Sha256Digest::of(bytes)),
        })
    }
}

#[test]
fn a_different_bundle_cannot_take_a_kept_sequence() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let fork = make_bundle(
        dir.path(),
        "fork",
        &[("config.json", b"{\"b\":1}")],
        1,
        None,
    )?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    // The fake verifier lets the fork through (as `allow_fork` would); the
    // store still cannot keep two versions 1.
    let err = run_import(&fork, &root).err().ok_or("fork stored")?;
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert!(staging_is_empty(&root)?);
    let store = Store::open(&root)?;
    assert_eq!(seqs(&store.history("stable")?), [1]);
    assert!(audit(&store, None, true)?.passed());
    Ok(())
}

#[test]
fn commit_refuses_a_verifier_that_skipped_an_artifact() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    let mut seen = None;
    let result = import(&v1, &root, &policy(), &opts(None), |sink, ctx| {
        let mut only_metadata = MetadataOnly(sink);
        passing(&v1, &mut seen)(&mut only_metadata, ctx)
    });
    let err = result.err().ok_or("committed an incomplete version")?;
    assert_eq!(err.kind(), StoreErrorKind::Refused);
    assert!(staging_is_empty(&root)?);
    assert_eq!(Store::open(&root)?.current("stable")?, None);
    Ok(())
}

/// Passes metadata on, but drops artifacts (a broken verifier).
struct MetadataOnly<'a>(&'a mut dyn ArtifactSink);

impl ArtifactSink for MetadataOnly<'_> {
    fn begin(
        &mut self,
        _: &BundlePath,
        _: &crate::bundle::ManifestEntry,
    ) -> std::io::Result<Option<Box<dyn std::io::Write + Send>>> {
        Ok(None)
    }
    fn finish(&mut self, _: &BundlePath, _: &crate::bundle::ManifestEntry) -> std::io::Result<()> {
        Ok(())
    }
    fn metadata(&mut self, name: &BundlePath, bytes: &[u8]) -> std::io::Result<()> {
        self.0.metadata(name, bytes)
    }
}

fn venv_python() -> Result<PathBuf, BoxError> {
    let dir = std::env::var_os("LBOM_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"),
        PathBuf::from,
    );
    let python = dir.join("bin/python");
    if python.is_file() {
        Ok(python)
    } else {
        Err(format!("no Python venv at {}: run `make test`", dir.display()).into())
    }
}

#[test]
fn the_receipt_is_a_signed_vsa_over_the_manifest_and_artifacts() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    let key = key()?;
    let mut seen = None;
    committed(import(
        &v1,
        &root,
        &policy(),
        &opts(Some(&key)),
        passing(&v1, &mut seen),
    )?)?;
    let store = Store::open(&root)?;
    let path = root.join("stable/1").join(crate::import::paths::RECEIPT);
    let bytes = fs::read(&path)?;
    let (record, _) = store.record("stable", 1)?;
    assert_eq!(record.receipt_sha256, Some(Sha256Digest::of(&bytes)));
    let envelope = Envelope::decode(&bytes)?;
    assert!(envelope.is_signed_by(key.public_key()));
    let statement: serde_json::Value = serde_json::from_slice(&envelope.payload)?;
    assert_eq!(statement["predicateType"], receipt::VSA_PREDICATE_TYPE);
    let predicate = &statement["predicate"];
    assert_eq!(predicate["verificationResult"], "PASSED");
    assert_eq!(predicate["resourceUri"], "urn:lbom:bundle:tiny:stable:1");
    assert_eq!(predicate["policy"]["uri"], "station.toml");
    assert_eq!(
        predicate["policy"]["digest"]["sha256"],
        Sha256Digest::of(b"policy").to_hex()
    );
    let inputs: Vec<&str> = predicate["inputAttestations"]
        .as_array()
        .ok_or("inputs")?
        .iter()
        .filter_map(|a| a["uri"].as_str())
        .collect();
    assert_eq!(inputs, ["attestation.intoto.json", "chain/0001.dsse.json"]);
    let subjects: Vec<(&str, &str)> = statement["subject"]
        .as_array()
        .ok_or("subjects")?
        .iter()
        .filter_map(|s| Some((s["name"].as_str()?, s["digest"]["sha256"].as_str()?)))
        .collect();
    assert_eq!(
        subjects.first().map(|s| s.1),
        Some(record.manifest_sha256.to_hex().as_str())
    );
    assert_eq!(subjects.len(), 3);
    assert!(audit(&store, None, true)?.passed());

    // Independent check: securesystemslib, raw PAE + cryptography, the
    // in-toto Statement validator, each subject re-hashed from the files.
    let pub_pem = dir.path().join("station.pub");
    fs::write(&pub_pem, key.public_key().to_pem()?)?;
    let files_root = dir.path().join("subjects");
    fs::create_dir_all(files_root.join("sub"))?;
    fs::copy(
        root.join("stable/1/bundle/manifest.json"),
        files_root.join("manifest.json"),
    )?;
    fs::copy(
        root.join("stable/1/files/config.json"),
        files_root.join("config.json"),
    )?;
    fs::copy(
        root.join("stable/1/files/sub/weights.bin"),
        files_root.join("sub/weights.bin"),
    )?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/verify_dsse.py");
    let out = std::process::Command::new(venv_python()?)
        .arg(script)
        .arg(&path)
        .arg(&pub_pem)
        .arg("--root")
        .arg(&files_root)
        .output()?;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The predicate against the in-toto-attestation VSA v1 protobuf, which
    // rejects unknown or mistyped fields. That binding (0.9.3) declares
    // `verifiedLevels` a single string where the SLSA VSA v1 spec says
    // "array (SlsaResult)": the spec wins, so that one field is checked
    // apart (a list of strings).
    let out = std::process::Command::new(venv_python()?)
        .arg("-c")
        .arg(VSA_CHECK)
        .arg(&path)
        .output()?;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASSED ['LBOM_POLICY_PASSED']"));
    Ok(())
}

const VSA_CHECK: &str = r#"
import base64, json, sys
import google.protobuf.json_format as pbj
from in_toto_attestation.predicates.vsa.v1 import vsa_pb2
env = json.load(open(sys.argv[1]))
stmt = json.loads(base64.b64decode(env["payload"]))
assert stmt["predicateType"] == "https://slsa.dev/verification_summary/v1"
predicate = dict(stmt["predicate"])
levels = predicate.pop("verifiedLevels")
assert isinstance(levels, list) and all(isinstance(l, str) for l in levels), levels
pb = vsa_pb2.VerificationSummary()
pbj.ParseDict(predicate, pb)
print(pb.verification_result, levels)
"#;

#[test]
fn reimporting_a_kept_older_version_switches_back_to_it() -> R {
    // What an import does once the verifier let an older bundle through
    // (`allow_rollback`): the kept version is reused, not rewritten.
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    committed(run_import(&v2, &root)?)?;
    let c = committed(run_import(&v1, &root)?)?;
    assert!(matches!(
        c,
        Committed::New {
            sequence: 1,
            previous: Some(2),
            shared_files: 0,
            written_files: 0,
            ..
        }
    ));
    let store = Store::open(&root)?;
    assert_eq!(store.current("stable")?, Some(1));
    let history = store.history("stable")?;
    assert_eq!(seqs(&history), [1, 2, 1]);
    assert_eq!(history.last().map(|e| e.from), Some(Some(2)));
    assert!(staging_is_empty(&root)?);
    assert!(audit(&store, None, true)?.passed());
    assert_eq!(
        audit(&store, Some("nightly"), false)
            .err()
            .map(|e| e.kind()),
        Some(StoreErrorKind::Refused)
    );
    Ok(())
}

/// Throughput of the store's own work (run with `--ignored --nocapture`):
/// a first import writes a 256 MiB artifact; the next version shares it
/// (re-hash + hard link); audit re-hashes both versions.
#[test]
#[ignore = "measurement"]
fn measure_import_share_and_audit() -> R {
    let dir = tempfile::tempdir()?;
    let big: Vec<u8> = (0..(256u32 << 20) / 32)
        .flat_map(|i| Sha256Digest::of(&i.to_le_bytes()).0)
        .collect();
    let v1 = make_bundle(
        dir.path(),
        "b1",
        &[("w.bin", &big), ("c.json", b"1")],
        1,
        None,
    )?;
    let v2 = make_bundle(
        dir.path(),
        "b2",
        &[("w.bin", &big), ("c.json", b"2")],
        2,
        Some(&v1),
    )?;
    let root = dir.path().join("store");
    let mib = big.len() as f64 / f64::from(1u32 << 20);
    for (label, bundle) in [("first import", &v1), ("shared import", &v2)] {
        let t = std::time::Instant::now();
        committed(run_import(bundle, &root)?)?;
        let s = t.elapsed().as_secs_f64();
        eprintln!(
            "{label}: {s:.2} s ({:.0} MiB/s, fake verifier included)",
            mib / s
        );
    }
    let t = std::time::Instant::now();
    let report = audit(&Store::open(&root)?, None, true)?;
    let s = t.elapsed().as_secs_f64();
    assert!(report.passed());
    eprintln!(
        "audit --all (2 x {mib:.0} MiB): {s:.2} s ({:.0} MiB/s)",
        2.0 * mib / s
    );
    Ok(())
}

#[test]
fn rollback_refuses_a_version_that_no_longer_matches_its_records() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    committed(run_import(&v1, &root)?)?;
    committed(run_import(&v2, &root)?)?;
    let weights = root.join("stable/1/files/sub/weights.bin");
    fs::set_permissions(&weights, fs::Permissions::from_mode(0o644))?;
    fs::write(&weights, [9u8; 5000])?;
    let store = Store::open(&root)?;
    let err = rollback(&store.lock()?, "stable", 1, jiff::Timestamp::UNIX_EPOCH)
        .err()
        .ok_or("rolled back to a tampered version")?;
    assert_eq!(err.kind(), StoreErrorKind::Damaged);
    assert!(err.to_string().contains("files/sub/weights.bin"), "{err}");
    assert_eq!(store.current("stable")?, Some(2));
    assert_eq!(seqs(&store.history("stable")?), [1, 2]);
    Ok(())
}

/// docs/policy.md [P37]: drift in a class the policy gates is refused
/// (`drift.accepted`, exit 8) until `--accept-drift` names it; the store is
/// unchanged by the refusal, and the accepted classes are recorded in the
/// channel's history and in the signed receipt.
#[test]
fn gated_drift_is_refused_until_accepted_and_then_recorded() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let root = dir.path().join("store");
    let key = key()?;
    let mut p = policy();
    p.drift_needs_acceptance = [crate::diff::DriftClass::FileChanged].into_iter().collect();
    let mut none = opts(Some(&key));
    none.accepted_drift = Vec::new();
    let mut seen = None;
    // The first import has no baseline: nothing to accept.
    committed(import(&v1, &root, &p, &none, passing(&v1, &mut seen))?)?;
    match import(&v2, &root, &p, &none, passing(&v2, &mut seen))? {
        ImportOutcome::Refused { report, drift } => {
            assert_eq!(report.failure(), Some(Failure::Drift), "{report:?}");
            assert_eq!(Failure::Drift.class(), crate::Class::Drift);
            let gate = report
                .checks
                .iter()
                .find(|c| c.name == crate::verify::CheckName::DriftAccepted)
                .ok_or("no drift.accepted check")?;
            assert!(gate.detail.contains("file_changed"), "{}", gate.detail);
            assert!(drift.is_some());
        }
        ImportOutcome::Imported { .. } => return Err("gated drift was imported".into()),
    }
    let store = Store::open(&root)?;
    assert_eq!(store.current("stable")?, Some(1));
    assert_eq!(seqs(&store.history("stable")?), [1]);
    assert!(staging_is_empty(&root)?);
    // Accepting another class does not help; naming this one does.
    let mut other = opts(Some(&key));
    other.accepted_drift = vec![crate::diff::DriftClass::Tokenizer];
    assert!(matches!(
        import(&v2, &root, &p, &other, passing(&v2, &mut seen))?,
        ImportOutcome::Refused { .. }
    ));
    let accepted = opts(Some(&key));
    committed(import(&v2, &root, &p, &accepted, passing(&v2, &mut seen))?)?;
    let store = Store::open(&root)?;
    assert_eq!(store.current("stable")?, Some(2));
    let history = store.history("stable")?;
    let entry = history.last().ok_or("no history")?;
    assert_eq!(entry.sequence, 2);
    assert_eq!(entry.accepted_drift, ["file_changed"]);
    let receipt = Envelope::decode(&fs::read(root.join("stable/2").join(crate::import::paths::RECEIPT))?)?;
    let statement: serde_json::Value = serde_json::from_slice(&receipt.payload)?;
    assert!(
        statement
            .to_string()
            .contains(r#""lbom:acceptedDrift":["file_changed"]"#),
        "{statement}"
    );
    Ok(())
}

mod prune;
mod race;
mod structure;

/// An import from a named source (bytes with no file: a registry's blobs)
/// peeks at the channel through the source, commits what the file commits,
/// and records the last component of the source's name as `bundle_file`
/// and the source's length as `bundle_bytes` (docs/store.md, "import.json").
#[test]
fn an_import_from_a_source_records_its_name_last_component() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let bytes = fs::read(&v1)?;
    let len = bytes.len() as u64;
    let name = "oci://registry.test:5000/team/model@sha256:0a1b";
    let input = BundleInput::source(
        name,
        std::sync::Arc::new(crate::verify::input::tests::Bytes(bytes)),
    );
    let from_source = dir.path().join("from-source");
    let from_file = dir.path().join("from-file");
    let mut seen = None;
    committed(import(
        &input,
        &from_source,
        &policy(),
        &opts(None),
        passing(&v1, &mut seen),
    )?)?;
    // The channel was read from the source's manifest before verifying.
    assert_eq!(seen, Some(ChannelState::default()));
    committed(import(
        &v1,
        &from_file,
        &policy(),
        &opts(None),
        passing(&v1, &mut seen),
    )?)?;
    let (record, _) = Store::open(&from_source)?.record("stable", 1)?;
    assert_eq!(record.bundle_file, "model@sha256:0a1b");
    assert_eq!(record.bundle_bytes, len);
    let (file_record, _) = Store::open(&from_file)?.record("stable", 1)?;
    assert_eq!(file_record.bundle_file, "v1.lbom");
    assert_eq!(file_record.manifest_sha256, record.manifest_sha256);
    assert_eq!(
        fs::read(from_source.join("stable/1/files/sub/weights.bin"))?,
        fs::read(from_file.join("stable/1/files/sub/weights.bin"))?
    );
    Ok(())
}

/// A change made to what a verifier verified.
type Edit = fn(&mut Verified);

type Verifier<'a> =
    Box<dyn FnOnce(&mut dyn ArtifactSink, &VerifyContext) -> (Report, Option<Verified>) + 'a>;

/// A verifier that refuses with `failure`.
fn refusing<'a>(failure: Failure) -> Verifier<'a> {
    Box::new(move |_, _| {
        let mut report = Report::default();
        report.push(
            crate::verify::CheckName::EntriesDigests,
            Outcome::Fail(failure),
            "refused",
        );
        (report, None)
    })
}

/// A verifier that streams `bundle` and passes, with `edit` made to what
/// it verified (the bundle changed between the peek and the read).
fn passing_edited<'a>(bundle: &'a Path, edit: Edit) -> Verifier<'a> {
    Box::new(move |sink, ctx| {
        let mut seen = None;
        let (report, verified) = passing(bundle, &mut seen)(sink, ctx);
        (
            report,
            verified.map(|mut v| {
                edit(&mut v);
                v
            }),
        )
    })
}

/// docs/store.md [S18], the whole class: whatever stops an import before
/// its commit into a store it created — every failure class a verifier
/// reports, a base or a channel that changed while the bundle was read —
/// the store is taken back: a missing path stays missing, an empty folder
/// stays empty. A store that was there keeps its version; an import that
/// commits keeps the store it created.
#[test]
fn a_store_created_for_an_import_that_commits_nothing_is_taken_back() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let kept = dir.path().join("kept");
    committed(run_import(&v1, &kept)?)?;
    let before = fs::read_dir(kept.join("stable"))?.count();
    let cases = [
        Failure::Malformed,
        Failure::Integrity,
        Failure::Trust,
        Failure::Policy,
        Failure::Rollback,
        Failure::Drift,
        Failure::Io,
    ]
    .map(|f| (format!("{f:?}"), Some(f)));
    let edits: [(&str, Edit); 2] = [
        ("base changed", |v| {
            v.manifest.base = Some(Previous {
                sequence: 1,
                manifest_sha256: Sha256Digest::of(b"another base"),
            });
        }),
        ("channel changed", |v| v.manifest.channel = "other".into()),
    ];
    let verifier = |case: &(String, Option<Failure>), edit: usize| -> Verifier<'_> {
        match case.1 {
            Some(f) => refusing(f),
            None => passing_edited(&v1, edits.get(edit).map_or(|_| {}, |e| e.1)),
        }
    };
    let all: Vec<(String, Option<Failure>)> = cases
        .into_iter()
        .chain(edits.iter().map(|(n, _)| ((*n).to_owned(), None)))
        .collect();
    for (i, case) in all.iter().enumerate() {
        let edit = i.saturating_sub(7);
        let missing = dir.path().join(format!("missing-{i}"));
        let empty = dir.path().join(format!("empty-{i}"));
        fs::create_dir(&empty)?;
        for root in [&missing, &empty, &kept] {
            let result = import(&v1, root, &policy(), &opts(None), verifier(case, edit));
            assert!(
                matches!(result, Ok(ImportOutcome::Refused { .. }) | Err(_)),
                "{}: {result:?}",
                case.0
            );
            if case.1.is_none() {
                assert!(result.is_err(), "{}: an error after verifying", case.0);
            }
        }
        assert!(!missing.exists(), "{}: {missing:?} left", case.0);
        assert_eq!(fs::read_dir(&empty)?.count(), 0, "{}: {empty:?}", case.0);
        assert_eq!(fs::read_dir(kept.join("stable"))?.count(), before);
        assert_eq!(Store::open(&kept)?.current("stable")?, Some(1));
    }
    Ok(())
}

/// Through the real verifier: a bundle read from a named source (a
/// registry's blobs, to `import`) is verified and committed as its file
/// is, file for file; the same bytes damaged are refused, and the store
/// the import created is taken back (docs/store.md [S18]).
#[test]
fn a_source_is_verified_and_imported_as_its_file_is() -> R {
    use crate::verify::input::tests::Bytes;
    let dir = tempfile::tempdir()?;
    let (v1, _) = two_versions(dir.path())?;
    let mut trusting = policy();
    trusting.keys = vec![crate::verify::policy::TrustedKey {
        name: "maintainer-key".into(),
        key: key()?.public_key().clone(),
        roles: ["maintainer".to_owned()].into_iter().collect(),
    }];
    trusting.content.allowed_formats = [crate::inspect::Format::Json, crate::inspect::Format::Unknown]
        .into_iter()
        .collect();
    // Within the bundles' thirty days.
    let options = ImportOptions {
        now: jiff::Timestamp::from_second(86_400)?,
        ..opts(None)
    };
    let real = |input: &BundleInput, store: &Path| {
        import(input, store, &trusting, &options, |sink, ctx| {
            crate::verify::verify(input, &trusting, ctx, sink)
        })
    };
    let bytes = fs::read(&v1)?;
    let name = "oci://registry.test/team/model@sha256:00ff";
    let source = BundleInput::source(name, std::sync::Arc::new(Bytes(bytes.clone())));
    let (from_source, from_file) = (dir.path().join("source"), dir.path().join("file"));
    committed(real(&source, &from_source)?)?;
    committed(real(&BundleInput::from(&v1), &from_file)?)?;
    let version = |root: &Path| -> Result<Vec<(String, Vec<u8>)>, BoxError> {
        let mut out = Vec::new();
        for rel in ["files/config.json", "files/sub/weights.bin", "bundle/manifest.json", "facts.json"] {
            out.push((rel.to_owned(), fs::read(root.join("stable/1").join(rel))?));
        }
        Ok(out)
    };
    assert_eq!(version(&from_source)?, version(&from_file)?);
    let (record, _) = Store::open(&from_source)?.record("stable", 1)?;
    assert_eq!(record.bundle_file, "model@sha256:00ff");

    let mut damaged = bytes;
    let at = damaged.len() / 3;
    if let Some(b) = damaged.get_mut(at) {
        *b ^= 0x01;
    }
    let source = BundleInput::source(name, std::sync::Arc::new(Bytes(damaged)));
    let refused = dir.path().join("refused");
    let outcome = real(&source, &refused)?;
    assert!(
        matches!(&outcome, ImportOutcome::Refused { .. }),
        "{outcome:?}"
    );
    assert!(!refused.exists(), "the created store was not taken back");
    Ok(())
}
