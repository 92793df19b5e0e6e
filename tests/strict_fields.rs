//! Strict documents (issue 12 item 7; docs/bundle-format.md [B23], [B51],
//! [B52], [B55], §7): for every field of every signed JSON document a
//! reader parses — the manifest (with `previous`, `tool` and an entry), the
//! attestation, both link statements and the last link's envelope — remove
//! it, set it to `null`, give it a value of the wrong JSON type, and add an
//! unknown sibling to every object. Each mutant is then made consistent
//! again the way only a signer can (digests recomputed, the chain
//! re-signed by the trusted keys), so that nothing but the strictness rule
//! can refuse it, and `verify` must refuse it with the check and exit code
//! docs/policy.md §9 names for that document.
//!
//! Mutations that the format allows are skipped, by rule, not by case:
//! `null` where a field is "object or null"/"string or null", and leaving
//! out a link's `note` (omitted means no note).

mod common;
mod tamper;

use std::path::Path;

use lbom::bundle::chain::{LinkPredicate, PreviousLink, link_payload};
use lbom::bundle::layout;
use lbom::bundle::manifest::format_time;
use lbom::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO};
use lbom::io::digest::Sha256Digest;
use lbom::sign::SigningKey;
use lbom::verify::{HashOnly, Outcome, Policy, VerifyContext};
use serde_json::Value;

use common::{TestResult, fail, repo};
use tamper::{Entry, Keys, PackSpec, Res, Times};

/// A field's place in its document: object keys and array indexes.
type FieldPath = Vec<String>;

/// What is done to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    Remove,
    Null,
    WrongType,
    /// An unknown field added to the object at the path.
    Unknown,
}

/// A value of another JSON type than `v`'s (and not `null`).
fn wrong_type(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::from(1),
        Value::Number(_) | Value::Bool(_) => Value::from("1"),
        Value::Null => Value::from(1),
        Value::Object(_) | Value::Array(_) => Value::from("x"),
    }
}

