//! Why a command failed, as one of the classes the README's exit-code table
//! and docs/policy.md ("Checks and exit codes") name. Every error the
//! library returns has a `class()` chosen by an exhaustive match on its own
//! variants, so a new variant cannot silently fall into a class; the
//! binary maps each class to its number in one table. [`crate::class_of`]
//! finds the class of any error the library returned (it names every
//! module's error, so it lives at the crate root, above them all).

use serde::Serialize;

/// The class of a failure; each has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// The request itself is wrong: a bad argument or option, nothing to
    /// scan, an invalid policy, a folder that is not a store.
    Usage,
    /// The input is malformed: a damaged bundle, an input `pack` refuses.
    Malformed,
    /// A hash or size differs, an SBOM disagrees with its artifact, a
    /// damaged store.
    Integrity,
    /// A signature does not verify, a key or role is not trusted, a
    /// threshold is not met, the bundle expired, a key cannot be used.
    Trust,
    /// The content breaks a policy rule: format, licence, findings, caps,
    /// age.
    Policy,
    /// The bundle would roll the channel back or fork it.
    Rollback,
    /// Drift in a class the policy wants accepted was not accepted.
    Drift,
    /// A differential bundle's base is not the channel's current version
    /// in the store (docs/bundle-format.md [B80]): it cannot be rebuilt
    /// there.
    Base,
    /// A file could not be read or written, changed while read, exists
    /// already, or is locked by another process.
    Io,
}

impl Class {
    /// Every class, in the order of their exit codes.
    pub const ALL: [Class; 9] = [
        Class::Usage,
        Class::Malformed,
        Class::Integrity,
        Class::Trust,
        Class::Policy,
        Class::Rollback,
        Class::Drift,
        Class::Base,
        Class::Io,
    ];

    /// The stable name (`malformed`, `trust`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Usage => "usage",
            Class::Malformed => "malformed",
            Class::Integrity => "integrity",
            Class::Trust => "trust",
            Class::Policy => "policy",
            Class::Rollback => "rollback",
            Class::Drift => "drift",
            Class::Base => "base",
            Class::Io => "io",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
