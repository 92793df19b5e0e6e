//! `lbom split`: cut a bundle into parts, one folder per medium, each
//! with a copy of the signed index (docs/bundle-format.md, section 13).
//! The bundle is read once for the data parts and once, a stripe at a
//! time, for parity; nothing but the parts is written.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::index::{BundleFacts, PartEntry, PartIndex};
use super::progress::{MediaProgress, NoMediaProgress};
use super::{Error, io_err, parity};
use crate::io::digest::{Hasher, Sha256Digest};
use crate::io::source::{BundleSource, FileSource};
use crate::sign::SigningKey;

/// What `split` is asked for.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// Bytes per data part (rounded down to even).
    pub part_size: u64,
    /// Parity parts to add.
    pub parity: usize,
    /// The role the index's signer claims.
    pub role: String,
}

impl SplitOptions {
    /// The part size used: `part_size` rounded down to even (parity works
    /// on pairs of bytes, docs/bundle-format.md section 13).
    pub(crate) fn even_part_size(&self) -> u64 {
        self.part_size - self.part_size % 2
    }
}

/// What `split` wrote.
#[derive(Debug)]
pub struct SplitOutcome {
    /// The index written.
    pub index: PartIndex,
    /// One folder per medium, in order: data parts, then parity parts.
    pub media: Vec<PathBuf>,
}

pub(super) const CHUNK: usize = 1 << 20;

/// The folder of medium `n` (1-based) under `out`.
pub fn medium_dir(out: &Path, n: usize) -> PathBuf {
    out.join(format!("medium-{n:04}"))
}

/// Cut `bundle` into parts under `out` and sign the index with `key`.
pub fn split(
    bundle: &Path,
    out: &Path,
    options: &SplitOptions,
    key: &SigningKey,
) -> Result<SplitOutcome, Error> {
    split_with(bundle, out, options, key, &NoMediaProgress)
}

/// [`split`], telling `progress` how far each medium's part is written.
pub fn split_with(
    bundle: &Path,
    out: &Path,
    options: &SplitOptions,
    key: &SigningKey,
    progress: &dyn MediaProgress,
) -> Result<SplitOutcome, Error> {
    let (facts, part_size) = prepare(bundle, options)?;
    let size = facts.size;
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let name = set_name(bundle);
    progress.media(&media_of(size, part_size, options.parity));
    let (file, _) = crate::io::open::open_regular(bundle).map_err(io_err(bundle))?;
    let (parts, bundle_sha256) = write_data_parts(&file, size, part_size, out, progress)?;
    let name = format!("{name}-{}", bundle_sha256.short(12));
    let mut index = unsigned_index(options, key, facts, part_size, parts, name, bundle_sha256);
    let mut media = Vec::new();
    for part in &index.parts {
        let dir = medium_dir(out, part.number as usize);
        let from = dir.join(PARTIAL);
        let to = dir.join(index.data_file_name(part.number));
        std::fs::rename(&from, &to).map_err(io_err(&to))?;
        media.push(dir);
    }
    let source = FileSource::new(file, size);
    index.parity = write_parity_parts(&index, &source, options.parity, out, &mut media, progress)?;
    finish(index, media, key)
}

/// The medium folders a set of a `size`-byte bundle in parts of
/// `part_size` with `parity` parity parts has, and the bytes of each.
pub(super) fn media_of(size: u64, part_size: u64, parity: usize) -> Vec<(String, u64)> {
    let part_size = part_size.max(1);
    let data = size.div_ceil(part_size);
    let span = part_size.min(size).next_multiple_of(2);
    (0..data)
        .map(|k| part_size.min(size - k * part_size))
        .chain((0..parity).map(|_| span))
        .zip(1usize..)
        .map(|(bytes, n)| (format!("medium-{n:04}"), bytes))
        .collect()
}

/// What both ways of cutting check before a part is written: the role's
/// form and the set's geometry. The bundle's size and manifest digest, and
/// the part size (rounded down to even).
fn prepare(bundle: &Path, options: &SplitOptions) -> Result<(BundleFacts, u64), Error> {
    crate::bundle::manifest::check_label("role", &options.role).map_err(Error::Option)?;
    let opened = crate::bundle::open(bundle, &crate::bundle::ReadLimits::default())?;
    let part_size = options.even_part_size();
    check_geometry(opened.file_len, part_size, options.parity)?;
    let facts = BundleFacts {
        size: opened.file_len,
        manifest_sha256: opened.manifest_sha256,
    };
    Ok((facts, part_size))
}

/// The index of the data `parts`, before parity and signature: its stripe
/// size fitted to the parity asked for.
pub(super) fn unsigned_index(
    options: &SplitOptions,
    key: &SigningKey,
    bundle: BundleFacts,
    part_size: u64,
    parts: Vec<PartEntry>,
    name: String,
    bundle_sha256: Sha256Digest,
) -> PartIndex {
    let mut index = PartIndex {
        role: options.role.clone(),
        keyid: key.key_id(),
        bundle,
        part_size,
        stripe_size: 2,
        parts,
        parity: Vec::new(),
        name,
        bundle_sha256,
    };
    index.stripe_size =
        parity::stripe_size_for(index.parts.len() + options.parity, index.stripe_span());
    index
}

