//! Part sets through the `lbom` binary (docs/bundle-format.md, section 13):
//! `split`, `verify-parts` (text, JSON, exit codes, read-only), `repair`
//! and `join`, with the index's signature checked by securesystemslib.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{TestResult, fail, lbom, repo, venv};

fn golden() -> PathBuf {
    repo().join("tests/vectors/bundle/tiny.lbom")
}

fn policy() -> PathBuf {
    repo().join("docs/examples/demo.toml")
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, Box<dyn std::error::Error>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path)?);
            }
        }
    }
    Ok(out)
}

fn find(
    files: &BTreeMap<PathBuf, Vec<u8>>,
    suffix: &str,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    files
        .keys()
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .cloned()
        .ok_or_else(|| fail(format!("no file ending {suffix}")))
}

/// Ok when the run exited 0, else its output as the error.
/// `lbom COMMAND SET --policy P -o OUT` (join, repair), which must succeed.
fn through_policy(command: &str, set: &Path, out: &Path) -> TestResult {
    lbom([
        command.as_ref(),
        set.as_os_str(),
        "--policy".as_ref(),
        policy().as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .output()
    .map(succeeded)?
}

fn succeeded(out: std::process::Output) -> TestResult {
    if out.status.success() {
        Ok(())
    } else {
        Err(fail(format!(
            "exit {:?}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

#[test]
fn split_verify_parts_repair_and_join_from_the_command_line() -> TestResult {
    let dir = tempfile::tempdir()?;
    let set = dir.path().join("set");
    let key = repo().join("keys/demo-transfer.key");
    lbom([
        "split".as_ref(),
        golden().as_os_str(),
        "-o".as_ref(),
        set.as_os_str(),
        "--size".as_ref(),
        "2K".as_ref(),
        "--parity".as_ref(),
        "2".as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        "--role".as_ref(),
        "transfer".as_ref(),
    ])
    .output()
    .map(succeeded)??;
    let before = tree(&set)?;
    assert_eq!(before.len(), 16, "8 media, a part and an index each");
    // The index verifies under securesystemslib with the demo transfer key.
    let index = find(&before, ".index.dsse.json")?;
    let out = std::process::Command::new(venv()?.join("bin/python"))
        .arg(repo().join("tests/tools/verify_dsse.py"))
        .arg(&index)
        .arg(repo().join("keys/demo-transfer.pub"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let verify = |format: &str| {
        lbom([
            "verify-parts".as_ref(),
            set.as_os_str(),
            "--policy".as_ref(),
            policy().as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
        ])
        .output()
    };
    let run = verify("text")?;
    assert_eq!(run.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&run.stdout).contains("complete: every part present"));

    // One part deleted, one damaged: both named, integrity wins (exit 4).
    let gone = find(&before, ".part0002")?;
    let hurt = find(&before, ".part0005")?;
    std::fs::remove_file(&gone)?;
    let mut bytes = before[&hurt].clone();
    bytes[7] ^= 0x80;
    std::fs::write(&hurt, bytes)?;
    let damaged = tree(&set)?;
    let run = verify("json")?;
    assert_eq!(run.status.code(), Some(4));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)?;
    let state = |suffix: &str| {
        report["parts"]
            .as_array()
            .and_then(|parts| {
                parts
                    .iter()
                    .find(|p| p["file_name"].as_str().is_some_and(|n| n.ends_with(suffix)))
            })
            .and_then(|p| p["state"].as_str().map(str::to_owned))
    };
    assert_eq!(state(".part0002").as_deref(), Some("missing"));
    assert_eq!(state(".part0005").as_deref(), Some("damaged"));
    assert_eq!(state(".part0001").as_deref(), Some("present"));
    assert_eq!(report["verdict"]["verdict"], "repairable");
    // verify-parts wrote nothing.
    assert_eq!(tree(&set)?, damaged);

    // join reads through the gaps; repair rebuilds both byte for byte.
    let joined = dir.path().join("joined.lbom");
    through_policy("join", &set, &joined)?;
    assert_eq!(std::fs::read(&joined)?, std::fs::read(golden())?);
    let rebuilt = dir.path().join("rebuilt");
    through_policy("repair", &set, &rebuilt)?;
    let made = tree(&rebuilt)?;
    assert_eq!(made[&find(&made, ".part0002")?], before[&gone]);
    assert_eq!(made[&find(&made, ".part0005")?], before[&hurt]);

    // Missing only: I/O (10). An unsigned index: trust (5).
    std::fs::remove_file(&hurt)?;
    assert_eq!(verify("text")?.status.code(), Some(10));
    for path in damaged
        .keys()
        .filter(|p| p.to_string_lossy().ends_with(".index.dsse.json"))
    {
        let text = std::fs::read_to_string(path)?;
        let mut envelope: serde_json::Value = serde_json::from_str(&text)?;
        envelope["signatures"] = serde_json::json!([]);
        std::fs::write(path, format!("{}\n", serde_json::to_string(&envelope)?))?;
    }
    let run = verify("text")?;
    assert_eq!(
        run.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    Ok(())
}

/// Every file of a store but the import record and history (which name
/// the bundle's file and the time), with its bytes.
fn store_files(root: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>, Box<dyn std::error::Error>> {
    Ok(tree(root)?
        .into_iter()
        .filter(|(p, _)| {
            let text = p.to_string_lossy();
            !text.ends_with("import.json") && !text.contains("history")
        })
        .map(|(p, b)| Ok((p.strip_prefix(root)?.to_path_buf(), b)))
        .collect::<Result<_, std::path::StripPrefixError>>()?)
}

#[test]
fn verify_and_import_read_a_part_set_as_the_bundle() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (set, joined, signed_set) = signed_sets(dir.path(), &["2"])?;
    let signed_set = signed_set.first().ok_or("no set")?;
    missing_part_and_untrusted_chain(dir.path(), &set, &joined, signed_set)
}

/// A bundle packed with `pack --split` (lacking the desk's link: `set`),
/// joined and countersigned (`joined`), and cut again once for each parity
/// count of `parities`, into 64 KiB parts.
#[allow(clippy::type_complexity)]
fn signed_sets(
    dir: &Path,
    parities: &[&str],
) -> Result<(PathBuf, PathBuf, Vec<PathBuf>), Box<dyn std::error::Error>> {
    let keys = repo().join("keys");
    let set = dir.join("packed");
    std::fs::create_dir_all(&set)?;
    let bundle = set.join("m.lbom");
    let model = repo().join("fixtures/safetensors/tiny-llama");
    let run = |args: &[&std::ffi::OsStr]| lbom(args).env_remove("SOURCE_DATE_EPOCH").output();
    let out = run(&[
        "pack".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        bundle.as_os_str(),
        "--key".as_ref(),
        keys.join("demo-maintainer.key").as_os_str(),
        "--role".as_ref(),
        "maintainer".as_ref(),
        "--split".as_ref(),
        "64K".as_ref(),
        "--parity".as_ref(),
        "2".as_ref(),
        "--split-key".as_ref(),
        keys.join("demo-transfer.key").as_os_str(),
        "--split-role".as_ref(),
        "transfer".as_ref(),
    ])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pack --split leaves only the medium folders.
    assert!(!bundle.exists());
    // The chain still needs the desk's countersignature: join, sign, cut again.
    let joined = dir.join("joined").join("m.lbom");
    std::fs::create_dir_all(joined.parent().ok_or("no parent")?)?;
    let out = run(&[
        "join".as_ref(),
        set.as_os_str(),
        "--policy".as_ref(),
        policy().as_os_str(),
        "-o".as_ref(),
        joined.as_os_str(),
    ])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "sign".as_ref(),
        joined.as_os_str(),
        "--key".as_ref(),
        keys.join("demo-transfer.key").as_os_str(),
        "--role".as_ref(),
        "transfer".as_ref(),
    ])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sets = Vec::new();
    for parity in parities {
        let signed_set = dir.join(format!("signed-set-parity{parity}"));
        let out = run(&[
            "split".as_ref(),
            joined.as_os_str(),
            "-o".as_ref(),
            signed_set.as_os_str(),
            "--size".as_ref(),
            "64K".as_ref(),
            "--parity".as_ref(),
            parity.as_ref(),
            "--key".as_ref(),
            keys.join("demo-transfer.key").as_os_str(),
            "--role".as_ref(),
            "transfer".as_ref(),
        ])?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        sets.push(signed_set);
    }
    Ok((set, joined, sets))
}

/// Continues [`verify_and_import_read_a_part_set_as_the_bundle`].
fn missing_part_and_untrusted_chain(
    dir: &Path,
    set: &Path,
    joined: &Path,
    signed_set: &Path,
) -> TestResult {
    let run = |args: &[&std::ffi::OsStr]| lbom(args).env_remove("SOURCE_DATE_EPOCH").output();
    // One part gone: verify and import read through the gap.
    let files = tree(signed_set)?;
    std::fs::remove_file(find(&files, ".part0002")?)?;
    let out = run(&[
        "verify".as_ref(),
        signed_set.as_os_str(),
        "--policy".as_ref(),
        policy().as_os_str(),
    ])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Read once, the missing part rebuilt as read; the report names it.
    assert!(
        stdout.contains("rebuilt from parity as read") && stdout.contains(".part0002"),
        "{stdout}"
    );
    assert!(!stdout.contains("second read"), "{stdout}");
    let from_file = dir.join("store-file");
    let from_parts = dir.join("store-parts");
    for (from, store) in [(joined, &from_file), (signed_set, &from_parts)] {
        let out = run(&[
            "import".as_ref(),
            from.as_os_str(),
            "--into".as_ref(),
            store.as_os_str(),
            "--create".as_ref(),
            "--policy".as_ref(),
            policy().as_os_str(),
        ])?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(store_files(&from_parts)?, store_files(&from_file)?);
    // A part set whose bundle lost its chain's trust is refused as the file is.
    let out = run(&[
        "verify".as_ref(),
        set.as_os_str(),
        "--policy".as_ref(),
        policy().as_os_str(),
    ])?;
    assert_eq!(
        out.status.code(),
        Some(5),
        "the set pack cut lacks the desk's link: the bundle's chain decides"
    );
    Ok(())
}

/// The data range of the largest entry of the tar at `bundle`.
fn largest_entry_data(bundle: &Path) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle)?);
    let mut best = (0, 0);
    for entry in archive.entries()? {
        let entry = entry?;
        let size = entry.header().size()?;
        if size > best.1 {
            best = (entry.raw_file_position(), size);
        }
    }
    Ok(best)
}

/// Flip one byte inside the largest artifact's data in the data part that
/// holds it (64 KiB parts): the part keeps its size, so only its digest
/// (or the bundle's own) can tell. Returns the part's file name.
fn flip_byte_in_place(set: &Path, offset: u64) -> Result<String, Box<dyn std::error::Error>> {
    let part_size = 64 * 1024;
    let suffix = format!(".part{:04}", offset / part_size + 1);
    let files = tree(set)?;
    let part = find(&files, &suffix)?;
    let mut bytes = std::fs::read(&part)?;
    let at = usize::try_from(offset % part_size)?;
    let byte = bytes.get_mut(at).ok_or("offset past the part")?;
    *byte ^= 0x40;
    std::fs::write(&part, &bytes)?;
    Ok(suffix)
}

/// A part damaged in place (same size, one byte flipped): with parity the
/// first read fails on the bundle's own digest, the part check names the
/// part, and the second read through parity verifies and imports exactly
/// what the bundle file imports, the report saying so; without parity the
/// bundle is refused as damaged (integrity, exit 4) and nothing is stored
/// (docs/bundle-format.md, section 13, [B73]).
#[test]
fn a_part_damaged_in_place_is_rebuilt_in_a_second_read_or_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, joined, sets) = signed_sets(dir.path(), &["2", "0"])?;
    let [with_parity, without_parity] = sets.as_slice() else {
        return Err(fail("two sets expected"));
    };
    let (start, size) = largest_entry_data(&joined)?;
    let damaged = start + size / 2;
    let run = |args: &[&std::ffi::OsStr]| lbom(args).env_remove("SOURCE_DATE_EPOCH").output();
    let verify = |set: &Path| {
        run(&[
            "verify".as_ref(),
            set.as_os_str(),
            "--policy".as_ref(),
            policy().as_os_str(),
        ])
    };
    let import = |from: &Path, store: &Path| {
        run(&[
            "import".as_ref(),
            from.as_os_str(),
            "--into".as_ref(),
            store.as_os_str(),
            "--create".as_ref(),
            "--policy".as_ref(),
            policy().as_os_str(),
        ])
    };
    let suffix = flip_byte_in_place(with_parity, damaged)?;
    flip_byte_in_place(without_parity, damaged)?;

    // Success, with the report naming the second read and the part.
    let names_the_retry = |out: std::process::Output, what: &str| {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("rebuilt from parity in a second read") && stdout.contains(&suffix),
            "the {what} names the retry and the part: {stdout}"
        );
    };
    names_the_retry(verify(with_parity)?, "report");
    let from_file = dir.path().join("store-file");
    let from_parts = dir.path().join("store-parts");
    succeeded(import(&joined, &from_file)?)?;
    names_the_retry(import(with_parity, &from_parts)?, "import report");
    assert_eq!(store_files(&from_parts)?, store_files(&from_file)?);
    // Nothing of the failed first read is left in the store's staging.
    let staging = from_parts.join(".staging");
    if staging.exists() {
        assert_eq!(
            std::fs::read_dir(&staging)?.count(),
            0,
            "staging left behind"
        );
    }

    let out = verify(without_parity)?;
    assert_eq!(
        out.status.code(),
        Some(4),
        "a damaged part without parity is refused as damaged: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let refused = dir.path().join("store-refused");
    let out = import(without_parity, &refused)?;
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !refused.exists(),
        "a refused import --create leaves no store (docs/store.md [S18])"
    );
    Ok(())
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `lbom split` of `bundle` into exactly `data` data parts and `parity`
/// parity parts under `out`, one medium folder each, the index signed by
/// the demo transfer key: the medium folders in number order.
fn split_into_media(bundle: &Path, out: &Path, data: u64, parity: u32) -> Res<Vec<PathBuf>> {
    let len = std::fs::metadata(bundle)?.len();
    let size = len.div_ceil(data);
    let size = size + size % 2;
    assert_eq!(len.div_ceil(size), data, "{len} bytes in parts of {size}");
    let key = repo().join("keys/demo-transfer.key");
    lbom([
        "split".as_ref(),
        bundle.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--size".as_ref(),
        size.to_string().as_ref(),
        "--parity".as_ref(),
        parity.to_string().as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        "--role".as_ref(),
        "transfer".as_ref(),
    ])
    .output()
    .map(succeeded)??;
    let mut media: Vec<PathBuf> = std::fs::read_dir(out)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    media.sort();
    assert_eq!(media.len() as u64, data + u64::from(parity));
    Ok(media)
}

/// `lbom verify PATHS… --policy P [ARGS…]`.
fn verify_paths(paths: &[&Path], more: &[&str]) -> std::io::Result<std::process::Output> {
    let policy = policy();
    let mut args: Vec<&std::ffi::OsStr> = vec!["verify".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    args.extend(["--policy".as_ref(), policy.as_os_str()]);
    args.extend(more.iter().map(std::ffi::OsStr::new));
    lbom(args).env_remove("SOURCE_DATE_EPOCH").output()
}

/// `lbom import PATHS… --into STORE --create --policy P`.
fn import_paths(paths: &[&Path], store: &Path) -> std::io::Result<std::process::Output> {
    let policy = policy();
    let mut args: Vec<&std::ffi::OsStr> = vec!["import".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    args.extend([
        "--into".as_ref(),
        store.as_os_str(),
        "--create".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ]);
    lbom(args).env_remove("SOURCE_DATE_EPOCH").output()
}

/// The exit code, with the output as the message when it is not `want`.
fn exits(out: &std::process::Output, want: i32, what: &str) -> TestResult {
    if out.status.code() == Some(want) {
        return Ok(());
    }
    Err(fail(format!(
        "{what}: exit {:?}, want {want}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )))
}

/// A part set cut with one parity part over four media (three data parts
/// and the parity part), its folders given as four paths in shuffled order
/// (docs/bundle-format.md, section 13, [B84]): `verify` reads it once and
/// `import` writes the store the bundle file writes, its record naming the
/// first folder; a medium not given is rebuilt from parity as read and
/// named; two not given are too many (I/O, exit 10, nothing stored); a
/// medium of another bundle's set, trusted too, is refused before anything
/// is read (exit 2, nothing stored); a file among the folders, or two
/// files, is a usage error.
#[test]
fn verify_and_import_read_a_part_set_spread_over_several_media() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, joined, _) = signed_sets(dir.path(), &[])?;
    let media = split_into_media(&joined, &dir.path().join("media"), 3, 1)?;
    let [m1, m2, m3, m4] = media.as_slice() else {
        return Err(fail("four media expected"));
    };
    let (m1, m2, m3, m4) = (m1.as_path(), m2.as_path(), m3.as_path(), m4.as_path());

    let out = verify_paths(&[m3, m1, m4, m2], &[])?;
    exits(&out, 0, "verify of four media")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("rebuilt"), "{stdout}");
    let from_file = dir.path().join("store-file");
    exits(
        &import_paths(&[&joined], &from_file)?,
        0,
        "import of the file",
    )?;
    let from_media = dir.path().join("store-media");
    exits(
        &import_paths(&[m3, m1, m4, m2], &from_media)?,
        0,
        "import of four media",
    )?;
    assert_eq!(store_files(&from_media)?, store_files(&from_file)?);
    let records = tree(&from_media)?;
    let record: serde_json::Value =
        serde_json::from_slice(&records[&find(&records, "import.json")?])?;
    assert_eq!(record["bundle_file"], "medium-0003");

    // The second medium not given: its part rebuilt as read, named.
    let out = verify_paths(&[m4, m1, m3], &[])?;
    exits(&out, 0, "verify without medium 2")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("rebuilt from parity as read") && stdout.contains(".part0002"),
        "{stdout}"
    );
    let from_three = dir.path().join("store-three");
    exits(
        &import_paths(&[m4, m1, m3], &from_three)?,
        0,
        "import without medium 2",
    )?;
    assert_eq!(store_files(&from_three)?, store_files(&from_file)?);

    // Two media not given: one parity part cannot rebuild two.
    exits(&verify_paths(&[m3, m1], &[])?, 10, "verify of two media")?;
    let refused = dir.path().join("store-two");
    exits(
        &import_paths(&[m1, m3], &refused)?,
        10,
        "import of two media",
    )?;
    assert!(!refused.exists(), "a refused import --create left a store");

    // A medium of another bundle's set, signed by the same trusted key.
    let other = dir.path().join("other");
    let other_media = split_into_media(&golden(), &other, 2, 1)?;
    let foreign = other_media.first().ok_or("no other medium")?;
    let out = verify_paths(&[m1, m2, foreign, m3, m4], &[])?;
    exits(&out, 2, "verify with a foreign medium")?;
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("trusted part indexes of"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = dir.path().join("store-foreign");
    exits(
        &import_paths(&[m1, m2, foreign, m3, m4], &refused)?,
        2,
        "import with a foreign medium",
    )?;
    assert!(!refused.exists(), "refused before the store was opened");

    // Files among several paths: a usage error, one sentence.
    for paths in [[m1, joined.as_path()], [joined.as_path(), joined.as_path()]] {
        let out = verify_paths(&paths, &[])?;
        exits(&out, 2, "verify of a file among several paths")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("several paths name the folders"),
            "{stderr}"
        );
    }
    // A registry reference is verified alone.
    let reference = Path::new("oci://127.0.0.1:9/models/m:v1");
    exits(
        &verify_paths(&[reference, m1], &[])?,
        2,
        "verify of a reference and a folder",
    )?;
    Ok(())
}

/// `verify --store` of a part set, as one folder holding every medium or
/// as the media given one by one, checks against the store's channel as
/// the bundle file does, check for check (docs/bundle-format.md [B84]):
/// on an empty store, once the bundle is imported, and once a newer
/// version is current (a rollback, exit 7).
#[test]
fn verify_store_reads_a_part_set_as_its_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, joined, _) = signed_sets(dir.path(), &[])?;
    let all = dir.path().join("media");
    let media = split_into_media(&joined, &all, 3, 1)?;
    let shuffled: Vec<&Path> = [2, 0, 3, 1]
        .iter()
        .filter_map(|&i| media.get(i).map(PathBuf::as_path))
        .collect();
    let store = dir.path().join("store");
    lbom(["store".as_ref(), "init".as_ref(), store.as_os_str()])
        .output()
        .map(succeeded)??;
    let checks = |paths: &[&Path]| -> Res<(Option<i32>, serde_json::Value)> {
        let out = verify_paths(
            paths,
            &["--store", &store.to_string_lossy(), "--format", "json"],
        )?;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok((out.status.code(), report["checks"].clone()))
    };
    let history = |checks: &serde_json::Value| {
        checks.as_array().and_then(|all| {
            all.iter()
                .find(|c| c["name"] == "store.history")
                .map(|c| c["detail"].to_string())
        })
    };

    // A second version, one sequence on, signed as the first.
    let keys = repo().join("keys");
    let (maintainer, transfer) = (
        keys.join("demo-maintainer.key"),
        keys.join("demo-transfer.key"),
    );
    let v2 = dir.path().join("v2.lbom");
    let model = repo().join("fixtures/safetensors/tiny-llama");
    for args in [
        vec![
            "pack".as_ref(),
            model.as_os_str(),
            "-o".as_ref(),
            v2.as_os_str(),
            "--previous".as_ref(),
            joined.as_os_str(),
            "--key".as_ref(),
            maintainer.as_os_str(),
            "--role".as_ref(),
            "maintainer".as_ref(),
        ],
        vec![
            "sign".as_ref(),
            v2.as_os_str(),
            "--key".as_ref(),
            transfer.as_os_str(),
            "--role".as_ref(),
            "transfer".as_ref(),
        ],
    ] {
        lbom(args)
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .map(succeeded)??;
    }

    for (state, want, detail) in [
        ("empty", 0, "first import"),
        ("imported", 0, "already imported as sequence 1"),
        ("rolled back", 7, "which the store keeps already"),
    ] {
        match state {
            "imported" => exits(&import_paths(&[&joined], &store)?, 0, "import v1")?,
            "rolled back" => exits(&import_paths(&[&v2], &store)?, 0, "import v2")?,
            _ => {}
        }
        let (code, from_file) = checks(&[&joined])?;
        assert_eq!(code, Some(want), "{state}: {from_file}");
        let said = history(&from_file).unwrap_or_default();
        assert!(said.contains(detail), "{state}: {said}");
        for (how, paths) in [
            ("one folder", vec![all.as_path()]),
            ("four media", shuffled.clone()),
        ] {
            let (set_code, from_set) = checks(&paths)?;
            assert_eq!(set_code, code, "{state}, {how}");
            assert_eq!(from_set, from_file, "{state}, {how}");
        }
    }
    Ok(())
}
