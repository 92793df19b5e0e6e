//! The bundle commands end to end, through the `lbom` binary: `keygen`,
//! `pack`, `sign`, `inspect` (docs/bundle-format.md is the contract).
//!
//! What lbom writes is checked with tools that are not lbom: GNU tar lists
//! and extracts bundles, the `zstd` CLI decodes artifacts, Python's
//! `cryptography`, securesystemslib and in-toto-attestation check keys,
//! DSSE envelopes and statements, cyclonedx-python-lib validates SBOMs.
//! Digests the tests compare against are computed here from the original
//! files and the extracted entries, never taken from lbom's own output.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process;
use std::time::Duration;

use assert_cmd::Command;
use base64::Engine as _;
use common::{TestResult, fail, fixture, repo, venv};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The fixture folder packed throughout: six small files, one of them a
/// 265 KB safetensors model (the bundle tests stay well under a second each).
fn model_dir() -> PathBuf {
    fixture("safetensors/tiny-llama")
}

/// `lbom` run in `dir` with a fixed clock, so stdout and stderr are exact.
fn lbom(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbom"));
    cmd.current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "0")
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("LBOM_TEST_PASSPHRASE")
        .timeout(Duration::from_secs(60));
    cmd
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Run a program to completion and return its stdout; Err with its output
/// unless it exits 0.
fn run_ok(cmd: &mut process::Command) -> Res<Vec<u8>> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(fail(format!(
            "{cmd:?} exited {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

/// The venv's Python running `script` (a file path or `-c` code) with `args`.
fn python(args: &[&std::ffi::OsStr]) -> Res<String> {
    let mut cmd = process::Command::new(venv()?.join("bin/python"));
    cmd.args(args).env("PYTHONDONTWRITEBYTECODE", "1");
    Ok(String::from_utf8(run_ok(&mut cmd)?)?)
}

/// `verify_dsse.py ENVELOPE PUBKEY` (securesystemslib + raw PAE with
/// `cryptography` + in-toto Statement validation); Ok(true) when it accepts.
fn verify_dsse(envelope: &Path, public_key: &Path) -> Res<bool> {
    // A copy of /work/shared/tools/validators/verify_dsse.py, kept in the
    // repository so the suite runs anywhere.
    let script = repo().join("tests/tools/verify_dsse.py");
    let out = process::Command::new(venv()?.join("bin/python"))
        .arg(&script)
        .arg(envelope)
        .arg(public_key)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(0) => Ok(true),
        // A failed check exits 1 after printing what failed; anything else
        // (a traceback, a missing module) is a broken test setup.
        Some(1) if text.contains("FAIL") => Ok(false),
        code => Err(fail(format!(
            "verify_dsse.py exited {code:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ))),
    }
}

/// `keygen NAME` in `dir`; the key id it prints.
fn keygen(dir: &Path, name: &str) -> Res<String> {
    let out = lbom(dir).args(["keygen", name]).output()?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(String::from_utf8(out.stdout)?.trim_end().to_owned())
}

/// `pack MODEL -o OUT EXTRA...` in `dir`, which must succeed.
fn pack(dir: &Path, out: &str, extra: &[&str]) -> Res<()> {
    lbom(dir)
        .arg("pack")
        .arg(model_dir())
        .args(["-o", out])
        .args(extra)
        .assert()
        .success();
    Ok(())
}

/// `sign BUNDLE --key KEY --role ROLE` in `dir`, which must succeed.
fn sign(dir: &Path, bundle: &str, key: &Path, role: &str) -> Res<()> {
    lbom(dir)
        .args(["sign", bundle, "--key"])
        .arg(key)
        .args(["--role", role])
        .assert()
        .success();
    Ok(())
}

fn demo_key(name: &str) -> PathBuf {
    repo().join("keys").join(name)
}

/// GNU tar extracts `bundle` into a fresh folder below `dir`.
fn extract(dir: &Path, bundle: &str, into: &str) -> Res<PathBuf> {
    let target = dir.join(into);
    fs::create_dir(&target)?;
    run_ok(
        process::Command::new("tar")
            .arg("-xf")
            .arg(dir.join(bundle))
            .arg("-C")
            .arg(&target),
    )?;
    Ok(target)
}

/// One entry's bytes, read by GNU tar.
fn tar_entry(bundle: &Path, name: &str) -> Res<Vec<u8>> {
    run_ok(
        process::Command::new("tar")
            .arg("-xOf")
            .arg(bundle)
            .arg(name),
    )
}

/// GNU tar's list of entry names.
fn tar_names(bundle: &Path) -> Res<Vec<String>> {
    let out = run_ok(process::Command::new("tar").arg("-tf").arg(bundle))?;
    Ok(String::from_utf8(out)?.lines().map(str::to_owned).collect())
}

/// The fixture's files as (relative path, bytes), in byte order of the path.
fn model_files() -> Res<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(model_dir())? {
        let entry = entry?;
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| fail("fixture name is not UTF-8"))?;
        files.push((name, fs::read(entry.path())?));
    }
    files.sort();
    Ok(files)
}

/// Whether `a` and `b` both have at least `n` bytes and agree on them.
fn same_prefix(a: &[u8], b: &[u8], n: usize) -> bool {
    matches!((a.get(..n), b.get(..n)), (Some(x), Some(y)) if x == y)
}

/// `v` at a JSON pointer (RFC 6901), `null` when absent.
fn jv<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

/// The decoded payload of a DSSE envelope, parsed (independent base64).
fn envelope_payload(envelope: &[u8]) -> Res<Value> {
    let env: Value = serde_json::from_slice(envelope)?;
    let b64 = jv(&env, "/payload").as_str().ok_or("no payload")?;
    let payload = base64::engine::general_purpose::STANDARD.decode(b64)?;
    Ok(serde_json::from_slice(&payload)?)
}

/// Body of a PEM block with this label, base64-decoded here (not by lbom's
/// PEM library).
fn pem_der(text: &str, label: &str) -> Res<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----\n");
    let end = format!("-----END {label}-----\n");
    let body = text
        .strip_prefix(&begin)
        .and_then(|t| t.strip_suffix(&end))
        .ok_or_else(|| fail(format!("not exactly one {label} PEM block: {text:?}")))?;
    // RFC 7468: base64 lines of at most 64 characters.
    assert!(body.lines().all(|l| l.len() <= 64), "{body}");
    let joined: String = body.lines().collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(joined)?)
}

/// RFC 8410 §4 SubjectPublicKeyInfo prefix for Ed25519 (OID 1.3.101.112).
const SPKI_PREFIX: &str = "302a300506032b6570032100";

/// Bundles and pack's temporary files (`.lbom-pack-*`) in `dir`, sorted.
fn leftovers(dir: &Path) -> Res<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(".lbom") || name.ends_with(".lbom") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// `NAME.key` decrypted here, independently of lbom: PBES2 parameters read
/// with a minimal DER walker, the key derived with Python's hashlib.scrypt
/// (RFC 7914), AES-256-CBC from `cryptography`, PKCS#7 padding removed.
/// Returns (PBES2 OID, KDF OID, cipher OID, N, r, p, plaintext), as hex or
/// decimal text.
fn decrypt_key(key_path: &Path, passphrase: &str) -> Res<Vec<String>> {
    let code = r#"import sys, base64, hashlib
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives import padding
def tlv(b, i):
    t, l, i = b[i], b[i + 1], i + 2
    if l & 0x80:
        n = l & 0x7f
        l, i = int.from_bytes(b[i:i + n], 'big'), i + n
    return t, b[i:i + l], i + l
def items(b):
    out, i = [], 0
    while i < len(b):
        t, v, i = tlv(b, i)
        out.append(v)
    return out
pem = open(sys.argv[1]).read().splitlines()
der = base64.b64decode(''.join(pem[1:-1]))
alg, data = items(tlv(der, 0)[1])
pbes2_oid, params = items(alg)
kdf, enc = items(params)
kdf_oid, sp = items(kdf)
salt, n, r, p = [items(sp)[0]] + [int.from_bytes(x, 'big') for x in items(sp)[1:4]]
enc_oid, iv = items(enc)
key = hashlib.scrypt(sys.argv[2].encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=1 << 27)
d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
u = padding.PKCS7(128).unpadder()
plain = u.update(d.update(data) + d.finalize()) + u.finalize()
print(pbes2_oid.hex(), kdf_oid.hex(), enc_oid.hex(), n, r, p, plain.hex())
"#;
    let printed = python(&[
        "-c".as_ref(),
        code.as_ref(),
        key_path.as_os_str(),
        passphrase.as_ref(),
    ])?;
    Ok(printed.split_whitespace().map(str::to_owned).collect())
}

// ---------------------------------------------------------------- keygen

#[test]
fn keygen_prints_the_key_id_and_writes_pkcs8_and_spki_pem() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = lbom(dir.path()).args(["keygen", "alice"]).output()?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stderr)?,
        "lbom: wrote alice.key (secret, mode 0600) and alice.pub\n"
    );
    let stdout = String::from_utf8(out.stdout)?;
    let id = stdout.strip_suffix('\n').ok_or("no final newline")?;
    assert_eq!(id.len(), 64);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );

    let key_path = dir.path().join("alice.key");
    let pub_path = dir.path().join("alice.pub");
    assert_eq!(fs::metadata(&key_path)?.permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(&pub_path)?.permissions().mode() & 0o777, 0o644);

    // NAME.pub: SPKI DER = RFC 8410 prefix + the 32 key bytes.
    let spki = pem_der(&fs::read_to_string(&pub_path)?, "PUBLIC KEY")?;
    let spki_hex = hex::encode(&spki);
    let public = spki_hex
        .strip_prefix(SPKI_PREFIX)
        .ok_or_else(|| fail(format!("not an Ed25519 SPKI: {spki_hex}")))?;
    assert_eq!(public.len(), 64);
    // The key id is SHA-256 of the SPKI DER, computed here.
    assert_eq!(id, sha256_hex(&spki));

    // NAME.key: PKCS#8 v2 OneAsymmetricKey (RFC 5958) holding the seed and,
    // as [1] publicKey, the same public key as NAME.pub.
    let pkcs8 = hex::encode(pem_der(&fs::read_to_string(&key_path)?, "PRIVATE KEY")?);
    let seed_and_rest = pkcs8
        .strip_prefix("3051020101300506032b657004220420")
        .ok_or_else(|| fail(format!("not an Ed25519 PKCS#8 v2 key: {}", &pkcs8[..32])))?;
    let (seed, embedded) = seed_and_rest.split_at(64);
    assert_eq!(embedded, format!("812100{public}"));

    // A second implementation agrees: Python `cryptography` derives the
    // same public key from the seed and the same key id from NAME.pub.
    // (It does not load NAME.key itself: cryptography 45–50.0.2 rejects
    // PKCS#8 v2 keys, pyca/cryptography#15631; OpenSSL 3.0 `pkey` too.)
    let code = "import sys, hashlib\n\
        from cryptography.hazmat.primitives import serialization as s\n\
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey\n\
        p = s.load_pem_public_key(open(sys.argv[1], 'rb').read())\n\
        raw = lambda key: key.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw).hex()\n\
        assert raw(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sys.argv[2])).public_key()) == raw(p)\n\
        print(hashlib.sha256(p.public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)).hexdigest())\n";
    let printed = python(&[
        "-c".as_ref(),
        code.as_ref(),
        pub_path.as_os_str(),
        seed.as_ref(),
    ])?;
    assert_eq!(printed, stdout);
    Ok(())
}

