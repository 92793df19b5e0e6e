//! Policy rules that need no artifact byte (`policy.caps`, `bundle.expiry`,
//! `bundle.age`, `trust.demo_key`, `store.history`) and the content rules
//! applied to the fresh scan (`policy.formats`, `policy.licences`,
//! `policy.findings`).

use std::collections::BTreeMap;

use super::ChannelState;
use super::chain::CheckedLink;
use super::policy::{Clock, NO_LICENCE, Policy, PolicyCaps};
use super::report::Failure;
use super::structure::Opened;
use super::verdict::{Step, Verdict};
use crate::bundle::manifest::parse_time;
use crate::bundle::{BundlePath, Manifest, OpenBundle};
use crate::describe::licence::{self, LicenceId};
use crate::envelope::is_demo_key;
use crate::inspect::ModelFacts;
use crate::io::digest::Sha256Digest;
use crate::safe::visible;

/// Clock skew tolerated for times in the future: 5 minutes.
pub const MAX_CLOCK_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// `policy.caps`: counts and sizes from the manifest, before any artifact
/// byte is read.
pub(crate) fn caps(manifest: &Manifest, caps: &PolicyCaps) -> Step<()> {
    let count = manifest.entries.len() as u64;
    if count > caps.max_entries {
        return Err(Verdict::fail(
            Failure::Policy,
            format!(
                "{count} entries, more than the policy's cap of {}",
                caps.max_entries
            ),
        ));
    }
    let mut total: u64 = 0;
    for e in &manifest.entries {
        let path_len = e.path.as_str().len() as u64;
        if path_len > caps.max_path_bytes {
            return Err(Verdict::fail(
                Failure::Policy,
                format!(
                    "entry {}: path of {path_len} bytes, more than the policy's cap of {}",
                    e.path, caps.max_path_bytes
                ),
            ));
        }
        let largest = e.size.max(e.stored_size);
        if largest > caps.max_entry_bytes {
            return Err(Verdict::fail(
                Failure::Policy,
                format!(
                    "entry {}: {largest} bytes, more than the policy's cap of {} per entry",
                    e.path, caps.max_entry_bytes
                ),
            ));
        }
        total = total
            .checked_add(e.size)
            .filter(|t| *t <= caps.max_total_bytes)
            .ok_or_else(|| {
                Verdict::fail(
                    Failure::Policy,
                    format!(
                        "entries total more than the policy's cap of {} bytes",
                        caps.max_total_bytes
                    ),
                )
            })?;
    }
    Ok((
        (),
        Verdict::pass(format!(
            "{count} entries, {total} bytes: within the policy's caps"
        )),
    ))
}

/// `bundle.expiry`: not expired, an expiry when the policy requires one,
/// and no time in the future beyond [`MAX_CLOCK_SKEW`]. With an untrusted
/// clock the comparisons with it are skipped (a warning), and the bundle
/// must instead not be older than the channel's baseline.
pub(crate) fn expiry(
    opened: &Opened,
    link_times: &[jiff::Timestamp],
    policy: &Policy,
    ctx: &super::VerifyContext,
) -> Step<()> {
    let m = &opened.bundle.manifest;
    if policy.time.require_expiry && opened.bundle.times.expires.is_none() {
        return Err(Verdict::fail(
            Failure::Trust,
            "the bundle has no expiry and the policy requires one",
        ));
    }
    if policy.time.clock == Clock::Untrusted {
        return untrusted_clock(opened, ctx);
    }
    let now = ctx.now;
    if let (Some(expires), Some(text)) = (opened.bundle.times.expires, &m.expires)
        && expires <= now
    {
        return Err(Verdict::fail(
            Failure::Trust,
            format!("the bundle expired at {text}"),
        ));
    }
    let latest = now.checked_add(MAX_CLOCK_SKEW).unwrap_or(now);
    if opened.bundle.times.created > latest {
        return Err(Verdict::fail(
            Failure::Trust,
            format!(
                "the bundle claims to be created at {}, in the future",
                m.created
            ),
        ));
    }
    for (i, t) in link_times.iter().enumerate() {
        if *t > latest {
            return Err(Verdict::fail(
                Failure::Trust,
                format!(
                    "link {} claims to be signed at {}, in the future",
                    i.saturating_add(1),
                    crate::bundle::manifest::format_time(*t)
                ),
            ));
        }
    }
    let detail = match &m.expires {
        Some(e) => format!("created {}, expires {e}: valid now", m.created),
        None => format!("created {}, no expiry", m.created),
    };
    Ok(((), Verdict::pass(detail)))
}

