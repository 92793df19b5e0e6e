//! What the user typed: clap types only, no I/O. Kept free of lbom types so
//! the man page and completions can be generated from this file alone.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Make local LLM model files safe to move and to trust.
#[derive(Debug, Parser)]
#[command(name = "lbom", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// No progress bars and no warnings on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// lbom's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect model files or folders and write an SBOM.
    Scan(ScanArgs),
    /// Create an Ed25519 key pair: NAME.key (secret, 0600) and NAME.pub.
    Keygen(KeygenArgs),
    /// Pack models into a transfer bundle (FILE.lbom), optionally signing it.
    Pack(PackArgs),
    /// Append one signature link to a bundle's chain.
    Sign(SignArgs),
    /// Show a bundle's contents and chain without trusting any of it.
    Inspect(InspectArgs),
    /// Check a bundle against a trust policy; report every check.
    Verify(VerifyArgs),
    /// Verify a bundle while extracting it into a model store; commit atomically.
    Import(ImportArgs),
    /// Report drift between two bundles, store baselines or scan JSONs.
    Diff(DiffArgs),
    /// Re-hash a store's versions against their recorded baselines.
    Audit(AuditArgs),
    /// Point a channel's `current` back to a kept version.
    Rollback(RollbackArgs),
    /// Show a channel's import and rollback history.
    Log(LogArgs),
    /// Write trust policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Create model stores.
    #[command(subcommand)]
    Store(StoreCommand),

    /// Print lbom's version.
    Version,
}

/// Output formats of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// l-bom compatible JSON report (one object for one model, else an array).
    Json,
    /// One row per model, for people.
    Table,
    /// SPDX 2.3 tag-value.
    Spdx,
    /// SPDX 2.3 JSON.
    SpdxJson,
    /// CycloneDX JSON ML-BOM.
    Cyclonedx,
    /// A Hugging Face model card (README.md).
    HfReadme,
}

/// Finding severity that makes `scan` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any warning or error finding.
    Warning,
    /// Any error finding.
    Error,
}

/// When to colour the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `lbom scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Model files or folders (Hugging Face folders and caches included).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ScanFormat::Json)]
    pub format: ScanFormat,
    /// Write the output to FILE instead of stdout (replaced atomically).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not compute SHA-256 (header-only scan).
    #[arg(long)]
    pub no_hash: bool,
    /// Files hashed in parallel (default: one per core).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Colour the table.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// hf-readme: title of the model card / Space.
    #[arg(long, value_name = "T")]
    pub hf_title: Option<String>,
    /// hf-readme: short description.
    #[arg(long, value_name = "D")]
    pub hf_short_description: Option<String>,
    /// hf-readme: Space SDK (gradio, streamlit, docker, static); adds the Space fields.
    #[arg(long, value_name = "S")]
    pub hf_sdk: Option<String>,
    /// hf-readme: Space app file.
    #[arg(long, value_name = "F")]
    pub hf_app_file: Option<String>,
    /// hf-readme: Space app port.
    #[arg(long, value_name = "P")]
    pub hf_app_port: Option<u16>,
}

/// `lbom keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Writes NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM).
    #[arg(value_name = "NAME")]
    pub name: PathBuf,
    /// Encrypt the secret key with the passphrase in this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
}

/// `lbom pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// Model files or folders to pack.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The bundle to write (FILE.lbom); refused if it exists.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Bundle name: the model (default: the previous bundle's, else the
    /// first input's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Release channel (default: the previous bundle's, else "default").
    #[arg(long)]
    pub channel: Option<String>,
    /// Monotonic sequence number on the channel (default: previous + 1, or 1).
    #[arg(long)]
    pub sequence: Option<u64>,
    /// The previous bundle on the channel; its manifest digest is recorded.
    #[arg(long, value_name = "OLD.lbom")]
    pub previous: Option<PathBuf>,
    /// Expiry after creation, e.g. 30d, 12h, P90D.
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// Artifact compression: auto, none, zstd or zstd:LEVEL.
    #[arg(long, default_value = "auto", value_name = "MODE")]
    pub compress: String,
    /// Files hashed in parallel, 1 to 4 (default: one per core, at most 4);
    /// the bundle is the same for any number.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=i64::from(lbom::bundle::pack::MAX_PACK_WORKERS)))]
    pub jobs: Option<u16>,
    /// Sign at once with this key (PKCS#8 PEM).
    #[arg(long, value_name = "KEY", requires = "role")]
    pub key: Option<PathBuf>,
    /// The signer's role for the first link (maintainer, reviewer,
    /// transfer or station).
    #[arg(long, value_name = "ROLE", requires = "key")]
    pub role: Option<String>,
    /// Allow a --role other than lbom's own (a typo is refused without it).
    #[arg(long, requires = "role")]
    pub custom_role: bool,
    /// Passphrase of an encrypted key, from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
}

/// `lbom sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The bundle to countersign.
    #[arg(value_name = "FILE.lbom")]
    pub bundle: PathBuf,
    /// Secret key (PKCS#8 PEM).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The signer's role (maintainer, reviewer, transfer or station).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Allow a --role other than lbom's own (a typo is refused without it).
    #[arg(long)]
    pub custom_role: bool,
    /// A note carried in the signed link.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Passphrase of an encrypted key, from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
}

