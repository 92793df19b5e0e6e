//! Running lbom on the generated worst cases: each command as a child under
//! an address-space cap (util-linux `prlimit`), its peak resident set read
//! from the kernel's accounting of the child (`wait4`'s `ru_maxrss`, as GNU
//! `time` reports it), its exit code checked.

pub mod models;
pub mod sides;
pub mod writer;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::common::{HOSTILE_ADDRESS_SPACE_BYTES, fail, run_bounded};

pub use writer::Res;

/// The target every command must stay under, whatever the bundle
/// (docs/bundle-format.md, "Reader limits"): 128 MiB of resident memory.
pub const TARGET_RSS_KIB: u64 = 128 * 1024;

/// The five commands that read a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Verify,
    Import,
    Inspect,
    Sign,
    Diff,
}

impl Cmd {
    pub const ALL: [Cmd; 5] = [Cmd::Verify, Cmd::Import, Cmd::Inspect, Cmd::Sign, Cmd::Diff];

    pub fn name(self) -> &'static str {
        match self {
            Cmd::Verify => "verify",
            Cmd::Import => "import",
            Cmd::Inspect => "inspect",
            Cmd::Sign => "sign",
            Cmd::Diff => "diff",
        }
    }
}

/// The key, policy and key file every case uses, in the folder the cases
/// are generated into.
pub struct Station {
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub key: writer::Key,
    pub policy: PathBuf,
    pub key_file: PathBuf,
}

impl Station {
    /// A temporary folder, removed at the end; with `LBOM_MEMORY_KEEP` set,
    /// kept (and named on stderr) to rerun a command by hand. In /dev/shm
    /// when there is one: the cases measure memory, and an import of ten
    /// thousand files fsyncs each (minutes on a busy disk, nothing there).
    pub fn new() -> Res<Self> {
        let shm = Path::new("/dev/shm");
        let temp = if shm.is_dir() {
            tempfile::tempdir_in(shm)?
        } else {
            tempfile::tempdir()?
        };
        let (dir, temp) = if std::env::var_os("LBOM_MEMORY_KEEP").is_some() {
            let dir = temp.keep();
            #[allow(
                clippy::print_stderr,
                reason = "where the kept cases are, for the person who asked"
            )]
            {
                eprintln!("memory cases kept in {}", dir.display());
            }
            (dir, None)
        } else {
            (temp.path().to_path_buf(), Some(temp))
        };
        let key = writer::Key::from_seed(7);
        let policy = dir.join("policy.toml");
        writer::policy(&policy, &key)?;
        let key_file = dir.join("maintainer.key");
        std::fs::write(&key_file, key.private_pem()?)?;
        Ok(Self {
            dir,
            _temp: temp,
            key,
            policy,
            key_file,
        })
    }
}

/// What one command did.
#[derive(Debug)]
pub struct Measured {
    pub code: Option<i32>,
    pub rss_kib: u64,
    /// User and system CPU time.
    pub cpu_seconds: f64,
    pub stderr: String,
}

