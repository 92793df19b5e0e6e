//! What a bundle packed with `--previous` is called: the previous bundle's
//! name and channel unless told otherwise, and never another model's name
//! on the same channel (issue 16; docs/bundle-format.md, section 5).

use std::path::Path;

use super::{Error, ReadLimits, read};

/// The channel a bundle goes to when none is named and there is no
/// previous bundle.
pub const DEFAULT_CHANNEL: &str = "default";

/// The name and channel of a bundle to pack. Without `previous`: `name`
/// (else `default_name()`) and `channel` (else `DEFAULT_CHANNEL`). With
/// it: the previous bundle's name and channel, read from its manifest
/// (nothing verified: the station checks the chain), where the caller
/// named none; a name other than the previous bundle's is another model,
/// which a channel does not hold, and is refused saying so.
pub fn name_and_channel(
    previous: Option<&Path>,
    name: Option<&str>,
    channel: Option<&str>,
    default_name: impl FnOnce() -> String,
) -> Result<(String, String), Error> {
    let Some(previous) = previous else {
        return Ok((
            name.map_or_else(default_name, str::to_owned),
            channel.unwrap_or(DEFAULT_CHANNEL).to_owned(),
        ));
    };
    let old = read::open(previous, &ReadLimits::default())?.manifest;
    if let Some(n) = name
        && n != old.name
    {
        return Err(Error::Option(format!(
            "--name {n:?} is a different model from the previous bundle's {:?}: a channel holds one model; leave out --name to keep it, or pack the other model without --previous on a channel of its own",
            old.name
        )));
    }
    if let Some(c) = channel
        && c != old.channel
    {
        return Err(Error::Option(format!(
            "--channel {c:?}: the previous bundle is on channel {:?}; leave out --channel to keep it",
            old.channel
        )));
    }
    Ok((old.name, old.channel))
}
