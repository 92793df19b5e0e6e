//! Store errors, each with its kind and the class behind its exit code.

use std::path::{Path, PathBuf};

/// What kind of failure a [`StoreError`] is (its [`crate::Class`] follows
/// from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreErrorKind {
    /// The OS refused a read or write (disk full, permission, EXDEV…).
    Io,
    /// Another process holds the store lock.
    Locked,
    /// The folder is not a store (or a newer store format).
    NotAStore,
    /// The store's own files contradict each other or are malformed, or a
    /// store path holds a link or another type than lbom keeps there: a
    /// damaged or tampered store (run `lbom audit`; docs/store.md §8).
    Damaged,
    /// The request cannot be done as asked: an unknown version to roll back
    /// to, an unsafe path, a bundle that changed while it was imported.
    Refused,
    /// The bundle conflicts with the channel's history: another bundle is
    /// kept under its sequence (a fork the store cannot hold).
    Conflict,
    /// A differential bundle's base is not the channel's current version
    /// (docs/bundle-format.md [B80]).
    Base,
}

/// Errors of the model store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file or folder could not be read or written.
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds `STORE/.lock`.
    #[error("{path}: store is locked by another lbom process (an import or rollback is running)")]
    Locked {
        /// The store.
        path: PathBuf,
    },
    /// The folder is neither empty nor a store.
    #[error("{path}: {reason}")]
    NotAStore {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `import` without `--create` into a folder that is missing or holds
    /// no store: creating a store is explicit, so that a mistyped path is
    /// never a new store that trusts its first bundle.
    #[error(
        "{path}: no lbom store here; create one with `lbom store init {path}` (or `lbom import --create`), or check the path"
    )]
    NoStore {
        /// The folder named.
        path: PathBuf,
    },
    /// The store's files are inconsistent or malformed.
    #[error("{path}: store is damaged: {reason}")]
    Damaged {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The request is refused.
    #[error("{0}")]
    Refused(String),
    /// The bundle conflicts with a kept version.
    #[error("{0}")]
    Conflict(String),
    /// A differential bundle's base is missing from the store or is not
    /// the channel's current version.
    #[error("{0}")]
    Base(String),
    /// The history records the new current version, but switching
    /// `current` to it failed; the next writer's recovery completes the
    /// switch (docs/store.md, "Recovery").
    #[error(
        "channel {channel}: version {sequence} is recorded in the history, but current could not be switched to it (the next import or rollback completes the switch)"
    )]
    SwitchPending {
        /// Channel.
        channel: String,
        /// The version recorded as current.
        sequence: u64,
        /// Why the switch failed.
        #[source]
        source: Box<StoreError>,
    },
}

impl StoreError {
    /// The class of this error (its exit code at the CLI).
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self.kind() {
            StoreErrorKind::Io | StoreErrorKind::Locked => Class::Io,
            StoreErrorKind::NotAStore | StoreErrorKind::Refused => Class::Usage,
            StoreErrorKind::Damaged => Class::Integrity,
            StoreErrorKind::Conflict => Class::Rollback,
            StoreErrorKind::Base => Class::Base,
        }
    }

    /// What kind of store failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            StoreError::Io { .. } => StoreErrorKind::Io,
            StoreError::Locked { .. } => StoreErrorKind::Locked,
            StoreError::NotAStore { .. } | StoreError::NoStore { .. } => StoreErrorKind::NotAStore,
            StoreError::Damaged { .. } => StoreErrorKind::Damaged,
            StoreError::Refused(_) => StoreErrorKind::Refused,
            StoreError::Conflict(_) => StoreErrorKind::Conflict,
            StoreError::Base(_) => StoreErrorKind::Base,
            StoreError::SwitchPending { .. } => StoreErrorKind::Io,
        }
    }

    pub(crate) fn damaged(path: &Path, reason: impl Into<String>) -> Self {
        StoreError::Damaged {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// `map_err` helper: an I/O error on `path`.
pub(crate) fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}
