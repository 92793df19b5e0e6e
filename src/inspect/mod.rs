//! Model file → [`ModelFacts`]: read-only, bounded, never loads tensor data.
//!
//! The format is sniffed from magic bytes; the file name only decides whether
//! a mismatch is worth a finding. Each file is read once: the parser reads the
//! header through a buffer over the hashing tee (`crate::io::tee`), and the
//! rest of the file is then drained through the same hasher.
//!
//! Folder scans ([`scan`]) add what a Hugging Face folder says about its
//! models ([`hf`]) and group split GGUF and sharded safetensors into one
//! model each ([`group`]).

pub mod card;
pub mod delivery;
pub mod facts;
pub mod gguf;
pub mod group;
pub mod hf;
pub mod hidden;
pub(crate) mod hub_id;
pub(crate) mod keys;
pub mod numpy;
pub mod pickle;
pub mod reference;
pub mod safetensors;
pub mod scan;
pub mod side;
pub mod side_format;
pub(crate) mod strict_json;
pub mod template;
pub mod walk;

pub use facts::{Finding, Format, ModelFacts, Severity};
pub use scan::{NoProgress, Progress, scan};

use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use crate::io::digest::HEADER_BUFFER_BYTES;
use crate::io::tee::HashingTee;
use crate::limits::Limits;

/// Errors that stop inspection of a path. Damaged *content* is never an
/// error: it becomes a [`Finding`] in the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// A path named on the command line is not a regular file or folder.
    #[error("{path}: not a regular file or folder")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// More files than `Limits::max_files` below the given paths.
    #[error("{path}: more than {limit} files below this folder")]
    TooManyFiles {
        /// The folder.
        path: PathBuf,
        /// The cap.
        limit: u64,
    },
    /// Nothing to scan below the given paths.
    #[error("{path}: no model files found")]
    NoModelFiles {
        /// The path.
        path: PathBuf,
    },
}

impl Error {
    /// The class of this error (its exit code at the CLI).
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self {
            Error::Io { .. } | Error::NotAFile { .. } => Class::Io,
            Error::TooManyFiles { .. } => Class::Malformed,
            Error::NoModelFiles { .. } => Class::Usage,
        }
    }
}

/// Options of one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Compute SHA-256 of every file (`--no-hash` turns it off).
    pub hash: bool,
    /// Worker threads for hashing files in parallel; `None`: one per core.
    pub jobs: Option<usize>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            hash: true,
            jobs: None,
        }
    }
}

/// A reader that can also seek: formats with a central directory (zip) need
/// one, on a second handle, besides the sequential stream that is hashed.
pub trait SeekRead: Read + Seek {}
impl<T: Read + Seek> SeekRead for T {}

/// What the first bytes say a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// GGUF magic.
    Gguf,
    /// A plausible safetensors header.
    Safetensors,
    /// A pickle stream.
    Pickle,
    /// A zip archive (PyTorch's `torch.save` format when it holds `data.pkl`).
    Zip,
    /// A NumPy `.npy` array.
    Numpy,
    /// A 7z archive.
    SevenZip,
    /// A compressed stream (zlib, gzip, bzip2, lzma, xz): a pickle when its
    /// decompressed bytes start like one (joblib).
    Compressed(pickle::Compression),
    /// None of the above.
    Unknown,
}

/// The magic of 7z archives.
pub const SEVEN_ZIP_MAGIC: &[u8] = b"7z\xbc\xaf\x27\x1c";

/// Decide the format from the first bytes (at least 16 when the file has them).
pub fn sniff(head: &[u8], file_len: u64) -> Sniffed {
    if gguf::is_gguf_magic(head) {
        Sniffed::Gguf
    } else if pickle::is_zip(head) {
        Sniffed::Zip
    } else if safetensors::looks_like_safetensors(head, file_len) {
        Sniffed::Safetensors
    } else if pickle::is_pickle_start(head) {
        Sniffed::Pickle
    } else if numpy::is_npy(head) {
        Sniffed::Numpy
    } else if head.starts_with(SEVEN_ZIP_MAGIC) {
        Sniffed::SevenZip
    } else if let Some(kind) = pickle::sniff_compression(head) {
        Sniffed::Compressed(kind)
    } else {
        Sniffed::Unknown
    }
}

