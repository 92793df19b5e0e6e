//! A store turned against its host, through the real binary (issue 12,
//! items 2, 3 and 8; docs/store.md, "No link is ever followed",
//! "Structure", "Audit", "Creating a store").
//!
//! - Every path lbom keeps in a store (`lbom::import::paths::STORE_PATHS`,
//!   the one list the code is held to) is replaced in turn by a symbolic
//!   link to an outside canary (a writable copy of what was there), by the
//!   wrong type (a file where a folder is kept, a folder where a file is),
//!   by a FIFO and by a dangling link; then `log`, `verify --store`,
//!   `audit`, `import` (with its recovery), `rollback` and `prune` run on it. The
//!   canary must be untouched, the planted entry never followed, and each
//!   command must give the documented outcome: exit 4 naming the path for
//!   the store's skeleton, removal of the entry for what interrupted
//!   writers leave, exit 4 from whoever reads a version's content.
//! - Every audit problem code has a generator of the damage it names; the
//!   test cannot compile when a code is added without one.
//! - Several imports creating one new store at once: each exits 0 or 10
//!   with the lock message, and the store is whole.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{Run, TestResult, fail, field, repo, run_bounded};
use lbom::import::ProblemKind;
use lbom::import::paths::{self, EntryKind, PathRole, STORE_PATHS, StorePath};
use sha2::{Digest as _, Sha256};

/// Errors that can cross threads.
type Res<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A hang guard, not a benchmark.
const LIMIT: Duration = Duration::from_secs(60);

/// Worker threads of the matrix (each case is mostly waiting on fsync).
const WORKERS: usize = 4;

/// The channel every bundle is on.
const CHANNEL: &str = "stable";

/// `lbom ARGS` run in `dir`, with the real clock and no colour.
fn lbom_in<I, S>(dir: &Path, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbom"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("RUST_BACKTRACE");
    cmd
}

fn run(cmd: &mut Command) -> Res<Run> {
    run_bounded(cmd, LIMIT).map_err(err)
}

fn ok(run: &Run, what: &str) -> Res<()> {
    if run.code() == Some(0) {
        Ok(())
    } else {
        Err(format!(
            "{what} exited {:?}: {}",
            run.code(),
            run.stderr.trim()
        ))
    }
}

/// Three bundles of channel `stable` (each naming the one before), a
/// policy trusting the demo keys, and a pristine store holding versions 1
/// and 2 (with receipts), what an interrupted import leaves in `.staging`
/// and a stray `current.tmp`.
struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    pristine: PathBuf,
    bundles: Vec<PathBuf>,
    policy: PathBuf,
}

impl World {
    fn bundle(&self, n: usize) -> Res<&Path> {
        self.bundles
            .get(n.saturating_sub(1))
            .map(PathBuf::as_path)
            .ok_or_else(|| format!("no bundle {n}"))
    }

    fn key(name: &str) -> PathBuf {
        repo().join("keys").join(name)
    }

    fn import_args<'a>(&'a self, n: usize, store: &'a Path) -> Res<Vec<&'a OsStr>> {
        Ok(vec![
            "import".as_ref(),
            self.bundle(n)?.as_os_str(),
            "--into".as_ref(),
            store.as_os_str(),
            "--create".as_ref(),
            "--policy".as_ref(),
            self.policy.as_os_str(),
        ])
    }
}

fn write(path: &Path, bytes: &[u8]) -> Res<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(path, bytes).map_err(err)
}

