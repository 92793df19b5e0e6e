//! Memory is bounded before trust (docs/threat-model.md G10,
//! docs/bundle-format.md "Reader limits"): for every structure a bundle
//! makes a reader build, a bundle at that structure's limit, and bundles
//! with every limit reached at once, are refused or accepted by `verify`,
//! `import`, `inspect`, `sign` and `diff` with a peak resident set under
//! 128 MiB, each command run as a child under an address-space cap.
//!
//! The bundles are generated here (tests/memory/writer.rs: a ustar writer and
//! the documents of the spec, links signed with ed25519-dalek) into a
//! temporary folder, once per case; the figures are printed (run with
//! `--nocapture`) and recorded in docs/performance.md.

mod common;
mod memory;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::TestResult;
use memory::writer::{self, Artifact, LinkShape, Res, Shape};
use memory::{Cmd, Station, measure_case};
use memory::{models, sides};

/// Exit codes (README): success, malformed, integrity, signature or trust.
const OK: i32 = 0;
const MALFORMED: i32 = 3;
const INTEGRITY: i32 = 4;

/// The reader limits as the tests see them (docs/bundle-format.md).
fn limits() -> lbom::bundle::ReadLimits {
    lbom::bundle::ReadLimits::default()
}

fn station() -> Res<&'static Station> {
    static STATION: OnceLock<Result<Station, String>> = OnceLock::new();
    STATION
        .get_or_init(|| Station::new().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| e.clone().into())
}

/// A fresh file name in the station's folder.
fn case_path(name: &str) -> Res<PathBuf> {
    Ok(station()?.dir.join(format!("{name}.lbom")))
}

fn plain_shape(key: &writer::Key) -> Shape<'_> {
    Shape {
        links: 1,
        link: LinkShape::PLAIN,
        attestation_bytes: 0,
        key,
        sequence: 1,
        previous: None,
    }
}

/// Artifact paths of 240 bytes, 113 folders deep, so that each SBOM name
/// (`sboms/P.cdx.json`) is 255 bytes: the longest and deepest names the
/// format allows, ascending in `i`.
///
/// Every name derived from the path must fit a ustar header under the
/// longest-prefix rule (docs/bundle-format.md [B6], [B14]): the last `/`
/// among a name's first 156 bytes leaves at most 100 bytes after it. So
/// `P` has a `/` at byte 144 (`artifacts/P` and `artifacts/P.zst` split
/// there) and one at byte 149 (`sboms/P.cdx.json` splits there), and the
/// rest of its slashes before byte 138 or after byte 150.
fn deep_path(i: usize) -> String {
    let mut p = vec![b'a'; 240];
    let slashes = (1..138)
        .step_by(2)
        .chain([144, 149])
        .chain((151..232).step_by(2));
    for at in slashes {
        if let Some(b) = p.get_mut(at) {
            *b = b'/';
        }
    }
    let mut p = String::from_utf8(p).unwrap_or_default();
    p.truncate(234);
    p.push_str(&format!("{i:06}"));
    p
}

/// The most artifacts, named by `path`, each SBOM naming five components
/// of 100 characters (inspect keeps four, cut).
fn max_artifacts(path: fn(usize) -> String) -> Vec<Artifact> {
    let names: Vec<String> = (0..5).map(|c| format!("{c}{}", "c".repeat(99))).collect();
    let sbom = writer::sbom(&names);
    (0..limits().max_artifacts)
        .map(|i| Artifact {
            path: path(i),
            data: Vec::new(),
            sbom: sbom.clone(),
            zstd: None,
        })
        .collect()
}

fn one_artifact() -> Vec<Artifact> {
    vec![Artifact::raw("model.bin", b"weights".to_vec())]
}

/// A link at the size limit: sixteen signatures with the longest hints a
/// decoder takes, a full note, and the time padded until the link is at
/// the limit (malformed: one signature, hinted by its key id, is the
/// format, [B31], [B38]; readers refuse it at the first link).
fn largest_link_shape(key: &writer::Key) -> Res<LinkShape> {
    let max = usize::try_from(limits().max_link_bytes)?;
    let mut shape = LinkShape {
        signatures: 16,
        hint_bytes: lbom::envelope::MAX_KEYID_HINT_BYTES,
        note_bytes: 1024,
        note_char: 'n',
        time_padding: 0,
    };
    let digest = "0".repeat(64);
    let prev = vec![0u8; 10];
    // The largest index has the most digits.
    let index = u32::try_from(limits().max_links)?;
    let base = writer::link(key, index, &digest, Some(&prev), &shape).len();
    // Base64 grows 4 bytes per 3: pad the time by what still fits.
    shape.time_padding = max.saturating_sub(base) * 3 / 4;
    while writer::link(key, index, &digest, Some(&prev), &shape).len() > max {
        shape.time_padding -= 1;
    }
    Ok(shape)
}

