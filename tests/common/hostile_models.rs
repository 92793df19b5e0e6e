//! The verdict on a corpus of hostile model files, as written by
//! tests/tools/hostile.py: OUTDIR/index.json lists each file with the finding
//! code lbom must emit (or one of `also`, exactly), at least at `severity`. Used on a
//! freshly generated corpus (tests/validators.rs) and on the committed one
//! (tests/vectors/models/, tests/model_corpus.rs).

use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{fail, field, findings, lbom_capped, rank, reports, run_bounded};

/// Scan every indexed file of `dir` under the address-space cap and within
/// `limit`; fail naming every file whose exit code or findings are wrong.
/// Returns how many cases were checked.
pub fn check(dir: &Path, limit: Duration) -> Result<usize, Box<dyn std::error::Error>> {
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json"))?)?;
    let cases = field(&index, "cases")
        .as_array()
        .ok_or_else(|| fail("index.json has no cases"))?;
    let mut problems = vec![];
    for c in cases {
        let rel = field(c, "file").as_str().unwrap_or_default();
        let code = field(c, "code").as_str().unwrap_or_default();
        let severity = field(c, "severity").as_str().unwrap_or("error");
        let also: Vec<&str> = field(c, "also")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let path = dir.join(rel);
        let args = [
            OsStr::new("scan"),
            path.as_os_str(),
            OsStr::new("--format"),
            OsStr::new("json"),
            OsStr::new("--fail-on"),
            OsStr::new(severity),
        ];
        let run = match run_bounded(&mut lbom_capped(args), limit) {
            Ok(run) => run,
            Err(e) => {
                problems.push(format!("{rel}: {e}"));
                continue;
            }
        };
        if run.code() != Some(1) {
            problems.push(format!(
                "{rel}: exit {:?} with --fail-on {severity}, want 1; stderr: {}",
                run.code(),
                run.stderr.trim()
            ));
        }
        let report = match run.json() {
            Ok(v) => reports(v),
            Err(e) => {
                problems.push(format!("{rel}: {e}"));
                continue;
            }
        };
        let found: Vec<(String, String, String)> = report
            .iter()
            .flat_map(findings)
            .filter(|(_, s, _)| rank(s) >= rank(severity))
            .collect();
        if found
            .iter()
            .any(|(c, _, _)| c == code || also.contains(&c.as_str()))
        {
            continue;
        }
        problems.push(format!(
            "{rel}: no {severity} finding {code} (or one of {also:?}); findings: {found:?}"
        ));
    }
    if !problems.is_empty() {
        return Err(fail(format!(
            "{} of {} hostile cases failed:\n{}",
            problems.len(),
            cases.len(),
            problems.join("\n")
        )));
    }
    Ok(cases.len())
}
