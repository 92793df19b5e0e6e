//! The only ways lbom's commands write to a terminal or a report file
//! (docs/threat-model.md, G13).
//!
//! Every string lbom prints may come from an attacker: an entry name, a
//! manifest field, a link note, a GGUF key, a chat template, a file name in
//! a store. Printed raw, a bidirectional override reorders a line, a line
//! or paragraph separator (or a CR, or an ANSI cursor movement) forges a
//! line such as `pass  entries.digests`, an escape sequence drives the
//! terminal. So output is written only through:
//!
//! - [`TextOut`] for text: each line is formatted whole and every
//!   [hidden](is_hidden) character in it, line feed included,
//!   is written as a visible `\u{..}` escape; the line break comes only
//!   from [`TextOut::line`]. One line of untrusted text can never make two.
//!   [`outln!`](crate::outln) is the `writeln!` of this writer.
//! - [`TextOut::document`] for a multi-line document rendered by a writer
//!   of its own syntax (a table, SPDX tag-value, Markdown): every hidden
//!   character but the line feed is escaped; the writer escapes line feeds
//!   in the values it prints (each does, with [`visible`]).
//! - `json_bytes` / [`write_json`] for JSON: the exact value, with every
//!   hidden character written as a JSON `\uXXXX` escape, so the value is
//!   faithful and the bytes hold none of them raw.

use std::fmt;
use std::io::{self, Write};

use serde::Serialize;

mod chars;

pub(crate) use chars::push_visible;
pub use chars::{is_hidden, is_invisible, shorten, visible};

/// A text writer whose lines cannot hold a hidden character (see the
/// module docs).
pub struct TextOut<'w> {
    out: &'w mut dyn Write,
    /// Let SGR colour sequences (`ESC [ digits ; … m`) of a document through.
    colour: bool,
}

impl<'w> TextOut<'w> {
    /// Text lines to `out`.
    pub fn new(out: &'w mut dyn Write) -> Self {
        Self { out, colour: false }
    }

    /// Like [`TextOut::new`], but [`TextOut::document`] keeps SGR colour
    /// sequences: for a table whose cells were escaped by its writer and
    /// whose colours are lbom's own.
    pub fn with_colour(out: &'w mut dyn Write) -> Self {
        Self { out, colour: true }
    }

    /// Write one line: `args` formatted, every hidden character escaped
    /// (line feeds too), then one line feed.
    pub fn line(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        let text = fmt::format(args);
        let mut buf = visible(&text);
        buf.push('\n');
        self.out.write_all(buf.as_bytes())
    }

    /// Write an empty line.
    pub fn blank(&mut self) -> io::Result<()> {
        self.out.write_all(b"\n")
    }

    /// Write a document rendered by a writer of its own syntax: every
    /// hidden character but the line feed is escaped (SGR sequences kept
    /// when made [`with_colour`](TextOut::with_colour)).
    pub fn document(&mut self, text: &str) -> io::Result<()> {
        let mut buf = String::with_capacity(text.len());
        let colour = self.colour;
        let mut rest = text;
        while !rest.is_empty() {
            let sgr = if colour { sgr_len(rest) } else { 0 };
            if sgr > 0 {
                buf.push_str(rest.get(..sgr).unwrap_or_default());
                rest = rest.get(sgr..).unwrap_or_default();
                continue;
            }
            let mut chars = rest.chars();
            let Some(c) = chars.next() else { break };
            if c == '\n' {
                buf.push(c);
            } else {
                push_visible(&mut buf, c);
            }
            rest = chars.as_str();
        }
        self.out.write_all(buf.as_bytes())
    }

    /// [`TextOut::document`] for bytes a writer produced: lossy UTF-8.
    pub fn document_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.document(&String::from_utf8_lossy(bytes))
    }
}

/// Length of the SGR sequence `ESC [ [0-9;]* m` at the start of `s`, or 0.
fn sgr_len(s: &str) -> usize {
    let Some(rest) = s.strip_prefix("\u{1b}[") else {
        return 0;
    };
    let params = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    match rest.as_bytes().get(params) {
        Some(b'm') => 2 + params + 1,
        _ => 0,
    }
}

/// `writeln!` for a [`TextOut`]: `outln!(out)` writes an empty line,
/// `outln!(out, "fmt", args…)` one escaped line.
#[macro_export]
macro_rules! outln {
    ($out:expr) => {
        $out.blank()
    };
    ($out:expr, $($arg:tt)*) => {
        $out.line(format_args!($($arg)*))
    };
}

/// JSON text (as serde_json writes it) with every hidden character that is
/// not JSON's own whitespace written as a `\uXXXX` escape (a surrogate
/// pair above U+FFFF). serde_json already escapes C0 controls inside
/// strings and writes nothing but ASCII outside them, so every character
/// changed here is inside a string and the value is unchanged.
pub fn escape_json_text(json: &str) -> String {
    // ASCII without DEL holds nothing hidden but JSON's own white space
    // (serde_json escapes the C0 controls inside strings).
    if json.is_ascii() && !json.contains('\u{7f}') && !json.contains(is_c0_but_white_space) {
        return json.to_owned();
    }
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_hidden(c) && !matches!(c, '\n' | '\r' | '\t') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_c0_but_white_space(c: char) -> bool {
    c < ' ' && !matches!(c, '\n' | '\r' | '\t')
}

/// `value` as pretty JSON plus a final line feed, hidden characters escaped.
#[cfg(any(test, feature = "internals"))]
pub fn json_bytes<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = escape_json_text(&text).into_bytes();
    out.push(b'\n');
    Ok(out)
}

