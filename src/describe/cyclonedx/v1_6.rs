//! CycloneDX 1.6 JSON ML-BOM, lbom's default SBOM, written from its own
//! serde types ([`super::model`]).
//!
//! The facts go into the fields CycloneDX has for them
//! ([`crate::describe::identity`] reads them; docs/ml-bom.md lists each
//! field's source): each model is a
//! `machine-learning-model` component with its `version`, `supplier`,
//! `manufacturer`, `authors`, `purl`, `externalReferences`, licence,
//! SHA-256, `pedigree.ancestors` (its base models) and a `modelCard`
//! (task, architecture family and class, datasets, inputs and outputs,
//! the card's considerations). Its shards and side files are `file`
//! components it depends on (`dependencies`). Every fact drift detection
//! compares stays an `lbom:` property too, as in 1.5.
//!
//! One model is the document's subject (`metadata.component`); several
//! models are the components of a `data` subject named after the scan.
//! The serial number is derived from a SHA-256 of the document itself, so
//! the same facts and time give the same bytes.

use std::io::Write;

use serde_json::json;

use super::facts::{fact_properties, ref_chars, value};
use super::model::{
    Bom, Component, Considerations, Contact, DataContents, DataSet, Dependency, Entity,
    ExternalReference, Format, Hash, Metadata, ModelCard, ModelParameters, Pedigree, Property,
    Risk, Tools,
};
use crate::describe::identity::{Identity, Party, identity};
use crate::describe::licence::{self, LicenceId};
use crate::describe::text::file_name;
use crate::describe::{DocumentInfo, Error};
use crate::inspect::ModelFacts;
use crate::io::digest::Sha256Digest;

/// The metadata key prefix of a side file's digest (docs/scan-report.md).
const SIDE_PREFIX: &str = "side:";

/// Write the BOM, pretty-printed with a trailing newline.
pub(super) fn write_json(
    facts: &[ModelFacts],
    info: &DocumentInfo,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut bom = build(facts, info);
    // First without a serial number, to hash the content; then with it.
    let unnumbered = serde_json::to_vec_pretty(&bom)?;
    bom.serial_number = Some(super::serial_urn(&Sha256Digest::of(&unnumbered)));
    serde_json::to_writer_pretty(&mut *out, &bom)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn build(facts: &[ModelFacts], info: &DocumentInfo) -> Bom {
    let tool = Component {
        kind: "application",
        name: info.tool_name.to_owned(),
        version: Some(info.tool_version.to_owned()),
        ..Component::default()
    };
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    let mut models = Vec::new();
    for (i, m) in facts.iter().enumerate() {
        let (model, files) = model_component(i.saturating_add(1), m);
        let model_ref = model.bom_ref.clone().unwrap_or_default();
        dependencies.push(Dependency {
            reference: model_ref,
            depends_on: files.iter().filter_map(|f| f.bom_ref.clone()).collect(),
        });
        for f in &files {
            dependencies.push(Dependency {
                reference: f.bom_ref.clone().unwrap_or_default(),
                depends_on: Vec::new(),
            });
        }
        models.push(model);
        components.extend(files);
    }
    let subject = if models.len() == 1 {
        models.pop()
    } else {
        let scan_ref = "scan".to_owned();
        dependencies.insert(
            0,
            Dependency {
                reference: scan_ref.clone(),
                depends_on: models.iter().filter_map(|m| m.bom_ref.clone()).collect(),
            },
        );
        let subject = Component {
            kind: "data",
            bom_ref: Some(scan_ref),
            name: format!("{} models scanned by {}", models.len(), info.tool_name),
            ..Component::default()
        };
        components.splice(0..0, models);
        Some(subject)
    };
    Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: None,
        version: 1,
        metadata: Metadata {
            timestamp: info.created_utc(),
            tools: Tools {
                components: vec![tool],
            },
            component: subject.map(Box::new),
        },
        components,
        dependencies,
    }
}

fn sha256(digest: Option<Sha256Digest>) -> Vec<Hash> {
    digest
        .map(|d| Hash {
            alg: "SHA-256",
            content: d.to_hex(),
        })
        .into_iter()
        .collect()
}

fn entity(p: &Party) -> Entity {
    Entity {
        name: p.name.clone(),
        url: p.url.iter().cloned().collect(),
    }
}

