//! A default policy refuses a bundle whose chat template reaches Python
//! internals (docs/findings.md, "Chat templates"): every hostile template
//! that reproduces a public advisory (CVE-2024-34359, CVE-2026-5760; tagged
//! in tests/vectors/templates/hostile/index.json), packed in a Hugging Face
//! folder's `tokenizer_config.json` and signed by the maintainer, is refused
//! by `lbom verify` under the policy `lbom policy init` writes; a real
//! template and one that only loads another template (a warning) pass it.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{TestResult, fail, lbom, repo, run_bounded};
use serde_json::Value;

fn hostile_dir() -> PathBuf {
    repo().join("tests/vectors/templates/hostile")
}

/// `lbom policy init` trusting the demo maintainer, written in `dir`.
fn default_policy(dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let path = dir.join("policy.toml");
    let trust = format!(
        "maintainer={}:maintainer",
        repo().join("keys/demo-maintainer.pub").display()
    );
    let mut cmd = lbom(["policy", "init", "-o"]);
    cmd.arg(&path).arg("--trust").arg(trust);
    let run = run_bounded(&mut cmd, Duration::from_secs(60))?;
    if run.code() != Some(0) {
        return Err(fail(format!("policy init: {}", run.stderr)));
    }
    Ok(path)
}

/// Pack a folder holding the tiny safetensors model and `template` as its
/// `tokenizer_config.json` chat template, signed by the maintainer, and
/// verify it under `policy`: the exit code and the output.
fn pack_and_verify(
    dir: &Path,
    name: &str,
    template: &str,
    policy: &Path,
) -> Result<(Option<i32>, String), Box<dyn std::error::Error>> {
    let model = dir.join(name);
    std::fs::create_dir_all(&model)?;
    let fixture = repo().join("fixtures/safetensors/tiny-llama");
    for file in ["model.safetensors", "config.json"] {
        std::fs::copy(fixture.join(file), model.join(file))?;
    }
    let config = serde_json::json!({ "chat_template": template, "model_max_length": 2048 });
    std::fs::write(
        model.join("tokenizer_config.json"),
        serde_json::to_vec(&config)?,
    )?;
    let bundle = dir.join(format!("{name}.lbom"));
    let mut pack = lbom(["pack", "-q", "--role", "maintainer", "--key"]);
    pack.arg(repo().join("keys/demo-maintainer.key"))
        .arg("-o")
        .arg(&bundle)
        .arg(&model);
    // Created now: the fixed test clock would be older than the policy's
    // maximum age.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    pack.env("SOURCE_DATE_EPOCH", now.as_secs().to_string());
    let packed = run_bounded(&mut pack, Duration::from_secs(120))?;
    if packed.code() != Some(0) {
        return Err(fail(format!("pack {name}: {}", packed.stderr)));
    }
    let mut verify = lbom(["verify"]);
    verify.arg(&bundle).arg("--policy").arg(policy);
    let run = run_bounded(&mut verify, Duration::from_secs(120))?;
    Ok((
        run.code(),
        format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr),
    ))
}

#[test]
fn a_default_policy_refuses_every_advisory_payload_and_passes_real_templates() -> TestResult {
    let dir = tempfile::tempdir()?;
    let policy = default_policy(dir.path())?;
    let index: Value = serde_json::from_slice(&std::fs::read(hostile_dir().join("index.json"))?)?;
    let advisories: Vec<(String, String)> = index["templates"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        // The multi-megabyte ones are generated at test time
        // (tests/threat_corpus.rs packs their carriers).
        .filter(|e| e["advisory"].is_string() && e["committed"].as_bool() != Some(false))
        .filter_map(|e| {
            Some((
                e["file"].as_str()?.to_owned(),
                e["advisory"].as_str()?.to_owned(),
            ))
        })
        .collect();
    for advisory in ["CVE-2024-34359", "CVE-2026-5760"] {
        if !advisories.iter().any(|(_, a)| a == advisory) {
            return Err(fail(format!("no hostile template reproduces {advisory}")));
        }
    }
    let mut problems = Vec::new();
    for (i, (file, advisory)) in advisories.iter().enumerate() {
        let text = std::fs::read_to_string(hostile_dir().join(file))?;
        let (code, out) = pack_and_verify(dir.path(), &format!("hostile{i}"), &text, &policy)?;
        if code == Some(0) || !out.contains("template.code_execution") {
            problems.push(format!(
                "{file} ({advisory}): verify exit {code:?}, output:\n{out}"
            ));
        }
    }
    let benign = [
        (
            "real",
            std::fs::read_to_string(
                repo().join("tests/vectors/templates/real/meta-llama-Llama-3.1-8B-Instruct.jinja"),
            )?,
        ),
        (
            "include",
            std::fs::read_to_string(hostile_dir().join("include-statement.jinja"))?,
        ),
    ];
    for (name, text) in &benign {
        let (code, out) = pack_and_verify(dir.path(), name, text, &policy)?;
        if code != Some(0) {
            problems.push(format!("{name}: verify exit {code:?}, output:\n{out}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(problems.join("\n")))
    }
}
