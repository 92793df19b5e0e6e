//! Loading and validating a policy (docs/policy.md is the reference for
//! every rule here). Validation refuses, never repairs: a policy that could
//! mean two things, or that no bundle could ever pass, is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::error::{At, PolicyError};
use super::raw::{RawCaps, RawContent, RawDrift, RawKey, RawPolicy, RawSignatures, VersionOnly};
use super::values;
use super::{
    Clock, ContentRules, DEFAULT_DRIFT_NEEDS_ACCEPTANCE, HistoryRules, MAX_POLICY_BYTES,
    POLICY_VERSION, Policy, PolicyCaps, PolicySource, TimeRules, TrustedKey, UnknownSigners,
};
use crate::bundle::manifest::check_label;
use crate::diff::DriftClass;
use crate::envelope::{KeyId, PublicKey};
use crate::io::digest::Sha256Digest;
use crate::io::open::open_regular;

/// Most `[[keys]]` tables: far above any real station, low enough that
/// merging the roles of one key listed many times stays cheap.
pub const MAX_KEYS: usize = 1000;

/// Most distinct roles across all keys.
pub const MAX_ROLES: usize = 256;

/// Largest key file read: 64 KiB (an Ed25519 SPKI PEM is 113 bytes).
const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// Why a key named by `public_key` could not be had.
pub(super) enum KeyProblem {
    /// Reading the file failed.
    Io(PathBuf, std::io::Error),
    /// The file or its content is wrong (a sentence, file named).
    Invalid(String),
}

/// Finds the key a `public_key = "…"` value names: the value as written.
pub(super) type KeyResolver<'a> = dyn FnMut(&str) -> Result<PublicKey, KeyProblem> + 'a;

impl Policy {
    /// Read and validate the policy at `path` (at most
    /// [`MAX_POLICY_BYTES`]; key files resolved against its folder).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let bytes = read_bounded(path, MAX_POLICY_BYTES).map_err(|e| match e {
            Bounded::Io(source) => PolicyError::Io {
                path: path.to_path_buf(),
                source,
            },
            Bounded::TooLarge(size) => PolicyError::TooLarge {
                path: path.to_path_buf(),
                size,
                limit: MAX_POLICY_BYTES,
            },
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| PolicyError::NotUtf8 {
            path: path.to_path_buf(),
        })?;
        Policy::from_toml(text, path)
    }

    /// Validate policy `text` read from `path`: `public_key` files are
    /// resolved against `path`'s folder, and `source.sha256` is the SHA-256
    /// of `text`'s bytes (the file's bytes when they came from
    /// [`Policy::load`]).
    pub fn from_toml(text: &str, path: &Path) -> Result<Policy, PolicyError> {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut resolve = |written: &str| load_key_file(&resolve_path(&dir, written));
        from_toml_with(text, path, &mut resolve)
    }
}

