//! What each fuzz target does with one input, in one place: the cargo-fuzz
//! targets (fuzz/fuzz_targets/*.rs) call these, and so does the regression
//! test (tests/fuzz_regressions.rs), which replays every kept crash input
//! (tests/vectors/fuzz/<target>/) and the committed corpora through the same
//! code on stable Rust. An input that ever crashed stays a test that way.
//!
//! Each function must return for any input: a panic (an `assert!` on an
//! invariant included) is the finding.

use std::io::Write;
use std::path::Path;

use lbom::bundle::ReadLimits;
use lbom::envelope::Envelope;
use lbom::inspect::{ScanOptions, SeekRead, inspect_reader};
use lbom::io::digest::Sha256Digest;
use lbom::limits::Limits;

/// What a target does with one input.
pub type Check = fn(&[u8]);

/// The targets, by name, as `make fuzz` runs them.
pub const TARGETS: &[(&str, Check)] = &[
    ("gguf_header", gguf_header),
    ("safetensors_header", safetensors_header),
    ("pickle_scan", pickle_scan),
    ("inspect_any", inspect_any),
    ("bundle_reader", bundle_reader),
    ("envelope_link", envelope_link),
    ("key_files", key_files),
    ("policy_file", policy_file),
    ("side_files", side_files),
    ("chat_template", chat_template),
    ("pickle_containers", pickle_containers),
    ("part_index", part_index),
    ("delta_recipe", delta_recipe),
    ("registry_documents", registry_documents),
];

/// The GGUF reader: findings, never panics, no allocation the input length
/// does not justify.
pub fn gguf_header(data: &[u8]) {
    let mut reader = data;
    let _ = lbom::inspect::gguf::inspect(
        &mut reader,
        data.len() as u64,
        "fuzz-Q4_K_M.gguf",
        &Limits::default(),
    );
}

/// The safetensors reader.
pub fn safetensors_header(data: &[u8]) {
    let mut reader = data;
    let _ = lbom::inspect::safetensors::inspect(
        &mut reader,
        data.len() as u64,
        "fuzz.safetensors",
        &Limits::default(),
    );
}

/// The pickle opcode scanner and the zip reader.
pub fn pickle_scan(data: &[u8]) {
    let limits = Limits::default();
    let mut reader = data;
    let _ = lbom::inspect::pickle::inspect(&mut reader, data.len() as u64, "fuzz.pkl", &limits);
    let mut cursor = std::io::Cursor::new(data);
    let _ = lbom::inspect::pickle::inspect_zip(&mut cursor, data.len() as u64, "fuzz.pt", &limits);
}

/// Where pickles hide (docs/findings.md): the NPY header reader, the
/// compressed-pickle readers (each decoder on the raw input, whatever its
/// magic), the search of bytes no tensor claims, and the one-pass path
/// under the names that route to them. Bounded: the decoders read no more
/// than the walker's budget.
pub fn pickle_containers(data: &[u8]) {
    let limits = Limits {
        pickle_max_scan_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut reader = data;
    let _ = lbom::inspect::numpy::inspect(&mut reader, data.len() as u64, "fuzz.npy", &limits);
    use lbom::inspect::pickle::Compression;
    for kind in [
        Compression::Zlib,
        Compression::Gzip,
        Compression::Bzip2,
        Compression::Lzma,
        Compression::Xz,
    ] {
        let mut reader = data;
        let _ = lbom::inspect::pickle::inspect_compressed(
            &mut reader,
            kind,
            data.len() as u64,
            "fuzz.joblib",
            &limits,
        );
    }
    let unclaimed = lbom::inspect::hidden::Unclaimed {
        segments: vec![(0, data.to_vec())],
        skipped: 0,
    };
    let _ = lbom::inspect::hidden::search(&unclaimed);
    for name in ["fuzz.npy", "fuzz.joblib", "fuzz.npz", "fuzz.7z"] {
        let mut cursor = std::io::Cursor::new(data);
        let random_access: Option<&mut dyn SeekRead> = Some(&mut cursor);
        if let Ok(facts) = inspect_reader(
            data,
            data.len() as u64,
            name,
            random_access,
            &ScanOptions::default(),
            &limits,
            &mut |_| {},
        ) {
            assert_eq!(facts.sha256, Some(Sha256Digest::of(data)));
        }
    }
}

/// The whole one-pass path: sniffing, dispatch, hashing and draining. The
/// digest must always be the SHA-256 of exactly the input.
pub fn inspect_any(data: &[u8]) {
    let mut cursor = std::io::Cursor::new(data);
    let random_access: Option<&mut dyn SeekRead> = Some(&mut cursor);
    let facts = inspect_reader(
        data,
        data.len() as u64,
        "fuzz.bin",
        random_access,
        &ScanOptions::default(),
        &Limits::default(),
        &mut |_| {},
    );
    if let Ok(facts) = facts {
        assert_eq!(facts.sha256, Some(Sha256Digest::of(data)));
        assert_eq!(facts.file_size_bytes, data.len() as u64);
    }
}

/// The strict bundle reader: tar profile walk, layout against the manifest,
/// manifest JSON, chain links.
pub fn bundle_reader(data: &[u8]) {
    // The reader takes a path (it seeks and reopens): one temp file per
    // input, in memory where the machine has /dev/shm.
    let dir = if Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    };
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    // Tight caps so an input cannot make an iteration slow through sheer
    // (legal) size.
    let limits = ReadLimits {
        max_artifacts: 2000,
        max_manifest_bytes: 1 << 20,
        max_attestation_bytes: 1 << 20,
        max_sbom_bytes: 1 << 16,
        ..ReadLimits::default()
    };
    if let Ok(bundle) = lbom::bundle::open(file.path(), &limits) {
        // Whatever parsed must be self-consistent.
        assert_eq!(
            bundle.manifest_sha256,
            Sha256Digest::of(&bundle.manifest_bytes)
        );
        assert!(bundle.layout.end_offset <= bundle.file_len);
        // A manifest that parsed is in its one byte form (bundle-format.md
        // [B52]): writing it again gives the bytes read.
        assert_eq!(bundle.manifest.to_bytes(), bundle.manifest_bytes);
    }
    let _ = lbom::bundle::tar::walk(&mut std::io::Cursor::new(data), data.len() as u64, &limits);
    // The zstd frame header rules ([B56]) on the raw bytes: any input,
    // no panic, and what passes has a window within the cap.
    if let Ok(h) = lbom::bundle::zstd_frame::check_header(data) {
        assert!(h.window_size <= lbom::bundle::zstd_frame::MAX_WINDOW_BYTES);
        assert!(h.header_len <= lbom::bundle::zstd_frame::MAX_HEADER_BYTES);
    }
}

