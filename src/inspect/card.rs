//! The few keys lbom reads from a model card's YAML front matter
//! (`README.md` between two `---` lines). Deliberately not a YAML parser:
//! a top-level key is a line at column 0 `key: value` (quotes around the
//! key or value stripped), followed by its *block*: the indented and list
//! lines up to the next top-level key. A scalar value is the text after
//! the colon; a list value its `- item` lines. A repeated key counts the
//! last time, as for PyYAML (which the Hub uses).
//!
//! For drift, the raw block of each recorded key is kept as written
//! ([`CardFrontMatter::blocks`]), so any edit under `license:` or
//! `base_model:` is seen, whatever YAML construct it uses (a folded
//! scalar, a flow list, an anchor) and whether or not lbom understands it.

use std::collections::BTreeMap;

/// Top-level keys whose raw blocks are kept for drift (docs/drift.md).
pub const RECORDED_KEYS: &[&str] = &["license", "license_name", "license_link", "base_model"];

/// The model card keys lbom uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFrontMatter {
    pub license: Option<String>,
    /// `license_name:` (with `license: other`).
    pub license_name: Option<String>,
    /// `license_link:`
    pub license_link: Option<String>,
    /// `base_model:` (first entry when a list).
    pub base_model: Option<String>,
    /// `library_name:`
    pub library_name: Option<String>,
    /// `pipeline_tag:` (the Hub's task name, `text-generation`).
    pub pipeline_tag: Option<String>,
    /// `language:` (a scalar or a list), in order.
    pub languages: Vec<String>,
    /// `datasets:` (a scalar or a list), in order.
    pub datasets: Vec<String>,
    /// What the card's body says under the headings the Hub's card
    /// template uses for them ([`CONSIDERATION_HEADINGS`]): kind → text,
    /// white space collapsed, at most [`SECTION_MAX_CHARS`] characters.
    pub considerations: BTreeMap<String, String>,
    /// The raw lines of every block of each key of [`RECORDED_KEYS`]
    /// present, joined with `\n` (repeated keys one after the other).
    pub blocks: BTreeMap<String, String>,
}

/// Most items kept of a list key (`language`, `datasets`).
pub const LIST_MAX_ITEMS: usize = 64;
/// Most characters kept of one value or one body section.
pub const SECTION_MAX_CHARS: usize = 2000;

/// Body headings (lowercase words a heading contains) → the kind of
/// consideration their text is, as CycloneDX's `modelCard.considerations`
/// names them. The words are those of the Hub's model card template
/// (huggingface_hub `templates/modelcard_template.md`: "Uses", "Direct
/// Use", "Out-of-Scope Use", "Bias, Risks, and Limitations").
pub const CONSIDERATION_HEADINGS: &[(&str, &str)] = &[
    ("bias", "ethicalConsiderations"),
    ("risk", "ethicalConsiderations"),
    ("ethic", "ethicalConsiderations"),
    ("out-of-scope", "technicalLimitations"),
    ("limitation", "technicalLimitations"),
    ("intended use", "useCases"),
    ("direct use", "useCases"),
    ("uses", "useCases"),
    ("intended users", "users"),
    ("trade-off", "performanceTradeoffs"),
    ("tradeoff", "performanceTradeoffs"),
];

/// Whether `text` starts with a front matter that ends (its closing `---`
/// line is in `text`).
pub fn front_matter_is_closed(text: &str) -> bool {
    let mut lines = text.lines();
    lines.next().map(str::trim_end) == Some("---") && lines.any(|l| l.trim_end() == "---")
}

