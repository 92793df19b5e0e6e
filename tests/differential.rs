//! Differential bundles end to end (issue 18; docs/bundle-format.md §14):
//! a GGUF and a safetensors folder written by the Python `gguf` and
//! `safetensors` packages (tests/tools/delta_model.py), version 2 made by
//! editing the chat template, the tokenizer and one tensor. Version 2 is
//! packed full and as a differential against version 1; the differential
//! must be a small part of the full bundle, verify without a store (saying
//! the rebuild is unverified) and with one, import into a store holding
//! version 1 as byte-identical files as the full import, leave `audit`
//! clean, be refused with exit 9 onto any other base, and be refused when a
//! shipped chunk, a recipe or the base reference is tampered with.
//!
//! The small journey runs on an 8 MiB model in seconds; the large one on a
//! model of more than 1 GiB (generated once under $TMPDIR and removed at
//! the end), printing each bundle's size for the closing note and
//! holding `import`'s peak RSS under 64 MiB.

mod common;
mod tamper;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Run, TestResult, fail, python_tool, repo, run_bounded, sha256_tree};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const LIMIT: Duration = Duration::from_secs(1200);

fn lbom_in<I, S>(dir: &Path, args: I) -> Res<Run>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = common::lbom(args);
    cmd.current_dir(dir).env_remove("SOURCE_DATE_EPOCH");
    run_bounded(&mut cmd, LIMIT)
}

fn text(run: &Run) -> String {
    format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr)
}

fn code(run: Res<Run>, want: i32, what: &str) -> Res<Run> {
    let run = run?;
    if run.code() != Some(want) {
        return Err(fail(format!(
            "{what} exited {:?}, expected {want}: {}",
            run.code(),
            text(&run)
        )));
    }
    Ok(run)
}

fn key(name: &str) -> PathBuf {
    repo().join("keys").join(name)
}

/// One version of the model, made by the independent writers: version 1,
/// or version 2 with `edit` (`all`, `template`, `tokenizer`, `tensor`).
fn model(out: &Path, mb: u64, version: &str, edit: &str) -> Res<PathBuf> {
    python_tool(
        "delta_model.py",
        &[
            out.as_os_str(),
            OsStr::new("--mb"),
            OsStr::new(&mb.to_string()),
            OsStr::new("--version"),
            OsStr::new(version),
            OsStr::new("--edit"),
            OsStr::new(edit),
        ],
    )?;
    Ok(out.to_path_buf())
}

/// The two versions of the model: version 2 with all three edits.
fn models(dir: &Path, mb: u64) -> Res<(PathBuf, PathBuf)> {
    let v1 = model(&dir.join("model-v1"), mb, "1", "all")?;
    let v2 = model(&dir.join("model-v2"), mb, "2", "all")?;
    Ok((v1, v2))
}

fn pack(dir: &Path, model: &Path, out: &str, extra: &[&OsStr]) -> Res<PathBuf> {
    let bundle = dir.join(out);
    let mut args: Vec<&OsStr> = vec!["pack".as_ref(), "-q".as_ref(), model.as_os_str()];
    args.extend(["-o".as_ref(), bundle.as_os_str()]);
    let k = key("demo-maintainer.key");
    args.extend([
        "--key".as_ref(),
        k.as_os_str(),
        "--role".as_ref(),
        "maintainer".as_ref(),
    ]);
    args.extend(["--channel", "stable", "--name", "delta"].map(OsStr::new));
    args.extend(extra);
    code(lbom_in(dir, &args), 0, &format!("pack {out}"))?;
    Ok(bundle)
}

fn policy(dir: &Path) -> Res<PathBuf> {
    let p = dir.join("station.toml");
    let trust = format!("m={}:maintainer", key("demo-maintainer.pub").display());
    code(
        lbom_in(
            dir,
            [
                OsStr::new("policy"),
                OsStr::new("init"),
                OsStr::new("-o"),
                p.as_os_str(),
                OsStr::new("--trust"),
                OsStr::new(&trust),
            ],
        ),
        0,
        "policy init",
    )?;
    Ok(p)
}

