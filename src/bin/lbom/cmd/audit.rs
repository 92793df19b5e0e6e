//! `lbom audit`.

use lbom::Store;

use crate::cli::{AuditArgs, ReportFormat};
use crate::exit;
use crate::output::Output;

/// Check the store's structure and re-hash it against its records; exit 4
/// when anything differs, so a service can run it as a start-up check.
pub fn run(args: &AuditArgs, quiet: bool) -> anyhow::Result<u8> {
    let store = Store::open(&args.store)?;
    let total = lbom::audit_bytes(&store, args.channel.as_deref(), args.all);
    let mut bar = crate::progress::ReadBar::start(quiet, "auditing", total);
    let report = lbom::audit(&store, args.channel.as_deref(), args.all);
    bar.finish();
    let report = report?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => out.json(&report.document())?,
        ReportFormat::Text => out.text().document(&report.render_text())?,
    }
    out.finish()?;
    Ok(if report.passed() {
        exit::SUCCESS
    } else {
        exit::codes::of(lbom::Class::Integrity)
    })
}
