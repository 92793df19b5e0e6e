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
/// 10: I/O.
pub const IO: u8 = 10;

/// The exit code for an error, and a hint for the user when one helps.
pub fn classify(err: &anyhow::Error) -> (u8, Option<&'static str>) {
    for cause in err.chain() {
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
