//! The import sink: where verified bytes land while `verify` streams the
//! bundle, so that verifying and extracting read the bundle once.
//!
//! Everything goes into a fresh folder `STORE/.staging/<random>/` laid out
//! like a version: artifacts under `files/<artifact path>`, metadata entries
//! under `bundle/<entry name>`. Names come from a manifest the reader has
//! already checked canonical (bundle::path), but the sink does not rely on
//! it: every path is re-checked for plain segments, every folder is created
//! and entered one segment at a time through handles (never a link:
//! docs/store.md, "No link is ever followed"), every file is created with
//! `O_CREAT | O_EXCL | O_NOFOLLOW` relative to its folder's handle, so a
//! link swapped into the staging tree during the import redirects nothing.
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
use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::StoreError;
use super::fsutil;
use super::handle::{DirHandle, EntryType};
use super::layout::{Store, record_in};
use super::lock::LockedStore;
use super::paths::{BUNDLE_DIR, FACTS, FILES_DIR, STAGED_PREFIX};
use super::record::StoredFile;
use crate::bundle::delta::BaseFiles;
use crate::bundle::{BundlePath, Manifest, ManifestEntry, ReadLimits, layout};
use crate::io::digest::Hasher;
use crate::io::digest::Sha256Digest;
use crate::io::tee::{HashingTee, HashingWriter};
use crate::io::writer::{Background, DIRECT_FROM_BYTES};
use crate::verify::ArtifactSink;

/// The current version's files, by content, for sharing.
#[derive(Debug, Default)]
struct ShareBaseline {
    files: Option<DirHandle>,
    by_content: HashMap<(Sha256Digest, u64), String>,
}

/// A shared file waiting for `finish`: the baseline file's folder and name,
/// with the inode that was hashed.
#[derive(Debug)]
struct PendingShare {
    dir: DirHandle,
    name: String,
    dev: u64,
    ino: u64,
}

/// A staged version being written by [`ImportSink`].
#[derive(Debug)]
pub struct Staged {
    /// `STORE/.staging`.
    staging: DirHandle,
    /// The staged folder's name in it.
    name: String,
    /// The staged folder.
    dir: DirHandle,
    files: DirHandle,
    bundle: DirHandle,
    artifacts: BTreeSet<String>,
    unlisted: BTreeMap<String, StoredFile>,
    metadata_names: BTreeSet<String>,
    shared: u64,
    written: u64,
    /// SHA-256 of the `facts.json` written ([`Staged::write_facts`]).
    facts_sha256: Option<Sha256Digest>,
}

impl Staged {
    /// Write `facts.json` (the fresh scan of each artifact, compact JSON and
    /// a final LF, read-only and fsynced) into the staged folder, streamed
    /// and hashed on the way: the facts may take `ReadLimits::max_facts_bytes`
    /// in memory and their JSON several times that, so it is never held
    /// whole. Returns its SHA-256, also kept for the import record.
    pub(crate) fn write_facts(
        &mut self,
        facts: &[(BundlePath, crate::inspect::facts::ModelFacts)],
    ) -> Result<Sha256Digest, StoreError> {
        let file = self.dir.create_file(FACTS)?;
        let list: Vec<&crate::inspect::facts::ModelFacts> = facts.iter().map(|(_, f)| f).collect();
        let digest = write_facts(file, &list).map_err(|source| StoreError::Io {
            path: self.dir.child(FACTS),
            source,
        })?;
        self.facts_sha256 = Some(digest);
        Ok(digest)
    }

    /// The `facts.json` written, read back (it must still hash to what was
    /// written).
    pub(crate) fn read_facts(&self) -> Result<Vec<crate::inspect::facts::ModelFacts>, StoreError> {
        let want = self.facts_sha256.ok_or_else(|| {
            StoreError::Refused("the scan facts were not staged before they were read".into())
        })?;
        super::layout::read_facts(&self.dir, want)
    }

    /// SHA-256 of the `facts.json` staged, once written.
    pub(crate) fn facts_sha256(&self) -> Option<Sha256Digest> {
        self.facts_sha256
    }

    /// The staging folder (for messages: it is written through handles).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The staged folder's handle.
    pub(crate) fn handle(&self) -> &DirHandle {
        &self.dir
    }

