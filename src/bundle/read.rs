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
use super::path::{CollisionError, check_collisions};
use super::summary::{self, SbomSummary};
use super::tar::{self, TarEntry, TarError, TarLayout};
use super::{BundlePath, Error, ReadLimits, layout};
use crate::envelope::Envelope;
use crate::io::digest::Sha256Digest;

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
    open_from(path, &mut file, file_len, limits)
}

/// [`open`] over any reader of `file_len` bytes (a part set read as one
/// stream: docs/bundle-format.md, section 13); `path` names it in errors.
pub fn open_from<R: Read + Seek>(
    path: &Path,
    file: &mut R,
    file_len: u64,
    limits: &ReadLimits,
) -> Result<OpenBundle, Error> {
    let (entries, outcome) = tar::walk_entries(file, file_len, limits);
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
    open_layout(path, file, file_len, layout, limits)
}

/// [`open_from`] over bytes with no file of their own (a bundle source
/// such as a registry's blobs), named `name` in errors: no file beside
/// them is looked at ([`stream_tar_error`]).
pub(crate) fn open_stream(
    name: &Path,
    source: &mut crate::io::source::SourceReader,
    limits: &ReadLimits,
) -> Result<OpenBundle, Error> {
    let len = source.len();
    let (entries, outcome) = tar::walk_entries(source, len, limits);
    let end_offset = match outcome {
        Ok(end) => end,
        Err(e) => {
            let mut head = [0u8; 64];
            let read = source.read_at(&mut head, 0).unwrap_or(0);
            let head = head.get(..read).unwrap_or_default();
            return Err(stream_tar_error(name, e, len, head));
        }
    };
    let layout = tar::TarLayout {
        entries,
        end_offset,
    };
    open_layout(name, source, len, layout, limits)
}

/// Map a walker error: a bundle that ends inside an entry after its
/// manifest gets its own message, which tells a tail torn by an
/// interrupted `sign` (its marker names the offset: [`super::marker`])
/// from a copy cut short.
pub(crate) fn tar_error(path: &Path, source: TarError, after_manifest: bool) -> Error {
    if let Some(offset) = source.incomplete_tail_offset()
        && offset > 0
        && after_manifest
        && let Some(marker) = super::marker::read_marker(path).filter(|m| *m <= offset)
    {
        return Error::IncompleteTail {
            path: path.to_path_buf(),
            offset: marker,
            damage: source,
        };
    }
    // No torn `sign` to name: what the bytes say, read from the file.
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut head = Vec::with_capacity(64);
    let _ = File::open(path).and_then(|f| f.take(64).read_to_end(&mut head));
    stream_tar_error(path, source, len, &head)
}

/// [`tar_error`] for bytes with no file of their own (a bundle source such
/// as a registry's blobs), named `name` in the error: no `sign` marker can
/// be beside them and no file is looked at; `len` is their length and
/// `head` their first bytes, what a damaged start is sniffed from.
pub(crate) fn stream_tar_error(name: &Path, source: TarError, len: u64, head: &[u8]) -> Error {
    let cut_short = matches!(
        source,
        TarError::Truncated { .. } | TarError::BadEndMarker { .. }
    );
    match source.incomplete_tail_offset() {
        Some(offset) if offset > 0 && cut_short => Error::CutShort {
            path: name.to_path_buf(),
            offset,
            file_len: len,
            damage: source,
        },
        _ if matches!(
            source,
            TarError::Checksum { offset: 0 } | TarError::NotUstar { offset: 0 }
        ) =>
        {
            Error::NotABundle {
                path: name.to_path_buf(),
                what: what_bytes_are(head, len),
            }
        }
        _ => Error::Tar {
            path: name.to_path_buf(),
            source,
        },
    }
}

