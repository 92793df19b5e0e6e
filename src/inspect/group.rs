//! Group the files of one model: split GGUF (`NAME-00001-of-00003.gguf`,
//! `split.*` keys) and sharded safetensors (`model.safetensors.index.json`).
//! Every shard is inspected on its own first; grouping then checks that the
//! shards fit together and sums what they hold.
//!
//! A grouped model's `sha256` is the SHA-256 of the shards' `sha256sum`
//! listing (`<hex>  <file name>\n` per shard, in shard order), so anyone can
//! recompute it with `sha256sum SHARDS... | sha256sum` in that order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::facts::{Finding, Format, ModelFacts, ShardSummary};
use super::side::{Says, ShardIndex, SideFiles};
use crate::io::digest::Sha256Digest;

/// Finding codes that describe a shard's *missing* model-level metadata:
/// only the first GGUF shard carries `general.*`, so on later shards these
/// say nothing, and on the group they are recomputed from all shards.
const PER_SHARD_ONLY: &[&str] = &[
    "gguf.file_type_missing",
    "model.unknown_architecture",
    "model.size_label_mismatch",
    "model.vocab_mismatch",
    "quant.label_mismatch",
    "quant.filename_mismatch",
];

/// One inspected file with the path it was found at.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// Where the file is.
    pub path: PathBuf,
    /// What inspection found.
    pub facts: ModelFacts,
}

/// Merge the shards of each split or sharded model into one entry, keeping
/// the order of first appearance: every file of a delivery is there, so a
/// shard not among them is missing.
pub fn group(files: Vec<Inspected>, sides: &SideFiles) -> Vec<ModelFacts> {
    group_chosen(files, sides, None)
}

/// [`group`] for a scan, where `named` holds the files the user named one by
/// one (the others were found by walking a folder). A file named on the
/// command line is described as that file (docs/scan-report.md, "Split and
/// sharded models"): the shards of a model are merged when a folder holding
/// them was scanned or every shard was named; a shard named without all the
/// others stays one entry with its own hash and facts, and a sibling is
/// reported missing only when it is absent from the shard's folder on disk.
pub fn group_scanned(
    files: Vec<Inspected>,
    sides: &SideFiles,
    named: &BTreeSet<PathBuf>,
) -> Vec<ModelFacts> {
    group_chosen(files, sides, Some(named))
}

fn group_chosen(
    files: Vec<Inspected>,
    sides: &SideFiles,
    named: Option<&BTreeSet<PathBuf>>,
) -> Vec<ModelFacts> {
    let mut slots: Vec<Option<Inspected>> = files.into_iter().map(Some).collect();
    let mut out = Grouped::default();
    group_safetensors(&mut slots, sides, named, &mut out);
    group_gguf(&mut slots, named, &mut out);

    let mut models = out.models;
    models.extend(out.alone.into_iter().map(|(n, i)| (n, i.facts)));
    models.extend(
        slots
            .into_iter()
            .enumerate()
            .filter_map(|(n, s)| Some((n, s?.facts))),
    );
    models.sort_by_key(|(n, _)| *n);
    models.into_iter().map(|(_, f)| f).collect()
}

/// What grouping has taken out of the slots so far, each entry with the
/// slot number of its first file (to keep the order of first appearance).
#[derive(Default)]
struct Grouped {
    /// Merged models.
    models: Vec<(usize, ModelFacts)>,
    /// Shards described alone: kept out of every later grouping.
    alone: Vec<(usize, Inspected)>,
}

/// Whether the shards in `members` are fewer than `expected` and were all
/// named one by one (so they are described alone rather than merged).
fn is_partial(
    slots: &[Option<Inspected>],
    members: &[usize],
    expected: usize,
    named: Option<&BTreeSet<PathBuf>>,
) -> bool {
    named.is_some_and(|named| {
        members.len() < expected
            && members.iter().all(|&n| {
                slots
                    .get(n)
                    .and_then(Option::as_ref)
                    .is_some_and(|i| named.contains(&i.path))
            })
    })
}

