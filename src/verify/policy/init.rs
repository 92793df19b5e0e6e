//! `lbom policy init`: a fully commented policy with safe defaults, and the
//! parsers for its `--trust` and `--threshold` arguments.
//!
//! The text is generated, then loaded back with the same validation as any
//! policy before it is returned: `init` cannot write a policy that
//! [`Policy::load`](super::Policy::load) would refuse.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::error::PolicyError;
use super::load::{KeyProblem, from_toml_with, load_key_file, resolve_path};
use super::{DEFAULT_ALLOWED_FORMATS, DEFAULT_DRIFT_NEEDS_ACCEPTANCE, POLICY_VERSION, PolicyCaps};
use crate::bundle::manifest::check_label;
use crate::diff::DriftClass;
use crate::envelope::{PublicKey, is_demo_key};

/// Longest `--trust` or `--threshold` argument parsed (paths are < 4 KiB).
const MAX_ARG_CHARS: usize = 8192;

/// One `--trust NAME=KEY.pub:ROLE[,ROLE]...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSpec {
    /// The key's name in the policy.
    pub name: String,
    /// The public key file, as given on the command line: relative to the
    /// current folder. The policy records it relative to its own folder
    /// ([`InitSpec::policy_dir`]), where a relative path is resolved.
    pub key_path: PathBuf,
    /// Roles it may sign as, in the order given.
    pub roles: Vec<String>,
}

/// What `lbom policy init` was asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitSpec {
    /// Trusted keys (`--trust`, at least one).
    pub trust: Vec<TrustSpec>,
    /// Required roles (`--require`); empty: every role named in `trust`.
    pub require: Vec<String>,
    /// Thresholds (`--threshold ROLE=N`); a required role not named needs 1.
    pub thresholds: Vec<(String, u32)>,
    /// The folder the policy will be written to (`-o`'s parent). When
    /// given, each relative key path is written relative to it (the policy
    /// resolves it from there), and must name the key init read from
    /// there: otherwise init would write a policy that does not load.
    /// `None`: paths are written as given.
    pub policy_dir: Option<PathBuf>,
}

/// The path a policy in `policy_dir` should record for the key file `key`
/// (given relative to the current folder, as on a command line): the path
/// from the policy's folder to the key, so that `lbom policy init -o
/// out/p.toml --trust a=keys/a.pub:maintainer` writes `../keys/a.pub`.
/// `None` when either does not exist (init then reports the key file).
pub fn key_path_from(policy_dir: &Path, key: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(if policy_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        policy_dir
    })
    .ok()?;
    let key = std::fs::canonicalize(key).ok()?;
    let common = dir
        .components()
        .zip(key.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in dir.components().skip(common) {
        out.push("..");
    }
    for c in key.components().skip(common) {
        out.push(c);
    }
    Some(out)
}

/// Parse `NAME=KEY.pub:ROLE[,ROLE]...`. The name ends at the first `=`,
/// the roles start after the last `:` (names and roles cannot hold either),
/// so the key path may contain `=` and `:`.
pub fn parse_trust_arg(arg: &str) -> Result<TrustSpec, PolicyError> {
    let bad = |problem: String| PolicyError::TrustArg {
        arg: arg.chars().take(200).collect(),
        problem,
    };
    const SHAPE: &str = "expected NAME=KEY.pub:ROLE[,ROLE]...";
    if arg.len() > MAX_ARG_CHARS {
        return Err(bad(format!("is longer than {MAX_ARG_CHARS} bytes")));
    }
    let (name, rest) = arg
        .split_once('=')
        .ok_or_else(|| bad(format!("no '=' after the key name; {SHAPE}")))?;
    check_label("key name", name).map_err(bad)?;
    let (path, roles) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad(format!("no ':' before the roles; {SHAPE}")))?;
    if path.is_empty() {
        return Err(bad(format!("no key file between '=' and ':'; {SHAPE}")));
    }
    let mut list = Vec::new();
    for role in roles.split(',') {
        check_label("role", role).map_err(bad)?;
        if list.iter().any(|r: &String| r == role) {
            return Err(bad(format!("role {role:?} is given twice")));
        }
        list.push(role.to_owned());
    }
    Ok(TrustSpec {
        name: name.to_owned(),
        key_path: PathBuf::from(path),
        roles: list,
    })
}

