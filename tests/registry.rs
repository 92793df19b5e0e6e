//! `push`, `pull`, `verify oci://` and `export --oci-layout` against a real
//! registry (Debian's docker-registry, tests/common/registry.rs) and skopeo
//! as the independent OCI client (docs/registry.md).

mod common;

use std::path::{Path, PathBuf};

use common::registry::{Registry, SKOPEO_BIN, tool};
use common::station::{
    LIMIT, Scratch, import_signed, pull, push, pushed_digest, run_lbom, s, station, station_packed,
    tiny,
};
use common::{TestResult, fail, repo, run_bounded, sha256_file, sha256_tree};
use sha2::Digest as _;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `lbom ARGS` under `/usr/bin/time -f %M`, which must exit 0: its stdout
/// and its peak RSS in KiB (the kernel's figure for the child).
fn run_lbom_rss(args: &[&str]) -> Res<(String, u64)> {
    let time = tool("/usr/bin/time", "time")?;
    let rss = tempfile::NamedTempFile::new()?;
    let mut cmd = std::process::Command::new(time);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(rss.path())
        .arg(env!("CARGO_BIN_EXE_lbom"))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(repo());
    let run = run_bounded(&mut cmd, LIMIT)?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "lbom {args:?} exited {:?}; stderr: {}",
            run.code(),
            run.stderr.trim()
        )));
    }
    let kib = std::fs::read_to_string(rss.path())?
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .ok_or_else(|| fail("no peak RSS from /usr/bin/time"))?;
    Ok((String::from_utf8_lossy(&run.stdout).into_owned(), kib))
}

fn skopeo(args: &[&str]) -> Res<Vec<u8>> {
    let bin = tool(SKOPEO_BIN, "skopeo")?;
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args);
    let run = run_bounded(&mut cmd, LIMIT)?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "skopeo {args:?} exited {:?}: {}",
            run.code(),
            run.stderr.trim()
        )));
    }
    Ok(run.stdout)
}

