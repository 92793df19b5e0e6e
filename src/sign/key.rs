//! Ed25519 signing keys and their files: `NAME.key` (PKCS#8 PEM, RFC 5958,
//! optionally encrypted with PBES2 = scrypt + AES-256-CBC, RFC 8018 / 7914)
//! and `NAME.pub` (SubjectPublicKeyInfo PEM, RFC 8410).

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use zeroize::Zeroizing;

use super::Error;

/// scrypt cost for encrypted key files: 2^15 iterations of the memory-hard
/// mix (about 32 MiB and a fraction of a second per unlock), r = 8, p = 1.
pub const SCRYPT_LOG_N: u8 = 15;
use crate::envelope::{KeyId, PublicKey};

/// Largest key file read: 64 KiB (an Ed25519 PEM is < 1 KiB).
const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// An Ed25519 signing key. `Debug` shows only the key id; the secret is
/// zeroized on drop (ed25519-dalek's `ZeroizeOnDrop`).
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public.key_id())
    }
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| Error::Random(e.to_string()))?;
        Self::from_seed(&seed)
    }

    /// The key with this 32-byte RFC 8032 seed (tests and vectors).
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, Error> {
        Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_dalek(inner: ed25519_dalek::SigningKey) -> Result<Self, Error> {
        let public = PublicKey::from_verifying_key(inner.verifying_key())?;
        Ok(Self { inner, public })
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key id (SHA-256 of the public key's SPKI DER).
    pub fn key_id(&self) -> KeyId {
        self.public.key_id()
    }

    /// Sign `message` (Ed25519, RFC 8032 pure).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.inner.sign(message).to_bytes().to_vec()
    }

    /// Parse a PKCS#8 PEM: `PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` when a
    /// passphrase is given.
    pub fn from_pem(pem: &str, passphrase: Option<&[u8]>) -> Result<Self, Error> {
        let pem = pem.trim();
        let encrypted = pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----");
        let inner = match (encrypted, passphrase) {
            (true, Some(p)) => {
                check_encryption_cost(pem)?;
                ed25519_dalek::SigningKey::from_pkcs8_encrypted_pem(pem, p)
                    .map_err(|_| Error::WrongPassphrase)?
            }
            (true, None) => return Err(Error::PassphraseRequired),
            (false, _) => ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map_err(|_| Error::KeyFormat(not_a_secret_key(pem)))?,
        };
        Self::from_dalek(inner)
    }

    /// PKCS#8 PEM, encrypted (scrypt log2 N = `SCRYPT_LOG_N`, r = 8,
    /// p = 1; AES-256-CBC) when a passphrase is given.
    pub fn to_pem(&self, passphrase: Option<&[u8]>) -> Result<Zeroizing<String>, Error> {
        let format = |e: &dyn fmt::Display| Error::KeyFormat(format!("cannot encode the key: {e}"));
        let Some(passphrase) = passphrase else {
            return self
                .inner
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| format(&e));
        };
        // pkcs8's own `encrypt` uses pkcs5's default cost (log2 N = 14); the
        // cost is chosen here, explicitly, so the key file says what the
        // format document promises.
        let der = self.inner.to_pkcs8_der().map_err(|e| format(&e))?;
        let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_bytes()).map_err(|e| format(&e))?;
        let mut salt = Zeroizing::new([0u8; 16]);
        let mut iv = [0u8; 16];
        getrandom::fill(salt.as_mut_slice()).map_err(|e| Error::Random(e.to_string()))?;
        getrandom::fill(&mut iv).map_err(|e| Error::Random(e.to_string()))?;
        let cost = pkcs8::pkcs5::scrypt::Params::new(SCRYPT_LOG_N, 8, 1).map_err(|e| format(&e))?;
        let params =
            pkcs8::pkcs5::pbes2::Parameters::generate_scrypt_aes256cbc(cost, salt.as_slice(), iv)
                .map_err(|e| format(&e))?;
        let encrypted = info
            .encrypt_with_params(params, passphrase)
            .map_err(|e| format(&e))?;
        encrypted
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(|e| format(&e))
    }

    /// Read a key file written by [`keygen`].
    pub fn load(path: &Path, passphrase: Option<&[u8]>) -> Result<Self, Error> {
        let text = Zeroizing::new(read_small(path)?);
        Self::from_pem(&text, passphrase).map_err(|e| e.at(path))
    }
}

