//! Hand-built [`ModelFacts`] for the writers' tests: what `inspect` reports
//! for typical files, and for files written to attack the writers.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::inspect::facts::ShardSummary;
use crate::inspect::facts::{Finding, Format, ModelFacts, TensorTypeStat};
use crate::io::digest::Sha256Digest;

use super::DocumentInfo;

/// The absolute directory every fixture lives in; it must never appear in
/// SPDX, CycloneDX or Hugging Face output.
pub(crate) const LOCAL_DIR: &str = "/home/alice/secret-project/models";

/// A fixed document info (2023-11-14T22:13:20Z).
pub(crate) fn info() -> DocumentInfo {
    DocumentInfo {
        created: jiff::Timestamp::from_second(1_700_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        tool_name: "lbom",
        tool_version: "0.1.0",
    }
}

fn meta(pairs: Value) -> Map<String, Value> {
    match pairs {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn types(list: &[(&str, u64, u64)]) -> BTreeMap<String, TensorTypeStat> {
    list.iter()
        .map(|&(name, tensors, parameters)| {
            (
                name.to_owned(),
                TensorTypeStat {
                    tensors,
                    parameters,
                },
            )
        })
        .collect()
}

/// A Q4_K_M llama GGUF, as llama.cpp's converter writes it.
pub(crate) fn gguf_llama() -> ModelFacts {
    let mut f = ModelFacts {
        model_path: format!("{LOCAL_DIR}/Llama-3.2-1B-Instruct-Q4_K_M.gguf"),
        model_filename: "Llama-3.2-1B-Instruct-Q4_K_M.gguf".into(),
        file_size_bytes: 807_690_656,
        sha256: Some(Sha256Digest::of(b"llama gguf")),
        format: Format::Gguf,
        architecture: Some("llama".into()),
        parameter_count: Some(1_235_814_400),
        quantization: Some("Q4_K_M".into()),
        dtype: Some("Q4_K".into()),
        context_length: Some(131_072),
        vocab_size: Some(128_256),
        license: Some("llama3.2".into()),
        base_model: Some("meta-llama/Llama-3.2-1B-Instruct".into()),
        training_framework: None,
        metadata: meta(json!({
            "general.architecture": "llama",
            "general.name": "Llama 3.2 1B Instruct",
            "general.size_label": "1B",
            "general.license": "llama3.2",
            "general.tags": ["facebook", "meta", "text-generation"],
            "llama.context_length": 131072,
            "llama.rope.freq_base": 500000.0,
            "general.file_type": 15,
        })),
        tensor_types: types(&[
            ("F32", 34, 133_120),
            ("Q4_K", 96, 1_000_000_000),
            ("Q6_K", 17, 235_681_280),
        ]),
        chat_template_sha256: Some(Sha256Digest::of(b"{% for m in messages %}")),
        tokenizer_sha256: Some(Sha256Digest::of(b"tokens")),
        file_type: Some(15),
        name: Some("Llama 3.2 1B Instruct".into()),
        size_label: Some("1B".into()),
        format_version: Some(3),
        endianness: Some("little".into()),
        alignment: Some(32),
        tensor_count: Some(147),
        ..ModelFacts::default()
    };
    f.push(Finding::info(
        "gguf.chat_template",
        "chat template present (1024 bytes)",
    ));
    f
}

/// A two-shard F16 safetensors folder with config.json.
pub(crate) fn safetensors_folder() -> ModelFacts {
    ModelFacts {
        model_path: format!("{LOCAL_DIR}/SmolLM2-135M"),
        model_filename: "SmolLM2-135M".into(),
        file_size_bytes: 269_060_552,
        sha256: None,
        format: Format::Safetensors,
        architecture: Some("LlamaForCausalLM".into()),
        parameter_count: Some(134_515_008),
        quantization: Some("F16".into()),
        dtype: Some("F16".into()),
        context_length: Some(8192),
        vocab_size: Some(49_152),
        license: Some("apache-2.0".into()),
        base_model: None,
        training_framework: Some("transformers 4.44.0".into()),
        metadata: meta(json!({ "model_type": "llama", "torch_dtype": "float16" })),
        tensor_types: types(&[("F16", 272, 134_515_008)]),
        tokenizer_sha256: Some(Sha256Digest::of(b"tokenizer.json")),
        tensor_count: Some(272),
        shards: vec![
            ShardSummary {
                filename: "model-00001-of-00002.safetensors".into(),
                file_size_bytes: 200_000_000,
                sha256: Some(Sha256Digest::of(b"shard 1")),
            },
            ShardSummary {
                filename: format!("{LOCAL_DIR}/SmolLM2-135M/model-00002-of-00002.safetensors"),
                file_size_bytes: 69_060_552,
                sha256: Some(Sha256Digest::of(b"shard 2")),
            },
        ],
        ..ModelFacts::default()
    }
}

/// A PyTorch pickle that imports `os.system`.
pub(crate) fn pickle_with_findings() -> ModelFacts {
    let mut f = ModelFacts {
        model_path: format!("{LOCAL_DIR}/pytorch_model.bin"),
        model_filename: "pytorch_model.bin".into(),
        file_size_bytes: 2_048,
        sha256: Some(Sha256Digest::of(b"pickle")),
        format: Format::PytorchZip,
        license: Some("MIT".into()),
        pickle_imports: vec!["collections.OrderedDict".into(), "os.system".into()],
        ..ModelFacts::default()
    };
    f.push(Finding::error(
        "pickle.code_capable",
        "loading this file can run arbitrary code",
    ));
    f.push(Finding::warning(
        "pickle.dangerous_import",
        "pickle imports os.system",
    ));
    f.push(Finding::warning(
        "pickle.dangerous_import",
        "pickle imports builtins.eval",
    ));
    f
}

/// A GGUF without any licence key and without a hash (`--no-hash`).
pub(crate) fn no_licence() -> ModelFacts {
    ModelFacts {
        model_path: format!("{LOCAL_DIR}/tiny.gguf"),
        model_filename: "tiny.gguf".into(),
        file_size_bytes: 1_500_000,
        format: Format::Gguf,
        architecture: Some("llama".into()),
        parameter_count: Some(2_100_000),
        quantization: Some("F32".into()),
        ..ModelFacts::default()
    }
}

/// Every string a hostile file can choose, chosen to break the writers.
pub(crate) const HOSTILE: &str = "evil\"name': x\n---\ntitle: pwned # |a|b| <script>alert(1)</script> </text>\r\n\x1b[31m\u{202E}\u{2028}`x` [l](javascript:x) & *b* _i_ \\ {{t}}";

/// A file whose every string field is [`HOSTILE`].
pub(crate) fn hostile() -> ModelFacts {
    let long = "A".repeat(5_000);
    let mut f = ModelFacts {
        model_path: format!("{LOCAL_DIR}/{HOSTILE}.gguf"),
        // A file name cannot hold `/`; keep the rest of the hostile string.
        model_filename: format!("SHA1: {}.gguf", HOSTILE.replace(['/', '\\'], "_")),
        file_size_bytes: 10,
        sha256: Some(Sha256Digest::of(b"hostile")),
        format: Format::Gguf,
        architecture: Some(HOSTILE.into()),
        parameter_count: Some(u64::MAX),
        quantization: Some(HOSTILE.into()),
        dtype: Some(HOSTILE.into()),
        context_length: Some(u64::MAX),
        vocab_size: Some(0),
        license: Some(HOSTILE.into()),
        base_model: Some(format!("{LOCAL_DIR}/base")),
        training_framework: Some(long.clone()),
        metadata: meta(json!({
            "general.tags": [HOSTILE, "ok-tag", long],
            "general.license.link": format!("file://{LOCAL_DIR}/LICENSE"),
            "nan": f64::NAN,
        })),
        tensor_types: types(&[(HOSTILE, 1, 1)]),
        name: Some(HOSTILE.into()),
        size_label: Some(HOSTILE.into()),
        endianness: Some(HOSTILE.into()),
        pickle_imports: vec![HOSTILE.into()],
        shards: vec![ShardSummary {
            filename: format!("{LOCAL_DIR}/{HOSTILE}"),
            file_size_bytes: 1,
            sha256: None,
        }],
        ..ModelFacts::default()
    };
    f.push(Finding::error(HOSTILE, HOSTILE));
    f
}

/// All fixtures, in a fixed order.
pub(crate) fn all() -> Vec<ModelFacts> {
    vec![
        gguf_llama(),
        safetensors_folder(),
        pickle_with_findings(),
        no_licence(),
        hostile(),
    ]
}

/// Run a writer into a byte vector.
pub(crate) fn render(
    write: impl Fn(&mut dyn std::io::Write) -> Result<(), super::Error>,
) -> Result<String, String> {
    let mut out = Vec::new();
    write(&mut out).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// What `write` writes, parsed as JSON (`Null` when it is not JSON).
pub(crate) fn render_json(
    write: impl Fn(&mut dyn std::io::Write) -> Result<(), super::Error>,
) -> serde_json::Value {
    let text = render(write).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_default()
}

/// Write every format for the fixtures into `$LBOM_DESCRIBE_OUT`, for the
/// external validators (pyspdxtools, validate_cdx.py, check_hf_readme.py).
/// Run by hand: `LBOM_DESCRIBE_OUT=/tmp/x cargo test --lib export_samples -- --ignored`.
#[test]
#[ignore = "writes files for external validators"]
fn export_samples() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::var("LBOM_DESCRIBE_OUT")?);
    std::fs::create_dir_all(&dir)?;
    // One model per built-in SPDX id, plus an expression: checks the ids
    // against the validators' own licence lists.
    let licences: Vec<ModelFacts> = super::licence::SPDX_IDS
        .iter()
        .chain(["mit OR apache-2.0", "gpl-3.0"].iter())
        .map(|id| ModelFacts {
            model_filename: format!("{id}.gguf"),
            license: Some((*id).to_owned()),
            ..no_licence()
        })
        .collect();
    let sets: [(&str, Vec<ModelFacts>); 7] = [
        ("licences", licences),
        ("all", all()),
        ("llama", vec![gguf_llama()]),
        ("safetensors", vec![safetensors_folder()]),
        ("pickle", vec![pickle_with_findings()]),
        ("nolicence", vec![no_licence()]),
        ("hostile", vec![hostile()]),
    ];
    for (name, facts) in sets {
        let file = |ext: &str| std::fs::File::create(dir.join(format!("{name}{ext}")));
        super::spdx::write_tag_value(&facts, &info(), &mut file(".spdx")?)?;
        super::spdx::write_json(&facts, &info(), &mut file(".spdx.json")?)?;
        super::json::write(&facts, &info(), &mut file(".json")?)?;
        super::table::write(&facts, false, &mut file(".txt")?)?;
        super::cyclonedx::write_json(&facts, &info(), &mut file(".cdx.json")?)?;
        let card = super::hf_readme::HfReadmeOptions::default();
        super::hf_readme::write(&facts, &card, &info(), &mut file(".README.md")?)?;
        let space = super::hf_readme::HfReadmeOptions {
            title: Some(format!("{HOSTILE} space")),
            short_description: Some(HOSTILE.to_owned()),
            sdk: Some("docker".to_owned()),
            app_file: Some("app.py\n---\nx: y".to_owned()),
            app_port: Some(7860),
        };
        super::hf_readme::write(&facts, &space, &info(), &mut file(".space.README.md")?)?;
    }
    Ok(())
}