#[test]
fn keygen_never_overwrites_either_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    keygen(dir.path(), "alice")?;
    let key = fs::read(dir.path().join("alice.key"))?;
    let public = fs::read(dir.path().join("alice.pub"))?;
    lbom(dir.path())
        .args(["keygen", "alice"])
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: alice.key: already exists; refusing to overwrite a key file\n");
    assert_eq!(fs::read(dir.path().join("alice.key"))?, key);
    assert_eq!(fs::read(dir.path().join("alice.pub"))?, public);
    assert_eq!(fs::read_dir(dir.path())?.count(), 2);

    // Only NAME.pub present (planted): refused, and no NAME.key appears.
    fs::write(dir.path().join("bob.pub"), "planted")?;
    lbom(dir.path())
        .args(["keygen", "bob"])
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: bob.pub: already exists; refusing to overwrite a key file\n");
    assert_eq!(fs::read(dir.path().join("bob.pub"))?, b"planted");
    assert!(!dir.path().join("bob.key").exists());

    // NAME.key a dangling symlink: never followed, its target never created.
    std::os::unix::fs::symlink(dir.path().join("stolen"), dir.path().join("eve.key"))?;
    lbom(dir.path())
        .args(["keygen", "eve"])
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: eve.key: already exists; refusing to overwrite a key file\n");
    assert!(!dir.path().join("stolen").exists());
    assert!(!dir.path().join("eve.pub").exists());
    Ok(())
}

#[test]
fn keygen_passphrase_env_must_be_set_and_non_empty() -> TestResult {
    let dir = tempfile::tempdir()?;
    lbom(dir.path())
        .args([
            "keygen",
            "alice",
            "--passphrase-env",
            "LBOM_TEST_PASSPHRASE",
        ])
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: environment variable LBOM_TEST_PASSPHRASE (--passphrase-env) is not set\n");
    lbom(dir.path())
        .args([
            "keygen",
            "alice",
            "--passphrase-env",
            "LBOM_TEST_PASSPHRASE",
        ])
        .env("LBOM_TEST_PASSPHRASE", "")
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: environment variable LBOM_TEST_PASSPHRASE (--passphrase-env) is empty\n");
    // Neither failure wrote a key file (an unencrypted one least of all).
    assert_eq!(fs::read_dir(dir.path())?.count(), 0);
    Ok(())
}

#[test]
fn encrypted_key_signs_only_with_the_right_passphrase() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = lbom(dir.path())
        .args(["keygen", "enc", "--passphrase-env", "LBOM_TEST_PASSPHRASE"])
        .env("LBOM_TEST_PASSPHRASE", "correct horse battery")
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stderr)?,
        "lbom: wrote enc.key (secret, mode 0600, encrypted) and enc.pub\n"
    );
    let id = String::from_utf8(out.stdout)?.trim_end().to_owned();
    let key_path = dir.path().join("enc.key");
    let pem = fs::read_to_string(&key_path)?;
    pem_der(&pem, "ENCRYPTED PRIVATE KEY")?;

    let fields = decrypt_key(&key_path, "correct horse battery")?;
    let [pbes2, scrypt, aes, n, r, p, plain] = fields.as_slice() else {
        return Err(fail(format!("unexpected output: {fields:?}")));
    };
    // OIDs 1.2.840.113549.1.5.13 (PBES2), 1.3.6.1.4.1.11591.4.11 (scrypt),
    // 2.16.840.1.101.3.4.1.42 (aes256-CBC); r = 8, p = 1. (N: see
    // `encrypted_key_uses_the_documented_scrypt_cost`.)
    assert_eq!(
        (
            pbes2.as_str(),
            scrypt.as_str(),
            aes.as_str(),
            r.as_str(),
            p.as_str()
        ),
        (
            "2a864886f70d01050d",
            "2b06010401da47040b",
            "60864801650304012a",
            "8",
            "1"
        )
    );
    assert!(n.parse::<u64>()? >= 1 << 14, "scrypt N = {n}");
    let public = plain
        .strip_prefix("3051020101300506032b657004220420")
        .and_then(|rest| rest.get(64..))
        .and_then(|rest| rest.strip_prefix("812100"))
        .ok_or_else(|| fail(format!("decrypted key is not Ed25519 PKCS#8 v2: {plain}")))?;
    let spki = hex::decode(format!("{SPKI_PREFIX}{public}"))?;
    let printed = sha256_hex(&spki);
    assert_eq!(printed.trim_end(), id);

    pack(dir.path(), "b.lbom", &[])?;
    let before = fs::read(dir.path().join("b.lbom"))?;
    let sign = |passphrase: Option<&str>| {
        let mut cmd = lbom(dir.path());
        cmd.args(["sign", "b.lbom", "--key", "enc.key", "--role", "maintainer"]);
        if let Some(p) = passphrase {
            cmd.args(["--passphrase-env", "LBOM_TEST_PASSPHRASE"])
                .env("LBOM_TEST_PASSPHRASE", p);
        }
        cmd
    };
    sign(Some("correct horse batterY"))
        .assert()
        .code(5)
        .stdout("")
        .stderr("lbom: key file enc.key: wrong passphrase, or a damaged encrypted key\n");
    sign(None)
        .assert()
        .code(5)
        .stdout("")
        .stderr("lbom: key file enc.key: key is encrypted: a passphrase is required\nhint: name the environment variable holding it with --passphrase-env VAR\n");
    assert_eq!(fs::read(dir.path().join("b.lbom"))?, before);
    sign(Some("correct horse battery"))
        .assert()
        .success()
        .stdout(format!("b.lbom: link 1 signed as maintainer by key {id}\n"))
        .stderr("");
    let link = dir.path().join("link1.json");
    fs::write(
        &link,
        tar_entry(&dir.path().join("b.lbom"), "chain/0001.dsse.json")?,
    )?;
    assert!(verify_dsse(&link, &dir.path().join("enc.pub"))?);
    Ok(())
}

#[test]
fn encrypted_key_uses_the_documented_scrypt_cost() -> TestResult {
    let dir = tempfile::tempdir()?;
    lbom(dir.path())
        .args(["keygen", "enc", "--passphrase-env", "LBOM_TEST_PASSPHRASE"])
        .env("LBOM_TEST_PASSPHRASE", "pw")
        .assert()
        .success();
    let fields = decrypt_key(&dir.path().join("enc.key"), "pw")?;
    // docs/bundle-format.md §7: scrypt (log2 N = 15, r = 8, p = 1).
    assert_eq!(
        fields.get(3..6),
        Some(&["32768".to_owned(), "8".to_owned(), "1".to_owned()][..])
    );
    Ok(())
}

// ------------------------------------------------------------------ pack

