//! `lbom push`, `lbom pull`, `lbom export --oci-layout` and
//! `lbom verify oci://…` (docs/registry.md): each one library call of
//! `lbom::registry`, rendered.

use lbom::oci::{ClientOptions, Reference};
use lbom::outln;
use lbom::{ImportDocument, ImportOptions, ImportOutcome};
use lbom::{Policy, VerifyContext};

use crate::cli::{ExportArgs, PullArgs, PushArgs, RegistryArgs, ReportFormat, VerifyArgs};
use crate::exit;
use crate::output::Output;

fn client_options(args: &RegistryArgs) -> ClientOptions {
    ClientOptions {
        insecure_http: args.insecure_http,
        tls_on_loopback: args.tls,
        ca_file: args.ca_file.clone(),
        docker_config: args.docker_config.clone(),
    }
}

/// `lbom push`.
pub fn push(args: &PushArgs) -> anyhow::Result<u8> {
    let reference = Reference::parse(&args.reference)?;
    let pushed = lbom::oci::push(
        &args.store,
        &args.channel,
        args.version,
        &reference,
        &client_options(&args.registry),
        args.jobs.map(usize::from),
    )?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => out.json(&pushed)?,
        ReportFormat::Text => {
            let mut text = out.text();
            outln!(
                text,
                "PUSHED channel {} version {} to {} ({}); {} blob(s) uploaded ({} bytes), {} already there; {} referrer(s){}",
                pushed.channel,
                pushed.sequence,
                pushed.reference,
                pushed.digest,
                pushed.uploaded,
                pushed.uploaded_bytes,
                pushed.skipped,
                pushed.referrers.len(),
                if pushed.referrers_tag {
                    " listed under the referrers tag"
                } else {
                    ""
                }
            )?;
        }
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}

/// `lbom export --oci-layout`.
pub fn export(args: &ExportArgs) -> anyhow::Result<u8> {
    let done = lbom::oci::export_layout(
        &args.store,
        &args.channel,
        args.version,
        args.tag.as_deref(),
        &args.oci_layout,
    )?;
    let mut out = Output::open(None)?;
    let mut text = out.text();
    outln!(
        text,
        "EXPORTED {} as {} into {} ({} blob(s))",
        done.digest,
        done.tag,
        args.oci_layout.display(),
        done.blobs
    )?;
    out.finish()?;
    Ok(exit::SUCCESS)
}

/// `lbom verify oci://…`.
pub fn verify(reference: &str, args: &VerifyArgs, quiet: bool) -> anyhow::Result<u8> {
    let reference = Reference::parse(reference)?;
    let policy = Policy::load(&args.policy)?;
    if !quiet {
        super::verify::warn_policy_notes(&policy);
    }
    let context = VerifyContext {
        now: jiff::Timestamp::now(),
        channel: None,
        caps: lbom::Caps::default(),
        jobs: None,
    };
    let (fetched, report, verified) = lbom::oci::verify_remote(
        &reference,
        &client_options(&args.registry),
        &policy,
        &context,
    )?;
    super::verify::print_report(args, &policy, &report, verified.as_ref(), |v| {
        format!(
            "VERIFIED {reference} ({}): {} channel {} sequence {}; station receipt by {}",
            format_args!("sha256:{}", fetched.digest),
            v.manifest.name,
            v.manifest.channel,
            v.manifest.sequence,
            fetched.receipt.station
        )
    })
}

/// `lbom pull`.
pub fn pull(args: &PullArgs, quiet: bool) -> anyhow::Result<u8> {
    let reference = Reference::parse(&args.reference)?;
    let policy = Policy::load(&args.policy)?;
    if !quiet {
        super::verify::warn_policy_notes(&policy);
    }
    let options = ImportOptions {
        now: jiff::Timestamp::now(),
        caps: lbom::Caps::default(),
        jobs: None,
        accepted_drift: args.accept_drift.clone(),
        receipt_key: None,
        create_store: args.create,
    };
    let (fetched, outcome) = lbom::oci::pull(
        &reference,
        &client_options(&args.registry),
        &policy,
        &args.into,
        &options,
    )?;
    let (report, code) = match &outcome {
        ImportOutcome::Refused { report, .. } => (
            report,
            exit::codes::of(report.failure().map_or(lbom::Class::Io, |f| f.class())),
        ),
        ImportOutcome::Imported { report, .. } => (report, exit::SUCCESS),
    };
    let source = std::path::PathBuf::from(reference.to_string());
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => {
            let json = ImportDocument::new(&source, &args.into, &outcome, code);
            out.json(&json)?;
        }
        ReportFormat::Text => {
            let mut text = out.text();
            super::verify::write_checks(report, &mut text, args.verbose)?;
            let line = match outcome.committed() {
                Some(c) => format!(
                    "PULLED {reference} (sha256:{}) into {}: {}; station receipt by {}",
                    fetched.digest,
                    args.into.display(),
                    committed_words(c),
                    fetched.receipt.station
                ),
                None => format!(
                    "{}; nothing in {} changed",
                    super::verify::refused_line(report, &source, code),
                    args.into.display()
                ),
            };
            outln!(text, "{line}")?;
        }
    }
    out.finish()?;
    Ok(code)
}

fn committed_words(c: &lbom::Committed) -> String {
    match c {
        lbom::Committed::New {
            channel, sequence, ..
        } => {
            format!("channel {channel} version {sequence} is current")
        }
        lbom::Committed::AlreadyCurrent { channel, sequence } => {
            format!("channel {channel} version {sequence} was current already; nothing changed")
        }
    }
}