/// The model's component and the `file` components of its shards and side
/// files.
fn model_component(index: usize, m: &ModelFacts) -> (Component, Vec<Component>) {
    let name = file_name(&m.model_filename);
    let bom_ref = format!("model-{index}-{}", ref_chars(name));
    let id = identity(m);
    let description = id
        .description
        .clone()
        .or_else(|| m.name.as_deref().map(value));
    let mut c = Component {
        kind: "machine-learning-model",
        bom_ref: Some(bom_ref.clone()),
        supplier: id.supplier.as_ref().map(entity),
        manufacturer: id.manufacturer.as_ref().map(entity),
        authors: id
            .authors
            .iter()
            .map(|a| Contact { name: a.clone() })
            .collect(),
        name: value(name),
        version: id.version.clone(),
        description,
        hashes: sha256(m.sha256),
        licenses: licences(m),
        purl: id.hub.as_ref().map(|h| h.purl()),
        pedigree: pedigree(&id),
        external_references: id
            .links
            .iter()
            .map(|l| ExternalReference {
                url: l.url.clone(),
                comment: l.comment.clone(),
                kind: l.kind,
            })
            .collect(),
        components: Vec::new(),
        model_card: Some(model_card(&id)),
        properties: properties(m),
    };
    let mut files: Vec<Component> = m
        .shards
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let shard_name = file_name(&s.filename);
            Component {
                kind: "file",
                bom_ref: Some(format!(
                    "{bom_ref}-shard-{}-{}",
                    j.saturating_add(1),
                    ref_chars(shard_name)
                )),
                name: value(shard_name),
                hashes: sha256(s.sha256),
                properties: vec![Property {
                    name: "lbom:file_size_bytes".into(),
                    value: s.file_size_bytes.to_string(),
                }],
                ..Component::default()
            }
        })
        .collect();
    files.extend(side_files(&bom_ref, m));
    // The model's subject component carries no nested list: the files are
    // top-level components it depends on.
    c.components.clear();
    (c, files)
}

/// The side files whose digests the facts record (`side:<file>`, and
/// `side:<file>#unread` for one lbom did not parse).
fn side_files(model_ref: &str, m: &ModelFacts) -> Vec<Component> {
    let mut out = Vec::new();
    for (j, (key, v)) in m
        .metadata
        .iter()
        .filter(|(k, _)| k.starts_with(SIDE_PREFIX))
        .enumerate()
    {
        let rest = key.get(SIDE_PREFIX.len()..).unwrap_or_default();
        let file = match rest.split_once('#') {
            None => rest,
            Some((file, "unread")) => file,
            Some(_) => continue,
        };
        let Some(digest) = v.as_str().and_then(|h| h.parse::<Sha256Digest>().ok()) else {
            continue;
        };
        out.push(Component {
            kind: "file",
            bom_ref: Some(format!(
                "{model_ref}-file-{}-{}",
                j.saturating_add(1),
                ref_chars(file_name(file))
            )),
            name: value(file),
            hashes: sha256(Some(digest)),
            ..Component::default()
        });
    }
    out
}

fn pedigree(id: &Identity) -> Option<Pedigree> {
    let ancestors: Vec<Component> = id
        .ancestors
        .iter()
        .map(|a| Component {
            kind: "machine-learning-model",
            name: a.name.clone(),
            manufacturer: a.organization.as_ref().map(|name| Entity {
                name: name.clone(),
                url: Vec::new(),
            }),
            purl: a.hub.as_ref().map(|h| h.purl()),
            external_references: a
                .url
                .iter()
                .map(|u| ExternalReference {
                    url: u.clone(),
                    comment: "base model repository".into(),
                    kind: "distribution",
                })
                .collect(),
            ..Component::default()
        })
        .collect();
    (!ancestors.is_empty()).then_some(Pedigree { ancestors })
}

fn licences(m: &ModelFacts) -> Vec<serde_json::Value> {
    let Some(declared) = licence::declared(m) else {
        return Vec::new();
    };
    let choice = match licence::spdx_id(&declared.raw) {
        // A compound expression must be the single entry.
        LicenceId::Spdx(expr) if expr.contains(' ') => json!({ "expression": expr }),
        LicenceId::Spdx(id) => json!({ "license": { "id": id } }),
        LicenceId::Ref(_) => json!({ "license": { "name": value(&declared.raw) } }),
    };
    vec![choice]
}

