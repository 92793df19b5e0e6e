//! The safetensors header parsed as a stream, one top-level entry at a time.
//!
//! The header may be as large as the upstream rule allows (100 MB); a JSON
//! tree of it would be many times that in memory. So the header is never
//! read whole and never built into a tree: each top-level entry is parsed
//! into the little the checks need ([`Item`]) and handed to the caller at
//! once, and every value the checks do not look at is walked without being
//! kept. What is kept is charged by the caller against a budget
//! (`Limits::header_max_kept_bytes`), so memory follows what the file
//! describes, capped, not the bytes it spends describing it. The budget
//! is charged here, before each kept item is kept (a tensor name, its dtype,
//! each dimension, each `__metadata__` pair, each unknown field's name), and
//! no JSON string of the header, kept or not, may be longer than the budget
//! (serde_json holds a whole string while it reads it), so one file's parse
//! costs at most about twice the budget whatever its header says.
//!
//! Every object's keys, at any depth, go through a [`KeySet`] (keyed
//! fingerprints: a huge object costs a few bytes per key, not the keys):
//! a repeated key, a key holding a NUL and keys that look the same after
//! Unicode normalisation are listed as [`KeyProblem`]s, as
//! [`crate::inspect::strict_json`] lists them for side files, and the parse
//! goes on with the last value winning, as the safetensors crate and
//! Python's `json` read it. At most [`MAX_KEYS_CHECKED`] keys of one header
//! are checked; the rest are counted ([`Checks::unchecked`]).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::inspect::keys::{Clash, KeySet, MAX_KEYS_CHECKED};
use crate::inspect::strict_json::{KeyIssue, KeyProblem, MAX_PROBLEMS};

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

/// The fields of a tensor object the checks read (the last of a repeated
/// one); other fields by name, each once.
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
    /// The caller refused an item (its budget ran out): the message.
    Refused(String),
    /// Not JSON, not an object, or trailing bytes: serde_json's message.
    Syntax(String),
}

/// The key checks of one header.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    /// The first [`MAX_PROBLEMS`] key problems, in document order.
    pub problems: Vec<KeyProblem>,
    /// How many more were found.
    pub unlisted: usize,
    /// Keys not checked: those after the first [`MAX_KEYS_CHECKED`].
    pub unchecked: usize,
    checked: usize,
}

impl Checks {
    fn push(&mut self, problem: KeyProblem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.unlisted = self.unlisted.saturating_add(1);
        }
    }
}

/// What keeping one value costs besides its bytes (the string or vector
/// holding it, its slot in a list).
const KEPT_VALUE_COST: u64 = 64;

/// Shared state of one parse: the first refusal, the key checks, and the
/// bytes kept against the budget.
struct State {
    stop: RefCell<Option<StreamError>>,
    checks: RefCell<Checks>,
    kept: Cell<u64>,
    max_kept: u64,
}

impl State {
    fn stop<E: serde::de::Error>(&self, why: StreamError) -> E {
        let message = match &why {
            StreamError::Refused(m) | StreamError::Syntax(m) => m.clone(),
        };
        *self.stop.borrow_mut() = Some(why);
        E::custom(message)
    }

    /// Charge `bytes` about to be kept to the budget.
    fn keep<E: serde::de::Error>(&self, bytes: u64) -> Result<(), E> {
        let kept = self.kept.get().saturating_add(bytes);
        self.kept.set(kept);
        if kept > self.max_kept {
            return Err(self.stop(StreamError::Refused(format!(
                "header keeps more than {} bytes of tensor entries and metadata",
                self.max_kept
            ))));
        }
        Ok(())
    }
}

/// The header's bytes on their way to serde_json, refused once a JSON
/// string (a key or a value) runs longer than `max`: serde_json holds each
/// string whole while it reads it.
struct StringCap<'a, R> {
    inner: R,
    state: &'a State,
    max: u64,
    in_string: bool,
    escaped: bool,
    run: u64,
}

impl<R: Read> Read for StringCap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in buf.get(..n).unwrap_or_default() {
            if !self.in_string {
                if b == b'"' {
                    self.in_string = true;
                    self.run = 0;
                }
                continue;
            }
            self.run += 1;
            if self.run > self.max {
                *self.state.stop.borrow_mut() = Some(StreamError::Refused(format!(
                    "header holds a string longer than {} bytes",
                    self.max
                )));
                return Err(std::io::Error::other("header string too long"));
            }
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
        }
        Ok(n)
    }
}

/// Where an object is: the key holding it (`None` at the top level) and
/// its depth (1 for the header's own keys), as [`KeyProblem`] names them.
#[derive(Clone, Copy)]
struct Ctx<'a, 'p> {
    state: &'a State,
    parent: Option<&'p str>,
    depth: u32,
}

