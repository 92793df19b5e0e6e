//! Rebuilding a differential artifact (docs/bundle-format.md [B79]): a
//! reader of the target file's bytes, made from the recipe as it streams
//! and the base version's files, every chunk checked against its SHA-256 as
//! it passes. The caller hashes the whole against the manifest, as for any
//! other entry; nothing here trusts the base files more than the recipe's
//! digests do.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;

use super::super::path::BundlePath;
use super::recipe::{Op, OpKind, RecipeError, RecipeReader, invalid};
use crate::io::digest::Hasher;

/// The files of the base version, by artifact path: the store's current
/// version (`import`, `verify --store`) or a full base bundle's raw
/// artifacts (`diff`).
pub trait BaseFiles: Send + Sync + fmt::Debug {
    /// Open the base version's file `path` for reading; an error of kind
    /// `NotFound` when the base version has no such file.
    fn open(&self, path: &BundlePath) -> io::Result<BaseFile>;
}

/// One base file: `size` bytes of `file` from offset `start` (0 for a file
/// of its own; the entry's data offset for an artifact inside a bundle).
#[derive(Debug)]
pub struct BaseFile {
    /// The file holding it.
    pub file: File,
    /// Where its first byte is.
    pub start: u64,
    /// Its size.
    pub size: u64,
}

/// The operation being copied.
struct Current {
    op: Op,
    index: u32,
    done: u64,
    hasher: Hasher,
}

/// The rebuilt bytes of one artifact: reads the recipe from `R` (the
/// payload's stored bytes) and the base file from `files`.
pub struct Rebuild<R> {
    recipe: RecipeReader<R>,
    files: Arc<dyn BaseFiles>,
    base: Option<BaseFile>,
    current: Option<Current>,
    ops_started: u32,
}

impl<R> fmt::Debug for Rebuild<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rebuild")
            .field("ops_started", &self.ops_started)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Rebuild<R> {
    /// Start rebuilding a file of `size` bytes from the payload `payload`.
    /// The base file is opened at the first base operation.
    pub fn new(payload: R, size: u64, files: Arc<dyn BaseFiles>) -> io::Result<Self> {
        Ok(Self {
            recipe: RecipeReader::new(payload, size)?,
            files,
            base: None,
            current: None,
            ops_started: 0,
        })
    }

    /// The payload reader.
    pub fn payload(&self) -> &R {
        self.recipe.get_ref()
    }

    /// What the recipe held so far.
    #[cfg(any(test, feature = "internals"))]
    pub fn summary(&self) -> &super::recipe::PayloadSummary {
        self.recipe.summary()
    }

    /// The base file, opened once.
    fn base_file(&mut self) -> io::Result<&BaseFile> {
        if self.base.is_none() {
            let path = self
                .recipe
                .head()
                .base_path
                .clone()
                .ok_or_else(|| invalid(RecipeError::NoBaseFile(self.ops_started)))?;
            let opened = self.files.open(&path).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the recipe's base file {path} is not in the base version"),
                    )
                } else {
                    e
                }
            })?;
            self.base = Some(opened);
        }
        self.base
            .as_ref()
            .ok_or_else(|| io::Error::other("base file not opened"))
    }

    /// Take the next operation; `false` at the end.
    fn start_next(&mut self) -> io::Result<bool> {
        let Some(op) = self.recipe.next_op()? else {
            return Ok(false);
        };
        let index = self.ops_started;
        self.ops_started = self.ops_started.saturating_add(1);
        if op.kind == OpKind::Base {
            let end = op.base_offset.checked_add(op.length);
            let size = self.base_file()?.size;
            if end.is_none_or(|end| end > size) {
                return Err(invalid(RecipeError::PastBase {
                    index,
                    start: op.base_offset,
                    end: end.unwrap_or(u64::MAX),
                    path: self
                        .recipe
                        .head()
                        .base_path
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    size,
                }));
            }
        }
        self.current = Some(Current {
            op,
            index,
            done: 0,
            hasher: Hasher::new(),
        });
        Ok(true)
    }

    /// Copy up to `buf.len()` bytes of the current operation.
    fn copy(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(cur) = self.current.as_ref() else {
            return Ok(0);
        };
        let (op, done) = (cur.op, cur.done);
        let left = op.length.saturating_sub(done);
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let dst = buf.get_mut(..want).unwrap_or_default();
        let n = match op.kind {
            OpKind::Shipped => self.recipe_inner_read(dst)?,
            OpKind::Base => {
                let base = self.base_file()?;
                let at = base
                    .start
                    .saturating_add(op.base_offset)
                    .saturating_add(done);
                base.file.read_at(dst, at)?
            }
        };
        if n == 0 && want > 0 {
            return Err(match op.kind {
                OpKind::Shipped => invalid(RecipeError::Truncated("a shipped chunk")),
                OpKind::Base => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the base file ended early while it was read",
                ),
            });
        }
        let Some(cur) = self.current.as_mut() else {
            return Ok(0);
        };
        cur.hasher.update(dst.get(..n).unwrap_or_default());
        cur.done = cur.done.saturating_add(n as u64);
        if cur.done == op.length {
            let got = std::mem::replace(&mut cur.hasher, Hasher::new()).finish();
            let index = cur.index;
            self.current = None;
            if got != op.sha256 {
                return Err(invalid(RecipeError::ChunkDigest {
                    index,
                    what: match op.kind {
                        OpKind::Base => "base",
                        OpKind::Shipped => "shipped",
                    },
                    got,
                    want: op.sha256,
                }));
            }
        }
        Ok(n)
    }

    fn recipe_inner_read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        self.recipe.read_raw(dst)
    }
}

impl<R: Read> Read for Rebuild<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.current.is_none() && !self.start_next()? {
            return Ok(0);
        }
        self.copy(buf)
    }
}

#[cfg(test)]
mod tests;