/// `verify BUNDLE --policy POLICY`, with `--store STORE` when given.
fn verify(dir: &Path, bundle: &Path, policy: &Path, store: Option<&Path>) -> Res<Run> {
    let mut args = vec![
        OsStr::new("verify"),
        bundle.as_os_str(),
        OsStr::new("--policy"),
        policy.as_os_str(),
    ];
    if let Some(store) = store {
        args.extend([OsStr::new("--store"), store.as_os_str()]);
    }
    lbom_in(dir, args)
}

/// `import` into `store` (created when missing), every drift class
/// accepted: the edits are drift by design.
fn import_args(bundle: &Path, store: &Path, policy: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        "import".into(),
        bundle.into(),
        "--into".into(),
        store.into(),
        "--create".into(),
        "--policy".into(),
        policy.into(),
    ];
    for class in lbom::diff::DriftClass::ALL {
        args.extend(["--accept-drift".into(), class.as_str().into()]);
    }
    args
}

fn import(dir: &Path, bundle: &Path, store: &Path, policy: &Path) -> Res<Run> {
    lbom_in(dir, import_args(bundle, store, policy))
}

/// `import` run as a child under GNU time: its run and peak RSS in KiB.
fn import_measured(dir: &Path, bundle: &Path, store: &Path, policy: &Path) -> Res<(Run, u64)> {
    let accounting = dir.join("import.rss");
    let mut cmd = std::process::Command::new("/usr/bin/time");
    cmd.arg("--format=%M")
        .arg("--output")
        .arg(&accounting)
        .arg(env!("CARGO_BIN_EXE_lbom"))
        .args(import_args(bundle, store, policy))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH");
    let run = run_bounded(&mut cmd, LIMIT)?;
    let rss = std::fs::read_to_string(&accounting)?
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .ok_or_else(|| fail("no peak RSS from /usr/bin/time (GNU time is needed)"))?;
    Ok((run, rss))
}

/// A copy of `bundle` with the bytes at `at` flipped.
fn tampered(bundle: &Path, at: u64, name: &str) -> Res<PathBuf> {
    let out = bundle.with_file_name(name);
    let mut bytes = std::fs::read(bundle)?;
    let i = usize::try_from(at)?;
    let b = bytes
        .get_mut(i)
        .ok_or_else(|| fail("offset past the bundle"))?;
    // A hex digit becomes another hex digit, so that a tampered base
    // reference still parses and what is refused is the version it names
    // (a flip of 'a' or 'f' by one bit would leave the hex alphabet and
    // fail earlier, as malformed); any other byte has one bit flipped.
    *b = match *b {
        b'0' => b'1',
        c if c.is_ascii_hexdigit() => b'0',
        c => c ^ 0x01,
    };
    std::fs::write(&out, bytes)?;
    Ok(out)
}

/// Where the differential's parts are: the first delta entry's first
/// operation record and its first shipped byte, and the manifest's `base`
/// digest.
fn offsets(bundle: &Path) -> Res<(u64, Option<u64>, u64)> {
    let opened = lbom::bundle::open(bundle, &lbom::bundle::ReadLimits::default())?;
    let (m, t) = opened
        .manifest
        .entries
        .iter()
        .zip(&opened.layout.entries)
        .find(|(m, _)| {
            m.encoding == lbom::bundle::Encoding::Delta
                && m.path.as_str().ends_with("model.gguf.dlt")
        })
        .ok_or_else(|| fail("no delta entry for the GGUF"))?;
    let bytes = std::fs::read(bundle)?;
    let start = usize::try_from(t.data_offset)?;
    let head = bytes
        .get(start..start + 10)
        .ok_or_else(|| fail("short entry"))?;
    let len_bytes: [u8; 2] = head
        .get(8..10)
        .ok_or_else(|| fail("short head"))?
        .try_into()?;
    let path_len = u64::from(u16::from_be_bytes(len_bytes));
    let first_record = t.data_offset + 14 + path_len;
    // The first shipped chunk: walk the records.
    let mut at = first_record;
    let mut shipped = None;
    for _ in 0..10_000 {
        let i = usize::try_from(at)?;
        let Some(rec) = bytes.get(i..i + 57) else {
            break;
        };
        at += 57;
        if rec.first() == Some(&b'S') {
            shipped = Some(at);
            break;
        }
        if at >= t.data_offset + m.stored_size {
            break;
        }
    }
    let manifest = opened
        .layout
        .entries
        .iter()
        .find(|e| e.name.as_str() == "manifest.json")
        .ok_or_else(|| fail("no manifest"))?;
    let mstart = usize::try_from(manifest.data_offset)?;
    let mtext = String::from_utf8_lossy(
        bytes
            .get(mstart..mstart + usize::try_from(manifest.size)?)
            .unwrap_or_default(),
    )
    .into_owned();
    let base_at = mtext
        .find("\"base\"")
        .and_then(|b| {
            mtext[b..]
                .find("\"manifest_sha256\": \"")
                .map(|m| b + m + 20)
        })
        .ok_or_else(|| fail("no base in the manifest"))?;
    Ok((
        first_record + 20,
        shipped,
        manifest.data_offset + base_at as u64,
    ))
}

