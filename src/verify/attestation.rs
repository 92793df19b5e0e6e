//! `attestation.subjects`: the attestation's bytes match the manifest, it
//! is an in-toto Statement v1 with a SLSA provenance v1 predicate, and its
//! subjects are exactly the manifest's artifacts (path and SHA-256), each
//! once (docs/bundle-format.md [B28], [B29]).
//!
//! The attestation may be as large as [`ReadLimits::max_attestation_bytes`];
//! its subjects are checked one at a time as they are parsed, against one
//! table of the manifest's artifacts, and the predicate is skipped unread:
//! nothing is built per subject, so a subject list of any length costs the
//! table and one subject (docs/bundle-format.md, "Reader limits").

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;

use serde::Deserialize;
use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::entries::{check_small, integrity, read_small};
use super::report::Failure;
use super::run::{Step, Verdict};
use crate::bundle::{OpenBundle, ReadLimits, Role, layout};
use crate::inspect::digest::Sha256Digest;

/// The statement's types; its subjects and predicate are skipped here.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "_type")]
    statement_type: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[allow(dead_code, reason = "required by the format; read by the second pass")]
    subject: IgnoredAny,
    #[allow(
        dead_code,
        reason = "required by the format; its content is not checked here"
    )]
    predicate: IgnoredAny,
}

/// One subject: its name and its SHA-256 (other algorithms are skipped).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Subject {
    name: String,
    digest: DigestSet,
}

/// The `sha256` member of a subject's digest set, if it is one string.
struct DigestSet(Option<String>);

impl<'de> Deserialize<'de> for DigestSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DigestSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a digest set")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DigestSet, A::Error> {
                let mut sha256 = None;
                while let Some(alg) = map.next_key::<String>()? {
                    if alg == "sha256" {
                        if sha256.is_some() {
                            return Err(A::Error::custom("digest sha256 given twice"));
                        }
                        sha256 = Some(map.next_value::<String>()?);
                    } else {
                        map.next_value::<String>()?;
                    }
                }
                Ok(DigestSet(sha256))
            }
        }
        d.deserialize_map(V)
    }
}

/// Each artifact path: its manifest digest and whether a subject named it.
type Artifacts = BTreeMap<String, (Sha256Digest, bool)>;

/// Checks each subject as it is parsed; the first problem stops the parse
/// and is kept here (a JSON error alone means the document is malformed).
struct Checker<'a> {
    artifacts: &'a RefCell<Artifacts>,
    problem: &'a RefCell<Option<Verdict>>,
}

impl Checker<'_> {
    fn subject(&self, s: Subject) -> Result<(), Verdict> {
        let shown = || crate::describe::text::visible(&s.name);
        let digest = s
            .digest
            .0
            .as_deref()
            .and_then(|d| d.parse::<Sha256Digest>().ok())
            .ok_or_else(|| {
                malformed(format!("subject {:?} has no valid sha256 digest", shown()))
            })?;
        let mut artifacts = self.artifacts.borrow_mut();
        match artifacts.get_mut(&s.name) {
            None => Err(integrity(format!(
                "the attestation names {:?}, which is not an artifact of the bundle",
                shown()
            ))),
            Some((_, true)) => Err(integrity(format!(
                "the attestation names subject {:?} twice",
                shown()
            ))),
            Some((want, seen)) => {
                if digest != *want {
                    return Err(integrity(format!(
                        "the attestation gives {} SHA-256 {digest}, the manifest {want}",
                        shown()
                    )));
                }
                *seen = true;
                Ok(())
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for &Checker<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &Checker<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a statement with a list of subjects")
    }
    /// The statement: only `subject` is read.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "subject" {
                map.next_value_seed(Subjects(self))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The subject list, one subject at a time.
struct Subjects<'c, 'a>(&'c Checker<'a>);

impl<'de> DeserializeSeed<'de> for Subjects<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Subjects<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of subjects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(s) = seq.next_element::<Subject>()? {
            if let Err(verdict) = self.0.subject(s) {
                *self.0.problem.borrow_mut() = Some(verdict);
                return Err(A::Error::custom("subject refused"));
            }
        }
        Ok(())
    }
}

fn malformed(why: String) -> Verdict {
    Verdict::fail(
        Failure::Malformed,
        format!("{}: {why}", layout::ATTESTATION),
    )
}

/// `attestation.subjects` (see the module docs). Its bytes are not kept:
/// the sink gets them read again once everything passed.
pub(crate) fn attestation(bundle: &OpenBundle, file: &mut File, limits: &ReadLimits) -> Step<()> {
    let found = bundle
        .manifest
        .entries
        .iter()
        .zip(&bundle.layout.entries)
        .find(|(m, _)| m.role == Role::Attestation);
    let Some((m, t)) = found else {
        return Err(Verdict::fail(
            Failure::Malformed,
            "the bundle has no attestation",
        ));
    };
    let bytes = read_small(bundle, file, t, limits.max_attestation_bytes)?;
    check_small(m, &bytes)?;
    let head: Head = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
    if head.statement_type != layout::STATEMENT_TYPE
        || head.predicate_type != layout::SLSA_PROVENANCE
    {
        return Err(malformed(format!(
            "not an in-toto Statement v1 with predicate type {}",
            layout::SLSA_PROVENANCE
        )));
    }
    let artifacts: Artifacts = bundle
        .manifest
        .entries
        .iter()
        .filter_map(|e| Some((e.artifact_path()?.as_str().to_owned(), (e.sha256, false))))
        .collect();
    let artifacts = RefCell::new(artifacts);
    let problem = RefCell::new(None);
    let checker = Checker {
        artifacts: &artifacts,
        problem: &problem,
    };
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let parsed = (&checker).deserialize(&mut de);
    if let Some(verdict) = problem.into_inner() {
        return Err(verdict);
    }
    parsed.map_err(|e| malformed(e.to_string()))?;
    let artifacts = artifacts.into_inner();
    if let Some((name, _)) = artifacts.iter().find(|(_, (_, seen))| !seen) {
        return Err(integrity(format!(
            "the attestation does not name artifact {name}"
        )));
    }
    let detail = format!(
        "in-toto Statement v1 (SLSA provenance v1) names exactly the {} artifact(s) of the manifest",
        artifacts.len()
    );
    Ok(((), Verdict::pass(detail)))
}