/// Every mutation of `doc`: each field of each object (arrays: their first
/// element), depth first.
fn mutations(doc: &Value) -> Vec<(FieldPath, Mutation)> {
    fn walk(v: &Value, at: &FieldPath, out: &mut Vec<(FieldPath, Mutation)>) {
        match v {
            Value::Object(map) => {
                out.push((at.clone(), Mutation::Unknown));
                for (k, child) in map {
                    let mut p = at.clone();
                    p.push(k.clone());
                    for m in [Mutation::Remove, Mutation::Null, Mutation::WrongType] {
                        out.push((p.clone(), m));
                    }
                    walk(child, &p, out);
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    let mut p = at.clone();
                    p.push("0".into());
                    walk(first, &p, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &Vec::new(), &mut out);
    out
}

/// Apply one mutation; `None` when the path is not there.
fn apply(doc: &Value, at: &[String], m: Mutation) -> Option<Value> {
    let mut v = doc.clone();
    if m == Mutation::Unknown {
        let obj = descend(&mut v, at)?.as_object_mut()?;
        obj.insert("zz_not_in_the_format".into(), Value::from(1));
        return Some(v);
    }
    let (last, parent) = at.split_last()?;
    let container = descend(&mut v, parent)?;
    let obj = container.as_object_mut()?;
    match m {
        Mutation::Remove => {
            obj.shift_remove(last)?;
        }
        Mutation::Null => {
            *obj.get_mut(last)? = Value::Null;
        }
        Mutation::WrongType => {
            let old = obj.get(last)?.clone();
            *obj.get_mut(last)? = wrong_type(&old);
        }
        Mutation::Unknown => {}
    }
    Some(v)
}

fn descend<'a>(v: &'a mut Value, at: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in at {
        cur = match step.parse::<usize>() {
            Ok(i) => cur.get_mut(i)?,
            Err(_) => cur.get_mut(step.as_str())?,
        };
    }
    Some(cur)
}

/// Whether the format allows this mutation (so it is no strictness case).
fn allowed(doc: Doc, at: &[String], m: Mutation) -> bool {
    let path: Vec<&str> = at.iter().map(String::as_str).collect();
    match (doc, m) {
        // "object or null", "string or null": null is a value.
        (Doc::Manifest, Mutation::Null) => matches!(path.as_slice(), ["previous"] | ["expires"]),
        (Doc::Attestation, Mutation::Null) => matches!(
            path.as_slice(),
            [
                "predicate",
                "buildDefinition",
                "externalParameters",
                "previous" | "expires"
            ]
        ),
        // A link without a note is a link with no note.
        (Doc::Link2, Mutation::Remove) => path == ["predicate", "note"],
        _ => false,
    }
}

/// The documents mutated, and the check that must refuse each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doc {
    Manifest,
    Attestation,
    Link1,
    Link2,
    Envelope2,
}

impl Doc {
    /// docs/policy.md §9: the check and exit code for a malformed document.
    fn expected(self) -> (&'static str, u8) {
        match self {
            Doc::Manifest => ("manifest.form", 3),
            Doc::Attestation => ("attestation.subjects", 3),
            Doc::Link1 | Doc::Link2 | Doc::Envelope2 => ("chain.links", 3),
        }
    }
}

/// The base: bundle 2 of a channel (so `previous` is an object), with an
/// expiry, a zstd and a raw artifact, signed by the maintainer and then the
/// transfer desk with a note.
struct Base {
    entries: Vec<Entry>,
    keys: Keys,
    times: Times,
}

fn base(dir: &Path) -> Res<Base> {
    let keys = Keys::load(&repo())?;
    let times = Times::now()?;
    let t = repo().join("fixtures/safetensors/tiny-llama");
    let spec = |previous: Option<std::path::PathBuf>| PackSpec {
        inputs: vec![t.join("config.json"), t.join("extra_dtypes.safetensors")],
        name: "strict",
        channel: "main",
        sequence: None,
        previous,
        created: times.created,
        expires: Some(jiff::SignedDuration::from_hours(24 * 30)),
        compress: lbom::bundle::Compression::Auto,
    };
    let first = dir.join("first.lbom");
    tamper::pack_and_sign(&spec(None), &first, &[], times.link)?;
    let second = dir.join("second.lbom");
    let bytes = tamper::pack_and_sign(&spec(Some(first)), &second, &[], times.link)?;
    let mut entries = tamper::entries(&bytes)?;
    let b = Base {
        entries: Vec::new(),
        keys,
        times,
    };
    let manifest = manifest_digest(&entries)?;
    let l1 = b.link(&manifest, 1, None)?;
    let l2 = b.link(&manifest, 2, Some(&l1))?;
    push(&mut entries, 1, &l1)?;
    push(&mut entries, 2, &l2)?;
    Ok(Base { entries, ..b })
}

fn push(entries: &mut Vec<Entry>, index: u32, bytes: &[u8]) -> Res<()> {
    entries.push(Entry {
        name: layout::link_name(index),
        data: bytes.to_vec(),
    });
    Ok(())
}

fn manifest_digest(entries: &[Entry]) -> Res<Sha256Digest> {
    let m = entries
        .iter()
        .find(|e| e.name == layout::MANIFEST)
        .ok_or_else(|| fail("no manifest"))?;
    Ok(Sha256Digest::of(&m.data))
}

impl Base {
    fn key(&self, index: u32) -> (&SigningKey, &'static str) {
        if index == 1 {
            (&self.keys.maintainer, "maintainer")
        } else {
            (&self.keys.transfer, "transfer")
        }
    }

    /// The statement of link `index` over `manifest`, after `previous`.
    fn statement(&self, manifest: &Sha256Digest, index: u32, previous: Option<&[u8]>) -> Vec<u8> {
        let (key, role) = self.key(index);
        let predicate = LinkPredicate {
            index,
            role: role.into(),
            keyid: key.key_id(),
            time: format_time(self.times.link),
            note: (index == 2).then(|| "carried on USB stick 7".to_owned()),
            previous: previous.map(|p| PreviousLink {
                path: layout::link_name(index - 1),
                sha256: Sha256Digest::of(p),
            }),
        };
        link_payload(manifest, &predicate)
    }

    /// An envelope over `payload`, signed by link `index`'s key.
    fn envelope(&self, index: u32, payload: Vec<u8>) -> Vec<u8> {
        let (key, _) = self.key(index);
        tamper::signed(PAYLOAD_TYPE_IN_TOTO, payload, key, None).encode()
    }

    fn link(&self, manifest: &Sha256Digest, index: u32, previous: Option<&[u8]>) -> Res<Vec<u8>> {
        Ok(self.envelope(index, self.statement(manifest, index, previous)))
    }

    /// The base with its chain rebuilt over the current manifest; link 1's
    /// or link 2's payload, or link 2's whole envelope, replaced.
    fn rechain(
        &self,
        mut entries: Vec<Entry>,
        payload1: Option<Vec<u8>>,
        payload2: Option<Vec<u8>>,
        envelope2: Option<Vec<u8>>,
    ) -> Res<Vec<u8>> {
        entries.retain(|e| !e.name.starts_with("chain/"));
        let manifest = manifest_digest(&entries)?;
        let l1 = match payload1 {
            Some(p) => self.envelope(1, p),
            None => self.link(&manifest, 1, None)?,
        };
        let l2 = match (payload2, envelope2) {
            (_, Some(e)) => e,
            (Some(p), None) => self.envelope(2, p),
            (None, None) => self.link(&manifest, 2, Some(&l1))?,
        };
        push(&mut entries, 1, &l1)?;
        push(&mut entries, 2, &l2)?;
        tamper::assemble(&entries)
    }
}

fn entry_data<'a>(entries: &'a [Entry], name: &str) -> Res<&'a [u8]> {
    entries
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.data.as_slice())
        .ok_or_else(|| fail(format!("no entry {name}")))
}

