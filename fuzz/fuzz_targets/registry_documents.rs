//! What an OCI registry sends (image manifests, referrers lists,
//! `WWW-Authenticate` challenges, `Content-Range`) and `oci://` references
//! (docs/registry.md): parse, and whatever parses keeps its invariants.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::registry_documents(data));
