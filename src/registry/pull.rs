//! `lbom pull oci://… --into STORE --policy P` and `lbom verify oci://…`
//! (docs/registry.md, "Pull").
//!
//! Order: the model manifest (by digest, checked; or by tag, its digest
//! computed); its referrers (the referrers API, else the referrers tag);
//! the bundle manifest, the chain links and the station receipt, checked
//! against the node's policy ([`super::evidence`]) before any weight byte
//! is read. The bundle is then read in place ([`RegistrySource`]): its
//! bytes are those `pack` and `sign` wrote (docs/bundle-format.md §1–2:
//! every header field is fixed, so the bytes follow from the entries), the
//! raw artifacts' read from their layers as they are asked for, and only
//! zstd entries spooled. That source goes through `verify`, and for `pull`
//! through `import` — the same checks and the same atomic commit as a
//! bundle carried across the air gap (docs/store.md §3), not a second
//! implementation of either; no bundle is written.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::client::{Client, ClientOptions};
use super::error::RegistryError;
use super::evidence::{self, Evidence, ReceiptCheck};
use super::layout::{self, Descriptor, ImageIndex, ImageManifest};
use super::reference::{Reference, Target};
use super::source::RegistrySource;
use crate::bundle::{Manifest, Role};
use crate::import::{ImportOptions, ImportOutcome};
use crate::io::digest::Sha256Digest;
use crate::verify::{BundleInput, HashOnly, Policy, Report, Verified, VerifyContext};

/// A registry artifact, its evidence checked: what `pull` and `verify
/// oci://` read as a bundle.
#[derive(Debug)]
pub struct Fetched {
    /// The model manifest's digest.
    pub digest: Sha256Digest,
    /// What reports and the store's import record name the bundle by: the
    /// artifact by digest, `oci://HOST/REPO@sha256:…` (an import records
    /// its last component, docs/store.md `bundle_file`).
    pub name: String,
    /// The bundle manifest.
    pub manifest: Manifest,
    /// The receipt's signer.
    pub receipt: ReceiptCheck,
    /// Whether the referrers came from the referrers API (else the tag).
    pub referrers_api: bool,
}

/// Referrers of one `artifactType` read at most.
pub const MAX_REFERRERS_OF_A_KIND: usize = 16;

fn artifact_error(what: impl Into<String>) -> RegistryError {
    RegistryError::Artifact(what.into())
}

/// The manifest at `name` (a tag or `sha256:…`) and its digest; with
/// `want`, its bytes must have that digest.
fn get_manifest(
    client: &Client,
    name: &str,
    want: Option<&Sha256Digest>,
) -> Result<(Vec<u8>, Sha256Digest), RegistryError> {
    let (bytes, _) = client.get_manifest(name)?.ok_or_else(|| {
        RegistryError::NotFound(format!(
            "{}: the registry has no manifest {}",
            client.repository(),
            crate::safe::visible(name)
        ))
    })?;
    let digest = Sha256Digest::of(&bytes);
    if let Some(w) = want
        && *w != digest
    {
        return Err(RegistryError::Digest {
            what: format!("manifest {}", crate::safe::visible(name)),
            want: format!("sha256:{}", w.to_hex()),
            got: format!("sha256:{}", digest.to_hex()),
        });
    }
    Ok((bytes, digest))
}

/// An OCI image manifest as a registry sent it, read strictly (schema 2,
/// the image manifest media type); `what` names it in the error.
pub fn parse_manifest(bytes: &[u8], what: &str) -> Result<ImageManifest, RegistryError> {
    let m: ImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| artifact_error(format!("{what} is not an OCI image manifest: {e}")))?;
    if m.schema_version != 2 || m.media_type != layout::OCI_MANIFEST {
        return Err(artifact_error(format!(
            "{what} is not an OCI image manifest (schemaVersion 2, mediaType {})",
            layout::OCI_MANIFEST
        )));
    }
    Ok(m)
}

