//! `lbom pack`: inputs → one deterministic bundle, reading each input once.
//!
//! By job: `walk` lists the inputs; `plan` places every entry (pure
//! arithmetic over names and sizes, checked against the reader's caps);
//! `execute` reads, parses and writes the inputs in bundle order, raw
//! artifacts finished by worker threads (`raw`), zstd ones through a pipe
//! (`stream`); [`pack`] below ties them together and adds the attestation,
//! the manifest and the first link.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use super::attestation::{self, AttestationFacts, ExternalParameters};
use super::manifest::{self, Encoding, Manifest, ManifestEntry, Previous, Role, Tool};
use super::path::BundlePath;
use super::tar::TarWriter;
use super::{Caps, Error, layout};
use crate::describe::DocumentInfo;
use crate::io::digest::Sha256Digest;
use crate::io::out::Out;
use crate::io::span::SpanFile;
use crate::io::writer::Flusher;
use crate::sign::SigningKey;

mod delta_plan;
mod differential;
mod execute;
pub mod hash_cache;
mod names;
mod plan;
mod raw;
mod stream;
mod walk;

pub use differential::DeltaStats;
use execute::{Bundle, Context};
use plan::{Kind, Plan};

/// Bytes of an artifact's start compressed to decide `auto`: 1 MiB.
pub const AUTO_SAMPLE_BYTES: usize = 1 << 20;
/// `auto` stores raw when the sample compresses to more than this ratio.
pub const AUTO_MAX_RATIO: f64 = 0.9;
/// zstd level for `auto` and plain `zstd`.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// `--compress auto|zstd[:LEVEL]|none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// zstd when a 1 MiB sample compresses to ≤ 90 %, else raw.
    #[default]
    Auto,
    /// Always zstd at this level (1–19).
    Zstd(i32),
    /// Always raw.
    None,
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "none" => Ok(Self::None),
            "zstd" => Ok(Self::Zstd(DEFAULT_ZSTD_LEVEL)),
            _ => {
                let level = s.strip_prefix("zstd:").and_then(|l| l.parse::<i32>().ok());
                match level {
                    Some(l) if (1..=19).contains(&l) => Ok(Self::Zstd(l)),
                    _ => Err(format!(
                        "compression {s:?} must be auto, none, zstd or zstd:1 to zstd:19"
                    )),
                }
            }
        }
    }
}

impl Compression {
    fn as_text(self) -> String {
        match self {
            Self::Auto => "auto".into(),
            Self::None => "none".into(),
            Self::Zstd(l) => format!("zstd:{l}"),
        }
    }
}

/// First chain link to add while packing.
#[derive(Debug)]
pub struct FirstLink<'a> {
    /// The signer's key.
    pub key: &'a SigningKey,
    /// The signer's role.
    pub role: String,
    /// Optional note.
    pub note: Option<String>,
}

/// Everything `pack` needs.
#[derive(Debug)]
pub struct PackOptions<'a> {
    /// Files and folders to pack (folders recursively, sorted).
    pub inputs: Vec<PathBuf>,
    /// The bundle to create; must not exist.
    pub output: PathBuf,
    /// Bundle name.
    pub name: String,
    /// Channel.
    pub channel: String,
    /// Sequence; default: previous + 1, or 1.
    pub sequence: Option<u64>,
    /// The previous bundle on the channel.
    pub previous: Option<PathBuf>,
    /// Expiry, relative to `created`.
    pub expires: Option<jiff::SignedDuration>,
    /// Compression.
    pub compress: Compression,
    /// Creation time; default: SOURCE_DATE_EPOCH when set, else now.
    pub created: Option<jiff::Timestamp>,
    /// Optionally sign the first link at once.
    pub first_link: Option<FirstLink<'a>>,
    /// The caps the bundle must satisfy: each input is parsed under
    /// `caps.scan`, and no entry is written that a reader under `caps.read`
    /// would refuse. Verify and import with the same caps accept the bundle.
    pub caps: Caps,
    /// Threads hashing raw artifacts; default one per CPU; at most
    /// `MAX_PACK_WORKERS` either way. The bundle's bytes are the same for
    /// any number.
    pub jobs: Option<usize>,
    /// The base bundle of a differential bundle (docs/bundle-format.md
    /// §14): a full bundle of the same channel; `None` packs a full bundle.
    pub base: Option<PathBuf>,
    /// With `base`: the hash cache (`--hash-cache`, [`hash_cache`]) whose
    /// entries let files unchanged from the base go unread.
    pub hash_cache: Option<PathBuf>,
}

/// What `pack` wrote.
#[derive(Debug, Clone)]
pub struct PackSummary {
    /// The bundle.
    pub output: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of the manifest entry (what links sign).
    pub manifest_sha256: Sha256Digest,
    /// The manifest.
    pub manifest: Manifest,
    /// The first link, when one was signed.
    pub link: Option<super::LinkInfo>,
    /// For a differential bundle: what it ships against the full one.
    pub delta: Option<DeltaStats>,
}

