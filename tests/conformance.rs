//! The conformance matrix (issue 7 item 4): every numbered requirement of
//! docs/bundle-format.md ([B#]), docs/policy.md ([P#]) and docs/store.md
//! ([S#]) has a row in
//! docs/conformance.md naming tests that exist, and every paragraph that
//! says MUST carries an id. A MUST that nothing checks is a finding; this
//! test is what makes it one.
//!
//! Plain text scanning, no Python, no build of the named tests: a named test
//! exists when its file has `fn NAME(` or `fn NAME<` (this also finds tests
//! written inside `proptest!`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{TestResult, fail, repo};

/// One requirement id, e.g. `B12`.
type Id = String;

/// The documents, the letter of their ids, and how many ids each holds at
/// least (so that a document whose ids the scan cannot see fails).
const DOCS: &[(&str, char, usize)] = &[
    ("docs/bundle-format.md", 'B', 30),
    ("docs/policy.md", 'P', 30),
    ("docs/store.md", 'S', 10),
];

const MATRIX: &str = "docs/conformance.md";

/// Every id defined in `text` as `**[L<digits>]**`.
fn ids_in(text: &str, letter: char) -> BTreeSet<Id> {
    let marker = format!("**[{letter}");
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(&marker) {
        let after = rest.get(at + marker.len()..).unwrap_or("");
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty()
            && after
                .get(digits.len()..)
                .is_some_and(|t| t.starts_with("]**"))
        {
            found.insert(format!("{letter}{digits}"));
        }
        rest = after;
    }
    found
}

/// The document split into units a requirement id can mark: paragraphs,
/// list items and table rows, with fenced code left out. Each unit keeps
/// its first line number.
fn units(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut in_code = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            out.extend(current.take());
            continue;
        }
        if in_code {
            continue;
        }
        let starts_item = trimmed.starts_with("- ")
            || trimmed.starts_with("| ")
            || trimmed.starts_with('#')
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if trimmed.is_empty() || (starts_item && line.len() == trimmed.len()) {
            out.extend(current.take());
        }
        if trimmed.is_empty() {
            continue;
        }
        match &mut current {
            Some((_, unit)) => {
                unit.push(' ');
                unit.push_str(trimmed);
            }
            None => current = Some((i + 1, trimmed.to_owned())),
        }
    }
    out.extend(current);
    out
}

/// Whether `unit` states a requirement in RFC 2119 words (upper case MUST,
/// as a word), as opposed to the sentence that introduces those words.
fn says_must(unit: &str) -> bool {
    let words = unit.split(|c: char| !c.is_ascii_alphanumeric());
    words.into_iter().any(|w| w == "MUST") && !unit.contains("RFC 2119")
}

/// Paragraphs that say MUST without an id. An introduction ending in `:`
/// ("A reader MUST reject:") is covered when the list item after it
/// carries an id.
fn unmarked_musts(text: &str, letter: char) -> Vec<String> {
    let list = units(text);
    let has_id = |u: &str| !ids_in(u, letter).is_empty();
    list.iter()
        .enumerate()
        .filter(|(_, (_, unit))| says_must(unit) && !has_id(unit))
        .filter(|(i, (_, unit))| {
            let introduces_marked_list = unit.trim_end().ends_with(':')
                && list.get(i + 1).is_some_and(|(_, next)| has_id(next));
            !introduces_marked_list
        })
        .map(|(_, (line, unit))| {
            format!(
                "line {line}: {}",
                unit.chars().take(100).collect::<String>()
            )
        })
        .collect()
}

/// One row of the matrix: its id and the tests it names.
#[derive(Debug)]
struct Row {
    line: usize,
    id: Id,
    tests: Vec<String>,
}

/// The matrix rows: table lines whose first cell is an id (`B1`, `P37`);
/// tests are the back-quoted `FILE::NAME` items of the third cell.
fn rows(matrix: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for (i, line) in matrix.lines().enumerate() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| id | requirement | tests | note |" splits into 6 cells.
        let (Some(id), Some(tests)) = (cells.get(1), cells.get(3)) else {
            continue;
        };
        let is_id = id.len() > 1
            && id.starts_with(['B', 'P', 'S'])
            && id
                .get(1..)
                .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()));
        if !is_id {
            continue;
        }
        let named = tests
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|t| t.contains("::"))
            .map(str::to_owned)
            .collect();
        out.push(Row {
            line: i + 1,
            id: (*id).to_owned(),
            tests: named,
        });
    }
    out
}

/// Why a named test (`FILE::NAME`) does not resolve, if it does not.
fn missing_test(root: &Path, named: &str) -> Option<String> {
    let Some((file, name)) = named.rsplit_once("::") else {
        return Some(format!("{named}: not FILE::NAME"));
    };
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let inside = (file.starts_with("tests/") || file.starts_with("src/"))
        && file.ends_with(".rs")
        && !file.split('/').any(|s| s.is_empty() || s == "..");
    if !plain(name) || !inside {
        return Some(format!("{named}: not a test path"));
    }
    let Ok(source) = std::fs::read_to_string(root.join(file)) else {
        return Some(format!("{named}: no file {file}"));
    };
    let defined = [format!("fn {name}("), format!("fn {name}<")]
        .iter()
        .any(|d| source.contains(d.as_str()));
    (!defined).then(|| format!("{named}: no `fn {name}` in {file}"))
}

