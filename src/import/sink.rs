//! The import sink: where verified bytes land while `verify` streams the
//! bundle, so that verifying and extracting read the bundle once.
//!
//! Everything goes into a fresh folder `STORE/.staging/<random>/` laid out
//! like a version: artifacts under `files/<artifact path>`, metadata entries
//! under `bundle/<entry name>`. Names come from a manifest the reader has
//! already checked canonical (bundle::path), but the sink does not rely on
//! it: every path is re-checked for plain segments, every folder component
//! must be a real folder (never a symlink), every file is created with
//! `O_CREAT | O_EXCL | O_NOFOLLOW`.
//!
//! Sharing: when the channel's current version holds a file with the same
//! SHA-256 and size, [`begin`](ArtifactSink::begin) re-hashes that file and,
//! if it still matches, returns `None` (the verifier only hashes the
//! stream); [`finish`](ArtifactSink::finish) then hard-links it into the
//! staged version instead of writing a copy. A hard link is acceptable
//! because committed files are read-only (0444) in read-only folders and
//! nothing in lbom ever writes to a committed file; `audit` re-hashes every
//! version. Its limit: the versions share one inode, so whoever can bypass
//! the modes (root, or the store's owner with `chmod`) and edit the file in
//! place changes both versions at once, and rolling back does not undo it.
//! `audit --all` names the damage in every version it reaches. When the link
//! fails (EXDEV on a store spanning mounts, EMLINK), the file is copied from
//! the baseline, hashing the copy against the manifest.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use super::error::{StoreError, io_at};
use super::fsutil;
use super::layout::{BUNDLE_DIR, FILES_DIR, Store};
use super::lock::LockedStore;
use super::record::StoredFile;
use super::writer::Background;
use crate::bundle::{BundlePath, Manifest, ManifestEntry, ReadLimits, layout};
use crate::inspect::digest::Sha256Digest;
use crate::verify::ArtifactSink;

/// The current version's files, by content, for sharing.
#[derive(Debug, Default)]
struct Baseline {
    files_dir: PathBuf,
    by_content: HashMap<(Sha256Digest, u64), String>,
}

/// A shared file waiting for `finish`: the baseline file, with the inode
/// that was hashed.
#[derive(Debug)]
struct PendingShare {
    source: PathBuf,
    dev: u64,
    ino: u64,
}

/// A staged version being written by [`ImportSink`].
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    artifacts: BTreeSet<String>,
    unlisted: BTreeMap<String, StoredFile>,
    metadata_names: BTreeSet<String>,
    shared: u64,
    written: u64,
}

impl Staged {
    /// The staging folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Artifact paths fully staged (written or shared).
    pub fn artifacts(&self) -> &BTreeSet<String> {
        &self.artifacts
    }

    /// How many artifacts were shared with the baseline (hard link or copy
    /// from it) and how many were written from the bundle.
    pub fn counts(&self) -> (u64, u64) {
        (self.shared, self.written)
    }

    /// Whether the metadata entry `name` was staged.
    pub fn has_metadata(&self, name: &str) -> bool {
        self.metadata_names.contains(name)
    }

    /// Every metadata entry name staged.
    pub fn metadata_names(&self) -> impl Iterator<Item = &str> {
        self.metadata_names.iter().map(String::as_str)
    }

    /// The staged chain links (`bundle/chain/…`) with their digests: what a
    /// receipt names as input attestations and `import.json` records.
    pub fn chain_links(&self) -> Vec<StoredFile> {
        self.unlisted.values().cloned().collect()
    }

    /// Remove the staging folder (a refused import).
    pub fn discard(self) -> Result<(), StoreError> {
        fsutil::remove_tree(&self.dir).map_err(io_at(&self.dir))
    }
}

/// [`ArtifactSink`] writing into a staging folder of the store.
#[derive(Debug)]
pub struct ImportSink {
    staged: Staged,
    baseline: Baseline,
    pending: HashMap<String, PendingShare>,
    /// Writes and fsyncs the staged files while the verifier hashes.
    background: Background,
}