/// Links: the most links a reader keeps, each the largest well-formed link
/// (one signature hinted by its key id, a note of 1,024 quotation marks,
/// each two bytes of JSON), all signed: each reader keeps what each claims,
/// and `chain.signatures` decodes each again ([B62]). Then the most links
/// at the size limit, malformed (sixteen signatures with the longest
/// hints): refused at the first.
#[test]
fn the_most_and_largest_links_stay_under_the_target() -> TestResult {
    let s = station()?;
    let most = limits().max_links - 1; // sign may still append one
    let large = case_path("links-largest")?;
    writer::bundle(
        &large,
        &one_artifact(),
        &Shape {
            links: most,
            link: LinkShape::LARGEST_WELL_FORMED,
            ..plain_shape(&s.key)
        },
    )?;
    measure_case(
        s,
        "links-largest",
        &large,
        &large,
        [INTEGRITY, INTEGRITY, OK, OK, OK],
    )?;
    let malformed = case_path("links-malformed")?;
    writer::bundle(
        &malformed,
        &one_artifact(),
        &Shape {
            links: most,
            link: largest_link_shape(&s.key)?,
            ..plain_shape(&s.key)
        },
    )?;
    measure_case(s, "links-malformed", &malformed, &malformed, [MALFORMED; 5])?;
    Ok(())
}

/// The attestation at its limit: well-formed (step 2 of [B55]), with tens
/// of thousands of subjects the bundle does not hold, so it is parsed and
/// written again whole before step 3 refuses it.
#[test]
fn the_largest_attestation_stays_under_the_target() -> TestResult {
    let s = station()?;
    let path = case_path("attestation")?;
    writer::bundle(
        &path,
        &one_artifact(),
        &Shape {
            attestation_bytes: usize::try_from(limits().max_attestation_bytes)?,
            ..plain_shape(&s.key)
        },
    )?;
    measure_case(
        s,
        "attestation",
        &path,
        &path,
        [INTEGRITY, INTEGRITY, OK, OK, INTEGRITY],
    )?;
    Ok(())
}

/// An SBOM at its limit: one string of nearly all of it and thousands of
/// components (inspect streams it; verify refuses it unparsed, being far
/// larger than what the fresh scan's SBOM takes).
#[test]
fn the_largest_sbom_stays_under_the_target() -> TestResult {
    let s = station()?;
    let path = case_path("sbom")?;
    let max = usize::try_from(limits().max_sbom_bytes)?;
    let mut names: Vec<String> = (0..20_000).map(|i| format!("component-{i}")).collect();
    let used = writer::sbom(&names).len();
    names.push("x".repeat(max.saturating_sub(used + 200)));
    let sbom = writer::sbom(&names);
    assert!(sbom.len() <= max, "{} bytes", sbom.len());
    let artifacts = vec![Artifact {
        sbom,
        ..Artifact::raw("model.bin", b"weights".to_vec())
    }];
    writer::bundle(&path, &artifacts, &plain_shape(&s.key))?;
    measure_case(s, "sbom", &path, &path, [INTEGRITY, INTEGRITY, OK, OK, OK])?;
    Ok(())
}

/// A manifest at its limit that lists far more entries than the bundle
/// holds, compact (parsed whole, then refused as not its one byte form:
/// the most entries a 16 MiB manifest can list; the comparison with the
/// writer's form is streamed, src/bundle/manifest.rs), and one a byte
/// over the limit (refused unread).
#[test]
fn the_largest_manifest_stays_under_the_target() -> TestResult {
    let s = station()?;
    let max = usize::try_from(limits().max_manifest_bytes)?;
    for (case, size) in [("manifest", max), ("manifest-over", max + 1)] {
        let path = case_path(case)?;
        write_manifest_only(&path, size)?;
        measure_case(s, case, &path, &path, [MALFORMED; 5])?;
    }
    Ok(())
}

