//! `lbom pack`.

use lbom::outln;
use lbom::{Compression, FirstLink, PackOptions, PackSummary};

use crate::cli::PackArgs;
use crate::exit::{self, UsageError};
use crate::output::Output;
use crate::progress::{ByteBar, MediaBars};

/// Pack, optionally sign, and print the manifest digest.
pub fn run(args: &PackArgs, quiet: bool) -> anyhow::Result<u8> {
    let compress: Compression = args.compress.parse().map_err(UsageError)?;
    if let Some(role) = &args.split_role {
        lbom::check_signing_role(role, false)
            .map_err(|m| UsageError(super::custom_role_hint(m)))?;
    }
    if let Some(role) = &args.role {
        lbom::check_signing_role(role, args.custom_role)
            .map_err(|m| UsageError(super::custom_role_hint(m)))?;
    }
    let expires = args.expires.as_deref().map(parse_duration).transpose()?;
    let key = match &args.key {
        Some(path) => Some(super::load_signing_key(
            path,
            args.passphrase_env.as_deref(),
        )?),
        None => None,
    };
    let first_link = match (&key, &args.role) {
        (Some(key), Some(role)) => Some(FirstLink {
            key,
            role: role.clone(),
            note: None,
        }),
        _ => None,
    };
    let (name, channel) = lbom::name_and_channel(
        args.previous.as_deref().or(args.base.as_deref()),
        args.name.as_deref(),
        args.channel.as_deref(),
        || default_name(&args.paths),
    )?;
    let options = PackOptions {
        inputs: args.paths.clone(),
        output: args.output.clone(),
        name,
        channel,
        sequence: args.sequence,
        previous: args.previous.clone(),
        expires,
        compress,
        created: None,
        first_link,
        caps: lbom::Caps::default(),
        jobs: args.jobs.map(usize::from),
        base: args.base.clone(),
        hash_cache: args.hash_cache.clone(),
    };
    if let Some(size) = &args.split {
        return pack_split(args, size, &options, quiet);
    }
    let bar = ByteBar::new(quiet, "packing", lbom::tree_bytes(&args.paths));
    let summary = lbom::pack(&options, &mut |n| bar.advance(n));
    bar.finish();
    let summary = summary?;
    print_summary(&summary)?;
    warn_station_refusals(&summary.output, quiet);
    Ok(exit::SUCCESS)
}

/// The bundle written: its manifest digest, what a differential bundle
/// shipped, and the first link.
fn print_summary(summary: &PackSummary) -> anyhow::Result<()> {
    let m = &summary.manifest;
    let mut out = Output::open(None)?;
    let mut text = out.text();
    outln!(
        text,
        "{}: {} {} sequence {} ({} entries, {} bytes), manifest sha256 {}",
        summary.output.display(),
        m.name,
        m.channel,
        m.sequence,
        m.entries.len(),
        summary.bytes,
        summary.manifest_sha256
    )?;
    if let Some(d) = summary.delta.as_ref().filter(|d| d.cached > 0) {
        outln!(
            text,
            "differential against base sequence {}: {} file(s) unchanged ({} unread, from the hash cache), {} shipped as {} byte(s) of chunks, {} shipped whole; {} bytes",
            m.base.as_ref().map_or(0, |b| b.sequence),
            d.unchanged,
            d.cached,
            d.chunked,
            d.shipped_chunk_bytes,
            d.whole,
            summary.bytes,
        )?;
    } else if let Some(d) = &summary.delta {
        outln!(
            text,
            "differential against base sequence {}: {} file(s) unchanged, {} shipped as {} byte(s) of chunks, {} shipped whole; {} bytes against {} for the full bundle",
            m.base.as_ref().map_or(0, |b| b.sequence),
            d.unchanged,
            d.chunked,
            d.shipped_chunk_bytes,
            d.whole,
            summary.bytes,
            d.full_bytes
        )?;
    }
    if let Some(link) = &summary.link {
        outln!(
            text,
            "link 1 signed as {} by key {}",
            link.predicate.role,
            link.predicate.keyid
        )?;
    }
    out.finish()?;
    Ok(())
}

