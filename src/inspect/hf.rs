//! What a Hugging Face model folder says about the model files in it:
//! its side files (`config.json`, the tokenizer files, the chat templates,
//! the model card's front matter, the licence; see [`super::side`]).
//! Facts read from the weights themselves always win; the folder only fills
//! what the weights do not say. Every side file that feeds a drift class is
//! also recorded in the model's metadata under a `side:` key
//! (docs/scan-report.md, "Folder models"), so that `diff` sees the same
//! inputs whichever reader (scan, verify, a stored version) described the
//! folder.

use serde_json::Value;

pub use super::card::{CardFrontMatter, front_matter_is_closed, parse_front_matter};
use super::facts::{Finding, ModelFacts};
use super::reference::{local_path_finding, public_reference};
use super::side::{ConfigSays, KEY_PREFIX, Role, Says, SideFile, TemplateSays, UNREAD};
use crate::io::digest::{Hasher, Sha256Digest};

/// Domain tag of a folder's `tokenizer_sha256` (docs/scan-report.md).
const TOKENIZER_DIGEST_TAG: &[u8] = b"lbom-hf-tokenizer-v1\n";

/// What one folder's side files say, applied to each model in it.
#[derive(Debug, Clone, Default)]
pub struct FolderContext {
    config: Option<ConfigSays>,
    model_max_length: Option<u64>,
    has_generation_config: bool,
    /// The tokenizer inputs (name → digest) and their combined digest.
    tokenizer: Vec<(String, Sha256Digest)>,
    tokenizer_sha256: Option<Sha256Digest>,
    /// Every chat template source (key → digest).
    template_keys: Vec<(String, Sha256Digest)>,
    /// The default template: chat_template.jinja, else chat_template.json,
    /// else tokenizer_config.json's `chat_template`.
    chat_template: Option<TemplateSays>,
    /// Findings of the templates (code-like constructs).
    template_findings: Vec<Finding>,
    card: CardFrontMatter,
    /// Keys that apply to every model: licence, base model, unread files.
    keys: Vec<(String, Value)>,
    /// Problems with the side files themselves.
    findings: Vec<Finding>,
}

fn hex(d: &Sha256Digest) -> Value {
    Value::String(d.to_hex())
}

impl FolderContext {
    /// The context of a folder with these side files; `None` when it has
    /// none.
    pub fn from_side_files(files: &[SideFile]) -> Option<Self> {
        if files.is_empty() {
            return None;
        }
        let mut ctx = FolderContext::default();
        let mut jinja: Option<TemplateSays> = None;
        let mut json_template: Option<TemplateSays> = None;
        let mut config_template: Option<TemplateSays> = None;
        let mut processor_template: Option<TemplateSays> = None;
        for f in files {
            ctx.findings.extend(f.key_findings.iter().cloned());
            let key = format!("{KEY_PREFIX}{}", f.name);
            match (&f.says, f.role) {
                (Says::Unread(finding), role) => {
                    ctx.findings.push(finding.clone());
                    ctx.keys.push((format!("{key}{UNREAD}"), hex(&f.sha256)));
                    if role == Role::TokenizerConfig {
                        ctx.tokenizer
                            .push((format!("{}{UNREAD}", f.name), f.sha256));
                    }
                }
                (Says::Config(c), _) => ctx.config = Some(c.clone()),
                (Says::TokenizerConfig(t), _) => {
                    ctx.tokenizer.push((f.name.clone(), t.settings));
                    ctx.model_max_length = t.model_max_length;
                    if let Some(d) = t.template_member {
                        ctx.template_keys.push((format!("{key}#chat_template"), d));
                        ctx.template_findings
                            .extend(t.templates.findings.iter().cloned());
                        config_template = Some(t.templates.clone());
                    }
                }
                (Says::Template(t), role) => {
                    ctx.template_keys.push((key, f.sha256));
                    ctx.template_findings.extend(t.findings.iter().cloned());
                    match role {
                        Role::ChatTemplate => jinja = Some(t.clone()),
                        Role::ChatTemplateJson => json_template = Some(t.clone()),
                        _ => {}
                    }
                }
                (
                    Says::ProcessorConfig {
                        template_member,
                        templates,
                    },
                    _,
                ) => {
                    if let Some(d) = template_member {
                        ctx.template_keys.push((format!("{key}#chat_template"), *d));
                        ctx.template_findings
                            .extend(templates.findings.iter().cloned());
                        processor_template = Some(templates.clone());
                    }
                }
                (Says::Card(card), _) => ctx.card = card.clone(),
                (Says::Digest, Role::Tokenizer) => ctx.tokenizer.push((f.name.clone(), f.sha256)),
                (Says::Digest, Role::Licence | Role::ModelCode) => {
                    ctx.keys.push((key, hex(&f.sha256)));
                }
                (Says::Digest, Role::GenerationConfig) => ctx.has_generation_config = true,
                // Grouping reads the indexes and reports their problems.
                (Says::Index(_) | Says::Digest, _) => {}
            }
        }
        ctx.tokenizer.sort();
        ctx.tokenizer_sha256 = (!ctx.tokenizer.is_empty()).then(|| {
            let mut h = Hasher::new();
            h.update(TOKENIZER_DIGEST_TAG);
            for (name, d) in &ctx.tokenizer {
                h.update(&(name.len() as u64).to_le_bytes());
                h.update(name.as_bytes());
                h.update(d.as_bytes());
            }
            h.finish()
        });
        ctx.template_keys.sort();
        ctx.chat_template = [jinja, json_template, config_template, processor_template]
            .into_iter()
            .flatten()
            .find(|t| t.sha256.is_some());
        // The raw front-matter blocks of the licence and base model keys
        // (card.rs): any edit under them is a change of the input.
        for (member, block) in &ctx.card.blocks {
            ctx.keys.push((
                format!("{KEY_PREFIX}README.md#{member}"),
                Value::String(block.clone()),
            ));
        }
        Some(ctx)
    }

