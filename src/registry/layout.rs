//! The registry artifact (docs/registry.md, "The artifact"): a CNCF
//! ModelPack image manifest (github.com/modelpack/model-spec, docs/spec.md
//! and docs/config.md), one raw layer per stored file, and the evidence as
//! OCI 1.1 referrers of it. Every document is built here as exact bytes
//! (compact JSON, fields in the order of the structs) and pushed as
//! written: the digests lbom names are the digests the registry stores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::io::digest::Sha256Digest;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (referrers lists and the referrers tag).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The empty config of the referrers (`{}`).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// ModelPack: the model manifest's `artifactType`.
pub const MODEL_ARTIFACT: &str = "application/vnd.cncf.model.manifest.v1+json";
/// ModelPack: the model config.
pub const MODEL_CONFIG: &str = "application/vnd.cncf.model.config.v1+json";
/// ModelPack: a raw weight file.
pub const WEIGHT_RAW: &str = "application/vnd.cncf.model.weight.v1.raw";
/// ModelPack: a raw weight configuration file (config.json, tokenizer…).
pub const WEIGHT_CONFIG_RAW: &str = "application/vnd.cncf.model.weight.config.v1.raw";
/// ModelPack: a raw documentation file.
pub const DOC_RAW: &str = "application/vnd.cncf.model.doc.v1.raw";
/// ModelPack: a raw code file.
pub const CODE_RAW: &str = "application/vnd.cncf.model.code.v1.raw";
/// ModelPack annotation: the file's path in the model.
pub const ANNOTATION_FILEPATH: &str = "org.cncf.model.filepath";
/// OCI annotation: the title (ORAS and skopeo name files by it).
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
/// OCI annotation: the creation time.
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";
/// OCI annotation: the version.
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
/// lbom annotation: the channel.
pub const ANNOTATION_CHANNEL: &str = "dev.lbom.channel";
/// lbom annotation: the bundle manifest's SHA-256 (the version's identity).
pub const ANNOTATION_BUNDLE_MANIFEST: &str = "dev.lbom.bundle.manifest.sha256";

/// Referrer: the bundle's manifest, attestation and DSSE chain.
pub const CHAIN_ARTIFACT: &str = "application/vnd.lbom.chain.v1";
/// Referrer: the per-file CycloneDX SBOMs.
pub const SBOM_ARTIFACT: &str = "application/vnd.cyclonedx+json";
/// Referrer: the station's signed receipt.
pub const RECEIPT_ARTIFACT: &str = "application/vnd.lbom.receipt.v1";
/// Layer: the bundle manifest (docs/bundle-format.md §5).
pub const BUNDLE_MANIFEST_LAYER: &str = "application/vnd.lbom.bundle.manifest.v2+json";
/// Layer: an in-toto statement (the attestation).
pub const IN_TOTO_LAYER: &str = "application/vnd.in-toto+json";
/// Layer: a DSSE envelope (a chain link, the receipt).
pub const DSSE_LAYER: &str = "application/vnd.dsse.envelope.v1+json";
/// Layer: a CycloneDX SBOM.
pub const CYCLONEDX_LAYER: &str = "application/vnd.cyclonedx+json";

/// The empty JSON object the referrers' config descriptor names.
pub const EMPTY_CONFIG: &[u8] = b"{}";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// `mediaType`.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// `digest` (`sha256:…`).
    pub digest: String,
    /// `size`.
    pub size: u64,
    /// `artifactType` (referrers lists only).
    #[serde(
        rename = "artifactType",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub artifact_type: Option<String>,
    /// `annotations`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor of `bytes`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor::new(media_type, &Sha256Digest::of(bytes), bytes.len() as u64)
    }

    /// A descriptor of content with this digest and size.
    pub fn new(media_type: &str, digest: &Sha256Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: format!("sha256:{}", digest.to_hex()),
            size,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }
    }

    /// The SHA-256 it names; `None` for another algorithm or a malformed
    /// digest.
    pub fn sha256(&self) -> Option<Sha256Digest> {
        self.digest.strip_prefix("sha256:")?.parse().ok()
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// An OCI image manifest (the model, and each referrer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageManifest {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// [`OCI_MANIFEST`].
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    /// `artifactType`.
    #[serde(
        rename = "artifactType",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub artifact_type: Option<String>,
    /// The config.
    pub config: Descriptor,
    /// The layers.
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (referrers).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    /// Its exact bytes (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// An OCI image index (a referrers list, the referrers tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageIndex {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// [`OCI_INDEX`].
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    /// The manifests.
    pub manifests: Vec<Descriptor>,
}