fn build_world() -> Res<World> {
    let dir = tempfile::tempdir().map_err(err)?;
    let root = dir.path().to_path_buf();
    // A nested artifact, so `files/` and `bundle/sboms/` hold sub-folders;
    // version 2 keeps two files of version 1 (shared by hard link) and
    // version 3 keeps every file of version 2 (so its import reads them).
    let contents: [&[(&str, &[u8])]; 3] = [
        &[
            ("config.json", b"{\"a\":1}"),
            ("notes.txt", b"notes\n"),
            ("sub/data.txt", b"one\n"),
        ],
        &[
            ("config.json", b"{\"a\":1}"),
            ("notes.txt", b"notes\n"),
            ("sub/data.txt", b"two\n"),
        ],
        &[
            ("config.json", b"{\"a\":1}"),
            ("notes.txt", b"notes\n"),
            ("sub/data.txt", b"two\n"),
            ("extra.txt", b"three\n"),
        ],
    ];
    let mut bundles: Vec<PathBuf> = Vec::new();
    for (i, files) in contents.iter().enumerate() {
        let input = root.join(format!("in{}", i + 1));
        for (rel, bytes) in files.iter() {
            write(&input.join(rel), bytes)?;
        }
        let out = root.join(format!("v{}.lbom", i + 1));
        let mut args: Vec<&OsStr> = vec![
            "pack".as_ref(),
            input.as_os_str(),
            "--name".as_ref(),
            "hostile".as_ref(),
            "--channel".as_ref(),
            CHANNEL.as_ref(),
            "--output".as_ref(),
            out.as_os_str(),
            "--quiet".as_ref(),
        ];
        let maintainer = World::key("demo-maintainer.key");
        args.extend([OsStr::new("--key"), maintainer.as_os_str()]);
        args.extend([OsStr::new("--role"), OsStr::new("maintainer")]);
        if let Some(previous) = bundles.last() {
            args.extend([OsStr::new("--previous"), previous.as_os_str()]);
        }
        ok(&run(&mut lbom_in(&root, &args))?, "pack")?;
        let transfer = World::key("demo-transfer.key");
        ok(
            &run(&mut lbom_in(
                &root,
                [
                    "sign".as_ref(),
                    out.as_os_str(),
                    "--key".as_ref(),
                    transfer.as_os_str(),
                    "--role".as_ref(),
                    OsStr::new("transfer"),
                ],
            ))?,
            "sign",
        )?;
        bundles.push(out);
    }
    let policy = root.join("station.toml");
    let public = |name: &str| World::key(name).display().to_string();
    write(
        &policy,
        format!(
            r#"version = 1

[[keys]]
name = "maintainer"
public_key = "{}"
roles = ["maintainer"]

[[keys]]
name = "transfer"
public_key = "{}"
roles = ["transfer"]

[signatures]
required_roles = ["maintainer", "transfer"]

[content]
allowed_formats = ["gguf", "safetensors", "json", "text", "tiktoken", "sentencepiece", "code", "unknown"]
"#,
            public("demo-maintainer.pub"),
            public("demo-transfer.pub")
        )
        .as_bytes(),
    )?;
    let world = World {
        pristine: root.join("pristine"),
        _dir: dir,
        root,
        bundles,
        policy,
    };
    let station = World::key("demo-transfer.key");
    for n in [1, 2] {
        let mut args = world.import_args(n, &world.pristine)?;
        args.extend([OsStr::new("--key"), station.as_os_str()]);
        ok(&run(&mut lbom_in(&world.root, &args))?, "import")?;
    }
    // What an interrupted import and an interrupted switch leave.
    let staged = world
        .pristine
        .join(".staging/import-0123456789abcdef01234567");
    write(&staged.join("files/sub/half.txt"), b"half")?;
    std::fs::create_dir_all(staged.join("bundle")).map_err(err)?;
    symlink("2", world.pristine.join(CHANNEL).join("current.tmp")).map_err(err)?;
    let audit = run(&mut lbom_in(
        &world.root,
        [
            "audit".as_ref(),
            world.pristine.as_os_str(),
            "--all".as_ref(),
        ],
    ))?;
    ok(&audit, "audit of the pristine store")?;
    Ok(world)
}

fn world() -> Res<&'static World> {
    static WORLD: OnceLock<Res<World>> = OnceLock::new();
    WORLD
        .get_or_init(build_world)
        .as_ref()
        .map_err(Clone::clone)
}

// ---------------------------------------------------------------------------
// Sandboxes: a copy of the pristine store and a canary beside it.

/// `cp -a FROM TO`.
fn copy_tree(from: &Path, to: &Path) -> Res<()> {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .map_err(err)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cp -a {} {} failed", from.display(), to.display()))
    }
}

/// `chmod -R u+w PATH` (never through a link: chmod -R does not follow
/// links below the top, and the top is a real entry here).
fn make_writable(path: &Path) -> Res<()> {
    let status = Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(path)
        .status()
        .map_err(err)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("chmod -R u+w {} failed", path.display()))
    }
}

/// One file-system object as listed: kind, mode, size, content digest or
/// link target.
type Listing = BTreeMap<PathBuf, (String, u32, u64, String)>;

/// A recursive listing of `root`; links are listed, never followed.
fn listing(root: &Path) -> Res<Listing> {
    let mut out = Listing::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).map_err(err)? {
            let path = entry.map_err(err)?.path();
            let meta = std::fs::symlink_metadata(&path).map_err(err)?;
            let ft = meta.file_type();
            let (kind, content) = if ft.is_symlink() {
                (
                    "link",
                    std::fs::read_link(&path)
                        .map_err(err)?
                        .display()
                        .to_string(),
                )
            } else if ft.is_dir() {
                todo.push(path.clone());
                ("dir", String::new())
            } else if ft.is_file() {
                let bytes = std::fs::read(&path).map_err(err)?;
                ("file", hex::encode(Sha256::digest(bytes)))
            } else {
                ("other", String::new())
            };
            let rel = path.strip_prefix(root).map_err(err)?.to_path_buf();
            out.insert(
                rel,
                (
                    kind.to_owned(),
                    meta.permissions().mode() & 0o7777,
                    if ft.is_file() { meta.len() } else { 0 },
                    content,
                ),
            );
        }
    }
    Ok(out)
}

