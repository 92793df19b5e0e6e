//! Chat templates: `inspect::template::analyse` (token caps, minijinja's
//! parser, the judge) on arbitrary text.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::chat_template(data));
