//! The strict bundle reader, and `inspect`.
//!
//! [`open`] walks the tar headers (seeking over data), checks the layout
//! against the manifest, and reads only the small entries: manifest,
//! attestation, chain links. It hashes no artifact: that is `verify`'s job,
//! which builds on [`OpenBundle`]. Nothing here is trusted.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chain::{self, LinkInfo};
use super::manifest::{Encoding, Manifest, Role};
use super::summary::{self, SbomSummary};
use super::tar::{self, TarEntry, TarError, TarLayout};
use super::{BundlePath, Error, ReadLimits, layout};
use crate::envelope::Envelope;
use crate::inspect::digest::Sha256Digest;

/// A bundle whose structure, layout and small entries have been read and
/// checked for form. Signatures and artifact hashes are NOT checked.
#[derive(Debug)]
pub struct OpenBundle {
    /// The file path.
    pub path: PathBuf,
    /// File length.
    pub file_len: u64,
    /// Tar structure.
    pub layout: TarLayout,
    /// The manifest, parsed.
    pub manifest: Manifest,
    /// The manifest entry's exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// SHA-256 of `manifest_bytes`.
    pub manifest_sha256: Sha256Digest,
    /// The manifest's times, parsed.
    pub times: super::manifest::ManifestTimes,
    /// Each link: its tar entry and claimed contents. The envelopes are
    /// not kept (one link is decoded at a time: [`read_link`]); the entry
    /// digest in [`LinkInfo`] pins the bytes a later reader must find.
    pub links: Vec<(TarEntry, LinkInfo)>,
}

/// Open and structurally check a bundle.
pub fn open(path: &Path, limits: &ReadLimits) -> Result<OpenBundle, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let (entries, outcome) = tar::walk_entries(&mut file, file_len, limits);
    let end_offset = match outcome {
        Ok(end) => end,
        Err(e) => {
            // Only damage after the manifest can be what an interrupted
            // `sign` left; anything earlier is plain damage.
            let after_manifest = entries.iter().any(|t| t.name.as_str() == layout::MANIFEST);
            return Err(tar_error(path, e, after_manifest));
        }
    };
    let layout = tar::TarLayout {
        entries,
        end_offset,
    };
    open_layout(path, &mut file, file_len, layout, limits)
}

/// Map a walker error: damage that `sign` can repair (a torn tail after the
/// manifest) gets its own message.
pub(crate) fn tar_error(path: &Path, source: TarError, repairable: bool) -> Error {
    match source.incomplete_tail_offset() {
        Some(offset) if offset > 0 && repairable => Error::IncompleteTail {
            path: path.to_path_buf(),
            offset,
            source,
        },
        _ => Error::Tar {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Check the layout of already-walked entries and read the small entries.
pub(crate) fn open_layout(
    path: &Path,
    file: &mut File,
    file_len: u64,
    mut layout: TarLayout,
    limits: &ReadLimits,
) -> Result<OpenBundle, Error> {
    let bad = |message: String| Error::Layout {
        path: path.to_path_buf(),
        message,
    };
    let manifest_index = layout
        .entries
        .iter()
        .position(|e| e.name.as_str() == layout::MANIFEST)
        .ok_or_else(|| bad("no manifest.json entry".into()))?;
    let manifest_entry = layout
        .entries
        .get(manifest_index)
        .ok_or_else(|| bad("no manifest".into()))?;
    let manifest_bytes = read_entry(path, file, manifest_entry, limits.max_manifest_bytes)?;
    check_format_version(&manifest_bytes).map_err(bad)?;
    let manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            entry: layout::MANIFEST.into(),
            source,
        })?;
    if manifest.schema != layout::MANIFEST_SCHEMA {
        return Err(bad(format!(
            "manifest schema {:?} is not {}",
            manifest.schema,
            layout::MANIFEST_SCHEMA
        )));
    }
    // The reader accepts exactly what a writer may produce (the format's
    // rule): names and channels outside the label syntax — control
    // characters included — never reach a report or a terminal, and times
    // and sequences are in their one form (docs/bundle-format.md [B24]).
    let times = super::manifest::check_fields(&manifest).map_err(bad)?;
    let artifacts = manifest
        .entries
        .iter()
        .filter(|e| e.role == Role::Artifact)
        .count();
    if artifacts > limits.max_artifacts {
        return Err(bad(format!(
            "the manifest lists {artifacts} artifacts, more than the reader limit of {}",
            limits.max_artifacts
        )));
    }
    check_entries_match(
        &manifest,
        layout.entries.get(..manifest_index).unwrap_or_default(),
    )
    .map_err(bad)?;
    check_entry_sizes(&manifest, limits).map_err(bad)?;
    // The names matched: the tar layout shares the manifest's copy of each.
    for (t, m) in layout.entries.iter_mut().zip(&manifest.entries) {
        t.name = m.path.clone();
    }
    let mut links = Vec::new();
    for (i, entry) in layout.entries.iter().skip(manifest_index + 1).enumerate() {
        let index = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if index > layout::MAX_LINKS || i >= limits.max_links {
            let most = limits.max_links.min(layout::MAX_LINKS as usize);
            return Err(bad(format!(
                "entry {} is past the last link a bundle may have (at most {most} links)",
                entry.name
            )));
        }
        if entry.name.as_str() != layout::link_name(index) {
            return Err(bad(format!(
                "entry {} after the manifest is not {}",
                entry.name,
                layout::link_name(index)
            )));
        }
        let (_, info) = read_link(path, file, entry, limits)?;
        if info.predicate.index != index {
            return Err(bad(format!(
                "entry {} claims index {}",
                entry.name, info.predicate.index
            )));
        }
        links.push((entry.clone(), info));
    }
    let manifest_sha256 = Sha256Digest::of(&manifest_bytes);
    Ok(OpenBundle {
        path: path.to_path_buf(),
        file_len,
        layout,
        manifest,
        manifest_bytes,
        manifest_sha256,
        times,
        links,
    })
}

/// Refuse a manifest of another format version with a message that says
/// so, before the strict parse (which would only say "unknown field" for a
/// later version's additions). Bundles written by this version must keep
/// verifying in later ones (tests/vectors/bundle/tiny.lbom is kept for that).
fn check_format_version(manifest_bytes: &[u8]) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Schema {
        schema: Option<String>,
    }
    // Unparsable JSON is left to the strict parse, which names the error.
    let Ok(Schema {
        schema: Some(schema),
    }) = serde_json::from_slice::<Schema>(manifest_bytes)
    else {
        return Ok(());
    };
    if schema == layout::MANIFEST_SCHEMA {
        return Ok(());
    }
    let version = schema.strip_prefix("urn:lbom:bundle-manifest:");
    Err(match version {
        Some(v) => format!(
            "unsupported bundle format version {:?}: lbom {} reads {}",
            crate::describe::text::visible(v),
            crate::TOOL_VERSION,
            layout::MANIFEST_SCHEMA
        ),
        None => format!(
            "manifest schema {:?} is not {}",
            crate::describe::text::visible(&schema),
            layout::MANIFEST_SCHEMA
        ),
    })
}

