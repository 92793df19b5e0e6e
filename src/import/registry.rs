//! The channel registry, `STORE/.channels`: one channel name and an LF per
//! channel, appended (and fsynced) when the channel's folder is created,
//! never rewritten. It is what lets `audit` and every command see a channel
//! folder that was deleted, or one that appeared without lbom creating it
//! (docs/store.md, "Layout" and "Structure").

use std::collections::BTreeSet;
use std::io::Write as _;

use super::error::StoreError;
use super::handle::DirHandle;
use super::paths::{REGISTRY, is_channel_name};

/// Largest registry read: 8,192 channels of the longest label.
pub(crate) const MAX_REGISTRY_BYTES: u64 = 8192 * 130;

/// The registry as read.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Every registered channel, in registration order.
    pub channels: Vec<String>,
    /// Bytes up to the end of the last complete line.
    pub complete_len: u64,
    /// Whether bytes follow the last complete line (an append cut by a
    /// crash; ignored, and cut by the next writer).
    pub torn: bool,
}

impl Registry {
    /// Whether `channel` is registered.
    pub(crate) fn has(&self, channel: &str) -> bool {
        self.channels.iter().any(|c| c == channel)
    }
}

/// Read `.channels`; a missing file is an empty registry.
/// A line that is not a channel label, or a channel listed twice, is a
/// damaged store.
pub(crate) fn read(root: &DirHandle) -> Result<Registry, StoreError> {
    let Some(bytes) = root.read_file(REGISTRY, MAX_REGISTRY_BYTES)? else {
        return Ok(Registry::default());
    };
    let complete = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i.saturating_add(1));
    let mut seen = BTreeSet::new();
    let mut channels = Vec::new();
    // The complete lines, without the last LF (so no empty item follows).
    let body = bytes.get(..complete.saturating_sub(1)).unwrap_or_default();
    let lines = body
        .split(|b| *b == b'\n')
        .take(if complete == 0 { 0 } else { usize::MAX });
    for (n, line) in lines.enumerate() {
        let name = std::str::from_utf8(line)
            .ok()
            .filter(|s| is_channel_name(s))
            .ok_or_else(|| {
                StoreError::damaged(
                    &root.child(REGISTRY),
                    format!("line {} is not a channel name", n.saturating_add(1)),
                )
            })?;
        if !seen.insert(name.to_owned()) {
            return Err(StoreError::damaged(
                &root.child(REGISTRY),
                format!(
                    "line {}: channel {name} is listed twice",
                    n.saturating_add(1)
                ),
            ));
        }
        channels.push(name.to_owned());
    }
    Ok(Registry {
        channels,
        complete_len: complete as u64,
        torn: complete < bytes.len(),
    })
}

/// Append `channel` to the registry in one write and fsync it (and the
/// store folder when the file is new). Under the lock only.
pub(crate) fn register(root: &DirHandle, channel: &str) -> Result<(), StoreError> {
    if !is_channel_name(channel) {
        return Err(StoreError::Refused(format!(
            "{channel:?} is not a channel name"
        )));
    }
    let (mut file, created) = root.open_append(REGISTRY)?;
    let at = |source| StoreError::Io {
        path: root.child(REGISTRY),
        source,
    };
    file.write_all(format!("{channel}\n").as_bytes())
        .map_err(at)?;
    file.sync_all().map_err(at)?;
    if created {
        root.sync()?;
    }
    Ok(())
}

/// Cut a torn last line off (under the lock only).
pub(crate) fn cut_torn(root: &DirHandle, complete_len: u64) -> Result<(), StoreError> {
    let file = root.open_write(REGISTRY)?;
    let at = |source| StoreError::Io {
        path: root.child(REGISTRY),
        source,
    };
    file.set_len(complete_len).map_err(at)?;
    file.sync_all().map_err(at)
}