/// The channel baseline's `created`, the only time an untrusted-clock
/// station can rely on (docs/policy.md, "Clock"): time only moves forward
/// from the first import.
fn baseline_time(ctx: &super::VerifyContext) -> Result<Option<(jiff::Timestamp, &str)>, Verdict> {
    let Some(text) = ctx
        .channel
        .as_ref()
        .and_then(|c| c.current.as_ref())
        .map(|(_, _, created)| created.as_str())
    else {
        return Ok(None);
    };
    match parse_time(text) {
        Some(t) => Ok(Some((t, text))),
        None => Err(Verdict::fail(
            Failure::Malformed,
            format!("the channel's baseline time {text:?} does not parse"),
        )),
    }
}

/// `bundle.expiry` under an untrusted clock [P29, P30]: an `expires`
/// earlier than the baseline's `created` is certainly past (Trust); the
/// clock itself is only a warning.
fn untrusted_clock(opened: &Opened, ctx: &super::VerifyContext) -> Step<()> {
    let m = &opened.bundle.manifest;
    let Some((base, text)) = baseline_time(ctx)? else {
        return Ok((
            (),
            Verdict::warn(
                "the station's clock is not trusted and there is no channel baseline: the expiry was not checked",
            ),
        ));
    };
    if let (Some(expires), Some(e)) = (opened.bundle.times.expires, &m.expires)
        && expires < base
    {
        return Err(Verdict::fail(
            Failure::Trust,
            format!(
                "the bundle expired at {e}, before the channel's baseline was created ({text})"
            ),
        ));
    }
    Ok((
        (),
        Verdict::warn(format!(
            "the station's clock is not trusted: the expiry was compared with the channel's baseline ({text}) only"
        )),
    ))
}

/// `bundle.age`: created no longer ago than the policy's maximum age.
pub(crate) fn age(opened: &Opened, policy: &Policy, ctx: &super::VerifyContext) -> Step<()> {
    if policy.time.clock == Clock::Untrusted {
        // [P30]: a bundle older than the channel's baseline is refused; the
        // local clock gives only a warning.
        let Some((base, text)) = baseline_time(ctx)? else {
            return Ok((
                (),
                Verdict::warn(
                    "the station's clock is not trusted and there is no channel baseline: the age was not checked",
                ),
            ));
        };
        if opened.bundle.times.created < base {
            return Err(Verdict::fail(
                Failure::Policy,
                format!(
                    "the bundle was created at {}, before the channel's baseline ({text})",
                    opened.bundle.manifest.created
                ),
            ));
        }
        return Ok((
            (),
            Verdict::warn(format!(
                "the station's clock is not trusted: the bundle is not older than the channel's baseline ({text}); its age by the local clock was not checked"
            )),
        ));
    }
    let Some(max_age) = policy.time.max_age else {
        return Ok(((), Verdict::pass("the policy sets no maximum age")));
    };
    let age = ctx.now.duration_since(opened.bundle.times.created);
    if age > max_age {
        return Err(Verdict::fail(
            Failure::Policy,
            format!(
                "created {}: older than the policy's maximum age of {}",
                opened.bundle.manifest.created,
                days_or_hours(max_age)
            ),
        ));
    }
    Ok((
        (),
        Verdict::pass(format!(
            "created {}: within the maximum age of {}",
            opened.bundle.manifest.created,
            days_or_hours(max_age)
        )),
    ))
}

/// A policy duration as the policy file writes it: whole days as `90d`.
fn days_or_hours(d: jiff::SignedDuration) -> String {
    let secs = d.as_secs();
    if secs > 0 && secs % 86_400 == 0 {
        format!("{}d", secs / 86_400)
    } else {
        format!("{d:#}")
    }
}

/// `trust.demo_key`: a warning when a counted signer used one of the
/// public demo keys (anyone can sign with them).
pub(crate) fn demo_keys(links: &[CheckedLink]) -> Step<()> {
    let demo: Vec<String> = links
        .iter()
        .filter(|l| l.key.is_some() && is_demo_key(&l.signer.key_id))
        .map(|l| {
            format!(
                "link {} ({} as {})",
                l.signer.index,
                l.signer.key_name.as_deref().unwrap_or("?"),
                l.signer.role
            )
        })
        .collect();
    if demo.is_empty() {
        return Ok(((), Verdict::pass("no demo key signed")));
    }
    Ok((
        (),
        Verdict::warn(format!(
            "signed with a public demo key, which anyone can sign with: {}",
            demo.join(", ")
        )),
    ))
}

