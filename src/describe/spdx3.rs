//! SPDX 3.0.1 JSON-LD with the AI profile (`lbom scan --format spdx3`).
//!
//! One `SpdxDocument` whose root is a `software_Sbom`; each model is an
//! `ai_AIPackage` (SPDX 3.0.1 AI profile) with its SHA-256
//! (`verifiedUsing`), version, package URL, download location, supplier,
//! the task (`ai_domain`), the family and class (`ai_typeOfModel`), the
//! card's use and limitations (`ai_informationAboutApplication`,
//! `ai_limitation`) and its hyper-parameters (context length, vocabulary
//! size, parameter count, quantization) as `ai_hyperparameter` entries;
//! its shards are `software_File`s it `contains`, its licence a
//! `simplelicensing_LicenseExpression` it `hasDeclaredLicense`, its base
//! models `ai_AIPackage`s it is `ancestorOf`… written the other way round
//! (`base ancestorOf model`), and its datasets `dataset_DatasetPackage`s it
//! was `trainedOn`. Every value comes from [`super::identity`], as for
//! CycloneDX 1.6 (docs/ml-bom.md). The suite validates every document with
//! spdx3-validate (JSON schema and SHACL shapes of SPDX 3.0.1).
//!
//! Element ids live under a namespace derived from a SHA-256 of the facts
//! and the time, so the same scan gives the same document.

use std::io::Write;

use serde_json::{Map, Value, json};

use super::identity::{Identity, identity};
use super::licence::{self, LicenceId};
use super::text::file_name;
use super::{DocumentInfo, Error};
use crate::inspect::ModelFacts;
use crate::io::digest::Sha256Digest;
use crate::safe::{shorten, visible};

/// The JSON-LD context every SPDX 3.0.1 document names.
pub const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";
/// Longest untrusted value.
const MAX_VALUE_CHARS: usize = 1024;
const CREATION: &str = "_:creationinfo";

fn value(raw: &str) -> String {
    shorten(&visible(raw), MAX_VALUE_CHARS)
}

struct Graph {
    ns: String,
    items: Vec<Value>,
    /// Element ids for the document's `element` list.
    elements: Vec<String>,
    next: usize,
}

impl Graph {
    fn id(&mut self, kind: &str) -> String {
        self.next = self.next.saturating_add(1);
        format!("{}{kind}-{}", self.ns, self.next)
    }

    /// Add an element: `spdxId` and `creationInfo` filled in.
    fn add(&mut self, kind: &str, mut fields: Map<String, Value>) -> String {
        let id = self.id(kind);
        fields.insert("spdxId".into(), Value::String(id.clone()));
        fields.insert("creationInfo".into(), Value::String(CREATION.into()));
        self.items.push(Value::Object(fields));
        self.elements.push(id.clone());
        id
    }

