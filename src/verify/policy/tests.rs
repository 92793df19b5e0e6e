//! Policy loading, validation, init and argument parsing, including hostile
//! input. docs/policy.md states the rules these tests hold.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A deterministic test key (never a demo key).
fn key(seed: u8) -> PublicKey {
    let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    match PublicKey::from_verifying_key(sk.verifying_key()) {
        Ok(k) => k,
        Err(e) => unreachable!("a dalek key always encodes: {e}"),
    }
}

fn pem(seed: u8) -> String {
    key(seed).to_pem().unwrap_or_default()
}

/// A `[[keys]]` table with an inline key.
fn key_table(name: &str, seed: u8, roles: &str) -> String {
    format!(
        "[[keys]]\nname = \"{name}\"\npem = \"\"\"\n{}\"\"\"\nroles = {roles}\n\n",
        pem(seed)
    )
}

/// A small valid policy: alice (maintainer), desk (transfer), both required.
fn valid() -> String {
    format!(
        "version = 1\n\n{}{}[signatures]\nrequired_roles = [\"maintainer\", \"transfer\"]\n",
        key_table("alice", 1, "[\"maintainer\"]"),
        key_table("desk", 2, "[\"transfer\"]"),
    )
}

fn load(text: &str) -> Result<Policy, PolicyError> {
    Policy::from_toml(text, Path::new("/nonexistent/policy.toml"))
}

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn a_minimal_policy_gets_the_documented_defaults() -> TestResult {
    let p = load(&valid())?;
    assert_eq!(p.keys.len(), 2);
    assert_eq!(p.required_roles.len(), 2);
    assert!(p.thresholds.is_empty());
    assert_eq!(p.threshold("maintainer"), 1);
    assert_eq!(p.unknown_signers, UnknownSigners::Refuse);
    assert_eq!(
        p.content
            .allowed_formats
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>(),
        [
            "gguf",
            "safetensors",
            "json",
            "text",
            "tiktoken",
            "sentencepiece"
        ]
    );
    assert!(!p.content.allowed_formats.contains(&Format::Pickle));
    assert!(!p.content.allowed_formats.contains(&Format::PytorchZip));
    assert!(!p.content.allowed_formats.contains(&Format::Code));
    assert!(!p.content.allowed_formats.contains(&Format::Unknown));
    assert_eq!(p.content.allowed_licences, None);
    assert_eq!(p.content.fail_on, Some(Severity::Error));
    assert_eq!(p.caps.max_entries, 10_000);
    assert_eq!(p.caps.max_entry_bytes, 256 * 1024 * 1024 * 1024);
    assert_eq!(p.caps.max_total_bytes, 1024 * 1024 * 1024 * 1024);
    assert_eq!(p.caps.max_path_bytes, 255);
    assert_eq!(
        p.time.max_age,
        Some(jiff::SignedDuration::from_hours(90 * 24))
    );
    assert!(!p.time.require_expiry);
    assert_eq!(p.time.clock, Clock::Trusted);
    assert!(!p.history.allow_rollback && !p.history.allow_fork);
    let drift: Vec<crate::diff::DriftClass> = p.drift_needs_acceptance.iter().copied().collect();
    let mut expected = DEFAULT_DRIFT_NEEDS_ACCEPTANCE.to_vec();
    expected.sort_unstable();
    assert_eq!(drift, expected);
    assert_eq!(p.source.sha256, Sha256Digest::of(valid().as_bytes()));
    assert_eq!(p.source.path, Path::new("/nonexistent/policy.toml"));
    Ok(())
}

#[test]
fn every_option_is_read() -> TestResult {
    let text = format!(
        "{}unknown_signers = \"ignore\"\n[signatures.thresholds]\nmaintainer = 1\n\
         [content]\nallowed_formats = [\"gguf\", \"pytorch-zip\", \"unknown\"]\n\
         allowed_licences = [\"apache-2.0\", \"MIT\", \"LicenseRef-custom.1\", \"llama3\", \"NOASSERTION\"]\n\
         fail_on = \"none\"\n\
         [caps]\nmax_entries = 7\nmax_entry_bytes = \"500 MB\"\nmax_total_bytes = \"2TiB\"\nmax_path_bytes = \"200 B\"\n\
         [time]\nmax_age = \"2 weeks\"\nrequire_expiry = true\nclock = \"untrusted\"\n\
         [history]\nallow_rollback = true\nallow_fork = true\n\
         [drift]\nrequire_acceptance = [\"tensors\", \"metadata\"]\n",
        valid()
    );
    let p = load(&text)?;
    assert_eq!(p.unknown_signers, UnknownSigners::Ignore);
    assert_eq!(p.thresholds.get("maintainer"), Some(&1));
    assert!(p.content.allowed_formats.contains(&Format::PytorchZip));
    assert!(p.content.allowed_formats.contains(&Format::Unknown));
    let licences: Vec<&str> = p
        .content
        .allowed_licences
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    // Canonical SPDX case; non-SPDX names as the SBOM writes them.
    assert_eq!(
        licences,
        [
            "Apache-2.0",
            "LicenseRef-custom.1",
            "LicenseRef-llama3",
            "MIT",
            "NOASSERTION"
        ]
    );
    assert_eq!(p.content.fail_on, None);
    assert_eq!(
        p.caps,
        PolicyCaps {
            max_entries: 7,
            max_entry_bytes: 500_000_000,
            max_total_bytes: 2 << 40,
            max_path_bytes: 200,
        }
    );
    assert_eq!(
        p.time.max_age,
        Some(jiff::SignedDuration::from_hours(14 * 24))
    );
    assert!(p.time.require_expiry);
    assert_eq!(p.time.clock, Clock::Untrusted);
    assert!(p.history.allow_rollback && p.history.allow_fork);
    assert_eq!(p.drift_needs_acceptance.len(), 2);
    Ok(())
}

#[test]
fn special_values_none_and_empty_lists() -> TestResult {
    let p = load(&format!(
        "{}[content]\nallowed_licences = []\n[time]\nmax_age = \"none\"\n[drift]\nrequire_acceptance = []\n",
        valid()
    ))?;
    assert_eq!(p.content.allowed_licences, Some(BTreeSet::new()));
    assert_eq!(p.time.max_age, None);
    assert!(p.drift_needs_acceptance.is_empty());
    Ok(())
}

