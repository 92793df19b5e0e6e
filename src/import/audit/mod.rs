//! `lbom audit`: check a store's structure against its records and
//! re-hash its versions, naming every problem with a stable code
//! (docs/store.md, "Audit").
//!
//! Two layers. The store's own structure (`structure::survey`): every
//! path lbom keeps has its type (a link or wrong type is named, never
//! followed), every channel the registry lists is a real folder and every
//! channel folder is registered, nothing unexpected sits at the root or in
//! a channel folder; then, per channel, `current` against the history (it
//! must point at the version the history's last line made current, or at
//! the one before when a crash interrupted the switch) and every version
//! the history records must exist. Then each audited version
//! (`version`): the chain of trust history → `import.json` → manifest →
//! every file, re-hashed, plus the modes (files 0444, folders 0555) and
//! link counts (no hard link from outside the versions sharing a file).
//!
//! It takes no lock (committed versions are immutable and never removed),
//! so it can run as a service's start-up check while an import is running.

mod version;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::error::StoreError;
use super::layout::{Store, current_in};
use super::paths::{CURRENT, HISTORY};
use super::record::{HistoryFile, pruned_versions, read_history};
use super::structure::{ChannelSurvey, survey};
use crate::io::digest::Sha256Digest;

pub(crate) use version::audit_version;

/// What is wrong, as a stable code (the JSON `kind`; the text report
/// prints the same code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Content differs from the recorded SHA-256.
    Changed,
    /// Size differs from the recorded size.
    SizeChanged,
    /// A recorded file is gone.
    Missing,
    /// An entry nothing records, in a version, a channel folder or at the
    /// store's root.
    Extra,
    /// A symbolic link, FIFO, device or folder where lbom keeps a file.
    NotAFile,
    /// A symbolic link, file, FIFO or device where lbom keeps a folder.
    NotAFolder,
    /// Something other than a symbolic link where lbom keeps `current`.
    NotALink,
    /// Could not be read.
    Unreadable,
    /// `import.json` is missing, malformed or differs from the history.
    Record,
    /// The manifest no longer hashes to the recorded digest, or does not parse.
    Manifest,
    /// `current` is missing, points outside its channel, or at a version
    /// the history did not make current.
    Current,
    /// `history.jsonl` is malformed, or its lines do not follow each other.
    History,
    /// `.channels` is malformed.
    Registry,
    /// A channel `.channels` lists has no folder.
    ChannelMissing,
    /// A channel folder (not empty) that `.channels` does not list.
    ChannelUnregistered,
    /// A version the history records has no folder.
    VersionMissing,
    /// A committed file is not mode 0444, or a committed folder not 0555.
    Mode,
    /// A committed file has more hard links than the store's own names for
    /// it (a name outside the versions that share it).
    LinkCount,
}

impl ProblemKind {
    /// Every kind, in documentation order (docs/store.md, "Audit").
    pub const ALL: &'static [ProblemKind] = &[
        ProblemKind::Changed,
        ProblemKind::SizeChanged,
        ProblemKind::Missing,
        ProblemKind::Extra,
        ProblemKind::NotAFile,
        ProblemKind::NotAFolder,
        ProblemKind::NotALink,
        ProblemKind::Unreadable,
        ProblemKind::Record,
        ProblemKind::Manifest,
        ProblemKind::Current,
        ProblemKind::History,
        ProblemKind::Registry,
        ProblemKind::ChannelMissing,
        ProblemKind::ChannelUnregistered,
        ProblemKind::VersionMissing,
        ProblemKind::Mode,
        ProblemKind::LinkCount,
    ];

    /// The stable code: `not_a_folder`.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::Changed => "changed",
            ProblemKind::SizeChanged => "size_changed",
            ProblemKind::Missing => "missing",
            ProblemKind::Extra => "extra",
            ProblemKind::NotAFile => "not_a_file",
            ProblemKind::NotAFolder => "not_a_folder",
            ProblemKind::NotALink => "not_a_link",
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::Record => "record",
            ProblemKind::Manifest => "manifest",
            ProblemKind::Current => "current",
            ProblemKind::History => "history",
            ProblemKind::Registry => "registry",
            ProblemKind::ChannelMissing => "channel_missing",
            ProblemKind::ChannelUnregistered => "channel_unregistered",
            ProblemKind::VersionMissing => "version_missing",
            ProblemKind::Mode => "mode",
            ProblemKind::LinkCount => "link_count",
        }
    }
}

/// One problem, on one path (relative to the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind (its code).
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
    /// Problems of the channel itself (its folder, `current`, history,
    /// version folders, extra entries).
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
    /// Problems of the store itself: its root entries and `.channels`.
    pub problems: Vec<Problem>,
    /// What interrupted writers left at the root (not failures).
    pub notes: Vec<String>,
    /// Each channel audited.
    pub channels: Vec<ChannelAudit>,
}