/// What one journey measured.
struct Figures {
    full: u64,
    differential: u64,
    import_rss_kib: u64,
}

/// The differential of each edit alone against version 1 (`v1`, packed in
/// `dir`), in bytes; each version is removed once packed.
fn each_edit(dir: &Path, mb: u64, v1: &Path) -> Res<Vec<(&'static str, u64)>> {
    let mut out = Vec::new();
    for edit in ["template", "tokenizer", "tensor"] {
        let folder = model(&dir.join(format!("model-{edit}")), mb, "2", edit)?;
        let name = format!("v2-{edit}.lbom");
        let bundle = pack(dir, &folder, &name, &["--base".as_ref(), v1.as_os_str()])?;
        out.push((edit, std::fs::metadata(&bundle)?.len()));
        std::fs::remove_dir_all(&folder)?;
        std::fs::remove_file(&bundle)?;
    }
    Ok(out)
}

fn journey(dir: &Path, mb: u64) -> Res<Figures> {
    let (v1, v2) = models(dir, mb)?;
    let b1 = pack(dir, &v1, "v1.lbom", &[])?;
    let full = pack(
        dir,
        &v2,
        "v2-full.lbom",
        &["--previous".as_ref(), b1.as_os_str()],
    )?;
    let diff = pack(
        dir,
        &v2,
        "v2-diff.lbom",
        &["--base".as_ref(), b1.as_os_str()],
    )?;
    // A differential is no base ([B81]): its files are not all in it.
    let refused = lbom_in(
        dir,
        [
            OsStr::new("pack"),
            v2.as_os_str(),
            OsStr::new("-o"),
            dir.join("v3.lbom").as_os_str(),
            OsStr::new("--base"),
            diff.as_os_str(),
        ],
    );
    let refused = code(refused, 4, "pack against a differential base")?;
    assert!(
        text(&refused).contains("differential"),
        "{}",
        text(&refused)
    );
    // The model folders are packed: their disk space goes back now.
    std::fs::remove_dir_all(&v1)?;
    std::fs::remove_dir_all(&v2)?;
    let (full_bytes, diff_bytes) = (
        std::fs::metadata(&full)?.len(),
        std::fs::metadata(&diff)?.len(),
    );
    let policy = policy(dir)?;

    // Without a store: what the bundle carries passes, the rebuild is
    // said to be unverified.
    let run = code(
        verify(dir, &diff, &policy, None),
        0,
        "verify without a store",
    )?;
    assert!(
        text(&run).contains("reconstruction unverified"),
        "{}",
        text(&run)
    );

    // Onto a store with no version, or another version current: exit 9.
    let empty_store = dir.join("store-empty");
    code(
        import(dir, &diff, &empty_store, &policy),
        9,
        "import onto no base",
    )?;
    // The store that import created for it is taken back (docs/store.md [S18]).
    assert!(
        !empty_store.exists(),
        "a refused import left {empty_store:?}"
    );
    let full_store = dir.join("store-full");
    code(
        import(dir, &b1, &full_store, &policy),
        0,
        "import v1 (full store)",
    )?;
    code(
        import(dir, &full, &full_store, &policy),
        0,
        "import v2 full",
    )?;
    let run = code(
        import(dir, &diff, &full_store, &policy),
        9,
        "import onto v2",
    )?;
    assert!(
        text(&run).contains("current version is 2"),
        "{}",
        text(&run)
    );

    // The right base: verify --store rebuilds, import commits.
    let store = dir.join("store");
    code(import(dir, &b1, &store, &policy), 0, "import v1")?;
    code(
        verify(dir, &diff, &policy, Some(&store)),
        0,
        "verify --store",
    )?;
    // `diff` rebuilds a differential from its base, the other side (the
    // base bundle or a store holding it as current): the same report as
    // for the full bundle; against anything else, exit 9.
    for old in [&b1, &store] {
        let reports: Vec<String> = [&diff, &full]
            .iter()
            .map(|new| {
                let run = code(
                    lbom_in(dir, [OsStr::new("diff"), old.as_os_str(), new.as_os_str()]),
                    1,
                    "diff (drift found)",
                )?;
                Ok(String::from_utf8_lossy(&run.stdout).replace(&new.display().to_string(), "NEW"))
            })
            .collect::<Res<_>>()?;
        assert_eq!(
            reports.first(),
            reports.get(1),
            "diff of the differential differs from the full's"
        );
    }
    code(
        lbom_in(
            dir,
            [OsStr::new("diff"), full.as_os_str(), diff.as_os_str()],
        ),
        9,
        "diff against another base",
    )?;
    // Tampering: a shipped chunk, a recipe record, the base reference.
    let (record, shipped, base_ref) = offsets(&diff)?;
    // A flipped recipe or chunk byte no longer hashes to the manifest's
    // stored digest (exit 4); a base reference flipped names a version the
    // store does not have as current (exit 9, before anything is read).
    let mut cases = vec![("recipe", record, 4), ("base reference", base_ref, 9)];
    if let Some(s) = shipped {
        cases.push(("shipped chunk", s, 4));
    }
    for (what, at, want) in cases {
        let bad = tampered(
            &diff,
            at,
            &format!("tampered-{}.lbom", what.replace(' ', "-")),
        )?;
        code(
            import(dir, &bad, &store, &policy),
            want,
            &format!("import with a tampered {what}"),
        )?;
    }
    let (run, rss) = import_measured(dir, &diff, &store, &policy)?;
    if run.code() != Some(0) {
        return Err(fail(format!("import of the differential: {}", text(&run))));
    }
    // Byte-identical to the full import, version for version.
    assert_eq!(
        sha256_tree(&store.join("stable/2/files"))?,
        sha256_tree(&full_store.join("stable/2/files"))?,
        "the rebuilt files differ from the full import's"
    );
    code(
        lbom_in(dir, [OsStr::new("audit"), store.as_os_str()]),
        0,
        "audit",
    )?;
    let log = code(
        lbom_in(dir, [OsStr::new("log"), store.as_os_str()]),
        0,
        "log",
    )?;
    assert!(text(&log).contains("differential"), "{}", text(&log));
    let inspect = code(
        lbom_in(dir, [OsStr::new("inspect"), diff.as_os_str()]),
        0,
        "inspect",
    )?;
    assert!(text(&inspect).contains("base"), "{}", text(&inspect));
    Ok(Figures {
        full: full_bytes,
        differential: diff_bytes,
        import_rss_kib: rss,
    })
}