    /// Its `bundle/` folder.
    pub(crate) fn bundle(&self) -> &DirHandle {
        &self.bundle
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

    /// Remove the staging folder (a refused import). Whatever is at its
    /// name now is removed as the entry it is, never followed.
    pub fn discard(self) -> Result<(), StoreError> {
        self.staging.remove_entry(&self.name)?;
        self.staging.sync()
    }

    /// Move the staged folder to `to/to_name` in one `renameat`, checking
    /// before and after that the entry moved is the folder this import
    /// wrote (same device and inode), not something swapped in for it.
    pub(crate) fn move_into(&self, to: &DirHandle, to_name: &str) -> Result<(), StoreError> {
        let ours = self.dir.stat_self()?;
        let swapped = |path: PathBuf| {
            StoreError::damaged(
                &path,
                "is no longer the folder this import staged (something replaced it during the import)",
            )
        };
        match self.staging.stat(&self.name)? {
            Some(s) if s.kind == EntryType::Folder && s.same_object(&ours) => {}
            _ => return Err(swapped(self.staging.child(&self.name))),
        }
        self.staging.rename(&self.name, to, to_name)?;
        match to.stat(to_name)? {
            Some(s) if s.kind == EntryType::Folder && s.same_object(&ours) => Ok(()),
            _ => Err(swapped(to.child(to_name))),
        }
    }
}

/// [`ArtifactSink`] writing into a staging folder of the store.
#[derive(Debug)]
pub struct ImportSink {
    staged: Staged,
    baseline: ShareBaseline,
    pending: HashMap<String, PendingShare>,
    /// The folders of `files/` the last artifact was staged in, and of
    /// `bundle/` the last small entry was.
    folders: fsutil::OpenFolders,
    bundle_folders: fsutil::OpenFolders,
    /// Writes and fsyncs the staged files while the verifier hashes.
    background: Background,
    /// A differential bundle's base: the channel's current version, checked
    /// to be the one the manifest names (docs/bundle-format.md [B80]).
    base: Option<Arc<dyn BaseFiles>>,
}

impl LockedStore {
    /// The staging folder (made, and the root synced, when missing) and a
    /// fresh random name in it starting with `prefix`: where an import
    /// stages its files and a prune moves a version before deleting it.
    pub(crate) fn staging_slot(&self, prefix: &str) -> Result<(DirHandle, String), StoreError> {
        let root = self.handle();
        let (staging, created) =
            root.ensure_dir(super::paths::STAGING, fsutil::WRITABLE_DIR_MODE)?;
        if created {
            root.sync()?;
        }
        let name = fresh_name(&staging, prefix)?;
        Ok((staging, name))
    }

    /// Start staging an import. `channel` (when known) names the channel
    /// whose current version files are shared from.
    pub fn stage(&self, channel: Option<&str>) -> Result<ImportSink, StoreError> {
        let (staging, name) = self.staging_slot(STAGED_PREFIX)?;
        let staged = Staged::empty(staging, name)?;
        let baseline = match channel {
            Some(c) => load_baseline(self, c)?,
            None => ShareBaseline::default(),
        };
        let background = start_writer(&staged)?;
        Ok(ImportSink {
            staged,
            baseline,
            pending: HashMap::new(),
            folders: fsutil::OpenFolders::default(),
            bundle_folders: fsutil::OpenFolders::default(),
            background,
            base: None,
        })
    }
}

/// A fresh random name in `staging` starting with `prefix`.
fn fresh_name(staging: &DirHandle, prefix: &str) -> Result<String, StoreError> {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).map_err(|e| StoreError::Io {
        path: staging.path().to_path_buf(),
        source: io::Error::other(e.to_string()),
    })?;
    Ok(format!("{prefix}{}", hex::encode(random)))
}

fn start_writer(staged: &Staged) -> Result<Background, StoreError> {
    Background::start(fsutil::FILE_MODE).map_err(|source| StoreError::Io {
        path: staged.dir.path().to_path_buf(),
        source,
    })
}

impl Staged {
    /// A new, empty staged folder `staging/name` with its `files/` and
    /// `bundle/`.
    fn empty(staging: DirHandle, name: String) -> Result<Self, StoreError> {
        let dir = staging.make_dir(&name, fsutil::WRITABLE_DIR_MODE)?;
        let files = dir.make_dir(FILES_DIR, fsutil::WRITABLE_DIR_MODE)?;
        let bundle = dir.make_dir(BUNDLE_DIR, fsutil::WRITABLE_DIR_MODE)?;
        Ok(Self {
            staging,
            name,
            dir,
            files,
            bundle,
            artifacts: BTreeSet::new(),
            unlisted: BTreeMap::new(),
            metadata_names: BTreeSet::new(),
            shared: 0,
            written: 0,
            facts_sha256: None,
        })
    }
}

