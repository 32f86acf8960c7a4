//! Between the three forms of a value: slot bits in a row, dynamic [`Value`]s, and output JSON.
//!
//! In output JSON: strings and zones are strings, enum values their variant name, durations
//! integer milliseconds, distances metres (float), timestamps RFC 3339 strings with
//! milliseconds, records and maps objects, messages their input form (envelope fields and
//! `payload`).

use crate::intern::Interner;
use crate::json::{Json, write};
use crate::time::format_rfc3339;
use cbp_ir::layout::{FieldLayout, Storage};
use cbp_ir::{Program, Row, Scalar, Value};
use std::sync::Arc;

/// The slot encoding of a scalar value (strings must be interned by the caller).
pub fn scalar_bits(value: &Value) -> u64 {
    match value {
        Value::Int(i) | Value::Duration(i) | Value::Timestamp(i) => *i as u64,
        Value::Float(f) | Value::Distance(f) => f.to_bits(),
        Value::Bool(b) => u64::from(*b),
        Value::Enum(_, index) => u64::from(*index),
        _ => 0,
    }
}

/// The dynamic value of slot bits of type `scalar`.
pub fn load_scalar(bits: u64, scalar: Scalar, interner: &Interner) -> Value {
    match scalar {
        Scalar::Int => Value::Int(bits as i64),
        Scalar::Float => Value::Float(f64::from_bits(bits)),
        Scalar::Bool => Value::Bool(bits != 0),
        Scalar::Str => Value::Str(interner.resolve(bits)),
        Scalar::Zone => Value::Zone(interner.resolve(bits)),
        Scalar::Duration => Value::Duration(bits as i64),
        Scalar::Distance => Value::Distance(f64::from_bits(bits)),
        Scalar::Timestamp => Value::Timestamp(bits as i64),
        Scalar::Enum(id) => Value::Enum(id, bits as u32),
    }
}

/// The value of one field of a row (`None`-presence gives null).
pub fn field_value(
    program: &Program,
    interner: &Interner,
    row: &Row,
    field: &FieldLayout,
) -> Value {
    match &field.storage {
        Storage::Slot(slot) => {
            if !row.is_present(*slot) {
                return Value::Null;
            }
            match field.ty.strip_optional().scalar() {
                Some(scalar) => load_scalar(row.get(*slot), scalar, interner),
                None => Value::Null,
            }
        }
        Storage::Record { presence, fields } => {
            if !row.is_present(*presence) {
                return Value::Null;
            }
            record_value(program, interner, row, fields)
        }
        Storage::Object { presence, index } => {
            if !row.is_present(*presence) {
                return Value::Null;
            }
            row.objects
                .get(*index as usize)
                .cloned()
                .unwrap_or(Value::Null)
        }
    }
}

/// A flattened record of a row as a record value.
pub fn record_value(
    program: &Program,
    interner: &Interner,
    row: &Row,
    fields: &[FieldLayout],
) -> Value {
    let entries = fields
        .iter()
        .map(|f| {
            (
                Arc::from(f.name.as_str()),
                field_value(program, interner, row, f),
            )
        })
        .collect();
    Value::Record(Arc::new(entries))
}

/// The top-level field `name` of a message row.
pub fn message_field(program: &Program, interner: &Interner, row: &Row, name: &str) -> Value {
    program
        .message(row.message)
        .and_then(|layout| layout.fields.iter().find(|f| f.name == name))
        .map(|field| field_value(program, interner, row, field))
        .unwrap_or(Value::Null)
}

/// The output JSON of a value.
pub fn to_json(program: &Program, interner: &Interner, value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Int(i) | Value::Duration(i) => Json::Int(*i),
        Value::Float(f) | Value::Distance(f) => Json::Float(*f),
        Value::Bool(b) => Json::Bool(*b),
        Value::Str(s) | Value::Zone(s) => Json::str(&**s),
        Value::Timestamp(ms) => Json::Str(format_rfc3339(*ms)),
        Value::Enum(id, index) => program
            .enums
            .get(id.0 as usize)
            .and_then(|e| e.variants.get(*index as usize))
            .map(|name| Json::str(name.as_str()))
            .unwrap_or(Json::Int(i64::from(*index))),
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|v| to_json(program, interner, v))
                .collect(),
        ),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(program, interner, v)))
                .collect(),
        ),
        Value::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), to_json(program, interner, v)))
                .collect(),
        ),
        Value::Message(_, row) => message_json(program, interner, row),
    }
}

/// The envelope field `name` of a message row as [`message_json`] gives it (`None` when
/// the message has no such envelope field), without the rest of the message.
pub fn envelope_json(
    program: &Program,
    interner: &Interner,
    row: &Row,
    name: &str,
) -> Option<Json> {
    let layout = program.message(row.message)?;
    let field = layout
        .fields
        .iter()
        .take(cbp_ir::layout::ENVELOPE_FIELDS)
        .find(|f| f.name == name)?;
    Some(to_json(
        program,
        interner,
        &field_value(program, interner, row, field),
    ))
}

