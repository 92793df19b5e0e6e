//! A Hugging Face model card (README.md) for the scanned models: YAML front
//! matter the Hub reads, then a Markdown body with an SBOM table per model
//! and its findings.
//!
//! Field choice follows l-bom's `--format hf-readme` (CHKDSKLabs/l-bom,
//! `llm_sbom/huggingface.py`: `title`, `short_description`, `sdk`,
//! `app_file`, `app_port`, `tags`, `models`) and the Hub's model card
//! metadata (`license`, `license_name`, `license_link`, `base_model`,
//! `library_name`; huggingface.co/docs/hub/model-cards). Unlike l-bom, no
//! local path is ever written, and every untrusted string is escaped: YAML
//! values are always double-quoted single-line scalars (YAML 1.2 §7.3.1
//! escapes), so no value can add a key or end the front matter; Markdown
//! text has HTML-significant characters as entities and Markdown
//! punctuation backslash-escaped (CommonMark §2.4).
//!
//! This module writes the front matter; its `body` module writes the
//! Markdown body.

mod body;

use std::fmt::Write as _;
use std::io::Write;

use super::identity::{Identity, identity};
use super::licence;
use super::text::{file_name, human_count, is_plain_https};
use super::{DocumentInfo, Error};
use crate::inspect::hub_id::public_model_id;
use crate::inspect::{Format, ModelFacts};
use crate::safe::{is_hidden, shorten};
use body::body;

/// Options from the command line (`--hf-title`, `--hf-short-description`,
/// `--hf-sdk`, `--hf-app-file`, `--hf-app-port`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HfReadmeOptions {
    /// Card title; derived from the model's name when absent.
    pub title: Option<String>,
    /// One-line description; derived from the facts when absent.
    pub short_description: Option<String>,
    /// Space SDK (`gradio`, `docker`, `static`); makes this a Space card.
    pub sdk: Option<String>,
    /// Space `app_file`.
    pub app_file: Option<String>,
    /// Space `app_port` (docker Spaces).
    pub app_port: Option<u16>,
}

/// Longest derived or untrusted text in the front matter or a heading.
const MAX_TEXT_CHARS: usize = 200;
/// Longest value in a table cell.
const MAX_CELL_CHARS: usize = 300;
/// Tags taken from the file's own `general.tags`, at most.
const MAX_FILE_TAGS: usize = 16;
/// Longest tag.
const MAX_TAG_CHARS: usize = 64;
/// Findings listed per model.
const MAX_FINDINGS: usize = 100;

enum Yaml {
    Str(String),
    Int(u64),
    List(Vec<String>),
}

/// Write the model card.
pub fn write(
    facts: &[ModelFacts],
    opts: &HfReadmeOptions,
    info: &DocumentInfo,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let first = facts.first().ok_or(Error::NoModels {
        format: "hf-readme",
    })?;
    let title = opts
        .title
        .clone()
        .unwrap_or_else(|| derive_title(facts, first));
    let description = opts
        .short_description
        .clone()
        .unwrap_or_else(|| derive_description(facts, first, &title));
    let mut card = front_matter(facts, opts, &title, &description);
    card.push_str(&body(facts, info, &title, &description));
    out.write_all(card.as_bytes())?;
    Ok(())
}

fn derive_title(facts: &[ModelFacts], first: &ModelFacts) -> String {
    if facts.len() > 1 {
        return format!("{} model files", facts.len());
    }
    let looks_like_hash = |s: &str| s.len() >= 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    match first
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !looks_like_hash(n))
    {
        Some(name) => shorten(name, MAX_TEXT_CHARS),
        None => {
            let file = file_name(&first.model_filename);
            let stem = file
                .rsplit_once('.')
                .map(|(s, _)| s)
                .filter(|s| !s.is_empty())
                .unwrap_or(file);
            shorten(stem, MAX_TEXT_CHARS)
        }
    }
}