/// The document `lbom audit --format json` prints: whether the audit
/// passed, then the report.
#[derive(Debug, Clone, Serialize)]
pub struct AuditDocument<'a> {
    /// Whether nothing differs from the records.
    pub passed: bool,
    /// What was found.
    #[serde(flatten)]
    pub report: &'a AuditReport,
}

impl AuditReport {
    /// This report as the document `audit --format json` prints.
    pub fn document(&self) -> AuditDocument<'_> {
        AuditDocument {
            passed: self.passed(),
            report: self,
        }
    }

    /// Every problem, in report order.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .chain(self.channels.iter().flat_map(|c| {
                c.problems
                    .iter()
                    .chain(c.versions.iter().flat_map(|v| v.problems.iter()))
            }))
    }

    /// Whether nothing differs from the records.
    pub fn passed(&self) -> bool {
        self.problems().next().is_none()
    }

    /// A plain-text rendering for people: the store's own problems, then
    /// one line per version, one per problem (its code first), a verdict
    /// last.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            write_problem(&mut out, "", p);
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {}", visible(n));
        }
        for c in &self.channels {
            let current = c.current.map_or("none".to_owned(), |s| s.to_string());
            let _ = writeln!(out, "channel {} (current: {current})", visible(&c.channel));
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
    crate::safe::visible(s)
}

/// One problem line of the text report, terminal-safe: its code, path and
/// detail.
fn write_problem(out: &mut String, indent: &str, p: &Problem) {
    let _ = writeln!(
        out,
        "{indent}{}: {} — {}",
        p.kind.code(),
        visible(&p.path),
        visible(&p.detail)
    );
}

pub(crate) fn problem(
    kind: ProblemKind,
    path: impl Into<String>,
    detail: impl Into<String>,
) -> Problem {
    Problem {
        kind,
        path: path.into(),
        detail: detail.into(),
    }
}

/// Audit `channel` (or every channel): the store's structure, then its
/// current version, or with `all_versions` every committed version. Errors
/// only when the store itself cannot be listed; everything found wrong is
/// in the report.
pub fn audit(
    store: &Store,
    channel: Option<&str>,
    all_versions: bool,
) -> Result<AuditReport, StoreError> {
    let mut survey = survey(store)?;
    let channels: Vec<String> = match channel {
        Some(c) => {
            super::layout::is_channel_name(c)
                .then_some(())
                .ok_or_else(|| StoreError::Refused(format!("{c:?} is not a channel name")))?;
            if !survey.channels.contains_key(c) {
                return Err(StoreError::Refused(format!(
                    "{}: no channel {c} in this store",
                    store.root().display()
                )));
            }
            vec![c.to_owned()]
        }
        None => survey.channels.keys().cloned().collect(),
    };
    let mut report = AuditReport {
        store: store.root().to_path_buf(),
        problems: std::mem::take(&mut survey.problems),
        notes: std::mem::take(&mut survey.notes),
        channels: Vec::new(),
    };
    for c in channels {
        let surveyed = survey.channels.remove(&c).unwrap_or_default();
        report
            .channels
            .push(audit_channel(store, &c, surveyed, all_versions)?);
    }
    Ok(report)
}

fn audit_channel(
    store: &Store,
    channel: &str,
    surveyed: ChannelSurvey,
    all_versions: bool,
) -> Result<ChannelAudit, StoreError> {
    let mut audit = ChannelAudit {
        channel: channel.to_owned(),
        current: None,
        problems: surveyed.problems,
        notes: surveyed.notes,
        versions: Vec::new(),
    };
    // A channel folder that is missing, not a folder or not registered was
    // named by the survey; there is nothing of lbom's in it to check.
    if !surveyed.is_folder || !surveyed.registered {
        return Ok(audit);
    }
    let Some(dir) = store.open_channel(channel).ok().flatten() else {
        return Ok(audit);
    };
    let already_named =
        |audit: &ChannelAudit, rel: &str| audit.problems.iter().any(|p| p.path == rel);
    let history_rel = format!("{channel}/{HISTORY}");
    let history = if already_named(&audit, &history_rel) {
        HistoryFile::default()
    } else {
        match read_history(&dir) {
            Ok(h) => h,
            Err(e) => {
                audit
                    .problems
                    .push(problem(ProblemKind::History, &history_rel, e.to_string()));
                HistoryFile::default()
            }
        }
    };
    if history.torn {
        audit.notes.push(
            "history ends with a torn line (an interrupted write); the next import cuts it".into(),
        );
    }
    check_history_chain(&history, &history_rel, &mut audit.problems);
    let current_rel = format!("{channel}/{CURRENT}");
    if !already_named(&audit, &current_rel) {
        match current_in(&dir) {
            Ok(c) => {
                audit.current = c;
                check_current(&history, c, &current_rel, &mut audit);
            }
            Err(e) => audit.problems.push(problem(
                ProblemKind::Current,
                &current_rel,
                damaged_reason(e),
            )),
        }
    }
    // The latest history line of each version names its record's digest.
    let mut recorded: BTreeMap<u64, Sha256Digest> = BTreeMap::new();
    for e in &history.entries {
        recorded.insert(e.sequence, e.record_sha256);
    }
    let committed =
        check_version_folders(channel, &history, &recorded, &surveyed.versions, &mut audit);
    let to_audit: Vec<u64> = if all_versions {
        committed.iter().copied().collect()
    } else {
        audit.current.into_iter().collect()
    };
    let to_audit: Vec<u64> = to_audit
        .into_iter()
        .filter(|s| surveyed.versions.contains(s))
        .collect();
    let census = version::LinkCensus::of_channel(store, &dir, &surveyed.versions)?;
    for seq in to_audit {
        let v =
            version::audit_version_with(store, channel, seq, recorded.get(&seq).copied(), &census)?;
        let is_current = audit.current == Some(seq);
        audit.versions.push(VersionAudit {
            current: is_current,
            ..v
        });
    }
    Ok(audit)
}

