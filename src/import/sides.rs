//! Reading a drift [`Side`] from what `lbom diff` is given: a bundle, a
//! store's channel (its current version) or one kept version, or a scan
//! JSON; and the baseline side an import compares against. The comparison
//! itself is `crate::diff`'s; this is the store side of it.
//!
//! Which one an argument is, is decided from what is on disk, never from a
//! name: a folder holding `.lbom-store` is a store; a folder two levels
//! below one (`STORE/<channel>/<seq>` or `STORE/<channel>/current`) is a
//! version; a file whose first non-blank byte is `{` or `[` is a scan JSON;
//! any other file is read as a bundle.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::layout::FILES_DIR;
use super::{Baseline, Store, StoreError};
use crate::diff::{Side, side_of_bundle};
use crate::inspect::delivery::describe_files;
use crate::inspect::side::{Capture, CaptureRule, SideFiles, read_capturing, role_of};
use crate::limits::Limits;
use crate::verify::{Failure, Outcome};

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
    Scan(#[from] crate::diff::Error),
    /// The bundle failed a check (its structure, manifest or digests).
    #[error("{path}: {check} failed: {detail}")]
    Bundle {
        /// The bundle.
        path: PathBuf,
        /// The check.
        check: &'static str,
        /// Its class (exit code).
        failure: Failure,
        /// What it found.
        detail: String,
    },
    /// A store was named without a channel, and it has none or several.
    #[error("{path}: which channel? The store does not hold exactly one (it has: {channels})")]
    NeedsChannel {
        /// The store.
        path: PathBuf,
        /// Its channels.
        channels: String,
    },
}

impl LoadError {
    /// The class of this error (its exit code at the CLI).
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self {
            LoadError::Io { .. } => Class::Io,
            LoadError::Store(e) => e.class(),
            LoadError::Scan(e) => e.class(),
            LoadError::Bundle { failure, .. } => failure.class(),
            LoadError::NeedsChannel { .. } => Class::Usage,
        }
    }
}

/// A kept version of a store: the scans recorded at import and its stored
/// side files (each checked against the manifest's digest), described as
/// `verify` describes the bundle, so both sides of an import's drift are
/// computed by the same code from the same kind of input.
pub fn side_of_version(label: impl Into<String>, version: &Baseline) -> Result<Side, StoreError> {
    side_of_version_with(label, version, &SideFiles::default())
}

/// [`side_of_version`], where a stored side file that can no longer be
/// read as recorded (its bytes changed, or it is not a regular file) may be
/// stood in for by a verified side file of `stand_in` with the same path
/// and SHA-256 (the same bytes: `import` passes the new bundle's). Without
/// one, the version is damaged.
pub fn side_of_version_with(
    label: impl Into<String>,
    version: &Baseline,
    stand_in: &SideFiles,
) -> Result<Side, StoreError> {
    let facts = version.facts()?;
    let sides = stored_side_files(version, stand_in)?;
    let files = facts
        .into_iter()
        .map(|f| (f.model_path.clone(), f))
        .collect();
    let models = describe_files(files, &sides, Limits::default().folder_context_max_bytes)
        .map_err(|e| StoreError::damaged(&version.dir, format!("cannot be described: {e}")))?;
    Ok(side_of_bundle(label, &version.manifest, models))
}

/// The side files of a stored version: digest-only roles from the
/// manifest, the others read from `files/` (never through a symbolic
/// link) and checked against the manifest's digest.
fn stored_side_files(version: &Baseline, stand_in: &SideFiles) -> Result<SideFiles, StoreError> {
    let limits = Limits::default();
    let root = version.dir.join(FILES_DIR);
    let mut sides = SideFiles::default();
    for entry in &version.manifest.entries {
        let Some(path) = entry.artifact_path() else {
            continue;
        };
        let rel = Path::new(path.as_str());
        let Some((_, name, role)) = role_of(rel) else {
            continue;
        };
        let rule = role.capture(&name, &limits);
        let wanted = match rule {
            CaptureRule::Digest => false,
            CaptureRule::Whole(max) => entry.size <= max,
            CaptureRule::Prefix(_) => true,
        };
        if !wanted {
            sides.add(rel, entry.sha256, Capture::Nothing, &limits);
            continue;
        }
        let at = root.join(rel);
        let read = open_stored(&root, path.as_str())
            .and_then(|(file, len)| read_capturing(file, len, rule));
        match read {
            Ok((digest, kept)) if digest == entry.sha256 => {
                sides.add(rel, digest, kept.as_capture(), &limits);
            }
            failed => match stand_in.same_file(rel, &entry.sha256) {
                Some(copy) => sides.add_read(rel, copy.clone()),
                None => {
                    return Err(match failed {
                        Err(e) => StoreError::Io {
                            path: at,
                            source: e,
                        },
                        Ok(_) => {
                            StoreError::damaged(&at, "no longer hashes to the manifest's digest")
                        }
                    });
                }
            },
        }
    }
    Ok(sides)
}

