//! JSON as Python's `json` reads it, with every key that could hide behind
//! another reported (docs/findings.md, "Key shadowing").
//!
//! The value built is the one `json.loads` (and serde_json) gives: a key
//! repeated in an object keeps its *last* value. Alongside it, each object's
//! keys go through [`KeySet`]: a repeated key, a key holding a NUL, and keys
//! that look the same after Unicode normalisation are listed as
//! [`KeyProblem`]s, with the value a repeated key replaced, so that callers
//! can still scan what a different reader would have used.
//!
//! Used for a Hugging Face folder's JSON side files. Nesting deeper than
//! serde_json's recursion limit (128) is an error, so the stack is bounded;
//! the problem list is capped, and so are the keys checked in one document
//! ([`MAX_KEYS_CHECKED`]: past it the rest of the document is parsed but
//! its keys are not checked, and [`Parsed::unchecked`] counts them), so
//! the checks' memory does not grow with a file of millions of tiny keys.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::keys::{Clash, KeySet, MAX_KEYS_CHECKED};

/// Problems listed before the rest are only counted.
pub(crate) const MAX_PROBLEMS: usize = 32;
/// Longest replaced string value kept for rescanning.
const MAX_SHADOWED_BYTES: usize = 1 << 20;

/// What is wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyIssue {
    /// The same key again: readers keep the last value.
    Repeated {
        /// The value the repeat replaced, when it was a string (and not
        /// over 1 MiB): what a first-wins reader would use.
        replaced: Option<String>,
    },
    /// The key holds a NUL character.
    Nul,
    /// Another key of the object looks the same (same C string, or the
    /// same after NFKC without invisible characters) but differs.
    Confusable {
        /// The earlier key.
        earlier: String,
    },
}

/// One key problem and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyProblem {
    /// The key of the object holding this key; `None` at the top level.
    pub parent: Option<String>,
    /// 1 for keys of the top-level object, 2 for keys one object down, …
    pub depth: u32,
    /// The key, as decoded.
    pub key: String,
    /// What is wrong with it.
    pub issue: KeyIssue,
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    /// The value, last repeat winning (`Value::Null` when not kept).
    pub value: Value,
    /// The first [`MAX_PROBLEMS`] key problems, in document order.
    pub problems: Vec<KeyProblem>,
    /// How many more problems were found but not listed.
    pub unlisted: usize,
    /// Keys not checked: those after the first [`MAX_KEYS_CHECKED`].
    pub unchecked: usize,
}

/// Parse `text` as one JSON value, keeping it (`keep`) or only checking
/// its keys (for large files whose value lbom does not use).
///
/// Trailing whitespace is allowed (the safetensors writer pads its header
/// with spaces); anything else after the value is an error, exactly as
/// `serde_json::from_str` decides. `Err` carries serde_json's message.
pub(crate) fn parse(text: &str, keep: bool) -> Result<Parsed, String> {
    run(serde_json::Deserializer::from_str(text), keep)
}

fn run<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
    keep: bool,
) -> Result<Parsed, String> {
    let found = RefCell::new(Found::default());
    let seed = Seed {
        found: &found,
        parent: None,
        depth: 0,
        keep,
    };
    let value = seed
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| e.to_string())?;
    let found = found.into_inner();
    Ok(Parsed {
        value,
        problems: found.problems,
        unlisted: found.unlisted,
        unchecked: found.unchecked,
    })
}

#[derive(Default)]
struct Found {
    problems: Vec<KeyProblem>,
    unlisted: usize,
    /// Keys checked so far, and keys past the cap.
    checked: usize,
    unchecked: usize,
}

impl Found {
    /// Whether one more key may be checked (counting it either way).
    fn take_key(&mut self) -> bool {
        if self.checked < MAX_KEYS_CHECKED {
            self.checked += 1;
            true
        } else {
            self.unchecked = self.unchecked.saturating_add(1);
            false
        }
    }

    fn push(&mut self, problem: KeyProblem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.unlisted = self.unlisted.saturating_add(1);
        }
    }
}

#[derive(Clone, Copy)]
struct Seed<'a, 'p> {
    found: &'a RefCell<Found>,
    parent: Option<&'p str>,
    depth: u32,
    keep: bool,
}

