//! Canonical bundle paths: the only names a bundle may contain, checked when
//! a [`BundlePath`] is built, never when it is used.
//!
//! Rules (docs/bundle-format.md, "Canonical paths"): UTF-8 in Unicode
//! Normalization Form C; `/` separators; no empty, `.` or `..` segment; no
//! leading or trailing `/`; no control characters (C0, DEL, C1) and no `\`;
//! at most [`MAX_PATH_BYTES`] bytes and [`MAX_SEGMENT_BYTES`] per segment.
//! Two paths *collide* when their [`BundlePath::fold_key`]s are equal, or
//! when one's fold key is a folder of the other's: both would land on the
//! same file on a case-insensitive or normalising file system.

use std::fmt;

use unicode_normalization::{UnicodeNormalization as _, is_nfc};

/// Longest path, in UTF-8 bytes: 255 (what the ustar name + prefix fields can
/// hold: 155 + `/` + 99 usable).
pub const MAX_PATH_BYTES: usize = 255;
/// Longest path segment, in UTF-8 bytes: 100 (the ustar name field).
pub const MAX_SEGMENT_BYTES: usize = 100;

/// Why a string is not a canonical bundle path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Not UTF-8.
    #[error("path is not valid UTF-8")]
    NotUtf8,
    /// Empty string.
    #[error("path is empty")]
    Empty,
    /// Longer than [`MAX_PATH_BYTES`].
    #[error("path {path:?} is {len} bytes, more than {MAX_PATH_BYTES}")]
    TooLong {
        /// The path.
        path: String,
        /// Its length.
        len: usize,
    },
    /// A segment longer than [`MAX_SEGMENT_BYTES`].
    #[error("path {path:?} has a segment longer than {MAX_SEGMENT_BYTES} bytes")]
    SegmentTooLong {
        /// The path.
        path: String,
    },
    /// Starts with `/`.
    #[error("path {path:?} is absolute")]
    Absolute {
        /// The path.
        path: String,
    },
    /// An empty, `.` or `..` segment (includes a trailing `/`).
    #[error("path {path:?} has an empty, \".\" or \"..\" segment")]
    BadSegment {
        /// The path.
        path: String,
    },
    /// A control character or backslash.
    #[error("path {path:?} contains a control character or backslash")]
    BadCharacter {
        /// The path.
        path: String,
    },
    /// Not in Unicode Normalization Form C.
    #[error("path {path:?} is not in Unicode normalization form C")]
    NotNfc {
        /// The path.
        path: String,
    },
    /// Two paths land on the same file once case and normalisation are folded.
    #[error(
        "path {path:?} collides with {other:?} (same name ignoring case or Unicode normalization, or a file used as a folder)"
    )]
    Collision {
        /// The later path.
        path: String,
        /// The earlier one.
        other: String,
    },
}

/// A canonical relative path inside a bundle. Deliberately no `From<String>`
/// or `Deref<Target = str>`: the only way in is [`BundlePath::new`].
///
/// Shared, not copied, on clone: a reader holds each entry name once even
/// where the tar layout and the manifest both name it (docs/bundle-format.md,
/// "Reader limits").
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BundlePath(std::sync::Arc<str>);

