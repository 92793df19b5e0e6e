//! `lbom verify` against a second implementation: the reference verifier in
//! tests/refverify/ (Python), written from docs/bundle-format.md and
//! docs/policy.md alone, never from lbom's code (tests/refverify/README.md).
//!
//! Both run on the same inputs: every bundle vector under tests/vectors/
//! (bundle/, quarantine/ with the policy its index.json names, its
//! `format-*` decision vectors included, historical/), bundles packed by lbom
//! at test time (raw, zstd, auto, long and Unicode names, one to three links,
//! expiry, future time, sequence 2) and probe bundles that change one thing a
//! writer could do differently and are re-signed (tests/refverify/probes.py,
//! which also states the outcome the spec gives each: the reference must
//! give it) and a fixed sample of mutants, each one signed JSON field given
//! a value of another type, range or spelling (tests/refverify/mutants.py).
//! For each, the verdict, the exit code and the first failing
//! check must be the same. Each case ends in one of:
//!
//! - agree: the reference judged the whole bundle and said what lbom said;
//! - not checked: the reference passed every check it can make and lbom
//!   accepted or failed one it cannot make (`sbom.consistent` needs lbom's
//!   model scanner): reported by name, never counted as agreement;
//! - undecided: the spec allows two readings (tests/refverify/readings.py,
//!   README.md R1...), lbom took the other one: reported with the ambiguity;
//! - a disagreement, which must be listed in [`KNOWN`] with the spec
//!   sentence lbom breaks: the test fails on a disagreement not listed and on
//!   a listed one that no longer occurs.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{TestResult, fail, field, file_name, lbom, repo, run_bounded, venv};
use serde_json::Value;

#[path = "refverify/known.rs"]
mod known;

use known::KNOWN;

/// One bundle and the policy to verify it against.
struct Case {
    bundle: PathBuf,
    policy: PathBuf,
}

/// What one verifier said.
#[derive(Debug, Clone)]
struct Outcome {
    /// "accept", or "CHECK exit N" for the first failing check.
    said: String,
    /// Checks the reference could not make (empty for lbom).
    not_checked: Vec<String>,
    /// The first failing check, if any.
    failing: Option<String>,
}

/// What the reference said: its outcome, and where the spec allows two
/// readings that give this bundle different outcomes, the other one.
#[derive(Debug)]
struct Reference {
    outcome: Outcome,
    /// The ambiguities (README.md R1...) behind `alternative`.
    undecided: Vec<String>,
    alternative: Option<Outcome>,
}

/// How one case ended.
enum Verdict {
    Agree,
    NotChecked,
    Undecided,
    Disagree,
}

/// Whether the reference outcome `ours` admits lbom's outcome `theirs`.
fn admits(ours: &Outcome, theirs: &Outcome) -> Option<Verdict> {
    let complete = ours.failing.is_some() || ours.not_checked.is_empty();
    if ours.said == theirs.said {
        return Some(if complete {
            Verdict::Agree
        } else {
            Verdict::NotChecked
        });
    }
    // lbom failed a check the reference cannot make, and the reference
    // passed everything it checked.
    let beyond = ours.failing.is_none()
        && theirs
            .failing
            .as_ref()
            .is_some_and(|c| ours.not_checked.contains(c));
    beyond.then_some(Verdict::NotChecked)
}

fn judge(ours: &Reference, theirs: &Outcome) -> Verdict {
    match admits(&ours.outcome, theirs) {
        Some(v) => v,
        None if ours
            .alternative
            .as_ref()
            .is_some_and(|alt| admits(alt, theirs).is_some()) =>
        {
            Verdict::Undecided
        }
        None => Verdict::Disagree,
    }
}

const DEMO_MAINTAINER: &str = "keys/demo-maintainer.key";
const DEMO_TRANSFER: &str = "keys/demo-transfer.key";
/// 2026-01-01T00:00:00Z: the creation time of the fresh bundles.
const CREATED: &str = "1767225600";
/// 2100-01-01T00:00:00Z: a time in the future ([P36]).
const FUTURE: &str = "4102444800";

fn os(p: &Path) -> OsString {
    p.as_os_str().to_owned()
}

