//! The store on disk: the marker, the paths of channels and versions, and
//! reading what is committed (docs/store.md, "Layout").

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::{StoreError, io_at};
use super::fsutil;
use super::record::{HistoryAction, HistoryEntry, ImportRecord, read_history};
use crate::bundle::manifest::check_label;
use crate::inspect::digest::Sha256Digest;
use crate::verify::ChannelState;

/// The marker file naming a folder as a store.
pub const MARKER: &str = ".lbom-store";
/// The marker's content: store format 1.
pub const MARKER_CONTENT: &str = "{\"format\":\"lbom-store\",\"version\":1}\n";
/// The lock file.
pub const LOCK: &str = ".lock";
/// The staging folder (imports in progress).
pub const STAGING: &str = ".staging";
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

/// An opened store (not locked: reading needs no lock, see docs/store.md).
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Open an existing store.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let marker = path.join(MARKER);
        match fsutil::read_small(&marker, 4096) {
            Ok(bytes) if bytes == MARKER_CONTENT.as_bytes() => Ok(Store {
                root: path.to_path_buf(),
            }),
            Ok(_) => Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: format!("{MARKER} is not a format-1 store marker (a newer lbom?)"),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: format!("not an lbom store (no {MARKER})"),
            }),
            Err(e) => Err(io_at(&marker)(e)),
        }
    }

    /// Open a store, creating it when `path` is missing or an empty folder.
    /// A folder holding anything else is refused, never taken over.
    pub fn open_or_create(path: &Path) -> Result<Store, StoreError> {
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(path).map_err(io_at(path))?;
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fsutil::sync_dir(parent).map_err(io_at(parent))?;
                }
            }
            Err(e) => return Err(io_at(path)(e)),
            Ok(m) if !m.is_dir() => {
                return Err(StoreError::NotAStore {
                    path: path.to_path_buf(),
                    reason: "exists and is not a folder".into(),
                });
            }
            Ok(_) => {
                if path.join(MARKER).exists() {
                    return Store::open(path);
                }
            }
        }
        let tmp = path.join(format!("{MARKER}.tmp"));
        let mut names = Vec::new();
        for entry in fs::read_dir(path).map_err(io_at(path))? {
            let name = entry.map_err(io_at(path))?.file_name();
            if name != tmp.file_name().unwrap_or_default() {
                names.push(name);
            }
        }
        if let Some(first) = names.first() {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: format!(
                    "folder is not empty and not an lbom store (it holds {first:?}); refusing to use it"
                ),
            });
        }
        // Marker written whole under a temporary name, then renamed: a crash
        // leaves an empty folder (plus the temporary, ignored above) or a store.
        fsutil::remove_tree(&tmp).map_err(io_at(&tmp))?;
        fsutil::write_new_synced(&tmp, MARKER_CONTENT.as_bytes()).map_err(io_at(&tmp))?;
        let marker = path.join(MARKER);
        fs::rename(&tmp, &marker).map_err(io_at(&marker))?;
        fsutil::sync_dir(path).map_err(io_at(path))?;
        Ok(Store {
            root: path.to_path_buf(),
        })
    }

    /// The store folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn staging_dir(&self) -> PathBuf {
        self.root.join(STAGING)
    }

    /// A channel's folder; the name must be a valid channel label (so it can
    /// never be `.staging`, `.lock` or contain `/`).
    pub fn channel_dir(&self, channel: &str) -> Result<PathBuf, StoreError> {
        check_label("channel", channel).map_err(StoreError::Refused)?;
        Ok(self.root.join(channel))
    }

    /// A version's folder.
    pub fn version_dir(&self, channel: &str, sequence: u64) -> Result<PathBuf, StoreError> {
        Ok(self.channel_dir(channel)?.join(sequence.to_string()))
    }

    /// Every channel folder, sorted.
    pub fn channels(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(io_at(&self.root))? {
            let entry = entry.map_err(io_at(&self.root))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_dir = entry.file_type().map_err(io_at(&entry.path()))?.is_dir();
            if is_dir && check_label("channel", &name).is_ok() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The sequence `current` points to, if the channel has one.
    pub fn current(&self, channel: &str) -> Result<Option<u64>, StoreError> {
        let link = self.channel_dir(channel)?.join(CURRENT);
        let target = match fs::read_link(&link) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => {
                return Err(StoreError::damaged(&link, "is not a symbolic link"));
            }
            Err(e) => return Err(io_at(&link)(e)),
        };
        target
            .to_str()
            .and_then(parse_sequence)
            .map(Some)
            .ok_or_else(|| {
                StoreError::damaged(
                    &link,
                    format!("points at {target:?}, not a version of this channel"),
                )
            })
    }

    /// The channel's history, oldest first (a torn last line, left by a
    /// crash during an append, is not returned; the next import repairs it).
    pub fn history(&self, channel: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(read_history(&self.channel_dir(channel)?.join(HISTORY))?.entries)
    }

    /// A version's import record and the SHA-256 of its bytes.
    pub fn record(
        &self,
        channel: &str,
        sequence: u64,
    ) -> Result<(ImportRecord, Sha256Digest), StoreError> {
        let dir = self.version_dir(channel, sequence)?;
        let (record, digest) = ImportRecord::read(&dir.join(RECORD))?;
        if record.sequence != sequence || record.channel != channel {
            return Err(StoreError::damaged(
                &dir,
                format!(
                    "import record is for {} #{}, not this folder",
                    record.channel, record.sequence
                ),
            ));
        }
        Ok((record, digest))
    }

    /// The channel's baseline for `diff`: the current version's folder and
    /// its manifest, whose bytes must still hash to the recorded digest
    /// (else [`StoreError::Damaged`]). `None` when nothing was imported.
    pub fn baseline(&self, channel: &str) -> Result<Option<Baseline>, StoreError> {
        let Some(sequence) = self.current(channel)? else {
            return Ok(None);
        };
        self.version(channel, sequence).map(Some)
    }

    /// A committed version of `channel`, as [`Store::baseline`] gives the
    /// current one.
    pub fn version(&self, channel: &str, sequence: u64) -> Result<Baseline, StoreError> {
        if !self.is_committed(channel, sequence)? {
            return Err(StoreError::Refused(format!(
                "channel {channel} keeps no version {sequence}"
            )));
        }
        let (record, _) = self.record(channel, sequence)?;
        let dir = self.version_dir(channel, sequence)?;
        let path = dir.join(BUNDLE_DIR).join(crate::bundle::layout::MANIFEST);
        let limit = crate::bundle::ReadLimits::default().max_manifest_bytes;
        let bytes = fsutil::read_small(&path, limit).map_err(io_at(&path))?;
        if Sha256Digest::of(&bytes) != record.manifest_sha256 {
            return Err(StoreError::damaged(
                &path,
                "no longer hashes to the recorded digest; run lbom audit",
            ));
        }
        let manifest = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::damaged(&path, format!("does not parse: {e}")))?;
        Ok(Baseline {
            sequence,
            dir,
            manifest,
            manifest_bytes: bytes,
            record,
        })
    }

    /// What the store knows about `channel` for the rollback and fork checks:
    /// `current` and every committed version (recorded in the history, or
    /// current). A channel never imported has the default (empty) state.
    pub fn channel_state(&self, channel: &str) -> Result<ChannelState, StoreError> {
        let mut versions = BTreeMap::new();
        for entry in self.history(channel)? {
            if entry.action == HistoryAction::Import {
                versions.insert(entry.sequence, entry.manifest_sha256);
            }
        }
        let current = match self.current(channel)? {
            None => None,
            Some(seq) => {
                let (record, _) = self.record(channel, seq)?;
                versions.insert(seq, record.manifest_sha256);
                Some((seq, record.manifest_sha256, record.created))
            }
        };
        Ok(ChannelState { current, versions })
    }

    /// Whether `sequence` is a committed version of `channel` (it was
    /// current once: recorded in the history, or current now).
    pub(crate) fn is_committed(&self, channel: &str, sequence: u64) -> Result<bool, StoreError> {
        Ok(self.current(channel)? == Some(sequence)
            || self
                .history(channel)?
                .iter()
                .any(|e| e.sequence == sequence))
    }
}