/// What `len` bytes starting with `head` are when they are no tar archive.
fn what_bytes_are(head: &[u8], len: u64) -> String {
    use crate::inspect::Sniffed;
    let model = match crate::inspect::sniff(head, len) {
        Sniffed::Gguf => "a GGUF model file",
        Sniffed::Safetensors => "a safetensors model file",
        Sniffed::Pickle => "a pickle file",
        Sniffed::Zip => "a zip archive",
        _ => return "it is not a tar archive (a bundle is one, made by `lbom pack`)".to_owned(),
    };
    format!(
        "it is {model}; `lbom scan` and `lbom diff` read model files, `lbom pack` makes a bundle of them"
    )
}

/// Check the layout of already-walked entries and read the small entries:
/// [`open_manifest`], then [`read_links`].
pub(crate) fn open_layout<R: Read + Seek>(
    path: &Path,
    file: &mut R,
    file_len: u64,
    layout: TarLayout,
    limits: &ReadLimits,
) -> Result<OpenBundle, Error> {
    let mut bundle = open_manifest(path, file, file_len, layout, limits)?;
    read_links(&mut bundle, file, limits)?;
    Ok(bundle)
}

/// Read the manifest of already-walked entries and check it and the
/// entries before it (docs/bundle-format.md §1, §5: what `verify` reports
/// as `manifest.form`). The links are not read: [`read_links`].
pub(crate) fn open_manifest<R: Read + Seek>(
    path: &Path,
    file: &mut R,
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
    // The reader accepts exactly what a writer may produce (the format's
    // rule): every field in order and in range — names and channels
    // outside the label syntax, control characters included, never reach a
    // report or a terminal — and the bytes in their one form ([B23],
    // [B24], [B51]–[B54]).
    let (manifest, times) = super::manifest::parse(&manifest_bytes).map_err(bad)?;
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
        limits.max_folded_name_bytes,
    )
    .map_err(bad)?;
    check_entry_sizes(&manifest, limits).map_err(bad)?;
    // The names matched: the tar layout shares the manifest's copy of each.
    for (t, m) in layout.entries.iter_mut().zip(&manifest.entries) {
        t.name = m.path.clone();
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
        links: Vec::new(),
    })
}

/// Read and check the form of every entry after the manifest: exactly the
/// links `chain/0001.dsse.json`, … without gaps, each a well-formed link
/// whose `index` is its number (docs/bundle-format.md [B3], §7: what
/// `verify` reports as `chain.links`, exit 3). Fills `bundle.links`.
pub(crate) fn read_links<R: Read + Seek>(
    bundle: &mut OpenBundle,
    file: &mut R,
    limits: &ReadLimits,
) -> Result<(), Error> {
    let path = bundle.path.clone();
    let bad = |message: String| Error::Layout {
        path: path.clone(),
        message,
    };
    let manifest_index = bundle
        .layout
        .entries
        .iter()
        .position(|e| e.name.as_str() == layout::MANIFEST)
        .ok_or_else(|| bad("no manifest.json entry".into()))?;
    let mut links = Vec::new();
    for (i, entry) in bundle
        .layout
        .entries
        .iter()
        .skip(manifest_index + 1)
        .enumerate()
    {
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
        let (_, info) = read_link(&path, file, entry, limits)?;
        if info.predicate.index != index {
            return Err(bad(format!(
                "entry {} claims index {}",
                entry.name, info.predicate.index
            )));
        }
        links.push((entry.clone(), info));
    }
    bundle.links = links;
    Ok(())
}

/// Refuse a manifest of another format version with a message that says
/// so, before the strict parse (which would only say "unknown field" for a
/// later version's additions). Bundles of every version this reader knows
/// keep verifying (tests/vectors/historical/ holds version 1 ones).
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
    if super::manifest::FormatVersion::of_schema(&schema).is_some() {
        return Ok(());
    }
    let version = schema.strip_prefix(layout::MANIFEST_SCHEMA_PREFIX);
    Err(match version {
        Some(v) => format!(
            "unsupported bundle format version {:?}: lbom {} reads {} and {}",
            crate::safe::visible(v),
            crate::TOOL_VERSION,
            layout::MANIFEST_SCHEMA_V1,
            layout::MANIFEST_SCHEMA
        ),
        None => format!(
            "manifest schema {:?} is not {}",
            crate::safe::visible(&schema),
            layout::MANIFEST_SCHEMA
        ),
    })
}