#[test]
fn push_pull_and_skopeo_agree_on_the_artifact() -> TestResult {
    let st = station(&tiny())?;
    let reg = Registry::start(None)?;
    let out = push(&st.store, "stable", &reg.oci("models/tiny:v1"), &[], 0)?;
    let digest = pushed_digest(&out)?;
    assert!(out.contains("listed under the referrers tag"), "{out}");

    // skopeo reads the same bytes under the tag, and by digest.
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &reg.docker("models/tiny:v1"),
    ])?;
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw))),
        digest
    );
    let manifest: serde_json::Value = serde_json::from_slice(&raw)?;
    assert_eq!(
        manifest["artifactType"],
        "application/vnd.cncf.model.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.cncf.model.config.v1+json"
    );
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    let stored = sha256_tree(&st.store.join("stable/1/files"))?;
    assert_eq!(layers.len(), stored.len());
    for (path, sha) in &stored {
        let layer = layers
            .iter()
            .find(|l| l["annotations"]["org.cncf.model.filepath"] == path.as_str())
            .ok_or_else(|| fail(format!("no layer for {path}")))?;
        assert_eq!(
            layer["digest"],
            format!("sha256:{sha}"),
            "{path}: the layer digest is the signed SHA-256"
        );
        assert_eq!(
            layer["annotations"]["org.opencontainers.image.title"],
            path.as_str()
        );
        let want = if path.ends_with(".safetensors") {
            "application/vnd.cncf.model.weight.v1.raw"
        } else if path.ends_with(".md") {
            "application/vnd.cncf.model.doc.v1.raw"
        } else {
            "application/vnd.cncf.model.weight.config.v1.raw"
        };
        assert_eq!(layer["mediaType"], want, "{path}");
    }
    // The referrers tag lists the three evidence manifests, each naming the model.
    let hex = digest.trim_start_matches("sha256:");
    let index: serde_json::Value = serde_json::from_slice(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &reg.docker(&format!("models/tiny:sha256-{hex}")),
    ])?)?;
    let kinds: Vec<String> = index["manifests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "application/vnd.lbom.chain.v1",
            "application/vnd.cyclonedx+json",
            "application/vnd.lbom.receipt.v1"
        ]
    );
    for m in index["manifests"].as_array().cloned().unwrap_or_default() {
        let d = m["digest"].as_str().unwrap_or_default();
        let r: serde_json::Value = serde_json::from_slice(&skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &reg.docker(&format!("models/tiny@{d}")),
        ])?)?;
        assert_eq!(r["subject"]["digest"], digest.as_str());
    }

    // skopeo copies it to an OCI layout: the same manifest digest.
    let copy = st.dir.path().join("skopeo-layout");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &reg.docker("models/tiny:v1"),
        &format!("oci:{}:v1", s(&copy)),
    ])?;
    let copied: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("index.json"))?)?;
    assert_eq!(copied["manifests"][0]["digest"], digest.as_str());
    // The model copied alone (skopeo does not copy referrers) is the same
    // manifest without its evidence: a node refuses it (exit 5).
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", s(&copy)),
        &reg.docker("models/copy:v1"),
    ])?;
    let bare = reg.oci(&format!("models/copy@{digest}"));
    run_lbom(&["verify", &bare, "--policy", s(&st.node_policy)], 5)?;

    // lbom's own layout export is the same artifact.
    let layout = st.dir.path().join("lbom-layout");
    run_lbom(
        &[
            "export",
            s(&st.store),
            "--channel",
            "stable",
            "--oci-layout",
            s(&layout),
            "--tag",
            "v1",
        ],
        0,
    )?;
    let raw = skopeo(&["inspect", "--raw", &format!("oci:{}:v1", s(&layout))])?;
    assert_eq!(
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(&raw))),
        digest
    );

    // A second push uploads nothing: every blob is there.
    let again = push(&st.store, "stable", &reg.oci("models/tiny:v1"), &[], 0)?;
    assert!(again.contains(" 0 blob(s) uploaded (0 bytes)"), "{again}");

    // verify oci:// writes nothing; pull by digest into a second store.
    let by_digest = reg.oci(&format!("models/tiny@{digest}"));
    let verified = run_lbom(&["verify", &by_digest, "--policy", s(&st.node_policy)], 0)?;
    assert!(
        verified.contains("station receipt by station"),
        "{verified}"
    );
    let node = st.dir.path().join("node-store");
    let pulled = pull(&by_digest, &node, &st.node_policy, &["--create"], 0)?;
    assert!(pulled.contains("PULLED"), "{pulled}");
    assert_eq!(sha256_tree(&node.join("stable/1/files"))?, stored);
    // The bundle was read in place, never written: the version names the
    // artifact by digest (docs/store.md, `bundle_file`).
    let record = read_json(&node.join("stable/1/import.json"))?;
    assert_eq!(record["bundle_file"], format!("tiny@{digest}"));
    assert_eq!(
        sha256_tree(&node.join("stable/1/bundle"))?,
        sha256_tree(&st.store.join("stable/1/bundle"))?
    );
    run_lbom(&["audit", s(&node)], 0)?;
    // By tag as well.
    run_lbom(
        &[
            "verify",
            &reg.oci("models/tiny:v1"),
            "--policy",
            s(&st.node_policy),
        ],
        0,
    )?;
    Ok(())
}

/// The registry's stored bytes of `digest` (`sha256:…`).
fn stored_blob(reg: &Registry, digest: &str) -> PathBuf {
    reg.blob_path(digest.trim_start_matches("sha256:"))
}

fn read_json(path: &Path) -> Res<serde_json::Value> {
    Ok(serde_json::from_slice(&std::fs::read(path)?)?)
}

/// Flip the last byte of a stored blob (its size stays).
fn flip_last_byte(path: &Path) -> Res<()> {
    let mut bytes = std::fs::read(path)?;
    let last = bytes.last_mut().ok_or_else(|| fail("empty blob"))?;
    *last ^= 0x01;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Change a JSON document's bytes in a way that keeps it valid JSON of the
/// same length (a registry that parses it still serves it).
fn change_document(path: &Path, from: &str, to: &str) -> Res<()> {
    let text = std::fs::read_to_string(path)?;
    if !text.contains(from) {
        return Err(fail(format!("{} does not hold {from}", path.display())));
    }
    std::fs::write(path, text.replacen(from, to, 1))?;
    Ok(())
}

/// What a test changes in the registry's storage after the push.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    WeightLayer,
    SideFileLayer,
    ModelManifest,
    ChainReferrerManifest,
    BundleManifestLayer,
    ChainLinkLayer,
    SbomLayer,
    ReceiptLayer,
}

