//! Input decoding: one NDJSON line → a [`Row`], directed by the layout of the line's `type`.
//!
//! The walk follows the layout, not the JSON: every declared field is looked up, converted to
//! its slot encoding (strings and zones interned) and written straight into its slot; unknown
//! fields are ignored. The first problem refuses the line with a message that names the field
//! (`field `payload.water_level_cm`: expected int, found string`).
//!
//! A plain line takes the fused way (`decode/fused.rs`: one pass over its bytes into the layout's
//! fields, then the same writing); any other, the scanner and the walk, then `serde_json`.

mod fused;
mod fused_wire;
mod input;
mod proto_input;
mod scan;
mod skip;
mod wire;

pub(crate) use input::{Input, Path};
pub use skip::skip_value;

use crate::intern::Interner;
use crate::time::{parse_duration, parse_rfc3339};
use bumpalo::Bump;
use cbp_ir::layout::{ENVELOPE_FIELDS, FieldLayout, MessageLayout, Storage, envelope};
use cbp_ir::{MessageId, Program, Row, Scalar, Ty, Value};
use serde_json::{Map, Value as JsonValue};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How long the plain start of a JSON string's contents is: up to its first quote,
/// backslash or control character, eight bytes a step (`None`: none in `bytes`).
#[inline]
pub fn plain_string_len(bytes: &[u8]) -> Option<usize> {
    scan::stop(bytes)
}

/// Event times must lie in the years 0000–9999 (what RFC 3339 can write).
pub(crate) const MIN_TIME_MS: i64 = -62_167_219_200_000;
pub(crate) const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Decodes lines for one program.
#[derive(Debug)]
pub struct Decoder {
    program: Arc<Program>,
    by_name: HashMap<String, MessageId, foldhash::fast::RandomState>,
    /// By message id: for each envelope field, its name's index in [`TOP_KEYS`].
    envelope_keys: Vec<Vec<Option<usize>>>,
    /// By message id: its string and zone slots, each of which may add a held text to the
    /// row's objects (reserved up front).
    text_slots: Vec<usize>,
    /// The value of every empty `metadata`, shared.
    empty_map: Arc<BTreeMap<String, Value>>,
    /// The fused decoder's key tables and entries, by layout.
    plans: fused::Plans,
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

fn path_error(path: &Path<'_>, message: impl std::fmt::Display) -> String {
    field_error(&path.render(), message)
}

impl Decoder {
    /// An empty row of `layout`, with room for its held texts.
    fn new_row(&self, layout: &MessageLayout) -> Row {
        let texts = self.text_slots.get(layout.id.0 as usize).copied();
        Row::with_object_capacity(
            layout.id,
            layout.slots,
            layout.objects,
            layout.objects as usize + texts.unwrap_or(0),
        )
    }

