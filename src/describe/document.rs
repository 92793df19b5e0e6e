//! One entry point for every document a scan can be written as: the
//! values of `lbom scan --format`, so a program embedding lbom and the CLI
//! choose a writer the same way.

use std::io::Write;

use super::cyclonedx::SpecVersion;
use super::hf_readme::HfReadmeOptions;
use super::{DocumentInfo, Error};
use crate::inspect::ModelFacts;

/// A document [`write_document`] writes from scan facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentFormat {
    /// lbom's own scan report (docs/scan-report.md).
    Json,
    /// A table for a terminal, with ANSI colours or without.
    Table {
        /// Colour the severities.
        colour: bool,
    },
    /// SPDX 2.3 tag-value.
    SpdxTagValue,
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// SPDX 3.0.1 JSON-LD with the AI profile.
    Spdx3,
    /// A CycloneDX ML-BOM (docs/ml-bom.md).
    CycloneDx(SpecVersion),
    /// SARIF 2.1.0 of the findings.
    Sarif,
    /// A Hugging Face model card (README.md with YAML front matter).
    HfReadme(HfReadmeOptions),
}

impl DocumentFormat {
    /// Whether the document is JSON (else text: written through
    /// [`crate::safe::TextOut`], not the JSON writers).
    pub fn is_json(&self) -> bool {
        match self {
            DocumentFormat::Json
            | DocumentFormat::SpdxJson
            | DocumentFormat::Spdx3
            | DocumentFormat::CycloneDx(_)
            | DocumentFormat::Sarif => true,
            DocumentFormat::Table { .. }
            | DocumentFormat::SpdxTagValue
            | DocumentFormat::HfReadme(_) => false,
        }
    }
}

/// Write `facts` as `format`. Each writer escapes untrusted values for its
/// own syntax; what it wrote still goes through `crate::safe` on its way
/// to a terminal or file.
pub fn write_document(
    facts: &[ModelFacts],
    format: &DocumentFormat,
    info: &DocumentInfo,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match format {
        DocumentFormat::Json => super::json::write(facts, info, out),
        DocumentFormat::Table { colour } => super::table::write(facts, *colour, out),
        DocumentFormat::SpdxTagValue => super::spdx::write_tag_value(facts, info, out),
        DocumentFormat::SpdxJson => super::spdx::write_json(facts, info, out),
        DocumentFormat::Spdx3 => super::spdx3::write(facts, info, out),
        DocumentFormat::CycloneDx(version) => {
            super::cyclonedx::write_json_version(facts, info, *version, out)
        }
        DocumentFormat::Sarif => super::sarif::write(facts, info, out),
        DocumentFormat::HfReadme(options) => super::hf_readme::write(facts, options, info, out),
    }
}
