//! Where pickles hide: NPY headers, compressed pickles (joblib), the search
//! of bytes no GGUF tensor claims, and the one-pass path for those names.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pickle_containers(data));
