//! Hugging Face folders at the side-file limits (docs/scan-report.md,
//! "Folder models"; docs/bundle-format.md, "Reader limits"), written from
//! the file formats with plain string building: what a folder's side files
//! make `verify`, `import` and `diff` capture, key-check, extract and apply
//! to every model file of the folder.

use super::writer::Artifact;

/// Files of a delivery: artifact path and bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// The smallest valid safetensors file: one F32 tensor of one element.
pub fn tiny_safetensors() -> Vec<u8> {
    let header = br#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(&[0; 4]);
    out
}

/// The members `"k<hex>":0` of a JSON object, as many as fit in `bytes`,
/// each key distinct (the most keys a file of that size can hold, each a
/// fingerprint in the shadowing check), then `"0":1`, a repeat that only a
/// check of every key would see.
fn tiny_members(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 64);
    let mut i = 0usize;
    while out.len() + 16 < bytes {
        out.push_str(&format!("\"{i:x}\":0,"));
        i += 1;
    }
    out.push_str("\"0\":1");
    out
}

/// A `tokenizer.json` of about `bytes` bytes whose vocabulary is millions
/// of one- to five-byte tokens.
pub fn tokenizer_json(bytes: usize) -> Vec<u8> {
    format!(
        r#"{{"version":"1.0","model":{{"type":"BPE","vocab":{{{}}}}}}}"#,
        tiny_members(bytes.saturating_sub(64))
    )
    .into_bytes()
}

/// A `tokenizer_config.json` of about `bytes` bytes: a chat template and
/// millions of tiny top-level keys.
pub fn tokenizer_config_json(bytes: usize) -> Vec<u8> {
    format!(
        r#"{{"chat_template":"{{{{ messages }}}}","model_max_length":4096,{}}}"#,
        tiny_members(bytes.saturating_sub(96))
    )
    .into_bytes()
}

/// A `config.json` of about `bytes` bytes of tiny keys (held as a whole
/// JSON tree: at most `side_tree_max_bytes`).
pub fn config_json(bytes: usize) -> Vec<u8> {
    format!(
        r#"{{"architectures":["LlamaForCausalLM"],"model_type":"llama",{}}}"#,
        tiny_members(bytes.saturating_sub(96))
    )
    .into_bytes()
}

/// A JSON side file whose one object repeats `repeats` keys: as many key
/// findings as a file lists, and the count of the rest.
pub fn repeated_keys_json(repeats: usize) -> Vec<u8> {
    let mut out = String::from("{\"a\":0");
    for _ in 0..repeats {
        out.push_str(",\"a\":0");
    }
    out.push('}');
    out.into_bytes()
}

/// A chat template of `bytes` bytes (its text is what a folder keeps).
pub fn template(bytes: usize) -> Vec<u8> {
    let mut t = b"{% for m in messages %}{{ m.content }}{% endfor %}".to_vec();
    t.resize(bytes.max(t.len()), b' ');
    t
}

/// `files` as artifacts, sorted by artifact path (the bundle's order).
pub fn artifacts(mut files: Files) -> Vec<Artifact> {
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
        .into_iter()
        .map(|(path, data)| Artifact::raw(&path, data))
        .collect()
}
