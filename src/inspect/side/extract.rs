//! What one side file says, from its bytes alone ([`extract`]). Kept small:
//! a template's text is capped, a config keeps a few values, JSON is never
//! kept as a whole tree (see `json.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::json::{self, NotJson};
use super::{Capture, Role, unread_finding};
use crate::inspect::facts::{Finding, capped_chat_template};
use crate::inspect::hf::{CardFrontMatter, front_matter_is_closed, parse_front_matter};
use crate::inspect::keys::fold;
use crate::inspect::template::template_findings;
use crate::io::digest::{Hasher, Sha256Digest};
use crate::limits::Limits;
use crate::safe::visible;

/// What lbom read from one side file.
#[derive(Debug, Clone, PartialEq)]
pub enum Says {
    /// Nothing but its digest (tokenizer files, licences, generation config).
    Digest,
    /// A file lbom parses that could not be read (too large, not the JSON
    /// its name says): the finding says why, and the file's digest stands
    /// for everything it could have said.
    Unread(Finding),
    /// `config.json`.
    Config(ConfigSays),
    /// `tokenizer_config.json`.
    TokenizerConfig(TokenizerConfigSays),
    /// `chat_template.jinja`, `chat_template.json`, a named template.
    Template(TemplateSays),
    /// `processor_config.json`: the digest of its `chat_template` member
    /// (as for `tokenizer_config.json`) and its templates.
    ProcessorConfig {
        /// The member's digest, when there is one.
        template_member: Option<Sha256Digest>,
        templates: TemplateSays,
    },
    /// `README.md`'s front matter.
    Card(CardFrontMatter),
    /// A `*.safetensors.index.json`.
    Index(ShardIndex),
}

impl Says {
    /// About how many bytes of memory what the file said holds.
    pub fn kept_bytes(&self) -> u64 {
        const ITEM: u64 = 64;
        let text = |t: &TemplateSays| {
            t.text.as_ref().map_or(0, |s| s.len() as u64)
                + t.findings
                    .iter()
                    .map(|f| f.message.len() as u64 + ITEM)
                    .sum::<u64>()
        };
        match self {
            Says::Digest => 0,
            Says::Unread(f) => f.message.len() as u64 + ITEM,
            Says::Config(c) => ITEM.saturating_add(
                c.quantization_config
                    .as_ref()
                    .map_or(0, |q| Value::Object(q.clone()).to_string().len() as u64),
            ),
            Says::TokenizerConfig(t) => ITEM + text(&t.templates),
            Says::Template(t) | Says::ProcessorConfig { templates: t, .. } => ITEM + text(t),
            Says::Card(c) => {
                ITEM + c.blocks.values().map(|b| b.len() as u64).sum::<u64>()
                    + c.languages
                        .iter()
                        .chain(&c.datasets)
                        .chain(c.considerations.values())
                        .chain(&c.pipeline_tag)
                        .map(|v| v.len() as u64 + ITEM)
                        .sum::<u64>()
            }
            Says::Index(i) => i
                .weight_map
                .iter()
                .map(|(t, s)| index_entry_bytes(t, s))
                .sum::<u64>()
                .saturating_add(
                    i.findings
                        .iter()
                        .map(|f| f.message.len() as u64 + ITEM)
                        .sum(),
                ),
        }
    }

    /// What is left of this when the delivery's budget is spent: a template
    /// keeps its digest (not its text), any other file is not read. A
    /// template's first error finding stays (one per file, as for key
    /// findings): padding a delivery past the budget must not turn a
    /// refused template into a warning.
    pub(crate) fn shed(self, name: &str, budget: u64) -> Says {
        let why = format!("the delivery's side files already hold {budget} bytes of facts");
        let first_error = |t: &TemplateSays| {
            t.findings
                .iter()
                .find(|f| f.severity == crate::inspect::facts::Severity::Error)
                .cloned()
        };
        match self {
            Says::Template(t) => Says::Template(TemplateSays {
                sha256: t.sha256,
                text: None,
                findings: std::iter::once(unread_finding(name, &why))
                    .chain(first_error(&t))
                    .collect(),
            }),
            Says::TokenizerConfig(TokenizerConfigSays { templates: t, .. })
            | Says::ProcessorConfig { templates: t, .. } => {
                Says::Unread(first_error(&t).unwrap_or_else(|| unread_finding(name, &why)))
            }
            Says::Digest => Says::Digest,
            Says::Index(_) => Says::Index(bad_index(name, &format!("was not read: {why}"))),
            _ => Says::Unread(unread_finding(name, &why)),
        }
    }
}

