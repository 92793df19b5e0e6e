//! lbom: make local LLM model files safe to move and to trust.
//!
//! The modules follow the pipeline a model takes:
//! [`inspect`] (format parsers) → [`describe`] (SBOM writers) → [`bundle`]
//! (pack, read) → [`sign`] (keys, DSSE chain) → [`verify`] (checks, policy)
//! → [`import`] (store, baseline). Under all of them, [`io`]: digests,
//! opening files safely, aligned buffers, the hashing tee, the background
//! writer, direct I/O and file locks.
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
pub mod class;
pub mod describe;
pub mod diff;
pub mod envelope;
pub mod import;
pub mod inspect;
pub mod io;
pub mod limits;
pub mod parts;
pub mod progress;
pub mod registry;
pub mod safe;
pub mod sign;
pub mod verify;

pub use class::Class;

/// The tool name written into every SBOM and report.
pub const TOOL_NAME: &str = "lbom";
/// The tool version written into every SBOM and report.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The class of `err` when it is one of the library's errors; `None` for
/// any other error (the caller looks further down the chain of causes).
pub fn class_of(err: &(dyn std::error::Error + 'static)) -> Option<Class> {
    if let Some(e) = err.downcast_ref::<crate::bundle::Error>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::import::StoreError>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::import::LoadError>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::verify::policy::PolicyError>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::sign::Error>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::describe::Error>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::inspect::Error>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::envelope::Error>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::diff::Error>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::registry::RegistryError>() {
        return Some(e.class());
    }
    if let Some(e) = err.downcast_ref::<crate::parts::Error>() {
        return Some(e.class());
    }
    if err.downcast_ref::<std::io::Error>().is_some() {
        return Some(Class::Io);
    }
    None
}