impl ImageIndex {
    /// An empty index.
    pub fn empty() -> ImageIndex {
        ImageIndex {
            schema_version: 2,
            media_type: OCI_INDEX.to_owned(),
            manifests: Vec::new(),
        }
    }

    /// Its exact bytes (compact JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The referrers tag of a manifest digest (distribution spec, "Referrers
/// Tag Schema"): `sha256-<hex>`.
pub fn referrers_tag(digest: &Sha256Digest) -> String {
    format!("sha256-{}", digest.to_hex())
}

/// The ModelPack config (model-spec docs/config.md): what lbom's scan found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// `descriptor`.
    pub descriptor: ModelDescriptor,
    /// `modelfs`.
    pub modelfs: ModelFs,
    /// `config`.
    pub config: ModelExecution,
}

/// `descriptor` of the ModelPack config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelDescriptor {
    /// `createdAt`: the bundle manifest's `created`.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `name`: the bundle name.
    pub name: String,
    /// `version`: the sequence on its channel.
    pub version: String,
}

/// `modelfs` of the ModelPack config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFs {
    /// `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The layers' digests (raw layers: digest = diff id).
    #[serde(rename = "diffIds")]
    pub diff_ids: Vec<String>,
}

/// `config` of the ModelPack config: only what the scan knows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelExecution {
    /// `architecture` (llama, qwen2…).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub architecture: Option<String>,
    /// `format` (gguf, safetensors…).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub format: Option<String>,
    /// `paramSize` (`1.1b`, `494m`).
    #[serde(rename = "paramSize", skip_serializing_if = "Option::is_none", default)]
    pub param_size: Option<String>,
    /// `precision` (the dominant tensor type).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub precision: Option<String>,
    /// `quantization` (Q4_K_M…).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quantization: Option<String>,
}

/// `paramSize` as ModelPack writes it: `8b`, `1.1b`, `494m`, `12k`.
pub fn param_size(count: u64) -> String {
    let (unit, div) = match count {
        c if c >= 1_000_000_000 => ("b", 1e9),
        c if c >= 1_000_000 => ("m", 1e6),
        c if c >= 1_000 => ("k", 1e3),
        c => return c.to_string(),
    };
    #[allow(clippy::cast_precision_loss, reason = "a rounded label")]
    let v = count as f64 / div;
    let text = format!("{v:.1}");
    format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
}

/// The ModelPack media type of a stored file: weights for model files,
/// weight config for the side files next to them (JSON, tokenizers), doc
/// for documents, code for code.
pub fn layer_media_type(path: &str, is_model: bool) -> &'static str {
    if is_model {
        return WEIGHT_RAW;
    }
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if name.starts_with("readme")
        || name.starts_with("license")
        || name.starts_with("licence")
        || matches!(ext, "md" | "txt" | "rst" | "pdf" | "html")
    {
        DOC_RAW
    } else if matches!(ext, "py" | "sh" | "ipynb" | "js") {
        CODE_RAW
    } else {
        WEIGHT_CONFIG_RAW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_sizes_read_as_modelpack_writes_them() {
        assert_eq!(param_size(8_030_261_248), "8b");
        assert_eq!(param_size(1_100_048_384), "1.1b");
        assert_eq!(param_size(494_032_768), "494m");
        assert_eq!(param_size(12_000), "12k");
        assert_eq!(param_size(7), "7");
    }

    #[test]
    fn media_types_follow_the_file() {
        assert_eq!(layer_media_type("m/model.gguf", true), WEIGHT_RAW);
        assert_eq!(
            layer_media_type("m/tokenizer.json", false),
            WEIGHT_CONFIG_RAW
        );
        assert_eq!(layer_media_type("m/README.md", false), DOC_RAW);
        assert_eq!(layer_media_type("LICENSE", false), DOC_RAW);
        assert_eq!(layer_media_type("m/modeling.py", false), CODE_RAW);
    }

    #[test]
    fn documents_are_written_in_one_form() {
        let d = Descriptor::of(OCI_EMPTY, EMPTY_CONFIG);
        assert_eq!(
            d.digest,
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        let m = ImageManifest {
            schema_version: 2,
            media_type: OCI_MANIFEST.into(),
            artifact_type: Some(RECEIPT_ARTIFACT.into()),
            config: d,
            layers: vec![],
            subject: None,
            annotations: BTreeMap::new(),
        };
        let text = String::from_utf8(m.to_bytes()).unwrap_or_default();
        assert!(text.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.lbom.receipt.v1","config":"#), "{text}");
    }
}