impl<'a> Ctx<'a, '_> {
    /// The context of the values of an object at this context's depth,
    /// under `key`.
    fn below<'k>(&self, key: &'k str) -> Ctx<'a, 'k> {
        Ctx {
            state: self.state,
            parent: Some(key),
            depth: self.depth.saturating_add(1),
        }
    }

    /// Check `key`, a key of the object at this context (depth counted
    /// from 1), and list its problem if it has one. `true` when it repeats
    /// an earlier key of the object exactly.
    fn check(&self, keys: &mut KeySet, key: &str) -> bool {
        let mut checks = self.state.checks.borrow_mut();
        if checks.checked >= MAX_KEYS_CHECKED {
            checks.unchecked = checks.unchecked.saturating_add(1);
            return false;
        }
        checks.checked += 1;
        let check = keys.add(key.as_bytes());
        let depth = self.depth.saturating_add(1);
        let problem = |issue| KeyProblem {
            parent: self.parent.map(str::to_owned),
            depth,
            key: key.to_owned(),
            issue,
        };
        if check.nul {
            checks.push(problem(KeyIssue::Nul));
        }
        match check.clash {
            None => false,
            Some(Clash::Exact) => {
                checks.push(problem(KeyIssue::Repeated { replaced: None }));
                true
            }
            Some(Clash::SameCString { earlier } | Clash::Confusable { earlier }) => {
                let earlier = String::from_utf8_lossy(&earlier).into_owned();
                checks.push(problem(KeyIssue::Confusable { earlier }));
                false
            }
        }
    }
}