/// Everything wrong with the matrix against the documents.
fn problems(root: &Path, docs: &[(String, char)], matrix: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut defined: BTreeSet<Id> = BTreeSet::new();
    for (text, letter) in docs {
        let ids = ids_in(text, *letter);
        // Ids are numbered 1..=n without gaps, so a deleted requirement
        // leaves a visible hole rather than a silently reused number.
        let mut numbers: Vec<u32> = ids
            .iter()
            .filter_map(|i| i.get(1..)?.parse().ok())
            .collect();
        numbers.sort_unstable();
        for (want, got) in (1..).zip(&numbers) {
            if want != *got {
                problems.push(format!(
                    "{letter}{want} is missing: ids jump to {letter}{got}"
                ));
                break;
            }
        }
        for unmarked in unmarked_musts(text, *letter) {
            problems.push(format!("a MUST without an [{letter}#] id, {unmarked}"));
        }
        defined.extend(ids);
    }
    let mut seen: BTreeMap<Id, usize> = BTreeMap::new();
    for row in rows(matrix) {
        if let Some(first) = seen.insert(row.id.clone(), row.line) {
            problems.push(format!(
                "{} has two rows (lines {first} and {})",
                row.id, row.line
            ));
        }
        if !defined.contains(&row.id) {
            problems.push(format!(
                "line {}: {} is not an id of the documents",
                row.line, row.id
            ));
        }
        if row.tests.is_empty() {
            problems.push(format!("line {}: {} names no test", row.line, row.id));
        }
        for named in &row.tests {
            if let Some(why) = missing_test(root, named) {
                problems.push(format!("line {}: {}: {why}", row.line, row.id));
            }
        }
    }
    for id in &defined {
        if !seen.contains_key(id) {
            problems.push(format!(
                "{id} has no row in {MATRIX}: which test checks it?"
            ));
        }
    }
    problems
}

#[test]
fn every_requirement_is_mapped_to_tests_that_exist() -> TestResult {
    let root = repo();
    let mut docs = Vec::new();
    for (path, letter, least) in DOCS {
        let text = std::fs::read_to_string(root.join(path))?;
        // Not vacuous: every document defines ids and the matrix has rows.
        if ids_in(&text, *letter).len() < *least {
            return Err(fail(format!(
                "fewer than {least} [{letter}#] ids found in {path}"
            )));
        }
        docs.push((text, *letter));
    }
    let matrix = std::fs::read_to_string(root.join(MATRIX))?;
    if rows(&matrix).len() < 60 {
        return Err(fail("fewer than 60 rows found in the matrix"));
    }
    let found = problems(&root, &docs, &matrix);
    if found.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} conformance problem(s):\n{}",
            found.len(),
            found.join("\n")
        )))
    }
}

// --- the checker itself, on small made-up documents -------------------------

fn doc(text: &str) -> Vec<(String, char)> {
    vec![(text.to_owned(), 'B')]
}

const SMALL_DOC: &str = "\
# T

\"MUST\" is used as in RFC 2119.

**[B1]** A reader MUST reject x.

A reader MUST reject:

- **[B2]** y;
- z.

1. **[B3]** A writer MUST write w.
";

fn small_matrix(b3_test: &str) -> String {
    format!(
        "| id | r | tests | n |\n|---|---|---|---|\n\
         | B1 | x | `tests/conformance.rs::every_requirement_is_mapped_to_tests_that_exist` | |\n\
         | B2 | y | `tests/conformance.rs::doc` | |\n\
         | B3 | w | `{b3_test}` | |\n"
    )
}

#[test]
fn the_checker_accepts_a_complete_matrix() {
    let root = repo();
    let found = problems(
        &root,
        &doc(SMALL_DOC),
        &small_matrix("tests/conformance.rs::rows"),
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn the_checker_finds_every_kind_of_gap() {
    let root = repo();
    let cases: [(&str, String, String, &str); 7] = [
        (
            "a MUST paragraph without an id",
            format!("{SMALL_DOC}\nA verifier MUST check v.\n"),
            small_matrix("tests/conformance.rs::rows"),
            "a MUST without an [B#] id, line 14",
        ),
        (
            "a MUST list item without an id",
            format!("{SMALL_DOC}\n- the reader MUST stop.\n"),
            small_matrix("tests/conformance.rs::rows"),
            "a MUST without an [B#] id",
        ),
        (
            "an id without a row",
            format!("{SMALL_DOC}\n**[B4]** A reader MUST v.\n"),
            small_matrix("tests/conformance.rs::rows"),
            "B4 has no row",
        ),
        (
            "a row for an id that does not exist",
            SMALL_DOC.to_owned(),
            small_matrix("tests/conformance.rs::rows")
                + "| B9 | v | `tests/conformance.rs::rows` | |\n",
            "B9 is not an id",
        ),
        (
            "a test that does not exist",
            SMALL_DOC.to_owned(),
            small_matrix("tests/conformance.rs::no_such_test"),
            "no `fn no_such_test` in tests/conformance.rs",
        ),
        (
            "a file that does not exist",
            SMALL_DOC.to_owned(),
            small_matrix("tests/nowhere.rs::rows"),
            "no file tests/nowhere.rs",
        ),
        (
            "a gap in the numbering",
            SMALL_DOC.replace("[B3]", "[B5]"),
            small_matrix("tests/conformance.rs::rows").replace("| B3 |", "| B5 |"),
            "B3 is missing",
        ),
    ];
    for (what, text, matrix, expected) in cases {
        let found = problems(&root, &doc(&text), &matrix);
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{what}: expected {expected:?} in {found:?}"
        );
    }
}
