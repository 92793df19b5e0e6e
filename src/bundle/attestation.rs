//! The pack attestation (docs/bundle-format.md §6): an in-toto Statement v1
//! over the artifacts with a SLSA provenance v1 predicate, whose every value
//! but one (`compress`) follows from the manifest.
//!
//! The writer and the reader share one set of types, so what the reader
//! accepts is exactly what the writer can produce: a document that parses
//! into these types (every field present, none unknown), re-serialises to
//! the bytes read, and equals the document derived from the manifest
//! ([B28], [B29], [B55]).

use serde::{Deserialize, Serialize};

use super::layout;
use super::manifest::{Encoding, Form, Manifest, Previous, check_written_form, parse_time};
use crate::io::digest::Sha256Digest;

/// One subject (and one resolved dependency): an artifact path and its
/// SHA-256, the only digest algorithm the format writes or accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The artifact path.
    pub name: String,
    /// Its digests.
    pub digest: SubjectDigest,
}

/// A subject's digests: SHA-256 only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectDigest {
    /// Lowercase hex.
    pub sha256: Sha256Digest,
}

/// The pack parameters a signer can check against the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalParameters {
    /// The manifest's `name`.
    pub name: String,
    /// The manifest's `channel`.
    pub channel: String,
    /// The manifest's `sequence`.
    pub sequence: u64,
    /// The manifest's `previous` (`null` for none; present either way).
    #[serde(deserialize_with = "present")]
    pub previous: Option<Previous>,
    /// The manifest's `expires` (`null` for none; present either way).
    #[serde(deserialize_with = "present")]
    pub expires: Option<String>,
    /// The `--compress` option: `auto`, `none` or `zstd:1` … `zstd:19`.
    pub compress: String,
}

/// A field that must be present but may be `null` (serde would otherwise
/// take a missing `Option` as `None`).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildDefinition {
    #[serde(rename = "buildType")]
    build_type: String,
    #[serde(rename = "externalParameters")]
    external_parameters: ExternalParameters,
    #[serde(rename = "resolvedDependencies")]
    resolved_dependencies: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Builder {
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[serde(rename = "startedOn")]
    started_on: String,
    #[serde(rename = "finishedOn")]
    finished_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunDetails {
    builder: Builder,
    metadata: Metadata,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Provenance {
    #[serde(rename = "buildDefinition")]
    build_definition: BuildDefinition,
    #[serde(rename = "runDetails")]
    run_details: RunDetails,
}

/// The whole statement, fields in the order written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Provenance,
}

impl Statement {
    /// Compact JSON and a final LF.
    fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain strings and numbers cannot fail.
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// Everything the attestation says, given by the writer.
#[derive(Debug, Clone)]
pub struct AttestationFacts<'a> {
    /// The artifacts in bundle order: artifact path and SHA-256.
    pub subjects: Vec<Subject>,
    /// The pack parameters.
    pub parameters: ExternalParameters,
    /// The manifest's `created`.
    pub created: &'a str,
    /// The manifest's `tool`: `name@version` ends the builder id.
    pub tool_name: &'a str,
    /// See `tool_name`.
    pub tool_version: &'a str,
}

impl AttestationFacts<'_> {
    fn statement(&self) -> Statement {
        Statement {
            statement_type: layout::STATEMENT_TYPE.to_owned(),
            subject: self.subjects.clone(),
            predicate_type: layout::SLSA_PROVENANCE.to_owned(),
            predicate: Provenance {
                build_definition: BuildDefinition {
                    build_type: layout::BUILD_TYPE.to_owned(),
                    external_parameters: self.parameters.clone(),
                    resolved_dependencies: self.subjects.clone(),
                },
                run_details: RunDetails {
                    builder: Builder {
                        id: format!(
                            "{}{}@{}",
                            layout::BUILDER_ID_PREFIX,
                            self.tool_name,
                            self.tool_version
                        ),
                    },
                    metadata: Metadata {
                        started_on: self.created.to_owned(),
                        finished_on: self.created.to_owned(),
                    },
                },
            },
        }
    }

    /// The attestation's bytes: compact JSON in the order of §6 and a final LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.statement().to_bytes()
    }
}

/// A subject as the attestation names an artifact.
pub fn subject(name: &str, sha256: Sha256Digest) -> Subject {
    Subject {
        name: name.to_owned(),
        digest: SubjectDigest { sha256 },
    }
}