/// A `public_key` path: absolute as written, else relative to `dir`.
pub(super) fn resolve_path(dir: &Path, written: &str) -> PathBuf {
    let p = Path::new(written);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// Read a public key file: a regular file (a FIFO cannot hang the load) of
/// at most [`MAX_KEY_FILE_BYTES`], UTF-8, one SPKI PEM.
pub(super) fn load_key_file(file: &Path) -> Result<PublicKey, KeyProblem> {
    let bytes = read_bounded(file, MAX_KEY_FILE_BYTES).map_err(|e| match e {
        Bounded::Io(source) => KeyProblem::Io(file.to_path_buf(), source),
        Bounded::TooLarge(size) => KeyProblem::Invalid(format!(
            "key file {} is {size} bytes, too large for a public key",
            file.display()
        )),
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        KeyProblem::Invalid(format!("key file {} is not UTF-8 text", file.display()))
    })?;
    values::public_key_pem(text)
        .map_err(|p| KeyProblem::Invalid(format!("key file {} {p}", file.display())))
}

enum Bounded {
    Io(std::io::Error),
    TooLarge(u64),
}

/// Read a regular file of at most `limit` bytes, checking the size before
/// reading and again while reading (the file may grow meanwhile).
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Bounded> {
    let (file, len) = open_regular(path).map_err(Bounded::Io)?;
    if len > limit {
        return Err(Bounded::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > limit {
        return Err(Bounded::TooLarge(read));
    }
    Ok(bytes)
}

/// The text being validated, for errors.
struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Ctx<'_> {
    fn invalid(&self, span: Option<Range<usize>>, key: &str, problem: String) -> PolicyError {
        PolicyError::Invalid {
            path: self.path.to_path_buf(),
            at: At::span(self.text, span),
            key: key.to_owned(),
            problem,
        }
    }

    fn toml(&self, e: &toml::de::Error) -> PolicyError {
        // One line: the parser's message can hold a newline before a hint.
        let message = e
            .message()
            .trim()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        PolicyError::Toml {
            path: self.path.to_path_buf(),
            at: At::span(self.text, e.span()),
            message,
        }
    }
}

/// [`Policy::from_toml`], with `public_key` values resolved by `resolve`
/// (`policy init` resolves them as given on its command line).
pub(super) fn from_toml_with(
    text: &str,
    path: &Path,
    resolve: &mut KeyResolver<'_>,
) -> Result<Policy, PolicyError> {
    let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
    if len > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge {
            path: path.to_path_buf(),
            size: len,
            limit: MAX_POLICY_BYTES,
        });
    }
    let cx = Ctx { text, path };
    check_version(&cx)?;
    let raw: RawPolicy = toml::from_str(text).map_err(|e| cx.toml(&e))?;

    let keys = trusted_keys(&cx, raw.keys, resolve)?;
    let (required_roles, thresholds, unknown_signers) = signatures(&cx, raw.signatures, &keys)?;
    Ok(Policy {
        source: PolicySource {
            path: path.to_path_buf(),
            sha256: Sha256Digest::of(text.as_bytes()),
        },
        keys,
        thresholds,
        required_roles,
        unknown_signers,
        content: content(&cx, raw.content)?,
        caps: caps(&cx, raw.caps)?,
        time: time(&cx, raw.time)?,
        history: HistoryRules {
            allow_rollback: raw.history.allow_rollback.unwrap_or(false),
            allow_fork: raw.history.allow_fork.unwrap_or(false),
        },
        drift_needs_acceptance: drift(&cx, raw.drift)?,
    })
}

fn check_version(cx: &Ctx<'_>) -> Result<(), PolicyError> {
    let only: VersionOnly = toml::from_str(cx.text).map_err(|e| cx.toml(&e))?;
    let Some(version) = only.version else {
        return Err(cx.invalid(
            None,
            "version",
            format!("missing; a policy starts with version = {POLICY_VERSION}"),
        ));
    };
    let span = Some(version.span());
    match version.into_inner() {
        toml::Value::Integer(POLICY_VERSION) => Ok(()),
        toml::Value::Integer(v) => Err(cx.invalid(
            span,
            "version",
            format!("unsupported policy version {v}; this lbom reads version {POLICY_VERSION}"),
        )),
        other => Err(cx.invalid(
            span,
            "version",
            format!(
                "unsupported policy version (a {}); this lbom reads version {POLICY_VERSION}",
                other.type_str()
            ),
        )),
    }
}

/// A list of labels (roles), each checked, none twice.
fn labels(
    cx: &Ctx<'_>,
    key: &str,
    what: &str,
    list: Vec<Spanned<String>>,
) -> Result<BTreeSet<String>, PolicyError> {
    let mut out = BTreeSet::new();
    for item in list {
        let span = item.span();
        let value = item.into_inner();
        check_label(what, &value).map_err(|p| cx.invalid(Some(span.clone()), key, p))?;
        if out.contains(&value) {
            return Err(cx.invalid(Some(span), key, format!("{what} {value:?} is listed twice")));
        }
        out.insert(value);
    }
    Ok(out)
}

fn trusted_keys(
    cx: &Ctx<'_>,
    raw: Vec<Spanned<RawKey>>,
    resolve: &mut KeyResolver<'_>,
) -> Result<Vec<TrustedKey>, PolicyError> {
    if raw.is_empty() {
        return Err(cx.invalid(
            None,
            "keys",
            "the policy trusts no key; add a [[keys]] table with name, public_key and roles"
                .to_owned(),
        ));
    }
    if raw.len() > MAX_KEYS {
        return Err(cx.invalid(
            None,
            "keys",
            format!(
                "{} keys is more than the {MAX_KEYS} a policy may list",
                raw.len()
            ),
        ));
    }
    let mut keys: Vec<TrustedKey> = Vec::with_capacity(raw.len());
    let mut names = BTreeSet::new();
    let mut roles = BTreeSet::new();
    for (i, entry) in raw.into_iter().enumerate() {
        let at = format!("keys[{}]", i.saturating_add(1));
        let span = entry.span();
        let name_span = entry.get_ref().name.as_ref().map(Spanned::span);
        let k = one_key(cx, &at, span, entry.into_inner(), resolve)?;
        roles.extend(k.roles.iter().cloned());
        if roles.len() > MAX_ROLES {
            return Err(cx.invalid(
                name_span.clone(),
                &format!("{at}.roles"),
                format!("the policy names more than {MAX_ROLES} distinct roles"),
            ));
        }
        if !names.insert(k.name.clone()) {
            return Err(cx.invalid(
                name_span.clone(),
                &format!("{at}.name"),
                format!("key name {:?} is used twice", k.name),
            ));
        }
        keys.push(k);
    }
    merge_duplicate_roles(&mut keys);
    Ok(keys)
}

