//! Building a [`Side`] from what `lbom diff` is given: a bundle, a store's
//! channel (its current version) or one kept version, or a scan JSON; and
//! from what `import` has at hand (the verified bundle and the baseline).
//!
//! Which one an argument is, is decided from what is on disk, never from a
//! name: a folder holding `.lbom-store` is a store; a folder two levels
//! below one (`STORE/<channel>/<seq>` or `STORE/<channel>/current`) is a
//! version; a file whose first non-blank byte is `{` or `[` is a scan JSON;
//! any other file is read as a bundle.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{FileRecord, Side};
use crate::bundle::{BundlePath, Manifest, ReadLimits, Role};
use crate::import::{Baseline, Store, StoreError};
use crate::inspect::facts::ModelFacts;
use crate::verify::{Failure, Outcome, Verified};

/// Largest scan JSON read.
const MAX_SCAN_JSON_BYTES: u64 = 256 << 20;

/// Why a side could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store or its version could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The scan JSON is not a scan.
    #[error(transparent)]
    Scan(#[from] super::Error),
    /// The bundle failed a check (its structure, manifest or digests).
    #[error("{path}: {check} failed: {detail}")]
    Bundle {
        /// The bundle.
        path: PathBuf,
        /// The check.
        check: String,
        /// Its class (exit code).
        failure: Failure,
        /// What it found.
        detail: String,
    },
    /// A store was named without a channel, and it has several.
    #[error("{path}: name the channel with --channel (the store has: {channels})")]
    NeedsChannel {
        /// The store.
        path: PathBuf,
        /// Its channels.
        channels: String,
    },
}

impl LoadError {
    /// The failure class behind the exit code, when a check failed.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            LoadError::Bundle { failure, .. } => Some(*failure),
            _ => None,
        }
    }
}

/// The artifacts of `manifest` as files, and their fresh scans as models
/// (the scans carry the artifact paths). The scans are taken, not copied:
/// a bundle's facts may be as large as the reader allows
/// (docs/bundle-format.md, "Reader limits"), and `diff` holds two sides.
pub fn side_of_bundle(
    label: impl Into<String>,
    manifest: &Manifest,
    facts: Vec<(BundlePath, ModelFacts)>,
) -> Side {
    let files = manifest
        .entries
        .iter()
        .filter(|e| e.role == Role::Artifact)
        .filter_map(|e| {
            Some(FileRecord {
                path: e.artifact_path()?.as_str().to_owned(),
                sha256: e.sha256,
                size: e.size,
            })
        })
        .collect();
    let models = facts
        .into_iter()
        .map(|(path, mut f)| {
            f.model_path = path.as_str().to_owned();
            f
        })
        .collect();
    Side::from_facts(label, files, models)
}

/// A bundle that passed verification.
pub fn side_of_verified(label: impl Into<String>, verified: &Verified) -> Side {
    side_of_bundle(label, &verified.manifest, verified.facts.clone())
}

/// A kept version of a store: its manifest and the facts recorded at import
/// (both checked against the import record's digests).
pub fn side_of_version(label: impl Into<String>, version: &Baseline) -> Result<Side, StoreError> {
    let facts = version.facts()?;
    let paired: Vec<(BundlePath, ModelFacts)> = facts
        .into_iter()
        .filter_map(|f| Some((BundlePath::new(&f.model_path).ok()?, f)))
        .collect();
    Ok(side_of_bundle(label, &version.manifest, paired))
}

/// Read what `arg` names (see the module docs). `channel` picks the
/// channel of a store with several.
pub fn load(arg: &Path, channel: Option<&str>) -> Result<Side, LoadError> {
    let io = |source| LoadError::Io {
        path: arg.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(arg).map_err(io)?;
    if meta.is_dir() {
        return load_store_path(arg, channel);
    }
    let label = arg.display().to_string();
    let mut head = Vec::with_capacity(512);
    crate::inspect::open::open_regular(arg)
        .map_err(io)?
        .0
        .take(512)
        .read_to_end(&mut head)
        .map_err(io)?;
    let json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if json {
        let (file, len) = crate::inspect::open::open_regular(arg).map_err(io)?;
        if len > MAX_SCAN_JSON_BYTES {
            return Err(io(std::io::Error::other(format!(
                "{len} bytes is more than the {MAX_SCAN_JSON_BYTES}-byte limit for a scan JSON"
            ))));
        }
        let mut bytes = Vec::new();
        file.take(MAX_SCAN_JSON_BYTES)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        return Ok(Side::from_scan_json(&bytes, label)?);
    }
    match crate::verify::scan_unverified(arg, &ReadLimits::default()) {
        Ok((manifest, facts)) => Ok(side_of_bundle(label, &manifest, facts)),
        Err(report) => {
            let failed = report.checks.iter().find_map(|c| match c.outcome {
                Outcome::Fail(f) => Some((c.name.clone(), f, c.detail.clone())),
                _ => None,
            });
            let (check, failure, detail) =
                failed.unwrap_or(("bundle".into(), Failure::Io, "unreadable".into()));
            Err(LoadError::Bundle {
                path: arg.to_path_buf(),
                check,
                failure,
                detail,
            })
        }
    }
}

/// A store (its channel's current version) or a version folder below one.
fn load_store_path(arg: &Path, channel: Option<&str>) -> Result<Side, LoadError> {
    if let Ok(store) = Store::open(arg) {
        let channel = match channel {
            Some(c) => c.to_owned(),
            None => only_channel(arg, &store)?,
        };
        let version = store.baseline(&channel)?.ok_or_else(|| {
            StoreError::Refused(format!("channel {channel} has no imported version"))
        })?;
        let label = format!("{}:{channel}@{}", arg.display(), version.sequence);
        return Ok(side_of_version(label, &version)?);
    }
    // STORE/<channel>/<seq> or STORE/<channel>/current.
    let not_store = || {
        LoadError::Store(StoreError::Refused(format!(
            "{} is neither a store nor a version folder of one (STORE/<channel>/<seq>)",
            arg.display()
        )))
    };
    let name = arg
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(not_store)?;
    let channel_dir = arg.parent().ok_or_else(not_store)?;
    let channel_name = channel_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(not_store)?;
    let root = channel_dir.parent().ok_or_else(not_store)?;
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let store = Store::open(root).map_err(|_| not_store())?;
    let version = if name == "current" {
        store.baseline(channel_name)?.ok_or_else(not_store)?
    } else {
        let seq = name.parse::<u64>().map_err(|_| not_store())?;
        store.version(channel_name, seq)?
    };
    let label = format!("{}:{channel_name}@{}", root.display(), version.sequence);
    Ok(side_of_version(label, &version)?)
}

fn only_channel(path: &Path, store: &Store) -> Result<String, LoadError> {
    let channels = store.channels()?;
    match channels.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(LoadError::NeedsChannel {
            path: path.to_path_buf(),
            channels: if channels.is_empty() {
                "none".into()
            } else {
                channels.join(", ")
            },
        }),
    }
}
