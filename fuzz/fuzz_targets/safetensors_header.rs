//! The safetensors reader on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lbom::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let mut reader = data;
    let _ = lbom::inspect::safetensors::inspect(&mut reader, data.len() as u64, "fuzz.safetensors", &Limits::default());
});
