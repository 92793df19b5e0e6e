//! Which strings may be shown to others. Model files and cards often carry
//! the converting machine's paths (`/home/alice/llama-7b`) in fields that
//! SBOMs publish, like `base_model`; those never leave this machine.

use super::facts::Finding;

/// Whether a value names something on this machine rather than something
/// public: `/…`, `~…`, `./…`, `../…`, `.\…`, `C:\…` or `C:/…`,
/// `\\server\…`, `file://…`.
pub fn is_local_path(value: &str) -> bool {
    let v = value.trim();
    let b = v.as_bytes();
    let drive = b.len() >= 3
        && b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.get(1) == Some(&b':')
        && matches!(b.get(2), Some(b'\\' | b'/'));
    v.starts_with('/')
        || v.starts_with('~')
        || v.starts_with("./")
        || v.starts_with("../")
        || v.starts_with(".\\")
        || v.starts_with("..\\")
        || v.starts_with("\\\\")
        || v.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("file://"))
        || drive
}

/// `s` when it is safe to show others (a Hub id or URL), `None` when it is
/// a local path.
pub fn public_reference(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty() && !is_local_path(t)).then(|| t.to_owned())
}

/// The finding for a local path that was kept out of the report.
pub fn local_path_finding(source: &str) -> Finding {
    Finding::warning(
        "model.local_path_leak",
        format!("{source} names a local path; left out of the report so it does not leak"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_recognised() {
        for p in [
            "/home/me/llama",
            "~/models/x",
            "./x",
            "../x",
            "C:\\models\\x",
            "file:///x",
            "\\\\server\\x",
        ] {
            assert!(is_local_path(p), "{p}");
            assert_eq!(public_reference(p), None);
        }
        for p in [
            "meta-llama/Llama-3.1-8B",
            "https://huggingface.co/x/y",
            "TinyLlama",
        ] {
            assert!(!is_local_path(p), "{p}");
        }
    }

    #[test]
    fn local_path_spellings() {
        for p in [
            "/home/u/models/x",
            "~/m",
            "./m",
            "../m",
            "C:\\Users\\m",
            "c:/m",
            "\\\\srv\\m",
            "FILE:///m",
            ".\\m",
        ] {
            assert!(is_local_path(p), "{p}");
        }
        for p in [
            "https://huggingface.co/x/y",
            "meta-llama/Llama-3-8B",
            "Example Org",
            "x",
        ] {
            assert!(!is_local_path(p), "{p}");
        }
    }
}
