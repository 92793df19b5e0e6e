//! The README's three user journeys run exactly as written (issue 16, "Done
//! when"): the shell blocks under "Model maintainers", "Transfer desks" and
//! "Quarantine stations" are run line by line with `sh -c` in one temporary
//! folder, in README order, with `lbom` on PATH as this build's binary (the
//! only substitution). What the README takes for granted is put there first:
//! the model folders (the drift fixtures' base and re-quantized,
//! template-edited release), the transfer desk's key (the public demo key)
//! and the station's key; the maintainer's public key reaches the station as
//! `alice.pub` between the journeys, as it would by hand.
//!
//! Every command must exit 0, except `lbom diff`, which the README says exits
//! 1 on drift (and the journey's second release drifts).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::markdown::sh_blocks;
use common::{TestResult, fail, fixture, repo, run_bounded};

/// The commands of the README section whose `## ` heading starts with
/// `heading`, up to the next `## ` heading; comment-only lines dropped.
fn journey(readme: &str, heading: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let marker = format!("\n## {heading}");
    let start = readme
        .find(&marker)
        .ok_or_else(|| fail(format!("README has no section `## {heading}`")))?;
    let body = readme.get(start + marker.len()..).unwrap_or_default();
    let end = body.find("\n## ").unwrap_or(body.len());
    let commands: Vec<String> = sh_blocks(body.get(..end).unwrap_or_default())
        .into_iter()
        .flatten()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if commands.is_empty() {
        return Err(fail(format!(
            "README section `## {heading}` shows no commands"
        )));
    }
    Ok(commands)
}

/// The exit code the README gives a journey's command: `diff` exits 1 on
/// drift ("exit 1 on drift"), everything else succeeds.
fn expected_exit(command: &str) -> i32 {
    let words: Vec<&str> = command
        .split_whitespace()
        .skip_while(|w| w.contains('='))
        .collect();
    if words.get(..2) == Some(&["lbom", "diff"][..]) {
        1
    } else {
        0
    }
}

/// Run each command in `dir` with `bin` first on PATH, checking its exit code.
fn run_journey(name: &str, commands: &[String], dir: &Path, bin: &Path) -> TestResult {
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))?;
    for command in commands {
        let run = run_bounded(
            Command::new("sh")
                .args(["-c", command])
                .current_dir(dir)
                .env("PATH", &path)
                .env_remove("LBOM_PASS"),
            Duration::from_secs(120),
        )?;
        let want = expected_exit(command);
        if run.code() != Some(want) {
            return Err(fail(format!(
                "{name} journey: `{command}` exited {:?}, the README says {want}\nstdout: {}\nstderr: {}",
                run.code(),
                String::from_utf8_lossy(&run.stdout),
                run.stderr
            )));
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> TestResult {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to).map_err(|e| fail(format!("copy {}: {e}", from.display())))?;
    Ok(())
}

#[test]
fn the_three_journeys_run_as_written() -> TestResult {
    let readme = std::fs::read_to_string(repo().join("README.md"))?;
    let maintainer = journey(&readme, "Model maintainers")?;
    let desk = journey(&readme, "Transfer desks")?;
    let station = journey(&readme, "Quarantine stations")?;

    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("work");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin)?;
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_lbom"), bin.join("lbom"))?;
    // What the README takes for granted: two releases of a model (the second
    // re-quantized with an edited chat template), the desk's key.
    copy(
        &fixture("drift/base/model.gguf"),
        &dir.join("my-model/model.gguf"),
    )?;
    copy(
        &fixture("drift/demo_v2/model.gguf"),
        &dir.join("my-model-v2/model.gguf"),
    )?;
    copy(
        &repo().join("keys/demo-transfer.key"),
        &dir.join("desk.key"),
    )?;
    copy(
        &repo().join("keys/demo-transfer.pub"),
        &dir.join("desk.pub"),
    )?;

    run_journey("maintainer", &maintainer, &dir, &bin)?;
    run_journey("transfer desk", &desk, &dir, &bin)?;
    // The maintainer's public key reaches the station; the station has its
    // own signing key for receipts.
    copy(&dir.join("release.pub"), &dir.join("alice.pub"))?;
    let keygen = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_lbom"))
            .args(["keygen", "station"])
            .current_dir(&dir),
        Duration::from_secs(60),
    )?;
    if keygen.code() != Some(0) {
        return Err(fail(format!("keygen station: {}", keygen.stderr)));
    }
    run_journey("quarantine station", &station, &dir, &bin)?;

    // The station ends with both releases kept and the first one current
    // again (the journey's last command rolls back to it).
    let store = lbom::import::Store::open(&dir.join("models"))?;
    if store.current("stable")? != Some(1) {
        return Err(fail("the station journey did not end on version 1"));
    }
    if store.history("stable")?.len() != 3 {
        return Err(fail(
            "the station journey did not record two imports and a rollback",
        ));
    }
    // The journey's review names both changes of the second release.
    let reviews: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    if reviews.is_empty() {
        return Err(fail("the station journey wrote no Markdown review"));
    }
    for review in &reviews {
        for class in ["quantization", "chat_template"] {
            if !review.contains(class) {
                return Err(fail(format!("the review does not name {class}:\n{review}")));
            }
        }
    }
    Ok(())
}
