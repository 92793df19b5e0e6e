//! CycloneDX 1.5 JSON ML-BOM, written with the `cyclonedx-bom` crate
//! (`--spec-version 1.5`, and the SBOMs of bundles packed before 1.6 was
//! the default: `verify` rebuilds those with this writer).
//!
//! 1.5 is the newest spec version cyclonedx-bom 0.8.1 writes (its
//! `SpecVersion` stops at `V1_5`), and the first with `machine-learning-model`
//! components and `modelCard`, which the crate models
//! (`models::modelcard`), so no post-editing of the JSON is needed.
//!
//! Each model is a component with a SHA-256 hash, its licence, a modelCard
//! saying only what the file tells (architecture family / class), and the
//! facts drift detection compares as `lbom:` properties. Shards are nested
//! `file` components. The serial number is derived from a SHA-256 of the
//! document itself, so the same facts and time give the same bytes.

use std::io::Write;

use cyclonedx_bom::external_models::date_time::DateTime;
use cyclonedx_bom::external_models::normalized_string::NormalizedString;
use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component, Components};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::modelcard::{ModelCard, ModelParameters};
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::Tools;
use cyclonedx_bom::validation::Validate;

use super::facts::{fact_properties, ref_chars, value};
use crate::describe::identity::is_class_name;
use crate::describe::licence::{self, LicenceId};
use crate::describe::text::file_name;
use crate::describe::{DocumentInfo, Error};
use crate::inspect::ModelFacts;
use crate::io::digest::Sha256Digest;

/// Write the BOM, pretty-printed with a trailing newline.
pub(super) fn write_json(
    facts: &[ModelFacts],
    info: &DocumentInfo,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut bom = build(facts, info)?;
    let check = bom.validate_version(SpecVersion::V1_5);
    if !check.passed() {
        return Err(Error::CycloneDx(format!(
            "document failed validation: {check:?}"
        )));
    }
    // First without a serial number, to hash the content; then with it.
    let unnumbered = render(bom.clone())?;
    bom.serial_number = Some(serial_number(&Sha256Digest::of(&unnumbered))?);
    out.write_all(&render(bom)?)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn render(bom: Bom) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::new();
    bom.output_as_json_v1_5(&mut buf)
        .map_err(|e| Error::CycloneDx(e.to_string()))?;
    Ok(buf)
}

/// `urn:uuid:` with the digest's first 16 bytes, version and variant bits
/// set as RFC 9562 §5.5 (version 5, name-based with SHA-1) does, though the
/// name here is hashed with SHA-256. The crate checks the URN shape.
fn serial_number(digest: &Sha256Digest) -> Result<UrnUuid, Error> {
    UrnUuid::new(super::serial_urn(digest)).map_err(|e| Error::CycloneDx(format!("{e:?}")))
}

fn build(facts: &[ModelFacts], info: &DocumentInfo) -> Result<Bom, Error> {
    let timestamp =
        DateTime::try_from(info.created_utc()).map_err(|e| Error::CycloneDx(e.to_string()))?;
    let tool = Component::new(
        Classification::Application,
        info.tool_name,
        info.tool_version,
        None,
    );
    let metadata = Metadata {
        timestamp: Some(timestamp),
        tools: Some(Tools::Object {
            services: None,
            components: Some(Components(vec![tool])),
        }),
        ..Metadata::default()
    };
    let components: Vec<Component> = facts
        .iter()
        .enumerate()
        .map(|(i, m)| model_component(i.saturating_add(1), m))
        .collect();
    Ok(Bom {
        serial_number: None,
        metadata: Some(metadata),
        components: (!components.is_empty()).then_some(Components(components)),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    })
}

fn sha256_hashes(digest: Option<Sha256Digest>) -> Option<Hashes> {
    digest.map(|d| {
        Hashes(vec![Hash {
            alg: HashAlgorithm::SHA_256,
            content: HashValue(d.to_hex()),
        }])
    })
}

