//! What the layout-directed walk needs of an input value, so one walk ([`super::Writer`])
//! serves every form of input: a parsed `serde_json::Value` (the reference path, whose
//! errors are the dead letters' messages) and the borrowed values of the streaming scanner
//! and the protobuf wire reader ([`super::scan::Tok`]), whose errors are never shown (a
//! refusal there sends the input down the reference path).

use serde_json::{Map, Value as JsonValue};

/// A JSON-shaped input value.
pub(crate) trait Input: Sized {
    /// What it is, for error messages: `null`, `bool`, `int`, `float`, `string`, `list`,
    /// `object`.
    fn kind(&self) -> &'static str;
    fn is_null(&self) -> bool;
    fn is_number(&self) -> bool;
    fn as_bool(&self) -> Option<bool>;
    /// A number that is an integer in `i64` (as `serde_json::Number::as_i64`).
    fn as_i64(&self) -> Option<i64>;
    /// Any number as a float (as `serde_json::Number::as_f64`).
    fn as_f64(&self) -> Option<f64>;
    fn as_str(&self) -> Option<&str>;
    fn is_object(&self) -> bool;
    /// An object without entries.
    fn is_empty_object(&self) -> bool;
    /// The value of `key` in an object (the last one, when a key is repeated).
    fn get(&self, key: &str) -> Option<&Self>;
    /// The items of a list.
    fn items(&self) -> Option<&[Self]>;
    /// Calls `each` on every entry of an object until it fails.
    fn try_entries<E>(&self, each: impl FnMut(&str, &Self) -> Result<(), E>) -> Result<(), E>;
    /// The value as JSON text (only in error messages).
    fn text(&self) -> String;
}

impl Input for JsonValue {
    fn kind(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "bool",
            JsonValue::Number(n) if n.is_i64() || n.is_u64() => "int",
            JsonValue::Number(_) => "float",
            JsonValue::String(_) => "string",
            JsonValue::Array(_) => "list",
            JsonValue::Object(_) => "object",
        }
    }

    fn is_null(&self) -> bool {
        self.is_null()
    }

    fn is_number(&self) -> bool {
        self.is_number()
    }

    fn as_bool(&self) -> Option<bool> {
        self.as_bool()
    }

    fn as_i64(&self) -> Option<i64> {
        self.as_i64()
    }

    fn as_f64(&self) -> Option<f64> {
        self.as_f64()
    }

    fn as_str(&self) -> Option<&str> {
        self.as_str()
    }

    fn is_object(&self) -> bool {
        self.is_object()
    }

    fn is_empty_object(&self) -> bool {
        self.as_object().is_some_and(Map::is_empty)
    }

    fn get(&self, key: &str) -> Option<&Self> {
        self.as_object().and_then(|o| o.get(key))
    }

    fn items(&self) -> Option<&[Self]> {
        self.as_array().map(Vec::as_slice)
    }

    fn try_entries<E>(&self, mut each: impl FnMut(&str, &Self) -> Result<(), E>) -> Result<(), E> {
        if let JsonValue::Object(object) = self {
            for (key, value) in object {
                each(key, value)?;
            }
        }
        Ok(())
    }

    fn text(&self) -> String {
        self.to_string()
    }
}

/// A field path, built into text only when an error names it (`payload.spot.road`,
/// `payload.tags[2]`): the same text `join` and `format!("{path}[{i}]")` would give.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    Root(&'a str),
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    pub(crate) fn render(&self) -> String {
        match self {
            Path::Root(name) => (*name).to_string(),
            Path::Field(parent, name) => super::join(&parent.render(), name),
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_as_joined_text() {
        let root = Path::Root("payload");
        let spot = Path::Field(&root, "spot");
        let road = Path::Field(&spot, "road");
        assert_eq!(road.render(), "payload.spot.road");
        let tags = Path::Field(&root, "tags");
        assert_eq!(Path::Index(&tags, 2).render(), "payload.tags[2]");
        let empty = Path::Root("");
        assert_eq!(Path::Field(&empty, "zone").render(), "zone");
    }
}
