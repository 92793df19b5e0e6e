//! Policy errors: one sentence naming the file, the TOML key and the
//! problem, with the line and column where they are known.

use std::fmt;
use std::path::PathBuf;

/// Where in the policy text a problem is: ` line L column C`, or nothing
/// when the position is not known. Both are 1-based; the column counts
/// characters, as editors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At(pub Option<(usize, usize)>);

impl At {
    /// The line and column of byte `offset` in `text` (clamped to the text).
    pub fn of(text: &str, offset: usize) -> Self {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        let before = text.get(..end).unwrap_or("");
        let line = before.matches('\n').count().saturating_add(1);
        let line_start = before.rfind('\n').map_or(0, |i| i.saturating_add(1));
        let column = before
            .get(line_start..)
            .map_or(0, |s| s.chars().count())
            .saturating_add(1);
        At(Some((line, column)))
    }

    /// The position of a span's start, if any.
    pub(crate) fn span(text: &str, span: Option<std::ops::Range<usize>>) -> Self {
        span.map_or(At(None), |s| At::of(text, s.start))
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((line, column)) => write!(f, " line {line} column {column}"),
            None => Ok(()),
        }
    }
}

/// Why a policy could not be loaded, or `policy init` could not write one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy file could not be opened or read.
    #[error("cannot read policy {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The policy file is larger than [`super::MAX_POLICY_BYTES`].
    #[error("policy {} is {size} bytes, more than the {limit}-byte limit for a policy", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least; reading stops past the limit).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The policy file is not UTF-8 (TOML is UTF-8 only).
    #[error("policy {} is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// Not valid TOML, or a value of the wrong type or an unknown key (as
    /// the TOML parser words it).
    #[error("policy {}{at}: {message}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// Where.
        at: At,
        /// The parser's message.
        message: String,
    },
    /// Valid TOML that is not a valid policy.
    #[error("policy {}{at}: {key}: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where.
        at: At,
        /// The TOML key (`signatures.thresholds.maintainer`, `keys[2].roles`).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A key file named by `public_key` could not be read.
    #[error("policy {}{at}: {key}: cannot read key file {}", path.display(), file.display())]
    KeyFile {
        /// The policy file.
        path: PathBuf,
        /// Where.
        at: At,
        /// The TOML key (`keys[1].public_key`).
        key: String,
        /// The key file, resolved against the policy's folder.
        file: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A `--trust NAME=KEY.pub:ROLE[,ROLE]...` argument is malformed.
    #[error("trusted key {arg:?}: {problem}")]
    TrustArg {
        /// The argument.
        arg: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A `--threshold ROLE=N` argument is malformed.
    #[error("threshold {arg:?}: {problem}")]
    ThresholdArg {
        /// The argument.
        arg: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The `policy init` options together cannot make a valid policy (a
    /// required role nobody may sign as, a threshold too high, …).
    #[error("policy init: {0}")]
    Init(String),
    /// A key file named in `--trust` could not be read.
    #[error("policy init: cannot read key file {}", file.display())]
    InitKeyFile {
        /// The key file.
        file: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

impl PolicyError {
    /// The class of this error: an I/O failure, or a wrong policy or
    /// argument (usage).
    pub fn class(&self) -> crate::Class {
        use crate::Class;
        match self {
            PolicyError::Io { .. }
            | PolicyError::KeyFile { .. }
            | PolicyError::InitKeyFile { .. } => Class::Io,
            PolicyError::TooLarge { .. }
            | PolicyError::NotUtf8 { .. }
            | PolicyError::Toml { .. }
            | PolicyError::Invalid { .. }
            | PolicyError::TrustArg { .. }
            | PolicyError::ThresholdArg { .. }
            | PolicyError::Init(_) => Class::Usage,
        }
    }
}
