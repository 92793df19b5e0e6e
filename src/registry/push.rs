//! `lbom push STORE --channel C [--version N] oci://HOST/REPO[:TAG]`
//! (docs/registry.md, "Push"): a stored version as the registry artifact.
//!
//! Order: the blobs, several at once (each checked with `HEAD` first and
//! skipped when the registry has it; large ones in chunks, hashed while
//! read so a stored file changed since its import is refused before the
//! upload is closed),
//! then the model manifest under its tag, then the referrers by digest,
//! then the referrers tag when the registry does not keep referrers itself
//! (no `OCI-Subject` answer).

use std::path::Path;

use serde::Serialize;

use super::client::{CHUNK_BYTES, Client, ClientOptions};
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

/// Push the version to `reference` (a tag; default `CHANNEL-SEQ`), its
/// missing blobs uploaded `jobs` at a time ([`upload_workers`]).
pub fn push(
    store: &Path,
    channel: &str,
    version: Option<u64>,
    reference: &Reference,
    options: &ClientOptions,
    jobs: Option<usize>,
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
    let (uploaded, skipped, uploaded_bytes) =
        upload_blobs(&client, &stored, &publication, upload_workers(jobs))?;
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

/// Uploads at once by default: one per CPU, at most this many (as `pack`'s
/// workers: beyond it the disk and the registry, not the client, bound a
/// push).
pub const MAX_PUSH_JOBS: usize = 4;

/// How many blobs are uploaded at once for `jobs` (`--jobs`; default: one
/// per CPU), at least 1 and at most [`MAX_PUSH_JOBS`] unless asked for.
pub fn upload_workers(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(MAX_PUSH_JOBS)
    })
    .max(1)
}

/// What happened to one blob.
enum Upload {
    Sent(u64),
    Skipped,
}

/// The bytes all uploads together may hold in buffers: one
/// [`CHUNK_BYTES`], as when blobs went one at a time. A small blob that
/// finds it taken is streamed instead (one request more, no buffer), so
/// memory does not grow with `--jobs`.
struct BufferBudget(std::sync::Mutex<u64>);

impl BufferBudget {
    fn take(&self, n: u64) -> bool {
        match self.0.lock() {
            Ok(mut left) if *left >= n => {
                *left -= n;
                true
            }
            _ => false,
        }
    }

    fn give(&self, n: u64) {
        if let Ok(mut left) = self.0.lock() {
            *left = left.saturating_add(n);
        }
    }
}

fn upload_one(
    client: &Client,
    stored: &crate::import::Baseline,
    blob: &super::publication::Blob,
    budget: &BufferBudget,
) -> Result<Upload, RegistryError> {
    if client.has_blob(&blob.digest)? {
        return Ok(Upload::Skipped);
    }
    let mut source = open_blob(stored, blob)?;
    let buffered = blob.size <= CHUNK_BYTES as u64 && budget.take(blob.size);
    let sent = client.push_blob(&blob.digest, blob.size, &mut source, buffered);
    if buffered {
        budget.give(blob.size);
    }
    sent?;
    Ok(Upload::Sent(blob.size))
}

/// Every blob of the publication the registry lacks, `workers` at a time
/// (each upload as [`Client::push_blob`] makes it: from one buffer, all
/// buffers together within [`CHUNK_BYTES`], or streamed). Blobs are taken in order;
/// after a failure no new one is started, and the error of the first blob
/// (in publication order) that failed is returned. Manifests come after:
/// the caller pushes none until every blob is there.
fn upload_blobs(
    client: &Client,
    stored: &crate::import::Baseline,
    publication: &Publication,
    workers: usize,
) -> Result<(usize, usize, u64), RegistryError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let blobs = &publication.blobs;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let budget = BufferBudget(Mutex::new(CHUNK_BYTES as u64));
    let outcomes: Mutex<Vec<(usize, Result<Upload, RegistryError>)>> = Mutex::new(Vec::new());
    let work = || {
        while !failed.load(Ordering::Acquire) {
            let i = next.fetch_add(1, Ordering::AcqRel);
            let Some(blob) = blobs.get(i) else { break };
            let outcome = upload_one(client, stored, blob, &budget);
            if outcome.is_err() {
                failed.store(true, Ordering::Release);
            }
            match outcomes.lock() {
                Ok(mut o) => o.push((i, outcome)),
                Err(poisoned) => poisoned.into_inner().push((i, outcome)),
            }
        }
    };
    let workers = workers.clamp(1, blobs.len().max(1));
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
            // Joined by hand: a worker that panicked is an upload missing
            // below, not a panic of the push.
            for h in handles {
                let _ = h.join();
            }
        });
    }
    let mut outcomes = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    outcomes.sort_by_key(|(i, _)| *i);
    // A worker that panicked left its blob without an outcome: refused
    // below, never pushed past.
    if !failed.load(Ordering::Acquire) && outcomes.len() != blobs.len() {
        return Err(RegistryError::Io {
            path: stored.dir.clone(),
            source: std::io::Error::other(format!(
                "{} of {} blobs were not uploaded: an upload worker stopped",
                blobs.len() - outcomes.len(),
                blobs.len()
            )),
        });
    }
    let (mut uploaded, mut skipped, mut bytes) = (0, 0, 0u64);
    for (_, outcome) in outcomes {
        match outcome? {
            Upload::Sent(n) => {
                uploaded += 1;
                bytes += n;
            }
            Upload::Skipped => skipped += 1,
        }
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