impl Seed<'_, '_> {
    fn problem(&self, key: &str, issue: KeyIssue) {
        self.found.borrow_mut().push(KeyProblem {
            parent: self.parent.map(str::to_owned),
            depth: self.depth,
            key: key.to_owned(),
            issue,
        });
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(if self.keep {
            Value::Bool(v)
        } else {
            Value::Null
        })
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(if self.keep {
            Value::Number(v.into())
        } else {
            Value::Null
        })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(if self.keep {
            Value::Number(v.into())
        } else {
            Value::Null
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never produces a non-finite float from text, but stay total.
        Ok(match Number::from_f64(v) {
            Some(n) if self.keep => Value::Number(n),
            _ => Value::Null,
        })
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(if self.keep {
            Value::String(v.to_owned())
        } else {
            Value::Null
        })
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(if self.keep {
            Value::String(v)
        } else {
            Value::Null
        })
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // No size_hint reservation: the hint comes from the input.
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            if self.keep {
                items.push(item);
            }
        }
        Ok(if self.keep {
            Value::Array(items)
        } else {
            Value::Null
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        let mut keys = KeySet::default();
        let depth = self.depth.saturating_add(1);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let checked = self.found.borrow_mut().take_key();
            let check = if checked {
                keys.add(key.as_bytes())
            } else {
                super::keys::KeyCheck {
                    nul: false,
                    clash: None,
                }
            };
            let inner = Seed {
                found: self.found,
                parent: Some(&key),
                depth,
                keep: self.keep,
            };
            let value = map.next_value_seed(inner)?;
            let here = Seed { depth, ..self };
            if check.nul {
                here.problem(&key, KeyIssue::Nul);
            }
            match check.clash {
                None => {}
                Some(Clash::Exact) => {
                    let replaced = object.get(key.as_ref()).and_then(Value::as_str);
                    let replaced = replaced
                        .filter(|s| s.len() <= MAX_SHADOWED_BYTES)
                        .map(str::to_owned);
                    here.problem(&key, KeyIssue::Repeated { replaced });
                }
                Some(Clash::SameCString { earlier } | Clash::Confusable { earlier }) => {
                    let earlier = String::from_utf8_lossy(&earlier).into_owned();
                    here.problem(&key, KeyIssue::Confusable { earlier });
                }
            }
            if self.keep {
                object.insert(key.into_owned(), value);
            }
        }
        Ok(if self.keep {
            Value::Object(object)
        } else {
            Value::Null
        })
    }
}

/// An object key, borrowed from the input when it holds no escape (no
/// allocation per key: a side file may hold millions of them).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(Option<String>, String, KeyIssue)> {
        parse(text, true)
            .map(|p| {
                p.problems
                    .into_iter()
                    .map(|p| (p.parent, p.key, p.issue))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn accepts_plain_json_with_trailing_spaces() {
        let parsed = parse(r#"{"a":{"b":[1,2]}}    "#, true).map(|p| p.value);
        assert_eq!(parsed, Ok(serde_json::json!({"a":{"b":[1,2]}})));
    }

    #[test]
    fn repeated_keys_keep_the_last_value_as_python_does() {
        let parsed = parse(r#"{"a":"first","b":{"c":1,"c":2},"a":"last"}"#, true);
        assert_eq!(
            parsed.as_ref().map(|p| &p.value),
            Ok(&serde_json::json!({"a":"last","b":{"c":2}}))
        );
        assert_eq!(
            problems(r#"{"a":"first","b":{"c":1,"c":2},"a":"last"}"#),
            [
                (
                    Some("b".to_owned()),
                    "c".to_owned(),
                    KeyIssue::Repeated { replaced: None }
                ),
                (
                    None,
                    "a".to_owned(),
                    KeyIssue::Repeated {
                        replaced: Some("first".to_owned())
                    }
                ),
            ]
        );
        // Same key after escape decoding is still the same key.
        assert_eq!(
            problems(r#"{"a":1,"\u0061":2}"#),
            [(None, "a".to_owned(), KeyIssue::Repeated { replaced: None })]
        );
    }

    #[test]
    fn nul_and_confusable_keys_are_listed() {
        assert_eq!(
            problems(r#"{"a\u0000x":1,"a":2,"ａ":3,"A":4}"#),
            [
                (None, "a\0x".to_owned(), KeyIssue::Nul),
                (
                    None,
                    "a".to_owned(),
                    KeyIssue::Confusable {
                        earlier: "a\0x".to_owned()
                    }
                ),
                (
                    None,
                    "ａ".to_owned(),
                    KeyIssue::Confusable {
                        earlier: "a\0x".to_owned()
                    }
                ),
            ]
        );
    }

    #[test]
    fn checking_without_keeping_still_finds_problems() {
        let parsed = parse(r#"{"model":{"vocab":{"x":1,"x":2}}}"#, false);
        assert_eq!(parsed.as_ref().map(|p| &p.value), Ok(&Value::Null));
        assert_eq!(parsed.map(|p| p.problems.len()), Ok(1));
    }

    #[test]
    fn problems_are_capped() {
        let body: Vec<String> = (0..100).map(|_| "\"k\":1".to_owned()).collect();
        let parsed = parse(&format!("{{{}}}", body.join(",")), true);
        assert_eq!(
            parsed.map(|p| (p.problems.len(), p.unlisted)),
            Ok((MAX_PROBLEMS, 99 - MAX_PROBLEMS))
        );
    }

    /// The keys checked in one document are capped: the rest is parsed
    /// and counted, and a repeat past the cap is not reported.
    #[test]
    fn keys_checked_are_capped() -> Result<(), String> {
        let mut doc = String::from("{");
        for i in 0..MAX_KEYS_CHECKED {
            doc.push_str(&format!("\"{i:x}\":0,"));
        }
        doc.push_str("\"0\":1,\"0\":2}");
        let parsed = parse(&doc, false)?;
        assert_eq!((parsed.problems.len(), parsed.unchecked), (0, 2));
        let parsed = parse(r#"{"a":{"b":1},"c":2}"#, true)?;
        assert_eq!(parsed.unchecked, 0);
        Ok(())
    }

    #[test]
    fn rejects_trailing_garbage_and_nul_padding() {
        assert!(parse("{} x", true).is_err());
        assert!(parse("{}\0\0", true).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(parse(&deep, true).is_err());
    }
}
