//! Every variant of every error the library returns, against the exit-code
//! table of the README: the class each error's `class()` gives it, mapped
//! by the binary's own table, is the code the README documents.

use std::collections::BTreeSet;
use std::error::Error as StdError;
use std::path::PathBuf;

use crate::Class;

#[path = "../bin/lbom/codes.rs"]
#[allow(dead_code, reason = "the binary's table; only `of` is tested here")]
mod codes;

type Case = (Box<dyn StdError + 'static>, u8, usize);

fn io() -> std::io::Error {
    std::io::Error::other("disk on fire")
}

fn json() -> serde_json::Error {
    serde_json::from_str::<u8>("not json")
        .err()
        .unwrap_or_else(|| serde_json::Error::io(std::io::Error::other("unreachable: parsed")))
}

fn path() -> PathBuf {
    PathBuf::from("x")
}

fn tar() -> crate::bundle::tar::TarError {
    crate::bundle::tar::TarError::Checksum { offset: 0 }
}

/// Which variant of `bundle::Error` (an exhaustive match: a new variant
/// does not compile until it has an index, and fails until it has a case).
fn bundle_variant(e: &crate::bundle::Error) -> usize {
    use crate::bundle::Error as E;
    match e {
        E::Io { .. } => 0,
        E::Tar { .. } => 1,
        E::IncompleteTail { .. } => 2,
        E::Layout { .. } => 3,
        E::Json { .. } => 4,
        E::Envelope { .. } => 5,
        E::UnsafeInput { .. } => 6,
        E::InputName { .. } => 7,
        E::InputChanged { .. } => 8,
        E::SbomSizeChanged { .. } => 9,
        E::InspectIncomplete { .. } => 10,
        E::Sbom { .. } => 11,
        E::NoInputs => 12,
        E::OutputExists { .. } => 13,
        E::Option(_) => 14,
        E::Locked { .. } => 15,
        E::CutShort { .. } => 16,
        E::NotABundle { .. } => 17,
        E::Base { .. } => 18,
    }
}

fn bundle_cases() -> Vec<Case> {
    use crate::bundle::Error as E;
    let all = vec![
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (
            E::Tar {
                path: path(),
                source: tar(),
            },
            3,
        ),
        // A read that failed under the tar walk is I/O, as `verify` has it.
        (
            E::Tar {
                path: path(),
                source: crate::bundle::tar::TarError::Io(io()),
            },
            10,
        ),
        (
            E::IncompleteTail {
                path: path(),
                offset: 0,
                damage: tar(),
            },
            3,
        ),
        (
            E::CutShort {
                path: path(),
                offset: 0,
                file_len: 1,
                damage: tar(),
            },
            3,
        ),
        (
            E::NotABundle {
                path: path(),
                what: "a GGUF model file".into(),
            },
            3,
        ),
        (
            E::Layout {
                path: path(),
                message: "m".into(),
            },
            3,
        ),
        (
            E::Json {
                path: path(),
                entry: "e".into(),
                source: json(),
            },
            3,
        ),
        (
            E::Envelope {
                path: path(),
                entry: "e".into(),
                source: crate::envelope::Error::PublicKey("k".into()),
            },
            3,
        ),
        (
            E::UnsafeInput {
                path: path(),
                reason: crate::bundle::UnsafeInput::NotUtf8,
            },
            3,
        ),
        (
            E::InputName {
                path: path(),
                source: crate::bundle::PathError::Empty,
            },
            3,
        ),
        (
            E::InputChanged {
                path: path(),
                expected: 1,
                actual: 2,
            },
            10,
        ),
        (
            E::SbomSizeChanged {
                path: path(),
                reserved: 1,
                actual: 2,
            },
            3,
        ),
        (E::InspectIncomplete { path: path() }, 3),
        (
            E::Sbom {
                path: path(),
                source: crate::describe::Error::Io(io()),
            },
            3,
        ),
        (E::NoInputs, 2),
        (E::OutputExists { path: path() }, 10),
        (E::Option("o".into()), 2),
        (
            E::Base {
                path: path(),
                message: "m".into(),
            },
            4,
        ),
        (E::Locked { path: path() }, 10),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = bundle_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn sign_variant(e: &crate::sign::Error) -> usize {
    use crate::sign::Error as E;
    match e {
        E::Io { .. } => 0,
        E::KeyFileExists { .. } => 1,
        E::KeyFileTooLarge { .. } => 2,
        E::PassphraseRequired => 3,
        E::WrongPassphrase => 4,
        E::KeyFormat(_) => 5,
        E::Random(_) => 6,
        E::InKeyFile { .. } => 7,
        E::Envelope(_) => 8,
    }
}

fn sign_cases() -> Vec<Case> {
    use crate::sign::Error as E;
    let all = vec![
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (E::KeyFileExists { path: path() }, 10),
        (
            E::KeyFileTooLarge {
                path: path(),
                size: 1,
            },
            5,
        ),
        (E::PassphraseRequired, 5),
        (E::WrongPassphrase, 5),
        (E::KeyFormat("k".into()), 5),
        (E::Random("r".into()), 10),
        (
            E::InKeyFile {
                path: path(),
                source: Box::new(E::WrongPassphrase),
            },
            5,
        ),
        (
            E::Envelope(crate::envelope::Error::PublicKey("k".into())),
            5,
        ),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = sign_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn store_variant(e: &crate::import::StoreError) -> usize {
    use crate::import::StoreError as E;
    match e {
        E::Io { .. } => 0,
        E::Locked { .. } => 1,
        E::NotAStore { .. } => 2,
        E::Damaged { .. } => 3,
        E::Refused(_) => 4,
        E::Conflict(_) => 5,
        E::SwitchPending { .. } => 6,
        E::NoStore { .. } => 7,
        E::Base(_) => 8,
    }
}

fn store_cases() -> Vec<Case> {
    use crate::import::StoreError as E;
    let all = vec![
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (E::Locked { path: path() }, 10),
        (
            E::NotAStore {
                path: path(),
                reason: "r".into(),
            },
            2,
        ),
        (
            E::Damaged {
                path: path(),
                reason: "r".into(),
            },
            4,
        ),
        (E::Refused("r".into()), 2),
        (E::NoStore { path: path() }, 2),
        (E::Conflict("c".into()), 7),
        (E::Base("b".into()), 9),
        (
            E::SwitchPending {
                channel: "c".into(),
                sequence: 1,
                source: Box::new(E::Io {
                    path: path(),
                    source: io(),
                }),
            },
            10,
        ),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = store_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn load_variant(e: &crate::import::LoadError) -> usize {
    use crate::import::LoadError as E;
    match e {
        E::Io { .. } => 0,
        E::Store(_) => 1,
        E::Scan(_) => 2,
        E::Bundle { .. } => 3,
        E::NeedsChannel { .. } => 4,
    }
}

fn load_cases() -> Vec<Case> {
    use crate::import::LoadError as E;
    let mut all = vec![
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (E::Store(crate::import::StoreError::Conflict("c".into())), 7),
        (
            E::Scan(crate::diff::Error::NotScan {
                label: "l".into(),
                what: "w".into(),
            }),
            3,
        ),
        (
            E::NeedsChannel {
                path: path(),
                channels: "a, b".into(),
            },
            2,
        ),
    ];
    // A bundle that failed a check: the check's failure decides.
    for (failure, code) in failure_codes() {
        all.push((
            E::Bundle {
                path: path(),
                check: "archive.structure",
                failure,
                detail: "d".into(),
            },
            code,
        ));
    }
    all.into_iter()
        .map(|(e, code)| {
            let v = load_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

/// Every verify failure and the code docs/policy.md's check table and the
/// README give it.
fn failure_codes() -> Vec<(crate::verify::Failure, u8)> {
    use crate::verify::Failure as F;
    let all = vec![
        (F::Malformed, 3),
        (F::Integrity, 4),
        (F::Trust, 5),
        (F::Policy, 6),
        (F::Rollback, 7),
        (F::Drift, 8),
        (F::Io, 10),
    ];
    // Exhaustive: a new failure does not compile until it is listed above.
    for (f, _) in &all {
        match f {
            F::Malformed | F::Integrity | F::Trust | F::Policy | F::Rollback | F::Drift | F::Io => {
            }
        }
    }
    all
}

fn policy_variant(e: &crate::verify::policy::PolicyError) -> usize {
    use crate::verify::policy::PolicyError as E;
    match e {
        E::Io { .. } => 0,
        E::TooLarge { .. } => 1,
        E::NotUtf8 { .. } => 2,
        E::Toml { .. } => 3,
        E::Invalid { .. } => 4,
        E::KeyFile { .. } => 5,
        E::TrustArg { .. } => 6,
        E::ThresholdArg { .. } => 7,
        E::Init(_) => 8,
        E::InitKeyFile { .. } => 9,
    }
}

fn policy_cases() -> Vec<Case> {
    use crate::verify::policy::{At, PolicyError as E};
    let all = vec![
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (
            E::TooLarge {
                path: path(),
                size: 2,
                limit: 1,
            },
            2,
        ),
        (E::NotUtf8 { path: path() }, 2),
        (
            E::Toml {
                path: path(),
                at: At(None),
                message: "m".into(),
            },
            2,
        ),
        (
            E::Invalid {
                path: path(),
                at: At(None),
                key: "k".into(),
                problem: "p".into(),
            },
            2,
        ),
        (
            E::KeyFile {
                path: path(),
                at: At(None),
                key: "k".into(),
                file: path(),
                source: io(),
            },
            10,
        ),
        (
            E::TrustArg {
                arg: "a".into(),
                problem: "p".into(),
            },
            2,
        ),
        (
            E::ThresholdArg {
                arg: "a".into(),
                problem: "p".into(),
            },
            2,
        ),
        (E::Init("i".into()), 2),
        (
            E::InitKeyFile {
                file: path(),
                source: io(),
            },
            10,
        ),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = policy_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn describe_variant(e: &crate::describe::Error) -> usize {
    use crate::describe::Error as E;
    match e {
        E::Json(_) => 0,
        E::Io(_) => 1,
        E::SourceDateEpoch { .. } => 2,
        E::NoModels { .. } => 3,
        E::CycloneDx(_) => 4,
    }
}

fn describe_cases() -> Vec<Case> {
    use crate::describe::Error as E;
    let all = vec![
        (E::Json(json()), 10),
        (E::Io(io()), 10),
        (
            E::SourceDateEpoch {
                value: "x".into(),
                max: 1,
            },
            2,
        ),
        (E::NoModels { format: "spdx" }, 10),
        (E::CycloneDx("c".into()), 10),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = describe_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn inspect_variant(e: &crate::inspect::Error) -> usize {
    use crate::inspect::Error as E;
    match e {
        E::Io { .. } => 0,
        E::NotAFile { .. } => 1,
        E::TooManyFiles { .. } => 2,
        E::NoModelFiles { .. } => 3,
    }
}

fn inspect_cases() -> Vec<Case> {
    use crate::inspect::Error as E;
    let all = vec![
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (E::NotAFile { path: path() }, 10),
        (
            E::TooManyFiles {
                path: path(),
                limit: 1,
            },
            3,
        ),
        (E::NoModelFiles { path: path() }, 2),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = inspect_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn envelope_variant(e: &crate::envelope::Error) -> usize {
    use crate::envelope::Error as E;
    match e {
        E::TooLarge { .. } => 0,
        E::Json(_) => 1,
        E::Base64 { .. } => 2,
        E::SignatureCount { .. } => 3,
        E::KeyIdHintTooLong { .. } => 4,
        E::SignatureLength { .. } => 5,
        E::PublicKey(_) => 6,
    }
}

fn envelope_cases() -> Vec<Case> {
    use crate::envelope::Error as E;
    let all = vec![
        (E::TooLarge { size: 2, limit: 1 }, 3),
        (E::Json(json()), 3),
        (E::Base64 { field: "sig" }, 3),
        (E::SignatureCount { count: 0 }, 3),
        (E::KeyIdHintTooLong { len: 1000 }, 3),
        (E::SignatureLength { len: 1 }, 3),
        (E::PublicKey("k".into()), 3),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = envelope_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn diff_variant(e: &crate::diff::Error) -> usize {
    use crate::diff::Error as E;
    match e {
        E::Json { .. } => 0,
        E::NotScan { .. } => 1,
    }
}

fn diff_cases() -> Vec<Case> {
    use crate::diff::Error as E;
    let all = vec![
        (
            E::Json {
                label: "l".into(),
                source: json(),
            },
            3,
        ),
        (
            E::NotScan {
                label: "l".into(),
                what: "w".into(),
            },
            3,
        ),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = diff_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn parts_variant(e: &crate::parts::Error) -> usize {
    use crate::parts::Error as E;
    match e {
        E::Io { .. } => 0,
        E::Option(_) => 1,
        E::Bundle(_) => 2,
        E::MalformedIndex { .. } => 3,
        E::Untrusted { .. } => 4,
        E::NoIndex => 5,
        E::Ambiguous { .. } => 6,
        E::Missing { .. } => 7,
        E::Damaged { .. } => 8,
        E::OutputExists { .. } => 9,
    }
}

/// Part sets (docs/bundle-format.md section 13, [B70]–[B72]): a missing
/// part is I/O, a damaged one integrity, an unsigned or untrusted index
/// trust.
fn parts_cases() -> Vec<Case> {
    use crate::parts::Error as E;
    let all = vec![
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (E::Option("o".into()), 2),
        (
            E::Bundle(crate::bundle::Error::NotABundle {
                path: path(),
                what: "w".into(),
            }),
            3,
        ),
        (
            E::MalformedIndex {
                path: path(),
                what: "w".into(),
            },
            3,
        ),
        (E::Untrusted { what: "w".into() }, 5),
        (E::NoIndex, 2),
        (E::Ambiguous { what: "w".into() }, 2),
        (
            E::Missing {
                name: "n".into(),
                missing: 1,
                parts: "p".into(),
            },
            10,
        ),
        (
            E::Damaged {
                name: "n".into(),
                what: "w".into(),
            },
            4,
        ),
        (E::OutputExists { path: path() }, 10),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = parts_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn registry_variant(e: &crate::registry::RegistryError) -> usize {
    use crate::registry::RegistryError as E;
    match e {
        E::Reference(_) => 0,
        E::Credentials { .. } => 1,
        E::Unsupported(_) => 2,
        E::Http { .. } => 3,
        E::Status { .. } => 4,
        E::Unauthorized { .. } => 5,
        E::Digest { .. } => 6,
        E::Artifact(_) => 7,
        E::Evidence(_) => 8,
        E::Io { .. } => 9,
        E::Store(_) => 10,
        E::Bundle(_) => 11,
        E::NotFound(_) => 12,
    }
}

fn registry_cases() -> Vec<Case> {
    use crate::registry::RegistryError as E;
    let all = vec![
        (E::Reference("r".into()), 2),
        (
            E::Credentials {
                path: path(),
                reason: "r".into(),
            },
            2,
        ),
        (E::Unsupported("u".into()), 2),
        (
            E::Http {
                url: "u".into(),
                reason: "r".into(),
            },
            10,
        ),
        (
            E::Status {
                method: "GET",
                url: "u".into(),
                status: 500,
                detail: String::new(),
            },
            10,
        ),
        (
            E::Unauthorized {
                url: "u".into(),
                detail: "d".into(),
            },
            5,
        ),
        (
            E::Digest {
                what: "w".into(),
                want: "a".into(),
                got: "b".into(),
            },
            4,
        ),
        (E::Artifact("a".into()), 3),
        (E::Evidence("e".into()), 5),
        (
            E::Io {
                path: path(),
                source: io(),
            },
            10,
        ),
        (
            E::Store(crate::import::StoreError::damaged(&path(), "d")),
            4,
        ),
        (E::Bundle(crate::bundle::Error::NoInputs), 2),
        (E::NotFound("n".into()), 10),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = registry_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

fn input_variant(e: &crate::verify::InputError) -> usize {
    use crate::verify::InputError as E;
    match e {
        E::NoPaths => 0,
        E::SeveralFiles { .. } => 1,
        E::Mixed { .. } => 2,
    }
}

fn input_cases() -> Vec<Case> {
    use crate::verify::InputError as E;
    let all = vec![
        (E::NoPaths, 2),
        (
            E::SeveralFiles {
                count: 2,
                first: path(),
            },
            2,
        ),
        (E::Mixed { file: path() }, 2),
    ];
    all.into_iter()
        .map(|(e, code)| {
            let v = input_variant(&e);
            (Box::new(e) as Box<dyn StdError>, code, v)
        })
        .collect()
}

/// The README's exit-code table: code → meaning.
fn readme_codes() -> Result<Vec<(u8, String)>, Box<dyn StdError>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))?;
    let start = readme
        .find("## Exit codes")
        .ok_or("README has no exit-code table")?;
    let mut rows = Vec::new();
    for line in readme.get(start..).unwrap_or_default().lines().skip(1) {
        if line.starts_with("## ") {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, code, meaning, ..] = cells.as_slice()
            && let Ok(code) = code.parse::<u8>()
        {
            rows.push((code, (*meaning).to_owned()));
        }
    }
    Ok(rows)
}

/// The README's words for each class.
fn readme_words(class: Class) -> &'static str {
    match class {
        Class::Usage => "usage",
        Class::Malformed => "malformed input",
        Class::Integrity => "integrity",
        Class::Trust => "signature or trust",
        Class::Policy => "policy",
        Class::Rollback => "rollback or fork",
        Class::Drift => "refused drift",
        Class::Base => "wrong base",
        Class::Io => "I/O",
    }
}

#[test]
fn the_binary_table_is_the_readme_table() -> Result<(), Box<dyn StdError>> {
    let rows = readme_codes()?;
    let mut seen = BTreeSet::new();
    for class in Class::ALL {
        let code = codes::of(class);
        let meaning = rows
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, m)| m.as_str())
            .ok_or_else(|| format!("{class}: code {code} is not in the README"))?;
        assert!(
            meaning.starts_with(readme_words(class)),
            "{class} → {code}, which the README says is {meaning:?}"
        );
        assert!(seen.insert(code), "two classes share code {code}");
    }
    // Every failure code of the README is some class's (0 and 1 are not
    // failures).
    let documented: BTreeSet<u8> = rows.iter().map(|(c, _)| *c).filter(|c| *c > 1).collect();
    assert_eq!(documented, seen);
    Ok(())
}

#[test]
fn every_error_variant_has_its_documented_exit_code() {
    let groups: Vec<(&str, Vec<Case>, usize)> = vec![
        ("bundle::Error", bundle_cases(), 19),
        ("sign::Error", sign_cases(), 9),
        ("import::StoreError", store_cases(), 9),
        ("import::LoadError", load_cases(), 5),
        ("verify::policy::PolicyError", policy_cases(), 10),
        ("describe::Error", describe_cases(), 5),
        ("inspect::Error", inspect_cases(), 4),
        ("envelope::Error", envelope_cases(), 7),
        ("diff::Error", diff_cases(), 2),
        ("parts::Error", parts_cases(), 10),
        ("registry::RegistryError", registry_cases(), 13),
        ("verify::InputError", input_cases(), 3),
    ];
    for (name, cases, variants) in groups {
        let covered: BTreeSet<usize> = cases.iter().map(|(_, _, v)| *v).collect();
        assert_eq!(
            covered,
            (0..variants).collect::<BTreeSet<_>>(),
            "{name}: every variant needs a case"
        );
        for (err, want, _) in &cases {
            let class = crate::class_of(err.as_ref());
            assert_eq!(
                class.map(codes::of),
                Some(*want),
                "{name}: {err} is {class:?}"
            );
        }
    }
    for (failure, want) in failure_codes() {
        assert_eq!(codes::of(failure.class()), want, "{failure:?}");
    }
}