#[test]
fn pack_is_reproducible_and_prints_its_summary() -> TestResult {
    let dir = tempfile::tempdir()?;
    let files = model_files()?;
    let run = |out: &str| -> Res<String> {
        let o = lbom(dir.path())
            .arg("pack")
            .arg(model_dir())
            .args(["-o", out])
            .output()?;
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(String::from_utf8(o.stderr)?, "");
        Ok(String::from_utf8(o.stdout)?)
    };
    let first = run("a.lbom")?;
    let second = run("b.lbom")?;
    let a = fs::read(dir.path().join("a.lbom"))?;
    assert_eq!(a, fs::read(dir.path().join("b.lbom"))?);
    assert_eq!(
        fs::metadata(dir.path().join("a.lbom"))?
            .permissions()
            .mode()
            & 0o777,
        0o644
    );

    let manifest = tar_entry(&dir.path().join("a.lbom"), "manifest.json")?;
    let summary = |name: &str| {
        format!(
            "{name}: tiny-llama default sequence 1 ({} entries, {} bytes), manifest sha256 {}\n",
            2 * files.len() + 1,
            a.len(),
            sha256_hex(&manifest)
        )
    };
    assert_eq!(first, summary("a.lbom"));
    assert_eq!(second, summary("b.lbom"));

    // The number of hashing workers never changes the bundle.
    for (out, jobs) in [("j1.lbom", "1"), ("j3.lbom", "3")] {
        pack(dir.path(), out, &["--jobs", jobs])?;
        assert!(
            fs::read(dir.path().join(out))? == a,
            "--jobs {jobs} changed the bundle"
        );
    }

    // An explicit level is reproducible too (zstd with a fixed worker
    // count), and is a different bundle from `auto`'s level 3.
    for out in ["z1.lbom", "z2.lbom"] {
        pack(dir.path(), out, &["--compress", "zstd:19"])?;
    }
    let z1 = fs::read(dir.path().join("z1.lbom"))?;
    assert!(
        z1 == fs::read(dir.path().join("z2.lbom"))?,
        "zstd:19 is not reproducible"
    );
    assert!(z1 != a, "--compress zstd:19 made the same bytes as auto");
    Ok(())
}

#[test]
fn gnu_tar_lists_and_extracts_the_original_bytes() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "b.lbom", &[])?;
    let files = model_files()?;

    // Listing: every entry a 0644 regular file owned by 0/0 at the epoch.
    let listing = run_ok(
        process::Command::new("tar")
            .arg("-tvf")
            .arg(dir.path().join("b.lbom")),
    )?;
    let listing = String::from_utf8(listing)?;
    let names = tar_names(&dir.path().join("b.lbom"))?;
    assert_eq!(listing.lines().count(), names.len());
    for line in listing.lines() {
        assert!(line.starts_with("-rw-r--r-- 0/0 "), "{line}");
        assert!(line.contains(" 1970-01-01 00:00 "), "{line}");
    }
    // Layout (section 1): (artifact, sbom)* in byte order, attestation, manifest.
    let mut expected_order = Vec::new();
    for (name, _) in &files {
        let stored = names
            .iter()
            .find(|n| *n == &format!("artifacts/{name}") || *n == &format!("artifacts/{name}.zst"))
            .ok_or_else(|| fail(format!("no artifact entry for {name}")))?;
        expected_order.push(stored.clone());
        expected_order.push(format!("sboms/{name}.cdx.json"));
    }
    expected_order.push("attestation.intoto.json".into());
    expected_order.push("manifest.json".into());
    assert_eq!(names, expected_order);

    let out = extract(dir.path(), "b.lbom", "x")?;
    let mut compressed = 0;
    for (name, original) in &files {
        let raw = out.join("artifacts").join(name);
        let got = if raw.exists() {
            fs::read(&raw)?
        } else {
            compressed += 1;
            run_ok(
                process::Command::new("zstd")
                    .args(["-d", "-c", "-q"])
                    .arg(out.join("artifacts").join(format!("{name}.zst"))),
            )?
        };
        assert!(
            got == *original,
            "{name}: extracted bytes differ from the original"
        );
    }
    // `auto` compressed the small text files (the weights are stored raw).
    assert!(compressed > 0);
    assert!(out.join("artifacts/model.safetensors").exists());

    // The manifest's digests and sizes are those of the decoded bytes.
    let manifest: Value = serde_json::from_slice(&fs::read(out.join("manifest.json"))?)?;
    let entries = jv(&manifest, "/entries").as_array().ok_or("no entries")?;
    assert_eq!(entries.len(), 2 * files.len() + 1);
    for e in entries {
        let path = jv(e, "/path").as_str().ok_or("path")?;
        let stored = fs::read(out.join(path))?;
        assert_eq!(
            jv(e, "/stored_size").as_u64(),
            Some(stored.len() as u64),
            "{path}"
        );
        let decoded = match path.strip_prefix("artifacts/") {
            Some(p) => {
                let p = p.strip_suffix(".zst").unwrap_or(p);
                files
                    .iter()
                    .find(|(n, _)| n == p)
                    .map(|(_, b)| b.clone())
                    .ok_or("unknown artifact")?
            }
            None => stored,
        };
        assert_eq!(
            jv(e, "/size").as_u64(),
            Some(decoded.len() as u64),
            "{path}"
        );
        assert_eq!(
            jv(e, "/sha256").as_str(),
            Some(sha256_hex(&decoded).as_str()),
            "{path}"
        );
    }
    Ok(())
}

#[test]
fn every_sbom_is_valid_cyclonedx_1_6() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "b.lbom", &[])?;
    let out = extract(dir.path(), "b.lbom", "x")?;
    let mut args: Vec<std::ffi::OsString> = vec![repo().join("tests/tools/validate_cdx.py").into()];
    let mut count = 0;
    for entry in fs::read_dir(out.join("sboms"))? {
        let path = entry?.path();
        assert!(path.to_string_lossy().ends_with(".cdx.json"));
        args.push(path.into());
        count += 1;
    }
    assert_eq!(count, model_files()?.len());
    args.push("--spec".into());
    args.push("1.6".into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    python(&refs)?;
    Ok(())
}

#[test]
fn attestation_is_an_in_toto_statement_over_the_original_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "b.lbom", &[])?;
    let out = extract(dir.path(), "b.lbom", "x")?;
    let attestation = out.join("attestation.intoto.json");
    // As verify_dsse.py does: protobuf parsing rejects unknown fields, then
    // the in-toto-attestation library validates the Statement.
    let code = "import sys, json\n\
        import google.protobuf.json_format as pbj\n\
        from in_toto_attestation.v1 import statement_pb2\n\
        from in_toto_attestation.v1.statement import Statement\n\
        pb = statement_pb2.Statement()\n\
        pbj.ParseDict(json.load(open(sys.argv[1])), pb)\n\
        Statement.copy_from_pb(pb).validate()\n\
        print('valid')\n";
    let printed = python(&["-c".as_ref(), code.as_ref(), attestation.as_os_str()])?;
    assert_eq!(printed, "valid\n");

    let statement: Value = serde_json::from_slice(&fs::read(&attestation)?)?;
    assert_eq!(jv(&statement, "/_type"), "https://in-toto.io/Statement/v1");
    assert_eq!(
        jv(&statement, "/predicateType"),
        "https://slsa.dev/provenance/v1"
    );
    let expected: Vec<Value> = model_files()?
        .iter()
        .map(|(name, bytes)| {
            serde_json::json!({"name": name, "digest": {"sha256": sha256_hex(bytes)}})
        })
        .collect();
    assert_eq!(*jv(&statement, "/subject"), Value::Array(expected.clone()));
    assert_eq!(
        *jv(
            &statement,
            "/predicate/buildDefinition/resolvedDependencies"
        ),
        Value::Array(expected)
    );
    Ok(())
}

#[test]
fn previous_and_expires_are_recorded() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(
        dir.path(),
        "one.lbom",
        &["--channel", "stable", "--sequence", "41"],
    )?;
    // Signing `one` does not change its manifest digest.
    sign(
        dir.path(),
        "one.lbom",
        &demo_key("demo-maintainer.key"),
        "maintainer",
    )?;
    let one_manifest = tar_entry(&dir.path().join("one.lbom"), "manifest.json")?;
    lbom(dir.path())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("pack")
        .arg(model_dir())
        .args([
            "-o",
            "two.lbom",
            "--channel",
            "stable",
            "--previous",
            "one.lbom",
        ])
        .args(["--expires", "30d"])
        .assert()
        .success();
    let two: Value =
        serde_json::from_slice(&tar_entry(&dir.path().join("two.lbom"), "manifest.json")?)?;
    assert_eq!(jv(&two, "/sequence"), 42);
    assert_eq!(
        *jv(&two, "/previous"),
        serde_json::json!({"sequence": 41, "manifest_sha256": sha256_hex(&one_manifest)})
    );
    // 1700000000 = 2023-11-14T22:13:20Z; + 30 × 86400 s = 1702592000.
    assert_eq!(jv(&two, "/created"), "2023-11-14T22:13:20Z");
    assert_eq!(jv(&two, "/expires"), "2023-12-14T22:13:20Z");

    // The first bundle has neither.
    let one: Value = serde_json::from_slice(&one_manifest)?;
    assert_eq!(*jv(&one, "/previous"), Value::Null);
    assert_eq!(*jv(&one, "/expires"), Value::Null);
    assert_eq!(jv(&one, "/created"), "1970-01-01T00:00:00Z");
    Ok(())
}