const TAMPERS: [Tamper; 8] = [
    Tamper::WeightLayer,
    Tamper::SideFileLayer,
    Tamper::ModelManifest,
    Tamper::ChainReferrerManifest,
    Tamper::BundleManifestLayer,
    Tamper::ChainLinkLayer,
    Tamper::SbomLayer,
    Tamper::ReceiptLayer,
];

fn apply(t: Tamper, reg: &Registry, digest: &str) -> Res<()> {
    let model = read_json(&stored_blob(reg, digest))?;
    let hex = digest.trim_start_matches("sha256:");
    let index_link = reg.storage().join(format!(
        "repositories/models/tiny/_manifests/tags/sha256-{hex}/current/link"
    ));
    let index = read_json(&stored_blob(
        reg,
        std::fs::read_to_string(index_link)?.trim(),
    ))?;
    let referrer = |kind: &str| -> Res<(String, serde_json::Value)> {
        let d = index
            .get("manifests")
            .and_then(|m| m.as_array())
            .and_then(|m| {
                m.iter()
                    .find(|m| m.get("artifactType").and_then(|t| t.as_str()) == Some(kind))
            })
            .and_then(|m| m.get("digest").and_then(|d| d.as_str()))
            .ok_or_else(|| fail(format!("no {kind} referrer")))?
            .to_owned();
        let m = read_json(&stored_blob(reg, &d))?;
        Ok((d, m))
    };
    let layer = |m: &serde_json::Value, title_ends: &str| -> Res<String> {
        m.get("layers")
            .and_then(|l| l.as_array())
            .and_then(|l| {
                l.iter().find(|l| {
                    l.pointer("/annotations/org.opencontainers.image.title")
                        .and_then(|t| t.as_str())
                        .is_some_and(|t| t.ends_with(title_ends))
                })
            })
            .and_then(|l| l.get("digest").and_then(|d| d.as_str()))
            .map(str::to_owned)
            .ok_or_else(|| fail(format!("no layer {title_ends}")))
    };
    match t {
        Tamper::WeightLayer => {
            flip_last_byte(&stored_blob(reg, &layer(&model, "model.safetensors")?))
        }
        Tamper::SideFileLayer => flip_last_byte(&stored_blob(reg, &layer(&model, "config.json")?)),
        Tamper::ModelManifest => {
            change_document(&stored_blob(reg, digest), "\"stable\"", "\"stablf\"")
        }
        Tamper::ChainReferrerManifest => {
            let (d, _) = referrer("application/vnd.lbom.chain.v1")?;
            change_document(&stored_blob(reg, &d), "chain/0001", "chain/0002")
        }
        Tamper::BundleManifestLayer => {
            let (_, m) = referrer("application/vnd.lbom.chain.v1")?;
            change_document(
                &stored_blob(reg, &layer(&m, "manifest.json")?),
                "\"stable\"",
                "\"stablf\"",
            )
        }
        Tamper::ChainLinkLayer => {
            let (_, m) = referrer("application/vnd.lbom.chain.v1")?;
            flip_last_byte(&stored_blob(reg, &layer(&m, "0001.dsse.json")?))
        }
        Tamper::SbomLayer => {
            let (_, m) = referrer("application/vnd.cyclonedx+json")?;
            flip_last_byte(&stored_blob(reg, &layer(&m, "model.safetensors.cdx.json")?))
        }
        Tamper::ReceiptLayer => {
            let (_, m) = referrer("application/vnd.lbom.receipt.v1")?;
            flip_last_byte(&stored_blob(reg, &layer(&m, "receipt.dsse.json")?))
        }
    }
}

