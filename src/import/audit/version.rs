//! One version audited against its records: the chain history →
//! `import.json` → manifest → every file (re-hashed), every entry walked
//! through folder handles without following a link, the modes lbom sealed
//! (files 0444, folders 0555) and the link counts (docs/store.md, "Audit").

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::sync::Arc;

use rayon::prelude::*;

use super::{Problem, ProblemKind, VersionAudit, problem};
use crate::bundle::{Manifest, ReadLimits, Role, layout};
use crate::import::error::StoreError;
use crate::import::fsutil::{DIR_MODE, FILE_MODE};
use crate::import::handle::{DirHandle, EntryStat, EntryType, MAX_TREE_DEPTH};
use crate::import::layout::Store;
use crate::import::paths::{BUNDLE_DIR, FACTS, FILES_DIR, RECEIPT, RECORD, parse_sequence};
use crate::import::record::ImportRecord;
use crate::io::digest::Sha256Digest;

/// What a version must hold: relative path → (size if known, SHA-256).
type Expected = BTreeMap<String, (Option<u64>, Sha256Digest)>;

/// How many names the store itself holds for each file inode: every file
/// in every version folder of one channel (versions share unchanged files
/// by hard link) and in the staging folder (an import in progress links
/// the files it shares). A committed file with more links than this has a
/// name outside the versions that share it.
#[derive(Debug, Default)]
pub(crate) struct LinkCensus {
    names: HashMap<(u64, u64), u64>,
}

impl LinkCensus {
    /// Count the names of `channel`'s version folders `versions` (in the
    /// opened `channel_dir`) and of the staging folder. Unreadable parts
    /// are skipped (the walk of the version itself names them).
    pub(crate) fn of_channel(
        store: &Store,
        channel_dir: &DirHandle,
        versions: &BTreeSet<u64>,
    ) -> Result<Self, StoreError> {
        let mut census = LinkCensus::default();
        for seq in versions {
            if let Ok(Some(v)) = channel_dir.open_dir(seq.to_string()) {
                census.count_tree(&v, 0);
            }
        }
        if let Ok(Some(staging)) = store.staging() {
            census.count_tree(&staging, 0);
        }
        Ok(census)
    }

    fn count_tree(&mut self, dir: &DirHandle, depth: u32) {
        if depth >= MAX_TREE_DEPTH {
            return;
        }
        let Ok(entries) = dir.entries() else {
            return;
        };
        for name in entries {
            match dir.stat(&name) {
                Ok(Some(s)) if s.kind == EntryType::File => {
                    *self.names.entry((s.dev, s.ino)).or_default() += 1;
                }
                Ok(Some(s)) if s.kind == EntryType::Folder => {
                    if let Ok(Some(child)) = dir.open_dir(&name) {
                        self.count_tree(&child, depth.saturating_add(1));
                    }
                }
                _ => {}
            }
        }
    }

    fn names_of(&self, stat: &EntryStat) -> u64 {
        self.names.get(&(stat.dev, stat.ino)).copied().unwrap_or(0)
    }
}

/// Audit one version against its record, the record against
/// `recorded_record` (the history's digest of it, when known); link counts
/// against the census of its whole channel.
pub(crate) fn audit_version(
    store: &Store,
    channel: &str,
    seq: u64,
    recorded_record: Option<Sha256Digest>,
) -> Result<VersionAudit, StoreError> {
    let census = match store.open_channel(channel)? {
        Some(dir) => LinkCensus::of_channel(store, &dir, &version_folders(&dir)?)?,
        None => LinkCensus::default(),
    };
    audit_version_with(store, channel, seq, recorded_record, &census)
}

/// The version numbers a channel folder holds entries for.
fn version_folders(dir: &DirHandle) -> Result<BTreeSet<u64>, StoreError> {
    Ok(dir
        .entries()?
        .iter()
        .filter_map(|n| n.to_str().and_then(parse_sequence))
        .collect())
}

