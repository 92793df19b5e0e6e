//! Every untrusted string is escaped on every output path
//! (docs/threat-model.md, G13).
//!
//! One table, [`FIELDS`], names every field a bundle, a model or a store can
//! carry an attacker's text in. Each gets its own tag (`F07`) followed by
//! [`HOSTILE`]: bidirectional controls, line and paragraph separators, C0
//! (CR, ESC, BEL, BS, NUL…), DEL, C1 (CSI U+009B, NEL), ANSI sequences,
//! zero-width and other invisible characters, and a forged line
//! (`FORGED pass`) after each line break. Where a format refuses a field's
//! characters (labels, entry names, link notes), the closest legal value is
//! carried and the illegal one is offered too, so the refusal message is
//! checked as well.
//!
//! Every command then runs in every format: `scan` (all six), `pack` and
//! `sign` refusals, `inspect`, `verify`, `import`, `diff` (text, markdown,
//! json), `log`, `audit`, `rollback`, and error messages on stderr. Text
//! output must hold none of the characters raw and no line may begin with
//! the forged text; JSON must parse, hold none of them raw (JSON escapes
//! only) and still carry the exact value. Finally every field's tag must
//! have reached some output or some refusal: a field in the table that no
//! test path uses fails the test.

mod common;
mod tamper;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{TestResult, fail, lbom, python_tool, repo, run_bounded};
use lbom::bundle::chain::{LinkPredicate, PreviousLink, link_payload};
use lbom::bundle::layout;
use lbom::bundle::manifest::format_time;
use lbom::bundle::pack::Compression;
use lbom::envelope::PAYLOAD_TYPE_IN_TOTO;
use lbom::io::digest::Sha256Digest;
use serde_json::Value;
use tamper::{Entry, Keys, PackSpec, Res, Times};

/// What a field can legally hold.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Legal {
    /// Any Unicode text, NUL included.
    Any,
    /// A file name: no `/`, no NUL.
    FileName,
    /// A bundle entry name (docs/bundle-format.md [B14]): no controls, no `\`.
    EntryName,
    /// A link note ([B35]): no controls, separators or bidi formatting.
    NoControls,
    /// One line of a model card's front matter: no CR or LF.
    OneLine,
    /// A label (`[A-Za-z0-9._-]`): only the tag is legal; the hostile
    /// value is offered to the command that must refuse it.
    Label,
}

/// Every field that carries untrusted text to some output.
const FIELDS: &[(&str, Legal)] = &[
    // Model files (tests/tools/hostile_strings.py).
    ("gguf_file_name", Legal::FileName),
    ("gguf_architecture", Legal::Any),
    ("gguf_general_name", Legal::Any),
    ("gguf_license", Legal::Any),
    ("gguf_base_model", Legal::Any),
    ("gguf_metadata_key", Legal::Any),
    ("gguf_metadata_value", Legal::Any),
    ("gguf_size_label", Legal::Any),
    ("gguf_chat_template", Legal::Any),
    ("gguf_token", Legal::Any),
    ("gguf_tensor_name", Legal::Any),
    ("st_tensor_name", Legal::Any),
    ("st_format", Legal::Any),
    ("st_metadata_key", Legal::Any),
    ("st_metadata_value", Legal::Any),
    ("hf_architecture", Legal::Any),
    ("hf_model_type", Legal::Any),
    ("hf_torch_dtype", Legal::Any),
    ("hf_quant_method", Legal::Any),
    ("hf_chat_template", Legal::Any),
    ("hf_token", Legal::Any),
    ("hf_card_license", Legal::OneLine),
    ("hf_card_base_model", Legal::OneLine),
    // Bundle: entry names (and so attestation subjects and SBOM names),
    // manifest, links.
    ("entry_name", Legal::EntryName),
    ("manifest_name", Legal::Label),
    ("manifest_channel", Legal::Label),
    // The tool's name and version are labels ([B53]); only the bundle
    // made to be refused carries the hostile text.
    ("tool_name", Legal::Label),
    ("tool_version", Legal::Label),
    ("link_role", Legal::Label),
    ("link_note", Legal::NoControls),
    ("keyid_hint", Legal::Any),
    // Store: the bundle's file name (history), files planted in a version
    // folder and at the root, channel names asked for.
    ("bundle_file_name", Legal::FileName),
    ("store_planted_file", Legal::FileName),
    ("store_root_entry", Legal::FileName),
    ("log_channel", Legal::Label),
    // Command arguments echoed in messages.
    ("cli_path", Legal::FileName),
    ("accept_drift_class", Legal::FileName),
];

