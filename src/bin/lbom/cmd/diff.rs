//! `lbom diff`.

use crate::cli::{DiffArgs, DiffFormat};
use crate::exit;
use crate::output::Output;

/// Print the drift from OLD to NEW; exit 0 for none, 1 for drift (as
/// `diff` does), 2 and up for errors.
pub fn run(args: &DiffArgs) -> anyhow::Result<u8> {
    // A differential bundle is rebuilt from its base: the other side.
    let channel = args.channel.as_deref();
    let old = lbom::load_side_against(&args.old, channel, Some(&args.new))?;
    let new = lbom::load_side_against(&args.new, channel, Some(&args.old))?;
    let report = lbom::diff(&old, &new);
    let mut out = Output::open(None)?;
    match args.format {
        DiffFormat::Json => out.json(&report)?,
        DiffFormat::Text | DiffFormat::Markdown => {
            // The renderers escape the values they print; the document goes
            // through TextOut all the same.
            let mut rendered = Vec::new();
            match args.format {
                DiffFormat::Markdown => lbom::render_markdown(&report, &mut rendered)?,
                _ => lbom::render_text(&report, &mut rendered)?,
            }
            out.text().document_bytes(&rendered)?;
        }
    }
    out.finish()?;
    Ok(if report.is_empty() {
        exit::SUCCESS
    } else {
        exit::FINDINGS
    })
}
