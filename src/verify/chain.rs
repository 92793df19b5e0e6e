//! The signature chain against the policy (docs/bundle-format.md §7;
//! docs/policy.md §4.2, §4.3 and §5): `chain.links`, `chain.signatures`,
//! `chain.signers`, `chain.threshold`, `chain.required_roles`.
//!
//! Signers are counted by public key, never by link and never by the
//! unauthenticated `keyid` hint: the same key signing twice, or listed
//! twice in the policy, is one signer.

use std::collections::{BTreeMap, BTreeSet};

use super::Signer;
use super::policy::{Policy, TrustedKey, UnknownSigners};
use super::report::Failure;
use super::verdict::{Step, Verdict};
use crate::io::source::SourceReader;

use crate::bundle::manifest::parse_time;
use crate::bundle::tar::TarEntry;
use crate::bundle::{LinkInfo, OpenBundle, ReadLimits, layout, read};
use crate::envelope::Envelope;

/// One link after `chain.signatures`.
#[derive(Debug, Clone)]
pub(crate) struct CheckedLink {
    /// As the report and the import log name it.
    pub signer: Signer,
    /// The key's identity for counting: its canonical compressed point.
    /// `None` for a key the policy does not list (never counted).
    pub key: Option<[u8; 32]>,
    /// The roles the policy trusts this key for (every policy entry with
    /// the same public key).
    pub trusted_roles: BTreeSet<String>,
}

/// The public key as a point in canonical encoding: two encodings of one
/// key compare equal (RFC 8032 §5.1.3 allows non-canonical `y`).
fn identity(key: &TrustedKey) -> [u8; 32] {
    key.key.verifying_key().to_edwards().compress().to_bytes()
}

/// The first half of `chain.links`: read every entry after the manifest
/// and check its form (exit 3; I/O errors exit 10). `diff` stops here: it
/// checks no signature, but reads no bundle whose chain is malformed.
pub(crate) fn form(
    bundle: &mut OpenBundle,
    file: &mut SourceReader,
    limits: &crate::bundle::ReadLimits,
) -> Result<(), Verdict> {
    crate::bundle::read::read_links(bundle, file, limits).map_err(|e| {
        Verdict::fail(
            super::structure::classify(&e),
            super::structure::error_text(&e),
        )
    })
}

/// `chain.links` (docs/policy.md §9): first the form of every entry after
/// the manifest — exactly the links `chain/0001.dsse.json`, … without
/// gaps, each a well-formed link (docs/bundle-format.md §1, §7; exit 3);
/// then at least one link, every link over this manifest, and link N
/// naming link N−1's path and exact bytes (exit 5). Fills `bundle.links`
/// and returns each link's time.
pub(crate) fn links(
    bundle: &mut OpenBundle,
    file: &mut SourceReader,
    limits: &crate::bundle::ReadLimits,
) -> Step<Vec<jiff::Timestamp>> {
    form(bundle, file, limits)?;
    if bundle.links.is_empty() {
        return Err(Verdict::fail(
            Failure::Trust,
            "the bundle carries no signature chain (unsigned)",
        ));
    }
    let mut times = Vec::with_capacity(bundle.links.len());
    let mut before: Option<(&str, crate::io::digest::Sha256Digest)> = None;
    for (entry, info) in &bundle.links {
        let p = &info.predicate;
        // The form was checked when the link was read.
        let time = parse_time(&p.time).ok_or_else(|| {
            Verdict::fail(
                Failure::Malformed,
                format!("link {}: time is not in the format's form", entry.name),
            )
        })?;
        times.push(time);
        if info.manifest_sha256 != bundle.manifest_sha256 {
            return Err(Verdict::fail(
                Failure::Trust,
                format!(
                    "link {} signs manifest {}, not this bundle's manifest {}",
                    entry.name, info.manifest_sha256, bundle.manifest_sha256
                ),
            ));
        }
        match (&p.previous, before) {
            (None, None) => {}
            (Some(prev), Some((path, sha256))) if prev.path == path && prev.sha256 == sha256 => {}
            (_, None) => {
                return Err(Verdict::fail(
                    Failure::Malformed,
                    format!(
                        "link {} is the first link but names a previous one",
                        entry.name
                    ),
                ));
            }
            (_, Some((path, _))) => {
                return Err(Verdict::fail(
                    Failure::Trust,
                    format!(
                        "link {} does not name the exact bytes of {path} as its previous link",
                        entry.name
                    ),
                ));
            }
        }
        before = Some((entry.name.as_str(), info.entry_sha256));
    }
    let detail = format!(
        "{} link(s), each over manifest {} and chained to the one before",
        bundle.links.len(),
        bundle.manifest_sha256
    );
    Ok((times, Verdict::pass(detail)))
}

