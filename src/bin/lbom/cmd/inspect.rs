//! `lbom inspect`.

use lbom::BundleInfo;
use lbom::TextOut;
use lbom::outln;

use crate::cli::{InspectArgs, ReportFormat};
use crate::exit;
use crate::output::Output;

/// Show everything the bundle claims, saying that none of it is verified.
pub fn run(args: &InspectArgs) -> anyhow::Result<u8> {
    let info = lbom::read_info(&args.bundle)?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => out.json(&info)?,
        ReportFormat::Text => write_text(&info, &mut out.text())?,
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}

/// Every line goes through `TextOut`, which escapes what it quotes from the
/// bundle: entry names, the tool, link notes, SBOM fields.
fn write_text(info: &BundleInfo, w: &mut TextOut<'_>) -> std::io::Result<()> {
    let m = &info.manifest;
    outln!(
        w,
        "UNTRUSTED: nothing below is verified; run `lbom verify` before relying on it."
    )?;
    outln!(
        w,
        "bundle    {} ({} bytes)",
        info.path.display(),
        info.file_size
    )?;
    outln!(w, "name      {}", m.name)?;
    outln!(w, "channel   {}", m.channel)?;
    outln!(w, "sequence  {}", m.sequence)?;
    match &m.previous {
        Some(p) => outln!(
            w,
            "previous  {}",
            serde_json::to_string(p).unwrap_or_default()
        )?,
        None => outln!(w, "previous  (none: first on the channel)")?,
    }
    if let (Some(b), Some(d)) = (&m.base, m.differential_totals()) {
        outln!(
            w,
            "base      {} (differential: {} artifact bytes shipped, {} of {} rebuilt from the base and shipped chunks)",
            serde_json::to_string(b).unwrap_or_default(),
            d.shipped_bytes,
            d.rebuilt_bytes,
            d.artifact_bytes
        )?;
    }
    outln!(w, "created   {}", m.created)?;
    outln!(w, "expires   {}", m.expires.as_deref().unwrap_or("never"))?;
    outln!(
        w,
        "tool      {}",
        serde_json::to_string(&m.tool).unwrap_or_default()
    )?;
    outln!(w, "manifest  sha256 {}", info.manifest_sha256)?;
    outln!(w)?;
    outln!(w, "entries ({}):", m.entries.len())?;
    for e in &m.entries {
        let encoding = serde_json::to_value(e.encoding).ok();
        let encoding = encoding.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        let role = serde_json::to_value(e.role).ok();
        let role = role.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        outln!(
            w,
            "  {:<11} {:>12} {:>12} {:<5} {}  {}",
            role,
            e.size,
            e.stored_size,
            encoding,
            e.sha256.short(16),
            e.path.as_str()
        )?;
    }
    if !info.sboms.is_empty() {
        outln!(w)?;
        outln!(w, "sboms:")?;
        for s in &info.sboms {
            outln!(
                w,
                "  {}  {}  {}",
                s.path,
                s.format.as_deref().unwrap_or("?"),
                s.components.join(", ")
            )?;
        }
    }
    outln!(w)?;
    outln!(
        w,
        "chain ({} links, signatures not checked):",
        info.links.len()
    )?;
    for l in &info.links {
        let p = &l.predicate;
        outln!(
            w,
            "  #{} {} key {}{} at {}{}",
            p.index,
            p.role,
            p.keyid,
            if lbom::is_demo_key(&p.keyid) {
                " (PUBLIC DEMO KEY: anyone can sign with it)"
            } else {
                ""
            },
            p.time,
            p.note
                .as_deref()
                .map(|n| format!(" note \"{n}\""))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}
