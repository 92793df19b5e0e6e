//! What a model file says about who made it, where it comes from and what
//! it is for, read from its facts for the SBOM writers that have fields for
//! them (CycloneDX 1.6, SPDX 3). Only what the file or its folder says:
//! GGUF's `general.*` keys (gguf-py `Keys.General`), a Hub cache's
//! repository and revision, config.json, and the model card's front matter
//! and body (`card.*` keys, docs/scan-report.md, "Folder models").
//! Nothing is guessed from names.

use serde_json::Value;

use super::text::is_plain_https;
use crate::inspect::ModelFacts;
use crate::inspect::hub_id::public_model_id;
use crate::safe::{shorten, visible};

/// Longest untrusted value carried into an identity field.
const MAX_CHARS: usize = 1024;
/// Most base models or datasets listed.
const MAX_ITEMS: u64 = 64;

/// Hub pipeline tags (huggingface_hub `PipelineTag`) lbom maps to the
/// formats of a model's input and output: (task, input, output).
const TASK_IO: &[(&str, &str, &str)] = &[
    ("text-generation", "text", "text"),
    ("text2text-generation", "text", "text"),
    ("summarization", "text", "text"),
    ("translation", "text", "text"),
    ("question-answering", "text", "text"),
    ("fill-mask", "text", "text"),
    ("conversational", "text", "text"),
    ("text-classification", "text", "label"),
    ("token-classification", "text", "label"),
    ("zero-shot-classification", "text", "label"),
    ("feature-extraction", "text", "vector"),
    ("sentence-similarity", "text", "score"),
    ("image-text-to-text", "image and text", "text"),
    ("image-to-text", "image", "text"),
    ("text-to-image", "text", "image"),
    ("image-classification", "image", "label"),
    ("automatic-speech-recognition", "audio", "text"),
    ("text-to-speech", "text", "audio"),
];

/// An organisation or person named by the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The name as written (made visible, bounded).
    pub name: String,
    /// Its URL, when the file gives one.
    pub url: Option<String>,
}

/// A link to somewhere the model is described or published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// CycloneDX `externalReference` type (`website`, `vcs`,
    /// `distribution`, `license`).
    pub kind: &'static str,
    /// The `https://` URL.
    pub url: String,
    /// Which key said it.
    pub comment: String,
}

/// A Hub identity: `owner/name` and, when known, the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubId {
    /// `owner/name`.
    pub repo: String,
    /// 40 lowercase hex digits.
    pub revision: Option<String>,
}

impl HubId {
    /// `pkg:huggingface/OWNER/NAME[@REV]` (purl-spec, type `huggingface`).
    /// Hub names are `[A-Za-z0-9._-]` ([`public_model_id`]), which purl
    /// carries unencoded.
    pub fn purl(&self) -> String {
        match &self.revision {
            Some(rev) => format!("pkg:huggingface/{}@{rev}", self.repo),
            None => format!("pkg:huggingface/{}", self.repo),
        }
    }
}

/// A model this one derives from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestor {
    /// Its name (the key's `name`, else its Hub id, else its URL).
    pub name: String,
    /// Its organisation.
    pub organization: Option<String>,
    /// Its Hub identity.
    pub hub: Option<HubId>,
    /// Its repository URL.
    pub url: Option<String>,
}

/// A dataset the model was trained on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Its name or Hub id.
    pub name: String,
    pub url: Option<String>,
}