/// Why an attestation is refused: its form (exit 3) or its agreement with
/// the manifest (exit 4), as docs/policy.md §9 names them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// Not the statement of §6: not JSON, a field missing, unknown or of
    /// the wrong type, a constant (`_type`, `predicateType`, `buildType`,
    /// `compress`) outside the format, or not in its one byte form.
    #[error("{0}")]
    Form(String),
    /// A well-formed statement that says something other than the manifest.
    #[error("{0}")]
    Disagrees(String),
}

/// The values `compress` may take: `auto`, `none`, `zstd:1` … `zstd:19`
/// (the level in decimal without leading zeros).
fn compress_ok(text: &str) -> bool {
    matches!(text, "auto" | "none")
        || text
            .strip_prefix("zstd:")
            .is_some_and(|l| (1..=19).any(|n: u8| n.to_string() == l))
}

/// Check an attestation's bytes against the manifest (docs/bundle-format.md
/// §6): its form first, then that it is exactly the document the manifest
/// and its own `compress` value give.
pub fn check(bytes: &[u8], manifest: &Manifest) -> Result<(), AttestationError> {
    let form = |why: String| AttestationError::Form(format!("{}: {why}", layout::ATTESTATION));
    let read: Statement = serde_json::from_slice(bytes).map_err(|e| form(e.to_string()))?;
    if read.statement_type != layout::STATEMENT_TYPE
        || read.predicate_type != layout::SLSA_PROVENANCE
        || read.predicate.build_definition.build_type != layout::BUILD_TYPE
    {
        return Err(form(format!(
            "not an in-toto Statement v1 with predicate type {} and build type {}",
            layout::SLSA_PROVENANCE,
            layout::BUILD_TYPE
        )));
    }
    let compress = &read.predicate.build_definition.external_parameters.compress;
    if !compress_ok(compress) {
        return Err(form(format!(
            "compress {:?} is not auto, none or zstd:1 to zstd:19",
            crate::safe::visible(compress)
        )));
    }
    // Times are part of the form, as in the manifest ([B53]): a value that
    // is no time is malformed, not merely another time.
    let parameters = &read.predicate.build_definition.external_parameters;
    let metadata = &read.predicate.run_details.metadata;
    for (field, value) in [
        ("startedOn", Some(&metadata.started_on)),
        ("finishedOn", Some(&metadata.finished_on)),
        ("expires", parameters.expires.as_ref()),
    ] {
        if let Some(text) = value
            && parse_time(text).is_none()
        {
            return Err(form(format!(
                "{field} {:?} is not a time of the form YYYY-MM-DDTHH:MM:SSZ",
                crate::safe::shorten(text, 64)
            )));
        }
    }
    check_written_form(layout::ATTESTATION, &read, Form::Compact, bytes)
        .map_err(AttestationError::Form)?;
    let want = derived(manifest, compress).statement();
    let disagrees =
        |d: String| AttestationError::Disagrees(format!("{}: {d}", layout::ATTESTATION));
    if let Some(d) = first_difference(&want, &read) {
        return Err(disagrees(d));
    }
    if !compress_matches(manifest, compress) {
        return Err(disagrees(format!(
            "compress {compress:?} does not match the artifacts' encodings in the manifest"
        )));
    }
    Ok(())
}

/// The attestation the manifest gives, with `compress` as read.
pub(crate) fn derived<'m>(manifest: &'m Manifest, compress: &str) -> AttestationFacts<'m> {
    AttestationFacts {
        subjects: manifest
            .entries
            .iter()
            .filter_map(|e| Some(subject(e.artifact_path()?.as_str(), e.sha256)))
            .collect(),
        parameters: ExternalParameters {
            name: manifest.name.clone(),
            channel: manifest.channel.clone(),
            sequence: manifest.sequence,
            previous: manifest.previous.clone(),
            expires: manifest.expires.clone(),
            compress: compress.to_owned(),
        },
        created: &manifest.created,
        tool_name: &manifest.tool.name,
        tool_version: &manifest.tool.version,
    }
}