fn model_component(index: usize, m: &ModelFacts) -> Component {
    let name = file_name(&m.model_filename);
    let bom_ref = format!("model-{index}-{}", ref_chars(name));
    let mut c = Component::new(
        Classification::MachineLearningModel,
        &value(name),
        "",
        Some(bom_ref.clone()),
    );
    c.version = None;
    c.description = m.name.as_deref().map(|n| NormalizedString::new(&value(n)));
    c.hashes = sha256_hashes(m.sha256);
    c.licenses = licences(m);
    c.properties = Some(Properties(properties(m)));
    c.model_card = Some(model_card(m));
    let shards: Vec<Component> = m
        .shards
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let shard_name = file_name(&s.filename);
            let shard_ref = format!(
                "{bom_ref}-shard-{}-{}",
                j.saturating_add(1),
                ref_chars(shard_name)
            );
            let mut shard = Component::new(
                Classification::File,
                &value(shard_name),
                "",
                Some(shard_ref),
            );
            shard.version = None;
            shard.hashes = sha256_hashes(s.sha256);
            shard.properties = Some(Properties(vec![Property::new(
                "lbom:file_size_bytes",
                &s.file_size_bytes.to_string(),
            )]));
            shard
        })
        .collect();
    c.components = (!shards.is_empty()).then_some(Components(shards));
    c
}

fn licences(m: &ModelFacts) -> Option<Licenses> {
    let declared = licence::declared(m)?;
    let choice = match licence::spdx_id(&declared.raw) {
        // A compound expression must be the single entry (CycloneDX 1.5).
        LicenceId::Spdx(expr) if expr.contains(' ') => LicenseChoice::expression(&expr),
        LicenceId::Spdx(id) => LicenseChoice::License(License::license_id(&id)),
        LicenceId::Ref(_) => LicenseChoice::License(License::named_license(&value(&declared.raw))),
    };
    Some(Licenses(vec![choice]))
}

/// Only what the file says: GGUF's `general.architecture` is a family;
/// a transformers class is the architecture, its family config.json's
/// `model_type`. With neither, the card is empty (`{}`) rather than
/// guessed; it is still there so every model component has one.
fn model_card(m: &ModelFacts) -> ModelCard {
    let meta_str = |k: &str| m.metadata.get(k).and_then(|v| v.as_str()).map(value);
    let (family, architecture) = match m.architecture.as_deref() {
        Some(arch) if is_class_name(arch) => (meta_str("model_type"), Some(arch.to_owned())),
        Some(arch) => (Some(value(arch)), None),
        None => (None, None),
    };
    let parameters = (family.is_some() || architecture.is_some()).then_some(ModelParameters {
        approach: None,
        task: None,
        architecture_family: family,
        model_architecture: architecture,
        datasets: None,
        inputs: None,
        outputs: None,
    });
    ModelCard {
        // No bom-ref: cyclonedx-bom 0.8.1 writes it as `bomRef` inside a
        // modelCard (specs/v1_5/modelcard.rs, `rename_all = "camelCase"`),
        // which the 1.5 schema rejects.
        bom_ref: None,
        model_parameters: parameters,
        quantitative_analysis: None,
        considerations: None,
        properties: None,
    }
}