#[test]
fn sizes_and_durations_parse_as_documented() {
    let sizes: &[(toml::Value, Option<u64>)] = &[
        (toml::Value::Integer(1), Some(1)),
        (toml::Value::String("7".into()), Some(7)),
        (toml::Value::String("10 B".into()), Some(10)),
        (toml::Value::String("3 KB".into()), Some(3_000)),
        (toml::Value::String("500 MB".into()), Some(500_000_000)),
        (toml::Value::String("4 GB".into()), Some(4_000_000_000)),
        (toml::Value::String("2 TB".into()), Some(2_000_000_000_000)),
        (toml::Value::String("3 KiB".into()), Some(3 << 10)),
        (toml::Value::String("5MiB".into()), Some(5 << 20)),
        (toml::Value::String("256 GiB".into()), Some(256 << 30)),
        // docs/policy.md §4: digits, at most one space, the unit.
        (toml::Value::String("1 TiB".into()), Some(1 << 40)),
        (toml::Value::String(" 1 TiB ".into()), None),
        (toml::Value::String("1  TiB".into()), None),
        (toml::Value::String("1\tTiB".into()), None),
        (toml::Value::String("7 ".into()), None),
        (
            toml::Value::String("16777215 TiB".into()),
            Some(16_777_215 << 40),
        ),
        (toml::Value::String("16777216 TiB".into()), None), // 2^64
        (toml::Value::String("99999999999999999999".into()), None),
        (toml::Value::String("0".into()), None),
        (toml::Value::Integer(0), None),
        (toml::Value::Integer(-5), None),
        (toml::Value::String("1.5 GiB".into()), None),
        (toml::Value::String("5 mb".into()), None),
        (toml::Value::String("GiB".into()), None),
        (toml::Value::String("".into()), None),
        (toml::Value::String("-1".into()), None),
        (toml::Value::Boolean(true), None),
        (toml::Value::Float(1.0), None),
    ];
    for (v, want) in sizes {
        assert_eq!(values::size(v, true).ok(), *want, "{v:?}");
    }
    // Counts take no unit.
    assert!(values::size(&toml::Value::String("5".into()), false).is_err());
    assert_eq!(values::size(&toml::Value::Integer(5), false).ok(), Some(5));

    let day = 24 * 3600;
    let ages: &[(&str, Option<Option<i64>>)] = &[
        ("90d", Some(Some(90 * day))),
        ("2 weeks", Some(Some(14 * day))),
        ("36h", Some(Some(36 * 3600))),
        ("P30D", Some(Some(30 * day))),
        ("1h 30m", Some(Some(5400))),
        ("90 days", Some(Some(90 * day))),
        ("1 hour 30 minutes", Some(Some(5400))),
        ("PT36H", Some(Some(36 * 3600))),
        ("P1W2D", Some(Some(9 * day))),
        ("none", Some(None)),
        // Wider than docs/policy.md's grammar, though jiff reads them.
        ("1h30m", None),
        ("1 hour, 30 minutes", None),
        ("1.5h", None),
        ("90D", None),
        (" 90d", None),
        ("90d ", None),
        ("90  d", None),
        ("P", None),
        ("PT", None),
        ("P1D2W", None),
        ("p90d", None),
        ("1 month", None),
        ("1y", None),
        ("0d", None),
        ("-5d", None),
        ("5d ago", None),
        ("", None),
        ("None", None),
        ("forever", None),
    ];
    for (s, want) in ages {
        let got = values::max_age(s).ok().map(|o| o.map(|d| d.as_secs()));
        assert_eq!(got, *want, "{s:?}");
    }
}