/// `pack --split`: pack straight into medium folders beside the output
/// (docs/bundle-format.md, section 13): no file larger than one part is
/// written.
fn pack_split(
    args: &PackArgs,
    size: &str,
    options: &PackOptions<'_>,
    quiet: bool,
) -> anyhow::Result<u8> {
    let (Some(key_path), Some(role)) = (&args.split_key, &args.split_role) else {
        return Err(UsageError("--split needs --split-key and --split-role".into()).into());
    };
    let part_size =
        lbom::split_media::parse_size(size).map_err(|m| UsageError(format!("--split: {m}")))?;
    let key = super::load_signing_key(key_path, args.passphrase_env.as_deref())?;
    let split = lbom::split_media::SplitOptions {
        part_size,
        parity: args.parity,
        role: role.clone(),
    };
    // The inputs, then the parts read back for their digests.
    let total = lbom::tree_bytes(&args.paths).saturating_mul(2);
    let bars = MediaBars::fed(quiet, "packing", total);
    let done =
        lbom::split_media::pack_split_with(options, &split, &key, &mut |n| bars.advance(n), &bars);
    bars.finish();
    let (summary, outcome) = done?;
    print_summary(&summary)?;
    let mut text = Output::open(None)?;
    outln!(
        text.text(),
        "written as {} data and {} parity parts ({}), index signed as {} by key {}",
        outcome.index.parts.len(),
        outcome.index.parity.len(),
        outcome.index.name,
        outcome.index.role,
        outcome.index.keyid
    )?;
    for medium in &outcome.media {
        outln!(text.text(), "  {}", medium.display())?;
    }
    text.finish()?;
    warn_station_refusals_in_parts(&outcome.media, key.public_key(), quiet);
    Ok(exit::SUCCESS)
}

/// Tell the maintainer now what a station with a default policy would
/// refuse (docs/policy.md, section 4.4), rather than the station later.
fn warn_station_refusals(bundle: &std::path::Path, quiet: bool) {
    if !quiet {
        print_refusals(lbom::default_policy_refusals(bundle));
    }
}

/// [`warn_station_refusals`] of a bundle written as a part set, read
/// through the parts in the folders `media` under the index's signer.
fn warn_station_refusals_in_parts(
    media: &[std::path::PathBuf],
    signer: &lbom::PublicKey,
    quiet: bool,
) {
    if !quiet {
        print_refusals(lbom::default_policy_refusals_in_parts(media, signer));
    }
}

fn print_refusals(found: Result<Vec<lbom::StationRefusal>, lbom::PreviewError>) {
    match found {
        Ok(refusals) => {
            for r in &refusals {
                note!(
                    "lbom: warning: a station with a default policy would refuse {}: {}",
                    r.path,
                    r.reason
                );
            }
        }
        Err(e) => note!("lbom: warning: could not read the bundle back to check it: {e}"),
    }
}

/// A bundle name from the first input: its file name with anything outside
/// `[A-Za-z0-9._-]` replaced, as the manifest allows.
fn default_name(paths: &[std::path::PathBuf]) -> String {
    let raw = paths
        .first()
        .and_then(|p| std::fs::canonicalize(p).ok().or_else(|| Some(p.clone())))
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    let trimmed = cleaned.trim_start_matches(['.', '_', '-']);
    if trimmed.is_empty() {
        "bundle".into()
    } else {
        trimmed.to_owned()
    }
}

/// `30d`, `12h`, `90m`, `3600s`, `2w`, or an ISO 8601 / jiff duration (`PT12H`).
fn parse_duration(text: &str) -> anyhow::Result<jiff::SignedDuration> {
    let unit_seconds = |u: &str| match u {
        "s" => Some(1i64),
        "m" => Some(60),
        "h" => Some(3600),
        "d" => Some(86_400),
        "w" => Some(604_800),
        _ => None,
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let parsed = match (number.parse::<i64>(), unit_seconds(unit)) {
        (Ok(n), Some(scale)) => n.checked_mul(scale).map(jiff::SignedDuration::from_secs),
        _ => text.parse::<jiff::SignedDuration>().ok(),
    };
    match parsed {
        Some(d) if d.is_positive() => Ok(d),
        Some(_) => Err(UsageError(format!("--expires {text:?} must be positive")).into()),
        None => Err(UsageError(format!(
            "--expires {text:?} is not a duration like 30d, 12h or PT12H"
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let secs = |t: &str| parse_duration(t).ok().map(|d| d.as_secs());
        assert_eq!(secs("30d"), Some(2_592_000));
        assert_eq!(secs("12h"), Some(43_200));
        assert_eq!(secs("PT1H"), Some(3_600));
        assert_eq!(secs("0d"), None);
        assert_eq!(secs("-1d"), None);
        assert_eq!(secs("9999999999999999999d"), None);
        assert_eq!(secs("soon"), None);
    }

    #[test]
    fn names() {
        assert_eq!(
            default_name(&["/nonexistent/My Model (v2)".into()]),
            "My-Model--v2-"
        );
        assert_eq!(default_name(&["/nonexistent/.hidden".into()]), "hidden");
        assert_eq!(default_name(&[]), "bundle");
    }
}