/// Sharded safetensors, driven by each folder's index file.
fn group_safetensors(
    slots: &mut [Option<Inspected>],
    sides: &SideFiles,
    named: Option<&BTreeSet<PathBuf>>,
    out: &mut Grouped,
) {
    let dirs: BTreeSet<PathBuf> = slots
        .iter()
        .flatten()
        .filter_map(|i| i.path.parent().map(Path::to_path_buf))
        .collect();
    for dir in dirs {
        for (index_name, index) in indexes(&dir, sides) {
            let members: Vec<usize> = slots
                .iter()
                .enumerate()
                .filter(|(_, s)| {
                    s.as_ref().is_some_and(|i| {
                        i.path.parent() == Some(dir.as_path())
                            && index.shard_names.contains(&i.facts.model_filename)
                    })
                })
                .map(|(n, _)| n)
                .collect();
            if is_partial(slots, &members, index.shard_names.len(), named) {
                for n in members {
                    if let Some(mut shard) = slots.get_mut(n).and_then(Option::take) {
                        lone_safetensors_shard(&mut shard, &dir, index_name, index);
                        out.alone.push((n, shard));
                    }
                }
                continue;
            }
            if let Some(&first) = members.first() {
                let shards: Vec<Inspected> = members
                    .iter()
                    .filter_map(|&n| slots.get_mut(n)?.take())
                    .collect();
                out.models
                    .push((first, merge_safetensors(index_name, index, shards)));
            }
        }
    }
}

/// Split GGUF, by file name pattern (and the split.* keys, checked).
fn group_gguf(
    slots: &mut [Option<Inspected>],
    named: Option<&BTreeSet<PathBuf>>,
    out: &mut Grouped,
) {
    let mut splits: BTreeMap<(PathBuf, String, u64), Vec<usize>> = BTreeMap::new();
    for (n, slot) in slots.iter().enumerate() {
        let Some(i) = slot else { continue };
        if i.facts.format != Format::Gguf {
            continue;
        }
        if let Some((prefix, _, count)) = split_name(&i.facts.model_filename) {
            let dir = i.path.parent().map(Path::to_path_buf).unwrap_or_default();
            splits.entry((dir, prefix, count)).or_default().push(n);
        }
    }
    for ((dir, prefix, count), members) in splits {
        let expected = usize::try_from(count).unwrap_or(usize::MAX);
        if is_partial(slots, &members, expected, named) {
            for n in members {
                if let Some(mut shard) = slots.get_mut(n).and_then(Option::take) {
                    lone_gguf_shard(&mut shard, &dir, &prefix, count);
                    out.alone.push((n, shard));
                }
            }
            continue;
        }
        if let Some(&first) = members.first() {
            let shards: Vec<Inspected> = members
                .iter()
                .filter_map(|&n| slots.get_mut(n)?.take())
                .collect();
            out.models.push((first, merge_gguf(&prefix, count, shards)));
        }
    }
}

/// Whether `name`, a sibling of a shard in `dir`, is absent on disk. A
/// relative path with no folder part is in the current directory. Only a
/// plain file name is looked up: an index naming `../x` is refused by
/// `shards.bad_name`, never followed.
fn absent_beside(dir: &Path, name: &str) -> bool {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\');
    let folder = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    plain && std::fs::symlink_metadata(folder.join(name)).is_err()
}

