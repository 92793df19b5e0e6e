//! Model file → [`ModelFacts`]: read-only, bounded, never loads tensor data.
//!
//! The format is sniffed from magic bytes; the name only decides whether a
//! mismatch is worth a finding. Each file is read once: the parser reads the
//! header through a [`digest::HashingReader`], and the rest of the file is
//! then drained through the same hasher.

pub mod digest;
pub mod facts;
pub mod gguf;
pub mod pickle;
pub mod safetensors;

pub use facts::{Finding, Format, ModelFacts, Severity, SplitInfo, TensorSummary, TensorTypeStat};

use std::path::{Path, PathBuf};

use crate::limits::Limits;

/// Errors that stop inspection of a path. Damaged *content* is never an
/// error: it becomes a [`Finding`] in the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A path named on the command line does not exist or is not a file or folder.
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
}

/// Options of one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Compute SHA-256 of every file (`--no-hash` turns it off).
    pub hash: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self { hash: true }
    }
}

/// Inspect one file. Placeholder until the scan orchestration lands.
pub fn inspect_path(
    path: &Path,
    _options: &ScanOptions,
    _limits: &Limits,
) -> Result<ModelFacts, Error> {
    Err(Error::NotAFile {
        path: path.to_path_buf(),
    })
}
