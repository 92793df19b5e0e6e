//! `pack --base`: a differential bundle (docs/bundle-format.md §14).
//!
//! The target is first packed as a full bundle beside the output (the
//! same executor, so its SBOMs, attestation and manifest entries are the
//! ones a full bundle would carry); then each artifact is compared with the
//! base bundle's artifact at the same path (`super::delta_plan` decides)
//! and the differential is written: whole entries copied as they are,
//! the others as delta payloads; SBOMs and the attestation copied; the
//! manifest the full one with `base` set and the delta entries in place.
//! The full bundle is deleted. The base bundle's artifacts are read
//! through their manifest digests: a base whose bytes are not what its
//! manifest says is refused.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use super::super::delta::chunk::{self, Chunk};
use super::super::delta::content::Content;
use super::super::delta::recipe::{Head, Op, OpKind, RecipeWriter, payload_size};
use super::super::manifest::{Encoding, ManifestEntry, Previous, Role};
use super::super::path::BundlePath;
use super::super::read::{self, OpenBundle};
use super::super::tar::{TarEntry, TarWriter};
use super::super::{Error, attestation};
use super::delta_plan::{self, BaseIndex, Choice, FileId};
use super::hash_cache::{FileKey, HashCache};
use super::{Output, PackOptions, PackSummary, artifact_entry_name};
use crate::io::digest::Sha256Digest;
use crate::io::tee::HashingWriter;

/// What the differential carries against its full bundle: for `inspect`
/// and the bench, through [`PackSummary`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// The full bundle's size (written, then removed).
    pub full_bytes: u64,
    /// Artifacts shipped whole.
    pub whole: usize,
    /// Artifacts the base has unchanged.
    pub unchanged: usize,
    /// Artifacts shipped as chunks against the base.
    pub chunked: usize,
    /// Bytes of shipped chunks.
    pub shipped_chunk_bytes: u64,
    /// Artifacts the hash cache showed unchanged: not read at all.
    pub cached: usize,
}

/// The base bundle, opened and checked against `options`.
fn open_base(path: &Path, options: &PackOptions<'_>) -> Result<OpenBundle, Error> {
    let base = read::open(path, &options.caps.read)?;
    let refuse = |message: String| Error::Base {
        path: path.to_path_buf(),
        message,
    };
    if base.manifest.channel != options.channel {
        return Err(refuse(format!(
            "the base is on channel {:?}, not {:?}",
            base.manifest.channel, options.channel
        )));
    }
    if base.manifest.base.is_some() {
        return Err(refuse(
            "the base is itself a differential bundle: its files are not all in it; give a full bundle as the base".into(),
        ));
    }
    Ok(base)
}

