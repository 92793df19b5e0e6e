//! `lbom pack`: inputs → one deterministic bundle, reading each input once.
//!
//! The calling thread walks the inputs in bundle order and parses each
//! header. A raw artifact's entries are laid out at once (its size is the
//! file's, its SBOM's size is known from the parse) and the rest of the
//! file is hashed and written by worker threads, several files at once
//! (`raw`). A zstd artifact is packed here, through a tee whose every byte
//! goes to the encoder while `inspect_reader` parses; its header is written
//! last, over a placeholder, once the stored size is known.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt as _, FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;

use super::attestation::{self, AttestationFacts, ExternalParameters};
use super::manifest::{self, Encoding, Manifest, ManifestEntry, Previous, Role, Tool};
use super::path::BundlePath;
use super::tar::TarWriter;
use super::{Error, UnsafeInput, layout};
use crate::describe::DocumentInfo;
use crate::directio::{self, AlignedChunk};
use crate::inspect::digest::{Hasher, Sha256Digest};
use crate::inspect::{ModelFacts, ScanOptions};
use crate::limits::Limits;
use crate::sign::SigningKey;

mod names;
mod raw;

use names::check_input_names;

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
    /// Caps for inspection.
    pub limits: Limits,
    /// Threads hashing raw artifacts; default one per CPU; at most
    /// [`MAX_PACK_WORKERS`] either way. The bundle's bytes are the same for
    /// any number.
    pub jobs: Option<usize>,
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
}