    pub fn new(program: Arc<Program>) -> Self {
        let by_name: HashMap<String, MessageId, foldhash::fast::RandomState> = program
            .messages
            .iter()
            .map(|m| (m.name.clone(), m.id))
            .collect();
        let mut text_slots = Vec::new();
        let mut envelope_keys = Vec::new();
        for layout in &program.messages {
            let index = layout.id.0 as usize;
            if text_slots.len() <= index {
                text_slots.resize(index + 1, 0);
                envelope_keys.resize(index + 1, Vec::new());
            }
            text_slots[index] = count_text_slots(&layout.fields);
            envelope_keys[index] = layout
                .fields
                .iter()
                .take(ENVELOPE_FIELDS)
                .map(|f| top_key(&f.name))
                .collect();
        }
        Decoder {
            plans: fused::Plans::new(&program, by_name.iter().map(|(n, id)| (n.as_str(), *id))),
            program,
            by_name,
            envelope_keys,
            text_slots,
            empty_map: Arc::new(BTreeMap::new()),
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

    /// Decodes one input line: by the fused decoder when it takes the line, else by the
    /// scanner and the walk when the line is in the scanner's subset and decodes, else (and
    /// for every refusal) through `serde_json`, whose outcome is the reference.
    pub fn decode_line(&self, interner: &mut Interner, line: &str) -> Result<Row, String> {
        self.decode_line_in(interner, line, &mut Bump::new())
    }

    /// [`Decoder::decode_line`] with a scratch arena for the scanner (reset here; keeping
    /// one from line to line saves allocating it).
    pub fn decode_line_in(
        &self,
        interner: &mut Interner,
        line: &str,
        scratch: &mut Bump,
    ) -> Result<Row, String> {
        scratch.reset();
        if let Some(row) = self.decode_fused(interner, line, scratch) {
            return Ok(row);
        }
        scratch.reset();
        if let Some(object) = scan::parse_object(line, scratch)
            && let Ok(row) = self.decode_tok(interner, &object)
        {
            return Ok(row);
        }
        self.decode_line_reference(interner, line)
    }

    /// The row of one length-delimited `cbp.v1.Event`'s bytes, read straight from the wire
    /// format; `None` when the direct reader or the walk refuses it (decode it with prost
    /// and its JSON form then, for the exact outcome).
    pub fn decode_wire(&self, interner: &mut Interner, bytes: &[u8]) -> Option<Row> {
        self.decode_wire_in(interner, bytes, &mut Bump::new())
    }

    /// [`Decoder::decode_wire`] with a scratch arena (see [`Decoder::decode_line_in`]).
    pub fn decode_wire_in(
        &self,
        interner: &mut Interner,
        bytes: &[u8],
        scratch: &mut Bump,
    ) -> Option<Row> {
        scratch.reset();
        if let Some(row) = self.decode_fused_wire(interner, bytes, scratch) {
            return Some(row);
        }
        scratch.reset();
        let object = wire::parse_event(bytes, scratch)?;
        self.decode_tok(interner, &object).ok()
    }

    /// [`Decoder::decode_line`] through a `serde_json::Value` only: the reference the
    /// streaming path must agree with (and the path of every dead letter).
    pub fn decode_line_reference(
        &self,
        interner: &mut Interner,
        line: &str,
    ) -> Result<Row, String> {
        if line.trim().is_empty() {
            return Err("empty line: expected a JSON object".into());
        }
        let value: JsonValue =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        match &value {
            JsonValue::Object(_) => self.decode_input(interner, &value),
            other => Err(format!("expected a JSON object, found {}", other.kind())),
        }
    }

    /// Decodes one message in its JSON form (envelope fields at the top, the declared fields
    /// under `payload`).
    pub fn decode_object(
        &self,
        interner: &mut Interner,
        object: &Map<String, JsonValue>,
    ) -> Result<Row, String> {
        self.decode_with(interner, |i| object.get(TOP_KEYS[i]), |key| object.get(key))
    }

    /// Decodes a message from any JSON-shaped input whose top is an object.
    pub(crate) fn decode_input<V: Input>(
        &self,
        interner: &mut Interner,
        object: &V,
    ) -> Result<Row, String> {
        self.decode_with(interner, |i| object.get(TOP_KEYS[i]), |key| object.get(key))
    }

    /// [`Decoder::decode_input`] for the scanner's values: the envelope's keys are found in
    /// one pass over the entries instead of a search each.
    pub(crate) fn decode_tok(
        &self,
        interner: &mut Interner,
        object: &scan::Tok<'_>,
    ) -> Result<Row, String> {
        let &scan::Tok::Object(entries) = object else {
            return self.decode_input(interner, object);
        };
        let mut known: [Option<&scan::Tok<'_>>; TOP_KEYS.len()] = [None; TOP_KEYS.len()];
        for (key, value) in entries.iter() {
            if let Some(i) = top_key(key) {
                // A repeated key: the last one counts.
                known[i] = Some(value);
            }
        }
        self.decode_with(interner, |i| known[i], |key| object.get(key))
    }

    /// The walk over the layout; `top` looks up a top-level key of the message by its index
    /// in [`TOP_KEYS`], `by_name` any other.
    fn decode_with<'v, V: Input + 'v>(
        &self,
        interner: &mut Interner,
        top: impl Fn(usize) -> Option<&'v V>,
        by_name: impl Fn(&str) -> Option<&'v V>,
    ) -> Result<Row, String> {
        let name = match top(top_keys::TYPE) {
            None => return Err(field_error("type", "missing")),
            Some(v) if v.is_null() => return Err(field_error("type", "missing")),
            Some(v) => v.as_str().ok_or_else(|| {
                field_error("type", format!("expected string, found {}", v.kind()))
            })?,
        };
        let layout = self
            .message_named(name)
            .ok_or_else(|| format!("unknown message type `{name}`"))?;
        let mut row = self.new_row(layout);
        let payload = match top(top_keys::PAYLOAD) {
            None => None,
            Some(v) if v.is_null() => None,
            Some(v) if v.is_object() => Some(v),
            Some(other) => {
                return Err(field_error(
                    "payload",
                    format!("expected object, found {}", other.kind()),
                ));
            }
        };
        let mut writer = Writer {
            program: &self.program,
            empty_map: &self.empty_map,
            interner,
            row: &mut row,
        };
        let root = Path::Root("payload");
        for (i, field) in layout.fields.iter().enumerate() {
            if i < ENVELOPE_FIELDS {
                // The key's index, found once per layout rather than by name each message.
                let key = self
                    .envelope_keys
                    .get(layout.id.0 as usize)
                    .and_then(|keys| keys.get(i))
                    .copied()
                    .flatten();
                let given = match key {
                    Some(k) => top(k),
                    None => by_name(&field.name),
                }
                .filter(|v| !v.is_null());
                writer.envelope_field(field, key, given, &top)?;
            } else {
                let value = payload.and_then(|p| p.get(&field.name));
                writer.field(field, value, &Path::Field(&root, &field.name))?;
            }
        }
        Ok(row)
    }
}

/// The top-level keys every message may have.
const TOP_KEYS: [&str; 11] = [
    "event_id",
    "model_id",
    "type",
    "timestamp",
    "timestamp_ms",
    "location",
    "zone",
    "severity",
    "confidence",
    "metadata",
    "payload",
];

/// Indexes into [`TOP_KEYS`] the walk names.
mod top_keys {
    pub const TIMESTAMP: usize = 3;
    pub const TIMESTAMP_MS: usize = 4;
    pub const TYPE: usize = 2;
    pub const ZONE: usize = 6;
    pub const METADATA: usize = 9;
    pub const PAYLOAD: usize = 10;
}

fn top_key(key: &str) -> Option<usize> {
    Some(match key {
        "event_id" => 0,
        "model_id" => 1,
        "type" => 2,
        "timestamp" => 3,
        "timestamp_ms" => 4,
        "location" => 5,
        "zone" => 6,
        "severity" => 7,
        "confidence" => 8,
        "metadata" => 9,
        "payload" => 10,
        _ => return None,
    })
}

pub(crate) struct Writer<'a> {
    pub(crate) program: &'a Program,
    pub(crate) empty_map: &'a Arc<BTreeMap<String, Value>>,
    pub(crate) interner: &'a mut Interner,
    pub(crate) row: &'a mut Row,
}

impl Writer<'_> {
    /// An envelope field (`key`: its name's index in [`TOP_KEYS`]); `given` is its value
    /// unless null, `top` looks up a top-level key by its index.
    fn envelope_field<'v, V: Input + 'v>(
        &mut self,
        field: &FieldLayout,
        key: Option<usize>,
        given: Option<&'v V>,
        top: &impl Fn(usize) -> Option<&'v V>,
    ) -> Result<(), String> {
        match key {
            Some(top_keys::TIMESTAMP) => {
                return self.timestamp(top(top_keys::TIMESTAMP), top(top_keys::TIMESTAMP_MS));
            }
            // An empty map when missing: a message without metadata is still a message.
            Some(top_keys::METADATA) if given.is_none() => {
                if let Storage::Object { presence, index } = field.storage {
                    self.write_object(presence, index, Value::Map(Arc::new(BTreeMap::new())));
                }
                return Ok(());
            }
            // Most messages have empty metadata: one shared empty map instead of a new one.
            Some(top_keys::METADATA)
                if matches!(field.ty.strip_optional(), Ty::Map(..))
                    && given.is_some_and(|m| m.is_empty_object()) =>
            {
                if let Storage::Object { presence, index } = field.storage {
                    let empty = Value::Map(self.empty_map.clone());
                    self.write_object(presence, index, empty);
                }
                return Ok(());
            }
            Some(top_keys::ZONE) => {
                if let Some(zone) = given.and_then(|v| v.as_str()) {
                    check_zone(zone)?;
                }
            }
            _ => {}
        }
        self.field(field, given, &Path::Root(&field.name))
    }

    /// `timestamp` (RFC 3339) or `timestamp_ms` (Unix milliseconds).
    fn timestamp<V: Input>(
        &mut self,
        timestamp: Option<&V>,
        timestamp_ms: Option<&V>,
    ) -> Result<(), String> {
        let ms = match (timestamp, timestamp_ms) {
            (Some(t), _) if t.as_str().is_some() => {
                let text = t.as_str().unwrap_or_default();
                parse_rfc3339(text).ok_or_else(|| {
                    field_error(
                        "timestamp",
                        format!("`{text}` is not an RFC 3339 timestamp"),
                    )
                })?
            }
            (Some(other), _) if !other.is_null() => {
                return Err(field_error(
                    "timestamp",
                    format!("expected string, found {}", other.kind()),
                ));
            }
            (_, Some(n)) if n.is_number() => match n.as_i64() {
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
                    format!("expected int, found {}", other.kind()),
                ));
            }
            _ => return Err(field_error("timestamp", "missing")),
        };
        self.row.set(envelope::TIMESTAMP, ms as u64);
        Ok(())
    }