/// (what, policy text, TOML key named in the error, words of the problem).
fn invalid_cases() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let v = valid();
    let with = |extra: &str| format!("{v}{extra}");
    let sig = |rest: &str| {
        format!(
            "version = 1\n\n{}{}{}[signatures]\n{rest}\n",
            key_table("alice", 1, "[\"maintainer\"]"),
            key_table("al", 1, "[\"maintainer\"]"),
            key_table("desk", 2, "[\"transfer\"]"),
        )
    };
    let one_key = |body: &str| {
        format!("version = 1\n[[keys]]\n{body}\n[signatures]\nrequired_roles = [\"maintainer\"]\n")
    };
    let p1 = pem(1);
    vec![
        (
            "missing version",
            v.replace("version = 1\n", ""),
            "version",
            "missing",
        ),
        (
            "version 2",
            v.replace("version = 1", "version = 2"),
            "version",
            "unsupported policy version 2",
        ),
        (
            "version as string",
            v.replace("version = 1", "version = \"1\""),
            "version",
            "unsupported policy version",
        ),
        (
            "version 0",
            v.replace("version = 1", "version = 0"),
            "version",
            "unsupported policy version 0",
        ),
        (
            "no keys",
            "version = 1\n[signatures]\nrequired_roles = [\"maintainer\"]\n".into(),
            "keys",
            "trusts no key",
        ),
        (
            "key without name",
            one_key(&format!(
                "pem = \"\"\"\n{p1}\"\"\"\nroles = [\"maintainer\"]"
            )),
            "keys[1].name",
            "missing",
        ),
        (
            "bad key name",
            one_key(&format!(
                "name = \"a b\"\npem = \"\"\"\n{p1}\"\"\"\nroles = [\"maintainer\"]"
            )),
            "keys[1].name",
            "must be 1 to 128",
        ),
        (
            "duplicate key name",
            v.replace("name = \"desk\"", "name = \"alice\""),
            "keys[2].name",
            "used twice",
        ),
        (
            "both public_key and pem",
            one_key(&format!(
                "name = \"a\"\npublic_key = \"a.pub\"\npem = \"\"\"\n{p1}\"\"\"\nroles = [\"maintainer\"]"
            )),
            "keys[1].pem",
            "exactly one",
        ),
        (
            "neither public_key nor pem",
            one_key("name = \"a\"\nroles = [\"maintainer\"]"),
            "keys[1]",
            "neither public_key nor pem",
        ),
        (
            "empty public_key",
            one_key("name = \"a\"\npublic_key = \"\"\nroles = [\"maintainer\"]"),
            "keys[1].public_key",
            "is empty",
        ),
        (
            "roles missing",
            one_key(&format!("name = \"a\"\npem = \"\"\"\n{p1}\"\"\"")),
            "keys[1].roles",
            "missing",
        ),
        (
            "roles empty",
            one_key(&format!(
                "name = \"a\"\npem = \"\"\"\n{p1}\"\"\"\nroles = []"
            )),
            "keys[1].roles",
            "is empty",
        ),
        (
            "bad role",
            one_key(&format!(
                "name = \"a\"\npem = \"\"\"\n{p1}\"\"\"\nroles = [\"maintainer\", \"../x\"]"
            )),
            "keys[1].roles",
            "must be 1 to 128",
        ),
        (
            "role twice",
            one_key(&format!(
                "name = \"a\"\npem = \"\"\"\n{p1}\"\"\"\nroles = [\"maintainer\", \"maintainer\"]"
            )),
            "keys[1].roles",
            "listed twice",
        ),
        (
            "garbage pem",
            one_key("name = \"a\"\npem = \"hello\"\nroles = [\"maintainer\"]"),
            "keys[1].pem",
            "not one PEM public key",
        ),
        (
            "truncated pem",
            one_key(
                "name = \"a\"\npem = \"-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEA\\n-----END PUBLIC KEY-----\"\nroles = [\"maintainer\"]",
            ),
            "keys[1].pem",
            "not a usable key",
        ),
        (
            "two pem blocks",
            one_key(&format!(
                "name = \"a\"\npem = \"\"\"\n{p1}{p1}\"\"\"\nroles = [\"maintainer\"]"
            )),
            "keys[1].pem",
            "not one PEM public key",
        ),
        (
            "private key",
            one_key(
                "name = \"a\"\npem = \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\"\nroles = [\"maintainer\"]",
            ),
            "keys[1].pem",
            "private key",
        ),
        (
            "malformed key_id",
            v.replacen(
                "roles = [\"maintainer\"]",
                "key_id = \"ABC\"\nroles = [\"maintainer\"]",
                1,
            ),
            "keys[1].key_id",
            "not a key id",
        ),
        (
            "wrong key_id",
            v.replacen(
                "roles = [\"maintainer\"]",
                &format!("key_id = \"{}\"\nroles = [\"maintainer\"]", key(9).key_id()),
                1,
            ),
            "keys[1].key_id",
            "not the pinned",
        ),
        (
            "no signatures table",
            v.replace(
                "[signatures]\nrequired_roles = [\"maintainer\", \"transfer\"]\n",
                "",
            ),
            "signatures.required_roles",
            "missing",
        ),
        (
            "no required_roles",
            sig("unknown_signers = \"refuse\""),
            "signatures.required_roles",
            "missing",
        ),
        (
            "empty required_roles",
            sig("required_roles = []"),
            "signatures.required_roles",
            "unsigned bundle would pass",
        ),
        (
            "required role twice",
            sig("required_roles = [\"transfer\", \"transfer\"]"),
            "signatures.required_roles",
            "listed twice",
        ),
        (
            "required role nobody signs",
            sig("required_roles = [\"auditor\"]"),
            "signatures.required_roles",
            "could ever pass",
        ),
        (
            "threshold 0",
            sig("required_roles = [\"transfer\"]\n[signatures.thresholds]\ntransfer = 0"),
            "signatures.thresholds.transfer",
            "not a threshold",
        ),
        (
            "threshold negative",
            sig("required_roles = [\"transfer\"]\n[signatures.thresholds]\ntransfer = -1"),
            "signatures.thresholds.transfer",
            "not a threshold",
        ),
        (
            "threshold above u32",
            sig("required_roles = [\"transfer\"]\n[signatures.thresholds]\ntransfer = 4294967296"),
            "signatures.thresholds.transfer",
            "not a threshold",
        ),
        (
            "threshold for unsignable role",
            sig("required_roles = [\"transfer\"]\n[signatures.thresholds]\nauditor = 1"),
            "signatures.thresholds.auditor",
            "no key in [[keys]] may sign as",
        ),
        (
            "threshold for optional role",
            sig("required_roles = [\"transfer\"]\n[signatures.thresholds]\nmaintainer = 1"),
            "signatures.thresholds.maintainer",
            "not in signatures.required_roles",
        ),
        (
            "threshold above distinct keys",
            sig("required_roles = [\"transfer\"]\n[signatures.thresholds]\ntransfer = 2"),
            "signatures.required_roles",
            "needs 2 distinct keys but the policy trusts 1",
        ),
        // alice and al are one key: two names do not make two signers.
        (
            "one key under two names",
            sig("required_roles = [\"maintainer\"]\n[signatures.thresholds]\nmaintainer = 2"),
            "signatures.required_roles",
            "needs 2 distinct keys but the policy trusts 1",
        ),
        (
            "unknown_signers value",
            sig("required_roles = [\"transfer\"]\nunknown_signers = \"warn\""),
            "signatures.unknown_signers",
            "expected \"refuse\" or \"ignore\"",
        ),
        (
            "unknown format",
            with("[content]\nallowed_formats = [\"gguf\", \"onnx\"]\n"),
            "content.allowed_formats",
            "unknown format \"onnx\"",
        ),
        (
            "format spelt differently",
            with("[content]\nallowed_formats = [\"pytorch_zip\"]\n"),
            "content.allowed_formats",
            "unknown format",
        ),
        (
            "format twice",
            with("[content]\nallowed_formats = [\"gguf\", \"gguf\"]\n"),
            "content.allowed_formats",
            "listed twice",
        ),
        (
            "no formats",
            with("[content]\nallowed_formats = []\n"),
            "content.allowed_formats",
            "no artifact could pass",
        ),
        (
            "licence expression",
            with("[content]\nallowed_licences = [\"MIT OR Apache-2.0\"]\n"),
            "content.allowed_licences",
            "not a licence id",
        ),
        (
            "licence twice",
            with("[content]\nallowed_licences = [\"MIT\", \"mit\"]\n"),
            "content.allowed_licences",
            "listed twice",
        ),
        (
            "fail_on value",
            with("[content]\nfail_on = \"fatal\"\n"),
            "content.fail_on",
            "unknown severity",
        ),
        (
            "cap zero",
            with("[caps]\nmax_entries = 0\n"),
            "caps.max_entries",
            "expected at least 1",
        ),
        (
            "cap negative",
            with("[caps]\nmax_entry_bytes = -1\n"),
            "caps.max_entry_bytes",
            "negative",
        ),
        (
            "cap unit",
            with("[caps]\nmax_total_bytes = \"1 PB\"\n"),
            "caps.max_total_bytes",
            "not a size",
        ),
        (
            "cap overflow",
            with("[caps]\nmax_total_bytes = \"99999999 TiB\"\n"),
            "caps.max_total_bytes",
            "more than 2^64",
        ),
        (
            "cap type",
            with("[caps]\nmax_path_bytes = true\n"),
            "caps.max_path_bytes",
            "found a boolean",
        ),
        (
            "count with unit",
            with("[caps]\nmax_entries = \"10 KiB\"\n"),
            "caps.max_entries",
            "expected a positive integer",
        ),
        (
            "max_age months",
            with("[time]\nmax_age = \"3 months\"\n"),
            "time.max_age",
            "months and years",
        ),
        (
            "max_age zero",
            with("[time]\nmax_age = \"0s\"\n"),
            "time.max_age",
            "longer than zero",
        ),
        (
            "max_age garbage",
            with("[time]\nmax_age = \"soon\"\n"),
            "time.max_age",
            "not a duration",
        ),
        (
            "clock value",
            with("[time]\nclock = \"ntp\"\n"),
            "time.clock",
            "expected \"trusted\" or \"untrusted\"",
        ),
        (
            "unknown drift class",
            with("[drift]\nrequire_acceptance = [\"weights\"]\n"),
            "drift.require_acceptance",
            "unknown drift class",
        ),
        (
            "drift class twice",
            with("[drift]\nrequire_acceptance = [\"format\", \"format\"]\n"),
            "drift.require_acceptance",
            "listed twice",
        ),
    ]
}