/// Why a PEM text is not a key `sign` can use, in words a person acts on
/// (the decoder's ASN.1 detail helps nobody holding the wrong file).
fn not_a_secret_key(pem: &str) -> String {
    let label = pem
        .lines()
        .next()
        .and_then(|l| l.trim().strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
        .unwrap_or("");
    match label {
        "PUBLIC KEY" => "this is a public key (NAME.pub); signing needs the secret key, NAME.key, from the same `lbom keygen`".to_owned(),
        "PRIVATE KEY" => "a PKCS#8 secret key, but not an Ed25519 one; use a key made by `lbom keygen`".to_owned(),
        "" => "not a PEM key file; use the NAME.key file `lbom keygen` wrote".to_owned(),
        other => format!(
            "a {} PEM block, not the Ed25519 PKCS#8 secret key `lbom keygen` writes",
            crate::safe::visible(&other.chars().take(40).collect::<String>())
        ),
    }
}

/// Largest scrypt cost a key file may ask for: N = 2^20 with r = 8 is
/// 1 GiB of memory (128·r·N bytes), 32 times what `keygen` writes. The cost
/// is read from the file before anything is derived, so a planted key file
/// cannot make lbom allocate terabytes (scrypt N up to 2^63, r up to 65535)
/// or spin for hours (PBKDF2 up to 2^32 iterations).
const MAX_SCRYPT_LOG_N: u32 = 20;
const MAX_SCRYPT_R: u16 = 8;
const MAX_SCRYPT_P: u16 = 4;
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Refuse an encrypted key whose key-derivation cost is beyond the caps.
fn check_encryption_cost(pem: &str) -> Result<(), Error> {
    use pkcs8::pkcs5::{EncryptionScheme, pbes2::Kdf};
    let format = |e: &dyn fmt::Display| {
        Error::KeyFormat(format!(
            "not an encrypted key file `lbom keygen --passphrase-env` writes ({e})"
        ))
    };
    let (_, der) = pkcs8::Document::from_pem(pem).map_err(|e| format(&e))?;
    let info =
        pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_bytes()).map_err(|e| format(&e))?;
    let too_costly = |what: String| {
        Error::KeyFormat(format!(
            "the key file asks for {what}, above lbom's limit (scrypt N <= 2^{MAX_SCRYPT_LOG_N}, r <= {MAX_SCRYPT_R}, p <= {MAX_SCRYPT_P}; PBKDF2 <= {MAX_PBKDF2_ITERATIONS} iterations)"
        ))
    };
    match &info.encryption_algorithm {
        EncryptionScheme::Pbes2(params) => match &params.kdf {
            Kdf::Scrypt(s) => {
                if s.cost_parameter > 1u64 << MAX_SCRYPT_LOG_N
                    || s.block_size > MAX_SCRYPT_R
                    || s.parallelization > MAX_SCRYPT_P
                {
                    return Err(too_costly(format!(
                        "scrypt N={}, r={}, p={}",
                        s.cost_parameter, s.block_size, s.parallelization
                    )));
                }
                Ok(())
            }
            Kdf::Pbkdf2(k) if k.iteration_count > MAX_PBKDF2_ITERATIONS => Err(too_costly(
                format!("{} PBKDF2 iterations", k.iteration_count),
            )),
            Kdf::Pbkdf2(_) => Ok(()),
            _ => Err(Error::KeyFormat(
                "the key file's key-derivation function is not scrypt or PBKDF2".into(),
            )),
        },
        _ => Err(Error::KeyFormat(
            "the key file is not PBES2-encrypted (RFC 8018 section 6.2); PBES1 is obsolete and not accepted".into(),
        )),
    }
}

/// Read a public key file (SPKI PEM).
#[cfg(any(test, feature = "internals"))]
pub fn load_public_key(path: &Path) -> Result<PublicKey, Error> {
    let text = read_small(path)?;
    PublicKey::from_pem(&text).map_err(|e| Error::from(e).at(path))
}

fn read_small(path: &Path) -> Result<String, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_KEY_FILE_BYTES {
        return Err(Error::KeyFileTooLarge {
            path: path.to_path_buf(),
            size: len,
        });
    }
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(file, MAX_KEY_FILE_BYTES),
        &mut text,
    )
    .map_err(io)?;
    Ok(text)
}

/// The two files `keygen` writes for `NAME`: `NAME.key`, `NAME.pub`.
pub fn key_file_paths(name: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut s = OsString::from(name.as_os_str());
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".key"), with(".pub"))
}

/// Generate an Ed25519 key pair and write `NAME.key` (mode 0600, created
/// with `O_CREAT|O_EXCL`, encrypted when `passphrase` is given) and
/// `NAME.pub` (mode 0644). Refuses to overwrite either file. Returns the
/// key id. On failure after the first file was created, both are removed.
pub fn keygen(name: &Path, passphrase: Option<&[u8]>) -> Result<KeyId, Error> {
    let key = SigningKey::generate()?;
    write_key_files(&key, name, passphrase)?;
    Ok(key.key_id())
}

