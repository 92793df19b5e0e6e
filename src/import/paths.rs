//! Every path lbom keeps in a store, in one list ([`STORE_PATHS`]), with
//! the type it must have and who checks it (docs/store.md, "Layout" and
//! "No link is ever followed").
//!
//! The list is what the store's code is held to: a unit test walks stores
//! left by every step of the commit protocol and requires every path found
//! to match an entry here, and the integration test `tests/store_hostile.rs`
//! replaces each listed path in turn with a link, a wrong type, a FIFO and a
//! dangling link and runs every command on it. A path added to the code but
//! not here fails the first; a path listed here is attacked by the second.

use crate::bundle::layout as bundle_layout;
use crate::bundle::manifest::check_label;

/// The store marker file.
pub const MARKER: &str = ".lbom-store";
/// The marker's content: store format 1.
pub const MARKER_CONTENT: &str = "{\"format\":\"lbom-store\",\"version\":1}\n";
/// The marker while it is written, before its rename (creation only).
pub const MARKER_TMP: &str = ".lbom-store.tmp";
/// The lock file.
pub const LOCK: &str = ".lock";
/// The channel registry: one channel name and LF per channel, appended
/// when the channel's folder is created.
pub const REGISTRY: &str = ".channels";
/// The staging folder (imports in progress).
pub const STAGING: &str = ".staging";
/// Prefix of one import's folder in [`STAGING`].
pub const STAGED_PREFIX: &str = "import-";
/// What `mkfs.ext*` puts at the root of a filesystem: allowed at the root of
/// a store that is a mount point.
pub const LOST_FOUND: &str = "lost+found";
/// A channel's pointer to its current version (a symlink to `<seq>`).
pub const CURRENT: &str = "current";
/// The temporary symlink renamed over `current`.
pub const CURRENT_TMP: &str = "current.tmp";
/// A channel's history.
pub const HISTORY: &str = "history.jsonl";
/// In a version: the artifacts.
pub const FILES_DIR: &str = "files";
/// In a version: the bundle's metadata entries by entry name.
pub const BUNDLE_DIR: &str = "bundle";
/// In a version: its import record.
pub const RECORD: &str = "import.json";
/// The fresh scan of every artifact made while it was verified
/// (`Vec<ModelFacts>`, the scan JSON form): what `diff` compares a new
/// bundle against, without re-scanning the store.
pub const FACTS: &str = "facts.json";
/// In a version: the station's signed receipt.
pub const RECEIPT: &str = "receipt.dsse.json";

/// What lbom keeps at a store path. Every access checks it: anything else
/// there (a link where a folder or file is kept above all) is a damaged
/// store, never followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A real folder (never a link to one).
    Folder,
    /// A symbolic link, read with `readlinkat` and never followed
    /// (`current`, `current.tmp`).
    Link,
}

impl EntryKind {
    /// With an article: "a folder".
    pub fn described(self) -> &'static str {
        match self {
            EntryKind::File => "a regular file",
            EntryKind::Folder => "a folder",
            EntryKind::Link => "a symbolic link",
        }
    }
}

/// When a path is checked, and what finding it damaged does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(any(test, feature = "internals"))]
pub enum PathRole {
    /// The store's skeleton: every command but `audit` checks the type of
    /// every such path before it reads or writes anything, and refuses a
    /// store where one is wrong (exit 4); `audit` names it.
    Structure,
    /// Left by an interrupted writer: writers remove it whatever it is (a
    /// link as a link), readers ignore it, `audit` notes it.
    Scratch,
    /// Inside a version, named by the bundle: checked when read (`import`
    /// the current version's artifacts it shares, `rollback` its whole
    /// target version, `audit` every version it audits).
    Content,
}

/// One kind of store path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg(any(test, feature = "internals"))]
pub struct StorePath {
    /// The path relative to the store, with placeholders: `<channel>` (a
    /// channel label), `<seq>` (a version number), `<staged>` (one import's
    /// folder in `.staging`), `<path>` (one or more segments named by the
    /// bundle).
    pub pattern: &'static str,
    /// What must be there.
    pub kind: EntryKind,
    /// Who checks it.
    pub role: PathRole,
}

#[cfg(any(test, feature = "internals"))]
const fn p(pattern: &'static str, kind: EntryKind, role: PathRole) -> StorePath {
    StorePath {
        pattern,
        kind,
        role,
    }
}

#[cfg(any(test, feature = "internals"))]
use EntryKind::Link;
use EntryKind::{File, Folder};
#[cfg(any(test, feature = "internals"))]
use PathRole::{Content, Scratch, Structure};