/// [`audit_version`] with the channel's census already taken.
pub(crate) fn audit_version_with(
    store: &Store,
    channel: &str,
    seq: u64,
    recorded_record: Option<Sha256Digest>,
    census: &LinkCensus,
) -> Result<VersionAudit, StoreError> {
    let mut v = VersionAudit {
        sequence: seq,
        current: false,
        files_checked: 0,
        bytes_checked: 0,
        problems: Vec::new(),
    };
    let prefix = format!("{channel}/{seq}");
    let shown = |rel: &str| format!("{prefix}/{rel}");
    let Some(dir) = open_version_dir(store, channel, seq, &prefix, &mut v.problems) else {
        return Ok(v);
    };
    let dir = Arc::new(dir);
    if let Ok(s) = dir.stat_self() {
        v.problems.extend(mode_problem(&prefix, &s));
    }
    let (record, record_sha256) = match ImportRecord::read(&dir) {
        Ok(r) => r,
        Err(e) => {
            v.problems
                .push(problem(ProblemKind::Record, shown(RECORD), e.to_string()));
            return Ok(v);
        }
    };
    v.problems.extend(record_problems(
        &record,
        &record_sha256,
        recorded_record,
        (channel, seq),
        &shown(RECORD),
    ));
    let manifest_rel = format!("{BUNDLE_DIR}/{}", layout::MANIFEST);
    let Some(manifest) = read_manifest(&dir, &manifest_rel, &record, &mut v, &shown) else {
        return Ok(v);
    };
    let mut walker = Walker {
        expected: expected_files(&manifest, &record),
        not_hashed: BTreeSet::from([RECORD.to_owned(), manifest_rel]),
        seen: BTreeSet::new(),
        to_hash: Vec::new(),
        files: Vec::new(),
        problems: Vec::new(),
        prefix: &prefix,
    };
    walker.walk(&dir, "", 0);
    let Walker {
        expected,
        seen,
        to_hash,
        files,
        mut problems,
        ..
    } = walker;
    for rel in expected.keys().filter(|rel| !seen.contains(*rel)) {
        problems.push(problem(
            ProblemKind::Missing,
            shown(rel),
            "recorded at import, gone now",
        ));
    }
    let results: Vec<(u64, Option<Problem>)> = to_hash
        .par_iter()
        .filter_map(|(parent, name, rel)| Some((parent, name, rel, expected.get(rel)?)))
        .map(|(parent, name, rel, want)| check_file(parent, name, want, &shown(rel)))
        .collect();
    for (bytes, p) in results {
        v.files_checked = v.files_checked.saturating_add(1);
        v.bytes_checked = v.bytes_checked.saturating_add(bytes);
        problems.extend(p);
    }
    problems.extend(link_count_problems(store, channel, census, &files, &shown)?);
    v.problems.extend(problems);
    v.problems.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(v)
}