/// The entries before the manifest must be exactly the manifest's entries,
/// in order: (artifact, its SBOM)*, then the attestation.
fn check_entries_match(
    manifest: &Manifest,
    entries: &[TarEntry],
    max_folded_name_bytes: usize,
) -> Result<(), String> {
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
    // Each is kept for the collision check below (at most the reader's
    // artifact limit, counted before this check).
    let mut artifacts: Vec<BundlePath> = Vec::new();
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
                if let Some(last) = artifacts.last()
                    && *last >= artifact
                {
                    return Err(format!(
                        "artifact {artifact} is not in ascending byte order after {last}"
                    ));
                }
                derived_names_fit(&artifact)?;
                pending_sbom = Some(format!(
                    "{}/{}{}",
                    layout::SBOMS_DIR,
                    artifact,
                    layout::SBOM_SUFFIX
                ));
                artifacts.push(artifact);
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
    if artifacts.is_empty() {
        return Err("the bundle holds no artifact; a bundle carries at least one".into());
    }
    // Artifact paths are what `import` writes: two that collide would land
    // on one file of a case-insensitive or normalising file system, even
    // when their entry names do not collide (`artifacts/A`, `artifacts/a.zst`)
    // ([B16]). One fold key each, like the entry names' check (their total
    // is capped the same way: docs/bundle-format.md, "Reader limits").
    check_collisions(&artifacts, max_folded_name_bytes).map_err(|e| match e {
        CollisionError::Collision { error, .. } => format!("artifact paths collide: {error}"),
        CollisionError::TooLong(e) => format!("artifact paths: {e}"),
    })?;
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

/// docs/bundle-format.md [B14]: an artifact path is valid only when every
/// name derived from it fits a ustar header, whatever its encoding, so that
/// the set of valid paths does not depend on how a bundle was packed
/// (`pack` refuses such inputs in the same way).
fn derived_names_fit(artifact: &BundlePath) -> Result<(), String> {
    let names = [
        super::pack::artifact_entry_name(artifact, Encoding::Zstd),
        super::pack::sbom_entry_name(artifact),
    ];
    for name in names {
        let fits = name
            .as_ref()
            .is_ok_and(|n| super::tar::ustar_split(n.as_str()).is_some());
        if !fits {
            return Err(format!(
                "artifact path {artifact} derives an entry name no ustar header can hold"
            ));
        }
    }
    Ok(())
}

/// Read a whole entry (bounded).
pub(crate) fn read_entry<R: Read + Seek>(
    path: &Path,
    file: &mut R,
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
pub fn read_link<R: Read + Seek>(
    path: &Path,
    file: &mut R,
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

/// The channel a bundle's manifest names, read without trust (what
/// `verify` then checks against a store's channel: docs/store.md).
pub fn read_channel(path: &Path, limits: &ReadLimits) -> Result<String, Error> {
    open(path, limits).map(|bundle| bundle.manifest.channel)
}

/// The manifest of the bundle at `path`, structurally checked and read
/// without trust (`verify --store` needs its channel and, for a
/// differential bundle, its base before verifying).
pub fn read_manifest(path: &Path, limits: &ReadLimits) -> Result<Manifest, Error> {
    open(path, limits).map(|bundle| bundle.manifest)
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
pub fn read_info(path: &Path) -> Result<BundleInfo, Error> {
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
    use crate::bundle::PathError;
    use crate::bundle::manifest::{Encoding, ManifestEntry, Role};

    fn entry(path: &str, role: Role, encoding: Encoding) -> Result<ManifestEntry, PathError> {
        let sha256 = Sha256Digest::of(path.as_bytes());
        Ok(ManifestEntry {
            path: BundlePath::new(path)?,
            role,
            size: 1,
            sha256,
            encoding,
            stored_size: 1,
            stored_sha256: Some(sha256),
        })
    }

    fn tar_of(m: &[ManifestEntry]) -> Vec<TarEntry> {
        m.iter()
            .enumerate()
            .map(|(i, e)| TarEntry {
                name: e.path.clone(),
                header_offset: i as u64 * 1024,
                data_offset: i as u64 * 1024 + 512,
                size: e.stored_size,
            })
            .collect()
    }

    /// docs/bundle-format.md [B59], [B60]: at least one artifact; artifact
    /// paths must not collide even where entry names do not.
    #[test]
    fn entries_must_hold_an_artifact_and_no_colliding_artifact_paths()
    -> Result<(), Box<dyn std::error::Error>> {
        let base = Manifest {
            schema: layout::MANIFEST_SCHEMA.into(),
            name: "n".into(),
            channel: "c".into(),
            sequence: 1,
            previous: None,
            base: None,
            created: "2026-01-01T00:00:00Z".into(),
            expires: None,
            tool: crate::bundle::manifest::Tool {
                name: "lbom".into(),
                version: "0".into(),
            },
            entries: Vec::new(),
        };
        let attestation = entry(layout::ATTESTATION, Role::Attestation, Encoding::Raw)?;
        let pair = |p: &str, encoding| -> Result<Vec<ManifestEntry>, PathError> {
            let suffix = if encoding == Encoding::Zstd {
                ".zst"
            } else {
                ""
            };
            Ok(vec![
                entry(&format!("artifacts/{p}{suffix}"), Role::Artifact, encoding)?,
                entry(&format!("sboms/{p}.cdx.json"), Role::Sbom, Encoding::Raw)?,
            ])
        };
        let with = |entries: Vec<ManifestEntry>| Manifest {
            entries,
            ..base.clone()
        };
        let ok = with([pair("a", Encoding::Raw)?, vec![attestation.clone()]].concat());
        assert_eq!(
            check_entries_match(&ok, &tar_of(&ok.entries), usize::MAX),
            Ok(())
        );
        let none = with(vec![attestation.clone()]);
        assert!(check_entries_match(&none, &tar_of(&none.entries), usize::MAX).is_err());
        // config.json (zstd) and config.json/x.json (raw): entry names and
        // SBOM names do not collide, artifact paths do.
        let clash = with(
            [
                pair("config.json", Encoding::Zstd)?,
                pair("config.json/x.json", Encoding::Raw)?,
                vec![attestation],
            ]
            .concat(),
        );
        let names: Vec<BundlePath> = clash.entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(check_collisions(&names, usize::MAX), Ok(()));
        let err = check_entries_match(&clash, &tar_of(&clash.entries), usize::MAX)
            .err()
            .unwrap_or_default();
        assert!(err.contains("artifact paths collide"), "{err}");
        Ok(())
    }

    #[test]
    fn a_later_format_version_is_named_as_unsupported() {
        for known in [layout::MANIFEST_SCHEMA_V1, layout::MANIFEST_SCHEMA] {
            let m = format!(r#"{{"schema":"{known}","name":"x"}}"#);
            assert_eq!(check_format_version(m.as_bytes()), Ok(()));
        }
        // A later version with fields this one does not know: the message
        // names the version instead of the first unknown field.
        let v3 = br#"{"schema":"urn:lbom:bundle-manifest:v3","merkle_root":"00"}"#;
        let err = check_format_version(v3).err().unwrap_or_default();
        assert!(
            err.starts_with("unsupported bundle format version \"v3\": lbom "),
            "{err}"
        );
        let other = br#"{"schema":"urn:example:thing"}"#;
        assert!(check_format_version(other).is_err());
        // Not JSON, or no schema: the strict parse reports it.
        assert_eq!(check_format_version(b"\x00not json"), Ok(()));
        assert_eq!(check_format_version(br#"{"name":"x"}"#), Ok(()));
    }
}