impl BundlePath {
    /// Check `s` against every rule in the module docs.
    pub fn new(s: &str) -> Result<Self, PathError> {
        let owned = || s.to_owned();
        if s.is_empty() {
            return Err(PathError::Empty);
        }
        if s.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong {
                path: owned(),
                len: s.len(),
            });
        }
        if s.starts_with('/') {
            return Err(PathError::Absolute { path: owned() });
        }
        if s.chars().any(|c| c.is_control() || c == '\\') {
            return Err(PathError::BadCharacter { path: owned() });
        }
        for segment in s.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(PathError::BadSegment { path: owned() });
            }
            if segment.len() > MAX_SEGMENT_BYTES {
                return Err(PathError::SegmentTooLong { path: owned() });
            }
        }
        if !is_nfc(s) {
            return Err(PathError::NotNfc { path: owned() });
        }
        Ok(Self(std::sync::Arc::from(s)))
    }

    /// Build from bytes (tar headers): must be UTF-8 first.
    pub fn from_bytes(b: &[u8]) -> Result<Self, PathError> {
        Self::new(std::str::from_utf8(b).map_err(|_| PathError::NotUtf8)?)
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self/rest`, checked.
    pub fn join(&self, rest: &str) -> Result<Self, PathError> {
        Self::new(&format!("{}/{rest}", self.0))
    }

    /// The collision key: NFKC, then lowercase (Unicode `to_lowercase`), then
    /// NFKC again. Compatibility forms and case variants of one name share a key.
    pub fn fold_key(&self) -> String {
        fold(&self.0)
    }
}

fn fold(s: &str) -> String {
    // ASCII has no decomposition or composition under NFKC: its fold is its
    // lowercase (and most names are ASCII).
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfkc().collect::<String>().to_lowercase().nfkc().collect()
}

impl fmt::Display for BundlePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BundlePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BundlePath({:?})", self.0)
    }
}

impl serde::Serialize for BundlePath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for BundlePath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// The fold keys of a list of paths, for one collision check over all of
/// them (docs/bundle-format.md §3 and "Reader limits").
///
/// Memory is one copy of each fold key, whatever the depth of the paths:
/// a collision is found by sorting the keys with `/` ordered before every
/// other byte and comparing neighbours. With that order, every key that
/// has `K/` as a prefix sorts right after `K` (nothing else fits between
/// `K` and `K/…`), and equal keys sort together; so two paths collide
/// exactly when some pair of neighbours is equal or one is a folder of the
/// other. Keeping every ancestor folder of every path, as a set would,
/// costs depth × length per path.
#[derive(Debug)]
pub struct FoldKeys {
    /// The keys, one after the other, each `/` stored as NUL: plain byte
    /// order is then the folder order (no key holds a NUL: a path has no
    /// control character, and folding makes none).
    text: Vec<u8>,
    spans: Vec<(usize, usize)>,
    max_bytes: usize,
}

/// The fold keys of the paths pushed so far exceed the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the entry names' fold keys (case- and compatibility-folded forms) exceed {limit} bytes in total"
)]
pub struct FoldKeysTooLong {
    /// The cap.
    pub limit: usize,
}

impl FoldKeys {
    /// An empty list whose keys may total at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            text: Vec::new(),
            spans: Vec::new(),
            max_bytes,
        }
    }

    /// Number of paths pushed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether no path was pushed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Add the next path's fold key (its index is the number pushed before).
    pub fn push(&mut self, path: &BundlePath) -> Result<(), FoldKeysTooLong> {
        let key = path.fold_key();
        let start = self.text.len();
        if start.saturating_add(key.len()) > self.max_bytes {
            return Err(FoldKeysTooLong {
                limit: self.max_bytes,
            });
        }
        self.text
            .extend(key.bytes().map(|b| if b == b'/' { 0 } else { b }));
        self.spans.push((start, self.text.len()));
        Ok(())
    }

    fn key(&self, index: usize) -> &[u8] {
        self.spans
            .get(index)
            .and_then(|&(a, b)| self.text.get(a..b))
            .unwrap_or_default()
    }

    /// A colliding pair `(earlier, later)` by push order, if any: of the
    /// neighbouring pairs that collide, the one whose later index is least.
    pub fn first_collision(&self) -> Option<(usize, usize)> {
        let mut order: Vec<usize> = (0..self.spans.len()).collect();
        order.sort_by(|&a, &b| self.key(a).cmp(self.key(b)).then(a.cmp(&b)));
        order
            .windows(2)
            .filter_map(|pair| match pair {
                [a, b] if collides(self.key(*a), self.key(*b)) => Some((*a.min(b), *a.max(b))),
                _ => None,
            })
            .min_by_key(|&(_, later)| later)
    }
}

/// `b` sorts after `a` (both with `/` stored as NUL): equal, or below `a`
/// as a folder.
fn collides(a: &[u8], b: &[u8]) -> bool {
    b == a
        || b.strip_prefix(a)
            .is_some_and(|rest| rest.first() == Some(&0))
}

/// Check a whole list of paths at once: `Err` names a colliding pair (the
/// later one in list order first). `max_bytes` caps the fold keys' total.
pub fn check_collisions<'a>(
    paths: impl IntoIterator<Item = &'a BundlePath>,
    max_bytes: usize,
) -> Result<(), CollisionError> {
    let mut keys = FoldKeys::new(max_bytes);
    let mut kept: Vec<&BundlePath> = Vec::new();
    for p in paths {
        keys.push(p).map_err(CollisionError::TooLong)?;
        kept.push(p);
    }
    match keys.first_collision() {
        None => Ok(()),
        Some((earlier, later)) => Err(CollisionError::Collision {
            index: later,
            error: PathError::Collision {
                path: kept.get(later).map(|p| p.0.to_string()).unwrap_or_default(),
                other: kept
                    .get(earlier)
                    .map(|p| p.0.to_string())
                    .unwrap_or_default(),
            },
        }),
    }
}

/// Why [`check_collisions`] refused a list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CollisionError {
    /// Two paths collide; `index` is the later one's position in the list.
    #[error("{error}")]
    Collision {
        /// Position of the later path.
        index: usize,
        /// The pair ([`PathError::Collision`]).
        error: PathError,
    },
    /// The fold keys exceed the cap.
    #[error(transparent)]
    TooLong(FoldKeysTooLong),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_plain_paths() {
        for ok in [
            "a",
            "a/b.gguf",
            "model-00001-of-00002.safetensors",
            "ünï/cödé",
            "a b/c",
        ] {
            assert_eq!(
                BundlePath::new(ok).map(|p| p.as_str().to_owned()),
                Ok(ok.to_owned())
            );
        }
    }

    #[test]
    fn rejects_each_rule() {
        type Case = (&'static str, fn(&PathError) -> bool);
        let cases: [Case; 10] = [
            ("", |e| matches!(e, PathError::Empty)),
            ("/etc/passwd", |e| matches!(e, PathError::Absolute { .. })),
            ("a/../b", |e| matches!(e, PathError::BadSegment { .. })),
            ("./a", |e| matches!(e, PathError::BadSegment { .. })),
            ("a//b", |e| matches!(e, PathError::BadSegment { .. })),
            ("a/", |e| matches!(e, PathError::BadSegment { .. })),
            ("a\\b", |e| matches!(e, PathError::BadCharacter { .. })),
            ("a\nb", |e| matches!(e, PathError::BadCharacter { .. })),
            // "e" + COMBINING ACUTE ACCENT: NFD, not NFC.
            ("cafe\u{301}", |e| matches!(e, PathError::NotNfc { .. })),
            ("x".repeat(101).leak(), |e| {
                matches!(e, PathError::SegmentTooLong { .. })
            }),
        ];
        for (input, expected) in cases {
            let got = BundlePath::new(input);
            assert!(got.as_ref().is_err_and(expected), "{input:?} gave {got:?}");
        }
        let long = ["abcdefghij"; 26].join("/");
        assert!(matches!(
            BundlePath::new(&long),
            Err(PathError::TooLong { .. })
        ));
        assert_eq!(BundlePath::from_bytes(b"\xff"), Err(PathError::NotUtf8));
    }

    /// Collisions of a list, checked at once (the helper the tests use).
    fn collide(paths: &[&str]) -> Result<Option<(String, String)>, PathError> {
        let list: Vec<BundlePath> = paths
            .iter()
            .map(|p| BundlePath::new(p))
            .collect::<Result<_, _>>()?;
        Ok(match check_collisions(&list, usize::MAX) {
            Ok(()) => None,
            Err(CollisionError::Collision {
                error: PathError::Collision { path, other },
                ..
            }) => Some((path, other)),
            Err(e) => unreachable!("{e}"),
        })
    }

    /// docs/bundle-format.md [B16]: case, compatibility (NFKC) and
    /// file-as-folder collisions, exact duplicates included; the later path
    /// in list order is named first.
    #[test]
    fn set_rejects_case_normalisation_and_folder_collisions() -> Result<(), PathError> {
        let pair = |a: &str, b: &str| Some((a.to_owned(), b.to_owned()));
        assert_eq!(
            collide(&["Model.gguf", "model.GGUF"])?,
            pair("model.GGUF", "Model.gguf")
        );
        // U+FB01 LATIN SMALL LIGATURE FI folds (NFKC) to "fi".
        assert_eq!(
            collide(&["fi.txt", "\u{fb01}.txt"])?,
            pair("\u{fb01}.txt", "fi.txt")
        );
        assert_eq!(collide(&["dir/a", "DIR"])?, pair("DIR", "dir/a"));
        assert_eq!(
            collide(&["model.gguf", "a", "model.gguf/x"])?,
            pair("model.gguf/x", "model.gguf")
        );
        assert_eq!(collide(&["a", "b/c", "a"])?, pair("a", "a"));
        // U+FF0F FULLWIDTH SOLIDUS folds to "/": "a／b" lands in folder "a".
        assert_eq!(collide(&["a", "x", "a\u{ff0f}b"])?, pair("a\u{ff0f}b", "a"));
        assert_eq!(collide(&["dir/a", "dir/b", "dir-c", "dir.d", "di"])?, None);
        // A name that sorts between a folder and its files does not hide them.
        assert_eq!(collide(&["a/z", "a-b", "a!", "A"])?, pair("A", "a/z"));
        Ok(())
    }

    /// The reader's cap on the fold keys' total is checked before a key is kept.
    #[test]
    fn fold_keys_are_capped_in_total() -> Result<(), PathError> {
        let mut keys = FoldKeys::new(10);
        keys.push(&BundlePath::new("abcde")?)
            .map_err(|_| PathError::Empty)?;
        keys.push(&BundlePath::new("ABCDE")?)
            .map_err(|_| PathError::Empty)?;
        assert_eq!(
            keys.push(&BundlePath::new("x")?),
            Err(FoldKeysTooLong { limit: 10 })
        );
        assert_eq!(keys.len(), 2);
        // U+FDFA folds (NFKC) to 18 letters: 3 bytes become 33.
        let mut keys = FoldKeys::new(32);
        assert!(keys.push(&BundlePath::new("\u{fdfa}")?).is_err());
        Ok(())
    }

    /// Whether two paths collide, by the definition (§3), pair by pair.
    fn collide_by_definition(a: &BundlePath, b: &BundlePath) -> bool {
        let (x, y) = (a.fold_key(), b.fold_key());
        let below = |k: &str, folder: &str| {
            k.strip_prefix(folder)
                .is_some_and(|rest| rest.starts_with('/'))
        };
        x == y || below(&x, &y) || below(&y, &x)
    }

    proptest! {
        /// Whatever the input, an accepted path satisfies every rule.
        #[test]
        fn accepted_paths_are_canonical(s in "\\PC{0,40}|[a./\\\\]{0,12}") {
            if let Ok(p) = BundlePath::new(&s) {
                let t = p.as_str();
                prop_assert!(!t.is_empty() && !t.starts_with('/') && t.len() <= MAX_PATH_BYTES);
                prop_assert!(t.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".."));
                prop_assert!(is_nfc(t));
                prop_assert_eq!(t.nfc().collect::<String>(), t.to_owned());
            }
        }

        /// Any string's NFD form, when it differs, is refused; its NFC form
        /// is accepted or refused for a rule other than normalisation.
        #[test]
        fn non_nfc_refused(s in "\\PC{1,20}") {
            let nfd: String = s.nfd().collect();
            if !is_nfc(&nfd) {
                prop_assert!(BundlePath::new(&nfd).is_err());
            }
            let nfc: String = s.nfc().collect();
            let refused_for_nfc = matches!(BundlePath::new(&nfc), Err(PathError::NotNfc { .. }));
            prop_assert!(!refused_for_nfc);
        }

        /// Every case or compatibility (NFKC) variant of an accepted path
        /// collides with it: both would be one file on a case-insensitive or
        /// normalising file system.
        #[test]
        fn case_and_compatibility_variants_collide(
            s in "[a-zA-Z0-9\u{fb01}\u{ff21}-\u{ff3a}\u{c9}\u{e9}\u{212b}._/-]{1,24}"
        ) {
            if let Ok(p) = BundlePath::new(&s) {
                let nfkc: String = s.nfkc().collect();
                for variant in [s.to_uppercase(), s.to_lowercase(), nfkc] {
                    if variant == s {
                        continue;
                    }
                    if let Ok(q) = BundlePath::new(&variant) {
                        let both = [p.clone(), q];
                        prop_assert!(check_collisions(&both, usize::MAX).is_err(), "{:?} vs {:?}", s, variant);
                    }
                }
            }
        }

        /// The sorted-neighbour check finds a collision exactly when some
        /// pair collides by the definition, and the pair it names does:
        /// lists of short names over few letters, cases, a ligature and a
        /// fullwidth solidus, deep and shallow, so that collisions of every
        /// kind (equal, case, NFKC, file-as-folder at any depth) are common.
        #[test]
        fn sorted_check_agrees_with_the_pairwise_definition(
            names in proptest::collection::vec("[abAB\u{fb01}/\u{ff0f}.-]{1,7}", 0..12)
        ) {
            let paths: Vec<BundlePath> = names.iter().filter_map(|n| BundlePath::new(n).ok()).collect();
            let mut expected = false;
            for (i, a) in paths.iter().enumerate() {
                for b in paths.iter().skip(i + 1) {
                    expected |= collide_by_definition(a, b);
                }
            }
            match check_collisions(&paths, usize::MAX) {
                Ok(()) => prop_assert!(!expected, "{:?}: a collision was missed", names),
                Err(CollisionError::Collision { index, error: PathError::Collision { path, other } }) => {
                    prop_assert!(expected, "{:?}: no pair collides", names);
                    let later = paths.get(index).map(BundlePath::as_str);
                    prop_assert_eq!(later, Some(path.as_str()));
                    let (p, o) = (BundlePath::new(&path), BundlePath::new(&other));
                    prop_assert!(matches!((&p, &o), (Ok(p), Ok(o)) if collide_by_definition(p, o)));
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

        /// The ASCII shortcut of the fold is the fold.
        #[test]
        fn ascii_fold_is_the_general_fold(s in "[ -~]{0,40}") {
            let general: String = s.nfkc().collect::<String>().to_lowercase().nfkc().collect();
            prop_assert_eq!(fold(&s), general);
        }

        /// JSON decoding applies exactly the rules of `new`: a manifest
        /// cannot smuggle a path that the constructor refuses.
        #[test]
        fn json_decoding_checks_like_new(s in "\\PC{0,40}|[a./\\\\]{0,12}") {
            let json = serde_json::to_string(&s).unwrap_or_default();
            let decoded: Result<BundlePath, _> = serde_json::from_str(&json);
            prop_assert_eq!(decoded.ok(), BundlePath::new(&s).ok());
        }
    }
}