/// Pack `options` as a differential against the full bundle at `base_path`.
pub(super) fn pack_differential(
    options: &PackOptions<'_>,
    base_path: &Path,
    span: Option<&std::sync::Arc<crate::io::span::SpanFile>>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(PackSummary, DeltaStats), Error> {
    let base = open_base(base_path, options)?;
    if options.output.symlink_metadata().is_ok() {
        return Err(Error::OutputExists {
            path: options.output.clone(),
        });
    }
    // The full bundle goes into a private folder beside the output,
    // removed with everything in it however this ends.
    let dir = match options.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let scratch = tempfile::Builder::new()
        .prefix(".lbom-pack-full-")
        .tempdir_in(&dir)
        .map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
    let full_path = scratch.path().join("full.lbom");
    let plan = CachePlan::new(options, &base)?;
    let full_options = PackOptions {
        inputs: options.inputs.clone(),
        output: full_path.clone(),
        name: options.name.clone(),
        channel: options.channel.clone(),
        sequence: options.sequence,
        previous: Some(options.previous.clone().unwrap_or_else(|| base_path.into())),
        expires: options.expires,
        compress: options.compress,
        created: options.created,
        first_link: None,
        caps: options.caps.clone(),
        jobs: options.jobs,
        base: None,
        hash_cache: None,
    };
    let full = super::pack_skipping(&full_options, &plan.skip, None, on_progress)?;
    let done = write_differential(options, &base, &full_path, full.bytes, &plan.skip, span)?;
    plan.record(&done.0.manifest)?;
    Ok(done)
}

/// What the hash cache lets `pack --base` leave unread: each input's key
/// before the pack, and the inputs whose cached digest is the base's.
struct CachePlan {
    cache: Option<HashCache>,
    keys: Vec<(BundlePath, std::path::PathBuf, FileKey)>,
    skip: BTreeSet<BundlePath>,
}

impl CachePlan {
    fn new(options: &PackOptions<'_>, base: &OpenBundle) -> Result<Self, Error> {
        let mut plan = Self {
            cache: None,
            keys: Vec::new(),
            skip: BTreeSet::new(),
        };
        let Some(path) = &options.hash_cache else {
            return Ok(plan);
        };
        let cache = HashCache::load(path)?;
        let max_artifacts = u64::try_from(options.caps.read.max_artifacts).unwrap_or(u64::MAX);
        let inputs = super::walk::collect_inputs(
            &options.inputs,
            options.caps.scan.max_files.min(max_artifacts),
        )?;
        for input in &inputs {
            let meta = std::fs::metadata(&input.source).map_err(|source| Error::Io {
                path: input.source.clone(),
                source,
            })?;
            let key = FileKey::of(&meta);
            let unchanged = cache.get(&key).is_some_and(|sha| {
                base_entry(base, Some(&input.name), None)
                    .is_some_and(|(m, _)| m.sha256 == sha && m.size == key.size)
            });
            if unchanged && (key.dev, key.ino) == input.identity {
                plan.skip.insert(input.name.clone());
            }
            plan.keys
                .push((input.name.clone(), input.source.clone(), key));
        }
        // The full pack needs one file: when every file is unchanged, the
        // smallest is read.
        if plan.skip.len() == inputs.len()
            && let Some((smallest, _, _)) = plan.keys.iter().min_by_key(|(_, _, k)| k.size)
        {
            plan.skip.remove(smallest);
        }
        plan.cache = Some(cache);
        Ok(plan)
    }

    /// Record what this pack read: a file's digest under the key it had
    /// before it was read, when it still has that key (it did not change
    /// while read); then save the cache.
    fn record(self, manifest: &super::Manifest) -> Result<(), Error> {
        let Some(mut cache) = self.cache else {
            return Ok(());
        };
        for (name, source, key) in self.keys {
            let now = std::fs::metadata(&source).ok().map(|m| FileKey::of(&m));
            let digest = manifest
                .entries
                .iter()
                .find(|e| e.artifact_path().as_ref() == Some(&name))
                .map(|e| e.sha256);
            if let (Some(now), Some(digest)) = (now, digest)
                && now == key
            {
                cache.insert(key, digest);
            }
        }
        cache.save()
    }
}

/// Write the differential from the full bundle at `full_path`.
fn write_differential(
    options: &PackOptions<'_>,
    base: &OpenBundle,
    full_path: &Path,
    full_bytes: u64,
    unread: &BTreeSet<BundlePath>,
    span: Option<&std::sync::Arc<crate::io::span::SpanFile>>,
) -> Result<(PackSummary, DeltaStats), Error> {
    let full = read::open(full_path, &options.caps.read)?;
    let output = Output::create(&options.output, span)?;
    let mut tw = TarWriter::new(output.handle()?, 0).map_err(output.io())?;
    let full_file = File::open(full_path).map_err(|source| Error::Io {
        path: full_path.to_path_buf(),
        source,
    })?;
    let base_file = File::open(&base.path).map_err(|source| Error::Io {
        path: base.path.clone(),
        source,
    })?;
    let mut stats = DeltaStats {
        full_bytes,
        ..DeltaStats::default()
    };
    let from = Files {
        full: &full_file,
        base: &base_file,
        base_bundle: base,
    };
    let mut entries = Vec::with_capacity(full.manifest.entries.len());
    let mut unread = unread.iter().peekable();
    for (m, t) in full.manifest.entries.iter().zip(&full.layout.entries) {
        // The files left unread go in their place in artifact path order.
        // (before an artifact of a greater path, and all before the
        // attestation; never between an artifact and its SBOM).
        let artifact = m.artifact_path();
        let before = |u: &&BundlePath| match &artifact {
            Some(a) => *u < a,
            None => m.role == Role::Attestation,
        };
        while let Some(name) = unread.next_if(before) {
            ship_unread(&mut tw, &from, name, &mut entries, &mut stats, options)?;
        }
        let entry = match &artifact {
            Some(artifact) => ship_artifact(&mut tw, &from, artifact, m, t, &mut stats, options)?,
            None if m.role == Role::Attestation && stats.cached > 0 => {
                // Its subjects are the full pack's: add those left unread.
                let mut so_far = full.manifest.clone();
                so_far.entries.clone_from(&entries);
                let compress = options.compress.as_text();
                let bytes = attestation::derived(&so_far, &compress).to_bytes();
                tw.add_bytes(&t.name, &bytes).map_err(|source| Error::Tar {
                    path: options.output.clone(),
                    source,
                })?;
                super::small_entry(t.name.clone(), Role::Attestation, &bytes)
            }
            None => {
                copy_entry(&mut tw, &full_file, t, &options.output)?;
                m.clone()
            }
        };
        entries.push(entry);
    }
    let mut manifest = full.manifest.clone();
    manifest.base = Some(Previous {
        sequence: base.manifest.sequence,
        manifest_sha256: base.manifest_sha256,
    });
    manifest.entries = entries;
    finish_differential(tw, output, options, manifest, stats)
}

/// Add the manifest, end the tar, sign the first link when asked, and
/// rename the bundle into place.
fn finish_differential(
    mut tw: TarWriter,
    output: Output<'_>,
    options: &PackOptions<'_>,
    manifest: super::Manifest,
    stats: DeltaStats,
) -> Result<(PackSummary, DeltaStats), Error> {
    let manifest_bytes = manifest.to_bytes();
    let cap = options.caps.read.max_manifest_bytes;
    if manifest_bytes.len() as u64 > cap {
        return Err(Error::Layout {
            path: options.output.clone(),
            message: format!("its manifest would be more than the {cap} bytes a reader accepts"),
        });
    }
    let name = super::fixed_name(super::layout::MANIFEST)?;
    tw.add_bytes(&name, &manifest_bytes)
        .map_err(|source| Error::Tar {
            path: options.output.clone(),
            source,
        })?;
    let (file, mut bytes) = tw.finish().map_err(|source| Error::Tar {
        path: options.output.clone(),
        source,
    })?;
    drop(file);
    let link = match &options.first_link {
        Some(l) => {
            let time = jiff::Timestamp::from_second(base_time(&manifest.created)?)
                .map_err(|e| Error::Option(e.to_string()))?;
            let signed = super::sign_first_link(&output, l, time)?;
            bytes = signed.bundle_bytes;
            Some(signed.link)
        }
        None => None,
    };
    output.persist()?;
    Ok((
        PackSummary {
            output: options.output.clone(),
            bytes,
            manifest_sha256: Sha256Digest::of(&manifest_bytes),
            manifest,
            link,
            delta: Some(stats.clone()),
        },
        stats,
    ))
}

/// The manifest's `created` in seconds (the first link's time, as `pack`
/// signs it).
fn base_time(created: &str) -> Result<i64, Error> {
    super::manifest::parse_time(created)
        .map(|t| t.as_second())
        .ok_or_else(|| Error::Option(format!("created {created:?} is not a time")))
}

/// Copy entry `t` of the full bundle as it is.
fn copy_entry(tw: &mut TarWriter, full: &File, t: &TarEntry, output: &Path) -> Result<(), Error> {
    let tar_error = |source| Error::Tar {
        path: output.to_path_buf(),
        source,
    };
    let open = tw.begin_entry(&t.name).map_err(tar_error)?;
    let mut buf = vec![0u8; crate::io::digest::READ_BUFFER_BYTES];
    let mut done = 0u64;
    while done < t.size {
        let want = usize::try_from(t.size - done)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let dst = buf.get_mut(..want).unwrap_or_default();
        full.read_exact_at(dst, t.data_offset.saturating_add(done))
            .map_err(|source| Error::Io {
                path: output.to_path_buf(),
                source,
            })?;
        tw.data().write_all(dst).map_err(|source| Error::Io {
            path: output.to_path_buf(),
            source,
        })?;
        done = done.saturating_add(want as u64);
    }
    tw.finish_entry(open, t.size).map_err(tar_error)?;
    Ok(())
}

/// The files an artifact is read from.
struct Files<'a> {
    full: &'a File,
    base: &'a File,
    base_bundle: &'a OpenBundle,
}