/// The characters no output may hold raw (the test's own list, not lbom's).
const DANGEROUS: &[char] = &[
    '\u{0}',
    '\u{7}',
    '\u{8}',
    '\t',
    '\u{b}',
    '\u{c}',
    '\r',
    '\u{1b}',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    '\u{9b}',
    '\u{9d}',
    '\u{ad}',
    '\u{61c}',
    '\u{180e}',
    '\u{200b}',
    '\u{200c}',
    '\u{200d}',
    '\u{200e}',
    '\u{200f}',
    '\u{2028}',
    '\u{2029}',
    '\u{202a}',
    '\u{202b}',
    '\u{202c}',
    '\u{202d}',
    '\u{202e}',
    '\u{2060}',
    '\u{2062}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{3164}',
    '\u{feff}',
    '\u{e0041}',
];

/// The forged line every line break in [`hostile`] tries to start.
const FORGED: &str = "FORGED ok";

/// The hostile text: every dangerous character, two ANSI sequences, and a
/// forged line after each kind of line break.
fn hostile() -> String {
    let mut s: String = DANGEROUS.iter().collect();
    s.push_str("\u{1b}[1A\u{1b}[2K\u{1b}]0;title\u{7}\u{9b}31m");
    for br in [
        "\n", "\r", "\r\n", "\u{b}", "\u{c}", "\u{85}", "\u{2028}", "\u{2029}",
    ] {
        s.push_str(br);
        s.push_str(FORGED);
    }
    s
}

/// The value a field carries: its tag, then the hostile text less what the
/// field cannot legally hold.
fn value(i: usize, legal: Legal) -> String {
    let tag = tag(i);
    let keep = |c: &char| match legal {
        Legal::Any => true,
        Legal::FileName => *c != '/' && *c != '\0',
        Legal::EntryName => !c.is_control() && *c != '\\',
        // [B35]: no C0, DEL, C1, line or paragraph separator, or bidi
        // formatting character.
        Legal::NoControls => {
            !c.is_control()
                && !matches!(
                    *c,
                    '\u{2028}'
                        | '\u{2029}'
                        | '\u{61c}'
                        | '\u{200e}'
                        | '\u{200f}'
                        | '\u{202a}'..='\u{202e}'
                        | '\u{2066}'..='\u{2069}'
                )
        }
        Legal::OneLine => *c != '\n' && *c != '\r',
        Legal::Label => false,
    };
    match legal {
        Legal::Label => format!("{tag}-label"),
        // A tar name segment holds at most 100 bytes ([B6]): the legal
        // dangerous characters and one forged line.
        Legal::EntryName => format!(
            "{tag}{}\u{2028}{FORGED}",
            DANGEROUS.iter().copied().filter(keep).collect::<String>()
        ),
        _ => format!(
            "{tag}{}",
            hostile().chars().filter(keep).collect::<String>()
        ),
    }
}

/// The value a field's command must refuse (labels, entry names, notes).
fn illegal(i: usize) -> String {
    format!("{}{}", tag(i), hostile().replace('\0', ""))
}

fn tag(i: usize) -> String {
    format!("F{i:02}")
}

fn field_index(name: &str) -> Res<usize> {
    FIELDS
        .iter()
        .position(|(n, _)| *n == name)
        .ok_or_else(|| fail(format!("{name} is not in FIELDS")))
}

fn v(name: &str) -> Res<String> {
    let i = field_index(name)?;
    Ok(value(i, FIELDS.get(i).map_or(Legal::Any, |f| f.1)))
}

fn bad(name: &str) -> Res<String> {
    Ok(illegal(field_index(name)?))
}

/// How an output must be judged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Text: nothing raw, no forged line.
    Text,
    /// Text with lbom's own SGR colours (`--color always`), removed first.
    Colour,
    /// A drift report: as text, but a multi-line value (a chat template) is
    /// shown line by line in a diff block, each line behind the block's
    /// gutter (four spaces and a diff mark in text, a code fence in
    /// Markdown); such lines may start with the value's own text.
    Diff,
    /// JSON: valid, nothing raw (JSON escapes only). Its line breaks are
    /// JSON's own: a string cannot hold one raw.
    Json,
}

/// Every output seen, judged as it comes.
#[derive(Default)]
struct Outputs {
    problems: Vec<String>,
    all_text: String,
    runs: usize,
}