/// The format a file name claims, from its extension.
pub fn claimed_format(file_name: &str) -> Option<Format> {
    let ext = Path::new(file_name)
        .extension()?
        .to_str()?
        .to_ascii_lowercase();
    match ext.as_str() {
        "gguf" => Some(Format::Gguf),
        "safetensors" => Some(Format::Safetensors),
        // `.bin` is pickle or zip for PyTorch, but also raw tensors for other
        // tools: claimed as pickle only for the mismatch rule below. joblib
        // files are pickles, compressed or not.
        "pt" | "pth" | "ckpt" | "pkl" | "pickle" | "bin" | "joblib" => Some(Format::Pickle),
        "npy" => Some(Format::Numpy),
        // NumPy's .npz and plain zips may hold pickles (torch zips, object arrays).
        "npz" | "zip" => Some(Format::PytorchZip),
        "7z" => Some(Format::SevenZip),
        _ => None,
    }
}

/// Whether a folder walk should inspect this file.
pub fn is_model_file_name(file_name: &str) -> bool {
    claimed_format(file_name).is_some()
}

/// The parser for bytes sniffed as `sniffed` under `file_name`. Bytes that
/// match no format, under a name that claims safetensors or pickle, go to
/// the claimed format's parser: its precise structural finding (a header
/// length beyond the file, an unknown opcode) says more than "not a model".
/// GGUF has a magic, so bytes without it are not GGUF: `unknown`, and the
/// name a mismatch (docs/findings.md, "from the bytes, never the name").
/// `.bin` claims nothing specific enough for a fallback.
fn parser_for(sniffed: Sniffed, file_name: &str) -> Sniffed {
    match (sniffed, claimed_format(file_name)) {
        (Sniffed::Unknown, Some(Format::Safetensors)) => Sniffed::Safetensors,
        (Sniffed::Unknown, Some(Format::Pickle)) if !is_bin(file_name) => Sniffed::Pickle,
        (s, _) => s,
    }
}

/// The file changed size while it was read: the digest describes bytes
/// nobody else will see.
fn changed_while_read(file_len: u64, read: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("file changed while being read: expected {file_len} bytes, read {read}"),
    )
}

/// The facts of a container lbom recognised but could not look into: its
/// format and an error finding that says why.
fn not_scanned(format: Format, code: &'static str, why: &'static str) -> ModelFacts {
    let mut facts = ModelFacts {
        format,
        ..ModelFacts::default()
    };
    facts.push(Finding::error(code, why));
    facts
}

