//! The bundle `pull` and `verify oci://` read in place (src/registry/source/,
//! docs/registry.md §4 step 5 and "Range requests") against real
//! components: Debian's docker-registry serving blobs and ranges itself,
//! and, behind its `redirect` storage middleware, a blob store that
//! ignores `Range` (as Python's http.server and some CDNs do). The
//! source's bytes must be the bundle `pack` and `sign` wrote, read in order
//! or anywhere, and pull and verify must pass through it.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::registry::Registry;
use common::station::{pull, push, pushed_digest, run_lbom, s, station_packed, tiny};
use common::{TestResult, fail, sha256_tree};
use lbom::io::source::BundleSource;
use lbom::registry::pull::{Fetched, open};
use lbom::registry::{ClientOptions, Reference};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn options(dir: &Path) -> ClientOptions {
    ClientOptions {
        docker_config: Some(dir.join("no-docker-config.json")),
        ..ClientOptions::default()
    }
}

/// Raw artifacts with bytes: the layers a source reads from the registry.
fn raw_layers(fetched: &Fetched) -> u64 {
    fetched
        .manifest
        .entries
        .iter()
        .filter(|e| {
            e.role == lbom::bundle::Role::Artifact
                && e.encoding == lbom::bundle::Encoding::Raw
                && e.size > 0
        })
        .count() as u64
}

fn read_through(source: &dyn BundleSource) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = source.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

/// `count` reads at pseudo-random offsets and lengths: each must give the
/// bundle's bytes there.
fn random_reads(source: &dyn BundleSource, want: &[u8], count: usize) -> Res<()> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..count {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let from = usize::try_from((x >> 16) % want.len() as u64)?;
        let len = usize::try_from((x >> 3) % 70_000)?.min(want.len() - from);
        let mut buf = vec![0u8; len];
        source.read_exact_at(&mut buf, from as u64)?;
        if want.get(from..from + len) != Some(buf.as_slice()) {
            return Err(fail(format!(
                "{len} bytes at {from} differ from the bundle"
            )));
        }
    }
    Ok(())
}

/// docker-registry answers ranges itself (`206`): read in order, the
/// source is the packed bundle byte for byte at one request per raw layer;
/// read anywhere, the same bytes. `verify` and `pull` go through it, and
/// the node's version names the bundle it never wrote.
#[test]
fn a_bundle_is_read_in_place_from_docker_registry() -> TestResult {
    let st = station_packed(&tiny(), "auto")?;
    let reg = Registry::start(None)?;
    let digest = pushed_digest(&push(&st.store, "stable", &reg.oci("m/tiny:v1"), &[], 0)?)?;
    let reference = Reference::parse(&reg.oci(&format!("m/tiny@{digest}")))?;
    let policy = lbom::verify::Policy::load(&st.node_policy)?;
    let packed = std::fs::read(st.dir.path().join("model.lbom"))?;

    let (fetched, source) = open(&reference, &options(st.dir.path()), &policy)?;
    assert_eq!(fetched.name, reference.to_string());
    assert!(
        read_through(&source)? == packed,
        "the source is not the packed bundle"
    );
    assert_eq!(source.requests(), raw_layers(&fetched));
    let (_, source) = open(&reference, &options(st.dir.path()), &policy)?;
    random_reads(&source, &packed, 60)?;
    assert!(
        source.requests() > raw_layers(&fetched),
        "no read needed a range"
    );

    let by_digest = reference.to_string();
    run_lbom(&["verify", &by_digest, "--policy", s(&st.node_policy)], 0)?;
    let node = st.dir.path().join("node");
    pull(&by_digest, &node, &st.node_policy, &["--create"], 0)?;
    assert_eq!(
        sha256_tree(&node.join("stable/1/files"))?,
        sha256_tree(&st.store.join("stable/1/files"))?
    );
    Ok(())
}

/// What the blob store behind the redirect was asked.
#[derive(Default)]
struct Asked {
    root: Option<PathBuf>,
    gets: BTreeMap<String, usize>,
    ranged: usize,
}

/// A blob store that ignores `Range`: every GET of a file below the
/// registry's storage root is answered `200` with the whole file.
fn serve_ignoring_ranges(stream: &mut TcpStream, asked: &Mutex<Asked>) -> Res<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut ranged = false;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h.trim_end().is_empty() {
            break;
        }
        ranged |= h.to_ascii_lowercase().starts_with("range:");
    }
    let file = {
        let mut a = asked.lock().map_err(|_| fail("poisoned"))?;
        *a.gets.entry(path.clone()).or_default() += 1;
        a.ranged += usize::from(ranged);
        let root = a.root.clone().ok_or_else(|| fail("no storage root yet"))?;
        root.join(path.trim_start_matches('/'))
    };
    let (status, body) = match std::fs::read(&file) {
        Ok(b) if !path.contains("..") => ("200 OK", b),
        _ => ("404 Not Found", Vec::new()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    // A reader that stops early closes the connection: not an error here.
    let _ = stream.write_all(&body);
    Ok(())
}

/// docker-registry's `redirect` middleware sends every blob GET to a store
/// that answers `200` with the whole blob whatever the range: read in
/// order, the source still makes one request per layer; read anywhere, it
/// skips to the offset and gives the same bytes; `verify` and `pull` pass.
#[test]
fn a_blob_store_that_ignores_ranges_behind_a_redirect() -> TestResult {
    let st = station_packed(&tiny(), "auto")?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let asked = Arc::new(Mutex::new(Asked::default()));
    let shared = Arc::clone(&asked);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = serve_ignoring_ranges(&mut stream, &shared);
        }
    });
    let reg = Registry::start_redirecting(&format!("http://127.0.0.1:{port}/"))?;
    asked.lock().map_err(|_| fail("poisoned"))?.root = Some(reg.storage_root());
    let digest = pushed_digest(&push(&st.store, "stable", &reg.oci("m/tiny:v1"), &[], 0)?)?;
    let reference = Reference::parse(&reg.oci(&format!("m/tiny@{digest}")))?;
    let policy = lbom::verify::Policy::load(&st.node_policy)?;
    let packed = std::fs::read(st.dir.path().join("model.lbom"))?;

    let (fetched, source) = open(&reference, &options(st.dir.path()), &policy)?;
    assert!(
        read_through(&source)? == packed,
        "the source is not the packed bundle"
    );
    assert_eq!(source.requests(), raw_layers(&fetched));
    let (_, source) = open(&reference, &options(st.dir.path()), &policy)?;
    random_reads(&source, &packed, 60)?;
    {
        let a = asked.lock().map_err(|_| fail("poisoned"))?;
        assert!(a.ranged > 0, "no ranged request reached the blob store");
        assert!(!a.gets.is_empty());
    }

    let by_digest = reference.to_string();
    run_lbom(&["verify", &by_digest, "--policy", s(&st.node_policy)], 0)?;
    let node = st.dir.path().join("node");
    pull(&by_digest, &node, &st.node_policy, &["--create"], 0)?;
    assert_eq!(
        sha256_tree(&node.join("stable/1/files"))?,
        sha256_tree(&st.store.join("stable/1/files"))?
    );
    Ok(())
}

