//! gguf reader: placeholder replaced by the real reader (merge takes theirs).
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
pub fn is_gguf_magic(b: &[u8]) -> bool {
    b.starts_with(b"GGUF")
}
