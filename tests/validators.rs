//! `lbom scan` checked against independent implementations.
//!
//! The fixtures were written by the `gguf` and `safetensors` packages and by
//! Python's pickle (fixtures/README.md); `fixtures/gguf/expected.json` holds
//! what their generators wrote. The SBOMs are validated by cyclonedx-python-lib,
//! spdx-tools and huggingface_hub from the venv `make test` builds
//! (tests/tools/setup-venv.sh). Hostile inputs come from tests/tools/hostile.py.
//!
//! A missing venv fails these tests with "run `make test`": they never skip.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{
    TestResult, fail, field, file_name, findings, fixture, lbom, python_tool, rank, repo,
    run_bounded, scan_json, venv, venv_tool,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A hostile file must be handled within this time (a hang guard, not a benchmark).
const HOSTILE_TIME_LIMIT: Duration = Duration::from_secs(10);

/// Scan targets covering every fixture family, for the SBOM validators.
fn sbom_targets() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("gguf", fixture("gguf/tiny-llama-Q4_K_M.gguf")),
        ("safetensors-folder", fixture("safetensors/tiny-llama")),
        ("everything", repo().join("fixtures")),
    ]
}

fn os(p: &Path) -> &OsStr {
    p.as_os_str()
}

/// Run `lbom scan TARGET --format FORMAT --output OUT`; it must exit 0.
fn scan_to(target: &Path, format: &str, out: &Path, extra: &[&str]) -> TestResult {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("scan"),
        os(target),
        OsStr::new("--format"),
        OsStr::new(format),
    ];
    args.extend([OsStr::new("--output"), os(out)]);
    args.extend(extra.iter().map(OsStr::new));
    let run = run_bounded(&mut lbom(&args), Duration::from_secs(120))?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "lbom {args:?} exited {:?}: {}",
            run.code(),
            run.stderr.trim()
        )));
    }
    if !out.is_file() {
        return Err(fail(format!("lbom {args:?} wrote no {}", out.display())));
    }
    Ok(())
}

fn load_expected() -> Result<BTreeMap<String, Value>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(fixture("gguf/expected.json"))?;
    let v: Value = serde_json::from_str(&text)?;
    let files = field(&v, "files")
        .as_object()
        .ok_or_else(|| fail("expected.json has no \"files\""))?;
    Ok(files.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// The report whose model_path ends with `suffix`.
fn report_for<'a>(all: &'a [Value], suffix: &str) -> Option<&'a Value> {
    all.iter().find(|r| {
        field(r, "model_path")
            .as_str()
            .is_some_and(|p| p.ends_with(suffix))
    })
}

fn errors_of(report: &Value) -> Vec<(String, String, String)> {
    findings(report)
        .into_iter()
        .filter(|(_, sev, _)| sev == "error")
        .collect()
}

#[test]
fn venv_is_ready() -> TestResult {
    let dir = venv()?;
    let out = venv_tool(
        "python",
        &[
            "-c",
            "import gguf, safetensors, cyclonedx, spdx_tools, huggingface_hub; print(gguf.__name__)",
        ],
    )?;
    assert!(
        out.contains("gguf"),
        "venv at {} cannot import its packages: {out}",
        dir.display()
    );
    Ok(())
}

#[test]
fn cyclonedx_output_validates_against_its_declared_schema() -> TestResult {
    venv()?;
    let dir = tempfile::tempdir()?;
    let mut targets = sbom_targets();
    targets.push(("split-gguf", fixture("gguf/split")));
    targets.push(("hf-cache", fixture("hf-cache")));
    for (label, target) in targets {
        // 1.6 by default; 1.5 on request.
        for (spec, extra) in [("1.6", &[][..]), ("1.5", &["--spec-version", "1.5"][..])] {
            let out = dir.path().join(format!("{label}-{spec}.cdx.json"));
            scan_to(&target, "cyclonedx", &out, extra)?;
            let bom: Value = serde_json::from_slice(&std::fs::read(&out)?)?;
            assert_eq!(
                field(&bom, "specVersion").as_str(),
                Some(spec),
                "{label}: specVersion"
            );
            // The validator checks the document against the official schema
            // of the version it declares, in its strict variant.
            python_tool(
                "validate_cdx.py",
                &[os(&out), OsStr::new("--spec"), OsStr::new(spec)],
            )?;
        }
    }
    Ok(())
}

