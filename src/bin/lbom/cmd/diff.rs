//! `lbom diff`.

use crate::cli::{DiffArgs, DiffFormat};
use crate::exit;
use crate::output::Output;

/// Print the drift from OLD to NEW; exit 0 for none, 1 for drift (as
/// `diff` does), 2 and up for errors.
pub fn run(args: &DiffArgs) -> anyhow::Result<u8> {
    let old = lbom::diff::load(&args.old, args.channel.as_deref())?;
    let new = lbom::diff::load(&args.new, args.channel.as_deref())?;
    let report = lbom::diff::diff(&old, &new);
    let mut out = Output::open(None)?;
    match args.format {
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut *out.writer(), &report)?;
            writeln!(out.writer())?;
        }
        DiffFormat::Text => lbom::diff::render_text(&report, out.writer())?,
        DiffFormat::Markdown => lbom::diff::render_markdown(&report, out.writer())?,
    }
    out.finish()?;
    Ok(if report.is_empty() {
        exit::SUCCESS
    } else {
        exit::FINDINGS
    })
}