/// `policy.formats`: every artifact's scanned format is allowed.
pub(crate) fn formats(facts: &[(BundlePath, ModelFacts)], policy: &Policy) -> Step<()> {
    let allowed: Vec<&str> = policy
        .content
        .allowed_formats
        .iter()
        .map(|f| f.as_str())
        .collect();
    for (path, f) in facts {
        if !policy.content.allowed_formats.contains(&f.format) {
            return Err(Verdict::fail(
                Failure::Policy,
                format!(
                    "{path}: format {} is not allowed (the policy allows {}; [content] allowed_formats in docs/policy.md)",
                    f.format.as_str(),
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok((
        (),
        Verdict::pass(format!(
            "{} artifact(s), formats allowed: {}",
            facts.len(),
            allowed.join(", ")
        )),
    ))
}

/// The licence an artifact declares, as SPDX writes it (an SPDX id or
/// expression, else `LicenseRef-…`): the same normalisation the SBOMs use.
fn licence_of(facts: &ModelFacts) -> Option<String> {
    let declared = licence::declared(facts)?;
    Some(match licence::spdx_id(&declared.raw) {
        LicenceId::Spdx(s) | LicenceId::Ref(s) => s,
    })
}

/// `policy.licences`: when the policy lists licences, every artifact that
/// is a model declares one of them (a missing licence fails). JSON side
/// files and unknown files declare none and are not models: they are left
/// to `policy.formats`.
pub(crate) fn licences(facts: &[(BundlePath, ModelFacts)], policy: &Policy) -> Step<()> {
    let Some(allowed) = &policy.content.allowed_licences else {
        return Ok(((), Verdict::pass("the policy allows any licence")));
    };
    let mut checked = 0usize;
    for (path, f) in facts {
        if !is_model(f) {
            continue;
        }
        checked += 1;
        match licence_of(f) {
            Some(expr) => {
                // [P20]: every id of an expression, AND and OR alike: lbom
                // does not pick an option of an OR on the licensee's behalf.
                if let Some(id) = licence_ids(&expr).find(|id| !allowed.contains(*id)) {
                    return Err(Verdict::fail(
                        Failure::Policy,
                        format!("{path}: licence {} is not allowed", visible(id)),
                    ));
                }
            }
            None if allowed.contains(NO_LICENCE) => {}
            None => {
                return Err(Verdict::fail(
                    Failure::Policy,
                    format!(
                        "{path}: declares no licence, and the policy does not list {NO_LICENCE}"
                    ),
                ));
            }
        }
    }
    Ok((
        (),
        Verdict::pass(format!("{checked} model(s), each under an allowed licence")),
    ))
}

/// The licence ids of an SPDX expression: every operand, without the
/// operators, parentheses and `WITH` exceptions (an exception only adds
/// permissions to the licence it follows).
fn licence_ids(expr: &str) -> impl Iterator<Item = &str> {
    let mut after_with = false;
    expr.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
        .filter(move |t| {
            let skip = after_with;
            after_with = t.eq_ignore_ascii_case("WITH");
            !(skip || after_with || t.eq_ignore_ascii_case("AND") || t.eq_ignore_ascii_case("OR"))
        })
}

fn is_model(f: &ModelFacts) -> bool {
    use crate::inspect::Format;
    matches!(
        f.format,
        Format::Gguf | Format::Safetensors | Format::Pickle | Format::PytorchZip
    )
}

/// `policy.findings`: no finding of the fresh scan at or above `fail_on`,
/// in an artifact or in a model as its folder describes it (the findings
/// of its side files: a chat template, a repeated key).
pub(crate) fn findings(
    facts: &[(BundlePath, ModelFacts)],
    described: &[ModelFacts],
    policy: &Policy,
) -> Step<()> {
    let Some(fail_on) = policy.content.fail_on else {
        let total: usize = facts.iter().map(|(_, f)| f.findings.len()).sum();
        return Ok((
            (),
            Verdict::pass(format!("{total} finding(s); the policy fails on none")),
        ));
    };
    let artifacts = facts.iter().map(|(p, f)| (p.as_str(), f));
    let models = described.iter().map(|m| (m.model_path.as_str(), m));
    for (path, f) in artifacts.chain(models) {
        if let Some(bad) = f.findings.iter().find(|x| x.severity >= fail_on) {
            return Err(Verdict::fail(
                Failure::Policy,
                format!(
                    "{path}: finding {} ({}): {}",
                    bad.code,
                    bad.severity,
                    crate::safe::visible(&bad.message)
                ),
            ));
        }
    }
    Ok((
        (),
        Verdict::pass(format!("no finding at or above {fail_on}")),
    ))
}

/// `store.history`: the bundle moves its channel forward by one step
/// from the newest version the store holds (docs/policy.md §7); otherwise it is a rollback or a fork, refused unless the
/// policy allows it.
pub(crate) fn history(bundle: &OpenBundle, channel: &ChannelState, policy: &Policy) -> Step<()> {
    let m = &bundle.manifest;
    let digest = bundle.manifest_sha256;
    if let Some((seq, current, _)) = &channel.current
        && *current == digest
    {
        return Ok((
            (),
            Verdict::pass(format!("already imported as sequence {seq}")),
        ));
    }
    let mut known: BTreeMap<u64, Sha256Digest> = channel.versions.clone();
    if let Some((seq, d, _)) = &channel.current {
        known.entry(*seq).or_insert(*d);
    }
    let Some((&newest, &newest_digest)) = known.iter().next_back() else {
        return Ok(((), Verdict::pass("first import: trust on first use")));
    };
    // Another model on this channel is neither a newer nor an older
    // version of it: no history rule can make it one (issue 16).
    if let Some(model) = &channel.model
        && *model != m.name
    {
        return Err(Verdict::fail(
            Failure::Rollback,
            format!(
                "this bundle is {:?}, a different model from {model:?}, which channel {} holds; import it on a channel of its own (pack --channel)",
                m.name, m.channel
            ),
        ));
    }
    let rollback = |why: String| allow_or_fail(policy.history.allow_rollback, "rollback", why);
    let fork = |why: String| allow_or_fail(policy.history.allow_fork, "fork", why);
    if let Some((seq, _)) = known.iter().find(|(_, d)| **d == digest) {
        return rollback(format!(
            "this bundle is version {seq}, which the store keeps already; to make it current again, run `lbom rollback STORE --channel {} --to {seq}`",
            m.channel
        ));
    }
    if m.sequence < newest {
        return rollback(format!(
            "sequence {} is below the channel's newest sequence {newest}",
            m.sequence
        ));
    }
    if known.contains_key(&m.sequence) {
        return fork(format!(
            "sequence {} is already on the channel with a different manifest",
            m.sequence
        ));
    }
    match &m.previous {
        Some(p) if p.sequence == newest && p.manifest_sha256 == newest_digest => Ok((
            (),
            Verdict::pass(format!(
                "sequence {} follows the channel's newest sequence {newest}",
                m.sequence
            )),
        )),
        Some(p) => fork(format!(
            "previous names sequence {} ({}), not the channel's newest sequence {newest} ({newest_digest})",
            p.sequence, p.manifest_sha256
        )),
        None => fork("the bundle names no previous bundle but the channel is not empty".into()),
    }
}

fn allow_or_fail(allowed: bool, what: &str, why: String) -> Step<()> {
    if allowed {
        Ok((
            (),
            Verdict::warn(format!("{what} allowed by the policy: {why}")),
        ))
    } else {
        Err(Verdict::fail(Failure::Rollback, format!("{what}: {why}")))
    }
}

#[cfg(test)]
mod tests {
    use super::licence_ids;

    #[test]
    fn every_operand_of_an_expression_is_a_licence_to_allow() {
        fn ids(e: &str) -> Vec<&str> {
            licence_ids(e).collect()
        }
        assert_eq!(ids("MIT"), ["MIT"]);
        assert_eq!(ids("MIT OR Apache-2.0"), ["MIT", "Apache-2.0"]);
        assert_eq!(
            ids("(MIT AND BSD-3-Clause) or GPL-2.0-only WITH Classpath-exception-2.0"),
            ["MIT", "BSD-3-Clause", "GPL-2.0-only"]
        );
        assert_eq!(ids("LicenseRef-llama3"), ["LicenseRef-llama3"]);
    }
}
