//! [`ModelFacts`](crate::inspect::ModelFacts) → SBOMs and reports.
//!
//! Every writer is a pure function of its input and a [`DocumentInfo`]: the
//! same facts and the same info give the same bytes, so SBOMs can be signed,
//! diffed and rebuilt reproducibly (`SOURCE_DATE_EPOCH`).
//!
//! The model facts come from untrusted files. Writers that produce
//! documents meant to leave the machine (SPDX, CycloneDX, the Hugging Face
//! card) never write `model_path`, only file names, and every writer escapes
//! untrusted strings for its own syntax.

pub mod cyclonedx;
pub mod document;
pub mod hf_readme;
pub mod identity;
pub mod json;
pub mod lbom_keys;
pub mod licence;
pub mod sarif;
pub mod spdx;
pub mod spdx3;
pub mod table;
pub mod text;

#[cfg(test)]
pub(crate) mod fixtures;

pub use document::{DocumentFormat, write_document};

use jiff::Timestamp;

/// Errors writing an SBOM or report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Serialising JSON failed.
    #[error("could not write JSON")]
    Json(#[from] serde_json::Error),
    /// Writing the output failed.
    #[error("could not write output")]
    Io(#[from] std::io::Error),
    /// `SOURCE_DATE_EPOCH` is not a whole number of seconds in range.
    #[error("SOURCE_DATE_EPOCH {value:?} is not a number of seconds between 0 and {max}")]
    SourceDateEpoch {
        /// The value as given (shortened if long).
        value: String,
        /// The largest accepted value.
        max: i64,
    },
    /// The document needs at least one model.
    #[error("{format} output needs at least one model")]
    NoModels {
        /// The output format.
        format: &'static str,
    },
    /// The CycloneDX library refused the document.
    #[error("could not write CycloneDX: {0}")]
    CycloneDx(String),
}

impl Error {
    /// The class of this error (its exit code at the CLI).
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self {
            Error::SourceDateEpoch { .. } => Class::Usage,
            Error::Json(_) | Error::Io(_) | Error::NoModels { .. } | Error::CycloneDx(_) => {
                Class::Io
            }
        }
    }
}

/// What every document says about itself: when and by what it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentInfo {
    /// Creation time, whole seconds, UTC.
    pub created: Timestamp,
    /// The tool name (`lbom`).
    pub tool_name: &'static str,
    /// The tool version.
    pub tool_version: &'static str,
}

/// 9999-12-30T22:00:00Z, jiff's `Timestamp::MAX`: within the four-digit
/// years every format here needs (SPDX `Created` is exactly
/// `YYYY-MM-DDThh:mm:ssZ`).
const MAX_EPOCH_SECONDS: i64 = 253_402_207_200;

impl DocumentInfo {
    /// Info for a document created now, or at `SOURCE_DATE_EPOCH` when the
    /// caller passes its value.
    ///
    /// The value must be "an ASCII representation of an integer with no
    /// fractional component" (reproducible-builds.org/specs/source-date-epoch);
    /// that spec asks tools to fail on a malformed value rather than silently
    /// use the current time, so anything else is an error. Negative values
    /// (before 1970) are refused as well.
    pub fn from_source_date_epoch(value: Option<&str>) -> Result<DocumentInfo, Error> {
        let created = match value {
            None => whole_seconds(Timestamp::now()),
            Some(raw) => parse_epoch(raw)?,
        };
        Ok(DocumentInfo {
            created,
            tool_name: crate::TOOL_NAME,
            tool_version: crate::TOOL_VERSION,
        })
    }

    /// [`Self::from_source_date_epoch`] of the environment's
    /// `SOURCE_DATE_EPOCH`: the one place lbom reads it, for `scan` and
    /// `pack` alike.
    pub fn from_environment() -> Result<DocumentInfo, Error> {
        let value = std::env::var("SOURCE_DATE_EPOCH").ok();
        Self::from_source_date_epoch(value.as_deref())
    }

    /// `YYYY-MM-DDThh:mm:ssZ` (SPDX 2.3 `Created`, CycloneDX `timestamp`).
    pub(crate) fn created_utc(&self) -> String {
        self.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// `YYYY-MM-DDThh:mm:ss+00:00`: what l-bom writes for `generated_at`
    /// (Python's `datetime.now(timezone.utc).isoformat()`, which drops the
    /// fraction when it is zero). Also valid RFC 3339.
    pub(crate) fn created_lbom(&self) -> String {
        self.created.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    }
}

fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn parse_epoch(raw: &str) -> Result<Timestamp, Error> {
    let refuse = || Error::SourceDateEpoch {
        value: raw.chars().take(40).collect(),
        max: MAX_EPOCH_SECONDS,
    };
    // `i64::from_str` would also accept a leading `+`; the spec wants digits.
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    let seconds: i64 = raw.parse().map_err(|_| refuse())?;
    if seconds > MAX_EPOCH_SECONDS {
        return Err(refuse());
    }
    Timestamp::from_second(seconds).map_err(|_| refuse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_is_parsed_exactly() {
        let info =
            DocumentInfo::from_source_date_epoch(Some("1700000000")).map_err(|e| e.to_string());
        let info = info
            .as_ref()
            .map(|i| (i.created_utc(), i.created_lbom(), i.tool_name));
        assert_eq!(
            info,
            Ok((
                "2023-11-14T22:13:20Z".to_owned(),
                "2023-11-14T22:13:20+00:00".to_owned(),
                "lbom"
            ))
        );
        let zero = DocumentInfo::from_source_date_epoch(Some("0"))
            .map(|i| i.created_utc())
            .ok();
        assert_eq!(zero.as_deref(), Some("1970-01-01T00:00:00Z"));
        let last = DocumentInfo::from_source_date_epoch(Some("253402207200"))
            .map(|i| i.created_utc())
            .ok();
        assert_eq!(last.as_deref(), Some("9999-12-30T22:00:00Z"));
    }

    #[test]
    fn malformed_source_date_epoch_is_an_error() {
        for bad in [
            "",
            " 1",
            "1.5",
            "-1",
            "+1",
            "1e9",
            "abc",
            "253402207201",
            "99999999999999999999",
            "１",
        ] {
            let result = DocumentInfo::from_source_date_epoch(Some(bad));
            assert!(
                matches!(result, Err(Error::SourceDateEpoch { .. })),
                "accepted {bad:?}"
            );
        }
    }

    #[test]
    fn now_has_whole_seconds() {
        let info = DocumentInfo::from_source_date_epoch(None)
            .map(|i| i.created.subsec_nanosecond())
            .ok();
        assert_eq!(info, Some(0));
    }
}
