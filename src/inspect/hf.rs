//! What a Hugging Face model folder says about the model files in it:
//! `config.json`, `tokenizer.json`, `tokenizer_config.json`,
//! `generation_config.json`, chat-template files and the model card's front
//! matter. Facts read from the weights themselves always win; the folder
//! only fills what the weights do not say.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use super::digest::{Sha256Digest, sha256_reader};
use super::facts::{Finding, ModelFacts, capped_chat_template};
use super::keys::fold;
use super::open::open_regular;
use super::reference::{local_path_finding, public_reference};
use super::strict_json::{self, KeyIssue};
use super::template::{code_like_finding, record_chat_template};
use crate::describe::text::visible;
use crate::limits::Limits;

/// JSON side files whose values lbom does not use but whose keys it checks:
/// the loaders read them, and a repeated key there changes what they read.
const KEY_CHECKED_ONLY: [&str; 4] = [
    "tokenizer.json",
    "special_tokens_map.json",
    "generation_config.json",
    "added_tokens.json",
];

/// Side files of one folder, read once and applied to each model in it.
#[derive(Debug, Clone, Default)]
pub struct FolderContext {
    config: Option<Map<String, Value>>,
    tokenizer_config: Option<Map<String, Value>>,
    has_generation_config: bool,
    tokenizer_sha256: Option<Sha256Digest>,
    chat_template: Option<(String, String)>,
    card: CardFrontMatter,
    /// Problems with the side files themselves.
    findings: Vec<Finding>,
}

/// The model card keys lbom uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardFrontMatter {
    /// `license:`
    pub license: Option<String>,
    /// `base_model:` (first entry when a list).
    pub base_model: Option<String>,
    /// `library_name:`
    pub library_name: Option<String>,
}

impl FolderContext {
    /// Read the side files of `dir`; `None` when it has none.
    pub fn load(dir: &Path, limits: &Limits) -> Option<Self> {
        let mut ctx = FolderContext::default();
        let mut any = false;
        if let Some(v) = ctx.read_json(dir, "config.json", limits) {
            ctx.config = v.as_object().cloned();
            any = true;
        }
        if let Some(v) = ctx.read_json(dir, "tokenizer_config.json", limits) {
            ctx.tokenizer_config = v.as_object().cloned();
            any = true;
        }
        if dir.join("generation_config.json").is_file() {
            ctx.has_generation_config = true;
            any = true;
        }
        for name in KEY_CHECKED_ONLY {
            any |= ctx.parse_json(dir, name, limits, false).is_some();
        }
        if let Ok((file, _)) = open_regular(&dir.join("tokenizer.json")) {
            // The tokenizer's identity is its exact bytes: any edit can change
            // how text is split, so hash the whole file rather than a parse of
            // it. Streaming needs no cap; a capped read would silently give
            // the digest of a prefix, blind to edits past it.
            ctx.tokenizer_sha256 = sha256_reader(file).ok();
            any = true;
        }
        ctx.chat_template = ctx.find_chat_template(dir, limits);
        any |= ctx.chat_template.is_some();
        if let Some(text) = read_text(&dir.join("README.md"), limits) {
            ctx.card = parse_front_matter(&text);
            any = true;
        }
        any.then_some(ctx)
    }

    fn read_json(&mut self, dir: &Path, name: &str, limits: &Limits) -> Option<Value> {
        self.parse_json(dir, name, limits, true)
    }

    /// Parse a JSON side file as Python's `json` does (a repeated key keeps
    /// its last value) and report every key that could hide behind another
    /// (docs/findings.md, "Key shadowing"). `keep` false only checks keys.
    fn parse_json(&mut self, dir: &Path, name: &str, limits: &Limits, keep: bool) -> Option<Value> {
        let parsed = if keep {
            strict_json::parse(&read_text(&dir.join(name), limits)?, true)
        } else {
            let (file, len) = open_regular(&dir.join(name)).ok()?;
            if len > limits.json_max_bytes {
                return None;
            }
            strict_json::parse_reader(file.take(limits.json_max_bytes), false)
        };
        match parsed {
            Ok(parsed) => {
                self.key_findings(name, &parsed);
                Some(parsed.value)
            }
            Err(e) => {
                self.findings.push(Finding::warning(
                    "hf.invalid_json",
                    format!("{name} is not valid JSON: {e}"),
                ));
                None
            }
        }
    }

