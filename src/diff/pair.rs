//! Which model of the new side is which model of the old side
//! (docs/drift.md, "What is compared").

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::inspect::facts::ModelFacts;
use crate::io::digest::Sha256Digest;

/// Pair the models of both sides (docs/drift.md, "Models are paired"):
/// by path, then by SHA-256 (a renamed file); then the models left on both
/// sides by content and identity, each tier by an exact key — the tensor
/// layout (names and shapes, not types: a re-quantized model keeps it;
/// not the format: a converted model keeps it), the tensor names, the
/// architecture with the name, the architecture — and finally whatever models are still left on both
/// sides, in path order. A renamed model is therefore compared with the
/// one it replaced whatever else was added or removed, and a model that
/// changed beyond recognition is still compared with one that left, so
/// its changes reach the gates instead of hiding as a removal and an
/// addition. Within a tier, models are taken in path order, so the result
/// does not depend on the order of the lists. Only model files (by format
/// or name) pair after the path tier.
pub(super) fn pair_models<'a>(
    old: &'a [ModelFacts],
    new: &'a [ModelFacts],
) -> Vec<(&'a ModelFacts, &'a ModelFacts)> {
    let sorted = |list: &'a [ModelFacts]| {
        let mut v: Vec<&ModelFacts> = list.iter().collect();
        v.sort_by(|a, b| a.model_path.cmp(&b.model_path));
        v
    };
    let (old, new) = (sorted(old), sorted(new));
    let mut pairs = Vec::new();
    let mut old_by_path: BTreeMap<&str, &ModelFacts> = BTreeMap::new();
    for m in &old {
        old_by_path.entry(m.model_path.as_str()).or_insert(m);
    }
    let mut new_left = Vec::new();
    for m in &new {
        match old_by_path.remove(m.model_path.as_str()) {
            Some(o) => pairs.push((o, *m)),
            None => new_left.push(*m),
        }
    }
    // Taken out in path order (BTreeMap), so every later tier sees sorted lists.
    let old_left: Vec<&ModelFacts> = old_by_path.into_values().collect();
    let (old_left, new_left) = pair_by(old_left, new_left, &mut pairs, |m| m.sha256);
    let is_model = |m: &&ModelFacts| crate::inspect::delivery::is_model(m);
    let mut old_left: Vec<&ModelFacts> = old_left.into_iter().filter(is_model).collect();
    let mut new_left: Vec<&ModelFacts> = new_left.into_iter().filter(is_model).collect();
    let tiers: [&KeyFn; 4] = [
        &|m| layout_key(m, true),
        &|m| layout_key(m, false),
        &|m| identity_key(m, true),
        &|m| identity_key(m, false),
    ];
    for key in tiers {
        (old_left, new_left) = pair_by(old_left, new_left, &mut pairs, key);
    }
    pairs.extend(old_left.into_iter().zip(new_left));
    pairs
}

/// A pairing key of a model.
type KeyFn = dyn Fn(&ModelFacts) -> Option<Sha256Digest>;

/// Pair `new` models with `old` ones of the same key (first come, first
/// served, in list order); returns what is left on each side, in order.
fn pair_by<'a>(
    old: Vec<&'a ModelFacts>,
    new: Vec<&'a ModelFacts>,
    pairs: &mut Vec<(&'a ModelFacts, &'a ModelFacts)>,
    key: impl Fn(&ModelFacts) -> Option<Sha256Digest>,
) -> (Vec<&'a ModelFacts>, Vec<&'a ModelFacts>) {
    let mut by_key: HashMap<Sha256Digest, VecDeque<usize>> = HashMap::new();
    for (i, m) in old.iter().enumerate() {
        if let Some(k) = key(m) {
            by_key.entry(k).or_default().push_back(i);
        }
    }
    // Each old model is paired at most once: taking it out of its slot is
    // the pairing, so no flag can disagree with the pairs.
    let mut slots: Vec<Option<&'a ModelFacts>> = old.into_iter().map(Some).collect();
    let mut new_left = Vec::new();
    for m in new {
        let found = key(m)
            .and_then(|k| by_key.get_mut(&k))
            .and_then(VecDeque::pop_front)
            .and_then(|i| slots.get_mut(i)?.take());
        match found {
            Some(o) => pairs.push((o, m)),
            None => new_left.push(m),
        }
    }
    let old_left = slots.into_iter().flatten().collect();
    (old_left, new_left)
}

/// A digest of a model's tensor table: the sorted tensor names, with their
/// shapes when `shapes` (not the format: the same table in another format
/// is the same model converted). `None` without tensors.
fn layout_key(m: &ModelFacts, shapes: bool) -> Option<Sha256Digest> {
    if m.tensors.is_empty() {
        return None;
    }
    let mut rows: Vec<(&str, &[u64])> = m
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), t.shape.as_slice()))
        .collect();
    rows.sort_unstable();
    let mut h = crate::io::digest::Hasher::new();
    h.update(if shapes { b"layout\n" } else { b"names\n" });
    for (name, shape) in rows {
        h.update(&(name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        if shapes {
            h.update(&(shape.len() as u64).to_le_bytes());
            for d in shape {
                h.update(&d.to_le_bytes());
            }
        }
    }
    Some(h.finish())
}

/// A digest of a model's identity: its architecture, and its name when
/// `named`. `None` when one of them is not known.
fn identity_key(m: &ModelFacts, named: bool) -> Option<Sha256Digest> {
    let arch = m.architecture.as_deref()?;
    let name = if named {
        Some(m.name.as_deref()?)
    } else {
        None
    };
    let mut h = crate::io::digest::Hasher::new();
    h.update(if named { b"identity\n" } else { b"family\n" });
    for part in [Some(m.format.as_str()), Some(arch), name]
        .into_iter()
        .flatten()
    {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    Some(h.finish())
}