/// A bundle of an attestation and a manifest of exactly `size` bytes whose
/// entries are as many short ones as fit.
fn write_manifest_only(path: &Path, size: usize) -> Res<()> {
    let mut entries = String::new();
    let one = |i: usize| {
        format!(
            r#"{{"path":"artifacts/{i:x}","role":"artifact","size":0,"sha256":"{}","encoding":"raw","stored_size":0}}"#,
            "0".repeat(64)
        )
    };
    let head = format!(
        r#"{{"schema":"urn:lbom:bundle-manifest:v1","name":"m","channel":"m","sequence":1,"previous":null,"created":"{}","expires":null,"tool":{{"name":"lbom","version":"0"}},"entries":["#,
        writer::TIME
    );
    let mut i = 0;
    while head.len() + entries.len() + one(i).len() + 4 < size {
        if i > 0 {
            entries.push(',');
        }
        entries.push_str(&one(i));
        i += 1;
    }
    let mut manifest = format!("{head}{entries}]}}");
    while manifest.len() + 1 < size {
        manifest.push(' ');
    }
    manifest.push('\n');
    let mut tar = writer::Tar::create(path)?;
    tar.add("attestation.intoto.json", b"{}\n")?;
    tar.add("manifest.json", manifest.as_bytes())?;
    tar.finish()
}

/// Names whose fold keys are eleven times their length (U+FDFA folds to
/// eighteen letters): the collision check's keys reach their limit long
/// before the entry count does, and the walk stops there. Each name is
/// 255 bytes with its one ustar split at byte 154.
#[test]
fn names_that_fold_to_many_bytes_stay_under_the_target() -> TestResult {
    let s = station()?;
    let path = case_path("fold-expansion")?;
    let mut tar = writer::Tar::create(&path)?;
    let run = |n| std::iter::repeat_n('\u{fdfa}', n).collect::<String>();
    let (head, mid, tail) = (run(33), run(18), run(32));
    let name = |i: usize| {
        // One ASCII character first in the last segment (36 choices) and
        // three digits last: 36,000 distinct names of 255 bytes.
        let first = char::from_digit(u32::try_from(i / 1000).unwrap_or(0), 36).unwrap_or('z');
        format!("{head}/{mid}/{first}{tail}{:03}", i % 1000)
    };
    let folded = writer::fold_bytes(&name(0));
    let enough = limits().max_folded_name_bytes / folded + 2;
    for i in 0..enough {
        tar.add(&name(i), b"")?;
    }
    tar.finish()?;
    measure_case(s, "fold-expansion", &path, &path, [MALFORMED; 5])?;
    Ok(())
}

/// One entry more than the reader's entry limit.
#[test]
fn one_entry_over_the_limit_stays_under_the_target() -> TestResult {
    let s = station()?;
    let path = case_path("entries-over")?;
    let mut tar = writer::Tar::create(&path)?;
    for i in 0..=limits().max_entries() {
        tar.add(&format!("e{i:06}"), b"")?;
    }
    tar.finish()?;
    measure_case(s, "entries-over", &path, &path, [MALFORMED; 5])?;
    Ok(())
}

/// Every bundle structure at its limit at once, with a chain that
/// verifies: the most artifacts with the longest and deepest names (113
/// folders: the walk, the collision checks of entry names and artifact
/// paths, the manifest, the attestation the manifest gives — 10,000
/// subjects of 240 bytes, twice, about 6.6 MB — through the three steps of
/// [B55], the SBOM summaries, the scan of every artifact and the facts kept
/// of each, an import creating every folder and writing every file), and
/// the most links the readers keep, each the largest well-formed one.
#[test]
fn every_structure_at_its_limit_at_once_stays_under_the_target() -> TestResult {
    let s = station()?;
    let links = limits().max_links - 1; // sign may still append one
    let file = case_path("all-limits")?;
    writer::bundle(
        &file,
        &max_artifacts(deep_path),
        &Shape {
            links,
            link: LinkShape::LARGEST_WELL_FORMED,
            ..plain_shape(&s.key)
        },
    )?;
    measure_case(
        s,
        "all-limits",
        &file,
        &file,
        [INTEGRITY, INTEGRITY, OK, OK, OK],
    )?;
    Ok(())
}