/// `lbom inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The bundle to show.
    #[arg(value_name = "FILE.lbom")]
    pub bundle: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `lbom verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle to verify.
    #[arg(value_name = "FILE.lbom")]
    pub bundle: PathBuf,
    /// The trust policy (TOML; see docs/policy.md, or `lbom policy init`).
    #[arg(long, value_name = "P")]
    pub policy: PathBuf,
    /// Also check sequence and previous digest against this store's channel.
    #[arg(long, value_name = "STORE")]
    pub store: Option<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Text: also list the checks a failure left unmade (`skip`).
    #[arg(long, short)]
    pub verbose: bool,
}

/// `lbom import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle to import.
    #[arg(value_name = "FILE.lbom")]
    pub bundle: PathBuf,
    /// The model store (see `lbom store init`).
    #[arg(long, value_name = "STORE")]
    pub into: PathBuf,
    /// Create the store when STORE is missing or an empty folder (without
    /// it, importing into a folder that holds no store is an error).
    #[arg(long)]
    pub create: bool,
    /// The trust policy.
    #[arg(long, value_name = "P")]
    pub policy: PathBuf,
    /// Sign a receipt with this station key (PKCS#8 PEM).
    #[arg(long, value_name = "STATION.key")]
    pub key: Option<PathBuf>,
    /// Passphrase of an encrypted key, from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Accept drift of this class (repeat for each; see docs/drift.md).
    #[arg(long, value_name = "CLASS")]
    pub accept_drift: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Text: also list the checks a failure left unmade (`skip`).
    #[arg(long, short)]
    pub verbose: bool,
}

/// Output formats of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// For people, most consequential changes first.
    Text,
    /// For machines (schema: docs/drift.md).
    Json,
    /// For a change-review ticket.
    Markdown,
}

/// `lbom diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old side: a bundle, a store (its channel's current version), a
    /// version folder STORE/<channel>/<seq>, or a scan JSON.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new side, of any of the same kinds.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// The channel, when a side is a store with several.
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// `lbom audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The model store.
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// Only this channel (default: every channel).
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Every kept version, not only `current`.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `lbom rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The model store.
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// The channel (may be left out when the store has one).
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// The kept version to switch `current` to.
    #[arg(long, value_name = "SEQ")]
    pub to: u64,
}

/// `lbom log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// The model store.
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// The channel (may be left out when the store has one).
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `lbom policy`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a commented policy with safe defaults.
    Init(PolicyInitArgs),
}

/// `lbom policy init`.
#[derive(Debug, Args)]
pub struct PolicyInitArgs {
    /// The policy file to write (refused if it exists).
    #[arg(long, short, value_name = "P")]
    pub output: PathBuf,
    /// A trusted key: NAME=KEY.pub:ROLE[,ROLE]... (repeat for each key).
    #[arg(long, value_name = "NAME=KEY.pub:ROLES", required = true)]
    pub trust: Vec<String>,
    /// A role every bundle must carry (default: every role named in --trust).
    #[arg(long, value_name = "ROLE")]
    pub require: Vec<String>,
    /// Signatures a role needs, in unique keys: ROLE=N (default 1).
    #[arg(long, value_name = "ROLE=N")]
    pub threshold: Vec<String>,
}

/// `lbom store`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Create an empty model store (a missing or empty folder).
    Init(StoreInitArgs),
}

/// `lbom store init`.
#[derive(Debug, Args)]
pub struct StoreInitArgs {
    /// The folder to make a store (created when missing; refused when it
    /// holds anything).
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
}

/// Text for people or JSON for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For people.
    Text,
    /// For machines.
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn l_bom_flags_are_accepted() {
        let cli = Cli::try_parse_from([
            "lbom",
            "scan",
            "m.gguf",
            "--format",
            "hf-readme",
            "--output",
            "README.md",
            "--no-hash",
            "--hf-title",
            "T",
            "--hf-short-description",
            "D",
            "--hf-sdk",
            "gradio",
            "--hf-app-file",
            "app.py",
            "--hf-app-port",
            "7860",
        ]);
        assert!(matches!(
            cli,
            Ok(Cli {
                command: Command::Scan(ScanArgs { no_hash: true, .. }),
                ..
            })
        ));
        assert!(Cli::try_parse_from(["lbom", "scan"]).is_err());
        assert!(Cli::try_parse_from(["lbom", "scan", "x", "--jobs", "0"]).is_err());
        assert!(Cli::try_parse_from(["lbom", "pack", "x", "-o", "y", "--jobs", "0"]).is_err());
        assert!(Cli::try_parse_from(["lbom", "pack", "x", "-o", "y", "--jobs", "2"]).is_ok());
        assert!(Cli::try_parse_from(["lbom", "pack", "x", "-o", "y", "--jobs", "5"]).is_err());
    }

    #[test]
    fn pack_key_and_role_go_together() {
        let base = ["lbom", "pack", "m", "-o", "b.lbom"];
        assert!(Cli::try_parse_from(base).is_ok());
        assert!(Cli::try_parse_from([&base[..], &["--key", "k.key"]].concat()).is_err());
        assert!(Cli::try_parse_from([&base[..], &["--role", "maintainer"]].concat()).is_err());
        assert!(Cli::try_parse_from([&base[..], &["--key", "k", "--role", "r"]].concat()).is_ok());
    }
}
