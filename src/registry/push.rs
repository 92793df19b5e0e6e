//! `lbom push STORE --channel C [--version N] oci://HOST/REPO[:TAG]`
//! (docs/registry.md, "Push"): a stored version as the registry artifact.
//!
//! Order: the blobs (each checked with `HEAD` first and skipped when the
//! registry has it; large ones in chunks, hashed while read so a stored
//! file changed since its import is refused before the upload is closed),
//! then the model manifest under its tag, then the referrers by digest,
//! then the referrers tag when the registry does not keep referrers itself
//! (no `OCI-Subject` answer).

use std::path::Path;

use serde::Serialize;

use super::client::{Client, ClientOptions};
use super::error::RegistryError;
use super::layout::{self, ImageIndex};
use super::publication::{Publication, open_blob, publication};
use super::reference::{Reference, Target};
use crate::import::Store;

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    /// The reference pushed to, with its tag.
    pub reference: String,
    /// The model manifest's digest (`sha256:…`): pull by it.
    pub digest: String,
    /// Channel and sequence published.
    pub channel: String,
    /// The sequence.
    pub sequence: u64,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs the registry had already.
    pub skipped: usize,
    /// Bytes uploaded.
    pub uploaded_bytes: u64,
    /// The referrers' digests.
    pub referrers: Vec<String>,
    /// Whether lbom maintained the referrers tag (`sha256-<hex>`).
    pub referrers_tag: bool,
}

/// The stored version `channel`/`version` (default: current) of `store`.
pub fn stored_version(
    store: &Path,
    channel: &str,
    version: Option<u64>,
) -> Result<crate::import::Baseline, RegistryError> {
    let store = Store::open(store)?;
    let sequence = match version {
        Some(v) => v,
        None => store.current(channel)?.ok_or_else(|| {
            RegistryError::Unsupported(format!(
                "channel {channel} has no current version in {}",
                store.root().display()
            ))
        })?,
    };
    Ok(store.version(channel, sequence)?)
}

/// Push the version to `reference` (a tag; default `CHANNEL-SEQ`).
pub fn push(
    store: &Path,
    channel: &str,
    version: Option<u64>,
    reference: &Reference,
    options: &ClientOptions,
) -> Result<Pushed, RegistryError> {
    if matches!(reference.target, Some(Target::Digest(_))) {
        return Err(RegistryError::Reference(format!(
            "{reference}: push to a tag, not a digest (the digest is the manifest's, known once it is written)"
        )));
    }
    let stored = stored_version(store, channel, version)?;
    let publication = publication(&stored)?;
    let tag = reference.tag_or(&format!("{}-{}", publication.channel, publication.sequence));
    let client = Client::new(reference, options)?;
    let (uploaded, skipped, uploaded_bytes) = upload_blobs(&client, &stored, &publication)?;
    client.put_manifest(&tag, layout::OCI_MANIFEST, &publication.model.bytes)?;
    let mut registry_keeps_referrers = true;
    for r in &publication.referrers {
        let name = format!("sha256:{}", r.digest.to_hex());
        registry_keeps_referrers &= client.put_manifest(&name, layout::OCI_MANIFEST, &r.bytes)?;
    }
    if !registry_keeps_referrers {
        update_referrers_tag(&client, &publication)?;
    }
    let mut shown = reference.clone();
    shown.target = Some(Target::Tag(tag));
    Ok(Pushed {
        reference: shown.to_string(),
        digest: format!("sha256:{}", publication.model.digest.to_hex()),
        channel: publication.channel.clone(),
        sequence: publication.sequence,
        uploaded,
        skipped,
        uploaded_bytes,
        referrers: publication
            .referrers
            .iter()
            .map(|r| format!("sha256:{}", r.digest.to_hex()))
            .collect(),
        referrers_tag: !registry_keeps_referrers,
    })
}

fn upload_blobs(
    client: &Client,
    stored: &crate::import::Baseline,
    publication: &Publication,
) -> Result<(usize, usize, u64), RegistryError> {
    let (mut uploaded, mut skipped, mut bytes) = (0, 0, 0u64);
    for blob in &publication.blobs {
        if client.has_blob(&blob.digest)? {
            skipped += 1;
            continue;
        }
        let mut source = open_blob(stored, blob)?;
        client.push_blob(&blob.digest, blob.size, &mut source)?;
        uploaded += 1;
        bytes += blob.size;
    }
    Ok((uploaded, skipped, bytes))
}

/// The referrers tag scheme (distribution spec v1.1, "Referrers Tag
/// Schema"): the index at tag `sha256-<hex>` lists every referrer of the
/// manifest; lbom adds its own, keeping what others listed.
fn update_referrers_tag(client: &Client, publication: &Publication) -> Result<(), RegistryError> {
    let tag = layout::referrers_tag(&publication.model.digest);
    let mut index = match client.get_manifest(&tag)? {
        Some((bytes, _)) => serde_json::from_slice::<ImageIndex>(&bytes).map_err(|e| {
            RegistryError::Artifact(format!(
                "the referrers tag {tag} is not an OCI image index: {e}"
            ))
        })?,
        None => ImageIndex::empty(),
    };
    for r in &publication.referrers {
        let d = r.descriptor();
        if !index.manifests.iter().any(|m| m.digest == d.digest) {
            index.manifests.push(d);
        }
    }
    client.put_manifest(&tag, layout::OCI_INDEX, &index.to_bytes())?;
    Ok(())
}
