//! `lbom log`.

use lbom::describe::text::visible;
use lbom::import::{HistoryAction, Store};

use crate::cli::{LogArgs, ReportFormat};
use crate::exit;
use crate::output::Output;

/// The channel's history, oldest first.
pub fn run(args: &LogArgs) -> anyhow::Result<u8> {
    let store = Store::open(&args.store)?;
    let history = lbom::import::history(&store, &args.channel)?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out.writer(), &history)?;
            writeln!(out.writer())?;
        }
        ReportFormat::Text => {
            let w = out.writer();
            if history.is_empty() {
                writeln!(w, "channel {}: no imports", args.channel)?;
            }
            for h in &history {
                let action = match h.action {
                    HistoryAction::Import => "import",
                    HistoryAction::Rollback => "rollback",
                };
                writeln!(
                    w,
                    "{}  {action:<8} #{} {}  manifest {}{}",
                    h.time,
                    h.sequence,
                    visible(&h.name),
                    h.manifest_sha256.short(16),
                    if h.recovered {
                        "  (recorded by recovery)"
                    } else {
                        ""
                    }
                )?;
                if !h.bundle_file.is_empty() && h.action == HistoryAction::Import {
                    writeln!(w, "    bundle   {}", visible(&h.bundle_file))?;
                }
                for s in &h.signers {
                    writeln!(
                        w,
                        "    signed   #{} {} by {} ({})",
                        s.index,
                        visible(&s.role),
                        s.key_name
                            .as_deref()
                            .map_or("unlisted key".to_owned(), visible),
                        s.key_id
                    )?;
                }
                if !h.accepted_drift.is_empty() {
                    writeln!(w, "    accepted drift: {}", h.accepted_drift.join(", "))?;
                }
            }
        }
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}
