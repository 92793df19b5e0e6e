//! The tamper matrix: one signed base bundle, and every tampered variant of
//! it derived as bytes, each with the exit code and the failing check that
//! `lbom verify` / `lbom import` must report (README, "Exit codes";
//! docs/bundle-format.md for the layout the edits follow).
//!
//! The base is built by the library's own `pack` and `sign` (what a
//! maintainer and a transfer desk really produce). The variants are edited
//! here, at the byte level: tar entries are re-encoded with
//! `bundle::tar::encode_header`, links are rebuilt with the spec's statement
//! and PAE (`bundle::chain::link_payload`, `envelope::Envelope::pae`) and
//! signed with known seeds, so a case can be "re-signed by trusted keys"
//! when the point is to reach a check behind the signatures.
#![allow(dead_code)]

pub mod harness;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use lbom::bundle::SignOptions;
use lbom::bundle::chain::{LinkPredicate, PreviousLink, link_payload};
use lbom::bundle::manifest::{Encoding, Manifest, format_time};
use lbom::bundle::pack::{Compression, PackOptions};
use lbom::bundle::{BundlePath, layout, tar as btar};
use lbom::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO, Signature};
use lbom::io::digest::Sha256Digest;
use lbom::sign::SigningKey;

/// Anything-goes result for test code.
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn err(message: impl Into<String>) -> Box<dyn std::error::Error> {
    message.into().into()
}

/// One case of tests/tools/quarantine_hostile.py's index.json: the bundle
/// `NAME.lbom`, the exit code and first failing checks verify must give.
pub struct HostileIndexed {
    pub name: String,
    pub code: i32,
    pub checks: Vec<String>,
    pub what: String,
}

/// Read the Python generator's index.json in `dir`.
pub fn read_hostile_index(dir: &Path) -> Res<Vec<HostileIndexed>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)?;
    let list = v
        .as_array()
        .ok_or_else(|| err("index.json is not a list"))?;
    list.iter()
        .map(|c| {
            Ok(HostileIndexed {
                name: json_str(c, "name").ok_or_else(|| err("case without name"))?,
                code: json_code(c).ok_or_else(|| err("case without code"))?,
                checks: json_strings(c, "checks"),
                what: json_str(c, "what").unwrap_or_default(),
            })
        })
        .collect()
}

/// An index entry's string field.
pub fn json_str(c: &serde_json::Value, key: &str) -> Option<String> {
    c.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// An index entry's exit code.
pub fn json_code(c: &serde_json::Value) -> Option<i32> {
    c.get("code")
        .and_then(serde_json::Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

/// An index entry's list of strings (empty when absent).
pub fn json_strings(c: &serde_json::Value, key: &str) -> Vec<String> {
    c.get(key)
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// One tar entry: name and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry name.
    pub name: String,
    /// Its stored bytes.
    pub data: Vec<u8>,
}

/// How deep a case gets before it must be refused: what the generator
/// self-test checks with the library's reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The tar walk (`bundle::tar::walk`) refuses it.
    Structure,
    /// The walk passes; the layout/manifest/link reader (`bundle::read::open`)
    /// refuses it.
    Layout,
    /// `bundle::read::open` accepts it: it reaches signature or content checks.
    Content,
}

/// Which policy a case is verified against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Demo maintainer (maintainer) + demo transfer (transfer), both roles
    /// required, threshold 1 each.
    Standard,
    /// Maintainer threshold 2; the demo maintainer key listed twice under
    /// two names, plus a second maintainer key; transfer as standard.
    Threshold2,
}

/// One tampered bundle and what verifying it must give.
#[derive(Debug, Clone)]
pub struct Case {
    /// Stable name (also the file name).
    pub name: String,
    /// The bundle bytes.
    pub bytes: Vec<u8>,
    /// Expected exit code of `verify` and `import`.
    pub code: i32,
    /// The check that must be the first failing one; several when the
    /// format does not pin which of two adjacent checks reports it (the
    /// first named is the likeliest).
    pub checks: &'static [&'static str],
    /// The policy to verify against.
    pub policy: PolicyKind,
    /// How far the library's reader gets.
    pub depth: Depth,
}

/// The signing keys of the matrix.
pub struct Keys {
    /// keys/demo-maintainer.key (trusted as maintainer).
    pub maintainer: SigningKey,
    /// keys/demo-transfer.key (trusted as transfer).
    pub transfer: SigningKey,
    /// Seed 0x22: a second maintainer key, trusted only by `Threshold2`.
    pub maintainer2: SigningKey,
    /// Seed 0x66: trusted by no policy.
    pub rogue: SigningKey,
}

impl Keys {
    /// Load the demo keys and derive the seeded ones.
    pub fn load(repo: &Path) -> Res<Self> {
        Ok(Self {
            maintainer: SigningKey::load(&repo.join("keys/demo-maintainer.key"), None)?,
            transfer: SigningKey::load(&repo.join("keys/demo-transfer.key"), None)?,
            maintainer2: SigningKey::from_seed(&[0x22; 32])?,
            rogue: SigningKey::from_seed(&[0x66; 32])?,
        })
    }
}

/// The fixture files packed into the base: a JSON side file (stored zstd
/// by `--compress auto`), a safetensors and a GGUF model (stored raw).
pub fn base_inputs(repo: &Path) -> Vec<PathBuf> {
    let f = repo.join("fixtures");
    vec![
        f.join("safetensors/tiny-llama/config.json"),
        f.join("safetensors/tiny-llama/model.safetensors"),
        f.join("gguf/tiny-llama-Q4_K_M.gguf"),
    ]
}

/// Options of one `pack` call.
pub struct PackSpec<'a> {
    /// Files to pack.
    pub inputs: Vec<PathBuf>,
    /// Bundle name.
    pub name: &'a str,
    /// Channel.
    pub channel: &'a str,
    /// Sequence (None: 1, or previous + 1).
    pub sequence: Option<u64>,
    /// Previous bundle.
    pub previous: Option<PathBuf>,
    /// Creation time.
    pub created: jiff::Timestamp,
    /// Expiry after creation.
    pub expires: Option<jiff::SignedDuration>,
    /// Compression.
    pub compress: Compression,
}

/// `lbom::bundle::pack` into `out`, then one `lbom::bundle::sign` per
/// (key, role), all at `link_time`. Returns the bundle bytes.
pub fn pack_and_sign(
    spec: &PackSpec<'_>,
    out: &Path,
    signers: &[(&SigningKey, &str)],
    link_time: jiff::Timestamp,
) -> Res<Vec<u8>> {
    let options = PackOptions {
        inputs: spec.inputs.clone(),
        output: out.to_path_buf(),
        name: spec.name.to_owned(),
        channel: spec.channel.to_owned(),
        sequence: spec.sequence,
        previous: spec.previous.clone(),
        expires: spec.expires,
        compress: spec.compress,
        created: Some(spec.created),
        first_link: None,
        caps: lbom::bundle::Caps::default(),
        jobs: None,
        base: None,
        hash_cache: None,
    };
    lbom::bundle::pack(&options, &mut |_| {})?;
    for (key, role) in signers {
        lbom::bundle::sign(
            out,
            key,
            &SignOptions {
                role: (*role).to_owned(),
                note: None,
                time: Some(link_time),
            },
        )?;
    }
    Ok(std::fs::read(out)?)
}

// ---------------------------------------------------------------------------
// Byte-level tar editing.

/// The entries of a bundle, by the library's strict walk.
pub fn entries(bytes: &[u8]) -> Res<Vec<Entry>> {
    tar_layout(bytes)?
        .iter()
        .map(|e| {
            let start = usize::try_from(e.data_offset)?;
            let end = start
                .checked_add(usize::try_from(e.size)?)
                .ok_or_else(|| err("entry end overflows"))?;
            Ok(Entry {
                name: e.name.as_str().to_owned(),
                data: bytes
                    .get(start..end)
                    .ok_or_else(|| err("entry out of range"))?
                    .to_vec(),
            })
        })
        .collect()
}