impl Outputs {
    /// Run `lbom ARGS`; judge stdout as `kind` and stderr as text.
    fn run<S: AsRef<OsStr>>(&mut self, label: &str, args: &[S], kind: Kind) -> Res<common::Run> {
        let run = run_bounded(&mut lbom(args), Duration::from_secs(120))?;
        self.runs += 1;
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        self.judge(&format!("{label} (stdout)"), &stdout, kind);
        self.judge(&format!("{label} (stderr)"), &run.stderr, Kind::Text);
        Ok(run)
    }

    fn judge(&mut self, label: &str, text: &str, kind: Kind) {
        self.all_text.push_str(text);
        let uncoloured;
        let text = if kind == Kind::Colour {
            uncoloured = strip_sgr(text);
            uncoloured.as_str()
        } else {
            text
        };
        for (n, c) in text.char_indices().filter(|(_, c)| DANGEROUS.contains(c)) {
            if kind == Kind::Json && c == '\n' {
                continue;
            }
            let before: String = text
                .get(..n)
                .unwrap_or_default()
                .chars()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            self.problems.push(format!(
                "{label}: raw U+{:04X} after {before:?}",
                u32::from(c)
            ));
            return;
        }
        let mut in_fence = false;
        for line in text.lines() {
            if kind == Kind::Json {
                break;
            }
            if line.starts_with("```") {
                in_fence = !in_fence;
                continue;
            }
            let diff_block = kind == Kind::Diff
                && (in_fence
                    || (line.starts_with("    ")
                        && line.get(4..5).is_some_and(|m| [" ", "+", "-"].contains(&m))));
            if diff_block {
                continue;
            }
            let start =
                line.trim_start_matches(|c: char| c.is_whitespace() || "│┆|>-*#`\"".contains(c));
            if start.starts_with("FORGED") {
                self.problems.push(format!(
                    "{label}: a forged line reached the output: {line:?}"
                ));
                return;
            }
        }
        if kind == Kind::Json
            && !text.trim().is_empty()
            && let Err(e) = serde_json::from_str::<Value>(text)
        {
            self.problems.push(format!("{label}: not JSON: {e}"));
        }
    }
}

/// Whether some string in `value` equals `wanted`.
fn holds_string(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Array(items) => items.iter().any(|v| holds_string(v, wanted)),
        Value::Object(map) => map.values().any(|v| holds_string(v, wanted)),
        _ => false,
    }
}

/// What a hostile bundle carries that a reader must refuse.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refusable {
    /// Nothing: the bundle is legal.
    Nothing,
    /// A key id hint other than the signing key's id.
    Hint,
    /// A tool name and version outside their syntax.
    Tool,
}

