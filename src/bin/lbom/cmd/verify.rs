//! `lbom verify`.

use std::path::Path;

use lbom::ReadLimits;
use lbom::Store;
use lbom::TextOut;
use lbom::outln;
use lbom::{
    ArtifactSink, BundleInput, ChannelState, HashOnly, HashWithBase, Outcome, Policy, Report,
    Verified, VerifyContext, VerifyDocument,
};

use crate::cli::{ReportFormat, VerifyArgs};
use crate::exit::{self, UsageError};
use crate::output::Output;
use crate::progress::ReadBar;

/// Check a bundle against a policy; print every check; exit with the first
/// failure's code.
pub fn run(args: &VerifyArgs, quiet: bool) -> anyhow::Result<u8> {
    if let Some(reference) = args.bundle.to_str().filter(|s| s.starts_with("oci://")) {
        if let Some(more) = args.more_media.first() {
            return Err(UsageError(format!(
                "an oci:// reference is verified alone; {} is one path too many",
                more.display()
            ))
            .into());
        }
        return super::registry::verify(reference, args, quiet);
    }
    let policy = Policy::load(&args.policy)?;
    if !quiet {
        warn_policy_notes(&policy);
    }
    let input = bundle_input(&args.bundle, &args.more_media, &policy)?;
    let (channel, base) = match &args.store {
        Some(store) => {
            let (state, base) = channel_state(store, &input, &policy)?;
            (Some(state), base)
        }
        None => (None, None),
    };
    let ctx = VerifyContext {
        now: jiff::Timestamp::now(),
        channel,
        caps: lbom::Caps::default(),
        jobs: args.jobs.map(usize::from),
    };
    let mut bar = ReadBar::start(quiet, "verifying", lbom::file_bytes(&args.bundle));
    // A differential bundle is rebuilt from the store's base version;
    // without a store its rebuild is reported unverified.
    let mut sink: Box<dyn ArtifactSink> = match base {
        Some(base) => Box::new(base),
        None => Box::new(HashOnly),
    };
    let (report, verified) = lbom::verify(&input, &policy, &ctx, sink.as_mut());
    bar.finish();
    let code = print_report(args, &policy, &report, verified.as_ref(), |v| {
        format!(
            "VERIFIED {} channel {} sequence {} (manifest sha256 {})",
            v.manifest.name, v.manifest.channel, v.manifest.sequence, v.manifest_sha256
        )
    })?;
    // Text shows each warning on stdout already; JSON readers see them
    // here too.
    if !quiet && args.format == ReportFormat::Json {
        warn_checks(&report);
    }
    Ok(code)
}

/// `report` printed as `args.format` asks (text: every check, then
/// `verified_line` and the signers, or the refusal); its exit code: the
/// first failure's, 0 when all passed.
pub fn print_report(
    args: &VerifyArgs,
    policy: &Policy,
    report: &Report,
    verified: Option<&Verified>,
    verified_line: impl Fn(&Verified) -> String,
) -> anyhow::Result<u8> {
    let code = report
        .failure()
        .map_or(exit::SUCCESS, |f| exit::codes::of(f.class()));
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => {
            let json = VerifyDocument::new(&args.bundle, policy, report, verified, code);
            out.json(&json)?;
        }
        ReportFormat::Text => {
            let mut text = out.text();
            write_checks(report, &mut text, args.verbose)?;
            match verified {
                Some(v) => {
                    outln!(text, "{}", verified_line(v))?;
                    write_signers(&v.signers, &mut text)?;
                }
                None => outln!(text, "{}", refused_line(report, &args.bundle, code))?,
            }
        }
    }
    out.finish()?;
    Ok(code)
}

/// Who signed, one line per verified link.
pub fn write_signers(signers: &[lbom::Signer], w: &mut TextOut<'_>) -> std::io::Result<()> {
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

/// What the paths of `verify` and `import` name: one bundle file, or one
/// part set over one folder or several (media, in any order), refused
/// before anything is read when they name several files, a mix, or two
/// trusted part sets (docs/bundle-format.md, section 13, [B84]).
pub fn bundle_input(
    first: &Path,
    more: &[std::path::PathBuf],
    policy: &Policy,
) -> anyhow::Result<BundleInput> {
    let paths: Vec<std::path::PathBuf> = std::iter::once(first.to_path_buf())
        .chain(more.iter().cloned())
        .collect();
    let input = BundleInput::from_paths(&paths)?;
    input.check_one_set(policy)?;
    Ok(input)
}

/// The state of the bundle's channel in `store` (read without the lock:
/// reading needs none, docs/store.md). The channel comes from the bundle's
/// manifest, read without trust: verify checks the same manifest later, and
/// a bundle naming another channel only compares against that one. A
/// differential bundle's base must be the channel's current version
/// (docs/bundle-format.md [B80]); its files are what the rebuild reads.
fn channel_state(
    store: &Path,
    bundle: &BundleInput,
    policy: &Policy,
) -> anyhow::Result<(ChannelState, Option<HashWithBase>)> {
    let store = Store::open(store)?;
    let limits = ReadLimits::default();
    let manifest = match bundle {
        BundleInput::File(path) => lbom::read_manifest(path, &limits)?,
        set_or_source => lbom::peek_manifest(set_or_source, policy, &limits)?.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the part set's bundle has no readable manifest",
                set_or_source.name().display()
            )
        })?,
    };
    let channel = &manifest.channel;
    let base = match &manifest.base {
        Some(b) => Some(HashWithBase(std::sync::Arc::new(
            store.base_files(channel, b)?,
        ))),
        None => None,
    };
    Ok((store.channel_state(channel)?, base))
}

/// What the operator should know about the policy (a trusted demo key, one
/// key for several required roles, a key listed twice: docs/policy.md,
/// section 5), on stderr before the report.
pub fn warn_policy_notes(policy: &Policy) {
    for n in policy.notes() {
        let kind = match n {
            lbom::policy::PolicyNote::DemoKey { .. } => "warning",
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
