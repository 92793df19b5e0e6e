//! What `verify` and `import` read: a bundle file, or a part set read
//! through as one stream (docs/bundle-format.md, section 13, "Reading
//! through parts"). A part set is read only under a policy whose keys
//! trust its index; the bundle inside is then checked exactly as a file.

use std::path::Path;
use std::sync::Arc;

use super::report::Failure;
use super::verdict::Verdict;
use crate::bundle::manifest::Manifest;
use crate::io::source::SourceReader;
use crate::parts::{PartReader, Trust};

/// Whether `path` names a part set rather than a bundle file: a folder.
pub fn is_part_set(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// Open `path`: a regular file (a FIFO or device is refused at once, never
/// waited on), or, with `parts` to trust its index, a folder holding a part
/// set, whose missing or damaged parts are rebuilt from parity as read.
pub(crate) fn open(path: &Path, parts: Option<&dyn Trust>) -> Result<SourceReader, Verdict> {
    if is_part_set(path) {
        let Some(trust) = parts else {
            return Err(Verdict::fail(
                Failure::Malformed,
                format!(
                    "{} is a folder; a part set is read only under a policy",
                    path.display()
                ),
            ));
        };
        let failed =
            |e: crate::parts::Error| Verdict::fail(Failure::of_reading(e.class()), e.to_string());
        let report = crate::parts::verify_parts(&[path.to_path_buf()], trust).map_err(failed)?;
        let reader = PartReader::from_report(&report).map_err(failed)?;
        return Ok(SourceReader::new(Arc::new(reader)));
    }
    let (file, len) = crate::io::open::open_regular(path)
        .map_err(|e| Verdict::fail(Failure::Io, format!("cannot read the bundle: {e}")))?;
    Ok(SourceReader::file(file, len))
}

/// The size of the bundle at `path` (a file, or a part set whose index
/// `parts` trusts) and its manifest, from its headers
/// alone: nothing is checked (`import` reads the channel's state before
/// verifying). `None` for the manifest when the headers cannot be read.
pub fn peek(
    path: &Path,
    parts: &dyn Trust,
    limits: &crate::bundle::ReadLimits,
) -> std::io::Result<(u64, Option<Manifest>)> {
    if !is_part_set(path) {
        let len = std::fs::metadata(path)?.len();
        let manifest = crate::bundle::read::open(path, limits)
            .ok()
            .map(|b| b.manifest);
        return Ok((len, manifest));
    }
    let reader =
        PartReader::open_unchecked(&[path.to_path_buf()], parts).map_err(std::io::Error::other)?;
    let mut source = SourceReader::new(Arc::new(reader));
    let len = source.len();
    let manifest = crate::bundle::read::open_from(path, &mut source, len, limits)
        .ok()
        .map(|b| b.manifest);
    Ok((len, manifest))
}

/// The manifest of the part set at `path`, read without trust as [`peek`]
/// reads it (`verify --store` needs its channel and differential base
/// before verifying); `None` when its headers cannot be read.
pub fn peek_manifest(
    path: &Path,
    parts: &dyn Trust,
    limits: &crate::bundle::ReadLimits,
) -> std::io::Result<Option<Manifest>> {
    peek(path, parts, limits).map(|(_, manifest)| manifest)
}