/// Every part of the artifact changed in the registry's storage: `pull`
/// and `verify` refuse it with exit 4 (integrity: bytes that are not the
/// ones their digest names), and the node's store is left unchanged.
#[test]
fn a_changed_layer_manifest_referrer_or_receipt_is_refused() -> TestResult {
    let st = station(&tiny())?;
    for t in TAMPERS {
        let reg = Registry::start(None)?;
        let out = push(&st.store, "stable", &reg.oci("models/tiny:v1"), &[], 0)?;
        let digest = pushed_digest(&out)?;
        apply(t, &reg, &digest)?;
        let by_digest = reg.oci(&format!("models/tiny@{digest}"));
        run_lbom(&["verify", &by_digest, "--policy", s(&st.node_policy)], 4)
            .map_err(|e| fail(format!("{t:?}: verify: {e}")))?;
        let node = st.dir.path().join(format!("node-{t:?}"));
        run_lbom(&["store", "init", s(&node)], 0)?;
        pull(&by_digest, &node, &st.node_policy, &[], 4)
            .map_err(|e| fail(format!("{t:?}: pull: {e}")))?;
        assert!(
            !node.join("stable").exists(),
            "{t:?}: the refused pull left a channel"
        );
    }
    Ok(())
}

/// A receipt the node does not trust: the artifact as another station
/// (whose key the node's policy does not list) published it is refused
/// with exit 5 (trust), before any weight byte.
#[test]
fn a_receipt_by_an_untrusted_station_is_refused() -> TestResult {
    let st = station(&tiny())?;
    let d = st.dir.path();
    let other = d.join("other-store");
    import_signed(
        &d.join("model.lbom"),
        &other,
        &d.join("station.toml"),
        &d.join("stranger.key"),
    )?;
    let reg = Registry::start(None)?;
    let out = push(&other, "stable", &reg.oci("models/tiny:v1"), &[], 0)?;
    let digest = pushed_digest(&out)?;
    let by_digest = reg.oci(&format!("models/tiny@{digest}"));
    let node = d.join("node");
    run_lbom(&["store", "init", s(&node)], 0)?;
    run_lbom(&["verify", &by_digest, "--policy", s(&st.node_policy)], 5)?;
    pull(&by_digest, &node, &st.node_policy, &[], 5)?;
    assert!(!node.join("stable").exists());
    // The trusted station then pushes the same model: the same manifest
    // digest, a second receipt referrer; the node takes the trusted one.
    let out = push(&st.store, "stable", &reg.oci("models/tiny:v1"), &[], 0)?;
    assert_eq!(pushed_digest(&out)?, digest);
    pull(&by_digest, &node, &st.node_policy, &[], 0)?;
    Ok(())
}