/// DSSE envelopes and chain-link statements. A decoded envelope must
/// re-encode to one that decodes to the same value.
pub fn envelope_link(data: &[u8]) {
    if let Ok(env) = Envelope::decode(data) {
        let again = Envelope::decode(&env.encode());
        assert_eq!(again.ok().as_ref(), Some(&env));
        let _ = env.pae();
    }
    let _ = lbom::bundle::chain::parse_link("chain/0001.dsse.json", data);
}

/// Key files: SPKI public keys and PKCS#8 secret keys, plain and encrypted
/// (only the decryption the checked KDF parameters allow).
pub fn key_files(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = lbom::envelope::PublicKey::from_pem(text) {
        // A parsed key re-encodes to a PEM that parses to the same key id.
        let again = key
            .to_pem()
            .ok()
            .and_then(|p| lbom::envelope::PublicKey::from_pem(&p).ok());
        assert_eq!(again.map(|k| k.key_id()), Some(key.key_id()));
    }
    let _ = lbom::sign::SigningKey::from_pem(text, None);
    let _ = lbom::sign::SigningKey::from_pem(text, Some(b"fuzz"));
}

/// Policy files on arbitrary UTF-8 (relative key paths resolve under a
/// folder that does not exist, so loading keys fails, as it should).
pub fn policy_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/nonexistent/lbom-fuzz/policy.toml");
    if let Ok(policy) = lbom::verify::policy::Policy::from_toml(text, path) {
        // A policy that loads names its source and the digest of its text.
        assert_eq!(policy.source.path, path);
        assert_eq!(policy.source.sha256, Sha256Digest::of(data));
    }
}

/// Folder side files: the input as each parsed side file of a folder
/// (config, tokenizer config, templates, processor config, card, shard
/// index), whole and as a prefix, then the folder's description applied to
/// a model. Invariants: every `side:` key a folder records feeds a drift
/// class (none is silently unowned), and a kept template text is capped.
pub fn side_files(data: &[u8]) {
    use lbom::inspect::side::{Capture, SideFiles, feeds};
    let limits = Limits::default();
    let digest = Sha256Digest::of(data);
    let names = [
        "config.json",
        "tokenizer_config.json",
        "chat_template.json",
        "chat_template.jinja",
        "processor_config.json",
        "additional_chat_templates/rag.jinja",
        "README.md",
        "model.safetensors.index.json",
    ];
    for capture in [
        Capture::Whole(data),
        Capture::Prefix(data),
        Capture::Nothing,
    ] {
        let mut sides = SideFiles::default();
        for name in names {
            sides.add(&Path::new("m").join(name), digest, capture, &limits);
        }
        let ctx = lbom::inspect::hf::FolderContext::from_side_files(sides.folder(Path::new("m")));
        assert!(ctx.is_some(), "side files recorded but no folder context");
        let Some(ctx) = ctx else {
            return;
        };
        let mut facts = lbom::inspect::ModelFacts::default();
        ctx.apply(&mut facts);
        for key in facts.metadata.keys().filter(|k| k.starts_with("side:")) {
            assert!(!feeds(key).is_empty(), "side key {key} feeds no class");
        }
        if let Some(text) = &facts.chat_template {
            assert!(text.len() <= lbom::inspect::facts::CHAT_TEMPLATE_TEXT_MAX + 200);
        }
    }
}

