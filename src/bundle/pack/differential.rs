//! `pack --base`: a differential bundle (docs/bundle-format.md §13).
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

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use super::super::Error;
use super::super::delta::chunk::{self, Chunk};
use super::super::delta::content::Content;
use super::super::delta::recipe::{Head, Op, OpKind, RecipeWriter, payload_size};
use super::super::manifest::{Encoding, ManifestEntry, Previous, Role};
use super::super::path::BundlePath;
use super::super::read::{self, OpenBundle};
use super::super::tar::{TarEntry, TarWriter};
use super::delta_plan::{self, BaseIndex, Choice, FileId};
use super::{Output, PackOptions, PackSummary, artifact_entry_name};
use crate::io::digest::{Hasher, Sha256Digest};

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
    };
    let full = super::pack(&full_options, on_progress)?;
    write_differential(options, &base, &full_path, full.bytes)
}

/// Write the differential from the full bundle at `full_path`.
fn write_differential(
    options: &PackOptions<'_>,
    base: &OpenBundle,
    full_path: &Path,
    full_bytes: u64,
) -> Result<(PackSummary, DeltaStats), Error> {
    let full = read::open(full_path, &options.caps.read)?;
    let output = Output::create(&options.output)?;
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
    let mut entries = Vec::with_capacity(full.manifest.entries.len());
    for (m, t) in full.manifest.entries.iter().zip(&full.layout.entries) {
        let entry = match m.artifact_path() {
            Some(artifact) => {
                let from = Files {
                    full: &full_file,
                    base: &base_file,
                    base_bundle: base,
                };
                ship_artifact(&mut tw, &from, &artifact, m, t, &mut stats, options)?
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
            let signed = super::sign_first_link(output.temporary(), l, time)?;
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

impl Files<'_> {
    /// The base bundle's artifact at `artifact`, with its tar entry.
    fn base_artifact(&self, artifact: &BundlePath) -> Option<(&ManifestEntry, &TarEntry)> {
        self.base_bundle
            .manifest
            .entries
            .iter()
            .zip(&self.base_bundle.layout.entries)
            .find(|(m, _)| m.role == Role::Artifact && m.artifact_path().as_ref() == Some(artifact))
    }
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
    write_recipe(tw, from.full, artifact, m, t, &head, &ops, &options.output)
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
    let mut content = Content::open(from.base, bt, bm).map_err(base_error)?;
    chunk::chunks(&mut content, bm.size, &mut |c| {
        index.add(c);
        Ok(())
    })
    .map_err(base_error)?;
    content.finish().map_err(base_error)?;
    let full_error = |source: io::Error| Error::Io {
        path: m.path.as_str().into(),
        source,
    };
    let mut target: Vec<Chunk> = Vec::new();
    let mut content = Content::open(from.full, t, m).map_err(full_error)?;
    chunk::chunks(&mut content, m.size, &mut |c| {
        target.push(c);
        Ok(())
    })
    .map_err(full_error)?;
    content.finish().map_err(full_error)?;
    Ok(delta_plan::recipe(&index, &target))
}

/// Counts and hashes what passes to the tar.
struct Counted<W> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Write the delta entry of `artifact`: the head, each operation, and each
/// shipped chunk's bytes, read from the target in order.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; each argument its own"
)]
fn write_recipe(
    tw: &mut TarWriter,
    full: &File,
    artifact: &BundlePath,
    m: &ManifestEntry,
    t: &TarEntry,
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
    let mut counted = Counted {
        inner: tw.data(),
        hasher: Hasher::new(),
    };
    let mut writer = RecipeWriter::new(&mut counted, head).map_err(io_error)?;
    // The target's decoded bytes, read once in order: shipped chunks are
    // copied, base ranges skipped.
    let mut content = Content::open(full, t, m).map_err(io_error)?;
    let mut at = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for op in ops {
        writer.op(op).map_err(io_error)?;
        skip(&mut content, op.target_offset.saturating_sub(at)).map_err(io_error)?;
        at = op.target_offset;
        if op.kind == OpKind::Shipped {
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
    let stored_sha256 = counted.hasher.clone().finish();
    let written = counted.hasher.bytes();
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
