//! The whole one-pass path: sniffing, dispatch, hashing and draining. The
//! digest must always be the SHA-256 of exactly the input.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::inspect_any(data));
