//! Differential bundles (docs/bundle-format.md §14): the delta payload's
//! recipe (`recipe`), the content-defined chunks a writer cuts (`chunk`),
//! the decoded content of a full bundle's entries that `pack --base` reads
//! (`content`), and the rebuild of a target file from the base version's
//! files and the shipped chunks (`rebuild`).
//!
//! What goes where: `pack::delta_plan` decides, per file, what a
//! differential ships (pure, like `pack::plan`); `pack::differential`
//! writes it; `verify` and `import` rebuild through [`Rebuild`].

pub mod bundle_base;
pub mod chunk;
pub mod content;
pub mod rebuild;
pub mod recipe;

pub use bundle_base::BundleBase;
pub use rebuild::{BaseFile, BaseFiles, Rebuild};
#[cfg(any(test, feature = "internals"))]
pub use recipe::{Head, Op, OpKind, PayloadSummary, RecipeError};
pub use recipe::check_payload;

/// Suffix of a differential artifact entry: `artifacts/P.dlt`. Four bytes,
/// as `.zst`, so that whether a path is valid ([B14]) never depends on its
/// encoding.
pub const DELTA_SUFFIX: &str = ".dlt";
