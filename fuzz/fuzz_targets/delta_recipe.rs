//! The delta payload reader of differential bundles: any input gives a
//! recipe that covers exactly the size asked for, or an error; never a
//! panic or an allocation the input did not pay for.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::delta_recipe(data));