/// The name a data part has until the set's name (which carries the
/// bundle's digest) is known.
pub(super) const PARTIAL: &str = "part.partial";

/// The bundle's file name without `.lbom`, in label characters.
pub(super) fn set_name(bundle: &Path) -> String {
    let stem = bundle
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".lbom").to_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if clean.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        clean
    } else {
        "bundle".to_owned()
    }
}

fn create_new(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                Error::OutputExists {
                    path: path.to_path_buf(),
                }
            } else {
                Error::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
}

pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut file = create_new(path)?;
    file.write_all(bytes).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

/// Copy the bundle into data parts, one medium folder each; their entries
/// and the bundle's digest.
fn write_data_parts(
    mut file: &File,
    size: u64,
    part_size: u64,
    out: &Path,
    progress: &dyn MediaProgress,
) -> Result<(Vec<PartEntry>, crate::io::digest::Sha256Digest), Error> {
    let mut whole = Hasher::new();
    let mut parts = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let number = parts.len() as u32 + 1;
        let dir = medium_dir(out, number as usize);
        std::fs::create_dir(&dir).map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::OutputExists { path: dir.clone() },
            _ => Error::Io {
                path: dir.clone(),
                source,
            },
        })?;
        let path = dir.join(PARTIAL);
        let mut part = create_new(&path)?;
        let len = part_size.min(size - offset);
        let mut hasher = Hasher::new();
        let mut left = len;
        while left > 0 {
            let want = (left.min(CHUNK as u64)) as usize;
            let chunk = buf.get_mut(..want).unwrap_or_default();
            file.read_exact(chunk).map_err(io_err(&path))?;
            hasher.update(chunk);
            whole.update(chunk);
            part.write_all(chunk).map_err(io_err(&path))?;
            progress.advance(parts.len(), want as u64);
            left -= want as u64;
        }
        part.sync_all().map_err(io_err(&path))?;
        parts.push(PartEntry {
            number,
            offset,
            size: len,
            sha256: hasher.finish(),
        });
        offset += len;
    }
    Ok((parts, whole.finish()))
}

/// Parity parts computed a stripe at a time from `source`, written into
/// their own medium folders after the data parts'.
pub(crate) fn write_parity_parts(
    index: &PartIndex,
    source: &dyn BundleSource,
    count: usize,
    out: &Path,
    media: &mut Vec<PathBuf>,
    progress: &dyn MediaProgress,
) -> Result<Vec<PartEntry>, Error> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut files = Vec::with_capacity(count);
    for j in 1..=count {
        let dir = medium_dir(out, index.parts.len() + j);
        std::fs::create_dir(&dir).map_err(io_err(&dir))?;
        let path = dir.join(index.parity_file_name(j as u32));
        files.push((create_new(&path)?, path, Hasher::new()));
        media.push(dir);
    }
    let mut shards = vec![Vec::new(); index.parts.len()];
    for t in 0..parity::stripe_count(index) {
        for (k, shard) in shards.iter_mut().enumerate() {
            parity::data_shard(index, source, k, t, shard)
                .map_err(io_err(Path::new("the bundle")))?;
        }
        let recovery = parity::encode(&shards, count).map_err(Error::Option)?;
        for (j, ((file, path, hasher), shard)) in files.iter_mut().zip(&recovery).enumerate() {
            hasher.update(shard);
            file.write_all(shard).map_err(io_err(path))?;
            progress.advance(index.parts.len() + j, shard.len() as u64);
        }
    }
    let mut entries = Vec::with_capacity(count);
    for (j, (file, path, hasher)) in files.into_iter().enumerate() {
        file.sync_all().map_err(io_err(&path))?;
        entries.push(PartEntry {
            number: j as u32 + 1,
            offset: 0,
            size: hasher.bytes(),
            sha256: hasher.finish(),
        });
    }
    Ok(entries)
}

pub(super) fn check_geometry(size: u64, part_size: u64, parity: usize) -> Result<(), Error> {
    let data = size.div_ceil(part_size.max(1));
    if part_size < super::index::MIN_PART_BYTES
        || data > super::index::MAX_DATA_PARTS as u64
        || parity > super::index::MAX_PARITY_PARTS
    {
        return Err(Error::Option(format!(
            "a {size}-byte bundle in parts of {part_size} bytes with {parity} parity parts: parts must be at least {} bytes, at most {} data and {} parity parts",
            super::index::MIN_PART_BYTES,
            super::index::MAX_DATA_PARTS,
            super::index::MAX_PARITY_PARTS
        )));
    }
    Ok(())
}

/// Check, sign and write the index into every medium folder.
pub(super) fn finish(index: PartIndex, media: Vec<PathBuf>, key: &SigningKey) -> Result<SplitOutcome, Error> {
    index.check().map_err(Error::Option)?;
    let signed = index.sign(key);
    for dir in &media {
        write_new(&dir.join(PartIndex::index_file_name(&index.name)), &signed)?;
    }
    Ok(SplitOutcome { index, media })
}
