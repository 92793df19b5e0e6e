//! The findings of the header's key checks: a key that could hide behind
//! another (repeated, cut by a NUL, confusable), as the safetensors loader
//! would read it (docs/findings.md).

use super::stream;
use super::{METADATA_KEY, Reporter};
use crate::inspect::facts::{Finding, ModelFacts};
use crate::inspect::strict_json::{KeyIssue, KeyProblem};
use crate::safe::visible;

/// The findings of the header's key checks (shadowing, confusables).
pub(super) fn report_key_checks(
    checks: &stream::Checks,
    report: &mut Reporter,
    facts: &mut ModelFacts,
) {
    for problem in &checks.problems {
        report.push(facts, key_finding(problem));
    }
    if checks.unlisted > 0 {
        report.push(
            facts,
            Finding::error(
                "key.confusable",
                format!("header: {} more key problems not listed", checks.unlisted),
            ),
        );
    }
    if checks.unchecked > 0 {
        report.push(
            facts,
            Finding::info(
                "safetensors.keys_unchecked",
                format!(
                    "header: the keys after the first {} were not checked for shadowing ({} more)",
                    crate::inspect::keys::MAX_KEYS_CHECKED,
                    checks.unchecked
                ),
            ),
        );
    }
}

/// The finding for a key of the header that could hide behind another.
/// The header is still described as the safetensors crate reads it
/// (`HashMetadata` in safetensors/src/tensor.rs): serde keeps the last of a
/// repeated tensor name or `__metadata__` entry, and refuses a repeated
/// `__metadata__` or a repeated field of a tensor entry.
fn key_finding(p: &KeyProblem) -> Finding {
    let key = visible(&p.key);
    let place = match (p.depth, p.parent.as_deref()) {
        (1, _) if p.key == METADATA_KEY => "the header".to_owned(),
        (1, _) => format!("tensor name '{key}'"),
        (2, Some(METADATA_KEY)) => format!("__metadata__ key '{key}'"),
        (_, Some(parent)) => format!("key '{key}' inside '{}'", visible(parent)),
        (_, None) => format!("key '{key}'"),
    };
    match &p.issue {
        KeyIssue::Repeated { .. } => {
            let effect = match (p.depth, p.parent.as_deref()) {
                (1, _) if p.key == METADATA_KEY => "the safetensors loader refuses the file",
                (1, _) | (2, Some(METADATA_KEY)) => {
                    "the safetensors loader and Python's json keep the last one, which lbom describes"
                }
                _ => "the safetensors loader refuses the file (serde: duplicate field)",
            };
            let what = if p.depth == 1 && p.key == METADATA_KEY {
                "__metadata__".to_owned()
            } else {
                place
            };
            Finding::error(
                "safetensors.duplicate_key",
                format!("header repeats {what}: {effect}"),
            )
        }
        KeyIssue::Nul => Finding::error(
            "key.nul",
            format!("header {place} holds a NUL character: a C-string reader cuts it there"),
        ),
        KeyIssue::Confusable { earlier } => Finding::error(
            "key.confusable",
            format!(
                "header {place} looks the same as '{}' (up to a NUL, or after NFKC without invisible characters) but is another key to the safetensors loader",
                visible(earlier)
            ),
        ),
    }
}