/// A signed bundle of `artifacts`, measured as `case` (`diff` against
/// itself: both sides at once).
fn content_case(case: &str, artifacts: &[Artifact], expect: [i32; 5]) -> TestResult {
    let s = station()?;
    let path = case_path(case)?;
    writer::bundle(&path, artifacts, &plain_shape(&s.key))?;
    measure_case(s, case, &path, &path, expect)?;
    Ok(())
}

/// [`content_case`] with `diff` against a one-artifact bundle: for cases
/// whose cost is what one side holds while it is read (each side's side
/// files are let go once its models are described), a second copy of the
/// case adds time, not memory.
fn content_case_one_side(case: &str, artifacts: &[Artifact], expect: [i32; 5]) -> TestResult {
    let s = station()?;
    let path = case_path(case)?;
    writer::bundle(&path, artifacts, &plain_shape(&s.key))?;
    let small = case_path(&format!("{case}-other"))?;
    writer::bundle(&small, &one_artifact(), &plain_shape(&s.key))?;
    measure_case(s, case, &path, &small, expect)?;
    Ok(())
}

/// What `Limits::header_max_kept_bytes` lets one file keep, in the units
/// the parsers charge (each kept value also costs 64 bytes).
fn kept_budget() -> usize {
    usize::try_from(lbom::limits::Limits::default().header_max_kept_bytes).unwrap_or(0)
}

/// Artifact contents: each model parser at its limits (what an artifact's
/// bytes make a scanner keep: verify and import scan after the chain, diff
/// scans bundles nobody signed), and every one of them in one bundle, so
/// that the scanning threads hold the largest files at once.
#[test]
fn model_files_at_the_parsers_limits_stay_under_the_target() -> TestResult {
    let budget = kept_budget();
    let limits = lbom::limits::Limits::default();
    let keys = usize::try_from(limits.gguf_max_kv_count)? - 384;
    let tensors = usize::try_from(limits.gguf_max_tensor_count)? - 384;
    let files = [
        // Keys up to the budget: each key's bytes and 64 for its entry.
        (
            "keys.gguf",
            models::gguf_many_keys(keys, budget / keys - 64 - 16),
        ),
        // Tensor names are kept three times, with 128 per tensor.
        (
            "tensors.gguf",
            models::gguf_many_tensors(tensors, (budget / tensors - 128) / 3 - 8),
        ),
        // A chat template kept three times, listed strings, and one string
        // of 8 MiB streamed past (what is not kept costs nothing whatever
        // its size: src/inspect/gguf/tests.rs shows it on the digest).
        (
            "strings.gguf",
            models::gguf_strings(budget / 4, budget / 4, 8 << 20),
        ),
        // Tensor entries up to the budget, then 1 MiB of a field the checks
        // skip (walked, not kept, at any size: src/inspect/safetensors/tests.rs).
        (
            "model.safetensors",
            models::safetensors(tensors, budget / tensors / 2 - 80, 1 << 20),
        ),
        // The same keys, each a fullwidth letter and a NUL: the shadowing
        // check keeps their bytes (and each is a key.nul finding).
        (
            "keys-odd.gguf",
            models::gguf_many_odd_keys(keys, budget / keys - 64 - 16),
        ),
        // Millions of keys in a field no check reads: the shadowing check
        // stops at its per-document cap (an info finding), the stream goes on.
        ("keys.safetensors", models::safetensors_many_keys(6 << 20)),
        ("model.pkl", models::pickle(60_000, 200)),
        ("model.pt", models::zip(16_000, 190)?),
    ];
    let mut all = Vec::new();
    for (name, bytes) in files {
        let case = format!("model-{name}");
        content_case(
            &case,
            &[Artifact::raw(name, bytes.clone())],
            [INTEGRITY, INTEGRITY, OK, OK, OK],
        )?;
        all.push(Artifact::raw(name, bytes));
    }
    all.sort_by(|a, b| a.path.cmp(&b.path));
    content_case(
        "models-all-at-once",
        &all,
        [INTEGRITY, INTEGRITY, OK, OK, OK],
    )
}