fn set_entry(entries: &mut [Entry], name: &str, data: Vec<u8>) -> Res<()> {
    let e = entries
        .iter_mut()
        .find(|e| e.name == name)
        .ok_or_else(|| fail(format!("no entry {name}")))?;
    e.data = data;
    Ok(())
}

/// The bundle with `doc` replaced by `mutant` (serialised as the writer
/// lays the document out), made consistent again by a signer.
fn rebuild(b: &Base, doc: Doc, mutant: &Value) -> Res<Vec<u8>> {
    let mut entries = b.entries.clone();
    match doc {
        Doc::Manifest => {
            let mut bytes = serde_json::to_vec_pretty(mutant)?;
            bytes.push(b'\n');
            set_entry(&mut entries, layout::MANIFEST, bytes)?;
            b.rechain(entries, None, None, None)
        }
        Doc::Attestation => {
            let mut bytes = serde_json::to_vec(mutant)?;
            bytes.push(b'\n');
            set_entry(&mut entries, layout::ATTESTATION, bytes)?;
            tamper::restamp(&mut entries, |_| {})?;
            b.rechain(entries, None, None, None)
        }
        Doc::Link1 => b.rechain(entries, Some(serde_json::to_vec(mutant)?), None, None),
        Doc::Link2 => b.rechain(entries, None, Some(serde_json::to_vec(mutant)?), None),
        Doc::Envelope2 => {
            let mut bytes = serde_json::to_vec(mutant)?;
            bytes.push(b'\n');
            b.rechain(entries, None, None, Some(bytes))
        }
    }
}

/// The document `doc` of the base, as JSON.
fn document(b: &Base, doc: Doc) -> Res<Value> {
    let link_payload = |name: &str| -> Res<Value> {
        let env = Envelope::decode(entry_data(&b.entries, name)?)?;
        Ok(serde_json::from_slice(&env.payload)?)
    };
    Ok(match doc {
        Doc::Manifest => serde_json::from_slice(entry_data(&b.entries, layout::MANIFEST)?)?,
        Doc::Attestation => serde_json::from_slice(entry_data(&b.entries, layout::ATTESTATION)?)?,
        Doc::Link1 => link_payload("chain/0001.dsse.json")?,
        Doc::Link2 => link_payload("chain/0002.dsse.json")?,
        Doc::Envelope2 => serde_json::from_slice(entry_data(&b.entries, "chain/0002.dsse.json")?)?,
    })
}

fn policy(dir: &Path) -> Res<Policy> {
    let keys = repo().join("keys");
    let text = tamper::standard_policy(
        &keys.join("demo-maintainer.pub").display().to_string(),
        &keys.join("demo-transfer.pub").display().to_string(),
        false,
        "",
    );
    let path = dir.join("policy.toml");
    std::fs::write(&path, text)?;
    Ok(Policy::load(&path)?)
}

