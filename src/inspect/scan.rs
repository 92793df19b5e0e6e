//! `lbom scan`: expand paths, inspect files in parallel, add folder
//! context, group shards.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::delivery::{apply_folders, name_hub_repo};
use super::facts::{Finding, ModelFacts};
use super::group::{Inspected, group_scanned};
use super::side::SideFiles;
use super::walk;
use super::{Error, ScanOptions, inspect_file};
use crate::limits::Limits;

/// Receives progress from a scan running on several threads. The library
/// never draws anything; the CLI turns these calls into a progress bar.
pub trait Progress: Sync {
    /// The scan will read `files` files holding `bytes` bytes.
    fn begin(&self, _files: u64, _bytes: u64) {}
    /// `bytes` more bytes were read.
    fn advance(&self, _bytes: u64) {}
    /// One file is done.
    fn file_done(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// Scan `paths` (files or folders) and return one entry per model, in the
/// order found. Files are hashed in parallel on `options.jobs` threads.
pub fn scan(
    paths: &[PathBuf],
    options: &ScanOptions,
    limits: &Limits,
    progress: &dyn Progress,
) -> Result<Vec<ModelFacts>, Error> {
    let walk = walk::expand(paths, limits)?;
    // Files the user named one by one (not found in a folder): each is
    // described as that file unless all its shards were named too.
    let named: BTreeSet<PathBuf> = paths
        .iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        .cloned()
        .collect();
    let sizes: u64 = walk
        .targets
        .iter()
        .filter_map(|t| std::fs::metadata(&t.path).ok())
        .map(|m| m.len())
        .fold(0u64, u64::saturating_add);
    progress.begin(
        walk.targets.len() as u64,
        if options.hash { sizes } else { 0 },
    );

    let jobs = options
        .jobs
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Io {
            path: PathBuf::from("."),
            source: std::io::Error::other(e),
        })?;
    let inspected: Vec<Result<Inspected, Error>> = pool.install(|| {
        walk.targets
            .par_iter()
            .map(|t| {
                let facts = inspect_file(&t.path, options, limits, &mut |n| {
                    if options.hash {
                        progress.advance(n)
                    }
                })?;
                progress.file_done();
                Ok(Inspected {
                    path: t.path.clone(),
                    facts,
                })
            })
            .collect()
    });
    let mut files = inspected.into_iter().collect::<Result<Vec<_>, _>>()?;

    let mut sides = SideFiles::default();
    let dirs: BTreeSet<PathBuf> = files
        .iter()
        .map(|f| f.path.parent().map(Path::to_path_buf).unwrap_or_default())
        .collect();
    for dir in &dirs {
        sides.read_folder(dir, limits);
    }
    apply_folders(&mut files, &sides);
    // A file named relative to a Hub cache snapshot (`lbom scan
    // model.safetensors` inside it) is in the cache all the same: its
    // folder is resolved on disk, so the report does not depend on the
    // current directory.
    for file in &mut files {
        if file.facts.metadata.contains_key("hf_repo_id") {
            continue;
        }
        let folder = match file.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(abs) = std::fs::canonicalize(folder)
            && let Some(repo) = walk::hub_repo_id(&abs)
        {
            name_hub_repo(&mut file.facts, repo, walk::hub_revision(&abs));
        }
    }
    for skipped in walk.skipped {
        let mut facts = ModelFacts {
            model_path: skipped.path.display().to_string(),
            model_filename: skipped
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..ModelFacts::default()
        };
        facts.push(Finding::error(skipped.code, skipped.reason));
        files.push(Inspected {
            path: skipped.path,
            facts,
        });
    }
    Ok(group_scanned(files, &sides, &named))
}