/// A channel's current version, as `diff` compares against it.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Its sequence.
    pub sequence: u64,
    /// Its folder (`files/`, `bundle/sboms/…` inside).
    pub dir: PathBuf,
    /// Its manifest (checked against the recorded digest).
    pub manifest: crate::bundle::Manifest,
    /// The manifest's exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// Its import record.
    pub record: ImportRecord,
}

impl Baseline {
    /// The fresh scan of each artifact recorded at import (`facts.json`),
    /// checked against the digest in the import record.
    pub fn facts(&self) -> Result<Vec<crate::inspect::facts::ModelFacts>, StoreError> {
        let path = self.dir.join(FACTS);
        let Some(want) = self.record.facts_sha256 else {
            return Err(StoreError::damaged(
                &path,
                "the import record names no scan facts",
            ));
        };
        // Parsed as a stream and hashed on the way: the file is never held
        // whole (its JSON may be several times the facts' memory).
        let limit = crate::bundle::ReadLimits::default().max_recorded_facts_bytes();
        let (file, meta) = fsutil::open_regular(&path).map_err(io_at(&path))?;
        if meta.len() > limit {
            return Err(StoreError::damaged(
                &path,
                format!("is {} bytes, more than the {limit}-byte limit", meta.len()),
            ));
        }
        let mut hashing =
            crate::inspect::digest::HashingReader::new(std::io::Read::take(file, limit), true);
        let parsed: Result<Vec<crate::inspect::facts::ModelFacts>, _> =
            serde_json::from_reader(std::io::BufReader::new(&mut hashing));
        // What the parse left unread is hashed too: the digest covers the file.
        let (_, digest) = hashing.drain(|_| {}).map_err(io_at(&path))?;
        if digest != Some(want) {
            return Err(StoreError::damaged(
                &path,
                "no longer hashes to the recorded digest; run lbom audit",
            ));
        }
        parsed.map_err(|e| StoreError::damaged(&path, format!("does not parse: {e}")))
    }
}

/// A version folder name: decimal, no sign, no leading zero, at least 1.
pub(crate) fn parse_sequence(s: &str) -> Option<u64> {
    if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
