//! What a station with a default policy (`lbom policy init`'s content
//! rules: docs/policy.md, section 4.4) would refuse in a bundle, told to
//! the maintainer when `pack` writes it, before it crosses the air gap.
//!
//! It reads only the bundle's SBOM entries, which `pack` has just written
//! from its scan of every input: each artifact's `lbom:format` and its
//! `lbom:finding:*` properties. This is advice, not verification: the
//! station re-scans every byte and decides by its own policy.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;

use super::policy::DEFAULT_ALLOWED_FORMATS;
use crate::bundle::manifest::Role;
use crate::bundle::{ReadLimits, read};

/// One artifact a default station policy would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationRefusal {
    /// The artifact's path in the bundle.
    pub path: String,
    /// Why, in one sentence.
    pub reason: String,
}

/// Errors reading back the bundle `pack` wrote.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The bundle could not be read.
    #[error(transparent)]
    Bundle(#[from] crate::bundle::Error),
    /// An SBOM entry could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The bundle.
        path: std::path::PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

/// The artifacts of the bundle at `path` that a station with a default
/// policy would refuse, in bundle order: a format outside the default
/// `allowed_formats` (pickles, code, unknown binaries), or a finding at the
/// default `fail_on` severity, `error`.
pub fn default_policy_refusals(path: &Path) -> Result<Vec<StationRefusal>, PreviewError> {
    let io = |source| PreviewError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    refusals_in(path, &mut file, len)
}

/// [`default_policy_refusals`] of the bundle `pack --split` just wrote as
/// the part set in the folders `media`, its index signed by
/// `signer`: read through the parts, as `verify` reads a set
/// (docs/bundle-format.md, section 13), trusting only that key, and only
/// for this advice.
pub fn default_policy_refusals_in_parts(
    media: &[std::path::PathBuf],
    signer: &crate::envelope::PublicKey,
) -> Result<Vec<StationRefusal>, PreviewError> {
    struct Signer<'a>(&'a crate::envelope::PublicKey);
    impl crate::parts::Trust for Signer<'_> {
        fn key_for(
            &self,
            key_id: &crate::envelope::KeyId,
            _role: &str,
        ) -> Option<crate::envelope::PublicKey> {
            (self.0.key_id() == *key_id).then(|| self.0.clone())
        }
    }
    let folder = media.first().map_or(Path::new("."), |p| p.as_path());
    let reader = crate::parts::PartReader::open_unchecked(media, &Signer(signer)).map_err(|e| {
        PreviewError::Io {
            path: folder.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    let mut source = crate::io::source::SourceReader::new(std::sync::Arc::new(reader));
    let len = source.len();
    refusals_in(folder, &mut source, len)
}

/// The refusals of the bundle `file` holds (`len` bytes); `path` names it.
fn refusals_in<R: Read + Seek>(
    path: &Path,
    file: &mut R,
    len: u64,
) -> Result<Vec<StationRefusal>, PreviewError> {
    let limits = ReadLimits::default();
    let bundle = read::open_from(path, file, len, &limits)?;
    let io = |source| PreviewError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for (entry, tar) in bundle.manifest.entries.iter().zip(&bundle.layout.entries) {
        if entry.role != Role::Sbom || tar.size > limits.max_sbom_bytes {
            continue;
        }
        file.seek(SeekFrom::Start(tar.data_offset)).map_err(io)?;
        let mut bytes = Vec::new();
        (&mut *file)
            .take(tar.size)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let artifact = entry
            .path
            .as_str()
            .strip_prefix("sboms/")
            .and_then(|p| p.strip_suffix(".cdx.json"))
            .unwrap_or(entry.path.as_str())
            .to_owned();
        out.extend(judge_sbom(&artifact, &bytes));
    }
    Ok(out)
}

/// The refusals one SBOM's component properties give.
fn judge_sbom(artifact: &str, sbom: &[u8]) -> Vec<StationRefusal> {
    let refuse = |reason: String| StationRefusal {
        path: artifact.to_owned(),
        reason,
    };
    let Ok(value) = serde_json::from_slice::<Value>(sbom) else {
        return vec![refuse("its SBOM could not be read back".into())];
    };
    // CycloneDX 1.6 (what pack writes) describes the artifact as
    // `metadata.component`; 1.5 as the one entry of `components`.
    let properties = value
        .pointer("/metadata/component/properties")
        .or_else(|| value.pointer("/components/0/properties"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in &properties {
        let (Some(name), Some(text)) = (
            p.get("name").and_then(Value::as_str),
            p.get("value").and_then(Value::as_str),
        ) else {
            continue;
        };
        if name == "lbom:format" {
            let allowed = DEFAULT_ALLOWED_FORMATS.iter().any(|f| f.as_str() == text);
            if !allowed {
                out.push(refuse(format!(
                    "its format is {text}, which a default policy does not allow ({})",
                    allowed_list()
                )));
            }
        } else if let Some(code) = name.strip_prefix("lbom:finding:")
            && text.starts_with("error:")
        {
            out.push(refuse(format!(
                "finding {code} is an error, which a default policy refuses"
            )));
        }
    }
    out
}

fn allowed_list() -> String {
    let names: Vec<&str> = DEFAULT_ALLOWED_FORMATS.iter().map(|f| f.as_str()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sbom(props: &[(&str, &str)]) -> Vec<u8> {
        let list: Vec<Value> = props
            .iter()
            .map(|(n, v)| serde_json::json!({"name": n, "value": v}))
            .collect();
        serde_json::json!({"metadata": {"component": {"properties": list}}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn formats_and_error_findings_outside_the_default_policy_are_named() {
        for ok in [
            "gguf",
            "safetensors",
            "json",
            "text",
            "tiktoken",
            "sentencepiece",
        ] {
            assert_eq!(judge_sbom("a", &sbom(&[("lbom:format", ok)])), vec![]);
        }
        for refused in ["pickle", "pytorch-zip", "code", "unknown"] {
            let r = judge_sbom("a", &sbom(&[("lbom:format", refused)]));
            assert_eq!(r.len(), 1, "{refused}");
            assert!(r.iter().all(|r| r.reason.contains(refused)), "{r:?}");
        }
        let findings = sbom(&[
            ("lbom:format", "gguf"),
            ("lbom:finding:gguf.truncated", "error: cut short"),
            ("lbom:finding:quant.label_mismatch", "warning: label"),
        ]);
        let r = judge_sbom("m.gguf", &findings);
        assert_eq!(r.len(), 1);
        assert!(
            r.iter()
                .all(|r| r.reason.contains("gguf.truncated") && r.path == "m.gguf")
        );
        assert_eq!(judge_sbom("x", b"not json").len(), 1);
    }
}
