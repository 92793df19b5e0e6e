//! `lbom policy init`.

use std::io::Write;

use anyhow::Context as _;

use lbom::policy::{InitSpec, init, parse_threshold_arg, parse_trust_arg};

use crate::cli::PolicyInitArgs;
use crate::exit;

/// Write a commented policy with safe defaults; refuse to overwrite.
pub fn init_policy(args: &PolicyInitArgs, quiet: bool) -> anyhow::Result<u8> {
    let dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let trust = args
        .trust
        .iter()
        .map(|t| parse_trust_arg(t).context("--trust"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let thresholds = args
        .threshold
        .iter()
        .map(|t| parse_threshold_arg(t))
        .collect::<Result<Vec<_>, _>>()
        .context("--threshold")?;
    let text = init(&InitSpec {
        trust,
        require: args.require.clone(),
        thresholds,
        policy_dir: Some(dir),
    })?;
    // create_new: never overwrite a policy someone may have edited.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.output)
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {}",
                args.output.display(),
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    "already exists; refusing to overwrite".to_owned()
                } else {
                    e.to_string()
                }
            )
        })?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    note!("lbom: wrote {}", args.output.display());
    if !quiet {
        let written = lbom::Policy::from_toml(&text, &args.output)?;
        super::verify::warn_policy_notes(&written);
    }
    Ok(exit::SUCCESS)
}
