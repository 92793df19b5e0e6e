//! The part of the CycloneDX 1.6 object model lbom writes, as serde types
//! (cyclonedx-bom 0.8 stops at 1.5). Field names and shapes follow the
//! official schema `bom-1.6.schema.json` (cyclonedx.org/schema); absent
//! values are left out, never written as `null`. The suite validates every
//! document against that schema in its strict variant (tests/validators.rs).

use serde::Serialize;

fn no<T>(v: &Option<T>) -> bool {
    v.is_none()
}

/// The document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    /// `CycloneDX`.
    pub bom_format: &'static str,
    /// `1.6`.
    pub spec_version: &'static str,
    /// `urn:uuid:…`, a hash of the rest of the document.
    #[serde(skip_serializing_if = "no")]
    pub serial_number: Option<String>,
    /// Always 1.
    pub version: u32,
    /// Time, tool, and the component the BOM describes.
    pub metadata: Metadata,
    /// Everything else described.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// Which component is made of which.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// RFC 3339, whole seconds, UTC.
    pub timestamp: String,
    /// The tool that wrote the document.
    pub tools: Tools,
    /// What the BOM describes.
    #[serde(skip_serializing_if = "no")]
    pub component: Option<Box<Component>>,
}

/// `metadata.tools` (the object form, 1.5 onwards).
#[derive(Debug, Clone, Serialize)]
pub struct Tools {
    /// The tools, as application components.
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// `machine-learning-model`, `file`, `application`, `data`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unique within the document.
    #[serde(rename = "bom-ref", skip_serializing_if = "no")]
    pub bom_ref: Option<String>,
    /// Who supplied it.
    #[serde(skip_serializing_if = "no")]
    pub supplier: Option<Entity>,
    /// Who made it (1.6).
    #[serde(skip_serializing_if = "no")]
    pub manufacturer: Option<Entity>,
    /// Who wrote it (1.6).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<Contact>,
    pub name: String,
    #[serde(skip_serializing_if = "no")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "no")]
    pub description: Option<String>,
    /// Digests of its bytes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Its licences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<serde_json::Value>,
    /// Package URL.
    #[serde(skip_serializing_if = "no")]
    pub purl: Option<String>,
    /// Where it comes from.
    #[serde(skip_serializing_if = "no")]
    pub pedigree: Option<Pedigree>,
    /// Links.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    /// Nested components.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    /// The model card of an ML model.
    #[serde(skip_serializing_if = "no")]
    pub model_card: Option<ModelCard>,
    /// `lbom:` properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `organizationalEntity`.
#[derive(Debug, Clone, Serialize)]
pub struct Entity {
    pub name: String,
    /// Its URLs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<String>,
}

/// `organizationalContact`.
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hash {
    /// `SHA-256`.
    pub alg: &'static str,
    /// Lowercase hex.
    pub content: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pedigree {
    /// The components this one derives from.
    pub ancestors: Vec<Component>,
}

/// `externalReference`.
#[derive(Debug, Clone, Serialize)]
pub struct ExternalReference {
    pub url: String,
    /// Which key said it.
    pub comment: String,
    /// `website`, `vcs`, `distribution`, `license`, `documentation`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Property {
    /// `lbom:…`.
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The component.
    #[serde(rename = "ref")]
    pub reference: String,
    /// What it is made of.
    pub depends_on: Vec<String>,
}

/// `modelCard`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard {
    /// What the model is.
    #[serde(skip_serializing_if = "no")]
    pub model_parameters: Option<ModelParameters>,
    /// What its card says of its use.
    #[serde(skip_serializing_if = "no")]
    pub considerations: Option<Considerations>,
    /// `lbom:` properties (languages).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `modelCard.modelParameters`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelParameters {
    /// A Hub pipeline tag.
    #[serde(skip_serializing_if = "no")]
    pub task: Option<String>,
    /// `llama`.
    #[serde(skip_serializing_if = "no")]
    pub architecture_family: Option<String>,
    /// `LlamaForCausalLM`.
    #[serde(skip_serializing_if = "no")]
    pub model_architecture: Option<String>,
    /// Training data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<DataSet>,
    /// Input formats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<Format>,
    /// Output formats.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<Format>,
}

/// `componentData`, inline.
#[derive(Debug, Clone, Serialize)]
pub struct DataSet {
    /// `dataset`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    /// Where it is.
    #[serde(skip_serializing_if = "no")]
    pub contents: Option<DataContents>,
}

/// `componentData.contents`.
#[derive(Debug, Clone, Serialize)]
pub struct DataContents {
    pub url: String,
}

/// `inputOutputMLParameters`.
#[derive(Debug, Clone, Serialize)]
pub struct Format {
    /// `text`, `image`, …
    pub format: String,
}

/// `modelCard.considerations`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Considerations {
    /// Who it is for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub use_cases: Vec<String>,
    /// What it cannot do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub technical_limitations: Vec<String>,
    /// What it trades off.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performance_tradeoffs: Vec<String>,
    /// Its ethical risks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ethical_considerations: Vec<Risk>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    /// The risk, as the card says it.
    pub name: String,
}
