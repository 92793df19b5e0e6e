//! Reading `lbom scan` / `l-bom scan` JSON into a side (docs/drift.md,
//! "What is compared").

use serde_json::{Map, Value};

use super::FileRecord;
use crate::inspect::facts::{Format, ModelFacts};

/// The object with every absent or null field set to its default, and a
/// format name lbom does not know replaced by `unknown`.
pub(super) fn with_defaults(
    mut object: Map<String, Value>,
    defaults: &Map<String, Value>,
) -> Map<String, Value> {
    for (key, default) in defaults {
        let missing = object.get(key).is_none_or(Value::is_null);
        if missing && !default.is_null() {
            object.insert(key.clone(), default.clone());
        }
    }
    if let Some(format) = object.get_mut("format") {
        let known = format
            .as_str()
            .map(str::to_ascii_lowercase)
            .and_then(|name| serde_json::from_value::<Format>(Value::String(name)).ok())
            .unwrap_or(Format::Unknown);
        *format = Value::String(known.as_str().to_owned());
    }
    object
}

/// Remove the directory components every model path starts with (a single
/// model keeps its file name). Both separators count: scans may come from
/// another platform.
pub(super) fn strip_common_dir(models: &mut [ModelFacts]) {
    let dirs = |p: &str| -> Vec<String> {
        let parts: Vec<&str> = p.split(['/', '\\']).collect();
        let n = parts.len().saturating_sub(1);
        parts.into_iter().take(n).map(str::to_owned).collect()
    };
    let mut common: Option<Vec<String>> = None;
    for m in models.iter() {
        let d = dirs(&m.model_path);
        common = Some(match common {
            None => d,
            Some(c) => c
                .into_iter()
                .zip(d)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    let strip = common.map_or(0, |c| c.len());
    if strip == 0 {
        return;
    }
    for m in models.iter_mut() {
        let rest: Vec<&str> = m.model_path.split(['/', '\\']).skip(strip).collect();
        m.model_path = rest.join("/");
    }
}

/// The files a scanned model stands for.
pub(super) fn model_files(m: &ModelFacts) -> Vec<FileRecord> {
    if let Some(sha256) = m.sha256 {
        return vec![FileRecord {
            path: m.model_path.clone(),
            sha256,
            size: m.file_size_bytes,
        }];
    }
    // A grouped model is named by its first shard: the others sit beside it.
    let dir = match m.model_path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/"),
        None => String::new(),
    };
    m.shards
        .iter()
        .filter_map(|s| {
            Some(FileRecord {
                path: format!("{dir}{}", s.filename),
                sha256: s.sha256?,
                size: s.file_size_bytes,
            })
        })
        .collect()
}