#[test]
fn a_differential_of_a_small_model_rebuilds_exactly_and_refuses_every_wrong_base() -> TestResult {
    let dir = tempfile::tempdir()?;
    let f = journey(dir.path(), 8)?;
    println!(
        "8 MiB model: full {} bytes, differential {} bytes, import peak RSS {} KiB",
        f.full, f.differential, f.import_rss_kib
    );
    assert!(
        f.differential * 4 < f.full,
        "{} against {}",
        f.differential,
        f.full
    );
    Ok(())
}

/// A delta payload as records: the head's base path, and each operation's
/// 57-byte record with its shipped bytes.
type Payload = (String, Vec<([u8; 57], Vec<u8>)>);

fn parse_payload(bytes: &[u8]) -> Res<Payload> {
    let len = usize::from(u16::from_be_bytes(
        bytes.get(8..10).ok_or_else(|| fail("head"))?.try_into()?,
    ));
    let path = String::from_utf8(
        bytes
            .get(10..10 + len)
            .ok_or_else(|| fail("path"))?
            .to_vec(),
    )?;
    let mut at = 14 + len;
    let mut ops = Vec::new();
    while at < bytes.len() {
        let rec: [u8; 57] = bytes
            .get(at..at + 57)
            .ok_or_else(|| fail("record"))?
            .try_into()?;
        at += 57;
        let mut data = Vec::new();
        if rec.first() == Some(&b'S') {
            let n = usize::try_from(u64::from_be_bytes(
                rec.get(9..17).ok_or_else(|| fail("len"))?.try_into()?,
            ))?;
            data = bytes.get(at..at + n).ok_or_else(|| fail("data"))?.to_vec();
            at += n;
        }
        ops.push((rec, data));
    }
    Ok((path, ops))
}