/// A shard of a split GGUF named without its siblings: described as its own
/// file, with a note saying it is one shard, and an error for each sibling
/// absent from its folder.
fn lone_gguf_shard(shard: &mut Inspected, dir: &Path, prefix: &str, count: u64) {
    let name = shard.facts.model_filename.clone();
    let no = split_name(&name).map_or(0, |(_, no, _)| no);
    if let Some(f) = split_key_finding(&shard.facts, no, count) {
        shard.facts.push(f);
    }
    let missing: Vec<String> = (1..=count)
        .filter(|&n| n != no)
        .filter(|&n| absent_beside(dir, &format!("{prefix}-{n:05}-of-{count:05}.gguf")))
        .map(|n| n.to_string())
        .collect();
    shard.facts.push(Finding::info(
        "shards.scanned_alone",
        format!(
            "{name} is shard {no} of {count} of split model {prefix}, described alone (its own hash and tensors); scan its folder or every shard to describe the whole model"
        ),
    ));
    if !missing.is_empty() {
        shard.facts.push(Finding::error(
            "split.missing_shard",
            format!(
                "split model {prefix} has {count} shards but shard(s) {} are missing beside {name}",
                missing.join(", ")
            ),
        ));
    }
}

/// A safetensors shard named without the other shards its folder's index
/// lists: described as its own file, with a note, and an error for each
/// shard the index names that is absent from the folder.
fn lone_safetensors_shard(shard: &mut Inspected, dir: &Path, index_name: &str, index: &ShardIndex) {
    let name = shard.facts.model_filename.clone();
    shard.facts.push(Finding::info(
        "shards.scanned_alone",
        format!(
            "{name} is one of the {} shards {index_name} lists, described alone (its own hash and tensors); scan its folder or every shard to describe the whole model",
            index.shard_names.len()
        ),
    ));
    for missing in index
        .shard_names
        .iter()
        .filter(|n| **n != name && absent_beside(dir, n))
    {
        shard.facts.push(Finding::error(
            "shards.missing",
            format!("{index_name} names shard {missing}, which is missing"),
        ));
    }
}

/// `split.inconsistent` when a shard's split keys disagree with its name.
fn split_key_finding(facts: &ModelFacts, no: u64, count: u64) -> Option<Finding> {
    match facts.split {
        Some(k) if k.no.checked_add(1) == Some(no) && k.count == count => None,
        Some(k) => Some(Finding::error(
            "split.inconsistent",
            format!(
                "{} says it is shard {} of {} but its split keys say {} of {}",
                facts.model_filename,
                no,
                count,
                k.no.saturating_add(1),
                k.count
            ),
        )),
        None => Some(Finding::error(
            "split.inconsistent",
            format!(
                "{} is named as a shard but has no split.* keys",
                facts.model_filename
            ),
        )),
    }
}

/// `NAME-00001-of-00003.gguf` → (`NAME`, 1, 3), as llama.cpp's gguf-split names shards.
pub fn split_name(file_name: &str) -> Option<(String, u64, u64)> {
    let stem = file_name.strip_suffix(".gguf")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, no) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(no) || !digits(count) || prefix.is_empty() {
        return None;
    }
    Some((prefix.to_owned(), no.parse().ok()?, count.parse().ok()?))
}

fn merge_gguf(prefix: &str, count: u64, mut shards: Vec<Inspected>) -> ModelFacts {
    shards.sort_by_key(|s| split_name(&s.facts.model_filename).map(|(_, no, _)| no));
    let numbers: BTreeSet<u64> = shards
        .iter()
        .filter_map(|s| split_name(&s.facts.model_filename).map(|(_, no, _)| no))
        .collect();
    let mut findings = Vec::new();
    let missing: Vec<String> = (1..=count)
        .filter(|n| !numbers.contains(n))
        .map(|n| n.to_string())
        .collect();
    if !missing.is_empty() {
        findings.push(Finding::error(
            "split.missing_shard",
            format!(
                "split model {prefix} has {count} shards but shard(s) {} are missing",
                missing.join(", ")
            ),
        ));
    }
    for s in &shards {
        let Some((_, no, _)) = split_name(&s.facts.model_filename) else {
            continue;
        };
        findings.extend(split_key_finding(&s.facts, no, count));
    }
    let mut merged = merge_common(shards, &mut findings);
    let expected_tensors = merged.split.and_then(|s| s.tensors_count);
    if let (Some(expected), Some(actual)) = (expected_tensors, merged.tensor_count)
        && expected != actual
    {
        findings.push(Finding::error(
            "split.tensor_count_mismatch",
            format!("split.tensors.count says {expected} tensors but the shards hold {actual}"),
        ));
    }
    recheck_model_level(&mut merged);
    for f in findings {
        merged.push(f);
    }
    merged
}

