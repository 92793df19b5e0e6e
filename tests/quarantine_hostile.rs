//! Hostile archives against `lbom verify` and `lbom import`: every tar
//! class an extractor can be fooled by (docs/bundle-format.md §2–3), spliced into a real signed bundle by
//! tests/tools/quarantine_hostile.py (Python's tarfile and raw headers),
//! and zstd bombs signed by trusted keys (tests/tamper/mod.rs).
//!
//! Each must be refused with its exit code (3 structure, 4 bombs) within a
//! time bound and under a 512 MiB address-space cap; import must write
//! nothing outside the store's staging folder, and leave that empty.

mod common;
mod tamper;

use std::path::Path;
use std::time::Duration;

use common::{TestResult, fail, python_tool, repo, run_bounded};
use tamper::harness::{self, Sandbox, judge_report};
use tamper::{Case, Keys};

/// The base bundle (maintainer + transfer, demo keys) and the policies.
struct Setup {
    keys: Keys,
    base: Vec<u8>,
    _gen: tempfile::TempDir,
}

fn setup() -> Result<Setup, Box<dyn std::error::Error>> {
    let gen_dir = tempfile::tempdir()?;
    let keys = Keys::load(&repo())?;
    let t = tamper::Times::now()?;
    let spec = tamper::PackSpec {
        inputs: tamper::base_inputs(&repo()),
        name: "base",
        channel: "main",
        sequence: None,
        previous: None,
        created: t.created,
        expires: None,
        compress: lbom::bundle::Compression::Auto,
    };
    let base = tamper::pack_and_sign(
        &spec,
        &gen_dir.path().join("base.lbom"),
        &[
            (&keys.maintainer, "maintainer"),
            (&keys.transfer, "transfer"),
        ],
        t.link,
    )?;
    Ok(Setup {
        keys,
        base,
        _gen: gen_dir,
    })
}

/// Every case: the Python classes and the bombs.
fn all_cases(s: &Setup, dir: &Path) -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let base_path = dir.join("base.lbom");
    std::fs::write(&base_path, &s.base)?;
    let out = dir.join("hostile");
    python_tool(
        "quarantine_hostile.py",
        &[base_path.as_os_str(), out.as_os_str()],
    )?;
    let mut cases = Vec::new();
    for c in tamper::read_hostile_index(&out)? {
        let checks: Vec<&'static str> = c
            .checks
            .iter()
            .map(|x| &*Box::leak(x.clone().into_boxed_str()))
            .collect();
        cases.push(Case {
            bytes: std::fs::read(out.join(format!("{}.lbom", c.name)))?,
            name: format!("{} ({})", c.name, c.what),
            code: c.code,
            checks: Box::leak(checks.into_boxed_slice()),
            policy: tamper::PolicyKind::Standard,
            depth: tamper::Depth::Structure,
        });
    }
    assert!(cases.len() >= 45, "only {} hostile tar cases", cases.len());
    cases.extend(tamper::bombs(&s.base, &s.keys)?);
    Ok(cases)
}

