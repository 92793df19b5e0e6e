//! The exit code of an error and the hint printed with it. The class comes
//! from the library ([`lbom::class_of`]: each error's own exhaustive
//! `class()`), never from message text; the number from [`codes::of`], the
//! one table. Hints name the CLI's flags, which the library never does.

use std::process::ExitCode;

pub(crate) use crate::codes::{self, FINDINGS, SUCCESS};

/// An argument value clap could not check by itself (it would need lbom's
/// types): reported like clap's own usage errors, with exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit code for an error, and a hint for the user when one helps: the
/// first cause in the chain (outermost first) that is a usage error of the
/// CLI or an error of the library decides both.
pub fn classify(err: &anyhow::Error) -> (u8, Option<&'static str>) {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return (codes::of(lbom::Class::Usage), None);
        }
        if let Some(class) = lbom::class_of(cause) {
            return (codes::of(class), hint(cause));
        }
    }
    (codes::of(lbom::Class::Io), None)
}

/// The hint for an error of the library, in the CLI's terms.
fn hint(cause: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if let Some(e) = cause.downcast_ref::<lbom::BundleError>() {
        return match e {
            lbom::BundleError::OutputExists { .. } => {
                Some("choose another --output; lbom never overwrites a bundle")
            }
            lbom::BundleError::Locked { .. } => {
                Some("wait for the other `lbom sign` to finish, then sign again")
            }
            _ => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<lbom::StoreError>() {
        return store_hint(e);
    }
    if let Some(e) = cause.downcast_ref::<lbom::LoadError>() {
        return match e {
            lbom::LoadError::Store(s) => store_hint(s),
            lbom::LoadError::NeedsChannel { .. } => Some("name the channel with --channel CHANNEL"),
            _ => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<lbom::KeyError>() {
        return sign_hint(e);
    }
    if let Some(lbom::ScanError::NoModelFiles { .. }) = cause.downcast_ref() {
        return Some(
            "lbom scans .gguf, .safetensors and pickle-based files (.bin .pt .pth .ckpt .pkl); name a file to inspect it whatever its extension",
        );
    }
    None
}

fn store_hint(e: &lbom::StoreError) -> Option<&'static str> {
    use lbom::StoreErrorKind as K;
    if matches!(e, lbom::StoreError::NoStore { .. }) {
        // Its message says what to do.
        return None;
    }
    match e.kind() {
        K::Locked => {
            Some("another lbom import or rollback holds the store; wait for it, then retry")
        }
        K::NotAStore => Some("name a store made by `lbom store init` or `lbom import --create`"),
        K::Damaged => Some("run `lbom audit STORE --all` to see what changed"),
        K::Base => Some(
            "import the full bundle the differential was packed against first, or ask for a full bundle (`lbom log STORE` shows the current version)",
        ),
        K::Io | K::Conflict | K::Refused => None,
    }
}

fn sign_hint(e: &lbom::KeyError) -> Option<&'static str> {
    match e {
        lbom::KeyError::PassphraseRequired => {
            Some("name the environment variable holding it with --passphrase-env VAR")
        }
        lbom::KeyError::InKeyFile { source, .. } => sign_hint(source),
        _ => None,
    }
}

/// Whether the error is a closed stdout (`lbom scan | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}

/// Convert a code to `ExitCode`.
pub fn code(n: u8) -> ExitCode {
    ExitCode::from(n)
}
