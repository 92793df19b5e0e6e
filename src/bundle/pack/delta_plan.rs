//! What a differential bundle ships for each file (docs/bundle-format.md
//! §14): pure decisions over sizes, digests and chunk lists, no files.
//!
//! A file the base has with the same SHA-256 ships as a recipe of one base
//! operation; a changed file of at least [`CHUNK_FROM_BYTES`] that the base
//! also has is cut into content-defined chunks, and those the base lacks
//! are shipped; everything else (a new file, a small change, a recipe that
//! would ship more than [`MAX_SHIPPED_RATIO`] of the file or more
//! operations than a reader accepts) ships whole, raw or zstd as a full
//! bundle would. The choice is the writer's: a reader checks recipes, not
//! choices.

use std::collections::HashMap;

use super::super::delta::chunk::Chunk;
use super::super::delta::recipe::{MAX_OPS, Op, OpKind};
use crate::io::digest::Sha256Digest;

/// Smallest changed file cut into chunks: 1 MiB.
pub(super) const CHUNK_FROM_BYTES: u64 = 1 << 20;
/// A recipe is kept only when what it ships is at most this share of the
/// file; above, the whole file is cheaper to ship and to rebuild.
pub(super) const MAX_SHIPPED_RATIO: f64 = 0.5;

/// A file as the plan sees it: its size and digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    pub(super) size: u64,
    pub(super) sha256: Sha256Digest,
}

/// How one file is shipped, before any chunk is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choice {
    /// Whole, as in a full bundle.
    Whole,
    /// The base has it byte for byte: one base operation.
    Unchanged,
    /// Cut both into chunks and ship what the base lacks.
    Chunked,
}

/// Choose for a target file `target`, the base having `base` at the same
/// artifact path (or not).
pub(super) fn choose(target: FileId, base: Option<FileId>) -> Choice {
    match base {
        Some(b) if b == target => Choice::Unchanged,
        Some(b) if target.size >= CHUNK_FROM_BYTES && b.size >= CHUNK_FROM_BYTES => Choice::Chunked,
        _ => Choice::Whole,
    }
}

/// The recipe of an unchanged file: one base operation over all of it (none
/// for an empty file).
pub(super) fn unchanged(target: FileId) -> Vec<Op> {
    if target.size == 0 {
        return Vec::new();
    }
    vec![Op {
        kind: OpKind::Base,
        target_offset: 0,
        length: target.size,
        base_offset: 0,
        sha256: target.sha256,
    }]
}

/// The base's chunks by digest: where each first occurs.
#[derive(Debug, Default)]
pub(super) struct BaseIndex {
    chunks: HashMap<Sha256Digest, (u64, u64)>,
}

impl BaseIndex {
    /// Note one chunk of the base file.
    pub(super) fn add(&mut self, c: Chunk) {
        self.chunks.entry(c.sha256).or_insert((c.offset, c.length));
    }

    /// How many distinct chunks.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.chunks.len()
    }
}

/// The operations that rebuild a target cut into `target` chunks (in
/// order, covering it): a chunk the base has is taken from it, any other
/// shipped.
pub(super) fn recipe(index: &BaseIndex, target: &[Chunk]) -> Vec<Op> {
    target
        .iter()
        .map(|c| match index.chunks.get(&c.sha256) {
            Some(&(base_offset, length)) if length == c.length => Op {
                kind: OpKind::Base,
                target_offset: c.offset,
                length,
                base_offset,
                sha256: c.sha256,
            },
            _ => Op {
                kind: OpKind::Shipped,
                target_offset: c.offset,
                length: c.length,
                base_offset: 0,
                sha256: c.sha256,
            },
        })
        .collect()
}

/// Bytes a recipe ships.
pub(super) fn shipped_bytes(ops: &[Op]) -> u64 {
    ops.iter()
        .filter(|o| o.kind == OpKind::Shipped)
        .map(|o| o.length)
        .sum()
}

/// Whether a recipe for a file of `size` bytes is worth writing: within
/// the reader's operation count and shipping at most
/// [`MAX_SHIPPED_RATIO`] of the file.
pub(super) fn worth_it(ops: &[Op], size: u64) -> bool {
    let within = u32::try_from(ops.len()).is_ok_and(|n| n <= MAX_OPS);
    #[allow(
        clippy::cast_precision_loss,
        reason = "a ratio of two sizes: a rounding of 2^-52 decides nothing"
    )]
    let share = shipped_bytes(ops) as f64 / size.max(1) as f64;
    within && share <= MAX_SHIPPED_RATIO
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(size: u64, tag: &[u8]) -> FileId {
        FileId {
            size,
            sha256: Sha256Digest::of(tag),
        }
    }

    fn chunk(offset: u64, length: u64, tag: &[u8]) -> Chunk {
        Chunk {
            offset,
            length,
            sha256: Sha256Digest::of(tag),
        }
    }

    #[test]
    fn the_choice_follows_the_base() {
        let big = CHUNK_FROM_BYTES;
        assert_eq!(choose(id(5, b"a"), Some(id(5, b"a"))), Choice::Unchanged);
        assert_eq!(choose(id(5, b"a"), Some(id(5, b"b"))), Choice::Whole);
        assert_eq!(choose(id(big, b"a"), None), Choice::Whole);
        assert_eq!(choose(id(big, b"a"), Some(id(big, b"b"))), Choice::Chunked);
        assert_eq!(choose(id(big, b"a"), Some(id(10, b"b"))), Choice::Whole);
        assert!(unchanged(id(0, b"")).is_empty());
        assert_eq!(unchanged(id(7, b"x")).len(), 1);
    }

    #[test]
    fn a_recipe_takes_what_the_base_has_and_ships_the_rest() {
        let mut index = BaseIndex::default();
        index.add(chunk(0, 10, b"one"));
        index.add(chunk(10, 20, b"two"));
        let target = [
            chunk(0, 20, b"two"),
            chunk(20, 5, b"new"),
            chunk(25, 10, b"one"),
        ];
        let ops = recipe(&index, &target);
        let kinds: Vec<_> = ops.iter().map(|o| (o.kind, o.base_offset)).collect();
        assert_eq!(
            kinds,
            [(OpKind::Base, 10), (OpKind::Shipped, 0), (OpKind::Base, 0)]
        );
        assert_eq!(shipped_bytes(&ops), 5);
        assert!(worth_it(&ops, 35));
        assert!(!worth_it(&ops, 9));
        assert_eq!(index.len(), 2);
    }
}