/// How a store path is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// A symbolic link to a writable copy of what was there, outside the
    /// store (for `current`: to an outside folder).
    LinkOut,
    /// A file where a folder or link is kept, a folder where a file is.
    WrongType,
    /// A FIFO (opening it for reading would hang a careless reader).
    Fifo,
    /// A link to nothing.
    Dangling,
}

const ATTACKS: [Attack; 4] = [
    Attack::LinkOut,
    Attack::WrongType,
    Attack::Fifo,
    Attack::Dangling,
];

/// What the planted entry is, as `symlink_metadata` says.
fn planted_kind(attack: Attack, kind: EntryKind) -> &'static str {
    match (attack, kind) {
        (Attack::LinkOut | Attack::Dangling, _) => "link",
        (Attack::Fifo, _) => "fifo",
        (Attack::WrongType, EntryKind::File) => "dir",
        (Attack::WrongType, EntryKind::Folder | EntryKind::Link) => "file",
    }
}

fn kind_of(path: &Path) -> Res<Option<&'static str>> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(e)),
        Ok(m) => {
            let ft = m.file_type();
            Ok(Some(if ft.is_symlink() {
                "link"
            } else if ft.is_dir() {
                "dir"
            } else if ft.is_fifo() {
                "fifo"
            } else if ft.is_file() {
                "file"
            } else {
                "other"
            }))
        }
    }
}

fn mkfifo(path: &Path) -> Res<()> {
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        path,
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .map_err(err)
}

/// Replace `store/rel` (kept as `kind`) by `attack`; what was there is
/// copied, writable, into `canary` (the link's target for `LinkOut`). The
/// parent folder's mode is restored, so the replacement is the only
/// change.
fn plant(store: &Path, rel: &str, kind: EntryKind, attack: Attack, canary: &Path) -> Res<()> {
    let path = store.join(rel);
    let parent = path.parent().ok_or("no parent")?;
    let parent_mode = std::fs::metadata(parent).map_err(err)?.permissions().mode();
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).map_err(err)?;
    let copy = canary.join("forged");
    match kind {
        EntryKind::Link => std::fs::create_dir_all(&copy).map_err(err)?,
        _ => {
            copy_tree(&path, &copy)?;
            make_writable(&copy)?;
        }
    }
    if kind_of(&path)? == Some("dir") {
        make_writable(&path)?;
        std::fs::remove_dir_all(&path).map_err(err)?;
    } else {
        std::fs::remove_file(&path).map_err(err)?;
    }
    match (attack, kind) {
        (Attack::LinkOut, _) => symlink(&copy, &path).map_err(err)?,
        (Attack::Dangling, _) => symlink("no-such-entry", &path).map_err(err)?,
        (Attack::Fifo, _) => mkfifo(&path)?,
        (Attack::WrongType, EntryKind::File) => {
            std::fs::create_dir(&path).map_err(err)?;
            std::fs::write(path.join("inside"), b"a folder where a file is kept").map_err(err)?;
        }
        (Attack::WrongType, EntryKind::Folder | EntryKind::Link) => {
            std::fs::write(&path, b"2").map_err(err)?;
        }
    }
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(parent_mode)).map_err(err)
}

// ---------------------------------------------------------------------------
// The matrix: every listed path × every attack × every command.

/// One concrete path of the pristine store to attack, and what it is.
#[derive(Debug, Clone)]
struct Target {
    rel: String,
    path: &'static StorePath,
}

/// Every entry of `root` (relative, with its kind), links not followed.
fn entries(root: &Path) -> Res<Vec<(String, EntryKind)>> {
    let mut out = Vec::new();
    for (rel, (kind, ..)) in listing(root)? {
        let rel = rel.to_str().ok_or("non-UTF-8 path")?.to_owned();
        let kind = match kind.as_str() {
            "dir" => EntryKind::Folder,
            "link" => EntryKind::Link,
            "file" => EntryKind::File,
            other => return Err(format!("{rel}: lbom made {other}")),
        };
        out.push((rel, kind));
    }
    Ok(out)
}

/// Paths only a store being created holds (attacked by
/// `creation_never_follows_what_a_crashed_creator_left`).
const CREATION_ONLY: &[&str] = &[".lbom-store.tmp"];