/// Basic auth from a Docker config.json against the registry's htpasswd
/// (bcrypt, written by apache2-utils' htpasswd): refused without the
/// credentials (exit 5), accepted with them.
#[test]
fn basic_auth_comes_from_the_docker_config() -> TestResult {
    let st = station(&tiny())?;
    let d = st.dir.path();
    let htpasswd = d.join("htpasswd");
    let bin = tool("/usr/bin/htpasswd", "apache2-utils")?;
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["-Bbc", s(&htpasswd), "alice", "s3cret"]);
    let made = run_bounded(&mut cmd, LIMIT)?;
    assert_eq!(made.code(), Some(0), "{}", made.stderr);
    let reg = Registry::start(Some(&htpasswd))?;
    let empty = d.join("empty-config.json");
    std::fs::write(&empty, "{}")?;
    let target = reg.oci("models/tiny:v1");
    push(
        &st.store,
        "stable",
        &target,
        &["--docker-config", s(&empty)],
        5,
    )?;
    let config = d.join("config.json");
    let auth = base64_encode(b"alice:s3cret");
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.authority),
    )?;
    let out = push(
        &st.store,
        "stable",
        &target,
        &["--docker-config", s(&config)],
        0,
    )?;
    let digest = pushed_digest(&out)?;
    let node = d.join("node");
    pull(
        &reg.oci(&format!("models/tiny@{digest}")),
        &node,
        &st.node_policy,
        &["--create", "--docker-config", s(&config)],
        0,
    )?;
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(
                    A.get(((n >> (18 - 6 * i)) & 63) as usize)
                        .copied()
                        .unwrap_or(b'='),
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A safetensors file of one F16 tensor of `bytes` bytes (zeros), written
/// by its two-field format (8-byte little-endian header length, JSON
/// header padded with spaces to 8 bytes, data) without holding it.
fn write_safetensors(path: &Path, bytes: u64) -> Res<()> {
    use std::io::Write as _;
    let mut header = format!(
        r#"{{"weight":{{"dtype":"F16","shape":[{}],"data_offsets":[0,{bytes}]}}}}"#,
        bytes / 2
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(&(header.len() as u64).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(zeros.len() as u64);
        out.write_all(zeros.get(..usize::try_from(n)?).unwrap_or_default())?;
        left -= n;
    }
    out.flush()?;
    Ok(())
}

/// The issue's size: a version of more than 1 GiB pushed, pulled into a
/// second store, byte for byte (compared by SHA-256, streamed), with its
/// evidence verified on the way. Its input is made once in $TMPDIR and
/// each stage's copy is deleted as soon as the next one exists (peak
/// about three copies on disk).
#[test]
fn a_one_gib_version_travels_through_the_registry() -> TestResult {
    let work = Scratch::new()?;
    let model = work.path().join("big");
    std::fs::create_dir(&model)?;
    let weights = model.join("model.safetensors");
    write_safetensors(&weights, (1 << 30) + 4096)?;
    let want = sha256_file(&weights)?;
    let st = station(&model)?;
    std::fs::remove_dir_all(&model)?;
    std::fs::remove_file(st.dir.path().join("model.lbom"))?;
    let reg = Registry::start(None)?;
    let (out, push_kib) = run_lbom_rss(&[
        "push",
        s(&st.store),
        "--channel",
        "stable",
        &reg.oci("models/big:v1"),
    ])?;
    let digest = pushed_digest(&out)?;
    let node = work.path().join("node");
    let (pulled, pull_kib) = run_lbom_rss(&[
        "pull",
        &reg.oci(&format!("models/big@{digest}")),
        "--into",
        s(&node),
        "--create",
        "--policy",
        s(&st.node_policy),
    ])?;
    assert!(pulled.contains("station receipt by station"), "{pulled}");
    // Bounded memory: push holds one 16 MiB chunk, pull streams; both far
    // under the readers' 128 MiB bound (docs/threat-model.md G10) for 1 GiB.
    eprintln!("1 GiB: push peak RSS {push_kib} KiB, pull peak RSS {pull_kib} KiB");
    assert!(push_kib < 128 * 1024, "push peaked at {push_kib} KiB");
    assert!(pull_kib < 128 * 1024, "pull peaked at {pull_kib} KiB");
    assert_eq!(
        sha256_file(&node.join("stable/1/files/model.safetensors"))?,
        want
    );
    assert_eq!(
        sha256_tree(&node.join("stable/1/bundle"))?,
        sha256_tree(&st.store.join("stable/1/bundle"))?
    );
    Ok(())
}

/// `push` publishes only what the version's records vouch for: a stored
/// file changed since its import is refused (exit 4) before its upload is
/// closed, and a version imported without a receipt is refused (exit 2).
#[test]
fn push_refuses_what_its_records_do_not_vouch_for() -> TestResult {
    let st = station(&tiny())?;
    let d = st.dir.path();
    let reg = Registry::start(None)?;
    // No receipt: imported without --key.
    let bare = d.join("bare-store");
    run_lbom(
        &[
            "import",
            s(&d.join("model.lbom")),
            "--into",
            s(&bare),
            "--create",
            "--policy",
            s(&d.join("station.toml")),
        ],
        0,
    )?;
    push(&bare, "stable", &reg.oci("models/bare:v1"), &[], 2)?;
    // A stored file changed behind lbom's back (as root, or its owner after chmod).
    use std::os::unix::fs::PermissionsExt as _;
    let file = st.store.join("stable/1/files/config.json");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    let mut bytes = std::fs::read(&file)?;
    let last = bytes.last_mut().ok_or_else(|| fail("empty config.json"))?;
    *last ^= 0x01;
    std::fs::write(&file, &bytes)?;
    push(&st.store, "stable", &reg.oci("models/tiny:v1"), &[], 4)?;
    // Nothing was tagged: the manifest is pushed only after every blob.
    let tags = reg
        .storage()
        .join("repositories/models/tiny/_manifests/tags");
    assert!(!tags.exists(), "a refused push left a tag");
    Ok(())
}

/// A bundle packed as `pack` packs by default (`--compress auto`: the side
/// files zstd): the registry carries the decoded files, and the node
/// encodes each zstd entry again to the signed stored bytes, so the bundle
/// it verifies is the one the station imported.
#[test]
fn zstd_entries_are_given_back_from_their_raw_layers() -> TestResult {
    let st = station_packed(&tiny(), "auto")?;
    let manifest = read_json(&st.store.join("stable/1/bundle/manifest.json"))?;
    let zstd = manifest
        .get("entries")
        .and_then(|e| e.as_array())
        .map_or(0, |e| {
            e.iter()
                .filter(|e| e.get("encoding").and_then(|x| x.as_str()) == Some("zstd"))
                .count()
        });
    assert!(zstd > 0, "the fixture packed under auto has no zstd entry");
    let reg = Registry::start(None)?;
    let out = push(&st.store, "stable", &reg.oci("models/tiny:v1"), &[], 0)?;
    let digest = pushed_digest(&out)?;
    let node = st.dir.path().join("node");
    pull(
        &reg.oci(&format!("models/tiny@{digest}")),
        &node,
        &st.node_policy,
        &["--create"],
        0,
    )?;
    assert_eq!(
        sha256_tree(&node.join("stable/1/files"))?,
        sha256_tree(&st.store.join("stable/1/files"))?
    );
    assert_eq!(
        sha256_tree(&node.join("stable/1/bundle"))?,
        sha256_tree(&st.store.join("stable/1/bundle"))?
    );
    Ok(())
}

/// `openssl ARGS` in `dir`, which must succeed.
fn openssl(dir: &Path, args: &[&str]) -> Res<()> {
    let mut cmd = std::process::Command::new("openssl");
    cmd.args(args).current_dir(dir);
    let run = run_bounded(&mut cmd, LIMIT)?;
    if run.code() != Some(0) {
        return Err(fail(format!("openssl {args:?}: {}", run.stderr.trim())));
    }
    Ok(())
}

/// TLS with a custom CA (made here with openssl: a CA and a server
/// certificate for 127.0.0.1): trusted with `--ca-file`, refused without
/// it (the built-in roots do not know the CA: exit 10, nothing sent).
#[test]
fn tls_with_a_custom_ca() -> TestResult {
    let st = station(&tiny())?;
    let d = st.dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=lbom test CA",
    ]);
    ca.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(d, &ca)?;
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(d, &csr)?;
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    )?;
    let reg = Registry::start_with(None, Some((&d.join("server.pem"), &d.join("server.key"))))?;
    let target = reg.oci("models/tiny:v1");
    push(&st.store, "stable", &target, &["--tls"], 10)?;
    let out = push(
        &st.store,
        "stable",
        &target,
        &["--tls", "--ca-file", s(&d.join("ca.pem"))],
        0,
    )?;
    let digest = pushed_digest(&out)?;
    run_lbom(
        &[
            "verify",
            &reg.oci(&format!("models/tiny@{digest}")),
            "--policy",
            s(&st.node_policy),
            "--tls",
            "--ca-file",
            s(&d.join("ca.pem")),
        ],
        0,
    )?;
    Ok(())
}

