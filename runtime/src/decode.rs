//! Input decoding: one NDJSON line → a [`Row`], directed by the layout of the line's `type`.
//!
//! The walk follows the layout, not the JSON: every declared field is looked up, converted to
//! its slot encoding (strings and zones interned) and written straight into its slot; unknown
//! fields are ignored. The first problem refuses the line with a message that names the field
//! (`field `payload.water_level_cm`: expected int, found string`).

mod proto_input;

use crate::intern::Interner;
use crate::time::{parse_duration, parse_rfc3339};
use cbp_ir::layout::{ENVELOPE_FIELDS, FieldLayout, MessageLayout, Storage, envelope};
use cbp_ir::{MessageId, Program, Row, Scalar, Ty, Value};
use serde_json::{Map, Value as JsonValue};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Event times must lie in the years 0000–9999 (what RFC 3339 can write).
pub(crate) const MIN_TIME_MS: i64 = -62_167_219_200_000;
pub(crate) const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Decodes lines for one program.
#[derive(Debug)]
pub struct Decoder {
    program: Arc<Program>,
    by_name: HashMap<String, MessageId>,
    /// By message id: its string and zone slots, each of which may add a held text to the
    /// row's objects (reserved up front).
    text_slots: Vec<usize>,
}

fn count_text_slots(fields: &[FieldLayout]) -> usize {
    fields
        .iter()
        .map(|f| match &f.storage {
            Storage::Slot(_) => usize::from(
                f.ty.strip_optional()
                    .scalar()
                    .is_some_and(|s| s.is_symbol()),
            ),
            Storage::Record { fields, .. } => count_text_slots(fields),
            Storage::Object { .. } => 0,
        })
        .sum()
}

/// What a JSON value is, for error messages.
fn json_kind(value: &JsonValue) -> &'static str {
    match value {
        JsonValue::Null => "null",
        JsonValue::Bool(_) => "bool",
        JsonValue::Number(n) if n.is_i64() || n.is_u64() => "int",
        JsonValue::Number(_) => "float",
        JsonValue::String(_) => "string",
        JsonValue::Array(_) => "list",
        JsonValue::Object(_) => "object",
    }
}

pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn field_error(path: &str, message: impl std::fmt::Display) -> String {
    format!("field `{path}`: {message}")
}

impl Decoder {
    /// An empty row of `layout`, with room for its held texts.
    fn new_row(&self, layout: &MessageLayout) -> Row {
        let texts = self.text_slots.get(layout.id.0 as usize).copied();
        let mut objects = Vec::with_capacity(layout.objects as usize + texts.unwrap_or(0));
        objects.resize(layout.objects as usize, Value::Null);
        Row {
            message: layout.id,
            slots: vec![0; layout.slots as usize],
            present: vec![0; (layout.slots as usize).div_ceil(64)],
            objects,
        }
    }

    pub fn new(program: Arc<Program>) -> Self {
        let by_name = program
            .messages
            .iter()
            .map(|m| (m.name.clone(), m.id))
            .collect();
        let mut text_slots = Vec::new();
        for layout in &program.messages {
            let index = layout.id.0 as usize;
            if text_slots.len() <= index {
                text_slots.resize(index + 1, 0);
            }
            text_slots[index] = count_text_slots(&layout.fields);
        }
        Decoder {
            program,
            by_name,
            text_slots,
        }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The layout a message type name refers to.
    pub fn message_named(&self, name: &str) -> Option<&MessageLayout> {
        self.by_name
            .get(name)
            .and_then(|id| self.program.message(*id))
    }

    /// Decodes one input line.
    pub fn decode_line(&self, interner: &mut Interner, line: &str) -> Result<Row, String> {
        if line.trim().is_empty() {
            return Err("empty line: expected a JSON object".into());
        }
        let value: JsonValue =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        match &value {
            JsonValue::Object(object) => self.decode_object(interner, object),
            other => Err(format!(
                "expected a JSON object, found {}",
                json_kind(other)
            )),
        }
    }

    /// Decodes one message in its JSON form (envelope fields at the top, the declared fields
    /// under `payload`).
    pub fn decode_object(
        &self,
        interner: &mut Interner,
        object: &Map<String, JsonValue>,
    ) -> Result<Row, String> {
        let name = match object.get("type") {
            None | Some(JsonValue::Null) => return Err(field_error("type", "missing")),
            Some(JsonValue::String(name)) => name,
            Some(other) => {
                return Err(field_error(
                    "type",
                    format!("expected string, found {}", json_kind(other)),
                ));
            }
        };
        let layout = self
            .message_named(name)
            .ok_or_else(|| format!("unknown message type `{name}`"))?;
        let mut row = self.new_row(layout);
        let empty = Map::new();
        let payload = match object.get("payload") {
            None | Some(JsonValue::Null) => &empty,
            Some(JsonValue::Object(payload)) => payload,
            Some(other) => {
                return Err(field_error(
                    "payload",
                    format!("expected object, found {}", json_kind(other)),
                ));
            }
        };
        let mut writer = Writer {
            program: &self.program,
            interner,
            row: &mut row,
        };
        for (i, field) in layout.fields.iter().enumerate() {
            if i < ENVELOPE_FIELDS {
                writer.envelope_field(field, object)?;
            } else {
                let path = join("payload", &field.name);
                writer.field(field, payload.get(&field.name), &path)?;
            }
        }
        Ok(row)
    }
}

pub(crate) struct Writer<'a> {
    pub(crate) program: &'a Program,
    pub(crate) interner: &'a mut Interner,
    pub(crate) row: &'a mut Row,
}