/// The entries before the manifest must be exactly the manifest's entries,
/// in order: (artifact, its SBOM)*, then the attestation.
fn check_entries_match(manifest: &Manifest, entries: &[TarEntry]) -> Result<(), String> {
    if manifest.entries.len() != entries.len() {
        return Err(format!(
            "manifest lists {} entries but the bundle has {} before it",
            manifest.entries.len(),
            entries.len()
        ));
    }
    let mut pending_sbom: Option<String> = None;
    // Artifacts in ascending byte order of their artifact paths (§1, [B27]):
    // one order per set of files, so the layout is a function of the files.
    let mut last_artifact: Option<BundlePath> = None;
    for (m, t) in manifest.entries.iter().zip(entries) {
        if m.path != t.name {
            return Err(format!(
                "entry {} is where the manifest lists {}",
                t.name, m.path
            ));
        }
        if m.stored_size != t.size || (m.encoding == Encoding::Raw && m.size != m.stored_size) {
            return Err(format!("entry {}: size differs from the manifest", t.name));
        }
        match (m.role, pending_sbom.take()) {
            (Role::Artifact, None) => {
                let artifact = m
                    .artifact_path()
                    .ok_or_else(|| format!("entry {} is not a valid artifact name", m.path))?;
                if let Some(last) = &last_artifact
                    && *last >= artifact
                {
                    return Err(format!(
                        "artifact {artifact} is not in ascending byte order after {last}"
                    ));
                }
                pending_sbom = Some(format!(
                    "{}/{}{}",
                    layout::SBOMS_DIR,
                    artifact,
                    layout::SBOM_SUFFIX
                ));
                last_artifact = Some(artifact);
            }
            (Role::Sbom, Some(want)) if m.path.as_str() == want && m.encoding == Encoding::Raw => {}
            (Role::Attestation, None)
                if m.path.as_str() == layout::ATTESTATION && m.encoding == Encoding::Raw => {}
            _ => {
                return Err(format!(
                    "entry {} ({:?}) is out of the bundle layout",
                    m.path, m.role
                ));
            }
        }
    }
    match manifest.entries.last() {
        Some(last) if last.role == Role::Attestation => Ok(()),
        _ => Err("the attestation must be the last entry before the manifest".into()),
    }
}