/// Pack `options.inputs` into `options.output`. `on_progress` receives the
/// byte count of every chunk read from the inputs. The bundle is written to
/// a temporary file beside the output, fsynced, then renamed into place
/// without replacing an existing file.
pub fn pack(
    options: &PackOptions<'_>,
    on_progress: &mut dyn FnMut(u64),
) -> Result<PackSummary, Error> {
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
    // Whole seconds: the manifest records no more, so neither does anything else.
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
    if options.output.symlink_metadata().is_ok() {
        return Err(Error::OutputExists {
            path: options.output.clone(),
        });
    }
    // A bundle a reader would refuse is never written: at most the
    // reader's artifact cap (docs/bundle-format.md, "Reader limits").
    let max_artifacts =
        u64::try_from(super::ReadLimits::default().max_artifacts).unwrap_or(u64::MAX);
    let inputs = collect_inputs(&options.inputs, options.limits.max_files.min(max_artifacts))?;

    let out_dir = match options.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io_out = |source| Error::Io {
        path: options.output.clone(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".lbom-pack-")
        .tempfile_in(&out_dir)
        .map_err(io_out)?;
    let file = tmp.as_file().try_clone().map_err(io_out)?;
    let mut tw = TarWriter::new(file, 0).map_err(io_out)?;
    let tar_err = |source| Error::Tar {
        path: options.output.clone(),
        source,
    };

    let info = DocumentInfo {
        created,
        tool_name: crate::TOOL_NAME,
        tool_version: crate::TOOL_VERSION,
    };
    let out = raw::Output {
        buffered: tmp.as_file().try_clone().map_err(io_out)?,
        direct: directio::open_direct(tmp.path(), tmp.as_file()),
    };
    let flusher = Flusher::start(out.buffered.try_clone().map_err(io_out)?).map_err(io_out)?;
    let written = write_inputs(
        &mut tw,
        &out,
        &flusher,
        &inputs,
        &PlanContext {
            output: &options.output,
            compress: options.compress,
            limits: &options.limits,
            info: &info,
            workers: worker_count(options.jobs),
        },
        on_progress,
    );
    // Every trigger is gone with the threads that held one: the flush
    // thread ends. A failed input is reported before a failed flush.
    let flushed = flusher.finish().map_err(io_out);
    let (mut entries, subjects) = written?;
    flushed?;
    let created_text = manifest::format_time(created);
    let expires_text = expires.map(manifest::format_time);
    let attestation = AttestationFacts {
        subjects: subjects
            .iter()
            .map(|(name, digest)| attestation::subject(name.as_str(), *digest))
            .collect(),
        parameters: ExternalParameters {
            name: options.name.clone(),
            channel: options.channel.clone(),
            sequence,
            previous: previous.clone(),
            expires: expires_text.clone(),
            compress: options.compress.as_text(),
        },
        created: &created_text,
        tool_name: crate::TOOL_NAME,
        tool_version: crate::TOOL_VERSION,
    }
    .to_bytes();
    let attestation_name = fixed_name(layout::ATTESTATION)?;
    tw.add_bytes(&attestation_name, &attestation)
        .map_err(tar_err)?;
    entries.push(small_entry(
        attestation_name,
        Role::Attestation,
        &attestation,
    ));

    let manifest = Manifest {
        schema: layout::MANIFEST_SCHEMA.to_owned(),
        name: options.name.clone(),
        channel: options.channel.clone(),
        sequence,
        previous,
        created: created_text.clone(),
        expires: expires_text,
        tool: Tool {
            name: crate::TOOL_NAME.to_owned(),
            version: crate::TOOL_VERSION.to_owned(),
        },
        entries,
    };
    let manifest_bytes = manifest.to_bytes();
    tw.add_bytes(&fixed_name(layout::MANIFEST)?, &manifest_bytes)
        .map_err(tar_err)?;
    let manifest_sha256 = Sha256Digest::of(&manifest_bytes);
    let (file, mut bytes) = tw.finish().map_err(tar_err)?;
    drop(file);

    let link = match &options.first_link {
        Some(l) => {
            let signed = super::append::sign(
                tmp.path(),
                l.key,
                &super::append::SignOptions {
                    role: l.role.clone(),
                    note: l.note.clone(),
                    time: Some(created),
                },
            )?;
            bytes = signed.bundle_bytes;
            Some(signed.link)
        }
        None => None,
    };
    // tempfile creates 0600; a bundle is meant to be shared.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .map_err(io_out)?;
    tmp.persist_noclobber(&options.output).map_err(|e| {
        if e.error.kind() == io::ErrorKind::AlreadyExists {
            Error::OutputExists {
                path: options.output.clone(),
            }
        } else {
            io_out(e.error)
        }
    })?;
    File::open(&out_dir)
        .and_then(|d| d.sync_all())
        .map_err(io_out)?;
    Ok(PackSummary {
        output: options.output.clone(),
        bytes,
        manifest_sha256,
        manifest,
        link,
    })
}

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

/// The artifact entry name: `artifacts/<path>` or `artifacts/<path>.zst`.
pub fn artifact_entry_name(
    artifact: &BundlePath,
    encoding: Encoding,
) -> Result<BundlePath, super::PathError> {
    let suffix = if encoding == Encoding::Zstd {
        layout::ZSTD_SUFFIX
    } else {
        ""
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

/// One file to pack.
#[derive(Debug, Clone)]
struct Input {
    /// Its path in the bundle.
    name: BundlePath,
    /// Where to open it (a symlink's resolved target).
    source: PathBuf,
    /// (device, inode) seen when listing, re-checked after opening.
    identity: (u64, u64),
}

/// Walk inputs: folders recursively (sorted by name), symlinks only to
/// files inside an input, no special files; names canonical and distinct.
fn collect_inputs(inputs: &[PathBuf], max_files: u64) -> Result<Vec<Input>, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let roots: Vec<PathBuf> = inputs
        .iter()
        .map(|p| std::fs::canonicalize(p).map_err(io(p)))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (input, root) in inputs.iter().zip(&roots) {
        let meta = std::fs::metadata(input).map_err(io(input))?;
        if meta.is_dir() {
            walk_dir(input, "", &roots, &mut out, max_files)?;
        } else {
            // A file named on the command line: the user chose it, so a
            // symlink here is followed.
            let name = file_name(input)?;
            add_file(input, root, &name, &mut out, max_files)?;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    check_input_names(&out)?;
    if out.is_empty() {
        return Err(Error::NoInputs);
    }
    Ok(out)
}

fn file_name(path: &Path) -> Result<String, Error> {
    let unsafe_input = |reason| Error::UnsafeInput {
        path: path.to_path_buf(),
        reason,
    };
    let name = path
        .file_name()
        .ok_or_else(|| unsafe_input(UnsafeInput::Special("no file name")))?;
    name.to_str()
        .map(str::to_owned)
        .ok_or_else(|| unsafe_input(UnsafeInput::NotUtf8))
}

fn walk_dir(
    dir: &Path,
    prefix: &str,
    roots: &[PathBuf],
    out: &mut Vec<Input>,
    max_files: u64,
) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut children: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        children.push((file_name(&path)?, path));
    }
    children.sort();
    for (name, path) in children {
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let meta = std::fs::symlink_metadata(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let unsafe_input = |reason| Error::UnsafeInput {
            path: path.clone(),
            reason,
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            walk_dir(&path, &rel, roots, out, max_files)?;
        } else if ft.is_file() {
            add_file(&path, &path, &rel, out, max_files)?;
        } else if ft.is_symlink() {
            let target = std::fs::canonicalize(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            if !roots.iter().any(|r| target.starts_with(r)) {
                return Err(unsafe_input(UnsafeInput::SymlinkEscapes));
            }
            if target.is_dir() {
                return Err(unsafe_input(UnsafeInput::SymlinkToFolder));
            }
            add_file(&path, &target, &rel, out, max_files)?;
        } else {
            return Err(unsafe_input(UnsafeInput::Special(special_kind(&ft))));
        }
    }
    Ok(())
}

fn special_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "unknown type"
    }
}

fn add_file(
    shown: &Path,
    source: &Path,
    rel: &str,
    out: &mut Vec<Input>,
    max_files: u64,
) -> Result<(), Error> {
    let meta = std::fs::metadata(source).map_err(|e| Error::Io {
        path: source.to_path_buf(),
        source: e,
    })?;
    if !meta.is_file() {
        let kind = special_kind(&meta.file_type());
        return Err(Error::UnsafeInput {
            path: shown.to_path_buf(),
            reason: UnsafeInput::Special(kind),
        });
    }
    if out.len() as u64 >= max_files {
        return Err(Error::UnsafeInput {
            path: shown.to_path_buf(),
            reason: UnsafeInput::TooManyFiles(max_files),
        });
    }
    let name = BundlePath::new(rel).map_err(|source| Error::InputName {
        path: shown.to_path_buf(),
        source,
    })?;
    // Every derived entry name must fit the tar profile too.
    for derived in [
        artifact_entry_name(&name, Encoding::Zstd),
        sbom_entry_name(&name),
    ] {
        let derived = derived.map_err(|source| Error::InputName {
            path: shown.to_path_buf(),
            source,
        })?;
        super::tar::encode_header(&derived, 0).map_err(|source| Error::Tar {
            path: shown.to_path_buf(),
            source,
        })?;
    }
    out.push(Input {
        name,
        source: source.to_path_buf(),
        identity: (meta.dev(), meta.ino()),
    });
    Ok(())
}

/// Size of one buffer handed from the reading (hashing) thread to the
/// writing thread: the same 1 MiB `inspect` reads with, so one `read` fills
/// one buffer and one `write` empties it.
const CHUNK_BYTES: usize = crate::inspect::digest::READ_BUFFER_BYTES;
/// Buffers in flight between the two threads: enough to keep the writer
/// busy while the reader hashes; each is 1 MiB of RSS.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The reading side of the pack pipeline. Every byte read from the input is
/// hashed here, exactly once, and the same buffer is then handed to the
/// writer thread, which writes it into the bundle (directly or through
/// zstd). Before this, one thread read, hashed and wrote in turn: a 1 GiB
/// raw pack spent ~0.72 s hashing plus ~0.49 s in `write(2)` back to back
/// (strace -c: 1035 writes, 470 µs each); with the writes on a second
/// thread they overlap the hashing.
struct Tee<'a, R> {
    inner: R,
    hasher: Hasher,
    pipe: Pipe<'a>,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Tee<'_, R> {
    /// Hash and send one chunk that is already in a pooled buffer.
    fn pass_on(&mut self, buf: Chunk, n: usize) -> io::Result<()> {
        self.hasher.update(buf.filled(n));
        (self.progress)(n as u64);
        self.pipe.send(buf, n)
    }

    /// Read, hash and send everything the inspector left, straight into
    /// pooled buffers (no copy).
    fn drain(&mut self) -> io::Result<()> {
        loop {
            let mut buf = self.pipe.buffer()?;
            let n = loop {
                match self.inner.read(buf.window()) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if n == 0 {
                self.pipe.pool.spare.push(buf);
                return Ok(());
            }
            self.pass_on(buf, n)?;
        }
    }
}

impl<R: Read> Read for Tee<'_, R> {
    /// What the inspector reads (the header, in small pieces): copied into
    /// pooled buffers so the writer thread can own them.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        let mut rest = out.get(..n).unwrap_or_default();
        while !rest.is_empty() {
            let mut buf = self.pipe.buffer()?;
            let window = buf.window();
            let take = rest.len().min(window.len());
            let (head, tail) = rest.split_at(take);
            if let Some(dst) = window.get_mut(..take) {
                dst.copy_from_slice(head);
            }
            self.pass_on(buf, take)?;
            rest = tail;
        }
        Ok(n)
    }
}

/// One pipeline buffer (page-aligned for O_DIRECT, see `crate::directio`).
type Chunk = AlignedChunk;

/// The pipeline's buffers, kept for the whole pack: allocating them per
/// file cost a 1 GiB pack of 209 files ~0.25 s of system time (page
/// faults on fresh memory, 859 `brk` calls; strace -c).
#[derive(Default)]
struct BufferPool {
    spare: Vec<Chunk>,
    allocated: usize,
}

/// Two channels between the reader and the writer thread: full buffers go
/// one way (with their filled length), empty ones come back for reuse.
struct Pipe<'a> {
    full: mpsc::SyncSender<(Chunk, usize)>,
    empty: mpsc::Receiver<Chunk>,
    pool: &'a mut BufferPool,
}

