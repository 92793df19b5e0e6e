//! The GGUF reader on arbitrary bytes: must return (findings, not panics),
//! and must not allocate beyond what the input length justifies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lbom::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let mut reader = data;
    let _ = lbom::inspect::gguf::inspect(&mut reader, data.len() as u64, "fuzz-Q4_K_M.gguf", &Limits::default());
});
