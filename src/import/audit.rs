//! `lbom audit`: re-hash a store's versions against what was recorded at
//! import, naming every changed, missing and extra file.
//!
//! The chain of trust is: the channel's `history.jsonl` names each
//! version's `import.json` by SHA-256; the record names the manifest's
//! SHA-256 and the chain links' and receipt's digests; the manifest names
//! every artifact, SBOM and attestation with size and SHA-256. Audit checks
//! each link of that chain and walks every folder of the version without
//! following a symlink, so a file replaced by a symlink, a FIFO or a folder
//! is named, never read through. It takes no lock (committed versions are
//! immutable and never removed), so it can run as a service's start-up
//! check while an import is running.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use super::error::StoreError;
use super::fsutil;
use super::layout::{
    BUNDLE_DIR, CURRENT, CURRENT_TMP, FACTS, FILES_DIR, HISTORY, RECEIPT, RECORD, Store,
    parse_sequence,
};
use super::record::{HistoryFile, ImportRecord, read_history};
use crate::bundle::{Manifest, ReadLimits, Role, layout};
use crate::inspect::digest::Sha256Digest;

/// What is wrong with one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Content differs from the recorded SHA-256.
    Changed,
    /// Size differs from the recorded size.
    SizeChanged,
    /// A recorded file is gone.
    Missing,
    /// A file or folder nothing records.
    Extra,
    /// A symlink, FIFO, device or folder where a file is recorded.
    NotAFile,
    /// Could not be read.
    Unreadable,
    /// `import.json` is missing, malformed or differs from the history.
    Record,
    /// The manifest no longer hashes to the recorded digest, or does not parse.
    Manifest,
    /// `current` is missing, malformed or points at an unknown version.
    Current,
    /// `history.jsonl` is malformed.
    History,
}

/// One problem, on one path (relative to the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// The path, relative to the store.
    pub path: String,
    /// One sentence.
    pub detail: String,
}

/// One version's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionAudit {
    /// Its sequence.
    pub sequence: u64,
    /// Whether `current` points at it.
    pub current: bool,
    /// Files re-hashed.
    pub files_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// What is wrong.
    pub problems: Vec<Problem>,
}

/// One channel's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelAudit {
    /// The channel.
    pub channel: String,
    /// The version `current` points at.
    pub current: Option<u64>,
    /// Problems of the channel itself (`current`, history, extra entries).
    pub problems: Vec<Problem>,
    /// Things left by an interrupted import that the next one repairs:
    /// not failures.
    pub notes: Vec<String>,
    /// The versions audited.
    pub versions: Vec<VersionAudit>,
}

/// Everything `audit` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// The store.
    pub store: PathBuf,
    /// Each channel audited.
    pub channels: Vec<ChannelAudit>,
}

impl AuditReport {
    /// Every problem, in report order.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.channels.iter().flat_map(|c| {
            c.problems
                .iter()
                .chain(c.versions.iter().flat_map(|v| v.problems.iter()))
        })
    }

    /// Whether nothing differs from the records.
    pub fn passed(&self) -> bool {
        self.problems().next().is_none()
    }

    /// A plain-text rendering for people: one line per version, one per
    /// problem, a verdict last.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for c in &self.channels {
            let current = c.current.map_or("none".to_owned(), |s| s.to_string());
            let _ = writeln!(out, "channel {} (current: {current})", c.channel);
            for p in &c.problems {
                write_problem(&mut out, "  ", p);
            }
            for n in &c.notes {
                let _ = writeln!(out, "  note: {}", visible(n));
            }
            for v in &c.versions {
                let mark = if v.current { " (current)" } else { "" };
                let verdict = if v.problems.is_empty() {
                    "ok"
                } else {
                    "DIFFERS"
                };
                let _ = writeln!(
                    out,
                    "  version {}{mark}: {verdict}, {} files, {} bytes re-hashed",
                    v.sequence, v.files_checked, v.bytes_checked
                );
                for p in &v.problems {
                    write_problem(&mut out, "    ", p);
                }
            }
        }
        let count = self.problems().count();
        if count == 0 {
            let _ = writeln!(out, "audit passed");
        } else {
            let _ = writeln!(out, "audit failed: {count} problem(s)");
        }
        out
    }
}