/// The referrers of `digest`: from the API when the registry has it, else
/// from the referrers tag; and which.
fn referrers(
    client: &Client,
    digest: &Sha256Digest,
) -> Result<(Vec<Descriptor>, bool), RegistryError> {
    let (bytes, api) = match client.get_referrers(digest)? {
        Some(b) => (b, true),
        None => match client.get_manifest(&layout::referrers_tag(digest))? {
            Some((b, _)) => (b, false),
            None => return Ok((Vec::new(), false)),
        },
    };
    Ok((parse_referrers(&bytes)?, api))
}

/// A referrers list (the API's answer, or the index under the referrers
/// tag): its descriptors.
pub fn parse_referrers(bytes: &[u8]) -> Result<Vec<Descriptor>, RegistryError> {
    let index: ImageIndex = serde_json::from_slice(bytes).map_err(|e| {
        artifact_error(format!("the referrers list is not an OCI image index: {e}"))
    })?;
    Ok(index.manifests)
}

/// The referrer manifests of one `artifactType`, each checked against its
/// descriptor's digest and naming `subject`.
fn referrers_of(
    client: &Client,
    list: &[Descriptor],
    artifact_type: &str,
    subject: &Sha256Digest,
) -> Result<Vec<ImageManifest>, RegistryError> {
    let mut out = Vec::new();
    // Anyone who may push to the repository may attach referrers: only the
    // first few of a kind are read, so a flood of them costs a bounded
    // number of requests (the right one is pushed with the model).
    for d in list
        .iter()
        .filter(|d| d.artifact_type.as_deref() == Some(artifact_type))
        .take(MAX_REFERRERS_OF_A_KIND)
    {
        let Some(want) = d.sha256() else { continue };
        let (bytes, _) = get_manifest(client, &format!("sha256:{}", want.to_hex()), Some(&want))?;
        let m = parse_manifest(&bytes, &format!("referrer sha256:{}", want.to_hex()))?;
        let names_subject = m.subject.as_ref().and_then(Descriptor::sha256) == Some(*subject);
        if names_subject && m.artifact_type.as_deref() == Some(artifact_type) {
            out.push(m);
        }
    }
    Ok(out)
}

fn layer_titled<'a>(m: &'a ImageManifest, title: &str) -> Option<&'a Descriptor> {
    m.layers
        .iter()
        .find(|l| l.annotation(layout::ANNOTATION_TITLE) == Some(title))
}

pub(crate) fn digest_of(d: &Descriptor) -> Result<Sha256Digest, RegistryError> {
    d.sha256().ok_or_else(|| {
        artifact_error(format!(
            "{} is not a sha256 digest",
            crate::safe::visible(&d.digest)
        ))
    })
}

/// The model manifest `reference` names, its digest, and the bundle
/// manifest digest it names.
fn resolve_model(
    client: &Client,
    reference: &Reference,
) -> Result<(ImageManifest, Sha256Digest, Sha256Digest), RegistryError> {
    let (bytes, digest) = match &reference.target {
        Some(Target::Digest(d)) => {
            get_manifest(client, &format!("sha256:{}", d.to_hex()), Some(d))?
        }
        Some(Target::Tag(t)) => get_manifest(client, t, None)?,
        None => {
            return Err(RegistryError::Reference(format!(
                "{reference}: name a tag (:TAG) or a digest (@sha256:…) to pull"
            )));
        }
    };
    let model = parse_manifest(&bytes, "the model manifest")?;
    if model.artifact_type.as_deref() != Some(layout::MODEL_ARTIFACT) {
        return Err(artifact_error(format!(
            "{reference} is not a ModelPack artifact (artifactType {})",
            layout::MODEL_ARTIFACT
        )));
    }
    let bundle_sha256 = model
        .annotations
        .get(layout::ANNOTATION_BUNDLE_MANIFEST)
        .and_then(|h| h.parse::<Sha256Digest>().ok())
        .ok_or_else(|| {
            artifact_error(format!(
                "{reference}: the model manifest names no bundle manifest ({})",
                layout::ANNOTATION_BUNDLE_MANIFEST
            ))
        })?;
    Ok((model, digest, bundle_sha256))
}