/// The base bundle's entry named `name` (an artifact by its artifact path,
/// or any entry by its entry name), with its tar entry.
fn base_entry<'b>(
    base: &'b OpenBundle,
    artifact: Option<&BundlePath>,
    name: Option<&BundlePath>,
) -> Option<(&'b ManifestEntry, &'b TarEntry)> {
    base.manifest
        .entries
        .iter()
        .zip(&base.layout.entries)
        .find(|(m, _)| match (artifact, name) {
            (Some(a), _) => m.role == Role::Artifact && m.artifact_path().as_ref() == Some(a),
            (None, Some(n)) => m.path == *n,
            (None, None) => false,
        })
}

impl Files<'_> {
    /// The base bundle's artifact at `artifact`, with its tar entry.
    fn base_artifact(&self, artifact: &BundlePath) -> Option<(&ManifestEntry, &TarEntry)> {
        base_entry(self.base_bundle, Some(artifact), None)
    }
}

/// Ship a file the hash cache showed to be the base's, unread: one base
/// operation, and the base's SBOM of it.
fn ship_unread(
    tw: &mut TarWriter,
    from: &Files<'_>,
    artifact: &BundlePath,
    entries: &mut Vec<ManifestEntry>,
    stats: &mut DeltaStats,
    options: &PackOptions<'_>,
) -> Result<(), Error> {
    let missing = || Error::Base {
        path: from.base_bundle.path.clone(),
        message: format!("{artifact} went from the base while it was packed"),
    };
    let (bm, _) = from.base_artifact(artifact).ok_or_else(missing)?;
    let target = FileId {
        size: bm.size,
        sha256: bm.sha256,
    };
    let ops = delta_plan::unchanged(target);
    let head = Head {
        base_path: (!ops.is_empty()).then(|| artifact.clone()),
        op_count: u32::try_from(ops.len()).unwrap_or(u32::MAX),
    };
    let entry = write_recipe(tw, None, artifact, bm, &head, &ops, &options.output)?;
    entries.push(entry);
    let sbom_name = super::sbom_entry_name(artifact).map_err(|source| Error::InputName {
        path: artifact.as_str().into(),
        source,
    })?;
    let (sm, st) = base_entry(from.base_bundle, None, Some(&sbom_name)).ok_or_else(missing)?;
    copy_entry(tw, from.base, st, &options.output)?;
    entries.push(sm.clone());
    stats.cached += 1;
    stats.unchanged += 1;
    Ok(())
}