#[test]
fn every_validation_error_names_the_key_and_the_problem() {
    for (what, text, key, problem) in invalid_cases() {
        match load(&text) {
            Ok(_) => fail(what, "loaded"),
            Err(PolicyError::Invalid {
                key: k,
                problem: p,
                ref path,
                ..
            }) => {
                assert_eq!(k, key, "{what}");
                assert!(p.contains(problem), "{what}: {p:?} lacks {problem:?}");
                assert_eq!(path, Path::new("/nonexistent/policy.toml"));
            }
            Err(other) => fail(what, &other.to_string()),
        }
        let message = load(&text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("policy /nonexistent/policy.toml"),
            "{what}: {message}"
        );
        assert!(!message.contains('\n'), "{what}: one line: {message}");
        assert!(!message.ends_with('.'), "{what}: {message}");
    }
}

fn fail(what: &str, got: &str) -> ! {
    panic!("{what}: unexpected outcome: {got}")
}

#[test]
fn toml_shape_errors_give_line_and_column() {
    let cases = [
        (
            "unknown top-level key",
            format!("{}colour = true\n", valid()),
            "unknown field",
        ),
        (
            "unknown key in a table",
            format!("{}[caps]\nmax_files = 3\n", valid()),
            "unknown field",
        ),
        (
            "unknown key in a key",
            valid().replacen("roles =", "role =", 1),
            "unknown field",
        ),
        (
            "wrong type",
            format!("{}[history]\nallow_fork = \"yes\"\n", valid()),
            "invalid type",
        ),
        ("syntax", format!("{}[caps\n", valid()), ""),
        (
            "duplicate table key",
            format!(
                "{}[time]\nclock = \"trusted\"\nclock = \"untrusted\"\n",
                valid()
            ),
            "duplicate",
        ),
    ];
    for (what, text, words) in cases {
        match load(&text) {
            Err(PolicyError::Toml { at, message, .. }) => {
                assert!(at.0.is_some(), "{what}: no position");
                assert!(message.contains(words), "{what}: {message}");
                assert!(!message.contains('\n'), "{what}: {message}");
            }
            other => fail(what, &format!("{other:?}")),
        }
    }
}

#[test]
fn positions_point_at_the_offending_value() -> TestResult {
    let text = format!("{}[time]\nclock = \"ntp\"\n", valid());
    let line = text
        .lines()
        .position(|l| l.starts_with("clock"))
        .map(|i| i + 1);
    match load(&text) {
        Err(PolicyError::Invalid { at, .. }) => assert_eq!(at.0, line.map(|l| (l, 9))),
        other => fail("clock", &format!("{other:?}")),
    }
    let msg = load(&text).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains(&format!("line {} column 9: time.clock:", line.unwrap_or(0))),
        "{msg}"
    );
    assert_eq!(At::of("ab\ncé\nx", 6), At(Some((2, 3))));
    assert_eq!(At::of("ab", 1000), At(Some((1, 3))));
    assert_eq!(At::of("é", 1), At(Some((1, 1))));
    Ok(())
}

#[test]
fn an_oversized_policy_is_refused_before_parsing() {
    let text = format!("{}#{}\n", valid(), "x".repeat(1 << 20));
    assert!(matches!(load(&text), Err(PolicyError::TooLarge { .. })));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for text in [
        format!("{}x = {}", valid(), "[".repeat(100_000)),
        format!("{}x = {}", valid(), "{a=".repeat(100_000)),
        format!("{}[{}]", valid(), "a.".repeat(100_000)),
    ] {
        assert!(load(&text).is_err());
    }
}

#[test]
fn one_key_under_two_names_counts_once_and_merges_roles() -> TestResult {
    let text = format!(
        "version = 1\n{}{}[signatures]\nrequired_roles = [\"maintainer\", \"transfer\"]\n",
        key_table("alice", 1, "[\"maintainer\"]"),
        key_table("alice-desk", 1, "[\"transfer\"]"),
    );
    let p = load(&text)?;
    let id = key(1).key_id();
    assert_eq!(p.keys_for_role("maintainer"), BTreeSet::from([id]));
    assert_eq!(p.keys_for_role("transfer"), BTreeSet::from([id]));
    // Looked up by id: the first name, with the union of the roles.
    let t = p.trusted(&id).map(|k| (k.name.as_str(), k.roles.len()));
    assert_eq!(t, Some(("alice", 2)));
    // Looked up by either name: the same roles.
    assert_eq!(p.key_named("alice-desk").map(|k| k.roles.len()), Some(2));
    assert!(p.may_sign_as(&id, "transfer"));
    assert!(!p.may_sign_as(&key(2).key_id(), "transfer"));
    assert!(p.trusted(&key(2).key_id()).is_none());
    let notes = p.notes();
    assert!(notes.contains(&PolicyNote::SameKeyTwice {
        key_id: id,
        names: vec!["alice".into(), "alice-desk".into()],
    }));
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, PolicyNote::SeveralRequiredRoles { name, .. } if name == "alice"))
    );
    assert!(notes.iter().all(|n| !n.to_string().contains('\n')));
    Ok(())
}

#[test]
fn two_encodings_of_one_key_give_one_key_id() -> TestResult {
    let canonical = pem(3);
    let body = canonical
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let (a, b) = body.split_at(20);
    let encodings = [
        canonical.clone(),
        canonical.replace('\n', "\r\n"),
        format!("\n\n  {}  \n\n", canonical.replace('\n', "   \n    ")),
        format!("-----BEGIN PUBLIC KEY-----\n{a}\n{b}\n-----END PUBLIC KEY-----"),
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            body.chars().map(|c| format!("{c}\n")).collect::<String>()
        ),
    ];
    let ids: BTreeSet<_> = encodings
        .iter()
        .map(|e| values::public_key_pem(e).map(|k| k.key_id()))
        .collect::<Result<_, _>>()?;
    assert_eq!(ids, BTreeSet::from([key(3).key_id()]));

    // Two encodings listed under two names count once toward a threshold.
    let text = format!(
        "version = 1\n[[keys]]\nname = \"a\"\npem = \"\"\"\n{}\"\"\"\nroles = [\"m\"]\n\
         [[keys]]\nname = \"b\"\npem = \"{}\"\nroles = [\"m\"]\n\
         [signatures]\nrequired_roles = [\"m\"]\n[signatures.thresholds]\nm = 2\n",
        encodings.get(2).cloned().unwrap_or_default(),
        encodings
            .get(1)
            .cloned()
            .unwrap_or_default()
            .replace("\r\n", "\\r\\n"),
    );
    assert!(
        matches!(load(&text), Err(PolicyError::Invalid { problem, .. }) if problem.contains("trusts 1"))
    );
    Ok(())
}