/// Inspect one model file from any sequential reader, reading it exactly once.
///
/// The format parser reads the header through a buffer over the hashing
/// tee (`crate::io::tee`); the remainder is then drained through the same
/// hasher. `pack` passes a reader that also copies every byte into the
/// bundle, so hashing, SBOM and packing share one read.
///
/// `file_len` is the length the caller expects (the file's size); the
/// parsers bound every allocation by it. `random_access` is a second handle
/// on the same file for zip archives, whose directory is at the end;
/// without it a zip is hashed but its pickles are not scanned (an error
/// finding says so). `on_progress` is called with the length of each chunk.
pub fn inspect_reader<R: Read>(
    reader: R,
    file_len: u64,
    file_name: &str,
    random_access: Option<&mut dyn SeekRead>,
    options: &ScanOptions,
    limits: &Limits,
    on_progress: &mut dyn FnMut(u64),
) -> io::Result<ModelFacts> {
    let counting = ProgressReader {
        inner: reader,
        on_progress,
    };
    let mut buffered =
        BufReader::with_capacity(HEADER_BUFFER_BYTES, HashingTee::new(counting, options.hash));
    let head = fill_at_least(&mut buffered, 16)?;
    let sniffed = sniff(&head, file_len);
    let parse_as = parser_for(sniffed, file_name);
    let mut random_access = random_access;
    let mut unclaimed = Vec::new();
    let mut facts = match parse_as {
        Sniffed::Gguf => {
            let (facts, ranges) =
                gguf::inspect_with_unclaimed(&mut buffered, file_len, file_name, limits)?;
            unclaimed = ranges;
            facts
        }
        Sniffed::Safetensors => safetensors::inspect(&mut buffered, file_len, file_name, limits)?,
        Sniffed::Pickle => pickle::inspect(&mut buffered, file_len, file_name, limits)?,
        Sniffed::Zip => match random_access.as_deref_mut() {
            Some(seekable) => {
                seekable.rewind()?;
                pickle::inspect_zip(&mut &mut *seekable, file_len, file_name, limits)?
            }
            None => not_scanned(
                Format::PytorchZip,
                "pickle.zip_not_scanned",
                "zip archive read as a stream: its pickles were not scanned",
            ),
        },
        Sniffed::Numpy => numpy::inspect(&mut buffered, file_len, file_name, limits)?,
        Sniffed::SevenZip => not_scanned(
            Format::SevenZip,
            "pickle.archive_not_scanned",
            "7z archive: lbom does not read 7z, so what it holds (pickles, torch checkpoints) was not scanned; extract it and scan the files",
        ),
        Sniffed::Compressed(kind) => {
            pickle::inspect_compressed(&mut buffered, kind, file_len, file_name, limits)?
                .unwrap_or_default()
        }
        Sniffed::Unknown => ModelFacts {
            format: side_file_format(&head, file_len, file_name, &mut buffered)?,
            ..ModelFacts::default()
        },
    };
    if !unclaimed.is_empty() {
        // Bytes no tensor claims: read where the stream is (it is read to
        // the end for the digest anyway), or by seeking when not hashing.
        let pos = buffered
            .get_ref()
            .position()
            .saturating_sub(buffered.buffer().len() as u64);
        let seek = match random_access.as_mut() {
            Some(r) if !options.hash => Some(&mut **r as &mut dyn SeekRead),
            _ => None,
        };
        let found = hidden::read_ranges(&unclaimed, &mut buffered, pos, seek)?;
        let outcome = hidden::search(&found);
        for f in hidden::findings(
            &found,
            outcome,
            "gguf.polyglot",
            "gguf.unclaimed_unscanned",
            "gguf bytes that no tensor claims",
        ) {
            facts.push(f);
        }
    }
    let fell_back = parse_as != sniffed;
    if !(fell_back && facts.worst_severity() == Some(Severity::Error)) {
        check_claimed_format(file_name, facts.format, &mut facts);
    }

    // Whatever the parser left in the buffer was already hashed below it;
    // drop the buffer and hash the rest straight from the source.
    let (read, digest) = buffered.into_inner().drain(|_| {})?;
    if options.hash && read != file_len {
        return Err(changed_while_read(file_len, read));
    }
    facts.model_filename = file_name.to_owned();
    facts.file_size_bytes = file_len;
    facts.sha256 = digest;
    Ok(facts)
}

/// [`inspect_reader`] over bytes in memory with the default options and
/// limits: how unit tests describe a file.
#[cfg(test)]
pub(crate) fn inspect_bytes(bytes: &[u8], name: &str) -> io::Result<ModelFacts> {
    let options = ScanOptions::default();
    let limits = Limits::default();
    inspect_reader(bytes, bytes.len() as u64, name, None, &options, &limits, &mut |_| {})
}

