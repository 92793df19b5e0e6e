//! Policy files: `Policy::from_toml` on arbitrary UTF-8. Errors are the
//! point (relative `public_key` paths resolve under a folder that does not
//! exist); any input must give a policy or an error, never a panic or a hang.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("/nonexistent/lbom-fuzz/policy.toml");
    if let Ok(policy) = lbom::verify::policy::Policy::from_toml(text, path) {
        // A policy that loads names its source and the digest of its text.
        assert_eq!(policy.source.path, path);
        assert_eq!(policy.source.sha256, lbom::inspect::digest::Sha256Digest::of(data));
    }
});
