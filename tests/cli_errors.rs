//! Exact stderr and exit status for every user-facing scan error: one
//! sentence naming the file and the problem, never a panic or backtrace.

use assert_cmd::Command;

fn lbom() -> Result<Command, Box<dyn std::error::Error>> {
    let mut cmd = Command::cargo_bin("lbom")?;
    cmd.env_remove("RUST_BACKTRACE")
        .env("SOURCE_DATE_EPOCH", "0");
    Ok(cmd)
}

#[test]
fn missing_path_is_io_error() -> Result<(), Box<dyn std::error::Error>> {
    lbom()?
        .args(["scan", "/nonexistent/model.gguf"])
        .assert()
        .code(10)
        .stdout("")
        .stderr(
            "lbom: cannot read /nonexistent/model.gguf: No such file or directory (os error 2)\n",
        );
    Ok(())
}

#[test]
fn folder_without_models_is_usage_error() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("notes.txt"), "hi")?;
    let shown = dir.path().display().to_string();
    lbom()?.arg("scan").arg(dir.path()).assert().code(2).stdout("").stderr(format!(
        "lbom: {shown}: no model files found\nhint: lbom scans .gguf, .safetensors and pickle-based files (.bin .pt .pth .ckpt .pkl); name a file to inspect it whatever its extension\n"
    ));
    Ok(())
}

#[test]
fn fifo_named_on_the_command_line_is_refused_without_hanging()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("m.gguf");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()?
            .success()
    );
    lbom()?
        .arg("scan")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(10)
        .stderr(format!(
            "lbom: {}: not a regular file or folder\n",
            fifo.display()
        ));
    Ok(())
}

#[test]
fn bad_arguments_exit_2() -> Result<(), Box<dyn std::error::Error>> {
    lbom()?.args(["scan"]).assert().code(2);
    lbom()?
        .args(["scan", "x", "--format", "xml"])
        .assert()
        .code(2);
    lbom()?.args(["scan", "x", "--jobs", "0"]).assert().code(2);
    lbom()?
        .args(["scan", "x", "--fail-on", "info"])
        .assert()
        .code(2);
    Ok(())
}

#[test]
fn version_is_printed_both_ways() -> Result<(), Box<dyn std::error::Error>> {
    // `lbom version` is bare, for scripts; `--version` is clap's.
    lbom()?
        .arg("version")
        .assert()
        .success()
        .stdout(format!("{}\n", env!("CARGO_PKG_VERSION")));
    lbom()?
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("lbom {}\n", env!("CARGO_PKG_VERSION")));
    Ok(())
}

#[test]
fn output_file_is_written_whole_and_readable() -> Result<(), Box<dyn std::error::Error>> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let model = dir.path().join("m.gguf");
    std::fs::write(&model, b"GGUF")?;
    let out = dir.path().join("report.json");
    lbom()?
        .arg("scan")
        .arg(&model)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&out)?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(
        v.get("model_filename").and_then(|n| n.as_str()),
        Some("m.gguf")
    );
    assert_eq!(std::fs::metadata(&out)?.permissions().mode() & 0o777, 0o644);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path())?.count(), 2);
    Ok(())
}

#[test]
fn closed_stdout_is_not_an_error() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for i in 0..200 {
        std::fs::write(dir.path().join(format!("m{i:03}.gguf")), b"GGUF")?;
    }
    let bin = assert_cmd::cargo::cargo_bin("lbom");
    let script = format!(
        "'{}' scan '{}' | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}",
        bin.display(),
        dir.path().display()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()?;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    Ok(())
}
