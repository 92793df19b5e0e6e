//! The order of the checks, and the rule that the first failure stops the
//! run (docs/policy.md §9, [P32] and [P33]: nothing is trusted before it is
//! checked). Each stage lives in its own module; this one only sequences
//! them and records what they found.

use crate::io::source::SourceReader;
use std::path::Path;

use super::input::BundleInput;
use super::check::CheckName;
use super::report::{Failure, Outcome, Report};
use super::sides::SideCapture;
use super::verdict::{Step, Verdict};
use super::{ArtifactSink, HashOnly, Policy, Verified, VerifyContext};
use super::source::{self, PartsRead, Retry};
use super::{chain, entries, rules, structure};
use crate::bundle::{BundlePath, Caps};
use crate::inspect::ModelFacts;
use crate::inspect::side::SideFiles;
use crate::limits::Limits;

/// Detail of a check not reached because an earlier one failed.
pub const NOT_CHECKED: &str = "not checked: an earlier check failed";
/// Detail of `store.history` when no channel state was given.
pub const NO_STORE: &str = "no store given";

/// The report being built.
struct Run {
    report: Report,
    has_channel: bool,
}

impl Run {
    /// Record a stage; `None` stops the run.
    fn step<T>(&mut self, name: CheckName, result: Step<T>) -> Option<T> {
        match result {
            Ok((value, verdict)) if !matches!(verdict.outcome, Outcome::Fail(_)) => {
                self.report.push(name, verdict.outcome, verdict.detail);
                Some(value)
            }
            Ok((_, verdict)) | Err(verdict) => {
                // A stage that returns a failure as its value still stops.
                let outcome = match verdict.outcome {
                    Outcome::Fail(f) => Outcome::Fail(f),
                    _ => Outcome::Fail(Failure::Io),
                };
                self.report.push(name, outcome, verdict.detail);
                None
            }
        }
    }

    /// Every check not recorded is skipped, and says why.
    fn finish(mut self) -> Report {
        let done = self.report.checks.len();
        for name in CheckName::verify_checks().skip(done) {
            let detail = if name == CheckName::StoreHistory && !self.has_channel {
                NO_STORE
            } else {
                NOT_CHECKED
            };
            self.report.push(name, Outcome::Skipped, detail);
        }
        self.report
    }
}

/// Check `bundle` (a file, a part set over one or more folders, or a
/// source: [`BundleInput`]; a path converts) against `policy`: every check of [`CheckName::verify_checks`] in order,
/// stopping at the first failure. Verified content streams into `sink` as it
/// is checked (`sink.finish` only after an artifact's digest matched); the
/// caller must discard what the sink received unless the report passed.
/// Returns the report, and on success what the bundle holds.
///
/// A part set is read once in the common case; when that read fails in a
/// way damaged parts could explain, the set is checked and, if parity can
/// rebuild what is damaged or missing, `sink` is restarted and the bundle
/// read again through the repairing reader, the report's
/// `archive.structure` detail saying so (docs/bundle-format.md, section 13,
/// "Repair, join, reading through parts"). A file or a source is read once.
pub fn verify(
    bundle: impl Into<BundleInput>,
    policy: &Policy,
    ctx: &VerifyContext,
    sink: &mut dyn ArtifactSink,
) -> (Report, Option<Verified>) {
    let bundle = &bundle.into();
    let first = verify_read(bundle, policy, ctx, sink, PartsRead::Fast(policy));
    let failure = match first.0.failure() {
        Some(f) if bundle.is_part_set() => f,
        _ => return first,
    };
    let (mut report, verified, note) = match source::second_read(bundle, policy, failure) {
        Retry::Not => return first,
        Retry::Note(note) => (first.0, first.1, note),
        Retry::Repair(parts, note) => match sink.restart() {
            Ok(()) => {
                let (report, verified) =
                    verify_read(bundle, policy, ctx, sink, PartsRead::Checked(&parts));
                (report, verified, note)
            }
            Err(e) => (
                first.0,
                first.1,
                format!("{note}; not read again: the sink could not start over ({e})"),
            ),
        },
    };
    if let Some(check) = report
        .checks
        .iter_mut()
        .find(|c| c.name == CheckName::ArchiveStructure)
    {
        check.detail = format!("{} ({note})", check.detail);
    }
    (report, verified)
}

