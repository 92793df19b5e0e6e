//! What the user typed: clap types only, no I/O. Kept free of lbom types so
//! the man page and completions can be generated from this file alone.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use lbom::DriftClass;

mod parts;
mod registry;
pub use parts::{JoinArgs, RepairArgs, SplitArgs, VerifyPartsArgs};
pub use registry::{ExportArgs, PullArgs, PushArgs, RegistryArgs};

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
// Parsed once per run: the size of the largest variant (pack's many
// flags) costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Inspect model files or folders and write an SBOM.
    #[command(
        after_help = "Examples:\n  lbom scan model.gguf\n  lbom scan ./my-model/ --format table\n  lbom scan ./models --format cyclonedx -o sbom.cdx.json --fail-on error"
    )]
    Scan(ScanArgs),
    /// Create an Ed25519 key pair: NAME.key (secret, 0600) and NAME.pub.
    #[command(
        after_help = "Examples:\n  lbom keygen release\n  LBOM_PASS=... lbom keygen release --passphrase-env LBOM_PASS"
    )]
    Keygen(KeygenArgs),
    /// Pack models into a transfer bundle (FILE.lbom), optionally signing it.
    #[command(
        after_help = "Examples:\n  lbom pack ./my-model/ -o my-model.lbom --channel stable --key release.key --role maintainer\n  lbom pack ./my-model-v2/ -o v2.lbom --previous my-model.lbom --key release.key --role maintainer"
    )]
    Pack(PackArgs),
    /// Append one signature link to a bundle's chain.
    #[command(
        after_help = "Example:\n  lbom sign my-model.lbom --key desk.key --role transfer --note \"USB 7, 2026-11-24\""
    )]
    Sign(SignArgs),
    /// Show a bundle's contents and chain without trusting any of it.
    #[command(
        after_help = "Examples:\n  lbom inspect my-model.lbom\n  lbom inspect my-model.lbom --format json"
    )]
    Inspect(InspectArgs),
    /// Check a bundle against a trust policy; report every check.
    #[command(
        after_help = "Examples:\n  lbom verify my-model.lbom --policy station.toml\n  lbom verify my-model.lbom --policy station.toml --store /srv/models --format json"
    )]
    Verify(VerifyArgs),
    /// Verify a bundle while extracting it into a model store; commit atomically.
    #[command(
        after_help = "Examples:\n  lbom store init /srv/models\n  lbom import my-model.lbom --into /srv/models --policy station.toml --key station.key\n  lbom import v2.lbom --into /srv/models --policy station.toml --accept-drift quantization"
    )]
    Import(ImportArgs),
    /// Report drift between two bundles, store baselines or scan JSONs.
    #[command(
        after_help = "Examples:\n  lbom diff /srv/models my-model-v2.lbom\n  lbom diff v1.lbom v2.lbom --format markdown > review.md\n  lbom diff old.gguf new.gguf"
    )]
    Diff(DiffArgs),
    /// Re-hash a store's versions against their recorded baselines.
    #[command(
        after_help = "Examples:\n  lbom audit /srv/models\n  lbom audit /srv/models --all --format json"
    )]
    Audit(AuditArgs),
    /// Point a channel's `current` back to a kept version.
    #[command(after_help = "Example:\n  lbom rollback /srv/models --channel stable --to 3")]
    Rollback(RollbackArgs),
    /// Remove a channel's old versions: keep the newest N and `current`.
    #[command(after_help = "Example:\n  lbom prune /srv/models --channel stable --keep 3")]
    Prune(PruneArgs),
    /// Show a channel's import, rollback and prune history.
    #[command(after_help = "Example:\n  lbom log /srv/models --channel stable")]
    Log(LogArgs),
    /// Publish a stored version to an OCI registry as a ModelPack artifact with its evidence.
    #[command(
        after_help = "Examples:\n  lbom push /srv/models --channel stable oci://registry.example/models/llama:stable\n  lbom push /srv/models --channel stable --version 3 oci://127.0.0.1:5000/models/llama"
    )]
    Push(PushArgs),
    /// Fetch a registry artifact, check its evidence, verify and import it into a store.
    #[command(
        after_help = "Examples:\n  lbom pull oci://registry.example/models/llama@sha256:... --into /srv/models --policy node.toml"
    )]
    Pull(PullArgs),
    /// Write a stored version as an OCI image layout (the artifact `push` sends).
    #[command(
        after_help = "Example:\n  lbom export /srv/models --channel stable --oci-layout ./llama-oci"
    )]
    Export(ExportArgs),
    /// Cut a bundle into parts that fit a medium, with parity and a signed index.
    #[command(
        after_help = "Examples:\n  lbom split my-model.lbom -o media/ --size dvd --parity 2 --key desk.key --role transfer\n  lbom split my-model.lbom -o media/ --size 4G --key desk.key --role transfer"
    )]
    Split(SplitArgs),
    /// Check a part set's index and every part, read-only; say what to copy again.
    #[command(
        name = "verify-parts",
        after_help = "Examples:\n  lbom verify-parts /media/dvd1 /media/dvd2 --policy station.toml\n  lbom verify-parts arrived/ --policy station.toml --format json"
    )]
    VerifyParts(VerifyPartsArgs),
    /// Rebuild a part set's missing and damaged parts from parity.
    #[command(
        after_help = "Example:\n  lbom repair /media/dvd1 /media/dvd3 --policy station.toml -o rebuilt/"
    )]
    Repair(RepairArgs),
    /// Write a part set's bundle as one file, checked against its index.
    #[command(
        after_help = "Example:\n  lbom join /media/dvd1 /media/dvd2 --policy station.toml -o my-model.lbom"
    )]
    Join(JoinArgs),
    /// Write trust policies.
    #[command(subcommand)]
    #[command(
        after_help = "Example:\n  lbom policy init -o station.toml --trust alice=alice.pub:maintainer --trust desk=desk.pub:transfer"
    )]
    Policy(PolicyCommand),
    /// Create model stores.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  lbom store init /srv/models")]
    Store(StoreCommand),

    /// Print lbom's version, bare (`0.1.0`), for scripts.
    #[command(after_help = "Example:\n  lbom version")]
    Version,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  lbom completions bash > /etc/bash_completion.d/lbom\n  lbom completions zsh > ~/.zfunc/_lbom"
    )]
    Completions(CompletionsArgs),
    /// Write man pages (lbom.1 and one per command) into a folder.
    #[command(hide = true, after_help = "Example:\n  lbom man out/man")]
    Man(ManArgs),
}