fn properties(m: &ModelFacts) -> Vec<Property> {
    fact_properties(m)
        .into_iter()
        .map(|(name, value)| Property::new(name, &value))
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

    fn property<'a>(c: &'a Value, name: &str) -> Vec<&'a str> {
        c["properties"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["name"] == name)
                    .filter_map(|p| p["value"].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn gguf_component_carries_hash_licence_model_card_and_facts() {
        let v = bom(&[fixtures::gguf_llama()]);
        assert_eq!(v["bomFormat"], "CycloneDX");
        assert_eq!(v["specVersion"], "1.5");
        assert_eq!(v["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(v["metadata"]["tools"]["components"][0]["name"], "lbom");
        let c = &v["components"][0];
        assert_eq!(c["type"], "machine-learning-model");
        assert_eq!(c["name"], "Llama-3.2-1B-Instruct-Q4_K_M.gguf");
        assert_eq!(c["bom-ref"], "model-1-Llama-3.2-1B-Instruct-Q4_K_M.gguf");
        assert_eq!(c["hashes"][0]["alg"], "SHA-256");
        assert_eq!(
            c["hashes"][0]["content"],
            fixtures::gguf_llama()
                .sha256
                .map(|d| d.to_hex())
                .unwrap_or_default()
        );
        assert_eq!(c["licenses"][0]["license"]["name"], "llama3.2");
        assert_eq!(
            c["modelCard"]["modelParameters"]["architectureFamily"],
            "llama"
        );
        assert_eq!(
            c["modelCard"]["modelParameters"]["modelArchitecture"],
            Value::Null
        );
        assert_eq!(property(c, "lbom:format"), ["gguf"]);
        assert_eq!(property(c, "lbom:quantization"), ["Q4_K_M"]);
        assert_eq!(property(c, "lbom:file_type"), ["15"]);
        assert_eq!(property(c, "lbom:parameter_count"), ["1235814400"]);
        assert_eq!(property(c, "lbom:context_length"), ["131072"]);
        assert_eq!(property(c, "lbom:vocab_size"), ["128256"]);
        assert_eq!(
            property(c, "lbom:tensor_type:Q6_K"),
            ["17 tensors, 235681280 parameters"]
        );
        let template = fixtures::gguf_llama()
            .chat_template_sha256
            .map(|d| d.to_hex())
            .unwrap_or_default();
        assert_eq!(
            property(c, "lbom:chat_template_sha256"),
            [template.as_str()]
        );
        assert_eq!(
            property(c, "lbom:finding:gguf.chat_template"),
            ["info: chat template present (1024 bytes)"]
        );
    }

    #[test]
    fn safetensors_pickle_and_unlicensed_models() {
        let v = bom(&fixtures::all());
        let st = &v["components"][1];
        assert_eq!(st["licenses"][0]["license"]["id"], "Apache-2.0");
        assert_eq!(st["hashes"], Value::Null);
        assert_eq!(
            st["modelCard"]["modelParameters"]["modelArchitecture"],
            "LlamaForCausalLM"
        );
        assert_eq!(
            st["modelCard"]["modelParameters"]["architectureFamily"],
            "llama"
        );
        assert_eq!(st["components"][1]["type"], "file");
        assert_eq!(
            st["components"][1]["name"],
            "model-00002-of-00002.safetensors"
        );
        assert_eq!(st["components"][1]["hashes"][0]["alg"], "SHA-256");
        let pickle = &v["components"][2];
        assert_eq!(pickle["licenses"][0]["license"]["id"], "MIT");
        assert_eq!(
            property(pickle, "lbom:finding:pickle.dangerous_import").len(),
            2
        );
        assert_eq!(
            property(pickle, "lbom:pickle_import"),
            ["collections.OrderedDict", "os.system"]
        );
        assert_eq!(pickle["modelCard"], serde_json::json!({}));
        assert_eq!(v["components"][3]["licenses"], Value::Null);
    }

    #[test]
    fn serial_number_is_a_content_hash_and_output_is_deterministic() {
        let a = run(|o| write_json(&fixtures::all(), &info(), o));
        assert_eq!(a, run(|o| write_json(&fixtures::all(), &info(), o)));
        let v: Value = serde_json::from_str(&a.unwrap_or_default()).unwrap_or_default();
        let serial = v["serialNumber"].as_str().unwrap_or_default();
        assert_eq!(serial.len(), "urn:uuid:".len() + 36);
        assert_eq!(serial.as_bytes().get(23), Some(&b'5'), "{serial}");
        assert!(
            matches!(serial.as_bytes().get(28), Some(b'8' | b'9' | b'a' | b'b')),
            "{serial}"
        );
        let other = bom(&[fixtures::gguf_llama()]);
        assert_ne!(other["serialNumber"], v["serialNumber"]);
    }

    #[test]
    fn hostile_strings_stay_values_and_paths_do_not_leak() {
        let text = run(|o| write_json(&fixtures::all(), &info(), o)).unwrap_or_default();
        assert!(
            !text.contains(LOCAL_DIR) && !text.contains("/home/"),
            "local path leaked"
        );
        assert!(!text.contains("NaN") && !text.contains('\u{1b}') && !text.contains('\u{202E}'));
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        let h = &v["components"][4];
        assert!(
            h["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("SHA1: evil\"name': x\\u{a}---"))
        );
        assert_eq!(property(h, "lbom:base_model"), Vec::<&str>::new());
        assert!(
            property(h, "lbom:training_framework")
                .first()
                .is_some_and(|t| t.chars().count() == super::super::facts::MAX_VALUE_CHARS + 1)
        );
        assert_eq!(
            h["licenses"][0]["license"]["name"]
                .as_str()
                .map(|n| n.contains("\\u{a}")),
            Some(true)
        );
    }

    #[test]
    fn empty_scan_is_a_valid_empty_bom() {
        let v = bom(&[]);
        assert_eq!(v["specVersion"], "1.5");
        assert_eq!(v["components"], Value::Null);
    }
}