/// Parse `ROLE=N`, N a decimal integer from 1 to 2^32 − 1.
pub fn parse_threshold_arg(arg: &str) -> Result<(String, u32), PolicyError> {
    let bad = |problem: String| PolicyError::ThresholdArg {
        arg: arg.chars().take(200).collect(),
        problem,
    };
    if arg.len() > MAX_ARG_CHARS {
        return Err(bad(format!("is longer than {MAX_ARG_CHARS} bytes")));
    }
    let (role, n) = arg
        .split_once('=')
        .ok_or_else(|| bad("no '='; expected ROLE=N".to_owned()))?;
    check_label("role", role).map_err(bad)?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("{n:?} is not a number; expected ROLE=N")));
    }
    let n: u32 = n
        .parse()
        .map_err(|_| bad(format!("{n} is too large a threshold")))?;
    if n == 0 {
        return Err(bad(
            "a threshold of 0 would need no signature; expected 1 or more".to_owned(),
        ));
    }
    Ok((role.to_owned(), n))
}

/// A key read for `init`, by the path string written into the policy.
struct Loaded {
    spec: TrustSpec,
    written: String,
    key: PublicKey,
}

/// Write a policy for `spec`: every option present and commented, safe
/// defaults, non-default choices commented out. Key files are read now
/// (relative paths from the current folder), so a bad key fails here
/// rather than at the first verify; the policy records each path as given
/// with its key id pinned. Required roles default to every role in `trust`.
pub fn init(spec: &InitSpec) -> Result<String, PolicyError> {
    let mut loaded = load_keys(&spec.trust)?;
    if let Some(dir) = &spec.policy_dir {
        write_relative_to(dir, &mut loaded)?;
        check_resolves_from(dir, &loaded)?;
    }
    let required = required_roles(spec, &loaded)?;
    let thresholds = thresholds(spec, &loaded, &required)?;
    let text = render(&loaded, &required, &thresholds);

    // Load it back: whatever init writes, load accepts. Keys resolve to
    // those just read, by the string written.
    let by_written: BTreeMap<&str, &PublicKey> = loaded
        .iter()
        .map(|l| (l.written.as_str(), &l.key))
        .collect();
    let mut resolve = |w: &str| {
        by_written
            .get(w)
            .map(|k| (*k).clone())
            .ok_or_else(|| KeyProblem::Invalid(format!("key file {w:?} was not read by init")))
    };
    from_toml_with(&text, Path::new("policy.toml"), &mut resolve)
        .map_err(|e| PolicyError::Init(format!("the generated policy does not load: {e}")))?;
    Ok(text)
}

fn load_keys(trust: &[TrustSpec]) -> Result<Vec<Loaded>, PolicyError> {
    if trust.is_empty() {
        return Err(PolicyError::Init(
            "no trusted key given; a policy must trust at least one key".to_owned(),
        ));
    }
    let mut out: Vec<Loaded> = Vec::with_capacity(trust.len());
    for t in trust {
        check_label("key name", &t.name).map_err(PolicyError::Init)?;
        if out.iter().any(|l| l.spec.name == t.name) {
            return Err(PolicyError::Init(format!(
                "key name {:?} is given twice",
                t.name
            )));
        }
        if t.roles.is_empty() {
            return Err(PolicyError::Init(format!("key {:?} has no role", t.name)));
        }
        for role in &t.roles {
            check_label("role", role).map_err(PolicyError::Init)?;
        }
        let written = t.key_path.to_str().ok_or_else(|| {
            PolicyError::Init(format!(
                "key file {} is not a UTF-8 path, which TOML cannot hold",
                t.key_path.display()
            ))
        })?;
        let key = load_key_file(&t.key_path).map_err(|p| match p {
            KeyProblem::Io(file, source) => PolicyError::InitKeyFile { file, source },
            KeyProblem::Invalid(problem) => PolicyError::Init(problem),
        })?;
        out.push(Loaded {
            spec: t.clone(),
            written: written.to_owned(),
            key,
        });
    }
    Ok(out)
}