fn write_payload(path: &str, ops: &[([u8; 57], Vec<u8>)], count: u32) -> Res<Vec<u8>> {
    let mut out = b"LBOMDLT1".to_vec();
    out.extend_from_slice(&u16::try_from(path.len())?.to_be_bytes());
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    for (rec, data) in ops {
        out.extend_from_slice(rec);
        out.extend_from_slice(data);
    }
    Ok(out)
}

/// Set the big-endian u64 at `at` of a record.
fn set_u64(rec: &mut [u8; 57], at: usize, value: u64) {
    if let Some(dst) = rec.get_mut(at..at + 8) {
        dst.copy_from_slice(&value.to_be_bytes());
    }
}

fn get_u64(rec: &[u8; 57], at: usize) -> u64 {
    rec.get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

/// Hostile recipes signed by a trusted maintainer (the manifest's stored
/// digests restamped, the chain signed again): each is refused by import
/// onto the right base (exit 4, nothing committed), and a base reference
/// naming another version is refused as the wrong base (exit 9).
#[test]
fn hostile_recipes_signed_by_a_trusted_key_are_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let dir = dir.path();
    let (v1, v2) = models(dir, 8)?;
    let b1 = pack(dir, &v1, "v1.lbom", &[])?;
    let diff = pack(dir, &v2, "v2.lbom", &["--base".as_ref(), b1.as_os_str()])?;
    let policy = policy(dir)?;
    let store = dir.join("store");
    code(import(dir, &b1, &store, &policy), 0, "import v1")?;
    let keys = tamper::Keys::load(&repo())?;
    let original = tamper::entries(&std::fs::read(&diff)?)?;
    let target = "artifacts/gguf/model.gguf.dlt";
    let payload = &original
        .iter()
        .find(|e| e.name == target)
        .ok_or_else(|| fail("no GGUF delta entry"))?
        .data;
    let (path, ops) = parse_payload(payload)?;
    let count = u32::try_from(ops.len())?;
    let first_base = ops
        .iter()
        .position(|(r, _)| r.first() == Some(&b'B'))
        .ok_or_else(|| fail("no base op"))?;
    let first_shipped = ops
        .iter()
        .position(|(r, _)| r.first() == Some(&b'S'))
        .ok_or_else(|| fail("no shipped op"))?;
    assert!(
        ops.len() > 2,
        "the GGUF's recipe has {} operations",
        ops.len()
    );
    type Edit = Box<dyn Fn(&mut Vec<([u8; 57], Vec<u8>)>, &mut String, &mut u32)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "range past the base file",
            Box::new(move |o, _, _| {
                if let Some((r, _)) = o.get_mut(first_base) {
                    set_u64(r, 17, u64::MAX / 2);
                }
            }),
        ),
        (
            "gap",
            Box::new(|o, _, _| {
                if let Some((r, _)) = o.get_mut(1) {
                    let t = get_u64(r, 1);
                    set_u64(r, 1, t + 1);
                }
            }),
        ),
        (
            "overlap",
            Box::new(|o, _, _| {
                if let Some((r, _)) = o.get_mut(1) {
                    let t = get_u64(r, 1);
                    set_u64(r, 1, t - 1);
                }
            }),
        ),
        (
            "size other than the manifest's",
            Box::new(|o, _, c| {
                o.pop();
                *c -= 1;
            }),
        ),
        (
            "huge operation count",
            Box::new(|_, _, c| *c = (1 << 20) + 1),
        ),
        ("count past the records", Box::new(|_, _, c| *c += 1)),
        (
            "base chunk digest",
            Box::new(move |o, _, _| {
                if let Some((r, _)) = o.get_mut(first_base)
                    && let Some(b) = r.get_mut(30)
                {
                    *b ^= 1;
                }
            }),
        ),
        (
            "shipped chunk bytes",
            Box::new(move |o, _, _| {
                if let Some((_, d)) = o.get_mut(first_shipped)
                    && let Some(b) = d.first_mut()
                {
                    *b ^= 1;
                }
            }),
        ),
        (
            "another base file",
            Box::new(|_, p, _| *p = "st/tokenizer.json".into()),
        ),
    ];
    let now = jiff::Timestamp::now();
    for (what, edit) in cases {
        let (mut p, mut o, mut c) = (path.clone(), ops.clone(), count);
        edit(&mut o, &mut p, &mut c);
        let mut entries = original.clone();
        if let Some(e) = entries.iter_mut().find(|e| e.name == target) {
            e.data = write_payload(&p, &o, c)?;
        }
        tamper::restamp(&mut entries, |_| {})?;
        let spec = tamper::LinkSpec {
            key: &keys.maintainer,
            role: "maintainer",
            time: now,
        };
        tamper::resign(&mut entries, &[spec])?;
        let bad = dir.join("hostile.lbom");
        std::fs::write(&bad, tamper::assemble(&entries)?)?;
        let run = code(import(dir, &bad, &store, &policy), 4, what)?;
        assert!(
            text(&run).contains("entries.digests"),
            "{what}: {}",
            text(&run)
        );
    }
    // A base reference naming another version, signed.
    let mut entries = original.clone();
    tamper::restamp(&mut entries, |m| {
        if let Some(b) = m.base.as_mut() {
            b.manifest_sha256 = lbom::io::digest::Sha256Digest::of(b"another version");
        }
    })?;
    let spec = tamper::LinkSpec {
        key: &keys.maintainer,
        role: "maintainer",
        time: now,
    };
    tamper::resign(&mut entries, &[spec])?;
    let bad = dir.join("other-base.lbom");
    std::fs::write(&bad, tamper::assemble(&entries)?)?;
    code(
        import(dir, &bad, &store, &policy),
        9,
        "a base naming another version",
    )?;
    // Nothing was committed; the untouched differential still imports.
    code(
        import(dir, &diff, &store, &policy),
        0,
        "import of the genuine differential",
    )?;
    Ok(())
}