/// Copy the files of `from` (one level, as the tiny fixture is) into `to`.
fn copy_folder(from: &Path, to: &Path) -> Res<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let p = e?.path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().ok_or_else(|| fail("no name"))?))?;
        }
    }
    Ok(())
}

/// The node's store keeps its own history: a second version pulled after
/// the first becomes current, and the first pulled again from the
/// registry — a validly signed, validly received old version — is refused
/// as a rollback (exit 7), as `import` refuses it from a bundle.
#[test]
fn a_registry_cannot_roll_a_node_back() -> TestResult {
    let st = station(&tiny())?;
    let d = st.dir.path();
    let v2 = d.join("v2-model");
    copy_folder(&tiny(), &v2)?;
    let readme = v2.join("README.md");
    let text = std::fs::read_to_string(&readme)? + "\nSecond release: the card's text changed.\n";
    std::fs::write(&readme, text)?;
    let bundle2 = d.join("model-v2.lbom");
    run_lbom(
        &[
            "pack",
            s(&v2),
            "--name",
            "tiny",
            "--compress",
            "none",
            "--previous",
            s(&d.join("model.lbom")),
            "-o",
            s(&bundle2),
            "--key",
            s(&d.join("maintainer.key")),
            "--role",
            "maintainer",
        ],
        0,
    )?;
    run_lbom(
        &[
            "import",
            s(&bundle2),
            "--into",
            s(&st.store),
            "--policy",
            s(&d.join("station.toml")),
            "--key",
            s(&d.join("station.key")),
        ],
        0,
    )?;
    let reg = Registry::start(None)?;
    let one = pushed_digest(&push(
        &st.store,
        "stable",
        &reg.oci("models/tiny:v1"),
        &["--version", "1"],
        0,
    )?)?;
    let two = pushed_digest(&push(
        &st.store,
        "stable",
        &reg.oci("models/tiny:v2"),
        &[],
        0,
    )?)?;
    assert_ne!(one, two);
    let node = d.join("node");
    let pull_digest = |digest: &str, want: i32| {
        let source = reg.oci(&format!("models/tiny@{digest}"));
        pull(&source, &node, &st.node_policy, &["--create"], want)
    };
    pull_digest(&one, 0)?;
    pull_digest(&two, 0)?;
    pull_digest(&one, 7)?;
    assert_eq!(
        std::fs::read_link(node.join("stable/current"))?,
        Path::new("2")
    );
    Ok(())
}