impl ImportSink {
    /// Start over in a fresh staged folder: wait for the writer, remove
    /// the folder the failed read staged into (nothing of it is kept, as
    /// for any refused import), and stage anew in the same staging folder.
    fn start_over(&mut self) -> Result<(), StoreError> {
        // What the first read wrote is discarded whatever its writes did.
        let _ = self.background.finish();
        self.pending.clear();
        self.folders = fsutil::OpenFolders::default();
        self.bundle_folders = fsutil::OpenFolders::default();
        let staging = self.staged.staging.try_clone()?;
        let name = fresh_name(&staging, STAGED_PREFIX)?;
        let fresh = Staged::empty(staging, name)?;
        let old = std::mem::replace(&mut self.staged, fresh);
        old.discard()?;
        self.background = start_writer(&self.staged)?;
        Ok(())
    }
}

/// The current version's artifacts by content. Its manifest must still hash
/// to the recorded digest; otherwise nothing is shared (and `audit` will
/// say why). Every artifact it lists must be a regular file or missing: a
/// link, FIFO or folder in its place is a damaged store, refused here
/// before the bundle is read (docs/store.md, "No link is ever followed").
fn load_baseline(store: &Store, channel: &str) -> Result<ShareBaseline, StoreError> {
    let Some(seq) = store.current(channel)? else {
        return Ok(ShareBaseline::default());
    };
    let version = store.version_handle(channel, seq)?;
    let (record, _) = record_in(&version, channel, seq)?;
    let Some(bundle) = version.open_dir(BUNDLE_DIR)? else {
        return Ok(ShareBaseline::default());
    };
    let limit = ReadLimits::default().max_manifest_bytes;
    let Some(bytes) = bundle.read_file(layout::MANIFEST, limit)? else {
        return Ok(ShareBaseline::default());
    };
    if Sha256Digest::of(&bytes) != record.manifest_sha256 {
        return Ok(ShareBaseline::default());
    }
    let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Ok(ShareBaseline::default());
    };
    let Some(files) = version.open_dir(FILES_DIR)? else {
        return Ok(ShareBaseline::default());
    };
    let mut by_content = HashMap::new();
    for e in &manifest.entries {
        let Some(path) = e.artifact_path() else {
            continue;
        };
        let rel = path.as_str();
        if !fsutil::plain_relative(rel) {
            continue;
        }
        if let Some((parent, last)) = files.open_parent(rel)?
            && let Some(stat) = parent.stat(last)?
            && stat.kind != EntryType::File
        {
            return Err(parent.wrong_type(
                OsStr::new(last),
                stat.kind,
                super::paths::EntryKind::File,
            ));
        }
        by_content.insert((e.sha256, e.size), rel.to_owned());
    }
    Ok(ShareBaseline {
        files: Some(files),
        by_content,
    })
}

/// A store error where the verifier's sink API wants an I/O error: the
/// message (with its path) is kept.
fn to_io(e: StoreError) -> io::Error {
    io::Error::other(e)
}

impl ImportSink {
    /// Rebuild differential artifacts from `base`.
    pub fn set_base(&mut self, base: Arc<dyn BaseFiles>) {
        self.base = Some(base);
    }

    /// The staged version, once the verifier is done with the sink, after
    /// every file it staged is written and on disk (or the first error that
    /// prevented it: the staged version must then be discarded).
    pub fn into_staged(mut self) -> (Staged, Result<(), StoreError>) {
        let written = self.background.finish().map_err(|source| StoreError::Io {
            path: self.staged.dir.path().to_path_buf(),
            source,
        });
        (self.staged, written)
    }

    /// The staged version so far.
    pub fn staged(&self) -> &Staged {
        &self.staged
    }

    /// A baseline file with this content, re-hashed now: sharing never
    /// trusts a baseline file it has not just checked.
    fn shareable(&self, entry: &ManifestEntry) -> Option<PendingShare> {
        let rel = self.baseline.by_content.get(&(entry.sha256, entry.size))?;
        let files = self.baseline.files.as_ref()?;
        let (dir, name) = files.open_parent(rel).ok()??;
        let (file, stat) = dir.open_file(name).ok()??;
        if stat.size != entry.size {
            return None;
        }
        let (n, digest) = crate::io::tee::hash_to_end(file).ok()?;
        (n == entry.size && digest == entry.sha256).then(|| PendingShare {
            name: name.to_owned(),
            dir,
            dev: stat.dev,
            ino: stat.ino,
        })
    }