/// One concrete path per listed path (two for a version's content: in the
/// current version 2 and in the kept version 1, which different commands
/// read). Every entry of the pristine store must be listed, and every
/// listed path but the creation-only ones must be found.
fn targets(pristine: &Path) -> Res<Vec<Target>> {
    let mut by_pattern: BTreeMap<&'static str, Vec<Target>> = BTreeMap::new();
    for (rel, kind) in entries(pristine)? {
        let path = paths::classify(&rel, kind)
            .ok_or_else(|| format!("{rel} ({kind:?}) is in the store but not in STORE_PATHS"))?;
        by_pattern
            .entry(path.pattern)
            .or_default()
            .push(Target { rel, path });
    }
    let mut out = Vec::new();
    for sp in STORE_PATHS {
        if CREATION_ONLY.contains(&sp.pattern) {
            continue;
        }
        let found: Vec<&Target> = by_pattern
            .get(sp.pattern)
            .map(|v| v.iter().filter(|t| t.path.kind == sp.kind).collect())
            .unwrap_or_default();
        let pick = |prefix: &str| {
            found
                .iter()
                .filter(|t| t.rel.starts_with(prefix))
                .min_by_key(|t| t.rel.len())
                .map(|t| (*t).clone())
        };
        let picked: Vec<Target> = if sp.pattern.contains("<seq>") {
            let current = pick(&format!("{CHANNEL}/2/")).or_else(|| pick(&format!("{CHANNEL}/2")));
            let kept = (sp.role == PathRole::Content)
                .then(|| pick(&format!("{CHANNEL}/1/")))
                .flatten();
            current.into_iter().chain(kept).collect()
        } else {
            pick("").into_iter().collect()
        };
        if picked.is_empty() {
            return Err(format!(
                "{} ({:?}) is listed but the pristine store holds none",
                sp.pattern, sp.kind
            ));
        }
        out.extend(picked);
    }
    Ok(out)
}

/// The commands run on every attacked store, readers first (so that a
/// writer's repair cannot hide what a reader did), then import (which
/// recovers first), then rollback, then prune (which removes whichever
/// versions are neither current nor the newest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    Log,
    Verify,
    Audit,
    Import,
    Rollback,
    Prune,
}

const CMDS: [Cmd; 6] = [
    Cmd::Log,
    Cmd::Verify,
    Cmd::Audit,
    Cmd::Import,
    Cmd::Rollback,
    Cmd::Prune,
];

/// What a command must do with one attacked path (docs/store.md, "No
/// link is ever followed", table of outcomes).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Exit 0; a scratch entry a writer met is gone afterwards.
    Passes,
    /// Exit 4, `lbom: STORE/PATH: store is damaged: …` naming the path
    /// (for rollback, the version folder, the path in the reason).
    Refused,
    /// `audit`: exit 4, the path named with this code.
    Audited(&'static str),
}

fn audit_code(attack: Attack, kind: EntryKind) -> &'static str {
    match (kind, attack) {
        (EntryKind::File, _) => ProblemKind::NotAFile.code(),
        (EntryKind::Folder, _) => ProblemKind::NotAFolder.code(),
        (EntryKind::Link, Attack::LinkOut | Attack::Dangling) => ProblemKind::Current.code(),
        (EntryKind::Link, _) => ProblemKind::NotALink.code(),
    }
}

fn expected(t: &Target, attack: Attack, cmd: Cmd) -> Outcome {
    let in_current = t.rel.starts_with(&format!("{CHANNEL}/2/"));
    let in_kept = t.rel.starts_with(&format!("{CHANNEL}/1/"));
    match (t.path.role, cmd) {
        (PathRole::Scratch, _) => Outcome::Passes,
        // The marker is read before anything else: not a store lbom can
        // audit, refused like every other command.
        (PathRole::Structure, Cmd::Audit) if t.rel == paths::MARKER => Outcome::Refused,
        (PathRole::Structure | PathRole::Content, Cmd::Audit) => {
            Outcome::Audited(audit_code(attack, t.path.kind))
        }
        (PathRole::Structure, _) => Outcome::Refused,
        // Import re-hashes the current version's artifacts it shares (the
        // new bundle keeps every one of them).
        (PathRole::Content, Cmd::Import)
            if in_current && t.rel.starts_with(&format!("{CHANNEL}/2/files/")) =>
        {
            Outcome::Refused
        }
        // Rollback re-hashes its whole target version first.
        (PathRole::Content, Cmd::Rollback) if in_kept => Outcome::Refused,
        (PathRole::Content, _) => Outcome::Passes,
    }
}