/// l-bom's sentence: "GGUF model artifact for X with 1.2B parameters, 1B,
/// Q4_K_M, 131072 context".
fn derive_description(facts: &[ModelFacts], first: &ModelFacts, title: &str) -> String {
    if facts.len() > 1 {
        return format!("SBOM for {} model files", facts.len());
    }
    let mut details = Vec::new();
    if let Some(n) = first.parameter_count {
        details.push(format!("{} parameters", human_count(n)));
    }
    details.extend(first.size_label.iter().cloned());
    details.extend(first.quantization.iter().cloned());
    if let Some(n) = first.context_length {
        details.push(format!("{} context", human_count(n)));
    }
    let mut s = format!(
        "{} model artifact for {title}",
        first.format.as_str().to_ascii_uppercase()
    );
    if !details.is_empty() {
        let _ = write!(s, " with {}", details.join(", "));
    }
    shorten(&s, MAX_TEXT_CHARS)
}

fn front_matter(
    facts: &[ModelFacts],
    opts: &HfReadmeOptions,
    title: &str,
    description: &str,
) -> String {
    let mut fields: Vec<(&str, Yaml)> = vec![
        ("title", Yaml::Str(title.to_owned())),
        ("short_description", Yaml::Str(description.to_owned())),
    ];
    if let Some(sdk) = &opts.sdk {
        fields.push(("sdk", Yaml::Str(sdk.clone())));
    }
    if let Some(app_file) = &opts.app_file {
        fields.push(("app_file", Yaml::Str(app_file.clone())));
    }
    if let Some(port) = opts.app_port {
        fields.push(("app_port", Yaml::Int(u64::from(port))));
    }
    fields.extend(licence_fields(facts));
    let bases = base_models(facts);
    // A Space links models with `models`; a model card names `base_model`.
    match (opts.sdk.is_some(), bases.as_slice()) {
        (_, []) => {}
        (true, _) => fields.push(("models", Yaml::List(bases))),
        (false, [one]) => fields.push(("base_model", Yaml::Str(one.clone()))),
        (false, _) => fields.push(("base_model", Yaml::List(bases))),
    }
    if let Some(library) = library_name(facts) {
        fields.push(("library_name", Yaml::Str(library.to_owned())));
    }
    // What the files and their cards say of the model's use (the Hub's
    // `language`, `datasets` and `pipeline_tag` card keys).
    let ids: Vec<Identity> = facts.iter().map(identity).collect();
    let mut languages: Vec<String> = Vec::new();
    let mut datasets: Vec<String> = Vec::new();
    for id in &ids {
        for l in &id.languages {
            if !languages.contains(l) {
                languages.push(l.clone());
            }
        }
        for d in &id.datasets {
            if !datasets.contains(&d.name) {
                datasets.push(d.name.clone());
            }
        }
    }
    if !languages.is_empty() {
        fields.push(("language", Yaml::List(languages)));
    }
    if !datasets.is_empty() {
        fields.push(("datasets", Yaml::List(datasets)));
    }
    if let Some(task) = ids.iter().find_map(|id| id.task.clone()) {
        fields.push(("pipeline_tag", Yaml::Str(task)));
    }
    fields.push(("tags", Yaml::List(tags(facts))));

    let mut s = String::from("---\n");
    for (key, value) in fields {
        match value {
            Yaml::Str(v) => {
                let _ = writeln!(s, "{key}: {}", yaml_quote(&v));
            }
            Yaml::Int(n) => {
                let _ = writeln!(s, "{key}: {n}");
            }
            Yaml::List(items) => {
                let _ = writeln!(s, "{key}:");
                for item in items {
                    let _ = writeln!(s, "  - {}", yaml_quote(&item));
                }
            }
        }
    }
    s.push_str("---\n");
    s
}

