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

// Placeholders replaced by the real writers (merge takes theirs).
#[allow(missing_docs)]
pub struct DocumentInfo {
    pub created: jiff::Timestamp,
    pub tool_name: &'static str,
    pub tool_version: &'static str,
}
#[allow(missing_docs)]
impl DocumentInfo {
    pub fn from_source_date_epoch(_v: Option<&str>) -> Result<DocumentInfo, Error> {
        Ok(DocumentInfo {
            created: jiff::Timestamp::UNIX_EPOCH,
            tool_name: "lbom",
            tool_version: "0",
        })
    }
}
#[allow(missing_docs)]
pub mod json {
    use super::*;
    use crate::inspect::ModelFacts;
    pub fn write(
        f: &[ModelFacts],
        _i: &DocumentInfo,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        serde_json::to_writer_pretty(&mut *out, f)?;
        Ok(())
    }
}
#[allow(missing_docs)]
pub mod table {
    use super::*;
    use crate::inspect::ModelFacts;
    pub fn write(f: &[ModelFacts], _c: bool, out: &mut dyn std::io::Write) -> Result<(), Error> {
        for m in f {
            writeln!(out, "{}", m.model_filename)?;
        }
        Ok(())
    }
}
#[allow(missing_docs)]
pub mod spdx {
    use super::*;
    use crate::inspect::ModelFacts;
    pub fn write_tag_value(
        _f: &[ModelFacts],
        _i: &DocumentInfo,
        _o: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        Ok(())
    }
    pub fn write_json(
        _f: &[ModelFacts],
        _i: &DocumentInfo,
        _o: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        Ok(())
    }
}
#[allow(missing_docs)]
pub mod cyclonedx {
    use super::*;
    use crate::inspect::ModelFacts;
    pub fn write_json(
        _f: &[ModelFacts],
        _i: &DocumentInfo,
        _o: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        Ok(())
    }
}
#[allow(missing_docs)]
pub mod hf_readme {
    use super::*;
    use crate::inspect::ModelFacts;
    #[derive(Default)]
    pub struct HfReadmeOptions {
        pub title: Option<String>,
        pub short_description: Option<String>,
        pub sdk: Option<String>,
        pub app_file: Option<String>,
        pub app_port: Option<u16>,
    }
    pub fn write(
        _f: &[ModelFacts],
        _o: &HfReadmeOptions,
        _i: &DocumentInfo,
        _out: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        Ok(())
    }
}
