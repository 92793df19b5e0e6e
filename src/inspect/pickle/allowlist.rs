//! The pickle allow-list: callables real checkpoints import whose call
//! cannot run attacker code. One table, `tests/vectors/threats/allowlist.json`,
//! with the public source that makes each entry legitimate (torch's own
//! `weights_only` unpickler, the checkpoint loaders that allow it); the
//! same file is printed in docs/findings.md ("The pickle allow-list") and
//! checked against it by `tests/threat_corpus.rs`. It is compiled in, so
//! what lbom allows is exactly what the table says.
//!
//! A pickle whose every import is an exact `names` entry gets only the
//! `pickle.code_execution` warning; anything else is an error. Names are
//! matched as CPython's `find_class` receives them: Python 2 module names
//! (`__builtin__`, `copy_reg`) are not mapped, so only the `__builtin__`
//! spellings the table lists itself match (fail closed).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Deserialize;

/// The table, as committed.
const TABLE_JSON: &str = include_str!("../../../tests/vectors/threats/allowlist.json");

/// One row of the table.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(
    not(any(test, feature = "internals")),
    expect(dead_code, reason = "read by tests/threat_corpus.rs, which checks the table's sources")
)]
pub struct Entry {
    /// What the row allows, for people (`numpy.core.multiarray.scalar / …`).
    pub callable: String,
    /// The exact `module.name` strings matched.
    pub names: Vec<String>,
    /// The public source that makes the callable legitimate.
    pub source: String,
    /// Why calling it cannot run attacker code.
    pub why_safe: String,
}

#[derive(Deserialize)]
struct Table {
    entries: Vec<Entry>,
}

/// The rows of the table. Empty if the compiled-in table did not parse
/// (then nothing is allowed: fail closed; a unit test keeps it parsing).
pub fn entries() -> &'static [Entry] {
    static ENTRIES: OnceLock<Vec<Entry>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        serde_json::from_str::<Table>(TABLE_JSON)
            .map(|t| t.entries)
            .unwrap_or_default()
    })
}

fn names() -> &'static BTreeSet<&'static str> {
    static NAMES: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        entries()
            .iter()
            .flat_map(|e| e.names.iter().map(String::as_str))
            .collect()
    })
}

/// Whether an import is on the allow-list.
pub fn is_safe_import(name: &str) -> bool {
    names().contains(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_every_row_names_its_source() {
        let rows = entries();
        assert!(rows.len() >= 10, "{} rows", rows.len());
        for row in rows {
            assert!(!row.names.is_empty(), "{}", row.callable);
            assert!(
                !row.source.is_empty() && !row.why_safe.is_empty(),
                "{}",
                row.callable
            );
            for name in &row.names {
                // An exact dotted name, never a pattern.
                assert!(
                    name.contains('.')
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_'),
                    "{name:?}"
                );
            }
        }
    }

    #[test]
    fn what_real_checkpoints_import_is_allowed_and_code_is_not() {
        // Issue 20 item 4: protocol 2 bytes, numpy scalars under both names,
        // fairseq's argparse.Namespace, torch's rebuild functions.
        for name in [
            "_codecs.encode",
            "numpy.core.multiarray.scalar",
            "numpy._core.multiarray.scalar",
            "numpy.dtype",
            "argparse.Namespace",
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch.FloatStorage",
            "torch.bfloat16",
        ] {
            assert!(is_safe_import(name), "{name}");
        }
        for name in [
            "builtins.eval",
            "builtins.getattr",
            "__builtin__.eval",
            "__builtin__.getattr",
            "os.system",
            "posix.system",
            "_codecs.decode",
            "numpy.load",
            "argparse.ArgumentParser",
            "torch.load",
            "collections",
            "",
            "numpy.dtype.__reduce__",
        ] {
            assert!(!is_safe_import(name), "{name}");
        }
    }
}
