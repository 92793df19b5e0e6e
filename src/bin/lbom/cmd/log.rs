//! `lbom log`.

use lbom::outln;
use lbom::{HistoryAction, Store};

use crate::cli::{LogArgs, ReportFormat};
use crate::exit;
use crate::output::Output;

/// The channel's history, oldest first.
pub fn run(args: &LogArgs) -> anyhow::Result<u8> {
    let store = Store::open(&args.store)?;
    let channel = store.resolve_channel(args.channel.as_deref())?;
    let history = lbom::history(&store, &channel)?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => out.json(&history)?,
        ReportFormat::Text => {
            let mut text = out.text();
            let w = &mut text;
            if history.is_empty() {
                outln!(w, "channel {channel}: no imports")?;
            }
            for h in &history {
                let action = match h.action {
                    HistoryAction::Import => "import",
                    HistoryAction::Rollback => "rollback",
                    HistoryAction::Prune => "prune",
                };
                outln!(
                    w,
                    "{}  {action:<8} #{} {}  manifest {}{}",
                    h.time,
                    h.sequence,
                    h.name,
                    h.manifest_sha256.short(16),
                    if h.recovered {
                        "  (recorded by recovery)"
                    } else {
                        ""
                    }
                )?;
                if !h.bundle_file.is_empty() && h.action == HistoryAction::Import {
                    outln!(w, "    bundle   {}", h.bundle_file)?;
                }
                for s in &h.signers {
                    outln!(
                        w,
                        "    signed   #{} {} by {} ({})",
                        s.index,
                        s.role,
                        s.key_name.as_deref().unwrap_or("unlisted key"),
                        s.key_id
                    )?;
                }
                if let Some(base) = h.differential_base {
                    outln!(
                        w,
                        "    arrived  as a differential bundle, rebuilt from version {base}"
                    )?;
                }
                if !h.removed.is_empty() {
                    let removed: Vec<String> = h.removed.iter().map(u64::to_string).collect();
                    outln!(w, "    removed  {}", removed.join(", "))?;
                }
                if !h.accepted_drift.is_empty() {
                    outln!(w, "    accepted drift: {}", h.accepted_drift.join(", "))?;
                }
            }
        }
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}
