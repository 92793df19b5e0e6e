//! Opening what `verify` and `import` read ([`BundleInput`]): a bundle
//! file, a part set read through as one stream over all its folders
//! (docs/bundle-format.md, section 13, "Reading through parts"), or a
//! named source read in place. A part set is read only under a policy
//! whose keys trust its index; the bundle inside is then checked exactly
//! as a file.
//!
//! The common case reads the bundle's bytes once: the first read checks
//! only the index's signature and each part's presence and size, and the
//! bundle's own digests and chain catch damaged content. When that read
//! fails in a way damaged bytes could explain and the set has parity,
//! [`second_read`] runs the full part check and, when it finds damaged or
//! missing parts parity can rebuild, the bundle is read again through the
//! repairing reader.

use std::path::Path;
use std::sync::Arc;

use super::input::BundleInput;
use super::report::Failure;
use super::verdict::Verdict;
use crate::bundle::manifest::Manifest;
use crate::io::source::SourceReader;
use crate::parts::{PartReader, PartState, PartsReport, Trust};

/// Whether `path` names a part set rather than a bundle file: a folder.
pub fn is_part_set(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// How a part set is read.
#[derive(Clone, Copy)]
pub(crate) enum PartsRead<'a> {
    /// The first read: the index's signature under the policy and each
    /// part's presence and size are checked; present parts are read in
    /// place, absent ones rebuilt from parity as read.
    Fast(&'a dyn Trust),
    /// The second read, after the full check found damaged or missing
    /// parts: every part not found intact is rebuilt from parity.
    Checked(&'a PartsReport),
}

/// Open `input`: a regular file (a FIFO or device is refused at once, never
/// waited on); with `parts` to say how, a part set over all its folders;
/// or a source, read in place. With a note for the report when the first
/// read of a set rebuilds parts from parity as it reads them.
pub(crate) fn open(
    input: &BundleInput,
    parts: Option<PartsRead<'_>>,
) -> Result<(SourceReader, Option<String>), Verdict> {
    let folders = match input {
        BundleInput::File(path) => {
            let (file, len) = crate::io::open::open_regular(path).map_err(|e| {
                Verdict::fail(Failure::Io, format!("cannot read the bundle: {e}"))
            })?;
            return Ok((SourceReader::file(file, len), None));
        }
        BundleInput::Source { source, .. } => {
            return Ok((SourceReader::new(Arc::clone(source)), None));
        }
        BundleInput::Parts(folders) => folders,
    };
    let failed =
        |e: crate::parts::Error| Verdict::fail(Failure::of_reading(e.class()), e.to_string());
    let (reader, note) = match parts {
        None => {
            return Err(Verdict::fail(
                Failure::Malformed,
                format!(
                    "{} is a folder; a part set is read only under a policy",
                    input.name().display()
                ),
            ));
        }
        Some(PartsRead::Fast(trust)) => {
            let reader = PartReader::open_unchecked(folders, trust).map_err(failed)?;
            if let Some(e) = reader.shortfall() {
                return Err(failed(e));
            }
            let absent = reader.absent();
            let note = (!absent.is_empty()).then(|| {
                format!(
                    "parts missing or of the wrong size, rebuilt from parity as read: {}",
                    absent.join(", ")
                )
            });
            (reader, note)
        }
        Some(PartsRead::Checked(report)) => {
            (PartReader::from_report(report).map_err(failed)?, None)
        }
    };
    Ok((SourceReader::new(Arc::new(reader)), note))
}

/// What to do after a first read through a part set failed.
#[derive(Debug)]
pub(crate) enum Retry {
    /// Nothing: the failure is the bundle's own (or the set has no parity).
    Not,
    /// The full check found parts that could explain it but parity cannot
    /// rebuild them: the first report stands, with this note.
    Note(String),
    /// Read again through the repairing reader over this check, noting it.
    Repair(Box<PartsReport>, String),
}

/// After a first read of `input` failed with `failure`, when it is a part
/// set (a source or a file is read once):
/// when damaged or missing bytes could explain it (a malformed archive, a
/// digest, a signature or a read that failed; never a policy, rollback or
/// drift refusal, which judge checked content) and the set has parity, the
/// full part check over all its folders (docs/bundle-format.md, section
/// 13, [B73]).
pub(crate) fn second_read(input: &BundleInput, trust: &dyn Trust, failure: Failure) -> Retry {
    let BundleInput::Parts(folders) = input else {
        return Retry::Not;
    };
    let bytes_could_explain = matches!(
        failure,
        Failure::Malformed | Failure::Integrity | Failure::Trust | Failure::Io
    );
    if !bytes_could_explain {
        return Retry::Not;
    }
    let Ok(report) = crate::parts::verify_parts(folders, trust) else {
        return Retry::Not;
    };
    if report.index.parity.is_empty() {
        return Retry::Not;
    }
    let named = |state: PartState| {
        report
            .parts
            .iter()
            .filter(|p| p.state == state)
            .map(|p| p.file_name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (damaged, missing) = (named(PartState::Damaged), named(PartState::Missing));
    if damaged.is_empty() && missing.is_empty() {
        return Retry::Not;
    }
    let mut found = Vec::new();
    if !damaged.is_empty() {
        found.push(format!("damaged: {damaged}"));
    }
    if !missing.is_empty() {
        found.push(format!("missing: {missing}"));
    }
    let found = found.join("; ");
    if let Some(e) = crate::parts::check::unrecoverable(&report) {
        return Retry::Note(format!(
            "the first read through the parts failed and the part check found parts {found}: {e}"
        ));
    }
    Retry::Repair(
        Box::new(report),
        format!(
            "the first read through the parts failed; the part check found parts {found}, rebuilt from parity in a second read"
        ),
    )
}

/// The size of the bundle `input` holds (a file, a part set whose index
/// `parts` trusts, or a source) and its manifest, from its headers alone:
/// nothing is checked (`import` reads the channel's state before
/// verifying). `None` for the manifest when the headers cannot be read.
pub fn peek(
    input: &BundleInput,
    parts: &dyn Trust,
    limits: &crate::bundle::ReadLimits,
) -> std::io::Result<(u64, Option<Manifest>)> {
    let mut source = match input {
        BundleInput::File(path) => {
            let len = std::fs::metadata(path)?.len();
            let manifest = crate::bundle::read::open(path, limits)
                .ok()
                .map(|b| b.manifest);
            return Ok((len, manifest));
        }
        BundleInput::Parts(folders) => {
            let reader =
                PartReader::open_unchecked(folders, parts).map_err(std::io::Error::other)?;
            SourceReader::new(Arc::new(reader))
        }
        BundleInput::Source { source, .. } => {
            let mut source = SourceReader::new(Arc::clone(source));
            let manifest = crate::bundle::read::open_stream(input.name(), &mut source, limits)
                .ok()
                .map(|b| b.manifest);
            return Ok((source.len(), manifest));
        }
    };
    let len = source.len();
    let manifest = crate::bundle::read::open_from(input.name(), &mut source, len, limits)
        .ok()
        .map(|b| b.manifest);
    Ok((len, manifest))
}

/// The manifest of the bundle `input` holds, read without trust as
/// [`peek`] reads it (`verify --store` needs its channel and differential
/// base before verifying); `None` when its headers cannot be read.
pub fn peek_manifest(
    input: &BundleInput,
    parts: &dyn Trust,
    limits: &crate::bundle::ReadLimits,
) -> std::io::Result<Option<Manifest>> {
    peek(input, parts, limits).map(|(_, manifest)| manifest)
}