/// `lbom ARGS` at a fixed SOURCE_DATE_EPOCH; Err unless it exits 0.
fn lbom_ok(epoch: &str, args: &[OsString]) -> TestResult {
    let mut cmd = lbom(args);
    cmd.env("SOURCE_DATE_EPOCH", epoch);
    let run = run_bounded(&mut cmd, Duration::from_secs(120))?;
    if run.code() == Some(0) {
        Ok(())
    } else {
        Err(fail(format!(
            "lbom {args:?} exited {:?}: {}",
            run.code(),
            run.stderr
        )))
    }
}

fn pack(out: &Path, epoch: &str, inputs: &[PathBuf], options: &[&str]) -> TestResult {
    let mut args: Vec<OsString> = vec!["pack".into(), "-q".into(), "-o".into(), os(out)];
    args.extend(options.iter().map(OsString::from));
    args.extend(inputs.iter().map(|p| os(p)));
    lbom_ok(epoch, &args)
}

fn sign(bundle: &Path, epoch: &str, key: &Path, role: &str, note: Option<&str>) -> TestResult {
    let mut args: Vec<OsString> = vec![
        "sign".into(),
        "-q".into(),
        os(bundle),
        "--key".into(),
        os(key),
        "--role".into(),
        role.into(),
    ];
    if let Some(note) = note {
        args.extend(["--note".into(), note.into()]);
    }
    lbom_ok(epoch, &args)
}