#[test]
fn pack_refuses_to_overwrite_its_output() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::write(dir.path().join("b.lbom"), "precious")?;
    lbom(dir.path())
        .arg("pack")
        .arg(model_dir())
        .args(["-o", "b.lbom"])
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: b.lbom: already exists; refusing to overwrite\nhint: choose another --output; lbom never overwrites a bundle\n");
    assert_eq!(fs::read(dir.path().join("b.lbom"))?, b"precious");
    assert_eq!(
        fs::read_dir(dir.path())?.count(),
        1,
        "a temporary file was left"
    );
    // A dangling symlink as the output is refused too: its target is
    // never created.
    std::os::unix::fs::symlink(dir.path().join("victim.lbom"), dir.path().join("link.lbom"))?;
    lbom(dir.path())
        .arg("pack")
        .arg(model_dir())
        .args(["-o", "link.lbom"])
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: link.lbom: already exists; refusing to overwrite\nhint: choose another --output; lbom never overwrites a bundle\n");
    assert!(!dir.path().join("victim.lbom").exists());
    assert_eq!(
        fs::read_dir(dir.path())?.count(),
        2,
        "a temporary file was left"
    );
    Ok(())
}

/// Pack `in/` from `dir` into `out/b.lbom`: must fail with exactly `stderr`
/// and leave nothing in `out/`.
fn assert_pack_refused(dir: &Path, stderr: &str) -> TestResult {
    fs::create_dir_all(dir.join("out"))?;
    lbom(dir)
        .args(["pack", "in", "-o", "out/b.lbom"])
        .timeout(Duration::from_secs(20))
        .assert()
        .failure()
        .stdout("")
        .stderr(stderr.to_owned());
    assert_eq!(leftovers(&dir.join("out"))?, Vec::<String>::new());
    assert_eq!(fs::read_dir(dir.join("out"))?.count(), 0);
    Ok(())
}

#[test]
fn pack_refuses_a_symlink_out_of_the_inputs() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::create_dir_all(dir.path().join("in"))?;
    fs::create_dir_all(dir.path().join("outside"))?;
    fs::write(dir.path().join("outside/secret.txt"), "secret")?;
    fs::write(dir.path().join("in/a.txt"), "a")?;
    std::os::unix::fs::symlink("../outside/secret.txt", dir.path().join("in/link.txt"))?;
    assert_pack_refused(
        dir.path(),
        "lbom: in/link.txt: symlink points outside the inputs\n",
    )?;
    // A symlink to a file inside the inputs is packed as a regular file
    // under the link's name (section 4).
    fs::remove_file(dir.path().join("in/link.txt"))?;
    std::os::unix::fs::symlink("a.txt", dir.path().join("in/alias.txt"))?;
    lbom(dir.path())
        .args(["pack", "in", "-o", "inside.lbom"])
        .assert()
        .success();
    let inside = dir.path().join("inside.lbom");
    assert_eq!(tar_entry(&inside, "artifacts/alias.txt")?, b"a");
    let listing = run_ok(process::Command::new("tar").arg("-tvf").arg(&inside))?;
    assert!(
        String::from_utf8(listing)?
            .lines()
            .all(|l| l.starts_with("-rw-r--r-- "))
    );
    fs::remove_file(dir.path().join("in/alias.txt"))?;

    // Absolute target: refused like the relative one.
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("in/link.txt"))?;
    assert_pack_refused(
        dir.path(),
        "lbom: in/link.txt: symlink points outside the inputs\n",
    )
}

#[test]
fn pack_refuses_a_fifo_without_hanging() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::create_dir_all(dir.path().join("in"))?;
    fs::write(dir.path().join("in/a.txt"), "a")?;
    run_ok(process::Command::new("mkfifo").arg(dir.path().join("in/model.gguf")))?;
    assert_pack_refused(
        dir.path(),
        "lbom: in/model.gguf: special file (FIFO) cannot be packed\n",
    )
}

#[test]
fn pack_refuses_a_name_not_in_nfc() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::create_dir_all(dir.path().join("in"))?;
    // "café" with U+0301 COMBINING ACUTE ACCENT: NFD, not NFC.
    fs::write(dir.path().join("in/cafe\u{301}.txt"), "a")?;
    assert_pack_refused(
        dir.path(),
        "lbom: in/cafe\u{301}.txt: path \"cafe\\u{301}.txt\" is not in Unicode normalization form C\n",
    )
}

#[test]
fn pack_refuses_names_colliding_ignoring_case() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::create_dir_all(dir.path().join("in"))?;
    fs::write(dir.path().join("in/Model.gguf"), "a")?;
    fs::write(dir.path().join("in/model.GGUF"), "b")?;
    assert_pack_refused(
        dir.path(),
        "lbom: in/model.GGUF: path \"model.GGUF\" collides with \"Model.gguf\" (same name ignoring case or Unicode normalization, or a file used as a folder)\n",
    )
}

#[test]
fn pack_refuses_inconsistent_chain_options_and_bad_labels() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "one.lbom", &["--channel", "stable"])?;
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "--previous",
                "one.lbom",
                "--channel",
                "stable",
                "--sequence",
                "1",
            ],
            "lbom: sequence 1 must be greater than the previous bundle's 1\n",
        ),
        (
            &["--previous", "one.lbom", "--channel", "beta"],
            "lbom: --channel \"beta\": the previous bundle is on channel \"stable\"; leave out --channel to keep it\n",
        ),
        (
            &["--expires", "0d"],
            "lbom: --expires \"0d\" must be positive\n",
        ),
        (
            &["--name", "../evil"],
            "lbom: name \"../evil\" must be 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit\n",
        ),
        (
            &["--channel", ""],
            "lbom: channel \"\" must be 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit\n",
        ),
    ];
    for (extra, stderr) in cases {
        lbom(dir.path())
            .arg("pack")
            .arg(model_dir())
            .args(["-o", "two.lbom"])
            .args(extra)
            .assert()
            .failure()
            .stdout("")
            .stderr(stderr);
        assert_eq!(leftovers(dir.path())?, ["one.lbom"], "after {extra:?}");
    }
    Ok(())
}

#[test]
fn sign_refuses_bad_roles_and_notes_without_touching_the_bundle() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "b.lbom", &[])?;
    let before = fs::read(dir.path().join("b.lbom"))?;
    let cases = [
        (
            vec!["--role", "../x"],
            "lbom: role \"../x\" must be 1 to 128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit\n",
        ),
        (
            vec!["--role", "maintainer", "--note", "line\nbreak"],
            "lbom: note must be 1 to 1024 bytes without control, line-separator or bidirectional formatting characters (no note: leave it out)\n",
        ),
    ];
    let long_note = "n".repeat(1025);
    let refused = "lbom: note must be 1 to 1024 bytes without control, line-separator or bidirectional formatting characters (no note: leave it out)\n";
    let cases = cases.into_iter().chain([
        (vec!["--role", "maintainer", "--note", ""], refused),
        (
            vec!["--role", "maintainer", "--note", "ok\u{2028}chain.signatures pass"],
            refused,
        ),
        (vec!["--role", "maintainer", "--note", "a\u{202e}b"], refused),
    ]).chain([(
        vec!["--role", "maintainer", "--note", long_note.as_str()],
        "lbom: note must be 1 to 1024 bytes without control, line-separator or bidirectional formatting characters (no note: leave it out)\n",
    )]);
    for (extra, stderr) in cases {
        lbom(dir.path())
            .args(["sign", "b.lbom", "--key"])
            .arg(demo_key("demo-maintainer.key"))
            .args(&extra)
            .assert()
            .failure()
            .stdout("")
            .stderr(stderr);
        assert!(
            fs::read(dir.path().join("b.lbom"))? == before,
            "after {extra:?}"
        );
    }
    Ok(())
}

// ------------------------------------------------------------------ sign

