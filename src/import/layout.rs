//! The store on disk: opening it, the folders of channels and versions, and
//! reading what is committed (docs/store.md, "Layout"). Every entry is
//! reached through folder handles with no-follow semantics
//! ([`super::handle`]); paths are only for messages.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::StoreError;
use super::handle::DirHandle;
use super::record::{HistoryAction, HistoryEntry, ImportRecord, read_history};
use super::registry;
use crate::bundle::manifest::check_label;
use crate::io::digest::Sha256Digest;
use crate::verify::ChannelState;

pub use super::paths::{
    BUNDLE_DIR, CURRENT, FACTS, FILES_DIR, MARKER, MARKER_CONTENT, STAGING,
};
pub(crate) use super::paths::{is_channel_name, parse_sequence};

/// Largest marker read.
const MAX_MARKER_BYTES: u64 = 4096;

/// An opened store (not locked: reading needs no lock, see docs/store.md).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    dir: Arc<DirHandle>,
}

/// What the marker of an opened folder says.
pub(crate) enum Marker {
    /// A format-1 store.
    Store,
    /// No marker.
    Missing,
}

/// Read the marker through the folder's handle: a link, FIFO or folder in
/// its place is a damaged store; other content is a newer format.
pub(crate) fn read_marker(dir: &DirHandle) -> Result<Marker, StoreError> {
    match dir.read_file(MARKER, MAX_MARKER_BYTES)? {
        None => Ok(Marker::Missing),
        Some(bytes) if bytes == MARKER_CONTENT.as_bytes() => Ok(Marker::Store),
        Some(_) => Err(StoreError::NotAStore {
            path: dir.path().to_path_buf(),
            reason: format!("{MARKER} is not a format-1 store marker (a newer lbom?)"),
        }),
    }
}

/// Open the folder the operator named as a store root; `NotAStore` when it
/// is missing or not a folder.
pub(crate) fn open_root(path: &Path) -> Result<DirHandle, StoreError> {
    DirHandle::open_root(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => StoreError::NotAStore {
            path: path.to_path_buf(),
            reason: format!("not an lbom store (no such folder, no {MARKER})"),
        },
        io::ErrorKind::NotADirectory => StoreError::NotAStore {
            path: path.to_path_buf(),
            reason: "exists and is not a folder".into(),
        },
        _ => StoreError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })
}