/// Parse the front matter of a model card; a card without one says
/// nothing.
pub fn parse_front_matter(text: &str) -> CardFrontMatter {
    let mut card = CardFrontMatter::default();
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return card;
    }
    // The key whose block the current line belongs to, and whether its
    // value is still to come as list items.
    let mut current: Option<String> = None;
    let mut pending_list = false;
    for line in lines.by_ref() {
        if line.trim_end() == "---" {
            break;
        }
        let top_level = !line.starts_with([' ', '\t', '-', '#']) && !line.trim().is_empty();
        if top_level && let Some((key, value)) = line.split_once(':') {
            let key = unquote(key);
            let value = value.trim();
            record_block(&mut card, &key, line, true);
            pending_list = value.is_empty();
            if !pending_list {
                set_card_key(&mut card, &key, unquote(value), false);
            } else if key == "base_model" {
                card.base_model = None;
            }
            current = Some(key);
            continue;
        }
        if top_level {
            // Not `key: value`: a line lbom does not understand ends the
            // block before it.
            current = None;
            pending_list = false;
            continue;
        }
        let Some(key) = current.clone() else {
            continue;
        };
        record_block(&mut card, &key, line, false);
        if pending_list && let Some(item) = line.trim_start().strip_prefix("- ") {
            set_card_key(&mut card, &key, unquote(item), true);
        }
    }
    card.considerations = body_considerations(lines);
    card
}

/// The body's sections under the headings of [`CONSIDERATION_HEADINGS`]:
/// each section's text up to the next heading of its level or above
/// (several sections of one kind joined), lines joined with single spaces.
fn body_considerations<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    // (kind, heading level) of the section being read.
    let mut current: Option<(&str, usize)> = None;
    let mut in_code = false;
    for line in lines {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let level = trimmed.bytes().take_while(|&b| b == b'#').count();
        if level > 0 && trimmed.as_bytes().get(level) == Some(&b' ') {
            let title = trimmed
                .get(level..)
                .unwrap_or_default()
                .trim()
                .to_lowercase();
            let kind = CONSIDERATION_HEADINGS
                .iter()
                .find(|(word, _)| title.contains(word))
                .map(|(_, kind)| *kind);
            match (kind, current) {
                (Some(kind), _) => current = Some((kind, level)),
                // A subheading stays in its section.
                (None, Some((_, open))) if level > open => {}
                (None, _) => current = None,
            }
            continue;
        }
        let Some((kind, _)) = current else { continue };
        // Comments and the template's "[More Information Needed]" say nothing.
        if trimmed.is_empty()
            || trimmed.starts_with("<!--")
            || trimmed.eq_ignore_ascii_case("[more information needed]")
        {
            continue;
        }
        let text = out.entry(kind.to_owned()).or_default();
        if text.chars().count() >= SECTION_MAX_CHARS {
            continue;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(trimmed);
        if text.chars().count() > SECTION_MAX_CHARS {
            *text = text.chars().take(SECTION_MAX_CHARS).collect();
        }
    }
    out
}

fn record_block(card: &mut CardFrontMatter, key: &str, line: &str, starts: bool) {
    if !RECORDED_KEYS.contains(&key) {
        return;
    }
    let block = card.blocks.entry(key.to_owned()).or_default();
    if !block.is_empty() || !starts {
        block.push('\n');
    }
    block.push_str(line.trim_end());
}

