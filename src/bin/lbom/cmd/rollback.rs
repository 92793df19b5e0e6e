//! `lbom rollback`.

use lbom::{RolledBack, Store};

use lbom::outln;

use crate::cli::RollbackArgs;
use crate::exit;
use crate::output::Output;

/// Switch `current` back to a kept version (re-hashed first).
pub fn run(args: &RollbackArgs) -> anyhow::Result<u8> {
    let store = Store::open(&args.store)?;
    let locked = store.lock()?;
    let channel = locked.resolve_channel(args.channel.as_deref())?;
    let done = lbom::rollback(&locked, &channel, args.to, jiff::Timestamp::now())?;
    let mut out = Output::open(None)?;
    let mut text = out.text();
    match done {
        RolledBack::Switched { from, to } => outln!(
            text,
            "channel {channel}: current is now version {to} (was {})",
            from.map_or("none".to_owned(), |f| f.to_string())
        )?,
        RolledBack::AlreadyCurrent { to } => {
            outln!(text, "channel {channel}: version {to} is already current")?;
        }
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}