/// The first station receipt among the receipt referrers that checks
/// against `policy` (several stations may have published the same model).
fn receipt(
    client: &Client,
    list: &[Descriptor],
    subject: &Sha256Digest,
    policy: &Policy,
    bundle_sha256: &Sha256Digest,
    files: &BTreeMap<String, Descriptor>,
) -> Result<ReceiptCheck, RegistryError> {
    let digests: BTreeMap<String, Sha256Digest> = files
        .iter()
        .map(|(p, d)| (p.clone(), d.sha256().unwrap_or(Sha256Digest([0; 32]))))
        .collect();
    let mut last_refusal = None;
    for m in referrers_of(client, list, layout::RECEIPT_ARTIFACT, subject)? {
        let Some(l) = layer_titled(&m, crate::import::paths::RECEIPT) else {
            continue;
        };
        let bytes = client.fetch_small(&digest_of(l)?, l.size)?;
        match evidence::check_receipt(&bytes, policy, bundle_sha256, &digests) {
            Ok(r) => return Ok(r),
            Err(e) => last_refusal = Some(e),
        }
    }
    Err(last_refusal.unwrap_or_else(|| {
        RegistryError::Evidence("no station receipt is attached (no receipt referrer)".into())
    }))
}

/// The referrers' evidence of the model `digest`, checked before any
/// weight byte: the chain referrer carrying the bundle manifest, the
/// manifest against the layers, the receipt, the links, the SBOMs and the
/// attestation.
fn evidence(
    client: &Client,
    model: &ImageManifest,
    digest: &Sha256Digest,
    bundle_sha256: &Sha256Digest,
    policy: &Policy,
) -> Result<(Evidence, bool), RegistryError> {
    let (list, referrers_api) = referrers(client, digest)?;
    let chain = referrers_of(client, &list, layout::CHAIN_ARTIFACT, digest)?
        .into_iter()
        .find(|m| {
            layer_titled(m, crate::bundle::layout::MANIFEST).and_then(Descriptor::sha256)
                == Some(*bundle_sha256)
        })
        .ok_or_else(|| {
            RegistryError::Evidence(format!(
                "no chain referrer carries the bundle manifest sha256:{}",
                bundle_sha256.to_hex()
            ))
        })?;
    let manifest_layer = layer_titled(&chain, crate::bundle::layout::MANIFEST)
        .ok_or_else(|| artifact_error("no manifest layer"))?;
    let manifest_bytes = client.fetch_small(bundle_sha256, manifest_layer.size)?;
    let (manifest, _) = crate::bundle::manifest::parse(&manifest_bytes)
        .map_err(|e| artifact_error(format!("the bundle manifest does not parse: {e}")))?;
    let files = artifact_layers(model, &manifest)?;
    let receipt = receipt(client, &list, digest, policy, bundle_sha256, &files)?;
    let mut links = Vec::new();
    for index in 1..=crate::bundle::layout::MAX_LINKS {
        let name = crate::bundle::layout::link_name(index);
        let Some(l) = layer_titled(&chain, &name) else {
            break;
        };
        let bytes = client.fetch_small(&digest_of(l)?, l.size)?;
        evidence::check_link(&name, &bytes, policy, bundle_sha256)?;
        links.push((name, bytes));
    }
    let sboms = sbom_layers(client, &list, digest, &manifest)?;
    let attestation = layer_titled(&chain, crate::bundle::layout::ATTESTATION)
        .ok_or_else(|| RegistryError::Evidence("the chain referrer has no attestation".into()))?;
    let attestation = client.fetch_small(&digest_of(attestation)?, attestation.size)?;
    Ok((
        Evidence {
            manifest,
            manifest_bytes,
            files,
            links,
            sboms,
            attestation,
            receipt,
        },
        referrers_api,
    ))
}

/// The artifact `reference` names, its evidence checked against `policy`
/// before any weight byte: the client that reached it, what was checked,
/// and whether the referrers came from the API.
fn checked(
    reference: &Reference,
    options: &ClientOptions,
    policy: &Policy,
) -> Result<(Client, Sha256Digest, Evidence, bool), RegistryError> {
    let client = Client::new(reference, options)?;
    let (model, digest, bundle_sha256) = resolve_model(&client, reference)?;
    let (evidence, referrers_api) = evidence(&client, &model, &digest, &bundle_sha256, policy)?;
    Ok((client, digest, evidence, referrers_api))
}

