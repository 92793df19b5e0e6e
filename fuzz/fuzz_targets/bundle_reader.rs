//! The strict bundle reader: tar profile walk, layout against the manifest,
//! manifest JSON, chain links. Any input must give a bundle or an error,
//! never a panic, a hang or an allocation the input did not pay for.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::bundle_reader(data));
