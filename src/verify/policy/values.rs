//! Parsers for the policy's value syntaxes: sizes, durations, format and
//! severity names, licence ids, and public keys in PEM. Each returns a
//! problem sentence; the caller adds the file, key and position.

use jiff::{SignedDuration, Span, SpanRelativeTo};

use crate::envelope::PublicKey;
use crate::inspect::facts::{Format, Severity};

/// Size units: decimal (SI) and binary (IEC), as `"500 MB"`, `"256 GiB"`.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Longest size or duration string parsed (a real one is < 20 bytes).
const MAX_VALUE_CHARS: usize = 64;

/// A positive count or byte size: a TOML integer, or a string of decimal
/// digits with an optional unit from [`SIZE_UNITS`] (case as written there:
/// `mb` could mean millibits, so it is not guessed).
pub(super) fn size(value: &toml::Value, units: bool) -> Result<u64, String> {
    let n = match value {
        toml::Value::Integer(i) => {
            u64::try_from(*i).map_err(|_| format!("{i} is negative; expected a positive number"))?
        }
        toml::Value::String(s) if units => size_string(s)?,
        toml::Value::String(s) => {
            return Err(format!("{s:?} is a string; expected a positive integer"));
        }
        other => {
            return Err(format!(
                "expected a positive integer{}, found a {}",
                if units {
                    " or a size such as \"256 GiB\""
                } else {
                    ""
                },
                other.type_str()
            ));
        }
    };
    if n == 0 {
        return Err("0 would refuse every bundle; expected at least 1".to_owned());
    }
    Ok(n)
}

fn size_string(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "{s:?} is not a size; expected digits and an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), as \"256 GiB\""
        )
    };
    if s.len() > MAX_VALUE_CHARS {
        return Err(bad());
    }
    // docs/policy.md §4: digits, at most one space, the unit; nothing else.
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, rest) = s.split_at(digits_end);
    if digits.is_empty() {
        return Err(bad());
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is too large a number"))?;
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    if unit.is_empty() && !rest.is_empty() {
        return Err(bad());
    }
    let factor = if unit.is_empty() {
        1
    } else {
        SIZE_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, f)| f)
            .ok_or_else(bad)?
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{s:?} is more than 2^64 bytes"))
}

/// A positive duration in jiff's friendly format (`"90d"`, `"12h"`,
/// `"2 weeks"`) or ISO 8601 (`"P90D"`); days are 24 hours. Months and years
/// are refused: their length depends on the date. `"none"`: no limit.
pub(super) fn max_age(s: &str) -> Result<Option<SignedDuration>, String> {
    if s == "none" {
        return Ok(None);
    }
    let bad = |why: &str| {
        format!(
            "{s:?} is not a duration{why}; expected for example \"90d\", \"2 weeks\", \"36h\" or \"none\""
        )
    };
    if s.len() > MAX_VALUE_CHARS {
        return Err(bad(""));
    }
    match duration_syntax(s) {
        Syntax::Valid => {}
        Syntax::MonthsOrYears => {
            return Err(bad(
                " in days or shorter units (months and years vary in length)",
            ));
        }
        Syntax::Invalid => return Err(bad("")),
    }
    let span: Span = s.parse().map_err(|_| bad(""))?;
    let d = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| bad(" in days or shorter units (months and years vary in length)"))?;
    if d.is_negative() || d.is_zero() {
        return Err(bad(" longer than zero"));
    }
    Ok(Some(d))
}

/// Units of the friendly duration form (docs/policy.md §4), case-sensitive.
const DURATION_UNITS: &[&str] = &[
    "w", "week", "weeks", "d", "day", "days", "h", "hour", "hours", "m", "min", "mins", "minute",
    "minutes", "s", "sec", "secs", "second", "seconds",
];

/// Units of calendar length, refused with their own reason.
const CALENDAR_UNITS: &[&str] = &[
    "mo", "mos", "month", "months", "y", "yr", "yrs", "year", "years",
];

/// What [`duration_syntax`] found.
enum Syntax {
    Valid,
    /// Months or years: their length depends on the date.
    MonthsOrYears,
    Invalid,
}

/// Whether `s` has the duration syntax docs/policy.md §4 defines, before
/// jiff (whose grammar is wider) reads it: groups of digits and a unit,
/// one space between groups and at most one between a number and its
/// unit; or ISO 8601 `P[nW][nD][T[nH][nM][nS]]` with at least one part.
fn duration_syntax(s: &str) -> Syntax {
    let calendar = s
        .split(|c: char| c == ' ' || c.is_ascii_digit())
        .any(|w| CALENDAR_UNITS.contains(&w))
        || s.strip_prefix('P').is_some_and(|iso| {
            iso.split('T')
                .next()
                .is_some_and(|d| d.contains(['Y', 'M']))
        });
    if calendar {
        Syntax::MonthsOrYears
    } else if friendly_or_iso(s) {
        Syntax::Valid
    } else {
        Syntax::Invalid
    }
}

fn friendly_or_iso(s: &str) -> bool {
    if let Some(iso) = s.strip_prefix('P') {
        return iso_duration(iso);
    }
    let mut groups = s.split(' ').peekable();
    let mut any = false;
    while let Some(word) = groups.next() {
        let digits_end = word
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(word.len());
        let (digits, unit) = word.split_at(digits_end);
        if digits.is_empty() {
            return false;
        }
        let unit = if unit.is_empty() {
            // "90 d": the unit is the next word.
            match groups.next() {
                Some(u) => u,
                None => return false,
            }
        } else {
            unit
        };
        if !DURATION_UNITS.contains(&unit) {
            return false;
        }
        any = true;
    }
    any
}

