//! [`ModelFacts`](crate::inspect::ModelFacts) → SBOMs and reports.

/// Errors writing an SBOM or report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Serialising JSON failed.
    #[error("could not write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing the output failed.
    #[error("could not write output: {0}")]
    Io(#[from] std::io::Error),
}