/// Store paths can hold names planted by anyone with write access: shown
/// escaped, like every untrusted string lbom prints.
fn visible(s: &str) -> String {
    crate::describe::text::visible(s)
}

/// One problem line of the text report, terminal-safe.
fn write_problem(out: &mut String, indent: &str, p: &Problem) {
    let _ = writeln!(
        out,
        "{indent}{}: {} — {}",
        kind_word(p.kind),
        visible(&p.path),
        visible(&p.detail)
    );
}

fn kind_word(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::Changed => "changed",
        ProblemKind::SizeChanged => "size changed",
        ProblemKind::Missing => "missing",
        ProblemKind::Extra => "extra",
        ProblemKind::NotAFile => "not a file",
        ProblemKind::Unreadable => "unreadable",
        ProblemKind::Record => "record",
        ProblemKind::Manifest => "manifest",
        ProblemKind::Current => "current",
        ProblemKind::History => "history",
    }
}

/// Audit `channel` (or every channel): its current version, or with
/// `all_versions` every committed version. Errors only when the store
/// itself cannot be listed; everything found wrong is in the report.
pub fn audit(
    store: &Store,
    channel: Option<&str>,
    all_versions: bool,
) -> Result<AuditReport, StoreError> {
    let channels = match channel {
        Some(c) => {
            let dir = store.channel_dir(c)?;
            if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
                return Err(StoreError::Refused(format!(
                    "{}: no channel {c} in this store",
                    store.root().display()
                )));
            }
            vec![c.to_owned()]
        }
        None => store.channels()?,
    };
    let mut report = AuditReport {
        store: store.root().to_path_buf(),
        channels: Vec::new(),
    };
    for c in channels {
        report
            .channels
            .push(audit_channel(store, &c, all_versions)?);
    }
    Ok(report)
}

fn problem(kind: ProblemKind, path: impl Into<String>, detail: impl Into<String>) -> Problem {
    Problem {
        kind,
        path: path.into(),
        detail: detail.into(),
    }
}

fn audit_channel(
    store: &Store,
    channel: &str,
    all_versions: bool,
) -> Result<ChannelAudit, StoreError> {
    let dir = store.channel_dir(channel)?;
    let mut audit = ChannelAudit {
        channel: channel.to_owned(),
        current: None,
        problems: Vec::new(),
        notes: Vec::new(),
        versions: Vec::new(),
    };
    let history = match read_history(&dir.join(HISTORY)) {
        Ok(h) => h,
        Err(e) => {
            audit.problems.push(problem(
                ProblemKind::History,
                format!("{channel}/{HISTORY}"),
                e.to_string(),
            ));
            HistoryFile::default()
        }
    };
    if history.torn {
        audit.notes.push(
            "history ends with a torn line (an interrupted write); the next import cuts it".into(),
        );
    }
    // The latest history line of each version names its record's digest.
    let mut recorded: BTreeMap<u64, Sha256Digest> = BTreeMap::new();
    for e in &history.entries {
        recorded.insert(e.sequence, e.record_sha256);
    }
    match store.current(channel) {
        Ok(Some(seq)) => {
            audit.current = Some(seq);
            if history.entries.last().map(|e| e.sequence) != Some(seq) {
                audit.notes.push(format!(
                    "the history does not record the switch to version {seq} (an interrupted import or rollback); the next import records it"
                ));
            }
        }
        Ok(None) if !history.entries.is_empty() => audit.problems.push(problem(
            ProblemKind::Current,
            format!("{channel}/{CURRENT}"),
            "missing, yet the history records imports",
        )),
        Ok(None) => {}
        Err(e) => audit.problems.push(problem(
            ProblemKind::Current,
            format!("{channel}/{CURRENT}"),
            e.to_string(),
        )),
    }
    let mut committed: BTreeSet<u64> = recorded.keys().copied().collect();
    committed.extend(audit.current);
    check_channel_entries(&dir, channel, &committed, &mut audit)?;
    let to_audit: Vec<u64> = if all_versions {
        committed.iter().copied().collect()
    } else {
        audit.current.into_iter().collect()
    };
    for seq in to_audit {
        let v = audit_version(store, channel, seq, recorded.get(&seq).copied())?;
        let is_current = audit.current == Some(seq);
        audit.versions.push(VersionAudit {
            current: is_current,
            ..v
        });
    }
    Ok(audit)
}

