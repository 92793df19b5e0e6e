//! Policy files: `Policy::from_toml` on arbitrary UTF-8. Errors are the
//! point (relative `public_key` paths resolve under a folder that does not
//! exist); any input must give a policy or an error, never a panic or a hang.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::policy_file(data));
