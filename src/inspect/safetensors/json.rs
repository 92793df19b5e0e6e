//! Strict JSON for safetensors headers: serde_json's grammar, but a key
//! repeated in any object is an error instead of "last one wins".
//!
//! serde_json keeps the last value of a repeated key without a word, so two
//! readers of one header can disagree about which tensor a name means. The
//! header is therefore parsed through [`StrictValue`], a `DeserializeSeed`
//! that builds a `serde_json::Value` and remembers the first repeated key.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a header is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// A key appears twice in one object (the key, as written).
    DuplicateKey(String),
    /// Anything else serde_json rejects (its message).
    Syntax(String),
}

/// Parse `text` as one JSON value, rejecting repeated keys at every depth.
///
/// Trailing whitespace is allowed (the upstream writer pads the header with
/// spaces to a multiple of 8 bytes); anything else after the value is an
/// error, exactly as `serde_json::from_str` decides. Nesting deeper than
/// serde_json's recursion limit (128) is an error, so the stack is bounded.
pub(crate) fn parse_strict(text: &str) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = StrictValue {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (_, Some(key)) => Err(JsonError::DuplicateKey(key)),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(JsonError::Syntax(e.to_string())),
    }
}

/// Seed carrying the slot where the first repeated key is recorded.
#[derive(Clone, Copy)]
struct StrictValue<'a> {
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never produces a non-finite float from text, but stay total.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
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
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let message = format!("duplicate key `{key}`");
                *self.duplicate.borrow_mut() = Some(key);
                return Err(A::Error::custom(message));
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_json_with_trailing_spaces() {
        let value = parse_strict(r#"{"a":{"b":[1,2]}}    "#);
        assert_eq!(value, Ok(serde_json::json!({"a":{"b":[1,2]}})));
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth() {
        assert_eq!(
            parse_strict(r#"{"a":1,"a":2}"#),
            Err(JsonError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse_strict(r#"{"t":{"dtype":"F32","dtype":"F16"}}"#),
            Err(JsonError::DuplicateKey("dtype".into()))
        );
        // Same key after escape decoding is still the same key.
        assert_eq!(
            parse_strict(r#"{"a":1,"\u0061":2}"#),
            Err(JsonError::DuplicateKey("a".into()))
        );
    }

    #[test]
    fn rejects_trailing_garbage_and_nul_padding() {
        assert!(matches!(parse_strict("{} x"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse_strict("{}\0\0"), Err(JsonError::Syntax(_))));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(matches!(parse_strict(&deep), Err(JsonError::Syntax(_))));
    }
}
