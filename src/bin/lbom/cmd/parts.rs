//! `lbom split`, `lbom verify-parts`, `lbom repair` and `lbom join`
//! (docs/bundle-format.md, section 13).

use lbom::Policy;
use lbom::TextOut;
use lbom::outln;
use lbom::split_media::{PartState, PartsReport, SetVerdict, SplitOptions};

use crate::cli::{JoinArgs, RepairArgs, ReportFormat, SplitArgs, VerifyPartsArgs};
use crate::exit::{self, UsageError};
use crate::output::Output;
use crate::progress::MediaBars;

/// Cut the bundle; print one line per medium folder.
pub fn split(args: &SplitArgs, quiet: bool) -> anyhow::Result<u8> {
    lbom::check_signing_role(&args.role, args.custom_role)
        .map_err(|m| UsageError(super::custom_role_hint(m)))?;
    let part_size = lbom::split_media::parse_size(&args.size)
        .map_err(|m| UsageError(format!("--size: {m}")))?;
    let key = super::load_signing_key(&args.key, args.passphrase_env.as_deref())?;
    let options = SplitOptions {
        part_size,
        parity: args.parity,
        role: args.role.clone(),
    };
    let bars = MediaBars::new(quiet, "splitting");
    let outcome = lbom::split_media::split_with(&args.bundle, &args.output, &options, &key, &bars);
    bars.finish();
    let outcome = outcome?;
    let index = &outcome.index;
    let mut out = Output::open(None)?;
    let mut w = out.text();
    outln!(
        w,
        "{}: {} data and {} parity parts of at most {} bytes, index signed as {} by key {}",
        index.name,
        index.parts.len(),
        index.parity.len(),
        index.part_size,
        index.role,
        index.keyid
    )?;
    for medium in &outcome.media {
        outln!(w, "  {}", medium.display())?;
    }
    outln!(
        w,
        "Copy each folder onto its own medium (each holds a copy of the index)."
    )?;
    out.finish()?;
    Ok(exit::SUCCESS)
}

/// Check the set; the exit code says whether it is whole.
pub fn verify_parts(args: &VerifyPartsArgs, quiet: bool) -> anyhow::Result<u8> {
    let policy = Policy::load(&args.policy)?;
    let report = checked(&args.paths, &policy, quiet)?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => out.json(&report)?,
        ReportFormat::Text => write_report(&report, &mut out.text())?,
    }
    out.finish()?;
    Ok(report.class().map_or(exit::SUCCESS, crate::codes::of))
}

/// Rebuild the missing and damaged parts.
pub fn repair(args: &RepairArgs, quiet: bool) -> anyhow::Result<u8> {
    let policy = Policy::load(&args.policy)?;
    let report = checked(&args.paths, &policy, quiet)?;
    let mut out = Output::open(None)?;
    let mut w = out.text();
    if report.verdict == SetVerdict::Complete {
        outln!(
            w,
            "{}: every part is present; nothing to rebuild",
            report.name
        )?;
    } else {
        let bars = MediaBars::new(quiet, "rebuilding");
        let repaired = lbom::split_media::repair_with(&report, &args.output, &bars);
        bars.finish();
        let repaired = repaired?;
        for (name, dir) in &repaired.parts {
            outln!(w, "rebuilt {name} in {}", dir.display())?;
        }
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}

/// Write the bundle as one file.
pub fn join(args: &JoinArgs, quiet: bool) -> anyhow::Result<u8> {
    let policy = Policy::load(&args.policy)?;
    let report = checked(&args.paths, &policy, quiet)?;
    let bars = MediaBars::new(quiet, "joining");
    let joined = lbom::split_media::join_with(&report, &args.output, &bars);
    bars.finish();
    joined?;
    note!(
        "lbom: wrote {} ({} bytes, SHA-256 {}); run `lbom verify` on it before trusting it",
        args.output.display(),
        report.bundle_size,
        report.bundle_sha256
    );
    Ok(exit::SUCCESS)
}

/// `verify-parts`' check of the set, with a bar over all its parts and
/// one per medium.
fn checked(
    paths: &[std::path::PathBuf],
    policy: &Policy,
    quiet: bool,
) -> anyhow::Result<PartsReport> {
    let bars = MediaBars::new(quiet, "checking parts");
    let report = lbom::split_media::verify_parts_with(paths, policy, &bars);
    bars.finish();
    Ok(report?)
}

fn write_report(report: &PartsReport, w: &mut TextOut<'_>) -> std::io::Result<()> {
    outln!(
        w,
        "part set {} ({} bytes, SHA-256 {})",
        report.name,
        report.bundle_size,
        report.bundle_sha256
    )?;
    outln!(
        w,
        "index signed as {} by trusted key {}; the bundle's own chain still decides trust",
        report.role,
        report.signer
    )?;
    for part in &report.parts {
        let state = match part.state {
            PartState::Present => "present",
            PartState::Missing => "MISSING",
            PartState::Damaged => "DAMAGED",
        };
        let place = match (&part.state, part.paths.first()) {
            (PartState::Missing, _) | (_, None) => String::new(),
            (_, Some(p)) => format!("  {}", p.display()),
        };
        outln!(w, "  {:<8} {}{place}", state, part.file_name)?;
        if let Some(why) = &part.why {
            outln!(w, "           {}", why)?;
        }
    }
    for foreign in &report.foreign {
        outln!(w, "  FOREIGN  {}: {}", foreign.path.display(), foreign.why)?;
    }
    match &report.verdict {
        SetVerdict::Complete => outln!(w, "complete: every part present")?,
        SetVerdict::Repairable => outln!(
            w,
            "repairable: parity can rebuild the missing and damaged parts (lbom repair)"
        )?,
        SetVerdict::CopyAgain { need, parts } => {
            outln!(w, "copy again: at least {need} of {}", parts.join(", "))?
        }
    }
    Ok(())
}