impl Pipe<'_> {
    /// A buffer of `CHUNK_BYTES`: a returned one, a spare one, a new one
    /// while fewer than `CHUNKS_IN_FLIGHT` exist, else wait for the writer.
    fn buffer(&mut self) -> io::Result<Chunk> {
        if let Ok(b) = self.empty.try_recv() {
            return Ok(b);
        }
        if let Some(b) = self.pool.spare.pop() {
            return Ok(b);
        }
        if self.pool.allocated < CHUNKS_IN_FLIGHT {
            self.pool.allocated += 1;
            return Ok(Chunk::new(CHUNK_BYTES));
        }
        self.empty.recv().map_err(|_| writer_gone())
    }

    fn send(&mut self, buf: Chunk, n: usize) -> io::Result<()> {
        self.full.send((buf, n)).map_err(|_| writer_gone())
    }
}

/// The writer thread stopped early; its own error is reported on join.
fn writer_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "bundle writer stopped")
}

/// The writer thread: write every full buffer, in order, tell the flusher,
/// then return the sink.
fn write_chunks<W: Write>(
    mut sink: W,
    full: mpsc::Receiver<(Chunk, usize)>,
    empty: mpsc::Sender<Chunk>,
    flusher: &mut FlushTrigger,
) -> io::Result<W> {
    for (buf, n) in full {
        sink.write_all(buf.filled(n))?;
        // The reader may have finished and dropped its end: nothing to reuse.
        let _ = empty.send(buf);
        flusher.wrote(n as u64);
    }
    Ok(sink)
}

/// What carries over from one input to the next on the planner: the zstd
/// path's buffers and handle on the background flush, and the disk space
/// claimed so far.
struct Stream {
    pool: BufferPool,
    flusher: FlushTrigger,
    allocated: Allocation,
}

/// Claim disk space ahead of the regions laid out for workers, with
/// `fallocate`. Why: a direct write into a hole or past the end of the file
/// takes the inode lock exclusively and holds it until the write is done,
/// so the workers' direct writes went one at a time and every buffered
/// write waited behind them. Pack none of the 2 GiB bench folder, three
/// runs each: 1.72–2.04 s without, 1.48–1.57 s with (openssl 1.82–1.84 s).
/// Claimed in steps of `ALLOCATE_STEP` (one call per step, not per file);
/// `TarWriter::finish` cuts the bundle to its length.
#[derive(Default)]
struct Allocation {
    to: u64,
    unsupported: bool,
}

/// How far ahead space is claimed.
const ALLOCATE_STEP: u64 = 64 << 20;

impl Allocation {
    fn up_to(&mut self, file: &File, end: u64) -> io::Result<()> {
        if self.unsupported || end <= self.to {
            return Ok(());
        }
        let claim = |to: u64| {
            rustix::fs::fallocate(
                file,
                rustix::fs::FallocateFlags::empty(),
                self.to,
                to.saturating_sub(self.to),
            )
        };
        let ahead = end.saturating_add(ALLOCATE_STEP);
        match claim(ahead) {
            Ok(()) => self.to = ahead,
            // Near a full disk, claim only what is laid out: failing then
            // means the bundle does not fit, and saying so now is kinder.
            Err(rustix::io::Errno::NOSPC) => {
                claim(end)?;
                self.to = end;
            }
            // A filesystem without fallocate: the writes work, slower.
            Err(_) => self.unsupported = true,
        }
        Ok(())
    }
}

