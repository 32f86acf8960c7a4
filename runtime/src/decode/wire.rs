//! Protobuf input without prost: one pass over a `cbp.v1.Event`'s wire bytes into the same
//! borrowed values the NDJSON scanner makes ([`Tok`]), shaped as the event's JSON form
//! (`proto::event_to_json`), so the one layout-directed walk decodes both and every field
//! conversion is shared. Strings are slices of the message; nothing is allocated for them.
//!
//! Like the scanner, this reads a subset and gives `None` for the rest, which then goes
//! through prost and the JSON form (the reference, and the source of dead letters): bytes
//! prost would refuse or might read otherwise (a wire type that does not match the field,
//! invalid UTF-8, groups, a singular field given twice, which prost merges or replaces), a
//! number the JSON form cannot hold (NaN, infinity, an unsigned integer beyond `i64`), and
//! nesting deeper than [`MAX_DEPTH`].

use super::scan::{MAX_DEPTH, Tok};
use bumpalo::Bump;
use bumpalo::collections::Vec as ArenaVec;

/// The event of `bytes` as its JSON object, or `None` (see the module comment); lists and
/// objects are allocated in `arena`.
pub(crate) fn parse_event<'a>(bytes: &'a [u8], arena: &'a Bump) -> Option<Tok<'a>> {
    let mut wire = Wire { bytes, pos: 0 };
    let mut entries = ArenaVec::with_capacity_in(12, arena);
    let mut seen = 0u32;
    let mut metadata = ArenaVec::new_in(arena);
    while let Some((field, wire_type)) = wire.key()? {
        let name = match field {
            1 => "event_id",
            2 => "model_id",
            3 => "timestamp_ms",
            4 => "type",
            5 => "severity",
            6 => "location",
            8 => "payload",
            9 => "confidence",
            10 => "zone",
            11 => "timestamp",
            7 => {
                let entry = wire.delimited(wire_type)?;
                // A metadata value is the string itself (prost's default when missing: "").
                let (key, value) = map_entry(entry, |v| text(v).map(Tok::Str))?;
                metadata.push((key, value.unwrap_or(Tok::Str(""))));
                continue;
            }
            _ => {
                wire.skip(wire_type)?;
                continue;
            }
        };
        if seen & (1 << field) != 0 {
            return None;
        }
        seen |= 1 << field;
        let value = match field {
            3 => Tok::Int(wire.varint_of(wire_type)? as i64),
            9 => Tok::Float(finite(wire.double(wire_type)?)?),
            6 => location(wire.delimited(wire_type)?, arena)?,
            8 => structure(wire.delimited(wire_type)?, 1, arena)?,
            _ => Tok::Str(text(wire.delimited(wire_type)?)?),
        };
        entries.push((name, value));
    }
    // The JSON form always has `metadata`.
    entries.push(("metadata", Tok::Object(metadata.into_bump_slice())));
    Some(Tok::Object(entries.into_bump_slice()))
}

pub(super) struct Wire<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
pub(super) const DELIMITED: u8 = 2;
const FIXED32: u8 = 5;

impl<'a> Wire<'a> {
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self.bytes.get(self.pos)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                // The tenth byte may only hold the top bit.
                return (i < 9 || byte <= 1).then_some(value);
            }
        }
        None
    }

    /// The next field number and wire type; `Some(None)` at the end.
    #[inline]
    pub(super) fn key(&mut self) -> Option<Option<(u32, u8)>> {
        if self.pos >= self.bytes.len() {
            return Some(None);
        }
        let key = self.varint()?;
        let field = u32::try_from(key >> 3)
            .ok()
            .filter(|f| (1..1 << 29).contains(f))?;
        Some(Some((field, (key & 7) as u8)))
    }

    #[inline]
    pub(super) fn varint_of(&mut self, wire_type: u8) -> Option<u64> {
        (wire_type == VARINT).then_some(())?;
        self.varint()
    }

    #[inline]
    pub(super) fn double(&mut self, wire_type: u8) -> Option<f64> {
        (wire_type == FIXED64).then_some(())?;
        let raw = self.bytes.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(f64::from_le_bytes(raw.try_into().ok()?))
    }

    #[inline]
    pub(super) fn delimited(&mut self, wire_type: u8) -> Option<&'a [u8]> {
        (wire_type == DELIMITED).then_some(())?;
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.pos.checked_add(len)?;
        let body = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(body)
    }

    #[inline]
    pub(super) fn skip(&mut self, wire_type: u8) -> Option<()> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.advance(8),
            DELIMITED => self.delimited(wire_type).map(drop),
            FIXED32 => self.advance(4),
            _ => None,
        }
    }

    #[inline]
    fn advance(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        (end <= self.bytes.len()).then(|| self.pos = end)
    }
}

#[inline]
pub(super) fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

#[inline]
pub(super) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// A map entry: key (field 1, a string) and value (field 2, read by `value`); a missing key
/// is `""`, a missing value `None`.
pub(super) fn map_entry<'a, T>(
    bytes: &'a [u8],
    value: impl Fn(&'a [u8]) -> Option<T>,
) -> Option<(&'a str, Option<T>)> {
    let mut wire = Wire { bytes, pos: 0 };
    let (mut key, mut found) = (None, None);
    while let Some((field, wire_type)) = wire.key()? {
        match field {
            1 if key.is_none() => key = Some(text(wire.delimited(wire_type)?)?),
            2 if found.is_none() => found = Some(value(wire.delimited(wire_type)?)?),
            1 | 2 => return None,
            _ => wire.skip(wire_type)?,
        }
    }
    Some((key.unwrap_or(""), found))
}