/// Pack `options.inputs` into `options.output`. `on_progress` receives the
/// byte count of every chunk read from the inputs. The bundle is written to
/// a temporary file beside the output, fsynced, then renamed into place
/// without replacing an existing file.
pub fn pack(
    options: &PackOptions<'_>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<PackSummary, Error> {
    pack_to(options, None, on_progress)
}

/// [`pack`] into `span` instead of a file (`pack --split`: the data parts
/// of a part set, docs/bundle-format.md section 13): the same bytes, cut
/// at the span's part size, no file as large as the bundle ever written.
/// `options.output` names the bundle (in messages, and the set's name)
/// and must not exist; nothing is written there. The span's files are
/// fsynced; what they are named and the index are the caller's.
pub fn pack_into_span(
    options: &PackOptions<'_>,
    span: &Arc<SpanFile>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<PackSummary, Error> {
    pack_to(options, Some(span), on_progress)
}

fn pack_to(
    options: &PackOptions<'_>,
    span: Option<&Arc<SpanFile>>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<PackSummary, Error> {
    if let Some(base) = &options.base {
        return differential::pack_differential(options, base, span, on_progress).map(|(s, _)| s);
    }
    if options.hash_cache.is_some() {
        return Err(Error::Option(
            "a hash cache serves a differential bundle only: a full bundle carries every byte"
                .into(),
        ));
    }
    pack_skipping(options, &std::collections::BTreeSet::new(), span, on_progress)
}

/// [`pack`] of a full bundle, leaving out the inputs named in `skip`
/// (`pack --base` adds them as files unchanged from the base), into a
/// file or `span`.
fn pack_skipping(
    options: &PackOptions<'_>,
    skip: &std::collections::BTreeSet<BundlePath>,
    span: Option<&Arc<SpanFile>>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<PackSummary, Error> {
    let header = Header::from_options(options)?;
    if options.output.symlink_metadata().is_ok() {
        return Err(Error::OutputExists {
            path: options.output.clone(),
        });
    }
    // No more files than either cap allows: a bundle a reader would refuse
    // is never written (docs/bundle-format.md, "Reader limits").
    let max_artifacts = u64::try_from(options.caps.read.max_artifacts).unwrap_or(u64::MAX);
    let mut inputs = walk::collect_inputs(
        &options.inputs,
        options.caps.scan.max_files.min(max_artifacts),
    )?;
    inputs.retain(|i| !skip.contains(&i.name));
    let output = Output::create(&options.output, span)?;
    let mut bundle = output.bundle(&options.caps)?;
    let info = DocumentInfo {
        created: header.created,
        tool_name: crate::TOOL_NAME,
        tool_version: crate::TOOL_VERSION,
    };
    let ctx = Context {
        output: &options.output,
        compress: options.compress,
        limits: &options.caps.scan,
        info: &info,
        workers: execute::worker_count(options.jobs),
    };
    let flusher = Flusher::start(output.handle()?).map_err(output.io())?;
    let written = execute::write_inputs(&mut bundle, &flusher, &inputs, &ctx, on_progress);
    // Every trigger is gone with the threads that held one: the flush
    // thread ends. A failed input is reported before a failed flush.
    let flushed = flusher.finish().map_err(output.io());
    let (entries, subjects) = written?;
    flushed?;
    let (manifest, manifest_sha256, mut bytes) =
        finish_bundle(bundle, &header, options, entries, &subjects)?;
    let link = match &options.first_link {
        Some(l) => {
            let signed = sign_first_link(&output, l, header.created)?;
            bytes = signed.bundle_bytes;
            Some(signed.link)
        }
        None => None,
    };
    output.persist()?;
    Ok(PackSummary {
        output: options.output.clone(),
        bytes,
        manifest_sha256,
        manifest,
        link,
        delta: None,
    })
}

/// What the manifest and the attestation say besides the entries, checked
/// before anything is read.
struct Header {
    created: jiff::Timestamp,
    created_text: String,
    expires_text: Option<String>,
    previous: Option<Previous>,
    sequence: u64,
}

impl Header {
    fn from_options(options: &PackOptions<'_>) -> Result<Self, Error> {
        manifest::check_label("name", &options.name).map_err(Error::Option)?;
        manifest::check_label("channel", &options.channel).map_err(Error::Option)?;
        if let Some(link) = &options.first_link {
            super::chain::check_role_and_note(&link.role, link.note.as_deref())
                .map_err(Error::Option)?;
        }
        // SOURCE_DATE_EPOCH is read by the same rule as `scan` uses
        // (reproducible-builds.org: whole non-negative seconds), else now.
        let created = match options.created {
            Some(t) => t,
            None => {
                DocumentInfo::from_environment()
                    .map_err(|e| Error::Option(e.to_string()))?
                    .created
            }
        };
        // Whole seconds: the manifest records no more, so neither does
        // anything else.
        let created = jiff::Timestamp::from_second(created.as_second())
            .map_err(|e| Error::Option(e.to_string()))?;
        let expires = match options.expires {
            Some(d) => Some(
                created
                    .checked_add(d)
                    .map_err(|e| Error::Option(format!("expiry: {e}")))?,
            ),
            None => None,
        };
        let (previous, sequence) = previous_and_sequence(options)?;
        Ok(Self {
            created,
            created_text: manifest::format_time(created),
            expires_text: expires.map(manifest::format_time),
            previous,
            sequence,
        })
    }
}

/// Add the attestation and the manifest, and end the tar; returns the
/// manifest, its digest and the bundle's length.
fn finish_bundle(
    mut bundle: Bundle,
    header: &Header,
    options: &PackOptions<'_>,
    mut entries: Vec<ManifestEntry>,
    subjects: &[(BundlePath, Sha256Digest)],
) -> Result<(Manifest, Sha256Digest, u64), Error> {
    let attestation = AttestationFacts {
        subjects: subjects
            .iter()
            .map(|(name, digest)| attestation::subject(name.as_str(), *digest))
            .collect(),
        parameters: ExternalParameters {
            name: options.name.clone(),
            channel: options.channel.clone(),
            sequence: header.sequence,
            previous: header.previous.clone(),
            expires: header.expires_text.clone(),
            compress: options.compress.as_text(),
        },
        created: &header.created_text,
        tool_name: crate::TOOL_NAME,
        tool_version: crate::TOOL_VERSION,
    }
    .to_bytes();
    let attestation_name = fixed_name(layout::ATTESTATION)?;
    bundle.layout().add_small(
        Kind::Attestation,
        &attestation_name,
        &attestation,
        &options.output,
    )?;
    entries.push(small_entry(
        attestation_name,
        Role::Attestation,
        &attestation,
    ));
    let manifest = Manifest {
        schema: layout::MANIFEST_SCHEMA.to_owned(),
        name: options.name.clone(),
        channel: options.channel.clone(),
        sequence: header.sequence,
        previous: header.previous.clone(),
        base: None,
        created: header.created_text.clone(),
        expires: header.expires_text.clone(),
        tool: Tool {
            name: crate::TOOL_NAME.to_owned(),
            version: crate::TOOL_VERSION.to_owned(),
        },
        entries,
    };
    let manifest_bytes = manifest.to_bytes();
    bundle.layout().add_small(
        Kind::Manifest,
        &fixed_name(layout::MANIFEST)?,
        &manifest_bytes,
        &options.output,
    )?;
    let (file, bytes) = bundle.tw.finish().map_err(|source| Error::Tar {
        path: options.output.clone(),
        source,
    })?;
    drop(file);
    Ok((manifest, Sha256Digest::of(&manifest_bytes), bytes))
}

/// Sign the bundle being written with the first link.
fn sign_first_link(
    output: &Output<'_>,
    link: &FirstLink<'_>,
    time: jiff::Timestamp,
) -> Result<super::append::Signed, Error> {
    let options = super::append::SignOptions {
        role: link.role.clone(),
        note: link.note.clone(),
        time: Some(time),
    };
    match &output.written {
        Written::Temporary(tmp) => super::append::sign(tmp.path(), link.key, &options),
        // Nobody else sees a span being packed: no lock, no marker (a
        // crash leaves parts without an index, never a finished set).
        Written::Span(span) => super::append::sign_unshared(
            &Out::Span(Arc::clone(span)),
            output.path,
            link.key,
            &options,
        ),
    }
}

/// The bundle being created: a temporary file beside the output, renamed
/// into place at the end; or a span of parts the caller finishes.
struct Output<'a> {
    path: &'a std::path::Path,
    dir: PathBuf,
    written: Written,
}

enum Written {
    Temporary(tempfile::NamedTempFile),
    Span(Arc<SpanFile>),
}

impl<'a> Output<'a> {
    fn create(path: &'a std::path::Path, span: Option<&Arc<SpanFile>>) -> Result<Self, Error> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Some(span) = span {
            return Ok(Self {
                path,
                dir,
                written: Written::Span(Arc::clone(span)),
            });
        }
        let tmp = tempfile::Builder::new()
            .prefix(".lbom-pack-")
            .tempfile_in(&dir)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path,
            dir,
            written: Written::Temporary(tmp),
        })
    }

    /// An I/O error about the output.
    fn io(&self) -> impl Fn(io::Error) -> Error + use<'a> {
        let path = self.path;
        move |source| Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Another handle on the output.
    fn handle(&self) -> Result<Out, Error> {
        match &self.written {
            Written::Temporary(tmp) => tmp
                .as_file()
                .try_clone()
                .map(Out::File)
                .map_err(self.io()),
            Written::Span(span) => Ok(Out::Span(Arc::clone(span))),
        }
    }

    /// The tar writer, an empty plan, and the handles workers write
    /// through (O_DIRECT when the output is a file and its filesystem
    /// allows it).
    fn bundle(&self, caps: &Caps) -> Result<Bundle, Error> {
        let tw = TarWriter::new(self.handle()?, 0).map_err(self.io())?;
        let direct = match &self.written {
            Written::Temporary(tmp) => crate::io::direct::open_direct(tmp.path(), tmp.as_file()),
            Written::Span(_) => None,
        };
        let out = raw::Output {
            buffered: self.handle()?,
            direct,
        };
        Ok(Bundle {
            tw,
            plan: Plan::new(0, &caps.read),
            out,
        })
    }

    /// Make the bundle shareable and rename it into place without replacing
    /// anything, then make the rename durable. A span is the caller's to
    /// finish (its files are synced already).
    fn persist(self) -> Result<(), Error> {
        let io = self.io();
        let Written::Temporary(tmp) = self.written else {
            return Ok(());
        };
        // tempfile creates 0600; a bundle is meant to be shared.
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .map_err(&io)?;
        tmp.persist_noclobber(self.path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                Error::OutputExists {
                    path: self.path.to_path_buf(),
                }
            } else {
                io(e.error)
            }
        })?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io)
    }
}