/// Ship one artifact: whole, or as a recipe against the base.
fn ship_artifact(
    tw: &mut TarWriter,
    from: &Files<'_>,
    artifact: &BundlePath,
    m: &ManifestEntry,
    t: &TarEntry,
    stats: &mut DeltaStats,
    options: &PackOptions<'_>,
) -> Result<ManifestEntry, Error> {
    let base = from.base_artifact(artifact);
    let target = FileId {
        size: m.size,
        sha256: m.sha256,
    };
    let base_id = base.map(|(b, _)| FileId {
        size: b.size,
        sha256: b.sha256,
    });
    let ops = match (delta_plan::choose(target, base_id), base) {
        (Choice::Unchanged, Some(_)) => {
            stats.unchanged += 1;
            delta_plan::unchanged(target)
        }
        (Choice::Chunked, Some((bm, bt))) => {
            let ops = chunk_recipe(from, (bm, bt), m, t)?;
            if delta_plan::worth_it(&ops, m.size) {
                stats.chunked += 1;
                stats.shipped_chunk_bytes = stats
                    .shipped_chunk_bytes
                    .saturating_add(delta_plan::shipped_bytes(&ops));
                ops
            } else {
                stats.whole += 1;
                copy_entry(tw, from.full, t, &options.output)?;
                return Ok(m.clone());
            }
        }
        _ => {
            stats.whole += 1;
            copy_entry(tw, from.full, t, &options.output)?;
            return Ok(m.clone());
        }
    };
    let head = Head {
        base_path: if ops.is_empty() {
            None
        } else {
            Some(artifact.clone())
        },
        op_count: u32::try_from(ops.len()).unwrap_or(u32::MAX),
    };
    write_recipe(
        tw,
        Some((from.full, t)),
        artifact,
        m,
        &head,
        &ops,
        &options.output,
    )
}