/// The walked tar entries (offsets) of a bundle.
pub fn tar_layout(bytes: &[u8]) -> Res<Vec<btar::TarEntry>> {
    Ok(btar::walk(
        &mut Cursor::new(bytes),
        bytes.len() as u64,
        &lbom::bundle::ReadLimits::default(),
    )?
    .entries)
}

/// Whether the library's strict tar walk accepts the bytes.
pub fn walks(bytes: &[u8]) -> bool {
    btar::walk(
        &mut Cursor::new(bytes),
        bytes.len() as u64,
        &lbom::bundle::ReadLimits::default(),
    )
    .is_ok()
}

/// Re-encode entries as a bundle: canonical headers, padding, end marker.
pub fn assemble(entries: &[Entry]) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        let header = btar::encode_header(&BundlePath::new(&e.name)?, e.data.len() as u64)?;
        out.extend_from_slice(&header);
        out.extend_from_slice(&e.data);
        let pad = (512 - e.data.len() % 512) % 512;
        out.resize(out.len() + pad, 0);
    }
    out.resize(out.len() + 1024, 0);
    Ok(out)
}

/// Recompute a ustar header's checksum field (6 octal digits, NUL, space)
/// after an edit, so the edit reaches the checks behind the checksum.
pub fn fix_checksum(header: &mut [u8]) -> Res<()> {
    let field = header
        .get_mut(148..156)
        .ok_or_else(|| err("short header"))?;
    field.copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header
        .get_mut(148..156)
        .ok_or_else(|| err("short header"))?
        .copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Ok(())
}

fn find(entries: &[Entry], name: &str) -> Res<usize> {
    entries
        .iter()
        .position(|e| e.name == name)
        .ok_or_else(|| err(format!("no entry {name}")))
}

fn entry_mut<'a>(entries: &'a mut [Entry], name: &str) -> Res<&'a mut Entry> {
    let i = find(entries, name)?;
    entries.get_mut(i).ok_or_else(|| err("index"))
}

fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Flip the byte at `at` (XOR 0x01).
fn flip_at(data: &mut [u8], at: usize) -> Res<()> {
    let b = data.get_mut(at).ok_or_else(|| err("flip out of range"))?;
    *b ^= 0x01;
    Ok(())
}

/// Change one hex digit right after `marker` to another hex digit, so the
/// JSON stays valid and only a digest differs.
fn flip_hex_after(data: &mut [u8], marker: &[u8]) -> Res<()> {
    let at = find_bytes(data, marker)
        .and_then(|i| i.checked_add(marker.len()))
        .ok_or_else(|| err("marker not found"))?;
    let b = data.get_mut(at).ok_or_else(|| err("marker at end"))?;
    *b = if *b == b'0' { b'1' } else { b'0' };
    Ok(())
}

/// Replace the first `from` with `to` (same JSON shape).
fn replace_once(data: &[u8], from: &str, to: &str) -> Res<Vec<u8>> {
    let at = find_bytes(data, from.as_bytes()).ok_or_else(|| err(format!("{from} not found")))?;
    let mut out = data.get(..at).unwrap_or_default().to_vec();
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(data.get(at + from.len()..).unwrap_or_default());
    Ok(out)
}

/// Replace the string value of the first `"FIELD": "..."` after `marker`
/// with `to`: an SBOM property edited whatever its value in this base.
fn replace_after(data: &[u8], marker: &str, field: &str, to: &str) -> Res<Vec<u8>> {
    let at =
        find_bytes(data, marker.as_bytes()).ok_or_else(|| err(format!("{marker} not found")))?;
    let key = format!("\"{field}\": \"");
    let rest = data.get(at..).unwrap_or_default();
    let start = at
        + find_bytes(rest, key.as_bytes())
            .ok_or_else(|| err(format!("no {field} after {marker}")))?
        + key.len();
    let len = find_bytes(data.get(start..).unwrap_or_default(), b"\"")
        .ok_or_else(|| err(format!("unterminated {field} after {marker}")))?;
    let mut out = data.get(..start).unwrap_or_default().to_vec();
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(data.get(start + len..).unwrap_or_default());
    Ok(out)
}

// ---------------------------------------------------------------------------
// Manifest and chain rebuilding.

/// Parse the manifest entry.
pub fn manifest(entries: &[Entry]) -> Res<Manifest> {
    let i = find(entries, layout::MANIFEST)?;
    Ok(serde_json::from_slice(
        &entries.get(i).ok_or_else(|| err("index"))?.data,
    )?)
}

/// Rewrite the manifest: recompute every entry's sizes and digests from the
/// entries' data (zstd decoded), then apply `edit`.
pub fn restamp(entries: &mut [Entry], edit: impl FnOnce(&mut Manifest)) -> Res<()> {
    let mut m = manifest(entries)?;
    for me in &mut m.entries {
        let e = entries
            .iter()
            .find(|e| e.name == me.path.as_str())
            .ok_or_else(|| err(format!("manifest names missing {}", me.path)))?;
        me.stored_size = e.data.len() as u64;
        me.stored_sha256 = me.stored_sha256.map(|_| Sha256Digest::of(&e.data));
        let decoded = match me.encoding {
            Encoding::Raw => e.data.clone(),
            Encoding::Zstd => zstd::decode_all(e.data.as_slice())?,
            // A differential entry's content is the rebuilt file: its size
            // and digest stay what the manifest says.
            Encoding::Delta => continue,
        };
        me.size = decoded.len() as u64;
        me.sha256 = Sha256Digest::of(&decoded);
    }
    edit(&mut m);
    entry_mut(entries, layout::MANIFEST)?.data = m.to_bytes();
    Ok(())
}

/// One link to build.
pub struct LinkSpec<'a> {
    /// The signing key.
    pub key: &'a SigningKey,
    /// The role claimed.
    pub role: &'a str,
    /// The time claimed.
    pub time: jiff::Timestamp,
}

/// A link envelope as `lbom sign` writes it (docs/bundle-format.md §7).
pub fn link_envelope(
    manifest_sha256: &Sha256Digest,
    index: u32,
    spec: &LinkSpec<'_>,
    previous: Option<PreviousLink>,
) -> Envelope {
    let predicate = LinkPredicate {
        index,
        role: spec.role.to_owned(),
        keyid: spec.key.key_id(),
        time: format_time(spec.time),
        note: None,
        previous,
    };
    let payload = link_payload(manifest_sha256, &predicate);
    signed(PAYLOAD_TYPE_IN_TOTO, payload, spec.key, None)
}

/// An envelope over `payload`, signed by `key` (keyid hint: `hint`, or the
/// key's real id).
pub fn signed(
    payload_type: &str,
    payload: Vec<u8>,
    key: &SigningKey,
    hint: Option<&str>,
) -> Envelope {
    let mut env = Envelope::new(payload_type, payload);
    let sig = key.sign(&env.pae());
    env.signatures.push(Signature {
        keyid: hint.map_or_else(|| key.key_id().to_string(), str::to_owned),
        sig,
    });
    env
}

