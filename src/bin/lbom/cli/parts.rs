//! The arguments of the part set commands: `split`, `verify-parts`,
//! `repair`, `join` (docs/bundle-format.md, section 13).

use std::path::PathBuf;

use clap::Args;

use super::ReportFormat;

/// `lbom split`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// The bundle to cut.
    #[arg(value_name = "FILE.lbom")]
    pub bundle: PathBuf,
    /// The folder to write one medium folder per part into.
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
    /// Bytes per part: a number with K, M, G, T (1024) or KB, MB, GB, TB
    /// (1000), or a medium: dvd, dvd-dl, bd25, bd50, fat32.
    #[arg(long, value_name = "SIZE")]
    pub size: String,
    /// Parity parts to add: any this many lost or damaged parts can be rebuilt.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub parity: usize,
    /// Secret key to sign the part index with (PKCS#8 PEM).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The role the index's signer claims (transfer, usually).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Allow a --role other than lbom's own.
    #[arg(long)]
    pub custom_role: bool,
    /// Passphrase of an encrypted key, from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
}

/// `lbom verify-parts`.
#[derive(Debug, Args)]
pub struct VerifyPartsArgs {
    /// Media, folders or part files, in any order.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The trust policy whose keys may sign part indexes.
    #[arg(long, value_name = "P")]
    pub policy: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `lbom repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Media, folders or part files, in any order.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The trust policy whose keys may sign part indexes.
    #[arg(long, value_name = "P")]
    pub policy: PathBuf,
    /// The folder to write the rebuilt parts into (one medium folder each).
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
}

/// `lbom join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// Media, folders or part files, in any order.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The trust policy whose keys may sign part indexes.
    #[arg(long, value_name = "P")]
    pub policy: PathBuf,
    /// The bundle file to write (must not exist).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
}
