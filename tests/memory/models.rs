//! Model files at the parsers' limits, written from their formats' specs
//! (ggml docs/gguf.md, huggingface/safetensors, pickletools, PKZIP via the
//! `zip` crate's writer, RFC 8878 via libzstd), for the memory tests: each
//! makes lbom's parser keep as much as `lbom::limits::Limits` allows.

use std::io::{Cursor, Write};

use super::writer::Res;

/// GGUF value type ids (docs/gguf.md).
const UINT32: u32 = 4;
const STRING: u32 = 8;

/// A GGUF v3, little-endian: `kvs` (each a u32 or a string value) and
/// `tensors` (each an F32 of one element), data aligned at 32.
pub struct Gguf {
    kvs: Vec<u8>,
    kv_count: u64,
    infos: Vec<u8>,
    tensor_count: u64,
}

impl Gguf {
    pub fn new() -> Self {
        Self {
            kvs: Vec::new(),
            kv_count: 0,
            infos: Vec::new(),
            tensor_count: 0,
        }
    }

    fn string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s);
    }

    pub fn u32(&mut self, key: &str, v: u32) -> &mut Self {
        Self::string(&mut self.kvs, key.as_bytes());
        self.kvs.extend_from_slice(&UINT32.to_le_bytes());
        self.kvs.extend_from_slice(&v.to_le_bytes());
        self.kv_count += 1;
        self
    }

    pub fn str(&mut self, key: &str, v: &[u8]) -> &mut Self {
        Self::string(&mut self.kvs, key.as_bytes());
        self.kvs.extend_from_slice(&STRING.to_le_bytes());
        Self::string(&mut self.kvs, v);
        self.kv_count += 1;
        self
    }

    /// A one-element F32 tensor at data offset `4 × index`.
    pub fn tensor(&mut self, name: &str) -> &mut Self {
        Self::string(&mut self.infos, name.as_bytes());
        self.infos.extend_from_slice(&1u32.to_le_bytes()); // n_dims
        self.infos.extend_from_slice(&1u64.to_le_bytes()); // ne[0]
        self.infos.extend_from_slice(&0u32.to_le_bytes()); // GGML_TYPE_F32
        self.infos
            .extend_from_slice(&(4 * self.tensor_count).to_le_bytes());
        self.tensor_count += 1;
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&self.tensor_count.to_le_bytes());
        out.extend_from_slice(&self.kv_count.to_le_bytes());
        out.extend_from_slice(&self.kvs);
        out.extend_from_slice(&self.infos);
        out.resize(out.len().div_ceil(32) * 32, 0);
        out.resize(
            out.len() + 4 * usize::try_from(self.tensor_count).unwrap_or(0),
            0,
        );
        out
    }
}

/// A GGUF whose keys fill the parser's kept-bytes budget: `count` keys of
/// `key_bytes` each.
pub fn gguf_many_keys(count: usize, key_bytes: usize) -> Vec<u8> {
    let mut g = Gguf::new();
    g.str("general.architecture", b"llama");
    for i in 0..count {
        let key = format!("k{i:06}.{}", "k".repeat(key_bytes.saturating_sub(8)));
        g.u32(&key, 1);
    }
    g.build()
}

/// A GGUF whose keys fill the kept-bytes budget and each hide behind no
/// other but are not their own fold (a fullwidth letter first, a NUL
/// inside): the shadowing check keeps the bytes of every such key, not
/// only its fingerprint.
pub fn gguf_many_odd_keys(count: usize, key_bytes: usize) -> Vec<u8> {
    let mut g = Gguf::new();
    g.str("general.architecture", b"llama");
    for i in 0..count {
        let key = format!(
            "\u{ff4b}{i:06}\0{}",
            "k".repeat(key_bytes.saturating_sub(11))
        );
        g.u32(&key, 1);
    }
    g.build()
}

/// A safetensors file of one tensor whose entry holds an unknown field: an
/// object of as many tiny keys as fit in `bytes` (walked, not kept; each
/// key checked for shadowing up to the per-document cap).
pub fn safetensors_many_keys(bytes: usize) -> Vec<u8> {
    let mut header = String::with_capacity(bytes + 128);
    header.push_str(r#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":{"#);
    let mut i = 0usize;
    while header.len() + 16 < bytes {
        header.push_str(&format!("\"{i:x}\":0,"));
        i += 1;
    }
    header.push_str("\"0\":1}}}");
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&[0; 4]);
    out
}

