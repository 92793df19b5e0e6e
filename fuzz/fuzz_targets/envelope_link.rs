//! DSSE envelopes and chain-link statements: decode, and re-encode what
//! decoded. A decoded envelope must re-encode to an envelope that decodes to
//! the same value (the reader and writer agree on the format).
#![no_main]
use libfuzzer_sys::fuzz_target;
use lbom::envelope::Envelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(data) {
        let again = Envelope::decode(&env.encode());
        assert_eq!(again.ok().as_ref(), Some(&env));
        let _ = env.pae();
    }
    let _ = lbom::bundle::chain::parse_link("chain/0001.dsse.json", data);
});