impl Writer<'_> {
    fn envelope_field(
        &mut self,
        field: &FieldLayout,
        object: &Map<String, JsonValue>,
    ) -> Result<(), String> {
        let given = object.get(&field.name).filter(|v| !v.is_null());
        match field.name.as_str() {
            "timestamp" => return self.timestamp(object),
            // An empty map when missing: a message without metadata is still a message.
            "metadata" if given.is_none() => {
                if let Storage::Object { presence, index } = field.storage {
                    self.write_object(presence, index, Value::Map(Arc::new(BTreeMap::new())));
                }
                return Ok(());
            }
            "zone" => {
                if let Some(JsonValue::String(zone)) = given {
                    check_zone(zone)?;
                }
            }
            _ => {}
        }
        self.field(field, given, &field.name)
    }

    /// `timestamp` (RFC 3339) or `timestamp_ms` (Unix milliseconds).
    fn timestamp(&mut self, object: &Map<String, JsonValue>) -> Result<(), String> {
        let ms = match (object.get("timestamp"), object.get("timestamp_ms")) {
            (Some(JsonValue::String(text)), _) => parse_rfc3339(text).ok_or_else(|| {
                field_error(
                    "timestamp",
                    format!("`{text}` is not an RFC 3339 timestamp"),
                )
            })?,
            (Some(other), _) if !other.is_null() => {
                return Err(field_error(
                    "timestamp",
                    format!("expected string, found {}", json_kind(other)),
                ));
            }
            (_, Some(JsonValue::Number(n))) => match n.as_i64() {
                Some(ms) if (MIN_TIME_MS..=MAX_TIME_MS).contains(&ms) => ms,
                Some(ms) => {
                    return Err(field_error(
                        "timestamp_ms",
                        format!("{ms} is outside the years 0000 to 9999"),
                    ));
                }
                None => return Err(field_error("timestamp_ms", "expected int, found float")),
            },
            (_, Some(other)) if !other.is_null() => {
                return Err(field_error(
                    "timestamp_ms",
                    format!("expected int, found {}", json_kind(other)),
                ));
            }
            _ => return Err(field_error("timestamp", "missing")),
        };
        self.row.set(envelope::TIMESTAMP, ms as u64);
        Ok(())
    }

    pub(crate) fn write_object(&mut self, presence: u32, index: u32, value: Value) {
        if let Some(slot) = self.row.objects.get_mut(index as usize) {
            *slot = value;
        }
        self.row.mark_present(presence);
    }

    pub(crate) fn field(
        &mut self,
        field: &FieldLayout,
        value: Option<&JsonValue>,
        path: &str,
    ) -> Result<(), String> {
        let value = match value {
            None => {
                return if field.required && !field.ty.is_optional() {
                    Err(field_error(path, "missing"))
                } else {
                    Ok(())
                };
            }
            Some(JsonValue::Null) if !field.required || field.ty.is_optional() => return Ok(()),
            Some(value) => value,
        };
        let ty = field.ty.strip_optional();
        match &field.storage {
            Storage::Slot(slot) => {
                let scalar = ty
                    .scalar()
                    .ok_or_else(|| field_error(path, "not a scalar field"))?;
                let bits = self.scalar_bits(scalar, value, path)?;
                if let Some((low, high)) = field.range {
                    let number = if scalar.is_float() {
                        f64::from_bits(bits)
                    } else {
                        bits as i64 as f64
                    };
                    if !(low..=high).contains(&number) {
                        return Err(field_error(
                            path,
                            format!("{} is outside {}", value, range_text(scalar, low, high)),
                        ));
                    }
                }
                self.row.set(*slot, bits);
                Ok(())
            }
            Storage::Record { presence, fields } => {
                let JsonValue::Object(object) = value else {
                    return Err(field_error(
                        path,
                        format!("expected object, found {}", json_kind(value)),
                    ));
                };
                for inner in fields {
                    self.field(inner, object.get(&inner.name), &join(path, &inner.name))?;
                }
                self.row.mark_present(*presence);
                Ok(())
            }
            Storage::Object { presence, index } => {
                let dynamic = to_value(self.program, ty, value, path)?;
                self.write_object(*presence, *index, dynamic);
                Ok(())
            }
        }
    }

    fn scalar_bits(
        &mut self,
        scalar: Scalar,
        value: &JsonValue,
        path: &str,
    ) -> Result<u64, String> {
        match scalar_value(self.program, scalar, value, path)? {
            Value::Str(text) | Value::Zone(text) => {
                let (id, held) = self.interner.intern_held(&text);
                // The row keeps a held text alive for as long as its slot names it.
                if let Some(held) = held {
                    self.row.objects.push(Value::Str(held));
                }
                Ok(id)
            }
            other => Ok(crate::values::scalar_bits(&other)),
        }
    }
}