#[test]
fn key_files_resolve_against_the_policy_folder() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::create_dir(dir.path().join("keys"))?;
    std::fs::write(dir.path().join("keys/a.pub"), pem(4))?;
    let abs = dir.path().join("b.pub");
    std::fs::write(&abs, pem(5))?;
    let text = format!(
        "version = 1\n[[keys]]\nname = \"a\"\npublic_key = \"keys/a.pub\"\nkey_id = \"{}\"\nroles = [\"m\"]\n\
         [[keys]]\nname = \"b\"\npublic_key = \"{}\"\nroles = [\"t\"]\n\
         [signatures]\nrequired_roles = [\"m\", \"t\"]\n",
        key(4).key_id(),
        abs.display()
    );
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, &text)?;
    let p = Policy::load(&path)?;
    assert_eq!(
        p.key_named("a").map(|k| k.key.key_id()),
        Some(key(4).key_id())
    );
    assert_eq!(
        p.key_named("b").map(|k| k.key.key_id()),
        Some(key(5).key_id())
    );
    assert_eq!(p.source.sha256, Sha256Digest::of(text.as_bytes()));
    assert_eq!(p.source.path, path);

    // A missing key file is an I/O error naming the resolved file.
    std::fs::remove_file(dir.path().join("keys/a.pub"))?;
    match Policy::load(&path) {
        Err(e @ PolicyError::KeyFile { .. }) => {
            assert_eq!(e.class(), crate::Class::Io);
            assert!(
                e.to_string()
                    .contains("keys[1].public_key: cannot read key file")
            );
            assert!(
                e.to_string()
                    .contains(&dir.path().join("keys/a.pub").display().to_string())
            );
        }
        other => fail("missing key", &format!("{other:?}")),
    }
    // A directory, a private key, a huge file: refused with the file named.
    std::fs::create_dir(dir.path().join("keys/a.pub"))?;
    assert!(matches!(
        Policy::load(&path),
        Err(PolicyError::KeyFile { .. })
    ));
    std::fs::remove_dir(dir.path().join("keys/a.pub"))?;
    std::fs::write(
        dir.path().join("keys/a.pub"),
        "-----BEGIN PRIVATE KEY-----\n",
    )?;
    assert!(
        matches!(Policy::load(&path), Err(PolicyError::Invalid { problem, .. }) if problem.contains("private key"))
    );
    std::fs::write(dir.path().join("keys/a.pub"), vec![b'A'; 70_000])?;
    assert!(
        matches!(Policy::load(&path), Err(PolicyError::Invalid { problem, .. }) if problem.contains("too large"))
    );
    Ok(())
}

#[test]
fn load_refuses_unreadable_huge_and_non_utf8_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = Policy::load(&dir.path().join("nope.toml"));
    assert!(
        matches!(missing, Err(ref e @ PolicyError::Io { .. }) if e.class() == crate::Class::Io)
    );
    assert!(matches!(
        Policy::load(dir.path()),
        Err(PolicyError::Io { .. })
    ));
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; (1 << 20) + 1])?;
    assert!(
        matches!(Policy::load(&big), Err(PolicyError::TooLarge { size, .. }) if size == (1 << 20) + 1)
    );
    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"version = 1 # caf\xe9\n")?;
    assert!(matches!(
        Policy::load(&latin1),
        Err(PolicyError::NotUtf8 { .. })
    ));
    Ok(())
}

#[test]
fn the_example_policies_load() -> TestResult {
    let demo = Policy::load(&repo_path("docs/examples/demo.toml"))?;
    assert_eq!(
        demo.required_roles,
        BTreeSet::from(["maintainer".into(), "transfer".into()])
    );
    for (name, role) in [
        ("demo-maintainer", "maintainer"),
        ("demo-transfer", "transfer"),
    ] {
        let k = demo.key_named(name).ok_or("demo key missing")?;
        assert!(crate::envelope::is_demo_key(&k.key.key_id()));
        assert_eq!(k.roles, BTreeSet::from([role.to_owned()]));
    }
    assert_eq!(
        demo.notes()
            .iter()
            .filter(|n| matches!(n, PolicyNote::DemoKey { .. }))
            .count(),
        2
    );
    let mut defaults = load(&valid())?;
    defaults.source = demo.source.clone();
    // The demo's rules are the defaults: its folder's README.md is text.
    assert_eq!(
        (
            demo.content.clone(),
            demo.caps,
            demo.time,
            demo.history,
            demo.drift_needs_acceptance.clone()
        ),
        (
            defaults.content,
            defaults.caps,
            defaults.time,
            defaults.history,
            defaults.drift_needs_acceptance
        )
    );

    let station = Policy::load(&repo_path("docs/examples/station.toml"))?;
    assert_eq!(station.required_roles.len(), 2);
    assert!(station.notes().is_empty(), "{:?}", station.notes());
    assert!(station.time.require_expiry);
    assert_eq!(station.content.fail_on, Some(Severity::Warning));

    let air = Policy::load(&repo_path("docs/examples/air-gapped.toml"))?;
    assert_eq!(air.time.clock, Clock::Untrusted);
    assert!(!air.history.allow_rollback);
    Ok(())
}

fn write_key(dir: &Path, name: &str, seed: u8) -> Result<PathBuf, std::io::Error> {
    let path = dir.join(format!("{name}.pub"));
    std::fs::write(&path, pem(seed))?;
    Ok(path)
}