/// `nW`, `nD`, then optionally `T` with `nH`, `nM`, `nS`, each at most
/// once and in this order, at least one in all.
fn iso_duration(s: &str) -> bool {
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let parts = |text: &str, designators: &[char]| -> Option<usize> {
        let mut rest = text;
        let mut count = 0;
        let mut next = 0;
        while !rest.is_empty() {
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            let d = rest[end..].chars().next()?;
            let at = designators.iter().position(|&x| x == d)?;
            if end == 0 || at < next {
                return None;
            }
            next = at + 1;
            count += 1;
            rest = &rest[end + 1..];
        }
        Some(count)
    };
    let Some(n_date) = parts(date, &['W', 'D']) else {
        return false;
    };
    match time {
        None => n_date > 0,
        Some(t) => parts(t, &['H', 'M', 'S']).is_some_and(|n| n > 0),
    }
}

/// A format by its serde name (`gguf`, `pytorch-zip`, …).
pub(super) fn format(s: &str) -> Result<Format, String> {
    ALL_FORMATS
        .iter()
        .copied()
        .find(|f| f.as_str() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = ALL_FORMATS.iter().map(|f| f.as_str()).collect();
            format!("unknown format {s:?}; expected one of {}", names.join(", "))
        })
}

/// Every [`Format`], for name lookup.
pub(super) const ALL_FORMATS: &[Format] = &[
    Format::Gguf,
    Format::Safetensors,
    Format::Pickle,
    Format::PytorchZip,
    Format::Json,
    Format::Numpy,
    Format::SevenZip,
    Format::Text,
    Format::Tiktoken,
    Format::Sentencepiece,
    Format::Code,
    Format::Unknown,
];

/// `fail_on`: a severity, or `"none"`.
pub(super) fn fail_on(s: &str) -> Result<Option<Severity>, String> {
    match s {
        "none" => Ok(None),
        "info" => Ok(Some(Severity::Info)),
        "warning" => Ok(Some(Severity::Warning)),
        "error" => Ok(Some(Severity::Error)),
        _ => Err(format!(
            "unknown severity {s:?}; expected \"none\", \"info\", \"warning\" or \"error\""
        )),
    }
}

/// An allowed licence, as lbom's SBOMs write it: an SPDX License List id in
/// its canonical case (`apache-2.0` → `Apache-2.0`), a Hugging Face id
/// mapped the same way, or `LicenseRef-…` for anything else
/// ([`crate::describe::licence::spdx_id`]). Single ids only: the check
/// compares each id of an artifact's licence expression with the list.
/// `NOASSERTION` (SPDX's word for "not stated", as lbom's SPDX output
/// writes it) stands for a model that declares no licence.
pub(super) fn licence(s: &str) -> Result<String, String> {
    if s == NO_LICENCE {
        return Ok(s.to_owned());
    }
    let ok_chars = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    if !ok_chars {
        return Err(format!(
            "{s:?} is not a licence id; expected one SPDX id such as \"Apache-2.0\" or \"LicenseRef-name\" (letters, digits, . - +)"
        ));
    }
    if s.starts_with("LicenseRef-") {
        return Ok(s.to_owned());
    }
    Ok(crate::describe::licence::spdx_id(s).as_str().to_owned())
}

/// In `allowed_licences`: a model that declares no licence.
pub const NO_LICENCE: &str = "NOASSERTION";

/// A public key from PEM text, tolerant of layout only: leading and
/// trailing whitespace on each line, blank lines, CRLF, and any wrapping of
/// the base64 body. The key id is computed from the decoded key, so any
/// layout of one key gives one id. Anything else (headers, a second block,
/// a private key, text around the block) is refused.
pub(super) fn public_key_pem(text: &str) -> Result<PublicKey, String> {
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    if text.contains("PRIVATE KEY") {
        return Err(
            "holds a private key; a policy names public keys only (NAME.pub from lbom keygen)"
                .to_owned(),
        );
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let (Some(&first), Some(&last)) = (lines.first(), lines.last()) else {
        return Err("is empty; expected an SPKI PEM public key".to_owned());
    };
    if first != BEGIN || last != END || lines.len() < 3 {
        return Err(format!(
            "is not one PEM public key; expected {BEGIN} … {END} and nothing else"
        ));
    }
    let body: String = lines
        .get(1..lines.len().saturating_sub(1))
        .unwrap_or_default()
        .concat();
    if body.contains("-----") || body.contains(':') {
        return Err(format!(
            "is not one PEM public key; expected {BEGIN} … {END} and nothing else"
        ));
    }
    // Rewrap at 64 columns (RFC 7468 §2) for the strict PEM parser.
    let mut canonical = String::with_capacity(body.len().saturating_add(80));
    canonical.push_str(BEGIN);
    canonical.push('\n');
    for chunk in body.as_bytes().chunks(64) {
        canonical.push_str(&String::from_utf8_lossy(chunk));
        canonical.push('\n');
    }
    canonical.push_str(END);
    canonical.push('\n');
    PublicKey::from_pem(&canonical).map_err(|e| format!("is not a usable key: {e}"))
}
