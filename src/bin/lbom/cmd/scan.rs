//! `lbom scan`.

use lbom::{
    CycloneDxVersion, DocumentFormat, DocumentInfo, HfReadmeOptions, Limits, ScanOptions, Severity,
};

use crate::cli::{CdxVersion, ColorChoice, FailOn, ScanArgs, ScanFormat};
use crate::exit;
use crate::output::Output;
use crate::progress::ScanBar;

/// Scan, write the chosen format, and exit 1 when `--fail-on` is met.
pub fn run(args: &ScanArgs, quiet: bool) -> anyhow::Result<u8> {
    let info = DocumentInfo::from_environment()?;
    let options = ScanOptions {
        hash: !args.no_hash,
        jobs: args.jobs.map(usize::from),
    };
    let bar = ScanBar::new(quiet);
    let result = lbom::scan(&args.paths, &options, &Limits::default(), &bar);
    bar.finish();
    let models = result?;

    let mut out = Output::open(args.output.as_deref())?;
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => out.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let format = document_format(args, color);
    // Each writer escapes untrusted values for its own syntax; what it
    // wrote then goes through lbom's escaping writers all the same.
    let mut rendered = Vec::new();
    lbom::write_document(&models, &format, &info, &mut rendered)?;
    match format {
        _ if format.is_json() => out.json_document(&rendered)?,
        DocumentFormat::Table { colour: true } => {
            out.text_with_colour().document_bytes(&rendered)?
        }
        _ => out.text().document_bytes(&rendered)?,
    }
    out.finish()?;

    let worst = models.iter().filter_map(|m| m.worst_severity()).max();
    let threshold = args.fail_on.map(|f| match f {
        FailOn::Warning => Severity::Warning,
        FailOn::Error => Severity::Error,
    });
    Ok(match (worst, threshold) {
        (Some(w), Some(t)) if w >= t => exit::FINDINGS,
        _ => exit::SUCCESS,
    })
}

/// The document `--format` (and its options) names.
fn document_format(args: &ScanArgs, colour: bool) -> DocumentFormat {
    match args.format {
        ScanFormat::Json => DocumentFormat::Json,
        ScanFormat::Table => DocumentFormat::Table { colour },
        ScanFormat::Spdx => DocumentFormat::SpdxTagValue,
        ScanFormat::SpdxJson => DocumentFormat::SpdxJson,
        ScanFormat::Spdx3 => DocumentFormat::Spdx3,
        ScanFormat::Cyclonedx => DocumentFormat::CycloneDx(match args.spec_version {
            CdxVersion::V1_5 => CycloneDxVersion::V1_5,
            CdxVersion::V1_6 => CycloneDxVersion::V1_6,
        }),
        ScanFormat::Sarif => DocumentFormat::Sarif,
        ScanFormat::HfReadme => DocumentFormat::HfReadme(HfReadmeOptions {
            title: args.hf_title.clone(),
            short_description: args.hf_short_description.clone(),
            sdk: args.hf_sdk.clone(),
            app_file: args.hf_app_file.clone(),
            app_port: args.hf_app_port,
        }),
    }
}
