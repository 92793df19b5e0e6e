//! Part indexes of split media (docs/bundle-format.md, section 13): parse,
//! and whatever parses is consistent and in its one byte form.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::part_index(data));