/// Bytes written between two background `fdatasync` calls. Measured on a
/// 1 GiB pack of 209 files (3 interleaved runs, 2 vCPUs, shared machine):
/// final fsync only 1.42–1.67 s; every 16 MiB 1.07–1.26 s; every 64 MiB
/// 1.06–1.51 s; every 256 MiB 1.24–1.43 s (openssl 0.82–0.94 s).
const SYNC_EVERY_BYTES: u64 = 64 << 20;

/// Flushes the bundle to disk in the background while packing goes on.
///
/// The bundle is fsynced once at the end (`TarWriter::finish`); done only
/// there, that fsync wrote the whole bundle while nothing else happened:
/// 0.41–0.54 s of a 2.0–2.2 s raw pack of 1 GiB (strace -T). Asking for
/// the flush early, on its own thread, overlaps the disk with the hashing
/// and leaves the final fsync only the tail (0.4–6 ms for the same pack,
/// which took 1.30 s instead of 2.05 s). With O_DIRECT most artifact bytes
/// no longer pass through the page cache; the flush still covers the
/// buffered rest (headers, SBOMs, region edges, zstd entries).
/// std has no `sync_file_range`, so this is `fdatasync` on a duplicate
/// handle, from a thread that does nothing else.
///
/// The duplicate shares the open file description, so an error it reports
/// is not reported again to the final fsync: [`Flusher::finish`] returns
/// it, and pack fails with it.
struct Flusher {
    requests: mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

/// A writer's handle on the flusher: counts what it wrote and asks for a
/// flush every `SYNC_EVERY_BYTES`.
pub(super) struct FlushTrigger {
    requests: mpsc::SyncSender<()>,
    since: u64,
}

impl Flusher {
    fn start(file: File) -> io::Result<Self> {
        let (requests, incoming) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("lbom-flush".into())
            .spawn(move || {
                for () in incoming {
                    file.sync_data()?;
                }
                Ok(())
            })?;
        Ok(Self { requests, thread })
    }

    fn trigger(&self) -> FlushTrigger {
        FlushTrigger {
            requests: self.requests.clone(),
            since: 0,
        }
    }

    /// Stop the thread (once every trigger is dropped) and return its
    /// first error.
    fn finish(self) -> io::Result<()> {
        drop(self.requests);
        match self.thread.join() {
            Ok(result) => result,
            Err(_) => Err(io::Error::other("bundle flush thread panicked")),
        }
    }
}

impl FlushTrigger {
    /// Count written bytes; past `SYNC_EVERY_BYTES`, ask for a flush.
    pub(super) fn wrote(&mut self, n: u64) {
        self.since = self.since.saturating_add(n);
        if self.since >= SYNC_EVERY_BYTES {
            self.since = 0;
            // Busy: the next flush covers these bytes too. Gone: it
            // failed, and `Flusher::finish` reports why.
            let _ = self.requests.try_send(());
        }
    }
}

/// Counts bytes written through it.
struct Counting<W> {
    inner: W,
    written: u64,
    /// SHA-256 of what was written: a zstd entry's stored bytes, which a
    /// version 2 manifest binds (docs/bundle-format.md [B57]).
    hasher: Hasher,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written = self.written.saturating_add(n as u64);
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// zstd worker threads: fixed ≥ 1 so output never depends on the machine
/// (zstd's output is the same for any worker count ≥ 1, not for 0).
fn zstd_workers() -> u32 {
    std::thread::available_parallelism()
        .map_or(1, |n| u32::try_from(n.get().min(8)).unwrap_or(1))
        .max(1)
}

fn decide_encoding(compress: Compression, sample: &[u8]) -> (Encoding, i32) {
    match compress {
        Compression::None => (Encoding::Raw, 0),
        Compression::Zstd(level) => (Encoding::Zstd, level),
        Compression::Auto => {
            if sample.is_empty() {
                return (Encoding::Raw, 0);
            }
            let compressed =
                zstd::bulk::compress(sample, DEFAULT_ZSTD_LEVEL).map_or(usize::MAX, |c| c.len());
            #[allow(
                clippy::cast_precision_loss,
                reason = "a ratio; sizes ≤ 1 MiB are exact in f64"
            )]
            let ratio = compressed as f64 / sample.len() as f64;
            if ratio > AUTO_MAX_RATIO {
                (Encoding::Raw, 0)
            } else {
                (Encoding::Zstd, DEFAULT_ZSTD_LEVEL)
            }
        }
    }
}

/// What every input's planning needs besides the input.
struct PlanContext<'a> {
    /// The bundle being written, for messages about writing it.
    output: &'a Path,
    compress: Compression,
    limits: &'a Limits,
    info: &'a DocumentInfo,
    workers: usize,
}

/// Hashing threads for raw artifacts: one per CPU, at most
/// `MAX_PACK_WORKERS` (more would only queue on the disk).
fn worker_count(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
        .clamp(1, usize::from(MAX_PACK_WORKERS))
}

/// Upper bound on pack's hashing threads: each holds four 1 MiB buffers.
pub const MAX_PACK_WORKERS: u16 = 4;

/// How long the planner waits for an outcome before it reports progress
/// again (and checks that the workers are alive).
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

type Written = (Vec<ManifestEntry>, Vec<(BundlePath, Sha256Digest)>);