/// The values of `config.json` lbom uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigSays {
    /// `model_type` (the family, `llama`, as GGUF's
    /// `general.architecture` names it), else `architectures[0]`.
    pub architecture: Option<String>,
    /// `architectures[0]`: the transformers class (`LlamaForCausalLM`).
    pub architecture_class: Option<String>,
    /// `_name_or_path`: the Hub id or local path the model was saved from.
    pub name_or_path: Option<String>,
    /// `max_position_embeddings`, `n_positions`, `max_seq_len`,
    /// `seq_length` or `n_ctx`, the first present.
    pub context_length: Option<u64>,
    /// `vocab_size`.
    pub vocab_size: Option<u64>,
    /// Whether `transformers_version` is present.
    pub transformers: bool,
    /// `quantization_config`, when an object.
    pub quantization_config: Option<Map<String, Value>>,
    /// `model_type`, as written.
    pub model_type: Option<Value>,
    /// `torch_dtype`, else `dtype`, as written.
    pub torch_dtype: Option<Value>,
}

/// What `tokenizer_config.json` says.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizerConfigSays {
    /// The canonical digest of every member but `chat_template` (json.rs):
    /// the tokenizer settings (added and special tokens, normalisation
    /// flags, `model_max_length`, …), whatever their spelling.
    pub settings: Sha256Digest,
    /// The digest of the `chat_template` member: of its text when a
    /// string, else its canonical digest (a list of named templates).
    pub template_member: Option<Sha256Digest>,
    /// The templates in `chat_template`.
    pub templates: TemplateSays,
    /// `model_max_length` below 2^40 (transformers writes 1e30 for "none").
    pub model_max_length: Option<u64>,
}

/// The default chat template of a file, and its checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateSays {
    /// SHA-256 of the default template's text.
    pub sha256: Option<Sha256Digest>,
    /// The default template's text, capped (`capped_chat_template`).
    pub text: Option<String>,
    /// The template findings (`template.*`) of every template of the file.
    pub findings: Vec<Finding>,
}

/// A parsed `*.safetensors.index.json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardIndex {
    /// tensor name → shard file name.
    pub weight_map: BTreeMap<String, String>,
    /// Distinct shard file names.
    pub shard_names: BTreeSet<String>,
    /// `metadata.total_size`.
    pub total_size: Option<u64>,
    /// Problems with the index itself.
    pub findings: Vec<Finding>,
}