/// The version folder, or the problem that it cannot be opened as one.
fn open_version_dir(
    store: &Store,
    channel: &str,
    seq: u64,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<DirHandle> {
    let found = match store.open_version(channel, seq) {
        Ok(Some(d)) => return Some(d),
        Ok(None) => problem(
            ProblemKind::VersionMissing,
            prefix,
            "the version folder is gone",
        ),
        Err(StoreError::Damaged { reason, .. }) => problem(ProblemKind::NotAFolder, prefix, reason),
        Err(e) => problem(ProblemKind::Unreadable, prefix, e.to_string()),
    };
    problems.push(found);
    None
}

/// Whether the import record is the one the history recorded, and names
/// this version (`at`: its channel and sequence; `shown`: its path).
fn record_problems(
    record: &ImportRecord,
    record_sha256: &Sha256Digest,
    recorded_record: Option<Sha256Digest>,
    at: (&str, u64),
    shown: &str,
) -> Vec<Problem> {
    let (channel, seq) = at;
    let mut problems = Vec::new();
    if let Some(want) = recorded_record
        && want != *record_sha256
    {
        problems.push(problem(
            ProblemKind::Record,
            shown.to_owned(),
            format!("sha256 {record_sha256}, the history records {want}"),
        ));
    }
    if record.channel != channel || record.sequence != seq {
        problems.push(problem(
            ProblemKind::Record,
            shown.to_owned(),
            format!(
                "records {} #{}, not this version",
                crate::safe::visible(&record.channel),
                record.sequence
            ),
        ));
    }
    problems
}

/// Files with more links than the census counts. A count can rise for a
/// moment while an import stages a shared file, so a file found over is
/// checked once more against a fresh census before it is named.
fn link_count_problems(
    store: &Store,
    channel: &str,
    census: &LinkCensus,
    files: &[SeenFile],
    shown: &dyn Fn(&str) -> String,
) -> Result<Vec<Problem>, StoreError> {
    let over: Vec<&SeenFile> = files
        .iter()
        .filter(|f| f.stat.nlink > census.names_of(&f.stat))
        .collect();
    if over.is_empty() {
        return Ok(Vec::new());
    }
    let fresh = match store.open_channel(channel)? {
        Some(dir) => LinkCensus::of_channel(store, &dir, &version_folders(&dir)?)?,
        None => LinkCensus::default(),
    };
    let mut out = Vec::new();
    for f in over {
        let Ok(Some(now)) = f.parent.stat(&f.name) else {
            continue;
        };
        let names = fresh.names_of(&now);
        if now.same_object(&f.stat) && now.nlink > names {
            out.push(problem(
                ProblemKind::LinkCount,
                shown(&f.rel),
                format!(
                    "has {} hard links, but the store holds {names} name(s) for it: a name outside the versions that share it can change it",
                    now.nlink
                ),
            ));
        }
    }
    Ok(out)
}

/// The mode problem of a committed entry, if any.
fn mode_problem(rel: &str, stat: &EntryStat) -> Option<Problem> {
    let (want, what) = match stat.kind {
        EntryType::File => (FILE_MODE, "files"),
        EntryType::Folder => (DIR_MODE, "folders"),
        _ => return None,
    };
    (stat.mode != want).then(|| {
        problem(
            ProblemKind::Mode,
            rel,
            format!(
                "mode {:04o}, but lbom seals committed {what} {want:04o}",
                stat.mode
            ),
        )
    })
}

fn read_manifest(
    dir: &DirHandle,
    rel: &str,
    record: &ImportRecord,
    v: &mut VersionAudit,
    shown: &dyn Fn(&str) -> String,
) -> Option<Manifest> {
    let read = dir.open_dir(BUNDLE_DIR).and_then(|b| match b {
        Some(b) => b.read_file(layout::MANIFEST, ReadLimits::default().max_manifest_bytes),
        None => Ok(None),
    });
    let bytes = match read {
        Ok(Some(b)) => b,
        Ok(None) => {
            v.problems.push(problem(
                ProblemKind::Missing,
                shown(rel),
                "recorded at import, gone now",
            ));
            return None;
        }
        Err(e) => {
            v.problems
                .push(problem(ProblemKind::Manifest, shown(rel), e.to_string()));
            return None;
        }
    };
    v.files_checked = v.files_checked.saturating_add(1);
    v.bytes_checked = v.bytes_checked.saturating_add(bytes.len() as u64);
    let digest = Sha256Digest::of(&bytes);
    if digest != record.manifest_sha256 {
        v.problems.push(problem(
            ProblemKind::Manifest,
            shown(rel),
            format!("sha256 {digest}, recorded {}", record.manifest_sha256),
        ));
        return None;
    }
    match serde_json::from_slice::<Manifest>(&bytes) {
        Ok(m) => Some(m),
        Err(e) => {
            v.problems.push(problem(
                ProblemKind::Manifest,
                shown(rel),
                format!("does not parse: {e}"),
            ));
            None
        }
    }
}

fn expected_files(manifest: &Manifest, record: &ImportRecord) -> Expected {
    let mut out = Expected::new();
    for e in &manifest.entries {
        let rel = match e.role {
            Role::Artifact => match e.artifact_path() {
                Some(p) => format!("{FILES_DIR}/{}", p.as_str()),
                None => continue,
            },
            Role::Sbom | Role::Attestation => format!("{BUNDLE_DIR}/{}", e.path.as_str()),
        };
        out.insert(rel, (Some(e.size), e.sha256));
    }
    for f in &record.unlisted {
        out.insert(f.path.clone(), (Some(f.size), f.sha256));
    }
    if let Some(d) = record.receipt_sha256 {
        out.insert(RECEIPT.to_owned(), (None, d));
    }
    if let Some(d) = record.facts_sha256 {
        out.insert(FACTS.to_owned(), (None, d));
    }
    out
}

/// A regular file found where one is recorded, with the stat the walk saw.
struct SeenFile {
    parent: Arc<DirHandle>,
    name: OsString,
    rel: String,
    stat: EntryStat,
}

/// The walk of one version folder.
struct Walker<'a> {
    /// Files re-hashed against the records.
    expected: Expected,
    /// Files checked already (the record, the manifest): typed and counted,
    /// not re-hashed.
    not_hashed: BTreeSet<String>,
    /// Expected paths found (as files, or named as something else).
    seen: BTreeSet<String>,
    to_hash: Vec<(Arc<DirHandle>, OsString, String)>,
    files: Vec<SeenFile>,
    problems: Vec<Problem>,
    prefix: &'a str,
}

