//! Exit codes (DESIGN.md, README): chosen by matching on error types, never
//! on message text, so scripts can tell "tampered" from "broken".

use std::process::ExitCode;

/// 0: success.
pub const SUCCESS: u8 = 0;
/// 1: findings at or above `--fail-on`, or drift.
pub const FINDINGS: u8 = 1;
/// 2: usage (clap uses 2 for argument errors too).
pub const USAGE: u8 = 2;
/// 3: malformed input.
pub const MALFORMED: u8 = 3;
/// 4: integrity: a hash or size differs (verify, import, audit).
pub const INTEGRITY: u8 = 4;
/// 5: signature or trust (including a key that cannot be used to sign).
pub const TRUST: u8 = 5;
/// 6: a policy rule refused the bundle.
#[allow(
    dead_code,
    reason = "the table of codes; verify and import take theirs from Failure::exit_code"
)]
pub const POLICY: u8 = 6;
/// 7: rollback or fork.
pub const ROLLBACK: u8 = 7;
/// 8: drift in a class the policy wants accepted, not accepted.
#[allow(
    dead_code,
    reason = "the table of codes; import takes it from Failure::exit_code"
)]
pub const DRIFT: u8 = 8;
/// 10: I/O.
pub const IO: u8 = 10;

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

/// The exit code for an error, and a hint for the user when one helps.
pub fn classify(err: &anyhow::Error) -> (u8, Option<&'static str>) {
    for cause in err.chain() {
        if cause.downcast_ref::<UsageError>().is_some() {
            return (USAGE, None);
        }
        if let Some(e) = cause.downcast_ref::<lbom::bundle::Error>() {
            return classify_bundle(e);
        }
        if let Some(e) = cause.downcast_ref::<lbom::import::StoreError>() {
            return classify_store(e);
        }
        if let Some(e) = cause.downcast_ref::<lbom::diff::LoadError>() {
            use lbom::diff::LoadError as E;
            return match e {
                E::Bundle { failure, .. } => (failure.exit_code(), None),
                E::Io { .. } => (IO, None),
                E::Store(s) => classify_store(s),
                E::Scan(_) => (MALFORMED, None),
                E::NeedsChannel { .. } => (USAGE, None),
                _ => (IO, None),
            };
        }
        if let Some(e) = cause.downcast_ref::<lbom::verify::policy::PolicyError>() {
            return if e.is_io() { (IO, None) } else { (USAGE, None) };
        }
        if let Some(e) = cause.downcast_ref::<lbom::sign::Error>() {
            return classify_sign(e);
        }
        if let Some(e) = cause.downcast_ref::<lbom::describe::Error>() {
            return match e {
                lbom::describe::Error::SourceDateEpoch { .. } => (USAGE, None),
                _ => (IO, None),
            };
        }
        if let Some(e) = cause.downcast_ref::<lbom::inspect::Error>() {
            use lbom::inspect::Error as E;
            return match e {
                E::NoModelFiles { .. } => (
                    USAGE,
                    Some(
                        "lbom scans .gguf, .safetensors and pickle-based files (.bin .pt .pth .ckpt .pkl); name a file to inspect it whatever its extension",
                    ),
                ),
                E::TooManyFiles { .. } => (MALFORMED, None),
                _ => (IO, None),
            };
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return (IO, None);
        }
    }
    (IO, None)
}

fn classify_bundle(e: &lbom::bundle::Error) -> (u8, Option<&'static str>) {
    use lbom::bundle::Error as E;
    match e {
        E::Io { .. } | E::InputChanged { .. } => (IO, None),
        E::OutputExists { .. } => (
            IO,
            Some("choose another --output; lbom never overwrites a bundle"),
        ),
        E::Locked { .. } => (
            IO,
            Some("wait for the other `lbom sign` to finish, then sign again"),
        ),
        E::IncompleteTail { .. } | E::CutShort { .. } => (MALFORMED, None),
        E::Option(_) | E::NoInputs => (USAGE, None),
        E::Sign(inner) => classify_sign(inner),
        _ => (MALFORMED, None),
    }
}

fn classify_store(e: &lbom::import::StoreError) -> (u8, Option<&'static str>) {
    use lbom::import::ErrorClass as C;
    if matches!(e, lbom::import::StoreError::NoStore { .. }) {
        // Its message says what to do.
        return (USAGE, None);
    }
    match e.class() {
        C::Io => (IO, None),
        C::Locked => (
            IO,
            Some("another lbom import or rollback holds the store; wait for it, then retry"),
        ),
        C::NotAStore => (
            USAGE,
            Some("name a store made by `lbom store init` or `lbom import --create`"),
        ),
        C::Damaged => (
            INTEGRITY,
            Some("run `lbom audit STORE --all` to see what changed"),
        ),
        C::Conflict => (ROLLBACK, None),
        C::Refused => (USAGE, None),
    }
}

fn classify_sign(e: &lbom::sign::Error) -> (u8, Option<&'static str>) {
    use lbom::sign::Error as E;
    match e {
        E::Io { .. } | E::KeyFileExists { .. } | E::Random(_) => (IO, None),
        E::PassphraseRequired => (
            TRUST,
            Some("name the environment variable holding it with --passphrase-env VAR"),
        ),
        E::Option(_) => (USAGE, None),
        E::Bundle(inner) => classify_bundle(inner),
        E::InKeyFile { source, .. } => classify_sign(source),
        _ => (TRUST, None),
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