/// `lbom completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `lbom man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write the pages into (created when missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
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
    /// SPDX 3.0.1 JSON-LD with the AI profile (AIPackage).
    Spdx3,
    /// CycloneDX JSON ML-BOM.
    Cyclonedx,
    /// A Hugging Face model card (README.md).
    HfReadme,
    /// SARIF 2.1.0: the findings, for CI code scanning.
    Sarif,
}

/// CycloneDX spec versions `scan` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CdxVersion {
    /// CycloneDX 1.5 (facts as properties).
    #[value(name = "1.5")]
    V1_5,
    /// CycloneDX 1.6 (facts in first-class fields).
    #[value(name = "1.6")]
    V1_6,
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
    /// cyclonedx: the CycloneDX spec version to write.
    #[arg(long, value_enum, value_name = "V", default_value_t = CdxVersion::V1_6)]
    pub spec_version: CdxVersion,
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
    /// Write a differential bundle against this full bundle of the channel
    /// (docs/bundle-format.md §14): only what it lacks is shipped. It is
    /// also the previous bundle unless --previous names another.
    #[arg(long, value_name = "BASE.lbom")]
    pub base: Option<PathBuf>,
    /// With --base: a file of (device, inode, size, mtime, ctime) and the
    /// SHA-256 an earlier pack read; a file whose five are unchanged and
    /// whose digest is the base's is not read again (created if missing).
    #[arg(long, value_name = "FILE", requires = "base")]
    pub hash_cache: Option<PathBuf>,
    /// Expiry after creation, e.g. 30d, 12h, P90D.
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
    /// Artifact compression: auto, none, zstd or zstd:LEVEL.
    #[arg(long, default_value = "auto", value_name = "MODE")]
    pub compress: String,
    /// Files hashed in parallel, as for scan (default: one per core); pack
    /// uses at most 4, and the bundle is the same for any number.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
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
    /// Passphrase of an encrypted key, from this environment variable
    /// (without it, lbom asks on a terminal).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Write the bundle as parts of this size (bytes with K, M, G, T, KB,
    /// MB, GB, TB, or dvd, dvd-dl, bd25, bd50, fat32): one medium folder
    /// per part beside FILE, which names the set and is never written; no
    /// file larger than one part is written.
    #[arg(long, value_name = "SIZE", requires_all = ["split_key", "split_role"])]
    pub split: Option<String>,
    /// With --split: parity parts to add.
    #[arg(long, value_name = "N", requires = "split", default_value_t = 0)]
    pub parity: usize,
    /// With --split: the key that signs the part index (PKCS#8 PEM).
    #[arg(long, value_name = "KEY", requires = "split")]
    pub split_key: Option<PathBuf>,
    /// With --split: the role the part index's signer claims (transfer, usually).
    #[arg(long, value_name = "ROLE", requires = "split")]
    pub split_role: Option<String>,
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
    /// Passphrase of an encrypted key, from this environment variable
    /// (without it, lbom asks on a terminal).
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
    /// The bundle to verify, or a folder holding its part set (`lbom split`),
    /// read through without joining.
    #[arg(value_name = "FILE.lbom")]
    pub bundle: PathBuf,
    /// More folders of the same part set, when its parts are spread over
    /// several media: each mounted medium's folder, in any order.
    #[arg(value_name = "MORE_MEDIA")]
    pub more_media: Vec<PathBuf>,
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
    /// Threads scanning artifacts ahead of the checks, as for scan
    /// (default: one per core); at most 4, and the report is the same for
    /// any number.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// How to reach the registry when FILE.lbom is an `oci://` reference.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `lbom import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle to import, or a folder holding its part set (`lbom split`),
    /// read through without joining.
    #[arg(value_name = "FILE.lbom")]
    pub bundle: PathBuf,
    /// More folders of the same part set, when its parts are spread over
    /// several media: each mounted medium's folder, in any order.
    #[arg(value_name = "MORE_MEDIA")]
    pub more_media: Vec<PathBuf>,
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
    /// Passphrase of an encrypted key, from this environment variable
    /// (without it, lbom asks on a terminal).
    #[arg(long, value_name = "VAR")]
    pub passphrase_env: Option<String>,
    /// Accept drift of this class (repeat for each; see docs/drift.md).
    #[arg(long, value_name = "CLASS", value_parser = DriftClassParser)]
    pub accept_drift: Vec<DriftClass>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Text: also list the checks a failure left unmade (`skip`).
    #[arg(long, short)]
    pub verbose: bool,
    /// Threads scanning artifacts ahead of the checks, as for scan
    /// (default: one per core); at most 4, and the report is the same for
    /// any number.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
}