impl LockedStore {
    /// Start staging an import. `channel` (when known) names the channel
    /// whose current version files are shared from.
    pub fn stage(&self, channel: Option<&str>) -> Result<ImportSink, StoreError> {
        let staging = self.staging_dir();
        match fs::DirBuilder::new().mode(0o755).create(&staging) {
            Ok(()) => fsutil::sync_dir(self.root()).map_err(io_at(self.root()))?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_at(&staging)(e)),
        }
        if !fs::symlink_metadata(&staging)
            .map_err(io_at(&staging))?
            .is_dir()
        {
            return Err(StoreError::damaged(&staging, "is not a folder"));
        }
        let mut random = [0u8; 12];
        getrandom::fill(&mut random)
            .map_err(|e| io_at(&staging)(io::Error::other(e.to_string())))?;
        let dir = staging.join(format!("import-{}", hex::encode(random)));
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&dir)
            .map_err(io_at(&dir))?;
        for sub in [FILES_DIR, BUNDLE_DIR] {
            let p = dir.join(sub);
            fs::DirBuilder::new()
                .mode(0o755)
                .create(&p)
                .map_err(io_at(&p))?;
        }
        let baseline = match channel {
            Some(c) => load_baseline(self, c)?,
            None => Baseline::default(),
        };
        Ok(ImportSink {
            staged: Staged {
                dir,
                artifacts: BTreeSet::new(),
                unlisted: BTreeMap::new(),
                metadata_names: BTreeSet::new(),
                shared: 0,
                written: 0,
            },
            baseline,
            pending: HashMap::new(),
            background: Background::start().map_err(io_at(&staging))?,
        })
    }
}

/// The current version's artifacts by content. Its manifest must still hash
/// to the recorded digest; otherwise nothing is shared (and `audit` will
/// say why).
fn load_baseline(store: &Store, channel: &str) -> Result<Baseline, StoreError> {
    let Some(seq) = store.current(channel)? else {
        return Ok(Baseline::default());
    };
    let (record, _) = store.record(channel, seq)?;
    let version = store.version_dir(channel, seq)?;
    let manifest_path = version.join(BUNDLE_DIR).join(layout::MANIFEST);
    let limit = ReadLimits::default().max_manifest_bytes;
    let Ok(bytes) = fsutil::read_small(&manifest_path, limit) else {
        return Ok(Baseline::default());
    };
    if Sha256Digest::of(&bytes) != record.manifest_sha256 {
        return Ok(Baseline::default());
    }
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Ok(Baseline::default());
    };
    let by_content = manifest
        .entries
        .iter()
        .filter_map(|e| Some(((e.sha256, e.size), e.artifact_path()?.as_str().to_owned())))
        .collect();
    Ok(Baseline {
        files_dir: version.join(FILES_DIR),
        by_content,
    })
}

impl ImportSink {
    /// The staged version, once the verifier is done with the sink, after
    /// every file it staged is written and on disk (or the first error that
    /// prevented it: the staged version must then be discarded).
    pub fn into_staged(mut self) -> (Staged, Result<(), StoreError>) {
        let written = self.background.finish().map_err(io_at(&self.staged.dir));
        (self.staged, written)
    }

    /// The staged version so far.
    pub fn staged(&self) -> &Staged {
        &self.staged
    }

    fn target(&self, root: &str, rel: &str) -> io::Result<PathBuf> {
        fsutil::prepare_parents(&self.staged.dir.join(root), rel)
    }