/// Every entry of the channel folder must be `current`, the history, or a
/// committed version; an uncommitted version or a stray `current.tmp` is
/// what an interrupted import leaves (a note), anything else is extra.
fn check_channel_entries(
    dir: &Path,
    channel: &str,
    committed: &BTreeSet<u64>,
    audit: &mut ChannelAudit,
) -> Result<(), StoreError> {
    let entries = fs::read_dir(dir).map_err(super::error::io_at(dir))?;
    for entry in entries {
        let entry = entry.map_err(super::error::io_at(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == CURRENT || name == HISTORY {
            continue;
        }
        if name == CURRENT_TMP {
            audit.notes.push(format!(
                "{channel}/{CURRENT_TMP} left by an interrupted switch"
            ));
            continue;
        }
        match parse_sequence(&name) {
            Some(seq) if committed.contains(&seq) => {}
            Some(seq) => audit.notes.push(format!(
                "{channel}/{seq} was never made current (an interrupted import); the next import of that sequence replaces it"
            )),
            None => audit.problems.push(problem(
                ProblemKind::Extra,
                format!("{channel}/{name}"),
                "not part of the store",
            )),
        }
    }
    Ok(())
}

/// What a version must hold: relative path → (size if known, SHA-256).
type Expected = BTreeMap<String, (Option<u64>, Sha256Digest)>;

/// Audit one version against its record, the record against
/// `recorded_record` (the history's digest of it, when known).
pub(crate) fn audit_version(
    store: &Store,
    channel: &str,
    seq: u64,
    recorded_record: Option<Sha256Digest>,
) -> Result<VersionAudit, StoreError> {
    let mut v = VersionAudit {
        sequence: seq,
        current: false,
        files_checked: 0,
        bytes_checked: 0,
        problems: Vec::new(),
    };
    let dir = store.version_dir(channel, seq)?;
    let shown = |rel: &str| format!("{channel}/{seq}/{rel}");
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            v.problems.push(problem(
                ProblemKind::NotAFile,
                format!("{channel}/{seq}"),
                "the version is not a folder",
            ));
            return Ok(v);
        }
        Err(_) => {
            v.problems.push(problem(
                ProblemKind::Missing,
                format!("{channel}/{seq}"),
                "the version folder is gone",
            ));
            return Ok(v);
        }
    }
    let record = match ImportRecord::read(&dir.join(RECORD)) {
        Ok(r) => r,
        Err(e) => {
            v.problems
                .push(problem(ProblemKind::Record, shown(RECORD), e.to_string()));
            return Ok(v);
        }
    };
    let (record, record_sha256) = record;
    if let Some(want) = recorded_record
        && want != record_sha256
    {
        v.problems.push(problem(
            ProblemKind::Record,
            shown(RECORD),
            format!("sha256 {record_sha256}, the history records {want}"),
        ));
    }
    if record.channel != channel || record.sequence != seq {
        v.problems.push(problem(
            ProblemKind::Record,
            shown(RECORD),
            format!(
                "records {} #{}, not this version",
                record.channel, record.sequence
            ),
        ));
    }
    let manifest_rel = format!("{BUNDLE_DIR}/{}", layout::MANIFEST);
    let Some(manifest) = read_manifest(&dir, &manifest_rel, &record, &mut v, &shown) else {
        return Ok(v);
    };
    let expected = expected_files(&manifest, &record);
    let mut checked = BTreeSet::from([RECORD.to_owned(), manifest_rel]);
    let mut to_hash = Vec::new();
    walk(
        &dir,
        "",
        &expected,
        &mut checked,
        &mut to_hash,
        &mut v.problems,
        &shown,
    );
    for (rel, _) in expected.iter().filter(|(rel, _)| !checked.contains(*rel)) {
        if !to_hash.iter().any(|r: &String| r == rel) {
            v.problems.push(problem(
                ProblemKind::Missing,
                shown(rel),
                "recorded at import, gone now",
            ));
        }
    }
    let results: Vec<(u64, Option<Problem>)> = to_hash
        .par_iter()
        .filter_map(|rel| Some((rel, expected.get(rel)?)))
        .map(|(rel, want)| check_file(&dir.join(rel), want, &shown(rel)))
        .collect();
    for (bytes, p) in results {
        v.files_checked = v.files_checked.saturating_add(1);
        v.bytes_checked = v.bytes_checked.saturating_add(bytes);
        v.problems.extend(p);
    }
    v.problems.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(v)
}

