//! The shape of the source, as docs/architecture.md states it: the
//! top-level modules depend on each other only as its table allows and form
//! no cycle; no source file is over 800 lines and no function over 100
//! (outside tests), but for the plain-dispatch functions named below.
//!
//! The source is read as text: strings, character literals and comments are
//! blanked first, so a path in a doc comment or a brace in a string counts
//! for nothing; `#[cfg(test)]` modules are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 100;

/// Functions allowed over [`MAX_FN_LINES`]: (file, function, why).
const LONG_FUNCTIONS: &[(&str, &str, &str)] = &[
    (
        "src/inspect/pickle/scan.rs",
        "step",
        "plain dispatch: one arm per pickle opcode, each a few lines",
    ),
    (
        "src/inspect/gguf/parse.rs",
        "value",
        "plain dispatch: one arm per GGUF value type",
    ),
    (
        "src/diff/render.rs",
        "change",
        "plain dispatch: one arm per kind of change, each rendering only its own fields",
    ),
];

/// Files allowed over [`MAX_FILE_LINES`]: (file, why).
const LONG_FILES: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// `src` with the contents of comments, strings and character literals
/// replaced by spaces (line feeds kept, so line numbers hold).
fn blank(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let at = |j: usize| chars.get(j).copied().unwrap_or('\0');
    let spaces = |out: &mut String, from: &[char]| {
        for c in from {
            out.push(if *c == '\n' { '\n' } else { ' ' });
        }
    };
    while i < chars.len() {
        let c = at(i);
        let prev_ident = i > 0 && (at(i - 1).is_alphanumeric() || at(i - 1) == '_');
        if c == '/' && at(i + 1) == '/' {
            let end = (i..chars.len())
                .find(|&j| at(j) == '\n')
                .unwrap_or(chars.len());
            spaces(&mut out, chars.get(i..end).unwrap_or_default());
            i = end;
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0usize;
            let mut j = i;
            while j < chars.len() {
                if at(j) == '/' && at(j + 1) == '*' {
                    depth += 1;
                    j += 2;
                } else if at(j) == '*' && at(j + 1) == '/' {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            spaces(&mut out, chars.get(i..j).unwrap_or_default());
            i = j;
        } else if !prev_ident && (c == 'r' || (c == 'b' && at(i + 1) == 'r')) && {
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = (start..).take_while(|&j| at(j) == '#').count();
            at(start + hashes) == '"'
        } {
            let start = if c == 'b' { i + 2 } else { i + 1 };
            let hashes = (start..).take_while(|&j| at(j) == '#').count();
            let mut j = start + hashes + 1;
            while j < chars.len() {
                if at(j) == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += hashes + 1;
                    break;
                }
                j += 1;
            }
            spaces(&mut out, chars.get(i..j).unwrap_or_default());
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && at(j) != '"' {
                j += if at(j) == '\\' { 2 } else { 1 };
            }
            let j = (j + 1).min(chars.len());
            spaces(&mut out, chars.get(i..j).unwrap_or_default());
            i = j;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}', '{'), not a lifetime.
            let end = if at(i + 1) == '\\' {
                (i + 2..i + 12).find(|&j| at(j) == '\'')
            } else if at(i + 2) == '\'' {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    spaces(&mut out, chars.get(i..=e).unwrap_or_default());
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The offset just after the brace that closes the block opened at `open`
/// (a byte offset into `code`).
fn block_end(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, c) in code.get(open..)?.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(open + k + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `code` (blanked) with every `#[cfg(test)]` inline module blanked too.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_owned();
    let mut search = 0;
    while let Some(found) = out.get(search..).and_then(|s| s.find("#[cfg(test)]")) {
        let at = search + found;
        let rest = out.get(at..).unwrap_or_default();
        let after_attr = rest.get("#[cfg(test)]".len()..).unwrap_or_default();
        let item = after_attr.trim_start();
        let is_inline_mod = item.starts_with("mod ")
            && item
                .find(['{', ';'])
                .is_some_and(|k| item.get(k..k + 1) == Some("{"));
        if is_inline_mod {
            let open = at + rest.find('{').unwrap_or(0);
            let end = block_end(&out, open).unwrap_or(out.len());
            let blanked: String = out
                .get(at..end)
                .unwrap_or_default()
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' })
                .collect();
            out.replace_range(at..end, &blanked);
            search = end;
        } else {
            search = at + 1;
        }
    }
    out
}

/// One library source file: where it is and which top-level module holds it.
struct SourceFile {
    path: PathBuf,
    top: Option<String>,
    /// Module path below the crate root (`["bundle", "pack", "raw"]`).
    depth: usize,
}

/// Every file of the library reachable from `src/lib.rs` by `mod` items
/// that are not `#[cfg(test)]`.
fn library_files() -> Res<Vec<SourceFile>> {
    let mut files = Vec::new();
    walk_module(
        &root().join("src/lib.rs"),
        &root().join("src"),
        None,
        0,
        &mut files,
    )?;
    Ok(files)
}

fn walk_module(
    path: &Path,
    child_dir: &Path,
    top: Option<&str>,
    depth: usize,
    files: &mut Vec<SourceFile>,
) -> Res {
    let code = without_test_modules(&blank(&std::fs::read_to_string(path)?));
    files.push(SourceFile {
        path: path.to_path_buf(),
        top: top.map(str::to_owned),
        depth,
    });
    let lines: Vec<&str> = code.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let t = line.trim();
        let decl = ["pub mod ", "pub(crate) mod ", "mod "]
            .iter()
            .find_map(|p| t.strip_prefix(p));
        // `mod $name;` in a macro's definition declares no module itself.
        let Some(name) = decl
            .and_then(|d| d.strip_suffix(';'))
            .filter(|n| !n.starts_with('$'))
        else {
            continue;
        };
        let gated = lines
            .get(..n)
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with("#["))
            .any(|l| l.starts_with("#[cfg(test)]"));
        if gated {
            continue;
        }
        let (file, dir) = if child_dir.join(format!("{name}.rs")).exists() {
            (child_dir.join(format!("{name}.rs")), child_dir.join(name))
        } else {
            (child_dir.join(name).join("mod.rs"), child_dir.join(name))
        };
        let top = top.unwrap_or(name);
        walk_module(&file, &dir, Some(top), depth + 1, files)?;
    }
    Ok(())
}

/// The top-level modules `code` names through `crate::`, and through
/// `super::` chains that climb to the crate root.
fn named_modules(code: &str, depth: usize) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(k) = rest.find("crate::") {
        let before = rest.get(..k).and_then(|b| b.chars().last());
        let after = rest.get(k + "crate::".len()..).unwrap_or_default();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            if let Some(group) = after.strip_prefix('{') {
                // `crate::{a, b::{c, d}}`: the first segment of each item
                // at the outer level.
                let mut level = 0usize;
                let mut item_start = true;
                for (j, c) in group.char_indices() {
                    match c {
                        '{' => level += 1,
                        '}' if level == 0 => break,
                        '}' => level -= 1,
                        ',' if level == 0 => item_start = true,
                        c if item_start && level == 0 && !c.is_whitespace() => {
                            found.insert(ident(group.get(j..).unwrap_or_default()));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                found.insert(ident(after));
            }
        }
        rest = after;
    }
    // `super::super::x` from a file `depth` modules below the root.
    let mut rest = code;
    while let Some(k) = rest.find("super::") {
        let tail = rest.get(k..).unwrap_or_default();
        let mut climbs = 0;
        let mut t = tail;
        while let Some(next) = t.strip_prefix("super::") {
            climbs += 1;
            t = next;
        }
        if climbs >= depth && depth > 0 {
            found.insert(ident(t));
        }
        rest = tail.get("super::".len() * climbs..).unwrap_or_default();
    }
    found
}

/// The rows of docs/architecture.md's module table: module → may use.
fn allowed() -> Res<BTreeMap<String, BTreeSet<String>>> {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md"))?;
    let mut table = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, module, _, uses, ..] = cells.as_slice() else {
            continue;
        };
        let Some(module) = module.strip_prefix('`').and_then(|m| m.strip_suffix('`')) else {
            continue;
        };
        let uses = uses
            .split(',')
            .filter_map(|u| u.trim().strip_prefix('`')?.strip_suffix('`'))
            .map(str::to_owned)
            .collect();
        table.insert(module.to_owned(), uses);
    }
    Ok(table)
}

/// The dependency graph of the top-level modules: module → (module it
/// names → the first file naming it).
fn graph() -> Res<BTreeMap<String, BTreeMap<String, String>>> {
    let files = library_files()?;
    let tops: BTreeSet<String> = files.iter().filter_map(|f| f.top.clone()).collect();
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in &files {
        let Some(top) = &f.top else { continue };
        g.entry(top.clone()).or_default();
        let code = without_test_modules(&blank(&std::fs::read_to_string(&f.path)?));
        // `crate::Class` is the root's re-export of `class::Class`.
        for name in named_modules(&code, f.depth) {
            let target = if name == "Class" {
                "class".to_owned()
            } else {
                name
            };
            if tops.contains(&target) && target != *top {
                g.entry(top.clone())
                    .or_default()
                    .entry(target)
                    .or_insert_with(|| rel(&f.path));
            }
        }
    }
    Ok(g)
}

#[test]
fn modules_use_only_what_the_architecture_allows_and_form_no_cycle() -> Res {
    let g = graph()?;
    let allowed = allowed()?;
    let mut problems = Vec::new();
    for (module, uses) in &g {
        let Some(may) = allowed.get(module) else {
            problems.push(format!(
                "module `{module}` has no row in docs/architecture.md"
            ));
            continue;
        };
        for (used, file) in uses {
            if !may.contains(used) {
                problems.push(format!(
                    "`{module}` uses `{used}` ({file}), which docs/architecture.md does not allow"
                ));
            }
        }
    }
    // A cycle: some module reaches itself.
    for start in g.keys() {
        let mut stack: Vec<(&String, Vec<&String>)> = vec![(start, vec![start])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in g.get(at).into_iter().flat_map(BTreeMap::keys) {
                if next == start {
                    let names: Vec<&str> = path.iter().map(|s| s.as_str()).collect();
                    problems.push(format!("cycle: {} → {start}", names.join(" → ")));
                } else if seen.insert(next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The test reads what it should: the known edges of the pipeline are seen.
#[test]
fn the_graph_sees_the_pipeline() -> Res {
    let g = graph()?;
    let has = |a: &str, b: &str| g.get(a).is_some_and(|u| u.contains_key(b));
    assert!(has("import", "verify") && has("verify", "bundle") && has("bundle", "inspect"));
    assert!(has("registry", "import") && !has("import", "registry"));
    assert!(has("bundle", "class"), "crate::Class is class's");
    assert!(!has("inspect", "bundle"));
    let blanked = blank("let s = \"crate::bundle {\"; // crate::verify\nlet c = '{';");
    assert!(named_modules(&blanked, 1).is_empty(), "{blanked}");
    assert_eq!(
        named_modules("use crate::{bundle::{X, diff}, verify};", 1),
        ["bundle", "verify"].into_iter().map(String::from).collect()
    );
    assert_eq!(
        named_modules("use super::super::diff::X; use super::y;", 2),
        ["diff"].into_iter().map(String::from).collect()
    );
    Ok(())
}

/// Every `.rs` file under `src/` that is not a test file.
fn source_files() -> Res<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "tests" {
                    dirs.push(path);
                }
            } else if name.ends_with(".rs") && name != "tests.rs" {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Lines before `#[cfg(test)]` followed by `mod tests {` (BRIEF.md's rule).
fn counted_lines(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .position(|w| {
            w.first().is_some_and(|l| l.trim() == "#[cfg(test)]")
                && w.get(1).is_some_and(|l| l.trim() == "mod tests {")
        })
        .unwrap_or(lines.len())
}

#[test]
fn no_source_file_is_over_800_lines() -> Res {
    let mut problems = Vec::new();
    for path in source_files()? {
        let name = rel(&path);
        let n = counted_lines(&std::fs::read_to_string(&path)?);
        if n > MAX_FILE_LINES && !LONG_FILES.iter().any(|(f, _)| *f == name) {
            problems.push(format!("{name}: {n} lines; split it by job"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Each function of `code` (blanked, tests removed): name, first line
/// (1-based) and length in lines.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let line_of = |offset: usize| code.get(..offset).map_or(0, |s| s.matches('\n').count()) + 1;
    let mut search = 0;
    while let Some(k) = code.get(search..).and_then(|s| s.find("fn ")) {
        let at = search + k;
        search = at + 3;
        let before = code.get(..at).and_then(|b| b.chars().last());
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = code
            .get(at + 3..)
            .unwrap_or_default()
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body starts at the first `{` outside parentheses and
        // brackets; a `;` there first means no body.
        let mut level = 0i32;
        let mut open = None;
        for (j, c) in code.get(at..).unwrap_or_default().char_indices() {
            match c {
                '(' | '[' => level += 1,
                ')' | ']' => level -= 1,
                '{' if level == 0 => {
                    open = Some(at + j);
                    break;
                }
                ';' if level == 0 => break,
                _ => {}
            }
        }
        let Some(open) = open else { continue };
        let Some(end) = block_end(code, open) else {
            continue;
        };
        let first = line_of(at);
        out.push((name, first, line_of(end.saturating_sub(1)) - first + 1));
    }
    out
}

#[test]
fn no_function_is_over_100_lines_but_plain_dispatch() -> Res {
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for path in source_files()? {
        let name = rel(&path);
        let code = without_test_modules(&blank(&std::fs::read_to_string(&path)?));
        for (function, line, len) in functions(&code) {
            if len <= MAX_FN_LINES {
                continue;
            }
            let allowed = LONG_FUNCTIONS
                .iter()
                .any(|(f, n, _)| *f == name && *n == function);
            if allowed {
                used.insert((name.clone(), function));
            } else {
                problems.push(format!(
                    "{name}:{line}: fn {function} is {len} lines; split it (or, for plain dispatch, name it in LONG_FUNCTIONS with why)"
                ));
            }
        }
    }
    for (file, function, _) in LONG_FUNCTIONS {
        if !used.contains(&((*file).to_owned(), (*function).to_owned())) {
            problems.push(format!(
                "LONG_FUNCTIONS names {file} fn {function}, which is no longer long (or gone): remove it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn the_function_reader_measures_what_it_should() {
    let code = blank(
        "fn a(x: [u8; 2]) -> u8 {\n    let s = \"}\";\n    x[0]\n}\ntrait T { fn b(&self); }\nfn c<'a>(s: &'a str) where 'a: 'a {\n    let _ = '{';\n}\n",
    );
    let found = functions(&code);
    assert_eq!(
        found,
        vec![("a".to_owned(), 1, 4), ("c".to_owned(), 6, 3)],
        "{code}"
    );
}

// ---- The public API (docs/architecture.md, "The public API") -------------

/// The section of docs/architecture.md that lists the facade.
const API_SECTION: &str = "## The public API";

/// The names a `use` tree makes visible: `a::{b, c::d as e}` gives `b`, `e`
/// (and `self` in a group names the group's module).
fn use_tree_names(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let prefix = tree.get(..open).unwrap_or_default().trim_end_matches("::");
        let inner = tree
            .get(open + 1..tree.rfind('}').unwrap_or(tree.len()))
            .unwrap_or_default();
        let mut parts = Vec::new();
        let (mut level, mut start) = (0usize, 0usize);
        for (k, c) in inner.char_indices() {
            match c {
                '{' => level += 1,
                '}' => level = level.saturating_sub(1),
                ',' if level == 0 => {
                    parts.push(inner.get(start..k).unwrap_or_default());
                    start = k + 1;
                }
                _ => {}
            }
        }
        parts.push(inner.get(start..).unwrap_or_default());
        return parts
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .flat_map(|p| {
                if p.trim() == "self" {
                    use_tree_names(prefix)
                } else {
                    use_tree_names(p)
                }
            })
            .collect();
    }
    let name = match tree.split_once(" as ") {
        Some((_, alias)) => alias.trim(),
        None => tree.rsplit("::").next().unwrap_or(tree).trim(),
    };
    vec![name.to_owned()]
}

/// What the crate root makes public, as written in `src/lib.rs` (blanked):
/// each `pub use` name, `pub fn`, `pub const`, `pub static`, `pub struct`,
/// `pub enum`, `pub trait`, `pub type`, `pub mod`; and every
/// `#[macro_export]` macro of the crate (exported at the root wherever it
/// is written), as `name!`. Modules declared through `modules!` are not
/// public without the `internals` feature and are not counted.
fn facade_in_source() -> Res<BTreeSet<String>> {
    let mut lib =
        without_test_modules(&blank(&std::fs::read_to_string(root().join("src/lib.rs"))?));
    // A module of the facade written in place (`pub mod drift { … }`)
    // counts as its name: what it re-exports is not at the root.
    let mut search = 0;
    while let Some(k) = lib.get(search..).and_then(|s| s.find("pub mod ")) {
        let at = search + k;
        let rest = lib.get(at..).unwrap_or_default();
        let inline = rest
            .find(['{', ';'])
            .filter(|&j| rest.get(j..j + 1) == Some("{"));
        search = at + "pub mod ".len();
        if let Some(open) = inline {
            let (from, to) = (
                at + open + 1,
                block_end(&lib, at + open).unwrap_or(lib.len()) - 1,
            );
            if from < to {
                lib.replace_range(from..to, &" ".repeat(to - from));
            }
        }
    }
    let mut names = BTreeSet::new();
    let mut rest = lib.as_str();
    while let Some(k) = rest.find("pub ") {
        let before = rest.get(..k).and_then(|b| b.chars().last());
        let after = rest.get(k + 4..).unwrap_or_default();
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(tree) = after.strip_prefix("use ") {
            let end = tree.find(';').unwrap_or(tree.len());
            names.extend(use_tree_names(tree.get(..end).unwrap_or_default()));
            continue;
        }
        let mut words = after.split_whitespace();
        let kind = words.next().unwrap_or_default();
        if matches!(
            kind,
            "fn" | "const" | "static" | "struct" | "enum" | "trait" | "type" | "mod"
        ) {
            let name: String = words
                .next()
                .unwrap_or_default()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // `pub mod $name;` in `modules!`'s definition is no item.
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    for path in source_files()? {
        let code = without_test_modules(&blank(&std::fs::read_to_string(&path)?));
        let mut rest = code.as_str();
        while let Some(k) = rest.find("#[macro_export]") {
            rest = rest.get(k + "#[macro_export]".len()..).unwrap_or_default();
            if let Some(m) = rest.trim_start().strip_prefix("macro_rules!") {
                let name: String = m
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.insert(format!("{name}!"));
            }
        }
    }
    Ok(names)
}

/// The facade as docs/architecture.md lists it: every backquoted name in
/// the last column of the tables of its section "The public API".
fn facade_in_docs() -> Res<BTreeSet<String>> {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md"))?;
    let start = doc
        .find(API_SECTION)
        .ok_or("docs/architecture.md has no section \"The public API\"")?;
    let section = doc.get(start + API_SECTION.len()..).unwrap_or_default();
    let section = section
        .get(..section.find("\n## ").unwrap_or(section.len()))
        .unwrap_or_default();
    let mut names = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
        let Some(items) = cells.last() else { continue };
        for item in items.split('`').skip(1).step_by(2) {
            let is_name = item
                .trim_end_matches('!')
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_');
            if is_name && !item.is_empty() {
                names.insert(item.to_owned());
            }
        }
    }
    Ok(names)
}

/// The public API is the facade docs/architecture.md lists, no more and no
/// less: an item added to `src/lib.rs` (or a `#[macro_export]` anywhere)
/// fails here until it is added to that list on purpose, with the reason
/// an embedding program needs it.
#[test]
fn the_public_api_is_the_facade_the_architecture_lists() -> Res {
    let source = facade_in_source()?;
    let docs = facade_in_docs()?;
    let mut problems = Vec::new();
    for name in source.difference(&docs) {
        problems.push(format!(
            "`{name}` is public (src/lib.rs) but not in docs/architecture.md's \"The public API\": add it there on purpose, or keep it inside the crate"
        ));
    }
    for name in docs.difference(&source) {
        problems.push(format!(
            "docs/architecture.md lists `{name}` in \"The public API\", which src/lib.rs does not make public"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        source.len() >= 50,
        "the facade reader found only {} names: {source:?}",
        source.len()
    );
    Ok(())
}

/// Every module of the crate is declared through `modules!` (so it is
/// `pub(crate)` without the `internals` feature), never as `pub mod`.
#[test]
fn every_module_is_declared_through_the_macro() -> Res {
    let lib = without_test_modules(&blank(&std::fs::read_to_string(root().join("src/lib.rs"))?));
    let open = lib
        .find("modules! {")
        .ok_or("src/lib.rs declares no modules through `modules! {`")?;
    let close = block_end(&lib, open + "modules! ".len()).ok_or("`modules! {` is not closed")?;
    let mut problems = Vec::new();
    for (n, line) in lib.lines().enumerate() {
        let offset: usize = lib.lines().take(n).map(|l| l.len() + 1).sum();
        let t = line.trim();
        let declares = ["pub mod ", "pub(crate) mod ", "mod "]
            .iter()
            .any(|p| t.starts_with(p) && t.ends_with(';') && !t.contains('$'));
        if declares && !(open..close).contains(&offset) {
            problems.push(format!("src/lib.rs:{}: `{t}` outside `modules!`", n + 1));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// The binary uses only the facade. (Built for tests, the library has its
/// internals, so the compiler alone would not say; `cargo build --bin lbom`
/// would.)
#[test]
fn the_binary_uses_only_the_facade() -> Res {
    let facade = facade_in_source()?;
    let mut problems = Vec::new();
    let mut dirs = vec![root().join("src/bin")];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let code = blank(&std::fs::read_to_string(&path)?);
            let mut rest = code.as_str();
            while let Some(k) = rest.find("lbom::") {
                let before = rest.get(..k).and_then(|b| b.chars().last());
                let after = rest.get(k + "lbom::".len()..).unwrap_or_default();
                rest = after;
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let names = if after.starts_with('{') {
                    let end = block_end(after, 0).unwrap_or(after.len());
                    use_tree_names(&format!("x::{}", after.get(..end).unwrap_or_default()))
                } else {
                    let name: String = after
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let bang = after.get(name.len()..).is_some_and(|t| t.starts_with('!'));
                    vec![if bang { format!("{name}!") } else { name }]
                };
                for name in names {
                    seen += 1;
                    // `use lbom::outln;` imports the macro `outln!`.
                    if !facade.contains(&name) && !facade.contains(&format!("{name}!")) {
                        problems.push(format!(
                            "{}: `lbom::{name}` is not in the facade (src/lib.rs)",
                            rel(&path)
                        ));
                    }
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(seen >= 40, "only {seen} uses of lbom:: found in src/bin");
    Ok(())
}

#[test]
fn the_use_tree_reader_reads_what_it_should() {
    assert_eq!(
        use_tree_names("inspect::{Error as ScanError, scan, facts::{Finding, self}}"),
        ["ScanError", "scan", "Finding", "facts"]
    );
    assert_eq!(use_tree_names("class::Class"), ["Class"]);
}
