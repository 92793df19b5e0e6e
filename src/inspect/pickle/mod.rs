//! Pickle-based model files (`.bin`, `.pt`, `.pth`, `.ckpt`, `.pkl`, torch
//! zip archives): identified, their imports listed, never unpickled.
//!
//! Loading a pickle runs whatever callables it imports, so every pickle-based
//! file gets a `pickle.code_execution` finding: a warning when every import
//! is on the allow-list ([`allow_list`]: what torch's `weights_only` loader
//! and real checkpoints need, each entry with its source), an error
//! otherwise.
//!
//! Finding codes:
//!
//! | code | severity | meaning |
//! |---|---|---|
//! | `pickle.code_execution` | warning / error | see above; error also when the scan was cut short |
//! | `pickle.malformed` | error | unknown opcode, bad or oversized length, truncated argument, STOP missing, stack underflow |
//! | `pickle.trailing_malformed` | warning | bytes after a complete pickle start like another pickle but are not one |
//! | `pickle.limit_exceeded` | warning | a scan cap (`Limits`) was reached; what follows was not examined |
//! | `pickle.zip_malformed` | error | the zip archive or an entry cannot be read, or names repeat |
//! | `pickle.zip_bomb` | warning | an entry over 1 MiB declares a decompressed size over 100× its compressed size |
//! | `pickle.zip_no_pickle` | info | a zip archive none of whose entries (nested archives included) is a pickle |
//! | `pickle.unexpected_entry` | warning | a zip entry not named `.pkl` holds a pickle (scanned; the verdict says what it imports) |
//! | `pickle.archive_not_scanned` | error | a 7z archive: not read, so refused |
//! | `pickle.compressed` | info | a zlib/gzip/bzip2/lzma/xz-compressed pickle (joblib), scanned decompressed |
//!
//! Imports are recorded as CPython's `find_class` receives them; protocol 0–2
//! Python 2 names (`__builtin__`, `copy_reg`) are not mapped to Python 3
//! names, so they never match the allow-list (fail closed).

mod allowlist;
mod compressed;
mod opcodes;
mod scan;
mod zip;

use std::io::{self, Read};

use super::facts::{Finding, Format, ModelFacts, Severity};
use crate::limits::Limits;
use scan::{Report, Source, Stop};

pub use compressed::{Compression, inspect as inspect_compressed, sniff as sniff_compression};
pub use zip::{inspect_zip, is_zip};

pub use allowlist::is_safe_import;
#[cfg(any(test, feature = "internals"))]
pub use allowlist::entries as allow_list;

/// Whether the first bytes start a pickle: PROTO with protocol 2–5 followed
/// by a known opcode, or one of the few ways protocol 0/1 pickles of
/// containers and objects begin (`(d`, `(l`, `(t`, `(i`, `(c`, `((`, `}q`,
/// `]q`, `}(`, `](`, or GLOBAL with a dotted identifier line).
pub fn is_pickle_start(first_bytes: &[u8]) -> bool {
    match first_bytes {
        [0x80, proto, next, ..] => (2..=5).contains(proto) && opcodes::decode(*next).is_some(),
        [b'(', next, ..] => b"dltic(".contains(next),
        [b'}' | b']', next, ..] => b"q(".contains(next),
        [b'c', rest @ ..] => is_global_line(rest),
        _ => false,
    }
}

/// `module\n` where module is a dotted Python identifier (ASCII), then more.
fn is_global_line(rest: &[u8]) -> bool {
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let module = rest.get(..end).unwrap_or_default();
    let starts_ok = module
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    starts_ok
        && module
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._".contains(b))
        && rest.len() > end + 1
}

/// Inspect a raw pickle stream read sequentially from byte 0.
///
/// Old `torch.save` files hold five pickles back to back (magic number,
/// protocol version, system info, the data, the storage keys) followed by
/// raw storage bytes; those are scanned as five pickles and the rest is not
/// read. Other files: pickles are scanned while the next bytes plausibly
/// start one ([`is_pickle_start`]). `Err` only for I/O errors.
pub fn inspect<R: Read>(
    reader: &mut R,
    file_len: u64,
    file_name: &str,
    limits: &Limits,
) -> io::Result<ModelFacts> {
    let mut facts = ModelFacts::new(Format::Pickle, file_name, file_len);
    let mut report = Report::default();
    let mut src = Source::new(reader, limits.pickle_max_scan_bytes, Some(file_len));
    let mut cut_short = None;
    scan_stream(&mut src, &mut report, &mut facts, &mut cut_short, "")?;
    finish(&mut facts, report, cut_short);
    Ok(facts)
}

/// What [`probe`] found at the start of some bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Bytes walked.
    pub(crate) len: u64,
    /// Imports seen before the walk ended (a loader has run them by then).
    pub(crate) imports: Vec<String>,
    /// How the walk ended.
    pub(crate) end: ProbeEnd,
}

/// How a [`probe`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ProbeEnd {
    /// At STOP: a whole pickle.
    Complete,
    /// The bytes or the walking budget ran out inside what parses as a pickle.
    Unfinished,
    /// At something CPython's unpickler rejects.
    Malformed,
}