/// Fields summed or collected over shards; model-level facts come from the
/// first shard.
fn merge_common(shards: Vec<Inspected>, findings: &mut Vec<Finding>) -> ModelFacts {
    let mut iter = shards.into_iter();
    let Some(first) = iter.next() else {
        return ModelFacts::default();
    };
    let mut merged = first.facts.clone();
    merged.model_path = first.path.display().to_string();
    merged.findings.clear();
    merged.warnings.clear();
    merged.shards.clear();
    let mut seen_tensors: BTreeSet<String> = BTreeSet::new();
    let mut all = vec![first];
    all.extend(iter);
    merged.file_size_bytes = 0;
    merged.parameter_count = Some(0);
    merged.tensor_count = Some(0);
    merged.tensor_types.clear();
    merged.tensors.clear();
    for (n, s) in all.into_iter().enumerate() {
        let f = s.facts;
        merged.file_size_bytes = merged.file_size_bytes.saturating_add(f.file_size_bytes);
        merged.parameter_count = add_opt(merged.parameter_count, f.parameter_count);
        merged.tensor_count = add_opt(merged.tensor_count, f.tensor_count);
        for (ty, stat) in &f.tensor_types {
            let e = merged.tensor_types.entry(ty.clone()).or_default();
            e.tensors = e.tensors.saturating_add(stat.tensors);
            e.parameters = e.parameters.saturating_add(stat.parameters);
        }
        for t in f.tensors {
            if !seen_tensors.insert(t.name.clone()) {
                findings.push(Finding::error(
                    "shards.duplicate_tensor",
                    format!(
                        "tensor {} appears in more than one shard (again in {})",
                        t.name, f.model_filename
                    ),
                ));
            }
            merged.tensors.push(t);
        }
        for finding in f.findings {
            if n > 0 && PER_SHARD_ONLY.contains(&finding.code.as_str()) {
                continue;
            }
            let message = format!("{}: {}", f.model_filename, finding.message);
            findings.push(Finding { message, ..finding });
        }
        merged.shards.push(ShardSummary {
            filename: f.model_filename,
            file_size_bytes: f.file_size_bytes,
            sha256: f.sha256,
        });
    }
    merged.sha256 = group_digest(&merged.shards);
    merged
}

/// Tensor types and parameter counts change when shards are summed: the
/// dominant dtype follows, and the size label is checked against the whole
/// model (each shard alone holds only part of it).
fn recheck_model_level(merged: &mut ModelFacts) {
    if merged.format == Format::Safetensors {
        merged.dtype = super::safetensors::dtype(&merged.tensors);
    } else if let Some((ty, _)) = merged.tensor_types.iter().max_by_key(|(_, s)| s.parameters) {
        merged.dtype = Some(ty.clone());
    }
    if let (Some(label), Some(params)) = (merged.size_label.clone(), merged.parameter_count)
        && let Some(finding) = super::gguf::checks::size_label_mismatch(&label, params)
    {
        merged.push(finding);
    }
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => x.checked_add(y),
        (x, None) => x,
        (None, y) => y,
    }
}

fn group_digest(shards: &[ShardSummary]) -> Option<Sha256Digest> {
    let mut listing = String::new();
    for s in shards {
        listing.push_str(&format!("{}  {}\n", s.sha256?, s.filename));
    }
    Some(Sha256Digest::of(listing.as_bytes()))
}

