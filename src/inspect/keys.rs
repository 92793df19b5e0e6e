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

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use unicode_normalization::UnicodeNormalization as _;

use crate::safe::is_invisible;

/// Most keys one document (a GGUF header, a JSON file, a safetensors
/// header) has checked for shadowing: 2^19. Past it the document's key
/// checks stop and its reader says so with an info finding, so a file of
/// millions of tiny keys cannot make the check's memory grow with it
/// (docs/bundle-format.md, "Reader limits"). Real documents stay far
/// below: the largest published vocabularies have about 262,144 tokens.
pub(crate) const MAX_KEYS_CHECKED: usize = 1 << 19;

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

/// A hasher for values that are already keyed hashes: it passes the
/// `u64` through.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; stay total for any other input.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Fingerprints = HashSet<u64, BuildHasherDefault<PassThrough>>;
type FingerprintIndex = HashMap<u64, u32, BuildHasherDefault<PassThrough>>;

/// The keys of one map (a GGUF header, one JSON object), in file order.
///
/// Memory is a keyed 64-bit fingerprint per key (about 10–18 bytes in the
/// table), whatever the key's length: a key that is its own C string and
/// its own fold (a plain key, the common case) is kept as nothing else. A
/// key that is not (it holds a NUL, or normalises to another text) also
/// keeps its bytes, because it may be the earlier key a later one is
/// reported against; those bytes are the document's own, bounded by the
/// caller's caps. The fingerprints are keyed with a random key per set, so
/// a file cannot choose colliding keys; two different keys of one
/// document share a fingerprint with probability about n²/2^65 (2^-27 at
/// [`MAX_KEYS_CHECKED`]), which would report a repeat that is not one,
/// never hide one.
pub(crate) struct KeySet {
    hasher: RandomState,
    /// Every key's raw bytes.
    exact: Fingerprints,
    /// The C string of each key that holds a NUL → its index in `odd`.
    by_c_string: FingerprintIndex,
    /// The fold of each key whose fold is not its bytes → its index in `odd`.
    by_fold: FingerprintIndex,
    /// The raw bytes of those keys, one after another, and where each ends.
    odd: Vec<u8>,
    odd_ends: Vec<usize>,
}

impl Default for KeySet {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            exact: Fingerprints::default(),
            by_c_string: FingerprintIndex::default(),
            by_fold: FingerprintIndex::default(),
            odd: Vec::new(),
            odd_ends: Vec::new(),
        }
    }
}

impl KeySet {
    fn fingerprint(&self, bytes: &[u8]) -> u64 {
        self.hasher.hash_one(bytes)
    }

    /// The raw bytes of the `index`th odd key.
    fn odd_key(&self, index: u32) -> Vec<u8> {
        let i = index as usize;
        let start = match i.checked_sub(1) {
            Some(before) => self.odd_ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.odd_ends.get(i).copied().unwrap_or(start);
        self.odd.get(start..end).unwrap_or_default().to_vec()
    }

    /// Record `raw` and say how it collides with the keys before it.
    pub fn add(&mut self, raw: &[u8]) -> KeyCheck {
        // Printable ASCII is its own C string and its own fold (NFKC leaves
        // it as it is, and no invisible character is ASCII): one
        // fingerprint, no normalisation.
        if raw.iter().all(|b| (0x20..0x7f).contains(b)) {
            let print = self.fingerprint(raw);
            let clash = if !self.exact.insert(print) {
                Some(Clash::Exact)
            } else if let Some(&earlier) = self.by_c_string.get(&print) {
                Some(Clash::SameCString {
                    earlier: self.odd_key(earlier),
                })
            } else {
                self.by_fold.get(&print).map(|&earlier| Clash::Confusable {
                    earlier: self.odd_key(earlier),
                })
            };
            return KeyCheck { nul: false, clash };
        }
        let nul = raw.contains(&0);
        let c = c_string(raw);
        let folded = fold(raw);
        let plain = !nul && folded.as_bytes() == raw;
        let raw_print = self.fingerprint(raw);
        let c_print = self.fingerprint(c);
        let fold_print = self.fingerprint(folded.as_bytes());
        let clash = if !self.exact.insert(raw_print) {
            Some(Clash::Exact)
        } else if let Some(&earlier) = self.by_c_string.get(&c_print) {
            // An earlier key with a NUL whose C string is this key's.
            Some(Clash::SameCString {
                earlier: self.odd_key(earlier),
            })
        } else if nul && self.exact.contains(&c_print) {
            // An earlier key without a NUL that is this key's C string.
            Some(Clash::SameCString {
                earlier: c.to_vec(),
            })
        } else if let Some(&earlier) = self.by_fold.get(&fold_print) {
            Some(Clash::Confusable {
                earlier: self.odd_key(earlier),
            })
        } else if !plain && fold_print != raw_print && self.exact.contains(&fold_print) {
            // An earlier plain key is this key's fold (a plain key is its
            // own fold, and no key that is its own fold is not plain).
            Some(Clash::Confusable {
                earlier: folded.into_bytes(),
            })
        } else {
            None
        };
        if !plain {
            let index = u32::try_from(self.odd_ends.len()).unwrap_or(u32::MAX);
            self.odd.extend_from_slice(raw);
            self.odd_ends.push(self.odd.len());
            if nul {
                self.by_c_string.entry(c_print).or_insert(index);
            }
            self.by_fold.entry(fold_print).or_insert(index);
        }
        KeyCheck { nul, clash }
    }
}

/// A raw key for a message: lossy UTF-8 with every hidden character
/// (NUL included) written as a visible escape.
pub(crate) fn shown(raw: &[u8]) -> String {
    crate::safe::visible(&String::from_utf8_lossy(raw))
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

    /// The compact set finds what a set keeping every key, its C string
    /// and its fold would find, against the same earlier key.
    #[test]
    fn fingerprints_agree_with_keeping_every_key() {
        let keys: [&[u8]; 14] = [
            b"a",
            "\u{ff41}".as_bytes(),
            b"a\0x",
            b"a",
            b"b\0",
            b"b",
            b"b\0y",
            "b\u{200b}".as_bytes(),
            b"A",
            b"\0",
            b"",
            "c\u{301}".as_bytes(),
            "\u{e7}".as_bytes(),
            "\u{e7}".as_bytes(),
        ];
        let mut set = KeySet::default();
        let mut seen: Vec<&[u8]> = Vec::new();
        for key in keys {
            let want = if seen.contains(&key) {
                Some(Clash::Exact)
            } else if let Some(e) = seen.iter().find(|e| c_string(e) == c_string(key)) {
                Some(Clash::SameCString {
                    earlier: e.to_vec(),
                })
            } else {
                seen.iter()
                    .find(|e| fold(e) == fold(key))
                    .map(|e| Clash::Confusable {
                        earlier: e.to_vec(),
                    })
            };
            let got = set.add(key);
            assert_eq!(got.clash.is_some(), want.is_some(), "{key:?}: {got:?}");
            if let (Some(Clash::Exact), Some(w)) = (&got.clash, &want) {
                assert_eq!(w, &Clash::Exact);
            }
            // The earlier key named looks the same as the one expected.
            if let (
                Some(Clash::SameCString { earlier: g } | Clash::Confusable { earlier: g }),
                Some(Clash::SameCString { earlier: w } | Clash::Confusable { earlier: w }),
            ) = (&got.clash, &want)
            {
                assert_eq!(fold(g), fold(w), "{key:?}");
            }
            assert_eq!(got.nul, key.contains(&0));
            seen.push(key);
        }
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
