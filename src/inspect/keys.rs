//! Keys that can hide behind one another (docs/findings.md, "Key
//! shadowing"; docs/threat-model.md, G14).
//!
//! Three ways a second key can stand where a reader expects the first:
//!
//! - **Exact repeat**: the same bytes twice. llama.cpp (ggml `gguf.cpp`,
//!   `gguf_init_from_reader`) and gguf-py refuse such a GGUF file; JSON
//!   readers (Python's `json`, serde_json) keep the *last* value.
//! - **Equal up to a NUL**: ggml keeps each key as a `std::string` with
//!   its NUL bytes, but `gguf_find_key` compares `strcmp(key,
//!   gguf_get_key(ctx, i))`, the first `i` wins: a key `general.name\0x`
//!   written before `general.name` is the one llama.cpp reads for
//!   `general.name`, and the later key is never read.
//! - **Equal after Unicode normalisation**: NFKC with the invisible
//!   default-ignorable characters removed. No loader normalises (every one
//!   compares bytes), so such keys are distinct to the loader but identical
//!   to a person reading a report: a decoy next to the real key.
//!
//! Case is not folded: llama.cpp, gguf-py, the safetensors crate, Python's
//! `json` and transformers all compare keys case-sensitively, and a case
//! variant is visibly another key in every report.

use std::collections::{HashMap, HashSet};

use unicode_normalization::UnicodeNormalization as _;

use crate::describe::text::is_invisible;

/// The key as a C string reads it: the bytes before the first NUL.
pub(crate) fn c_string(raw: &[u8]) -> &[u8] {
    match raw.iter().position(|&b| b == 0) {
        Some(nul) => raw.get(..nul).unwrap_or(raw),
        None => raw,
    }
}

/// What a person sees of a key: its C-string part, NFKC-normalised, without
/// invisible characters. Two keys with the same fold look the same.
pub(crate) fn fold(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(c_string(raw));
    text.nfkc().filter(|c| !is_invisible(*c)).collect()
}

/// How a key collides with an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clash {
    /// The same bytes.
    Exact,
    /// Different bytes, the same C string (one of them holds a NUL).
    SameCString {
        /// The earlier key, raw.
        earlier: Vec<u8>,
    },
    /// Different C strings that look the same ([`fold`]).
    Confusable {
        /// The earlier key, raw.
        earlier: Vec<u8>,
    },
}

/// The verdict on one key added to a [`KeySet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyCheck {
    /// The key holds a NUL byte.
    pub nul: bool,
    /// The first earlier key it collides with, if any.
    pub clash: Option<Clash>,
}

/// The keys of one map (a GGUF header, one JSON object), in file order.
/// Grows with the keys it is given; callers bound their key count.
#[derive(Default)]
pub(crate) struct KeySet {
    exact: HashSet<Vec<u8>>,
    by_c_string: HashMap<Vec<u8>, Vec<u8>>,
    by_fold: HashMap<String, Vec<u8>>,
}

impl KeySet {
    /// Record `raw` and say how it collides with the keys before it.
    pub fn add(&mut self, raw: &[u8]) -> KeyCheck {
        let nul = raw.contains(&0);
        let c = c_string(raw);
        let folded = fold(raw);
        let clash = if !self.exact.insert(raw.to_vec()) {
            Some(Clash::Exact)
        } else if let Some(earlier) = self.by_c_string.get(c) {
            Some(Clash::SameCString {
                earlier: earlier.clone(),
            })
        } else {
            self.by_fold.get(&folded).map(|earlier| Clash::Confusable {
                earlier: earlier.clone(),
            })
        };
        self.by_c_string
            .entry(c.to_vec())
            .or_insert_with(|| raw.to_vec());
        self.by_fold.entry(folded).or_insert_with(|| raw.to_vec());
        KeyCheck { nul, clash }
    }
}

/// A raw key for a message: lossy UTF-8 with every hidden character
/// (NUL included) written as a visible escape.
pub(crate) fn shown(raw: &[u8]) -> String {
    crate::describe::text::visible(&String::from_utf8_lossy(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_string_stops_at_the_first_nul() {
        assert_eq!(c_string(b"general.name\0x\0y"), b"general.name");
        assert_eq!(c_string(b"plain"), b"plain");
        assert_eq!(c_string(b"\0"), b"");
    }

    #[test]
    fn fold_sees_what_a_reader_sees() {
        // Fullwidth letters, a ligature and zero-width characters.
        assert_eq!(fold("ｇeneral.name".as_bytes()), "general.name");
        assert_eq!(fold("general.\u{FB01}le".as_bytes()), "general.file");
        assert_eq!(
            fold("general.na\u{200B}me\u{FEFF}".as_bytes()),
            "general.name"
        );
        // NFC and NFD spellings of é.
        assert_eq!(fold("caf\u{E9}".as_bytes()), fold("cafe\u{301}".as_bytes()));
        // Case is kept.
        assert_eq!(fold(b"General.Name"), "General.Name");
    }

    #[test]
    fn each_clash_is_named_once_against_the_first_key() {
        let mut set = KeySet::default();
        assert_eq!(
            set.add(b"general.name\0evil"),
            KeyCheck {
                nul: true,
                clash: None
            }
        );
        assert_eq!(
            set.add(b"general.name"),
            KeyCheck {
                nul: false,
                clash: Some(Clash::SameCString {
                    earlier: b"general.name\0evil".to_vec()
                })
            }
        );
        assert_eq!(set.add(b"general.name").clash, Some(Clash::Exact));
        assert_eq!(
            set.add("general.nam\u{FF45}".as_bytes()).clash,
            Some(Clash::Confusable {
                earlier: b"general.name\0evil".to_vec()
            })
        );
        assert_eq!(set.add(b"General.name").clash, None);
    }
}