/// Run `cmd` on `bundle` (and `other`, the second side of a diff) as a
/// capped child; `work` holds its store, its copy of the bundle and its
/// accounting.
pub fn run(station: &Station, cmd: Cmd, bundle: &Path, other: &Path, work: &Path) -> Res<Measured> {
    let mut args: Vec<OsString> = vec![cmd.name().into()];
    match cmd {
        Cmd::Verify => {
            args.extend([bundle.into(), "--policy".into(), (&station.policy).into()]);
            args.extend(["--format".into(), "json".into()]);
        }
        Cmd::Import => {
            let store = work.join("store");
            args.extend([
                bundle.into(),
                "--into".into(),
                store.into(),
                "--create".into(),
            ]);
            args.extend(["--policy".into(), (&station.policy).into()]);
            args.extend(["--format".into(), "json".into()]);
        }
        Cmd::Inspect => args.extend([bundle.into(), "--format".into(), "json".into()]),
        Cmd::Sign => {
            // sign appends: to a copy, so the other commands read the original.
            let copy = work.join("signed.lbom");
            std::fs::copy(bundle, &copy)?;
            args.extend([copy.into(), "--key".into(), (&station.key_file).into()]);
            args.extend(["--role".into(), "maintainer".into()]);
        }
        Cmd::Diff => args.extend([bundle.into(), other.into()]),
    }
    let accounting = work.join(format!("{}.rss", cmd.name()));
    let mut child = Command::new("/usr/bin/time");
    child
        .arg("--format=%M %U %S")
        .arg("--output")
        .arg(&accounting)
        .arg("prlimit")
        .arg(format!("--as={HOSTILE_ADDRESS_SPACE_BYTES}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_lbom"))
        .args(&args)
        .current_dir(work)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("RUST_BACKTRACE");
    let done = run_bounded(&mut child, Duration::from_secs(300))?;
    let text = std::fs::read_to_string(&accounting).map_err(|e| {
        fail(format!(
            "{}: no accounting from /usr/bin/time (GNU time is needed): {e}",
            cmd.name()
        ))
    })?;
    // GNU time writes "Command exited with non-zero status N" or
    // "Command terminated by signal N" before the figures.
    let figures: Vec<&str> = text.lines().last().unwrap_or_default().split(' ').collect();
    let (rss_kib, cpu_seconds) = match figures.as_slice() {
        [rss, user, sys] => (
            rss.parse::<u64>().ok(),
            user.parse::<f64>().ok().zip(sys.parse::<f64>().ok()),
        ),
        _ => (None, None),
    };
    let rss_kib = rss_kib.ok_or_else(|| fail(format!("{}: accounting {text:?}", cmd.name())))?;
    Ok(Measured {
        code: done.code(),
        rss_kib,
        cpu_seconds: cpu_seconds.map_or(0.0, |(u, s)| u + s),
        stderr: done.stderr,
    })
}

/// Print `m` as one line of the table and check its exit code and peak
/// RSS; the problems found are added to `problems`.
pub fn judge(case: &str, cmd: Cmd, m: &Measured, want: i32, problems: &mut Vec<String>) -> String {
    let line = format!(
        "{case:<24} {:<8} exit {:>3}  peak RSS {:>6.1} MiB  cpu {:>5.1} s",
        cmd.name(),
        m.code.map_or_else(|| "sig".to_owned(), |c| c.to_string()),
        m.rss_kib as f64 / 1024.0,
        m.cpu_seconds
    );
    #[allow(
        clippy::print_stderr,
        reason = "the measured table, shown with --nocapture (docs/performance.md)"
    )]
    {
        eprintln!("{line}");
    }
    if m.code != Some(want) {
        problems.push(format!(
            "{case} {}: exit {:?}, expected {want}; stderr: {}",
            cmd.name(),
            m.code,
            m.stderr.trim()
        ));
    }
    if m.rss_kib >= TARGET_RSS_KIB {
        problems.push(format!(
            "{case} {}: peak RSS {} KiB, target {TARGET_RSS_KIB} KiB",
            cmd.name(),
            m.rss_kib
        ));
    }
    line
}

/// `Ok` when nothing was found wrong.
pub fn verdict(problems: Vec<String>) -> Res<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(problems.join("\n")))
    }
}

/// Run every command on `bundle` in a fresh folder below `root`, check each
/// exit code against `expect` (in [`Cmd::ALL`] order) and the target, and
/// return a table line per command.
pub fn measure_case(
    station: &Station,
    case: &str,
    bundle: &Path,
    other: &Path,
    expect: [i32; 5],
) -> Res<Vec<String>> {
    let root = tempfile::tempdir_in(&station.dir)?;
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (cmd, want) in Cmd::ALL.into_iter().zip(expect) {
        let work = root.path().join(cmd.name());
        std::fs::create_dir_all(&work)?;
        let m = run(station, cmd, bundle, other, &work)?;
        lines.push(judge(case, cmd, &m, want, &mut problems));
    }
    verdict(problems)?;
    Ok(lines)
}