/// One read of `bundle`: a file, a source, or a part set read as `parts`
/// says.
fn verify_read(
    bundle: &BundleInput,
    policy: &Policy,
    ctx: &VerifyContext,
    sink: &mut dyn ArtifactSink,
    parts: PartsRead<'_>,
) -> (Report, Option<Verified>) {
    let mut run = Run {
        report: Report::default(),
        has_channel: ctx.channel.is_some(),
    };
    let verified = run_stages(&mut run, bundle, policy, ctx, sink, parts);
    let report = run.finish();
    let verified = verified.filter(|_| report.passed());
    (report, verified)
}

/// What [`scan_unverified`] read from a bundle.
#[derive(Debug, Clone)]
pub struct Unverified {
    /// The manifest.
    pub manifest: crate::bundle::Manifest,
    /// The bundle's models, described as `scan` describes a folder
    /// (docs/scan-report.md, "Folder models"), from the artifacts' fresh
    /// scans (taken into them, not copied).
    pub models: Vec<ModelFacts>,
}

/// The bundle's models from its artifacts' scans and side files, within
/// `Limits::folder_context_max_bytes` of what the scans take: past it the
/// bundle fails `entries.digests`, as facts past their limit do
/// (docs/bundle-format.md, "Reader limits").
pub(crate) fn describe(
    facts: Vec<(BundlePath, ModelFacts)>,
    sides: &SideFiles,
    limits: &Limits,
) -> Result<Vec<ModelFacts>, Verdict> {
    let files = facts
        .into_iter()
        .map(|(p, f)| (p.as_str().to_owned(), f))
        .collect();
    let limit = limits.folder_context_max_bytes;
    crate::inspect::delivery::describe_files(files, sides, limit)
        .map_err(|e| Verdict::fail(Failure::Malformed, e.to_string()))
}

/// `entries.digests`, then the bundle's models described from what it
/// found: the description's limit is part of the step. With `keep_facts`
/// (`verify`, `import`: the facts are checked and recorded afterwards) the
/// models are described from copies of the model files' facts alone (the
/// other files are described as scanned: they add nothing), for
/// `policy.findings` to judge what their folders add (a side file's chat
/// template: docs/findings.md, "Chat templates"); otherwise the facts are
/// taken into the models.
fn stream_and_describe(
    opened: &structure::Opened,
    file: &mut SourceReader,
    caps: &Caps,
    jobs: Option<usize>,
    capture: &mut SideCapture<'_>,
    keep_facts: bool,
) -> Step<(entries::Streamed, Vec<ModelFacts>)> {
    let (mut streamed, verdict) = entries::stream(opened, file, caps, jobs, capture)?;
    let models = if keep_facts {
        let model_files: Vec<(BundlePath, ModelFacts)> = streamed
            .facts
            .iter()
            .filter(|(_, f)| crate::inspect::delivery::is_model(f))
            .cloned()
            .collect();
        describe(model_files, &capture.sides, &caps.scan)?
    } else {
        describe(
            std::mem::take(&mut streamed.facts),
            &capture.sides,
            &caps.scan,
        )?
    };
    Ok(((streamed, models), verdict))
}

/// Read a bundle's artifacts for `diff`, without a policy: the archive
/// structure, the manifest, and every entry's digest are checked (a diff of
/// bytes that do not match their manifest would describe nothing real), and
/// each artifact is scanned as `verify` scans it. Signatures are NOT
/// checked: `diff` reports what changed, `verify` whether to trust it. On
/// failure, the report says which check failed. A differential bundle's
/// artifacts are rebuilt from `base` (docs/bundle-format.md §14); without
/// it they are not scanned.
pub fn scan_unverified(
    bundle: &Path,
    caps: &Caps,
    base: Option<std::sync::Arc<dyn crate::bundle::delta::BaseFiles>>,
) -> Result<Unverified, Report> {
    let limits = &caps.read;
    let input = BundleInput::from(bundle);
    let mut run = Run {
        report: Report::default(),
        has_channel: false,
    };
    let mut scan = || {
        let (mut file, walked): (SourceReader, _) = run.step(
            CheckName::ArchiveStructure,
            structure::walk(&input, limits, None),
        )?;
        let mut opened = run.step(
            CheckName::ManifestForm,
            structure::form(bundle, &mut file, walked, limits),
        )?;
        let form = chain::form(&mut opened.bundle, &mut file, limits).map(|()| {
            (
                (),
                Verdict::pass(
                    "every entry after the manifest is a well-formed link (signatures not checked)",
                ),
            )
        });
        run.step(CheckName::ChainLinks, form)?;
        run.step(
            CheckName::AttestationSubjects,
            entries::attestation(&opened.bundle, &mut file, limits),
        )?;
        // A differential bundle's artifacts are rebuilt from `base` when
        // given (docs/bundle-format.md §14).
        let mut sink: Box<dyn ArtifactSink> = match base.clone() {
            Some(b) => Box::new(super::HashWithBase(b)),
            None => Box::new(HashOnly),
        };
        let mut capture = SideCapture::new(sink.as_mut(), caps.scan.clone());
        let (_, models) = run.step(
            CheckName::EntriesDigests,
            stream_and_describe(&opened, &mut file, caps, None, &mut capture, false),
        )?;
        Some(Unverified {
            manifest: opened.bundle.manifest,
            models,
        })
    };
    match scan() {
        Some(found) => Ok(found),
        None => Err(run.report),
    }
}