/// Drop every chain link and build a new chain over the current manifest.
pub fn resign(entries: &mut Vec<Entry>, links: &[LinkSpec<'_>]) -> Res<()> {
    entries.retain(|e| !e.name.starts_with("chain/"));
    let digest = Sha256Digest::of(
        &entries
            .get(find(entries, layout::MANIFEST)?)
            .ok_or_else(|| err("index"))?
            .data,
    );
    let mut previous: Option<PreviousLink> = None;
    for (i, spec) in links.iter().enumerate() {
        let index = u32::try_from(i + 1)?;
        let bytes = link_envelope(&digest, index, spec, previous.take()).encode();
        let name = layout::link_name(index);
        previous = Some(PreviousLink {
            path: name.clone(),
            sha256: Sha256Digest::of(&bytes),
        });
        entries.push(Entry { name, data: bytes });
    }
    Ok(())
}

/// Append one already-built link envelope as the next chain entry.
fn push_link(entries: &mut Vec<Entry>, env: &Envelope) {
    let index = entries
        .iter()
        .filter(|e| e.name.starts_with("chain/"))
        .count()
        + 1;
    entries.push(Entry {
        name: layout::link_name(u32::try_from(index).unwrap_or(u32::MAX)),
        data: env.encode(),
    });
}

/// The `previous` a new link after the last one in `entries` names.
fn previous_of_last(entries: &[Entry]) -> Option<PreviousLink> {
    entries
        .iter()
        .rev()
        .find(|e| e.name.starts_with("chain/"))
        .map(|e| PreviousLink {
            path: e.name.clone(),
            sha256: Sha256Digest::of(&e.data),
        })
}

fn manifest_digest(entries: &[Entry]) -> Res<Sha256Digest> {
    Ok(Sha256Digest::of(
        &entries
            .get(find(entries, layout::MANIFEST)?)
            .ok_or_else(|| err("index"))?
            .data,
    ))
}

// ---------------------------------------------------------------------------
// The matrix.

/// Everything the matrix is derived from.
pub struct Matrix {
    /// The untouched base (maintainer + transfer links, demo keys).
    pub base: Vec<u8>,
    /// Every case, the controls (code 0) included.
    pub cases: Vec<Case>,
}

/// The times the matrix uses: `created` an hour ago, links a minute ago.
pub struct Times {
    /// Bundle creation.
    pub created: jiff::Timestamp,
    /// Link signing.
    pub link: jiff::Timestamp,
}

impl Times {
    /// Relative to the real clock (the verifier compares with it).
    pub fn now() -> Res<Self> {
        let now = jiff::Timestamp::now();
        let whole = |t: jiff::Timestamp| jiff::Timestamp::from_second(t.as_second());
        Ok(Self {
            created: whole(now.checked_sub(jiff::SignedDuration::from_hours(1))?)?,
            link: whole(now.checked_sub(jiff::SignedDuration::from_mins(1))?)?,
        })
    }
}

/// Build the base, a second bundle on the same channel (for replays) and an
/// expired one in `dir`, and derive every case.
pub fn build(repo: &Path, dir: &Path, keys: &Keys) -> Res<Matrix> {
    let t = Times::now()?;
    let spec = |name: &'static str| PackSpec {
        inputs: base_inputs(repo),
        name,
        channel: "main",
        sequence: None,
        previous: None,
        created: t.created,
        expires: Some(jiff::SignedDuration::from_hours(24 * 30)),
        compress: Compression::Auto,
    };
    let chain = [
        (&keys.maintainer, "maintainer"),
        (&keys.transfer, "transfer"),
    ];
    let base = pack_and_sign(&spec("base"), &dir.join("base.lbom"), &chain, t.link)?;
    let other = pack_and_sign(&spec("other"), &dir.join("other.lbom"), &chain, t.link)?;
    let expired_spec = PackSpec {
        created: t
            .created
            .checked_sub(jiff::SignedDuration::from_hours(48))?,
        expires: Some(jiff::SignedDuration::from_hours(24)),
        ..spec("expired")
    };
    let expired = pack_and_sign(&expired_spec, &dir.join("expired.lbom"), &chain, t.link)?;
    // A pickle next to the models: well signed, refused by the default
    // formats rule (pickles can run code on load).
    let mut pickle_inputs = base_inputs(repo);
    pickle_inputs.push(repo.join("fixtures/pickle/evil.pkl"));
    let pickle_spec = PackSpec {
        inputs: pickle_inputs,
        ..spec("pickle")
    };
    let pickle = pack_and_sign(&pickle_spec, &dir.join("pickle.lbom"), &chain, t.link)?;
    // Created a day in the future (beyond any clock skew), and created 100
    // days ago (the policy's default max_age is 90 days).
    let future_spec = PackSpec {
        created: t
            .created
            .checked_add(jiff::SignedDuration::from_hours(25))?,
        expires: None,
        ..spec("future")
    };
    let future = pack_and_sign(&future_spec, &dir.join("future.lbom"), &chain, t.link)?;
    let old_spec = PackSpec {
        created: t
            .created
            .checked_sub(jiff::SignedDuration::from_hours(24 * 100))?,
        expires: None,
        ..spec("old")
    };
    let old = pack_and_sign(&old_spec, &dir.join("old.lbom"), &chain, t.link)?;

    let mut cases = vec![Case {
        name: "base".to_owned(),
        bytes: base.clone(),
        code: 0,
        checks: &[],
        policy: PolicyKind::Standard,
        depth: Depth::Content,
    }];
    cases.extend(clock_free_cases(&base, &other, keys, &t)?);
    let timed = [
        ("expired", expired, 5, "bundle.expiry"),
        ("created-in-future", future, 5, "bundle.expiry"),
        ("older-than-max-age", old, 6, "bundle.age"),
        ("pickle-artifact", pickle, 6, "policy.formats"),
    ];
    for (name, bytes, code, check) in timed {
        cases.push(Case {
            name: name.to_owned(),
            bytes,
            code,
            checks: Box::leak(vec![check].into_boxed_slice()),
            policy: PolicyKind::Standard,
            depth: Depth::Content,
        });
    }
    Ok(Matrix { base, cases })
}

/// Every case whose verdict does not depend on the clock, derived from
/// `base` and `other` (a second bundle of the same channel, for replays),
/// both signed by the maintainer and transfer keys at `t.link`. The
/// committed corpus (tests/quarantine_corpus.rs) holds these for a base
/// without expiry; the matrix adds the clock cases to them.
pub fn clock_free_cases(base: &[u8], other: &[u8], keys: &Keys, t: &Times) -> Res<Vec<Case>> {
    let mut cases = Vec::new();
    {
        let mut add = |name: &str,
                       bytes: Vec<u8>,
                       code: i32,
                       checks: &'static [&'static str],
                       policy: PolicyKind,
                       depth: Depth| {
            cases.push(Case {
                name: name.to_owned(),
                bytes,
                code,
                checks,
                policy,
                depth,
            });
        };
        content_flips(base, &mut add)?;
        header_flips(base, &mut add)?;
        truncations_and_appends(base, &mut add)?;
        entry_edits(base, &mut add)?;
        chain_edits(base, other, keys, t, &mut add)?;
        resigned_lies(base, keys, t, &mut add)?;
        threshold_cases(base, keys, t, &mut add)?;
    }
    Ok(cases)
}