/// zstd: a frame decoding to 64 MiB through an 8 MiB window (the most
/// pack's levels use: streamed, one window held), and a frame asking for
/// a 128 MiB window (refused before anything is decoded).
#[test]
fn zstd_windows_stay_under_the_target() -> TestResult {
    for (case, size, window, expect) in [
        (
            "zstd-8-mib-window",
            64u64 << 20,
            23,
            [INTEGRITY, INTEGRITY, OK, OK, OK],
        ),
        (
            "zstd-128-mib-window",
            (128u64 << 20) + 1,
            27,
            [INTEGRITY, INTEGRITY, OK, OK, INTEGRITY],
        ),
    ] {
        let frame = models::zstd_zeros(size, window)?;
        let digest = {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            let block = vec![0u8; 1 << 20];
            let mut left = size;
            while left > 0 {
                let n = left.min(block.len() as u64);
                h.update(block.get(..usize::try_from(n)?).unwrap_or_default());
                left -= n;
            }
            hex::encode(h.finalize())
        };
        let artifact = Artifact {
            zstd: Some((size, digest)),
            ..Artifact::raw("weights.bin", frame)
        };
        content_case(case, &[artifact], expect)?;
    }
    Ok(())
}

/// The facts kept of all artifacts together stop at their limit: GGUF
/// files of many keys each, more of them than the limit holds.
#[test]
fn facts_past_their_limit_stay_under_the_target() -> TestResult {
    let budget = kept_budget();
    // Fewer, longer keys: the facts take as much, the parsers work less.
    let keys = 4_000;
    let one = models::gguf_many_keys(keys, budget / keys - 64 - 16);
    let artifacts: Vec<Artifact> = (0..8)
        .map(|i| Artifact::raw(&format!("shard-{i}.gguf"), one.clone()))
        .collect();
    content_case(
        "facts-over-the-limit",
        &artifacts,
        [MALFORMED, MALFORMED, OK, OK, MALFORMED],
    )
}

/// An import that computes drift holds the verified bundle's facts and the
/// baseline's at once, and `diff` two sides: two versions of a channel
/// whose facts are just under their limit, packed and signed by lbom (so
/// that every check passes and the import commits), imported one after
/// the other into one store, then compared.
#[test]
fn drift_between_the_largest_versions_stays_under_the_target() -> TestResult {
    let s = station()?;
    let budget = kept_budget();
    // Fewer, longer keys: the facts take as much, the parsers work less.
    let keys = 4_000;
    let root = tempfile::tempdir_in(&s.dir)?;
    let mut bundles = Vec::new();
    for version in 1..=2u32 {
        let inputs = root.path().join(format!("v{version}"));
        std::fs::create_dir(&inputs)?;
        // About 3 MB of facts each: five stay under the 16 MiB limit.
        for shard in 0..5 {
            let mut g = models::Gguf::new();
            g.str("general.architecture", b"llama");
            g.u32("general.version", version);
            for i in 0..keys {
                g.u32(
                    &format!("k{i:06}.{}", "k".repeat(budget / keys - 96)),
                    version,
                );
            }
            std::fs::write(inputs.join(format!("shard-{shard}.gguf")), g.build())?;
        }
        let bundle = root.path().join(format!("v{version}.lbom"));
        let mut args = vec![
            "pack".into(),
            inputs.into_os_string(),
            "-o".into(),
            bundle.clone().into_os_string(),
            "--name".into(),
            "memory".into(),
            "--channel".into(),
            "memory".into(),
            "--key".into(),
            s.key_file.clone().into_os_string(),
            "--role".into(),
            "maintainer".into(),
        ];
        if let Some(previous) = bundles.last() {
            args.push("--previous".into());
            args.push(std::path::PathBuf::clone(previous).into_os_string());
        }
        let packed = common::run_bounded(
            common::lbom(&args).env_remove("SOURCE_DATE_EPOCH"),
            std::time::Duration::from_secs(300),
        )?;
        if packed.code() != Some(0) {
            return Err(format!("pack: {}", packed.stderr).into());
        }
        bundles.push(bundle);
    }
    let (first, second) = match bundles.as_slice() {
        [a, b] => (a, b),
        _ => return Err("two bundles".into()),
    };
    let store = root.path().join("import");
    std::fs::create_dir(&store)?;
    let mut problems = Vec::new();
    let case = "drift-largest-facts";
    for (bundle, want) in [(first, OK), (second, OK)] {
        let m = memory::run(s, Cmd::Import, bundle, bundle, &store)?;
        memory::judge(case, Cmd::Import, &m, want, &mut problems);
    }
    for (cmd, want) in [
        (Cmd::Verify, OK),
        (Cmd::Inspect, OK),
        (Cmd::Sign, OK),
        (Cmd::Diff, 1),
    ] {
        let work = root.path().join(cmd.name());
        std::fs::create_dir(&work)?;
        let m = memory::run(s, cmd, first, second, &work)?;
        memory::judge(case, cmd, &m, want, &mut problems);
    }
    // The second side read from the store: its facts.json, not a bundle.
    let work = root.path().join("diff-store");
    std::fs::create_dir(&work)?;
    let m = memory::run(s, Cmd::Diff, first, &store.join("store"), &work)?;
    memory::judge("drift-store-side", Cmd::Diff, &m, 1, &mut problems);
    memory::verdict(problems)
}