/// Every path lbom creates, writes, renames, deletes or trusts in a store.
#[cfg(any(test, feature = "internals"))]
pub const STORE_PATHS: &[StorePath] = &[
    p(".lbom-store", File, Structure),
    p(".lbom-store.tmp", File, Scratch),
    p(".lock", File, Structure),
    p(".channels", File, Structure),
    p(".staging", Folder, Structure),
    p(".staging/<staged>", Folder, Scratch),
    p(".staging/<staged>/<path>", Folder, Scratch),
    p(".staging/<staged>/<path>", File, Scratch),
    p("<channel>", Folder, Structure),
    p("<channel>/current", Link, Structure),
    p("<channel>/current.tmp", Link, Scratch),
    p("<channel>/history.jsonl", File, Structure),
    p("<channel>/<seq>", Folder, Structure),
    p("<channel>/<seq>/import.json", File, Structure),
    p("<channel>/<seq>/facts.json", File, Structure),
    p("<channel>/<seq>/receipt.dsse.json", File, Structure),
    p("<channel>/<seq>/files", Folder, Structure),
    p("<channel>/<seq>/bundle", Folder, Structure),
    p("<channel>/<seq>/bundle/manifest.json", File, Structure),
    p(
        "<channel>/<seq>/bundle/attestation.intoto.json",
        File,
        Structure,
    ),
    p("<channel>/<seq>/bundle/sboms", Folder, Structure),
    p("<channel>/<seq>/bundle/chain", Folder, Structure),
    p("<channel>/<seq>/files/<path>", Folder, Content),
    p("<channel>/<seq>/files/<path>", File, Content),
    p("<channel>/<seq>/bundle/sboms/<path>", Folder, Content),
    p("<channel>/<seq>/bundle/sboms/<path>", File, Content),
    p("<channel>/<seq>/bundle/chain/<path>", File, Content),
];

/// The fixed names of a version folder's skeleton, with their kinds, as
/// relative paths (the [`PathRole::Structure`] entries below `<seq>`).
pub(crate) const VERSION_SKELETON: &[(&str, EntryKind)] = &[
    (RECORD, File),
    (FACTS, File),
    (RECEIPT, File),
    (FILES_DIR, Folder),
    (BUNDLE_DIR, Folder),
];

/// The fixed names inside a version's `bundle/`.
pub(crate) const BUNDLE_SKELETON: &[(&str, EntryKind)] = &[
    (bundle_layout::MANIFEST, File),
    (bundle_layout::ATTESTATION, File),
    (bundle_layout::SBOMS_DIR, Folder),
    (bundle_layout::CHAIN_DIR, Folder),
];

/// A version folder name: decimal, no sign, no leading zero, at least 1.
pub(crate) fn parse_sequence(s: &str) -> Option<u64> {
    if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether a root entry name is a channel's (passes the manifest's label
/// check, so it can never be `.lock`, `.staging` or hold a `/`).
pub fn is_channel_name(name: &str) -> bool {
    check_label("channel", name).is_ok()
}

#[cfg(any(test, feature = "internals"))]
fn segment_matches(placeholder: &str, segment: &str) -> bool {
    match placeholder {
        "<channel>" => is_channel_name(segment),
        "<seq>" => parse_sequence(segment).is_some(),
        "<staged>" => !segment.is_empty(),
        fixed => fixed == segment,
    }
}

/// The listed path a concrete store path (relative, `/`-separated) of the
/// given kind is an instance of, if any. `<path>` matches one or more
/// segments.
#[cfg(any(test, feature = "internals"))]
pub fn classify(rel: &str, kind: EntryKind) -> Option<&'static StorePath> {
    let segments: Vec<&str> = rel.split('/').collect();
    STORE_PATHS.iter().find(|sp| {
        if sp.kind != kind {
            return false;
        }
        let pattern: Vec<&str> = sp.pattern.split('/').collect();
        match pattern.split_last() {
            Some((&"<path>", head)) => {
                segments.len() > head.len()
                    && head
                        .iter()
                        .zip(&segments)
                        .all(|(p, s)| segment_matches(p, s))
            }
            _ => {
                pattern.len() == segments.len()
                    && pattern
                        .iter()
                        .zip(&segments)
                        .all(|(p, s)| segment_matches(p, s))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_finds_each_kind_of_path() {
        let cases = [
            (".lbom-store", File, Some(".lbom-store")),
            (".staging/import-00", Folder, Some(".staging/<staged>")),
            ("stable", Folder, Some("<channel>")),
            ("stable/current", Link, Some("<channel>/current")),
            (
                "stable/12/files/a/b.gguf",
                File,
                Some("<channel>/<seq>/files/<path>"),
            ),
            (
                "stable/12/files/a",
                Folder,
                Some("<channel>/<seq>/files/<path>"),
            ),
            (
                "stable/12/bundle/manifest.json",
                File,
                Some("<channel>/<seq>/bundle/manifest.json"),
            ),
            ("stable/012", Folder, None),
            ("stable/1/other", File, None),
            ("notes.txt", Folder, Some("<channel>")),
            ("_notes", Folder, None),
            (
                ".staging/import-1/files/a",
                File,
                Some(".staging/<staged>/<path>"),
            ),
            ("stable/current", File, None),
        ];
        for (rel, kind, want) in cases {
            assert_eq!(classify(rel, kind).map(|p| p.pattern), want, "{rel}");
        }
    }

    #[test]
    fn the_skeleton_tables_agree_with_the_list() {
        for (name, kind) in VERSION_SKELETON {
            let pattern = format!("<channel>/<seq>/{name}");
            assert!(
                STORE_PATHS
                    .iter()
                    .any(|p| p.pattern == pattern && p.kind == *kind && p.role == Structure),
                "{pattern}"
            );
        }
        for (name, kind) in BUNDLE_SKELETON {
            let pattern = format!("<channel>/<seq>/bundle/{name}");
            assert!(
                STORE_PATHS
                    .iter()
                    .any(|p| p.pattern == pattern && p.kind == *kind && p.role == Structure),
                "{pattern}"
            );
        }
    }
}