/// A GGUF of `count` tensors named with `name_bytes` bytes each.
pub fn gguf_many_tensors(count: usize, name_bytes: usize) -> Vec<u8> {
    let mut g = Gguf::new();
    g.str("general.architecture", b"llama");
    for i in 0..count {
        let name = format!("t{i:06}.{}", "n".repeat(name_bytes.saturating_sub(8)));
        g.tensor(&name);
    }
    g.build()
}

/// A GGUF of listed strings just under 64 KiB each (kept) up to `kept`
/// bytes, a chat template of `template` bytes (kept three times), and one
/// string of `long` bytes (summarised, streamed).
pub fn gguf_strings(kept: usize, template: usize, long: usize) -> Vec<u8> {
    let mut g = Gguf::new();
    g.str("general.architecture", b"llama");
    g.str("tokenizer.chat_template", &vec![b't'; template]);
    let listed = vec![b's'; 60 * 1024];
    for i in 0..kept / listed.len() {
        g.str(&format!("s{i:04}"), &listed);
    }
    g.str("general.long", &vec![b'l'; long]);
    g.build()
}

/// A safetensors file whose header lists `count` one-element F32 tensors
/// named with `name_bytes` bytes each, and then `filler` bytes of an
/// unknown field no check reads.
pub fn safetensors(count: usize, name_bytes: usize, filler: usize) -> Vec<u8> {
    let mut header = String::from("{");
    for i in 0..count {
        let name = format!("t{i:06}.{}", "n".repeat(name_bytes.saturating_sub(8)));
        header.push_str(&format!(
            r#""{name}":{{"dtype":"F32","shape":[1],"data_offsets":[{},{}]}},"#,
            4 * i,
            4 * i + 4
        ));
    }
    header.push_str(r#""filler":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":["#);
    let mut numbers = 0;
    while numbers < filler / 2 {
        header.push_str("0,");
        numbers += 1;
    }
    header.push_str("0]}}");
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + 4 * count, 0);
    out
}

/// A protocol 4 pickle (pickletools) that fills the scanner's stack, memo
/// and text budget: `strings` distinct strings of `bytes` bytes each, every
/// one memoised, all kept on the stack under one MARK, then a list.
pub fn pickle(strings: usize, bytes: usize) -> Vec<u8> {
    let mut out = vec![0x80, 4]; // PROTO 4
    out.push(b'('); // MARK
    for i in 0..strings {
        let s = format!("{i:08}{}", "p".repeat(bytes.saturating_sub(8)));
        out.push(0x8c); // SHORT_BINUNICODE
        out.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(s.as_bytes());
        out.push(0x94); // MEMOIZE
    }
    out.push(b'l'); // LIST
    out.push(b'.'); // STOP
    out
}

/// A torch-style zip: `entries` stored entries named with `name_bytes`
/// bytes each, and one `archive/data.pkl`.
pub fn zip(entries: usize, name_bytes: usize) -> Res<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("archive/data.pkl", options)?;
    writer.write_all(&[0x80, 2, b']', b'.'])?;
    for i in 0..entries {
        let name = format!(
            "archive/data/{i:06}{}",
            "n".repeat(name_bytes.saturating_sub(19))
        );
        writer.start_file(name, options)?;
        writer.write_all(b"x")?;
    }
    Ok(writer.finish()?.into_inner())
}

/// One zstd frame of `size` zero bytes with the content size and checksum,
/// whose window is 2^`window_log` bytes.
pub fn zstd_zeros(size: u64, window_log: u32) -> Res<Vec<u8>> {
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 19)?;
    encoder.include_checksum(true)?;
    encoder.include_contentsize(true)?;
    encoder.set_pledged_src_size(Some(size))?;
    encoder.window_log(window_log)?;
    std::io::copy(
        &mut std::io::Read::take(std::io::repeat(0), size),
        &mut encoder,
    )?;
    Ok(encoder.finish()?)
}
