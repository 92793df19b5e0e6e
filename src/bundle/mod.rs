//! Transfer bundles: one deterministic POSIX tar holding artifacts, per-file
//! SBOMs, the hash manifest, an attestation and a signature chain.
//! docs/bundle-format.md is the specification; this module implements it.
//!
//! - [`pack`](pack::pack) writes a bundle (reading each input once).
//! - [`read_info`] reads one without trusting it (`lbom inspect`).
//! - [`append`] appends a signed link to the chain (`lbom sign`).
//! - [`read::open`] is the strict reader `verify` builds on.
//! - [`chain`] builds and parses the signature-chain link statements.

pub mod append;
pub mod attestation;
pub mod chain;
pub mod delta;
pub mod manifest;
pub mod marker;
pub mod pack;
pub mod path;
pub mod previous;
pub mod read;
pub mod roles;
pub mod summary;
pub mod tar;
#[cfg(test)]
mod tests;
pub mod zstd_frame;

use std::path::PathBuf;

pub use append::{SignOptions, Signed, sign};
pub use chain::LinkInfo;
pub use manifest::{Encoding, Manifest, ManifestEntry, Role};
pub use pack::{Compression, FirstLink, PackOptions, PackSummary};
#[cfg(any(test, feature = "internals"))]
pub use pack::pack;
pub use pack::pack_into_span;
pub use path::{BundlePath, PathError};
pub use read::{BundleInfo, OpenBundle, read_channel, read_info, read_manifest};
pub use read::open;

/// Entry names and identifiers of the bundle layout (docs/bundle-format.md,
/// "Layout"), in one place.
pub mod layout {
    /// Folder of artifact entries.
    pub const ARTIFACTS_DIR: &str = "artifacts";
    /// Folder of per-artifact SBOM entries.
    pub const SBOMS_DIR: &str = "sboms";
    /// Suffix of an SBOM entry after the artifact's path.
    pub const SBOM_SUFFIX: &str = ".cdx.json";
    /// Suffix of a zstd-encoded artifact entry.
    pub const ZSTD_SUFFIX: &str = ".zst";
    /// The attestation entry.
    pub const ATTESTATION: &str = "attestation.intoto.json";
    /// The manifest entry.
    pub const MANIFEST: &str = "manifest.json";
    /// Folder of chain links, named `NNNN.dsse.json` from 0001.
    pub const CHAIN_DIR: &str = "chain";
    /// Most links a chain may hold (four digits).
    pub const MAX_LINKS: u32 = 9999;
    /// `schema` of the manifest `pack` writes (format version 2).
    pub const MANIFEST_SCHEMA: &str = "urn:lbom:bundle-manifest:v2";
    /// `schema` of a version 1 manifest, which readers keep reading.
    pub const MANIFEST_SCHEMA_V1: &str = "urn:lbom:bundle-manifest:v1";
    /// What a manifest `schema` starts with; the format version follows.
    pub const MANIFEST_SCHEMA_PREFIX: &str = "urn:lbom:bundle-manifest:";
    /// SLSA `buildType` of the attestation.
    pub const BUILD_TYPE: &str = "urn:lbom:build-type:pack:v1";
    /// SLSA `builder.id` prefix, followed by the manifest's
    /// `tool.name@tool.version` (`urn:lbom:builder:lbom@0.1.0`).
    pub const BUILDER_ID_PREFIX: &str = "urn:lbom:builder:";
    /// in-toto `predicateType` of chain-link statements.
    pub const LINK_PREDICATE_TYPE: &str = "urn:lbom:predicate:chain-link:v1";
    /// in-toto Statement v1 `_type`.
    pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
    /// SLSA provenance v1 `predicateType`.
    pub const SLSA_PROVENANCE: &str = "https://slsa.dev/provenance/v1";

    /// The entry name of link `index` (1-based).
    pub fn link_name(index: u32) -> String {
        format!("{CHAIN_DIR}/{index:04}.dsse.json")
    }
}

