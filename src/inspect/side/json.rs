//! Reading JSON side files without building a tree of the whole document:
//! a hostile `tokenizer_config.json` of a few MiB of `[0,0,…]` would
//! otherwise cost thirty times its size in `serde_json::Value`s.
//!
//! - [`members`] walks the top-level object and hands each member to a
//!   callback as raw text borrowed from the input (serde_json's
//!   `RawValue`): nothing per member outlives the call.
//! - [`canonical_digest`] hashes one JSON value in a canonical encoding
//!   (below), streaming, so that two spellings of the same value (white
//!   space, escapes, `1e2` and `100.0`) have one digest and two different
//!   values never do.
//! - [`templates`] reads a `chat_template` value (a string, or a list of
//!   `{name, template}`) one entry at a time.
//!
//! Canonical encoding, self-delimiting so that it is injective: `null` →
//! `n`; `true`/`false` → `t`/`f`; an integer → `i`, its decimal digits,
//! `;`; any other number → `d` and the 8 little-endian bytes of the IEEE
//! double; a string → `s`, its UTF-8 length as a little-endian `u64`, its
//! bytes; an array → `[`, its elements, `]`; an object → `{`, each member's
//! key (as a string) and value in document order, `}`. serde_json's
//! recursion limit (128 levels) bounds the stack; a deeper document is not
//! valid here.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::inspect::facts::capped_chat_template;
use crate::io::digest::{Hasher, Sha256Digest};

/// Why a side file is not the JSON lbom reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotJson(pub String);

impl fmt::Display for NotJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotJson {}

/// Call `each(key, raw)` for every member of the top-level object of
/// `bytes`, in document order (a repeated key is passed each time; JSON
/// readers such as Python's keep the last). Anything but one object,
/// optionally surrounded by white space, is [`NotJson`].
pub(crate) fn members(
    bytes: &[u8],
    each: &mut dyn FnMut(&str, &RawValue) -> Result<(), NotJson>,
) -> Result<(), NotJson> {
    let mut failed: Option<NotJson> = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walked = de.deserialize_map(MemberVisitor {
        each,
        failed: &mut failed,
    });
    if let Some(f) = failed {
        return Err(f);
    }
    walked.map_err(|e| NotJson(e.to_string()))?;
    de.end().map_err(|e| NotJson(e.to_string()))
}

struct MemberVisitor<'a, 'b> {
    each: &'a mut dyn FnMut(&str, &RawValue) -> Result<(), NotJson>,
    failed: &'b mut Option<NotJson>,
}

impl<'de> Visitor<'de> for MemberVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let raw: &RawValue = map.next_value()?;
            if let Err(e) = (self.each)(&key, raw) {
                *self.failed = Some(e);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Feed the canonical encoding of the JSON value `raw` to `hasher`.
pub(crate) fn hash_canonical(raw: &RawValue, hasher: &mut Hasher) -> Result<(), NotJson> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    Canonical(hasher)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| NotJson(e.to_string()))
}

/// SHA-256 of the canonical encoding of `raw`.
pub(crate) fn canonical_digest(raw: &RawValue) -> Result<Sha256Digest, NotJson> {
    let mut h = Hasher::new();
    hash_canonical(raw, &mut h)?;
    Ok(h.finish())
}

/// The canonical encoding of a string (also used for member keys).
pub(crate) fn hash_str(hasher: &mut Hasher, s: &str) {
    hasher.update(b"s");
    hasher.update(&(s.len() as u64).to_le_bytes());
    hasher.update(s.as_bytes());
}

struct Canonical<'h>(&'h mut Hasher);

impl<'de> DeserializeSeed<'de> for Canonical<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Canonical<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.update(b"n");
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.update(if v { b"t" } else { b"f" });
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.update(format!("i{v};").as_bytes());
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.update(format!("i{v};").as_bytes());
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.update(b"d");
        self.0.update(&v.to_bits().to_le_bytes());
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        hash_str(self.0, v);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.update(b"[");
        while seq.next_element_seed(Canonical(self.0))?.is_some() {}
        self.0.update(b"]");
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.update(b"{");
        while let Some(key) = map.next_key::<String>()? {
            hash_str(self.0, &key);
            map.next_value_seed(Canonical(self.0))?;
        }
        self.0.update(b"}");
        Ok(())
    }
}