/// `chain.signatures`: each link's one signature verifies (strict Ed25519
/// over the DSSE PAE) under the policy key whose id the signed predicate
/// names (the `keyid` hint, equal to it by the link's form, is never used
/// to choose a key). A key the policy does not list cannot be checked: the link is
/// kept uncounted, and `chain.signers` decides what that means.
///
/// The reader kept no envelope: each link is read and decoded again, one
/// at a time, and must be the bytes the reader saw (its digest), so memory
/// does not grow with the links' sizes (docs/bundle-format.md, "Reader
/// limits").
pub(crate) fn signatures(
    bundle: &OpenBundle,
    file: &mut SourceReader,
    limits: &ReadLimits,
    policy: &Policy,
) -> Step<Vec<CheckedLink>> {
    let mut out = Vec::with_capacity(bundle.links.len());
    let mut unknown = 0usize;
    for (entry, info) in &bundle.links {
        let envelope = reread_link(bundle, file, entry, info, limits)?;
        let p = &info.predicate;
        // One signature whose hint is the signed key id: the link's form,
        // checked by `chain.links` when it was read.
        let [signature] = envelope.signatures.as_slice() else {
            return Err(Verdict::fail(
                Failure::Malformed,
                format!("link {} does not carry exactly one signature", entry.name),
            ));
        };
        let named: Vec<&TrustedKey> = policy
            .keys
            .iter()
            .filter(|k| k.key.key_id() == p.keyid)
            .collect();
        let (key, trusted_roles, key_name) = match named.first() {
            None => {
                unknown += 1;
                (None, BTreeSet::new(), None)
            }
            Some(first) => {
                if !first.key.verify(&envelope.pae(), &signature.sig) {
                    return Err(Verdict::fail(
                        Failure::Trust,
                        format!(
                            "link {}: the signature does not verify under key {} ({})",
                            entry.name, first.name, p.keyid
                        ),
                    ));
                }
                let id = identity(first);
                let same_key: Vec<&TrustedKey> =
                    policy.keys.iter().filter(|k| identity(k) == id).collect();
                let roles: BTreeSet<String> = same_key
                    .iter()
                    .flat_map(|k| k.roles.iter().cloned())
                    .collect();
                let name = same_key
                    .iter()
                    .find(|k| k.roles.contains(&p.role))
                    .map_or_else(|| first.name.clone(), |k| k.name.clone());
                (Some(id), roles, Some(name))
            }
        };
        out.push(CheckedLink {
            signer: Signer {
                index: p.index,
                role: p.role.clone(),
                key_id: p.keyid,
                key_name,
                time: p.time.clone(),
                note: p.note.clone(),
            },
            key,
            trusted_roles,
        });
    }
    let checked = out.len().saturating_sub(unknown);
    let mut detail = format!("{checked} link signature(s) verify under policy keys");
    if unknown > 0 {
        detail.push_str(&format!(
            "; {unknown} link(s) signed by keys the policy does not list were not checked"
        ));
    }
    Ok((out, Verdict::pass(detail)))
}

/// Link `entry` decoded again; it must still be the bytes whose digest the
/// reader recorded (a file changed between the two reads is refused).
fn reread_link(
    bundle: &OpenBundle,
    file: &mut SourceReader,
    entry: &TarEntry,
    info: &LinkInfo,
    limits: &ReadLimits,
) -> Result<Envelope, Verdict> {
    let (envelope, again) = read::read_link(&bundle.path, file, entry, limits).map_err(|e| {
        let class = super::structure::classify(&e);
        Verdict::fail(class, super::structure::error_text(&e))
    })?;
    if again.entry_sha256 != info.entry_sha256 {
        return Err(Verdict::fail(
            Failure::Integrity,
            format!("entry {} changed while it was read", entry.name),
        ));
    }
    Ok(envelope)
}