/// Write every input's entries (artifact, then SBOM) in bundle order; raw
/// artifacts are finished on worker threads (`raw`), zstd ones here.
/// Returns the manifest entries and the attestation's subjects, in order.
/// On failure, the failure of the earliest input in bundle order is
/// returned, whichever thread saw it first.
fn write_inputs(
    tw: &mut TarWriter,
    out: &raw::Output,
    flusher: &Flusher,
    inputs: &[Input],
    ctx: &PlanContext<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Written, Error> {
    let (shared, jobs) = raw::Shared::new(out, ctx.workers);
    let (done_tx, done_rx) = mpsc::channel::<raw::Outcome>();
    let mut slots: Vec<Option<raw::RawDone>> = inputs.iter().map(|_| None).collect();
    let mut failures: Vec<(usize, Error)> = Vec::new();
    let mut disk_failure: Option<Error> = None;
    let record = |(index, outcome): raw::Outcome,
                  slots: &mut Vec<Option<raw::RawDone>>,
                  failures: &mut Vec<(usize, Error)>| {
        match outcome {
            Ok(Some(done)) => {
                if let Some(slot) = slots.get_mut(index) {
                    *slot = Some(done);
                }
            }
            Ok(None) => {}
            Err(e) => failures.push((index, e)),
        }
    };
    let report = |progress: &mut dyn FnMut(u64)| {
        let n = shared.read.swap(0, std::sync::atomic::Ordering::Relaxed);
        if n > 0 {
            progress(n);
        }
    };
    std::thread::scope(|scope| {
        let shared = &shared;
        let workers: Vec<_> = (0..ctx.workers)
            .map(|_| {
                let done = done_tx.clone();
                let trigger = flusher.trigger();
                scope.spawn(move || raw::worker(shared, &done, trigger))
            })
            .collect();
        drop(done_tx);
        let mut stream = Stream {
            pool: BufferPool::default(),
            flusher: flusher.trigger(),
            allocated: Allocation::default(),
        };
        // Heads in jobs waiting, in jobs being worked on, and in writers'
        // queues; they come back as they are written.
        let mut heads =
            raw::ChunkPool::new(2 * ctx.workers + 2, CHUNK_BYTES + directio::BUFFER_ALIGN);
        for (index, input) in inputs.iter().enumerate() {
            for outcome in done_rx.try_iter() {
                record(outcome, &mut slots, &mut failures);
            }
            report(progress);
            if !failures.is_empty() {
                break;
            }
            let planned = plan_input(
                tw,
                &mut stream,
                &mut heads,
                out,
                input,
                index,
                ctx,
                shared,
                progress,
            );
            match planned {
                Ok(Planned::Done(done)) => {
                    if let Some(slot) = slots.get_mut(index) {
                        *slot = Some(*done);
                    }
                }
                Ok(Planned::Job(job)) => {
                    // Wait for room in the queue, taking outcomes meanwhile.
                    let mut job = *job;
                    loop {
                        // The receiver lives in `shared`: the queue is only
                        // ever full, never closed.
                        match jobs.try_send(job) {
                            Ok(()) => break,
                            Err(
                                mpsc::TrySendError::Full(back)
                                | mpsc::TrySendError::Disconnected(back),
                            ) => job = back,
                        }
                        if workers
                            .iter()
                            .all(std::thread::ScopedJoinHandle::is_finished)
                        {
                            failures.push((index, worker_lost(&input.source)));
                            break;
                        }
                        if let Ok(outcome) = done_rx.recv_timeout(POLL) {
                            record(outcome, &mut slots, &mut failures);
                        }
                        report(progress);
                    }
                }
                Err(e) => {
                    shared
                        .abort
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    failures.push((index, e));
                    break;
                }
            }
        }
        // No more jobs: the workers finish what they hold, then stop.
        drop(jobs);
        drop(stream);
        loop {
            match done_rx.recv_timeout(POLL) {
                Ok(outcome) => record(outcome, &mut slots, &mut failures),
                Err(mpsc::RecvTimeoutError::Timeout) => report(progress),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        report(progress);
        for worker in workers {
            let result = worker
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("pack worker thread panicked")));
            if let (Err(source), None) = (result, &disk_failure) {
                disk_failure = Some(Error::Io {
                    path: ctx.output.to_path_buf(),
                    source,
                });
            }
        }
    });
    // A failed write to the bundle (a full disk, say) is the cause; the
    // jobs it stopped only saw their writer go.
    if let Some(cause) = disk_failure {
        return Err(cause);
    }
    if let Some((_, first)) = failures.into_iter().min_by_key(|(i, _)| *i) {
        return Err(first);
    }
    let mut entries = Vec::with_capacity(inputs.len().saturating_mul(2).saturating_add(2));
    let mut subjects = Vec::with_capacity(inputs.len());
    for (input, slot) in inputs.iter().zip(slots) {
        let done = slot.ok_or_else(|| worker_lost(&input.source))?;
        subjects.push((input.name.clone(), done.artifact.sha256));
        entries.push(done.artifact);
        entries.push(done.sbom);
    }
    Ok((entries, subjects))
}

/// A file whose identity changed between listing and opening.
fn replaced(path: &Path) -> Error {
    Error::UnsafeInput {
        path: path.to_path_buf(),
        reason: UnsafeInput::Replaced,
    }
}

/// Every worker stopped with jobs left (only a panic does that).
fn worker_lost(path: &Path) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::other("pack worker stopped before finishing this file"),
    }
}

/// An input, planned: finished here (zstd) or handed to a worker (raw).
enum Planned {
    Done(Box<raw::RawDone>),
    Job(Box<raw::RawJob>),
}