/// Size of one buffer handed from the reading (hashing) thread to the
/// writing thread: the same 1 MiB `inspect` reads with, so one `read` fills
/// one buffer and one `write` empties it.
const CHUNK_BYTES: usize = crate::io::digest::READ_BUFFER_BYTES;
/// Buffers in flight between the two threads: enough to keep the writer
/// busy while the reader hashes; each is 1 MiB of RSS.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Upper bound on pack's hashing threads: each holds four 1 MiB buffers.
pub const MAX_PACK_WORKERS: u16 = 4;

fn fixed_name(s: &str) -> Result<BundlePath, Error> {
    BundlePath::new(s).map_err(|source| Error::InputName {
        path: PathBuf::from(s),
        source,
    })
}

fn small_entry(path: BundlePath, role: Role, bytes: &[u8]) -> ManifestEntry {
    let size = bytes.len() as u64;
    let sha256 = Sha256Digest::of(bytes);
    ManifestEntry {
        path,
        role,
        size,
        sha256,
        encoding: Encoding::Raw,
        stored_size: size,
        stored_sha256: Some(sha256),
    }
}

/// The SBOM entry name of an artifact: `sboms/<path>.cdx.json`.
pub fn sbom_entry_name(artifact: &BundlePath) -> Result<BundlePath, super::PathError> {
    BundlePath::new(&format!(
        "{}/{}{}",
        layout::SBOMS_DIR,
        artifact.as_str(),
        layout::SBOM_SUFFIX
    ))
}