fn trust(name: &str, path: &Path, roles: &[&str]) -> TrustSpec {
    TrustSpec {
        name: name.into(),
        key_path: path.to_path_buf(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

#[test]
fn init_writes_a_policy_that_loads_with_the_defaults() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = write_key(dir.path(), "alice", 1)?;
    let b = write_key(dir.path(), "bob", 2)?;
    let d = write_key(dir.path(), "desk", 3)?;
    let spec = InitSpec {
        trust: vec![
            trust("alice", &a, &["maintainer"]),
            trust("bob", &b, &["maintainer"]),
            trust("desk", &d, &["transfer"]),
        ],
        require: vec![],
        thresholds: vec![("maintainer".into(), 2)],
        policy_dir: Some(dir.path().to_path_buf()),
    };
    let text = init(&spec)?;
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, &text)?;
    let p = Policy::load(&path)?;
    // Required roles default to every role named in --trust.
    assert_eq!(
        p.required_roles,
        BTreeSet::from(["maintainer".into(), "transfer".into()])
    );
    assert_eq!(p.threshold("maintainer"), 2);
    assert_eq!(p.threshold("transfer"), 1);
    assert_eq!(
        p.key_named("bob").map(|k| k.key.key_id()),
        Some(key(2).key_id())
    );
    // Paths recorded as given, and pinned.
    assert!(text.contains(&format!("public_key = \"{}\"", a.display())));
    assert!(text.contains(&format!("key_id = \"{}\"", key(1).key_id())));
    // Every other option is at its safe default.
    let defaults = load(&valid())?;
    assert_eq!(p.content, defaults.content);
    assert_eq!(p.caps, defaults.caps);
    assert_eq!(p.time, defaults.time);
    assert_eq!(p.history, defaults.history);
    assert_eq!(p.unknown_signers, UnknownSigners::Refuse);
    assert_eq!(p.drift_needs_acceptance, defaults.drift_needs_acceptance);
    // Every option appears, commented.
    for option in [
        "unknown_signers",
        "allowed_formats",
        "allowed_licences",
        "fail_on",
        "max_entries",
        "max_entry_bytes",
        "max_total_bytes",
        "max_path_bytes",
        "max_age",
        "require_expiry",
        "clock",
        "allow_rollback",
        "allow_fork",
        "require_acceptance",
    ] {
        let line = text
            .lines()
            .position(|l| l.trim_start_matches("# ").starts_with(option));
        let commented = line
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| text.lines().nth(i))
            .is_some_and(|l| l.starts_with('#'));
        assert!(commented, "{option} is missing or has no comment above it");
    }
    Ok(())
}

#[test]
fn init_honours_require_and_escapes_hostile_paths() -> TestResult {
    let dir = tempfile::tempdir()?;
    let odd = dir.path().join("we\"ird\\ na\tme\u{7f}.pub");
    std::fs::write(&odd, pem(6))?;
    let d = write_key(dir.path(), "desk", 7)?;
    let spec = InitSpec {
        trust: vec![
            trust("a", &odd, &["maintainer", "v1.0"]),
            trust("d", &d, &["transfer"]),
        ],
        require: vec!["v1.0".into()],
        thresholds: vec![],
        policy_dir: None,
    };
    let text = init(&spec)?;
    let path = dir.path().join("p.toml");
    std::fs::write(&path, &text)?;
    let p = Policy::load(&path)?;
    assert_eq!(p.required_roles, BTreeSet::from(["v1.0".into()]));
    assert_eq!(
        p.key_named("a").map(|k| k.key.key_id()),
        Some(key(6).key_id())
    );
    Ok(())
}

#[test]
fn init_checks_relative_key_paths_from_the_policy_folder() -> TestResult {
    // Tests run in the crate root, so this relative path reads from there.
    let spec = |dir: &str| InitSpec {
        trust: vec![trust(
            "demo",
            Path::new("keys/demo-maintainer.pub"),
            &["maintainer"],
        )],
        policy_dir: Some(repo_path(dir)),
        ..InitSpec::default()
    };
    let text = init(&spec(""))?;
    assert!(text.contains("public_key = \"keys/demo-maintainer.pub\""));
    assert!(text.contains("WARNING: a public demo key"));
    let p = Policy::from_toml(&text, &repo_path("policy.toml"))?;
    assert!(
        p.notes()
            .iter()
            .any(|n| matches!(n, PolicyNote::DemoKey { .. }))
    );
    // Written into docs/examples/, the path the command line gave (from
    // the current folder) is rewritten from the policy's folder, where it
    // is resolved: the policy loads there and trusts the same key.
    let text = init(&spec("docs/examples"))?;
    assert!(
        text.contains("public_key = \"../../keys/demo-maintainer.pub\""),
        "{text}"
    );
    let p = Policy::from_toml(&text, &repo_path("docs/examples/policy.toml"))?;
    assert!(p.key_named("demo").is_some());
    // A policy folder that does not exist is named as such.
    let e = init(&spec("no/such/folder"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("does not exist"), "{e}");
    Ok(())
}

#[test]
fn init_refuses_what_could_never_pass_or_cannot_be_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    let a = write_key(dir.path(), "a", 1)?;
    let bad = dir.path().join("bad.pub");
    std::fs::write(&bad, "not a key")?;
    let t = |roles: &[&str]| vec![trust("a", &a, roles)];
    let cases: Vec<(InitSpec, &str)> = vec![
        (InitSpec::default(), "no trusted key"),
        (
            InitSpec {
                trust: vec![trust("a", &bad, &["m"])],
                ..InitSpec::default()
            },
            "not one PEM public key",
        ),
        (
            InitSpec {
                trust: vec![trust("a", &dir.path().join("none.pub"), &["m"])],
                ..InitSpec::default()
            },
            "cannot read key file",
        ),
        (
            InitSpec {
                trust: vec![trust("a", &a, &["m"]), trust("a", &a, &["t"])],
                ..InitSpec::default()
            },
            "given twice",
        ),
        (
            InitSpec {
                trust: t(&[]),
                ..InitSpec::default()
            },
            "no role",
        ),
        (
            InitSpec {
                trust: t(&["m"]),
                require: vec!["t".into()],
                ..InitSpec::default()
            },
            "no trusted key may sign as",
        ),
        (
            InitSpec {
                trust: t(&["m"]),
                require: vec!["m".into(), "m".into()],
                ..InitSpec::default()
            },
            "given twice",
        ),
        (
            InitSpec {
                trust: t(&["m"]),
                thresholds: vec![("m".into(), 2)],
                ..InitSpec::default()
            },
            "only 1 distinct",
        ),
        (
            InitSpec {
                trust: t(&["m"]),
                thresholds: vec![("x".into(), 1)],
                ..InitSpec::default()
            },
            "not a required role",
        ),
        (
            InitSpec {
                trust: t(&["m"]),
                thresholds: vec![("m".into(), 0)],
                ..InitSpec::default()
            },
            "expected 1 or more",
        ),
        (
            InitSpec {
                trust: t(&["m"]),
                thresholds: vec![("m".into(), 1), ("m".into(), 1)],
                ..InitSpec::default()
            },
            "given twice",
        ),
    ];
    for (spec, words) in cases {
        let e = init(&spec).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains(words), "{spec:?}: {e:?} lacks {words:?}");
    }
    // Two names for one key cannot meet a threshold of 2.
    let spec = InitSpec {
        trust: vec![trust("a", &a, &["m"]), trust("b", &a, &["m"])],
        thresholds: vec![("m".into(), 2)],
        ..InitSpec::default()
    };
    assert!(init(&spec).is_err());
    Ok(())
}

