//! Links swapped in while an import or a rollback runs (docs/store.md, "No
//! link is ever followed"): a thread replaces a store path with a link to
//! an outside canary folder, puts the real entry back, and does it again,
//! for as long as the writer runs. Every store path of a committed store
//! (one per kind of `paths::STORE_PATHS`) and the import's own staging
//! folder are attacked in turn. Whatever the writer's outcome, the canary
//! is never touched: the writer works through the folder handles it opened
//! and never resolves a path through a link.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::*;

/// Writers run per attacked path: enough for swaps to land mid-import
/// (each import takes thousands of swap cycles), bounded for the suite.
const ROUNDS: usize = 4;

fn copy_tree(from: &Path, to: &Path) -> R {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cp -a {} {} failed", from.display(), to.display()).into())
    }
}

/// Everything below `root`: (relative path, kind, size, content or link
/// target), links never followed.
fn listing(root: &Path) -> Result<Vec<(PathBuf, String, Vec<u8>)>, BoxError> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let meta = fs::symlink_metadata(&path)?;
            let rel = path.strip_prefix(root)?.to_path_buf();
            let mode = format!("{:o}", meta.permissions().mode());
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path)?;
                out.push((
                    rel,
                    format!("link {mode}"),
                    target.into_os_string().into_encoded_bytes(),
                ));
            } else if meta.is_dir() {
                todo.push(path.clone());
                out.push((rel, format!("dir {mode}"), Vec::new()));
            } else {
                out.push((rel, format!("file {mode}"), fs::read(&path)?));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The entry to swap: a fixed path, or whatever the staging folder holds
/// (the import's own folder, whose name is random).
#[derive(Debug, Clone)]
enum Swapped {
    Path(String),
    Staged,
}

/// Swap a link to `canary` in for `store/target` until `stop`; returns how
/// many times the link was in place. Errors are expected (the writer moves
/// things too) and ignored: only the canary's fate is judged.
fn swapper(
    store: PathBuf,
    target: Swapped,
    canary: PathBuf,
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::Relaxed) {
        let path = match &target {
            Swapped::Path(rel) => store.join(rel),
            Swapped::Staged => {
                let found = fs::read_dir(store.join(layout::STAGING))
                    .ok()
                    .and_then(|mut d| d.next())
                    .and_then(Result::ok)
                    .map(|e| e.path());
                match found {
                    Some(p) if !p.to_string_lossy().ends_with(".swapped") => p,
                    _ => {
                        std::thread::yield_now();
                        continue;
                    }
                }
            }
        };
        let moved = path.with_file_name(format!(
            "{}.swapped",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        if fs::rename(&path, &moved).is_ok() {
            if std::os::unix::fs::symlink(&canary, &path).is_ok() {
                swaps.fetch_add(1, Ordering::Relaxed);
            }
            for _ in 0..20 {
                std::thread::yield_now();
            }
            if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                let _ = fs::remove_file(&path);
            }
            let _ = fs::rename(&moved, &path);
        }
        std::thread::yield_now();
    }
}

#[test]
fn a_link_swapped_in_during_an_import_or_rollback_is_never_followed() -> R {
    let dir = tempfile::tempdir()?;
    let (v1, v2) = two_versions(dir.path())?;
    let pristine = dir.path().join("pristine");
    committed(run_import(&v1, &pristine)?)?;
    // One concrete path per listed kind of path (the first found).
    let mut targets: Vec<Swapped> = Vec::new();
    let mut patterns = std::collections::BTreeSet::new();
    let mut found = store_entries(&pristine)?;
    found.sort_by_key(|(rel, _)| rel.len());
    for (rel, kind) in found {
        let listed = paths::classify(&rel, kind).ok_or(format!("{rel} is not listed"))?;
        if patterns.insert((listed.pattern, format!("{:?}", listed.kind))) {
            targets.push(Swapped::Path(rel));
        }
    }
    targets.push(Swapped::Staged);
    let canary = dir.path().join("canary");
    fs::create_dir_all(canary.join("forged/files"))?;
    fs::write(canary.join("keep.txt"), b"canary: must not change")?;
    fs::write(
        canary.join("forged/files/config.json"),
        b"{\"forged\":true}",
    )?;
    let before = listing(&canary)?;
    let mut total_swaps = 0;
    for (t, target) in targets.iter().enumerate() {
        for round in 0..ROUNDS {
            let store = dir.path().join(format!("store-{t}-{round}"));
            copy_tree(&pristine, &store)?;
            let stop = Arc::new(AtomicBool::new(false));
            let swaps = Arc::new(AtomicU64::new(0));
            let thread = {
                let (store, target, canary) = (store.clone(), target.clone(), canary.clone());
                let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
                std::thread::spawn(move || swapper(store, target, canary, stop, swaps))
            };
            // Any outcome is allowed but following the link.
            let imported = run_import(&v2, &store);
            let rolled = Store::open(&store)
                .and_then(|s| s.lock())
                .and_then(|l| rollback(&l, "stable", 1, jiff::Timestamp::UNIX_EPOCH));
            stop.store(true, Ordering::Relaxed);
            thread.join().map_err(|_| "swapper panicked")?;
            total_swaps += swaps.load(Ordering::Relaxed);
            if listing(&canary)? != before {
                return Err(format!(
                    "{target:?} round {round}: the canary changed (import: {:?}, rollback: {:?})",
                    imported.map(|_| ()),
                    rolled.map(|_| ())
                )
                .into());
            }
        }
    }
    // The attack ran: links were in place many times over.
    assert!(
        total_swaps > (targets.len() * ROUNDS) as u64,
        "only {total_swaps} swaps for {} targets",
        targets.len()
    );
    Ok(())
}