/// A policy file in `dir`: the demo keys as maintainer and transfer, desk2
/// (`desk2_roles`, when any), every format lbom names for the fixtures, no
/// maximum age; `extra` is appended (more tables).
fn policy(
    dir: &Path,
    name: &str,
    desk2_roles: &[&str],
    signatures: &str,
    extra: &str,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let keys = repo().join("keys");
    let mut text = format!(
        "version = 1\n\n[[keys]]\nname = \"maintainer\"\npublic_key = {:?}\nroles = [\"maintainer\"]\n\n\
         [[keys]]\nname = \"transfer\"\npublic_key = {:?}\nroles = [\"transfer\"]\n\n",
        keys.join("demo-maintainer.pub"),
        keys.join("demo-transfer.pub"),
    );
    if !desk2_roles.is_empty() {
        text += &format!(
            "[[keys]]\nname = \"desk2\"\npublic_key = {:?}\nroles = {:?}\n\n",
            dir.join("desk2.pub"),
            desk2_roles
        );
    }
    text += &format!("[signatures]\n{signatures}\n\n");
    if !extra.contains("[content]") {
        text += "[content]\nallowed_formats = [\"gguf\", \"safetensors\", \"json\", \"text\", \"tiktoken\", \"sentencepiece\", \"code\", \"unknown\"]\n\n";
    }
    if !extra.contains("[time]") {
        text += "[time]\nmax_age = \"none\"\n\n";
    }
    text += extra;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Bundles packed and signed by lbom now, each with the policies that
/// exercise it.
fn fresh_cases(dir: &Path) -> Result<(Vec<Case>, PathBuf), Box<dyn std::error::Error>> {
    let root = repo();
    let fx = root.join("fixtures");
    let transfer = root.join(DEMO_TRANSFER);
    lbom_ok(
        CREATED,
        &["keygen".into(), "-q".into(), os(&dir.join("desk2"))],
    )?;
    let desk2 = dir.join("desk2.key");
    let two = "required_roles = [\"maintainer\", \"transfer\"]";
    let base = policy(dir, "base", &[], two, "")?;
    let p =
        |name: &str, desk2: &[&str], sig: &str, extra: &str| policy(dir, name, desk2, sig, extra);
    let mut cases = vec![];
    let mut add = |bundle: &Path, policy: &Path| {
        cases.push(Case {
            bundle: bundle.to_owned(),
            policy: policy.to_owned(),
        })
    };
    let signed = |name: &str,
                  inputs: &[PathBuf],
                  options: &[&str]|
     -> Result<PathBuf, Box<dyn std::error::Error>> {
        let out = dir.join(name);
        let mut all = vec!["--key", DEMO_MAINTAINER, "--role", "maintainer"];
        all.extend(options);
        pack(&out, CREATED, inputs, &all)?;
        sign(&out, CREATED, &transfer, "transfer", None)?;
        Ok(out)
    };

    // Raw, a GGUF and a JSON file, two links.
    let raw = signed(
        "fresh-raw-two-links.lbom",
        &[
            fx.join("safetensors/tiny-llama/config.json"),
            fx.join("drift/base/model.gguf"),
        ],
        &["--compress", "none"],
    )?;
    add(&raw, &base);
    add(
        &raw,
        &p("max-age-1h", &[], two, "[time]\nmax_age = \"1h\"\n")?,
    );
    add(
        &raw,
        &p(
            "require-expiry",
            &[],
            two,
            "[time]\nmax_age = \"none\"\nrequire_expiry = true\n",
        )?,
    );
    add(
        &raw,
        &p("max-entries-3", &[], two, "[caps]\nmax_entries = 3\n")?,
    );
    add(
        &raw,
        &p("max-path-20", &[], two, "[caps]\nmax_path_bytes = 20\n")?,
    );
    add(
        &raw,
        &p(
            "max-total-1k",
            &[],
            two,
            "[caps]\nmax_total_bytes = \"1 KiB\"\n",
        )?,
    );
    add(
        &raw,
        &p(
            "station-required",
            &["station"],
            "required_roles = [\"maintainer\", \"transfer\", \"station\"]",
            "",
        )?,
    );
    add(
        &raw,
        &p(
            "maintainer-threshold-2",
            &["maintainer"],
            "required_roles = [\"maintainer\", \"transfer\"]\nthresholds = { maintainer = 2 }",
            "",
        )?,
    );
    add(
        &raw,
        &p(
            "all-formats-no-findings",
            &[],
            two,
            "[content]\nallowed_formats = [\"gguf\", \"safetensors\", \"pickle\", \"pytorch-zip\", \"json\", \"text\", \"tiktoken\", \"sentencepiece\", \"code\", \"unknown\"]\nfail_on = \"none\"\n",
        )?,
    );

    // zstd at level 19, a whole model folder, three links: the third by a
    // second transfer key with a note.
    let zstd = signed(
        "fresh-zstd-three-links.lbom",
        &[fx.join("safetensors/tiny-llama")],
        &["--compress", "zstd:19"],
    )?;
    sign(
        &zstd,
        CREATED,
        &desk2,
        "transfer",
        Some("desk 2, USB 7 — checked"),
    )?;
    add(&zstd, &base);
    let transfer_2 = p(
        "transfer-threshold-2",
        &["transfer"],
        "required_roles = [\"maintainer\", \"transfer\"]\nthresholds = { transfer = 2 }",
        "",
    )?;
    add(&zstd, &transfer_2);
    add(
        &zstd,
        &p(
            "ignore-unknown",
            &[],
            &format!("{two}\nunknown_signers = \"ignore\""),
            "",
        )?,
    );
    add(
        &zstd,
        &p("desk2-maintainer-only", &["maintainer"], two, "")?,
    );

    // auto compression, long nested names (ustar prefix field), Unicode.
    let tree = dir.join("tree");
    let deep = tree.join(format!(
        "{}/{}/{}/modèle-ü",
        "a".repeat(50),
        "b".repeat(50),
        "c".repeat(20)
    ));
    std::fs::create_dir_all(&deep)?;
    std::fs::write(
        deep.join("config.json"),
        b"{\"architectures\": [\"LlamaForCausalLM\"]}\n",
    )?;
    std::fs::write(tree.join("日本語.json"), b"{}\n")?;
    std::fs::copy(fx.join("drift/base/model.gguf"), tree.join("Model.gguf"))?;
    let names = signed(
        "fresh-auto-long-names.lbom",
        &[tree],
        &["--compress", "auto"],
    )?;
    add(&names, &base);

    // zstd frames lbom writes for an empty file and a one-byte file.
    let small = dir.join("small");
    std::fs::create_dir_all(&small)?;
    std::fs::write(small.join("empty.json"), b"")?;
    std::fs::write(small.join("one.json"), b"1")?;
    let empty = signed(
        "fresh-zstd-empty-file.lbom",
        &[small],
        &["--compress", "zstd:19"],
    )?;
    add(&empty, &base);

    // Unsigned, expired, in the future, a pickle, sequence 2.
    let unsigned = dir.join("fresh-unsigned.lbom");
    pack(&unsigned, CREATED, &[fx.join("drift/base/model.gguf")], &[])?;
    add(&unsigned, &base);
    let expired = signed(
        "fresh-expired.lbom",
        &[fx.join("drift/base/model.gguf")],
        &["--expires", "1h"],
    )?;
    add(&expired, &base);
    add(
        &expired,
        &p(
            "untrusted-clock",
            &[],
            two,
            "[time]\nmax_age = \"none\"\nclock = \"untrusted\"\n",
        )?,
    );
    let future = dir.join("fresh-future.lbom");
    pack(
        &future,
        FUTURE,
        &[fx.join("drift/base/model.gguf")],
        &["--key", DEMO_MAINTAINER, "--role", "maintainer"],
    )?;
    sign(&future, FUTURE, &transfer, "transfer", None)?;
    add(&future, &base);
    let pickle = signed("fresh-pickle.lbom", &[fx.join("pickle/evil.pkl")], &[])?;
    add(&pickle, &base);
    let second = signed(
        "fresh-sequence-2.lbom",
        &[fx.join("drift/base/model.gguf")],
        &["--previous", &raw.to_string_lossy(), "--expires", "36500d"],
    )?;
    add(&second, &base);

    // The base of the probes: three zstd artifacts (one of 8 KiB), signed
    // by maintainer then transfer.
    let probe_base = signed(
        "fresh-zstd-two-links.lbom",
        &[
            fx.join("safetensors/tiny-llama/config.json"),
            fx.join("safetensors/tiny-llama/generation_config.json"),
            fx.join("drift/base/model.gguf"),
        ],
        &["--compress", "zstd", "--name", "probe-base"],
    )?;
    add(&probe_base, &base);
    Ok((cases, base))
}

/// A probe's file name and the outcome the spec gives it.
type Expectations = BTreeMap<String, String>;

/// Probe bundles derived from `probe_base` by tests/refverify/probes.py,
/// with the outcome the spec gives each (its `expect.json`).
fn probe_cases(
    dir: &Path,
    probe_base: &Path,
    policy: &Path,
) -> Result<(Vec<Case>, Expectations), Box<dyn std::error::Error>> {
    let out_dir = dir.join("probes");
    let root = repo();
    let mut cmd = Command::new(venv()?.join("bin/python"));
    cmd.arg(root.join("tests/refverify/probes.py"))
        .arg(probe_base)
        .arg(&out_dir)
        .arg(root.join(DEMO_MAINTAINER))
        .arg(root.join(DEMO_TRANSFER))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = run_bounded(&mut cmd, Duration::from_secs(120))?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "probes.py exited {:?}: {}",
            run.code(),
            run.stderr
        )));
    }
    let names = String::from_utf8(run.stdout)?;
    let expect: Expectations =
        serde_json::from_slice(&std::fs::read(out_dir.join("expect.json"))?)?;
    let cases: Vec<Case> = names
        .lines()
        .map(|name| Case {
            bundle: out_dir.join(name),
            policy: policy.to_owned(),
        })
        .collect();
    if cases.len() != expect.len() {
        return Err(fail(
            "probes.py wrote another number of probes than expectations",
        ));
    }
    Ok((cases, expect))
}