impl Walker<'_> {
    fn shown(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.prefix.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    fn is_recorded(&self, rel: &str) -> bool {
        self.expected.contains_key(rel) || self.not_hashed.contains(rel)
    }

    /// Whether a recorded file lies below `dir`.
    fn holds_recorded(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        let below =
            |keys: &mut dyn Iterator<Item = &String>| keys.take(1).any(|k| k.starts_with(&prefix));
        below(&mut self.expected.range(prefix.clone()..).map(|(k, _)| k))
            || below(&mut self.not_hashed.range(prefix.clone()..))
    }

    /// Walk `dir` (at `rel` in the version) without following a link:
    /// recorded regular files go to `to_hash`, everything else is named.
    fn walk(&mut self, dir: &Arc<DirHandle>, rel: &str, depth: u32) {
        let entries = match dir.entries() {
            Ok(e) => e,
            Err(e) => {
                let shown = self.shown(rel);
                self.problems
                    .push(problem(ProblemKind::Unreadable, shown, e.to_string()));
                return;
            }
        };
        for name in entries {
            let lossy = name.to_string_lossy();
            let child = if rel.is_empty() {
                lossy.into_owned()
            } else {
                format!("{rel}/{lossy}")
            };
            let stat = match dir.stat(&name) {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    let shown = self.shown(&child);
                    self.problems
                        .push(problem(ProblemKind::Unreadable, shown, e.to_string()));
                    continue;
                }
            };
            let recorded = self.is_recorded(&child);
            let shown = self.shown(&child);
            if stat.kind == EntryType::File && recorded {
                self.seen.insert(child.clone());
                self.problems.extend(mode_problem(&shown, &stat));
                self.files.push(SeenFile {
                    parent: Arc::clone(dir),
                    name: name.clone(),
                    rel: child.clone(),
                    stat,
                });
                if !self.not_hashed.contains(&child) {
                    self.to_hash.push((Arc::clone(dir), name, child));
                }
            } else if stat.kind == EntryType::Folder && !recorded && self.holds_recorded(&child) {
                if depth >= MAX_TREE_DEPTH {
                    self.problems.push(problem(
                        ProblemKind::Extra,
                        shown,
                        format!("folders nested more than {MAX_TREE_DEPTH} deep"),
                    ));
                    continue;
                }
                self.problems.extend(mode_problem(&shown, &stat));
                match dir.open_dir(&name) {
                    Ok(Some(sub)) => self.walk(&Arc::new(sub), &child, depth.saturating_add(1)),
                    Ok(None) => {}
                    Err(e) => {
                        self.problems
                            .push(problem(ProblemKind::NotAFolder, shown, e.to_string()))
                    }
                }
            } else if recorded {
                self.seen.insert(child);
                self.problems.push(problem(
                    ProblemKind::NotAFile,
                    shown,
                    format!("recorded as a file, found {}", stat.kind.described()),
                ));
            } else if self.holds_recorded(&child) {
                self.problems.push(problem(
                    ProblemKind::NotAFolder,
                    shown,
                    format!(
                        "{} where lbom keeps a folder of recorded files",
                        stat.kind.described()
                    ),
                ));
            } else {
                self.problems.push(problem(
                    ProblemKind::Extra,
                    shown,
                    format!("{} that no record lists", stat.kind.described()),
                ));
            }
        }
    }
}

/// Re-hash one file: (bytes hashed, the problem if any).
fn check_file(
    parent: &DirHandle,
    name: &OsString,
    (size, sha256): &(Option<u64>, Sha256Digest),
    shown: &str,
) -> (u64, Option<Problem>) {
    let (file, stat) = match parent.open_file(name) {
        Ok(Some(f)) => f,
        Ok(None) => {
            return (
                0,
                Some(problem(
                    ProblemKind::Missing,
                    shown,
                    "vanished while audited",
                )),
            );
        }
        Err(StoreError::Damaged { reason, .. }) => {
            return (0, Some(problem(ProblemKind::NotAFile, shown, reason)));
        }
        Err(e) => {
            return (
                0,
                Some(problem(ProblemKind::Unreadable, shown, e.to_string())),
            );
        }
    };
    if let Some(want) = size
        && stat.size != *want
    {
        return (
            0,
            Some(problem(
                ProblemKind::SizeChanged,
                shown,
                format!("{} bytes, recorded {want}", stat.size),
            )),
        );
    }
    match crate::io::tee::hash_to_end(file) {
        Ok((n, got)) if got == *sha256 => (n, None),
        Ok((n, got)) => (
            n,
            Some(problem(
                ProblemKind::Changed,
                shown,
                format!("sha256 {got}, recorded {sha256}"),
            )),
        ),
        Err(e) => (
            0,
            Some(problem(ProblemKind::Unreadable, shown, e.to_string())),
        ),
    }
}
