//! lbom: make local LLM model files safe to move and to trust.
//!
//! The modules follow the pipeline a model takes:
//! [`inspect`] (format parsers) → [`describe`] (SBOM writers) → [`bundle`]
//! (pack, read) → [`sign`] (keys, DSSE chain) → [`verify`] (checks, policy)
//! → [`import`] (store, baseline).
//!
//! ```
//! use lbom::inspect::{inspect_path, ScanOptions};
//! use lbom::limits::Limits;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("not-a-model.gguf");
//! std::fs::write(&path, b"GGUF")?;
//! let facts = inspect_path(&path, &ScanOptions::default(), &Limits::default())?;
//! // A four-byte "GGUF" file is structurally damaged: an error finding, not a panic.
//! assert!(facts.findings.iter().any(|f| f.code == "gguf.truncated"));
//! # Ok(()) }
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod describe;
pub mod diff;
pub(crate) mod directio;
pub mod envelope;
pub mod error;
pub(crate) mod filelock;
pub mod import;
pub mod inspect;
pub mod limits;
pub mod progress;
pub mod sign;
pub mod verify;

pub use error::Error;

/// The tool name written into every SBOM and report.
pub const TOOL_NAME: &str = "lbom";
/// The tool version written into every SBOM and report.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
