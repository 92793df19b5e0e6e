//! `lbom import`.

use lbom::Policy;
use lbom::outln;
use lbom::{Committed, ImportDocument, ImportOptions, ImportOutcome};

use crate::cli::{ImportArgs, ReportFormat};
use crate::exit;
use crate::output::Output;

/// Verify while extracting into the store; commit only when every check
/// passed. Prints the report and what was committed.
pub fn run(args: &ImportArgs, quiet: bool) -> anyhow::Result<u8> {
    let policy = Policy::load(&args.policy)?;
    if !quiet {
        super::verify::warn_policy_notes(&policy);
    }
    let key = match &args.key {
        Some(k) => Some(super::load_signing_key(k, args.passphrase_env.as_deref())?),
        None => None,
    };
    let options = ImportOptions {
        now: jiff::Timestamp::now(),
        caps: lbom::Caps::default(),
        jobs: args.jobs.map(usize::from),
        accepted_drift: args.accept_drift.clone(),
        receipt_key: key.as_ref(),
        create_store: args.create,
    };
    let input = super::verify::bundle_input(&args.bundle, &args.more_media, &policy)?;
    let mut bar =
        crate::progress::ReadBar::start(quiet, "importing", lbom::file_bytes(&args.bundle));
    let outcome = lbom::import(&input, &args.into, &policy, &options, |sink, ctx| {
        lbom::verify(&input, &policy, ctx, sink)
    });
    bar.finish();
    let outcome = outcome?;
    let (report, drift, code) = match &outcome {
        ImportOutcome::Refused { report, drift } => (
            report,
            drift.as_ref(),
            exit::codes::of(report.failure().map_or(lbom::Class::Io, |f| f.class())),
        ),
        ImportOutcome::Imported { report, drift, .. } => (report, drift.as_ref(), exit::SUCCESS),
    };
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => {
            let json = ImportDocument::new(&args.bundle, &args.into, &outcome, code);
            out.json(&json)?;
        }
        ReportFormat::Text => {
            let mut text = out.text();
            super::verify::write_checks(report, &mut text, args.verbose)?;
            if let Some(d) = drift.filter(|d| !d.is_empty()) {
                outln!(text)?;
                let mut rendered = Vec::new();
                lbom::render_text(d, &mut rendered)?;
                text.document_bytes(&rendered)?;
                outln!(text)?;
            }
            let line = match &outcome {
                ImportOutcome::Refused { .. } => format!(
                    "{}; nothing in {} changed",
                    super::verify::refused_line(report, &args.bundle, code),
                    args.into.display()
                ),
                ImportOutcome::Imported {
                    committed,
                    verified,
                    ..
                } => {
                    super::verify::write_signers(&verified.signers, &mut text)?;
                    summary(committed, args)
                }
            };
            outln!(text, "{line}")?;
        }
    }
    out.finish()?;
    if !quiet && args.format == ReportFormat::Json {
        super::verify::warn_checks(report);
    }
    if report.failure() == Some(lbom::Failure::Drift) {
        note!("hint: name each class with --accept-drift CLASS after review");
    }
    Ok(code)
}

fn summary(committed: &Committed, args: &ImportArgs) -> String {
    match committed {
        Committed::New {
            channel,
            sequence,
            previous,
            shared_files,
            written_files,
            receipt,
        } => format!(
            "IMPORTED channel {channel} version {sequence} into {} (was {}); {written_files} file(s) written, {shared_files} shared with the previous version{}",
            args.into.display(),
            previous.map_or("empty".to_owned(), |p| format!("version {p}")),
            if *receipt { "; receipt signed" } else { "" }
        ),
        Committed::AlreadyCurrent { channel, sequence } => format!(
            "ALREADY CURRENT: channel {channel} version {sequence} is this bundle; nothing changed"
        ),
    }
}