#[test]
fn trust_arguments_parse_strictly() {
    let ok = parse_trust_arg("alice=keys/alice.pub:maintainer,transfer");
    assert_eq!(
        ok.ok(),
        Some(TrustSpec {
            name: "alice".into(),
            key_path: "keys/alice.pub".into(),
            roles: vec!["maintainer".into(), "transfer".into()],
        })
    );
    // The path may hold '=' and ':' (name ends at the first '=', roles
    // start after the last ':').
    let odd = parse_trust_arg("d=C:/k=1/d.pub:transfer").ok();
    assert_eq!(odd.map(|t| t.key_path), Some(PathBuf::from("C:/k=1/d.pub")));

    let huge_name = format!("{}=k.pub:m", "a".repeat(200));
    let huge_arg = format!("a={}:m", "k".repeat(10_000));
    let bad = [
        "",
        "=",
        ":",
        "alice",
        "alice:maintainer",
        "alice=keys/a.pub",
        "=k.pub:m",
        "alice=:m",
        "alice=k.pub:",
        "alice=k.pub:m,",
        "alice=k.pub:,m",
        "alice=k.pub:m,,t",
        "alice=k.pub:m,m",
        "alice=k.pub:-m",
        "alice=k.pub:m t",
        "alice=k.pub:ro/le",
        "a b=k.pub:m",
        "-a=k.pub:m",
        "alice=k.pub:rôle",
        "ålice=k.pub:m",
        "a\n=k.pub:m",
        &huge_name,
        &huge_arg,
    ];
    for arg in bad {
        match parse_trust_arg(arg) {
            Err(e @ PolicyError::TrustArg { .. }) => {
                let msg = e.to_string();
                assert!(msg.starts_with("trusted key "), "{msg}");
                assert!(!msg.contains('\n'), "{msg}");
                assert!(msg.len() < 600, "{msg}");
            }
            other => fail(arg, &format!("{other:?}")),
        }
    }
}

#[test]
fn threshold_arguments_parse_strictly() {
    assert_eq!(
        parse_threshold_arg("maintainer=2").ok(),
        Some(("maintainer".into(), 2))
    );
    assert_eq!(
        parse_threshold_arg("m=4294967295").ok(),
        Some(("m".into(), u32::MAX))
    );
    let huge = "9".repeat(10_000);
    let huge_arg = format!("m={huge}");
    for arg in [
        "",
        "=",
        "m",
        "m=",
        "=2",
        "m=0",
        "m=-1",
        "m=+1",
        "m=1 ",
        " m=1",
        "m=1.5",
        "m=0x10",
        "m=4294967296",
        "m=99999999999999999999999",
        "m=2=3",
        "-m=1",
        "m=١",
        &huge_arg,
    ] {
        match parse_threshold_arg(arg) {
            Err(e @ PolicyError::ThresholdArg { .. }) => {
                assert!(e.to_string().starts_with("threshold "));
                assert!(e.to_string().len() < 600);
            }
            other => fail(arg, &format!("{other:?}")),
        }
    }
}

/// One edit of a valid policy: replace, insert or delete a char, or
/// duplicate or delete a line.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    Delete(usize),
    DupLine(usize),
    DropLine(usize),
}

fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lines: Vec<&str> = text.lines().collect();
    let at = |i: usize, n: usize| if n == 0 { 0 } else { i % n };
    match *edit {
        Edit::Replace(i, c) => {
            let i = at(i, chars.len());
            chars
                .iter()
                .enumerate()
                .map(|(j, &o)| if j == i { c } else { o })
                .collect()
        }
        Edit::Insert(i, c) => {
            let i = at(i, chars.len().saturating_add(1));
            let mut out: String = chars.iter().take(i).collect();
            out.push(c);
            out.extend(chars.iter().skip(i));
            out
        }
        Edit::Delete(i) => {
            let i = at(i, chars.len());
            chars
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, c)| c)
                .collect()
        }
        Edit::DupLine(i) => {
            let i = at(i, lines.len());
            let mut out = Vec::with_capacity(lines.len().saturating_add(1));
            for (j, l) in lines.iter().enumerate() {
                out.push(*l);
                if j == i {
                    out.push(*l);
                }
            }
            out.join("\n")
        }
        Edit::DropLine(i) => {
            let i = at(i, lines.len());
            lines
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop_oneof![
        Just('"'),
        Just('['),
        Just(']'),
        Just('='),
        Just('\n'),
        Just(','),
        Just('{'),
        Just('0'),
        Just('-'),
        Just('#'),
        Just('\\'),
        Just('.'),
        any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), interesting).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::DupLine),
        any::<usize>().prop_map(Edit::DropLine),
    ]
}

/// The policy every mutation starts from: every table, inline keys.
fn full_valid() -> String {
    format!(
        "{}unknown_signers = \"refuse\"\n[signatures.thresholds]\nmaintainer = 1\n\
         [content]\nallowed_formats = [\"gguf\"]\nallowed_licences = [\"MIT\"]\nfail_on = \"warning\"\n\
         [caps]\nmax_entries = 10\nmax_entry_bytes = \"1 GiB\"\nmax_total_bytes = 2000\nmax_path_bytes = 100\n\
         [time]\nmax_age = \"30d\"\nrequire_expiry = true\nclock = \"untrusted\"\n\
         [history]\nallow_rollback = false\nallow_fork = false\n\
         [drift]\nrequire_acceptance = [\"format\", \"licence\"]\n",
        valid()
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn from_toml_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let _ = load(&text);
    }

    #[test]
    fn from_toml_never_panics_on_mutated_policies(edits in proptest::collection::vec(edit(), 1..6)) {
        let mut text = full_valid();
        for e in &edits {
            text = apply(&text, e);
        }
        // Relative key paths a mutation might create resolve into a folder
        // that does not exist.
        match load(&text) {
            Ok(p) => {
                prop_assert!(!p.keys.is_empty());
                prop_assert!(!p.required_roles.is_empty());
                for role in &p.required_roles {
                    let have = u64::try_from(p.keys_for_role(role).len()).unwrap_or(0);
                    prop_assert!(have >= u64::from(p.threshold(role)));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(!msg.contains('\n'), "{}", msg);
                prop_assert!(msg.starts_with("policy "), "{}", msg);
            }
        }
    }
}

#[test]
fn the_mutation_base_is_valid() {
    assert!(load(&full_valid()).is_ok());
}

/// docs/policy.md's complete example loads and has the defaults the
/// reference states, so the document and the code cannot drift apart.
#[test]
fn the_reference_layout_example_loads_with_the_stated_defaults() -> TestResult {
    let doc = std::fs::read_to_string(repo_path("docs/policy.md"))?;
    let start = doc.find("```toml\n").ok_or("no toml block")? + "```toml\n".len();
    let len = doc
        .get(start..)
        .and_then(|s| s.find("```"))
        .ok_or("unclosed")?;
    let example = doc.get(start..start + len).ok_or("block")?;
    let alice_pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEALJN80EY2vSFNEb1nA0rNLMWOCdTQENa+tPp0gvOza2w=\n-----END PUBLIC KEY-----\n";
    let mut resolve = |written: &str| match written {
        "keys/alice.pub" => values::public_key_pem(alice_pem).map_err(load::KeyProblem::Invalid),
        "keys/desk-1.pub" => Ok(key(2)),
        other => Err(load::KeyProblem::Invalid(format!("unexpected {other}"))),
    };
    let p = load::from_toml_with(example, Path::new("policy.toml"), &mut resolve)?;
    let defaults = load(&valid())?;
    assert_eq!(p.content, defaults.content);
    assert_eq!(p.caps, defaults.caps);
    assert_eq!(p.time, defaults.time);
    assert_eq!(p.history, defaults.history);
    assert_eq!(p.drift_needs_acceptance, defaults.drift_needs_acceptance);
    assert_eq!(p.unknown_signers, UnknownSigners::Refuse);
    // Every drift class the reference lists is a known class, and all are
    // listed, in order of consequence.
    let names = crate::diff::DriftClass::names();
    let listed: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once("` |").map(|(c, _)| c))
        .filter(|c| names.contains(c))
        .collect();
    assert_eq!(listed, names);
    Ok(())
}

