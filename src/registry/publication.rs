//! A stored version as the registry artifact (docs/registry.md, "The
//! artifact"): the documents and the blobs `push` uploads and
//! `export --oci-layout` writes, built once from the version's records so
//! that both write the same artifact.

use std::collections::BTreeMap;
use std::io::Read;

use super::error::RegistryError;
use super::layout::{self, Descriptor, ImageManifest, ModelConfig};
use crate::bundle::{ManifestEntry, Role};
use crate::import::Baseline;
use crate::io::digest::Sha256Digest;

/// The largest metadata file (SBOM, link, receipt) read whole.
const MAX_METADATA_BYTES: u64 = 16 << 20;

/// Where a blob's bytes come from.
#[derive(Debug, Clone)]
pub enum BlobSource {
    /// Held in memory (documents, SBOMs, links, the receipt).
    Bytes(Vec<u8>),
    /// A file of the stored version (`files/P`), streamed.
    StoreFile(String),
}

/// One blob of the artifact.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Its digest.
    pub digest: Sha256Digest,
    /// Its size.
    pub size: u64,
    /// Its bytes.
    pub source: BlobSource,
}

/// One document (manifest) with its exact bytes.
#[derive(Debug, Clone)]
pub struct Document {
    /// The manifest.
    pub manifest: ImageManifest,
    /// Its bytes, as pushed.
    pub bytes: Vec<u8>,
    /// Their SHA-256 (the manifest digest).
    pub digest: Sha256Digest,
}

impl Document {
    fn new(manifest: ImageManifest) -> Document {
        let bytes = manifest.to_bytes();
        Document {
            digest: Sha256Digest::of(&bytes),
            manifest,
            bytes,
        }
    }

    /// Its descriptor (in a referrers list: with its `artifactType`).
    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::new(layout::OCI_MANIFEST, &self.digest, self.bytes.len() as u64);
        d.artifact_type = self.manifest.artifact_type.clone();
        d
    }
}

/// The whole artifact of one stored version.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The model manifest.
    pub model: Document,
    /// The referrers: chain, SBOMs, receipt.
    pub referrers: Vec<Document>,
    /// Every blob the documents name, each once, the model's layers first.
    pub blobs: Vec<Blob>,
    /// The channel and sequence published.
    pub channel: String,
    /// The sequence.
    pub sequence: u64,
}

fn read_metadata(version: &Baseline, rel: &str) -> Result<Vec<u8>, RegistryError> {
    version.read_small(rel, MAX_METADATA_BYTES)?.ok_or_else(|| {
        RegistryError::Store(crate::import::StoreError::damaged(
            &version.dir.join(rel),
            "is missing",
        ))
    })
}

/// `bytes` must have the digest the records give it.
fn checked(rel: &str, bytes: Vec<u8>, want: &Sha256Digest) -> Result<Vec<u8>, RegistryError> {
    let got = Sha256Digest::of(&bytes);
    if got != *want {
        return Err(RegistryError::Digest {
            what: format!("stored {rel}"),
            want: format!("sha256:{}", want.to_hex()),
            got: format!("sha256:{}", got.to_hex()),
        });
    }
    Ok(bytes)
}

fn layer(
    media_type: &str,
    digest: &Sha256Digest,
    size: u64,
    path: &str,
    title: &str,
) -> Descriptor {
    let mut d = Descriptor::new(media_type, digest, size);
    d.annotations
        .insert(layout::ANNOTATION_FILEPATH.into(), path.into());
    d.annotations
        .insert(layout::ANNOTATION_TITLE.into(), title.into());
    d
}

fn referrer(artifact_type: &str, layers: Vec<Descriptor>, subject: &Document) -> Document {
    Document::new(ImageManifest {
        schema_version: 2,
        media_type: layout::OCI_MANIFEST.into(),
        artifact_type: Some(artifact_type.into()),
        config: Descriptor::of(layout::OCI_EMPTY, layout::EMPTY_CONFIG),
        layers,
        subject: Some(subject.descriptor()),
        annotations: BTreeMap::new(),
    })
}