/// The bundle with a hostile tool and hostile links, re-signed by the demo
/// keys: `pack` then the manifest's tool edited, then a chain whose links
/// carry the hostile note (and, in the bundles made to be refused, the key id
/// hint or the illegal tool).
fn hostile_bundle(
    dir: &Path,
    inputs: Vec<PathBuf>,
    sequence: u64,
    previous: Option<PathBuf>,
    keys: &Keys,
    refusable: Refusable,
    out: &Path,
) -> Res<()> {
    let hint = refusable == Refusable::Hint;
    let t = Times::now()?;
    let spec = PackSpec {
        inputs,
        name: &v("manifest_name")?,
        channel: &v("manifest_channel")?,
        sequence: Some(sequence),
        previous,
        created: t.created,
        expires: None,
        compress: Compression::Auto,
    };
    let plain = dir.join(format!("plain-{sequence}-{}.lbom", refusable as u8));
    let bytes = tamper::pack_and_sign(&spec, &plain, &[], t.link)?;
    let mut entries = tamper::entries(&bytes)?;
    let (tool, version) = if refusable == Refusable::Tool {
        (bad("tool_name")?, bad("tool_version")?)
    } else {
        (v("tool_name")?, v("tool_version")?)
    };
    // The attestation's builder id names the manifest's tool ([B55]).
    let builder = |name: &str, version: &str| -> Res<String> {
        Ok(serde_json::to_string(&format!(
            "urn:lbom:builder:{name}@{version}"
        ))?)
    };
    let (from, to) = (
        builder(lbom::TOOL_NAME, lbom::TOOL_VERSION)?,
        builder(&tool, &version)?,
    );
    let attestation = entries
        .iter_mut()
        .find(|e| e.name == layout::ATTESTATION)
        .ok_or_else(|| fail("no attestation"))?;
    attestation.data = String::from_utf8(std::mem::take(&mut attestation.data))?
        .replace(&from, &to)
        .into_bytes();
    tamper::restamp(&mut entries, |m| {
        m.tool.name = tool;
        m.tool.version = version;
    })?;
    entries.retain(|e| !e.name.starts_with("chain/"));
    let digest = Sha256Digest::of(
        &entries
            .iter()
            .find(|e| e.name == layout::MANIFEST)
            .ok_or_else(|| fail("no manifest"))?
            .data,
    );
    let mut previous_link: Option<PreviousLink> = None;
    for (index, (key, role, note, hint)) in [
        (&keys.maintainer, "maintainer", Some(v("link_note")?), None),
        // A hint must name the signing key (chain.signatures): a hostile
        // one is refused, so only the bundle made to be refused has it.
        (
            &keys.transfer,
            "transfer",
            None,
            if hint { Some(v("keyid_hint")?) } else { None },
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let index = u32::try_from(index + 1)?;
        let predicate = LinkPredicate {
            index,
            role: role.to_owned(),
            keyid: key.key_id(),
            time: format_time(t.link),
            note,
            previous: previous_link.take(),
        };
        let env = tamper::signed(
            PAYLOAD_TYPE_IN_TOTO,
            link_payload(&digest, &predicate),
            key,
            hint.as_deref(),
        );
        let data = env.encode();
        let name = layout::link_name(index);
        previous_link = Some(PreviousLink {
            path: name.clone(),
            sha256: Sha256Digest::of(&data),
        });
        entries.push(Entry { name, data });
    }
    std::fs::write(out, tamper::assemble(&entries)?)?;
    Ok(())
}

/// A policy trusting the demo keys that lets the hostile models through:
/// any format, licence and finding; no drift gate.
fn permissive_policy(dir: &Path, keys: &Keys) -> Res<PathBuf> {
    let pubkey = |name: &str, key: &lbom::sign::SigningKey| -> Res<String> {
        let path = dir.join(format!("{name}.pub"));
        std::fs::write(&path, key.public_key().to_pem()?)?;
        Ok(path.display().to_string())
    };
    let (m, t) = (
        pubkey("maintainer", &keys.maintainer)?,
        pubkey("transfer", &keys.transfer)?,
    );
    let policy = dir.join("permissive.toml");
    std::fs::write(
        &policy,
        format!(
            r#"version = 1

[[keys]]
name = "maintainer"
public_key = "{m}"
roles = ["maintainer"]

[[keys]]
name = "transfer"
public_key = "{t}"
roles = ["transfer"]

[signatures]
required_roles = ["maintainer", "transfer"]

[content]
allowed_formats = ["gguf", "safetensors", "json", "text", "tiktoken", "sentencepiece", "code", "unknown"]
fail_on = "none"

[drift]
require_acceptance = []
"#
        ),
    )?;
    Ok(policy)
}

/// Write the hostile models of `fields` into `dir` with the Python writers.
fn write_models(dir: &Path, fields: &BTreeMap<&str, String>) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    let spec = dir.with_extension("fields.json");
    std::fs::write(&spec, serde_json::to_vec(fields)?)?;
    python_tool("hostile_strings.py", &[dir.as_os_str(), spec.as_os_str()])?;
    Ok(())
}

fn model_fields(version: &str) -> Res<BTreeMap<&'static str, String>> {
    let mut fields = BTreeMap::new();
    for (name, _) in FIELDS {
        let is_model = ["gguf_", "st_", "hf_"].iter().any(|p| name.starts_with(p));
        if is_model {
            // The second release changes every value (not the file name),
            // so the diff reports each as a change.
            let mut val = v(name)?;
            if *name != "gguf_file_name" {
                val.push_str(version);
            }
            fields.insert(*name, val);
        }
    }
    Ok(fields)
}