/// `--accept-drift CLASS`: a [`DriftClass`] by its stable name, the
/// possible values listed in `--help`. Not clap's derived value enum: clap
/// would echo a refused value raw, and the value may hold anything a
/// terminal obeys (docs/threat-model.md, G13); this parser escapes it.
#[derive(Debug, Clone, Copy)]
pub struct DriftClassParser;

impl clap::builder::TypedValueParser for DriftClassParser {
    type Value = DriftClass;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<DriftClass, clap::Error> {
        let raw = value.to_string_lossy();
        DriftClass::from_name(&raw).ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!(
                    "--accept-drift {} is not a drift class (one of: {})\n",
                    lbom::visible(&format!("{raw:?}")),
                    DriftClass::names().join(", ")
                ),
            )
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            DriftClass::ALL
                .into_iter()
                .map(|c| clap::builder::PossibleValue::new(c.as_str())),
        ))
    }
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

/// `lbom prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The model store.
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// The channel (may be left out when the store has one).
    #[arg(long, value_name = "C")]
    pub channel: Option<String>,
    /// How many of the newest kept versions to keep (`current` is kept
    /// whatever its age).
    #[arg(long, value_name = "N")]
    pub keep: usize,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
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
    #[command(
        after_help = "Example:\n  lbom policy init -o station.toml --trust alice=keys/alice.pub:maintainer --trust desk=keys/desk.pub:transfer --threshold maintainer=1"
    )]
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
    #[command(after_help = "Example:\n  lbom store init /srv/models")]
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
        // --jobs means the same on every command: any number a scan takes.
        assert!(Cli::try_parse_from(["lbom", "pack", "x", "-o", "y", "--jobs", "5"]).is_ok());
        assert!(Cli::try_parse_from(["lbom", "pack", "x", "-o", "y", "--jobs", "1025"]).is_err());
        for command in [
            &["verify", "b.lbom", "--policy", "p"][..],
            &["import", "b.lbom", "--into", "s", "--policy", "p"],
        ] {
            let with = |jobs: &str| {
                let mut args = vec!["lbom"];
                args.extend(command);
                args.extend(["--jobs", jobs]);
                Cli::try_parse_from(args)
            };
            assert!(with("0").is_err() && with("1025").is_err(), "{command:?}");
            assert!(with("1").is_ok() && with("1024").is_ok(), "{command:?}");
        }
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        let mut cli = Cli::command();
        cli.build();
        let mut stack: Vec<&clap::Command> = cli
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        let mut seen = 0;
        while let Some(c) = stack.pop() {
            seen += 1;
            let after = c
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                after.starts_with("Example") && after.contains("  lbom "),
                "{} has no example: {after:?}",
                c.get_name()
            );
            stack.extend(c.get_subcommands().filter(|s| s.get_name() != "help"));
        }
        assert!(seen >= 15, "{seen}");
    }

    #[test]
    fn accept_drift_help_lists_every_drift_class() {
        let mut cli = Cli::command();
        cli.build();
        let help = cli
            .find_subcommand_mut("import")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        for class in lbom::DriftClass::ALL {
            assert!(
                help.contains(class.as_str()),
                "{} missing from:\n{help}",
                class.as_str()
            );
        }
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
