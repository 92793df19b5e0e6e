//! The committed hostile-bundle corpus (tests/vectors/quarantine/): small
//! files a second implementation, or a later version of lbom, can be run
//! against without Python or the generators. `index.json` lists each file,
//! its class, the expected verdict, exit code and failing check.
//!
//! Written by `write_corpus` below (run on purpose:
//! `LBOM_WRITE_CORPUS=1 cargo test --test quarantine_corpus -- --ignored`)
//! from a small base bundle signed by the demo keys: every class of
//! tests/tools/quarantine_hostile.py, and the zstd bombs of
//! tests/tamper/mod.rs. Files over 64 KiB are skipped and listed under
//! `skipped` in the index.

mod common;
mod tamper;

use std::path::PathBuf;

use common::{TestResult, fail, python_tool, repo, run_bounded};
use tamper::Keys;
use tamper::harness::{self, Sandbox, judge_report};

/// Largest corpus file: 64 KiB, so the 1 GiB bomb without a content size
/// (51 KiB once its SBOMs became CycloneDX 1.6) stays in the corpus.
const MAX_FILE_BYTES: usize = 64 << 10;

/// Largest corpus in total: 6 MiB (the format decision vectors of
/// tests/tools/format_vectors.py added about 1 MiB to the first 4).
const MAX_TOTAL_BYTES: usize = 6 << 20;

fn corpus_dir() -> PathBuf {
    repo().join("tests/vectors/quarantine")
}

/// One indexed file.
struct Item {
    file: String,
    /// The policy file to verify it with (in the corpus folder).
    policy: String,
    class: String,
    code: i32,
    checks: Vec<String>,
}

fn read_index() -> Result<Vec<Item>, Box<dyn std::error::Error>> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus_dir().join("index.json"))?)?;
    let files = v
        .get("files")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| fail("index.json has no files list"))?;
    files
        .iter()
        .map(|c| {
            let s = |k: &str| {
                tamper::json_str(c, k).ok_or_else(|| fail(format!("entry without {k}: {c}")))
            };
            Ok(Item {
                file: s("file")?,
                policy: s("policy").unwrap_or_else(|_| "policy.toml".to_owned()),
                class: s("class")?,
                code: tamper::json_code(c)
                    .ok_or_else(|| fail(format!("entry without code: {c}")))?,
                checks: tamper::json_strings(c, "checks"),
            })
        })
        .collect()
}

#[test]
fn corpus_is_small_and_indexed() -> TestResult {
    let items = read_index()?;
    assert!(items.len() >= 40, "only {} files indexed", items.len());
    let mut total = 0usize;
    let mut listed: Vec<String> = items.iter().map(|i| i.file.clone()).collect();
    for i in &items {
        let len = usize::try_from(std::fs::metadata(corpus_dir().join(&i.file))?.len())?;
        assert!(len <= MAX_FILE_BYTES, "{} is {len} bytes", i.file);
        total = total.saturating_add(len);
        assert!(!i.checks.is_empty() || i.code == 0, "{}: no check", i.file);
    }
    assert!(total <= MAX_TOTAL_BYTES, "corpus is {total} bytes");
    // Every .lbom in the folder is indexed (nothing silently unchecked).
    listed.sort();
    let mut present: Vec<String> = std::fs::read_dir(corpus_dir())?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lbom"))
        .collect();
    present.sort();
    assert_eq!(present, listed);
    Ok(())
}