    /// A baseline file with this content, re-hashed now: sharing never
    /// trusts a baseline file it has not just checked.
    fn shareable(&self, entry: &ManifestEntry) -> Option<PendingShare> {
        let rel = self.baseline.by_content.get(&(entry.sha256, entry.size))?;
        if !fsutil::plain_relative(rel) {
            return None;
        }
        let source = self.baseline.files_dir.join(rel);
        let (file, meta) = fsutil::open_regular(&source).ok()?;
        if meta.len() != entry.size {
            return None;
        }
        let (n, digest) = fsutil::hash_reader(file).ok()?;
        (n == entry.size && digest == entry.sha256).then(|| PendingShare {
            source,
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    fn share(&self, share: &PendingShare, target: &Path, entry: &ManifestEntry) -> io::Result<()> {
        match fs::hard_link(&share.source, target) {
            Ok(()) => {
                let m = fs::symlink_metadata(target)?;
                if m.dev() == share.dev && m.ino() == share.ino {
                    return Ok(());
                }
                // The baseline name was replaced between hash and link.
                fs::remove_file(target)?;
                Err(io::Error::other(format!(
                    "{} changed while it was shared",
                    share.source.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            Err(_) => copy_checked(&share.source, target, entry),
        }
    }
}

/// Copy `source` to a new `target`, hashing what is written; the copy must
/// match the manifest entry.
fn copy_checked(source: &Path, target: &Path, entry: &ManifestEntry) -> io::Result<()> {
    let (from, _) = fsutil::open_regular(source)?;
    let mut out = fsutil::create_new(target)?;
    let mut tee = TeeHash {
        inner: from,
        hasher: crate::inspect::digest::Hasher::new(),
    };
    io::copy(&mut tee, &mut out)?;
    let (n, digest) = (tee.hasher.bytes(), tee.hasher.finish());
    if n != entry.size || digest != entry.sha256 {
        drop(out);
        fs::remove_file(target)?;
        return Err(io::Error::other(format!(
            "{} changed while it was copied",
            source.display()
        )));
    }
    fsutil::seal_file(&out)
}

struct TeeHash {
    inner: File,
    hasher: crate::inspect::digest::Hasher,
}

impl io::Read for TeeHash {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

impl ArtifactSink for ImportSink {
    fn begin(
        &mut self,
        artifact: &BundlePath,
        entry: &ManifestEntry,
    ) -> io::Result<Option<Box<dyn Write + Send>>> {
        let rel = artifact.as_str();
        let target = self.target(FILES_DIR, rel)?;
        if let Some(share) = self.shareable(entry) {
            self.pending.insert(rel.to_owned(), share);
            return Ok(None);
        }
        let file = fsutil::create_new(&target)?;
        Ok(Some(Box::new(
            self.background.writer(file, target, entry.size)?,
        )))
    }

    fn finish(&mut self, artifact: &BundlePath, entry: &ManifestEntry) -> io::Result<()> {
        let rel = artifact.as_str();
        let target = self.target(FILES_DIR, rel)?;
        if let Some(share) = self.pending.remove(rel) {
            self.share(&share, &target, entry)?;
            self.staged.shared = self.staged.shared.saturating_add(1);
        } else {
            // Size check, read-only mode and fsync on the writer thread,
            // after the last queued byte (see `writer`).
            self.background.seal(target, entry.size)?;
            self.staged.written = self.staged.written.saturating_add(1);
        }
        self.staged.artifacts.insert(rel.to_owned());
        Ok(())
    }

    fn metadata(&mut self, name: &BundlePath, bytes: &[u8]) -> io::Result<()> {
        let rel = name.as_str();
        let target = self.target(BUNDLE_DIR, rel)?;
        // Created here, so a clash shows at once; written and fsynced on
        // the writer thread.
        let file = fsutil::create_new(&target)?;
        self.background.small(file, bytes.to_vec())?;
        if rel.starts_with(&format!("{}/", layout::CHAIN_DIR)) {
            let path = format!("{BUNDLE_DIR}/{rel}");
            self.staged.unlisted.insert(
                path.clone(),
                StoredFile {
                    path,
                    size: bytes.len() as u64,
                    sha256: Sha256Digest::of(bytes),
                },
            );
        }
        self.staged.metadata_names.insert(rel.to_owned());
        Ok(())
    }
}