/// What the read statement says differently from the derived one, in one
/// sentence; `None` when they are equal.
fn first_difference(want: &Statement, read: &Statement) -> Option<String> {
    if let Some(d) = subjects_differ("subject", &want.subject, &read.subject) {
        return Some(d);
    }
    let (w, r) = (&want.predicate, &read.predicate);
    if let Some(d) = subjects_differ(
        "resolvedDependencies",
        &w.build_definition.resolved_dependencies,
        &r.build_definition.resolved_dependencies,
    ) {
        return Some(d);
    }
    let (wp, rp) = (
        &w.build_definition.external_parameters,
        &r.build_definition.external_parameters,
    );
    if wp != rp {
        return Some("externalParameters differ from the manifest's name, channel, sequence, previous or expires".into());
    }
    if w.run_details.builder != r.run_details.builder {
        return Some(format!(
            "builder id {:?} is not {:?} (the manifest's tool)",
            crate::safe::visible(&r.run_details.builder.id),
            w.run_details.builder.id
        ));
    }
    if w.run_details.metadata != r.run_details.metadata {
        return Some("startedOn and finishedOn are not the manifest's created".into());
    }
    if want != read {
        return Some("differs from the document the manifest gives".into());
    }
    None
}

/// Subjects must be the artifacts, in bundle order, each once.
fn subjects_differ(what: &str, want: &[Subject], read: &[Subject]) -> Option<String> {
    let shown = |s: &Subject| crate::safe::visible(&s.name);
    for (i, (w, r)) in want.iter().zip(read).enumerate() {
        if w.name != r.name {
            return Some(format!(
                "{what} {} is {:?} where the manifest's artifact {} is {:?} (artifacts, in bundle order, each once)",
                i + 1,
                shown(r),
                i + 1,
                w.name
            ));
        }
        if w.digest != r.digest {
            return Some(format!(
                "{what} {:?} has SHA-256 {}, the manifest {}",
                w.name, r.digest.sha256, w.digest.sha256
            ));
        }
    }
    match (want.get(read.len()), read.get(want.len())) {
        (Some(missing), _) => Some(format!("{what} does not name artifact {:?}", missing.name)),
        (_, Some(extra)) => Some(format!(
            "{what} names {:?}, which is not an artifact of the bundle (or names one twice)",
            shown(extra)
        )),
        _ => None,
    }
}