    fn relate(&mut self, from: &str, kind: &str, to: Vec<String>) {
        if to.is_empty() {
            return;
        }
        let fields = json!({
            "type": "Relationship",
            "from": from,
            "relationshipType": kind,
            "to": to,
        });
        if let Value::Object(map) = fields {
            self.add("Relationship", map);
        }
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn sha256(d: Sha256Digest) -> Value {
    json!([{ "type": "Hash", "algorithm": "sha256", "hashValue": d.to_hex() }])
}

/// Write the document, pretty-printed with a trailing newline.
pub fn write(facts: &[ModelFacts], info: &DocumentInfo, out: &mut dyn Write) -> Result<(), Error> {
    if facts.is_empty() {
        return Err(Error::NoModels { format: "SPDX 3" });
    }
    let mut seed = serde_json::to_vec(facts)?;
    seed.extend_from_slice(info.created_utc().as_bytes());
    let digest = Sha256Digest::of(&seed);
    let mut g = Graph {
        ns: format!("https://spdx.org/spdxdocs/lbom-{digest}/"),
        items: Vec::new(),
        elements: Vec::new(),
        next: 0,
    };
    let tool = g.add(
        "Tool",
        object(
            json!({ "type": "Tool", "name": format!("{} {}", info.tool_name, info.tool_version) }),
        ),
    );
    let agent = g.add(
        "SoftwareAgent",
        object(json!({ "type": "SoftwareAgent", "name": info.tool_name })),
    );
    let mut roots = Vec::new();
    for m in facts {
        roots.push(model(&mut g, m));
    }
    let sbom_elements = g.elements.clone();
    let sbom = g.add(
        "Sbom",
        object(json!({
            "type": "software_Sbom",
            "rootElement": roots,
            "element": sbom_elements,
            "software_sbomType": ["analyzed"],
        })),
    );
    let elements = g.elements.clone();
    let document = json!({
        "type": "SpdxDocument",
        "spdxId": format!("{}document", g.ns),
        "creationInfo": CREATION,
        "name": match facts {
            [one] => format!("lbom-{}", value(file_name(&one.model_filename))),
            many => format!("lbom-{}-models", many.len()),
        },
        "profileConformance": ["core", "software", "ai", "dataset", "simpleLicensing"],
        "rootElement": [sbom],
        "element": elements,
    });
    let creation = json!({
        "type": "CreationInfo",
        "@id": CREATION,
        "specVersion": "3.0.1",
        "created": info.created_utc(),
        "createdBy": [agent],
        "createdUsing": [tool],
    });
    let mut graph = vec![creation, document];
    graph.append(&mut g.items);
    let doc = json!({ "@context": CONTEXT, "@graph": graph });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// One model: its package, files, licence, ancestors and datasets.
fn model(g: &mut Graph, m: &ModelFacts) -> String {
    let id = identity(m);
    let fields = package_fields(g, m, &id);
    let pkg = g.add("AIPackage", fields);
    let files = shard_files(g, m);
    g.relate(&pkg, "contains", files);
    add_licence(g, m, &pkg);
    add_ancestors(g, &id, &pkg);
    let datasets = datasets(g, &id);
    g.relate(&pkg, "trainedOn", datasets);
    pkg
}

/// The model's own `ai_AIPackage` fields. Its supplier is added to the
/// graph here, before the package, as the element order has always been.
fn package_fields(g: &mut Graph, m: &ModelFacts, id: &Identity) -> Map<String, Value> {
    let mut fields = object(json!({
        "type": "ai_AIPackage",
        "name": value(file_name(&m.model_filename)),
        "software_primaryPurpose": "model",
    }));
    if let Some(d) = m.sha256 {
        fields.insert("verifiedUsing".into(), sha256(d));
    }
    if let Some(v) = &id.version {
        fields.insert("software_packageVersion".into(), json!(v));
    }
    if let Some(hub) = &id.hub {
        fields.insert("software_packageUrl".into(), json!(hub.purl()));
        fields.insert(
            "software_downloadLocation".into(),
            json!(format!("https://huggingface.co/{}", hub.repo)),
        );
    }
    if let Some(d) = &id.description {
        fields.insert("description".into(), json!(d));
    }
    if let Some(task) = &id.task {
        fields.insert("ai_domain".into(), json!([task]));
    }
    let types: Vec<&String> = id.family.iter().chain(&id.class).collect();
    if !types.is_empty() {
        fields.insert("ai_typeOfModel".into(), json!(types));
    }
    add_card(&mut fields, id);
    let hyper = hyperparameters(m);
    if !hyper.is_empty() {
        fields.insert("ai_hyperparameter".into(), Value::Array(hyper));
    }
    if let Some(p) = id.supplier.as_ref().or(id.manufacturer.as_ref()) {
        let org = g.add(
            "Organization",
            object(json!({ "type": "Organization", "name": p.name })),
        );
        fields.insert("suppliedBy".into(), json!(org));
    }
    let refs = external_refs(id);
    if !refs.is_empty() {
        fields.insert("externalRef".into(), Value::Array(refs));
    }
    fields
}

/// The identity's links as `ExternalRef`s, each kind mapped to SPDX 3's
/// `externalRefType` vocabulary.
fn external_refs(id: &Identity) -> Vec<Value> {
    id.links
        .iter()
        .map(|l| {
            let kind = match l.kind {
                "vcs" => "vcs",
                "license" => "license",
                "documentation" => "documentation",
                "distribution" => "altDownloadLocation",
                _ => "altWebPage",
            };
            json!({ "type": "ExternalRef", "externalRefType": kind, "locator": [l.url], "comment": l.comment })
        })
        .collect()
}

/// One `software_File` per shard; their ids, for `contains`.
fn shard_files(g: &mut Graph, m: &ModelFacts) -> Vec<String> {
    m.shards
        .iter()
        .map(|s| {
            let mut f = object(json!({
                "type": "software_File",
                "name": value(file_name(&s.filename)),
                "software_primaryPurpose": "model",
            }));
            if let Some(d) = s.sha256 {
                f.insert("verifiedUsing".into(), sha256(d));
            }
            g.add("File", f)
        })
        .collect()
}

/// The declared licence, when there is one, as the package's
/// `hasDeclaredLicense`.
fn add_licence(g: &mut Graph, m: &ModelFacts, pkg: &str) {
    if let Some(declared) = licence::declared(m) {
        let expression = match licence::spdx_id(&declared.raw) {
            LicenceId::Spdx(e) | LicenceId::Ref(e) => e,
        };
        let lic = g.add(
            "LicenseExpression",
            object(json!({
                "type": "simplelicensing_LicenseExpression",
                "simplelicensing_licenseExpression": expression,
            })),
        );
        g.relate(pkg, "hasDeclaredLicense", vec![lic]);
    }
}

/// Each base model as an `ai_AIPackage` that is `ancestorOf` the package.
fn add_ancestors(g: &mut Graph, id: &Identity, pkg: &str) {
    for a in &id.ancestors {
        let mut f = object(json!({
            "type": "ai_AIPackage",
            "name": a.name,
            "software_primaryPurpose": "model",
        }));
        if let Some(hub) = &a.hub {
            f.insert("software_packageUrl".into(), json!(hub.purl()));
        }
        if let Some(u) = &a.url {
            f.insert("software_downloadLocation".into(), json!(u));
        }
        let base = g.add("AIPackage", f);
        g.relate(&base, "ancestorOf", vec![pkg.to_owned()]);
    }
}

/// One `dataset_DatasetPackage` per training dataset; their ids, for
/// `trainedOn`.
fn datasets(g: &mut Graph, id: &Identity) -> Vec<String> {
    id.datasets
        .iter()
        .map(|d| {
            let mut f = object(json!({
                "type": "dataset_DatasetPackage",
                "name": d.name,
                "software_primaryPurpose": "data",
                "dataset_datasetType": ["text"],
            }));
            if let Some(u) = &d.url {
                f.insert("software_downloadLocation".into(), json!(u));
            }
            g.add("DatasetPackage", f)
        })
        .collect()
}

/// The card's considerations as the AI profile's free-text fields.
fn add_card(fields: &mut Map<String, Value>, id: &Identity) {
    let join = |kinds: &[&str]| {
        let parts: Vec<&str> = id
            .considerations
            .iter()
            .filter(|(k, _)| kinds.contains(&k.as_str()))
            .map(|(_, t)| t.as_str())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    if let Some(t) = join(&["useCases", "users"]) {
        fields.insert("ai_informationAboutApplication".into(), json!(t));
    }
    if let Some(t) = join(&[
        "technicalLimitations",
        "ethicalConsiderations",
        "performanceTradeoffs",
    ]) {
        fields.insert("ai_limitation".into(), json!(t));
    }
}

fn hyperparameters(m: &ModelFacts) -> Vec<Value> {
    let entries = [
        ("parameter_count", m.parameter_count.map(|n| n.to_string())),
        ("context_length", m.context_length.map(|n| n.to_string())),
        ("vocab_size", m.vocab_size.map(|n| n.to_string())),
        ("quantization", m.quantization.as_deref().map(value)),
        ("dtype", m.dtype.as_deref().map(value)),
        ("format", Some(m.format.as_str().to_owned())),
    ];
    entries
        .into_iter()
        .filter_map(|(k, v)| Some(json!({ "type": "DictionaryEntry", "key": k, "value": v? })))
        .collect()
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::describe::fixtures::{self, LOCAL_DIR, info, render};

    fn doc(facts: &[ModelFacts]) -> Value {
        let text = render(|o| write(facts, &info(), o)).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    #[test]
    fn every_model_is_an_ai_package_and_every_reference_resolves() {
        let all = fixtures::all();
        let v = doc(&all);
        assert_eq!(v["@context"], CONTEXT);
        let graph = v["@graph"].as_array().cloned().unwrap_or_default();
        let ids: Vec<&str> = graph.iter().filter_map(|e| e["spdxId"].as_str()).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "spdxIds repeat");
        let packages = graph
            .iter()
            .filter(|e| e["type"] == "ai_AIPackage" && e["software_primaryPurpose"] == "model")
            .count();
        assert!(packages >= all.len());
        for rel in graph.iter().filter(|e| e["type"] == "Relationship") {
            assert!(ids.contains(&rel["from"].as_str().unwrap_or_default()));
            for to in rel["to"].as_array().cloned().unwrap_or_default() {
                assert!(ids.contains(&to.as_str().unwrap_or_default()));
            }
        }
        let text = render(|o| write(&all, &info(), o)).unwrap_or_default();
        assert!(!text.contains(LOCAL_DIR) && !text.contains("/home/"));
        assert_eq!(
            text,
            render(|o| write(&all, &info(), o)).unwrap_or_default()
        );
    }
}
