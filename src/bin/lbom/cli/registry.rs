//! The arguments of the registry commands: `push`, `pull`, `export`, and
//! how `verify oci://…` reaches a registry (docs/registry.md).

use std::path::PathBuf;

use clap::Args;
use lbom::DriftClass;

use super::{DriftClassParser, ReportFormat};

/// How to reach an OCI registry (docs/registry.md, "The client").
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Allow plain HTTP to a registry that is not on this machine (loopback
    /// registries are reached over plain HTTP unless --tls is given).
    #[arg(long)]
    pub insecure_http: bool,
    /// Use TLS to a loopback registry too.
    #[arg(long)]
    pub tls: bool,
    /// PEM file of the CA certificates to trust (instead of the built-in roots).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Docker config.json with the registry credentials (default:
    /// $DOCKER_CONFIG/config.json, else ~/.docker/config.json).
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,
}

/// `lbom push` (`--version N` is the stored version: no `--version` flag).
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct PushArgs {
    /// The model store.
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// The channel.
    #[arg(long, value_name = "C")]
    pub channel: String,
    /// The version (default: the channel's current version).
    #[arg(long = "version", id = "sequence", value_name = "N")]
    pub version: Option<u64>,
    /// Where: oci://HOST[:PORT]/REPOSITORY[:TAG] (default tag: CHANNEL-N).
    #[arg(value_name = "oci://HOST/REPO[:TAG]")]
    pub reference: String,
    /// Blobs uploaded at once (default: one per core, at most 4, as pack);
    /// the manifests follow once every blob is there.
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: Option<u16>,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `lbom pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// What: oci://HOST[:PORT]/REPOSITORY@sha256:HEX or :TAG.
    #[arg(value_name = "oci://HOST/REPO@sha256:…")]
    pub reference: String,
    /// The model store.
    #[arg(long, value_name = "STORE")]
    pub into: PathBuf,
    /// Create the store when STORE is missing or an empty folder.
    #[arg(long)]
    pub create: bool,
    /// The node's trust policy: the chain's keys, and the station's key
    /// with the role `station`.
    #[arg(long, value_name = "P")]
    pub policy: PathBuf,
    /// Accept drift of this class from the node's current version (repeat
    /// for each; see docs/drift.md).
    #[arg(long, value_name = "CLASS", value_parser = DriftClassParser)]
    pub accept_drift: Vec<DriftClass>,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Text: also list the checks a failure left unmade (`skip`).
    #[arg(long, short)]
    pub verbose: bool,
}

/// `lbom export` (`--version N` is the stored version: no `--version` flag).
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct ExportArgs {
    /// The model store.
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// The channel.
    #[arg(long, value_name = "C")]
    pub channel: String,
    /// The version (default: the channel's current version).
    #[arg(long = "version", id = "sequence", value_name = "N")]
    pub version: Option<u64>,
    /// Write an OCI image layout into this folder (missing or empty).
    #[arg(long, value_name = "DIR")]
    pub oci_layout: PathBuf,
    /// The tag in the layout's index.json (default: CHANNEL-N).
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
}
