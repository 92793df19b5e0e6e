//! The whole one-pass path: sniffing, dispatch, hashing and draining. The
//! digest must always be the SHA-256 of exactly the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lbom::inspect::{ScanOptions, SeekRead, digest::Sha256Digest, inspect_reader};
use lbom::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let mut cursor = std::io::Cursor::new(data);
    let random_access: Option<&mut dyn SeekRead> = Some(&mut cursor);
    let facts = inspect_reader(data, data.len() as u64, "fuzz.bin", random_access, &ScanOptions::default(), &Limits::default(), &mut |_| {});
    if let Ok(facts) = facts {
        assert_eq!(facts.sha256, Some(Sha256Digest::of(data)));
        assert_eq!(facts.file_size_bytes, data.len() as u64);
    }
});