/// Rewrite each relative key path (given relative to the current folder)
/// relative to the policy's folder `dir`, where the policy resolves it:
/// `-o station/p.toml --trust a=keys/a.pub:maintainer` writes
/// `../keys/a.pub`.
fn write_relative_to(dir: &Path, loaded: &mut [Loaded]) -> Result<(), PolicyError> {
    let shown = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if !shown.is_dir() {
        return Err(PolicyError::Init(format!(
            "the policy's folder {} does not exist; create it first",
            shown.display()
        )));
    }
    for l in loaded.iter_mut() {
        if l.spec.key_path.is_absolute() {
            continue;
        }
        let from_policy = key_path_from(shown, &l.spec.key_path).ok_or_else(|| {
            PolicyError::Init(format!(
                "cannot express key file {} relative to the policy's folder {}",
                l.spec.key_path.display(),
                shown.display()
            ))
        })?;
        l.written = from_policy.to_str().map(str::to_owned).ok_or_else(|| {
            PolicyError::Init(format!(
                "key file {} is not a UTF-8 path, which TOML cannot hold",
                from_policy.display()
            ))
        })?;
    }
    Ok(())
}

/// Each key path, resolved as the written policy will resolve it, names
/// the key init read.
fn check_resolves_from(dir: &Path, loaded: &[Loaded]) -> Result<(), PolicyError> {
    for l in loaded {
        let there = resolve_path(dir, &l.written);
        let same = load_key_file(&there).is_ok_and(|k| k.key_id() == l.key.key_id());
        if !same {
            return Err(PolicyError::Init(format!(
                "key file {} is resolved against the policy's folder, where it names {}, not the key read; give a path relative to {} or an absolute path",
                l.written,
                there.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The roles any key may sign as, in first-given order.
fn all_roles(loaded: &[Loaded]) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for role in loaded.iter().flat_map(|l| &l.spec.roles) {
        if !roles.contains(role) {
            roles.push(role.clone());
        }
    }
    roles
}

fn required_roles(spec: &InitSpec, loaded: &[Loaded]) -> Result<Vec<String>, PolicyError> {
    if spec.require.is_empty() {
        return Ok(all_roles(loaded));
    }
    let mut out: Vec<String> = Vec::new();
    for role in &spec.require {
        check_label("role", role).map_err(PolicyError::Init)?;
        if out.contains(role) {
            return Err(PolicyError::Init(format!(
                "required role {role:?} is given twice"
            )));
        }
        if !loaded.iter().any(|l| l.spec.roles.contains(role)) {
            return Err(PolicyError::Init(format!(
                "required role {role:?}: no trusted key may sign as {role:?}, so no bundle could ever pass"
            )));
        }
        out.push(role.clone());
    }
    Ok(out)
}

fn thresholds(
    spec: &InitSpec,
    loaded: &[Loaded],
    required: &[String],
) -> Result<BTreeMap<String, u32>, PolicyError> {
    let mut out = BTreeMap::new();
    for (role, n) in &spec.thresholds {
        if !required.contains(role) {
            return Err(PolicyError::Init(format!(
                "threshold {role}={n}: {role:?} is not a required role"
            )));
        }
        if *n == 0 {
            return Err(PolicyError::Init(format!(
                "threshold {role}=0: expected 1 or more"
            )));
        }
        let distinct: BTreeSet<_> = loaded
            .iter()
            .filter(|l| l.spec.roles.contains(role))
            .map(|l| l.key.key_id())
            .collect();
        if u64::from(*n) > u64::try_from(distinct.len()).unwrap_or(u64::MAX) {
            return Err(PolicyError::Init(format!(
                "threshold {role}={n}: only {} distinct trusted keys may sign as {role:?}, so no bundle could ever pass",
                distinct.len()
            )));
        }
        if out.insert(role.clone(), *n).is_some() {
            return Err(PolicyError::Init(format!(
                "threshold {role} is given twice"
            )));
        }
    }
    Ok(out)
}

/// A TOML basic string (TOML 1.0 "String"): `"` and `\` escaped, control
/// characters as `\uXXXX`, so any name or path is one safe line.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A key: bare when TOML allows (A-Za-z0-9_-), else quoted (a role may
/// hold '.', which a bare key would read as a dotted key).
fn toml_key(s: &str) -> String {
    let bare = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if bare { s.to_owned() } else { toml_str(s) }
}

/// Words after `# `, wrapped at 78 columns.
fn comment(t: &mut String, words: &str) {
    let mut line = String::from("#");
    for word in words.split_whitespace() {
        if line.len() > 1 && line.len().saturating_add(word.len()) >= 78 {
            t.push_str(&line);
            t.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    t.push_str(&line);
    t.push('\n');
}

fn toml_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items.into_iter().map(toml_str).collect();
    format!("[{}]", quoted.join(", "))
}

/// Bytes as the most readable exact size string.
fn size_str(n: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, f) in UNITS {
        if n >= f && n.is_multiple_of(f) {
            return format!("\"{} {unit}\"", n / f);
        }
    }
    n.to_string()
}

fn render(loaded: &[Loaded], required: &[String], thresholds: &BTreeMap<String, u32>) -> String {
    let mut t = String::new();
    t.push_str(HEADER);
    let _ = writeln!(t, "version = {POLICY_VERSION}\n");
    t.push_str(KEYS_INTRO);
    for l in loaded {
        let id = l.key.key_id();
        if is_demo_key(&id) {
            comment(
                &mut t,
                "WARNING: a public demo key (keys/README.md): anyone can sign with it. Never trust it outside a demo.",
            );
        }
        let same: Vec<&str> = loaded
            .iter()
            .filter(|o| o.key.key_id() == id && o.spec.name != l.spec.name)
            .map(|o| o.spec.name.as_str())
            .collect();
        if !same.is_empty() {
            comment(
                &mut t,
                &format!(
                    "The same key as {}: it counts once towards any threshold.",
                    same.join(", ")
                ),
            );
        }
        let _ = writeln!(t, "[[keys]]");
        let _ = writeln!(t, "name = {}", toml_str(&l.spec.name));
        let _ = writeln!(t, "public_key = {}", toml_str(&l.written));
        let _ = writeln!(t, "key_id = \"{}\"", l.key.key_id());
        let _ = writeln!(
            t,
            "roles = {}\n",
            toml_list(l.spec.roles.iter().map(String::as_str))
        );
    }
    render_signatures(&mut t, required, thresholds);
    render_rules(&mut t);
    t
}

fn render_signatures(t: &mut String, required: &[String], thresholds: &BTreeMap<String, u32>) {
    t.push_str(SIGNATURES_INTRO);
    let _ = writeln!(
        t,
        "required_roles = {}",
        toml_list(required.iter().map(String::as_str))
    );
    t.push_str(UNKNOWN_SIGNERS);
    t.push_str(THRESHOLDS_INTRO);
    for role in required {
        let n = thresholds.get(role).copied().unwrap_or(1);
        let _ = writeln!(t, "{} = {n}", toml_key(role));
    }
    t.push('\n');
}

fn render_rules(t: &mut String) {
    let formats: Vec<&str> = DEFAULT_ALLOWED_FORMATS.iter().map(|f| f.as_str()).collect();
    let _ = write!(
        t,
        "{CONTENT_INTRO}allowed_formats = {}\n{CONTENT_REST}",
        toml_list(formats)
    );
    let caps = PolicyCaps::default();
    let _ = write!(
        t,
        "{CAPS_INTRO}\
         # Most entries (artifacts, SBOMs, metadata) one manifest may list.\n\
         max_entries = {}\n\
         # Largest single entry, decoded.\n\
         max_entry_bytes = {}\n\
         # Largest sum of all entries, decoded: what an import may write.\n\
         max_total_bytes = {}\n\
         # Longest entry path, in bytes (255: the common file-name limit).\n\
         max_path_bytes = {}\n\n",
        caps.max_entries,
        size_str(caps.max_entry_bytes),
        size_str(caps.max_total_bytes),
        caps.max_path_bytes,
    );
    t.push_str(TIME_AND_HISTORY);
    let others: Vec<&str> = DriftClass::ALL
        .into_iter()
        .filter(|c| !DEFAULT_DRIFT_NEEDS_ACCEPTANCE.contains(c))
        .map(DriftClass::as_str)
        .collect();
    t.push_str(DRIFT_INTRO);
    comment(
        t,
        &format!("Other classes that can be added: {}.", others.join(", ")),
    );
    let _ = writeln!(
        t,
        "require_acceptance = {}",
        toml_list(DEFAULT_DRIFT_NEEDS_ACCEPTANCE.iter().map(|c| c.as_str()))
    );
}

const HEADER: &str = "\
# lbom trust policy. docs/policy.md is the reference for every option.
#
# Written by `lbom policy init` with safe defaults. Every option is present,
# with a comment; a commented-out line shows a non-default choice. Key file
# paths are relative to this file's folder. Unknown keys are errors, so a
# misspelt option never silently keeps its default.

# The policy format version. Required: lbom refuses versions it does not know.
";

const KEYS_INTRO: &str = "\
# ---------------------------------------------------------------------------
# Trusted keys. Each: a name (shown in reports and the import log), the
# public key (public_key = \"FILE.pub\", or pem = \"\"\"...\"\"\" inline), the roles
# it may sign as, and key_id, which pins the key: if the file ever holds
# another key, the policy no longer loads. One key listed under two names
# counts once towards any threshold.
# ---------------------------------------------------------------------------

";

const SIGNATURES_INTRO: &str = "\
# ---------------------------------------------------------------------------
# Signatures: who must have signed a bundle's chain.
# ---------------------------------------------------------------------------
[signatures]
# Roles every bundle must be signed as, each by at least its threshold of
# distinct trusted keys. A bundle missing one is refused (exit 5).
";

const UNKNOWN_SIGNERS: &str = "\
# A chain link signed by a key not listed above: \"refuse\" the bundle
# (default), or \"ignore\" the link (it counts for nothing, but must still be
# well-formed and chained).
unknown_signers = \"refuse\"
# unknown_signers = \"ignore\"

";

const THRESHOLDS_INTRO: &str = "\
# Distinct trusted keys that must sign as each required role (1 or more).
# Raise a maintainer threshold to 2 for two-person release approval.
[signatures.thresholds]
";

const CONTENT_INTRO: &str = "\
# ---------------------------------------------------------------------------
# Content: rules on a fresh scan of every artifact (exit 6).
# ---------------------------------------------------------------------------
[content]
# Formats an artifact may have, as found in its bytes: gguf, safetensors,
# json, text, tiktoken, sentencepiece, pickle, pytorch-zip, code, unknown.
# The default takes a model folder's weights and harmless side files (model
# card, licence, tokenizer files, configs). Pickle-based formats (pickle,
# pytorch-zip) and code (*.py, ...) run code when loaded, and unknown
# binaries cannot be judged: they are off unless listed.
";

const CONTENT_REST: &str = "\
# allowed_formats = [\"gguf\", \"safetensors\", \"json\", \"text\", \"tiktoken\", \"sentencepiece\", \"pytorch-zip\"]

# SPDX licence ids a model may declare. Absent: any licence passes. Present:
# each id of a model's licence must be listed; an empty list allows none.
# allowed_licences = [\"Apache-2.0\", \"MIT\"]

# Findings of the fresh scan at or above this severity refuse the bundle:
# \"error\" (default), \"warning\", \"info\", or \"none\" (never).
fail_on = \"error\"
# fail_on = \"warning\"

";

const CAPS_INTRO: &str = "\
# ---------------------------------------------------------------------------
# Caps, checked against the manifest before any artifact byte is read
# (exit 6). Sizes are integers (bytes) or strings such as \"500 MB\", \"256 GiB\".
# ---------------------------------------------------------------------------
[caps]
";

const TIME_AND_HISTORY: &str = "\
# ---------------------------------------------------------------------------
# Time.
# ---------------------------------------------------------------------------
[time]
# Refuse a bundle created longer ago than this (exit 6): \"90d\", \"2 weeks\",
# \"36h\", or \"none\" for no limit.
max_age = \"90d\"
# Refuse a bundle that carries no expiry time (exit 5).
require_expiry = false
# require_expiry = true
# \"trusted\": compare created, expires and link times with this machine's
# clock. \"untrusted\": for an air-gapped station whose clock may be wrong:
# those checks become warnings, and a bundle must instead not be older than
# the version the channel holds.
clock = \"trusted\"
# clock = \"untrusted\"

# ---------------------------------------------------------------------------
# History of a channel in a store (exit 7).
# ---------------------------------------------------------------------------
[history]
# Rollback: a bundle whose sequence is lower than the channel's newest
# import, or that is an older version the store still keeps.
allow_rollback = false
# Fork: a different bundle with a sequence the channel already has, or one
# whose previous bundle is not the channel's newest.
allow_fork = false

";

const DRIFT_INTRO: &str = "\
# ---------------------------------------------------------------------------
# Drift against the channel's current version that import refuses (exit 8)
# unless the operator accepts each class by name.
# ---------------------------------------------------------------------------
[drift]
# By default, the changes that alter what a deployment runs or may run:
# file format, architecture, quantization, tokenizer, chat template,
# licence and base model. An empty list accepts all drift.
";