/// The generator's own sanity: the Python cases are refused by the
/// library's reader (they are structure cases), the bombs are not (they
/// must reach streaming), and every case differs from the base.
#[test]
fn hostile_generators_produce_what_they_claim() -> TestResult {
    let s = setup()?;
    let dir = tempfile::tempdir()?;
    let cases = all_cases(&s, dir.path())?;
    let mut problems = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        if c.bytes == s.base {
            problems.push(format!("{}: equal to the base", c.name));
        }
        let path = dir.path().join(format!("case-{i}.lbom"));
        std::fs::write(&path, &c.bytes)?;
        let opens = lbom::bundle::read::open(&path, &lbom::bundle::ReadLimits::default()).is_ok();
        if opens != (c.code == 4) {
            problems.push(format!("{}: library reader opens it: {opens}", c.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn verify_refuses_every_hostile_archive_in_bounded_time_and_memory() -> TestResult {
    let s = setup()?;
    let sb = Sandbox::new()?;
    let dir = tempfile::tempdir()?;
    let cases = all_cases(&s, dir.path())?;
    let pol = sb.root.join("policy");
    std::fs::create_dir_all(&pol)?;
    let policies = tamper::write_policies(&pol, &s.keys)?;
    let mut problems = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let file = sb.case_file(&format!("case-{i}"), &c.bytes)?;
        let run = match run_bounded(
            &mut sb.lbom_capped(harness::verify_json_args(&file, &policies.standard)),
            harness::TIME_LIMIT,
        ) {
            Ok(run) => run,
            Err(e) => {
                problems.push(format!("{}: {e}", c.name));
                continue;
            }
        };
        let mut wrong = Vec::new();
        if run.code() != Some(c.code) {
            wrong.push(format!("exit {:?}, expected {}", run.code(), c.code));
        }
        match run.json() {
            Ok(report) => {
                let verdict = judge_report(&report, c.code, c.checks, false);
                if !verdict.is_empty() {
                    wrong.push(verdict);
                }
            }
            Err(e) => wrong.push(e.to_string()),
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "{} [{:?}]: {} [stderr: {}]",
                c.name,
                run.elapsed,
                wrong.join("; "),
                run.stderr.trim()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} hostile cases wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
    Ok(())
}

#[test]
fn import_refuses_every_hostile_archive_and_writes_nothing_outside_staging() -> TestResult {
    let s = setup()?;
    let sb = Sandbox::new()?;
    let dir = tempfile::tempdir()?;
    let cases = all_cases(&s, dir.path())?;
    let pol = sb.root.join("policy");
    std::fs::create_dir_all(&pol)?;
    let policies = tamper::write_policies(&pol, &s.keys)?;
    // A store that already holds a version, next to the canary folder.
    let seed = sb.case_file("seed", &s.base)?;
    let run = run_bounded(
        &mut sb.lbom([
            "import".as_ref(),
            seed.as_os_str(),
            "--into".as_ref(),
            sb.store.as_os_str(),
            "--create".as_ref(),
            "--policy".as_ref(),
            policies.standard.as_os_str(),
        ]),
        harness::TIME_LIMIT,
    )?;
    assert_eq!(run.code(), Some(0), "seed import: {}", run.stderr.trim());
    let mut problems = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let file = sb.case_file(&format!("case-{i}"), &c.bytes)?;
        let before = sb.snapshot()?;
        let outcome = run_bounded(
            &mut sb.lbom_capped([
                "import".as_ref(),
                file.as_os_str(),
                "--into".as_ref(),
                sb.store.as_os_str(),
                "--create".as_ref(),
                "--policy".as_ref(),
                policies.standard.as_os_str(),
            ]),
            harness::TIME_LIMIT,
        );
        let after = sb.snapshot()?;
        let mut wrong = Vec::new();
        match &outcome {
            Ok(run) if run.code() != Some(c.code) => {
                wrong.push(format!(
                    "exit {:?}, expected {} [stderr: {}]",
                    run.code(),
                    c.code,
                    run.stderr.trim()
                ));
            }
            Ok(_) => {}
            Err(e) => wrong.push(e.to_string()),
        }
        let changed = harness::diff(&before, &after);
        if !changed.is_empty() {
            wrong.push(format!("written outside staging:\n{changed}"));
        }
        if let Err(e) = sb.staging_is_clean() {
            wrong.push(e.to_string());
        }
        if !wrong.is_empty() {
            problems.push(format!("{}: {}", c.name, wrong.join("; ")));
        }
    }
    // Nothing escaped to the usual targets of the traversal cases either.
    for escaped in ["/tmp/lbom-evil", "/evil"] {
        assert!(!Path::new(escaped).exists(), "{escaped} exists");
    }
    assert!(
        problems.is_empty(),
        "{} of {} hostile cases wrong:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
    Ok(())
}

/// The bombs are cheap to make: the 4 GiB one is stored in well under a
/// megabyte, and the test's own decoder agrees it is 4 GiB.
#[test]
fn bombs_are_small_on_disk_and_large_decoded() -> TestResult {
    let s = setup()?;
    let bombs = tamper::bombs(&s.base, &s.keys)?;
    assert_eq!(bombs.len(), 4);
    let dir = tempfile::tempdir()?;
    // What the zstd CLI (not the crate lbom uses) makes of each frame:
    // `zstd -t` decodes and checks; `-dc | wc -c` counts decoded bytes.
    let zstd_t = |frame: &Path, extra: &[&str]| -> Result<bool, Box<dyn std::error::Error>> {
        let mut cmd = std::process::Command::new("zstd");
        cmd.arg("-q").arg("-t").args(extra).arg(frame);
        Ok(run_bounded(&mut cmd, Duration::from_secs(120))?.code() == Some(0))
    };
    let decoded_len = |frame: &Path| -> Result<u64, Box<dyn std::error::Error>> {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg("zstd -q -dc \"$0\" | wc -c").arg(frame);
        let run = run_bounded(&mut cmd, Duration::from_secs(120))?;
        Ok(String::from_utf8(run.stdout)?.trim().parse()?)
    };
    for b in &bombs {
        assert!(
            b.bytes.len() < s.base.len() + (2 << 20),
            "{} is {} bytes",
            b.name,
            b.bytes.len()
        );
        let frame = tamper::entries(&b.bytes)?
            .into_iter()
            .find(|e| e.name == "artifacts/config.json.zst")
            .ok_or("no zstd artifact")?;
        let path = dir.path().join(format!("{}.zst", b.name));
        std::fs::write(&path, &frame.data)?;
        match b.name.as_str() {
            "zstd-bomb-4gib-honest-frame" => assert!(zstd_t(&path, &[])?, "{}", b.name),
            "zstd-bomb-1gib-no-content-size" => assert_eq!(decoded_len(&path)?, 1 << 30),
            "zstd-bomb-lying-content-size" => assert!(!zstd_t(&path, &[])?, "{}", b.name),
            "zstd-huge-window" => {
                assert!(!zstd_t(&path, &[])?, "default memory limit refuses it");
                assert!(
                    zstd_t(&path, &["--memory=2048MB"])?,
                    "a 2 GiB window decodes it"
                );
            }
            other => return Err(fail(format!("unexpected bomb {other}"))),
        }
    }
    Ok(())
}

/// The same cases through the library verifier (in this process: the
/// CLI tests above are the ones under the address-space cap).
#[test]
fn library_verify_refuses_every_hostile_archive() -> TestResult {
    let s = setup()?;
    let dir = tempfile::tempdir()?;
    let cases = all_cases(&s, dir.path())?;
    let pol = dir.path().join("policy");
    std::fs::create_dir_all(&pol)?;
    let policies = tamper::write_policies(&pol, &s.keys)?;
    let policy = lbom::verify::Policy::load(&policies.standard)?;
    let mut problems = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let path = dir.path().join(format!("lib-case-{i}.lbom"));
        std::fs::write(&path, &c.bytes)?;
        let ctx = lbom::verify::VerifyContext {
            now: jiff::Timestamp::now(),
            channel: None,
            caps: lbom::bundle::Caps::default(),
            jobs: None,
        };
        let start = std::time::Instant::now();
        let (report, _) =
            lbom::verify::run::verify(&path, &policy, &ctx, &mut lbom::verify::HashOnly);
        let elapsed = start.elapsed();
        let code = report
            .failure()
            .map_or(0, |f| i32::from(common::codes::of(f.class())));
        let verdict = judge_report(&serde_json::to_value(&report)?, c.code, c.checks, false);
        if code != c.code || !verdict.is_empty() || elapsed > harness::TIME_LIMIT {
            problems.push(format!("{} [{elapsed:?}]: code {code}; {verdict}", c.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}