type Add<'a> = dyn FnMut(&str, Vec<u8>, i32, &'static [&'static str], PolicyKind, Depth) + 'a;

/// Flipped bytes in entry data, one per kind of entry.
fn content_flips(base: &[u8], add: &mut Add<'_>) -> Res<()> {
    let offsets = tar_layout(base)?;
    let data_at = |name: &str| -> Res<(usize, usize)> {
        let e = offsets
            .iter()
            .find(|e| e.name.as_str() == name)
            .ok_or_else(|| err(format!("no {name}")))?;
        Ok((usize::try_from(e.data_offset)?, usize::try_from(e.size)?))
    };
    let flip_mid = |name: &str| -> Res<Vec<u8>> {
        let (off, size) = data_at(name)?;
        let mut b = base.to_vec();
        flip_at(&mut b, off + size / 2)?;
        Ok(b)
    };
    let d = Depth::Content;
    let s = PolicyKind::Standard;
    add(
        "flip-artifact-raw",
        flip_mid("artifacts/model.safetensors")?,
        4,
        &["entries.digests"],
        s,
        d,
    );
    add(
        "flip-artifact-raw-last-byte",
        {
            let (off, size) = data_at("artifacts/tiny-llama-Q4_K_M.gguf")?;
            let mut b = base.to_vec();
            flip_at(&mut b, off + size - 1)?;
            b
        },
        4,
        &["entries.digests"],
        s,
        d,
    );
    add(
        "flip-artifact-zstd",
        flip_mid("artifacts/config.json.zst")?,
        4,
        &["entries.digests"],
        s,
        d,
    );
    // The zstd frame's content checksum (its last 4 bytes): the decoded
    // bytes are intact, only the frame is not what was packed.
    add(
        "flip-artifact-zstd-checksum",
        {
            let (off, size) = data_at("artifacts/config.json.zst")?;
            let mut b = base.to_vec();
            flip_at(&mut b, off + size - 1)?;
            b
        },
        4,
        &["entries.digests"],
        s,
        d,
    );
    add(
        "flip-sbom",
        flip_mid("sboms/model.safetensors.cdx.json")?,
        4,
        &["entries.digests"],
        s,
        d,
    );
    // A digit of a digest inside JSON entries: the JSON stays valid.
    let in_entry = |name: &str, marker: &[u8]| -> Res<Vec<u8>> {
        let (off, size) = data_at(name)?;
        let mut b = base.to_vec();
        let slice = b.get_mut(off..off + size).ok_or_else(|| err("range"))?;
        flip_hex_after(slice, marker)?;
        Ok(b)
    };
    add(
        "flip-attestation-digest",
        in_entry("attestation.intoto.json", b"\"sha256\":\"")?,
        4,
        &["attestation.subjects"],
        s,
        d,
    );
    add(
        "flip-manifest-digest",
        in_entry("manifest.json", b"\"sha256\": \"")?,
        5,
        &["chain.links"],
        s,
        d,
    );
    add(
        "flip-manifest-syntax",
        {
            let (off, _) = data_at("manifest.json")?;
            let mut b = base.to_vec();
            flip_at(&mut b, off)?; // '{' -> 'z'
            b
        },
        3,
        &["manifest.form"],
        s,
        Depth::Layout,
    );
    // The signature of link 2, and of link 1 (whose bytes link 2 names:
    // `chain.links` sees that before any signature is checked).
    let links: [(&str, &str, &'static [&'static str]); 2] = [
        (
            "flip-link2-signature",
            "chain/0002.dsse.json",
            &["chain.signatures"],
        ),
        (
            "flip-link1-signature",
            "chain/0001.dsse.json",
            &["chain.links"],
        ),
    ];
    for (name, link, check) in links {
        let (off, size) = data_at(link)?;
        let mut b = base.to_vec();
        let slice = b.get_mut(off..off + size).ok_or_else(|| err("range"))?;
        let at = find_bytes(slice, b"\"sig\":\"").ok_or_else(|| err("no sig"))? + 7 + 20;
        let c = slice.get_mut(at).ok_or_else(|| err("sig range"))?;
        *c = if *c == b'A' { b'B' } else { b'A' };
        add(name, b, 5, check, s, d);
    }
    Ok(())
}

/// Flipped bytes in each kind of entry's header: the checksum left as is
/// (malformed), and fixed up so the edit itself is what is refused.
fn header_flips(base: &[u8], add: &mut Add<'_>) -> Res<()> {
    let offsets = tar_layout(base)?;
    let kinds = [
        ("artifact-raw", "artifacts/model.safetensors"),
        ("artifact-zstd", "artifacts/config.json.zst"),
        ("sbom", "sboms/model.safetensors.cdx.json"),
        ("attestation", "attestation.intoto.json"),
        ("manifest", "manifest.json"),
        ("link", "chain/0002.dsse.json"),
    ];
    for (kind, name) in kinds {
        let e = offsets
            .iter()
            .find(|e| e.name.as_str() == name)
            .ok_or_else(|| err(format!("no {name}")))?;
        let h = usize::try_from(e.header_offset)?;
        // mtime field (136..148): a byte inside it.
        let mut raw = base.to_vec();
        flip_at(&mut raw, h + 140)?;
        add(
            &format!("header-{kind}-checksum-stale"),
            raw.clone(),
            3,
            &["archive.structure"],
            PolicyKind::Standard,
            Depth::Structure,
        );
        let mut fixed = raw;
        fix_checksum(fixed.get_mut(h..h + 512).ok_or_else(|| err("range"))?)?;
        add(
            &format!("header-{kind}-mtime"),
            fixed,
            3,
            &["archive.structure"],
            PolicyKind::Standard,
            Depth::Structure,
        );
        // The last byte of the name: a canonical name, but not the one the
        // layout and manifest need.
        let mut renamed = base.to_vec();
        let last = name.len() - 1;
        let c = renamed.get_mut(h + last).ok_or_else(|| err("range"))?;
        *c = if *c == b'X' { b'Y' } else { b'X' };
        fix_checksum(renamed.get_mut(h..h + 512).ok_or_else(|| err("range"))?)?;
        // Entries before the manifest are the manifest's to describe
        // (`manifest.form`); entries after it are links (`chain.links`).
        let layout_check: &'static [&'static str] = if kind == "link" {
            &["chain.links"]
        } else {
            &["manifest.form"]
        };
        add(
            &format!("header-{kind}-name"),
            renamed,
            3,
            layout_check,
            PolicyKind::Standard,
            Depth::Layout,
        );
        // The size field 64 bytes off (octal digit 9 of 11), checksum
        // fixed: the entry is cut (or runs into the next header) and every
        // later header is read at the wrong offset.
        let mut resized = base.to_vec();
        let digit = resized.get_mut(h + 124 + 8).ok_or_else(|| err("range"))?;
        *digit = if *digit == b'0' { b'1' } else { *digit - 1 };
        fix_checksum(resized.get_mut(h..h + 512).ok_or_else(|| err("range"))?)?;
        let depth = if walks(&resized) {
            Depth::Layout
        } else {
            Depth::Structure
        };
        add(
            &format!("header-{kind}-size"),
            resized,
            3,
            if depth == Depth::Structure {
                &["archive.structure"]
            } else {
                layout_check
            },
            PolicyKind::Standard,
            depth,
        );
    }
    Ok(())
}

fn truncations_and_appends(base: &[u8], add: &mut Add<'_>) -> Res<()> {
    let len = base.len();
    let offsets = tar_layout(base)?;
    let model = offsets
        .iter()
        .find(|e| e.name.as_str() == "artifacts/model.safetensors")
        .ok_or_else(|| err("no model"))?;
    let model_mid = usize::try_from(model.data_offset + model.size / 2)?;
    let link2 = offsets.last().ok_or_else(|| err("no entries"))?;
    let cuts = [
        ("empty", 0),
        ("in-first-header", 100),
        ("after-first-header", 512),
        ("mid-artifact", model_mid),
        ("at-link2-header", usize::try_from(link2.header_offset)?),
        ("end-marker-gone", len - 1024),
        ("end-marker-half", len - 512),
        ("last-byte", len - 1),
    ];
    for (label, at) in cuts {
        add(
            &format!("truncated-{label}"),
            base.get(..at).ok_or_else(|| err("cut"))?.to_vec(),
            3,
            &["archive.structure"],
            PolicyKind::Standard,
            Depth::Structure,
        );
    }
    // Bytes hidden in the zero padding after an entry's data (section 2:
    // data is zero-padded): nothing a reader hashes covers them.
    let attestation = offsets
        .iter()
        .find(|e| e.name.as_str() == layout::ATTESTATION)
        .ok_or_else(|| err("no attestation"))?;
    let pad_at = usize::try_from(attestation.data_offset + attestation.size)?;
    let mut hidden = base.to_vec();
    hidden
        .get_mut(pad_at..pad_at + 6)
        .ok_or_else(|| err("padding"))?
        .copy_from_slice(b"hidden");
    add(
        "nonzero-padding",
        hidden,
        3,
        &["archive.structure"],
        PolicyKind::Standard,
        Depth::Structure,
    );
    let mut appended = |label: &str, extra: &[u8]| {
        let mut b = base.to_vec();
        b.extend_from_slice(extra);
        add(
            &format!("appended-{label}"),
            b,
            3,
            &["archive.structure"],
            PolicyKind::Standard,
            Depth::Structure,
        );
    };
    appended("one-byte", b"x");

    appended("zero-block", &[0u8; 512]);
    appended("second-end-marker", &[0u8; 1024]);
    let link = entries(base)?
        .last()
        .cloned()
        .ok_or_else(|| err("no link"))?;
    let extra = assemble(&[Entry {
        name: "chain/0003.dsse.json".into(),
        data: link.data,
    }])?;
    appended("entry-after-end-marker", &extra);
    Ok(())
}

