//! Criterion micro-benchmarks of lbom's hot paths (issue 6):
//!
//! - SHA-256 through `io::digest::Hasher` over 1 MiB and 64 MiB buffers
//!   (the digest every scan, pack, verify and import computes);
//! - the GGUF header parser on a 250,000-token vocabulary (the header-only
//!   scan of a large tokenizer);
//! - the safetensors header parser on a 2,000-tensor header;
//! - manifest serialisation and parsing with 10,000 entries (pack writes one,
//!   verify and import parse one).
//!
//! `make bench-micro` runs them; `cargo bench --no-run` only builds them.
//! Inputs are built in memory: nothing here touches the disk.
// A benchmark reports on stderr; lbom's own output rules (clippy.toml) do not apply.
#![allow(clippy::print_stderr)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lbom::bundle::layout::MANIFEST_SCHEMA;
use lbom::bundle::manifest::Tool;
use lbom::bundle::{BundlePath, Encoding, Manifest, ManifestEntry, Role};
use lbom::inspect::{gguf, safetensors};
use lbom::io::digest::{Hasher, Sha256Digest};
use lbom::limits::Limits;

const MIB: usize = 1 << 20;

fn sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256");
    for mib in [1usize, 64] {
        // Not all zeros: a pattern the compiler cannot fold.
        let buf: Vec<u8> = (0..mib * MIB).map(|i| (i % 251) as u8).collect();
        group.throughput(Throughput::Bytes(buf.len() as u64));
        if mib == 64 {
            group.sample_size(10);
        }
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{mib}MiB")),
            &buf,
            |b, buf| {
                b.iter(|| {
                    let mut h = Hasher::new();
                    // The chunk size lbom's readers hand to the hasher.
                    for chunk in buf.chunks(MIB) {
                        h.update(chunk);
                    }
                    black_box(h.finish())
                })
            },
        );
    }
    group.finish();
}

// ---- GGUF v3 (ggml docs/gguf.md), little-endian, written by hand -------------

const GGUF_TYPE_UINT32: u32 = 4;
const GGUF_TYPE_INT32: u32 = 5;
const GGUF_TYPE_STRING: u32 = 8;
const GGUF_TYPE_ARRAY: u32 = 9;
const GGML_TYPE_F32: u32 = 0;
const GGUF_ALIGNMENT: usize = 32;

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_kv_str(out: &mut Vec<u8>, key: &str, value: &str) {
    put_str(out, key);
    out.extend_from_slice(&GGUF_TYPE_STRING.to_le_bytes());
    put_str(out, value);
}