/// `lbom verify` on every file, under a 512 MiB address-space cap and a
/// time bound: the indexed exit code, and the indexed check fails first.
#[test]
fn verify_gives_the_indexed_verdict_for_every_corpus_file() -> TestResult {
    let sb = Sandbox::new()?;
    let mut problems = Vec::new();
    let items = read_index()?;
    for i in &items {
        let file = corpus_dir().join(&i.file);
        let policy = corpus_dir().join(&i.policy);
        let run = run_bounded(
            &mut sb.lbom_capped(harness::verify_json_args(&file, &policy)),
            harness::TIME_LIMIT,
        )?;
        let code = run.code().unwrap_or(-1);
        if code != i.code {
            problems.push(format!(
                "{} ({}): exit {code}, expected {}: {}",
                i.file,
                i.class,
                i.code,
                run.stderr.trim()
            ));
            continue;
        }
        let checks: Vec<&str> = i.checks.iter().map(String::as_str).collect();
        let report = match run.json() {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{}: {e}", i.file));
                continue;
            }
        };
        let verdict = judge_report(&report, i.code, &checks, true);
        if !verdict.is_empty() {
            problems.push(format!("{}: {verdict}", i.file));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} wrong:\n{}",
        problems.len(),
        items.len(),
        problems.join("\n")
    );
    Ok(())
}