/// Open `rel` (a bundle path: `/`-separated, no `..`) below `root` one
/// component at a time without following a symbolic link, and check that
/// it is a regular file; returns it with its length.
fn open_stored(root: &Path, rel: &str) -> std::io::Result<(std::fs::File, u64)> {
    use rustix::fs::{CWD, Mode, OFlags, openat};
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut dir = openat(CWD, root, dir_flags, Mode::empty())?;
    let mut parts = rel.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_some() {
            dir = openat(&dir, part, dir_flags, Mode::empty())?;
            continue;
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = std::fs::File::from(openat(&dir, part, flags, Mode::empty())?);
        let meta = file.metadata()?;
        if !meta.file_type().is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        return Ok((file, meta.len()));
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "empty path",
    ))
}

/// Read what `arg` names (see the module docs). `channel` picks the
/// channel of a store with several.
pub fn load_side(arg: &Path, channel: Option<&str>) -> Result<Side, LoadError> {
    load_side_against(arg, channel, None)
}

/// [`load_side`], with `other` the other side of the comparison: a
/// differential bundle is rebuilt from its base, which `other` must be (the
/// full base bundle, or a store whose current version it is;
/// docs/bundle-format.md §14).
pub fn load_side_against(
    arg: &Path,
    channel: Option<&str>,
    other: Option<&Path>,
) -> Result<Side, LoadError> {
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
    crate::io::open::open_regular(arg)
        .map_err(io)?
        .0
        .take(512)
        .read_to_end(&mut head)
        .map_err(io)?;
    let json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if is_model_file(&head, meta.len()) {
        return model_file_side(arg, label);
    }
    if json {
        let (file, len) = crate::io::open::open_regular(arg).map_err(io)?;
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
    let base = super::base::differential_base(arg, other)?;
    match crate::verify::scan_unverified(arg, &crate::bundle::Caps::default(), base) {
        Ok(read) => Ok(side_of_bundle(label, &read.manifest, read.models)),
        Err(report) => {
            let failed = report.checks.iter().find_map(|c| match c.outcome {
                Outcome::Fail(f) => Some((c.name.as_str(), f, c.detail.clone())),
                _ => None,
            });
            let (check, failure, detail) =
                failed.unwrap_or(("bundle", Failure::Io, "unreadable".into()));
            Err(LoadError::Bundle {
                path: arg.to_path_buf(),
                check,
                failure,
                detail,
            })
        }
    }
}

/// Whether the first bytes are a model file's (GGUF, safetensors, a pickle
/// or a zip), not a bundle's tar header.
fn is_model_file(head: &[u8], len: u64) -> bool {
    use crate::inspect::Sniffed;
    !matches!(crate::inspect::sniff(head, len), Sniffed::Unknown)
}

/// A model file named directly: scanned as `lbom scan` scans it, and
/// compared as its scan JSON would be (`lbom diff a.gguf b.gguf`).
fn model_file_side(arg: &Path, label: String) -> Result<Side, LoadError> {
    let models = crate::inspect::scan(
        &[arg.to_path_buf()],
        &crate::inspect::ScanOptions::default(),
        &crate::limits::Limits::default(),
        &crate::inspect::NoProgress,
    )
    .map_err(|e| LoadError::Io {
        path: arg.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let info = crate::describe::DocumentInfo {
        created: jiff::Timestamp::UNIX_EPOCH,
        tool_name: crate::TOOL_NAME,
        tool_version: crate::TOOL_VERSION,
    };
    let mut json = Vec::new();
    crate::describe::json::write(&models, &info, &mut json).map_err(|e| LoadError::Io {
        path: arg.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(Side::from_scan_json(&json, label)?)
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
