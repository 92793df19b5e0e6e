//! Running `lbom verify` / `import` / `audit` against a sandbox and proving
//! that a refused import left everything as it was.
//!
//! A sandbox is one temporary folder holding the store, a canary folder, the
//! case files, the working directory and TMPDIR of the child: a recursive
//! listing of it (type, mode, size, SHA-256, link target) before and after a
//! run shows any byte written anywhere but the store's staging folder.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::Res;

/// `verify BUNDLE --policy POLICY --format json`: the run every verdict test
/// judges.
pub fn verify_json_args<'a>(bundle: &'a Path, policy: &'a Path) -> [&'a OsStr; 6] {
    [
        "verify".as_ref(),
        bundle.as_os_str(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]
}

/// The staging folder inside a store (docs/store.md).
pub const STAGING: &str = ".staging";

/// Address-space cap on hostile input (as `tests/common`'s hostile scans).
pub const ADDRESS_SPACE_BYTES: u64 = 512 << 20;

/// A hang guard, not a benchmark.
pub const TIME_LIMIT: Duration = Duration::from_secs(60);

/// A folder holding everything a run may touch.
pub struct Sandbox {
    /// Keeps the folder alive.
    _dir: tempfile::TempDir,
    /// Its root.
    pub root: PathBuf,
    /// `root/store`.
    pub store: PathBuf,
    /// `root/canary`: files next to the store that nothing may change.
    pub canary: PathBuf,
    /// `root/cases`: the bundles under test.
    pub cases: PathBuf,
    /// `root/work`: the child's working folder.
    pub work: PathBuf,
    /// `root/tmp`: the child's TMPDIR.
    pub tmp: PathBuf,
}

impl Sandbox {
    /// A fresh sandbox (the store folder is created, empty).
    pub fn new() -> Res<Self> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        let s = Self {
            store: root.join("store"),
            canary: root.join("canary"),
            cases: root.join("cases"),
            work: root.join("work"),
            tmp: root.join("tmp"),
            root,
            _dir: dir,
        };
        for d in [&s.store, &s.canary, &s.cases, &s.work, &s.tmp] {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(s.canary.join("keep.txt"), b"canary: must not change\n")?;
        std::fs::create_dir_all(s.canary.join("artifacts"))?;
        std::fs::write(s.canary.join("artifacts/evil"), b"canary 2\n")?;
        Ok(s)
    }

    /// `lbom ARGS` run in `work` with TMPDIR `tmp`, the real clock, no colour.
    pub fn lbom<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbom"));
        cmd.args(args);
        self.environment(&mut cmd);
        cmd
    }

    /// [`Self::lbom`] under a 512 MiB address-space cap (util-linux prlimit).
    pub fn lbom_capped<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--as={ADDRESS_SPACE_BYTES}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_lbom"))
            .args(args);
        self.environment(&mut cmd);
        cmd
    }

    fn environment(&self, cmd: &mut Command) {
        cmd.current_dir(&self.work)
            .env("TMPDIR", &self.tmp)
            .env("NO_COLOR", "1")
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("RUST_BACKTRACE");
    }

    /// Write a case file into `cases`, read-only.
    pub fn case_file(&self, name: &str, bytes: &[u8]) -> Res<PathBuf> {
        let path = self.cases.join(format!("{name}.lbom"));
        std::fs::write(&path, bytes)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444))?;
        Ok(path)
    }

    /// The listing of everything in the sandbox but the store's staging folder.
    pub fn snapshot(&self) -> Res<Listing> {
        listing(&self.root, &[self.store.join(STAGING)])
    }

    /// Err unless the staging folder is absent or empty.
    pub fn staging_is_clean(&self) -> Res<()> {
        let staging = self.store.join(STAGING);
        match std::fs::read_dir(&staging) {
            Ok(mut it) => match it.next() {
                None => Ok(()),
                Some(e) => {
                    Err(format!("{} is not empty: {:?}", staging.display(), e?.path()).into())
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// One file-system object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `file`, `dir`, `symlink` or `other`.
    pub kind: &'static str,
    /// Permission bits (and setuid/setgid/sticky).
    pub mode: u32,
    /// File size.
    pub size: u64,
    /// SHA-256 of a file's bytes, or a symlink's target.
    pub content: String,
}

/// Relative path → item.
pub type Listing = BTreeMap<PathBuf, Item>;

/// A recursive listing of `root`, leaving out `skip` (and what is below it).
/// Symlinks are listed, never followed.
pub fn listing(root: &Path, skip: &[PathBuf]) -> Res<Listing> {
    let mut out = Listing::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if skip.contains(&path) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path)?;
            let ft = meta.file_type();
            let (kind, content) = if ft.is_symlink() {
                ("symlink", std::fs::read_link(&path)?.display().to_string())
            } else if ft.is_dir() {
                todo.push(path.clone());
                ("dir", String::new())
            } else if ft.is_file() {
                ("file", hex::encode(Sha256::digest(std::fs::read(&path)?)))
            } else {
                ("other", String::new())
            };
            let rel = path.strip_prefix(root)?.to_path_buf();
            out.insert(
                rel,
                Item {
                    kind,
                    mode: meta.permissions().mode() & 0o7777,
                    size: if ft.is_file() { meta.len() } else { 0 },
                    content,
                },
            );
        }
    }
    Ok(out)
}