    /// Fill what `facts` does not already know, and record the side-file
    /// inputs of the drift classes in its metadata.
    pub fn apply(&self, facts: &mut ModelFacts) {
        let config = self.config.clone().unwrap_or_default();
        self.apply_config(facts, &config);
        self.apply_tokenizer(facts);
        for (key, value) in &self.keys {
            facts.metadata.insert(key.clone(), value.clone());
        }
        self.apply_card(facts);
        if facts.license.is_none() {
            facts.license = self.card.license.clone();
        }
        self.apply_base_model(facts, &config);
        check_vocab(facts);
        for f in &self.findings {
            facts.push(f.clone());
        }
    }

    /// What config.json (and generation_config.json's presence) says: the
    /// architecture, sizes, framework and quantisation, and the keys the
    /// drift classes compare.
    fn apply_config(&self, facts: &mut ModelFacts, config: &ConfigSays) {
        if facts.architecture.is_none() {
            facts.architecture = config.architecture.clone();
        }
        // The class is its own fact, as l-bom reports it (docs/scan-report.md).
        if let Some(class) = &config.architecture_class {
            facts
                .metadata
                .insert("architecture_class".into(), Value::String(class.clone()));
        }
        if facts.context_length.is_none() {
            facts.context_length = config.context_length.or(self.model_max_length);
        }
        if facts.vocab_size.is_none() {
            facts.vocab_size = config.vocab_size;
        }
        if facts.training_framework.is_none() && config.transformers {
            facts.training_framework = Some("transformers".into());
        }
        if let Some(q) = &config.quantization_config {
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
        if let Some(model_type) = &config.model_type {
            facts
                .metadata
                .insert("config.model_type".into(), model_type.clone());
        }
        if let Some(dtype) = &config.torch_dtype {
            facts
                .metadata
                .insert("config.torch_dtype".into(), dtype.clone());
        }
        if self.has_generation_config {
            facts
                .metadata
                .insert("generation_config.json".into(), Value::Bool(true));
        }
    }

    /// The folder's tokenizer and chat templates, when the weights carry
    /// none, and the templates' findings in any case.
    fn apply_tokenizer(&self, facts: &mut ModelFacts) {
        // A tokenizer or template carried by the weights (GGUF) is the one
        // the runtime uses: the folder's are then not the model's.
        if facts.tokenizer_sha256.is_none() && self.tokenizer_sha256.is_some() {
            facts.tokenizer_sha256 = self.tokenizer_sha256;
            for (name, d) in &self.tokenizer {
                facts.metadata.insert(format!("{KEY_PREFIX}{name}"), hex(d));
            }
        }
        if facts.chat_template_sha256.is_none() && !self.template_keys.is_empty() {
            if let Some(t) = &self.chat_template {
                facts.chat_template_sha256 = t.sha256;
                facts.chat_template = t.text.clone();
            }
            for (key, d) in &self.template_keys {
                facts.metadata.insert(key.clone(), hex(d));
            }
        }
        // A hostile template beside weights that carry their own is still
        // delivered with the model, to whatever renders the folder's.
        for f in &self.template_findings {
            facts.push(f.clone());
        }
    }

    /// The base model, when the weights name none: the card's (a local
    /// path there is a finding, never a fact), else config.json's.
    fn apply_base_model(&self, facts: &mut ModelFacts, config: &ConfigSays) {
        if facts.base_model.is_none()
            && let Some(base) = &self.card.base_model
        {
            match public_reference(base) {
                Some(b) => facts.base_model = Some(b),
                None => facts.push(local_path_finding("README.md base_model")),
            }
        }
        // config.json's `_name_or_path` is where the model was saved from:
        // a base model only when it is a Hub id, never a local path.
        if facts.base_model.is_none()
            && let Some(id) = config
                .name_or_path
                .as_deref()
                .and_then(super::hub_id::public_model_id)
        {
            facts.base_model = Some(id);
        }
    }
}

/// A config vocab_size that the embedding tensor contradicts is a finding
/// (once: the weights' own check may have made it already).
fn check_vocab(facts: &mut ModelFacts) {
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
}

impl FolderContext {
    /// What the model card says of the model's use (docs/scan-report.md,
    /// "Folder models"): its task, languages, datasets and the body's
    /// considerations, as `card.*` metadata keys.
    fn apply_card(&self, facts: &mut ModelFacts) {
        let card = &self.card;
        let list = |items: &[String]| {
            Value::Array(items.iter().map(|i| Value::String(i.clone())).collect())
        };
        if let Some(tag) = &card.pipeline_tag {
            facts
                .metadata
                .insert("card.pipeline_tag".into(), Value::String(tag.clone()));
        }
        if !card.languages.is_empty() {
            facts
                .metadata
                .insert("card.languages".into(), list(&card.languages));
        }
        if !card.datasets.is_empty() {
            facts
                .metadata
                .insert("card.datasets".into(), list(&card.datasets));
        }
        for (kind, text) in &card.considerations {
            facts.metadata.insert(
                format!("card.considerations.{kind}"),
                Value::String(text.clone()),
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::side::SideFiles;
    use crate::limits::Limits;

    /// What the side files of the folder `dir` add to empty facts.
    fn folder_facts(dir: &std::path::Path) -> std::io::Result<ModelFacts> {
        let mut sides = SideFiles::default();
        sides.read_folder(dir, &Limits::default());
        let ctx = FolderContext::from_side_files(sides.folder(dir))
            .ok_or_else(|| std::io::Error::other("no ctx"))?;
        let mut facts = ModelFacts::default();
        ctx.apply(&mut facts);
        Ok(facts)
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
        let facts = folder_facts(dir.path())?;
        assert_eq!(facts.architecture.as_deref(), Some("LlamaForCausalLM"));
        assert_eq!(facts.context_length, Some(2048));
        assert_eq!(facts.vocab_size, Some(256));
        assert_eq!(facts.quantization.as_deref(), Some("gptq-4bit"));
        assert_eq!(facts.license.as_deref(), Some("mit"));
        assert_eq!(facts.base_model, None);
        // The tokenizer: tokenizer.json's bytes and tokenizer_config.json's
        // settings (nothing but the template here), each under its key.
        assert!(facts.tokenizer_sha256.is_some());
        assert_eq!(
            facts.metadata.get("side:tokenizer.json"),
            Some(&Value::String(Sha256Digest::of(b"{}").to_hex()))
        );
        assert!(facts.metadata.contains_key("side:tokenizer_config.json"));
        assert_eq!(
            facts
                .metadata
                .get("side:tokenizer_config.json#chat_template"),
            Some(&Value::String(
                Sha256Digest::of(b"{{ cycler.__init__ }}").to_hex()
            ))
        );
        assert_eq!(
            facts.chat_template_sha256,
            Some(Sha256Digest::of(b"{{ cycler.__init__ }}"))
        );
        assert_eq!(
            facts.metadata.get("side:README.md#license"),
            Some(&Value::String("license: mit".into()))
        );
        let codes: Vec<_> = facts.findings.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["template.code_execution", "model.local_path_leak"]);
        Ok(())
    }

    /// The family as GGUF names it, the class as its own key, and
    /// `_name_or_path` as base model only when it is a Hub id.
    #[test]
    fn config_family_class_and_name_or_path() -> std::io::Result<()> {
        for (name_or_path, base) in [
            ("meta-llama/Llama-3.2-1B", Some("meta-llama/Llama-3.2-1B")),
            ("/home/me/checkpoints/final", None),
            ("./out", None),
            ("C:\\models\\x", None),
        ] {
            let dir = tempfile::tempdir()?;
            std::fs::write(
                dir.path().join("config.json"),
                serde_json::json!({
                    "architectures": ["LlamaForCausalLM"],
                    "model_type": "llama",
                    "_name_or_path": name_or_path,
                })
                .to_string(),
            )?;
            let facts = folder_facts(dir.path())?;
            assert_eq!(facts.architecture.as_deref(), Some("llama"));
            assert_eq!(
                facts.metadata.get("architecture_class"),
                Some(&Value::String("LlamaForCausalLM".into()))
            );
            assert_eq!(facts.base_model.as_deref(), base, "{name_or_path}");
        }
        Ok(())
    }
}