/// Open one input, check it is the file listed, choose its encoding and
/// either pack it here (zstd) or lay out its entries and parse its header
/// for a worker to finish (raw).
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the planner's state, passed apart to borrow it apart"
)]
fn plan_input(
    tw: &mut TarWriter,
    stream: &mut Stream,
    heads: &mut raw::ChunkPool,
    out: &raw::Output,
    input: &Input,
    index: usize,
    ctx: &PlanContext<'_>,
    shared: &raw::Shared<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<Planned, Error> {
    let path = &input.source;
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() || (meta.dev(), meta.ino()) != input.identity {
        return Err(replaced(path));
    }
    let len = meta.len();
    // Read one byte more than expected so a growing file is noticed.
    let mut file = file.take(len.saturating_add(1));
    let mut sample = Vec::with_capacity(
        AUTO_SAMPLE_BYTES.min(usize::try_from(len).unwrap_or(AUTO_SAMPLE_BYTES)),
    );
    if ctx.compress == Compression::Auto {
        (&mut file)
            .take(AUTO_SAMPLE_BYTES as u64)
            .read_to_end(&mut sample)
            .map_err(io)?;
    }
    let (encoding, level) = decide_encoding(ctx.compress, &sample);
    let entry_name =
        artifact_entry_name(&input.name, encoding).map_err(|source| Error::InputName {
            path: path.clone(),
            source,
        })?;
    let source = io::Cursor::new(sample).chain(file);
    // A second handle, read only if the file turns out to be a zip archive
    // (its directory is at the end; inspect reads it nowhere else). Opening
    // it costs one syscall per file; it is checked to be the same file.
    let random_access = File::open(path).map_err(io)?;
    let same = random_access
        .metadata()
        .map(|m| (m.dev(), m.ino()) == input.identity)
        .map_err(io)?;
    if !same {
        return Err(replaced(path));
    }
    let sbom_name = sbom_entry_name(&input.name).map_err(|source| Error::InputName {
        path: path.clone(),
        source,
    })?;
    let opened = Opened {
        input,
        len,
        entry_name,
        sbom_name,
        random_access,
    };
    match encoding {
        Encoding::Raw => {
            let job = plan_raw(
                tw,
                heads,
                &mut stream.allocated,
                out,
                opened,
                source,
                index,
                ctx,
                shared,
                progress,
            )?;
            Ok(Planned::Job(Box::new(job)))
        }
        Encoding::Zstd => {
            let done = write_zstd(tw, stream, opened, source, level, ctx, progress)?;
            Ok(Planned::Done(Box::new(done)))
        }
    }
}

/// An input opened and checked, with its entry names.
struct Opened<'a> {
    input: &'a Input,
    len: u64,
    entry_name: BundlePath,
    sbom_name: BundlePath,
    /// For the zip reader (see `plan_input`).
    random_access: File,
}

impl Opened<'_> {
    /// The file's own name, which the SBOM reports.
    fn file_name(&self) -> String {
        self.input
            .name
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// Facts from an inspector run that hashed nothing (the pack pipeline
    /// hashes): checked to describe a file of the size opened, then named
    /// as the bundle names it.
    fn take_facts(&self, facts: ModelFacts) -> Result<ModelFacts, Error> {
        if facts.file_size_bytes != self.len || facts.sha256.is_some() {
            return Err(Error::InspectIncomplete {
                path: self.input.source.clone(),
            });
        }
        let mut facts = facts;
        facts.model_path = self.input.name.as_str().to_owned();
        facts.model_filename = self.file_name();
        Ok(facts)
    }
}

/// The inspector's options inside pack: parse only. The pipeline hashes,
/// so the inspector stops reading once it has the header.
const PARSE_ONLY: ScanOptions = ScanOptions {
    hash: false,
    jobs: Some(1),
};

/// A raw artifact: lay out its entry, parse its header through a
/// [`raw::HeadTee`], lay out its SBOM's entry (sized with a placeholder
/// digest of the same length as the real one), claim the disk space, and
/// return the job that writes them.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the planner's state, passed apart to borrow it apart"
)]
fn plan_raw<R: Read + Send + 'static>(
    tw: &mut TarWriter,
    heads: &mut raw::ChunkPool,
    allocate: &mut Allocation,
    out: &raw::Output,
    mut opened: Opened<'_>,
    source: R,
    index: usize,
    ctx: &PlanContext<'_>,
    shared: &raw::Shared<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<raw::RawJob, Error> {
    let path = opened.input.source.clone();
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let tar_err = |source| Error::Tar {
        path: path.clone(),
        source,
    };
    let (entry, header) = tw
        .lay_out(&opened.entry_name, opened.len)
        .map_err(tar_err)?;
    let skew = usize::try_from(entry.data_offset % directio::BUFFER_ALIGN as u64).unwrap_or(0);
    let mut tee = raw::HeadTee {
        inner: source,
        head: heads
            .get(&shared.abort, raw::stopped_by_failure)
            .map_err(io)?,
        skew,
        kept: 0,
        spilled: None,
        out: &out.buffered,
        data_offset: entry.data_offset,
        progress,
    };
    let file_name = opened.file_name();
    let facts = crate::inspect::inspect_reader(
        &mut tee,
        opened.len,
        &file_name,
        Some(&mut opened.random_access),
        &PARSE_ONLY,
        ctx.limits,
        &mut |_| {},
    )
    .map_err(io)?;
    let raw::HeadTee {
        inner: source,
        head,
        kept,
        spilled,
        ..
    } = tee;
    let (head, hasher) = match spilled {
        Some(hasher) => {
            heads.put(head);
            // The planner wrote the first bytes itself; the header goes
            // with them.
            out.buffered
                .write_all_at(&header, entry.header_offset)
                .map_err(io)?;
            (None, hasher)
        }
        None => (
            Some(raw::Head {
                chunk: head,
                skew,
                len: kept,
                back: heads.back(),
            }),
            Hasher::new(),
        ),
    };
    let mut facts = opened.take_facts(facts)?;
    facts.sha256 = Some(Sha256Digest([0; 32]));
    let placeholder = raw::render_sbom(&facts, ctx.info).map_err(|source| Error::Sbom {
        path: path.clone(),
        source,
    })?;
    let (sbom, sbom_header) = tw
        .lay_out(&opened.sbom_name, placeholder.len() as u64)
        .map_err(tar_err)?;
    allocate
        .up_to(&out.buffered, sbom.end_offset())
        .map_err(io)?;
    Ok(raw::RawJob {
        index,
        path: path.clone(),
        entry_name: opened.entry_name,
        source: Box::new(source),
        head,
        header,
        hasher,
        data_offset: entry.data_offset,
        len: opened.len,
        facts,
        sbom: raw::SbomSlot {
            name: opened.sbom_name,
            header: sbom_header,
            size: sbom.size,
            info: *ctx.info,
        },
    })
}

