//! Stripe geometry and Reed–Solomon coding over stripes
//! (docs/bundle-format.md, section 13, "Parity"): stripe `t` is bytes
//! `[t·W, t·W + W)` of every part (W the stripe size, the last stripe
//! shorter), data parts shorter than the span read as zeros past their
//! end; parity part `j` holds recovery shard `j` of every stripe, in order.
//! Only one stripe of every part is held at once.

use std::collections::BTreeMap;

use super::PartIndex;
use crate::io::source::BundleSource;

/// The byte range `(start, len)` of stripe `t` within each part.
pub fn stripe_range(index: &PartIndex, t: u64) -> (u64, usize) {
    let span = index.stripe_span();
    let start = t.saturating_mul(index.stripe_size);
    let len = index.stripe_size.min(span.saturating_sub(start));
    (start, usize::try_from(len).unwrap_or(0))
}

/// How many stripes the parts have.
pub fn stripe_count(index: &PartIndex) -> u64 {
    index.stripe_span().div_ceil(index.stripe_size.max(1))
}

/// The stripe size a writer picks for `data + parity` parts: the widest
/// even size within both limits of [B69], and not past the span.
pub fn stripe_size_for(parts: usize, span: u64) -> u64 {
    let budget = super::index::MAX_STRIPE_SPAN_BYTES / (parts.max(1) as u64);
    let size = budget.min(super::index::MAX_STRIPE_BYTES).min(span.max(2));
    (size - size % 2).max(2)
}

/// Data part `k`'s shard of stripe `t` read from `source` (the bundle, or
/// the parts read as one stream), zero-padded to the stripe's length.
pub fn data_shard(
    index: &PartIndex,
    source: &dyn BundleSource,
    k: usize,
    t: u64,
    shard: &mut Vec<u8>,
) -> std::io::Result<()> {
    let (start, len) = stripe_range(index, t);
    shard.clear();
    shard.resize(len, 0);
    let Some(part) = index.parts.get(k) else {
        return Ok(());
    };
    let have = part.size.saturating_sub(start).min(len as u64) as usize;
    if let Some(window) = shard.get_mut(..have) {
        source.read_exact_at(window, part.offset.saturating_add(start))?;
    }
    Ok(())
}

/// The parity shards of one stripe.
pub fn encode(data: &[Vec<u8>], parity: usize) -> Result<Vec<Vec<u8>>, String> {
    if parity == 0 {
        return Ok(Vec::new());
    }
    reed_solomon_simd::encode(data.len(), parity, data).map_err(|e| e.to_string())
}

/// The data shards of one stripe that `data` lacks, rebuilt from the ones
/// it has and the parity shards given: `None` when too few are given.
pub fn recover(
    data_count: usize,
    parity_count: usize,
    data: &[(usize, Vec<u8>)],
    parity: &[(usize, Vec<u8>)],
) -> Option<BTreeMap<usize, Vec<u8>>> {
    if data.len() == data_count {
        return Some(BTreeMap::new());
    }
    if data.len() + parity.len() < data_count || parity_count == 0 {
        return None;
    }
    reed_solomon_simd::decode(
        data_count,
        parity_count,
        data.iter().map(|(i, s)| (*i, s.as_slice())),
        parity.iter().map(|(i, s)| (*i, s.as_slice())),
    )
    .ok()
}