/// `text` without SGR sequences (`ESC [ digits ; … m`).
fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(rest.get(..at).unwrap_or_default());
        let after = rest.get(at + 2..).unwrap_or_default();
        let params = after
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b';')
            .count();
        if after.as_bytes().get(params) == Some(&b'm') {
            rest = after.get(params + 1..).unwrap_or_default();
        } else {
            // Not SGR: keep the ESC for the judge to find.
            out.push('\u{1b}');
            rest = rest.get(at + 1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    out
}

fn os(s: impl AsRef<OsStr>) -> OsString {
    s.as_ref().to_owned()
}

#[test]
fn every_untrusted_string_is_escaped_on_every_output_path() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let keys = Keys::load(&repo())?;
    let policy = permissive_policy(dir, &keys)?;
    let mut out = Outputs::default();

    // ---- models and scan, every format
    let (models1, models2) = (dir.join("release1"), dir.join("release2"));
    write_models(&models1, &model_fields("")?)?;
    write_models(&models2, &model_fields(" v2")?)?;
    let gguf = gguf_in(&models1)?;
    for format in ["json", "table", "spdx", "spdx-json", "cyclonedx"] {
        let kind = if format.contains("json") || format == "cyclonedx" {
            Kind::Json
        } else {
            Kind::Text
        };
        out.run(
            &format!("scan --format {format}"),
            &[os("scan"), os(&models1), os("--format"), os(format)],
            kind,
        )?;
    }
    out.run(
        "scan --format hf-readme",
        &[os("scan"), os(&gguf), os("--format"), os("hf-readme")],
        Kind::Text,
    )?;
    out.run(
        "scan --format table --color always",
        &[
            os("scan"),
            os(&models1),
            os("--format"),
            os("table"),
            os("--color"),
            os("always"),
        ],
        Kind::Colour,
    )?;

    // ---- pack: the hostile file name and labels are refused, escaped
    let refused = dir.join("refused.lbom");
    out.run(
        "pack with a control character in an entry name",
        &[os("pack"), os(&gguf), os("--output"), os(&refused)],
        Kind::Text,
    )?;
    out.run(
        "pack --name hostile",
        &[
            os("pack"),
            os(models1.join("hf/config.json")),
            os("--output"),
            os(&refused),
            os("--name"),
            os(bad("manifest_name")?),
            os("--channel"),
            os(bad("manifest_channel")?),
        ],
        Kind::Text,
    )?;

    // ---- the bundles: legal entry names carrying the rest of the text
    let inputs = |models: &Path| -> Res<Vec<PathBuf>> {
        let packed = models.join("packed");
        std::fs::create_dir_all(&packed)?;
        let entry = packed.join(format!("{}.gguf", v("entry_name")?));
        std::fs::copy(&gguf_in(models)?, &entry)?;
        let mut list = vec![entry];
        for f in [
            "model.safetensors",
            "config.json",
            "tokenizer_config.json",
            "tokenizer.json",
        ] {
            list.push(models.join("hf").join(f));
        }
        Ok(list)
    };
    let name = v("bundle_file_name")?;
    let b1 = dir.join(format!("{name}-1.lbom"));
    let b2 = dir.join(format!("{name}-2.lbom"));
    let hinted = dir.join(format!("{name}-hint.lbom"));
    let tooled = dir.join(format!("{name}-tool.lbom"));
    hostile_bundle(
        dir,
        inputs(&models1)?,
        1,
        None,
        &keys,
        Refusable::Nothing,
        &b1,
    )?;
    hostile_bundle(
        dir,
        inputs(&models2)?,
        2,
        Some(b1.clone()),
        &keys,
        Refusable::Nothing,
        &b2,
    )?;
    hostile_bundle(
        dir,
        inputs(&models1)?,
        1,
        None,
        &keys,
        Refusable::Hint,
        &hinted,
    )?;
    hostile_bundle(
        dir,
        inputs(&models1)?,
        1,
        None,
        &keys,
        Refusable::Tool,
        &tooled,
    )?;

    // ---- sign refusals: an illegal note and role
    let copy = dir.join("copy.lbom");
    std::fs::copy(&b1, &copy)?;
    for (what, role, note) in [
        ("note", "transfer".to_owned(), bad("link_note")?),
        ("role", bad("link_role")?, "n".to_owned()),
    ] {
        out.run(
            &format!("sign with a hostile {what}"),
            &[
                os("sign"),
                os(&copy),
                os("--key"),
                os(repo().join("keys/demo-transfer.key")),
                os("--role"),
                os(role),
                os("--note"),
                os(note),
            ],
            Kind::Text,
        )?;
    }

    // ---- inspect, verify
    for (format, kind) in [("text", Kind::Text), ("json", Kind::Json)] {
        for b in [&b1, &hinted, &tooled] {
            out.run(
                &format!("inspect {format}"),
                &[os("inspect"), os(b), os("--format"), os(format)],
                kind,
            )?;
            out.run(
                &format!("verify {format}"),
                &[
                    os("verify"),
                    os(b),
                    os("--policy"),
                    os(&policy),
                    os("--format"),
                    os(format),
                ],
                kind,
            )?;
        }
    }
    let inspected = run_bounded(
        &mut lbom([os("inspect"), os(&b1), os("--format"), os("json")]),
        Duration::from_secs(60),
    )?
    .json()?;
    // JSON keeps exact values: the link note (controls aside, every hidden
    // character) comes back byte for byte once the JSON escapes are decoded.
    let note = v("link_note")?;
    if !holds_string(&inspected, &note) {
        out.problems
            .push("inspect json does not carry the exact link note".into());
    }

    // ---- import twice, then the store commands
    let store = dir.join("store");
    // The second import reports drift, chat template diff included.
    for (i, (b, format)) in [(&b1, "json"), (&b2, "text")].into_iter().enumerate() {
        let run = out.run(
            &format!("import {}", i + 1),
            &[
                os("import"),
                os(b),
                os("--into"),
                os(&store),
                os("--create"),
                os("--policy"),
                os(&policy),
                os("--format"),
                os(format),
            ],
            if format == "json" {
                Kind::Json
            } else {
                Kind::Diff
            },
        )?;
        if run.code() != Some(0) {
            return Err(fail(format!(
                "import {} exited {:?}: {}{}",
                i + 1,
                run.code(),
                run.stderr,
                String::from_utf8_lossy(&run.stdout)
            )));
        }
    }
    let channel = v("manifest_channel")?;
    for (format, kind) in [("text", Kind::Text), ("json", Kind::Json)] {
        out.run(
            &format!("log {format}"),
            &[
                os("log"),
                os(&store),
                os("--channel"),
                os(&channel),
                os("--format"),
                os(format),
            ],
            kind,
        )?;
        for (old, new) in [(&b1, &b2), (&store, &b2)] {
            out.run(
                &format!("diff {format}"),
                &[os("diff"), os(old), os(new), os("--format"), os(format)],
                if kind == Kind::Text { Kind::Diff } else { kind },
            )?;
        }
    }
    out.run(
        "diff markdown",
        &[os("diff"), os(&b1), os(&b2), os("--format"), os("markdown")],
        Kind::Diff,
    )?;
    // Files planted in the store, named by the attacker.
    let version = std::fs::read_dir(store.join(&channel))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        })
        .ok_or_else(|| fail("no version folder in the store"))?;
    std::fs::write(version.join(v("store_planted_file")?), b"planted")?;
    // Audit names what is unexpected at the store root (docs/store.md).
    std::fs::write(store.join(v("store_root_entry")?), b"planted")?;
    for (format, kind) in [("text", Kind::Text), ("json", Kind::Json)] {
        out.run(
            &format!("audit {format}"),
            &[
                os("audit"),
                os(&store),
                os("--all"),
                os("--format"),
                os(format),
            ],
            kind,
        )?;
    }
    out.run(
        "rollback",
        &[
            os("rollback"),
            os(&store),
            os("--channel"),
            os(&channel),
            os("--to"),
            os("1"),
        ],
        Kind::Text,
    )?;

    // ---- errors that quote an argument
    out.run(
        "log of a hostile channel",
        &[
            os("log"),
            os(&store),
            os("--channel"),
            os(bad("log_channel")?),
        ],
        Kind::Text,
    )?;
    out.run(
        "verify of a missing hostile path",
        &[
            os("verify"),
            os(dir.join(v("cli_path")?)),
            os("--policy"),
            os(&policy),
        ],
        Kind::Text,
    )?;
    out.run(
        "import --accept-drift hostile",
        &[
            os("import"),
            os(&b2),
            os("--into"),
            os(&store),
            os("--create"),
            os("--policy"),
            os(&policy),
            os("--accept-drift"),
            os(v("accept_drift_class")?),
        ],
        Kind::Text,
    )?;

    // ---- every field reached an output or a refusal
    for (i, (name, _)) in FIELDS.iter().enumerate() {
        if !out.all_text.contains(&tag(i)) {
            out.problems.push(format!(
                "field {name} ({}) reached no output: wire it up",
                tag(i)
            ));
        }
    }
    if out.problems.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} problems in {} runs:\n{}",
            out.problems.len(),
            out.runs,
            out.problems.join("\n")
        )))
    }
}

/// The hostile-named GGUF the Python writer put in `models`.
fn gguf_in(models: &Path) -> Res<PathBuf> {
    std::fs::read_dir(models)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "gguf"))
        .ok_or_else(|| fail("no gguf written"))
}
