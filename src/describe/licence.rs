//! Licence normalisation shared by the SPDX, CycloneDX and Hugging Face
//! writers.
//!
//! Model files write licences in many spellings: SPDX ids (`Apache-2.0`),
//! Hugging Face ids (`apache-2.0`, `llama3`, `gpl-3.0`), or names. An id is
//! only ever reported as SPDX when it matches, case-insensitively, an id of
//! the SPDX License List (spdx.org/licenses) in the built-in table below;
//! everything else becomes a `LicenseRef-` (SPDX 2.3 §10.1). No fuzzy
//! matching: an SBOM must not claim a licence the file did not name.

use crate::inspect::ModelFacts;

/// A licence as SPDX sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceId {
    /// An SPDX License List id, or an expression of them joined by
    /// ` AND ` / ` OR `, in canonical case (`Apache-2.0`, `MIT OR Apache-2.0`).
    Spdx(String),
    /// `LicenseRef-<idstring>`, the idstring limited to `[A-Za-z0-9.-]`.
    Ref(String),
}

impl LicenceId {
    /// The id or expression as written in SPDX documents.
    pub fn as_str(&self) -> &str {
        match self {
            LicenceId::Spdx(s) | LicenceId::Ref(s) => s,
        }
    }
}

/// SPDX License List ids that model files commonly name (list version 3.25).
/// Deprecated ids (`GPL-3.0`) are left out: [`HF_TO_SPDX`] maps those
/// spellings to their current equivalents.
pub(crate) const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-2-Clause-Patent",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "C-UDA-1.0",
    "CC-BY-1.0",
    "CC-BY-2.0",
    "CC-BY-2.5",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-NC-2.0",
    "CC-BY-NC-3.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-ND-3.0",
    "CC-BY-NC-ND-4.0",
    "CC-BY-NC-SA-2.0",
    "CC-BY-NC-SA-3.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDLA-Permissive-1.0",
    "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0",
    "ECL-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "etalab-2.0",
    "EUPL-1.1",
    "EUPL-1.2",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "LPPL-1.3c",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "NCSA",
    "ODbL-1.0",
    "ODC-By-1.0",
    "OFL-1.1",
    "OpenSSL",
    "OSL-3.0",
    "PDDL-1.0",
    "PostgreSQL",
    "Python-2.0",
    "Unlicense",
    "UPL-1.0",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
];

/// Hugging Face licence ids that name an SPDX licence under another
/// spelling. HF's `gpl-3.0` etc. carry no "-only"/"-or-later"; the SPDX
/// deprecated ids with the same spelling meant "-only", so map there.
const HF_TO_SPDX: &[(&str, &str)] = &[
    ("agpl-3.0", "AGPL-3.0-only"),
    ("gpl-2.0", "GPL-2.0-only"),
    ("gpl-3.0", "GPL-3.0-only"),
    ("lgpl-2.1", "LGPL-2.1-only"),
    ("lgpl-3.0", "LGPL-3.0-only"),
    ("gfdl", "GFDL-1.3-only"),
    ("odc-by", "ODC-By-1.0"),
    ("odbl", "ODbL-1.0"),
    ("pddl", "PDDL-1.0"),
    ("bsl-1.0", "BSL-1.0"),
    ("c-uda", "C-UDA-1.0"),
    ("unlicense", "Unlicense"),
];

