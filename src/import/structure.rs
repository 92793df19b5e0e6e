//! The store's skeleton, surveyed: every path of [`PathRole::Structure`]
//! has the type [`STORE_PATHS`] gives it, every channel the registry lists
//! is a real folder, every channel folder is registered, and nothing
//! unexpected sits at the root or in a channel folder (docs/store.md,
//! "Structure").
//!
//! Two users: every command but `audit` calls [`Store::check_structure`]
//! before it reads or writes anything and refuses a store with a *blocking*
//! problem (a wrong type, a registry that disagrees with the folders); and
//! `audit`, which reports every problem and note found here by name.
//!
//! [`PathRole::Structure`]: super::paths::PathRole::Structure
//! [`STORE_PATHS`]: super::paths::STORE_PATHS

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;

use super::audit::{Problem, ProblemKind};
use super::error::StoreError;
use super::handle::{DirHandle, EntryType, wrong_type_reason};
use super::layout::{Store, current_in};
use super::paths::{
    BUNDLE_DIR, BUNDLE_SKELETON, CURRENT, CURRENT_TMP, EntryKind, HISTORY, LOCK, LOST_FOUND,
    MARKER, REGISTRY, STAGING, VERSION_SKELETON, is_channel_name, parse_sequence,
};
use super::registry;

/// What the survey found at the root.
#[derive(Debug, Default)]
pub(crate) struct Survey {
    /// Problems of the store itself (root entries, registry).
    pub problems: Vec<Problem>,
    /// What interrupted writers left at the root (not failures).
    pub notes: Vec<String>,
    /// Every registered channel and every channel-named root entry.
    pub channels: BTreeMap<String, ChannelSurvey>,
}

/// What the survey found for one channel.
#[derive(Debug, Default)]
pub(crate) struct ChannelSurvey {
    /// Listed in `.channels`.
    pub registered: bool,
    /// A real folder (its content was surveyed).
    pub is_folder: bool,
    /// Problems of the channel's skeleton.
    pub problems: Vec<Problem>,
    /// What interrupted writers left in it.
    pub notes: Vec<String>,
    /// Its version folders (real folders).
    pub versions: BTreeSet<u64>,
}

impl ProblemKind {
    /// Whether every command but `audit` refuses a store with this problem
    /// (docs/store.md, "Structure"): a wrong type at a store path, a
    /// `current` that does not name a version of its channel, a registry
    /// that disagrees with the channel folders. (`audit` also reports
    /// `current` problems of the history, which only writers refuse.)
    pub(crate) fn blocks_commands(self) -> bool {
        matches!(
            self,
            ProblemKind::NotAFile
                | ProblemKind::NotAFolder
                | ProblemKind::NotALink
                | ProblemKind::Current
                | ProblemKind::Registry
                | ProblemKind::ChannelMissing
                | ProblemKind::ChannelUnregistered
        )
    }
}

fn problem(kind: ProblemKind, path: impl Into<String>, detail: impl Into<String>) -> Problem {
    Problem {
        kind,
        path: path.into(),
        detail: detail.into(),
    }
}

/// The problem kind of a wrong type where `kind` is kept.
pub(crate) fn wrong_kind(kind: EntryKind) -> ProblemKind {
    match kind {
        EntryKind::File => ProblemKind::NotAFile,
        EntryKind::Folder => ProblemKind::NotAFolder,
        EntryKind::Link => ProblemKind::NotALink,
    }
}

fn type_ok(kind: EntryKind, found: EntryType) -> bool {
    matches!(
        (kind, found),
        (EntryKind::File, EntryType::File)
            | (EntryKind::Folder, EntryType::Folder)
            | (EntryKind::Link, EntryType::Link)
    )
}

/// A problem for `rel` when `found` is not `kind`.
fn check_type(rel: &str, found: EntryType, kind: EntryKind) -> Option<Problem> {
    (!type_ok(kind, found)).then(|| problem(wrong_kind(kind), rel, wrong_type_reason(found, kind)))
}

/// A survey error that stops only this part of the survey: an unreadable
/// entry, or one whose type changed under us.
fn as_problem(rel: &str, e: StoreError, kind: EntryKind) -> Problem {
    match e {
        StoreError::Damaged { reason, .. } => problem(wrong_kind(kind), rel, reason),
        other => problem(ProblemKind::Unreadable, rel, other.to_string()),
    }
}

impl Problem {
    fn with_kind(mut self, kind: ProblemKind) -> Problem {
        self.kind = kind;
        self
    }
}

fn shown(name: &OsStr) -> String {
    name.to_string_lossy().into_owned()
}

