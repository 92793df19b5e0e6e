//! A table for people: one row per model, printed once.
//!
//! Cells are built from untrusted strings, so control characters
//! (including ESC, which would let a file name drive the terminal) and
//! bidi overrides are shown as `\u{..}` escapes, and long values are cut.
//! Colour is the caller's decision (`color`): no ANSI escape is written
//! without it, whatever the output is.

use std::io::Write;

use comfy_table::{Cell, Color, Table, presets};

use super::Error;
use super::text::{findings_summary, human_bytes, human_count};
use crate::inspect::{ModelFacts, Severity};
use crate::safe::{shorten, visible};

/// Longest cell content, in characters.
const MAX_CELL_CHARS: usize = 64;
/// Digest prefix shown in the table.
const SHA_PREFIX: usize = 12;

const HEADER: [&str; 9] = [
    "file",
    "format",
    "architecture",
    "parameters",
    "quantization",
    "context",
    "size",
    "sha256",
    "findings",
];

/// Write the table, or a one-line note when there are no models.
pub fn write(facts: &[ModelFacts], color: bool, out: &mut dyn Write) -> Result<(), Error> {
    if facts.is_empty() {
        writeln!(out, "No model files found.")?;
        return Ok(());
    }
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(HEADER);
    for model in facts {
        table.add_row(row(model, color));
    }
    writeln!(out, "{table}")?;
    Ok(())
}

fn cell_text(raw: &str) -> String {
    shorten(&visible(raw), MAX_CELL_CHARS)
}

fn optional(value: Option<&str>) -> String {
    value.map(cell_text).unwrap_or_else(|| "-".to_owned())
}

fn row(m: &ModelFacts, color: bool) -> Vec<Cell> {
    let findings = Cell::new(findings_summary(m));
    let findings = match (color, m.worst_severity()) {
        (true, Some(Severity::Error)) => findings.fg(Color::Red),
        (true, Some(Severity::Warning)) => findings.fg(Color::Yellow),
        _ => findings,
    };
    vec![
        Cell::new(cell_text(&m.model_filename)),
        Cell::new(m.format.as_str()),
        Cell::new(optional(m.architecture.as_deref())),
        Cell::new(
            m.parameter_count
                .map(human_count)
                .unwrap_or_else(|| "-".to_owned()),
        ),
        Cell::new(optional(m.quantization.as_deref())),
        Cell::new(
            m.context_length
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".to_owned()),
        ),
        Cell::new(human_bytes(m.file_size_bytes)),
        Cell::new(
            m.sha256
                .map(|d| d.short(SHA_PREFIX))
                .unwrap_or_else(|| "-".to_owned()),
        ),
        findings,
    ]
}

#[cfg(test)]
// `serde_json::Value` indexing yields `Null` for a missing key; it never panics.
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::describe::fixtures::{self, render};

    /// The cells of each body line (lines with the vertical bar).
    fn cells(text: &str) -> Vec<Vec<String>> {
        text.lines()
            .filter(|l| l.starts_with('│'))
            .map(|l| {
                l.split(['│', '┆'])
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn one_row_per_model_with_human_numbers() {
        let text = render(|o| write(&fixtures::all(), false, o)).unwrap_or_default();
        let rows = cells(&text);
        assert_eq!(rows.len(), 6, "{text}");
        assert_eq!(
            rows.first().cloned().unwrap_or_default(),
            HEADER.map(String::from).to_vec()
        );
        let llama = rows.get(1).cloned().unwrap_or_default();
        let short = fixtures::gguf_llama()
            .sha256
            .map(|d| d.short(12))
            .unwrap_or_default();
        assert_eq!(
            llama,
            [
                "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
                "gguf",
                "llama",
                "1.2B",
                "Q4_K_M",
                "131072",
                "770.3 MiB",
                &short,
                "1 info"
            ]
        );
        let st = rows.get(2).cloned().unwrap_or_default();
        assert_eq!(st.get(3).map(String::as_str), Some("135M"));
        assert_eq!(st.get(7).map(String::as_str), Some("-"));
        let pickle = rows.get(3).cloned().unwrap_or_default();
        assert_eq!(
            pickle.last().map(String::as_str),
            Some("1 error, 2 warnings")
        );
        let tiny = rows.get(4).cloned().unwrap_or_default();
        assert_eq!(tiny.get(3).map(String::as_str), Some("2.1M"));
        assert_eq!(tiny.last().map(String::as_str), Some("-"));
    }

    #[test]
    fn no_escape_sequences_without_colour_and_hostile_text_is_inert() {
        let text = render(|o| write(&fixtures::all(), false, o)).unwrap_or_default();
        assert!(!text.contains('\x1b'));
        assert!(!text.contains('\u{202E}') && !text.contains('\r'));
        assert!(text.contains("\\u{a}---"), "{text}");
        // The hostile row stays one line: its newlines were escaped.
        assert_eq!(cells(&text).len(), 6);
        assert!(
            text.lines()
                .all(|l| l.chars().count() < 9 * (MAX_CELL_CHARS + 4))
        );
        assert_eq!(text.matches("Llama-3.2-1B").count(), 1, "printed once");
    }

    #[test]
    fn colour_marks_severities_only_when_asked() {
        let text =
            render(|o| write(&[fixtures::pickle_with_findings()], true, o)).unwrap_or_default();
        assert!(
            text.contains("\x1b[38;5;9m") || text.contains("\x1b[31m") || text.contains("\x1b[91m"),
            "{text:?}"
        );
        let same = render(|o| write(&fixtures::all(), false, o));
        assert_eq!(same, render(|o| write(&fixtures::all(), false, o)));
        assert_eq!(
            render(|o| write(&[], false, o)).as_deref(),
            Ok("No model files found.\n")
        );
    }
}
