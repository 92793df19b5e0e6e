//! Every input a fuzz target ever crashed on stays a test: the files under
//! tests/vectors/fuzz/<target>/ are replayed through the target's own code
//! (fuzz/checks.rs, shared with the cargo-fuzz targets), on stable Rust and
//! without cargo-fuzz. The committed corpora (hostile models, hostile
//! bundles, test vectors, keys, example policies) go through the same code,
//! so the targets' invariants are checked in every CI run, not only while
//! fuzzing.
//!
//! When `make fuzz` finds a crash, copy fuzz/artifacts/<target>/crash-* into
//! tests/vectors/fuzz/<target>/ with the fix.

#[allow(dead_code, reason = "the fuzz crate uses the same module")]
#[path = "../fuzz/checks.rs"]
mod checks;
mod common;

use std::path::{Path, PathBuf};

use common::{TestResult, fail, repo};

/// Every regular file under `dir`, recursively, sorted; none when `dir` is
/// missing.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The committed inputs each target reads, besides its kept crash inputs.
fn corpora(target: &str) -> Vec<&'static str> {
    match target {
        "gguf_header" | "safetensors_header" | "pickle_scan" | "inspect_any" => {
            vec![
                "tests/vectors/models",
                "fixtures/gguf",
                "fixtures/safetensors",
                "fixtures/pickle",
                "fixtures/misc",
            ]
        }
        "pickle_containers" => vec![
            "tests/vectors/threats/containers",
            "tests/vectors/threats/hidden",
            "tests/vectors/threats/pickle",
        ],
        "bundle_reader" => vec!["tests/vectors/quarantine", "tests/vectors/bundle"],
        "envelope_link" => vec!["tests/vectors/bundle"],
        "key_files" => vec!["keys", "tests/vectors/bundle"],
        "policy_file" => vec!["docs/examples", "tests/vectors/quarantine"],
        "side_files" => vec![
            "fixtures/safetensors",
            "fixtures/hf-cache",
            "fixtures/drift",
        ],
        "chat_template" => vec!["tests/vectors/templates"],
        "part_index" => vec!["tests/vectors/parts"],
        "delta_recipe" => vec!["tests/vectors/delta"],
        "registry_documents" => vec!["tests/vectors/registry"],
        _ => Vec::new(),
    }
}

/// Largest file replayed (the fuzz targets run on small inputs, too).
const MAX_INPUT_BYTES: u64 = 8 << 20;

#[test]
fn every_kept_crash_input_and_committed_corpus_file_passes_its_target() -> TestResult {
    let root = repo();
    let mut replayed = 0usize;
    for (target, check) in checks::TARGETS {
        let mut inputs = files_under(&root.join("tests/vectors/fuzz").join(target))?;
        for dir in corpora(target) {
            inputs.extend(files_under(&root.join(dir))?);
        }
        let mut count = 0usize;
        for path in inputs {
            if std::fs::metadata(&path)?.len() > MAX_INPUT_BYTES {
                continue;
            }
            let data = std::fs::read(&path)?;
            // A panic here fails the test and names the input.
            let outcome = std::panic::catch_unwind(|| check(&data));
            if outcome.is_err() {
                return Err(fail(format!("{target} panicked on {}", path.display())));
            }
            count += 1;
        }
        // Every target has committed inputs; none replayed means a corpus moved.
        if count == 0 {
            return Err(fail(format!("no inputs replayed for {target}")));
        }
        replayed += count;
    }
    assert!(replayed > 200, "only {replayed} inputs replayed");
    Ok(())
}

/// Every target `make fuzz` runs is replayed here, and every target file
/// in fuzz/fuzz_targets/ is one of them.
#[test]
fn the_replay_covers_every_fuzz_target() -> TestResult {
    let root = repo();
    let makefile = std::fs::read_to_string(root.join("Makefile"))?;
    let listed: Vec<&str> = makefile
        .lines()
        .find_map(|l| l.strip_prefix("FUZZ_TARGETS := "))
        .ok_or_else(|| fail("Makefile has no FUZZ_TARGETS"))?
        .split_whitespace()
        .collect();
    let mut files: Vec<String> = files_under(&root.join("fuzz/fuzz_targets"))?
        .iter()
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    files.sort();
    let mut replayed: Vec<String> = checks::TARGETS
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    replayed.sort();
    let mut make: Vec<String> = listed.iter().map(|s| (*s).to_owned()).collect();
    make.sort();
    assert_eq!(
        files, replayed,
        "fuzz/fuzz_targets vs fuzz/checks.rs TARGETS"
    );
    assert_eq!(
        make, replayed,
        "Makefile FUZZ_TARGETS vs fuzz/checks.rs TARGETS"
    );
    Ok(())
}