/// Folder models (docs/scan-report.md, "Folder models"): what a bundle's
/// side files make `verify`, `import` and `diff` capture, check and keep.
///
/// - `side-keys`: one folder whose `tokenizer.json` is just under the
///   16 MiB capture limit, two million tiny keys (captured whole; the
///   shadowing check stops at its per-document cap), a
///   `tokenizer_config.json` of 1 MiB of tiny keys (its settings digested
///   member by member, its keys checked), and a `config.json` of 1 MiB of
///   tiny keys (held as a JSON tree): one side file is read at a time, so
///   one at the limit is the worst case;
/// - `side-findings`: 3,300 folders, each with two JSON side files of 40
///   repeated keys (the most key findings a file lists, in every folder:
///   what the side files say reaches its 32 MiB limit, and each folder's
///   findings copied into its model pass the 8 MiB the description may
///   add: refused, exit 3);
/// - `side-templates`: one model with 520 named chat templates of 64 KiB
///   (the text kept of each: what the side files say passes its 32 MiB
///   limit and the last are shed, each known by its digest);
/// - `side-fanout`: one folder of 3,000 model files, 3,000 licence files
///   and a 64 KiB chat template: the folder's context, applied to each
///   model file, passes the 8 MiB the description may add (refused).
#[test]
fn side_files_at_their_limits_stay_under_the_target() -> TestResult {
    let under = |limit: u64| usize::try_from(limit).map(|l| l - 1024);
    let limits = lbom::limits::Limits::default();
    let big = under(limits.side_file_max_bytes)?;
    let tree = under(limits.side_tree_max_bytes)?;
    let st = sides::tiny_safetensors;
    let refused = [MALFORMED, MALFORMED, OK, OK, MALFORMED];
    // `diff` against a one-artifact bundle: its models differ (exit 1).
    let passed = [INTEGRITY, INTEGRITY, OK, OK, 1];
    let cases: Vec<(&str, sides::Files, [i32; 5])> = vec![
        (
            "side-keys",
            vec![
                ("m/model.safetensors".into(), st()),
                ("m/tokenizer.json".into(), sides::tokenizer_json(big)),
                (
                    "m/tokenizer_config.json".into(),
                    sides::tokenizer_config_json(tree),
                ),
                ("m/config.json".into(), sides::config_json(tree)),
                (
                    "m/special_tokens_map.json".into(),
                    sides::repeated_keys_json(40),
                ),
            ],
            passed,
        ),
        (
            "side-findings",
            (0..3_300)
                .flat_map(|f| {
                    [
                        (format!("f{f:04}/model.safetensors"), st()),
                        (
                            format!("f{f:04}/tokenizer.json"),
                            sides::repeated_keys_json(40),
                        ),
                        (
                            format!("f{f:04}/special_tokens_map.json"),
                            sides::repeated_keys_json(40),
                        ),
                    ]
                })
                .collect(),
            refused,
        ),
        (
            "side-templates",
            (0..520)
                .map(|t| {
                    (
                        format!("m/additional_chat_templates/t{t:03}.jinja"),
                        sides::template(64 << 10),
                    )
                })
                .chain([("m/model.safetensors".into(), st())])
                .collect(),
            passed,
        ),
        (
            "side-fanout",
            (0..3_000)
                .flat_map(|i| {
                    [
                        (format!("m/LICENSE-{i:04}"), vec![b'l']),
                        (format!("m/m-{i:04}.safetensors"), st()),
                    ]
                })
                .chain([("m/chat_template.jinja".into(), sides::template(64 << 10))])
                .collect(),
            refused,
        ),
    ];
    for (case, files, expect) in cases {
        content_case_one_side(case, &sides::artifacts(files), expect)?;
    }
    Ok(())
}
