//! Turn the paths a user names into the list of model files to inspect.
//!
//! Folders are walked in sorted order (so reports are stable) without
//! following symlinked folders (no loops). A symlinked *file* is followed
//! only when its target stays inside the folder being scanned: that is how
//! Hugging Face caches link `snapshots/<rev>/model.safetensors` to
//! `blobs/<sha256>`, and the report uses the link's name. `blobs/` itself
//! and `.git/` (whose LFS objects duplicate the model) are not walked.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Error, is_model_file_name};
use crate::limits::Limits;

/// One file to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path as reported (a symlink stays a symlink).
    pub path: PathBuf,
}

/// A model-named file that will not be inspected, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The path as found.
    pub path: PathBuf,
    /// Stable finding code.
    pub code: &'static str,
    /// One sentence.
    pub reason: String,
}

/// The result of expanding the user's paths.
#[derive(Debug, Default)]
pub struct Walk {
    /// Files to inspect, in order.
    pub targets: Vec<Target>,
    /// Model-named files refused, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Expand `paths`: a file is taken as named (whatever its extension); a
/// folder contributes its model files (by extension).
pub fn expand(paths: &[PathBuf], limits: &Limits) -> Result<Walk, Error> {
    let mut walk = Walk::default();
    for path in paths {
        let meta = fs::metadata(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_file() {
            walk.targets.push(Target { path: path.clone() });
        } else if meta.is_dir() {
            let root = fs::canonicalize(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let before = walk.targets.len() + walk.skipped.len();
            walk_dir(path, &root, path, limits, &mut walk)?;
            if walk.targets.len() + walk.skipped.len() == before {
                return Err(Error::NoModelFiles { path: path.clone() });
            }
        } else {
            return Err(Error::NotAFile { path: path.clone() });
        }
    }
    Ok(walk)
}

fn walk_dir(
    dir: &Path,
    root: &Path,
    top: &Path,
    limits: &Limits,
    walk: &mut Walk,
) -> Result<(), Error> {
    let io_err = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    // Never list more entries than the whole scan may visit: a folder of
    // millions of files must not be collected before the cap is checked.
    let budget = limits
        .max_files
        .saturating_sub((walk.targets.len() + walk.skipped.len()) as u64);
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err)? {
        if entries.len() as u64 >= budget {
            return Err(Error::TooManyFiles {
                path: top.to_path_buf(),
                limit: limits.max_files,
            });
        }
        entries.push(entry.map_err(io_err)?);
    }
    entries.sort_by_key(|e| e.file_name());
    let in_hub_cache = is_hub_cache_repo(dir);
    for entry in entries {
        let count = (walk.targets.len() + walk.skipped.len()) as u64;
        if count >= limits.max_files {
            return Err(Error::TooManyFiles {
                path: top.to_path_buf(),
                limit: limits.max_files,
            });
        }
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let file_type = entry.file_type().map_err(io_err)?;
        if file_type.is_dir() {
            if name == ".git" || (in_hub_cache && (name == "blobs" || name == ".no_exist")) {
                continue;
            }
            walk_dir(&path, root, top, limits, walk)?;
        } else if is_model_file_name(&name) {
            if file_type.is_symlink() {
                match link_target_inside(&path, root) {
                    Ok(true) => walk.targets.push(Target { path }),
                    Ok(false) => walk.skipped.push(Skipped {
                        path,
                        code: "path.symlink_outside",
                        reason: "symlink points outside the scanned folder; not followed".into(),
                    }),
                    Err(e) => walk.skipped.push(Skipped {
                        path,
                        code: "path.broken_symlink",
                        reason: format!("symlink cannot be resolved: {e}"),
                    }),
                }
            } else if file_type.is_file() {
                walk.targets.push(Target { path });
            } else {
                walk.skipped.push(Skipped {
                    path,
                    code: "path.not_regular",
                    reason: "not a regular file (device, FIFO or socket); not read".into(),
                });
            }
        }
    }
    Ok(())
}

/// Whether a symlink resolves to a regular file inside `root`.
fn link_target_inside(link: &Path, root: &Path) -> std::io::Result<bool> {
    let target = fs::canonicalize(link)?;
    Ok(target.starts_with(root) && fs::metadata(&target)?.is_file())
}

/// `models--org--name` folders of a Hub cache hold `blobs/` and `snapshots/`.
fn is_hub_cache_repo(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("models--"))
        && dir.join("snapshots").is_dir()
}

/// The Hub repository id (`org/name`) of a path inside a Hub cache
/// (`…/models--org--name/snapshots/<rev>/…`), if it is in one.
pub fn hub_repo_id(path: &Path) -> Option<String> {
    path.ancestors().find_map(|p| {
        let name = p.file_name()?.to_str()?;
        let rest = name.strip_prefix("models--")?;
        let parent_is_cache = p.join("snapshots").is_dir();
        parent_is_cache.then(|| rest.replacen("--", "/", 1))
    })
}

/// The commit of a Hub cache snapshot a path is in
/// (`…/models--org--name/snapshots/<rev>/…`), if it is in one.
pub fn hub_revision(path: &Path) -> Option<String> {
    path.ancestors().find_map(|p| {
        let snapshots = p.parent()?;
        let repo = snapshots.parent()?;
        let in_cache = snapshots.file_name()? == "snapshots"
            && repo.file_name()?.to_str()?.starts_with("models--");
        in_cache.then(|| p.file_name()?.to_str().map(str::to_owned))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn touch(p: &Path) -> std::io::Result<()> {
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(p, b"x")
    }

    #[test]
    fn walks_sorted_and_follows_only_inside_links() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let outside = tempfile::tempdir()?;
        let root = dir.path();
        touch(&root.join("b.gguf"))?;
        touch(&root.join("a.safetensors"))?;
        touch(&root.join("notes.txt"))?;
        touch(&root.join(".git/lfs/objects/x.gguf"))?;
        touch(&outside.path().join("secret.gguf"))?;
        symlink(outside.path().join("secret.gguf"), root.join("c.gguf"))?;
        symlink(root.join("b.gguf"), root.join("d.gguf"))?;
        let walk =
            expand(&[root.to_path_buf()], &Limits::default()).map_err(std::io::Error::other)?;
        let names: Vec<_> = walk
            .targets
            .iter()
            .filter_map(|t| t.path.file_name())
            .collect();
        assert_eq!(names, ["a.safetensors", "b.gguf", "d.gguf"]);
        assert_eq!(walk.skipped.len(), 1);
        assert_eq!(
            walk.skipped.first().map(|s| s.code),
            Some("path.symlink_outside")
        );
        Ok(())
    }

    #[test]
    fn a_folder_larger_than_the_cap_is_refused() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        for i in 0..5 {
            touch(&dir.path().join(format!("notes{i}.txt")))?;
        }
        let limits = Limits {
            max_files: 3,
            ..Limits::default()
        };
        assert!(matches!(
            expand(&[dir.path().to_path_buf()], &limits),
            Err(Error::TooManyFiles { limit: 3, .. })
        ));
        Ok(())
    }

    #[test]
    fn hub_cache_skips_blobs_and_names_repo() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let repo = dir.path().join("models--example--tiny");
        touch(&repo.join("blobs/abc"))?;
        touch(&repo.join("blobs/def.safetensors"))?;
        fs::create_dir_all(repo.join("snapshots/0123"))?;
        symlink(
            "../../blobs/abc",
            repo.join("snapshots/0123/model.safetensors"),
        )?;
        let walk = expand(&[dir.path().to_path_buf()], &Limits::default())
            .map_err(std::io::Error::other)?;
        assert_eq!(walk.targets.len(), 1);
        let target = walk
            .targets
            .first()
            .map(|t| t.path.clone())
            .unwrap_or_default();
        assert!(target.ends_with("snapshots/0123/model.safetensors"));
        assert_eq!(hub_repo_id(&target).as_deref(), Some("example/tiny"));
        assert_eq!(hub_revision(&target).as_deref(), Some("0123"));
        Ok(())
    }

    #[test]
    fn fifo_and_missing_are_refused() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("pipe.gguf");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(status.success());
        let walk = expand(&[dir.path().to_path_buf()], &Limits::default())
            .map_err(std::io::Error::other)?;
        assert_eq!(
            walk.skipped.first().map(|s| s.code),
            Some("path.not_regular")
        );
        assert!(matches!(
            expand(&[fifo], &Limits::default()),
            Err(Error::NotAFile { .. })
        ));
        assert!(matches!(
            expand(&[dir.path().join("missing")], &Limits::default()),
            Err(Error::Io { .. })
        ));
        Ok(())
    }
}