/// A message in its input form: envelope fields, `type`, and the declared fields under
/// `payload`.
pub fn message_json(program: &Program, interner: &Interner, row: &Row) -> Json {
    let Some(layout) = program.message(row.message) else {
        return Json::Null;
    };
    let mut object = Json::object();
    let mut payload = Json::object();
    for (i, field) in layout.fields.iter().enumerate() {
        let value = to_json(
            program,
            interner,
            &field_value(program, interner, row, field),
        );
        if i < cbp_ir::layout::ENVELOPE_FIELDS {
            if field.name == "model_id" {
                object.set("model_id", value);
                object.set("type", Json::str(layout.name.as_str()));
            } else {
                object.set(&field.name, value);
            }
        } else {
            payload.set(&field.name, value);
        }
    }
    object.set("payload", payload);
    object
}

/// The JSON text of [`to_json`] of a value, written straight to `out` (no tree in between).
pub fn write_value(program: &Program, interner: &Interner, value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => write::null(out),
        Value::Int(i) | Value::Duration(i) => write::int(out, *i),
        Value::Float(f) | Value::Distance(f) => write::float(out, *f),
        Value::Bool(b) => write::bool(out, *b),
        Value::Str(s) | Value::Zone(s) => write::str(out, s),
        Value::Timestamp(ms) => write::str(out, &format_rfc3339(*ms)),
        Value::Enum(id, index) => write_enum(program, *id, *index, out),
        Value::List(items) => write::array(out, items.iter(), |out, item| {
            write_value(program, interner, item, out)
        }),
        Value::Map(entries) => {
            let mut object = write::Object::new(out);
            for (key, item) in entries.iter() {
                write_value(program, interner, item, object.key(key));
            }
            object.end();
        }
        Value::Record(fields) => {
            let mut object = write::Object::new(out);
            for (key, item) in fields.iter() {
                write_value(program, interner, item, object.key(key));
            }
            object.end();
        }
        Value::Message(_, row) => write_message(program, interner, row, out),
    }
}

/// An enum value: its variant's name (its index when the program has no such variant).
fn write_enum(program: &Program, id: cbp_ir::EnumId, index: u32, out: &mut Vec<u8>) {
    match program
        .enums
        .get(id.0 as usize)
        .and_then(|e| e.variants.get(index as usize))
    {
        Some(name) => write::str(out, name),
        None => write::int(out, i64::from(index)),
    }
}

/// The JSON text of [`to_json`] of [`load_scalar`], written straight to `out`.
fn write_scalar(
    program: &Program,
    interner: &Interner,
    bits: u64,
    scalar: Scalar,
    out: &mut Vec<u8>,
) {
    match scalar {
        Scalar::Int | Scalar::Duration => write::int(out, bits as i64),
        Scalar::Float | Scalar::Distance => write::float(out, f64::from_bits(bits)),
        Scalar::Bool => write::bool(out, bits != 0),
        Scalar::Str | Scalar::Zone => write::str(out, &interner.resolve(bits)),
        Scalar::Timestamp => write::str(out, &format_rfc3339(bits as i64)),
        Scalar::Enum(id) => write_enum(program, id, bits as u32, out),
    }
}

/// The JSON text of [`to_json`] of [`field_value`], written straight to `out`.
pub fn write_field(
    program: &Program,
    interner: &Interner,
    row: &Row,
    field: &FieldLayout,
    out: &mut Vec<u8>,
) {
    match &field.storage {
        Storage::Slot(slot) => match field.ty.strip_optional().scalar() {
            Some(scalar) if row.is_present(*slot) => {
                write_scalar(program, interner, row.get(*slot), scalar, out)
            }
            _ => write::null(out),
        },
        Storage::Record { presence, fields } => {
            if !row.is_present(*presence) {
                return write::null(out);
            }
            let mut object = write::Object::new(out);
            for field in fields {
                write_field(program, interner, row, field, object.key(&field.name));
            }
            object.end();
        }
        Storage::Object { presence, index } => match row.objects.get(*index as usize) {
            Some(value) if row.is_present(*presence) => write_value(program, interner, value, out),
            _ => write::null(out),
        },
    }
}

/// The JSON text of [`message_json`], written straight to `out`.
pub fn write_message(program: &Program, interner: &Interner, row: &Row, out: &mut Vec<u8>) {
    let Some(layout) = program.message(row.message) else {
        return write::null(out);
    };
    // A layout's field names are unique and none is `type` or `payload`: the keys are
    // written in the order `message_json` sets them.
    let mut object = write::Object::new(out);
    let (envelope, payload) = layout
        .fields
        .split_at(cbp_ir::layout::ENVELOPE_FIELDS.min(layout.fields.len()));
    for field in envelope {
        write_field(program, interner, row, field, object.key(&field.name));
        if field.name == "model_id" {
            write::str(object.key("type"), &layout.name);
        }
    }
    let mut inner = write::Object::new(object.key("payload"));
    for field in payload {
        write_field(program, interner, row, field, inner.key(&field.name));
    }
    inner.end();
    object.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip_through_bits() {
        let interner = Interner::new();
        for (value, scalar) in [
            (Value::Int(-5), Scalar::Int),
            (Value::Float(0.93), Scalar::Float),
            (Value::Bool(true), Scalar::Bool),
            (Value::Duration(840_000), Scalar::Duration),
            (Value::Timestamp(1_735_689_600_000), Scalar::Timestamp),
        ] {
            assert_eq!(load_scalar(scalar_bits(&value), scalar, &interner), value);
        }
    }
}
