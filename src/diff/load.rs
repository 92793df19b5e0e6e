//! A [`Side`] from a bundle's manifest and the models described from it:
//! what `diff` and an import's drift gate compare. Reading a side from what
//! is on disk (a store, a kept version, a bundle, a scan JSON) is the
//! store's job: `crate::import::sides`.

use super::{FileRecord, Side};
use crate::bundle::{Manifest, Role};
use crate::inspect::facts::ModelFacts;

/// The artifacts of `manifest` as files, and `models` (the delivery's
/// models, described as `scan` describes a folder, with paths relative to
/// the delivery).
pub fn side_of_bundle(
    label: impl Into<String>,
    manifest: &Manifest,
    models: Vec<ModelFacts>,
) -> Side {
    let files = manifest
        .entries
        .iter()
        .filter(|e| e.role == Role::Artifact)
        .filter_map(|e| {
            Some(FileRecord {
                path: e.artifact_path()?.as_str().to_owned(),
                sha256: e.sha256,
                size: e.size,
            })
        })
        .collect();
    Side::from_facts(label, files, models)
}