/// `lbom import` of a sample (every fifth file, and every refusal class
/// other than structure) into a fresh store: the indexed code, and the
/// staging folder left empty.
#[test]
fn import_refuses_a_sample_and_leaves_staging_empty() -> TestResult {
    let items = read_index()?;
    let mut problems = Vec::new();
    for (n, i) in items.iter().enumerate() {
        if n % 5 != 0 && i.code == 3 {
            continue;
        }
        let policy = corpus_dir().join(&i.policy);
        let sb = Sandbox::new()?;
        let file = corpus_dir().join(&i.file);
        let run = run_bounded(
            &mut sb.lbom_capped([
                "import".as_ref(),
                file.as_os_str(),
                "--into".as_ref(),
                sb.store.as_os_str(),
                "--create".as_ref(),
                "--policy".as_ref(),
                policy.as_os_str(),
            ]),
            harness::TIME_LIMIT,
        )?;
        if run.code() != Some(i.code) {
            problems.push(format!(
                "{}: import exit {:?}, expected {}: {}",
                i.file,
                run.code(),
                i.code,
                run.stderr.trim()
            ));
        }
        if i.code != 0
            && let Err(e) = sb.staging_is_clean()
        {
            problems.push(format!("{}: {e}", i.file));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The corpus policies are the tamper matrix's (tests/tamper/mod.rs), with
/// key paths relative to the corpus folder (the demo keys in keys/, and the
/// matrix's second maintainer key committed beside them) and no age limit,
/// so that the committed files keep their verdict as time passes.
const CORPUS_HEADER: &str = "# Policy for the committed hostile corpus (tests/quarantine_corpus.rs).\n# Trusts the PUBLIC demo keys and a seeded test key: test use only.\n";
const NO_AGE_LIMIT: &str = "\n[time]\nmax_age = \"none\"\n";
const DEMO_MAINTAINER: &str = "../../../keys/demo-maintainer.pub";
const DEMO_TRANSFER: &str = "../../../keys/demo-transfer.pub";

/// Regenerate the corpus. Deterministic except the bombs' link times.
#[test]
#[ignore = "writes tests/vectors/quarantine/; run with LBOM_WRITE_CORPUS=1 on purpose"]
fn write_corpus() -> TestResult {
    if std::env::var_os("LBOM_WRITE_CORPUS").is_none() {
        return Err(fail("set LBOM_WRITE_CORPUS=1 to rewrite the corpus"));
    }
    let out = corpus_dir();
    std::fs::create_dir_all(&out)?;
    for e in std::fs::read_dir(&out)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "lbom") {
            std::fs::remove_file(p)?;
        }
    }
    std::fs::write(
        out.join("policy.toml"),
        format!(
            "{CORPUS_HEADER}{}",
            tamper::standard_policy(DEMO_MAINTAINER, DEMO_TRANSFER, false, NO_AGE_LIMIT)
        ),
    )?;
    std::fs::write(
        out.join("policy-threshold2.toml"),
        format!(
            "{CORPUS_HEADER}{}",
            tamper::threshold2_policy(
                DEMO_MAINTAINER,
                "maintainer2.pub",
                DEMO_TRANSFER,
                NO_AGE_LIMIT
            )
        ),
    )?;
    let keys = Keys::load(&repo())?;
    std::fs::write(
        out.join("maintainer2.pub"),
        keys.maintainer2.public_key().to_pem()?,
    )?;
    let work = tempfile::tempdir()?;
    let created = jiff::Timestamp::from_second(1_767_225_600)?; // 2026-01-01T00:00:00Z
    let link = jiff::Timestamp::from_second(1_767_225_660)?;
    let t = repo().join("fixtures/safetensors/tiny-llama");
    let spec = tamper::PackSpec {
        // config.json is stored zstd under `auto` (the bombs replace it).
        inputs: vec![
            t.join("config.json"),
            t.join("extra_dtypes.safetensors"),
            t.join("generation_config.json"),
        ],
        name: "corpus",
        channel: "main",
        sequence: None,
        previous: None,
        created,
        expires: None,
        compress: lbom::bundle::Compression::Auto,
    };
    let base_path = work.path().join("base.lbom");
    let base = tamper::pack_and_sign(
        &spec,
        &base_path,
        &[
            (&keys.maintainer, "maintainer"),
            (&keys.transfer, "transfer"),
        ],
        link,
    )?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut total = 0usize;
    let mut add = |file: String,
                   class: String,
                   source: &str,
                   code: i32,
                   checks: Vec<String>,
                   bytes: &[u8],
                   policy: &str|
     -> TestResult {
        if bytes.len() > MAX_FILE_BYTES {
            skipped
                .push(serde_json::json!({"class": class, "source": source, "bytes": bytes.len()}));
            return Ok(());
        }
        std::fs::write(out.join(&file), bytes)?;
        total = total.saturating_add(bytes.len());
        files.push(serde_json::json!({
            "file": file,
            "class": class,
            "source": source,
            "verdict": if code == 0 { "accept" } else { "refuse" },
            "code": code,
            "checks": checks,
            "policy": policy,
        }));
        Ok(())
    };
    add(
        "control-base.lbom".into(),
        "the untouched base bundle (control)".into(),
        "tests/quarantine_corpus.rs",
        0,
        Vec::new(),
        &base,
        "policy.toml",
    )?;
    let gen_out = work.path().join("hostile");
    python_tool(
        "quarantine_hostile.py",
        &[base_path.as_os_str(), gen_out.as_os_str()],
    )?;
    for tamper::HostileIndexed {
        name,
        code,
        checks,
        what,
    } in tamper::read_hostile_index(&gen_out)?
    {
        let bytes = std::fs::read(gen_out.join(format!("{name}.lbom")))?;
        add(
            format!("hostile-{name}.lbom"),
            format!("{name}: {what}"),
            "tests/tools/quarantine_hostile.py",
            code,
            checks,
            &bytes,
            "policy.toml",
        )?;
    }
    // The format decisions (docs/bundle-format.md version 2, docs/policy.md
    // §9), written by an independent Python writer from a small base of one
    // zstd and one raw artifact: tests/tools/format_vectors.py.
    let format_base_path = work.path().join("format-base.lbom");
    tamper::pack_and_sign(
        &tamper::PackSpec {
            inputs: vec![t.join("config.json"), t.join("generation_config.json")],
            name: "format",
            ..spec
        },
        &format_base_path,
        &[
            (&keys.maintainer, "maintainer"),
            (&keys.transfer, "transfer"),
        ],
        link,
    )?;
    let format_out = work.path().join("format");
    python_tool(
        "format_vectors.py",
        &[
            format_base_path.as_os_str(),
            repo().join("keys").as_os_str(),
            t.join("config.json").as_os_str(),
            format_out.as_os_str(),
        ],
    )?;
    for tamper::HostileIndexed {
        name,
        code,
        checks,
        what,
    } in tamper::read_hostile_index(&format_out)?
    {
        let bytes = std::fs::read(format_out.join(format!("{name}.lbom")))?;
        add(
            format!("format-{name}.lbom"),
            format!("{name}: {what}"),
            "tests/tools/format_vectors.py",
            code,
            checks,
            &bytes,
            "policy.toml",
        )?;
    }
    for b in tamper::bombs(&base, &keys)? {
        let slug: String = b
            .name
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
            .collect();
        add(
            format!("bomb-{slug}.lbom"),
            format!("zstd bomb: {}", b.name),
            "tests/tamper/mod.rs::bombs",
            b.code,
            b.checks.iter().map(|s| (*s).to_owned()).collect(),
            &b.bytes,
            "policy.toml",
        )?;
    }
    // The tamper matrix's clock-free cases (tests/tamper/mod.rs), on a
    // small base with the matrix's entry names: the same JSON config (stored
    // zstd), an 8 KiB quantized GGUF from fixtures/ and an 8 KiB safetensors
    // of random weights written by the `safetensors` package (both stored
    // raw: they do not compress), under the names the cases edit.
    let small = work.path().join("small");
    std::fs::create_dir_all(&small)?;
    let fx = repo().join("fixtures");
    for (from, to) in [
        ("safetensors/tiny-llama/config.json", "config.json"),
        ("gguf/filetypes/tiny-IQ1_S.gguf", "tiny-llama-Q4_K_M.gguf"),
    ] {
        std::fs::copy(fx.join(from), small.join(to))?;
    }
    let weights = small.join("model.safetensors");
    common::venv_tool(
        "python",
        &[
            "-c".as_ref(),
            "import sys, numpy as np\nfrom safetensors.numpy import save_file\nrng = np.random.default_rng(7)\nsave_file({'model.embed.weight': rng.standard_normal((32, 64)).astype(np.float32)}, sys.argv[1])".as_ref(),
            weights.as_os_str(),
        ],
    )?;
    let small_spec = |name: &'static str| tamper::PackSpec {
        inputs: vec![
            small.join("config.json"),
            small.join("model.safetensors"),
            small.join("tiny-llama-Q4_K_M.gguf"),
        ],
        name,
        channel: "main",
        sequence: None,
        previous: None,
        created,
        expires: None,
        compress: lbom::bundle::Compression::Auto,
    };
    let chain = [
        (&keys.maintainer, "maintainer"),
        (&keys.transfer, "transfer"),
    ];
    let tbase = tamper::pack_and_sign(
        &small_spec("base"),
        &work.path().join("tbase.lbom"),
        &chain,
        link,
    )?;
    let tother = tamper::pack_and_sign(
        &small_spec("other"),
        &work.path().join("tother.lbom"),
        &chain,
        link,
    )?;
    let times = tamper::Times { created, link };
    for c in tamper::clock_free_cases(&tbase, &tother, &keys, &times)? {
        let policy = match c.policy {
            tamper::PolicyKind::Standard => "policy.toml",
            tamper::PolicyKind::Threshold2 => "policy-threshold2.toml",
        };
        add(
            format!("tamper-{}.lbom", c.name),
            format!("tamper: {}", c.name),
            "tests/tamper/mod.rs::clock_free_cases",
            c.code,
            c.checks.iter().map(|s| (*s).to_owned()).collect(),
            &c.bytes,
            policy,
        )?;
    }
    let index = serde_json::json!({
        "about": "hostile bundles for lbom verify/import; regenerate with LBOM_WRITE_CORPUS=1 cargo test --test quarantine_corpus -- --ignored write_corpus",
        "policy": "policy.toml",
        "files": files,
        "skipped": skipped,
        "total_bytes": total,
    });
    let mut text = serde_json::to_string_pretty(&index)?;
    text.push('\n');
    std::fs::write(out.join("index.json"), text)?;
    Ok(())
}