/// Walk the pickle `bytes` start with, at most `budget` bytes. For bytes
/// found where a file format has no place for a pickle (bytes no tensor
/// claims): never unpickled, only walked.
pub(crate) fn probe(bytes: &[u8], budget: u64) -> Probe {
    let mut report = Report::default();
    let mut src = Source::new(bytes, budget, Some(bytes.len() as u64));
    let outcome = scan::scan_one(&mut src, &mut report);
    let end = match outcome {
        Ok(_) => ProbeEnd::Complete,
        Err(Stop::Truncated | Stop::Limit(_)) => ProbeEnd::Unfinished,
        Err(Stop::Malformed(_) | Stop::Io(_)) => ProbeEnd::Malformed,
    };
    Probe {
        len: src.consumed(),
        imports: report.imports.into_iter().collect(),
        end,
    }
}

/// Scan the pickle stream a container holds (an object array's data, a
/// decompressed joblib file) as a raw pickle file is scanned, into `facts`:
/// findings, imports and the `pickle.code_execution` verdict. `place`
/// names it in messages (" in the object array"). `Err` only for errors
/// of `reader` itself.
pub(crate) fn scan_embedded<R: Read>(
    reader: R,
    size: Option<u64>,
    limits: &Limits,
    facts: &mut ModelFacts,
    place: &str,
) -> io::Result<()> {
    let mut report = Report::default();
    let mut src = Source::new(reader, limits.pickle_max_scan_bytes, size);
    let mut cut_short = None;
    scan_stream(&mut src, &mut report, facts, &mut cut_short, place)?;
    finish(facts, report, cut_short);
    Ok(())
}

/// Scan the consecutive pickles of one stream. `place` names the zip entry
/// ("" for a raw file) in messages.
fn scan_stream<R: Read>(
    src: &mut Source<R>,
    report: &mut Report,
    facts: &mut ModelFacts,
    cut_short: &mut Option<String>,
    place: &str,
) -> io::Result<()> {
    let first = match scan::scan_one(src, report) {
        Ok(shape) => shape,
        Err(stop) => {
            return record_stop(
                stop,
                src.consumed(),
                facts,
                cut_short,
                place,
                Severity::Error,
            );
        }
    };
    if first.torch_magic {
        // Legacy torch.save: four more pickles, then raw storage.
        for n in 2..=5 {
            if let Err(stop) = scan::scan_one(src, report) {
                let stop = match stop {
                    Stop::Truncated => Stop::Malformed(format!(
                        "legacy torch file ends before its pickle {n} of 5"
                    )),
                    other => other,
                };
                return record_stop(
                    stop,
                    src.consumed(),
                    facts,
                    cut_short,
                    place,
                    Severity::Error,
                );
            }
        }
        return Ok(());
    }
    loop {
        if !is_pickle_start(src.peek(64)?) {
            return Ok(());
        }
        if let Err(stop) = scan::scan_one(src, report) {
            // Not necessarily a pickle: report softly, keep what was found.
            return record_stop(
                stop,
                src.consumed(),
                facts,
                cut_short,
                place,
                Severity::Warning,
            );
        }
    }
}

/// Turn a stop into a finding (or an error for real I/O failures).
fn record_stop(
    stop: Stop,
    at: u64,
    facts: &mut ModelFacts,
    cut_short: &mut Option<String>,
    place: &str,
    severity: Severity,
) -> io::Result<()> {
    let (code, what) = match (stop, severity) {
        (Stop::Io(e), _) => return Err(e),
        (Stop::Limit(why), _) => {
            *cut_short = Some(why.clone());
            facts.push(Finding::warning(
                "pickle.limit_exceeded",
                format!("pickle{place} not fully scanned: {why}"),
            ));
            return Ok(());
        }
        (Stop::Truncated, Severity::Error) => {
            ("pickle.malformed", format!("ends at byte {at} before STOP"))
        }
        (Stop::Malformed(why), Severity::Error) => ("pickle.malformed", why),
        (Stop::Truncated, _) => (
            "pickle.trailing_malformed",
            format!("data after the last complete pickle ends at byte {at} before STOP"),
        ),
        (Stop::Malformed(why), _) => (
            "pickle.trailing_malformed",
            format!("data after the last complete pickle is not a pickle: {why}"),
        ),
    };
    facts.push(Finding::new(
        code,
        severity,
        format!("pickle{place} is malformed: {what}"),
    ));
    Ok(())
}

/// Most imports named in one finding message.
const MAX_NAMED: usize = 20;

/// The code-execution verdict and the import list.
fn finish(facts: &mut ModelFacts, report: Report, cut_short: Option<String>) {
    let unsafe_imports: Vec<&str> = report
        .imports
        .iter()
        .map(String::as_str)
        .filter(|n| !is_safe_import(n))
        .collect();
    let incomplete = cut_short.or(report.incomplete.clone());
    let finding = if !unsafe_imports.is_empty() {
        let shown = unsafe_imports
            .iter()
            .take(MAX_NAMED)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = unsafe_imports.len().saturating_sub(MAX_NAMED);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Finding::error(
            "pickle.code_execution",
            format!("loading this file can run arbitrary code: it imports {shown}{more}"),
        )
    } else if let Some(why) = incomplete {
        Finding::error(
            "pickle.code_execution",
            format!("loading this file runs pickle code that was not fully scanned ({why})"),
        )
    } else if report.imports.is_empty() {
        Finding::warning(
            "pickle.code_execution",
            "loading this file runs pickle code; it imports no callables",
        )
    } else {
        Finding::warning(
            "pickle.code_execution",
            "loading this file runs pickle code; it imports only allow-listed callables",
        )
    };
    facts.push(finding);
    if report.imports.iter().any(|n| n.starts_with("torch.")) {
        facts.training_framework = Some("pytorch".to_owned());
    }
    facts.pickle_imports = report.imports.into_iter().collect();
}

#[cfg(test)]
mod tests;