    fn share(
        &self,
        share: &PendingShare,
        parent: &DirHandle,
        name: &str,
        entry: &ManifestEntry,
    ) -> io::Result<()> {
        let name_os = OsStr::new(name);
        match parent.hard_link_from(&share.dir, OsStr::new(&share.name), name_os) {
            Ok(()) => {
                let linked = parent.stat(name_os).map_err(to_io)?;
                if linked.is_some_and(|m| m.dev == share.dev && m.ino == share.ino) {
                    return Ok(());
                }
                // The baseline name was replaced between hash and link.
                parent.unlink(name_os).map_err(to_io)?;
                Err(io::Error::other(format!(
                    "{} changed while it was shared",
                    share.dir.child(&share.name).display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            Err(_) => copy_checked(share, parent, name, entry),
        }
    }
}

/// Copy the baseline file to a new `parent/name`, hashing what is written;
/// the copy must match the manifest entry.
fn copy_checked(
    share: &PendingShare,
    parent: &DirHandle,
    name: &str,
    entry: &ManifestEntry,
) -> io::Result<()> {
    let (from, _) = share
        .dir
        .open_file(&share.name)
        .map_err(to_io)?
        .ok_or_else(|| io::Error::other("the baseline file vanished while it was shared"))?;
    let mut out = parent.create_file(name).map_err(to_io)?;
    let mut tee = HashingTee::new(from, true);
    io::copy(&mut tee, &mut out)?;
    let (n, digest) = tee.drain(|_| {})?;
    let digest = digest.unwrap_or_else(|| Hasher::new().finish());
    if n != entry.size || digest != entry.sha256 {
        drop(out);
        parent.unlink(name).map_err(to_io)?;
        return Err(io::Error::other(format!(
            "{} changed while it was copied",
            share.dir.child(&share.name).display()
        )));
    }
    fsutil::seal_file(&out)
}

impl ArtifactSink for ImportSink {
    fn restart(&mut self) -> io::Result<()> {
        self.start_over().map_err(to_io)
    }

    fn begin(
        &mut self,
        artifact: &BundlePath,
        entry: &ManifestEntry,
    ) -> io::Result<Option<Box<dyn Write + Send>>> {
        let rel = artifact.as_str();
        let (parent, name) = self
            .folders
            .prepare(&self.staged.files, rel)
            .map_err(to_io)?;
        if let Some(share) = self.shareable(entry) {
            self.pending.insert(rel.to_owned(), share);
            return Ok(None);
        }
        let file = parent.create_file(name).map_err(to_io)?;
        // Reopened O_DIRECT through the folder's handle, never by path
        // (docs/store.md, "No link is ever followed").
        let direct = if entry.size >= DIRECT_FROM_BYTES {
            parent.reopen_direct(std::ffi::OsStr::new(name), &file)
        } else {
            None
        };
        Ok(Some(Box::new(self.background.writer(file, direct)?)))
    }

    fn finish(&mut self, artifact: &BundlePath, entry: &ManifestEntry) -> io::Result<()> {
        let rel = artifact.as_str();
        if let Some(share) = self.pending.remove(rel) {
            let (parent, name) = self
                .folders
                .prepare(&self.staged.files, rel)
                .map_err(to_io)?;
            self.share(&share, &parent, name, entry)?;
            self.staged.shared = self.staged.shared.saturating_add(1);
        } else {
            // Size check, read-only mode and fsync on the writer thread,
            // after the last queued byte (see `writer`).
            self.background
                .seal(self.staged.files.path().join(rel), entry.size)?;
            self.staged.written = self.staged.written.saturating_add(1);
        }
        self.staged.artifacts.insert(rel.to_owned());
        Ok(())
    }

    fn metadata(&mut self, name: &BundlePath, bytes: &[u8]) -> io::Result<()> {
        let rel = name.as_str();
        let (parent, last) = self
            .bundle_folders
            .prepare(&self.staged.bundle, rel)
            .map_err(to_io)?;
        // Created here, so a clash shows at once; written and fsynced on
        // the writer thread.
        let file = parent.create_file(last).map_err(to_io)?;
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

    fn base_files(&self) -> Option<Arc<dyn BaseFiles>> {
        self.base.clone()
    }
}

/// Write `facts` as compact JSON and a final LF into `file` (new and
/// empty), make it read-only and fsync it; returns the SHA-256 of the bytes
/// written.
fn write_facts(
    file: std::fs::File,
    facts: &[&crate::inspect::facts::ModelFacts],
) -> io::Result<Sha256Digest> {
    let mut out = HashingWriter::new(io::BufWriter::new(file));
    serde_json::to_writer(&mut out, facts).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    let (file, hasher) = out.into_parts();
    let file = file.into_inner().map_err(|e| e.into_error())?;
    fsutil::seal_file(&file)?;
    Ok(hasher.finish())
}