/// `pack --base --hash-cache`: a folder packed again unchanged is not read
/// again (but for its smallest file, which the full pack needs), the
/// bundle verifies and imports onto the base with the same files; a file
/// whose ctime moved is read again.
#[test]
fn the_hash_cache_leaves_unchanged_files_unread_and_trusts_nothing_else() -> TestResult {
    let dir = tempfile::tempdir()?;
    let dir = dir.path();
    let v1 = model(&dir.join("model-v1"), 8, "1", "all")?;
    let b1 = pack(dir, &v1, "v1.lbom", &[])?;
    let cache = dir.join("hash-cache.json");
    let with_cache = |out: &str| -> Res<String> {
        let extra = [
            OsStr::new("--base"),
            b1.as_os_str(),
            OsStr::new("--hash-cache"),
            cache.as_os_str(),
        ];
        let bundle = dir.join(out);
        let mut args: Vec<&OsStr> = vec![OsStr::new("pack"), v1.as_os_str(), OsStr::new("-o")];
        args.push(bundle.as_os_str());
        args.extend(extra);
        let k = key("demo-maintainer.key");
        args.extend([OsStr::new("--key"), k.as_os_str()]);
        args.extend([OsStr::new("--role"), OsStr::new("maintainer")]);
        let run = code(lbom_in(dir, &args), 0, out)?;
        Ok(String::from_utf8_lossy(&run.stdout).into_owned())
    };
    // The first run fills the cache: every file read.
    let first = with_cache("again-1.lbom")?;
    assert!(
        first.contains("5 file(s) unchanged,") && !first.contains("unread"),
        "{first}"
    );
    // The second reads only the smallest of the five files.
    let second = with_cache("again-2.lbom")?;
    assert!(second.contains("5 file(s) unchanged (4 unread"), "{second}");
    // Files whose ctime moved (same bytes) are read again: two of them,
    // so three are left unread (the smallest among them: the full pack
    // has files of its own now).
    std::thread::sleep(Duration::from_millis(20));
    for rewritten in ["st/tokenizer.json", "st/model.safetensors"] {
        let path = v1.join(rewritten);
        std::fs::write(&path, std::fs::read(&path)?)?;
    }
    let third = with_cache("again-3.lbom")?;
    assert!(third.contains("(3 unread"), "{third}");
    // What the cache left unread verifies and imports as the base's files.
    let policy = policy(dir)?;
    let store = dir.join("store");
    code(import(dir, &b1, &store, &policy), 0, "import v1")?;
    let again = dir.join("again-2.lbom");
    code(
        verify(dir, &again, &policy, Some(&store)),
        0,
        "verify --store",
    )?;
    code(import(dir, &again, &store, &policy), 0, "import")?;
    assert_eq!(
        sha256_tree(&store.join("stable/2/files"))?,
        sha256_tree(&store.join("stable/1/files"))?
    );
    // A full pack has no use for a cache.
    let full = lbom_in(
        dir,
        [
            OsStr::new("pack"),
            v1.as_os_str(),
            OsStr::new("-o"),
            dir.join("full.lbom").as_os_str(),
            OsStr::new("--hash-cache"),
            cache.as_os_str(),
        ],
    )?;
    assert_eq!(full.code(), Some(2), "{}", text(&full));
    Ok(())
}