#[test]
fn spdx_tag_value_and_json_validate_with_spdx_tools() -> TestResult {
    venv()?;
    let dir = tempfile::tempdir()?;
    for (label, target) in sbom_targets() {
        for (format, ext) in [("spdx", "spdx"), ("spdx-json", "spdx.json")] {
            let out = dir.path().join(format!("{label}.{ext}"));
            scan_to(&target, format, &out, &[])?;
            venv_tool("pyspdxtools", &[OsStr::new("-i"), os(&out)])
                .map_err(|e| fail(format!("{label} {format}: {e}")))?;
        }
    }
    Ok(())
}

#[test]
fn hf_readme_parses_with_huggingface_hub() -> TestResult {
    venv()?;
    let dir = tempfile::tempdir()?;
    let targets = [
        ("gguf", fixture("gguf/tiny-llama-Q4_K_M.gguf")),
        (
            "safetensors",
            fixture("safetensors/tiny-llama/model.safetensors"),
        ),
    ];
    for (label, target) in targets {
        let out = dir.path().join(format!("{label}-README.md"));
        let extra = [
            "--hf-title",
            "Tiny test model",
            "--hf-short-description",
            "A fixture",
            "--hf-sdk",
            "gradio",
        ];
        scan_to(&target, "hf-readme", &out, &extra)?;
        let text = std::fs::read_to_string(&out)?;
        assert!(
            text.starts_with("---\n"),
            "{label}: model card has no YAML front matter"
        );
        python_tool("check_hf_readme.py", &[os(&out)])?;
    }
    Ok(())
}

