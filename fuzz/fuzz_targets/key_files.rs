//! Key files: SPKI public keys and PKCS#8 secret keys, plain and encrypted.
//! The encrypted path runs only the parameter checks and the decryption the
//! checked parameters allow (a cheap scrypt cost in the corpus).
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::key_files(data));