/// Everything [`identity`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `general.version`, else the Hub revision.
    pub version: Option<String>,
    /// Who supplied this file: `general.quantized_by`, else the
    /// organisation.
    pub supplier: Option<Party>,
    /// Who made the model: `general.organization`, else the Hub owner.
    pub manufacturer: Option<Party>,
    /// `general.author`.
    pub authors: Vec<String>,
    /// `general.description`.
    pub description: Option<String>,
    /// The model's own Hub identity.
    pub hub: Option<HubId>,
    /// Source and licence links.
    pub links: Vec<Link>,
    /// Base models.
    pub ancestors: Vec<Ancestor>,
    /// Training datasets.
    pub datasets: Vec<Dataset>,
    /// The task (a Hub pipeline tag).
    pub task: Option<String>,
    /// Input and output formats of the task.
    pub io: Option<(&'static str, &'static str)>,
    /// Languages (card `language`, GGUF `general.languages`).
    pub languages: Vec<String>,
    /// The model family (`llama`).
    pub family: Option<String>,
    /// The implementation class (`LlamaForCausalLM`).
    pub class: Option<String>,
    /// Card body: consideration kind → text.
    pub considerations: Vec<(String, String)>,
}

fn clean(raw: &str) -> Option<String> {
    let v = shorten(&visible(raw.trim()), MAX_CHARS);
    (!v.is_empty()).then_some(v)
}

fn url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    is_plain_https(raw).then(|| raw.to_owned())
}