/// The artifact entry name: `artifacts/<path>`, `artifacts/<path>.zst` or
/// `artifacts/<path>.dlt`.
pub fn artifact_entry_name(
    artifact: &BundlePath,
    encoding: Encoding,
) -> Result<BundlePath, super::PathError> {
    let suffix = match encoding {
        Encoding::Raw => "",
        Encoding::Zstd => layout::ZSTD_SUFFIX,
        Encoding::Delta => super::delta::DELTA_SUFFIX,
    };
    BundlePath::new(&format!(
        "{}/{}{suffix}",
        layout::ARTIFACTS_DIR,
        artifact.as_str()
    ))
}

fn previous_and_sequence(options: &PackOptions<'_>) -> Result<(Option<Previous>, u64), Error> {
    let previous = match &options.previous {
        Some(path) => {
            let old = super::read::open(path, &super::ReadLimits::default())?;
            if old.manifest.channel != options.channel {
                return Err(Error::Option(format!(
                    "previous bundle is on channel {:?}, not {:?}",
                    old.manifest.channel, options.channel
                )));
            }
            Some(Previous {
                sequence: old.manifest.sequence,
                manifest_sha256: old.manifest_sha256,
            })
        }
        None => None,
    };
    let after = previous.as_ref().map_or(0, |p| p.sequence);
    let sequence = match options.sequence {
        Some(s) if s > after => s,
        Some(s) => {
            return Err(Error::Option(format!(
                "sequence {s} must be greater than the previous bundle's {after}"
            )));
        }
        None => after
            .checked_add(1)
            .ok_or_else(|| Error::Option("sequence overflows".into()))?,
    };
    Ok((previous, sequence))
}

#[cfg(test)]
pub(crate) mod tests;
