//! `lbom prune`.

use lbom::Store;

use lbom::outln;

use crate::cli::{PruneArgs, ReportFormat};
use crate::exit;
use crate::output::Output;

/// Remove a channel's old versions, keeping the newest N and `current`.
pub fn run(args: &PruneArgs) -> anyhow::Result<u8> {
    let store = Store::open(&args.store)?;
    let locked = store.lock()?;
    let channel = locked.resolve_channel(args.channel.as_deref())?;
    let done = lbom::prune(&locked, &channel, args.keep, jiff::Timestamp::now())?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => out.json(&done)?,
        ReportFormat::Text => {
            let list = |seqs: &[u64]| {
                let s: Vec<String> = seqs.iter().map(u64::to_string).collect();
                s.join(", ")
            };
            let mut text = out.text();
            if done.removed.is_empty() {
                outln!(
                    text,
                    "channel {channel}: nothing to prune (kept: {}; current {})",
                    list(&done.kept),
                    done.current
                )?;
            } else {
                outln!(
                    text,
                    "channel {channel}: removed versions {}; kept {} (current {})",
                    list(&done.removed),
                    list(&done.kept),
                    done.current
                )?;
            }
        }
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}
