//! DSSE envelopes and chain-link statements: decode, and re-encode what
//! decoded. A decoded envelope must re-encode to an envelope that decodes to
//! the same value (the reader and writer agree on the format).
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::envelope_link(data));
