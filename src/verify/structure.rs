//! `archive.structure` and `manifest.form`: the strict reader
//! ([`crate::bundle::read`]) split in its two halves, so that the report
//! tells a damaged tar from a manifest that does not describe it.

use crate::io::source::SourceReader;
use std::path::Path;

use super::input::BundleInput;
use super::report::Failure;
use super::verdict::{Step, Verdict};
use crate::bundle::tar::{self, TarLayout};
use crate::bundle::{self, OpenBundle, ReadLimits, layout, read};

/// A bundle whose structure and manifest passed (its times parsed by the
/// reader: `bundle.times`).
#[derive(Debug)]
pub(crate) struct Opened {
    pub bundle: OpenBundle,
}

/// An error and its sources, one sentence: what a report detail shows.
pub(crate) fn error_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Reading errors are I/O; everything else the reader refuses is malformed
/// (the error's own class decides).
pub(crate) fn classify(e: &bundle::Error) -> Failure {
    Failure::of_reading(e.class())
}

/// `archive.structure`: the tar profile (docs/bundle-format.md §2–3) —
/// headers, canonical and collision-free names, no links, devices or
/// extension headers, sizes within the file, the end marker, nothing after.
pub(crate) fn walk(
    input: &BundleInput,
    limits: &ReadLimits,
    parts: Option<super::source::PartsRead<'_>>,
) -> Step<(SourceReader, TarLayout)> {
    let (mut file, note) = super::source::open(input, parts)?;
    let file_len = file.len();
    let (entries, outcome) = tar::walk_entries(&mut file, file_len, limits);
    match outcome {
        Ok(end_offset) => {
            let mut detail = format!(
                "{} ustar entries, end marker at offset {end_offset}, nothing after it",
                entries.len()
            );
            if let Some(note) = note {
                detail = format!("{detail} ({note})");
            }
            Ok((
                (
                    file,
                    TarLayout {
                        entries,
                        end_offset,
                    },
                ),
                Verdict::pass(detail),
            ))
        }
        Err(e) => {
            let error = match input {
                // Bytes with no file of their own: nothing beside them is
                // looked at.
                BundleInput::Source { .. } => {
                    let mut head = [0u8; 64];
                    let read = file.read_at(&mut head, 0).unwrap_or(0);
                    let head = head.get(..read).unwrap_or_default();
                    read::stream_tar_error(input.name(), e, file_len, head)
                }
                BundleInput::File(_) | BundleInput::Parts(_) => {
                    let after_manifest =
                        entries.iter().any(|t| t.name.as_str() == layout::MANIFEST);
                    read::tar_error(input.name(), e, after_manifest)
                }
            };
            Err(Verdict::fail(classify(&error), error_text(&error)))
        }
    }
}

/// `manifest.form`: the manifest is a version this reader knows, parses
/// strictly, its fields are in range and its bytes in their one form, and
/// the entries before it are exactly its entries in the bundle layout
/// (docs/bundle-format.md §1, §5). The links after it are `chain.links`'.
pub(crate) fn form(
    path: &Path,
    file: &mut SourceReader,
    walked: TarLayout,
    limits: &ReadLimits,
) -> Step<Opened> {
    let file_len = file.len();
    let bundle = read::open_manifest(path, file, file_len, walked, limits)
        .map_err(|e| Verdict::fail(classify(&e), error_text(&e)))?;
    let m = &bundle.manifest;
    let detail = format!(
        "manifest {} (schema {}): {} entries in layout order, bundle {} on channel {}, sequence {}",
        bundle.manifest_sha256,
        m.schema,
        m.entries.len(),
        m.name,
        m.channel,
        m.sequence
    );
    Ok((Opened { bundle }, Verdict::pass(detail)))
}
