//! The crate-wide error: one variant per pipeline stage, nothing else.

/// Any error the library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or inspecting model files failed.
    #[error(transparent)]
    Inspect(#[from] crate::inspect::Error),
    /// Writing an SBOM or report failed.
    #[error(transparent)]
    Describe(#[from] crate::describe::Error),
    /// Packing, reading or appending to a bundle failed.
    #[error(transparent)]
    Bundle(#[from] crate::bundle::Error),
    /// A DSSE envelope or public key is malformed.
    #[error(transparent)]
    Envelope(#[from] crate::envelope::Error),
    /// Key handling or signing failed.
    #[error(transparent)]
    Sign(#[from] crate::sign::Error),
}