/// One key listed under several names may sign as any of their roles:
/// give every entry the union, so a lookup by id or by name agrees.
fn merge_duplicate_roles(keys: &mut [TrustedKey]) {
    let mut union: BTreeMap<KeyId, BTreeSet<String>> = BTreeMap::new();
    for k in keys.iter() {
        union
            .entry(k.key.key_id())
            .or_default()
            .extend(k.roles.iter().cloned());
    }
    for k in keys.iter_mut() {
        if let Some(roles) = union.get(&k.key.key_id()) {
            k.roles.clone_from(roles);
        }
    }
}

fn one_key(
    cx: &Ctx<'_>,
    at: &str,
    span: Range<usize>,
    raw: RawKey,
    resolve: &mut KeyResolver<'_>,
) -> Result<TrustedKey, PolicyError> {
    let Some(name) = raw.name else {
        return Err(cx.invalid(
            Some(span),
            &format!("{at}.name"),
            "missing; every key needs a name".to_owned(),
        ));
    };
    let name_span = name.span();
    let name = name.into_inner();
    check_label("key name", &name)
        .map_err(|p| cx.invalid(Some(name_span), &format!("{at}.name"), p))?;

    let key = key_material(
        cx,
        at,
        span.clone(),
        &name,
        (raw.public_key, raw.pem),
        resolve,
    )?;
    check_pin(cx, at, &name, raw.key_id, &key)?;

    let roles_at = format!("{at}.roles");
    let Some(roles) = raw.roles else {
        return Err(cx.invalid(
            Some(span),
            &roles_at,
            format!("missing; say which roles key {name:?} may sign as"),
        ));
    };
    let roles_span = roles.span();
    let roles = labels(cx, &roles_at, "role", roles.into_inner())?;
    if roles.is_empty() {
        return Err(cx.invalid(
            Some(roles_span),
            &roles_at,
            format!("is empty; key {name:?} could sign as nothing"),
        ));
    }
    Ok(TrustedKey { name, key, roles })
}

/// The public key of `[[keys]]` entry `at` named `name`, from exactly one
/// of its `public_key` (a file, through `resolve`) and `pem`.
fn key_material(
    cx: &Ctx<'_>,
    at: &str,
    span: Range<usize>,
    name: &str,
    (public_key, pem): (Option<Spanned<String>>, Option<Spanned<String>>),
    resolve: &mut KeyResolver<'_>,
) -> Result<PublicKey, PolicyError> {
    Ok(match (public_key, pem) {
        (Some(_), Some(pem)) => {
            return Err(cx.invalid(
                Some(pem.span()),
                &format!("{at}.pem"),
                format!("key {name:?} has both public_key and pem; give exactly one"),
            ));
        }
        (None, None) => {
            return Err(cx.invalid(
                Some(span),
                at,
                format!("key {name:?} has neither public_key nor pem; give exactly one"),
            ));
        }
        (Some(file), None) => {
            let key_at = format!("{at}.public_key");
            let file_span = file.span();
            let written = file.into_inner();
            if written.is_empty() {
                return Err(cx.invalid(
                    Some(file_span),
                    &key_at,
                    "is empty; expected the path of a .pub file".to_owned(),
                ));
            }
            resolve(&written).map_err(|p| match p {
                KeyProblem::Io(resolved, source) => PolicyError::KeyFile {
                    path: cx.path.to_path_buf(),
                    at: At::span(cx.text, Some(file_span.clone())),
                    key: key_at.clone(),
                    file: resolved,
                    source,
                },
                KeyProblem::Invalid(problem) => {
                    cx.invalid(Some(file_span.clone()), &key_at, problem)
                }
            })?
        }
        (None, Some(pem)) => {
            let pem_span = pem.span();
            values::public_key_pem(pem.get_ref()).map_err(|p| {
                cx.invalid(Some(pem_span), &format!("{at}.pem"), format!("the key {p}"))
            })?
        }
    })
}

