//! lbom: make local LLM model files safe to move and to trust.
//!
//! This page is the whole public API: what a program embedding lbom needs,
//! re-exported at the crate root. The modules behind it are the crate's own
//! (docs/architecture.md has the module map; "The public API" there says
//! how the facade is kept small and how tests reach the rest).
//!
//! - **Scan** a model file or folder into facts: [`scan`] (files and
//!   folders, in parallel) or [`inspect_path`] (one file), with
//!   [`ScanOptions`] and [`Limits`]; each model is a [`ModelFacts`] with its
//!   [`Finding`]s.
//! - **Describe** facts as an SBOM or report: [`write_document`] in a
//!   [`DocumentFormat`] (CycloneDX, SPDX, SARIF, JSON, table, model card),
//!   stamped with a [`DocumentInfo`].
//! - **Pack** models into a bundle: [`pack`] with [`PackOptions`] (signed at
//!   once with a [`FirstLink`]); **sign** a bundle with [`sign`] and a
//!   [`SigningKey`] ([`keygen`] makes one).
//! - **Verify** a bundle against a [`Policy`]: [`verify`] gives a
//!   [`Report`] of every check and, when all passed, what was [`Verified`];
//!   [`read_info`] reads what a bundle claims without trusting it.
//! - **Import** into a model store: [`import`] with [`ImportOptions`], then
//!   [`audit`], [`rollback`], [`prune`] and [`history`] on the [`Store`].
//! - **Diff** two sides (bundles, store versions, scans): [`load_side`],
//!   [`diff`], rendered by [`render_text`] or [`render_markdown`].
//!
//! Every error has a [`Class`] (its exit code at the CLI): [`class_of`]
//! finds it for any error of the library. Text from a model or a bundle is
//! untrusted: print it only through [`TextOut`] and the JSON writers here
//! (docs/threat-model.md, G13).
//!
//! ```
//! use lbom::{Limits, ScanOptions, inspect_path};
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