fn fetched(
    reference: &Reference,
    digest: Sha256Digest,
    evidence: Evidence,
    referrers_api: bool,
) -> Fetched {
    let mut by_digest = reference.clone();
    by_digest.target = Some(Target::Digest(digest));
    Fetched {
        digest,
        name: by_digest.to_string(),
        manifest: evidence.manifest,
        receipt: evidence.receipt,
        referrers_api,
    }
}

/// The artifact `reference` names, its evidence checked against `policy`,
/// as a bundle read in place ([`RegistrySource`]: its layers read from the
/// registry as they are asked for, only zstd entries spooled).
pub fn open(
    reference: &Reference,
    options: &ClientOptions,
    policy: &Policy,
) -> Result<(Fetched, RegistrySource), RegistryError> {
    let (client, digest, evidence, referrers_api) = checked(reference, options, policy)?;
    let source = RegistrySource::new(&evidence, Arc::new(client))?;
    Ok((fetched(reference, digest, evidence, referrers_api), source))
}

/// The model's layers by artifact path: exactly the manifest's artifacts,
/// each with the digest and size the chain signs, all raw.
fn artifact_layers(
    model: &ImageManifest,
    manifest: &Manifest,
) -> Result<BTreeMap<String, Descriptor>, RegistryError> {
    let mut layers = BTreeMap::new();
    for l in &model.layers {
        let p = l.annotation(layout::ANNOTATION_FILEPATH).ok_or_else(|| {
            artifact_error(format!(
                "layer {} has no {} annotation",
                crate::safe::visible(&l.digest),
                layout::ANNOTATION_FILEPATH
            ))
        })?;
        if layers.insert(p.to_owned(), l.clone()).is_some() {
            return Err(artifact_error(format!(
                "two layers are {}",
                crate::safe::visible(p)
            )));
        }
    }
    let mut wanted = 0;
    for e in manifest.entries.iter().filter(|e| e.role == Role::Artifact) {
        wanted += 1;
        let p = e
            .artifact_path()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let l = layers.get(&p).ok_or_else(|| {
            RegistryError::Evidence(format!(
                "the bundle manifest lists {}, and no layer carries it",
                crate::safe::visible(&p)
            ))
        })?;
        if l.sha256() != Some(e.sha256) || l.size != e.size {
            return Err(RegistryError::Digest {
                what: format!("layer {}", crate::safe::visible(&p)),
                want: format!(
                    "{} bytes, sha256:{} (signed in the bundle manifest)",
                    e.size,
                    e.sha256.to_hex()
                ),
                got: format!("{} bytes, {}", l.size, crate::safe::visible(&l.digest)),
            });
        }
    }
    if wanted != layers.len() {
        return Err(artifact_error(
            "the model has layers its bundle manifest does not list",
        ));
    }
    Ok(layers)
}

/// Every SBOM the bundle manifest lists, by entry name, from an SBOM
/// referrer, each checked against its manifest digest.
fn sbom_layers(
    client: &Client,
    list: &[Descriptor],
    subject: &Sha256Digest,
    manifest: &Manifest,
) -> Result<BTreeMap<String, Vec<u8>>, RegistryError> {
    let referrers = referrers_of(client, list, layout::SBOM_ARTIFACT, subject)?;
    let mut out = BTreeMap::new();
    for e in manifest.entries.iter().filter(|e| e.role == Role::Sbom) {
        let layer = referrers
            .iter()
            .find_map(|m| {
                m.layers.iter().find(|l| {
                    l.annotation(layout::ANNOTATION_TITLE) == Some(e.path.as_str())
                        && l.sha256() == Some(e.sha256)
                })
            })
            .ok_or_else(|| {
                RegistryError::Evidence(format!(
                    "no SBOM referrer carries {} with its signed digest",
                    e.path.as_str()
                ))
            })?;
        out.insert(
            e.path.as_str().to_owned(),
            client.fetch_small(&e.sha256, layer.size)?,
        );
    }
    Ok(out)
}

