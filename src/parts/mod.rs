//! Part sets: a bundle's bytes cut into parts that fit a medium, with
//! Reed–Solomon parity parts and a signed part index on every medium
//! (docs/bundle-format.md, section 13).
//!
//! The index decides only what to copy again: which parts are present,
//! missing, damaged or foreign. Trust in the bundle itself still comes from
//! its own chain, checked by `verify` and `import` over the bytes the parts
//! give back ([`reader::PartReader`]).
//!
//! - [`index`]: the typed part index and its strict, bounded parser;
//! - [`size`]: part sizes by number or by medium name;
//! - [`parity`]: the stripe geometry and the Reed–Solomon coding of stripes;
//! - [`cut`]: the writer (`lbom split`);
//! - [`pack_split`]: `pack --split`, packing straight into the parts;
//! - [`find`]: which files of the given paths belong to which part;
//! - [`check`]: `lbom verify-parts`, read-only;
//! - [`reader`]: the parts read as one bundle, repairing stripes on the fly;
//! - [`repair`]: rebuilding missing and damaged parts; `join`;
//! - [`progress`]: how far each medium is read or written, for the bars.

pub mod check;
pub mod cut;
pub mod find;
pub mod index;
pub mod pack_split;
pub mod parity;
pub mod progress;
pub mod reader;
pub mod repair;
pub mod size;

use std::path::PathBuf;

pub use check::{PartState, PartStatus, PartsReport, SetVerdict, verify_parts, verify_parts_with};
pub use progress::{MediaProgress, NoMediaProgress};
pub use cut::{SplitOptions, SplitOutcome, split, split_with};
pub use pack_split::{pack_split, pack_split_with};
#[cfg(any(test, feature = "internals"))]
pub use index::PartEntry;
pub use index::{PartIndex, Trust};
pub use reader::PartReader;
pub use repair::{join, join_with, repair, repair_with};
pub use size::parse_size;

/// Errors of part sets, each with the class its exit code follows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An option is out of range (a part size, a parity count).
    #[error("{0}")]
    Option(String),
    /// The input to `split` is not a readable bundle.
    #[error("{0}")]
    Bundle(#[from] crate::bundle::Error),
    /// An index file is not a part index of the one form of section 13.
    #[error("{}: not a valid part index: {what}", path.display())]
    MalformedIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// No index among the paths is signed by a key the policy trusts for
    /// the role it claims.
    #[error("no part index among the paths is signed by a trusted key ({what})")]
    Untrusted {
        /// What was found instead.
        what: String,
    },
    /// The paths hold no part index at all.
    #[error("no part index (*.index.dsse.json) among the paths")]
    NoIndex,
    /// The paths hold trusted indexes of different part sets, or two
    /// different signed indexes of one set.
    #[error("the paths hold {what}; give the paths of one part set")]
    Ambiguous {
        /// What they hold.
        what: String,
    },
    /// Parts are missing and too few remain to rebuild them.
    #[error(
        "part set {name}: {missing} missing, too few parts left to rebuild it; copy again: {parts}"
    )]
    Missing {
        /// The set.
        name: String,
        /// How many parts are missing.
        missing: usize,
        /// Which to copy again.
        parts: String,
    },
    /// Parts are damaged and too few remain to rebuild them; or a rebuilt
    /// part does not match its digest in the index.
    #[error("part set {name}: {what}")]
    Damaged {
        /// The set.
        name: String,
        /// What is damaged.
        what: String,
    },
    /// An output file exists already.
    #[error("{} exists already", path.display())]
    OutputExists {
        /// The file.
        path: PathBuf,
    },
}

impl Error {
    /// The class of this error (docs/bundle-format.md, section 13, "Exit
    /// classes"): a missing part is I/O, a damaged one integrity, an
    /// unsigned, untrusted or foreign index trust.
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self {
            Error::Io { .. } | Error::OutputExists { .. } | Error::Missing { .. } => Class::Io,
            Error::Option(_) | Error::NoIndex | Error::Ambiguous { .. } => Class::Usage,
            Error::Bundle(e) => e.class(),
            Error::MalformedIndex { .. } => Class::Malformed,
            Error::Untrusted { .. } => Class::Trust,
            Error::Damaged { .. } => Class::Integrity,
        }
    }
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests;