/// The Hugging Face Hub's licence ids (huggingface.co/docs/hub/repositories-licenses).
pub(crate) const HF_IDS: &[&str] = &[
    "apache-2.0",
    "mit",
    "openrail",
    "bigscience-openrail-m",
    "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m",
    "afl-3.0",
    "artistic-2.0",
    "bsl-1.0",
    "bsd",
    "bsd-2-clause",
    "bsd-3-clause",
    "bsd-3-clause-clear",
    "c-uda",
    "cc",
    "cc0-1.0",
    "cc-by-2.0",
    "cc-by-2.5",
    "cc-by-3.0",
    "cc-by-4.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "cc-by-nc-2.0",
    "cc-by-nc-3.0",
    "cc-by-nc-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0",
    "cdla-permissive-1.0",
    "cdla-permissive-2.0",
    "wtfpl",
    "ecl-2.0",
    "epl-1.0",
    "epl-2.0",
    "etalab-2.0",
    "eupl-1.1",
    "eupl-1.2",
    "agpl-3.0",
    "gfdl",
    "gpl",
    "gpl-2.0",
    "gpl-3.0",
    "lgpl",
    "lgpl-2.1",
    "lgpl-3.0",
    "isc",
    "h-research",
    "intel-research",
    "lppl-1.3c",
    "ms-pl",
    "apple-ascl",
    "apple-amlr",
    "mpl-2.0",
    "odc-by",
    "odbl",
    "openmdw-1.0",
    "openrail++",
    "osl-3.0",
    "postgresql",
    "ofl-1.1",
    "ncsa",
    "unlicense",
    "zlib",
    "pddl",
    "lgpl-lr",
    "deepfloyd-if-license",
    "fair-noncommercial-research-license",
    "llama2",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "llama4",
    "gemma",
    "unknown",
    "other",
];

/// Longest idstring kept in a `LicenseRef-`; longer names are cut (the
/// full name still appears where the format has room for it).
const MAX_REF_CHARS: usize = 64;

/// Normalise a licence string as written in a model file.
pub fn spdx_id(raw: &str) -> LicenceId {
    let trimmed = raw.trim();
    if let Some(id) = single_spdx(trimmed) {
        return LicenceId::Spdx(id.to_owned());
    }
    if let Some(expr) = simple_expression(trimmed) {
        return LicenceId::Spdx(expr);
    }
    LicenceId::Ref(format!("LicenseRef-{}", ref_idstring(trimmed)))
}

fn single_spdx(raw: &str) -> Option<&'static str> {
    SPDX_IDS
        .iter()
        .find(|id| id.eq_ignore_ascii_case(raw))
        .copied()
        .or_else(|| {
            HF_TO_SPDX
                .iter()
                .find(|(hf, _)| hf.eq_ignore_ascii_case(raw))
                .map(|&(_, spdx)| spdx)
        })
}

/// `A OR B`, `A AND B` of known ids (no parentheses, no `WITH`): common in
/// model cards ("MIT OR Apache-2.0"). Anything else is not interpreted.
fn simple_expression(raw: &str) -> Option<String> {
    let words: Vec<&str> = raw.split_whitespace().collect();
    if words.len() < 3 || words.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        if i % 2 == 1 {
            match word.to_ascii_uppercase().as_str() {
                op @ ("AND" | "OR") => out.push(op.to_owned()),
                _ => return None,
            }
        } else {
            out.push(single_spdx(word)?.to_owned());
        }
    }
    Some(out.join(" "))
}

/// `[A-Za-z0-9.-]+` from any string: other runs become one `-`.
fn ref_idstring(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.chars().count() >= MAX_REF_CHARS {
            break;
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "unknown".to_owned()
    } else {
        out.to_owned()
    }
}

/// The licence a model declares, with the name and link GGUF adds for
/// `general.license = "other"` (gguf-py: `general.license.name`,
/// `general.license.link`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    /// The licence id or name as written.
    pub raw: String,
    /// `general.license.link`, when present.
    pub link: Option<String>,
}

