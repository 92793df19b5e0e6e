//! Small text helpers shared by the writers: file names without their
//! directories, human-readable numbers (integer arithmetic only, so no
//! float can ever print as NaN). The escapes of untrusted text are
//! [`crate::safe`]'s.

use crate::inspect::{ModelFacts, Severity};

/// The last component of a path-like string, so that a file name taken
/// from input can never carry a directory (and with it a local path) into
/// a document that leaves the machine. Both separators count: the facts
/// may come from another platform.
pub(crate) fn file_name(raw: &str) -> &str {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    if name.is_empty() || name == "." || name == ".." {
        "unnamed"
    } else {
        name
    }
}

/// The model facts every SBOM format records, as `(key, value)` in one
/// fixed order, skipping what is unknown. Each writer decides how to
/// carry them (CycloneDX properties, an SPDX package comment).
pub(crate) fn model_fact_pairs(m: &ModelFacts) -> Vec<(&'static str, String)> {
    let optional = [
        ("name", m.name.clone()),
        ("architecture", m.architecture.clone()),
        ("parameter_count", m.parameter_count.map(|n| n.to_string())),
        ("size_label", m.size_label.clone()),
        ("quantization", m.quantization.clone()),
        ("file_type", m.file_type.map(|n| n.to_string())),
        ("dtype", m.dtype.clone()),
        ("context_length", m.context_length.map(|n| n.to_string())),
        ("vocab_size", m.vocab_size.map(|n| n.to_string())),
        ("license", m.license.clone()),
        (
            "base_model",
            m.base_model
                .as_deref()
                .and_then(crate::inspect::hub_id::public_model_id),
        ),
        ("training_framework", m.training_framework.clone()),
        ("format_version", m.format_version.map(|n| n.to_string())),
        ("endianness", m.endianness.clone()),
        ("alignment", m.alignment.map(|n| n.to_string())),
        ("tensor_count", m.tensor_count.map(|n| n.to_string())),
        (
            "chat_template_sha256",
            m.chat_template_sha256.map(|d| d.to_hex()),
        ),
        ("tokenizer_sha256", m.tokenizer_sha256.map(|d| d.to_hex())),
    ];
    let mut pairs = vec![
        ("format", m.format.as_str().to_owned()),
        ("file_size_bytes", m.file_size_bytes.to_string()),
    ];
    pairs.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
    pairs
}

/// A count with a decimal suffix: `950`, `2.1M`, `135M`, `1.2B`.
/// One decimal below ten units, none above; rounding never shows `1000M`.
pub(crate) fn human_count(n: u64) -> String {
    const UNITS: [(u128, &str); 4] = [
        (1_000, "K"),
        (1_000_000, "M"),
        (1_000_000_000, "B"),
        (1_000_000_000_000, "T"),
    ];
    if n < 1_000 {
        return n.to_string();
    }
    scaled(u128::from(n), &UNITS, "", 1_000)
}

/// A byte size with a binary suffix: `512 B`, `1.5 KiB`, `4.1 GiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [(u128, &str); 5] = [
        (1 << 10, "KiB"),
        (1 << 20, "MiB"),
        (1 << 30, "GiB"),
        (1 << 40, "TiB"),
        (1 << 50, "PiB"),
    ];
    if n < 1024 {
        return format!("{n} B");
    }
    scaled(u128::from(n), &UNITS, " ", 1_024)
}

/// Pick the smallest unit whose rounded value stays below `base` units.
fn scaled(n: u128, units: &[(u128, &str)], sep: &str, base: u128) -> String {
    let mut last = String::new();
    for &(unit, suffix) in units {
        let tenths = (n * 10 + unit / 2) / unit;
        if tenths < 100 || (sep == " " && tenths < base * 10) {
            return format!("{}.{}{sep}{suffix}", tenths / 10, tenths % 10);
        }
        let whole = (n + unit / 2) / unit;
        last = format!("{whole}{sep}{suffix}");
        if whole < base {
            return last;
        }
    }
    last
}

/// `1 error, 2 warnings, 1 info`, or `-` when there are no findings.
pub(crate) fn findings_summary(facts: &ModelFacts) -> String {
    let count = |s: Severity| facts.findings.iter().filter(|f| f.severity == s).count();
    let mut parts = Vec::new();
    for (severity, one, many) in [
        (Severity::Error, "error", "errors"),
        (Severity::Warning, "warning", "warnings"),
        (Severity::Info, "info", "info"),
    ] {
        match count(severity) {
            0 => {}
            1 => parts.push(format!("1 {one}")),
            n => parts.push(format!("{n} {many}")),
        }
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

/// An `https://` URL with nothing that could end a quoted value or a
/// Markdown link, at most 512 characters.
pub(crate) fn is_plain_https(link: &str) -> bool {
    link.starts_with("https://")
        && link.len() <= 512
        && link.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(
                    c,
                    '"' | '\'' | '<' | '>' | '\\' | '`' | '(' | ')' | '[' | ']'
                )
        })
}

/// `1,235,814,400`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_like_size_labels() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_000, "1.0K"),
            (2_100_000, "2.1M"),
            (134_515_008, "135M"),
            (1_235_814_400, "1.2B"),
            (999_999_999, "1.0B"),
            (70_553_706_496, "71B"),
            (u64::MAX, "18446744T"),
        ];
        for (n, want) in cases {
            assert_eq!(human_count(n), want, "{n}");
        }
    }

    #[test]
    fn bytes_use_binary_units() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1_572_864, "1.5 MiB"),
            (1_048_575, "1.0 MiB"),
            (4_920_000_000, "4.6 GiB"),
            (u64::MAX, "16384 PiB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_bytes(n), want, "{n}");
        }
    }

    #[test]
    fn file_name_drops_directories_of_both_kinds() {
        assert_eq!(file_name("/home/alice/models/a.gguf"), "a.gguf");
        assert_eq!(file_name("C:\\models\\b.gguf"), "b.gguf");
        assert_eq!(file_name("c.gguf"), "c.gguf");
        assert_eq!(file_name("dir/"), "unnamed");
        assert_eq!(file_name(".."), "unnamed");
    }
}