/// `compress` against the encodings the manifest records: `none` stores
/// every artifact raw and `zstd:L` every one zstd; `auto` may do either.
/// A differential bundle's delta entries are neither: `compress` speaks of
/// the whole files it ships (docs/bundle-format.md [B76]).
pub fn compress_matches(manifest: &Manifest, compress: &str) -> bool {
    let artifacts = manifest
        .entries
        .iter()
        .filter(|e| e.artifact_path().is_some() && e.encoding != Encoding::Delta);
    match compress {
        "none" => artifacts.clone().all(|e| e.encoding == Encoding::Raw),
        "auto" => true,
        _ => artifacts.clone().all(|e| e.encoding == Encoding::Zstd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::manifest::{ManifestEntry, Role, Tool};
    use crate::bundle::path::BundlePath;

    fn manifest() -> Result<Manifest, Box<dyn std::error::Error>> {
        let artifact =
            |p: &str, encoding: Encoding| -> Result<ManifestEntry, Box<dyn std::error::Error>> {
                let sha256 = Sha256Digest::of(p.as_bytes());
                Ok(ManifestEntry {
                    path: BundlePath::new(p)?,
                    role: Role::Artifact,
                    size: 1,
                    sha256,
                    encoding,
                    stored_size: 1,
                    stored_sha256: Some(sha256),
                })
            };
        Ok(Manifest {
            schema: layout::MANIFEST_SCHEMA.into(),
            name: "n".into(),
            channel: "c".into(),
            sequence: 2,
            previous: Some(Previous {
                sequence: 1,
                manifest_sha256: Sha256Digest::of(b"1"),
            }),
            base: None,
            created: "2026-01-01T00:00:00Z".into(),
            expires: None,
            tool: Tool {
                name: "lbom".into(),
                version: "0.1.0".into(),
            },
            entries: vec![
                artifact("artifacts/a.json.zst", Encoding::Zstd)?,
                artifact("artifacts/b.bin", Encoding::Raw)?,
            ],
        })
    }

    fn value(m: &Manifest) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&derived(m, "auto").to_bytes())
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        let mut b = serde_json::to_vec(v).unwrap_or_default();
        b.push(b'\n');
        b
    }

    /// docs/bundle-format.md [B76]: a differential's delta entries are
    /// neither raw nor zstd; `compress` judges the others only.
    #[test]
    fn delta_entries_do_not_count_against_compress() -> Result<(), Box<dyn std::error::Error>> {
        let mut m = manifest()?;
        m.entries[0].encoding = Encoding::Delta;
        m.entries[0].path = BundlePath::new("artifacts/a.json.dlt")?;
        assert!(m.entries[0].artifact_path().is_some());
        assert!(compress_matches(&m, "none"));
        assert!(!compress_matches(&m, "zstd:3"));
        m.entries[1].encoding = Encoding::Zstd;
        m.entries[1].path = BundlePath::new("artifacts/b.bin.zst")?;
        assert!(compress_matches(&m, "zstd:3"));
        assert!(!compress_matches(&m, "none"));
        Ok(())
    }

    /// docs/bundle-format.md [B55]: what the manifest gives passes; each
    /// other attestation is refused as malformed (exit 3) or as
    /// disagreeing with the manifest (exit 4), as §6 lists them.
    #[test]
    fn the_attestation_is_exactly_what_the_manifest_gives() -> Result<(), Box<dyn std::error::Error>>
    {
        let m = manifest()?;
        let good = value(&m)?;
        assert_eq!(check(&bytes(&good), &m), Ok(()));
        type Edit = fn(&mut serde_json::Value);
        let form: [(&str, Edit); 6] = [
            ("second digest algorithm", |v| {
                v["subject"][0]["digest"]["sha512"] = "00".into();
            }),
            ("predicate type", |v| {
                v["predicateType"] = "https://slsa.dev/provenance/v0.2".into();
            }),
            ("build type", |v| {
                v["predicate"]["buildDefinition"]["buildType"] = "x".into();
            }),
            ("compress zstd:20", |v| {
                v["predicate"]["buildDefinition"]["externalParameters"]["compress"] =
                    "zstd:20".into();
            }),
            ("previous left out", |v| {
                if let Some(p) =
                    v["predicate"]["buildDefinition"]["externalParameters"].as_object_mut()
                {
                    p.shift_remove("previous");
                }
            }),
            ("upper-case digest", |v| {
                let d = v["subject"][0]["digest"]["sha256"]
                    .as_str()
                    .unwrap_or("")
                    .to_uppercase();
                v["subject"][0]["digest"]["sha256"] = d.into();
            }),
        ];
        let disagrees: [(&str, Edit); 8] = [
            ("subjects reordered", |v| {
                if let Some(s) = v["subject"].as_array_mut() {
                    s.reverse();
                }
            }),
            ("subject twice", |v| {
                let first = v["subject"][0].clone();
                if let Some(s) = v["subject"].as_array_mut() {
                    s.push(first);
                }
            }),
            ("subject missing", |v| {
                if let Some(s) = v["subject"].as_array_mut() {
                    s.pop();
                }
            }),
            ("other digest", |v| {
                v["subject"][1]["digest"]["sha256"] = "00".repeat(32).into();
            }),
            ("dependencies differ", |v| {
                if let Some(s) =
                    v["predicate"]["buildDefinition"]["resolvedDependencies"].as_array_mut()
                {
                    s.pop();
                }
            }),
            ("sequence differs", |v| {
                v["predicate"]["buildDefinition"]["externalParameters"]["sequence"] = 3.into();
            }),
            ("builder differs", |v| {
                v["predicate"]["runDetails"]["builder"]["id"] = "urn:lbom:builder:lbom@9".into();
            }),
            ("compress none with a zstd artifact", |v| {
                v["predicate"]["buildDefinition"]["externalParameters"]["compress"] = "none".into();
            }),
        ];
        for (what, edit) in form {
            let mut v = good.clone();
            edit(&mut v);
            assert!(
                matches!(check(&bytes(&v), &m), Err(AttestationError::Form(_))),
                "{what}: {:?}",
                check(&bytes(&v), &m)
            );
        }
        for (what, edit) in disagrees {
            let mut v = good.clone();
            edit(&mut v);
            assert!(
                matches!(check(&bytes(&v), &m), Err(AttestationError::Disagrees(_))),
                "{what}: {:?}",
                check(&bytes(&v), &m)
            );
        }
        // The same document in another byte form is malformed.
        let pretty = serde_json::to_vec_pretty(&good)?;
        assert!(matches!(check(&pretty, &m), Err(AttestationError::Form(_))));
        Ok(())
    }

    #[test]
    fn compress_values() {
        for ok in ["auto", "none", "zstd:1", "zstd:3", "zstd:19"] {
            assert!(compress_ok(ok), "{ok}");
        }
        for bad in [
            "zstd", "zstd:0", "zstd:20", "zstd:03", "zstd:+3", "Auto", "",
        ] {
            assert!(!compress_ok(bad), "{bad}");
        }
    }
}