/// What a `chat_template` value holds: the template a runtime uses by
/// default (the string itself, or the list entry named `default`, else the
/// first entry), as its digest and its capped text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Templates {
    /// SHA-256 of the default template's text.
    pub default_sha256: Option<Sha256Digest>,
    /// The default template's text, capped (`capped_chat_template`).
    pub default_text: Option<String>,
    /// Whether the value is a string (one template) rather than a list.
    pub is_string: bool,
}

/// Read a `chat_template` value: a string, or a list of objects with a
/// `name` and a `template` string (other members and entries of other
/// shapes are skipped). Anything else holds no template. `each(name, text)`
/// sees every template (the string form is named `default`) one at a time,
/// so that no list is ever held whole.
pub(crate) fn templates(
    raw: &RawValue,
    each: &mut dyn FnMut(&str, &str),
) -> Result<Templates, NotJson> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let found = de
        .deserialize_any(TemplatesVisitor { each })
        .and_then(|t| de.end().map(|()| t))
        .map_err(|e| NotJson(e.to_string()))?;
    Ok(found)
}

fn default_of(text: &str) -> (Option<Sha256Digest>, Option<String>) {
    (
        Some(Sha256Digest::of(text.as_bytes())),
        Some(capped_chat_template(text)),
    )
}

struct TemplatesVisitor<'a> {
    each: &'a mut dyn FnMut(&str, &str),
}