/// Caps on what a bundle reader accepts, applied before the structure they
/// bound is built: the one place for them (docs/bundle-format.md, "Reader
/// limits", which derives the worst case of all of them together). Defaults
/// in parentheses. `pack` and `sign` refuse to write what a reader with the
/// defaults would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most artifacts (10,000): the entries before the manifest are at most
    /// twice this plus the attestation.
    pub max_artifacts: usize,
    /// Most chain links (256).
    pub max_links: usize,
    /// Largest manifest entry (16 MiB).
    pub max_manifest_bytes: u64,
    /// Largest attestation entry (8 MiB).
    pub max_attestation_bytes: u64,
    /// Largest SBOM entry (4 MiB).
    pub max_sbom_bytes: u64,
    /// Largest chain link entry (16 KiB).
    pub max_link_bytes: u64,
    /// Most bytes of all entry names' fold keys together (8 MiB): what the
    /// collision check keeps.
    pub max_folded_name_bytes: usize,
    /// Most memory the fresh scan facts of all artifacts take together, as
    /// `ModelFacts::memory_bytes` counts it (24 MiB): what `verify`,
    /// `import` and `diff` keep of the artifacts.
    pub max_facts_bytes: u64,
}

impl ReadLimits {
    /// Most tar entries: artifacts and their SBOMs, the attestation, the
    /// manifest and the links.
    pub fn max_entries(&self) -> usize {
        self.max_artifacts
            .saturating_mul(2)
            .saturating_add(2)
            .saturating_add(self.max_links)
    }

    /// Largest `facts.json` a store reads: the facts of every artifact as
    /// one JSON array. Its size is not their memory (a string of control
    /// characters is six times longer in JSON), so this is a sanity bound
    /// on the file; the facts are parsed from it as a stream.
    pub fn max_recorded_facts_bytes(&self) -> u64 {
        self.max_facts_bytes.saturating_mul(8)
    }
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_artifacts: 10_000,
            max_links: 256,
            max_manifest_bytes: 16 << 20,
            max_attestation_bytes: 8 << 20,
            max_sbom_bytes: 4 << 20,
            max_link_bytes: 16 << 10,
            max_folded_name_bytes: 8 << 20,
            max_facts_bytes: 24 << 20,
        }
    }
}

/// Every cap a bundle must satisfy, carried alike by what writes one
/// (`pack`) and what reads one (`verify`, `import`): a bundle packed under
/// some `Caps` is accepted by a reader under the same `Caps`, so a library
/// caller cannot pack what its own verifier then refuses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caps {
    /// Caps on parsing each model file: pack's parse and the reader's
    /// re-scan must see the same facts, so they use the same caps.
    pub scan: crate::limits::Limits,
    /// Caps on the bundle itself: entry counts and sizes.
    pub read: ReadLimits,
}