/// `chain.signers`: every checked link's key is trusted for the role it
/// claims; a link by a key the policy does not list is refused unless the
/// policy says `unknown_signers = "ignore"`.
pub(crate) fn signers(links: &[CheckedLink], policy: &Policy) -> Step<()> {
    let mut ignored = 0usize;
    for link in links {
        let s = &link.signer;
        match (&link.key, &s.key_name) {
            (Some(_), _) if link.trusted_roles.contains(&s.role) => {}
            (Some(_), name) => {
                return Err(Verdict::fail(
                    Failure::Trust,
                    format!(
                        "link {}: key {} ({}) is not trusted for role {}",
                        layout::link_name(s.index),
                        name.as_deref().unwrap_or("?"),
                        s.key_id,
                        s.role
                    ),
                ));
            }
            (None, _) if policy.unknown_signers == UnknownSigners::Ignore => ignored += 1,
            (None, _) => {
                return Err(Verdict::fail(
                    Failure::Trust,
                    format!(
                        "link {} is signed by key {}, which the policy does not list",
                        layout::link_name(s.index),
                        s.key_id
                    ),
                ));
            }
        }
    }
    let mut detail = format!(
        "{} link(s) signed by keys trusted for their roles",
        links.len().saturating_sub(ignored)
    );
    if ignored > 0 {
        detail.push_str(&format!(
            "; {ignored} link(s) by unlisted keys ignored (unknown_signers = ignore)"
        ));
    }
    Ok(((), Verdict::pass(detail)))
}

/// Unique public keys per role among the counted links.
fn keys_per_role(links: &[CheckedLink]) -> BTreeMap<&str, BTreeSet<[u8; 32]>> {
    let mut per_role: BTreeMap<&str, BTreeSet<[u8; 32]>> = BTreeMap::new();
    for link in links {
        if let Some(key) = link.key
            && link.trusted_roles.contains(&link.signer.role)
        {
            per_role
                .entry(link.signer.role.as_str())
                .or_default()
                .insert(key);
        }
    }
    per_role
}

fn threshold_of(policy: &Policy, role: &str) -> u32 {
    policy.thresholds.get(role).copied().unwrap_or(1)
}

/// `chain.threshold`: every role signed in the chain (and every role with a
/// threshold or required) has at least its threshold of unique keys.
pub(crate) fn threshold(links: &[CheckedLink], policy: &Policy) -> Step<()> {
    let per_role = keys_per_role(links);
    let mut roles: BTreeSet<&str> = per_role.keys().copied().collect();
    roles.extend(policy.required_roles.iter().map(String::as_str));
    let mut parts = Vec::new();
    for role in roles {
        let have = per_role.get(role).map_or(0, BTreeSet::len);
        let want = threshold_of(policy, role);
        let present = have > 0;
        if present && (have as u64) < u64::from(want) {
            return Err(Verdict::fail(
                Failure::Trust,
                format!("role {role}: {have} unique key(s) signed, the policy needs {want}"),
            ));
        }
        if present {
            parts.push(format!("{role} {have}/{want}"));
        }
    }
    let detail = if parts.is_empty() {
        "no role signed by a trusted key".to_owned()
    } else {
        format!("unique keys per role: {}", parts.join(", "))
    };
    Ok(((), Verdict::pass(detail)))
}

/// `chain.required_roles`: every required role is present at its threshold.
pub(crate) fn required_roles(links: &[CheckedLink], policy: &Policy) -> Step<()> {
    let per_role = keys_per_role(links);
    for role in &policy.required_roles {
        let have = per_role.get(role.as_str()).map_or(0, BTreeSet::len);
        let want = threshold_of(policy, role).max(1);
        if (have as u64) < u64::from(want) {
            return Err(Verdict::fail(
                Failure::Trust,
                format!(
                    "required role {role} is signed by {have} trusted key(s); the policy needs {want}"
                ),
            ));
        }
    }
    let detail = if policy.required_roles.is_empty() {
        "the policy requires no role".to_owned()
    } else {
        let names: Vec<&str> = policy.required_roles.iter().map(String::as_str).collect();
        format!("required roles present: {}", names.join(", "))
    };
    Ok(((), Verdict::pass(detail)))
}
