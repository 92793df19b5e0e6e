//! Text (for people at a terminal) and Markdown (for a change-review
//! ticket) renderings of a [`DriftReport`]. JSON is the report's serde form.
//!
//! Every string that came from a model file, a scan or a label is untrusted:
//! the text form passes it through [`visible`] (control and bidi characters
//! escaped), the Markdown form additionally backslash-escapes every ASCII
//! punctuation character (CommonMark §2.4 allows it for all of them), and
//! the template diff goes in a fenced block whose fence is longer than any
//! backtick run inside it (CommonMark §4.5: a closing fence must be at least
//! as long as the opening one).

use std::io::{self, Write};

use super::{Capped, Change, DriftReport, FileDrift, KeyChange, ModelDrift};
use crate::describe::text::human_count;
use crate::inspect::facts::TensorTypeStat;
use crate::io::digest::Sha256Digest;
use crate::safe::visible;

/// How a renderer writes untrusted strings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Text,
    Markdown,
}

impl Style {
    fn esc(self, raw: &str) -> String {
        let shown = visible(raw);
        match self {
            Style::Text => shown,
            Style::Markdown => markdown_escape(&shown),
        }
    }

    fn opt(self, raw: Option<&str>) -> String {
        raw.map_or_else(|| "(none)".to_owned(), |s| self.esc(s))
    }
}

/// Backslash before every ASCII punctuation character.
fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn digest(d: Option<&Sha256Digest>) -> String {
    d.map_or_else(|| "(none)".to_owned(), |d| d.short(12))
}

fn number(n: Option<u64>) -> String {
    n.map_or_else(|| "(none)".to_owned(), |n| n.to_string())
}

fn stat(s: Option<&TensorTypeStat>) -> String {
    s.map_or_else(
        || "none".to_owned(),
        |s| {
            format!(
                "{} tensors, {} params",
                s.tensors,
                human_count(s.parameters)
            )
        },
    )
}

fn names(style: Style, what: &str, list: &Capped<String>) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    let shown: Vec<String> = list.items.iter().map(|n| style.esc(n)).collect();
    let more = if list.count > list.items.len() as u64 {
        ", …"
    } else {
        ""
    };
    Some(format!(
        "{} {what} ({}{more})",
        list.count,
        shown.join(", ")
    ))
}

/// The one-line summary of a change, and its detail lines (unescaped
/// template diff lines come apart, escaped only for control characters).
struct Rendered {
    summary: String,
    details: Vec<String>,
    diff: Option<(Vec<String>, bool)>,
}