impl<'de> Visitor<'de> for TemplatesVisitor<'_> {
    type Value = Templates;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a chat template")
    }
    fn visit_str<E>(self, v: &str) -> Result<Templates, E> {
        (self.each)("default", v);
        let (default_sha256, default_text) = default_of(v);
        Ok(Templates {
            default_sha256,
            default_text,
            is_string: true,
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Templates, A::Error> {
        let mut named_default = None;
        let mut first = None;
        while let Some(entry) = seq.next_element::<Entry>()? {
            let Entry {
                name,
                template: Some(text),
            } = entry
            else {
                continue;
            };
            let name = name.unwrap_or_default();
            (self.each)(&name, &text);
            if name == "default" && named_default.is_none() {
                named_default = Some(default_of(&text));
            }
            if first.is_none() {
                first = Some(default_of(&text));
            }
        }
        let (default_sha256, default_text) = named_default.or(first).unwrap_or((None, None));
        Ok(Templates {
            default_sha256,
            default_text,
            is_string: false,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Templates, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Templates::default())
    }
    fn visit_unit<E>(self) -> Result<Templates, E> {
        Ok(Templates::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Templates, E> {
        Ok(Templates::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Templates, E> {
        Ok(Templates::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Templates, E> {
        Ok(Templates::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Templates, E> {
        Ok(Templates::default())
    }
}

/// One entry of a template list: its `name` and `template` when they are
/// strings (anything else in the entry is skipped, not kept).
struct Entry {
    name: Option<String>,
    template: Option<String>,
}

impl Entry {
    const NONE: Entry = Entry {
        name: None,
        template: None,
    };
}

impl<'de> serde::Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a template entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut entry = Entry::NONE;
        while let Some(key) = map.next_key::<String>()? {
            let value: &RawValue = map.next_value()?;
            let text = serde_json::from_str::<String>(value.get()).ok();
            // The last of a repeated key wins, as in Python's json.
            match key.as_str() {
                "name" => entry.name = text,
                "template" => entry.template = text,
                _ => {}
            }
        }
        Ok(entry)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Entry::NONE)
    }
    fn visit_str<E>(self, _: &str) -> Result<Entry, E> {
        Ok(Entry::NONE)
    }
    fn visit_unit<E>(self) -> Result<Entry, E> {
        Ok(Entry::NONE)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Entry, E> {
        Ok(Entry::NONE)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Entry, E> {
        Ok(Entry::NONE)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Entry, E> {
        Ok(Entry::NONE)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Entry, E> {
        Ok(Entry::NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(text: &str) -> Result<Sha256Digest, Box<dyn std::error::Error>> {
        let raw: Box<RawValue> = serde_json::from_str(text)?;
        Ok(canonical_digest(&raw)?)
    }

    #[test]
    fn canonical_digest_ignores_spelling_and_sees_values() -> Result<(), Box<dyn std::error::Error>>
    {
        let a = digest_of(r#"{"a": [1, "x\u0041", null, true, 2.5]}"#)?;
        let b = digest_of("{\"a\":[1,\"xA\",null,true,2.5e0]}")?;
        assert_eq!(a, b);
        for other in [
            r#"{"a": [1, "xA", null, true, 2.6]}"#,
            r#"{"a": [1.0, "xA", null, true, 2.5]}"#,
            r#"{"a": ["1", "xA", null, true, 2.5]}"#,
            r#"{"a": [1, "xA", null, false, 2.5]}"#,
            r#"{"a": [1, "xA", true, 2.5]}"#,
            r#"{"b": [1, "xA", null, true, 2.5]}"#,
            r#"{"a": [[1, "xA"], null, true, 2.5]}"#,
            r#"[{"a": [1, "xA", null, true, 2.5]}]"#,
        ] {
            assert_ne!(a, digest_of(other)?, "{other}");
        }
        // Strings are length-prefixed: moving characters between two
        // strings changes the digest.
        assert_ne!(digest_of(r#"["ab","c"]"#)?, digest_of(r#"["a","bc"]"#)?);
        Ok(())
    }

    #[test]
    fn members_are_walked_in_order_and_only_objects_pass() {
        let mut seen = Vec::new();
        let ok = members(br#" {"a": 1, "b": {"c": [2]}, "a": 3} "#, &mut |k, v| {
            seen.push((k.to_owned(), v.get().to_owned()));
            Ok(())
        });
        assert!(ok.is_ok());
        assert_eq!(
            seen,
            [
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), r#"{"c": [2]}"#.to_owned()),
                ("a".to_owned(), "3".to_owned())
            ]
        );
        for bad in [&b"[1]"[..], b"{\"a\":1} x", b"{\"a\":", b"\"s\"", b""] {
            assert!(members(bad, &mut |_, _| Ok(())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn template_lists_pick_the_default_and_see_every_entry()
    -> Result<(), Box<dyn std::error::Error>> {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"[{"name":"tool_use","template":"T"},7,{"name":"default","template":"D","x":[1]},{"template":{"no":1}}]"#,
        )?;
        let mut seen = Vec::new();
        let t = templates(&raw, &mut |n, t| seen.push((n.to_owned(), t.to_owned())))?;
        assert_eq!(t.default_text.as_deref(), Some("D"));
        assert_eq!(t.default_sha256, Some(Sha256Digest::of(b"D")));
        assert!(!t.is_string);
        assert_eq!(
            seen,
            [
                ("tool_use".to_owned(), "T".to_owned()),
                ("default".to_owned(), "D".to_owned())
            ]
        );
        let raw: Box<RawValue> = serde_json::from_str(r#"[{"name":"a","template":"A"}]"#)?;
        assert_eq!(
            templates(&raw, &mut |_, _| {})?.default_text.as_deref(),
            Some("A")
        );
        let raw: Box<RawValue> = serde_json::from_str(r#""x\u0041""#)?;
        let t = templates(&raw, &mut |_, _| {})?;
        assert!(t.is_string);
        assert_eq!(t.default_sha256, Some(Sha256Digest::of(b"xA")));
        let raw: Box<RawValue> = serde_json::from_str(r#"{"x": 1}"#)?;
        assert_eq!(templates(&raw, &mut |_, _| {})?, Templates::default());
        Ok(())
    }
}
