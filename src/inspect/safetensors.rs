//! safetensors reader: placeholder replaced by the real reader (merge takes theirs).
#![allow(missing_docs, clippy::missing_errors_doc)]
use crate::inspect::facts::ModelFacts;
use crate::limits::Limits;
use std::io::Read;
#[allow(unused_imports)]
use std::io::Seek;
pub fn inspect<R: Read>(
    _r: &mut R,
    _len: u64,
    _name: &str,
    _l: &Limits,
) -> std::io::Result<ModelFacts> {
    Ok(ModelFacts::default())
}
pub fn looks_like_safetensors(_b: &[u8], _len: u64) -> bool {
    false
}
