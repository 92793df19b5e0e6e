//! The worst-case bundle writer of the memory tests: a plain ustar writer,
//! the manifest, attestation and chain-link documents of
//! docs/bundle-format.md written from the spec with serde_json, and links
//! signed here with ed25519-dalek. Nothing of lbom writes these bytes, so a
//! reader bug cannot be hidden by a matching writer bug.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Bytes of a name's fold key (docs/bundle-format.md §3):
/// NFKC(lowercase(NFKC(name))).
pub fn fold_bytes(name: &str) -> usize {
    use unicode_normalization::UnicodeNormalization as _;
    let once: String = name.nfkc().collect();
    once.to_lowercase().nfkc().collect::<String>().len()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A ustar stream: headers as Python's tarfile writes them for regular
/// files (docs/bundle-format.md §2), data, zero padding, end marker.
pub struct Tar {
    out: BufWriter<File>,
}

impl Tar {
    pub fn create(path: &Path) -> Res<Self> {
        Ok(Self {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
        })
    }

    /// One entry: header, `data`, padding.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Res<()> {
        self.header(name, data.len() as u64)?;
        self.out.write_all(data)?;
        self.pad(data.len() as u64)
    }

    fn pad(&mut self, size: u64) -> Res<()> {
        let pad = (512 - size % 512) % 512;
        self.out.write_all(&vec![0u8; usize::try_from(pad)?])?;
        Ok(())
    }

    fn header(&mut self, name: &str, size: u64) -> Res<()> {
        let (prefix, short) = split(name).ok_or_else(|| format!("{name}: not ustar"))?;
        let mut h = [0u8; 512];
        put(&mut h, 0, short.as_bytes());
        put(&mut h, 100, b"0000644\0");
        put(&mut h, 108, b"0000000\0");
        put(&mut h, 116, b"0000000\0");
        put(&mut h, 124, format!("{size:011o}\0").as_bytes());
        put(&mut h, 136, b"00000000000\0");
        put(&mut h, 148, b"        ");
        put(&mut h, 156, b"0");
        put(&mut h, 257, b"ustar\0");
        put(&mut h, 263, b"00");
        put(&mut h, 345, prefix.as_bytes());
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
        self.out.write_all(&h)?;
        Ok(())
    }

    pub fn finish(mut self) -> Res<()> {
        self.out.write_all(&[0u8; 1024])?;
        self.out.flush()?;
        Ok(())
    }
}

fn put(h: &mut [u8; 512], at: usize, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if let Some(slot) = h.get_mut(at + i) {
            *slot = *b;
        }
    }
}

/// The ustar split of a name longer than 100 bytes: a prefix of at most
/// 155 bytes ending before a `/`, the rest at most 100 bytes. The generated
/// names are built to have exactly one such split, so which of several a
/// rule would prefer never matters.
fn split(name: &str) -> Option<(&str, &str)> {
    if name.len() <= 100 {
        return Some(("", name));
    }
    let slash = name
        .bytes()
        .enumerate()
        .rev()
        .find(|&(i, b)| b == b'/' && i <= 155 && name.len() - i - 1 <= 100)
        .map(|(i, _)| i)?;
    let (prefix, rest) = (name.get(..slash)?, name.get(slash + 1..)?);
    (!prefix.is_empty() && !rest.is_empty()).then_some((prefix, rest))
}

/// One artifact of a generated bundle: its path, stored bytes and SBOM
/// bytes; `zstd` gives the decoded size and SHA-256 of a zstd-encoded one.
pub struct Artifact {
    pub path: String,
    pub data: Vec<u8>,
    pub sbom: Vec<u8>,
    pub zstd: Option<(u64, String)>,
}

impl Artifact {
    /// A raw artifact with a small SBOM naming it.
    pub fn raw(path: &str, data: Vec<u8>) -> Self {
        Self {
            path: path.to_owned(),
            data,
            sbom: sbom(&[path.to_owned()]),
            zstd: None,
        }
    }
}

/// A small CycloneDX document naming `names` as its components (not the
/// SBOM lbom writes: `sbom.consistent` fails on it, after every artifact
/// was scanned, which is the point).
pub fn sbom(names: &[String]) -> Vec<u8> {
    let components: Vec<Value> = names
        .iter()
        .map(|n| json!({"type": "machine-learning-model", "name": n}))
        .collect();
    let mut out = serde_json::to_vec(&json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": components,
    }))
    .unwrap_or_default();
    out.push(b'\n');
    out
}

/// The signing key of the generated chains and what the policy needs.
pub struct Key {
    signing: ed25519_dalek::SigningKey,
}

impl Key {
    pub fn from_seed(seed: u8) -> Self {
        Self {
            signing: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
        }
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo (RFC 8410).
    pub fn key_id(&self) -> String {
        let mut der = hex::decode("302a300506032b6570032100").unwrap_or_default();
        der.extend_from_slice(self.signing.verifying_key().as_bytes());
        sha256_hex(&der)
    }

    pub fn public_pem(&self) -> Res<String> {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        Ok(self
            .signing
            .verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)?)
    }