    fn key_findings(&mut self, name: &str, parsed: &strict_json::Parsed) {
        for p in &parsed.problems {
            let key = visible(&p.key);
            let place = match &p.parent {
                None => format!("{name}: key '{key}'"),
                Some(parent) => format!("{name}: key '{key}' inside '{}'", visible(parent)),
            };
            self.findings.push(match &p.issue {
                KeyIssue::Repeated { .. } => Finding::error(
                    "hf.duplicate_key",
                    format!("{place} appears more than once: Python's json keeps the last value, which lbom describes"),
                ),
                KeyIssue::Nul => Finding::error(
                    "key.nul",
                    format!("{place} holds a NUL character: a C-string reader cuts it there"),
                ),
                KeyIssue::Confusable { earlier } => Finding::error(
                    "key.confusable",
                    format!("{place} looks the same as '{}' (up to a NUL, or after NFKC without invisible characters) but is another key to Python's json", visible(earlier)),
                ),
            });
            // A template no reader of this file uses can still be read by
            // another (or by a person): scan it too.
            let template_key =
                p.depth == 1 && fold(p.key.as_bytes()).to_lowercase() == "chat_template";
            let shadowed = match &p.issue {
                KeyIssue::Repeated { replaced } if template_key => replaced.clone(),
                KeyIssue::Nul | KeyIssue::Confusable { .. }
                    if template_key && p.key != "chat_template" =>
                {
                    template_value(parsed.value.get(&p.key))
                }
                _ => None,
            };
            if let Some(text) = shadowed
                && let Some(f) = code_like_finding(
                    &format!("{place} (a value Python's json does not use)"),
                    &text,
                )
            {
                self.findings.push(f);
            }
        }
        if parsed.unlisted > 0 {
            self.findings.push(Finding::error(
                "hf.duplicate_key",
                format!("{name}: {} more key problems not listed", parsed.unlisted),
            ));
        }
    }

    /// `chat_template.jinja`, `chat_template.json`, or the
    /// `chat_template` key of tokenizer_config.json (a string, or a list of
    /// `{name, template}` whose "default" entry is used).
    fn find_chat_template(&mut self, dir: &Path, limits: &Limits) -> Option<(String, String)> {
        if let Some(text) = read_text(&dir.join("chat_template.jinja"), limits) {
            return Some((text, "chat_template.jinja".into()));
        }
        if let Some(v) = self.read_json(dir, "chat_template.json", limits)
            && let Some(t) = template_value(v.get("chat_template"))
        {
            return Some((t, "chat_template.json".into()));
        }
        let t = template_value(self.tokenizer_config.as_ref()?.get("chat_template"))?;
        Some((t, "tokenizer_config.json".into()))
    }

    /// Fill what `facts` does not already know.
    pub fn apply(&self, facts: &mut ModelFacts) {
        let config = self.config.as_ref();
        let get = |key: &str| config.and_then(|c| c.get(key));
        let get_u64 = |keys: &[&str]| keys.iter().find_map(|k| get(k).and_then(Value::as_u64));
        if facts.architecture.is_none() {
            facts.architecture = get("architectures")
                .and_then(|a| a.get(0))
                .and_then(Value::as_str)
                .or_else(|| get("model_type").and_then(Value::as_str))
                .map(str::to_owned);
        }
        if facts.context_length.is_none() {
            facts.context_length = get_u64(&[
                "max_position_embeddings",
                "n_positions",
                "max_seq_len",
                "seq_length",
                "n_ctx",
            ])
            .or_else(|| {
                self.tokenizer_config
                    .as_ref()?
                    .get("model_max_length")?
                    .as_u64()
                    // transformers writes 1e30 as "no limit"
                    .filter(|n| *n < 1 << 40)
            });
        }
        if facts.vocab_size.is_none() {
            facts.vocab_size = get_u64(&["vocab_size"]);
        }
        if facts.training_framework.is_none() && get("transformers_version").is_some() {
            facts.training_framework = Some("transformers".into());
        }
        if let Some(q) = get("quantization_config").and_then(Value::as_object) {
            let method = q
                .get("quant_method")
                .and_then(Value::as_str)
                .unwrap_or("quantized");
            let bits = q.get("bits").and_then(Value::as_u64);
            facts.quantization = Some(match bits {
                Some(b) => format!("{method}-{b}bit"),
                None => method.to_owned(),
            });
            facts
                .metadata
                .insert("quantization_config".into(), Value::Object(q.clone()));
        }
        if let Some(model_type) = get("model_type") {
            facts
                .metadata
                .insert("config.model_type".into(), model_type.clone());
        }
        if let Some(dtype) = get("torch_dtype").or_else(|| get("dtype")) {
            facts
                .metadata
                .insert("config.torch_dtype".into(), dtype.clone());
        }
        if self.has_generation_config {
            facts
                .metadata
                .insert("generation_config.json".into(), Value::Bool(true));
        }
        if facts.tokenizer_sha256.is_none() {
            facts.tokenizer_sha256 = self.tokenizer_sha256;
        }
        if facts.chat_template_sha256.is_none()
            && let Some((text, source)) = &self.chat_template
        {
            record_chat_template(facts, text, source);
            facts.chat_template = Some(capped_chat_template(text));
        }
        if facts.license.is_none() {
            facts.license = self.card.license.clone();
        }
        if facts.base_model.is_none()
            && let Some(base) = &self.card.base_model
        {
            match public_reference(base) {
                Some(b) => facts.base_model = Some(b),
                None => facts.push(local_path_finding("README.md base_model")),
            }
        }
        if let Some(vocab) = facts.vocab_size
            && let Some(rows) = embedding_rows(facts)
            && rows != vocab
            && facts
                .findings
                .iter()
                .all(|f| f.code != "model.vocab_mismatch")
        {
            facts.push(Finding::warning(
                "model.vocab_mismatch",
                format!(
                    "config vocab_size {vocab} differs from the {rows} rows of the embedding tensor"
                ),
            ));
        }
        for f in &self.findings {
            facts.push(f.clone());
        }
    }
}