fn entry_edits(base: &[u8], add: &mut Add<'_>) -> Res<()> {
    let all = entries(base)?;
    let s = PolicyKind::Standard;
    let edited = |f: &dyn Fn(&mut Vec<Entry>) -> Res<()>| -> Res<Vec<u8>> {
        let mut e = all.clone();
        f(&mut e)?;
        assemble(&e)
    };
    add(
        "extra-entry-before-attestation",
        edited(&|e| {
            let at = find(e, layout::ATTESTATION)?;
            e.insert(
                at,
                Entry {
                    name: "artifacts/extra.json".into(),
                    data: b"{}".to_vec(),
                },
            );
            Ok(())
        })?,
        3,
        &["manifest.form"],
        s,
        Depth::Layout,
    );
    add(
        "extra-entry-after-chain",
        edited(&|e| {
            e.push(Entry {
                name: "notes.txt".into(),
                data: b"hello".to_vec(),
            });
            Ok(())
        })?,
        3,
        &["chain.links"],
        s,
        Depth::Layout,
    );
    add(
        "extra-entry-first",
        edited(&|e| {
            e.insert(
                0,
                Entry {
                    name: "README".into(),
                    data: b"read me".to_vec(),
                },
            );
            Ok(())
        })?,
        3,
        &["manifest.form"],
        s,
        Depth::Layout,
    );
    for (label, name) in [
        ("sbom", "sboms/config.json.cdx.json"),
        ("artifact", "artifacts/model.safetensors"),
        ("attestation", layout::ATTESTATION),
        ("manifest", layout::MANIFEST),
    ] {
        add(
            &format!("missing-{label}"),
            edited(&|e| {
                let i = find(e, name)?;
                e.remove(i);
                Ok(())
            })?,
            3,
            &["manifest.form"],
            s,
            Depth::Layout,
        );
    }
    // A duplicate right after the original, with different bytes
    // (extractors keep the last copy).
    add(
        "duplicate-artifact",
        {
            let mut e = all.clone();
            let i = find(&e, "artifacts/model.safetensors")?;
            let mut copy = e.get(i).cloned().ok_or_else(|| err("index"))?;
            flip_at(&mut copy.data, 1000)?;
            e.insert(i + 1, copy);
            let mut b = Vec::new();
            // assemble() would do, but it must not reject the duplicate name.
            for x in &e {
                b.extend_from_slice(&btar::encode_header(
                    &BundlePath::new(&x.name)?,
                    x.data.len() as u64,
                )?);
                b.extend_from_slice(&x.data);
                b.resize(b.len() + (512 - x.data.len() % 512) % 512, 0);
            }
            b.resize(b.len() + 1024, 0);
            b
        },
        3,
        &["archive.structure"],
        s,
        Depth::Structure,
    );
    add(
        "duplicate-manifest-at-end",
        edited(&|e| {
            let m = e
                .get(find(e, layout::MANIFEST)?)
                .cloned()
                .ok_or_else(|| err("index"))?;
            e.push(Entry {
                name: m.name,
                data: b"{}\n".to_vec(),
            });
            Ok(())
        })?,
        3,
        &["archive.structure"],
        s,
        Depth::Structure,
    );
    add(
        "swapped-artifact-names",
        edited(&|e| {
            let a = find(e, "artifacts/model.safetensors")?;
            let b = find(e, "artifacts/tiny-llama-Q4_K_M.gguf")?;
            let na = e
                .get(a)
                .map(|x| x.name.clone())
                .ok_or_else(|| err("index"))?;
            let nb = e
                .get(b)
                .map(|x| x.name.clone())
                .ok_or_else(|| err("index"))?;
            entry_mut(e, &na)?.name = "tmp".into();
            entry_mut(e, &nb)?.name = na;
            entry_mut(e, "tmp")?.name = nb;
            Ok(())
        })?,
        3,
        &["manifest.form"],
        s,
        Depth::Layout,
    );
    add(
        "swapped-artifact-and-sbom-names",
        edited(&|e| {
            let art = "artifacts/model.safetensors";
            let sbom = "sboms/model.safetensors.cdx.json";
            entry_mut(e, art)?.name = "tmp".into();
            entry_mut(e, sbom)?.name = art.into();
            entry_mut(e, "tmp")?.name = sbom.into();
            Ok(())
        })?,
        3,
        &["manifest.form"],
        s,
        Depth::Layout,
    );
    Ok(())
}