#[test]
fn sign_appends_one_verifiable_link_and_keeps_every_earlier_byte() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("b.lbom");
    pack(dir.path(), "b.lbom", &[])?;
    let names0 = tar_names(&bundle)?;
    let bytes0 = fs::read(&bundle)?;
    let maintainer = keygen(dir.path(), "maintainer")?;

    lbom(dir.path())
        .args([
            "sign",
            "b.lbom",
            "--key",
            "maintainer.key",
            "--role",
            "maintainer",
        ])
        .args(["--note", "release 1"])
        .assert()
        .success()
        .stdout(format!(
            "b.lbom: link 1 signed as maintainer by key {maintainer}\n"
        ))
        .stderr("");
    let bytes1 = fs::read(&bundle)?;
    let old_end = bytes0.len() - 1024;
    assert!(bytes1.len() > bytes0.len());
    assert!(
        same_prefix(&bytes1, &bytes0, old_end),
        "sign changed bytes before the end marker"
    );
    let mut names1 = names0.clone();
    names1.push("chain/0001.dsse.json".into());
    assert_eq!(tar_names(&bundle)?, names1);

    let transfer_id = lbom::envelope::DEMO_KEY_IDS[1];
    lbom(dir.path())
        .args(["sign", "b.lbom", "--key"])
        .arg(demo_key("demo-transfer.key"))
        .args(["--role", "transfer"])
        .assert()
        .success()
        .stdout(format!(
            "b.lbom: link 2 signed as transfer by key {transfer_id}\n"
        ))
        .stderr("");
    let bytes2 = fs::read(&bundle)?;
    let old_end = bytes1.len() - 1024;
    assert!(
        same_prefix(&bytes2, &bytes1, old_end),
        "sign changed bytes before the end marker"
    );
    let mut names2 = names1.clone();
    names2.push("chain/0002.dsse.json".into());
    assert_eq!(tar_names(&bundle)?, names2);
    // The file still ends with exactly the 1024-byte end marker.
    assert!(bytes2.ends_with(&[0u8; 1024]));

    // Each link, extracted by GNU tar, verifies with an independent verifier
    // under its signer's key, and under no other key.
    let out = extract(dir.path(), "b.lbom", "x")?;
    let link1 = out.join("chain/0001.dsse.json");
    let link2 = out.join("chain/0002.dsse.json");
    let maintainer_pub = dir.path().join("maintainer.pub");
    let transfer_pub = demo_key("demo-transfer.pub");
    assert!(verify_dsse(&link1, &maintainer_pub)?);
    assert!(verify_dsse(&link2, &transfer_pub)?);
    assert!(!verify_dsse(&link1, &transfer_pub)?);
    assert!(!verify_dsse(&link2, &maintainer_pub)?);

    // Both sign the manifest; link 2 names link 1 by its entry bytes' digest.
    let manifest_digest = sha256_hex(&fs::read(out.join("manifest.json"))?);
    let link1_bytes = fs::read(&link1)?;
    let s1 = envelope_payload(&link1_bytes)?;
    let s2 = envelope_payload(&fs::read(&link2)?)?;
    for s in [&s1, &s2] {
        assert_eq!(
            *jv(s, "/subject"),
            serde_json::json!([{"name": "manifest.json", "digest": {"sha256": manifest_digest}}])
        );
        assert_eq!(jv(s, "/predicateType"), "urn:lbom:predicate:chain-link:v1");
    }
    assert_eq!(jv(&s1, "/predicate/index"), 1);
    assert_eq!(jv(&s1, "/predicate/role"), "maintainer");
    assert_eq!(jv(&s1, "/predicate/keyid"), maintainer.as_str());
    assert_eq!(jv(&s1, "/predicate/note"), "release 1");
    assert_eq!(jv(&s1, "/predicate").get("previous"), None);
    assert_eq!(jv(&s2, "/predicate/index"), 2);
    assert_eq!(jv(&s2, "/predicate/keyid"), transfer_id);
    assert_eq!(
        *jv(&s2, "/predicate/previous"),
        serde_json::json!({"path": "chain/0001.dsse.json", "sha256": sha256_hex(&link1_bytes)})
    );
    Ok(())
}

#[test]
fn sign_refuses_a_bundle_another_process_is_signing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("b.lbom");
    pack(dir.path(), "b.lbom", &[])?;
    let before = fs::read(&bundle)?;
    // The same lock `sign` takes (src/sign/mod.rs: `File::try_lock`, an
    // exclusive flock on its own open file description).
    let held = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&bundle)?;
    held.try_lock()?;
    lbom(dir.path())
        .args(["sign", "b.lbom", "--key"])
        .arg(demo_key("demo-maintainer.key"))
        .args(["--role", "maintainer"])
        .assert()
        .code(10)
        .stdout("")
        .stderr("lbom: b.lbom: another process is signing this bundle\nhint: wait for the other `lbom sign` to finish, then sign again\n");
    assert!(
        fs::read(&bundle)? == before,
        "a refused sign changed the bundle"
    );
    held.unlock()?;
    drop(held);
    sign(
        dir.path(),
        "b.lbom",
        &demo_key("demo-maintainer.key"),
        "maintainer",
    )?;
    assert_eq!(
        tar_names(&bundle)?.last().map(String::as_str),
        Some("chain/0001.dsse.json")
    );
    Ok(())
}

/// A bundle with links signed by the two demo keys; its size with one link.
fn two_link_bundle(dir: &Path) -> Res<u64> {
    lbom(dir)
        .arg("pack")
        .arg(model_dir())
        .args(["-o", "b.lbom", "--key"])
        .arg(demo_key("demo-maintainer.key"))
        .args(["--role", "maintainer"])
        .assert()
        .success();
    let one = fs::metadata(dir.join("b.lbom"))?.len();
    sign(dir, "b.lbom", &demo_key("demo-transfer.key"), "transfer")?;
    Ok(one)
}

fn truncate(path: &Path, len: u64) -> TestResult {
    fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(len)?;
    Ok(())
}

/// The marker an interrupted `lbom sign` leaves beside the bundle, naming
/// the offset its link starts at (docs/bundle-format.md, section 8).
fn interrupted_sign_marker(bundle: &Path, offset: u64) -> TestResult {
    let mut name = bundle.file_name().ok_or("no name")?.to_os_string();
    name.push(".signing");
    fs::write(
        bundle.with_file_name(name),
        format!("lbom sign in progress; link starts at offset {offset}\n"),
    )?;
    Ok(())
}

fn marker_exists(bundle: &Path) -> bool {
    let mut name = bundle.file_name().unwrap_or_default().to_os_string();
    name.push(".signing");
    bundle.with_file_name(name).exists()
}

#[test]
fn a_torn_last_link_is_refused_by_inspect_and_repaired_by_sign() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("b.lbom");
    let one_link_len = two_link_bundle(dir.path())?;
    let one_link = fs::read(&bundle)?
        .get(..usize::try_from(one_link_len)?)
        .ok_or("short")?
        .to_vec();
    // Link 2's header starts where the one-link bundle's end marker was.
    let torn_at = one_link_len - 1024;
    // Cut in the middle of link 2's envelope: header + 200 data bytes, by
    // a sign that was interrupted (its marker is left beside the bundle).
    truncate(&bundle, torn_at + 512 + 200)?;
    interrupted_sign_marker(&bundle, torn_at)?;
    lbom(dir.path()).args(["inspect", "b.lbom"]).assert().code(3).stdout("").stderr(format!(
        "lbom: b.lbom: an interrupted `lbom sign` left an incomplete link at offset {torn_at}: run the same `lbom sign` again to finish it\n"
    ));

    let key = demo_key("demo-transfer.key");
    lbom(dir.path())
        .args(["sign", "b.lbom", "--key"])
        .arg(&key)
        .args(["--role", "transfer"])
        .assert()
        .success()
        .stdout(format!(
            "b.lbom: link 2 signed as transfer by key {}\n",
            lbom::envelope::DEMO_KEY_IDS[1]
        ))
        .stderr(format!(
            "lbom: b.lbom: removed an incomplete link left by an interrupted sign (from byte {torn_at})\n"
        ));
    let repaired = fs::read(&bundle)?;
    let keep = usize::try_from(torn_at)?;
    assert!(
        same_prefix(&repaired, &one_link, keep),
        "repair changed bytes before the torn link"
    );
    assert!(!marker_exists(&bundle), "sign left its marker behind");
    let out = extract(dir.path(), "b.lbom", "x")?;
    assert!(verify_dsse(
        &out.join("chain/0001.dsse.json"),
        &demo_key("demo-maintainer.pub")
    )?);
    assert!(verify_dsse(
        &out.join("chain/0002.dsse.json"),
        &demo_key("demo-transfer.pub")
    )?);
    let s2 = envelope_payload(&fs::read(out.join("chain/0002.dsse.json"))?)?;
    assert_eq!(
        *jv(&s2, "/predicate/previous/sha256"),
        sha256_hex(&fs::read(out.join("chain/0001.dsse.json"))?)
    );
    let info: Value = serde_json::from_slice(
        &lbom(dir.path())
            .args(["inspect", "b.lbom", "--format", "json"])
            .output()?
            .stdout,
    )?;
    assert_eq!(jv(&info, "/links").as_array().map(Vec::len), Some(2));
    Ok(())
}

#[test]
fn a_link_whose_end_marker_is_short_is_cut_and_signed_again() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("b.lbom");
    let one_link_len = two_link_bundle(dir.path())?;
    let full = fs::metadata(&bundle)?.len();
    // Link 2 complete, half of its end marker missing, and the marker of
    // the sign that wrote it: its append never finished, so link 2 goes
    // (section 8).
    truncate(&bundle, full - 512)?;
    interrupted_sign_marker(&bundle, one_link_len - 1024)?;
    lbom(dir.path())
        .args(["inspect", "b.lbom"])
        .assert()
        .failure()
        .stdout("");
    lbom(dir.path())
        .args(["sign", "b.lbom", "--key"])
        .arg(demo_key("demo-transfer.key"))
        .args(["--role", "transfer"])
        .assert()
        .success()
        .stderr(format!(
            "lbom: b.lbom: removed an incomplete link left by an interrupted sign (from byte {})\n",
            one_link_len - 1024
        ));
    let out = extract(dir.path(), "b.lbom", "x")?;
    assert!(verify_dsse(
        &out.join("chain/0002.dsse.json"),
        &demo_key("demo-transfer.pub")
    )?);
    assert_eq!(fs::read_dir(out.join("chain"))?.count(), 2);
    Ok(())
}

/// A two-link bundle damaged by `damage(bytes, link2_offset)` as an
/// interrupted third-party append could leave it; then `sign` with the
/// transfer key. Returns the bundle before damage, the offset of link 2's
/// header (the one-link bundle's end marker), sign's stderr and exit code.
fn sign_after_damage(
    dir: &Path,
    damage: impl Fn(&mut Vec<u8>, usize),
) -> Res<(Vec<u8>, usize, String, Option<i32>)> {
    let one_link_len = two_link_bundle(dir)?;
    let bundle = dir.join("b.lbom");
    let original = fs::read(&bundle)?;
    let torn_at = usize::try_from(one_link_len - 1024)?;
    let mut bytes = original.clone();
    damage(&mut bytes, torn_at);
    fs::write(&bundle, &bytes)?;
    interrupted_sign_marker(&bundle, one_link_len - 1024)?;
    let out = lbom(dir)
        .args(["sign", "b.lbom", "--key"])
        .arg(demo_key("demo-transfer.key"))
        .args(["--role", "transfer"])
        .output()?;
    Ok((
        original,
        torn_at,
        String::from_utf8(out.stderr)?,
        out.status.code(),
    ))
}