/// The shard indexes of `dir`, by file name, as its side files say.
fn indexes<'a>(dir: &Path, sides: &'a SideFiles) -> Vec<(&'a str, &'a ShardIndex)> {
    let mut out: Vec<(&str, &ShardIndex)> = sides
        .folder(dir)
        .iter()
        .filter_map(|f| match &f.says {
            Says::Index(index) => Some((f.name.as_str(), index)),
            _ => None,
        })
        .collect();
    out.sort_by_key(|(name, _)| *name);
    out
}

fn merge_safetensors(
    index_name: &str,
    index: &ShardIndex,
    mut shards: Vec<Inspected>,
) -> ModelFacts {
    shards.sort_by(|a, b| a.facts.model_filename.cmp(&b.facts.model_filename));
    let mut findings = index.findings.clone();
    let present: BTreeSet<&str> = shards
        .iter()
        .map(|s| s.facts.model_filename.as_str())
        .collect();
    for missing in index
        .shard_names
        .iter()
        .filter(|n| !present.contains(n.as_str()))
    {
        findings.push(Finding::error(
            "shards.missing",
            format!("{index_name} names shard {missing}, which is missing"),
        ));
    }
    // Where each tensor really is, against where the index says it is.
    let mut actual: BTreeMap<&str, &str> = BTreeMap::new();
    for s in &shards {
        for t in &s.facts.tensors {
            actual.insert(t.name.as_str(), s.facts.model_filename.as_str());
            if !index.weight_map.contains_key(&t.name) {
                findings.push(Finding::error(
                    "shards.unlisted_tensor",
                    format!(
                        "tensor {} in {} is not in {index_name}; loaders would skip it",
                        t.name, s.facts.model_filename
                    ),
                ));
            }
        }
    }
    for (tensor, shard) in &index.weight_map {
        match actual.get(tensor.as_str()) {
            Some(found) if *found == shard.as_str() => {}
            Some(found) => findings.push(Finding::error(
                "shards.tensor_misplaced",
                format!("{index_name} puts tensor {tensor} in {shard} but it is in {found}"),
            )),
            None if present.contains(shard.as_str()) => findings.push(Finding::error(
                "shards.tensor_missing",
                format!(
                    "{index_name} puts tensor {tensor} in {shard} but that shard does not hold it"
                ),
            )),
            None => {}
        }
    }
    let data_bytes: u64 = shards
        .iter()
        .flat_map(|s| &s.facts.tensors)
        .filter_map(|t| t.size_bytes)
        .sum();
    if let Some(total) = index.total_size
        && total != data_bytes
    {
        findings.push(Finding::warning(
                "shards.total_size_mismatch",
                format!("{index_name} says total_size {total} but the shards hold {data_bytes} bytes of tensors"),
            ));
    }
    let mut merged = merge_common(shards, &mut findings);
    merged
        .metadata
        .insert("shard_index".into(), Value::String(index_name.to_owned()));
    recheck_model_level(&mut merged);
    for f in findings {
        merged.push(f);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::facts::{SplitInfo, TensorSummary, TensorTypeStat};

    fn shard(dir: &str, name: &str, split: Option<SplitInfo>, tensors: &[&str]) -> Inspected {
        let mut facts = ModelFacts {
            model_filename: name.into(),
            format: if name.ends_with(".gguf") {
                Format::Gguf
            } else {
                Format::Safetensors
            },
            file_size_bytes: 100,
            sha256: Some(Sha256Digest::of(name.as_bytes())),
            split,
            parameter_count: Some(10 * tensors.len() as u64),
            tensor_count: Some(tensors.len() as u64),
            ..ModelFacts::default()
        };
        for t in tensors {
            facts.tensors.push(TensorSummary {
                name: (*t).into(),
                dtype: "F16".into(),
                shape: vec![10],
                offset: 0,
                size_bytes: Some(20),
            });
        }
        facts.tensor_types.insert(
            "F16".into(),
            TensorTypeStat {
                tensors: tensors.len() as u64,
                parameters: 10 * tensors.len() as u64,
            },
        );
        Inspected {
            path: PathBuf::from(dir).join(name),
            facts,
        }
    }

    fn split(no: u64, count: u64, total: u64) -> Option<SplitInfo> {
        Some(SplitInfo {
            no,
            count,
            tensors_count: Some(total),
        })
    }

    #[test]
    fn split_names() {
        assert_eq!(
            split_name("m-00002-of-00003.gguf"),
            Some(("m".into(), 2, 3))
        );
        assert_eq!(
            split_name("a-b-00001-of-00010.gguf"),
            Some(("a-b".into(), 1, 10))
        );
        assert_eq!(split_name("m-2-of-3.gguf"), None);
        assert_eq!(split_name("-00001-of-00002.gguf"), None);
    }

    #[test]
    fn complete_split_groups_into_one() {
        let files = vec![
            shard("/d", "m-00002-of-00002.gguf", split(1, 2, 3), &["c"]),
            shard("/d", "m-00001-of-00002.gguf", split(0, 2, 3), &["a", "b"]),
            shard("/d", "other.gguf", None, &["x"]),
        ];
        let out = group(files, &SideFiles::default());
        assert_eq!(out.len(), 2);
        let m = out.first().cloned().unwrap_or_default();
        assert_eq!(m.model_filename, "m-00001-of-00002.gguf");
        assert_eq!(m.shards.len(), 2);
        assert_eq!(m.parameter_count, Some(30));
        assert_eq!(m.tensor_count, Some(3));
        assert_eq!(m.file_size_bytes, 200);
        assert!(m.findings.is_empty(), "{:?}", m.findings);
        let listing = format!(
            "{}  m-00001-of-00002.gguf\n{}  m-00002-of-00002.gguf\n",
            Sha256Digest::of(b"m-00001-of-00002.gguf"),
            Sha256Digest::of(b"m-00002-of-00002.gguf")
        );
        assert_eq!(m.sha256, Some(Sha256Digest::of(listing.as_bytes())));
    }

    #[test]
    fn missing_and_inconsistent_shards_are_errors() {
        let files = vec![
            shard("/d", "m-00001-of-00003.gguf", split(0, 3, 3), &["a"]),
            shard("/d", "m-00003-of-00003.gguf", split(0, 3, 3), &["a"]),
        ];
        let out = group(files, &SideFiles::default());
        let codes: Vec<_> = out
            .iter()
            .flat_map(|m| &m.findings)
            .map(|f| f.code.as_str())
            .collect();
        assert!(codes.contains(&"split.missing_shard"));
        assert!(codes.contains(&"split.inconsistent"));
        assert!(codes.contains(&"shards.duplicate_tensor"));
        assert!(codes.contains(&"split.tensor_count_mismatch"));
    }

    #[test]
    fn safetensors_index_is_checked() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let d = dir.path().to_string_lossy().into_owned();
        std::fs::write(
            dir.path().join("model.safetensors.index.json"),
            r#"{"metadata":{"total_size":40},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors","z":"s3.safetensors","e":"../../etc/passwd"}}"#,
        )?;
        let files = vec![
            shard(&d, "s1.safetensors", None, &["a", "hidden"]),
            shard(&d, "s2.safetensors", None, &["b"]),
        ];
        let mut sides = SideFiles::default();
        sides.read_folder(dir.path(), &crate::limits::Limits::default());
        let out = group(files, &sides);
        assert_eq!(out.len(), 1);
        let codes: BTreeSet<_> = out
            .iter()
            .flat_map(|m| &m.findings)
            .map(|f| f.code.as_str())
            .collect();
        let expected: BTreeSet<_> = [
            "shards.bad_name",
            "shards.missing",
            "shards.unlisted_tensor",
            "shards.total_size_mismatch",
        ]
        .into();
        assert_eq!(codes, expected);
        Ok(())
    }
}
