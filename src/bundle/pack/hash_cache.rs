//! `pack --base --hash-cache FILE`: what a maintainer's earlier packs
//! learnt about each input file, so that re-packing a folder where little
//! changed does not read the unchanged gigabytes again
//! (docs/bundle-format.md §14, "The hash cache"; docs/threat-model.md).
//!
//! An entry maps a file's (device, inode, size, mtime, ctime) to the
//! SHA-256 its bytes had when a pack read them. It is trusted only when all
//! five are equal now, and only to say "this file is the base's file": such
//! a file ships as one base operation without being read. Any write to a
//! file changes its ctime, which no unprivileged process can set back; a
//! pack records an entry only when the file's key was the same before and
//! after it was read.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::super::Error;
use crate::io::digest::Sha256Digest;

/// `schema` of a cache file.
pub const HASH_CACHE_SCHEMA: &str = "urn:lbom:hash-cache:v1";
/// Largest cache file read: 64 MiB (about 300,000 files).
pub const MAX_HASH_CACHE_BYTES: u64 = 64 << 20;

/// What identifies a file's bytes without reading them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKey {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// `st_size`.
    pub size: u64,
    /// `st_mtime` in nanoseconds.
    pub mtime_ns: i128,
    /// `st_ctime` in nanoseconds.
    pub ctime_ns: i128,
}

impl FileKey {
    /// The key of a file's metadata.
    pub fn of(meta: &Metadata) -> Self {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: FileKey,
    sha256: Sha256Digest,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    schema: String,
    entries: Vec<Entry>,
}

/// The cache, loaded from and saved to one file.
#[derive(Debug)]
pub struct HashCache {
    path: PathBuf,
    entries: BTreeMap<FileKey, Sha256Digest>,
}

impl HashCache {
    /// Load the cache at `path`; an empty one when the file is missing.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let refuse = |why: String| {
            Error::Option(format!(
                "hash cache {}: {why}; remove it to start a new one",
                path.display()
            ))
        };
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path: path.to_path_buf(),
                    entries: BTreeMap::new(),
                });
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let mut bytes = Vec::new();
        file.take(MAX_HASH_CACHE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if bytes.len() as u64 > MAX_HASH_CACHE_BYTES {
            return Err(refuse(format!("more than {MAX_HASH_CACHE_BYTES} bytes")));
        }
        let parsed: CacheFile =
            serde_json::from_slice(&bytes).map_err(|e| refuse(format!("not a hash cache: {e}")))?;
        if parsed.schema != HASH_CACHE_SCHEMA {
            return Err(refuse(format!("schema is not {HASH_CACHE_SCHEMA}")));
        }
        Ok(Self {
            path: path.to_path_buf(),
            entries: parsed
                .entries
                .into_iter()
                .map(|e| (e.key, e.sha256))
                .collect(),
        })
    }

    /// The SHA-256 recorded for a file whose key is `key` now.
    pub fn get(&self, key: &FileKey) -> Option<Sha256Digest> {
        self.entries.get(key).copied()
    }

    /// Record that a file of key `key` had SHA-256 `sha256`; entries of
    /// the same file (device and inode) under an older key go.
    pub fn insert(&mut self, key: FileKey, sha256: Sha256Digest) {
        self.entries
            .retain(|k, _| (k.dev, k.ino) != (key.dev, key.ino) || *k == key);
        self.entries.insert(key, sha256);
    }

    /// Write the cache back: a new file (mode 0600) renamed over the old.
    pub fn save(&self) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let doc = CacheFile {
            schema: HASH_CACHE_SCHEMA.to_owned(),
            entries: self
                .entries
                .iter()
                .map(|(key, sha256)| Entry {
                    key: *key,
                    sha256: *sha256,
                })
                .collect(),
        };
        let mut bytes = serde_json::to_vec(&doc).map_err(|e| Error::Option(e.to_string()))?;
        bytes.push(b'\n');
        let tmp = self.path.with_extension("lbom-tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_round_trips_and_trusts_only_an_equal_key() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("f");
        std::fs::write(&file, b"one")?;
        let path = dir.path().join("cache.json");
        let mut cache = HashCache::load(&path)?;
        let key = FileKey::of(&std::fs::metadata(&file)?);
        cache.insert(key, Sha256Digest::of(b"one"));
        cache.save()?;
        let back = HashCache::load(&path)?;
        assert_eq!(back.get(&key), Some(Sha256Digest::of(b"one")));
        // Any write changes the ctime (and here the size): no entry.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, b"two!")?;
        let now = FileKey::of(&std::fs::metadata(&file)?);
        assert_ne!(now, key);
        assert_eq!(back.get(&now), None);
        // A touch keeps the bytes but not the key.
        let same_size = FileKey {
            ctime_ns: key.ctime_ns + 1,
            ..key
        };
        assert_eq!(back.get(&same_size), None);
        // A newer key of the same file replaces the older.
        let mut cache = back;
        cache.insert(now, Sha256Digest::of(b"two!"));
        assert_eq!(cache.get(&key), None);
        // Not a cache, or too large: refused.
        std::fs::write(&path, b"{\"schema\":\"x\",\"entries\":[]}")?;
        assert!(HashCache::load(&path).is_err());
        std::fs::write(&path, b"[]")?;
        assert!(HashCache::load(&path).is_err());
        Ok(())
    }
}
