//! Hugging Face Hub repository ids: what may be published as a model's
//! identity or base model (docs/ml-bom.md).

/// A base model reference fit to publish: a Hub repo id (`owner/name`,
/// Hub rules: `[A-Za-z0-9._-]`, no leading `.`/`-`, at most 96 characters)
/// or an `https://huggingface.co/owner/name…` URL turned into its id.
/// Anything else, notably a local path, gives `None`: l-bom published local
/// paths as `base_model`.
pub(crate) fn public_model_id(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let id = match raw.strip_prefix("https://huggingface.co/") {
        Some(rest) => {
            let mut parts = rest.split('/');
            format!("{}/{}", parts.next()?, parts.next()?)
        }
        None => raw.to_owned(),
    };
    let (owner, name) = id.split_once('/')?;
    let part_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with(['.', '-'])
            && !p.contains("..")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    (id.len() <= 96 && part_ok(owner) && part_ok(name)).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::public_model_id;

    #[test]
    fn only_hub_ids_are_public() {
        assert_eq!(
            public_model_id("meta-llama/Llama-3.2-1B").as_deref(),
            Some("meta-llama/Llama-3.2-1B")
        );
        assert_eq!(
            public_model_id("https://huggingface.co/Qwen/Qwen2.5-7B/tree/main").as_deref(),
            Some("Qwen/Qwen2.5-7B")
        );
        for local in [
            "/home/a/base",
            "./base",
            "../x/y",
            "C:\\m\\x",
            "models/base/x",
            "~/x/y",
            "a/..",
            "file:///x/y",
            "a b/c",
        ] {
            assert_eq!(public_model_id(local), None, "{local}");
        }
    }
}
