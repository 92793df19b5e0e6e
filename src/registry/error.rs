//! What can go wrong between lbom and an OCI registry, each with its class
//! (docs/registry.md, "Refusals"; the exit codes are the README's).

use std::path::PathBuf;

use crate::Class;

/// An error of `push`, `pull`, `verify oci://` or `export --oci-layout`.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The `oci://` reference does not parse (exit 2).
    #[error("{0}")]
    Reference(String),
    /// The credentials file or the CA file cannot be used (exit 2).
    #[error("{}: {reason}", path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// What was asked cannot be published or read this way (exit 2).
    #[error("{0}")]
    Unsupported(String),
    /// The registry has no manifest under that tag or digest (exit 10, as
    /// a missing file).
    #[error("{0}")]
    NotFound(String),
    /// The registry could not be reached, or the exchange broke (exit 10).
    #[error("{url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The registry answered with a status lbom did not expect (exit 10).
    #[error("{method} {url}: the registry answered {status}{}", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    Status {
        /// The request's method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the registry's error body, escaped.
        detail: String,
    },
    /// The registry refused the credentials (exit 5).
    #[error("{url}: the registry refused the credentials ({detail})")]
    Unauthorized {
        /// The URL.
        url: String,
        /// What it said.
        detail: String,
    },
    /// Content does not have the digest or size it is named by (exit 4).
    #[error("{what}: expected {want}, the registry served {got}")]
    Digest {
        /// What was read.
        what: String,
        /// Its name (digest or size).
        want: String,
        /// What it was.
        got: String,
    },
    /// The artifact is not the one docs/registry.md describes (exit 3).
    #[error("{0}")]
    Artifact(String),
    /// The evidence does not vouch for the artifact (exit 5): no receipt,
    /// a receipt by a key the policy does not trust for `station`, a
    /// receipt or chain over another manifest.
    #[error("{0}")]
    Evidence(String),
    /// A local file could not be read or written (exit 10).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store refused (its own class).
    #[error(transparent)]
    Store(#[from] crate::import::StoreError),
    /// A bundle could not be written (its own class).
    #[error(transparent)]
    Bundle(#[from] crate::bundle::Error),
}

impl RegistryError {
    /// The failure class behind the exit code.
    pub fn class(&self) -> Class {
        match self {
            RegistryError::Reference(_)
            | RegistryError::Credentials { .. }
            | RegistryError::Unsupported(_) => Class::Usage,
            RegistryError::NotFound(_)
            | RegistryError::Http { .. }
            | RegistryError::Status { .. }
            | RegistryError::Io { .. } => Class::Io,
            RegistryError::Unauthorized { .. } | RegistryError::Evidence(_) => Class::Trust,
            RegistryError::Digest { .. } => Class::Integrity,
            RegistryError::Artifact(_) => Class::Malformed,
            RegistryError::Store(e) => e.class(),
            RegistryError::Bundle(e) => e.class(),
        }
    }

    /// An [`RegistryError::Io`] at `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RegistryError {
        let path = path.into();
        move |source| RegistryError::Io { path, source }
    }
}
