//! Helpers shared by the integration tests: run the `lbom` binary with a time
//! bound, read its JSON, and find the Python venv the validators live in.
//!
//! Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

/// The binary's exit-code table, the one the CLI uses.
#[path = "../../src/bin/lbom/codes.rs"]
pub mod codes;
pub mod hostile_models;
pub mod markdown;
pub mod registry;
pub mod station;

/// The failure classes, for `codes` (which names them `super::Class`).
use lbom::Class;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `policy init -o POLICY --trust m=KEY:ROLES`: the arguments that write a
/// policy trusting the public key file `key` as `roles` (comma-separated).
pub fn policy_init_args(policy: &Path, key: &Path, roles: &str) -> Vec<OsString> {
    let trust = format!("m={}:{roles}", key.display());
    let head = ["policy", "init", "-o"].map(OsString::from);
    head.into_iter()
        .chain([policy.into(), "--trust".into(), trust.into()])
        .collect()
}

/// What a test returns: `?` on anything, the message says what went wrong.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A boxed error from a message.
pub fn fail(message: impl Into<String>) -> Box<dyn std::error::Error> {
    message.into().into()
}

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// The Python venv with the independent validators (`LBOM_VENV`, else
/// `<repo>/.venv`). Missing venv is a failure, never a silent skip: these
/// tests are the ones that check lbom against other implementations.
pub fn venv() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = std::env::var_os("LBOM_VENV").map_or_else(|| repo().join(".venv"), PathBuf::from);
    let ready = dir.join("bin/python").is_file() && dir.join(".lbom-requirements.sha256").is_file();
    if ready {
        Ok(dir)
    } else {
        Err(fail(format!(
            "no Python venv with the validators at {}: run `make test` (it runs tests/tools/setup-venv.sh first)",
            dir.display()
        )))
    }
}

/// What a finished child process left behind.
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, as text.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Run {
    /// The exit code; `None` when killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Result<Value, Box<dyn std::error::Error>> {
        serde_json::from_slice(&self.stdout).map_err(|e| {
            fail(format!(
                "stdout is not JSON ({e}); stderr: {}; stdout starts: {}",
                self.stderr.trim(),
                String::from_utf8_lossy(self.stdout.get(..300).unwrap_or(&self.stdout))
            ))
        })
    }
}

/// Run `cmd` to completion, killing it after `limit`. Output goes to files,
/// not pipes, so a chatty child can never block on a full pipe while we wait.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Result<Run, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(File::create(&out_path)?))
        .stderr(Stdio::from(File::create(&err_path)?));
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot start {cmd:?}: {e}")))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            child.kill()?;
            child.wait()?;
            return Err(fail(format!(
                "{cmd:?} still running after {limit:?}: killed"
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    Ok(Run {
        status,
        stdout: std::fs::read(&out_path)?,
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path)?).into_owned(),
        elapsed,
    })
}

/// What a GGUF fixture's report must agree on with its expected.json
/// (the Python-written fixtures and the llama.cpp-quantized ones alike).
pub const GGUF_FACTS: &[&str] = &[
    "quantization",
    "file_type",
    "architecture",
    "parameter_count",
    "context_length",
    "vocab_size",
    "license",
    "name",
    "format_version",
    "endianness",
    "tensor_count",
    "tensor_types",
    "sha256",
    "file_size_bytes",
];

/// `lbom ARGS...` with a fixed clock (SOURCE_DATE_EPOCH=0) and no colour.
pub fn lbom<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbom"));
    cmd.args(args);
    with_fixed_environment(&mut cmd);
    cmd
}

/// A fixed clock, no colour, the repository as working folder.
fn with_fixed_environment(cmd: &mut Command) {
    cmd.env("SOURCE_DATE_EPOCH", "0")
        .env("NO_COLOR", "1")
        .current_dir(repo());
}

/// Address-space cap for lbom on hostile input: "a few hundred MB" at most,
/// whatever a length field claims. Enforced by the kernel (RLIMIT_AS via
/// util-linux `prlimit`), so an allocation past it fails the run.
pub const HOSTILE_ADDRESS_SPACE_BYTES: u64 = 512 << 20;

/// [`lbom`] under [`HOSTILE_ADDRESS_SPACE_BYTES`].
pub fn lbom_capped<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={HOSTILE_ADDRESS_SPACE_BYTES}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_lbom"))
        .args(args);
    with_fixed_environment(&mut cmd);
    cmd
}

/// `lbom scan --format json ARGS...`, which must exit 0; its reports as a list
/// (one model gives an object, several an array).
pub fn scan_json(args: &[&OsStr]) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let mut full: Vec<&OsStr> = vec![
        OsStr::new("scan"),
        OsStr::new("--format"),
        OsStr::new("json"),
    ];
    full.extend_from_slice(args);
    let run = run_bounded(&mut lbom(&full), Duration::from_secs(120))?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "lbom {full:?} exited {:?}: {}",
            run.code(),
            run.stderr.trim()
        )));
    }
    Ok(reports(run.json()?))
}

/// One report or an array of them → a list.
pub fn reports(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// `v[key]`, or `null` when absent.
pub fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

/// The report's findings as (code, severity, message).
pub fn findings(report: &Value) -> Vec<(String, String, String)> {
    field(report, "findings")
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| {
                    let s = |k: &str| field(f, k).as_str().unwrap_or_default().to_owned();
                    (s("code"), s("severity"), s("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Severity rank: info 0, warning 1, error 2 (unknown: 0).
pub fn rank(severity: &str) -> u8 {
    match severity {
        "error" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// Run a venv tool (`bin/NAME ARGS...`); Err with its output unless it exits 0.
pub fn venv_tool<S: AsRef<OsStr>>(
    name: &str,
    args: &[S],
) -> Result<String, Box<dyn std::error::Error>> {
    let exe = venv()?.join("bin").join(name);
    let mut cmd = Command::new(&exe);
    cmd.args(args)
        .env("HF_HUB_OFFLINE", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let run = run_bounded(&mut cmd, Duration::from_secs(300))?;
    let text = format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr);
    if run.code() == Some(0) {
        Ok(text)
    } else {
        Err(fail(format!(
            "{} {:?} exited {:?}:\n{text}",
            exe.display(),
            cmd.get_args().collect::<Vec<_>>(),
            run.code()
        )))
    }
}

/// Run a script from tests/tools with the venv's Python.
pub fn python_tool<S: AsRef<OsStr>>(
    script: &str,
    args: &[S],
) -> Result<String, Box<dyn std::error::Error>> {
    let mut full: Vec<&OsStr> = vec![];
    let path = repo().join("tests/tools").join(script);
    full.push(path.as_os_str());
    full.extend(args.iter().map(AsRef::as_ref));
    venv_tool("python", &full)
}

/// The path's file name as text ("" when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The SHA-256 of the file at `path`, in hex, read a block at a time.
pub fn sha256_file(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    use std::io::Read as _;
    let mut file = File::open(path)?;
    let mut hasher = lbom::io::digest::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hasher.finish().to_hex())
}

/// Every file below `dir` (links not followed), by path relative to
/// `dir`, with its SHA-256 in hex; sorted.
pub fn sha256_tree(dir: &Path) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(dir)?
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, sha256_file(&entry.path())?));
            }
        }
    }
    out.sort();
    Ok(out)
}