impl Store {
    /// Open an existing store.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let dir = open_root(path)?;
        match read_marker(&dir)? {
            Marker::Store => Ok(Store::from_handle(path, dir)),
            Marker::Missing => Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: format!("not an lbom store (no {MARKER})"),
            }),
        }
    }

    pub(crate) fn from_handle(path: &Path, dir: DirHandle) -> Store {
        Store {
            root: path.to_path_buf(),
            dir: Arc::new(dir),
        }
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The handle of the store folder.
    pub(crate) fn handle(&self) -> &DirHandle {
        &self.dir
    }

    /// The staging folder, when it exists.
    pub(crate) fn staging(&self) -> Result<Option<DirHandle>, StoreError> {
        self.dir.open_dir(STAGING)
    }

    /// A channel's folder (for messages); the name must be a valid channel
    /// label (so it can never be `.staging`, `.lock` or contain `/`).
    pub fn channel_dir(&self, channel: &str) -> Result<PathBuf, StoreError> {
        check_label("channel", channel).map_err(StoreError::Refused)?;
        Ok(self.root.join(channel))
    }

    /// A version's folder (for messages).
    pub fn version_dir(&self, channel: &str, sequence: u64) -> Result<PathBuf, StoreError> {
        Ok(self.channel_dir(channel)?.join(sequence.to_string()))
    }

    /// Open a channel's folder; `None` when it does not exist.
    pub(crate) fn open_channel(&self, channel: &str) -> Result<Option<DirHandle>, StoreError> {
        check_label("channel", channel).map_err(StoreError::Refused)?;
        self.dir.open_dir(channel)
    }

    /// Open a version's folder; `None` when the channel or the version does
    /// not exist.
    pub(crate) fn open_version(
        &self,
        channel: &str,
        sequence: u64,
    ) -> Result<Option<DirHandle>, StoreError> {
        match self.open_channel(channel)? {
            Some(c) => c.open_dir(sequence.to_string()),
            None => Ok(None),
        }
    }

    /// A version's folder, which must exist.
    pub(crate) fn version_handle(
        &self,
        channel: &str,
        sequence: u64,
    ) -> Result<DirHandle, StoreError> {
        self.open_version(channel, sequence)?.ok_or_else(|| {
            StoreError::damaged(
                &self.root.join(channel).join(sequence.to_string()),
                "the version folder is missing",
            )
        })
    }

    /// Every channel: those the registry lists and every channel-named
    /// folder at the root, sorted.
    pub fn channels(&self) -> Result<Vec<String>, StoreError> {
        let mut out: BTreeSet<String> = registry::read(&self.dir)?.channels.into_iter().collect();
        for name in self.dir.entries()? {
            let Some(name) = name.to_str().filter(|n| is_channel_name(n)) else {
                continue;
            };
            if self
                .dir
                .stat(name)?
                .is_some_and(|s| s.kind == super::handle::EntryType::Folder)
            {
                out.insert(name.to_owned());
            }
        }
        Ok(out.into_iter().collect())
    }

    /// The sequence `current` points to, if the channel has one. `current`
    /// is read with `readlinkat` and never followed; its target must be a
    /// plain version number of the same channel.
    pub fn current(&self, channel: &str) -> Result<Option<u64>, StoreError> {
        match self.open_channel(channel)? {
            Some(dir) => current_in(&dir),
            None => Ok(None),
        }
    }

    /// The channel's history, oldest first (a torn last line, left by a
    /// crash during an append, is not returned; the next writer cuts it).
    pub fn history(&self, channel: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        match self.open_channel(channel)? {
            Some(dir) => Ok(read_history(&dir)?.entries),
            None => Ok(Vec::new()),
        }
    }

    /// A version's import record and the SHA-256 of its bytes.
    pub fn record(
        &self,
        channel: &str,
        sequence: u64,
    ) -> Result<(ImportRecord, Sha256Digest), StoreError> {
        let dir = self.version_handle(channel, sequence)?;
        record_in(&dir, channel, sequence)
    }

    /// The channel's baseline for `diff`: the current version's folder and
    /// its manifest, whose bytes must still hash to the recorded digest
    /// (else [`StoreError::Damaged`]). `None` when nothing was imported.
    pub fn baseline(&self, channel: &str) -> Result<Option<Baseline>, StoreError> {
        self.check_structure()?;
        self.baseline_checked(channel)
    }

    /// [`Store::baseline`] once the structure was checked (under the lock,
    /// by [`super::LockedStore::recover`]).
    pub(crate) fn baseline_checked(&self, channel: &str) -> Result<Option<Baseline>, StoreError> {
        let Some(sequence) = self.current(channel)? else {
            return Ok(None);
        };
        self.version_checked(channel, sequence).map(Some)
    }

    /// A committed version of `channel`, as [`Store::baseline`] gives the
    /// current one.
    pub fn version(&self, channel: &str, sequence: u64) -> Result<Baseline, StoreError> {
        self.check_structure()?;
        self.version_checked(channel, sequence)
    }

    fn version_checked(&self, channel: &str, sequence: u64) -> Result<Baseline, StoreError> {
        if !self.is_committed(channel, sequence)? {
            return Err(StoreError::Refused(format!(
                "channel {channel} keeps no version {sequence}"
            )));
        }
        let handle = self.version_handle(channel, sequence)?;
        let (record, _) = record_in(&handle, channel, sequence)?;
        let bundle = handle.dir(BUNDLE_DIR)?;
        let manifest_name = crate::bundle::layout::MANIFEST;
        let limit = crate::bundle::ReadLimits::default().max_manifest_bytes;
        let path = bundle.child(manifest_name);
        let bytes = bundle
            .read_file(manifest_name, limit)?
            .ok_or_else(|| StoreError::damaged(&path, "is missing"))?;
        if Sha256Digest::of(&bytes) != record.manifest_sha256 {
            return Err(StoreError::damaged(
                &path,
                "no longer hashes to the recorded digest",
            ));
        }
        let manifest = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::damaged(&path, format!("does not parse: {e}")))?;
        Ok(Baseline {
            sequence,
            dir: handle.path().to_path_buf(),
            handle: Arc::new(handle),
            manifest,
            manifest_bytes: bytes,
            record,
        })
    }

    /// What the store knows about `channel` for the rollback and fork checks:
    /// `current` and every committed version (recorded in the history, or
    /// current). A channel never imported has the default (empty) state.
    pub fn channel_state(&self, channel: &str) -> Result<ChannelState, StoreError> {
        self.check_structure()?;
        self.channel_state_checked(channel)
    }

    /// [`Store::channel_state`] once the structure was checked (under the
    /// lock, by [`super::LockedStore::recover`]).
    pub(crate) fn channel_state_checked(&self, channel: &str) -> Result<ChannelState, StoreError> {
        let mut versions = BTreeMap::new();
        for entry in self.history(channel)? {
            if entry.action == HistoryAction::Import {
                versions.insert(entry.sequence, entry.manifest_sha256);
            }
        }
        let mut model = None;
        let current = match self.current(channel)? {
            None => None,
            Some(seq) => {
                let (record, _) = self.record(channel, seq)?;
                versions.insert(seq, record.manifest_sha256);
                model = Some(record.name);
                Some((seq, record.manifest_sha256, record.created))
            }
        };
        Ok(ChannelState {
            current,
            versions,
            model,
        })
    }

    /// Whether `sequence` is a committed version of `channel` (recorded in
    /// the history, or current).
    pub(crate) fn is_committed(&self, channel: &str, sequence: u64) -> Result<bool, StoreError> {
        Ok(self.current(channel)? == Some(sequence)
            || self
                .history(channel)?
                .iter()
                .any(|e| e.sequence == sequence))
    }
}