/// Set a key's value: a scalar replaces what an earlier occurrence said
/// (the last wins); list items after the first keep the first.
fn set_card_key(card: &mut CardFrontMatter, key: &str, value: String, item: bool) {
    let slot = match key {
        "license" => &mut card.license,
        "license_name" => &mut card.license_name,
        "license_link" => &mut card.license_link,
        "base_model" => &mut card.base_model,
        "library_name" => &mut card.library_name,
        "pipeline_tag" => &mut card.pipeline_tag,
        "language" | "datasets" => {
            let list = if key == "language" {
                &mut card.languages
            } else {
                &mut card.datasets
            };
            // A scalar replaces an earlier occurrence; items add up.
            if !item {
                list.clear();
            }
            // A flow list `[en, fr]` on the key's line.
            let inner = value
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .map(str::to_owned);
            let items: Vec<String> = match inner {
                Some(flow) => flow.split(',').map(unquote).collect(),
                None => vec![value],
            };
            for it in items {
                if !it.is_empty() && list.len() < LIST_MAX_ITEMS {
                    list.push(it.chars().take(SECTION_MAX_CHARS).collect());
                }
            }
            return;
        }
        _ => return,
    };
    if value.is_empty() || (item && slot.is_some()) {
        return;
    }
    *slot = Some(value);
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')));
    inner.unwrap_or(s).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_keys() {
        let card = parse_front_matter(
            "---\nlicense: apache-2.0\nbase_model:\n- \"meta-llama/Llama-3.1-8B\"\n- other/base\ntags:\n- x\nlibrary_name: transformers\n---\n# body\nlicense: mit\n",
        );
        assert_eq!(card.license.as_deref(), Some("apache-2.0"));
        assert_eq!(card.base_model.as_deref(), Some("meta-llama/Llama-3.1-8B"));
        assert_eq!(card.library_name.as_deref(), Some("transformers"));
        assert_eq!(
            card.blocks.get("base_model").map(String::as_str),
            Some("base_model:\n- \"meta-llama/Llama-3.1-8B\"\n- other/base")
        );
        assert_eq!(
            parse_front_matter("license: mit\n"),
            CardFrontMatter::default()
        );
    }

    #[test]
    fn every_edit_under_a_recorded_key_changes_its_block() {
        let base =
            "---\nlicense: other\nlicense_name: llama3\nlicense_link: LICENSE\ntags:\n- a\n---\n";
        let card = parse_front_matter(base);
        assert_eq!(card.license_name.as_deref(), Some("llama3"));
        for (edited, key) in [
            (base.replace("llama3", "llama3.1"), "license_name"),
            (base.replace("LICENSE\n", "LICENSE.md\n"), "license_link"),
            (
                base.replace("license: other\n", "license: >-\n  other\n"),
                "license",
            ),
            (base.replace("tags:", "\"license\": mit\ntags:"), "license"),
        ] {
            let other = parse_front_matter(&edited);
            assert_ne!(
                card.blocks.get(key),
                other.blocks.get(key),
                "{key} not seen in {edited:?}"
            );
        }
        // A repeated key: the last wins, and both are recorded.
        let twice = parse_front_matter("---\nlicense: mit\nlicense: apache-2.0\n---\n");
        assert_eq!(twice.license.as_deref(), Some("apache-2.0"));
        assert_eq!(
            twice.blocks.get("license").map(String::as_str),
            Some("license: mit\nlicense: apache-2.0")
        );
        // Edits elsewhere leave the blocks alone.
        let tags = parse_front_matter(&base.replace("- a", "- b"));
        assert_eq!(card.blocks, tags.blocks);
    }

    #[test]
    fn languages_datasets_task_and_considerations() {
        let card = parse_front_matter(
            "---\nlanguage:\n- en\n- fr\ndatasets: [\"a/b\", c]\npipeline_tag: text-generation\n---\n# Model\n## Uses\n### Direct Use\nChat.\n## Bias, Risks, and Limitations\n[More Information Needed]\nMay be wrong.\n```\n# not a heading\n```\n## Training\nsecret\n",
        );
        assert_eq!(card.languages, ["en", "fr"]);
        assert_eq!(card.datasets, ["a/b", "c"]);
        assert_eq!(card.pipeline_tag.as_deref(), Some("text-generation"));
        assert_eq!(
            card.considerations.get("useCases").map(String::as_str),
            Some("Chat.")
        );
        assert_eq!(
            card.considerations
                .get("ethicalConsiderations")
                .map(String::as_str),
            Some("May be wrong.")
        );
        assert_eq!(card.considerations.len(), 2);
        let scalar = parse_front_matter("---\nlanguage: en\n---\n");
        assert_eq!(scalar.languages, ["en"]);
    }

    #[test]
    fn closed_front_matter() {
        assert!(front_matter_is_closed("---\nlicense: mit\n---\nbody"));
        assert!(!front_matter_is_closed("---\nlicense: mit\n"));
        assert!(!front_matter_is_closed("# title\n---\n"));
    }
}
