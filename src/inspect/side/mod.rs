//! Side files: the files next to a model's weights that decide how it is
//! used — its tokenizer, chat templates, configuration, model card and
//! licence (docs/scan-report.md, "Folder models"; docs/drift.md, "What
//! each class is computed from").
//!
//! A side file is known by its path inside the model's folder ([`role_of`]).
//! Every reader of a delivery describes it the same way: `scan` reads the
//! folder on disk ([`SideFiles::read_folder`]), `verify` the bundle's
//! entries as they stream, `diff` a stored version's files. Each hands
//! [`SideFiles::add`] the file's path, its SHA-256 and, for a file lbom
//! parses, its bytes as [`Role::capture`] asks; what the file says is
//! extracted at once ([`extract`]), so only small facts are kept. The
//! folder's [`crate::inspect::hf::FolderContext`] is then built from them.

mod extract;
pub(crate) mod json;
mod keys;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::facts::Finding;
use crate::io::digest::{Hasher, Sha256Digest};
use crate::io::open::open_regular;
use crate::limits::Limits;

pub use extract::{ConfigSays, Says, TemplateSays};
pub(crate) use extract::{ShardIndex, extract};

/// What a side file is for, decided from its name in the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `config.json`: architecture, context length, vocabulary size,
    /// dtype, quantization config.
    Config,
    /// `tokenizer_config.json`: tokenizer settings, and perhaps the chat
    /// template(s) under `chat_template`.
    TokenizerConfig,
    /// `generation_config.json` (noted as present).
    GenerationConfig,
    /// `chat_template.jinja`: the default chat template.
    ChatTemplate,
    /// `chat_template.json`: `{"chat_template": …}`.
    ChatTemplateJson,
    /// `processor_config.json` or `preprocessor_config.json`: a multimodal
    /// processor's settings, and perhaps its chat template(s) under
    /// `chat_template` (transformers reads a template from either).
    ProcessorConfig,
    /// `additional_chat_templates/<name>.jinja`: a named chat template.
    NamedTemplate,
    /// A file that decides how text becomes token ids ([`TOKENIZER_FILES`],
    /// `*.tiktoken`, and the custom tokenizer code `tokenization_*.py`).
    Tokenizer,
    /// Custom model code a loader runs with `trust_remote_code`
    /// (`modeling_*.py`, `configuration_*.py`): it defines the architecture.
    ModelCode,
    /// `README.md`: the model card's front matter.
    Card,
    /// `LICENSE`, `LICENCE`, `LICENSE.txt`, …: the licence text.
    Licence,
    /// `*.safetensors.index.json`: which shard holds which tensor.
    ShardIndex,
}

/// Files whose bytes decide how text becomes token ids, besides
/// `tokenizer_config.json` and `*.tiktoken` (transformers' vocabulary
/// file names: fast and slow tokenizers, sentencepiece models, BPE files).
pub const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
];

/// The folder of named chat templates (transformers ≥ 4.54).
pub const NAMED_TEMPLATE_DIR: &str = "additional_chat_templates";

/// How much of a side file a reader hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureRule {
    /// Nothing: the digest is all lbom uses.
    Digest,
    /// The whole file when it is at most this many bytes; otherwise
    /// nothing (the file is then reported as not read).
    Whole(u64),
    /// The first bytes, at most this many (the card's front matter is at
    /// its start).
    Prefix(u64),
}

impl Role {
    /// What a reader must hand over for the side file `name` of this role.
    /// A JSON file lbom only hashes is still captured (up to
    /// `side_file_max_bytes`) so that its keys are checked (keys.rs).
    pub fn capture(self, name: &str, limits: &Limits) -> CaptureRule {
        match self {
            Role::Tokenizer | Role::GenerationConfig if keys::is_json(name) => {
                CaptureRule::Whole(limits.side_file_max_bytes)
            }
            Role::Tokenizer | Role::ModelCode | Role::Licence | Role::GenerationConfig => {
                CaptureRule::Digest
            }
            Role::Config => CaptureRule::Whole(limits.side_tree_max_bytes),
            Role::Card => CaptureRule::Prefix(limits.side_tree_max_bytes),
            Role::TokenizerConfig
            | Role::ChatTemplate
            | Role::ChatTemplateJson
            | Role::ProcessorConfig
            | Role::NamedTemplate
            | Role::ShardIndex => CaptureRule::Whole(limits.side_file_max_bytes),
        }
    }
}