/// A zstd artifact, packed here: its stored size is known only once it is
/// compressed, so nothing after it can be laid out before. The encoder
/// itself runs on `zstd_workers()` threads.
fn write_zstd<R: Read>(
    tw: &mut TarWriter,
    stream: &mut Stream,
    mut opened: Opened<'_>,
    source: R,
    level: i32,
    ctx: &PlanContext<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<raw::RawDone, Error> {
    let path = opened.input.source.clone();
    let len = opened.len;
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let tar_err = |source| Error::Tar {
        path: path.clone(),
        source,
    };
    let open = tw.begin_entry(&opened.entry_name).map_err(tar_err)?;
    let file_name = opened.file_name();
    let Stream { pool, flusher, .. } = stream;
    let mut sink = Counting {
        inner: tw.data(),
        written: 0,
        hasher: Hasher::new(),
    };
    let mut enc = zstd::stream::write::Encoder::new(&mut sink, level).map_err(io)?;
    enc.multithread(zstd_workers()).map_err(io)?;
    enc.include_checksum(true).map_err(io)?;
    enc.set_pledged_src_size(Some(len)).map_err(io)?;
    let (facts, read, sha256, enc) = run_inspector(
        source,
        enc,
        pool,
        flusher,
        len,
        &file_name,
        &mut opened.random_access,
        &PARSE_ONLY,
        ctx.limits,
        progress,
    )
    .map_err(io)?;
    enc.finish().map_err(io)?;
    let stored_size = sink.written;
    let stored_sha256 = sink.hasher.finish();
    if read != len {
        return Err(Error::InputChanged {
            path,
            expected: len,
            actual: read,
        });
    }
    let mut facts = opened.take_facts(facts)?;
    tw.finish_entry(open, stored_size).map_err(tar_err)?;
    // The SBOM names the artifact by the digest the pipeline computed
    // (docs/bundle-format.md: each per-file SBOM names its artifact's SHA-256).
    facts.sha256 = Some(sha256);
    let sbom = raw::render_sbom(&facts, ctx.info).map_err(|source| Error::Sbom {
        path: path.clone(),
        source,
    })?;
    tw.add_bytes(&opened.sbom_name, &sbom).map_err(tar_err)?;
    Ok(raw::RawDone {
        artifact: ManifestEntry {
            path: opened.entry_name,
            role: Role::Artifact,
            size: len,
            sha256,
            encoding: Encoding::Zstd,
            stored_size,
            stored_sha256: Some(stored_sha256),
        },
        sbom: small_entry(opened.sbom_name, Role::Sbom, &sbom),
    })
}

/// Inspect `source` while a second thread writes every byte of it into
/// `sink`; returns the facts, the bytes read, their SHA-256 and the sink.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the arguments are the inspector's own"
)]
fn run_inspector<R: Read, W: Write + Send>(
    source: R,
    sink: W,
    pool: &mut BufferPool,
    flusher: &mut FlushTrigger,
    len: u64,
    name: &str,
    random_access: &mut File,
    options: &ScanOptions,
    limits: &Limits,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(ModelFacts, u64, Sha256Digest, W)> {
    let (full_tx, full_rx) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || write_chunks(sink, full_rx, empty_tx, flusher));
        let mut tee = Tee {
            inner: source,
            hasher: Hasher::new(),
            pipe: Pipe {
                full: full_tx,
                empty: empty_rx,
                pool,
            },
            progress,
        };
        let facts = crate::inspect::inspect_reader(
            &mut tee,
            len,
            name,
            Some(random_access),
            options,
            limits,
            &mut |_| {},
        )
        .and_then(|facts| tee.drain().map(|()| facts));
        let Tee { hasher, pipe, .. } = tee;
        let Pipe { full, empty, pool } = pipe;
        // Closing the channel ends the writer's loop.
        drop(full);
        let sink = writer
            .join()
            .map_err(|_| io::Error::other("bundle writer thread panicked"));
        // Every buffer back into the pool; one lost on an error path is
        // forgotten, so the count stays true.
        pool.spare.extend(empty.try_iter());
        pool.allocated = pool.spare.len();
        // The writer's own error first: the reader only saw a closed channel.
        let sink = sink??;
        let facts = facts?;
        let read = hasher.bytes();
        Ok((facts, read, hasher.finish(), sink))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Pack options for tests: fixed time, the given inputs.
    pub(crate) fn options(
        inputs: Vec<PathBuf>,
        output: PathBuf,
        compress: Compression,
    ) -> PackOptions<'static> {
        PackOptions {
            inputs,
            output,
            name: "tiny".into(),
            channel: "stable".into(),
            sequence: None,
            previous: None,
            expires: Some(jiff::SignedDuration::from_hours(24 * 30)),
            compress,
            created: Some(jiff::Timestamp::UNIX_EPOCH),
            first_link: None,
            limits: Limits::default(),
            jobs: None,
        }
    }

    pub(crate) fn pack_test(o: &PackOptions<'_>) -> Result<PackSummary, Error> {
        pack(o, &mut |_| {})
    }

    /// The real inspector, through the public entry point.
    #[test]
    fn pack_with_real_inspect_reader() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("x.safetensors");
        std::fs::write(&file, b"not really safetensors")?;
        let summary = pack(
            &options(vec![file], dir.path().join("b.lbom"), Compression::None),
            &mut |_| {},
        )?;
        let entry = summary.manifest.entries.first().ok_or("artifact")?;
        assert_eq!(entry.sha256, Sha256Digest::of(b"not really safetensors"));
        Ok(())
    }

    /// Raw artifacts of every awkward size (empty, one byte past a page,
    /// exactly one chunk, several chunks and an odd tail) and a header
    /// larger than the head buffer (a 3 MiB JSON document, which the
    /// inspector reads whole, so the planner hashes and writes past the
    /// head): packed with one, two and four workers, the bundles are the
    /// same bytes, and every artifact is stored byte for byte where its tar
    /// header says, followed by zero padding. Both on the disk the
    /// repository is on (O_DIRECT) and in the temporary folder (tmpfs
    /// here: buffered).
    #[test]
    fn raw_artifacts_are_stored_exactly_for_any_worker_count()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut x: u32 = 7;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    x.to_le_bytes()[3]
                })
                .collect()
        };
        let mut json = b"{\"note\": \"".to_vec();
        json.resize(3 * CHUNK_BYTES + 11, b'x');
        json.extend_from_slice(b"\"}\n");
        let files: Vec<(&str, Vec<u8>)> = vec![
            ("a.bin", b"small".to_vec()),
            ("b.bin", noise(3 * CHUNK_BYTES + CHUNK_BYTES / 2 + 77)),
            ("c.bin", noise(CHUNK_BYTES)),
            ("config.json", json),
            ("d.bin", noise(3 * 4096 + 1)),
            ("e.bin", Vec::new()),
            ("f.bin", noise(2 * CHUNK_BYTES - 512)),
        ];
        for dir in [
            tempfile::tempdir()?,
            tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR"))?,
        ] {
            let input = dir.path().join("in");
            std::fs::create_dir(&input)?;
            for (name, bytes) in &files {
                std::fs::write(input.join(name), bytes)?;
            }
            let mut bundles = Vec::new();
            for jobs in [1, 2, 4] {
                let out = dir.path().join(format!("b{jobs}.lbom"));
                let mut o = options(vec![input.clone()], out.clone(), Compression::None);
                o.jobs = Some(jobs);
                pack_test(&o)?;
                bundles.push(std::fs::read(&out)?);
            }
            let bundle = bundles.first().ok_or("bundle")?;
            for other in &bundles {
                assert!(other == bundle, "bundles differ between worker counts");
            }
            let layout = super::super::tar::walk(
                &mut std::io::Cursor::new(bundle),
                bundle.len() as u64,
                &super::super::ReadLimits::default(),
            )?;
            for (name, bytes) in &files {
                let entry = layout
                    .entries
                    .iter()
                    .find(|e| e.name.as_str() == format!("artifacts/{name}"))
                    .ok_or("artifact entry")?;
                let start = usize::try_from(entry.data_offset)?;
                let end = start + bytes.len();
                let padded_end =
                    usize::try_from(entry.data_offset + super::super::tar::padded(entry.size))?;
                assert_eq!(entry.size, bytes.len() as u64, "{name}");
                assert!(
                    bundle.get(start..end) == Some(&bytes[..]),
                    "{name}: stored bytes differ"
                );
                let padding = bundle.get(end..padded_end).ok_or("padding")?;
                assert!(padding.iter().all(|b| *b == 0), "{name}: padding");
            }
        }
        Ok(())
    }

    /// docs/bundle-format.md [B18]: a file that grows, shrinks or is
    /// replaced between listing and reading is refused, not packed as
    /// whatever was read. The edits are made from the progress callback,
    /// which runs while the first file is being read.
    #[test]
    fn an_input_changed_while_read_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        use std::io::Write;
        type Edit = fn(&Path) -> std::io::Result<()>;
        let edits: [(&str, Edit); 3] = [
            ("grown", |root| {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(root.join("a.bin"))?
                    .write_all(b"more")
            }),
            ("shrunk", |root| {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(root.join("a.bin"))?
                    .set_len(10)
            }),
            ("replaced", |root| {
                std::fs::write(root.join("new"), b"other bytes")?;
                std::fs::rename(root.join("new"), root.join("b.bin"))
            }),
        ];
        for (what, edit) in edits {
            let dir = tempfile::tempdir()?;
            let root = dir.path().join("in");
            std::fs::create_dir(&root)?;
            std::fs::write(root.join("a.bin"), vec![7u8; 3 * CHUNK_BYTES])?;
            std::fs::write(root.join("b.bin"), b"listed bytes")?;
            let out = dir.path().join("b.lbom");
            let mut done = false;
            let mut failed = None;
            let result = pack(
                &options(vec![root.clone()], out.clone(), Compression::None),
                &mut |_| {
                    if !done {
                        done = true;
                        failed = edit(&root).err();
                    }
                },
            );
            assert!(failed.is_none(), "{what}: {failed:?}");
            assert!(done, "{what}: progress never ran");
            match (what, &result) {
                ("replaced", Err(Error::UnsafeInput { reason, .. })) => {
                    assert!(matches!(reason, UnsafeInput::Replaced), "{result:?}");
                }
                ("grown" | "shrunk", Err(Error::InputChanged { .. })) => {}
                _ => return Err(format!("{what}: {result:?}").into()),
            }
            // Nothing is left under the output name.
            assert!(!out.exists(), "{what}: output left behind");
        }
        Ok(())
    }

    #[test]
    fn compression_parses() {
        assert_eq!("auto".parse(), Ok(Compression::Auto));
        assert_eq!("zstd:7".parse(), Ok(Compression::Zstd(7)));
        assert!("zstd:0".parse::<Compression>().is_err());
        assert!("gzip".parse::<Compression>().is_err());
    }

    #[test]
    fn auto_skips_incompressible_data() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..65536)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect();
        assert_eq!(decide_encoding(Compression::Auto, &noise).0, Encoding::Raw);
        assert_eq!(
            decide_encoding(Compression::Auto, &[0u8; 65536]).0,
            Encoding::Zstd
        );
    }
}