fn run_stages(
    run: &mut Run,
    bundle: &BundleInput,
    policy: &Policy,
    ctx: &VerifyContext,
    sink: &mut dyn ArtifactSink,
    parts: PartsRead<'_>,
) -> Option<Verified> {
    let (mut file, walked): (SourceReader, _) = run.step(
        CheckName::ArchiveStructure,
        structure::walk(bundle, &ctx.caps.read, Some(parts)),
    )?;
    let mut opened = run.step(
        CheckName::ManifestForm,
        structure::form(bundle.name(), &mut file, walked, &ctx.caps.read),
    )?;
    run.step(
        CheckName::PolicyCaps,
        rules::caps(&opened.bundle.manifest, &policy.caps),
    )?;
    let times = run.step(
        CheckName::ChainLinks,
        chain::links(&mut opened.bundle, &mut file, &ctx.caps.read),
    )?;
    let links = run.step(
        CheckName::ChainSignatures,
        chain::signatures(&opened.bundle, &mut file, &ctx.caps.read, policy),
    )?;
    run.step(CheckName::ChainSigners, chain::signers(&links, policy))?;
    run.step(CheckName::ChainThreshold, chain::threshold(&links, policy))?;
    run.step(
        CheckName::ChainRequiredRoles,
        chain::required_roles(&links, policy),
    )?;
    run.step(
        CheckName::BundleExpiry,
        rules::expiry(&opened, &times, policy, ctx),
    )?;
    run.step(CheckName::BundleAge, rules::age(&opened, policy, ctx))?;
    run.step(CheckName::TrustDemoKey, rules::demo_keys(&links))?;
    run.step(
        CheckName::AttestationSubjects,
        entries::attestation(&opened.bundle, &mut file, &ctx.caps.read),
    )?;
    let mut capture = SideCapture::new(sink, ctx.caps.scan.clone());
    // The description is held to its limit, as `diff` and an import's
    // drift gate will describe the bundle; its models are judged by
    // `policy.findings` (`import` describes the bundle again, from the facts
    // it records: drift_gate).
    let (streamed, described) = run.step(
        CheckName::EntriesDigests,
        stream_and_describe(&opened, &mut file, &ctx.caps, ctx.jobs, &mut capture, true),
    )?;
    run.step(CheckName::SbomConsistent, streamed.sbom.clone().into_step())?;
    run.step(
        CheckName::PolicyFormats,
        rules::formats(&streamed.facts, policy),
    )?;
    run.step(
        CheckName::PolicyLicences,
        rules::licences(&streamed.facts, policy),
    )?;
    run.step(
        CheckName::PolicyFindings,
        rules::findings(&streamed.facts, &described, policy),
    )?;
    if let Some(channel) = &ctx.channel {
        run.step(
            CheckName::StoreHistory,
            rules::history(&opened.bundle, channel, policy),
        )?;
    }
    let bundle = opened.bundle;
    Some(Verified {
        manifest: bundle.manifest,
        manifest_bytes: bundle.manifest_bytes,
        manifest_sha256: bundle.manifest_sha256,
        signers: links.into_iter().map(|l| l.signer).collect(),
        facts: streamed.facts,
        sides: capture.sides,
    })
}