/// How many mutants tests/refverify/mutants.py writes, and its seed.
const MUTANTS: &str = "200";
const MUTANT_SEED: &str = "13";

/// Mutant bundles derived from `probe_base` by tests/refverify/mutants.py,
/// with what each changed (its `mutants.json`).
fn mutant_cases(
    dir: &Path,
    probe_base: &Path,
    policy: &Path,
) -> Result<(Vec<Case>, Expectations), Box<dyn std::error::Error>> {
    let out_dir = dir.join("mutants");
    let root = repo();
    let mut cmd = Command::new(venv()?.join("bin/python"));
    cmd.arg(root.join("tests/refverify/mutants.py"))
        .arg(probe_base)
        .arg(&out_dir)
        .arg(root.join(DEMO_MAINTAINER))
        .arg(root.join(DEMO_TRANSFER))
        .arg(MUTANTS)
        .arg(MUTANT_SEED)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = run_bounded(&mut cmd, Duration::from_secs(120))?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "mutants.py exited {:?}: {}",
            run.code(),
            run.stderr
        )));
    }
    let about: Expectations =
        serde_json::from_slice(&std::fs::read(out_dir.join("mutants.json"))?)?;
    let cases = String::from_utf8(run.stdout)?
        .lines()
        .map(|name| Case {
            bundle: out_dir.join(name),
            policy: policy.to_owned(),
        })
        .collect();
    Ok((cases, about))
}

