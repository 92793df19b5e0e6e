//! The strict bundle reader: tar profile walk, layout against the manifest,
//! manifest JSON, chain links. Any input must give a bundle or an error,
//! never a panic, a hang or an allocation the input did not pay for.
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;
use lbom::bundle::ReadLimits;

fuzz_target!(|data: &[u8]| {
    // The reader takes a path (it seeks and reopens): one temp file per
    // input, in memory where the machine has /dev/shm.
    let dir = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else { return };
    if file.write_all(data).is_err() {
        return;
    }
    // Tight caps so an input cannot make an iteration slow through sheer
    // (legal) size.
    let limits = ReadLimits { max_entries: 4096, max_json_bytes: 1 << 20, max_small_bytes: 1 << 16 };
    if let Ok(bundle) = lbom::bundle::open(file.path(), &limits) {
        // Whatever parsed must be self-consistent.
        assert_eq!(bundle.manifest_sha256, lbom::inspect::digest::Sha256Digest::of(&bundle.manifest_bytes));
        assert!(bundle.layout.end_offset <= bundle.file_len);
    }
    let _ = lbom::bundle::tar::walk(&mut std::io::Cursor::new(data), data.len() as u64, 4096);
});