/// What differs between two listings, one line each ("" when equal).
pub fn diff(before: &Listing, after: &Listing) -> String {
    let mut lines = Vec::new();
    for (path, item) in after {
        match before.get(path) {
            None => lines.push(format!("added {} ({})", path.display(), item.kind)),
            Some(old) if old != item => {
                lines.push(format!("changed {}: {old:?} -> {item:?}", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in before.keys() {
        if !after.contains_key(path) {
            lines.push(format!("removed {}", path.display()));
        }
    }
    lines.join("\n")
}

/// The check objects of a `verify --format json` report.
pub fn checks(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report
        .get("checks")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A check's string field.
pub fn text<'a>(check: &'a serde_json::Value, key: &str) -> &'a str {
    check
        .get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

/// The failure class a report names for an exit code (report.rs).
pub fn class_of(code: i32) -> &'static str {
    match code {
        3 => "malformed",
        4 => "integrity",
        5 => "trust",
        6 => "policy",
        7 => "rollback",
        10 => "io",
        _ => "",
    }
}

/// Checks that speak for artifact content: after a failure they must not
/// claim "pass" (the run stops at the first failing stage).
pub const CONTENT_CHECKS: &[&str] = &[
    "entries.digests",
    "sbom.consistent",
    "policy.formats",
    "policy.licences",
    "policy.findings",
];

/// Judge one verify report against the expected code and checks; returns
/// what is wrong ("" when right).
pub fn judge_report(
    report: &serde_json::Value,
    code: i32,
    expected_checks: &[&str],
    demo_keys: bool,
) -> String {
    let list = checks(report);
    if list.is_empty() {
        return "the report has no checks".into();
    }
    let mut problems = Vec::new();
    let first_fail = list.iter().position(|c| text(c, "status") == "fail");
    let failed = first_fail.and_then(|i| list.get(i));
    if code == 0 {
        if let Some(f) = failed {
            problems.push(format!(
                "check {} failed: {}",
                text(f, "name"),
                text(f, "detail")
            ));
        }
        if demo_keys {
            let warned = list
                .iter()
                .any(|c| text(c, "name") == "trust.demo_key" && text(c, "status") == "warn");
            if !warned {
                problems.push("trust.demo_key does not warn although demo keys signed".into());
            }
        }
        return problems.join("; ");
    }
    let (Some(i), Some(failed)) = (first_fail, failed) else {
        return "no check failed".into();
    };
    let name = text(failed, "name");
    // docs/policy.md §9 names one check per failure: a case that allows
    // two would hide a report that disagrees with the table.
    if expected_checks.len() != 1 {
        problems.push(format!(
            "the case names {expected_checks:?}; every refusal has exactly one check"
        ));
    }
    if !expected_checks.contains(&name) {
        problems.push(format!(
            "first failing check is {name} ({}), expected {expected_checks:?}",
            text(failed, "detail")
        ));
    }
    if text(failed, "failure") != class_of(code) {
        problems.push(format!(
            "failing check {name} has class {:?}, expected {:?}",
            text(failed, "failure"),
            class_of(code)
        ));
    }
    for later in list.iter().skip(i + 1) {
        if CONTENT_CHECKS.contains(&text(later, "name")) && text(later, "status") == "pass" {
            problems.push(format!(
                "{} passes after {name} failed",
                text(later, "name")
            ));
        }
    }
    problems.join("; ")
}

/// Time-bounded run (tests/common's `run_bounded`, re-exported for callers
/// that only import this module).
pub fn run(cmd: &mut Command) -> Res<crate::common::Run> {
    crate::common::run_bounded(cmd, TIME_LIMIT)
}