/// Open and inspect one file on disk. `path` may be a symlink (Hub caches):
/// the report names the link, the bytes are the target's.
pub fn inspect_path(
    path: &Path,
    options: &ScanOptions,
    limits: &Limits,
) -> Result<ModelFacts, Error> {
    inspect_file(path, options, limits, &mut |_| {})
}

/// [`inspect_path`] reporting the length of each chunk read to `on_progress`.
pub fn inspect_file(
    path: &Path,
    options: &ScanOptions,
    limits: &Limits,
    on_progress: &mut dyn FnMut(u64),
) -> Result<ModelFacts, Error> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let (file, len) = crate::io::open::open_regular(path).map_err(io_err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The zip reader needs its own handle to seek; the stream stays sequential.
    let mut second = None;
    let mut first_bytes = [0u8; 4];
    // GGUF: without hashing, the bytes no tensor claims are read by seeking
    // rather than by reading the tensor data.
    let wants_seek =
        |head: &[u8]| pickle::is_zip(head) || (!options.hash && gguf::is_gguf_magic(head));
    if read_prefix(&file, &mut first_bytes).map_err(io_err)? && wants_seek(&first_bytes) {
        second = Some(crate::io::open::open_regular(path).map_err(io_err)?.0);
    }
    let random_access = second.as_mut().map(|f| f as &mut dyn SeekRead);
    let mut facts = inspect_reader(
        file,
        len,
        &name,
        random_access,
        options,
        limits,
        on_progress,
    )
    .map_err(io_err)?;
    facts.model_path = path.display().to_string();
    Ok(facts)
}

/// `pread` the first bytes without moving the file position.
fn read_prefix(file: &std::fs::File, buf: &mut [u8]) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match file.read_at(rest, filled as u64)? {
            0 => return Ok(false),
            n => filled += n,
        }
    }
    Ok(true)
}

/// Peek at least `want` bytes (fewer at end of file) without consuming them.
fn fill_at_least<R: Read>(reader: &mut BufReader<R>, want: usize) -> io::Result<Vec<u8>> {
    // A BufReader refills only when empty; one fill of a 1 MiB buffer from
    // a file or pipe gives enough unless the source returns short reads,
    // in which case sniffing on fewer bytes only makes the file "unknown".
    let buf = reader.fill_buf()?;
    Ok(buf.get(..want.min(buf.len())).unwrap_or_default().to_vec())
}

/// The format of a file that is no model: one JSON document (a model
/// folder's config, tokenizer or index file), or one of the side-file
/// formats of [`side_format`], decided from the bytes. JSON is parsed
/// without keeping anything (serde_json's `IgnoredAny`, skipped with an
/// explicit stack, not recursion), so `policy.formats` can allow JSON side
/// files and nothing that merely has a `.json` name. Every byte read here
/// is also shown to the side-file sniffer, and passes through the hasher
/// like any parser's reads; files over [`side_format::MAX_SIDE_SNIFF_BYTES`]
/// are `unknown` unread.
fn side_file_format<R: Read>(
    head: &[u8],
    file_len: u64,
    file_name: &str,
    reader: &mut R,
) -> io::Result<Format> {
    use serde::Deserialize as _;
    if file_len > side_format::MAX_SIDE_SNIFF_BYTES {
        return Ok(Format::Unknown);
    }
    let mut sniffer = side_format::SideSniffer::new(file_len);
    let mut observed = Observed {
        inner: reader.take(file_len),
        sniffer: &mut sniffer,
    };
    let opens_json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['));
    if opens_json {
        let mut de = serde_json::Deserializer::from_reader(&mut observed);
        if serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok() {
            return Ok(Format::Json);
        }
    }
    io::copy(&mut observed, &mut io::sink())?;
    Ok(sniffer.verdict(file_name))
}

/// Shows every byte read to a [`side_format::SideSniffer`].
struct Observed<'a, R> {
    inner: R,
    sniffer: &'a mut side_format::SideSniffer,
}

