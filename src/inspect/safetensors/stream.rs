//! The safetensors header parsed as a stream, one top-level entry at a time.
//!
//! The header may be as large as the upstream rule allows (100 MB); a JSON
//! tree of it would be many times that in memory. So the header is never
//! read whole and never built into a tree: each top-level entry is parsed
//! into the little the checks need ([`Item`]) and handed to the caller at
//! once, and every value the checks do not look at is walked without being
//! kept. What is kept is charged by the caller against a budget
//! (`Limits::header_max_kept_bytes`), so memory follows what the file
//! describes, capped, not the bytes it spends describing it.
//!
//! The strict rules of [`super::json`] hold here too: a key repeated in
//! any object, at any depth, is an error. Keys are remembered per object as
//! keyed 64-bit hashes, so a huge object costs 8 bytes per key, not the
//! keys; the hasher's random key keeps a file from choosing collisions.

use std::cell::RefCell;
use std::collections::HashSet;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A field as found: absent, of the expected shape, or something else
/// (named by its JSON kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field<T> {
    Missing,
    Found(T),
    Wrong(&'static str),
}

/// One top-level entry of the header.
#[derive(Debug)]
pub(crate) enum Item {
    /// `__metadata__`: null, a map (each value a string or its kind), or
    /// another kind.
    Metadata(Field<Vec<(String, Result<String, &'static str>)>>),
    /// A tensor entry: its name, and its fields if it is an object.
    Tensor(String, Result<RawTensor, &'static str>),
}

/// The fields of a tensor object the checks read; other fields by name.
#[derive(Debug)]
pub(crate) struct RawTensor {
    pub dtype: Field<String>,
    pub shape: Field<Vec<u64>>,
    pub offsets: Field<(u64, u64)>,
    pub unknown: Vec<String>,
}

/// Why a parse stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// A key repeated in one object.
    DuplicateKey(String),
    /// The caller refused an item (its budget ran out): the message.
    Refused(String),
    /// Not JSON, not an object, or trailing bytes: serde_json's message.
    Syntax(String),
}

/// Shared state of one parse: the first duplicate or refusal, and the key
/// hasher.
struct State {
    stop: RefCell<Option<StreamError>>,
    hasher: RandomState,
}

impl State {
    fn stop<E: serde::de::Error>(&self, why: StreamError) -> E {
        let message = match &why {
            StreamError::DuplicateKey(k) => format!("duplicate key `{k}`"),
            StreamError::Refused(m) | StreamError::Syntax(m) => m.clone(),
        };
        *self.stop.borrow_mut() = Some(why);
        E::custom(message)
    }

    /// Record `key` in an object's key set; `Err` if it was there.
    fn fresh<E: serde::de::Error>(&self, seen: &mut HashSet<u64>, key: &str) -> Result<(), E> {
        if seen.insert(self.hasher.hash_one(key)) {
            Ok(())
        } else {
            Err(self.stop(StreamError::DuplicateKey(key.to_owned())))
        }
    }
}

/// Parse one header from `reader` (its bytes exactly: trailing whitespace
/// allowed, nothing else), handing each top-level entry to `on_item`.
/// `Err` from `on_item` stops the parse with [`StreamError::Refused`].
pub(crate) fn parse<R: std::io::Read>(
    reader: R,
    on_item: &mut dyn FnMut(Item) -> Result<(), String>,
) -> Result<(), ParseFailure> {
    let state = State {
        stop: RefCell::new(None),
        hasher: RandomState::new(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = Root {
        state: &state,
        on_item,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (parsed, state.stop.into_inner()) {
        (_, Some(why)) => Err(ParseFailure::Stream(why)),
        (Ok(()), None) => Ok(()),
        (Err(e), None) if e.is_io() => Err(ParseFailure::Io(e.into())),
        (Err(e), None) => Err(ParseFailure::Stream(StreamError::Syntax(e.to_string()))),
    }
}

/// A parse that did not finish: the file's fault, or the disk's.
#[derive(Debug)]
pub(crate) enum ParseFailure {
    Stream(StreamError),
    Io(std::io::Error),
}

/// The header object.
struct Root<'a, 'f> {
    state: &'a State,
    on_item: &'f mut dyn FnMut(Item) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Root<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let on_item = self.on_item;
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            self.state.fresh(&mut seen, &key)?;
            let item = if key == super::METADATA_KEY {
                Item::Metadata(map.next_value_seed(MetadataSeed(self.state))?)
            } else {
                let raw = map.next_value_seed(TensorSeed(self.state))?;
                Item::Tensor(key, raw)
            };
            if let Err(why) = on_item(item) {
                return Err(self.state.stop(StreamError::Refused(why)));
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(not_object())
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Err(not_object())
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Err(not_object())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Err(not_object())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Err(not_object())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Err(not_object())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Err(not_object())
    }
}

/// The message [`parse`]'s caller matches to say "JSON but not an object".
pub(crate) const NOT_AN_OBJECT: &str = "header is JSON but not an object";

fn not_object<E: serde::de::Error>() -> E {
    E::custom(NOT_AN_OBJECT)
}

/// Any value, walked and not kept; `Ok` with its JSON kind. Objects inside
/// it are checked for repeated keys.
#[derive(Clone, Copy)]
struct Skip<'a>(&'a State);

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = &'static str;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<&'static str, E> {
        Ok("boolean")
    }
    fn visit_i64<E>(self, _: i64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_u64<E>(self, _: u64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_f64<E>(self, _: f64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_str<E>(self, _: &str) -> Result<&'static str, E> {
        Ok("string")
    }
    fn visit_unit<E>(self) -> Result<&'static str, E> {
        Ok("null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<&'static str, A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok("array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<&'static str, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            self.0.fresh(&mut seen, &key)?;
            map.next_value_seed(self)?;
        }
        Ok("object")
    }
}

/// `__metadata__`.
struct MetadataSeed<'a>(&'a State);

type MetadataField = Field<Vec<(String, Result<String, &'static str>)>>;

impl<'de> DeserializeSeed<'de> for MetadataSeed<'_> {
    type Value = MetadataField;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<MetadataField, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed<'_> {
    type Value = MetadataField;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the metadata object")
    }
    fn visit_unit<E>(self) -> Result<MetadataField, E> {
        Ok(Field::Missing)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetadataField, A::Error> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            self.0.fresh(&mut seen, &key)?;
            let value = map.next_value_seed(StringOrKind(self.0))?;
            out.push((key, value));
        }
        Ok(Field::Found(out))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MetadataField, A::Error> {
        Skip(self.0).visit_seq(seq).map(Field::Wrong)
    }
    fn visit_str<E>(self, _: &str) -> Result<MetadataField, E> {
        Ok(Field::Wrong("string"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<MetadataField, E> {
        Ok(Field::Wrong("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<MetadataField, E> {
        Ok(Field::Wrong("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<MetadataField, E> {
        Ok(Field::Wrong("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<MetadataField, E> {
        Ok(Field::Wrong("number"))
    }
}

/// A string, or the kind of what stands where one was expected.
#[derive(Clone, Copy)]
struct StringOrKind<'a>(&'a State);

impl<'de> DeserializeSeed<'de> for StringOrKind<'_> {
    type Value = Result<String, &'static str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringOrKind<'_> {
    type Value = Result<String, &'static str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Ok(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Ok(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("number"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip(self.0).visit_seq(seq).map(Err)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip(self.0).visit_map(map).map(Err)
    }
}

/// A list of non-negative integers (`shape`, `data_offsets`), or the kind
/// of what stands there (`Wrong("array")` for a list holding anything else).
#[derive(Clone, Copy)]
struct Integers<'a>(&'a State);

impl<'de> DeserializeSeed<'de> for Integers<'_> {
    type Value = Field<Vec<u64>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Integers<'_> {
    type Value = Field<Vec<u64>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of integers")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Some(Vec::new());
        while let Some(item) = seq.next_element_seed(Integer(self.0))? {
            match (item, out.as_mut()) {
                (Some(n), Some(list)) => list.push(n),
                _ => out = None,
            }
        }
        Ok(out.map_or(Field::Wrong("array"), Field::Found))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip(self.0).visit_map(map).map(Field::Wrong)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Field::Wrong("string"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Wrong("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::Wrong("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::Wrong("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Wrong("number"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Wrong("null"))
    }
}

/// One list element: a non-negative integer, or `None` (walked, not kept).
struct Integer<'a>(&'a State);

impl<'de> DeserializeSeed<'de> for Integer<'_> {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Integer<'_> {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Option<u64>, E> {
        Ok(Some(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Option<u64>, E> {
        Ok(u64::try_from(v).ok())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<u64>, A::Error> {
        Skip(self.0).visit_seq(seq).map(|_| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<u64>, A::Error> {
        Skip(self.0).visit_map(map).map(|_| None)
    }
}

/// A tensor entry: its fields if it is an object, else its kind.
struct TensorSeed<'a>(&'a State);

type TensorField = Result<RawTensor, &'static str>;

impl<'de> DeserializeSeed<'de> for TensorSeed<'_> {
    type Value = TensorField;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TensorField, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TensorSeed<'_> {
    type Value = TensorField;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tensor entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TensorField, A::Error> {
        let mut seen = HashSet::new();
        let mut raw = RawTensor {
            dtype: Field::Missing,
            shape: Field::Missing,
            offsets: Field::Missing,
            unknown: Vec::new(),
        };
        while let Some(key) = map.next_key::<String>()? {
            self.0.fresh(&mut seen, &key)?;
            match key.as_str() {
                "dtype" => {
                    raw.dtype = match map.next_value_seed(StringOrKind(self.0))? {
                        Ok(s) => Field::Found(s),
                        Err(kind) => Field::Wrong(kind),
                    }
                }
                "shape" => raw.shape = map.next_value_seed(Integers(self.0))?,
                "data_offsets" => {
                    raw.offsets = match map.next_value_seed(Integers(self.0))? {
                        Field::Found(pair) => match pair.as_slice() {
                            [begin, end] => Field::Found((*begin, *end)),
                            _ => Field::Wrong("array"),
                        },
                        Field::Wrong(kind) => Field::Wrong(kind),
                        Field::Missing => Field::Missing,
                    }
                }
                _ => {
                    map.next_value_seed(Skip(self.0))?;
                    raw.unknown.push(key);
                }
            }
        }
        Ok(Ok(raw))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TensorField, A::Error> {
        Skip(self.0).visit_seq(seq).map(Err)
    }
    fn visit_str<E>(self, _: &str) -> Result<TensorField, E> {
        Ok(Err("string"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<TensorField, E> {
        Ok(Err("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<TensorField, E> {
        Ok(Err("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<TensorField, E> {
        Ok(Err("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<TensorField, E> {
        Ok(Err("number"))
    }
    fn visit_unit<E>(self) -> Result<TensorField, E> {
        Ok(Err("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item of `text`, or why the parse stopped.
    fn items(text: &str) -> Result<Vec<String>, StreamError> {
        let mut out = Vec::new();
        let parsed = parse(text.as_bytes(), &mut |item| {
            out.push(format!("{item:?}"));
            Ok(())
        });
        match parsed {
            Ok(()) => Ok(out),
            Err(ParseFailure::Stream(why)) => Err(why),
            Err(ParseFailure::Io(e)) => unreachable!("in-memory reads cannot fail: {e}"),
        }
    }

    #[test]
    fn accepts_plain_json_with_trailing_spaces() {
        let got =
            items(r#"{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8],"x":{"y":[1]}}}    "#);
        assert_eq!(got.map(|i| i.len()), Ok(1));
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        assert_eq!(
            items(r#"{"a":1,"a":2}"#),
            Err(StreamError::DuplicateKey("a".into()))
        );
        assert_eq!(
            items(r#"{"t":{"dtype":"F32","dtype":"F16"}}"#),
            Err(StreamError::DuplicateKey("dtype".into()))
        );
        // Inside a field no check reads, and after escape decoding.
        assert_eq!(
            items(r#"{"t":{"x":[{"k":1,"\u006b":2}]}}"#),
            Err(StreamError::DuplicateKey("k".into()))
        );
        assert_eq!(
            items(r#"{"__metadata__":{"m":"1","m":"2"}}"#),
            Err(StreamError::DuplicateKey("m".into()))
        );
    }

    #[test]
    fn rejects_trailing_garbage_nul_padding_and_non_objects() {
        for bad in ["{} x", "{}\0\0", "[1]", "\"s\"", "", "{"] {
            assert!(matches!(items(bad), Err(StreamError::Syntax(_))), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!(r#"{{"t":{{"x":{}}}}}"#, "[".repeat(100_000));
        assert!(matches!(items(&deep), Err(StreamError::Syntax(_))));
    }

    /// A refusal from the caller stops the parse at once.
    #[test]
    fn the_caller_can_stop_the_parse() {
        let mut seen = 0;
        let parsed = parse(&br#"{"a":null,"b":null,"c":null}"#[..], &mut |_| {
            seen += 1;
            if seen == 2 {
                Err("enough".into())
            } else {
                Ok(())
            }
        });
        assert!(
            matches!(parsed, Err(ParseFailure::Stream(StreamError::Refused(m))) if m == "enough")
        );
        assert_eq!(seen, 2);
    }
}
