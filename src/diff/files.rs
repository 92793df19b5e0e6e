//! File-level drift: paths added, removed, renamed or changed, less what a
//! model-level change already explains (docs/drift.md, "What is compared").

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::{Change, FileDrift, FileRecord};
use crate::inspect::facts::ModelFacts;
use crate::io::digest::Sha256Digest;

/// Files whose change a model-level change already explains: the paths and
/// digests (file and shards) of each changed model pair, and the side files
/// whose keys a change lists.
#[derive(Default)]
pub(super) struct Explained<'a> {
    paths: HashSet<&'a str>,
    side_paths: HashSet<String>,
    old_digests: HashMap<Sha256Digest, Vec<usize>>,
    new_digests: HashMap<Sha256Digest, Vec<usize>>,
}

impl<'a> Explained<'a> {
    pub(super) fn add(&mut self, a: &'a ModelFacts, b: &'a ModelFacts, pair: usize) {
        if a.model_path == b.model_path {
            self.paths.insert(a.model_path.as_str());
        }
        let digests = |m: &ModelFacts| {
            let shards = m.shards.iter().filter_map(|s| s.sha256);
            m.sha256.into_iter().chain(shards).collect::<Vec<_>>()
        };
        for d in digests(a) {
            self.old_digests.entry(d).or_default().push(pair);
        }
        for d in digests(b) {
            self.new_digests.entry(d).or_default().push(pair);
        }
    }

    /// The side files whose keys (`side:NAME…`) a change of this pair
    /// lists, as paths next to either model.
    pub(super) fn add_side_files(&mut self, a: &ModelFacts, b: &ModelFacts, changes: &[Change]) {
        let folder = |m: &ModelFacts| match m.model_path.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/"),
            None => String::new(),
        };
        let names = changes
            .iter()
            .filter_map(Change::keys)
            .flat_map(|k| &k.items)
            .filter_map(|k| crate::inspect::side::key_file(&k.key));
        for name in names {
            for m in [a, b] {
                self.side_paths.insert(format!("{}{name}", folder(m)));
            }
        }
    }

    fn covers(&self, path: &str, old: &Sha256Digest, new: &Sha256Digest) -> bool {
        if self.paths.contains(path) || self.side_paths.contains(path) {
            return true;
        }
        match (self.old_digests.get(old), self.new_digests.get(new)) {
            (Some(a), Some(b)) => a.iter().any(|p| b.contains(p)),
            _ => false,
        }
    }
}

fn file_index(list: &[FileRecord]) -> BTreeMap<&str, &FileRecord> {
    let mut map = BTreeMap::new();
    for f in list {
        map.entry(f.path.as_str()).or_insert(f);
    }
    map
}

/// File-level drift. A path listed twice counts once (the first record).
pub(super) fn compare_files(
    old: &[FileRecord],
    new: &[FileRecord],
    explained: &Explained,
) -> Vec<FileDrift> {
    let (old, new) = (file_index(old), file_index(new));
    let mut out = Vec::new();
    let mut new_only: HashMap<Sha256Digest, VecDeque<&FileRecord>> = HashMap::new();
    for (path, f) in &new {
        if !old.contains_key(path) {
            new_only.entry(f.sha256).or_default().push_back(f);
        }
    }
    for (path, o) in &old {
        match new.get(path) {
            Some(n) if n.sha256 == o.sha256 => {}
            Some(n) if explained.covers(path, &o.sha256, &n.sha256) => {}
            Some(n) => out.push(FileDrift::FileChanged {
                path: o.path.clone(),
                old_sha256: o.sha256,
                new_sha256: n.sha256,
                old_size: o.size,
                new_size: n.size,
            }),
            None => match new_only.get_mut(&o.sha256).and_then(VecDeque::pop_front) {
                Some(n) => out.push(FileDrift::FileRenamed {
                    old_path: o.path.clone(),
                    new_path: n.path.clone(),
                    sha256: o.sha256,
                    size: n.size,
                }),
                None => out.push(FileDrift::FileRemoved {
                    path: o.path.clone(),
                    sha256: o.sha256,
                    size: o.size,
                }),
            },
        }
    }
    out.extend(
        new_only
            .into_values()
            .flatten()
            .map(|n| FileDrift::FileAdded {
                path: n.path.clone(),
                sha256: n.sha256,
                size: n.size,
            }),
    );
    out.sort_by(|a, b| {
        a.class()
            .cmp(&b.class())
            .then_with(|| a.sort_path().cmp(b.sort_path()))
    });
    out
}