/// The role of a file name directly in a model folder.
fn role_of_name(name: &str) -> Option<Role> {
    let lower = name.to_ascii_lowercase();
    Some(match name {
        "config.json" => Role::Config,
        "tokenizer_config.json" => Role::TokenizerConfig,
        "generation_config.json" => Role::GenerationConfig,
        "chat_template.jinja" => Role::ChatTemplate,
        "chat_template.json" => Role::ChatTemplateJson,
        "processor_config.json" | "preprocessor_config.json" => Role::ProcessorConfig,
        "README.md" => Role::Card,
        n if TOKENIZER_FILES.contains(&n) => Role::Tokenizer,
        n if n.ends_with(".tiktoken") && n.len() > ".tiktoken".len() => Role::Tokenizer,
        n if n.starts_with("tokenization_") && n.ends_with(".py") => Role::Tokenizer,
        n if (n.starts_with("modeling_") || n.starts_with("configuration_"))
            && n.ends_with(".py") =>
        {
            Role::ModelCode
        }
        n if n.ends_with(".safetensors.index.json") => Role::ShardIndex,
        _ if lower.starts_with("license") || lower.starts_with("licence") => Role::Licence,
        _ => return None,
    })
}

/// A side file's folder, its name inside that folder (a named template
/// keeps its `additional_chat_templates/` part) and its role; `None` for a
/// file that is not a side file.
pub fn role_of(path: &Path) -> Option<(PathBuf, String, Role)> {
    let file = path.file_name()?.to_str()?;
    let parent = path.parent().unwrap_or_else(|| Path::new(""));
    if parent.file_name().and_then(|n| n.to_str()) == Some(NAMED_TEMPLATE_DIR)
        && file.ends_with(".jinja")
        && file.len() > ".jinja".len()
    {
        let folder = parent.parent().unwrap_or_else(|| Path::new(""));
        return Some((
            folder.to_path_buf(),
            format!("{NAMED_TEMPLATE_DIR}/{file}"),
            Role::NamedTemplate,
        ));
    }
    Some((parent.to_path_buf(), file.to_owned(), role_of_name(file)?))
}

/// What a reader hands over with a side file's digest.
#[derive(Debug, Clone, Copy)]
pub enum Capture<'a> {
    /// Nothing: a digest-only role, or a file over its [`CaptureRule`].
    Nothing,
    /// The whole file.
    Whole(&'a [u8]),
    /// The first bytes of a longer file ([`CaptureRule::Prefix`]).
    Prefix(&'a [u8]),
}

/// One side file as read: its name in the folder, role, SHA-256 of the
/// whole file, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct SideFile {
    /// Its path inside the model folder (`tokenizer.json`,
    /// `additional_chat_templates/tool_use.jinja`).
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// SHA-256 of its bytes.
    pub sha256: Sha256Digest,
    /// What lbom read from it.
    pub says: Says,
    /// Problems with its keys (a JSON file only: keys.rs).
    pub key_findings: Vec<Finding>,
}

/// What one [`SideFile`] costs besides its name and what it says: the
/// entry, its place in its folder's list, and its folder's map entry.
const SIDE_FILE_BYTES: u64 = size_of::<SideFile>() as u64 + 64;

/// About how many bytes of memory `findings` hold: the list's capacity,
/// and each finding's strings with what the allocator adds to each.
fn findings_bytes(findings: &Vec<Finding>) -> u64 {
    let list = (findings.capacity() * size_of::<Finding>()) as u64 + 16;
    findings
        .iter()
        .map(|f| (f.code.capacity() + f.message.capacity()) as u64 + 32)
        .sum::<u64>()
        .saturating_add(list)
}

/// The side files of every folder of a delivery, by folder.
#[derive(Debug, Clone, Default)]
pub struct SideFiles {
    folders: BTreeMap<PathBuf, Vec<SideFile>>,
    /// Bytes of what the files said, kept so far (see [`SideFiles::add`]).
    kept: u64,
}

