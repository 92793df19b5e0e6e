//! The model store: `import` (verify while extracting, commit atomically),
//! `audit`, `rollback`, and the channel baselines they keep.