/// Every bundle vector committed under tests/vectors/.
fn vector_cases() -> Result<Vec<Case>, Box<dyn std::error::Error>> {
    let vectors = repo().join("tests/vectors");
    let quarantine = vectors.join("quarantine");
    let index: Value = serde_json::from_slice(&std::fs::read(quarantine.join("index.json"))?)?;
    let files = field(&index, "files")
        .as_array()
        .ok_or_else(|| fail("quarantine/index.json has no files"))?;
    let mut cases = vec![];
    let mut listed = std::collections::BTreeSet::new();
    for f in files {
        let (Some(file), Some(policy)) = (field(f, "file").as_str(), field(f, "policy").as_str())
        else {
            return Err(fail(format!(
                "index.json entry without file or policy: {f}"
            )));
        };
        listed.insert(file.to_owned());
        cases.push(Case {
            bundle: quarantine.join(file),
            policy: quarantine.join(policy),
        });
    }
    for entry in std::fs::read_dir(&quarantine)? {
        let name = file_name(&entry?.path());
        if name.ends_with(".lbom") && !listed.contains(&name) {
            return Err(fail(format!(
                "quarantine/{name} is not in index.json: no policy for it"
            )));
        }
    }
    let default_policy = quarantine.join("policy.toml");
    let hostile = vectors.join("bundle/hostile");
    let mut tars: Vec<PathBuf> = std::fs::read_dir(&hostile)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    tars.retain(|p| p.extension().is_some_and(|e| e == "tar"));
    tars.sort();
    for bundle in tars {
        cases.push(Case {
            bundle,
            policy: default_policy.clone(),
        });
    }
    cases.push(Case {
        bundle: vectors.join("bundle/tiny.lbom"),
        policy: default_policy,
    });
    let historical = vectors.join("historical");
    for entry in std::fs::read_dir(&historical)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "lbom") {
            cases.push(Case {
                bundle: path,
                policy: historical.join("policy.toml"),
            });
        }
    }
    Ok(cases)
}

/// lbom's first failing check and exit code, from `verify --format json`.
fn lbom_outcome(case: &Case) -> Result<Outcome, Box<dyn std::error::Error>> {
    let mut cmd = lbom([
        OsString::from("verify"),
        "-q".into(),
        "--format".into(),
        "json".into(),
        "--policy".into(),
        os(&case.policy),
        os(&case.bundle),
    ]);
    let run = run_bounded(&mut cmd, Duration::from_secs(120))?;
    let code = run
        .code()
        .ok_or_else(|| fail(format!("lbom verify {} was killed", case.bundle.display())))?;
    let report = run.json()?;
    let failing = field(&report, "checks")
        .as_array()
        .and_then(|checks| checks.iter().find(|c| field(c, "status") == "fail"))
        .and_then(|c| field(c, "name").as_str())
        .map(str::to_owned);
    Ok(Outcome {
        said: describe(failing.as_deref(), code),
        not_checked: vec![],
        failing,
    })
}

fn describe(failing: Option<&str>, code: i32) -> String {
    match failing {
        None if code == 0 => "accept".to_owned(),
        None => format!("no failing check, exit {code}"),
        Some(check) => format!("{check} exit {code}"),
    }
}

