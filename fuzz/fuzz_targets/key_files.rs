//! Key files: SPKI public keys and PKCS#8 secret keys, plain and encrypted.
//! The encrypted path runs only the parameter checks and the decryption the
//! checked parameters allow (a cheap scrypt cost in the corpus).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = lbom::envelope::PublicKey::from_pem(text) {
        // A parsed key re-encodes to a PEM that parses to the same key id.
        let again = key.to_pem().ok().and_then(|p| lbom::envelope::PublicKey::from_pem(&p).ok());
        assert_eq!(again.map(|k| k.key_id()), Some(key.key_id()));
    }
    let _ = lbom::sign::SigningKey::from_pem(text, None);
    let _ = lbom::sign::SigningKey::from_pem(text, Some(b"fuzz"));
});