/// What the side file `name` (of `role`, SHA-256 `sha256`) says, from
/// what its reader captured.
pub(crate) fn extract(
    name: &str,
    role: Role,
    sha256: &Sha256Digest,
    capture: Capture<'_>,
    limits: &Limits,
) -> Says {
    let bytes = match (role, capture) {
        (Role::Tokenizer | Role::ModelCode | Role::Licence | Role::GenerationConfig, _) => {
            return Says::Digest;
        }
        (Role::ShardIndex, Capture::Nothing) => {
            return Says::Index(bad_index(
                name,
                &format!("is larger than {} bytes", limits.side_file_max_bytes),
            ));
        }
        (Role::ChatTemplate | Role::NamedTemplate, Capture::Nothing) => {
            // The file is the template: its digest is known, its text is
            // not, and it was not judged (an error: docs/findings.md,
            // "Chat templates").
            return Says::Template(TemplateSays {
                sha256: Some(*sha256),
                text: None,
                findings: vec![
                    unread_finding(name, "too large to check"),
                    template_not_judged(name, limits),
                ],
            });
        }
        (
            Role::TokenizerConfig | Role::ChatTemplateJson | Role::ProcessorConfig,
            Capture::Nothing,
        ) => {
            // Python's json reads it whatever its size, and a renderer
            // renders the template it may hold: not judged is an error.
            return Says::Unread(template_not_judged(name, limits));
        }
        (_, Capture::Nothing) => return Says::Unread(unread_finding(name, "too large")),
        (Role::Card, Capture::Whole(b) | Capture::Prefix(b)) => {
            let text = String::from_utf8_lossy(b);
            if matches!(capture, Capture::Prefix(_)) && !front_matter_is_closed(&text) {
                return Says::Unread(unread_finding(
                    name,
                    "its front matter does not end within the bytes read",
                ));
            }
            return Says::Card(parse_front_matter(&text));
        }
        (_, Capture::Whole(b) | Capture::Prefix(b)) => b,
    };
    let parsed = match role {
        Role::Config => config(bytes).map(Says::Config),
        Role::TokenizerConfig => tokenizer_config(name, bytes, limits).map(Says::TokenizerConfig),
        Role::ChatTemplate | Role::NamedTemplate => {
            let text = String::from_utf8_lossy(bytes);
            Ok(Says::Template(TemplateSays {
                sha256: Some(*sha256),
                text: Some(capped_chat_template(&text)),
                findings: template_findings(name, &text, limits),
            }))
        }
        Role::ChatTemplateJson => chat_template_json(name, bytes, limits).map(Says::Template),
        Role::ProcessorConfig => processor_config(name, bytes, limits),
        Role::ShardIndex => Ok(Says::Index(index(name, bytes, limits.side_facts_max_bytes))),
        Role::Tokenizer | Role::ModelCode | Role::Licence | Role::GenerationConfig | Role::Card => {
            Ok(Says::Digest)
        }
    };
    parsed.unwrap_or_else(|e| {
        Says::Unread(Finding::warning(
            "hf.invalid_json",
            format!("{name} is not valid JSON: {e}"),
        ))
    })
}

/// A side file too large to read, whose chat template(s) were therefore
/// not judged.
fn template_not_judged(name: &str, limits: &Limits) -> Finding {
    Finding::error(
        "template.limit_exceeded",
        format!(
            "{name} is larger than {} bytes: not read, so the chat template it holds or may hold was not judged (its digest stands for everything it could say)",
            limits.side_file_max_bytes
        ),
    )
}

fn config(bytes: &[u8]) -> Result<ConfigSays, NotJson> {
    // Capped at `side_tree_max_bytes`, small enough to hold as a tree.
    let map: Map<String, Value> =
        serde_json::from_slice(bytes).map_err(|e| NotJson(e.to_string()))?;
    let get = |key: &str| map.get(key);
    let get_u64 = |keys: &[&str]| keys.iter().find_map(|k| get(k).and_then(Value::as_u64));
    Ok(ConfigSays {
        architecture: get("model_type")
            .and_then(Value::as_str)
            .or_else(|| {
                get("architectures")
                    .and_then(|a| a.get(0))
                    .and_then(Value::as_str)
            })
            .map(str::to_owned),
        architecture_class: get("architectures")
            .and_then(|a| a.get(0))
            .and_then(Value::as_str)
            .map(str::to_owned),
        name_or_path: get("_name_or_path")
            .and_then(Value::as_str)
            .map(str::to_owned),
        context_length: get_u64(&[
            "max_position_embeddings",
            "n_positions",
            "max_seq_len",
            "seq_length",
            "n_ctx",
        ]),
        vocab_size: get_u64(&["vocab_size"]),
        transformers: get("transformers_version").is_some(),
        quantization_config: get("quantization_config")
            .and_then(Value::as_object)
            .cloned(),
        model_type: get("model_type").cloned(),
        torch_dtype: get("torch_dtype").or_else(|| get("dtype")).cloned(),
    })
}

/// Read a `chat_template` value found in `source`, judging every template
/// in it (a string, or every entry of a list of named templates).
fn read_templates(
    source: &str,
    raw: &serde_json::value::RawValue,
    limits: &Limits,
) -> Result<(json::Templates, Vec<Finding>), NotJson> {
    let mut findings = Vec::new();
    let found = json::templates(raw, &mut |entry, text| {
        let at = if entry == "default" {
            source.to_owned()
        } else {
            format!("{source} ({entry})")
        };
        findings.extend(template_findings(&at, text, limits));
    })?;
    Ok((found, findings))
}