/// A reference report's outcome (`verdict`, `exit_code`, `failing_check`,
/// `not_checked`); "incomplete" (nothing failed, some check not made) is
/// "accept" with its `not_checked` list.
fn reference_outcome(r: &Value) -> Result<Outcome, Box<dyn std::error::Error>> {
    let failing = field(r, "failing_check").as_str().map(str::to_owned);
    let not_checked = field(r, "not_checked")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let said = match (field(r, "verdict").as_str(), field(r, "exit_code").as_i64()) {
        (Some("incomplete"), _) => "accept".to_owned(),
        (Some(_), Some(code)) => describe(failing.as_deref(), i32::try_from(code)?),
        _ => return Err(fail(format!("reference report without verdict: {r}"))),
    };
    Ok(Outcome {
        said,
        not_checked,
        failing,
    })
}

/// The reference verifier's outcome for every case, in one Python process.
fn reference_outcomes(
    dir: &Path,
    cases: &[Case],
) -> Result<Vec<Reference>, Box<dyn std::error::Error>> {
    let jobs: Vec<Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "bundle": c.bundle.to_string_lossy(),
                "policy": c.policy.to_string_lossy(),
            })
        })
        .collect();
    let jobs_path = dir.join("jobs.json");
    std::fs::write(&jobs_path, serde_json::to_vec(&jobs)?)?;
    let mut cmd = Command::new(venv()?.join("bin/python"));
    cmd.arg(repo().join("tests/refverify/refverify.py"))
        .arg("--batch")
        .arg(&jobs_path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(repo());
    let run = run_bounded(&mut cmd, Duration::from_secs(300))?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "refverify.py exited {:?}: {}",
            run.code(),
            run.stderr
        )));
    }
    let reports = run.json()?;
    let reports = reports
        .as_array()
        .ok_or_else(|| fail("refverify.py --batch did not print a list"))?;
    if reports.len() != cases.len() {
        return Err(fail(
            "refverify.py returned another number of reports than jobs",
        ));
    }
    reports
        .iter()
        .map(|r| {
            let alternative = match field(r, "alternative") {
                Value::Null => None,
                alt => Some(reference_outcome(alt)?),
            };
            let undecided = field(r, "undecided")
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            Ok(Reference {
                outcome: reference_outcome(r)?,
                undecided,
                alternative,
            })
        })
        .collect()
}

/// lbom verify for every case, two at a time (the machine has two cores).
fn lbom_outcomes(cases: &[Case]) -> Result<Vec<Outcome>, Box<dyn std::error::Error>> {
    let half = cases.len().div_ceil(2);
    let (left, right) = cases.split_at(half);
    let run = |part: &[Case]| -> Result<Vec<Outcome>, String> {
        part.iter()
            .map(|c| lbom_outcome(c).map_err(|e| format!("{}: {e}", c.bundle.display())))
            .collect()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(left));
        let b = run(right);
        (a.join(), b)
    });
    let mut out = a.map_err(|_| fail("lbom verify thread panicked"))??;
    out.extend(b?);
    Ok(out)
}

/// The bundle's file name, and the policy's when it is not the bundle's
/// usual one (the vectors' own, or `base.toml` for fresh bundles).
fn case_name(case: &Case) -> String {
    let policy = file_name(&case.policy);
    if case.policy.starts_with(repo()) || policy == "base.toml" {
        file_name(&case.bundle)
    } else {
        format!("{} [{policy}]", file_name(&case.bundle))
    }
}