pub(crate) fn check_zone(zone: &str) -> Result<(), String> {
    let segments = zone.split('.').count();
    if segments < 4 {
        return Err(field_error(
            "zone",
            format!(
                "`{zone}` has {} segments; a zone names a neighbourhood: state.city.district.neighbourhood",
                segments
            ),
        ));
    }
    if zone.split('.').any(str::is_empty) {
        return Err(field_error(
            "zone",
            format!("`{zone}` has an empty segment"),
        ));
    }
    Ok(())
}

fn range_text(scalar: Scalar, low: f64, high: f64) -> String {
    if scalar.is_float() {
        format!("{low:?}..{high:?}")
    } else {
        format!("{low}..{high}")
    }
}

pub(crate) fn type_name(program: &Program, ty: &Ty) -> String {
    match ty {
        Ty::Scalar(s) => scalar_name(program, *s),
        Ty::List(inner) => format!("list<{}>", type_name(program, inner)),
        Ty::Map(k, v) => format!("map<{}, {}>", type_name(program, k), type_name(program, v)),
        Ty::Record(id) => program
            .records
            .get(id.0 as usize)
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        Ty::Message(id) => program
            .message(*id)
            .map(|m| m.name.clone())
            .unwrap_or_default(),
        Ty::Optional(inner) => format!("{}?", type_name(program, inner)),
        Ty::Never => "null".to_string(),
    }
}

fn scalar_name(program: &Program, scalar: Scalar) -> String {
    match scalar {
        Scalar::Int => "int".into(),
        Scalar::Float => "float".into(),
        Scalar::Bool => "bool".into(),
        Scalar::Str => "string".into(),
        Scalar::Zone => "zone".into(),
        Scalar::Duration => "duration".into(),
        Scalar::Distance => "distance".into(),
        Scalar::Timestamp => "timestamp".into(),
        Scalar::Enum(id) => program
            .enums
            .get(id.0 as usize)
            .map(|e| e.name.clone())
            .unwrap_or_default(),
    }
}

fn mismatch(program: &Program, scalar: Scalar, value: &JsonValue, path: &str) -> String {
    field_error(
        path,
        format!(
            "expected {}, found {}",
            scalar_name(program, scalar),
            json_kind(value)
        ),
    )
}