pub(crate) fn declared(facts: &ModelFacts) -> Option<Declared> {
    let meta_str = |key: &str| {
        facts
            .metadata
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let raw = facts
        .license
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    let raw = if raw.eq_ignore_ascii_case("other") {
        meta_str("general.license.name").unwrap_or_else(|| raw.to_owned())
    } else {
        raw.to_owned()
    };
    Some(Declared {
        raw,
        link: meta_str("general.license.link"),
    })
}

/// The Hugging Face licence id for a licence string, or `None` when the Hub
/// has no id for it (then the card says `other` with a `license_name`).
pub(crate) fn hf_id(raw: &str) -> Option<&'static str> {
    let lower = raw.trim().to_ascii_lowercase();
    if let Some(id) = HF_IDS.iter().find(|id| **id == lower) {
        return Some(id);
    }
    // An SPDX spelling of something the Hub knows: `GPL-3.0-only` → `gpl-3.0`.
    let LicenceId::Spdx(spdx) = spdx_id(raw) else {
        return None;
    };
    let spdx = spdx.to_ascii_lowercase();
    let base = spdx
        .strip_suffix("-only")
        .or_else(|| spdx.strip_suffix("-or-later"))
        .unwrap_or(&spdx);
    HF_IDS.iter().find(|id| **id == base).copied().or_else(|| {
        HF_TO_SPDX
            .iter()
            .find(|(_, s)| s.eq_ignore_ascii_case(&spdx))
            .map(|&(hf, _)| hf)
    })
}

/// A Hub `license_name`: lowercase `[a-z0-9.-]`.
pub(crate) fn hf_licence_name(raw: &str) -> String {
    ref_idstring(raw).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_ids_are_matched_case_insensitively() {
        assert_eq!(spdx_id("apache-2.0"), LicenceId::Spdx("Apache-2.0".into()));
        assert_eq!(spdx_id(" MIT "), LicenceId::Spdx("MIT".into()));
        assert_eq!(
            spdx_id("cc-by-nc-sa-4.0"),
            LicenceId::Spdx("CC-BY-NC-SA-4.0".into())
        );
        assert_eq!(spdx_id("GPL-3.0"), LicenceId::Spdx("GPL-3.0-only".into()));
        assert_eq!(spdx_id("agpl-3.0"), LicenceId::Spdx("AGPL-3.0-only".into()));
        assert_eq!(spdx_id("odbl"), LicenceId::Spdx("ODbL-1.0".into()));
        assert_eq!(
            spdx_id("mit or apache-2.0"),
            LicenceId::Spdx("MIT OR Apache-2.0".into())
        );
    }

    #[test]
    fn everything_else_is_a_licence_ref() {
        assert_eq!(
            spdx_id("llama3"),
            LicenceId::Ref("LicenseRef-llama3".into())
        );
        assert_eq!(
            spdx_id("openrail"),
            LicenceId::Ref("LicenseRef-openrail".into())
        );
        assert_eq!(
            spdx_id("MIT OR"),
            LicenceId::Ref("LicenseRef-MIT-OR".into())
        );
        assert_eq!(
            spdx_id("Apache 2.0"),
            LicenceId::Ref("LicenseRef-Apache-2.0".into())
        );
        assert_eq!(
            spdx_id("\"; rm -rf / #\n"),
            LicenceId::Ref("LicenseRef-rm-rf".into())
        );
        assert_eq!(spdx_id("???"), LicenceId::Ref("LicenseRef-unknown".into()));
        let long = spdx_id(&"x".repeat(10_000));
        assert_eq!(long.as_str().len(), "LicenseRef-".len() + MAX_REF_CHARS);
    }

    #[test]
    fn builtin_ids_are_on_the_spdx_list() {
        // Cross-check against the SPDX list that cyclonedx-bom ships.
        use cyclonedx_bom::external_models::spdx::SpdxIdentifier;
        for id in SPDX_IDS.iter().chain(HF_TO_SPDX.iter().map(|(_, s)| s)) {
            assert!(
                SpdxIdentifier::try_from((*id).to_owned()).is_ok(),
                "{id} is not an SPDX id"
            );
        }
    }

    #[test]
    fn hub_ids_map_both_ways() {
        assert_eq!(hf_id("Apache-2.0"), Some("apache-2.0"));
        assert_eq!(hf_id("llama3.2"), Some("llama3.2"));
        assert_eq!(hf_id("GPL-3.0-or-later"), Some("gpl-3.0"));
        assert_eq!(hf_id("ODbL-1.0"), Some("odbl"));
        assert_eq!(hf_id("lfm1.0"), None);
        assert_eq!(hf_licence_name("LFM 1.0 Licence"), "lfm-1.0-licence");
    }
}