    pub fn private_pem(&self) -> Res<String> {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        Ok(self
            .signing
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)?
            .to_string())
    }

    /// DSSE signature over the PAE (protocol.md).
    fn sign(&self, payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let mut pae = format!(
            "DSSEv1 {} {payload_type} {} ",
            payload_type.len(),
            payload.len()
        )
        .into_bytes();
        pae.extend_from_slice(payload);
        self.signing.sign(&pae).to_bytes().to_vec()
    }
}

/// How the links of a generated chain look.
pub struct LinkShape {
    /// The envelope's signatures (lbom writes one): each a real signature
    /// with a key id hint of this many bytes (64 = the real key id; any
    /// other hint makes a malformed link, docs/bundle-format.md [B38]).
    pub signatures: usize,
    pub hint_bytes: usize,
    /// The predicate's note: this many copies of `note_char` (a `"` is
    /// two bytes of JSON: the largest well-formed link), and extra text in
    /// its time (a well-formed link has none).
    pub note_bytes: usize,
    pub note_char: char,
    pub time_padding: usize,
}

impl LinkShape {
    /// What `lbom sign` writes.
    pub const PLAIN: LinkShape = LinkShape {
        signatures: 1,
        hint_bytes: 64,
        note_bytes: 0,
        note_char: 'n',
        time_padding: 0,
    };

    /// The largest link a reader keeps: one signature hinted by its key
    /// id, and a note of 1,024 quotation marks (docs/bundle-format.md [B35]
    /// allows them; each is written `\"`).
    pub const LARGEST_WELL_FORMED: LinkShape = LinkShape {
        note_bytes: 1024,
        note_char: '"',
        ..LinkShape::PLAIN
    };
}

pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const TIME: &str = "2020-01-01T00:00:00Z";

/// Link `index` over `manifest_sha256`, chained to the previous link's
/// bytes: a canonical envelope (docs/bundle-format.md §7) and a final LF.
pub fn link(
    key: &Key,
    index: u32,
    manifest_sha256: &str,
    previous: Option<&[u8]>,
    shape: &LinkShape,
) -> Vec<u8> {
    let mut predicate = json!({
        "index": index,
        "role": "maintainer",
        "keyid": key.key_id(),
        "time": format!("{TIME}{}", "9".repeat(shape.time_padding)),
    });
    if shape.note_bytes > 0
        && let Some(p) = predicate.as_object_mut()
    {
        let note: String = std::iter::repeat_n(shape.note_char, shape.note_bytes).collect();
        p.insert("note".into(), Value::from(note));
    }
    if let (Some(prev), Some(p)) = (previous, predicate.as_object_mut()) {
        p.insert(
            "previous".into(),
            json!({"path": format!("chain/{:04}.dsse.json", index - 1), "sha256": sha256_hex(prev)}),
        );
    }
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "manifest.json", "digest": {"sha256": manifest_sha256}}],
        "predicateType": "urn:lbom:predicate:chain-link:v1",
        "predicate": predicate,
    });
    let payload = serde_json::to_vec(&statement).unwrap_or_default();
    let sig = STANDARD.encode(key.sign(PAYLOAD_TYPE, &payload));
    let hint = if shape.hint_bytes == 64 {
        key.key_id()
    } else {
        "h".repeat(shape.hint_bytes)
    };
    let signatures: Vec<Value> = (0..shape.signatures)
        .map(|_| json!({"keyid": hint, "sig": sig}))
        .collect();
    let envelope = json!({
        "payload": STANDARD.encode(&payload),
        "payloadType": PAYLOAD_TYPE,
        "signatures": signatures,
    });
    let mut out = serde_json::to_vec(&envelope).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Everything a generated bundle holds besides its artifacts.
pub struct Shape<'a> {
    pub links: usize,
    pub link: LinkShape,
    /// 0 for the attestation the manifest gives (docs/bundle-format.md §6);
    /// otherwise one of about this many bytes, well-formed but naming
    /// subjects the bundle does not hold (refused at [B55] step 3, after
    /// the whole parse).
    pub attestation_bytes: usize,
    pub key: &'a Key,
    pub sequence: u64,
    /// The previous bundle's (sequence, manifest digest).
    pub previous: Option<(u64, String)>,
}

