//! pickle reader: placeholder replaced by the real reader (merge takes theirs).
#![allow(missing_docs, clippy::missing_errors_doc)]
use crate::inspect::facts::ModelFacts;
use crate::limits::Limits;
use std::io::{Read, Seek};
pub fn inspect<R: Read>(
    _r: &mut R,
    _len: u64,
    _name: &str,
    _l: &Limits,
) -> std::io::Result<ModelFacts> {
    Ok(ModelFacts::default())
}
pub fn is_zip(b: &[u8]) -> bool {
    b.starts_with(b"PK\x03\x04")
}
pub fn is_pickle_start(_b: &[u8]) -> bool {
    false
}
pub fn inspect_zip<R: Read + Seek>(
    _r: &mut R,
    _len: u64,
    _name: &str,
    _l: &Limits,
) -> std::io::Result<ModelFacts> {
    Ok(ModelFacts::default())
}
