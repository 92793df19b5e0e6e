//! A file named on the command line is described as that file
//! (docs/scan-report.md, "Split and sharded models"): every real GGUF and
//! safetensors fixture (written by the Python `gguf` and `safetensors`
//! packages, the split GGUF by GGUFWriter's own splitting) is scanned
//! alone by absolute path, by bare name from its own folder, by a relative
//! path from its parent and from an unrelated current directory, and as
//! part of its folder and of the whole fixture tree. Every way gives the
//! same facts, and its `sha256` is coreutils' `sha256sum` of the file.
//! A shard named alone is never reported missing siblings that sit beside
//! it, and a GGUF shard after the first gets no quantization.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{TestResult, fail, fixture, lbom, run_bounded};
use serde_json::Value;

/// Top-level fixture folders holding GGUF and safetensors files.
const TREES: &[&str] = &["gguf", "safetensors", "hf-cache", "drift", "misc"];

fn model_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type()?.is_dir() {
            // blobs/ holds the Hub cache's content under hash names.
            if name != "blobs" {
                model_files(&path, out)?;
            }
        } else if name.ends_with(".gguf") || name.ends_with(".safetensors") {
            out.push(path);
        }
    }
    Ok(())
}

/// `lbom scan --format json PATHS` run in `cwd`: its reports.
fn scan_in(cwd: &Path, paths: &[&OsStr]) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let mut cmd = lbom(
        [
            OsStr::new("scan"),
            OsStr::new("--format"),
            OsStr::new("json"),
        ]
        .into_iter()
        .chain(paths.iter().copied()),
    );
    cmd.current_dir(cwd);
    let run = run_bounded(&mut cmd, Duration::from_secs(120))?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "scan {paths:?} in {} exited {:?}: {}",
            cwd.display(),
            run.code(),
            run.stderr
        )));
    }
    Ok(common::reports(run.json()?))
}

/// The one report of a scan of one file, without `model_path` (the path as
/// named, which differs by design).
fn alone(cwd: &Path, path: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let mut reports = scan_in(cwd, &[path.as_os_str()])?;
    if reports.len() != 1 {
        return Err(fail(format!(
            "{} scanned alone gave {} reports",
            path.display(),
            reports.len()
        )));
    }
    let mut report = reports.pop().unwrap_or_default();
    if let Some(o) = report.as_object_mut() {
        o.remove("model_path");
    }
    Ok(report)
}

fn sha256sum(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let out = Command::new("sha256sum").arg(path).output()?;
    let text = String::from_utf8(out.stdout)?;
    text.split_whitespace()
        .next()
        .map(str::to_owned)
        .ok_or_else(|| fail(format!("sha256sum {} said nothing", path.display())))
}

fn codes(report: &Value) -> Vec<String> {
    common::findings(report)
        .into_iter()
        .map(|(code, _, _)| code)
        .collect()
}

fn is_shard(report: &Value) -> bool {
    codes(report).iter().any(|c| c == "shards.scanned_alone")
}

/// The folder-scan entry describing `name`: its own report, or the grouped
/// model that lists it as a shard.
fn entry_for<'a>(reports: &'a [Value], dir: &Path, name: &str) -> Option<&'a Value> {
    reports.iter().find(|r| {
        let here = r["model_path"]
            .as_str()
            .is_some_and(|p| Path::new(p).parent() == Some(dir));
        here && (r["model_filename"] == name
            || r["shards"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["filename"] == name)))
    })
}