    /// The symbol id of `text` (kept alive by the row while its slot names it).
    pub(crate) fn intern(&mut self, text: &str) -> u64 {
        let (id, held) = self.interner.intern_held(text);
        if let Some(held) = held {
            self.row.objects.push(Value::Str(held));
        }
        id
    }

    pub(crate) fn write_object(&mut self, presence: u32, index: u32, value: Value) {
        if let Some(slot) = self.row.objects.get_mut(index as usize) {
            *slot = value;
        }
        self.row.mark_present(presence);
    }

    pub(crate) fn field<V: Input>(
        &mut self,
        field: &FieldLayout,
        value: Option<&V>,
        path: &Path<'_>,
    ) -> Result<(), String> {
        let value = match value {
            None => {
                return if field.required && !field.ty.is_optional() {
                    Err(path_error(path, "missing"))
                } else {
                    Ok(())
                };
            }
            Some(v) if v.is_null() && (!field.required || field.ty.is_optional()) => {
                return Ok(());
            }
            Some(value) => value,
        };
        let ty = field.ty.strip_optional();
        match &field.storage {
            Storage::Slot(slot) => {
                let scalar = ty
                    .scalar()
                    .ok_or_else(|| path_error(path, "not a scalar field"))?;
                let bits = self.scalar_bits(scalar, value, path)?;
                if let Some((low, high)) = field.range {
                    let number = if scalar.is_float() {
                        f64::from_bits(bits)
                    } else {
                        bits as i64 as f64
                    };
                    if !(low..=high).contains(&number) {
                        return Err(path_error(
                            path,
                            format!(
                                "{} is outside {}",
                                value.text(),
                                range_text(scalar, low, high)
                            ),
                        ));
                    }
                }
                self.row.set(*slot, bits);
                Ok(())
            }
            Storage::Record { presence, fields } => {
                if !value.is_object() {
                    return Err(path_error(
                        path,
                        format!("expected object, found {}", value.kind()),
                    ));
                }
                for inner in fields {
                    self.field(
                        inner,
                        value.get(&inner.name),
                        &Path::Field(path, &inner.name),
                    )?;
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

    fn scalar_bits<V: Input>(
        &mut self,
        scalar: Scalar,
        value: &V,
        path: &Path<'_>,
    ) -> Result<u64, String> {
        if scalar.is_symbol() {
            // Interned from the input's own text, without an `Arc` for a text already known.
            let Some(text) = value.as_str() else {
                return Err(mismatch(self.program, scalar, value, path));
            };
            return Ok(self.intern(text));
        }
        Ok(crate::values::scalar_bits(&scalar_value(
            self.program,
            scalar,
            value,
            path,
        )?))
    }
}

pub(crate) fn check_zone(zone: &str) -> Result<(), String> {
    let bytes = zone.as_bytes();
    // The common case in one pass, eight bytes a step: enough segments, none empty (no dot
    // first, last, or after a dot).
    let mut dots = 0;
    let mut empty = bytes.first() == Some(&b'.') || bytes.last() == Some(&b'.');
    let mut after_dot = false;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // The high bit of each byte that is a dot (exactly: no borrow between bytes).
        let low = 0x7f7f_7f7f_7f7f_7f7f_u64;
        let x = word ^ 0x2e2e_2e2e_2e2e_2e2e;
        let marks = !(((x & low) + low) | x | low);
        empty |= marks & (marks >> 8) != 0 || (after_dot && marks & 0x80 != 0);
        dots += marks.count_ones() as usize;
        after_dot = marks >> 63 != 0;
    }
    for &b in chunks.remainder() {
        let dot = b == b'.';
        empty |= dot && after_dot;
        dots += usize::from(dot);
        after_dot = dot;
    }
    if dots >= 3 && !empty {
        return Ok(());
    }
    let segments = dots + 1;
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

fn mismatch<V: Input>(program: &Program, scalar: Scalar, value: &V, path: &Path<'_>) -> String {
    path_error(
        path,
        format!(
            "expected {}, found {}",
            scalar_name(program, scalar),
            value.kind()
        ),
    )
}

/// One JSON scalar as a dynamic value of the declared scalar type.
pub(crate) fn scalar_value<V: Input>(
    program: &Program,
    scalar: Scalar,
    value: &V,
    path: &Path<'_>,
) -> Result<Value, String> {
    let bad = || mismatch(program, scalar, value, path);
    let number = value.is_number();
    Ok(match (scalar, value.as_str()) {
        (Scalar::Int, _) if number => Value::Int(value.as_i64().ok_or_else(bad)?),
        (Scalar::Float, _) if number => Value::Float(value.as_f64().ok_or_else(bad)?),
        (Scalar::Distance, _) if number => Value::Distance(value.as_f64().ok_or_else(bad)?),
        (Scalar::Bool, _) if value.as_bool().is_some() => {
            Value::Bool(value.as_bool().unwrap_or_default())
        }
        (Scalar::Str, Some(s)) => Value::Str(Arc::from(s)),
        (Scalar::Zone, Some(s)) => Value::Zone(Arc::from(s)),
        (Scalar::Duration, _) if number => Value::Duration(value.as_i64().ok_or_else(bad)?),
        (Scalar::Duration, Some(s)) => Value::Duration(
            parse_duration(s)
                .ok_or_else(|| path_error(path, format!("`{s}` is not a duration")))?,
        ),
        (Scalar::Timestamp, _) if number => Value::Timestamp(value.as_i64().ok_or_else(bad)?),
        (Scalar::Timestamp, Some(s)) => Value::Timestamp(
            parse_rfc3339(s)
                .ok_or_else(|| path_error(path, format!("`{s}` is not an RFC 3339 timestamp")))?,
        ),
        (Scalar::Enum(id), Some(s)) => {
            let def = program.enums.get(id.0 as usize).ok_or_else(bad)?;
            let index = def.variants.iter().position(|v| v == s).ok_or_else(|| {
                path_error(
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

fn shape_error<V: Input>(program: &Program, ty: &Ty, value: &V, path: &Path<'_>) -> String {
    path_error(
        path,
        format!(
            "expected {}, found {}",
            type_name(program, ty),
            value.kind()
        ),
    )
}

/// A JSON value as a dynamic value of type `ty` (lists, maps, records inside objects).
pub(crate) fn to_value<V: Input>(
    program: &Program,
    ty: &Ty,
    value: &V,
    path: &Path<'_>,
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
            let Some(items) = value.items() else {
                return Err(shape_error(program, ty, value, path));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(to_value(program, elem, item, &Path::Index(path, i))?);
            }
            Ok(Value::List(Arc::new(out)))
        }
        Ty::Map(_, elem) => {
            if !value.is_object() {
                return Err(shape_error(program, ty, value, path));
            }
            let mut out = BTreeMap::new();
            value.try_entries(|key, item| {
                let item = to_value(program, elem, item, &Path::Field(path, key))?;
                out.insert(key.to_string(), item);
                Ok::<(), String>(())
            })?;
            Ok(Value::Map(Arc::new(out)))
        }
        Ty::Record(id) => {
            if !value.is_object() {
                return Err(shape_error(program, ty, value, path));
            }
            let def = program
                .records
                .get(id.0 as usize)
                .ok_or_else(|| path_error(path, "unknown record"))?;
            let mut out = Vec::with_capacity(def.fields.len());
            for (name, field_ty) in &def.fields {
                let inner_path = Path::Field(path, name);
                let field = match value.get(name) {
                    None if field_ty.is_optional() => Value::Null,
                    Some(v) if v.is_null() && field_ty.is_optional() => Value::Null,
                    None => return Err(path_error(&inner_path, "missing")),
                    Some(v) => to_value(program, field_ty, v, &inner_path)?,
                };
                out.push((Arc::from(name.as_str()), field));
            }
            Ok(Value::Record(Arc::new(out)))
        }
        Ty::Message(_) => Err(path_error(path, "a message cannot be given as a field")),
    }
}

#[cfg(test)]
mod tests;