/// The test: a model of more than 1 GiB (a GGUF and a safetensors
/// folder), made once under $TMPDIR and removed at the end.
#[test]
fn a_gigabyte_model_ships_a_small_differential_and_imports_in_bounded_memory() -> TestResult {
    let dir = tempfile::Builder::new()
        .prefix("lbom-delta-big-")
        .tempdir()?;
    let f = journey(dir.path(), 1100)?;
    let edits = each_edit(dir.path(), 1100, &dir.path().join("v1.lbom"))?;
    for (edit, bytes) in &edits {
        println!(
            "1.1 GiB model, {edit} edit alone: differential {bytes} bytes ({:.3} % of the full bundle)",
            *bytes as f64 * 100.0 / f.full as f64
        );
    }
    let template = edits
        .iter()
        .find(|(e, _)| *e == "template")
        .map_or(u64::MAX, |(_, b)| *b);
    assert!(
        template.saturating_mul(100) < f.full,
        "the template edit's differential is not under 1 % of the full bundle"
    );
    println!(
        "1.1 GiB model (template, tokenizer and one tensor edited): full bundle {} bytes, differential {} bytes ({:.3} %), import of the differential peak RSS {} KiB",
        f.full,
        f.differential,
        f.differential as f64 * 100.0 / f.full as f64,
        f.import_rss_kib
    );
    assert!(
        f.differential * 100 < f.full,
        "the differential is not under 1 % of the full bundle"
    );
    assert!(
        f.import_rss_kib < 64 * 1024,
        "import peak RSS {} KiB",
        f.import_rss_kib
    );
    Ok(())
}