/// Every link of `dir/b.lbom`, opened with the library, verifies under
/// the demo keys (maintainer for link 1, transfer after); returns the count.
fn verified_links(dir: &Path) -> Res<usize> {
    let opened = lbom::bundle::open(&dir.join("b.lbom"), &lbom::bundle::ReadLimits::default())?;
    let maintainer = lbom::sign::load_public_key(&demo_key("demo-maintainer.pub"))?;
    let transfer = lbom::sign::load_public_key(&demo_key("demo-transfer.pub"))?;
    let mut file = std::fs::File::open(dir.join("b.lbom"))?;
    for (i, (entry, info)) in opened.links.iter().enumerate() {
        let (envelope, _) = lbom::bundle::read::read_link(
            &dir.join("b.lbom"),
            &mut file,
            entry,
            &lbom::bundle::ReadLimits::default(),
        )?;
        let key = if i == 0 { &maintainer } else { &transfer };
        assert!(envelope.is_signed_by(key), "link {} does not verify", i + 1);
        assert_eq!(info.manifest_sha256, opened.manifest_sha256);
    }
    Ok(opened.links.len())
}

#[test]
fn torn_tails_of_other_shapes_are_repaired_without_losing_complete_links() -> TestResult {
    // Link 2's append wrote only its first 1024 bytes, over the old end
    // marker (the file keeps its old length): link 2 goes, link 1 stays.
    let dir = tempfile::tempdir()?;
    let (original, torn_at, stderr, code) =
        sign_after_damage(dir.path(), |b, at| b.truncate(at + 1024))?;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "lbom: b.lbom: removed an incomplete link left by an interrupted sign (from byte {torn_at})\n"
        )
    );
    let after = fs::read(dir.path().join("b.lbom"))?;
    assert!(same_prefix(&after, &original, torn_at));
    assert_eq!(verified_links(dir.path())?, 2);

    // Only the first 100 bytes of link 2's header reached the disk.
    let dir = tempfile::tempdir()?;
    let (original, torn_at, stderr, code) = sign_after_damage(dir.path(), |b, at| {
        let header: Vec<u8> = b.get(at..at + 100).unwrap_or_default().to_vec();
        b.truncate(at);
        b.extend_from_slice(&header);
        b.resize(at + 1024, 0);
    })?;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "lbom: b.lbom: removed an incomplete link left by an interrupted sign (from byte {})\n",
            torn_at
        )
    );
    let after = fs::read(dir.path().join("b.lbom"))?;
    assert!(same_prefix(&after, &original, torn_at));
    assert_eq!(verified_links(dir.path())?, 2);

    // Garbage in the end marker after link 2, whose sign's marker is still
    // there: link 2's append never finished, so it goes and link 1 stays.
    let dir = tempfile::tempdir()?;
    let (original, torn_at, stderr, code) = sign_after_damage(dir.path(), |b, _| {
        let end = b.len();
        if let Some(marker) = b.get_mut(end - 1024..end - 1000) {
            marker.fill(b'x');
        }
    })?;
    assert_eq!(code, Some(0), "{stderr}");
    let after = fs::read(dir.path().join("b.lbom"))?;
    assert!(same_prefix(&after, &original, torn_at));
    assert_eq!(verified_links(dir.path())?, 2);
    Ok(())
}

#[test]
fn a_copy_cut_short_is_named_as_such_and_sign_never_removes_a_complete_link() -> TestResult {
    // The same damage as an interrupted sign leaves, but no sign was
    // interrupted on this file (no marker): a copy that did not finish.
    // Every reader says to copy it again; sign refuses and changes nothing,
    // so the complete link 2 before the cut is never removed (issue 16).
    for cut_back in [512_u64, 1024, 1024 + 300, 1024 + 512 + 7] {
        let dir = tempfile::tempdir()?;
        let bundle = dir.path().join("b.lbom");
        two_link_bundle(dir.path())?;
        let full = fs::metadata(&bundle)?.len();
        truncate(&bundle, full - cut_back)?;
        let before = fs::read(&bundle)?;
        lbom(dir.path())
            .args(["policy", "init", "-o", "p.toml", "--trust"])
            .arg(format!(
                "m={}:maintainer",
                demo_key("demo-maintainer.pub").display()
            ))
            .assert()
            .success();
        for args in [
            vec!["inspect", "b.lbom"],
            vec!["verify", "b.lbom", "--policy", "p.toml"],
        ] {
            let out = lbom(dir.path()).args(&args).output()?;
            assert_eq!(out.status.code(), Some(3), "{args:?}");
            let stderr = format!(
                "{}{}",
                String::from_utf8(out.stdout)?,
                String::from_utf8(out.stderr)?
            );
            assert!(
                stderr.contains("the bundle is cut short")
                    && stderr.contains("copy it again from its source")
                    && !stderr.contains("sign again"),
                "{args:?} cut back {cut_back}: {stderr}"
            );
        }
        let out = lbom(dir.path())
            .args(["sign", "b.lbom", "--key"])
            .arg(demo_key("demo-transfer.key"))
            .args(["--role", "transfer"])
            .output()?;
        let stderr = String::from_utf8(out.stderr)?;
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains("copy it again"), "{stderr}");
        assert!(
            fs::read(&bundle)? == before,
            "sign changed a truncated copy"
        );
        assert!(!marker_exists(&bundle));
    }
    Ok(())
}

#[test]
fn a_lost_link_header_never_costs_the_complete_link_before_it() -> TestResult {
    // Link 2's append reached the disk except its header block (still the
    // zeros of link 1's end marker): a zero block followed by data. Link 1
    // and its end marker were written and fsynced by an earlier, finished
    // sign; only link 2's append is torn, so only it may be cut
    // (docs/bundle-format.md section 8).
    let dir = tempfile::tempdir()?;
    let (original, torn_at, stderr, code) = sign_after_damage(dir.path(), |b, at| {
        if let Some(header) = b.get_mut(at..at + 512) {
            header.fill(0);
        }
    })?;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "lbom: b.lbom: removed an incomplete link left by an interrupted sign (from byte {torn_at})\n"
        )
    );
    let after = fs::read(dir.path().join("b.lbom"))?;
    assert!(
        same_prefix(&after, &original, torn_at),
        "the maintainer's link 1 was cut"
    );
    assert_eq!(verified_links(dir.path())?, 2);
    Ok(())
}

#[test]
fn a_complete_bundle_whose_last_link_does_not_parse_is_refused_not_repaired() -> TestResult {
    // The end marker is intact, so no append was interrupted: a link that
    // does not parse is damage, and sign must not "repair" it away.
    let dir = tempfile::tempdir()?;
    let (original, torn_at, stderr, code) = sign_after_damage(dir.path(), |b, at| {
        let end = b.len() - 1024;
        if let Some(data) = b.get_mut(at + 512..end) {
            data.fill(0);
        }
    })?;
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("not a valid DSSE envelope"), "{stderr}");
    let after = fs::read(dir.path().join("b.lbom"))?;
    assert!(same_prefix(&after, &original, torn_at));
    assert!(
        after.len() > torn_at,
        "sign cut a structurally complete bundle"
    );
    Ok(())
}

#[test]
fn damage_before_the_chain_is_never_repaired() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bundle = dir.path().join("b.lbom");
    pack(dir.path(), "b.lbom", &["--compress", "none"])?;
    // Cut inside the model weights.
    truncate(&bundle, 100_000)?;
    let before = fs::read(&bundle)?;
    lbom(dir.path())
        .args(["sign", "b.lbom", "--key"])
        .arg(demo_key("demo-transfer.key"))
        .args(["--role", "transfer"])
        .assert()
        .failure()
        .stdout("");
    assert!(
        fs::read(&bundle)? == before,
        "sign touched a bundle damaged before its chain"
    );
    Ok(())
}

// --------------------------------------------------------------- inspect

