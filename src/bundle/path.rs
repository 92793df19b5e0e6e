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

use std::collections::BTreeSet;
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
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BundlePath(String);

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
        Ok(Self(s.to_owned()))
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

/// A set of paths that refuses collisions as they are inserted.
#[derive(Debug, Default)]
pub struct PathSet {
    files: std::collections::BTreeMap<String, String>,
    folders: BTreeSet<String>,
}

impl PathSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add `path`, or say which earlier path it collides with.
    pub fn insert(&mut self, path: &BundlePath) -> Result<(), PathError> {
        let key = path.fold_key();
        let collision = |other: &str| PathError::Collision {
            path: path.0.clone(),
            other: other.to_owned(),
        };
        if let Some(other) = self.files.get(&key) {
            return Err(collision(other));
        }
        if self.folders.contains(&key) {
            let prefix = format!("{key}/");
            let other = self
                .files
                .iter()
                .find(|(k, _)| k.starts_with(&prefix))
                .map(|(_, v)| v.as_str());
            return Err(collision(other.unwrap_or(&key)));
        }
        let mut ancestors = Vec::new();
        for (i, _) in key.match_indices('/') {
            let folder = key.get(..i).unwrap_or_default();
            if let Some(other) = self.files.get(folder) {
                return Err(collision(other));
            }
            ancestors.push(folder.to_owned());
        }
        self.folders.extend(ancestors);
        self.files.insert(key, path.0.clone());
        Ok(())
    }
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

    #[test]
    fn set_rejects_case_normalisation_and_folder_collisions() -> Result<(), PathError> {
        let mut set = PathSet::new();
        set.insert(&BundlePath::new("Model.gguf")?)?;
        assert!(matches!(
            set.insert(&BundlePath::new("model.GGUF")?),
            Err(PathError::Collision { .. })
        ));
        // U+FB01 LATIN SMALL LIGATURE FI folds (NFKC) to "fi".
        set.insert(&BundlePath::new("fi.txt")?)?;
        assert!(matches!(
            set.insert(&BundlePath::new("\u{fb01}.txt")?),
            Err(PathError::Collision { .. })
        ));
        set.insert(&BundlePath::new("dir/a")?)?;
        assert!(matches!(
            set.insert(&BundlePath::new("DIR")?),
            Err(PathError::Collision { .. })
        ));
        assert!(matches!(
            set.insert(&BundlePath::new("model.gguf/x")?),
            Err(PathError::Collision { .. })
        ));
        set.insert(&BundlePath::new("dir/b")?)?;
        Ok(())
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
                        let mut set = PathSet::new();
                        prop_assert!(set.insert(&p).is_ok());
                        prop_assert!(set.insert(&q).is_err(), "{:?} vs {:?}", s, variant);
                    }
                }
            }
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
