//! Every finding code the library can emit is documented in
//! docs/findings.md: codes are an interface, and an undocumented one is a
//! code nobody can write a policy for.

use std::collections::BTreeSet;
use std::path::Path;

/// Dotted strings in the source that are metadata keys, not finding codes.
const NOT_CODES: &[&str] = &["split.no", "split.count"];
const AREAS: &[&str] = &[
    "format",
    "path",
    "gguf",
    "safetensors",
    "pickle",
    "numpy",
    "quant",
    "model",
    "template",
    "hf",
    "split",
    "shards",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// String literals of the form `"area.code"` in non-test inspection code.
fn emitted_codes() -> std::io::Result<BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/inspect"),
        &mut files,
    )?;
    let mut codes = BTreeSet::new();
    for file in files {
        if file
            .file_name()
            .is_some_and(|n| n == "tests.rs" || n == "writer.rs")
        {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        let live = text.split("#[cfg(test)]").next().unwrap_or_default();
        for literal in live.split('"').skip(1).step_by(2) {
            let Some((area, rest)) = literal.split_once('.') else {
                continue;
            };
            let is_code = AREAS.contains(&area)
                && !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if is_code && !NOT_CODES.contains(&literal) {
                codes.insert(literal.to_owned());
            }
        }
    }
    Ok(codes)
}

#[test]
fn every_emitted_code_is_documented() -> std::io::Result<()> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md"))?;
    let codes = emitted_codes()?;
    assert!(
        codes.len() >= 60,
        "found only {} codes: the scan of the source is broken",
        codes.len()
    );
    let missing: Vec<_> = codes
        .iter()
        .filter(|c| !doc.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "finding codes missing from docs/findings.md: {missing:?}"
    );
    Ok(())
}