#[test]
fn every_real_file_is_described_as_itself_however_it_is_named() -> TestResult {
    let root = fixture("");
    let mut files = Vec::new();
    for tree in TREES {
        model_files(&root.join(tree), &mut files)?;
    }
    assert!(files.len() >= 60, "only {} fixture files", files.len());
    let elsewhere = tempfile::tempdir()?;
    let mut whole: BTreeMap<PathBuf, Vec<Value>> = BTreeMap::new();
    for tree in TREES {
        let dir = root.join(tree);
        whole.insert(dir.clone(), scan_in(elsewhere.path(), &[dir.as_os_str()])?);
    }
    let mut folders: BTreeMap<PathBuf, Vec<Value>> = BTreeMap::new();
    let mut shards_seen = 0;
    for file in &files {
        let dir = file.parent().ok_or("no parent")?;
        let name = file.file_name().ok_or("no name")?;
        let parent = dir.parent().ok_or("no grandparent")?;
        let rel = Path::new(dir.file_name().ok_or("no dir name")?).join(name);

        let by_abs = alone(elsewhere.path(), file)?;
        let expected = sha256sum(file)?;
        assert_eq!(
            by_abs["sha256"].as_str(),
            Some(expected.as_str()),
            "{}: not its own hash",
            file.display()
        );
        for (cwd, named) in [(dir, Path::new(name)), (parent, rel.as_path())] {
            let other = alone(cwd, named)?;
            assert_eq!(
                other,
                by_abs,
                "{} named as {} from {} differs from the absolute scan",
                file.display(),
                named.display(),
                cwd.display()
            );
        }
        let all = codes(&by_abs);
        assert!(
            !all.iter()
                .any(|c| c == "split.missing_shard" || c == "shards.missing"),
            "{}: a sibling reported missing though it sits beside it: {all:?}",
            file.display()
        );

        // Its folder, and the whole tree it is in.
        if !folders.contains_key(dir) {
            folders.insert(
                dir.to_path_buf(),
                scan_in(elsewhere.path(), &[dir.as_os_str()])?,
            );
        }
        let tree = whole
            .iter()
            .find(|(t, _)| file.starts_with(t))
            .map(|(_, r)| r.as_slice())
            .ok_or("no tree")?;
        let name = name.to_string_lossy();
        let in_folder = folders.get(dir).map(Vec::as_slice).unwrap_or_default();
        if std::fs::symlink_metadata(file)?.is_symlink() {
            // A Hub cache link points outside its snapshot folder: a scan of
            // that folder alone refuses to follow it (walk.rs); the scan of
            // the cache follows it.
            let entry = entry_for(in_folder, dir, &name).ok_or("link not reported")?;
            assert!(codes(entry).contains(&"path.symlink_outside".to_owned()));
        }
        for (how, reports) in [("its folder", in_folder), ("the whole tree", tree)] {
            if how == "its folder" && std::fs::symlink_metadata(file)?.is_symlink() {
                continue;
            }
            let entry = entry_for(reports, dir, &name)
                .ok_or_else(|| fail(format!("{} missing from {how}", file.display())))?;
            if is_shard(&by_abs) {
                let shard = entry["shards"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["filename"] == name.as_ref()))
                    .ok_or_else(|| fail(format!("{} not a shard in {how}", file.display())))?;
                assert_eq!(shard["sha256"].as_str(), Some(expected.as_str()));
                assert_eq!(shard["file_size_bytes"], by_abs["file_size_bytes"]);
                let group_codes = codes(entry);
                assert!(
                    !group_codes.iter().any(|c| c.contains("missing")),
                    "{}: {group_codes:?}",
                    file.display()
                );
            } else {
                let mut entry = entry.clone();
                if let Some(o) = entry.as_object_mut() {
                    o.remove("model_path");
                }
                assert_eq!(
                    entry,
                    by_abs,
                    "{} in {how} differs from the file scanned alone",
                    file.display()
                );
            }
        }
        if is_shard(&by_abs) {
            shards_seen += 1;
            let later_gguf_shard = name.ends_with(".gguf") && !name.contains("-00001-of-");
            if later_gguf_shard {
                assert_eq!(
                    by_abs["quantization"],
                    Value::Null,
                    "{}: quantization invented from one shard's tensors",
                    file.display()
                );
            }
        }
    }
    // 3 GGUF shards and the 2 safetensors shards.
    assert_eq!(shards_seen, 5, "shards among the fixtures");
    Ok(())
}

#[test]
fn all_shards_named_are_one_model_and_a_shard_really_absent_is_missing() -> TestResult {
    let split = fixture("gguf/split");
    let names: Vec<PathBuf> = (1..=3)
        .map(|n| split.join(format!("tiny-llama-0000{n}-of-00003.gguf")))
        .collect();
    let args: Vec<&OsStr> = names.iter().map(|p| p.as_os_str()).collect();
    let grouped = scan_in(&split, &args)?;
    assert_eq!(grouped.len(), 1, "three shards named: one model");
    let model = grouped.first().ok_or("no model")?;
    assert_eq!(model["shards"].as_array().map(Vec::len), Some(3));
    assert_eq!(model["quantization"], "Q4_K_M");

    // Two of three named, the third beside them: two files, nothing missing.
    let two = scan_in(&split, args.get(..2).unwrap_or_default())?;
    assert_eq!(two.len(), 2);
    for r in &two {
        assert!(!codes(r).iter().any(|c| c.contains("missing")), "{r}");
    }

    // A copy of shard 1 without its siblings: they are really missing.
    let lonely = tempfile::tempdir()?;
    let copy = lonely.path().join("tiny-llama-00001-of-00003.gguf");
    std::fs::copy(names.first().ok_or("no shard")?, &copy)?;
    let alone = scan_in(
        lonely.path(),
        &[OsStr::new("tiny-llama-00001-of-00003.gguf")],
    )?;
    let report = alone.first().ok_or("no report")?;
    assert!(codes(report).contains(&"split.missing_shard".to_owned()));
    assert_eq!(report["sha256"].as_str(), Some(sha256sum(&copy)?.as_str()));

    // The sharded safetensors model: one shard copied out with its index.
    let sharded = fixture("safetensors/tiny-llama-sharded");
    let index = sharded.join("model.safetensors.index.json");
    let index_text = std::fs::read_to_string(&index)?;
    let index_json: Value = serde_json::from_str(&index_text)?;
    let mut shard_names: Vec<String> = index_json["weight_map"]
        .as_object()
        .ok_or("no weight_map")?
        .values()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    shard_names.sort();
    shard_names.dedup();
    let first = shard_names.first().ok_or("no shard")?;
    let out = tempfile::tempdir()?;
    std::fs::copy(sharded.join(first), out.path().join(first))?;
    std::fs::copy(&index, out.path().join("model.safetensors.index.json"))?;
    let alone = scan_in(out.path(), &[OsStr::new(first.as_str())])?;
    let report = alone.first().ok_or("no report")?;
    let found = codes(report);
    assert!(found.contains(&"shards.missing".to_owned()), "{found:?}");
    assert!(found.contains(&"shards.scanned_alone".to_owned()));
    // The folder with one shard absent: grouped, and the absent one missing.
    let folder = scan_in(out.path(), &[OsStr::new(".")])?;
    assert_eq!(folder.len(), 1);
    assert!(codes(folder.first().ok_or("no report")?).contains(&"shards.missing".to_owned()));
    Ok(())
}