/// A `key_id` pin, when given, is the key's id.
fn check_pin(
    cx: &Ctx<'_>,
    at: &str,
    name: &str,
    key_id: Option<Spanned<String>>,
    key: &PublicKey,
) -> Result<(), PolicyError> {
    if let Some(pin) = key_id {
        let pin_span = pin.span();
        let expected: KeyId = pin.get_ref().parse().map_err(|_| {
            cx.invalid(
                Some(pin_span.clone()),
                &format!("{at}.key_id"),
                format!(
                    "{:?} is not a key id; expected 64 lowercase hex digits",
                    pin.get_ref()
                ),
            )
        })?;
        if expected != key.key_id() {
            return Err(cx.invalid(
                Some(pin_span),
                &format!("{at}.key_id"),
                format!(
                    "key {name:?} is {}, not the pinned {expected}; the key file changed or the pin is wrong",
                    key.key_id()
                ),
            ));
        }
    }
    Ok(())
}

type Signatures = (BTreeSet<String>, BTreeMap<String, u32>, UnknownSigners);

fn signatures(
    cx: &Ctx<'_>,
    raw: Option<Spanned<RawSignatures>>,
    keys: &[TrustedKey],
) -> Result<Signatures, PolicyError> {
    let missing = || {
        cx.invalid(
            None,
            "signatures.required_roles",
            "missing; name the roles every bundle must be signed as (for example [\"maintainer\", \"transfer\"])"
                .to_owned(),
        )
    };
    let raw = raw.ok_or_else(missing)?.into_inner();
    let listed = raw.required_roles.ok_or_else(missing)?;
    let listed_span = listed.span();
    let required = labels(cx, "signatures.required_roles", "role", listed.into_inner())?;
    if required.is_empty() {
        return Err(cx.invalid(
            Some(listed_span),
            "signatures.required_roles",
            "is empty; an unsigned bundle would pass".to_owned(),
        ));
    }

    // Distinct key ids per role, built once (a policy may list many keys).
    let mut per_role: BTreeMap<&str, BTreeSet<KeyId>> = BTreeMap::new();
    for k in keys {
        for role in &k.roles {
            per_role.entry(role).or_default().insert(k.key.key_id());
        }
    }
    let distinct = |role: &str| per_role.get(role).map_or(0, BTreeSet::len);

    let mut thresholds = BTreeMap::new();
    for (role, n) in raw.thresholds {
        let key = format!("signatures.thresholds.{role}");
        let span = Some(n.span());
        check_label("role", &role).map_err(|p| cx.invalid(span.clone(), &key, p))?;
        let n = *n.get_ref();
        let n = u32::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| {
            cx.invalid(
                span.clone(),
                &key,
                format!("{n} is not a threshold; expected 1 or more"),
            )
        })?;
        if distinct(&role) == 0 {
            return Err(cx.invalid(
                span,
                &key,
                format!("no key in [[keys]] may sign as {role:?}"),
            ));
        }
        if !required.contains(&role) {
            return Err(cx.invalid(
                span,
                &key,
                format!(
                    "role {role:?} is not in signatures.required_roles, so its threshold would have no effect"
                ),
            ));
        }
        thresholds.insert(role, n);
    }

    for role in &required {
        let need = thresholds.get(role).copied().unwrap_or(1);
        let have = distinct(role);
        if u64::try_from(have).unwrap_or(u64::MAX) < u64::from(need) {
            return Err(cx.invalid(
                Some(listed_span.clone()),
                "signatures.required_roles",
                format!(
                    "role {role:?} needs {need} distinct {} but the policy trusts {have} for it, so no bundle could ever pass",
                    if need == 1 { "key" } else { "keys" }
                ),
            ));
        }
    }

    let unknown_signers = match raw.unknown_signers {
        None => UnknownSigners::Refuse,
        Some(v) => match v.get_ref().as_str() {
            "refuse" => UnknownSigners::Refuse,
            "ignore" => UnknownSigners::Ignore,
            other => {
                return Err(cx.invalid(
                    Some(v.span()),
                    "signatures.unknown_signers",
                    format!("unknown value {other:?}; expected \"refuse\" or \"ignore\""),
                ));
            }
        },
    };
    Ok((required, thresholds, unknown_signers))
}