fn read_manifest(
    dir: &Path,
    rel: &str,
    record: &ImportRecord,
    v: &mut VersionAudit,
    shown: &dyn Fn(&str) -> String,
) -> Option<Manifest> {
    let bytes = match fsutil::read_small(&dir.join(rel), ReadLimits::default().max_manifest_bytes) {
        Ok(b) => b,
        Err(e) => {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ProblemKind::Missing
            } else {
                ProblemKind::NotAFile
            };
            v.problems.push(problem(kind, shown(rel), e.to_string()));
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

/// Walk `dir/rel` without following symlinks: regular files that are
/// expected go to `to_hash`; everything else is named.
fn walk(
    root: &Path,
    rel: &str,
    expected: &Expected,
    checked: &mut BTreeSet<String>,
    to_hash: &mut Vec<String>,
    problems: &mut Vec<Problem>,
    shown: &dyn Fn(&str) -> String,
) {
    let here = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let entries = match fs::read_dir(&here) {
        Ok(e) => e,
        Err(e) => {
            problems.push(problem(ProblemKind::Unreadable, shown(rel), e.to_string()));
            return;
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if checked.contains(&child) {
            continue;
        }
        let kind = match fs::symlink_metadata(root.join(&child)) {
            Ok(m) => m.file_type(),
            Err(e) => {
                problems.push(problem(
                    ProblemKind::Unreadable,
                    shown(&child),
                    e.to_string(),
                ));
                continue;
            }
        };
        let is_expected = expected.contains_key(&child);
        if kind.is_file() && is_expected {
            to_hash.push(child);
        } else if kind.is_dir() && !is_expected && holds_expected(expected, &child) {
            walk(root, &child, expected, checked, to_hash, problems, shown);
        } else if is_expected {
            checked.insert(child.clone());
            problems.push(problem(
                ProblemKind::NotAFile,
                shown(&child),
                format!("recorded as a file, found {}", describe(kind)),
            ));
        } else {
            problems.push(problem(
                ProblemKind::Extra,
                shown(&child),
                format!("{} that no record lists", describe(kind)),
            ));
        }
    }
}

fn holds_expected(expected: &Expected, dir: &str) -> bool {
    let prefix = format!("{dir}/");
    expected
        .range(prefix.clone()..)
        .next()
        .is_some_and(|(k, _)| k.starts_with(&prefix))
}

fn describe(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a file"
    }
}

/// Re-hash one file: (bytes hashed, the problem if any).
fn check_file(
    path: &Path,
    (size, sha256): &(Option<u64>, Sha256Digest),
    shown: &str,
) -> (u64, Option<Problem>) {
    let (file, meta) = match fsutil::open_regular(path) {
        Ok(f) => f,
        Err(e) => {
            return (
                0,
                Some(problem(ProblemKind::NotAFile, shown, e.to_string())),
            );
        }
    };
    if let Some(want) = size
        && meta.len() != *want
    {
        return (
            0,
            Some(problem(
                ProblemKind::SizeChanged,
                shown,
                format!("{} bytes, recorded {want}", meta.len()),
            )),
        );
    }
    match fsutil::hash_reader(file) {
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
