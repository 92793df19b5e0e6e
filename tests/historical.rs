//! Historical bundles (issue 7 item 5; docs/bundle-format.md [B50]): a
//! bundle made by an earlier lbom, committed under
//! tests/vectors/historical/, must keep verifying in every later version,
//! or be refused with "unsupported bundle format version" — never with an
//! unrelated error such as an unknown manifest field.
//!
//! The vector was made by tests/vectors/historical/make.sh (see the README
//! there); its policy turns off `max_age` so that the test does not expire
//! (the reasoning is in the policy file's comments).

mod common;
mod tamper;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Run, TestResult, fail, lbom, repo, run_bounded};
use tamper::{Entry, Res, assemble, entries, fix_checksum, tar_layout};

const LIMIT: Duration = Duration::from_secs(60);

/// The committed vectors: every `*.lbom` in the folder, so a vector added
/// by a later version is checked without editing this file.
fn vectors() -> Res<Vec<PathBuf>> {
    let dir = repo().join("tests/vectors/historical");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    found.retain(|p| p.extension().is_some_and(|x| x == "lbom"));
    found.sort();
    if found.is_empty() {
        return Err(fail(format!("no historical bundle in {}", dir.display())));
    }
    Ok(found)
}

fn policy() -> PathBuf {
    repo().join("tests/vectors/historical/policy.toml")
}

fn verify(bundle: &Path, format_json: bool) -> Res<Run> {
    let mut args = vec![
        "verify".into(),
        bundle.as_os_str().to_owned(),
        "--policy".into(),
        policy().into_os_string(),
    ];
    if format_json {
        args.extend(["--format".into(), "json".into()]);
    }
    run_bounded(&mut lbom(args), LIMIT)
}

/// The committed file is the one make.sh recorded (a bundle changed by
/// hand would test nothing historical).
fn check_recorded_digest(bundle: &Path) -> TestResult {
    let mut sums = bundle.as_os_str().to_owned();
    sums.push(".sha256");
    let line = std::fs::read_to_string(PathBuf::from(sums))?;
    let want = line
        .split_whitespace()
        .next()
        .ok_or_else(|| fail("empty .sha256 file"))?;
    let got = lbom::io::digest::Sha256Digest::of(&std::fs::read(bundle)?).to_hex();
    if got != want {
        return Err(fail(format!(
            "{} has sha256 {got}, its .sha256 file says {want}",
            bundle.display()
        )));
    }
    Ok(())
}

#[test]
fn every_historical_bundle_still_verifies() -> TestResult {
    for bundle in vectors()? {
        check_recorded_digest(&bundle)?;
        let run = verify(&bundle, true)?;
        if run.code() != Some(0) {
            return Err(fail(format!(
                "{}: verify exited {:?}: {} {}",
                bundle.display(),
                run.code(),
                String::from_utf8_lossy(&run.stdout),
                run.stderr
            )));
        }
        // Every check ran and none failed; the clock checks passed outright
        // (not as warnings), so the policy's time settings keep holding.
        let report = run.json()?;
        let checks = report
            .get("checks")
            .and_then(|c| c.as_array())
            .ok_or_else(|| fail("no checks array"))?;
        for check in checks {
            let name = check.get("name").and_then(|n| n.as_str()).unwrap_or("");
            let outcome = check.get("status").and_then(|o| o.as_str()).unwrap_or("");
            let expected: &[&str] = match name {
                "trust.demo_key" => &["warn"],
                "store.history" => &["skipped"],
                _ => &["pass"],
            };
            if !expected.contains(&outcome) {
                return Err(fail(format!(
                    "{}: check {name} is {outcome}, expected {expected:?}",
                    bundle.display()
                )));
            }
        }
    }
    Ok(())
}