/// The small entries every reader reads whole or parses are within the
/// reader limits, whichever reader it is (`inspect`, `sign`, `verify`,
/// `diff`): one bundle is refused by all of them or by none.
fn check_entry_sizes(manifest: &Manifest, limits: &ReadLimits) -> Result<(), String> {
    for e in &manifest.entries {
        let cap = match e.role {
            Role::Sbom => limits.max_sbom_bytes,
            Role::Attestation => limits.max_attestation_bytes,
            Role::Artifact => continue,
        };
        if e.stored_size > cap {
            return Err(format!(
                "entry {} is {} bytes, more than the {cap}-byte reader limit for its role",
                e.path, e.stored_size
            ));
        }
    }
    Ok(())
}

/// Read a whole entry (bounded).
pub(crate) fn read_entry(
    path: &Path,
    file: &mut File,
    entry: &TarEntry,
    max: u64,
) -> Result<Vec<u8>, Error> {
    if entry.size > max {
        return Err(Error::Layout {
            path: path.to_path_buf(),
            message: format!(
                "entry {} is {} bytes, more than the {max}-byte limit",
                entry.name, entry.size
            ),
        });
    }
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::Start(entry.data_offset)).map_err(io)?;
    let mut out = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
    file.take(entry.size).read_to_end(&mut out).map_err(io)?;
    if out.len() as u64 != entry.size {
        return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(out)
}

/// Read and decode one chain link entry (at most
/// [`ReadLimits::max_link_bytes`]): its envelope and what it claims.
/// Readers call this once per link and keep only the [`LinkInfo`]; the
/// signature check decodes the link again and compares its digest.
pub fn read_link(
    path: &Path,
    file: &mut File,
    entry: &TarEntry,
    limits: &ReadLimits,
) -> Result<(Envelope, LinkInfo), Error> {
    let bytes = read_entry(path, file, entry, limits.max_link_bytes)?;
    chain::parse_link(entry.name.as_str(), &bytes).map_err(|e| match e {
        chain::LinkError::Envelope(source) => Error::Envelope {
            path: path.to_path_buf(),
            entry: entry.name.to_string(),
            source,
        },
        other => Error::Layout {
            path: path.to_path_buf(),
            message: format!("entry {}: {other}", entry.name),
        },
    })
}

/// `lbom inspect`: everything a bundle claims, marked untrusted.
#[derive(Debug, Clone, Serialize)]
pub struct BundleInfo {
    /// Always `"untrusted"`: nothing here was verified.
    pub trust: &'static str,
    /// The bundle file.
    pub path: PathBuf,
    /// Its size.
    pub file_size: u64,
    /// SHA-256 of the manifest entry.
    pub manifest_sha256: Sha256Digest,
    /// The manifest (name, channel, sequence, previous, times, tool, entries).
    pub manifest: Manifest,
    /// Brief SBOM contents.
    pub sboms: Vec<SbomSummary>,
    /// Each chain link as claimed.
    pub links: Vec<LinkInfo>,
}

/// Read a bundle's manifest, SBOM summaries and chain without verifying
/// anything. Structural damage is still an error.
pub fn inspect(path: &Path) -> Result<BundleInfo, Error> {
    let limits = ReadLimits::default();
    let bundle = open(path, &limits)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut sboms = Vec::new();
    for (m, t) in bundle.manifest.entries.iter().zip(&bundle.layout.entries) {
        if m.role == Role::Sbom {
            // Streamed, never read whole: only the summary is kept.
            file.seek(SeekFrom::Start(t.data_offset)).map_err(io)?;
            sboms.push(summary::summarise(
                m.path.as_str(),
                m.size,
                (&mut file).take(t.size),
            ));
        }
    }
    Ok(BundleInfo {
        trust: "untrusted",
        path: path.to_path_buf(),
        file_size: bundle.file_len,
        manifest_sha256: bundle.manifest_sha256,
        links: bundle.links.into_iter().map(|(_, info)| info).collect(),
        manifest: bundle.manifest,
        sboms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_format_version_is_named_as_unsupported() {
        let v1 = format!(r#"{{"schema":"{}","name":"x"}}"#, layout::MANIFEST_SCHEMA);
        assert_eq!(check_format_version(v1.as_bytes()), Ok(()));
        // A later version with fields this one does not know: the message
        // names the version instead of the first unknown field.
        let v2 = br#"{"schema":"urn:lbom:bundle-manifest:v2","merkle_root":"00"}"#;
        let err = check_format_version(v2).err().unwrap_or_default();
        assert!(
            err.starts_with("unsupported bundle format version \"v2\": lbom "),
            "{err}"
        );
        let other = br#"{"schema":"urn:example:thing"}"#;
        assert!(check_format_version(other).is_err());
        // Not JSON, or no schema: the strict parse reports it.
        assert_eq!(check_format_version(b"\x00not json"), Ok(()));
        assert_eq!(check_format_version(br#"{"name":"x"}"#), Ok(()));
    }
}