#[test]
fn reference_verifier_agrees_with_lbom_verify() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut cases = vector_cases()?;
    let (fresh, base_policy) = fresh_cases(dir.path())?;
    let probe_base = dir.path().join("fresh-zstd-two-links.lbom");
    cases.extend(fresh);
    let (probes, expect) = probe_cases(dir.path(), &probe_base, &base_policy)?;
    cases.extend(probes);
    let (mutants, mutated) = mutant_cases(dir.path(), &probe_base, &base_policy)?;
    cases.extend(mutants);

    let reference = reference_outcomes(dir.path(), &cases)?;
    let lbom_said = lbom_outcomes(&cases)?;

    // LBOM_REFVERIFY_VERBOSE=1 prints every case's two outcomes.
    let verbose = std::env::var_os("LBOM_REFVERIFY_VERBOSE").is_some();
    let mut agree = 0;
    let mut open_agreed = vec![];
    let mut not_checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut not_checked_cases = vec![];
    let mut undecided = vec![];
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut problems = vec![];
    let mut format_vectors = 0;
    for ((case, ours), theirs) in cases.iter().zip(&reference).zip(&lbom_said) {
        let name = case_name(case);
        if verbose {
            println!(
                "  {name}: lbom {}, reference {}{}",
                theirs.said,
                ours.outcome.said,
                ours.alternative
                    .as_ref()
                    .map(|a| format!(" (or {} under {})", a.said, ours.undecided.join(", ")))
                    .unwrap_or_default()
            );
        }
        if name.starts_with("format-") {
            format_vectors += 1;
        }
        // The probes state the spec's outcome: the reference must give it.
        if let Some(want) = expect.get(&file_name(&case.bundle))
            && *want != ours.outcome.said
        {
            problems.push(format!(
                "{name}: probes.py expects {want}, the reference says {}",
                ours.outcome.said
            ));
        }
        match judge(ours, theirs) {
            Verdict::Agree => {
                agree += 1;
                if !ours.undecided.is_empty() {
                    open_agreed.push(format!("{name} ({})", ours.undecided.join(", ")));
                }
            }
            Verdict::NotChecked => {
                for check in &ours.outcome.not_checked {
                    *not_checked.entry(check.clone()).or_default() += 1;
                }
                not_checked_cases.push(format!(
                    "{name}: lbom {}; the reference passed what it checks, not {}",
                    theirs.said,
                    ours.outcome.not_checked.join(", ")
                ));
            }
            Verdict::Undecided => undecided.push(format!(
                "{name}{}: lbom {}, reference {}; the spec allows both ({})",
                mutated
                    .get(&name)
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default(),
                theirs.said,
                ours.outcome.said,
                ours.undecided.join(", ")
            )),
            Verdict::Disagree => {
                if seen
                    .insert(
                        name.clone(),
                        (theirs.said.clone(), ours.outcome.said.clone()),
                    )
                    .is_some()
                {
                    problems.push(format!("two cases are both named {name}"));
                }
            }
        }
    }
    let on_disk = std::fs::read_dir(repo().join("tests/vectors/quarantine"))?
        .filter_map(|e| e.ok().map(|e| file_name(&e.path())))
        .filter(|n| n.starts_with("format-") && n.ends_with(".lbom"))
        .count();
    if format_vectors != on_disk || on_disk == 0 {
        problems.push(format!(
            "{on_disk} format-*.lbom decision vectors in tests/vectors/quarantine, {format_vectors} judged"
        ));
    }
    for known in KNOWN {
        match seen.remove(known.case) {
            None => problems.push(format!(
                "{}: listed in KNOWN (lbom {}, reference {}) but the two now agree or differ otherwise: \
                 shorten the list",
                known.case, known.lbom, known.reference
            )),
            Some((l, r)) if l != known.lbom || r != known.reference => problems.push(format!(
                "{}: KNOWN says lbom {} / reference {}, now lbom {l} / reference {r}",
                known.case, known.lbom, known.reference
            )),
            Some(_) => {}
        }
    }
    for (case, (l, r)) in &seen {
        let change = mutated
            .get(case)
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        problems.push(format!(
            "{case}{change}: lbom verify says {l}, the reference verifier says {r}; decide from the spec \
             (docs/bundle-format.md, docs/policy.md) which is right: fix the reference, or list \
             it in KNOWN with the spec sentence lbom breaks, or name the ambiguity in \
             tests/refverify/readings.py"
        ));
    }
    println!(
        "{} cases ({format_vectors} format-* decision vectors): {agree} agree, {} not checked by the \
         reference ({}), {} undecided by the spec, {} known disagreements",
        cases.len(),
        not_checked_cases.len(),
        not_checked
            .iter()
            .map(|(c, n)| format!("{c} in {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        undecided.len(),
        KNOWN.len()
    );
    for line in &not_checked_cases {
        println!("  not checked: {line}");
    }
    for line in &undecided {
        println!("  undecided: {line}");
    }
    for line in &open_agreed {
        println!("  agree on an open question: {line}");
    }
    for known in KNOWN {
        println!(
            "  known: {}: lbom {}, reference {}: {}",
            known.case, known.lbom, known.reference, known.why
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(problems.join("\n")))
    }
}