impl SideFiles {
    /// Record the side file at `path` (ignored when it is not one), with
    /// its digest and what the reader captured of it.
    pub fn add(
        &mut self,
        path: &Path,
        sha256: Sha256Digest,
        capture: Capture<'_>,
        limits: &Limits,
    ) {
        let Some((folder, name, role)) = role_of(path) else {
            return;
        };
        let mut key_findings = match capture {
            _ if !keys::is_json(&name) => Vec::new(),
            Capture::Whole(bytes) => keys::key_findings(&name, bytes),
            Capture::Nothing | Capture::Prefix(_) => {
                vec![keys::unchecked_finding(&name, limits.side_file_max_bytes)]
            }
        };
        let mut says = extract(&name, role, &sha256, capture, limits);
        // What a delivery's side files say is kept for all of them at once:
        // past `side_facts_max_bytes`, a file is known by its digest alone
        // (a template keeps its digest, any other file is "not read") and
        // its key findings by one line, so a bundle of a million folders
        // cannot grow this without bound. Everything kept is counted: the
        // facts, the key findings, the entry itself and its folder's.
        key_findings.shrink_to_fit();
        let size = |says: &Says, findings: &Vec<Finding>| {
            says.kept_bytes()
                .saturating_add(findings_bytes(findings))
                .saturating_add(SIDE_FILE_BYTES)
                .saturating_add(2 * name.len() as u64)
                .saturating_add(folder.as_os_str().len() as u64)
        };
        if self.kept.saturating_add(size(&says, &key_findings)) > limits.side_facts_max_bytes {
            says = says.shed(&name, limits.side_facts_max_bytes);
            key_findings = keys::shed(&name, key_findings);
            key_findings.shrink_to_fit();
        }
        self.kept = self.kept.saturating_add(size(&says, &key_findings));
        self.folders.entry(folder).or_default().push(SideFile {
            name,
            role,
            sha256,
            says,
            key_findings,
        });
    }

    /// Record a side file another reader already read (the same path and
    /// bytes say the same thing).
    pub fn add_read(&mut self, path: &Path, file: SideFile) {
        if let Some((folder, _, _)) = role_of(path) {
            self.folders.entry(folder).or_default().push(file);
        }
    }

    /// The side file at `path` with SHA-256 `sha256`, if one was read.
    pub fn same_file(&self, path: &Path, sha256: &Sha256Digest) -> Option<&SideFile> {
        let (folder, name, _) = role_of(path)?;
        self.folder(&folder)
            .iter()
            .find(|f| f.name == name && f.sha256 == *sha256)
    }

    /// The side files of `folder`, in the order added.
    pub fn folder(&self, folder: &Path) -> &[SideFile] {
        self.folders.get(folder).map_or(&[], Vec::as_slice)
    }

    /// Read the side files of `folder` on disk (and of its
    /// `additional_chat_templates/`), each in one pass: hashed whole, and
    /// captured as its role asks. Files that cannot be read are left out,
    /// as a folder without them.
    pub fn read_folder(&mut self, folder: &Path, limits: &Limits) {
        let mut paths = names_in(folder);
        let named = folder.join(NAMED_TEMPLATE_DIR);
        let named_is_dir = std::fs::symlink_metadata(&named).is_ok_and(|m| m.is_dir());
        if named_is_dir {
            paths.extend(names_in(&named));
        }
        for path in paths {
            let Some((_, name, role)) = role_of(&path) else {
                continue;
            };
            if let Ok((digest, kept)) = read_side_file(&path, role.capture(&name, limits)) {
                self.add(&path, digest, kept.as_capture(), limits);
            }
        }
    }
}

/// Paths of the entries of `dir` that may be side files, sorted. The empty
/// folder is the current directory (the folder of a file named without
/// one, `lbom scan model.safetensors`): its entries keep paths without a
/// folder part, so they land in the same folder as that file.
fn names_in(dir: &Path) -> Vec<PathBuf> {
    let here = dir.as_os_str().is_empty();
    let Ok(entries) = std::fs::read_dir(if here { Path::new(".") } else { dir }) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| {
            if here {
                dir.join(e.file_name())
            } else {
                e.path()
            }
        })
        .filter(|p| role_of(p).is_some())
        .collect();
    out.sort();
    out
}

/// Bytes kept from a file read on disk.
pub enum Kept {
    /// None (a digest-only role, or a file over its rule).
    Nothing,
    /// The whole file.
    Whole(Vec<u8>),
    /// The first bytes of a longer file.
    Prefix(Vec<u8>),
}

impl Kept {
    /// The capture these bytes are.
    pub fn as_capture(&self) -> Capture<'_> {
        match self {
            Kept::Nothing => Capture::Nothing,
            Kept::Whole(b) => Capture::Whole(b),
            Kept::Prefix(b) => Capture::Prefix(b),
        }
    }
}