fn chain_edits(base: &[u8], other: &[u8], keys: &Keys, t: &Times, add: &mut Add<'_>) -> Res<()> {
    let all = entries(base)?;
    let s = PolicyKind::Standard;
    let link1 = all
        .get(find(&all, "chain/0001.dsse.json")?)
        .cloned()
        .ok_or_else(|| err("link1"))?;
    let link2 = all
        .get(find(&all, "chain/0002.dsse.json")?)
        .cloned()
        .ok_or_else(|| err("link2"))?;
    let without_chain: Vec<Entry> = all
        .iter()
        .filter(|e| !e.name.starts_with("chain/"))
        .cloned()
        .collect();
    let digest = manifest_digest(&all)?;
    let maint = LinkSpec {
        key: &keys.maintainer,
        role: "maintainer",
        time: t.link,
    };
    let transfer = LinkSpec {
        key: &keys.transfer,
        role: "transfer",
        time: t.link,
    };

    add(
        "unsigned",
        assemble(&without_chain)?,
        5,
        &["chain.links"],
        s,
        Depth::Content,
    );
    add(
        "link2-removed",
        {
            let mut e = without_chain.clone();
            e.push(link1.clone());
            assemble(&e)?
        },
        5,
        &["chain.required_roles"],
        s,
        Depth::Content,
    );
    // Link 1 removed; link 2 moved up to keep the numbering: its statement
    // still claims index 2 and names a link that is not there.
    add(
        "link1-removed",
        {
            let mut e = without_chain.clone();
            e.push(Entry {
                name: "chain/0001.dsse.json".into(),
                data: link2.data.clone(),
            });
            assemble(&e)?
        },
        3,
        &["chain.links"],
        s,
        Depth::Layout,
    );
    add(
        "links-reordered",
        {
            let mut e = without_chain.clone();
            e.push(Entry {
                name: "chain/0001.dsse.json".into(),
                data: link2.data.clone(),
            });
            e.push(Entry {
                name: "chain/0002.dsse.json".into(),
                data: link1.data.clone(),
            });
            assemble(&e)?
        },
        3,
        &["chain.links"],
        s,
        Depth::Layout,
    );
    // Link 2 of another bundle signed by the same keys: a valid signature
    // over the other bundle's manifest and link 1.
    add(
        "link2-replayed-from-other-bundle",
        {
            let other_link2 = entries(other)?
                .last()
                .cloned()
                .ok_or_else(|| err("other link"))?;
            let mut e = without_chain.clone();
            e.push(link1.clone());
            e.push(other_link2);
            assemble(&e)?
        },
        5,
        &["chain.links"],
        s,
        Depth::Content,
    );
    // Link 1 of the other bundle in front of our link 2.
    add(
        "link1-replayed-from-other-bundle",
        {
            let other_link1 = entries(other)?
                .into_iter()
                .find(|x| x.name == "chain/0001.dsse.json")
                .ok_or_else(|| err("other link1"))?;
            let mut e = without_chain.clone();
            e.push(other_link1);
            e.push(link2.clone());
            assemble(&e)?
        },
        5,
        &["chain.links"],
        s,
        Depth::Content,
    );
    // Link 2 correctly formed and signed, but naming a wrong link 1 digest.
    add(
        "link2-wrong-previous",
        {
            let mut e = without_chain.clone();
            e.push(link1.clone());
            let prev = PreviousLink {
                path: link1.name.clone(),
                sha256: Sha256Digest::of(b"not link 1"),
            };
            push_link(&mut e, &link_envelope(&digest, 2, &transfer, Some(prev)));
            assemble(&e)?
        },
        5,
        &["chain.links"],
        s,
        Depth::Content,
    );
    // Link 2 naming the right link 1 but another manifest digest.
    add(
        "link2-wrong-manifest",
        {
            let mut e = without_chain.clone();
            e.push(link1.clone());
            let prev = previous_of_last(&e);
            push_link(
                &mut e,
                &link_envelope(&Sha256Digest::of(b"another manifest"), 2, &transfer, prev),
            );
            assemble(&e)?
        },
        5,
        &["chain.links"],
        s,
        Depth::Content,
    );
    add(
        "link2-untrusted-key",
        {
            let mut e = without_chain.clone();
            resign(
                &mut e,
                &[
                    LinkSpec { ..maint },
                    LinkSpec {
                        key: &keys.rogue,
                        role: "transfer",
                        time: t.link,
                    },
                ],
            )?;
            assemble(&e)?
        },
        5,
        &["chain.signers"],
        s,
        Depth::Content,
    );
    add(
        "link2-key-not-allowed-role",
        {
            let mut e = without_chain.clone();
            resign(
                &mut e,
                &[
                    LinkSpec { ..maint },
                    LinkSpec {
                        key: &keys.maintainer,
                        role: "transfer",
                        time: t.link,
                    },
                ],
            )?;
            assemble(&e)?
        },
        5,
        &["chain.signers"],
        s,
        Depth::Content,
    );
    add(
        "all-links-untrusted",
        {
            let mut e = without_chain.clone();
            resign(
                &mut e,
                &[
                    LinkSpec {
                        key: &keys.rogue,
                        role: "maintainer",
                        time: t.link,
                    },
                    LinkSpec {
                        key: &keys.rogue,
                        role: "transfer",
                        time: t.link,
                    },
                ],
            )?;
            assemble(&e)?
        },
        5,
        &["chain.signers"],
        s,
        Depth::Content,
    );
    // The last link without its final LF (section 7: compact JSON + LF):
    // the signature still verifies, the bytes are not what sign writes.
    add(
        "link2-without-final-newline",
        {
            let mut e = without_chain.clone();
            e.push(link1.clone());
            let mut l2 = link2.clone();
            l2.data.pop();
            e.push(l2);
            assemble(&e)?
        },
        3,
        &["chain.links"],
        s,
        Depth::Layout,
    );
    // payloadType changed, re-signed so only that differs.
    add(
        "link2-payload-type-changed",
        {
            let mut e = without_chain.clone();
            e.push(link1.clone());
            let env = Envelope::decode(&link2.data)?;
            push_link(
                &mut e,
                &signed("application/json", env.payload, &keys.transfer, None),
            );
            assemble(&e)?
        },
        3,
        &["chain.links"],
        s,
        Depth::Layout,
    );
    add(
        "link2-predicate-type-changed",
        {
            let mut e = without_chain.clone();
            e.push(link1.clone());
            let env = Envelope::decode(&link2.data)?;
            let payload = replace_once(
                &env.payload,
                layout::LINK_PREDICATE_TYPE,
                "https://slsa.dev/provenance/v1",
            )?;
            push_link(
                &mut e,
                &signed(PAYLOAD_TYPE_IN_TOTO, payload, &keys.transfer, None),
            );
            assemble(&e)?
        },
        3,
        &["chain.links"],
        s,
        Depth::Layout,
    );
    // A link signed in the future: at a fixed time far ahead, not a year
    // after the link time, because the committed corpus (fixed times) must
    // stay in the future whenever the suite runs.
    add(
        "link2-time-in-future",
        {
            let mut e = without_chain.clone();
            let future: jiff::Timestamp = "2100-01-01T00:00:00Z".parse()?;
            resign(
                &mut e,
                &[
                    LinkSpec { ..maint },
                    LinkSpec {
                        time: future,
                        ..transfer
                    },
                ],
            )?;
            assemble(&e)?
        },
        5,
        &["bundle.expiry"],
        s,
        Depth::Content,
    );
    Ok(())
}