/// Rows of the token embedding of a safetensors model (row-major shape).
fn embedding_rows(facts: &ModelFacts) -> Option<u64> {
    if facts.format != super::Format::Safetensors {
        return None;
    }
    let t = facts.tensors.iter().find(|t| {
        t.name.ends_with("embed_tokens.weight")
            || t.name.ends_with("wte.weight")
            || t.name == "word_embeddings.weight"
    })?;
    t.shape.first().copied()
}

fn template_value(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("name").and_then(Value::as_str) == Some("default"))
            .or_else(|| items.first())
            .and_then(|i| i.get("template"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// Read a small text file, bounded by `Limits::json_max_bytes`; `None` when
/// missing, unreadable, too large or not UTF-8.
fn read_text(path: &Path, limits: &Limits) -> Option<String> {
    let (file, len): (File, u64) = open_regular(path).ok()?;
    if len > limits.json_max_bytes {
        return None;
    }
    let mut text = String::new();
    file.take(limits.json_max_bytes)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// Parse the few top-level keys lbom needs from a model card's YAML front
/// matter. Deliberately not a YAML parser: only `key: value` and
/// `key:\n- item` at column 0, quotes stripped; anything else is ignored.
pub fn parse_front_matter(text: &str) -> CardFrontMatter {
    let mut card = CardFrontMatter::default();
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return card;
    }
    let mut pending: Option<&str> = None;
    for line in lines {
        if line.trim_end() == "---" {
            break;
        }
        if let Some(key) = pending {
            if let Some(item) = line.trim_start().strip_prefix("- ") {
                set_card_key(&mut card, key, unquote(item));
                pending = None;
                continue;
            }
            pending = None;
        }
        if line.starts_with([' ', '\t', '-', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            pending = Some(key.trim());
        } else {
            set_card_key(&mut card, key.trim(), unquote(value));
        }
    }
    card
}

fn set_card_key(card: &mut CardFrontMatter, key: &str, value: String) {
    let slot = match key {
        "license" => &mut card.license,
        "base_model" => &mut card.base_model,
        "library_name" => &mut card.library_name,
        _ => return,
    };
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value);
    }
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
            "---\nlicense: apache-2.0\nbase_model:\n- \"meta-llama/Llama-3.1-8B\"\ntags:\n- x\nlibrary_name: transformers\n---\n# body\nlicense: mit\n",
        );
        assert_eq!(card.license.as_deref(), Some("apache-2.0"));
        assert_eq!(card.base_model.as_deref(), Some("meta-llama/Llama-3.1-8B"));
        assert_eq!(card.library_name.as_deref(), Some("transformers"));
        assert_eq!(
            parse_front_matter("license: mit\n"),
            CardFrontMatter::default()
        );
    }

    #[test]
    fn folder_context_fills_missing_facts() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"architectures":["LlamaForCausalLM"],"max_position_embeddings":2048,"vocab_size":256,
                "transformers_version":"4.45.0","quantization_config":{"quant_method":"gptq","bits":4}}"#,
        )?;
        std::fs::write(
            dir.path().join("tokenizer_config.json"),
            r#"{"chat_template":"{{ cycler.__init__ }}"}"#,
        )?;
        std::fs::write(dir.path().join("tokenizer.json"), b"{}")?;
        std::fs::write(
            dir.path().join("README.md"),
            "---\nlicense: mit\nbase_model: /home/me/base\n---\n",
        )?;
        let ctx = FolderContext::load(dir.path(), &Limits::default())
            .ok_or_else(|| std::io::Error::other("no ctx"))?;
        let mut facts = ModelFacts::default();
        ctx.apply(&mut facts);
        assert_eq!(facts.architecture.as_deref(), Some("LlamaForCausalLM"));
        assert_eq!(facts.context_length, Some(2048));
        assert_eq!(facts.vocab_size, Some(256));
        assert_eq!(facts.quantization.as_deref(), Some("gptq-4bit"));
        assert_eq!(facts.license.as_deref(), Some("mit"));
        assert_eq!(facts.base_model, None);
        assert_eq!(facts.tokenizer_sha256, Some(Sha256Digest::of(b"{}")));
        let codes: Vec<_> = facts.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["template.code_like", "model.local_path_leak"]);
        Ok(())
    }
}