/// Only what the file and its card say; a model without any of it still
/// has a card (`{}`) so every model component has one.
fn model_card(id: &Identity) -> ModelCard {
    let formats = |f: Option<&str>| {
        f.map(|format| Format {
            format: format.to_owned(),
        })
        .into_iter()
        .collect::<Vec<_>>()
    };
    let parameters = ModelParameters {
        task: id.task.clone(),
        architecture_family: id.family.clone(),
        model_architecture: id.class.clone(),
        datasets: id
            .datasets
            .iter()
            .map(|d| DataSet {
                kind: "dataset",
                name: d.name.clone(),
                contents: d.url.clone().map(|url| DataContents { url }),
            })
            .collect(),
        inputs: formats(id.io.map(|(i, _)| i)),
        outputs: formats(id.io.map(|(_, o)| o)),
    };
    let has_parameters = parameters.task.is_some()
        || parameters.architecture_family.is_some()
        || parameters.model_architecture.is_some()
        || !parameters.datasets.is_empty();
    let mut considerations = Considerations::default();
    for (kind, text) in &id.considerations {
        match kind.as_str() {
            "users" => considerations.users.push(text.clone()),
            "useCases" => considerations.use_cases.push(text.clone()),
            "technicalLimitations" => considerations.technical_limitations.push(text.clone()),
            "performanceTradeoffs" => considerations.performance_tradeoffs.push(text.clone()),
            "ethicalConsiderations" => considerations
                .ethical_considerations
                .push(Risk { name: text.clone() }),
            _ => {}
        }
    }
    let has_considerations = !(considerations.users.is_empty()
        && considerations.use_cases.is_empty()
        && considerations.technical_limitations.is_empty()
        && considerations.performance_tradeoffs.is_empty()
        && considerations.ethical_considerations.is_empty());
    ModelCard {
        model_parameters: has_parameters.then_some(parameters),
        considerations: has_considerations.then_some(considerations),
        properties: id
            .languages
            .iter()
            .map(|l| Property {
                name: "lbom:language".into(),
                value: l.clone(),
            })
            .collect(),
    }
}

fn properties(m: &ModelFacts) -> Vec<Property> {
    fact_properties(m)
        .into_iter()
        .map(|(name, value)| Property { name, value })
        .collect()
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::describe::fixtures::{self, LOCAL_DIR, info, render as run, render_json};

    fn bom(facts: &[ModelFacts]) -> Value {
        render_json(|o| write_json(facts, &info(), o))
    }

    #[test]
    fn one_model_is_the_subject_with_first_class_fields() {
        let mut m = fixtures::gguf_llama();
        for (k, v) in [
            ("general.organization", "Meta"),
            ("general.author", "Llama team"),
            ("general.version", "3.2"),
            (
                "general.source.url",
                "https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct",
            ),
        ] {
            m.metadata.insert(k.into(), Value::String(v.into()));
        }
        m.metadata
            .insert("side:tokenizer.json".into(), Value::String("ab".repeat(32)));
        let v = bom(&[m]);
        assert_eq!(v["specVersion"], "1.6");
        let c = &v["metadata"]["component"];
        assert_eq!(c["type"], "machine-learning-model");
        assert_eq!(c["version"], "3.2");
        assert_eq!(c["manufacturer"]["name"], "Meta");
        assert_eq!(c["supplier"]["name"], "Meta");
        assert_eq!(c["authors"][0]["name"], "Llama team");
        assert_eq!(
            c["purl"],
            "pkg:huggingface/meta-llama/Llama-3.2-1B-Instruct"
        );
        assert_eq!(c["externalReferences"][0]["type"], "distribution");
        assert_eq!(
            c["modelCard"]["modelParameters"]["architectureFamily"],
            "llama"
        );
        assert_eq!(v["components"][0]["type"], "file");
        assert_eq!(v["components"][0]["name"], "tokenizer.json");
        assert_eq!(v["dependencies"][0]["ref"], c["bom-ref"]);
        assert_eq!(
            v["dependencies"][0]["dependsOn"][0],
            v["components"][0]["bom-ref"]
        );
    }

    #[test]
    fn several_models_hang_from_a_data_subject_and_refs_are_unique() {
        let v = bom(&fixtures::all());
        assert_eq!(v["metadata"]["component"]["type"], "data");
        let mut refs: Vec<&str> = v["components"]
            .as_array()
            .map(|cs| cs.iter().filter_map(|c| c["bom-ref"].as_str()).collect())
            .unwrap_or_default();
        refs.push("scan");
        let n = refs.len();
        refs.sort_unstable();
        refs.dedup();
        assert_eq!(refs.len(), n, "bom-refs repeat");
        let deps = v["dependencies"].as_array().cloned().unwrap_or_default();
        for d in &deps {
            for r in d["dependsOn"].as_array().cloned().unwrap_or_default() {
                assert!(refs.contains(&r.as_str().unwrap_or_default()), "{r}");
            }
        }
    }

    #[test]
    fn deterministic_and_no_local_path() {
        let a = run(|o| write_json(&fixtures::all(), &info(), o)).unwrap_or_default();
        assert_eq!(
            a,
            run(|o| write_json(&fixtures::all(), &info(), o)).unwrap_or_default()
        );
        assert!(!a.contains(LOCAL_DIR) && !a.contains("/home/"));
        assert!(!a.contains('\u{1b}') && !a.contains('\u{202E}'));
    }
}