/// Lies behind valid signatures: the manifest rewritten to match the edit
/// and re-signed by the trusted keys.
fn resigned_lies(base: &[u8], keys: &Keys, t: &Times, add: &mut Add<'_>) -> Res<()> {
    let all = entries(base)?;
    let s = PolicyKind::Standard;
    let chain = [
        LinkSpec {
            key: &keys.maintainer,
            role: "maintainer",
            time: t.link,
        },
        LinkSpec {
            key: &keys.transfer,
            role: "transfer",
            time: t.link,
        },
    ];
    let lie =
        |f: &dyn Fn(&mut Vec<Entry>) -> Res<()>, edit: &dyn Fn(&mut Manifest)| -> Res<Vec<u8>> {
            let mut e = all.clone();
            f(&mut e)?;
            restamp(&mut e, edit)?;
            resign(&mut e, &chain)?;
            assemble(&e)
        };
    let sbom_edit = |name: &'static str, from: &'static str, to: &'static str| {
        move |e: &mut Vec<Entry>| -> Res<()> {
            let x = entry_mut(e, name)?;
            x.data = replace_once(&x.data, from, to)?;
            Ok(())
        }
    };
    // Whatever the base's value: the committed corpus uses other models.
    let property_edit =
        |name: &'static str, marker: &'static str, field: &'static str, to: &'static str| {
            move |e: &mut Vec<Entry>| -> Res<()> {
                let x = entry_mut(e, name)?;
                x.data = replace_after(&x.data, marker, field, to)?;
                Ok(())
            }
        };
    let nothing = |_: &mut Manifest| {};
    add(
        "resigned-control",
        lie(&|_| Ok(()), &nothing)?,
        0,
        &[],
        s,
        Depth::Content,
    );
    add(
        "sbom-lies-architecture",
        lie(
            &|e| {
                property_edit(
                    "sboms/tiny-llama-Q4_K_M.gguf.cdx.json",
                    "\"name\": \"lbom:architecture\"",
                    "value",
                    "qwen2",
                )(e)?;
                sbom_edit(
                    "sboms/tiny-llama-Q4_K_M.gguf.cdx.json",
                    "\"architectureFamily\": \"llama\"",
                    "\"architectureFamily\": \"qwen2\"",
                )(e)
            },
            &nothing,
        )?,
        4,
        &["sbom.consistent"],
        s,
        Depth::Content,
    );
    add(
        "sbom-lies-parameter-count",
        lie(
            &property_edit(
                "sboms/model.safetensors.cdx.json",
                "\"name\": \"lbom:parameter_count\"",
                "value",
                "7000000000",
            ),
            &nothing,
        )?,
        4,
        &["sbom.consistent"],
        s,
        Depth::Content,
    );
    add(
        "sbom-lies-quantization",
        lie(
            &property_edit(
                "sboms/tiny-llama-Q4_K_M.gguf.cdx.json",
                "\"name\": \"lbom:quantization\"",
                "value",
                "Q8_0",
            ),
            &nothing,
        )?,
        4,
        &["sbom.consistent"],
        s,
        Depth::Content,
    );
    add(
        "sbom-lies-licence",
        lie(
            &property_edit(
                "sboms/tiny-llama-Q4_K_M.gguf.cdx.json",
                "\"licenses\"",
                "id",
                "GPL-3.0-only",
            ),
            &nothing,
        )?,
        4,
        &["sbom.consistent"],
        s,
        Depth::Content,
    );
    add(
        "attestation-subject-wrong",
        lie(
            &|e| {
                let x = entry_mut(e, layout::ATTESTATION)?;
                flip_hex_after(&mut x.data, b"\"sha256\":\"")
            },
            &nothing,
        )?,
        4,
        &["attestation.subjects"],
        s,
        Depth::Content,
    );
    add(
        "attestation-subject-missing",
        lie(
            &|e| {
                let x = entry_mut(e, layout::ATTESTATION)?;
                let mut v: serde_json::Value = serde_json::from_slice(&x.data)?;
                if let Some(list) = v
                    .get_mut("subject")
                    .and_then(serde_json::Value::as_array_mut)
                {
                    list.pop();
                }
                let mut bytes = serde_json::to_vec(&v)?;
                bytes.push(b'\n');
                x.data = bytes;
                Ok(())
            },
            &nothing,
        )?,
        4,
        &["attestation.subjects"],
        s,
        Depth::Content,
    );
    // The manifest names a digest that is not the artifact's (decoded and,
    // the entry being raw, stored alike; the attestation, unchanged, still
    // names the right one): the attestation disagrees with the manifest.
    add(
        "manifest-digest-lies",
        lie(&|_| Ok(()), &|m| {
            if let Some(me) = m
                .entries
                .iter_mut()
                .find(|x| x.path.as_str() == "artifacts/model.safetensors")
            {
                me.sha256 = Sha256Digest::of(b"some other model");
                me.stored_sha256 = Some(me.sha256);
            }
        })?,
        4,
        &["attestation.subjects"],
        s,
        Depth::Content,
    );
    // A raw entry whose manifest size is not its stored size.
    add(
        "manifest-raw-size-lies",
        lie(&|_| Ok(()), &|m| {
            if let Some(me) = m
                .entries
                .iter_mut()
                .find(|x| x.path.as_str() == "artifacts/model.safetensors")
            {
                me.size += 1;
            }
        })?,
        3,
        &["manifest.form"],
        s,
        Depth::Layout,
    );
    // zstd entries whose decoded size is not what the manifest says.
    add(
        "zstd-decodes-longer-than-manifest",
        lie(&|_| Ok(()), &|m| {
            if let Some(me) = m
                .entries
                .iter_mut()
                .find(|x| x.path.as_str() == "artifacts/config.json.zst")
            {
                me.size -= 10;
            }
        })?,
        4,
        &["entries.digests"],
        s,
        Depth::Content,
    );
    add(
        "zstd-decodes-shorter-than-manifest",
        lie(&|_| Ok(()), &|m| {
            if let Some(me) = m
                .entries
                .iter_mut()
                .find(|x| x.path.as_str() == "artifacts/config.json.zst")
            {
                me.size += 10;
            }
        })?,
        4,
        &["entries.digests"],
        s,
        Depth::Content,
    );
    add(
        "zstd-frame-not-zstd",
        lie(
            &|e| {
                entry_mut(e, "artifacts/config.json.zst")?.data =
                    b"this is not a zstd frame".to_vec();
                Ok(())
            },
            &nothing,
        )
        .or_else(|_| -> Res<Vec<u8>> {
            // restamp cannot decode it: build the manifest by hand.
            let mut e = all.clone();
            let x = entry_mut(&mut e, "artifacts/config.json.zst")?;
            x.data = b"this is not a zstd frame".to_vec();
            let mut m = manifest(&e)?;
            if let Some(me) = m
                .entries
                .iter_mut()
                .find(|x| x.path.as_str() == "artifacts/config.json.zst")
            {
                me.stored_size = 24;
            }
            entry_mut(&mut e, layout::MANIFEST)?.data = m.to_bytes();
            resign(&mut e, &chain)?;
            assemble(&e)
        })?,
        4,
        &["entries.digests"],
        s,
        Depth::Content,
    );
    Ok(())
}

