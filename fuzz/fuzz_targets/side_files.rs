//! Folder side files: `inspect::side::SideFiles::add` (JSON read member by
//! member, templates, the card's front matter, shard indexes) and the
//! folder description built from them, on arbitrary bytes.
//!
//! The body lives in fuzz/checks.rs, shared with tests/fuzz_regressions.rs.
#![no_main]
#[allow(dead_code, reason = "each target calls one of the shared checks")]
#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::side_files(data));