/// A version 1 bundle (tests/vectors/historical, made by lbom 0.1.0, its
/// entries zstd-encoded and no stored digest signed, [B58]) published from
/// a store and pulled: the node encodes each entry again to its stored
/// length and the bundle read in place verifies as the original did.
#[test]
fn a_version_one_bundle_with_zstd_entries_travels() -> TestResult {
    let dir = Scratch::new()?;
    let d = dir.path();
    run_lbom(&["keygen", s(&d.join("station"))], 0)?;
    let keys = repo().join("keys");
    let historical = std::fs::read_to_string(repo().join("tests/vectors/historical/policy.toml"))?
        .replace("../../../keys/", &format!("{}/", keys.display()));
    std::fs::write(d.join("station.toml"), &historical)?;
    let node_policy = d.join("node.toml");
    std::fs::write(
        &node_policy,
        format!(
            "{historical}\n[[keys]]\nname = \"station\"\npublic_key = \"{}\"\nroles = [\"station\"]\n",
            s(&d.join("station.pub"))
        ),
    )?;
    let bundle = repo().join("tests/vectors/historical/lbom-0.1.0.lbom");
    let store = d.join("store");
    import_signed(
        &bundle,
        &store,
        &d.join("station.toml"),
        &d.join("station.key"),
    )?;
    let reg = Registry::start(None)?;
    let out = push(
        &store,
        "historical",
        &reg.oci("models/historical:v1"),
        &[],
        0,
    )?;
    let digest = pushed_digest(&out)?;
    let node = d.join("node");
    pull(
        &reg.oci(&format!("models/historical@{digest}")),
        &node,
        &node_policy,
        &["--create"],
        0,
    )?;
    assert_eq!(
        sha256_tree(&node.join("historical/1/bundle"))?,
        sha256_tree(&store.join("historical/1/bundle"))?
    );
    assert_eq!(
        sha256_tree(&node.join("historical/1/files"))?,
        sha256_tree(&store.join("historical/1/files"))?
    );
    Ok(())
}

/// The streamed upload (a file above the 16 MiB buffer) refuses a stored
/// file changed since its import as the buffered one does: exit 4, the
/// upload session never closed, nothing tagged.
#[test]
fn a_large_stored_file_changed_is_refused_before_its_upload_closes() -> TestResult {
    let work = Scratch::new()?;
    let model = work.path().join("m");
    std::fs::create_dir(&model)?;
    write_safetensors(&model.join("model.safetensors"), 17 << 20)?;
    let st = station(&model)?;
    use std::os::unix::fs::PermissionsExt as _;
    let file = st.store.join("stable/1/files/model.safetensors");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    {
        use std::io::{Seek as _, SeekFrom, Write as _};
        let mut f = std::fs::OpenOptions::new().write(true).open(&file)?;
        f.seek(SeekFrom::Start(9 << 20))?;
        f.write_all(b"\x01")?;
    }
    let reg = Registry::start(None)?;
    push(&st.store, "stable", &reg.oci("models/m:v1"), &[], 4)?;
    assert!(
        !reg.storage()
            .join("repositories/models/m/_manifests/tags")
            .exists()
    );
    let blobs = reg.storage().join("blobs/sha256");
    let want = hex::encode(sha2::Sha256::digest(std::fs::read(&file)?));
    assert!(
        !reg.blob_path(&want).exists(),
        "the changed bytes were stored as a blob"
    );
    let _ = blobs;
    Ok(())
}