/// The first failing check and the exit code of `verify` on `bytes`.
fn verdict(dir: &Path, policy: &Policy, bytes: &[u8]) -> Res<(String, u8, String)> {
    let path = dir.join("case.lbom");
    std::fs::write(&path, bytes)?;
    let ctx = VerifyContext {
        now: jiff::Timestamp::now(),
        channel: None,
        caps: lbom::bundle::Caps::default(),
        jobs: None,
    };
    let (report, _) = lbom::verify::verify(&path, policy, &ctx, &mut HashOnly);
    Ok(report
        .checks
        .iter()
        .find_map(|c| match c.outcome {
            Outcome::Fail(f) => Some((
                c.name.as_str().to_owned(),
                common::codes::of(f.class()),
                c.detail.clone(),
            )),
            _ => None,
        })
        .unwrap_or_default())
}

#[test]
fn every_field_of_every_signed_document_is_required_typed_and_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let b = base(dir.path())?;
    let policy = policy(dir.path())?;
    // The base itself verifies: the refusals below are the mutations'.
    let rebuilt = b.rechain(b.entries.clone(), None, None, None)?;
    let (check, code, detail) = verdict(dir.path(), &policy, &rebuilt)?;
    assert_eq!(code, 0, "the base fails {check}: {detail}");
    let mut problems = Vec::new();
    let mut counted = 0usize;
    for doc in [
        Doc::Manifest,
        Doc::Attestation,
        Doc::Link1,
        Doc::Link2,
        Doc::Envelope2,
    ] {
        let original = document(&b, doc)?;
        let (want_check, want_code) = doc.expected();
        for (at, m) in mutations(&original) {
            if allowed(doc, &at, m) {
                continue;
            }
            let Some(mutant) = apply(&original, &at, m) else {
                continue;
            };
            let bytes = rebuild(&b, doc, &mutant)?;
            let (check, code, detail) = verdict(dir.path(), &policy, &bytes)?;
            counted += 1;
            if (check.as_str(), code) != (want_check, want_code) {
                problems.push(format!(
                    "{doc:?} /{} {m:?}: {} exit {code} ({detail}), expected {want_check} exit {want_code}",
                    at.join("/"),
                    if check.is_empty() { "verified" } else { check.as_str() }
                ));
            }
        }
    }
    // Every document has fields: the generator did not silently shrink.
    assert!(counted > 150, "only {counted} mutations");
    assert!(
        problems.is_empty(),
        "{} of {counted} mutations not refused as documented:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

/// The nullable fields the generator skips are really nullable: the base
/// with `previous` and `expires` both null (attestation alike) verifies, so
/// the skip hides no refusal.
#[test]
fn null_is_a_value_exactly_where_the_format_allows_none() -> TestResult {
    let dir = tempfile::tempdir()?;
    let b = base(dir.path())?;
    let policy = policy(dir.path())?;
    let mut m = document(&b, Doc::Manifest)?;
    let mut a = document(&b, Doc::Attestation)?;
    for field in ["previous", "expires"] {
        *descend(&mut m, &[field.into()]).ok_or("no field")? = Value::Null;
        *descend(
            &mut a,
            &[
                "predicate".into(),
                "buildDefinition".into(),
                "externalParameters".into(),
                field.into(),
            ],
        )
        .ok_or("no field")? = Value::Null;
    }
    let mut entries = b.entries.clone();
    let mut abytes = serde_json::to_vec(&a)?;
    abytes.push(b'\n');
    set_entry(&mut entries, layout::ATTESTATION, abytes)?;
    let mut mbytes = serde_json::to_vec_pretty(&m)?;
    mbytes.push(b'\n');
    set_entry(&mut entries, layout::MANIFEST, mbytes)?;
    tamper::restamp(&mut entries, |_| {})?;
    let bytes = b.rechain(entries, None, None, None)?;
    let (check, code, detail) = verdict(dir.path(), &policy, &bytes)?;
    assert_eq!(code, 0, "{check}: {detail}");
    Ok(())
}