/// Thresholds counted in unique keys (policy `Threshold2`: maintainer 2).
fn threshold_cases(base: &[u8], keys: &Keys, t: &Times, add: &mut Add<'_>) -> Res<()> {
    let all = entries(base)?;
    let p = PolicyKind::Threshold2;
    let mut e = all.clone();
    e.retain(|x| !x.name.starts_with("chain/"));
    let m1 = LinkSpec {
        key: &keys.maintainer,
        role: "maintainer",
        time: t.link,
    };
    let m2 = LinkSpec {
        key: &keys.maintainer2,
        role: "maintainer",
        time: t.link,
    };
    let tr = LinkSpec {
        key: &keys.transfer,
        role: "transfer",
        time: t.link,
    };
    let chained = |links: &[LinkSpec<'_>]| -> Res<Vec<u8>> {
        let mut x = e.clone();
        resign(&mut x, links)?;
        assemble(&x)
    };
    add(
        "threshold2-control-two-keys",
        chained(&[LinkSpec { ..m1 }, LinkSpec { ..m2 }, LinkSpec { ..tr }])?,
        0,
        &[],
        p,
        Depth::Content,
    );
    add(
        "threshold2-only-one-key",
        base.to_vec(),
        5,
        &["chain.threshold"],
        p,
        Depth::Content,
    );
    add(
        "threshold2-same-key-two-links",
        chained(&[LinkSpec { ..m1 }, LinkSpec { ..m1 }, LinkSpec { ..tr }])?,
        5,
        &["chain.threshold"],
        p,
        Depth::Content,
    );
    // One link carrying two signatures by the same key under two keyid
    // hints (the real id, and the id of the policy's second maintainer key).
    // A link carries exactly one signature (docs/bundle-format.md [B31]):
    // refused by the link's form, before any key is counted.
    add(
        "threshold2-same-key-two-keyid-hints",
        {
            let mut x = e.clone();
            let digest = manifest_digest(&x)?;
            let mut env = link_envelope(&digest, 1, &m1, None);
            let again = signed(
                PAYLOAD_TYPE_IN_TOTO,
                env.payload.clone(),
                &keys.maintainer,
                Some(&keys.maintainer2.key_id().to_string()),
            );
            env.signatures.extend(again.signatures);
            push_link(&mut x, &env);
            let prev = previous_of_last(&x);
            push_link(&mut x, &link_envelope(&digest, 2, &tr, prev));
            assemble(&x)?
        },
        3,
        &["chain.links"],
        p,
        Depth::Layout,
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Policies.

/// Write the policy files for every [`PolicyKind`] into `dir`; returns the
/// path for a kind.
pub fn write_policies(dir: &Path, keys: &Keys) -> Res<Policies> {
    let pubkey = |name: &str, key: &SigningKey| -> Res<PathBuf> {
        let path = dir.join(format!("{name}.pub"));
        std::fs::write(&path, key.public_key().to_pem()?)?;
        Ok(path)
    };
    let m = pubkey("maintainer", &keys.maintainer)?;
    let t = pubkey("transfer", &keys.transfer)?;
    let m2 = pubkey("maintainer2", &keys.maintainer2)?;
    let standard = dir.join("standard.toml");
    std::fs::write(
        &standard,
        standard_policy(
            &m.display().to_string(),
            &t.display().to_string(),
            false,
            "",
        ),
    )?;
    let rollback = dir.join("allow-rollback.toml");
    std::fs::write(
        &rollback,
        standard_policy(&m.display().to_string(), &t.display().to_string(), true, ""),
    )?;
    let threshold2 = dir.join("threshold2.toml");
    std::fs::write(
        &threshold2,
        threshold2_policy(
            &m.display().to_string(),
            &m2.display().to_string(),
            &t.display().to_string(),
            "",
        ),
    )?;
    Ok(Policies {
        standard,
        threshold2,
        rollback,
    })
}

/// The [`PolicyKind::Standard`] policy: demo maintainer and transfer keys
/// (public key files `m` and `t`), both roles required; `extra` is appended
/// (the committed corpus adds `[time]`).
pub fn standard_policy(m: &str, t: &str, allow_rollback: bool, extra: &str) -> String {
    format!(
        r#"version = 1

[[keys]]
name = "maintainer"
public_key = "{m}"
roles = ["maintainer"]

[[keys]]
name = "transfer"
public_key = "{t}"
roles = ["transfer"]

[signatures]
required_roles = ["maintainer", "transfer"]

# "json" and "unknown": config.json is a JSON side file, and some cases
# carry files of no model format; the matrix is about tampering, not content.
[content]
allowed_formats = ["gguf", "safetensors", "json", "unknown"]

[history]
allow_rollback = {allow_rollback}
allow_fork = false
{extra}"#
    )
}

/// The [`PolicyKind::Threshold2`] policy: maintainer threshold 2 with the
/// maintainer key `m` listed twice (it must count once) and a second
/// maintainer key `m2`; transfer key `t`. `extra` is appended.
pub fn threshold2_policy(m: &str, m2: &str, t: &str, extra: &str) -> String {
    format!(
        r#"version = 1

[[keys]]
name = "maintainer"
public_key = "{m}"
roles = ["maintainer"]

# The same key again under another name: it must still count once.
[[keys]]
name = "maintainer-alias"
public_key = "{m}"
roles = ["maintainer"]

[[keys]]
name = "maintainer2"
public_key = "{m2}"
roles = ["maintainer"]

[[keys]]
name = "transfer"
public_key = "{t}"
roles = ["transfer"]

[signatures]
required_roles = ["maintainer", "transfer"]
thresholds = {{ maintainer = 2, transfer = 1 }}

# "json" and "unknown": config.json is a JSON side file, and some cases
# carry files of no model format; the matrix is about tampering, not content.
[content]
allowed_formats = ["gguf", "safetensors", "json", "unknown"]
{extra}"#
    )
}

/// Policy files.
pub struct Policies {
    /// [`PolicyKind::Standard`].
    pub standard: PathBuf,
    /// [`PolicyKind::Threshold2`].
    pub threshold2: PathBuf,
    /// Standard, with `allow_rollback = true`.
    pub rollback: PathBuf,
}

impl Policies {
    /// The file for a kind.
    pub fn path(&self, kind: PolicyKind) -> &Path {
        match kind {
            PolicyKind::Standard => &self.standard,
            PolicyKind::Threshold2 => &self.threshold2,
        }
    }
}

// ---------------------------------------------------------------------------
// Decompression bombs (signed by the trusted keys, so they reach streaming).

/// The zstd artifact of the base.
const ZSTD_ARTIFACT: &str = "artifacts/config.json.zst";

/// zstd frames that decode to far more than the manifest says, or that ask
/// the decoder for a huge window. Each is put in place of the base's zstd
/// artifact, the manifest keeps the honest size and digest of the original
/// artifact (only `stored_size` follows the new frame), and the chain is
/// re-signed by the trusted keys. Expected: exit 4 (`entries.digests`),
/// within the time bound, under a 512 MiB address-space cap.
pub fn bombs(base: &[u8], keys: &Keys) -> Res<Vec<Case>> {
    let t = Times::now()?;
    let chain = [
        LinkSpec {
            key: &keys.maintainer,
            role: "maintainer",
            time: t.link,
        },
        LinkSpec {
            key: &keys.transfer,
            role: "transfer",
            time: t.link,
        },
    ];
    let with_frame = |frame: Vec<u8>| -> Res<Vec<u8>> {
        let mut e = entries(base)?;
        let stored = frame.len() as u64;
        entry_mut(&mut e, ZSTD_ARTIFACT)?.data = frame;
        let mut m = manifest(&e)?;
        for me in &mut m.entries {
            if me.path.as_str() == ZSTD_ARTIFACT {
                me.stored_size = stored;
            }
        }
        entry_mut(&mut e, layout::MANIFEST)?.data = m.to_bytes();
        resign(&mut e, &chain)?;
        assemble(&e)
    };
    let case = |name: &str, bytes: Vec<u8>| Case {
        name: name.to_owned(),
        bytes,
        code: 4,
        checks: &["entries.digests"],
        policy: PolicyKind::Standard,
        depth: Depth::Content,
    };
    let gib = 1u64 << 30;
    Ok(vec![
        // 4 GiB of zeros with an honest frame content size (about 130 KiB
        // stored): a decoder that trusts the frame, or that decodes to the
        // end before comparing with the manifest, runs long or out of memory.
        case(
            "zstd-bomb-4gib-honest-frame",
            with_frame(zeros_frame(4 * gib, Some(4 * gib))?)?,
        ),
        // The same without a content size in the frame header.
        case(
            "zstd-bomb-1gib-no-content-size",
            with_frame(zeros_frame(gib, None)?)?,
        ),
        // A frame whose header claims the manifest's size (394 bytes) but
        // whose blocks decode to 64 MiB.
        case(
            "zstd-bomb-lying-content-size",
            with_frame(lying_content_size(64 << 20, 394)?)?,
        ),
        // A frame asking for a 2 GiB window (Window_Descriptor, RFC 8878
        // §3.1.1.1.2) for a few bytes of content.
        case(
            "zstd-huge-window",
            with_frame(huge_window(&config_json_bytes(base)?)?)?,
        ),
    ])
}

/// The base's zstd artifact, decoded.
fn config_json_bytes(base: &[u8]) -> Res<Vec<u8>> {
    let e = entries(base)?;
    let x = e
        .iter()
        .find(|x| x.name == ZSTD_ARTIFACT)
        .ok_or_else(|| err("no zstd artifact"))?;
    Ok(zstd::decode_all(x.data.as_slice())?)
}

/// Largest block (RFC 8878 §3.1.1.2.3, Block_Maximum_Size): 128 KiB.
const ZSTD_BLOCK: u64 = 128 << 10;

/// One zstd frame of `n` zero bytes built by hand from RLE blocks (RFC 8878
/// §3.1.1.2: 3-byte block header, block type 1, one byte repeated): 4 bytes
/// per 128 KiB, so a 4 GiB bomb costs 128 KiB and no time to make. The
/// frame header (§3.1.1.1) has a 128 KiB window, no checksum, and a
/// Frame_Content_Size of `claimed` (8 bytes), or none.
fn zeros_frame(n: u64, claimed: Option<u64>) -> Res<Vec<u8>> {
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD];
    match claimed {
        Some(size) => {
            frame.push(0xC0); // FCS_Field_Size 8, not single-segment
            frame.push(7 << 3); // Window_Descriptor: window log 17
            frame.extend_from_slice(&size.to_le_bytes());
        }
        None => {
            frame.push(0x00);
            frame.push(7 << 3);
        }
    }
    let mut left = n;
    while left > 0 {
        let size = left.min(ZSTD_BLOCK);
        left -= size;
        let last = u32::from(left == 0);
        let header = last | (1 << 1) | (u32::try_from(size)? << 3);
        frame.extend_from_slice(header.to_le_bytes().get(..3).unwrap_or_default());
        frame.push(0);
    }
    Ok(frame)
}

/// A frame of `real` zero bytes whose content size field says `claimed`.
fn lying_content_size(real: u64, claimed: u64) -> Res<Vec<u8>> {
    zeros_frame(real, Some(claimed))
}

/// `content` in a frame whose window descriptor asks for 2 GiB.
fn huge_window(content: &[u8]) -> Res<Vec<u8>> {
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3)?;
    enc.include_checksum(true)?;
    enc.include_contentsize(false)?;
    std::io::Write::write_all(&mut enc, content)?;
    let mut frame = enc.finish()?;
    let fhd = *frame.get(4).ok_or_else(|| err("short frame"))?;
    if fhd & 0x20 != 0 {
        return Err(err("frame is single-segment: no window descriptor"));
    }
    // Exponent 21, mantissa 0: window log 31.
    *frame.get_mut(5).ok_or_else(|| err("short frame"))? = 21 << 3;
    Ok(frame)
}
