//! `lbom verify`.

use std::path::Path;

use lbom::bundle::ReadLimits;
use lbom::import::Store;
use lbom::outln;
use lbom::safe::TextOut;
use lbom::verify::{
    ArtifactSink, ChannelState, HashOnly, HashWithBase, Outcome, Policy, Report, VerifyContext,
    VerifyDocument,
};

use crate::cli::{ReportFormat, VerifyArgs};
use crate::exit;
use crate::output::Output;
use crate::progress::ReadBar;

/// Check a bundle against a policy; print every check; exit with the first
/// failure's code.
pub fn run(args: &VerifyArgs, quiet: bool) -> anyhow::Result<u8> {
    let policy = Policy::load(&args.policy)?;
    if !quiet {
        warn_policy_notes(&policy);
    }
    let (channel, base) = match &args.store {
        Some(store) => {
            let (state, base) = channel_state(store, &args.bundle)?;
            (Some(state), base)
        }
        None => (None, None),
    };
    let ctx = VerifyContext {
        now: jiff::Timestamp::now(),
        channel,
        caps: lbom::bundle::Caps::default(),
        jobs: None,
    };
    let mut bar = ReadBar::start(quiet, "verifying", lbom::progress::file_bytes(&args.bundle));
    // A differential bundle is rebuilt from the store's base version;
    // without a store its rebuild is reported unverified.
    let mut sink: Box<dyn ArtifactSink> = match base {
        Some(base) => Box::new(HashWithBase(base)),
        None => Box::new(HashOnly),
    };
    let (report, verified) = lbom::verify::verify(&args.bundle, &policy, &ctx, sink.as_mut());
    bar.finish();
    let code = report
        .failure()
        .map_or(exit::SUCCESS, |f| exit::codes::of(f.class()));
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => {
            let json = VerifyDocument::new(&args.bundle, &policy, &report, verified.as_ref(), code);
            out.json(&json)?;
        }
        ReportFormat::Text => {
            let mut text = out.text();
            write_checks(&report, &mut text, args.verbose)?;
            match &verified {
                Some(v) => {
                    outln!(
                        text,
                        "VERIFIED {} channel {} sequence {} (manifest sha256 {})",
                        v.manifest.name,
                        v.manifest.channel,
                        v.manifest.sequence,
                        v.manifest_sha256
                    )?;
                    write_signers(&v.signers, &mut text)?;
                }
                None => outln!(text, "{}", refused_line(&report, &args.bundle, code))?,
            }
        }
    }
    out.finish()?;
    // Text shows each warning on stdout already; JSON readers see them
    // here too.
    if !quiet && args.format == ReportFormat::Json {
        warn_checks(&report);
    }
    Ok(code)
}

/// Who signed, one line per verified link.
pub fn write_signers(signers: &[lbom::verify::Signer], w: &mut TextOut<'_>) -> std::io::Result<()> {
    for s in signers {
        outln!(
            w,
            "signed    #{} {} by {} ({}) at {}{}",
            s.index,
            s.role,
            s.key_name.as_deref().unwrap_or("an unlisted key"),
            s.key_id,
            s.time,
            s.note
                .as_deref()
                .map(|n| format!(", note {n:?}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// The one line that says why a bundle was refused.
pub fn refused_line(report: &Report, bundle: &Path, code: u8) -> String {
    let failed = report
        .checks
        .iter()
        .find(|c| matches!(c.outcome, Outcome::Fail(_)));
    match failed {
        Some(c) => format!(
            "REFUSED {}: {} failed: {} (exit {code})",
            bundle.display(),
            c.name,
            c.detail
        ),
        None => format!("REFUSED {} (exit {code})", bundle.display()),
    }
}

/// The state of the bundle's channel in `store` (read without the lock:
/// reading needs none, docs/store.md). The channel comes from the bundle's
/// manifest, read without trust: verify checks the same manifest later, and
/// a bundle naming another channel only compares against that one. A
/// differential bundle's base must be the channel's current version
/// (docs/bundle-format.md [B80]); its files are what the rebuild reads.
fn channel_state(store: &Path, bundle: &Path) -> anyhow::Result<(ChannelState, Option<BaseArc>)> {
    let store = Store::open(store)?;
    let opened = lbom::bundle::open(bundle, &ReadLimits::default())?;
    let channel = &opened.manifest.channel;
    let base: Option<BaseArc> = match &opened.manifest.base {
        Some(b) => Some(std::sync::Arc::new(store.base_files(channel, b)?)),
        None => None,
    };
    Ok((store.channel_state(channel)?, base))
}

type BaseArc = std::sync::Arc<dyn lbom::bundle::delta::BaseFiles>;

/// What the operator should know about the policy (a trusted demo key, one
/// key for several required roles, a key listed twice: docs/policy.md,
/// section 5), on stderr before the report.
pub fn warn_policy_notes(policy: &Policy) {
    for n in policy.notes() {
        let kind = match n {
            lbom::verify::policy::PolicyNote::DemoKey { .. } => "warning",
            _ => "note",
        };
        note!("lbom: {kind}: policy {}: {n}", policy.source.path.display());
    }
}

/// Print each warning of the report on stderr too, where an operator
/// reading only `--format json` on stdout still sees it.
pub fn warn_checks(report: &Report) {
    for c in report.warnings() {
        note!("lbom: warning: {}: {}", c.name, c.detail);
    }
}

/// One line per check made: status, name, detail; the checks a failure
/// left unmade (`skip`) only when `verbose`.
pub fn write_checks(report: &Report, w: &mut TextOut<'_>, verbose: bool) -> std::io::Result<()> {
    for c in &report.checks {
        if c.outcome == Outcome::Skipped && !verbose {
            continue;
        }
        let status = match c.outcome {
            Outcome::Pass => "pass",
            Outcome::Warn => "WARN",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skipped => "skip",
        };
        outln!(w, "{status:<4}  {:<22} {}", c.name, c.detail)?;
    }
    Ok(())
}