impl<R: Read> Read for Observed<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sniffer.feed(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

fn is_bin(file_name: &str) -> bool {
    file_name.to_ascii_lowercase().ends_with(".bin")
}

/// A file whose name claims a model format its bytes do not have is an
/// error: it is either damaged or disguised (a pickle named `.safetensors`
/// runs code in any loader that trusts the name).
fn check_claimed_format(file_name: &str, actual: Format, facts: &mut ModelFacts) {
    let Some(claimed) = claimed_format(file_name) else {
        return;
    };
    let consistent = match claimed {
        // `.bin` and friends may be pickle or torch zip; `.bin` may also be
        // safetensors or GGUF bytes under an old name, which is not a disguise
        // of something dangerous.
        Format::Pickle => {
            actual.is_code_capable() || file_name.to_ascii_lowercase().ends_with(".bin")
        }
        other => other == actual,
    };
    if !consistent {
        facts.push(Finding::error(
            "format.name_mismatch",
            format!(
                "file name claims {} but the bytes are {}",
                claimed.as_str(),
                if actual == Format::Unknown {
                    "not a known model format"
                } else {
                    actual.as_str()
                }
            ),
        ));
    }
}

/// Reports each chunk's length as it is read.
struct ProgressReader<'a, R> {
    inner: R,
    on_progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_progress)(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_of(bytes: &[u8], name: &str) -> Result<Format, io::Error> {
        let facts = inspect_bytes(bytes, name)?;
        assert_eq!(
            facts.sha256,
            Some(crate::io::digest::Sha256Digest::of(bytes))
        );
        Ok(facts.format)
    }

    #[test]
    fn pickle_containers_are_walked_and_judged_by_their_bytes() -> Result<(), io::Error> {
        // A folder scan inspects the names that can hold pickles.
        for name in [
            "m.npy", "m.npz", "m.joblib", "m.7z", "m.zip", "m.pt", "m.bin",
        ] {
            assert!(is_model_file_name(name), "{name}");
        }
        // The bytes decide the format, whatever the name.
        assert_eq!(
            format_of(b"7z\xbc\xaf\x27\x1c\x00\x04rest", "x.txt")?,
            Format::SevenZip
        );
        assert_eq!(
            format_of(b"\x93NUMPY\x01\x00\x02\x00{}", "x")?,
            Format::Numpy
        );
        // Compressed bytes that are not a pickle are not called one.
        assert_eq!(
            format_of(b"\x1f\x8b\x08\x00 not gzip", "x")?,
            Format::Unknown
        );
        Ok(())
    }

    #[test]
    fn json_side_files_are_json_by_their_bytes_only() -> Result<(), io::Error> {
        assert_eq!(
            format_of(b"{\"model_type\": \"llama\"}\n", "config.json")?,
            Format::Json
        );
        assert_eq!(format_of(b" [1, 2, {\"a\": null}] ", "x")?, Format::Json);
        // A name is not enough; nor is a prefix of JSON, or JSON followed by
        // anything but whitespace.
        // Those that are text are text, which the sniffer saw while the
        // JSON parser read (vocab.txt begins "[PAD]").
        for not_json in [
            &b"hello"[..],
            b"{\"a\": 1",
            b"[1] [2]",
            b"",
            b"[PAD]\n[UNK]\n",
        ] {
            assert_eq!(
                format_of(not_json, "config.json")?,
                Format::Text,
                "{not_json:?}"
            );
        }
        assert_eq!(format_of(b"{}\x00", "config.json")?, Format::Unknown);
        // Deep nesting: skipped without recursion (serde_json's
        // `ignore_value` keeps its own stack), so no stack overflow; it is
        // valid JSON, and unbalanced it is not.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(format_of(deep.as_bytes(), "deep.json")?, Format::Json);
        let unbalanced = "[".repeat(100_000);
        assert_eq!(format_of(unbalanced.as_bytes(), "deep.json")?, Format::Text);
        Ok(())
    }
}
