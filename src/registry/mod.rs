//! The last hop, from a station's store to a fleet: an OCI registry
//! (docs/registry.md). `push` publishes a stored, verified version as a
//! CNCF ModelPack artifact with its evidence attached as OCI 1.1
//! referrers; `pull` and `verify oci://` check that evidence against the
//! node's policy before any weight byte, then verify and import the
//! bundle, read in place from the layers, exactly as a bundle from the
//! air gap;
//! `export --oci-layout` writes the same artifact as an image layout.
//!
//! - [`reference`]: parsing `oci://` references.
//! - [`auth`]: Docker `config.json` credentials, basic and bearer.
//! - [`client`]: the blocking distribution-API client (why not
//!   `oci-client`: its module docs).
//! - [`layout`]: the documents and media types of the artifact.
//! - [`publication`]: a stored version as those documents and blobs.
//! - [`push`](mod@push), [`pull`](mod@pull), [`export`]: the commands.
//! - [`evidence`]: the receipt and link checks made before weight bytes.
//! - [`reencode`]: a bundle's zstd entry given back from its raw layer.
//! - [`source`]: the artifact read as its bundle, in place (no bundle
//!   written); [`range`]: the layer reads it makes (`Range` requests).
//! - [`error`]: [`RegistryError`] and its classes.

pub mod auth;
pub mod client;
pub mod error;
pub mod evidence;
pub mod export;
pub mod layout;
pub mod publication;
pub mod pull;
pub mod push;
pub mod range;
pub mod reencode;
pub mod reference;
pub mod source;

#[cfg(any(test, feature = "internals"))]
pub use client::Client;
pub use client::ClientOptions;
pub use error::RegistryError;
pub use export::{Exported, export_layout};
#[cfg(any(test, feature = "internals"))]
pub use pull::open;
pub use pull::{Fetched, pull, verify_remote};
pub use push::{Pushed, push};
pub use reference::{Reference, Target};