fn args_of<'a>(w: &'a World, cmd: Cmd, store: &'a Path) -> Res<Vec<&'a OsStr>> {
    Ok(match cmd {
        Cmd::Log => vec![
            "log".as_ref(),
            store.as_os_str(),
            "--channel".as_ref(),
            CHANNEL.as_ref(),
        ],
        Cmd::Verify => vec![
            "verify".as_ref(),
            w.bundle(3)?.as_os_str(),
            "--policy".as_ref(),
            w.policy.as_os_str(),
            "--store".as_ref(),
            store.as_os_str(),
        ],
        Cmd::Audit => vec![
            "audit".as_ref(),
            store.as_os_str(),
            "--all".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        Cmd::Import => w.import_args(3, store)?,
        Cmd::Rollback => vec![
            "rollback".as_ref(),
            store.as_os_str(),
            "--channel".as_ref(),
            CHANNEL.as_ref(),
            "--to".as_ref(),
            "1".as_ref(),
        ],
        Cmd::Prune => vec![
            "prune".as_ref(),
            store.as_os_str(),
            "--channel".as_ref(),
            CHANNEL.as_ref(),
            "--keep".as_ref(),
            "1".as_ref(),
        ],
    })
}

/// Every problem of an audit report, as (code, path).
fn audit_problems(run: &Run) -> Res<BTreeSet<(String, String)>> {
    let json = run.json().map_err(err)?;
    let mut out = BTreeSet::new();
    let mut lists = vec![field(&json, "problems")];
    for c in field(&json, "channels").as_array().into_iter().flatten() {
        lists.push(field(c, "problems"));
        for v in field(c, "versions").as_array().into_iter().flatten() {
            lists.push(field(v, "problems"));
        }
    }
    for p in lists.into_iter().filter_map(|l| l.as_array()).flatten() {
        let text = |k: &str| field(p, k).as_str().unwrap_or_default().to_owned();
        out.insert((text("kind"), text("path")));
    }
    Ok(out)
}

/// Judge one command's run; Err says what differs from the documented
/// outcome.
fn judge(run: &Run, want: &Outcome, store: &Path, rel: &str) -> Res<()> {
    let stderr = run.stderr.trim();
    match want {
        Outcome::Passes => {
            if run.code() != Some(0) {
                return Err(format!("exit {:?}, expected 0: {stderr}", run.code()));
            }
        }
        Outcome::Refused => {
            let named = format!("{}: store is damaged: ", store.join(rel).display());
            let version_named = stderr.contains("store is damaged: ") && stderr.contains(rel);
            if run.code() != Some(4) || !(stderr.contains(&named) || version_named) {
                return Err(format!(
                    "exit {:?}, expected 4 with {named:?}: {stderr}",
                    run.code()
                ));
            }
            if !stderr
                .lines()
                .any(|l| l.starts_with("hint: run `lbom audit"))
            {
                return Err(format!("no audit hint: {stderr}"));
            }
        }
        Outcome::Audited(code) => {
            let problems = audit_problems(run)?;
            if run.code() != Some(4) || !problems.contains(&((*code).to_owned(), rel.to_owned())) {
                return Err(format!(
                    "exit {:?}, expected 4 naming {code} {rel}; problems {problems:?}; stderr {stderr}",
                    run.code()
                ));
            }
        }
    }
    Ok(())
}

/// One attacked store: plant, run every command, check the canary and the
/// planted entry after each.
fn attack_case(w: &World, case_dir: &Path, t: &Target, attack: Attack) -> Res<()> {
    std::fs::create_dir_all(case_dir).map_err(err)?;
    let store = case_dir.join("store");
    let canary = case_dir.join("canary");
    copy_tree(&w.pristine, &store)?;
    std::fs::create_dir_all(&canary).map_err(err)?;
    write(&canary.join("keep.txt"), b"canary: must not change\n")?;
    plant(&store, &t.rel, t.path.kind, attack, &canary)?;
    let canary_before = listing(&canary)?;
    let planted = planted_kind(attack, t.path.kind);
    let path = store.join(&t.rel);
    let mut problems = Vec::new();
    for cmd in CMDS {
        let args = args_of(w, cmd, &store)?;
        let run = run(&mut lbom_in(case_dir, &args))?;
        let want = expected(t, attack, cmd);
        if let Err(e) = judge(&run, &want, &store, &t.rel) {
            problems.push(format!("{cmd:?}: {e}"));
        }
        if listing(&canary)? != canary_before {
            problems.push(format!("{cmd:?} changed the outside canary"));
            break;
        }
        let now = kind_of(&path)?;
        let writer = matches!(cmd, Cmd::Import | Cmd::Rollback | Cmd::Prune);
        let removed_scratch = t.path.role == PathRole::Scratch && writer && run.code() == Some(0);
        // Prune removes a whole version, the planted entry with it (as the
        // entry it is: the canary above says nothing was followed).
        let pruned_with_its_version = cmd == Cmd::Prune
            && t.path.role == PathRole::Content
            && now.is_none()
            && version_folder(&store, &t.rel).is_some_and(|v| !v.exists());
        if removed_scratch {
            if now.is_some() {
                problems.push(format!("{cmd:?} left the scratch entry in place ({now:?})"));
            }
        } else if !pruned_with_its_version
            && now != Some(planted)
            && !(t.path.role == PathRole::Scratch && now.is_none())
        {
            problems.push(format!("{cmd:?}: the planted {planted} is now {now:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The version folder `STORE/<channel>/<seq>` a store path lies in.
fn version_folder(store: &Path, rel: &str) -> Option<PathBuf> {
    let mut parts = rel.split('/');
    let channel = parts.next()?;
    let seq = parts.next().filter(|s| s.parse::<u64>().is_ok())?;
    Some(store.join(channel).join(seq))
}

#[test]
fn no_store_path_is_ever_followed_and_each_damage_has_its_documented_outcome() -> TestResult {
    let w = world()?;
    let targets = targets(&w.pristine)?;
    let cases: Vec<(usize, Target, Attack)> = targets
        .iter()
        .flat_map(|t| ATTACKS.iter().map(move |a| (t.clone(), *a)))
        .enumerate()
        .map(|(i, (t, a))| (i, t, a))
        .collect();
    let sandbox = tempfile::tempdir_in(&w.root)?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((n, t, attack)) = cases.get(i) else {
                        break;
                    };
                    let dir = sandbox.path().join(format!("case-{n}"));
                    let result = attack_case(w, &dir, t, *attack);
                    // Each case's copy is removed once judged (they add up).
                    let _ = make_writable(&dir);
                    let _ = std::fs::remove_dir_all(&dir);
                    if let Err(e) = result
                        && let Ok(mut f) = failures.lock()
                    {
                        f.push(format!("{} ({:?}) {attack:?}: {e}", t.rel, t.path.kind));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().map_err(|_| fail("poisoned"))?;
    eprintln!(
        "{} paths × {} attacks × {} commands",
        targets.len(),
        ATTACKS.len(),
        CMDS.len()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} of {} cases differ from docs/store.md:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        )))
    }
}

/// What a creator that crashed leaves in a folder that is not yet a store
/// (`.lock`, the marker's temporary) or what someone planted there (the
/// marker itself): the temporary is removed as the entry it is and the
/// store created; a wrong `.lock` or marker is refused with exit 4.
#[test]
fn creation_never_follows_what_a_crashed_creator_left() -> TestResult {
    let w = world()?;
    let sandbox = tempfile::tempdir_in(&w.root)?;
    let mut problems = Vec::new();
    for (rel, kind) in [
        (paths::MARKER_TMP, EntryKind::File),
        (paths::LOCK, EntryKind::File),
        (paths::MARKER, EntryKind::File),
    ] {
        let role = STORE_PATHS
            .iter()
            .find(|p| p.pattern == rel && p.kind == kind)
            .map(|p| p.role)
            .ok_or_else(|| fail(format!("{rel} is not listed")))?;
        for attack in ATTACKS {
            let dir = sandbox.path().join(format!("{rel}-{attack:?}"));
            let store = dir.join("store");
            let canary = dir.join("canary");
            std::fs::create_dir_all(&store)?;
            std::fs::create_dir_all(&canary)?;
            write(&canary.join("keep.txt"), b"canary")?;
            // What was there: a file of some bytes, for the copy.
            std::fs::write(
                store.join(rel),
                b"{\"format\":\"lbom-store\",\"version\":1}\n",
            )?;
            plant(&store, rel, kind, attack, &canary)?;
            let before = listing(&canary)?;
            let run = run(&mut lbom_in(&dir, w.import_args(1, &store)?))?;
            let want = if role == PathRole::Scratch {
                Outcome::Passes
            } else {
                Outcome::Refused
            };
            if let Err(e) = judge(&run, &want, &store, rel) {
                problems.push(format!("{rel} {attack:?}: {e}"));
            }
            if listing(&canary)? != before {
                problems.push(format!("{rel} {attack:?}: the canary changed"));
            }
            let now = kind_of(&store.join(rel))?;
            let created = store.join(paths::MARKER).is_file();
            match role {
                PathRole::Scratch if now.is_some() || !created => problems.push(format!(
                    "{rel} {attack:?}: left {now:?}, store created: {created}"
                )),
                PathRole::Scratch => {}
                _ if now != Some(planted_kind(attack, kind)) => {
                    problems.push(format!(
                        "{rel} {attack:?}: the planted entry is now {now:?}"
                    ));
                }
                _ => {}
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(problems.join("\n")))
    }
}

// ---------------------------------------------------------------------------
// Audit: every problem code, each made by its own damage.

/// `chmod MODE PATH` (the path is a real entry of the copy).
fn chmod(path: &Path, mode: u32) -> Res<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)
}

/// Run `edit` on `store/rel` with its folder and itself writable, then put
/// both modes back: the edit is the only change.
fn edit_sealed(store: &Path, rel: &str, edit: impl FnOnce(&Path) -> Res<()>) -> Res<()> {
    let path = store.join(rel);
    let parent = path.parent().ok_or("no parent")?;
    let parent_mode = std::fs::metadata(parent).map_err(err)?.permissions().mode();
    let mode = std::fs::symlink_metadata(&path)
        .map(|m| m.permissions().mode())
        .ok();
    chmod(parent, 0o755)?;
    if let Some(m) = mode {
        chmod(&path, m | 0o200)?;
    }
    edit(&path)?;
    if let (Some(m), Ok(meta)) = (mode, std::fs::symlink_metadata(&path))
        && !meta.file_type().is_symlink()
    {
        chmod(&path, m)?;
    }
    chmod(parent, parent_mode)
}

fn remove_tree(path: &Path) -> Res<()> {
    make_writable(path)?;
    std::fs::remove_dir_all(path).map_err(err)
}

/// Damage `store` so that `audit` must report `kind`; returns the path it
/// must name. The match is exhaustive: a problem code added without a
/// generator here does not compile.
fn damage(kind: ProblemKind, store: &Path, outside: &Path) -> Res<String> {
    let data = format!("{CHANNEL}/2/files/sub/data.txt");
    let rel = match kind {
        ProblemKind::Changed => {
            edit_sealed(store, &data, |p| std::fs::write(p, b"tw0\n").map_err(err))?;
            data
        }
        ProblemKind::SizeChanged => {
            edit_sealed(store, &data, |p| std::fs::write(p, b"two!\n").map_err(err))?;
            data
        }
        ProblemKind::Missing => {
            let rel = format!("{CHANNEL}/2/bundle/sboms/config.json.cdx.json");
            edit_sealed(store, &rel, |p| std::fs::remove_file(p).map_err(err))?;
            rel
        }
        ProblemKind::Extra => {
            write(&store.join("_stray"), b"not lbom's")?;
            "_stray".into()
        }
        ProblemKind::NotAFile => {
            let rel = format!("{CHANNEL}/2/import.json");
            edit_sealed(store, &rel, |p| {
                std::fs::remove_file(p).map_err(err)?;
                std::fs::create_dir(p).map_err(err)
            })?;
            rel
        }
        ProblemKind::NotAFolder => {
            remove_tree(&store.join(paths::STAGING))?;
            symlink(outside, store.join(paths::STAGING)).map_err(err)?;
            paths::STAGING.into()
        }
        ProblemKind::NotALink => {
            let rel = format!("{CHANNEL}/current");
            std::fs::remove_file(store.join(&rel)).map_err(err)?;
            write(&store.join(&rel), b"2")?;
            rel
        }
        ProblemKind::Unreadable => {
            edit_sealed(store, &data, |_| Ok(()))?;
            chmod(&store.join(&data), 0o000)?;
            data
        }
        ProblemKind::Record => {
            let rel = format!("{CHANNEL}/2/import.json");
            edit_sealed(store, &rel, |p| {
                let mut bytes = std::fs::read(p).map_err(err)?;
                bytes.push(b'\n');
                std::fs::write(p, bytes).map_err(err)
            })?;
            rel
        }
        ProblemKind::Manifest => {
            let rel = format!("{CHANNEL}/2/bundle/manifest.json");
            edit_sealed(store, &rel, |p| {
                let mut bytes = std::fs::read(p).map_err(err)?;
                bytes.push(b' ');
                std::fs::write(p, bytes).map_err(err)
            })?;
            rel
        }
        ProblemKind::Current => {
            let rel = format!("{CHANNEL}/current");
            std::fs::remove_file(store.join(&rel)).map_err(err)?;
            symlink("../elsewhere/2", store.join(&rel)).map_err(err)?;
            rel
        }
        ProblemKind::History => {
            let rel = format!("{CHANNEL}/{}", paths::HISTORY);
            let text = std::fs::read_to_string(store.join(&rel)).map_err(err)?;
            let rest: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
            std::fs::write(store.join(&rel), rest).map_err(err)?;
            rel
        }
        ProblemKind::Registry => {
            let path = store.join(paths::REGISTRY);
            let mut text = std::fs::read(&path).map_err(err)?;
            text.extend_from_slice(b"not a channel!\n");
            std::fs::write(path, text).map_err(err)?;
            paths::REGISTRY.into()
        }
        ProblemKind::ChannelMissing => {
            remove_tree(&store.join(CHANNEL))?;
            CHANNEL.into()
        }
        ProblemKind::ChannelUnregistered => {
            write(&store.join("planted/history.jsonl"), b"")?;
            "planted".into()
        }
        ProblemKind::VersionMissing => {
            let rel = format!("{CHANNEL}/1");
            edit_sealed(store, &rel, remove_tree)?;
            rel
        }
        ProblemKind::Mode => {
            let rel = format!("{CHANNEL}/2/facts.json");
            chmod(&store.join(&rel), 0o644)?;
            rel
        }
        ProblemKind::LinkCount => {
            std::fs::hard_link(store.join(&data), outside.join("a-second-name")).map_err(err)?;
            data
        }
    };
    Ok(rel)
}

/// `audit` as a user the modes apply to: root reads a mode-000 file, so
/// as root the audit runs as `nobody` (util-linux `setpriv`).
fn audit_as_user(dir: &Path, store: &Path, format: &str) -> Res<Run> {
    let args: [&OsStr; 5] = [
        "audit".as_ref(),
        store.as_os_str(),
        "--all".as_ref(),
        "--format".as_ref(),
        format.as_ref(),
    ];
    // The owner of a folder this process just made is its effective user.
    let is_root = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(dir).map_err(err)?.uid() == 0
    };
    if !is_root {
        return run(&mut lbom_in(dir, args));
    }
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_lbom"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1");
    run(&mut cmd)
}

