//! `lbom scan`.

use lbom::describe::{self, DocumentInfo, hf_readme::HfReadmeOptions};
use lbom::inspect::{ScanOptions, Severity};
use lbom::limits::Limits;

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
    let result = lbom::inspect::scan(&args.paths, &options, &Limits::default(), &bar);
    bar.finish();
    let models = result?;

    let mut out = Output::open(args.output.as_deref())?;
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => out.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    // Each writer escapes untrusted values for its own syntax; what it
    // wrote then goes through lbom::safe all the same.
    let mut rendered = Vec::new();
    let w = &mut rendered;
    match args.format {
        ScanFormat::Json => describe::json::write(&models, &info, w)?,
        ScanFormat::Table => describe::table::write(&models, color, w)?,
        ScanFormat::Spdx => describe::spdx::write_tag_value(&models, &info, w)?,
        ScanFormat::SpdxJson => describe::spdx::write_json(&models, &info, w)?,
        ScanFormat::Spdx3 => describe::spdx3::write(&models, &info, w)?,
        ScanFormat::Cyclonedx => {
            let version = match args.spec_version {
                CdxVersion::V1_5 => describe::cyclonedx::SpecVersion::V1_5,
                CdxVersion::V1_6 => describe::cyclonedx::SpecVersion::V1_6,
            };
            describe::cyclonedx::write_json_version(&models, &info, version, w)?
        }
        ScanFormat::Sarif => describe::sarif::write(&models, &info, w)?,
        ScanFormat::HfReadme => {
            let opts = HfReadmeOptions {
                title: args.hf_title.clone(),
                short_description: args.hf_short_description.clone(),
                sdk: args.hf_sdk.clone(),
                app_file: args.hf_app_file.clone(),
                app_port: args.hf_app_port,
            };
            describe::hf_readme::write(&models, &opts, &info, w)?
        }
    }
    match args.format {
        ScanFormat::Json
        | ScanFormat::SpdxJson
        | ScanFormat::Spdx3
        | ScanFormat::Cyclonedx
        | ScanFormat::Sarif => {
            out.json_document(&rendered)?;
        }
        ScanFormat::Table if color => out.text_with_colour().document_bytes(&rendered)?,
        ScanFormat::Table | ScanFormat::Spdx | ScanFormat::HfReadme => {
            out.text().document_bytes(&rendered)?;
        }
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
