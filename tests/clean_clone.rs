//! `make test` leaves a clean clone clean (issue 16 item 5): the fuzz crate
//! is its own workspace (fuzz/Cargo.toml), so its committed lock file goes
//! stale whenever lbom's dependencies change, and the fuzz build then
//! rewrites it. This test fails first, in `cargo test`, naming the fix;
//! `make fuzz` refuses a stale lock too instead of rewriting it.

mod common;

use std::process::Command;

use common::{TestResult, fail, repo};

#[test]
fn the_fuzz_lock_file_matches_the_crates_it_builds() -> TestResult {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let metadata = |offline: bool| -> std::io::Result<std::process::Output> {
        let mut cmd = Command::new(&cargo);
        cmd.args([
            "metadata",
            "--locked",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(repo().join("fuzz/Cargo.toml"));
        if offline {
            cmd.arg("--offline");
        }
        cmd.output()
    };
    let before = std::fs::read(repo().join("fuzz/Cargo.lock"))?;
    let mut out = metadata(true)?;
    let stale = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).contains("--locked");
    if !out.status.success() && !stale(&out) {
        // Not stale, but the registry index is not cached here yet.
        out = metadata(false)?;
    }
    assert!(
        std::fs::read(repo().join("fuzz/Cargo.lock"))? == before,
        "checking the lock changed it"
    );
    if out.status.success() {
        return Ok(());
    }
    Err(fail(format!(
        "fuzz/Cargo.lock does not match what the fuzz crate builds: run `cargo update --workspace --manifest-path fuzz/Cargo.toml` and commit it:\n{}",
        String::from_utf8_lossy(&out.stderr)
    )))
}