/// Errors packing, reading or appending to a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The tar structure is malformed or refused.
    #[error("{path}")]
    Tar {
        /// The bundle.
        path: PathBuf,
        /// Why.
        #[source]
        source: tar::TarError,
    },
    /// The bundle ends with an incomplete entry, and the marker of an
    /// interrupted `lbom sign` names where it starts (`marker`). `sign`
    /// repairs it; readers refuse it.
    #[error(
        "{path}: an interrupted `lbom sign` left an incomplete link at offset {offset}: run the same `lbom sign` again to finish it"
    )]
    IncompleteTail {
        /// The bundle.
        path: PathBuf,
        /// Where the incomplete tail starts.
        offset: u64,
        /// The structural error found there (not a source: the message
        /// says all a person acts on).
        damage: tar::TarError,
    },
    /// The bundle ends with an incomplete entry and no `sign` was
    /// interrupted on it: the file was cut short (a copy that did not
    /// finish). Nothing repairs it but the whole file.
    #[error(
        "{path}: the bundle is cut short: its {file_len} bytes end inside the entry at offset {offset}; copy it again from its source (lbom does not repair a truncated copy)"
    )]
    CutShort {
        /// The bundle.
        path: PathBuf,
        /// Where the incomplete entry starts.
        offset: u64,
        /// The file's length.
        file_len: u64,
        /// The structural error found there (not a source: the message
        /// says all a person acts on).
        damage: tar::TarError,
    },
    /// The file is not a bundle at all: its first block is no tar header.
    #[error("{path}: not an lbom bundle: {what}")]
    NotABundle {
        /// The file.
        path: PathBuf,
        /// What its bytes are instead, and what to do.
        what: String,
    },
    /// The entries are not in the bundle layout.
    #[error("{path}: {message}")]
    Layout {
        /// The bundle.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A JSON entry does not parse.
    #[error("{path}: entry {entry} is not valid")]
    Json {
        /// The bundle.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A chain link envelope does not decode.
    #[error("{path}: entry {entry} is not a valid DSSE envelope")]
    Envelope {
        /// The bundle.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Why.
        #[source]
        source: crate::envelope::Error,
    },
    /// An input path is refused.
    #[error("{path}: {reason}")]
    UnsafeInput {
        /// The input.
        path: PathBuf,
        /// Why.
        reason: UnsafeInput,
    },
    /// An input's name is not a canonical bundle path, or collides.
    #[error("{path}")]
    InputName {
        /// The input.
        path: PathBuf,
        /// Why.
        #[source]
        source: PathError,
    },
    /// An input changed size while it was read.
    #[error("{path}: file changed while it was read ({expected} bytes expected, {actual} read)")]
    InputChanged {
        /// The input.
        path: PathBuf,
        /// Size at open.
        expected: u64,
        /// Bytes read.
        actual: u64,
    },
    /// An SBOM rendered with its artifact's digest differs in size from the
    /// one rendered with a placeholder digest, whose size laid out the
    /// bundle (a bug in lbom: every digest-dependent field is fixed-length).
    #[error("{path}: its SBOM is {actual} bytes once hashed, not the {reserved} reserved for it")]
    SbomSizeChanged {
        /// The input.
        path: PathBuf,
        /// Bytes reserved.
        reserved: u64,
        /// Bytes rendered.
        actual: u64,
    },
    /// Inspecting an input did not hash all of it (a broken inspector).
    #[error("{path}: inspection returned without hashing the whole file")]
    InspectIncomplete {
        /// The input.
        path: PathBuf,
    },
    /// Writing an artifact's SBOM failed.
    #[error("{path}: could not write its SBOM")]
    Sbom {
        /// The input.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::describe::Error,
    },
    /// No input files.
    #[error("nothing to pack: the inputs hold no files")]
    NoInputs,
    /// The output exists.
    #[error("{path}: already exists; refusing to overwrite")]
    OutputExists {
        /// The output.
        path: PathBuf,
    },
    /// A bad option value.
    #[error("{0}")]
    Option(String),
    /// Another process holds the bundle's lock.
    #[error("{path}: another process is signing this bundle")]
    Locked {
        /// The bundle.
        path: PathBuf,
    },
    /// The base of a differential bundle is refused: not a full bundle of
    /// the channel, or its bytes are not what its manifest says.
    #[error("{path}: refused as the base: {message}")]
    Base {
        /// The base bundle.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl Error {
    /// The class of this error (its exit code at the CLI).
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self {
            Error::Io { .. }
            | Error::InputChanged { .. }
            | Error::OutputExists { .. }
            | Error::Locked { .. } => Class::Io,
            Error::Tar { source, .. } => source.class(),
            Error::IncompleteTail { .. }
            | Error::CutShort { .. }
            | Error::NotABundle { .. }
            | Error::Layout { .. }
            | Error::Json { .. }
            | Error::Envelope { .. }
            | Error::UnsafeInput { .. }
            | Error::InputName { .. }
            | Error::SbomSizeChanged { .. }
            | Error::InspectIncomplete { .. }
            | Error::Sbom { .. } => Class::Malformed,
            Error::Base { .. } => Class::Integrity,
            Error::Option(_) | Error::NoInputs => Class::Usage,
        }
    }
}

/// Why an input is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsafeInput {
    /// A symlink whose target is outside every input.
    #[error("symlink points outside the inputs")]
    SymlinkEscapes,
    /// A symlink to a folder (could loop or escape).
    #[error("symlink to a folder is not followed")]
    SymlinkToFolder,
    /// A FIFO, socket or device.
    #[error("special file ({0}) cannot be packed")]
    Special(&'static str),
    /// A name that is not UTF-8.
    #[error("file name is not valid UTF-8")]
    NotUtf8,
    /// The file was replaced between listing and opening it.
    #[error("file was replaced while packing")]
    Replaced,
    /// More files than `Limits::max_files`.
    #[error("more than {0} files below the inputs")]
    TooManyFiles(u64),
}