#[test]
fn every_historical_bundle_is_shown_by_inspect() -> TestResult {
    for bundle in vectors()? {
        let run = run_bounded(
            &mut lbom([
                "inspect".as_ref(),
                bundle.as_os_str(),
                "--format".as_ref(),
                "json".as_ref(),
            ]),
            LIMIT,
        )?;
        if run.code() != Some(0) {
            return Err(fail(format!(
                "{}: inspect exited {:?}: {}",
                bundle.display(),
                run.code(),
                run.stderr
            )));
        }
        let shown = run.json()?;
        let text = shown.to_string();
        for want in [
            "\"untrusted\"",
            "urn:lbom:bundle-manifest:v1",
            "artifacts/config.json",
            "artifacts/generation_config.json",
            "\"maintainer\"",
            "\"transfer\"",
        ] {
            if !text.contains(want) {
                return Err(fail(format!(
                    "{}: inspect --format json does not show {want}: {text}",
                    bundle.display()
                )));
            }
        }
    }
    Ok(())
}

/// Replace the manifest's `schema` with `schema` and re-encode the tar: the
/// manifest entry's size changes when the new value is longer, so its header
/// is re-encoded (size and checksum) and every later entry moves.
fn with_schema(bytes: &[u8], schema: &str) -> Res<Vec<u8>> {
    let mut list: Vec<Entry> = entries(bytes)?;
    let manifest = list
        .iter_mut()
        .find(|e| e.name == "manifest.json")
        .ok_or_else(|| fail("no manifest.json"))?;
    let text = String::from_utf8(manifest.data.clone())?;
    let old = "\"schema\": \"urn:lbom:bundle-manifest:v1\"";
    if !text.contains(old) {
        return Err(fail("manifest has no v1 schema line"));
    }
    manifest.data = text
        .replacen(old, &format!("\"schema\": \"{schema}\""), 1)
        .into_bytes();
    assemble(&list)
}

/// Bump the version in place (`v1` → `v9`, same length: a version no
/// reader knows yet; v2 is read since format version 2) and recompute the
/// manifest header's checksum: only the data bytes and the checksum
/// change, so the edit reaches the manifest reader rather than the tar walk.
fn bumped_in_place(bytes: &[u8]) -> Res<Vec<u8>> {
    let layout = tar_layout(bytes)?;
    let manifest = layout
        .iter()
        .find(|e| e.name.as_str() == "manifest.json")
        .ok_or_else(|| fail("no manifest.json"))?;
    let start = usize::try_from(manifest.data_offset)?;
    let end = start + usize::try_from(manifest.size)?;
    let mut out = bytes.to_vec();
    let data = out.get_mut(start..end).ok_or_else(|| fail("range"))?;
    let needle = b"urn:lbom:bundle-manifest:v";
    let at = data
        .windows(needle.len())
        .position(|w| w == needle)
        .ok_or_else(|| fail("no schema in the manifest"))?;
    let digit = data
        .get_mut(at + needle.len())
        .ok_or_else(|| fail("range"))?;
    *digit = b'9';
    let header_at = usize::try_from(manifest.header_offset)?;
    fix_checksum(
        out.get_mut(header_at..header_at + 512)
            .ok_or_else(|| fail("range"))?,
    )?;
    Ok(out)
}

#[test]
fn an_unknown_format_version_is_refused_as_unsupported() -> TestResult {
    let dir = tempfile::tempdir()?;
    for bundle in vectors()? {
        let bytes = std::fs::read(&bundle)?;
        let cases = [
            ("v9-in-place", bumped_in_place(&bytes)?, "\"v9\""),
            (
                "v10-resized",
                with_schema(&bytes, "urn:lbom:bundle-manifest:v10")?,
                "\"v10\"",
            ),
        ];
        for (label, edited, version) in cases {
            if edited == bytes {
                return Err(fail(format!("{label}: the edit changed nothing")));
            }
            let path = dir.path().join(format!("{label}.lbom"));
            std::fs::write(&path, &edited)?;
            for run in [
                verify(&path, false)?,
                run_bounded(&mut lbom(["inspect".as_ref(), path.as_os_str()]), LIMIT)?,
            ] {
                let all = format!("{}{}", String::from_utf8_lossy(&run.stdout), run.stderr);
                let named =
                    all.contains("unsupported bundle format version") && all.contains(version);
                if run.code() != Some(3) || !named {
                    return Err(fail(format!(
                        "{label}: expected exit 3 naming unsupported bundle format version {version}, got {:?}: {all}",
                        run.code()
                    )));
                }
            }
        }
    }
    Ok(())
}