/// Declares the crate's modules: `pub(crate)`, so the facade below is the
/// whole public API, and `pub` with the `internals` feature, the one route
/// by which the integration tests, the fuzz targets and the benchmarks reach
/// what is not in the facade (docs/architecture.md, "The public API"). A new
/// module is one `mod name;` line in the list below.
macro_rules! modules {
    ($($(#[$attr:meta])* mod $name:ident;)*) => {$(
        $(#[$attr])*
        #[cfg(feature = "internals")]
        #[allow(missing_docs)]
        pub mod $name;
        $(#[$attr])*
        #[cfg(not(feature = "internals"))]
        pub(crate) mod $name;
    )*};
}

modules! {
    mod bundle;
    mod class;
    mod describe;
    mod diff;
    mod envelope;
    mod import;
    mod inspect;
    mod io;
    mod limits;
    mod parts;
    mod progress;
    mod registry;
    mod safe;
    mod sign;
    mod verify;
}

// ---- The facade: each item is listed in docs/architecture.md ("The public
// API"), and tests/architecture.rs holds the two lists together. ----------

// Scan a model into facts.
/// Everything a scan says about a model (docs/scan-report.md).
pub use inspect::facts;
pub use inspect::{
    Error as ScanError, Finding, Format, ModelFacts, NoProgress, Progress, ScanOptions, Severity,
    inspect_path,
};
// The function, not its module of the same name (as `pack`, `audit`,
// `prune` and `rollback` below).
pub use inspect::scan::scan;
pub use limits::Limits;

// Describe facts as SBOMs and reports.
pub use describe::{
    DocumentFormat, DocumentInfo, Error as DocumentError,
    cyclonedx::SpecVersion as CycloneDxVersion, hf_readme::HfReadmeOptions, write_document,
};

// Pack, sign, read a bundle.
/// The signed documents of a bundle: its manifest (docs/bundle-format.md).
pub use bundle::manifest;
pub use bundle::{
    BundleInfo, Caps, Compression, Error as BundleError, FirstLink, PackOptions, PackSummary,
    ReadLimits, SignOptions, Signed, pack::pack, previous::name_and_channel, read_channel,
    read_info, read_manifest, roles::check_signing_role, sign,
};
pub use envelope::{Error as EnvelopeError, KeyId, PublicKey, is_demo_key};
pub use io::digest::Sha256Digest;
pub use sign::{Error as KeyError, SigningKey, keygen};

// Verify a bundle against a policy.
pub use verify::{
    ArtifactSink, ChannelState, Check, CheckName, Failure, HashOnly, HashWithBase, Outcome, Policy,
    Report, Signer, Verified, VerifyContext, VerifyDocument,
    policy::PolicyError,
    preview::{
        PreviewError, StationRefusal, default_policy_refusals, default_policy_refusals_in_parts,
    },
    verify,
};

/// The trust policy (docs/policy.md): its rules, notes and `policy init`.
pub use verify::policy;

// The model store.
pub use import::{
    AuditDocument, AuditReport, ChannelAudit, Committed, HistoryAction, HistoryEntry,
    ImportDocument, ImportOptions, ImportOutcome, LoadError, LockedStore, Problem, ProblemKind,
    Pruned, RolledBack, Store, StoreError, StoreErrorKind, VersionAudit, audit::audit, history,
    import, load_side, load_side_against, prune::prune, rollback::rollback,
};

/// What a store records of each version (docs/store.md), as
/// [`Store`](crate::Store)'s methods return it.
pub mod store {
    pub use crate::import::record::{ImportRecord, StoredFile};
    pub use crate::import::{Baseline, ImportInfo};
}

// Drift between two sides.
pub use diff::{
    DriftClass, DriftReport, Error as DiffError, Side, diff, render_markdown, render_text,
};

/// The parts of a [`DriftReport`](crate::DriftReport) (docs/drift.md), to read a report by its
/// kinds of change rather than as text.
pub mod drift {
    pub use crate::diff::{
        Capped, Change, FieldDelta, FileDrift, FileRecord, FindingRef, KeyChange, KeyDelta,
        KeyValue, ModelDrift, TypeDelta, WeightChange,
    };
}

// Split media: cut a bundle into a signed part set, check, repair and join
// it; verify and import read a part set folder as the bundle it holds.
/// Part sets of split media (docs/bundle-format.md, section 13).
pub mod split_media {
    pub use crate::parts::{
        Error, MediaProgress, NoMediaProgress, PartIndex, PartState, PartStatus, PartsReport,
        SetVerdict, SplitOptions, SplitOutcome, join, join_with, pack_split, pack_split_with,
        parse_size, repair, repair_with, split, split_with, verify_parts, verify_parts_with,
    };
}
pub use verify::source::{is_part_set, peek_manifest};

// What verify and import read: a file, a part set over several folders
// (media), or a named source of bytes (a registry's blobs).
pub use verify::{BundleInput, InputError};

/// The last hop to a fleet: stored versions pushed to and pulled from an OCI
/// registry as ModelPack artifacts with their evidence (docs/registry.md).
pub mod oci {
    pub use crate::registry::{
        ClientOptions, Exported, Fetched, Pushed, Reference, RegistryError, Target, export_layout,
        pull, push, verify_remote,
    };
}

// How much a command will read, for progress bars.
pub use progress::{audit_bytes, file_bytes, process_bytes_read, tree_bytes};

// Untrusted text out.
pub use safe::{TextOut, json_document, visible, write_json};

pub use class::Class;

/// The README's library example runs as a doc test (its shell blocks are
/// run by tests/readme.rs and tests/readme_journeys.rs).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeLibraryExample;

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
    if let Some(e) = err.downcast_ref::<crate::verify::InputError>() {
        return Some(e.class());
    }
    if err.downcast_ref::<std::io::Error>().is_some() {
        return Some(Class::Io);
    }
    None
}