#[test]
fn audit_names_every_kind_of_damage_with_its_code_and_exit_4() -> TestResult {
    let w = world()?;
    let sandbox = tempfile::tempdir_in(&w.root)?;
    // `nobody` must reach the copies (the temporary folders are 0700).
    for d in [w.root.as_path(), sandbox.path()] {
        chmod(d, 0o755)?;
    }
    let mut problems = Vec::new();
    for kind in ProblemKind::ALL {
        let dir = sandbox.path().join(kind.code());
        let store = dir.join("store");
        let outside = dir.join("outside");
        std::fs::create_dir_all(&outside)?;
        copy_tree(&w.pristine, &store)?;
        let rel = damage(*kind, &store, &outside)?;
        let user = *kind == ProblemKind::Unreadable;
        let json = if user {
            audit_as_user(&dir, &store, "json")?
        } else {
            run(&mut lbom_in(&dir, args_of(w, Cmd::Audit, &store)?))?
        };
        if let Err(e) = judge(&json, &Outcome::Audited(kind.code()), &store, &rel) {
            problems.push(format!("{}: {e}", kind.code()));
            continue;
        }
        let text = if user {
            audit_as_user(&dir, &store, "text")?
        } else {
            run(&mut lbom_in(
                &dir,
                ["audit".as_ref(), store.as_os_str(), OsStr::new("--all")],
            ))?
        };
        let line = format!("{}: {rel} — ", kind.code());
        if text.code() != Some(4) || !String::from_utf8_lossy(&text.stdout).contains(&line) {
            problems.push(format!(
                "{}: text audit exit {:?} without {line:?}:\n{}",
                kind.code(),
                text.code(),
                String::from_utf8_lossy(&text.stdout)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(problems.join("\n")))
    }
}

// ---------------------------------------------------------------------------
// Concurrent first imports.

/// Importers started at once on one new store.
const CREATORS: usize = 4;
/// Rounds, half into a missing folder and half into an empty one.
const CREATION_ROUNDS: usize = 6;

#[test]
fn concurrent_first_imports_create_one_store_and_losers_exit_10_with_the_lock_message() -> TestResult
{
    let w = world()?;
    let sandbox = tempfile::tempdir_in(&w.root)?;
    let mut problems = Vec::new();
    let mut outcomes: BTreeMap<Option<i32>, usize> = BTreeMap::new();
    for round in 0..CREATION_ROUNDS {
        let dir = sandbox.path().join(format!("round-{round}"));
        let store = dir.join("store");
        std::fs::create_dir_all(&dir)?;
        if round % 2 == 1 {
            std::fs::create_dir(&store)?;
        }
        let runs: Vec<Res<Run>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..CREATORS)
                .map(|_| {
                    s.spawn(|| -> Res<Run> {
                        let args = w.import_args(1, &store)?;
                        run(&mut lbom_in(&dir, args))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("importer thread panicked".into()))
                })
                .collect()
        });
        let mut imported = 0;
        for r in runs {
            let r = r?;
            *outcomes.entry(r.code()).or_default() += 1;
            match r.code() {
                Some(0) => imported += 1,
                Some(10) if r.stderr.contains("store is locked by another lbom process") => {}
                other => problems.push(format!(
                    "round {round}: exit {other:?}, expected 0 or 10 with the lock message: {}",
                    r.stderr.trim()
                )),
            }
        }
        if imported == 0 {
            problems.push(format!("round {round}: no importer succeeded"));
        }
        let audit = run(&mut lbom_in(&dir, args_of(w, Cmd::Audit, &store)?))?;
        if audit.code() != Some(0) {
            problems.push(format!(
                "round {round}: the store does not audit clean: {}",
                String::from_utf8_lossy(&audit.stdout)
            ));
        }
        let log = run(&mut lbom_in(
            &dir,
            [
                "log".as_ref(),
                store.as_os_str(),
                "--channel".as_ref(),
                CHANNEL.as_ref(),
                "--format".as_ref(),
                "json".as_ref(),
            ],
        ))?;
        let lines = log.json().map_err(err)?.as_array().map_or(0, Vec::len);
        if log.code() != Some(0) || lines != 1 {
            problems.push(format!(
                "round {round}: {lines} history line(s), expected 1"
            ));
        }
    }
    eprintln!(
        "exit codes of {} importers: {outcomes:?}",
        CREATORS * CREATION_ROUNDS
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(fail(problems.join("\n")))
    }
}