#[test]
fn inspect_text_is_marked_untrusted_and_lists_entries_and_links() -> TestResult {
    let dir = tempfile::tempdir()?;
    two_link_bundle(dir.path())?;
    let bundle = dir.path().join("b.lbom");
    let out = lbom(dir.path()).args(["inspect", "b.lbom"]).output()?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stderr)?, "");
    let text = String::from_utf8(out.stdout)?;

    let manifest_bytes = tar_entry(&bundle, "manifest.json")?;
    let manifest: Value = serde_json::from_slice(&manifest_bytes)?;
    let mut head = String::new();
    head.push_str(
        "UNTRUSTED: nothing below is verified; run `lbom verify` before relying on it.\n",
    );
    head.push_str(&format!(
        "bundle    b.lbom ({} bytes)\n",
        fs::metadata(&bundle)?.len()
    ));
    head.push_str("name      tiny-llama\nchannel   default\nsequence  1\n");
    head.push_str("previous  (none: first on the channel)\n");
    head.push_str("created   1970-01-01T00:00:00Z\nexpires   never\n");
    head.push_str(&format!(
        "tool      {{\"name\":\"lbom\",\"version\":\"{}\"}}\n",
        env!("CARGO_PKG_VERSION")
    ));
    head.push_str(&format!(
        "manifest  sha256 {}\n",
        sha256_hex(&manifest_bytes)
    ));
    let entries = jv(&manifest, "/entries").as_array().ok_or("entries")?;
    head.push_str(&format!("\nentries ({}):\n", entries.len()));
    for e in entries {
        let s = |k: &str| e[k].as_str().unwrap_or("?").to_owned();
        let n = |k: &str| e[k].as_u64().unwrap_or(u64::MAX);
        head.push_str(&format!(
            "  {:<11} {:>12} {:>12} {:<5} {}  {}\n",
            s("role"),
            n("size"),
            n("stored_size"),
            s("encoding"),
            &s("sha256")[..16],
            s("path")
        ));
    }
    assert!(
        text.starts_with(&head),
        "inspect text starts:\n{text}\nexpected:\n{head}"
    );

    // Links: the signing time of link 2 is the wall clock; take it from the
    // link itself (extracted by tar) to compare the whole chain section.
    let link = |n: u32| -> Res<Value> {
        envelope_payload(&tar_entry(&bundle, &format!("chain/{n:04}.dsse.json"))?)
    };
    let (l1, l2) = (link(1)?, link(2)?);
    assert_eq!(jv(&l1, "/predicate/time"), "1970-01-01T00:00:00Z");
    let chain = format!(
        "\nchain (2 links, signatures not checked):\n  #1 maintainer key {} (PUBLIC DEMO KEY: anyone can sign with it) at 1970-01-01T00:00:00Z\n  #2 transfer key {} (PUBLIC DEMO KEY: anyone can sign with it) at {}\n",
        lbom::envelope::DEMO_KEY_IDS[0],
        lbom::envelope::DEMO_KEY_IDS[1],
        jv(&l2, "/predicate/time").as_str().ok_or("time")?
    );
    assert!(
        text.ends_with(&chain),
        "inspect text ends:\n{text}\nexpected:\n{chain}"
    );
    // Between them only the SBOM summary, one line per SBOM entry.
    let middle = &text[head.len()..text.len() - chain.len()];
    assert_eq!(
        middle
            .lines()
            .filter(|l| l.contains("CycloneDX 1.6"))
            .count(),
        model_files()?.len()
    );
    Ok(())
}

#[test]
fn inspect_json_says_untrusted_and_counts_links() -> TestResult {
    let dir = tempfile::tempdir()?;
    two_link_bundle(dir.path())?;
    let bundle = dir.path().join("b.lbom");
    let out = lbom(dir.path())
        .args(["inspect", "b.lbom", "--format", "json"])
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(jv(&v, "/trust"), "untrusted");
    assert_eq!(
        jv(&v, "/file_size").as_u64(),
        Some(fs::metadata(&bundle)?.len())
    );
    let manifest_digest = sha256_hex(&tar_entry(&bundle, "manifest.json")?);
    assert_eq!(jv(&v, "/manifest_sha256"), manifest_digest.as_str());
    let links = jv(&v, "/links").as_array().ok_or("links")?;
    assert_eq!(links.len(), 2);
    let link1 = tar_entry(&bundle, "chain/0001.dsse.json")?;
    assert_eq!(*jv(&v, "/links/0/index"), 1);
    assert_eq!(
        *jv(&v, "/links/0/entry_sha256"),
        sha256_hex(&link1).as_str()
    );
    assert_eq!(*jv(&v, "/links/1/index"), 2);
    assert_eq!(
        *jv(&v, "/links/1/previous/sha256"),
        sha256_hex(&link1).as_str()
    );
    for l in links {
        assert_eq!(jv(l, "/manifest_sha256"), manifest_digest.as_str());
    }
    Ok(())
}

/// Offset of `manifest.json`'s data in `bytes` (GNU tar block numbers are
/// the independent source: `tar -tvR` prints each header's block).
fn manifest_data_offset(bundle: &Path) -> Res<usize> {
    let listing = run_ok(process::Command::new("tar").arg("-tvRf").arg(bundle))?;
    let listing = String::from_utf8(listing)?;
    let line = listing
        .lines()
        .find(|l| l.ends_with(" manifest.json"))
        .ok_or("no manifest.json in the listing")?;
    let block: usize = line
        .strip_prefix("block ")
        .and_then(|l| l.split(':').next())
        .ok_or("no block number")?
        .parse()?;
    Ok((block + 1) * 512)
}

#[test]
fn inspect_shows_a_tampered_manifest_without_vouching_for_it() -> TestResult {
    // Section 9: inspect checks structure, not signatures or artifact
    // hashes. A manifest whose digest value was changed is still readable;
    // its manifest digest no longer matches what the links sign.
    let dir = tempfile::tempdir()?;
    two_link_bundle(dir.path())?;
    let bundle = dir.path().join("b.lbom");
    let original_digest = sha256_hex(&tar_entry(&bundle, "manifest.json")?);
    let mut bytes = fs::read(&bundle)?;
    let at = manifest_data_offset(&bundle)?;
    let manifest_len = tar_entry(&bundle, "manifest.json")?.len();
    let needle = b"\"sha256\": \"";
    let window = bytes.get(at..at + manifest_len).ok_or("short bundle")?;
    let hex_at = window
        .windows(needle.len())
        .position(|w| w == needle)
        .ok_or("no sha256 in the manifest")?
        + at
        + needle.len();
    let digit = bytes.get_mut(hex_at).ok_or("short bundle")?;
    *digit = if *digit == b'0' { b'1' } else { b'0' };
    fs::write(&bundle, &bytes)?;
    let tampered_digest = sha256_hex(&tar_entry(&bundle, "manifest.json")?);
    assert_ne!(tampered_digest, original_digest);

    let out = lbom(dir.path())
        .args(["inspect", "b.lbom", "--format", "json"])
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(jv(&v, "/trust"), "untrusted");
    assert_eq!(jv(&v, "/manifest_sha256"), tampered_digest.as_str());
    for l in jv(&v, "/links").as_array().ok_or("links")? {
        assert_eq!(jv(l, "/manifest_sha256"), original_digest.as_str());
    }
    let text = lbom(dir.path()).args(["inspect", "b.lbom"]).output()?;
    assert!(String::from_utf8(text.stdout)?.starts_with("UNTRUSTED: "));

    // A flipped byte that breaks the JSON is refused.
    *bytes.get_mut(at).ok_or("short bundle")? = b'[';
    fs::write(&bundle, &bytes)?;
    let out = lbom(dir.path()).args(["inspect", "b.lbom"]).output()?;
    assert!(
        matches!(out.status.code(), Some(c) if c != 0),
        "{:?}",
        out.status
    );
    assert_eq!(out.stdout, b"");
    let stderr = String::from_utf8(out.stderr)?;
    assert!(
        stderr.starts_with("lbom: b.lbom: entry manifest.json is not valid: "),
        "{stderr}"
    );
    Ok(())
}

/// Replace the one occurrence of `from` in `bytes` with `to`, of the same
/// length, so every tar header (which does not cover data) stays valid.
fn patch_same_length(bytes: &mut [u8], from: &[u8], to: &[u8]) -> TestResult {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .ok_or_else(|| fail(format!("{:?} not found", String::from_utf8_lossy(from))))?;
    bytes
        .get_mut(at..at + to.len())
        .ok_or("out of range")?
        .copy_from_slice(to);
    Ok(())
}

/// Bytes below 0x20 other than LF, and DEL: what must never reach a
/// terminal from an untrusted bundle (ESC starts a control sequence).
fn control_bytes(text: &[u8]) -> Vec<u8> {
    text.iter()
        .copied()
        .filter(|b| (*b < 0x20 && *b != b'\n') || *b == 0x7f)
        .collect()
}

#[test]
fn inspect_refuses_a_manifest_name_outside_the_label_syntax() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "b.lbom", &[])?;
    let mut bytes = fs::read(dir.path().join("b.lbom"))?;
    // "tiny-llama" → ESC [2J a (clear screen), same JSON length.
    patch_same_length(
        &mut bytes,
        br#""name": "tiny-llama""#,
        br#""name": "\u001b[2Ja""#,
    )?;
    fs::write(dir.path().join("b.lbom"), &bytes)?;
    let out = lbom(dir.path()).args(["inspect", "b.lbom"]).output()?;
    assert_eq!(control_bytes(&out.stdout), b"", "control bytes printed");
    // A reader "rejects everything else" (docs/bundle-format.md, top).
    assert_ne!(out.status.code(), Some(0));
    Ok(())
}

#[test]
fn inspect_text_never_prints_control_characters_from_sboms() -> TestResult {
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "b.lbom", &[])?;
    let mut bytes = fs::read(dir.path().join("b.lbom"))?;
    // The SBOM is free-form JSON (its digest is verify's business, not
    // inspect's): its component name becomes ESC [2J, same length.
    patch_same_length(
        &mut bytes,
        br#""name": "README.md""#,
        br#""name": "\u001b[2J""#,
    )?;
    fs::write(dir.path().join("b.lbom"), &bytes)?;
    let out = lbom(dir.path()).args(["inspect", "b.lbom"]).output()?;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(control_bytes(&out.stdout), b"", "control bytes printed");
    Ok(())
}