/// Write `json_bytes` of `value` to `out`, escaped as serde_json writes
/// it: the report is never held whole (an `inspect` of a bundle at the
/// reader limits lists twenty thousand entries; docs/bundle-format.md,
/// "Reader limits").
pub fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    let mut escaping = io::BufWriter::with_capacity(
        64 << 10,
        EscapeWriter {
            out: &mut *out,
            pending: Vec::new(),
        },
    );
    serde_json::to_writer_pretty(&mut escaping, value).map_err(io::Error::other)?;
    escaping
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .finish()?;
    out.write_all(b"\n")
}

/// Passes JSON text on with [`escape_json_text`] applied, whatever the
/// chunks it is written in: a character cut between two writes waits for
/// the rest of its bytes.
struct EscapeWriter<'a> {
    out: &'a mut dyn Write,
    pending: Vec<u8>,
}

impl EscapeWriter<'_> {
    /// Write out what is pending (serde_json writes only UTF-8: nothing is
    /// left but a cut character, written lossily if the text ends in one).
    fn finish(mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = String::from_utf8_lossy(&self.pending).into_owned();
            self.out.write_all(escape_json_text(&rest).as_bytes())?;
            self.pending.clear();
        }
        self.out.flush()
    }
}

impl Write for EscapeWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let (valid, broken) = match std::str::from_utf8(&self.pending) {
            Ok(text) => (text.len(), false),
            Err(e) => (e.valid_up_to(), e.error_len().is_some()),
        };
        let text =
            std::str::from_utf8(self.pending.get(..valid).unwrap_or_default()).unwrap_or_default();
        self.out.write_all(escape_json_text(text).as_bytes())?;
        self.pending.drain(..valid);
        if broken {
            // Not UTF-8 (serde_json never writes it): lossily, as
            // `json_document` does.
            let rest = String::from_utf8_lossy(&self.pending).into_owned();
            self.out.write_all(escape_json_text(&rest).as_bytes())?;
            self.pending.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A JSON document a writer produced (an SBOM): the same bytes with hidden
/// characters escaped; bytes that are not UTF-8 are written lossily.
pub fn json_document(bytes: &[u8]) -> Vec<u8> {
    escape_json_text(&String::from_utf8_lossy(bytes)).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str = "a\nb\r\u{1b}[2J\u{7}\u{8}\u{7f}\u{9b}\u{85}\u{2028}\u{2029}\u{202e}\u{2066}\u{200b}\u{feff}\u{e0041}z";

    fn rendered(f: impl FnOnce(&mut TextOut<'_>) -> io::Result<()>) -> String {
        let mut bytes = Vec::new();
        let _ = f(&mut TextOut::new(&mut bytes));
        String::from_utf8(bytes).unwrap_or_default()
    }

    #[test]
    fn a_line_is_one_line_with_nothing_hidden() {
        let text = rendered(|o| outln!(o, "name {NASTY}"));
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        assert!(
            !text.trim_end_matches('\n').chars().any(is_hidden),
            "{text:?}"
        );
        assert!(text.starts_with("name a\\u{a}b\\u{d}\\u{1b}[2J"), "{text}");
    }

    #[test]
    fn a_document_keeps_its_line_feeds_only() {
        let text = rendered(|o| o.document(&format!("l1 {NASTY}\nl2\n")));
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.chars().any(|c| c != '\n' && is_hidden(c)), "{text:?}");
    }

    #[test]
    fn colour_documents_keep_sgr_and_nothing_else() {
        let mut bytes = Vec::new();
        let _ = TextOut::with_colour(&mut bytes)
            .document("\u{1b}[31mred\u{1b}[0m \u{1b}[2J\u{1b}]0;t\u{7}");
        assert_eq!(
            String::from_utf8(bytes).unwrap_or_default(),
            "\u{1b}[31mred\u{1b}[0m \\u{1b}[2J\\u{1b}]0;t\\u{7}"
        );
    }

    /// Streamed, the report is the bytes `json_bytes` gives, whatever the
    /// value (characters of every width cut at every chunk boundary).
    #[test]
    fn streamed_json_is_json_bytes() -> Result<(), Box<dyn std::error::Error>> {
        let long: String = NASTY.repeat(20_000);
        for value in [
            serde_json::json!({ NASTY: [NASTY, 1, null] }),
            serde_json::json!({
                "k": long,
                "é✓\u{1F600}": vec!["é✓\u{1F600}"; 10_000],
            }),
        ] {
            let mut streamed = Vec::new();
            write_json(&value, &mut streamed)?;
            assert_eq!(streamed, json_bytes(&value)?);
        }
        Ok(())
    }

    #[test]
    fn json_keeps_the_value_and_escapes_the_bytes() -> Result<(), serde_json::Error> {
        let value = serde_json::json!({ NASTY: [NASTY] });
        let bytes = json_bytes(&value)?;
        let text = String::from_utf8(bytes.clone()).unwrap_or_default();
        assert!(
            !text
                .chars()
                .any(|c| is_hidden(c) && !matches!(c, '\n' | ' ')),
            "{text:?}"
        );
        assert!(text.contains("\\udb40\\udc41"), "{text}");
        let back: serde_json::Value = serde_json::from_slice(&bytes)?;
        assert_eq!(back, value);
        Ok(())
    }
}