/// The ModelPack config of the version: the first model file's facts.
fn model_config(version: &Baseline, layers: &[Descriptor]) -> Result<ModelConfig, RegistryError> {
    let facts = version.facts()?;
    let model = facts.iter().find(|f| crate::inspect::delivery::is_model(f));
    let format = model
        .and_then(|f| serde_json::to_value(f.format).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    let precision = model.and_then(|f| {
        f.tensor_types
            .iter()
            .max_by_key(|(_, s)| s.parameters)
            .map(|(name, _)| name.to_ascii_lowercase())
            .or_else(|| f.dtype.clone())
    });
    let m = &version.manifest;
    Ok(ModelConfig {
        descriptor: layout::ModelDescriptor {
            created_at: m.created.clone(),
            name: m.name.clone(),
            version: m.sequence.to_string(),
        },
        modelfs: layout::ModelFs {
            kind: "layers".into(),
            diff_ids: layers.iter().map(|l| l.digest.clone()).collect(),
        },
        config: layout::ModelExecution {
            architecture: model.and_then(|f| f.architecture.clone()),
            format,
            param_size: model
                .and_then(|f| f.parameter_count)
                .map(layout::param_size),
            precision,
            quantization: model.and_then(|f| f.quantization.clone()),
        },
    })
}

/// The layers and blobs read from a version's entries.
#[derive(Default)]
struct Parts {
    blobs: Vec<Blob>,
    layers: Vec<Descriptor>,
    sbom_layers: Vec<Descriptor>,
    chain_layers: Vec<Descriptor>,
}

impl Parts {
    /// A small file of the version, checked against its recorded digest,
    /// as a layer of a referrer.
    fn metadata(
        &mut self,
        version: &Baseline,
        rel: &str,
        sha256: &Sha256Digest,
        media_type: &str,
        (path, title): (&str, &str),
    ) -> Result<Descriptor, RegistryError> {
        let bytes = checked(rel, read_metadata(version, rel)?, sha256)?;
        let d = layer(media_type, sha256, bytes.len() as u64, path, title);
        self.blobs.push(Blob {
            digest: *sha256,
            size: bytes.len() as u64,
            source: BlobSource::Bytes(bytes),
        });
        Ok(d)
    }

    /// One layer per artifact (streamed from `files/`), one SBOM layer per
    /// SBOM; the attestation's layer.
    fn entries(&mut self, version: &Baseline) -> Result<Descriptor, RegistryError> {
        // A version that arrived as a differential bundle is stored whole,
        // but its signed manifest lists recipes against its base
        // (docs/bundle-format.md section 14): a node could not rebuild the
        // signed bundle from the layers, so it is refused here, not there.
        if let Some(base) = &version.manifest.base {
            return Err(RegistryError::Unsupported(format!(
                "{}: this version arrived as a differential bundle (rebuilt from version {}), \
                 whose signed entries a node cannot rebuild from the files alone; \
                 push a version that arrived as a full bundle (docs/registry.md)",
                version.dir.display(),
                base.sequence
            )));
        }
        let facts = version.facts()?;
        let mut attestation = None;
        for entry in &version.manifest.entries {
            let name = entry.path.as_str();
            let rel = format!("bundle/{name}");
            match entry.role {
                Role::Artifact => {
                    let Some(path) = entry.artifact_path() else {
                        continue;
                    };
                    let p = path.as_str();
                    let is_model = facts
                        .iter()
                        .find(|f| f.model_path == p)
                        .is_some_and(crate::inspect::delivery::is_model);
                    let media = layout::layer_media_type(p, is_model);
                    self.layers
                        .push(layer(media, &entry.sha256, entry.size, p, p));
                    self.blobs.push(Blob {
                        digest: entry.sha256,
                        size: entry.size,
                        source: BlobSource::StoreFile(format!("files/{p}")),
                    });
                }
                Role::Sbom => {
                    let artifact = sbom_artifact(entry);
                    let d = self.metadata(
                        version,
                        &rel,
                        &entry.sha256,
                        layout::CYCLONEDX_LAYER,
                        (&artifact, name),
                    )?;
                    self.sbom_layers.push(d);
                }
                Role::Attestation => {
                    let d = self.metadata(
                        version,
                        &rel,
                        &entry.sha256,
                        layout::IN_TOTO_LAYER,
                        (name, name),
                    )?;
                    attestation = Some(d);
                }
            }
        }
        attestation.ok_or_else(|| {
            RegistryError::Artifact(format!(
                "{}: the manifest lists no attestation",
                version.dir.display()
            ))
        })
    }

    /// The chain referrer's layers: the bundle manifest, the attestation,
    /// the links in order.
    fn chain(&mut self, version: &Baseline, attestation: Descriptor) -> Result<(), RegistryError> {
        let manifest_bytes = version.manifest_bytes.clone();
        let manifest_digest = Sha256Digest::of(&manifest_bytes);
        let name = crate::bundle::layout::MANIFEST;
        self.chain_layers.push(layer(
            layout::BUNDLE_MANIFEST_LAYER,
            &manifest_digest,
            manifest_bytes.len() as u64,
            name,
            name,
        ));
        self.blobs.push(Blob {
            digest: manifest_digest,
            size: manifest_bytes.len() as u64,
            source: BlobSource::Bytes(manifest_bytes),
        });
        self.chain_layers.push(attestation);
        let mut links: Vec<_> = version
            .record
            .unlisted
            .iter()
            .filter(|f| f.path.starts_with("bundle/chain/"))
            .collect();
        links.sort_by(|a, b| a.path.cmp(&b.path));
        for link in links {
            let name = link.path.strip_prefix("bundle/").unwrap_or(&link.path);
            let d = self.metadata(
                version,
                &link.path,
                &link.sha256,
                layout::DSSE_LAYER,
                (name, name),
            )?;
            self.chain_layers.push(d);
        }
        Ok(())
    }
}

/// The model manifest: the ModelPack config, the layers, the annotations.
fn model_document(version: &Baseline, layers: Vec<Descriptor>, config: &[u8]) -> Document {
    let m = &version.manifest;
    let mut annotations = BTreeMap::new();
    annotations.insert(layout::ANNOTATION_CREATED.to_owned(), m.created.clone());
    annotations.insert(layout::ANNOTATION_TITLE.to_owned(), m.name.clone());
    annotations.insert(
        layout::ANNOTATION_VERSION.to_owned(),
        m.sequence.to_string(),
    );
    annotations.insert(layout::ANNOTATION_CHANNEL.to_owned(), m.channel.clone());
    annotations.insert(
        layout::ANNOTATION_BUNDLE_MANIFEST.to_owned(),
        version.record.manifest_sha256.to_hex(),
    );
    Document::new(ImageManifest {
        schema_version: 2,
        media_type: layout::OCI_MANIFEST.into(),
        artifact_type: Some(layout::MODEL_ARTIFACT.into()),
        config: Descriptor::of(layout::MODEL_CONFIG, config),
        layers,
        subject: None,
        annotations,
    })
}

/// The artifact of a stored version. Refuses a version without a receipt
/// (the evidence would not travel whole).
pub fn publication(version: &Baseline) -> Result<Publication, RegistryError> {
    let m = &version.manifest;
    let receipt_sha256 = version.record.receipt_sha256.ok_or_else(|| {
        RegistryError::Unsupported(format!(
            "{}: this version has no station receipt (it was imported without --key); the registry artifact carries the receipt, and nodes verify it",
            version.dir.display()
        ))
    })?;
    let mut parts = Parts::default();
    let attestation = parts.entries(version)?;
    let config = serde_json::to_vec(&model_config(version, &parts.layers)?).unwrap_or_default();
    let model = model_document(version, std::mem::take(&mut parts.layers), &config);
    parts.blobs.push(Blob {
        digest: Sha256Digest::of(&config),
        size: config.len() as u64,
        source: BlobSource::Bytes(config),
    });
    parts.chain(version, attestation)?;
    let receipt_name = crate::import::paths::RECEIPT;
    let receipt_layer = parts.metadata(
        version,
        receipt_name,
        &receipt_sha256,
        layout::DSSE_LAYER,
        (receipt_name, receipt_name),
    )?;
    parts.blobs.push(Blob {
        digest: Sha256Digest::of(layout::EMPTY_CONFIG),
        size: layout::EMPTY_CONFIG.len() as u64,
        source: BlobSource::Bytes(layout::EMPTY_CONFIG.to_vec()),
    });
    let referrers = vec![
        referrer(layout::CHAIN_ARTIFACT, parts.chain_layers, &model),
        referrer(layout::SBOM_ARTIFACT, parts.sbom_layers, &model),
        referrer(layout::RECEIPT_ARTIFACT, vec![receipt_layer], &model),
    ];
    let mut blobs = parts.blobs;
    let mut seen = std::collections::BTreeSet::new();
    blobs.retain(|b| seen.insert(b.digest));
    Ok(Publication {
        model,
        referrers,
        blobs,
        channel: m.channel.clone(),
        sequence: m.sequence,
    })
}

/// The artifact path an SBOM entry describes (`sboms/P.cdx.json` → `P`).
fn sbom_artifact(entry: &ManifestEntry) -> String {
    let p = entry.path.as_str();
    p.strip_prefix("sboms/")
        .and_then(|r| r.strip_suffix(crate::bundle::layout::SBOM_SUFFIX))
        .unwrap_or(p)
        .to_owned()
}

/// Open a blob's bytes for reading.
pub fn open_blob<'a>(
    version: &Baseline,
    blob: &'a Blob,
) -> Result<Box<dyn Read + 'a>, RegistryError> {
    match &blob.source {
        BlobSource::Bytes(b) => Ok(Box::new(b.as_slice())),
        BlobSource::StoreFile(rel) => {
            let (file, size) = version.open_file(rel)?;
            if size != blob.size {
                return Err(RegistryError::Digest {
                    what: format!("stored {rel}"),
                    want: format!("{} bytes", blob.size),
                    got: format!("{size} bytes"),
                });
            }
            Ok(Box::new(file))
        }
    }
}