/// Whether `key` is a `chat_template` member, or a key that looks like one
/// (a repeat, a NUL, a look-alike: docs/findings.md, "Key shadowing").
fn is_template_like(key: &str) -> bool {
    key == "chat_template" || fold(key.as_bytes()).to_lowercase() == "chat_template"
}

/// The templates a file's reader does not use are scanned too: an earlier
/// repeat of `chat_template` (Python's json keeps the last) and members
/// that only look like it. Their findings are kept beside the used ones.
struct Shadowed<'l> {
    findings: Vec<Finding>,
    limits: &'l Limits,
}

impl<'l> Shadowed<'l> {
    fn new(limits: &'l Limits) -> Self {
        Shadowed {
            findings: Vec::new(),
            limits,
        }
    }

    /// Scan the member `key` of `name`, which no reader uses.
    fn scan(&mut self, name: &str, key: &str, raw: &RawValue) {
        let source = format!(
            "{name}: key '{}' (a value Python's json does not use)",
            visible(key)
        );
        if let Ok((_, findings)) = read_templates(&source, raw, self.limits) {
            self.findings.extend(findings);
        }
    }

    /// A used `chat_template` replaced by a later repeat: its findings
    /// stay.
    fn replaced(&mut self, earlier: &TemplateSays) {
        self.findings.extend(earlier.findings.iter().cloned());
    }

    fn into(self, says: &mut TemplateSays) {
        says.findings.extend(self.findings);
    }
}

fn template_says(found: json::Templates, findings: Vec<Finding>) -> TemplateSays {
    TemplateSays {
        sha256: found.default_sha256,
        text: found.default_text,
        findings,
    }
}

fn tokenizer_config(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<TokenizerConfigSays, NotJson> {
    let mut settings = Hasher::new();
    settings.update(b"{");
    let mut model_max_length = None;
    let mut chat = TemplateMember::new(limits);
    json::members(bytes, &mut |key, raw| {
        if chat.take(name, key, raw, limits)? {
            return Ok(());
        }
        json::hash_str(&mut settings, key);
        json::hash_canonical(raw, &mut settings)?;
        if key == "model_max_length" {
            model_max_length = serde_json::from_str::<u64>(raw.get())
                .ok()
                .filter(|n| *n < 1 << 40);
        }
        Ok(())
    })?;
    settings.update(b"}");
    let (template_member, templates) = chat.finish();
    Ok(TokenizerConfigSays {
        settings: settings.finish(),
        template_member,
        templates,
        model_max_length,
    })
}

fn chat_template_json(name: &str, bytes: &[u8], limits: &Limits) -> Result<TemplateSays, NotJson> {
    let mut says = TemplateSays::default();
    let mut shadowed = Shadowed::new(limits);
    json::members(bytes, &mut |key, raw| {
        if key == "chat_template" {
            let (found, findings) = read_templates(name, raw, limits)?;
            shadowed.replaced(&says);
            says = template_says(found, findings);
        } else if is_template_like(key) {
            shadowed.scan(name, key, raw);
        }
        Ok(())
    })?;
    shadowed.into(&mut says);
    Ok(says)
}

fn processor_config(name: &str, bytes: &[u8], limits: &Limits) -> Result<Says, NotJson> {
    let mut chat = TemplateMember::new(limits);
    json::members(bytes, &mut |key, raw| {
        chat.take(name, key, raw, limits).map(|_| ())
    })?;
    let (template_member, templates) = chat.finish();
    Ok(Says::ProcessorConfig {
        template_member,
        templates,
    })
}

/// The `chat_template` member of a config file (`tokenizer_config.json`,
/// `processor_config.json`): the templates it holds, the digest that member
/// contributes, and every other template-like key scanned as shadowed.
struct TemplateMember<'l> {
    member: Option<Sha256Digest>,
    templates: TemplateSays,
    shadowed: Shadowed<'l>,
}