/// `lbom verify oci://…`: check the evidence as [`pull`] does, then verify
/// the bundle read in place; nothing is written (but zstd entries spooled
/// to `$TMPDIR`, gone when this returns).
pub fn verify_remote(
    reference: &Reference,
    options: &ClientOptions,
    policy: &Policy,
    context: &VerifyContext,
) -> Result<(Fetched, Report, Option<Verified>), RegistryError> {
    let (fetched, source) = open(reference, options, policy)?;
    let input = BundleInput::source(fetched.name.clone(), Arc::new(source));
    let (report, verified) = crate::verify::verify(input, policy, context, &mut HashOnly);
    Ok((fetched, report, verified))
}

/// `lbom pull`: check the evidence, then import the bundle read in place
/// into `store` (the import's checks and commit: each file written once,
/// into the store's staging, as `verify` hashes it).
pub fn pull(
    reference: &Reference,
    options: &ClientOptions,
    policy: &Policy,
    store: &Path,
    import: &ImportOptions<'_>,
) -> Result<(Fetched, ImportOutcome), RegistryError> {
    let (fetched, source) = open(reference, options, policy)?;
    let input = BundleInput::source(fetched.name.clone(), Arc::new(source));
    let read = input.clone();
    let outcome = crate::import::import(input, store, policy, import, |sink, ctx| {
        crate::verify::verify(read, policy, ctx, sink)
    })?;
    Ok((fetched, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Class;
    use crate::bundle::{BundlePath, Encoding, ManifestEntry};
    use crate::bundle::manifest::Tool;

    type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

    fn entry(path: &str, content: &[u8]) -> Res<ManifestEntry> {
        Ok(ManifestEntry {
            path: BundlePath::new(&format!("artifacts/{path}"))?,
            role: Role::Artifact,
            size: content.len() as u64,
            sha256: Sha256Digest::of(content),
            encoding: Encoding::Raw,
            stored_size: content.len() as u64,
            stored_sha256: Some(Sha256Digest::of(content)),
        })
    }

    fn layer(path: &str, content: &[u8]) -> Descriptor {
        let mut d = Descriptor::of(layout::WEIGHT_RAW, content);
        d.annotations
            .insert(layout::ANNOTATION_FILEPATH.into(), path.into());
        d
    }

    fn model(layers: Vec<Descriptor>) -> ImageManifest {
        ImageManifest {
            schema_version: 2,
            media_type: layout::OCI_MANIFEST.into(),
            artifact_type: Some(layout::MODEL_ARTIFACT.into()),
            config: Descriptor::of(layout::MODEL_CONFIG, b"{}"),
            layers,
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    proptest::proptest! {
        /// What a registry sends and what a user writes: any bytes, and
        /// text shaped like each format (so the accepting paths are
        /// reached), go through every parser without a panic; what is
        /// accepted keeps its invariants (a manifest or a list written back
        /// reads back the same, a range is ordered, a reference prints as
        /// text that parses back to it). fuzz/checks.rs `registry_documents`
        /// is the same check under libFuzzer.
        #[test]
        fn the_registry_parsers_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            json in r#"\{"schemaVersion":2,"mediaType":"application/vnd\.oci\.image\.(manifest|index)\.v1\+json"(,"[a-zA-Z]{1,12}":("[a-z0-9:./+-]{0,20}"|[0-9]{1,3}|\[\]|\{\}|null))*\}"#,
            reference in "oci://([a-z0-9.-]{1,12}|\\[::1\\])(:[0-9]{0,6})?/[a-z0-9._/-]{1,24}(:[A-Za-z0-9._-]{1,12}|@sha256:[0-9a-f]{62,65})?",
            challenge in r#"(Bearer|Basic|bearer|BASIC|Digest) ?([a-zA-Z]{1,6}=("[^"]{0,12}"?|[a-z0-9:/.,]{0,10}), ?){0,4}"#,
            range in "bytes [0-9+ -]{1,12}(/[0-9*]{1,8})?",
        ) {
            for input in [bytes.as_slice(), json.as_bytes(), reference.as_bytes(), challenge.as_bytes(), range.as_bytes()] {
                if let Ok(m) = parse_manifest(input, "input") {
                    proptest::prop_assert_eq!(parse_manifest(&m.to_bytes(), "again").ok(), Some(m));
                }
                if let Ok(list) = parse_referrers(input) {
                    let mut index = ImageIndex::empty();
                    index.manifests = list.clone();
                    proptest::prop_assert_eq!(parse_referrers(&index.to_bytes()).ok(), Some(list));
                }
                let Ok(text) = std::str::from_utf8(input) else { continue };
                let _ = super::super::auth::parse_challenge(text);
                if let Some((start, end, total)) = super::super::range::parse_content_range(text) {
                    proptest::prop_assert!(start <= end && total.is_none_or(|t| end < t));
                }
                if let Ok(r) = Reference::parse(text) {
                    proptest::prop_assert_eq!(Reference::parse(&r.to_string()).ok(), Some(r.clone()));
                    proptest::prop_assert!(r.repository.bytes().all(|c| c.is_ascii_lowercase()
                        || c.is_ascii_digit() || b"._-/".contains(&c)));
                }
            }
        }
    }

    /// The model's layers must be exactly the artifacts the chain signs:
    /// every way they can differ — a digest or a size changed, a layer
    /// missing, one more, one without its path, a path twice — is refused
    /// (exit 4 for different bytes, 5 for a signed file no layer carries,
    /// 3 for a model that is not this bundle's shape); the exact set passes.
    #[test]
    fn layers_must_be_exactly_the_signed_artifacts() -> Res {
        let files: [(&str, &[u8]); 2] = [("model.gguf", b"weights"), ("tokenizer.json", b"{}")];
        let manifest = Manifest {
            schema: crate::bundle::layout::MANIFEST_SCHEMA.into(),
            name: "m".into(),
            channel: "stable".into(),
            sequence: 1,
            previous: None,
            base: None,
            created: "2026-12-06T00:00:00Z".into(),
            expires: None,
            tool: Tool {
                name: "lbom".into(),
                version: "0.1.0".into(),
            },
            entries: files
                .iter()
                .map(|(p, c)| entry(p, c))
                .collect::<Res<Vec<_>>>()?,
        };
        let good: Vec<Descriptor> = files.iter().map(|(p, c)| layer(p, c)).collect();
        assert_eq!(artifact_layers(&model(good.clone()), &manifest)?.len(), 2);

        let edit = |f: &dyn Fn(&mut Vec<Descriptor>)| {
            let mut l = good.clone();
            f(&mut l);
            model(l)
        };
        let cases: Vec<(&str, ImageManifest, Class)> = vec![
            (
                "another digest",
                edit(&|l| {
                    if let Some(x) = l.first_mut() {
                        x.digest = format!("sha256:{}", Sha256Digest::of(b"evil").to_hex())
                    }
                }),
                Class::Integrity,
            ),
            (
                "another size",
                edit(&|l| {
                    if let Some(x) = l.first_mut() {
                        x.size += 1
                    }
                }),
                Class::Integrity,
            ),
            (
                "a layer missing",
                edit(&|l| {
                    l.pop();
                }),
                Class::Trust,
            ),
            (
                "a layer more",
                edit(&|l| l.push(layer("extra.bin", b"x"))),
                Class::Malformed,
            ),
            (
                "a layer without its path",
                edit(&|l| {
                    if let Some(x) = l.first_mut() {
                        x.annotations.clear()
                    }
                }),
                Class::Malformed,
            ),
            (
                "a path twice",
                edit(&|l| {
                    let first = l.first().cloned();
                    l.extend(first)
                }),
                Class::Malformed,
            ),
        ];
        for (name, m, class) in cases {
            match artifact_layers(&m, &manifest) {
                Ok(_) => panic!("{name}: accepted"),
                Err(e) => assert_eq!(e.class(), class, "{name}: {e}"),
            }
        }
        Ok(())
    }
}
