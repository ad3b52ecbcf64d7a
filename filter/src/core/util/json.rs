//! Strict JSON: like `serde_json::from_slice::<Value>`, but an object with a
//! duplicate member name is an error (RFC 7515 §4, RFC 7519 §4: a parser
//! must reject duplicates or use the last one; we reject, so two parsers can
//! never disagree about a token's meaning).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// Why a JSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all, or trailing data.
    Syntax,
    /// An object names the same member twice.
    DuplicateMember,
}

const DUP_MARK: &str = "\u{0}duplicate member";

/// Parse `bytes` as one JSON value, rejecting duplicate members at any depth.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // serde_json's own recursion limit (128) bounds the nesting depth.
    match Strict::deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
        Ok(Strict(v)) => Ok(v),
        Err(e) if e.to_string().starts_with(DUP_MARK) => Err(JsonError::DuplicateMember),
        Err(_) => Err(JsonError::Syntax),
    }
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
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
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
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
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(k, v).is_some() {
                return Err(de::Error::custom(DUP_MARK));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let t = br#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"\u00e9"}"#;
        assert_eq!(
            parse_strict(t).unwrap(),
            serde_json::from_slice::<Value>(t).unwrap()
        );
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert_eq!(
            parse_strict(br#"{"a":1,"a":2}"#),
            Err(JsonError::DuplicateMember)
        );
        assert_eq!(
            parse_strict(br#"{"x":[{"a":1,"a":1}]}"#),
            Err(JsonError::DuplicateMember)
        );
        // Escapes are decoded before comparison.
        assert_eq!(
            parse_strict(br#"{"a":1,"\u0061":2}"#),
            Err(JsonError::DuplicateMember)
        );
    }

    #[test]
    fn rejects_bad_syntax_and_trailing_data() {
        for t in [&b"{"[..], b"{}x", b"", b"{'a':1}", b"[1,]", b"\xff"] {
            assert_eq!(parse_strict(t), Err(JsonError::Syntax), "{t:?}");
        }
    }
}
