//! The only code that holds secret keys: key generation and key files.
//! Appending a signed link to a bundle is the bundle's own job
//! (`crate::bundle::append`); it signs with a [`SigningKey`] from here.

pub mod key;

use std::path::{Path, PathBuf};

pub use key::{SigningKey, keygen};
#[cfg(any(test, feature = "internals"))]
pub use key::load_public_key;

/// Errors of key handling and signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A key file already exists.
    #[error("{path}: already exists; refusing to overwrite a key file")]
    KeyFileExists {
        /// The file.
        path: PathBuf,
    },
    /// A key file is implausibly large.
    #[error("{path}: {size} bytes is too large for a key file")]
    KeyFileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The key is encrypted and no passphrase was given.
    #[error("key is encrypted: a passphrase is required")]
    PassphraseRequired,
    /// Decryption failed.
    #[error("wrong passphrase, or a damaged encrypted key")]
    WrongPassphrase,
    /// Not an Ed25519 PKCS#8 secret key: why, in one sentence.
    #[error("{0}")]
    KeyFormat(String),
    /// The OS random source failed.
    #[error("could not get random bytes: {0}")]
    Random(String),
    /// A key file's problem, with the file named.
    #[error("key file {path}")]
    InKeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// Public key problem.
    #[error(transparent)]
    Envelope(#[from] crate::envelope::Error),
}

impl Error {
    /// The class of this error (its exit code at the CLI): a key that
    /// cannot be used to sign is a trust failure.
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self {
            Error::Io { .. } | Error::KeyFileExists { .. } | Error::Random(_) => Class::Io,
            Error::KeyFileTooLarge { .. }
            | Error::PassphraseRequired
            | Error::WrongPassphrase
            | Error::KeyFormat(_)
            | Error::Envelope(_) => Class::Trust,
            Error::InKeyFile { source, .. } => source.class(),
        }
    }

    fn at(self, path: &Path) -> Self {
        Error::InKeyFile {
            path: path.to_path_buf(),
            source: Box::new(self),
        }
    }
}
