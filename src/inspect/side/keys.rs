//! Key problems of a JSON side file: a key that could hide behind another
//! (docs/findings.md, "Key shadowing"; docs/threat-model.md, G16).
//!
//! transformers reads the side files with Python's `json`, which keeps the
//! last of a repeated key; a person reading the file (or a first-wins
//! reader) sees the first. Every JSON side file lbom captures is checked
//! here, whatever its role: the ones whose values lbom uses
//! (`config.json`, `tokenizer_config.json`, …) and the tokenizer files it
//! only hashes (`tokenizer.json`, `special_tokens_map.json`, …).

use crate::inspect::facts::Finding;
use crate::inspect::strict_json::{self, KeyIssue, Parsed};
use crate::safe::visible;

/// Whether a side file's name says it is JSON (its keys are then checked).
pub(crate) fn is_json(name: &str) -> bool {
    name.ends_with(".json")
}

/// The key problems of the JSON side file `name`, from its whole bytes.
/// A file that is not JSON gets none here: the role's reader says so.
pub(crate) fn key_findings(name: &str, bytes: &[u8]) -> Vec<Finding> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    match strict_json::parse(text, false) {
        Ok(parsed) => findings_of(name, &parsed),
        Err(_) => Vec::new(),
    }
}

/// `findings` when the delivery's side-file budget is spent: the first,
/// and one line counting the rest (an error, as key problems are).
pub(crate) fn shed(name: &str, findings: Vec<Finding>) -> Vec<Finding> {
    let rest = findings.len().saturating_sub(1);
    let mut out: Vec<Finding> = findings.into_iter().take(1).collect();
    if rest > 0 {
        out.push(Finding::error(
            "hf.duplicate_key",
            format!(
                "{name}: {rest} more key findings not listed (the delivery's side files already hold what lbom keeps of them)"
            ),
        ));
    }
    out
}

/// The finding for a JSON side file too large to have its keys checked.
pub(crate) fn unchecked_finding(name: &str, cap: u64) -> Finding {
    Finding::info(
        "hf.keys_unchecked",
        format!(
            "{name} is larger than {cap} bytes: hashed whole (any change to it is drift), its keys not checked for repeats"
        ),
    )
}

fn findings_of(name: &str, parsed: &Parsed) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &parsed.problems {
        let key = visible(&p.key);
        let place = match &p.parent {
            None => format!("{name}: key '{key}'"),
            Some(parent) => format!("{name}: key '{key}' inside '{}'", visible(parent)),
        };
        out.push(match &p.issue {
            KeyIssue::Repeated { .. } => Finding::error(
                "hf.duplicate_key",
                format!(
                    "{place} appears more than once: Python's json keeps the last value, which lbom describes"
                ),
            ),
            KeyIssue::Nul => Finding::error(
                "key.nul",
                format!("{place} holds a NUL character: a C-string reader cuts it there"),
            ),
            KeyIssue::Confusable { earlier } => Finding::error(
                "key.confusable",
                format!(
                    "{place} looks the same as '{}' (up to a NUL, or after NFKC without invisible characters) but is another key to Python's json",
                    visible(earlier)
                ),
            ),
        });
    }
    if parsed.unlisted > 0 {
        out.push(Finding::error(
            "hf.duplicate_key",
            format!("{name}: {} more key problems not listed", parsed.unlisted),
        ));
    }
    if parsed.unchecked > 0 {
        out.push(Finding::info(
            "hf.keys_unchecked",
            format!(
                "{name}: the keys after the first {} were not checked for repeats ({} more; hashed whole, any change to the file is drift)",
                crate::inspect::keys::MAX_KEYS_CHECKED,
                parsed.unchecked
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(bytes: &[u8]) -> Vec<String> {
        key_findings("f.json", bytes)
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn repeats_nuls_and_look_alikes_are_findings() {
        assert_eq!(codes(br#"{"a":1,"a":2}"#), ["hf.duplicate_key"]);
        assert_eq!(codes(br#"{"a\u0000b":1}"#), ["key.nul"]);
        assert_eq!(
            codes("{\"a\":1,\"\u{ff41}\":2}".as_bytes()),
            ["key.confusable"]
        );
        assert_eq!(codes(br#"{"x":{"a":1,"a":2}}"#), ["hf.duplicate_key"]);
        assert!(codes(br#"{"a":1,"A":2}"#).is_empty());
        assert!(codes(b"not json").is_empty());
    }
}
