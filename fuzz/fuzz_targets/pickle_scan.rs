//! The pickle opcode scanner and the zip reader on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lbom::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let mut reader = data;
    let _ = lbom::inspect::pickle::inspect(&mut reader, data.len() as u64, "fuzz.pkl", &limits);
    let mut cursor = std::io::Cursor::new(data);
    let _ = lbom::inspect::pickle::inspect_zip(&mut cursor, data.len() as u64, "fuzz.pt", &limits);
});