impl<'l> TemplateMember<'l> {
    fn new(limits: &'l Limits) -> Self {
        TemplateMember {
            member: None,
            templates: TemplateSays::default(),
            shadowed: Shadowed::new(limits),
        }
    }

    /// Take `key` if it is `chat_template` (the last of a repeated member
    /// wins, as for Python's json): `Ok(true)`. Otherwise scan a
    /// template-like key as shadowed and return `Ok(false)`.
    fn take(
        &mut self,
        name: &str,
        key: &str,
        raw: &RawValue,
        limits: &Limits,
    ) -> Result<bool, NotJson> {
        if key == "chat_template" {
            let (found, findings) = read_templates(&format!("{name} chat_template"), raw, limits)?;
            self.member = Some(match (found.is_string, found.default_sha256) {
                (true, Some(d)) => d,
                _ => json::canonical_digest(raw)?,
            });
            self.shadowed.replaced(&self.templates);
            self.templates = template_says(found, findings);
            return Ok(true);
        }
        if is_template_like(key) {
            self.shadowed.scan(name, key, raw);
        }
        Ok(false)
    }

    /// The member's digest and its templates, shadowed ones included.
    fn finish(self) -> (Option<Sha256Digest>, TemplateSays) {
        let TemplateMember {
            member,
            mut templates,
            shadowed,
        } = self;
        shadowed.into(&mut templates);
        (member, templates)
    }
}

fn bad_index(name: &str, why: &str) -> ShardIndex {
    ShardIndex {
        findings: vec![Finding::error("shards.bad_index", format!("{name} {why}"))],
        ..ShardIndex::default()
    }
}

/// What one weight-map entry costs in memory, about: two strings and a
/// tree node.
fn index_entry_bytes(tensor: &str, shard: &str) -> u64 {
    (tensor.len() + shard.len()) as u64 + 128
}

/// Parse an index, keeping at most `budget` bytes of entries (a file of
/// tiny entries would otherwise cost many times its size).
fn index(name: &str, bytes: &[u8], budget: u64) -> ShardIndex {
    let mut index = ShardIndex::default();
    let mut has_map = false;
    let mut kept = 0u64;
    let walked = json::members(bytes, &mut |key, raw| {
        match key {
            "metadata" => {
                #[derive(serde::Deserialize)]
                struct Meta {
                    total_size: Option<u64>,
                }
                index.total_size = serde_json::from_str::<Meta>(raw.get())
                    .ok()
                    .and_then(|m| m.total_size);
            }
            "weight_map" if raw.get().starts_with('{') => {
                has_map = true;
                index.weight_map.clear();
                index.shard_names.clear();
                json::members(raw.get().as_bytes(), &mut |tensor, shard| {
                    kept = kept.saturating_add(index_entry_bytes(tensor, shard.get()));
                    if kept > budget {
                        return Err(NotJson(format!(
                            "its weight_map holds more than {budget} bytes of entries"
                        )));
                    }
                    weight_map_entry(name, tensor, shard.get(), &mut index);
                    Ok(())
                })?;
            }
            _ => {}
        }
        Ok(())
    });
    if let Err(e) = walked {
        return bad_index(name, &format!("was not read: {e}"));
    }
    if !has_map {
        index.findings.push(Finding::error(
            "shards.bad_index",
            format!("{name} has no weight_map object"),
        ));
    }
    index
}

fn weight_map_entry(name: &str, tensor: &str, raw: &str, index: &mut ShardIndex) {
    let Ok(shard) = serde_json::from_str::<String>(raw) else {
        index.findings.push(Finding::error(
            "shards.bad_index",
            format!("{name}: weight_map value of {tensor} is not a string"),
        ));
        return;
    };
    // The index names files for a loader to open: a name that leaves the
    // folder is an attack on the loader, never followed here.
    if shard.contains('/') || shard.contains('\\') || shard == ".." || shard.is_empty() {
        index.findings.push(Finding::error(
            "shards.bad_name",
            format!("{name} maps {tensor} to {shard:?}, which is not a file in this folder"),
        ));
        return;
    }
    index.shard_names.insert(shard.clone());
    index.weight_map.insert(tensor.to_owned(), shard);
}
