//! `lbom inspect`.

use std::io::Write;

use lbom::bundle::BundleInfo;
use lbom::describe::text::visible;

use crate::cli::{InspectArgs, ReportFormat};
use crate::exit;
use crate::output::Output;

/// Show everything the bundle claims, saying that none of it is verified.
pub fn run(args: &InspectArgs) -> anyhow::Result<u8> {
    let info = lbom::bundle::inspect(&args.bundle)?;
    let mut out = Output::open(None)?;
    match args.format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out.writer(), &info)?;
            writeln!(out.writer())?;
        }
        ReportFormat::Text => write_text(&info, out.writer())?,
    }
    out.finish()?;
    Ok(exit::SUCCESS)
}

fn write_text(info: &BundleInfo, w: &mut dyn Write) -> std::io::Result<()> {
    let m = &info.manifest;
    writeln!(
        w,
        "UNTRUSTED: nothing below is verified; run `lbom verify` before relying on it."
    )?;
    writeln!(
        w,
        "bundle    {} ({} bytes)",
        info.path.display(),
        info.file_size
    )?;
    writeln!(w, "name      {}", visible(&m.name))?;
    writeln!(w, "channel   {}", visible(&m.channel))?;
    writeln!(w, "sequence  {}", m.sequence)?;
    match &m.previous {
        Some(p) => writeln!(
            w,
            "previous  {}",
            serde_json::to_string(p).unwrap_or_default()
        )?,
        None => writeln!(w, "previous  (none: first on the channel)")?,
    }
    writeln!(w, "created   {}", visible(&m.created))?;
    writeln!(
        w,
        "expires   {}",
        visible(m.expires.as_deref().unwrap_or("never"))
    )?;
    writeln!(
        w,
        "tool      {}",
        serde_json::to_string(&m.tool).unwrap_or_default()
    )?;
    writeln!(w, "manifest  sha256 {}", info.manifest_sha256)?;
    writeln!(w, "\nentries ({}):", m.entries.len())?;
    for e in &m.entries {
        let encoding = serde_json::to_value(e.encoding).ok();
        let encoding = encoding.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        let role = serde_json::to_value(e.role).ok();
        let role = role.as_ref().and_then(|v| v.as_str()).unwrap_or("?");
        writeln!(
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
        writeln!(w, "\nsboms:")?;
        for s in &info.sboms {
            writeln!(
                w,
                "  {}  {}  {}",
                visible(&s.path),
                visible(s.format.as_deref().unwrap_or("?")),
                visible(&s.components.join(", "))
            )?;
        }
    }
    writeln!(
        w,
        "\nchain ({} links, signatures not checked):",
        info.links.len()
    )?;
    for l in &info.links {
        let p = &l.predicate;
        writeln!(
            w,
            "  #{} {} key {}{} at {}{}",
            p.index,
            visible(&p.role),
            p.keyid,
            if lbom::envelope::is_demo_key(&p.keyid) {
                " (PUBLIC DEMO KEY: anyone can sign with it)"
            } else {
                ""
            },
            visible(&p.time),
            p.note
                .as_deref()
                .map(|n| format!(" note {n:?}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}
