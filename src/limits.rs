//! Every cap lbom puts on untrusted input, in one place.
//!
//! A parser never allocates because a length field says so: it first checks
//! the length against what the rest of the file could possibly hold, then
//! against these caps. The defaults are written out on each field.

/// Caps on untrusted input. `Limits::default()` is what the CLI uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest GGUF header (metadata + tensor table) read: 1 GiB.
    pub gguf_max_header_bytes: u64,
    /// Most GGUF metadata key/value pairs: 16,384 (llama.cpp files have a
    /// few dozen).
    pub gguf_max_kv_count: u64,
    /// Most GGUF tensors: 16,384 (the largest published models have about
    /// two thousand).
    pub gguf_max_tensor_count: u64,
    /// Most bytes one model file's header may make its parser keep (GGUF:
    /// keys, listed string values, captured chat templates three times,
    /// tensor names three times; safetensors: tensor names, dtypes and
    /// shapes twice, metadata), plus 64 bytes per kept value: 4 MiB.
    /// Counts and lengths are capped one by one; this caps their product,
    /// so one file's facts stay small whatever its header says, and so do
    /// the four files a verifier scans at once.
    pub header_max_kept_bytes: u64,
    /// Longest GGUF string (key, value or tensor name): 64 MiB.
    pub gguf_max_string_bytes: u64,
    /// Most elements in one GGUF array: 100,000,000.
    pub gguf_max_array_len: u64,
    /// GGUF nesting depth for arrays of arrays: 4.
    pub gguf_max_array_depth: u32,
    /// Arrays longer than this are summarised (count + SHA-256), not listed: 32.
    pub metadata_array_inline_max: usize,
    /// Metadata strings longer than this are summarised (length + SHA-256),
    /// not listed, and never held whole: 64 KiB (a chat template is also
    /// captured on its own, within `header_max_kept_bytes`).
    pub metadata_string_inline_max: u64,
    /// Largest safetensors JSON header: 100,000,000 bytes (the upstream rule).
    pub safetensors_max_header_bytes: u64,
    /// Most bytes of a pickle stream the opcode scanner reads: 64 MiB.
    pub pickle_max_scan_bytes: u64,
    /// Most entries read from a zip central directory: 16,384.
    pub zip_max_entries: u64,
    /// Most bytes read to index a zip archive (its central directory:
    /// names, extra fields, comments, all kept by the index): 4 MiB.
    pub zip_max_directory_bytes: u64,
    /// Largest side file read to parse it as it streams
    /// (`tokenizer_config.json`, chat templates, shard indexes): 16 MiB.
    /// Larger ones are known by their digest alone (docs/scan-report.md).
    pub side_file_max_bytes: u64,
    /// Largest side file held as a whole JSON tree (`config.json`), and the
    /// most of a model card read for its front matter: 1 MiB.
    pub side_tree_max_bytes: u64,
    /// Most bytes of side-file facts (template texts, shard maps, card
    /// blocks, …) kept for one delivery; past it a side file is known by
    /// its digest alone: 32 MiB.
    pub side_facts_max_bytes: u64,
    /// Most bytes describing a delivery's models (a bundle's or a stored
    /// version's) may add to its files' scans: each folder's side files
    /// applied to each of its model files, shards merged. 8 MiB; past it
    /// the delivery is refused (docs/bundle-format.md, "Reader limits").
    pub folder_context_max_bytes: u64,
    /// Most files one scan visits below a folder: 1,000,000.
    pub max_files: u64,
    /// Most bytes of chat templates one GGUF file's header may hold, all
    /// its template keys together: 16 MiB (as `side_file_max_bytes` for a
    /// folder's template files). Each template is judged as it is read and
    /// only the default one's bytes are kept; past this the header is
    /// `gguf.limit_exceeded`.
    pub template_max_bytes: u64,
    /// Most Jinja tokens of one chat template parsed and judged: 50,000
    /// (the real templates of tests/vectors/templates/real have at most
    /// 2,461); a template with more is `template.limit_exceeded`
    /// (docs/findings.md, "Chat templates"). Its syntax tree, and so the
    /// parser's memory and the judge's work, grows with its tokens.
    pub template_max_tokens: u64,
    /// Most operators of one `{{ … }}` or `{% … %}` tag (`.`, `[`, `(`,
    /// `|`, `~`, `+`, comparisons, `and`, `not`, …: the tokens that can nest
    /// its syntax tree one level deeper): 500 (real templates: at most 57
    /// tokens of any kind in a tag). This bounds the depth the parser
    /// builds, the judge walks and the tree's drop recurses; a long flat
    /// literal (a tool schema in a `{% set %}`) does not count against it.
    pub template_max_tag_operators: u64,
    /// A chat template longer than this gets `template.very_long`: 256 KiB
    /// (the longest real template of the corpus is 17 KB).
    pub template_long_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            gguf_max_header_bytes: 1 << 30,
            gguf_max_kv_count: 16_384,
            gguf_max_tensor_count: 16_384,
            header_max_kept_bytes: 4 << 20,
            gguf_max_string_bytes: 64 << 20,
            gguf_max_array_len: 100_000_000,
            gguf_max_array_depth: 4,
            metadata_array_inline_max: 32,
            metadata_string_inline_max: 64 << 10,
            safetensors_max_header_bytes: 100_000_000,
            pickle_max_scan_bytes: 64 << 20,
            zip_max_entries: 16_384,
            zip_max_directory_bytes: 4 << 20,
            side_file_max_bytes: 16 << 20,
            side_tree_max_bytes: 1 << 20,
            side_facts_max_bytes: 32 << 20,
            folder_context_max_bytes: 8 << 20,
            max_files: 1_000_000,
            template_max_bytes: 16 << 20,
            template_max_tokens: 50_000,
            template_max_tag_operators: 500,
            template_long_bytes: 256 << 10,
        }
    }
}