/// Hash a file whole in one read and keep what `rule` asks for.
pub fn read_side_file(path: &Path, rule: CaptureRule) -> std::io::Result<(Sha256Digest, Kept)> {
    let (file, len) = open_regular(path)?;
    read_capturing(file, len, rule)
}

/// [`read_side_file`] on any reader of (about) `len` bytes.
pub fn read_capturing(
    mut reader: impl Read,
    len: u64,
    rule: CaptureRule,
) -> std::io::Result<(Sha256Digest, Kept)> {
    let keep_max = match rule {
        CaptureRule::Digest => 0,
        CaptureRule::Whole(max) if len <= max => max,
        CaptureRule::Whole(_) => 0,
        CaptureRule::Prefix(max) => max,
    };
    let mut kept = Vec::with_capacity(usize::try_from(len.min(keep_max)).unwrap_or(0));
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        let room = usize::try_from(keep_max.saturating_sub(kept.len() as u64)).unwrap_or(0);
        kept.extend_from_slice(chunk.get(..room.min(n)).unwrap_or_default());
    }
    let all_kept = hasher.bytes() == kept.len() as u64;
    let kept = match rule {
        CaptureRule::Digest => Kept::Nothing,
        CaptureRule::Whole(_) if all_kept && (keep_max > 0 || kept.is_empty()) => Kept::Whole(kept),
        CaptureRule::Whole(_) => Kept::Nothing,
        CaptureRule::Prefix(_) if all_kept => Kept::Whole(kept),
        CaptureRule::Prefix(_) => Kept::Prefix(kept),
    };
    Ok((hasher.finish(), kept))
}

/// Read size for side files (small files; a large one is only hashed).
const READ_CHUNK_BYTES: usize = 64 << 10;

/// A drift class that a side-file metadata key feeds (docs/drift.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feeds {
    Architecture,
    Quantization,
    Tokenizer,
    /// `chat_template`.
    ChatTemplate,
    Licence,
    /// `base_model`.
    BaseModel,
    /// `context_length`.
    ContextLength,
    /// `vocab_size`.
    VocabSize,
}

/// Prefix of the metadata keys a folder adds for its side files:
/// `side:<name>` (a whole file's SHA-256) and `side:<name>#<member>`.
pub const KEY_PREFIX: &str = "side:";

/// Member suffix of the key of a parsed side file that was not read (too
/// large, not JSON): its digest feeds every class the file could.
pub const UNREAD: &str = "#unread";

/// The classes the side-file key `key` feeds; empty for any other key.
pub fn feeds(key: &str) -> &'static [Feeds] {
    use Feeds::*;
    let Some(rest) = key.strip_prefix(KEY_PREFIX) else {
        return &[];
    };
    let (name, member) = match rest.split_once('#') {
        Some((n, m)) => (n, Some(m)),
        None => (rest, None),
    };
    let Some((_, _, role)) = role_of(Path::new(name)) else {
        return &[];
    };
    match (role, member) {
        (Role::Config, Some("unread")) => &[Architecture, Quantization, ContextLength, VocabSize],
        (Role::TokenizerConfig, Some("unread")) => &[Tokenizer, ChatTemplate, ContextLength],
        (Role::TokenizerConfig, Some("chat_template")) => &[ChatTemplate],
        (Role::TokenizerConfig, None) | (Role::Tokenizer, None) => &[Tokenizer],
        (Role::ChatTemplate | Role::ChatTemplateJson | Role::NamedTemplate, _) => &[ChatTemplate],
        (Role::ProcessorConfig, Some("chat_template" | "unread")) => &[ChatTemplate],
        (Role::ModelCode, None) => &[Architecture],
        (Role::Card, Some("unread")) => &[Licence, BaseModel],
        (Role::Card, Some("license" | "license_name" | "license_link")) => &[Licence],
        (Role::Card, Some("base_model")) => &[BaseModel],
        (Role::Licence, None) => &[Licence],
        _ => &[],
    }
}

/// The folder-relative file a side-file key names, if it is one.
pub fn key_file(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    Some(rest.split_once('#').map_or(rest, |(n, _)| n))
}

/// A finding about a side file itself.
pub(crate) fn unread_finding(name: &str, why: &str) -> Finding {
    Finding::warning(
        "hf.side_file_unread",
        format!("{name} was not read ({why}); its digest stands for everything it could say"),
    )
}

#[cfg(test)]
mod tests;