/// Parallel uploads (`push --jobs N`, docs/registry.md §3): one worker and
/// eight give the same artifact (the same manifest digest, every blob
/// uploaded once, the referrers tag listing the same referrers), and a
/// pull of either passes; with eight workers small blobs beyond the shared
/// buffer go up streamed, which the registry must accept the same.
#[test]
fn one_upload_at_a_time_or_eight_give_the_same_artifact() -> TestResult {
    let st = station_packed(&tiny(), "auto")?;
    let reg = Registry::start(None)?;
    let one = push(
        &st.store,
        "stable",
        &reg.oci("m/one:v1"),
        &["--jobs", "1"],
        0,
    )?;
    let eight = push(
        &st.store,
        "stable",
        &reg.oci("m/eight:v1"),
        &["--jobs", "8"],
        0,
    )?;
    let digest = pushed_digest(&one)?;
    assert_eq!(pushed_digest(&eight)?, digest);
    let uploaded = |out: &str| {
        out.split(" blob(s) uploaded")
            .next()
            .and_then(|h| h.rsplit(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
    };
    assert!(uploaded(&one).is_some_and(|n| n > 5), "{one}");
    assert_eq!(uploaded(&one), uploaded(&eight), "{one} / {eight}");
    let tag = |repo: &str| -> Res<Vec<u8>> {
        let hex = digest.trim_start_matches("sha256:");
        let link = reg.storage().join(format!(
            "repositories/m/{repo}/_manifests/tags/sha256-{hex}/current/link"
        ));
        let d = std::fs::read_to_string(link)?;
        Ok(std::fs::read(
            reg.blob_path(d.trim().trim_start_matches("sha256:")),
        )?)
    };
    assert_eq!(tag("one")?, tag("eight")?, "the referrers tags differ");
    for repo in ["one", "eight"] {
        let node = st.dir.path().join(format!("node-{repo}"));
        pull(
            &reg.oci(&format!("m/{repo}@{digest}")),
            &node,
            &st.node_policy,
            &["--create"],
            0,
        )?;
    }
    Ok(())
}

/// `lbom ARGS` with `$TMPDIR` naming a folder that does not exist: its
/// exit code and stderr.
fn without_tmpdir(args: &[&str], tmpdir: &Path) -> Res<(Option<i32>, String)> {
    let mut cmd = common::lbom(args);
    cmd.env("TMPDIR", tmpdir);
    let run = common::run_bounded(&mut cmd, common::station::LIMIT)?;
    Ok((run.code(), run.stderr))
}

/// No bundle is written on the node: with `$TMPDIR` a folder that does not
/// exist, a bundle of raw entries is verified and pulled all the same
/// (nothing of it goes through `$TMPDIR`), while one with zstd entries is
/// refused with exit 10 naming `$TMPDIR` — those, and only those, are
/// spooled (docs/registry.md §4 step 5).
#[test]
fn only_zstd_entries_go_through_tmpdir() -> TestResult {
    for (compress, spooled) in [("none", false), ("auto", true)] {
        let st = station_packed(&tiny(), compress)?;
        let reg = Registry::start(None)?;
        let digest = pushed_digest(&push(&st.store, "stable", &reg.oci("m/tiny:v1"), &[], 0)?)?;
        let by_digest = reg.oci(&format!("m/tiny@{digest}"));
        let missing = st.dir.path().join("no-such-tmpdir");
        let node = st.dir.path().join("node");
        let policy = s(&st.node_policy);
        let runs = [
            without_tmpdir(&["verify", &by_digest, "--policy", policy], &missing)?,
            without_tmpdir(
                &[
                    "pull",
                    &by_digest,
                    "--into",
                    s(&node),
                    "--create",
                    "--policy",
                    policy,
                ],
                &missing,
            )?,
        ];
        for (code, stderr) in runs {
            if spooled {
                assert_eq!(code, Some(10), "{compress}: {stderr}");
                assert!(stderr.contains("no-such-tmpdir"), "{compress}: {stderr}");
            } else {
                assert_eq!(code, Some(0), "{compress}: {stderr}");
            }
        }
        assert!(!missing.exists(), "{compress}: $TMPDIR was created");
        assert_eq!(node.join("stable/1/files").is_dir(), !spooled);
    }
    Ok(())
}