/// A transformers class name (`LlamaForCausalLM`), as config.json's
/// `architectures` gives it, rather than a family (`llama`).
pub fn is_class_name(arch: &str) -> bool {
    arch.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && arch.chars().all(|c| c.is_ascii_alphanumeric())
        && (arch.contains("For") || arch.ends_with("Model"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => clean(s).into_iter().collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(clean)
            .take(MAX_ITEMS as usize)
            .collect(),
        _ => Vec::new(),
    }
}

/// The Hub identity a URL or id names.
fn hub_of(raw: &str) -> Option<HubId> {
    let raw = raw.trim();
    let id_like = raw.starts_with("https://huggingface.co/") || !raw.contains(':');
    let repo = public_model_id(raw).filter(|_| id_like)?;
    Some(HubId {
        repo,
        revision: None,
    })
}

/// Read the identity facts of one model.
pub fn identity(m: &ModelFacts) -> Identity {
    let meta_str = |k: &str| meta_str(m, k);
    let mut id = Identity::default();

    let revision = revision(m);
    id.hub = own_hub(m, revision.clone());
    id.version = meta_str("general.version").or(revision);
    id.description = meta_str("general.description");
    let organization = meta_str("general.organization").map(|name| Party { name, url: None });
    id.manufacturer = organization.clone().or_else(|| {
        let hub = id.hub.as_ref()?;
        let (owner, _) = hub.repo.split_once('/')?;
        Some(Party {
            name: owner.to_owned(),
            url: Some(format!("https://huggingface.co/{owner}")),
        })
    });
    id.supplier = meta_str("general.quantized_by")
        .map(|name| Party { name, url: None })
        .or_else(|| id.manufacturer.clone());
    id.authors = meta_str("general.author").into_iter().collect();
    id.links = links(m, id.hub.as_ref());

    id.ancestors = ancestors(m);
    id.datasets = datasets(m);

    id.task = task(m);
    id.io = id.task.as_deref().and_then(|t| {
        TASK_IO
            .iter()
            .find(|(task, _, _)| *task == t)
            .map(|(_, i, o)| (*i, *o))
    });
    id.languages = strings(m.metadata.get("card.languages"));
    if id.languages.is_empty() {
        id.languages = strings(m.metadata.get("general.languages"));
    }

    (id.family, id.class) = family_and_class(m);
    id.considerations = considerations(m);
    id
}

/// A metadata value as clean text.
fn meta_str(m: &ModelFacts, key: &str) -> Option<String> {
    m.metadata.get(key).and_then(Value::as_str).and_then(clean)
}

/// The Hub commit a Hub cache names the model with (40 lowercase hex
/// digits, else nothing).
fn revision(m: &ModelFacts) -> Option<String> {
    meta_str(m, "hf_revision").filter(|r| {
        r.len() == 40
            && r.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

/// The model's own Hub identity: a Hub cache names it with its commit;
/// a GGUF file may name the repository it was converted from.
fn own_hub(m: &ModelFacts, revision: Option<String>) -> Option<HubId> {
    meta_str(m, "hf_repo_id")
        .and_then(|r| public_model_id(&r))
        .map(|repo| HubId { repo, revision })
        .or_else(|| {
            [
                "general.source.huggingface.repository",
                "general.source.url",
                "general.url",
                "general.repo_url",
            ]
            .into_iter()
            .find_map(|k| meta_str(m, k).and_then(|v| hub_of(&v)))
        })
}

/// The file's own source and licence links, then the Hub repository's
/// page unless a key already gave it.
fn links(m: &ModelFacts, hub: Option<&HubId>) -> Vec<Link> {
    let mut links = Vec::new();
    for (key, kind) in [
        ("general.url", "website"),
        ("general.source.url", "distribution"),
        ("general.repo_url", "vcs"),
        ("general.source.repo_url", "vcs"),
        ("general.doi", "documentation"),
        ("general.license.link", "license"),
    ] {
        if let Some(u) = m.metadata.get(key).and_then(Value::as_str).and_then(url) {
            links.push(Link {
                kind,
                url: u,
                comment: key.to_owned(),
            });
        }
    }
    if let Some(hub) = hub {
        let u = format!("https://huggingface.co/{}", hub.repo);
        if !links.iter().any(|l| l.url == u) {
            links.push(Link {
                kind: "distribution",
                url: u,
                comment: "Hugging Face Hub repository".into(),
            });
        }
    }
    links
}

/// The card's pipeline tag, else the first of the file's tags that is a
/// task lbom knows.
fn task(m: &ModelFacts) -> Option<String> {
    let tags = strings(m.metadata.get("general.tags"));
    meta_str(m, "card.pipeline_tag").or_else(|| {
        tags.iter()
            .find(|t| TASK_IO.iter().any(|(task, _, _)| task == t))
            .cloned()
    })
}

/// (family, class): `architecture` is one or the other, the other one comes
/// from config.json's `model_type` or the `architecture_class` key.
fn family_and_class(m: &ModelFacts) -> (Option<String>, Option<String>) {
    match m.architecture.as_deref() {
        Some(arch) if is_class_name(arch) => (meta_str(m, "config.model_type"), clean(arch)),
        Some(arch) => (clean(arch), meta_str(m, "architecture_class")),
        None => (None, None),
    }
}

/// The card body's considerations (`card.considerations.KIND`), in key
/// order.
fn considerations(m: &ModelFacts) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, v) in &m.metadata {
        if let (Some(kind), Some(text)) = (
            key.strip_prefix("card.considerations."),
            v.as_str().and_then(clean),
        ) {
            out.push((kind.to_owned(), text));
        }
    }
    out
}

/// `general.base_model.N.*` (gguf-py), else the model's `base_model` (a
/// card's or config's Hub id).
fn ancestors(m: &ModelFacts) -> Vec<Ancestor> {
    let meta_str = |k: String| m.metadata.get(&k).and_then(Value::as_str).and_then(clean);
    let count = m
        .metadata
        .get("general.base_model.count")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(MAX_ITEMS);
    let mut out = Vec::new();
    for n in 0..count {
        let key = |k: &str| format!("general.base_model.{n}.{k}");
        let repo_url = meta_str(key("repo_url")).and_then(|u| url(&u));
        let hub = repo_url.as_deref().and_then(hub_of);
        let name = meta_str(key("name"))
            .or_else(|| hub.as_ref().map(|h| h.repo.clone()))
            .or_else(|| repo_url.clone());
        if let Some(name) = name {
            out.push(Ancestor {
                name,
                organization: meta_str(key("organization")),
                hub,
                url: repo_url,
            });
        }
    }
    if out.is_empty()
        && let Some(base) = m.base_model.as_deref()
    {
        let hub = hub_of(base);
        let link = url(base);
        if let Some(name) = hub
            .as_ref()
            .map(|h| h.repo.clone())
            .or_else(|| link.clone())
        {
            out.push(Ancestor {
                name,
                organization: None,
                hub,
                url: link,
            });
        }
    }
    out
}

/// `general.dataset.N.*` (gguf-py), else the card's `datasets`.
fn datasets(m: &ModelFacts) -> Vec<Dataset> {
    let meta_str = |k: String| m.metadata.get(&k).and_then(Value::as_str).and_then(clean);
    let count = m
        .metadata
        .get("general.dataset.count")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(MAX_ITEMS);
    let mut out: Vec<Dataset> = (0..count)
        .filter_map(|n| {
            let key = |k: &str| format!("general.dataset.{n}.{k}");
            let link = meta_str(key("repo_url")).and_then(|u| url(&u));
            Some(Dataset {
                name: meta_str(key("name")).or_else(|| link.clone())?,
                url: link,
            })
        })
        .collect();
    if out.is_empty() {
        out = strings(m.metadata.get("card.datasets"))
            .into_iter()
            .map(|name| Dataset {
                url: public_model_id(&name)
                    .filter(|_| !name.contains(':'))
                    .map(|id| format!("https://huggingface.co/datasets/{id}")),
                name,
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::fixtures;

    #[test]
    fn gguf_general_keys_fill_the_identity() {
        let mut m = fixtures::gguf_llama();
        for (k, v) in [
            ("general.organization", "Meta"),
            ("general.author", "Llama team"),
            ("general.version", "3.2"),
            ("general.quantized_by", "bartowski"),
            (
                "general.source.url",
                "https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct",
            ),
            ("general.base_model.0.name", "Llama 3.2 1B"),
            (
                "general.base_model.0.repo_url",
                "https://huggingface.co/meta-llama/Llama-3.2-1B",
            ),
            ("general.dataset.0.name", "TinyStories"),
        ] {
            m.metadata.insert(k.into(), Value::String(v.into()));
        }
        m.metadata
            .insert("general.base_model.count".into(), Value::from(1));
        m.metadata
            .insert("general.dataset.count".into(), Value::from(1));
        m.metadata.insert(
            "general.tags".into(),
            serde_json::json!(["text-generation", "x"]),
        );
        let id = identity(&m);
        assert_eq!(id.version.as_deref(), Some("3.2"));
        assert_eq!(id.manufacturer.map(|p| p.name).as_deref(), Some("Meta"));
        assert_eq!(id.supplier.map(|p| p.name).as_deref(), Some("bartowski"));
        assert_eq!(id.authors, ["Llama team"]);
        assert_eq!(
            id.hub.map(|h| h.purl()).as_deref(),
            Some("pkg:huggingface/meta-llama/Llama-3.2-1B-Instruct")
        );
        let base = id.ancestors.first().cloned();
        assert_eq!(base.as_ref().map(|a| a.name.as_str()), Some("Llama 3.2 1B"));
        assert_eq!(
            base.and_then(|a| a.hub).map(|h| h.repo).as_deref(),
            Some("meta-llama/Llama-3.2-1B")
        );
        assert_eq!(id.task.as_deref(), Some("text-generation"));
        assert_eq!(id.io, Some(("text", "text")));
        assert_eq!(
            id.datasets.first().map(|d| d.name.as_str()),
            Some("TinyStories")
        );
    }

    #[test]
    fn local_paths_and_odd_urls_give_no_identity() {
        let mut m = fixtures::gguf_llama();
        m.metadata.insert(
            "general.source.url".into(),
            Value::String("file:///home/me/model".into()),
        );
        m.metadata.insert(
            "hf_revision".into(),
            Value::String("ABCDEF0123456789ABCDEF0123456789ABCDEF01".into()),
        );
        m.metadata
            .insert("hf_repo_id".into(), Value::String("../x/y".into()));
        m.base_model = Some("/home/me/base".into());
        let id = identity(&m);
        assert_eq!(id.hub, None);
        assert!(id.links.is_empty(), "{:?}", id.links);
        assert!(id.ancestors.is_empty());
        assert_eq!(id.version, None);
    }
}