/// Cut the base artifact and the target into chunks; the recipe that
/// rebuilds the target from the base's chunks and shipped ones. The base
/// is refused if its bytes are not what its manifest says.
fn chunk_recipe(
    from: &Files<'_>,
    (bm, bt): (&ManifestEntry, &TarEntry),
    m: &ManifestEntry,
    t: &TarEntry,
) -> Result<Vec<Op>, Error> {
    let base_error = |e: io::Error| Error::Base {
        path: from.base_bundle.path.clone(),
        message: format!("artifact {}: {e}", bm.path),
    };
    let mut index = BaseIndex::default();
    each_chunk(from.base, bt, bm, &mut |c| index.add(c)).map_err(base_error)?;
    let full_error = |source: io::Error| Error::Io {
        path: m.path.as_str().into(),
        source,
    };
    let mut target: Vec<Chunk> = Vec::new();
    each_chunk(from.full, t, m, &mut |c| target.push(c)).map_err(full_error)?;
    Ok(delta_plan::recipe(&index, &target))
}

/// Every chunk of the entry's decoded bytes, in order, to `on_chunk`; then
/// the bytes checked against the manifest's size and SHA-256 (an error
/// when they differ).
fn each_chunk(
    file: &File,
    t: &TarEntry,
    m: &ManifestEntry,
    on_chunk: &mut dyn FnMut(Chunk),
) -> io::Result<()> {
    let mut content = Content::open(file, t, m)?;
    chunk::chunks(&mut content, m.size, &mut |c| {
        on_chunk(c);
        Ok(())
    })?;
    content.finish()
}

/// Write the delta entry of `artifact`: the head, each operation, and each
/// shipped chunk's bytes, read from the target in order.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; each argument its own"
)]
fn write_recipe(
    tw: &mut TarWriter,
    full: Option<(&File, &TarEntry)>,
    artifact: &BundlePath,
    m: &ManifestEntry,
    head: &Head,
    ops: &[Op],
    output: &Path,
) -> Result<ManifestEntry, Error> {
    let io_error = |source| Error::Io {
        path: output.to_path_buf(),
        source,
    };
    let name =
        artifact_entry_name(artifact, Encoding::Delta).map_err(|source| Error::InputName {
            path: artifact.as_str().into(),
            source,
        })?;
    let open = tw.begin_entry(&name).map_err(|source| Error::Tar {
        path: output.to_path_buf(),
        source,
    })?;
    let size = payload_size(head, ops);
    // Counts and hashes what passes to the tar.
    let mut counted = HashingWriter::new(tw.data());
    let mut writer = RecipeWriter::new(&mut counted, head).map_err(io_error)?;
    // The target's decoded bytes, opened at the first shipped chunk and
    // read once in order: shipped chunks are copied, base ranges skipped.
    let mut content: Option<Content<'_>> = None;
    let mut at = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for op in ops {
        writer.op(op).map_err(io_error)?;
        if op.kind == OpKind::Shipped {
            let content = match &mut content {
                Some(c) => c,
                None => {
                    let (file, t) = full.ok_or_else(|| Error::Layout {
                        path: output.to_path_buf(),
                        message: format!(
                            "{artifact}: a recipe ships bytes it was not given (a bug in lbom)"
                        ),
                    })?;
                    content.insert(Content::open(file, t, m).map_err(io_error)?)
                }
            };
            skip(content, op.target_offset.saturating_sub(at)).map_err(io_error)?;
            at = op.target_offset;
            let mut left = op.length;
            while left > 0 {
                let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                let dst = buf.get_mut(..want).unwrap_or_default();
                content.read_exact(dst).map_err(io_error)?;
                writer.chunk(dst).map_err(io_error)?;
                left = left.saturating_sub(want as u64);
            }
            at = at.saturating_add(op.length);
        }
    }
    let _ = writer.into_inner();
    let (_, hasher) = counted.into_parts();
    let written = hasher.bytes();
    let stored_sha256 = hasher.finish();
    if written != size {
        return Err(Error::Layout {
            path: output.to_path_buf(),
            message: format!(
                "the delta entry of {artifact} is {written} bytes, not the {size} planned (a bug in lbom)"
            ),
        });
    }
    tw.finish_entry(open, size).map_err(|source| Error::Tar {
        path: output.to_path_buf(),
        source,
    })?;
    Ok(ManifestEntry {
        path: name,
        role: Role::Artifact,
        size: m.size,
        sha256: m.sha256,
        encoding: Encoding::Delta,
        stored_size: size,
        stored_sha256: Some(stored_sha256),
    })
}

/// Read and drop `n` bytes of `r`.
fn skip(r: &mut impl Read, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut r.by_ref().take(n), &mut io::sink())?;
    if copied == n {
        Ok(())
    } else {
        Err(io::ErrorKind::UnexpectedEof.into())
    }
}