/// Survey the whole store's skeleton. Errors only when the store folder
/// itself cannot be listed; everything else found wrong is in the survey.
pub(crate) fn survey(store: &Store) -> Result<Survey, StoreError> {
    let root = store.handle();
    let mut out = Survey::default();
    let seen = survey_root(root, &mut out)?;
    let registry = registry_or_found(root, &seen, &mut out)?;
    if registry.torn {
        out.notes.push(format!(
            "{REGISTRY} ends with a torn line (an interrupted write); the next import cuts it"
        ));
    }
    for c in &registry.channels {
        let mut cs = ChannelSurvey {
            registered: true,
            ..ChannelSurvey::default()
        };
        match seen.get(c) {
            None => cs.problems.push(problem(
                ProblemKind::ChannelMissing,
                c.as_str(),
                format!("registered in {REGISTRY}, but its folder is missing"),
            )),
            Some(kind) => match check_type(c, *kind, EntryKind::Folder) {
                Some(p) => cs.problems.push(p),
                None => survey_channel(root, c, &mut cs),
            },
        }
        out.channels.insert(c.clone(), cs);
    }
    for (c, kind) in &seen {
        if registry.has(c) {
            continue;
        }
        let mut cs = ChannelSurvey::default();
        if *kind != EntryType::Folder {
            out.problems.push(problem(
                ProblemKind::Extra,
                c.as_str(),
                format!("{} that is not part of an lbom store", kind.described()),
            ));
            continue;
        }
        match root.open_dir(c).and_then(|d| match d {
            Some(d) => d.entries(),
            None => Ok(Vec::new()),
        }) {
            Ok(entries) if entries.is_empty() => cs.notes.push(format!(
                "{c} is an empty channel folder not yet in {REGISTRY} (an interrupted import); the next import or rollback removes it"
            )),
            Ok(_) => cs.problems.push(problem(
                ProblemKind::ChannelUnregistered,
                c.as_str(),
                format!(
                    "a channel folder lbom did not create: {REGISTRY} does not list it"
                ),
            )),
            Err(e) => cs.problems.push(as_problem(c, e, EntryKind::Folder)),
        }
        out.channels.insert(c.clone(), cs);
    }
    Ok(out)
}

/// The store's root entries: each lbom file and folder checked for its
/// type, what is not part of a store named; returns the channel folders.
fn survey_root(
    root: &DirHandle,
    out: &mut Survey,
) -> Result<BTreeMap<String, EntryType>, StoreError> {
    let mut seen: BTreeMap<String, EntryType> = BTreeMap::new();
    for name in root.entries()? {
        let rel = shown(&name);
        let Some(stat) = root.stat(&name)? else {
            continue;
        };
        match name.to_str() {
            Some(MARKER | LOCK | REGISTRY) => {
                out.problems
                    .extend(check_type(&rel, stat.kind, EntryKind::File));
            }
            Some(STAGING) => match check_type(&rel, stat.kind, EntryKind::Folder) {
                Some(p) => out.problems.push(p),
                None => survey_staging(root, out),
            },
            Some(LOST_FOUND) if stat.kind == EntryType::Folder => {}
            Some(n) if is_channel_name(n) => {
                seen.insert(n.to_owned(), stat.kind);
            }
            _ => out.problems.push(problem(
                ProblemKind::Extra,
                rel,
                format!(
                    "{} that is not part of an lbom store",
                    stat.kind.described()
                ),
            )),
        }
    }
    Ok(seen)
}

/// The channel registry, or (when it is not a file, or malformed, and
/// named so) the channel folders as found.
fn registry_or_found(
    root: &DirHandle,
    seen: &BTreeMap<String, EntryType>,
    out: &mut Survey,
) -> Result<registry::Registry, StoreError> {
    Ok(match root.stat(REGISTRY)? {
        Some(s) if s.kind == EntryType::File => match registry::read(root) {
            Ok(r) => r,
            Err(e) => {
                let p = match e {
                    StoreError::Damaged { reason, .. } => {
                        problem(ProblemKind::Registry, REGISTRY, reason)
                    }
                    other => problem(ProblemKind::Unreadable, REGISTRY, other.to_string()),
                };
                out.problems.push(p);
                as_found(seen)
            }
        },
        // Named above as not a file.
        Some(_) => as_found(seen),
        None => registry::Registry::default(),
    })
}

/// Without a registry to compare with (it is not a file, or malformed, and
/// named so), the channel folders found are surveyed as they are rather
/// than each named as unregistered.
fn as_found(seen: &BTreeMap<String, EntryType>) -> registry::Registry {
    registry::Registry {
        channels: seen
            .iter()
            .filter(|(_, k)| **k == EntryType::Folder)
            .map(|(c, _)| c.clone())
            .collect(),
        ..registry::Registry::default()
    }
}

