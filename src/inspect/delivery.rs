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
use super::walk::hub_repo_id;

/// Apply each file's folder context (and a Hub cache's repository name)
/// to the files, in place.
pub fn apply_folders(files: &mut [Inspected], sides: &SideFiles) {
    let mut contexts: HashMap<PathBuf, Option<FolderContext>> = HashMap::new();
    for file in files.iter_mut() {
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
            if file.facts.name.is_none() {
                file.facts.name = Some(repo.clone());
            }
            file.facts
                .metadata
                .insert("hf_repo_id".into(), Value::String(repo));
        }
    }
}

/// The models of these inspected files: folder contexts applied, shards
/// grouped (as `scan` reports them).
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
pub fn describe_files(files: Vec<(String, ModelFacts)>, sides: &SideFiles) -> Vec<ModelFacts> {
    let mut models = Vec::new();
    let mut others = Vec::new();
    for (path, mut facts) in files {
        facts.model_path = path.clone();
        if is_model(&facts) {
            models.push(Inspected {
                path: PathBuf::from(path),
                facts,
            });
        } else {
            others.push(facts);
        }
    }
    let mut out = describe(models, sides);
    // Grouping names a model by its first shard's path as written.
    for m in &mut out {
        m.model_path = m.model_path.replace('\\', "/");
    }
    out.extend(others);
    out
}