/// `current` in an opened channel folder.
pub(crate) fn current_in(channel: &DirHandle) -> Result<Option<u64>, StoreError> {
    let Some(target) = channel.read_link(CURRENT)? else {
        return Ok(None);
    };
    target
        .to_str()
        .and_then(parse_sequence)
        .map(Some)
        .ok_or_else(|| {
            StoreError::damaged(
                &channel.child(CURRENT),
                format!(
                    "points at {}, not a version of this channel",
                    crate::safe::visible(&target.to_string_lossy())
                ),
            )
        })
}

/// The import record in an opened version folder, which must be for
/// `channel` #`sequence`.
pub(crate) fn record_in(
    version: &DirHandle,
    channel: &str,
    sequence: u64,
) -> Result<(ImportRecord, Sha256Digest), StoreError> {
    let (record, digest) = ImportRecord::read(version)?;
    if record.sequence != sequence || record.channel != channel {
        return Err(StoreError::damaged(
            version.path(),
            format!(
                "import record is for {} #{}, not this folder",
                crate::safe::visible(&record.channel),
                record.sequence
            ),
        ));
    }
    Ok((record, digest))
}

/// A channel's current version, as `diff` compares against it.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Its sequence.
    pub sequence: u64,
    /// Its folder (for messages: its files are read through the handle).
    pub dir: PathBuf,
    /// The version folder, opened without following links.
    handle: Arc<DirHandle>,
    /// Its manifest (checked against the recorded digest).
    pub manifest: crate::bundle::Manifest,
    /// The manifest's exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// Its import record.
    pub record: ImportRecord,
}

impl Baseline {
    /// Its `files/` folder, opened without following a link.
    pub(crate) fn files_dir(&self) -> Result<DirHandle, StoreError> {
        self.handle.dir(super::paths::FILES_DIR)
    }

    /// The fresh scan of each artifact recorded at import (`facts.json`),
    /// checked against the digest in the import record.
    pub fn facts(&self) -> Result<Vec<crate::inspect::facts::ModelFacts>, StoreError> {
        let path = self.handle.child(FACTS);
        let Some(want) = self.record.facts_sha256 else {
            return Err(StoreError::damaged(
                &path,
                "the import record names no scan facts",
            ));
        };
        read_facts(&self.handle, want)
    }

    /// Open the regular file at `rel` inside the version (`files/P`,
    /// `bundle/chain/0001.dsse.json`), one name at a time through folder
    /// handles, never following a link (docs/store.md [S8]); with its size.
    /// Used by `push` and `export --oci-layout`, which hash what they read.
    pub fn open_file(&self, rel: &str) -> Result<(std::fs::File, u64), StoreError> {
        let path = self.handle.child(rel);
        let (parent, name) = self
            .handle
            .open_parent(rel)?
            .ok_or_else(|| StoreError::damaged(&path, "is missing"))?;
        let (file, stat) = parent
            .open_file(name)?
            .ok_or_else(|| StoreError::damaged(&path, "is missing"))?;
        Ok((file, stat.size))
    }

    /// The whole small file at `rel` (at most `max` bytes); `None` when
    /// missing.
    pub fn read_small(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>, StoreError> {
        match self.handle.open_parent(rel)? {
            Some((parent, name)) => parent.read_file(name, max),
            None => Ok(None),
        }
    }
}

/// The `facts.json` of the version folder `dir`, which must hash to
/// `want`. Parsed as a stream and hashed on the way: the file is never held
/// whole (its JSON may be several times the facts' memory).
pub(crate) fn read_facts(
    dir: &DirHandle,
    want: Sha256Digest,
) -> Result<Vec<crate::inspect::facts::ModelFacts>, StoreError> {
    let path = dir.child(FACTS);
    let limit = crate::bundle::ReadLimits::default().max_recorded_facts_bytes();
    let (file, stat) = dir
        .open_file(FACTS)?
        .ok_or_else(|| StoreError::damaged(&path, "is missing"))?;
    if stat.size > limit {
        return Err(StoreError::damaged(
            &path,
            format!("is {} bytes, more than the {limit}-byte limit", stat.size),
        ));
    }
    let mut hashing = crate::io::tee::HashingTee::new(std::io::Read::take(file, limit), true);
    let parsed: Result<Vec<crate::inspect::facts::ModelFacts>, _> =
        serde_json::from_reader(std::io::BufReader::new(&mut hashing));
    // What the parse left unread is hashed too: the digest covers the file.
    let (_, digest) = hashing.drain(|_| {}).map_err(|source| StoreError::Io {
        path: path.clone(),
        source,
    })?;
    if digest != Some(want) {
        return Err(StoreError::damaged(
            &path,
            "no longer hashes to the recorded digest",
        ));
    }
    parsed.map_err(|e| StoreError::damaged(&path, format!("does not parse: {e}")))
}