fn survey_staging(root: &DirHandle, out: &mut Survey) {
    let entries = match root.open_dir(STAGING).and_then(|d| match d {
        Some(d) => d.entries(),
        None => Ok(Vec::new()),
    }) {
        Ok(e) => e,
        Err(e) => {
            out.problems.push(as_problem(STAGING, e, EntryKind::Folder));
            return;
        }
    };
    for name in entries {
        out.notes.push(format!(
            "{STAGING}/{} was left by an interrupted import (or belongs to one running now); the next import or rollback removes it",
            shown(&name)
        ));
    }
}

fn survey_channel(root: &DirHandle, c: &str, cs: &mut ChannelSurvey) {
    let dir = match root.open_dir(c) {
        Ok(Some(d)) => d,
        Ok(None) => {
            cs.problems.push(problem(
                ProblemKind::ChannelMissing,
                c,
                "the channel folder vanished while it was surveyed",
            ));
            return;
        }
        Err(e) => {
            cs.problems.push(as_problem(c, e, EntryKind::Folder));
            return;
        }
    };
    cs.is_folder = true;
    let entries = match dir.entries() {
        Ok(e) => e,
        Err(e) => {
            cs.problems.push(as_problem(c, e, EntryKind::Folder));
            return;
        }
    };
    for name in entries {
        let rel = format!("{c}/{}", shown(&name));
        let stat = match dir.stat(&name) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                cs.problems
                    .push(problem(ProblemKind::Unreadable, rel, e.to_string()));
                continue;
            }
        };
        match name.to_str() {
            Some(CURRENT) => match check_type(&rel, stat.kind, EntryKind::Link) {
                Some(p) => cs.problems.push(p),
                // Read, never followed: it must name a version folder of
                // this channel, nothing else.
                None => {
                    if let Err(e) = current_in(&dir) {
                        cs.problems.push(
                            as_problem(&rel, e, EntryKind::Link).with_kind(ProblemKind::Current),
                        );
                    }
                }
            },
            Some(CURRENT_TMP) => cs.notes.push(format!(
                "{rel} was left by an interrupted switch; the next import or rollback removes it"
            )),
            Some(HISTORY) => cs
                .problems
                .extend(check_type(&rel, stat.kind, EntryKind::File)),
            Some(n) if parse_sequence(n).is_some() => {
                match check_type(&rel, stat.kind, EntryKind::Folder) {
                    Some(p) => cs.problems.push(p),
                    None => {
                        cs.versions.extend(parse_sequence(n));
                        survey_version(&dir, n, &rel, &mut cs.problems);
                    }
                }
            }
            _ => cs.problems.push(problem(
                ProblemKind::Extra,
                rel,
                format!("{} that is not part of a channel", stat.kind.described()),
            )),
        }
    }
}

/// The fixed names of one version folder (and of its `bundle/`): each
/// absent or of its kind. What else is inside is `audit`'s to check.
fn survey_version(channel: &DirHandle, name: &str, rel: &str, problems: &mut Vec<Problem>) {
    let version = match channel.open_dir(name) {
        Ok(Some(v)) => v,
        Ok(None) => return,
        Err(e) => {
            problems.push(as_problem(rel, e, EntryKind::Folder));
            return;
        }
    };
    let check =
        |dir: &DirHandle, rel_dir: &str, table: &[(&str, EntryKind)], out: &mut Vec<Problem>| {
            for (fixed, kind) in table {
                let child = format!("{rel_dir}/{fixed}");
                match dir.stat(fixed) {
                    Ok(Some(s)) => out.extend(check_type(&child, s.kind, *kind)),
                    Ok(None) => {}
                    Err(e) => out.push(problem(ProblemKind::Unreadable, child, e.to_string())),
                }
            }
        };
    check(&version, rel, VERSION_SKELETON, problems);
    let bundle_rel = format!("{rel}/{BUNDLE_DIR}");
    if let Ok(Some(bundle)) = version.open_dir(BUNDLE_DIR) {
        check(&bundle, &bundle_rel, BUNDLE_SKELETON, problems);
    }
}

impl Store {
    /// Refuse a store whose skeleton is damaged (docs/store.md,
    /// "Structure"): the first blocking problem of the survey, as
    /// [`StoreError::Damaged`] on its path. Every command but `audit` runs
    /// this before reading or writing anything.
    pub(crate) fn check_structure(&self) -> Result<(), StoreError> {
        let survey = survey(self)?;
        let first = survey
            .problems
            .iter()
            .chain(survey.channels.values().flat_map(|c| c.problems.iter()))
            .find(|p| p.kind.blocks_commands());
        match first {
            None => Ok(()),
            Some(p) => Err(StoreError::damaged(
                &self.root().join(&p.path),
                p.detail.clone(),
            )),
        }
    }
}
