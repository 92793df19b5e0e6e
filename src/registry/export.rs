//! `lbom export STORE --channel C [--version N] --oci-layout DIR`
//! (docs/registry.md, "OCI image layout"): the same artifact `push` sends,
//! as an OCI image layout (image-spec `image-layout.md`): `oci-layout`,
//! `index.json` (the model manifest, tagged with
//! `org.opencontainers.image.ref.name`, and its referrers), and
//! `blobs/sha256/<hex>`. What Zarf, Hauler, skopeo (`oci:DIR`) and Harbor
//! import offline.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::error::RegistryError;
use super::layout::{Descriptor, ImageIndex};
use super::publication::{open_blob, publication};
use crate::io::digest::{Hasher, Sha256Digest};

/// The annotation naming a manifest in an image layout's index.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The model manifest's digest.
    pub digest: String,
    /// The tag in `index.json`.
    pub tag: String,
    /// Blobs written.
    pub blobs: usize,
}

/// Write the version's artifact into `dir` (missing or empty).
pub fn export_layout(
    store: &Path,
    channel: &str,
    version: Option<u64>,
    tag: Option<&str>,
    dir: &Path,
) -> Result<Exported, RegistryError> {
    let stored = super::push::stored_version(store, channel, version)?;
    let publication = publication(&stored)?;
    let tag = tag.map_or_else(
        || format!("{}-{}", publication.channel, publication.sequence),
        str::to_owned,
    );
    if !super::reference::is_tag(&tag) {
        return Err(RegistryError::Reference(format!(
            "{}: not a tag",
            crate::safe::visible(&tag)
        )));
    }
    empty_folder(dir)?;
    let blobs_dir = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs_dir).map_err(RegistryError::io(&blobs_dir))?;
    let mut written = 0;
    for blob in &publication.blobs {
        let mut source = open_blob(&stored, blob)?;
        written += usize::from(write_blob(
            &blobs_dir,
            &blob.digest,
            blob.size,
            &mut source,
        )?);
    }
    for doc in std::iter::once(&publication.model).chain(&publication.referrers) {
        let mut bytes = doc.bytes.as_slice();
        written += usize::from(write_blob(
            &blobs_dir,
            &doc.digest,
            doc.bytes.len() as u64,
            &mut bytes,
        )?);
    }
    let mut model: Descriptor = publication.model.descriptor();
    model
        .annotations
        .insert(ANNOTATION_REF_NAME.into(), tag.clone());
    let mut index = ImageIndex::empty();
    index.manifests.push(model);
    index
        .manifests
        .extend(publication.referrers.iter().map(|r| r.descriptor()));
    let layout_file = dir.join("oci-layout");
    std::fs::write(&layout_file, br#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(RegistryError::io(&layout_file))?;
    let index_file = dir.join("index.json");
    std::fs::write(&index_file, index.to_bytes()).map_err(RegistryError::io(&index_file))?;
    Ok(Exported {
        digest: format!("sha256:{}", publication.model.digest.to_hex()),
        tag,
        blobs: written,
    })
}

/// `dir` must be missing (it is created) or empty.
fn empty_folder(dir: &Path) -> Result<(), RegistryError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(RegistryError::Unsupported(format!(
                    "{}: the folder is not empty; export writes a new layout",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(RegistryError::io(dir))
        }
        Err(e) => Err(RegistryError::Io {
            path: dir.to_path_buf(),
            source: e,
        }),
    }
}

/// Write one blob as `blobs_dir/<hex>` (through a temporary name, hashed
/// as written: a source that is not `size` bytes with `digest` is refused
/// and leaves nothing). `false` when the blob was there.
fn write_blob(
    blobs_dir: &Path,
    digest: &Sha256Digest,
    size: u64,
    source: &mut dyn std::io::Read,
) -> Result<bool, RegistryError> {
    let path = blobs_dir.join(digest.to_hex());
    if path.exists() {
        return Ok(false);
    }
    let tmp = blobs_dir.join(format!(".{}.tmp", digest.to_hex()));
    let mut out = std::fs::File::create(&tmp).map_err(RegistryError::io(&tmp))?;
    let mut hasher = Hasher::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = source.read(&mut buffer).map_err(RegistryError::io(&path))?;
        if n == 0 {
            break;
        }
        let chunk = buffer.get(..n).unwrap_or_default();
        hasher.update(chunk);
        out.write_all(chunk).map_err(RegistryError::io(&tmp))?;
    }
    let n = hasher.bytes();
    let got = hasher.finish();
    if n != size || got != *digest {
        drop(out);
        let _ = std::fs::remove_file(&tmp);
        return Err(RegistryError::Digest {
            what: format!("a stored file exported as blob {}", digest.to_hex()),
            want: format!("{size} bytes, sha256:{}", digest.to_hex()),
            got: format!("{n} bytes, sha256:{}", got.to_hex()),
        });
    }
    out.sync_all().map_err(RegistryError::io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(RegistryError::io(&path))?;
    Ok(true)
}