/// A YAML double-quoted scalar on one line. Backslash and quote are
/// escaped, and so is every control, line-break (incl. U+0085, U+2028,
/// U+2029) or invisible formatting character, so the scalar can neither
/// span lines nor hide text; PyYAML also refuses such characters raw.
fn yaml_quote(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if is_hidden(c) && u32::from(c) < 0x100 => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `license` (+ `license_name`, `license_link` for `other`), only when every
/// model declares the same licence: a card-wide licence must not be claimed
/// for a model that named none or another one.
fn licence_fields(facts: &[ModelFacts]) -> Vec<(&'static str, Yaml)> {
    let per_model: Vec<Option<Vec<(&'static str, String)>>> = facts
        .iter()
        .map(|m| {
            let declared = licence::declared(m)?;
            Some(match licence::hf_id(&declared.raw) {
                Some(id) => vec![("license", id.to_owned())],
                None => {
                    let mut v = vec![
                        ("license", "other".to_owned()),
                        ("license_name", licence::hf_licence_name(&declared.raw)),
                    ];
                    if let Some(link) = declared
                        .link
                        .filter(|l| is_plain_https(l) || is_bare_file_name(l))
                    {
                        v.push(("license_link", link));
                    }
                    v
                }
            })
        })
        .collect();
    match per_model.first() {
        Some(Some(first)) if per_model.iter().all(|m| m.as_ref() == Some(first)) => first
            .iter()
            .map(|(k, v)| (*k, Yaml::Str(v.clone())))
            .collect(),
        _ => Vec::new(),
    }
}

/// `LICENSE`, `LICENSE.md`: a file in the same repository, never a path.
fn is_bare_file_name(link: &str) -> bool {
    !link.is_empty()
        && link.len() <= 64
        && !link.starts_with('.')
        && link
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn base_models(facts: &[ModelFacts]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in facts
        .iter()
        .filter_map(|m| m.base_model.as_deref().and_then(public_model_id))
    {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// `gguf` for GGUF files; `transformers` for safetensors models whose
/// architecture came from a config.json (safetensors files themselves
/// carry none), i.e. Hugging Face folders.
fn library_name(facts: &[ModelFacts]) -> Option<&'static str> {
    if facts.iter().all(|m| m.format == Format::Gguf) {
        Some("gguf")
    } else if facts
        .iter()
        .all(|m| m.format == Format::Safetensors && m.architecture.is_some())
    {
        Some("transformers")
    } else {
        None
    }
}

/// Lowercase `[a-z0-9._-]` tag, or `None` when nothing is left.
fn tag(raw: &str) -> Option<String> {
    let mut out = String::new();
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        if out.len() >= MAX_TAG_CHARS {
            break;
        }
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    (!out.is_empty()).then(|| out.to_owned())
}

fn tags(facts: &[ModelFacts]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |raw: &str| {
        if let Some(t) = tag(raw).filter(|t| !out.contains(t)) {
            out.push(t);
        }
    };
    for m in facts {
        add(m.format.as_str());
        m.quantization.iter().for_each(|q| add(q));
        m.architecture.iter().for_each(|a| add(a));
    }
    for m in facts {
        let file_tags = m.metadata.get("general.tags").and_then(|v| v.as_array());
        for t in file_tags
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
            .take(MAX_FILE_TAGS)
        {
            add(t);
        }
    }
    add("lbom-sbom");
    out
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::describe::fixtures::{self, HOSTILE, LOCAL_DIR, info, render};

    fn card(facts: &[ModelFacts], opts: &HfReadmeOptions) -> String {
        render(|o| write(facts, opts, &info(), o)).unwrap_or_default()
    }

    /// Undo [`yaml_quote`]: the escapes YAML 1.2 defines for double quotes.
    fn unquote(q: &str) -> Option<String> {
        let inner = q.strip_prefix('"')?.strip_suffix('"')?;
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                assert_ne!(c, '"', "unescaped quote in {q}");
                out.push(c);
                continue;
            }
            let hex = |n: usize, chars: &mut std::str::Chars<'_>| {
                let h: String = chars.take(n).collect();
                u32::from_str_radix(&h, 16).ok().and_then(char::from_u32)
            };
            match chars.next()? {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                'x' => out.push(hex(2, &mut chars)?),
                'u' => out.push(hex(4, &mut chars)?),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Front matter as (key, values): scalars have one value, lists many.
    fn front(text: &str) -> Vec<(String, Vec<String>)> {
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("---"));
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for line in lines.by_ref() {
            if line == "---" {
                return out;
            }
            if let Some(item) = line.strip_prefix("  - ") {
                let value = unquote(item).unwrap_or_else(|| format!("BAD {item}"));
                if let Some(last) = out.last_mut() {
                    last.1.push(value);
                }
                continue;
            }
            let (key, value) = line.split_once(':').unwrap_or(("BAD", line));
            assert!(
                key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "bad key line {line:?}"
            );
            let value = value.trim_start();
            let values = match value {
                "" => vec![],
                v if v.bytes().all(|b| b.is_ascii_digit()) => vec![v.to_owned()],
                v => vec![unquote(v).unwrap_or_else(|| format!("BAD {v}"))],
            };
            out.push((key.to_owned(), values));
        }
        Vec::new()
    }

    fn get<'a>(fm: &'a [(String, Vec<String>)], key: &str) -> Option<&'a [String]> {
        fm.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_slice())
    }

    #[test]
    fn gguf_card_has_hub_metadata() {
        let text = card(&[fixtures::gguf_llama()], &HfReadmeOptions::default());
        let fm = front(&text);
        let keys: Vec<&str> = fm.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "title",
                "short_description",
                "license",
                "base_model",
                "library_name",
                // The fixture's `general.tags` name the Hub task.
                "pipeline_tag",
                "tags"
            ]
        );
        assert_eq!(
            get(&fm, "title"),
            Some(&["Llama 3.2 1B Instruct".to_owned()][..])
        );
        assert_eq!(get(&fm, "license"), Some(&["llama3.2".to_owned()][..]));
        assert_eq!(
            get(&fm, "base_model"),
            Some(&["meta-llama/Llama-3.2-1B-Instruct".to_owned()][..])
        );
        assert_eq!(get(&fm, "library_name"), Some(&["gguf".to_owned()][..]));
        let tags = get(&fm, "tags").unwrap_or_default();
        assert_eq!(
            tags.get(..3),
            Some(&["gguf".to_owned(), "q4_k_m".to_owned(), "llama".to_owned()][..])
        );
        assert_eq!(tags.last().map(String::as_str), Some("lbom-sbom"));
        assert!(text.contains("| Parameters | 1.2B (1,235,814,400) |"));
        // Intraword `_` cannot make emphasis: the value stays findable.
        assert!(text.contains("| Quantization | Q4_K_M |"));
        assert!(text.contains("### Findings: 1 info"));
        assert_eq!(
            text,
            card(&[fixtures::gguf_llama()], &HfReadmeOptions::default())
        );
    }

    #[test]
    fn licences_map_to_hub_ids_or_other() {
        let st = front(&card(
            &[fixtures::safetensors_folder()],
            &HfReadmeOptions::default(),
        ));
        assert_eq!(get(&st, "license"), Some(&["apache-2.0".to_owned()][..]));
        assert_eq!(
            get(&st, "library_name"),
            Some(&["transformers".to_owned()][..])
        );
        let mut lfm = fixtures::gguf_llama();
        lfm.license = Some("other".into());
        lfm.metadata
            .insert("general.license.name".into(), "LFM 1.0".into());
        lfm.metadata
            .insert("general.license.link".into(), "LICENSE".into());
        let fm = front(&card(&[lfm], &HfReadmeOptions::default()));
        assert_eq!(get(&fm, "license"), Some(&["other".to_owned()][..]));
        assert_eq!(get(&fm, "license_name"), Some(&["lfm-1.0".to_owned()][..]));
        assert_eq!(get(&fm, "license_link"), Some(&["LICENSE".to_owned()][..]));
        let none = front(&card(
            &[fixtures::no_licence()],
            &HfReadmeOptions::default(),
        ));
        assert_eq!(get(&none, "license"), None);
        // Different licences: no card-wide claim.
        let mixed = front(&card(
            &[fixtures::gguf_llama(), fixtures::pickle_with_findings()],
            &HfReadmeOptions::default(),
        ));
        assert_eq!(get(&mixed, "license"), None);
        assert_eq!(
            get(&mixed, "title"),
            Some(&["2 model files".to_owned()][..])
        );
    }

    #[test]
    fn space_fields_follow_lbom() {
        let opts = HfReadmeOptions {
            title: Some("Demo".into()),
            short_description: Some("A demo".into()),
            sdk: Some("docker".into()),
            app_file: Some("app.py".into()),
            app_port: Some(7860),
        };
        let fm = front(&card(&[fixtures::gguf_llama()], &opts));
        let keys: Vec<&str> = fm.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "title",
                "short_description",
                "sdk",
                "app_file",
                "app_port",
                "license",
                "models",
                "library_name",
                // The fixture's `general.tags` name the Hub task.
                "pipeline_tag",
                "tags"
            ]
        );
        assert_eq!(get(&fm, "app_port"), Some(&["7860".to_owned()][..]));
        assert_eq!(
            get(&fm, "models"),
            Some(&["meta-llama/Llama-3.2-1B-Instruct".to_owned()][..])
        );
    }

    #[test]
    fn hostile_strings_cannot_inject_yaml_or_markdown() {
        let opts = HfReadmeOptions {
            app_file: Some(HOSTILE.into()),
            sdk: Some("static".into()),
            ..HfReadmeOptions::default()
        };
        let text = card(&fixtures::all(), &opts);
        let fm = front(&text);
        assert_eq!(
            get(&fm, "app_file"),
            Some(&[HOSTILE.to_owned()][..]),
            "value must round-trip exactly"
        );
        assert!(
            fm.iter()
                .all(|(k, vs)| !k.starts_with("BAD") && vs.iter().all(|v| !v.starts_with("BAD")))
        );
        assert_eq!(text.lines().filter(|l| *l == "---").count(), 2);
        assert!(
            text.lines()
                .skip(1)
                .all(|l| l == "---" || !l.starts_with("---"))
        );
        // YAML values hold the string (quoted); the Markdown body never raw.
        let body = text
            .split_once("\n---\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        assert!(
            body.contains("&lt;script&gt;")
                && !body.contains("<script")
                && !body.contains("</text>")
        );
        assert!(!text.contains('\x1b'));
        assert!(!text.contains('\r') && !text.contains('\u{2028}') && !text.contains('\u{202E}'));
        // Table rows keep their column count: every pipe in a value is escaped.
        for row in text.lines().filter(|l| l.starts_with("| ")) {
            let cells = row.replace("\\|", "").matches('|').count();
            assert!(cells == 3 || cells == 4, "{row}");
        }
        let headings: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(headings.len(), 1 + 5 + 5, "{headings:?}");
        assert!(text.lines().all(|l| l.chars().count() < 6_000));
    }

    #[test]
    fn no_local_path_reaches_the_card() {
        let text = card(&fixtures::all(), &HfReadmeOptions::default());
        assert!(!text.contains(LOCAL_DIR) && !text.contains("/home/") && !text.contains("file://"));
        assert!(!text.contains("NaN"));
        let fm = front(&text);
        assert_eq!(
            get(&fm, "base_model"),
            Some(&["meta-llama/Llama-3.2-1B-Instruct".to_owned()][..])
        );
        assert!(
            matches!(render(|o| write(&[], &HfReadmeOptions::default(), &info(), o)), Err(e) if e.contains("at least one"))
        );
    }
}