/// One key listed under the most names, with the most roles: the role
/// merge is bounded (it was quadratic in names × roles without the caps).
#[test]
fn key_and_role_counts_are_capped() -> TestResult {
    let policy = |keys: usize, roles: usize| {
        let pem = pem(1).replace('\n', "\\n");
        let mut t = String::from("version = 1\n");
        for n in 0..keys {
            let role = format!("r{}", n % roles);
            t.push_str(&format!(
                "[[keys]]\nname = \"k{n}\"\npem = \"{pem}\"\nroles = [\"{role}\"]\n"
            ));
        }
        t.push_str("[signatures]\nrequired_roles = [\"r0\"]\n");
        t
    };
    let start = std::time::Instant::now();
    let p = load(&policy(MAX_KEYS, MAX_ROLES))?;
    let elapsed = start.elapsed();
    assert_eq!(p.keys.len(), MAX_KEYS);
    assert_eq!(p.keys_for_role("r7").len(), 1);
    assert!(p.keys.iter().all(|k| k.roles.len() == MAX_ROLES));
    assert!(elapsed.as_secs() < 20, "{elapsed:?}");
    let too_many_keys = load(&policy(MAX_KEYS + 1, 1)).err().map(|e| e.to_string());
    assert!(too_many_keys.is_some_and(|e| e.contains("keys: 1001 keys is more than the 1000")));
    let too_many_roles = load(&policy(MAX_ROLES + 1, MAX_ROLES + 1))
        .err()
        .map(|e| e.to_string());
    assert!(too_many_roles.is_some_and(|e| e.contains("more than 256 distinct roles")));
    Ok(())
}

#[test]
fn key_paths_are_rewritten_relative_to_the_policy_folder() -> TestResult {
    let dir = tempfile::tempdir()?;
    let keys = dir.path().join("keys");
    let out = dir.path().join("out/station");
    std::fs::create_dir_all(&keys)?;
    std::fs::create_dir_all(&out)?;
    std::fs::write(keys.join("a.pub"), "x")?;
    assert_eq!(
        key_path_from(&out, &keys.join("a.pub")),
        Some(std::path::PathBuf::from("../../keys/a.pub"))
    );
    assert_eq!(
        key_path_from(&keys, &keys.join("a.pub")),
        Some(std::path::PathBuf::from("a.pub"))
    );
    assert_eq!(key_path_from(&out, &keys.join("missing.pub")), None);
    Ok(())
}

/// docs/policy.md [P1], [P13]: a policy file or key file that is a FIFO or
/// a device is refused without blocking (a FIFO nobody writes to would
/// block a plain `open` + `read` forever); the load runs on a thread so a
/// regression fails the test instead of hanging it.
#[test]
fn a_fifo_or_device_is_refused_without_blocking() -> TestResult {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success());
    let with_key = dir.path().join("policy.toml");
    std::fs::write(
        &with_key,
        "version = 1\n[[keys]]\nname = \"a\"\npublic_key = \"fifo\"\nroles = [\"m\"]\n\
         [signatures]\nrequired_roles = [\"m\"]\n",
    )?;
    let with_device = dir.path().join("device.toml");
    std::fs::write(
        &with_device,
        "version = 1\n[[keys]]\nname = \"a\"\npublic_key = \"/dev/zero\"\nroles = [\"m\"]\n\
         [signatures]\nrequired_roles = [\"m\"]\n",
    )?;
    for path in [
        fifo.clone(),
        PathBuf::from("/dev/zero"),
        with_key,
        with_device,
    ] {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let _ = tx.send(Policy::load(&p).map(|_| ()).map_err(|e| e.to_string()));
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(20));
        match got {
            Ok(Err(message)) => assert!(!message.is_empty()),
            Ok(Ok(())) => fail(&path.display().to_string(), "loaded"),
            Err(_) => {
                // Unblock the stuck thread before failing.
                let _ = std::fs::write(&fifo, b"");
                fail(&path.display().to_string(), "still loading after 20 s");
            }
        }
    }
    Ok(())
}

/// docs/policy.md [P41]: caps at the reader's limits load; one above is
/// refused, naming the key, since no policy can raise a reader limit.
#[test]
fn caps_above_the_reader_limits_are_refused() -> TestResult {
    let reader = crate::bundle::ReadLimits::default();
    let entries = reader.max_artifacts * 2 + 1;
    let path = crate::bundle::path::MAX_PATH_BYTES;
    let with = |caps: &str| format!("{}\n[caps]\n{caps}\n", valid());
    let p = load(&with(&format!(
        "max_entries = {entries}\nmax_path_bytes = {path}"
    )))?;
    assert_eq!(
        (p.caps.max_entries, p.caps.max_path_bytes),
        (entries as u64, path as u64)
    );
    for (caps, key) in [
        (format!("max_entries = {}", entries + 1), "caps.max_entries"),
        (
            format!("max_path_bytes = {}", path + 1),
            "caps.max_path_bytes",
        ),
    ] {
        let err = load(&with(&caps))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(key) && err.contains("reader limit"),
            "{caps}: {err}"
        );
    }
    Ok(())
}