#[test]
fn inspect_refuses_a_link_role_outside_the_label_syntax() -> TestResult {
    use lbom::bundle::chain::{LinkPredicate, link_payload};
    use lbom::envelope::{Envelope, PAYLOAD_TYPE_IN_TOTO, Signature};
    let dir = tempfile::tempdir()?;
    pack(dir.path(), "b.lbom", &[])?;
    let path = dir.path().join("b.lbom");
    let opened = lbom::bundle::open(&path, &lbom::bundle::ReadLimits::default())?;
    // A link another implementation (or an attacker: inspect checks no
    // signature) could write, with a role no lbom writer accepts.
    let key = lbom::sign::SigningKey::from_seed(&[9u8; 32])?;
    let predicate = LinkPredicate {
        index: 1,
        role: "\u{1b}[2J".into(),
        keyid: key.key_id(),
        time: "1970-01-01T00:00:00Z".into(),
        note: None,
        previous: None,
    };
    let mut envelope = Envelope::new(
        PAYLOAD_TYPE_IN_TOTO,
        link_payload(&opened.manifest_sha256, &predicate),
    );
    let sig = key.sign(&envelope.pae());
    envelope.signatures.push(Signature {
        keyid: key.key_id().to_string(),
        sig,
    });
    let link = one_entry_tar("chain/0001.dsse.json", &envelope.encode(), b'0', "");
    let mut bytes = fs::read(&path)?;
    bytes.truncate(bytes.len() - 1024);
    bytes.extend_from_slice(&link);
    fs::write(&path, &bytes)?;
    let out = lbom(dir.path()).args(["inspect", "b.lbom"]).output()?;
    assert_eq!(control_bytes(&out.stdout), b"", "control bytes printed");
    assert_ne!(out.status.code(), Some(0));
    Ok(())
}

/// A POSIX ustar header in the bundle profile (section 2), with this name,
/// size, typeflag and linkname; checksum computed as POSIX specifies.
fn ustar_header(name: &str, size: usize, typeflag: u8, linkname: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    let put = |h: &mut Vec<u8>, at: usize, s: &[u8]| {
        if let Some(field) = h.get_mut(at..at + s.len()) {
            field.copy_from_slice(s);
        }
    };
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 148, b"        ");
    put(&mut h, 156, &[typeflag]);
    put(&mut h, 157, linkname.as_bytes());
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar of one entry (data padded to 512) and the end marker.
fn one_entry_tar(name: &str, data: &[u8], typeflag: u8, linkname: &str) -> Vec<u8> {
    let mut t = ustar_header(name, data.len(), typeflag, linkname);
    t.extend_from_slice(data);
    t.resize(t.len().div_ceil(512) * 512, 0);
    t.resize(t.len() + 1024, 0);
    t
}

#[test]
fn inspect_refuses_hostile_tars() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "dotdot.lbom",
            one_entry_tar("artifacts/../../evil", b"x", b'0', ""),
            "lbom: dotdot.lbom: entry at offset 0: path \"artifacts/../../evil\" has an empty, \".\" or \"..\" segment\n".into(),
        ),
        (
            "symlink.lbom",
            one_entry_tar("artifacts/model.gguf", b"", b'2', "/etc/passwd"),
            "lbom: symlink.lbom: entry at offset 0: symbolic link entries are not allowed\n".into(),
        ),
    ];
    for (name, bytes, stderr) in &cases {
        fs::write(dir.path().join(name), bytes)?;
        // GNU tar reads each as a tar: the refusal is lbom's own check.
        assert_eq!(tar_names(&dir.path().join(name))?.len(), 1);
        lbom(dir.path())
            .args(["inspect", name])
            .assert()
            .failure()
            .stdout("")
            .stderr(stderr.clone());
    }

    // Trailing bytes after a good bundle's end marker: zeros or not.
    pack(dir.path(), "good.lbom", &[])?;
    let good = fs::read(dir.path().join("good.lbom"))?;
    lbom(dir.path())
        .args(["inspect", "good.lbom"])
        .assert()
        .success();
    for (suffix, extra) in [("x", vec![b'x']), ("zeros", vec![0u8; 512])] {
        let name = format!("trailing-{suffix}.lbom");
        let mut bytes = good.clone();
        bytes.extend_from_slice(&extra);
        fs::write(dir.path().join(&name), &bytes)?;
        lbom(dir.path())
            .args(["inspect", &name])
            .assert()
            .failure()
            .stdout("")
            .stderr(format!(
                "lbom: {name}: bundle has {} bytes after the end-of-archive marker at offset {}\n",
                extra.len(),
                good.len() - 1024
            ));
    }
    Ok(())
}

#[test]
fn inspect_refuses_every_hostile_vector() -> TestResult {
    // tests/vectors/bundle/hostile: written by Python's tarfile, each with
    // an `.expect` line naming the rejection.
    let dir = repo().join("tests/vectors/bundle/hostile");
    let mut seen = 0;
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("tar") {
            continue;
        }
        let expect = fs::read_to_string(path.with_extension("expect"))?;
        let want = expect
            .trim()
            .strip_prefix("expect: rejected: ")
            .ok_or_else(|| fail(format!("{}: {expect}", path.display())))?;
        let out = lbom(&dir).arg("inspect").arg(&path).output()?;
        let stderr = String::from_utf8(out.stderr)?;
        assert_ne!(out.status.code(), Some(0), "{} accepted", path.display());
        assert_eq!(out.stdout, b"");
        assert!(stderr.contains(want), "{}: {stderr}", path.display());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        seen += 1;
    }
    assert!(seen >= 14, "only {seen} vectors");
    Ok(())
}

#[test]
fn malformed_bundle_exits_3() -> TestResult {
    let dir = tempfile::tempdir()?;
    fs::write(
        dir.path().join("dotdot.lbom"),
        one_entry_tar("artifacts/../../evil", b"x", b'0', ""),
    )?;
    lbom(dir.path())
        .args(["inspect", "dotdot.lbom"])
        .assert()
        .code(3);
    Ok(())
}

// ------------------------------------------------------------ round trip

#[test]
fn cli_bundle_opens_with_the_library_and_every_link_verifies() -> TestResult {
    let dir = tempfile::tempdir()?;
    let maintainer = keygen(dir.path(), "maintainer")?;
    lbom(dir.path())
        .arg("pack")
        .arg(model_dir())
        .args([
            "-o",
            "b.lbom",
            "--key",
            "maintainer.key",
            "--role",
            "maintainer",
        ])
        .assert()
        .success()
        .stdout(predicates::str::ends_with(format!(
            "link 1 signed as maintainer by key {maintainer}\n"
        )));
    let transfer = keygen(dir.path(), "transfer")?;
    sign(
        dir.path(),
        "b.lbom",
        &dir.path().join("transfer.key"),
        "transfer",
    )?;

    let opened = lbom::bundle::open(
        &dir.path().join("b.lbom"),
        &lbom::bundle::ReadLimits::default(),
    )?;
    assert_eq!(
        opened.manifest_sha256.to_hex(),
        sha256_hex(&tar_entry(&dir.path().join("b.lbom"), "manifest.json")?)
    );
    let keys: [lbom::envelope::PublicKey; 2] = [
        lbom::sign::load_public_key(&dir.path().join("maintainer.pub"))?,
        lbom::sign::load_public_key(&dir.path().join("transfer.pub"))?,
    ];
    assert_eq!(keys[0].key_id().to_string(), maintainer);
    assert_eq!(keys[1].key_id().to_string(), transfer);
    assert_eq!(opened.links.len(), 2);
    let pairs = [(&keys[0], &keys[1]), (&keys[1], &keys[0])];
    let mut file = std::fs::File::open(dir.path().join("b.lbom"))?;
    for (i, ((entry, info), (own, other))) in opened.links.iter().zip(pairs).enumerate() {
        let (envelope, _) = lbom::bundle::read::read_link(
            &dir.path().join("b.lbom"),
            &mut file,
            entry,
            &lbom::bundle::ReadLimits::default(),
        )?;
        assert_eq!(entry.name.as_str(), format!("chain/{:04}.dsse.json", i + 1));
        assert_eq!(info.manifest_sha256, opened.manifest_sha256);
        assert_eq!(info.predicate.keyid, own.key_id());
        // PAE built here from the spec (DSSE protocol.md), then verified
        // with verify_strict through PublicKey::verify.
        let pae = [
            b"DSSEv1 ".as_slice(),
            envelope.payload_type.len().to_string().as_bytes(),
            b" ",
            envelope.payload_type.as_bytes(),
            b" ",
            envelope.payload.len().to_string().as_bytes(),
            b" ",
            &envelope.payload,
        ]
        .concat();
        assert_eq!(envelope.pae(), pae);
        let [signature] = envelope.signatures.as_slice() else {
            return Err(fail(format!(
                "link {} has {} signatures",
                i + 1,
                envelope.signatures.len()
            )));
        };
        assert!(own.verify(&pae, &signature.sig));
        assert!(envelope.is_signed_by(own));
        assert!(
            !envelope.is_signed_by(other),
            "link {} verifies under the wrong key",
            i + 1
        );
        // One flipped payload bit and the signature no longer verifies.
        let mut tampered = pae.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(!own.verify(&tampered, &signature.sig));
    }
    Ok(())
}