/// Parse one header from `reader` (its bytes exactly: trailing whitespace
/// allowed, nothing else), handing each top-level entry to `on_item` with
/// whether its key repeats an earlier one. What is kept is charged to
/// `max_kept` bytes, and no string may be longer; past either, or on `Err`
/// from `on_item`, the parse stops with [`StreamError::Refused`]. The key
/// checks are returned either way.
pub(crate) fn parse<R: Read>(
    reader: R,
    max_kept: u64,
    on_item: &mut dyn FnMut(Item, bool) -> Result<(), String>,
) -> (Result<(), ParseFailure>, Checks) {
    let state = State {
        stop: RefCell::new(None),
        checks: RefCell::new(Checks::default()),
        kept: Cell::new(0),
        max_kept,
    };
    let capped = StringCap {
        inner: reader,
        state: &state,
        max: max_kept,
        in_string: false,
        escaped: false,
        run: 0,
    };
    let mut de = serde_json::Deserializer::from_reader(capped);
    let parsed = Root {
        ctx: Ctx {
            state: &state,
            parent: None,
            depth: 0,
        },
        on_item,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    let result = match (parsed, state.stop.into_inner()) {
        (_, Some(why)) => Err(ParseFailure::Stream(why)),
        (Ok(()), None) => Ok(()),
        (Err(e), None) if e.is_io() => Err(ParseFailure::Io(e.into())),
        (Err(e), None) => Err(ParseFailure::Stream(StreamError::Syntax(e.to_string()))),
    };
    (result, state.checks.into_inner())
}

/// A parse that did not finish: the file's fault, or the disk's.
#[derive(Debug)]
pub(crate) enum ParseFailure {
    Stream(StreamError),
    Io(std::io::Error),
}

/// The header object.
struct Root<'a, 'f> {
    ctx: Ctx<'a, 'static>,
    on_item: &'f mut dyn FnMut(Item, bool) -> Result<(), String>,
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
        let mut keys = KeySet::default();
        while let Some(key) = map.next_key::<String>()? {
            let repeated = self.ctx.check(&mut keys, &key);
            let below = self.ctx.below(&key);
            let item = if key == super::METADATA_KEY {
                Item::Metadata(map.next_value_seed(MetadataSeed(below))?)
            } else {
                // Kept three times: the entry, its row in the tensor table,
                // and the caller's index of names (for a repeated one).
                self.ctx
                    .state
                    .keep(3 * (key.len() as u64 + KEPT_VALUE_COST))?;
                let raw = map.next_value_seed(TensorSeed(below))?;
                Item::Tensor(key, raw)
            };
            if let Err(why) = on_item(item, repeated) {
                return Err(self.ctx.state.stop(StreamError::Refused(why)));
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

/// Any value, walked and not kept; `Ok` with its JSON kind. The keys of
/// objects inside it are checked.
#[derive(Clone, Copy)]
struct Skip<'a, 'p>(Ctx<'a, 'p>);

impl<'de> DeserializeSeed<'de> for Skip<'_, '_> {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_, '_> {
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
        let mut keys = KeySet::default();
        while let Some(key) = map.next_key::<String>()? {
            self.0.check(&mut keys, &key);
            map.next_value_seed(Skip(self.0.below(&key)))?;
        }
        Ok("object")
    }
}

/// `__metadata__`.
struct MetadataSeed<'a, 'p>(Ctx<'a, 'p>);

type MetadataField = Field<Vec<(String, Result<String, &'static str>)>>;

impl<'de> DeserializeSeed<'de> for MetadataSeed<'_, '_> {
    type Value = MetadataField;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<MetadataField, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed<'_, '_> {
    type Value = MetadataField;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the metadata object")
    }
    fn visit_unit<E>(self) -> Result<MetadataField, E> {
        Ok(Field::Missing)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetadataField, A::Error> {
        let mut keys = KeySet::default();
        let mut out: Vec<(String, Result<String, &'static str>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let repeated = self.0.check(&mut keys, &key);
            let value = map.next_value_seed(StringOrKind(self.0.below(&key)))?;
            let text = value.as_ref().map_or(0, String::len);
            self.0
                .state
                .keep((key.len() + text) as u64 + KEPT_VALUE_COST)?;
            // The last value of a repeated key, in the first one's place.
            match out.iter_mut().find(|(k, _)| repeated && *k == key) {
                Some(slot) => slot.1 = value,
                None => out.push((key, value)),
            }
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
struct StringOrKind<'a, 'p>(Ctx<'a, 'p>);

impl<'de> DeserializeSeed<'de> for StringOrKind<'_, '_> {
    type Value = Result<String, &'static str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringOrKind<'_, '_> {
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
/// Each element kept costs the second field's bytes.
#[derive(Clone, Copy)]
struct Integers<'a, 'p>(Ctx<'a, 'p>, u64);

impl<'de> DeserializeSeed<'de> for Integers<'_, '_> {
    type Value = Field<Vec<u64>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Integers<'_, '_> {
    type Value = Field<Vec<u64>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of integers")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Some(Vec::new());
        while let Some(item) = seq.next_element_seed(Integer(self.0))? {
            match (item, out.as_mut()) {
                (Some(n), Some(list)) => {
                    self.0.state.keep(self.1)?;
                    list.push(n);
                }
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
struct Integer<'a, 'p>(Ctx<'a, 'p>);

impl<'de> DeserializeSeed<'de> for Integer<'_, '_> {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Integer<'_, '_> {
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
struct TensorSeed<'a, 'p>(Ctx<'a, 'p>);

type TensorField = Result<RawTensor, &'static str>;

impl<'de> DeserializeSeed<'de> for TensorSeed<'_, '_> {
    type Value = TensorField;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TensorField, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TensorSeed<'_, '_> {
    type Value = TensorField;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tensor entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TensorField, A::Error> {
        let mut keys = KeySet::default();
        let mut raw = RawTensor {
            dtype: Field::Missing,
            shape: Field::Missing,
            offsets: Field::Missing,
            unknown: Vec::new(),
        };
        while let Some(key) = map.next_key::<String>()? {
            let repeated = self.0.check(&mut keys, &key);
            let below = self.0.below(&key);
            match key.as_str() {
                "dtype" => {
                    raw.dtype = match map.next_value_seed(StringOrKind(below))? {
                        Ok(s) => {
                            // In the entry and in its row of the table.
                            self.0.state.keep(2 * s.len() as u64)?;
                            Field::Found(s)
                        }
                        Err(kind) => Field::Wrong(kind),
                    }
                }
                // Each dimension kept twice, like the dtype.
                "shape" => raw.shape = map.next_value_seed(Integers(below, 16))?,
                "data_offsets" => {
                    raw.offsets = match map.next_value_seed(Integers(below, 8))? {
                        Field::Found(pair) => match pair.as_slice() {
                            [begin, end] => Field::Found((*begin, *end)),
                            _ => Field::Wrong("array"),
                        },
                        Field::Wrong(kind) => Field::Wrong(kind),
                        Field::Missing => Field::Missing,
                    }
                }
                _ => {
                    map.next_value_seed(Skip(below))?;
                    if !repeated {
                        self.0.state.keep(key.len() as u64 + KEPT_VALUE_COST)?;
                        raw.unknown.push(key);
                    }
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

    /// Every item of `text` (with whether its key repeated), and the key
    /// problems; or why the parse stopped.
    fn items(text: &str) -> Result<(Vec<String>, Checks), StreamError> {
        let mut out = Vec::new();
        let (parsed, checks) = parse(text.as_bytes(), 1 << 30, &mut |item, repeated| {
            out.push(format!("{item:?} {repeated}"));
            Ok(())
        });
        match parsed {
            Ok(()) => Ok((out, checks)),
            Err(ParseFailure::Stream(why)) => Err(why),
            Err(ParseFailure::Io(e)) => unreachable!("in-memory reads cannot fail: {e}"),
        }
    }

    fn issues(text: &str) -> Vec<(u32, Option<String>, String, KeyIssue)> {
        items(text)
            .map(|(_, c)| {
                c.problems
                    .into_iter()
                    .map(|p| (p.depth, p.parent, p.key, p.issue))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn accepts_plain_json_with_trailing_spaces() {
        let got =
            items(r#"{"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8],"x":{"y":[1]}}}    "#);
        assert_eq!(got.map(|(i, c)| (i.len(), c.problems.len())), Ok((1, 0)));
    }

    /// Repeats are listed at every depth, with where they are, and the
    /// parse goes on (the last value wins).
    #[test]
    fn lists_repeated_keys_at_any_depth() {
        let repeat = KeyIssue::Repeated { replaced: None };
        assert_eq!(
            issues(r#"{"a":1,"a":2}"#),
            [(1, None, "a".to_owned(), repeat.clone())]
        );
        assert_eq!(
            issues(r#"{"t":{"dtype":"F32","dtype":"F16"}}"#),
            [(2, Some("t".to_owned()), "dtype".to_owned(), repeat.clone())]
        );
        // Inside a field no check reads, and after escape decoding.
        assert_eq!(
            issues(r#"{"t":{"x":[{"k":1,"\u006b":2}]}}"#),
            [(3, Some("x".to_owned()), "k".to_owned(), repeat.clone())]
        );
        assert_eq!(
            issues(r#"{"__metadata__":{"m":"1","m":"2"}}"#),
            [(2, Some("__metadata__".to_owned()), "m".to_owned(), repeat)]
        );
        let got = items(r#"{"t":{"dtype":"F32","dtype":"F16"},"t":null}"#);
        let (list, _) = got.unwrap_or_default();
        assert!(
            list.first()
                .is_some_and(|i| i.contains("F16") && i.ends_with("false"))
        );
        assert!(list.get(1).is_some_and(|i| i.ends_with("true")));
    }

    #[test]
    fn lists_nul_and_confusable_keys() {
        assert_eq!(
            issues(r#"{"a\u0000x":null,"ａ":null}"#),
            [
                (1, None, "a\0x".to_owned(), KeyIssue::Nul),
                (
                    1,
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

    /// The keys checked in one header are capped; the rest are counted.
    #[test]
    fn keys_checked_are_capped() {
        let mut doc = String::from(r#"{"t":{"x":{"#);
        for i in 0..MAX_KEYS_CHECKED {
            doc.push_str(&format!("\"{i:x}\":0,"));
        }
        doc.push_str(r#""0":1}}}"#);
        let got = items(&doc).map(|(_, c)| (c.problems.len(), c.unchecked));
        // "t" and "x" were checked first: the last three keys are not.
        assert_eq!(got, Ok((0, 3)));
    }

    /// What is kept is charged as it is parsed, and no string may be
    /// longer than the budget, kept or not.
    #[test]
    fn kept_bytes_and_string_lengths_are_capped() {
        let refused = |text: &str, max: u64| {
            let (parsed, _) = parse(text.as_bytes(), max, &mut |_, _| Ok(()));
            matches!(parsed, Err(ParseFailure::Stream(StreamError::Refused(_))))
        };
        let shape = format!(r#"{{"t":{{"shape":[{}1]}}}}"#, "1,".repeat(1000));
        assert!(refused(&shape, 8 << 10));
        assert!(!refused(&shape, 64 << 10));
        assert!(!refused(r#"{"__metadata__":{"z":"1"}}"#, 1 << 10));
        let many: String = (0..200).map(|i| format!(r#""k{i}":"v","#)).collect();
        let meta = format!(r#"{{"__metadata__":{{{many}"z":"1"}}}}"#);
        assert!(refused(&meta, 8 << 10));
        let long = format!(r#"{{"t":{{"x":"{}"}}}}"#, "a".repeat(5000));
        assert!(refused(&long, 4096));
        assert!(!refused(&long, 8192));
        let escaped = format!(r#"{{"t":{{"x":"{}"}}}}"#, "\\\"".repeat(100));
        assert!(!refused(&escaped, 4096));
    }

    /// A refusal from the caller stops the parse at once.
    #[test]
    fn the_caller_can_stop_the_parse() {
        let mut seen = 0;
        let (parsed, _) = parse(
            &br#"{"a":null,"b":null,"c":null}"#[..],
            1 << 30,
            &mut |_, _| {
                seen += 1;
                if seen == 2 {
                    Err("enough".into())
                } else {
                    Ok(())
                }
            },
        );
        assert!(
            matches!(parsed, Err(ParseFailure::Stream(StreamError::Refused(m))) if m == "enough")
        );
        assert_eq!(seen, 2);
    }
}