/// Write `key` as `NAME.key` + `NAME.pub` (see [`keygen`]).
pub fn write_key_files(
    key: &SigningKey,
    name: &Path,
    passphrase: Option<&[u8]>,
) -> Result<(), Error> {
    let (key_path, pub_path) = key_file_paths(name);
    for p in [&key_path, &pub_path] {
        if p.symlink_metadata().is_ok() {
            return Err(Error::KeyFileExists { path: p.clone() });
        }
    }
    let secret = key.to_pem(passphrase)?;
    let public = key.public_key().to_pem()?;
    write_new(&key_path, secret.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&pub_path, public.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyFileExists {
                path: path.to_path_buf(),
            }
        } else {
            Error::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    // create_new = O_EXCL: never follows or replaces an existing file, so a
    // planted symlink cannot redirect the secret key.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn keygen_writes_0600_key_and_refuses_overwrite() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let name = dir.path().join("alice");
        let id = keygen(&name, None)?;
        let (k, p) = key_file_paths(&name);
        assert_eq!(std::fs::metadata(&k)?.permissions().mode() & 0o777, 0o600);
        let key = SigningKey::load(&k, None)?;
        assert_eq!(key.key_id(), id);
        assert_eq!(load_public_key(&p)?.key_id(), id);
        assert!(matches!(
            keygen(&name, None),
            Err(Error::KeyFileExists { .. })
        ));
        // The refused second keygen left the first pair untouched.
        assert_eq!(SigningKey::load(&k, None)?.key_id(), id);
        Ok(())
    }

    #[test]
    fn encrypted_round_trip_and_wrong_passphrase() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let name = dir.path().join("bob");
        let id = keygen(&name, Some(b"correct horse"))?;
        let (k, _) = key_file_paths(&name);
        let pem = std::fs::read_to_string(&k)?;
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert_eq!(SigningKey::load(&k, Some(b"correct horse"))?.key_id(), id);
        let inner = |r: Result<SigningKey, Error>| match r {
            Err(Error::InKeyFile { source, .. }) => Some(*source),
            _ => None,
        };
        assert!(matches!(
            inner(SigningKey::load(&k, Some(b"wrong"))),
            Some(Error::WrongPassphrase)
        ));
        assert!(matches!(
            inner(SigningKey::load(&k, None)),
            Some(Error::PassphraseRequired)
        ));
        Ok(())
    }

    /// An encrypted key file naming an expensive key derivation, built
    /// without running it (the cost is what the test is about).
    fn costly_key_pem(log_n: u8) -> Result<String, Box<dyn std::error::Error>> {
        use pkcs8::der::asn1::OctetStringRef;
        use pkcs8::pkcs5::{EncryptionScheme, pbes2, scrypt};
        let params = pbes2::Parameters::generate_scrypt_aes256cbc(
            scrypt::Params::new(log_n, 8, 1)?,
            &[1u8; 16],
            [2u8; 16],
        )?;
        let info = pkcs8::EncryptedPrivateKeyInfoRef {
            encryption_algorithm: EncryptionScheme::Pbes2(params),
            encrypted_data: OctetStringRef::new(&[0u8; 48])?,
        };
        let doc = pkcs8::SecretDocument::try_from(&info)?;
        Ok(doc
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)?
            .to_string())
    }

    #[test]
    fn a_key_file_asking_for_terabytes_of_scrypt_is_refused_before_deriving()
    -> Result<(), Box<dyn std::error::Error>> {
        // N = 2^30, r = 8: 1 TiB if derived. Refused from the parameters.
        let pem = costly_key_pem(30)?;
        match SigningKey::from_pem(&pem, Some(b"x")) {
            Err(Error::KeyFormat(m)) => assert!(m.contains("N=1073741824"), "{m}"),
            other => panic!(
                "expected a cost refusal, got {:?}",
                other.map(|k| k.key_id())
            ),
        }
        // At the cap the parameters pass and the (wrong) data fails to
        // decrypt: the check does not refuse reasonable costs.
        let pem = costly_key_pem(10)?;
        assert!(matches!(
            SigningKey::from_pem(&pem, Some(b"x")),
            Err(Error::WrongPassphrase)
        ));
        Ok(())
    }

    #[test]
    fn debug_shows_key_id_only() -> Result<(), Error> {
        let key = SigningKey::from_seed(&[7u8; 32])?;
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("SigningKey({})", key.key_id()));
        assert!(!shown.contains(&hex::encode([7u8; 32])));
        Ok(())
    }

    /// RFC 8032 §7.1 TEST 1: the public key of the all-known seed, checked
    /// against the RFC's literal, and the key id against an SPKI DER built
    /// by hand from RFC 8410 §4 (prefix 302a300506032b6570032100).
    #[test]
    fn key_id_is_sha256_of_spki_der() -> Result<(), Box<dyn std::error::Error>> {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")?
                .try_into()
                .map_err(|_| "seed length")?;
        let key = SigningKey::from_seed(&seed)?;
        let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        assert_eq!(
            hex::encode(key.public_key().verifying_key().to_bytes()),
            public
        );
        let der = hex::decode(format!("302a300506032b6570032100{public}"))?;
        assert_eq!(
            key.key_id().to_string(),
            crate::io::digest::Sha256Digest::of(&der).to_hex()
        );
        Ok(())
    }
}

/// Writes keys/demo-*.{key,pub} with `keygen` (run once, on purpose:
/// `cargo test --lib make_demo_keys -- --ignored`).
#[cfg(test)]
#[test]
#[ignore = "writes the repository's demo keys"]
fn make_demo_keys() -> Result<(), Error> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("keys");
    for name in ["demo-maintainer", "demo-transfer"] {
        let id = keygen(&dir.join(name), None)?;
        println!("{name} {id}");
    }
    Ok(())
}