fn change(style: Style, c: &Change) -> Rendered {
    let mut details = Vec::new();
    let mut diff = None;
    let summary = match c {
        Change::Format { old, new } => format!("{} → {}", old.as_str(), new.as_str()),
        Change::Architecture { old, new, .. }
        | Change::Licence { old, new, .. }
        | Change::BaseModel { old, new, .. } => {
            format!(
                "{} → {}",
                style.opt(old.as_deref()),
                style.opt(new.as_deref())
            )
        }
        Change::Quantization {
            old,
            new,
            old_file_type,
            new_file_type,
            weights,
            ..
        } => {
            if let Some(w) = weights {
                let types = |list: &[String]| {
                    let shown: Vec<String> = list.iter().map(|t| style.esc(t)).collect();
                    if shown.is_empty() {
                        "none".to_owned()
                    } else {
                        shown.join(", ")
                    }
                };
                details.push(format!(
                    "weights: {} tensor(s) retyped; matrix types {} → {}",
                    w.retyped,
                    types(&w.old_types),
                    types(&w.new_types)
                ));
            }
            format!(
                "{} (file type {}) → {} (file type {})",
                style.opt(old.as_deref()),
                number(*old_file_type),
                style.opt(new.as_deref()),
                number(*new_file_type)
            )
        }
        Change::Tokenizer { old, new, .. } => {
            format!("sha256 {} → {}", digest(old.as_ref()), digest(new.as_ref()))
        }
        Change::ChatTemplate {
            old,
            new,
            diff: lines,
            diff_truncated,
            ..
        } => {
            if !lines.is_empty() {
                diff = Some((lines.iter().map(|l| visible(l)).collect(), *diff_truncated));
            }
            format!("sha256 {} → {}", digest(old.as_ref()), digest(new.as_ref()))
        }
        Change::Tensors {
            added,
            removed,
            reshaped,
            retyped,
        } => [
            names(style, "added", added),
            names(style, "removed", removed),
            names(style, "reshaped", reshaped),
            names(style, "retyped", retyped),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; "),
        Change::TensorTypes { types } => {
            for t in types {
                details.push(format!(
                    "{}: {} → {}",
                    style.esc(&t.type_name),
                    stat(t.old.as_ref()),
                    stat(t.new.as_ref())
                ));
            }
            let names: Vec<String> = types.iter().map(|t| style.esc(&t.type_name)).collect();
            format!("changed: {}", names.join(", "))
        }
        Change::ParameterCount { old, new }
        | Change::ContextLength { old, new, .. }
        | Change::VocabSize { old, new, .. } => format!("{} → {}", number(*old), number(*new)),
        Change::NameVersion { fields } => fields
            .iter()
            .map(|f| {
                format!(
                    "{} {} → {}",
                    f.field,
                    style.opt(f.old.as_deref()),
                    style.opt(f.new.as_deref())
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Change::Metadata {
            added,
            removed,
            changed,
        } => {
            for kv in &added.items {
                details.push(format!(
                    "+ {} = {}",
                    style.esc(&kv.key),
                    style.esc(&kv.value)
                ));
            }
            for kv in &removed.items {
                details.push(format!(
                    "- {} = {}",
                    style.esc(&kv.key),
                    style.esc(&kv.value)
                ));
            }
            for kd in &changed.items {
                details.push(format!(
                    "~ {}: {} → {}",
                    style.esc(&kd.key),
                    style.esc(&kd.old),
                    style.esc(&kd.new)
                ));
            }
            let listed = added.items.len() + removed.items.len() + changed.items.len();
            let total = added.count + removed.count + changed.count;
            if total > listed as u64 {
                details.push(format!("… {} more not listed", total - listed as u64));
            }
            format!(
                "{} added, {} removed, {} changed",
                added.count, removed.count, changed.count
            )
        }
        Change::Findings {
            appeared,
            disappeared,
        } => {
            for (sign, list) in [("+", appeared), ("-", disappeared)] {
                for f in &list.items {
                    details.push(format!(
                        "{sign} {} {}: {}",
                        f.severity,
                        style.esc(&f.code),
                        style.esc(&f.message)
                    ));
                }
            }
            format!(
                "{} appeared, {} disappeared",
                appeared.count, disappeared.count
            )
        }
    };
    if let Some(keys) = c.keys() {
        details.extend(key_lines(style, keys));
    }
    Rendered {
        summary,
        details,
        diff,
    }
}

/// The owned keys a change lists: `~ key: old → new` (`(absent)` for a
/// side without the key), and how many more were not listed.
fn key_lines(style: Style, keys: &Capped<KeyChange>) -> Vec<String> {
    let side = |v: &Option<String>| {
        v.as_deref()
            .map_or_else(|| "(absent)".to_owned(), |s| style.esc(s))
    };
    let mut out: Vec<String> = keys
        .items
        .iter()
        .map(|k| {
            format!(
                "~ {}: {} → {}",
                style.esc(&k.key),
                side(&k.old),
                side(&k.new)
            )
        })
        .collect();
    if keys.count > keys.items.len() as u64 {
        out.push(format!(
            "… {} more keys not listed",
            keys.count - keys.items.len() as u64
        ));
    }
    out
}

fn model_title(style: Style, m: &ModelDrift) -> String {
    if m.old_path == m.new_path {
        style.esc(&m.new_path)
    } else {
        format!("{} → {}", style.esc(&m.old_path), style.esc(&m.new_path))
    }
}

fn file_line(style: Style, f: &FileDrift) -> String {
    match f {
        FileDrift::FileChanged {
            path,
            old_sha256,
            new_sha256,
            old_size,
            new_size,
        } => format!(
            "{} (sha256 {} → {}, {old_size} → {new_size} bytes)",
            style.esc(path),
            old_sha256.short(12),
            new_sha256.short(12)
        ),
        FileDrift::FileRemoved { path, sha256, size }
        | FileDrift::FileAdded { path, sha256, size } => {
            format!(
                "{} (sha256 {}, {size} bytes)",
                style.esc(path),
                sha256.short(12)
            )
        }
        FileDrift::FileRenamed {
            old_path,
            new_path,
            sha256,
            ..
        } => format!(
            "{} → {} (sha256 {})",
            style.esc(old_path),
            style.esc(new_path),
            sha256.short(12)
        ),
    }
}

fn class_list(report: &DriftReport) -> String {
    report
        .classes()
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report for a terminal: one block per model, most consequential
/// change first, then the files. An empty report is one line.
pub fn render_text(report: &DriftReport, out: &mut dyn Write) -> io::Result<()> {
    let style = Style::Text;
    let (old, new) = (style.esc(&report.old), style.esc(&report.new));
    if report.is_empty() {
        return writeln!(out, "no drift from {old} to {new}");
    }
    let mut s = format!("drift from {old} to {new}: {}\n", class_list(report));
    for m in &report.models {
        s.push_str(&format!("model {}:\n", model_title(style, m)));
        for c in &m.changes {
            let r = change(style, c);
            s.push_str(&format!("  {}: {}\n", c.class(), r.summary));
            for d in &r.details {
                s.push_str(&format!("    {d}\n"));
            }
            if let Some((lines, cut)) = &r.diff {
                for l in lines {
                    s.push_str(&format!("    {l}\n"));
                }
                if *cut {
                    s.push_str("    (diff cut here)\n");
                }
            }
        }
    }
    if !report.files.is_empty() {
        s.push_str("files:\n");
        for f in &report.files {
            s.push_str(&format!("  {}: {}\n", f.class(), file_line(style, f)));
        }
    }
    out.write_all(s.as_bytes())
}

/// A code fence longer than any run of backticks in `lines` (at least 3).
fn fence(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    "`".repeat(longest.saturating_add(1).max(3))
}

/// The report as Markdown for a change-review ticket.
pub fn render_markdown(report: &DriftReport, out: &mut dyn Write) -> io::Result<()> {
    let style = Style::Markdown;
    let (old, new) = (style.esc(&report.old), style.esc(&report.new));
    if report.is_empty() {
        return writeln!(out, "**No drift** from {old} to {new}\\.");
    }
    let classes: Vec<String> = report.classes().iter().map(|c| format!("`{c}`")).collect();
    let mut s = format!(
        "## Drift from {old} to {new}\n\nClasses: {}\n",
        classes.join(", ")
    );
    for m in &report.models {
        s.push_str(&format!("\n### Model {}\n\n", model_title(style, m)));
        for c in &m.changes {
            let r = change(style, c);
            s.push_str(&format!("- **{}**: {}\n", c.class(), r.summary));
            for d in &r.details {
                // A leading `+`, `-` or `~` would start a nested list or
                // strike-through: escape it too.
                let lead = if d.starts_with(['+', '-', '~']) {
                    "\\"
                } else {
                    ""
                };
                s.push_str(&format!("  - {lead}{d}\n"));
            }
            if let Some((lines, cut)) = &r.diff {
                let f = fence(lines);
                s.push_str(&format!("\n{f}diff\n"));
                for l in lines {
                    s.push_str(l);
                    s.push('\n');
                }
                s.push_str(&format!("{f}\n"));
                if *cut {
                    s.push_str("\n*diff cut here*\n");
                }
                s.push('\n');
            }
        }
    }
    if !report.files.is_empty() {
        s.push_str("\n### Files\n\n");
        for f in &report.files {
            s.push_str(&format!("- **{}**: {}\n", f.class(), file_line(style, f)));
        }
    }
    out.write_all(s.as_bytes())
}