#[test]
fn every_gguf_fixture_matches_what_its_writer_wrote() -> TestResult {
    let expected = load_expected()?;
    let paths: Vec<PathBuf> = expected
        .keys()
        .filter(|k| !k.ends_with('/'))
        .map(|k| fixture(&format!("gguf/{k}")))
        .collect();
    assert!(
        paths.len() >= 39,
        "expected.json lists only {} files",
        paths.len()
    );
    let args: Vec<&OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
    let all = scan_json(&args)?;
    let mut problems = vec![];
    for (key, want) in expected.iter().filter(|(k, _)| !k.ends_with('/')) {
        let Some(got) = report_for(&all, key) else {
            problems.push(format!("{key}: no report"));
            continue;
        };
        for fact in common::GGUF_FACTS {
            let (w, g) = (field(want, fact), field(got, fact));
            if w != g {
                problems.push(format!("{key}: {fact} is {g}, the writer wrote {w}"));
            }
        }
        if field(got, "format").as_str() != Some("gguf") {
            problems.push(format!("{key}: format {}", field(got, "format")));
        }
        for (code, _, message) in errors_of(got) {
            problems.push(format!("{key}: unexpected error finding {code}: {message}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

/// Facts that must not depend on the GGUF version or byte order.
fn layout_independent(report: &Value) -> Value {
    let mut v = report.clone();
    if let Some(obj) = v.as_object_mut() {
        for volatile in [
            "model_path",
            "model_filename",
            "sha256",
            "file_size_bytes",
            "format_version",
            "endianness",
            "generated_at",
            // A legacy version may earn its own warning; errors are checked apart.
            "findings",
            "warnings",
        ] {
            obj.remove(volatile);
        }
        if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
            // l-bom's copies of the format version and byte order
            // (docs/scan-report.md) differ by layout like the fields.
            meta.retain(|k, _| !k.starts_with("GGUF.") && k != "gguf_version" && k != "endianness");
        }
    }
    v
}

#[test]
fn gguf_v1_v2_and_big_endian_give_the_same_facts_as_v3() -> TestResult {
    let base = fixture("gguf/tiny-llama-Q4_K_M.gguf");
    let variants = [
        ("tiny-llama-v1.gguf", 1, "little"),
        ("tiny-llama-v2.gguf", 2, "little"),
        ("tiny-llama-be.gguf", 3, "big"),
    ];
    let mut paths = vec![base.clone()];
    paths.extend(
        variants
            .iter()
            .map(|(f, _, _)| fixture(&format!("gguf/{f}"))),
    );
    let args: Vec<&OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
    let all = scan_json(&args)?;
    let v3 = report_for(&all, "tiny-llama-Q4_K_M.gguf")
        .ok_or_else(|| fail("no report for the v3 file"))?;
    assert_eq!(field(v3, "format_version"), &Value::from(3));
    assert_eq!(field(v3, "endianness"), &Value::from("little"));
    let want = layout_independent(v3);
    for (name, version, endian) in variants {
        let got = report_for(&all, name).ok_or_else(|| fail(format!("no report for {name}")))?;
        assert_eq!(
            field(got, "format_version"),
            &Value::from(version),
            "{name}: format_version"
        );
        assert_eq!(
            field(got, "endianness"),
            &Value::from(endian),
            "{name}: endianness"
        );
        assert!(
            errors_of(got).is_empty(),
            "{name}: error findings {:?}",
            errors_of(got)
        );
        let got = layout_independent(got);
        if got != want {
            let diff: Vec<String> = want
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| field(&got, k) != *v)
                .map(|(k, v)| format!("  {k}: v3 {v} / {name} {}", field(&got, k)))
                .collect();
            return Err(fail(format!(
                "{name} differs from the v3 little-endian file:\n{}",
                diff.join("\n")
            )));
        }
    }
    Ok(())
}

#[test]
fn split_gguf_is_one_model() -> TestResult {
    let expected = load_expected()?;
    let want = expected
        .get("split/")
        .ok_or_else(|| fail("expected.json has no split/ entry"))?;
    let all = scan_json(&[os(&fixture("gguf/split"))])?;
    assert_eq!(
        all.len(),
        1,
        "three shards must give one model, got {} reports",
        all.len()
    );
    let model = all.first().ok_or_else(|| fail("no report"))?;
    for fact in [
        "parameter_count",
        "tensor_count",
        "quantization",
        "architecture",
        "file_size_bytes",
        "tensor_types",
    ] {
        assert_eq!(field(model, fact), field(want, fact), "split model: {fact}");
    }
    let shards = field(model, "shards")
        .as_array()
        .ok_or_else(|| fail("split model lists no shards"))?;
    let want_shards = field(want, "shards")
        .as_array()
        .ok_or_else(|| fail("expected.json split/ has no shards"))?;
    assert_eq!(shards.len(), want_shards.len(), "shard count");
    for (got, want) in shards.iter().zip(want_shards) {
        for k in ["filename", "file_size_bytes", "sha256"] {
            assert_eq!(
                field(got, k),
                field(want, k),
                "shard {}: {k}",
                field(want, "filename")
            );
        }
    }
    // docs/scan-report.md: a grouped model's sha256 is the SHA-256 of the
    // shards' `sha256sum` listing, in shard order.
    let listing: String = want_shards
        .iter()
        .map(|s| {
            let hash = field(s, "sha256").as_str().unwrap_or_default();
            let name = field(s, "filename").as_str().unwrap_or_default();
            format!("{hash}  {name}\n")
        })
        .collect();
    let want_sha = hex::encode(Sha256::digest(listing.as_bytes()));
    assert_eq!(
        field(model, "sha256").as_str(),
        Some(want_sha.as_str()),
        "split model: sha256 of the shard listing"
    );
    assert!(
        errors_of(model).is_empty(),
        "split model: {:?}",
        errors_of(model)
    );
    Ok(())
}

/// Parameter count of safetensors files, read here from their headers
/// (8-byte little-endian length, JSON): independent of lbom's parser.
fn safetensors_parameters(paths: &[PathBuf]) -> Result<u64, Box<dyn std::error::Error>> {
    let mut total = 0u64;
    for path in paths {
        let bytes = std::fs::read(path)?;
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .ok_or_else(|| fail("short file"))?
            .try_into()?;
        let len = usize::try_from(u64::from_le_bytes(len_bytes))?;
        let header: Value =
            serde_json::from_slice(bytes.get(8..8 + len).ok_or_else(|| fail("short header"))?)?;
        for (name, t) in header
            .as_object()
            .ok_or_else(|| fail("header is not an object"))?
        {
            if name == "__metadata__" {
                continue;
            }
            let shape = field(t, "shape")
                .as_array()
                .ok_or_else(|| fail("no shape"))?;
            total += shape
                .iter()
                .map(|d| d.as_u64().unwrap_or(0))
                .product::<u64>();
        }
    }
    Ok(total)
}

#[test]
fn sharded_safetensors_is_one_model() -> TestResult {
    let dir = fixture("safetensors/tiny-llama-sharded");
    let all = scan_json(&[os(&dir)])?;
    let shard_names = [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];
    let grouped: Vec<&Value> = all
        .iter()
        .filter(|r| field(r, "shards").as_array().is_some_and(|s| s.len() == 2))
        .collect();
    assert_eq!(
        grouped.len(),
        1,
        "expected one grouped model among {} reports",
        all.len()
    );
    let model = grouped.first().ok_or_else(|| fail("no grouped model"))?;
    let loose: Vec<&Value> = all
        .iter()
        .filter(|r| field(r, "shards").as_array().is_none_or(Vec::is_empty))
        .filter(|r| {
            field(r, "model_filename")
                .as_str()
                .is_some_and(|n| shard_names.contains(&n))
        })
        .collect();
    assert!(
        loose.is_empty(),
        "shards also reported on their own: {loose:?}"
    );
    let want = safetensors_parameters(&shard_names.map(|n| dir.join(n)))?;
    assert_eq!(
        field(model, "parameter_count"),
        &Value::from(want),
        "sharded parameter_count"
    );
    assert_eq!(field(model, "format").as_str(), Some("safetensors"));
    assert!(
        errors_of(model).is_empty(),
        "sharded model: {:?}",
        errors_of(model)
    );
    // The single-file copy of the same model agrees.
    let single = scan_json(&[os(&fixture("safetensors/tiny-llama/model.safetensors"))])?;
    let single = single.first().ok_or_else(|| fail("no report"))?;
    assert_eq!(
        field(single, "parameter_count"),
        &Value::from(want),
        "single-file parameter_count"
    );
    Ok(())
}

#[test]
fn valid_safetensors_and_hub_cache_fixtures_have_no_error_findings() -> TestResult {
    let all = scan_json(&[os(&fixture("safetensors")), os(&fixture("hf-cache"))])?;
    let mut problems = vec![];
    for r in &all {
        for (code, _, message) in errors_of(r) {
            problems.push(format!("{}: {code}: {message}", field(r, "model_path")));
        }
    }
    assert!(
        problems.is_empty(),
        "error findings on valid fixtures:\n{}",
        problems.join("\n")
    );
    let formats: Vec<&str> = all
        .iter()
        .filter_map(|r| field(r, "format").as_str())
        .collect();
    assert!(
        formats.contains(&"safetensors"),
        "no safetensors model found: {formats:?}"
    );
    Ok(())
}

#[test]
fn hub_cache_snapshot_keeps_its_real_name() -> TestResult {
    let all = scan_json(&[os(&fixture("hf-cache"))])?;
    let model = all
        .iter()
        .find(|r| field(r, "format").as_str() == Some("safetensors"))
        .ok_or_else(|| fail("no safetensors model found in the Hub cache"))?;
    assert_eq!(
        field(model, "model_filename").as_str(),
        Some("model.safetensors"),
        "report: {model}"
    );
    // The LFS blob is named by its SHA-256: lbom's hash must match it.
    let snapshot = fixture("hf-cache/models--example--tiny-llama/snapshots");
    let commit = std::fs::read_dir(&snapshot)?
        .next()
        .ok_or_else(|| fail("no snapshot"))??
        .path();
    let blob = std::fs::read_link(commit.join("model.safetensors"))?;
    let blob_name = file_name(&blob);
    assert_eq!(field(model, "sha256").as_str(), Some(blob_name.as_str()));
    for r in &all {
        let name = field(r, "model_filename").as_str().unwrap_or_default();
        assert!(
            name.len() < 40 || !name.chars().all(|c| c.is_ascii_hexdigit()),
            "reported under a blob hash: {name}"
        );
    }
    Ok(())
}

#[test]
fn evil_pickle_is_an_error_naming_os_system() -> TestResult {
    let path = fixture("pickle/evil.pkl");
    let all = scan_json(&[os(&path)])?;
    let r = all.first().ok_or_else(|| fail("no report"))?;
    assert_eq!(field(r, "format").as_str(), Some("pickle"));
    let hits: Vec<_> = errors_of(r)
        .into_iter()
        .filter(|(code, _, _)| code == "pickle.code_execution")
        .collect();
    assert!(
        !hits.is_empty(),
        "no error pickle.code_execution: {:?}",
        findings(r)
    );
    let imports = field(r, "pickle_imports").to_string();
    let named = |s: &str| s.contains("posix.system") || s.contains("os.system");
    assert!(
        named(&imports) || hits.iter().any(|(_, _, m)| named(m)),
        "neither pickle_imports ({imports}) nor the finding names os.system / posix.system"
    );
    let run = run_bounded(
        &mut lbom([
            OsStr::new("scan"),
            os(&path),
            OsStr::new("--fail-on"),
            OsStr::new("error"),
        ]),
        Duration::from_secs(30),
    )?;
    assert_eq!(
        run.code(),
        Some(1),
        "--fail-on error on evil.pkl: {}",
        run.stderr
    );
    Ok(())
}

#[test]
fn torch_style_pickles_are_warnings_with_their_imports() -> TestResult {
    for (rel, format) in [
        ("pickle/torch-like.bin", "pickle"),
        ("pickle/pytorch_model.bin", "pytorch-zip"),
    ] {
        let all = scan_json(&[os(&fixture(rel))])?;
        let r = all.first().ok_or_else(|| fail("no report"))?;
        assert_eq!(field(r, "format").as_str(), Some(format), "{rel}");
        let worst = findings(r)
            .iter()
            .map(|(_, s, _)| rank(s))
            .max()
            .unwrap_or(0);
        assert_eq!(
            worst,
            rank("warning"),
            "{rel}: worst finding must be a warning: {:?}",
            findings(r)
        );
        let imports = field(r, "pickle_imports").to_string();
        for want in ["torch._utils._rebuild_tensor_v2", "collections.OrderedDict"] {
            assert!(
                imports.contains(want),
                "{rel}: pickle_imports {imports} lacks {want}"
            );
        }
    }
    Ok(())
}

#[test]
fn a_gguf_name_on_other_bytes_is_an_error() -> TestResult {
    let all = scan_json(&[os(&fixture("misc/not-really.gguf"))])?;
    let r = all.first().ok_or_else(|| fail("no report"))?;
    let errors = errors_of(r);
    assert!(
        !errors.is_empty(),
        "not-really.gguf: no error finding: {:?}",
        findings(r)
    );
    if !errors.iter().any(|(c, _, _)| c == "format.name_mismatch") {
        eprintln!(
            "not-really.gguf: error findings {errors:?} (format.name_mismatch not among them)"
        );
    }
    Ok(())
}

#[test]
fn every_hostile_file_is_an_error_finding_in_bounded_time() -> TestResult {
    venv()?;
    let dir = tempfile::tempdir()?;
    python_tool("hostile.py", &[dir.path().as_os_str()])?;
    let cases = common::hostile_models::check(dir.path(), HOSTILE_TIME_LIMIT)?;
    assert!(cases > 50, "only {cases} hostile cases");
    Ok(())
}

#[test]
fn output_is_byte_identical_across_runs_and_job_counts() -> TestResult {
    let dir = tempfile::tempdir()?;
    let everything = repo().join("fixtures");
    let one_model = fixture("gguf/tiny-llama-Q4_K_M.gguf");
    for format in [
        "json",
        "table",
        "spdx",
        "spdx-json",
        "cyclonedx",
        "hf-readme",
    ] {
        let target = if format == "hf-readme" {
            &one_model
        } else {
            &everything
        };
        let mut outputs = vec![];
        for (i, jobs) in ["1", "2", "2"].iter().enumerate() {
            let out = dir.path().join(format!("{format}-{i}"));
            scan_to(target, format, &out, &["--jobs", jobs])?;
            outputs.push(std::fs::read(&out)?);
        }
        let first = outputs.first().ok_or_else(|| fail("no output"))?;
        assert!(!first.is_empty(), "{format}: empty output");
        for (i, o) in outputs.iter().enumerate().skip(1) {
            assert!(
                o == first,
                "{format}: run {i} differs from run 0 (SOURCE_DATE_EPOCH=0)"
            );
        }
    }
    Ok(())
}

#[test]
fn usage_and_io_errors_have_their_exit_codes() -> TestResult {
    let run = run_bounded(
        &mut lbom(["scan", "--format", "no-such-format", "fixtures"]),
        Duration::from_secs(30),
    )?;
    assert_eq!(run.code(), Some(2), "unknown --format: {}", run.stderr);
    let run = run_bounded(
        &mut lbom(["scan", "fixtures/does-not-exist.gguf"]),
        Duration::from_secs(30),
    )?;
    assert_eq!(run.code(), Some(10), "missing file: {}", run.stderr);
    assert!(
        run.stderr.contains("does-not-exist.gguf"),
        "the error names the file: {}",
        run.stderr
    );
    Ok(())
}

/// The closing note's ML-BOM: the split GGUF fixture with its Hub card and
/// config.json (fixtures/README.md) fills every CycloneDX 1.6 field lbom
/// writes, each from what the files say.
#[test]
fn split_model_ml_bom_fills_every_first_class_field() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("split.cdx.json");
    scan_to(&fixture("gguf/split"), "cyclonedx", &out, &[])?;
    let bom: Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    let at = |p: &str| bom.pointer(p).cloned().unwrap_or(Value::Null);
    let c = "/metadata/component";
    for (pointer, want) in [
        ("/specVersion", "1.6"),
        ("/type", "machine-learning-model"),
        ("/version", "v0.1"),
        ("/supplier/name", "Example Org"),
        ("/manufacturer/name", "Example Org"),
        ("/authors/0/name", "lbom test suite"),
        ("/purl", "pkg:huggingface/example/lbom-tiny-llama"),
        (
            "/externalReferences/0/url",
            "https://huggingface.co/example/lbom-tiny-llama",
        ),
        ("/pedigree/ancestors/0/name", "TinyLlama Base"),
        (
            "/pedigree/ancestors/0/purl",
            "pkg:huggingface/example/tinyllama-base",
        ),
        ("/modelCard/modelParameters/task", "text-generation"),
        ("/modelCard/modelParameters/architectureFamily", "llama"),
        (
            "/modelCard/modelParameters/modelArchitecture",
            "LlamaForCausalLM",
        ),
        ("/modelCard/modelParameters/datasets/0/name", "TinyStories"),
        ("/modelCard/modelParameters/inputs/0/format", "text"),
        ("/modelCard/modelParameters/outputs/0/format", "text"),
        (
            "/modelCard/considerations/technicalLimitations/0",
            "Any real use: the weights are random.",
        ),
        (
            "/modelCard/considerations/ethicalConsiderations/0/name",
            "Every output is noise; do not rely on it.",
        ),
        ("/licenses/0/license/id", "Apache-2.0"),
    ] {
        let full = if pointer == "/specVersion" {
            pointer.to_owned()
        } else {
            format!("{c}{pointer}")
        };
        assert_eq!(at(&full).as_str(), Some(want), "{full}");
    }
    // The three shards are files the model depends on, each with its hash.
    let model_ref = at(&format!("{c}/bom-ref"));
    let deps = at("/dependencies/0");
    assert_eq!(deps["ref"], model_ref);
    assert_eq!(deps["dependsOn"].as_array().map(Vec::len), Some(3));
    for n in 0..3 {
        let shard = at(&format!("/components/{n}"));
        assert_eq!(shard["type"], "file");
        let path = fixture("gguf/split").join(shard["name"].as_str().unwrap_or_default());
        let digest = hex::encode(Sha256::digest(std::fs::read(&path)?));
        assert_eq!(
            shard["hashes"][0]["content"].as_str(),
            Some(digest.as_str())
        );
    }
    python_tool("validate_cdx.py", &[os(&out)])?;
    Ok(())
}

/// `--format sarif` of every fixture family validates against the SARIF
/// 2.1.0 schema (tests/schemas/), and every finding of the JSON report is
/// one of its results.
#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() -> TestResult {
    venv()?;
    let dir = tempfile::tempdir()?;
    for (label, target) in sbom_targets() {
        let out = dir.path().join(format!("{label}.sarif"));
        scan_to(&target, "sarif", &out, &[])?;
        python_tool("validate_sarif.py", &[os(&out)])?;
        let log: Value = serde_json::from_slice(&std::fs::read(&out)?)?;
        let results = log
            .pointer("/runs/0/results")
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or_default();
        let reports = scan_json(&[os(&target)])?;
        let findings: usize = reports.iter().map(|r| findings(r).len()).sum();
        assert_eq!(results, findings, "{label}: results vs findings");
    }
    Ok(())
}

/// `--format spdx3` of every fixture family (and the split model with its
/// card) validates with spdx3-validate's engine: the SPDX 3.0.1 JSON schema
/// and the SHACL shapes of the model (tests/tools/validate_spdx3.py, with
/// the 3.0.1 files committed in tests/schemas/spdx-3.0.1/).
#[test]
fn spdx3_output_validates_with_spdx3_validate() -> TestResult {
    venv()?;
    let dir = tempfile::tempdir()?;
    // SHACL validation of the whole fixture tree takes minutes (pyshacl
    // with the model's ontology); one file of each family and the split
    // model with its card cover every element type the writer emits.
    let targets = [
        ("gguf", fixture("gguf/tiny-llama-Q4_K_M.gguf")),
        ("safetensors-folder", fixture("safetensors/tiny-llama")),
        ("hf-cache", fixture("hf-cache")),
        ("split-gguf", fixture("gguf/split")),
    ];
    let mut outs = Vec::new();
    for (label, target) in &targets {
        let out = dir.path().join(format!("{label}.spdx3.json"));
        scan_to(target, "spdx3", &out, &[])?;
        outs.push(out);
    }
    let args: Vec<&OsStr> = outs.iter().map(|p| os(p)).collect();
    python_tool("validate_spdx3.py", &args)?;
    // The split model: an AI package with the facts of its ML-BOM.
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("split-gguf.spdx3.json"))?)?;
    let graph = doc["@graph"].as_array().cloned().unwrap_or_default();
    let model = graph
        .iter()
        .find(|e| e["type"] == "ai_AIPackage" && e["software_packageVersion"] == "v0.1")
        .ok_or("no AI package for the model")?;
    assert_eq!(
        model["software_packageUrl"],
        "pkg:huggingface/example/lbom-tiny-llama"
    );
    assert_eq!(model["ai_domain"][0], "text-generation");
    assert_eq!(model["ai_typeOfModel"][1], "LlamaForCausalLM");
    let kinds: Vec<&str> = graph
        .iter()
        .filter(|e| e["type"] == "Relationship")
        .filter_map(|e| e["relationshipType"].as_str())
        .collect();
    for k in ["contains", "hasDeclaredLicense", "ancestorOf", "trainedOn"] {
        assert!(kinds.contains(&k), "no {k} relationship: {kinds:?}");
    }
    Ok(())
}