/// One JSON scalar as a dynamic value of the declared scalar type.
pub(crate) fn scalar_value(
    program: &Program,
    scalar: Scalar,
    value: &JsonValue,
    path: &str,
) -> Result<Value, String> {
    let bad = || mismatch(program, scalar, value, path);
    Ok(match (scalar, value) {
        (Scalar::Int, JsonValue::Number(n)) => Value::Int(n.as_i64().ok_or_else(bad)?),
        (Scalar::Float, JsonValue::Number(n)) => Value::Float(n.as_f64().ok_or_else(bad)?),
        (Scalar::Distance, JsonValue::Number(n)) => Value::Distance(n.as_f64().ok_or_else(bad)?),
        (Scalar::Bool, JsonValue::Bool(b)) => Value::Bool(*b),
        (Scalar::Str, JsonValue::String(s)) => Value::Str(Arc::from(s.as_str())),
        (Scalar::Zone, JsonValue::String(s)) => Value::Zone(Arc::from(s.as_str())),
        (Scalar::Duration, JsonValue::Number(n)) => Value::Duration(n.as_i64().ok_or_else(bad)?),
        (Scalar::Duration, JsonValue::String(s)) => Value::Duration(
            parse_duration(s)
                .ok_or_else(|| field_error(path, format!("`{s}` is not a duration")))?,
        ),
        (Scalar::Timestamp, JsonValue::Number(n)) => Value::Timestamp(n.as_i64().ok_or_else(bad)?),
        (Scalar::Timestamp, JsonValue::String(s)) => Value::Timestamp(
            parse_rfc3339(s)
                .ok_or_else(|| field_error(path, format!("`{s}` is not an RFC 3339 timestamp")))?,
        ),
        (Scalar::Enum(id), JsonValue::String(s)) => {
            let def = program.enums.get(id.0 as usize).ok_or_else(bad)?;
            let index = def.variants.iter().position(|v| v == s).ok_or_else(|| {
                field_error(
                    path,
                    format!(
                        "`{s}` is not a variant of `{}` ({})",
                        def.name,
                        def.variants.join(", ")
                    ),
                )
            })?;
            Value::Enum(id, index as u32)
        }
        _ => return Err(bad()),
    })
}

/// A JSON value as a dynamic value of type `ty` (lists, maps, records inside objects).
pub(crate) fn to_value(
    program: &Program,
    ty: &Ty,
    value: &JsonValue,
    path: &str,
) -> Result<Value, String> {
    match ty {
        Ty::Optional(inner) => {
            if value.is_null() {
                Ok(Value::Null)
            } else {
                to_value(program, inner, value, path)
            }
        }
        Ty::Never => Ok(Value::Null),
        Ty::Scalar(scalar) => scalar_value(program, *scalar, value, path),
        Ty::List(elem) => {
            let JsonValue::Array(items) = value else {
                return Err(field_error(
                    path,
                    format!(
                        "expected {}, found {}",
                        type_name(program, ty),
                        json_kind(value)
                    ),
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(to_value(program, elem, item, &format!("{path}[{i}]"))?);
            }
            Ok(Value::List(Arc::new(out)))
        }
        Ty::Map(_, elem) => {
            let JsonValue::Object(entries) = value else {
                return Err(field_error(
                    path,
                    format!(
                        "expected {}, found {}",
                        type_name(program, ty),
                        json_kind(value)
                    ),
                ));
            };
            let mut out = BTreeMap::new();
            for (key, item) in entries {
                out.insert(
                    key.clone(),
                    to_value(program, elem, item, &join(path, key))?,
                );
            }
            Ok(Value::Map(Arc::new(out)))
        }
        Ty::Record(id) => {
            let JsonValue::Object(entries) = value else {
                return Err(field_error(
                    path,
                    format!(
                        "expected {}, found {}",
                        type_name(program, ty),
                        json_kind(value)
                    ),
                ));
            };
            let def = program
                .records
                .get(id.0 as usize)
                .ok_or_else(|| field_error(path, "unknown record"))?;
            let mut out = Vec::with_capacity(def.fields.len());
            for (name, field_ty) in &def.fields {
                let inner_path = join(path, name);
                let field = match entries.get(name) {
                    None | Some(JsonValue::Null) if field_ty.is_optional() => Value::Null,
                    None => return Err(field_error(&inner_path, "missing")),
                    Some(v) => to_value(program, field_ty, v, &inner_path)?,
                };
                out.push((Arc::from(name.as_str()), field));
            }
            Ok(Value::Record(Arc::new(out)))
        }
        Ty::Message(_) => Err(field_error(path, "a message cannot be given as a field")),
    }
}