/// Every kept version (recorded, not pruned, and current) must have its
/// folder; a folder no kept version explains is a note (an interrupted
/// import or prune). Returns the kept versions.
fn check_version_folders(
    channel: &str,
    history: &HistoryFile,
    recorded: &BTreeMap<u64, Sha256Digest>,
    versions: &BTreeSet<u64>,
    audit: &mut ChannelAudit,
) -> BTreeSet<u64> {
    // A pruned version is not kept: its folder is gone on purpose
    // (docs/store.md, "Prune"), and one still there is an interrupted prune.
    let pruned = pruned_versions(&history.entries);
    let mut committed: BTreeSet<u64> = recorded
        .keys()
        .copied()
        .filter(|s| !pruned.contains(s))
        .collect();
    committed.extend(audit.current);
    for seq in &committed {
        let rel = format!("{channel}/{seq}");
        if !versions.contains(seq) && !audit.problems.iter().any(|p| p.path == rel) {
            audit.problems.push(problem(
                ProblemKind::VersionMissing,
                rel,
                "recorded in the history, but its folder is missing",
            ));
        }
    }
    for seq in versions.difference(&committed) {
        if pruned.contains(seq) {
            audit.notes.push(format!(
                "{channel}/{seq} was pruned but is still there (an interrupted prune); the next writer removes it"
            ));
            continue;
        }
        audit.notes.push(format!(
            "{channel}/{seq} was never recorded (an interrupted import); the next import of that sequence replaces it"
        ));
    }
    committed
}

/// The reason of a damaged-store error, else its whole message.
fn damaged_reason(e: StoreError) -> String {
    match e {
        StoreError::Damaged { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// Each history line moves `current` from where the line before left it:
/// a line whose `from` is not the previous line's `sequence` means lines
/// were removed or forged out of order.
fn check_history_chain(history: &HistoryFile, rel: &str, problems: &mut Vec<Problem>) {
    let mut before: Option<u64> = None;
    for (n, e) in history.entries.iter().enumerate() {
        if e.from != before {
            problems.push(problem(
                ProblemKind::History,
                rel,
                format!(
                    "line {} switches from version {}, but the line before left version {} current",
                    n.saturating_add(1),
                    e.from.map_or("none".to_owned(), |s| s.to_string()),
                    before.map_or("none".to_owned(), |s| s.to_string()),
                ),
            ));
            return;
        }
        before = Some(e.sequence);
    }
}

/// `current` must be the version the history's last line made current, or
/// the one that line switched from (a crash between the history line and
/// the switch, which the next writer completes).
fn check_current(history: &HistoryFile, current: Option<u64>, rel: &str, audit: &mut ChannelAudit) {
    let shown = |s: Option<u64>| s.map_or("none".to_owned(), |s| format!("version {s}"));
    match history.entries.last() {
        None => {
            if let Some(seq) = current {
                audit.problems.push(problem(
                    ProblemKind::Current,
                    rel,
                    format!("points at version {seq}, which the history does not record"),
                ));
            }
        }
        Some(last) if current == Some(last.sequence) => {}
        Some(last) if current == last.from => audit.notes.push(format!(
            "the history records a switch to version {} that a crash interrupted; the next import or rollback completes it",
            last.sequence
        )),
        Some(last) => audit.problems.push(problem(
            ProblemKind::Current,
            rel,
            format!(
                "is {}, but the history's last line made version {} current",
                shown(current),
                last.sequence
            ),
        )),
    }
}