pub(super) fn location<'a>(bytes: &'a [u8], arena: &'a Bump) -> Option<Tok<'a>> {
    let mut wire = Wire { bytes, pos: 0 };
    let mut entries = ArenaVec::with_capacity_in(3, arena);
    let mut seen = 0u8;
    while let Some((field, wire_type)) = wire.key()? {
        let Some(name) = location_field(field) else {
            wire.skip(wire_type)?;
            continue;
        };
        if seen & (1 << field) != 0 {
            return None;
        }
        seen |= 1 << field;
        let value = if field == 3 {
            Tok::Str(text(wire.delimited(wire_type)?)?)
        } else {
            Tok::Float(finite(wire.double(wire_type)?)?)
        };
        entries.push((name, value));
    }
    Some(Tok::Object(entries.into_bump_slice()))
}

/// A `Struct`: its entries (field 1), each a key and a `Value`.
fn structure<'a>(bytes: &'a [u8], depth: usize, arena: &'a Bump) -> Option<Tok<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut wire = Wire { bytes, pos: 0 };
    let mut entries = ArenaVec::with_capacity_in(8, arena);
    while let Some((field, wire_type)) = wire.key()? {
        if field != 1 {
            wire.skip(wire_type)?;
            continue;
        }
        let entry = wire.delimited(wire_type)?;
        let (key, found) = map_entry(entry, |v| value(v, depth + 1, arena))?;
        entries.push((key, found.unwrap_or(Tok::Null)));
    }
    Some(Tok::Object(entries.into_bump_slice()))
}

/// A `Value`: one of its kinds (none given is null).
pub(super) fn value<'a>(bytes: &'a [u8], depth: usize, arena: &'a Bump) -> Option<Tok<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut wire = Wire { bytes, pos: 0 };
    let mut found = None;
    while let Some((field, wire_type)) = wire.key()? {
        let kind = match field {
            1 => {
                wire.varint_of(wire_type)?;
                Tok::Null
            }
            2 => Tok::Bool(wire.varint_of(wire_type)? != 0),
            3 => {
                let raw = wire.varint_of(wire_type)?;
                // sint64: zigzag.
                Tok::Int((raw >> 1) as i64 ^ -((raw & 1) as i64))
            }
            4 => Tok::Int(i64::try_from(wire.varint_of(wire_type)?).ok()?),
            5 => Tok::Float(finite(wire.double(wire_type)?)?),
            6 => Tok::Str(text(wire.delimited(wire_type)?)?),
            7 => list(wire.delimited(wire_type)?, depth + 1, arena)?,
            8 => structure(wire.delimited(wire_type)?, depth + 1, arena)?,
            _ => {
                wire.skip(wire_type)?;
                continue;
            }
        };
        if found.is_some() {
            return None;
        }
        found = Some(kind);
    }
    Some(found.unwrap_or(Tok::Null))
}

fn list<'a>(bytes: &'a [u8], depth: usize, arena: &'a Bump) -> Option<Tok<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut wire = Wire { bytes, pos: 0 };
    let mut items = ArenaVec::new_in(arena);
    while let Some((field, wire_type)) = wire.key()? {
        if field != 1 {
            wire.skip(wire_type)?;
            continue;
        }
        items.push(value(wire.delimited(wire_type)?, depth + 1, arena)?);
    }
    Some(Tok::List(items.into_bump_slice()))
}

/// The name of a `cbp.v1.Location` field by its number (`None`: a field to skip).
pub(super) fn location_field(field: u32) -> Option<&'static str> {
    match field {
        1 => Some("latitude"),
        2 => Some("longitude"),
        3 => Some("address"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::scan::tests::to_json;
    use crate::proto::{Event, event_to_json, json_to_event};
    use proptest::prelude::*;
    use prost::Message;
    use serde_json::{Value as JsonValue, json};

    /// Whenever the reader reads `bytes`, prost and the JSON form read the same event.
    fn agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
        let arena = Bump::new();
        let Some(tok) = parse_event(bytes, &arena) else {
            return Ok(());
        };
        let event = Event::decode(bytes);
        prop_assert!(event.is_ok(), "read, but prost refuses");
        let object = event_to_json(&event.unwrap_or_default());
        prop_assert!(object.is_ok(), "read, but no JSON form");
        prop_assert_eq!(to_json(&tok), JsonValue::Object(object.unwrap_or_default()));
        Ok(())
    }

    fn sample() -> Vec<u8> {
        let object = json!({
            "event_id": "e-1", "model_id": "m", "type": "parked", "timestamp_ms": -5,
            "zone": "a.b.c.d", "severity": "low", "confidence": 0.5,
            "location": {"latitude": -12.5, "longitude": 77.0, "address": "x"},
            "metadata": {"cam": "c-1", "": ""},
            "payload": {"n": -7, "big": 9_000_000_000_000_000_000u64, "f": -0.25, "t": true,
                        "z": null, "s": "é", "l": [1, -2, [3], {"k": false}], "o": {"p": {"q": -1}}}
        });
        let serde_json::Value::Object(object) = object else {
            unreachable!()
        };
        json_to_event(&object).expect("an event").encode_to_vec()
    }

    #[test]
    fn every_kind_of_value_reads_as_its_json_form() {
        let bytes = sample();
        assert!(parse_event(&bytes, &Bump::new()).is_some());
        agrees(&bytes).expect("same event");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn mutated_bytes_read_as_prost_reads_them(
            edits in proptest::collection::vec((0usize..400, 0u8..=255, 0u8..3), 1..4),
        ) {
            let mut bytes = sample();
            crate::decode::tests::mutate_bytes(&mut bytes, &edits);
            agrees(&bytes)?;
        }
    }
}
