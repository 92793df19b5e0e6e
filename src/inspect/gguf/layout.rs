//! Tensor data layout checks: every extent against the file length, and the
//! tensors against each other.
//!
//! ggml (`gguf.cpp`) expects tensor `i` at offset `sum of padded sizes of
//! tensors 0..i`, each padded to `general.alignment`, counted from the data
//! section start (the end of the header rounded up to the alignment), and
//! refuses any other offset. It does not compare the extents with the file
//! size and accepts trailing bytes, so a file cut inside its tensor data
//! loads until something reads past the end. Here each tensor must lie
//! inside the file (`gguf.tensor_out_of_bounds`), start on an aligned offset
//! (`gguf.tensor_misaligned`), not overlap another (`gguf.tensors_overlap`),
//! and follow the previous one with no more than padding in between
//! (`gguf.gap`, an error as in ggml); bytes after the last tensor beyond its
//! padding are `gguf.trailing_bytes` (a warning: ggml loads the file).
//!
//! [`unclaimed`] lists the bytes no tensor claims (the padding before the
//! data section, gaps, padding, the bytes of tensors of unknown type, the
//! tail), which `hidden.rs` scans for another format's content.

use super::parse::{Findings, TensorInfo};
use crate::inspect::facts::Finding;

/// `x` rounded up to a multiple of `align` (a power of two), `None` on overflow.
pub(super) fn align_up(x: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    x.checked_add(mask).map(|v| v & !mask)
}

/// The byte ranges `[start, end)` of the file that no tensor claims, from
/// the end of the header to the end of the file: the padding before the
/// data section, padding and gaps between tensors, the bytes of tensors
/// whose size is unknown (an unknown ggml type) or that run past the end,
/// and whatever follows the last tensor. Sorted, disjoint, non-empty.
pub(super) fn unclaimed(
    tensors: &[TensorInfo],
    header_end: u64,
    alignment: Option<u64>,
    file_len: u64,
) -> Vec<(u64, u64)> {
    let data_start = alignment
        .and_then(|a| align_up(header_end, a))
        .unwrap_or(header_end);
    let mut claimed: Vec<(u64, u64)> = tensors
        .iter()
        .filter_map(|t| {
            let start = data_start.checked_add(t.offset)?;
            let end = start.checked_add(t.size?)?;
            (end <= file_len && start < end).then_some((start, end))
        })
        .collect();
    claimed.sort_unstable();
    let mut out = Vec::new();
    let mut at = header_end.min(file_len);
    for (start, end) in claimed {
        if start > at {
            out.push((at, start));
        }
        at = at.max(end);
    }
    if file_len > at {
        out.push((at, file_len));
    }
    out
}

/// Check the data section. `alignment` is `None` when `general.alignment`
/// is invalid: then the data section starts right after the header and
/// alignment-dependent checks are skipped.
pub(super) fn check(
    tensors: &[TensorInfo],
    header_end: u64,
    alignment: Option<u64>,
    file_len: u64,
    findings: &mut Findings,
) {
    let data_start = match alignment {
        Some(a) => align_up(header_end, a),
        None => Some(header_end),
    };
    let Some(data_start) = data_start else {
        findings.push(Finding::error(
            "gguf.tensor_out_of_bounds",
            format!("gguf data section: start {header_end} rounded up to alignment overflows"),
        ));
        return;
    };

    // (offset, end, index) of tensors with a known size, relative to data_start.
    let mut spans = Vec::with_capacity(tensors.len());
    let mut all_known = true;
    let mut all_inside = true;
    for (i, t) in tensors.iter().enumerate() {
        let Some(size) = t.size else {
            all_known = false;
            continue;
        };
        if let Some(a) = alignment
            && t.offset % a != 0
        {
            findings.push(Finding::error(
                "gguf.tensor_misaligned",
                format!("gguf tensor '{}' starts at data offset {}, not a multiple of the alignment {a}", t.name, t.offset),
            ));
        }
        let end = t.offset.checked_add(size);
        let abs_end = end.and_then(|e| data_start.checked_add(e));
        match (end, abs_end) {
            (Some(end), Some(abs_end)) if abs_end <= file_len => spans.push((t.offset, end, i)),
            _ => {
                all_inside = false;
                findings.push(Finding::error(
                    "gguf.tensor_out_of_bounds",
                    format!(
                        "gguf tensor '{}' ({size} bytes at data offset {}, data section at {data_start}) runs past the end of the file ({file_len} bytes)",
                        t.name, t.offset
                    ),
                ));
            }
        }
    }

    let max_end = check_order(tensors, &mut spans, alignment, findings);

    if all_known && all_inside {
        let data_end = data_start.saturating_add(max_end);
        // Padding after the last tensor is allowed; a file without tensors
        // may still be padded up to the data section start.
        let allowed = alignment
            .and_then(|a| align_up(data_end, a))
            .unwrap_or(data_end);
        if file_len > allowed {
            let extra = file_len - data_end;
            findings.push(Finding::warning(
                "gguf.trailing_bytes",
                format!("gguf file has {extra} bytes after the end of the last tensor (offset {data_end}), more than alignment padding"),
            ));
        }
    }
}

/// The tensors with a known size in data order (`spans`: offset, end and
/// index, relative to the data section): overlaps and gaps past the
/// alignment padding. Returns where the last of them ends.
fn check_order(
    tensors: &[TensorInfo],
    spans: &mut [(u64, u64, usize)],
    alignment: Option<u64>,
    findings: &mut Findings,
) -> u64 {
    spans.sort_unstable();
    let mut max_end = 0u64;
    let mut max_end_index: Option<usize> = None;
    for &(offset, end, i) in spans.iter() {
        let name = tensors.get(i).map_or("", |t| t.name.as_str());
        if end == offset {
            continue; // an empty tensor occupies no bytes
        }
        if offset < max_end {
            let other = max_end_index
                .and_then(|j| tensors.get(j))
                .map_or("", |t| t.name.as_str());
            findings.push(Finding::error(
                "gguf.tensors_overlap",
                format!("gguf tensor '{name}' (data bytes {offset}..{end}) overlaps tensor '{other}' (ending at {max_end})"),
            ));
        } else {
            let expected = alignment
                .and_then(|a| align_up(max_end, a))
                .unwrap_or(max_end);
            if offset > expected {
                let gap = offset - expected;
                // gguf.cpp refuses a tensor whose offset is not the padded
                // end of the one before it.
                findings.push(Finding::error(
                    "gguf.gap",
                    format!("gguf tensor '{name}' starts at data offset {offset}, {gap} bytes after the previous tensor and its padding (llama.cpp refuses the file)"),
                ));
            }
        }
        if end > max_end {
            max_end = end;
            max_end_index = Some(i);
        }
    }
    max_end
}
