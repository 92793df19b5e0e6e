//! The tamper matrix through the real binary: every byte-level edit of a
//! signed bundle (tests/tamper/mod.rs lists them with their expected exit
//! code and failing check) is refused by `lbom verify` with that code and
//! check, and by `lbom import` with the same code, leaving the store and
//! everything around it exactly as it was.
//!
//! Also: crash safety of `import` under SIGKILL, `audit` finding a flipped
//! byte in a stored file, and rollback / fork / re-import handling.

mod common;
mod tamper;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{TestResult, fail, repo};
use tamper::harness::{self, Sandbox, judge_report};
use tamper::{Depth, Keys, Matrix};

fn matrix(dir: &Path) -> Result<(Keys, Matrix), Box<dyn std::error::Error>> {
    let keys = Keys::load(&repo())?;
    let m = tamper::build(&repo(), dir, &keys)?;
    Ok((keys, m))
}

/// The generator itself: every case differs from the base (but the
/// controls built to equal it), names are unique, and each case gets as
/// far into the library's reader as it claims — so a "content" tamper
/// really reaches the signature and content checks instead of being
/// stopped by the tar walk.
#[test]
fn generator_cases_are_distinct_and_reach_their_stage() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, m) = matrix(dir.path())?;
    assert!(m.cases.len() >= 60, "only {} cases", m.cases.len());
    let mut names = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for case in &m.cases {
        if !names.insert(case.name.clone()) {
            problems.push(format!("{}: duplicate name", case.name));
        }
        let same = case.bytes == m.base;
        let should_equal = matches!(
            case.name.as_str(),
            "base" | "resigned-control" | "threshold2-only-one-key"
        );
        if same != should_equal {
            problems.push(format!("{}: equal to the base: {same}", case.name));
        }
        if matches!(case.depth, Depth::Structure | Depth::Layout) && case.code != 3 {
            problems.push(format!(
                "{}: refused by the reader but expects {}",
                case.name, case.code
            ));
        }
        let walks = tamper::walks(&case.bytes);
        let path = dir.path().join(format!("{}.lbom", case.name));
        std::fs::write(&path, &case.bytes)?;
        let opens = lbom::bundle::read::open(&path, &lbom::bundle::ReadLimits::default());
        let got = match (walks, &opens) {
            (false, _) => Depth::Structure,
            (true, Err(_)) => Depth::Layout,
            (true, Ok(_)) => Depth::Content,
        };
        if got != case.depth {
            problems.push(format!(
                "{}: reaches {got:?}, declared {:?} ({:?})",
                case.name,
                case.depth,
                opens.err().map(|e| e.to_string())
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The link builder reproduces `lbom sign` byte for byte, so a re-signed
/// case differs from the base only where its edit says.
#[test]
fn resigning_the_base_reproduces_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, m) = matrix(dir.path())?;
    let control = m
        .cases
        .iter()
        .find(|c| c.name == "resigned-control")
        .ok_or("no control")?;
    assert!(control.bytes == m.base, "re-signing changed the base");
    Ok(())
}

fn policies(dir: &Path, keys: &Keys) -> Result<tamper::Policies, Box<dyn std::error::Error>> {
    let p = dir.join("policy");
    std::fs::create_dir_all(&p)?;
    tamper::write_policies(&p, keys)
}

#[test]
fn verify_refuses_every_tamper_with_its_code_and_check() -> TestResult {
    let sb = Sandbox::new()?;
    let gen_dir = tempfile::tempdir()?;
    let (keys, m) = matrix(gen_dir.path())?;
    let pol = policies(&sb.root, &keys)?;
    let mut problems = Vec::new();
    for case in &m.cases {
        let file = sb.case_file(&case.name, &case.bytes)?;
        let policy = pol.path(case.policy);
        let run = harness::run(&mut sb.lbom(harness::verify_json_args(&file, policy)))?;
        let mut wrong = Vec::new();
        if run.code() != Some(case.code) {
            wrong.push(format!("exit {:?}, expected {}", run.code(), case.code));
        }
        match run.json() {
            Ok(report) => {
                // Every control is signed by at least one demo key.
                let verdict = judge_report(&report, case.code, case.checks, true);
                if !verdict.is_empty() {
                    wrong.push(verdict);
                }
            }
            Err(e) => wrong.push(e.to_string()),
        }
        if run.stderr.contains("panicked") || run.stderr.contains("RUST_BACKTRACE") {
            wrong.push(format!("panic: {}", run.stderr.trim()));
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "{}: {} [stderr: {}]",
                case.name,
                wrong.join("; "),
                run.stderr.trim()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n{}",
        problems.len(),
        m.cases.len(),
        problems.join("\n")
    );
    Ok(())
}

/// A bundle on another channel, imported first so the store under test is
/// not empty (a refused import must leave existing versions alone too).
fn seed_store(sb: &Sandbox, keys: &Keys, policy: &Path) -> TestResult {
    let t = tamper::Times::now()?;
    let spec = tamper::PackSpec {
        inputs: tamper::base_inputs(&repo()),
        name: "seed",
        channel: "seed",
        sequence: None,
        previous: None,
        created: t.created,
        expires: None,
        compress: lbom::bundle::Compression::Auto,
    };
    let dir = tempfile::tempdir()?;
    let bytes = tamper::pack_and_sign(
        &spec,
        &dir.path().join("seed.lbom"),
        &[
            (&keys.maintainer, "maintainer"),
            (&keys.transfer, "transfer"),
        ],
        t.link,
    )?;
    let file = sb.case_file("seed", &bytes)?;
    import_ok(sb, &file, policy)
}

fn import(
    sb: &Sandbox,
    file: &Path,
    policy: &Path,
) -> Result<common::Run, Box<dyn std::error::Error>> {
    harness::run(&mut sb.lbom([
        "import".as_ref(),
        file.as_os_str(),
        "--into".as_ref(),
        sb.store.as_os_str(),
        "--create".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ]))
}

fn import_ok(sb: &Sandbox, file: &Path, policy: &Path) -> TestResult {
    let run = import(sb, file, policy)?;
    if run.code() == Some(0) {
        Ok(())
    } else {
        Err(fail(format!(
            "import {} exited {:?}: {}",
            file.display(),
            run.code(),
            run.stderr.trim()
        )))
    }
}

#[test]
fn import_refuses_every_tamper_and_changes_nothing() -> TestResult {
    let sb = Sandbox::new()?;
    let gen_dir = tempfile::tempdir()?;
    let (keys, m) = matrix(gen_dir.path())?;
    let pol = policies(&sb.root, &keys)?;
    seed_store(&sb, &keys, &pol.standard)?;
    let mut problems = Vec::new();
    for case in m.cases.iter().filter(|c| c.code != 0) {
        let file = sb.case_file(&case.name, &case.bytes)?;
        let before = sb.snapshot()?;
        let run = import(&sb, &file, pol.path(case.policy))?;
        let after = sb.snapshot()?;
        let mut wrong = Vec::new();
        if run.code() != Some(case.code) {
            wrong.push(format!("exit {:?}, expected {}", run.code(), case.code));
        }
        let changed = harness::diff(&before, &after);
        if !changed.is_empty() {
            wrong.push(format!("the sandbox changed:\n{changed}"));
        }
        if let Err(e) = sb.staging_is_clean() {
            wrong.push(e.to_string());
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "{}: {} [stderr: {}]",
                case.name,
                wrong.join("; "),
                run.stderr.trim()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} cases wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

/// The controls import into a fresh store each.
#[test]
fn import_accepts_the_controls() -> TestResult {
    let gen_dir = tempfile::tempdir()?;
    let (keys, m) = matrix(gen_dir.path())?;
    for case in m.cases.iter().filter(|c| c.code == 0) {
        let sb = Sandbox::new()?;
        let pol = policies(&sb.root, &keys)?;
        let file = sb.case_file(&case.name, &case.bytes)?;
        let run = import(&sb, &file, pol.path(case.policy))?;
        assert_eq!(run.code(), Some(0), "{}: {}", case.name, run.stderr.trim());
        assert_eq!(current(&sb.store, "main")?, Some(1), "{}", case.name);
        sb.staging_is_clean()?;
        let audit = harness::run(&mut sb.lbom(["audit".as_ref(), sb.store.as_os_str()]))?;
        assert_eq!(
            audit.code(),
            Some(0),
            "{}: audit: {}",
            case.name,
            audit.stderr.trim()
        );
    }
    Ok(())
}

/// The sequence `STORE/<channel>/current` points to: a symlink to the
/// version folder (or a file naming it). `None` when absent.
fn current(store: &Path, channel: &str) -> Result<Option<u64>, Box<dyn std::error::Error>> {
    let path = store.join(channel).join("current");
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let target = if meta.file_type().is_symlink() {
        std::fs::read_link(&path)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        std::fs::read_to_string(&path)?.trim().to_owned()
    };
    target
        .trim_start_matches('0')
        .parse::<u64>()
        .map(Some)
        .or_else(|_| {
            if target.chars().all(|c| c == '0') && !target.is_empty() {
                Ok(Some(0))
            } else {
                Err(fail(format!("current -> {target:?} is not a sequence")))
            }
        })
}

// ---------------------------------------------------------------------------
// Store history: crash safety, audit, rollback and fork.

/// A safetensors file of `bytes` pseudo-random bytes (one U8 tensor), so a
/// bundle of a few tens of MB keeps import busy long enough to be killed
/// mid-way; `seed` varies the data.
fn big_safetensors(path: &Path, bytes: usize, seed: u64) -> TestResult {
    let header =
        format!(r#"{{"w":{{"dtype":"U8","shape":[{bytes}],"data_offsets":[0,{bytes}]}}}}"#);
    let mut pad = header.into_bytes();
    while pad.len() % 8 != 0 {
        pad.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + pad.len() + bytes);
    out.extend_from_slice(&(pad.len() as u64).to_le_bytes());
    out.extend_from_slice(&pad);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < 8 + pad.len() + bytes {
        // xorshift64: incompressible, so `auto` stores it raw.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(8 + pad.len() + bytes);
    std::fs::write(path, out)?;
    Ok(())
}

/// Bundles 1 and 2 of channel `main` (2 names 1 as previous), plus a fork:
/// another bundle with sequence 2 after 1.
struct History {
    one: std::path::PathBuf,
    two: std::path::PathBuf,
    fork: std::path::PathBuf,
}

fn history(sb: &Sandbox, keys: &Keys, size: usize) -> Result<History, Box<dyn std::error::Error>> {
    let t = tamper::Times::now()?;
    let inputs = sb.root.join("inputs");
    std::fs::create_dir_all(&inputs)?;
    let chain = [
        (&keys.maintainer, "maintainer"),
        (&keys.transfer, "transfer"),
    ];
    let mut files = Vec::new();
    for (label, seed, sequence, previous) in [
        ("1", 1, 1, None),
        ("2", 2, 2, Some("1")),
        ("fork", 3, 2, Some("1")),
    ] {
        let folder = inputs.join(label);
        std::fs::create_dir_all(&folder)?;
        big_safetensors(&folder.join("model.safetensors"), size, seed)?;
        std::fs::copy(
            repo().join("fixtures/safetensors/tiny-llama/config.json"),
            folder.join("config.json"),
        )?;
        let out = sb.cases.join(format!("main-{label}.lbom"));
        let spec = tamper::PackSpec {
            inputs: vec![folder.join("model.safetensors"), folder.join("config.json")],
            name: "big",
            channel: "main",
            sequence: Some(sequence),
            previous: previous.map(|p| sb.cases.join(format!("main-{p}.lbom"))),
            created: t.created,
            expires: None,
            compress: lbom::bundle::Compression::Auto,
        };
        tamper::pack_and_sign(&spec, &out, &chain, t.link)?;
        files.push(out);
    }
    let [one, two, fork] = <[_; 3]>::try_from(files).map_err(|_| fail("three bundles"))?;
    Ok(History { one, two, fork })
}

/// Deterministic pseudo-random numbers (SplitMix64) for the kill times.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Copy a folder tree (files, folders, symlinks, modes).
fn copy_tree(from: &Path, to: &Path) -> TestResult {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(format!(
            "cp -a {} {} failed",
            from.display(),
            to.display()
        )))
    }
}

#[test]
fn import_killed_at_any_moment_leaves_the_old_or_the_new_version() -> TestResult {
    let sb = Sandbox::new()?;
    let keys = Keys::load(&repo())?;
    let pol = policies(&sb.root, &keys)?;
    let h = history(&sb, &keys, 40 << 20)?;
    import_ok(&sb, &h.one, &pol.standard)?;
    assert_eq!(current(&sb.store, "main")?, Some(1));
    let pristine = sb.root.join("pristine");
    copy_tree(&sb.store, &pristine)?;

    // How long one whole import of bundle 2 takes here: kills land in
    // 0..1.2 of it.
    let timing = sb.root.join("timing");
    copy_tree(&pristine, &timing)?;
    let start = Instant::now();
    let run = harness::run(&mut sb.lbom([
        "import".as_ref(),
        h.two.as_os_str(),
        "--into".as_ref(),
        timing.as_os_str(),
        "--create".as_ref(),
        "--policy".as_ref(),
        pol.standard.as_os_str(),
    ]))?;
    let full = start.elapsed();
    assert_eq!(
        run.code(),
        Some(0),
        "uninterrupted import: {}",
        run.stderr.trim()
    );
    std::fs::remove_dir_all(&timing)?;

    let mut rng = Rng(0x5eed_1b0a);
    let span_ms = u64::try_from(full.as_millis())?.saturating_mul(12) / 10 + 1;
    let mut seen = std::collections::BTreeMap::<Option<u64>, u32>::new();
    let pristine_listing = harness::listing(&pristine, &[])?;
    let mut midway = 0u32;
    for i in 0..32 {
        std::fs::remove_dir_all(&sb.store)?;
        copy_tree(&pristine, &sb.store)?;
        let delay = Duration::from_millis(rng.next() % span_ms);
        let mut child = sb
            .lbom([
                "import".as_ref(),
                h.two.as_os_str(),
                "--into".as_ref(),
                sb.store.as_os_str(),
                "--create".as_ref(),
                "--policy".as_ref(),
                pol.standard.as_os_str(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(delay);
        // SIGKILL (Child::kill) this child only, by its own handle.
        let _ = child.kill();
        child.wait()?;
        let seq = current(&sb.store, "main")?;
        *seen.entry(seq).or_default() += 1;
        // Killed mid-way: still at version 1, but the import had begun
        // writing (staging, a version folder, a lock).
        if seq == Some(1) && harness::listing(&sb.store, &[])? != pristine_listing {
            midway += 1;
        }
        assert!(
            matches!(seq, Some(1 | 2)),
            "iteration {i} (kill after {delay:?}): current is {seq:?}"
        );
        let audit = harness::run(&mut sb.lbom(["audit".as_ref(), sb.store.as_os_str()]))?;
        assert_eq!(
            audit.code(),
            Some(0),
            "iteration {i} (kill after {delay:?}, current {seq:?}): audit: {}",
            audit.stderr.trim()
        );
        // The interrupted import is simply run again.
        let again = import(&sb, &h.two, &pol.standard)?;
        assert_eq!(
            again.code(),
            Some(0),
            "iteration {i}: re-import: {}",
            again.stderr.trim()
        );
        assert_eq!(current(&sb.store, "main")?, Some(2), "iteration {i}");
        sb.staging_is_clean()?;
    }
    eprintln!("full import {full:?}; current after the kill: {seen:?}; {midway} killed mid-way");
    assert!(midway > 0, "no kill landed mid-import: {seen:?}");
    Ok(())
}

/// Find a regular file below `dir` whose name is `name`.
fn find_file(dir: &Path, name: &str) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let listing = harness::listing(dir, &[])?;
    listing
        .iter()
        .find(|(p, item)| item.kind == "file" && p.file_name().is_some_and(|n| n == name))
        .map(|(p, _)| dir.join(p))
        .ok_or_else(|| fail(format!("no file {name} below {}", dir.display())))
}

#[test]
fn audit_finds_one_flipped_byte_in_a_stored_file() -> TestResult {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new()?;
    let gen_dir = tempfile::tempdir()?;
    let (keys, m) = matrix(gen_dir.path())?;
    let pol = policies(&sb.root, &keys)?;
    let file = sb.case_file("base", &m.base)?;
    import_ok(&sb, &file, &pol.standard)?;
    let audit = |sb: &Sandbox| harness::run(&mut sb.lbom(["audit".as_ref(), sb.store.as_os_str()]));
    assert_eq!(audit(&sb)?.code(), Some(0));

    let stored = find_file(&sb.store.join("main"), "model.safetensors")?;
    let mode = std::fs::metadata(&stored)?.permissions().mode();
    assert_eq!(mode & 0o222, 0, "stored files are read-only: {mode:o}");
    let original = std::fs::read(&stored)?;
    let mut bytes = original.clone();
    let mid = bytes.len() / 2;
    if let Some(b) = bytes.get_mut(mid) {
        *b ^= 0x40;
    }
    std::fs::set_permissions(&stored, std::fs::Permissions::from_mode(mode | 0o200))?;
    std::fs::write(&stored, &bytes)?;
    std::fs::set_permissions(&stored, std::fs::Permissions::from_mode(mode))?;
    let run = audit(&sb)?;
    assert_eq!(
        run.code(),
        Some(4),
        "audit after a flipped byte: {}",
        run.stderr.trim()
    );

    std::fs::set_permissions(&stored, std::fs::Permissions::from_mode(mode | 0o200))?;
    std::fs::write(&stored, &original)?;
    std::fs::set_permissions(&stored, std::fs::Permissions::from_mode(mode))?;
    assert_eq!(
        audit(&sb)?.code(),
        Some(0),
        "audit after restoring the byte"
    );
    Ok(())
}

#[test]
fn rollback_and_fork_are_refused_and_a_reimport_is_a_no_op() -> TestResult {
    let sb = Sandbox::new()?;
    let keys = Keys::load(&repo())?;
    let pol = policies(&sb.root, &keys)?;
    let h = history(&sb, &keys, 64 << 10)?;
    import_ok(&sb, &h.one, &pol.standard)?;
    import_ok(&sb, &h.two, &pol.standard)?;
    assert_eq!(current(&sb.store, "main")?, Some(2));

    let refused = |file: &Path, what: &str| -> TestResult {
        let before = sb.snapshot()?;
        let run = import(&sb, file, &pol.standard)?;
        assert_eq!(run.code(), Some(7), "{what}: {}", run.stderr.trim());
        assert_eq!(
            harness::diff(&before, &sb.snapshot()?),
            "",
            "{what} changed the store"
        );
        sb.staging_is_clean()
    };
    refused(&h.one, "rollback to sequence 1")?;
    refused(&h.fork, "fork: another sequence 2")?;

    // verify --store sees the same.
    let run = harness::run(&mut sb.lbom([
        "verify".as_ref(),
        h.one.as_os_str(),
        "--policy".as_ref(),
        pol.standard.as_os_str(),
        "--store".as_ref(),
        sb.store.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]))?;
    assert_eq!(
        run.code(),
        Some(7),
        "verify --store of sequence 1: {}",
        run.stderr.trim()
    );
    let verdict = judge_report(&run.json()?, 7, &["store.history"], false);
    assert!(verdict.is_empty(), "{verdict}");

    // The same bundle again: accepted, nothing changes.
    let before = sb.snapshot()?;
    let run = import(&sb, &h.two, &pol.standard)?;
    assert_eq!(run.code(), Some(0), "re-import: {}", run.stderr.trim());
    assert_eq!(
        harness::diff(&before, &sb.snapshot()?),
        "",
        "re-import changed the store"
    );

    // `rollback` points the channel back, on purpose.
    let run = harness::run(&mut sb.lbom([
        "rollback".as_ref(),
        sb.store.as_os_str(),
        "--channel".as_ref(),
        "main".as_ref(),
        "--to".as_ref(),
        "1".as_ref(),
    ]))?;
    assert_eq!(
        run.code(),
        Some(0),
        "rollback --to 1: {}",
        run.stderr.trim()
    );
    assert_eq!(current(&sb.store, "main")?, Some(1));
    let audit = harness::run(&mut sb.lbom(["audit".as_ref(), sb.store.as_os_str()]))?;
    assert_eq!(
        audit.code(),
        Some(0),
        "audit after rollback: {}",
        audit.stderr.trim()
    );
    let run = harness::run(&mut sb.lbom([
        "rollback".as_ref(),
        sb.store.as_os_str(),
        "--channel".as_ref(),
        "main".as_ref(),
        "--to".as_ref(),
        "9".as_ref(),
    ]))?;
    assert_ne!(run.code(), Some(0), "rollback to a sequence never imported");
    assert_eq!(current(&sb.store, "main")?, Some(1));
    Ok(())
}

#[test]
fn a_policy_allowing_rollback_accepts_the_older_bundle() -> TestResult {
    let sb = Sandbox::new()?;
    let keys = Keys::load(&repo())?;
    let pol = policies(&sb.root, &keys)?;
    let h = history(&sb, &keys, 64 << 10)?;
    import_ok(&sb, &h.one, &pol.standard)?;
    import_ok(&sb, &h.two, &pol.standard)?;
    let run = import(&sb, &h.one, &pol.rollback)?;
    assert_eq!(
        run.code(),
        Some(0),
        "rollback allowed: {}",
        run.stderr.trim()
    );
    assert_eq!(current(&sb.store, "main")?, Some(1));
    // A fork stays refused: only rollback was allowed.
    let run = import(&sb, &h.fork, &pol.rollback)?;
    assert_eq!(run.code(), Some(7), "fork: {}", run.stderr.trim());
    Ok(())
}

/// The same matrix through the library (`lbom::verify::run::verify`), so a
/// disagreement is pinned to the verifier rather than to the CLI around it.
#[test]
fn library_verify_agrees_with_the_matrix() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (keys, m) = matrix(dir.path())?;
    let pol = policies(dir.path(), &keys)?;
    let mut problems = Vec::new();
    for case in &m.cases {
        let path = dir.path().join(format!("{}.lbom", case.name));
        std::fs::write(&path, &case.bytes)?;
        let policy = lbom::verify::Policy::load(pol.path(case.policy))?;
        let ctx = lbom::verify::VerifyContext {
            now: jiff::Timestamp::now(),
            channel: None,
            caps: lbom::bundle::Caps::default(),
            jobs: None,
        };
        let (report, _) =
            lbom::verify::run::verify(&path, &policy, &ctx, &mut lbom::verify::HashOnly);
        let code = report
            .failure()
            .map_or(0, |f| i32::from(common::codes::of(f.class())));
        let mut wrong = Vec::new();
        if code != case.code {
            wrong.push(format!("code {code}, expected {}", case.code));
        }
        let verdict = judge_report(
            &serde_json::to_value(&report)?,
            case.code,
            case.checks,
            true,
        );
        if !verdict.is_empty() {
            wrong.push(verdict);
        }
        if !wrong.is_empty() {
            let failed = report
                .checks
                .iter()
                .find(|c| matches!(c.outcome, lbom::verify::Outcome::Fail(_)))
                .map(|c| format!("{}: {}", c.name, c.detail))
                .unwrap_or_default();
            problems.push(format!("{}: {} [{failed}]", case.name, wrong.join("; ")));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n{}",
        problems.len(),
        m.cases.len(),
        problems.join("\n")
    );
    Ok(())
}

/// docs/policy.md §4.4: the default formats are gguf, safetensors and json, and a
/// model folder's `config.json` is a JSON side file (`Format::Json`). So
/// the untouched base — a safetensors model, a GGUF and its config.json —
/// verifies under a policy that leaves `allowed_formats` at its default.
#[test]
fn default_formats_accept_a_models_config_json() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (keys, m) = matrix(dir.path())?;
    let pol = policies(dir.path(), &keys)?;
    let text = std::fs::read_to_string(&pol.standard)?;
    let start = text.find("[content]").ok_or("no [content]")?;
    let end = text
        .get(start..)
        .and_then(|t| t.find("\n\n"))
        .map_or(text.len(), |e| start + e);
    let default = dir.path().join("policy/default-formats.toml");
    std::fs::write(
        &default,
        format!(
            "{}{}",
            text.get(..start).unwrap_or(""),
            text.get(end..).unwrap_or("")
        ),
    )?;
    assert!(!std::fs::read_to_string(&default)?.contains("allowed_formats"));
    let base = dir.path().join("base-default.lbom");
    std::fs::write(&base, &m.base)?;
    let sb = Sandbox::new()?;
    let run = harness::run(&mut sb.lbom(harness::verify_json_args(&base, &default)))?;
    let verdict = judge_report(&run.json()?, 0, &[], true);
    assert!(verdict.is_empty(), "{verdict}");
    assert_eq!(run.code(), Some(0), "{}", run.stderr.trim());
    Ok(())
}