fn put_kv_u32(out: &mut Vec<u8>, key: &str, value: u32) {
    put_str(out, key);
    out.extend_from_slice(&GGUF_TYPE_UINT32.to_le_bytes());
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_array_head(out: &mut Vec<u8>, key: &str, elem: u32, n: usize) {
    put_str(out, key);
    out.extend_from_slice(&GGUF_TYPE_ARRAY.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
    out.extend_from_slice(&(n as u64).to_le_bytes());
}

/// A llama-style GGUF with an `n`-token vocabulary (tokens, types and
/// merges, as llama.cpp's converters write them) and one 4x32 F32 tensor.
fn gguf_with_vocab(n: usize) -> Vec<u8> {
    let mut kv = Vec::new();
    put_kv_str(&mut kv, "general.architecture", "llama");
    put_kv_str(&mut kv, "general.name", "bench vocab");
    put_kv_u32(&mut kv, "general.file_type", 0);
    put_kv_u32(&mut kv, "llama.context_length", 4096);
    put_kv_u32(&mut kv, "llama.vocab_size", n as u32);
    put_kv_str(&mut kv, "tokenizer.ggml.model", "gpt2");
    put_array_head(&mut kv, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, n);
    for i in 0..n {
        put_str(&mut kv, &format!("tok{i}"));
    }
    put_array_head(&mut kv, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, n);
    for _ in 0..n {
        kv.extend_from_slice(&1i32.to_le_bytes());
    }
    put_array_head(&mut kv, "tokenizer.ggml.merges", GGUF_TYPE_STRING, n);
    for i in 0..n {
        put_str(&mut kv, &format!("t o{i}"));
    }
    let kv_count: u64 = 9;

    let mut out = Vec::with_capacity(kv.len() + 256);
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes()); // tensors
    out.extend_from_slice(&kv_count.to_le_bytes());
    out.extend_from_slice(&kv);
    put_str(&mut out, "token_embd.weight");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&32u64.to_le_bytes());
    out.extend_from_slice(&4u64.to_le_bytes());
    out.extend_from_slice(&GGML_TYPE_F32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // offset in the data section
    out.resize(out.len().div_ceil(GGUF_ALIGNMENT) * GGUF_ALIGNMENT, 0);
    out.resize(out.len() + 4 * 32 * 4, 0);
    out
}

fn gguf_header(c: &mut Criterion) {
    let file = gguf_with_vocab(250_000);
    let limits = Limits::default();
    let facts = gguf::inspect(
        &mut file.as_slice(),
        file.len() as u64,
        "vocab.gguf",
        &limits,
    );
    // A benchmark of a parser that refuses its input measures the refusal.
    match &facts {
        Ok(f) if f.tensor_count == Some(1) => {}
        other => {
            eprintln!("gguf fixture not parsed as expected: {other:?}");
            std::process::exit(1);
        }
    }
    let mut group = c.benchmark_group("gguf_header");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function("vocab_250k", |b| {
        b.iter(|| {
            black_box(gguf::inspect(
                &mut black_box(file.as_slice()),
                file.len() as u64,
                "vocab.gguf",
                &limits,
            ))
        })
    });
    group.finish();
}

// ---- safetensors ------------------------------------------------------------

/// A safetensors file of `n` F16 tensors of 64x64, header padded to 8 bytes
/// (huggingface/safetensors docs), data zeroed.
fn safetensors_with(n: usize) -> Vec<u8> {
    let tensor_bytes = 64 * 64 * 2;
    let mut json = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    for i in 0..n {
        let start = i * tensor_bytes;
        json.push_str(&format!(
            ",\"model.layers.{}.mlp.w{}.weight\":{{\"dtype\":\"F16\",\"shape\":[64,64],\"data_offsets\":[{},{}]}}",
            i / 8,
            i % 8,
            start,
            start + tensor_bytes
        ));
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + n * tensor_bytes);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    out.resize(out.len() + n * tensor_bytes, 0);
    out
}

fn safetensors_header(c: &mut Criterion) {
    let n = 2_000;
    let file = safetensors_with(n);
    let limits = Limits::default();
    match safetensors::inspect(
        &mut file.as_slice(),
        file.len() as u64,
        "m.safetensors",
        &limits,
    ) {
        Ok(f) if f.tensor_count == Some(n as u64) => {}
        other => {
            eprintln!("safetensors fixture not parsed as expected: {other:?}");
            std::process::exit(1);
        }
    }
    let header_len = file.len() - n * 64 * 64 * 2;
    let mut group = c.benchmark_group("safetensors_header");
    group.throughput(Throughput::Bytes(header_len as u64));
    group.bench_function("tensors_2000", |b| {
        b.iter(|| {
            black_box(safetensors::inspect(
                &mut black_box(file.as_slice()),
                file.len() as u64,
                "m.safetensors",
                &limits,
            ))
        })
    });
    group.finish();
}

// ---- manifest ---------------------------------------------------------------

fn manifest_with(n: usize) -> Option<Manifest> {
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let mut digest = [0u8; 32];
        for (j, b) in digest.iter_mut().enumerate() {
            *b = (i.wrapping_mul(31).wrapping_add(j) % 256) as u8;
        }
        entries.push(ManifestEntry {
            path: BundlePath::new(&format!("artifacts/models/shard-{i:05}.safetensors")).ok()?,
            role: Role::Artifact,
            size: 1 << 20,
            sha256: Sha256Digest(digest),
            encoding: Encoding::Raw,
            stored_size: 1 << 20,
            stored_sha256: Some(Sha256Digest(digest)),
        });
    }
    Some(Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        name: "bench".to_owned(),
        channel: "bench".to_owned(),
        sequence: 1,
        previous: None,
        base: None,
        created: "2026-01-02T03:04:05Z".to_owned(),
        expires: None,
        tool: Tool {
            name: "lbom".to_owned(),
            version: lbom::TOOL_VERSION.to_owned(),
        },
        entries,
    })
}

fn manifest(c: &mut Criterion) {
    let Some(m) = manifest_with(10_000) else {
        eprintln!("manifest fixture: a bench path was refused");
        std::process::exit(1);
    };
    let bytes = m.to_bytes();
    match serde_json::from_slice::<Manifest>(&bytes) {
        Ok(back) if back == m => {}
        other => {
            eprintln!(
                "manifest did not round-trip: {:?}",
                other.map(|b| b.entries.len())
            );
            std::process::exit(1);
        }
    }
    let mut group = c.benchmark_group("manifest_10k");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("serialise", |b| {
        b.iter(|| black_box(black_box(&m).to_bytes()))
    });
    group.bench_function("parse", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Manifest>(black_box(&bytes))))
    });
    group.finish();
}

criterion_group!(benches, sha256, gguf_header, safetensors_header, manifest);
criterion_main!(benches);