fn content(cx: &Ctx<'_>, raw: RawContent) -> Result<ContentRules, PolicyError> {
    let mut rules = ContentRules::default();
    if let Some(list) = raw.allowed_formats {
        let key = "content.allowed_formats";
        let list_span = list.span();
        rules.allowed_formats = BTreeSet::new();
        for item in list.into_inner() {
            let span = item.span();
            let f = values::format(item.get_ref())
                .map_err(|p| cx.invalid(Some(span.clone()), key, p))?;
            if !rules.allowed_formats.insert(f) {
                return Err(cx.invalid(
                    Some(span),
                    key,
                    format!("format {:?} is listed twice", f.as_str()),
                ));
            }
        }
        if rules.allowed_formats.is_empty() {
            return Err(cx.invalid(
                Some(list_span),
                key,
                "is empty; no artifact could pass".to_owned(),
            ));
        }
    }
    if let Some(list) = raw.allowed_licences {
        let key = "content.allowed_licences";
        let mut allowed = BTreeSet::new();
        for item in list.into_inner() {
            let span = item.span();
            let id = values::licence(item.get_ref())
                .map_err(|p| cx.invalid(Some(span.clone()), key, p))?;
            if !allowed.insert(id.clone()) {
                return Err(cx.invalid(Some(span), key, format!("licence {id:?} is listed twice")));
            }
        }
        rules.allowed_licences = Some(allowed);
    }
    if let Some(v) = raw.fail_on {
        rules.fail_on = values::fail_on(v.get_ref())
            .map_err(|p| cx.invalid(Some(v.span()), "content.fail_on", p))?;
    }
    Ok(rules)
}

fn caps(cx: &Ctx<'_>, raw: RawCaps) -> Result<PolicyCaps, PolicyError> {
    let mut caps = PolicyCaps::default();
    let fields = [
        (
            "caps.max_entries",
            raw.max_entries,
            false,
            &mut caps.max_entries,
        ),
        (
            "caps.max_entry_bytes",
            raw.max_entry_bytes,
            true,
            &mut caps.max_entry_bytes,
        ),
        (
            "caps.max_total_bytes",
            raw.max_total_bytes,
            true,
            &mut caps.max_total_bytes,
        ),
        (
            "caps.max_path_bytes",
            raw.max_path_bytes,
            true,
            &mut caps.max_path_bytes,
        ),
    ];
    // docs/policy.md [P41]: a cap above the reader's own limit could never
    // apply; a policy that sets one is refused rather than misread.
    let reader = crate::bundle::ReadLimits::default();
    let ceiling = |key: &str| match key {
        "caps.max_entries" => Some(reader.max_artifacts.saturating_mul(2).saturating_add(1) as u64),
        "caps.max_path_bytes" => Some(crate::bundle::path::MAX_PATH_BYTES as u64),
        _ => None,
    };
    for (key, value, units, slot) in fields {
        if let Some(v) = value {
            *slot =
                values::size(v.get_ref(), units).map_err(|p| cx.invalid(Some(v.span()), key, p))?;
            if let Some(most) = ceiling(key)
                && *slot > most
            {
                return Err(cx.invalid(
                    Some(v.span()),
                    key,
                    format!(
                        "{} is above lbom's reader limit of {most}, which no policy can raise",
                        *slot
                    ),
                ));
            }
        }
    }
    Ok(caps)
}

fn time(cx: &Ctx<'_>, raw: super::raw::RawTime) -> Result<TimeRules, PolicyError> {
    let mut rules = TimeRules::default();
    if let Some(v) = raw.max_age {
        rules.max_age = values::max_age(v.get_ref())
            .map_err(|p| cx.invalid(Some(v.span()), "time.max_age", p))?;
    }
    rules.require_expiry = raw.require_expiry.unwrap_or(false);
    if let Some(v) = raw.clock {
        rules.clock = match v.get_ref().as_str() {
            "trusted" => Clock::Trusted,
            "untrusted" => Clock::Untrusted,
            other => {
                return Err(cx.invalid(
                    Some(v.span()),
                    "time.clock",
                    format!("unknown value {other:?}; expected \"trusted\" or \"untrusted\""),
                ));
            }
        };
    }
    Ok(rules)
}

fn drift(cx: &Ctx<'_>, raw: RawDrift) -> Result<BTreeSet<DriftClass>, PolicyError> {
    let Some(list) = raw.require_acceptance else {
        return Ok(DEFAULT_DRIFT_NEEDS_ACCEPTANCE.iter().copied().collect());
    };
    let key = "drift.require_acceptance";
    let mut out = BTreeSet::new();
    for item in list.into_inner() {
        let span = item.span();
        let name = item.into_inner();
        let Some(class) = DriftClass::from_name(&name) else {
            return Err(cx.invalid(
                Some(span),
                key,
                format!(
                    "unknown drift class {name:?}; expected one of {}",
                    DriftClass::names().join(", ")
                ),
            ));
        };
        if !out.insert(class) {
            return Err(cx.invalid(
                Some(span),
                key,
                format!("drift class {name:?} is listed twice"),
            ));
        }
    }
    Ok(out)
}