/// Chat templates: tokenized, parsed and judged within the template limits
/// (src/inspect/template/), on any text. Whatever reaches internals is an
/// error finding; a template that does not parse is one too.
pub fn chat_template(data: &[u8]) {
    let limits = Limits::default();
    let text = String::from_utf8_lossy(data);
    let analysis = lbom::inspect::template::analyse(&text, &limits);
    let findings = analysis.findings("fuzz");
    let has = |code: &str| findings.iter().any(|f| f.code == code);
    assert_eq!(!analysis.reaches.is_empty(), has("template.code_execution"));
    assert_eq!(analysis.unparsed.is_some(), has("template.unparsed"));
    assert_eq!(analysis.limit.is_some(), has("template.limit_exceeded"));
}

/// Part indexes (docs/bundle-format.md, section 13): whatever parses checks
/// ([B68], [B69]) and is in its one byte form: the payload a writer would
/// sign for the parsed index is the payload that was read.
pub fn part_index(data: &[u8]) {
    if let Ok((index, envelope)) = lbom::parts::PartIndex::parse(data) {
        assert!(index.check().is_ok());
        assert_eq!(index.payload(), envelope.payload);
        assert_eq!(envelope.encode(), data);
    }
}

/// The delta payload reader of a differential bundle (docs/bundle-format.md
/// [B78]): the first 8 bytes are the manifest's size, the rest the
/// payload. A recipe it accepts covers exactly that size.
pub fn delta_recipe(data: &[u8]) {
    let (size, payload) = data.split_at(data.len().min(8));
    let mut b = [0u8; 8];
    b.get_mut(..size.len())
        .unwrap_or_default()
        .copy_from_slice(size);
    let size = u64::from_be_bytes(b) % (1 << 20);
    if let Ok((_, summary)) = lbom::bundle::delta::check_payload(payload, size) {
        assert_eq!(summary.shipped_bytes + summary.base_bytes, size);
    }
}

/// What a registry sends and what a user names it by (docs/registry.md):
/// the same bytes go through the image manifest reader, the referrers list
/// reader, the `WWW-Authenticate` challenge parser, the `Content-Range`
/// parser and the `oci://` reference parser. Whatever one accepts keeps its
/// invariants: a manifest or list written back reads back the same; a
/// range is ordered; a reference prints as text that parses back to it, and
/// holds nothing a URL could be steered by (docs/registry.md §1).
pub fn registry_documents(data: &[u8]) {
    use lbom::registry::auth::{Challenge, parse_challenge};
    use lbom::registry::layout::ImageIndex;
    use lbom::registry::pull::{parse_manifest, parse_referrers};
    use lbom::registry::range::parse_content_range;
    use lbom::registry::reference::{Reference, Target, is_tag};
    if let Ok(m) = parse_manifest(data, "fuzz") {
        assert_eq!(m.schema_version, 2);
        assert_eq!(parse_manifest(&m.to_bytes(), "again").ok(), Some(m));
    }
    if let Ok(list) = parse_referrers(data) {
        let mut index = ImageIndex::empty();
        index.manifests = list.clone();
        assert_eq!(parse_referrers(&index.to_bytes()).ok(), Some(list));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(Challenge::Bearer { realm, .. }) = parse_challenge(text) {
        assert!(text.len() >= realm.len());
    }
    if let Some((start, end, total)) = parse_content_range(text) {
        assert!(start <= end && total.is_none_or(|t| end < t));
    }
    if let Ok(r) = Reference::parse(text) {
        assert_eq!(Reference::parse(&r.to_string()).ok().as_ref(), Some(&r));
        let url_safe = |s: &str, extra: &[u8]| {
            s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c) || extra.contains(&c))
        };
        assert!(url_safe(&r.authority, b":[]"), "{:?}", r.authority);
        assert!(url_safe(&r.repository, b"/"), "{:?}", r.repository);
        assert!(!r.repository.bytes().any(|c| c.is_ascii_uppercase()));
        if let Some(Target::Tag(t)) = &r.target {
            assert!(is_tag(t) && url_safe(t, b""));
        }
    }
}
