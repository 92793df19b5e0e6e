//! A delivery's models, described once for every reader: `scan` of a
//! folder, `verify` of a bundle, `diff` of a stored version. Each reader
//! inspects the files it has (each file alone) and collects the side files
//! ([`SideFiles`]); [`describe`] then applies each folder's side files to
//! its model files and groups shards into models, so a Hugging Face
//! folder is one model with its tokenizer and templates whichever reader
//! saw it (docs/scan-report.md, "Folder models").

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::facts::{Format, ModelFacts};
use super::group::{Inspected, group};
use super::hf::FolderContext;
use super::side::SideFiles;
use super::walk::{hub_repo_id, hub_revision};

/// Apply each file's folder context (and a Hub cache's repository name)
/// to the files, in place.
pub fn apply_folders(files: &mut [Inspected], sides: &SideFiles) {
    // No limit: the result cannot be over it.
    let _ = apply_folders_within(files, sides, u64::MAX);
}

/// [`apply_folders`], counting what the contexts add to the files' facts
/// ([`ModelFacts::memory_bytes`]) as each is applied: `Err` as soon as the
/// total is over `limit` (a folder's context is copied into each of its
/// model files, so a folder of many side files and many model files would
/// otherwise grow with their product). `Ok` with the bytes added.
fn apply_folders_within(
    files: &mut [Inspected],
    sides: &SideFiles,
    limit: u64,
) -> Result<u64, DescribeTooLarge> {
    let mut contexts: HashMap<PathBuf, Option<FolderContext>> = HashMap::new();
    let mut added: u64 = 0;
    let counted = limit != u64::MAX;
    for file in files.iter_mut() {
        let before = if counted {
            file.facts.memory_bytes()
        } else {
            0
        };
        let dir = file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let ctx = contexts
            .entry(dir.clone())
            .or_insert_with(|| FolderContext::from_side_files(sides.folder(&dir)));
        if let Some(ctx) = ctx {
            ctx.apply(&mut file.facts);
        }
        if let Some(repo) = hub_repo_id(&file.path) {
            name_hub_repo(&mut file.facts, repo, hub_revision(&file.path));
        }
        if counted {
            added = added.saturating_add(file.facts.memory_bytes().saturating_sub(before));
            if added > limit {
                return Err(DescribeTooLarge { added, limit });
            }
        }
    }
    Ok(added)
}

/// Record the Hub repository (`org/name`) a file's cache folder names: its
/// `hf_repo_id` and the snapshot's commit (`hf_revision`), and its name
/// when the file has none.
pub fn name_hub_repo(facts: &mut ModelFacts, repo: String, revision: Option<String>) {
    if facts.name.is_none() {
        facts.name = Some(repo.clone());
    }
    facts
        .metadata
        .insert("hf_repo_id".into(), Value::String(repo));
    if let Some(rev) = revision {
        facts
            .metadata
            .insert("hf_revision".into(), Value::String(rev));
    }
}

/// Describing a delivery's models would add more than the limit to its
/// files' scans (docs/bundle-format.md, "Reader limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "describing the folder models adds at least {added} bytes to the files' scans (side files applied to each model file, shards merged), more than the {limit}-byte reader limit"
)]
pub struct DescribeTooLarge {
    /// Bytes added when the limit was passed.
    pub added: u64,
    /// The limit (`Limits::folder_context_max_bytes`).
    pub limit: u64,
}

/// The models of these inspected files: folder contexts applied, shards
/// grouped (as `scan` reports them).
#[cfg(any(test, feature = "internals"))]
pub fn describe(mut files: Vec<Inspected>, sides: &SideFiles) -> Vec<ModelFacts> {
    apply_folders(&mut files, sides);
    group(files, sides)
}

/// Whether a file is a model: its bytes are a model format, or its name
/// claims one (what a folder scan inspects).
pub fn is_model(facts: &ModelFacts) -> bool {
    matches!(
        facts.format,
        Format::Gguf | Format::Safetensors | Format::Pickle | Format::PytorchZip
    ) || super::is_model_file_name(&facts.model_filename)
}

/// The models of a delivery whose every file was inspected alone (a
/// bundle's artifacts, a stored version's recorded scans), by the path of
/// each file relative to the delivery: the model files described as
/// [`describe`] does, the other files (side files, documents) kept as
/// inspected, so a change of their format or findings is still seen.
///
/// The files are taken, not copied, and what describing adds to them (the
/// folder contexts, the shards merged) is at most `limit` bytes more than
/// they took ([`ModelFacts::memory_bytes`]); past it, `Err`: a context left
/// out would hide drift, so the delivery is refused instead.
pub fn describe_files(
    files: Vec<(String, ModelFacts)>,
    sides: &SideFiles,
    limit: u64,
) -> Result<Vec<ModelFacts>, DescribeTooLarge> {
    let mut models = Vec::new();
    let mut others = Vec::new();
    let mut before: u64 = 0;
    for (path, mut facts) in files {
        facts.model_path = path.clone();
        before = before.saturating_add(facts.memory_bytes());
        if is_model(&facts) {
            models.push(Inspected {
                path: PathBuf::from(path),
                facts,
            });
        } else {
            others.push(facts);
        }
    }
    apply_folders_within(&mut models, sides, limit)?;
    let mut out = group(models, sides);
    // Grouping names a model by its first shard's path as written.
    for m in &mut out {
        m.model_path = m.model_path.replace('\\', "/");
    }
    out.extend(others);
    let after = out.iter().map(ModelFacts::memory_bytes).sum::<u64>();
    let added = after.saturating_sub(before);
    if added > limit {
        return Err(DescribeTooLarge { added, limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::side::Capture;
    use crate::io::digest::Sha256Digest;
    use crate::limits::Limits;

    /// A folder's context is copied into each of its model files: what that
    /// adds is counted as it is applied, and past the limit the delivery
    /// is refused (a folder of n side files and n model files would
    /// otherwise grow with n²).
    #[test]
    fn what_describing_adds_is_bounded() {
        let limits = Limits::default();
        let mut sides = SideFiles::default();
        for i in 0..200 {
            sides.add(
                Path::new(&format!("m/LICENSE-{i:03}")),
                Sha256Digest::of(&[i as u8]),
                Capture::Nothing,
                &limits,
            );
        }
        let files = || -> Vec<(String, ModelFacts)> {
            (0..200)
                .map(|i| {
                    let name = format!("m-{i:03}.safetensors");
                    let facts = ModelFacts {
                        model_filename: name.clone(),
                        format: Format::Safetensors,
                        ..ModelFacts::default()
                    };
                    (format!("m/{name}"), facts)
                })
                .collect()
        };
        let all = describe_files(files(), &sides, u64::MAX);
        assert_eq!(all.as_ref().map(Vec::len), Ok(200));
        // Each model holds every licence's key: 200 × 200 entries.
        assert!(
            all.as_ref()
                .is_ok_and(|m| m.iter().all(|f| f.metadata.len() >= 200))
        );
        match describe_files(files(), &sides, 1 << 20) {
            Err(e) => assert!(e.added > 1 << 20 && e.limit == 1 << 20, "{e}"),
            Ok(_) => panic!("a description over its limit was kept"),
        }
    }
}
