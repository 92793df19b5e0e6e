//! Real model folders pass a default policy (issue 16 item 1): a folder
//! shaped like a Hugging Face download — model card, licence,
//! `.gitattributes`, tokenizer files of every kind, configs, safetensors
//! shards written by the Python `safetensors` package
//! (tests/tools/real_hf_folder.py) — packs without a warning, and verifies
//! and imports under the policy `lbom policy init` writes with no option
//! but the key; a pickle, a torch zip, custom code or an unknown binary
//! beside it is warned about by `pack` and refused by the station (exit 6,
//! `policy.formats`).

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Run, TestResult, fail, lbom, policy_init_args, python_tool, run_bounded};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(120);

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `lbom ARGS` with the real clock: a default policy refuses a bundle
/// created at SOURCE_DATE_EPOCH=0 as older than 90 days.
fn run(args: &[&std::ffi::OsStr]) -> Res<Run> {
    let mut cmd = lbom(args);
    cmd.env_remove("SOURCE_DATE_EPOCH");
    run_bounded(&mut cmd, LIMIT)
}

fn ok(args: &[&std::ffi::OsStr]) -> Res<Run> {
    let r = run(args)?;
    if r.code() != Some(0) {
        return Err(fail(format!(
            "lbom {args:?} exited {:?}: {}",
            r.code(),
            r.stderr
        )));
    }
    Ok(r)
}

/// The folder, its refused extras, a maintainer key and a default policy.
struct Station {
    dir: tempfile::TempDir,
    folder: PathBuf,
    extra: PathBuf,
    key: PathBuf,
    policy: PathBuf,
}

fn station() -> Res<Station> {
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("tiny-model");
    python_tool(
        "real_hf_folder.py",
        &[folder.as_os_str(), "--extra".as_ref()],
    )?;
    let extra = dir.path().join("tiny-model.extra");
    let key = dir.path().join("maintainer");
    ok(&["keygen".as_ref(), key.as_os_str()])?;
    let policy = dir.path().join("policy.toml");
    let init = policy_init_args(&policy, &key.with_extension("pub"), "maintainer");
    ok(&init.iter().map(OsString::as_os_str).collect::<Vec<_>>())?;
    Ok(Station {
        key: key.with_extension("key"),
        dir,
        folder,
        extra,
        policy,
    })
}

fn pack(s: &Station, inputs: &[&Path], out: &str) -> Res<(PathBuf, Run)> {
    let bundle = s.dir.path().join(out);
    let mut args: Vec<&std::ffi::OsStr> = vec!["pack".as_ref()];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.extend([
        "-o".as_ref(),
        bundle.as_os_str(),
        "--name".as_ref(),
        "tiny".as_ref(),
        "--key".as_ref(),
        s.key.as_os_str(),
        "--role".as_ref(),
        "maintainer".as_ref(),
    ]);
    let r = ok(&args)?;
    Ok((bundle, r))
}

fn verify_json(s: &Station, bundle: &Path) -> Res<(Option<i32>, Value)> {
    let r = run(&[
        "verify".as_ref(),
        bundle.as_os_str(),
        "--policy".as_ref(),
        s.policy.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])?;
    Ok((r.code(), r.json()?))
}

fn check_outcome(report: &Value, name: &str) -> String {
    report
        .get("checks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|c| c.get("status").and_then(Value::as_str))
        .unwrap_or("absent")
        .to_owned()
}

#[test]
fn a_real_shaped_folder_passes_a_default_policy_and_refused_kinds_do_not() -> TestResult {
    let s = station()?;
    let policy_text = std::fs::read_to_string(&s.policy)?;
    assert!(
        !policy_text.contains("\"unknown\"]"),
        "the default policy must not allow unknown files:\n{policy_text}"
    );

    // Every side file has a format the policy names, and none is refused.
    let (bundle, packed) = pack(&s, &[&s.folder], "tiny.lbom")?;
    assert!(
        !packed.stderr.contains("would refuse"),
        "pack warned about a real folder: {}",
        packed.stderr
    );
    let (code, report) = verify_json(&s, &bundle)?;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(check_outcome(&report, "policy.formats"), "pass");

    let listing = ok(&[
        "inspect".as_ref(),
        bundle.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ])?
    .json()?;
    let entries = listing
        .pointer("/manifest/entries")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    // 19 artifacts, each with its SBOM, and the attestation.
    assert_eq!(entries, 19 * 2 + 1, "{listing:#}");

    // The formats each side file was given, read from the SBOMs' scans.
    let scan = common::scan_json(&[s.folder.as_os_str()])?;
    assert!(!scan.is_empty());
    for (file, want) in [
        ("README.md", "text"),
        ("LICENSE", "text"),
        (".gitattributes", "text"),
        ("vocab.txt", "text"),
        ("merges.txt", "text"),
        ("chat_template.jinja", "text"),
        ("tokenizer.model", "sentencepiece"),
        ("original/tokenizer.tiktoken", "tiktoken"),
        ("vocab.json", "json"),
    ] {
        let sbom = tar_entry(&bundle, &format!("sboms/{file}.cdx.json"))?;
        let v: Value = serde_json::from_slice(&sbom)?;
        // CycloneDX 1.6 describes the artifact as `metadata.component`.
        let format = v
            .pointer("/metadata/component/properties")
            .or_else(|| v.pointer("/components/0/properties"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str) == Some("lbom:format"))
            .and_then(|p| p.get("value").and_then(Value::as_str))
            .unwrap_or("none")
            .to_owned();
        assert_eq!(format, want, "{file}");
    }

    let store = s.dir.path().join("store");
    ok(&[
        "import".as_ref(),
        bundle.as_os_str(),
        "--into".as_ref(),
        store.as_os_str(),
        "--create".as_ref(),
        "--policy".as_ref(),
        s.policy.as_os_str(),
    ])?;
    ok(&["audit".as_ref(), store.as_os_str()])?;

    // Each refused kind: pack warns, naming the file and its format; the
    // station refuses it under policy.formats with exit 6.
    for (sub, file, format) in [
        ("pickle", "pytorch_model.bin", "pickle"),
        ("zip", "model.pt", "pytorch-zip"),
        ("code", "modeling_tiny.py", "code"),
        ("binary", "weights.dat", "unknown"),
    ] {
        let extra = s.extra.join(sub).join(file);
        let (bundle, packed) = pack(&s, &[&s.folder, &extra], &format!("tiny-{sub}.lbom"))?;
        assert!(
            packed.stderr.contains("would refuse")
                && packed.stderr.contains(file)
                && packed.stderr.contains(format),
            "pack did not warn about {file}: {}",
            packed.stderr
        );
        let (code, report) = verify_json(&s, &bundle)?;
        assert_eq!(code, Some(6), "{file}: {report:#}");
        assert_eq!(check_outcome(&report, "policy.formats"), "fail", "{file}");
    }
    Ok(())
}

/// One entry's bytes, read with GNU tar (an independent reader).
fn tar_entry(bundle: &Path, name: &str) -> Res<Vec<u8>> {
    let out = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(bundle)
        .arg(name)
        .output()?;
    if !out.status.success() {
        return Err(fail(format!(
            "tar -xOf {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out.stdout)
}