/// Write a bundle in the layout of docs/bundle-format.md §1 (artifacts in
/// the order given, which must be ascending); returns the manifest digest.
pub fn bundle(path: &Path, artifacts: &[Artifact], shape: &Shape<'_>) -> Res<String> {
    let mut tar = Tar::create(path)?;
    let mut entries = Vec::new();
    let mut subjects = Vec::new();
    for a in artifacts {
        let (name, digest) = match &a.zstd {
            None => {
                let name = format!("artifacts/{}", a.path);
                entries.push(entry(&name, "artifact", &a.data));
                (name, sha256_hex(&a.data))
            }
            Some((size, sha256)) => {
                let name = format!("artifacts/{}.zst", a.path);
                entries.push(json!({
                    "path": name,
                    "role": "artifact",
                    "size": size,
                    "sha256": sha256,
                    "encoding": "zstd",
                    "stored_size": a.data.len(),
                    "stored_sha256": sha256_hex(&a.data),
                }));
                (name, sha256.clone())
            }
        };
        tar.add(&name, &a.data)?;
        subjects.push(json!({"name": a.path, "digest": {"sha256": digest}}));
        let sbom_name = format!("sboms/{}.cdx.json", a.path);
        tar.add(&sbom_name, &a.sbom)?;
        entries.push(entry(&sbom_name, "sbom", &a.sbom));
    }
    let previous = shape
        .previous
        .as_ref()
        .map(|(sequence, sha256)| json!({"sequence": sequence, "manifest_sha256": sha256}));
    let attestation = attestation(
        subjects,
        shape.attestation_bytes,
        shape.sequence,
        previous.clone(),
    );
    tar.add("attestation.intoto.json", &attestation)?;
    entries.push(entry(
        "attestation.intoto.json",
        "attestation",
        &attestation,
    ));
    let manifest = json!({
        "schema": "urn:lbom:bundle-manifest:v2",
        "name": "memory",
        "channel": "memory",
        "sequence": shape.sequence,
        "previous": previous,
        "created": TIME,
        "expires": null,
        "tool": {"name": "lbom", "version": "0.1.0"},
        "entries": entries,
    });
    let mut manifest = serde_json::to_vec_pretty(&manifest)?;
    manifest.push(b'\n');
    tar.add("manifest.json", &manifest)?;
    let digest = sha256_hex(&manifest);
    drop(manifest);
    let mut previous: Option<Vec<u8>> = None;
    for i in 1..=shape.links {
        let index = u32::try_from(i)?;
        let bytes = link(shape.key, index, &digest, previous.as_deref(), &shape.link);
        tar.add(&format!("chain/{index:04}.dsse.json"), &bytes)?;
        previous = Some(bytes);
    }
    tar.finish()?;
    Ok(digest)
}

fn entry(path: &str, role: &str, data: &[u8]) -> Value {
    let digest = sha256_hex(data);
    json!({
        "path": path,
        "role": role,
        "size": data.len(),
        "sha256": digest,
        "encoding": "raw",
        "stored_size": data.len(),
        "stored_sha256": digest,
    })
}

/// The attestation (§6): the document the manifest gives, compact JSON
/// and LF. With `size` above 0, subjects the bundle does not hold are
/// added (to `subject` and `resolvedDependencies` alike) until it is about
/// `size` bytes: still of the form of step 2, refused at step 3.
fn attestation(
    mut subjects: Vec<Value>,
    size: usize,
    sequence: u64,
    previous: Option<Value>,
) -> Vec<u8> {
    let document = |subjects: &[Value]| {
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subjects,
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {
                "buildDefinition": {
                    "buildType": "urn:lbom:build-type:pack:v1",
                    "externalParameters": {
                        "name": "memory",
                        "channel": "memory",
                        "sequence": sequence,
                        "previous": previous,
                        "expires": null,
                        "compress": "auto",
                    },
                    "resolvedDependencies": subjects,
                },
                "runDetails": {
                    "builder": {"id": "urn:lbom:builder:lbom@0.1.0"},
                    "metadata": {"startedOn": TIME, "finishedOn": TIME},
                },
            },
        });
        let mut out = serde_json::to_vec(&statement).unwrap_or_default();
        out.push(b'\n');
        out
    };
    if size > 0 {
        let zero = "0".repeat(64);
        let base = document(&subjects).len();
        // Each extra subject is written twice.
        let one = serde_json::to_vec(&json!({"name": "x-000000", "digest": {"sha256": zero}}))
            .map_or(100, |v| v.len() + 1);
        let extra = size.saturating_sub(base) / (2 * one);
        subjects.extend(
            (0..extra).map(|i| json!({"name": format!("x-{i:06}"), "digest": {"sha256": zero}})),
        );
    }
    document(&subjects)
}

/// A trust policy naming `key` as maintainer, with the reader's caps, no
/// age limit, and every format allowed (content rules come after every
/// structure the memory tests measure).
pub fn policy(path: &Path, key: &Key) -> Res<()> {
    let text = format!(
        r#"version = 1

[[keys]]
name = "memory"
pem = """
{}"""
roles = ["maintainer"]

[signatures]
required_roles = ["maintainer"]

[content]
allowed_formats = ["gguf", "safetensors", "pickle", "pytorch-zip", "json", "unknown"]
fail_on = "none"

[caps]
max_entries = 20001

[time]
max_age = "none"

[drift]
require_acceptance = []
"#,
        key.public_pem()?
    );
    std::fs::write(path, text)?;
    Ok(())
}
